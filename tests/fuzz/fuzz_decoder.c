/* SPDX-License-Identifier: MIT */
/*
 * fuzz_decoder.c - libFuzzer target for the request decoder (lib/dispatch.c)
 * and the reply encoders it leads to (lib/reply.c).
 *
 * Input layout:
 *   byte 0    mode: bit 0 selects the framing, bit 1 negotiates
 *             FUSE_SETXATTR_EXT (16-byte setxattr argument), bit 2 makes
 *             the reply area small (4 KiB instead of 68 KiB).
 *   bit 0 = 0 the rest is one read() from /dev/fuse (in header + body),
 *             split and dispatched as serve_one() in transport_legacy.c.
 *   bit 0 = 1 the rest is a ring entry: 128 bytes in_out (the in header),
 *             128 bytes op_in (the first argument), then the payload, whose
 *             length is ring_ent_in_out.payload_sz; checked and dispatched
 *             as serve_request() in transport_uring.c. Missing header bytes
 *             are zero.
 *
 * Every buffer the decoder sees is heap memory of exactly the size the
 * transport would vouch for, so AddressSanitizer flags any read past a
 * length. Handlers read all of their arguments and answer with the real
 * encoders; after each request the harness checks that exactly one reply
 * (or end without reply) went out, with a sane error and length.
 *
 * Built by tests/fuzz/build.sh (clang, -fsanitize=fuzzer,address,undefined);
 * tests/fuzz/replay.c runs the corpus with any compiler as a unit test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIG_OUT		(64 * 1024 + 4096)
#define SMALL_OUT	4096

#define MODE_RING		0x01
#define MODE_SETXATTR_EXT	0x02
#define MODE_SMALL_OUT		0x04

/* Stop at the first broken invariant, with a line libFuzzer will show. */
#define REQUIRE(cond)                                                           \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "fuzz_decoder: %s:%d: %s\n", __FILE__,   \
				__LINE__, #cond);                               \
			abort();                                                \
		}                                                               \
	} while (0)

static struct furi_chan_stats stats;
static struct furi_session se;
static struct furi_req req;
static int sends;
static volatile uint64_t sink;	/* keeps the compiler from dropping reads */

static void consume(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0;

	for (size_t i = 0; i < n; i++)
		h = h * 31 + b[i];
	sink += h;
}

static void fuzz_send(struct furi_req *r, int error, size_t args_len, const void *extra,
		      size_t extra_len)
{
	sends++;
	REQUIRE(r == &req);
	REQUIRE(error <= 0 && error > -512);
	REQUIRE(args_len <= r->out_size);
	REQUIRE(extra_len <= r->out_size);
	REQUIRE(!r->no_reply || (error == 0 && args_len == 0 && extra_len == 0));
	consume(r->out, args_len);	/* what the transport would send */
	if (extra_len)
		consume(extra, extra_len);
	furi_stats_replied(r->chan, r->opcode, r->t_start, error, args_len + extra_len);
	/* As the transports do: every handler here replies before returning,
	 * so the dispatching thread must still own the request. */
	REQUIRE(furi_req_mark_replied(r));
}

static const struct furi_chan_ops fuzz_chan_ops = { .send = fuzz_send };
static struct furi_chan chan = { .ops = &fuzz_chan_ops, .stats = &stats };

static void quiet_log(enum furi_log_level level, const char *msg)
{
	(void)level;
	consume(msg, strlen(msg));
}

/* ---------------------------------------------------------------- handlers */

static uint64_t name_hash(const char *s)
{
	size_t n = strlen(s);

	consume(s, n);
	return n * 2654435761u + 2;
}

static struct furi_entry entry_for(uint64_t ino)
{
	struct furi_entry e;

	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.generation = 1;
	e.attr.st_mode = (ino & 1) ? S_IFDIR | 0755 : S_IFREG | 0644;
	e.attr.st_nlink = 1;
	e.attr.st_size = (off_t)(ino * 4096);
	e.attr_timeout = 1.0;
	e.entry_timeout = (double)(ino % 3) - 0.5;	/* negative sometimes */
	return e;
}

/* The security context, if any, is read whole: ASan checks its bounds. */
static void consume_secctx(struct furi_req *r)
{
	const struct furi_ctx *c = furi_req_ctx(r);

	if (c->secctx_name) {
		consume(c->secctx_name, strlen(c->secctx_name));
		consume(c->secctx, c->secctx_size);
	}
}

static void h_lookup(struct furi_req *r, uint64_t parent, const char *name)
{
	struct furi_entry e = entry_for(parent + name_hash(name));

	REQUIRE(*name);
	furi_reply_entry(r, &e);
}

static void h_forget(void *fs, uint64_t ino, uint64_t nlookup)
{
	REQUIRE(fs == &se);
	sink += ino ^ nlookup;
}

static void h_getattr(struct furi_req *r, uint64_t ino, const uint64_t *fh)
{
	struct furi_entry e = entry_for(ino + (fh ? *fh : 0));

	furi_reply_attr(r, &e.attr, 1.5);
}

static void h_setattr(struct furi_req *r, uint64_t ino, const struct furi_setattr *sa)
{
	struct furi_entry e = entry_for(ino);

	consume(sa, sizeof(*sa));
	e.attr.st_mode = sa->mode;
	e.attr.st_size = (off_t)sa->size;
	furi_reply_attr(r, &e.attr, (double)sa->atime.tv_nsec);
}

static void h_readlink(struct furi_req *r, uint64_t ino)
{
	furi_reply_readlink(r, (ino & 1) ? "target" : "");
}

static void h_mknod(struct furi_req *r, uint64_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct furi_entry e = entry_for(parent + name_hash(name) + mode + rdev);

	consume_secctx(r);
	e.attr.st_mode = mode;
	furi_reply_entry(r, &e);
}

static void h_mkdir(struct furi_req *r, uint64_t parent, const char *name, mode_t mode)
{
	struct furi_entry e = entry_for(parent + name_hash(name));

	consume_secctx(r);
	e.attr.st_mode = S_IFDIR | (mode & ~furi_req_ctx(r)->umask & 07777);
	furi_reply_entry(r, &e);
}

static void h_name_op(struct furi_req *r, uint64_t parent, const char *name)
{
	sink += parent + name_hash(name);
	furi_reply_err(r, (int)(parent % 4) * ENOENT / 2);
}

static void h_symlink(struct furi_req *r, uint64_t parent, const char *name, const char *target)
{
	struct furi_entry e = entry_for(parent + name_hash(name) + name_hash(target));

	consume_secctx(r);
	furi_reply_entry(r, &e);
}

static void h_rename(struct furi_req *r, uint64_t parent, const char *name, uint64_t newparent,
		     const char *newname, unsigned flags)
{
	sink += parent + newparent + flags + name_hash(name) + name_hash(newname);
	furi_reply_err(r, 0);
}

static void h_link(struct furi_req *r, uint64_t ino, uint64_t newparent, const char *newname)
{
	struct furi_entry e = entry_for(ino + newparent + name_hash(newname));

	furi_reply_entry(r, &e);
}

static void h_open(struct furi_req *r, uint64_t ino, struct furi_open *fo)
{
	fo->fh = ino * 7;
	fo->direct_io = fo->flags & 1;
	fo->keep_cache = (fo->flags >> 1) & 1;
	fo->backing_id = (fo->flags & 4) ? 3 : 0;
	furi_reply_open(r, fo);
}

static void h_read(struct furi_req *r, uint64_t ino, uint64_t fh, uint64_t off, size_t size)
{
	size_t cap;
	char *p = furi_req_payload(r, &cap);

	REQUIRE(size <= cap);
	memset(p, (int)(ino + fh + off), size);
	if (off & 1)
		furi_reply_data(r, size);
	else
		furi_reply_buf(r, p, size);
}

static void h_write(struct furi_req *r, uint64_t ino, uint64_t fh, uint64_t off,
		    const void *data, size_t size, unsigned write_flags)
{
	consume(data, size);
	sink += ino + fh + off + write_flags;
	furi_reply_write(r, size);
}

static void h_flush(struct furi_req *r, uint64_t ino, uint64_t fh, uint64_t owner)
{
	sink += ino + fh + owner;
	furi_reply_err(r, 0);
}

static void h_release(struct furi_req *r, uint64_t ino, uint64_t fh, int flags, uint64_t owner,
		      bool flush)
{
	sink += ino + fh + (uint64_t)flags + owner + flush;
	furi_reply_err(r, 0);
}

static void h_fsync(struct furi_req *r, uint64_t ino, uint64_t fh, bool datasync)
{
	sink += ino + fh + datasync;
	furi_reply_err(r, EIO * (int)(fh & 1));
}

static void h_readdir(struct furi_req *r, uint64_t ino, uint64_t fh, uint64_t off, size_t size)
{
	static const char *const names[] = { ".", "..", "a", "bb", "a-much-longer-name-here" };
	struct furi_dirbuf db;

	furi_dirbuf_init(&db, r, size);
	for (uint64_t i = off; i < off + 64 && i < 1000; i++)
		if (!furi_dirbuf_add(&db, names[i % 5], ino + i, (mode_t)((i % 16) << 12), i + 1))
			break;
	REQUIRE(db.used <= size);
	sink += fh;
	furi_reply_dirbuf(r, &db);
}

static void h_readdirplus(struct furi_req *r, uint64_t ino, uint64_t fh, uint64_t off,
			  size_t size)
{
	struct furi_dirbuf db;

	furi_dirbuf_init(&db, r, size);
	for (uint64_t i = off; i < off + 32 && i < 1000; i++) {
		struct furi_entry e = entry_for(ino + i);

		if (!furi_dirbuf_add_plus(&db, (i & 1) ? "x" : "entry", &e, i + 1))
			break;
	}
	REQUIRE(db.used <= size);
	sink += fh;
	furi_reply_dirbuf(r, &db);
}

static void h_releasedir(struct furi_req *r, uint64_t ino, uint64_t fh)
{
	sink += ino + fh;
	furi_reply_err(r, 0);
}

static void h_statfs(struct furi_req *r, uint64_t ino)
{
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_blocks = ino;
	sv.f_namemax = 255;
	furi_reply_statfs(r, &sv);
}

static void h_setxattr(struct furi_req *r, uint64_t ino, const char *name, const void *value,
		       size_t size, int flags, unsigned setxattr_flags)
{
	consume(value, size);
	sink += ino + name_hash(name) + (uint64_t)flags + setxattr_flags;
	furi_reply_err(r, 0);
}

static void xattr_answer(struct furi_req *r, size_t size)
{
	static const char value[] = "0123456789";

	if (size == 0)
		furi_reply_xattr_size(r, sizeof(value) - 1);
	else if (size < sizeof(value) - 1)
		furi_reply_err(r, ERANGE);
	else
		furi_reply_buf(r, value, sizeof(value) - 1);
}

static void h_getxattr(struct furi_req *r, uint64_t ino, const char *name, size_t size)
{
	size_t cap;

	furi_req_payload(r, &cap);
	REQUIRE(size <= cap);
	sink += ino + name_hash(name);
	xattr_answer(r, size);
}

static void h_listxattr(struct furi_req *r, uint64_t ino, size_t size)
{
	size_t cap;

	furi_req_payload(r, &cap);
	REQUIRE(size <= cap);
	sink += ino;
	xattr_answer(r, size);
}

static void h_access(struct furi_req *r, uint64_t ino, int mask)
{
	sink += ino;
	furi_reply_err(r, (mask & 2) ? EACCES : 0);
}

static void h_create(struct furi_req *r, uint64_t parent, const char *name, mode_t mode,
		     struct furi_open *fo)
{
	struct furi_entry e = entry_for(parent + name_hash(name));

	consume_secctx(r);
	e.attr.st_mode = mode;
	fo->fh = 5;
	fo->noflush = 1;
	furi_reply_create(r, &e, fo);
}

static void h_tmpfile(struct furi_req *r, uint64_t parent, mode_t mode, struct furi_open *fo)
{
	struct furi_entry e = entry_for(parent + 1);

	consume_secctx(r);
	e.attr.st_mode = mode;
	fo->fh = 6;
	furi_reply_create(r, &e, fo);
}

/* A filesystem that answers with the lock it was given: the round trip
 * through lock_from_kernel and furi_reply_lock. */
static void h_getlk(struct furi_req *r, uint64_t ino, uint64_t fh, uint64_t owner,
		    const struct flock *lock)
{
	sink += ino + fh + owner;
	furi_reply_lock(r, lock);
}

static void on_interrupt(struct furi_req *r, void *arg)
{
	(void)r;
	(void)arg;
	sink++;
}

static void h_setlk(struct furi_req *r, uint64_t ino, uint64_t fh, uint64_t owner,
		    const struct flock *lock, bool wait, bool flock)
{
	consume(lock, sizeof(*lock));
	sink += ino + fh + owner + flock;
	if (wait)
		furi_req_on_interrupt(r, on_interrupt, NULL);
	furi_reply_err(r, furi_req_interrupted(r) ? EINTR : 0);
}

static void h_fallocate(struct furi_req *r, uint64_t ino, uint64_t fh, int mode, uint64_t off,
			uint64_t len)
{
	sink += ino + fh + (uint64_t)mode + off + len;
	furi_reply_err(r, EOPNOTSUPP * (mode & 1));
}

static void h_lseek(struct furi_req *r, uint64_t ino, uint64_t fh, uint64_t off, int whence)
{
	sink += ino + fh + (uint64_t)whence;
	furi_reply_lseek(r, off);
}

static void h_copy_file_range(struct furi_req *r, uint64_t ino_in, uint64_t fh_in,
			      uint64_t off_in, uint64_t ino_out, uint64_t fh_out,
			      uint64_t off_out, uint64_t len, unsigned flags)
{
	sink += ino_in + fh_in + off_in + ino_out + fh_out + off_out + flags;
	furi_reply_copy(r, len);
}

static void h_statx(struct furi_req *r, uint64_t ino, const uint64_t *fh, int flags,
		    unsigned mask)
{
	struct statx stx;

	memset(&stx, 0, sizeof(stx));
	stx.stx_mask = mask;
	stx.stx_ino = ino + (fh ? *fh : 0);
	stx.stx_btime.tv_sec = flags;
	furi_reply_statx(r, &stx, 1.0);
}

/* Echo the in data back, as much as fits in out_size; sometimes ask for a retry. */
static void h_ioctl(struct furi_req *r, uint64_t ino, uint64_t fh, unsigned cmd, uint64_t arg,
		    unsigned flags, const void *in, size_t in_size, size_t out_size)
{
	struct iovec iov = { (void *)(uintptr_t)arg, in_size };

	consume(in, in_size);
	sink += ino + fh + cmd;
	if (cmd & 1) {
		furi_reply_ioctl_retry(r, &iov, 1, &iov, flags & 1);
		return;
	}
	furi_reply_ioctl(r, (int)(cmd >> 8), in, in_size < out_size ? in_size : out_size);
}

static void h_poll(struct furi_req *r, uint64_t ino, uint64_t fh, unsigned events, uint64_t kh,
		   bool notify)
{
	sink += ino + fh + kh + notify;
	furi_reply_poll(r, events);
}

static void h_syncfs(struct furi_req *r, uint64_t ino)
{
	sink += ino;
	furi_reply_err(r, 0);
}

static void h_bmap(struct furi_req *r, uint64_t ino, size_t blocksize, uint64_t block)
{
	furi_reply_bmap(r, ino + blocksize + block);
}

static const struct furi_ops fuzz_ops = {
	.lookup = h_lookup, .forget = h_forget, .getattr = h_getattr, .setattr = h_setattr,
	.readlink = h_readlink, .mknod = h_mknod, .mkdir = h_mkdir, .unlink = h_name_op,
	.rmdir = h_name_op, .symlink = h_symlink, .rename = h_rename, .link = h_link,
	.open = h_open, .read = h_read, .write = h_write, .flush = h_flush,
	.release = h_release, .fsync = h_fsync, .opendir = h_open, .readdir = h_readdir,
	.readdirplus = h_readdirplus, .releasedir = h_releasedir, .fsyncdir = h_fsync,
	.statfs = h_statfs, .setxattr = h_setxattr, .getxattr = h_getxattr,
	.listxattr = h_listxattr, .removexattr = h_name_op, .access = h_access,
	.create = h_create, .getlk = h_getlk, .setlk = h_setlk, .fallocate = h_fallocate,
	.lseek = h_lseek, .copy_file_range = h_copy_file_range, .tmpfile = h_tmpfile,
	.statx = h_statx, .ioctl = h_ioctl, .poll = h_poll, .syncfs = h_syncfs, .bmap = h_bmap,
};

/* --------------------------------------------------------------- transport */

static int devnull = -1;

/* A fresh session for each input: INIT and SETXATTR_EXT change its state. */
static void session_reset(uint8_t mode)
{
	if (devnull < 0) {
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		furi_set_log(quiet_log);
		furi_set_log_level(FURI_LOG_DEBUG);	/* run the log paths too */
	}
	memset(&se, 0, sizeof(se));
	furi_config_init(&se.cfg);
	/* A second INIT goes through furi_session_init(): keep it off the ring
	 * and let its reply go to /dev/null. */
	se.cfg.transport = FURI_TRANSPORT_LEGACY;
	se.ops = &fuzz_ops;
	se.fs = &se;
	se.fd = devnull;
	se.exit_fd = -1;
	se.want = (mode & MODE_SETXATTR_EXT) ? FUSE_SETXATTR_EXT : 0;
	pthread_mutex_init(&se.int_lock, NULL);
	pthread_cond_init(&se.int_done, NULL);
}

static void req_reset(char *out, size_t out_size)
{
	memset(&req, 0, sizeof(req));
	req.se = &se;
	req.chan = &chan;
	req.out = out;
	req.out_size = out_size;
	atomic_store_explicit(&req.state, FURI_REQ_DISPATCHING, memory_order_relaxed);
	sends = 0;
}

/* serve_one() of transport_legacy.c on a read of n bytes. */
static void serve_dev(const uint8_t *bytes, size_t n)
{
	struct fuse_in_header ih;
	const void *arg;
	const char *data;
	size_t arg_len, data_len;
	char *in;

	if (n < sizeof(ih))
		return;		/* the worker drops short reads before dispatch */
	in = malloc(n);
	REQUIRE(in);
	memcpy(in, bytes, n);
	memcpy(&ih, in, sizeof(ih));
	if (ih.len != n || furi_split_request(&se, &ih, in + sizeof(ih), n - sizeof(ih), &arg,
					      &arg_len, &data, &data_len)) {
		furi_dispatch_reject(&req, &ih);
	} else {
		REQUIRE(arg_len <= n - sizeof(ih) && data_len <= n - sizeof(ih));
		furi_dispatch(&req, &ih, arg, arg_len, data, data_len);
	}
	free(in);
}

/*
 * serve_request() of transport_uring.c on an entry's headers and payload.
 * The real op_in is 128 bytes, but the decoder is only promised arg_len of
 * them, so it gets exactly that many here (and the payload exactly
 * payload_sz bytes): a read past either is caught.
 */
static void serve_ring(const uint8_t *bytes, size_t n)
{
	struct fuse_uring_req_header hdr;
	size_t head = FUSE_URING_IN_OUT_HEADER_SZ + FUSE_URING_OP_IN_OUT_SZ;
	size_t payload_sz = n > head ? n - head : 0;
	struct fuse_in_header ih;
	size_t arg_len;
	char *payload, *op_in;

	memset(&hdr, 0, sizeof(hdr));
	memcpy(&hdr, bytes, FURI_MIN(n, head));
	hdr.ring_ent_in_out.payload_sz = (uint32_t)payload_sz;
	memcpy(&ih, hdr.in_out, sizeof(ih));
	if (payload_sz > req.out_size || ih.len < sizeof(ih) + payload_sz ||
	    ih.len - sizeof(ih) - payload_sz > FUSE_URING_OP_IN_OUT_SZ) {
		furi_dispatch_reject(&req, &ih);
		return;
	}
	arg_len = ih.len - sizeof(ih) - payload_sz;
	op_in = malloc(arg_len);
	payload = malloc(payload_sz);
	REQUIRE(op_in && payload);
	memcpy(op_in, hdr.op_in, arg_len);
	if (payload_sz)
		memcpy(payload, bytes + head, payload_sz);
	furi_dispatch(&req, &ih, op_in, arg_len, payload, payload_sz);
	free(op_in);
	free(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;
	size_t out_size;
	char *out;

	if (size < 1)
		return 0;
	mode = data[0];
	out_size = (mode & MODE_SMALL_OUT) ? SMALL_OUT : BIG_OUT;
	out = malloc(out_size);
	REQUIRE(out);
	session_reset(mode);
	req_reset(out, out_size);
	if (mode & MODE_RING)
		serve_ring(data + 1, size - 1);
	else
		serve_dev(data + 1, size - 1);
	/* A dropped short read is the only way to end without a send. */
	if (sends != 1)
		REQUIRE(sends == 0 && !(mode & MODE_RING) &&
			size - 1 < sizeof(struct fuse_in_header));
	else
		REQUIRE(furi_req_handler_returned(&req));	/* finished: buffer reusable */
	REQUIRE(!req.int_listed);	/* the reply took it off the interrupt list */
	REQUIRE(se.int_list == NULL);
	free(out);
	return 0;
}
