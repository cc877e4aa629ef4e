/* SPDX-License-Identifier: MIT */
/*
 * transport_uring.c - FUSE-over-io_uring: one queue per possible CPU, each
 * with `depth` entries (a header buffer and a payload buffer registered
 * with the kernel), served by threads that own one io_uring each.
 *
 * The rules this file lives by (see docs/ARCHITECTURE.md):
 *  - Buffers are allocated and touched by the thread that serves them, on
 *    its CPU, before INIT is answered; nothing faults later.
 *  - REGISTER goes out only after the INIT reply (earlier ones get EAGAIN).
 *  - The kernel blocks every request until each queue has an entry. If a
 *    REGISTER fails, the queue that failed registers nothing more, so the
 *    ring can never become ready and the kernel serves /dev/fuse instead;
 *    the session says so. A half-ready ring never hangs a mount.
 *  - A ring is touched by its own thread only. A reply from any other
 *    thread is pushed on a lock-free list and the thread is woken by an
 *    eventfd; liburing's SQ is single-producer.
 *  - One loop turn: handle every CQE, queue a COMMIT_AND_FETCH per reply,
 *    then one submit-and-wait.
 *  - Backend I/O of handlers (furi_io_*) goes on the same ring, into and
 *    out of the registered payload buffers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/ioprio.h>
#include <liburing.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "uring_sched.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The low bits of user_data say what completed; pointers are 8-aligned. */
enum {
	TAG_CMD = 0,	/* REGISTER or COMMIT_AND_FETCH of an entry */
	TAG_IO = 1,	/* backend I/O of an entry's request */
	TAG_WAKE = 2,	/* the thread's eventfd: replies from other threads */
	TAG_CANCEL = 3,	/* an ASYNC_CANCEL of an interrupted request's backend I/O */
	TAG_MASK = 7,
};

/* Registered fixed files: /dev/fuse is index 0. */
#define FUSE_FILE_INDEX 0

struct uring_thread;
struct uring_queue;

struct uring_ent {
	struct furi_req req;			/* first: container_of is a cast */
	struct uring_queue *q;
	struct fuse_uring_req_header *hdr;
	char *payload;
	struct iovec iov[2];			/* REGISTER reads these at issue time */
	struct uring_ent *wake_next;		/* in the thread's reply list */
	struct uring_ent *commit_next;		/* in the thread's commits not yet queued */
	/* backend I/O in flight */
	struct furi_io_op io;
	uint64_t io_done_bytes;
	uint64_t io_issued_ns;			/* when the backend I/O was queued */
	unsigned buf_index;			/* its slot in the thread's fixed-buffer table */
	size_t fixed_len;			/* head of its payload registered there */
	bool fixed_refused;			/* the kernel would not register it */
	bool registering;			/* a REGISTER is in flight */
	bool waited_for;			/* its sender sleeps until the reply */
	bool dead;				/* the kernel let go of this entry */
};

struct uring_queue {
	struct furi_chan chan;
	struct uring_thread *thr;
	unsigned qid;
	struct uring_ent *ents;
	struct fuse_uring_req_header *hdrs;
	char *payloads;
	size_t hdrs_len, payloads_len;
	unsigned registered;			/* entries given to the kernel (REGISTER sent) */
	unsigned in_use;			/* of those, out of the kernel's hands: holding a
						 * request, or its commit not yet submitted */
	unsigned committing;			/* commits queued since the last submit */
	unsigned refused;			/* of those, refused by the kernel */
	bool growth_stopped;			/* a REGISTER failed: stay as it is */
};

struct uring_thread {
	struct furi_uring *u;
	unsigned index;
	pthread_t thread;
	bool started;
	struct io_uring ring;
	bool ring_ok;
	unsigned nqueues;
	struct uring_queue **queues;
	unsigned live;				/* entries not dead */
	unsigned total;
	bool torn_down;				/* the kernel tore entries down: connection gone */
	int wake_fd;
	uint64_t wake_buf;
	_Atomic(struct uring_ent *) wake_list;	/* replies from other threads */
	atomic_bool check_interrupts;		/* an INTERRUPT may name our backend I/O */
	struct uring_ent *commits, **commits_tail; /* held back while away, oldest first */
	bool spin_ok;				/* busy recently: spinning may pay */
	unsigned io_inflight;			/* backend I/O SQEs not yet completed */
	uint64_t io_latency_ns;			/* moving average of backend I/O latency */
	unsigned turn_requests;			/* waited-for requests taken this turn */
	unsigned held;				/* waited-for requests taken, not yet replied */
	struct uring_sched sched;		/* class, CPUs, polling */
	bool fixed_ok;				/* it has a (sparse) fixed-buffer table */
	/* startup report */
	int result;
	char why[256];
};

enum uring_phase { PHASE_PREPARE, PHASE_REGISTER, PHASE_ABORT };

struct furi_uring {
	struct furi_session *se;
	unsigned nqueues, nthreads, depth;
	unsigned start;				/* entries each queue registers first */
	_Atomic uint64_t buffer_bytes;		/* of the entries registered, for -o max_buffers */
	size_t payload_size;
	struct uring_queue *queues;
	struct uring_thread *threads;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum uring_phase phase;
	unsigned reported;			/* threads that finished the current phase */
	int fault_qid;				/* test hook: make this queue's REGISTER fail */
	atomic_bool quit;			/* the ring will never serve: threads leave */
	bool can_leave_sched_idle;		/* CAP_SYS_NICE or RLIMIT_NICE >= 20 */
};

static __thread struct uring_thread *current_thread;

/* ---------------------------------------------------------------- startup */

static void report(struct uring_thread *t, int result)
{
	struct furi_uring *u = t->u;

	pthread_mutex_lock(&u->lock);
	t->result = result;
	u->reported++;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

static enum uring_phase wait_phase(struct furi_uring *u, enum uring_phase from)
{
	enum uring_phase p;

	pthread_mutex_lock(&u->lock);
	while (u->phase == from)
		pthread_cond_wait(&u->cond, &u->lock);
	p = u->phase;
	pthread_mutex_unlock(&u->lock);
	return p;
}

static void wait_reports(struct furi_uring *u)
{
	pthread_mutex_lock(&u->lock);
	while (u->reported < u->nthreads)
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
}

static void set_phase(struct furi_uring *u, enum uring_phase p)
{
	pthread_mutex_lock(&u->lock);
	u->phase = p;
	u->reported = 0;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

/*
 * Map and touch memory on this thread: first touch places it on our node.
 * For the headers, which every request reads and the kernel writes.
 */
static void *alloc_touched(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, len, MADV_POPULATE_WRITE))
		memset(p, 0, len);
	return p;
}

/*
 * Payload buffers cost what requests put in them: mapped, not touched, in
 * 4 KiB pages. The kernel hands a queue's free entries out last in, first
 * out, so one synchronous client keeps reusing one entry, and a 4 KiB
 * request touches one page of its 1 MiB; a page is faulted in once, by the
 * copy of the first request that reaches it (task work of this thread, so
 * on this thread's node), never again. Populated up front, in huge pages,
 * an idle memfs mount held 129 MiB on 2 CPUs (64 entries of 1 MiB a queue),
 * 16 GiB on 256.
 */
static void *alloc_lazy(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);	/* one 4 KiB request must not fault in 2 MiB */
	return p;
}

static int queue_alloc(struct uring_thread *t, struct uring_queue *q)
{
	struct furi_uring *u = t->u;
	unsigned i;

	q->hdrs_len = (u->depth * sizeof(struct fuse_uring_req_header) + FURI_PAGE_SIZE - 1) &
		      ~(size_t)(FURI_PAGE_SIZE - 1);
	q->payloads_len = (size_t)u->depth * u->payload_size;
	q->hdrs = alloc_touched(q->hdrs_len);
	q->payloads = alloc_lazy(q->payloads_len);
	q->ents = calloc(u->depth, sizeof(*q->ents));
	if (!q->hdrs || !q->payloads || !q->ents)
		return -ENOMEM;
	for (i = 0; i < u->depth; i++) {
		struct uring_ent *e = &q->ents[i];

		e->q = q;
		e->hdr = &q->hdrs[i];
		e->payload = q->payloads + (size_t)i * u->payload_size;
		e->iov[0] = (struct iovec){ e->hdr, sizeof(*e->hdr) };
		e->iov[1] = (struct iovec){ e->payload, u->payload_size };
		e->req.se = u->se;
		e->req.chan = &q->chan;
		e->req.out = e->payload;
		e->req.out_size = u->payload_size;
	}
	return 0;
}

/*
 * Why fixed buffers, and why a part of one entry at a time: backend I/O into
 * or out of a registered buffer (READ_FIXED, WRITE_FIXED) needs no page
 * pinning per call. But registering pins and populates the whole buffer,
 * and registered at start the payloads of every entry were pinned whether a
 * filesystem ever did backend I/O or not (128 MiB locked by an idle memfs on
 * 2 CPUs). So the table starts empty (sparse: nothing pinned), and an entry
 * registers the head of its payload at its first backend I/O: 64 KiB, or
 * the next power of two that covers the I/O, growing (re-registered) when a
 * larger one comes. memfs and nullfs never pin a page, and 4 KiB I/O at
 * QD64 pins 64 KiB per entry, not 1 MiB. Under RLIMIT_MEMLOCK (non-root)
 * the kernel may refuse: the entry's I/O then goes unregistered, which
 * works the same, a little slower.
 */
#define FIXED_MIN	(64u << 10)

static void fixed_table_setup(struct uring_thread *t)
{
	unsigned i, j, n = 0;

	t->fixed_ok = !io_uring_register_buffers_sparse(&t->ring, t->total);
	if (!t->fixed_ok)
		furi_dbg("uring thread %u: no fixed-buffer table", t->index);
	for (i = 0; i < t->nqueues; i++)
		for (j = 0; j < t->u->depth; j++)
			t->queues[i]->ents[j].buf_index = n++;
}

/* Whether op's buffer may be used as e's fixed buffer, registering enough of it first. */
static bool fixed_buffer(struct uring_thread *t, struct uring_ent *e, const struct furi_io_op *op)
{
	size_t end = (size_t)((char *)op->buf + op->len - e->payload), len = FIXED_MIN;
	struct iovec iov;
	__u64 tag = 0;
	int r;

	if (!t->fixed_ok || e->fixed_refused || (char *)op->buf < e->payload ||
	    end > t->u->payload_size)
		return false;
	if (end <= e->fixed_len)
		return true;
	while (len < end)
		len <<= 1;
	iov = (struct iovec){ e->payload, FURI_MIN(len, t->u->payload_size) };
	r = io_uring_register_buffers_update_tag(&t->ring, e->buf_index, &iov, &tag, 1);
	if (r != 1) {
		e->fixed_refused = true;
		furi_dbg("queue %u: entry payload not registered (%s): unregistered I/O for it",
			 e->q->qid, strerror(-r));
		return false;
	}
	e->fixed_len = iov.iov_len;
	return true;
}

/* The newest first; each next one drops what an older kernel refuses. */
static const unsigned ring_task_flags[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
	0,
};

static int ring_setup(struct uring_thread *t)
{
	struct furi_session *se = t->u->se;
	struct io_uring_params p;
	unsigned entries = 1, i;
	int r = -EINVAL;

	/* Each entry: one command and at most one backend I/O; plus the wake read. */
	while (entries < 2 * t->total + 2)
		entries <<= 1;
	/*
	 * The kernel hands this thread its requests, and the completions of
	 * its backend I/O, as task work. DEFER_TASKRUN keeps that work on the
	 * ring until the thread asks for events (every turn does), so no IPI
	 * interrupts it, which a VM pays for with an exit (17% of a QD64
	 * client's CPU went to them under plain task work, with the queue
	 * thread on the other CPU). Measured against COOP_TASKRUN, which also
	 * spares the IPI but runs the work at any return from the kernel:
	 * passthrough 4 KiB QD64, one job, +8% IOPS (better in 7 of 8
	 * interleaved runs); nullfs QD64 one job +9-20%, forced GETATTR
	 * +6-13%. TASKRUN_FLAG tells a polling thread to enter.
	 */
	for (i = 0; r == -EINVAL && i < FURI_ARRAY_SIZE(ring_task_flags); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128 | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE |
			  ring_task_flags[i];
		p.cq_entries = entries * 2;
		r = io_uring_queue_init_params(entries, &t->ring, &p);
	}
	if (r)
		return r;
	t->ring_ok = true;
	r = io_uring_register_files(&t->ring, &se->fd, 1);
	if (r)
		return r;
	t->wake_fd = eventfd(0, EFD_CLOEXEC);
	return t->wake_fd < 0 ? -errno : 0;
}

static void explain_setup_error(struct uring_thread *t, int r)
{
	struct rlimit rl;
	unsigned disabled = 0;
	FILE *f;

	if (r == -EPERM && (f = fopen("/proc/sys/kernel/io_uring_disabled", "re"))) {
		if (fscanf(f, "%u", &disabled) != 1)
			disabled = 0;
		fclose(f);
	}
	if (r == -EPERM && disabled)
		snprintf(t->why, sizeof(t->why),
			 "io_uring is disabled by sysctl kernel.io_uring_disabled=%u (fix: sysctl -w kernel.io_uring_disabled=0)",
			 disabled);
	else if (r == -ENOMEM && geteuid() != 0 && getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
		 rl.rlim_cur != RLIM_INFINITY)
		/* Without CAP_IPC_LOCK the kernel charges the rings to the user's memlock limit. */
		snprintf(t->why, sizeof(t->why),
			 "io_uring rings need locked memory and RLIMIT_MEMLOCK is %llu KiB (fix: ulimit -l unlimited, or raise memlock in /etc/security/limits.conf)",
			 (unsigned long long)rl.rlim_cur / 1024);
	else if (r == -ENOMEM)
		snprintf(t->why, sizeof(t->why),
			 "not enough memory for queue buffers (fix: a smaller -o queue_depth or -o max_write)");
	else if (r == -ENOSYS)
		snprintf(t->why, sizeof(t->why), "this kernel has no io_uring");
	else
		snprintf(t->why, sizeof(t->why), "io_uring setup failed: %s", strerror(-r));
}

/* ------------------------------------------------------------ submission */

/* The commits queued so far are with the kernel now: their entries are free again. */
static void commits_submitted(struct uring_thread *t)
{
	unsigned i;

	for (i = 0; i < t->nqueues; i++) {
		t->queues[i]->in_use -= t->queues[i]->committing;
		t->queues[i]->committing = 0;
	}
}

static struct io_uring_sqe *get_sqe(struct uring_thread *t)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);

	while (!sqe) {
		/* Full: push what is queued and take another. */
		io_uring_submit(&t->ring);
		commits_submitted(t);
		sqe = io_uring_get_sqe(&t->ring);
	}
	return sqe;
}

static void prep_fuse_cmd(struct uring_thread *t, struct uring_ent *e, uint32_t cmd_op)
{
	struct io_uring_sqe *sqe = get_sqe(t);
	struct fuse_uring_cmd_req *cr;

	/* The 80-byte command area is not cleared by liburing's helpers. */
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->fd = FUSE_FILE_INDEX;
	sqe->cmd_op = cmd_op;
	cr = (struct fuse_uring_cmd_req *)sqe->cmd;
	cr->qid = (uint16_t)e->q->qid;
	if (cmd_op == FUSE_IO_URING_CMD_REGISTER) {
		sqe->addr = (uint64_t)(uintptr_t)e->iov;
		sqe->len = 2;
		/* Test hook: an iovec count the kernel refuses, as a real failure would be. */
		if ((int)e->q->qid == t->u->fault_qid)
			sqe->len = 1;
		e->registering = true;
	} else {
		cr->commit_id = e->req.unique;
		e->q->committing++;
	}
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)e | TAG_CMD);
}

static void arm_wake(struct uring_thread *t)
{
	struct io_uring_sqe *sqe = get_sqe(t);

	io_uring_prep_read(sqe, t->wake_fd, &t->wake_buf, sizeof(t->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)t | TAG_WAKE);
}

/*
 * Why replies go out in slices while away: a disk that completes 64
 * requests in one interrupt hands the thread 64 replies at once, and one
 * submit of 64 COMMIT_AND_FETCH takes ~200 us in the kernel. The client,
 * on another CPU, resends as soon as the first replies reach it, but the
 * thread saw those requests only after the last commit, and their backend
 * I/O waited for it (a passthrough trace: client's first resend 140 us
 * after the interrupt, the thread's first disk I/O 490 us after it). In
 * slices, with the ring's events taken between them, the new requests'
 * disk I/O goes out with the next slice (first disk I/O at 215 us).
 * Passthrough 4 KiB QD64, one job: 0.72x -> 0.77-0.78x of the source
 * (median of 6 interleaved runs). Not at home: there every CPU is busy
 * with clients, and batching is worth more than latency (nullfs 4 jobs
 * QD64 lost up to 40% in slices).
 */
#define COMMIT_SLICE	8

/* The reply is in the entry's buffers; hand the entry back with COMMIT_AND_FETCH. */
static void commit(struct uring_thread *t, struct uring_ent *e)
{
	if (e->waited_for) {
		e->waited_for = false;
		t->held--;
	}
	if (uring_sched_away(&t->sched)) {
		e->commit_next = NULL;
		if (!t->commits)
			t->commits_tail = &t->commits;
		*t->commits_tail = e;
		t->commits_tail = &e->commit_next;
		return;
	}
	prep_fuse_cmd(t, e, FUSE_IO_URING_CMD_COMMIT_AND_FETCH);
}

/* Queue the next slice of held-back commits. */
static void queue_commit_slice(struct uring_thread *t)
{
	unsigned n;

	for (n = 0; t->commits && n < COMMIT_SLICE; n++) {
		struct uring_ent *e = t->commits;

		t->commits = e->commit_next;
		prep_fuse_cmd(t, e, FUSE_IO_URING_CMD_COMMIT_AND_FETCH);
	}
}

static void uring_send(struct furi_req *req, int error, size_t args_len,
		       const void *extra, size_t extra_len)
{
	struct uring_ent *e = (struct uring_ent *)req;
	struct uring_thread *t = e->q->thr;
	struct fuse_out_header *oh = (struct fuse_out_header *)e->hdr->in_out;

	/* On the ring every out argument travels in the payload. */
	if (extra_len)
		memmove(req->out + args_len, extra, extra_len);
	oh->len = (uint32_t)(sizeof(*oh) + args_len + extra_len);
	oh->error = error;
	oh->unique = req->unique;
	e->hdr->ring_ent_in_out.payload_sz = (uint32_t)(args_len + extra_len);

	if (furi_likely(current_thread == t)) {
		furi_stats_replied(req->chan, req->opcode, req->t_start, error, oh->len);
		commit(t, e);
		return;
	}
	/* Another thread: the queue's thread counts and commits it. */
	{
		struct uring_ent *head = atomic_load_explicit(&t->wake_list, memory_order_relaxed);
		uint64_t one = 1;

		do
			e->wake_next = head;
		while (!atomic_compare_exchange_weak_explicit(&t->wake_list, &head, e,
							     memory_order_release,
							     memory_order_relaxed));
		/* Only the push onto an empty list needs to wake the thread. */
		if (!head && write(t->wake_fd, &one, sizeof(one)) < 0)
			furi_err("waking queue thread %u: %s", t->index, strerror(errno));
	}
}

static void drain_wake_list(struct uring_thread *t)
{
	struct uring_ent *e = atomic_exchange_explicit(&t->wake_list, NULL, memory_order_acquire);
	struct uring_ent *rev = NULL;

	/* The list is LIFO; commit in arrival order. */
	while (e) {
		struct uring_ent *next = e->wake_next;

		e->wake_next = rev;
		rev = e;
		e = next;
	}
	for (e = rev; e; e = e->wake_next) {
		struct fuse_out_header *oh = (struct fuse_out_header *)e->hdr->in_out;

		furi_stats_replied(e->req.chan, e->req.opcode, e->req.t_start, oh->error, oh->len);
		commit(t, e);
	}
}

/* Queue e->io on the ring, into or out of the registered payloads when it can. */
static void io_prep(struct uring_thread *t, struct uring_ent *e)
{
	const struct furi_io_op *op = &e->io;
	struct io_uring_sqe *sqe = get_sqe(t);
	bool fixed = fixed_buffer(t, e, op);

	switch (op->kind) {
	case FURI_IO_READ:
		if (fixed)
			io_uring_prep_read_fixed(sqe, op->fd, op->buf, (unsigned)op->len, op->off,
						 (int)e->buf_index);
		else
			io_uring_prep_read(sqe, op->fd, op->buf, (unsigned)op->len, op->off);
		break;
	case FURI_IO_WRITE:
		if (fixed)
			io_uring_prep_write_fixed(sqe, op->fd, op->buf, (unsigned)op->len, op->off,
						  (int)e->buf_index);
		else
			io_uring_prep_write(sqe, op->fd, op->buf, (unsigned)op->len, op->off);
		break;
	case FURI_IO_FSYNC:
		io_uring_prep_fsync(sqe, op->fd, 0);
		break;
	case FURI_IO_FDATASYNC:
		io_uring_prep_fsync(sqe, op->fd, IORING_FSYNC_DATASYNC);
		break;
	case FURI_IO_FALLOCATE:
		io_uring_prep_fallocate(sqe, op->fd, op->mode, op->off, op->len);
		break;
	}
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)e | TAG_IO);
	t->io_inflight++;
	if (t->u->se->cfg.io_spin_us)	/* the latency only decides whether to poll */
		e->io_issued_ns = furi_now_ns();
}

static int uring_io_submit(struct furi_req *req, const struct furi_io_op *op)
{
	struct uring_ent *e = (struct uring_ent *)req;

	if (current_thread != e->q->thr)
		return -EAGAIN;
	e->io = *op;
	e->io_done_bytes = 0;
	io_prep(current_thread, e);
	return 0;
}

static const struct furi_chan_ops uring_chan_ops = {
	.send = uring_send,
	.io_submit = uring_io_submit,
};

/* ------------------------------------------------------------ completion */

static void serve_request(struct uring_ent *e)
{
	struct fuse_in_header ih;
	uint32_t payload_sz = e->hdr->ring_ent_in_out.payload_sz;
	size_t arg_len;

	memcpy(&ih, e->hdr->in_out, sizeof(ih));
	/*
	 * close() sends RELEASE in the background and goes on: it arrives with
	 * the client's next request, and must not make one synchronous client
	 * look like two (that cost creates/s its SCHED_IDLE and its CPU).
	 */
	if (ih.opcode != FUSE_RELEASE && ih.opcode != FUSE_RELEASEDIR) {
		e->waited_for = true;
		e->q->thr->turn_requests++;
		e->q->thr->held++;
	}
	atomic_store_explicit(&e->req.state, FURI_REQ_DISPATCHING, memory_order_relaxed);
	/* len counts the header, the first argument (in op_in) and the payload. */
	if (payload_sz > e->req.out_size || ih.len < sizeof(ih) + payload_sz ||
	    ih.len - sizeof(ih) - payload_sz > FUSE_URING_OP_IN_OUT_SZ) {
		furi_dispatch_reject(&e->req, &ih);
		return;
	}
	arg_len = ih.len - sizeof(ih) - payload_sz;
	furi_dispatch(&e->req, &ih, e->hdr->op_in, arg_len, e->payload, payload_sz);
}

/*
 * Why queues grow: the kernel makes a queue per possible CPU, and a mount
 * whose every queue had queue_depth entries from the start paid for depth on
 * every CPU, used or not. A queue starts with queue_start entries and, when
 * a request arrives on its last free one, registers as many again (up to
 * queue_depth): one client going to QD64 doubles 4 -> 8 -> ... -> 64 within
 * its first few round trips. The kernel gives a new entry the next request
 * that arrives (requests already waiting go to entries as they commit), so
 * nothing waits for growth that would not have waited anyway.
 */
static void register_entry(struct uring_thread *t, struct uring_queue *q)
{
	struct uring_ent *e = &q->ents[q->registered++];

	t->live++;
	prep_fuse_cmd(t, e, FUSE_IO_URING_CMD_REGISTER);
	q->chan.stats->entries = q->registered;
}

/* How many more entries -o max_buffers leaves room for (taken from it), at most want. */
static unsigned take_budget(struct furi_uring *u, unsigned want)
{
	uint64_t have = atomic_load(&u->buffer_bytes), next;

	if (!u->se->cfg.max_buffers)
		return want;
	do {
		uint64_t room = have < u->se->cfg.max_buffers ? u->se->cfg.max_buffers - have : 0;

		want = (unsigned)FURI_MIN((uint64_t)want, room / u->payload_size);
		next = have + (uint64_t)want * u->payload_size;
	} while (want && !atomic_compare_exchange_weak(&u->buffer_bytes, &have, next));
	return want;
}

static void grow(struct uring_thread *t, struct uring_queue *q)
{
	unsigned want = FURI_MIN(q->registered, t->u->depth - q->registered);
	unsigned n = take_budget(t->u, want);

	if (n < want) {
		q->growth_stopped = true;	/* the budget does not come back */
		furi_warn("queue %u stays at %u entries: -o max_buffers=%llu is reached (fix: a "
			  "larger -o max_buffers, or a smaller -o max_write)", q->qid,
			  q->registered + n, (unsigned long long)t->u->se->cfg.max_buffers);
	}
	if (!n)
		return;
	while (n--)
		register_entry(t, q);
	q->chan.stats->growths++;
}

static void entry_dead(struct uring_thread *t, struct uring_ent *e)
{
	if (e->dead)
		return;
	e->dead = true;
	t->live--;
}

static void handle_cmd_cqe(struct uring_thread *t, struct uring_ent *e, int res)
{
	bool was_registering = e->registering;

	e->registering = false;
	if (furi_likely(res == 0)) {
		struct uring_queue *q = e->q;

		if (++q->in_use > q->chan.stats->peak_in_use)
			q->chan.stats->peak_in_use = q->in_use;
		if (furi_unlikely(q->in_use == q->registered) && q->registered < t->u->depth &&
		    !q->growth_stopped && !atomic_load_explicit(&t->u->se->stopping,
								 memory_order_relaxed))
			grow(t, q);
		serve_request(e);
		return;
	}
	switch (res) {
	case -ENOTCONN:
	case -ECONNABORTED:
	case -ENODEV:
	case -ECANCELED:
		/* Teardown: the kernel is done with this entry. */
		t->torn_down = true;
		entry_dead(t, e);
		return;
	case -EAGAIN:
	case -EINTR:
		if (was_registering) {
			prep_fuse_cmd(t, e, FUSE_IO_URING_CMD_REGISTER);
			return;
		}
		break;
	case -ENOENT:
	case -EIO:
		/*
		 * The kernel no longer knew the request (it was aborted or timed
		 * out) and kept the old entry; give it the buffers back as a new one.
		 */
		if (!was_registering && !atomic_load(&t->u->se->stopping)) {
			prep_fuse_cmd(t, e, FUSE_IO_URING_CMD_REGISTER);
			return;
		}
		break;
	default:
		break;
	}
	if (was_registering) {
		/* Counted apart: the entries after it may be registered already. */
		e->q->refused++;
		e->q->growth_stopped = true;
		if (!t->result) {
			t->result = res;
			snprintf(t->why, sizeof(t->why),
				 "FUSE_IO_URING_CMD_REGISTER failed on queue %u with %s",
				 e->q->qid, strerror(-res));
		}
	} else {
		furi_warn("queue %u: COMMIT_AND_FETCH failed: %s", e->q->qid, strerror(-res));
	}
	entry_dead(t, e);
}

static void handle_io_cqe(struct uring_thread *t, struct uring_ent *e, int res)
{
	struct furi_io_op *op = &e->io;

	t->io_inflight--;
	/* Cancelled for an INTERRUPT (cancel_interrupted_io): the request answers EINTR. */
	if (furi_unlikely(res == -ECANCELED || res == -EINTR) &&
	    atomic_load_explicit(&e->req.interrupted, memory_order_relaxed))
		res = -EINTR;
	/* 1/8 weight: a few slow I/Os (a flush) do not turn the spin off. */
	if (t->u->se->cfg.io_spin_us)
		t->io_latency_ns += ((int64_t)(furi_now_ns() - e->io_issued_ns) -
				     (int64_t)t->io_latency_ns) / 8;
	if (op->kind == FURI_IO_WRITE) {
		/* Finish a short write, as a pwrite() loop would. */
		if (res > 0 && (uint64_t)res < op->len) {
			e->io_done_bytes += (uint64_t)res;
			op->buf = (char *)op->buf + res;
			op->len -= (uint64_t)res;
			op->off += (uint64_t)res;
			io_prep(t, e);
			return;
		}
		if (res >= 0 || e->io_done_bytes)
			res = (int)(e->io_done_bytes + (uint64_t)(res > 0 ? res : 0));
	}
	furi_io_complete(&e->req, res);
}

/*
 * The kernel interrupted requests that were not waiting for it by callback
 * (furi_uring_interrupted): cancel the backend I/O of ours. The entry is
 * committed only from the I/O's own completion (ECANCELED, turned into
 * EINTR, or its result if it finished first), so the kernel never writes a
 * cancelled read into an entry that went back to it.
 */
static void cancel_interrupted_io(struct uring_thread *t)
{
	unsigned i, j;

	atomic_store(&t->check_interrupts, false);
	for (i = 0; i < t->nqueues; i++) {
		for (j = 0; j < t->u->depth; j++) {
			struct uring_ent *e = &t->queues[i]->ents[j];
			struct io_uring_sqe *sqe;

			/* On this thread, io_done set means the I/O is on the ring. */
			if (!e->req.io_done || atomic_load(&e->req.interrupted) ||
			    !furi_req_interrupted(&e->req))
				continue;
			sqe = get_sqe(t);
			io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)e | TAG_IO, 0);
			io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)e | TAG_CANCEL);
		}
	}
}

void furi_uring_interrupted(struct furi_session *se)
{
	struct furi_uring *u = se->uring;
	unsigned i;

	if (!u || !se->uring_active)
		return;
	for (i = 0; i < u->nthreads; i++) {
		struct uring_thread *t = &u->threads[i];
		uint64_t one = 1;

		atomic_store(&t->check_interrupts, true);
		if (write(t->wake_fd, &one, sizeof(one)) < 0)
			furi_warn("waking queue thread %u: %s", i, strerror(errno));
	}
}

/* Handle every completion available now. Returns how many. */
static unsigned reap(struct uring_thread *t)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&t->ring, head, cqe) {
		uint64_t data = io_uring_cqe_get_data64(cqe);
		void *p = (void *)(uintptr_t)(data & ~(uint64_t)TAG_MASK);
		int res = cqe->res;

		n++;
		switch (data & TAG_MASK) {
		case TAG_CMD:
			handle_cmd_cqe(t, p, res);
			break;
		case TAG_IO:
			handle_io_cqe(t, p, res);
			break;
		case TAG_WAKE:
			if (res >= 0 && !atomic_load(&t->u->se->stopping))
				arm_wake(t);
			drain_wake_list(t);
			if (furi_unlikely(atomic_load_explicit(&t->check_interrupts,
							       memory_order_relaxed)))
				cancel_interrupted_io(t);
			break;
		case TAG_CANCEL:
			/* The I/O's own CQE follows (or came first) and answers the request. */
			break;
		}
	}
	io_uring_cq_advance(&t->ring, n);
	return n;
}

/*
 * Poll the CQ for up to spin_us. sched_yield() between polls: a client on
 * this CPU that became runnable (the next request's sender) runs first.
 */
static bool spin_for_work(struct uring_thread *t, unsigned spin_us)
{
	uint64_t deadline = furi_now_ns() + (uint64_t)spin_us * 1000;

	do {
		/* Requests and completions queued as task work need a kernel entry. */
		if (IO_URING_READ_ONCE(*t->ring.sq.kflags) & IORING_SQ_TASKRUN)
			io_uring_get_events(&t->ring);
		if (io_uring_cq_ready(&t->ring) ||
		    atomic_load_explicit(&t->wake_list, memory_order_relaxed))
			return true;
		sched_yield();
	} while (furi_now_ns() < deadline);
	if (!t->io_inflight)
		t->spin_ok = false;	/* idle: sleep next time until work comes back */
	return false;
}

/* Requests the queues of the other threads took so far (for -o pin=auto). */
static uint64_t count_others(void *arg)
{
	struct uring_thread *t = arg;
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; i < t->u->nqueues; i++)
		if (t->u->queues[i].thr != t)
			sum += atomic_load_explicit((_Atomic uint64_t *)&t->u->queues[i].chan.stats->received,
						    memory_order_relaxed);
	return sum;
}

static void serve_loop(struct uring_thread *t)
{
	struct furi_session *se = t->u->se;

	while (t->live > 0 && !atomic_load_explicit(&se->stopping, memory_order_relaxed) &&
	       !atomic_load_explicit(&t->u->quit, memory_order_relaxed)) {
		unsigned n, spin_us;

		if (t->commits) {
			/* The ring's events between slices: see COMMIT_SLICE. */
			queue_commit_slice(t);
			io_uring_submit_and_get_events(&t->ring);
			commits_submitted(t);
			if (reap(t))
				t->spin_ok = true;
			continue;	/* the same turn, until every reply is out */
		}
		spin_us = uring_sched_spin_budget(&t->sched, t->spin_ok, t->io_inflight,
						  t->io_latency_ns);
		/*
		 * Submit before spinning: the spin waits for the results of what
		 * this turn queued (replies, backend I/O), so it must be on its way.
		 */
		if (spin_us) {
			io_uring_submit(&t->ring);
			commits_submitted(t);
			if (!spin_for_work(t, spin_us))
				io_uring_submit_and_wait(&t->ring, 1);
		} else {
			io_uring_submit_and_wait(&t->ring, 1);
		}
		commits_submitted(t);
		n = reap(t);
		if (n)
			t->spin_ok = true;
		uring_sched_after_turn(&t->sched, t->turn_requests, t->held);
		t->turn_requests = 0;
	}
	/*
	 * Every entry gone by teardown means the connection is gone. A thread
	 * whose entries were refused at REGISTER just has nothing to serve.
	 */
	if (t->live == 0 && t->torn_down)
		furi_session_ended(se);
}

/* Send the first REGISTERs and learn at once which ones the kernel refused. */
static void register_entries(struct uring_thread *t)
{
	struct furi_uring *u = t->u;
	unsigned i, j;

	t->result = 0;
	for (i = 0; i < t->nqueues; i++) {
		struct uring_queue *q = t->queues[i];
		/* The fault hook sends one bad REGISTER and nothing else for its queue. */
		unsigned n = (int)q->qid == u->fault_qid ? 1 : u->start;

		if (n == 1 && (int)q->qid == u->fault_qid)
			q->growth_stopped = true;
		for (j = 0; j < n; j++)
			register_entry(t, q);
		/* The first entries are owed whatever the budget: the ring needs them. */
		atomic_fetch_add(&u->buffer_bytes, (uint64_t)n * u->payload_size);
	}
	arm_wake(t);
	/* REGISTER failures complete inline, so they are visible right after submit. */
	io_uring_submit(&t->ring);
	reap(t);
}

static void *uring_thread_main(void *arg)
{
	struct uring_thread *t = arg;
	struct furi_uring *u = t->u;
	cpu_set_t home;
	unsigned i;
	int r = 0;

	current_thread = t;
	CPU_ZERO(&home);
	for (i = 0; i < t->nqueues; i++)
		CPU_SET(t->queues[i]->qid, &home);
	uring_sched_init(&t->sched, &u->se->cfg, t->index, &home, u->nthreads > 1,
			 u->can_leave_sched_idle, count_others, t,
			 &t->queues[0]->chan.stats->sched_backoffs);
	for (i = 0; i < t->nqueues && !r; i++)
		r = queue_alloc(t, t->queues[i]);
	if (!r)
		r = ring_setup(t);
	if (r) {
		explain_setup_error(t, r);
		report(t, r);
		return NULL;
	}
	fixed_table_setup(t);
	report(t, 0);

	if (wait_phase(u, PHASE_PREPARE) != PHASE_REGISTER)
		return NULL;
	register_entries(t);
	report(t, t->result);
	uring_sched_start(&t->sched);
	serve_loop(t);
	uring_sched_stop(&t->sched);
	return NULL;
}

/* --------------------------------------------------------------- control */

static int fault_qid_from_env(void)
{
	const char *f = getenv("FURI_FAULT");

	/* FURI_FAULT=register:QID makes QID's REGISTER fail, to test the fallback. */
	if (f && !strncmp(f, "register:", 9))
		return atoi(f + 9);
	return -1;
}

int furi_uring_prepare(struct furi_session *se, char *why, size_t whylen)
{
	struct furi_uring *u = calloc(1, sizeof(*u));
	unsigned i, nthreads;
	int r = 0;

	if (!u)
		return furi_seterr(why, whylen, ENOMEM, "out of memory");
	u->se = se;
	u->nqueues = furi_possible_cpus();
	nthreads = se->cfg.uring_threads ? FURI_MIN(se->cfg.uring_threads, u->nqueues)
					 : u->nqueues;
	u->nthreads = nthreads;
	u->depth = se->cfg.queue_depth;
	u->start = FURI_MIN(FURI_MAX(se->cfg.queue_start, 1u), u->depth);
	u->payload_size = se->payload_size;
	u->fault_qid = fault_qid_from_env();
	u->can_leave_sched_idle = uring_sched_can_leave_idle();
	u->queues = calloc(u->nqueues, sizeof(*u->queues));
	u->threads = calloc(nthreads, sizeof(*u->threads));
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	se->uring = u;
	if (!u->queues || !u->threads) {
		furi_uring_free(se);
		return furi_seterr(why, whylen, ENOMEM, "out of memory");
	}
	for (i = 0; i < nthreads; i++) {
		struct uring_thread *t = &u->threads[i];

		t->u = u;
		t->index = i;
		t->wake_fd = -1;
		t->queues = calloc(u->nqueues / nthreads + 1, sizeof(*t->queues));
		if (!t->queues) {
			furi_uring_free(se);
			return furi_seterr(why, whylen, ENOMEM, "out of memory");
		}
	}
	for (i = 0; i < u->nqueues; i++) {
		struct uring_queue *q = &u->queues[i];
		struct uring_thread *t = &u->threads[i % nthreads];
		char name[16];

		snprintf(name, sizeof(name), "queue%u", i);
		q->qid = i;
		q->thr = t;
		q->chan.ops = &uring_chan_ops;
		q->chan.stats = furi_status_chan(se, name, FURI_CHAN_URING, (int)i);
		furi_trace_chan(se, &q->chan);
		if (!q->chan.stats) {
			furi_uring_free(se);
			return furi_seterr(why, whylen, ENOMEM, "status file too small");
		}
		t->queues[t->nqueues++] = q;
		t->total += u->depth;
	}
	for (i = 0; i < nthreads; i++) {
		struct uring_thread *t = &u->threads[i];

		r = pthread_create(&t->thread, NULL, uring_thread_main, t);
		if (r) {
			u->nthreads = i;	/* only these report */
			wait_reports(u);
			furi_uring_free(se);
			return furi_seterr(why, whylen, r, "cannot start a queue thread: %s",
					   strerror(r));
		}
		t->started = true;
		furi_name_thread(t->thread, FURI_THREAD_URING, i);
	}
	wait_reports(u);
	for (i = 0; i < nthreads; i++) {
		if (u->threads[i].result) {
			r = u->threads[i].result;
			snprintf(why, whylen, "%s", u->threads[i].why);
			furi_uring_free(se);
			return r;
		}
	}
	se->status->queues = u->nqueues;
	se->status->uring_threads = nthreads;
	se->status->depth = u->depth;
	se->status->depth_start = u->start;
	se->status->payload_bytes = u->payload_size;
	for (i = 0; i < u->nqueues; i++)
		se->status->buffer_bytes += u->queues[i].payloads_len + u->queues[i].hdrs_len;
	return 0;
}

int furi_uring_start(struct furi_session *se, char *why, size_t whylen)
{
	struct furi_uring *u = se->uring;
	unsigned i, empty_queues = 0;
	int r = 0;

	set_phase(u, PHASE_REGISTER);
	wait_reports(u);
	for (i = 0; i < u->nthreads; i++) {
		if (u->threads[i].result && !r) {
			r = u->threads[i].result;
			snprintf(why, whylen, "%s", u->threads[i].why);
		}
	}
	for (i = 0; i < u->nqueues; i++)
		if (u->queues[i].registered == u->queues[i].refused)
			empty_queues++;
	if (!r)
		return 0;
	if (!empty_queues) {
		/* Every queue got entries, so the ring did become ready: it serves. */
		furi_warn("%s; the other entries serve", why);
		return 0;
	}
	/*
	 * The kernel fell back to /dev/fuse when the REGISTER failed, and the
	 * ring can never become ready: its threads and buffers go now (the
	 * caller frees the rest), not at unmount. The entries the kernel took
	 * are cancelled when the rings exit.
	 */
	atomic_store(&u->quit, true);
	return r;
}

void furi_uring_stop(struct furi_session *se)
{
	struct furi_uring *u = se->uring;
	unsigned i;

	if (!u)
		return;
	if (u->phase == PHASE_PREPARE)
		set_phase(u, PHASE_ABORT);
	for (i = 0; i < u->nthreads; i++) {
		struct uring_thread *t = &u->threads[i];
		uint64_t one = 1;

		if (!t->started)
			continue;
		if (t->wake_fd >= 0 && write(t->wake_fd, &one, sizeof(one)) < 0)
			furi_warn("waking queue thread %u: %s", i, strerror(errno));
		pthread_join(t->thread, NULL);
		t->started = false;
	}
}

void furi_uring_free(struct furi_session *se)
{
	struct furi_uring *u = se->uring;
	unsigned i;

	if (!u)
		return;
	furi_uring_stop(se);
	for (i = 0; u->threads && i < u->nthreads; i++) {
		struct uring_thread *t = &u->threads[i];

		/* Exiting the ring cancels whatever the kernel still holds. */
		if (t->ring_ok)
			io_uring_queue_exit(&t->ring);
		if (t->wake_fd >= 0)
			close(t->wake_fd);
		free(t->queues);
	}
	if (se->status->queues) {	/* prepared: its facts no longer hold */
		se->status->queues = 0;
		se->status->uring_threads = 0;
		se->status->depth = 0;
		se->status->depth_start = 0;
		se->status->payload_bytes = 0;
		for (i = 0; i < u->nqueues; i++)
			se->status->buffer_bytes -= u->queues[i].payloads_len + u->queues[i].hdrs_len;
	}
	for (i = 0; u->queues && i < u->nqueues; i++) {
		struct uring_queue *q = &u->queues[i];

		if (q->payloads)
			munmap(q->payloads, q->payloads_len);
		if (q->hdrs)
			munmap(q->hdrs, q->hdrs_len);
		free(q->ents);
	}
	free(u->queues);
	free(u->threads);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
	se->uring = NULL;
}
