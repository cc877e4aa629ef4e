/* SPDX-License-Identifier: MIT */
/*
 * uring_sched.h - how and where an io_uring queue thread runs: its
 * scheduling class (-o sched_idle), its CPUs (-o pin), whether it polls
 * before sleeping (-o spin_us, -o io_spin_us), and the guard that turns
 * these concessions off while other work keeps the thread waiting for a CPU.
 *
 * The ring loop (transport_uring.c) calls in at three points: when the
 * thread starts, for the spin budget before it sleeps, and after each turn.
 * Everything here runs on the queue thread itself, so nothing is locked.
 */
#ifndef FURI_URING_SCHED_H
#define FURI_URING_SCHED_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

struct furi_config;

struct uring_sched {
	const struct furi_config *cfg;
	unsigned index;				/* the thread's, for messages */
	/* -o sched_idle */
	bool sched_auto;			/* switches between the classes */
	bool sched_is_idle;			/* runs as SCHED_IDLE now */
	uint64_t busy_ns;			/* last turn with more than one request */
	/* -o pin */
	bool pin_auto;				/* may leave its CPUs while it alone is busy */
	bool pinned;				/* on its queues' CPUs now */
	cpu_set_t home_cpus;			/* its queues' CPUs */
	cpu_set_t away_cpus;			/* where it goes while it alone is busy */
	uint64_t concurrent_ns;			/* last turn with several requests in hand */
	uint64_t placed_ns;			/* last look at the other threads */
	uint64_t others_received;		/* their queues' requests at that look */
	uint64_t others_active_ns;		/* last look that found them changed */
	uint64_t (*count_others)(void *arg);	/* requests the other threads' queues took */
	void *count_arg;
	/* the guard */
	int schedstat_fd;			/* /proc/thread-self/schedstat, or -1 */
	uint64_t window_ns;			/* when the current window began */
	uint64_t window_wait_ns;		/* run queue wait at its start */
	uint64_t window_slices;			/* times run at its start */
	bool window_conceded;			/* a concession was in force in it */
	uint64_t plain_until_ns;		/* concessions off until then */
	uint64_t backoff_ns;			/* how long the next backoff lasts */
	uint64_t *backoffs;			/* counter in the status file */
};

/*
 * Set up s for the calling thread and pin it to home (its queues' CPUs)
 * unless -o pin=never. Call first, before the thread touches its buffers,
 * so that they are placed on its node. can_leave_idle: from
 * uring_sched_can_leave_idle(). backoffs: a counter the guard increments.
 */
void uring_sched_init(struct uring_sched *s, const struct furi_config *cfg, unsigned index,
		      const cpu_set_t *home, bool several_threads, bool can_leave_idle,
		      uint64_t (*count_others)(void *arg), void *count_arg, uint64_t *backoffs);
/* Once its entries are registered: the initial class, the I/O priority, the guard. */
void uring_sched_start(struct uring_sched *s);
/* The thread is leaving its loop. */
void uring_sched_stop(struct uring_sched *s);

/*
 * The guard's verdict on a window: the thread waited waited_ns for a CPU over
 * runs times it ran. True when other work, not its clients, kept it waiting.
 */
bool uring_sched_starved(uint64_t waited_ns, uint64_t runs);

/* Whether this process may go back from SCHED_IDLE to SCHED_OTHER (once per session). */
bool uring_sched_can_leave_idle(void);

/* Moved off its clients' CPUs (pin=auto). */
static inline bool uring_sched_away(const struct uring_sched *s)
{
	return s->pin_auto && !s->pinned;
}

/*
 * Microseconds to poll for work before sleeping. recently_busy: the thread
 * found work lately; io_inflight and io_latency_ns: its backend I/O.
 */
unsigned uring_sched_spin_budget(struct uring_sched *s, bool recently_busy, unsigned io_inflight,
				 uint64_t io_latency_ns);

/*
 * After each turn: turn_requests waited-for requests arrived in it, and
 * held are in hand, not yet answered. Decides class and CPUs.
 */
void uring_sched_after_turn(struct uring_sched *s, unsigned turn_requests, unsigned held);

#endif /* FURI_URING_SCHED_H */
