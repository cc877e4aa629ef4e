/* SPDX-License-Identifier: MIT */
/*
 * memfs.h - memfs's parts that nullfs reuses: nullfs is memfs with a data
 * path that keeps nothing, so both share one namespace implementation.
 */
#ifndef FURI_FS_MEMFS_H
#define FURI_FS_MEMFS_H

#include <furi/furi.h>

extern const struct furi_ops memfs_ops;

void *memfs_alloc(void);
/* An instance that keeps no file data: reads see zeros, writes move the size. */
void *memfs_alloc_null(void);
int memfs_set_option(void *fs, char *opt, struct furi_config *cfg, char *err, size_t errlen);
int memfs_prepare(void *fs, char **args, const char *mountpoint, struct furi_config *cfg,
		  char *err, size_t errlen);
void memfs_free(void *fs);

#endif /* FURI_FS_MEMFS_H */
