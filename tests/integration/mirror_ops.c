/* SPDX-License-Identifier: MIT */
/*
 * mirror_ops.c - a random workload on a mirror (a passthrough mount) that
 * is then checked against the source directory it mirrors.
 *
 *   mirror_ops [-t THREADS] [-n OPS] [-s SEED] [-m MODE] MIRROR_DIR SOURCE_DIR
 *
 * MIRROR_DIR is a directory on the mount, SOURCE_DIR the same directory seen
 * on the source. Each thread works in its own subdirectory tN/ of
 * MIRROR_DIR (so its expected state is known exactly) and on its own stripe
 * of one file all threads share. The operations: create (with and without
 * O_TRUNC, write-only or read-write), writes at random offsets, appends
 * (O_APPEND), truncate, rename (within and across directories, over
 * existing names, between links of one file), link, unlink, chmod, user
 * xattrs, mmap writes, hole punching, copy_file_range, and read-backs
 * compared with the model as the workload goes.
 *
 * MODE says how data is written: buffered (pwrite), direct (O_DIRECT with
 * aligned buffers, offsets and sizes), mmap (MAP_SHARED stores), or mixed
 * (each write picks one; read-backs use another path than the write, which
 * checks that they see each other).
 *
 * At the end every name is checked on both sides against the model: the
 * same names in each directory, the same inode number on both sides (and
 * for all links of a file), size, mode, link count, every byte, and the
 * user xattrs. Output: diagnostic lines, then
 *   mirror_ops: OK: N operations by T threads (mode M, seed S)
 * or "mirror_ops: FAIL: ..." lines and exit status 1 (2: usage).
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define NNAMES		16		/* d0/n0..n7, d1/n0..n7 */
#define NDIRS		2
#define MAXOBJ		64
#define MAX_FILE	(512 * 1024)
#define ALIGN		4096
#define NXATTR		4
#define XVAL_MAX	32
#define STRIPE		(128 * 1024)
#define DIR_MAX		1024		/* MIRROR_DIR and SOURCE_DIR: paths built from them fit PATH_MAX */

enum mode { M_BUFFERED, M_DIRECT, M_MMAP, M_MIXED };
static const char *const mode_names[] = { "buffered", "direct", "mmap", "mixed" };

struct obj {
	bool used;
	unsigned char *data;		/* MAX_FILE bytes; size valid */
	size_t size;
	mode_t mode;
	int nlink;
	int xlen[NXATTR];		/* -1: absent */
	char xval[NXATTR][XVAL_MAX];
};

struct thread {
	int id;
	pthread_t th;
	uint64_t rng;
	char mdir[DIR_MAX + 16], sdir[DIR_MAX + 16];
	struct obj objs[MAXOBJ];
	struct obj *names[NNAMES];
	unsigned char *stripe;		/* model of this thread's stripe of the shared file */
	unsigned char *buf;		/* aligned scratch */
	unsigned char *rbuf;
	long ops;
	bool failed;
};

static enum mode g_mode = M_MIXED;
static long g_ops = 2000;
static int g_threads = 4;
static uint64_t g_seed = 1;
static char g_mirror[DIR_MAX], g_source[DIR_MAX];
static atomic_int g_failures;
static pthread_mutex_t g_out = PTHREAD_MUTEX_INITIALIZER;

static void fail(struct thread *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct thread *t, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&g_failures, 1) >= 20)
		return;	/* enough to see the problem */
	pthread_mutex_lock(&g_out);
	printf("mirror_ops: FAIL: t%d op %ld: ", t ? t->id : -1, t ? t->ops : 0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&g_out);
	if (t)
		t->failed = true;
}

static uint64_t rnd(struct thread *t)
{
	uint64_t x = t->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return t->rng = x;
}

static unsigned rnd_below(struct thread *t, unsigned n)
{
	return (unsigned)(rnd(t) % n);
}

static void fill_random(struct thread *t, unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 8) {
		uint64_t v = rnd(t);

		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

static void name_path(const struct thread *t, bool source, int n, char *buf, size_t len)
{
	snprintf(buf, len, "%s/d%d/n%d", source ? t->sdir : t->mdir, n / (NNAMES / NDIRS),
		 n % (NNAMES / NDIRS));
}

static struct obj *obj_new(struct thread *t, mode_t mode)
{
	int i;

	for (i = 0; i < MAXOBJ; i++) {
		struct obj *o = &t->objs[i];

		if (!o->used) {
			o->used = true;
			o->size = 0;
			o->mode = mode;
			o->nlink = 1;
			for (int x = 0; x < NXATTR; x++)
				o->xlen[x] = -1;
			return o;
		}
	}
	return NULL;
}

static void name_drop(struct thread *t, int n)
{
	struct obj *o = t->names[n];

	t->names[n] = NULL;
	if (o && --o->nlink == 0)
		o->used = false;
}

/* The model of a write: extend with zeros up to off, then the bytes. */
static void model_write(struct obj *o, size_t off, const unsigned char *p, size_t n)
{
	if (off > o->size)
		memset(o->data + o->size, 0, off - o->size);
	memcpy(o->data + off, p, n);
	if (off + n > o->size)
		o->size = off + n;
}

static void model_truncate(struct obj *o, size_t size)
{
	if (size > o->size)
		memset(o->data + o->size, 0, size - o->size);
	o->size = size;
}

static int pick_name(struct thread *t, bool want_used)
{
	int tries;

	for (tries = 0; tries < 4 * NNAMES; tries++) {
		int n = (int)rnd_below(t, NNAMES);

		if (!!t->names[n] == want_used)
			return n;
	}
	return -1;
}

static enum mode write_mode(struct thread *t)
{
	return g_mode == M_MIXED ? (enum mode)rnd_below(t, 3) : g_mode;
}

/* ---- data writes in each mode ---- */

static int write_buffered(const char *path, size_t off, const unsigned char *p, size_t n,
			  int accmode)
{
	int fd = open(path, accmode);
	ssize_t w;

	if (fd < 0)
		return -errno;
	w = pwrite(fd, p, n, (off_t)off);
	close(fd);
	return w == (ssize_t)n ? 0 : (w < 0 ? -errno : -EIO);
}

static int write_direct(const char *path, size_t off, const unsigned char *p, size_t n)
{
	int fd = open(path, O_RDWR | O_DIRECT);
	ssize_t w;

	if (fd < 0)
		return -errno;
	w = pwrite(fd, p, n, (off_t)off);
	close(fd);
	return w == (ssize_t)n ? 0 : (w < 0 ? -errno : -EIO);
}

/* Stores through a shared mapping; the file is first extended to cover them. */
static int write_mmap(const char *path, size_t off, const unsigned char *p, size_t n,
		      size_t cur_size, bool sync)
{
	int fd = open(path, O_RDWR);
	size_t need = off + n, len;
	unsigned char *m;

	if (fd < 0)
		return -errno;
	if (need > cur_size && ftruncate(fd, (off_t)need)) {
		close(fd);
		return -errno;
	}
	len = need > cur_size ? need : cur_size;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	memcpy(m + off, p, n);
	if (sync && msync(m, len, MS_SYNC)) {
		munmap(m, len);
		close(fd);
		return -errno;
	}
	munmap(m, len);
	close(fd);
	return 0;
}

/* ---- read-back ---- */

static int read_all(const char *path, unsigned char *buf, size_t cap, bool direct, size_t *got)
{
	int fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
	size_t total = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		size_t want = cap - total < 65536 || !direct ? cap - total : 65536;
		ssize_t r = pread(fd, buf + total, want, (off_t)total);

		if (r < 0) {
			close(fd);
			return -errno;
		}
		if (r == 0)
			break;
		total += (size_t)r;
		if (total >= cap)
			break;
	}
	close(fd);
	*got = total;
	return 0;
}

static int read_mmap(const char *path, unsigned char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	unsigned char *m;

	if (fd < 0)
		return -errno;
	if (size) {
		m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			close(fd);
			return -errno;
		}
		memcpy(buf, m, size);
		munmap(m, size);
	}
	close(fd);
	return 0;
}

static void compare_bytes(struct thread *t, const char *what, const unsigned char *want,
			  size_t wlen, const unsigned char *got, size_t glen)
{
	size_t i;

	if (wlen != glen) {
		fail(t, "%s: %zu bytes, expected %zu", what, glen, wlen);
		return;
	}
	for (i = 0; i < wlen; i++) {
		if (want[i] != got[i]) {
			fail(t, "%s: byte %zu is 0x%02x, expected 0x%02x", what, i, got[i], want[i]);
			return;
		}
	}
}

/* Read a file back through a path other than mode m and compare with the model. */
static void verify_obj(struct thread *t, const char *path, const struct obj *o, enum mode m)
{
	enum mode r = (enum mode)((m + 1 + rnd_below(t, 2)) % 3);
	size_t got = 0;
	int e;

	if (r == M_MMAP) {
		e = read_mmap(path, t->rbuf, o->size);
		got = o->size;
	} else {
		e = read_all(path, t->rbuf, MAX_FILE + ALIGN, r == M_DIRECT, &got);
	}
	if (e) {
		fail(t, "read-back of %s (%s): %s", path, mode_names[r], strerror(-e));
		return;
	}
	compare_bytes(t, path, o->data, o->size, t->rbuf, got);
}

/* ---- operations ---- */

static void op_create(struct thread *t)
{
	static const mode_t modes[] = { 0644, 0600, 0640, 0664, 0755 };
	int n = (int)rnd_below(t, NNAMES);
	char path[PATH_MAX];
	struct obj *o = t->names[n];
	bool trunc = rnd_below(t, 2);
	int acc = rnd_below(t, 2) ? O_WRONLY : O_RDWR, fd;
	mode_t mode = modes[rnd_below(t, 5)];

	name_path(t, false, n, path, sizeof(path));
	if (!o && !(o = obj_new(t, mode)))
		return;
	fd = open(path, acc | O_CREAT | (trunc ? O_TRUNC : 0), mode);
	if (fd < 0) {
		fail(t, "create %s: %s", path, strerror(errno));
		if (!t->names[n])
			o->used = false;
		return;
	}
	close(fd);
	if (!t->names[n])
		t->names[n] = o;	/* new: mode as given (umask 0) */
	else if (trunc)
		model_truncate(o, 0);
}

static void op_write(struct thread *t)
{
	int n = pick_name(t, true);
	char path[PATH_MAX];
	enum mode m = write_mode(t);
	struct obj *o;
	size_t off, len;
	int e;

	if (n < 0)
		return;
	o = t->names[n];
	name_path(t, false, n, path, sizeof(path));
	if (m == M_DIRECT) {
		off = (size_t)rnd_below(t, MAX_FILE / ALIGN - 16) * ALIGN;
		len = (size_t)(1 + rnd_below(t, 16)) * ALIGN;
	} else {
		off = rnd_below(t, MAX_FILE - 1);
		len = 1 + rnd_below(t, 3 * ALIGN);
		if (off + len > MAX_FILE)
			len = MAX_FILE - off;
	}
	fill_random(t, t->buf, len);
	if (m == M_DIRECT)
		e = write_direct(path, off, t->buf, len);
	else if (m == M_MMAP)
		e = write_mmap(path, off, t->buf, len, o->size, rnd_below(t, 2));
	else
		e = write_buffered(path, off, t->buf, len, rnd_below(t, 2) ? O_WRONLY : O_RDWR);
	if (e) {
		fail(t, "%s write of %zu at %zu to %s: %s", mode_names[m], len, off, path,
		     strerror(-e));
		return;
	}
	model_write(o, off, t->buf, len);
	if (rnd_below(t, 4) == 0)
		verify_obj(t, path, o, m);
}

static void op_append(struct thread *t)
{
	int n = pick_name(t, true);
	char path[PATH_MAX];
	struct obj *o;
	size_t len;
	ssize_t w;
	int fd;

	if (n < 0)
		return;
	o = t->names[n];
	len = 1 + rnd_below(t, 2000);
	if (o->size + len > MAX_FILE)
		return;
	name_path(t, false, n, path, sizeof(path));
	/* Write-only appends are the case a writeback cache must get right. */
	fd = open(path, (rnd_below(t, 2) ? O_WRONLY : O_RDWR) | O_APPEND);
	if (fd < 0) {
		fail(t, "open O_APPEND %s: %s", path, strerror(errno));
		return;
	}
	fill_random(t, t->buf, len);
	w = write(fd, t->buf, len);
	if (w == (ssize_t)len && rnd_below(t, 2)) {
		/* A second append on the same open file. */
		model_write(o, o->size, t->buf, len);
		fill_random(t, t->buf, len);
		w = write(fd, t->buf, len);
	}
	close(fd);
	if (w != (ssize_t)len) {
		fail(t, "append to %s: %s", path, w < 0 ? strerror(errno) : "short");
		return;
	}
	model_write(o, o->size, t->buf, len);
}

static void op_truncate(struct thread *t)
{
	int n = pick_name(t, true);
	char path[PATH_MAX];
	size_t size = rnd_below(t, MAX_FILE);
	int r;

	if (n < 0)
		return;
	name_path(t, false, n, path, sizeof(path));
	if (rnd_below(t, 2)) {
		r = truncate(path, (off_t)size);
	} else {
		int fd = open(path, O_WRONLY);

		r = fd < 0 ? -1 : ftruncate(fd, (off_t)size);
		if (fd >= 0)
			close(fd);
	}
	if (r) {
		fail(t, "truncate %s to %zu: %s", path, size, strerror(errno));
		return;
	}
	model_truncate(t->names[n], size);
}

static void op_rename(struct thread *t)
{
	int a = pick_name(t, true), b = (int)rnd_below(t, NNAMES);
	char pa[PATH_MAX], pb[PATH_MAX];

	if (a < 0 || a == b)
		return;
	name_path(t, false, a, pa, sizeof(pa));
	name_path(t, false, b, pb, sizeof(pb));
	if (rename(pa, pb)) {
		fail(t, "rename %s %s: %s", pa, pb, strerror(errno));
		return;
	}
	/* Two links of one file: POSIX says rename does nothing. */
	if (t->names[a] == t->names[b])
		return;
	name_drop(t, b);
	t->names[b] = t->names[a];
	t->names[a] = NULL;
}

static void op_link(struct thread *t)
{
	int a = pick_name(t, true), b = pick_name(t, false);
	char pa[PATH_MAX], pb[PATH_MAX];

	if (a < 0 || b < 0)
		return;
	name_path(t, false, a, pa, sizeof(pa));
	name_path(t, false, b, pb, sizeof(pb));
	if (link(pa, pb)) {
		fail(t, "link %s %s: %s", pa, pb, strerror(errno));
		return;
	}
	t->names[b] = t->names[a];
	t->names[b]->nlink++;
}

static void op_unlink(struct thread *t)
{
	int n = pick_name(t, true);
	char path[PATH_MAX];

	if (n < 0)
		return;
	name_path(t, false, n, path, sizeof(path));
	if (unlink(path)) {
		fail(t, "unlink %s: %s", path, strerror(errno));
		return;
	}
	name_drop(t, n);
}

static void op_chmod(struct thread *t)
{
	static const mode_t modes[] = { 0644, 0600, 0640, 0664, 0755, 0700 };
	int n = pick_name(t, true);
	char path[PATH_MAX];
	mode_t mode = modes[rnd_below(t, 6)];

	if (n < 0)
		return;
	name_path(t, false, n, path, sizeof(path));
	if (chmod(path, mode)) {
		fail(t, "chmod %s: %s", path, strerror(errno));
		return;
	}
	t->names[n]->mode = mode;
}

static void op_xattr(struct thread *t)
{
	int n = pick_name(t, true), x = (int)rnd_below(t, NXATTR);
	char path[PATH_MAX], key[16];
	struct obj *o;

	if (n < 0)
		return;
	o = t->names[n];
	name_path(t, false, n, path, sizeof(path));
	snprintf(key, sizeof(key), "user.k%d", x);
	if (rnd_below(t, 3) == 0) {
		if (removexattr(path, key) && !(errno == ENODATA && o->xlen[x] < 0)) {
			fail(t, "removexattr %s %s: %s", path, key, strerror(errno));
			return;
		}
		o->xlen[x] = -1;
		return;
	}
	{
		int len = (int)rnd_below(t, XVAL_MAX);

		fill_random(t, (unsigned char *)o->xval[x], (size_t)len);
		if (setxattr(path, key, o->xval[x], (size_t)len, 0)) {
			fail(t, "setxattr %s %s: %s", path, key, strerror(errno));
			return;
		}
		o->xlen[x] = len;
	}
}

static void op_punch(struct thread *t)
{
	int n = pick_name(t, true), fd;
	char path[PATH_MAX];
	struct obj *o;
	size_t off, len;

	if (n < 0)
		return;
	o = t->names[n];
	if (o->size < 2)
		return;
	off = rnd_below(t, (unsigned)o->size);
	len = 1 + rnd_below(t, (unsigned)(o->size - off));
	name_path(t, false, n, path, sizeof(path));
	fd = open(path, O_RDWR);
	if (fd < 0 || fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
				(off_t)len)) {
		fail(t, "punch %zu+%zu in %s: %s", off, len, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	memset(o->data + off, 0, len);
}

static void op_copy(struct thread *t)
{
	int a = pick_name(t, true), b = pick_name(t, true), fa, fb;
	char pa[PATH_MAX], pb[PATH_MAX];
	struct obj *oa, *ob;
	loff_t in, out;
	size_t len;
	ssize_t r;

	if (a < 0 || b < 0 || t->names[a] == t->names[b] || !t->names[a]->size)
		return;
	oa = t->names[a];
	ob = t->names[b];
	in = rnd_below(t, (unsigned)oa->size);
	len = 1 + rnd_below(t, (unsigned)(oa->size - (size_t)in));
	out = rnd_below(t, MAX_FILE - (unsigned)len);
	name_path(t, false, a, pa, sizeof(pa));
	name_path(t, false, b, pb, sizeof(pb));
	fa = open(pa, O_RDONLY);
	fb = open(pb, O_WRONLY);
	r = fa < 0 || fb < 0 ? -1 : copy_file_range(fa, &in, fb, &out, len, 0);
	if (r >= 0)
		model_write(ob, (size_t)(out - r), oa->data + (in - r), (size_t)r);
	else
		fail(t, "copy_file_range %s %s: %s", pa, pb, strerror(errno));
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
}

static void op_read(struct thread *t)
{
	int n = pick_name(t, true);
	char path[PATH_MAX];

	if (n < 0)
		return;
	name_path(t, false, n, path, sizeof(path));
	verify_obj(t, path, t->names[n], write_mode(t));
}

/* This thread's stripe of the shared file, written in its mode. */
static void op_stripe(struct thread *t)
{
	char path[PATH_MAX];
	enum mode m = write_mode(t);
	size_t base = (size_t)t->id * STRIPE, off, len;
	int e;

	snprintf(path, sizeof(path), "%s/shared", g_mirror);
	if (m == M_DIRECT) {
		off = (size_t)rnd_below(t, STRIPE / ALIGN - 4) * ALIGN;
		len = (size_t)(1 + rnd_below(t, 4)) * ALIGN;
	} else {
		off = rnd_below(t, STRIPE - 1);
		len = 1 + rnd_below(t, (unsigned)(STRIPE - off < 8192 ? STRIPE - off : 8192));
	}
	fill_random(t, t->buf, len);
	if (m == M_DIRECT)
		e = write_direct(path, base + off, t->buf, len);
	else if (m == M_MMAP)
		e = write_mmap(path, base + off, t->buf, len, (size_t)g_threads * STRIPE,
			       rnd_below(t, 2));
	else
		e = write_buffered(path, base + off, t->buf, len, O_RDWR);
	if (e) {
		fail(t, "%s write to the shared file: %s", mode_names[m], strerror(-e));
		return;
	}
	memcpy(t->stripe + off, t->buf, len);
}

static void run_op(struct thread *t)
{
	unsigned r = rnd_below(t, 100);

	if (r < 10)
		op_create(t);
	else if (r < 40)
		op_write(t);
	else if (r < 48)
		op_append(t);
	else if (r < 54)
		op_truncate(t);
	else if (r < 60)
		op_rename(t);
	else if (r < 64)
		op_link(t);
	else if (r < 69)
		op_unlink(t);
	else if (r < 72)
		op_chmod(t);
	else if (r < 78)
		op_xattr(t);
	else if (r < 81)
		op_punch(t);
	else if (r < 84)
		op_copy(t);
	else if (r < 92)
		op_read(t);
	else
		op_stripe(t);
}

/* ---- the final check ---- */

static void check_names(struct thread *t, bool source, int d)
{
	char dir[PATH_MAX + 8];
	bool seen[NNAMES / NDIRS] = { false };
	struct dirent *de;
	DIR *dp;
	int i;

	snprintf(dir, sizeof(dir), "%s/d%d", source ? t->sdir : t->mdir, d);
	dp = opendir(dir);
	if (!dp) {
		fail(t, "opendir %s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(dp))) {
		int k;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (sscanf(de->d_name, "n%d", &k) != 1 || k < 0 || k >= NNAMES / NDIRS) {
			fail(t, "%s: unexpected name %s", dir, de->d_name);
			continue;
		}
		seen[k] = true;
	}
	closedir(dp);
	for (i = 0; i < NNAMES / NDIRS; i++)
		if (seen[i] != !!t->names[d * (NNAMES / NDIRS) + i])
			fail(t, "%s: n%d is %s, expected %s", dir, i, seen[i] ? "there" : "missing",
			     seen[i] ? "gone" : "there");
}

static void check_xattrs(struct thread *t, const char *path, const struct obj *o)
{
	char key[16], val[XVAL_MAX + 1];
	int x;

	for (x = 0; x < NXATTR; x++) {
		ssize_t n;

		snprintf(key, sizeof(key), "user.k%d", x);
		n = getxattr(path, key, val, sizeof(val));
		if (o->xlen[x] < 0 && !(n < 0 && errno == ENODATA))
			fail(t, "%s: %s present, expected absent", path, key);
		else if (o->xlen[x] >= 0 && (n != o->xlen[x] || memcmp(val, o->xval[x], (size_t)n)))
			fail(t, "%s: %s differs (%zd bytes, expected %d)", path, key, n, o->xlen[x]);
	}
}

static void check_name(struct thread *t, int n)
{
	const struct obj *o = t->names[n];
	char mpath[PATH_MAX], spath[PATH_MAX];
	struct stat ms, ss;
	size_t got;
	int e;

	name_path(t, false, n, mpath, sizeof(mpath));
	name_path(t, true, n, spath, sizeof(spath));
	if (stat(mpath, &ms) || stat(spath, &ss)) {
		fail(t, "stat %s / %s: %s", mpath, spath, strerror(errno));
		return;
	}
	if (ms.st_ino != ss.st_ino)
		fail(t, "%s: inode %ju on the mirror, %ju on the source", mpath, (uintmax_t)ms.st_ino,
		     (uintmax_t)ss.st_ino);
	if ((size_t)ms.st_size != o->size || (size_t)ss.st_size != o->size)
		fail(t, "%s: size %jd / %jd (mirror / source), expected %zu", mpath,
		     (intmax_t)ms.st_size, (intmax_t)ss.st_size, o->size);
	if ((ms.st_mode & 07777) != o->mode || (ss.st_mode & 07777) != o->mode)
		fail(t, "%s: mode %o / %o, expected %o", mpath, ms.st_mode & 07777,
		     ss.st_mode & 07777, o->mode);
	if ((int)ms.st_nlink != o->nlink || (int)ss.st_nlink != o->nlink)
		fail(t, "%s: %ju / %ju links, expected %d", mpath, (uintmax_t)ms.st_nlink,
		     (uintmax_t)ss.st_nlink, o->nlink);
	e = read_all(mpath, t->rbuf, MAX_FILE + ALIGN, false, &got);
	if (e)
		fail(t, "read %s: %s", mpath, strerror(-e));
	else
		compare_bytes(t, mpath, o->data, o->size, t->rbuf, got);
	e = read_all(spath, t->rbuf, MAX_FILE + ALIGN, false, &got);
	if (e)
		fail(t, "read %s: %s", spath, strerror(-e));
	else
		compare_bytes(t, spath, o->data, o->size, t->rbuf, got);
	check_xattrs(t, mpath, o);
	check_xattrs(t, spath, o);
}

/* Write back whatever the kernel still caches, so the source has it. */
static void sync_names(struct thread *t)
{
	char path[PATH_MAX];
	int n;

	for (n = 0; n < NNAMES; n++) {
		int fd;

		if (!t->names[n])
			continue;
		name_path(t, false, n, path, sizeof(path));
		fd = open(path, O_RDONLY);
		if (fd < 0 || fsync(fd))
			fail(t, "fsync %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
}

static void check_thread(struct thread *t)
{
	int d, n;

	for (d = 0; d < NDIRS; d++) {
		check_names(t, false, d);
		check_names(t, true, d);
	}
	for (n = 0; n < NNAMES; n++)
		if (t->names[n])
			check_name(t, n);
}

static void *thread_main(void *arg)
{
	struct thread *t = arg;

	for (t->ops = 0; t->ops < g_ops && !t->failed; t->ops++)
		run_op(t);
	sync_names(t);
	return NULL;
}

static int make_dirs(struct thread *t)
{
	char p[PATH_MAX + 8];
	int d;

	if (mkdir(t->mdir, 0755) && errno != EEXIST)
		return -errno;
	for (d = 0; d < NDIRS; d++) {
		snprintf(p, sizeof(p), "%s/d%d", t->mdir, d);
		if (mkdir(p, 0755) && errno != EEXIST)
			return -errno;
	}
	return 0;
}

static void check_shared(struct thread *threads)
{
	char mpath[PATH_MAX], spath[PATH_MAX];
	size_t total = (size_t)g_threads * STRIPE, got;
	unsigned char *buf = malloc(total + ALIGN);
	int i, fd;

	snprintf(mpath, sizeof(mpath), "%s/shared", g_mirror);
	snprintf(spath, sizeof(spath), "%s/shared", g_source);
	fd = open(mpath, O_RDONLY);
	if (!buf || fd < 0 || fsync(fd)) {
		fail(NULL, "shared file: %s", strerror(errno));
		free(buf);
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	for (int side = 0; side < 2; side++) {
		const char *p = side ? spath : mpath;

		if (read_all(p, buf, total + ALIGN, false, &got) || got != total) {
			fail(NULL, "%s: read %zu of %zu bytes", p, got, total);
			continue;
		}
		for (i = 0; i < g_threads; i++)
			compare_bytes(&threads[i], p, threads[i].stripe, STRIPE,
				      buf + (size_t)i * STRIPE, STRIPE);
	}
	free(buf);
}

static int usage(void)
{
	fprintf(stderr, "usage: mirror_ops [-t THREADS] [-n OPS] [-s SEED] "
		"[-m buffered|direct|mmap|mixed] MIRROR_DIR SOURCE_DIR\n");
	return 2;
}

static int setup(struct thread *threads)
{
	char path[PATH_MAX];
	int i, fd;

	snprintf(path, sizeof(path), "%s/shared", g_mirror);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)g_threads * STRIPE)) {
		fprintf(stderr, "mirror_ops: %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	for (i = 0; i < g_threads; i++) {
		struct thread *t = &threads[i];

		t->id = i;
		t->rng = (g_seed + 1) * 0x9e3779b97f4a7c15ULL + (uint64_t)i * 0x632be59bd9b4e019ULL;
		snprintf(t->mdir, sizeof(t->mdir), "%s/t%d", g_mirror, i);
		snprintf(t->sdir, sizeof(t->sdir), "%s/t%d", g_source, i);
		if (make_dirs(t)) {
			fprintf(stderr, "mirror_ops: mkdir %s: %s\n", t->mdir, strerror(errno));
			return -1;
		}
		t->stripe = calloc(1, STRIPE);
		if (posix_memalign((void **)&t->buf, ALIGN, MAX_FILE) ||
		    posix_memalign((void **)&t->rbuf, ALIGN, MAX_FILE + 2 * 65536) || !t->stripe)
			return -1;
		for (int o = 0; o < MAXOBJ; o++)
			if (!(t->objs[o].data = malloc(MAX_FILE)))
				return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct thread *threads;
	long total = 0;
	int c, i;

	while ((c = getopt(argc, argv, "t:n:s:m:")) != -1) {
		switch (c) {
		case 't': g_threads = atoi(optarg); break;
		case 'n': g_ops = atol(optarg); break;
		case 's': g_seed = strtoull(optarg, NULL, 0); break;
		case 'm':
			for (i = 0; i < 4 && strcmp(optarg, mode_names[i]); i++)
				;
			if (i == 4)
				return usage();
			g_mode = (enum mode)i;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 2 || g_threads < 1 || g_threads > 64 || g_ops < 0 ||
	    strlen(argv[optind]) >= DIR_MAX || strlen(argv[optind + 1]) >= DIR_MAX)
		return usage();
	snprintf(g_mirror, sizeof(g_mirror), "%s", argv[optind]);
	snprintf(g_source, sizeof(g_source), "%s", argv[optind + 1]);
	umask(0);
	threads = calloc((size_t)g_threads, sizeof(*threads));
	if (!threads || setup(threads))
		return 1;
	for (i = 0; i < g_threads; i++)
		if (pthread_create(&threads[i].th, NULL, thread_main, &threads[i]))
			return 1;
	for (i = 0; i < g_threads; i++) {
		pthread_join(threads[i].th, NULL);
		total += threads[i].ops;
	}
	for (i = 0; i < g_threads; i++)
		check_thread(&threads[i]);
	check_shared(threads);
	if (atomic_load(&g_failures)) {
		printf("mirror_ops: FAIL: %d mismatches (mode %s, seed %" PRIu64 ")\n",
		       atomic_load(&g_failures), mode_names[g_mode], g_seed);
		return 1;
	}
	printf("mirror_ops: OK: %ld operations by %d threads (mode %s, seed %" PRIu64 ")\n", total,
	       g_threads, mode_names[g_mode], g_seed);
	return 0;
}
