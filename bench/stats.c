/* SPDX-License-Identifier: MIT */
/* stats.c - medians and per-sample numbers over bench.h data. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

void bench_str(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

int bench_join_argv(char *const argv[], int argc, char *line, size_t len)
{
	size_t used = 0;
	int i;

	if (argc < 0 || !len)
		return -1;
	line[0] = '\0';
	for (i = 0; i < argc; i++) {
		int n = snprintf(line + used, len - used, "%s%s", i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= len - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

const char *bench_kind_title(enum bench_kind k)
{
	switch (k) {
	case BENCH_NATIVE: return "native";
	case BENCH_URING: return "io_uring";
	case BENCH_LEGACY: return "/dev/fuse";
	case BENCH_PASSTHROUGH: return "passthrough";
	case BENCH_LIBFUSE_URING: return "libfuse io_uring";
	default: return "?";
	}
}

const char *bench_kind_transport(enum bench_kind k)
{
	switch (k) {
	case BENCH_URING: return "io_uring";
	case BENCH_LEGACY: return "dev_fuse";
	case BENCH_PASSTHROUGH: return NULL;	/* either transport; passthrough is per file */
	case BENCH_LIBFUSE_URING: return "io_uring";
	default: return NULL;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(const double *v, int n)
{
	double tmp[BENCH_MAX_ROUNDS * 4];

	if (n <= 0 || n > (int)(sizeof(tmp) / sizeof(tmp[0])))
		return NAN;
	memcpy(tmp, v, (size_t)n * sizeof(*v));
	qsort(tmp, (size_t)n, sizeof(*tmp), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2.0;
}

static double dir_pick(const struct bench_sample *s, enum bench_dirsel dir, int field)
{
	const struct bench_dir *r = &s->rw[0], *w = &s->rw[1];

	switch (field) {
	case 0:		/* MiB/s */
		return dir == BENCH_RW ? r->mibs + w->mibs : s->rw[dir].mibs;
	case 1:		/* IOPS */
		return dir == BENCH_RW ? r->iops + w->iops : s->rw[dir].iops;
	default: {	/* latency: 2 mean, 3 p99 */
		double a = field == 2 ? r->lat_us : r->p99_us;
		double b = field == 2 ? w->lat_us : w->p99_us;

		if (dir == BENCH_READ)
			return a >= 0 ? a : NAN;
		if (dir == BENCH_WRITE)
			return b >= 0 ? b : NAN;
		if (a >= 0 && b >= 0 && r->iops + w->iops > 0)
			return (a * r->iops + b * w->iops) / (r->iops + w->iops);
		return a >= 0 ? a : b >= 0 ? b : NAN;
	}
	}
}

double bench_sample_get(const struct bench_sample *s, const struct bench_row *row,
			enum bench_what what)
{
	if (s->state != BENCH_OK)
		return NAN;
	switch (what) {
	case BENCH_VALUE:
		return dir_pick(s, row->dir, row->unit == BENCH_MIBS ? 0 : 1);
	case BENCH_LAT:
		return dir_pick(s, row->dir, 2);
	case BENCH_P99:
		return dir_pick(s, row->dir, 3);
	case BENCH_CPU_PER_REQ:
		return s->requests > 0 && s->cpu_s >= 0 ? s->cpu_s * 1e6 / s->requests : NAN;
	case BENCH_CPU_PER_IO:
		return s->ios > 0 && s->cpu_s >= 0 ? s->cpu_s * 1e6 / s->ios : NAN;
	case BENCH_REQ_PER_IO:
		return s->requests >= 0 && s->ios > 0 ? s->requests / s->ios : NAN;
	case BENCH_RSS:
		return s->rss_kb >= 0 ? s->rss_kb : NAN;
	}
	return NAN;
}

struct bench_stat bench_cell_stat_at(const struct bench_cell *c, int load, int variant,
				     int nrounds, const struct bench_row *row, enum bench_what what)
{
	struct bench_stat st = { 0, NAN, NAN, NAN };
	double v[BENCH_MAX_ROUNDS];
	int r;

	if (variant < 0 || variant >= BENCH_MAX_VARIANTS || load < 0 || load >= BENCH_MAX_LOADS)
		return st;
	if (nrounds > BENCH_MAX_ROUNDS)
		nrounds = BENCH_MAX_ROUNDS;
	for (r = 0; r < nrounds; r++) {
		double x = bench_sample_get(&c->s[load][variant][r], row, what);

		if (isnan(x))
			continue;
		if (!st.n || x < st.min)
			st.min = x;
		if (!st.n || x > st.max)
			st.max = x;
		v[st.n++] = x;
	}
	st.med = bench_median(v, st.n);
	return st;
}

struct bench_stat bench_cell_stat(const struct bench_cell *c, int variant, int nrounds,
				  const struct bench_row *row, enum bench_what what)
{
	return bench_cell_stat_at(c, 0, variant, nrounds, row, what);
}

static const char *const load_names[BENCH_NLOAD_KINDS] = { "idle", "nice19", "nice0" };

const char *bench_load_name(enum bench_load l)
{
	return l >= 0 && l < BENCH_NLOAD_KINDS ? load_names[l] : "?";
}

int bench_load_nice(enum bench_load l)
{
	return l == BENCH_LOAD_NICE19 ? 19 : 0;
}

void bench_load_describe(enum bench_load l, int nprocs, char *buf, size_t len)
{
	if (l == BENCH_LOAD_IDLE)
		bench_str(buf, len, "idle: nothing started beside the sample");
	else
		bench_str(buf, len, "%s: %d CPU-bound busy process%s (one per online CPU) at nice %d, "
			  "started right before the sample and killed right after",
			  bench_load_name(l), nprocs, nprocs == 1 ? "" : "es", bench_load_nice(l));
}

int bench_load_parse(const char *list, enum bench_load *loads, int max, char *err,
		     size_t errlen)
{
	const char *p = list;
	int n = 0;

	while (*p) {
		size_t len = strcspn(p, ",");
		int k, i;

		for (k = 0; k < BENCH_NLOAD_KINDS; k++)
			if (strlen(load_names[k]) == len && !strncmp(p, load_names[k], len))
				break;
		if (k == BENCH_NLOAD_KINDS) {
			bench_str(err, errlen, "--load: unknown load '%.*s' (known: idle, nice19, nice0)",
				  (int)len, p);
			return -1;
		}
		for (i = 0; i < n; i++)
			if (loads[i] == (enum bench_load)k) {
				bench_str(err, errlen, "--load: '%s' is given twice", load_names[k]);
				return -1;
			}
		if (n >= max) {
			bench_str(err, errlen, "--load: at most %d loads", max);
			return -1;
		}
		loads[n++] = (enum bench_load)k;
		p += len;
		if (*p == ',')
			p++;
	}
	if (!n) {
		bench_str(err, errlen, "--load: empty list (known: idle, nice19, nice0)");
		return -1;
	}
	return n;
}

int bench_load_index(const struct bench_run *run, enum bench_load l)
{
	int i;

	for (i = 0; i < run->nloads; i++)
		if (run->loads[i] == l)
			return i;
	return -1;
}
