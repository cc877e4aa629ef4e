/* SPDX-License-Identifier: MIT */
/*
 * uring_sched.c - the scheduling policies of io_uring queue threads: class
 * (-o sched_idle), placement (-o pin), polling (-o spin_us, io_spin_us), and
 * the guard over all three. See uring_sched.h and docs/ARCHITECTURE.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "uring_sched.h"

/*
 * Why a thread away from its clients polls: the CPU it moved to had no
 * requests of its own for OTHERS_QUIET_NS, so polling takes no client's
 * CPU, and the next requests (sent by a client on another CPU as its
 * replies arrive) need no wake-up, which this VM pays with an IPI exit.
 * Passthrough 4 KiB QD64, one job, with commit slices: 0.72x -> 0.81x of
 * the source (median of 6 interleaved runs).
 */
#define AWAY_SPIN_US	200

/* ------------------------------------------------------------------ guard */

/*
 * Why the guard: SCHED_IDLE, moving away from the client's CPU and polling
 * with sched_yield() are concessions that pay only while the CPUs they give
 * way to, or move to, have nothing else to run. Beside any other work they
 * turn into waiting: a SCHED_IDLE thread runs only when no other task on
 * its CPU wants to, even a nice-19 one; a thread moved away competes with
 * whatever runs there; a thread that yields hands the CPU to the other task
 * for its whole slice. Tuned on an idle machine, the three together made
 * memfs 4 KiB QD64, one job, 5-12x slower beside two CPU-bound nice-19
 * loops than with all of them off (issue 15).
 *
 * So the thread measures what it pays: the kernel's count of the time it
 * spent runnable but waiting for a CPU (/proc/thread-self/schedstat). A
 * client that preempts a SCHED_IDLE thread runs a few microseconds, until
 * it sends its next request and sleeps; another task runs for a scheduler
 * slice, milliseconds. A window in which a concession was in force and the
 * thread waited more than GUARD_WAIT_PER_RUN_NS per time it ran turns every
 * concession off for a backoff that doubles while the other work stays, and
 * starts again at the minimum after a window that paid. The threshold sits
 * between those two scales, which belong to FUSE and to the scheduler, not
 * to one machine. The share of the window spent waiting says nothing: a
 * synchronous client keeps its SCHED_IDLE queue thread waiting for half of
 * it or more (creates, forced GETATTR), which is the point of SCHED_IDLE.
 */
#define GUARD_WINDOW_NS		10000000ull	/* 10 ms */
#define GUARD_WAIT_PER_RUN_NS	200000ull	/* 200 us */
#define GUARD_BACKOFF_MIN_NS	250000000ull	/* 250 ms */
#define GUARD_BACKOFF_MAX_NS	8000000000ull	/* 8 s */

/* Run queue wait and times run so far, from the kernel; false if unknown. */
static bool read_schedstat(int fd, uint64_t *wait_ns, uint64_t *slices)
{
	char buf[96];
	uint64_t run;
	ssize_t n;

	if (fd < 0)
		return false;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return sscanf(buf, "%" SCNu64 " %" SCNu64 " %" SCNu64, &run, wait_ns, slices) == 3;
}

bool uring_sched_starved(uint64_t waited_ns, uint64_t runs)
{
	return runs && waited_ns / runs > GUARD_WAIT_PER_RUN_NS;
}

static bool concessions_allowed(const struct uring_sched *s, uint64_t now)
{
	return now >= s->plain_until_ns;
}

/* In force now: the thread is SCHED_IDLE by its own choice, or away. */
static bool conceding(const struct uring_sched *s)
{
	return (s->sched_auto && s->sched_is_idle) || uring_sched_away(s);
}

static void set_sched_idle(struct uring_sched *s, bool idle);
static void set_pinned(struct uring_sched *s, bool home);

static void guard_window_start(struct uring_sched *s, uint64_t now)
{
	s->window_ns = now;
	s->window_conceded = conceding(s);
	if (!read_schedstat(s->schedstat_fd, &s->window_wait_ns, &s->window_slices))
		s->window_slices = UINT64_MAX;	/* unknown: this window decides nothing */
}

static void guard_check(struct uring_sched *s, uint64_t now)
{
	uint64_t wait_ns, slices, waited, ran;
	bool starved;

	if (s->window_conceded && s->window_slices != UINT64_MAX &&
	    read_schedstat(s->schedstat_fd, &wait_ns, &slices)) {
		waited = wait_ns - s->window_wait_ns;
		ran = slices - s->window_slices;
		starved = uring_sched_starved(waited, ran);
		if (starved) {
			s->plain_until_ns = now + s->backoff_ns;
			furi_dbg("uring thread %u: waited %" PRIu64 " us for a CPU in %" PRIu64
				 " runs: plain for %" PRIu64 " ms", s->index, waited / 1000, ran,
				 s->backoff_ns / 1000000);
			s->backoff_ns = FURI_MIN(s->backoff_ns * 2, GUARD_BACKOFF_MAX_NS);
			if (s->backoffs)
				(*s->backoffs)++;
			if (s->sched_auto && s->sched_is_idle)
				set_sched_idle(s, false);
			if (uring_sched_away(s))
				set_pinned(s, true);
		} else {
			s->backoff_ns = GUARD_BACKOFF_MIN_NS;
		}
	}
	guard_window_start(s, now);
}

/* ------------------------------------------------------- scheduling class */

/*
 * Why SCHED_IDLE: a reply wakes its client while the queue thread still runs
 * on the client's CPU (the kernel routed the request there), so the
 * scheduler sees that CPU busy and moves the client to an idle one; its
 * next request then goes to that CPU's queue, and every synchronous request
 * pays two cross-CPU wake-ups. A CPU that runs only SCHED_IDLE tasks counts
 * as idle for wake-up placement, so the client stays, and it preempts the
 * queue thread at once. Forced GETATTR on nullfs, one unpinned client:
 * 17-21k ops/s normal, 72-76k SCHED_IDLE. When a thread has several
 * requests at once (several clients, deep queues) it must compete for CPU
 * as a normal thread: 4 jobs x QD64 lost up to 30% as SCHED_IDLE.
 */
static void set_sched_idle(struct uring_sched *s, bool idle)
{
	struct sched_param sp = { 0 };

	if (!sched_setscheduler(0, idle ? SCHED_IDLE : SCHED_OTHER, &sp))
		s->sched_is_idle = idle;
	else if (!idle)
		s->sched_auto = false;	/* cannot leave it: stay as it is */
}

/* Quiet this long (one request at a time at most) before SCHED_IDLE. */
#define IDLE_AFTER_NS		5000000ull

/* Normal as soon as a turn brings more than one request, idle after a quiet while. */
static void choose_sched_class(struct uring_sched *s, bool quiet, uint64_t now)
{
	if (!s->sched_auto)
		return;
	if (!quiet) {
		s->busy_ns = now;
		if (s->sched_is_idle)
			set_sched_idle(s, false);
	} else if (!s->sched_is_idle && now - s->busy_ns >= IDLE_AFTER_NS &&
		   concessions_allowed(s, now)) {
		set_sched_idle(s, true);
		s->window_conceded = true;
	}
}

bool uring_sched_can_leave_idle(void)
{
	struct rlimit rl;
	char caps[32];

	if (!getrlimit(RLIMIT_NICE, &rl) && rl.rlim_cur >= 20)
		return true;
	if (furi_proc_status_field("/proc/self/status", "CapEff", caps, sizeof(caps)))
		return false;
	return strtoull(caps, NULL, 16) & (1ull << 23);	/* CAP_SYS_NICE */
}

/*
 * Why the I/O priority is pinned down: a thread without an explicit one
 * submits block I/O at the class its CPU policy implies, and SCHED_IDLE
 * implies IOPRIO_CLASS_IDLE. The backend reads and writes of a SCHED_IDLE
 * queue thread (passthrough, image) reached the disk as idle-class I/O,
 * which mq-deadline and bfq serve only when no other I/O waits (mq-deadline:
 * up to prio_aging_expire, 10 s). The thread keeps the best-effort level its
 * nice value gives it; a server started under ionice or SCHED_IDLE keeps
 * what it was given.
 */
static void keep_io_priority(void)
{
	bool derived;
	int prio = furi_thread_io_priority(0, &derived);

	if (prio < 0 || !derived || IOPRIO_PRIO_CLASS(prio) != IOPRIO_CLASS_BE)
		return;
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio))
		furi_warn("queue thread I/O priority: %s", strerror(errno));
}

/* ---------------------------------------------------------- CPU placement */

/*
 * Why a busy queue thread may leave its CPU: the kernel queues a client's
 * requests on the queue of the client's CPU, so one client with many I/Os in
 * flight (one fio job at QD64) makes its queue thread share that CPU with it
 * while the other CPUs idle; /dev/fuse spreads the same requests over
 * workers on every CPU and was faster (nullfs 4 KiB QD64, one job: 142-159k
 * IOPS pinned against 177-223k on /dev/fuse). While it alone is busy, the
 * thread goes to the other CPUs: 244-257k. Not to every CPU: allowed back on
 * the client's, the scheduler kept it there, and with a disk that completes
 * its requests in bursts the two took turns (a passthrough trace: 64 replies
 * committed, then 64 new requests sent, then 64 disk I/Os submitted, each
 * stage waiting for the last); on another CPU the client resends while the
 * thread still commits (passthrough 4 KiB QD64, one job: 0.69x -> 0.78x of
 * the source, median of 10 interleaved runs). With several busy threads
 * every CPU has clients of its own, and pinned threads keep their requests
 * CPU-local. And only while the other queues have taken no requests for
 * OTHERS_QUIET_NS (a QD1 client paused for a millisecond at times): four
 * QD1 clients, two per CPU, left each thread "alone busy" for moments at a
 * time, and moving it onto the other thread's CPU cost 4 jobs QD1
 * 1.13x -> 0.80x of the source (5 interleaved runs); with this rule 0.96x,
 * one job QD64 keeping its gain. Not much longer: a client that migrates
 * leaves its old queue quiet, and until the window passes the thread of its
 * new queue stays home beside it, which makes the scheduler move it again
 * (one QD64 fio over 10 s sat beside a home thread in most samples): 4 jobs
 * QD1 1.11x at 50 ms, 1.13x at 10 ms; one job QD64 (8 s runs) 0.76x at
 * 50 ms, 0.83x at 10 ms (medians of 4-5 interleaved runs). Looked at once
 * per PLACE_EVERY_NS. The other CPUs being quiet of FUSE requests does not
 * make them idle: other work there is the guard's to notice.
 */
#define PLACE_EVERY_NS		1000000ull
#define CONCURRENT_FOR_NS	2000000ull	/* how long a busy turn counts as busy */
#define OTHERS_QUIET_NS		10000000ull	/* other queues this long without requests */

static void set_pinned(struct uring_sched *s, bool home)
{
	if (!sched_setaffinity(0, sizeof(cpu_set_t), home ? &s->home_cpus : &s->away_cpus))
		s->pinned = home;
	else
		s->pin_auto = false;
}

static void choose_cpus(struct uring_sched *s, bool concurrent, uint64_t now)
{
	uint64_t others;
	bool leave;

	if (!s->pin_auto || (s->pinned && !concurrent))
		return;
	if (concurrent)
		s->concurrent_ns = now;
	if (now - s->placed_ns < PLACE_EVERY_NS)
		return;
	s->placed_ns = now;
	others = s->count_others(s->count_arg);
	if (others != s->others_received)
		s->others_active_ns = now;
	s->others_received = others;
	leave = now - s->others_active_ns >= OTHERS_QUIET_NS &&
		now - s->concurrent_ns < CONCURRENT_FOR_NS && concessions_allowed(s, now);
	if (leave != s->pinned)
		return;
	set_pinned(s, !leave);
	if (leave)
		s->window_conceded = true;
}

/* ----------------------------------------------------------------- polling */

/*
 * How long to busy-poll before sleeping. spin_us: after any work, for the
 * next request. io_spin_us: while this thread's backend I/O is in flight,
 * for its completion, when backend I/O has lately completed within that
 * time (an SSD or a page-cache hit, not a spinning disk); a thread that
 * slept instead pays a wake-up on the request's critical path. The poll
 * yields between looks, so beside other work it waits a slice each time:
 * off while the guard says so.
 */
unsigned uring_sched_spin_budget(struct uring_sched *s, bool recently_busy, unsigned io_inflight,
				 uint64_t io_latency_ns)
{
	const struct furi_config *cfg = s->cfg;
	unsigned us = recently_busy ? cfg->spin_us : 0;

	if (s->plain_until_ns && !concessions_allowed(s, furi_now_ns()))
		return 0;
	if (recently_busy && uring_sched_away(s) && us < AWAY_SPIN_US)
		us = AWAY_SPIN_US;
	if (io_inflight && cfg->io_spin_us > us && io_latency_ns <= (uint64_t)cfg->io_spin_us * 1000)
		us = cfg->io_spin_us;
	if (us)
		s->window_conceded = true;
	return us;
}

/* --------------------------------------------------------------- the turn */

void uring_sched_after_turn(struct uring_sched *s, unsigned turn_requests, unsigned held)
{
	uint64_t now;

	if (!s->sched_auto && !s->pin_auto && !s->window_conceded)
		return;	/* nothing to decide: no clock, no schedstat */
	now = furi_now_ns();
	choose_sched_class(s, turn_requests <= 1 && held == 0, now);
	choose_cpus(s, turn_requests > 1 || held > 1, now);
	if (now - s->window_ns >= GUARD_WINDOW_NS)
		guard_check(s, now);
}

/* ------------------------------------------------------------ life cycle */

void uring_sched_init(struct uring_sched *s, const struct furi_config *cfg, unsigned index,
		      const cpu_set_t *home, bool several_threads, bool can_leave_idle,
		      uint64_t (*count_others)(void *arg), void *count_arg, uint64_t *backoffs)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->index = index;
	s->count_others = count_others;
	s->count_arg = count_arg;
	s->backoffs = backoffs;
	s->schedstat_fd = -1;
	s->backoff_ns = GUARD_BACKOFF_MIN_NS;
	s->sched_auto = cfg->sched_idle == FURI_SCHED_IDLE_AUTO && can_leave_idle;
	s->home_cpus = *home;
	if (cfg->pin == FURI_PIN_NEVER)
		return;
	if (sched_getaffinity(0, sizeof(s->away_cpus), &s->away_cpus))
		return;
	/* Away from home: the CPUs it was started on but its queues' own. */
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, home))
			CPU_CLR(cpu, &s->away_cpus);
	if (CPU_COUNT(&s->away_cpus) == 0)
		sched_getaffinity(0, sizeof(s->away_cpus), &s->away_cpus);
	/* A possible but offline CPU cannot be pinned to: run unpinned then. */
	if (sched_setaffinity(0, sizeof(s->home_cpus), &s->home_cpus)) {
		furi_dbg("uring thread %u: cannot pin: %s", index, strerror(errno));
		return;
	}
	s->pinned = true;
	s->pin_auto = cfg->pin == FURI_PIN_AUTO && several_threads;
}

void uring_sched_start(struct uring_sched *s)
{
	if (s->cfg->sched_idle != FURI_SCHED_IDLE_NEVER)
		keep_io_priority();
	if (s->cfg->sched_idle == FURI_SCHED_IDLE_ALWAYS)
		set_sched_idle(s, true);
	s->schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	if (s->schedstat_fd < 0)
		furi_dbg("uring thread %u: no schedstat (%s): concessions are never withdrawn",
			 s->index, strerror(errno));
	guard_window_start(s, furi_now_ns());
}

void uring_sched_stop(struct uring_sched *s)
{
	if (s->schedstat_fd >= 0)
		close(s->schedstat_fd);
	s->schedstat_fd = -1;
}
