/* SPDX-License-Identifier: MIT */
/*
 * status_cmd.c - `furi status [MOUNTPOINT] [--json]`: read the status file a
 * server publishes and print it, or list every furi mount. Nothing here
 * sends a request to a mount, so it answers for a hung or dead server too.
 * --watch is in status_watch.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <furi/furi.h>

#include "furi_cmd.h"
#include "status_cmd.h"

int furi_cmd_absolute(const char *path, char *buf, size_t len)
{
	return furi_path_absolute(path, buf, len);
}

void furi_cmd_status_usage(FILE *out)
{
	fprintf(out,
"Usage: furi status [MOUNTPOINT] [--json] [--watch[=SECONDS] [--count=N]]\n"
"\n"
"Without MOUNTPOINT: list every furi mount (its filesystem, what it serves,\n"
"transport, server pid and state), dead ones included.\n"
"\n"
"With MOUNTPOINT: show how that mount is served: the transport (io_uring, or\n"
"/dev/fuse with the reason io_uring is not in use), queues, threads, queue\n"
"depth, buffer memory, and per-channel counters: requests by opcode, bytes in\n"
"and out, error replies split into answers and failures, requests in flight\n"
"and latency percentiles (from receipt to reply, inside the server); the error\n"
"replies by opcode and errno; and the serving threads as the kernel sees them\n"
"now: scheduling policy, the queues each serves, their CPUs (home), the CPUs\n"
"it may run on now, and the I/O class of its disk requests.\n"
"\n"
"A channel is one io_uring queue (queueN, one per possible CPU: it gets the\n"
"requests of callers running on CPU N) or the /dev/fuse workers (dev_fuse).\n"
"Counters start at zero when the mount starts. An answer is an error reply a\n"
"healthy filesystem gives (LOOKUP ENOENT: no such name; GETXATTR ENODATA: no\n"
"such attribute; EEXIST, ENOTEMPTY, EACCES, ENOSYS, ...); a failure is any\n"
"other (EIO, ENOMEM, ENOSPC, ESTALE, ...). A queue thread is home when it may\n"
"run only on its queues' CPUs; with -o pin=auto (the default) a thread alone\n"
"busy moves away, to the other CPUs, so that its client keeps its CPU, and\n"
"goes home when other queues get busy.\n"
"\n"
"Options:\n"
"  --json             print one JSON object instead (stable keys; see docs/STATUS.md)\n"
"  --watch[=SECONDS]  print requests per second by opcode, errors and bytes\n"
"                     every SECONDS (default 1) until Ctrl-C, which prints the\n"
"                     interval it cut short; with --json one object per line\n"
"  --count=N          with --watch: stop after N reports\n"
"\n"
"furi status reads the server's status file (in /run/furi for servers run by\n"
"root; $XDG_RUNTIME_DIR/furi, or /tmp/furi-UID without it, for other users) and\n"
"never sends a request to the mount, so it also answers when the server hangs\n"
"or has died.\n"
"\n"
"Exit status: 0 when a running furi server serves MOUNTPOINT (without one:\n"
"when the mounts could be listed), 1 otherwise.\n");
}

/*
 * Open the status file of the server of mount major:minor. The server runs
 * as the mount's owner (user_id=), so it is in that user's status directory:
 * ours when we own it, else (root looking at a user's mount, a user at
 * root's) the one the owner uses, and ours only as a last resort. Looking in
 * ours first would find a stale file of a dead server of ours that had the
 * same (reused) device number. path gets the last one tried.
 */
static int open_status(const struct furi_mountinfo *mi, char *path, size_t len)
{
	unsigned major = mi->major, minor = mi->minor;
	long owner = mi->user_id;
	char alt[3][128];
	int fd, i, n = 0;

	if (owner >= 0 && owner != (long)geteuid()) {
		if (owner == 0) {
			snprintf(alt[n++], sizeof(alt[0]), "/run/furi");
		} else {
			snprintf(alt[n++], sizeof(alt[0]), "/run/user/%ld/furi", owner);
			snprintf(alt[n++], sizeof(alt[0]), "/tmp/furi-%ld", owner);
		}
	}
	for (i = 0; i < n; i++) {
		char p[512];

		snprintf(p, sizeof(p), "%.127s/%u-%u.status", alt[i], major, minor);
		if (strlen(p) >= len)
			continue;
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT) {
			int e = errno;

			memcpy(path, p, strlen(p) + 1);
			errno = e;
			return fd;
		}
	}
	if (furi_status_path(path, len, major, minor))
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

#define LIST_HINT "furi status with no argument lists furi mounts"

/*
 * Map the status file of the mount mi. -ESRCH (with the mapping kept, so
 * the caller can say whose it was) when its server is gone.
 */
static int load_mount(const struct furi_mountinfo *mi, struct snapshot *snap, char *why,
		      size_t whylen)
{
	const char *mnt = mi->mountpoint;
	char path[300];
	struct stat sb;
	void *map;
	int fd;

	fd = open_status(mi, path, sizeof(path));
	if (fd < 0 && errno == EACCES) {
		snprintf(why, whylen,
			 "%s: cannot read the status file %s: %s (fix: run furi status as the user who mounted it, or as root)",
			 mnt, path, strerror(errno));
		return -EACCES;
	}
	if (fd < 0) {
		snprintf(why, whylen,
			 "%s is a FUSE mount (%s, source %s) without a furi status file: another FUSE server serves it, or its furi server died before publishing one (fix: for a dead mount, umount %s)",
			 mnt, mi->fstype, *mi->source ? mi->source : "none", mnt);
		return -ENOENT;
	}
	if (fstat(fd, &sb) || (size_t)sb.st_size < sizeof(struct furi_status)) {
		close(fd);
		snprintf(why, whylen, "%s: status file %s is damaged", mnt, path);
		return -EINVAL;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(why, whylen, "cannot map %s: %s", path, strerror(errno));
		return -errno;
	}
	snap->st = map;
	snap->size = (size_t)sb.st_size;
	if (snap->st->magic != FURI_STATUS_MAGIC || snap->st->size > snap->size) {
		snap_unload(snap);
		snprintf(why, whylen, "%s: status file %s has an unknown format", mnt, path);
		return -EINVAL;
	}
	if (snap->st->version != FURI_STATUS_VERSION) {
		snprintf(why, whylen,
			 "%s: status file %s is of format %u, this furi status reads %u (fix: use the furi that mounted it, pid %d)",
			 mnt, path, snap->st->version, FURI_STATUS_VERSION, snap->st->pid);
		snap_unload(snap);
		return -EINVAL;
	}
	if (snap->st->dev_major != mi->major || snap->st->dev_minor != mi->minor || !snap_alive(snap)) {
		snprintf(why, whylen,
			 "the furi server of %s (pid %d) is gone and the mount is dead (fix: umount %s)",
			 mnt, snap->st->pid, mnt);
		return -ESRCH;
	}
	return 0;
}

int snap_load(const char *mnt, struct snapshot *snap, char *why, size_t whylen)
{
	struct furi_mountinfo mi;
	int r;

	if (furi_mountinfo_find(mnt, &mi)) {
		struct stat lsb;

		if (lstat(mnt, &lsb) && errno == ENOENT)
			snprintf(why, whylen,
				 "%s does not exist (fix: give the mountpoint of a furi filesystem; " LIST_HINT ")",
				 mnt);
		else
			snprintf(why, whylen,
				 "%s is not a mountpoint (fix: give the mountpoint of a furi filesystem; " LIST_HINT ")",
				 mnt);
		return -ENOENT;
	}
	if (strncmp(mi.fstype, "fuse", 4)) {
		snprintf(why, whylen,
			 "%s is a %s mount, not a furi (FUSE) mount (fix: give the mountpoint of a furi filesystem; " LIST_HINT ")",
			 mnt, mi.fstype);
		return -EINVAL;
	}
	r = load_mount(&mi, snap, why, whylen);
	if (r == -ESRCH)
		snap_unload(snap);
	return r;
}

void snap_unload(struct snapshot *snap)
{
	if (snap->st)
		munmap(snap->st, snap->size);
	snap->st = NULL;
}

bool snap_alive(const struct snapshot *s)
{
	return furi_process_start_time(s->st->pid) == s->st->start_time;
}

unsigned snap_nchan(const struct snapshot *s)
{
	size_t cap = (s->size - sizeof(*s->st)) / sizeof(struct furi_chan_stats);
	unsigned n = *(const volatile uint32_t *)&s->st->nchan;

	__atomic_thread_fence(__ATOMIC_ACQUIRE);

	return n < cap ? n : (unsigned)cap;
}

void snap_read_chan(const struct snapshot *s, unsigned i, struct furi_chan_stats *out)
{
	memcpy(out, &s->st->chan[i], sizeof(*out));
}

void chan_errors_split(const struct furi_chan_stats *c, uint64_t *expected, uint64_t *failed)
{
	unsigned i;

	*expected = 0;
	*failed = c->errors_untracked;
	for (i = 0; i < FURI_ERR_SLOTS; i++) {
		uint32_t key = c->errs[i].key;

		if (!key)
			continue;
		if (furi_error_expected(FURI_ERR_KEY_OPCODE(key), FURI_ERR_KEY_ERRNO(key)))
			*expected += c->errs[i].count;
		else
			*failed += c->errs[i].count;
	}
}

const char *errno_name(int err, char *buf, size_t len)
{
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, len, "errno %d", err);
	return buf;
}

static const char *state_name(uint32_t state)
{
	switch (state) {
	case FURI_STATE_STARTING: return "starting";
	case FURI_STATE_RUNNING: return "running";
	case FURI_STATE_STOPPING: return "stopping";
	}
	return "unknown";
}

static const char *kind_name(uint32_t kind)
{
	return kind == FURI_CHAN_URING ? "io_uring" : "dev_fuse";
}

void cmd_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* Serving threads of the server, read once per run of the command. */
#define MAX_THREADS 1024
static struct furi_thread_info threads[MAX_THREADS];

static int load_threads(const struct snapshot *s)
{
	const struct furi_status *st = s->st;
	int i, n = furi_server_threads(st->pid, threads, MAX_THREADS);

	for (i = 0; i < n; i++)
		furi_thread_placement(&threads[i], st->uring ? st->queues : 0, st->uring_threads,
				      st->pin);
	return n;
}

/* Error replies of every channel by (opcode, errno), most frequent first. */
struct err_row {
	uint32_t key;
	uint64_t count;
};

static int by_count(const void *a, const void *b)
{
	const struct err_row *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* Rows of (up to FURI_ERR_SLOTS per channel); how many. */
static unsigned error_rows(const struct furi_chan_stats *chans, unsigned n, struct err_row *rows,
			   unsigned max)
{
	unsigned i, j, k, used = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < FURI_ERR_SLOTS; j++) {
			const struct furi_err_count *e = &chans[i].errs[j];

			if (!e->key || !e->count)
				continue;
			for (k = 0; k < used && rows[k].key != e->key; k++)
				;
			if (k == used) {
				if (used == max)
					continue;
				rows[used].key = e->key;
				rows[used++].count = 0;
			}
			rows[k].count += e->count;
		}
	}
	qsort(rows, used, sizeof(*rows), by_count);
	return used;
}

static void print_error_json(const struct err_row *row)
{
	unsigned op = FURI_ERR_KEY_OPCODE(row->key);
	int err = FURI_ERR_KEY_ERRNO(row->key);
	const char *opname = furi_opcode_name(op);
	char nbuf[24], obuf[24];

	if (!opname) {
		snprintf(obuf, sizeof(obuf), "%u", op);
		opname = obuf;
	}
	printf("{\"opcode\": \"%s\", \"errno\": \"%s\", \"code\": %d, \"count\": %llu,"
	       " \"expected\": %s}",
	       opname, errno_name(err, nbuf, sizeof(nbuf)), err, (unsigned long long)row->count,
	       furi_error_expected(op, err) ? "true" : "false");
}

/* Channel counters, copied once per run of the command. */
static struct furi_chan_stats *chans;
#define MAX_ERR_ROWS 512
static struct err_row err_rows[MAX_ERR_ROWS];

static unsigned read_chans(const struct snapshot *s)
{
	unsigned i, n = snap_nchan(s);

	free(chans);
	chans = calloc(n ? n : 1, sizeof(*chans));
	if (!chans) {
		fprintf(stderr, "furi: out of memory\n");
		exit(FURI_EXIT_FAIL);
	}
	for (i = 0; i < n; i++)
		snap_read_chan(s, i, &chans[i]);
	return n;
}

/* The server's resident and pinned memory in bytes, as the kernel counts them (-1: unknown). */
static void server_memory(const struct snapshot *s, long long *resident, long long *pinned)
{
	char path[64], val[64];

	*resident = *pinned = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", s->st->pid);
	if (!furi_proc_status_field(path, "VmRSS", val, sizeof(val)))
		*resident = strtoll(val, NULL, 10) * 1024;
	if (!furi_proc_status_field(path, "VmPin", val, sizeof(val)))
		*pinned = strtoll(val, NULL, 10) * 1024;
}

static void print_json(const struct snapshot *s)
{
	const struct furi_status *st = s->st;
	unsigned i, j, n = read_chans(s), nerr;
	uint64_t by_kind[3] = { 0, 0, 0 }, expected = 0, failed = 0;
	long long resident, pinned;
	bool first;
	int nt;

	server_memory(s, &resident, &pinned);

	for (i = 0; i < n; i++) {
		uint64_t e, f;

		if (chans[i].kind <= 2)
			by_kind[chans[i].kind] += chans[i].received;
		chan_errors_split(&chans[i], &e, &f);
		expected += e;
		failed += f;
	}
	printf("{\"mountpoint\": ");
	cmd_json_string(stdout, st->mountpoint);
	printf(", \"fs\": ");
	cmd_json_string(stdout, st->fs);
	printf(", \"source\": ");
	cmd_json_string(stdout, st->source);
	printf(", \"pid\": %d, \"state\": \"%s\", \"auto_unmount_pid\": %d,"
	       " \"transport\": \"%s\", \"transport_line\": ",
	       st->pid, state_name(st->state), st->unmount_watcher,
	       st->uring ? "io_uring" : "dev_fuse");
	cmd_json_string(stdout, st->transport_line);
	printf(", \"fallback_reason\": ");
	cmd_json_string(stdout, st->fallback_reason);
	printf(", \"proto\": \"%u.%u\", \"queues\": %u, \"threads\": %u, \"legacy_threads\": %u,"
	       " \"depth\": %u, \"depth_start\": %u, \"payload_bytes\": %llu, \"buffer_bytes\": %llu,"
	       " \"resident_bytes\": %lld, \"pinned_bytes\": %lld,"
	       " \"max_write\": %u, \"max_pages\": %u, \"max_background\": %u,"
	       " \"congestion_threshold\": %u, \"init_flags\": %llu,",
	       st->proto_major, st->proto_minor, st->queues,
	       st->uring ? st->uring_threads : st->legacy_threads, st->legacy_threads, st->depth,
	       st->depth_start,
	       (unsigned long long)st->payload_bytes, (unsigned long long)st->buffer_bytes,
	       resident, pinned,
	       st->max_write, st->max_pages, st->max_background, st->congestion_threshold,
	       (unsigned long long)st->want);
	printf(" \"server_threads\": [");
	nt = load_threads(s);
	for (i = 0; (int)i < nt; i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		cmd_json_string(stdout, threads[i].name);
		printf(", \"tid\": %d, \"policy\": \"%s\", \"cpus\": ", threads[i].tid,
		       furi_sched_policy_name(threads[i].policy));
		cmd_json_string(stdout, threads[i].cpus);
		printf(", \"serves\": ");
		cmd_json_string(stdout, threads[i].serves);
		printf(", \"home_cpus\": ");
		cmd_json_string(stdout, threads[i].home);
		printf(", \"placement\": \"%s\", \"io\": ", threads[i].placement);
		cmd_json_string(stdout, threads[i].io);
		printf("}");
	}
	printf("],");
	printf(" \"requests\": {\"io_uring\": %llu, \"dev_fuse\": %llu},"
	       " \"errors\": {\"expected\": %llu, \"failed\": %llu, \"by\": [",
	       (unsigned long long)by_kind[FURI_CHAN_URING],
	       (unsigned long long)by_kind[FURI_CHAN_DEV_FUSE], (unsigned long long)expected,
	       (unsigned long long)failed);
	nerr = error_rows(chans, n, err_rows, MAX_ERR_ROWS);
	for (i = 0; i < nerr; i++) {
		printf("%s", i ? ", " : "");
		print_error_json(&err_rows[i]);
	}
	printf("]}, \"channels\": [");
	for (i = 0; i < n; i++) {
		const struct furi_chan_stats *c = &chans[i];
		uint64_t e, f;

		chan_errors_split(c, &e, &f);
		printf("%s{\"name\": ", i ? ", " : "");
		cmd_json_string(stdout, c->name);
		printf(", \"transport\": \"%s\", \"cpu\": %d, \"requests\": %llu, \"replies\": %llu,"
		       " \"bytes_in\": %llu, \"bytes_out\": %llu, \"errors\": %llu,"
		       " \"errors_expected\": %llu, \"errors_failed\": %llu, \"errors_untracked\": %llu,"
		       " \"malformed\": %llu, \"sched_backoffs\": %llu, \"entries\": %u,"
		       " \"peak_in_use\": %u, \"growths\": %llu, \"in_flight\": %lld, \"ops\": {",
		       kind_name(c->kind), c->cpu, (unsigned long long)c->received,
		       (unsigned long long)c->replied, (unsigned long long)c->bytes_in,
		       (unsigned long long)c->bytes_out, (unsigned long long)c->errors,
		       (unsigned long long)e, (unsigned long long)f,
		       (unsigned long long)c->errors_untracked, (unsigned long long)c->malformed,
		       (unsigned long long)c->sched_backoffs, c->entries, c->peak_in_use,
		       (unsigned long long)c->growths, (long long)(c->received - c->replied));
		first = true;
		for (j = 0; j < FURI_OPCODE_MAX; j++) {
			const char *name = furi_opcode_name(j);

			if (!c->ops[j] || !name)
				continue;
			printf("%s\"%s\": %llu", first ? "" : ", ", name, (unsigned long long)c->ops[j]);
			first = false;
		}
		printf("}, \"errors_by\": [");
		nerr = error_rows(c, 1, err_rows, MAX_ERR_ROWS);
		for (j = 0; j < nerr; j++) {
			printf("%s", j ? ", " : "");
			print_error_json(&err_rows[j]);
		}
		printf("], \"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f}}",
		       (double)furi_lat_percentile(c->lat, 50) / 1000.0,
		       (double)furi_lat_percentile(c->lat, 90) / 1000.0,
		       (double)furi_lat_percentile(c->lat, 99) / 1000.0);
	}
	printf("]}\n");
}

void cmd_human_bytes(char *buf, size_t len, uint64_t b)
{
	if (b >= (1ull << 30))
		snprintf(buf, len, "%.1f GiB", (double)b / (1ull << 30));
	else if (b >= (1ull << 20))
		snprintf(buf, len, "%.1f MiB", (double)b / (1ull << 20));
	else if (b >= (1ull << 10))
		snprintf(buf, len, "%.1f KiB", (double)b / (1ull << 10));
	else
		snprintf(buf, len, "%llu B", (unsigned long long)b);
}

static void print_threads_human(int nt)
{
	bool away = false;
	int i;

	printf("\n%-12s %8s %-7s %-10s %-9s %-10s %-9s %s\n", "thread", "tid", "policy", "serves",
	       "home cpus", "may run on", "placement", "disk I/O class");
	for (i = 0; i < nt; i++) {
		printf("%-12s %8d %-7s %-10s %-9s %-10s %-9s %s\n", threads[i].name, threads[i].tid,
		       furi_sched_policy_name(threads[i].policy), threads[i].serves, threads[i].home,
		       threads[i].cpus, threads[i].placement, threads[i].io);
		away |= !strcmp(threads[i].placement, "away");
	}
	if (away)
		printf("away: with -o pin=auto a queue thread that alone is busy leaves its queues' CPUs\n"
		       "      so that its client keeps its CPU; it goes home when other queues get busy\n");
}

static void print_human(const struct snapshot *s)
{
	const struct furi_status *st = s->st;
	unsigned i, j, n = read_chans(s), nerr;
	uint64_t ops[FURI_OPCODE_MAX] = { 0 }, backoffs = 0;
	char a[32], b[32];
	bool any = false;
	int nt;

	printf("%s: %s%s%s, pid %d, %s, FUSE %u.%u\n", st->mountpoint, st->fs, *st->source ? " of " : "",
	       st->source, st->pid, state_name(st->state), st->proto_major, st->proto_minor);
	printf("transport: %s\n", st->transport_line);
	cmd_human_bytes(a, sizeof(a), st->max_write);
	cmd_human_bytes(b, sizeof(b), st->buffer_bytes);
	printf("max_write %s, max_background %u, congestion_threshold %u, buffers up to %s\n", a,
	       st->max_background, st->congestion_threshold, b);
	{
		long long resident, pinned;

		server_memory(s, &resident, &pinned);
		if (resident >= 0 && pinned >= 0) {
			cmd_human_bytes(a, sizeof(a), (uint64_t)resident);
			cmd_human_bytes(b, sizeof(b), (uint64_t)pinned);
			printf("server memory: %s resident, %s pinned\n", a, b);
		}
	}
	if (st->unmount_watcher)
		printf("auto_unmount: process %d unmounts %s if this server dies\n", st->unmount_watcher,
		       st->mountpoint);
	printf("\n%-10s %-9s %7s %11s %9s %7s %8s %10s %10s %8s %8s\n", "channel", "transport",
	       "for cpu", "requests", "in-flight", "answers", "failures", "in", "out", "p50 us",
	       "p99 us");
	for (i = 0; i < n; i++) {
		const struct furi_chan_stats *c = &chans[i];
		uint64_t e, f;
		char cpu[16];

		for (j = 0; j < FURI_OPCODE_MAX; j++)
			ops[j] += c->ops[j];
		backoffs += c->sched_backoffs;
		chan_errors_split(c, &e, &f);
		cmd_human_bytes(a, sizeof(a), c->bytes_in);
		cmd_human_bytes(b, sizeof(b), c->bytes_out);
		if (c->cpu >= 0)
			snprintf(cpu, sizeof(cpu), "%d", c->cpu);
		else
			snprintf(cpu, sizeof(cpu), "-");
		printf("%-10s %-9s %7s %11llu %9lld %7llu %8llu %10s %10s %8.1f %8.1f\n", c->name,
		       kind_name(c->kind), cpu, (unsigned long long)c->received,
		       (long long)(c->received - c->replied), (unsigned long long)e,
		       (unsigned long long)f, a, b,
		       (double)furi_lat_percentile(c->lat, 50) / 1000.0,
		       (double)furi_lat_percentile(c->lat, 99) / 1000.0);
	}
	nt = load_threads(s);
	if (nt > 0)
		print_threads_human(nt);
	if (st->queues) {
		printf("\nio_uring entries (registered, most in use at once, growths of %u max):\n",
		       st->depth);
		for (i = 0; i < n; i++)
			if (chans[i].kind == FURI_CHAN_URING)
				printf("  %-8s %4u %4u %4llu\n", chans[i].name, chans[i].entries,
				       chans[i].peak_in_use, (unsigned long long)chans[i].growths);
	}
	if (backoffs)
		printf("\nother work kept queue threads waiting for a CPU: SCHED_IDLE, moving and\n"
		       "polling withdrawn %llu times (each for 0.25-8 s)\n",
		       (unsigned long long)backoffs);
	printf("\nrequests by opcode:");
	for (j = 0; j < FURI_OPCODE_MAX; j++) {
		const char *name = furi_opcode_name(j);

		if (!ops[j] || !name)
			continue;
		printf("%s %s %llu", any ? "," : "", name, (unsigned long long)ops[j]);
		any = true;
	}
	printf("%s\n", any ? "" : " none yet");
	nerr = error_rows(chans, n, err_rows, MAX_ERR_ROWS);
	printf("error replies by opcode and errno:%s\n", nerr ? "" : " none");
	for (i = 0; i < nerr; i++) {
		unsigned op = FURI_ERR_KEY_OPCODE(err_rows[i].key);
		int err = FURI_ERR_KEY_ERRNO(err_rows[i].key);
		const char *opname = furi_opcode_name(op);
		char nbuf[24], label[48];

		snprintf(label, sizeof(label), "%s %s", opname ? opname : "?",
			 errno_name(err, nbuf, sizeof(nbuf)));
		printf("  %-28s %10llu  %s\n", label, (unsigned long long)err_rows[i].count,
		       furi_error_expected(op, err) ? "answer" : "failure");
	}
}

/* ---- every furi mount ---- */

struct mount_row {
	char mountpoint[1024];
	char fs[64];
	char source[1024];
	char transport[16];
	char state[24];
	int pid;
};

/*
 * The furi mounts this process sees: FUSE mounts with a furi status file,
 * dead ones included, and fuse.furi mounts without one. How many, or -errno.
 */
static int collect_mounts(struct mount_row **out)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	struct mount_row *rows = NULL;
	char *line = NULL, why[2600];
	size_t cap = 0, n = 0, room = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		struct furi_mountinfo mi;
		struct snapshot snap = { NULL, 0 };
		struct mount_row *row;
		int r;

		if (furi_mountinfo_parse_line(line, NULL, &mi) || strncmp(mi.fstype, "fuse", 4))
			continue;
		r = load_mount(&mi, &snap, why, sizeof(why));
		if (r && r != -ESRCH && strcmp(mi.fstype, "fuse." FURI_MOUNT_SUBTYPE))
			continue;	/* another FUSE server's */
		if (n == room) {
			struct mount_row *more = realloc(rows, (room = room ? room * 2 : 16) * sizeof(*rows));

			if (!more) {
				snap_unload(&snap);
				break;
			}
			rows = more;
		}
		row = &rows[n++];
		memset(row, 0, sizeof(*row));
		snprintf(row->mountpoint, sizeof(row->mountpoint), "%s", mi.mountpoint);
		if (!snap.st) {
			snprintf(row->fs, sizeof(row->fs), "?");
			snprintf(row->transport, sizeof(row->transport), "-");
			snprintf(row->state, sizeof(row->state), "%s",
				 r == -ENOENT ? "no status file" : "status unreadable");
			continue;
		}
		snprintf(row->fs, sizeof(row->fs), "%s", snap.st->fs);
		snprintf(row->source, sizeof(row->source), "%s", snap.st->source);
		snprintf(row->transport, sizeof(row->transport), "%s",
			 snap.st->uring ? "io_uring" : "dev_fuse");
		snprintf(row->state, sizeof(row->state), "%s",
			 r == -ESRCH ? "dead" : state_name(snap.st->state));
		row->pid = snap.st->pid;
		snap_unload(&snap);
	}
	free(line);
	fclose(f);
	*out = rows;
	return (int)n;
}

static int list_mounts(bool json)
{
	struct mount_row *rows = NULL;
	int n = collect_mounts(&rows), i, w = 10;

	if (n < 0) {
		fprintf(stderr, "furi: cannot read /proc/self/mountinfo: %s (fix: mount /proc)\n",
			strerror(-n));
		return FURI_EXIT_FAIL;
	}
	if (json) {
		printf("{\"mounts\": [");
		for (i = 0; i < n; i++) {
			printf("%s{\"mountpoint\": ", i ? ", " : "");
			cmd_json_string(stdout, rows[i].mountpoint);
			printf(", \"fs\": ");
			cmd_json_string(stdout, rows[i].fs);
			printf(", \"source\": ");
			cmd_json_string(stdout, rows[i].source);
			printf(", \"transport\": \"%s\", \"pid\": %d, \"state\": \"%s\"}",
			       rows[i].transport, rows[i].pid, rows[i].state);
		}
		printf("]}\n");
	} else if (!n) {
		printf("no furi mounts\n");
	} else {
		for (i = 0; i < n; i++)
			if ((int)strlen(rows[i].mountpoint) > w)
				w = (int)strlen(rows[i].mountpoint);
		printf("%-*s  %-11s %-9s %8s  %-8s  %s\n", w, "mountpoint", "fs", "transport", "pid",
		       "state", "source");
		for (i = 0; i < n; i++) {
			char pid[16] = "-";

			if (rows[i].pid)
				snprintf(pid, sizeof(pid), "%d", rows[i].pid);
			printf("%-*s  %-11s %-9s %8s  %-8s  %s\n", w, rows[i].mountpoint, rows[i].fs,
			       rows[i].transport, pid, rows[i].state,
			       *rows[i].source ? rows[i].source : "-");
		}
	}
	free(rows);
	return 0;
}

/* A whole number of seconds or reports, from 1 up. */
static unsigned positive(const char *opt, const char *val)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = val ? strtoul(val, &end, 10) : 0;
	if (!val || !*val || *end || errno || v < 1 || v > 86400)
		furi_cmd_die_usage("status", "bad value for %s: '%s' (expected a whole number from 1 to 86400)",
				   opt, val ? val : "");
	return (unsigned)v;
}

int furi_cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", optional_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct snapshot snap = { NULL, 0 };
	char mnt[1024], why[2600];
	unsigned watch = 0, count = 0;
	bool json = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'w':
			watch = optarg ? positive("--watch", optarg) : 1;
			break;
		case 'c':
			count = positive("--count", optarg);
			break;
		case 'h':
			furi_cmd_status_usage(stdout);
			return 0;
		default:
			furi_cmd_die_option("status", c, argv);
		}
	}
	if (count && !watch)
		furi_cmd_die_usage("status", "--count needs --watch");
	if (optind == argc) {
		if (watch)
			furi_cmd_die_usage("status", "--watch needs a MOUNTPOINT");
		return list_mounts(json);
	}
	if (optind != argc - 1)
		furi_cmd_die_usage("status", "expected: furi status [MOUNTPOINT] [--json]");
	if (!*argv[optind])
		furi_cmd_die_usage("status", "the mountpoint is an empty string");
	r = furi_path_absolute(argv[optind], mnt, sizeof(mnt));
	if (!r)
		r = furi_path_resolve(mnt, sizeof(mnt));
	if (r == -ENAMETOOLONG)
		furi_cmd_die_usage("status", "the mountpoint path is too long (%zu bytes, at most %zu)",
				   strlen(argv[optind]), sizeof(mnt) - 1);
	if (r) {
		fprintf(stderr, "furi: %s: %s (fix: give the path of a furi mountpoint)\n",
			argv[optind], strerror(-r));
		return FURI_EXIT_FAIL;
	}
	r = snap_load(mnt, &snap, why, sizeof(why));
	if (r) {
		fprintf(stderr, "furi: %s\n", why);
		return FURI_EXIT_FAIL;
	}
	if (watch)
		r = status_watch(mnt, &snap, watch, count, json);
	else if (json)
		print_json(&snap);
	else
		print_human(&snap);
	snap_unload(&snap);
	return r;
}
