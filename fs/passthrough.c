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
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>		/* FS_IOC_GETFLAGS, FS_IOC_FSGETXATTR, struct fsxattr */
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "fs.h"

#define NSHARDS			64	/* inode table locks */
#define SHARD_MIN_BUCKETS	64
#define DEFAULT_TIMEOUT		1.0
#define DEFAULT_LEGACY_THREADS	16	/* see the help text and docs/PASSTHROUGH_BENCH.md */
#define MAX_CALLER_GROUPS	1024
#define PROC_STATUS_MAX		(32 * 1024)

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

struct pnode {
	struct pnode *hnext;		/* in its bucket */
	dev_t dev;
	ino_t ino;
	int fd;				/* O_PATH, or -1: reopened from handle for each call */
	struct file_handle *handle;	/* when fd is -1 */
	bool hashed;			/* in the table (a reused inode number unhashes it) */
	mode_t type;			/* S_IFMT bits */
	uint64_t generation;
	uint64_t nlookup;		/* under its shard's lock */
	_Atomic unsigned opens;		/* open files (struct pfile) on it */
	/* -o kernel_passthrough: the kernel wants one backing file per inode */
	int backing_id;
	unsigned backing_users;
};

struct shard {
	pthread_mutex_t lock;
	struct pnode **buckets;
	size_t nbuckets;
	size_t count;
};

/* An open file. */
struct pfile {
	int fd;				/* opened for the caller */
	_Atomic int fd_twin;		/* see twin_fd(); -1 until needed */
	int flags;			/* of fd */
	unsigned dio_align;		/* offset and size alignment of the source's O_DIRECT */
	struct pnode *node;
	int backing_id;			/* kernel passthrough, 0 if none */
};

/* An open directory. */
struct pdir {
	pthread_mutex_t lock;
	DIR *dp;
	long offset;			/* where dp stands */
	struct dirent *entry;		/* read but not yet sent: it did not fit */
};

struct passthrough {
	char source[PATH_MAX];
	struct pnode root;
	int proc_fd;			/* /proc/self/fd, for reopening O_PATH descriptors */
	struct shard shards[NSHARDS];
	_Atomic uint64_t next_generation;

	/* options */
	double attr_timeout, entry_timeout, negative_timeout;
	bool keep_cache;
	bool direct_io;			/* FOPEN_DIRECT_IO on every open */
	bool source_direct_reads;	/* aligned reads of buffered opens bypass the source's cache */
	bool kernel_passthrough;
	bool no_killpriv_v2;		/* measurement aid: let the kernel kill privileges */
	bool no_acl;
	bool threads_set;

	/* found out in prepare / init */
	bool switch_creds;		/* running as root: calls run as the caller */
	bool source_acl;		/* the source stores POSIX ACLs */
	bool writeback;			/* the kernel caches writes (negotiated) */
	bool posix_acl;			/* the kernel enforces ACLs (negotiated) */
	uid_t server_uid;
	gid_t server_gid;
	int server_ngroups;
	gid_t *server_groups;
	pthread_mutex_t backing_lock;
	_Atomic bool emfile_logged;
	/* nodes keep an O_PATH descriptor while fewer than max_node_fds do */
	_Atomic long node_fds;
	long max_node_fds;
	long max_pinned_fds;		/* and pinned nodes (see pin_before_remove) up to this */
	int mount_fd;			/* the source root opened for reading, for open_by_handle_at */
	int mount_id;			/* its mount: nodes elsewhere keep their descriptor */
};

static struct passthrough *req_fs(struct furi_req *req)
{
	return furi_req_fs(req);
}

static struct pnode *node_of(struct passthrough *fs, uint64_t nodeid)
{
	if (nodeid == FURI_ROOT_INO)
		return &fs->root;
	return (struct pnode *)(uintptr_t)nodeid;
}

static uint64_t nodeid_of(struct passthrough *fs, struct pnode *n)
{
	return n == &fs->root ? FURI_ROOT_INO : (uint64_t)(uintptr_t)n;
}

static struct pfile *pfile_of(uint64_t fh)
{
	return (struct pfile *)(uintptr_t)fh;
}

/* "/proc/self/fd/N" relative to fs->proc_fd. */
static void fd_name(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "%d", fd);
}

static void fd_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* Running out of descriptors is the one resource error worth a log line. */
static int note_errno(struct passthrough *fs, int e)
{
	if ((e == EMFILE || e == ENFILE) && !atomic_exchange(&fs->emfile_logged, true)) {
		struct rlimit rl = { 0, 0 };

		getrlimit(RLIMIT_NOFILE, &rl);
		furi_log(FURI_LOG_ERR,
			 "passthrough: out of file descriptors (%s, limit %llu): the kernel keeps "
			 "an inode for every name it caches; raise the hard limit (ulimit -Hn, "
			 "LimitNOFILE=) or lower -o entry_timeout", e == EMFILE ? "process" : "system",
			 (unsigned long long)rl.rlim_cur);
	}
	return e;
}

/* ------------------------------------------------------------------------ */
/* Credentials of the caller                                                */
/* ------------------------------------------------------------------------ */

static __thread bool thread_fs_private;	/* this thread has its own umask */
static __thread bool thread_fs_tried;
static __thread char *status_buf;		/* /proc/PID/status, read per request */

/* The 4th id (the fs one) of the "Uid:" or "Gid:" line of a status file. */
static bool status_fsid(const char *status, const char *key, unsigned long *id)
{
	const char *p = strstr(status, key);
	char *end;
	int i;

	if (!p)
		return false;
	p += strlen(key);
	for (i = 0; i < 4; i++, p = end) {
		*id = strtoul(p, &end, 10);
		if (end == p)
			return false;
	}
	return true;
}

/*
 * The supplementary groups of the caller from /proc (FUSE sends only uid
 * and gid). pid is the calling thread's; its fsuid and fsgid there must be
 * the request's, or the pid is no longer the caller's and no group is taken.
 */
static int caller_groups(pid_t pid, uid_t uid, gid_t gid, gid_t *groups, int max)
{
	char path[64], *p, *end;
	unsigned long fsuid, fsgid;
	ssize_t n;
	int fd, count = 0;

	if (pid <= 0)
		return 0;
	if (!status_buf && !(status_buf = malloc(PROC_STATUS_MAX)))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, status_buf, PROC_STATUS_MAX - 1);
	close(fd);
	if (n <= 0)
		return 0;
	status_buf[n] = '\0';
	if (!status_fsid(status_buf, "\nUid:", &fsuid) || fsuid != uid ||
	    !status_fsid(status_buf, "\nGid:", &fsgid) || fsgid != gid)
		return 0;
	p = strstr(status_buf, "\nGroups:");
	if (!p)
		return 0;
	p += 8;
	while (count < max) {
		unsigned long g = strtoul(p, &end, 10);

		if (end == p)
			break;
		groups[count++] = (gid_t)g;
		p = end;
	}
	return count;
}

struct creds {
	bool switched;
};

/*
 * Become the caller for the calls that follow, on this thread only. A root
 * caller with group 0 needs no switch: the server is root too. Returns 0,
 * or an errno when the switch did not take (the call must then not run,
 * lest it run with the server's rights).
 */
static int creds_enter(struct passthrough *fs, struct furi_req *req, struct creds *c)
{
	const struct furi_ctx *ctx = furi_req_ctx(req);
	gid_t groups[MAX_CALLER_GROUPS];
	int n;

	c->switched = false;
	if (!fs->switch_creds || (ctx->uid == fs->server_uid && ctx->gid == fs->server_gid))
		return 0;
	n = caller_groups(ctx->pid, ctx->uid, ctx->gid, groups, MAX_CALLER_GROUPS - 1);
	if (ctx->supp_gid != (gid_t)-1)
		groups[n++] = ctx->supp_gid;
	c->switched = true;
	if (syscall(SYS_setgroups, (size_t)n, groups))
		return EPERM;
	syscall(SYS_setfsgid, ctx->gid);
	syscall(SYS_setfsuid, ctx->uid);
	/* setfsuid reports no error: read it back before trusting it. */
	if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != ctx->uid ||
	    (gid_t)syscall(SYS_setfsgid, (gid_t)-1) != ctx->gid)
		return EPERM;
	return 0;
}

static void creds_leave(struct passthrough *fs, struct creds *c)
{
	if (!c->switched)
		return;
	syscall(SYS_setfsuid, fs->server_uid);
	syscall(SYS_setfsgid, fs->server_gid);
	syscall(SYS_setgroups, (size_t)fs->server_ngroups, fs->server_groups);
	c->switched = false;
}

/*
 * Creations get the caller's umask from the thread's own fs_struct, so the
 * source applies it, or a default ACL of the parent instead, as it would
 * for the caller. Returns the mode to pass: already masked when the thread
 * could not get a private umask.
 */
static mode_t creation_mode(struct furi_req *req, mode_t mode)
{
	mode_t um = furi_req_ctx(req)->umask;

	if (!thread_fs_tried) {
		thread_fs_tried = true;
		thread_fs_private = unshare(CLONE_FS) == 0;
		if (!thread_fs_private)
			furi_log(FURI_LOG_WARN, "passthrough: unshare(CLONE_FS): %s; default ACLs "
				 "are not inherited", strerror(errno));
	}
	if (!thread_fs_private)
		return mode & ~um;
	umask(um);
	return mode;
}

/* ------------------------------------------------------------------------ */
/* The inode table                                                          */
/* ------------------------------------------------------------------------ */

static uint64_t key_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4fULL;

	return h ^ (h >> 29);
}

static struct shard *shard_of(struct passthrough *fs, uint64_t h)
{
	return &fs->shards[h % NSHARDS];
}

static size_t bucket_of(const struct shard *s, uint64_t h)
{
	return (size_t)(h / NSHARDS) & (s->nbuckets - 1);
}

static void shard_grow(struct shard *s)
{
	size_t nb = s->nbuckets * 2, i;
	struct pnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return;		/* longer chains, still correct */
	for (i = 0; i < s->nbuckets; i++) {
		struct pnode *n = s->buckets[i], *next;

		for (; n; n = next) {
			size_t j = (size_t)(key_hash(n->dev, n->ino) / NSHARDS) & (nb - 1);

			next = n->hnext;
			n->hnext = b[j];
			b[j] = n;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
}

static struct pnode *shard_find(struct shard *s, uint64_t h, dev_t dev, ino_t ino)
{
	struct pnode *n;

	for (n = s->buckets[bucket_of(s, h)]; n; n = n->hnext)
		if (n->ino == ino && n->dev == dev)
			return n;
	return NULL;
}

/*
 * Give n a file handle instead of the descriptor fd, when too many nodes
 * hold one already: the kernel may cache more inodes than the process may
 * open files. Returns true if fd is no longer needed.
 */
static bool node_use_handle(struct passthrough *fs, struct pnode *n, int fd)
{
	struct file_handle *h;
	int mount_id;

	if (atomic_load_explicit(&fs->node_fds, memory_order_relaxed) < fs->max_node_fds ||
	    fs->mount_fd < 0)
		return false;
	h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
	if (!h)
		return false;
	h->handle_bytes = MAX_HANDLE_SZ;
	/* No handles on this filesystem, or another mount below the source: keep the descriptor. */
	if (name_to_handle_at(fd, "", h, &mount_id, AT_EMPTY_PATH) || mount_id != fs->mount_id) {
		free(h);
		return false;
	}
	n->handle = h;
	n->fd = -1;
	return true;
}

/*
 * Whether fd is the inode n has a handle of. A node without a descriptor
 * does not keep its inode alive: once unlinked and freed on the source,
 * its number may come back for another file, which the handle (it holds
 * the inode's generation) tells apart.
 */
static bool node_is(struct pnode *n, int fd)
{
	union {
		struct file_handle h;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	int mount_id;

	if (!n->handle)
		return true;
	u.h.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", &u.h, &mount_id, AT_EMPTY_PATH))
		return true;
	return u.h.handle_bytes == n->handle->handle_bytes &&
	       u.h.handle_type == n->handle->handle_type &&
	       !memcmp(u.h.f_handle, n->handle->f_handle, u.h.handle_bytes);
}

static void shard_unhash(struct shard *s, uint64_t h, struct pnode *n)
{
	struct pnode **pp;

	for (pp = &s->buckets[bucket_of(s, h)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == n) {
			*pp = n->hnext;
			s->count--;
			n->hashed = false;
			return;
		}
	}
}

/*
 * The node of (st->st_dev, st->st_ino) with one more lookup reference;
 * *fd (an O_PATH descriptor of it) becomes the node's when the node is new
 * and is closed otherwise. NULL on ENOMEM.
 */
static struct pnode *node_get(struct passthrough *fs, const struct stat *st, int *fd)
{
	uint64_t h = key_hash(st->st_dev, st->st_ino);
	struct shard *s = shard_of(fs, h);
	struct pnode *n;

	pthread_mutex_lock(&s->lock);
	n = shard_find(s, h, st->st_dev, st->st_ino);
	if (n && !node_is(n, *fd)) {
		/* The old inode is gone; the kernel keeps its node until it forgets it. */
		shard_unhash(s, h, n);
		n = NULL;
	}
	if (n) {
		n->nlookup++;
		pthread_mutex_unlock(&s->lock);
		close(*fd);
		*fd = -1;
		return n;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->fd = *fd;
	n->type = st->st_mode & S_IFMT;
	n->generation = atomic_fetch_add(&fs->next_generation, 1);
	n->nlookup = 1;
	if (node_use_handle(fs, n, *fd))
		close(*fd);
	else
		atomic_fetch_add(&fs->node_fds, 1);
	*fd = -1;
	if (s->count + 1 > 2 * s->nbuckets)
		shard_grow(s);
	n->hnext = s->buckets[bucket_of(s, h)];
	s->buckets[bucket_of(s, h)] = n;
	s->count++;
	n->hashed = true;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void node_free(struct passthrough *fs, struct pnode *n)
{
	if (n->fd >= 0) {
		close(n->fd);
		atomic_fetch_sub(&fs->node_fds, 1);
	}
	free(n->handle);
	free(n);
}

/* Drop count lookup references; the node goes when none is left. */
static void node_put(struct passthrough *fs, struct pnode *n, uint64_t count)
{
	uint64_t h;
	struct shard *s;

	if (n == &fs->root)
		return;
	h = key_hash(n->dev, n->ino);
	s = shard_of(fs, h);
	pthread_mutex_lock(&s->lock);
	n->nlookup = count < n->nlookup ? n->nlookup - count : 0;
	if (n->nlookup) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (n->hashed)
		shard_unhash(s, h, n);
	pthread_mutex_unlock(&s->lock);
	node_free(fs, n);
}

static int stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ? errno : 0;
}

static void entry_fill(struct passthrough *fs, struct pnode *n, const struct stat *st,
		       struct furi_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = nodeid_of(fs, n);
	e->generation = n->generation;
	e->attr = *st;
	e->attr_timeout = fs->attr_timeout;
	e->entry_timeout = fs->entry_timeout;
}

/* The node behind the O_PATH descriptor fd, with a lookup reference. fd is consumed. */
static int node_from_fd(struct passthrough *fs, int fd, struct furi_entry *e)
{
	struct stat st;
	struct pnode *n;
	int err = stat_fd(fd, &st);

	if (err) {
		close(fd);
		return err;
	}
	n = node_get(fs, &st, &fd);
	if (!n) {
		close(fd);
		return ENOMEM;
	}
	entry_fill(fs, n, &st, e);
	return 0;
}

/* Names the kernel may send are single components; anything else would escape the node. */
static bool bad_name(const char *name)
{
	return strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..");
}

static int do_lookup(struct passthrough *fs, int dirfd, const char *name, struct furi_entry *e)
{
	int fd;

	if (bad_name(name))
		return EINVAL;
	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return note_errno(fs, errno);
	return node_from_fd(fs, fd, e);
}

/* An O_PATH descriptor of what the open file fd is. */
static int path_fd_of(struct passthrough *fs, int fd)
{
	char name[32];
	int r;

	fd_name(name, sizeof(name), fd);
	r = openat(fs->proc_fd, name, O_PATH | O_CLOEXEC);
	return r < 0 ? -note_errno(fs, errno) : r;
}

/*
 * One call: O_PATH descriptors of up to two nodes, then the caller's
 * credentials. The descriptors come first because reopening a node from
 * its handle needs CAP_DAC_READ_SEARCH, which a caller's fsuid drops.
 */
struct call {
	struct passthrough *fs;
	int fd[2];
	bool temp[2];
	struct creds c;
};

static int node_fd(struct passthrough *fs, struct pnode *n, int *fd, bool *temp)
{
	*temp = false;
	*fd = __atomic_load_n(&n->fd, __ATOMIC_ACQUIRE);	/* see pin_before_remove */
	if (*fd >= 0)
		return 0;
	*fd = open_by_handle_at(fs->mount_fd, n->handle, O_PATH | O_CLOEXEC);
	if (*fd < 0)
		return note_errno(fs, errno);
	*temp = true;
	return 0;
}

static int call_begin(struct call *k, struct furi_req *req, struct pnode *a, struct pnode *b,
		      bool as_caller)
{
	struct passthrough *fs = req_fs(req);
	int err = 0;

	memset(k, 0, sizeof(*k));
	k->fs = fs;
	k->fd[0] = k->fd[1] = -1;
	if (a)
		err = node_fd(fs, a, &k->fd[0], &k->temp[0]);
	if (!err && b)
		err = node_fd(fs, b, &k->fd[1], &k->temp[1]);
	if (!err && as_caller)
		err = creds_enter(fs, req, &k->c);
	return err;
}

static void call_end(struct call *k)
{
	int i;

	creds_leave(k->fs, &k->c);
	for (i = 0; i < 2; i++)
		if (k->temp[i])
			close(k->fd[i]);
	k->temp[0] = k->temp[1] = false;
}

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
	int err = call_begin(&k, req, node_of(fs, parent), NULL, true);

	if (!err)
		err = do_lookup(fs, k.fd[0], name, &e);
	call_end(&k);
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

	node_put(fs, node_of(fs, ino), nlookup);
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

	if (bad_name(name)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	err = call_begin(&k, req, node_of(fs, parent), NULL, true);
	if (!err) {
		switch (a->kind) {
		case MK_NOD:
			r = mknodat(k.fd[0], name, creation_mode(req, a->mode), a->rdev);
			break;
		case MK_DIR:
			r = mkdirat(k.fd[0], name, creation_mode(req, a->mode));
			break;
		default:
			r = symlinkat(a->target, k.fd[0], name);
			break;
		}
		err = r ? errno : do_lookup(fs, k.fd[0], name, &e);
	}
	call_end(&k);
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

	if (bad_name(newname)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	err = call_begin(&k, req, node_of(fs, ino), node_of(fs, newparent), true);
	if (!err) {
		/*
		 * linkat(AT_EMPTY_PATH) wants CAP_DAC_READ_SEARCH, which a
		 * caller's fsuid drops; the /proc link is open to every caller.
		 */
		fd_path(path, sizeof(path), k.fd[0]);
		if (linkat(AT_FDCWD, path, k.fd[1], newname, AT_SYMLINK_FOLLOW))
			err = errno;
		else
			err = do_lookup(fs, k.fd[1], newname, &e);
	}
	call_end(&k);
	reply_entry(req, err, &e);
}

/*
 * An unlinked inode the kernel still knows (an open file, a cwd) must stay
 * on the source as it does for a local process: a node that only has a
 * handle gets a descriptor before its name goes (the source resolves no
 * handle of an inode without names). Called with server credentials; a
 * name that is not there, or not known, needs nothing. Nor does a file that
 * keeps another name, or one nobody has open: the kernel forgets it after
 * the unlink. Pinned regardless, every file of a mass delete held a
 * descriptor until its FORGET came, and under a 1024 file limit a
 * directory of 10 000 once ran out (EMFILE for the parent of an unlink).
 * Directories (a cwd holds one without an open) are pinned while pins stay
 * under max_pinned_fds, and so are open files: past it the server keeps
 * descriptors for its calls, and such a node answers ESTALE.
 */
static void pin_before_remove(struct passthrough *fs, int dirfd, const char *name)
{
	struct stat st;
	struct pnode *n;
	struct shard *s;
	uint64_t h;
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	if (stat_fd(fd, &st)) {
		close(fd);
		return;
	}
	h = key_hash(st.st_dev, st.st_ino);
	s = shard_of(fs, h);
	pthread_mutex_lock(&s->lock);
	n = shard_find(s, h, st.st_dev, st.st_ino);
	if (n && n->fd < 0 && node_is(n, fd) &&
	    atomic_load(&fs->node_fds) < fs->max_pinned_fds &&
	    (S_ISDIR(st.st_mode) || (st.st_nlink <= 1 && atomic_load(&n->opens) > 0))) {
		__atomic_store_n(&n->fd, fd, __ATOMIC_RELEASE);
		atomic_fetch_add(&fs->node_fds, 1);
		fd = -1;
	}
	pthread_mutex_unlock(&s->lock);
	if (fd >= 0)
		close(fd);
}

static void remove_name(struct furi_req *req, uint64_t parent, const char *name, int flags)
{
	struct passthrough *fs = req_fs(req);
	struct call k;
	int err;

	if (bad_name(name)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	err = call_begin(&k, req, node_of(fs, parent), NULL, false);
	if (!err && atomic_load(&fs->node_fds) >= fs->max_node_fds)
		pin_before_remove(fs, k.fd[0], name);
	if (!err)
		err = creds_enter(fs, req, &k.c);
	if (!err && unlinkat(k.fd[0], name, flags))
		err = errno;
	call_end(&k);
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

	if (bad_name(name) || bad_name(newname)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	err = call_begin(&k, req, node_of(fs, parent), node_of(fs, newparent), false);
	/* A replaced target may lose its last name. */
	if (!err && !(flags & RENAME_EXCHANGE) &&
	    atomic_load(&fs->node_fds) >= fs->max_node_fds)
		pin_before_remove(fs, k.fd[1], newname);
	if (!err)
		err = creds_enter(fs, req, &k.c);
	if (!err && renameat2(k.fd[0], name, k.fd[1], newname, flags))
		err = errno;
	call_end(&k);
	furi_reply_err(req, err);
}

static void pt_readlink(struct furi_req *req, uint64_t ino)
{
	char buf[PATH_MAX + 1];
	struct call k;
	ssize_t n = -1;
	int err = call_begin(&k, req, node_of(req_fs(req), ino), NULL, false);

	if (!err && (n = readlinkat(k.fd[0], "", buf, sizeof(buf) - 1)) < 0)
		err = errno;
	call_end(&k);
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
		err = call_begin(&k, req, node_of(fs, ino), NULL, false);
		if (!err)
			err = stat_fd(k.fd[0], &st);
		call_end(&k);
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
		err = call_begin(&k, req, node_of(fs, ino), NULL, false);
		if (!err && statx(k.fd[0], "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | sync, want, &stx))
			err = errno;
		call_end(&k);
	}
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_statx(req, &stx, fs->attr_timeout);
}

/*
 * Clear suid, sgid (when group-executable) and file capabilities, as the
 * source does when someone without CAP_FSETID writes: with
 * HANDLE_KILLPRIV_V2 the kernel leaves it to us, and our data path runs as
 * the server. fd must be a real (not O_PATH) descriptor.
 */
static void kill_privs(int fd)
{
	struct stat st;
	mode_t m, drop;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return;
	m = st.st_mode;
	drop = (m & S_ISUID) | ((m & S_IXGRP) ? (m & S_ISGID) : 0);
	if (drop && fchmod(fd, m & 07777 & ~drop))
		furi_log(FURI_LOG_WARN, "passthrough: clearing suid/sgid: %s", strerror(errno));
	if (fremovexattr(fd, "security.capability") && errno != ENODATA && errno != EOPNOTSUPP)
		furi_log(FURI_LOG_DEBUG, "passthrough: clearing file capabilities: %s",
			 strerror(errno));
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

	if (!(a->valid & FURI_SET_MODE) || n->type != S_IFREG || stat_fd(pfd, &st))
		return false;
	return (st.st_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID)) == (a->mode & 07777) &&
	       (st.st_mode & 07777) != (a->mode & 07777);
}

static int apply_setattr(struct passthrough *fs, struct pnode *n, int pfd,
			 const struct furi_setattr *a, bool mode_done, bool times_done)
{
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
			kill_privs(wfd);
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
	int err = call_begin(&k, req, n, NULL, false);

	if (!err && (mode_srv = mode_as_server(n, k.fd[0], a)))
		err = set_mode(n, k.fd[0], fd, a->mode & 07777);
	if (!err)
		err = creds_enter(fs, req, &k.c);
	if (!err)
		err = apply_setattr(fs, n, k.fd[0], a, mode_srv, times_srv);
	creds_leave(fs, &k.c);
	if (!err && times_srv)
		err = set_times(k.fd[0], fd, a);
	if (!err)
		err = stat_fd(k.fd[0], &st);
	call_end(&k);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_attr(req, &st, fs->attr_timeout);
}

static void pt_access(struct furi_req *req, uint64_t ino, int mask)
{
	struct call k;
	int err = call_begin(&k, req, node_of(req_fs(req), ino), NULL, true);

	/* AT_EACCESS: judge by the fsuid we switched to, not the real uid. */
	if (!err && syscall(SYS_faccessat2, k.fd[0], "", mask, AT_EACCESS | AT_EMPTY_PATH))
		err = errno;
	call_end(&k);
	furi_reply_err(req, err);
}

static void pt_statfs(struct furi_req *req, uint64_t ino)
{
	struct statvfs st;
	struct call k;
	int err = call_begin(&k, req, node_of(req_fs(req), ino), NULL, false);

	if (!err && fstatvfs(k.fd[0], &st))
		err = errno;
	call_end(&k);
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
	int err = call_begin(&k, req, node_of(req_fs(req), ino), NULL, true);

	/* ACL_KILL_SGID: the source clears sgid itself, judging the caller we run as. */
	(void)setxattr_flags;
	fd_path(path, sizeof(path), k.fd[0]);
	if (!err && setxattr(path, name, value, size, flags))
		err = errno;
	call_end(&k);
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
	int err = call_begin(&k, req, node_of(req_fs(req), ino), NULL, true);

	fd_path(path, sizeof(path), k.fd[0]);
	/* name may live in the reply area: the kernel reads it before writing the value. */
	if (!err) {
		n = getxattr(path, name, size ? furi_req_payload(req, NULL) : NULL, size);
		err = n < 0 ? errno : 0;
	}
	call_end(&k);
	xattr_reply(req, n, err, size);
}

static void pt_listxattr(struct furi_req *req, uint64_t ino, size_t size)
{
	char path[64];
	struct call k;
	ssize_t n = -1;
	int err = call_begin(&k, req, node_of(req_fs(req), ino), NULL, true);

	fd_path(path, sizeof(path), k.fd[0]);
	if (!err) {
		n = listxattr(path, size ? furi_req_payload(req, NULL) : NULL, size);
		err = n < 0 ? errno : 0;
	}
	call_end(&k);
	xattr_reply(req, n, err, size);
}

static void pt_removexattr(struct furi_req *req, uint64_t ino, const char *name)
{
	char path[64];
	struct call k;
	int err = call_begin(&k, req, node_of(req_fs(req), ino), NULL, true);

	fd_path(path, sizeof(path), k.fd[0]);
	if (!err && removexattr(path, name))
		err = errno;
	call_end(&k);
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
	creds_leave(fs, c);
	fd = openat(fs->proc_fd, name, flags & ~O_TRUNC);
	fd = fd < 0 ? -errno : fd;
	close(wfd);
	return fd;
}

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
	struct call k;
	int fd = -1, err = call_begin(&k, req, n, NULL, true);

	fd_name(name, sizeof(name), k.fd[0]);
	if (!err) {
		fd = openat(fs->proc_fd, name, flags);
		if (fd < 0 && errno == EACCES && fs->writeback &&
		    (fo->flags & O_ACCMODE) == O_WRONLY)
			fd = open_write_only_fallback(fs, name, flags, &k.c);
		else if (fd < 0)
			fd = -errno;
		if (fd < 0)
			err = note_errno(fs, -fd);
	}
	call_end(&k);
	if (!err && fo->kill_suidgid)
		kill_privs(fd);
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
	int pfd = path_fd_of(fs, fd);
	int err;

	if (pfd < 0)
		return -pfd;
	err = node_from_fd(fs, pfd, e);
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

	if (name && bad_name(name)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	err = call_begin(&k, req, node_of(fs, parent), NULL, true);
	if (!err) {
		mode = creation_mode(req, mode);
		if (name)
			fd = openat(k.fd[0], name, flags | O_CREAT | (fo->flags & O_EXCL), mode);
		else
			fd = openat(k.fd[0], ".", flags | O_TMPFILE, mode);
		if (fd < 0)
			err = note_errno(fs, errno);
	}
	call_end(&k);
	if (!err)
		err = created_entry(fs, fd, &n, &e);
	if (!err) {
		err = handle_new(fs, req, n, fd, flags, fo);
		fd = -1;
		if (err)
			node_put(fs, n, 1);
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

	(void)ino;
	if (write_flags & FURI_WRITE_KILL_SUIDGID)
		kill_privs(pf->fd);
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
static void kill_privs_for(struct furi_req *req, int fd)
{
	if (furi_req_ctx(req)->uid != 0)
		kill_privs(fd);
}

static void pt_fallocate(struct furi_req *req, uint64_t ino, uint64_t fh, int mode,
			 uint64_t off, uint64_t len)
{
	struct pfile *pf = pfile_of(fh);

	(void)ino;
	kill_privs_for(req, pf->fd);
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

	(void)ino_in, (void)ino_out;
	kill_privs_for(req, out->fd);
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
	err = call_begin(&k, req, node_of(fs, ino), NULL, true);
	fd_name(name, sizeof(name), k.fd[0]);
	if (!err && (fd = openat(fs->proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		err = note_errno(fs, errno);
	call_end(&k);
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

	if (is_dot(de->d_name) || do_lookup(fs, dirfd, de->d_name, &e)) {
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = de->d_ino;
		e.attr.st_mode = (mode_t)DTTOIF(de->d_type);
		return furi_dirbuf_add_plus(db, de->d_name, &e, (uint64_t)de->d_off);
	}
	ok = furi_dirbuf_add_plus(db, de->d_name, &e, (uint64_t)de->d_off);
	if (!ok)
		node_put(fs, node_of(fs, e.ino), 1);	/* not sent: no reference taken */
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
	int err = call_begin(&k, req, plus ? node_of(fs, ino) : NULL, NULL, plus);

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
	call_end(&k);
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
	int fd = -1, err = call_begin(&k, req, node_of(fs, ino), NULL, false);

	/* syncfs takes no O_PATH descriptor: open the node itself. */
	fd_name(name, sizeof(name), k.fd[0]);
	if (!err && (fd = openat(fs->proc_fd, name, O_RDONLY | O_CLOEXEC)) < 0)
		err = note_errno(fs, errno);
	call_end(&k);
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
	err = call_begin(&k, req, NULL, NULL, set);
	if (!err && ioctl(fd, cmd, &v) < 0)
		err = errno;
	call_end(&k);
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
	/* Locks stay in the kernel (see the header comment). */
	conn->want &= ~(FURI_CAP_POSIX_LOCKS | FURI_CAP_FLOCK_LOCKS | FURI_CAP_HANDLE_KILLPRIV |
			FURI_CAP_EXPORT_SUPPORT);
	conn->time_gran = 1;
	fs->writeback = conn->want & conn->capable & FURI_CAP_WRITEBACK_CACHE;
	fs->posix_acl = conn->want & conn->capable & FURI_CAP_POSIX_ACL;
}

static const struct furi_ops passthrough_ops = {
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

/* ------------------------------------------------------------------------ */
/* Options and lifetime                                                     */
/* ------------------------------------------------------------------------ */

static int opt_seconds(double *field, const char *key, const char *val, char *err, size_t errlen)
{
	char *end;
	double v = val && *val ? strtod(val, &end) : -1;

	if (!val || !*val || *end || !isfinite(v) || v < 0 || v > 1e9) {
		snprintf(err, errlen, "bad value for -o %s: '%s' (expected seconds, like 1 or 0.5)",
			 key, val ? val : "");
		return -EINVAL;
	}
	*field = v;
	return 0;
}

static int opt_flag(bool *field, const char *key, const char *val, char *err, size_t errlen)
{
	if (val) {
		snprintf(err, errlen, "-o %s takes no value (got '%s')", key, val);
		return -EINVAL;
	}
	*field = true;
	return 0;
}

static int pt_set_option(void *fsp, char *opt, struct furi_config *cfg, char *err,
			 size_t errlen)
{
	struct passthrough *fs = fsp;
	const char *eq = strchr(opt, '=');
	const char *val = eq ? eq + 1 : NULL;
	char key[32];
	size_t klen = eq ? (size_t)(eq - opt) : strlen(opt);
	int r;

	(void)cfg;
	if (klen >= sizeof(key))
		return -ENOENT;
	memcpy(key, opt, klen);
	key[klen] = '\0';
	if (!strcmp(key, "timeout")) {
		r = opt_seconds(&fs->attr_timeout, key, val, err, errlen);
		fs->entry_timeout = fs->attr_timeout;
		return r;
	}
	if (!strcmp(key, "attr_timeout"))
		return opt_seconds(&fs->attr_timeout, key, val, err, errlen);
	if (!strcmp(key, "entry_timeout"))
		return opt_seconds(&fs->entry_timeout, key, val, err, errlen);
	if (!strcmp(key, "negative_timeout"))
		return opt_seconds(&fs->negative_timeout, key, val, err, errlen);
	if (!strcmp(key, "keep_cache") || !strcmp(key, "kernel_cache"))	/* libfuse's name */
		return opt_flag(&fs->keep_cache, key, val, err, errlen);
	if (!strcmp(key, "direct_io"))
		return opt_flag(&fs->direct_io, key, val, err, errlen);
	if (!strcmp(key, "source_direct_reads"))
		return opt_flag(&fs->source_direct_reads, key, val, err, errlen);
	if (!strcmp(key, "kernel_passthrough"))
		return opt_flag(&fs->kernel_passthrough, key, val, err, errlen);
	if (!strcmp(key, "nokillpriv_v2"))
		return opt_flag(&fs->no_killpriv_v2, key, val, err, errlen);
	if (!strcmp(key, "noacl"))
		return opt_flag(&fs->no_acl, key, val, err, errlen);
	return -ENOENT;
}

static void *pt_alloc(void)
{
	struct passthrough *fs = calloc(1, sizeof(*fs));
	int i;

	if (!fs)
		return NULL;
	for (i = 0; i < NSHARDS; i++) {
		pthread_mutex_init(&fs->shards[i].lock, NULL);
		fs->shards[i].nbuckets = SHARD_MIN_BUCKETS;
		fs->shards[i].buckets = calloc(SHARD_MIN_BUCKETS, sizeof(struct pnode *));
		if (!fs->shards[i].buckets) {
			while (i-- > 0)
				free(fs->shards[i].buckets);
			free(fs);
			return NULL;
		}
	}
	pthread_mutex_init(&fs->backing_lock, NULL);
	fs->root.fd = -1;
	fs->mount_fd = -1;
	fs->proc_fd = -1;
	fs->attr_timeout = DEFAULT_TIMEOUT;
	fs->entry_timeout = DEFAULT_TIMEOUT;
	atomic_init(&fs->next_generation, 1);
	return fs;
}

/*
 * Every node the kernel caches holds a descriptor: take the hard limit (as
 * root, first raise it to what the system allows).
 */
static int raise_fd_limit(struct passthrough *fs, char *err, size_t errlen)
{
	struct rlimit rl;
	unsigned long long nr_open = 0;
	FILE *f;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		snprintf(err, errlen, "passthrough: getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -errno;
	}
	if (geteuid() == 0 && (f = fopen("/proc/sys/fs/nr_open", "re"))) {
		if (fscanf(f, "%llu", &nr_open) == 1 && nr_open > rl.rlim_max) {
			struct rlimit more = { (rlim_t)nr_open, (rlim_t)nr_open };

			if (!setrlimit(RLIMIT_NOFILE, &more))
				rl = more;
		}
		fclose(f);
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			snprintf(err, errlen, "passthrough: cannot raise the open file limit to its "
				 "hard limit %llu: %s (fix: ulimit -n %llu before mounting)",
				 (unsigned long long)rl.rlim_max, strerror(errno),
				 (unsigned long long)rl.rlim_max);
			return -errno;
		}
	}
	/* A quarter stays for open files, directories and handles reopened for a call. */
	fs->max_node_fds = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX / 4
			   ? LONG_MAX / 4 : (long)rl.rlim_cur / 4 * 3;
	/* Pins take at most half of that quarter. */
	fs->max_pinned_fds = fs->max_node_fds == LONG_MAX / 4
			     ? LONG_MAX / 4 : (long)rl.rlim_cur / 8 * 7;
	return 0;
}

/*
 * For nodes beyond max_node_fds: file handles on the source's mount, which
 * open_by_handle_at resolves through a real (not O_PATH) descriptor there.
 * Without handle support every node keeps its descriptor.
 */
static void source_mount(struct passthrough *fs)
{
	struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);

	if (!h)
		return;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (!name_to_handle_at(fs->root.fd, "", h, &fs->mount_id, AT_EMPTY_PATH))
		fs->mount_fd = open(fs->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(h);
}

static int open_source(struct passthrough *fs, const char *arg, char *err, size_t errlen)
{
	struct stat st;
	DIR *probe;
	int fd;

	if (!realpath(arg, fs->source)) {
		int e = errno;

		snprintf(err, errlen, e == ENOENT
			 ? "passthrough: SOURCE_DIR %s does not exist (fix: create it, or name an existing directory)"
			 : "passthrough: SOURCE_DIR %s: %s (fix: name a directory you can reach)",
			 arg, strerror(e));
		return -e;
	}
	if (stat(fs->source, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "passthrough: SOURCE_DIR %s is not a directory (fix: name the "
			 "directory to serve; `furi mount image` serves a single file)", arg);
		return -ENOTDIR;
	}
	/* Readable and searchable, as listing and looking up will need. */
	probe = opendir(fs->source);
	if (!probe || faccessat(AT_FDCWD, fs->source, X_OK, AT_EACCESS)) {
		int e = errno;

		if (probe)
			closedir(probe);
		snprintf(err, errlen, "passthrough: cannot read SOURCE_DIR %s: %s (fix: chmod u+rx it, "
			 "or mount as a user who may read it)", arg, strerror(e));
		return -e;
	}
	closedir(probe);
	fd = open(fs->source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "passthrough: opening SOURCE_DIR %s: %s", arg, strerror(errno));
		return -errno;
	}
	fs->root.fd = fd;
	source_mount(fs);
	fs->root.dev = st.st_dev;
	fs->root.ino = st.st_ino;
	fs->root.type = S_IFDIR;
	fs->root.nlookup = 1;
	return 0;
}

/* A mountpoint below the source would make the server look itself up. */
static int check_mountpoint(struct passthrough *fs, const char *mountpoint, char *err,
			    size_t errlen)
{
	char real[PATH_MAX];
	size_t n = strlen(fs->source);
	bool inside;

	if (!realpath(mountpoint, real))
		return 0;	/* furi mount reports a bad mountpoint itself */
	if (!strcmp(fs->source, "/"))
		inside = strcmp(real, "/") != 0;
	else
		inside = !strncmp(real, fs->source, n) && real[n] == '/';
	if (!inside)
		return 0;
	snprintf(err, errlen, "passthrough: MOUNTPOINT %s is inside SOURCE_DIR %s; the server would "
		 "call into its own mount (fix: a mountpoint outside the source, or the source "
		 "directory itself)", mountpoint, fs->source);
	return -EINVAL;
}

static int server_identity(struct passthrough *fs, char *err, size_t errlen)
{
	int n;

	fs->server_uid = geteuid();
	fs->server_gid = getegid();
	fs->switch_creds = fs->server_uid == 0;
	n = getgroups(0, NULL);
	if (n < 0)
		n = 0;
	fs->server_groups = calloc((size_t)n + 1, sizeof(gid_t));
	if (!fs->server_groups) {
		snprintf(err, errlen, "passthrough: out of memory");
		return -ENOMEM;
	}
	fs->server_ngroups = n ? getgroups(n, fs->server_groups) : 0;
	if (fs->server_ngroups < 0)
		fs->server_ngroups = 0;
	return 0;
}

static int pt_prepare(void *fsp, char **args, const char *mountpoint, struct furi_config *cfg,
		      char *err, size_t errlen)
{
	struct passthrough *fs = fsp;
	int r;

	if (fs->root.fd >= 0)
		return 0;
	r = open_source(fs, args[0], err, errlen);
	if (!r)
		r = check_mountpoint(fs, mountpoint, err, errlen);
	if (!r)
		r = raise_fd_limit(fs, err, errlen);
	if (!r)
		r = server_identity(fs, err, errlen);
	if (r)
		return r;
	if (fs->kernel_passthrough && cfg->writeback_cache) {
		snprintf(err, errlen, "passthrough: -o kernel_passthrough and -o writeback_cache "
			 "exclude each other (the kernel refuses passthrough with a writeback cache)");
		return -EINVAL;
	}
	if (fs->kernel_passthrough && geteuid() != 0) {
		snprintf(err, errlen, "passthrough: -o kernel_passthrough needs root (CAP_SYS_ADMIN "
			 "registers backing files)");
		return -EPERM;
	}
	/* Only checked here: `furi mount` forks, and "self" must be the server (pt_init). */
	if (access("/proc/self/fd", X_OK)) {
		snprintf(err, errlen, "passthrough: cannot use /proc/self/fd: %s (fix: mount /proc)",
			 strerror(errno));
		return -errno;
	}
	/* ENODATA: ACLs are supported, this directory just has none. */
	fs->source_acl = getxattr(fs->source, "system.posix_acl_access", NULL, 0) >= 0 ||
			 errno == ENODATA;
	/* The kernel checks modes first (cheap, from its cache); the source has the last word. */
	cfg->default_permissions = true;
	if (!cfg->subtype)
		cfg->subtype = "passthrough";
	if (cfg->fsname && !strcmp(cfg->fsname, "passthrough") && !strpbrk(fs->source, ", \t\n\\"))
		cfg->fsname = fs->source;
	if (!cfg->legacy_threads)
		cfg->legacy_threads = DEFAULT_LEGACY_THREADS;
	return 0;
}

static void pt_free(void *fsp)
{
	struct passthrough *fs = fsp;
	int i;

	if (!fs)
		return;
	for (i = 0; i < NSHARDS; i++) {
		struct shard *s = &fs->shards[i];
		size_t b;

		for (b = 0; b < s->nbuckets; b++) {
			struct pnode *n = s->buckets[b], *next;

			for (; n; n = next) {
				next = n->hnext;
				node_free(fs, n);
			}
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	if (fs->root.fd >= 0)
		close(fs->root.fd);
	if (fs->proc_fd >= 0)
		close(fs->proc_fd);
	if (fs->mount_fd >= 0)
		close(fs->mount_fd);
	pthread_mutex_destroy(&fs->backing_lock);
	free(fs->server_groups);
	free(fs);
}

static const char passthrough_help[] =
"passthrough serves SOURCE_DIR, an existing directory, on MOUNTPOINT with the\n"
"semantics of the filesystem SOURCE_DIR lives on: what a call does on the mount is\n"
"what the same call does on the source, for every user. Run as root, each call runs\n"
"with the caller's fsuid, fsgid and supplementary groups, so ownership, modes,\n"
"sticky and setgid directories, POSIX ACLs and the clearing of setuid bits come\n"
"from the source. Use -o allow_other to let other users in. default_permissions\n"
"is always on: the kernel checks modes first, the source has the last word.\n"
"\n"
"Data moves without blocking the server: on io_uring, reads, writes, fsync and\n"
"fallocate are submitted on the queue's own ring, reads landing in the buffer the\n"
"kernel takes the reply from. O_DIRECT and O_SYNC opens are honoured on the source.\n"
"File locks (fcntl, OFD, flock) are kept by the kernel for the mount: processes\n"
"using SOURCE_DIR directly do not see them.\n"
"\n"
"Options:\n"
"  -o timeout=SECS         attribute and entry timeout together (default 1)\n"
"  -o attr_timeout=SECS    how long the kernel trusts attributes (default 1)\n"
"  -o entry_timeout=SECS   how long the kernel trusts names (default 1)\n"
"  -o negative_timeout=SECS  how long the kernel trusts \"no such name\" (default 0)\n"
"                          Longer timeouts save LOOKUP and GETATTR requests; changes\n"
"                          made in SOURCE_DIR directly take that long to show.\n"
"  -o keep_cache           keep cached file data across opens (default: dropped at\n"
"                          each open, so direct changes to SOURCE_DIR are seen);\n"
"                          libfuse's name, -o kernel_cache, works too\n"
"  -o writeback_cache      the kernel caches writes and writes back later (faster\n"
"                          small writes; st_blocks, SEEK_DATA/HOLE lag until then,\n"
"                          and direct changes to SOURCE_DIR may be overwritten)\n"
"  -o direct_io            no page cache at all (every read and write is a request)\n"
"  -o source_direct_reads  read the source with O_DIRECT where the range\n"
"                          allows: a copy less, and the source's cache keeps\n"
"                          no second copy of what the mount caches (faster\n"
"                          big sequential reads); but re-reads the mount no\n"
"                          longer caches go to the disk, and small reads lose\n"
"                          the source's readahead\n"
"  -o kernel_passthrough   the kernel reads and writes the source files itself (FUSE\n"
"                          passthrough, Linux 6.9+, root): no data requests at all.\n"
"                          Not with writeback_cache. A non-root writer of a setuid\n"
"                          file is served by furi, which clears the bit.\n"
"  -o noacl                do not enforce POSIX ACLs in the kernel\n"
"  -o nokillpriv_v2        let the kernel clear setuid bits (costs a GETXATTR per\n"
"                          write; for measurements)\n"
"  -o threads=N            /dev/fuse workers (default 16: a worker blocked on the\n"
"                          disk must not stall the others)\n"
"\n"
"Every inode the kernel caches holds an open descriptor on the source, up to 3/4 of\n"
"the open file limit, which furi raises to the hard limit at start (as root, to\n"
"fs.nr_open); past that, new inodes keep a file handle and are reopened per call.\n"
"Metadata calls (lookup, create, rename, stat, readdir, ...) run on the serving\n"
"thread; only data calls go to the ring.\n";

const struct furi_fs_type furi_passthrough_type = {
	.name = "passthrough",
	.args = "SOURCE_DIR",
	.nargs = 1,
	.summary = "SOURCE_DIR through FUSE, with the semantics of its filesystem",
	.help = passthrough_help,
	.alloc = pt_alloc,
	.set_option = pt_set_option,
	.prepare = pt_prepare,
	.free = pt_free,
	.ops = &passthrough_ops,
};
