/* SPDX-License-Identifier: MIT */
/*
 * report.h - the report of a `furi bench` run: report.md (machine, method,
 * summary, one section per suite with its tables per load and what each
 * variant keeps under load), results.tsv (every sample, with its load), and
 * gnuplot data and scripts for the plots (of the first load).
 */
#ifndef FURI_BENCH_REPORT_H
#define FURI_BENCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "bench.h"

/* Write the markdown report. Plot images are linked when plots is true. */
int bench_report_md(FILE *out, const struct bench_run *run, bool plots);

/* One line per sample, tab-separated, with a header line. */
int bench_report_tsv(FILE *out, const struct bench_run *run);

/*
 * Write DIR/SUITE-throughput.dat/.gp and DIR/SUITE-latency.dat/.gp for each
 * suite that ran. The scripts write PNGs named like them into the current
 * directory (run gnuplot in DIR). Their names (without directory) go to
 * scripts[], at most max. Returns how many, or -1 on an I/O error.
 */
int bench_report_plots(const struct bench_run *run, const char *dir, char scripts[][64], int max);

/* Formatting helpers, exposed for the tests. NaN prints as "n/a". */
void bench_fmt_num(char *buf, size_t len, double x);
void bench_fmt_stat(char *buf, size_t len, const struct bench_stat *st);
void bench_fmt_ratio(char *buf, size_t len, double a, double b);

/*
 * Geometric mean over the cells of a suite of median(kind a)/median(kind b)
 * for group g; NaN if no cell has both. *n gets the number of cells used,
 * *lo and *hi the smallest and largest ratio (any may be NULL).
 */
double bench_suite_gain(const struct bench_run *run, const struct bench_suite *s, int g,
			enum bench_kind a, enum bench_kind b, int *n, double *lo, double *hi);
/*
 * The same with kind a under load index la and kind b under lb: the gain of
 * one kind over another under one load (la == lb), or what a kind keeps
 * under a load (a == b, lb the idle index).
 */
double bench_suite_gain_at(const struct bench_run *run, const struct bench_suite *s, int g,
			   enum bench_kind a, int la, enum bench_kind b, int lb, int *n,
			   double *lo, double *hi);

#endif /* FURI_BENCH_REPORT_H */
