/* SPDX-License-Identifier: MIT */
/*
 * test_init.c - INIT negotiation: furi_session_init() answers crafted INIT
 * requests on a socketpair standing in for /dev/fuse, and the reply is read
 * back and checked field by field: protocol versions from 7.31 to 7.45 and
 * beyond, refusals of what is too old, flags masked by what the kernel
 * offers, what ops->init may change, and the sizes furi derives.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

struct reply {
	struct fuse_out_header oh;
	struct fuse_init_out out;
	ssize_t len;
};

static uint64_t (*init_hook_want_add)(uint64_t);
static unsigned init_hook_max_write;
static bool init_called;

static void fs_init(void *fs, struct furi_conn *conn)
{
	(void)fs;
	init_called = true;
	if (init_hook_want_add)
		conn->want |= init_hook_want_add(conn->capable);
	if (init_hook_max_write)
		conn->max_write = init_hook_max_write;
}

static void fs_readdirplus(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
			   size_t size)
{
	(void)ino, (void)fh, (void)off, (void)size;
	furi_reply_err(req, ENOSYS);
}

static const struct furi_ops ops = { .init = fs_init, .readdirplus = fs_readdirplus };

/* Run one INIT with the given kernel offer; the reply lands in *r. */
static int run_init(struct furi_session *se, uint32_t major, uint32_t minor, uint64_t flags,
		    size_t arg_len, struct reply *r, char *why, size_t whylen)
{
	int sv[2];
	struct fuse_in_header ih = { .opcode = FUSE_INIT, .unique = 2 };
	struct fuse_init_in in = {
		.major = major, .minor = minor, .max_readahead = 131072,
		.flags = (uint32_t)flags, .flags2 = (uint32_t)(flags >> 32),
	};
	int ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		abort();
	se->fd = sv[0];
	ih.len = (uint32_t)(sizeof(ih) + arg_len);
	init_called = false;
	ret = furi_session_init(se, &ih, &in, arg_len, why, whylen);
	memset(r, 0, sizeof(*r));
	{
		char buf[sizeof(r->oh) + sizeof(r->out)];

		r->len = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
		if (r->len >= (ssize_t)sizeof(r->oh))
			memcpy(&r->oh, buf, sizeof(r->oh));
		if (r->len > (ssize_t)sizeof(r->oh))
			memcpy(&r->out, buf + sizeof(r->oh), (size_t)r->len - sizeof(r->oh));
	}
	close(sv[0]);
	close(sv[1]);
	se->fd = -1;
	return ret;
}

static struct furi_session *new_session(enum furi_transport t, unsigned max_write)
{
	struct furi_config cfg;
	char err[256];
	struct furi_session *se;

	furi_config_init(&cfg);
	cfg.transport = t;
	if (max_write)
		cfg.max_write = max_write;
	se = furi_session_new(&cfg, &ops, NULL, err, sizeof(err));
	if (!se)
		abort();
	return se;
}

#define KERNEL_645 (FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | \
		    FUSE_DONT_MASK | FUSE_FLOCK_LOCKS | FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS | \
		    FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO | FUSE_WRITEBACK_CACHE | \
		    FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV | FUSE_POSIX_ACL | FUSE_MAX_PAGES | \
		    FUSE_CACHE_SYMLINKS | FUSE_HANDLE_KILLPRIV_V2 | FUSE_SETXATTR_EXT | FUSE_INIT_EXT | \
		    FUSE_CREATE_SUPP_GROUP | FUSE_PASSTHROUGH)

static void test_current_kernel(void)
{
	struct furi_session *se = new_session(FURI_TRANSPORT_LEGACY, 0);
	struct reply r;
	char why[256] = "";
	uint64_t got;

	CHECK_EQ(run_init(se, 7, 45, KERNEL_645, sizeof(struct fuse_init_in), &r, why, sizeof(why)), 0);
	CHECK(init_called);
	CHECK_EQ(r.len, sizeof(r.oh) + sizeof(r.out));
	CHECK_EQ(r.oh.error, 0);
	CHECK_EQ(r.oh.unique, 2);
	CHECK_EQ(r.out.major, 7);
	CHECK_EQ(r.out.minor, 45);
	got = r.out.flags | ((uint64_t)r.out.flags2 << 32);
	/* What furi always wants, readdirplus because the fs has it. */
	CHECK(got & FUSE_ASYNC_READ);
	CHECK(got & FUSE_BIG_WRITES);
	CHECK(got & FUSE_MAX_PAGES);
	CHECK(got & FUSE_INIT_EXT);
	CHECK(got & FUSE_ASYNC_DIO);
	CHECK(got & FUSE_PARALLEL_DIROPS);
	CHECK(got & FUSE_DO_READDIRPLUS);
	/* What changes semantics stays off unless asked. */
	CHECK(!(got & FUSE_WRITEBACK_CACHE));
	CHECK(!(got & FUSE_POSIX_ACL));
	CHECK(!(got & FUSE_DONT_MASK));
	CHECK(!(got & FUSE_ATOMIC_O_TRUNC));
	CHECK(!(got & FUSE_OVER_IO_URING));
	/* No getlk/setlk handlers: the kernel keeps locks local. */
	CHECK(!(got & FUSE_POSIX_LOCKS));
	CHECK(!(got & FUSE_FLOCK_LOCKS));
	/* 1 MiB writes: 256 pages, and a payload that holds them. */
	CHECK_EQ(r.out.max_write, 1u << 20);
	CHECK_EQ(r.out.max_pages, 256);
	CHECK_EQ(r.out.time_gran, 1);
	CHECK_EQ(r.out.max_readahead, 131072);
	CHECK(r.out.max_background >= 1);
	CHECK(r.out.congestion_threshold <= r.out.max_background);
	CHECK(se->payload_size >= (1u << 20));
	CHECK(se->legacy_bufsize > se->payload_size);
	CHECK_STR(se->fallback_reason, "-o transport=legacy was given");
	furi_session_destroy(se);
}

static uint64_t want_acl_and_unoffered(uint64_t capable)
{
	(void)capable;
	return FUSE_POSIX_ACL | FUSE_WRITEBACK_CACHE | FUSE_NO_EXPORT_SUPPORT;
}

static void test_fs_choices_masked_by_offer(void)
{
	struct furi_session *se = new_session(FURI_TRANSPORT_LEGACY, 0);
	struct reply r;
	char why[256];
	uint64_t offer = KERNEL_645 & ~FUSE_WRITEBACK_CACHE, got;

	init_hook_want_add = want_acl_and_unoffered;
	CHECK_EQ(run_init(se, 7, 45, offer, sizeof(struct fuse_init_in), &r, why, sizeof(why)), 0);
	init_hook_want_add = NULL;
	got = r.out.flags | ((uint64_t)r.out.flags2 << 32);
	CHECK(got & FUSE_POSIX_ACL);
	CHECK(!(got & FUSE_WRITEBACK_CACHE));		/* not offered */
	CHECK(!(got & FUSE_NO_EXPORT_SUPPORT));		/* not offered */
	CHECK_EQ_U64(se->want, got);
	furi_session_destroy(se);
}

static void test_max_write_clamped(void)
{
	struct furi_session *se = new_session(FURI_TRANSPORT_LEGACY, 0);
	struct reply r;
	char why[256];

	/* Far past the kernel's page limit: clamped, never larger than max_pages allow. */
	init_hook_max_write = 64u << 20;
	CHECK_EQ(run_init(se, 7, 45, KERNEL_645, sizeof(struct fuse_init_in), &r, why, sizeof(why)), 0);
	CHECK(r.out.max_write <= (unsigned)r.out.max_pages * 4096u);
	CHECK(r.out.max_pages <= 1024);
	/* Tiny: never below a page, and the payload still holds a 64 KiB xattr. */
	init_hook_max_write = 100;
	CHECK_EQ(run_init(se, 7, 45, KERNEL_645, sizeof(struct fuse_init_in), &r, why, sizeof(why)), 0);
	CHECK_EQ(r.out.max_write, 4096);
	CHECK_EQ(r.out.max_pages, 1);
	CHECK(se->payload_size >= 65536 + 4096);
	init_hook_max_write = 0;
	furi_session_destroy(se);
}

static void test_old_kernels(void)
{
	struct furi_session *se = new_session(FURI_TRANSPORT_AUTO, 0);
	struct reply r;
	char why[256];
	uint64_t got;

	/* 7.31: a 16-byte init_in and no flags2; the reply names 7.45 and the kernel takes the smaller. */
	CHECK_EQ(run_init(se, 7, 31, KERNEL_645 & 0xffffffffu & ~FUSE_INIT_EXT,
			  FUSE_COMPAT_INIT_IN_SIZE, &r, why, sizeof(why)), 0);
	CHECK_EQ(r.oh.error, 0);
	CHECK_EQ(r.out.minor, 45);
	CHECK_EQ(se->conn.proto_minor, 31);
	got = r.out.flags | ((uint64_t)r.out.flags2 << 32);
	CHECK(!(got & FUSE_INIT_EXT));
	CHECK_EQ(r.out.flags2, 0);
	/* No io_uring before 7.42, with the reason and the fix. */
	CHECK(strstr(se->fallback_reason, "7.31") != NULL);
	CHECK(strstr(se->fallback_reason, "Linux 6.14") != NULL);

	/* 7.30: too old, refused with EPROTO and a message. */
	CHECK_EQ(run_init(se, 7, 30, 0, FUSE_COMPAT_INIT_IN_SIZE, &r, why, sizeof(why)), -EPROTO);
	CHECK_EQ(r.oh.error, -EPROTO);
	CHECK_EQ(r.len, sizeof(r.oh));
	CHECK(strstr(why, "7.30") && strstr(why, "7.31"));

	/* Major 6: refused. */
	CHECK_EQ(run_init(se, 6, 99, 0, FUSE_COMPAT_INIT_IN_SIZE, &r, why, sizeof(why)), -EPROTO);
	CHECK_EQ(r.oh.error, -EPROTO);

	/* Major 8: answer with our major only, and ask to be asked again. */
	CHECK_EQ(run_init(se, 8, 0, 0, FUSE_COMPAT_INIT_IN_SIZE, &r, why, sizeof(why)), 1);
	CHECK_EQ(r.oh.error, 0);
	CHECK_EQ(r.out.major, 7);
	CHECK(!init_called);

	/* Shorter than the oldest init_in: malformed. */
	CHECK_EQ(run_init(se, 7, 45, 0, 8, &r, why, sizeof(why)), -EPROTO);
	CHECK_EQ(r.oh.error, -EINVAL);
	furi_session_destroy(se);
}

static void test_uring_not_offered(void)
{
	struct furi_session *se = new_session(FURI_TRANSPORT_AUTO, 0);
	struct reply r;
	char why[256];

	/* 7.45 without FUSE_OVER_IO_URING in the offer: /dev/fuse, with a reason. */
	CHECK_EQ(run_init(se, 7, 45, KERNEL_645, sizeof(struct fuse_init_in), &r, why, sizeof(why)), 0);
	CHECK(!(r.out.flags2 & (uint32_t)(FUSE_OVER_IO_URING >> 32)));
	CHECK(!se->uring_active);
	CHECK(se->fallback_reason[0] != '\0');
	furi_session_destroy(se);

	/* Required but not offered: INIT is still answered, and the session fails with why. */
	se = new_session(FURI_TRANSPORT_URING, 0);
	CHECK_EQ(run_init(se, 7, 45, KERNEL_645, sizeof(struct fuse_init_in), &r, why, sizeof(why)),
		 -EOPNOTSUPP);
	CHECK_EQ(r.oh.error, 0);
	CHECK(strstr(why, "io_uring was required") != NULL);
	furi_session_destroy(se);
}

int main(void)
{
	test_current_kernel();
	test_fs_choices_masked_by_offer();
	test_max_write_clamped();
	test_old_kernels();
	test_uring_not_offered();
	return check_exit("test_init");
}
