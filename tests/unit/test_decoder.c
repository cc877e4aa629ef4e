/* SPDX-License-Identifier: MIT */
/*
 * test_decoder.c - lib/dispatch.c on crafted requests, without a kernel.
 *
 * A fake session points its ops at handlers that record what they were
 * given and reply; a fake channel records the reply. Each request is built
 * in the kernel's wire format and delivered the two ways the transports do
 * it (the /dev/fuse split of serve_one() in transport_legacy.c, and the
 * op_in + payload form of serve_request() in transport_uring.c). Every
 * buffer the decoder sees ends exactly at a PROT_NONE guard page, so any
 * read past a length the decoder should have checked faults at once.
 *
 * Good requests: the handler gets exactly the decoded values. Malformed
 * requests: EINVAL (or no reply for FORGET, BATCH_FORGET and INTERRUPT),
 * the handler is not called, and the malformed counter moves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "check.h"
#include "fake_chan.h"

#define OUT_SIZE	(64 * 1024 + 4096)	/* what conn_clamp() gives at least */
#define SLOT_SIZE	(256 * 1024)

/* ------------------------------------------------------------------ fakes */

static struct furi_session se;
static struct furi_req the_req;	/* the request object the fake transport reuses */
static char *out_area;
static int fs_marker;		/* furi_req_fs() must give &fs_marker */

/* What the last handler saw. */
static struct {
	int n;
	const char *op;
	void *fs;
	unsigned opcode;
	struct furi_ctx ctx;
	uint64_t ino, ino2, fh, fh2, off, off2, len, owner;
	size_t size;
	char name[300], name2[300];
	const char *name_ptr;
	mode_t mode;
	dev_t rdev;
	unsigned flags;
	int iarg;		/* whence, mask, fallocate mode, xattr flags, release flags */
	bool fh_given;		/* getattr: fh pointer non-NULL */
	bool b1, b2;		/* datasync, flush, wait, flock */
	const void *data;
	char data_copy[300];
	struct furi_setattr sa;
	struct furi_open fo;
	struct flock fl;
	unsigned nforget;
	uint64_t forget_ino[8], forget_n[8];
} call;

#define REC(opname)                                              \
	do {                                                     \
		call.n++;                                        \
		call.op = (opname);                              \
		call.fs = furi_req_fs(req);                      \
		call.opcode = furi_req_opcode(req);              \
		call.ctx = *furi_req_ctx(req);                   \
	} while (0)

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, 300, "%s", src);
}

static void h_lookup(struct furi_req *req, uint64_t parent, const char *name)
{
	REC("lookup");
	call.ino = parent;
	copy_name(call.name, name);
	call.name_ptr = name;
	furi_reply_err(req, 0);
}

static void h_forget(void *fs, uint64_t ino, uint64_t nlookup)
{
	call.fs = fs;
	call.op = "forget";
	if (call.nforget < 8) {
		call.forget_ino[call.nforget] = ino;
		call.forget_n[call.nforget] = nlookup;
	}
	call.nforget++;
}

static void h_getattr(struct furi_req *req, uint64_t ino, const uint64_t *fh)
{
	REC("getattr");
	call.ino = ino;
	call.fh_given = fh != NULL;
	call.fh = fh ? *fh : 0;
	furi_reply_err(req, 0);
}

static void h_setattr(struct furi_req *req, uint64_t ino, const struct furi_setattr *sa)
{
	REC("setattr");
	call.ino = ino;
	call.sa = *sa;
	furi_reply_err(req, 0);
}

static void h_readlink(struct furi_req *req, uint64_t ino)
{
	REC("readlink");
	call.ino = ino;
	furi_reply_err(req, 0);
}

static void h_mknod(struct furi_req *req, uint64_t parent, const char *name, mode_t mode,
		    dev_t rdev)
{
	REC("mknod");
	call.ino = parent;
	copy_name(call.name, name);
	call.mode = mode;
	call.rdev = rdev;
	furi_reply_err(req, 0);
}

static void h_mkdir(struct furi_req *req, uint64_t parent, const char *name, mode_t mode)
{
	REC("mkdir");
	call.ino = parent;
	copy_name(call.name, name);
	call.mode = mode;
	furi_reply_err(req, 0);
}

static void h_unlink(struct furi_req *req, uint64_t parent, const char *name)
{
	REC("unlink");
	call.ino = parent;
	copy_name(call.name, name);
	furi_reply_err(req, 0);
}

static void h_rmdir(struct furi_req *req, uint64_t parent, const char *name)
{
	REC("rmdir");
	call.ino = parent;
	copy_name(call.name, name);
	furi_reply_err(req, 0);
}

static void h_symlink(struct furi_req *req, uint64_t parent, const char *name,
		      const char *target)
{
	REC("symlink");
	call.ino = parent;
	copy_name(call.name, name);
	copy_name(call.name2, target);
	furi_reply_err(req, 0);
}

static void h_rename(struct furi_req *req, uint64_t parent, const char *name,
		     uint64_t newparent, const char *newname, unsigned flags)
{
	REC("rename");
	call.ino = parent;
	call.ino2 = newparent;
	copy_name(call.name, name);
	copy_name(call.name2, newname);
	call.flags = flags;
	furi_reply_err(req, 0);
}

static void h_link(struct furi_req *req, uint64_t ino, uint64_t newparent, const char *newname)
{
	REC("link");
	call.ino = ino;
	call.ino2 = newparent;
	copy_name(call.name, newname);
	furi_reply_err(req, 0);
}

static void h_open(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	REC("open");
	call.ino = ino;
	call.fo = *fo;
	furi_reply_err(req, 0);
}

static void h_read(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off, size_t size)
{
	REC("read");
	call.ino = ino;
	call.fh = fh;
	call.off = off;
	call.size = size;
	furi_reply_err(req, 0);
}

static void h_write(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
		    const void *data, size_t size, unsigned write_flags)
{
	REC("write");
	call.ino = ino;
	call.fh = fh;
	call.off = off;
	call.data = data;
	call.size = size;
	call.flags = write_flags;
	memcpy(call.data_copy, data, FURI_MIN(size, sizeof(call.data_copy)));
	furi_reply_err(req, 0);
}

static void h_flush(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t lock_owner)
{
	REC("flush");
	call.ino = ino;
	call.fh = fh;
	call.owner = lock_owner;
	furi_reply_err(req, 0);
}

static void h_release(struct furi_req *req, uint64_t ino, uint64_t fh, int flags,
		      uint64_t lock_owner, bool flush)
{
	REC("release");
	call.ino = ino;
	call.fh = fh;
	call.iarg = flags;
	call.owner = lock_owner;
	call.b1 = flush;
	furi_reply_err(req, 0);
}

static void h_fsync(struct furi_req *req, uint64_t ino, uint64_t fh, bool datasync)
{
	REC("fsync");
	call.ino = ino;
	call.fh = fh;
	call.b1 = datasync;
	furi_reply_err(req, 0);
}

static void h_opendir(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	REC("opendir");
	call.ino = ino;
	call.fo = *fo;
	furi_reply_err(req, 0);
}

static void h_readdir(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off, size_t size)
{
	REC("readdir");
	call.ino = ino;
	call.fh = fh;
	call.off = off;
	call.size = size;
	furi_reply_err(req, 0);
}

static void h_readdirplus(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
			  size_t size)
{
	REC("readdirplus");
	call.ino = ino;
	call.fh = fh;
	call.off = off;
	call.size = size;
	furi_reply_err(req, 0);
}

static void h_releasedir(struct furi_req *req, uint64_t ino, uint64_t fh)
{
	REC("releasedir");
	call.ino = ino;
	call.fh = fh;
	furi_reply_err(req, 0);
}

static void h_fsyncdir(struct furi_req *req, uint64_t ino, uint64_t fh, bool datasync)
{
	REC("fsyncdir");
	call.ino = ino;
	call.fh = fh;
	call.b1 = datasync;
	furi_reply_err(req, 0);
}

static void h_statfs(struct furi_req *req, uint64_t ino)
{
	REC("statfs");
	call.ino = ino;
	furi_reply_err(req, 0);
}

static void h_setxattr(struct furi_req *req, uint64_t ino, const char *name, const void *value,
		       size_t size, int flags, unsigned setxattr_flags)
{
	REC("setxattr");
	call.ino = ino;
	copy_name(call.name, name);
	call.data = value;
	call.size = size;
	memcpy(call.data_copy, value, FURI_MIN(size, sizeof(call.data_copy)));
	call.iarg = flags;
	call.flags = setxattr_flags;
	furi_reply_err(req, 0);
}

static void h_getxattr(struct furi_req *req, uint64_t ino, const char *name, size_t size)
{
	REC("getxattr");
	call.ino = ino;
	copy_name(call.name, name);
	call.size = size;
	furi_reply_err(req, 0);
}

static void h_listxattr(struct furi_req *req, uint64_t ino, size_t size)
{
	REC("listxattr");
	call.ino = ino;
	call.size = size;
	furi_reply_err(req, 0);
}

static void h_removexattr(struct furi_req *req, uint64_t ino, const char *name)
{
	REC("removexattr");
	call.ino = ino;
	copy_name(call.name, name);
	furi_reply_err(req, 0);
}

static void h_access(struct furi_req *req, uint64_t ino, int mask)
{
	REC("access");
	call.ino = ino;
	call.iarg = mask;
	furi_reply_err(req, 0);
}

static void h_create(struct furi_req *req, uint64_t parent, const char *name, mode_t mode,
		     struct furi_open *fo)
{
	REC("create");
	call.ino = parent;
	copy_name(call.name, name);
	call.mode = mode;
	call.fo = *fo;
	furi_reply_err(req, 0);
}

static void h_getlk(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t owner,
		    const struct flock *lock)
{
	REC("getlk");
	call.ino = ino;
	call.fh = fh;
	call.owner = owner;
	call.fl = *lock;
	furi_reply_err(req, 0);
}

static void h_setlk(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t owner,
		    const struct flock *lock, bool wait, bool flock)
{
	REC("setlk");
	call.ino = ino;
	call.fh = fh;
	call.owner = owner;
	call.fl = *lock;
	call.b1 = wait;
	call.b2 = flock;
	furi_reply_err(req, 0);
}

static void h_fallocate(struct furi_req *req, uint64_t ino, uint64_t fh, int mode, uint64_t off,
			uint64_t len)
{
	REC("fallocate");
	call.ino = ino;
	call.fh = fh;
	call.iarg = mode;
	call.off = off;
	call.len = len;
	furi_reply_err(req, 0);
}

static void h_lseek(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off, int whence)
{
	REC("lseek");
	call.ino = ino;
	call.fh = fh;
	call.off = off;
	call.iarg = whence;
	furi_reply_err(req, 0);
}

static void h_copy_file_range(struct furi_req *req, uint64_t ino_in, uint64_t fh_in,
			      uint64_t off_in, uint64_t ino_out, uint64_t fh_out,
			      uint64_t off_out, uint64_t len, unsigned flags)
{
	REC("copy_file_range");
	call.ino = ino_in;
	call.fh = fh_in;
	call.off = off_in;
	call.ino2 = ino_out;
	call.fh2 = fh_out;
	call.off2 = off_out;
	call.len = len;
	call.flags = flags;
	furi_reply_err(req, 0);
}

static void h_tmpfile(struct furi_req *req, uint64_t parent, mode_t mode, struct furi_open *fo)
{
	REC("tmpfile");
	call.ino = parent;
	call.mode = mode;
	call.fo = *fo;
	furi_reply_err(req, 0);
}

static void h_statx(struct furi_req *req, uint64_t ino, const uint64_t *fh, int flags,
		    unsigned mask)
{
	REC("statx");
	call.ino = ino;
	call.fh_given = fh != NULL;
	call.fh = fh ? *fh : 0;
	call.iarg = flags;
	call.flags = mask;
	furi_reply_err(req, 0);
}

static void h_ioctl(struct furi_req *req, uint64_t ino, uint64_t fh, unsigned cmd, uint64_t arg,
		    unsigned flags, const void *in, size_t in_size, size_t out_size)
{
	REC("ioctl");
	call.ino = ino;
	call.fh = fh;
	call.iarg = (int)cmd;
	call.off = arg;
	call.flags = flags;
	call.data = in;
	call.size = in_size;
	call.len = out_size;
	if (in)
		memcpy(call.data_copy, in, FURI_MIN(in_size, sizeof(call.data_copy)));
	furi_reply_err(req, 0);
}

static void h_poll(struct furi_req *req, uint64_t ino, uint64_t fh, unsigned events, uint64_t kh,
		   bool notify)
{
	REC("poll");
	call.ino = ino;
	call.fh = fh;
	call.flags = events;
	call.owner = kh;
	call.b1 = notify;
	furi_reply_err(req, 0);
}

static void h_syncfs(struct furi_req *req, uint64_t ino)
{
	REC("syncfs");
	call.ino = ino;
	furi_reply_err(req, 0);
}

static void h_bmap(struct furi_req *req, uint64_t ino, size_t blocksize, uint64_t block)
{
	REC("bmap");
	call.ino = ino;
	call.size = blocksize;
	call.off = block;
	furi_reply_err(req, 0);
}

static const struct furi_ops all_ops = {
	.lookup = h_lookup, .forget = h_forget, .getattr = h_getattr, .setattr = h_setattr,
	.readlink = h_readlink, .mknod = h_mknod, .mkdir = h_mkdir, .unlink = h_unlink,
	.rmdir = h_rmdir, .symlink = h_symlink, .rename = h_rename, .link = h_link,
	.open = h_open, .read = h_read, .write = h_write, .flush = h_flush,
	.release = h_release, .fsync = h_fsync, .opendir = h_opendir, .readdir = h_readdir,
	.readdirplus = h_readdirplus, .releasedir = h_releasedir, .fsyncdir = h_fsyncdir,
	.statfs = h_statfs, .setxattr = h_setxattr, .getxattr = h_getxattr,
	.listxattr = h_listxattr, .removexattr = h_removexattr, .access = h_access,
	.create = h_create, .getlk = h_getlk, .setlk = h_setlk, .fallocate = h_fallocate,
	.lseek = h_lseek, .copy_file_range = h_copy_file_range, .tmpfile = h_tmpfile,
	.statx = h_statx, .ioctl = h_ioctl, .poll = h_poll, .syncfs = h_syncfs, .bmap = h_bmap,
};
static const struct furi_ops no_ops;

/* ------------------------------------------------- guarded request memory */

/*
 * Two slots (first argument, and body/payload), each followed by a
 * PROT_NONE page. place() copies bytes so that they end exactly at the
 * guard: one byte too far and the test dies with SIGSEGV.
 */
static char *slot[2];

static void guard_init(void)
{
	long page = sysconf(_SC_PAGESIZE);

	for (int i = 0; i < 2; i++) {
		char *m = mmap(NULL, SLOT_SIZE + (size_t)page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED || mprotect(m + SLOT_SIZE, (size_t)page, PROT_NONE)) {
			perror("mmap guard");
			exit(2);
		}
		slot[i] = m;
	}
}

static char *place(int s, const void *src, size_t n)
{
	char *dst = slot[s] + SLOT_SIZE - n;

	if (n > SLOT_SIZE)
		abort();
	if (n)
		memcpy(dst, src, n);
	return dst;
}

/* --------------------------------------------------------- request builder */

struct msg {
	size_t len;
	int extlen8;		/* total_extlen to send; -1: count what ext_*() added */
	unsigned ext_added;	/* bytes of extensions appended */
	unsigned char b[8192] __attribute__((aligned(8)));
};

static uint64_t next_unique = 100;

static void msg_start(struct msg *m, uint32_t opcode, uint64_t nodeid)
{
	struct fuse_in_header ih = {
		.opcode = opcode,
		.unique = ++next_unique,
		.nodeid = nodeid,
		.uid = 1000,
		.gid = 1001,
		.pid = 4242,
	};

	memset(m, 0, sizeof(*m));
	m->extlen8 = -1;
	memcpy(m->b, &ih, sizeof(ih));
	m->len = sizeof(ih);
}

static void msg_add(struct msg *m, const void *p, size_t n)
{
	if (m->len + n > sizeof(m->b))
		abort();
	if (n)		/* p may be NULL for an empty argument */
		memcpy(m->b + m->len, p, n);
	m->len += n;
}

/* A string with its NUL, as the kernel sends names. */
static void msg_str(struct msg *m, const char *s)
{
	msg_add(m, s, strlen(s) + 1);
}

/* The FUSE_EXT_GROUPS extension the kernel adds with CREATE_SUPP_GROUP. */
static void msg_ext_groups(struct msg *m, uint32_t gid)
{
	struct fuse_ext_header xh = { .size = 16, .type = FUSE_EXT_GROUPS };
	uint32_t g[2] = { 1, gid };

	msg_add(m, &xh, sizeof(xh));
	msg_add(m, g, sizeof(g));
	m->ext_added += 16;
}

static void msg_ext_raw(struct msg *m, uint32_t size, uint32_t type, size_t body)
{
	struct fuse_ext_header xh = { .size = size, .type = type };
	static const char zeros[256];

	msg_add(m, &xh, sizeof(xh));
	msg_add(m, zeros, body);
	m->ext_added += (unsigned)(sizeof(xh) + body);
}

/*
 * The security context extension the kernel adds with SECURITY_CTX: a
 * header whose type is the number of contexts, then per context a struct
 * fuse_secctx, the name with its NUL and the value, padded to 8 bytes.
 * nr 0: the header alone (no LSM labels the file).
 */
static void msg_ext_secctx(struct msg *m, const char *name, const void *value, uint32_t size)
{
	size_t body = name ? sizeof(struct fuse_secctx) + strlen(name) + 1 + size : 0;
	size_t total = (sizeof(struct fuse_ext_header) + body + 7) & ~(size_t)7;
	struct fuse_ext_header xh = { .size = (uint32_t)total, .type = name ? 1 : 0 };
	struct fuse_secctx sc = { .size = size };
	static const char zeros[8];

	msg_add(m, &xh, sizeof(xh));
	if (name) {
		msg_add(m, &sc, sizeof(sc));
		msg_str(m, name);
		msg_add(m, value, size);
	}
	msg_add(m, zeros, total - sizeof(xh) - body);
	m->ext_added += (unsigned)total;
}

static void msg_finish(struct msg *m)
{
	struct fuse_in_header *ih = (struct fuse_in_header *)m->b;

	ih->len = (uint32_t)m->len;
	ih->total_extlen = (uint16_t)(m->extlen8 >= 0 ? (unsigned)m->extlen8 : m->ext_added / 8);
}

static uint64_t msg_unique(const struct msg *m)
{
	return ((const struct fuse_in_header *)m->b)->unique;
}

/* -------------------------------------------------------------- delivery */

enum path { DEV, RING };
static const char *const path_name[] = { "dev_fuse", "ring" };
static enum path cur_path;
static uint64_t malformed_before;
static const char *body_start, *body_end;	/* where the request's data sits */

static void reset_req(size_t out_size)
{
	memset(&sent, 0, sizeof(sent));
	memset(&call, 0, sizeof(call));
	memset(&the_req, 0, sizeof(the_req));
	the_req.se = &se;
	the_req.chan = &chan;
	the_req.out = out_area;
	the_req.out_size = out_size;
	atomic_store(&the_req.state, FURI_REQ_DISPATCHING);
	malformed_before = stats.malformed;
}

/* As serve_one() in lib/transport_legacy.c: one contiguous read. */
static void deliver_dev_raw(const void *bytes, size_t n, size_t out_size)
{
	const char *p = place(1, bytes, n);
	struct fuse_in_header ih;
	const void *arg;
	const char *data;
	size_t arg_len, data_len;

	reset_req(out_size);
	body_start = p;
	body_end = p + n;
	memcpy(&ih, p, sizeof(ih));
	if (ih.len != n || furi_split_request(&se, &ih, p + sizeof(ih), n - sizeof(ih), &arg,
					      &arg_len, &data, &data_len)) {
		furi_dispatch_reject(&the_req, &ih);
		return;
	}
	furi_dispatch(&the_req, &ih, arg, arg_len, data, data_len);
}

/*
 * As serve_request() in lib/transport_uring.c: the in header comes from the
 * entry's in_out header, the first argument (arg_len bytes) from op_in, the
 * rest (payload_sz bytes) from the payload buffer.
 */
static void deliver_ring_raw(const struct fuse_in_header *ihp, const void *arg, size_t arg_len,
			     const void *payload, uint32_t payload_sz, size_t out_size)
{
	struct fuse_in_header ih = *ihp;
	const char *a = place(0, arg, arg_len);
	const char *p = place(1, payload, payload_sz);

	reset_req(out_size);
	body_start = p;
	body_end = p + payload_sz;
	if (payload_sz > the_req.out_size || ih.len < sizeof(ih) + payload_sz ||
	    ih.len - sizeof(ih) - payload_sz > FUSE_URING_OP_IN_OUT_SZ) {
		furi_dispatch_reject(&the_req, &ih);
		return;
	}
	furi_dispatch(&the_req, &ih, a, ih.len - sizeof(ih) - payload_sz, p, payload_sz);
}

/* Cut a wire-format request the way the kernel fills a ring entry. */
static void deliver_ring(const struct msg *m, size_t out_size)
{
	struct fuse_in_header ih;
	size_t body = m->len - sizeof(ih);
	size_t arg_len;

	memcpy(&ih, m->b, sizeof(ih));
	arg_len = FURI_MIN(furi_op_arg_size(&se, ih.opcode), body);
	deliver_ring_raw(&ih, m->b + sizeof(ih), arg_len, m->b + sizeof(ih) + arg_len,
			 (uint32_t)(body - arg_len), out_size);
}

static void deliver_sized(struct msg *m, size_t out_size)
{
	msg_finish(m);
	if (cur_path == DEV)
		deliver_dev_raw(m->b, m->len, out_size);
	else
		deliver_ring(m, out_size);
}

static void deliver(struct msg *m)
{
	deliver_sized(m, OUT_SIZE);
}

/* ------------------------------------------------------------ assertions */

/* The handler ran once, and its success reply went out once. */
#define CHECK_HANDLED(opname)                                                  \
	do {                                                                   \
		CHECK_EQ(call.n, 1);                                           \
		CHECK_STR(call.op, opname);                                    \
		CHECK(call.fs == &fs_marker);                                  \
		CHECK_EQ(sent.n, 1);                                           \
		CHECK_EQ(sent.error, 0);                                       \
		CHECK(!sent.no_reply);                                         \
		CHECK_EQ(stats.malformed, malformed_before);                   \
	} while (0)

/* No handler, one EINVAL reply, counted as malformed. */
#define CHECK_EINVAL()                                                         \
	do {                                                                   \
		CHECK_EQ(call.n, 0);                                           \
		CHECK_EQ(sent.n, 1);                                           \
		CHECK_EQ(sent.error, -EINVAL);                                 \
		CHECK(!sent.no_reply);                                         \
		CHECK_EQ(stats.malformed, malformed_before + 1);               \
	} while (0)

/* No handler, and the request ended without a reply to the kernel. */
#define CHECK_SILENT_MALFORMED()                                               \
	do {                                                                   \
		CHECK_EQ(call.n, 0);                                           \
		CHECK_EQ(call.nforget, 0);                                     \
		CHECK_EQ(sent.n, 1);                                           \
		CHECK(sent.no_reply);                                          \
		CHECK_EQ(stats.malformed, malformed_before + 1);               \
	} while (0)

#define CHECK_CTX_DEFAULT()                                                    \
	do {                                                                   \
		CHECK_EQ(call.ctx.uid, 1000);                                  \
		CHECK_EQ(call.ctx.gid, 1001);                                  \
		CHECK_EQ(call.ctx.pid, 4242);                                  \
		CHECK_EQ(call.ctx.umask, 0);                                   \
		CHECK_EQ(call.ctx.supp_gid, (gid_t)-1);                        \
	} while (0)

/* ---------------------------------------------------------- good requests */

static void test_lookup_passes_parent_name_and_caller(void)
{
	struct msg m;
	uint64_t received = stats.received, ops = stats.ops[FUSE_LOOKUP];

	msg_start(&m, FUSE_LOOKUP, 5);
	msg_str(&m, "hello");
	deliver(&m);
	CHECK_HANDLED("lookup");
	CHECK_EQ(call.opcode, FUSE_LOOKUP);
	CHECK_EQ(call.ino, 5);
	CHECK_STR(call.name, "hello");
	/* The name is used in place, not copied. */
	CHECK(call.name_ptr >= body_start && call.name_ptr < body_end);
	CHECK_CTX_DEFAULT();
	CHECK_EQ_U64(sent.unique, msg_unique(&m));
	CHECK_EQ(sent.args_len, 0);
	CHECK_EQ(stats.received, received + 1);
	CHECK_EQ(stats.ops[FUSE_LOOKUP], ops + 1);
}

static void test_forget_calls_forget_without_reply(void)
{
	struct msg m;
	struct fuse_forget_in in = { .nlookup = 3 };

	msg_start(&m, FUSE_FORGET, 7);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_EQ(call.nforget, 1);
	CHECK(call.fs == &fs_marker);
	CHECK_EQ(call.forget_ino[0], 7);
	CHECK_EQ(call.forget_n[0], 3);
	CHECK_EQ(sent.n, 1);
	CHECK(sent.no_reply);
}

static void test_batch_forget_calls_forget_per_item(void)
{
	struct msg m;
	struct fuse_batch_forget_in in = { .count = 3 };
	struct fuse_forget_one one[3] = { { 10, 1 }, { 11, 2 }, { 1ULL << 40, 1ULL << 33 } };

	msg_start(&m, FUSE_BATCH_FORGET, 0);
	msg_add(&m, &in, sizeof(in));
	msg_add(&m, one, sizeof(one));
	deliver(&m);
	CHECK_EQ(call.nforget, 3);
	CHECK_EQ(call.forget_ino[0], 10);
	CHECK_EQ(call.forget_n[0], 1);
	CHECK_EQ(call.forget_ino[1], 11);
	CHECK_EQ(call.forget_n[1], 2);
	CHECK_EQ_U64(call.forget_ino[2], 1ULL << 40);
	CHECK_EQ_U64(call.forget_n[2], 1ULL << 33);
	CHECK_EQ(sent.n, 1);
	CHECK(sent.no_reply);
	CHECK_EQ(stats.malformed, malformed_before);
}

static void test_getattr_passes_fh_only_with_getattr_fh(void)
{
	struct msg m;
	struct fuse_getattr_in in = { .getattr_flags = 0, .fh = 99 };

	msg_start(&m, FUSE_GETATTR, 12);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("getattr");
	CHECK_EQ(call.ino, 12);
	CHECK(!call.fh_given);

	in.getattr_flags = FUSE_GETATTR_FH;
	msg_start(&m, FUSE_GETATTR, 12);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("getattr");
	CHECK(call.fh_given);
	CHECK_EQ(call.fh, 99);
}

static void test_setattr_converts_every_field(void)
{
	struct msg m;
	struct fuse_setattr_in in = {
		.valid = FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE | FATTR_ATIME |
			 FATTR_MTIME | FATTR_FH | FATTR_LOCKOWNER | FATTR_CTIME |
			 FATTR_KILL_SUIDGID | (1u << 30),
		.fh = 77, .size = 1ULL << 42, .lock_owner = 5,
		.atime = 1000, .mtime = 2000, .ctime = 3000,
		.atimensec = 1, .mtimensec = 2, .ctimensec = 999999999,
		.mode = S_IFREG | 04755, .uid = 501, .gid = 502,
	};

	msg_start(&m, FUSE_SETATTR, 13);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("setattr");
	CHECK_EQ(call.ino, 13);
	/* FH and LOCKOWNER are not "what to change"; unknown bits are dropped. */
	CHECK_EQ(call.sa.valid, FURI_SET_MODE | FURI_SET_UID | FURI_SET_GID | FURI_SET_SIZE |
				FURI_SET_ATIME | FURI_SET_MTIME | FURI_SET_CTIME |
				FURI_SET_KILL_SUIDGID);
	CHECK_EQ(call.sa.mode, S_IFREG | 04755);
	CHECK_EQ(call.sa.uid, 501);
	CHECK_EQ(call.sa.gid, 502);
	CHECK_EQ_U64(call.sa.size, 1ULL << 42);
	CHECK_EQ(call.sa.atime.tv_sec, 1000);
	CHECK_EQ(call.sa.atime.tv_nsec, 1);
	CHECK_EQ(call.sa.mtime.tv_sec, 2000);
	CHECK_EQ(call.sa.mtime.tv_nsec, 2);
	CHECK_EQ(call.sa.ctime.tv_sec, 3000);
	CHECK_EQ(call.sa.ctime.tv_nsec, 999999999);
	CHECK(call.sa.has_fh);
	CHECK_EQ(call.sa.fh, 77);

	memset(&in, 0, sizeof(in));
	in.valid = FATTR_ATIME_NOW | FATTR_MTIME_NOW;
	msg_start(&m, FUSE_SETATTR, 13);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("setattr");
	CHECK_EQ(call.sa.valid, FURI_SET_ATIME_NOW | FURI_SET_MTIME_NOW);
	CHECK(!call.sa.has_fh);
}

static void test_readlink_and_statfs_pass_ino(void)
{
	struct msg m;

	msg_start(&m, FUSE_READLINK, 21);
	deliver(&m);
	CHECK_HANDLED("readlink");
	CHECK_EQ(call.ino, 21);

	msg_start(&m, FUSE_STATFS, 1);
	deliver(&m);
	CHECK_HANDLED("statfs");
	CHECK_EQ(call.ino, 1);
}

static void test_symlink_passes_name_then_target(void)
{
	struct msg m;

	msg_start(&m, FUSE_SYMLINK, 3);
	msg_str(&m, "link");
	msg_str(&m, "../some/target path");
	deliver(&m);
	CHECK_HANDLED("symlink");
	CHECK_EQ(call.ino, 3);
	CHECK_STR(call.name, "link");
	CHECK_STR(call.name2, "../some/target path");
	CHECK_CTX_DEFAULT();
}

static void test_mknod_passes_mode_rdev_and_umask(void)
{
	struct msg m;
	struct fuse_mknod_in in = { .mode = S_IFCHR | 0640, .rdev = 0x0103, .umask = 022 };

	msg_start(&m, FUSE_MKNOD, 4);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "dev");
	deliver(&m);
	CHECK_HANDLED("mknod");
	CHECK_EQ(call.ino, 4);
	CHECK_STR(call.name, "dev");
	CHECK_EQ(call.mode, S_IFCHR | 0640);
	CHECK_EQ(call.rdev, 0x0103);
	CHECK_EQ(call.ctx.umask, 022);
	CHECK_EQ(call.ctx.supp_gid, (gid_t)-1);
}

static void test_mkdir_passes_mode_and_umask(void)
{
	struct msg m;
	struct fuse_mkdir_in in = { .mode = 0755, .umask = 027 };

	msg_start(&m, FUSE_MKDIR, 4);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "dir");
	deliver(&m);
	CHECK_HANDLED("mkdir");
	CHECK_STR(call.name, "dir");
	CHECK_EQ(call.mode, 0755);
	CHECK_EQ(call.ctx.umask, 027);
}

static void test_supp_group_extension_sets_ctx_supp_gid(void)
{
	struct msg m;
	struct fuse_mkdir_in in = { .mode = 0750, .umask = 0 };

	msg_start(&m, FUSE_MKDIR, 4);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "grp");
	msg_ext_groups(&m, 4321);
	deliver(&m);
	CHECK_HANDLED("mkdir");
	CHECK_STR(call.name, "grp");
	CHECK_EQ(call.ctx.supp_gid, 4321);

	/* After an extension of another type (a security context), too. */
	msg_start(&m, FUSE_MKDIR, 4);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "grp2");
	msg_ext_secctx(&m, "security.x", "abc", 3);
	msg_ext_groups(&m, 77);
	deliver(&m);
	CHECK_HANDLED("mkdir");
	CHECK_STR(call.name, "grp2");
	CHECK_EQ(call.ctx.supp_gid, 77);

	/* An extension the decoder does not know is skipped. */
	msg_start(&m, FUSE_UNLINK, 4);
	msg_str(&m, "x");
	msg_ext_raw(&m, 8, 99, 0);
	deliver(&m);
	CHECK_HANDLED("unlink");
	CHECK_STR(call.name, "x");
	CHECK_EQ(call.ctx.supp_gid, (gid_t)-1);

	/* nr_groups == 0: no group. */
	{
		struct fuse_ext_header xh = { .size = 16, .type = FUSE_EXT_GROUPS };
		uint32_t g[2] = { 0, 555 };

		msg_start(&m, FUSE_MKDIR, 4);
		msg_add(&m, &in, sizeof(in));
		msg_str(&m, "nogrp");
		msg_add(&m, &xh, sizeof(xh));
		msg_add(&m, g, sizeof(g));
		m.ext_added = 16;
		deliver(&m);
		CHECK_HANDLED("mkdir");
		CHECK_EQ(call.ctx.supp_gid, (gid_t)-1);
	}
}

static void test_unlink_rmdir_pass_name(void)
{
	struct msg m;

	msg_start(&m, FUSE_UNLINK, 8);
	msg_str(&m, "file.txt");
	deliver(&m);
	CHECK_HANDLED("unlink");
	CHECK_EQ(call.ino, 8);
	CHECK_STR(call.name, "file.txt");

	msg_start(&m, FUSE_RMDIR, 8);
	msg_str(&m, "subdir");
	deliver(&m);
	CHECK_HANDLED("rmdir");
	CHECK_STR(call.name, "subdir");
}

static void test_rename_and_rename2_pass_both_names_and_flags(void)
{
	struct msg m;
	struct fuse_rename_in r1 = { .newdir = 9 };
	struct fuse_rename2_in r2 = { .newdir = 10, .flags = 2 /* RENAME_EXCHANGE */ };

	msg_start(&m, FUSE_RENAME, 6);
	msg_add(&m, &r1, sizeof(r1));
	msg_str(&m, "a");
	msg_str(&m, "b");
	deliver(&m);
	CHECK_HANDLED("rename");
	CHECK_EQ(call.ino, 6);
	CHECK_EQ(call.ino2, 9);
	CHECK_STR(call.name, "a");
	CHECK_STR(call.name2, "b");
	CHECK_EQ(call.flags, 0);

	msg_start(&m, FUSE_RENAME2, 6);
	msg_add(&m, &r2, sizeof(r2));
	msg_str(&m, "old");
	msg_str(&m, "new");
	deliver(&m);
	CHECK_HANDLED("rename");
	CHECK_EQ(call.opcode, FUSE_RENAME2);
	CHECK_EQ(call.ino2, 10);
	CHECK_STR(call.name, "old");
	CHECK_STR(call.name2, "new");
	CHECK_EQ(call.flags, 2);
}

static void test_link_passes_old_inode_and_new_parent(void)
{
	struct msg m;
	struct fuse_link_in in = { .oldnodeid = 11 };

	msg_start(&m, FUSE_LINK, 5);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "hard");
	deliver(&m);
	CHECK_HANDLED("link");
	CHECK_EQ(call.ino, 11);
	CHECK_EQ(call.ino2, 5);
	CHECK_STR(call.name, "hard");
}

static void test_open_passes_flags_and_kill_suidgid(void)
{
	struct msg m;
	struct fuse_open_in in = { .flags = O_RDWR | O_TRUNC, .open_flags = FUSE_OPEN_KILL_SUIDGID };

	msg_start(&m, FUSE_OPEN, 14);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("open");
	CHECK_EQ(call.ino, 14);
	CHECK_EQ(call.fo.flags, O_RDWR | O_TRUNC);
	CHECK_EQ(call.fo.kill_suidgid, 1);
	CHECK_EQ(call.fo.fh, 0);
	CHECK_EQ(call.fo.direct_io, 0);
	CHECK_EQ(call.fo.backing_id, 0);

	in.open_flags = 0;
	msg_start(&m, FUSE_OPEN, 14);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_EQ(call.fo.kill_suidgid, 0);
}

static void test_read_passes_fh_offset_size(void)
{
	struct msg m;
	struct fuse_read_in in = { .fh = 3, .offset = (1ULL << 40) + 4096, .size = 8192 };

	msg_start(&m, FUSE_READ, 15);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("read");
	CHECK_EQ(call.ino, 15);
	CHECK_EQ(call.fh, 3);
	CHECK_EQ_U64(call.off, (1ULL << 40) + 4096);
	CHECK_EQ(call.size, 8192);

	/* Exactly the reply area is fine. */
	in.size = OUT_SIZE;
	msg_start(&m, FUSE_READ, 15);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("read");
	CHECK_EQ(call.size, OUT_SIZE);
}

static void test_write_passes_data_in_place(void)
{
	struct msg m;
	struct fuse_write_in in = { .fh = 4, .offset = 12345, .size = 10,
				    .write_flags = FUSE_WRITE_CACHE | FUSE_WRITE_KILL_SUIDGID };

	msg_start(&m, FUSE_WRITE, 16);
	msg_add(&m, &in, sizeof(in));
	msg_add(&m, "0123456789", 10);
	deliver(&m);
	CHECK_HANDLED("write");
	CHECK_EQ(call.ino, 16);
	CHECK_EQ(call.fh, 4);
	CHECK_EQ(call.off, 12345);
	CHECK_EQ(call.size, 10);
	CHECK_EQ(call.flags, FURI_WRITE_CACHE | FURI_WRITE_KILL_SUIDGID);
	CHECK_MEM(call.data_copy, "0123456789", 10);
	/* No copy: the data is where the transport received it. */
	CHECK(call.data == body_end - 10);

	/* A zero-length write is legal. */
	in.size = 0;
	msg_start(&m, FUSE_WRITE, 16);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("write");
	CHECK_EQ(call.size, 0);
}

static void test_release_passes_flush_flag(void)
{
	struct msg m;
	struct fuse_release_in in = { .fh = 6, .flags = O_WRONLY, .release_flags = FUSE_RELEASE_FLUSH,
				      .lock_owner = 0x1234 };

	msg_start(&m, FUSE_RELEASE, 18);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("release");
	CHECK_EQ(call.ino, 18);
	CHECK_EQ(call.fh, 6);
	CHECK_EQ(call.iarg, O_WRONLY);
	CHECK_EQ(call.owner, 0x1234);
	CHECK(call.b1);

	in.release_flags = FUSE_RELEASE_FLOCK_UNLOCK;
	msg_start(&m, FUSE_RELEASE, 18);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("release");
	CHECK(!call.b1);
}

static void test_fsync_and_fsyncdir_pass_datasync(void)
{
	struct msg m;
	struct fuse_fsync_in in = { .fh = 20, .fsync_flags = FUSE_FSYNC_FDATASYNC };

	msg_start(&m, FUSE_FSYNC, 19);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("fsync");
	CHECK_EQ(call.ino, 19);
	CHECK_EQ(call.fh, 20);
	CHECK(call.b1);

	in.fsync_flags = 0;
	msg_start(&m, FUSE_FSYNCDIR, 19);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("fsyncdir");
	CHECK_EQ(call.fh, 20);
	CHECK(!call.b1);
}

static void test_setxattr_compat_8_byte_form(void)
{
	struct msg m;
	struct { uint32_t size, flags; } in = { 5, 1 /* XATTR_CREATE */ };

	se.want = 0;
	msg_start(&m, FUSE_SETXATTR, 22);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "user.x");
	msg_add(&m, "hello", 5);
	deliver(&m);
	CHECK_HANDLED("setxattr");
	CHECK_EQ(call.ino, 22);
	CHECK_STR(call.name, "user.x");
	CHECK_EQ(call.size, 5);
	CHECK_MEM(call.data_copy, "hello", 5);
	CHECK_EQ(call.iarg, 1);
	CHECK_EQ(call.flags, 0);
}

static void test_setxattr_ext_16_byte_form(void)
{
	struct msg m;
	struct fuse_setxattr_in in = { .size = 3, .flags = 2 /* XATTR_REPLACE */,
				       .setxattr_flags = FUSE_SETXATTR_ACL_KILL_SGID };

	se.want = FUSE_SETXATTR_EXT;
	msg_start(&m, FUSE_SETXATTR, 22);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "system.posix_acl_access");
	msg_add(&m, "a\0b", 3);
	deliver(&m);
	se.want = 0;
	CHECK_HANDLED("setxattr");
	CHECK_STR(call.name, "system.posix_acl_access");
	CHECK_EQ(call.size, 3);
	CHECK_MEM(call.data_copy, "a\0b", 3);
	CHECK_EQ(call.iarg, 2);
	CHECK_EQ(call.flags, FURI_SETXATTR_ACL_KILL_SGID);
}

static void test_xattr_queries_pass_name_and_size(void)
{
	struct msg m;
	struct fuse_getxattr_in in = { .size = 100 };

	msg_start(&m, FUSE_GETXATTR, 23);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "user.y");
	deliver(&m);
	CHECK_HANDLED("getxattr");
	CHECK_EQ(call.ino, 23);
	CHECK_STR(call.name, "user.y");
	CHECK_EQ(call.size, 100);

	/* Larger than the reply area: the handler is told what fits. */
	in.size = OUT_SIZE + 1;
	msg_start(&m, FUSE_GETXATTR, 23);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "user.y");
	deliver(&m);
	CHECK_HANDLED("getxattr");
	CHECK_EQ(call.size, OUT_SIZE);

	in.size = 0;
	msg_start(&m, FUSE_LISTXATTR, 23);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("listxattr");
	CHECK_EQ(call.size, 0);

	in.size = 4096;
	msg_start(&m, FUSE_LISTXATTR, 23);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("listxattr");
	CHECK_EQ(call.size, 4096);

	msg_start(&m, FUSE_REMOVEXATTR, 23);
	msg_str(&m, "user.z");
	deliver(&m);
	CHECK_HANDLED("removexattr");
	CHECK_STR(call.name, "user.z");
}

static void test_flush_passes_fh_and_owner(void)
{
	struct msg m;
	struct fuse_flush_in in = { .fh = 31, .lock_owner = 0xdeadbeefcafeULL };

	msg_start(&m, FUSE_FLUSH, 25);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("flush");
	CHECK_EQ(call.ino, 25);
	CHECK_EQ(call.fh, 31);
	CHECK_EQ_U64(call.owner, 0xdeadbeefcafeULL);
}

static void test_dir_ops_pass_fh_offset_size(void)
{
	struct msg m;
	struct fuse_open_in oin = { .flags = O_RDONLY | O_DIRECTORY };
	struct fuse_read_in rin = { .fh = 41, .offset = 17, .size = 4096 };
	struct fuse_release_in relin = { .fh = 41 };

	msg_start(&m, FUSE_OPENDIR, 27);
	msg_add(&m, &oin, sizeof(oin));
	deliver(&m);
	CHECK_HANDLED("opendir");
	CHECK_EQ(call.ino, 27);
	CHECK_EQ(call.fo.flags, O_RDONLY | O_DIRECTORY);

	msg_start(&m, FUSE_READDIR, 27);
	msg_add(&m, &rin, sizeof(rin));
	deliver(&m);
	CHECK_HANDLED("readdir");
	CHECK_EQ(call.fh, 41);
	CHECK_EQ(call.off, 17);
	CHECK_EQ(call.size, 4096);

	msg_start(&m, FUSE_READDIRPLUS, 27);
	msg_add(&m, &rin, sizeof(rin));
	deliver(&m);
	CHECK_HANDLED("readdirplus");
	CHECK_EQ(call.fh, 41);
	CHECK_EQ(call.off, 17);
	CHECK_EQ(call.size, 4096);

	msg_start(&m, FUSE_RELEASEDIR, 27);
	msg_add(&m, &relin, sizeof(relin));
	deliver(&m);
	CHECK_HANDLED("releasedir");
	CHECK_EQ(call.ino, 27);
	CHECK_EQ(call.fh, 41);
}

static void lk_msg(struct msg *m, uint32_t opcode, uint64_t start, uint64_t end, uint32_t type,
		   uint32_t lk_flags)
{
	struct fuse_lk_in in = {
		.fh = 51, .owner = 0xabcdef,
		.lk = { .start = start, .end = end, .type = type, .pid = 77 },
		.lk_flags = lk_flags,
	};

	msg_start(m, opcode, 31);
	msg_add(m, &in, sizeof(in));
}

static void test_getlk_converts_to_struct_flock(void)
{
	struct msg m;

	lk_msg(&m, FUSE_GETLK, 100, 199, F_WRLCK, 0);
	deliver(&m);
	CHECK_HANDLED("getlk");
	CHECK_EQ(call.ino, 31);
	CHECK_EQ(call.fh, 51);
	CHECK_EQ(call.owner, 0xabcdef);
	CHECK_EQ(call.fl.l_type, F_WRLCK);
	CHECK_EQ(call.fl.l_whence, SEEK_SET);
	CHECK_EQ(call.fl.l_start, 100);
	CHECK_EQ(call.fl.l_len, 100);
	CHECK_EQ(call.fl.l_pid, 77);

	/* end = OFFSET_MAX means "to the end of the file": l_len 0. */
	lk_msg(&m, FUSE_GETLK, 4096, (uint64_t)INT64_MAX, F_RDLCK, 0);
	deliver(&m);
	CHECK_HANDLED("getlk");
	CHECK_EQ(call.fl.l_type, F_RDLCK);
	CHECK_EQ(call.fl.l_start, 4096);
	CHECK_EQ(call.fl.l_len, 0);

	/* A one-byte lock. */
	lk_msg(&m, FUSE_GETLK, 7, 7, F_RDLCK, 0);
	deliver(&m);
	CHECK_EQ(call.fl.l_start, 7);
	CHECK_EQ(call.fl.l_len, 1);
}

static void test_setlk_and_setlkw_pass_wait_and_flock(void)
{
	struct msg m;

	lk_msg(&m, FUSE_SETLK, 0, 9, F_WRLCK, 0);
	deliver(&m);
	CHECK_HANDLED("setlk");
	CHECK_EQ(call.opcode, FUSE_SETLK);
	CHECK_EQ(call.fl.l_start, 0);
	CHECK_EQ(call.fl.l_len, 10);
	CHECK(!call.b1);
	CHECK(!call.b2);

	lk_msg(&m, FUSE_SETLKW, 0, (uint64_t)INT64_MAX, F_WRLCK, FUSE_LK_FLOCK);
	deliver(&m);
	CHECK_HANDLED("setlk");
	CHECK_EQ(call.opcode, FUSE_SETLKW);
	CHECK_EQ(call.fl.l_len, 0);
	CHECK(call.b1);
	CHECK(call.b2);

	lk_msg(&m, FUSE_SETLK, 0, (uint64_t)INT64_MAX, F_UNLCK, FUSE_LK_FLOCK);
	deliver(&m);
	CHECK_HANDLED("setlk");
	CHECK_EQ(call.fl.l_type, F_UNLCK);
	CHECK(!call.b1);
	CHECK(call.b2);
}

static void test_access_passes_mask(void)
{
	struct msg m;
	struct fuse_access_in in = { .mask = R_OK | X_OK };

	msg_start(&m, FUSE_ACCESS, 34);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("access");
	CHECK_EQ(call.ino, 34);
	CHECK_EQ(call.iarg, R_OK | X_OK);
}

static void test_create_passes_name_mode_flags_umask_and_group(void)
{
	struct msg m;
	struct fuse_create_in in = { .flags = O_CREAT | O_EXCL | O_WRONLY, .mode = S_IFREG | 0644,
				     .umask = 022, .open_flags = FUSE_OPEN_KILL_SUIDGID };

	msg_start(&m, FUSE_CREATE, 35);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "new");
	msg_ext_groups(&m, 600);
	deliver(&m);
	CHECK_HANDLED("create");
	CHECK_EQ(call.ino, 35);
	CHECK_STR(call.name, "new");
	CHECK_EQ(call.mode, S_IFREG | 0644);
	CHECK_EQ(call.fo.flags, O_CREAT | O_EXCL | O_WRONLY);
	CHECK_EQ(call.fo.kill_suidgid, 1);
	CHECK_EQ(call.ctx.umask, 022);
	CHECK_EQ(call.ctx.supp_gid, 600);
	CHECK_EQ(call.ctx.uid, 1000);
}

static void test_tmpfile_passes_mode_flags_umask(void)
{
	struct msg m;
	struct fuse_create_in in = { .flags = O_RDWR | O_TMPFILE, .mode = S_IFREG | 0600,
				     .umask = 077 };

	msg_start(&m, FUSE_TMPFILE, 51);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "/");	/* the kernel sends the dentry's placeholder name */
	deliver(&m);
	CHECK_HANDLED("tmpfile");
	CHECK_EQ(call.ino, 51);
	CHECK_EQ(call.mode, S_IFREG | 0600);
	CHECK_EQ(call.fo.flags, O_RDWR | O_TMPFILE);
	CHECK_EQ(call.ctx.umask, 077);
}

static void test_fallocate_lseek_pass_arguments(void)
{
	struct msg m;
	struct fuse_fallocate_in fin = { .fh = 61, .offset = 1ULL << 35, .length = 1ULL << 36,
					 .mode = 3 /* KEEP_SIZE | PUNCH_HOLE */ };
	struct fuse_lseek_in lin = { .fh = 62, .offset = 999, .whence = 4 /* SEEK_HOLE */ };

	msg_start(&m, FUSE_FALLOCATE, 43);
	msg_add(&m, &fin, sizeof(fin));
	deliver(&m);
	CHECK_HANDLED("fallocate");
	CHECK_EQ(call.ino, 43);
	CHECK_EQ(call.fh, 61);
	CHECK_EQ(call.iarg, 3);
	CHECK_EQ_U64(call.off, 1ULL << 35);
	CHECK_EQ_U64(call.len, 1ULL << 36);

	msg_start(&m, FUSE_LSEEK, 46);
	msg_add(&m, &lin, sizeof(lin));
	deliver(&m);
	CHECK_HANDLED("lseek");
	CHECK_EQ(call.ino, 46);
	CHECK_EQ(call.fh, 62);
	CHECK_EQ(call.off, 999);
	CHECK_EQ(call.iarg, 4);
}

static void test_copy_file_range_both_opcodes(void)
{
	static const uint32_t opcodes[] = { FUSE_COPY_FILE_RANGE, FUSE_COPY_FILE_RANGE_64 };
	struct fuse_copy_file_range_in in = {
		.fh_in = 71, .off_in = 4096, .nodeid_out = 72, .fh_out = 73,
		.off_out = 1ULL << 33, .len = 5ULL << 32, .flags = 0,
	};

	for (size_t i = 0; i < 2; i++) {
		struct msg m;

		msg_start(&m, opcodes[i], 70);
		msg_add(&m, &in, sizeof(in));
		deliver(&m);
		CHECK_HANDLED("copy_file_range");
		CHECK_EQ(call.opcode, opcodes[i]);
		CHECK_EQ(call.ino, 70);
		CHECK_EQ(call.fh, 71);
		CHECK_EQ(call.off, 4096);
		CHECK_EQ(call.ino2, 72);
		CHECK_EQ(call.fh2, 73);
		CHECK_EQ_U64(call.off2, 1ULL << 33);
		CHECK_EQ_U64(call.len, 5ULL << 32);
		CHECK_EQ(call.flags, 0);
	}
}

static void test_destroy_is_answered_ok(void)
{
	struct msg m;

	msg_start(&m, FUSE_DESTROY, 0);
	deliver(&m);
	CHECK_EQ(call.n, 0);
	CHECK_EQ(sent.n, 1);
	CHECK_EQ(sent.error, 0);
	CHECK_EQ(sent.args_len, 0);
	CHECK(!sent.no_reply);
}

static void test_unknown_opcodes_get_enosys(void)
{
	static const uint32_t opcodes[] = {
		7, FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING, FURI_OPCODE_MAX, 4096, UINT32_MAX,
	};

	for (size_t i = 0; i < FURI_ARRAY_SIZE(opcodes); i++) {
		struct msg m;

		msg_start(&m, opcodes[i], 1);
		msg_add(&m, "\0\0\0\0\0\0\0\0", 8);	/* e.g. fuse_syncfs_in */
		deliver(&m);
		CHECK_EQ(call.n, 0);
		CHECK_EQ(sent.n, 1);
		CHECK_EQ(sent.error, -ENOSYS);
		CHECK_EQ(stats.malformed, malformed_before);
	}
}

static void test_notify_reply_and_interrupt_get_no_reply(void)
{
	struct msg m;
	struct fuse_interrupt_in in = { .unique = 31337 };
	struct fuse_notify_retrieve_in rin = { .offset = 0, .size = 4 };

	/* A NOTIFY_REPLY nobody asked for is dropped, not answered. */
	msg_start(&m, FUSE_NOTIFY_REPLY, 5);
	msg_add(&m, &rin, sizeof(rin));
	msg_add(&m, "data", 4);
	deliver(&m);
	CHECK_EQ(sent.n, 1);
	CHECK(sent.no_reply);
	CHECK_EQ(stats.malformed, malformed_before);

	/* Its data shorter than its size: malformed, and still no reply. */
	rin.size = 5;
	msg_start(&m, FUSE_NOTIFY_REPLY, 5);
	msg_add(&m, &rin, sizeof(rin));
	msg_add(&m, "data", 4);
	deliver(&m);
	CHECK_SILENT_MALFORMED();

	msg_start(&m, FUSE_INTERRUPT, 0);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_EQ(sent.n, 1);
	CHECK(sent.no_reply);
	/* The interrupt reached the bookkeeping: request 31337 sees it. */
	reset_req(OUT_SIZE);
	the_req.unique = 31337;
	CHECK(furi_req_interrupted(&the_req));
}

static void test_statx_passes_fh_flags_and_mask(void)
{
	struct msg m;
	struct fuse_statx_in in = { .getattr_flags = FUSE_GETATTR_FH, .fh = 81,
				    .sx_flags = 0x2000 /* AT_STATX_FORCE_SYNC */,
				    .sx_mask = STATX_BASIC_STATS | STATX_BTIME };

	msg_start(&m, FUSE_STATX, 80);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("statx");
	CHECK_EQ(call.ino, 80);
	CHECK(call.fh_given);
	CHECK_EQ(call.fh, 81);
	CHECK_EQ(call.iarg, 0x2000);
	CHECK_EQ(call.flags, STATX_BASIC_STATS | STATX_BTIME);

	in.getattr_flags = 0;
	msg_start(&m, FUSE_STATX, 80);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("statx");
	CHECK(!call.fh_given);
}

static void test_ioctl_passes_command_and_in_data(void)
{
	struct msg m;
	struct fuse_ioctl_in in = { .fh = 91, .flags = FUSE_IOCTL_DIR, .cmd = 0x80086601,
				    .arg = 0x7ffd1000, .in_size = 5, .out_size = 8 };

	msg_start(&m, FUSE_IOCTL, 90);
	msg_add(&m, &in, sizeof(in));
	msg_add(&m, "hello", 5);
	deliver(&m);
	CHECK_HANDLED("ioctl");
	CHECK_EQ(call.ino, 90);
	CHECK_EQ(call.fh, 91);
	CHECK_EQ((unsigned)call.iarg, 0x80086601u);
	CHECK_EQ_U64(call.off, 0x7ffd1000);
	CHECK_EQ(call.flags, FURI_IOCTL_DIR);
	CHECK_EQ(call.size, 5);
	CHECK_MEM(call.data_copy, "hello", 5);
	CHECK(call.data == body_end - 5);	/* in place, not copied */
	CHECK_EQ(call.len, 8);

	/* No in data: NULL. An out size past the reply area is cut to what fits. */
	in.in_size = 0;
	in.out_size = 1u << 30;
	msg_start(&m, FUSE_IOCTL, 90);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("ioctl");
	CHECK(call.data == NULL);
	CHECK_EQ(call.len, OUT_SIZE - sizeof(struct fuse_ioctl_out));

	/* in_size past the data: malformed. */
	in.in_size = 6;
	msg_start(&m, FUSE_IOCTL, 90);
	msg_add(&m, &in, sizeof(in));
	msg_add(&m, "hello", 5);
	deliver(&m);
	CHECK_EINVAL();
}

static void test_poll_passes_handle_events_and_notify(void)
{
	struct msg m;
	struct fuse_poll_in in = { .fh = 101, .kh = 0xfeedbeefcafeULL,
				   .flags = FUSE_POLL_SCHEDULE_NOTIFY, .events = 0x1 | 0x4 };

	msg_start(&m, FUSE_POLL, 100);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("poll");
	CHECK_EQ(call.ino, 100);
	CHECK_EQ(call.fh, 101);
	CHECK_EQ_U64(call.owner, 0xfeedbeefcafeULL);
	CHECK_EQ(call.flags, 0x5);
	CHECK(call.b1);

	in.flags = 0;
	msg_start(&m, FUSE_POLL, 100);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_HANDLED("poll");
	CHECK(!call.b1);
}

static void test_syncfs_and_bmap_pass_arguments(void)
{
	struct msg m;
	struct fuse_syncfs_in sin = { 0 };
	struct fuse_bmap_in bin = { .block = 1ULL << 40, .blocksize = 4096 };

	msg_start(&m, FUSE_SYNCFS, 1);
	msg_add(&m, &sin, sizeof(sin));
	deliver(&m);
	CHECK_HANDLED("syncfs");
	CHECK_EQ(call.ino, 1);

	msg_start(&m, FUSE_BMAP, 110);
	msg_add(&m, &bin, sizeof(bin));
	deliver(&m);
	CHECK_HANDLED("bmap");
	CHECK_EQ(call.ino, 110);
	CHECK_EQ(call.size, 4096);
	CHECK_EQ_U64(call.off, 1ULL << 40);
}

/* mknod, mkdir, symlink, create and tmpfile see the context; an empty one is none. */
static void test_security_context_reaches_create_handlers(void)
{
	static const char label[] = "system_u:object_r:tmp_t:s0";
	struct fuse_mknod_in mkn = { .mode = S_IFIFO | 0600 };
	struct fuse_mkdir_in mkd = { .mode = 0700 };
	struct fuse_create_in cin = { .flags = O_CREAT | O_RDWR, .mode = S_IFREG | 0600 };
	const char *ops[] = { "mknod", "mkdir", "symlink", "create", "tmpfile" };
	struct msg m;

	for (size_t i = 0; i < FURI_ARRAY_SIZE(ops); i++) {
		for (int with = 0; with < 2; with++) {
			switch (i) {
			case 0:
				msg_start(&m, FUSE_MKNOD, 5);
				msg_add(&m, &mkn, sizeof(mkn));
				msg_str(&m, "n");
				break;
			case 1:
				msg_start(&m, FUSE_MKDIR, 5);
				msg_add(&m, &mkd, sizeof(mkd));
				msg_str(&m, "n");
				break;
			case 2:
				msg_start(&m, FUSE_SYMLINK, 5);
				msg_str(&m, "n");
				msg_str(&m, "target");
				break;
			case 3:
				msg_start(&m, FUSE_CREATE, 5);
				msg_add(&m, &cin, sizeof(cin));
				msg_str(&m, "n");
				break;
			default:
				msg_start(&m, FUSE_TMPFILE, 5);
				msg_add(&m, &cin, sizeof(cin));
				msg_str(&m, "/");
				break;
			}
			msg_ext_secctx(&m, with ? "security.selinux" : NULL, label, sizeof(label));
			deliver(&m);
			CHECK_HANDLED(ops[i]);
			if (with) {
				CHECK_STR(call.ctx.secctx_name, "security.selinux");
				CHECK_EQ(call.ctx.secctx_size, sizeof(label));
				CHECK_MEM(call.ctx.secctx, label, sizeof(label));
			} else {
				CHECK(call.ctx.secctx_name == NULL);
				CHECK(call.ctx.secctx == NULL);
				CHECK_EQ(call.ctx.secctx_size, 0);
			}
		}
	}
}

static void test_malformed_security_context_is_rejected(void)
{
	struct fuse_mkdir_in mkd = { .mode = 0700 };
	struct fuse_ext_header xh = { .size = 32, .type = 1 };
	struct fuse_secctx sc = { .size = 11 };	/* 10 bytes follow the name */
	struct msg m;

	/* A value longer than the extension. */
	msg_start(&m, FUSE_MKDIR, 5);
	msg_add(&m, &mkd, sizeof(mkd));
	msg_str(&m, "n");
	msg_add(&m, &xh, sizeof(xh));
	msg_add(&m, &sc, sizeof(sc));
	msg_add(&m, "sec.x\0abcdefgh", 14);
	msg_add(&m, "\0\0", 2);
	m.ext_added = 32;
	deliver(&m);
	CHECK_EINVAL();

	/* A name without its NUL. */
	sc.size = 0;
	msg_start(&m, FUSE_MKDIR, 5);
	msg_add(&m, &mkd, sizeof(mkd));
	msg_str(&m, "n");
	msg_add(&m, &xh, sizeof(xh));
	msg_add(&m, &sc, sizeof(sc));
	msg_add(&m, "security", 8);
	msg_add(&m, "xxxxxxxx", 8);
	m.ext_added = 32;
	deliver(&m);
	CHECK_EINVAL();

	/* Too short for one context. */
	xh.size = 8;
	msg_start(&m, FUSE_MKDIR, 5);
	msg_add(&m, &mkd, sizeof(mkd));
	msg_str(&m, "n");
	msg_add(&m, &xh, sizeof(xh));
	m.ext_added = 8;
	deliver(&m);
	CHECK_EINVAL();
}

/* The new opcodes without a handler get ENOSYS, so the kernel stops asking. */
static void test_new_ops_without_handler_get_enosys(void)
{
	static const uint32_t opcodes[] = { FUSE_STATX, FUSE_IOCTL, FUSE_POLL, FUSE_SYNCFS,
					    FUSE_BMAP };
	static const char zeros[64];

	se.ops = &no_ops;
	for (size_t i = 0; i < FURI_ARRAY_SIZE(opcodes); i++) {
		struct msg m;

		msg_start(&m, opcodes[i], 1);
		msg_add(&m, zeros, furi_op_arg_size(&se, opcodes[i]));
		deliver(&m);
		CHECK_EQ(call.n, 0);
		CHECK_EQ(sent.n, 1);
		CHECK_EQ(sent.error, -ENOSYS);
		CHECK_EQ(stats.malformed, malformed_before);
	}
	se.ops = &all_ops;
}

static void test_null_handlers(void)
{
	struct msg m;
	struct fuse_getattr_in gin = { 0 };
	struct fuse_release_in rin = { .fh = 1 };
	struct fuse_flush_in fin = { .fh = 1 };
	struct fuse_open_in oin = { .flags = O_RDONLY };
	struct fuse_read_in rdin = { .size = 10 };
	struct fuse_forget_in fgin = { .nlookup = 1 };

	se.ops = &no_ops;

	/* Most ops: ENOSYS, so the kernel stops asking. */
	msg_start(&m, FUSE_LOOKUP, 1);
	msg_str(&m, "x");
	deliver(&m);
	CHECK_EQ(sent.n, 1);
	CHECK_EQ(sent.error, -ENOSYS);

	msg_start(&m, FUSE_GETATTR, 1);
	msg_add(&m, &gin, sizeof(gin));
	deliver(&m);
	CHECK_EQ(sent.error, -ENOSYS);

	msg_start(&m, FUSE_READDIRPLUS, 1);
	msg_add(&m, &rdin, sizeof(rdin));
	deliver(&m);
	CHECK_EQ(sent.error, -ENOSYS);

	msg_start(&m, FUSE_READDIR, 1);
	msg_add(&m, &rdin, sizeof(rdin));
	deliver(&m);
	CHECK_EQ(sent.error, -ENOSYS);

	/* RELEASE, RELEASEDIR, FLUSH: nothing to do is success. */
	msg_start(&m, FUSE_RELEASE, 1);
	msg_add(&m, &rin, sizeof(rin));
	deliver(&m);
	CHECK_EQ(sent.n, 1);
	CHECK_EQ(sent.error, 0);

	msg_start(&m, FUSE_RELEASEDIR, 1);
	msg_add(&m, &rin, sizeof(rin));
	deliver(&m);
	CHECK_EQ(sent.error, 0);

	msg_start(&m, FUSE_FLUSH, 1);
	msg_add(&m, &fin, sizeof(fin));
	deliver(&m);
	CHECK_EQ(sent.error, 0);

	/* OPENDIR without a handler opens with fh 0. */
	msg_start(&m, FUSE_OPENDIR, 1);
	msg_add(&m, &oin, sizeof(oin));
	memset(out_area, 0xaa, sizeof(struct fuse_open_out));
	deliver(&m);
	CHECK_EQ(sent.n, 1);
	CHECK_EQ(sent.error, 0);
	CHECK_EQ(sent.args_len, sizeof(struct fuse_open_out));
	CHECK_EQ(((struct fuse_open_out *)out_area)->fh, 0);
	CHECK_EQ(((struct fuse_open_out *)out_area)->open_flags, 0);

	/* FORGET without a handler still ends the request silently. */
	msg_start(&m, FUSE_FORGET, 1);
	msg_add(&m, &fgin, sizeof(fgin));
	deliver(&m);
	CHECK_EQ(sent.n, 1);
	CHECK(sent.no_reply);

	se.ops = &all_ops;
}

/* ------------------------------------------------------ malformed requests */

/* Every opcode with a first argument, one byte short of it. */
static void test_truncated_first_argument_is_rejected(void)
{
	for (uint32_t op = 1; op < FURI_OPCODE_MAX; op++) {
		size_t need = furi_op_arg_size(&se, op);
		struct msg m;
		static const char filler[128];

		int before = check_failures;

		if (!need || op == FUSE_INIT)
			continue;
		msg_start(&m, op, 1);
		msg_add(&m, filler, need - 1);
		deliver(&m);
		if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET || op == FUSE_INTERRUPT ||
		    op == FUSE_NOTIFY_REPLY) {
			CHECK_SILENT_MALFORMED();
		} else {
			CHECK_EINVAL();
		}
		if (check_failures != before)
			fprintf(stderr, "  (opcode %u %s, path %s)\n", op, furi_opcode_name(op),
				path_name[cur_path]);
	}
}

struct name_case {
	uint32_t opcode;
	const void *arg;
	size_t arg_len;
	const char *first;	/* NULL: the first name itself is broken */
};

static void test_names_without_nul_or_empty_are_rejected(void)
{
	static const char zeros[88];
	static const struct name_case cases[] = {
		{ FUSE_LOOKUP, NULL, 0, NULL },
		{ FUSE_UNLINK, NULL, 0, NULL },
		{ FUSE_RMDIR, NULL, 0, NULL },
		{ FUSE_REMOVEXATTR, NULL, 0, NULL },
		{ FUSE_MKNOD, zeros, sizeof(struct fuse_mknod_in), NULL },
		{ FUSE_MKDIR, zeros, sizeof(struct fuse_mkdir_in), NULL },
		{ FUSE_LINK, zeros, sizeof(struct fuse_link_in), NULL },
		{ FUSE_CREATE, zeros, sizeof(struct fuse_create_in), NULL },
		{ FUSE_GETXATTR, zeros, sizeof(struct fuse_getxattr_in), NULL },
		{ FUSE_SETXATTR, zeros, FUSE_COMPAT_SETXATTR_IN_SIZE, NULL },
		{ FUSE_SYMLINK, NULL, 0, NULL },
		{ FUSE_SYMLINK, NULL, 0, "name" },
		{ FUSE_RENAME, zeros, sizeof(struct fuse_rename_in), NULL },
		{ FUSE_RENAME, zeros, sizeof(struct fuse_rename_in), "old" },
		{ FUSE_RENAME2, zeros, sizeof(struct fuse_rename2_in), NULL },
		{ FUSE_RENAME2, zeros, sizeof(struct fuse_rename2_in), "old" },
	};

	for (size_t i = 0; i < FURI_ARRAY_SIZE(cases); i++) {
		const struct name_case *c = &cases[i];
		struct msg m;
		int before = check_failures;

		/* No NUL before the end of the request. */
		msg_start(&m, c->opcode, 1);
		msg_add(&m, c->arg, c->arg_len);
		if (c->first)
			msg_str(&m, c->first);
		msg_add(&m, "abc", 3);
		deliver(&m);
		CHECK_EINVAL();

		/* Empty name. */
		msg_start(&m, c->opcode, 1);
		msg_add(&m, c->arg, c->arg_len);
		if (c->first)
			msg_str(&m, c->first);
		msg_str(&m, "");
		if (c->opcode == FUSE_SYMLINK || c->opcode == FUSE_RENAME ||
		    c->opcode == FUSE_RENAME2)
			msg_str(&m, "second");
		deliver(&m);
		CHECK_EINVAL();

		/* Nothing at all after the first argument. */
		msg_start(&m, c->opcode, 1);
		msg_add(&m, c->arg, c->arg_len);
		if (c->first)
			msg_str(&m, c->first);
		deliver(&m);
		CHECK_EINVAL();

		if (check_failures != before)
			fprintf(stderr, "  (opcode %u, case %zu, path %s)\n", c->opcode, i,
				path_name[cur_path]);
	}
}

/* A name whose NUL is hidden inside the extensions must not count. */
static void test_name_nul_inside_extension_is_rejected(void)
{
	struct msg m;

	msg_start(&m, FUSE_LOOKUP, 1);
	msg_add(&m, "abc", 3);
	msg_ext_raw(&m, 8, 0, 0);	/* its header holds NUL bytes */
	deliver(&m);
	CHECK_EINVAL();
}

static void test_write_size_past_data_is_rejected(void)
{
	struct msg m;
	struct fuse_write_in in = { .size = 11 };

	msg_start(&m, FUSE_WRITE, 1);
	msg_add(&m, &in, sizeof(in));
	msg_add(&m, "0123456789", 10);
	deliver(&m);
	CHECK_EINVAL();

	in.size = UINT32_MAX;
	msg_start(&m, FUSE_WRITE, 1);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_EINVAL();

	/* Extensions are not write data. */
	in.size = 16;
	msg_start(&m, FUSE_WRITE, 1);
	msg_add(&m, &in, sizeof(in));
	msg_ext_groups(&m, 5);
	deliver(&m);
	CHECK_EINVAL();
}

static void test_setxattr_size_past_data_is_rejected(void)
{
	struct msg m;
	struct { uint32_t size, flags; } in = { 6, 0 };

	msg_start(&m, FUSE_SETXATTR, 1);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "user.a");
	msg_add(&m, "hello", 5);
	deliver(&m);
	CHECK_EINVAL();

	in.size = UINT32_MAX;
	msg_start(&m, FUSE_SETXATTR, 1);
	msg_add(&m, &in, sizeof(in));
	msg_str(&m, "user.a");
	deliver(&m);
	CHECK_EINVAL();
}

static void test_batch_forget_count_past_data(void)
{
	struct msg m;
	struct fuse_batch_forget_in in = { .count = 3 };
	struct fuse_forget_one one[2] = { { 10, 1 }, { 11, 2 } };

	msg_start(&m, FUSE_BATCH_FORGET, 0);
	msg_add(&m, &in, sizeof(in));
	msg_add(&m, one, sizeof(one));
	msg_add(&m, "12345678", 8);	/* half an item */
	deliver(&m);
	/* Counted as malformed, no reply; the whole items present are forgotten. */
	CHECK_EQ(sent.n, 1);
	CHECK(sent.no_reply);
	CHECK_EQ(stats.malformed, malformed_before + 1);
	CHECK_EQ(call.nforget, 2);
	CHECK_EQ(call.forget_ino[1], 11);

	in.count = UINT32_MAX;
	msg_start(&m, FUSE_BATCH_FORGET, 0);
	msg_add(&m, &in, sizeof(in));
	deliver(&m);
	CHECK_EQ(sent.n, 1);
	CHECK(sent.no_reply);
	CHECK_EQ(call.nforget, 0);
	CHECK_EQ(stats.malformed, malformed_before + 1);
}

static void test_read_sizes_past_reply_area_are_rejected(void)
{
	static const uint32_t opcodes[] = { FUSE_READ, FUSE_READDIR, FUSE_READDIRPLUS };
	struct fuse_read_in in = { .fh = 1, .size = OUT_SIZE + 1 };

	for (size_t i = 0; i < FURI_ARRAY_SIZE(opcodes); i++) {
		struct msg m;

		msg_start(&m, opcodes[i], 1);
		msg_add(&m, &in, sizeof(in));
		deliver(&m);
		CHECK_EINVAL();

		/* A smaller reply area (a ring entry sized for max_write). */
		in.size = 8192;
		msg_start(&m, opcodes[i], 1);
		msg_add(&m, &in, sizeof(in));
		deliver_sized(&m, 4096);
		CHECK_EINVAL();
		in.size = OUT_SIZE + 1;
	}
}

static void test_bogus_extensions_are_rejected(void)
{
	struct msg m;

	/* size 0 would loop forever if accepted. */
	msg_start(&m, FUSE_LOOKUP, 1);
	msg_str(&m, "name");
	msg_ext_raw(&m, 0, FUSE_EXT_GROUPS, 8);
	deliver(&m);
	CHECK_EINVAL();

	/* Smaller than its own header. */
	msg_start(&m, FUSE_LOOKUP, 1);
	msg_str(&m, "name");
	msg_ext_raw(&m, 4, FUSE_EXT_GROUPS, 8);
	deliver(&m);
	CHECK_EINVAL();

	/* Not a multiple of 8. */
	msg_start(&m, FUSE_LOOKUP, 1);
	msg_str(&m, "name");
	msg_ext_raw(&m, 12, FUSE_EXT_GROUPS, 8);
	deliver(&m);
	CHECK_EINVAL();

	/* Past the end of the extension area. */
	msg_start(&m, FUSE_MKDIR, 1);
	msg_add(&m, "\0\0\0\0\0\0\0\0", 8);
	msg_str(&m, "name");
	msg_ext_raw(&m, 24, FUSE_EXT_GROUPS, 8);
	deliver(&m);
	CHECK_EINVAL();

	/* Second extension runs past the end. */
	msg_start(&m, FUSE_LOOKUP, 1);
	msg_str(&m, "name");
	msg_ext_raw(&m, 8, 1, 0);
	msg_ext_raw(&m, 0xfffffff8u, FUSE_EXT_GROUPS, 8);
	deliver(&m);
	CHECK_EINVAL();

	/* total_extlen larger than the data. */
	msg_start(&m, FUSE_LOOKUP, 1);
	msg_str(&m, "name");
	m.extlen8 = 2;	/* 16 bytes, only 5 there */
	deliver(&m);
	CHECK_EINVAL();

	msg_start(&m, FUSE_READLINK, 1);
	m.extlen8 = 0xffff;
	deliver(&m);
	CHECK_EINVAL();

	/* Groups extension too short for one group: ignored, not read. */
	msg_start(&m, FUSE_LOOKUP, 1);
	msg_str(&m, "name");
	msg_ext_raw(&m, 8, FUSE_EXT_GROUPS, 0);
	deliver(&m);
	CHECK_HANDLED("lookup");
	CHECK_EQ(call.ctx.supp_gid, (gid_t)-1);
}

/*
 * Regression (found by tests/fuzz/fuzz_decoder): a lock range the kernel
 * never sends (start past INT64_MAX, or end before start) used to reach the
 * handler as a negative l_start/l_len, and echoing it back with
 * furi_reply_lock() overflowed a signed addition.
 */
static void test_lock_range_the_kernel_never_sends_is_rejected(void)
{
	static const uint32_t opcodes[] = { FUSE_GETLK, FUSE_SETLK, FUSE_SETLKW };
	static const struct { uint64_t start, end; } bad[] = {
		{ 100, 5 },
		{ 1ULL << 63, 0 },
		{ 1ULL << 63, 1ULL << 63 },
		{ UINT64_MAX, UINT64_MAX },
		{ 1, 0 },
	};

	for (size_t o = 0; o < FURI_ARRAY_SIZE(opcodes); o++) {
		struct msg m;

		for (size_t i = 0; i < FURI_ARRAY_SIZE(bad); i++) {
			lk_msg(&m, opcodes[o], bad[i].start, bad[i].end, F_WRLCK, 0);
			deliver(&m);
			CHECK_EINVAL();
		}
		/* Still accepted: the largest start, and an end past OFFSET_MAX
		 * meaning "to the end of the file", as before. */
		lk_msg(&m, opcodes[o], (uint64_t)INT64_MAX, (uint64_t)INT64_MAX, F_RDLCK, 0);
		deliver(&m);
		CHECK_EQ(call.n, 1);
		CHECK_EQ(call.fl.l_start, INT64_MAX);
		CHECK_EQ(call.fl.l_len, 0);
		lk_msg(&m, opcodes[o], 0, UINT64_MAX, F_RDLCK, 0);
		deliver(&m);
		CHECK_EQ(call.n, 1);
		CHECK_EQ(call.fl.l_len, 0);
		lk_msg(&m, opcodes[o], 5, 5, F_RDLCK, 0);
		deliver(&m);
		CHECK_EQ(call.n, 1);
		CHECK_EQ(call.fl.l_len, 1);
	}
}

/* Truncated FORGET and INTERRUPT: no handler, no reply. */
static void test_truncated_no_reply_ops_stay_silent(void)
{
	struct msg m;

	msg_start(&m, FUSE_FORGET, 5);
	msg_add(&m, "1234", 4);
	deliver(&m);
	CHECK_SILENT_MALFORMED();

	msg_start(&m, FUSE_INTERRUPT, 0);
	deliver(&m);
	CHECK_SILENT_MALFORMED();
}

/* /dev/fuse framing: the header's len must be what read() returned. */
static void test_dev_length_mismatch_is_rejected(void)
{
	struct msg m;

	msg_start(&m, FUSE_LOOKUP, 1);
	msg_str(&m, "abc");
	msg_finish(&m);
	((struct fuse_in_header *)m.b)->len = (uint32_t)m.len + 1;
	deliver_dev_raw(m.b, m.len, OUT_SIZE);
	CHECK_EINVAL();

	((struct fuse_in_header *)m.b)->len = (uint32_t)m.len - 1;
	deliver_dev_raw(m.b, m.len, OUT_SIZE);
	CHECK_EINVAL();

	/* unique 0 is never answered, even when broken. */
	((struct fuse_in_header *)m.b)->unique = 0;
	deliver_dev_raw(m.b, m.len, OUT_SIZE);
	CHECK_SILENT_MALFORMED();
}

/* Ring framing: payload_sz and len must leave 0..128 bytes for op_in. */
static void test_ring_framing_is_checked(void)
{
	struct fuse_in_header ih = { .opcode = FUSE_LOOKUP, .unique = 9, .nodeid = 1 };
	static const char name[] = "abc";
	static const char big[200];

	/* Payload larger than the entry's buffer. */
	ih.len = (uint32_t)(sizeof(ih) + 100);
	deliver_ring_raw(&ih, NULL, 0, big, 100, 64);
	CHECK_EINVAL();

	/* len smaller than header + payload. */
	ih.len = (uint32_t)(sizeof(ih) + sizeof(name) - 1);
	deliver_ring_raw(&ih, NULL, 0, name, sizeof(name), OUT_SIZE);
	CHECK_EINVAL();

	/* A first argument longer than op_in. */
	ih.len = (uint32_t)(sizeof(ih) + 129 + sizeof(name));
	deliver_ring_raw(&ih, big, 128, name, sizeof(name), OUT_SIZE);
	CHECK_EINVAL();

	/* The largest first argument that fits is accepted. */
	ih.opcode = FUSE_GETATTR;
	ih.len = (uint32_t)(sizeof(ih) + 128);
	deliver_ring_raw(&ih, big, 128, NULL, 0, OUT_SIZE);
	CHECK_HANDLED("getattr");
	CHECK(!call.fh_given);
}

/* ------------------------------------------------------------------- main */

static void run_on_both_paths(void (*fn)(void), const char *name)
{
	for (int p = DEV; p <= RING; p++) {
		int before = check_failures;

		cur_path = (enum path)p;
		se.ops = &all_ops;
		se.want = 0;
		fn();
		if (check_failures != before)
			fprintf(stderr, "  ^ in %s on the %s path\n", name, path_name[p]);
	}
}

#define RUN(fn) run_on_both_paths(fn, #fn)

int main(void)
{
	guard_init();
	out_area = malloc(OUT_SIZE);
	if (!out_area)
		return 2;
	furi_set_log_level(FURI_LOG_ERR);
	pthread_mutex_init(&se.int_lock, NULL);
	pthread_cond_init(&se.int_done, NULL);
	se.fs = &fs_marker;
	se.fd = -1;
	se.exit_fd = -1;

	RUN(test_lookup_passes_parent_name_and_caller);
	RUN(test_forget_calls_forget_without_reply);
	RUN(test_batch_forget_calls_forget_per_item);
	RUN(test_getattr_passes_fh_only_with_getattr_fh);
	RUN(test_setattr_converts_every_field);
	RUN(test_readlink_and_statfs_pass_ino);
	RUN(test_symlink_passes_name_then_target);
	RUN(test_mknod_passes_mode_rdev_and_umask);
	RUN(test_mkdir_passes_mode_and_umask);
	RUN(test_supp_group_extension_sets_ctx_supp_gid);
	RUN(test_unlink_rmdir_pass_name);
	RUN(test_rename_and_rename2_pass_both_names_and_flags);
	RUN(test_link_passes_old_inode_and_new_parent);
	RUN(test_open_passes_flags_and_kill_suidgid);
	RUN(test_read_passes_fh_offset_size);
	RUN(test_write_passes_data_in_place);
	RUN(test_release_passes_flush_flag);
	RUN(test_fsync_and_fsyncdir_pass_datasync);
	RUN(test_setxattr_compat_8_byte_form);
	RUN(test_setxattr_ext_16_byte_form);
	RUN(test_xattr_queries_pass_name_and_size);
	RUN(test_flush_passes_fh_and_owner);
	RUN(test_dir_ops_pass_fh_offset_size);
	RUN(test_getlk_converts_to_struct_flock);
	RUN(test_setlk_and_setlkw_pass_wait_and_flock);
	RUN(test_access_passes_mask);
	RUN(test_create_passes_name_mode_flags_umask_and_group);
	RUN(test_tmpfile_passes_mode_flags_umask);
	RUN(test_fallocate_lseek_pass_arguments);
	RUN(test_copy_file_range_both_opcodes);
	RUN(test_destroy_is_answered_ok);
	RUN(test_unknown_opcodes_get_enosys);
	RUN(test_notify_reply_and_interrupt_get_no_reply);
	RUN(test_statx_passes_fh_flags_and_mask);
	RUN(test_ioctl_passes_command_and_in_data);
	RUN(test_poll_passes_handle_events_and_notify);
	RUN(test_syncfs_and_bmap_pass_arguments);
	RUN(test_security_context_reaches_create_handlers);
	RUN(test_malformed_security_context_is_rejected);
	RUN(test_new_ops_without_handler_get_enosys);
	RUN(test_null_handlers);

	RUN(test_truncated_first_argument_is_rejected);
	RUN(test_names_without_nul_or_empty_are_rejected);
	RUN(test_name_nul_inside_extension_is_rejected);
	RUN(test_write_size_past_data_is_rejected);
	RUN(test_setxattr_size_past_data_is_rejected);
	RUN(test_batch_forget_count_past_data);
	RUN(test_read_sizes_past_reply_area_are_rejected);
	RUN(test_bogus_extensions_are_rejected);
	RUN(test_lock_range_the_kernel_never_sends_is_rejected);
	RUN(test_truncated_no_reply_ops_stay_silent);
	cur_path = DEV;
	test_dev_length_mismatch_is_rejected();
	cur_path = RING;
	test_ring_framing_is_checked();

	return check_exit("test_decoder");
}
