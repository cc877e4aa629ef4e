/* SPDX-License-Identifier: MIT */
/*
 * nullfs.c - the null backend: a full namespace in memory (it is memfs),
 * but file data is never stored. Reads return zeros up to the file size,
 * writes only move the size. What remains is the cost of the transport and
 * of the FUSE round trip, which is what nullfs is for.
 */
#include "fs.h"
#include "memfs.h"

static int nullfs_prepare(void *fs, char **args, const char *mountpoint,
			  struct furi_config *cfg, char *err, size_t errlen)
{
	return memfs_prepare(fs, args, mountpoint, cfg, err, errlen);
}

static const char nullfs_help[] =
"nullfs keeps directories, names, attributes and xattrs in memory like memfs,\n"
"but no file data: reads return zeros up to the file size and writes are\n"
"discarded after moving the size. It measures the transport alone: every\n"
"request is a full FUSE round trip with almost no work behind it.\n"
"\n"
"Options: as memfs (see furi help memfs).\n";

const struct furi_fs_type furi_nullfs_type = {
	.name = "nullfs",
	.args = "",
	.nargs = 0,
	.summary = "reads return zeros, writes are discarded: the transport measured alone",
	.help = nullfs_help,
	.alloc = memfs_alloc_null,
	.set_option = memfs_set_option,
	.prepare = nullfs_prepare,
	.free = memfs_free,
	.ops = &memfs_ops,
};
