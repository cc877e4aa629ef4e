/* SPDX-License-Identifier: MIT */
/*
 * gen_corpus.c - writes the seed corpus of fuzz_decoder into a directory:
 * one well-formed request per opcode furi decodes, and the malformed shapes
 * the decoder must refuse, each in both framings (see fuzz_decoder.c for
 * the input layout). Regenerate with:
 *
 *	cc -Iinclude -Ilib tests/fuzz/gen_corpus.c -o /tmp/gen_corpus
 *	/tmp/gen_corpus tests/fuzz/corpus
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernel_abi.h"

static const char *outdir;
static unsigned written;

struct req {
	struct fuse_in_header ih;
	unsigned char arg[128];
	size_t arg_len;
	unsigned char data[4096];
	size_t data_len;
	int len_delta;		/* added to the correct ih.len: broken framing */
};

static void start(struct req *r, uint32_t opcode, uint64_t nodeid)
{
	memset(r, 0, sizeof(*r));
	r->ih.opcode = opcode;
	r->ih.unique = 2;
	r->ih.nodeid = nodeid;
	r->ih.uid = 1000;
	r->ih.gid = 1000;
	r->ih.pid = 77;
}

static void arg(struct req *r, const void *p, size_t n)
{
	memcpy(r->arg, p, n);
	r->arg_len = n;
}

static void data(struct req *r, const void *p, size_t n)
{
	memcpy(r->data + r->data_len, p, n);
	r->data_len += n;
}

static void str(struct req *r, const char *s)
{
	data(r, s, strlen(s) + 1);
}

static void ext_groups(struct req *r, uint32_t gid)
{
	struct fuse_ext_header xh = { .size = 16, .type = FUSE_EXT_GROUPS };
	uint32_t g[2] = { 1, gid };

	data(r, &xh, sizeof(xh));
	data(r, g, sizeof(g));
	r->ih.total_extlen += 2;
}

static void put(const char *name, const unsigned char *buf, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
	written++;
}

/* Both framings of r; extra_mode adds bits (SETXATTR_EXT, small reply area). */
static void emit(const char *name, struct req *r, unsigned extra_mode)
{
	static unsigned char buf[1 + 256 + 4096 + 256];
	char fname[256];
	size_t n = 0;

	r->ih.len = (uint32_t)(sizeof(r->ih) + r->arg_len + r->data_len + r->len_delta);

	/* /dev/fuse: mode, header, argument, data back to back. */
	buf[n++] = (unsigned char)(0x00 | extra_mode);
	memcpy(buf + n, &r->ih, sizeof(r->ih));
	n += sizeof(r->ih);
	memcpy(buf + n, r->arg, r->arg_len);
	n += r->arg_len;
	memcpy(buf + n, r->data, r->data_len);
	n += r->data_len;
	snprintf(fname, sizeof(fname), "dev-%s", name);
	put(fname, buf, n);

	/* Ring: mode, 128-byte in_out, 128-byte op_in, payload. */
	memset(buf, 0, sizeof(buf));
	n = 0;
	buf[n++] = (unsigned char)(0x01 | extra_mode);
	memcpy(buf + n, &r->ih, sizeof(r->ih));
	n += FUSE_URING_IN_OUT_HEADER_SZ;
	memcpy(buf + n, r->arg, r->arg_len);
	n += FUSE_URING_OP_IN_OUT_SZ;
	memcpy(buf + n, r->data, r->data_len);
	n += r->data_len;
	snprintf(fname, sizeof(fname), "ring-%s", name);
	put(fname, buf, n);
}

static void good_requests(void)
{
	struct req r;

	start(&r, FUSE_LOOKUP, 1);
	str(&r, "hello");
	emit("lookup", &r, 0);

	{
		struct fuse_forget_in in = { .nlookup = 3 };

		start(&r, FUSE_FORGET, 7);
		arg(&r, &in, sizeof(in));
		r.ih.unique = 0;
		emit("forget", &r, 0);
	}
	{
		struct fuse_batch_forget_in in = { .count = 2 };
		struct fuse_forget_one one[2] = { { 10, 1 }, { 11, 2 } };

		start(&r, FUSE_BATCH_FORGET, 0);
		arg(&r, &in, sizeof(in));
		data(&r, one, sizeof(one));
		emit("batch_forget", &r, 0);
	}
	{
		struct fuse_getattr_in in = { .getattr_flags = FUSE_GETATTR_FH, .fh = 9 };

		start(&r, FUSE_GETATTR, 1);
		arg(&r, &in, sizeof(in));
		emit("getattr_fh", &r, 0);
	}
	{
		struct fuse_setattr_in in = { .valid = FATTR_MODE | FATTR_SIZE | FATTR_FH | FATTR_MTIME,
					      .fh = 3, .size = 4096, .mtime = 5, .mode = 0600 };

		start(&r, FUSE_SETATTR, 2);
		arg(&r, &in, sizeof(in));
		emit("setattr", &r, 0);
	}
	start(&r, FUSE_READLINK, 3);
	emit("readlink", &r, 0);
	start(&r, FUSE_SYMLINK, 1);
	str(&r, "link");
	str(&r, "target");
	ext_groups(&r, 100);
	emit("symlink", &r, 0);
	{
		struct fuse_mknod_in in = { .mode = S_IFIFO | 0644, .umask = 022 };

		start(&r, FUSE_MKNOD, 1);
		arg(&r, &in, sizeof(in));
		str(&r, "fifo");
		emit("mknod", &r, 0);
	}
	{
		struct fuse_mkdir_in in = { .mode = 0755, .umask = 022 };

		start(&r, FUSE_MKDIR, 1);
		arg(&r, &in, sizeof(in));
		str(&r, "dir");
		ext_groups(&r, 4321);
		emit("mkdir_supp_group", &r, 0);
	}
	start(&r, FUSE_UNLINK, 1);
	str(&r, "f");
	emit("unlink", &r, 0);
	start(&r, FUSE_RMDIR, 1);
	str(&r, "d");
	emit("rmdir", &r, 0);
	{
		struct fuse_rename_in in = { .newdir = 4 };
		struct fuse_rename2_in in2 = { .newdir = 4, .flags = 1 };

		start(&r, FUSE_RENAME, 1);
		arg(&r, &in, sizeof(in));
		str(&r, "a");
		str(&r, "b");
		emit("rename", &r, 0);
		start(&r, FUSE_RENAME2, 1);
		arg(&r, &in2, sizeof(in2));
		str(&r, "a");
		str(&r, "b");
		emit("rename2", &r, 0);
	}
	{
		struct fuse_link_in in = { .oldnodeid = 5 };

		start(&r, FUSE_LINK, 1);
		arg(&r, &in, sizeof(in));
		str(&r, "hard");
		emit("link", &r, 0);
	}
	{
		struct fuse_open_in in = { .flags = O_RDWR, .open_flags = FUSE_OPEN_KILL_SUIDGID };

		start(&r, FUSE_OPEN, 2);
		arg(&r, &in, sizeof(in));
		emit("open", &r, 0);
		in.flags = O_RDONLY | O_DIRECTORY;
		start(&r, FUSE_OPENDIR, 1);
		arg(&r, &in, sizeof(in));
		emit("opendir", &r, 0);
	}
	{
		struct fuse_read_in in = { .fh = 1, .offset = 0, .size = 4096 };

		start(&r, FUSE_READ, 2);
		arg(&r, &in, sizeof(in));
		emit("read", &r, 0);
		start(&r, FUSE_READDIR, 1);
		arg(&r, &in, sizeof(in));
		emit("readdir", &r, 0);
		start(&r, FUSE_READDIRPLUS, 1);
		arg(&r, &in, sizeof(in));
		emit("readdirplus", &r, 0);
		in.size = 8192;
		start(&r, FUSE_READ, 2);
		arg(&r, &in, sizeof(in));
		emit("read_past_small_out", &r, 0x04);
	}
	{
		struct fuse_write_in in = { .fh = 1, .offset = 10, .size = 12,
					    .write_flags = FUSE_WRITE_CACHE };

		start(&r, FUSE_WRITE, 2);
		arg(&r, &in, sizeof(in));
		data(&r, "hello world!", 12);
		emit("write", &r, 0);
	}
	start(&r, FUSE_STATFS, 1);
	emit("statfs", &r, 0);
	{
		struct fuse_release_in in = { .fh = 1, .release_flags = FUSE_RELEASE_FLUSH };

		start(&r, FUSE_RELEASE, 2);
		arg(&r, &in, sizeof(in));
		emit("release", &r, 0);
		start(&r, FUSE_RELEASEDIR, 1);
		arg(&r, &in, sizeof(in));
		emit("releasedir", &r, 0);
	}
	{
		struct fuse_fsync_in in = { .fh = 1, .fsync_flags = FUSE_FSYNC_FDATASYNC };

		start(&r, FUSE_FSYNC, 2);
		arg(&r, &in, sizeof(in));
		emit("fsync", &r, 0);
		start(&r, FUSE_FSYNCDIR, 1);
		arg(&r, &in, sizeof(in));
		emit("fsyncdir", &r, 0);
	}
	{
		struct fuse_setxattr_in in = { .size = 5, .flags = 1, .setxattr_flags = 1 };

		start(&r, FUSE_SETXATTR, 2);
		arg(&r, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
		str(&r, "user.a");
		data(&r, "value", 5);
		emit("setxattr_compat", &r, 0);
		start(&r, FUSE_SETXATTR, 2);
		arg(&r, &in, sizeof(in));
		str(&r, "user.a");
		data(&r, "value", 5);
		emit("setxattr_ext", &r, 0x02);
	}
	{
		struct fuse_getxattr_in in = { .size = 0 };

		start(&r, FUSE_GETXATTR, 2);
		arg(&r, &in, sizeof(in));
		str(&r, "user.a");
		emit("getxattr_size", &r, 0);
		in.size = 100;
		start(&r, FUSE_LISTXATTR, 2);
		arg(&r, &in, sizeof(in));
		emit("listxattr", &r, 0);
	}
	start(&r, FUSE_REMOVEXATTR, 2);
	str(&r, "user.a");
	emit("removexattr", &r, 0);
	{
		struct fuse_flush_in in = { .fh = 1, .lock_owner = 9 };

		start(&r, FUSE_FLUSH, 2);
		arg(&r, &in, sizeof(in));
		emit("flush", &r, 0);
	}
	{
		struct fuse_lk_in in = { .fh = 1, .owner = 2,
					 .lk = { .start = 0, .end = (uint64_t)INT64_MAX, .type = F_WRLCK,
						 .pid = 5 } };

		start(&r, FUSE_GETLK, 2);
		arg(&r, &in, sizeof(in));
		emit("getlk", &r, 0);
		in.lk.end = 99;
		start(&r, FUSE_SETLK, 2);
		arg(&r, &in, sizeof(in));
		emit("setlk", &r, 0);
		in.lk_flags = FUSE_LK_FLOCK;
		start(&r, FUSE_SETLKW, 2);
		arg(&r, &in, sizeof(in));
		emit("setlkw_flock", &r, 0);
	}
	{
		struct fuse_access_in in = { .mask = 4 };

		start(&r, FUSE_ACCESS, 2);
		arg(&r, &in, sizeof(in));
		emit("access", &r, 0);
	}
	{
		struct fuse_create_in in = { .flags = O_CREAT | O_RDWR, .mode = S_IFREG | 0644,
					     .umask = 022 };

		start(&r, FUSE_CREATE, 1);
		arg(&r, &in, sizeof(in));
		str(&r, "new");
		ext_groups(&r, 7);
		emit("create", &r, 0);
		in.flags = O_RDWR | O_TMPFILE;
		start(&r, FUSE_TMPFILE, 1);
		arg(&r, &in, sizeof(in));
		str(&r, "/");
		emit("tmpfile", &r, 0);
	}
	{
		struct fuse_interrupt_in in = { .unique = 2 };

		start(&r, FUSE_INTERRUPT, 0);
		arg(&r, &in, sizeof(in));
		emit("interrupt", &r, 0);
	}
	{
		struct fuse_fallocate_in in = { .fh = 1, .offset = 0, .length = 4096, .mode = 1 };

		start(&r, FUSE_FALLOCATE, 2);
		arg(&r, &in, sizeof(in));
		emit("fallocate", &r, 0);
	}
	{
		struct fuse_lseek_in in = { .fh = 1, .offset = 100, .whence = 3 };

		start(&r, FUSE_LSEEK, 2);
		arg(&r, &in, sizeof(in));
		emit("lseek", &r, 0);
	}
	{
		struct fuse_copy_file_range_in in = { .fh_in = 1, .nodeid_out = 3, .fh_out = 2,
						      .len = 5ULL << 32 };

		start(&r, FUSE_COPY_FILE_RANGE, 2);
		arg(&r, &in, sizeof(in));
		emit("copy_file_range", &r, 0);
		start(&r, FUSE_COPY_FILE_RANGE_64, 2);
		arg(&r, &in, sizeof(in));
		emit("copy_file_range_64", &r, 0);
	}
	{
		struct fuse_init_in in = { .major = 7, .minor = 45, .max_readahead = 65536,
					   .flags = (uint32_t)(FUSE_ASYNC_READ | FUSE_INIT_EXT),
					   .flags2 = (uint32_t)(FUSE_OVER_IO_URING >> 32) };

		start(&r, FUSE_INIT, 0);
		arg(&r, &in, sizeof(in));
		emit("init", &r, 0);
	}
	start(&r, FUSE_DESTROY, 0);
	emit("destroy", &r, 0);
	{
		struct fuse_notify_retrieve_in in = { .offset = 4096, .size = 5 };

		start(&r, FUSE_NOTIFY_REPLY, 2);
		arg(&r, &in, sizeof(in));
		data(&r, "bytes", 5);
		emit("notify_reply", &r, 0);
	}
	{
		struct fuse_ioctl_in in = { .fh = 3, .cmd = 0x80086601, .in_size = 8,
					    .out_size = 8 };

		start(&r, FUSE_IOCTL, 2);
		arg(&r, &in, sizeof(in));
		data(&r, "12345678", 8);
		emit("ioctl", &r, 0);
		in.cmd = 0xc0084e01;	/* odd: the fuzz handler asks for a retry */
		in.flags = FUSE_IOCTL_UNRESTRICTED;
		start(&r, FUSE_IOCTL, 2);
		arg(&r, &in, sizeof(in));
		data(&r, "12345678", 8);
		emit("ioctl_retry", &r, 0);
	}
	{
		struct fuse_poll_in in = { .fh = 3, .kh = 9, .flags = FUSE_POLL_SCHEDULE_NOTIFY,
					   .events = 1 };

		start(&r, FUSE_POLL, 2);
		arg(&r, &in, sizeof(in));
		emit("poll", &r, 0);
	}
	{
		struct fuse_statx_in in = { .getattr_flags = FUSE_GETATTR_FH, .fh = 3,
					    .sx_mask = 0xfff };

		start(&r, FUSE_STATX, 2);
		arg(&r, &in, sizeof(in));
		emit("statx", &r, 0);
	}
	{
		struct fuse_bmap_in bin = { .block = 7, .blocksize = 4096 };
		struct fuse_syncfs_in sin = { 0 };

		start(&r, FUSE_BMAP, 2);
		arg(&r, &bin, sizeof(bin));
		emit("bmap", &r, 0);
		start(&r, FUSE_SYNCFS, 1);
		arg(&r, &sin, sizeof(sin));
		emit("syncfs", &r, 0);
	}
	{
		/* mkdir with a security context: header (1 context), context, name, value. */
		struct fuse_mkdir_in in = { .mode = 0755 };
		struct fuse_ext_header xh = { .size = 40, .type = 1 };
		struct fuse_secctx sc = { .size = 9 };

		start(&r, FUSE_MKDIR, 1);
		arg(&r, &in, sizeof(in));
		str(&r, "labelled");
		data(&r, &xh, sizeof(xh));
		data(&r, &sc, sizeof(sc));
		str(&r, "security.x");
		data(&r, "u:r:t:s0", 9);
		data(&r, "\0\0\0\0", 4);	/* to 8 bytes: 8 + 8 + 11 + 9 + 4 */
		r.ih.total_extlen = 5;
		emit("mkdir_secctx", &r, 0);
	}
}

static void bad_requests(void)
{
	struct req r;

	{
		struct fuse_read_in in = { .size = 10 };

		start(&r, FUSE_READ, 2);
		arg(&r, &in, sizeof(in) - 1);
		emit("bad-truncated_arg", &r, 0);
	}
	start(&r, FUSE_LOOKUP, 1);
	data(&r, "noterm", 6);
	emit("bad-name_without_nul", &r, 0);
	start(&r, FUSE_LOOKUP, 1);
	str(&r, "");
	emit("bad-empty_name", &r, 0);
	{
		struct fuse_write_in in = { .size = 100 };

		start(&r, FUSE_WRITE, 2);
		arg(&r, &in, sizeof(in));
		data(&r, "short", 5);
		emit("bad-write_past_data", &r, 0);
	}
	{
		struct fuse_setxattr_in in = { .size = 100 };

		start(&r, FUSE_SETXATTR, 2);
		arg(&r, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
		str(&r, "user.a");
		data(&r, "v", 1);
		emit("bad-setxattr_past_data", &r, 0);
	}
	{
		struct fuse_batch_forget_in in = { .count = 1000 };
		struct fuse_forget_one one = { 10, 1 };

		start(&r, FUSE_BATCH_FORGET, 0);
		arg(&r, &in, sizeof(in));
		data(&r, &one, sizeof(one));
		emit("bad-batch_forget_count", &r, 0);
	}
	{
		struct fuse_read_in in = { .size = 0x7fffffff };

		start(&r, FUSE_READ, 2);
		arg(&r, &in, sizeof(in));
		emit("bad-read_past_out", &r, 0);
	}
	{
		static const uint32_t sizes[] = { 0, 12, 64 };
		static const char *const names[] = { "bad-ext_size0", "bad-ext_size12",
						     "bad-ext_past_end" };

		for (int i = 0; i < 3; i++) {
			struct fuse_ext_header xh = { .size = sizes[i], .type = FUSE_EXT_GROUPS };
			uint32_t g[2] = { 1, 5 };

			start(&r, FUSE_LOOKUP, 1);
			str(&r, "x");
			data(&r, &xh, sizeof(xh));
			data(&r, g, sizeof(g));
			r.ih.total_extlen = 2;
			emit(names[i], &r, 0);
		}
	}
	start(&r, FUSE_LOOKUP, 1);
	str(&r, "x");
	r.ih.total_extlen = 100;
	emit("bad-total_extlen", &r, 0);
	start(&r, FUSE_LOOKUP, 1);
	str(&r, "x");
	r.len_delta = 1;
	emit("bad-len_too_big", &r, 0);
	start(&r, FUSE_LOOKUP, 1);
	str(&r, "x");
	r.len_delta = -1;
	emit("bad-len_too_small", &r, 0);
	{
		struct fuse_lk_in in = { .lk = { .start = 100, .end = 5, .type = F_RDLCK } };

		start(&r, FUSE_GETLK, 2);
		arg(&r, &in, sizeof(in));
		emit("bad-lock_end_before_start", &r, 0);
		in.lk.start = 1ULL << 63;
		in.lk.end = 0;
		start(&r, FUSE_GETLK, 2);
		arg(&r, &in, sizeof(in));
		emit("bad-lock_start_negative", &r, 0);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	good_requests();
	bad_requests();
	printf("wrote %u seeds to %s\n", written, outdir);
	return 0;
}
