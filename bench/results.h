/* SPDX-License-Identifier: MIT */
/*
 * results.h - read back the results.tsv of an earlier `furi bench` run (the
 * format bench_report_tsv() writes) into a struct bench_run, so that its
 * plots can be drawn again without measuring (`furi bench --replot DIR`).
 */
#ifndef FURI_BENCH_RESULTS_H
#define FURI_BENCH_RESULTS_H

#include <stddef.h>
#include <stdio.h>

#include "bench.h"

/*
 * Fill run (zeroed by the caller) from the TSV in f: the suites and cells
 * that have samples, the variants by their labels, every sample, and each
 * suite's mounts as the samples show them (a variant is verified when every
 * successful sample reports its kind's transport). Lines starting with '#'
 * are comments. Returns 0, or -1 with one line in err naming the line at
 * fault. Free the suites with bench_suite_free().
 */
int bench_results_read(FILE *f, struct bench_run *run, char *err, size_t errlen);

#endif /* FURI_BENCH_RESULTS_H */
