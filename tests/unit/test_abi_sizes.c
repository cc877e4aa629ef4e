/* SPDX-License-Identifier: MIT */
/*
 * test_abi_sizes.c - every struct of lib/kernel_abi.h has the size and the
 * field offsets of the kernel's include/uapi/linux/fuse.h (protocol 7.45),
 * and the constants (opcodes, INIT flags, FATTR_*, FOPEN_*, ioctls) have the
 * kernel's values. kernel_abi.h pins sizes with static asserts; this test
 * also pins offsets, which a swapped pair of same-sized fields would keep
 * silently wrong, and checks that the public FURI_* constants that furi
 * passes straight through equal the kernel values.
 *
 * The expected numbers are written out by hand from the kernel header, not
 * computed, so a change to kernel_abi.h cannot move both sides at once.
 */
#define _GNU_SOURCE
#include <stdalign.h>
#include <stddef.h>

#include "internal.h"
#include "check.h"

#define SIZE(type, n) CHECK_EQ(sizeof(struct type), n)
#define OFF(type, field, n) CHECK_EQ(offsetof(struct type, field), n)

static void test_common_structs_match_kernel(void)
{
	SIZE(fuse_attr, 88);
	OFF(fuse_attr, ino, 0);
	OFF(fuse_attr, size, 8);
	OFF(fuse_attr, blocks, 16);
	OFF(fuse_attr, atime, 24);
	OFF(fuse_attr, mtime, 32);
	OFF(fuse_attr, ctime, 40);
	OFF(fuse_attr, atimensec, 48);
	OFF(fuse_attr, mtimensec, 52);
	OFF(fuse_attr, ctimensec, 56);
	OFF(fuse_attr, mode, 60);
	OFF(fuse_attr, nlink, 64);
	OFF(fuse_attr, uid, 68);
	OFF(fuse_attr, gid, 72);
	OFF(fuse_attr, rdev, 76);
	OFF(fuse_attr, blksize, 80);
	OFF(fuse_attr, flags, 84);

	SIZE(fuse_kstatfs, 80);
	OFF(fuse_kstatfs, blocks, 0);
	OFF(fuse_kstatfs, bfree, 8);
	OFF(fuse_kstatfs, bavail, 16);
	OFF(fuse_kstatfs, files, 24);
	OFF(fuse_kstatfs, ffree, 32);
	OFF(fuse_kstatfs, bsize, 40);
	OFF(fuse_kstatfs, namelen, 44);
	OFF(fuse_kstatfs, frsize, 48);
	OFF(fuse_kstatfs, padding, 52);
	OFF(fuse_kstatfs, spare, 56);

	SIZE(fuse_file_lock, 24);
	OFF(fuse_file_lock, start, 0);
	OFF(fuse_file_lock, end, 8);
	OFF(fuse_file_lock, type, 16);
	OFF(fuse_file_lock, pid, 20);
}

static void test_headers_match_kernel(void)
{
	SIZE(fuse_in_header, 40);
	OFF(fuse_in_header, len, 0);
	OFF(fuse_in_header, opcode, 4);
	OFF(fuse_in_header, unique, 8);
	OFF(fuse_in_header, nodeid, 16);
	OFF(fuse_in_header, uid, 24);
	OFF(fuse_in_header, gid, 28);
	OFF(fuse_in_header, pid, 32);
	OFF(fuse_in_header, total_extlen, 36);
	CHECK_EQ(sizeof(((struct fuse_in_header *)0)->total_extlen), 2);
	OFF(fuse_in_header, padding, 38);

	SIZE(fuse_out_header, 16);
	OFF(fuse_out_header, len, 0);
	OFF(fuse_out_header, error, 4);
	OFF(fuse_out_header, unique, 8);

	SIZE(fuse_ext_header, 8);
	OFF(fuse_ext_header, size, 0);
	OFF(fuse_ext_header, type, 4);
	SIZE(fuse_supp_groups, 4);
	OFF(fuse_supp_groups, nr_groups, 0);
	OFF(fuse_supp_groups, groups, 4);
}

static void test_entry_and_attr_replies_match_kernel(void)
{
	SIZE(fuse_entry_out, 128);
	OFF(fuse_entry_out, nodeid, 0);
	OFF(fuse_entry_out, generation, 8);
	OFF(fuse_entry_out, entry_valid, 16);
	OFF(fuse_entry_out, attr_valid, 24);
	OFF(fuse_entry_out, entry_valid_nsec, 32);
	OFF(fuse_entry_out, attr_valid_nsec, 36);
	OFF(fuse_entry_out, attr, 40);

	SIZE(fuse_attr_out, 104);
	OFF(fuse_attr_out, attr_valid, 0);
	OFF(fuse_attr_out, attr_valid_nsec, 8);
	OFF(fuse_attr_out, dummy, 12);
	OFF(fuse_attr_out, attr, 16);

	SIZE(fuse_open_out, 16);
	OFF(fuse_open_out, fh, 0);
	OFF(fuse_open_out, open_flags, 8);
	OFF(fuse_open_out, backing_id, 12);

	SIZE(fuse_write_out, 8);
	OFF(fuse_write_out, size, 0);
	SIZE(fuse_statfs_out, 80);
	SIZE(fuse_getxattr_out, 8);
	OFF(fuse_getxattr_out, size, 0);
	SIZE(fuse_lk_out, 24);
	SIZE(fuse_lseek_out, 8);
	SIZE(fuse_copy_file_range_out, 8);

	SIZE(fuse_dirent, 24);
	OFF(fuse_dirent, ino, 0);
	OFF(fuse_dirent, off, 8);
	OFF(fuse_dirent, namelen, 16);
	OFF(fuse_dirent, type, 20);
	OFF(fuse_dirent, name, 24);
	OFF(fuse_direntplus, entry_out, 0);
	OFF(fuse_direntplus, dirent, 128);
	SIZE(fuse_direntplus, 152);
	CHECK_EQ(FUSE_DIRENT_ALIGN(0), 0);
	CHECK_EQ(FUSE_DIRENT_ALIGN(1), 8);
	CHECK_EQ(FUSE_DIRENT_ALIGN(24 + 5), 32);
	CHECK_EQ(FUSE_DIRENT_ALIGN(32), 32);
}

static void test_request_args_match_kernel(void)
{
	SIZE(fuse_forget_in, 8);
	SIZE(fuse_forget_one, 16);
	OFF(fuse_forget_one, nodeid, 0);
	OFF(fuse_forget_one, nlookup, 8);
	SIZE(fuse_batch_forget_in, 8);
	OFF(fuse_batch_forget_in, count, 0);

	SIZE(fuse_getattr_in, 16);
	OFF(fuse_getattr_in, getattr_flags, 0);
	OFF(fuse_getattr_in, fh, 8);

	SIZE(fuse_setattr_in, 88);
	OFF(fuse_setattr_in, valid, 0);
	OFF(fuse_setattr_in, padding, 4);
	OFF(fuse_setattr_in, fh, 8);
	OFF(fuse_setattr_in, size, 16);
	OFF(fuse_setattr_in, lock_owner, 24);
	OFF(fuse_setattr_in, atime, 32);
	OFF(fuse_setattr_in, mtime, 40);
	OFF(fuse_setattr_in, ctime, 48);
	OFF(fuse_setattr_in, atimensec, 56);
	OFF(fuse_setattr_in, mtimensec, 60);
	OFF(fuse_setattr_in, ctimensec, 64);
	OFF(fuse_setattr_in, mode, 68);
	OFF(fuse_setattr_in, unused4, 72);
	OFF(fuse_setattr_in, uid, 76);
	OFF(fuse_setattr_in, gid, 80);
	OFF(fuse_setattr_in, unused5, 84);

	SIZE(fuse_mknod_in, 16);
	OFF(fuse_mknod_in, mode, 0);
	OFF(fuse_mknod_in, rdev, 4);
	OFF(fuse_mknod_in, umask, 8);
	SIZE(fuse_mkdir_in, 8);
	OFF(fuse_mkdir_in, mode, 0);
	OFF(fuse_mkdir_in, umask, 4);
	SIZE(fuse_rename_in, 8);
	SIZE(fuse_rename2_in, 16);
	OFF(fuse_rename2_in, newdir, 0);
	OFF(fuse_rename2_in, flags, 8);
	SIZE(fuse_link_in, 8);

	SIZE(fuse_open_in, 8);
	OFF(fuse_open_in, flags, 0);
	OFF(fuse_open_in, open_flags, 4);
	SIZE(fuse_create_in, 16);
	OFF(fuse_create_in, flags, 0);
	OFF(fuse_create_in, mode, 4);
	OFF(fuse_create_in, umask, 8);
	OFF(fuse_create_in, open_flags, 12);

	SIZE(fuse_release_in, 24);
	OFF(fuse_release_in, fh, 0);
	OFF(fuse_release_in, flags, 8);
	OFF(fuse_release_in, release_flags, 12);
	OFF(fuse_release_in, lock_owner, 16);
	SIZE(fuse_flush_in, 24);
	OFF(fuse_flush_in, fh, 0);
	OFF(fuse_flush_in, lock_owner, 16);

	SIZE(fuse_read_in, 40);
	OFF(fuse_read_in, fh, 0);
	OFF(fuse_read_in, offset, 8);
	OFF(fuse_read_in, size, 16);
	OFF(fuse_read_in, read_flags, 20);
	OFF(fuse_read_in, lock_owner, 24);
	OFF(fuse_read_in, flags, 32);
	SIZE(fuse_write_in, 40);
	OFF(fuse_write_in, fh, 0);
	OFF(fuse_write_in, offset, 8);
	OFF(fuse_write_in, size, 16);
	OFF(fuse_write_in, write_flags, 20);
	OFF(fuse_write_in, lock_owner, 24);
	OFF(fuse_write_in, flags, 32);

	SIZE(fuse_fsync_in, 16);
	OFF(fuse_fsync_in, fh, 0);
	OFF(fuse_fsync_in, fsync_flags, 8);

	SIZE(fuse_setxattr_in, 16);
	OFF(fuse_setxattr_in, size, 0);
	OFF(fuse_setxattr_in, flags, 4);
	OFF(fuse_setxattr_in, setxattr_flags, 8);
	CHECK_EQ(FUSE_COMPAT_SETXATTR_IN_SIZE, 8);
	SIZE(fuse_getxattr_in, 8);
	OFF(fuse_getxattr_in, size, 0);

	SIZE(fuse_lk_in, 48);
	OFF(fuse_lk_in, fh, 0);
	OFF(fuse_lk_in, owner, 8);
	OFF(fuse_lk_in, lk, 16);
	OFF(fuse_lk_in, lk_flags, 40);
	SIZE(fuse_access_in, 8);
	OFF(fuse_access_in, mask, 0);
	SIZE(fuse_interrupt_in, 8);

	SIZE(fuse_fallocate_in, 32);
	OFF(fuse_fallocate_in, fh, 0);
	OFF(fuse_fallocate_in, offset, 8);
	OFF(fuse_fallocate_in, length, 16);
	OFF(fuse_fallocate_in, mode, 24);
	SIZE(fuse_lseek_in, 24);
	OFF(fuse_lseek_in, fh, 0);
	OFF(fuse_lseek_in, offset, 8);
	OFF(fuse_lseek_in, whence, 16);

	SIZE(fuse_copy_file_range_in, 56);
	OFF(fuse_copy_file_range_in, fh_in, 0);
	OFF(fuse_copy_file_range_in, off_in, 8);
	OFF(fuse_copy_file_range_in, nodeid_out, 16);
	OFF(fuse_copy_file_range_in, fh_out, 24);
	OFF(fuse_copy_file_range_in, off_out, 32);
	OFF(fuse_copy_file_range_in, len, 40);
	OFF(fuse_copy_file_range_in, flags, 48);
	SIZE(fuse_syncfs_in, 8);
}

static void test_init_matches_kernel(void)
{
	SIZE(fuse_init_in, 64);
	OFF(fuse_init_in, major, 0);
	OFF(fuse_init_in, minor, 4);
	OFF(fuse_init_in, max_readahead, 8);
	OFF(fuse_init_in, flags, 12);
	OFF(fuse_init_in, flags2, 16);
	OFF(fuse_init_in, unused, 20);
	CHECK_EQ(FUSE_COMPAT_INIT_IN_SIZE, 16);

	SIZE(fuse_init_out, 64);
	OFF(fuse_init_out, major, 0);
	OFF(fuse_init_out, minor, 4);
	OFF(fuse_init_out, max_readahead, 8);
	OFF(fuse_init_out, flags, 12);
	OFF(fuse_init_out, max_background, 16);
	OFF(fuse_init_out, congestion_threshold, 18);
	OFF(fuse_init_out, max_write, 20);
	OFF(fuse_init_out, time_gran, 24);
	OFF(fuse_init_out, max_pages, 28);
	OFF(fuse_init_out, map_alignment, 30);
	OFF(fuse_init_out, flags2, 32);
	OFF(fuse_init_out, max_stack_depth, 36);
	OFF(fuse_init_out, request_timeout, 40);
	OFF(fuse_init_out, unused, 42);

	CHECK_EQ(FUSE_KERNEL_VERSION, 7);
	CHECK_EQ(FUSE_KERNEL_MINOR_VERSION, 45);
	CHECK_EQ(FUSE_ROOT_ID, 1);
	CHECK_EQ(FURI_ROOT_INO, FUSE_ROOT_ID);
	CHECK_EQ(FUSE_MIN_READ_BUFFER, 8192);
}

static void test_notify_and_ioctls_match_kernel(void)
{
	SIZE(fuse_notify_inval_inode_out, 24);
	OFF(fuse_notify_inval_inode_out, ino, 0);
	OFF(fuse_notify_inval_inode_out, off, 8);
	OFF(fuse_notify_inval_inode_out, len, 16);
	SIZE(fuse_notify_inval_entry_out, 16);
	OFF(fuse_notify_inval_entry_out, parent, 0);
	OFF(fuse_notify_inval_entry_out, namelen, 8);
	OFF(fuse_notify_inval_entry_out, flags, 12);
	SIZE(fuse_notify_poll_wakeup_out, 8);
	SIZE(fuse_notify_delete_out, 24);
	OFF(fuse_notify_delete_out, child, 8);
	OFF(fuse_notify_delete_out, namelen, 16);
	SIZE(fuse_notify_store_out, 24);
	OFF(fuse_notify_store_out, offset, 8);
	OFF(fuse_notify_store_out, size, 16);
	SIZE(fuse_notify_retrieve_out, 32);
	OFF(fuse_notify_retrieve_out, nodeid, 8);
	OFF(fuse_notify_retrieve_out, offset, 16);
	OFF(fuse_notify_retrieve_out, size, 24);
	SIZE(fuse_notify_retrieve_in, 40);
	OFF(fuse_notify_retrieve_in, offset, 8);
	OFF(fuse_notify_retrieve_in, size, 16);
	SIZE(fuse_notify_prune_out, 16);
	CHECK_EQ(FUSE_NOTIFY_POLL, 1);
	CHECK_EQ(FUSE_NOTIFY_INVAL_INODE, 2);
	CHECK_EQ(FUSE_NOTIFY_INVAL_ENTRY, 3);
	CHECK_EQ(FUSE_NOTIFY_STORE, 4);
	CHECK_EQ(FUSE_NOTIFY_RETRIEVE, 5);
	CHECK_EQ(FUSE_NOTIFY_DELETE, 6);
	CHECK_EQ(FUSE_NOTIFY_RESEND, 7);
	CHECK_EQ(FUSE_NOTIFY_INC_EPOCH, 8);
	CHECK_EQ(FUSE_NOTIFY_PRUNE, 9);
	CHECK_EQ(FUSE_EXPIRE_ONLY, 1);

	SIZE(fuse_ioctl_in, 32);
	OFF(fuse_ioctl_in, flags, 8);
	OFF(fuse_ioctl_in, cmd, 12);
	OFF(fuse_ioctl_in, arg, 16);
	OFF(fuse_ioctl_in, in_size, 24);
	OFF(fuse_ioctl_in, out_size, 28);
	SIZE(fuse_ioctl_out, 16);
	OFF(fuse_ioctl_out, flags, 4);
	OFF(fuse_ioctl_out, in_iovs, 8);
	OFF(fuse_ioctl_out, out_iovs, 12);
	SIZE(fuse_ioctl_iovec, 16);
	CHECK_EQ(FUSE_IOCTL_UNRESTRICTED, 2);
	CHECK_EQ(FUSE_IOCTL_RETRY, 4);
	CHECK_EQ(FUSE_IOCTL_DIR, 16);
	CHECK_EQ(FURI_IOCTL_DIR, FUSE_IOCTL_DIR);
	CHECK_EQ(FURI_IOCTL_COMPAT, FUSE_IOCTL_COMPAT);
	CHECK_EQ(FURI_IOCTL_UNRESTRICTED, FUSE_IOCTL_UNRESTRICTED);
	CHECK_EQ(FURI_IOCTL_32BIT, FUSE_IOCTL_32BIT);
	CHECK_EQ(FURI_IOCTL_COMPAT_X32, FUSE_IOCTL_COMPAT_X32);
	CHECK_EQ(FURI_IOCTL_MAX_IOV, FUSE_IOCTL_MAX_IOV);
	SIZE(fuse_poll_in, 24);
	OFF(fuse_poll_in, kh, 8);
	OFF(fuse_poll_in, flags, 16);
	OFF(fuse_poll_in, events, 20);
	SIZE(fuse_poll_out, 8);
	CHECK_EQ(FUSE_POLL_SCHEDULE_NOTIFY, 1);
	SIZE(fuse_bmap_in, 16);
	OFF(fuse_bmap_in, blocksize, 8);
	SIZE(fuse_bmap_out, 8);
	SIZE(fuse_statx_in, 24);
	OFF(fuse_statx_in, fh, 8);
	OFF(fuse_statx_in, sx_flags, 16);
	OFF(fuse_statx_in, sx_mask, 20);
	SIZE(fuse_statx_out, 288);
	OFF(fuse_statx_out, flags, 12);
	OFF(fuse_statx_out, stat, 32);
	SIZE(fuse_statx, 256);
	OFF(fuse_statx, attributes, 8);
	OFF(fuse_statx, mode, 28);
	OFF(fuse_statx, ino, 32);
	OFF(fuse_statx, atime, 64);
	OFF(fuse_statx, btime, 80);
	OFF(fuse_statx, mtime, 112);
	OFF(fuse_statx, rdev_major, 128);
	OFF(fuse_statx, dev_minor, 140);
	/* The same layout as the kernel's statx(2) answer. */
	CHECK_EQ(offsetof(struct fuse_statx, btime), offsetof(struct statx, stx_btime));
	CHECK_EQ(offsetof(struct fuse_statx, dev_minor), offsetof(struct statx, stx_dev_minor));
	SIZE(fuse_secctx, 8);

	SIZE(fuse_backing_map, 16);
	OFF(fuse_backing_map, fd, 0);
	OFF(fuse_backing_map, flags, 4);
	OFF(fuse_backing_map, padding, 8);

	/* The ioctl numbers encode direction, size and type: compare the words. */
	CHECK_EQ_U64(FUSE_DEV_IOC_CLONE, 0x8004e500u);
	CHECK_EQ_U64(FUSE_DEV_IOC_BACKING_OPEN, 0x4010e501u);
	CHECK_EQ_U64(FUSE_DEV_IOC_BACKING_CLOSE, 0x4004e502u);

	CHECK_EQ(FUSE_NOTIFY_POLL, 1);
	CHECK_EQ(FUSE_NOTIFY_INVAL_INODE, 2);
	CHECK_EQ(FUSE_NOTIFY_INVAL_ENTRY, 3);
	CHECK_EQ(FUSE_NOTIFY_STORE, 4);
	CHECK_EQ(FUSE_NOTIFY_RETRIEVE, 5);
	CHECK_EQ(FUSE_NOTIFY_DELETE, 6);
	CHECK_EQ(FUSE_NOTIFY_RESEND, 7);
	CHECK_EQ(FUSE_NOTIFY_INC_EPOCH, 8);
	CHECK_EQ(FUSE_NOTIFY_PRUNE, 9);
	CHECK_EQ(FUSE_MAX_NR_SECCTX, 31);
	CHECK_EQ(FUSE_EXT_GROUPS, 32);
}

static void test_uring_structs_match_kernel(void)
{
	CHECK_EQ(FUSE_URING_IN_OUT_HEADER_SZ, 128);
	CHECK_EQ(FUSE_URING_OP_IN_OUT_SZ, 128);

	SIZE(fuse_uring_ent_in_out, 32);
	OFF(fuse_uring_ent_in_out, flags, 0);
	OFF(fuse_uring_ent_in_out, commit_id, 8);
	OFF(fuse_uring_ent_in_out, payload_sz, 16);
	OFF(fuse_uring_ent_in_out, padding, 20);
	OFF(fuse_uring_ent_in_out, reserved, 24);

	SIZE(fuse_uring_req_header, 288);
	OFF(fuse_uring_req_header, in_out, 0);
	OFF(fuse_uring_req_header, op_in, 128);
	OFF(fuse_uring_req_header, ring_ent_in_out, 256);

	/* Lives in the SQE's 80-byte command area. */
	SIZE(fuse_uring_cmd_req, 24);
	CHECK(sizeof(struct fuse_uring_cmd_req) <= 80);
	OFF(fuse_uring_cmd_req, flags, 0);
	OFF(fuse_uring_cmd_req, commit_id, 8);
	OFF(fuse_uring_cmd_req, qid, 16);
	CHECK_EQ(sizeof(((struct fuse_uring_cmd_req *)0)->qid), 2);
	OFF(fuse_uring_cmd_req, padding, 18);

	CHECK_EQ(FUSE_IO_URING_CMD_INVALID, 0);
	CHECK_EQ(FUSE_IO_URING_CMD_REGISTER, 1);
	CHECK_EQ(FUSE_IO_URING_CMD_COMMIT_AND_FETCH, 2);
}

/* The decoder copies a first argument into a union; the kernel's 8-byte
 * fields must stay 8-byte aligned so the copy can be read field by field. */
static void test_structs_are_8_byte_aligned(void)
{
	CHECK_EQ(alignof(struct fuse_in_header), 8);
	CHECK_EQ(alignof(struct fuse_entry_out), 8);
	CHECK_EQ(alignof(struct fuse_dirent), 8);
	CHECK_EQ(alignof(struct fuse_setattr_in), 8);
	CHECK_EQ(alignof(struct fuse_uring_cmd_req), 8);
}

static void test_opcodes_match_kernel(void)
{
	CHECK_EQ(FUSE_LOOKUP, 1);
	CHECK_EQ(FUSE_FORGET, 2);
	CHECK_EQ(FUSE_GETATTR, 3);
	CHECK_EQ(FUSE_SETATTR, 4);
	CHECK_EQ(FUSE_READLINK, 5);
	CHECK_EQ(FUSE_SYMLINK, 6);
	CHECK_EQ(FUSE_MKNOD, 8);
	CHECK_EQ(FUSE_MKDIR, 9);
	CHECK_EQ(FUSE_UNLINK, 10);
	CHECK_EQ(FUSE_RMDIR, 11);
	CHECK_EQ(FUSE_RENAME, 12);
	CHECK_EQ(FUSE_LINK, 13);
	CHECK_EQ(FUSE_OPEN, 14);
	CHECK_EQ(FUSE_READ, 15);
	CHECK_EQ(FUSE_WRITE, 16);
	CHECK_EQ(FUSE_STATFS, 17);
	CHECK_EQ(FUSE_RELEASE, 18);
	CHECK_EQ(FUSE_FSYNC, 20);
	CHECK_EQ(FUSE_SETXATTR, 21);
	CHECK_EQ(FUSE_GETXATTR, 22);
	CHECK_EQ(FUSE_LISTXATTR, 23);
	CHECK_EQ(FUSE_REMOVEXATTR, 24);
	CHECK_EQ(FUSE_FLUSH, 25);
	CHECK_EQ(FUSE_INIT, 26);
	CHECK_EQ(FUSE_OPENDIR, 27);
	CHECK_EQ(FUSE_READDIR, 28);
	CHECK_EQ(FUSE_RELEASEDIR, 29);
	CHECK_EQ(FUSE_FSYNCDIR, 30);
	CHECK_EQ(FUSE_GETLK, 31);
	CHECK_EQ(FUSE_SETLK, 32);
	CHECK_EQ(FUSE_SETLKW, 33);
	CHECK_EQ(FUSE_ACCESS, 34);
	CHECK_EQ(FUSE_CREATE, 35);
	CHECK_EQ(FUSE_INTERRUPT, 36);
	CHECK_EQ(FUSE_BMAP, 37);
	CHECK_EQ(FUSE_DESTROY, 38);
	CHECK_EQ(FUSE_IOCTL, 39);
	CHECK_EQ(FUSE_POLL, 40);
	CHECK_EQ(FUSE_NOTIFY_REPLY, 41);
	CHECK_EQ(FUSE_BATCH_FORGET, 42);
	CHECK_EQ(FUSE_FALLOCATE, 43);
	CHECK_EQ(FUSE_READDIRPLUS, 44);
	CHECK_EQ(FUSE_RENAME2, 45);
	CHECK_EQ(FUSE_LSEEK, 46);
	CHECK_EQ(FUSE_COPY_FILE_RANGE, 47);
	CHECK_EQ(FUSE_SETUPMAPPING, 48);
	CHECK_EQ(FUSE_REMOVEMAPPING, 49);
	CHECK_EQ(FUSE_SYNCFS, 50);
	CHECK_EQ(FUSE_TMPFILE, 51);
	CHECK_EQ(FUSE_STATX, 52);
	CHECK_EQ(FUSE_COPY_FILE_RANGE_64, 53);
	CHECK_EQ(FURI_OPCODE_MAX, FUSE_COPY_FILE_RANGE_64 + 1);
}

static void test_init_flags_match_kernel(void)
{
	CHECK_EQ_U64(FUSE_ASYNC_READ, 1ULL << 0);
	CHECK_EQ_U64(FUSE_POSIX_LOCKS, 1ULL << 1);
	CHECK_EQ_U64(FUSE_FILE_OPS, 1ULL << 2);
	CHECK_EQ_U64(FUSE_ATOMIC_O_TRUNC, 1ULL << 3);
	CHECK_EQ_U64(FUSE_EXPORT_SUPPORT, 1ULL << 4);
	CHECK_EQ_U64(FUSE_BIG_WRITES, 1ULL << 5);
	CHECK_EQ_U64(FUSE_DONT_MASK, 1ULL << 6);
	CHECK_EQ_U64(FUSE_SPLICE_WRITE, 1ULL << 7);
	CHECK_EQ_U64(FUSE_SPLICE_MOVE, 1ULL << 8);
	CHECK_EQ_U64(FUSE_SPLICE_READ, 1ULL << 9);
	CHECK_EQ_U64(FUSE_FLOCK_LOCKS, 1ULL << 10);
	CHECK_EQ_U64(FUSE_HAS_IOCTL_DIR, 1ULL << 11);
	CHECK_EQ_U64(FUSE_AUTO_INVAL_DATA, 1ULL << 12);
	CHECK_EQ_U64(FUSE_DO_READDIRPLUS, 1ULL << 13);
	CHECK_EQ_U64(FUSE_READDIRPLUS_AUTO, 1ULL << 14);
	CHECK_EQ_U64(FUSE_ASYNC_DIO, 1ULL << 15);
	CHECK_EQ_U64(FUSE_WRITEBACK_CACHE, 1ULL << 16);
	CHECK_EQ_U64(FUSE_NO_OPEN_SUPPORT, 1ULL << 17);
	CHECK_EQ_U64(FUSE_PARALLEL_DIROPS, 1ULL << 18);
	CHECK_EQ_U64(FUSE_HANDLE_KILLPRIV, 1ULL << 19);
	CHECK_EQ_U64(FUSE_POSIX_ACL, 1ULL << 20);
	CHECK_EQ_U64(FUSE_ABORT_ERROR, 1ULL << 21);
	CHECK_EQ_U64(FUSE_MAX_PAGES, 1ULL << 22);
	CHECK_EQ_U64(FUSE_CACHE_SYMLINKS, 1ULL << 23);
	CHECK_EQ_U64(FUSE_NO_OPENDIR_SUPPORT, 1ULL << 24);
	CHECK_EQ_U64(FUSE_EXPLICIT_INVAL_DATA, 1ULL << 25);
	CHECK_EQ_U64(FUSE_MAP_ALIGNMENT, 1ULL << 26);
	CHECK_EQ_U64(FUSE_SUBMOUNTS, 1ULL << 27);
	CHECK_EQ_U64(FUSE_HANDLE_KILLPRIV_V2, 1ULL << 28);
	CHECK_EQ_U64(FUSE_SETXATTR_EXT, 1ULL << 29);
	CHECK_EQ_U64(FUSE_INIT_EXT, 1ULL << 30);
	CHECK_EQ_U64(FUSE_INIT_RESERVED, 1ULL << 31);
	CHECK_EQ_U64(FUSE_SECURITY_CTX, 1ULL << 32);
	CHECK_EQ_U64(FUSE_HAS_INODE_DAX, 1ULL << 33);
	CHECK_EQ_U64(FUSE_CREATE_SUPP_GROUP, 1ULL << 34);
	CHECK_EQ_U64(FUSE_HAS_EXPIRE_ONLY, 1ULL << 35);
	CHECK_EQ_U64(FUSE_DIRECT_IO_ALLOW_MMAP, 1ULL << 36);
	CHECK_EQ_U64(FUSE_PASSTHROUGH, 1ULL << 37);
	CHECK_EQ_U64(FUSE_NO_EXPORT_SUPPORT, 1ULL << 38);
	CHECK_EQ_U64(FUSE_HAS_RESEND, 1ULL << 39);
	CHECK_EQ_U64(FUSE_ALLOW_IDMAP, 1ULL << 40);
	CHECK_EQ_U64(FUSE_OVER_IO_URING, 1ULL << 41);
	CHECK_EQ_U64(FUSE_REQUEST_TIMEOUT, 1ULL << 42);
}

/* FURI_CAP_* are documented as the kernel's INIT flags (flags2 << 32). */
static void test_public_caps_equal_kernel_flags(void)
{
	CHECK_EQ_U64(FURI_CAP_ASYNC_READ, FUSE_ASYNC_READ);
	CHECK_EQ_U64(FURI_CAP_POSIX_LOCKS, FUSE_POSIX_LOCKS);
	CHECK_EQ_U64(FURI_CAP_ATOMIC_O_TRUNC, FUSE_ATOMIC_O_TRUNC);
	CHECK_EQ_U64(FURI_CAP_EXPORT_SUPPORT, FUSE_EXPORT_SUPPORT);
	CHECK_EQ_U64(FURI_CAP_DONT_MASK, FUSE_DONT_MASK);
	CHECK_EQ_U64(FURI_CAP_FLOCK_LOCKS, FUSE_FLOCK_LOCKS);
	CHECK_EQ_U64(FURI_CAP_AUTO_INVAL_DATA, FUSE_AUTO_INVAL_DATA);
	CHECK_EQ_U64(FURI_CAP_READDIRPLUS, FUSE_DO_READDIRPLUS);
	CHECK_EQ_U64(FURI_CAP_READDIRPLUS_AUTO, FUSE_READDIRPLUS_AUTO);
	CHECK_EQ_U64(FURI_CAP_ASYNC_DIO, FUSE_ASYNC_DIO);
	CHECK_EQ_U64(FURI_CAP_WRITEBACK_CACHE, FUSE_WRITEBACK_CACHE);
	CHECK_EQ_U64(FURI_CAP_PARALLEL_DIROPS, FUSE_PARALLEL_DIROPS);
	CHECK_EQ_U64(FURI_CAP_HANDLE_KILLPRIV, FUSE_HANDLE_KILLPRIV);
	CHECK_EQ_U64(FURI_CAP_POSIX_ACL, FUSE_POSIX_ACL);
	CHECK_EQ_U64(FURI_CAP_CACHE_SYMLINKS, FUSE_CACHE_SYMLINKS);
	CHECK_EQ_U64(FURI_CAP_EXPLICIT_INVAL_DATA, FUSE_EXPLICIT_INVAL_DATA);
	CHECK_EQ_U64(FURI_CAP_HANDLE_KILLPRIV_V2, FUSE_HANDLE_KILLPRIV_V2);
	CHECK_EQ_U64(FURI_CAP_SETXATTR_EXT, FUSE_SETXATTR_EXT);
	CHECK_EQ_U64(FURI_CAP_SECURITY_CTX, FUSE_SECURITY_CTX);
	CHECK_EQ_U64(FURI_CAP_CREATE_SUPP_GROUP, FUSE_CREATE_SUPP_GROUP);
	CHECK_EQ_U64(FURI_CAP_DIRECT_IO_ALLOW_MMAP, FUSE_DIRECT_IO_ALLOW_MMAP);
	CHECK_EQ_U64(FURI_CAP_PASSTHROUGH, FUSE_PASSTHROUGH);
	CHECK_EQ_U64(FURI_CAP_NO_EXPORT_SUPPORT, FUSE_NO_EXPORT_SUPPORT);
	CHECK_EQ_U64(FURI_CAP_OVER_IO_URING, FUSE_OVER_IO_URING);
}

/* Per-request flag words: the kernel values, and the public constants the
 * decoder passes through unchanged (setattr valid, write flags, setxattr). */
static void test_request_flags_match_kernel(void)
{
	CHECK_EQ(FATTR_MODE, 1u << 0);
	CHECK_EQ(FATTR_UID, 1u << 1);
	CHECK_EQ(FATTR_GID, 1u << 2);
	CHECK_EQ(FATTR_SIZE, 1u << 3);
	CHECK_EQ(FATTR_ATIME, 1u << 4);
	CHECK_EQ(FATTR_MTIME, 1u << 5);
	CHECK_EQ(FATTR_FH, 1u << 6);
	CHECK_EQ(FATTR_ATIME_NOW, 1u << 7);
	CHECK_EQ(FATTR_MTIME_NOW, 1u << 8);
	CHECK_EQ(FATTR_LOCKOWNER, 1u << 9);
	CHECK_EQ(FATTR_CTIME, 1u << 10);
	CHECK_EQ(FATTR_KILL_SUIDGID, 1u << 11);
	CHECK_EQ(FURI_SET_MODE, FATTR_MODE);
	CHECK_EQ(FURI_SET_UID, FATTR_UID);
	CHECK_EQ(FURI_SET_GID, FATTR_GID);
	CHECK_EQ(FURI_SET_SIZE, FATTR_SIZE);
	CHECK_EQ(FURI_SET_ATIME, FATTR_ATIME);
	CHECK_EQ(FURI_SET_MTIME, FATTR_MTIME);
	CHECK_EQ(FURI_SET_ATIME_NOW, FATTR_ATIME_NOW);
	CHECK_EQ(FURI_SET_MTIME_NOW, FATTR_MTIME_NOW);
	CHECK_EQ(FURI_SET_CTIME, FATTR_CTIME);
	CHECK_EQ(FURI_SET_KILL_SUIDGID, FATTR_KILL_SUIDGID);

	CHECK_EQ(FOPEN_DIRECT_IO, 1u << 0);
	CHECK_EQ(FOPEN_KEEP_CACHE, 1u << 1);
	CHECK_EQ(FOPEN_NONSEEKABLE, 1u << 2);
	CHECK_EQ(FOPEN_CACHE_DIR, 1u << 3);
	CHECK_EQ(FOPEN_STREAM, 1u << 4);
	CHECK_EQ(FOPEN_NOFLUSH, 1u << 5);
	CHECK_EQ(FOPEN_PARALLEL_DIRECT_WRITES, 1u << 6);
	CHECK_EQ(FOPEN_PASSTHROUGH, 1u << 7);

	CHECK_EQ(FUSE_OPEN_KILL_SUIDGID, 1u << 0);
	CHECK_EQ(FUSE_RELEASE_FLUSH, 1u << 0);
	CHECK_EQ(FUSE_RELEASE_FLOCK_UNLOCK, 1u << 1);
	CHECK_EQ(FUSE_GETATTR_FH, 1u << 0);
	CHECK_EQ(FUSE_LK_FLOCK, 1u << 0);
	CHECK_EQ(FUSE_WRITE_CACHE, 1u << 0);
	CHECK_EQ(FUSE_WRITE_LOCKOWNER, 1u << 1);
	CHECK_EQ(FUSE_WRITE_KILL_SUIDGID, 1u << 2);
	CHECK_EQ(FUSE_READ_LOCKOWNER, 1u << 1);
	CHECK_EQ(FUSE_FSYNC_FDATASYNC, 1u << 0);
	CHECK_EQ(FUSE_SETXATTR_ACL_KILL_SGID, 1u << 0);
	CHECK_EQ(FURI_WRITE_CACHE, FUSE_WRITE_CACHE);
	CHECK_EQ(FURI_WRITE_KILL_SUIDGID, FUSE_WRITE_KILL_SUIDGID);
	CHECK_EQ(FURI_SETXATTR_ACL_KILL_SGID, FUSE_SETXATTR_ACL_KILL_SGID);
}

int main(void)
{
	test_common_structs_match_kernel();
	test_headers_match_kernel();
	test_entry_and_attr_replies_match_kernel();
	test_request_args_match_kernel();
	test_init_matches_kernel();
	test_notify_and_ioctls_match_kernel();
	test_uring_structs_match_kernel();
	test_structs_are_8_byte_aligned();
	test_opcodes_match_kernel();
	test_init_flags_match_kernel();
	test_public_caps_equal_kernel_flags();
	test_request_flags_match_kernel();
	return check_exit("test_abi_sizes");
}
