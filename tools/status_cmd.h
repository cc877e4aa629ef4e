/* SPDX-License-Identifier: MIT */
/* status_cmd.h - what the parts of `furi status` share: a server's status file, mapped. */
#ifndef FURI_STATUS_CMD_H
#define FURI_STATUS_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "status.h"

/* A server's status file, mapped read-only: its counters move as we read. */
struct snapshot {
	struct furi_status *st;
	size_t size;
};

/*
 * Map the status file of the furi server of mnt (absolute, resolved). 0, or
 * -errno with one line in why saying what is wrong and how to fix it.
 */
int snap_load(const char *mnt, struct snapshot *snap, char *why, size_t whylen);
void snap_unload(struct snapshot *snap);
/* Channels published so far. */
unsigned snap_nchan(const struct snapshot *s);
/* Copy channel i's counters once, so every number printed comes from one moment. */
void snap_read_chan(const struct snapshot *s, unsigned i, struct furi_chan_stats *out);
/* The server that wrote it still runs. */
bool snap_alive(const struct snapshot *s);

/*
 * A channel's error replies split into answers (furi_error_expected) and
 * failures; pairs that found no slot count as failures, since nothing says
 * they are answers.
 */
void chan_errors_split(const struct furi_chan_stats *c, uint64_t *expected, uint64_t *failed);
/* "ENOENT" for 2; a number for an errno without a name. */
const char *errno_name(int err, char *buf, size_t len);

void cmd_json_string(FILE *out, const char *s);
/* "1.5 KiB" */
void cmd_human_bytes(char *buf, size_t len, uint64_t b);

/*
 * `furi status MNT --watch=SECONDS [--count=N] [--json]`: requests per
 * second by opcode, every interval, until N reports or SIGINT (which prints
 * the report of the interval it cut short). 0, or 1 if the server went away.
 */
int status_watch(const char *mnt, struct snapshot *snap, unsigned interval, unsigned count,
		 bool json);

#endif
