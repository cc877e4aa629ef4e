/* SPDX-License-Identifier: MIT */
/*
 * backend.c - see backend.h. Completions reply; a write-through WRITE
 * chains an fdatasync on the same ring and carries the written byte count
 * through the callback argument, so no per-request allocation is needed.
 * copy_file_range, which io_uring cannot carry, goes to helper threads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"

static void read_done(struct furi_req *req, int res, void *arg)
{
	(void)arg;
	if (res < 0)
		furi_reply_err(req, -res);
	else
		furi_reply_data(req, (size_t)res);
}

void backend_read(struct furi_req *req, int fd, uint64_t off, size_t size)
{
	int r = furi_io_read(req, fd, size, off, read_done, NULL);

	if (r)
		furi_reply_err(req, -r);
}

static void count_done(struct furi_req *req, int res, void *arg)
{
	if (res < 0)
		furi_reply_err(req, -res);
	else
		furi_reply_write(req, (size_t)(uintptr_t)arg);
}

static void write_done(struct furi_req *req, int res, void *arg)
{
	int fd = (int)(intptr_t)arg;

	if (res < 0) {
		furi_reply_err(req, -res);
		return;
	}
	if (fd < 0) {
		furi_reply_write(req, (size_t)res);
		return;
	}
	/* Write-through: the reply waits for the data to be durable. */
	if (res == 0 || furi_io_fsync(req, fd, true, count_done, (void *)(uintptr_t)res))
		furi_reply_write(req, (size_t)res);
}

void backend_write(struct furi_req *req, int fd, uint64_t off, const void *data,
		   size_t size, bool sync)
{
	int r = furi_io_write(req, fd, data, size, off, write_done,
			      (void *)(intptr_t)(sync ? fd : -1));

	if (r)
		furi_reply_err(req, -r);
}

static void status_done(struct furi_req *req, int res, void *arg)
{
	(void)arg;
	furi_reply_err(req, res < 0 ? -res : 0);
}

void backend_fsync(struct furi_req *req, int fd, bool datasync)
{
	int r = furi_io_fsync(req, fd, datasync, status_done, NULL);

	if (r)
		furi_reply_err(req, -r);
}

void backend_fallocate(struct furi_req *req, int fd, int mode, uint64_t off, uint64_t len)
{
	int r = furi_io_fallocate(req, fd, mode, off, len, status_done, NULL);

	if (r)
		furi_reply_err(req, -r);
}

void backend_lseek(struct furi_req *req, int fd, uint64_t off, int whence)
{
	/* Extent lookups touch only metadata the backing fs keeps cached. */
	off_t r = lseek(fd, (off_t)off, whence);

	if (r < 0)
		furi_reply_err(req, errno);
	else
		furi_reply_lseek(req, (uint64_t)r);
}

/*
 * copy_file_range has no io_uring opcode, and one call copies a whole range
 * in the kernel (up to 4 GiB: seconds of disk I/O). On the io_uring
 * transport it runs on a few helper threads, which reply themselves, so the
 * queue thread goes on serving; on /dev/fuse the worker that took the
 * request runs it, as it runs every other call.
 */
#define COPY_HELPERS 4

struct copy_job {
	struct copy_job *next;
	struct furi_req *req;
	int fd_in, fd_out;
	uint64_t off_in, off_out, len;
	unsigned flags;
};

static struct {
	pthread_once_t once;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct copy_job *head, **tail;
	unsigned helpers;
} copy_pool = { PTHREAD_ONCE_INIT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
		&copy_pool.head, 0 };

static void copy_run(const struct copy_job *j)
{
	loff_t in = (loff_t)j->off_in, out = (loff_t)j->off_out;
	/* The kernel caps one call itself; the client loops for the rest. */
	ssize_t n = copy_file_range(j->fd_in, &in, j->fd_out, &out, j->len, j->flags);

	if (n < 0)
		furi_reply_err(j->req, errno);
	else
		furi_reply_copy(j->req, (uint64_t)n);
}

static void *copy_helper(void *arg)
{
	(void)arg;
	for (;;) {
		struct copy_job *j;

		pthread_mutex_lock(&copy_pool.lock);
		while (!copy_pool.head)
			pthread_cond_wait(&copy_pool.cond, &copy_pool.lock);
		j = copy_pool.head;
		copy_pool.head = j->next;
		if (!copy_pool.head)
			copy_pool.tail = &copy_pool.head;
		pthread_mutex_unlock(&copy_pool.lock);
		copy_run(j);
		free(j);
	}
	return NULL;
}

/* Started by the first copy; the helpers live as long as the process. */
static void copy_pool_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	unsigned i;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < COPY_HELPERS; i++)
		if (!pthread_create(&t, &attr, copy_helper, NULL))
			copy_pool.helpers++;
	pthread_attr_destroy(&attr);
}

/* Queue j for a helper; false (j untouched) when there is none. */
static bool copy_offload(struct copy_job *j)
{
	struct copy_job *q;

	pthread_once(&copy_pool.once, copy_pool_start);
	if (!copy_pool.helpers || !(q = malloc(sizeof(*q))))
		return false;
	*q = *j;
	q->next = NULL;
	pthread_mutex_lock(&copy_pool.lock);
	*copy_pool.tail = q;
	copy_pool.tail = &q->next;
	pthread_cond_signal(&copy_pool.cond);
	pthread_mutex_unlock(&copy_pool.lock);
	return true;
}

void backend_copy_file_range(struct furi_req *req, int fd_in, uint64_t off_in, int fd_out,
			     uint64_t off_out, uint64_t len, unsigned flags)
{
	struct copy_job j = {
		.req = req, .fd_in = fd_in, .fd_out = fd_out, .off_in = off_in,
		.off_out = off_out, .len = len, .flags = flags,
	};

	if (furi_session_uses_uring(furi_req_session(req)) && copy_offload(&j))
		return;
	copy_run(&j);
}
