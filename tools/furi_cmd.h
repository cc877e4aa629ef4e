/* SPDX-License-Identifier: MIT */
/* furi_cmd.h - what the subcommands of the furi command share. */
#ifndef FURI_CMD_H
#define FURI_CMD_H

#include <stdio.h>

#define FURI_EXIT_FAIL 1
#define FURI_EXIT_USAGE 2

/* Print "furi: MESSAGE (see: furi help CMD)" and exit with status 2. */
void furi_cmd_die_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/*
 * One line for an option getopt refused (c is what getopt returned: '?' or
 * ':'; main() sets opterr = 0), then exit with status 2.
 */
void furi_cmd_die_option(const char *cmd, int c, char *const argv[]) __attribute__((noreturn));
/* Absolute, lexically clean path, without touching the filesystem. */
int furi_cmd_absolute(const char *path, char *buf, size_t len);

int furi_cmd_status(int argc, char **argv);
void furi_cmd_status_usage(FILE *out);

int furi_cmd_bench(int argc, char **argv);
void furi_cmd_bench_usage(FILE *out);
/* `furi bench-meta`: the metadata program furi bench runs (bench/meta.h). */
int furi_cmd_bench_meta(int argc, char **argv);

#endif
