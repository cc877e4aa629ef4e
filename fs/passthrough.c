/* SPDX-License-Identifier: MIT */
/*
 * passthrough.c - `furi mount passthrough SOURCE_DIR MOUNTPOINT`: the
 * directory SOURCE_DIR, served through FUSE with the semantics of the
 * filesystem it lives on.
 *
 * Inodes. Each inode the kernel knows is a struct pnode keyed by the
 * source's (st_dev, st_ino) and holding an O_PATH descriptor of it; no path
 * is ever kept, so renames, hard links and unlinked-but-open files need no
 * bookkeeping: every call names its object by descriptor (*at calls with
 * AT_EMPTY_PATH, or /proc/self/fd/N where the kernel has no such form). A
 * lookup that finds a known (dev, ino) returns the same node, so all hard
 * links of a file are one FUSE inode. The node's address is its FUSE node
 * id; it lives until the kernel's lookup count drops to zero (FORGET).
 *
 * Credentials. Every call that asks the source for a permission decision
 * (lookups, creations, open, setattr, xattrs, access) runs with the
 * caller's fsuid, fsgid and supplementary groups, switched on the serving
 * thread with the raw system calls (per-thread; glibc's wrappers change the
 * whole process) and restored before the reply. The source thus decides
 * ownership, permissions, sticky and setgid directories, ACLs and the
 * clearing of suid/sgid exactly as it would for the caller. Each thread has
 * its own fs_struct (unshare(CLONE_FS)) so that the caller's umask can be
 * set for creations, which lets the source apply default ACLs.
 *
 * Data. READ, WRITE, FSYNC and FALLOCATE go through fs/backend.c: on the
 * io_uring transport they are submitted on the request's own queue ring
 * (reads land in the registered reply buffer), on /dev/fuse they are plain
 * system calls on the worker thread. Those calls use the open file's own
 * descriptor, opened with the caller's credentials like open(2) checks them.
 * With -o kernel_passthrough the kernel reads and writes the source file
 * itself (FUSE passthrough) and the data never reaches the server.
 *
 * Locks. POSIX (fcntl, OFD) and flock locks are kept by the kernel for the
 * mount: exact semantics for every process using the mount (owners, l_pid,
 * deadlock detection, interruptible waits), not visible to processes that
 * use SOURCE_DIR directly.
 */
#include "passthrough.h"

#include <linux/fs.h>		/* FS_IOC_GETFLAGS, FS_IOC_FSGETXATTR, struct fsxattr */
#include <sys/ioctl.h>

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

static void reply_entry(struct furi_req *req, int err, const struct furi_entry *e)
{
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_entry(req, e);
}

static void pt_lookup(struct furi_req *req, uint64_t parent, const char *name)
{
	struct passthrough *fs = req_fs(req);
	struct furi_entry e;
	struct call k;
	int err = pt_call_begin(&k, req, node_of(fs, parent), NULL, true);

	if (!err)
		err = pt_do_lookup(fs, k.fd[0], name, &e);
	pt_call_end(&k);
	if (err == ENOENT && fs->negative_timeout > 0) {
		/* Node id 0 with a timeout: the kernel caches that the name is absent. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->negative_timeout;
		err = 0;
	}
	reply_entry(req, err, &e);
}

static void pt_forget(void *fsp, uint64_t ino, uint64_t nlookup)
{
	struct passthrough *fs = fsp;

	pt_node_put(fs, node_of(fs, ino), nlookup);
}

enum mk_kind { MK_NOD, MK_DIR, MK_SYMLINK };

struct mk_args {
	enum mk_kind kind;
	mode_t mode;
	dev_t rdev;
	const char *target;
};

static void make_node(struct furi_req *req, uint64_t parent, const char *name,
		      const struct mk_args *a)
{
	struct passthrough *fs = req_fs(req);
	struct furi_entry e;
	struct call k;
	int r, err;

	if (pt_bad_name(name)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	err = pt_call_begin(&k, req, node_of(fs, parent), NULL, true);
	if (!err) {
		switch (a->kind) {
		case MK_NOD:
			r = mknodat(k.fd[0], name, pt_creation_mode(req, a->mode), a->rdev);
			break;
		case MK_DIR:
			r = mkdirat(k.fd[0], name, pt_creation_mode(req, a->mode));
			break;
		default:
			r = symlinkat(a->target, k.fd[0], name);
			break;
		}
		err = r ? errno : pt_do_lookup(fs, k.fd[0], name, &e);
	}
	if (!err && fs->dirsync)
		pt_dir_sync(&k, k.fd[0]);
	pt_call_end(&k);
	reply_entry(req, err, &e);
}

static void pt_mknod(struct furi_req *req, uint64_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct mk_args a = { .kind = MK_NOD, .mode = mode, .rdev = rdev };

	make_node(req, parent, name, &a);
}

static void pt_mkdir(struct furi_req *req, uint64_t parent, const char *name, mode_t mode)
{
	struct mk_args a = { .kind = MK_DIR, .mode = mode };

	make_node(req, parent, name, &a);
}

static void pt_symlink(struct furi_req *req, uint64_t parent, const char *name,
		       const char *target)
{
	struct mk_args a = { .kind = MK_SYMLINK, .target = target };

	make_node(req, parent, name, &a);
}

static void pt_link(struct furi_req *req, uint64_t ino, uint64_t newparent, const char *newname)
{
	struct passthrough *fs = req_fs(req);
	struct furi_entry e;
	struct call k;
	char path[64];
	int err;

	if (pt_bad_name(newname)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	err = pt_call_begin(&k, req, node_of(fs, ino), node_of(fs, newparent), true);
	if (!err) {
		/*
		 * linkat(AT_EMPTY_PATH) wants CAP_DAC_READ_SEARCH, which a
		 * caller's fsuid drops; the /proc link is open to every caller.
		 */
		fd_path(path, sizeof(path), k.fd[0]);
		if (linkat(AT_FDCWD, path, k.fd[1], newname, AT_SYMLINK_FOLLOW))
			err = errno;
		else
			err = pt_do_lookup(fs, k.fd[1], newname, &e);
	}
	if (!err && fs->dirsync)
		pt_dir_sync(&k, k.fd[1]);
	pt_call_end(&k);
	reply_entry(req, err, &e);
}

static void remove_name(struct furi_req *req, uint64_t parent, const char *name, int flags)
{
	struct passthrough *fs = req_fs(req);
	struct call k;
	int err;

	if (pt_bad_name(name)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	err = pt_call_begin(&k, req, node_of(fs, parent), NULL, false);
	if (!err && atomic_load(&fs->node_fds) >= fs->max_node_fds)
		pt_pin_before_remove(fs, k.fd[0], name);
	if (!err)
		err = pt_creds_enter(fs, req, &k.c);
	if (!err && unlinkat(k.fd[0], name, flags))
		err = errno;
	if (!err && fs->dirsync)
		pt_dir_sync(&k, k.fd[0]);
	pt_call_end(&k);
	furi_reply_err(req, err);
}

static void pt_unlink(struct furi_req *req, uint64_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

static void pt_rmdir(struct furi_req *req, uint64_t parent, const char *name)
{
	remove_name(req, parent, name, AT_REMOVEDIR);
}

static void pt_rename(struct furi_req *req, uint64_t parent, const char *name,
		      uint64_t newparent, const char *newname, unsigned flags)
{
	struct passthrough *fs = req_fs(req);
	struct call k;
	int err;

	if (pt_bad_name(name) || pt_bad_name(newname)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	err = pt_call_begin(&k, req, node_of(fs, parent), node_of(fs, newparent), false);
	/* A replaced target may lose its last name. */
	if (!err && !(flags & RENAME_EXCHANGE) &&
	    atomic_load(&fs->node_fds) >= fs->max_node_fds)
		pt_pin_before_remove(fs, k.fd[1], newname);
	if (!err)
		err = pt_creds_enter(fs, req, &k.c);
	if (!err && renameat2(k.fd[0], name, k.fd[1], newname, flags))
		err = errno;
	if (!err && fs->dirsync) {
		pt_dir_sync(&k, k.fd[0]);
		if (newparent != parent)
			pt_dir_sync(&k, k.fd[1]);
	}
	pt_call_end(&k);
	furi_reply_err(req, err);
}

static void pt_readlink(struct furi_req *req, uint64_t ino)
{
	char buf[PATH_MAX + 1];
	struct call k;
	ssize_t n = -1;
	int err = pt_call_begin(&k, req, node_of(req_fs(req), ino), NULL, false);

	if (!err && (n = readlinkat(k.fd[0], "", buf, sizeof(buf) - 1)) < 0)
		err = errno;
	pt_call_end(&k);
	if (err) {
		furi_reply_err(req, err);
		return;
	}
	buf[n] = '\0';
	furi_reply_readlink(req, buf);
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                               */
/* ------------------------------------------------------------------------ */

static void pt_getattr(struct furi_req *req, uint64_t ino, const uint64_t *fh)
{
	struct passthrough *fs = req_fs(req);
	struct stat st;
	struct call k;
	int err;

	/* A stat needs no permission on the object itself: no credential switch. */
	if (fh && node_of(fs, ino)->type == S_IFREG) {
		err = fstat(pfile_of(*fh)->fd, &st) ? errno : 0;
	} else {
		err = pt_call_begin(&k, req, node_of(fs, ino), NULL, false);
		if (!err)
			err = pt_stat_fd(k.fd[0], &st);
		pt_call_end(&k);
	}
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_attr(req, &st, fs->attr_timeout);
}

/* statx(2) of the source: what getattr gives, and the birth time. */
static void pt_statx(struct furi_req *req, uint64_t ino, const uint64_t *fh, int flags,
		     unsigned mask)
{
	struct passthrough *fs = req_fs(req);
	unsigned want = mask | STATX_BASIC_STATS;	/* the kernel caches only a full set */
	int sync = flags & AT_STATX_SYNC_TYPE;
	struct statx stx;
	struct call k;
	int err;

	if (fh && node_of(fs, ino)->type == S_IFREG) {
		err = statx(pfile_of(*fh)->fd, "", AT_EMPTY_PATH | sync, want, &stx) ? errno : 0;
	} else {
		err = pt_call_begin(&k, req, node_of(fs, ino), NULL, false);
		if (!err && statx(k.fd[0], "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | sync, want, &stx))
			err = errno;
		pt_call_end(&k);
	}
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_statx(req, &stx, fs->attr_timeout);
}

/*
 * Clear setuid, setgid and file capabilities as the source does when the
 * caller, without CAP_FSETID, writes, truncates or fallocates: with
 * HANDLE_KILLPRIV_V2 the kernel leaves it to us, and our data path runs as
 * the server. setgid goes when the file is group-executable or the caller
 * is outside its group (the kernel's setattr_should_drop_sgid). fd must be
 * a real (not O_PATH) descriptor. Returns whether anything was cleared.
 */
static bool kill_privs(struct furi_req *req, int fd)
{
	struct stat st;
	mode_t m, drop;
	bool cleared = false;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return false;
	m = st.st_mode;
	drop = m & S_ISUID;
	if ((m & S_ISGID) && ((m & S_IXGRP) || !pt_caller_in_group(req, st.st_gid)))
		drop |= S_ISGID;
	if (drop && fchmod(fd, m & 07777 & ~drop))
		furi_log(FURI_LOG_WARN, "passthrough: clearing suid/sgid: %s", strerror(errno));
	else if (drop)
		cleared = true;
	if (!fremovexattr(fd, "security.capability"))
		cleared = true;
	else if (errno != ENODATA && errno != EOPNOTSUPP)
		furi_log(FURI_LOG_DEBUG, "passthrough: clearing file capabilities: %s",
			 strerror(errno));
	return cleared;
}

/*
 * kill_privs for a call whose reply carries no attributes (write,
 * fallocate, copy_file_range, open): the kernel's cached mode is dropped
 * before the reply, so the caller's next stat shows the source's.
 */
static void kill_privs_of(struct furi_req *req, uint64_t ino, int fd)
{
	if (kill_privs(req, fd))
		furi_notify_inval_inode(furi_req_session(req), ino, -1, 0);
}

static int set_times(int pfd, int fd, const struct furi_setattr *a)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

	if (a->valid & FURI_SET_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (a->valid & FURI_SET_ATIME)
		ts[0] = a->atime;
	if (a->valid & FURI_SET_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (a->valid & FURI_SET_MTIME)
		ts[1] = a->mtime;
	if (fd >= 0)
		return futimens(fd, ts) ? errno : 0;
	return utimensat(pfd, "", ts, AT_EMPTY_PATH) ? errno : 0;
}

static int set_mode(struct pnode *n, int pfd, int fd, mode_t mode)
{
	char path[64];

	if (fd >= 0)
		return fchmod(fd, mode) ? errno : 0;
	if (!syscall(SYS_fchmodat2, pfd, "", mode, AT_EMPTY_PATH))
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return errno;
	/* Before Linux 6.6: through /proc (not for symlinks, which have no mode to set). */
	if (n->type == S_IFLNK)
		return EOPNOTSUPP;
	fd_path(path, sizeof(path), pfd);
	return chmod(path, mode) ? errno : 0;
}

static int set_size(int pfd, int fd, uint64_t size)
{
	char path[64];

	if (size > (uint64_t)INT64_MAX)
		return EFBIG;
	if (fd >= 0)
		return ftruncate(fd, (off_t)size) ? errno : 0;
	/* truncate(2) checks write permission, as the caller's truncate() did. */
	fd_path(path, sizeof(path), pfd);
	return truncate(path, (off_t)size) ? errno : 0;
}

#define SET_TIMES (FURI_SET_ATIME | FURI_SET_MTIME | FURI_SET_ATIME_NOW | FURI_SET_MTIME_NOW)

/*
 * Parts of a SETATTR the kernel has already judged (default_permissions is
 * always on) and that the source would refuse the caller although the
 * caller's own syscall was allowed; they run as the server:
 *  - with the writeback cache the kernel keeps mtime and ctime itself and
 *    pushes them as explicit times (FURI_SET_CTIME marks those), which only
 *    the owner may set, while any writer may cause them;
 *  - a mode change that only drops setuid/setgid is the kernel clearing
 *    privileges after a write (file_remove_privs), allowed to any writer.
 */
static bool times_as_server(const struct furi_setattr *a)
{
	return (a->valid & FURI_SET_CTIME) && (a->valid & SET_TIMES);
}

static bool mode_as_server(struct pnode *n, int pfd, const struct furi_setattr *a)
{
	struct stat st;

	if (!(a->valid & FURI_SET_MODE) || n->type != S_IFREG || pt_stat_fd(pfd, &st))
		return false;
	return (st.st_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID)) == (a->mode & 07777) &&
	       (st.st_mode & 07777) != (a->mode & 07777);
}

static int apply_setattr(struct furi_req *req, struct pnode *n, int pfd,
			 const struct furi_setattr *a, bool mode_done, bool times_done)
{
	struct passthrough *fs = req_fs(req);
	int fd = a->has_fh && n->type == S_IFREG ? pfile_of(a->fh)->fd : -1;
	int err = 0;

	if ((a->valid & FURI_SET_MODE) && !mode_done)
		err = set_mode(n, pfd, fd, a->mode & 07777);
	if (!err && (a->valid & (FURI_SET_UID | FURI_SET_GID)) &&
	    fchownat(pfd, "", (a->valid & FURI_SET_UID) ? a->uid : (uid_t)-1,
		     (a->valid & FURI_SET_GID) ? a->gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		err = errno;
	if (!err && (a->valid & FURI_SET_SIZE))
		err = set_size(pfd, fd, a->size);
	if (!err && (a->valid & FURI_SET_KILL_SUIDGID) && n->type == S_IFREG) {
		/* A truncate by the caller already did it on the source; this covers root without CAP_FSETID. */
		char name[32];
		int wfd = fd;

		if (wfd < 0) {
			fd_name(name, sizeof(name), pfd);
			wfd = openat(fs->proc_fd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		}
		if (wfd >= 0) {
			kill_privs(req, wfd);
			if (wfd != fd)
				close(wfd);
		}
	}
	if (!err && (a->valid & SET_TIMES) && !times_done)
		err = set_times(pfd, fd, a);
	return err;
}

static void pt_setattr(struct furi_req *req, uint64_t ino, const struct furi_setattr *a)
{
	struct passthrough *fs = req_fs(req);
	struct pnode *n = node_of(fs, ino);
	int fd = a->has_fh && n->type == S_IFREG ? pfile_of(a->fh)->fd : -1;
	bool mode_srv = false, times_srv = times_as_server(a);
	struct stat st;
	struct call k;
	int err = pt_call_begin(&k, req, n, NULL, false);

	if (!err && (mode_srv = mode_as_server(n, k.fd[0], a)))
		err = set_mode(n, k.fd[0], fd, a->mode & 07777);
	if (!err)
		err = pt_creds_enter(fs, req, &k.c);
	if (!err)
		err = apply_setattr(req, n, k.fd[0], a, mode_srv, times_srv);
	pt_creds_leave(fs, &k.c);
	if (!err && times_srv)
		err = set_times(k.fd[0], fd, a);
	if (!err)
		err = pt_stat_fd(k.fd[0], &st);
	pt_call_end(&k);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_attr(req, &st, fs->attr_timeout);
}

static void pt_access(struct furi_req *req, uint64_t ino, int mask)
{
	struct call k;
	int err = pt_call_begin(&k, req, node_of(req_fs(req), ino), NULL, true);

	/* AT_EACCESS: judge by the fsuid we switched to, not the real uid. */
	if (!err && syscall(SYS_faccessat2, k.fd[0], "", mask, AT_EACCESS | AT_EMPTY_PATH))
		err = errno;
	pt_call_end(&k);
	furi_reply_err(req, err);
}

static void pt_statfs(struct furi_req *req, uint64_t ino)
{
	struct statvfs st;
	struct call k;
	int err = pt_call_begin(&k, req, node_of(req_fs(req), ino), NULL, false);

	if (!err && fstatvfs(k.fd[0], &st))
		err = errno;
	pt_call_end(&k);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_statfs(req, &st);
}

/* ------------------------------------------------------------------------ */
/* Extended attributes                                                      */
/* ------------------------------------------------------------------------ */

/*
 * The *xattr calls have no AT_EMPTY_PATH form for O_PATH descriptors; the
 * /proc link resolves to the object itself (a symlink included) with the
 * caller's permission checks.
 */
static void pt_setxattr(struct furi_req *req, uint64_t ino, const char *name,
			const void *value, size_t size, int flags, unsigned setxattr_flags)
{
	char path[64];
	struct call k;
	int err = pt_call_begin(&k, req, node_of(req_fs(req), ino), NULL, true);

	/* ACL_KILL_SGID: the source clears sgid itself, judging the caller we run as. */
	(void)setxattr_flags;
	fd_path(path, sizeof(path), k.fd[0]);
	if (!err && setxattr(path, name, value, size, flags))
		err = errno;
	pt_call_end(&k);
	furi_reply_err(req, err);
}

static void xattr_reply(struct furi_req *req, ssize_t n, int err, size_t size)
{
	if (n < 0)
		furi_reply_err(req, err);
	else if (size == 0)
		furi_reply_xattr_size(req, (size_t)n);
	else
		furi_reply_data(req, (size_t)n);
}

static void pt_getxattr(struct furi_req *req, uint64_t ino, const char *name, size_t size)
{
	char path[64];
	struct call k;
	ssize_t n = -1;
	int err = pt_call_begin(&k, req, node_of(req_fs(req), ino), NULL, true);

	fd_path(path, sizeof(path), k.fd[0]);
	/* name may live in the reply area: the kernel reads it before writing the value. */
	if (!err) {
		n = getxattr(path, name, size ? furi_req_payload(req, NULL) : NULL, size);
		err = n < 0 ? errno : 0;
	}
	pt_call_end(&k);
	xattr_reply(req, n, err, size);
}

static void pt_listxattr(struct furi_req *req, uint64_t ino, size_t size)
{
	char path[64];
	struct call k;
	ssize_t n = -1;
	int err = pt_call_begin(&k, req, node_of(req_fs(req), ino), NULL, true);

	fd_path(path, sizeof(path), k.fd[0]);
	if (!err) {
		n = listxattr(path, size ? furi_req_payload(req, NULL) : NULL, size);
		err = n < 0 ? errno : 0;
	}
	pt_call_end(&k);
	xattr_reply(req, n, err, size);
}

static void pt_removexattr(struct furi_req *req, uint64_t ino, const char *name)
{
	char path[64];
	struct call k;
	int err = pt_call_begin(&k, req, node_of(req_fs(req), ino), NULL, true);

	fd_path(path, sizeof(path), k.fd[0]);
	if (!err && removexattr(path, name))
		err = errno;
	pt_call_end(&k);
	furi_reply_err(req, err);
}

/* ------------------------------------------------------------------------ */
/* Open files                                                               */
/* ------------------------------------------------------------------------ */

/*
 * The flags of the source descriptor. With the writeback cache the kernel
 * reads to fill partial pages through any handle and writes back at
 * explicit offsets, so write-only opens become read-write and O_APPEND goes
 * (the kernel places appends itself, at the size it knows).
 */
static int source_flags(struct passthrough *fs, int flags)
{
	/* O_TMPFILE is asked for by opcode; kept here it would recreate on reopen. */
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_TMPFILE);
	flags |= O_CLOEXEC;
	if (fs->writeback) {
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags;
}

/* Drop the caller's credentials and open name (in /proc/self/fd) as the server. */
static int open_as_server(struct passthrough *fs, const char *name, int flags, struct creds *c)
{
	int fd;

	pt_creds_leave(fs, c);
	fd = openat(fs->proc_fd, name, flags);
	return fd < 0 ? -errno : fd;
}

/*
 * With the writeback cache, a file the caller may write but not read still
 * needs a readable descriptor for the kernel's page fills: the caller's own
 * write-only open proves the right to write (and does any O_TRUNC), then
 * the server opens it read-write for the kernel's use.
 */
static int open_write_only_fallback(struct passthrough *fs, const char *name, int flags,
				    struct creds *c)
{
	int wfd = openat(fs->proc_fd, name, (flags & ~O_ACCMODE) | O_WRONLY);
	int fd;

	if (wfd < 0)
		return -errno;
	fd = open_as_server(fs, name, flags & ~O_TRUNC, c);
	close(wfd);
	return fd;
}

/*
 * The kernel opens a file to execute it with __FMODE_EXEC in the flags
 * (open(2) cannot set it), having checked execute permission itself. The
 * source is asked too, as the caller (its noexec, modes and ACLs), and
 * may allow it without read permission (modes 0711, 0001, ...): then the
 * server opens the file for the kernel's reads of the program.
 */
#define FMODE_EXEC_FLAG	0x20

static unsigned dio_alignment(int fd)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align)
		return sx.stx_dio_offset_align;
	return 4096;	/* safe for every block device */
}

static int backing_get(struct passthrough *fs, struct furi_session *se, struct pfile *pf)
{
	struct pnode *n = pf->node;
	int id;

	pthread_mutex_lock(&fs->backing_lock);
	if (!n->backing_id) {
		id = furi_backing_open(se, pf->fd);
		if (id <= 0) {
			pthread_mutex_unlock(&fs->backing_lock);
			return id < 0 ? id : -EIO;
		}
		n->backing_id = id;
	}
	n->backing_users++;
	pf->backing_id = n->backing_id;
	pthread_mutex_unlock(&fs->backing_lock);
	return 0;
}

static void backing_put(struct passthrough *fs, struct furi_session *se, struct pfile *pf)
{
	struct pnode *n = pf->node;

	if (!pf->backing_id)
		return;
	pthread_mutex_lock(&fs->backing_lock);
	if (--n->backing_users == 0) {
		furi_backing_close(se, n->backing_id);
		n->backing_id = 0;
	}
	pthread_mutex_unlock(&fs->backing_lock);
}

static void pfile_free(struct passthrough *fs, struct furi_session *se, struct pfile *pf)
{
	int b = atomic_load(&pf->fd_twin);

	backing_put(fs, se, pf);
	if (b >= 0)
		close(b);
	close(pf->fd);
	atomic_fetch_sub(&pf->node->opens, 1);
	free(pf);
}

/*
 * Through kernel passthrough a write never reaches the server, and with
 * HANDLE_KILLPRIV_V2 the kernel leaves clearing setuid, setgid and file
 * capabilities to the server (the backing write runs with the server's
 * CAP_FSETID). So a caller without CAP_FSETID (judged: not root) who opens
 * for writing a file that has any of them is served by furi instead, whose
 * writes clear them.
 */
static bool kill_on_write(struct passthrough *fs, struct furi_req *req, int fd, int flags)
{
	struct stat st;

	if (fs->no_killpriv_v2 || furi_req_ctx(req)->uid == 0 || (flags & O_ACCMODE) == O_RDONLY ||
	    fstat(fd, &st))
		return false;
	if ((st.st_mode & S_ISUID) || (st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		return true;
	return fgetxattr(fd, "security.capability", NULL, 0) >= 0;
}

/*
 * -o noatime or nodiratime without a private mount of the source (see
 * passthrough_setup.c): O_NOATIME, as the server, where the source allows
 * it (the server's own files).
 */
static void no_atime(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NOATIME);
}

/* Wrap fd (consumed) in a handle and fill fo. Returns 0 or an errno. */
static int handle_new(struct passthrough *fs, struct furi_req *req, struct pnode *n, int fd,
		      int flags, struct furi_open *fo)
{
	struct pfile *pf = calloc(1, sizeof(*pf));

	if (!pf) {
		close(fd);
		return ENOMEM;
	}
	pf->fd = fd;
	if (fs->noatime_files)
		no_atime(fd);
	atomic_init(&pf->fd_twin, -1);
	pf->flags = flags;
	pf->node = n;
	atomic_fetch_add(&n->opens, 1);
	if ((flags & O_DIRECT) || fs->source_direct_reads)
		pf->dio_align = dio_alignment(fd);
	if (fs->kernel_passthrough && n->type == S_IFREG && !kill_on_write(fs, req, fd, flags)) {
		int r = backing_get(fs, furi_req_session(req), pf);

		if (r)
			furi_log(FURI_LOG_WARN, "passthrough: no kernel backing file: %s; this open "
				 "is served by furi", strerror(-r));
	}
	fo->fh = (uint64_t)(uintptr_t)pf;
	fo->backing_id = pf->backing_id;
	fo->noflush = 1;	/* a local source has nothing to do at close */
	if (pf->backing_id)
		return 0;	/* the kernel does the I/O, caching decided by the source */
	fo->keep_cache = fs->keep_cache;
	/*
	 * O_DIRECT bypasses the page cache on the source: bypass it here too,
	 * with parallel writes; DIRECT_IO_ALLOW_MMAP keeps such files mappable.
	 * Beside kernel passthrough opens of the same inode the kernel only
	 * accepts direct opens.
	 */
	if (fs->direct_io || fs->kernel_passthrough || (flags & O_DIRECT)) {
		fo->direct_io = 1;
		fo->parallel_direct_writes = 1;
	}
	return 0;
}

static void pt_open(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	struct passthrough *fs = req_fs(req);
	struct pnode *n = node_of(fs, ino);
	int flags = source_flags(fs, fo->flags);
	char name[32];
	struct stat before, after;
	struct call k;
	int fd = -1, err = pt_call_begin(&k, req, n, NULL, true);
	/* A caller's O_TRUNC open may clear setuid on the source by itself. */
	bool mode_known = !err && fo->kill_suidgid && !pt_stat_fd(k.fd[0], &before);

	fd_name(name, sizeof(name), k.fd[0]);
	if (!err && (fo->flags & FMODE_EXEC_FLAG) &&
	    syscall(SYS_faccessat2, k.fd[0], "", X_OK, AT_EACCESS | AT_EMPTY_PATH))
		err = errno;	/* the source would not execute it (noexec, modes, ACL) */
	if (!err) {
		fd = openat(fs->proc_fd, name, flags);
		if (fd < 0 && errno == EACCES && fs->writeback &&
		    (fo->flags & O_ACCMODE) == O_WRONLY)
			fd = open_write_only_fallback(fs, name, flags, &k.c);
		else if (fd < 0 && errno == EACCES && (fo->flags & FMODE_EXEC_FLAG))
			fd = open_as_server(fs, name, flags, &k.c);
		else if (fd < 0)
			fd = -errno;
		if (fd < 0)
			err = pt_note_errno(fs, -fd);
	}
	pt_call_end(&k);
	if (!err && fo->kill_suidgid &&
	    (kill_privs(req, fd) ||
	     (mode_known && !fstat(fd, &after) && after.st_mode != before.st_mode)))
		furi_notify_inval_inode(furi_req_session(req), ino, -1, 0);
	if (!err)
		err = handle_new(fs, req, n, fd, flags, fo);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_open(req, fo);
}

/* After a create or tmpfile: the node of the new open file fd. */
static int created_entry(struct passthrough *fs, int fd, struct pnode **np, struct furi_entry *e)
{
	int pfd = pt_path_fd_of(fs, fd);
	int err;

	if (pfd < 0)
		return -pfd;
	err = pt_node_from_fd(fs, pfd, e);
	if (!err)
		*np = node_of(fs, e->ino);
	return err;
}

static void open_new(struct furi_req *req, uint64_t parent, const char *name, mode_t mode,
		     struct furi_open *fo)
{
	struct passthrough *fs = req_fs(req);
	struct pnode *n = NULL;
	int flags = source_flags(fs, fo->flags);
	struct furi_entry e;
	struct call k;
	int fd = -1, err;

	if (name && pt_bad_name(name)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	err = pt_call_begin(&k, req, node_of(fs, parent), NULL, true);
	if (!err) {
		mode = pt_creation_mode(req, mode);
		if (name)
			fd = openat(k.fd[0], name, flags | O_CREAT | (fo->flags & O_EXCL), mode);
		else
			fd = openat(k.fd[0], ".", flags | O_TMPFILE, mode);
		if (fd < 0)
			err = pt_note_errno(fs, errno);
	}
	if (!err && name && fs->dirsync)
		pt_dir_sync(&k, k.fd[0]);
	pt_call_end(&k);
	if (!err)
		err = created_entry(fs, fd, &n, &e);
	if (!err) {
		err = handle_new(fs, req, n, fd, flags, fo);
		fd = -1;
		if (err)
			pt_node_put(fs, n, 1);
	}
	if (fd >= 0)
		close(fd);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_create(req, &e, fo);
}

static void pt_create(struct furi_req *req, uint64_t parent, const char *name, mode_t mode,
		      struct furi_open *fo)
{
	open_new(req, parent, name, mode, fo);
}

static void pt_tmpfile(struct furi_req *req, uint64_t parent, mode_t mode, struct furi_open *fo)
{
	open_new(req, parent, NULL, mode, fo);
}

#define TWIN_UNSUPPORTED	(-2)	/* the source takes no O_DIRECT: do not ask per read */

/*
 * A second descriptor on pf's file, with O_DIRECT flipped, opened once on
 * first need through /proc/self/fd (so unlinked and O_TMPFILE files work
 * too). An O_DIRECT file's twin is buffered, for ranges the source cannot
 * take directly (FUSE does not require alignment); with -o
 * source_direct_reads a buffered file's twin is O_DIRECT, for aligned
 * reads. pf->fd when there is none.
 */
static int twin_fd(struct passthrough *fs, struct pfile *pf)
{
	int flags = (pf->flags & ~(O_TRUNC | O_CREAT | O_EXCL)) ^ O_DIRECT;
	int b = atomic_load(&pf->fd_twin), expect = -1;
	char name[32];

	if (b >= 0)
		return b;
	if (b == TWIN_UNSUPPORTED)
		return pf->fd;
	fd_name(name, sizeof(name), pf->fd);
	b = openat(fs->proc_fd, name, flags);
	if (b < 0) {
		if (errno == EINVAL && (flags & O_DIRECT))
			atomic_compare_exchange_strong(&pf->fd_twin, &expect, TWIN_UNSUPPORTED);
		return pf->fd;	/* for an O_DIRECT file, the source's EINVAL then says why */
	}
	if (!atomic_compare_exchange_strong(&pf->fd_twin, &expect, b)) {
		close(b);
		return expect >= 0 ? expect : pf->fd;
	}
	return b;
}

static int buffered_fd(struct passthrough *fs, struct pfile *pf)
{
	return pf->flags & O_DIRECT ? twin_fd(fs, pf) : pf->fd;
}

static bool dio_aligned(const struct pfile *pf, uint64_t off, uint64_t size)
{
	return !((off | size) & (pf->dio_align - 1));
}

/* The descriptor for a write at off..off+size, or a read of an O_DIRECT file. */
static int io_fd(struct passthrough *fs, struct pfile *pf, uint64_t off, uint64_t size)
{
	if (!(pf->flags & O_DIRECT) || dio_aligned(pf, off, size))
		return pf->fd;
	return twin_fd(fs, pf);
}

/*
 * Why source_direct_reads: a buffered read through the mount copies the
 * data from the source's page cache into the request's buffer, then into
 * the mount's page cache; read with O_DIRECT, the disk fills the buffer
 * and the source's cache does not hold a second copy. 2 GiB sequential
 * read, 128 KiB requests: 455-648 MiB/s against 248-811 (docs/
 * PASSTHROUGH_BENCH.md). Re-reads the mount's cache no longer holds go
 * to the disk, hence an option.
 */
static int read_fd(struct passthrough *fs, struct pfile *pf, uint64_t off, uint64_t size)
{
	if (fs->source_direct_reads && !(pf->flags & O_DIRECT) && dio_aligned(pf, off, size))
		return twin_fd(fs, pf);
	return io_fd(fs, pf, off, size);
}

static void pt_read(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off, size_t size)
{
	struct pfile *pf = pfile_of(fh);

	(void)ino;
	backend_read(req, read_fd(req_fs(req), pf, off, size), off, size);
}

static void pt_write(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
		     const void *data, size_t size, unsigned write_flags)
{
	struct pfile *pf = pfile_of(fh);

	if (write_flags & FURI_WRITE_KILL_SUIDGID)
		kill_privs_of(req, ino, pf->fd);
	backend_write(req, io_fd(req_fs(req), pf, off, size), off, data, size, false);
}

static void pt_release(struct furi_req *req, uint64_t ino, uint64_t fh, int flags,
		       uint64_t lock_owner, bool flush)
{
	(void)ino, (void)flags, (void)lock_owner, (void)flush;
	pfile_free(req_fs(req), furi_req_session(req), pfile_of(fh));
	furi_reply_err(req, 0);
}

static void pt_fsync(struct furi_req *req, uint64_t ino, uint64_t fh, bool datasync)
{
	(void)ino;
	backend_fsync(req, pfile_of(fh)->fd, datasync);
}

/* The source clears privileges when a caller without CAP_FSETID changes data. */
static void kill_privs_for(struct furi_req *req, uint64_t ino, int fd)
{
	if (furi_req_ctx(req)->uid != 0)
		kill_privs_of(req, ino, fd);
}

static void pt_fallocate(struct furi_req *req, uint64_t ino, uint64_t fh, int mode,
			 uint64_t off, uint64_t len)
{
	struct pfile *pf = pfile_of(fh);

	kill_privs_for(req, ino, pf->fd);
	backend_fallocate(req, pf->fd, mode, off, len);
}

static void pt_lseek(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off, int whence)
{
	(void)ino;
	/*
	 * With the writeback cache the source has not seen the kernel's dirty
	 * pages: its holes may hold data, and "no data here" would make
	 * cp --sparse skip it. ENOSYS lets the kernel answer from the size
	 * it knows: all data up to EOF, always safe.
	 */
	if (req_fs(req)->writeback) {
		furi_reply_err(req, ENOSYS);
		return;
	}
	backend_lseek(req, pfile_of(fh)->fd, off, whence);
}

static void pt_copy_file_range(struct furi_req *req, uint64_t ino_in, uint64_t fh_in,
			       uint64_t off_in, uint64_t ino_out, uint64_t fh_out,
			       uint64_t off_out, uint64_t len, unsigned flags)
{
	struct passthrough *fs = req_fs(req);
	struct pfile *in = pfile_of(fh_in), *out = pfile_of(fh_out);

	(void)ino_in;
	kill_privs_for(req, ino_out, out->fd);
	/* Direct descriptors would refuse unaligned ranges the caller may ask for. */
	backend_copy_file_range(req, buffered_fd(fs, in), off_in, buffered_fd(fs, out), off_out,
				len, flags);
}

/* ------------------------------------------------------------------------ */
/* Directories                                                              */
/* ------------------------------------------------------------------------ */

static struct pdir *pdir_of(uint64_t fh)
{
	return (struct pdir *)(uintptr_t)fh;
}

static void pt_opendir(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	struct passthrough *fs = req_fs(req);
	struct pdir *d = calloc(1, sizeof(*d));
	char name[32];
	struct call k;
	int fd = -1, err;

	if (!d) {
		furi_reply_err(req, ENOMEM);
		return;
	}
	err = pt_call_begin(&k, req, node_of(fs, ino), NULL, true);
	fd_name(name, sizeof(name), k.fd[0]);
	if (!err && (fd = openat(fs->proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		err = pt_note_errno(fs, errno);
	pt_call_end(&k);
	if (!err && fs->noatime_dirs)
		no_atime(fd);
	if (!err && !(d->dp = fdopendir(fd))) {
		err = errno;
		close(fd);
	}
	if (err) {
		free(d);
		furi_reply_err(req, err);
		return;
	}
	pthread_mutex_init(&d->lock, NULL);
	fo->fh = (uint64_t)(uintptr_t)d;
	fo->cache_dir = fs->keep_cache;
	furi_reply_open(req, fo);
}

static bool is_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/*
 * One readdirplus entry. "." and ".." and names that vanished or that the
 * caller may not look up go without attributes (node id 0), which the
 * kernel takes as a plain entry. Returns false if it did not fit.
 */
static bool add_plus(struct passthrough *fs, struct furi_dirbuf *db, int dirfd,
		     const struct dirent *de)
{
	struct furi_entry e;
	bool ok;

	if (is_dot(de->d_name) || pt_do_lookup(fs, dirfd, de->d_name, &e)) {
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = de->d_ino;
		e.attr.st_mode = (mode_t)DTTOIF(de->d_type);
		return furi_dirbuf_add_plus(db, de->d_name, &e, (uint64_t)de->d_off);
	}
	ok = furi_dirbuf_add_plus(db, de->d_name, &e, (uint64_t)de->d_off);
	if (!ok)
		pt_node_put(fs, node_of(fs, e.ino), 1);	/* not sent: no reference taken */
	return ok;
}

static void read_dir(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off, size_t size,
		     bool plus)
{
	struct passthrough *fs = req_fs(req);
	struct pdir *d = pdir_of(fh);
	struct furi_dirbuf db;
	struct call k;
	/* Plain readdir asks nothing of the source that the open did not. */
	int err = pt_call_begin(&k, req, plus ? node_of(fs, ino) : NULL, NULL, plus);

	pthread_mutex_lock(&d->lock);
	if ((long)off != d->offset) {
		seekdir(d->dp, (long)off);
		d->offset = (long)off;
		d->entry = NULL;
	}
	furi_dirbuf_init(&db, req, size);
	while (!err) {
		bool ok;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				/* An error after some entries waits for the next call. */
				err = db.used ? 0 : errno;
				break;
			}
		}
		if (plus)
			ok = add_plus(fs, &db, k.fd[0], d->entry);
		else
			ok = furi_dirbuf_add(&db, d->entry->d_name, d->entry->d_ino,
					     (mode_t)DTTOIF(d->entry->d_type),
					     (uint64_t)d->entry->d_off);
		if (!ok)
			break;
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	pthread_mutex_unlock(&d->lock);
	pt_call_end(&k);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_dirbuf(req, &db);
}

static void pt_readdir(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
		       size_t size)
{
	read_dir(req, ino, fh, off, size, false);
}

static void pt_readdirplus(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
			   size_t size)
{
	read_dir(req, ino, fh, off, size, true);
}

static void pt_releasedir(struct furi_req *req, uint64_t ino, uint64_t fh)
{
	struct pdir *d = pdir_of(fh);

	(void)ino;
	closedir(d->dp);
	pthread_mutex_destroy(&d->lock);
	free(d);
	furi_reply_err(req, 0);
}

static void pt_fsyncdir(struct furi_req *req, uint64_t ino, uint64_t fh, bool datasync)
{
	(void)ino;
	backend_fsync(req, dirfd(pdir_of(fh)->dp), datasync);
}

/* ------------------------------------------------------------------------ */
/* The whole filesystem, and ioctls                                         */
/* ------------------------------------------------------------------------ */

/* syncfs(2) of the filesystem the source directory is on. */
static void pt_syncfs(struct furi_req *req, uint64_t ino)
{
	struct passthrough *fs = req_fs(req);
	char name[32];
	struct call k;
	int fd = -1, err = pt_call_begin(&k, req, node_of(fs, ino), NULL, false);

	/* syncfs takes no O_PATH descriptor: open the node itself. */
	fd_name(name, sizeof(name), k.fd[0]);
	if (!err && (fd = openat(fs->proc_fd, name, O_RDONLY | O_CLOEXEC)) < 0)
		err = pt_note_errno(fs, errno);
	pt_call_end(&k);
	if (!err && syncfs(fd))
		err = errno;
	if (fd >= 0)
		close(fd);
	furi_reply_err(req, err);
}

/*
 * The file attributes chattr and lsattr use, which the kernel sends as
 * ioctls (through a private open) and which mean the same on the source.
 * Setting them runs as the caller, so the source judges ownership and
 * CAP_LINUX_IMMUTABLE. Any other command could carry pointers or act on
 * the server's own rights: ENOTTY.
 */
static void pt_ioctl(struct furi_req *req, uint64_t ino, uint64_t fh, unsigned cmd,
		     uint64_t arg, unsigned flags, const void *in, size_t in_size,
		     size_t out_size)
{
	union { int flags; struct fsxattr fsx; } v;
	bool set = cmd == FS_IOC_SETFLAGS || cmd == FS_IOC_FSSETXATTR;
	size_t size = (cmd == FS_IOC_GETFLAGS || cmd == FS_IOC_SETFLAGS) ? sizeof(v.flags)
									   : sizeof(v.fsx);
	struct call k;
	int fd, err;

	(void)ino, (void)arg;
	if (cmd != FS_IOC_GETFLAGS && cmd != FS_IOC_SETFLAGS && cmd != FS_IOC_FSGETXATTR &&
	    cmd != FS_IOC_FSSETXATTR) {
		furi_reply_err(req, ENOTTY);
		return;
	}
	if ((set && in_size < size) || (!set && out_size < size)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	memset(&v, 0, sizeof(v));
	if (set)
		memcpy(&v, in, size);
	fd = (flags & FURI_IOCTL_DIR) ? dirfd(pdir_of(fh)->dp) : pfile_of(fh)->fd;
	err = pt_call_begin(&k, req, NULL, NULL, set);
	if (!err && ioctl(fd, cmd, &v) < 0)
		err = errno;
	pt_call_end(&k);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_ioctl(req, 0, &v, set ? 0 : size);
}

/* ------------------------------------------------------------------------ */
/* INIT                                                                     */
/* ------------------------------------------------------------------------ */

static void pt_init(void *fsp, struct furi_conn *conn)
{
	struct passthrough *fs = fsp;

	/* In the server process: prepare ran before `furi mount` forked. */
	if (fs->proc_fd < 0)
		fs->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->proc_fd < 0)
		furi_log(FURI_LOG_ERR, "passthrough: /proc/self/fd: %s; opens will fail",
			 strerror(errno));

	conn->want |= FURI_CAP_ATOMIC_O_TRUNC | FURI_CAP_CACHE_SYMLINKS |
		      FURI_CAP_PARALLEL_DIROPS | FURI_CAP_DIRECT_IO_ALLOW_MMAP |
		      FURI_CAP_CREATE_SUPP_GROUP;
	/* Each thread applies the caller's umask itself (creation_mode). */
	conn->want |= FURI_CAP_DONT_MASK;
	/*
	 * We clear suid/sgid/capabilities on write, truncate and open(O_TRUNC)
	 * when the kernel says so, which spares a GETXATTR(security.capability)
	 * before writes.
	 */
	if (!fs->no_killpriv_v2)
		conn->want |= FURI_CAP_HANDLE_KILLPRIV_V2;
	if (fs->source_acl && !fs->no_acl)
		conn->want |= FURI_CAP_POSIX_ACL;
	if (fs->kernel_passthrough) {
		conn->want |= FURI_CAP_PASSTHROUGH;
		conn->want &= ~FURI_CAP_WRITEBACK_CACHE;
		conn->max_stack_depth = 1;
		if (!(conn->capable & FURI_CAP_PASSTHROUGH)) {
			furi_log(FURI_LOG_WARN, "passthrough: the kernel offers no FUSE passthrough "
				 "(CONFIG_FUSE_PASSTHROUGH, Linux 6.9+): furi serves the data");
			fs->kernel_passthrough = false;
		}
	}
	/*
	 * Node ids are addresses, gone with the node: a file handle of the
	 * mount could not be resolved once the kernel forgot its inode (ESTALE
	 * after an eviction or a remount). Say so, and name_to_handle_at()
	 * fails at once (EOPNOTSUPP) instead of handing out handles that die;
	 * fanotify's handles (AT_HANDLE_FID) still work.
	 */
	conn->want |= FURI_CAP_NO_EXPORT_SUPPORT;
	/* Locks stay in the kernel (see the header comment). */
	conn->want &= ~(FURI_CAP_POSIX_LOCKS | FURI_CAP_FLOCK_LOCKS | FURI_CAP_HANDLE_KILLPRIV |
			FURI_CAP_EXPORT_SUPPORT);
	conn->time_gran = 1;
	fs->writeback = conn->want & conn->capable & FURI_CAP_WRITEBACK_CACHE;
	fs->posix_acl = conn->want & conn->capable & FURI_CAP_POSIX_ACL;
}

const struct furi_ops pt_ops = {
	.init = pt_init,
	.lookup = pt_lookup,
	.forget = pt_forget,
	.getattr = pt_getattr,
	.setattr = pt_setattr,
	.readlink = pt_readlink,
	.mknod = pt_mknod,
	.mkdir = pt_mkdir,
	.unlink = pt_unlink,
	.rmdir = pt_rmdir,
	.symlink = pt_symlink,
	.rename = pt_rename,
	.link = pt_link,
	.open = pt_open,
	.read = pt_read,
	.write = pt_write,
	.release = pt_release,
	.fsync = pt_fsync,
	.opendir = pt_opendir,
	.readdir = pt_readdir,
	.readdirplus = pt_readdirplus,
	.releasedir = pt_releasedir,
	.fsyncdir = pt_fsyncdir,
	.statfs = pt_statfs,
	.setxattr = pt_setxattr,
	.getxattr = pt_getxattr,
	.listxattr = pt_listxattr,
	.removexattr = pt_removexattr,
	.access = pt_access,
	.create = pt_create,
	.fallocate = pt_fallocate,
	.lseek = pt_lseek,
	.copy_file_range = pt_copy_file_range,
	.tmpfile = pt_tmpfile,
	.statx = pt_statx,
	.syncfs = pt_syncfs,
	.ioctl = pt_ioctl,
	/*
	 * Every call that reaches the source synchronously may hang there (a
	 * stale network mount, a stopped FUSE server inside the source tree):
	 * it runs on a helper thread, not the queue's. The data path (read,
	 * write, fsync, fallocate through furi_io_*()) stays on the ring.
	 */
	.may_block = FURI_BLOCKS(FURI_OP_LOOKUP) | FURI_BLOCKS(FURI_OP_GETATTR) |
		     FURI_BLOCKS(FURI_OP_SETATTR) | FURI_BLOCKS(FURI_OP_READLINK) |
		     FURI_BLOCKS(FURI_OP_MKNOD) | FURI_BLOCKS(FURI_OP_MKDIR) |
		     FURI_BLOCKS(FURI_OP_UNLINK) | FURI_BLOCKS(FURI_OP_RMDIR) |
		     FURI_BLOCKS(FURI_OP_SYMLINK) | FURI_BLOCKS(FURI_OP_RENAME) |
		     FURI_BLOCKS(FURI_OP_RENAME2) | FURI_BLOCKS(FURI_OP_LINK) |
		     FURI_BLOCKS(FURI_OP_OPEN) | FURI_BLOCKS(FURI_OP_RELEASE) |
		     FURI_BLOCKS(FURI_OP_OPENDIR) |
		     FURI_BLOCKS(FURI_OP_READDIR) | FURI_BLOCKS(FURI_OP_READDIRPLUS) |
		     FURI_BLOCKS(FURI_OP_RELEASEDIR) | FURI_BLOCKS(FURI_OP_FSYNCDIR) |
		     FURI_BLOCKS(FURI_OP_STATFS) | FURI_BLOCKS(FURI_OP_SETXATTR) |
		     FURI_BLOCKS(FURI_OP_GETXATTR) | FURI_BLOCKS(FURI_OP_LISTXATTR) |
		     FURI_BLOCKS(FURI_OP_REMOVEXATTR) | FURI_BLOCKS(FURI_OP_ACCESS) |
		     FURI_BLOCKS(FURI_OP_CREATE) | FURI_BLOCKS(FURI_OP_TMPFILE) |
		     FURI_BLOCKS(FURI_OP_LSEEK) | FURI_BLOCKS(FURI_OP_COPY_FILE_RANGE) |
		     FURI_BLOCKS(FURI_OP_COPY_FILE_RANGE_64) | FURI_BLOCKS(FURI_OP_STATX) |
		     FURI_BLOCKS(FURI_OP_SYNCFS) | FURI_BLOCKS(FURI_OP_IOCTL),
};
