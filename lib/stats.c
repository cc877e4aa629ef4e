/* SPDX-License-Identifier: MIT */
/*
 * stats.c - per-channel counters on the request path. A queue's counters
 * have exactly one writer, so plain relaxed load+store is enough and costs
 * no locked instruction; the /dev/fuse channel is shared by its workers and
 * uses atomic adds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#include "internal.h"

uint64_t furi_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void stat_add(const struct furi_chan *chan, uint64_t *field, uint64_t n)
{
	_Atomic uint64_t *p = (_Atomic uint64_t *)field;

	if (chan->shared_stats)
		atomic_fetch_add_explicit(p, n, memory_order_relaxed);
	else
		atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n,
				      memory_order_relaxed);
}

void furi_stats_received(struct furi_chan *chan, uint32_t opcode, size_t bytes)
{
	struct furi_chan_stats *s = chan->stats;

	stat_add(chan, &s->received, 1);
	stat_add(chan, &s->bytes_in, bytes);
	if (opcode < FURI_OPCODE_MAX)
		stat_add(chan, &s->ops[opcode], 1);
}

static unsigned lat_bucket(uint64_t ns)
{
	unsigned b = ns ? 63u - (unsigned)__builtin_clzll(ns) : 0;

	return b < FURI_LAT_BUCKETS ? b : FURI_LAT_BUCKETS - 1;
}

/*
 * Count an error reply under its (opcode, errno) slot. Only error replies
 * come here; a pair seen before costs a hash, a probe or two and a store.
 * The /dev/fuse channel's workers claim a free slot with a compare-and-swap.
 */
static void count_error(struct furi_chan *chan, uint32_t opcode, int error)
{
	struct furi_chan_stats *s = chan->stats;
	uint32_t key = FURI_ERR_KEY(opcode, error < 0 ? -error : error);
	unsigned slot = ((key * 2654435761u) >> 16) % FURI_ERR_SLOTS, i;

	for (i = 0; i < FURI_ERR_SLOTS; i++, slot = (slot + 1) % FURI_ERR_SLOTS) {
		_Atomic uint32_t *k = (_Atomic uint32_t *)&s->errs[slot].key;
		uint32_t cur = atomic_load_explicit(k, memory_order_relaxed);

		if (cur == 0) {
			if (!chan->shared_stats)
				atomic_store_explicit(k, key, memory_order_relaxed);
			else if (!atomic_compare_exchange_strong_explicit(k, &cur, key,
									   memory_order_relaxed,
									   memory_order_relaxed) &&
				 cur != key)
				continue;	/* another worker took it for another pair */
			cur = key;
		}
		if (cur == key) {
			stat_add(chan, &s->errs[slot].count, 1);
			return;
		}
	}
	stat_add(chan, &s->errors_untracked, 1);
}

void furi_stats_replied(struct furi_chan *chan, uint32_t opcode, uint64_t t_start, int error,
			size_t bytes)
{
	struct furi_chan_stats *s = chan->stats;

	stat_add(chan, &s->replied, 1);
	stat_add(chan, &s->bytes_out, bytes);
	if (furi_unlikely(error)) {
		stat_add(chan, &s->errors, 1);
		count_error(chan, opcode, error);
	}
	stat_add(chan, &s->lat[lat_bucket(furi_now_ns() - t_start)], 1);
}

void furi_stats_malformed(struct furi_chan *chan)
{
	stat_add(chan, &chan->stats->malformed, 1);
}

uint64_t furi_lat_percentile(const uint64_t lat[FURI_LAT_BUCKETS], double pct)
{
	uint64_t total = 0, seen = 0, rank;
	unsigned i;

	for (i = 0; i < FURI_LAT_BUCKETS; i++)
		total += lat[i];
	if (!total)
		return 0;
	rank = (uint64_t)((double)total * pct / 100.0);
	if (rank >= total)
		rank = total - 1;
	for (i = 0; i < FURI_LAT_BUCKETS; i++) {
		if (seen + lat[i] > rank) {
			/* Interpolate inside [2^i, 2^(i+1)). */
			uint64_t lo = 1ull << i;
			double frac = (double)(rank - seen) / (double)lat[i];

			return lo + (uint64_t)(frac * (double)lo);
		}
		seen += lat[i];
	}
	return 1ull << (FURI_LAT_BUCKETS - 1);
}

static const char *const opcode_names[FURI_OPCODE_MAX] = {
	[FUSE_LOOKUP] = "LOOKUP", [FUSE_FORGET] = "FORGET", [FUSE_GETATTR] = "GETATTR",
	[FUSE_SETATTR] = "SETATTR", [FUSE_READLINK] = "READLINK", [FUSE_SYMLINK] = "SYMLINK",
	[FUSE_MKNOD] = "MKNOD", [FUSE_MKDIR] = "MKDIR", [FUSE_UNLINK] = "UNLINK",
	[FUSE_RMDIR] = "RMDIR", [FUSE_RENAME] = "RENAME", [FUSE_LINK] = "LINK",
	[FUSE_OPEN] = "OPEN", [FUSE_READ] = "READ", [FUSE_WRITE] = "WRITE",
	[FUSE_STATFS] = "STATFS", [FUSE_RELEASE] = "RELEASE", [FUSE_FSYNC] = "FSYNC",
	[FUSE_SETXATTR] = "SETXATTR", [FUSE_GETXATTR] = "GETXATTR",
	[FUSE_LISTXATTR] = "LISTXATTR", [FUSE_REMOVEXATTR] = "REMOVEXATTR",
	[FUSE_FLUSH] = "FLUSH", [FUSE_INIT] = "INIT", [FUSE_OPENDIR] = "OPENDIR",
	[FUSE_READDIR] = "READDIR", [FUSE_RELEASEDIR] = "RELEASEDIR",
	[FUSE_FSYNCDIR] = "FSYNCDIR", [FUSE_GETLK] = "GETLK", [FUSE_SETLK] = "SETLK",
	[FUSE_SETLKW] = "SETLKW", [FUSE_ACCESS] = "ACCESS", [FUSE_CREATE] = "CREATE",
	[FUSE_INTERRUPT] = "INTERRUPT", [FUSE_BMAP] = "BMAP", [FUSE_DESTROY] = "DESTROY",
	[FUSE_IOCTL] = "IOCTL", [FUSE_POLL] = "POLL", [FUSE_NOTIFY_REPLY] = "NOTIFY_REPLY",
	[FUSE_BATCH_FORGET] = "BATCH_FORGET", [FUSE_FALLOCATE] = "FALLOCATE",
	[FUSE_READDIRPLUS] = "READDIRPLUS", [FUSE_RENAME2] = "RENAME2",
	[FUSE_LSEEK] = "LSEEK", [FUSE_COPY_FILE_RANGE] = "COPY_FILE_RANGE",
	[FUSE_SETUPMAPPING] = "SETUPMAPPING", [FUSE_REMOVEMAPPING] = "REMOVEMAPPING",
	[FUSE_SYNCFS] = "SYNCFS", [FUSE_TMPFILE] = "TMPFILE", [FUSE_STATX] = "STATX",
	[FUSE_COPY_FILE_RANGE_64] = "COPY_FILE_RANGE_64",
};

const char *furi_opcode_name(unsigned opcode)
{
	return opcode < FURI_OPCODE_MAX ? opcode_names[opcode] : NULL;
}

/*
 * Answers, not failures: what a healthy local filesystem says to a valid
 * request. Anything else (EIO, ENOMEM, ENOSPC, ESTALE, EBADF, EINVAL, ...)
 * means the server or its backend could not do what it should.
 */
bool furi_error_expected(unsigned opcode, int err)
{
	switch (err) {
	case ENOSYS:		/* not implemented: the kernel remembers and stops asking */
	case EOPNOTSUPP:	/* not supported (a fallocate mode, xattrs, O_TMPFILE, ...) */
	case EINTR:		/* the caller interrupted it */
	case EACCES:		/* permission refused */
	case EPERM:
	case ENAMETOOLONG:
		return true;
	}
	switch (opcode) {
	case FUSE_LOOKUP:
		return err == ENOENT;		/* negative lookup */
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
		return err == ENODATA || err == ERANGE;	/* no such attribute; a size probe */
	case FUSE_REMOVEXATTR:
		return err == ENODATA;
	case FUSE_SETXATTR:
		return err == EEXIST || err == ENODATA;	/* XATTR_CREATE, XATTR_REPLACE */
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_SYMLINK:
	case FUSE_LINK:
	case FUSE_CREATE:
		return err == EEXIST;
	case FUSE_RMDIR:
		return err == ENOTEMPTY;
	case FUSE_RENAME:
	case FUSE_RENAME2:
		return err == ENOTEMPTY || err == EEXIST || err == EXDEV;
	case FUSE_GETLK:
	case FUSE_SETLK:
	case FUSE_SETLKW:
		return err == EAGAIN || err == EDEADLK;	/* the lock is held */
	case FUSE_LSEEK:
		return err == ENXIO;		/* SEEK_DATA/SEEK_HOLE past the end */
	case FUSE_IOCTL:
		return err == ENOTTY;
	case FUSE_COPY_FILE_RANGE:
	case FUSE_COPY_FILE_RANGE_64:
		return err == EXDEV;		/* the kernel copies itself */
	}
	return false;
}
