/* SPDX-License-Identifier: MIT */
/*
 * mounts.h - bring a variant up for a suite and down again: a tmpfs for the
 * native baseline, or `furi mount FS ... MNT -o ...`, then read back what
 * serves it from `furi status MNT --json`; unmount with umount(8).
 */
#ifndef FURI_BENCH_MOUNTS_H
#define FURI_BENCH_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bench.h"

/* What `furi status MNT --json` says. */
struct bench_status {
	char transport[16];	/* "io_uring" or "dev_fuse" */
	int pid;
	unsigned queues, threads, depth;
	double buffer_bytes;
	double requests;	/* requests.io_uring + requests.dev_fuse */
	double requests_uring, requests_dev_fuse;
	char transport_line[256];
	char fallback_reason[256];
};

/*
 * Run `self status mnt --json` and parse it. The raw output is also written
 * to save_path unless it is NULL. Returns 0 or -1 with err.
 */
int bench_status_read(const char *self, const char *mnt, struct bench_status *st,
		      const char *save_path, char *err, size_t errlen);

/* Where a variant lives during one suite. */
struct bench_place {
	char mnt[2048];		/* what to unmount ("" for a native source directory) */
	char dir[2200];		/* where the cells put their files */
	bool fuse;		/* a FUSE server whose pid we know serves mnt */
	bool peer;		/* that server is a libfuse example, our own child: no
				 * furi status; its transport is read from its threads */
	bool tmpfs;		/* mnt is our tmpfs */
	pid_t pid;		/* the server */
	bool up;
};

/*
 * Bring variant v up on the (not yet existing) directory mnt. Fills p and
 * the suite's mount record m (mounted, transport, verified, fallen_back,
 * problem, pid, queues...). log_path collects furi's messages. A libfuse
 * peer (BENCH_LIBFUSE_URING) runs as our child in its own process group,
 * in the foreground, its stderr in server_log and its stdout in
 * server_log.out; it is verified by libfuse's FUSE_INIT status line
 * ("io_uring=on", asked for with FUSE_INIT_STATUS=1) and by its fuse-ring-N
 * threads. Returns 0 when the variant can be measured (even if it fell
 * back: m says so), -1 otherwise (m->problem says why).
 */
int bench_bring_up(const char *self, const struct bench_variant *v, const char *mnt,
		   struct bench_place *p, struct bench_mount *m, const char *log_path,
		   const char *server_log);

/* Name prefix of libfuse's ring threads: its io_uring queues ("fuse-ring-0"). */
#define BENCH_LIBFUSE_RING_COMM "fuse-ring-"

/*
 * Unmount (umount, retried, lazily as a last resort), wait for the server to
 * exit (SIGTERM, then SIGKILL to our own server's pid after a grace time;
 * a libfuse peer is reaped), remove the mountpoint. Returns 0 or -1 with err.
 */
int bench_take_down(struct bench_place *p, const char *log_path, char *err, size_t errlen);

#endif /* FURI_BENCH_MOUNTS_H */
