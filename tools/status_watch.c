/* SPDX-License-Identifier: MIT */
/*
 * status_watch.c - `furi status MOUNTPOINT --watch[=SECONDS]`: what a mount
 * is doing now, as rates: requests per second by opcode, answers and
 * failures, bytes. Each report is the difference of two readings of the
 * server's counters, so it costs the server nothing either.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "furi_cmd.h"
#include "status_cmd.h"

/* Every channel's counters added up, at one moment. */
struct totals {
	uint64_t at_ns;
	uint64_t requests, by_kind[3], bytes_in, bytes_out, expected, failed;
	uint64_t ops[FURI_OPCODE_MAX];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void take(const struct snapshot *s, struct totals *t)
{
	unsigned i, j, n = snap_nchan(s);

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n; i++) {
		struct furi_chan_stats c;
		uint64_t e, f;

		snap_read_chan(s, i, &c);
		t->requests += c.received;
		if (c.kind <= 2)
			t->by_kind[c.kind] += c.received;
		t->bytes_in += c.bytes_in;
		t->bytes_out += c.bytes_out;
		chan_errors_split(&c, &e, &f);
		t->expected += e;
		t->failed += f;
		for (j = 0; j < FURI_OPCODE_MAX; j++)
			t->ops[j] += c.ops[j];
	}
	t->at_ns = now_ns();
}

/* Opcodes seen in the interval, busiest first. */
static unsigned busiest(const struct totals *a, const struct totals *b, unsigned *order)
{
	unsigned j, k, n = 0;

	for (j = 0; j < FURI_OPCODE_MAX; j++) {
		uint64_t d = b->ops[j] - a->ops[j];

		if (!d || !furi_opcode_name(j))
			continue;
		for (k = n; k > 0 && b->ops[order[k - 1]] - a->ops[order[k - 1]] < d; k--)
			order[k] = order[k - 1];
		order[k] = j;
		n++;
	}
	return n;
}

static void report(const struct totals *a, const struct totals *b, bool cut_short, bool json)
{
	double secs = (double)(b->at_ns - a->at_ns) / 1e9;
	unsigned order[FURI_OPCODE_MAX], n = busiest(a, b, order), i;
	char clock[16], in[32], out[32];
	time_t wall = time(NULL);
	struct tm tm;

	if (secs <= 0)
		secs = 1e-9;
	strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&wall, &tm));
	if (json) {
		printf("{\"time\": \"%s\", \"interval_s\": %.3f, \"cut_short\": %s, \"requests\": %llu,"
		       " \"requests_per_s\": %.1f, \"io_uring\": %llu, \"dev_fuse\": %llu,"
		       " \"errors_expected\": %llu, \"errors_failed\": %llu,"
		       " \"bytes_in\": %llu, \"bytes_out\": %llu, \"ops\": {",
		       clock, secs, cut_short ? "true" : "false",
		       (unsigned long long)(b->requests - a->requests),
		       (double)(b->requests - a->requests) / secs,
		       (unsigned long long)(b->by_kind[FURI_CHAN_URING] - a->by_kind[FURI_CHAN_URING]),
		       (unsigned long long)(b->by_kind[FURI_CHAN_DEV_FUSE] -
					    a->by_kind[FURI_CHAN_DEV_FUSE]),
		       (unsigned long long)(b->expected - a->expected),
		       (unsigned long long)(b->failed - a->failed),
		       (unsigned long long)(b->bytes_in - a->bytes_in),
		       (unsigned long long)(b->bytes_out - a->bytes_out));
		for (i = 0; i < n; i++) {
			uint64_t d = b->ops[order[i]] - a->ops[order[i]];

			printf("%s\"%s\": {\"count\": %llu, \"per_s\": %.1f}", i ? ", " : "",
			       furi_opcode_name(order[i]), (unsigned long long)d, (double)d / secs);
		}
		printf("}}\n");
	} else {
		cmd_human_bytes(in, sizeof(in), (uint64_t)((double)(b->bytes_in - a->bytes_in) / secs));
		cmd_human_bytes(out, sizeof(out),
				(uint64_t)((double)(b->bytes_out - a->bytes_out) / secs));
		printf("%s  over %.2f s%s: %.1f requests/s (io_uring %.1f, dev_fuse %.1f),"
		       " answers %.1f/s, failures %.1f/s, in %s/s, out %s/s\n",
		       clock, secs, cut_short ? " (cut short)" : "",
		       (double)(b->requests - a->requests) / secs,
		       (double)(b->by_kind[FURI_CHAN_URING] - a->by_kind[FURI_CHAN_URING]) / secs,
		       (double)(b->by_kind[FURI_CHAN_DEV_FUSE] - a->by_kind[FURI_CHAN_DEV_FUSE]) / secs,
		       (double)(b->expected - a->expected) / secs,
		       (double)(b->failed - a->failed) / secs, in, out);
		printf("  requests/s by opcode:");
		for (i = 0; i < n; i++)
			printf("%s %s %.1f", i ? "," : "", furi_opcode_name(order[i]),
			       (double)(b->ops[order[i]] - a->ops[order[i]]) / secs);
		printf("%s\n", n ? "" : " none");
	}
	fflush(stdout);
}

/*
 * Wait until deadline (CLOCK_MONOTONIC, ns) with SIGINT and SIGTERM blocked
 * and taken by sigtimedwait: a signal arriving at any moment ends the wait,
 * none can slip in between a check and the sleep. true if one came.
 */
static bool wait_until(uint64_t deadline, const sigset_t *stop)
{
	for (;;) {
		uint64_t now = now_ns();
		struct timespec left;
		int sig;

		if (now >= deadline)
			return false;
		left.tv_sec = (time_t)((deadline - now) / 1000000000ull);
		left.tv_nsec = (long)((deadline - now) % 1000000000ull);
		sig = sigtimedwait(stop, NULL, &left);
		if (sig > 0)
			return true;
		if (errno != EINTR && errno != EAGAIN)
			return false;
	}
}

int status_watch(const char *mnt, struct snapshot *snap, unsigned interval, unsigned count,
		 bool json)
{
	struct totals prev, cur;
	uint64_t deadline;
	unsigned reports = 0;
	bool stopped = false;
	sigset_t stop, old;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &old);
	/*
	 * An ignored signal is dropped even while blocked, and a shell starts
	 * background commands with SIGINT ignored: take it back, as ping does,
	 * so that kill -INT ends a watch in a script too.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	take(snap, &prev);
	/* On stderr, so that stdout holds only reports; once it shows, the first interval runs. */
	fprintf(stderr, "furi: watching %s (%s, pid %d) every %u s; Ctrl-C to stop\n", mnt,
		snap->st->fs, snap->st->pid, interval);
	deadline = prev.at_ns + (uint64_t)interval * 1000000000ull;
	while (!stopped && (!count || reports < count)) {
		stopped = wait_until(deadline, &stop);
		if (!snap_alive(snap)) {
			fprintf(stderr, "furi: the furi server of %s (pid %d) has ended\n", mnt,
				snap->st->pid);
			sigprocmask(SIG_SETMASK, &old, NULL);
			return FURI_EXIT_FAIL;
		}
		take(snap, &cur);
		report(&prev, &cur, stopped, json);
		reports++;
		prev = cur;
		deadline += (uint64_t)interval * 1000000000ull;
		if (deadline < prev.at_ns)	/* we were stopped (SIGSTOP): no catching up */
			deadline = prev.at_ns + (uint64_t)interval * 1000000000ull;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}
