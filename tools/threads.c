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

#include <furi/furi.h>

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

/* "0-2,5" into set; false if it is not such a list. */
static bool parse_cpu_list(const char *list, cpu_set_t *set)
{
	const char *p = list;

	CPU_ZERO(set);
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p)
			return false;
		if (*end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
			if (end == p || hi < lo)
				return false;
		}
		for (; lo <= hi && lo < CPU_SETSIZE; lo++)
			CPU_SET(lo, set);
		if (*end == ',')
			end++;
		else if (*end)
			return false;
		p = end;
	}
	return true;
}

/* The inverse: "0-2,5". */
static void format_cpu_list(const cpu_set_t *set, char *buf, size_t len)
{
	size_t used = 0;
	int i, start = -1;

	buf[0] = '\0';
	for (i = 0; i <= CPU_SETSIZE && used < len; i++) {
		bool in = i < CPU_SETSIZE && CPU_ISSET(i, set);

		if (in && start < 0)
			start = i;
		if (in || start < 0)
			continue;
		if (start == i - 1)
			used += (size_t)snprintf(buf + used, len - used, "%s%d", used ? "," : "", start);
		else
			used += (size_t)snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "",
						 start, i - 1);
		start = -1;
	}
}

void furi_thread_placement(struct furi_thread_info *t, unsigned queues, unsigned uring_threads,
			   unsigned pin)
{
	size_t plen = strlen(FURI_THREAD_URING);
	cpu_set_t home, allowed, shared;
	unsigned index, q;
	char list[48];

	t->placement = "unpinned";
	if (strncmp(t->name, FURI_THREAD_URING, plen) || !queues || !uring_threads) {
		snprintf(t->serves, sizeof(t->serves), "dev_fuse");
		snprintf(t->home, sizeof(t->home), "-");
		return;
	}
	index = (unsigned)strtoul(t->name + plen, NULL, 10);
	CPU_ZERO(&home);
	for (q = index; q < queues && q < CPU_SETSIZE; q += uring_threads)
		CPU_SET(q, &home);	/* queue q takes the requests of CPU q */
	format_cpu_list(&home, list, sizeof(list));
	snprintf(t->home, sizeof(t->home), "%s", list);
	if (CPU_COUNT(&home) == 1)
		snprintf(t->serves, sizeof(t->serves), "queue%s", list);
	else
		snprintf(t->serves, sizeof(t->serves), "queues %s", list);
	if (!parse_cpu_list(t->cpus, &allowed))
		return;
	CPU_AND(&shared, &allowed, &home);
	if (CPU_EQUAL(&allowed, &home))
		t->placement = "home";
	else if (pin == FURI_PIN_AUTO && CPU_COUNT(&shared) == 0)
		t->placement = "away";
}
