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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

/*
 * The class the thread's block I/O gets: its own, or, without one, the one
 * the kernel derives from its CPU policy (SCHED_IDLE gives idle-class I/O).
 */
static void io_class(int tid, int policy, char *buf, size_t len)
{
	int prio = (int)syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
	int nice;

	if (prio < 0) {
		snprintf(buf, len, "?");
		return;
	}
	switch (IOPRIO_PRIO_CLASS(prio)) {
	case IOPRIO_CLASS_RT:
		snprintf(buf, len, "realtime %d", (int)IOPRIO_PRIO_DATA(prio));
		return;
	case IOPRIO_CLASS_BE:
		snprintf(buf, len, "best-effort %d", (int)IOPRIO_PRIO_DATA(prio));
		return;
	case IOPRIO_CLASS_IDLE:
		snprintf(buf, len, "idle");
		return;
	}
	if (policy == SCHED_IDLE) {
		snprintf(buf, len, "idle (from policy)");
		return;
	}
	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)tid);
	if (nice == -1 && errno)
		snprintf(buf, len, "?");
	else if (policy == SCHED_FIFO || policy == SCHED_RR)
		snprintf(buf, len, "realtime %d (from policy)", (nice + 20) / 5);
	else
		snprintf(buf, len, "best-effort %d (from policy)", (nice + 20) / 5);
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
		io_class(t->tid, t->policy, t->io, sizeof(t->io));
		n++;
	}
	closedir(d);
	qsort(out, (size_t)n, sizeof(*out), by_name);
	return n;
}
