/* SPDX-License-Identifier: MIT */
/*
 * suites.h - the benchmark suites: which cells each one runs, with fixed
 * sizes per suite, full or --quick.
 */
#ifndef FURI_BENCH_SUITES_H
#define FURI_BENCH_SUITES_H

#include "bench.h"

/* All suite names, in run order, NULL-terminated. */
extern const char *const bench_suite_names[];

/*
 * Fill s with the suite's title, source and cells (s->cells is calloc'd;
 * free it with bench_suite_free). Returns 0, -ENOENT for an unknown name or
 * -ENOMEM.
 */
int bench_suite_build(struct bench_suite *s, const char *name, bool quick);
void bench_suite_free(struct bench_suite *s);

#endif /* FURI_BENCH_SUITES_H */
