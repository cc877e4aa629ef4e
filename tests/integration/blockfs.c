/* SPDX-License-Identifier: MIT */
/*
 * blockfs - a test filesystem whose READ handler blocks (t_blocking.sh).
 *
 *   blockfs MOUNTPOINT [furi -o options...]
 *
 * The root holds four files. A READ of "block" sleeps in its handler until
 * something is written to "release", or until the kernel interrupts it
 * (then it answers EINTR), or BLOCKFS_HOLD_S seconds pass (default 30;
 * then ETIMEDOUT, so a broken test fails instead of hanging). "f" reads
 * "hello\n". A READ of "pipe" reads a pipe nobody writes to with
 * furi_io_read(): on the ring (inline, BLOCKFS_INLINE=1) its backend I/O
 * waits until the kernel interrupts the request and libfuri cancels it.
 * Attributes are never cached, so each stat(2) is a GETATTR. The READ handler is declared blocking
 * (furi_ops.may_block); with BLOCKFS_INLINE=1 in the environment it is not,
 * which shows what the declaration prevents: the queue thread sleeps in the
 * handler and every other request of its CPU waits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <furi/furi.h>

#include "test_server.h"

enum { INO_BLOCK = 2, INO_F, INO_RELEASE, INO_PIPE, INO_LAST = INO_PIPE };

static const char *const names[] = { [INO_BLOCK] = "block", [INO_F] = "f",
				     [INO_RELEASE] = "release", [INO_PIPE] = "pipe" };
static int pipe_fds[2];
static const char released_text[] = "released\n";
static const char f_text[] = "hello\n";

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t released_cond = PTHREAD_COND_INITIALIZER;
static bool released;
static long hold_s = 30;

static void fill_stat(uint64_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FURI_ROOT_INO) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return;
	}
	st->st_mode = S_IFREG | 0666;
	st->st_nlink = 1;
	st->st_size = ino == INO_F ? (off_t)strlen(f_text) : ino == INO_BLOCK ? 4096 : 0;
}

static bool valid_ino(uint64_t ino)
{
	return ino == FURI_ROOT_INO || (ino >= INO_BLOCK && ino <= INO_LAST);
}

static void h_lookup(struct furi_req *req, uint64_t parent, const char *name)
{
	struct furi_entry e = { 0 };

	for (uint64_t ino = INO_BLOCK; parent == FURI_ROOT_INO && ino <= INO_LAST; ino++) {
		if (!strcmp(name, names[ino])) {
			e.ino = ino;
			fill_stat(ino, &e.attr);
			e.entry_timeout = 60;
			furi_reply_entry(req, &e);
			return;
		}
	}
	furi_reply_err(req, ENOENT);
}

static void h_getattr(struct furi_req *req, uint64_t ino, const uint64_t *fh)
{
	struct stat st;

	if (!valid_ino(ino)) {
		furi_reply_err(req, ENOENT);
		return;
	}
	fill_stat(ino, &st);
	furi_reply_attr(req, &st, 0);
}

static void h_setattr(struct furi_req *req, uint64_t ino, const struct furi_setattr *a)
{
	h_getattr(req, ino, NULL);
}

static void h_open(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	fo->direct_io = 1;	/* every read reaches the handler */
	furi_reply_open(req, fo);
}

/* Sleep until released (then read released_text), interrupted, or the safety timeout. */
static void read_block(struct furi_req *req, uint64_t off)
{
	struct timespec deadline;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += hold_s;
	pthread_mutex_lock(&lock);
	while (!released && !err) {
		struct timespec tick;

		clock_gettime(CLOCK_REALTIME, &tick);
		if (tick.tv_sec >= deadline.tv_sec)
			err = ETIMEDOUT;
		else if (furi_req_interrupted(req))
			err = EINTR;
		tick.tv_nsec += 10 * 1000 * 1000;
		if (tick.tv_nsec >= 1000000000) {
			tick.tv_sec++;
			tick.tv_nsec -= 1000000000;
		}
		if (!err)
			pthread_cond_timedwait(&released_cond, &lock, &tick);
	}
	pthread_mutex_unlock(&lock);
	if (err)
		furi_reply_err(req, err);
	else if (off >= strlen(released_text))
		furi_reply_buf(req, NULL, 0);
	else
		furi_reply_buf(req, released_text + off, strlen(released_text) - off);
}

static void pipe_read_done(struct furi_req *req, int res, void *arg)
{
	if (res < 0)
		furi_reply_err(req, -res);
	else
		furi_reply_data(req, (size_t)res);
}

static void h_read(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off, size_t size)
{
	const char *text = ino == INO_F ? f_text : "";

	if (ino == INO_PIPE) {
		furi_io_read(req, pipe_fds[0], size, 0, pipe_read_done, NULL);
		return;
	}
	if (ino == INO_BLOCK) {
		read_block(req, off);
		return;
	}
	if (off >= strlen(text)) {
		furi_reply_buf(req, NULL, 0);
		return;
	}
	furi_reply_buf(req, text + off, strlen(text) - off < size ? strlen(text) - off : size);
}

static void h_write(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
		    const void *data, size_t size, unsigned flags)
{
	if (ino == INO_RELEASE) {
		pthread_mutex_lock(&lock);
		released = true;
		pthread_cond_broadcast(&released_cond);
		pthread_mutex_unlock(&lock);
	}
	furi_reply_write(req, size);
}

#define BLOCKFS_OPS							\
	.lookup = h_lookup, .getattr = h_getattr, .setattr = h_setattr,	\
	.open = h_open, .read = h_read, .write = h_write

static const struct furi_ops blocking_ops = {
	BLOCKFS_OPS,
	.may_block = FURI_BLOCKS(FURI_OP_READ),
};

static const struct furi_ops inline_ops = { BLOCKFS_OPS };

int main(int argc, char **argv)
{
	const char *inl = getenv("BLOCKFS_INLINE");
	const char *hold = getenv("BLOCKFS_HOLD_S");

	if (hold)
		hold_s = atol(hold);
	if (pipe2(pipe_fds, O_CLOEXEC))
		return 1;

	return test_server_main("blockfs", inl && *inl == '1' ? &inline_ops : &blocking_ops,
				NULL, NULL, argc, argv);
}
