/* SPDX-License-Identifier: MIT */
/*
 * test_notify.c - each furi_notify_*() (lib/notify.c) writes exactly the
 * kernel's notification: a fuse_out_header with unique 0, the code in the
 * error field and the length of the whole message, then the code's struct
 * and its name or data. The session's fd is a packet socket here, so each
 * notification is read back as the one message the kernel would get.
 * RETRIEVE's answer, a NOTIFY_REPLY request, goes through the decoder to
 * the caller's callback. The effects on a real kernel are tested by
 * tests/integration/t_notify.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "check.h"
#include "fake_chan.h"

static struct furi_session se;
static int peer = -1;		/* the "kernel" end */
static unsigned char msg[8192];

/* Read one message; check its header; return the bytes after it. */
static size_t take(int code)
{
	ssize_t n = recv(peer, msg, sizeof(msg), MSG_DONTWAIT);
	struct fuse_out_header oh;

	CHECK(n >= (ssize_t)sizeof(oh));
	if (n < (ssize_t)sizeof(oh))
		return 0;
	memcpy(&oh, msg, sizeof(oh));
	CHECK_EQ(oh.len, (uint32_t)n);
	CHECK_EQ(oh.error, code);
	CHECK_EQ(oh.unique, 0);
	return (size_t)n - sizeof(oh);
}

static const void *body(void)
{
	return msg + sizeof(struct fuse_out_header);
}

static void test_inval_inode_and_entry(void)
{
	const struct fuse_notify_inval_inode_out *ii = body();
	const struct fuse_notify_inval_entry_out *ie = body();

	CHECK_EQ(furi_notify_inval_inode(&se, 42, -1, 0), 0);
	CHECK_EQ(take(FUSE_NOTIFY_INVAL_INODE), sizeof(*ii));
	CHECK_EQ(ii->ino, 42);
	CHECK_EQ(ii->off, -1);
	CHECK_EQ(ii->len, 0);

	CHECK_EQ(furi_notify_inval_entry(&se, 7, "name"), 0);
	CHECK_EQ(take(FUSE_NOTIFY_INVAL_ENTRY), sizeof(*ie) + 5);
	CHECK_EQ(ie->parent, 7);
	CHECK_EQ(ie->namelen, 4);
	CHECK_EQ(ie->flags, 0);
	CHECK_MEM((const char *)(ie + 1), "name", 5);

	se.kernel_flags = FUSE_HAS_EXPIRE_ONLY;
	CHECK_EQ(furi_notify_expire_entry(&se, 7, "x"), 0);
	CHECK_EQ(take(FUSE_NOTIFY_INVAL_ENTRY), sizeof(*ie) + 2);
	CHECK_EQ(ie->flags, FUSE_EXPIRE_ONLY);
	se.kernel_flags = 0;
	CHECK_EQ(furi_notify_expire_entry(&se, 7, "x"), -ENOSYS);
}

static void test_delete_store_poll(void)
{
	const struct fuse_notify_delete_out *d = body();
	const struct fuse_notify_store_out *st = body();
	const struct fuse_notify_poll_wakeup_out *p = body();

	CHECK_EQ(furi_notify_delete(&se, 1, 99, "gone"), 0);
	CHECK_EQ(take(FUSE_NOTIFY_DELETE), sizeof(*d) + 5);
	CHECK_EQ(d->parent, 1);
	CHECK_EQ(d->child, 99);
	CHECK_EQ(d->namelen, 4);
	CHECK_EQ(d->padding, 0);
	CHECK_MEM((const char *)(d + 1), "gone", 5);

	CHECK_EQ(furi_notify_store(&se, 5, 1ULL << 33, "abcdef", 6), 0);
	CHECK_EQ(take(FUSE_NOTIFY_STORE), sizeof(*st) + 6);
	CHECK_EQ(st->nodeid, 5);
	CHECK_EQ_U64(st->offset, 1ULL << 33);
	CHECK_EQ(st->size, 6);
	CHECK_MEM((const char *)(st + 1), "abcdef", 6);

	CHECK_EQ(furi_notify_poll(&se, 0x1234567890ULL), 0);
	CHECK_EQ(take(FUSE_NOTIFY_POLL), sizeof(*p));
	CHECK_EQ_U64(p->kh, 0x1234567890ULL);
}

static void test_resend_epoch_prune_need_the_protocol(void)
{
	const struct fuse_notify_prune_out *pr = body();
	uint64_t inos[3] = { 10, 11, 1ULL << 40 };

	se.proto_minor = 45;
	se.kernel_flags = FUSE_HAS_RESEND;
	CHECK_EQ(furi_notify_resend(&se), 0);
	CHECK_EQ(take(FUSE_NOTIFY_RESEND), 0);
	CHECK_EQ(furi_notify_inc_epoch(&se), 0);
	CHECK_EQ(take(FUSE_NOTIFY_INC_EPOCH), 0);
	CHECK_EQ(furi_notify_prune(&se, inos, 3), 0);
	CHECK_EQ(take(FUSE_NOTIFY_PRUNE), sizeof(*pr) + sizeof(inos));
	CHECK_EQ(pr->count, 3);
	CHECK_EQ(pr->padding, 0);
	CHECK_EQ(pr->spare, 0);
	CHECK_MEM((const char *)(pr + 1), inos, sizeof(inos));

	/* An older kernel: ENOSYS, and nothing written. */
	se.proto_minor = 43;
	CHECK_EQ(furi_notify_inc_epoch(&se), -ENOSYS);
	se.proto_minor = 44;
	CHECK_EQ(furi_notify_prune(&se, inos, 3), -ENOSYS);
	se.kernel_flags = 0;
	CHECK_EQ(furi_notify_resend(&se), -ENOSYS);
	CHECK_EQ(recv(peer, msg, sizeof(msg), MSG_DONTWAIT), -1);
	se.proto_minor = 45;
}

static struct {
	int n;
	uint64_t ino, off;
	char data[64];
	size_t size;
	void *arg;
} got;

static void retrieved(struct furi_session *s, uint64_t ino, uint64_t off, const void *data,
		      size_t size, void *arg)
{
	CHECK(s == &se);
	got.n++;
	got.ino = ino;
	got.off = off;
	got.size = size;
	memcpy(got.data, data, FURI_MIN(size, sizeof(got.data)));
	got.arg = arg;
}

/*
 * The kernel's NOTIFY_REPLY as a transport hands it over: on /dev/fuse its
 * fuse_notify_retrieve_in is the first argument; on the ring (6.18) op_in
 * is empty and the payload holds it, then the data.
 */
static void deliver_notify_reply(uint64_t unique, uint64_t ino, uint64_t off, const char *data,
				 uint32_t size, bool ring)
{
	char payload[128];
	struct fuse_in_header ih = { .opcode = FUSE_NOTIFY_REPLY, .unique = unique,
				     .nodeid = ino };
	struct fuse_notify_retrieve_in in = { .offset = off, .size = size };
	static char out_area[4096];
	struct furi_req req;

	memset(&req, 0, sizeof(req));
	memset(&sent, 0, sizeof(sent));
	req.se = &se;
	req.chan = &chan;
	req.out = out_area;
	req.out_size = sizeof(out_area);
	ih.len = (uint32_t)(sizeof(ih) + sizeof(in) + size);
	if (ring) {
		memcpy(payload, &in, sizeof(in));
		memcpy(payload + sizeof(in), data, size);
		furi_dispatch(&req, &ih, NULL, 0, payload, sizeof(in) + size);
	} else {
		furi_dispatch(&req, &ih, &in, sizeof(in), data, size);
	}
	CHECK_EQ(sent.n, 1);
	CHECK(sent.no_reply);
}

static void test_retrieve_reaches_its_callback_once(void)
{
	const struct fuse_notify_retrieve_out *r = body();
	uint64_t u1, u2;
	int marker;

	memset(&got, 0, sizeof(got));
	CHECK_EQ(furi_notify_retrieve(&se, 9, 4096, 100, retrieved, &marker), 0);
	CHECK_EQ(take(FUSE_NOTIFY_RETRIEVE), sizeof(*r));
	u1 = r->notify_unique;
	CHECK_EQ(r->nodeid, 9);
	CHECK_EQ(r->offset, 4096);
	CHECK_EQ(r->size, 100);
	CHECK_EQ(r->padding, 0);
	/* Even (the ring warns on odd ids) and far from the kernel's own ids. */
	CHECK_EQ(u1 & 1, 0);
	CHECK(u1 >= 1ULL << 62);

	CHECK_EQ(furi_notify_retrieve(&se, 10, 0, 10, retrieved, NULL), 0);
	CHECK_EQ(take(FUSE_NOTIFY_RETRIEVE), sizeof(*r));
	u2 = r->notify_unique;
	CHECK(u2 != u1);

	/* Answers in any order, each to its own callback, once. */
	deliver_notify_reply(u2, 10, 0, "0123456789", 10, true);
	CHECK_EQ(got.n, 1);
	CHECK_EQ(got.ino, 10);
	CHECK_EQ(got.size, 10);
	CHECK_MEM(got.data, "0123456789", 10);
	CHECK(got.arg == NULL);

	deliver_notify_reply(u1, 9, 4096, "cached", 6, false);
	CHECK_EQ(got.n, 2);
	CHECK_EQ(got.ino, 9);
	CHECK_EQ(got.off, 4096);
	CHECK_EQ(got.size, 6);
	CHECK_MEM(got.data, "cached", 6);
	CHECK(got.arg == &marker);

	deliver_notify_reply(u1, 9, 4096, "again", 5, false);
	CHECK_EQ(got.n, 2);
	CHECK(se.retrieves == NULL);

	/* A refused RETRIEVE leaves nothing waiting. */
	{
		int fd = se.fd;

		se.fd = -1;
		CHECK_EQ(furi_notify_retrieve(&se, 9, 0, 1, retrieved, NULL), -ENOTCONN);
		CHECK(se.retrieves == NULL);
		se.fd = fd;
	}
	CHECK_EQ(furi_notify_retrieve(&se, 9, 0, 1, NULL, NULL), -EINVAL);
}

int main(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		perror("socketpair");
		return 2;
	}
	furi_set_log_level(FURI_LOG_ERR);
	se.fd = sv[0];
	peer = sv[1];
	se.exit_fd = -1;
	se.proto_minor = 45;
	pthread_mutex_init(&se.notify_lock, NULL);
	pthread_mutex_init(&se.int_lock, NULL);
	pthread_cond_init(&se.int_done, NULL);

	test_inval_inode_and_entry();
	test_delete_store_poll();
	test_resend_epoch_prune_need_the_protocol();
	test_retrieve_reaches_its_callback_once();

	return check_exit("test_notify");
}
