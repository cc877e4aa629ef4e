/* SPDX-License-Identifier: MIT */
/*
 * syscalls.c - POSIX syscall conformance tests for a mounted filesystem.
 *
 *   syscalls [-v] [-l] [-o NAME[,NAME...]] [-x NAME[,NAME...]]
 *            [-t SECONDS] [--features LIST] DIR
 *
 * Runs each test against DIR, a directory on the filesystem under test.
 * Each test works in a fresh subdirectory DIR/NAME.PID with umask 022 and
 * the subdirectory as its working directory; the runner removes the
 * subdirectory afterwards, and a failure to remove it fails the test (a
 * readdir that misses entries shows up there).
 *
 * Output, one line per test, then a summary:
 *   ok NAME
 *   not ok NAME: file:line: what failed (errno text)
 *   skip NAME: reason
 *   syscalls: N passed, N failed, N skipped
 * Exit status 0 only if nothing failed; 2 for a usage error.
 *
 *   -v          also print each test's duration and the enabled features
 *   -l          list test names (with -v: required features and summary)
 *   -o NAMES    run only these tests (comma separated; fnmatch patterns)
 *   -x NAMES    do not run these tests
 *   -t SECONDS  watchdog per test and per cleanup (default 120): on expiry
 *               print "not ok" for the hung test and exit, so a stuck
 *               filesystem cannot hang the integration run
 *
 * Features (--features LIST): capabilities of the filesystem under test.
 * A test whose feature is off is skipped, not failed. Default: all on.
 *   xattr       user.* extended attributes (set/get/list/remove)
 *   acl         POSIX ACLs in system.posix_acl_{access,default}, enforced
 *   mknod       mknod/mkfifo: FIFOs, sockets, device nodes
 *   tmpfile     open(O_TMPFILE)
 *   hardlink    link(2), linkat(2)
 *   symlink     symlink(2), readlink(2)
 *   sparse      holes take no space: st_blocks counts only written data
 *   fallocate   fallocate mode 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE
 *   zero_range  fallocate FALLOC_FL_ZERO_RANGE (tmpfs does not have it)
 *   seek_data   lseek SEEK_DATA/SEEK_HOLE report holes, not just EOF
 *   locks       flock(2), fcntl F_SETLK/F_GETLK/F_SETLKW, F_OFD_* locks
 *   mmap        MAP_SHARED writable mappings, executing a binary
 *   odirect     open(O_DIRECT)
 *   rename2     renameat2 RENAME_NOREPLACE and RENAME_EXCHANGE
 *   owner       uid/gid are stored: chown, setgid directories (root)
 *   perms       permissions are enforced for other users (as root the
 *               suite forks children with uid 65534/65533; on FUSE that
 *               needs -o allow_other,default_permissions)
 *   nsec        nanosecond timestamps
 *   big         files past 4 GiB (also needs sparse)
 * LIST is comma separated and applied left to right: a bare NAME enables
 * it, -NAME disables it, +NAME enables it, "all" and "none" set every
 * feature. If the first item is a bare NAME the list starts from none
 * ("xattr,locks": only those), otherwise from all ("-acl,-zero_range").
 *
 * Tests that need root (chown, device nodes, other users) are skipped
 * when not run as root.
 *
 * Against FUSE: the perms and acl tests run children as uid 65534/65533,
 * which the kernel refuses outright (EACCES on everything) unless the
 * mount has allow_other; acl also needs the server to enable POSIX ACLs.
 * With writeback_cache the server has not seen cached writes yet, so its
 * st_blocks and SEEK_DATA/SEEK_HOLE answers lag behind (stat_fields,
 * fallocate_punch_hole and seek_data_hole_dense fail); that is a real
 * hazard (tar --sparse treats a file with 0 blocks as one hole), not a
 * flaw of the tests.
 *
 * Conventions: a test is a function named after what it proves. The CHECK
 * macros record file:line and the errno text and abandon the test (longjmp
 * in the main thread, pthread_exit in a worker thread, _exit in a forked
 * child, whose message the parent reports); the run goes on with the next
 * test. Tests check values read back, errno values and st_* fields, never
 * only that a call returned. There are no timing assertions: waits only
 * order events, so a slow filesystem is never a failing one.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Features                                                                 */
/* ------------------------------------------------------------------------ */

enum {
	F_XATTR = 1u << 0,
	F_ACL = 1u << 1,
	F_MKNOD = 1u << 2,
	F_TMPFILE = 1u << 3,
	F_HARDLINK = 1u << 4,
	F_SYMLINK = 1u << 5,
	F_SPARSE = 1u << 6,
	F_FALLOCATE = 1u << 7,
	F_ZERO_RANGE = 1u << 8,
	F_SEEK_DATA = 1u << 9,
	F_LOCKS = 1u << 10,
	F_MMAP = 1u << 11,
	F_ODIRECT = 1u << 12,
	F_RENAME2 = 1u << 13,
	F_OWNER = 1u << 14,
	F_PERMS = 1u << 15,
	F_NSEC = 1u << 16,
	F_BIG = 1u << 17,
	F_ALL = (1u << 18) - 1,
	NEED_ROOT = 1u << 31,	/* not a feature: the test must run as root */
};

static const struct {
	const char *name;
	unsigned bit;
} feature_names[] = {
	{ "xattr", F_XATTR },	{ "acl", F_ACL },
	{ "mknod", F_MKNOD },	{ "tmpfile", F_TMPFILE },
	{ "hardlink", F_HARDLINK }, { "symlink", F_SYMLINK },
	{ "sparse", F_SPARSE },	{ "fallocate", F_FALLOCATE },
	{ "zero_range", F_ZERO_RANGE }, { "seek_data", F_SEEK_DATA },
	{ "locks", F_LOCKS },	{ "mmap", F_MMAP },
	{ "odirect", F_ODIRECT }, { "rename2", F_RENAME2 },
	{ "owner", F_OWNER },	{ "perms", F_PERMS },
	{ "nsec", F_NSEC },	{ "big", F_BIG },
};

static unsigned g_features = F_ALL;

static bool has(unsigned f)
{
	return (g_features & f) == f;
}

/* ------------------------------------------------------------------------ */
/* Failure reporting                                                        */
/* ------------------------------------------------------------------------ */

enum { R_OK_ = 0, R_FAIL = 1, R_SKIP = 2 };

static int g_verbose;
static const char *g_test = "";
static jmp_buf g_jmp;
static int g_result;
static char g_msg[1024];
static pthread_t g_main_thread;
static int g_child_fd = -1;	/* in a forked child: where failures go */
static int g_chan = -1;		/* in a forked child: socket to the parent */

/* First failure of any worker thread; the test checks it after joining. */
static pthread_mutex_t g_tfail_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_tfail[1024];
static int g_tfailed;

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void __attribute__((noreturn)) deliver(int kind, const char *msg)
{
	if (g_child_fd >= 0) {
		/* A forked child: the parent reads the message and fails. */
		size_t n = strlen(msg);
		ssize_t w = write(g_child_fd, msg, n);
		(void)w;
		_exit(kind == R_SKIP ? 3 : 1);
	}
	if (!pthread_equal(pthread_self(), g_main_thread)) {
		pthread_mutex_lock(&g_tfail_lock);
		if (!g_tfailed) {
			g_tfailed = 1;
			snprintf(g_tfail, sizeof(g_tfail), "%s", msg);
		}
		pthread_mutex_unlock(&g_tfail_lock);
		pthread_exit(NULL);
	}
	snprintf(g_msg, sizeof(g_msg), "%s", msg);
	g_result = kind;
	longjmp(g_jmp, 1);
}

/* file NULL: msg is already complete (it came from a child). */
static void __attribute__((noreturn, format(printf, 4, 5)))
fail_at(const char *file, int line, int err, const char *fmt, ...)
{
	char what[700], msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	for (char *p = what; *p; p++)	/* keep the report on one line */
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (!file)
		snprintf(msg, sizeof(msg), "%s", what);
	else if (err)
		snprintf(msg, sizeof(msg), "%s:%d: %s (%s)", base_name(file), line,
			 what, strerror(err));
	else
		snprintf(msg, sizeof(msg), "%s:%d: %s", base_name(file), line, what);
	deliver(R_FAIL, msg);
}

static void __attribute__((noreturn)) skip_test(const char *why)
{
	deliver(R_SKIP, why);
}

#define FAILF(...) fail_at(__FILE__, __LINE__, 0, __VA_ARGS__)

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond))                                                  \
			fail_at(__FILE__, __LINE__, 0, "CHECK(%s) failed", #cond); \
	} while (0)

/* A call that must succeed (not return -1); yields its result. */
#define CHECK_SYS(call)                                                       \
	({                                                                    \
		errno = 0;                                                    \
		__typeof__(call) _r = (call);                                 \
		if (_r == -1)                                                 \
			fail_at(__FILE__, __LINE__, errno, "%s", #call);      \
		_r;                                                           \
	})

/* A call that must return a non-NULL pointer. */
#define CHECK_PTR(call)                                                       \
	({                                                                    \
		errno = 0;                                                    \
		__typeof__(call) _p = (call);                                 \
		if (!_p)                                                      \
			fail_at(__FILE__, __LINE__, errno, "%s", #call);      \
		_p;                                                           \
	})

static void __attribute__((noreturn))
errno_mismatch(const char *file, int line, const char *call, const char *want,
	       long long r, int e)
{
	if (r != -1)
		fail_at(file, line, 0, "%s: expected -1/%s, got %lld", call, want, r);
	fail_at(file, line, 0, "%s: expected %s, got %s (%s)", call, want,
		strerrorname_np(e) ? strerrorname_np(e) : "?", strerror(e));
}

/* A call that must fail with errno e (or e2). */
#define CHECK_ERRNO(call, e)                                                  \
	do {                                                                  \
		errno = 0;                                                    \
		long long _r = (long long)(call);                             \
		int _e = errno;                                               \
		if (_r != -1 || _e != (e))                                    \
			errno_mismatch(__FILE__, __LINE__, #call, #e, _r, _e); \
	} while (0)

#define CHECK_ERRNO2(call, e, e2)                                             \
	do {                                                                  \
		errno = 0;                                                    \
		long long _r = (long long)(call);                             \
		int _e = errno;                                               \
		if (_r != -1 || (_e != (e) && _e != (e2)))                    \
			errno_mismatch(__FILE__, __LINE__, #call, #e " or " #e2, _r, _e); \
	} while (0)

#define CHECK_EQ(a, b)                                                        \
	do {                                                                  \
		long long _a = (long long)(a), _b = (long long)(b);           \
		if (_a != _b)                                                 \
			fail_at(__FILE__, __LINE__, 0, "%s == %s: %lld != %lld", \
				#a, #b, _a, _b);                              \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                    \
	do {                                                                  \
		unsigned long long _a = (unsigned long long)(a);              \
		unsigned long long _b = (unsigned long long)(b);              \
		if (_a != _b)                                                 \
			fail_at(__FILE__, __LINE__, 0, "%s == %s: %llu != %llu", \
				#a, #b, _a, _b);                              \
	} while (0)

/* Orderings print both sides, which say more than "failed". */
#define CHECK_CMP(a, op, b)                                                   \
	do {                                                                  \
		long long _a = (long long)(a), _b = (long long)(b);           \
		if (!(_a op _b))                                              \
			fail_at(__FILE__, __LINE__, 0, "%s %s %s: %lld vs %lld", \
				#a, #op, #b, _a, _b);                         \
	} while (0)
#define CHECK_GE(a, b) CHECK_CMP(a, >=, b)
#define CHECK_GT(a, b) CHECK_CMP(a, >, b)
#define CHECK_LE(a, b) CHECK_CMP(a, <=, b)
#define CHECK_LT(a, b) CHECK_CMP(a, <, b)

/* Modes read better in octal. */
#define CHECK_MODE(a, b)                                                      \
	do {                                                                  \
		unsigned _a = (unsigned)(a), _b = (unsigned)(b);              \
		if (_a != _b)                                                 \
			fail_at(__FILE__, __LINE__, 0, "%s == %s: 0%o != 0%o", \
				#a, #b, _a, _b);                              \
	} while (0)

#define CHECK_STR(a, b)                                                       \
	do {                                                                  \
		const char *_a = (a), *_b = (b);                              \
		if (strcmp(_a, _b))                                           \
			fail_at(__FILE__, __LINE__, 0, "%s == %s: \"%.80s\" != \"%.80s\"", \
				#a, #b, _a, _b);                              \
	} while (0)

#define CHECK_MEM(a, b, n)                                                    \
	do {                                                                  \
		const unsigned char *_a = (const void *)(a), *_b = (const void *)(b); \
		size_t _n = (n);                                              \
		for (size_t _i = 0; _i < _n; _i++)                            \
			if (_a[_i] != _b[_i])                                 \
				fail_at(__FILE__, __LINE__, 0,                \
					"%s vs %s: byte %zu of %zu is 0x%02x, expected 0x%02x", \
					#a, #b, _i, _n, _a[_i], _b[_i]);      \
	} while (0)

#define CHECK_ZERO(buf, n)                                                    \
	do {                                                                  \
		const unsigned char *_z = (const void *)(buf);                \
		size_t _n = (n);                                              \
		for (size_t _i = 0; _i < _n; _i++)                            \
			if (_z[_i])                                           \
				fail_at(__FILE__, __LINE__, 0,                \
					"%s: byte %zu of %zu is 0x%02x, expected 0", \
					#buf, _i, _n, _z[_i]);                \
	} while (0)

/* ------------------------------------------------------------------------ */
/* Per-test resources released by the runner, even after a failure         */
/* ------------------------------------------------------------------------ */

static pthread_mutex_t g_res_lock = PTHREAD_MUTEX_INITIALIZER;
static void *g_allocs[64];
static struct {
	void *addr;
	size_t len;
} g_maps[16];
static pid_t g_children[32];

/* Registers p to be freed after the test; fails the test if p is NULL. */
static void *track(void *p, size_t n)
{
	if (!p)
		FAILF("out of memory for %zu bytes", n);
	pthread_mutex_lock(&g_res_lock);
	for (size_t i = 0; i < sizeof(g_allocs) / sizeof(g_allocs[0]); i++)
		if (!g_allocs[i]) {
			g_allocs[i] = p;
			pthread_mutex_unlock(&g_res_lock);
			return p;
		}
	pthread_mutex_unlock(&g_res_lock);
	free(p);
	FAILF("too many allocations in one test");
}

static void *talloc(size_t n)
{
	return track(calloc(1, n ? n : 1), n);
}

static void *talloc_aligned(size_t align, size_t n)
{
	return track(aligned_alloc(align, n), n);
}

static void *map_file(int fd, size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags, fd, 0);

	if (p == MAP_FAILED)
		fail_at(__FILE__, __LINE__, errno, "mmap(%zu bytes)", len);
	for (size_t i = 0; i < sizeof(g_maps) / sizeof(g_maps[0]); i++)
		if (!g_maps[i].addr) {
			g_maps[i].addr = p;
			g_maps[i].len = len;
			return p;
		}
	munmap(p, len);
	FAILF("map_file: too many mappings in one test");
}

static void unmap(void *p)
{
	for (size_t i = 0; i < sizeof(g_maps) / sizeof(g_maps[0]); i++)
		if (g_maps[i].addr == p) {
			CHECK_SYS(munmap(p, g_maps[i].len));
			g_maps[i].addr = NULL;
			return;
		}
	FAILF("unmap of an unknown mapping");
}

static void kill_children(void)
{
	for (size_t i = 0; i < sizeof(g_children) / sizeof(g_children[0]); i++)
		if (g_children[i] > 0)
			kill(g_children[i], SIGKILL);
}

static void release_resources(void)
{
	kill_children();
	for (size_t i = 0; i < sizeof(g_children) / sizeof(g_children[0]); i++)
		if (g_children[i] > 0) {
			while (waitpid(g_children[i], NULL, 0) < 0 && errno == EINTR)
				;
			g_children[i] = 0;
		}
	for (size_t i = 0; i < sizeof(g_maps) / sizeof(g_maps[0]); i++)
		if (g_maps[i].addr) {
			munmap(g_maps[i].addr, g_maps[i].len);
			g_maps[i].addr = NULL;
		}
	for (size_t i = 0; i < sizeof(g_allocs) / sizeof(g_allocs[0]); i++) {
		free(g_allocs[i]);
		g_allocs[i] = NULL;
	}
	g_tfailed = 0;
	g_tfail[0] = 0;
}

/* ------------------------------------------------------------------------ */
/* Forked children                                                          */
/* ------------------------------------------------------------------------ */

struct child {
	pid_t pid;
	int msg_fd;	/* read end of the child's failure pipe */
	int chan;	/* parent's end of a socket pair; g_chan in the child */
};

static struct child spawn(void (*fn)(void *), void *arg)
{
	int p[2], sv[2];
	struct child c;

	CHECK_SYS(pipe2(p, O_CLOEXEC));
	CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	fflush(NULL);
	c.pid = CHECK_SYS(fork());
	if (c.pid == 0) {
		close(p[0]);
		close(sv[0]);
		g_child_fd = p[1];
		g_chan = sv[1];
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	close(sv[1]);
	c.msg_fd = p[0];
	c.chan = sv[0];
	for (size_t i = 0; i < sizeof(g_children) / sizeof(g_children[0]); i++)
		if (g_children[i] <= 0) {
			g_children[i] = c.pid;
			break;
		}
	return c;
}

/* Waits for the child; returns its wait status; msg gets its failure text. */
static int join_status(struct child *c, char *msg, size_t msglen)
{
	size_t got = 0;
	int st = 0;

	for (;;) {
		ssize_t n = read(c->msg_fd, msg + got, msglen - 1 - got);
		if (n > 0) {
			got += (size_t)n;
			if (got < msglen - 1)
				continue;
		} else if (n < 0 && errno == EINTR) {
			continue;
		}
		break;
	}
	msg[got] = 0;
	while (waitpid(c->pid, &st, 0) < 0)
		if (errno != EINTR)
			fail_at(__FILE__, __LINE__, errno, "waitpid(%d)", (int)c->pid);
	for (size_t i = 0; i < sizeof(g_children) / sizeof(g_children[0]); i++)
		if (g_children[i] == c->pid)
			g_children[i] = 0;
	close(c->msg_fd);
	close(c->chan);
	return st;
}

static void join(struct child *c)
{
	char msg[1024];
	int st = join_status(c, msg, sizeof(msg));

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		skip_test(msg);
	if (msg[0])
		fail_at(NULL, 0, 0, "in child: %s", msg);
	if (WIFSIGNALED(st))
		FAILF("child killed by signal %s", strsignal(WTERMSIG(st)));
	FAILF("child exited with status %d", WEXITSTATUS(st));
}

/* One-byte messages order the steps of parent and child. */
static void tell(int fd, char c)
{
	ssize_t n;

	do
		n = write(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		fail_at(__FILE__, __LINE__, errno, "tell('%c'): peer gone", c);
}

static void expect(int fd, char want)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		FAILF("expect('%c'): peer exited", want);
	if (n < 0)
		fail_at(__FILE__, __LINE__, errno, "expect('%c')", want);
	if (c != want)
		FAILF("expect('%c'): got '%c'", want, c);
}

/* In a child: drop root for good. */
static void become(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups)
{
	CHECK_SYS(setgroups(ngroups, groups));
	CHECK_SYS(setresgid(gid, gid, gid));
	CHECK_SYS(setresuid(uid, uid, uid));
	CHECK_EQ(geteuid(), uid);
	CHECK_EQ(getegid(), gid);
}

#define NOBODY 65534
#define NOBODY2 65533

/* ------------------------------------------------------------------------ */
/* Threads                                                                  */
/* ------------------------------------------------------------------------ */

struct worker {
	pthread_t tid;
	int idx;
	void *shared;
	uint64_t rng;
};

/* Runs n workers to completion, then fails with the first worker failure. */
static void run_threads(int n, void *(*fn)(void *), void *shared)
{
	struct worker *w = talloc(sizeof(*w) * (size_t)n);
	int started = 0, err = 0;

	g_tfailed = 0;
	for (int i = 0; i < n; i++) {
		w[i].idx = i;
		w[i].shared = shared;
		w[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		err = pthread_create(&w[i].tid, NULL, fn, &w[i]);
		if (err)
			break;
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
	if (err)
		fail_at(__FILE__, __LINE__, err, "pthread_create");
	if (g_tfailed)
		fail_at(NULL, 0, 0, "in thread: %s", g_tfail);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return xorshift(s) % n;
}

/* ------------------------------------------------------------------------ */
/* Data patterns: content is a function of (seed, offset), so any range can */
/* be checked without keeping a copy of the file                            */
/* ------------------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void pattern_fill(void *buf, uint64_t off, size_t len, uint64_t seed)
{
	unsigned char *p = buf;

	seed = mix64(seed);
	while (len) {
		uint64_t w = mix64((off >> 3) ^ seed);
		size_t s = off & 7, n = 8 - s;

		if (n > len)
			n = len;
		memcpy(p, (unsigned char *)&w + s, n);
		p += n;
		off += n;
		len -= n;
	}
}

/* Index of the first byte that differs from the pattern, or -1. */
static long long pattern_diff(const void *buf, uint64_t off, size_t len, uint64_t seed)
{
	unsigned char want[4096];
	const unsigned char *p = buf;
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < sizeof(want) ? len - done : sizeof(want);

		pattern_fill(want, off + done, n, seed);
		if (memcmp(p + done, want, n))
			for (size_t i = 0; i < n; i++)
				if (p[done + i] != want[i])
					return (long long)(done + i);
		done += n;
	}
	return -1;
}

#define CHECK_PATTERN(buf, off, len, seed)                                    \
	do {                                                                  \
		long long _d = pattern_diff((buf), (off), (len), (seed));     \
		if (_d >= 0)                                                  \
			fail_at(__FILE__, __LINE__, 0,                        \
				"data at file offset %llu (of range %llu+%zu) differs from what was written", \
				(unsigned long long)(off) + (unsigned long long)_d, \
				(unsigned long long)(off), (size_t)(len));    \
	} while (0)

static uint64_t fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ull

/* ------------------------------------------------------------------------ */
/* File helpers                                                             */
/* ------------------------------------------------------------------------ */

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail_at(__FILE__, __LINE__, errno, "write(%zu bytes)", len);
		if (n == 0)
			FAILF("write returned 0 for %zu bytes", len);
		p += n;
		len -= (size_t)n;
	}
}

static void pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail_at(__FILE__, __LINE__, errno, "pwrite(%zu bytes at %lld)",
				len, (long long)off);
		if (n == 0)
			FAILF("pwrite returned 0 for %zu bytes at %lld", len, (long long)off);
		p += n;
		len -= (size_t)n;
		off += n;
	}
}

/* Reads until len bytes or EOF; returns the bytes read. */
static size_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail_at(__FILE__, __LINE__, errno, "pread(%zu bytes at %lld)",
				len - got, (long long)(off + (off_t)got));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static size_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail_at(__FILE__, __LINE__, errno, "read(%zu bytes)", len - got);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void make_file(const char *path, mode_t mode, const char *content)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	if (fd < 0)
		fail_at(__FILE__, __LINE__, errno, "open(\"%s\", O_CREAT)", path);
	write_all(fd, content, strlen(content));
	if (fchmod(fd, mode))
		fail_at(__FILE__, __LINE__, errno, "fchmod(\"%s\", 0%o)", path, mode);
	CHECK_SYS(close(fd));
}

/* Fails unless path holds exactly content. */
#define CHECK_FILE(path, content) check_file(__FILE__, __LINE__, (path), (content))

static void check_file(const char *file, int line, const char *path, const char *content)
{
	size_t len = strlen(content);
	char *buf = talloc(len + 2);
	int fd = open(path, O_RDONLY);
	size_t got;

	if (fd < 0)
		fail_at(file, line, errno, "open(\"%s\") to check its content", path);
	got = read_full(fd, buf, len + 1);
	close(fd);
	if (got != len || memcmp(buf, content, len))
		fail_at(file, line, 0, "\"%s\" holds \"%.*s\" (%zu bytes), expected \"%.60s\" (%zu bytes)",
			path, (int)(got < 60 ? got : 60), buf, got, content, len);
}

static struct stat xstat(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		fail_at(__FILE__, __LINE__, errno, "stat(\"%s\")", path);
	return st;
}

static struct stat xlstat(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		fail_at(__FILE__, __LINE__, errno, "lstat(\"%s\")", path);
	return st;
}

static struct stat xfstat(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		fail_at(__FILE__, __LINE__, errno, "fstat(%d)", fd);
	return st;
}

static bool exists(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return true;
	if (errno != ENOENT)
		fail_at(__FILE__, __LINE__, errno, "lstat(\"%s\")", path);
	return false;
}

static void set_times(const char *path, time_t atime, time_t mtime)
{
	struct timespec ts[2] = { { atime, 0 }, { mtime, 0 } };

	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW))
		fail_at(__FILE__, __LINE__, errno, "utimensat(\"%s\")", path);
}

/* The group a new file in the working directory gets. */
static gid_t expected_gid(void)
{
	struct stat st = xstat(".");

	return (st.st_mode & S_ISGID) ? st.st_gid : getegid();
}

static void require_root(void)
{
	if (geteuid() != 0)
		skip_test("needs root");
}

struct dirent64_k {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static long sys_getdents64(int fd, void *buf, size_t len)
{
	return syscall(SYS_getdents64, fd, buf, len);
}

/*
 * Entries of path, "." and ".." included. A listing that goes past limit
 * fails the test: a filesystem whose readdir never ends must not turn a
 * counting loop into a hang.
 */
static int dir_count(const char *path, int limit)
{
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		fail_at(__FILE__, __LINE__, errno, "opendir(\"%s\")", path);
	errno = 0;
	while (readdir(d))
		if (++n > limit) {
			closedir(d);
			FAILF("listing of \"%s\" does not end: more than %d entries", path, limit);
		}
	if (errno)
		fail_at(__FILE__, __LINE__, errno, "readdir(\"%s\")", path);
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------------ */
/* open, creat                                                              */
/* ------------------------------------------------------------------------ */

static void test_open_create_excl(void)
{
	int fd = CHECK_SYS(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644));
	struct stat st = xfstat(fd);

	CHECK(S_ISREG(st.st_mode));
	CHECK_MODE(st.st_mode & 07777, 0644);
	CHECK_EQ(st.st_size, 0);
	write_all(fd, "data", 4);
	CHECK_SYS(close(fd));

	CHECK_ERRNO(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	CHECK_FILE("f", "data");
	/* O_CREAT alone on an existing file opens it and keeps the content. */
	fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0600));
	CHECK_MODE(xfstat(fd).st_mode & 07777, 0644);
	CHECK_SYS(close(fd));
	CHECK_FILE("f", "data");

	CHECK_SYS(mkdir("d", 0755));
	CHECK_ERRNO(open("d", O_CREAT | O_EXCL | O_RDONLY, 0644), EEXIST);
	CHECK_ERRNO(open("d", O_WRONLY), EISDIR);
	CHECK_ERRNO(open("d", O_RDWR), EISDIR);
	CHECK_ERRNO(open("d", O_CREAT | O_WRONLY, 0644), EISDIR);
	CHECK_ERRNO(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	CHECK_ERRNO(open("f/x", O_CREAT | O_WRONLY, 0644), ENOTDIR);
	CHECK_ERRNO(open("missing", O_RDONLY), ENOENT);
	CHECK_ERRNO(open("nodir/x", O_CREAT | O_WRONLY, 0644), ENOENT);
	if (has(F_SYMLINK)) {
		/* O_EXCL never follows a symlink, even a dangling one. */
		CHECK_SYS(symlink("nowhere", "dangling"));
		CHECK_ERRNO(open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
		CHECK(!exists("nowhere"));
	}

	/* creat() is O_CREAT|O_WRONLY|O_TRUNC. */
	fd = CHECK_SYS(creat("c", 0640));
	CHECK_MODE(xfstat(fd).st_mode & 07777, 0640);
	write_all(fd, "xyz", 3);
	CHECK_ERRNO(read(fd, (char[4]){ 0 }, 4), EBADF);
	CHECK_SYS(close(fd));
	CHECK_EQ(xstat("c").st_size, 3);
	fd = CHECK_SYS(creat("c", 0600));
	CHECK_EQ(xfstat(fd).st_size, 0);
	CHECK_MODE(xfstat(fd).st_mode & 07777, 0640);	/* existing mode stays */
	CHECK_SYS(close(fd));

	fd = CHECK_SYS(open("f", O_RDONLY));
	CHECK_ERRNO(write(fd, "x", 1), EBADF);
	CHECK_SYS(close(fd));
}

static void test_open_trunc(void)
{
	char buf[16];
	int fd, fd2;

	make_file("f", 0644, "0123456789abcdef");
	/* An fd opened before the truncation sees it too. */
	fd2 = CHECK_SYS(open("f", O_RDONLY));
	fd = CHECK_SYS(open("f", O_WRONLY | O_TRUNC));
	CHECK_EQ(xfstat(fd).st_size, 0);
	CHECK_EQ(xstat("f").st_size, 0);
	CHECK_EQ(read(fd2, buf, sizeof(buf)), 0);
	write_all(fd, "new", 3);
	CHECK_SYS(close(fd));
	CHECK_EQ(pread(fd2, buf, sizeof(buf), 0), 3);
	CHECK_MEM(buf, "new", 3);
	CHECK_SYS(close(fd2));
	CHECK_FILE("f", "new");

	/* O_TRUNC on an empty file and with O_CREAT on a new file. */
	fd = CHECK_SYS(open("f", O_RDWR | O_TRUNC));
	fd2 = CHECK_SYS(open("g", O_RDWR | O_CREAT | O_TRUNC, 0644));
	CHECK_EQ(xfstat(fd).st_size, 0);
	CHECK_EQ(xfstat(fd2).st_size, 0);
	CHECK_SYS(close(fd));
	CHECK_SYS(close(fd2));
}

static void test_open_append(void)
{
	int fd, fd2, fd3;

	make_file("f", 0644, "hello");
	fd = CHECK_SYS(open("f", O_WRONLY | O_APPEND));
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	write_all(fd, "world", 5);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10);
	CHECK_FILE("f", "helloworld");

	/* Appends land at the current end whoever extended the file. */
	fd2 = CHECK_SYS(open("f", O_WRONLY | O_APPEND));
	fd3 = CHECK_SYS(open("f", O_WRONLY));
	write_all(fd2, "A", 1);
	write_all(fd, "B", 1);
	pwrite_all(fd3, "C", 1, 12);
	write_all(fd2, "D", 1);
	CHECK_FILE("f", "helloworldABCD");
	CHECK_SYS(close(fd));
	CHECK_SYS(close(fd2));
	CHECK_SYS(close(fd3));

	/* O_APPEND|O_CREAT on a new file. */
	fd = CHECK_SYS(open("g", O_WRONLY | O_APPEND | O_CREAT, 0644));
	write_all(fd, "one", 3);
	write_all(fd, "two", 3);
	CHECK_SYS(close(fd));
	CHECK_FILE("g", "onetwo");
}

static void test_open_direct(void)
{
	const size_t bs = 4096;
	unsigned char *wbuf, *rbuf, small[16];
	int fd, fdc;

	/* O_DIRECT wants buffers aligned to the logical block size. */
	wbuf = talloc_aligned(bs, 4 * bs);
	rbuf = talloc_aligned(bs, 4 * bs);

	fd = CHECK_SYS(open("f", O_CREAT | O_RDWR | O_DIRECT, 0644));
	CHECK(fcntl(fd, F_GETFL) & O_DIRECT);
	pattern_fill(wbuf, bs, 2 * bs, 1);
	CHECK_EQ(pwrite(fd, wbuf, 2 * bs, (off_t)bs), (ssize_t)(2 * bs));
	CHECK_EQ(xfstat(fd).st_size, 3 * bs);
	memset(rbuf, 0xaa, 4 * bs);
	CHECK_EQ(pread(fd, rbuf, 4 * bs, 0), (ssize_t)(3 * bs));
	CHECK_ZERO(rbuf, bs);
	CHECK_PATTERN(rbuf + bs, bs, 2 * bs, 1);

	/* Cached and direct I/O on one file must agree in both directions. */
	fdc = CHECK_SYS(open("f", O_RDWR));
	CHECK_EQ(pread(fdc, small, sizeof(small), (off_t)bs), (ssize_t)sizeof(small));
	CHECK_PATTERN(small, bs, sizeof(small), 1);
	pwrite_all(fdc, "cached", 6, 10);
	memset(rbuf, 0xaa, bs);
	CHECK_EQ(pread(fd, rbuf, bs, 0), (ssize_t)bs);
	CHECK_MEM(rbuf + 10, "cached", 6);
	CHECK_ZERO(rbuf, 10);
	CHECK_SYS(close(fdc));
	CHECK_SYS(close(fd));
}

/* ------------------------------------------------------------------------ */
/* read, write                                                              */
/* ------------------------------------------------------------------------ */

static void test_rw_odd_offsets(void)
{
	static const struct {
		off_t off;
		size_t len;
	} w[] = {
		{ 1, 1 },	   { 511, 3 },	    { 4095, 2 },   { 4097, 4098 },
		{ 65535, 7 },	   { 131071, 8193 }, { 0, 1 },	   { 300001, 12345 },
		{ 1048573, 5 },	   { 4094, 4100 },   { 2, 700 },   { 1048500, 80 },
	};
	const size_t cap = 1 << 21;
	unsigned char *shadow = talloc(cap), *buf = talloc(cap);
	uint64_t rng = 42;
	size_t size = 0;
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		pattern_fill(shadow + w[i].off, (uint64_t)w[i].off, w[i].len, i + 7);
		if (i & 1) {
			pwrite_all(fd, shadow + w[i].off, w[i].len, w[i].off);
		} else {
			CHECK_EQ(lseek(fd, w[i].off, SEEK_SET), w[i].off);
			write_all(fd, shadow + w[i].off, w[i].len);
			CHECK_EQ(lseek(fd, 0, SEEK_CUR), w[i].off + (off_t)w[i].len);
		}
		if ((size_t)w[i].off + w[i].len > size)
			size = (size_t)w[i].off + w[i].len;
		CHECK_EQ(xfstat(fd).st_size, size);
	}
	CHECK_EQ(xstat("f").st_size, size);
	CHECK_EQ(pread_full(fd, buf, cap, 0), size);
	CHECK_MEM(buf, shadow, size);

	for (int i = 0; i < 200; i++) {
		size_t off = rnd(&rng, size), len = rnd(&rng, 70000) + 1;
		size_t want = off + len > size ? size - off : len;
		ssize_t n = CHECK_SYS(pread(fd, buf, len, (off_t)off));

		/* A short read is legal only at EOF; pread_full covers the rest. */
		if ((size_t)n < want)
			n += (ssize_t)pread_full(fd, buf + n, want - (size_t)n, (off_t)off + n);
		CHECK_EQ(n, want);
		CHECK_MEM(buf, shadow + off, want);
	}
	CHECK_EQ(pread(fd, buf, 10, (off_t)size), 0);
	CHECK_EQ(pread(fd, buf, 10, (off_t)size + 100000), 0);
	CHECK_EQ(pread(fd, buf, 10, (off_t)size - 3), 3);
	CHECK_MEM(buf, shadow + size - 3, 3);

	/* Another fd and a path lookup see the data and size at once. */
	int fd2 = CHECK_SYS(open("f", O_RDONLY));
	CHECK_EQ(pread_full(fd2, buf, cap, 0), size);
	CHECK_MEM(buf, shadow, size);
	pwrite_all(fd, "Z", 1, 77);
	CHECK_EQ(pread(fd2, buf, 1, 77), 1);
	CHECK_EQ(buf[0], 'Z');
	CHECK_SYS(close(fd2));
	CHECK_SYS(close(fd));
}

static void test_write_beyond_eof_leaves_zeros(void)
{
	unsigned char buf[10001];
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));

	pwrite_all(fd, "x", 1, 10000);
	CHECK_EQ(xfstat(fd).st_size, 10001);
	CHECK_EQ(pread_full(fd, buf, sizeof(buf), 0), 10001);
	CHECK_ZERO(buf, 10000);
	CHECK_EQ(buf[10000], 'x');

	/* Seeking past EOF does not extend; the next write does. */
	CHECK_EQ(lseek(fd, 20000, SEEK_SET), 20000);
	CHECK_EQ(xfstat(fd).st_size, 10001);
	write_all(fd, "y", 1);
	CHECK_EQ(xfstat(fd).st_size, 20001);
	CHECK_EQ(pread_full(fd, buf, 9999, 10001), 9999);
	CHECK_ZERO(buf, 9999);
	CHECK_SYS(close(fd));
}

static void test_readv_writev(void)
{
	char a[5], b[4099], c[17], all[5 + 4099 + 17], got[sizeof(all)];
	char r1[1], r2[3000], r3[sizeof(all) - 1 - 3000 + 10];
	struct iovec wv[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct iovec rv[3] = { { r1, sizeof(r1) }, { r2, sizeof(r2) }, { r3, sizeof(r3) } };
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));

	pattern_fill(all, 0, sizeof(all), 3);
	memcpy(a, all, sizeof(a));
	memcpy(b, all + sizeof(a), sizeof(b));
	memcpy(c, all + sizeof(a) + sizeof(b), sizeof(c));
	CHECK_EQ(writev(fd, wv, 3), (ssize_t)sizeof(all));
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), (off_t)sizeof(all));
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(readv(fd, rv, 3), (ssize_t)sizeof(all));
	memcpy(got, r1, 1);
	memcpy(got + 1, r2, sizeof(r2));
	memcpy(got + 1 + sizeof(r2), r3, sizeof(all) - 1 - sizeof(r2));
	CHECK_MEM(got, all, sizeof(all));

	/* pwritev/preadv at an odd offset leave the file position alone. */
	CHECK_EQ(pwritev(fd, wv, 3, 7777), (ssize_t)sizeof(all));
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), (off_t)sizeof(all));
	memset(r2, 0, sizeof(r2));
	CHECK_EQ(preadv(fd, rv, 3, 7777), (ssize_t)sizeof(all));
	memcpy(got, r1, 1);
	memcpy(got + 1, r2, sizeof(r2));
	memcpy(got + 1 + sizeof(r2), r3, sizeof(all) - 1 - sizeof(r2));
	CHECK_MEM(got, all, sizeof(all));
	CHECK_EQ(xfstat(fd).st_size, 7777 + sizeof(all));
	CHECK_SYS(close(fd));
}

static void test_zero_length_io(void)
{
	char buf[4];
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));

	write_all(fd, "abcde", 5);
	/* Zero-length I/O must not touch the buffer, so NULL is fine. */
	CHECK_EQ(write(fd, NULL, 0), 0);
	CHECK_EQ(read(fd, NULL, 0), 0);
	CHECK_EQ(pwrite(fd, NULL, 0, 1LL << 40), 0);
	CHECK_EQ(pread(fd, NULL, 0, 1LL << 40), 0);
	CHECK_EQ(writev(fd, NULL, 0), 0);
	CHECK_EQ(readv(fd, NULL, 0), 0);
	CHECK_EQ(pread(fd, buf, 0, 2), 0);
	CHECK_EQ(xfstat(fd).st_size, 5);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 5);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 0);	/* at EOF */
	CHECK_SYS(close(fd));
	CHECK_FILE("f", "abcde");
}

static void test_lseek_basic(void)
{
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644)), fd2;
	char c;

	write_all(fd, "0123456789", 10);
	CHECK_EQ(lseek(fd, 3, SEEK_SET), 3);
	CHECK_EQ(read(fd, &c, 1), 1);
	CHECK_EQ(c, '3');
	CHECK_EQ(lseek(fd, 2, SEEK_CUR), 6);
	CHECK_EQ(lseek(fd, -1, SEEK_END), 9);
	CHECK_EQ(read(fd, &c, 1), 1);
	CHECK_EQ(c, '9');
	CHECK_ERRNO(lseek(fd, -11, SEEK_END), EINVAL);
	CHECK_ERRNO(lseek(fd, -1, SEEK_SET), EINVAL);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10);
	/* SEEK_END sees an extension made through another fd. */
	fd2 = CHECK_SYS(open("f", O_WRONLY));
	pwrite_all(fd2, "x", 1, 99);
	CHECK_EQ(lseek(fd, 0, SEEK_END), 100);
	CHECK_SYS(close(fd2));
	CHECK_SYS(close(fd));
}

static void test_write_updates_mtime(void)
{
	const time_t old = 1000000000;
	struct stat st;
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));

	set_times("f", old, old);
	st = xstat("f");
	CHECK_EQ(st.st_mtime, old);
	write_all(fd, "x", 1);
	st = xfstat(fd);
	CHECK_GT(st.st_mtime, old);
	CHECK_GT(st.st_ctime, old);

	set_times("f", old, old);
	CHECK_SYS(ftruncate(fd, 100));
	st = xstat("f");
	CHECK_GT(st.st_mtime, old);

	/* By path too. (POSIX asks for it only when the size changes.) */
	set_times("f", old, old);
	CHECK_SYS(truncate("f", 50));
	st = xstat("f");
	CHECK_GT(st.st_mtime, old);
	CHECK_GT(st.st_ctime, old);
	CHECK_SYS(close(fd));

	/* Opening with O_TRUNC sets mtime too. */
	set_times("f", old, old);
	fd = CHECK_SYS(open("f", O_WRONLY | O_TRUNC));
	CHECK_GT(xfstat(fd).st_mtime, old);
	CHECK_SYS(close(fd));
}

/* ------------------------------------------------------------------------ */
/* truncate                                                                 */
/* ------------------------------------------------------------------------ */

static void test_truncate_shrink_then_grow_reads_zeros(void)
{
	unsigned char *buf = talloc(20000), *x = talloc(10000);
	int fd, ro;

	memset(x, 'x', 10000);
	fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));
	write_all(fd, x, 10000);

	CHECK_SYS(truncate("f", 5000));
	CHECK_EQ(xstat("f").st_size, 5000);
	CHECK_EQ(xfstat(fd).st_size, 5000);
	CHECK_EQ(pread_full(fd, buf, 20000, 0), 5000);
	CHECK_MEM(buf, x, 5000);

	/* The old bytes past the cut must not come back. */
	CHECK_SYS(truncate("f", 20000));
	CHECK_EQ(xstat("f").st_size, 20000);
	CHECK_EQ(pread_full(fd, buf, 20000, 0), 20000);
	CHECK_MEM(buf, x, 5000);
	CHECK_ZERO(buf + 5000, 15000);

	/* Same within one page, through ftruncate. */
	CHECK_SYS(ftruncate(fd, 3));
	CHECK_SYS(ftruncate(fd, 8192));
	CHECK_EQ(pread_full(fd, buf, 20000, 0), 8192);
	CHECK_MEM(buf, x, 3);
	CHECK_ZERO(buf + 3, 8189);

	/* Same when a write, not a truncate, extends the file again. */
	pwrite_all(fd, x, 10000, 0);
	CHECK_SYS(ftruncate(fd, 5000));
	pwrite_all(fd, "e", 1, 9999);
	CHECK_EQ(pread_full(fd, buf, 20000, 0), 10000);
	CHECK_MEM(buf, x, 5000);
	CHECK_ZERO(buf + 5000, 4999);
	CHECK_EQ(buf[9999], 'e');

	CHECK_SYS(ftruncate(fd, 0));
	CHECK_EQ(xfstat(fd).st_size, 0);
	CHECK_EQ(pread(fd, buf, 10, 0), 0);

	CHECK_ERRNO(ftruncate(fd, -1), EINVAL);
	CHECK_ERRNO(truncate("missing", 0), ENOENT);
	CHECK_SYS(mkdir("d", 0755));
	CHECK_ERRNO(truncate("d", 0), EISDIR);
	ro = CHECK_SYS(open("f", O_RDONLY));
	CHECK_ERRNO2(ftruncate(ro, 0), EINVAL, EBADF);
	CHECK_SYS(close(ro));
	CHECK_SYS(close(fd));
}

/* ------------------------------------------------------------------------ */
/* stat, statx                                                              */
/* ------------------------------------------------------------------------ */

static void test_stat_fields(void)
{
	unsigned char *buf = talloc(10000);
	struct stat st, fst, lst, dst;
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0640));

	pattern_fill(buf, 0, 10000, 5);
	write_all(fd, buf, 10000);
	st = xstat("f");
	fst = xfstat(fd);
	lst = xlstat("f");
	dst = xstat(".");

	CHECK(S_ISREG(st.st_mode));
	CHECK_MODE(st.st_mode & 07777, 0640);
	CHECK_EQ(st.st_size, 10000);
	CHECK_EQ(st.st_nlink, 1);
	CHECK_EQ(st.st_uid, geteuid());
	CHECK_EQ(st.st_gid, expected_gid());
	CHECK_GT(st.st_blksize, 0);
	/* A dense file holds at least its size, and not wildly more. */
	CHECK_GE((long long)st.st_blocks * 512, 10000);
	CHECK_LE((long long)st.st_blocks * 512, 10000 + (1 << 20));
	CHECK_EQ(st.st_dev, dst.st_dev);
	CHECK(st.st_ino != dst.st_ino);

	CHECK_EQ(fst.st_ino, st.st_ino);
	CHECK_EQ(fst.st_dev, st.st_dev);
	CHECK_EQ(fst.st_size, st.st_size);
	CHECK_MODE(fst.st_mode, st.st_mode);
	CHECK_EQ(fst.st_nlink, st.st_nlink);
	CHECK_EQ(fst.st_uid, st.st_uid);
	CHECK_EQ(fst.st_gid, st.st_gid);
	CHECK_EQ(lst.st_ino, st.st_ino);
	CHECK_MODE(lst.st_mode, st.st_mode);

	CHECK(S_ISDIR(dst.st_mode));
	CHECK_EQ(dst.st_nlink, 2);

	CHECK_ERRNO(stat("missing", &st), ENOENT);
	CHECK_ERRNO(stat("f/", &st), ENOTDIR);
	CHECK_ERRNO(stat("f/x", &st), ENOTDIR);
	CHECK_ERRNO(stat("", &st), ENOENT);
	CHECK_SYS(close(fd));
}

static void test_statx_fields(void)
{
	const unsigned want = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID |
			      STATX_GID | STATX_INO | STATX_SIZE | STATX_BLOCKS |
			      STATX_MTIME | STATX_CTIME;
	struct statx stx, fstx;
	struct stat st;
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0600));

	write_all(fd, "statx", 5);
	st = xstat("f");
	CHECK_SYS(statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS, &stx));
	CHECK((stx.stx_mask & want) == want);
	CHECK(S_ISREG(stx.stx_mode));
	CHECK_MODE(stx.stx_mode & 07777, 0600);
	CHECK_EQ_U64(stx.stx_size, 5);
	CHECK_EQ(stx.stx_nlink, 1);
	CHECK_EQ_U64(stx.stx_ino, st.st_ino);
	CHECK_EQ(stx.stx_uid, st.st_uid);
	CHECK_EQ(stx.stx_gid, st.st_gid);
	CHECK_EQ_U64(stx.stx_blocks, st.st_blocks);
	CHECK_EQ(stx.stx_mtime.tv_sec, st.st_mtim.tv_sec);
	CHECK_EQ(stx.stx_mtime.tv_nsec, st.st_mtim.tv_nsec);
	CHECK_EQ(stx.stx_blksize, st.st_blksize);
	CHECK_EQ(makedev(stx.stx_dev_major, stx.stx_dev_minor), st.st_dev);

	CHECK_SYS(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &fstx));
	CHECK_EQ_U64(fstx.stx_ino, stx.stx_ino);
	CHECK_EQ_U64(fstx.stx_size, 5);
	CHECK_SYS(statx(AT_FDCWD, "f", AT_STATX_FORCE_SYNC, STATX_SIZE, &fstx));
	CHECK_EQ_U64(fstx.stx_size, 5);
	CHECK_SYS(statx(AT_FDCWD, "f", AT_STATX_DONT_SYNC, STATX_SIZE, &fstx));
	CHECK_EQ_U64(fstx.stx_size, 5);

	CHECK_SYS(statx(AT_FDCWD, ".", 0, STATX_BASIC_STATS, &stx));
	CHECK(S_ISDIR(stx.stx_mode));
	if (has(F_SYMLINK)) {
		CHECK_SYS(symlink("f", "l"));
		CHECK_SYS(statx(AT_FDCWD, "l", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx));
		CHECK(S_ISLNK(stx.stx_mode));
		CHECK_EQ_U64(stx.stx_size, 1);
		CHECK_SYS(statx(AT_FDCWD, "l", 0, STATX_BASIC_STATS, &stx));
		CHECK(S_ISREG(stx.stx_mode));
		CHECK_EQ_U64(stx.stx_ino, st.st_ino);
	}
	CHECK_ERRNO(statx(AT_FDCWD, "missing", 0, STATX_BASIC_STATS, &stx), ENOENT);
	CHECK_SYS(close(fd));
}

/* ------------------------------------------------------------------------ */
/* chmod, chown, utimensat                                                  */
/* ------------------------------------------------------------------------ */

static void test_chmod_fchmod(void)
{
	int fd;

	make_file("f", 0644, "x");
	CHECK_SYS(chmod("f", 0600));
	CHECK_MODE(xstat("f").st_mode & 07777, 0600);
	fd = CHECK_SYS(open("f", O_RDONLY));
	CHECK_SYS(fchmod(fd, 0755));
	CHECK_MODE(xfstat(fd).st_mode & 07777, 0755);
	CHECK_MODE(xstat("f").st_mode & 07777, 0755);
	CHECK_SYS(close(fd));
	/* umask applies to creation only. */
	umask(077);
	CHECK_SYS(chmod("f", 0666));
	umask(022);
	CHECK_MODE(xstat("f").st_mode & 07777, 0666);
	CHECK_SYS(chmod("f", 0));
	CHECK_MODE(xstat("f").st_mode & 07777, 0);
	CHECK(S_ISREG(xstat("f").st_mode));

	CHECK_SYS(mkdir("d", 0755));
	CHECK_SYS(chmod("d", 01777));
	CHECK_MODE(xstat("d").st_mode & 07777, 01777);
	CHECK(S_ISDIR(xstat("d").st_mode));
	if (geteuid() == 0) {
		/* The owner (root here) may set suid and sgid. */
		CHECK_SYS(chmod("f", 06755));
		CHECK_MODE(xstat("f").st_mode & 07777, 06755);
	}
	if (has(F_SYMLINK)) {
		/* chmod follows the link; the link's own mode does not change. */
		CHECK_SYS(symlink("f", "l"));
		mode_t lmode = xlstat("l").st_mode;
		CHECK_SYS(chmod("l", 0604));
		CHECK_MODE(xstat("f").st_mode & 07777, 0604);
		CHECK_MODE(xlstat("l").st_mode, lmode);
	}
	CHECK_ERRNO(chmod("missing", 0644), ENOENT);
}

static void test_chown_as_root(void)
{
	struct stat st;
	int fd;

	require_root();
	make_file("f", 0644, "x");
	CHECK_SYS(chown("f", 1234, 5678));
	st = xstat("f");
	CHECK_EQ(st.st_uid, 1234);
	CHECK_EQ(st.st_gid, 5678);
	/* -1 leaves that id alone. */
	CHECK_SYS(chown("f", (uid_t)-1, 42));
	st = xstat("f");
	CHECK_EQ(st.st_uid, 1234);
	CHECK_EQ(st.st_gid, 42);
	CHECK_SYS(chown("f", 99, (gid_t)-1));
	st = xstat("f");
	CHECK_EQ(st.st_uid, 99);
	CHECK_EQ(st.st_gid, 42);
	fd = CHECK_SYS(open("f", O_RDONLY));
	CHECK_SYS(fchown(fd, 0, 0));
	st = xfstat(fd);
	CHECK_EQ(st.st_uid, 0);
	CHECK_EQ(st.st_gid, 0);
	CHECK_SYS(close(fd));

	CHECK_SYS(mkdir("d", 0755));
	CHECK_SYS(chown("d", 4000, 4001));
	st = xstat("d");
	CHECK_EQ(st.st_uid, 4000);
	CHECK_EQ(st.st_gid, 4001);
	/* Large ids must survive the trip (no 16-bit truncation). */
	CHECK_SYS(chown("d", 100000, 200000));
	st = xstat("d");
	CHECK_EQ(st.st_uid, 100000);
	CHECK_EQ(st.st_gid, 200000);

	if (has(F_SYMLINK)) {
		CHECK_SYS(symlink("f", "l"));
		CHECK_SYS(lchown("l", 7, 8));
		st = xlstat("l");
		CHECK_EQ(st.st_uid, 7);
		CHECK_EQ(st.st_gid, 8);
		st = xstat("f");
		CHECK_EQ(st.st_uid, 0);
		CHECK_EQ(st.st_gid, 0);
	}
	CHECK_ERRNO(chown("missing", 1, 1), ENOENT);
}

static void test_chown_clears_suid(void)
{
	require_root();
	make_file("f", 0644, "x");
	CHECK_SYS(chmod("f", 06755));
	CHECK_SYS(chown("f", 1234, 1234));
	/* A changed owner must not inherit the old owner's privileges. */
	CHECK_MODE(xstat("f").st_mode & 07777, 0755);

	/* On directories sgid means inheritance and stays. */
	CHECK_SYS(mkdir("d", 0755));
	CHECK_SYS(chmod("d", 02755));
	CHECK_SYS(chown("d", 1234, 1234));
	CHECK_MODE(xstat("d").st_mode & 07777, 02755);
}

static void test_utimensat_precision_and_omit(void)
{
	struct timespec ts[2], before, after;
	struct stat st;
	int fd;
	/* Without nsec support only whole seconds can be expected back. */
	long ns_a = has(F_NSEC) ? 123456789 : 0, ns_m = has(F_NSEC) ? 987654321 : 0;

	make_file("f", 0644, "x");
	ts[0] = (struct timespec){ 1234567890, ns_a };
	ts[1] = (struct timespec){ 1300000000, ns_m };
	CHECK_SYS(utimensat(AT_FDCWD, "f", ts, 0));
	st = xstat("f");
	CHECK_EQ(st.st_atim.tv_sec, 1234567890);
	CHECK_EQ(st.st_atim.tv_nsec, ns_a);
	CHECK_EQ(st.st_mtim.tv_sec, 1300000000);
	CHECK_EQ(st.st_mtim.tv_nsec, ns_m);

	/* UTIME_OMIT leaves that time exactly as it was. */
	ts[0] = (struct timespec){ 0, UTIME_OMIT };
	ts[1] = (struct timespec){ 1400000000, has(F_NSEC) ? 5 : 0 };
	CHECK_SYS(utimensat(AT_FDCWD, "f", ts, 0));
	st = xstat("f");
	CHECK_EQ(st.st_atim.tv_sec, 1234567890);
	CHECK_EQ(st.st_atim.tv_nsec, ns_a);
	CHECK_EQ(st.st_mtim.tv_sec, 1400000000);
	CHECK_EQ(st.st_mtim.tv_nsec, has(F_NSEC) ? 5 : 0);

	/* UTIME_NOW: the current time; the file clock may be coarse. */
	clock_gettime(CLOCK_REALTIME, &before);
	ts[0] = (struct timespec){ 0, UTIME_OMIT };
	ts[1] = (struct timespec){ 0, UTIME_NOW };
	CHECK_SYS(utimensat(AT_FDCWD, "f", ts, 0));
	clock_gettime(CLOCK_REALTIME, &after);
	st = xstat("f");
	CHECK_EQ(st.st_atim.tv_sec, 1234567890);
	CHECK_GE(st.st_mtim.tv_sec, before.tv_sec - 2);
	CHECK_LE(st.st_mtim.tv_sec, after.tv_sec + 2);
	CHECK_GE(st.st_ctim.tv_sec, before.tv_sec - 2);

	/* Past 2038: timestamps are not 32-bit. */
	ts[0] = (struct timespec){ 4102444800LL, 0 };	/* 2100-01-01 */
	ts[1] = (struct timespec){ 2147483648LL + 100, 0 };
	fd = CHECK_SYS(open("f", O_RDONLY));
	CHECK_SYS(futimens(fd, ts));
	st = xfstat(fd);
	CHECK_EQ(st.st_atim.tv_sec, 4102444800LL);
	CHECK_EQ(st.st_mtim.tv_sec, 2147483648LL + 100);

	/* NULL times: both now. */
	CHECK_SYS(futimens(fd, NULL));
	clock_gettime(CLOCK_REALTIME, &after);
	st = xfstat(fd);
	CHECK_GE(st.st_atim.tv_sec, before.tv_sec - 2);
	CHECK_LE(st.st_atim.tv_sec, after.tv_sec + 2);
	CHECK_GE(st.st_mtim.tv_sec, before.tv_sec - 2);
	CHECK_LE(st.st_mtim.tv_sec, after.tv_sec + 2);
	CHECK_SYS(close(fd));

	/* Directories carry times too. */
	CHECK_SYS(mkdir("d", 0755));
	ts[0] = (struct timespec){ 1111111111, 0 };
	ts[1] = (struct timespec){ 1222222222, 0 };
	CHECK_SYS(utimensat(AT_FDCWD, "d", ts, 0));
	st = xstat("d");
	CHECK_EQ(st.st_atim.tv_sec, 1111111111);
	CHECK_EQ(st.st_mtim.tv_sec, 1222222222);

	if (has(F_SYMLINK)) {
		/* AT_SYMLINK_NOFOLLOW sets the link's times, not the target's. */
		struct stat target = xstat("f");
		CHECK_SYS(symlink("f", "l"));
		ts[0] = (struct timespec){ 1000000001, 0 };
		ts[1] = (struct timespec){ 1000000002, 0 };
		CHECK_SYS(utimensat(AT_FDCWD, "l", ts, AT_SYMLINK_NOFOLLOW));
		st = xlstat("l");
		CHECK_EQ(st.st_mtim.tv_sec, 1000000002);
		st = xstat("f");
		CHECK_EQ(st.st_mtim.tv_sec, target.st_mtim.tv_sec);
	}
	ts[0] = (struct timespec){ 0, 1000000000 };	/* tv_nsec out of range */
	CHECK_ERRNO(utimensat(AT_FDCWD, "f", ts, 0), EINVAL);
}

static void test_dir_times_update(void)
{
	const time_t old = 1000000000;
	struct stat st;

	CHECK_SYS(mkdir("d", 0755));
	CHECK_SYS(mkdir("e", 0755));
#define STALE(p) set_times((p), old, old)
#define FRESH(p) do { st = xstat(p); CHECK_GT(st.st_mtime, old); CHECK_GT(st.st_ctime, old); } while (0)
	STALE("d");
	make_file("d/f", 0644, "x");
	FRESH("d");
	STALE("d");
	CHECK_SYS(rename("d/f", "d/g"));
	FRESH("d");
	STALE("d");
	STALE("e");
	CHECK_SYS(rename("d/g", "e/g"));
	FRESH("d");
	FRESH("e");
	STALE("e");
	CHECK_SYS(unlink("e/g"));
	FRESH("e");
	STALE("d");
	CHECK_SYS(mkdir("d/s", 0755));
	FRESH("d");
	STALE("d");
	CHECK_SYS(rmdir("d/s"));
	FRESH("d");
	if (has(F_SYMLINK)) {
		STALE("d");
		CHECK_SYS(symlink("x", "d/l"));
		FRESH("d");
	}
	if (has(F_HARDLINK)) {
		make_file("h", 0644, "h");
		STALE("d");
		CHECK_SYS(link("h", "d/h"));
		FRESH("d");
	}
#undef STALE
#undef FRESH
}

/* ------------------------------------------------------------------------ */
/* mkdir, rmdir, unlink                                                     */
/* ------------------------------------------------------------------------ */

static void test_mkdir_rmdir_errors(void)
{
	struct stat st;

	CHECK_SYS(mkdir("d", 0777));
	st = xstat("d");
	CHECK(S_ISDIR(st.st_mode));
	CHECK_MODE(st.st_mode & 07777, 0755);	/* umask 022 */
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(st.st_uid, geteuid());
	CHECK_EQ(xstat(".").st_nlink, 3);

	CHECK_ERRNO(mkdir("d", 0755), EEXIST);
	make_file("f", 0644, "x");
	CHECK_ERRNO(mkdir("f", 0755), EEXIST);
	CHECK_ERRNO(mkdir("f/x", 0755), ENOTDIR);
	CHECK_ERRNO(mkdir("missing/x", 0755), ENOENT);

	CHECK_SYS(mkdir("d/sub", 0700));
	CHECK_MODE(xstat("d/sub").st_mode & 07777, 0700);
	CHECK_EQ(xstat("d").st_nlink, 3);
	CHECK_ERRNO2(rmdir("d"), ENOTEMPTY, EEXIST);
	CHECK_ERRNO(rmdir("f"), ENOTDIR);
	CHECK_ERRNO(rmdir("missing"), ENOENT);
	CHECK_ERRNO(rmdir("d/."), EINVAL);
	CHECK_ERRNO2(rmdir("d/sub/.."), ENOTEMPTY, EEXIST);
	CHECK_SYS(rmdir("d/sub"));
	CHECK_EQ(xstat("d").st_nlink, 2);
	CHECK(!exists("d/sub"));

	/* A regular file keeps a directory non-empty too. */
	make_file("d/file", 0644, "x");
	CHECK_ERRNO2(rmdir("d"), ENOTEMPTY, EEXIST);
	CHECK_SYS(unlink("d/file"));
	CHECK_SYS(rmdir("d"));
	CHECK(!exists("d"));
	CHECK_EQ(xstat(".").st_nlink, 2);

	/* A directory can be recreated under its old name. */
	CHECK_SYS(mkdir("d", 0755));
	CHECK_EQ(xstat("d").st_nlink, 2);

	CHECK_SYS(mkdir("s", 01777));
	CHECK_MODE(xstat("s").st_mode & 07777, 01755);
}

static void test_rmdir_cwd_then_create_fails(void)
{
	struct stat st;
	int fd;

	CHECK_SYS(mkdir("d", 0755));
	CHECK_SYS(chdir("d"));
	CHECK_SYS(rmdir("../d"));
	/* The working directory is dead: nothing may be created in it. */
	CHECK_ERRNO(open("x", O_CREAT | O_WRONLY, 0644), ENOENT);
	CHECK_ERRNO(mkdir("y", 0755), ENOENT);
	CHECK_SYS(stat(".", &st));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_SYS(chdir(".."));
	CHECK(!exists("d"));

	/* Same through an open directory fd. */
	CHECK_SYS(mkdir("e", 0755));
	fd = CHECK_SYS(open("e", O_RDONLY | O_DIRECTORY));
	CHECK_SYS(rmdir("e"));
	st = xfstat(fd);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_ERRNO(openat(fd, "x", O_CREAT | O_WRONLY, 0644), ENOENT);
	char buf[512];
	CHECK_ERRNO(sys_getdents64(fd, buf, sizeof(buf)), ENOENT);
	CHECK_SYS(close(fd));
}

static void test_unlink(void)
{
	make_file("f", 0644, "x");
	CHECK_SYS(unlink("f"));
	CHECK(!exists("f"));
	CHECK_ERRNO(unlink("f"), ENOENT);
	CHECK_ERRNO(open("f", O_RDONLY), ENOENT);

	CHECK_SYS(mkdir("d", 0755));
	CHECK_ERRNO2(unlink("d"), EISDIR, EPERM);
	CHECK(exists("d"));
	make_file("g", 0644, "x");
	CHECK_ERRNO(unlink("g/x"), ENOTDIR);
	CHECK_ERRNO(unlink("missing/x"), ENOENT);

	/* A name freed by unlink can be reused at once for a new file. */
	make_file("g2", 0644, "old");
	CHECK_SYS(unlink("g2"));
	make_file("g2", 0644, "new");
	CHECK_FILE("g2", "new");

	if (has(F_SYMLINK)) {
		CHECK_SYS(symlink("g", "l"));
		CHECK_SYS(unlink("l"));
		CHECK(!exists("l"));
		CHECK_FILE("g", "x");
	}
}

/* ------------------------------------------------------------------------ */
/* rename, renameat2                                                        */
/* ------------------------------------------------------------------------ */

static void test_rename_file(void)
{
	struct stat st;
	ino_t ino;

	make_file("a", 0640, "content of a");
	ino = xstat("a").st_ino;
	CHECK_SYS(rename("a", "b"));
	CHECK(!exists("a"));
	st = xstat("b");
	CHECK_EQ(st.st_ino, ino);
	CHECK_MODE(st.st_mode & 07777, 0640);
	CHECK_FILE("b", "content of a");

	CHECK_SYS(mkdir("d", 0755));
	CHECK_SYS(rename("b", "d/c"));
	CHECK(!exists("b"));
	CHECK_EQ(xstat("d/c").st_ino, ino);
	CHECK_FILE("d/c", "content of a");
	CHECK_SYS(rename("d/c", "back"));
	CHECK_FILE("back", "content of a");

	CHECK_ERRNO(rename("missing", "x"), ENOENT);
	CHECK_ERRNO(rename("back", "nodir/x"), ENOENT);
	CHECK_ERRNO(rename("back/x", "y"), ENOTDIR);
	CHECK_FILE("back", "content of a");
}

static void test_rename_replaces_file(void)
{
	char buf[16];
	ino_t ino;
	int fd;

	make_file("a", 0644, "AAA");
	make_file("b", 0644, "BBBB");
	ino = xstat("a").st_ino;
	fd = CHECK_SYS(open("b", O_RDONLY));
	CHECK_SYS(rename("a", "b"));
	CHECK(!exists("a"));
	CHECK_EQ(xstat("b").st_ino, ino);
	CHECK_FILE("b", "AAA");
	/* The replaced inode lives on for whoever has it open. */
	CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 4);
	CHECK_MEM(buf, "BBBB", 4);
	CHECK_EQ(xfstat(fd).st_nlink, 0);
	CHECK_SYS(close(fd));
}

static void test_rename_replaces_empty_dir(void)
{
	CHECK_SYS(mkdir("d1", 0755));
	CHECK_SYS(mkdir("d2", 0755));
	make_file("d1/file", 0644, "in d1");
	CHECK_EQ(xstat(".").st_nlink, 4);
	CHECK_SYS(rename("d1", "d2"));
	CHECK(!exists("d1"));
	CHECK_FILE("d2/file", "in d1");
	CHECK_EQ(xstat(".").st_nlink, 3);
	CHECK_EQ(xstat("d2").st_nlink, 2);
}

static void test_rename_dir_errors(void)
{
	CHECK_SYS(mkdir("d1", 0755));
	CHECK_SYS(mkdir("d2", 0755));
	CHECK_SYS(mkdir("d1/sub", 0755));
	make_file("d2/y", 0644, "y");
	make_file("f", 0644, "f");

	CHECK_ERRNO2(rename("d1", "d2"), ENOTEMPTY, EEXIST);
	CHECK_ERRNO(rename("f", "d1"), EISDIR);
	CHECK_ERRNO(rename("d1", "f"), ENOTDIR);
	CHECK_ERRNO(rename("d1", "d1/sub/inside"), EINVAL);
	CHECK_ERRNO(rename("d1", "d1/new"), EINVAL);
	CHECK_ERRNO2(rename("d1/sub", "d1/sub/x"), EINVAL, ENOENT);
	CHECK_ERRNO2(rename("d1/.", "z"), EINVAL, EBUSY);

	/* Nothing moved. */
	CHECK(S_ISDIR(xstat("d1/sub").st_mode));
	CHECK_FILE("d2/y", "y");
	CHECK_FILE("f", "f");
	CHECK_EQ(xstat("d1").st_nlink, 3);
}

static void test_rename_same_file_is_noop(void)
{
	ino_t ino;

	make_file("a", 0644, "same");
	ino = xstat("a").st_ino;
	CHECK_SYS(rename("a", "a"));
	CHECK_EQ(xstat("a").st_ino, ino);
	CHECK_FILE("a", "same");
	CHECK_SYS(mkdir("d", 0755));
	CHECK_SYS(rename("d", "d"));
	CHECK(S_ISDIR(xstat("d").st_mode));
	if (has(F_HARDLINK)) {
		/* Two links to one inode: rename does nothing, both stay. */
		CHECK_SYS(link("a", "b"));
		CHECK_SYS(rename("a", "b"));
		CHECK(exists("a"));
		CHECK(exists("b"));
		CHECK_EQ(xstat("a").st_nlink, 2);
		CHECK_FILE("b", "same");
	}
}

static void test_rename_dir_across_parents(void)
{
	struct stat st;
	char buf[8];
	int fd;

	CHECK_SYS(mkdir("p1", 0755));
	CHECK_SYS(mkdir("p2", 0755));
	CHECK_SYS(mkdir("p1/c", 0755));
	make_file("p1/c/f", 0644, "inner");
	fd = CHECK_SYS(open("p1/c/f", O_RDWR));
	CHECK_EQ(xstat("p1").st_nlink, 3);
	CHECK_EQ(xstat("p2").st_nlink, 2);

	CHECK_SYS(rename("p1/c", "p2/c"));
	CHECK(!exists("p1/c"));
	CHECK_EQ(xstat("p1").st_nlink, 2);
	CHECK_EQ(xstat("p2").st_nlink, 3);
	/* ".." of the moved directory is its new parent. */
	st = xstat("p2/c/..");
	CHECK_EQ(st.st_ino, xstat("p2").st_ino);
	CHECK_FILE("p2/c/f", "inner");
	/* An fd opened through the old path still reaches the file. */
	pwrite_all(fd, "INNER", 5, 0);
	CHECK_FILE("p2/c/f", "INNER");
	CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 5);
	CHECK_SYS(close(fd));
}

static void test_rename_open_file(void)
{
	char buf[16];
	int fd;

	make_file("a", 0644, "abc");
	fd = CHECK_SYS(open("a", O_RDWR));
	CHECK_SYS(rename("a", "b"));
	CHECK_EQ(xfstat(fd).st_nlink, 1);
	CHECK_EQ(xfstat(fd).st_ino, xstat("b").st_ino);
	pwrite_all(fd, "def", 3, 3);
	CHECK_FILE("b", "abcdef");
	CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 6);
	CHECK_SYS(close(fd));
}

static void test_rename_noreplace(void)
{
	make_file("a", 0644, "a");
	make_file("b", 0644, "b");
	CHECK_ERRNO(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE), EEXIST);
	CHECK_FILE("a", "a");
	CHECK_FILE("b", "b");
	CHECK_SYS(mkdir("d", 0755));
	CHECK_ERRNO(renameat2(AT_FDCWD, "a", AT_FDCWD, "d", RENAME_NOREPLACE), EEXIST);
	CHECK_SYS(renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE));
	CHECK(!exists("a"));
	CHECK_FILE("c", "a");
	CHECK_ERRNO(renameat2(AT_FDCWD, "missing", AT_FDCWD, "e", RENAME_NOREPLACE), ENOENT);
	CHECK_ERRNO(renameat2(AT_FDCWD, "b", AT_FDCWD, "c",
			      RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
}

static void test_rename_exchange(void)
{
	ino_t fino, dino;

	make_file("f", 0644, "file data");
	CHECK_SYS(mkdir("d", 0755));
	make_file("d/inner", 0644, "inner data");
	fino = xstat("f").st_ino;
	dino = xstat("d").st_ino;

	CHECK_SYS(renameat2(AT_FDCWD, "f", AT_FDCWD, "d", RENAME_EXCHANGE));
	CHECK(S_ISDIR(xstat("f").st_mode));
	CHECK(S_ISREG(xstat("d").st_mode));
	CHECK_EQ(xstat("f").st_ino, dino);
	CHECK_EQ(xstat("d").st_ino, fino);
	CHECK_FILE("f/inner", "inner data");
	CHECK_FILE("d", "file data");
	CHECK_ERRNO(stat("d/inner", &(struct stat){ 0 }), ENOTDIR);

	/* Across parents: ".." and the link counts follow the directory. */
	CHECK_SYS(mkdir("s", 0755));
	make_file("s/x", 0644, "x data");
	CHECK_EQ(xstat(".").st_nlink, 4);	/* ".", "..", f, s */
	CHECK_SYS(renameat2(AT_FDCWD, "s/x", AT_FDCWD, "f", RENAME_EXCHANGE));
	CHECK_FILE("f", "x data");
	CHECK_FILE("s/x/inner", "inner data");
	CHECK_EQ(xstat("s/x/..").st_ino, xstat("s").st_ino);
	CHECK_EQ(xstat(".").st_nlink, 3);
	CHECK_EQ(xstat("s").st_nlink, 3);

	/* Two files swap contents by name. */
	make_file("a", 0644, "AAA");
	make_file("b", 0644, "BB");
	CHECK_SYS(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_EXCHANGE));
	CHECK_FILE("a", "BB");
	CHECK_FILE("b", "AAA");

	CHECK_ERRNO(renameat2(AT_FDCWD, "a", AT_FDCWD, "missing", RENAME_EXCHANGE), ENOENT);
	CHECK_ERRNO(renameat2(AT_FDCWD, "missing", AT_FDCWD, "a", RENAME_EXCHANGE), ENOENT);
	/* A directory cannot be swapped into itself. */
	CHECK_ERRNO(renameat2(AT_FDCWD, "s", AT_FDCWD, "s/x/inner", RENAME_EXCHANGE), EINVAL);
	CHECK_FILE("a", "BB");
}

/* ------------------------------------------------------------------------ */
/* link, symlink                                                            */
/* ------------------------------------------------------------------------ */

static void test_link_counts_and_shared_data(void)
{
	struct stat a, b;
	int fd;

	make_file("a", 0644, "hello");
	CHECK_SYS(link("a", "b"));
	a = xstat("a");
	b = xstat("b");
	CHECK_EQ(a.st_ino, b.st_ino);
	CHECK_EQ(a.st_nlink, 2);
	CHECK_EQ(b.st_nlink, 2);

	fd = CHECK_SYS(open("b", O_WRONLY | O_APPEND));
	write_all(fd, " world", 6);
	CHECK_SYS(close(fd));
	CHECK_FILE("a", "hello world");
	CHECK_EQ(xstat("a").st_size, 11);

	CHECK_SYS(mkdir("d", 0755));
	CHECK_SYS(link("a", "d/c"));
	CHECK_EQ(xstat("b").st_nlink, 3);
	CHECK_ERRNO(link("a", "b"), EEXIST);
	CHECK_ERRNO(link("a", "d"), EEXIST);
	CHECK_ERRNO(link("d", "d2"), EPERM);
	CHECK_ERRNO(link("missing", "m"), ENOENT);
	CHECK_ERRNO(link("a", "nodir/x"), ENOENT);

	/* Removing a name keeps the data reachable through the others. */
	CHECK_SYS(unlink("a"));
	CHECK_EQ(xstat("b").st_nlink, 2);
	CHECK_FILE("b", "hello world");
	CHECK_FILE("d/c", "hello world");
	CHECK_SYS(unlink("d/c"));
	CHECK_EQ(xstat("b").st_nlink, 1);
	CHECK_FILE("b", "hello world");

	if (has(F_SYMLINK)) {
		/* linkat follows a symlink only when asked to. */
		CHECK_SYS(symlink("b", "l"));
		CHECK_SYS(linkat(AT_FDCWD, "l", AT_FDCWD, "via_follow", AT_SYMLINK_FOLLOW));
		CHECK_EQ(xlstat("via_follow").st_ino, xstat("b").st_ino);
		CHECK_SYS(linkat(AT_FDCWD, "l", AT_FDCWD, "link_to_link", 0));
		CHECK(S_ISLNK(xlstat("link_to_link").st_mode));
		CHECK_EQ(xlstat("link_to_link").st_ino, xlstat("l").st_ino);
		CHECK_EQ(xlstat("l").st_nlink, 2);
	}
}

static void test_symlink_readlink(void)
{
	char buf[256];
	struct stat st;
	int fd;

	CHECK_SYS(symlink("target/path", "l"));
	CHECK_EQ(readlink("l", buf, sizeof(buf)), 11);
	CHECK_MEM(buf, "target/path", 11);
	st = xlstat("l");
	CHECK(S_ISLNK(st.st_mode));
	CHECK_EQ(st.st_size, 11);
	CHECK_EQ(st.st_nlink, 1);
	/* Dangling: stat follows and fails, lstat does not. */
	CHECK_ERRNO(stat("l", &st), ENOENT);
	CHECK_ERRNO(symlink("x", "l"), EEXIST);
	/* A short buffer gets a truncated, unterminated target. */
	memset(buf, '#', sizeof(buf));
	CHECK_EQ(readlink("l", buf, 4), 4);
	CHECK_MEM(buf, "targ#", 5);
	make_file("f", 0644, "file");
	CHECK_ERRNO(readlink("f", buf, sizeof(buf)), EINVAL);
	CHECK_ERRNO(readlink("missing", buf, sizeof(buf)), ENOENT);

	/* O_CREAT through a dangling link creates its target. */
	CHECK_SYS(symlink("newtarget", "l2"));
	fd = CHECK_SYS(open("l2", O_CREAT | O_WRONLY, 0644));
	write_all(fd, "via link", 8);
	CHECK_SYS(close(fd));
	CHECK(S_ISREG(xlstat("newtarget").st_mode));
	CHECK_FILE("newtarget", "via link");
	CHECK_ERRNO(open("l2", O_RDONLY | O_NOFOLLOW), ELOOP);

	/* Paths walk through links to directories, relative to the link. */
	CHECK_SYS(mkdir("d", 0755));
	make_file("d/inside", 0644, "inside");
	CHECK_SYS(symlink("d", "ld"));
	CHECK_FILE("ld/inside", "inside");
	CHECK_SYS(symlink("../f", "d/up"));
	CHECK_FILE("d/up", "file");
	CHECK_FILE("ld/up", "file");
	fd = CHECK_SYS(open("ld", O_RDONLY | O_DIRECTORY));
	CHECK_SYS(close(fd));

	CHECK_SYS(symlink("loop_b", "loop_a"));
	CHECK_SYS(symlink("loop_a", "loop_b"));
	CHECK_ERRNO(open("loop_a", O_RDONLY), ELOOP);
	CHECK_ERRNO(symlink("", "empty"), ENOENT);
}

static void test_symlink_long_target(void)
{
	static char target[4097], buf[4200];
	struct stat st;

	/* Path components of a realistic shape, not one long name. */
	for (size_t i = 0; i < 4095; i++)
		target[i] = (i % 64 == 63) ? '/' : (char)('a' + i % 26);
	target[4000] = 0;
	CHECK_SYS(symlink(target, "l4000"));
	CHECK_EQ(readlink("l4000", buf, sizeof(buf)), 4000);
	CHECK_MEM(buf, target, 4000);
	st = xlstat("l4000");
	CHECK_EQ(st.st_size, 4000);

	target[4000] = 'x';
	target[4095] = 0;	/* the longest: PATH_MAX with its NUL */
	CHECK_SYS(symlink(target, "l4095"));
	CHECK_EQ(readlink("l4095", buf, sizeof(buf)), 4095);
	CHECK_MEM(buf, target, 4095);
	CHECK_EQ(xlstat("l4095").st_size, 4095);

	target[4095] = 'y';
	target[4096] = 0;
	CHECK_ERRNO(symlink(target, "l4096"), ENAMETOOLONG);
	CHECK(!exists("l4096"));
}

/* ------------------------------------------------------------------------ */
/* mknod                                                                    */
/* ------------------------------------------------------------------------ */

static void test_mknod_fifo_socket_regular(void)
{
	struct stat st;
	char buf[8];
	int fd;

	CHECK_SYS(mkfifo("p", 0644));
	st = xstat("p");
	CHECK(S_ISFIFO(st.st_mode));
	CHECK_MODE(st.st_mode & 07777, 0644);
	CHECK_EQ(st.st_size, 0);
	/* Data goes through the kernel pipe, not the filesystem. */
	fd = CHECK_SYS(open("p", O_RDWR | O_NONBLOCK));
	CHECK_EQ(write(fd, "ping", 4), 4);
	CHECK_EQ(read(fd, buf, sizeof(buf)), 4);
	CHECK_MEM(buf, "ping", 4);
	CHECK_ERRNO(read(fd, buf, sizeof(buf)), EAGAIN);
	CHECK_SYS(close(fd));
	CHECK_EQ(xstat("p").st_size, 0);
	CHECK_ERRNO(mkfifo("p", 0644), EEXIST);

	CHECK_SYS(mknod("r", S_IFREG | 0600, 0));
	st = xstat("r");
	CHECK(S_ISREG(st.st_mode));
	CHECK_MODE(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_size, 0);
	CHECK_SYS(mknod("s", S_IFSOCK | 0644, 0));
	CHECK(S_ISSOCK(xstat("s").st_mode));
	CHECK_SYS(unlink("p"));
	CHECK_SYS(unlink("s"));
	CHECK(!exists("p"));
}

static void test_mknod_devices(void)
{
	struct stat st;

	require_root();
	CHECK_SYS(mknod("null", S_IFCHR | 0666, makedev(1, 3)));
	st = xstat("null");
	CHECK(S_ISCHR(st.st_mode));
	CHECK_MODE(st.st_mode & 07777, 0644);
	CHECK_EQ(major(st.st_rdev), 1);
	CHECK_EQ(minor(st.st_rdev), 3);
	CHECK_SYS(mknod("blk", S_IFBLK | 0600, makedev(259, 70000)));
	st = xstat("blk");
	CHECK(S_ISBLK(st.st_mode));
	CHECK_EQ(major(st.st_rdev), 259);
	CHECK_EQ(minor(st.st_rdev), 70000);
}

/* ------------------------------------------------------------------------ */
/* Open but unlinked, O_TMPFILE                                             */
/* ------------------------------------------------------------------------ */

static void test_unlinked_open_file_keeps_working(void)
{
	char buf[32];
	struct stat st;
	ino_t ino;
	int fd, fd2, nfd;

	fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));
	fd2 = CHECK_SYS(open("f", O_RDONLY));
	write_all(fd, "first", 5);
	ino = xfstat(fd).st_ino;
	CHECK_SYS(unlink("f"));
	CHECK(!exists("f"));

	st = xfstat(fd);
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(st.st_size, 5);
	CHECK_EQ(st.st_ino, ino);
	pwrite_all(fd, "second", 6, 5);
	CHECK_EQ(pread_full(fd, buf, sizeof(buf), 0), 11);
	CHECK_MEM(buf, "firstsecond", 11);
	CHECK_EQ(pread_full(fd2, buf, sizeof(buf), 0), 11);
	CHECK_SYS(fchmod(fd, 0600));
	CHECK_MODE(xfstat(fd).st_mode & 07777, 0600);
	CHECK_SYS(ftruncate(fd, 3));
	CHECK_EQ(xfstat(fd2).st_size, 3);

	/* A new file under the old name is a different file. */
	nfd = CHECK_SYS(open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	CHECK(xfstat(nfd).st_ino != ino);
	write_all(nfd, "new", 3);
	CHECK_EQ(pread_full(fd, buf, sizeof(buf), 0), 3);
	CHECK_MEM(buf, "fir", 3);

	/* Closing one fd of the unlinked file leaves the other working. */
	CHECK_SYS(close(fd));
	CHECK_EQ(pread_full(fd2, buf, sizeof(buf), 0), 3);
	CHECK_MEM(buf, "fir", 3);
	CHECK_SYS(fsync(fd2));
	CHECK_SYS(close(fd2));
	CHECK_SYS(close(nfd));
	CHECK_FILE("f", "new");
}

static void test_tmpfile_linkat(void)
{
	char proc[64], buf[16];
	struct stat st, lst;
	int fd, fd2;

	fd = open(".", O_TMPFILE | O_RDWR, 0640);
	if (fd < 0)
		fail_at(__FILE__, __LINE__, errno, "open(\".\", O_TMPFILE|O_RDWR)");
	write_all(fd, "tmpdata", 7);
	st = xfstat(fd);
	CHECK(S_ISREG(st.st_mode));
	CHECK_MODE(st.st_mode & 07777, 0640);
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(st.st_size, 7);
	CHECK_EQ(st.st_uid, geteuid());
	/* No name appears until it is linked. */
	CHECK_EQ(dir_count(".", 100), 2);

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	CHECK_SYS(linkat(AT_FDCWD, proc, AT_FDCWD, "named", AT_SYMLINK_FOLLOW));
	lst = xstat("named");
	CHECK_EQ(lst.st_ino, st.st_ino);
	CHECK_EQ(lst.st_nlink, 1);
	CHECK_EQ(xfstat(fd).st_nlink, 1);
	CHECK_FILE("named", "tmpdata");
	pwrite_all(fd, "TMP", 3, 0);
	CHECK_FILE("named", "TMPdata");
	CHECK_SYS(close(fd));

	/* O_EXCL makes the file impossible to link. */
	fd2 = CHECK_SYS(open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600));
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd2);
	CHECK_ERRNO(linkat(AT_FDCWD, proc, AT_FDCWD, "never", AT_SYMLINK_FOLLOW), ENOENT);
	CHECK(!exists("never"));
	write_all(fd2, "x", 1);
	CHECK_EQ(pread(fd2, buf, sizeof(buf), 0), 1);
	CHECK_SYS(close(fd2));

	CHECK_ERRNO(open("named", O_TMPFILE | O_RDWR, 0600), ENOTDIR);
	CHECK_ERRNO(open(".", O_TMPFILE | O_RDONLY, 0600), EINVAL);
}

/* ------------------------------------------------------------------------ */
/* readdir                                                                  */
/* ------------------------------------------------------------------------ */

struct expect_entry {
	const char *name;
	unsigned char type;
	ino_t ino;
	int seen;
};

static void check_listing(struct expect_entry *e, int n, const char *how, int pass)
{
	for (int i = 0; i < n; i++)
		if (e[i].seen != 1)
			FAILF("%s pass %d: \"%.40s\" seen %d times", how, pass, e[i].name, e[i].seen);
}

static struct expect_entry *find_entry(struct expect_entry *e, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return &e[i];
	return NULL;
}

static void see_entry(struct expect_entry *e, int n, const char *name,
		      unsigned char type, uint64_t ino, const char *how)
{
	struct expect_entry *x = find_entry(e, n, name);

	if (!x)
		FAILF("%s: unexpected entry \"%.60s\"", how, name);
	x->seen++;
	if (x->seen > 1)
		FAILF("%s: \"%.60s\" returned twice", how, name);
	if (type != x->type)
		FAILF("%s: \"%.60s\" has d_type %u, expected %u", how, name, type, x->type);
	/* ".." may be a mount point's parent; its d_ino is not checked. */
	if (strcmp(name, "..") && ino != (uint64_t)x->ino)
		FAILF("%s: \"%.60s\" has d_ino %llu, stat says %llu", how, name,
		      (unsigned long long)ino, (unsigned long long)x->ino);
}

static void test_readdir_names_types_inodes(void)
{
	static const char *odd[] = {
		"a b", "tab\tname", "\xc3\xbc" "n" "\xc3\xaf" "c" "\xc3\xb6" "de", "-dash", ".hidden",
		"...", "x=y", "new\nline", "#hash", "%percent", "quote'\"", "back\\slash",
	};
	char longname[256];
	struct expect_entry e[128];
	int n = 0;
	char (*names)[16] = talloc(80 * 16);

	memset(longname, 'L', 255);
	longname[255] = 0;
#define ADD(nm, t) do { e[n] = (struct expect_entry){ (nm), (t), 0, 0 }; n++; } while (0)
	ADD(".", DT_DIR);
	ADD("..", DT_DIR);
	for (int i = 0; i < 50; i++) {
		snprintf(names[i], 16, "f%d", i);
		make_file(names[i], 0644, "");
		ADD(names[i], DT_REG);
	}
	for (int i = 0; i < 10; i++) {
		snprintf(names[50 + i], 16, "d%d", i);
		CHECK_SYS(mkdir(names[50 + i], 0755));
		ADD(names[50 + i], DT_DIR);
	}
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		make_file(odd[i], 0644, "");
		ADD(odd[i], DT_REG);
	}
	make_file(longname, 0644, "");
	ADD(longname, DT_REG);
	if (has(F_SYMLINK)) {
		CHECK_SYS(symlink("f0", "link"));
		ADD("link", DT_LNK);
	}
	if (has(F_MKNOD)) {
		CHECK_SYS(mkfifo("fifo", 0644));
		ADD("fifo", DT_FIFO);
	}
#undef ADD
	for (int i = 0; i < n; i++)
		e[i].ino = xlstat(e[i].name).st_ino;

	/* readdir(3), twice via rewinddir. */
	DIR *d = CHECK_PTR(opendir("."));
	for (int pass = 0; pass < 2; pass++) {
		struct dirent *de;

		for (int i = 0; i < n; i++)
			e[i].seen = 0;
		errno = 0;
		while ((de = readdir(d)))
			see_entry(e, n, de->d_name, de->d_type, de->d_ino, "readdir");
		if (errno)
			fail_at(__FILE__, __LINE__, errno, "readdir");
		check_listing(e, n, "readdir", pass);
		rewinddir(d);
	}
	closedir(d);

	/*
	 * getdents64 with a buffer that holds barely one long entry, so the
	 * listing takes many calls, each resuming from the last offset.
	 */
	int fd = CHECK_SYS(open(".", O_RDONLY | O_DIRECTORY));
	char *buf = talloc(300);
	long got;
	int calls = 0;

	for (int i = 0; i < n; i++)
		e[i].seen = 0;
	while ((got = sys_getdents64(fd, buf, 300)) > 0) {
		calls++;
		for (long off = 0; off < got;) {
			struct dirent64_k *de = (struct dirent64_k *)(buf + off);

			see_entry(e, n, de->d_name, de->d_type, de->d_ino, "getdents64(300)");
			off += de->d_reclen;
		}
	}
	if (got < 0)
		fail_at(__FILE__, __LINE__, errno, "getdents64");
	check_listing(e, n, "getdents64(300)", 0);
	CHECK_GE(calls, 4);
	/* A buffer too small for the next entry is an error, not an end. */
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_ERRNO(sys_getdents64(fd, buf, 16), EINVAL);
	CHECK_SYS(close(fd));
}

enum { RD_KEEP = 300, RD_DEL = 300, RD_NEW = 300 };

/* Names keep%d / del%d / new%d; returns the kind (0 keep, 1 del, 2 new). */
static int parse_churn_name(const char *name, int *idx)
{
	static const char *prefix[] = { "keep", "del", "new" };

	for (int k = 0; k < 3; k++) {
		size_t l = strlen(prefix[k]);
		if (!strncmp(name, prefix[k], l)) {
			char *end;
			long v = strtol(name + l, &end, 10);
			if (*end || end == name + l || v < 0 || v >= 300)
				return -1;
			*idx = (int)v;
			return k;
		}
	}
	return -1;
}

static void test_readdir_while_modifying(void)
{
	char name[32], *buf = talloc(1024);
	int seen[3][300] = { { 0 } }, created = 0, deleted = 0, dots = 0;
	int fd;
	long got;

	for (int i = 0; i < RD_KEEP; i++) {
		snprintf(name, sizeof(name), "keep%d", i);
		make_file(name, 0644, "");
		snprintf(name, sizeof(name), "del%d", i);
		make_file(name, 0644, "");
	}
	fd = CHECK_SYS(open(".", O_RDONLY | O_DIRECTORY));
	/*
	 * Between getdents calls, remove some entries and add new ones. Entries
	 * present throughout must come exactly once and no name may come twice.
	 * Whether an entry added or removed after opendir shows up is left open
	 * by POSIX (ext4 returns removed ones from its per-fd hash cache).
	 */
	while ((got = sys_getdents64(fd, buf, 1024)) > 0) {
		for (long off = 0; off < got;) {
			struct dirent64_k *de = (struct dirent64_k *)(buf + off);
			int idx = 0, k = parse_churn_name(de->d_name, &idx);

			off += de->d_reclen;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
				dots++;
				continue;
			}
			if (k < 0)
				FAILF("unexpected entry \"%.60s\"", de->d_name);
			if (++seen[k][idx] > 1)
				FAILF("\"%s\" returned twice", de->d_name);
		}
		for (int j = 0; j < 20 && deleted < RD_DEL; j++, deleted++) {
			/* Spread removals over the whole directory order. */
			int v = (deleted * 7) % RD_DEL;
			snprintf(name, sizeof(name), "del%d", v);
			CHECK_SYS(unlink(name));
		}
		for (int j = 0; j < 20 && created < RD_NEW; j++, created++) {
			snprintf(name, sizeof(name), "new%d", created);
			make_file(name, 0644, "");
		}
	}
	if (got < 0)
		fail_at(__FILE__, __LINE__, errno, "getdents64");
	CHECK_EQ(dots, 2);
	for (int i = 0; i < RD_KEEP; i++)
		if (seen[0][i] != 1)
			FAILF("keep%d seen %d times", i, seen[0][i]);
	CHECK_SYS(close(fd));
	/* Enough calls happened for the churn to matter. */
	CHECK_GE(deleted, 100);
}

static void test_readdir_seekdir_telldir(void)
{
	enum { N = 200 };
	char name[32], (*order)[32] = talloc(N * 32);
	long *pos = talloc(N * sizeof(long));
	int count[N + 100], k, n = 0;
	struct dirent *de;
	DIR *d;

	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		make_file(name, 0644, "");
	}
	d = CHECK_PTR(opendir("."));
	for (;;) {
		long p = telldir(d);

		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (de->d_name[0] == '.')
			continue;
		CHECK_LT(n, N);
		CHECK_LT(strlen(de->d_name), 32);
		pos[n] = p;
		strcpy(order[n], de->d_name);
		n++;
	}
	CHECK_EQ(n, N);

	/* Without changes, seekdir resumes at exactly the same entry. */
	static const int at[] = { 0, 1, 37, 150, N - 1 };
	for (size_t a = 0; a < sizeof(at) / sizeof(at[0]); a++) {
		k = at[a];
		seekdir(d, pos[k]);
		for (int i = k; i < N;) {
			de = readdir(d);
			if (!de)
				FAILF("after seekdir to entry %d: listing ended at %d of %d", k, i, N);
			if (de->d_name[0] == '.')
				continue;
			if (strcmp(de->d_name, order[i]))
				FAILF("after seekdir to entry %d: entry %d is \"%s\", was \"%s\"",
				      k, i, de->d_name, order[i]);
			i++;
		}
	}

	/*
	 * With changes: remove entries on both sides of a saved position and
	 * add new ones. Seeking back must not repeat what came before it, and
	 * must return every surviving later entry once; removed and added ones
	 * at most once.
	 */
	k = 80;
	for (int i = 0; i < N; i += 5) {
		if (i == k)
			continue;
		CHECK_SYS(unlink(order[i]));
	}
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "x%d", i);
		make_file(name, 0644, "");
	}
	memset(count, 0, sizeof(count));
	seekdir(d, pos[k]);
	errno = 0;
	while ((de = readdir(d))) {
		int idx;

		if (de->d_name[0] == '.')
			continue;
		if (de->d_name[0] == 'x') {
			idx = atoi(de->d_name + 1);
			if (++count[N + idx] > 1)
				FAILF("new entry \"%s\" returned twice", de->d_name);
			continue;
		}
		for (idx = 0; idx < N && strcmp(order[idx], de->d_name); idx++)
			;
		if (idx == N)
			FAILF("unexpected entry \"%s\"", de->d_name);
		if (idx < k)
			FAILF("\"%s\" (entry %d) returned again after seekdir to entry %d",
			      de->d_name, idx, k);
		if (++count[idx] > 1)
			FAILF("\"%s\" returned twice", de->d_name);
	}
	if (errno)
		fail_at(__FILE__, __LINE__, errno, "readdir");
	for (int i = k; i < N; i++)
		if ((i % 5 || i == k) && count[i] != 1)
			FAILF("\"%s\" (entry %d) seen %d times after seekdir to entry %d",
			      order[i], i, count[i], k);
	closedir(d);
}

static void test_dir_10k_entries(void)
{
	enum { N = 10000 };
	unsigned char *seen = talloc(N);
	char name[32];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int dfd, n = 0, dots = 0;

	CHECK_SYS(mkdir("big", 0755));
	dfd = CHECK_SYS(open("big", O_RDONLY | O_DIRECTORY));
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-with-a-longer-name-%05d", i);
		int fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			fail_at(__FILE__, __LINE__, errno, "create %s", name);
		CHECK_SYS(close(fd));
	}
	d = CHECK_PTR(opendir("big"));
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
			dots++;
			continue;
		}
		int i;
		if (sscanf(de->d_name, "file-with-a-longer-name-%05d", &i) != 1 || i < 0 || i >= N)
			FAILF("unexpected entry \"%.60s\"", de->d_name);
		if (seen[i]++)
			FAILF("\"%s\" returned twice", de->d_name);
		CHECK_EQ(de->d_type, DT_REG);
		n++;
	}
	if (errno)
		fail_at(__FILE__, __LINE__, errno, "readdir");
	closedir(d);
	CHECK_EQ(dots, 2);
	CHECK_EQ(n, N);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-with-a-longer-name-%05d", i);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
			fail_at(__FILE__, __LINE__, errno, "stat %s", name);
		if (!S_ISREG(st.st_mode) || st.st_size != 0)
			FAILF("%s: mode 0%o size %lld", name, st.st_mode, (long long)st.st_size);
	}
	CHECK_ERRNO(fstatat(dfd, "file-with-a-longer-name-10000", &st, 0), ENOENT);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "file-with-a-longer-name-%05d", i);
		if (unlinkat(dfd, name, 0))
			fail_at(__FILE__, __LINE__, errno, "unlink %s", name);
	}
	CHECK_EQ(dir_count("big", 100), 2);
	CHECK_SYS(close(dfd));
	CHECK_SYS(rmdir("big"));
}

/* ------------------------------------------------------------------------ */
/* Extended attributes, ACLs                                                */
/* ------------------------------------------------------------------------ */

/* Counts user.* names in a listxattr result; others may be the LSM's. */
static int count_user_xattrs(const char *list, ssize_t len, const char *want)
{
	int n = 0;

	for (ssize_t off = 0; off < len; off += (ssize_t)strlen(list + off) + 1)
		if (!strncmp(list + off, "user.", 5) && (!want || !strcmp(list + off, want)))
			n++;
	return n;
}

static void test_xattr_set_get_list_remove(void)
{
	char buf[4096], list[1024], bin[256], big[2000], longname[300];
	ssize_t len;
	int fd;

	make_file("f", 0644, "x");
	CHECK_ERRNO(getxattr("f", "user.a", buf, sizeof(buf)), ENODATA);
	CHECK_SYS(setxattr("f", "user.a", "value1", 6, 0));
	CHECK_EQ(getxattr("f", "user.a", buf, sizeof(buf)), 6);
	CHECK_MEM(buf, "value1", 6);
	/* Size query, then a buffer too small. */
	CHECK_EQ(getxattr("f", "user.a", NULL, 0), 6);
	CHECK_ERRNO(getxattr("f", "user.a", buf, 3), ERANGE);

	for (int i = 0; i < 256; i++)
		bin[i] = (char)i;
	CHECK_SYS(setxattr("f", "user.bin", bin, sizeof(bin), 0));
	CHECK_EQ(getxattr("f", "user.bin", buf, sizeof(buf)), 256);
	CHECK_MEM(buf, bin, 256);
	CHECK_SYS(setxattr("f", "user.empty", "", 0, 0));
	CHECK_EQ(getxattr("f", "user.empty", buf, sizeof(buf)), 0);
	pattern_fill(big, 0, sizeof(big), 9);
	CHECK_SYS(setxattr("f", "user.big", big, sizeof(big), 0));
	CHECK_EQ(getxattr("f", "user.big", buf, sizeof(buf)), (ssize_t)sizeof(big));
	CHECK_MEM(buf, big, sizeof(big));

	len = CHECK_SYS(listxattr("f", list, sizeof(list)));
	CHECK_EQ(count_user_xattrs(list, len, NULL), 4);
	CHECK_EQ(count_user_xattrs(list, len, "user.a"), 1);
	CHECK_EQ(count_user_xattrs(list, len, "user.bin"), 1);
	CHECK_EQ(count_user_xattrs(list, len, "user.empty"), 1);
	CHECK_EQ(list[len - 1], 0);
	CHECK_EQ(listxattr("f", NULL, 0), len);
	CHECK_ERRNO(listxattr("f", list, 1), ERANGE);

	CHECK_ERRNO(setxattr("f", "user.a", "v", 1, XATTR_CREATE), EEXIST);
	CHECK_ERRNO(setxattr("f", "user.none", "v", 1, XATTR_REPLACE), ENODATA);
	CHECK_ERRNO(getxattr("f", "user.none", NULL, 0), ENODATA);
	CHECK_SYS(setxattr("f", "user.a", "v2", 2, XATTR_REPLACE));
	CHECK_EQ(getxattr("f", "user.a", buf, sizeof(buf)), 2);
	CHECK_MEM(buf, "v2", 2);
	CHECK_SYS(setxattr("f", "user.c", "ccc", 3, XATTR_CREATE));
	CHECK_EQ(getxattr("f", "user.c", buf, sizeof(buf)), 3);

	CHECK_SYS(removexattr("f", "user.a"));
	CHECK_ERRNO(getxattr("f", "user.a", buf, sizeof(buf)), ENODATA);
	CHECK_ERRNO(removexattr("f", "user.a"), ENODATA);
	len = CHECK_SYS(listxattr("f", list, sizeof(list)));
	CHECK_EQ(count_user_xattrs(list, len, "user.a"), 0);
	CHECK_EQ(count_user_xattrs(list, len, NULL), 4);

	/* Through an fd, and on a directory. */
	fd = CHECK_SYS(open("f", O_RDONLY));
	CHECK_SYS(fsetxattr(fd, "user.fd", "by fd", 5, 0));
	CHECK_EQ(fgetxattr(fd, "user.fd", buf, sizeof(buf)), 5);
	CHECK_MEM(buf, "by fd", 5);
	CHECK_EQ(getxattr("f", "user.fd", buf, sizeof(buf)), 5);
	len = CHECK_SYS(flistxattr(fd, list, sizeof(list)));
	CHECK_EQ(count_user_xattrs(list, len, "user.fd"), 1);
	CHECK_SYS(fremovexattr(fd, "user.fd"));
	CHECK_ERRNO(fgetxattr(fd, "user.fd", buf, sizeof(buf)), ENODATA);
	CHECK_SYS(close(fd));
	CHECK_SYS(mkdir("d", 0755));
	CHECK_SYS(setxattr("d", "user.dir", "dv", 2, 0));
	CHECK_EQ(getxattr("d", "user.dir", buf, sizeof(buf)), 2);

	/* Attributes belong to the inode: they follow renames and links. */
	CHECK_SYS(rename("f", "g"));
	CHECK_EQ(getxattr("g", "user.c", buf, sizeof(buf)), 3);
	if (has(F_HARDLINK)) {
		CHECK_SYS(link("g", "h"));
		CHECK_SYS(setxattr("h", "user.via_h", "1", 1, 0));
		CHECK_EQ(getxattr("g", "user.via_h", buf, sizeof(buf)), 1);
	}
	if (has(F_SYMLINK)) {
		/* user.* is for regular files and directories only. */
		CHECK_SYS(symlink("g", "l"));
		CHECK_ERRNO(lsetxattr("l", "user.x", "1", 1, 0), EPERM);
		CHECK_ERRNO(lgetxattr("l", "user.c", buf, sizeof(buf)), ENODATA);
		CHECK_EQ(getxattr("l", "user.c", buf, sizeof(buf)), 3);
	}

	/* Limits the kernel enforces before the filesystem sees them. */
	memset(longname, 'n', sizeof(longname));
	memcpy(longname, "user.", 5);
	longname[256] = 0;
	CHECK_ERRNO(setxattr("g", longname, "v", 1, 0), ERANGE);
	char *huge = talloc(65537);
	CHECK_ERRNO(setxattr("g", "user.huge", huge, 65537, 0), E2BIG);
	CHECK_ERRNO(getxattr("missing", "user.a", buf, sizeof(buf)), ENOENT);
}

/* The kernel's posix_acl_xattr format (version 2). */
struct acl_entry_x {
	uint16_t tag, perm;
	uint32_t id;
};
enum { ACL_USER_OBJ_ = 1, ACL_USER_ = 2, ACL_GROUP_OBJ_ = 4, ACL_GROUP_ = 8,
       ACL_MASK_ = 0x10, ACL_OTHER_ = 0x20 };
#define ACL_NOID 0xffffffffu

static size_t acl_build(void *buf, const struct acl_entry_x *e, size_t n)
{
	uint32_t version = 2;

	memcpy(buf, &version, 4);
	memcpy((char *)buf + 4, e, n * sizeof(*e));
	return 4 + n * sizeof(*e);
}

static void child_acl_reader(void *arg)
{
	(void)arg;
	become(NOBODY, NOBODY, NULL, 0);
	int fd = CHECK_SYS(open("f", O_RDONLY));
	CHECK_SYS(close(fd));
	CHECK_ERRNO(open("f", O_WRONLY), EACCES);
	CHECK_SYS(access("f", R_OK));
	/* Through the default ACL the new file's group class is rw-. */
	fd = CHECK_SYS(open("d/new", O_RDWR));
	CHECK_SYS(close(fd));
	tell(g_chan, 'r');
	expect(g_chan, 'm');
	/* chmod 0600 shrank the mask, and with it the named user entry. */
	CHECK_ERRNO(open("f", O_RDONLY), EACCES);
}

static void child_acl_other(void *arg)
{
	(void)arg;
	become(NOBODY2, NOBODY2, NULL, 0);
	CHECK_ERRNO(open("f", O_RDONLY), EACCES);
}

static void test_acl_access_and_default(void)
{
	const struct acl_entry_x access_acl[] = {
		{ ACL_USER_OBJ_, 6, ACL_NOID }, { ACL_USER_, 4, NOBODY },
		{ ACL_GROUP_OBJ_, 0, ACL_NOID }, { ACL_MASK_, 4, ACL_NOID },
		{ ACL_OTHER_, 0, ACL_NOID },
	};
	const struct acl_entry_x default_acl[] = {
		{ ACL_USER_OBJ_, 7, ACL_NOID }, { ACL_USER_, 7, NOBODY },
		{ ACL_GROUP_OBJ_, 5, ACL_NOID }, { ACL_MASK_, 7, ACL_NOID },
		{ ACL_OTHER_, 0, ACL_NOID },
	};
	char buf[256], got[256];
	size_t len;
	struct child c;
	int fd;

	require_root();
	make_file("f", 0600, "acl");
	len = acl_build(buf, access_acl, 5);
	CHECK_SYS(setxattr("f", "system.posix_acl_access", buf, len, 0));
	/* The group bits of the mode show the mask. */
	CHECK_MODE(xstat("f").st_mode & 07777, 0640);
	CHECK_EQ(getxattr("f", "system.posix_acl_access", got, sizeof(got)), (ssize_t)len);
	CHECK_MEM(got, buf, len);

	CHECK_SYS(mkdir("d", 0755));
	CHECK_SYS(chmod("d", 0777));
	len = acl_build(buf, default_acl, 5);
	CHECK_SYS(setxattr("d", "system.posix_acl_default", buf, len, 0));
	/* A default ACL replaces the umask: 0666 & the ACL gives 0660. */
	umask(022);
	fd = CHECK_SYS(open("d/new", O_CREAT | O_RDWR, 0666));
	CHECK_SYS(close(fd));
	CHECK_MODE(xstat("d/new").st_mode & 07777, 0660);
	CHECK_GT(getxattr("d/new", "system.posix_acl_access", got, sizeof(got)), 0);
	/* Subdirectories inherit the default ACL itself. */
	CHECK_SYS(mkdir("d/sub", 0777));
	CHECK_EQ(getxattr("d/sub", "system.posix_acl_default", got, sizeof(got)), (ssize_t)len);

	c = spawn(child_acl_reader, NULL);
	expect(c.chan, 'r');
	CHECK_SYS(chmod("f", 0600));
	tell(c.chan, 'm');
	join(&c);
	c = spawn(child_acl_other, NULL);
	join(&c);

	CHECK_SYS(removexattr("f", "system.posix_acl_access"));
	CHECK_ERRNO(getxattr("f", "system.posix_acl_access", got, sizeof(got)), ENODATA);
}

/* ------------------------------------------------------------------------ */
/* statfs                                                                   */
/* ------------------------------------------------------------------------ */

static void test_statfs_plausible(void)
{
	struct statfs sf, fsf;
	struct statvfs sv;
	int fd;

	CHECK_SYS(statfs(".", &sf));
	CHECK_GT(sf.f_bsize, 0);
	CHECK_LE(sf.f_bfree, sf.f_blocks);
	CHECK_LE(sf.f_bavail, sf.f_bfree);
	CHECK_LE(sf.f_ffree, sf.f_files);
	CHECK_GE(sf.f_namelen, 255);
	CHECK_GT(sf.f_frsize, 0);

	make_file("f", 0644, "x");
	fd = CHECK_SYS(open("f", O_RDONLY));
	CHECK_SYS(fstatfs(fd, &fsf));
	CHECK_EQ(fsf.f_type, sf.f_type);
	CHECK_EQ(fsf.f_bsize, sf.f_bsize);
	CHECK_EQ_U64(fsf.f_blocks, sf.f_blocks);
	CHECK_EQ(fsf.f_namelen, sf.f_namelen);
	CHECK_SYS(close(fd));

	CHECK_SYS(statvfs(".", &sv));
	CHECK_GT(sv.f_frsize, 0);
	CHECK_EQ(sv.f_namemax, sf.f_namelen);
	CHECK_EQ_U64(sv.f_blocks, sf.f_blocks);
	CHECK_LE(sv.f_bavail, sv.f_bfree);
	CHECK_LE(sv.f_bfree, sv.f_blocks);
	CHECK_ERRNO(statfs("missing", &sf), ENOENT);
}

/* ------------------------------------------------------------------------ */
/* fallocate, SEEK_DATA/SEEK_HOLE, sparse files                             */
/* ------------------------------------------------------------------------ */

#define MiB (1024 * 1024)

static void test_fallocate_allocates_and_keeps_size(void)
{
	unsigned char *buf = talloc(MiB);
	struct stat st;
	blkcnt_t before;
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));

	CHECK_SYS(fallocate(fd, 0, 0, MiB));
	st = xfstat(fd);
	CHECK_EQ(st.st_size, MiB);
	CHECK_GE((long long)st.st_blocks * 512, MiB);
	memset(buf, 0xaa, MiB);
	CHECK_EQ(pread_full(fd, buf, MiB, 0), MiB);
	CHECK_ZERO(buf, MiB);

	/* KEEP_SIZE reserves space past EOF without showing it. */
	before = st.st_blocks;
	CHECK_SYS(fallocate(fd, FALLOC_FL_KEEP_SIZE, MiB, MiB));
	st = xfstat(fd);
	CHECK_EQ(st.st_size, MiB);
	if (has(F_SPARSE)) {
		CHECK_GE((long long)st.st_blocks * 512, 2 * MiB - 4096);
		CHECK_GT(st.st_blocks, before);
	}
	CHECK_EQ(pread(fd, buf, 10, MiB), 0);

	/* A range reaching past EOF extends the file to its end. */
	CHECK_SYS(fallocate(fd, 0, 2 * MiB - 100, 200));
	CHECK_EQ(xfstat(fd).st_size, 2 * MiB + 100);
	CHECK_EQ(pread_full(fd, buf, MiB, MiB), MiB);
	CHECK_ZERO(buf, MiB);

	/* Allocating over data leaves the data alone. */
	pattern_fill(buf, 5000, 10000, 11);
	pwrite_all(fd, buf, 10000, 5000);
	CHECK_SYS(fallocate(fd, 0, 0, 2 * MiB));
	CHECK_EQ(pread_full(fd, buf, 10000, 5000), 10000);
	CHECK_PATTERN(buf, 5000, 10000, 11);
	CHECK_EQ(xfstat(fd).st_size, 2 * MiB + 100);

	CHECK_ERRNO(fallocate(fd, 0, 0, 0), EINVAL);
	CHECK_ERRNO(fallocate(fd, 0, -1, 10), EINVAL);
	/* The VFS wants KEEP_SIZE with PUNCH_HOLE. */
	CHECK_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
	CHECK_SYS(close(fd));
	fd = CHECK_SYS(open("f", O_RDONLY));
	CHECK_ERRNO(fallocate(fd, 0, 0, 4096), EBADF);
	CHECK_SYS(close(fd));
}

static void test_fallocate_punch_hole(void)
{
	const size_t len = 3 * MiB;
	unsigned char *buf = talloc(len);
	struct stat st;
	blkcnt_t before;
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));

	pattern_fill(buf, 0, len, 12);
	pwrite_all(fd, buf, len, 0);
	CHECK_SYS(fsync(fd));
	before = xfstat(fd).st_blocks;

	CHECK_SYS(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, MiB, MiB));
	st = xfstat(fd);
	CHECK_EQ(st.st_size, (off_t)len);
	if (has(F_SPARSE))
		CHECK_GE(before - st.st_blocks, (MiB / 2) / 512);
	CHECK_EQ(pread_full(fd, buf, len, 0), len);
	CHECK_PATTERN(buf, 0, MiB, 12);
	CHECK_ZERO(buf + MiB, MiB);
	CHECK_PATTERN(buf + 2 * MiB, 2 * MiB, MiB, 12);

	/* Unaligned: exactly the range is zeroed, whatever the block size. */
	CHECK_SYS(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 4900));
	CHECK_EQ(pread_full(fd, buf, 8192, 0), 8192);
	CHECK_PATTERN(buf, 0, 100, 12);
	CHECK_ZERO(buf + 100, 4900);
	CHECK_PATTERN(buf + 5000, 5000, 8192 - 5000, 12);

	/* Punching past EOF does not grow the file. */
	CHECK_SYS(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, len - 10, 1000));
	CHECK_EQ(xfstat(fd).st_size, (off_t)len);
	CHECK_EQ(pread_full(fd, buf, 20, len - 20), 20);
	CHECK_PATTERN(buf, len - 20, 10, 12);
	CHECK_ZERO(buf + 10, 10);
	CHECK_SYS(close(fd));
}

static void test_fallocate_zero_range(void)
{
	unsigned char *buf = talloc(80000);
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));

	pattern_fill(buf, 0, 65536, 13);
	pwrite_all(fd, buf, 65536, 0);
	CHECK_SYS(fallocate(fd, FALLOC_FL_ZERO_RANGE, 1000, 8000));
	CHECK_EQ(xfstat(fd).st_size, 65536);
	CHECK_EQ(pread_full(fd, buf, 80000, 0), 65536);
	CHECK_PATTERN(buf, 0, 1000, 13);
	CHECK_ZERO(buf + 1000, 8000);
	CHECK_PATTERN(buf + 9000, 9000, 65536 - 9000, 13);

	/* Past EOF it extends the file, unless KEEP_SIZE. */
	CHECK_SYS(fallocate(fd, FALLOC_FL_ZERO_RANGE, 60000, 10000));
	CHECK_EQ(xfstat(fd).st_size, 70000);
	CHECK_EQ(pread_full(fd, buf, 80000, 0), 70000);
	CHECK_PATTERN(buf + 9000, 9000, 51000, 13);
	CHECK_ZERO(buf + 60000, 10000);
	CHECK_SYS(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 69000, 50000));
	CHECK_EQ(xfstat(fd).st_size, 70000);
	CHECK_SYS(close(fd));
}

static void test_seek_data_hole_dense(void)
{
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));
	unsigned char buf[10000];

	/* What every filesystem must do, holes tracked or not. */
	pattern_fill(buf, 0, sizeof(buf), 14);
	pwrite_all(fd, buf, sizeof(buf), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_DATA), 0);
	CHECK_EQ(lseek(fd, 5000, SEEK_DATA), 5000);
	CHECK_EQ(lseek(fd, 0, SEEK_HOLE), 10000);
	CHECK_EQ(lseek(fd, 9999, SEEK_HOLE), 10000);
	CHECK_ERRNO(lseek(fd, 10000, SEEK_DATA), ENXIO);
	CHECK_ERRNO(lseek(fd, 10000, SEEK_HOLE), ENXIO);
	CHECK_ERRNO(lseek(fd, 20000, SEEK_DATA), ENXIO);
	CHECK_ERRNO(lseek(fd, -1, SEEK_DATA), ENXIO);
	CHECK_SYS(ftruncate(fd, 0));
	CHECK_ERRNO(lseek(fd, 0, SEEK_DATA), ENXIO);
	CHECK_ERRNO(lseek(fd, 0, SEEK_HOLE), ENXIO);
	CHECK_SYS(close(fd));
}

static void test_seek_data_hole_sparse(void)
{
	unsigned char buf[4096];
	off_t d, h;
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));

	/* data [0,4K), hole, data [4M,4M+4K), hole to 8M */
	pattern_fill(buf, 0, sizeof(buf), 15);
	pwrite_all(fd, buf, sizeof(buf), 0);
	pwrite_all(fd, buf, sizeof(buf), 4 * MiB);
	CHECK_SYS(ftruncate(fd, 8 * MiB));

	CHECK_EQ(lseek(fd, 0, SEEK_DATA), 0);
	/* Holes are found at the filesystem's granularity, at most 1 MiB. */
	h = CHECK_SYS(lseek(fd, 0, SEEK_HOLE));
	CHECK_GE(h, 4096);
	CHECK_LE(h, MiB);
	d = CHECK_SYS(lseek(fd, 2 * MiB, SEEK_DATA));
	CHECK_GT(d, 2 * MiB);
	CHECK_LE(d, 4 * MiB);
	CHECK_EQ(lseek(fd, 3 * MiB, SEEK_DATA), d);
	h = CHECK_SYS(lseek(fd, 4 * MiB, SEEK_HOLE));
	CHECK_GE(h, 4 * MiB + 4096);
	CHECK_LE(h, 5 * MiB);
	/* Inside a hole, SEEK_HOLE is the offset itself. */
	CHECK_EQ(lseek(fd, 6 * MiB, SEEK_HOLE), 6 * MiB);
	CHECK_EQ(lseek(fd, 2 * MiB, SEEK_HOLE), 2 * MiB);
	/* Only a hole follows: no more data. */
	CHECK_ERRNO(lseek(fd, 6 * MiB, SEEK_DATA), ENXIO);
	CHECK_ERRNO(lseek(fd, 8 * MiB, SEEK_DATA), ENXIO);
	CHECK_ERRNO(lseek(fd, 8 * MiB, SEEK_HOLE), ENXIO);
	CHECK_ERRNO(lseek(fd, 9 * MiB, SEEK_HOLE), ENXIO);
	/* The file position moved to the answer. */
	CHECK_EQ(lseek(fd, 2 * MiB, SEEK_DATA), d);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), d);
	CHECK_EQ(pread_full(fd, buf, sizeof(buf), 4 * MiB), sizeof(buf));
	CHECK_PATTERN(buf, 0, sizeof(buf), 15);
	CHECK_SYS(close(fd));
}

static void test_sparse_file_blocks(void)
{
	unsigned char *buf = talloc(MiB);
	struct stat st;
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));

	pwrite_all(fd, "end", 3, 100 * MiB);
	CHECK_SYS(fsync(fd));
	st = xfstat(fd);
	CHECK_EQ(st.st_size, 100 * MiB + 3);
	CHECK_LT((long long)st.st_blocks * 512, MiB);
	memset(buf, 0xaa, MiB);
	CHECK_EQ(pread_full(fd, buf, MiB, 50 * MiB), MiB);
	CHECK_ZERO(buf, MiB);
	CHECK_EQ(pread_full(fd, buf, 10, 100 * MiB), 3);
	CHECK_MEM(buf, "end", 3);
	/* Truncating up leaves a hole, not data. */
	CHECK_SYS(ftruncate(fd, 200 * MiB));
	CHECK_LT((long long)xfstat(fd).st_blocks * 512, MiB);
	CHECK_SYS(close(fd));
}

static void test_sparse_over_4g(void)
{
	const off_t g = 1024LL * MiB;
	unsigned char *buf = talloc(MiB);
	struct stat st;
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));

	pwrite_all(fd, "at5g", 4, 5 * g);
	st = xfstat(fd);
	CHECK_EQ(st.st_size, 5 * g + 4);
	CHECK_EQ(xstat("f").st_size, 5 * g + 4);
	if (has(F_SPARSE))
		CHECK_LT((long long)st.st_blocks * 512, MiB);
	memset(buf, 0xaa, MiB);
	CHECK_EQ(pread_full(fd, buf, MiB, 4 * g + 12345), MiB);
	CHECK_ZERO(buf, MiB);
	CHECK_EQ(pread_full(fd, buf, 100, 5 * g - 10), 14);
	CHECK_ZERO(buf, 10);
	CHECK_MEM(buf + 10, "at5g", 4);

	/* Offsets that do not fit 32 bits must not wrap around. */
	pwrite_all(fd, "cross", 5, 4 * g - 2);
	CHECK_EQ(pread_full(fd, buf, 5, 4 * g - 2), 5);
	CHECK_MEM(buf, "cross", 5);
	CHECK_EQ(pread_full(fd, buf, 8, 0), 8);
	CHECK_ZERO(buf, 8);
	CHECK_EQ(pread_full(fd, buf, 8, 2LL * 1024 * MiB - 4), 8);
	CHECK_ZERO(buf, 8);

	CHECK_SYS(ftruncate(fd, 4 * g + 1));
	CHECK_EQ(xfstat(fd).st_size, 4 * g + 1);
	CHECK_EQ(pread_full(fd, buf, 100, 4 * g - 2), 3);
	CHECK_MEM(buf, "cro", 3);
	CHECK_EQ(lseek(fd, 0, SEEK_END), 4 * g + 1);
	CHECK_SYS(close(fd));
}

/* ------------------------------------------------------------------------ */
/* copy_file_range, sync                                                    */
/* ------------------------------------------------------------------------ */

static void copy_range_all(int in, off_t *oin, int out, off_t *oout, size_t len)
{
	while (len) {
		ssize_t n = copy_file_range(in, oin, out, oout, len, 0);
		if (n < 0)
			fail_at(__FILE__, __LINE__, errno, "copy_file_range(%zu bytes)", len);
		if (n == 0)
			FAILF("copy_file_range: early EOF with %zu bytes left", len);
		len -= (size_t)n;
	}
}

static void test_copy_file_range_content(void)
{
	const size_t len = MiB + 123;
	unsigned char *buf = talloc(len + 20000);
	off_t oin, oout;
	int src, dst, dst2, ro;

	src = CHECK_SYS(open("src", O_CREAT | O_RDWR, 0644));
	pattern_fill(buf, 0, len, 16);
	pwrite_all(src, buf, len, 0);

	dst = CHECK_SYS(open("dst", O_CREAT | O_RDWR, 0644));
	oin = 0;
	oout = 0;
	copy_range_all(src, &oin, dst, &oout, len);
	CHECK_EQ(oin, (off_t)len);
	CHECK_EQ(oout, (off_t)len);
	CHECK_EQ(xfstat(dst).st_size, (off_t)len);
	memset(buf, 0, len);
	CHECK_EQ(pread_full(dst, buf, len, 0), len);
	CHECK_PATTERN(buf, 0, len, 16);

	/* A sub-range to an odd offset; the gap before it reads as zeros. */
	dst2 = CHECK_SYS(open("dst2", O_CREAT | O_RDWR, 0644));
	oin = 4097;
	oout = 12345;
	copy_range_all(src, &oin, dst2, &oout, 70001);
	CHECK_EQ(xfstat(dst2).st_size, 12345 + 70001);
	CHECK_EQ(pread_full(dst2, buf, 12345 + 70001 + 10, 0), 12345 + 70001);
	CHECK_ZERO(buf, 12345);
	CHECK_PATTERN(buf + 12345, 4097, 70001, 16);

	/* NULL offsets use and advance the file positions. */
	CHECK_SYS(ftruncate(dst2, 0));
	CHECK_EQ(lseek(src, 100, SEEK_SET), 100);
	CHECK_EQ(lseek(dst2, 0, SEEK_SET), 0);
	copy_range_all(src, NULL, dst2, NULL, 5000);
	CHECK_EQ(lseek(src, 0, SEEK_CUR), 5100);
	CHECK_EQ(lseek(dst2, 0, SEEK_CUR), 5000);
	CHECK_EQ(pread_full(dst2, buf, 6000, 0), 5000);
	CHECK_PATTERN(buf, 100, 5000, 16);

	/* At or past EOF there is nothing to copy. */
	oin = (off_t)len;
	CHECK_EQ(copy_file_range(src, &oin, dst2, NULL, 100, 0), 0);
	oin = (off_t)len + 5000;
	CHECK_EQ(copy_file_range(src, &oin, dst2, NULL, 100, 0), 0);
	/* Within one file, non-overlapping is fine, overlapping is not. */
	oin = 0;
	oout = (off_t)len + 1000;
	copy_range_all(src, &oin, src, &oout, 3000);
	CHECK_EQ(pread_full(src, buf, 3000, (off_t)len + 1000), 3000);
	CHECK_PATTERN(buf, 0, 3000, 16);
	oin = 0;
	oout = 10;
	CHECK_ERRNO(copy_file_range(src, &oin, src, &oout, 100, 0), EINVAL);
	ro = CHECK_SYS(open("dst", O_RDONLY));
	oin = 0;
	CHECK_ERRNO(copy_file_range(src, &oin, ro, NULL, 100, 0), EBADF);
	CHECK_SYS(close(ro));
	CHECK_SYS(close(src));
	CHECK_SYS(close(dst));
	CHECK_SYS(close(dst2));
}

static void test_fsync_fdatasync_syncfs(void)
{
	int fd, dfd, ro;

	fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644));
	write_all(fd, "durable", 7);
	CHECK_EQ(fsync(fd), 0);
	CHECK_EQ(fdatasync(fd), 0);
	CHECK_EQ(syncfs(fd), 0);
	CHECK_EQ(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
				 SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER), 0);
	ro = CHECK_SYS(open("f", O_RDONLY));
	CHECK_EQ(fsync(ro), 0);
	CHECK_EQ(fdatasync(ro), 0);
	CHECK_SYS(close(ro));
	/* Directories are synced through FSYNCDIR on FUSE. */
	dfd = CHECK_SYS(open(".", O_RDONLY | O_DIRECTORY));
	CHECK_EQ(fsync(dfd), 0);
	CHECK_EQ(fdatasync(dfd), 0);
	CHECK_SYS(close(dfd));
	CHECK_SYS(close(fd));
	CHECK_FILE("f", "durable");
	sync();
}

/* ------------------------------------------------------------------------ */
/* mmap, exec                                                               */
/* ------------------------------------------------------------------------ */

static void test_mmap_shared_write_read_coherent(void)
{
	const size_t len = 3 * 4096 + 100;
	unsigned char *buf = talloc(len), *m, *p;
	int fd = CHECK_SYS(open("f", O_CREAT | O_RDWR, 0644)), ro;

	pattern_fill(buf, 0, len, 17);
	pwrite_all(fd, buf, len, 0);
	m = map_file(fd, len, PROT_READ | PROT_WRITE, MAP_SHARED);
	CHECK_MEM(m, buf, len);

	/* Stores through the map reach read(). */
	m[10] = 'A';
	m[4096 + 5] = 'B';
	m[len - 1] = 'C';
	CHECK_SYS(msync(m, len, MS_SYNC));
	CHECK_EQ(pread_full(fd, buf, len, 0), len);
	CHECK_EQ(buf[10], 'A');
	CHECK_EQ(buf[4096 + 5], 'B');
	CHECK_EQ(buf[len - 1], 'C');
	CHECK_PATTERN(buf + 11, 11, 4096 - 11, 17);

	/* write() reaches the map. */
	pwrite_all(fd, "XYZ", 3, 8000);
	CHECK_MEM(m + 8000, "XYZ", 3);

	/* Private maps never write back. */
	p = map_file(fd, len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	p[0] = 'P';
	CHECK_SYS(msync(p, len, MS_SYNC));
	unmap(p);
	CHECK_EQ(pread(fd, buf, 1, 0), 1);
	CHECK(buf[0] != 'P');

	/* Dirty pages survive munmap and close without msync. */
	m[20] = 'D';
	unmap(m);
	CHECK_SYS(close(fd));
	fd = CHECK_SYS(open("f", O_RDONLY));
	CHECK_EQ(pread(fd, buf, 1, 20), 1);
	CHECK_EQ(buf[0], 'D');
	CHECK_EQ(xfstat(fd).st_size, (off_t)len);
	errno = 0;
	CHECK(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	CHECK_EQ(errno, EACCES);
	CHECK_SYS(close(fd));
	ro = CHECK_SYS(open("f", O_WRONLY));
	errno = 0;
	CHECK(mmap(NULL, len, PROT_READ, MAP_SHARED, ro, 0) == MAP_FAILED);
	CHECK_EQ(errno, EACCES);
	CHECK_SYS(close(ro));
}

static void child_exec_probe(void *arg)
{
	(void)arg;
	execl("./prog", "prog", "--exec-probe", (char *)NULL);
	fail_at(__FILE__, __LINE__, errno, "execl(\"./prog\")");
}

static void test_exec_binary_from_fs(void)
{
	char buf[65536], msg[256];
	struct child c;
	ssize_t n;
	int in, out, st;

	/* This very program, copied in: no dependency on other binaries. */
	in = CHECK_SYS(open("/proc/self/exe", O_RDONLY));
	out = CHECK_SYS(open("prog", O_CREAT | O_WRONLY | O_TRUNC, 0755));
	while ((n = CHECK_SYS(read(in, buf, sizeof(buf)))) > 0)
		write_all(out, buf, (size_t)n);
	CHECK_SYS(close(in));
	CHECK_SYS(close(out));
	c = spawn(child_exec_probe, NULL);
	st = join_status(&c, msg, sizeof(msg));
	if (msg[0])
		fail_at(NULL, 0, 0, "in child: %s", msg);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 42);
	/* Without an x bit exec is refused, even for root. */
	CHECK_SYS(chmod("prog", 0644));
	c = spawn(child_exec_probe, NULL);
	st = join_status(&c, msg, sizeof(msg));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	CHECK(strstr(msg, "Permission denied") != NULL);
}

/* ------------------------------------------------------------------------ */
/* Locks                                                                    */
/* ------------------------------------------------------------------------ */

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

static struct flock getlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, cmd, &fl))
		fail_at(__FILE__, __LINE__, errno, "fcntl(F_GETLK)");
	return fl;
}

static void child_fcntl_lock_conflict(void *arg)
{
	pid_t parent = getppid();
	struct flock fl;
	int fd = CHECK_SYS(open("f", O_RDWR));

	(void)arg;
	CHECK_ERRNO2(setlk(fd, F_SETLK, F_WRLCK, 50, 10), EAGAIN, EACCES);
	CHECK_ERRNO2(setlk(fd, F_SETLK, F_RDLCK, 99, 1), EAGAIN, EACCES);
	fl = getlk(fd, F_GETLK, F_WRLCK, 50, 10);
	CHECK_EQ(fl.l_type, F_WRLCK);
	CHECK_EQ(fl.l_pid, parent);
	CHECK_EQ(fl.l_start, 0);
	CHECK_EQ(fl.l_len, 100);
	CHECK_EQ(fl.l_whence, SEEK_SET);
	/* Not adjacent to [0,100): adjacent ranges of one owner merge. */
	CHECK_SYS(setlk(fd, F_SETLK, F_WRLCK, 150, 50));
	fl = getlk(fd, F_GETLK, F_WRLCK, 150, 50);
	CHECK_EQ(fl.l_type, F_UNLCK);	/* own locks never conflict */
	tell(g_chan, 'a');
	expect(g_chan, 'b');

	/* The parent now holds a read lock: reads share, writes conflict. */
	CHECK_SYS(setlk(fd, F_SETLK, F_RDLCK, 0, 10));
	CHECK_ERRNO2(setlk(fd, F_SETLK, F_WRLCK, 20, 10), EAGAIN, EACCES);
	fl = getlk(fd, F_GETLK, F_WRLCK, 20, 10);
	CHECK_EQ(fl.l_type, F_RDLCK);
	CHECK_EQ(fl.l_pid, parent);
	tell(g_chan, 'c');
	expect(g_chan, 'd');

	/* The parent unlocked everything. */
	CHECK_SYS(setlk(fd, F_SETLK, F_WRLCK, 0, 100));
	tell(g_chan, 'e');
	expect(g_chan, 'f');
}

static void test_fcntl_lock_conflict_between_processes(void)
{
	struct child c;
	struct flock fl;
	int fd;

	make_file("f", 0644, "lock me");
	fd = CHECK_SYS(open("f", O_RDWR));
	CHECK_SYS(setlk(fd, F_SETLK, F_WRLCK, 0, 100));
	c = spawn(child_fcntl_lock_conflict, NULL);
	expect(c.chan, 'a');
	/* Converting a write lock to a read lock is atomic. */
	CHECK_SYS(setlk(fd, F_SETLK, F_RDLCK, 0, 100));
	tell(c.chan, 'b');
	expect(c.chan, 'c');
	CHECK_SYS(setlk(fd, F_SETLK, F_UNLCK, 0, 0));
	tell(c.chan, 'd');
	expect(c.chan, 'e');
	CHECK_ERRNO2(setlk(fd, F_SETLK, F_WRLCK, 0, 10), EAGAIN, EACCES);
	fl = getlk(fd, F_GETLK, F_RDLCK, 160, 1);
	CHECK_EQ(fl.l_type, F_WRLCK);
	CHECK_EQ(fl.l_pid, c.pid);
	CHECK_EQ(fl.l_start, 150);
	CHECK_EQ(fl.l_len, 50);
	fl = getlk(fd, F_GETLK, F_RDLCK, 120, 10);
	CHECK_EQ(fl.l_type, F_UNLCK);
	tell(c.chan, 'f');
	join(&c);
	/* The child's exit released its locks. */
	CHECK_SYS(setlk(fd, F_SETLK, F_WRLCK, 0, 0));
	CHECK_SYS(close(fd));
}

static void child_fcntl_lock_waiter(void *arg)
{
	int fd = CHECK_SYS(open("f", O_RDWR));

	(void)arg;
	tell(g_chan, 'w');
	CHECK_SYS(setlk(fd, F_SETLKW, F_WRLCK, 0, 10));
	tell(g_chan, 'g');
	expect(g_chan, 'x');
}

static void test_fcntl_setlkw_waits_for_unlock(void)
{
	struct child c;
	int fd;

	make_file("f", 0644, "x");
	fd = CHECK_SYS(open("f", O_RDWR));
	CHECK_SYS(setlk(fd, F_SETLK, F_WRLCK, 0, 10));
	c = spawn(child_fcntl_lock_waiter, NULL);
	expect(c.chan, 'w');
	/*
	 * The child may or may not be asleep in F_SETLKW yet; either way it
	 * must end up with the lock once ours is gone. The pause only makes the
	 * sleeping case the likely one.
	 */
	usleep(20000);
	CHECK_SYS(setlk(fd, F_SETLK, F_UNLCK, 0, 10));
	expect(c.chan, 'g');
	CHECK_ERRNO2(setlk(fd, F_SETLK, F_WRLCK, 0, 10), EAGAIN, EACCES);
	tell(c.chan, 'x');
	join(&c);
	CHECK_SYS(setlk(fd, F_SETLK, F_WRLCK, 0, 10));
	CHECK_SYS(close(fd));
}

static void child_try_lock_expect(void *arg)
{
	int fd = CHECK_SYS(open("f", O_RDWR));
	struct flock fl;

	if (*(int *)arg) {
		CHECK_SYS(setlk(fd, F_SETLK, F_WRLCK, 0, 10));
	} else {
		CHECK_ERRNO2(setlk(fd, F_SETLK, F_WRLCK, 0, 10), EAGAIN, EACCES);
		fl = getlk(fd, F_GETLK, F_WRLCK, 0, 10);
		CHECK_EQ(fl.l_type, F_WRLCK);
	}
}

static void test_fcntl_lock_released_by_any_close(void)
{
	static int free_ = 1, held = 0;
	struct child c;
	int fd, fd2;

	make_file("f", 0644, "x");
	fd = CHECK_SYS(open("f", O_RDWR));
	CHECK_SYS(setlk(fd, F_SETLK, F_WRLCK, 0, 10));
	c = spawn(child_try_lock_expect, &held);
	join(&c);
	/* POSIX: closing any fd of the file drops the process's locks. */
	fd2 = CHECK_SYS(open("f", O_RDONLY));
	CHECK_SYS(close(fd2));
	c = spawn(child_try_lock_expect, &free_);
	join(&c);
	CHECK_SYS(close(fd));
}

static void child_ofd_probe(void *arg)
{
	int fd = CHECK_SYS(open("f", O_RDWR));
	struct flock fl;

	(void)arg;
	CHECK_ERRNO2(setlk(fd, F_SETLK, F_WRLCK, 0, 5), EAGAIN, EACCES);
	fl = getlk(fd, F_GETLK, F_WRLCK, 0, 5);
	CHECK_EQ(fl.l_type, F_WRLCK);
	CHECK_EQ(fl.l_pid, -1);	/* OFD locks have no owning process */
}

static void test_ofd_locks(void)
{
	struct flock fl;
	struct child c;
	int fd1, fd2, fd3;

	make_file("f", 0644, "x");
	fd1 = CHECK_SYS(open("f", O_RDWR));
	fd2 = CHECK_SYS(open("f", O_RDWR));
	fd3 = CHECK_SYS(open("f", O_RDWR));
	CHECK_SYS(setlk(fd1, F_OFD_SETLK, F_WRLCK, 0, 10));
	/* Another open file description conflicts, even in this process. */
	CHECK_ERRNO(setlk(fd2, F_OFD_SETLK, F_WRLCK, 5, 10), EAGAIN);
	fl = getlk(fd2, F_OFD_GETLK, F_WRLCK, 5, 10);
	CHECK_EQ(fl.l_type, F_WRLCK);
	CHECK_EQ(fl.l_pid, -1);
	CHECK_EQ(fl.l_start, 0);
	CHECK_EQ(fl.l_len, 10);
	CHECK_SYS(setlk(fd2, F_OFD_SETLK, F_WRLCK, 10, 10));
	/* A classic lock of this process conflicts with the OFD lock. */
	CHECK_ERRNO2(setlk(fd3, F_SETLK, F_WRLCK, 0, 5), EAGAIN, EACCES);
	c = spawn(child_ofd_probe, NULL);
	join(&c);
	/* Closing fd1 releases only fd1's lock. */
	CHECK_SYS(close(fd1));
	CHECK_SYS(setlk(fd3, F_OFD_SETLK, F_WRLCK, 0, 10));
	CHECK_ERRNO(setlk(fd3, F_OFD_SETLK, F_WRLCK, 10, 1), EAGAIN);
	CHECK_SYS(close(fd2));
	CHECK_SYS(close(fd3));
}

static void child_flock_probe(void *arg)
{
	int fd = CHECK_SYS(open("f", O_RDWR));

	(void)arg;
	CHECK_ERRNO(flock(fd, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	/* flock and fcntl locks are separate on Linux. */
	CHECK_SYS(setlk(fd, F_SETLK, F_WRLCK, 0, 0));
	tell(g_chan, 'p');
	expect(g_chan, 'u');
	CHECK_SYS(flock(fd, LOCK_EX | LOCK_NB));
}

static void test_flock_exclusive_shared(void)
{
	struct child c;
	int fd1, fd2, fd3, dfd;

	make_file("f", 0644, "x");
	fd1 = CHECK_SYS(open("f", O_RDWR));
	fd2 = CHECK_SYS(open("f", O_RDONLY));
	fd3 = CHECK_SYS(open("f", O_RDONLY));
	CHECK_SYS(flock(fd1, LOCK_EX));
	/* flock locks belong to the open file description. */
	CHECK_ERRNO(flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	CHECK_ERRNO(flock(fd2, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	dfd = CHECK_SYS(dup(fd1));
	CHECK_SYS(flock(dfd, LOCK_EX | LOCK_NB));
	c = spawn(child_flock_probe, NULL);
	expect(c.chan, 'p');
	CHECK_SYS(flock(fd1, LOCK_UN));
	tell(c.chan, 'u');
	join(&c);

	CHECK_SYS(flock(fd2, LOCK_SH | LOCK_NB));
	CHECK_SYS(flock(fd3, LOCK_SH | LOCK_NB));
	CHECK_ERRNO(flock(fd1, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	CHECK_SYS(flock(fd2, LOCK_UN));
	CHECK_ERRNO(flock(fd1, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	/* Closing the last fd of a description releases its lock. */
	CHECK_SYS(close(fd3));
	CHECK_SYS(flock(fd1, LOCK_EX | LOCK_NB));
	CHECK_SYS(close(dfd));
	CHECK_SYS(close(fd1));
	CHECK_SYS(flock(fd2, LOCK_EX | LOCK_NB));
	CHECK_SYS(close(fd2));
}

/* ------------------------------------------------------------------------ */
/* Permissions                                                              */
/* ------------------------------------------------------------------------ */

static void test_access_as_root(void)
{
	require_root();
	make_file("none", 0, "x");
	make_file("xonly", 0100, "x");
	CHECK_SYS(access("none", F_OK));
	/* Root may read and write anything, but execute only with some x bit. */
	CHECK_SYS(access("none", R_OK | W_OK));
	CHECK_ERRNO(access("none", X_OK), EACCES);
	CHECK_SYS(access("xonly", X_OK));
	CHECK_SYS(mkdir("d", 0));
	CHECK_SYS(access("d", R_OK | W_OK | X_OK));
	CHECK_ERRNO(access("missing", F_OK), ENOENT);
	int fd = CHECK_SYS(open("none", O_RDWR));
	CHECK_SYS(close(fd));
}

static void child_nonroot_files(void *arg)
{
	char buf[32];
	int fd;

	(void)arg;
	become(NOBODY, NOBODY, NULL, 0);
	CHECK_ERRNO(open("secret", O_RDONLY), EACCES);
	CHECK_ERRNO(open("secret", O_WRONLY | O_TRUNC), EACCES);
	CHECK_ERRNO(access("secret", R_OK), EACCES);
	CHECK_SYS(access("secret", F_OK));
	CHECK_MODE(xstat("secret").st_mode & 07777, 0600);

	fd = CHECK_SYS(open("public", O_RDONLY));
	CHECK_EQ(read(fd, buf, sizeof(buf)), 14);
	CHECK_MEM(buf, "world readable", 14);
	CHECK_SYS(close(fd));
	CHECK_ERRNO(open("public", O_WRONLY), EACCES);
	CHECK_ERRNO(open("public", O_RDWR), EACCES);
	CHECK_SYS(access("public", R_OK));
	CHECK_ERRNO(access("public", W_OK), EACCES);
	CHECK_ERRNO(access("public", X_OK), EACCES);
	CHECK_ERRNO(truncate("public", 0), EACCES);
	CHECK_SYS(access("exec", R_OK | X_OK));
	CHECK_SYS(faccessat(AT_FDCWD, "exec", X_OK, AT_EACCESS));

	/* Write without read. */
	fd = CHECK_SYS(open("wonly", O_WRONLY));
	write_all(fd, "w", 1);
	CHECK_SYS(close(fd));
	CHECK_ERRNO(open("wonly", O_RDONLY), EACCES);

	/* Not the owner: no explicit times, only "now" with write access. */
	CHECK_ERRNO(utimensat(AT_FDCWD, "public", NULL, 0), EACCES);
	CHECK_SYS(utimensat(AT_FDCWD, "wonly", NULL, 0));
	struct timespec ts[2] = { { 1, 0 }, { 1, 0 } };
	CHECK_ERRNO(utimensat(AT_FDCWD, "wonly", ts, 0), EPERM);

	/* The test directory is root's 0755. */
	CHECK_ERRNO(open("newfile", O_CREAT | O_WRONLY, 0644), EACCES);
	CHECK_ERRNO(mkdir("newdir", 0755), EACCES);
	CHECK_ERRNO(unlink("public"), EACCES);
	CHECK_ERRNO(rename("public", "p2"), EACCES);
}

static void test_perms_nonroot_files(void)
{
	struct child c;

	require_root();
	make_file("secret", 0600, "root only");
	make_file("public", 0644, "world readable");
	make_file("exec", 0755, "#!/bin/sh\n");
	make_file("wonly", 0622, "");
	c = spawn(child_nonroot_files, NULL);
	join(&c);
	CHECK_FILE("secret", "root only");
	CHECK_FILE("public", "world readable");
	CHECK_SYS(chmod("wonly", 0644));
	CHECK_FILE("wonly", "w");
}

static void child_nonroot_dirs(void *arg)
{
	struct stat st;
	int fd;

	(void)arg;
	become(NOBODY, NOBODY, NULL, 0);
	CHECK_ERRNO(stat("closed/f", &st), EACCES);
	CHECK(opendir("closed") == NULL && errno == EACCES);
	CHECK_ERRNO(chdir("closed"), EACCES);
	/* Search without read: known names work, listing does not. */
	st = xstat("xonly/f");
	CHECK(S_ISREG(st.st_mode));
	fd = CHECK_SYS(open("xonly/f", O_RDONLY));
	CHECK_SYS(close(fd));
	CHECK(opendir("xonly") == NULL && errno == EACCES);
	/* Read without write: no entries can be added or removed. */
	CHECK_ERRNO(open("ro/new", O_CREAT | O_WRONLY, 0644), EACCES);
	CHECK_ERRNO(unlink("ro/f"), EACCES);
	CHECK_ERRNO(rename("ro/f", "open/f"), EACCES);
	CHECK_ERRNO(mkdir("ro/d", 0755), EACCES);
	CHECK_ERRNO(rmdir("ro/sub"), EACCES);
	if (has(F_SYMLINK))
		CHECK_ERRNO(symlink("x", "ro/l"), EACCES);
	/* New entries belong to their creator. */
	fd = CHECK_SYS(open("open/mine", O_CREAT | O_WRONLY, 0644));
	st = xfstat(fd);
	CHECK_EQ(st.st_uid, NOBODY);
	CHECK_EQ(st.st_gid, NOBODY);
	CHECK_SYS(close(fd));
	CHECK_SYS(mkdir("open/md", 0755));
	st = xstat("open/md");
	CHECK_EQ(st.st_uid, NOBODY);
	CHECK_EQ(st.st_gid, NOBODY);
	CHECK_SYS(rename("open/mine", "open/md/mine"));
	CHECK_SYS(unlink("open/md/mine"));
	CHECK_SYS(rmdir("open/md"));
}

static void test_perms_nonroot_dirs(void)
{
	struct child c;

	require_root();
	CHECK_SYS(mkdir("closed", 0700));
	make_file("closed/f", 0644, "");
	CHECK_SYS(mkdir("xonly", 0711));
	make_file("xonly/f", 0644, "");
	CHECK_SYS(mkdir("ro", 0755));
	make_file("ro/f", 0644, "");
	CHECK_SYS(mkdir("ro/sub", 0777));
	CHECK_SYS(mkdir("open", 0777));
	CHECK_SYS(chmod("open", 0777));
	c = spawn(child_nonroot_dirs, NULL);
	join(&c);
	CHECK(exists("ro/f"));
	CHECK(exists("ro/sub"));
	CHECK(!exists("open/mine"));
}

static void child_groups(void *arg)
{
	int mode = *(int *)arg, fd;
	gid_t grp = 4242;

	/* 0: via supplementary group, 1: via primary group, 2: no group */
	if (mode == 0)
		become(NOBODY, NOBODY, &grp, 1);
	else if (mode == 1)
		become(NOBODY, 4242, NULL, 0);
	else
		become(NOBODY, NOBODY, NULL, 0);
	if (mode == 2) {
		CHECK_ERRNO(open("g", O_RDONLY), EACCES);
		return;
	}
	fd = CHECK_SYS(open("g", O_RDONLY));
	CHECK_SYS(close(fd));
	CHECK_ERRNO(open("g", O_WRONLY), EACCES);
}

static void test_perms_group_membership(void)
{
	static int modes[] = { 0, 1, 2 };
	struct child c;

	require_root();
	make_file("g", 0640, "group");
	CHECK_SYS(chown("g", 0, 4242));
	for (int i = 0; i < 3; i++) {
		c = spawn(child_groups, &modes[i]);
		join(&c);
	}
}

static void child_nonowner(void *arg)
{
	gid_t grp = 4242;
	struct stat st;
	int fd;

	(void)arg;
	become(NOBODY, NOBODY, &grp, 1);
	CHECK_ERRNO(chmod("rootf", 0600), EPERM);
	CHECK_ERRNO(chown("rootf", NOBODY, (gid_t)-1), EPERM);
	CHECK_ERRNO(chown("rootf", (uid_t)-1, NOBODY), EPERM);
	fd = CHECK_SYS(open("open/mine", O_CREAT | O_WRONLY, 0644));
	CHECK_SYS(close(fd));
	/* Owners may give files away to no one, but may change to own groups. */
	CHECK_ERRNO(chown("open/mine", 0, (gid_t)-1), EPERM);
	CHECK_ERRNO(chown("open/mine", (uid_t)-1, 1), EPERM);
	CHECK_SYS(chown("open/mine", (uid_t)-1, 4242));
	st = xstat("open/mine");
	CHECK_EQ(st.st_gid, 4242);
	CHECK_EQ(st.st_uid, NOBODY);
	CHECK_SYS(chmod("open/mine", 0600));
	CHECK_MODE(xstat("open/mine").st_mode & 07777, 0600);
	/* sgid stays for a group of the owner, is dropped for another group. */
	CHECK_SYS(chmod("open/mine", 02755));
	CHECK_MODE(xstat("open/mine").st_mode & 07777, 02755);
	CHECK_SYS(chmod("open/given", 02755));
	CHECK_MODE(xstat("open/given").st_mode & 07777, 0755);
}

static void test_perms_chmod_chown_by_nonowner(void)
{
	struct child c;

	require_root();
	make_file("rootf", 0666, "x");
	CHECK_SYS(mkdir("open", 0777));
	CHECK_SYS(chmod("open", 0777));
	make_file("open/given", 0644, "");
	CHECK_SYS(chown("open/given", NOBODY, 1));
	c = spawn(child_nonowner, NULL);
	join(&c);
	CHECK_MODE(xstat("rootf").st_mode & 07777, 0666);
	CHECK_EQ(xstat("rootf").st_uid, 0);
}

static void child_sticky_owner(void *arg)
{
	(void)arg;
	become(NOBODY, NOBODY, NULL, 0);
	make_file("s/a", 0644, "A's");
	make_file("s/a2", 0666, "A's too");
	CHECK_SYS(mkdir("s/adir", 0777));
}

static void child_sticky_other(void *arg)
{
	int fd;

	(void)arg;
	become(NOBODY2, NOBODY2, NULL, 0);
	/* In a sticky directory only the owner may remove or rename. */
	CHECK_ERRNO(unlink("s/a"), EPERM);
	CHECK_ERRNO(rename("s/a", "s/b"), EPERM);
	CHECK_ERRNO(rmdir("s/adir"), EPERM);
	/* Writable is not removable. */
	fd = CHECK_SYS(open("s/a2", O_WRONLY | O_APPEND));
	write_all(fd, "!", 1);
	CHECK_SYS(close(fd));
	CHECK_ERRNO(unlink("s/a2"), EPERM);
	/* Its own files it may create, replace-free, and remove. */
	make_file("s/b", 0644, "B's");
	CHECK_ERRNO(rename("s/b", "s/a"), EPERM);
	CHECK_SYS(rename("s/b", "s/b2"));
	CHECK_SYS(unlink("s/b2"));
}

static void child_sticky_owner_removes(void *arg)
{
	(void)arg;
	become(NOBODY, NOBODY, NULL, 0);
	CHECK_SYS(unlink("s/a"));
	CHECK_SYS(rmdir("s/adir"));
}

static void test_sticky_dir_protects_entries(void)
{
	struct child c;

	require_root();
	CHECK_SYS(mkdir("s", 0777));
	CHECK_SYS(chmod("s", 01777));
	c = spawn(child_sticky_owner, NULL);
	join(&c);
	c = spawn(child_sticky_other, NULL);
	join(&c);
	CHECK_FILE("s/a", "A's");
	CHECK_FILE("s/a2", "A's too!");
	c = spawn(child_sticky_owner_removes, NULL);
	join(&c);
	CHECK(!exists("s/a"));
	/* Root may remove anyone's. */
	CHECK_SYS(unlink("s/a2"));
}

static void child_write_suid(void *arg)
{
	int fd;

	(void)arg;
	become(NOBODY, NOBODY, NULL, 0);
	fd = CHECK_SYS(open("su", O_WRONLY));
	write_all(fd, "x", 1);
	CHECK_SYS(close(fd));
	fd = CHECK_SYS(open("sg", O_WRONLY));
	write_all(fd, "x", 1);
	CHECK_SYS(close(fd));
	CHECK_SYS(truncate("st", 0));
}

static void test_write_by_other_clears_suid(void)
{
	struct child c;

	require_root();
	make_file("su", 0644, "");
	make_file("sg", 0644, "");
	make_file("st", 0644, "abc");
	CHECK_SYS(chmod("su", 04777));
	CHECK_SYS(chmod("sg", 02777));
	CHECK_SYS(chmod("st", 06777));
	c = spawn(child_write_suid, NULL);
	join(&c);
	/* Modifying a set-id file must not leave it privileged. */
	CHECK_MODE(xstat("su").st_mode & 07777, 0777);
	CHECK_MODE(xstat("sg").st_mode & 07777, 0777);
	CHECK_MODE(xstat("st").st_mode & 07777, 0777);
	CHECK_FILE("su", "x");
	CHECK_EQ(xstat("st").st_size, 0);
}

static void test_setgid_dir_inheritance(void)
{
	struct stat st;
	int fd;

	require_root();
	CHECK_SYS(mkdir("d", 0755));
	CHECK_SYS(chown("d", 0, 1234));
	CHECK_SYS(chmod("d", 02775));
	CHECK_MODE(xstat("d").st_mode & 07777, 02775);

	fd = CHECK_SYS(open("d/f", O_CREAT | O_WRONLY, 0644));
	st = xfstat(fd);
	CHECK_SYS(close(fd));
	CHECK_EQ(st.st_gid, 1234);
	CHECK_MODE(st.st_mode & 07777, 0644);
	CHECK_SYS(mkdir("d/sub", 0755));
	st = xstat("d/sub");
	CHECK_EQ(st.st_gid, 1234);
	CHECK(st.st_mode & S_ISGID);	/* and passes the rule on */
	fd = CHECK_SYS(open("d/sub/g", O_CREAT | O_WRONLY, 0644));
	CHECK_EQ(xfstat(fd).st_gid, 1234);
	CHECK_SYS(close(fd));
	if (has(F_MKNOD)) {
		CHECK_SYS(mkfifo("d/p", 0644));
		CHECK_EQ(xstat("d/p").st_gid, 1234);
	}
	if (has(F_SYMLINK)) {
		CHECK_SYS(symlink("f", "d/l"));
		CHECK_EQ(xlstat("d/l").st_gid, 1234);
	}
	/* Without the bit, the creator's group. */
	CHECK_SYS(chmod("d", 0775));
	fd = CHECK_SYS(open("d/h", O_CREAT | O_WRONLY, 0644));
	CHECK_EQ(xfstat(fd).st_gid, getegid());
	CHECK_SYS(close(fd));
}

static void test_umask_applied_on_create(void)
{
	int fd;

	umask(022);
	fd = CHECK_SYS(open("a", O_CREAT | O_WRONLY, 0666));
	CHECK_MODE(xfstat(fd).st_mode & 07777, 0644);
	CHECK_SYS(close(fd));
	CHECK_SYS(mkdir("da", 0777));
	CHECK_MODE(xstat("da").st_mode & 07777, 0755);

	umask(077);
	fd = CHECK_SYS(open("b", O_CREAT | O_WRONLY, 0666));
	CHECK_MODE(xfstat(fd).st_mode & 07777, 0600);
	CHECK_SYS(close(fd));
	CHECK_SYS(mkdir("db", 0777));
	CHECK_MODE(xstat("db").st_mode & 07777, 0700);
	if (has(F_MKNOD)) {
		CHECK_SYS(mkfifo("pb", 0666));
		CHECK_MODE(xstat("pb").st_mode & 07777, 0600);
	}

	umask(0);
	fd = CHECK_SYS(open("c", O_CREAT | O_WRONLY, 0666));
	CHECK_MODE(xfstat(fd).st_mode & 07777, 0666);
	CHECK_SYS(close(fd));
	CHECK_SYS(mkdir("dc", 0777));
	CHECK_MODE(xstat("dc").st_mode & 07777, 0777);
	if (has(F_TMPFILE)) {
		umask(027);
		fd = CHECK_SYS(open(".", O_TMPFILE | O_RDWR, 0666));
		CHECK_MODE(xfstat(fd).st_mode & 07777, 0640);
		CHECK_SYS(close(fd));
	}
	umask(022);
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                  */
/* ------------------------------------------------------------------------ */

static void *worker_private_files(void *arg)
{
	struct worker *w = arg;
	unsigned char *buf = malloc(256 * 1024);
	char dir[32], path[64], path2[64];

	if (!buf)
		FAILF("out of memory");
	snprintf(dir, sizeof(dir), "t%d", w->idx);
	CHECK_SYS(mkdir(dir, 0755));
	for (int j = 0; j < 16; j++) {
		uint64_t seed = ((uint64_t)w->idx << 16) | (uint64_t)j;
		size_t size = 4096 * rnd(&w->rng, 32) + rnd(&w->rng, 4096) + 1, done = 0;
		int fd;

		snprintf(path, sizeof(path), "%s/f%d", dir, j);
		snprintf(path2, sizeof(path2), "%s/g%d", dir, j);
		fd = CHECK_SYS(open(path, O_CREAT | O_EXCL | O_WRONLY, 0644));
		pattern_fill(buf, 0, size, seed);
		while (done < size) {
			size_t n = rnd(&w->rng, 16384) + 1;
			if (n > size - done)
				n = size - done;
			write_all(fd, buf + done, n);
			done += n;
		}
		CHECK_SYS(close(fd));
		CHECK_SYS(rename(path, path2));
		memset(buf, 0, size);
		fd = CHECK_SYS(open(path2, O_RDONLY));
		CHECK_EQ(xfstat(fd).st_size, (off_t)size);
		done = 0;
		while (done < size) {
			size_t n = rnd(&w->rng, 20000) + 1;
			ssize_t got = CHECK_SYS(read(fd, buf + done, n));
			CHECK_GT(got, 0);
			done += (size_t)got;
		}
		CHECK_EQ(read(fd, buf, 1), 0);
		CHECK_SYS(close(fd));
		CHECK_PATTERN(buf, 0, size, seed);
		CHECK_SYS(unlink(path2));
	}
	free(buf);
	CHECK_EQ(dir_count(dir, 100), 2);
	CHECK_SYS(rmdir(dir));
	return NULL;
}

static void test_threads_private_files(void)
{
	run_threads(8, worker_private_files, NULL);
	CHECK_EQ(xstat(".").st_nlink, 2);
}

struct shared_read {
	int fd;
	size_t size;
	uint64_t sum;
};

static void *worker_shared_read(void *arg)
{
	struct worker *w = arg;
	struct shared_read *s = w->shared;
	unsigned char *buf = malloc(256 * 1024);
	uint64_t sum = FNV_INIT;
	int fd;

	if (!buf)
		FAILF("out of memory");
	/* Half the threads share one fd, the others open their own. */
	fd = (w->idx & 1) ? CHECK_SYS(open("shared", O_RDONLY)) : s->fd;
	for (int i = 0; i < 100; i++) {
		size_t off = rnd(&w->rng, s->size), len = rnd(&w->rng, 128 * 1024) + 1;

		if (off + len > s->size)
			len = s->size - off;
		CHECK_EQ(pread_full(fd, buf, len, (off_t)off), len);
		CHECK_PATTERN(buf, off, len, 99);
	}
	for (size_t off = 0; off < s->size; off += 256 * 1024) {
		size_t len = s->size - off < 256 * 1024 ? s->size - off : 256 * 1024;
		CHECK_EQ(pread_full(fd, buf, len, (off_t)off), len);
		sum = fnv1a(sum, buf, len);
	}
	if (sum != s->sum)
		FAILF("thread %d: checksum of the whole file 0x%llx, expected 0x%llx",
		      w->idx, (unsigned long long)sum, (unsigned long long)s->sum);
	if (w->idx & 1)
		CHECK_SYS(close(fd));
	free(buf);
	return NULL;
}

static void test_threads_read_shared_file(void)
{
	struct shared_read s = { .size = 4 * MiB + 333 };
	unsigned char *buf = talloc(s.size);
	int fd = CHECK_SYS(open("shared", O_CREAT | O_RDWR, 0644));

	pattern_fill(buf, 0, s.size, 99);
	pwrite_all(fd, buf, s.size, 0);
	s.sum = fnv1a(FNV_INIT, buf, s.size);
	CHECK_SYS(close(fd));
	s.fd = CHECK_SYS(open("shared", O_RDONLY));
	run_threads(8, worker_shared_read, &s);
	CHECK_SYS(close(s.fd));
}

enum { RN_FILES = 48, RN_DIRS = 3 };

static void rename_path(char *buf, size_t len, int dir, int variant, int n)
{
	snprintf(buf, len, "r%d/%c%d", dir, variant ? 'g' : 'f', n);
}

static void *worker_rename(void *arg)
{
	struct worker *w = arg;
	char src[32], dst[32];

	for (int i = 0; i < 400; i++) {
		int n = (int)rnd(&w->rng, RN_FILES);

		rename_path(src, sizeof(src), (int)rnd(&w->rng, RN_DIRS), (int)rnd(&w->rng, 2), n);
		rename_path(dst, sizeof(dst), (int)rnd(&w->rng, RN_DIRS), (int)rnd(&w->rng, 2), n);
		/* File n has one name at any time; a stale guess is ENOENT. */
		if (rename(src, dst) && errno != ENOENT)
			fail_at(__FILE__, __LINE__, errno, "rename(%s, %s)", src, dst);
	}
	return NULL;
}

static void test_threads_concurrent_renames(void)
{
	char path[32], content[64];

	for (int d = 0; d < RN_DIRS; d++) {
		snprintf(path, sizeof(path), "r%d", d);
		CHECK_SYS(mkdir(path, 0755));
	}
	for (int n = 0; n < RN_FILES; n++) {
		rename_path(path, sizeof(path), n % RN_DIRS, 0, n);
		snprintf(content, sizeof(content), "file %d content", n);
		make_file(path, 0644, content);
	}
	run_threads(6, worker_rename, NULL);

	int total = 0;
	for (int n = 0; n < RN_FILES; n++) {
		int found = 0;
		for (int d = 0; d < RN_DIRS; d++)
			for (int v = 0; v < 2; v++) {
				rename_path(path, sizeof(path), d, v, n);
				if (exists(path)) {
					found++;
					snprintf(content, sizeof(content), "file %d content", n);
					CHECK_FILE(path, content);
				}
			}
		if (found != 1)
			FAILF("file %d exists under %d names", n, found);
	}
	/* And the directories list exactly those names. */
	for (int d = 0; d < RN_DIRS; d++) {
		snprintf(path, sizeof(path), "r%d", d);
		total += dir_count(path, 1000) - 2;
	}
	CHECK_EQ(total, RN_FILES);
}

enum { CH_STABLE = 200, CH_THREADS = 3, CH_ITER = 300, CH_READERS = 2 };

static void *worker_churn_or_read(void *arg)
{
	struct worker *w = arg;
	char name[32];

	if (w->idx < CH_THREADS) {
		/* Unique names, never reused: each may show up at most once. */
		for (int i = 0; i < CH_ITER; i++) {
			snprintf(name, sizeof(name), "c%d_%d", w->idx, i);
			int fd = CHECK_SYS(open(name, O_CREAT | O_EXCL | O_WRONLY, 0644));
			CHECK_SYS(close(fd));
			if (i >= 5) {
				snprintf(name, sizeof(name), "c%d_%d", w->idx, i - 5);
				CHECK_SYS(unlink(name));
			}
		}
		for (int i = CH_ITER - 5; i < CH_ITER; i++) {
			snprintf(name, sizeof(name), "c%d_%d", w->idx, i);
			CHECK_SYS(unlink(name));
		}
		return NULL;
	}
	unsigned char *stable = malloc(CH_STABLE), *churn = malloc(CH_THREADS * CH_ITER);
	if (!stable || !churn)
		FAILF("out of memory");
	for (int pass = 0; pass < 15; pass++) {
		struct dirent *de;
		int dots = 0;
		DIR *d = CHECK_PTR(opendir("."));

		memset(stable, 0, CH_STABLE);
		memset(churn, 0, CH_THREADS * CH_ITER);
		errno = 0;
		while ((de = readdir(d))) {
			int a, b;
			char c;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
				dots++;
			} else if (sscanf(de->d_name, "s%d%c", &a, &c) == 1 && a >= 0 && a < CH_STABLE) {
				if (stable[a]++)
					FAILF("pass %d: \"%s\" returned twice", pass, de->d_name);
			} else if (sscanf(de->d_name, "c%d_%d%c", &a, &b, &c) == 2 && a >= 0 &&
				   a < CH_THREADS && b >= 0 && b < CH_ITER) {
				if (churn[a * CH_ITER + b]++)
					FAILF("pass %d: \"%s\" returned twice", pass, de->d_name);
			} else {
				FAILF("pass %d: unexpected entry \"%.60s\"", pass, de->d_name);
			}
		}
		if (errno)
			fail_at(__FILE__, __LINE__, errno, "readdir");
		closedir(d);
		if (dots != 2)
			FAILF("pass %d: %d dot entries", pass, dots);
		for (int i = 0; i < CH_STABLE; i++)
			if (stable[i] != 1)
				FAILF("pass %d: s%d seen %d times", pass, i, stable[i]);
	}
	free(stable);
	free(churn);
	return NULL;
}

static void test_threads_readdir_during_churn(void)
{
	char name[32];

	for (int i = 0; i < CH_STABLE; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		make_file(name, 0644, "");
	}
	run_threads(CH_THREADS + CH_READERS, worker_churn_or_read, NULL);
	CHECK_EQ(dir_count(".", 10000), CH_STABLE + 2);
}

/* ------------------------------------------------------------------------ */
/* Names, many files, large I/O                                             */
/* ------------------------------------------------------------------------ */

static void test_name_too_long(void)
{
	char n255[256], n255b[256], n256[257], *longpath = talloc(5000);
	struct stat st;
	int fd;

	memset(n255, 'a', 255);
	n255[255] = 0;
	memset(n255b, 'b', 255);
	n255b[255] = 0;
	memset(n256, 'c', 256);
	n256[256] = 0;

	fd = CHECK_SYS(open(n255, O_CREAT | O_WRONLY, 0644));
	write_all(fd, "255", 3);
	CHECK_SYS(close(fd));
	CHECK_FILE(n255, "255");
	CHECK_SYS(rename(n255, n255b));
	CHECK(!exists(n255));
	CHECK_SYS(mkdir(n255, 0755));
	CHECK_SYS(rmdir(n255));

	/* One more byte is refused by every operation that takes a name. */
	CHECK_ERRNO(open(n256, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
	CHECK_ERRNO(open(n256, O_RDONLY), ENAMETOOLONG);
	CHECK_ERRNO(stat(n256, &st), ENAMETOOLONG);
	CHECK_ERRNO(lstat(n256, &st), ENAMETOOLONG);
	CHECK_ERRNO(mkdir(n256, 0755), ENAMETOOLONG);
	CHECK_ERRNO(rename(n255b, n256), ENAMETOOLONG);
	CHECK_ERRNO(unlink(n256), ENAMETOOLONG);
	CHECK_ERRNO(rmdir(n256), ENAMETOOLONG);
	if (has(F_SYMLINK))
		CHECK_ERRNO(symlink("x", n256), ENAMETOOLONG);
	if (has(F_HARDLINK))
		CHECK_ERRNO(link(n255b, n256), ENAMETOOLONG);
	if (has(F_MKNOD))
		CHECK_ERRNO(mkfifo(n256, 0644), ENAMETOOLONG);
	CHECK_FILE(n255b, "255");

	/* A path over PATH_MAX, each component short. */
	for (int i = 0; i < 4998; i += 2) {
		longpath[i] = 'p';
		longpath[i + 1] = '/';
	}
	longpath[4999] = 0;
	CHECK_ERRNO(stat(longpath, &st), ENAMETOOLONG);
	CHECK_ERRNO(open(longpath, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
}

static void test_many_open_files(void)
{
	enum { N = 500 };
	int *fds = talloc(N * sizeof(int)), same[100];
	char name[32], buf[32];
	struct rlimit rl;

	CHECK_SYS(getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_cur < N + 150)
		skip_test("RLIMIT_NOFILE too low");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		fds[i] = CHECK_SYS(open(name, O_CREAT | O_RDWR, 0644));
		snprintf(buf, sizeof(buf), "file %d", i);
		write_all(fds[i], buf, strlen(buf));
	}
	/* Every handle still refers to its own file. */
	for (int i = 0; i < N; i++) {
		char want[32];
		ssize_t n = CHECK_SYS(pread(fds[i], buf, sizeof(buf), 0));

		snprintf(want, sizeof(want), "file %d", i);
		if ((size_t)n != strlen(want) || memcmp(buf, want, (size_t)n))
			FAILF("fd of f%d reads \"%.*s\"", i, (int)n, buf);
	}
	for (int i = 0; i < 100; i++)
		same[i] = CHECK_SYS(open("f7", O_RDWR));
	pwrite_all(same[99], "FILE", 4, 0);
	for (int i = 0; i < 100; i++) {
		CHECK_EQ(pread(same[i], buf, 4, 0), 4);
		CHECK_MEM(buf, "FILE", 4);
		CHECK_SYS(close(same[i]));
	}
	for (int i = 0; i < N; i++)
		CHECK_SYS(close(fds[i]));
	CHECK_FILE("f7", "FILE 7");
}

static void test_large_io_64m(void)
{
	const size_t size = 64 * MiB, chunk = MiB, odd = 1048573, odd_read = 777777;
	unsigned char *buf = talloc(chunk);
	uint64_t want = FNV_INIT, sum = FNV_INIT;
	int fd = CHECK_SYS(open("big", O_CREAT | O_RDWR | O_TRUNC, 0644));
	size_t off;

	/* 1 MiB writes, odd-sized reads. */
	for (off = 0; off < size; off += chunk) {
		pattern_fill(buf, off, chunk, 64);
		want = fnv1a(want, buf, chunk);
		pwrite_all(fd, buf, chunk, (off_t)off);
	}
	CHECK_EQ(xfstat(fd).st_size, (off_t)size);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	for (off = 0; off < size;) {
		size_t n = read_full(fd, buf, odd_read);
		if (n == 0)
			FAILF("early EOF at %zu", off);
		CHECK_PATTERN(buf, off, n, 64);
		sum = fnv1a(sum, buf, n);
		off += n;
	}
	CHECK_EQ(off, size);
	CHECK_EQ(read(fd, buf, 1), 0);
	CHECK_EQ_U64(sum, want);

	/* Odd-sized writes of new content, 1 MiB reads. */
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	want = FNV_INIT;
	for (off = 0; off < size;) {
		size_t n = size - off < odd ? size - off : odd;
		pattern_fill(buf, off, n, 65);
		want = fnv1a(want, buf, n);
		write_all(fd, buf, n);
		off += n;
	}
	CHECK_EQ(xfstat(fd).st_size, (off_t)size);
	sum = FNV_INIT;
	for (off = 0; off < size; off += chunk) {
		CHECK_EQ(pread_full(fd, buf, chunk, (off_t)off), chunk);
		CHECK_PATTERN(buf, off, chunk, 65);
		sum = fnv1a(sum, buf, chunk);
	}
	CHECK_EQ_U64(sum, want);
	CHECK_SYS(close(fd));
	CHECK_SYS(unlink("big"));
}

/* ------------------------------------------------------------------------ */
/* The test table                                                           */
/* ------------------------------------------------------------------------ */

struct test {
	const char *name;
	void (*fn)(void);
	unsigned need;		/* F_* features and NEED_ROOT */
	const char *what;
};

#define T(n, need, what) { #n, test_##n, need, what }

static const struct test tests[] = {
	T(open_create_excl, 0, "O_CREAT|O_EXCL, creat(), EEXIST/EISDIR/ENOTDIR/ENOENT/EBADF"),
	T(open_trunc, 0, "O_TRUNC empties the file for every fd"),
	T(open_append, 0, "O_APPEND writes land at the current end"),
	T(open_direct, F_ODIRECT, "O_DIRECT I/O, coherent with cached I/O"),
	T(rw_odd_offsets, 0, "write/pwrite/pread at odd offsets against a shadow copy"),
	T(write_beyond_eof_leaves_zeros, 0, "a write past EOF leaves a zero-filled gap"),
	T(readv_writev, 0, "readv/writev/preadv/pwritev with odd iovec splits"),
	T(zero_length_io, 0, "zero-length reads and writes succeed and change nothing"),
	T(lseek_basic, 0, "SEEK_SET/CUR/END, EINVAL, extension by another fd"),
	T(write_updates_mtime, 0, "write, truncate and O_TRUNC set mtime and ctime"),
	T(truncate_shrink_then_grow_reads_zeros, 0, "truncate down and up: old data does not return"),
	T(stat_fields, 0, "stat/fstat/lstat agree; size, mode, nlink, ids, blocks"),
	T(statx_fields, 0, "statx mask and fields match stat"),
	T(chmod_fchmod, 0, "chmod/fchmod, through symlinks, umask not applied"),
	T(chown_as_root, F_OWNER | NEED_ROOT, "chown/fchown/lchown store uid and gid"),
	T(chown_clears_suid, F_OWNER | NEED_ROOT, "chown clears suid/sgid of files, not dirs"),
	T(utimensat_precision_and_omit, 0, "utimensat ns precision, UTIME_NOW, UTIME_OMIT, y2038"),
	T(dir_times_update, 0, "creating, renaming, removing entries updates the dir mtime"),
	T(mkdir_rmdir_errors, 0, "mkdir/rmdir modes, nlink, EEXIST/ENOTEMPTY/ENOTDIR/EINVAL"),
	T(rmdir_cwd_then_create_fails, 0, "a removed directory stays dead while open"),
	T(unlink, 0, "unlink, EISDIR/EPERM on dirs, name reuse"),
	T(rename_file, 0, "rename keeps the inode, across dirs, error cases"),
	T(rename_replaces_file, 0, "rename over a file; the old target lives on while open"),
	T(rename_replaces_empty_dir, 0, "rename a dir over an empty dir"),
	T(rename_dir_errors, 0, "ENOTEMPTY, EISDIR, ENOTDIR, EINVAL into own subdir"),
	T(rename_same_file_is_noop, 0, "rename to itself or to a hard link of itself"),
	T(rename_dir_across_parents, 0, "moving a dir fixes .. and both parents' nlink"),
	T(rename_open_file, 0, "an open file keeps working across rename"),
	T(rename_noreplace, F_RENAME2, "RENAME_NOREPLACE: EEXIST, or a plain rename"),
	T(rename_exchange, F_RENAME2, "RENAME_EXCHANGE file<->dir, across dirs, nlink"),
	T(link_counts_and_shared_data, F_HARDLINK, "hard links: nlink, shared data, unlink one"),
	T(symlink_readlink, F_SYMLINK, "symlink/readlink, dangling, O_CREAT through, ELOOP"),
	T(symlink_long_target, F_SYMLINK, "4000- and 4095-byte targets; 4096 is ENAMETOOLONG"),
	T(mknod_fifo_socket_regular, F_MKNOD, "mkfifo and mknod of FIFO, socket, regular file"),
	T(mknod_devices, F_MKNOD | NEED_ROOT, "char and block device nodes keep st_rdev"),
	T(unlinked_open_file_keeps_working, 0, "read/write/fstat/ftruncate after unlink"),
	T(tmpfile_linkat, F_TMPFILE | F_HARDLINK, "O_TMPFILE, linkat via /proc/self/fd, O_EXCL"),
	T(readdir_names_types_inodes, 0, "every name once, d_type, d_ino, rewinddir, small buffers"),
	T(readdir_while_modifying, 0, "entries present throughout are listed once despite churn"),
	T(readdir_seekdir_telldir, 0, "seekdir resumes at the same entry, also after changes"),
	T(dir_10k_entries, 0, "create, list, stat and remove 10000 entries"),
	T(xattr_set_get_list_remove, F_XATTR, "xattr values, flags, ENODATA/ERANGE/EEXIST, size query"),
	T(acl_access_and_default, F_ACL | F_PERMS | NEED_ROOT, "POSIX ACLs grant and deny; default ACL inheritance"),
	T(statfs_plausible, 0, "statfs/fstatfs/statvfs consistent and plausible"),
	T(fallocate_allocates_and_keeps_size, F_FALLOCATE, "fallocate mode 0 and KEEP_SIZE"),
	T(fallocate_punch_hole, F_FALLOCATE, "PUNCH_HOLE zeroes exactly the range and frees blocks"),
	T(fallocate_zero_range, F_ZERO_RANGE, "ZERO_RANGE zeroes exactly the range, may extend"),
	T(seek_data_hole_dense, 0, "SEEK_DATA/SEEK_HOLE on a dense file, ENXIO at EOF"),
	T(seek_data_hole_sparse, F_SEEK_DATA | F_SPARSE, "SEEK_DATA/SEEK_HOLE find the holes"),
	T(sparse_file_blocks, F_SPARSE, "a hole reads as zeros and takes no blocks"),
	T(sparse_over_4g, F_BIG | F_SPARSE, "data at 5 GiB, zeros in the hole, no 32-bit wrap"),
	T(copy_file_range_content, 0, "copy_file_range copies exactly, offsets, EINVAL/EBADF"),
	T(fsync_fdatasync_syncfs, 0, "fsync/fdatasync/syncfs/sync_file_range on files and dirs"),
	T(mmap_shared_write_read_coherent, F_MMAP, "MAP_SHARED stores reach read() and back"),
	T(exec_binary_from_fs, F_MMAP, "a binary on the filesystem runs; no x bit, no exec"),
	T(fcntl_lock_conflict_between_processes, F_LOCKS, "F_SETLK conflicts, F_GETLK names the holder"),
	T(fcntl_setlkw_waits_for_unlock, F_LOCKS, "F_SETLKW gets the lock after its release"),
	T(fcntl_lock_released_by_any_close, F_LOCKS, "closing any fd drops the process's locks"),
	T(ofd_locks, F_LOCKS, "F_OFD_SETLK/GETLK per open file description"),
	T(flock_exclusive_shared, F_LOCKS, "flock LOCK_EX/LOCK_SH/LOCK_NB, independent of fcntl"),
	T(access_as_root, F_PERMS | NEED_ROOT, "access(): root needs an x bit for X_OK"),
	T(perms_nonroot_files, F_PERMS | NEED_ROOT, "another user: EACCES by file mode"),
	T(perms_nonroot_dirs, F_PERMS | NEED_ROOT, "another user: search/read/write bits of dirs"),
	T(perms_group_membership, F_PERMS | F_OWNER | NEED_ROOT, "group bits via primary and supplementary groups"),
	T(perms_chmod_chown_by_nonowner, F_PERMS | F_OWNER | NEED_ROOT, "EPERM for chmod/chown by others"),
	T(sticky_dir_protects_entries, F_PERMS | NEED_ROOT, "sticky dir: only owners remove or rename"),
	T(write_by_other_clears_suid, F_PERMS | NEED_ROOT, "write/truncate by another user clears suid/sgid"),
	T(setgid_dir_inheritance, F_OWNER | NEED_ROOT, "setgid dirs pass on their group and the bit"),
	T(umask_applied_on_create, 0, "umask masks open/mkdir/mkfifo/O_TMPFILE modes"),
	T(name_too_long, 0, "255-byte names work, 256 is ENAMETOOLONG everywhere"),
	T(many_open_files, 0, "500 files and 100 fds of one file open at once"),
	T(threads_private_files, 0, "8 threads create/write/read/verify/delete files"),
	T(threads_read_shared_file, 0, "8 threads read one file with checksums"),
	T(threads_concurrent_renames, 0, "6 threads rename files among dirs; none lost or doubled"),
	T(threads_readdir_during_churn, 0, "readdir in threads while others create and unlink"),
	T(large_io_64m, 0, "64 MiB in 1 MiB and odd-sized chunks with checksums"),
};

#define NTESTS (sizeof(tests) / sizeof(tests[0]))

/* ------------------------------------------------------------------------ */
/* Runner                                                                   */
/* ------------------------------------------------------------------------ */

static int g_rootfd = -1, g_fd_base;
static int g_passed, g_failed, g_skipped;
static bool g_fs_gone;
static unsigned g_timeout = 120;
static const char *volatile g_phase = "";

static void put_str(const char *s)
{
	ssize_t w = write(STDOUT_FILENO, s, strlen(s));
	(void)w;
}

static void put_num(long v)
{
	char b[24];
	int i = sizeof(b);

	b[--i] = 0;
	do
		b[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	put_str(b + i);
}

/* A hung or crashing test must still produce a report line and a summary. */
static void on_fatal_signal(int sig)
{
	kill_children();
	put_str("not ok ");
	put_str(g_test);
	if (sig == SIGALRM) {
		put_str(": timed out");
		put_str(g_phase);
		put_str(" after ");
		put_num((long)g_timeout);
		put_str(" s");
	} else {
		put_str(": killed by signal ");
		put_str(sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "?");
	}
	put_str("\nsyscalls: ");
	put_num(g_passed);
	put_str(" passed, ");
	put_num(g_failed + 1);
	put_str(" failed, ");
	put_num(g_skipped);
	put_str(" skipped (aborted)\n");
	_exit(1);
}

/* A set of 64-bit name hashes; a collision only costs a false "repeat". */
struct hashset {
	uint64_t *h;
	size_t n, cap;
};

static void hs_put(struct hashset *s, uint64_t h)
{
	size_t j = h & (s->cap - 1);

	while (s->h[j])
		j = (j + 1) & (s->cap - 1);
	s->h[j] = h;
	s->n++;
}

/* Adds name; true if it was there already. */
static bool seen_before(struct hashset *s, const char *name)
{
	uint64_t h = fnv1a(FNV_INIT, name, strlen(name)) | 1;	/* 0 marks empty */

	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct hashset t = { calloc(cap, sizeof(uint64_t)), 0, cap };

		if (!t.h)
			return false;
		for (size_t i = 0; i < s->cap; i++)
			if (s->h[i])
				hs_put(&t, s->h[i]);
		free(s->h);
		*s = t;
	}
	for (size_t j = h & (s->cap - 1); s->h[j]; j = (j + 1) & (s->cap - 1))
		if (s->h[j] == h)
			return true;
	hs_put(s, h);
	return false;
}

/* Removes name under dfd recursively; returns 0 or an errno, text in err. */
static int rm_rf_at(int dfd, const char *name, char *err, size_t errlen, int depth)
{
	struct stat st;
	int fd, e = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "stat %s: %s", name, strerror(errno)), errno);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
			return 0;
		e = errno;
		snprintf(err, errlen, "unlink %s: %s", name, strerror(e));
		return e;
	}
	if (depth > 64) {
		snprintf(err, errlen, "%s: too deep", name);
		return ELOOP;
	}
	fchmodat(dfd, name, 0700, 0);
	for (int pass = 0; pass < 3; pass++) {
		DIR *d;
		struct dirent *de;
		char **names = NULL;
		size_t n = 0, cap = 0;
		struct hashset seen = { 0 };

		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd < 0 || !(d = fdopendir(fd))) {
			e = errno;
			if (fd >= 0)
				close(fd);
			snprintf(err, errlen, "open %s: %s", name, strerror(e));
			return e;
		}
		/*
		 * Collect first: removing while listing is what tests check. A
		 * repeated name means the listing may never end: give up on it.
		 */
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (seen_before(&seen, de->d_name)) {
				snprintf(err, errlen, "listing %s repeats \"%.40s\"", name, de->d_name);
				e = EIO;
				break;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				char **nn = realloc(names, cap * sizeof(*names));
				if (!nn)
					break;
				names = nn;
			}
			names[n++] = strdup(de->d_name);
		}
		for (size_t i = 0; i < n; i++) {
			if (names[i] && !e)
				e = rm_rf_at(dirfd(d), names[i], err, errlen, depth + 1);
			free(names[i]);
		}
		free(names);
		free(seen.h);
		closedir(d);
		if (e)
			return e;
		if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
			return 0;
		e = errno;
		if (e != ENOTEMPTY && e != EEXIST)
			break;
		e = 0;
	}
	if (!e)
		e = ENOTEMPTY;
	snprintf(err, errlen, "rmdir %s: %s", name, strerror(e));
	return e;
}

static void run_one(const struct test *t)
{
	char dname[128], err[512];
	struct timespec t0, t1;
	unsigned missing = t->need & ~NEED_ROOT & ~g_features;
	int dfd;

	g_test = t->name;
	if (missing) {
		for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
			if (missing & feature_names[i].bit) {
				printf("skip %s: feature %s disabled\n", t->name, feature_names[i].name);
				break;
			}
		g_skipped++;
		return;
	}
	if ((t->need & NEED_ROOT) && geteuid() != 0) {
		printf("skip %s: needs root\n", t->name);
		g_skipped++;
		return;
	}

	snprintf(dname, sizeof(dname), "%s.%d", t->name, (int)getpid());
	g_result = R_OK_;
	g_msg[0] = 0;
	umask(022);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mkdirat(g_rootfd, dname, 0755) || fchmodat(g_rootfd, dname, 0755, 0) ||
	    (dfd = openat(g_rootfd, dname, O_RDONLY | O_DIRECTORY)) < 0) {
		g_result = R_FAIL;
		/* A dead filesystem fails every test alike: say it once and stop. */
		if (errno == ENOTCONN || errno == ECONNABORTED || errno == ECANCELED)
			g_fs_gone = true;
		snprintf(g_msg, sizeof(g_msg), "cannot set up test directory %s (%s)%s",
			 dname, strerror(errno), g_fs_gone ? "; the filesystem is gone, stopping" : "");
	} else {
		if (fchdir(dfd)) {
			g_result = R_FAIL;
			snprintf(g_msg, sizeof(g_msg), "fchdir (%s)", strerror(errno));
		}
		close(dfd);
		fflush(stdout);
		if (g_result == R_OK_) {
			alarm(g_timeout);
			if (setjmp(g_jmp) == 0)
				t->fn();
		}
	}
	/* Cleanup talks to the filesystem too, so it gets a watchdog of its own. */
	g_phase = " in cleanup";
	alarm(g_timeout);
	release_resources();
	if (fchdir(g_rootfd) && g_result == R_OK_) {
		g_result = R_FAIL;
		snprintf(g_msg, sizeof(g_msg), "fchdir back to DIR (%s)", strerror(errno));
	}
	close_range((unsigned)g_fd_base, ~0U, 0);
	umask(022);
	if (rm_rf_at(g_rootfd, dname, err, sizeof(err), 0) && g_result != R_FAIL) {
		g_result = R_FAIL;
		snprintf(g_msg, sizeof(g_msg), "cleanup: %s", err);
	}
	alarm(0);
	g_phase = "";
	clock_gettime(CLOCK_MONOTONIC, &t1);

	switch (g_result) {
	case R_OK_:
		printf("ok %s", t->name);
		g_passed++;
		break;
	case R_SKIP:
		printf("skip %s: %s", t->name, g_msg);
		g_skipped++;
		break;
	default:
		printf("not ok %s: %s", t->name, g_msg);
		g_failed++;
		break;
	}
	if (g_verbose)
		printf(" # %.3f s", (double)(t1.tv_sec - t0.tv_sec) +
					    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("\n");
	fflush(stdout);
}

static int parse_features(const char *list)
{
	char *copy = strdup(list), *save = NULL, *tok;
	bool first = true;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool on = true;
		unsigned bit = 0;

		if (*tok == '-' || *tok == '+') {
			on = *tok == '+';
			tok++;
		} else if (first && strcmp(tok, "all") && strcmp(tok, "none")) {
			g_features = 0;
		}
		first = false;
		if (!strcmp(tok, "all")) {
			bit = F_ALL;
		} else if (!strcmp(tok, "none")) {
			bit = F_ALL;
			on = !on;
		} else {
			for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
				if (!strcmp(tok, feature_names[i].name))
					bit = feature_names[i].bit;
		}
		if (!bit) {
			fprintf(stderr, "syscalls: unknown feature \"%s\"\n", tok);
			free(copy);
			return -1;
		}
		g_features = on ? g_features | bit : g_features & ~bit;
	}
	free(copy);
	return 0;
}

/* NAME matches a comma-separated list of fnmatch patterns. */
static bool in_list(const char *list, const char *name)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		char pat[128];

		if (n && n < sizeof(pat)) {
			memcpy(pat, p, n);
			pat[n] = 0;
			if (!fnmatch(pat, name, 0))
				return true;
		}
		p += n;
		if (*p)
			p++;
	}
	return false;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: syscalls [-v] [-l] [-o NAME[,NAME...]] [-x NAME[,NAME...]]\n"
		"                [-t SECONDS] [--features LIST] DIR\n"
		"features:");
	for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
		fprintf(f, " %s", feature_names[i].name);
	fprintf(f, "\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "features", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *only = NULL, *exclude = NULL;
	struct sigaction sa;
	struct rlimit rl;
	bool list = false;
	int opt;

	/* exec_binary_from_fs runs a copy of this program. */
	if (argc == 2 && !strcmp(argv[1], "--exec-probe"))
		return 42;

	while ((opt = getopt_long(argc, argv, "vlo:x:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			g_verbose++;
			break;
		case 'l':
			list = true;
			break;
		case 'o':
			only = optarg;
			break;
		case 'x':
			exclude = optarg;
			break;
		case 't':
			g_timeout = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'F':
			if (parse_features(optarg))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (list) {
		for (size_t i = 0; i < NTESTS; i++) {
			if (only && !in_list(only, tests[i].name))
				continue;
			if (exclude && in_list(exclude, tests[i].name))
				continue;
			printf("%s", tests[i].name);
			if (g_verbose) {
				printf(" [");
				const char *sep = "";
				for (size_t f = 0; f < sizeof(feature_names) / sizeof(feature_names[0]); f++)
					if (tests[i].need & feature_names[f].bit) {
						printf("%s%s", sep, feature_names[f].name);
						sep = ",";
					}
				if (tests[i].need & NEED_ROOT)
					printf("%sroot", sep);
				printf("] %s", tests[i].what);
			}
			printf("\n");
		}
		return 0;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (only) {
		/* A name that matches nothing is a typo, not a pass. */
		const char *p = only;
		while (*p) {
			size_t n = strcspn(p, ",");
			char pat[128];
			bool any = false;
			if (n && n < sizeof(pat)) {
				memcpy(pat, p, n);
				pat[n] = 0;
				for (size_t i = 0; i < NTESTS; i++)
					any |= !fnmatch(pat, tests[i].name, 0);
				if (!any) {
					fprintf(stderr, "syscalls: no test matches \"%s\"\n", pat);
					return 2;
				}
			}
			p += n;
			if (*p)
				p++;
		}
	}

	g_rootfd = open(argv[optind], O_RDONLY | O_DIRECTORY);
	if (g_rootfd < 0) {
		fprintf(stderr, "syscalls: %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	/* Everything opened from here on belongs to a test and is closed after it. */
	g_fd_base = g_rootfd + 1;
	for (int fd = g_fd_base; fd < g_fd_base + 64; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			g_fd_base = fd + 1;
	g_main_thread = pthread_self();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (g_verbose) {
		printf("# features:");
		for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
			if (has(feature_names[i].bit))
				printf(" %s", feature_names[i].name);
		printf("\n# uid %d, dir %s\n", (int)geteuid(), argv[optind]);
	}

	for (size_t i = 0; i < NTESTS; i++) {
		if (only && !in_list(only, tests[i].name))
			continue;
		if (exclude && in_list(exclude, tests[i].name))
			continue;
		run_one(&tests[i]);
		if (g_fs_gone)
			break;
	}
	printf("syscalls: %d passed, %d failed, %d skipped%s\n", g_passed, g_failed, g_skipped,
	       g_fs_gone ? " (aborted: filesystem gone)" : "");
	return g_failed ? 1 : 0;
}
