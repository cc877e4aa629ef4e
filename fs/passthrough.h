/* SPDX-License-Identifier: MIT */
/*
 * passthrough.h - what the parts of `furi mount passthrough` share: the
 * inode table, open files and the filesystem's state. passthrough.c serves
 * the requests; passthrough_nodes.c keeps the caller's credentials, the
 * inode table and a call's descriptors; passthrough_setup.c opens the
 * source, takes the options and starts and ends the filesystem.
 */
#ifndef FURI_PASSTHROUGH_H
#define FURI_PASSTHROUGH_H

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
	bool noatime_files, noatime_dirs;	/* O_NOATIME on opens (no private mount) */
	bool dirsync;			/* -o dirsync or sync: directory changes synced */
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
	long max_pinned_fds;		/* and pinned nodes (see pt_pin_before_remove) up to this */
	int mount_fd;			/* the source root opened for reading, for open_by_handle_at */
	int mount_id;			/* its mount: nodes elsewhere keep their descriptor */
};

static inline struct passthrough *req_fs(struct furi_req *req)
{
	return furi_req_fs(req);
}

static inline struct pnode *node_of(struct passthrough *fs, uint64_t nodeid)
{
	if (nodeid == FURI_ROOT_INO)
		return &fs->root;
	return (struct pnode *)(uintptr_t)nodeid;
}

static inline uint64_t nodeid_of(struct passthrough *fs, struct pnode *n)
{
	return n == &fs->root ? FURI_ROOT_INO : (uint64_t)(uintptr_t)n;
}

static inline struct pfile *pfile_of(uint64_t fh)
{
	return (struct pfile *)(uintptr_t)fh;
}

/* "/proc/self/fd/N" relative to fs->proc_fd. */
static inline void fd_name(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "%d", fd);
}

static inline void fd_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

struct creds {
	bool switched;
};

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

/* passthrough_nodes.c: the caller's credentials, the inode table, calls. */
int pt_note_errno(struct passthrough *fs, int e);
int pt_creds_enter(struct passthrough *fs, struct furi_req *req, struct creds *c);
void pt_creds_leave(struct passthrough *fs, struct creds *c);
mode_t pt_creation_mode(struct furi_req *req, mode_t mode);
bool pt_caller_in_group(struct furi_req *req, gid_t gid);
struct pnode *pt_node_get(struct passthrough *fs, const struct stat *st, int *fd);
void pt_node_put(struct passthrough *fs, struct pnode *n, uint64_t count);
int pt_stat_fd(int fd, struct stat *st);
void pt_entry_fill(struct passthrough *fs, struct pnode *n, const struct stat *st,
		   struct furi_entry *e);
int pt_node_from_fd(struct passthrough *fs, int fd, struct furi_entry *e);
bool pt_bad_name(const char *name);
int pt_do_lookup(struct passthrough *fs, int dirfd, const char *name, struct furi_entry *e);
int pt_path_fd_of(struct passthrough *fs, int fd);
int pt_call_begin(struct call *k, struct furi_req *req, struct pnode *a, struct pnode *b,
		  bool as_caller);
void pt_call_end(struct call *k);
void pt_dir_sync(struct call *k, int dirfd);
void pt_pin_before_remove(struct passthrough *fs, int dirfd, const char *name);
/* Close a node's descriptor and free it. */
void pt_node_free(struct passthrough *fs, struct pnode *n);

/* The request handlers (passthrough.c). */
extern const struct furi_ops pt_ops;

#endif /* FURI_PASSTHROUGH_H */
