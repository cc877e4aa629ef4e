/* SPDX-License-Identifier: MIT */
/*
 * backend.c - see backend.h. Completions reply; a write-through WRITE
 * chains an fdatasync on the same ring and carries the written byte count
 * through the callback argument, so no per-request allocation is needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
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

void backend_copy_file_range(struct furi_req *req, int fd_in, uint64_t off_in, int fd_out,
			     uint64_t off_out, uint64_t len, unsigned flags)
{
	loff_t in = (loff_t)off_in, out = (loff_t)off_out;
	/* The kernel caps one call itself; the client loops for the rest. */
	ssize_t n = copy_file_range(fd_in, &in, fd_out, &out, len, flags);

	if (n < 0)
		furi_reply_err(req, errno);
	else
		furi_reply_copy(req, (uint64_t)n);
}
