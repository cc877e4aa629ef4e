/* SPDX-License-Identifier: MIT */
/* furi_cmd.h - what the subcommands of the furi command share. */
#ifndef FURI_CMD_H
#define FURI_CMD_H

#include <stdio.h>

#define FURI_EXIT_FAIL 1
#define FURI_EXIT_USAGE 2

/* furi's mounts are of type fuse.furi, the type of its mount(8) helper mount.fuse.furi. */
#define FURI_MOUNT_SUBTYPE "furi"

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
/* furi --version: furi's, the FUSE protocol's (furi's and the kernel's) and liburing's. */
int furi_cmd_version(void);
void furi_cmd_status_usage(FILE *out);

/* A serving thread of a furi server, as the kernel sees it now. */
struct furi_thread_info {
	char name[16];		/* furi-uringN or furi-fuseN */
	int tid;
	int policy;		/* SCHED_* */
	char cpus[64];		/* CPUs it may run on, as a list: "0", "0-1" */
	char io[40];		/* I/O class of its disk requests: "best-effort 4", "idle (from policy)" */
	/* From furi_thread_placement(): */
	char serves[64];	/* "queue0", "queues 0,2", "dev_fuse" */
	char home[64];		/* its queues' CPUs, where it is pinned; "-" for /dev/fuse workers */
	const char *placement;	/* "home", "away" (-o pin=auto moved it) or "unpinned" */
};
/* Up to max serving threads of pid, by name; how many, or -errno. */
int furi_server_threads(int pid, struct furi_thread_info *out, int max);
/*
 * Which queues t serves and whether it runs on their CPUs now, from the
 * server's queues, io_uring threads (queue q is served by thread
 * q % uring_threads) and pin mode (enum furi_pin).
 */
void furi_thread_placement(struct furi_thread_info *t, unsigned queues, unsigned uring_threads,
			   unsigned pin);
/* "normal", "idle", "batch", "fifo", "rr". */
const char *furi_sched_policy_name(int policy);

int furi_cmd_bench(int argc, char **argv);
void furi_cmd_bench_usage(FILE *out);
/* `furi bench-meta`: the metadata program furi bench runs (bench/meta.h). */
int furi_cmd_bench_meta(int argc, char **argv);

#endif
