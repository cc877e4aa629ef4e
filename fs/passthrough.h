/* SPDX-License-Identifier: MIT */
/*
 * passthrough.h - what the two halves of `furi mount passthrough` share:
 * the inode table, open files and the filesystem's state. passthrough.c
 * serves the requests; passthrough_setup.c opens the source, takes the
 * options and starts and ends the filesystem.
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
	long max_pinned_fds;		/* and pinned nodes (see pin_before_remove) up to this */
	int mount_fd;			/* the source root opened for reading, for open_by_handle_at */
	int mount_id;			/* its mount: nodes elsewhere keep their descriptor */
};

/* The request handlers (passthrough.c). */
extern const struct furi_ops pt_ops;
/* Close a node's descriptor and free it. */
void pt_node_free(struct passthrough *fs, struct pnode *n);

#endif /* FURI_PASSTHROUGH_H */
