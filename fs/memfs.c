/* SPDX-License-Identifier: MIT */
/*
 * memfs.c - a POSIX filesystem held in memory: `furi mount memfs DIR`.
 *
 * Locking. fs->ns, a writer-preferring rwlock, guards the namespace: the
 * inode table, directory contents, link counts and directory parents.
 * Lookups, readdir and attribute calls hold it shared; calls that add,
 * remove or move a name hold it exclusive. Each inode's own rwlock guards
 * its attributes, data and xattrs, and nests inside ns. Calls that come
 * with a file handle (read, write, fallocate, lseek, copy_file_range,
 * release) take no ns lock: the handle is the inode pointer, kept alive by
 * the inode's open count. Work that may be long (a truncation, freeing a
 * big file) is done outside ns: setattr pins the inode with an open count
 * of its own, and deleted big files go to a background thread.
 *
 * Lifetime. An inode lives while it has a name (nlink), a kernel reference
 * (nlookup: entry replies minus forgets) or an open handle (nopen). It
 * leaves the table when the last of the three goes, always with ns held
 * exclusive, so no one can hold a pointer taken from the table or from a
 * directory. The counts drop without the lock as long as they stay above
 * zero.
 *
 * Directories keep a name hash for lookups and an array of entries in the
 * order of their cookies, which only grow: readdir at offset X resumes at
 * the first cookie above X, so offsets stay valid while entries come and go.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "blockmap.h"
#include "memfs.h"
#include "fs.h"

#define BS			BMAP_BLOCK_SIZE
#define BS_SHIFT		BMAP_BLOCK_SHIFT
#define BS_MASK			((uint64_t)BS - 1)
#define NAME_LEN_MAX		255
#define DEFAULT_CAPACITY	(UINT64_C(1) << 40)	/* 1 TiB: virtual, memory follows use */
#define DEFAULT_TIMEOUT		1.0
#define STATFS_FILES		(UINT64_C(1) << 32)	/* f_files without nr_inodes */
#define FILE_SIZE_MAX		((uint64_t)INT64_MAX)
#define XATTR_BYTES_MAX		(1u << 20)		/* names and values, per inode */
#define DIRENT_BYTES		20			/* st_size per entry, as tmpfs */
#define COPY_CHUNK		(64 * 1024)
#define ITAB_MIN		256
#define TRIM_BLOCKS		16384			/* 64 MiB freed: give memory back */
#define REAP_BLOCKS		256			/* bigger files are freed in the background */

struct xattr {
	struct xattr *next;
	size_t namelen;
	size_t size;
	char data[];		/* name, NUL, value */
};

struct dent {
	struct dent *hnext;
	uint64_t hash;
	uint64_t cookie;
	struct mnode *node;
	size_t namelen;
	char name[];
};

/* A place in the readdir order; d is NULL once the entry is gone. */
struct dslot {
	uint64_t cookie;
	struct dent *d;
};

struct mdir {
	struct dent **buckets;
	size_t nbuckets;	/* a power of two, or 0 before the first entry */
	size_t count;
	struct dslot *order;	/* sorted by cookie */
	size_t olen, ocap, odead;
	uint64_t next_cookie;
	struct mnode *parent;	/* the root's is itself; NULL once removed */
};

struct mnode {
	struct mnode *hnext;		/* inode table chain */
	uint64_t ino;
	mode_t type;			/* S_IFMT bits; never change */
	atomic_uint_fast64_t nlookup;
	atomic_uint_fast64_t nopen;
	nlink_t nlink;			/* ns */
	pthread_rwlock_t lock;
	/* the rest under lock, except dir (ns) and target (immutable) */
	mode_t perm;
	uid_t uid;
	gid_t gid;
	dev_t rdev;
	uint64_t size;
	struct timespec atime, mtime, ctime;
	struct xattr *xattrs;
	size_t xattr_bytes;
	union {
		struct bmap data;	/* S_IFREG */
		struct mdir dir;	/* S_IFDIR */
		char *target;		/* S_IFLNK */
	};
};

struct memfs {
	pthread_rwlock_t ns;
	struct mnode **itab;		/* by ino; ns */
	size_t itab_size, itab_count;
	struct mnode *root;
	atomic_uint_fast64_t next_ino;
	atomic_uint_fast64_t used_blocks;
	atomic_uint_fast64_t ninodes;
	/* options */
	uint64_t max_blocks;
	uint64_t max_inodes;		/* 0: unlimited */
	double entry_timeout, attr_timeout;
	mode_t root_mode;
	uid_t root_uid;
	gid_t root_gid;
	bool writeback;			/* FURI_CAP_WRITEBACK_CACHE was negotiated */
	bool discard;			/* nullfs: keep no data; reads see zeros */
	/*
	 * A background thread, started at INIT so that it runs in the serving
	 * process, does what would stall a queue thread: it frees the memory
	 * of big deleted files (their space is given back at once), and calls
	 * malloc_trim() once enough was freed, since freed blocks otherwise
	 * stay in malloc's free lists and deleting files would not shrink the
	 * server.
	 */
	atomic_uint_fast64_t freed;	/* blocks freed since the last trim */
	atomic_bool bg_running;
	pthread_t bg_thread;
	pthread_mutex_t bg_lock;
	pthread_cond_t bg_cond;
	struct mnode *dead;		/* bg_lock: inodes to free, by hnext */
	bool bg_wake, bg_stop;		/* bg_lock */
};

enum { T_A = 1, T_M = 2, T_C = 4 };

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static struct timespec now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static struct memfs *req_fs(struct furi_req *req)
{
	return furi_req_fs(req);
}

/*
 * The inode behind a file handle. The handle reached this thread through the
 * kernel, which orders it after the open for us; the acquire load pairs with
 * the open's increment so that thread sanitizers see that order too.
 */
static struct mnode *fh_node(uint64_t fh)
{
	struct mnode *n = (struct mnode *)(uintptr_t)fh;
	(void)atomic_load_explicit(&n->nopen, memory_order_acquire);
	return n;
}

static void ns_rd(struct memfs *fs)
{
	pthread_rwlock_rdlock(&fs->ns);
}

static void ns_wr(struct memfs *fs)
{
	pthread_rwlock_wrlock(&fs->ns);
}

static void ns_unlock(struct memfs *fs)
{
	pthread_rwlock_unlock(&fs->ns);
}

static void node_rd(struct mnode *n)
{
	pthread_rwlock_rdlock(&n->lock);
}

static void node_wr(struct mnode *n)
{
	pthread_rwlock_wrlock(&n->lock);
}

static void node_unlock(struct mnode *n)
{
	pthread_rwlock_unlock(&n->lock);
}

static void stamp_locked(struct mnode *n, unsigned which, struct timespec t)
{
	if (which & T_A)
		n->atime = t;
	if (which & T_M)
		n->mtime = t;
	if (which & T_C)
		n->ctime = t;
}

static void stamp(struct mnode *n, unsigned which)
{
	struct timespec t = now();
	node_wr(n);
	stamp_locked(n, which, t);
	node_unlock(n);
}

static int name_len(const char *name, size_t *len)
{
	*len = strlen(name);
	return *len > NAME_LEN_MAX ? ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------------------ */
/* Space and inode accounting                                               */
/* ------------------------------------------------------------------------ */

static bool space_take(struct memfs *fs, uint64_t n)
{
	uint_fast64_t cur = atomic_load(&fs->used_blocks);
	do {
		if (n > fs->max_blocks || cur > fs->max_blocks - n)
			return false;
	} while (!atomic_compare_exchange_weak(&fs->used_blocks, &cur, cur + n));
	return true;
}

static void bg_kick(struct memfs *fs)
{
	pthread_mutex_lock(&fs->bg_lock);
	fs->bg_wake = true;
	pthread_cond_signal(&fs->bg_cond);
	pthread_mutex_unlock(&fs->bg_lock);
}

static void space_give(struct memfs *fs, uint64_t n)
{
	if (!n)
		return;
	atomic_fetch_sub(&fs->used_blocks, n);
	uint64_t before = atomic_fetch_add(&fs->freed, n);
	if (before < TRIM_BLOCKS && before + n >= TRIM_BLOCKS && atomic_load(&fs->bg_running))
		bg_kick(fs);
}

static bool inode_take(struct memfs *fs)
{
	uint_fast64_t cur = atomic_load(&fs->ninodes);
	do {
		if (fs->max_inodes && cur >= fs->max_inodes)
			return false;
	} while (!atomic_compare_exchange_weak(&fs->ninodes, &cur, cur + 1));
	return true;
}

/*
 * Subtract n from a count unless that would take it to zero: then the
 * caller must do it with ns held exclusive, where the inode may be freed.
 */
static bool count_drop_fast(atomic_uint_fast64_t *c, uint64_t n)
{
	uint_fast64_t cur = atomic_load(c);
	while (cur > n)
		if (atomic_compare_exchange_weak(c, &cur, cur - n))
			return true;
	return false;
}

/* With ns exclusive; a count never goes below zero, whatever the kernel says. */
static void count_drop(atomic_uint_fast64_t *c, uint64_t n)
{
	uint_fast64_t cur = atomic_load(c);
	while (!atomic_compare_exchange_weak(c, &cur, cur > n ? cur - n : 0))
		;
}

/* ------------------------------------------------------------------------ */
/* Inode table (ns)                                                         */
/* ------------------------------------------------------------------------ */

static struct mnode *itab_get(const struct memfs *fs, uint64_t ino)
{
	struct mnode *n = fs->itab[ino & (fs->itab_size - 1)];
	while (n && n->ino != ino)
		n = n->hnext;
	return n;
}

/* Inode numbers are sequential, so the low bits spread them evenly. */
static void itab_grow(struct memfs *fs)
{
	size_t size = fs->itab_size * 2;
	struct mnode **t = calloc(size, sizeof(*t));
	if (!t)
		return;		/* longer chains, still correct */
	for (size_t i = 0; i < fs->itab_size; i++) {
		struct mnode *n = fs->itab[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			n->hnext = t[n->ino & (size - 1)];
			t[n->ino & (size - 1)] = n;
		}
	}
	free(fs->itab);
	fs->itab = t;
	fs->itab_size = size;
}

static void itab_add(struct memfs *fs, struct mnode *n)
{
	if (fs->itab_count >= fs->itab_size)
		itab_grow(fs);
	struct mnode **head = &fs->itab[n->ino & (fs->itab_size - 1)];
	n->hnext = *head;
	*head = n;
	fs->itab_count++;
}

static void itab_del(struct memfs *fs, struct mnode *n)
{
	struct mnode **p = &fs->itab[n->ino & (fs->itab_size - 1)];
	while (*p != n)
		p = &(*p)->hnext;
	*p = n->hnext;
	fs->itab_count--;
}

/* ------------------------------------------------------------------------ */
/* Directories (ns)                                                         */
/* ------------------------------------------------------------------------ */

static uint64_t name_hash(const char *s, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h ^ (h >> 29);
}

static struct dent *dir_find(const struct mdir *d, const char *name, size_t len)
{
	if (!d->nbuckets)
		return NULL;
	uint64_t h = name_hash(name, len);
	for (struct dent *e = d->buckets[h & (d->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && e->namelen == len && !memcmp(e->name, name, len))
			return e;
	return NULL;
}

static bool dir_rehash(struct mdir *d, size_t nb)
{
	struct dent **b = calloc(nb, sizeof(*b));
	if (!b)
		return false;
	for (size_t i = 0; i < d->nbuckets; i++) {
		struct dent *e = d->buckets[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(d->buckets);
	d->buckets = b;
	d->nbuckets = nb;
	return true;
}

/* Index of the first slot whose cookie is above off. */
static size_t dir_seek(const struct mdir *d, uint64_t off)
{
	size_t lo = 0, hi = d->olen;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->order[mid].cookie <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int dir_add(struct mdir *d, const char *name, size_t len, struct mnode *child)
{
	if (d->olen == d->ocap) {
		size_t cap = d->ocap ? d->ocap * 2 : 8;
		struct dslot *o = realloc(d->order, cap * sizeof(*o));
		if (!o)
			return ENOMEM;
		d->order = o;
		d->ocap = cap;
	}
	if (d->count >= d->nbuckets && !dir_rehash(d, d->nbuckets ? d->nbuckets * 2 : 16) &&
	    !d->nbuckets)
		return ENOMEM;
	struct dent *e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return ENOMEM;
	e->hash = name_hash(name, len);
	e->cookie = d->next_cookie++;
	e->node = child;
	e->namelen = len;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	struct dent **head = &d->buckets[e->hash & (d->nbuckets - 1)];
	e->hnext = *head;
	*head = e;
	d->order[d->olen++] = (struct dslot){ e->cookie, e };
	d->count++;
	return 0;
}

/* Drop the slots of removed entries once they are the majority. */
static void dir_compact(struct mdir *d)
{
	size_t j = 0;
	for (size_t i = 0; i < d->olen; i++)
		if (d->order[i].d)
			d->order[j++] = d->order[i];
	d->olen = j;
	d->odead = 0;
	if (d->ocap > 16 && j < d->ocap / 4) {
		size_t cap = j < 8 ? 16 : j * 2;
		struct dslot *o = realloc(d->order, cap * sizeof(*o));
		if (o) {
			d->order = o;
			d->ocap = cap;
		}
	}
}

static void dir_del(struct mdir *d, struct dent *e)
{
	struct dent **p = &d->buckets[e->hash & (d->nbuckets - 1)];
	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	d->order[dir_seek(d, e->cookie) - 1].d = NULL;
	d->odead++;
	d->count--;
	free(e);
	if (d->odead >= 32 && d->odead * 2 > d->olen)
		dir_compact(d);
	if (d->nbuckets > 16 && d->count < d->nbuckets / 8)
		dir_rehash(d, d->nbuckets / 4);
}

static void dir_free(struct mdir *d)
{
	for (size_t i = 0; i < d->olen; i++)
		free(d->order[i].d);
	free(d->order);
	free(d->buckets);
}

/* A directory of the table by ino, still linked; with ns held. */
static int get_dir(struct memfs *fs, uint64_t ino, struct mnode **out)
{
	struct mnode *n = itab_get(fs, ino);
	if (!n)
		return ENOENT;
	if (n->type != S_IFDIR)
		return ENOTDIR;
	if (!n->dir.parent)
		return ENOENT;
	*out = n;
	return 0;
}

/* Whether a is d or one of its ancestors. */
static bool is_ancestor(const struct memfs *fs, const struct mnode *a, const struct mnode *d)
{
	for (;;) {
		if (d == a)
			return true;
		if (d == fs->root || !d->dir.parent)
			return false;
		d = d->dir.parent;
	}
}

/* ------------------------------------------------------------------------ */
/* Inodes                                                                   */
/* ------------------------------------------------------------------------ */

static void xattrs_free(struct mnode *n)
{
	struct xattr *x = n->xattrs, *next;
	for (; x; x = next) {
		next = x->next;
		free(x);
	}
	n->xattrs = NULL;
	n->xattr_bytes = 0;
}

/* A fresh inode, not yet in the table nor in a directory; errno on NULL. */
static struct mnode *node_new(struct memfs *fs, mode_t type, mode_t perm)
{
	if (!inode_take(fs)) {
		errno = ENOSPC;
		return NULL;
	}
	struct mnode *n = calloc(1, sizeof(*n));
	if (!n) {
		atomic_fetch_sub(&fs->ninodes, 1);
		errno = ENOMEM;
		return NULL;
	}
	pthread_rwlock_init(&n->lock, NULL);
	n->ino = atomic_fetch_add(&fs->next_ino, 1);
	n->type = type;
	n->perm = perm & 07777;
	n->nlink = 1;
	n->atime = n->mtime = n->ctime = now();
	if (type == S_IFREG)
		bmap_init(&n->data);
	else if (type == S_IFDIR)
		n->dir.next_cookie = 3;	/* 1 and 2 are "." and ".." */
	return n;
}

/* Free the memory of an inode whose space and count were given back. */
static void node_destroy(struct mnode *n)
{
	if (n->type == S_IFREG)
		bmap_clear(&n->data);
	else if (n->type == S_IFDIR)
		dir_free(&n->dir);
	else if (n->type == S_IFLNK)
		free(n->target);
	xattrs_free(n);
	pthread_rwlock_destroy(&n->lock);
	free(n);
}

static void node_uncount(struct memfs *fs, struct mnode *n)
{
	if (n->type == S_IFREG)
		space_give(fs, n->data.nblocks);
	atomic_fetch_sub(&fs->ninodes, 1);
}

static void node_free(struct memfs *fs, struct mnode *n)
{
	node_uncount(fs, n);
	node_destroy(n);
}

/*
 * With ns exclusive: free n if nothing refers to it any more. Freeing a big
 * file takes long enough to stall every namespace call, so the background
 * thread does it; statfs sees the space free at once.
 */
static void node_put(struct memfs *fs, struct mnode *n)
{
	if (n == fs->root || n->nlink || atomic_load(&n->nlookup) || atomic_load(&n->nopen))
		return;
	itab_del(fs, n);
	if (n->type != S_IFREG || n->data.nblocks <= REAP_BLOCKS ||
	    !atomic_load(&fs->bg_running)) {
		node_free(fs, n);
		return;
	}
	node_uncount(fs, n);
	pthread_mutex_lock(&fs->bg_lock);
	n->hnext = fs->dead;
	fs->dead = n;
	pthread_cond_signal(&fs->bg_cond);
	pthread_mutex_unlock(&fs->bg_lock);
}

static void free_dead(struct mnode *dead)
{
	while (dead) {
		struct mnode *next = dead->hnext;
		node_destroy(dead);
		dead = next;
	}
}

static void *bg_main(void *arg)
{
	struct memfs *fs = arg;
	pthread_mutex_lock(&fs->bg_lock);
	while (!fs->bg_stop) {
		if (!fs->bg_wake && !fs->dead) {
			pthread_cond_wait(&fs->bg_cond, &fs->bg_lock);
			continue;
		}
		struct mnode *dead = fs->dead;
		fs->dead = NULL;
		fs->bg_wake = false;
		pthread_mutex_unlock(&fs->bg_lock);
		free_dead(dead);
		if (atomic_load(&fs->freed) >= TRIM_BLOCKS) {
			atomic_store(&fs->freed, 0);
			malloc_trim(0);
		}
		pthread_mutex_lock(&fs->bg_lock);
	}
	pthread_mutex_unlock(&fs->bg_lock);
	return NULL;
}

static void bg_start(struct memfs *fs)
{
	if (atomic_load(&fs->bg_running))
		return;
	if (pthread_create(&fs->bg_thread, NULL, bg_main, fs) == 0)
		atomic_store(&fs->bg_running, true);
	else
		furi_log(FURI_LOG_WARN, "memfs: no background thread: deleted files are freed "
			 "on the queue threads and freed memory stays with the server");
}

/* After the session: no request can queue more work. */
static void bg_stop(struct memfs *fs)
{
	if (atomic_load(&fs->bg_running)) {
		pthread_mutex_lock(&fs->bg_lock);
		fs->bg_stop = true;
		pthread_cond_signal(&fs->bg_cond);
		pthread_mutex_unlock(&fs->bg_lock);
		pthread_join(fs->bg_thread, NULL);
		atomic_store(&fs->bg_running, false);
	}
	free_dead(fs->dead);
	fs->dead = NULL;
}

/* With ns held (nlink and directory sizes). */
static void node_stat(struct mnode *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_nlink = n->nlink;
	st->st_blksize = BS;
	if (n->type == S_IFDIR)
		st->st_size = (off_t)((n->dir.count + 2) * DIRENT_BYTES);
	else if (n->type == S_IFLNK)
		st->st_size = (off_t)strlen(n->target);
	node_rd(n);
	st->st_mode = n->type | n->perm;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_rdev = n->rdev;
	if (n->type == S_IFREG) {
		st->st_size = (off_t)n->size;
		st->st_blocks = (blkcnt_t)(n->data.nblocks * (BS / 512));
	}
	st->st_atim = n->atime;
	st->st_mtim = n->mtime;
	st->st_ctim = n->ctime;
	node_unlock(n);
}

/* With ns held. */
static void entry_fill(const struct memfs *fs, struct mnode *n, struct furi_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = n->ino;
	node_stat(n, &e->attr);
	e->attr_timeout = fs->attr_timeout;
	e->entry_timeout = fs->entry_timeout;
}

/* With ns held: fill e for n and take the lookup reference it carries. */
static void node_entry(const struct memfs *fs, struct mnode *n, struct furi_entry *e)
{
	entry_fill(fs, n, e);
	atomic_fetch_add(&n->nlookup, 1);
}

/* What a create call asks for. */
struct mkspec {
	mode_t type;
	mode_t perm;
	dev_t rdev;
	const char *target;
};

/*
 * A new inode for a create call in dir: owned by the caller, with the group
 * of a setgid directory (and for a directory its setgid bit too).
 */
static int node_create(struct memfs *fs, struct furi_req *req, struct mnode *dir,
		       const struct mkspec *mk, struct mnode **out)
{
	const struct furi_ctx *ctx = furi_req_ctx(req);
	struct mnode *n = node_new(fs, mk->type, mk->perm);
	if (!n)
		return errno;
	n->uid = ctx->uid;
	n->gid = ctx->gid;
	n->rdev = mk->rdev;
	node_rd(dir);
	if (dir->perm & S_ISGID) {
		n->gid = dir->gid;
		if (mk->type == S_IFDIR)
			n->perm |= S_ISGID;
	}
	node_unlock(dir);
	if (mk->type == S_IFLNK) {
		n->target = strdup(mk->target);
		if (!n->target) {
			node_free(fs, n);
			return ENOMEM;
		}
	}
	*out = n;
	return 0;
}

/* Name a new inode in dir; nothing changes on failure (the inode is freed). */
static int link_new(struct memfs *fs, struct mnode *dir, const char *name, size_t len,
		    struct mnode *n)
{
	int err = dir_add(&dir->dir, name, len, n);
	if (err) {
		node_free(fs, n);
		return err;
	}
	if (n->type == S_IFDIR) {
		n->nlink = 2;
		n->dir.parent = dir;
		dir->nlink++;
	}
	itab_add(fs, n);
	stamp(dir, T_M | T_C);
	return 0;
}

/* With ns exclusive: n loses the name it had in dir (its dent is gone). */
static void unlink_node(struct mnode *dir, struct mnode *n)
{
	if (n->type == S_IFDIR) {
		n->nlink = 0;
		n->dir.parent = NULL;
		dir->nlink--;
	} else {
		n->nlink--;
	}
	stamp(n, T_C);
}

/* Release one open handle of n. */
static void drop_open(struct memfs *fs, struct mnode *n)
{
	if (count_drop_fast(&n->nopen, 1))
		return;
	ns_wr(fs);
	count_drop(&n->nopen, 1);
	node_put(fs, n);
	ns_unlock(fs);
}

/* ------------------------------------------------------------------------ */
/* File data (inode lock held)                                              */
/* ------------------------------------------------------------------------ */

static size_t file_read(struct mnode *n, uint64_t off, size_t len, char *dst)
{
	if (off >= n->size)
		return 0;
	len = (size_t)min_u64(len, n->size - off);
	for (size_t done = 0; done < len;) {
		uint64_t pos = off + done;
		size_t boff = (size_t)(pos & BS_MASK);
		size_t chunk = (size_t)min_u64(BS - boff, len - done);
		const char *b = bmap_get(&n->data, pos >> BS_SHIFT);
		if (b)
			memcpy(dst + done, b + boff, chunk);
		else
			memset(dst + done, 0, chunk);
		done += chunk;
	}
	return len;
}

/* nullfs: the bytes of a file that keeps no data are zeros. */
static size_t null_read(const struct mnode *n, uint64_t off, size_t len, char *dst)
{
	if (off >= n->size)
		return 0;
	len = (size_t)min_u64(len, n->size - off);
	memset(dst, 0, len);
	return len;
}

/* nullfs: a write moves the size and the times, and keeps nothing. */
static ssize_t null_write(struct mnode *n, uint64_t off, size_t len)
{
	if (len) {
		n->size = max_u64(n->size, off + len);
		stamp_locked(n, T_M | T_C, now());
	}
	return (ssize_t)len;
}

/* Write len bytes at off, extending the file; bytes written or -errno. */
static ssize_t file_write(struct memfs *fs, struct mnode *n, uint64_t off,
			  const char *src, size_t len)
{
	size_t done = 0;
	int err = 0;
	while (done < len) {
		uint64_t pos = off + done, idx = pos >> BS_SHIFT;
		size_t boff = (size_t)(pos & BS_MASK);
		size_t chunk = (size_t)min_u64(BS - boff, len - done);
		bool hole = !bmap_get(&n->data, idx);
		if (hole && !space_take(fs, 1)) {
			err = ENOSPC;
			break;
		}
		char *b = bmap_write(&n->data, idx, chunk != BS);
		if (!b) {
			if (hole)
				space_give(fs, 1);
			err = ENOMEM;
			break;
		}
		memcpy(b + boff, src + done, chunk);
		done += chunk;
	}
	if (done) {
		n->size = max_u64(n->size, off + done);
		stamp_locked(n, T_M | T_C, now());
		return (ssize_t)done;
	}
	return -err;
}

/* Zero from..to of block idx; with keep, a hole there becomes allocated. */
static int zero_part(struct mnode *n, uint64_t idx, size_t from, size_t to, bool keep,
		     uint64_t *added)
{
	const char *b = bmap_get(&n->data, idx);
	if (b == bmap_zero_block)
		return 0;
	if (b) {
		char *w = bmap_write(&n->data, idx, false);	/* the same block */
		if (w)
			memset(w + from, 0, to - from);
		return w ? 0 : ENOMEM;
	}
	if (!keep)
		return 0;
	uint64_t a = 0;
	bool ok = bmap_fill_zero(&n->data, idx, idx, true, &a);
	*added += a;
	return ok ? 0 : ENOMEM;
}

/*
 * Make off..off+len read as zeros: punched to holes, or with keep
 * (FALLOC_FL_ZERO_RANGE) left allocated. Does not change the size.
 */
static int file_zero(struct memfs *fs, struct mnode *n, uint64_t off, uint64_t len, bool keep)
{
	uint64_t end = off + len, first = off >> BS_SHIFT, last = (end - 1) >> BS_SHIFT;
	uint64_t reserved = 0, added = 0;
	int err = 0;

	if (!len)
		return 0;
	if (keep) {
		reserved = last - first + 1 - bmap_count(&n->data, first, last);
		if (!space_take(fs, reserved))
			return ENOSPC;
	}
	size_t head_from = (size_t)(off & BS_MASK);
	size_t tail_to = (size_t)((end - 1) & BS_MASK) + 1;
	if (first == last) {
		if (head_from || tail_to != BS)
			err = zero_part(n, first, head_from, tail_to, keep, &added);
	} else {
		if (head_from)
			err = zero_part(n, first, head_from, BS, keep, &added);
		if (!err && tail_to != BS)
			err = zero_part(n, last, 0, tail_to, keep, &added);
	}
	/* whole blocks */
	uint64_t ff = (off + BS_MASK) >> BS_SHIFT, fe = end >> BS_SHIFT;
	if (!err && ff < fe) {
		if (keep) {
			uint64_t a = 0;
			if (!bmap_fill_zero(&n->data, ff, fe - 1, true, &a))
				err = ENOMEM;
			added += a;
		} else {
			space_give(fs, bmap_punch(&n->data, ff, fe - 1));
		}
	}
	if (keep)
		space_give(fs, reserved - added);
	return err;
}

/* Allocate the blocks of off..off+len, keeping their data. */
static int file_prealloc(struct memfs *fs, struct mnode *n, uint64_t off, uint64_t len)
{
	uint64_t first = off >> BS_SHIFT, last = (off + len - 1) >> BS_SHIFT, added = 0;
	uint64_t need = last - first + 1 - bmap_count(&n->data, first, last);
	if (!space_take(fs, need))
		return ENOSPC;
	bool ok = bmap_fill_zero(&n->data, first, last, false, &added);
	space_give(fs, need - added);
	return ok ? 0 : ENOMEM;
}

/* Set the size; blocks past a lower size are freed, the tail block zeroed. */
static void file_truncate(struct memfs *fs, struct mnode *n, uint64_t size)
{
	if (size <= n->size) {
		space_give(fs, bmap_punch(&n->data, (size + BS_MASK) >> BS_SHIFT, UINT64_MAX));
		if (size & BS_MASK) {
			uint64_t dummy = 0;
			zero_part(n, size >> BS_SHIFT, (size_t)(size & BS_MASK), BS, false, &dummy);
		}
	}
	n->size = size;
}

static int ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	return (a.tv_nsec > b.tv_nsec) - (a.tv_nsec < b.tv_nsec);
}

/*
 * relatime: update atime when it is not newer than mtime or ctime, or is a
 * day old. Timestamps can be anything utimensat() set, so no arithmetic
 * that could overflow.
 */
static bool atime_stale(const struct mnode *n, struct timespec t)
{
	return ts_cmp(n->atime, n->mtime) <= 0 || ts_cmp(n->atime, n->ctime) <= 0 ||
	       (t.tv_sec > n->atime.tv_sec &&
		(uint64_t)t.tv_sec - (uint64_t)n->atime.tv_sec >= 86400);
}

/*
 * What the kernel asks for with HANDLE_KILLPRIV_V2 (not enabled by memfs,
 * honoured anyway): drop setuid, and setgid when it means "setgid" rather
 * than mandatory locking (no group execute bit).
 */
static size_t xattr_bytes(const struct xattr *x);
static struct xattr **xattr_find(struct mnode *n, const char *name);

/*
 * What a change of data or owner by someone else costs the file: suid,
 * sgid (when group-executable) and file capabilities, as the kernel would
 * do without HANDLE_KILLPRIV_V2.
 */
static void kill_suidgid(struct mnode *n)
{
	struct xattr **p = xattr_find(n, "security.capability"), *x = *p;

	n->perm &= ~(mode_t)S_ISUID;
	if (n->perm & S_IXGRP)
		n->perm &= ~(mode_t)S_ISGID;
	if (x) {
		*p = x->next;
		n->xattr_bytes -= xattr_bytes(x);
		free(x);
	}
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

static void memfs_lookup(struct furi_req *req, uint64_t parent, const char *name)
{
	struct memfs *fs = req_fs(req);
	struct furi_entry e;
	struct mnode *dir, *n = NULL;
	size_t len;
	int err = name_len(name, &len);

	ns_rd(fs);
	if (!err)
		err = get_dir(fs, parent, &dir);
	if (!err) {
		if (!strcmp(name, "."))
			n = dir;
		else if (!strcmp(name, ".."))
			n = dir->dir.parent;
		else {
			struct dent *d = dir_find(&dir->dir, name, len);
			n = d ? d->node : NULL;
		}
		if (n)
			node_entry(fs, n, &e);
		else
			err = ENOENT;
	}
	ns_unlock(fs);
	reply_entry(req, err, &e);
}

static void memfs_forget(void *fsp, uint64_t ino, uint64_t nlookup)
{
	struct memfs *fs = fsp;
	struct mnode *n;

	ns_rd(fs);
	n = itab_get(fs, ino);
	bool done = !n || count_drop_fast(&n->nlookup, nlookup);
	ns_unlock(fs);
	if (done)
		return;
	ns_wr(fs);
	n = itab_get(fs, ino);
	if (n) {
		count_drop(&n->nlookup, nlookup);
		node_put(fs, n);
	}
	ns_unlock(fs);
}

/* Create a named inode in parent and answer with its entry. */
static void make_entry(struct furi_req *req, uint64_t parent, const char *name,
		       const struct mkspec *mk)
{
	struct memfs *fs = req_fs(req);
	struct furi_entry e;
	struct mnode *dir, *n;
	size_t len;
	int err = name_len(name, &len);

	ns_wr(fs);
	if (!err)
		err = get_dir(fs, parent, &dir);
	if (!err && dir_find(&dir->dir, name, len))
		err = EEXIST;
	if (!err)
		err = node_create(fs, req, dir, mk, &n);
	if (!err)
		err = link_new(fs, dir, name, len, n);
	if (!err)
		node_entry(fs, n, &e);
	ns_unlock(fs);
	reply_entry(req, err, &e);
}

static void memfs_mknod(struct furi_req *req, uint64_t parent, const char *name,
			mode_t mode, dev_t rdev)
{
	mode_t type = mode & S_IFMT;
	if (!type)
		type = S_IFREG;
	if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK &&
	    type != S_IFCHR && type != S_IFBLK) {
		furi_reply_err(req, EINVAL);
		return;
	}
	struct mkspec mk = {
		.type = type,
		.perm = mode & 07777,
		.rdev = (type == S_IFCHR || type == S_IFBLK) ? rdev : 0,
	};
	make_entry(req, parent, name, &mk);
}

static void memfs_mkdir(struct furi_req *req, uint64_t parent, const char *name, mode_t mode)
{
	struct mkspec mk = { .type = S_IFDIR, .perm = mode & 07777 };
	make_entry(req, parent, name, &mk);
}

static void memfs_symlink(struct furi_req *req, uint64_t parent, const char *name,
			  const char *target)
{
	struct mkspec mk = { .type = S_IFLNK, .perm = 0777, .target = target };
	make_entry(req, parent, name, &mk);
}

static void memfs_link(struct furi_req *req, uint64_t ino, uint64_t newparent,
		       const char *newname)
{
	struct memfs *fs = req_fs(req);
	struct furi_entry e;
	struct mnode *dir, *n;
	size_t len;
	int err = name_len(newname, &len);

	ns_wr(fs);
	n = itab_get(fs, ino);
	if (!err && !n)
		err = ENOENT;
	if (!err && n->type == S_IFDIR)
		err = EPERM;
	if (!err)
		err = get_dir(fs, newparent, &dir);
	if (!err && dir_find(&dir->dir, newname, len))
		err = EEXIST;
	/* an O_TMPFILE inode (nlink 0) gets its first name here */
	if (!err)
		err = dir_add(&dir->dir, newname, len, n);
	if (!err) {
		n->nlink++;
		stamp(n, T_C);
		stamp(dir, T_M | T_C);
		node_entry(fs, n, &e);
	}
	ns_unlock(fs);
	reply_entry(req, err, &e);
}

static void memfs_unlink(struct furi_req *req, uint64_t parent, const char *name)
{
	struct memfs *fs = req_fs(req);
	struct mnode *dir;
	struct dent *d = NULL;
	size_t len;
	int err = name_len(name, &len);

	ns_wr(fs);
	if (!err)
		err = get_dir(fs, parent, &dir);
	if (!err && !(d = dir_find(&dir->dir, name, len)))
		err = ENOENT;
	if (!err && d->node->type == S_IFDIR)
		err = EISDIR;
	if (!err) {
		struct mnode *n = d->node;
		dir_del(&dir->dir, d);
		unlink_node(dir, n);
		stamp(dir, T_M | T_C);
		node_put(fs, n);
	}
	ns_unlock(fs);
	furi_reply_err(req, err);
}

static void memfs_rmdir(struct furi_req *req, uint64_t parent, const char *name)
{
	struct memfs *fs = req_fs(req);
	struct mnode *dir;
	struct dent *d = NULL;
	size_t len;
	int err = name_len(name, &len);

	if (!strcmp(name, "."))
		err = EINVAL;
	else if (!strcmp(name, ".."))
		err = ENOTEMPTY;
	ns_wr(fs);
	if (!err)
		err = get_dir(fs, parent, &dir);
	if (!err && !(d = dir_find(&dir->dir, name, len)))
		err = ENOENT;
	if (!err && d->node->type != S_IFDIR)
		err = ENOTDIR;
	if (!err && d->node->dir.count)
		err = ENOTEMPTY;
	if (!err) {
		struct mnode *n = d->node;
		dir_del(&dir->dir, d);
		unlink_node(dir, n);
		stamp(dir, T_M | T_C);
		node_put(fs, n);
	}
	ns_unlock(fs);
	furi_reply_err(req, err);
}

/* Whether dst may be replaced by src in a plain rename. */
static int check_replace(const struct mnode *src, const struct mnode *dst)
{
	if (src->type == S_IFDIR) {
		if (dst->type != S_IFDIR)
			return ENOTDIR;
		if (dst->dir.count)
			return ENOTEMPTY;
	} else if (dst->type == S_IFDIR) {
		return EISDIR;
	}
	return 0;
}

/* A directory moving from one parent to another takes its ".." link along. */
static void move_dir(struct mnode *n, struct mnode *from, struct mnode *to)
{
	if (n->type != S_IFDIR || from == to)
		return;
	from->nlink--;
	to->nlink++;
	n->dir.parent = to;
}

static void stamp_dirs(struct mnode *a, struct mnode *b)
{
	stamp(a, T_M | T_C);
	if (b != a)
		stamp(b, T_M | T_C);
}

static int rename_exchange(struct memfs *fs, struct mnode *sdir, struct dent *sd,
			   struct mnode *ddir, struct dent *dd)
{
	if (!dd)
		return ENOENT;
	struct mnode *a = sd->node, *b = dd->node;
	if (a == b)
		return 0;
	if ((a->type == S_IFDIR && is_ancestor(fs, a, ddir)) ||
	    (b->type == S_IFDIR && is_ancestor(fs, b, sdir)))
		return EINVAL;
	sd->node = b;
	dd->node = a;
	move_dir(a, sdir, ddir);
	move_dir(b, ddir, sdir);
	stamp(a, T_C);
	stamp(b, T_C);
	stamp_dirs(sdir, ddir);
	return 0;
}

/* With ns exclusive. Every failure comes before the first change. */
static int do_rename(struct memfs *fs, struct furi_req *req, uint64_t parent,
		     const char *name, uint64_t newparent, const char *newname, unsigned flags)
{
	struct mnode *sdir, *ddir, *wh = NULL;
	size_t slen, dlen;
	int err;

	if ((err = name_len(name, &slen)) || (err = name_len(newname, &dlen)))
		return err;
	if ((err = get_dir(fs, parent, &sdir)) || (err = get_dir(fs, newparent, &ddir)))
		return err;
	struct dent *sd = dir_find(&sdir->dir, name, slen);
	struct dent *dd = dir_find(&ddir->dir, newname, dlen);
	if (!sd)
		return ENOENT;
	if (flags & RENAME_EXCHANGE)
		return rename_exchange(fs, sdir, sd, ddir, dd);
	if (dd && (flags & RENAME_NOREPLACE))
		return EEXIST;

	struct mnode *src = sd->node, *dst = dd ? dd->node : NULL;
	if (src == dst)		/* two names of one inode: POSIX says do nothing */
		return 0;
	if (src->type == S_IFDIR && is_ancestor(fs, src, ddir))
		return EINVAL;
	if (dst && (err = check_replace(src, dst)))
		return err;
	if (flags & RENAME_WHITEOUT) {
		struct mkspec mk = { .type = S_IFCHR, .perm = 0, .rdev = 0 };
		if ((err = node_create(fs, req, sdir, &mk, &wh)))
			return err;
	}
	if (!dd && (err = dir_add(&ddir->dir, newname, dlen, src))) {
		if (wh)
			node_free(fs, wh);
		return err;
	}

	if (dd) {
		dd->node = src;
		unlink_node(ddir, dst);
	}
	if (wh) {
		sd->node = wh;
		itab_add(fs, wh);
	} else {
		dir_del(&sdir->dir, sd);
	}
	move_dir(src, sdir, ddir);
	stamp(src, T_C);
	stamp_dirs(sdir, ddir);
	if (dst)
		node_put(fs, dst);
	return 0;
}

static void memfs_rename(struct furi_req *req, uint64_t parent, const char *name,
			 uint64_t newparent, const char *newname, unsigned flags)
{
	struct memfs *fs = req_fs(req);
	int err;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) ||
	    ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)))) {
		furi_reply_err(req, EINVAL);
		return;
	}
	ns_wr(fs);
	err = do_rename(fs, req, parent, name, newparent, newname, flags);
	ns_unlock(fs);
	furi_reply_err(req, err);
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                               */
/* ------------------------------------------------------------------------ */

static void memfs_getattr(struct furi_req *req, uint64_t ino, const uint64_t *fh)
{
	struct memfs *fs = req_fs(req);
	struct stat st;
	struct mnode *n;
	(void)fh;

	ns_rd(fs);
	n = itab_get(fs, ino);
	if (n)
		node_stat(n, &st);
	ns_unlock(fs);
	if (n)
		furi_reply_attr(req, &st, fs->attr_timeout);
	else
		furi_reply_err(req, ENOENT);
}

#define SET_CHANGES (FURI_SET_MODE | FURI_SET_UID | FURI_SET_GID | FURI_SET_SIZE |	\
		     FURI_SET_ATIME | FURI_SET_MTIME | FURI_SET_ATIME_NOW |		\
		     FURI_SET_MTIME_NOW | FURI_SET_CTIME | FURI_SET_KILL_SUIDGID)

/* With n locked for writing. Checks everything before changing anything. */
static int apply_setattr(struct memfs *fs, struct mnode *n, const struct furi_setattr *a)
{
	unsigned v = a->valid;
	struct timespec t = now();

	if (v & FURI_SET_SIZE) {
		if (n->type == S_IFDIR)
			return EISDIR;
		if (n->type != S_IFREG)
			return EINVAL;
		if (a->size > FILE_SIZE_MAX)
			return EFBIG;
		file_truncate(fs, n, a->size);
		stamp_locked(n, T_M, t);
	}
	if (v & FURI_SET_MODE)
		n->perm = a->mode & 07777;
	if (v & FURI_SET_UID)
		n->uid = a->uid;
	if (v & FURI_SET_GID)
		n->gid = a->gid;
	if (v & FURI_SET_KILL_SUIDGID)
		kill_suidgid(n);
	if (v & FURI_SET_ATIME_NOW)
		n->atime = t;
	else if (v & FURI_SET_ATIME)
		n->atime = a->atime;
	if (v & FURI_SET_MTIME_NOW)
		n->mtime = t;
	else if (v & FURI_SET_MTIME)
		n->mtime = a->mtime;
	if (v & SET_CHANGES)
		n->ctime = (v & FURI_SET_CTIME) ? a->ctime : t;
	return 0;
}

/*
 * A truncation may free gigabytes: do it with the inode pinned by an open
 * count instead of under ns, where it would hold up every namespace call.
 */
static void memfs_setattr(struct furi_req *req, uint64_t ino, const struct furi_setattr *attr)
{
	struct memfs *fs = req_fs(req);
	struct stat st;
	struct mnode *n;
	int err;

	ns_rd(fs);
	n = itab_get(fs, ino);
	if (n)
		atomic_fetch_add(&n->nopen, 1);
	ns_unlock(fs);
	if (!n) {
		furi_reply_err(req, ENOENT);
		return;
	}
	node_wr(n);
	err = apply_setattr(fs, n, attr);
	node_unlock(n);
	if (!err) {
		ns_rd(fs);
		node_stat(n, &st);
		ns_unlock(fs);
	}
	drop_open(fs, n);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_attr(req, &st, fs->attr_timeout);
}

static void memfs_readlink(struct furi_req *req, uint64_t ino)
{
	struct memfs *fs = req_fs(req);
	char *target = NULL;
	int err = 0;

	ns_rd(fs);
	struct mnode *n = itab_get(fs, ino);
	if (!n)
		err = ENOENT;
	else if (n->type != S_IFLNK)
		err = EINVAL;
	else if (!(target = strdup(n->target)))
		err = ENOMEM;
	ns_unlock(fs);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_readlink(req, target);
	free(target);
}

static void memfs_statfs(struct furi_req *req, uint64_t ino)
{
	struct memfs *fs = req_fs(req);
	struct statvfs st;
	uint64_t used = atomic_load(&fs->used_blocks), inodes = atomic_load(&fs->ninodes);
	uint64_t files = fs->max_inodes ? fs->max_inodes : STATFS_FILES;
	(void)ino;

	memset(&st, 0, sizeof(st));
	st.f_bsize = BS;
	st.f_frsize = BS;
	st.f_blocks = fs->max_blocks;
	st.f_bfree = st.f_bavail = used < fs->max_blocks ? fs->max_blocks - used : 0;
	st.f_files = files;
	st.f_ffree = st.f_favail = inodes < files ? files - inodes : 0;
	st.f_namemax = NAME_LEN_MAX;
	furi_reply_statfs(req, &st);
}

static void memfs_access(struct furi_req *req, uint64_t ino, int mask)
{
	struct memfs *fs = req_fs(req);
	(void)mask;	/* default_permissions: the kernel has checked */
	ns_rd(fs);
	bool found = itab_get(fs, ino) != NULL;
	ns_unlock(fs);
	furi_reply_err(req, found ? 0 : ENOENT);
}

/* ------------------------------------------------------------------------ */
/* Extended attributes                                                      */
/* ------------------------------------------------------------------------ */

static size_t xattr_bytes(const struct xattr *x)
{
	return x->namelen + 1 + x->size;
}

static struct xattr **xattr_find(struct mnode *n, const char *name)
{
	struct xattr **p = &n->xattrs;
	for (; *p; p = &(*p)->next)
		if (!strcmp((*p)->data, name))
			return p;
	return p;
}

static int xattr_set(struct mnode *n, const char *name, const void *value, size_t size,
		     int flags)
{
	struct xattr **p = xattr_find(n, name), *old = *p;
	if (old && (flags & XATTR_CREATE))
		return EEXIST;
	if (!old && (flags & XATTR_REPLACE))
		return ENODATA;
	size_t namelen = strlen(name);
	size_t total = n->xattr_bytes - (old ? xattr_bytes(old) : 0) + namelen + 1 + size;
	if (total > XATTR_BYTES_MAX)
		return ENOSPC;
	struct xattr *x = malloc(sizeof(*x) + namelen + 1 + size);
	if (!x)
		return ENOMEM;
	x->namelen = namelen;
	x->size = size;
	memcpy(x->data, name, namelen + 1);
	if (size)	/* an empty value may come as NULL */
		memcpy(x->data + namelen + 1, value, size);
	x->next = old ? old->next : NULL;
	*p = x;
	free(old);
	n->xattr_bytes = total;
	return 0;
}

static void memfs_setxattr(struct furi_req *req, uint64_t ino, const char *name,
			   const void *value, size_t size, int flags, unsigned setxattr_flags)
{
	struct memfs *fs = req_fs(req);
	int err = ENOENT;

	ns_rd(fs);
	struct mnode *n = itab_get(fs, ino);
	if (n) {
		node_wr(n);
		err = xattr_set(n, name, value, size, flags);
		if (!err && (setxattr_flags & FURI_SETXATTR_ACL_KILL_SGID))
			n->perm &= ~(mode_t)S_ISGID;
		if (!err)
			stamp_locked(n, T_C, now());
		node_unlock(n);
	}
	ns_unlock(fs);
	furi_reply_err(req, err);
}

/* Answer a getxattr/listxattr from the payload, or with its size, or ERANGE. */
static int xattr_answer(struct furi_req *req, size_t want, size_t have, const void *src,
			size_t *reply)
{
	if (!want) {
		*reply = have;
		return 0;
	}
	if (have > want)
		return ERANGE;
	size_t cap;
	char *dst = furi_req_payload(req, &cap);
	if (have > cap)
		return ERANGE;
	memcpy(dst, src, have);
	*reply = have;
	return 0;
}

static void finish_xattr(struct furi_req *req, int err, size_t want, size_t len)
{
	if (err)
		furi_reply_err(req, err);
	else if (!want)
		furi_reply_xattr_size(req, len);
	else
		furi_reply_data(req, len);
}

static void memfs_getxattr(struct furi_req *req, uint64_t ino, const char *name, size_t size)
{
	struct memfs *fs = req_fs(req);
	size_t len = 0;
	int err = ENOENT;

	ns_rd(fs);
	struct mnode *n = itab_get(fs, ino);
	if (n) {
		node_rd(n);
		struct xattr *x = *xattr_find(n, name);
		err = x ? xattr_answer(req, size, x->size, x->data + x->namelen + 1, &len)
			: ENODATA;
		node_unlock(n);
	}
	ns_unlock(fs);
	finish_xattr(req, err, size, len);
}

static void memfs_listxattr(struct furi_req *req, uint64_t ino, size_t size)
{
	struct memfs *fs = req_fs(req);
	size_t len = 0, cap;
	int err = ENOENT;

	ns_rd(fs);
	struct mnode *n = itab_get(fs, ino);
	if (n) {
		node_rd(n);
		for (struct xattr *x = n->xattrs; x; x = x->next)
			len += x->namelen + 1;
		err = 0;
		if (size && len > size)
			err = ERANGE;
		if (size && !err) {
			char *dst = furi_req_payload(req, &cap);
			size_t at = 0;
			if (len > cap)
				err = ERANGE;
			for (struct xattr *x = n->xattrs; x && !err; x = x->next) {
				memcpy(dst + at, x->data, x->namelen + 1);
				at += x->namelen + 1;
			}
		}
		node_unlock(n);
	}
	ns_unlock(fs);
	finish_xattr(req, err, size, len);
}

static void memfs_removexattr(struct furi_req *req, uint64_t ino, const char *name)
{
	struct memfs *fs = req_fs(req);
	int err = ENOENT;

	ns_rd(fs);
	struct mnode *n = itab_get(fs, ino);
	if (n) {
		node_wr(n);
		struct xattr **p = xattr_find(n, name), *x = *p;
		err = ENODATA;
		if (x) {
			*p = x->next;
			n->xattr_bytes -= xattr_bytes(x);
			free(x);
			stamp_locked(n, T_C, now());
			err = 0;
		}
		node_unlock(n);
	}
	ns_unlock(fs);
	furi_reply_err(req, err);
}

/* ------------------------------------------------------------------------ */
/* Open files                                                               */
/* ------------------------------------------------------------------------ */

/* A new handle of n (with ns held): the handle is n, pinned by nopen. */
static void open_handle(struct mnode *n, struct furi_open *fo)
{
	atomic_fetch_add(&n->nopen, 1);
	fo->fh = (uintptr_t)n;
	/* every change goes through this mount, and the kernel drops what it
	 * must itself (O_TRUNC, fallocate, copy_file_range) */
	fo->keep_cache = 1;
	/* nothing to do at close: spare the FLUSH round trip (the kernel
	 * still writes back its cache first with -o writeback_cache) */
	fo->noflush = 1;
}

/* O_TRUNC, which the kernel leaves to us with FURI_CAP_ATOMIC_O_TRUNC. */
static void open_trunc(struct memfs *fs, struct mnode *n, const struct furi_open *fo)
{
	if (!(fo->flags & O_TRUNC) || n->type != S_IFREG)
		return;
	node_wr(n);
	file_truncate(fs, n, 0);
	if (fo->kill_suidgid)
		kill_suidgid(n);
	stamp_locked(n, T_M | T_C, now());
	node_unlock(n);
}

static void memfs_open(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	struct memfs *fs = req_fs(req);
	int err = 0;

	ns_rd(fs);
	struct mnode *n = itab_get(fs, ino);
	if (!n)
		err = ENOENT;
	else if (n->type == S_IFDIR)
		err = EISDIR;
	else
		open_handle(n, fo);
	ns_unlock(fs);
	if (err) {
		furi_reply_err(req, err);
		return;
	}
	open_trunc(fs, n, fo);	/* the new handle pins n */
	furi_reply_open(req, fo);
}

static void memfs_create(struct furi_req *req, uint64_t parent, const char *name,
			 mode_t mode, struct furi_open *fo)
{
	struct memfs *fs = req_fs(req);
	struct furi_entry e;
	struct mnode *dir, *n = NULL;
	size_t len;
	int err = name_len(name, &len);

	ns_wr(fs);
	if (!err)
		err = get_dir(fs, parent, &dir);
	struct dent *d = err ? NULL : dir_find(&dir->dir, name, len);
	if (d) {
		/* lost a race with another create: open what is there, like open(2) */
		n = d->node;
		if (fo->flags & O_EXCL)
			err = EEXIST;
		else if (n->type == S_IFDIR)
			err = EISDIR;
		else if (n->type != S_IFREG)
			err = EEXIST;
	} else if (!err) {
		struct mkspec mk = { .type = S_IFREG, .perm = mode & 07777 };
		err = node_create(fs, req, dir, &mk, &n);
		if (!err)
			err = link_new(fs, dir, name, len, n);
	}
	if (!err) {
		/* only after a lost race, rare enough to truncate under ns */
		if (d)
			open_trunc(fs, n, fo);
		open_handle(n, fo);
		node_entry(fs, n, &e);
	}
	ns_unlock(fs);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_create(req, &e, fo);
}

static void memfs_tmpfile(struct furi_req *req, uint64_t parent, mode_t mode,
			  struct furi_open *fo)
{
	struct memfs *fs = req_fs(req);
	struct furi_entry e;
	struct mnode *dir, *n;
	struct mkspec mk = { .type = S_IFREG, .perm = mode & 07777 };

	ns_wr(fs);
	int err = get_dir(fs, parent, &dir);
	if (!err)
		err = node_create(fs, req, dir, &mk, &n);
	if (!err) {
		n->nlink = 0;	/* linkat() may name it later */
		itab_add(fs, n);
		open_handle(n, fo);
		node_entry(fs, n, &e);
	}
	ns_unlock(fs);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_create(req, &e, fo);
}

static void memfs_read(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
		       size_t size)
{
	struct mnode *n = fh_node(fh);
	size_t cap;
	char *buf = furi_req_payload(req, &cap);
	(void)ino;

	if (n->type != S_IFREG) {
		furi_reply_err(req, EISDIR);
		return;
	}
	if (size > cap)
		size = cap;
	struct timespec t = now();
	node_rd(n);
	size_t got = req_fs(req)->discard ? null_read(n, off, size, buf)
					  : file_read(n, off, size, buf);
	bool touch = atime_stale(n, t);
	node_unlock(n);
	if (touch) {
		node_wr(n);
		n->atime = t;
		node_unlock(n);
	}
	furi_reply_data(req, got);
}

static void memfs_write(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
			const void *data, size_t size, unsigned write_flags)
{
	struct memfs *fs = req_fs(req);
	struct mnode *n = fh_node(fh);
	(void)ino;

	if (n->type != S_IFREG) {
		furi_reply_err(req, EINVAL);
		return;
	}
	if (off > FILE_SIZE_MAX || size > FILE_SIZE_MAX - off) {
		furi_reply_err(req, EFBIG);
		return;
	}
	node_wr(n);
	if (write_flags & FURI_WRITE_KILL_SUIDGID)
		kill_suidgid(n);
	ssize_t r = fs->discard ? null_write(n, off, size) : file_write(fs, n, off, data, size);
	node_unlock(n);
	if (r < 0)
		furi_reply_err(req, (int)-r);
	else
		furi_reply_write(req, (size_t)r);
}

static void memfs_flush(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t lock_owner)
{
	(void)ino, (void)fh, (void)lock_owner;
	furi_reply_err(req, 0);
}

static void memfs_release(struct furi_req *req, uint64_t ino, uint64_t fh, int flags,
			  uint64_t lock_owner, bool flush)
{
	(void)ino, (void)flags, (void)lock_owner, (void)flush;
	drop_open(req_fs(req), fh_node(fh));
	furi_reply_err(req, 0);
}

/* Memory is as durable as it gets. */
static void memfs_fsync(struct furi_req *req, uint64_t ino, uint64_t fh, bool datasync)
{
	(void)ino, (void)fh, (void)datasync;
	furi_reply_err(req, 0);
}

static int do_fallocate(struct memfs *fs, struct mnode *n, int mode, uint64_t off, uint64_t len)
{
	const int known = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
	uint64_t end = off + len;
	int err;

	if (mode & ~known)
		return EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) &&
	    (!(mode & FALLOC_FL_KEEP_SIZE) || (mode & FALLOC_FL_ZERO_RANGE)))
		return EOPNOTSUPP;
	if (!len)
		return EINVAL;
	if (off > FILE_SIZE_MAX || len > FILE_SIZE_MAX - off)
		return EFBIG;

	struct timespec t = now();
	node_wr(n);
	if (mode & FALLOC_FL_PUNCH_HOLE)
		err = file_zero(fs, n, off, len, false);
	else if (mode & FALLOC_FL_ZERO_RANGE)
		err = file_zero(fs, n, off, len, true);
	else
		err = file_prealloc(fs, n, off, len);
	if (!err) {
		unsigned which = T_C;
		if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
			which |= T_M;
		if (!(mode & FALLOC_FL_KEEP_SIZE) && end > n->size) {
			n->size = end;
			which |= T_M;
		}
		stamp_locked(n, which, t);
	}
	node_unlock(n);
	return err;
}

static void memfs_fallocate(struct furi_req *req, uint64_t ino, uint64_t fh, int mode,
			    uint64_t off, uint64_t len)
{
	struct mnode *n = fh_node(fh);
	(void)ino;

	if (n->type != S_IFREG)
		furi_reply_err(req, n->type == S_IFDIR ? EISDIR : ENODEV);
	else
		furi_reply_err(req, do_fallocate(req_fs(req), n, mode, off, len));
}

/* SEEK_DATA/SEEK_HOLE from the block map; EOF is the last hole. */
static int seek_locked(const struct mnode *n, uint64_t off, int whence, uint64_t *res)
{
	uint64_t size = n->size, idx;
	if (off >= size)
		return ENXIO;
	if (whence == SEEK_DATA) {
		if (!bmap_next_data(&n->data, off >> BS_SHIFT, &idx) || idx > (size - 1) >> BS_SHIFT)
			return ENXIO;
		*res = max_u64(off, idx << BS_SHIFT);
		return 0;
	}
	if (whence != SEEK_HOLE)
		return EINVAL;
	idx = bmap_next_hole(&n->data, off >> BS_SHIFT);
	*res = idx > (size - 1) >> BS_SHIFT ? size : max_u64(off, idx << BS_SHIFT);
	return 0;
}

static void memfs_lseek(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
			int whence)
{
	struct mnode *n = fh_node(fh);
	uint64_t res = 0;
	int err = EINVAL;
	(void)ino;

	/*
	 * With the writeback cache the kernel holds data and sizes we have not
	 * seen, and does not flush them before LSEEK: ENOSYS makes it answer
	 * from its own size instead (all data up to EOF), which is right.
	 */
	if (req_fs(req)->writeback) {
		furi_reply_err(req, ENOSYS);
		return;
	}
	if (n->type == S_IFREG) {
		node_rd(n);
		err = seek_locked(n, off, whence, &res);
		node_unlock(n);
	}
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_lseek(req, res);
}

/*
 * One step of copy_file_range: a hole of the source becomes a hole of the
 * destination (no memory spent on zeros), data is copied through buf.
 * Returns bytes done, 0 at the source's EOF, or -errno.
 */
static int64_t copy_step(struct memfs *fs, struct mnode *in, uint64_t pin,
			 struct mnode *out, uint64_t pout, uint64_t left, char *buf)
{
	uint64_t chunk, data;
	bool hole;
	int64_t r;

	node_rd(in);
	if (pin >= in->size) {
		node_unlock(in);
		return 0;
	}
	left = min_u64(left, in->size - pin);
	hole = !bmap_get(&in->data, pin >> BS_SHIFT);
	if (hole) {
		chunk = left;
		if (bmap_next_data(&in->data, pin >> BS_SHIFT, &data))
			chunk = min_u64(left, (data << BS_SHIFT) - pin);
	} else {
		chunk = file_read(in, pin, (size_t)min_u64(left, COPY_CHUNK), buf);
	}
	node_unlock(in);

	node_wr(out);
	if (hole) {
		int err = file_zero(fs, out, pout, chunk, false);
		r = err ? -err : (int64_t)chunk;
		if (!err) {
			out->size = max_u64(out->size, pout + chunk);
			stamp_locked(out, T_M | T_C, now());
		}
	} else {
		r = file_write(fs, out, pout, buf, (size_t)chunk);
	}
	node_unlock(out);
	return r;
}

static void memfs_copy_file_range(struct furi_req *req, uint64_t ino_in, uint64_t fh_in,
				  uint64_t off_in, uint64_t ino_out, uint64_t fh_out,
				  uint64_t off_out, uint64_t len, unsigned flags)
{
	struct memfs *fs = req_fs(req);
	struct mnode *in = fh_node(fh_in), *out = fh_node(fh_out);
	char buf[COPY_CHUNK];
	uint64_t done = 0;
	int err = 0;
	(void)ino_in, (void)ino_out;

	if (flags)
		err = EINVAL;
	else if (in->type != S_IFREG || out->type != S_IFREG)
		err = in->type == S_IFDIR || out->type == S_IFDIR ? EISDIR : EINVAL;
	else if (off_in > FILE_SIZE_MAX || off_out > FILE_SIZE_MAX)
		err = EFBIG;
	len = min_u64(len, FILE_SIZE_MAX - max_u64(off_in, off_out));
	while (!err && done < len) {
		int64_t r = copy_step(fs, in, off_in + done, out, off_out + done, len - done, buf);
		if (r < 0)
			err = (int)-r;
		if (r <= 0)
			break;
		done += (uint64_t)r;
	}
	if (done)
		furi_reply_copy(req, done);
	else
		furi_reply_err(req, err);
}

/* ------------------------------------------------------------------------ */
/* Directories                                                              */
/* ------------------------------------------------------------------------ */

static void memfs_opendir(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	struct memfs *fs = req_fs(req);
	int err = 0;

	ns_rd(fs);
	struct mnode *n = itab_get(fs, ino);
	if (!n)
		err = ENOENT;
	else if (n->type != S_IFDIR)
		err = ENOTDIR;
	else {
		atomic_fetch_add(&n->nopen, 1);
		fo->fh = (uintptr_t)n;
	}
	ns_unlock(fs);
	if (err)
		furi_reply_err(req, err);
	else
		furi_reply_open(req, fo);
}

/* With ns held. "." and ".." carry no lookup reference in readdirplus. */
static bool list_one(const struct memfs *fs, struct furi_dirbuf *db, const char *name,
		     struct mnode *n, uint64_t next, bool plus, bool ref)
{
	struct furi_entry e;
	if (!plus)
		return furi_dirbuf_add(db, name, n->ino, n->type, next);
	entry_fill(fs, n, &e);
	if (!furi_dirbuf_add_plus(db, name, &e, next))
		return false;
	if (ref)
		atomic_fetch_add(&n->nlookup, 1);
	return true;
}

static void list_dir(struct memfs *fs, struct mnode *dir, struct furi_dirbuf *db,
		     uint64_t off, bool plus)
{
	if (off < 1 && !list_one(fs, db, ".", dir, 1, plus, false))
		return;
	if (off < 2 && !list_one(fs, db, "..", dir->dir.parent, 2, plus, false))
		return;
	for (size_t i = dir_seek(&dir->dir, off); i < dir->dir.olen; i++) {
		struct dent *d = dir->dir.order[i].d;
		if (d && !list_one(fs, db, d->name, d->node, d->cookie, plus, true))
			return;
	}
}

static void read_dir(struct furi_req *req, uint64_t fh, uint64_t off, size_t size, bool plus)
{
	struct memfs *fs = req_fs(req);
	struct mnode *dir = fh_node(fh);
	struct furi_dirbuf db;

	furi_dirbuf_init(&db, req, size);
	ns_rd(fs);
	if (dir->dir.parent)	/* a removed directory lists nothing */
		list_dir(fs, dir, &db, off, plus);
	ns_unlock(fs);
	furi_reply_dirbuf(req, &db);
}

static void memfs_readdir(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
			  size_t size)
{
	(void)ino;
	read_dir(req, fh, off, size, false);
}

static void memfs_readdirplus(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
			      size_t size)
{
	(void)ino;
	read_dir(req, fh, off, size, true);
}

static void memfs_releasedir(struct furi_req *req, uint64_t ino, uint64_t fh)
{
	(void)ino;
	drop_open(req_fs(req), fh_node(fh));
	furi_reply_err(req, 0);
}

/* ------------------------------------------------------------------------ */
/* Session                                                                  */
/* ------------------------------------------------------------------------ */

static void memfs_init(void *fsp, struct furi_conn *conn)
{
	struct memfs *fs = fsp;
	fs->writeback = conn->want & conn->capable & FURI_CAP_WRITEBACK_CACHE;
	bg_start(fs);
	conn->want |= FURI_CAP_ATOMIC_O_TRUNC | FURI_CAP_CACHE_SYMLINKS |
		      FURI_CAP_PARALLEL_DIROPS;
	/*
	 * memfs clears suid/sgid/capabilities itself (kill_suidgid), which
	 * spares the kernel a GETXATTR(security.capability) before each WRITE.
	 * The kernel keeps umask and file locks.
	 */
	conn->want |= FURI_CAP_HANDLE_KILLPRIV_V2;
	conn->want &= ~(FURI_CAP_DONT_MASK | FURI_CAP_HANDLE_KILLPRIV | FURI_CAP_POSIX_ACL |
			FURI_CAP_POSIX_LOCKS | FURI_CAP_FLOCK_LOCKS);
	conn->time_gran = 1;
}

const struct furi_ops memfs_ops = {
	.init = memfs_init,
	.lookup = memfs_lookup,
	.forget = memfs_forget,
	.getattr = memfs_getattr,
	.setattr = memfs_setattr,
	.readlink = memfs_readlink,
	.mknod = memfs_mknod,
	.mkdir = memfs_mkdir,
	.unlink = memfs_unlink,
	.rmdir = memfs_rmdir,
	.symlink = memfs_symlink,
	.rename = memfs_rename,
	.link = memfs_link,
	.open = memfs_open,
	.read = memfs_read,
	.write = memfs_write,
	.flush = memfs_flush,
	.release = memfs_release,
	.fsync = memfs_fsync,
	.opendir = memfs_opendir,
	.readdir = memfs_readdir,
	.readdirplus = memfs_readdirplus,
	.releasedir = memfs_releasedir,
	.fsyncdir = memfs_fsync,
	.statfs = memfs_statfs,
	.setxattr = memfs_setxattr,
	.getxattr = memfs_getxattr,
	.listxattr = memfs_listxattr,
	.removexattr = memfs_removexattr,
	.access = memfs_access,
	.create = memfs_create,
	.fallocate = memfs_fallocate,
	.lseek = memfs_lseek,
	.copy_file_range = memfs_copy_file_range,
	.tmpfile = memfs_tmpfile,
};

/* ------------------------------------------------------------------------ */
/* Options and lifetime                                                     */
/* ------------------------------------------------------------------------ */

static int opt_err(char *err, size_t errlen, const char *fmt, const char *key, const char *val)
{
	snprintf(err, errlen, fmt, key, val ? val : "");
	return -EINVAL;
}

/* A count with an optional k, m, g, t, p or e (powers of 1024). */
static bool parse_count(const char *s, uint64_t *out, bool percent_ok, bool *percent)
{
	static const char units[] = "kmgtpe";
	char *end;
	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	*percent = false;
	if (*end && strchr(units, *end | 0x20)) {
		unsigned shift = 10 * (unsigned)(strchr(units, *end | 0x20) - units + 1);
		if (v > (UINT64_MAX >> shift))
			return false;
		v <<= shift;
		end++;
	} else if (*end == '%' && percent_ok) {
		*percent = true;
		end++;
	}
	if (*end)
		return false;
	*out = v;
	return true;
}

static int opt_size(struct memfs *fs, const char *key, const char *val, char *err, size_t errlen)
{
	uint64_t v;
	bool pct;
	if (!parse_count(val, &v, true, &pct))
		return opt_err(err, errlen,
			       "bad value for -o %s: '%s' (expected BYTES with an optional "
			       "K, M, G or T, or a percentage of RAM like 50%%)", key, val);
	if (pct) {
		long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
		if (v == 0 || v > 1000 || pages <= 0 || psize <= 0)
			return opt_err(err, errlen,
				       "bad value for -o %s: '%s' (a percentage of RAM from 1%% to 1000%%)",
				       key, val);
		v = (uint64_t)pages * (uint64_t)psize / 100 * v;
	}
	if (v < BS)
		return opt_err(err, errlen, "-o %s=%s is too small: memfs needs at least 4K",
			       key, val);
	fs->max_blocks = v / BS;
	return 0;
}

static int opt_timeout(double *field, const char *key, const char *val, char *err,
		       size_t errlen)
{
	char *end;
	double v = val && *val ? strtod(val, &end) : -1;
	if (!val || !*val || *end || !isfinite(v) || v < 0 || v > 1e9)
		return opt_err(err, errlen,
			       "bad value for -o %s: '%s' (expected seconds, like 1 or 0.5)",
			       key, val);
	*field = v;
	return 0;
}

static int opt_id(unsigned *field, const char *key, const char *val, int base, unsigned max,
		  char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long v = val && *val >= '0' && *val <= '9' ? strtoul(val, &end, base) : ULONG_MAX;
	if (!val || v == ULONG_MAX || errno || *end || v > max)
		return opt_err(err, errlen, base == 8
			       ? "bad value for -o %s: '%s' (expected octal permission bits, like 1777)"
			       : "bad value for -o %s: '%s' (expected a number)", key, val);
	*field = (unsigned)v;
	return 0;
}

int memfs_set_option(void *fsp, char *opt, struct furi_config *cfg, char *err,
			    size_t errlen)
{
	struct memfs *fs = fsp;
	const char *eq = strchr(opt, '=');
	const char *val = eq ? eq + 1 : NULL;
	char key[32];
	size_t klen = eq ? (size_t)(eq - opt) : strlen(opt);
	(void)cfg;

	if (klen >= sizeof(key))
		return -ENOENT;
	memcpy(key, opt, klen);
	key[klen] = '\0';

	if (!strcmp(key, "size"))
		return opt_size(fs, key, val, err, errlen);
	if (!strcmp(key, "nr_inodes")) {
		uint64_t v;
		bool pct;
		if (!parse_count(val, &v, false, &pct))
			return opt_err(err, errlen,
				       "bad value for -o %s: '%s' (expected a number, 0 for no limit)",
				       key, val);
		fs->max_inodes = v;
		return 0;
	}
	if (!strcmp(key, "entry_timeout"))
		return opt_timeout(&fs->entry_timeout, key, val, err, errlen);
	if (!strcmp(key, "attr_timeout"))
		return opt_timeout(&fs->attr_timeout, key, val, err, errlen);
	if (!strcmp(key, "mode")) {
		unsigned v;
		int r = opt_id(&v, key, val, 8, 07777, err, errlen);
		fs->root_mode = r ? fs->root_mode : (mode_t)v;
		return r;
	}
	if (!strcmp(key, "uid"))
		return opt_id(&fs->root_uid, key, val, 10, UINT32_MAX - 1, err, errlen);
	if (!strcmp(key, "gid"))
		return opt_id(&fs->root_gid, key, val, 10, UINT32_MAX - 1, err, errlen);
	/* libfuse's kernel_cache: every open keeps the kernel's cached data already. */
	if (!strcmp(key, "kernel_cache"))
		return val ? opt_err(err, errlen, "-o %s takes no value (got '%s')", key, val) : 0;
	return -ENOENT;
}

void *memfs_alloc_null(void)
{
	struct memfs *fs = memfs_alloc();

	if (fs)
		fs->discard = true;
	return fs;
}

void *memfs_alloc(void)
{
	struct memfs *fs = calloc(1, sizeof(*fs));
	pthread_rwlockattr_t attr;

	if (!fs)
		return NULL;
	fs->itab_size = ITAB_MIN;
	fs->itab = calloc(fs->itab_size, sizeof(*fs->itab));
	if (!fs->itab) {
		free(fs);
		return NULL;
	}
	/* namespace changes must not starve behind a stream of lookups */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&fs->ns, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&fs->bg_lock, NULL);
	pthread_cond_init(&fs->bg_cond, NULL);
	atomic_init(&fs->next_ino, FURI_ROOT_INO);
	fs->max_blocks = DEFAULT_CAPACITY / BS;
	fs->entry_timeout = DEFAULT_TIMEOUT;
	fs->attr_timeout = DEFAULT_TIMEOUT;
	fs->root_mode = 0755;
	fs->root_uid = getuid();
	fs->root_gid = getgid();
	return fs;
}

int memfs_prepare(void *fsp, char **args, const char *mountpoint,
			 struct furi_config *cfg, char *err, size_t errlen)
{
	struct memfs *fs = fsp;
	(void)args, (void)mountpoint;

	cfg->default_permissions = true;
	if (fs->root)
		return 0;
	struct mnode *root = node_new(fs, S_IFDIR, fs->root_mode);
	if (!root) {
		snprintf(err, errlen, "memfs: cannot create the root directory: %s%s",
			 strerror(errno), errno == ENOSPC ? " (raise -o nr_inodes)" : "");
		return errno == ENOSPC ? -ENOSPC : -ENOMEM;
	}
	root->uid = fs->root_uid;
	root->gid = fs->root_gid;
	root->nlink = 2;
	root->dir.parent = root;
	atomic_init(&root->nlookup, 1);
	itab_add(fs, root);
	fs->root = root;
	return 0;
}

void memfs_free(void *fsp)
{
	struct memfs *fs = fsp;
	if (!fs)
		return;
	bg_stop(fs);
	for (size_t i = 0; i < fs->itab_size; i++) {
		struct mnode *n = fs->itab[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			node_free(fs, n);
		}
	}
	free(fs->itab);
	pthread_rwlock_destroy(&fs->ns);
	pthread_mutex_destroy(&fs->bg_lock);
	pthread_cond_destroy(&fs->bg_cond);
	free(fs);
}

static const char memfs_help[] =
"memfs keeps files, directories, symlinks, device nodes, FIFOs, sockets and\n"
"extended attributes in memory; everything is gone at unmount. Files are\n"
"sparse (4 KiB blocks; holes and preallocated ranges cost no memory) and may\n"
"be as large as 8 EiB. The kernel checks permissions (default_permissions is\n"
"always on).\n"
"\n"
"Options:\n"
"  -o size=BYTES           capacity reported by statfs and enforced with ENOSPC,\n"
"                          with an optional K, M, G or T, or a percentage of RAM\n"
"                          like 50% (default 1T; memory is only used by data\n"
"                          actually written)\n"
"  -o nr_inodes=N          at most N inodes, root included (default 0: no limit)\n"
"  -o entry_timeout=SECS   how long the kernel caches names (default 1)\n"
"  -o attr_timeout=SECS    how long the kernel caches attributes (default 1)\n"
"  -o mode=OCTAL           permissions of the root directory (default 755)\n"
"  -o uid=N, -o gid=N      owner of the root directory (default: who mounts)\n";

const struct furi_fs_type furi_memfs_type = {
	.name = "memfs",
	.args = "",
	.nargs = 0,
	.summary = "a POSIX filesystem in memory",
	.help = memfs_help,
	.alloc = memfs_alloc,
	.set_option = memfs_set_option,
	.prepare = memfs_prepare,
	.free = memfs_free,
	.ops = &memfs_ops,
};
