/* SPDX-License-Identifier: MIT */
/*
 * dispatch.c - decode and validate one request, then call the filesystem.
 *
 * Every request arrives as the opcode's first argument (a fixed struct, or
 * nothing) and data (names, values, write data, extensions). On /dev/fuse
 * both sit in one buffer; on the ring the first argument is in the entry's
 * op_in header and the data in its payload. Nothing here trusts a length:
 * a short argument, a name without its NUL, or a size past the data gets
 * EINVAL and never a read out of bounds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Size of each opcode's first argument; 0 where it has none. */
static const uint16_t op_arg_size[FURI_OPCODE_MAX] = {
	[FUSE_FORGET]		= sizeof(struct fuse_forget_in),
	[FUSE_GETATTR]		= sizeof(struct fuse_getattr_in),
	[FUSE_SETATTR]		= sizeof(struct fuse_setattr_in),
	[FUSE_MKNOD]		= sizeof(struct fuse_mknod_in),
	[FUSE_MKDIR]		= sizeof(struct fuse_mkdir_in),
	[FUSE_RENAME]		= sizeof(struct fuse_rename_in),
	[FUSE_LINK]		= sizeof(struct fuse_link_in),
	[FUSE_OPEN]		= sizeof(struct fuse_open_in),
	[FUSE_READ]		= sizeof(struct fuse_read_in),
	[FUSE_WRITE]		= sizeof(struct fuse_write_in),
	[FUSE_RELEASE]		= sizeof(struct fuse_release_in),
	[FUSE_FSYNC]		= sizeof(struct fuse_fsync_in),
	[FUSE_SETXATTR]		= FUSE_COMPAT_SETXATTR_IN_SIZE, /* see furi_op_arg_size */
	[FUSE_GETXATTR]		= sizeof(struct fuse_getxattr_in),
	[FUSE_LISTXATTR]	= sizeof(struct fuse_getxattr_in),
	[FUSE_FLUSH]		= sizeof(struct fuse_flush_in),
	[FUSE_OPENDIR]		= sizeof(struct fuse_open_in),
	[FUSE_READDIR]		= sizeof(struct fuse_read_in),
	[FUSE_RELEASEDIR]	= sizeof(struct fuse_release_in),
	[FUSE_FSYNCDIR]		= sizeof(struct fuse_fsync_in),
	[FUSE_GETLK]		= sizeof(struct fuse_lk_in),
	[FUSE_SETLK]		= sizeof(struct fuse_lk_in),
	[FUSE_SETLKW]		= sizeof(struct fuse_lk_in),
	[FUSE_ACCESS]		= sizeof(struct fuse_access_in),
	[FUSE_CREATE]		= sizeof(struct fuse_create_in),
	[FUSE_INTERRUPT]	= sizeof(struct fuse_interrupt_in),
	[FUSE_BATCH_FORGET]	= sizeof(struct fuse_batch_forget_in),
	[FUSE_FALLOCATE]	= sizeof(struct fuse_fallocate_in),
	[FUSE_READDIRPLUS]	= sizeof(struct fuse_read_in),
	[FUSE_RENAME2]		= sizeof(struct fuse_rename2_in),
	[FUSE_LSEEK]		= sizeof(struct fuse_lseek_in),
	[FUSE_COPY_FILE_RANGE]	= sizeof(struct fuse_copy_file_range_in),
	[FUSE_COPY_FILE_RANGE_64] = sizeof(struct fuse_copy_file_range_in),
	[FUSE_SYNCFS]		= sizeof(struct fuse_syncfs_in),
	[FUSE_TMPFILE]		= sizeof(struct fuse_create_in),
	[FUSE_BMAP]		= sizeof(struct fuse_bmap_in),
	[FUSE_IOCTL]		= sizeof(struct fuse_ioctl_in),
	[FUSE_POLL]		= sizeof(struct fuse_poll_in),
	[FUSE_NOTIFY_REPLY]	= sizeof(struct fuse_notify_retrieve_in),
	[FUSE_STATX]		= sizeof(struct fuse_statx_in),
};

size_t furi_op_arg_size(const struct furi_session *se, uint32_t opcode)
{
	if (opcode >= FURI_OPCODE_MAX)
		return 0;
	if (opcode == FUSE_SETXATTR && (se->want & FUSE_SETXATTR_EXT))
		return sizeof(struct fuse_setxattr_in);
	return op_arg_size[opcode];
}

int furi_split_request(const struct furi_session *se, const struct fuse_in_header *ih,
		       const char *body, size_t body_len, const void **arg, size_t *arg_len,
		       const char **data, size_t *data_len)
{
	size_t need = ih->opcode == FUSE_INIT ? body_len : furi_op_arg_size(se, ih->opcode);

	if (body_len < need)
		return -EINVAL;
	*arg = body;
	*arg_len = need;
	*data = body + need;
	*data_len = body_len - need;
	return 0;
}

/* The data part of a request, consumed front to back. */
struct in_data {
	const char *p;
	size_t len;
};

/* Take a NUL-terminated string; NULL if the data ends before its NUL. */
static const char *take_string(struct in_data *d)
{
	const char *s = d->p;
	const char *nul = d->len ? memchr(s, '\0', d->len) : NULL;
	size_t n;

	if (!nul)
		return NULL;
	n = (size_t)(nul - s) + 1;
	d->p += n;
	d->len -= n;
	return s;
}

/* Take a name a directory can hold: non-empty, NUL-terminated. */
static const char *take_name(struct in_data *d)
{
	const char *s = take_string(d);

	return s && *s ? s : NULL;
}

/*
 * A security context extension: its type is the number of contexts, each a
 * struct fuse_secctx, its name with NUL, then size bytes of value. The
 * kernel sends one context at most; the first is what handlers see.
 */
static int take_secctx(struct furi_req *req, const char *p, size_t len, uint32_t nr)
{
	struct fuse_secctx sc;
	const char *name, *nul;

	if (nr == 0)
		return 0;
	if (len < sizeof(struct fuse_ext_header) + sizeof(sc))
		return -EINVAL;
	p += sizeof(struct fuse_ext_header);
	len -= sizeof(struct fuse_ext_header);
	memcpy(&sc, p, sizeof(sc));
	name = p + sizeof(sc);
	len -= sizeof(sc);
	nul = memchr(name, '\0', len);
	if (!nul || nul == name || sc.size > len - (size_t)(nul + 1 - name))
		return -EINVAL;
	req->ctx.secctx_name = name;
	req->ctx.secctx = nul + 1;
	req->ctx.secctx_size = sc.size;
	return 0;
}

/* Extensions sit at the end of the data; peel them off and read what we use. */
static int take_extensions(struct furi_req *req, const struct fuse_in_header *ih,
			   struct in_data *d)
{
	size_t ext_len = (size_t)ih->total_extlen * 8;
	const char *p, *end;

	if (!ext_len)
		return 0;
	if (ext_len > d->len)
		return -EINVAL;
	d->len -= ext_len;
	p = d->p + d->len;
	end = p + ext_len;
	while (p < end) {
		struct fuse_ext_header xh;

		if ((size_t)(end - p) < sizeof(xh))
			return -EINVAL;
		memcpy(&xh, p, sizeof(xh));
		if (xh.size < sizeof(xh) || xh.size % 8 || xh.size > (size_t)(end - p))
			return -EINVAL;
		if (xh.type == FUSE_EXT_GROUPS &&
		    xh.size >= sizeof(xh) + sizeof(struct fuse_supp_groups) + sizeof(uint32_t)) {
			struct fuse_supp_groups sg;
			uint32_t gid;

			memcpy(&sg, p + sizeof(xh), sizeof(sg));
			if (sg.nr_groups >= 1) {
				memcpy(&gid, p + sizeof(xh) + sizeof(sg), sizeof(gid));
				req->ctx.supp_gid = gid;
			}
		}
		if (xh.type <= FUSE_MAX_NR_SECCTX && take_secctx(req, p, xh.size, xh.type))
			return -EINVAL;
		p += xh.size;
	}
	return 0;
}

/*
 * The kernel sends 0 <= start <= end, with end OFFSET_MAX (INT64_MAX) for
 * "to the end of the file". A range outside that has no struct flock form:
 * start past INT64_MAX became a negative l_start and end < start a negative
 * l_len, and a handler answering with that lock overflowed in
 * furi_reply_lock(). Refuse it. (Found by tests/fuzz/fuzz_decoder.)
 */
static bool lock_from_kernel(struct flock *fl, const struct fuse_file_lock *lk)
{
	if (lk->start > (uint64_t)INT64_MAX || lk->end < lk->start)
		return false;
	memset(fl, 0, sizeof(*fl));
	fl->l_type = (short)lk->type;
	fl->l_whence = SEEK_SET;
	fl->l_start = (off_t)lk->start;
	fl->l_len = lk->end >= (uint64_t)INT64_MAX ? 0 : (off_t)(lk->end - lk->start + 1);
	fl->l_pid = (pid_t)lk->pid;
	return true;
}

static void setattr_from_kernel(struct furi_setattr *sa, const struct fuse_setattr_in *in)
{
	memset(sa, 0, sizeof(*sa));
	sa->valid = in->valid & (FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE |
				 FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW |
				 FATTR_MTIME_NOW | FATTR_CTIME | FATTR_KILL_SUIDGID);
	sa->mode = in->mode;
	sa->uid = in->uid;
	sa->gid = in->gid;
	sa->size = in->size;
	sa->atime.tv_sec = (time_t)in->atime;
	sa->atime.tv_nsec = in->atimensec;
	sa->mtime.tv_sec = (time_t)in->mtime;
	sa->mtime.tv_nsec = in->mtimensec;
	sa->ctime.tv_sec = (time_t)in->ctime;
	sa->ctime.tv_nsec = in->ctimensec;
	sa->has_fh = in->valid & FATTR_FH;
	sa->fh = in->fh;
}

static void open_from_kernel(struct furi_open *fo, uint32_t flags, uint32_t open_flags)
{
	memset(fo, 0, sizeof(*fo));
	fo->flags = (int)flags;
	fo->kill_suidgid = !!(open_flags & FUSE_OPEN_KILL_SUIDGID);
}

#define NEED(op) do { if (!ops->op) goto enosys; } while (0)
#define TAKE_NAME(var) do { if (!((var) = take_name(&d))) goto einval; } while (0)

static void do_batch_forget(struct furi_req *req, uint32_t count, struct in_data *d)
{
	const struct furi_ops *ops = req->se->ops;
	uint32_t i;

	if ((uint64_t)count * sizeof(struct fuse_forget_one) > d->len) {
		furi_stats_malformed(req->chan);
		count = (uint32_t)(d->len / sizeof(struct fuse_forget_one));
	}
	for (i = 0; ops->forget && i < count; i++) {
		struct fuse_forget_one one;

		memcpy(&one, d->p + (size_t)i * sizeof(one), sizeof(one));
		ops->forget(req->se->fs, one.nodeid, one.nlookup);
	}
	furi_reply_none(req);
}

static void req_begin(struct furi_req *req, const struct fuse_in_header *ih)
{
	req->unique = ih->unique;
	req->nodeid = ih->nodeid;
	req->opcode = ih->opcode;
	req->in_bytes = ih->len;
	req->ctx.uid = ih->uid;
	req->ctx.gid = ih->gid;
	req->ctx.pid = (pid_t)ih->pid;
	req->ctx.umask = 0;
	req->ctx.supp_gid = (gid_t)-1;
	req->ctx.secctx_name = NULL;
	req->ctx.secctx = NULL;
	req->ctx.secctx_size = 0;
	req->no_reply = false;
	req->ioctl_flags = 0;
	req->io_done = NULL;
	atomic_store_explicit(&req->interrupted, false, memory_order_relaxed);
	req->int_fn = NULL;
	req->int_listed = false;
	req->t_start = furi_now_ns();
	furi_stats_received(req->chan, ih->opcode, ih->len);
}

static bool has_no_reply(uint32_t opcode)
{
	return opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET || opcode == FUSE_INTERRUPT ||
	       opcode == FUSE_NOTIFY_REPLY;
}

/* A request whose arguments do not add up: count it and answer EINVAL (or nothing). */
static void dispatch_malformed(struct furi_req *req, const struct fuse_in_header *ih)
{
	furi_stats_malformed(req->chan);
	furi_dbg("malformed request: opcode %u unique %llu len %u", ih->opcode,
		 (unsigned long long)ih->unique, ih->len);
	if (has_no_reply(ih->opcode) || ih->unique == 0)
		furi_reply_none(req);
	else
		furi_reply_err(req, EINVAL);
}

void furi_dispatch_reject(struct furi_req *req, const struct fuse_in_header *ih)
{
	req_begin(req, ih);
	dispatch_malformed(req, ih);
}

void furi_dispatch(struct furi_req *req, const struct fuse_in_header *ih,
		   const void *arg, size_t arg_len, const char *data, size_t data_len)
{
	struct furi_session *se = req->se;
	struct in_data d = { data, data_len };
	union furi_op_arg a;
	size_t need;

	req_begin(req, ih);
	need = furi_op_arg_size(se, ih->opcode);
	/*
	 * On the ring (6.18) a NOTIFY_REPLY leaves op_in empty and carries its
	 * fuse_notify_retrieve_in at the front of the payload, before the data.
	 */
	if (ih->opcode == FUSE_NOTIFY_REPLY && arg_len == 0 && data_len >= need) {
		arg = data;
		arg_len = need;
		data += need;
		data_len -= need;
		d.p = data;
		d.len = data_len;
	}
	if (arg_len < need) {
		dispatch_malformed(req, ih);
		return;
	}
	memset(&a, 0, sizeof(a));
	memcpy(&a, arg, FURI_MIN(need, sizeof(a)));
	if (take_extensions(req, ih, &d)) {
		dispatch_malformed(req, ih);
		return;
	}
	if (furi_unlikely(se->cfg.debug))
		furi_trace_request(req, &a, d.p, d.len);
	/*
	 * One predictable test for the requests that do not go straight to
	 * their handler: INIT, and those of handlers that may block. Opcodes
	 * past 63 wrap onto bits that are never set, or harmlessly offloaded.
	 */
	if (furi_unlikely((se->not_inline >> (ih->opcode & 63)) & 1)) {
		if (ih->opcode == FUSE_INIT) {
			char why[256];

			/* A second INIT only comes when the first asked for another major. */
			if (furi_session_init(se, ih, arg, arg_len, why, sizeof(why)) < 0)
				furi_err("%s", why);
			furi_reply_none(req);
			return;
		}
		if (furi_offload(req, ih, &a, d.p, d.len) == 0)
			return;
	}
	furi_dispatch_op(req, ih, &a, d.p, d.len);
}

void furi_dispatch_op(struct furi_req *req, const struct fuse_in_header *ih,
		      const union furi_op_arg *a, const char *data, size_t data_len)
{
	struct furi_session *se = req->se;
	const struct furi_ops *ops = se->ops;
	struct in_data d = { data, data_len };
	const char *name, *name2;
	struct furi_open fo;
	struct flock fl;
	struct furi_setattr sa;


	switch (ih->opcode) {
	case FUSE_LOOKUP:
		NEED(lookup);
		TAKE_NAME(name);
		ops->lookup(req, ih->nodeid, name);
		return;
	case FUSE_FORGET:
		if (ops->forget)
			ops->forget(se->fs, ih->nodeid, a->forget.nlookup);
		furi_reply_none(req);
		return;
	case FUSE_BATCH_FORGET:
		do_batch_forget(req, a->batch_forget.count, &d);
		return;
	case FUSE_GETATTR:
		NEED(getattr);
		ops->getattr(req, ih->nodeid,
			     (a->getattr.getattr_flags & FUSE_GETATTR_FH) ? &a->getattr.fh : NULL);
		return;
	case FUSE_SETATTR:
		NEED(setattr);
		setattr_from_kernel(&sa, &a->setattr);
		ops->setattr(req, ih->nodeid, &sa);
		return;
	case FUSE_READLINK:
		NEED(readlink);
		ops->readlink(req, ih->nodeid);
		return;
	case FUSE_SYMLINK:
		NEED(symlink);
		TAKE_NAME(name);
		TAKE_NAME(name2);
		ops->symlink(req, ih->nodeid, name, name2);
		return;
	case FUSE_MKNOD:
		NEED(mknod);
		TAKE_NAME(name);
		req->ctx.umask = a->mknod.umask;
		ops->mknod(req, ih->nodeid, name, a->mknod.mode, a->mknod.rdev);
		return;
	case FUSE_MKDIR:
		NEED(mkdir);
		TAKE_NAME(name);
		req->ctx.umask = a->mkdir.umask;
		ops->mkdir(req, ih->nodeid, name, a->mkdir.mode);
		return;
	case FUSE_UNLINK:
		NEED(unlink);
		TAKE_NAME(name);
		ops->unlink(req, ih->nodeid, name);
		return;
	case FUSE_RMDIR:
		NEED(rmdir);
		TAKE_NAME(name);
		ops->rmdir(req, ih->nodeid, name);
		return;
	case FUSE_RENAME:
		NEED(rename);
		TAKE_NAME(name);
		TAKE_NAME(name2);
		ops->rename(req, ih->nodeid, name, a->rename.newdir, name2, 0);
		return;
	case FUSE_RENAME2:
		NEED(rename);
		TAKE_NAME(name);
		TAKE_NAME(name2);
		ops->rename(req, ih->nodeid, name, a->rename2.newdir, name2, a->rename2.flags);
		return;
	case FUSE_LINK:
		NEED(link);
		TAKE_NAME(name);
		ops->link(req, a->link.oldnodeid, ih->nodeid, name);
		return;
	case FUSE_OPEN:
		NEED(open);
		open_from_kernel(&fo, a->open.flags, a->open.open_flags);
		ops->open(req, ih->nodeid, &fo);
		return;
	case FUSE_READ:
		NEED(read);
		if (a->read.size > req->out_size)
			goto einval;
		ops->read(req, ih->nodeid, a->read.fh, a->read.offset, a->read.size);
		return;
	case FUSE_WRITE:
		NEED(write);
		if (a->write.size > d.len)
			goto einval;
		ops->write(req, ih->nodeid, a->write.fh, a->write.offset, d.p, a->write.size,
			   a->write.write_flags);
		return;
	case FUSE_STATFS:
		NEED(statfs);
		ops->statfs(req, ih->nodeid);
		return;
	case FUSE_RELEASE:
		if (!ops->release)
			goto ok;
		ops->release(req, ih->nodeid, a->release.fh, (int)a->release.flags,
			     a->release.lock_owner, a->release.release_flags & FUSE_RELEASE_FLUSH);
		return;
	case FUSE_FSYNC:
		NEED(fsync);
		ops->fsync(req, ih->nodeid, a->fsync.fh, a->fsync.fsync_flags & FUSE_FSYNC_FDATASYNC);
		return;
	case FUSE_SETXATTR:
		NEED(setxattr);
		TAKE_NAME(name);
		if (a->setxattr.size > d.len)
			goto einval;
		ops->setxattr(req, ih->nodeid, name, d.p, a->setxattr.size, (int)a->setxattr.flags,
			      a->setxattr.setxattr_flags);
		return;
	case FUSE_GETXATTR:
		NEED(getxattr);
		TAKE_NAME(name);
		ops->getxattr(req, ih->nodeid, name, FURI_MIN((size_t)a->getxattr.size, req->out_size));
		return;
	case FUSE_LISTXATTR:
		NEED(listxattr);
		ops->listxattr(req, ih->nodeid, FURI_MIN((size_t)a->getxattr.size, req->out_size));
		return;
	case FUSE_REMOVEXATTR:
		NEED(removexattr);
		TAKE_NAME(name);
		ops->removexattr(req, ih->nodeid, name);
		return;
	case FUSE_FLUSH:
		if (!ops->flush)
			goto ok;
		ops->flush(req, ih->nodeid, a->flush.fh, a->flush.lock_owner);
		return;
	case FUSE_OPENDIR:
		open_from_kernel(&fo, a->open.flags, a->open.open_flags);
		if (!ops->opendir) {
			furi_reply_open(req, &fo);
			return;
		}
		ops->opendir(req, ih->nodeid, &fo);
		return;
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
		if (a->read.size > req->out_size)
			goto einval;
		if (ih->opcode == FUSE_READDIRPLUS) {
			NEED(readdirplus);
			ops->readdirplus(req, ih->nodeid, a->read.fh, a->read.offset, a->read.size);
		} else {
			NEED(readdir);
			ops->readdir(req, ih->nodeid, a->read.fh, a->read.offset, a->read.size);
		}
		return;
	case FUSE_RELEASEDIR:
		if (!ops->releasedir)
			goto ok;
		ops->releasedir(req, ih->nodeid, a->release.fh);
		return;
	case FUSE_FSYNCDIR:
		NEED(fsyncdir);
		ops->fsyncdir(req, ih->nodeid, a->fsync.fh, a->fsync.fsync_flags & FUSE_FSYNC_FDATASYNC);
		return;
	case FUSE_GETLK:
		NEED(getlk);
		if (!lock_from_kernel(&fl, &a->lk.lk))
			goto einval;
		ops->getlk(req, ih->nodeid, a->lk.fh, a->lk.owner, &fl);
		return;
	case FUSE_SETLK:
	case FUSE_SETLKW:
		NEED(setlk);
		if (!lock_from_kernel(&fl, &a->lk.lk))
			goto einval;
		ops->setlk(req, ih->nodeid, a->lk.fh, a->lk.owner, &fl,
			   ih->opcode == FUSE_SETLKW, a->lk.lk_flags & FUSE_LK_FLOCK);
		return;
	case FUSE_ACCESS:
		NEED(access);
		ops->access(req, ih->nodeid, (int)a->access.mask);
		return;
	case FUSE_CREATE:
		NEED(create);
		TAKE_NAME(name);
		req->ctx.umask = a->create.umask;
		open_from_kernel(&fo, a->create.flags, a->create.open_flags);
		ops->create(req, ih->nodeid, name, a->create.mode, &fo);
		return;
	case FUSE_TMPFILE:
		NEED(tmpfile);
		req->ctx.umask = a->create.umask;
		open_from_kernel(&fo, a->create.flags, a->create.open_flags);
		ops->tmpfile(req, ih->nodeid, a->create.mode, &fo);
		return;
	case FUSE_INTERRUPT:
		furi_interrupt_request(se, a->interrupt.unique);
		furi_reply_none(req);
		return;
	case FUSE_FALLOCATE:
		NEED(fallocate);
		ops->fallocate(req, ih->nodeid, a->fallocate.fh, (int)a->fallocate.mode,
			       a->fallocate.offset, a->fallocate.length);
		return;
	case FUSE_LSEEK:
		NEED(lseek);
		ops->lseek(req, ih->nodeid, a->lseek.fh, a->lseek.offset, (int)a->lseek.whence);
		return;
	case FUSE_COPY_FILE_RANGE:
	case FUSE_COPY_FILE_RANGE_64:
		NEED(copy_file_range);
		ops->copy_file_range(req, ih->nodeid, a->copy.fh_in, a->copy.off_in,
				     a->copy.nodeid_out, a->copy.fh_out, a->copy.off_out,
				     a->copy.len, (unsigned)a->copy.flags);
		return;
	case FUSE_DESTROY:
		goto ok;
	case FUSE_NOTIFY_REPLY:
		/* The kernel's answer to furi_notify_retrieve(); it expects none. */
		if (a->retrieve.size > d.len)
			goto einval;
		furi_notify_reply(req, &a->retrieve, d.p, d.len);
		furi_reply_none(req);
		return;
	case FUSE_STATX:
		NEED(statx);
		ops->statx(req, ih->nodeid,
			   (a->statx.getattr_flags & FUSE_GETATTR_FH) ? &a->statx.fh : NULL,
			   (int)a->statx.sx_flags, a->statx.sx_mask);
		return;
	case FUSE_IOCTL:
		NEED(ioctl);
		if (a->ioctl.in_size > d.len)
			goto einval;
		req->ioctl_flags = a->ioctl.flags;
		ops->ioctl(req, ih->nodeid, a->ioctl.fh, a->ioctl.cmd, a->ioctl.arg, a->ioctl.flags,
			   a->ioctl.in_size ? d.p : NULL, a->ioctl.in_size,
			   FURI_MIN((size_t)a->ioctl.out_size,
				    req->out_size - sizeof(struct fuse_ioctl_out)));
		return;
	case FUSE_POLL:
		NEED(poll);
		ops->poll(req, ih->nodeid, a->poll.fh, a->poll.events, a->poll.kh,
			  a->poll.flags & FUSE_POLL_SCHEDULE_NOTIFY);
		return;
	case FUSE_SYNCFS:
		NEED(syncfs);
		ops->syncfs(req, ih->nodeid);
		return;
	case FUSE_BMAP:
		NEED(bmap);
		ops->bmap(req, ih->nodeid, a->bmap.blocksize, a->bmap.block);
		return;
	default:
		goto enosys;
	}

ok:
	furi_reply_err(req, 0);
	return;
enosys:
	furi_reply_err(req, ENOSYS);
	return;
einval:
	dispatch_malformed(req, ih);
}
