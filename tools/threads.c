/* SPDX-License-Identifier: MIT */
/*
 * threads.c - a furi server's serving threads as the kernel sees them: the
 * scheduling class, the CPUs it may run on and the I/O class its disk
 * requests get, read from /proc/PID/task. The server switches classes and
 * CPUs itself (-o sched_idle, -o pin); this is where a user sees where
 * they stand now.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "furi_cmd.h"
#include "status.h"

static const char *const serving_prefixes[] = { FURI_THREAD_URING, FURI_THREAD_DEV_FUSE };

static bool is_serving(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(serving_prefixes) / sizeof(serving_prefixes[0]); i++)
		if (!strncmp(name, serving_prefixes[i], strlen(serving_prefixes[i])))
			return true;
	return false;
}

/* The first line of a /proc file, newline dropped; false if unreadable. */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static void cpus_allowed(const char *dir, char *buf, size_t len)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/status", dir);
	if (furi_proc_status_field(path, "Cpus_allowed_list", buf, len))
		snprintf(buf, len, "?");
}

/* The class the thread's block I/O gets, as "best-effort 4" or "idle (from policy)". */
static void io_class(int tid, char *buf, size_t len)
{
	static const char *const names[] = {
		[IOPRIO_CLASS_RT] = "realtime", [IOPRIO_CLASS_BE] = "best-effort",
		[IOPRIO_CLASS_IDLE] = "idle",
	};
	bool derived;
	int prio = furi_thread_io_priority(tid, &derived);
	unsigned class = prio < 0 ? 0 : IOPRIO_PRIO_CLASS(prio);

	if (class == 0 || class >= sizeof(names) / sizeof(names[0]) || !names[class]) {
		snprintf(buf, len, "?");
		return;
	}
	if (class == IOPRIO_CLASS_IDLE)
		snprintf(buf, len, "idle%s", derived ? " (from policy)" : "");
	else
		snprintf(buf, len, "%s %d%s", names[class], (int)IOPRIO_PRIO_DATA(prio),
			 derived ? " (from policy)" : "");
}

const char *furi_sched_policy_name(int policy)
{
	switch (policy) {
	case SCHED_OTHER:
		return "normal";
	case SCHED_BATCH:
		return "batch";
	case SCHED_IDLE:
		return "idle";
	case SCHED_FIFO:
		return "fifo";
	case SCHED_RR:
		return "rr";
	}
	return "?";
}

static int by_name(const void *a, const void *b)
{
	const struct furi_thread_info *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->tid - y->tid;
}

int furi_server_threads(int pid, struct furi_thread_info *out, int max)
{
	char dir[64], path[400];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		struct furi_thread_info *t = &out[n];
		char tdir[64 + 1 + 256];

		if (de->d_name[0] == '.')
			continue;
		snprintf(tdir, sizeof(tdir), "%s/%s", dir, de->d_name);
		snprintf(path, sizeof(path), "%s/comm", tdir);
		if (!read_line(path, t->name, sizeof(t->name)) || !is_serving(t->name))
			continue;	/* gone, or not a serving thread */
		t->tid = atoi(de->d_name);
		t->policy = sched_getscheduler(t->tid);
		if (t->policy < 0)
			continue;	/* it just exited */
		cpus_allowed(tdir, t->cpus, sizeof(t->cpus));
		io_class(t->tid, t->io, sizeof(t->io));
		n++;
	}
	closedir(d);
	qsort(out, (size_t)n, sizeof(*out), by_name);
	return n;
}
