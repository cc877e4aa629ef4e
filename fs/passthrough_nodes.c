/* SPDX-License-Identifier: MIT */
/*
 * passthrough_nodes.c - what every passthrough request stands on: the
 * caller's credentials (fsuid, fsgid, supplementary groups, umask) switched
 * on the serving thread, the inode table keyed by the source's (st_dev,
 * st_ino), and a call's O_PATH descriptors of its nodes. The requests are
 * served in passthrough.c.
 */
#include "passthrough.h"

/* Running out of descriptors is the one resource error worth a log line. */
int pt_note_errno(struct passthrough *fs, int e)
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
static pthread_key_t status_buf_key;		/* frees it when its thread exits */
static pthread_once_t status_buf_once = PTHREAD_ONCE_INIT;

static void status_buf_key_init(void)
{
	(void)pthread_key_create(&status_buf_key, free);
}

/* This thread's buffer for /proc/PID/status; NULL on ENOMEM. */
static char *thread_status_buf(void)
{
	if (status_buf)
		return status_buf;
	pthread_once(&status_buf_once, status_buf_key_init);
	status_buf = malloc(PROC_STATUS_MAX);
	if (status_buf)
		(void)pthread_setspecific(status_buf_key, status_buf);
	return status_buf;
}

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
	if (!thread_status_buf())
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


/*
 * Become the caller for the calls that follow, on this thread only. A root
 * caller with group 0 needs no switch: the server is root too. Returns 0,
 * or an errno when the switch did not take (the call must then not run,
 * lest it run with the server's rights).
 */
int pt_creds_enter(struct passthrough *fs, struct furi_req *req, struct creds *c)
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

void pt_creds_leave(struct passthrough *fs, struct creds *c)
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
mode_t pt_creation_mode(struct furi_req *req, mode_t mode)
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
struct pnode *pt_node_get(struct passthrough *fs, const struct stat *st, int *fd)
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

void pt_node_free(struct passthrough *fs, struct pnode *n)
{
	if (n->fd >= 0) {
		close(n->fd);
		atomic_fetch_sub(&fs->node_fds, 1);
	}
	free(n->handle);
	free(n);
}

/* Drop count lookup references; the node goes when none is left. */
void pt_node_put(struct passthrough *fs, struct pnode *n, uint64_t count)
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
	pt_node_free(fs, n);
}

int pt_stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ? errno : 0;
}

void pt_entry_fill(struct passthrough *fs, struct pnode *n, const struct stat *st,
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
int pt_node_from_fd(struct passthrough *fs, int fd, struct furi_entry *e)
{
	struct stat st;
	struct pnode *n;
	int err = pt_stat_fd(fd, &st);

	if (err) {
		close(fd);
		return err;
	}
	n = pt_node_get(fs, &st, &fd);
	if (!n) {
		close(fd);
		return ENOMEM;
	}
	pt_entry_fill(fs, n, &st, e);
	return 0;
}

/* Names the kernel may send are single components; anything else would escape the node. */
bool pt_bad_name(const char *name)
{
	return strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..");
}

int pt_do_lookup(struct passthrough *fs, int dirfd, const char *name, struct furi_entry *e)
{
	int fd;

	if (pt_bad_name(name))
		return EINVAL;
	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pt_note_errno(fs, errno);
	return pt_node_from_fd(fs, fd, e);
}

/* An O_PATH descriptor of what the open file fd is. */
int pt_path_fd_of(struct passthrough *fs, int fd)
{
	char name[32];
	int r;

	fd_name(name, sizeof(name), fd);
	r = openat(fs->proc_fd, name, O_PATH | O_CLOEXEC);
	return r < 0 ? -pt_note_errno(fs, errno) : r;
}


static int node_fd(struct passthrough *fs, struct pnode *n, int *fd, bool *temp)
{
	*temp = false;
	*fd = __atomic_load_n(&n->fd, __ATOMIC_ACQUIRE);	/* see pt_pin_before_remove */
	if (*fd >= 0)
		return 0;
	*fd = open_by_handle_at(fs->mount_fd, n->handle, O_PATH | O_CLOEXEC);
	if (*fd < 0)
		return pt_note_errno(fs, errno);
	*temp = true;
	return 0;
}

int pt_call_begin(struct call *k, struct furi_req *req, struct pnode *a, struct pnode *b,
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
		err = pt_creds_enter(fs, req, &k->c);
	return err;
}

void pt_call_end(struct call *k)
{
	int i;

	pt_creds_leave(k->fs, &k->c);
	for (i = 0; i < 2; i++)
		if (k->temp[i])
			close(k->fd[i]);
	k->temp[0] = k->temp[1] = false;
}

/*
 * -o dirsync (or sync): a change of the directory dirfd is on the source's
 * disk before the reply, as a local filesystem mounted so does it. As the
 * server: the caller may change a directory it may not read.
 */
void pt_dir_sync(struct call *k, int dirfd)
{
	char name[32];
	int fd;

	pt_creds_leave(k->fs, &k->c);
	fd_name(name, sizeof(name), dirfd);
	fd = openat(k->fs->proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		furi_log(FURI_LOG_WARN, "passthrough: -o dirsync: syncing a directory: %s",
			 strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* The caller is in group gid: its fsgid or a supplementary group (in_group_p). */
bool pt_caller_in_group(struct furi_req *req, gid_t gid)
{
	const struct furi_ctx *ctx = furi_req_ctx(req);
	gid_t groups[MAX_CALLER_GROUPS];
	int n, i;

	if (ctx->gid == gid)
		return true;
	n = caller_groups(ctx->pid, ctx->uid, ctx->gid, groups, MAX_CALLER_GROUPS);
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
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
void pt_pin_before_remove(struct passthrough *fs, int dirfd, const char *name)
{
	struct stat st;
	struct pnode *n;
	struct shard *s;
	uint64_t h;
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;
	if (pt_stat_fd(fd, &st)) {
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
