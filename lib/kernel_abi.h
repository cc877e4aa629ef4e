/* SPDX-License-Identifier: MIT */
/*
 * kernel_abi.h - the FUSE kernel protocol as furi speaks it, up to 7.45
 * (Linux 6.18), FUSE-over-io_uring included.
 *
 * Written for furi from the protocol's documented layout. Every struct the
 * kernel reads or writes has its size pinned by a static assert below: a
 * wrong size here means silent corruption at run time.
 */
#ifndef FURI_KERNEL_ABI_H
#define FURI_KERNEL_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <linux/ioctl.h>

#define FUSE_KERNEL_VERSION		7
#define FUSE_KERNEL_MINOR_VERSION	45
/* Oldest protocol furi accepts: 7.31 (Linux 5.8). */
#define FURI_MIN_MINOR_VERSION		31
/* First protocol with FUSE-over-io_uring (Linux 6.14). */
#define FURI_URING_MIN_MINOR		42

#define FUSE_ROOT_ID			1
#define FUSE_MIN_READ_BUFFER		8192
#define FUSE_DEFAULT_MAX_PAGES		32

/* INIT flags (flags2 is shifted into bits 32..63) */
#define FUSE_ASYNC_READ			(1ULL << 0)
#define FUSE_POSIX_LOCKS		(1ULL << 1)
#define FUSE_FILE_OPS			(1ULL << 2)
#define FUSE_ATOMIC_O_TRUNC		(1ULL << 3)
#define FUSE_EXPORT_SUPPORT		(1ULL << 4)
#define FUSE_BIG_WRITES			(1ULL << 5)
#define FUSE_DONT_MASK			(1ULL << 6)
#define FUSE_SPLICE_WRITE		(1ULL << 7)
#define FUSE_SPLICE_MOVE		(1ULL << 8)
#define FUSE_SPLICE_READ		(1ULL << 9)
#define FUSE_FLOCK_LOCKS		(1ULL << 10)
#define FUSE_HAS_IOCTL_DIR		(1ULL << 11)
#define FUSE_AUTO_INVAL_DATA		(1ULL << 12)
#define FUSE_DO_READDIRPLUS		(1ULL << 13)
#define FUSE_READDIRPLUS_AUTO		(1ULL << 14)
#define FUSE_ASYNC_DIO			(1ULL << 15)
#define FUSE_WRITEBACK_CACHE		(1ULL << 16)
#define FUSE_NO_OPEN_SUPPORT		(1ULL << 17)
#define FUSE_PARALLEL_DIROPS		(1ULL << 18)
#define FUSE_HANDLE_KILLPRIV		(1ULL << 19)
#define FUSE_POSIX_ACL			(1ULL << 20)
#define FUSE_ABORT_ERROR		(1ULL << 21)
#define FUSE_MAX_PAGES			(1ULL << 22)
#define FUSE_CACHE_SYMLINKS		(1ULL << 23)
#define FUSE_NO_OPENDIR_SUPPORT		(1ULL << 24)
#define FUSE_EXPLICIT_INVAL_DATA	(1ULL << 25)
#define FUSE_MAP_ALIGNMENT		(1ULL << 26)
#define FUSE_SUBMOUNTS			(1ULL << 27)
#define FUSE_HANDLE_KILLPRIV_V2		(1ULL << 28)
#define FUSE_SETXATTR_EXT		(1ULL << 29)
#define FUSE_INIT_EXT			(1ULL << 30)
#define FUSE_INIT_RESERVED		(1ULL << 31)
#define FUSE_SECURITY_CTX		(1ULL << 32)
#define FUSE_HAS_INODE_DAX		(1ULL << 33)
#define FUSE_CREATE_SUPP_GROUP		(1ULL << 34)
#define FUSE_HAS_EXPIRE_ONLY		(1ULL << 35)
#define FUSE_DIRECT_IO_ALLOW_MMAP	(1ULL << 36)
#define FUSE_PASSTHROUGH		(1ULL << 37)
#define FUSE_NO_EXPORT_SUPPORT		(1ULL << 38)
#define FUSE_HAS_RESEND			(1ULL << 39)
#define FUSE_ALLOW_IDMAP		(1ULL << 40)
#define FUSE_OVER_IO_URING		(1ULL << 41)
#define FUSE_REQUEST_TIMEOUT		(1ULL << 42)

/* fuse_setattr_in.valid */
#define FATTR_MODE		(1u << 0)
#define FATTR_UID		(1u << 1)
#define FATTR_GID		(1u << 2)
#define FATTR_SIZE		(1u << 3)
#define FATTR_ATIME		(1u << 4)
#define FATTR_MTIME		(1u << 5)
#define FATTR_FH		(1u << 6)
#define FATTR_ATIME_NOW		(1u << 7)
#define FATTR_MTIME_NOW		(1u << 8)
#define FATTR_LOCKOWNER		(1u << 9)
#define FATTR_CTIME		(1u << 10)
#define FATTR_KILL_SUIDGID	(1u << 11)

/* fuse_open_out.open_flags */
#define FOPEN_DIRECT_IO			(1u << 0)
#define FOPEN_KEEP_CACHE		(1u << 1)
#define FOPEN_NONSEEKABLE		(1u << 2)
#define FOPEN_CACHE_DIR			(1u << 3)
#define FOPEN_STREAM			(1u << 4)
#define FOPEN_NOFLUSH			(1u << 5)
#define FOPEN_PARALLEL_DIRECT_WRITES	(1u << 6)
#define FOPEN_PASSTHROUGH		(1u << 7)

/* fuse_open_in.open_flags / fuse_create_in.open_flags */
#define FUSE_OPEN_KILL_SUIDGID		(1u << 0)

#define FUSE_RELEASE_FLUSH		(1u << 0)
#define FUSE_RELEASE_FLOCK_UNLOCK	(1u << 1)
#define FUSE_GETATTR_FH			(1u << 0)
#define FUSE_LK_FLOCK			(1u << 0)
#define FUSE_WRITE_CACHE		(1u << 0)
#define FUSE_WRITE_LOCKOWNER		(1u << 1)
#define FUSE_WRITE_KILL_SUIDGID		(1u << 2)
#define FUSE_READ_LOCKOWNER		(1u << 1)
#define FUSE_FSYNC_FDATASYNC		(1u << 0)
#define FUSE_SETXATTR_ACL_KILL_SGID	(1u << 0)

/* fuse_ioctl_in.flags / fuse_ioctl_out.flags */
#define FUSE_IOCTL_COMPAT		(1u << 0)
#define FUSE_IOCTL_UNRESTRICTED		(1u << 1)
#define FUSE_IOCTL_RETRY		(1u << 2)
#define FUSE_IOCTL_32BIT		(1u << 3)
#define FUSE_IOCTL_DIR			(1u << 4)
#define FUSE_IOCTL_COMPAT_X32		(1u << 5)
#define FUSE_IOCTL_MAX_IOV		256

#define FUSE_POLL_SCHEDULE_NOTIFY	(1u << 0)

/* fuse_notify_inval_entry_out.flags (with FUSE_HAS_EXPIRE_ONLY) */
#define FUSE_EXPIRE_ONLY		(1u << 0)

enum fuse_opcode {
	FUSE_LOOKUP		= 1,
	FUSE_FORGET		= 2,
	FUSE_GETATTR		= 3,
	FUSE_SETATTR		= 4,
	FUSE_READLINK		= 5,
	FUSE_SYMLINK		= 6,
	FUSE_MKNOD		= 8,
	FUSE_MKDIR		= 9,
	FUSE_UNLINK		= 10,
	FUSE_RMDIR		= 11,
	FUSE_RENAME		= 12,
	FUSE_LINK		= 13,
	FUSE_OPEN		= 14,
	FUSE_READ		= 15,
	FUSE_WRITE		= 16,
	FUSE_STATFS		= 17,
	FUSE_RELEASE		= 18,
	FUSE_FSYNC		= 20,
	FUSE_SETXATTR		= 21,
	FUSE_GETXATTR		= 22,
	FUSE_LISTXATTR		= 23,
	FUSE_REMOVEXATTR	= 24,
	FUSE_FLUSH		= 25,
	FUSE_INIT		= 26,
	FUSE_OPENDIR		= 27,
	FUSE_READDIR		= 28,
	FUSE_RELEASEDIR		= 29,
	FUSE_FSYNCDIR		= 30,
	FUSE_GETLK		= 31,
	FUSE_SETLK		= 32,
	FUSE_SETLKW		= 33,
	FUSE_ACCESS		= 34,
	FUSE_CREATE		= 35,
	FUSE_INTERRUPT		= 36,
	FUSE_BMAP		= 37,
	FUSE_DESTROY		= 38,
	FUSE_IOCTL		= 39,
	FUSE_POLL		= 40,
	FUSE_NOTIFY_REPLY	= 41,
	FUSE_BATCH_FORGET	= 42,
	FUSE_FALLOCATE		= 43,
	FUSE_READDIRPLUS	= 44,
	FUSE_RENAME2		= 45,
	FUSE_LSEEK		= 46,
	FUSE_COPY_FILE_RANGE	= 47,
	FUSE_SETUPMAPPING	= 48,
	FUSE_REMOVEMAPPING	= 49,
	FUSE_SYNCFS		= 50,
	FUSE_TMPFILE		= 51,
	FUSE_STATX		= 52,
	FUSE_COPY_FILE_RANGE_64	= 53,
};
/* One past the largest opcode furi counts per opcode. */
#define FURI_OPCODE_MAX 54

enum fuse_notify_code {
	FUSE_NOTIFY_POLL	= 1,
	FUSE_NOTIFY_INVAL_INODE	= 2,
	FUSE_NOTIFY_INVAL_ENTRY	= 3,
	FUSE_NOTIFY_STORE	= 4,
	FUSE_NOTIFY_RETRIEVE	= 5,
	FUSE_NOTIFY_DELETE	= 6,
	FUSE_NOTIFY_RESEND	= 7,
	FUSE_NOTIFY_INC_EPOCH	= 8,
	FUSE_NOTIFY_PRUNE	= 9,
};

struct fuse_attr {
	uint64_t ino;
	uint64_t size;
	uint64_t blocks;
	uint64_t atime;
	uint64_t mtime;
	uint64_t ctime;
	uint32_t atimensec;
	uint32_t mtimensec;
	uint32_t ctimensec;
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint32_t rdev;
	uint32_t blksize;
	uint32_t flags;
};

struct fuse_kstatfs {
	uint64_t blocks;
	uint64_t bfree;
	uint64_t bavail;
	uint64_t files;
	uint64_t ffree;
	uint32_t bsize;
	uint32_t namelen;
	uint32_t frsize;
	uint32_t padding;
	uint32_t spare[6];
};

struct fuse_file_lock {
	uint64_t start;
	uint64_t end;
	uint32_t type;
	uint32_t pid;
};

struct fuse_in_header {
	uint32_t len;		/* the whole request: header and every argument */
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t uid;
	uint32_t gid;
	uint32_t pid;
	uint16_t total_extlen;	/* length of extensions, in units of 8 bytes */
	uint16_t padding;
};

struct fuse_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

struct fuse_entry_out {
	uint64_t nodeid;
	uint64_t generation;
	uint64_t entry_valid;
	uint64_t attr_valid;
	uint32_t entry_valid_nsec;
	uint32_t attr_valid_nsec;
	struct fuse_attr attr;
};

struct fuse_forget_in { uint64_t nlookup; };
struct fuse_forget_one { uint64_t nodeid; uint64_t nlookup; };
struct fuse_batch_forget_in { uint32_t count; uint32_t dummy; };

struct fuse_getattr_in {
	uint32_t getattr_flags;
	uint32_t dummy;
	uint64_t fh;
};

struct fuse_attr_out {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec;
	uint32_t dummy;
	struct fuse_attr attr;
};

struct fuse_mknod_in {
	uint32_t mode;
	uint32_t rdev;
	uint32_t umask;
	uint32_t padding;
};

struct fuse_mkdir_in {
	uint32_t mode;
	uint32_t umask;
};

struct fuse_rename_in { uint64_t newdir; };

struct fuse_rename2_in {
	uint64_t newdir;
	uint32_t flags;
	uint32_t padding;
};

struct fuse_link_in { uint64_t oldnodeid; };

struct fuse_setattr_in {
	uint32_t valid;
	uint32_t padding;
	uint64_t fh;
	uint64_t size;
	uint64_t lock_owner;
	uint64_t atime;
	uint64_t mtime;
	uint64_t ctime;
	uint32_t atimensec;
	uint32_t mtimensec;
	uint32_t ctimensec;
	uint32_t mode;
	uint32_t unused4;
	uint32_t uid;
	uint32_t gid;
	uint32_t unused5;
};

struct fuse_open_in {
	uint32_t flags;
	uint32_t open_flags;
};

struct fuse_create_in {
	uint32_t flags;
	uint32_t mode;
	uint32_t umask;
	uint32_t open_flags;
};

struct fuse_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

struct fuse_release_in {
	uint64_t fh;
	uint32_t flags;
	uint32_t release_flags;
	uint64_t lock_owner;
};

struct fuse_flush_in {
	uint64_t fh;
	uint32_t unused;
	uint32_t padding;
	uint64_t lock_owner;
};

struct fuse_read_in {
	uint64_t fh;
	uint64_t offset;
	uint32_t size;
	uint32_t read_flags;
	uint64_t lock_owner;
	uint32_t flags;
	uint32_t padding;
};

struct fuse_write_in {
	uint64_t fh;
	uint64_t offset;
	uint32_t size;
	uint32_t write_flags;
	uint64_t lock_owner;
	uint32_t flags;
	uint32_t padding;
};

struct fuse_write_out {
	uint32_t size;
	uint32_t padding;
};

struct fuse_statfs_out { struct fuse_kstatfs st; };

struct fuse_fsync_in {
	uint64_t fh;
	uint32_t fsync_flags;
	uint32_t padding;
};

/* Before FUSE_SETXATTR_EXT the kernel sends only size and flags (8 bytes). */
#define FUSE_COMPAT_SETXATTR_IN_SIZE 8
struct fuse_setxattr_in {
	uint32_t size;
	uint32_t flags;
	uint32_t setxattr_flags;
	uint32_t padding;
};

struct fuse_getxattr_in {
	uint32_t size;
	uint32_t padding;
};

struct fuse_getxattr_out {
	uint32_t size;
	uint32_t padding;
};

struct fuse_lk_in {
	uint64_t fh;
	uint64_t owner;
	struct fuse_file_lock lk;
	uint32_t lk_flags;
	uint32_t padding;
};

struct fuse_lk_out { struct fuse_file_lock lk; };

struct fuse_access_in {
	uint32_t mask;
	uint32_t padding;
};

/* Before 7.36 the kernel sends only the first four fields (16 bytes). */
#define FUSE_COMPAT_INIT_IN_SIZE 16
struct fuse_init_in {
	uint32_t major;
	uint32_t minor;
	uint32_t max_readahead;
	uint32_t flags;
	uint32_t flags2;
	uint32_t unused[11];
};

struct fuse_init_out {
	uint32_t major;
	uint32_t minor;
	uint32_t max_readahead;
	uint32_t flags;
	uint16_t max_background;
	uint16_t congestion_threshold;
	uint32_t max_write;
	uint32_t time_gran;
	uint16_t max_pages;
	uint16_t map_alignment;
	uint32_t flags2;
	uint32_t max_stack_depth;
	uint16_t request_timeout;
	uint16_t unused[11];
};

struct fuse_interrupt_in { uint64_t unique; };

struct fuse_fallocate_in {
	uint64_t fh;
	uint64_t offset;
	uint64_t length;
	uint32_t mode;
	uint32_t padding;
};

struct fuse_lseek_in {
	uint64_t fh;
	uint64_t offset;
	uint32_t whence;
	uint32_t padding;
};

struct fuse_lseek_out { uint64_t offset; };

struct fuse_copy_file_range_in {
	uint64_t fh_in;
	uint64_t off_in;
	uint64_t nodeid_out;
	uint64_t fh_out;
	uint64_t off_out;
	uint64_t len;
	uint64_t flags;
};

/* 7.45: COPY_FILE_RANGE_64 answers with a 64-bit count. */
struct fuse_copy_file_range_out { uint64_t bytes_copied; };

struct fuse_syncfs_in { uint64_t padding; };

struct fuse_bmap_in {
	uint64_t block;
	uint32_t blocksize;
	uint32_t padding;
};

struct fuse_bmap_out { uint64_t block; };

struct fuse_ioctl_in {
	uint64_t fh;
	uint32_t flags;
	uint32_t cmd;
	uint64_t arg;
	uint32_t in_size;
	uint32_t out_size;
};

struct fuse_ioctl_iovec {
	uint64_t base;
	uint64_t len;
};

struct fuse_ioctl_out {
	int32_t result;
	uint32_t flags;
	uint32_t in_iovs;
	uint32_t out_iovs;
};

struct fuse_poll_in {
	uint64_t fh;
	uint64_t kh;
	uint32_t flags;
	uint32_t events;
};

struct fuse_poll_out {
	uint32_t revents;
	uint32_t padding;
};

/* 7.39: STATX. The time and stat layouts are statx(2)'s. */
struct fuse_sx_time {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};

struct fuse_statx {
	uint32_t mask;
	uint32_t blksize;
	uint64_t attributes;
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint16_t mode;
	uint16_t spare0[1];
	uint64_t ino;
	uint64_t size;
	uint64_t blocks;
	uint64_t attributes_mask;
	struct fuse_sx_time atime;
	struct fuse_sx_time btime;
	struct fuse_sx_time ctime;
	struct fuse_sx_time mtime;
	uint32_t rdev_major;
	uint32_t rdev_minor;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint64_t spare2[14];
};

struct fuse_statx_in {
	uint32_t getattr_flags;
	uint32_t reserved;
	uint64_t fh;
	uint32_t sx_flags;
	uint32_t sx_mask;
};

struct fuse_statx_out {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec;
	uint32_t flags;
	uint64_t spare[2];
	struct fuse_statx stat;
};

struct fuse_dirent {
	uint64_t ino;
	uint64_t off;
	uint32_t namelen;
	uint32_t type;
	char name[];
};

struct fuse_direntplus {
	struct fuse_entry_out entry_out;
	struct fuse_dirent dirent;
};

#define FUSE_DIRENT_ALIGN(x) (((x) + sizeof(uint64_t) - 1) & ~(sizeof(uint64_t) - 1))

struct fuse_notify_inval_inode_out {
	uint64_t ino;
	int64_t off;
	int64_t len;
};

struct fuse_notify_inval_entry_out {
	uint64_t parent;
	uint32_t namelen;
	uint32_t flags;
};

struct fuse_notify_poll_wakeup_out { uint64_t kh; };

struct fuse_notify_delete_out {
	uint64_t parent;
	uint64_t child;
	uint32_t namelen;
	uint32_t padding;
};

struct fuse_notify_store_out {
	uint64_t nodeid;
	uint64_t offset;
	uint32_t size;
	uint32_t padding;
};

struct fuse_notify_retrieve_out {
	uint64_t notify_unique;
	uint64_t nodeid;
	uint64_t offset;
	uint32_t size;
	uint32_t padding;
};

/* The first argument of the NOTIFY_REPLY that answers a RETRIEVE. */
struct fuse_notify_retrieve_in {
	uint64_t dummy1;
	uint64_t offset;
	uint32_t size;
	uint32_t dummy2;
	uint64_t dummy3;
	uint64_t dummy4;
};

/* 7.45: followed by count node ids (uint64_t). */
struct fuse_notify_prune_out {
	uint32_t count;
	uint32_t padding;
	uint64_t spare;
};

/* Request extensions (in_header.total_extlen) */
struct fuse_ext_header {
	uint32_t size;		/* including this header, multiple of 8 */
	uint32_t type;
};
/* Types 0..FUSE_MAX_NR_SECCTX are a fuse_secctx_header: the type is nr_secctx. */
#define FUSE_MAX_NR_SECCTX	31
#define FUSE_EXT_GROUPS		32
/* Each context: this, its NUL-terminated name, then size bytes of value. */
struct fuse_secctx {
	uint32_t size;
	uint32_t padding;
};
struct fuse_supp_groups {
	uint32_t nr_groups;
	uint32_t groups[];
};

struct fuse_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define FUSE_DEV_IOC_MAGIC		229
#define FUSE_DEV_IOC_CLONE		_IOR(FUSE_DEV_IOC_MAGIC, 0, uint32_t)
#define FUSE_DEV_IOC_BACKING_OPEN	_IOW(FUSE_DEV_IOC_MAGIC, 1, struct fuse_backing_map)
#define FUSE_DEV_IOC_BACKING_CLOSE	_IOW(FUSE_DEV_IOC_MAGIC, 2, uint32_t)

/* ---- FUSE-over-io_uring (7.42) ---- */

#define FUSE_URING_IN_OUT_HEADER_SZ	128
#define FUSE_URING_OP_IN_OUT_SZ		128

struct fuse_uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;	/* kernel -> server: the request's unique */
	uint32_t payload_sz;	/* bytes of payload used, in both directions */
	uint32_t padding;
	uint64_t reserved;
};

/* iov[0] of a REGISTER: the kernel reads and writes these headers. */
struct fuse_uring_req_header {
	char in_out[FUSE_URING_IN_OUT_HEADER_SZ];	/* in: fuse_in_header; out: fuse_out_header */
	char op_in[FUSE_URING_OP_IN_OUT_SZ];		/* the opcode's first argument */
	struct fuse_uring_ent_in_out ring_ent_in_out;
};

enum fuse_uring_cmd {
	FUSE_IO_URING_CMD_INVALID		= 0,
	FUSE_IO_URING_CMD_REGISTER		= 1,
	FUSE_IO_URING_CMD_COMMIT_AND_FETCH	= 2,
};

/* Lives in the 80-byte command area of a 128-byte SQE. */
struct fuse_uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

/* Sizes the kernel relies on. */
_Static_assert(sizeof(struct fuse_attr) == 88, "fuse_attr");
_Static_assert(sizeof(struct fuse_kstatfs) == 80, "fuse_kstatfs");
_Static_assert(sizeof(struct fuse_file_lock) == 24, "fuse_file_lock");
_Static_assert(sizeof(struct fuse_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct fuse_out_header) == 16, "fuse_out_header");
_Static_assert(sizeof(struct fuse_entry_out) == 128, "fuse_entry_out");
_Static_assert(sizeof(struct fuse_forget_in) == 8, "fuse_forget_in");
_Static_assert(sizeof(struct fuse_forget_one) == 16, "fuse_forget_one");
_Static_assert(sizeof(struct fuse_batch_forget_in) == 8, "fuse_batch_forget_in");
_Static_assert(sizeof(struct fuse_getattr_in) == 16, "fuse_getattr_in");
_Static_assert(sizeof(struct fuse_attr_out) == 104, "fuse_attr_out");
_Static_assert(sizeof(struct fuse_mknod_in) == 16, "fuse_mknod_in");
_Static_assert(sizeof(struct fuse_mkdir_in) == 8, "fuse_mkdir_in");
_Static_assert(sizeof(struct fuse_rename_in) == 8, "fuse_rename_in");
_Static_assert(sizeof(struct fuse_rename2_in) == 16, "fuse_rename2_in");
_Static_assert(sizeof(struct fuse_link_in) == 8, "fuse_link_in");
_Static_assert(sizeof(struct fuse_setattr_in) == 88, "fuse_setattr_in");
_Static_assert(sizeof(struct fuse_open_in) == 8, "fuse_open_in");
_Static_assert(sizeof(struct fuse_create_in) == 16, "fuse_create_in");
_Static_assert(sizeof(struct fuse_open_out) == 16, "fuse_open_out");
_Static_assert(sizeof(struct fuse_release_in) == 24, "fuse_release_in");
_Static_assert(sizeof(struct fuse_flush_in) == 24, "fuse_flush_in");
_Static_assert(sizeof(struct fuse_read_in) == 40, "fuse_read_in");
_Static_assert(sizeof(struct fuse_write_in) == 40, "fuse_write_in");
_Static_assert(sizeof(struct fuse_write_out) == 8, "fuse_write_out");
_Static_assert(sizeof(struct fuse_statfs_out) == 80, "fuse_statfs_out");
_Static_assert(sizeof(struct fuse_fsync_in) == 16, "fuse_fsync_in");
_Static_assert(sizeof(struct fuse_setxattr_in) == 16, "fuse_setxattr_in");
_Static_assert(sizeof(struct fuse_getxattr_in) == 8, "fuse_getxattr_in");
_Static_assert(sizeof(struct fuse_getxattr_out) == 8, "fuse_getxattr_out");
_Static_assert(sizeof(struct fuse_lk_in) == 48, "fuse_lk_in");
_Static_assert(sizeof(struct fuse_lk_out) == 24, "fuse_lk_out");
_Static_assert(sizeof(struct fuse_access_in) == 8, "fuse_access_in");
_Static_assert(sizeof(struct fuse_init_in) == 64, "fuse_init_in");
_Static_assert(sizeof(struct fuse_init_out) == 64, "fuse_init_out");
_Static_assert(sizeof(struct fuse_interrupt_in) == 8, "fuse_interrupt_in");
_Static_assert(sizeof(struct fuse_fallocate_in) == 32, "fuse_fallocate_in");
_Static_assert(sizeof(struct fuse_lseek_in) == 24, "fuse_lseek_in");
_Static_assert(sizeof(struct fuse_lseek_out) == 8, "fuse_lseek_out");
_Static_assert(sizeof(struct fuse_copy_file_range_in) == 56, "fuse_copy_file_range_in");
_Static_assert(sizeof(struct fuse_copy_file_range_out) == 8, "fuse_copy_file_range_out");
_Static_assert(sizeof(struct fuse_dirent) == 24, "fuse_dirent");
_Static_assert(offsetof(struct fuse_direntplus, dirent) == 128, "fuse_direntplus");
_Static_assert(sizeof(struct fuse_notify_inval_inode_out) == 24, "inval_inode_out");
_Static_assert(sizeof(struct fuse_notify_inval_entry_out) == 16, "inval_entry_out");
_Static_assert(sizeof(struct fuse_ext_header) == 8, "fuse_ext_header");
_Static_assert(sizeof(struct fuse_secctx) == 8, "fuse_secctx");
_Static_assert(sizeof(struct fuse_bmap_in) == 16, "fuse_bmap_in");
_Static_assert(sizeof(struct fuse_bmap_out) == 8, "fuse_bmap_out");
_Static_assert(sizeof(struct fuse_ioctl_in) == 32, "fuse_ioctl_in");
_Static_assert(sizeof(struct fuse_ioctl_iovec) == 16, "fuse_ioctl_iovec");
_Static_assert(sizeof(struct fuse_ioctl_out) == 16, "fuse_ioctl_out");
_Static_assert(sizeof(struct fuse_poll_in) == 24, "fuse_poll_in");
_Static_assert(sizeof(struct fuse_poll_out) == 8, "fuse_poll_out");
_Static_assert(sizeof(struct fuse_sx_time) == 16, "fuse_sx_time");
_Static_assert(sizeof(struct fuse_statx) == 256, "fuse_statx");
_Static_assert(sizeof(struct fuse_statx_in) == 24, "fuse_statx_in");
_Static_assert(sizeof(struct fuse_statx_out) == 288, "fuse_statx_out");
_Static_assert(sizeof(struct fuse_notify_poll_wakeup_out) == 8, "poll_wakeup_out");
_Static_assert(sizeof(struct fuse_notify_delete_out) == 24, "delete_out");
_Static_assert(sizeof(struct fuse_notify_store_out) == 24, "store_out");
_Static_assert(sizeof(struct fuse_notify_retrieve_out) == 32, "retrieve_out");
_Static_assert(sizeof(struct fuse_notify_retrieve_in) == 40, "retrieve_in");
_Static_assert(sizeof(struct fuse_notify_prune_out) == 16, "prune_out");
_Static_assert(sizeof(struct fuse_backing_map) == 16, "fuse_backing_map");
_Static_assert(sizeof(struct fuse_uring_ent_in_out) == 32, "fuse_uring_ent_in_out");
_Static_assert(sizeof(struct fuse_uring_req_header) == 288, "fuse_uring_req_header");
_Static_assert(sizeof(struct fuse_uring_cmd_req) == 24, "fuse_uring_cmd_req");
_Static_assert(sizeof(struct fuse_in_header) <= FUSE_URING_IN_OUT_HEADER_SZ, "in_out fits");

#endif /* FURI_KERNEL_ABI_H */
