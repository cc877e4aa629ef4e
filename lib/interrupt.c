/* SPDX-License-Identifier: MIT */
/*
 * interrupt.c - FUSE_INTERRUPT. Only requests whose handler asked for it
 * (furi_req_on_interrupt) are listed, so the common path takes no lock.
 * An INTERRUPT that comes before its request registers is remembered in a
 * small ring and honoured at registration.
 *
 * The callback runs without the lock held (it usually replies), and a
 * reply from another thread waits until the callback has returned, so the
 * request cannot be recycled under the callback.
 */
#define _GNU_SOURCE
#include <string.h>

#include "internal.h"

static void list_del(struct furi_session *se, struct furi_req *req)
{
	if (req->int_prev)
		req->int_prev->int_next = req->int_next;
	else
		se->int_list = req->int_next;
	if (req->int_next)
		req->int_next->int_prev = req->int_prev;
	req->int_listed = false;
}

static bool take_pending(struct furi_session *se, uint64_t unique)
{
	unsigned i;

	for (i = 0; i < FURI_ARRAY_SIZE(se->int_pending); i++) {
		if (se->int_pending[i] == unique) {
			se->int_pending[i] = 0;
			return true;
		}
	}
	return false;
}

void furi_interrupt_request(struct furi_session *se, uint64_t unique)
{
	struct furi_req *req;
	void (*fn)(struct furi_req *, void *) = NULL;
	void *arg = NULL;

	pthread_mutex_lock(&se->int_lock);
	for (req = se->int_list; req; req = req->int_next)
		if (req->unique == unique)
			break;
	if (!req) {
		se->int_pending[se->int_pending_next++ % FURI_ARRAY_SIZE(se->int_pending)] = unique;
		pthread_mutex_unlock(&se->int_lock);
		/* Its backend I/O may be on a ring: the queue threads look. */
		furi_uring_interrupted(se);
		return;
	}
	atomic_store(&req->interrupted, true);
	fn = req->int_fn;
	arg = req->int_arg;
	list_del(se, req);
	se->int_running = req;
	se->int_runner = pthread_self();
	pthread_mutex_unlock(&se->int_lock);

	fn(req, arg);

	pthread_mutex_lock(&se->int_lock);
	se->int_running = NULL;
	pthread_cond_broadcast(&se->int_done);
	pthread_mutex_unlock(&se->int_lock);
}

bool furi_interrupt_forget(struct furi_req *req)
{
	struct furi_session *se = req->se;
	bool listed;

	pthread_mutex_lock(&se->int_lock);
	listed = req->int_listed;
	if (listed)
		list_del(se, req);
	while (se->int_running == req && !pthread_equal(se->int_runner, pthread_self()))
		pthread_cond_wait(&se->int_done, &se->int_lock);
	pthread_mutex_unlock(&se->int_lock);
	return listed;
}

void furi_req_on_interrupt(struct furi_req *req,
			   void (*fn)(struct furi_req *req, void *arg), void *arg)
{
	struct furi_session *se = req->se;
	bool already;

	pthread_mutex_lock(&se->int_lock);
	already = take_pending(se, req->unique);
	if (already) {
		atomic_store(&req->interrupted, true);
		se->int_running = req;
		se->int_runner = pthread_self();
	} else {
		req->int_fn = fn;
		req->int_arg = arg;
		req->int_prev = NULL;
		req->int_next = se->int_list;
		if (se->int_list)
			se->int_list->int_prev = req;
		se->int_list = req;
		req->int_listed = true;
	}
	pthread_mutex_unlock(&se->int_lock);
	if (already) {
		fn(req, arg);
		pthread_mutex_lock(&se->int_lock);
		se->int_running = NULL;
		pthread_cond_broadcast(&se->int_done);
		pthread_mutex_unlock(&se->int_lock);
	}
}

bool furi_req_interrupted(struct furi_req *req)
{
	struct furi_session *se = req->se;
	bool pending;

	/* Ending: nobody will read the reply either. */
	if (atomic_load(&req->interrupted) ||
	    atomic_load_explicit(&se->stopping, memory_order_relaxed))
		return true;
	pthread_mutex_lock(&se->int_lock);
	pending = take_pending(se, req->unique);
	pthread_mutex_unlock(&se->int_lock);
	if (pending)
		atomic_store(&req->interrupted, true);
	return pending;
}
