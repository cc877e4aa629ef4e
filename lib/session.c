/* SPDX-License-Identifier: MIT */
/*
 * session.c - a session from mount to teardown: INIT negotiation, the
 * choice of transport (and the reason when it is not io_uring), signals,
 * and teardown in the reverse order of setup.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

/* The capabilities a filesystem may ask for (see FURI_CAP_*). */
#define PUBLIC_CAPS (FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC |	\
		     FUSE_EXPORT_SUPPORT | FUSE_DONT_MASK | FUSE_FLOCK_LOCKS |		\
		     FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO |	\
		     FUSE_ASYNC_DIO | FUSE_WRITEBACK_CACHE | FUSE_PARALLEL_DIROPS |	\
		     FUSE_HANDLE_KILLPRIV | FUSE_POSIX_ACL | FUSE_CACHE_SYMLINKS |	\
		     FUSE_EXPLICIT_INVAL_DATA | FUSE_HANDLE_KILLPRIV_V2 |		\
		     FUSE_SETXATTR_EXT | FUSE_SECURITY_CTX | FUSE_CREATE_SUPP_GROUP |	\
		     FUSE_DIRECT_IO_ALLOW_MMAP | FUSE_PASSTHROUGH | FUSE_NO_EXPORT_SUPPORT |	\
		     FUSE_OVER_IO_URING)

/* Enough for INIT before max_write is known: the kernel demands 8 KiB. */
#define INIT_BUFSIZE (2 * FUSE_MIN_READ_BUFFER)

unsigned furi_possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	unsigned lo, hi, max = 0;
	char sep;

	if (!f)
		return (unsigned)FURI_MAX(sysconf(_SC_NPROCESSORS_CONF), 1);
	/* "0-63" or "0,2-5": the kernel counts queues up to the highest id. */
	while (fscanf(f, "%u", &lo) == 1) {
		hi = lo;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
			if (fscanf(f, "%u", &hi) != 1)
				break;
			if (fscanf(f, "%c", &sep) != 1)
				sep = '\n';
		}
		max = FURI_MAX(max, hi + 1);
		if (sep != ',')
			break;
	}
	fclose(f);
	return max ? max : 1;
}

static unsigned read_sysctl_uint(const char *path, unsigned dflt)
{
	FILE *f = fopen(path, "re");
	unsigned v;

	if (!f)
		return dflt;
	if (fscanf(f, "%u", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

/* Why the kernel did not offer FUSE-over-io_uring, and the fix. */
static void explain_no_uring(struct furi_session *se, unsigned minor)
{
	FILE *f;
	char c = 0;

	if (minor < FURI_URING_MIN_MINOR) {
		snprintf(se->fallback_reason, sizeof(se->fallback_reason),
			 "the kernel speaks FUSE 7.%u; io_uring needs 7.42 (fix: Linux 6.14 or newer)",
			 minor);
		return;
	}
	f = fopen("/sys/module/fuse/parameters/enable_uring", "re");
	if (!f) {
		snprintf(se->fallback_reason, sizeof(se->fallback_reason),
			 "this kernel was built without CONFIG_FUSE_IO_URING (fix: a kernel with FUSE-over-io_uring)");
		return;
	}
	if (fread(&c, 1, 1, f) != 1)
		c = 0;
	fclose(f);
	if (c == 'N' || c == '0')
		snprintf(se->fallback_reason, sizeof(se->fallback_reason),
			 "enable_uring is off (fix: echo Y > /sys/module/fuse/parameters/enable_uring as root, then mount again)");
	else
		snprintf(se->fallback_reason, sizeof(se->fallback_reason),
			 "the kernel did not offer FUSE_OVER_IO_URING at INIT");
}

static void human_size(char *buf, size_t len, uint64_t bytes)
{
	if (bytes >= (1ull << 30) && !(bytes & ((1ull << 30) - 1)))
		snprintf(buf, len, "%llu GiB", (unsigned long long)(bytes >> 30));
	else if (bytes >= (1ull << 20))
		snprintf(buf, len, "%.1f MiB", (double)bytes / (1 << 20));
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)(bytes >> 10));
}

/* What pinning the entries' buffers for backend I/O may take, said when it is limited. */
static void describe_memlock(char *buf, size_t len)
{
	struct rlimit rl;
	char limit[32];

	buf[0] = '\0';
	if (geteuid() == 0 || getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return;
	human_size(limit, sizeof(limit), rl.rlim_cur);
	snprintf(buf, len, "; backend I/O pins buffers up to RLIMIT_MEMLOCK (%s), then goes unregistered",
		 limit);
}

static void describe_transport(struct furi_session *se)
{
	struct furi_status *st = se->status;
	char payload[32], total[32], memlock[128];
	uint64_t ceiling = st ? st->buffer_bytes : 0;

	if (se->cfg.max_buffers && se->cfg.max_buffers < ceiling)
		ceiling = se->cfg.max_buffers;
	human_size(payload, sizeof(payload), se->payload_size);
	human_size(total, sizeof(total), ceiling);
	describe_memlock(memlock, sizeof(memlock));
	if (se->uring_active)
		snprintf(se->transport_line, sizeof(se->transport_line),
			 "io_uring: %u queues x %u-%u entries on %u threads, %s per entry, buffers up to %s%s (touched as requests need them)%s",
			 st->queues, st->depth_start, st->depth, st->uring_threads, payload, total,
			 ceiling < st->buffer_bytes ? " (-o max_buffers)" : "", memlock);
	else
		snprintf(se->transport_line, sizeof(se->transport_line),
			 "/dev/fuse: %u threads; io_uring not used: %s",
			 st ? st->legacy_threads : 0, se->fallback_reason);
}

static int send_init_reply(struct furi_session *se, uint64_t unique, int error,
			   const struct fuse_init_out *out)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh) + (out ? sizeof(*out) : 0),
		.error = error,
		.unique = unique,
	};
	struct iovec iov[2] = { { &oh, sizeof(oh) }, { (void *)out, out ? sizeof(*out) : 0 } };

	if (writev(se->fd, iov, out ? 2 : 1) < 0)
		return -errno;
	return 0;
}

/* Fill conn with the kernel's offer and furi's defaults, before ops->init. */
static void conn_defaults(struct furi_session *se, const struct fuse_init_in *in,
			  uint64_t kflags, unsigned minor)
{
	const struct furi_config *cfg = &se->cfg;
	struct furi_conn *c = &se->conn;
	unsigned queues = furi_possible_cpus();

	memset(c, 0, sizeof(*c));
	c->proto_major = FUSE_KERNEL_VERSION;
	c->proto_minor = minor;
	c->capable = kflags & PUBLIC_CAPS;
	c->want = FUSE_ASYNC_READ | FUSE_AUTO_INVAL_DATA | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS;
	if (se->ops->readdirplus)
		c->want |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
	if (se->ops->getlk && se->ops->setlk)
		c->want |= FUSE_POSIX_LOCKS;
	if (se->ops->setlk)
		c->want |= FUSE_FLOCK_LOCKS;
	if (cfg->writeback_cache)
		c->want |= FUSE_WRITEBACK_CACHE;
	c->max_write = cfg->max_write;
	c->max_read = cfg->max_read;
	c->max_readahead = cfg->max_readahead ? cfg->max_readahead : in->max_readahead;
	/* O_DIRECT AIO counts as background: size it for every entry of every queue. */
	c->max_background = cfg->max_background ? cfg->max_background
						: FURI_MIN(queues * cfg->queue_depth, 65535u);
	c->congestion_threshold = cfg->congestion_threshold ? cfg->congestion_threshold
							    : c->max_background * 3 / 4;
	c->time_gran = 1;
	c->max_stack_depth = 1;
}

/* Bring what ops->init chose inside what the kernel and furi can do. */
static void conn_clamp(struct furi_session *se)
{
	struct furi_conn *c = &se->conn;
	unsigned limit = read_sysctl_uint("/proc/sys/fs/fuse/max_pages_limit", 256);
	size_t payload;

	if (c->max_write < FURI_PAGE_SIZE)
		c->max_write = FURI_PAGE_SIZE;
	if (c->max_write > limit * FURI_PAGE_SIZE) {
		furi_warn("max_write %u is above the kernel's limit of %u KiB (fs.fuse.max_pages_limit = %u pages): WRITEs are at most %u KiB (fix: sysctl -w fs.fuse.max_pages_limit=%u as root, or a smaller -o max_write)",
			  c->max_write, limit * (FURI_PAGE_SIZE / 1024), limit,
			  limit * (FURI_PAGE_SIZE / 1024),
			  (c->max_write + FURI_PAGE_SIZE - 1) / FURI_PAGE_SIZE);
		c->max_write = limit * FURI_PAGE_SIZE;
	}
	se->max_pages = (c->max_write + FURI_PAGE_SIZE - 1) / FURI_PAGE_SIZE;
	if (c->max_background == 0)
		c->max_background = 1;
	if (c->max_background > 65535)
		c->max_background = 65535;
	if (c->congestion_threshold == 0 || c->congestion_threshold > c->max_background)
		c->congestion_threshold = c->max_background;
	if (c->congestion_threshold > 65535)
		c->congestion_threshold = 65535;
	c->want &= c->capable;
	/* The kernel takes every out argument from this buffer, up to 64 KiB xattrs. */
	payload = FURI_MAX((size_t)FUSE_MIN_READ_BUFFER, (size_t)c->max_write);
	payload = FURI_MAX(payload, (size_t)se->max_pages * FURI_PAGE_SIZE);
	payload = FURI_MAX(payload, (size_t)65536 + FURI_PAGE_SIZE);
	se->payload_size = payload;
}

int furi_session_init(struct furi_session *se, const struct fuse_in_header *ih,
		      const void *arg, size_t arg_len, char *why, size_t whylen)
{
	struct fuse_init_in in;
	struct fuse_init_out out;
	uint64_t kflags, flags;
	unsigned minor;
	bool ring_prepared = false;
	int r;

	memset(&in, 0, sizeof(in));
	memcpy(&in, arg, FURI_MIN(arg_len, sizeof(in)));
	if (arg_len < FUSE_COMPAT_INIT_IN_SIZE) {
		send_init_reply(se, ih->unique, -EINVAL, NULL);
		return furi_seterr(why, whylen, EPROTO, "malformed INIT from the kernel");
	}
	memset(&out, 0, sizeof(out));
	if (in.major > FUSE_KERNEL_VERSION) {
		/* Answer with our major; the kernel asks again in our language. */
		out.major = FUSE_KERNEL_VERSION;
		out.minor = FUSE_KERNEL_MINOR_VERSION;
		send_init_reply(se, ih->unique, 0, &out);
		return 1;
	}
	if (in.major < FUSE_KERNEL_VERSION || in.minor < FURI_MIN_MINOR_VERSION) {
		send_init_reply(se, ih->unique, -EPROTO, NULL);
		return furi_seterr(why, whylen, EPROTO,
				   "the kernel speaks FUSE %u.%u; furi needs 7.%u or newer (fix: Linux 5.8 or newer)",
				   in.major, in.minor, FURI_MIN_MINOR_VERSION);
	}
	minor = FURI_MIN(in.minor, (unsigned)FUSE_KERNEL_MINOR_VERSION);
	kflags = in.flags;
	if (in.flags & FUSE_INIT_EXT)
		kflags |= (uint64_t)in.flags2 << 32;

	conn_defaults(se, &in, kflags, minor);
	if (se->ops->init)
		se->ops->init(se->fs, &se->conn);
	se->conn.want &= ~FUSE_OVER_IO_URING;	/* the transport decides, below */
	conn_clamp(se);
	se->proto_minor = minor;
	se->kernel_flags = kflags;
	se->legacy_bufsize = se->payload_size + 2 * FURI_PAGE_SIZE;

	se->fallback_reason[0] = '\0';
	if (se->cfg.transport == FURI_TRANSPORT_LEGACY) {
		snprintf(se->fallback_reason, sizeof(se->fallback_reason),
			 "-o transport=legacy was given");
	} else if (!(kflags & FUSE_OVER_IO_URING) || minor < FURI_URING_MIN_MINOR) {
		explain_no_uring(se, minor);
	} else {
		r = furi_uring_prepare(se, se->fallback_reason, sizeof(se->fallback_reason));
		ring_prepared = r == 0;
	}

	flags = se->conn.want | FUSE_BIG_WRITES | FUSE_MAX_PAGES;
	if (se->cfg.request_timeout) {
		if (kflags & FUSE_REQUEST_TIMEOUT)
			flags |= FUSE_REQUEST_TIMEOUT;
		else
			furi_warn("-o request_timeout ignored: the kernel (FUSE 7.%u) has no request timeouts (fix: Linux 6.14 or newer)",
				  in.minor);
	}
	if (kflags & FUSE_INIT_EXT)
		flags |= FUSE_INIT_EXT;
	if (ring_prepared)
		flags |= FUSE_OVER_IO_URING;
	flags &= kflags;
	se->want = flags;

	out.major = FUSE_KERNEL_VERSION;
	out.minor = FUSE_KERNEL_MINOR_VERSION;
	out.max_readahead = se->conn.max_readahead;
	out.flags = (uint32_t)flags;
	out.flags2 = (uint32_t)(flags >> 32);
	out.max_background = (uint16_t)se->conn.max_background;
	out.congestion_threshold = (uint16_t)se->conn.congestion_threshold;
	out.max_write = se->conn.max_write;
	out.time_gran = se->conn.time_gran;
	out.max_pages = (uint16_t)se->max_pages;
	out.max_stack_depth = (flags & FUSE_PASSTHROUGH) ? se->conn.max_stack_depth : 0;
	out.request_timeout = (flags & FUSE_REQUEST_TIMEOUT) ? (uint16_t)se->cfg.request_timeout : 0;
	furi_dbg("INIT: kernel %u.%u, flags 0x%llx, max_readahead %u; reply %u.%u, flags 0x%llx, max_write %u, max_pages %u, max_background %u%s",
		 in.major, in.minor, (unsigned long long)kflags, in.max_readahead, out.major,
		 out.minor, (unsigned long long)flags, out.max_write, out.max_pages,
		 out.max_background, ring_prepared ? ", io_uring" : "");
	r = send_init_reply(se, ih->unique, 0, &out);
	if (r) {
		if (ring_prepared)
			furi_uring_free(se);
		return furi_seterr(why, whylen, -r, "cannot answer INIT: %s", strerror(-r));
	}

	/* Only now may entries register: the kernel sizes the ring from the INIT reply. */
	if (ring_prepared) {
		r = furi_uring_start(se, se->fallback_reason, sizeof(se->fallback_reason));
		se->uring_active = r == 0;
		if (!se->uring_active)
			furi_uring_free(se);	/* threads and buffers would idle until unmount */
	}
	if (se->cfg.transport == FURI_TRANSPORT_URING && !se->uring_active)
		return furi_seterr(why, whylen, EOPNOTSUPP,
				   "io_uring was required (-o transport=uring) but %s",
				   se->fallback_reason);
	return 0;
}

/* Our mount is no longer on the mountpoint (unmounted, or never seen there). */
static bool mount_gone(const struct furi_session *se)
{
	struct furi_mountinfo mi;

	return furi_mountinfo_find(se->mountpoint, &mi) || mi.major != se->dev_major ||
	       mi.minor != se->dev_minor;
}

/*
 * FURI_FAULT=init_after_umount: read INIT only once the mount is gone (up
 * to 20 s), so that tests meet an unmount racing INIT every time.
 */
static void fault_wait_for_umount(const struct furi_session *se)
{
	const char *f = getenv("FURI_FAULT");
	int i;

	if (!f || strcmp(f, "init_after_umount"))
		return;
	for (i = 0; i < 2000 && !mount_gone(se); i++)
		usleep(10000);
}

/* Read and answer INIT on the master fd before any worker exists. */
static int serve_init(struct furi_session *se, char *err, size_t errlen)
{
	char *buf = malloc(INIT_BUFSIZE);
	struct fuse_in_header ih;
	int attempts, r = -EPROTO;

	if (!buf)
		return furi_seterr(err, errlen, ENOMEM, "out of memory");
	fault_wait_for_umount(se);
	for (attempts = 0; attempts < 3; attempts++) {
		ssize_t n = read(se->fd, buf, INIT_BUFSIZE);

		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			attempts--;
			continue;
		}
		if (n < 0) {
			r = furi_seterr(err, errlen, errno, "reading INIT from /dev/fuse: %s",
					strerror(errno));
			break;
		}
		if ((size_t)n < sizeof(ih)) {
			r = furi_seterr(err, errlen, EPROTO, "short request from the kernel");
			break;
		}
		memcpy(&ih, buf, sizeof(ih));
		{
			/* INIT is a /dev/fuse request like any other: count it there. */
			struct furi_chan chan = { .stats = se->dev_fuse_stats, .shared_stats = true };

			furi_stats_received(&chan, ih.opcode, (size_t)n);
			furi_stats_replied(&chan, ih.opcode, furi_now_ns(), 0,
					   sizeof(struct fuse_out_header) +
						   sizeof(struct fuse_init_out));
		}
		if (ih.opcode != FUSE_INIT || ih.len != (uint32_t)n) {
			r = furi_seterr(err, errlen, EPROTO,
					"the kernel sent opcode %u before INIT", ih.opcode);
			break;
		}
		r = furi_session_init(se, &ih, buf + sizeof(ih), (size_t)n - sizeof(ih), err, errlen);
		if (r <= 0)
			break;
	}
	free(buf);
	return r > 0 ? furi_seterr(err, errlen, EPROTO, "INIT negotiation did not converge") : r;
}

struct furi_session *furi_session_new(const struct furi_config *cfg,
				      const struct furi_ops *ops, void *fs,
				      char *err, size_t errlen)
{
	struct furi_session *se;

	if (!cfg || !ops) {
		furi_seterr(err, errlen, EINVAL, "furi_session_new: no config or no ops");
		return NULL;
	}
	if (cfg->queue_depth == 0 || cfg->max_write < FURI_PAGE_SIZE) {
		furi_seterr(err, errlen, EINVAL, "queue_depth must be at least 1 and max_write 4096");
		return NULL;
	}
	se = calloc(1, sizeof(*se));
	if (!se) {
		furi_seterr(err, errlen, ENOMEM, "out of memory");
		return NULL;
	}
	se->cfg = *cfg;
	if (cfg->debug)
		furi_set_log_level(FURI_LOG_DEBUG);
	se->ops = ops;
	se->fs = fs;
	se->fd = -1;
	se->unmount_watcher_fd = -1;
	se->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (se->exit_fd < 0) {
		furi_seterr(err, errlen, errno, "eventfd: %s", strerror(errno));
		free(se);
		return NULL;
	}
	pthread_mutex_init(&se->int_lock, NULL);
	pthread_cond_init(&se->int_done, NULL);
	pthread_mutex_init(&se->notify_lock, NULL);
	if (furi_offload_init(se)) {
		furi_seterr(err, errlen, ENOMEM, "out of memory");
		furi_session_destroy(se);
		return NULL;
	}
	return se;
}

static void block_session_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static unsigned legacy_thread_count(const struct furi_session *se)
{
	if (se->uring_active)
		return 1;	/* INIT, FORGET, INTERRUPT and notifications only */
	if (se->cfg.legacy_threads)
		return se->cfg.legacy_threads;
	return FURI_MAX(furi_possible_cpus(), 2u);
}

/*
 * The kernel takes INIT's max_readahead only up to the mount's bdi setting
 * (128 KiB by default), so a larger -o max_readahead is applied to the bdi
 * itself, which only root may write.
 */
static void apply_readahead(struct furi_session *se)
{
	char path[96];
	FILE *f;

	if (!se->cfg.max_readahead || se->cfg.max_readahead <= 128 * 1024)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", se->dev_major,
		 se->dev_minor);
	f = fopen(path, "we");
	if (!f || fprintf(f, "%u\n", se->cfg.max_readahead / 1024) < 0 || fclose(f)) {
		furi_warn("-o max_readahead=%u: cannot set %s: %s (the kernel keeps 128 KiB)",
			  se->cfg.max_readahead, path, strerror(errno));
		return;
	}
	se->conn.max_readahead = se->cfg.max_readahead;
}

static void stop_transports(struct furi_session *se, bool force)
{
	atomic_store(&se->stopping, true);
	furi_uring_stop(se);
	furi_legacy_stop(se, force);
	/* A helper still in a handler finishes it; its reply goes nowhere. */
	furi_offload_stop(se);
}

int furi_session_mount(struct furi_session *se, const char *mountpoint, char *err, size_t errlen)
{
	int r;

	block_session_signals();
	r = furi_mount(se, mountpoint, err, errlen);
	if (r)
		return r;
	/* One channel per possible CPU's queue and one for /dev/fuse. */
	r = furi_status_create(se, furi_possible_cpus() + 1, err, errlen);
	if (r)
		goto out_unmount;
	se->dev_fuse_stats = furi_status_chan(se, "dev_fuse", FURI_CHAN_DEV_FUSE, -1);
	r = serve_init(se, err, errlen);
	/*
	 * Unmounted before INIT was answered, or before the ring registered:
	 * the kernel aborted the connection, so reading INIT gave ENODEV, its
	 * reply ENOENT, REGISTER ENOTCONN. That is an ordinary unmount, not a
	 * failure: the session is over before it served a request.
	 */
	if (mount_gone(se)) {
		snprintf(se->transport_line, sizeof(se->transport_line),
			 "unmounted before it served a request");
		se->destroyed_fs |= !se->conn.proto_major;	/* ops->init never ran */
		furi_session_ended(se);
		return 0;
	}
	if (r)
		goto out_status;
	apply_readahead(se);
	se->status->legacy_threads = legacy_thread_count(se);
	r = furi_legacy_start(se, se->status->legacy_threads, err, errlen);
	if (r)
		goto out_uring;
	describe_transport(se);
	furi_status_publish(se, FURI_STATE_RUNNING);
	return 0;

out_uring:
	stop_transports(se, true);
	furi_uring_free(se);
out_status:
	if (se->ops->destroy && se->conn.proto_major) {
		se->ops->destroy(se->fs);
		se->destroyed_fs = true;
	}
	furi_status_remove(se);
out_unmount:
	furi_unmount(se);
	close(se->fd);
	se->fd = -1;
	return r;
}

const char *furi_session_transport_line(struct furi_session *se)
{
	return se->transport_line;
}

bool furi_session_uses_uring(struct furi_session *se)
{
	return se->uring_active;
}

void furi_name_thread(pthread_t thread, const char *prefix, unsigned index)
{
	char name[16];	/* the kernel's limit, NUL included */

	snprintf(name, sizeof(name), "%s%u", prefix, index);
	pthread_setname_np(thread, name);
}

void furi_session_ended(struct furi_session *se)
{
	uint64_t one = 1;

	if (!atomic_exchange(&se->ended, true))
		if (write(se->exit_fd, &one, sizeof(one)) < 0)
			furi_warn("waking the session: %s", strerror(errno));
}

void furi_session_exit(struct furi_session *se)
{
	uint64_t one = 1;

	if (write(se->exit_fd, &one, sizeof(one)) < 0)
		furi_warn("waking the session: %s", strerror(errno));
}

int furi_session_wait(struct furi_session *se)
{
	struct pollfd pfd[2];
	sigset_t set;
	int sfd, stop_requests = 0;
	bool force = false;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	pfd[0] = (struct pollfd){ .fd = se->exit_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };

	while (!atomic_load(&se->ended)) {
		uint64_t v;
		bool stop = false;

		if (poll(pfd, sfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			if (read(se->exit_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
			stop = !atomic_load(&se->ended);
		}
		if (sfd >= 0 && (pfd[1].revents & POLLIN)) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				stop = true;
		}
		if (!stop)
			continue;
		if (++stop_requests == 1) {
			/* Unmount; the kernel ends the connection when the last file closes. */
			furi_status_publish(se, FURI_STATE_STOPPING);
			furi_unmount(se);
		} else {
			furi_warn("second stop request: ending %s now; open files will fail",
				  se->mountpoint);
			force = true;
			break;
		}
	}
	if (sfd >= 0)
		close(sfd);
	furi_status_publish(se, FURI_STATE_STOPPING);
	stop_transports(se, force);
	return 0;
}

void furi_session_destroy(struct furi_session *se)
{
	if (!se)
		return;
	if (se->fd >= 0) {
		furi_status_publish(se, FURI_STATE_STOPPING);
		furi_unmount(se);
		stop_transports(se, true);
		if (se->ops->destroy && !se->destroyed_fs)
			se->ops->destroy(se->fs);
		se->destroyed_fs = true;
		furi_uring_free(se);
		furi_legacy_free(se);
		furi_status_remove(se);
		close(se->fd);
	}
	close(se->exit_fd);
	furi_offload_free(se);
	furi_notify_free(se);
	pthread_mutex_destroy(&se->notify_lock);
	pthread_cond_destroy(&se->int_done);
	pthread_mutex_destroy(&se->int_lock);
	free(se);
}

/* ---- passthrough ---- */

int furi_backing_open(struct furi_session *se, int fd)
{
	struct fuse_backing_map map = { .fd = fd };
	int id;

	if (!(se->want & FUSE_PASSTHROUGH))
		return -EOPNOTSUPP;
	id = ioctl(se->fd, FUSE_DEV_IOC_BACKING_OPEN, &map);
	return id < 0 ? -errno : id;
}

int furi_backing_close(struct furi_session *se, int backing_id)
{
	uint32_t id = (uint32_t)backing_id;

	return ioctl(se->fd, FUSE_DEV_IOC_BACKING_CLOSE, &id) < 0 ? -errno : 0;
}

/* ---- request accessors ---- */

void *furi_req_fs(struct furi_req *req)
{
	return req->se->fs;
}

const struct furi_ctx *furi_req_ctx(struct furi_req *req)
{
	return &req->ctx;
}

struct furi_session *furi_req_session(struct furi_req *req)
{
	return req->se;
}

unsigned furi_req_opcode(struct furi_req *req)
{
	return req->opcode;
}

void *furi_req_payload(struct furi_req *req, size_t *size)
{
	if (size)
		*size = req->out_size;
	return req->out;
}
