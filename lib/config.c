/* SPDX-License-Identifier: MIT */
/* config.c - session options: defaults, "-o key[=value]" parsing, help. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>

#include "internal.h"

/*
 * Defaults. Each depth entry owns a payload buffer of max_write bytes, so
 * memory is queues x depth x max_write. bench/tune.sh sweeps each of them
 * (queue depth, max_write, max_background, spin) on nullfs.
 */
#define DEFAULT_MAX_WRITE	(1u << 20)
#define DEFAULT_QUEUE_DEPTH	64
#define DEFAULT_QUEUE_START	4	/* grows while all are busy: doc in transport_uring.c */
#define DEFAULT_LEGACY_THREADS	0	/* 0: one per possible CPU, at least 2 */
/*
 * A disk completion ~100 us away is cheaper to poll for than to sleep on:
 * passthrough 1 job QD1 0.65-0.71x native without, 0.78-0.88x with 100 us
 * (docs/PASSTHROUGH_BENCH.md). Polled only while backend I/O is in flight and
 * has lately been this fast, so idle mounts and slow disks never spin.
 */
#define DEFAULT_IO_SPIN_US	200

void furi_config_init(struct furi_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_write = DEFAULT_MAX_WRITE;
	cfg->transport = FURI_TRANSPORT_AUTO;
	cfg->queue_depth = DEFAULT_QUEUE_DEPTH;
	cfg->queue_start = DEFAULT_QUEUE_START;
	cfg->legacy_threads = DEFAULT_LEGACY_THREADS;
	cfg->io_spin_us = DEFAULT_IO_SPIN_US;
}

/* Parse a size: digits with an optional K, M or G (powers of 1024). */
static int parse_size(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	/* A shift that overflows would wrap a huge value back into range. */
	if (*end || v > (ULLONG_MAX >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

static int set_uint(unsigned *field, const char *key, const char *val, unsigned lo,
		    unsigned hi, char *err, size_t errlen)
{
	unsigned long long v;

	if (!val || parse_size(val, &v) || v < lo || v > hi)
		return furi_seterr(err, errlen, EINVAL,
				   "bad value for -o %s: '%s' (expected a number from %u to %u)",
				   key, val ? val : "", lo, hi);
	*field = (unsigned)v;
	return 0;
}

static int set_flag(bool *field, const char *key, const char *val, char *err, size_t errlen)
{
	if (val)
		return furi_seterr(err, errlen, EINVAL, "-o %s takes no value (got '%s')", key, val);
	*field = true;
	return 0;
}

/*
 * mount(8)'s generic options, as MS_* flags for mount(2): every one mount(8)
 * passes to a FUSE filesystem. nosuid, nodev and ro map onto cfg->suid,
 * cfg->dev and cfg->read_only (furi's defaults are nosuid,nodev). Options
 * named by a set flag come first: furi_mount_flag_names() lists them.
 */
static const struct {
	const char *name;
	unsigned long set, clear;
} mount_flag_opts[] = {
	{ "ro", MS_RDONLY, 0 },
	{ "nosuid", MS_NOSUID, 0 },
	{ "nodev", MS_NODEV, 0 },
	{ "noexec", MS_NOEXEC, 0 },
	{ "sync", MS_SYNCHRONOUS, 0 },
	{ "dirsync", MS_DIRSYNC, 0 },
	{ "noatime", MS_NOATIME, MS_RELATIME | MS_STRICTATIME },
	{ "relatime", MS_RELATIME, MS_NOATIME | MS_STRICTATIME },
	{ "strictatime", MS_STRICTATIME, MS_NOATIME | MS_RELATIME },
	{ "nodiratime", MS_NODIRATIME, 0 },
	{ "lazytime", MS_LAZYTIME, 0 },
	{ "nosymfollow", MS_NOSYMFOLLOW, 0 },
	{ "iversion", MS_I_VERSION, 0 },
	{ "silent", MS_SILENT, 0 },
	{ "rw", 0, MS_RDONLY },
	{ "suid", 0, MS_NOSUID },
	{ "dev", 0, MS_NODEV },
	{ "exec", 0, MS_NOEXEC },
	{ "async", 0, MS_SYNCHRONOUS },
	{ "atime", 0, MS_NOATIME },
	{ "norelatime", 0, MS_RELATIME },	/* the kernel's default is relatime still */
	{ "nostrictatime", 0, MS_STRICTATIME },
	{ "diratime", 0, MS_NODIRATIME },
	{ "nolazytime", 0, MS_LAZYTIME },
	{ "symfollow", 0, MS_NOSYMFOLLOW },
	{ "noiversion", 0, MS_I_VERSION },
	{ "loud", 0, MS_SILENT },
	/* Linux ignores mandatory locking since 5.15 (and warns about "mand"). */
	{ "mand", 0, 0 },
	{ "nomand", 0, 0 },
};

int furi_mount_option(const char *opt, unsigned long *flags)
{
	for (size_t i = 0; i < FURI_ARRAY_SIZE(mount_flag_opts); i++) {
		if (strcmp(opt, mount_flag_opts[i].name))
			continue;
		*flags = (*flags & ~mount_flag_opts[i].clear) | mount_flag_opts[i].set;
		return 0;
	}
	return -ENOENT;
}

unsigned long furi_config_mount_flags(const struct furi_config *cfg)
{
	return cfg->mount_flags | (cfg->suid ? 0 : MS_NOSUID) | (cfg->dev ? 0 : MS_NODEV) |
	       (cfg->read_only ? MS_RDONLY : 0);
}

int furi_mount_flag_names(unsigned long flags, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < FURI_ARRAY_SIZE(mount_flag_opts) && mount_flag_opts[i].set; i++) {
		int n;

		if (!(flags & mount_flag_opts[i].set))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", mount_flag_opts[i].name);
		if (n < 0 || (size_t)n >= len - used)
			return -ENAMETOOLONG;
		used += (size_t)n;
	}
	return 0;
}

/* One of mount(8)'s options: applied to cfg's mount fields. -ENOENT if opt is none. */
static int set_mount_option(struct furi_config *cfg, const char *key, const char *val,
			    char *err, size_t errlen)
{
	unsigned long flags = furi_config_mount_flags(cfg);

	if (furi_mount_option(key, &flags))
		return -ENOENT;
	if (val)
		return furi_seterr(err, errlen, EINVAL, "-o %s takes no value (got '%s')", key, val);
	cfg->suid = !(flags & MS_NOSUID);
	cfg->dev = !(flags & MS_NODEV);
	cfg->read_only = flags & MS_RDONLY;
	cfg->mount_flags = flags & ~(MS_NOSUID | MS_NODEV | MS_RDONLY);
	return 0;
}

/* The names an enum option takes; aliases come last and are not listed in errors. */
struct choice {
	const char *name;
	int value;
	bool alias;
};

static const struct choice transport_choices[] = {
	{ "auto", FURI_TRANSPORT_AUTO, false },
	{ "uring", FURI_TRANSPORT_URING, false },
	{ "legacy", FURI_TRANSPORT_LEGACY, false },
	{ "io_uring", FURI_TRANSPORT_URING, true },
	{ "dev_fuse", FURI_TRANSPORT_LEGACY, true },
	{ NULL, 0, false },
};

static const struct choice sched_idle_choices[] = {
	{ "auto", FURI_SCHED_IDLE_AUTO, false },
	{ "always", FURI_SCHED_IDLE_ALWAYS, false },
	{ "never", FURI_SCHED_IDLE_NEVER, false },
	{ NULL, 0, false },
};

static const struct choice pin_choices[] = {
	{ "auto", FURI_PIN_AUTO, false },
	{ "always", FURI_PIN_ALWAYS, false },
	{ "never", FURI_PIN_NEVER, false },
	{ NULL, 0, false },
};

/* "a, b or c": the names an error lists. */
static void choice_list(const struct choice *c, char *buf, size_t len)
{
	size_t n, i, used = 0;

	for (n = 0; c[n].name && !c[n].alias; n++)
		;
	buf[0] = '\0';
	for (i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 i == 0 ? "" : i == n - 1 ? " or " : ", ", c[i].name);
}

static int set_choice(int *dst, const char *key, const char *val, const struct choice *c,
		      char *err, size_t errlen)
{
	const struct choice *i;
	char expected[128];

	for (i = c; val && i->name; i++) {
		if (!strcmp(val, i->name)) {
			*dst = i->value;
			return 0;
		}
	}
	choice_list(c, expected, sizeof(expected));
	return furi_seterr(err, errlen, EINVAL, "bad value for -o %s: '%s' (expected %s)",
			   key, val ? val : "", expected);
}

/*
 * libfuse's names for what furi has under another name, so command lines
 * and fstab lines written for libfuse servers keep working; where furi has
 * no such behaviour, the error says why and what to use. -ENOENT: not one.
 * kernel_cache and direct_io belong to the filesystems (passthrough has them).
 */
static int libfuse_option(struct furi_config *cfg, const char *key, const char *val,
			  char *err, size_t errlen)
{
	if (!strcmp(key, "clone_fd"))	/* every /dev/fuse worker reads its own clone already */
		return val ? furi_seterr(err, errlen, EINVAL, "-o clone_fd takes no value") : 0;
	if (!strcmp(key, "max_threads"))
		return set_uint(&cfg->legacy_threads, key, val, 1, 1024, err, errlen);
	if (!strcmp(key, "io_uring_q_depth"))
		return set_uint(&cfg->queue_depth, key, val, 1, 4096, err, errlen);
	if (!strcmp(key, "io_uring")) {
		if (val)
			return furi_seterr(err, errlen, EINVAL, "-o io_uring takes no value");
		cfg->transport = FURI_TRANSPORT_URING;
		return 0;
	}
	if (!strcmp(key, "max_idle_threads"))
		return furi_seterr(err, errlen, EINVAL,
				   "-o max_idle_threads is libfuse's: furi does not start and stop /dev/fuse workers on demand, it runs a fixed number (fix: -o threads=N)");
	if (!strcmp(key, "umask"))
		return furi_seterr(err, errlen, EINVAL,
				   "-o umask is libfuse's (it masks the mode of every file); furi's filesystems show each file's own mode (fix: leave it out and chmod the files, or use -o default_permissions to let the kernel enforce the modes)");
	if (!strcmp(key, "allow_root"))
		return furi_seterr(err, errlen, EINVAL,
				   "-o allow_root is libfuse's (the owner and root only), which the kernel cannot enforce and furi does not emulate (fix: -o allow_other, which lets every user in; add -o default_permissions to check modes)");
	return -ENOENT;
}

int furi_config_set(struct furi_config *cfg, char *opt, char *err, size_t errlen)
{
	char *val = strchr(opt, '=');
	const char *key = opt;
	int r;

	if (val)
		*val++ = '\0';

	if (!strcmp(key, "fsname")) {
		if (!val || !*val)
			return furi_seterr(err, errlen, EINVAL, "-o fsname needs a value");
		cfg->fsname = val;
		return 0;
	}
	if (!strcmp(key, "subtype")) {
		if (!val || !*val)
			return furi_seterr(err, errlen, EINVAL, "-o subtype needs a value");
		cfg->subtype = val;
		return 0;
	}
	if (!strcmp(key, "allow_other"))
		return set_flag(&cfg->allow_other, key, val, err, errlen);
	if (!strcmp(key, "default_permissions"))
		return set_flag(&cfg->default_permissions, key, val, err, errlen);
	if (!strcmp(key, "auto_unmount"))
		return set_flag(&cfg->auto_unmount, key, val, err, errlen);
	r = set_mount_option(cfg, key, val, err, errlen);
	if (r != -ENOENT)
		return r;
	if (!strcmp(key, "remount"))
		return furi_seterr(err, errlen, EINVAL,
				   "-o remount changes a mounted filesystem, furi mount makes a new one "
				   "(fix: mount -o remount,OPTS MOUNTPOINT)");
	if (!strcmp(key, "writeback_cache"))
		return set_flag(&cfg->writeback_cache, key, val, err, errlen);
	if (!strcmp(key, "debug"))
		return set_flag(&cfg->debug, key, val, err, errlen);
	if (!strcmp(key, "request_timeout"))
		return set_uint(&cfg->request_timeout, key, val, 0, 65535, err, errlen);
	if (!strcmp(key, "max_read"))
		return set_uint(&cfg->max_read, key, val, 4096, 1u << 30, err, errlen);
	if (!strcmp(key, "max_write"))
		return set_uint(&cfg->max_write, key, val, 4096, 16u << 20, err, errlen);
	if (!strcmp(key, "max_readahead"))
		return set_uint(&cfg->max_readahead, key, val, 0, 1u << 30, err, errlen);
	if (!strcmp(key, "max_background"))
		return set_uint(&cfg->max_background, key, val, 1, 65535, err, errlen);
	if (!strcmp(key, "congestion_threshold"))
		return set_uint(&cfg->congestion_threshold, key, val, 1, 65535, err, errlen);
	if (!strcmp(key, "queue_depth"))
		return set_uint(&cfg->queue_depth, key, val, 1, 4096, err, errlen);
	if (!strcmp(key, "queue_start"))
		return set_uint(&cfg->queue_start, key, val, 1, 4096, err, errlen);
	if (!strcmp(key, "max_buffers")) {
		if (!val || parse_size(val, &cfg->max_buffers))
			return furi_seterr(err, errlen, EINVAL,
					   "bad value for -o max_buffers: '%s' (expected a size such as 64M)",
					   val ? val : "");
		return 0;
	}
	if (!strcmp(key, "uring_threads"))
		return set_uint(&cfg->uring_threads, key, val, 1, 4096, err, errlen);
	if (!strcmp(key, "threads"))
		return set_uint(&cfg->legacy_threads, key, val, 1, 1024, err, errlen);
	if (!strcmp(key, "spin_us"))
		return set_uint(&cfg->spin_us, key, val, 0, 1000000, err, errlen);
	if (!strcmp(key, "sched_idle"))
		return set_choice((int *)&cfg->sched_idle, key, val, sched_idle_choices, err, errlen);
	if (!strcmp(key, "io_spin_us"))
		return set_uint(&cfg->io_spin_us, key, val, 0, 1000000, err, errlen);
	if (!strcmp(key, "pin"))
		return set_choice((int *)&cfg->pin, key, val, pin_choices, err, errlen);
	if (!strcmp(key, "nopin")) {
		if (val)
			return furi_seterr(err, errlen, EINVAL, "-o nopin takes no value");
		cfg->pin = FURI_PIN_NEVER;
		return 0;
	}
	if (!strcmp(key, "transport"))
		return set_choice((int *)&cfg->transport, key, val, transport_choices, err, errlen);
	r = libfuse_option(cfg, key, val, err, errlen);
	if (r == -ENOENT && val)
		val[-1] = '=';	/* give the option back intact to the next parser */
	return r;
}

const char *furi_config_help(void)
{
	return
"Mount options (libfuri):\n"
"  -o fsname=NAME          source shown in /proc/mounts (default: the filesystem's name)\n"
"  -o subtype=NAME         type shown as fuse.NAME\n"
"  -o allow_other          let other users access the mount (non-root needs\n"
"                          user_allow_other in /etc/fuse.conf)\n"
"  -o default_permissions  let the kernel check modes and owners\n"
"  -o ro | rw              mount read-only or read-write (default rw)\n"
"  -o suid, -o dev         honour setuid bits and device nodes (default: nosuid,\n"
"                          nodev)\n"
"  -o noexec, sync, dirsync, noatime, relatime, strictatime, nodiratime, lazytime,\n"
"     nosymfollow, iversion, silent (and exec, async, atime, norelatime,\n"
"     nostrictatime, diratime, nolazytime, symfollow, noiversion, loud, mand,\n"
"     nomand): as in mount(8)\n"
"  -o auto_unmount         unmount when the server dies, even of kill -9, so a\n"
"                          crash leaves no dead mount (ENOTCONN) behind (a\n"
"                          watcher process does it; as a user, with fusermount3)\n"
"  -o max_read=BYTES       largest READ the kernel sends\n"
"  -o max_write=BYTES      largest WRITE the kernel sends (default 1M); each io_uring\n"
"                          entry holds a buffer of this size. The kernel allows at\n"
"                          most fs.fuse.max_pages_limit pages (1M by default); above\n"
"                          that furi warns and uses the limit\n"
"  -o max_readahead=BYTES  readahead window (default: the kernel's, 128 KiB); above\n"
"                          128 KiB furi also raises the mount's read_ahead_kb, which\n"
"                          needs root\n"
"  -o max_background=N     asynchronous requests in flight: readahead, writeback,\n"
"                          O_DIRECT AIO (default: queues x queue_depth)\n"
"  -o congestion_threshold=N  (default: 3/4 of max_background)\n"
"  -o writeback_cache      cache writes in the kernel and write back later\n"
"  -o request_timeout=SECS the kernel aborts the connection (callers get\n"
"                          ECONNABORTED, then ENOTCONN) when a request stays\n"
"                          unanswered SECS seconds (default 0: never). It checks\n"
"                          every 15 s, so it acts after max(15, SECS) to that plus\n"
"                          15 s; needs FUSE 7.43 (Linux 6.14)\n"
"\n"
"Transport options:\n"
"  -o transport=auto|uring|legacy\n"
"                          auto (default): io_uring when the kernel offers it and\n"
"                          every queue registers, else /dev/fuse with the reason\n"
"                          printed; uring: io_uring or fail; legacy: /dev/fuse only\n"
"  -o queue_depth=N        io_uring entries per queue at most (default 64). The kernel\n"
"                          routes all requests of a CPU to that CPU's queue, so one\n"
"                          client at queue depth N needs N entries\n"
"  -o queue_start=N        entries a queue starts with (default 4); while all of a\n"
"                          queue's entries are busy it registers as many again, up\n"
"                          to queue_depth (queue_start=queue_depth: fixed depth)\n"
"  -o max_buffers=SIZE     the queues stop growing when their entries' buffers\n"
"                          would pass SIZE together (e.g. 64M; default: no limit\n"
"                          but queue_depth); furi logs the queue that stopped\n"
"  -o uring_threads=N      serve the per-CPU queues with N threads (default: one\n"
"                          pinned thread per queue)\n"
"  -o threads=N            /dev/fuse worker threads (default: one per CPU, at least 2)\n"
"  -o spin_us=N            busy-poll N microseconds for more work before sleeping\n"
"                          (default 0: off)\n"
"  -o io_spin_us=N         while backend I/O (passthrough, image) is in flight and\n"
"                          has lately completed within N microseconds, busy-poll\n"
"                          up to N for it instead of sleeping (default 200; 0: off)\n"
"  -o sched_idle=auto|always|never\n"
"                          run io_uring queue threads as SCHED_IDLE, so the client\n"
"                          a reply wakes stays on its CPU instead of moving to\n"
"                          another one (4x for one synchronous client here).\n"
"                          auto (default): while a thread serves one request at a\n"
"                          time, back to normal when it gets busy (needs root or\n"
"                          RLIMIT_NICE >= 20 to switch back; off otherwise).\n"
"                          While other work keeps a queue thread waiting for\n"
"                          its CPU, SCHED_IDLE, moving away (pin=auto) and\n"
"                          polling are withdrawn for 0.25-8 s\n"
"  -o pin=auto|always|never\n"
"                          where io_uring queue threads run. always: on their\n"
"                          queues' CPUs; never: where the scheduler puts them;\n"
"                          auto (default): pinned, but a thread with several\n"
"                          requests at once (one client with many I/Os in flight)\n"
"                          moves to the other CPUs while the other queues are\n"
"                          quiet, instead of competing with its client for the\n"
"                          client's CPU; there it polls 200 microseconds for more\n"
"                          work before sleeping, and commits a burst of replies\n"
"                          8 at a time, taking the client's new requests between\n"
"                          them\n"
"  -o nopin                same as -o pin=never\n"
"\n"
"Debugging:\n"
"  -o debug                log every request and reply to stderr (as furi mount -d)\n"
"\n"
"libfuse's names, accepted with the same meaning:\n"
"  -o max_threads=N        -o threads=N\n"
"  -o io_uring             -o transport=uring (furi's default, auto, already uses\n"
"                          io_uring whenever the kernel offers it)\n"
"  -o io_uring_q_depth=N   -o queue_depth=N\n"
"  -o clone_fd             always so: each /dev/fuse worker reads its own clone\n"
"  -o kernel_cache, -o direct_io  passthrough's keep_cache and direct_io (memfs,\n"
"                          nullfs and image keep cached data across opens anyway)\n"
"max_idle_threads, umask and allow_root have no furi equivalent: the error says\n"
"what to use instead.\n";
}
