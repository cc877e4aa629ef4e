/* SPDX-License-Identifier: MIT */
/*
 * reply.c - reply encoders. Each writes the opcode's out arguments into the
 * reply area the channel gave the request (the ring entry's payload, or the
 * /dev/fuse buffer after the out header) and hands the request back to the
 * channel. They never ask which transport carries the request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "internal.h"

bool furi_req_handler_returned(struct furi_req *req)
{
	int expected = FURI_REQ_DISPATCHING;

	/* Whoever loses this race owns the buffer's release. */
	return !atomic_compare_exchange_strong_explicit(&req->state, &expected,
							FURI_REQ_DETACHED,
							memory_order_acq_rel,
							memory_order_acquire);
}

bool furi_req_mark_replied(struct furi_req *req)
{
	int expected = FURI_REQ_DISPATCHING;

	return atomic_compare_exchange_strong_explicit(&req->state, &expected,
						       FURI_REQ_REPLIED,
						       memory_order_acq_rel,
						       memory_order_acquire);
}

void furi_reply_send(struct furi_req *req, int error, size_t args_len,
		     const void *extra, size_t extra_len)
{
	if (furi_unlikely(req->int_listed))
		furi_interrupt_forget(req);
	req->chan->ops->send(req, error, args_len, extra, extra_len);
}

void furi_reply_none(struct furi_req *req)
{
	req->no_reply = true;
	furi_reply_send(req, 0, 0, NULL, 0);
}

/* The kernel refuses errors outside (-ERESTARTSYS, 0]; keep handlers honest. */
static int checked_errno(int err)
{
	if (furi_likely(err >= 0 && err < 512))
		return -err;
	furi_warn("reply with invalid error %d, sending EIO", err);
	return -EIO;
}

static void split_timeout(double t, uint64_t *sec, uint32_t *nsec)
{
	if (!(t > 0)) {		/* also catches NaN */
		*sec = 0;
		*nsec = 0;
		return;
	}
	if (t > 1e18)
		t = 1e18;
	*sec = (uint64_t)t;
	*nsec = (uint32_t)((t - (double)*sec) * 1e9);
	if (*nsec >= 1000000000u)
		*nsec = 999999999u;
}

static void fill_attr(struct fuse_attr *a, const struct stat *st, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino ? (uint64_t)st->st_ino : ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = (uint32_t)st->st_rdev;
	a->blksize = st->st_blksize > 0 ? (uint32_t)st->st_blksize : FURI_PAGE_SIZE;
}

static void fill_entry(struct fuse_entry_out *o, const struct furi_entry *e)
{
	memset(o, 0, sizeof(*o));
	o->nodeid = e->ino;
	o->generation = e->generation;
	split_timeout(e->entry_timeout, &o->entry_valid, &o->entry_valid_nsec);
	split_timeout(e->attr_timeout, &o->attr_valid, &o->attr_valid_nsec);
	fill_attr(&o->attr, &e->attr, e->ino);
}

static void fill_open(struct fuse_open_out *o, const struct furi_open *fo)
{
	memset(o, 0, sizeof(*o));
	o->fh = fo->fh;
	if (fo->direct_io)
		o->open_flags |= FOPEN_DIRECT_IO;
	if (fo->keep_cache)
		o->open_flags |= FOPEN_KEEP_CACHE;
	if (fo->nonseekable)
		o->open_flags |= FOPEN_NONSEEKABLE;
	if (fo->cache_dir)
		o->open_flags |= FOPEN_CACHE_DIR;
	if (fo->noflush)
		o->open_flags |= FOPEN_NOFLUSH;
	if (fo->parallel_direct_writes)
		o->open_flags |= FOPEN_PARALLEL_DIRECT_WRITES;
	if (fo->backing_id > 0) {
		o->open_flags |= FOPEN_PASSTHROUGH;
		o->backing_id = fo->backing_id;
	}
}

void furi_reply_err(struct furi_req *req, int err)
{
	furi_reply_send(req, checked_errno(err), 0, NULL, 0);
}

void furi_reply_entry(struct furi_req *req, const struct furi_entry *e)
{
	fill_entry((struct fuse_entry_out *)req->out, e);
	furi_reply_send(req, 0, sizeof(struct fuse_entry_out), NULL, 0);
}

void furi_reply_create(struct furi_req *req, const struct furi_entry *e,
		       const struct furi_open *fo)
{
	fill_entry((struct fuse_entry_out *)req->out, e);
	fill_open((struct fuse_open_out *)(req->out + sizeof(struct fuse_entry_out)), fo);
	furi_reply_send(req, 0, sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out),
			NULL, 0);
}

void furi_reply_attr(struct furi_req *req, const struct stat *st, double timeout)
{
	struct fuse_attr_out *o = (struct fuse_attr_out *)req->out;

	memset(o, 0, sizeof(*o));
	split_timeout(timeout, &o->attr_valid, &o->attr_valid_nsec);
	fill_attr(&o->attr, st, req->nodeid);
	furi_reply_send(req, 0, sizeof(*o), NULL, 0);
}

void furi_reply_readlink(struct furi_req *req, const char *target)
{
	furi_reply_buf(req, target, strlen(target));
}

void furi_reply_open(struct furi_req *req, const struct furi_open *fo)
{
	fill_open((struct fuse_open_out *)req->out, fo);
	furi_reply_send(req, 0, sizeof(struct fuse_open_out), NULL, 0);
}

void furi_reply_write(struct furi_req *req, size_t count)
{
	struct fuse_write_out *o = (struct fuse_write_out *)req->out;

	o->size = (uint32_t)FURI_MIN(count, (size_t)UINT32_MAX);
	o->padding = 0;
	furi_reply_send(req, 0, sizeof(*o), NULL, 0);
}

void furi_reply_buf(struct furi_req *req, const void *buf, size_t size)
{
	if (size > req->out_size)
		size = req->out_size;
	/* Data already in the reply area needs no second copy anywhere. */
	if (size && (const char *)buf == req->out) {
		furi_reply_send(req, 0, size, NULL, 0);
		return;
	}
	furi_reply_send(req, 0, 0, buf, size);
}

void furi_reply_data(struct furi_req *req, size_t size)
{
	furi_reply_send(req, 0, FURI_MIN(size, req->out_size), NULL, 0);
}

void furi_reply_statfs(struct furi_req *req, const struct statvfs *st)
{
	struct fuse_statfs_out *o = (struct fuse_statfs_out *)req->out;

	memset(o, 0, sizeof(*o));
	o->st.blocks = st->f_blocks;
	o->st.bfree = st->f_bfree;
	o->st.bavail = st->f_bavail;
	o->st.files = st->f_files;
	o->st.ffree = st->f_ffree;
	o->st.bsize = (uint32_t)st->f_bsize;
	o->st.namelen = (uint32_t)st->f_namemax;
	o->st.frsize = (uint32_t)(st->f_frsize ? st->f_frsize : st->f_bsize);
	furi_reply_send(req, 0, sizeof(*o), NULL, 0);
}

void furi_reply_xattr_size(struct furi_req *req, size_t size)
{
	struct fuse_getxattr_out *o = (struct fuse_getxattr_out *)req->out;

	o->size = (uint32_t)FURI_MIN(size, (size_t)UINT32_MAX);
	o->padding = 0;
	furi_reply_send(req, 0, sizeof(*o), NULL, 0);
}

void furi_reply_lock(struct furi_req *req, const struct flock *lock)
{
	struct fuse_lk_out *o = (struct fuse_lk_out *)req->out;

	memset(o, 0, sizeof(*o));
	o->lk.type = (uint32_t)lock->l_type;
	if (lock->l_type != F_UNLCK) {
		o->lk.start = (uint64_t)lock->l_start;
		/* Unsigned: a handler's out-of-range lock must not overflow here. */
		o->lk.end = lock->l_len == 0 ? (uint64_t)INT64_MAX
					     : (uint64_t)lock->l_start + (uint64_t)lock->l_len - 1;
		o->lk.pid = (uint32_t)lock->l_pid;
	}
	furi_reply_send(req, 0, sizeof(*o), NULL, 0);
}

void furi_reply_lseek(struct furi_req *req, uint64_t off)
{
	struct fuse_lseek_out *o = (struct fuse_lseek_out *)req->out;

	o->offset = off;
	furi_reply_send(req, 0, sizeof(*o), NULL, 0);
}

void furi_reply_copy(struct furi_req *req, uint64_t count)
{
	if (req->opcode == FUSE_COPY_FILE_RANGE_64) {
		struct fuse_copy_file_range_out *o = (struct fuse_copy_file_range_out *)req->out;

		o->bytes_copied = count;
		furi_reply_send(req, 0, sizeof(*o), NULL, 0);
		return;
	}
	furi_reply_write(req, (size_t)FURI_MIN(count, (uint64_t)UINT32_MAX));
}

static void fill_sx_time(struct fuse_sx_time *t, const struct statx_timestamp *ts)
{
	t->tv_sec = ts->tv_sec;
	t->tv_nsec = ts->tv_nsec;
	t->reserved = 0;
}

void furi_reply_statx(struct furi_req *req, const struct statx *stx, double timeout)
{
	struct fuse_statx_out *o = (struct fuse_statx_out *)req->out;
	struct fuse_statx *sx = &o->stat;

	memset(o, 0, sizeof(*o));
	split_timeout(timeout, &o->attr_valid, &o->attr_valid_nsec);
	sx->mask = stx->stx_mask;
	sx->blksize = stx->stx_blksize ? stx->stx_blksize : FURI_PAGE_SIZE;
	sx->attributes = stx->stx_attributes;
	sx->nlink = stx->stx_nlink;
	sx->uid = stx->stx_uid;
	sx->gid = stx->stx_gid;
	sx->mode = stx->stx_mode;
	sx->ino = stx->stx_ino ? stx->stx_ino : req->nodeid;
	sx->size = stx->stx_size;
	sx->blocks = stx->stx_blocks;
	sx->attributes_mask = stx->stx_attributes_mask;
	fill_sx_time(&sx->atime, &stx->stx_atime);
	fill_sx_time(&sx->btime, &stx->stx_btime);
	fill_sx_time(&sx->ctime, &stx->stx_ctime);
	fill_sx_time(&sx->mtime, &stx->stx_mtime);
	sx->rdev_major = stx->stx_rdev_major;
	sx->rdev_minor = stx->stx_rdev_minor;
	sx->dev_major = stx->stx_dev_major;
	sx->dev_minor = stx->stx_dev_minor;
	furi_reply_send(req, 0, sizeof(*o), NULL, 0);
}

void furi_reply_ioctl(struct furi_req *req, int result, const void *buf, size_t size)
{
	struct fuse_ioctl_out *o = (struct fuse_ioctl_out *)req->out;
	size_t room = req->out_size - sizeof(*o);

	if (size > room)
		size = room;
	/* The data follows the out struct in the reply area: buf may already be there. */
	if (size && (const char *)buf != req->out + sizeof(*o))
		memmove(req->out + sizeof(*o), buf, size);
	memset(o, 0, sizeof(*o));
	o->result = result;
	furi_reply_send(req, 0, sizeof(*o) + size, NULL, 0);
}

void furi_reply_ioctl_retry(struct furi_req *req, const struct iovec *in_iov, size_t in_count,
			    const struct iovec *out_iov, size_t out_count)
{
	struct fuse_ioctl_out *o = (struct fuse_ioctl_out *)req->out;
	struct fuse_ioctl_iovec *v = (struct fuse_ioctl_iovec *)(req->out + sizeof(*o));
	size_t i;

	if (!(req->ioctl_flags & FUSE_IOCTL_UNRESTRICTED)) {
		/* The kernel answers a restricted retry with EIO; say why here. */
		furi_warn("furi_reply_ioctl_retry on a restricted ioctl: answering EIO");
		furi_reply_err(req, EIO);
		return;
	}
	if (in_count + out_count > FUSE_IOCTL_MAX_IOV ||
	    sizeof(*o) + (in_count + out_count) * sizeof(*v) > req->out_size) {
		furi_warn("furi_reply_ioctl_retry with %zu iovecs: answering ENOMEM",
			  in_count + out_count);
		furi_reply_err(req, ENOMEM);
		return;
	}
	memset(o, 0, sizeof(*o));
	o->flags = FUSE_IOCTL_RETRY;
	o->in_iovs = (uint32_t)in_count;
	o->out_iovs = (uint32_t)out_count;
	for (i = 0; i < in_count; i++, v++) {
		v->base = (uint64_t)(uintptr_t)in_iov[i].iov_base;
		v->len = in_iov[i].iov_len;
	}
	for (i = 0; i < out_count; i++, v++) {
		v->base = (uint64_t)(uintptr_t)out_iov[i].iov_base;
		v->len = out_iov[i].iov_len;
	}
	furi_reply_send(req, 0, sizeof(*o) + (in_count + out_count) * sizeof(*v), NULL, 0);
}

void furi_reply_poll(struct furi_req *req, unsigned revents)
{
	struct fuse_poll_out *o = (struct fuse_poll_out *)req->out;

	o->revents = revents;
	o->padding = 0;
	furi_reply_send(req, 0, sizeof(*o), NULL, 0);
}

void furi_reply_bmap(struct furi_req *req, uint64_t block)
{
	struct fuse_bmap_out *o = (struct fuse_bmap_out *)req->out;

	o->block = block;
	furi_reply_send(req, 0, sizeof(*o), NULL, 0);
}

/* ---- directory listings ---- */

void furi_dirbuf_init(struct furi_dirbuf *db, struct furi_req *req, size_t size)
{
	db->buf = req->out;
	db->size = FURI_MIN(size, req->out_size);
	db->used = 0;
}

static bool dirent_put(struct furi_dirbuf *db, size_t head, const char *name,
		       uint64_t ino, mode_t mode, uint64_t next_off, void **headp)
{
	size_t namelen = strlen(name);
	size_t len = FUSE_DIRENT_ALIGN(head + sizeof(struct fuse_dirent) + namelen);
	struct fuse_dirent *d;
	char *p;

	if (namelen == 0 || namelen > 1024 || memchr(name, '/', namelen) ||
	    len > db->size - db->used)
		return false;
	p = db->buf + db->used;
	d = (struct fuse_dirent *)(p + head);
	d->ino = ino;
	d->off = next_off;
	d->namelen = (uint32_t)namelen;
	d->type = (mode & S_IFMT) >> 12;
	memcpy(d->name, name, namelen);
	/* The kernel copies the padding to userspace: never leak old bytes. */
	memset(d->name + namelen, 0, len - head - sizeof(*d) - namelen);
	*headp = p;
	db->used += len;
	return true;
}

bool furi_dirbuf_add(struct furi_dirbuf *db, const char *name, uint64_t ino,
		     mode_t mode, uint64_t next_off)
{
	void *p;

	return dirent_put(db, 0, name, ino, mode, next_off, &p);
}

bool furi_dirbuf_add_plus(struct furi_dirbuf *db, const char *name,
			  const struct furi_entry *e, uint64_t next_off)
{
	uint64_t ino = e->attr.st_ino ? (uint64_t)e->attr.st_ino : e->ino;
	void *p;

	if (!dirent_put(db, sizeof(struct fuse_entry_out), name, ino,
			e->attr.st_mode, next_off, &p))
		return false;
	fill_entry((struct fuse_entry_out *)p, e);
	return true;
}

void furi_reply_dirbuf(struct furi_req *req, const struct furi_dirbuf *db)
{
	furi_reply_send(req, 0, db->used, NULL, 0);
}
