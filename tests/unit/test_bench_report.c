/* SPDX-License-Identifier: MIT */
/*
 * test_bench_report.c - report generation of furi bench (bench/report.c,
 * bench/stats.c) on samples read from RECORDED fio output
 * (tests/unit/data/): table cells, medians with spread, io_uring ÷ /dev/fuse
 * and FUSE ÷ native ratios, CPU per request, requests per I/O, a fallen-back
 * io_uring mount, the acceptance table, the TSV and the gnuplot files;
 * results.tsv read back for `furi bench --replot` (bench/results.c); then
 * with a libfuse peer and a nice19 load: the peer's columns, CPU per I/O,
 * the tables per load, what each variant keeps under load.
 * Only the arithmetic on fixed inputs is checked; nothing here measures.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../bench/fio.h"
#include "../../bench/report.h"
#include "../../bench/results.h"
#include "../../bench/suites.h"
#include "bench_testdata.h"
#include "check.h"


static void expect_in(const char *text, const char *needle)
{
	if (!strstr(text, needle)) {
		fprintf(stderr, "report lacks: %s\n", needle);
		check_failures++;
	}
}

static void expect_not_in(const char *text, const char *needle)
{
	if (strstr(text, needle)) {
		fprintf(stderr, "report should not contain: %s\n", needle);
		check_failures++;
	}
}

enum { V_NATIVE, V_URING, V_LEGACY, V_LIBFUSE };

static void sample_from(struct bench_sample *s, const char *file)
{
	struct bench_fio_result r;
	char err[256];
	size_t len;
	char *doc = testdata_read(file, &len);

	if (bench_fio_parse(doc, len, &r, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", file, err);
		exit(1);
	}
	free(doc);
	memset(s, 0, sizeof(*s));
	s->state = BENCH_OK;
	s->rw[0] = r.rw[0];
	s->rw[1] = r.rw[1];
	s->ios = r.ios;
	s->requests = -1;
	s->cpu_s = -1;
	s->rss_kb = -1;
}

static void meta_sample(struct bench_sample *s, double ops_per_s)
{
	memset(s, 0, sizeof(*s));
	s->state = BENCH_OK;
	s->rw[0].iops = ops_per_s;
	s->rw[0].lat_us = 1e6 / ops_per_s;
	s->rw[0].p99_us = -1;
	s->rw[1].lat_us = s->rw[1].p99_us = -1;
	s->requests = -1;
	s->cpu_s = -1;
	s->rss_kb = -1;
}

static void variant(struct bench_run *run, int i, const char *label, const char *fs,
		    enum bench_kind k)
{
	struct bench_variant *v = &run->v[i];

	snprintf(v->label, sizeof(v->label), "%s", label);
	snprintf(v->fs, sizeof(v->fs), "%s", fs);
	v->kind = k;
	snprintf(v->describe, sizeof(v->describe), "test variant %s", label);
}

static void mounted(struct bench_suite *s, int v, const char *transport, int pid)
{
	s->m[v].used = s->m[v].mounted = s->m[v].verified = true;
	snprintf(s->m[v].transport, sizeof(s->m[v].transport), "%s", transport);
	s->m[v].pid = pid;
	s->m[v].threads = 2;
	s->m[v].queues = strcmp(transport, "io_uring") ? 0 : 2;
	s->m[v].depth = s->m[v].queues ? 64 : 0;
	s->m[v].buffer_bytes = s->m[v].queues ? 135319552 : 2097152;
	s->m[v].rss_kb_max = 200 * 1024;
}

static struct bench_run *make_run(void)
{
	struct bench_run *run = calloc(1, sizeof(*run));
	struct bench_suite *s = &run->s[0];
	struct bench_cell *c;
	int r;

	snprintf(run->command, sizeof(run->command), "furi bench transport");
	snprintf(run->machine.kernel, sizeof(run->machine.kernel), "Linux 6.18 x86_64");
	snprintf(run->machine.cpu, sizeof(run->machine.cpu), "Test CPU");
	run->machine.ncpu = 2;
	run->machine.mem_gib = 24;
	snprintf(run->machine.fio, sizeof(run->machine.fio), "fio-3.33");
	snprintf(run->machine.enable_uring, sizeof(run->machine.enable_uring), "Y");
	snprintf(run->machine.load_start, sizeof(run->machine.load_start), "0.10 0.20 0.30");
	snprintf(run->machine.load_end, sizeof(run->machine.load_end), "0.40 0.50 0.60");
	run->rounds = 3;
	run->nloads = 1;
	run->loads[0] = BENCH_LOAD_IDLE;
	run->load_procs = 2;
	run->nvariants = 3;
	variant(run, V_NATIVE, "native (tmpfs)", "", BENCH_NATIVE);
	variant(run, V_URING, "memfs io_uring", "memfs", BENCH_URING);
	variant(run, V_LEGACY, "memfs /dev/fuse", "memfs", BENCH_LEGACY);
	run->ngroups = 1;
	snprintf(run->g[0].fs, sizeof(run->g[0].fs), "memfs");
	run->g[0].v[BENCH_NATIVE] = V_NATIVE;
	run->g[0].v[BENCH_URING] = V_URING;
	run->g[0].v[BENCH_LEGACY] = V_LEGACY;
	run->g[0].v[BENCH_PASSTHROUGH] = -1;
	run->g[0].v[BENCH_LIBFUSE_URING] = -1;

	run->nsuites = 1;
	snprintf(s->name, sizeof(s->name), "transport");
	snprintf(s->title, sizeof(s->title), "transport test");
	s->run = true;
	s->cells = calloc(3, sizeof(*s->cells));
	s->ncells = 3;
	mounted(s, V_NATIVE, "native", 0);
	mounted(s, V_URING, "io_uring", 1111);
	mounted(s, V_LEGACY, "dev_fuse", 2222);

	/* Cell 0: 4 KiB randread QD1, one round per variant, from recorded fio runs. */
	c = &s->cells[0];
	snprintf(c->id, sizeof(c->id), "randread-4k-qd1");
	snprintf(c->title, sizeof(c->title), "4 KiB randread O_DIRECT QD1");
	c->w.kind = BENCH_WORK_FIO;
	c->nrows = 1;
	c->rows[0].dir = BENCH_READ;
	c->rows[0].unit = BENCH_IOPS;
	c->per_io = true;
	c->accept = BENCH_ACCEPT_4K;
	snprintf(c->cmd, sizeof(c->cmd), "fio --name=randread-4k-qd1 ...");
	sample_from(&c->s[0][V_NATIVE][0], "fio-randread-4k-qd1-native.json");
	sample_from(&c->s[0][V_URING][0], "fio-randread-4k-qd1-uring.json");
	sample_from(&c->s[0][V_LEGACY][0], "fio-randread-4k-qd1-devfuse.json");
	c->s[0][V_URING][0].requests = 5105;	/* 5005 I/Os: 1.02 requests per I/O */
	c->s[0][V_URING][0].cpu_s = 0.015;		/* 2.94 us per request */
	c->s[0][V_URING][0].window_s = 0.26;
	c->s[0][V_LEGACY][0].requests = 1091;
	c->s[0][V_LEGACY][0].cpu_s = 0.0109;	/* 9.99 us per request */
	c->s[0][V_LEGACY][0].window_s = 0.25;

	/* Cell 1: 70/30 randrw, read and write rows; /dev/fuse at half the recorded rates. */
	c = &s->cells[1];
	snprintf(c->id, sizeof(c->id), "randrw-j4-qd64");
	snprintf(c->title, sizeof(c->title), "70/30 randrw, 4 jobs, QD64");
	c->w.kind = BENCH_WORK_FIO;
	c->nrows = 2;
	c->rows[0].dir = BENCH_READ;
	c->rows[0].unit = BENCH_MIBS;
	snprintf(c->rows[0].suffix, sizeof(c->rows[0].suffix), " read");
	c->rows[1].dir = BENCH_WRITE;
	c->rows[1].unit = BENCH_MIBS;
	snprintf(c->rows[1].suffix, sizeof(c->rows[1].suffix), " write");
	sample_from(&c->s[0][V_URING][0], "fio-randrw-j4-qd64-uring.json");
	c->s[0][V_LEGACY][0] = c->s[0][V_URING][0];
	for (r = 0; r < 2; r++) {
		c->s[0][V_LEGACY][0].rw[r].mibs /= 2;
		c->s[0][V_LEGACY][0].rw[r].iops /= 2;
	}

	/* Cell 2: forced GETATTR, three rounds with spread. */
	c = &s->cells[2];
	snprintf(c->id, sizeof(c->id), "getattr");
	snprintf(c->title, sizeof(c->title), "forced GETATTR");
	c->w.kind = BENCH_WORK_META;
	c->nrows = 1;
	c->rows[0].dir = BENCH_READ;
	c->rows[0].unit = BENCH_OPS;
	c->accept = BENCH_ACCEPT_GETATTR;
	meta_sample(&c->s[0][V_URING][0], 100);
	meta_sample(&c->s[0][V_URING][1], 300);
	meta_sample(&c->s[0][V_URING][2], 200);
	meta_sample(&c->s[0][V_LEGACY][0], 150);
	meta_sample(&c->s[0][V_LEGACY][1], 50);
	meta_sample(&c->s[0][V_LEGACY][2], 100);
	c->s[0][V_NATIVE][0].state = BENCH_FAILED;
	snprintf(c->s[0][V_NATIVE][0].err, sizeof(c->s[0][V_NATIVE][0].err), "recorded failure");
	return run;
}

static char *render(const struct bench_run *run, bool plots)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK(f != NULL);
	CHECK(bench_report_md(f, run, plots) == 0);
	fclose(f);
	return text;
}

static void test_format(void)
{
	char b[64];
	struct bench_stat st = { 3, 2, 1, 3 };
	double v[] = { 3, 1, 2, 4 };

	bench_fmt_num(b, sizeof(b), 19250.4);
	CHECK(!strcmp(b, "19250"));
	bench_fmt_num(b, sizeof(b), 77.5713);
	CHECK(!strcmp(b, "77.6"));
	bench_fmt_num(b, sizeof(b), 2.93829);
	CHECK(!strcmp(b, "2.94"));
	bench_fmt_num(b, sizeof(b), NAN);
	CHECK(!strcmp(b, "n/a"));
	bench_fmt_stat(b, sizeof(b), &st);
	CHECK(!strcmp(b, "2.00 (1.00–3.00)"));
	st.n = 1;
	bench_fmt_stat(b, sizeof(b), &st);
	CHECK(!strcmp(b, "2.00"));
	st.n = 0;
	bench_fmt_stat(b, sizeof(b), &st);
	CHECK(!strcmp(b, "n/a"));
	bench_fmt_ratio(b, sizeof(b), 19250, 4329.365079);
	CHECK(!strcmp(b, "4.45×"));
	bench_fmt_ratio(b, sizeof(b), 1, 0);
	CHECK(!strcmp(b, "n/a"));
	CHECK(bench_median(v, 3) == 2 && bench_median(v, 4) == 2.5 && isnan(bench_median(v, 0)));
}

static void test_stats(const struct bench_run *run)
{
	const struct bench_suite *s = &run->s[0];
	const struct bench_cell *c = &s->cells[2];
	struct bench_stat st = bench_cell_stat(c, V_URING, run->rounds, &c->rows[0], BENCH_VALUE);
	double gm, lo, hi;
	int n;

	CHECK(st.n == 3 && st.med == 200 && st.min == 100 && st.max == 300);
	st = bench_cell_stat(c, V_NATIVE, run->rounds, &c->rows[0], BENCH_VALUE);
	CHECK(st.n == 0);	/* failed and missing rounds do not count */
	c = &s->cells[0];
	CHECK(fabs(bench_sample_get(&c->s[0][V_URING][0], &c->rows[0], BENCH_REQ_PER_IO) - 1.01998) < 1e-4);
	CHECK(fabs(bench_sample_get(&c->s[0][V_URING][0], &c->rows[0], BENCH_CPU_PER_REQ) - 2.93830) < 1e-4);
	CHECK(isnan(bench_sample_get(&c->s[0][V_NATIVE][0], &c->rows[0], BENCH_CPU_PER_REQ)));
	/* Geometric mean of io_uring ÷ /dev/fuse: 4.4464, 2, 2, 2. */
	gm = bench_suite_gain(run, s, 0, BENCH_URING, BENCH_LEGACY, &n, &lo, &hi);
	CHECK(n == 4 && fabs(gm - 2.44216) < 1e-4 && lo == 2 && fabs(hi - 4.44638) < 1e-4);
}

static void test_markdown(const struct bench_run *run)
{
	char *md = render(run, true);

	expect_in(md, "| kernel | Linux 6.18 x86_64 |");
	expect_in(md, "| fio | fio-3.33 |");
	expect_in(md, "| fuse enable_uring | Y |");
	expect_in(md, "## Suite `transport`: transport test");
	/* Servers: verified transports. */
	expect_in(md, "| memfs io_uring | verified io_uring | 1111 | 2 × 64 | 2 | 129.1 MiB | 200.0 MiB |");
	expect_in(md, "| memfs /dev/fuse | verified dev_fuse | 2222 | – | 2 | 2.0 MiB | 200.0 MiB |");
	/* The 4 KiB row: values, ratios, CPU per request, requests per I/O. */
	expect_in(md, "| memfs | 4 KiB randread O_DIRECT QD1 | IOPS | 34278 | 19250 | 4329 | 4.45× | "
		      "0.56× | 0.13× | 2.94 | 9.99 | 1.02 | 1.00 |");
	/* Read and write rows of one fio run. */
	expect_in(md, "| memfs | 70/30 randrw, 4 jobs, QD64 read | MiB/s | – | 77.6 | 38.8 | 2.00× | n/a | n/a |");
	expect_in(md, "| memfs | 70/30 randrw, 4 jobs, QD64 write | MiB/s | – | 34.4 | 17.2 | 2.00× |");
	/* Medians with spread; a failed native round. */
	expect_in(md, "| memfs | forced GETATTR | ops/s | failed | 200 (100–300) | 100 (50.0–150) | 2.00× |");
	expect_in(md, "- forced GETATTR, native (tmpfs), round 1: recorded failure");
	/* Acceptance: met on 4 KiB (4.45× at 2.94 us), not met on GETATTR (2.00× < 2.8×). */
	expect_in(md, "| memfs | 4 KiB randread O_DIRECT QD1 | 4.45× | ≥ 1.4×, < 3 µs | 2.94 | met |");
	expect_in(md, "| memfs | forced GETATTR | 2.00× | ≥ 2.8× | n/a | **not met** |");
	/* Summary and latency. */
	expect_in(md, "| transport | memfs | 2.44× (2.00–4.45) | 0.56× | 0.13× |");
	expect_in(md, "| memfs | 4 KiB randread O_DIRECT QD1 | 28.7 / 148 | 45.4 / 469 | 201 / 4112 |");
	expect_in(md, "![transport throughput](plots/transport-throughput.png)");
	expect_in(md, "fio --name=randread-4k-qd1 ...");
	expect_not_in(md, "fallen back");
	expect_not_in(md, "machine was busy");
	free(md);
}

static void test_fallen_back(struct bench_run *run)
{
	struct bench_suite *s = &run->s[0];
	char *md;

	s->m[V_URING].verified = false;
	s->m[V_URING].fallen_back = true;
	snprintf(s->m[V_URING].transport, sizeof(s->m[V_URING].transport), "dev_fuse");
	snprintf(s->m[V_URING].problem, sizeof(s->m[V_URING].problem),
		 "enable_uring is N (fix: echo Y > /sys/module/fuse/parameters/enable_uring)");
	md = render(run, false);
	expect_in(md, "| memfs io_uring | FALLEN BACK to dev_fuse: enable_uring is N");
	/* Its numbers are shown, labelled, and never used for io_uring ratios. */
	expect_in(md, "| memfs | 4 KiB randread O_DIRECT QD1 | IOPS | 34278 | fallen back to /dev/fuse: 19250 | 4329 | n/a | n/a | 0.13× |");
	expect_in(md, "| memfs | 4 KiB randread O_DIRECT QD1 | n/a | ≥ 1.4×, < 3 µs | n/a | not measured |");
	expect_in(md, "| transport | memfs | n/a | n/a | 0.13× |");
	expect_not_in(md, "verified io_uring");
	expect_not_in(md, "plots/");
	free(md);
	s->m[V_URING].verified = true;
	s->m[V_URING].fallen_back = false;
	snprintf(s->m[V_URING].transport, sizeof(s->m[V_URING].transport), "io_uring");
	s->m[V_URING].problem[0] = '\0';
}

static void test_tsv_and_plots(const struct bench_run *run)
{
	char tmpl[] = "/tmp/test_bench_report.XXXXXX", scripts[8][64], path[256];
	char *text = NULL, *dat;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int n, lines = 0;
	char *p;

	CHECK(bench_report_tsv(f, run) == 0);
	fclose(f);
	for (p = text; *p; p++)
		lines += *p == '\n';
	CHECK(lines == 1 + 3 + 2 + 7);	/* header; cell 0: 3; cell 1: 2; cell 2: 6 + 1 failed */
	CHECK(strstr(text, "transport\trandread-4k-qd1\tmemfs io_uring\tidle\t1\tok\t75.195\t19250.0\t45.44\t468.99") != NULL);
	CHECK(strstr(text, "\tfailed\t") != NULL);
	free(text);

	CHECK(mkdtemp(tmpl) != NULL);
	n = bench_report_plots(run, tmpl, scripts, 8);
	CHECK(n == 2);
	CHECK(n == 2 && !strcmp(scripts[0], "transport-throughput.gp") &&
	      !strcmp(scripts[1], "transport-latency.gp"));
	snprintf(path, sizeof(path), "%s/transport-throughput.dat", tmpl);
	dat = testdata_read_abs(path);
	/*
	 * Two panels, native, io_uring, /dev/fuse, passthrough in each: relative
	 * to /dev/fuse (io_uring 4.44638, /dev/fuse 1, native left out), then
	 * relative to native (io_uring 4.44638 / 7.91751, /dev/fuse 1 / 7.91751).
	 */
	CHECK(strstr(dat, "\"memfs:randread-4k-qd1\" ? ? ? 4.44638 4.44638 4.44638 1 1 1 ? ? ? ? ? ? "
			  "? ? ? 0.561588 0.561588 0.561588 0.126302 0.126302 0.126302 ? ? ? ? ? ?") != NULL);
	CHECK(strstr(dat, "\"memfs:randrw-j4-qd64_read\" ? ? ? 2 2 2 1 1 1 ? ? ? ? ? ? ? ? ? ? ? ? ? ? ? ? ? ? ? ? ?") != NULL);
	free(dat);
	snprintf(path, sizeof(path), "%s/transport-throughput.gp", tmpl);
	dat = testdata_read_abs(path);
	CHECK(strstr(dat, "set output 'transport-throughput.png'") != NULL);
	CHECK(strstr(dat, "set multiplot layout 2,1") != NULL);
	/* Top: io_uring and the /dev/fuse bars it is compared with, native left out. */
	CHECK(strstr(dat, "set ylabel '× /dev/fuse'") != NULL);
	CHECK(strstr(dat, "plot 'transport-throughput.dat' using 5:6:7 title 'io_uring' lt 2, \\\n"
			  "     'transport-throughput.dat' using 8:9:10 title '/dev/fuse' lt 3\n") != NULL);
	/* Bottom: both transports relative to native, with the cell names. */
	CHECK(strstr(dat, "set ylabel '× native'") != NULL);
	CHECK(strstr(dat, "plot 'transport-throughput.dat' using 20:21:22:xtic(1) title 'io_uring' lt 2, \\\n"
			  "     'transport-throughput.dat' using 23:24:25 title '/dev/fuse' lt 3\n") != NULL);
	CHECK(strstr(dat, "title 'native'") == NULL);
	CHECK(strstr(dat, "title 'passthrough'") == NULL);
	free(dat);
	snprintf(path, sizeof(path), "%s/transport-latency.gp", tmpl);
	dat = testdata_read_abs(path);
	/* Latency: one panel, absolute, every kind with native first. */
	CHECK(strstr(dat, "set multiplot layout 1,1") != NULL);
	CHECK(strstr(dat, "using 2:3:4:xtic(1) title 'native' lt 1") != NULL);
	CHECK(strstr(dat, "using 8:9:10 title '/dev/fuse' lt 3") != NULL);
	free(dat);
	snprintf(path, sizeof(path), "%s/transport-latency.dat", tmpl);
	dat = testdata_read_abs(path);
	CHECK(strstr(dat, "getattr") == NULL);	/* metadata cells have no fio latency */
	free(dat);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpl);
	CHECK(system(path) == 0);
}

/* A results.tsv as bench_report_tsv() writes it: real transport cells. */
static const char results_tsv[] =
"suite\tcell\tvariant\tload\tround\tstate\tread_mibs\tread_iops\tread_lat_us\tread_p99_us\t"
"write_mibs\twrite_iops\twrite_lat_us\twrite_p99_us\tios\trequests\twindow_s\tcpu_s\t"
"rss_kb\ttransport\terror\n"
"transport\trandread-4k-qd1\tnative (tmpfs)\tidle\t1\tok\t300.000\t80000.0\t12.00\t60.00\t0.000\t0.0\t-1.00\t-1.00\t800000.0\t-1\t0.000\t-1.000\t-1\tnative\t\n"
"transport\trandread-4k-qd1\tmemfs io_uring\tidle\t1\tok\t150.000\t40000.0\t24.00\t100.00\t0.000\t0.0\t-1.00\t-1.00\t240000.0\t250000\t6.000\t2.000\t130000\tio_uring\t\n"
"transport\trandread-4k-qd1\tmemfs io_uring\tidle\t2\tok\t180.000\t48000.0\t20.00\t90.00\t0.000\t0.0\t-1.00\t-1.00\t288000.0\t290000\t6.000\t2.100\t130000\tio_uring\t\n"
"transport\trandread-4k-qd1\tmemfs /dev/fuse\tidle\t1\tok\t75.000\t20000.0\t48.00\t200.00\t0.000\t0.0\t-1.00\t-1.00\t120000.0\t125000\t6.000\t1.000\t2000\tdev_fuse\t\n"
"transport\trandread-4k-qd1\tmemfs /dev/fuse\tidle\t2\tfailed\t0.000\t0.0\t0.00\t0.00\t0.000\t0.0\t0.00\t0.00\t0.0\t-1\t0.000\t-1.000\t-1\t?\ttimed out\n"
"transport\trandread-4k-qd1\tnullfs io_uring\tidle\t1\tok\t90.000\t24000.0\t40.00\t150.00\t0.000\t0.0\t-1.00\t-1.00\t144000.0\t150000\t6.000\t1.200\t2000\tdev_fuse\t\n"
"transport\trandread-4k-qd1\tnullfs /dev/fuse\tidle\t1\tok\t80.000\t20000.0\t48.00\t200.00\t0.000\t0.0\t-1.00\t-1.00\t120000.0\t125000\t6.000\t1.000\t2000\tdev_fuse\t\n";

static struct bench_run *read_results(const char *text, char *err, size_t errlen, int *rc)
{
	struct bench_run *run = calloc(1, sizeof(*run));
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	*rc = bench_results_read(f, run, err, errlen);
	fclose(f);
	return run;
}

static void free_results(struct bench_run *run)
{
	int i;

	for (i = 0; i < run->nsuites; i++)
		bench_suite_free(&run->s[i]);
	free(run);
}

/* furi bench --replot: results.tsv back into a run, its plots drawn from it. */
static void test_results_read(void)
{
	char err[256] = "", *text = NULL, *dat, tmpl[] = "/tmp/test_bench_results.XXXXXX";
	char scripts[8][64], path[256];
	struct bench_run *run;
	struct bench_suite *s;
	size_t len = 0;
	FILE *f;
	int rc, uring = -1, legacy = -1, null_uring = -1, v;

	run = read_results(results_tsv, err, sizeof(err), &rc);
	CHECK_EQ(rc, 0);
	CHECK_EQ(run->nsuites, 1);
	CHECK_EQ(run->rounds, 2);
	CHECK_EQ(run->ngroups, 2);	/* memfs, nullfs, as the labels name them */
	s = &run->s[0];
	CHECK(!strcmp(s->name, "transport") && s->run);
	CHECK_EQ(s->ncells, 1);		/* only the cell the samples reached */
	CHECK(!strcmp(s->cells[0].id, "randread-4k-qd1"));
	for (v = 0; v < run->nvariants; v++) {
		uring = !strcmp(run->v[v].label, "memfs io_uring") ? v : uring;
		legacy = !strcmp(run->v[v].label, "memfs /dev/fuse") ? v : legacy;
		null_uring = !strcmp(run->v[v].label, "nullfs io_uring") ? v : null_uring;
	}
	CHECK(uring >= 0 && legacy >= 0 && null_uring >= 0);
	if (uring < 0 || legacy < 0 || null_uring < 0)
		return;
	CHECK(s->m[uring].used && s->m[uring].verified);
	CHECK(s->m[legacy].verified);	/* its failed round says nothing about the transport */
	/* An io_uring variant whose server said dev_fuse stays out of the io_uring bars. */
	CHECK(!s->m[null_uring].verified && s->m[null_uring].fallen_back);
	CHECK_EQ(s->cells[0].s[0][uring][1].state, BENCH_OK);
	CHECK_EQ((long long)s->cells[0].s[0][uring][1].rw[0].iops, 48000);
	CHECK_EQ(s->cells[0].s[0][legacy][1].state, BENCH_FAILED);
	CHECK(!strcmp(s->cells[0].s[0][legacy][1].err, "timed out"));

	/* Written again, the samples are the same lines. */
	f = open_memstream(&text, &len);
	CHECK(bench_report_tsv(f, run) == 0);
	fclose(f);
	CHECK(!strcmp(text, results_tsv));
	free(text);

	/* The plot: io_uring 44000 / 20000 = 2.2 (40000-48000: 2-2.4) of /dev/fuse, 0.55 of native. */
	CHECK(mkdtemp(tmpl) != NULL);
	CHECK_EQ(bench_report_plots(run, tmpl, scripts, 8), 2);
	snprintf(path, sizeof(path), "%s/transport-throughput.dat", tmpl);
	dat = testdata_read_abs(path);
	CHECK(strstr(dat, "\"memfs:randread-4k-qd1\" ? ? ? 2.2 2 2.4 1 1 1 ? ? ? ? ? ? ? ? ? 0.55 0.5 0.6 0.25 0.25 0.25 ? ? ? ? ? ?") != NULL);
	CHECK(strstr(dat, "\"nullfs:randread-4k-qd1\" ? ? ? ? ? ? 1 1 1 ? ? ? ? ? ? ? ? ? ? ? ? 0.25 0.25 0.25 ? ? ? ? ? ?") != NULL);
	free(dat);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpl);
	CHECK(system(path) == 0);
	free_results(run);

	/* Bad input: one line naming the line and what is wrong with it. */
	run = read_results("transport\tno-such-cell\tmemfs io_uring\t1\tok\t1\t1\t1\t1\t1\t1\t1\t1"
			   "\t1\t1\t1\t1\t1\tio_uring\t\n", err, sizeof(err), &rc);
	CHECK_EQ(rc, -1);
	CHECK(!strcmp(err, "line 1: unknown cell 'no-such-cell'"));
	free_results(run);
	run = read_results("transport\trandread-4k-qd1\tmemfs io_uring\t1\tok\n", err, sizeof(err), &rc);
	CHECK_EQ(rc, -1);
	CHECK(!strcmp(err, "line 1: 5 columns, expected 21"));
	free_results(run);
	run = read_results("transport\trandread-4k-qd1\tmemfs io_uring\tbusy\t1\tok\t1\t1\t1\t1\t1"
			   "\t1\t1\t1\t1\t1\t1\t1\t1\tio_uring\t\n", err, sizeof(err), &rc);
	CHECK_EQ(rc, -1);
	CHECK(!strcmp(err, "line 1: unknown load 'busy'"));
	free_results(run);
	/* A file from before --load: no load column, idle samples. */
	run = read_results("transport\trandread-4k-qd1\tmemfs io_uring\t1\tok\t150.000\t40000.0\t24.00"
			   "\t100.00\t0.000\t0.0\t-1.00\t-1.00\t240000.0\t250000\t6.000\t2.000\t130000"
			   "\tio_uring\t\n", err, sizeof(err), &rc);
	CHECK_EQ(rc, 0);
	CHECK(run->nloads == 1 && run->loads[0] == BENCH_LOAD_IDLE);
	free_results(run);
}

/* Scale every throughput of a sample (both directions) by f. */
static void scale(struct bench_sample *s, double f)
{
	int d;

	for (d = 0; d < 2; d++) {
		s->rw[d].mibs *= f;
		s->rw[d].iops *= f;
	}
}

/*
 * The run again with libfuse's memfs_ll as a peer and a nice19 load beside
 * idle: the columns and ratios of the peer, CPU per I/O where there are no
 * request counters, the tables per load, what each variant keeps under
 * load (bold below 0.80x), the summary per load, the TSV's load column.
 */
static void test_loads_and_peer(struct bench_run *run)
{
	struct bench_suite *s = &run->s[0];
	struct bench_cell *c = &s->cells[0];
	char *md, *text = NULL;
	size_t len = 0;
	FILE *f;
	double gm, lo, hi;
	int n, i, v;

	run->nvariants = 4;
	variant(run, V_LIBFUSE, "memfs libfuse io_uring", "memfs", BENCH_LIBFUSE_URING);
	run->g[0].v[BENCH_LIBFUSE_URING] = V_LIBFUSE;
	mounted(s, V_LIBFUSE, "io_uring", 3333);
	s->m[V_LIBFUSE].depth = 0;
	s->m[V_LIBFUSE].threads = 4;
	snprintf(s->m[V_LIBFUSE].transport_line, sizeof(s->m[V_LIBFUSE].transport_line),
		 "libfuse says io_uring=on, 2 fuse-ring-* threads");
	/* libfuse at half furi's io_uring rate, 9.99 us of CPU per I/O, no request counts. */
	c->s[0][V_LIBFUSE][0] = c->s[0][V_URING][0];
	scale(&c->s[0][V_LIBFUSE][0], 0.5);
	c->s[0][V_LIBFUSE][0].requests = -1;
	c->s[0][V_LIBFUSE][0].cpu_s = 0.05;
	/* Under nice19: io_uring keeps half, /dev/fuse 0.9, libfuse all; GETATTR runs too. */
	run->nloads = 2;
	run->loads[1] = BENCH_LOAD_NICE19;
	for (v = V_NATIVE; v <= V_LIBFUSE; v++)
		c->s[1][v][0] = c->s[0][v][0];
	scale(&c->s[1][V_URING][0], 0.5);
	scale(&c->s[1][V_LEGACY][0], 0.9);
	c = &s->cells[2];
	for (i = 0; i < 3; i++)
		c->s[1][V_URING][i] = c->s[0][V_URING][i];
	c->s[1][V_LIBFUSE][0].state = BENCH_FAILED;
	snprintf(c->s[1][V_LIBFUSE][0].err, sizeof(c->s[1][V_LIBFUSE][0].err), "recorded failure 2");

	md = render(run, false);
	expect_in(md, "  - nice19: 2 CPU-bound busy processes (one per online CPU) at nice 19, started "
		      "right before the sample and killed right after");
	expect_in(md, "| memfs libfuse io_uring | verified io_uring (libfuse says io_uring=on, 2 "
		      "fuse-ring-* threads) | 3333 | 2 × default | 4 | – | 200.0 MiB |");
	expect_in(md, "### Load `idle`");
	expect_in(md, "### Load `nice19`");
	expect_in(md, "| fs | cell | unit | native | io_uring | /dev/fuse | libfuse io_uring | "
		      "io_uring ÷ /dev/fuse | io_uring ÷ libfuse io_uring | io_uring ÷ native |");
	/* Idle: the peer's value, io_uring ÷ libfuse 2.00x, CPU per I/O of all three. */
	expect_in(md, "| memfs | 4 KiB randread O_DIRECT QD1 | IOPS | 34278 | 19250 | 4329 | 9625 | "
		      "4.45× | 2.00× | 0.56× | 0.13× | 2.94 | 9.99 | 1.02 | 1.00 | 3.00 | 9.99 | 9.99 |");
	/* nice19: io_uring at half, /dev/fuse at 0.9. */
	expect_in(md, "| memfs | 4 KiB randread O_DIRECT QD1 | IOPS | 34278 | 9625 | 3896 | 9625 | "
		      "2.47× | 1.00× | 0.28× | 0.11× |");
	expect_in(md, "### Kept under load");
	expect_in(md, "| memfs | 4 KiB randread O_DIRECT QD1 | nice19 | 1.00× | **0.50×** | 0.90× | 1.00× |");
	expect_in(md, "| memfs | forced GETATTR | nice19 | n/a | 1.00× | n/a | n/a |");
	expect_in(md, "- forced GETATTR, memfs libfuse io_uring under nice19, round 1: recorded failure 2");
	expect_in(md, "- forced GETATTR, native (tmpfs) under idle, round 1: recorded failure");
	/* Summary per load: io_uring ÷ libfuse, and what io_uring keeps (0.5 and 1: 0.71). */
	expect_in(md, "| suite | fs | load | io_uring ÷ /dev/fuse | io_uring ÷ libfuse io_uring | "
		      "io_uring ÷ native | /dev/fuse ÷ native | io_uring kept under load |");
	expect_in(md, "| transport | memfs | idle | 2.44× (2.00–4.45) | 2.00× | 0.56× | 0.13× | n/a |");
	expect_in(md, "| transport | memfs | nice19 | 2.47× | 1.00× | 0.28× | 0.11× | 0.71× (0.50–1.00) |");
	free(md);

	gm = bench_suite_gain_at(run, s, 0, BENCH_URING, 1, BENCH_URING, 0, &n, &lo, &hi);
	CHECK(n == 2 && fabs(gm - sqrt(0.5)) < 1e-9 && lo == 0.5 && hi == 1);
	/* CPU per I/O: libfuse has no requests, so none per request. */
	c = &s->cells[0];
	CHECK(fabs(bench_sample_get(&c->s[0][V_LIBFUSE][0], &c->rows[0], BENCH_CPU_PER_IO) - 9.99001) < 1e-4);
	CHECK(isnan(bench_sample_get(&c->s[0][V_LIBFUSE][0], &c->rows[0], BENCH_CPU_PER_REQ)));

	f = open_memstream(&text, &len);
	CHECK(bench_report_tsv(f, run) == 0);
	fclose(f);
	CHECK(strstr(text, "suite\tcell\tvariant\tload\tround\tstate\t") == text);
	CHECK(strstr(text, "transport\trandread-4k-qd1\tmemfs io_uring\tnice19\t1\tok\t37.598\t9625.0\t") != NULL);
	CHECK(strstr(text, "transport\trandread-4k-qd1\tmemfs libfuse io_uring\tidle\t1\tok\t") != NULL);
	free(text);
}

int main(int argc, char **argv)
{
	struct bench_run *run;

	testdata_set_dir(argc, argv);
	run = make_run();

	test_format();
	test_stats(run);
	test_markdown(run);
	test_fallen_back(run);
	test_tsv_and_plots(run);
	test_results_read();
	test_loads_and_peer(run);
	free(run->s[0].cells);
	free(run);
	return check_exit("bench report");
}
