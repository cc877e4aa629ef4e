/* SPDX-License-Identifier: MIT */
/*
 * image.c - a raw disk image exported as one regular file, as
 * qemu-storage-daemon's FUSE export does: `furi mount image IMAGE MOUNTPOINT`.
 *
 * Two forms, chosen by what MOUNTPOINT is:
 *  - a regular file: the export appears in its place (the FUSE root is the
 *    file itself, inode 1; lib/mount.c sets rootmode from the mountpoint);
 *  - a directory: the root is a directory holding the export as its only
 *    entry (inode 2), named after the image unless -o name=.
 *
 * Data never passes through memory of ours: READ, WRITE, FSYNC and
 * FALLOCATE go to fs/backend.c, which runs them on the request's own
 * io_uring queue with the payload buffers registered as fixed buffers, so a
 * queue thread never waits for the disk. With -o direct a second descriptor
 * opened with O_DIRECT takes every request whose buffer, offset and length
 * meet the backing filesystem's alignment (statx STATX_DIOALIGN); unaligned
 * ones (a client's small buffered write) take the buffered descriptor. The
 * kernel keeps the two coherent: a direct I/O writes back and drops cached
 * pages of its range first.
 *
 * The image is locked for as long as the server runs: an OFD write lock for
 * writable exports and a read lock for read-only ones (F_OFD_SETLK on the
 * whole file), so two exports never write the same image. Start-up opens,
 * checks and locks the image and changes nothing in it; O_NOATIME (where
 * permitted) keeps even its atime as it was.
 *
 * What the export's attributes are: size, blocks and times are the image
 * file's own (one fstat per GETATTR). Mode and owner start as the image's
 * (write bits dropped when read-only) and chmod/chown change them in memory
 * only, as QEMU does: the image file's own metadata is not the export's.
 * The size is fixed unless -o growable: a write past the end gets ENOSPC
 * (a straddling one is cut short), truncation to another size EPERM.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "backend.h"
#include "fs.h"

#define DIR_FORM_FILE_INO	2
#define DEFAULT_TIMEOUT		1.0
/* Alignment assumed for O_DIRECT when statx cannot tell (pre-6.1 kernels). */
#define DIO_ALIGN_FALLBACK	4096u
#define SIZE_MAX_OFF		((uint64_t)INT64_MAX)

struct image {
	/* options */
	const char *name_opt;		/* -o name=: the entry in the directory form */
	bool growable;
	bool direct;
	bool writethrough;
	bool format_raw;		/* -o format=raw: export whatever the file holds */
	double timeout;
	/* from prepare */
	const char *path;		/* as given on the command line */
	int fd;				/* buffered; holds the OFD lock */
	int dfd;			/* O_DIRECT, or -1 */
	uint64_t dio_mem_mask;		/* alignment - 1 of buffers for dfd */
	uint64_t dio_off_mask;		/* ... of offsets and lengths */
	bool readonly;
	bool dir_form;
	uint64_t file_ino;		/* FURI_ROOT_INO, or DIR_FORM_FILE_INO */
	uint64_t fixed_size;		/* the size of a non-growable export */
	char name[NAME_MAX + 1];
	struct stat dir_st;		/* the directory form's root: the mountpoint's attributes */
	/* the export's own mode and owner; changed by SETATTR */
	pthread_mutex_t attr_lock;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

static struct image *req_image(struct furi_req *req)
{
	return furi_req_fs(req);
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                               */
/* ------------------------------------------------------------------------ */

/* The export file: the image's size, blocks and times with our mode and owner. */
static int file_stat(struct image *im, struct stat *st)
{
	if (fstat(im->fd, st))
		return errno;
	pthread_mutex_lock(&im->attr_lock);
	st->st_mode = S_IFREG | im->mode;
	st->st_uid = im->uid;
	st->st_gid = im->gid;
	pthread_mutex_unlock(&im->attr_lock);
	st->st_ino = im->file_ino;
	st->st_nlink = 1;
	st->st_rdev = 0;
	return 0;
}

static void dir_stat(struct image *im, struct stat *st)
{
	*st = im->dir_st;
	st->st_ino = FURI_ROOT_INO;
	st->st_nlink = 2;
}

static bool is_dir(struct image *im, uint64_t ino)
{
	return im->dir_form && ino == FURI_ROOT_INO;
}

static void image_getattr(struct furi_req *req, uint64_t ino, const uint64_t *fh)
{
	struct image *im = req_image(req);
	struct stat st;
	int r;

	(void)fh;
	if (is_dir(im, ino)) {
		dir_stat(im, &st);
		furi_reply_attr(req, &st, im->timeout);
		return;
	}
	r = file_stat(im, &st);
	if (r)
		furi_reply_err(req, r);
	else
		furi_reply_attr(req, &st, im->timeout);
}

/* The size the export has now: fixed, or the image's when it may grow. */
static int current_size(struct image *im, uint64_t *size)
{
	struct stat st;

	if (!im->growable) {
		*size = im->fixed_size;
		return 0;
	}
	if (fstat(im->fd, &st))
		return errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Refuse what this export cannot do before changing anything. */
static int setattr_check(struct image *im, const struct furi_setattr *sa)
{
	if ((sa->valid & FURI_SET_MODE) && im->readonly && (sa->mode & 0222))
		return EROFS;	/* +w on a read-only export would be a lie */
	if ((sa->valid & (FURI_SET_ATIME | FURI_SET_MTIME | FURI_SET_ATIME_NOW |
			  FURI_SET_MTIME_NOW)) && im->readonly)
		return EROFS;	/* the times are the image file's: not touched read-only */
	if (!(sa->valid & FURI_SET_SIZE))
		return 0;
	if (im->readonly)
		return EROFS;
	if (sa->size > SIZE_MAX_OFF)
		return EFBIG;
	if (!im->growable && sa->size != im->fixed_size)
		return EPERM;	/* fixed size, as a disk: -o growable allows resizing */
	return 0;
}

static int setattr_times(struct image *im, const struct furi_setattr *sa)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

	if (sa->valid & FURI_SET_ATIME)
		ts[0] = sa->atime;
	if (sa->valid & FURI_SET_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	if (sa->valid & FURI_SET_MTIME)
		ts[1] = sa->mtime;
	if (sa->valid & FURI_SET_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
		return 0;
	/* Times are the image file's own (GETATTR reads them from it). */
	return futimens(im->fd, ts) ? errno : 0;
}

static void image_setattr(struct furi_req *req, uint64_t ino, const struct furi_setattr *sa)
{
	struct image *im = req_image(req);
	struct stat st;
	int r;

	if (is_dir(im, ino)) {
		furi_reply_err(req, EPERM);	/* the directory is only a frame */
		return;
	}
	r = setattr_check(im, sa);
	/*
	 * Truncation runs here, on the queue thread: io_uring has no truncate
	 * before Linux 6.9 and resizing a disk image is rare.
	 */
	if (!r && (sa->valid & FURI_SET_SIZE) && im->growable &&
	    ftruncate(im->fd, (off_t)sa->size))
		r = errno;
	if (!r)
		r = setattr_times(im, sa);
	if (r) {
		furi_reply_err(req, r);
		return;
	}
	pthread_mutex_lock(&im->attr_lock);
	if (sa->valid & FURI_SET_MODE)
		im->mode = sa->mode & 0777;
	if (sa->valid & FURI_SET_UID)
		im->uid = sa->uid;
	if (sa->valid & FURI_SET_GID)
		im->gid = sa->gid;
	pthread_mutex_unlock(&im->attr_lock);
	r = file_stat(im, &st);
	if (r)
		furi_reply_err(req, r);
	else
		furi_reply_attr(req, &st, im->timeout);
}

static void image_statfs(struct furi_req *req, uint64_t ino)
{
	struct image *im = req_image(req);
	struct statvfs sv;

	(void)ino;
	/* The space left for the image to grow into is the backing filesystem's. */
	if (fstatvfs(im->fd, &sv))
		furi_reply_err(req, errno);
	else
		furi_reply_statfs(req, &sv);
}

/* ------------------------------------------------------------------------ */
/* The directory form: one name in the root                                 */
/* ------------------------------------------------------------------------ */

static void image_lookup(struct furi_req *req, uint64_t parent, const char *name)
{
	struct image *im = req_image(req);
	struct furi_entry e;
	int r;

	/* The file form has no names at all, like QEMU's export. */
	if (!is_dir(im, parent) || strcmp(name, im->name)) {
		furi_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	r = file_stat(im, &e.attr);
	if (r) {
		furi_reply_err(req, r);
		return;
	}
	e.ino = im->file_ino;
	e.generation = 1;
	e.attr_timeout = im->timeout;
	e.entry_timeout = im->timeout;
	furi_reply_entry(req, &e);
}

static void image_forget(void *fs, uint64_t ino, uint64_t nlookup)
{
	/* Both inodes live as long as the mount: nothing to count. */
	(void)fs, (void)ino, (void)nlookup;
}

static void image_opendir(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	if (!is_dir(req_image(req), ino)) {
		furi_reply_err(req, ENOTDIR);
		return;
	}
	fo->cache_dir = 1;	/* the listing never changes */
	fo->keep_cache = 1;
	furi_reply_open(req, fo);
}

static void image_readdir(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
			  size_t size)
{
	struct image *im = req_image(req);
	struct furi_dirbuf db;

	(void)fh;
	if (!is_dir(im, ino)) {
		furi_reply_err(req, ENOTDIR);
		return;
	}
	/* Offsets: 1 after ".", 2 after "..", 3 after the image. */
	furi_dirbuf_init(&db, req, size);
	if (off < 1 && !furi_dirbuf_add(&db, ".", FURI_ROOT_INO, S_IFDIR, 1))
		goto out;
	if (off < 2 && !furi_dirbuf_add(&db, "..", FURI_ROOT_INO, S_IFDIR, 2))
		goto out;
	if (off < 3)
		furi_dirbuf_add(&db, im->name, im->file_ino, S_IFREG, 3);
out:
	furi_reply_dirbuf(req, &db);
}

static void image_releasedir(struct furi_req *req, uint64_t ino, uint64_t fh)
{
	(void)ino, (void)fh;
	furi_reply_err(req, 0);
}

/* ------------------------------------------------------------------------ */
/* The file: open, data path                                                */
/* ------------------------------------------------------------------------ */

static void image_open(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	struct image *im = req_image(req);

	if (ino != im->file_ino) {
		furi_reply_err(req, EISDIR);
		return;
	}
	if (im->readonly && (fo->flags & O_ACCMODE) != O_RDONLY) {
		furi_reply_err(req, EROFS);
		return;
	}
	/*
	 * Only this export changes the image (it holds the lock), so pages the
	 * kernel cached from an earlier open are still right.
	 */
	fo->keep_cache = 1;
	/*
	 * A client that opens with O_DIRECT wants no page cache: FOPEN_DIRECT_IO
	 * sends its I/O straight here, without a page cache flush and
	 * invalidation around each request, and parallel direct writes let
	 * several writers submit under a shared inode lock, not the exclusive one.
	 */
	if (fo->flags & O_DIRECT) {
		fo->direct_io = 1;
		fo->parallel_direct_writes = 1;
	}
	fo->fh = 0;
	furi_reply_open(req, fo);
}

/* The O_DIRECT descriptor when the request meets its alignment, else the buffered one. */
static int data_fd(const struct image *im, const void *buf, uint64_t off, uint64_t len)
{
	if (im->dfd >= 0 && !((uintptr_t)buf & im->dio_mem_mask) &&
	    !((off | len) & im->dio_off_mask))
		return im->dfd;
	return im->fd;
}

static void image_read(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
		       size_t size)
{
	struct image *im = req_image(req);
	size_t cap;
	void *buf = furi_req_payload(req, &cap);

	(void)ino, (void)fh;
	/* Past the end the image file itself answers short, as the export must. */
	backend_read(req, data_fd(im, buf, off, size), off, size);
}

static void image_write(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
			const void *data, size_t size, unsigned write_flags)
{
	struct image *im = req_image(req);

	(void)ino, (void)fh, (void)write_flags;
	if (im->readonly) {
		furi_reply_err(req, EROFS);
		return;
	}
	if (off > SIZE_MAX_OFF || size > SIZE_MAX_OFF - off) {
		furi_reply_err(req, EFBIG);
		return;
	}
	if (!im->growable) {
		/* A disk has no room past its end: short up to it, ENOSPC at it. */
		if (off >= im->fixed_size && size) {
			furi_reply_err(req, ENOSPC);
			return;
		}
		if (off >= im->fixed_size) {
			furi_reply_write(req, 0);
			return;
		}
		if (size > im->fixed_size - off)
			size = (size_t)(im->fixed_size - off);
	}
	backend_write(req, data_fd(im, data, off, size), off, data, size, im->writethrough);
}

static void image_fsync(struct furi_req *req, uint64_t ino, uint64_t fh, bool datasync)
{
	(void)ino, (void)fh;
	backend_fsync(req, req_image(req)->fd, datasync);
}

static void image_flush(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t lock_owner)
{
	/*
	 * Every WRITE was replied only after the image had it, so nothing is
	 * pending at close; durability is fsync's job (or -o writethrough's).
	 */
	(void)ino, (void)fh, (void)lock_owner;
	furi_reply_err(req, 0);
}

static void image_release(struct furi_req *req, uint64_t ino, uint64_t fh, int flags,
			  uint64_t lock_owner, bool flush)
{
	(void)ino, (void)fh, (void)flags, (void)lock_owner, (void)flush;
	furi_reply_err(req, 0);
}

/*
 * Which range a fallocate may touch: KEEP_SIZE never reaches past the end
 * (a raw image has nothing there); anything that would grow a fixed-size
 * export is ENOSPC. *len becomes 0 when nothing is left to do.
 */
static int fallocate_range(struct image *im, int mode, uint64_t off, uint64_t *len)
{
	uint64_t size = 0;
	int r;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return EOPNOTSUPP;	/* collapse/insert would move the disk's blocks */
	if (off > SIZE_MAX_OFF || *len > SIZE_MAX_OFF - off)
		return EFBIG;
	r = current_size(im, &size);
	if (r)
		return r;
	if (mode & FALLOC_FL_KEEP_SIZE) {
		*len = off >= size ? 0 : (*len < size - off ? *len : size - off);
		return 0;
	}
	if (off + *len > size && !im->growable)
		return ENOSPC;
	return 0;
}

static void image_fallocate(struct furi_req *req, uint64_t ino, uint64_t fh, int mode,
			    uint64_t off, uint64_t len)
{
	struct image *im = req_image(req);
	int r;

	(void)ino, (void)fh;
	r = im->readonly ? EROFS : fallocate_range(im, mode, off, &len);
	if (r || len == 0) {
		furi_reply_err(req, r);
		return;
	}
	backend_fallocate(req, im->fd, mode, off, len);
}

static void image_lseek(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
			int whence)
{
	(void)ino, (void)fh;
	/* The image's own holes are the export's holes. */
	backend_lseek(req, req_image(req)->fd, off, whence);
}

static void image_init(void *fs, struct furi_conn *conn)
{
	(void)fs;
	/*
	 * No one else writes the image (it is locked), so cached pages stay
	 * valid: without AUTO_INVAL_DATA the image's mtime, which our own
	 * writes move, does not make the kernel drop them.
	 */
	conn->want &= ~(FURI_CAP_AUTO_INVAL_DATA | FURI_CAP_READDIRPLUS |
			FURI_CAP_READDIRPLUS_AUTO | FURI_CAP_POSIX_LOCKS | FURI_CAP_FLOCK_LOCKS);
	/* mmap stays possible on a file opened O_DIRECT (direct_io, above). */
	conn->want |= FURI_CAP_ASYNC_READ | FURI_CAP_ASYNC_DIO | FURI_CAP_DIRECT_IO_ALLOW_MMAP;
	conn->time_gran = 1;
}

static const struct furi_ops image_ops = {
	.init = image_init,
	.lookup = image_lookup,
	.forget = image_forget,
	.getattr = image_getattr,
	.setattr = image_setattr,
	.open = image_open,
	.read = image_read,
	.write = image_write,
	.flush = image_flush,
	.release = image_release,
	.fsync = image_fsync,
	.opendir = image_opendir,
	.readdir = image_readdir,
	.releasedir = image_releasedir,
	.statfs = image_statfs,
	.fallocate = image_fallocate,
	.lseek = image_lseek,
};

/* ------------------------------------------------------------------------ */
/* Options, start-up checks                                                 */
/* ------------------------------------------------------------------------ */

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -e;
}

/* Image formats: furi exports raw images; others are refused, not corrupted. */

/*
 * What qemu-img (and QEMU itself) would recognise in an image's first
 * bytes. Exported as it is, such a file shows its container to the client
 * (a guest sees a disk full of qcow2 metadata) and writes break it.
 */
static const struct image_format {
	const char *name;	/* as qemu-img -f names it */
	size_t off;
	const char *magic;
	size_t len;
} image_formats[] = {
	{ "qcow2", 0, "QFI\xfb", 4 },
	{ "vmdk", 0, "KDMV", 4 },			/* a sparse extent */
	{ "vmdk", 0, "# Disk DescriptorFile", 21 },	/* a descriptor naming extents */
	{ "vhdx", 0, "vhdxfile", 8 },
	{ "vpc", 0, "conectix", 8 },			/* a dynamic VHD */
	{ "vdi", 64, "\x7f\x10\xda\xbe", 4 },		/* 0xbeda107f, little-endian */
};

static int set_format(struct image *im, const char *val, char *err, size_t errlen)
{
	if (val && !strcmp(val, "raw")) {
		im->format_raw = true;
		return 0;
	}
	return fail(err, errlen, EINVAL,
		    "-o format=%s: furi exports raw images only (fix: qemu-img convert -f %s -O raw IMAGE IMAGE.raw and export IMAGE.raw; -o format=raw exports a file's bytes as they are)",
		    val ? val : "", val && *val ? val : "FORMAT");
}

/* The format the image's first bytes name, or NULL when they name none. */
static const char *detect_format(int fd)
{
	unsigned char head[512];
	ssize_t n = pread(fd, head, sizeof(head), 0);

	for (size_t i = 0; n > 0 && i < sizeof(image_formats) / sizeof(image_formats[0]); i++) {
		const struct image_format *f = &image_formats[i];

		if ((size_t)n >= f->off + f->len && !memcmp(head + f->off, f->magic, f->len))
			return f->name;
	}
	return NULL;
}

/*
 * Refuse what cannot be meant: a container format, or an empty image of
 * fixed size (nothing could ever be read or written). -o format=raw
 * exports either as it is.
 */
static int check_format(struct image *im, char *err, size_t errlen)
{
	const char *format;

	if (im->format_raw)
		return 0;
	if (im->fixed_size == 0 && !im->growable)
		return fail(err, errlen, EINVAL,
			    "image %s is empty (0 bytes): a fixed-size export of it holds nothing (fix: truncate -s SIZE %s first, add -o growable to let writes extend it, or -o format=raw to export it empty)",
			    im->path, im->path);
	format = detect_format(im->fd);
	if (format)
		return fail(err, errlen, EINVAL,
			    "image %s is a %s image, not raw: exported as it is, clients would see its %s metadata and writes would corrupt it (fix: qemu-img convert -f %s -O raw %s %s.raw and export that, or -o format=raw if the file really is raw)",
			    im->path, format, format, format, im->path, im->path);
	return 0;
}

static void *image_alloc(void)
{
	struct image *im = calloc(1, sizeof(*im));

	if (!im)
		return NULL;
	im->fd = -1;
	im->dfd = -1;
	im->timeout = DEFAULT_TIMEOUT;
	pthread_mutex_init(&im->attr_lock, NULL);
	return im;
}

static int flag_option(bool *field, const char *key, const char *val, char *err, size_t errlen)
{
	if (val)
		return fail(err, errlen, EINVAL, "-o %s takes no value (got '%s')", key, val);
	*field = true;
	return 0;
}

static int image_set_option(void *fs, char *opt, struct furi_config *cfg, char *err,
			    size_t errlen)
{
	struct image *im = fs;
	char *val = strchr(opt, '=');
	int r = -ENOENT;

	(void)cfg;
	if (val)
		*val++ = '\0';
	if (!strcmp(opt, "growable"))
		r = flag_option(&im->growable, opt, val, err, errlen);
	else if (!strcmp(opt, "direct"))
		r = flag_option(&im->direct, opt, val, err, errlen);
	else if (!strcmp(opt, "buffered")) {
		r = flag_option(&im->direct, opt, val, err, errlen);
		im->direct = false;
	}
	else if (!strcmp(opt, "kernel_cache"))	/* libfuse's: every open keeps the cache already */
		r = val ? fail(err, errlen, EINVAL, "-o %s takes no value (got '%s')", opt, val) : 0;
	else if (!strcmp(opt, "writethrough"))
		r = flag_option(&im->writethrough, opt, val, err, errlen);
	else if (!strcmp(opt, "name"))
		r = val && *val ? (im->name_opt = val, 0)
				: fail(err, errlen, EINVAL, "-o name needs a value");
	else if (!strcmp(opt, "format"))
		r = set_format(im, val, err, errlen);
	if (r == -ENOENT && val)
		val[-1] = '=';	/* not ours: give it back intact */
	return r;
}

static const char *type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "directory";
	case S_IFCHR: return "character device";
	case S_IFBLK: return "block device";
	case S_IFIFO: return "FIFO";
	case S_IFSOCK: return "socket";
	case S_IFLNK: return "symbolic link";
	default: return "special file";
	}
}

/* A regular file (the export takes its place) or a directory (the export goes in it). */
static int check_mountpoint(struct image *im, const char *mnt, char *err, size_t errlen)
{
	struct stat st;

	if (stat(mnt, &st)) {
		int e = errno;

		if (e == ENOENT)
			return fail(err, errlen, e,
				    "mountpoint %s does not exist (fix: touch %s for the export to appear in its place, or mkdir -p %s for a directory holding it)",
				    mnt, mnt, mnt);
		return fail(err, errlen, e, "cannot use mountpoint %s: %s", mnt, strerror(e));
	}
	if (S_ISDIR(st.st_mode)) {
		im->dir_form = true;
		im->dir_st = st;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, ENOTDIR,
			    "mountpoint %s is a %s (fix: give a regular file, where the export appears in its place, or a directory, where it appears as one file)",
			    mnt, type_name(st.st_mode));
	return 0;
}

/* Only a regular file is a raw image here; stat first, so a FIFO is never opened. */
static int check_image_path(struct image *im, char *err, size_t errlen)
{
	struct stat st;

	if (stat(im->path, &st)) {
		int e = errno;

		if (e == ENOENT)
			return fail(err, errlen, e,
				    "image %s does not exist (fix: give the path of a raw image, or create one with truncate -s 1G %s)",
				    im->path, im->path);
		if (e == EACCES)
			return fail(err, errlen, e,
				    "image %s cannot be reached: permission denied on a directory of its path (fix: chmod +x the directories, or run as a user who may)",
				    im->path);
		return fail(err, errlen, e, "cannot use image %s: %s", im->path, strerror(e));
	}
	if (S_ISDIR(st.st_mode))
		return fail(err, errlen, EISDIR,
			    "image %s is a directory (fix: give a raw image file; to serve a directory use furi mount passthrough)",
			    im->path);
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, EINVAL,
			    "image %s is a %s, not a regular file (fix: give a raw image file)",
			    im->path, type_name(st.st_mode));
	return 0;
}

/* O_NOATIME keeps the image's atime as it was; only its owner (or root) may ask. */
static int open_noatime(const char *path, int flags)
{
	int fd = open(path, flags | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = open(path, flags);
	return fd;
}

static int explain_open(struct image *im, int e, bool direct, char *err, size_t errlen)
{
	const char *how = im->readonly ? "reading" : "reading and writing";

	if (e == EACCES || e == EPERM)
		return fail(err, errlen, e,
			    "cannot open image %s for %s: %s (fix: chmod u+%s %s, run as its owner%s)",
			    im->path, how, strerror(e), im->readonly ? "r" : "rw", im->path,
			    im->readonly ? "" : ", or export it read-only with -o ro");
	if (e == EROFS)
		return fail(err, errlen, e,
			    "image %s is on a read-only filesystem (fix: export it read-only with -o ro)",
			    im->path);
	if (e == EINVAL && direct)
		return fail(err, errlen, e,
			    "the filesystem holding image %s does not support O_DIRECT (fix: leave out -o direct)",
			    im->path);
	if (e == ETXTBSY)
		return fail(err, errlen, e,
			    "image %s is a running program or an active swap file (fix: export a copy)",
			    im->path);
	return fail(err, errlen, e, "cannot open image %s: %s", im->path, strerror(e));
}

static int open_image(struct image *im, char *err, size_t errlen)
{
	int flags = (im->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY;
	struct stat st;

	im->fd = open_noatime(im->path, flags);
	if (im->fd < 0)
		return explain_open(im, errno, false, err, errlen);
	/* The path may have been swapped for something else since the check. */
	if (fstat(im->fd, &st) || !S_ISREG(st.st_mode))
		return fail(err, errlen, EINVAL,
			    "image %s changed while furi was starting (fix: try again)", im->path);
	im->fixed_size = (uint64_t)st.st_size;
	im->mode = st.st_mode & (im->readonly ? 0555 : 0777);
	im->uid = st.st_uid;
	im->gid = st.st_gid;
	return 0;
}

/*
 * One export per image at a time: a write lock for a writable export, a
 * read lock for a read-only one (read-only exports may share an image).
 * OFD locks belong to the open file, so the lock follows the descriptor
 * into the daemon furi forks and lasts until the server exits.
 */
static int lock_image(struct image *im, char *err, size_t errlen)
{
	struct flock fl = { .l_type = im->readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;
	bool held_ro;

	if (fcntl(im->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno != EAGAIN && errno != EACCES)
		return fail(err, errlen, errno,
			    "cannot lock image %s: %s (fix: keep the image on a local filesystem with POSIX locks, such as ext4, xfs or tmpfs)",
			    im->path, strerror(errno));
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
	held_ro = fcntl(im->fd, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_RDLCK;
	if (fstat(im->fd, &st))
		st.st_ino = 0;
	if (held_ro)
		return fail(err, errlen, EBUSY,
			    "image %s is in use: a read-only export (or another program) holds a read lock on it (fix: unmount that export first, or export this one read-only too with -o ro)",
			    im->path);
	return fail(err, errlen, EBUSY,
		    "image %s is in use: another export (or QEMU, or another program) holds a write lock on it (fix: unmount that export or stop that program first; its lock shows in /proc/locks with inode %llu)",
		    im->path, (unsigned long long)st.st_ino);
}

/* The alignment O_DIRECT needs on this file; 0 when it cannot do O_DIRECT at all. */
static int dio_alignment(int fd, unsigned *mem, unsigned *off)
{
	struct statx sx;

	*mem = *off = DIO_ALIGN_FALLBACK;
#ifdef STATX_DIOALIGN
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN)) {
		*mem = sx.stx_dio_mem_align;
		*off = sx.stx_dio_offset_align;
	}
#else
	(void)fd, (void)sx;
#endif
	return *mem && *off ? 0 : -EINVAL;
}

static int open_direct(struct image *im, char *err, size_t errlen)
{
	int flags = (im->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_DIRECT;
	struct stat a, b;
	unsigned mem, off;

	im->dfd = open_noatime(im->path, flags);
	if (im->dfd < 0)
		return explain_open(im, errno, true, err, errlen);
	if (fstat(im->fd, &a) || fstat(im->dfd, &b) || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return fail(err, errlen, EINVAL,
			    "image %s changed while furi was starting (fix: try again)", im->path);
	if (dio_alignment(im->dfd, &mem, &off))
		return explain_open(im, EINVAL, true, err, errlen);
	/* Payload buffers are page-aligned: alignments beyond a page would never match. */
	im->dio_mem_mask = mem - 1;
	im->dio_off_mask = off - 1;
	return 0;
}

/* The directory form's entry: -o name=, else the image's own name. */
static int choose_name(struct image *im, char *err, size_t errlen)
{
	const char *n = im->name_opt;

	if (!im->dir_form)
		return n ? fail(err, errlen, EINVAL,
				"-o name= names the export inside a directory mountpoint; this mountpoint is a file, so the export takes its name (fix: leave out -o name, or mount on a directory)")
			 : 0;
	if (!n) {
		n = strrchr(im->path, '/');
		n = n ? n + 1 : im->path;
	}
	if (!*n || strchr(n, '/') || !strcmp(n, ".") || !strcmp(n, "..") || strlen(n) > NAME_MAX)
		return fail(err, errlen, EINVAL,
			    "-o name=%s is not a usable file name (fix: one path component, not . or .., at most %d bytes)",
			    n, NAME_MAX);
	snprintf(im->name, sizeof(im->name), "%s", n);
	return 0;
}

static int check_options(struct image *im, const struct furi_config *cfg, char *err,
			 size_t errlen)
{
	if (im->readonly && im->growable)
		return fail(err, errlen, EINVAL,
			    "-o growable and -o ro contradict each other (fix: drop one of them)");
	if (cfg->writeback_cache && !im->growable)
		return fail(err, errlen, EINVAL,
			    "-o writeback_cache needs -o growable: the kernel's cache would grow the file past the image's fixed size (fix: add -o growable, or leave out -o writeback_cache)");
	return 0;
}

static int image_prepare(void *fs, char **args, const char *mountpoint,
			 struct furi_config *cfg, char *err, size_t errlen)
{
	struct image *im = fs;
	int r;

	im->path = args[0];
	im->readonly = cfg->read_only;
	r = check_options(im, cfg, err, errlen);
	if (!r)
		r = check_mountpoint(im, mountpoint, err, errlen);
	if (!r)
		r = check_image_path(im, err, errlen);
	if (!r)
		r = choose_name(im, err, errlen);
	if (!r)
		r = open_image(im, err, errlen);
	if (!r)
		r = check_format(im, err, errlen);
	if (!r)
		r = lock_image(im, err, errlen);
	if (!r && im->direct)
		r = open_direct(im, err, errlen);
	if (r)
		return r;
	im->file_ino = im->dir_form ? DIR_FORM_FILE_INO : FURI_ROOT_INO;
	/* The kernel checks modes and owners; chmod and chown change only ours. */
	cfg->default_permissions = true;
	return 0;
}

static void image_free(void *fs)
{
	struct image *im = fs;

	if (!im)
		return;
	if (im->dfd >= 0)
		close(im->dfd);
	if (im->fd >= 0)
		close(im->fd);	/* and with it the lock */
	pthread_mutex_destroy(&im->attr_lock);
	free(im);
}

static const char image_help[] =
"Exports a raw disk image as one regular file, as qemu-storage-daemon's FUSE\n"
"export does. MOUNTPOINT is either an existing regular file, which the export\n"
"takes the place of (the image may be its own mountpoint), or a directory, in\n"
"which the export appears as one file named after the image (or -o name=).\n"
"Reads and writes go to the image on the serving queue's own io_uring, with\n"
"no copy in furi. The image is locked while it is exported (an OFD write lock,\n"
"or a read lock with -o ro), so two exports never share a writable image;\n"
"a failed start leaves the image untouched.\n"
"\n"
"Options:\n"
"  -o ro                   read-only: the image is opened read-only, the mount\n"
"                          is read-only (writes, truncation and chmod +w fail\n"
"                          with EROFS); several read-only exports may share it\n"
"  -o growable             writes past the end grow the image, and truncate may\n"
"                          resize it (default: fixed size, as a disk: a write\n"
"                          past the end fails with ENOSPC, one across it is cut\n"
"                          short, a resize fails with EPERM)\n"
"  -o direct               open the image with O_DIRECT: no host page cache\n"
"                          (QEMU's cache.direct=on). Requests that do not meet\n"
"                          the alignment O_DIRECT needs go through the page cache\n"
"  -o buffered             use the host page cache (the default)\n"
"  -o writethrough         every write is durable (fdatasync) before it is\n"
"                          acknowledged (default: durable at fsync)\n"
"  -o name=NAME            the file's name when MOUNTPOINT is a directory\n"
"  -o format=raw           export the file as it is. Without it, an image whose\n"
"                          first bytes say qcow2, vmdk, vhdx, vpc (VHD) or vdi, or\n"
"                          an empty one without -o growable, is refused with the\n"
"                          qemu-img convert -O raw command that makes it raw\n"
"  -o allow_other          let other users use the export (the kernel checks the\n"
"                          mode, which starts as the image's)\n"
"\n"
"Tuning (libfuri options): a client keeping more than 64 requests in flight per\n"
"CPU needs -o queue_depth=N to match (it also raises max_background, which bounds\n"
"O_DIRECT requests in flight). At queue depth 1 the queue thread polls for the\n"
"image's completions (-o io_spin_us, default 200 us): a CPU busy while it\n"
"waits, for a lower latency; -o io_spin_us=0 turns that off.\n"
"\n"
"chmod and chown change the export's mode and owner, not the image file's.\n"
"dd onto a fixed-size export needs conv=notrunc (O_TRUNC would resize it).\n"
"\n"
"Examples:\n"
"  truncate -s 1G /tmp/disk.raw && touch /tmp/disk.export\n"
"  furi mount image /tmp/disk.raw /tmp/disk.export -o direct\n"
"  mkdir /tmp/exp && furi mount image /tmp/disk.raw /tmp/exp -o ro   # /tmp/exp/disk.raw\n";

const struct furi_fs_type furi_image_type = {
	.name = "image",
	.args = "IMAGE_FILE",
	.nargs = 1,
	.summary = "a raw disk image exported as one regular file (as QEMU's FUSE export)",
	.help = image_help,
	.file_mountpoint = true,
	.alloc = image_alloc,
	.set_option = image_set_option,
	.prepare = image_prepare,
	.free = image_free,
	.ops = &image_ops,
};
