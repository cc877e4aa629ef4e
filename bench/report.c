/* SPDX-License-Identifier: MIT */
/* report.c - markdown, TSV and gnuplot output of a bench run; see report.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const char *unit_name(enum bench_unit u)
{
	switch (u) {
	case BENCH_MIBS: return "MiB/s";
	case BENCH_IOPS: return "IOPS";
	default: return "ops/s";
	}
}

void bench_fmt_num(char *buf, size_t len, double x)
{
	if (isnan(x) || isinf(x))
		bench_str(buf, len, "n/a");
	else if (fabs(x) >= 100)
		bench_str(buf, len, "%.0f", x);
	else if (fabs(x) >= 10)
		bench_str(buf, len, "%.1f", x);
	else
		bench_str(buf, len, "%.2f", x);
}

void bench_fmt_stat(char *buf, size_t len, const struct bench_stat *st)
{
	char a[32], b[32], c[32];

	if (!st->n) {
		bench_str(buf, len, "n/a");
		return;
	}
	bench_fmt_num(a, sizeof(a), st->med);
	bench_fmt_num(b, sizeof(b), st->min);
	bench_fmt_num(c, sizeof(c), st->max);
	if (st->n > 1 && strcmp(b, c))
		bench_str(buf, len, "%s (%s–%s)", a, b, c);
	else
		bench_str(buf, len, "%s", a);
}

void bench_fmt_ratio(char *buf, size_t len, double a, double b)
{
	if (isnan(a) || isnan(b) || b <= 0)
		bench_str(buf, len, "n/a");
	else
		bench_str(buf, len, "%.2f×", a / b);
}

/* A variant whose numbers may be shown under its kind's column. */
static bool trusted(const struct bench_suite *s, int v)
{
	return v >= 0 && s->m[v].used && s->m[v].verified;
}

/* Median of a trusted variant under load index l; NaN otherwise. */
static double med_at(const struct bench_run *run, const struct bench_suite *s,
		     const struct bench_cell *c, int l, int v, const struct bench_row *row,
		     enum bench_what what)
{
	if (!trusted(s, v))
		return NAN;
	return bench_cell_stat_at(c, l, v, run->rounds, row, what).med;
}

/* The same under the first load: what the plots show. */
static double med(const struct bench_run *run, const struct bench_suite *s,
		  const struct bench_cell *c, int v, const struct bench_row *row,
		  enum bench_what what)
{
	return med_at(run, s, c, 0, v, row, what);
}

double bench_suite_gain(const struct bench_run *run, const struct bench_suite *s, int g,
			enum bench_kind a, enum bench_kind b, int *n, double *lo, double *hi)
{
	return bench_suite_gain_at(run, s, g, a, 0, b, 0, n, lo, hi);
}

double bench_suite_gain_at(const struct bench_run *run, const struct bench_suite *s, int g,
			   enum bench_kind a, int la, enum bench_kind b, int lb, int *n,
			   double *lo, double *hi)
{
	int va = run->g[g].v[a], vb = run->g[g].v[b], i, j, cnt = 0;
	double logsum = 0, mn = NAN, mx = NAN;

	for (i = 0; i < s->ncells; i++) {
		const struct bench_cell *c = &s->cells[i];

		for (j = 0; j < c->nrows; j++) {
			double x = med_at(run, s, c, la, va, &c->rows[j], BENCH_VALUE);
			double y = med_at(run, s, c, lb, vb, &c->rows[j], BENCH_VALUE);
			double r;

			if (isnan(x) || isnan(y) || x <= 0 || y <= 0)
				continue;
			r = x / y;
			logsum += log(r);
			if (!cnt || r < mn)
				mn = r;
			if (!cnt || r > mx)
				mx = r;
			cnt++;
		}
	}
	if (n)
		*n = cnt;
	if (lo)
		*lo = mn;
	if (hi)
		*hi = mx;
	return cnt ? exp(logsum / cnt) : NAN;
}

static void md_escape_pipe(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else
			fputc(*s, out);
	}
}

static void machine_section(FILE *out, const struct bench_run *run)
{
	const struct bench_machine *m = &run->machine;

	fprintf(out, "## Machine\n\n| | |\n|---|---|\n");
	fprintf(out, "| kernel | %s |\n", m->kernel);
	fprintf(out, "| CPU | %s, %d CPUs |\n", m->cpu, m->ncpu);
	fprintf(out, "| memory | %.1f GiB |\n", m->mem_gib);
	fprintf(out, "| fio | %s |\n", m->fio);
	fprintf(out, "| fuse enable_uring | %s |\n", m->enable_uring);
	fprintf(out, "| furi | %s |\n", m->furi);
	fprintf(out, "| date | %s |\n", m->date);
	fprintf(out, "| load average (1/5/15 min) | %s at the start, %s at the end |\n\n",
		m->load_start[0] ? m->load_start : "?", m->load_end[0] ? m->load_end : "?");
	if (atof(m->load_start) > m->ncpu / 2.0 || atof(m->load_end) > m->ncpu / 2.0)
		fprintf(out, "**The machine was busy with other work during this run** (load "
			     "average above half the CPU count): expect noise in every number.\n\n");
}

static bool run_has_kind(const struct bench_run *run, enum bench_kind k)
{
	int g;

	for (g = 0; g < run->ngroups; g++)
		if (run->g[g].v[k] >= 0)
			return true;
	return false;
}

/* How the background loads were made; nothing for the default idle-only run. */
static void loads_method(FILE *out, const struct bench_run *run)
{
	char d[256];
	int l;

	if (run->nloads == 1 && run->loads[0] == BENCH_LOAD_IDLE)
		return;
	fprintf(out, "- Background load (`--load`): every cell runs each variant under each load "
		     "below, interleaved in the same round, one variant's loads back to back:\n");
	for (l = 0; l < run->nloads; l++) {
		bench_load_describe(run->loads[l], run->load_procs, d, sizeof(d));
		fprintf(out, "  - %s\n", d);
	}
	fprintf(out, "  The busy processes are spinning loops, not pinned (the scheduler places "
		     "them as it places any work), one per online CPU so every CPU has something "
		     "else to run; \"kept under load\" is the median under a load ÷ the idle median "
		     "of the same variant and cell.\n");
}

static void method_section(FILE *out, const struct bench_run *run)
{
	int i;

	fprintf(out, "## Method\n\n");
	fprintf(out, "Variants (each furi filesystem is mounted with `furi mount`, unmounted with "
		     "`umount`):\n\n");
	for (i = 0; i < run->nvariants; i++)
		fprintf(out, "- **%s**: %s\n", run->v[i].label, run->v[i].describe);
	fprintf(out,
"\n- Every cell runs each variant in turn, %d round%s, the order rotated each round; a "
"table value is the median over the rounds with the spread (min–max) in parentheses.\n"
"- Before any number is reported the transport of each furi mount is read back from "
"`furi status MNT --json`. If the server of an io_uring variant reports dev_fuse, its "
"numbers are labelled so and kept out of the io_uring column and every io_uring ratio.\n"
"- FUSE requests per I/O = (status request counters after − before) / I/Os in the same "
"window. Server CPU per request = (CPU time of the server process, after − before) / "
"requests; the CPU time is utime+stime of all its threads, read from "
"/proc/PID/task/*/schedstat (nanoseconds; /proc/PID/stat has the same in 10 ms ticks, "
"used if a thread came or went). For time-based fio cells the window is the middle 60 %% of "
"the measured runtime (after fio's ramp_time warm-up, which fio also leaves out of its "
"numbers), with I/Os = fio's IOPS × window; for the others it is the whole run, with "
"fio's I/O count or the metadata program's operation count. "
"VmRSS is the server's resident memory after the run.\n"
"- Caches are dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`) before cold-read cells "
"(buffered and mmap reads); fio also invalidates a file's page cache when it opens it.\n",
		run->rounds, run->rounds == 1 ? "" : "s");
	if (run->native_note[0])
		fprintf(out, "- %s\n", run->native_note);
	loads_method(out, run);
	if (run_has_kind(run, BENCH_LIBFUSE_URING))
		fprintf(out, "- **libfuse io_uring** is libfuse's own example server, run in the foreground "
			     "as furi bench's child with `FUSE_INIT_STATUS=1`: it counts as io_uring only "
			     "if libfuse's FUSE_INIT status line says `io_uring=on` and it has fuse-ring-N "
			     "threads (checked again around every sample), else it is labelled fallen "
			     "back. It has no request counters: `CPU µs/IO` (server CPU over the same "
			     "window ÷ the workload's I/Os or operations in it) compares its CPU with "
			     "furi's.\n");
	if (run->quick)
		fprintf(out, "- **--quick**: small files, short runtimes, one round. A smoke test "
			     "of the runner; do not quote these numbers.\n");
	fprintf(out, "\n");
}

/* A geometric mean with its range, or n/a. */
static void gain_cell(FILE *out, double gm, int n, double lo, double hi)
{
	char a[32], lo_s[32], hi_s[32], b[80];

	if (!n) {
		fprintf(out, " n/a |");
		return;
	}
	bench_str(a, sizeof(a), "%.2f×", gm);
	bench_str(lo_s, sizeof(lo_s), "%.2f", lo);
	bench_str(hi_s, sizeof(hi_s), "%.2f", hi);
	bench_str(b, sizeof(b), " (%s–%s)", lo_s, hi_s);
	fprintf(out, " %s%s |", a, n > 1 ? b : "");
}

static void summary_section(FILE *out, const struct bench_run *run)
{
	bool lf = run_has_kind(run, BENCH_LIBFUSE_URING), loads = run->nloads > 1;
	int idle = bench_load_index(run, BENCH_LOAD_IDLE);
	int i, g, n, l;

	fprintf(out, "## Summary\n\nGeometric mean over the rows of each suite (range in "
		     "parentheses)%s.\n\n", loads ? ", per load" : "");
	fprintf(out, "| suite | fs |%s io_uring ÷ /dev/fuse |%s io_uring ÷ native | /dev/fuse ÷ native |%s\n"
		     "|---|---|%s---|%s---|---|%s\n",
		loads ? " load |" : "", lf ? " io_uring ÷ libfuse io_uring |" : "",
		loads && idle >= 0 ? " io_uring kept under load |" : "",
		loads ? "---|" : "", lf ? "---|" : "", loads && idle >= 0 ? "---|" : "");
	for (i = 0; i < run->nsuites; i++) {
		const struct bench_suite *s = &run->s[i];

		if (!s->run)
			continue;
		for (g = 0; g < run->ngroups; g++) {
			for (l = 0; l < run->nloads; l++) {
				enum bench_kind pairs[4][2] = { { BENCH_URING, BENCH_LEGACY },
								{ BENCH_URING, BENCH_LIBFUSE_URING },
								{ BENCH_URING, BENCH_NATIVE },
								{ BENCH_LEGACY, BENCH_NATIVE } };
				int p;

				fprintf(out, "| %s | %s |", s->name, run->g[g].fs);
				if (loads)
					fprintf(out, " %s |", bench_load_name(run->loads[l]));
				for (p = 0; p < 4; p++) {
					double lo = NAN, hi = NAN, gm;

					if (p == 1 && !lf)
						continue;
					gm = bench_suite_gain_at(run, s, g, pairs[p][0], l, pairs[p][1], l,
								 &n, &lo, &hi);
					gain_cell(out, gm, n, lo, hi);
				}
				if (loads && idle >= 0) {
					double lo = NAN, hi = NAN, gm = NAN;

					n = 0;
					if (l != idle)
						gm = bench_suite_gain_at(run, s, g, BENCH_URING, l, BENCH_URING,
									 idle, &n, &lo, &hi);
					gain_cell(out, gm, n, lo, hi);
				}
				fprintf(out, "\n");
			}
		}
	}
	fprintf(out, "\n");
}

/* The transport issue's acceptance targets, checked on the transport suite. */
static void acceptance(FILE *out, const struct bench_run *run, const struct bench_suite *s, int l)
{
	int g, i, j;

	fprintf(out, "Acceptance targets of the transport issue: io_uring ÷ /dev/fuse ≥ %.1f× "
		     "(published 1.4–2.4×) on 4 KiB I/O, ≥ %.1f× on forced GETATTR, ≥ %.1f× on "
		     "creates, server CPU < %.0f µs per 4 KiB request.\n\n",
		BENCH_TARGET_4K_GAIN, BENCH_TARGET_GETATTR_GAIN, BENCH_TARGET_CREATES_GAIN,
		BENCH_TARGET_CPU_US);
	fprintf(out, "| fs | row | io_uring ÷ /dev/fuse | target | CPU µs/req io_uring | result |\n"
		     "|---|---|---|---|---|---|\n");
	for (g = 0; g < run->ngroups; g++) {
		int vu = run->g[g].v[BENCH_URING], vl = run->g[g].v[BENCH_LEGACY];

		for (i = 0; i < s->ncells; i++) {
			const struct bench_cell *c = &s->cells[i];
			double target;

			switch (c->accept) {
			case BENCH_ACCEPT_4K: target = BENCH_TARGET_4K_GAIN; break;
			case BENCH_ACCEPT_GETATTR: target = BENCH_TARGET_GETATTR_GAIN; break;
			case BENCH_ACCEPT_CREATES: target = BENCH_TARGET_CREATES_GAIN; break;
			default: continue;
			}
			for (j = 0; j < c->nrows; j++) {
				const struct bench_row *row = &c->rows[j];
				double u = med_at(run, s, c, l, vu, row, BENCH_VALUE);
				double d = med_at(run, s, c, l, vl, row, BENCH_VALUE);
				double cpu = med_at(run, s, c, l, vu, row, BENCH_CPU_PER_REQ);
				char r[32], cs[32];
				const char *verdict;

				bench_fmt_ratio(r, sizeof(r), u, d);
				bench_fmt_num(cs, sizeof(cs), cpu);
				if (isnan(u) || isnan(d) || d <= 0)
					verdict = "not measured";
				else if (u / d >= target &&
					 (c->accept != BENCH_ACCEPT_4K || (!isnan(cpu) && cpu < BENCH_TARGET_CPU_US)))
					verdict = "met";
				else
					verdict = "**not met**";
				fprintf(out, "| %s | %s%s | %s | ≥ %.1f×%s | %s | %s |\n", run->g[g].fs,
					c->title, row->suffix, r, target,
					c->accept == BENCH_ACCEPT_4K ? ", < 3 µs" : "", cs, verdict);
			}
		}
	}
	fprintf(out, "\n");
}

static bool suite_has_kind(const struct bench_run *run, const struct bench_suite *s,
			   enum bench_kind k)
{
	int g;

	for (g = 0; g < run->ngroups; g++)
		if (run->g[g].v[k] >= 0 && s->m[run->g[g].v[k]].used)
			return true;
	return false;
}

static void servers_table(FILE *out, const struct bench_run *run, const struct bench_suite *s)
{
	int v;

	if (suite_has_kind(run, s, BENCH_LIBFUSE_URING))
		fprintf(out, "Servers (transport read back after mounting: furi's from `furi status "
			     "--json`, libfuse's from its FUSE_INIT status line and fuse-ring threads):\n\n");
	else
		fprintf(out, "Servers (transport read back from `furi status --json` after mounting):\n\n");
	fprintf(out, "| variant | transport | pid | queues × depth | threads | buffers | max VmRSS |\n"
		     "|---|---|---|---|---|---|---|\n");
	for (v = 0; v < run->nvariants; v++) {
		const struct bench_mount *m = &s->m[v];
		const struct bench_variant *var = &run->v[v];
		char tr[400];

		if (!m->used)
			continue;
		if (var->kind == BENCH_NATIVE) {
			fprintf(out, "| %s | native | – | – | – | – | – |\n", var->label);
			continue;
		}
		if (!m->mounted)
			bench_str(tr, sizeof(tr), "NOT MOUNTED: %s", m->problem);
		else if (m->fallen_back)
			bench_str(tr, sizeof(tr), "FALLEN BACK to dev_fuse: %s", m->problem);
		else if (!m->verified)
			bench_str(tr, sizeof(tr), "UNEXPECTED %s: %s", m->transport, m->problem);
		else if (m->problem[0])
			bench_str(tr, sizeof(tr), "verified %s, then: %s", m->transport, m->problem);
		else if (var->kind == BENCH_LIBFUSE_URING)
			bench_str(tr, sizeof(tr), "verified %s (%s)", m->transport, m->transport_line);
		else
			bench_str(tr, sizeof(tr), "verified %s", m->transport);
		fprintf(out, "| %s | ", var->label);
		md_escape_pipe(out, tr);
		if (!m->mounted) {
			fprintf(out, " | – | – | – | – | – |\n");
			continue;
		}
		if (m->queues && m->depth)
			fprintf(out, " | %d | %u × %u |", m->pid, m->queues, m->depth);
		else if (m->queues)
			fprintf(out, " | %d | %u × default |", m->pid, m->queues);
		else
			fprintf(out, " | %d | – |", m->pid);
		if (var->kind == BENCH_LIBFUSE_URING)
			fprintf(out, " %u | – | %.1f MiB |\n", m->threads, m->rss_kb_max / 1024.0);
		else
			fprintf(out, " %u | %.1f MiB | %.1f MiB |\n", m->threads,
				m->buffer_bytes / 1048576.0, m->rss_kb_max / 1024.0);
	}
	fprintf(out, "\n");
}

/* Whether variant v has any sample, good or failed, in cell c under load index l. */
static bool ran(const struct bench_run *run, const struct bench_cell *c, int l, int v)
{
	int r;

	for (r = 0; r < run->rounds && r < BENCH_MAX_ROUNDS; r++)
		if (c->s[l][v][r].state != BENCH_NOT_RUN)
			return true;
	return false;
}

/* The value cell of one variant under load index l: the stat, or why there is none. */
static void value_cell(FILE *out, const struct bench_run *run, const struct bench_suite *s,
		       const struct bench_cell *c, int l, int v, const struct bench_row *row,
		       enum bench_what what)
{
	struct bench_stat st;
	char buf[96];

	if (v < 0 || !s->m[v].used) {
		fprintf(out, " – |");
		return;
	}
	st = bench_cell_stat_at(c, l, v, run->rounds, row, what);
	bench_fmt_stat(buf, sizeof(buf), &st);
	if (!s->m[v].mounted)
		fprintf(out, " not mounted |");
	else if (!ran(run, c, l, v))
		fprintf(out, " – |");
	else if (s->m[v].fallen_back)
		fprintf(out, " fallen back to /dev/fuse: %s |", buf);
	else if (!s->m[v].verified)
		fprintf(out, " unverified: %s |", buf);
	else if (!st.n && what == BENCH_VALUE)
		fprintf(out, " failed |");
	else
		fprintf(out, " %s |", buf);
}

/* median(va under load la) ÷ median(vb under load lb); bold when below floor (0: never). */
static void ratio_cell(FILE *out, const struct bench_run *run, const struct bench_suite *s,
		       const struct bench_cell *c, int va, int la, int vb, int lb,
		       const struct bench_row *row, double floor)
{
	double a = med_at(run, s, c, la, va, row, BENCH_VALUE);
	double b = med_at(run, s, c, lb, vb, row, BENCH_VALUE);
	char buf[32];

	bench_fmt_ratio(buf, sizeof(buf), a, b);
	if (floor > 0 && !isnan(a) && !isnan(b) && b > 0 && a / b < floor)
		fprintf(out, " **%s** |", buf);
	else
		fprintf(out, " %s |", buf);
}

/* Whether a group has rows in this suite: its FUSE variants were used. */
static bool group_used(const struct bench_suite *s, const int *vk)
{
	return !(vk[BENCH_URING] >= 0 && !s->m[vk[BENCH_URING]].used &&
		 vk[BENCH_LEGACY] >= 0 && !s->m[vk[BENCH_LEGACY]].used);
}

static void throughput_table(FILE *out, const struct bench_run *run, const struct bench_suite *s,
			     int l)
{
	bool pt = suite_has_kind(run, s, BENCH_PASSTHROUGH);
	bool lf = suite_has_kind(run, s, BENCH_LIBFUSE_URING);
	char none[256] = "";
	int g, i, j;

	fprintf(out, "| fs | cell | unit | native | io_uring | /dev/fuse |%s%s io_uring ÷ /dev/fuse |%s"
		     " io_uring ÷ native | /dev/fuse ÷ native | CPU µs/req io_uring |"
		     " CPU µs/req /dev/fuse | req/IO io_uring | req/IO /dev/fuse |"
		     " CPU µs/IO io_uring | CPU µs/IO /dev/fuse |%s\n",
		pt ? " passthrough |" : "", lf ? " libfuse io_uring |" : "",
		lf ? " io_uring ÷ libfuse io_uring |" : "", lf ? " CPU µs/IO libfuse io_uring |" : "");
	fprintf(out, "|---|---|---|---:|---:|---:|%s%s---:|%s---:|---:|---:|---:|---:|---:|---:|---:|%s\n",
		pt ? "---:|" : "", lf ? "---:|" : "", lf ? "---:|" : "", lf ? "---:|" : "");
	for (g = 0; g < run->ngroups; g++) {
		const int *vk = run->g[g].v;

		if (!group_used(s, vk))
			continue;
		if (lf && vk[BENCH_LIBFUSE_URING] < 0)
			bench_str(none + strlen(none), sizeof(none) - strlen(none), "%s%s",
				  none[0] ? ", " : "", run->g[g].fs);
		for (i = 0; i < s->ncells; i++) {
			const struct bench_cell *c = &s->cells[i];

			for (j = 0; j < c->nrows; j++) {
				const struct bench_row *row = &c->rows[j];
				enum bench_kind k;

				fprintf(out, "| %s | %s%s | %s |", run->g[g].fs, c->title, row->suffix,
					unit_name(row->unit));
				for (k = BENCH_NATIVE; k <= BENCH_LEGACY; k++)
					value_cell(out, run, s, c, l, vk[k], row, BENCH_VALUE);
				if (pt)
					value_cell(out, run, s, c, l, vk[BENCH_PASSTHROUGH], row, BENCH_VALUE);
				if (lf)
					value_cell(out, run, s, c, l, vk[BENCH_LIBFUSE_URING], row, BENCH_VALUE);
				ratio_cell(out, run, s, c, vk[BENCH_URING], l, vk[BENCH_LEGACY], l, row, 0);
				if (lf)
					ratio_cell(out, run, s, c, vk[BENCH_URING], l, vk[BENCH_LIBFUSE_URING], l,
						   row, 0);
				ratio_cell(out, run, s, c, vk[BENCH_URING], l, vk[BENCH_NATIVE], l, row, 0);
				ratio_cell(out, run, s, c, vk[BENCH_LEGACY], l, vk[BENCH_NATIVE], l, row, 0);
				value_cell(out, run, s, c, l, vk[BENCH_URING], row, BENCH_CPU_PER_REQ);
				value_cell(out, run, s, c, l, vk[BENCH_LEGACY], row, BENCH_CPU_PER_REQ);
				if (c->per_io) {
					value_cell(out, run, s, c, l, vk[BENCH_URING], row, BENCH_REQ_PER_IO);
					value_cell(out, run, s, c, l, vk[BENCH_LEGACY], row, BENCH_REQ_PER_IO);
				} else {
					fprintf(out, " – | – |");
				}
				value_cell(out, run, s, c, l, vk[BENCH_URING], row, BENCH_CPU_PER_IO);
				value_cell(out, run, s, c, l, vk[BENCH_LEGACY], row, BENCH_CPU_PER_IO);
				if (lf)
					value_cell(out, run, s, c, l, vk[BENCH_LIBFUSE_URING], row,
						   BENCH_CPU_PER_IO);
				fprintf(out, "\n");
			}
		}
	}
	fprintf(out, "\n");
	if (none[0])
		fprintf(out, "No libfuse peer for %s: libfuse has no example server for it.\n\n", none);
}

/*
 * What each variant keeps under each load: median under the load ÷ idle
 * median, per cell; needs idle among the loads.
 */
static void kept_table(FILE *out, const struct bench_run *run, const struct bench_suite *s)
{
	bool pt = suite_has_kind(run, s, BENCH_PASSTHROUGH);
	bool lf = suite_has_kind(run, s, BENCH_LIBFUSE_URING);
	int idle = bench_load_index(run, BENCH_LOAD_IDLE), g, i, j, l;

	if (run->nloads < 2)
		return;
	fprintf(out, "### Kept under load\n\n");
	if (idle < 0) {
		fprintf(out, "Not computed: idle is not among the loads (`--load idle,...`).\n\n");
		return;
	}
	fprintf(out, "Throughput under the load ÷ idle throughput, same variant and cell (medians); "
		     "**bold**: below %.2f× beside nice-19 work, the floor issue 15 sets.\n\n",
		BENCH_TARGET_KEPT);
	fprintf(out, "| fs | cell | load | native | io_uring | /dev/fuse |%s%s\n"
		     "|---|---|---|---:|---:|---:|%s%s\n", pt ? " passthrough |" : "",
		lf ? " libfuse io_uring |" : "", pt ? "---:|" : "", lf ? "---:|" : "");
	for (g = 0; g < run->ngroups; g++) {
		const int *vk = run->g[g].v;

		if (!group_used(s, vk))
			continue;
		for (i = 0; i < s->ncells; i++) {
			const struct bench_cell *c = &s->cells[i];

			for (j = 0; j < c->nrows; j++) {
				for (l = 0; l < run->nloads; l++) {
					enum bench_kind k;

					if (l == idle)
						continue;
					fprintf(out, "| %s | %s%s | %s |", run->g[g].fs, c->title,
						c->rows[j].suffix, bench_load_name(run->loads[l]));
					for (k = BENCH_NATIVE; k < BENCH_NKINDS; k++) {
						if ((k == BENCH_PASSTHROUGH && !pt) ||
						    (k == BENCH_LIBFUSE_URING && !lf))
							continue;
						ratio_cell(out, run, s, c, vk[k], l, vk[k], idle, &c->rows[j],
							   run->loads[l] == BENCH_LOAD_NICE19 ?
							   BENCH_TARGET_KEPT : 0);
					}
					fprintf(out, "\n");
				}
			}
		}
	}
	fprintf(out, "\n");
}

static bool cell_has_latency(const struct bench_cell *c)
{
	return c->w.kind == BENCH_WORK_FIO;
}

static void latency_table(FILE *out, const struct bench_run *run, const struct bench_suite *s,
			  int l)
{
	bool pt = suite_has_kind(run, s, BENCH_PASSTHROUGH);
	bool lf = suite_has_kind(run, s, BENCH_LIBFUSE_URING);
	int g, i, j;
	bool any = false;

	for (i = 0; i < s->ncells; i++)
		any |= cell_has_latency(&s->cells[i]);
	if (!any)
		return;
	fprintf(out, "Latency, µs: mean, then p99 of completion latency (fio clat), medians over "
		     "the rounds:\n\n");
	fprintf(out, "| fs | cell | native | io_uring | /dev/fuse |%s%s\n", pt ? " passthrough |" : "",
		lf ? " libfuse io_uring |" : "");
	fprintf(out, "|---|---|---:|---:|---:|%s%s\n", pt ? "---:|" : "", lf ? "---:|" : "");
	for (g = 0; g < run->ngroups; g++) {
		const int *vk = run->g[g].v;

		for (i = 0; i < s->ncells; i++) {
			const struct bench_cell *c = &s->cells[i];

			if (!cell_has_latency(c))
				continue;
			for (j = 0; j < c->nrows; j++) {
				enum bench_kind k;

				fprintf(out, "| %s | %s%s |", run->g[g].fs, c->title, c->rows[j].suffix);
				for (k = BENCH_NATIVE; k < BENCH_NKINDS; k++) {
					char a[32], b[32];
					int v = vk[k];

					if ((k == BENCH_PASSTHROUGH && !pt) || (k == BENCH_LIBFUSE_URING && !lf))
						continue;
					if (!trusted(s, v)) {
						fprintf(out, " %s |", v >= 0 && s->m[v].used ? "n/a" : "–");
						continue;
					}
					bench_fmt_num(a, sizeof(a), med_at(run, s, c, l, v, &c->rows[j], BENCH_LAT));
					bench_fmt_num(b, sizeof(b), med_at(run, s, c, l, v, &c->rows[j], BENCH_P99));
					fprintf(out, " %s / %s |", a, b);
				}
				fprintf(out, "\n");
			}
		}
	}
	fprintf(out, "\n");
}

static void failures(FILE *out, const struct bench_run *run, const struct bench_suite *s)
{
	int i, v, r, l, shown = 0;

	for (i = 0; i < s->ncells; i++) {
		const struct bench_cell *c = &s->cells[i];

		for (l = 0; l < run->nloads; l++) {
			for (v = 0; v < run->nvariants; v++) {
				for (r = 0; r < run->rounds && r < BENCH_MAX_ROUNDS; r++) {
					char under[32] = "";

					if (c->s[l][v][r].state != BENCH_FAILED)
						continue;
					if (!shown++)
						fprintf(out, "Failed runs:\n\n");
					if (shown > 40)
						continue;
					if (run->nloads > 1)
						bench_str(under, sizeof(under), " under %s",
							  bench_load_name(run->loads[l]));
					fprintf(out, "- %s, %s%s, round %d: %s\n", c->title, run->v[v].label,
						under, r + 1, c->s[l][v][r].err);
				}
			}
		}
	}
	if (shown > 40)
		fprintf(out, "- ... and %d more (see results.tsv)\n", shown - 40);
	if (shown)
		fprintf(out, "\n");
}

static void commands(FILE *out, const struct bench_suite *s)
{
	int i;

	fprintf(out, "<details><summary>Commands ($MNT is the variant's directory)</summary>\n\n```\n");
	for (i = 0; i < s->ncells; i++)
		fprintf(out, "%s\n", s->cells[i].cmd);
	fprintf(out, "```\n</details>\n\n");
}

int bench_report_md(FILE *out, const struct bench_run *run, bool plots)
{
	int i, l;

	fprintf(out, "# furi bench report\n\n");
	fprintf(out, "Produced by `%s`%s.\n\n", run->command,
		run->quick ? " (quick smoke run: numbers are not meaningful)" : "");
	machine_section(out, run);
	method_section(out, run);
	summary_section(out, run);
	for (i = 0; i < run->nsuites; i++) {
		const struct bench_suite *s = &run->s[i];

		if (!s->run)
			continue;
		fprintf(out, "## Suite `%s`: %s\n\n", s->name, s->title);
		if (s->source[0])
			fprintf(out, "Mirrors: %s\n\n", s->source);
		if (s->notes[0])
			fprintf(out, "%s\n\n", s->notes);
		servers_table(out, run, s);
		for (l = 0; l < run->nloads; l++) {
			if (run->nloads > 1) {
				char d[256];

				bench_load_describe(run->loads[l], run->load_procs, d, sizeof(d));
				fprintf(out, "### Load `%s`\n\n%s.\n\n", bench_load_name(run->loads[l]), d);
			}
			throughput_table(out, run, s, l);
			if (!strcmp(s->name, "transport"))
				acceptance(out, run, s, l);
			latency_table(out, run, s, l);
		}
		kept_table(out, run, s);
		failures(out, run, s);
		if (plots) {
			bool lat = false;
			int k;

			for (k = 0; k < s->ncells; k++)
				lat |= cell_has_latency(&s->cells[k]);
			fprintf(out, "![%s throughput](plots/%s-throughput.png)\n", s->name, s->name);
			if (lat)
				fprintf(out, "![%s latency](plots/%s-latency.png)\n", s->name, s->name);
			fprintf(out, "\n");
		}
		commands(out, s);
		fprintf(out, "Suite wall time: %.0f s.\n\n", s->seconds);
	}
	return ferror(out) ? -EIO : 0;
}

int bench_report_tsv(FILE *out, const struct bench_run *run)
{
	int i, j, v, r, l;

	fprintf(out, "suite\tcell\tvariant\tload\tround\tstate\tread_mibs\tread_iops\tread_lat_us\t"
		     "read_p99_us\twrite_mibs\twrite_iops\twrite_lat_us\twrite_p99_us\tios\t"
		     "requests\twindow_s\tcpu_s\trss_kb\ttransport\terror\n");
	for (i = 0; i < run->nsuites; i++) {
		const struct bench_suite *s = &run->s[i];

		for (j = 0; j < s->ncells; j++) {
			const struct bench_cell *c = &s->cells[j];

			for (l = 0; l < run->nloads; l++) {
				for (v = 0; v < run->nvariants; v++) {
					for (r = 0; r < run->rounds && r < BENCH_MAX_ROUNDS; r++) {
						const struct bench_sample *x = &c->s[l][v][r];

						if (x->state == BENCH_NOT_RUN)
							continue;
						fprintf(out, "%s\t%s\t%s\t%s\t%d\t%s\t%.3f\t%.1f\t%.2f\t%.2f\t%.3f\t"
							     "%.1f\t%.2f\t%.2f\t%.1f\t%.0f\t%.3f\t%.3f\t%.0f\t%s\t%s\n",
							s->name, c->id, run->v[v].label,
							bench_load_name(run->loads[l]), r + 1,
							x->state == BENCH_OK ? "ok" : "failed", x->rw[0].mibs,
							x->rw[0].iops, x->rw[0].lat_us, x->rw[0].p99_us,
							x->rw[1].mibs, x->rw[1].iops, x->rw[1].lat_us,
							x->rw[1].p99_us, x->ios, x->requests, x->window_s,
							x->cpu_s, x->rss_kb, x->transport, x->err);
					}
				}
			}
		}
	}
	return ferror(out) ? -EIO : 0;
}

/* ---- plots ---- */

static void plot_label(char *buf, size_t len, const char *fs, const struct bench_cell *c,
		       const struct bench_row *row)
{
	char *p;

	bench_str(buf, len, "%s:%s%s", fs, c->id, row->suffix);
	for (p = buf; *p; p++)
		if (*p == ' ' || *p == '"')
			*p = '_';
}

static void dat_triplet(FILE *f, const struct bench_stat *st, double scale)
{
	if (!st->n || isnan(scale) || scale <= 0)
		fprintf(f, " ? ? ?");
	else
		fprintf(f, " %.6g %.6g %.6g", st->med / scale, st->min / scale, st->max / scale);
}

/*
 * The panels of a plot. A throughput plot has two, so that native, often
 * 10-30 times faster than either transport, does not squash the
 * io_uring ÷ /dev/fuse comparison: every kind relative to /dev/fuse (native
 * left out), then every FUSE kind relative to native. A latency plot has
 * one: absolute mean latency of every kind on a log scale.
 */
enum plot_panel { PANEL_VS_LEGACY, PANEL_VS_NATIVE, PANEL_LATENCY };

struct plot {
	int npanels;
	enum plot_panel panel[2];
	bool used[2][BENCH_NKINDS];	/* kind k has a bar in panel p */
	int rows;
	int label_len;			/* the longest row label, for the bottom margin */
};

/* Whether kind k is drawn in panel p at all (native is its own baseline). */
static bool panel_shows(enum plot_panel p, enum bench_kind k)
{
	return p == PANEL_LATENCY || k != BENCH_NATIVE;
}

/* Column of the first number of kind k in panel p: label, then 3 per kind per panel. */
static int plot_col(int p, enum bench_kind k)
{
	return 2 + 3 * (p * BENCH_NKINDS + (int)k);
}

/*
 * DIR/SUITE-WHAT.dat: one line per (fs, cell, row): the label, then per
 * panel and kind the median, min and max ('?' where there is none).
 */
static int write_plot_data(const struct bench_run *run, const struct bench_suite *s,
			   const char *path, const char *what, struct plot *pl)
{
	int g, i, j, p;
	enum bench_kind k;
	char label[128];
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "# %s %s: label, then per panel (%s) median min max per kind (native "
		   "io_uring /dev/fuse passthrough)\n", s->name, what,
		pl->panel[0] == PANEL_LATENCY ? "mean latency in us"
					      : "relative to /dev/fuse; relative to native");
	for (g = 0; g < run->ngroups; g++) {
		const int *vk = run->g[g].v;

		for (i = 0; i < s->ncells; i++) {
			const struct bench_cell *c = &s->cells[i];

			if (pl->panel[0] == PANEL_LATENCY && !cell_has_latency(c))
				continue;
			for (j = 0; j < c->nrows; j++) {
				const struct bench_row *row = &c->rows[j];
				bool any = false;

				for (k = BENCH_NATIVE; k < BENCH_NKINDS; k++)
					any |= trusted(s, vk[k]);
				if (!any)
					continue;
				plot_label(label, sizeof(label), run->g[g].fs, c, row);
				fprintf(f, "\"%s\"", label);
				if ((int)strlen(label) > pl->label_len)
					pl->label_len = (int)strlen(label);
				for (p = 0; p < pl->npanels; p++) {
					double scale = 1.0;

					if (pl->panel[p] == PANEL_VS_LEGACY)
						scale = med(run, s, c, vk[BENCH_LEGACY], row, BENCH_VALUE);
					else if (pl->panel[p] == PANEL_VS_NATIVE)
						scale = med(run, s, c, vk[BENCH_NATIVE], row, BENCH_VALUE);
					for (k = BENCH_NATIVE; k < BENCH_NKINDS; k++) {
						struct bench_stat st = { 0, NAN, NAN, NAN };

						if (trusted(s, vk[k]) && panel_shows(pl->panel[p], k))
							st = bench_cell_stat(c, vk[k], run->rounds, row,
									     pl->panel[p] == PANEL_LATENCY ?
									     BENCH_LAT : BENCH_VALUE);
						if (st.n && !isnan(scale))
							pl->used[p][k] = true;
						dat_triplet(f, &st, scale);
					}
				}
				fprintf(f, "\n");
				pl->rows++;
			}
		}
	}
	return fclose(f) ? -1 : 0;
}

static const char *panel_title(enum plot_panel p)
{
	switch (p) {
	case PANEL_VS_LEGACY:
		return "relative to /dev/fuse of the same fs (io_uring ÷ /dev/fuse; native left out)";
	case PANEL_VS_NATIVE:
		return "relative to native (1 = native)";
	default:
		return "mean latency, µs";
	}
}

/* The gnuplot script: one histogram per panel, each kind in its own colour in every panel. */
static int write_plot_script(const struct bench_run *run, const struct bench_suite *s,
			     const char *path, const char *what, const struct plot *pl)
{
	int p, n, drawn = 0, ncols = 0;
	enum bench_kind k;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (k = BENCH_NATIVE; k < BENCH_NKINDS; k++)
		ncols += pl->used[0][k] || (pl->npanels > 1 && pl->used[1][k]);
	fprintf(f, "# gnuplot script written by furi bench; run it in this directory\n");
	fprintf(f, "set terminal pngcairo size %d,%d font ',9'\n", 400 + pl->rows * (24 + 12 * ncols),
		pl->npanels > 1 ? 1100 : 700);
	fprintf(f, "set output '%s-%s.png'\n", s->name, what);
	fprintf(f, "set style data histogram\nset style histogram errorbars gap 1 lw 1\n"
		   "set style fill solid 0.85 border -1\nset datafile missing '?'\n"
		   "set key tmargin center horizontal noenhanced\nset grid ytics\nset lmargin 10\nset rmargin 4\n");
	/* The same x range in every panel, so that a cell's bars line up. */
	fprintf(f, "set xrange [-0.5:%d.5]\n", pl->rows - 1);
	fprintf(f, "set multiplot layout %d,1 title \"furi bench %s: %s\\n%s\" noenhanced\n", pl->npanels,
		s->name, what,
		run->quick ? "--quick smoke run: numbers not meaningful"
			   : "log scale; median of the rounds, error bars min–max");
	for (p = 0; p < pl->npanels; p++) {
		bool last = p == pl->npanels - 1;

		fprintf(f, "set title \"%s\" noenhanced\n", panel_title(pl->panel[p]));
		if (pl->panel[p] == PANEL_LATENCY)
			fprintf(f, "set logscale y\nset ylabel 'µs'\nunset arrow\n");
		else
			fprintf(f, "set logscale y 2\nset format y '%%.2g'\nset ylabel '× %s'\n"
				   "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2\n",
				pl->panel[p] == PANEL_VS_LEGACY ? "/dev/fuse" : "native");
		/* Cell names under the last panel only. */
		if (last)
			fprintf(f, "set xtics rotate by 90 right scale 0 noenhanced\nset format x\n"
				   "set bmargin %d\n", 3 + pl->label_len / 2);
		else
			fprintf(f, "set xtics scale 0\nset format x ''\nset bmargin 1\n");
		fprintf(f, "plot ");
		for (k = BENCH_NATIVE, n = 0; k < BENCH_NKINDS; k++) {
			int col = plot_col(p, k);

			if (!pl->used[p][k])
				continue;
			fprintf(f, "%s'%s-%s.dat' using %d:%d:%d%s title '%s' lt %d", n ? ", \\\n     " : "",
				s->name, what, col, col + 1, col + 2, n || !last ? "" : ":xtic(1)",
				bench_kind_title(k), (int)k + 1);
			n++;
		}
		if (!n)	/* an empty panel still keeps its place and title */
			fprintf(f, "NaN notitle");
		drawn += n;
		fprintf(f, "\n");
	}
	fprintf(f, "unset multiplot\n");
	if (fclose(f))
		return -1;
	return drawn;
}

/* One plot of a suite; 1 when a script was written, 0 when there was nothing to plot. */
static int write_plot(const struct bench_run *run, const struct bench_suite *s,
		      const char *dir, bool latency)
{
	const char *what = latency ? "latency" : "throughput";
	struct plot pl = { 0 };
	char path[4200];
	int k, drawn;

	if (latency) {
		pl.npanels = 1;
		pl.panel[0] = PANEL_LATENCY;
	} else {
		pl.npanels = 2;
		pl.panel[0] = PANEL_VS_LEGACY;
		pl.panel[1] = PANEL_VS_NATIVE;
	}
	bench_str(path, sizeof(path), "%s/%s-%s.dat", dir, s->name, what);
	if (write_plot_data(run, s, path, what, &pl))
		return -1;
	for (k = 0, drawn = 0; k < BENCH_NKINDS; k++)
		drawn += pl.used[0][k] + pl.used[1][k];
	if (!pl.rows || !drawn)
		return 0;
	bench_str(path, sizeof(path), "%s/%s-%s.gp", dir, s->name, what);
	return write_plot_script(run, s, path, what, &pl) < 0 ? -1 : 1;
}

int bench_report_plots(const struct bench_run *run, const char *dir, char scripts[][64], int max)
{
	int i, n = 0, l;

	for (i = 0; i < run->nsuites; i++) {
		const struct bench_suite *s = &run->s[i];

		if (!s->run)
			continue;
		for (l = 0; l < 2; l++) {
			int r = write_plot(run, s, dir, l == 1);

			if (r < 0)
				return -1;
			if (r > 0 && n < max)
				bench_str(scripts[n++], 64, "%s-%s.gp", s->name,
					 l ? "latency" : "throughput");
		}
	}
	return n;
}
