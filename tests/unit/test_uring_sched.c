/* SPDX-License-Identifier: MIT */
/*
 * test_uring_sched.c - the scheduling guard's verdict (lib/uring_sched.c):
 * a client's turns between requests (microseconds per run, however much of
 * the window they fill) keep the concessions; another task's slices
 * (milliseconds per run) withdraw them. The kernel's side, how long a
 * SCHED_IDLE thread really waits beside other work, depends on what the
 * scheduler does and is measured by the benchmark (--load), not here.
 */
#include "check.h"
#include "uring_sched.h"

#include <stdint.h>

#define US 1000ull
#define MS 1000000ull

int main(void)
{
	/* No run in the window: nothing to judge. */
	CHECK(!uring_sched_starved(0, 0));
	CHECK(!uring_sched_starved(5 * MS, 0));
	/* A synchronous client: 400 requests in 10 ms, the thread waits 8 us each
	 * while the client runs: 3.2 ms of 10, a third of the window. */
	CHECK(!uring_sched_starved(400 * 8 * US, 400));
	/* A client that keeps it waiting most of the window still is a client. */
	CHECK(!uring_sched_starved(9 * MS, 600));
	/* At the threshold, not past it. */
	CHECK(!uring_sched_starved(10 * 200 * US, 10));
	CHECK(uring_sched_starved(10 * 200 * US + 10, 10));
	/* Another task's slices: a few runs, milliseconds of waiting each. */
	CHECK(uring_sched_starved(6 * MS, 4));
	CHECK(uring_sched_starved(3 * MS, 1));
	return check_exit("uring sched");
}
