/* SPDX-License-Identifier: MIT */
/*
 * load.h - background work beside a sample: CPU-bound busy processes at a
 * given nice level, one per online CPU, as any real server has something
 * else runnable. They are forked by the runner into one process group of
 * their own, named furi-bench-load, and die with it (PR_SET_PDEATHSIG), so
 * none outlives furi bench, whatever ends it.
 */
#ifndef FURI_BENCH_LOAD_H
#define FURI_BENCH_LOAD_H

#include <stddef.h>
#include <sys/types.h>

#include "bench.h"

/* The name the busy processes carry (/proc/PID/comm, at most 15 bytes). */
#define BENCH_LOAD_COMM "furi-bench-load"

#define BENCH_LOAD_MAX_PROCS 512

struct bench_load_procs {
	pid_t pgid;		/* 0: nothing running */
	int n;
	pid_t pid[BENCH_LOAD_MAX_PROCS];
};

/*
 * Start load l (nothing for BENCH_LOAD_IDLE) with nprocs busy processes.
 * Returns 0, or -errno with whatever was started already stopped.
 */
int bench_load_start(enum bench_load l, int nprocs, struct bench_load_procs *lp);

/* Kill the whole group (SIGKILL) and reap every process; a no-op when idle. */
void bench_load_stop(struct bench_load_procs *lp);

#endif /* FURI_BENCH_LOAD_H */
