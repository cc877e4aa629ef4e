/* SPDX-License-Identifier: MIT */
/*
 * sys.h - what the benchmark runner needs from the system: child processes
 * by fork+exec with timeouts, /proc readings of a server, dropping caches,
 * and a description of the machine.
 */
#ifndef FURI_BENCH_SYS_H
#define FURI_BENCH_SYS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bench.h"

/* Set by the runner's SIGINT/SIGTERM/SIGHUP handler; waits return -EINTR once set. */
extern volatile sig_atomic_t bench_interrupted;

/*
 * Start argv[0] (searched in PATH) in its own process group, in directory
 * cwd (NULL: ours), with stdin from /dev/null, stdout to out_path (NULL:
 * /dev/null) and stderr appended to err_path (NULL: /dev/null). Returns the
 * pid or -errno.
 */
pid_t bench_spawn(char *const argv[], const char *cwd, const char *out_path,
		  const char *err_path);

/*
 * Wait up to timeout_s for pid to exit (timeout_s < 0: no limit). Returns 0
 * with the exit status in *status, -ETIMEDOUT if it is still running, or
 * -EINTR when bench_interrupted is set. The child is not killed.
 */
int bench_wait(pid_t pid, double timeout_s, int *status);

/*
 * Stop a child we spawned and everything in its process group (fio's job
 * processes): SIGTERM, then SIGKILL after a grace time; reap it.
 */
void bench_kill(pid_t pid);

/*
 * Run argv to completion within timeout_s, capturing up to outlen-1 bytes
 * of stdout into out (NUL-terminated); stderr goes to err_path or /dev/null.
 * Returns the exit code (0..255), 128+signal, or -errno (-ETIMEDOUT: killed).
 */
int bench_run(char *const argv[], const char *cwd, char *out, size_t outlen,
	      const char *err_path, double timeout_s);

/* Sleep s seconds or until interrupted (-EINTR). */
int bench_sleep(double s);
/* CLOCK_MONOTONIC seconds. */
double bench_now(void);

/* utime+stime of all threads of pid (/proc/PID/stat, 10 ms ticks), in seconds; -errno if gone. */
int bench_proc_cpu(pid_t pid, double *seconds);
/*
 * The same CPU time with nanosecond precision: the sum of
 * /proc/PID/task/TID/schedstat run times over the live threads, and how
 * many threads there were (a thread that exits takes its time with it).
 */
int bench_proc_cpu_precise(pid_t pid, double *seconds, int *nthreads);
/*
 * Threads of pid: returns how many (or -errno if gone), with those whose
 * name (/proc/PID/task/TID/comm) starts with comm_prefix in *matching.
 */
int bench_proc_threads(pid_t pid, const char *comm_prefix, int *matching);
/* VmRSS of pid in KiB; -errno if gone. */
int bench_proc_rss_kb(pid_t pid, double *kb);
/* true while pid exists. */
bool bench_pid_alive(pid_t pid);

/* sync, then echo 3 > /proc/sys/vm/drop_caches. 0 or -errno. */
int bench_drop_caches(void);

/* Whole file into a malloc'd NUL-terminated buffer. 0 or -errno. */
int bench_read_file(const char *path, char **buf, size_t *len);

/* "0.52 0.40 0.33": the 1, 5 and 15 minute load averages. */
void bench_loadavg(char *buf, size_t len);

/* Kernel, CPU, memory, fio version, enable_uring, date, load average. */
void bench_machine_info(struct bench_machine *m);

#define BENCH_ENABLE_URING_PATH "/sys/module/fuse/parameters/enable_uring"
/* "Y", "N", or "absent" (fuse not loaded, or a kernel without the parameter). */
void bench_enable_uring(char *buf, size_t len);

/*
 * Whether something is mounted on path (an absolute, clean path without
 * spaces), and if fstype_prefix is not NULL, with a type starting with it
 * ("fuse", "tmpfs"). From /proc/self/mountinfo.
 */
bool bench_is_mounted(const char *path, const char *fstype_prefix);

/* mkdir -p; 0 or -errno. */
int bench_mkdirs(const char *path, mode_t mode);

#endif /* FURI_BENCH_SYS_H */
