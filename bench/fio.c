/* SPDX-License-Identifier: MIT */
/* fio.c - fio command lines and fio JSON results; see fio.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fio.h"
#include "json.h"

/* fio size syntax, exact: 1G, 64M, 4k, or bytes. */
static void fmt_size(char *buf, size_t len, uint64_t b)
{
	if (b && !(b % (1ULL << 30)))
		bench_str(buf, len, "%lluG", (unsigned long long)(b >> 30));
	else if (b && !(b % (1ULL << 20)))
		bench_str(buf, len, "%lluM", (unsigned long long)(b >> 20));
	else if (b && !(b % 1024))
		bench_str(buf, len, "%lluk", (unsigned long long)(b >> 10));
	else
		bench_str(buf, len, "%llu", (unsigned long long)b);
}

/* fio time syntax: whole seconds as "10s", else milliseconds "500ms". */
static void fmt_time(char *buf, size_t len, double s)
{
	long long ms = (long long)(s * 1000.0 + 0.5);

	if (ms % 1000 == 0)
		bench_str(buf, len, "%llds", ms / 1000);
	else
		bench_str(buf, len, "%lldms", ms);
}

struct argbuf {
	char **argv;
	int argc, max;
	char *buf;
	size_t used, len;
	bool overflow;
};

static void add(struct argbuf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct argbuf *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->overflow)
		return;
	if (a->argc + 1 >= a->max || a->used >= a->len) {
		a->overflow = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(a->buf + a->used, a->len - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= a->len - a->used) {
		a->overflow = true;
		return;
	}
	a->argv[a->argc++] = a->buf + a->used;
	a->argv[a->argc] = NULL;
	a->used += (size_t)n + 1;
}

int bench_fio_argv(const struct bench_work *w, const char *name, const char *dir,
		   const char *out, char **argv, int maxargs, char *buf, size_t buflen)
{
	struct argbuf a = { argv, 0, maxargs, buf, 0, buflen, false };
	char s1[32], s2[32];
	unsigned jobs = w->jobs ? w->jobs : 1;

	if (maxargs < 1)
		return -1;
	argv[0] = NULL;
	add(&a, "fio");
	add(&a, "--name=%s", name);
	add(&a, "--output-format=json");
	if (out)
		add(&a, "--output=%s", out);
	add(&a, "--ioengine=%s", w->engine);
	add(&a, "--rw=%s", w->rw);
	fmt_size(s1, sizeof(s1), w->bs);
	add(&a, "--bs=%s", s1);
	if (w->rwmix_read)
		add(&a, "--rwmixread=%u", w->rwmix_read);
	add(&a, "--iodepth=%u", w->iodepth ? w->iodepth : 1);
	add(&a, "--numjobs=%u", jobs);
	add(&a, "--group_reporting=1");
	add(&a, "--direct=%d", w->direct ? 1 : 0);
	if (w->per_job_files) {
		add(&a, "--directory=%s", dir);
		fmt_size(s1, sizeof(s1), w->file_size);
		add(&a, "--size=%s", s1);
	} else if (w->split) {
		uint64_t total = w->io_size ? w->io_size : w->file_size;

		add(&a, "--filename=%s/%s", dir, w->file);
		fmt_size(s1, sizeof(s1), total / jobs);
		add(&a, "--size=%s", s1);
		if (jobs > 1)
			add(&a, "--offset_increment=%s", s1);
	} else {
		add(&a, "--filename=%s/%s", dir, w->file);
		fmt_size(s1, sizeof(s1), w->file_size);
		add(&a, "--size=%s", s1);
	}
	/* The runner lays files out first: a missing file is an error, never unmeasured setup. */
	add(&a, "--allow_file_create=0");
	if (w->time_based) {
		fmt_time(s2, sizeof(s2), w->runtime_s);
		add(&a, "--time_based=1");
		add(&a, "--runtime=%s", s2);
	}
	if (w->ramp_s > 0) {
		fmt_time(s2, sizeof(s2), w->ramp_s);
		add(&a, "--ramp_time=%s", s2);
	}
	return a.overflow ? -1 : a.argc;
}

int bench_fio_cmdline(const struct bench_work *w, const char *name, const char *dir,
		      char *line, size_t len)
{
	char *argv[48], buf[2048];
	int argc;

	argc = bench_fio_argv(w, name, dir, NULL, argv, 48, buf, sizeof(buf));
	return bench_join_argv(argv, argc, line, len);
}

/* Accumulate one "read" or "write" block of a job. */
struct acc {
	double iops, bw, ios, lat_sum, p99_sum, lat_n, p99_n, runtime_ms;
};

static void add_dir(struct acc *a, const struct json_value *d)
{
	double ios, lat, p99;

	if (!d)
		return;
	ios = json_num(json_get(d, "total_ios"), 0);
	a->iops += json_num(json_get(d, "iops"), 0);
	a->bw += json_num(json_get(d, "bw_bytes"), 0);
	a->ios += ios;
	if (json_num(json_get(d, "runtime"), 0) > a->runtime_ms)
		a->runtime_ms = json_num(json_get(d, "runtime"), 0);
	if (ios <= 0)
		return;
	lat = json_num(json_path(d, "lat_ns.mean"), -1);
	if (lat >= 0) {
		a->lat_sum += lat * ios;
		a->lat_n += ios;
	}
	p99 = json_num(json_get(json_path(d, "clat_ns.percentile"), "99.000000"), -1);
	if (p99 >= 0) {
		a->p99_sum += p99 * ios;
		a->p99_n += ios;
	}
}

int bench_fio_parse(const char *text, size_t len, struct bench_fio_result *r,
		    char *err, size_t errlen)
{
	const char *brace = text ? memchr(text, '{', len) : NULL;
	const struct json_value *jobs;
	struct json_value *root;
	struct acc acc[2];
	char jerr[160];
	size_t i;
	int d;

	memset(r, 0, sizeof(*r));
	memset(acc, 0, sizeof(acc));
	if (!brace) {
		bench_str(err, errlen, "no JSON in fio output");
		return -1;
	}
	root = json_parse(brace, len - (size_t)(brace - text), jerr, sizeof(jerr));
	if (!root) {
		bench_str(err, errlen, "fio output is not valid JSON: %s", jerr);
		return -1;
	}
	bench_str(r->version, sizeof(r->version), "%s", json_str(json_get(root, "fio version"), ""));
	jobs = json_get(root, "jobs");
	if (!jobs || jobs->type != JSON_ARRAY || !json_len(jobs)) {
		bench_str(err, errlen, "fio output has no jobs");
		json_free(root);
		return -1;
	}
	r->jobs = (int)json_len(jobs);
	for (i = 0; i < json_len(jobs); i++) {
		const struct json_value *job = json_at(jobs, i);
		int e = (int)json_num(json_get(job, "error"), 0);

		if (e && !r->error)
			r->error = e;
		add_dir(&acc[0], json_get(job, "read"));
		add_dir(&acc[1], json_get(job, "write"));
	}
	for (d = 0; d < 2; d++) {
		r->rw[d].iops = acc[d].iops;
		r->rw[d].mibs = acc[d].bw / (1024.0 * 1024.0);
		r->rw[d].lat_us = acc[d].lat_n > 0 ? acc[d].lat_sum / acc[d].lat_n / 1000.0 : -1;
		r->rw[d].p99_us = acc[d].p99_n > 0 ? acc[d].p99_sum / acc[d].p99_n / 1000.0 : -1;
		r->ios += acc[d].ios;
		if (acc[d].runtime_ms / 1000.0 > r->runtime_s)
			r->runtime_s = acc[d].runtime_ms / 1000.0;
	}
	json_free(root);
	if (r->error) {
		bench_str(err, errlen, "fio reported error %d (%s)", r->error, strerror(r->error));
		return -1;
	}
	return 0;
}
