/* SPDX-License-Identifier: MIT */
/*
 * io.c - backend I/O for handlers. On a queue's own thread the operation
 * goes on that queue's ring (the channel's io_submit); anywhere else it is
 * a plain system call and done() runs before furi_io_*() returns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

int furi_io_run_sync(const struct furi_io_op *op)
{
	ssize_t n;
	uint64_t done = 0;

	switch (op->kind) {
	case FURI_IO_READ:
		do
			n = pread(op->fd, op->buf, op->len, (off_t)op->off);
		while (n < 0 && errno == EINTR);
		return n < 0 ? -errno : (int)n;
	case FURI_IO_WRITE:
		/* A short write to a regular file is unusual but legal: finish it. */
		while (done < op->len) {
			n = pwrite(op->fd, (const char *)op->buf + done, op->len - done,
				   (off_t)(op->off + done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return done ? (int)done : -errno;
			if (n == 0)
				break;
			done += (uint64_t)n;
		}
		return (int)done;
	case FURI_IO_FSYNC:
		return fsync(op->fd) ? -errno : 0;
	case FURI_IO_FDATASYNC:
		return fdatasync(op->fd) ? -errno : 0;
	case FURI_IO_FALLOCATE:
		return fallocate(op->fd, op->mode, (off_t)op->off, (off_t)op->len) ? -errno : 0;
	}
	return -EINVAL;
}

void furi_io_complete(struct furi_req *req, int res)
{
	furi_io_done_fn done = req->io_done;

	req->io_done = NULL;
	done(req, res, req->io_arg);
}

static int io_start(struct furi_req *req, const struct furi_io_op *op, furi_io_done_fn done,
		    void *arg)
{
	if (!done)
		return -EINVAL;
	if (req->io_done)
		return -EBUSY;
	req->io_done = done;
	req->io_arg = arg;
	if (req->chan->ops->io_submit && req->chan->ops->io_submit(req, op) == 0)
		return 0;
	furi_io_complete(req, furi_io_run_sync(op));
	return 0;
}

int furi_io_read(struct furi_req *req, int fd, size_t len, uint64_t off,
		 furi_io_done_fn done, void *arg)
{
	struct furi_io_op op = {
		.kind = FURI_IO_READ, .fd = fd, .buf = req->out,
		.len = FURI_MIN(len, req->out_size), .off = off,
	};

	return io_start(req, &op, done, arg);
}

int furi_io_write(struct furi_req *req, int fd, const void *data, size_t len, uint64_t off,
		  furi_io_done_fn done, void *arg)
{
	struct furi_io_op op = {
		.kind = FURI_IO_WRITE, .fd = fd, .buf = (void *)data, .len = len, .off = off,
	};

	return io_start(req, &op, done, arg);
}

int furi_io_fsync(struct furi_req *req, int fd, bool datasync, furi_io_done_fn done, void *arg)
{
	struct furi_io_op op = { .kind = datasync ? FURI_IO_FDATASYNC : FURI_IO_FSYNC, .fd = fd };

	return io_start(req, &op, done, arg);
}

int furi_io_fallocate(struct furi_req *req, int fd, int mode, uint64_t off, uint64_t len,
		      furi_io_done_fn done, void *arg)
{
	struct furi_io_op op = {
		.kind = FURI_IO_FALLOCATE, .fd = fd, .mode = mode, .off = off, .len = len,
	};

	return io_start(req, &op, done, arg);
}
