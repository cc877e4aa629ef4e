/* SPDX-License-Identifier: MIT */
/*
 * status_cmd.c - `furi status MOUNTPOINT [--json]`: read the status file a
 * server publishes and print it. Nothing here sends a request to the mount,
 * so it answers for a hung or dead server too.
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

#include "furi_cmd.h"
#include "status.h"

int furi_cmd_absolute(const char *path, char *buf, size_t len)
{
	return furi_path_absolute(path, buf, len);
}

void furi_cmd_status_usage(FILE *out)
{
	fprintf(out,
"Usage: furi status MOUNTPOINT [--json]\n"
"\n"
"Show how a furi mount is served: the transport (io_uring, or /dev/fuse with the\n"
"reason io_uring is not in use), queues, threads, queue depth, buffer memory, and\n"
"per-channel counters: requests by opcode, bytes in and out, errors, requests in\n"
"flight and latency percentiles (from receipt to reply, inside the server); and\n"
"the serving threads as the kernel sees them now: scheduling policy, the CPUs\n"
"each may run on, and the I/O class of its disk requests.\n"
"\n"
"A channel is one io_uring queue (queueN, one per possible CPU) or the /dev/fuse\n"
"workers (dev_fuse). Counters start at zero when the mount starts.\n"
"\n"
"Options:\n"
"  --json    print one JSON object instead (stable keys; see docs/STATUS.md)\n"
"\n"
"furi status reads the server's status file (in /run/furi for servers run by\n"
"root; $XDG_RUNTIME_DIR/furi, or /tmp/furi-UID without it, for other users) and\n"
"never sends a request to the mount, so it also answers when the server hangs\n"
"or has died.\n"
"\n"
"Exit status: 0 when a running furi server serves MOUNTPOINT, 1 otherwise.\n");
}

/*
 * The uid that mounted mnt (user_id= among the FUSE mount's options), or -1.
 * A server keeps its status file in its own user's directory.
 */
static long mount_owner(const char *mnt)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *copy;
	size_t cap = 0;
	long uid = -1;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		struct furi_mountinfo mi;
		char *opt;

		copy = strdup(line);
		if (!copy)
			break;
		/* The last match wins: the top mount on mnt. */
		if (furi_mountinfo_parse_line(copy, mnt, &mi) == 0) {
			char *sep = strstr(line, " - ");

			opt = sep ? strstr(sep, "user_id=") : NULL;
			uid = opt ? strtol(opt + 8, NULL, 10) : -1;
		}
		free(copy);
	}
	free(line);
	fclose(f);
	return uid;
}

/*
 * Open the status file of the server of mount major:minor: in our own
 * status directory, else (root looking at a user's mount, a user at root's)
 * in the directory the mount's owner uses. path gets the last one tried.
 */
static int open_status(const char *mnt, unsigned major, unsigned minor, char *path, size_t len)
{
	long owner;
	char alt[3][128];
	int fd, i, n = 0;

	if (furi_status_path(path, len, major, minor))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	owner = mount_owner(mnt);
	if (fd >= 0 || owner < 0 || owner == (long)geteuid())
		return fd;
	if (owner == 0) {
		snprintf(alt[n++], sizeof(alt[0]), "/run/furi");
	} else {
		snprintf(alt[n++], sizeof(alt[0]), "/run/user/%ld/furi", owner);
		snprintf(alt[n++], sizeof(alt[0]), "/tmp/furi-%ld", owner);
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
	return -1;
}

struct snapshot {
	struct furi_status *st;
	size_t size;
};

static int load(const char *mnt, struct snapshot *snap, char *why, size_t whylen)
{
	struct furi_mountinfo mi;
	char path[300];
	struct stat sb;
	void *map;
	int fd;

	if (furi_mountinfo_find(mnt, &mi)) {
		struct stat lsb;

		if (lstat(mnt, &lsb) && errno == ENOENT)
			snprintf(why, whylen,
				 "%s does not exist (fix: give the mountpoint of a furi filesystem; findmnt -t fuse lists FUSE mounts)",
				 mnt);
		else
			snprintf(why, whylen,
				 "%s is not a mountpoint (fix: give the mountpoint of a furi filesystem; findmnt -t fuse lists FUSE mounts)",
				 mnt);
		return -ENOENT;
	}
	if (strncmp(mi.fstype, "fuse", 4)) {
		snprintf(why, whylen,
			 "%s is a %s mount, not a furi (FUSE) mount (fix: give the mountpoint of a furi filesystem; findmnt -t fuse lists FUSE mounts)",
			 mnt, mi.fstype);
		return -EINVAL;
	}
	fd = open_status(mnt, mi.major, mi.minor, path, sizeof(path));
	if (fd < 0 && errno == EACCES) {
		snprintf(why, whylen,
			 "%s: cannot read the status file %s: %s (fix: run furi status as the user who mounted it, or as root)",
			 mnt, path, strerror(errno));
		return -EACCES;
	}
	if (fd < 0) {
		snprintf(why, whylen,
			 "%s is a FUSE mount (%s, source %s) without a furi status file: another FUSE server serves it, or its furi server died before publishing one (fix: for a dead mount, umount %s)",
			 mnt, mi.fstype, *mi.source ? mi.source : "none", mnt);
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
	if (snap->st->magic != FURI_STATUS_MAGIC || snap->st->version != FURI_STATUS_VERSION ||
	    snap->st->size > snap->size) {
		munmap(map, snap->size);
		snprintf(why, whylen, "%s: status file %s has an unknown format", mnt, path);
		return -EINVAL;
	}
	if (snap->st->dev_major != mi.major || snap->st->dev_minor != mi.minor ||
	    furi_process_start_time(snap->st->pid) != snap->st->start_time) {
		snprintf(why, whylen,
			 "the furi server of %s (pid %d) is gone and the mount is dead (fix: umount %s)",
			 mnt, snap->st->pid, mnt);
		munmap(map, snap->size);
		return -ESRCH;
	}
	return 0;
}

static unsigned nchan(const struct snapshot *s)
{
	size_t cap = (s->size - sizeof(*s->st)) / sizeof(struct furi_chan_stats);
	unsigned n = *(const volatile uint32_t *)&s->st->nchan;

	__atomic_thread_fence(__ATOMIC_ACQUIRE);

	return n < cap ? n : (unsigned)cap;
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

/* Copy a counter block once, so every number printed comes from one moment. */
static void read_chan(const struct furi_chan_stats *src, struct furi_chan_stats *dst)
{
	memcpy(dst, src, sizeof(*dst));
}

static void json_string(FILE *out, const char *s)
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
	return furi_server_threads(s->st->pid, threads, MAX_THREADS);
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
	unsigned i, j, n = nchan(s);
	uint64_t by_kind[3] = { 0, 0, 0 };
	long long resident, pinned;
	bool first;
	int nt;

	server_memory(s, &resident, &pinned);

	for (i = 0; i < n; i++) {
		struct furi_chan_stats c;

		read_chan(&st->chan[i], &c);
		if (c.kind <= 2)
			by_kind[c.kind] += c.received;
	}
	printf("{\"mountpoint\": ");
	json_string(stdout, st->mountpoint);
	printf(", \"fs\": ");
	json_string(stdout, st->fs);
	printf(", \"pid\": %d, \"state\": \"%s\", \"transport\": \"%s\", \"transport_line\": ",
	       st->pid, state_name(st->state), st->uring ? "io_uring" : "dev_fuse");
	json_string(stdout, st->transport_line);
	printf(", \"fallback_reason\": ");
	json_string(stdout, st->fallback_reason);
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
		json_string(stdout, threads[i].name);
		printf(", \"tid\": %d, \"policy\": \"%s\", \"cpus\": ", threads[i].tid,
		       furi_sched_policy_name(threads[i].policy));
		json_string(stdout, threads[i].cpus);
		printf(", \"io\": ");
		json_string(stdout, threads[i].io);
		printf("}");
	}
	printf("],");
	printf(" \"requests\": {\"io_uring\": %llu, \"dev_fuse\": %llu}, \"channels\": [",
	       (unsigned long long)by_kind[FURI_CHAN_URING],
	       (unsigned long long)by_kind[FURI_CHAN_DEV_FUSE]);
	for (i = 0; i < n; i++) {
		struct furi_chan_stats c;

		read_chan(&st->chan[i], &c);
		printf("%s{\"name\": ", i ? ", " : "");
		json_string(stdout, c.name);
		printf(", \"transport\": \"%s\", \"cpu\": %d, \"requests\": %llu, \"replies\": %llu,"
		       " \"bytes_in\": %llu, \"bytes_out\": %llu, \"errors\": %llu,"
		       " \"malformed\": %llu, \"sched_backoffs\": %llu, \"entries\": %u,"
		       " \"peak_in_use\": %u, \"growths\": %llu, \"in_flight\": %lld,"
		       " \"ops\": {",
		       kind_name(c.kind), c.cpu, (unsigned long long)c.received,
		       (unsigned long long)c.replied, (unsigned long long)c.bytes_in,
		       (unsigned long long)c.bytes_out, (unsigned long long)c.errors,
		       (unsigned long long)c.malformed, (unsigned long long)c.sched_backoffs,
		       c.entries, c.peak_in_use, (unsigned long long)c.growths,
		       (long long)(c.received - c.replied));
		first = true;
		for (j = 0; j < FURI_OPCODE_MAX; j++) {
			const char *name = furi_opcode_name(j);

			if (!c.ops[j] || !name)
				continue;
			printf("%s\"%s\": %llu", first ? "" : ", ", name, (unsigned long long)c.ops[j]);
			first = false;
		}
		printf("}, \"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f}}",
		       (double)furi_lat_percentile(c.lat, 50) / 1000.0,
		       (double)furi_lat_percentile(c.lat, 90) / 1000.0,
		       (double)furi_lat_percentile(c.lat, 99) / 1000.0);
	}
	printf("]}\n");
}

static void human_bytes(char *buf, size_t len, uint64_t b)
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

static void print_human(const struct snapshot *s)
{
	const struct furi_status *st = s->st;
	unsigned i, j, n = nchan(s);
	uint64_t ops[FURI_OPCODE_MAX] = { 0 }, backoffs = 0;
	char a[32], b[32];
	bool any = false;
	int nt;

	printf("%s: %s, pid %d, %s, FUSE %u.%u\n", st->mountpoint, st->fs, st->pid,
	       state_name(st->state), st->proto_major, st->proto_minor);
	printf("transport: %s\n", st->transport_line);
	human_bytes(a, sizeof(a), st->max_write);
	human_bytes(b, sizeof(b), st->buffer_bytes);
	printf("max_write %s, max_background %u, congestion_threshold %u, buffers up to %s\n", a,
	       st->max_background, st->congestion_threshold, b);
	{
		long long resident, pinned;

		server_memory(s, &resident, &pinned);
		if (resident >= 0 && pinned >= 0) {
			human_bytes(a, sizeof(a), (uint64_t)resident);
			human_bytes(b, sizeof(b), (uint64_t)pinned);
			printf("server memory: %s resident, %s pinned\n", a, b);
		}
	}
	printf("\n%-10s %-9s %4s %11s %9s %7s %10s %10s %8s %8s\n", "channel", "transport", "cpu",
	       "requests", "in-flight", "errors", "in", "out", "p50 us", "p99 us");
	for (i = 0; i < n; i++) {
		struct furi_chan_stats c;
		char cpu[16];

		read_chan(&st->chan[i], &c);
		for (j = 0; j < FURI_OPCODE_MAX; j++)
			ops[j] += c.ops[j];
		backoffs += c.sched_backoffs;
		human_bytes(a, sizeof(a), c.bytes_in);
		human_bytes(b, sizeof(b), c.bytes_out);
		if (c.cpu >= 0)
			snprintf(cpu, sizeof(cpu), "%d", c.cpu);
		else
			snprintf(cpu, sizeof(cpu), "-");
		printf("%-10s %-9s %4s %11llu %9lld %7llu %10s %10s %8.1f %8.1f\n", c.name,
		       kind_name(c.kind), cpu, (unsigned long long)c.received,
		       (long long)(c.received - c.replied), (unsigned long long)c.errors, a, b,
		       (double)furi_lat_percentile(c.lat, 50) / 1000.0,
		       (double)furi_lat_percentile(c.lat, 99) / 1000.0);
	}
	nt = load_threads(s);
	if (nt > 0) {
		printf("\n%-12s %8s %-7s %-8s %s\n", "thread", "tid", "policy", "cpus", "disk I/O class");
		for (i = 0; (int)i < nt; i++)
			printf("%-12s %8d %-7s %-8s %s\n", threads[i].name, threads[i].tid,
			       furi_sched_policy_name(threads[i].policy), threads[i].cpus,
			       threads[i].io);
	}
	if (st->queues) {
		printf("\nio_uring entries (registered, most in use at once, growths of %u max):\n",
		       st->depth);
		for (i = 0; i < n; i++) {
			struct furi_chan_stats c;

			read_chan(&st->chan[i], &c);
			if (c.kind == FURI_CHAN_URING)
				printf("  %-8s %4u %4u %4llu\n", c.name, c.entries, c.peak_in_use,
				       (unsigned long long)c.growths);
		}
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
}

int furi_cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct snapshot snap = { NULL, 0 };
	char mnt[1024], why[2600];
	bool json = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			furi_cmd_status_usage(stdout);
			return 0;
		default:
			furi_cmd_die_option("status", c, argv);
		}
	}
	if (optind != argc - 1)
		furi_cmd_die_usage("status", "expected: furi status MOUNTPOINT [--json]");
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
	r = load(mnt, &snap, why, sizeof(why));
	if (r) {
		fprintf(stderr, "furi: %s\n", why);
		return FURI_EXIT_FAIL;
	}
	if (json)
		print_json(&snap);
	else
		print_human(&snap);
	munmap(snap.st, snap.size);
	return 0;
}
