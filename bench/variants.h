/* SPDX-License-Identifier: MIT */
/*
 * variants.h - which variants a run compares. One table lists what each
 * furi filesystem needs (a source directory or nothing), what its native
 * baseline is (a tmpfs, or the source directory itself), and whether it
 * offers kernel passthrough; adding a filesystem is one entry there.
 */
#ifndef FURI_BENCH_VARIANTS_H
#define FURI_BENCH_VARIANTS_H

#include <stddef.h>

#include "bench.h"

/* Default filesystems when --fs is not given. */
#define BENCH_DEFAULT_FS "memfs,nullfs"

/*
 * Fill run->v and run->g for the comma-separated list fs_list. available(fs)
 * says whether this furi binary has the filesystem (a missing one is skipped
 * with a note in skipped). source: --source DIR or NULL. libfuse_dir:
 * --libfuse-examples DIR or NULL; with it each filesystem that has a libfuse
 * peer gets a BENCH_LIBFUSE_URING variant (an error if its binary is not
 * there; "" makes the peers without looking, for results read back).
 * Returns 0 or -1 with err.
 */
int bench_variants_build(struct bench_run *run, const char *fs_list, const char *source,
			 const char *libfuse_dir, int (*available)(const char *fs),
			 char *skipped, size_t skippedlen, char *err, size_t errlen);

/* File-name safe slug of a variant label: "memfs-io_uring". */
void bench_variant_slug(const struct bench_variant *v, char *buf, size_t len);

#endif /* FURI_BENCH_VARIANTS_H */
