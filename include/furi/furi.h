/* SPDX-License-Identifier: MIT */
/*
 * furi.h - the public API of libfuri, a FUSE server engine for Linux that
 * speaks the kernel protocol itself over FUSE-over-io_uring (per-CPU queues)
 * or /dev/fuse (threads with cloned fds).
 *
 * A filesystem fills a struct furi_ops with handlers. Each handler receives a
 * struct furi_req and must answer it exactly once with one furi_reply_*()
 * call: before it returns, later from any thread, or from the completion of
 * backend I/O it started with furi_io_*() on the request's own queue.
 * FORGET has no request and no reply.
 *
 * Minimal server:
 *
 *	struct furi_config cfg;
 *	char err[256];
 *	furi_config_init(&cfg);
 *	struct furi_session *se = furi_session_new(&cfg, &my_ops, my_fs, err, sizeof(err));
 *	if (!se || furi_session_mount(se, "/tmp/mnt", err, sizeof(err)))
 *		errx(1, "%s", err);
 *	furi_session_wait(se);     // serves until unmounted or SIGINT/SIGTERM/SIGHUP
 *	furi_session_destroy(se);
 *
 * Threads: handlers run on transport threads (one per io_uring queue, or the
 * /dev/fuse workers) and may run concurrently for different requests. A
 * handler must not block for long on a queue thread: a blocked queue thread
 * stalls every request routed to that CPU. Reply later, use furi_io_*(), or
 * declare the handler in furi_ops.may_block to run it on a helper thread.
 */
#ifndef FURI_FURI_H
#define FURI_FURI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <linux/stat.h>	/* struct statx, STATX_* */

#ifdef __cplusplus
extern "C" {
#endif

#define FURI_VERSION_MAJOR 0
#define FURI_VERSION_MINOR 1
#define FURI_VERSION_PATCH 0
#define FURI_VERSION_STRING "0.1.0"

/** The inode number of the root directory, as the kernel names it. */
#define FURI_ROOT_INO 1

struct furi_req;
struct furi_session;

/* ------------------------------------------------------------------------ */
/* Connection capabilities (INIT negotiation)                               */
/* ------------------------------------------------------------------------ */

/*
 * Capability bits. The values are the kernel's INIT flags with flags2
 * shifted into the upper 32 bits, so they can be compared with what the
 * kernel offers. Only the ones a filesystem may choose are listed.
 */
#define FURI_CAP_ASYNC_READ		(1ULL << 0)  /* several READs of one file at once */
#define FURI_CAP_POSIX_LOCKS		(1ULL << 1)  /* fcntl locks go to getlk/setlk */
#define FURI_CAP_ATOMIC_O_TRUNC		(1ULL << 3)  /* open() handles O_TRUNC itself */
#define FURI_CAP_EXPORT_SUPPORT		(1ULL << 4)  /* lookup of "." and ".." works */
#define FURI_CAP_DONT_MASK		(1ULL << 6)  /* kernel does not apply umask */
#define FURI_CAP_FLOCK_LOCKS		(1ULL << 10) /* flock() goes to setlk(flock=true) */
#define FURI_CAP_AUTO_INVAL_DATA	(1ULL << 12) /* drop cached pages when mtime/size change */
#define FURI_CAP_READDIRPLUS		(1ULL << 13) /* kernel uses readdirplus */
#define FURI_CAP_READDIRPLUS_AUTO	(1ULL << 14) /* ...only when it looks useful */
#define FURI_CAP_ASYNC_DIO		(1ULL << 15) /* O_DIRECT requests may be in flight together */
#define FURI_CAP_WRITEBACK_CACHE	(1ULL << 16) /* kernel caches writes and writes back */
#define FURI_CAP_PARALLEL_DIROPS	(1ULL << 18) /* lookups/readdirs of one dir in parallel */
#define FURI_CAP_HANDLE_KILLPRIV	(1ULL << 19) /* fs clears suid/sgid on write/chown/truncate */
#define FURI_CAP_POSIX_ACL		(1ULL << 20) /* kernel enforces POSIX ACLs from xattrs */
#define FURI_CAP_CACHE_SYMLINKS		(1ULL << 23) /* kernel caches readlink results */
#define FURI_CAP_EXPLICIT_INVAL_DATA	(1ULL << 25) /* cached pages only dropped on request */
#define FURI_CAP_HANDLE_KILLPRIV_V2	(1ULL << 28) /* as HANDLE_KILLPRIV, with explicit kill flags */
#define FURI_CAP_SETXATTR_EXT		(1ULL << 29) /* setxattr carries FURI_SETXATTR_ACL_KILL_SGID */
#define FURI_CAP_SECURITY_CTX		(1ULL << 32)
#define FURI_CAP_CREATE_SUPP_GROUP	(1ULL << 34) /* create ops carry the caller's matching group */
#define FURI_CAP_DIRECT_IO_ALLOW_MMAP	(1ULL << 36) /* files opened with direct_io can be mmapped */
#define FURI_CAP_PASSTHROUGH		(1ULL << 37) /* open may return a kernel backing file */
#define FURI_CAP_NO_EXPORT_SUPPORT	(1ULL << 38)
#define FURI_CAP_OVER_IO_URING		(1ULL << 41) /* read-only here: the transport decides */

/*
 * What INIT negotiates. furi fills it with the kernel's offer and with
 * defaults from struct furi_config, then calls ops->init(), which may change
 * the fields marked "in/out" before the reply goes to the kernel.
 */
struct furi_conn {
	unsigned proto_major;		/* out: the kernel's protocol version */
	unsigned proto_minor;
	uint64_t capable;		/* out: FURI_CAP_* the kernel offers */
	uint64_t want;			/* in/out: FURI_CAP_* to enable (masked by capable) */
	unsigned max_write;		/* in/out: bytes per WRITE */
	unsigned max_read;		/* in/out: bytes per READ (also a mount option) */
	unsigned max_readahead;		/* in/out */
	unsigned max_background;	/* in/out: async requests in flight (readahead, AIO) */
	unsigned congestion_threshold;	/* in/out */
	unsigned time_gran;		/* in/out: timestamp granularity in ns (1 = ns) */
	unsigned max_stack_depth;	/* in/out: for FURI_CAP_PASSTHROUGH */
};

/* ------------------------------------------------------------------------ */
/* Arguments of handlers                                                    */
/* ------------------------------------------------------------------------ */

/** Who sent a request. */
struct furi_ctx {
	uid_t uid;		/* fsuid of the caller */
	gid_t gid;		/* fsgid of the caller */
	pid_t pid;		/* thread group id of the caller; 0 for kernel-internal */
	mode_t umask;		/* for create/mkdir/mknod/tmpfile; else 0 */
	/*
	 * With FURI_CAP_CREATE_SUPP_GROUP on create/mkdir/mknod/symlink: a
	 * supplementary group of the caller that equals the parent directory's
	 * group, or (gid_t)-1 when the kernel sent none.
	 */
	gid_t supp_gid;
	/*
	 * With FURI_CAP_SECURITY_CTX on create/mkdir/mknod/symlink/tmpfile:
	 * the security context the kernel's LSM chose for the new inode (an
	 * xattr name such as "security.selinux" and its value, which the
	 * filesystem should store with the inode), or NULL/0 when the kernel
	 * sent none (no LSM labels new files). Valid until the reply.
	 */
	const char *secctx_name;
	const void *secctx;
	size_t secctx_size;
};

/** Open state: flags in, file handle and caching choices out. */
struct furi_open {
	int flags;			/* in: open(2) flags */
	uint64_t fh;			/* out: handle passed to later calls */
	unsigned direct_io : 1;		/* out: bypass the page cache */
	unsigned keep_cache : 1;	/* out: keep cached pages from earlier opens */
	unsigned nonseekable : 1;	/* out */
	unsigned cache_dir : 1;		/* out: opendir only: cache readdir results */
	unsigned noflush : 1;		/* out: no FLUSH on close */
	unsigned parallel_direct_writes : 1; /* out */
	unsigned kill_suidgid : 1;	/* in: with HANDLE_KILLPRIV_V2, O_TRUNC must clear suid/sgid */
	int backing_id;			/* out: with FURI_CAP_PASSTHROUGH, from furi_backing_open(); 0 = none */
};

/** A lookup result: what LOOKUP, MKDIR, CREATE, ... answer. */
struct furi_entry {
	uint64_t ino;		/* 0 with entry_timeout > 0 caches "does not exist" */
	uint64_t generation;	/* ino:generation must be unique for the mount's lifetime */
	struct stat attr;	/* st_ino is what stat() and readdir show; 0: use ino */
	double attr_timeout;	/* seconds the kernel may cache attr */
	double entry_timeout;	/* seconds the kernel may cache the name */
};

/* Bits of furi_setattr.valid */
#define FURI_SET_MODE		(1u << 0)
#define FURI_SET_UID		(1u << 1)
#define FURI_SET_GID		(1u << 2)
#define FURI_SET_SIZE		(1u << 3)
#define FURI_SET_ATIME		(1u << 4)
#define FURI_SET_MTIME		(1u << 5)
#define FURI_SET_ATIME_NOW	(1u << 7)	/* set atime to the current time */
#define FURI_SET_MTIME_NOW	(1u << 8)
#define FURI_SET_CTIME		(1u << 10)
#define FURI_SET_KILL_SUIDGID	(1u << 11)	/* with HANDLE_KILLPRIV_V2 */

struct furi_setattr {
	unsigned valid;			/* FURI_SET_* */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uint64_t size;
	struct timespec atime, mtime, ctime;
	bool has_fh;			/* the change comes through an open file */
	uint64_t fh;
};

/* Bits of the write_flags argument of ops->write */
#define FURI_WRITE_CACHE	(1u << 0)	/* delayed write from the page cache */
#define FURI_WRITE_KILL_SUIDGID	(1u << 2)	/* clear suid/sgid (HANDLE_KILLPRIV_V2) */

/* Bits of the flags argument of ops->setxattr (with FURI_CAP_SETXATTR_EXT) */
#define FURI_SETXATTR_ACL_KILL_SGID (1u << 0)

/* Bits of the flags argument of ops->ioctl (the kernel's FUSE_IOCTL_*) */
#define FURI_IOCTL_COMPAT	(1u << 0)	/* 32-bit compat ioctl on a 64-bit kernel */
#define FURI_IOCTL_UNRESTRICTED	(1u << 1)	/* CUSE only: may answer furi_reply_ioctl_retry() */
#define FURI_IOCTL_32BIT	(1u << 3)	/* the caller is a 32-bit process */
#define FURI_IOCTL_DIR		(1u << 4)	/* on a directory */
#define FURI_IOCTL_COMPAT_X32	(1u << 5)
#define FURI_IOCTL_MAX_IOV	256		/* in + out iovecs of a retry */

/* ------------------------------------------------------------------------ */
/* The operations table                                                     */
/* ------------------------------------------------------------------------ */

/*
 * Every member may be NULL: the request then gets ENOSYS (and, where the
 * kernel understands it, the kernel stops asking). Inode numbers are the
 * ones the filesystem returned in struct furi_entry, FURI_ROOT_INO for the
 * root. Each successful reply carrying an entry (lookup, mknod, mkdir,
 * symlink, link, create, tmpfile, each readdirplus entry except "." and
 * "..") adds one to the kernel's lookup count of that inode; forget()
 * subtracts. An inode may be freed when its count is zero and it is unlinked.
 *
 * Strings and the write buffer passed to a handler live in the request's
 * buffer and stay valid until the reply. The reply area (furi_req_payload)
 * may share that buffer: read them before writing into it.
 */
struct furi_ops {
	/* Before the INIT reply; may adjust conn. fs is the pointer given to
	 * furi_session_new(). */
	void (*init)(void *fs, struct furi_conn *conn);
	/* Once, when the session ends, after the last request. */
	void (*destroy)(void *fs);

	void (*lookup)(struct furi_req *req, uint64_t parent, const char *name);
	/* No reply. Also called for each item of a BATCH_FORGET. */
	void (*forget)(void *fs, uint64_t ino, uint64_t nlookup);
	/* fh is non-NULL when the call comes from fstat() on an open file. */
	void (*getattr)(struct furi_req *req, uint64_t ino, const uint64_t *fh);
	void (*setattr)(struct furi_req *req, uint64_t ino, const struct furi_setattr *attr);
	void (*readlink)(struct furi_req *req, uint64_t ino);
	void (*mknod)(struct furi_req *req, uint64_t parent, const char *name,
		      mode_t mode, dev_t rdev);
	void (*mkdir)(struct furi_req *req, uint64_t parent, const char *name, mode_t mode);
	void (*unlink)(struct furi_req *req, uint64_t parent, const char *name);
	void (*rmdir)(struct furi_req *req, uint64_t parent, const char *name);
	void (*symlink)(struct furi_req *req, uint64_t parent, const char *name,
			const char *target);
	/* flags: 0, RENAME_NOREPLACE, RENAME_EXCHANGE or RENAME_WHITEOUT */
	void (*rename)(struct furi_req *req, uint64_t parent, const char *name,
		       uint64_t newparent, const char *newname, unsigned flags);
	void (*link)(struct furi_req *req, uint64_t ino, uint64_t newparent,
		     const char *newname);
	void (*open)(struct furi_req *req, uint64_t ino, struct furi_open *fo);
	/* Reply with furi_reply_buf(), or write into furi_req_payload() and
	 * reply furi_reply_data(), or furi_io_read() straight from a file. */
	void (*read)(struct furi_req *req, uint64_t ino, uint64_t fh,
		     uint64_t off, size_t size);
	void (*write)(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
		      const void *data, size_t size, unsigned write_flags);
	void (*flush)(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t lock_owner);
	/* flags: the open flags; flush: a FLUSH is folded into this release. */
	void (*release)(struct furi_req *req, uint64_t ino, uint64_t fh, int flags,
			uint64_t lock_owner, bool flush);
	void (*fsync)(struct furi_req *req, uint64_t ino, uint64_t fh, bool datasync);
	void (*opendir)(struct furi_req *req, uint64_t ino, struct furi_open *fo);
	/* Fill a struct furi_dirbuf from offset off, at most size bytes. The
	 * offsets handed to furi_dirbuf_add() are what the next call gets. */
	void (*readdir)(struct furi_req *req, uint64_t ino, uint64_t fh,
			uint64_t off, size_t size);
	void (*readdirplus)(struct furi_req *req, uint64_t ino, uint64_t fh,
			    uint64_t off, size_t size);
	void (*releasedir)(struct furi_req *req, uint64_t ino, uint64_t fh);
	void (*fsyncdir)(struct furi_req *req, uint64_t ino, uint64_t fh, bool datasync);
	void (*statfs)(struct furi_req *req, uint64_t ino);
	/* flags: XATTR_CREATE/XATTR_REPLACE; setxattr_flags: FURI_SETXATTR_* */
	void (*setxattr)(struct furi_req *req, uint64_t ino, const char *name,
			 const void *value, size_t size, int flags, unsigned setxattr_flags);
	/* size 0 asks for the size: reply furi_reply_xattr_size(). Otherwise
	 * reply the value with furi_reply_buf(), or ERANGE if it is larger. */
	void (*getxattr)(struct furi_req *req, uint64_t ino, const char *name, size_t size);
	/* As getxattr; the value is the NUL-separated list of names. */
	void (*listxattr)(struct furi_req *req, uint64_t ino, size_t size);
	void (*removexattr)(struct furi_req *req, uint64_t ino, const char *name);
	/* mask: R_OK|W_OK|X_OK or F_OK. Not called with default_permissions. */
	void (*access)(struct furi_req *req, uint64_t ino, int mask);
	void (*create)(struct furi_req *req, uint64_t parent, const char *name,
		       mode_t mode, struct furi_open *fo);
	/* owner identifies the lock owner; lock->l_pid is the caller's pid. */
	void (*getlk)(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t owner,
		      const struct flock *lock);
	/* wait: SETLKW, may be answered late (and see furi_req_on_interrupt);
	 * flock: the lock comes from flock(2), not fcntl(2). */
	void (*setlk)(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t owner,
		      const struct flock *lock, bool wait, bool flock);
	void (*fallocate)(struct furi_req *req, uint64_t ino, uint64_t fh, int mode,
			  uint64_t off, uint64_t len);
	/* whence: SEEK_DATA or SEEK_HOLE (the kernel handles the others) */
	void (*lseek)(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
		      int whence);
	void (*copy_file_range)(struct furi_req *req, uint64_t ino_in, uint64_t fh_in,
				uint64_t off_in, uint64_t ino_out, uint64_t fh_out,
				uint64_t off_out, uint64_t len, unsigned flags);
	/* O_TMPFILE: create an unnamed inode in parent and open it. */
	void (*tmpfile)(struct furi_req *req, uint64_t parent, mode_t mode,
			struct furi_open *fo);
	/*
	 * statx(2) (protocol 7.39+). The kernel asks when the caller wants
	 * more than getattr gives (STATX_BTIME); ENOSYS makes it use getattr
	 * from then on. mask: STATX_* the caller asked for; flags: AT_* sync
	 * flags; fh as for getattr. Reply furi_reply_statx().
	 */
	void (*statx)(struct furi_req *req, uint64_t ino, const uint64_t *fh, int flags,
		      unsigned mask);
	/*
	 * ioctl(2) on an open file, and FS_IOC_GETFLAGS/SETFLAGS,
	 * FS_IOC_FSGETXATTR/FSSETXATTR (chattr, lsattr), which the kernel sends
	 * through a private open. in holds in_size bytes the caller passed;
	 * reply furi_reply_ioctl() with at most out_size bytes, or an error
	 * (ENOTTY for a command the filesystem does not know). A FUSE mount's
	 * ioctls are restricted: the kernel copies _IOC_SIZE(cmd) bytes in
	 * and out by the command's direction bits. Unrestricted ones (CUSE,
	 * FURI_IOCTL_UNRESTRICTED) may be answered furi_reply_ioctl_retry().
	 */
	void (*ioctl)(struct furi_req *req, uint64_t ino, uint64_t fh, unsigned cmd,
		      uint64_t arg, unsigned flags, const void *in, size_t in_size,
		      size_t out_size);
	/*
	 * poll(2), select(2), epoll on an open file: reply furi_reply_poll()
	 * with the POLL* events ready now. When notify is true the kernel
	 * waits for a wake-up: keep kh and call furi_notify_poll(se, kh) once
	 * an event may be ready (kh stays valid until the file's release).
	 * ENOSYS makes the kernel treat every file as always ready.
	 */
	void (*poll)(struct furi_req *req, uint64_t ino, uint64_t fh, unsigned events,
		     uint64_t kh, bool notify);
	/* syncfs(2) and sync(2) on the mount. The 6.18 kernel sends it for
	 * virtiofs and fuseblk mounts only. */
	void (*syncfs)(struct furi_req *req, uint64_t ino);
	/* FIBMAP on a fuseblk mount: the device block of file block block
	 * (blocksize bytes each). Reply furi_reply_bmap(). */
	void (*bmap)(struct furi_req *req, uint64_t ino, size_t blocksize, uint64_t block);

	/*
	 * Handlers that may block (FURI_BLOCKS(FURI_OP_...) bits, or
	 * FURI_BLOCKS_ALL): their requests run on helper threads, so that a
	 * handler stuck in a slow system call never delays the other requests
	 * of its queue, which the queue thread goes on receiving and
	 * answering. The helpers are started when all are busy (up to
	 * FURI_BLOCKING_THREADS_MAX; more requests then wait their turn) and
	 * end after a few idle seconds. A blocking handler replies as any
	 * other, from any thread; furi_io_*() there runs the system call at
	 * once. When the kernel interrupts such a request (a signal to the
	 * caller), the caller gets EINTR at once; the handler sees
	 * furi_req_interrupted() and should stop, and its late reply is
	 * dropped (an entry it answered is forgotten again, an open file
	 * released). Requests of other opcodes run inline on the queue
	 * thread, as fast as without this. FORGET, BATCH_FORGET, INTERRUPT,
	 * INIT, DESTROY and NOTIFY_REPLY always run inline.
	 */
	uint64_t may_block;
};

/* The kernel's opcode numbers (furi_req_opcode()), for furi_ops.may_block. */
enum furi_opcode {
	FURI_OP_LOOKUP = 1, FURI_OP_GETATTR = 3, FURI_OP_SETATTR = 4, FURI_OP_READLINK = 5,
	FURI_OP_SYMLINK = 6, FURI_OP_MKNOD = 8, FURI_OP_MKDIR = 9, FURI_OP_UNLINK = 10,
	FURI_OP_RMDIR = 11, FURI_OP_RENAME = 12, FURI_OP_LINK = 13, FURI_OP_OPEN = 14,
	FURI_OP_READ = 15, FURI_OP_WRITE = 16, FURI_OP_STATFS = 17, FURI_OP_RELEASE = 18,
	FURI_OP_FSYNC = 20, FURI_OP_SETXATTR = 21, FURI_OP_GETXATTR = 22,
	FURI_OP_LISTXATTR = 23, FURI_OP_REMOVEXATTR = 24, FURI_OP_FLUSH = 25,
	FURI_OP_OPENDIR = 27, FURI_OP_READDIR = 28, FURI_OP_RELEASEDIR = 29,
	FURI_OP_FSYNCDIR = 30, FURI_OP_GETLK = 31, FURI_OP_SETLK = 32, FURI_OP_SETLKW = 33,
	FURI_OP_ACCESS = 34, FURI_OP_CREATE = 35, FURI_OP_BMAP = 37, FURI_OP_IOCTL = 39,
	FURI_OP_POLL = 40, FURI_OP_FALLOCATE = 43, FURI_OP_READDIRPLUS = 44,
	FURI_OP_RENAME2 = 45, FURI_OP_LSEEK = 46, FURI_OP_COPY_FILE_RANGE = 47,
	FURI_OP_SYNCFS = 50, FURI_OP_TMPFILE = 51, FURI_OP_STATX = 52,
	FURI_OP_COPY_FILE_RANGE_64 = 53,
};
#define FURI_BLOCKS(op)		(1ULL << (op))
#define FURI_BLOCKS_ALL		(~0ULL)
/* Helper threads for blocking handlers, at most, per session. */
#define FURI_BLOCKING_THREADS_MAX 64

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */
/* ------------------------------------------------------------------------ */

/** The fs pointer given to furi_session_new(). */
void *furi_req_fs(struct furi_req *req);
/** The caller of the request. */
const struct furi_ctx *furi_req_ctx(struct furi_req *req);
/** The session the request belongs to. */
struct furi_session *furi_req_session(struct furi_req *req);
/** The kernel's opcode (FUSE_* number), for logging. */
unsigned furi_req_opcode(struct furi_req *req);

/*
 * The reply area of this request: data written here and answered with
 * furi_reply_data() reaches the kernel without another copy in userspace.
 * *size receives its capacity, which is at least the size the READ,
 * READDIR, GETXATTR or LISTXATTR asked for.
 */
void *furi_req_payload(struct furi_req *req, size_t *size);

/*
 * true once the kernel has asked to interrupt this request, or the session
 * is ending (unmounted, aborted): a handler that waits should stop.
 */
bool furi_req_interrupted(struct furi_req *req);
/*
 * Call fn (from another thread) when the kernel interrupts this request,
 * or at once if it already has. The handler still replies exactly once,
 * typically with EINTR. Only requests that may wait long (SETLKW, a read
 * that waits for data) need it. This works on both transports: the kernel
 * sends FUSE_INTERRUPT over /dev/fuse even for a request it gave to an
 * io_uring queue, and the reply goes back through that queue.
 */
void furi_req_on_interrupt(struct furi_req *req,
			   void (*fn)(struct furi_req *req, void *arg), void *arg);

/* ------------------------------------------------------------------------ */
/* Replies: exactly one per request; any thread                             */
/* ------------------------------------------------------------------------ */

/** Answer with an error number (positive errno), or 0 for success without data. */
void furi_reply_err(struct furi_req *req, int err);
/** lookup, mknod, mkdir, symlink, link. */
void furi_reply_entry(struct furi_req *req, const struct furi_entry *e);
/** create, tmpfile. */
void furi_reply_create(struct furi_req *req, const struct furi_entry *e,
		       const struct furi_open *fo);
/** getattr, setattr. */
void furi_reply_attr(struct furi_req *req, const struct stat *st, double timeout);
void furi_reply_readlink(struct furi_req *req, const char *target);
/** open, opendir. */
void furi_reply_open(struct furi_req *req, const struct furi_open *fo);
/** write: bytes written. */
void furi_reply_write(struct furi_req *req, size_t count);
/** read, getxattr, listxattr: data from anywhere (copied once if needed). */
void furi_reply_buf(struct furi_req *req, const void *buf, size_t size);
/** read, getxattr, listxattr: size bytes already in furi_req_payload(). */
void furi_reply_data(struct furi_req *req, size_t size);
void furi_reply_statfs(struct furi_req *req, const struct statvfs *st);
/** getxattr/listxattr with size 0. */
void furi_reply_xattr_size(struct furi_req *req, size_t size);
/** getlk: the conflicting lock, or l_type F_UNLCK. */
void furi_reply_lock(struct furi_req *req, const struct flock *lock);
void furi_reply_lseek(struct furi_req *req, uint64_t off);
/** copy_file_range: bytes copied. */
void furi_reply_copy(struct furi_req *req, uint64_t count);
/**
 * statx: the fields stx->stx_mask marks valid (at least the basic ones the
 * kernel asked for; STATX_BTIME for stx_btime). An ino of 0 takes the
 * request's.
 */
void furi_reply_statx(struct furi_req *req, const struct statx *stx, double timeout);
/** ioctl: the ioctl's return value and size bytes for the caller (<= out_size). */
void furi_reply_ioctl(struct furi_req *req, int result, const void *buf, size_t size);
/**
 * Unrestricted ioctl only: ask the kernel to send the ioctl again with the
 * caller's memory at in_iov copied in and room for out_iov, for commands
 * whose argument points to more memory (at most FURI_IOCTL_MAX_IOV in
 * total). The addresses are the caller's.
 */
void furi_reply_ioctl_retry(struct furi_req *req, const struct iovec *in_iov, size_t in_count,
			    const struct iovec *out_iov, size_t out_count);
/** poll: the POLL* events ready. */
void furi_reply_poll(struct furi_req *req, unsigned revents);
/** bmap: the device block. */
void furi_reply_bmap(struct furi_req *req, uint64_t block);

/*
 * Directory listings, built in place in the reply area:
 *
 *	struct furi_dirbuf db;
 *	furi_dirbuf_init(&db, req, size);
 *	while (more && furi_dirbuf_add(&db, name, ino, mode, next_off))
 *		...;
 *	furi_reply_dirbuf(req, &db);
 *
 * add returns false, adding nothing, when the entry does not fit; for
 * readdirplus the lookup count must only be taken for entries that were
 * added, and never for "." and "..".
 */
struct furi_dirbuf {
	char *buf;
	size_t size;
	size_t used;
};
void furi_dirbuf_init(struct furi_dirbuf *db, struct furi_req *req, size_t size);
/** mode: only the S_IFMT bits matter. */
bool furi_dirbuf_add(struct furi_dirbuf *db, const char *name, uint64_t ino,
		     mode_t mode, uint64_t next_off);
bool furi_dirbuf_add_plus(struct furi_dirbuf *db, const char *name,
			  const struct furi_entry *e, uint64_t next_off);
void furi_reply_dirbuf(struct furi_req *req, const struct furi_dirbuf *db);

/* ------------------------------------------------------------------------ */
/* Backend I/O on the request's own queue                                   */
/* ------------------------------------------------------------------------ */

/*
 * On the io_uring transport these are submitted on the ring of the queue
 * that carries the request, from its own thread; the queue thread goes on
 * serving other requests and done() runs on it when the I/O completes.
 * Payload buffers are registered with the ring, so furi_io_read() lands
 * the data where the kernel takes the reply from and furi_io_write() sends
 * the WRITE data from where the kernel put it. Elsewhere (the /dev/fuse
 * transport, or a call from a thread that is not the queue's) the same call
 * runs the system call at once and calls done() before returning.
 *
 * res is what the system call returns: bytes, 0, or -errno. One furi_io_*
 * may be outstanding per request; done() normally replies.
 */
typedef void (*furi_io_done_fn)(struct furi_req *req, int res, void *arg);

/** pread(fd, payload, len, off) into the reply area; reply furi_reply_data(req, res). */
int furi_io_read(struct furi_req *req, int fd, size_t len, uint64_t off,
		 furi_io_done_fn done, void *arg);
/** pwrite(fd, data, len, off) where data is the write handler's data argument. */
int furi_io_write(struct furi_req *req, int fd, const void *data, size_t len,
		  uint64_t off, furi_io_done_fn done, void *arg);
int furi_io_fsync(struct furi_req *req, int fd, bool datasync,
		  furi_io_done_fn done, void *arg);
int furi_io_fallocate(struct furi_req *req, int fd, int mode, uint64_t off,
		      uint64_t len, furi_io_done_fn done, void *arg);

/* ------------------------------------------------------------------------ */
/* Notifications to the kernel                                              */
/* ------------------------------------------------------------------------ */

/*
 * The filesystem tells the kernel that its caches are stale, fills them,
 * or reads them. These go to /dev/fuse on both transports, from any
 * thread (a handler included) once furi_session_mount() has returned.
 * Each returns 0 or -errno: the kernel's refusal (ENOENT when it does not
 * cache that inode or name, ENOTDIR, ENOTEMPTY, EBUSY...), ENOSYS when
 * the kernel's protocol lacks the notification, ENOTCONN once the
 * session has ended. None waits for a request of the mount, so none can
 * deadlock a handler; but inval_entry and delete lock the parent
 * directory in the kernel, so a handler must not send them for the
 * directory its own request is working in (create, unlink, rename...).
 */

/*
 * Drop cached attributes of ino and, for off >= 0, its cached pages from
 * off on (len bytes, or to the end for len <= 0). off < 0: attributes only.
 */
int furi_notify_inval_inode(struct furi_session *se, uint64_t ino, int64_t off, int64_t len);
/** Drop the cached name in parent (the next access looks it up again). */
int furi_notify_inval_entry(struct furi_session *se, uint64_t parent, const char *name);
/** Mark the cached name expired but keep it for open files and cwds (7.38+). */
int furi_notify_expire_entry(struct furi_session *se, uint64_t parent, const char *name);
/*
 * name in parent was deleted behind the kernel's back: drop it and, if it
 * still names child, tell open files that child has no links left.
 */
int furi_notify_delete(struct furi_session *se, uint64_t parent, uint64_t child,
		       const char *name);
/*
 * Put size bytes at off into ino's page cache (growing its cached size if
 * they end past it), as if read from the filesystem.
 */
int furi_notify_store(struct furi_session *se, uint64_t ino, uint64_t off,
		      const void *data, size_t size);
/*
 * Called with the bytes the kernel held in ino's page cache from off on
 * (size may be less than asked, or 0: only cached pages, up to the cached
 * file size). Runs on a transport thread: it must not block.
 */
typedef void (*furi_retrieve_fn)(struct furi_session *se, uint64_t ino, uint64_t off,
				 const void *data, size_t size, void *arg);
/*
 * Ask for size bytes of ino's page cache from off; done(arg) is called
 * once with them, later, unless this returns an error. The reply arrives
 * as a request of its own, on the ring or /dev/fuse.
 */
int furi_notify_retrieve(struct furi_session *se, uint64_t ino, uint64_t off, size_t size,
			 furi_retrieve_fn done, void *arg);
/** Wake the pollers of the file whose poll handler was given kh. */
int furi_notify_poll(struct furi_session *se, uint64_t kh);
/*
 * Ask the kernel to send again every request it has handed to /dev/fuse
 * and not yet had answered (7.40+); the old ones' replies are then
 * dropped. For a server that lost requests.
 */
int furi_notify_resend(struct furi_session *se);
/* Invalidate every cached name of the mount at once (7.44+). */
int furi_notify_inc_epoch(struct furi_session *se);
/*
 * Ask the kernel to drop the unused names of these inodes, so that it
 * forgets the ones nothing holds (7.45+).
 */
int furi_notify_prune(struct furi_session *se, const uint64_t *inos, size_t count);

/*
 * FUSE passthrough: register fd as the backing file of an open file; put the
 * returned id (> 0) in furi_open.backing_id. Returns -errno on failure.
 */
int furi_backing_open(struct furi_session *se, int fd);
int furi_backing_close(struct furi_session *se, int backing_id);

/* ------------------------------------------------------------------------ */
/* Configuration and sessions                                               */
/* ------------------------------------------------------------------------ */

enum furi_transport {
	FURI_TRANSPORT_AUTO,	/* io_uring when the kernel offers it and every queue registers */
	FURI_TRANSPORT_URING,	/* io_uring or fail */
	FURI_TRANSPORT_LEGACY,	/* /dev/fuse only */
};

/* When io_uring queue threads run as SCHED_IDLE (see -o sched_idle). */
enum furi_sched_idle {
	FURI_SCHED_IDLE_AUTO,	/* while serving one request at a time, if it can switch back */
	FURI_SCHED_IDLE_ALWAYS,	/* always */
	FURI_SCHED_IDLE_NEVER,	/* never */
};

/* Where io_uring queue threads run (see -o pin). */
enum furi_pin {
	FURI_PIN_AUTO,		/* on their queues' CPUs, unless one alone is busy */
	FURI_PIN_ALWAYS,	/* on their queues' CPUs */
	FURI_PIN_NEVER,		/* wherever the scheduler puts them */
};

struct furi_config {
	/* mount */
	const char *fsname;		/* shown in /proc/mounts; default "furi" */
	const char *subtype;		/* type is "fuse.<subtype>"; default none */
	bool allow_other;		/* other users may access the mount */
	bool default_permissions;	/* the kernel checks modes and owners */
	bool read_only;			/* mount MS_RDONLY */
	bool suid;			/* honour setuid bits (default: nosuid) */
	bool dev;			/* honour device nodes (default: nodev) */
	unsigned long mount_flags;	/* more MS_* flags for mount(2): MS_NOATIME, MS_NOEXEC, ... */
	unsigned max_read;		/* 0: same as max_write */
	/*
	 * Unmount (lazily) when the server dies, even of SIGKILL, so that a
	 * crashed server leaves no dead mount (ENOTCONN) behind: a watcher
	 * process forked at mount time does it (as a user, with fusermount3).
	 */
	bool auto_unmount;
	/* INIT */
	unsigned max_write;		/* default 1 MiB (clamped to the kernel's page limit) */
	unsigned max_readahead;		/* 0: the kernel's offer */
	unsigned max_background;	/* 0: chosen from queues and depth */
	unsigned congestion_threshold;	/* 0: 3/4 of max_background */
	bool writeback_cache;
	/*
	 * Seconds a request may stay unanswered before the kernel aborts the
	 * connection (every waiting caller then gets ECONNABORTED, later ones
	 * ENOTCONN); 0: never. Protocol 7.43+ (Linux 6.14); the kernel checks
	 * every 15 s, so it acts between max(15, this) and that plus 15
	 * seconds, and caps it at sysctl fs.fuse.max_request_timeout if set.
	 */
	unsigned request_timeout;
	/* transport */
	enum furi_transport transport;
	unsigned queue_depth;		/* io_uring entries per queue, at most */
	unsigned queue_start;		/* entries a queue starts with (default 4); it
					 * registers more (doubling) while all are busy */
	unsigned long long max_buffers;	/* bytes of entry buffers the queues may grow to
					 * together; 0: no limit but queue_depth */
	unsigned uring_threads;		/* 0: one pinned thread per queue */
	unsigned legacy_threads;	/* /dev/fuse workers when legacy serves requests */
	unsigned spin_us;		/* busy-poll this long for the next request; 0 = off */
	unsigned io_spin_us;		/* busy-poll this long for backend I/O in flight; 0 = off */
	enum furi_sched_idle sched_idle;	/* queue threads' scheduling class */
	enum furi_pin pin;		/* queue threads' CPUs */
	/* observability */
	const char *status_name;	/* name in `furi status`; default fsname */
	const char *status_source;	/* what it serves, in `furi status`: a directory, an image */
	/*
	 * Log every request and reply (opcode, unique, nodeid, key arguments,
	 * result, the queue or /dev/fuse thread), as libfuse's -d does, through
	 * furi_log() at FURI_LOG_DEBUG, which furi_session_new() then enables.
	 * Off, it costs one predictable branch per request.
	 */
	bool debug;
};

/** Fill cfg with defaults. */
void furi_config_init(struct furi_config *cfg);
/*
 * Apply one mount option "key" or "key=value" (as from -o). Returns 0 on
 * success, -ENOENT when key is not a libfuri option (so the caller may try
 * its own), -EINVAL with a message in err when the value is bad. String
 * values point into opt, which must outlive cfg.
 */
int furi_config_set(struct furi_config *cfg, char *opt, char *err, size_t errlen);
/*
 * Apply one of mount(8)'s generic options (ro, nosuid, noatime, ...; the
 * ones furi_config_set() maps onto read_only, suid, dev and mount_flags)
 * to a set of MS_* flags for mount(2), as a remount needs. Returns 0, or
 * -ENOENT when opt is not one of them.
 */
int furi_mount_option(const char *opt, unsigned long *flags);
/** The help text of every option furi_config_set() knows. */
const char *furi_config_help(void);

/*
 * Create a session for ops/fs. On failure returns NULL with one line in err
 * saying what is wrong and how to fix it.
 */
struct furi_session *furi_session_new(const struct furi_config *cfg,
				      const struct furi_ops *ops, void *fs,
				      char *err, size_t errlen);
/*
 * Mount on mountpoint (mount(2) as root, fusermount3 otherwise), answer
 * INIT and start the transport. Returns once the filesystem is usable, 0 or
 * -errno with one line in err. An unmount before INIT was answered is no
 * error: 0, furi_session_transport_line() says "unmounted before it served
 * a request" and furi_session_wait() returns at once. Blocks SIGINT,
 * SIGTERM and SIGHUP in the calling thread (and so in every thread it
 * starts); furi_session_wait() takes them.
 */
int furi_session_mount(struct furi_session *se, const char *mountpoint,
		       char *err, size_t errlen);
/*
 * One line: which transport serves requests and, if not io_uring, why and
 * what would fix it.
 */
const char *furi_session_transport_line(struct furi_session *se);
/** true when io_uring queues serve requests. */
bool furi_session_uses_uring(struct furi_session *se);
/*
 * Serve until the filesystem is unmounted (umount, abort) or SIGINT,
 * SIGTERM or SIGHUP arrives, which unmounts it (lazily, so open files keep
 * working until closed). Returns 0, or -errno on a transport failure.
 */
int furi_session_wait(struct furi_session *se);
/** Ask furi_session_wait() to unmount and return; any thread. */
void furi_session_exit(struct furi_session *se);
/** Stop everything, unmount if still mounted, free. */
void furi_session_destroy(struct furi_session *se);

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

enum furi_log_level { FURI_LOG_ERR, FURI_LOG_WARN, FURI_LOG_INFO, FURI_LOG_DEBUG };
/** Send log lines to fn instead of stderr; NULL restores stderr. */
void furi_set_log(void (*fn)(enum furi_log_level level, const char *msg));
void furi_set_log_level(enum furi_log_level level);
void furi_log(enum furi_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif /* FURI_FURI_H */
