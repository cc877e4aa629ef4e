/* SPDX-License-Identifier: MIT */
/*
 * bench.h - the data of one `furi bench` run: variants (what is measured:
 * a native directory, a furi filesystem on one transport, or libfuse's
 * example server as a peer), background loads, suites of cells (one
 * workload each), and the samples of every load and round. The runner
 * (tools/bench_cmd.c) fills it; report.c turns it into markdown and plots.
 */
#ifndef FURI_BENCH_H
#define FURI_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_MAX_VARIANTS 16
#define BENCH_MAX_GROUPS 8
#define BENCH_MAX_ROUNDS 9
#define BENCH_MAX_SUITES 8
#define BENCH_MAX_CELLS 48
#define BENCH_MAX_LOADS 3

/* How a variant serves its directory. Adding a transport is one entry here. */
enum bench_kind {
	BENCH_NATIVE,		/* the backing directory itself (tmpfs, or --source DIR) */
	BENCH_URING,		/* furi, -o transport=uring, verified io_uring */
	BENCH_LEGACY,		/* furi, -o transport=legacy: /dev/fuse */
	BENCH_PASSTHROUGH,	/* furi with kernel passthrough, where the fs offers it */
	BENCH_LIBFUSE_URING,	/* libfuse's own example server with -o io_uring (a peer) */
	BENCH_NKINDS,
};

/*
 * Background work beside each sample: nothing, or one CPU-bound busy
 * process per online CPU at nice 19 or at nice 0, started right before the
 * sample and killed right after (bench/load.h).
 */
enum bench_load { BENCH_LOAD_IDLE, BENCH_LOAD_NICE19, BENCH_LOAD_NICE0, BENCH_NLOAD_KINDS };

/* Column title of a kind: "native", "io_uring", "/dev/fuse", "passthrough", "libfuse io_uring". */
const char *bench_kind_title(enum bench_kind k);
/* The transport this kind must be served by ("io_uring", "dev_fuse"); NULL for native. */
const char *bench_kind_transport(enum bench_kind k);

struct bench_variant {
	char label[64];		/* "memfs io_uring", "native (tmpfs)" */
	char fs[24];		/* furi filesystem; "" for native */
	char fs_arg[512];	/* positional argument before MOUNTPOINT ("" if none) */
	enum bench_kind kind;
	char options[160];	/* -o value for furi mount */
	char describe[1024];	/* one line for the report: what this variant is */
	bool image;		/* fs_arg is an image file, created empty if missing; the
				 * mount is a directory holding the one file the cells use */
	/* BENCH_LIBFUSE_URING: `exe [peer_flags] -o options [fs_arg] MNT`, run by us */
	char exe[512];		/* the libfuse example binary */
	char peer_flags[64];	/* space-separated flags before -o ("-f") */
};

/* Variants compared in one block of table rows: one filesystem and its baseline. */
struct bench_group {
	char fs[24];
	int v[BENCH_NKINDS];	/* variant index per kind, -1 if absent */
};

/* What mounting a variant for one suite found. */
struct bench_mount {
	bool used;		/* this suite needed the variant */
	bool mounted;
	bool verified;		/* the transport is what the kind asks for */
	bool fallen_back;	/* asked for io_uring, the server said dev_fuse */
	char transport[16];	/* "io_uring", "dev_fuse" (furi status, or libfuse's INIT
				 * status line); "native" */
	char problem[256];	/* why it failed or fell back; "" if fine */
	char transport_line[256];
	int pid;
	unsigned queues, threads, depth;	/* depth 0: the server's default, unknown */
	double buffer_bytes;
	double rss_kb_max;	/* largest VmRSS of the server seen after a sample */
};

/* Per direction numbers of one run. For metadata runs rw[0] holds the ops. */
struct bench_dir {
	double mibs;		/* MiB/s */
	double iops;		/* I/Os (or metadata ops) per second */
	double lat_us;		/* mean latency, microseconds; < 0 unknown */
	double p99_us;		/* 99th percentile completion latency; < 0 unknown */
};

enum bench_state { BENCH_NOT_RUN = 0, BENCH_OK = 1, BENCH_FAILED = -1 };

struct bench_sample {
	enum bench_state state;
	char err[160];
	struct bench_dir rw[2];	/* [0] read (or meta ops), [1] write */
	double ios;		/* workload I/Os (or metadata ops) inside the window */
	double requests;	/* FUSE requests over the window; < 0 unknown (native) */
	double window_s;	/* the window the request and CPU deltas cover */
	double cpu_s;		/* server utime+stime over the window */
	double rss_kb;		/* server VmRSS after the run; < 0 unknown */
	char transport[16];	/* transport the server reported for this sample */
};

enum bench_unit { BENCH_MIBS, BENCH_IOPS, BENCH_OPS };
enum bench_dirsel { BENCH_READ = 0, BENCH_WRITE = 1, BENCH_RW = 2 };

/* One table row of a cell: which direction and unit its headline value uses. */
struct bench_row {
	enum bench_dirsel dir;
	enum bench_unit unit;
	char suffix[16];	/* appended to the cell title, e.g. " read" */
};

enum bench_work_kind { BENCH_WORK_FIO, BENCH_WORK_META };

/*
 * The transport issue's acceptance targets: furi on io_uring must beat
 * /dev/fuse 1.4-2.4x on 4 KiB I/O, 2.8x on forced GETATTR, 1.5x on creates,
 * at under 3 us server CPU per 4 KiB request.
 */
enum bench_accept { BENCH_ACCEPT_NONE, BENCH_ACCEPT_4K, BENCH_ACCEPT_GETATTR, BENCH_ACCEPT_CREATES };
#define BENCH_TARGET_4K_GAIN 1.4
#define BENCH_TARGET_GETATTR_GAIN 2.8
#define BENCH_TARGET_CREATES_GAIN 1.5
#define BENCH_TARGET_CPU_US 3.0
/* Issue 15: beside nice-19 work a variant keeps at least this much of its idle throughput. */
#define BENCH_TARGET_KEPT 0.8

/* What a cell runs. Paths are relative to the variant's directory. */
struct bench_work {
	enum bench_work_kind kind;
	/* fio */
	char engine[16];	/* io_uring, psync, sync, mmap */
	char rw[16];		/* randread, randwrite, randrw, read */
	unsigned bs;		/* bytes */
	unsigned iodepth;
	unsigned jobs;
	unsigned rwmix_read;	/* percent of reads for randrw; 0 = unset */
	bool direct;
	bool time_based;
	double runtime_s;
	double ramp_s;		/* warm-up excluded by fio (ramp_time) and from our window */
	bool split;		/* job j reads slice j of the file (offset_increment) */
	bool per_job_files;	/* job j uses its own file NAME.j.0 (fio's default naming) */
	char file[48];		/* the data file (not with per_job_files) */
	uint64_t file_size;	/* size of the file, or of each per-job file */
	uint64_t io_size;	/* with split: total bytes over all jobs; 0 = file_size */
	bool cold;		/* sync + drop caches before each run */
	/* metadata program */
	char mode[16];		/* creates, getattr, stat-many, readdir, cwcu */
	unsigned threads;
	unsigned count;		/* files per thread (creates), files in the tree (stat-many, readdir) */
	double seconds;		/* time-based modes */
	unsigned passes;	/* stat-many: cold passes over the tree */
	char dir[48];		/* working directory for creates/cwcu, tree for stat-many/readdir */
};

struct bench_cell {
	char id[48];		/* unique in its suite, file-name safe: "randread-4k-qd1" */
	char title[96];		/* "4 KiB randread O_DIRECT QD1" */
	struct bench_work w;
	int nrows;
	struct bench_row rows[2];
	bool per_io;		/* requests per I/O is meaningful */
	enum bench_accept accept; /* which acceptance target of the transport issue it checks */
	char cmd[1024];		/* the exact command, $MNT standing for the variant's directory */
	/* [load index in run->loads][variant][round] */
	struct bench_sample s[BENCH_MAX_LOADS][BENCH_MAX_VARIANTS][BENCH_MAX_ROUNDS];
};

struct bench_suite {
	char name[16];		/* transport, qemu, rfc, bufring, meta */
	char title[96];
	char source[320];	/* which published table it mirrors */
	char notes[1024];	/* how it was run; appended to by the runner */
	int ncells;
	struct bench_cell *cells;
	struct bench_mount m[BENCH_MAX_VARIANTS];
	double seconds;		/* wall time of the suite */
	bool run;
};

struct bench_machine {
	char kernel[128];
	char cpu[128];
	int ncpu;
	double mem_gib;
	char fio[64];
	char enable_uring[16];	/* "Y", "N" or "absent" */
	char date[64];
	char furi[64];		/* furi version */
	char load_start[64];	/* /proc/loadavg 1/5/15 min at the start and the end */
	char load_end[64];
};

struct bench_run {
	struct bench_machine machine;
	char command[512];	/* how furi bench was invoked */
	bool quick;
	int rounds;
	int nvariants;
	struct bench_variant v[BENCH_MAX_VARIANTS];
	int ngroups;
	struct bench_group g[BENCH_MAX_GROUPS];
	int nsuites;
	struct bench_suite s[BENCH_MAX_SUITES];
	char native_note[256];	/* what the native baseline is */
	int nloads;		/* at least 1; loads[0] is what the plots show */
	enum bench_load loads[BENCH_MAX_LOADS];
	int load_procs;		/* busy processes per loaded sample (online CPUs) */
};

/*
 * snprintf that may truncate on purpose (paths in messages): the same,
 * without gcc's -Wformat-truncation on every call site.
 */
void bench_str(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* argv as one shell-readable line (for the report's commands); -1 if it does not fit. */
int bench_join_argv(char *const argv[], int argc, char *line, size_t len);

/* ---- statistics over the rounds of one variant in one cell ---- */

enum bench_what {
	BENCH_VALUE,		/* the row's headline throughput */
	BENCH_LAT,		/* mean latency of the row's direction (us) */
	BENCH_P99,
	BENCH_CPU_PER_REQ,	/* server CPU us per FUSE request (furi's counters) */
	BENCH_CPU_PER_IO,	/* server CPU us per workload I/O (any server we know the pid of) */
	BENCH_REQ_PER_IO,	/* FUSE requests per workload I/O */
	BENCH_RSS,		/* server VmRSS, KiB */
};

struct bench_stat {
	int n;			/* rounds with a value */
	double med, min, max;
};

/* Median of n values (sorted copy); NaN if n == 0. */
double bench_median(const double *v, int n);
/* One number of one sample for a row, or NaN when it does not apply. */
double bench_sample_get(const struct bench_sample *s, const struct bench_row *row,
			enum bench_what what);
/* Over the rounds of one variant under load index load of run->loads. */
struct bench_stat bench_cell_stat_at(const struct bench_cell *c, int load, int variant,
				     int nrounds, const struct bench_row *row, enum bench_what what);
/* The same under the first load (loads[0]). */
struct bench_stat bench_cell_stat(const struct bench_cell *c, int variant, int nrounds,
				  const struct bench_row *row, enum bench_what what);

/* "idle", "nice19", "nice0". */
const char *bench_load_name(enum bench_load l);
/* The nice level of a load's busy processes (0 for idle, which has none). */
int bench_load_nice(enum bench_load l);
/* One line for the report: what load l is, with nprocs busy processes. */
void bench_load_describe(enum bench_load l, int nprocs, char *buf, size_t len);
/*
 * Parse a comma-separated --load list into loads (at most max, no
 * duplicates). Returns how many, or -1 with a one-line err.
 */
int bench_load_parse(const char *list, enum bench_load *loads, int max, char *err,
		     size_t errlen);
/* Index of load l in run->loads, or -1. */
int bench_load_index(const struct bench_run *run, enum bench_load l);

#endif /* FURI_BENCH_H */
