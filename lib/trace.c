/* SPDX-License-Identifier: MIT */
/*
 * trace.c - -o debug (furi mount -d): one line per request and one per
 * reply, in libfuse's words ("unique: 8, opcode: LOOKUP (1), nodeid: 1,
 * insize: 46, pid: 912" and "   unique: 8, success, outsize: 144"), so
 * habits and scripts made for libfuse's -d read furi's too. Each line
 * also says where the request came (io_uring queue or /dev/fuse, and the
 * thread) and its key arguments.
 *
 * Off, tracing costs one predictable branch per request (in furi_dispatch)
 * and nothing on replies: a traced channel's send is this file's, which
 * logs and calls the transport's own, so untraced channels never ask.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "internal.h"

/* The calling thread's name (furi-uring0, furi-fuse1): one system call, only when tracing. */
static const char *thread_name(char buf[16])
{
	if (prctl(PR_GET_NAME, buf, 0, 0, 0))
		snprintf(buf, 16, "?");
	buf[15] = '\0';
	return buf;
}

static const char *chan_name(const struct furi_chan *chan)
{
	return chan && chan->stats ? chan->stats->name : "?";
}

/* A name from the request's data, bounded, on one line whatever it holds. */
struct shown_name {
	char s[160];
};

static const char *show(struct shown_name *out, const char *p, size_t len)
{
	size_t n = p ? strnlen(p, len) : 0, i;

	if (n >= sizeof(out->s))
		n = sizeof(out->s) - 1;
	for (i = 0; i < n; i++)
		out->s[i] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
	out->s[n] = '\0';
	return out->s;
}

/* The first and second NUL-terminated strings of the data, if present. */
static void names(const char *data, size_t len, struct shown_name *a, struct shown_name *b)
{
	size_t first = data ? strnlen(data, len) : len;

	show(a, data, len);
	if (first < len)
		show(b, data + first + 1, len - first - 1);
	else
		b->s[0] = '\0';
}

/* The opcode's key arguments, after "on CHANNEL (THREAD): ". */
static void describe_args(char *buf, size_t len, const struct furi_req *req,
			  const union furi_op_arg *a, const char *data, size_t data_len)
{
	struct shown_name n1, n2;

	names(data, data_len, &n1, &n2);
	buf[0] = '\0';
	switch (req->opcode) {
	case FUSE_LOOKUP: case FUSE_UNLINK: case FUSE_RMDIR: case FUSE_REMOVEXATTR:
		snprintf(buf, len, "name \"%s\"", n1.s);
		break;
	case FUSE_MKDIR:
		snprintf(buf, len, "name \"%s\", mode 0%o, umask 0%o", n1.s, a->mkdir.mode,
			 a->mkdir.umask);
		break;
	case FUSE_MKNOD:
		snprintf(buf, len, "name \"%s\", mode 0%o, rdev 0x%x", n1.s, a->mknod.mode,
			 a->mknod.rdev);
		break;
	case FUSE_CREATE:
		snprintf(buf, len, "name \"%s\", mode 0%o, flags 0x%x", n1.s, a->create.mode,
			 a->create.flags);
		break;
	case FUSE_TMPFILE:
		snprintf(buf, len, "mode 0%o, flags 0x%x", a->create.mode, a->create.flags);
		break;
	case FUSE_SYMLINK:
		snprintf(buf, len, "name \"%s\", target \"%s\"", n1.s, n2.s);
		break;
	case FUSE_RENAME:
		snprintf(buf, len, "name \"%s\" -> nodeid %llu name \"%s\"", n1.s,
			 (unsigned long long)a->rename.newdir, n2.s);
		break;
	case FUSE_RENAME2:
		snprintf(buf, len, "name \"%s\" -> nodeid %llu name \"%s\", flags 0x%x", n1.s,
			 (unsigned long long)a->rename2.newdir, n2.s, a->rename2.flags);
		break;
	case FUSE_LINK:
		snprintf(buf, len, "nodeid %llu -> name \"%s\"",
			 (unsigned long long)a->link.oldnodeid, n1.s);
		break;
	case FUSE_GETATTR:
		if (a->getattr.getattr_flags & FUSE_GETATTR_FH)
			snprintf(buf, len, "fh %llu", (unsigned long long)a->getattr.fh);
		break;
	case FUSE_SETATTR:
		snprintf(buf, len, "valid 0x%x, mode 0%o, size %llu", a->setattr.valid,
			 a->setattr.mode, (unsigned long long)a->setattr.size);
		break;
	case FUSE_OPEN: case FUSE_OPENDIR:
		snprintf(buf, len, "flags 0x%x", a->open.flags);
		break;
	case FUSE_READ: case FUSE_READDIR: case FUSE_READDIRPLUS:
		snprintf(buf, len, "fh %llu, offset %llu, size %u", (unsigned long long)a->read.fh,
			 (unsigned long long)a->read.offset, a->read.size);
		break;
	case FUSE_WRITE:
		snprintf(buf, len, "fh %llu, offset %llu, size %u, write_flags 0x%x",
			 (unsigned long long)a->write.fh, (unsigned long long)a->write.offset,
			 a->write.size, a->write.write_flags);
		break;
	case FUSE_RELEASE: case FUSE_RELEASEDIR:
		snprintf(buf, len, "fh %llu, flags 0x%x", (unsigned long long)a->release.fh,
			 a->release.flags);
		break;
	case FUSE_FLUSH:
		snprintf(buf, len, "fh %llu", (unsigned long long)a->flush.fh);
		break;
	case FUSE_FSYNC: case FUSE_FSYNCDIR:
		snprintf(buf, len, "fh %llu, fsync_flags 0x%x", (unsigned long long)a->fsync.fh,
			 a->fsync.fsync_flags);
		break;
	case FUSE_SETXATTR:
		snprintf(buf, len, "name \"%s\", size %u, flags 0x%x", n1.s, a->setxattr.size,
			 a->setxattr.flags);
		break;
	case FUSE_GETXATTR:
		snprintf(buf, len, "name \"%s\", size %u", n1.s, a->getxattr.size);
		break;
	case FUSE_LISTXATTR:
		snprintf(buf, len, "size %u", a->getxattr.size);
		break;
	case FUSE_ACCESS:
		snprintf(buf, len, "mask 0%o", a->access.mask);
		break;
	case FUSE_GETLK: case FUSE_SETLK: case FUSE_SETLKW:
		snprintf(buf, len, "fh %llu, type %u, range %llu-%llu%s",
			 (unsigned long long)a->lk.fh, a->lk.lk.type,
			 (unsigned long long)a->lk.lk.start, (unsigned long long)a->lk.lk.end,
			 (a->lk.lk_flags & FUSE_LK_FLOCK) ? ", flock" : "");
		break;
	case FUSE_FALLOCATE:
		snprintf(buf, len, "fh %llu, mode 0x%x, offset %llu, length %llu",
			 (unsigned long long)a->fallocate.fh, a->fallocate.mode,
			 (unsigned long long)a->fallocate.offset,
			 (unsigned long long)a->fallocate.length);
		break;
	case FUSE_LSEEK:
		snprintf(buf, len, "fh %llu, offset %llu, whence %u", (unsigned long long)a->lseek.fh,
			 (unsigned long long)a->lseek.offset, a->lseek.whence);
		break;
	case FUSE_COPY_FILE_RANGE: case FUSE_COPY_FILE_RANGE_64:
		snprintf(buf, len, "fh %llu offset %llu -> nodeid %llu fh %llu offset %llu, length %llu",
			 (unsigned long long)a->copy.fh_in, (unsigned long long)a->copy.off_in,
			 (unsigned long long)a->copy.nodeid_out, (unsigned long long)a->copy.fh_out,
			 (unsigned long long)a->copy.off_out, (unsigned long long)a->copy.len);
		break;
	case FUSE_FORGET:
		snprintf(buf, len, "nlookup %llu", (unsigned long long)a->forget.nlookup);
		break;
	case FUSE_BATCH_FORGET:
		snprintf(buf, len, "count %u", a->batch_forget.count);
		break;
	case FUSE_INTERRUPT:
		snprintf(buf, len, "interrupts unique %llu", (unsigned long long)a->interrupt.unique);
		break;
	default:
		break;
	}
}

void furi_trace_request(const struct furi_req *req, const union furi_op_arg *a,
			const char *data, size_t data_len)
{
	const char *op = furi_opcode_name(req->opcode);
	char args[512], thread[16];

	describe_args(args, sizeof(args), req, a, data, data_len);
	furi_log(FURI_LOG_DEBUG,
		 "unique: %llu, opcode: %s (%u), nodeid: %llu, insize: %u, pid: %d, on %s (%s)%s%s",
		 (unsigned long long)req->unique, op ? op : "UNKNOWN", req->opcode,
		 (unsigned long long)req->nodeid, req->in_bytes, (int)req->ctx.pid,
		 chan_name(req->chan), thread_name(thread), args[0] ? ": " : "", args);
}

/* What a successful reply carries that a reader of the log wants to see. */
static void describe_reply(char *buf, size_t len, const struct furi_req *req, size_t args_len)
{
	const void *out = req->out;

	buf[0] = '\0';
	switch (req->opcode) {
	case FUSE_LOOKUP: case FUSE_MKNOD: case FUSE_MKDIR: case FUSE_SYMLINK: case FUSE_LINK:
	case FUSE_CREATE: case FUSE_TMPFILE:
		if (args_len >= sizeof(struct fuse_entry_out)) {
			const struct fuse_entry_out *e = out;

			snprintf(buf, len, ", nodeid: %llu", (unsigned long long)e->nodeid);
		}
		break;
	case FUSE_OPEN: case FUSE_OPENDIR:
		if (args_len >= sizeof(struct fuse_open_out)) {
			const struct fuse_open_out *o = out;

			snprintf(buf, len, ", fh: %llu", (unsigned long long)o->fh);
		}
		break;
	case FUSE_WRITE:
		if (args_len >= sizeof(struct fuse_write_out)) {
			const struct fuse_write_out *w = out;

			snprintf(buf, len, ", written: %u", w->size);
		}
		break;
	default:
		break;
	}
}

static void trace_send(struct furi_req *req, int error, size_t args_len, const void *extra,
		       size_t extra_len)
{
	const struct furi_chan_ops *own = req->chan->traced;
	size_t outsize = sizeof(struct fuse_out_header) + args_len + extra_len;
	char what[64], thread[16];

	if (!req->no_reply) {
		if (error) {
			furi_log(FURI_LOG_DEBUG, "   unique: %llu, error: %d (%s), outsize: %zu (%s)",
				 (unsigned long long)req->unique, error, strerror(-error), outsize,
				 thread_name(thread));
		} else {
			describe_reply(what, sizeof(what), req, args_len);
			furi_log(FURI_LOG_DEBUG, "   unique: %llu, success, outsize: %zu%s (%s)",
				 (unsigned long long)req->unique, outsize, what, thread_name(thread));
		}
	}
	own->send(req, error, args_len, extra, extra_len);	/* req is gone after this */
}

static int trace_io_submit(struct furi_req *req, const struct furi_io_op *op)
{
	const struct furi_chan_ops *own = req->chan->traced;

	return own->io_submit ? own->io_submit(req, op) : -EAGAIN;
}

static const struct furi_chan_ops trace_chan_ops = {
	.send = trace_send,
	.io_submit = trace_io_submit,
};

void furi_trace_chan(const struct furi_session *se, struct furi_chan *chan)
{
	if (!se->cfg.debug || chan->ops == &trace_chan_ops)
		return;
	chan->traced = chan->ops;
	chan->ops = &trace_chan_ops;
}
