/* SPDX-License-Identifier: MIT */
/*
 * test_bench_load.c - the background load of furi bench (bench/load.c,
 * the --load parser in bench/stats.c): the list is parsed or refused with
 * a message naming the bad part; a nice19 load runs one busy process per
 * requested CPU, each named furi-bench-load at nice 19 in one process
 * group of its own; stopping it leaves none; and when the process that
 * started them dies without stopping them (kill -9 of furi bench), they
 * die too. Real processes; every wait is a poll with a generous timeout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../bench/load.h"
#include "check.h"

static void test_parse(void)
{
	enum bench_load l[BENCH_MAX_LOADS];
	char err[160] = "";

	CHECK_EQ(bench_load_parse("idle", l, BENCH_MAX_LOADS, err, sizeof(err)), 1);
	CHECK(l[0] == BENCH_LOAD_IDLE);
	CHECK_EQ(bench_load_parse("idle,nice19,nice0", l, BENCH_MAX_LOADS, err, sizeof(err)), 3);
	CHECK(l[0] == BENCH_LOAD_IDLE && l[1] == BENCH_LOAD_NICE19 && l[2] == BENCH_LOAD_NICE0);
	CHECK_EQ(bench_load_parse("nice19,idle", l, BENCH_MAX_LOADS, err, sizeof(err)), 2);
	CHECK(l[0] == BENCH_LOAD_NICE19 && l[1] == BENCH_LOAD_IDLE);
	CHECK_EQ(bench_load_parse("idle,busy", l, BENCH_MAX_LOADS, err, sizeof(err)), -1);
	CHECK(strstr(err, "unknown load 'busy'") && strstr(err, "idle, nice19, nice0"));
	CHECK_EQ(bench_load_parse("nice0,nice0", l, BENCH_MAX_LOADS, err, sizeof(err)), -1);
	CHECK(strstr(err, "'nice0' is given twice") != NULL);
	CHECK_EQ(bench_load_parse("", l, BENCH_MAX_LOADS, err, sizeof(err)), -1);
	CHECK(strstr(err, "empty") != NULL);
	CHECK_EQ(bench_load_parse("idle,,nice0", l, BENCH_MAX_LOADS, err, sizeof(err)), -1);
	CHECK(strstr(err, "unknown load ''") != NULL);
	CHECK(!strcmp(bench_load_name(BENCH_LOAD_NICE0), "nice0"));
	CHECK_EQ(bench_load_nice(BENCH_LOAD_NICE19), 19);
	CHECK_EQ(bench_load_nice(BENCH_LOAD_NICE0), 0);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fields of /proc/PID/stat after comm: state, pgid, nice; false if gone. */
static bool proc_stat(pid_t pid, char *state, int *pgid, int *nice_level)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && sscanf(p + 2, "%c %*d %d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			   "%*d %d", state, pgid, nice_level) == 3;
}

static bool comm_is(pid_t pid, const char *want)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return !strcmp(buf, want);
}

/* A busy process is gone: no such process, a zombie, or the pid reused by another program. */
static bool gone(pid_t pid)
{
	char state = '?';
	int pgid, nice_level;

	return !proc_stat(pid, &state, &pgid, &nice_level) || state == 'Z' ||
	       !comm_is(pid, BENCH_LOAD_COMM);
}

static bool wait_all_gone(const pid_t *pids, int n, double seconds)
{
	double end = now() + seconds;
	int i;

	for (;;) {
		bool all = true;

		for (i = 0; i < n; i++)
			all &= gone(pids[i]);
		if (all)
			return true;
		if (now() >= end)
			return false;
		usleep(10000);
	}
}

static void test_start_stop(void)
{
	struct bench_load_procs lp;
	double end;
	int i;

	CHECK_EQ(bench_load_start(BENCH_LOAD_IDLE, 2, &lp), 0);
	CHECK_EQ(lp.n, 0);
	bench_load_stop(&lp);	/* a no-op */

	CHECK_EQ(bench_load_start(BENCH_LOAD_NICE19, 2, &lp), 0);
	CHECK_EQ(lp.n, 2);
	CHECK(lp.pgid == lp.pid[0]);
	/* Each child names itself and lowers its priority right after fork. */
	end = now() + 20;
	for (i = 0; i < lp.n; i++) {
		char state = '?';
		int pgid = 0, nice_level = -100;

		while (now() < end && !(comm_is(lp.pid[i], BENCH_LOAD_COMM) &&
					proc_stat(lp.pid[i], &state, &pgid, &nice_level) &&
					nice_level == 19 && pgid == lp.pgid))
			usleep(10000);
		CHECK(comm_is(lp.pid[i], BENCH_LOAD_COMM));
		CHECK(proc_stat(lp.pid[i], &state, &pgid, &nice_level));
		CHECK_EQ(nice_level, 19);
		CHECK_EQ(pgid, lp.pgid);
		CHECK(pgid != getpgrp());	/* out of our group: a Ctrl-C does not reach them */
	}
	{
		pid_t pids[2] = { lp.pid[0], lp.pid[1] };

		bench_load_stop(&lp);
		CHECK_EQ(lp.n, 0);
		/* Reaped by the stop itself: gone at once, no wait. */
		CHECK(gone(pids[0]) && gone(pids[1]));
	}
}

/*
 * The runner killed with SIGKILL while a load runs: its busy processes
 * follow it (PR_SET_PDEATHSIG), nobody having stopped them.
 */
static void test_die_with_runner(void)
{
	int fd[2], status;
	pid_t runner, pids[2] = { 0, 0 };

	CHECK(pipe(fd) == 0);
	runner = fork();
	if (runner == 0) {
		struct bench_load_procs lp;

		close(fd[0]);
		if (bench_load_start(BENCH_LOAD_NICE0, 2, &lp))
			_exit(1);
		if (write(fd[1], lp.pid, 2 * sizeof(pid_t)) != 2 * sizeof(pid_t))
			_exit(1);
		close(fd[1]);
		pause();
		_exit(0);
	}
	close(fd[1]);
	CHECK(read(fd[0], pids, sizeof(pids)) == sizeof(pids));
	close(fd[0]);
	CHECK(pids[0] > 0 && pids[1] > 0);
	kill(runner, SIGKILL);
	waitpid(runner, &status, 0);
	if (!wait_all_gone(pids, 2, 20)) {
		CHECK(!"busy processes outlived their runner");
		kill(pids[0], SIGKILL);	/* ours: leave nothing spinning */
		kill(pids[1], SIGKILL);
	}
}

int main(void)
{
	test_parse();
	test_start_stop();
	test_die_with_runner();
	return check_exit("bench load");
}
