/* SPDX-License-Identifier: MIT */
/* meta.c - the metadata benchmark program; see meta.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "meta.h"

struct meta_opts {
	const char *mode;
	const char *dir;
	unsigned threads;
	unsigned count;
	unsigned passes;
	double seconds;
};

struct worker {
	pthread_t tid;
	const struct meta_opts *o;
	unsigned idx;
	unsigned long long ops;
	double t0, t1;		/* this thread's measured loop: start and end */
	double busy_s;		/* t1 - t0 */
	int err;		/* errno of the first failure */
	char what[192];		/* which call failed */
};

static pthread_barrier_t start_barrier;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail_at(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail_at(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->err)
		return;
	w->err = errno ? errno : EIO;
	va_start(ap, fmt);
	vsnprintf(w->what, sizeof(w->what), fmt, ap);
	va_end(ap);
}

static void thread_dir(const struct worker *w, char *buf, size_t len)
{
	bench_str(buf, len, "%s/t%u", w->o->dir, w->idx);
}

static void *run_creates(void *arg)
{
	struct worker *w = arg;
	char dir[4096], path[4200];
	unsigned i;
	double t0;

	thread_dir(w, dir, sizeof(dir));
	if (mkdir(dir, 0755) && errno != EEXIST)
		fail_at(w, "mkdir %s", dir);
	pthread_barrier_wait(&start_barrier);
	t0 = now();
	for (i = 0; i < w->o->count && !w->err; i++) {
		int fd;

		bench_str(path, sizeof(path), "%s/f%u", dir, i);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) {
			fail_at(w, "create %s", path);
			break;
		}
		close(fd);
		w->ops++;
	}
	w->t0 = t0;
	w->t1 = now();
	w->busy_s = w->t1 - t0;
	return NULL;
}

static int getattr_fd = -1;

static void *run_getattr(void *arg)
{
	struct worker *w = arg;
	struct statx stx;
	double t0, end, t;

	pthread_barrier_wait(&start_barrier);
	t0 = t = now();
	end = t0 + w->o->seconds;
	while (!w->err) {
		unsigned k;

		for (k = 0; k < 64; k++) {
			if (statx(getattr_fd, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC,
				  STATX_BASIC_STATS, &stx)) {
				fail_at(w, "statx(AT_STATX_FORCE_SYNC)");
				break;
			}
			w->ops++;
		}
		t = now();
		if (t >= end)
			break;
	}
	w->t0 = t0;
	w->t1 = t;
	w->busy_s = t - t0;
	return NULL;
}

static void *run_cwcu(void *arg)
{
	static const char block[4096] = { 'f', 'u', 'r', 'i' };
	struct worker *w = arg;
	char dir[4096], path[4200];
	double t0, end, t;

	thread_dir(w, dir, sizeof(dir));
	if (mkdir(dir, 0755) && errno != EEXIST)
		fail_at(w, "mkdir %s", dir);
	bench_str(path, sizeof(path), "%s/cwcu", dir);
	pthread_barrier_wait(&start_barrier);
	t0 = t = now();
	end = t0 + w->o->seconds;
	while (!w->err && t < end) {
		unsigned k;

		for (k = 0; k < 16; k++) {
			int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);

			if (fd < 0) {
				fail_at(w, "create %s", path);
				break;
			}
			if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block)) {
				fail_at(w, "write %s", path);
				close(fd);
				break;
			}
			if (close(fd)) {
				fail_at(w, "close %s", path);
				break;
			}
			if (unlink(path)) {
				fail_at(w, "unlink %s", path);
				break;
			}
			w->ops++;
		}
		t = now();
	}
	w->t0 = t0;
	w->t1 = t;
	w->busy_s = t - t0;
	return NULL;
}

/* Run fn on o->threads threads; the elapsed time covers all of them. */
static int run_threads(const struct meta_opts *o, void *(*fn)(void *), unsigned long long *ops,
		       double *elapsed, double *busy, char *err, size_t errlen)
{
	struct worker *w = calloc(o->threads, sizeof(*w));
	unsigned i, started = 0;
	double t0, t1;
	int rc = 0;

	if (!w) {
		bench_str(err, errlen, "out of memory");
		return -1;
	}
	pthread_barrier_init(&start_barrier, NULL, o->threads + 1);
	for (i = 0; i < o->threads; i++) {
		w[i].o = o;
		w[i].idx = i;
		if (pthread_create(&w[i].tid, NULL, fn, &w[i]))
			break;
		started++;
	}
	if (started < o->threads) {
		/* Cannot happen in practice; refuse rather than deadlock at the barrier. */
		fprintf(stderr, "furi bench-meta: cannot start %u threads\n", o->threads);
		exit(1);
	}
	pthread_barrier_wait(&start_barrier);
	*ops = 0;
	*busy = 0;
	/* Elapsed: from the first thread's start to the last one's end, as they saw them. */
	t0 = 0;
	t1 = 0;
	for (i = 0; i < o->threads; i++) {
		pthread_join(w[i].tid, NULL);
		*ops += w[i].ops;
		*busy += w[i].busy_s;
		if (!i || w[i].t0 < t0)
			t0 = w[i].t0;
		if (w[i].t1 > t1)
			t1 = w[i].t1;
		if (w[i].err && !rc) {
			bench_str(err, errlen, "%s: %s", w[i].what, strerror(w[i].err));
			rc = -1;
		}
	}
	*elapsed = t1 - t0;
	pthread_barrier_destroy(&start_barrier);
	free(w);
	return rc;
}

static int drop_dentries(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, "2", 1) != 1)
		r = -errno;
	close(fd);
	return r;
}

static int do_populate(const struct meta_opts *o, char *err, size_t errlen)
{
	char path[4200];
	unsigned i;

	if (mkdir(o->dir, 0755) && errno != EEXIST) {
		bench_str(err, errlen, "mkdir %s: %s", o->dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < o->count; i++) {
		int fd;

		bench_str(path, sizeof(path), "%s/f%u", o->dir, i);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) {
			bench_str(err, errlen, "create %s: %s", path, strerror(errno));
			return -1;
		}
		close(fd);
	}
	return 0;
}

static int do_stat_many(const struct meta_opts *o, unsigned long long *ops, double *elapsed,
			char *err, size_t errlen)
{
	char path[4200];
	unsigned p, i;
	struct stat st;

	*ops = 0;
	*elapsed = 0;
	for (p = 0; p < o->passes; p++) {
		double t0;
		int r = drop_dentries();

		if (r) {
			bench_str(err, errlen, "drop_caches: %s (needs root)", strerror(-r));
			return -1;
		}
		t0 = now();
		for (i = 0; i < o->count; i++) {
			bench_str(path, sizeof(path), "%s/f%u", o->dir, i);
			if (stat(path, &st)) {
				bench_str(err, errlen, "stat %s: %s", path, strerror(errno));
				return -1;
			}
			(*ops)++;
		}
		*elapsed += now() - t0;
	}
	return 0;
}

static int do_readdir(const struct meta_opts *o, unsigned long long *ops, double *elapsed,
		      char *err, size_t errlen)
{
	double t0 = now(), end = t0 + o->seconds, t = t0;

	*ops = 0;
	do {
		DIR *d = opendir(o->dir);
		struct dirent *de;
		unsigned long n = 0;

		if (!d) {
			bench_str(err, errlen, "opendir %s: %s", o->dir, strerror(errno));
			return -1;
		}
		errno = 0;
		while ((de = readdir(d)))
			n++;
		if (errno) {
			bench_str(err, errlen, "readdir %s: %s", o->dir, strerror(errno));
			closedir(d);
			return -1;
		}
		closedir(d);
		if (n < o->count) {
			bench_str(err, errlen, "readdir %s: %lu entries, expected at least %u", o->dir,
				 n, o->count);
			return -1;
		}
		(*ops)++;
		t = now();
	} while (t < end);
	*elapsed = t - t0;
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) && errno != ENOENT ? -1 : 0;
	return unlink(path) && errno != ENOENT ? -1 : 0;
}

int bench_rmtree(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	/* FTW_MOUNT: never cross into a filesystem mounted below path. */
	if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT))
		return errno ? -errno : -EIO;
	return 0;
}

static void json_out(const struct meta_opts *o, unsigned long long ops, double seconds,
		     double busy, const char *error)
{
	double rate = seconds > 0 ? (double)ops / seconds : 0;
	double us = ops ? busy * 1e6 / (double)ops : 0;
	const char *p;

	printf("{\"mode\": \"%s\", \"threads\": %u, \"ops\": %llu, \"seconds\": %.6f, "
	       "\"ops_per_s\": %.3f, \"us_per_op\": %.3f, \"error\": \"", o->mode, o->threads, ops,
	       seconds, rate, us);
	for (p = error; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			printf("\\u%04x", (unsigned char)*p);
		else
			putchar(*p);
	}
	printf("\"}\n");
	fflush(stdout);
}

static void meta_usage(FILE *out)
{
	fprintf(out,
"Usage: furi bench-meta MODE --dir DIR [--threads N] [--count N] [--seconds S] [--passes N]\n"
"\n"
"The metadata benchmark of furi bench. MODE is one of creates, getattr,\n"
"stat-many, readdir, cwcu (measurements; one JSON line on stdout) or\n"
"populate, rmtree (setup and cleanup).\n");
}

int bench_meta_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "passes", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct meta_opts o = { NULL, NULL, 1, 1000, 1, 5.0 };
	unsigned long long ops = 0;
	double elapsed = 0, busy = 0;
	char err[512] = "";
	int c, r = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:t:n:s:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 't': o.threads = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'n': o.count = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': o.seconds = strtod(optarg, NULL); break;
		case 'p': o.passes = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'h': meta_usage(stdout); return 0;
		default: meta_usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || !o.dir || !o.threads || o.threads > 1024 || !o.passes ||
	    !(o.seconds > 0)) {
		meta_usage(stderr);
		return 2;
	}
	o.mode = argv[optind];
	if (!strcmp(o.mode, "populate")) {
		if (do_populate(&o, err, sizeof(err))) {
			fprintf(stderr, "furi bench-meta: %s\n", err);
			return 1;
		}
		return 0;
	}
	if (!strcmp(o.mode, "rmtree")) {
		r = bench_rmtree(o.dir);
		if (r) {
			fprintf(stderr, "furi bench-meta: rmtree %s: %s\n", o.dir, strerror(-r));
			return 1;
		}
		return 0;
	}
	if (!strcmp(o.mode, "creates") || !strcmp(o.mode, "cwcu")) {
		if (mkdir(o.dir, 0755) && errno != EEXIST) {
			bench_str(err, sizeof(err), "mkdir %s: %s", o.dir, strerror(errno));
			r = -1;
		} else {
			r = run_threads(&o, !strcmp(o.mode, "creates") ? run_creates : run_cwcu,
					&ops, &elapsed, &busy, err, sizeof(err));
		}
	} else if (!strcmp(o.mode, "getattr")) {
		char path[4200];

		bench_str(path, sizeof(path), "%s/getattr-file", o.dir);
		if (mkdir(o.dir, 0755) && errno != EEXIST)
			bench_str(err, sizeof(err), "mkdir %s: %s", o.dir, strerror(errno));
		else if ((getattr_fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0644)) < 0)
			bench_str(err, sizeof(err), "create %s: %s", path, strerror(errno));
		if (err[0])
			r = -1;
		else
			r = run_threads(&o, run_getattr, &ops, &elapsed, &busy, err, sizeof(err));
		if (getattr_fd >= 0)
			close(getattr_fd);
	} else if (!strcmp(o.mode, "stat-many")) {
		o.threads = 1;
		r = do_stat_many(&o, &ops, &elapsed, err, sizeof(err));
		busy = elapsed;
	} else if (!strcmp(o.mode, "readdir")) {
		o.threads = 1;
		r = do_readdir(&o, &ops, &elapsed, err, sizeof(err));
		busy = elapsed;
	} else {
		fprintf(stderr, "furi bench-meta: unknown mode '%s'\n", o.mode);
		meta_usage(stderr);
		return 2;
	}
	json_out(&o, ops, elapsed, busy, err);
	return r ? 1 : 0;
}

/* ---- the runner's side ---- */

int bench_meta_argv(const struct bench_work *w, const char *self, const char *base,
		    char **argv, int maxargs, char *buf, size_t buflen)
{
	size_t used = 0;
	int argc = 0;
	char tmp[5][4200];
	int ntmp = 0, i;
	const char *fixed[3] = { self, "bench-meta", w->mode };

	if (maxargs < 14)
		return -1;
	bench_str(tmp[ntmp++], sizeof(tmp[0]), "--dir=%s/%s", base, w->dir);
	bench_str(tmp[ntmp++], sizeof(tmp[0]), "--threads=%u", w->threads ? w->threads : 1);
	bench_str(tmp[ntmp++], sizeof(tmp[0]), "--count=%u", w->count);
	bench_str(tmp[ntmp++], sizeof(tmp[0]), "--seconds=%g", w->seconds > 0 ? w->seconds : 1.0);
	bench_str(tmp[ntmp++], sizeof(tmp[0]), "--passes=%u", w->passes ? w->passes : 1);
	for (i = 0; i < 3 + ntmp; i++) {
		const char *s = i < 3 ? fixed[i] : tmp[i - 3];
		size_t n = strlen(s) + 1;

		if (used + n > buflen)
			return -1;
		memcpy(buf + used, s, n);
		argv[argc++] = buf + used;
		used += n;
	}
	argv[argc] = NULL;
	return argc;
}

int bench_meta_cmdline(const struct bench_work *w, const char *self, const char *base,
		       char *line, size_t len)
{
	char *argv[16], buf[8192];
	int argc;

	argc = bench_meta_argv(w, self, base, argv, 16, buf, sizeof(buf));
	return bench_join_argv(argv, argc, line, len);
}

int bench_meta_parse(const char *text, size_t len, struct bench_dir *d, double *ops,
		     char *err, size_t errlen)
{
	const char *brace = text ? memchr(text, '{', len) : NULL;
	struct json_value *v;
	const char *e;
	char jerr[160];

	if (!brace) {
		bench_str(err, errlen, "no result line from furi bench-meta");
		return -1;
	}
	/* One line: parse up to its end. */
	len -= (size_t)(brace - text);
	{
		const char *nl = memchr(brace, '\n', len);

		if (nl)
			len = (size_t)(nl - brace);
	}
	v = json_parse(brace, len, jerr, sizeof(jerr));
	if (!v) {
		bench_str(err, errlen, "bad result line from furi bench-meta: %s", jerr);
		return -1;
	}
	e = json_str(json_get(v, "error"), "");
	if (e[0]) {
		bench_str(err, errlen, "%s", e);
		json_free(v);
		return -1;
	}
	d->iops = json_num(json_get(v, "ops_per_s"), 0);
	d->mibs = 0;
	d->lat_us = json_num(json_get(v, "us_per_op"), -1);
	d->p99_us = -1;
	*ops = json_num(json_get(v, "ops"), 0);
	json_free(v);
	if (!(d->iops > 0)) {
		bench_str(err, errlen, "furi bench-meta measured no operations");
		return -1;
	}
	return 0;
}
