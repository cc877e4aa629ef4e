/* SPDX-License-Identifier: MIT */
/*
 * status.h - the status file a running server publishes and `furi status`
 * reads: a small shared-memory file with the session's facts and one block
 * of counters per channel (an io_uring queue, or the /dev/fuse workers).
 *
 * The server's hot path writes counters straight into this mapping, so
 * reading them costs the server nothing. Each channel's counters have one
 * writer (its queue thread) except the /dev/fuse channel, whose workers use
 * atomic adds.
 */
#ifndef FURI_STATUS_H
#define FURI_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel_abi.h"

#define FURI_STATUS_MAGIC	0x7375746174736972ULL	/* "ristats" */
/*
 * Bumped whenever the layout changes; `furi status` reads only its own
 * version and names both when they differ. 2: per-opcode, per-errno error
 * counts; the source, the auto_unmount watcher and the pin mode. 3: queue
 * entries and growth, the scheduling guard's backoffs, the start depth.
 */
#define FURI_STATUS_VERSION	3
#define FURI_LAT_BUCKETS	40	/* bucket i: latency in [2^i, 2^(i+1)) ns */
/*
 * Distinct (opcode, errno) pairs counted per channel. A mount sees a
 * handful (LOOKUP ENOENT, GETXATTR ENODATA, ...); pairs past the table
 * are counted in errors_untracked.
 */
#define FURI_ERR_SLOTS		32

enum furi_chan_kind {
	FURI_CHAN_URING = 1,
	FURI_CHAN_DEV_FUSE = 2,
};

struct furi_chan_stats {
	char name[16];			/* "queue0", "dev_fuse" */
	uint32_t kind;			/* enum furi_chan_kind */
	int32_t cpu;			/* the queue's CPU; -1 for /dev/fuse */
	uint64_t received;		/* requests taken from the kernel */
	uint64_t replied;		/* replies sent (received - replied = in flight) */
	uint64_t errors;		/* replies with an error */
	uint64_t bytes_in;		/* request bytes, headers included */
	uint64_t bytes_out;		/* reply bytes, headers included */
	uint64_t malformed;		/* requests rejected by the decoder */
	uint32_t entries;		/* io_uring entries registered (it grows on demand) */
	uint32_t peak_in_use;		/* most entries holding requests at once */
	uint64_t growths;		/* times the queue registered more entries */
	uint64_t sched_backoffs;	/* times its thread's guard withdrew the concessions
					 * (SCHED_IDLE, moving away, polling) beside other work */
	uint64_t ops[FURI_OPCODE_MAX];	/* requests by opcode */
	uint64_t lat[FURI_LAT_BUCKETS];	/* receive-to-reply latency */
	uint64_t errors_untracked;	/* error replies whose pair found no free slot */
	/*
	 * Error replies by (opcode, errno): key FURI_ERR_KEY(), 0 while the
	 * slot is free. A slot is claimed once and never changes key; the
	 * writer hashes the pair to its first slot and probes onwards.
	 */
	struct furi_err_count {
		uint32_t key;
		uint32_t pad;
		uint64_t count;
	} errs[FURI_ERR_SLOTS];
} __attribute__((aligned(64)));

#define FURI_ERR_KEY(opcode, err)	((uint32_t)(opcode) << 16 | ((uint32_t)(err) & 0xffff))
#define FURI_ERR_KEY_OPCODE(key)	((key) >> 16)
#define FURI_ERR_KEY_ERRNO(key)		((int)((key) & 0xffff))

enum furi_status_state {
	FURI_STATE_STARTING = 1,
	FURI_STATE_RUNNING = 2,
	FURI_STATE_STOPPING = 3,
};

struct furi_status {
	uint64_t magic;
	uint32_t version;
	uint32_t size;			/* bytes of the whole file */
	int32_t pid;
	uint32_t state;			/* enum furi_status_state */
	uint64_t start_time;		/* of pid, as in /proc/PID/stat: tells a reused pid apart */
	uint32_t dev_major, dev_minor;	/* of the mount, as in /proc/self/mountinfo */
	uint32_t proto_major, proto_minor;
	uint32_t uring;			/* 1 when io_uring queues serve requests */
	uint32_t queues;		/* io_uring queues (possible CPUs), 0 if none */
	uint32_t uring_threads;
	uint32_t depth;			/* entries per queue, at most */
	uint32_t depth_start;		/* entries each queue starts with */
	uint32_t legacy_threads;	/* /dev/fuse workers */
	uint32_t max_write;
	uint32_t max_pages;
	uint32_t max_background;
	uint32_t congestion_threshold;
	uint32_t nchan;
	uint64_t payload_bytes;		/* per io_uring entry */
	uint64_t buffer_bytes;		/* every transport buffer together */
	uint64_t want;			/* INIT flags in effect */
	char mountpoint[1024];
	char fs[64];
	char transport_line[512];	/* what furi_session_transport_line() says */
	char fallback_reason[384];	/* why io_uring is not in use; empty if it is */
	char source[1024];		/* what the filesystem serves (a directory, an image); may be empty */
	int32_t unmount_watcher;	/* -o auto_unmount: pid of the process that unmounts when we die; 0 none */
	uint32_t pin;			/* enum furi_pin of the io_uring queue threads */
	struct furi_chan_stats chan[];
};

/* Where status files live: /run/furi for root, else $XDG_RUNTIME_DIR/furi or /tmp/furi-UID. */
int furi_status_dir(char *buf, size_t len);
/* The status file of the mount with this device number. */
int furi_status_path(char *buf, size_t len, unsigned major, unsigned minor);

/* Names of the serving threads, with their index appended: furi-uring0, furi-fuse1. */
#define FURI_THREAD_URING	"furi-uring"
#define FURI_THREAD_DEV_FUSE	"furi-fuse"

/*
 * The value of "KEY:" in a /proc status file (/proc/self/status,
 * /proc/PID/task/TID/status), blanks before it dropped: 0, or -errno
 * (-ENOENT when the file has no such line).
 */
int furi_proc_status_field(const char *path, const char *key, char *buf, size_t len);
/*
 * The I/O priority (an ioprio value) block I/O of thread tid (0: this one)
 * gets: its own, or, with none (*derived), the one the kernel derives from
 * its policy (SCHED_IDLE: idle class) and nice value. -errno if it is gone.
 */
int furi_thread_io_priority(pid_t tid, bool *derived);
/* Start time of a process (field 22 of /proc/PID/stat), 0 if it is gone or a zombie. */
uint64_t furi_process_start_time(pid_t pid);

/* Approximate latency percentile (0 < pct < 100) in nanoseconds from a histogram. */
uint64_t furi_lat_percentile(const uint64_t lat[FURI_LAT_BUCKETS], double pct);
/* Name of an opcode ("LOOKUP"), or NULL if unknown. */
const char *furi_opcode_name(unsigned opcode);
/*
 * Whether an error reply of opcode is an answer a healthy filesystem gives
 * (LOOKUP ENOENT: no such name; GETXATTR ENODATA: no such attribute; ENOSYS:
 * not implemented, the kernel stops asking) rather than a failure of the
 * server or its backend (EIO, ENOMEM, ESTALE, ...). err is positive.
 */
bool furi_error_expected(unsigned opcode, int err);

/* Find the mount at path in /proc/self/mountinfo (last one wins). Returns 0 or -ENOENT. */
struct furi_mountinfo {
	unsigned major, minor;
	char fstype[64];
	char source[256];
	char mountpoint[1024];
	long user_id;		/* user_id= of a FUSE mount: who mounted it; -1 if none */
};
int furi_mountinfo_find(const char *path, struct furi_mountinfo *mi);
/*
 * One line of mountinfo (changed in place): 0 with mi filled when its mount
 * point (unescaped) is path, or with any mount point when path is NULL;
 * else -ENOENT and mi untouched.
 */
int furi_mountinfo_parse_line(char *line, const char *path, struct furi_mountinfo *mi);
/* Make path absolute and clean (".", "..", "//") without touching the filesystem. */
int furi_path_absolute(const char *path, char *buf, size_t len);
/*
 * Resolve the symlinks of the absolute, clean path in place as the kernel
 * does at mount time, without sending the last component's server a
 * request. 0 (an unresolvable path stays as it is), -ENAMETOOLONG or -ELOOP.
 */
int furi_path_resolve(char *path, size_t len);

#endif /* FURI_STATUS_H */
