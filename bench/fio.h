/* SPDX-License-Identifier: MIT */
/*
 * fio.h - fio command lines from a work spec, and results from fio's
 * --output-format=json.
 */
#ifndef FURI_BENCH_FIO_H
#define FURI_BENCH_FIO_H

#include <stddef.h>

#include "bench.h"

struct bench_fio_result {
	struct bench_dir rw[2];	/* [0] read, [1] write */
	double ios;		/* I/Os completed, all directions (after ramp) */
	double runtime_s;	/* longest direction runtime */
	int jobs;		/* entries in "jobs" */
	int error;		/* first non-zero job "error" */
	char version[32];	/* "fio-3.33" */
};

/*
 * Parse fio JSON output. Text before the first '{' (fio warnings that went
 * to the same file) is skipped. With several job entries the rates are
 * summed and latencies averaged weighted by I/O count. Returns 0, or -1 with
 * a message in err.
 */
int bench_fio_parse(const char *text, size_t len, struct bench_fio_result *r,
		    char *err, size_t errlen);

/*
 * The fio argument vector for work w named name, on directory dir, writing
 * JSON to out (NULL: leave --output out, for the printed command). Strings
 * live in buf. Returns argc, or -1 if argv or buf is too small.
 */
int bench_fio_argv(const struct bench_work *w, const char *name, const char *dir,
		   const char *out, char **argv, int maxargs, char *buf, size_t buflen);

/* The same as one shell-ready line (arguments never need quoting here). */
int bench_fio_cmdline(const struct bench_work *w, const char *name, const char *dir,
		      char *line, size_t len);

#endif /* FURI_BENCH_FIO_H */
