/* SPDX-License-Identifier: MIT */
/*
 * transport_legacy.c - the /dev/fuse transport: N workers, each reading
 * requests from its own clone of the session fd (FUSE_DEV_IOC_CLONE, so
 * they do not contend on one file) and writing replies with writev().
 *
 * A request lives in a buffer from a shared pool. When its handler replies
 * before returning, the worker reads the next request into the same buffer;
 * when the handler keeps the request for later, the worker takes a fresh
 * buffer and the late reply returns the old one to the pool.
 *
 * Buffer layout: the request is read so that WRITE data starts on a page
 * boundary, and the reply area starts on a page boundary too, so backends
 * that use O_DIRECT can take both without bounce buffers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

/* Header and fuse_write_in come before the WRITE data. */
#define WRITE_DATA_OFFSET (sizeof(struct fuse_in_header) + sizeof(struct fuse_write_in))

struct legacy_buf {
	struct furi_req req;		/* first: container_of is a cast */
	struct legacy_buf *next;	/* in the pool */
	int fd;				/* reply on the fd the request came from */
	char *mem;			/* page-aligned allocation */
	char *in;			/* where read() puts the request */
	size_t in_cap;
};

struct legacy_worker {
	struct furi_legacy *lg;
	pthread_t thread;
	bool started;
	int fd;
	bool own_fd;
};

struct furi_legacy {
	struct furi_session *se;
	struct furi_chan chan;
	unsigned nworkers;
	struct legacy_worker *workers;
	pthread_mutex_t pool_lock;
	struct legacy_buf *pool;
	size_t bufsize;			/* reply area and request space, see bufsize */
	_Atomic unsigned live_bufs;	/* allocated and not freed, for the leak check */
};

size_t furi_legacy_bufsize(const struct furi_session *se)
{
	return se->legacy_bufsize;
}

static struct legacy_buf *buf_alloc(struct furi_legacy *lg)
{
	struct legacy_buf *b = calloc(1, sizeof(*b));
	size_t page = FURI_PAGE_SIZE;

	if (!b)
		return NULL;
	/* [page: header room][payload: reply area / WRITE data] */
	if (posix_memalign((void **)&b->mem, page, page + lg->bufsize)) {
		free(b);
		return NULL;
	}
	b->in = b->mem + page - WRITE_DATA_OFFSET;
	b->in_cap = lg->bufsize + WRITE_DATA_OFFSET;
	b->req.out = b->mem + page;
	b->req.out_size = lg->se->payload_size;
	b->req.se = lg->se;
	b->req.chan = &lg->chan;
	atomic_fetch_add(&lg->live_bufs, 1);
	return b;
}

static void buf_free(struct furi_legacy *lg, struct legacy_buf *b)
{
	free(b->mem);
	free(b);
	atomic_fetch_sub(&lg->live_bufs, 1);
}

static struct legacy_buf *pool_get(struct furi_legacy *lg)
{
	struct legacy_buf *b;

	pthread_mutex_lock(&lg->pool_lock);
	b = lg->pool;
	if (b)
		lg->pool = b->next;
	pthread_mutex_unlock(&lg->pool_lock);
	return b ? b : buf_alloc(lg);
}

static void pool_put(struct furi_legacy *lg, struct legacy_buf *b)
{
	pthread_mutex_lock(&lg->pool_lock);
	b->next = lg->pool;
	lg->pool = b;
	pthread_mutex_unlock(&lg->pool_lock);
}

static void legacy_send(struct furi_req *req, int error, size_t args_len,
			const void *extra, size_t extra_len)
{
	struct legacy_buf *b = (struct legacy_buf *)req;
	struct furi_legacy *lg = req->se->legacy;

	furi_stats_replied(req->chan, req->opcode, req->t_start, error,
			   sizeof(struct fuse_out_header) + args_len + extra_len);
	if (!req->no_reply && !atomic_load_explicit(&req->se->ended, memory_order_relaxed)) {
		struct fuse_out_header oh = {
			.len = (uint32_t)(sizeof(oh) + args_len + extra_len),
			.error = error,
			.unique = req->unique,
		};
		struct iovec iov[3] = {
			{ &oh, sizeof(oh) }, { req->out, args_len }, { (void *)extra, extra_len },
		};

		/* ENOENT: the kernel gave up on the request (interrupted, aborted). */
		if (writev(b->fd, iov, extra_len ? 3 : 2) < 0 && errno != ENOENT &&
		    errno != ENODEV && errno != ENOTCONN)
			furi_warn("writing reply to /dev/fuse: %s (opcode %u, error %d)",
				  strerror(errno), req->opcode, error);
	}
	if (!furi_req_mark_replied(req))
		pool_put(lg, b);
}

static const struct furi_chan_ops legacy_chan_ops = {
	.send = legacy_send,
	.io_submit = NULL,	/* workers block; there are enough of them */
};

static void serve_one(struct furi_legacy *lg, struct legacy_buf *b, size_t n)
{
	struct furi_session *se = lg->se;
	struct fuse_in_header ih;
	const void *arg;
	const char *data;
	size_t arg_len, data_len;

	atomic_store_explicit(&b->req.state, FURI_REQ_DISPATCHING, memory_order_relaxed);
	memcpy(&ih, b->in, sizeof(ih));
	if (ih.len != n || furi_split_request(se, &ih, b->in + sizeof(ih), n - sizeof(ih), &arg,
					      &arg_len, &data, &data_len)) {
		furi_dispatch_reject(&b->req, &ih);
		return;
	}
	furi_dispatch(&b->req, &ih, arg, arg_len, data, data_len);
}

static void *worker_main(void *arg)
{
	struct legacy_worker *w = arg;
	struct furi_legacy *lg = w->lg;
	struct furi_session *se = lg->se;
	struct legacy_buf *b = pool_get(lg);

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	while (b && !atomic_load_explicit(&se->stopping, memory_order_relaxed)) {
		ssize_t n;

		/* Only the read may be cancelled: never a handler half-way. */
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		n = read(w->fd, b->in, b->in_cap);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ENOENT)
				continue;
			if (errno != ENODEV && errno != ECONNABORTED)
				furi_err("reading /dev/fuse: %s", strerror(errno));
			furi_session_ended(se);
			break;
		}
		if ((size_t)n < sizeof(struct fuse_in_header)) {
			furi_warn("short request from the kernel: %zd bytes", n);
			continue;
		}
		b->fd = w->fd;
		serve_one(lg, b, (size_t)n);
		if (!furi_req_handler_returned(&b->req))
			b = pool_get(lg);	/* the late reply returns the old buffer */
	}
	if (b)
		pool_put(lg, b);
	else
		furi_err("out of memory for a /dev/fuse request buffer");
	return NULL;
}

/* A worker's own fd: a clone of the session's, so reads do not contend. */
static int clone_fd(int master)
{
	uint32_t id = (uint32_t)master;
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ioctl(fd, FUSE_DEV_IOC_CLONE, &id)) {
		close(fd);
		return -1;
	}
	return fd;
}

int furi_legacy_start(struct furi_session *se, unsigned nthreads, char *err, size_t errlen)
{
	struct furi_legacy *lg = calloc(1, sizeof(*lg));
	unsigned i;
	int r;

	if (!lg)
		return furi_seterr(err, errlen, ENOMEM, "out of memory");
	lg->se = se;
	lg->bufsize = se->legacy_bufsize;
	lg->chan.ops = &legacy_chan_ops;
	lg->chan.shared_stats = true;
	lg->chan.stats = se->dev_fuse_stats;
	furi_trace_chan(se, &lg->chan);
	lg->workers = calloc(nthreads, sizeof(*lg->workers));
	if (!lg->chan.stats || !lg->workers) {
		free(lg->workers);
		free(lg);
		return furi_seterr(err, errlen, ENOMEM, "out of memory");
	}
	pthread_mutex_init(&lg->pool_lock, NULL);
	se->legacy = lg;
	se->status->buffer_bytes += (uint64_t)nthreads * (lg->bufsize + FURI_PAGE_SIZE);
	for (i = 0; i < nthreads; i++) {
		struct legacy_worker *w = &lg->workers[i];

		w->lg = lg;
		w->fd = i ? clone_fd(se->fd) : -1;
		w->own_fd = w->fd >= 0;
		if (w->fd < 0)
			w->fd = se->fd;	/* sharing one fd still works, only slower */
		r = pthread_create(&w->thread, NULL, worker_main, w);
		if (r) {
			if (w->own_fd)
				close(w->fd);
			lg->nworkers = i;
			return furi_seterr(err, errlen, r, "cannot start a /dev/fuse worker: %s",
					   strerror(r));
		}
		w->started = true;
		furi_name_thread(w->thread, FURI_THREAD_DEV_FUSE, i);
		lg->nworkers = i + 1;
	}
	return 0;
}

void furi_legacy_stop(struct furi_session *se, bool force)
{
	struct furi_legacy *lg = se->legacy;
	unsigned i;

	if (!lg)
		return;
	for (i = 0; i < lg->nworkers; i++) {
		struct legacy_worker *w = &lg->workers[i];

		if (!w->started)
			continue;
		/* Workers leave by themselves once the connection is gone. */
		if (force || !atomic_load(&se->ended))
			pthread_cancel(w->thread);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
}

void furi_legacy_free(struct furi_session *se)
{
	struct furi_legacy *lg = se->legacy;
	struct legacy_buf *b;
	unsigned i;

	if (!lg)
		return;
	furi_legacy_stop(se, true);
	for (i = 0; i < lg->nworkers; i++)
		if (lg->workers[i].own_fd)
			close(lg->workers[i].fd);
	while ((b = lg->pool)) {
		lg->pool = b->next;
		buf_free(lg, b);
	}
	if (atomic_load(&lg->live_bufs))
		furi_warn("%u /dev/fuse requests were never answered by the filesystem",
			  atomic_load(&lg->live_bufs));
	pthread_mutex_destroy(&lg->pool_lock);
	free(lg->workers);
	free(lg);
	se->legacy = NULL;
}
