/* SPDX-License-Identifier: MIT */
/*
 * meta.h - the metadata benchmark program, run as `furi bench-meta MODE
 * --dir DIR [--threads N] [--count N] [--seconds S] [--passes N]`.
 *
 * Modes (each prints one JSON line on stdout: mode, threads, ops, seconds,
 * ops_per_s, us_per_op, error):
 *   creates    N threads each create --count empty files in DIR/tI (files/s)
 *   getattr    N threads statx(AT_STATX_FORCE_SYNC) one open file for --seconds
 *   stat-many  stat every file of the tree DIR (from populate) --passes times,
 *              each pass after dropping dentries and inodes (cold LOOKUPs)
 *   readdir    list the directory DIR (from populate) again and again for --seconds
 *   cwcu       N threads create, write 4 KiB, close, unlink in DIR/tI for --seconds
 *   populate   create --count empty files in DIR (setup, not a measurement)
 *   rmtree     remove DIR and everything below it (cleanup)
 */
#ifndef FURI_BENCH_META_H
#define FURI_BENCH_META_H

#include <stddef.h>

#include "bench.h"

int bench_meta_main(int argc, char **argv);

/* Remove path and everything below it; 0 or -errno (ENOENT counts as done). */
int bench_rmtree(const char *path);

/*
 * argv for running work w (a BENCH_WORK_META) with the furi binary self on
 * directory base (the variant's directory). Strings live in buf. Returns
 * argc or -1.
 */
int bench_meta_argv(const struct bench_work *w, const char *self, const char *base,
		    char **argv, int maxargs, char *buf, size_t buflen);
int bench_meta_cmdline(const struct bench_work *w, const char *self, const char *base,
		       char *line, size_t len);

/* Parse the program's JSON line into rw[0] of a sample; 0 or -1 with err. */
int bench_meta_parse(const char *text, size_t len, struct bench_dir *d, double *ops,
		     char *err, size_t errlen);

#endif /* FURI_BENCH_META_H */
