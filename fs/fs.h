/* SPDX-License-Identifier: MIT */
/*
 * fs.h - how the furi command finds, configures and starts a filesystem.
 * Not public: each filesystem of this repository exports one
 * struct furi_fs_type, and tools/furi.c lists them.
 */
#ifndef FURI_FS_H
#define FURI_FS_H

#include <furi/furi.h>

struct furi_fs_type {
	const char *name;	/* "memfs": the word after `furi mount` */
	const char *args;	/* positional arguments before MOUNTPOINT, e.g. "SOURCE_DIR"; "" if none */
	int nargs;		/* how many there are */
	const char *summary;	/* one line for `furi help` */
	const char *help;	/* the filesystem's own -o options and notes, man-page style */
	/*
	 * The mountpoint may be a regular file, whose place the root then takes
	 * as a file. Directory-rooted filesystems must not: the kernel would
	 * mount them and then answer EIO to everything.
	 */
	bool file_mountpoint;

	/* Allocate the filesystem with its defaults; NULL on ENOMEM. */
	void *(*alloc)(void);
	/*
	 * One -o option meant for this filesystem ("key" or "key=value"). Returns
	 * 0, -ENOENT if the key is not the filesystem's, or -EINVAL with one line
	 * in err. May also change cfg (for example an option that implies
	 * default_permissions).
	 */
	int (*set_option)(void *fs, char *opt, struct furi_config *cfg,
			  char *err, size_t errlen);
	/*
	 * After the options: take the positional arguments (args[0..nargs-1])
	 * and the resolved absolute mountpoint, open what the filesystem needs
	 * and check it. Returns 0 or -errno with one line in err naming the
	 * cause and the fix. Nothing is mounted yet.
	 */
	int (*prepare)(void *fs, char **args, const char *mountpoint,
		       struct furi_config *cfg, char *err, size_t errlen);
	/* Release what alloc/prepare took; after the session is gone. */
	void (*free)(void *fs);

	const struct furi_ops *ops;
};

extern const struct furi_fs_type furi_memfs_type;
extern const struct furi_fs_type furi_nullfs_type;
extern const struct furi_fs_type furi_passthrough_type;
extern const struct furi_fs_type furi_image_type;

#endif /* FURI_FS_H */
