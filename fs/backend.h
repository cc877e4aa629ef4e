/* SPDX-License-Identifier: MIT */
/*
 * backend.h - the data path shared by filesystems that keep their data in a
 * backing file (passthrough, image): each call serves one request on a
 * backing fd and replies when the I/O completes. On the io_uring transport
 * the I/O runs on the request's own queue ring, into and out of the
 * registered payload buffers, so the queue thread never blocks on the disk.
 */
#ifndef FURI_FS_BACKEND_H
#define FURI_FS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <furi/furi.h>

/* READ: size bytes at off, straight into the reply area. */
void backend_read(struct furi_req *req, int fd, uint64_t off, size_t size);
/*
 * WRITE: the request's data at off. With sync, the data is made durable
 * (fdatasync) before the reply, as a write-through cache must.
 */
void backend_write(struct furi_req *req, int fd, uint64_t off, const void *data,
		   size_t size, bool sync);
void backend_fsync(struct furi_req *req, int fd, bool datasync);
void backend_fallocate(struct furi_req *req, int fd, int mode, uint64_t off, uint64_t len);
/* SEEK_DATA / SEEK_HOLE from the backing file's own extents. */
void backend_lseek(struct furi_req *req, int fd, uint64_t off, int whence);
/*
 * COPY_FILE_RANGE: on the io_uring transport a helper thread copies and
 * replies (there is no io_uring opcode for it); the descriptors must stay
 * open until the reply, as they do for a request's file handles.
 */
void backend_copy_file_range(struct furi_req *req, int fd_in, uint64_t off_in, int fd_out,
			     uint64_t off_out, uint64_t len, unsigned flags);

#endif /* FURI_FS_BACKEND_H */
