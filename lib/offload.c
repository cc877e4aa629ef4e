/* SPDX-License-Identifier: MIT */
/*
 * offload.c - handlers that may block (furi_ops.may_block) run on helper
 * threads, so the queue thread goes on receiving and answering the other
 * requests of its queue.
 *
 * A job is a copy of the request: its own struct furi_req, a copy of the
 * request's data and its own reply area, on a channel of its own whose send
 * copies the reply into the transport's request and sends that (on the ring
 * through the queue's lock-free reply list). Nothing of the transport's
 * entry is touched by the handler, so the entry can be answered EINTR when
 * the kernel interrupts the request and go back to the kernel at once,
 * while the handler is still stuck in its system call; its late reply is
 * then dropped, and what it granted is taken back (the lookup count of an
 * entry, the handle of an open file).
 *
 * A job holds three references: the helper (until the handler returned),
 * the reply (until the handler's one reply was sent or dropped) and the
 * interrupt listener on the transport's request (until the callback ran or
 * was cancelled). The last one frees it.
 *
 * Helpers are started when a job is queued and none is idle, up to
 * FURI_BLOCKING_THREADS_MAX, and end after HELPER_IDLE_S idle seconds, all
 * but one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define HELPER_IDLE_S 5
#define FURI_THREAD_HELPER "furi-block"

/* Requests that must stay on the queue thread: no handler, or the transport's own. */
#define ALWAYS_INLINE (FURI_BLOCKS(FUSE_FORGET) | FURI_BLOCKS(FUSE_BATCH_FORGET) |		      \
		       FURI_BLOCKS(FUSE_INTERRUPT) | FURI_BLOCKS(FUSE_INIT) |	      \
		       FURI_BLOCKS(FUSE_DESTROY) | FURI_BLOCKS(FUSE_NOTIFY_REPLY) | 1ULL)

/* The smallest reply area a job gets: room for any fixed reply and a symlink target. */
#define JOB_OUT_MIN 8192u

struct offload_job {
	struct furi_req req;		/* the handler's request: first, a cast finds the job */
	struct furi_chan chan;		/* req's channel: job_send() */
	struct furi_chan_ops chan_ops;
	struct furi_req *orig;		/* the transport's request; NULL: nobody waits */
	_Atomic bool answered;		/* orig has its reply: the handler's, or EINTR */
	_Atomic unsigned refs;
	struct offload_job *next;	/* in the queue */
	struct fuse_in_header ih;
	union furi_op_arg a;
	char *data;			/* a copy of the request's data, after the job */
	size_t data_len;
};

struct furi_offload {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* a job was queued, or quit */
	pthread_cond_t gone;		/* a helper ended */
	struct offload_job *head, **tail;
	unsigned queued, idle, threads, started;
	bool quit;
};

static void job_put(struct offload_job *job)
{
	if (atomic_fetch_sub_explicit(&job->refs, 1, memory_order_acq_rel) == 1)
		free(job);
}

/* The bytes a handler may write into its reply area for this request. */
static size_t job_out_size(const struct furi_req *orig, const struct fuse_in_header *ih,
			   const union furi_op_arg *a)
{
	size_t asked = 0;

	switch (ih->opcode) {
	case FUSE_READ:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
		asked = a->read.size;
		break;
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
		asked = a->getxattr.size;
		break;
	case FUSE_IOCTL:
		asked = a->ioctl.out_size + sizeof(struct fuse_ioctl_out);
		break;
	}
	return FURI_MIN(orig->out_size, FURI_MAX(asked, (size_t)JOB_OUT_MIN));
}

static void job_send(struct furi_req *req, int error, size_t args_len,
		     const void *extra, size_t extra_len);

static struct offload_job *job_new(struct furi_req *orig, const struct furi_req *like,
				   const struct fuse_in_header *ih, const union furi_op_arg *a,
				   const char *data, size_t data_len, size_t out_size)
{
	struct offload_job *job;
	size_t head = (sizeof(*job) + data_len + 63) & ~(size_t)63;

	job = malloc(head + out_size);
	if (!job)
		return NULL;
	memset(job, 0, sizeof(*job));
	job->req = *like;
	job->req.chan = &job->chan;
	job->req.out = (char *)job + head;
	job->req.out_size = out_size;
	atomic_store_explicit(&job->req.state, FURI_REQ_DISPATCHING, memory_order_relaxed);
	atomic_store_explicit(&job->req.interrupted, false, memory_order_relaxed);
	job->req.io_done = NULL;
	job->req.int_fn = NULL;
	job->req.int_listed = false;
	job->chan_ops.send = job_send;	/* io_submit NULL: furi_io_*() runs the call at once */
	job->chan.ops = &job->chan_ops;
	/* The queue's counters have one writer; a rare malformed count may race. */
	job->chan.stats = like->chan->stats;
	job->chan.shared_stats = true;
	job->orig = orig;
	job->ih = *ih;
	job->a = *a;
	job->data = (char *)(job + 1);
	job->data_len = data_len;
	if (data_len)
		memcpy(job->data, data, data_len);
	return job;
}

/*
 * A reply nobody will see: give back what it granted, as the kernel would
 * have with FORGET and RELEASE. Runs on the thread that replied.
 */
static void job_undo(struct offload_job *job, int error)
{
	struct furi_session *se = job->req.se;
	const struct fuse_entry_out *eo = (const struct fuse_entry_out *)job->req.out;
	const struct fuse_open_out *oo = (const struct fuse_open_out *)job->req.out;
	uint64_t ino = job->ih.nodeid;
	bool entry = false, open = false;

	if (error || job->req.no_reply)
		return;
	switch (job->ih.opcode) {
	case FUSE_LOOKUP:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_SYMLINK:
	case FUSE_LINK:
		entry = true;
		break;
	case FUSE_CREATE:
	case FUSE_TMPFILE:
		entry = open = true;
		oo = (const struct fuse_open_out *)(eo + 1);
		break;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		open = true;
		break;
	}
	if (entry)
		ino = eo->nodeid;
	if (open && ino) {
		struct fuse_in_header ih = job->ih;
		union furi_op_arg a;
		struct offload_job *rel;

		memset(&a, 0, sizeof(a));
		a.release.fh = oo->fh;
		a.release.flags = job->ih.opcode == FUSE_OPEN || job->ih.opcode == FUSE_OPENDIR
					  ? job->a.open.flags : job->a.create.flags;
		ih.opcode = job->ih.opcode == FUSE_OPENDIR ? FUSE_RELEASEDIR : FUSE_RELEASE;
		ih.nodeid = ino;
		rel = job_new(NULL, &job->req, &ih, &a, NULL, 0, JOB_OUT_MIN);
		if (rel) {
			atomic_store_explicit(&rel->refs, 2, memory_order_relaxed);
			rel->req.opcode = ih.opcode;
			rel->req.nodeid = ino;
			furi_dispatch_op(&rel->req, &rel->ih, &rel->a, NULL, 0);
			job_put(rel);
		} else {
			furi_warn("out of memory releasing handle %llu of a dropped reply",
				  (unsigned long long)oo->fh);
		}
	}
	if (entry && ino && se->ops->forget)
		se->ops->forget(se->fs, ino, 1);
}

/* The handler's reply: to the transport's request, unless that was answered already. */
static void job_send(struct furi_req *req, int error, size_t args_len,
		     const void *extra, size_t extra_len)
{
	struct offload_job *job = (struct offload_job *)req;
	struct furi_req *orig = job->orig;

	if (orig && !atomic_exchange(&job->answered, true)) {
		/* The callback can no longer run; if it was listed, its reference is ours. */
		if (furi_interrupt_forget(orig))
			job_put(job);
		memcpy(orig->out, req->out, args_len);
		if (req->no_reply)
			furi_reply_none(orig);
		else
			furi_reply_send(orig, error, args_len, extra, extra_len);
	} else {
		furi_dbg("dropped the late reply (error %d) of interrupted request %llu", error,
			 (unsigned long long)req->unique);
		job_undo(job, error);
	}
	job_put(job);
}

/* The kernel interrupted the request: answer it EINTR now, tell the handler. */
static void job_interrupted(struct furi_req *orig, void *arg)
{
	struct offload_job *job = arg;

	atomic_store(&job->req.interrupted, true);
	if (!atomic_exchange(&job->answered, true))
		furi_reply_err(orig, EINTR);
	job_put(job);
}

static void run_job(struct offload_job *job)
{
	/* Answered before it started (interrupted early): the handler has nothing to do. */
	if (atomic_load(&job->answered) && job->orig) {
		job_put(job);	/* the reply's */
		job_put(job);	/* ours */
		return;
	}
	furi_dispatch_op(&job->req, &job->ih, &job->a, job->data, job->data_len);
	job_put(job);
}

static void *helper_main(void *arg)
{
	struct furi_offload *o = arg;

	pthread_mutex_lock(&o->lock);
	for (;;) {
		struct offload_job *job;

		while (!o->head && !o->quit) {
			struct timespec until;
			int r;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += HELPER_IDLE_S;
			o->idle++;
			r = pthread_cond_timedwait(&o->work, &o->lock, &until);
			o->idle--;
			if (r == ETIMEDOUT && !o->head && o->threads > 1)
				goto out;
		}
		job = o->head;
		if (!job)
			break;	/* quit, and nothing left to run */
		o->head = job->next;
		if (!o->head)
			o->tail = &o->head;
		o->queued--;
		pthread_mutex_unlock(&o->lock);
		run_job(job);
		pthread_mutex_lock(&o->lock);
	}
out:
	o->threads--;
	pthread_cond_broadcast(&o->gone);
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

/* With o->lock held: one more helper, if the cap allows. */
static void start_helper(struct furi_offload *o)
{
	pthread_attr_t attr;
	pthread_t thread;

	if (o->threads >= FURI_BLOCKING_THREADS_MAX)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&thread, &attr, helper_main, o) == 0) {
		o->threads++;
		furi_name_thread(thread, FURI_THREAD_HELPER, o->started++);
	}
	pthread_attr_destroy(&attr);
}

int furi_offload(struct furi_req *req, const struct fuse_in_header *ih,
		 const union furi_op_arg *a, const char *data, size_t data_len)
{
	struct furi_offload *o = req->se->offload;
	struct offload_job *job;

	if (furi_unlikely(!o))
		return -ENOMEM;
	job = job_new(req, req, ih, a, data, data_len, job_out_size(req, ih, a));
	if (!job)
		return -ENOMEM;
	atomic_store_explicit(&job->refs, 3, memory_order_relaxed);
	/* May run job_interrupted at once, if the INTERRUPT came first. */
	furi_req_on_interrupt(req, job_interrupted, job);

	pthread_mutex_lock(&o->lock);
	job->next = NULL;
	*o->tail = job;
	o->tail = &job->next;
	o->queued++;
	if (o->queued > o->idle)
		start_helper(o);
	pthread_cond_signal(&o->work);
	if (!o->threads) {
		/* Not one helper could start: run it here rather than never. */
		o->queued = 0;
		o->head = NULL;
		o->tail = &o->head;
		pthread_mutex_unlock(&o->lock);
		furi_warn("no helper thread for a blocking handler: running it inline");
		run_job(job);
		return 0;
	}
	pthread_mutex_unlock(&o->lock);
	return 0;
}

int furi_offload_init(struct furi_session *se)
{
	struct furi_offload *o;

	uint64_t may_block = se->ops->may_block & ~ALWAYS_INLINE;

	se->not_inline = may_block | FURI_BLOCKS(FUSE_INIT);
	if (!may_block)
		return 0;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->work, NULL);
	pthread_cond_init(&o->gone, NULL);
	o->tail = &o->head;
	se->offload = o;
	return 0;
}

void furi_offload_stop(struct furi_session *se)
{
	struct furi_offload *o = se->offload;

	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	o->quit = true;
	pthread_cond_broadcast(&o->work);
	while (o->threads)
		pthread_cond_wait(&o->gone, &o->lock);
	pthread_mutex_unlock(&o->lock);
}

void furi_offload_free(struct furi_session *se)
{
	struct furi_offload *o = se->offload;

	if (!o)
		return;
	furi_offload_stop(se);
	pthread_cond_destroy(&o->gone);
	pthread_cond_destroy(&o->work);
	pthread_mutex_destroy(&o->lock);
	free(o);
	se->offload = NULL;
}
