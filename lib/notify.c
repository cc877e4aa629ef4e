/* SPDX-License-Identifier: MIT */
/*
 * notify.c - notifications: messages the server writes to /dev/fuse with
 * unique 0 and the notify code in the error field. They go there on both
 * transports (the ring refuses a commit with unique 0), from any thread,
 * and the kernel's refusal comes back as writev's errno.
 *
 * RETRIEVE is the one with an answer. The kernel queues a NOTIFY_REPLY
 * request with the unique the server chose, through the same path as any
 * request: once the ring is ready it lands on the queue of the CPU that
 * wrote the RETRIEVE, else on /dev/fuse. Either way it reaches
 * furi_notify_reply(), which finds the caller's callback by that unique.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* A RETRIEVE whose NOTIFY_REPLY has not come yet. */
struct furi_retrieve {
	struct furi_retrieve *next;
	uint64_t unique;
	furi_retrieve_fn done;
	void *arg;
};

/*
 * The kernel numbers requests with even ids counting up from 2 (odd ones
 * mean interrupts, bit 63 a resend) and finds a ring reply by its id, so
 * ours must be even and far from its: they count up from bit 62.
 */
#define RETRIEVE_UNIQUE_BASE	(1ULL << 62)

/* iov[0] is filled here with the out header; iov[1..n) is the message. */
static int notify_send(struct furi_session *se, int code, struct iovec *iov, int n)
{
	struct fuse_out_header oh = { .error = code, .unique = 0 };
	size_t len = sizeof(oh);
	int i;

	for (i = 1; i < n; i++)
		len += iov[i].iov_len;
	if (len > UINT32_MAX)
		return -EINVAL;
	oh.len = (uint32_t)len;
	iov[0].iov_base = &oh;
	iov[0].iov_len = sizeof(oh);
	if (se->fd < 0 || atomic_load(&se->ended))
		return -ENOTCONN;
	if (writev(se->fd, iov, n) < 0)
		/* ENODEV: the connection is gone, as ENOTCONN says everywhere else. */
		return errno == ENODEV ? -ENOTCONN : -errno;
	return 0;
}

static int notify_arg(struct furi_session *se, int code, const void *arg, size_t arg_len)
{
	struct iovec iov[2] = { { NULL, 0 }, { (void *)arg, arg_len } };

	return notify_send(se, code, iov, arg_len ? 2 : 1);
}

/* The kernel's protocol must have the notification; older ones say EINVAL. */
static bool kernel_has(const struct furi_session *se, unsigned minor, uint64_t flag)
{
	if (se->proto_minor < minor)
		return false;
	return !flag || (se->kernel_flags & flag);
}

int furi_notify_inval_inode(struct furi_session *se, uint64_t ino, int64_t off, int64_t len)
{
	struct fuse_notify_inval_inode_out o = { .ino = ino, .off = off, .len = len };

	return notify_arg(se, FUSE_NOTIFY_INVAL_INODE, &o, sizeof(o));
}

static int inval_entry(struct furi_session *se, uint64_t parent, const char *name,
		       uint32_t flags)
{
	struct fuse_notify_inval_entry_out o = { .parent = parent,
						 .namelen = (uint32_t)strlen(name),
						 .flags = flags };
	struct iovec iov[3] = { { NULL, 0 }, { &o, sizeof(o) },
				{ (void *)name, strlen(name) + 1 } };

	return notify_send(se, FUSE_NOTIFY_INVAL_ENTRY, iov, 3);
}

int furi_notify_inval_entry(struct furi_session *se, uint64_t parent, const char *name)
{
	return inval_entry(se, parent, name, 0);
}

int furi_notify_expire_entry(struct furi_session *se, uint64_t parent, const char *name)
{
	if (!kernel_has(se, 38, FUSE_HAS_EXPIRE_ONLY))
		return -ENOSYS;
	return inval_entry(se, parent, name, FUSE_EXPIRE_ONLY);
}

int furi_notify_delete(struct furi_session *se, uint64_t parent, uint64_t child,
		       const char *name)
{
	struct fuse_notify_delete_out o = { .parent = parent, .child = child,
					    .namelen = (uint32_t)strlen(name) };
	struct iovec iov[3] = { { NULL, 0 }, { &o, sizeof(o) },
				{ (void *)name, strlen(name) + 1 } };

	return notify_send(se, FUSE_NOTIFY_DELETE, iov, 3);
}

int furi_notify_store(struct furi_session *se, uint64_t ino, uint64_t off,
		      const void *data, size_t size)
{
	struct fuse_notify_store_out o = { .nodeid = ino, .offset = off,
					   .size = (uint32_t)size };
	struct iovec iov[3] = { { NULL, 0 }, { &o, sizeof(o) }, { (void *)data, size } };

	if (size > UINT32_MAX)
		return -EINVAL;
	return notify_send(se, FUSE_NOTIFY_STORE, iov, 3);
}

static struct furi_retrieve *retrieve_take(struct furi_session *se, uint64_t unique)
{
	struct furi_retrieve **pp, *r = NULL;

	pthread_mutex_lock(&se->notify_lock);
	for (pp = &se->retrieves; *pp; pp = &(*pp)->next) {
		if ((*pp)->unique == unique) {
			r = *pp;
			*pp = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&se->notify_lock);
	return r;
}

int furi_notify_retrieve(struct furi_session *se, uint64_t ino, uint64_t off, size_t size,
			 furi_retrieve_fn done, void *arg)
{
	struct fuse_notify_retrieve_out o = { .nodeid = ino, .offset = off,
					      .size = (uint32_t)FURI_MIN(size, (size_t)UINT32_MAX) };
	struct furi_retrieve *r;
	int err;

	if (!done)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->done = done;
	r->arg = arg;
	/* Listed before the write: the reply may reach another thread before writev returns. */
	pthread_mutex_lock(&se->notify_lock);
	se->retrieve_seq += 2;
	r->unique = RETRIEVE_UNIQUE_BASE + se->retrieve_seq;
	r->next = se->retrieves;
	se->retrieves = r;
	pthread_mutex_unlock(&se->notify_lock);

	o.notify_unique = r->unique;
	err = notify_arg(se, FUSE_NOTIFY_RETRIEVE, &o, sizeof(o));
	if (err && retrieve_take(se, r->unique) == r)
		free(r);
	return err;
}

void furi_notify_reply(struct furi_req *req, const struct fuse_notify_retrieve_in *in,
		       const char *data, size_t data_len)
{
	struct furi_retrieve *r = retrieve_take(req->se, req->unique);

	if (!r) {
		furi_dbg("NOTIFY_REPLY %llu answers no RETRIEVE of ours",
			 (unsigned long long)req->unique);
		return;
	}
	r->done(req->se, req->nodeid, in->offset, data, FURI_MIN((size_t)in->size, data_len),
		r->arg);
	free(r);
}

void furi_notify_free(struct furi_session *se)
{
	while (se->retrieves) {
		struct furi_retrieve *r = se->retrieves;

		se->retrieves = r->next;
		free(r);
	}
}

int furi_notify_poll(struct furi_session *se, uint64_t kh)
{
	struct fuse_notify_poll_wakeup_out o = { .kh = kh };

	return notify_arg(se, FUSE_NOTIFY_POLL, &o, sizeof(o));
}

int furi_notify_resend(struct furi_session *se)
{
	if (!kernel_has(se, 40, FUSE_HAS_RESEND))
		return -ENOSYS;
	return notify_arg(se, FUSE_NOTIFY_RESEND, NULL, 0);
}

int furi_notify_inc_epoch(struct furi_session *se)
{
	if (!kernel_has(se, 44, 0))
		return -ENOSYS;
	return notify_arg(se, FUSE_NOTIFY_INC_EPOCH, NULL, 0);
}

int furi_notify_prune(struct furi_session *se, const uint64_t *inos, size_t count)
{
	struct fuse_notify_prune_out o = { .count = (uint32_t)count };
	struct iovec iov[3] = { { NULL, 0 }, { &o, sizeof(o) },
				{ (void *)inos, count * sizeof(*inos) } };

	if (!kernel_has(se, 45, 0))
		return -ENOSYS;
	if (count > UINT32_MAX / sizeof(*inos))
		return -EINVAL;
	return notify_send(se, FUSE_NOTIFY_PRUNE, iov, 3);
}
