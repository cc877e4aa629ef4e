/* SPDX-License-Identifier: MIT */
/*
 * test_reply.c - each furi_reply_*() encoder (lib/reply.c) writes exactly
 * the kernel's out struct into the request's reply area and hands the
 * channel the right (error, args_len, extra). The reply area is filled
 * with 0xAA first, so bytes an encoder should zero (padding, unused
 * fields) and bytes it must not touch are both visible.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "internal.h"
#include "check.h"
#include "fake_chan.h"

#define OUT_SIZE 8192
#define POISON 0xaa

static struct furi_session se;
static char out[OUT_SIZE] __attribute__((aligned(64)));

/* A fresh request of opcode on inode nodeid with a poisoned reply area. */
static struct furi_req *new_req(uint32_t opcode, uint64_t nodeid)
{
	static struct furi_req r;

	memset(&r, 0, sizeof(r));
	memset(&sent, 0, sizeof(sent));
	memset(out, POISON, sizeof(out));
	r.se = &se;
	r.chan = &chan;
	r.out = out;
	r.out_size = OUT_SIZE;
	r.opcode = opcode;
	r.nodeid = nodeid;
	r.unique = 1;
	return &r;
}

/* One successful reply of n argument bytes, nothing extra. */
#define CHECK_SENT_ARGS(nbytes)                        \
	do {                                           \
		CHECK_EQ(sent.n, 1);                   \
		CHECK_EQ(sent.error, 0);               \
		CHECK_EQ(sent.args_len, (nbytes));     \
		CHECK(sent.extra == NULL);             \
		CHECK_EQ(sent.extra_len, 0);           \
		CHECK(!sent.no_reply);                 \
	} while (0)

/* Bytes [from, to) of the reply area were not written. */
static bool untouched(size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if ((unsigned char)out[i] != POISON)
			return false;
	return true;
}

static struct stat sample_stat(void)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_ino = 0;
	st.st_size = 1234567;
	st.st_blocks = 2416;
	st.st_atim.tv_sec = 100;
	st.st_atim.tv_nsec = 5;
	st.st_mtim.tv_sec = 200;
	st.st_mtim.tv_nsec = 6;
	st.st_ctim.tv_sec = 300;
	st.st_ctim.tv_nsec = 999999999;
	st.st_mode = S_IFREG | 0644;
	st.st_nlink = 2;
	st.st_uid = 10;
	st.st_gid = 20;
	st.st_rdev = 0;
	st.st_blksize = 0;
	return st;
}

static void check_sample_attr(const struct fuse_attr *a, uint64_t want_ino)
{
	CHECK_EQ(a->ino, want_ino);
	CHECK_EQ(a->size, 1234567);
	CHECK_EQ(a->blocks, 2416);
	CHECK_EQ(a->atime, 100);
	CHECK_EQ(a->atimensec, 5);
	CHECK_EQ(a->mtime, 200);
	CHECK_EQ(a->mtimensec, 6);
	CHECK_EQ(a->ctime, 300);
	CHECK_EQ(a->ctimensec, 999999999);
	CHECK_EQ(a->mode, S_IFREG | 0644);
	CHECK_EQ(a->nlink, 2);
	CHECK_EQ(a->uid, 10);
	CHECK_EQ(a->gid, 20);
	CHECK_EQ(a->rdev, 0);
	CHECK_EQ(a->blksize, 4096);	/* 0 means "the page size" */
	CHECK_EQ(a->flags, 0);
}

static void test_entry_splits_timeouts_and_fills_attr(void)
{
	struct furi_req *req = new_req(FUSE_LOOKUP, 1);
	struct furi_entry e = { .ino = 42, .generation = 7, .attr = sample_stat(),
				.attr_timeout = 1.5, .entry_timeout = 2.25 };
	const struct fuse_entry_out *o = (const void *)out;

	furi_reply_entry(req, &e);
	CHECK_SENT_ARGS(sizeof(struct fuse_entry_out));
	CHECK_EQ(o->nodeid, 42);
	CHECK_EQ(o->generation, 7);
	CHECK_EQ(o->entry_valid, 2);
	CHECK_EQ(o->entry_valid_nsec, 250000000);
	CHECK_EQ(o->attr_valid, 1);
	CHECK_EQ(o->attr_valid_nsec, 500000000);
	check_sample_attr(&o->attr, 42);	/* st_ino 0: the entry's ino */
	CHECK(untouched(sizeof(*o), OUT_SIZE));

	/* A non-zero st_ino is what stat() will show. */
	e.attr.st_ino = 99;
	e.attr.st_blksize = 65536;
	req = new_req(FUSE_LOOKUP, 1);
	furi_reply_entry(req, &e);
	CHECK_EQ(o->nodeid, 42);
	CHECK_EQ(o->attr.ino, 99);
	CHECK_EQ(o->attr.blksize, 65536);
}

static void test_entry_timeouts_nan_negative_and_huge(void)
{
	struct furi_entry e = { .ino = 5, .attr = sample_stat() };
	const struct fuse_entry_out *o = (const void *)out;
	struct furi_req *req;

	e.attr_timeout = NAN;
	e.entry_timeout = -3.5;
	req = new_req(FUSE_LOOKUP, 1);
	furi_reply_entry(req, &e);
	CHECK_EQ(o->attr_valid, 0);
	CHECK_EQ(o->attr_valid_nsec, 0);
	CHECK_EQ(o->entry_valid, 0);
	CHECK_EQ(o->entry_valid_nsec, 0);

	e.attr_timeout = -0.0;
	e.entry_timeout = 0.0;
	req = new_req(FUSE_LOOKUP, 1);
	furi_reply_entry(req, &e);
	CHECK_EQ(o->attr_valid, 0);
	CHECK_EQ(o->entry_valid, 0);

	/* "Forever" is capped, not undefined behaviour in the conversion. */
	e.attr_timeout = INFINITY;
	e.entry_timeout = 1e300;
	req = new_req(FUSE_LOOKUP, 1);
	furi_reply_entry(req, &e);
	CHECK_EQ_U64(o->attr_valid, 1000000000000000000ULL);
	CHECK_EQ(o->attr_valid_nsec, 0);
	CHECK_EQ_U64(o->entry_valid, 1000000000000000000ULL);
	CHECK(o->entry_valid_nsec < 1000000000u);

	/* Sub-second only. */
	e.attr_timeout = 0.125;
	e.entry_timeout = 86400.5;
	req = new_req(FUSE_LOOKUP, 1);
	furi_reply_entry(req, &e);
	CHECK_EQ(o->attr_valid, 0);
	CHECK_EQ(o->attr_valid_nsec, 125000000);
	CHECK_EQ(o->entry_valid, 86400);
	CHECK_EQ(o->entry_valid_nsec, 500000000);

	/* A negative entry: ino 0 with a timeout caches "does not exist". */
	e.ino = 0;
	e.attr = sample_stat();
	e.entry_timeout = 10;
	req = new_req(FUSE_LOOKUP, 1);
	furi_reply_entry(req, &e);
	CHECK_EQ(o->nodeid, 0);
	CHECK_EQ(o->entry_valid, 10);
}

static void test_create_writes_entry_then_open(void)
{
	struct furi_req *req = new_req(FUSE_CREATE, 1);
	struct furi_entry e = { .ino = 77, .generation = 3, .attr = sample_stat(),
				.attr_timeout = 1, .entry_timeout = 1 };
	struct furi_open fo = { .fh = 0x1122334455ULL, .direct_io = 1 };
	const struct fuse_entry_out *eo = (const void *)out;
	const struct fuse_open_out *oo = (const void *)(out + sizeof(struct fuse_entry_out));

	furi_reply_create(req, &e, &fo);
	CHECK_SENT_ARGS(sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out));
	CHECK_EQ(eo->nodeid, 77);
	CHECK_EQ(eo->generation, 3);
	CHECK_EQ(eo->entry_valid, 1);
	check_sample_attr(&eo->attr, 77);
	CHECK_EQ_U64(oo->fh, 0x1122334455ULL);
	CHECK_EQ(oo->open_flags, FOPEN_DIRECT_IO);
	CHECK_EQ(oo->backing_id, 0);
	CHECK(untouched(sizeof(*eo) + sizeof(*oo), OUT_SIZE));
}

static void test_attr_uses_request_inode_when_st_ino_is_zero(void)
{
	struct furi_req *req = new_req(FUSE_GETATTR, 314);
	struct stat st = sample_stat();
	const struct fuse_attr_out *o = (const void *)out;

	furi_reply_attr(req, &st, 3.75);
	CHECK_SENT_ARGS(sizeof(struct fuse_attr_out));
	CHECK_EQ(o->attr_valid, 3);
	CHECK_EQ(o->attr_valid_nsec, 750000000);
	CHECK_EQ(o->dummy, 0);
	check_sample_attr(&o->attr, 314);
	CHECK(untouched(sizeof(*o), OUT_SIZE));

	st.st_ino = 15;
	st.st_mode = S_IFCHR | 0600;
	st.st_rdev = makedev(4, 64);
	req = new_req(FUSE_GETATTR, 314);
	furi_reply_attr(req, &st, NAN);
	CHECK_EQ(o->attr_valid, 0);
	CHECK_EQ(o->attr_valid_nsec, 0);
	CHECK_EQ(o->attr.ino, 15);
	CHECK_EQ(o->attr.mode, S_IFCHR | 0600);
	CHECK_EQ(o->attr.rdev, makedev(4, 64));
}

static void test_open_maps_every_flag(void)
{
	static const struct {
		struct furi_open fo;
		uint32_t flags;
		int32_t backing_id;
	} cases[] = {
		{ { .fh = 1 }, 0, 0 },
		{ { .direct_io = 1 }, FOPEN_DIRECT_IO, 0 },
		{ { .keep_cache = 1 }, FOPEN_KEEP_CACHE, 0 },
		{ { .nonseekable = 1 }, FOPEN_NONSEEKABLE, 0 },
		{ { .cache_dir = 1 }, FOPEN_CACHE_DIR, 0 },
		{ { .noflush = 1 }, FOPEN_NOFLUSH, 0 },
		{ { .parallel_direct_writes = 1 }, FOPEN_PARALLEL_DIRECT_WRITES, 0 },
		/* an input-only field must not leak into the reply */
		{ { .kill_suidgid = 1, .flags = O_RDWR }, 0, 0 },
		{ { .backing_id = 5 }, FOPEN_PASSTHROUGH, 5 },
		{ { .backing_id = -1 }, 0, 0 },
		{ { .direct_io = 1, .keep_cache = 1, .nonseekable = 1, .cache_dir = 1, .noflush = 1,
		    .parallel_direct_writes = 1, .backing_id = 9 },
		  FOPEN_DIRECT_IO | FOPEN_KEEP_CACHE | FOPEN_NONSEEKABLE | FOPEN_CACHE_DIR |
		  FOPEN_NOFLUSH | FOPEN_PARALLEL_DIRECT_WRITES | FOPEN_PASSTHROUGH, 9 },
	};
	const struct fuse_open_out *o = (const void *)out;

	for (size_t i = 0; i < FURI_ARRAY_SIZE(cases); i++) {
		struct furi_req *req = new_req(FUSE_OPEN, 2);
		int before = check_failures;

		furi_reply_open(req, &cases[i].fo);
		CHECK_SENT_ARGS(sizeof(struct fuse_open_out));
		CHECK_EQ(o->fh, cases[i].fo.fh);
		CHECK_EQ(o->open_flags, cases[i].flags);
		CHECK_EQ(o->backing_id, cases[i].backing_id);
		CHECK(untouched(sizeof(*o), OUT_SIZE));
		if (check_failures != before)
			fprintf(stderr, "  (open case %zu)\n", i);
	}
}

static void test_write_and_xattr_size_counts(void)
{
	const struct fuse_write_out *w = (const void *)out;
	const struct fuse_getxattr_out *x = (const void *)out;
	struct furi_req *req = new_req(FUSE_WRITE, 2);

	furi_reply_write(req, 4096);
	CHECK_SENT_ARGS(sizeof(struct fuse_write_out));
	CHECK_EQ(w->size, 4096);
	CHECK_EQ(w->padding, 0);
	CHECK(untouched(sizeof(*w), OUT_SIZE));

	req = new_req(FUSE_WRITE, 2);
	furi_reply_write(req, (size_t)UINT32_MAX + 10);
	CHECK_EQ(w->size, UINT32_MAX);

	req = new_req(FUSE_GETXATTR, 2);
	furi_reply_xattr_size(req, 300);
	CHECK_SENT_ARGS(sizeof(struct fuse_getxattr_out));
	CHECK_EQ(x->size, 300);
	CHECK_EQ(x->padding, 0);
	CHECK(untouched(sizeof(*x), OUT_SIZE));
}

static void test_statfs_fields_and_frsize_default(void)
{
	struct statvfs sv;
	const struct fuse_statfs_out *o = (const void *)out;
	struct furi_req *req = new_req(FUSE_STATFS, 1);

	memset(&sv, 0x55, sizeof(sv));
	sv.f_blocks = 1000000;
	sv.f_bfree = 400000;
	sv.f_bavail = 300000;
	sv.f_files = 5000;
	sv.f_ffree = 4000;
	sv.f_bsize = 4096;
	sv.f_frsize = 1024;
	sv.f_namemax = 255;
	furi_reply_statfs(req, &sv);
	CHECK_SENT_ARGS(sizeof(struct fuse_statfs_out));
	CHECK_EQ(o->st.blocks, 1000000);
	CHECK_EQ(o->st.bfree, 400000);
	CHECK_EQ(o->st.bavail, 300000);
	CHECK_EQ(o->st.files, 5000);
	CHECK_EQ(o->st.ffree, 4000);
	CHECK_EQ(o->st.bsize, 4096);
	CHECK_EQ(o->st.frsize, 1024);
	CHECK_EQ(o->st.namelen, 255);
	CHECK_EQ(o->st.padding, 0);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(o->st.spare[i], 0);

	sv.f_frsize = 0;
	req = new_req(FUSE_STATFS, 1);
	furi_reply_statfs(req, &sv);
	CHECK_EQ(o->st.frsize, 4096);
}

static void test_lock_converts_length_to_end(void)
{
	const struct fuse_lk_out *o = (const void *)out;
	struct flock fl;
	struct furi_req *req;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_start = 10;
	fl.l_len = 0;	/* to the end of the file */
	fl.l_pid = 1234;
	req = new_req(FUSE_GETLK, 3);
	furi_reply_lock(req, &fl);
	CHECK_SENT_ARGS(sizeof(struct fuse_lk_out));
	CHECK_EQ(o->lk.type, F_WRLCK);
	CHECK_EQ(o->lk.start, 10);
	CHECK_EQ_U64(o->lk.end, (uint64_t)INT64_MAX);
	CHECK_EQ(o->lk.pid, 1234);
	CHECK(untouched(sizeof(*o), OUT_SIZE));

	fl.l_type = F_RDLCK;
	fl.l_len = 5;
	req = new_req(FUSE_GETLK, 3);
	furi_reply_lock(req, &fl);
	CHECK_EQ(o->lk.type, F_RDLCK);
	CHECK_EQ(o->lk.start, 10);
	CHECK_EQ(o->lk.end, 14);

	/* A handler's lock whose end does not fit: no signed overflow (UBSan
	 * flagged l_start + l_len - 1 here), the end is computed modulo 2^64. */
	fl.l_type = F_WRLCK;
	fl.l_start = INT64_MAX;
	fl.l_len = 2;
	req = new_req(FUSE_GETLK, 3);
	furi_reply_lock(req, &fl);
	CHECK_EQ_U64(o->lk.start, (uint64_t)INT64_MAX);
	CHECK_EQ_U64(o->lk.end, 1ULL << 63);

	/* No conflict: only the type matters, the rest is zero. */
	fl.l_type = F_UNLCK;
	req = new_req(FUSE_GETLK, 3);
	furi_reply_lock(req, &fl);
	CHECK_EQ(o->lk.type, F_UNLCK);
	CHECK_EQ(o->lk.start, 0);
	CHECK_EQ(o->lk.end, 0);
	CHECK_EQ(o->lk.pid, 0);
}

static void test_lseek_and_copy_replies(void)
{
	const struct fuse_lseek_out *l = (const void *)out;
	const struct fuse_write_out *w = (const void *)out;
	const struct fuse_copy_file_range_out *c = (const void *)out;
	struct furi_req *req = new_req(FUSE_LSEEK, 4);

	furi_reply_lseek(req, 1ULL << 40);
	CHECK_SENT_ARGS(sizeof(struct fuse_lseek_out));
	CHECK_EQ_U64(l->offset, 1ULL << 40);

	/* COPY_FILE_RANGE answers with a 32-bit fuse_write_out... */
	req = new_req(FUSE_COPY_FILE_RANGE, 4);
	furi_reply_copy(req, 5ULL << 32);
	CHECK_SENT_ARGS(sizeof(struct fuse_write_out));
	CHECK_EQ(w->size, UINT32_MAX);
	CHECK_EQ(w->padding, 0);
	CHECK(untouched(sizeof(*w), OUT_SIZE));

	req = new_req(FUSE_COPY_FILE_RANGE, 4);
	furi_reply_copy(req, 65536);
	CHECK_EQ(w->size, 65536);

	/* ...COPY_FILE_RANGE_64 with a 64-bit count. */
	req = new_req(FUSE_COPY_FILE_RANGE_64, 4);
	furi_reply_copy(req, 5ULL << 32);
	CHECK_SENT_ARGS(sizeof(struct fuse_copy_file_range_out));
	CHECK_EQ_U64(c->bytes_copied, 5ULL << 32);
	CHECK(untouched(sizeof(*c), OUT_SIZE));
}

static void test_readlink_and_buf_use_extra_data(void)
{
	static const char target[] = "../a/b/c";
	static char big[OUT_SIZE + 100];
	struct furi_req *req = new_req(FUSE_READLINK, 5);

	furi_reply_readlink(req, target);
	CHECK_EQ(sent.n, 1);
	CHECK_EQ(sent.error, 0);
	CHECK_EQ(sent.args_len, 0);
	CHECK(sent.extra == target);
	CHECK_EQ(sent.extra_len, strlen(target));	/* no NUL: the kernel wants none */
	CHECK(untouched(0, OUT_SIZE));

	/* Data from elsewhere goes as extra, capped at the reply area. */
	req = new_req(FUSE_READ, 5);
	furi_reply_buf(req, big, sizeof(big));
	CHECK_EQ(sent.args_len, 0);
	CHECK(sent.extra == big);
	CHECK_EQ(sent.extra_len, OUT_SIZE);

	/* Data already in the reply area is sent from there, no copy. */
	req = new_req(FUSE_READ, 5);
	furi_reply_buf(req, out, 100);
	CHECK_SENT_ARGS(100);

	req = new_req(FUSE_READ, 5);
	furi_reply_data(req, 500);
	CHECK_SENT_ARGS(500);
	req = new_req(FUSE_READ, 5);
	furi_reply_data(req, OUT_SIZE * 2);
	CHECK_SENT_ARGS(OUT_SIZE);

	/* Empty results: a reply of no bytes. */
	req = new_req(FUSE_READ, 5);
	furi_reply_buf(req, big, 0);
	CHECK_EQ(sent.n, 1);
	CHECK_EQ(sent.error, 0);
	CHECK_EQ(sent.args_len + sent.extra_len, 0);
	req = new_req(FUSE_READLINK, 5);
	furi_reply_readlink(req, "");
	CHECK_EQ(sent.args_len + sent.extra_len, 0);
}

static void test_err_sends_negative_errno_and_rejects_invalid(void)
{
	static const struct { int in, want; } cases[] = {
		{ 0, 0 }, { ENOENT, -ENOENT }, { EINTR, -EINTR }, { ENOSYS, -ENOSYS },
		{ 511, -511 },
		/* the kernel refuses anything outside (-512, 0]: */
		{ 512, -EIO }, { -ENOENT, -EIO }, { -1, -EIO }, { INT_MIN, -EIO }, { INT_MAX, -EIO },
	};

	furi_set_log_level(FURI_LOG_ERR);	/* the invalid ones warn */
	for (size_t i = 0; i < FURI_ARRAY_SIZE(cases); i++) {
		struct furi_req *req = new_req(FUSE_LOOKUP, 1);

		furi_reply_err(req, cases[i].in);
		CHECK_EQ(sent.n, 1);
		CHECK_EQ(sent.error, cases[i].want);
		CHECK_EQ(sent.args_len, 0);
		CHECK_EQ(sent.extra_len, 0);
		CHECK(untouched(0, OUT_SIZE));
	}
}

static const struct fuse_dirent *dirent_at(size_t off)
{
	return (const struct fuse_dirent *)(out + off);
}

static void test_dirbuf_add_aligns_zero_pads_and_types(void)
{
	struct furi_req *req = new_req(FUSE_READDIR, 1);
	struct furi_dirbuf db;

	furi_dirbuf_init(&db, req, 4096);
	CHECK(db.buf == out);
	CHECK_EQ(db.size, 4096);
	CHECK_EQ(db.used, 0);

	CHECK(furi_dirbuf_add(&db, "a", 10, S_IFDIR | 0755, 1));
	CHECK_EQ(db.used, 32);			/* 24 + 1, aligned to 8 */
	CHECK_EQ(dirent_at(0)->ino, 10);
	CHECK_EQ(dirent_at(0)->off, 1);
	CHECK_EQ(dirent_at(0)->namelen, 1);
	CHECK_EQ(dirent_at(0)->type, DT_DIR);
	CHECK_EQ(out[24], 'a');
	for (int i = 25; i < 32; i++)		/* padding: zero, never old bytes */
		CHECK_EQ(out[i], 0);

	CHECK(furi_dirbuf_add(&db, "12345678", 11, S_IFREG | 0644, 2));
	CHECK_EQ(db.used, 64);			/* 24 + 8: no padding needed */
	CHECK_EQ(dirent_at(32)->namelen, 8);
	CHECK_EQ(dirent_at(32)->type, DT_REG);
	CHECK_MEM(out + 56, "12345678", 8);

	CHECK(furi_dirbuf_add(&db, "link", 12, S_IFLNK | 0777, 3));
	CHECK_EQ(dirent_at(64)->type, DT_LNK);
	CHECK(furi_dirbuf_add(&db, "c", 13, S_IFCHR, 4));
	CHECK_EQ(dirent_at(96)->type, DT_CHR);
	CHECK(furi_dirbuf_add(&db, "b", 14, S_IFBLK, 5));
	CHECK_EQ(dirent_at(128)->type, DT_BLK);
	CHECK(furi_dirbuf_add(&db, "p", 15, S_IFIFO, 6));
	CHECK_EQ(dirent_at(160)->type, DT_FIFO);
	CHECK(furi_dirbuf_add(&db, "s", 16, S_IFSOCK | 0777, 7));
	CHECK_EQ(dirent_at(192)->type, DT_SOCK);
	CHECK(furi_dirbuf_add(&db, "u", 17, 0, 8));
	CHECK_EQ(dirent_at(224)->type, DT_UNKNOWN);
	CHECK_EQ(db.used, 256);
	CHECK(untouched(256, OUT_SIZE));

	furi_reply_dirbuf(req, &db);
	CHECK_SENT_ARGS(256);
}

static void test_dirbuf_full_or_bad_name_adds_nothing(void)
{
	struct furi_req *req = new_req(FUSE_READDIR, 1);
	struct furi_dirbuf db;
	char longname[1026];

	furi_dirbuf_init(&db, req, 64);
	CHECK(furi_dirbuf_add(&db, "one", 1, S_IFREG, 1));
	CHECK(furi_dirbuf_add(&db, "two", 2, S_IFREG, 2));
	CHECK_EQ(db.used, 64);
	CHECK(!furi_dirbuf_add(&db, "x", 3, S_IFREG, 3));
	CHECK_EQ(db.used, 64);
	CHECK(untouched(64, OUT_SIZE));

	/* One byte short of the aligned record. */
	req = new_req(FUSE_READDIR, 1);
	furi_dirbuf_init(&db, req, 31);
	CHECK(!furi_dirbuf_add(&db, "a", 1, S_IFREG, 1));
	CHECK_EQ(db.used, 0);
	CHECK(untouched(0, OUT_SIZE));

	req = new_req(FUSE_READDIR, 1);
	furi_dirbuf_init(&db, req, 4096);
	CHECK(!furi_dirbuf_add(&db, "", 1, S_IFREG, 1));
	CHECK_EQ(db.used, 0);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';	/* 1025 bytes: over the kernel's limit */
	CHECK(!furi_dirbuf_add(&db, longname, 1, S_IFREG, 1));
	CHECK_EQ(db.used, 0);
	longname[1024] = '\0';			/* exactly 1024 is allowed */
	CHECK(furi_dirbuf_add(&db, longname, 1, S_IFREG, 1));
	CHECK_EQ(db.used, 24 + 1024);
	CHECK(untouched(24 + 1024, OUT_SIZE));

	/* The size asked for is capped by the reply area. */
	req = new_req(FUSE_READDIR, 1);
	furi_dirbuf_init(&db, req, OUT_SIZE * 4);
	CHECK_EQ(db.size, OUT_SIZE);

	/* An empty listing (end of directory) is a reply of 0 bytes. */
	req = new_req(FUSE_READDIR, 1);
	furi_dirbuf_init(&db, req, 4096);
	furi_reply_dirbuf(req, &db);
	CHECK_SENT_ARGS(0);
}

static void test_dirbuf_add_plus_writes_entry_and_dirent(void)
{
	struct furi_req *req = new_req(FUSE_READDIRPLUS, 1);
	struct furi_dirbuf db;
	struct furi_entry e = { .ino = 500, .generation = 2, .attr = sample_stat(),
				.attr_timeout = 0.5, .entry_timeout = 7 };
	const struct fuse_direntplus *p0 = (const void *)out;
	const struct fuse_direntplus *p1;

	furi_dirbuf_init(&db, req, 4096);
	CHECK(furi_dirbuf_add_plus(&db, "file", &e, 1));
	CHECK_EQ(db.used, 160);			/* 128 + 24 + 4 = 156, aligned to 160 */
	CHECK_EQ(p0->entry_out.nodeid, 500);
	CHECK_EQ(p0->entry_out.generation, 2);
	CHECK_EQ(p0->entry_out.entry_valid, 7);
	CHECK_EQ(p0->entry_out.attr_valid, 0);
	CHECK_EQ(p0->entry_out.attr_valid_nsec, 500000000);
	check_sample_attr(&p0->entry_out.attr, 500);
	CHECK_EQ(p0->dirent.ino, 500);
	CHECK_EQ(p0->dirent.off, 1);
	CHECK_EQ(p0->dirent.namelen, 4);
	CHECK_EQ(p0->dirent.type, DT_REG);
	CHECK_MEM(out + 152, "file", 4);
	for (int i = 156; i < 160; i++)
		CHECK_EQ(out[i], 0);

	/* st_ino, when set, is the dirent's d_ino too. */
	e.attr.st_ino = 9000;
	e.attr.st_mode = S_IFDIR | 0700;
	CHECK(furi_dirbuf_add_plus(&db, "sub", &e, 2));
	p1 = (const void *)(out + 160);
	CHECK_EQ(p1->entry_out.nodeid, 500);
	CHECK_EQ(p1->entry_out.attr.ino, 9000);
	CHECK_EQ(p1->dirent.ino, 9000);
	CHECK_EQ(p1->dirent.type, DT_DIR);
	CHECK_EQ(db.used, 320);

	/* Too little room: nothing written, used unchanged. */
	req = new_req(FUSE_READDIRPLUS, 1);
	furi_dirbuf_init(&db, req, 159);
	CHECK(!furi_dirbuf_add_plus(&db, "file", &e, 1));
	CHECK_EQ(db.used, 0);
	CHECK(untouched(0, OUT_SIZE));
	CHECK(!furi_dirbuf_add_plus(&db, "", &e, 1));
	CHECK_EQ(db.used, 0);
}

static void test_statx_copies_every_field_and_btime(void)
{
	struct furi_req *req = new_req(FUSE_STATX, 77);
	const struct fuse_statx_out *o = (const struct fuse_statx_out *)out;
	struct statx stx;

	memset(&stx, 0, sizeof(stx));
	stx.stx_mask = STATX_BASIC_STATS | STATX_BTIME;
	stx.stx_blksize = 512;
	stx.stx_attributes = STATX_ATTR_IMMUTABLE;
	stx.stx_attributes_mask = STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND;
	stx.stx_nlink = 3;
	stx.stx_uid = 1000;
	stx.stx_gid = 1001;
	stx.stx_mode = S_IFREG | 0640;
	stx.stx_size = 1ULL << 40;
	stx.stx_blocks = 99;
	stx.stx_atime = (struct statx_timestamp){ .tv_sec = 10, .tv_nsec = 1 };
	stx.stx_btime = (struct statx_timestamp){ .tv_sec = -20, .tv_nsec = 2 };
	stx.stx_ctime = (struct statx_timestamp){ .tv_sec = 30, .tv_nsec = 3 };
	stx.stx_mtime = (struct statx_timestamp){ .tv_sec = 40, .tv_nsec = 999999999 };
	stx.stx_rdev_major = 8;
	stx.stx_rdev_minor = 1;
	stx.stx_dev_major = 259;
	stx.stx_dev_minor = 2;
	furi_reply_statx(req, &stx, 2.5);
	CHECK_SENT_ARGS(sizeof(struct fuse_statx_out));
	CHECK_EQ(o->attr_valid, 2);
	CHECK_EQ(o->attr_valid_nsec, 500000000);
	CHECK_EQ(o->flags, 0);
	CHECK_EQ(o->spare[0], 0);
	CHECK_EQ(o->stat.mask, STATX_BASIC_STATS | STATX_BTIME);
	CHECK_EQ(o->stat.blksize, 512);
	CHECK_EQ(o->stat.attributes, STATX_ATTR_IMMUTABLE);
	CHECK_EQ(o->stat.attributes_mask, STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND);
	CHECK_EQ(o->stat.nlink, 3);
	CHECK_EQ(o->stat.uid, 1000);
	CHECK_EQ(o->stat.gid, 1001);
	CHECK_EQ(o->stat.mode, S_IFREG | 0640);
	CHECK_EQ(o->stat.ino, 77);	/* stx_ino 0: the request's */
	CHECK_EQ_U64(o->stat.size, 1ULL << 40);
	CHECK_EQ(o->stat.blocks, 99);
	CHECK_EQ(o->stat.atime.tv_sec, 10);
	CHECK_EQ(o->stat.atime.tv_nsec, 1);
	CHECK_EQ(o->stat.btime.tv_sec, -20);
	CHECK_EQ(o->stat.btime.tv_nsec, 2);
	CHECK_EQ(o->stat.btime.reserved, 0);
	CHECK_EQ(o->stat.ctime.tv_sec, 30);
	CHECK_EQ(o->stat.mtime.tv_nsec, 999999999);
	CHECK_EQ(o->stat.rdev_major, 8);
	CHECK_EQ(o->stat.rdev_minor, 1);
	CHECK_EQ(o->stat.dev_major, 259);
	CHECK_EQ(o->stat.dev_minor, 2);
	CHECK_EQ(o->stat.spare0[0], 0);
	CHECK_EQ(o->stat.spare2[13], 0);
	CHECK(untouched(sizeof(*o), OUT_SIZE));

	stx.stx_ino = 5;
	req = new_req(FUSE_STATX, 77);
	furi_reply_statx(req, &stx, 0);
	CHECK_EQ(o->stat.ino, 5);
	CHECK_EQ(o->attr_valid, 0);
}

static void test_ioctl_result_and_data(void)
{
	struct furi_req *req = new_req(FUSE_IOCTL, 3);
	const struct fuse_ioctl_out *o = (const struct fuse_ioctl_out *)out;
	uint32_t flags = 0x00000020;

	furi_reply_ioctl(req, 7, &flags, sizeof(flags));
	CHECK_SENT_ARGS(sizeof(*o) + sizeof(flags));
	CHECK_EQ(o->result, 7);
	CHECK_EQ(o->flags, 0);
	CHECK_EQ(o->in_iovs, 0);
	CHECK_EQ(o->out_iovs, 0);
	CHECK_MEM(out + sizeof(*o), &flags, sizeof(flags));
	CHECK(untouched(sizeof(*o) + sizeof(flags), OUT_SIZE));

	/* Data built in place after the out struct is not copied over itself. */
	req = new_req(FUSE_IOCTL, 3);
	memcpy(out + sizeof(*o), "inplace", 7);
	furi_reply_ioctl(req, 0, out + sizeof(*o), 7);
	CHECK_SENT_ARGS(sizeof(*o) + 7);
	CHECK_MEM(out + sizeof(*o), "inplace", 7);

	/* More than the reply area holds is cut to it. */
	req = new_req(FUSE_IOCTL, 3);
	furi_reply_ioctl(req, -1, out, OUT_SIZE);
	CHECK_SENT_ARGS(OUT_SIZE);
	CHECK_EQ(o->result, -1);

	req = new_req(FUSE_IOCTL, 3);
	furi_reply_ioctl(req, 0, NULL, 0);
	CHECK_SENT_ARGS(sizeof(*o));
}

static void test_ioctl_retry_lists_iovecs_only_when_unrestricted(void)
{
	struct furi_req *req = new_req(FUSE_IOCTL, 3);
	const struct fuse_ioctl_out *o = (const struct fuse_ioctl_out *)out;
	const struct fuse_ioctl_iovec *v = (const struct fuse_ioctl_iovec *)(out + sizeof(*o));
	struct iovec in[1] = { { (void *)0x1000, 16 } };
	struct iovec outv[2] = { { (void *)0x2000, 32 }, { (void *)0x3000, 4096 } };

	req->ioctl_flags = FUSE_IOCTL_UNRESTRICTED;
	furi_reply_ioctl_retry(req, in, 1, outv, 2);
	CHECK_SENT_ARGS(sizeof(*o) + 3 * sizeof(*v));
	CHECK_EQ(o->result, 0);
	CHECK_EQ(o->flags, FUSE_IOCTL_RETRY);
	CHECK_EQ(o->in_iovs, 1);
	CHECK_EQ(o->out_iovs, 2);
	CHECK_EQ(v[0].base, 0x1000);
	CHECK_EQ(v[0].len, 16);
	CHECK_EQ(v[1].base, 0x2000);
	CHECK_EQ(v[1].len, 32);
	CHECK_EQ(v[2].base, 0x3000);
	CHECK_EQ(v[2].len, 4096);
	CHECK(untouched(sizeof(*o) + 3 * sizeof(*v), OUT_SIZE));

	/* The kernel would answer a restricted retry with EIO: so does furi. */
	req = new_req(FUSE_IOCTL, 3);
	furi_reply_ioctl_retry(req, in, 1, NULL, 0);
	CHECK_EQ(sent.n, 1);
	CHECK_EQ(sent.error, -EIO);
	CHECK_EQ(sent.args_len, 0);

	/* More iovecs than the kernel takes. */
	req = new_req(FUSE_IOCTL, 3);
	req->ioctl_flags = FUSE_IOCTL_UNRESTRICTED;
	furi_reply_ioctl_retry(req, in, FURI_IOCTL_MAX_IOV, outv, 1);
	CHECK_EQ(sent.error, -ENOMEM);
}

static void test_poll_and_bmap_replies(void)
{
	struct furi_req *req = new_req(FUSE_POLL, 3);
	const struct fuse_poll_out *p = (const struct fuse_poll_out *)out;
	const struct fuse_bmap_out *b = (const struct fuse_bmap_out *)out;

	furi_reply_poll(req, 0x41);
	CHECK_SENT_ARGS(sizeof(*p));
	CHECK_EQ(p->revents, 0x41);
	CHECK_EQ(p->padding, 0);
	CHECK(untouched(sizeof(*p), OUT_SIZE));

	req = new_req(FUSE_BMAP, 3);
	furi_reply_bmap(req, 1ULL << 50);
	CHECK_SENT_ARGS(sizeof(*b));
	CHECK_EQ_U64(b->block, 1ULL << 50);
	CHECK(untouched(sizeof(*b), OUT_SIZE));
}

int main(void)
{
	furi_set_log_level(FURI_LOG_ERR);
	test_entry_splits_timeouts_and_fills_attr();
	test_entry_timeouts_nan_negative_and_huge();
	test_create_writes_entry_then_open();
	test_attr_uses_request_inode_when_st_ino_is_zero();
	test_open_maps_every_flag();
	test_write_and_xattr_size_counts();
	test_statfs_fields_and_frsize_default();
	test_lock_converts_length_to_end();
	test_lseek_and_copy_replies();
	test_readlink_and_buf_use_extra_data();
	test_err_sends_negative_errno_and_rejects_invalid();
	test_dirbuf_add_aligns_zero_pads_and_types();
	test_dirbuf_full_or_bad_name_adds_nothing();
	test_dirbuf_add_plus_writes_entry_and_dirent();
	test_statx_copies_every_field_and_btime();
	test_ioctl_result_and_data();
	test_ioctl_retry_lists_iovecs_only_when_unrestricted();
	test_poll_and_bmap_replies();
	return check_exit("test_reply");
}
