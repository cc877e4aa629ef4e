/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what libfuri's modules share: the request object, the
 * channel interface the two transports implement, and the session.
 */
#ifndef FURI_INTERNAL_H
#define FURI_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <furi/furi.h>

#include "kernel_abi.h"
#include "status.h"

#define FURI_PAGE_SIZE 4096u
#define FURI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FURI_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FURI_MAX(a, b) ((a) > (b) ? (a) : (b))
#define furi_likely(x) __builtin_expect(!!(x), 1)
#define furi_unlikely(x) __builtin_expect(!!(x), 0)

struct furi_req;
struct furi_chan;

/* One backend operation started with furi_io_*(). */
enum furi_io_kind { FURI_IO_READ, FURI_IO_WRITE, FURI_IO_FSYNC, FURI_IO_FDATASYNC, FURI_IO_FALLOCATE };
struct furi_io_op {
	enum furi_io_kind kind;
	int fd;
	int mode;		/* fallocate */
	void *buf;
	uint64_t len;
	uint64_t off;
};

/*
 * A channel carries requests from the kernel and replies back: an io_uring
 * queue, or the /dev/fuse workers. Encoders never ask which one it is.
 */
struct furi_chan_ops {
	/*
	 * Send the reply of req: the out header is made from error and the
	 * argument bytes already in req->out[0..args_len); extra (not in the
	 * reply area) follows them. The channel counts the reply
	 * (furi_stats_replied) on the thread that owns its counters. req is
	 * gone when this returns.
	 */
	void (*send)(struct furi_req *req, int error, size_t args_len,
		     const void *extra, size_t extra_len);
	/*
	 * Start op on this channel's own ring. Returns 0 when queued (the
	 * completion calls furi_io_complete()), or -EAGAIN when the caller must
	 * run it synchronously (not the queue's thread, no ring).
	 */
	int (*io_submit)(struct furi_req *req, const struct furi_io_op *op);
};

struct furi_chan {
	const struct furi_chan_ops *ops;
	const struct furi_chan_ops *traced;	/* under -o debug: the transport's own ops */
	struct furi_chan_stats *stats;	/* in the status mapping */
	bool shared_stats;		/* several writers: count with atomics */
};

enum furi_req_state {
	FURI_REQ_DISPATCHING,	/* the handler has not returned yet */
	FURI_REQ_DETACHED,	/* the handler returned without replying */
	FURI_REQ_REPLIED,	/* replied while the handler was still running */
};

struct furi_req {
	struct furi_session *se;
	struct furi_chan *chan;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t opcode;
	uint32_t in_bytes;
	struct furi_ctx ctx;
	char *out;		/* reply area: out arguments go here */
	size_t out_size;
	uint64_t t_start;	/* ns, CLOCK_MONOTONIC */
	_Atomic int state;	/* enum furi_req_state; see furi_req_finish() */
	bool no_reply;		/* FORGET, BATCH_FORGET, INTERRUPT */
	uint32_t ioctl_flags;	/* IOCTL: FUSE_IOCTL_* of the request */

	/* backend I/O */
	furi_io_done_fn io_done;
	void *io_arg;

	/* interrupts (only requests that asked for them are listed) */
	_Atomic bool interrupted;
	void (*int_fn)(struct furi_req *req, void *arg);
	void *int_arg;
	struct furi_req *int_next, *int_prev;
	bool int_listed;
};

/* ---- session ---- */

struct furi_uring;	/* transport_uring.c */
struct furi_offload;	/* offload.c */
struct furi_legacy;	/* transport_legacy.c */

struct furi_session {
	struct furi_config cfg;
	const struct furi_ops *ops;
	void *fs;
	uint64_t not_inline;		/* bit per opcode: INIT, and handlers on helper threads */
	struct furi_offload *offload;	/* offload.c: those helpers */

	char mountpoint[1024];
	bool mounted;
	bool mounted_by_fusermount;
	/*
	 * -o auto_unmount: our end of the pipe (root) or socket (fusermount3)
	 * whose closing, by exit or death, tells the watcher to unmount; -1 none.
	 */
	int unmount_watcher_fd;
	pid_t unmount_watcher_pid;
	mode_t root_mode;
	int fd;				/* /dev/fuse, the session's master fd */

	/* negotiated at INIT */
	struct furi_conn conn;
	uint64_t want;			/* kernel INIT flags in effect */
	uint64_t kernel_flags;		/* what the kernel's INIT offered */
	unsigned proto_minor;
	unsigned max_pages;
	size_t payload_size;		/* max(8 KiB, max_write, max_pages pages) */
	size_t legacy_bufsize;

	/* transports */
	struct furi_legacy *legacy;
	struct furi_uring *uring;
	bool uring_active;
	char transport_line[512];
	char fallback_reason[384];

	/* status file */
	struct furi_status *status;
	size_t status_size;
	char status_path[256];
	ino_t status_ino;		/* ours, if status_path still names it */
	struct furi_chan_stats *dev_fuse_stats;	/* the /dev/fuse channel's counters */
	unsigned dev_major, dev_minor;
	unsigned nchan_used;

	/* lifetime */
	int exit_fd;			/* eventfd: the session should end */
	_Atomic bool ended;		/* the kernel connection is gone */
	_Atomic bool stopping;		/* transports must wind down */
	bool destroyed_fs;

	/* interrupts */
	pthread_mutex_t int_lock;
	pthread_cond_t int_done;		/* an interrupt callback returned */
	struct furi_req *int_running;		/* whose callback runs now, if any */
	pthread_t int_runner;
	struct furi_req *int_list;
	uint64_t int_pending[16];	/* INTERRUPTs that came before their request asked */
	unsigned int_pending_next;

	/* notifications (notify.c) */
	pthread_mutex_t notify_lock;
	struct furi_retrieve *retrieves;	/* RETRIEVEs waiting for their NOTIFY_REPLY */
	uint64_t retrieve_seq;
};

/* ---- dispatch.c ---- */

/*
 * Decode one request and call the filesystem. The transport has filled
 * req->se, chan, out, out_size and state. arg points at the opcode's first
 * argument (arg_len bytes), data at the rest (names, write data, extensions).
 */
void furi_dispatch(struct furi_req *req, const struct fuse_in_header *ih,
		   const void *arg, size_t arg_len, const char *data, size_t data_len);
union furi_op_arg;
/*
 * The second half of furi_dispatch(): call the handler of a decoded
 * request (a: its first argument, zero-padded; data: names, values, WRITE
 * data, without the extensions). Helper threads run it for offload.c.
 */
void furi_dispatch_op(struct furi_req *req, const struct fuse_in_header *ih,
		      const union furi_op_arg *a, const char *data, size_t data_len);
/* Answer a request whose framing is broken (lengths that do not add up) with EINVAL. */
void furi_dispatch_reject(struct furi_req *req, const struct fuse_in_header *ih);
/* Size of the opcode's first argument as the kernel sends it (0 if none). */
size_t furi_op_arg_size(const struct furi_session *se, uint32_t opcode);
/* Split a contiguous /dev/fuse request into first argument and data. */
int furi_split_request(const struct furi_session *se, const struct fuse_in_header *ih,
		       const char *body, size_t body_len, const void **arg, size_t *arg_len,
		       const char **data, size_t *data_len);

/*
 * A copy of the first argument, zero-padded, so that every field read is in
 * bounds even when the kernel sent an older, shorter struct.
 */
union furi_op_arg {
	struct fuse_forget_in forget;
	struct fuse_getattr_in getattr;
	struct fuse_setattr_in setattr;
	struct fuse_mknod_in mknod;
	struct fuse_mkdir_in mkdir;
	struct fuse_rename_in rename;
	struct fuse_rename2_in rename2;
	struct fuse_link_in link;
	struct fuse_open_in open;
	struct fuse_read_in read;
	struct fuse_write_in write;
	struct fuse_release_in release;
	struct fuse_fsync_in fsync;
	struct fuse_setxattr_in setxattr;
	struct fuse_getxattr_in getxattr;
	struct fuse_flush_in flush;
	struct fuse_lk_in lk;
	struct fuse_access_in access;
	struct fuse_create_in create;
	struct fuse_interrupt_in interrupt;
	struct fuse_batch_forget_in batch_forget;
	struct fuse_fallocate_in fallocate;
	struct fuse_lseek_in lseek;
	struct fuse_copy_file_range_in copy;
	struct fuse_bmap_in bmap;
	struct fuse_ioctl_in ioctl;
	struct fuse_poll_in poll;
	struct fuse_notify_retrieve_in retrieve;
	struct fuse_statx_in statx;
};

/* ---- trace.c (-o debug) ---- */

/* One line for a request about to be dispatched (a: its first argument, data: names). */
void furi_trace_request(const struct furi_req *req, const union furi_op_arg *a,
			const char *data, size_t data_len);
/*
 * Under -o debug, make chan log each reply before its transport sends it;
 * otherwise leave it alone. Transports call it once the channel's ops are set.
 */
void furi_trace_chan(const struct furi_session *se, struct furi_chan *chan);

/* ---- reply.c ---- */

/* End req: count it and hand it to its channel's send. */
void furi_reply_send(struct furi_req *req, int error, size_t args_len,
		     const void *extra, size_t extra_len);
/* End a request that has no reply (FORGET). */
void furi_reply_none(struct furi_req *req);
/*
 * Called by a transport after the handler returned: true if the request
 * is finished and its buffer may be reused now, false if it was detached
 * (a later reply will release it through the channel).
 */
bool furi_req_handler_returned(struct furi_req *req);
/* Called by a channel's send: true if the dispatching thread still owns req. */
bool furi_req_mark_replied(struct furi_req *req);

/* ---- stats.c ---- */

uint64_t furi_now_ns(void);
void furi_stats_received(struct furi_chan *chan, uint32_t opcode, size_t bytes);
void furi_stats_replied(struct furi_chan *chan, uint32_t opcode, uint64_t t_start, int error,
			size_t bytes);
void furi_stats_malformed(struct furi_chan *chan);

/* ---- status.c ---- */

int furi_status_create(struct furi_session *se, unsigned nchan, char *err, size_t errlen);
struct furi_chan_stats *furi_status_chan(struct furi_session *se, const char *name,
					 enum furi_chan_kind kind, int cpu);
void furi_status_publish(struct furi_session *se, enum furi_status_state state);
void furi_status_remove(struct furi_session *se);

/* ---- config.c ---- */

/* Every MS_* flag mount(2) gets for cfg: nosuid, nodev and ro included. */
unsigned long furi_config_mount_flags(const struct furi_config *cfg);
/* "ro,nosuid,noatime": mount(8)'s names of flags, for fusermount3. */
int furi_mount_flag_names(unsigned long flags, char *buf, size_t len);

/* ---- mount.c ---- */

int furi_mount(struct furi_session *se, const char *mountpoint, char *err, size_t errlen);
void furi_unmount(struct furi_session *se);

/* ---- session.c ---- */

/* The kernel connection is gone (ENODEV, ENOTCONN): end the session. */
void furi_session_ended(struct furi_session *se);
/* Name a transport thread "<prefix><index>" for ps, top and perf. */
void furi_name_thread(pthread_t thread, const char *prefix, unsigned index);
/* Handle INIT (on /dev/fuse only). */
int furi_session_init(struct furi_session *se, const struct fuse_in_header *ih,
		      const void *arg, size_t arg_len, char *err, size_t errlen);

/* ---- interrupt.c ---- */

void furi_interrupt_request(struct furi_session *se, uint64_t unique);
/*
 * req is answered: take it off the list, waiting for its callback if that
 * runs on another thread. true if it was listed (its callback never ran).
 */
bool furi_interrupt_forget(struct furi_req *req);

/* ---- notify.c ---- */

struct furi_retrieve;
/* A NOTIFY_REPLY: hand the retrieved bytes to the RETRIEVE's callback. */
void furi_notify_reply(struct furi_req *req, const struct fuse_notify_retrieve_in *in,
		       const char *data, size_t data_len);
/* Free the RETRIEVEs never answered (session teardown). */
void furi_notify_free(struct furi_session *se);

/* ---- offload.c ---- */

/* Take ops->may_block (the opcodes that may leave the queue thread). 0 or -ENOMEM. */
int furi_offload_init(struct furi_session *se);
/*
 * Hand a decoded request (see furi_dispatch_op) to a helper thread. It
 * copies what it needs, so the caller's arguments may go when it returns.
 * 0 when taken (the request is answered later, from the helper or by an
 * interrupt), -errno when the caller must run it inline.
 */
int furi_offload(struct furi_req *req, const struct fuse_in_header *ih,
		 const union furi_op_arg *a, const char *data, size_t data_len);
/* Wait until no helper runs (session end, before the transports go). */
void furi_offload_stop(struct furi_session *se);
void furi_offload_free(struct furi_session *se);

/* ---- io.c ---- */

/* Completion of a queued furi_io op (called on the queue thread). */
void furi_io_complete(struct furi_req *req, int res);
/* Run op with a plain system call; returns its result or -errno. */
int furi_io_run_sync(const struct furi_io_op *op);

/* ---- transport_legacy.c ---- */

int furi_legacy_start(struct furi_session *se, unsigned nthreads, char *err, size_t errlen);
void furi_legacy_stop(struct furi_session *se, bool force);
void furi_legacy_free(struct furi_session *se);
/* Serve one request read from /dev/fuse into buf (the INIT path uses it too). */
size_t furi_legacy_bufsize(const struct furi_session *se);

/* ---- transport_uring.c ---- */

/* Before the INIT reply: create queues, rings and buffers. 0 or -errno with a reason. */
int furi_uring_prepare(struct furi_session *se, char *why, size_t whylen);
/* After the INIT reply: register every entry. 0 when all did, else -errno with a reason. */
int furi_uring_start(struct furi_session *se, char *why, size_t whylen);
void furi_uring_stop(struct furi_session *se);
/*
 * An INTERRUPT named a request no callback waits for: each queue thread
 * cancels that request's backend I/O if it has some on its ring (any thread).
 */
void furi_uring_interrupted(struct furi_session *se);
void furi_uring_free(struct furi_session *se);
/* Possible CPUs: the kernel makes one queue per possible CPU. */
unsigned furi_possible_cpus(void);

/* ---- log.c ---- */

#define furi_err(...) furi_log(FURI_LOG_ERR, __VA_ARGS__)
#define furi_warn(...) furi_log(FURI_LOG_WARN, __VA_ARGS__)
#define furi_info(...) furi_log(FURI_LOG_INFO, __VA_ARGS__)
#define furi_dbg(...) furi_log(FURI_LOG_DEBUG, __VA_ARGS__)
/* snprintf into err if err is not NULL; returns -e (e > 0). */
int furi_seterr(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* FURI_INTERNAL_H */
