/* SPDX-License-Identifier: MIT */
/*
 * test_status_errors.c - what `furi status` says about errors and threads:
 * error replies counted by (opcode, errno) in a channel's slot table (one
 * writer, several writers, a full table), which errors are answers and
 * which are failures, and a queue thread's placement (home, away, unpinned)
 * from its name and CPUs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>

#include "internal.h"
#include "furi_cmd.h"
#include "check.h"

static uint64_t slot_count(const struct furi_chan_stats *s, unsigned opcode, int err)
{
	unsigned i;

	for (i = 0; i < FURI_ERR_SLOTS; i++)
		if (s->errs[i].key == FURI_ERR_KEY(opcode, err))
			return s->errs[i].count;
	return 0;
}

static void reply(struct furi_chan *chan, unsigned opcode, int error)
{
	furi_stats_replied(chan, opcode, furi_now_ns(), error, 16);
}

static void test_error_replies_by_opcode_and_errno(void)
{
	static struct furi_chan_stats stats;
	struct furi_chan chan = { .stats = &stats };
	unsigned i;

	for (i = 0; i < 5; i++)
		reply(&chan, FUSE_LOOKUP, -ENOENT);
	reply(&chan, FUSE_GETXATTR, -ENODATA);
	reply(&chan, FUSE_READ, -EIO);
	reply(&chan, FUSE_READ, -EIO);
	reply(&chan, FUSE_READ, 0);	/* not an error: no slot */
	CHECK_EQ_U64(stats.replied, 9);
	CHECK_EQ_U64(stats.errors, 8);
	CHECK_EQ_U64(slot_count(&stats, FUSE_LOOKUP, ENOENT), 5);
	CHECK_EQ_U64(slot_count(&stats, FUSE_GETXATTR, ENODATA), 1);
	CHECK_EQ_U64(slot_count(&stats, FUSE_READ, EIO), 2);
	CHECK_EQ_U64(slot_count(&stats, FUSE_READ, 0), 0);
	CHECK_EQ_U64(stats.errors_untracked, 0);
}

static void test_full_table_counts_the_rest_untracked(void)
{
	static struct furi_chan_stats stats;
	struct furi_chan chan = { .stats = &stats };
	uint64_t in_slots = 0;
	unsigned i;

	/* More distinct pairs than slots: every reply is counted somewhere. */
	for (i = 1; i <= FURI_ERR_SLOTS + 8; i++)
		reply(&chan, FUSE_LOOKUP, -(int)i);
	reply(&chan, FUSE_LOOKUP, -1);	/* a pair that has a slot keeps counting there */
	for (i = 0; i < FURI_ERR_SLOTS; i++) {
		CHECK(stats.errs[i].key != 0);
		in_slots += stats.errs[i].count;
	}
	CHECK_EQ_U64(in_slots + stats.errors_untracked, FURI_ERR_SLOTS + 9);
	CHECK_EQ_U64(stats.errors_untracked, 8);
	CHECK_EQ_U64(slot_count(&stats, FUSE_LOOKUP, 1), 2);
}

/* Several /dev/fuse workers count into one channel at once. */
#define WORKERS 4
#define REPLIES 20000
static struct furi_chan_stats shared_stats;

static void *worker(void *arg)
{
	struct furi_chan chan = { .stats = &shared_stats, .shared_stats = true };
	int which = (int)(intptr_t)arg, i;

	for (i = 0; i < REPLIES; i++)
		reply(&chan, i % 2 ? FUSE_LOOKUP : FUSE_OPEN, -(1 + (which + i) % 3));
	return NULL;
}

static void test_shared_channel_counts_every_reply_once(void)
{
	pthread_t t[WORKERS];
	uint64_t total = 0;
	unsigned i, used = 0;

	for (i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	for (i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < FURI_ERR_SLOTS; i++) {
		total += shared_stats.errs[i].count;
		used += shared_stats.errs[i].key != 0;
	}
	/* 2 opcodes x 3 errnos: six slots, each pair in exactly one. */
	CHECK_EQ(used, 6);
	CHECK_EQ_U64(total, (uint64_t)WORKERS * REPLIES);
	CHECK_EQ_U64(shared_stats.errors, (uint64_t)WORKERS * REPLIES);
	CHECK_EQ_U64(shared_stats.errors_untracked, 0);
}

static void test_answers_and_failures(void)
{
	/* What a healthy filesystem answers. */
	CHECK(furi_error_expected(FUSE_LOOKUP, ENOENT));
	CHECK(furi_error_expected(FUSE_GETXATTR, ENODATA));
	CHECK(furi_error_expected(FUSE_LISTXATTR, ERANGE));
	CHECK(furi_error_expected(FUSE_REMOVEXATTR, ENODATA));
	CHECK(furi_error_expected(FUSE_SETXATTR, EEXIST));
	CHECK(furi_error_expected(FUSE_MKDIR, EEXIST));
	CHECK(furi_error_expected(FUSE_RMDIR, ENOTEMPTY));
	CHECK(furi_error_expected(FUSE_RENAME2, EEXIST));
	CHECK(furi_error_expected(FUSE_SETLK, EAGAIN));
	CHECK(furi_error_expected(FUSE_LSEEK, ENXIO));
	CHECK(furi_error_expected(FUSE_IOCTL, ENOTTY));
	CHECK(furi_error_expected(FUSE_COPY_FILE_RANGE, EXDEV));
	CHECK(furi_error_expected(FUSE_FALLOCATE, EOPNOTSUPP));
	CHECK(furi_error_expected(FUSE_POLL, ENOSYS));
	CHECK(furi_error_expected(FUSE_OPEN, EACCES));
	CHECK(furi_error_expected(FUSE_SETATTR, EPERM));
	CHECK(furi_error_expected(FUSE_READ, EINTR));
	/* The same errno where it means something went wrong. */
	CHECK(!furi_error_expected(FUSE_GETATTR, ENOENT));
	CHECK(!furi_error_expected(FUSE_READ, ENOENT));
	CHECK(!furi_error_expected(FUSE_WRITE, ENODATA));
	CHECK(!furi_error_expected(FUSE_OPEN, EAGAIN));
	/* Failures anywhere. */
	CHECK(!furi_error_expected(FUSE_READ, EIO));
	CHECK(!furi_error_expected(FUSE_WRITE, ENOSPC));
	CHECK(!furi_error_expected(FUSE_LOOKUP, ENOMEM));
	CHECK(!furi_error_expected(FUSE_GETATTR, ESTALE));
	CHECK(!furi_error_expected(FUSE_CREATE, EMFILE));
	CHECK(!furi_error_expected(FUSE_READ, EBADF));
}

static const char *placement(const char *name, const char *cpus, unsigned queues,
			     unsigned uring_threads, unsigned pin, char *serves, char *home)
{
	struct furi_thread_info t = { .tid = 1 };

	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.cpus, sizeof(t.cpus), "%s", cpus);
	furi_thread_placement(&t, queues, uring_threads, pin);
	strcpy(serves, t.serves);
	strcpy(home, t.home);
	return t.placement;
}

static void test_thread_placement(void)
{
	char serves[64], home[64];

	/* One thread per queue: thread N serves queue N, home is CPU N. */
	CHECK_STR(placement("furi-uring1", "1", 4, 4, FURI_PIN_AUTO, serves, home), "home");
	CHECK_STR(serves, "queue1");
	CHECK_STR(home, "1");
	/* pin=auto moved it to the other CPUs: away, not a bug. */
	CHECK_STR(placement("furi-uring1", "0,2-3", 4, 4, FURI_PIN_AUTO, serves, home), "away");
	/* The same CPUs without pin=auto, or CPUs including home: unpinned. */
	CHECK_STR(placement("furi-uring1", "0,2-3", 4, 4, FURI_PIN_NEVER, serves, home), "unpinned");
	CHECK_STR(placement("furi-uring1", "0-3", 4, 4, FURI_PIN_AUTO, serves, home), "unpinned");
	/* -o uring_threads=2 on 5 queues: thread 0 serves queues 0, 2 and 4. */
	CHECK_STR(placement("furi-uring0", "0,2,4", 5, 2, FURI_PIN_AUTO, serves, home), "home");
	CHECK_STR(serves, "queues 0,2,4");
	CHECK_STR(home, "0,2,4");
	CHECK_STR(placement("furi-uring1", "0,2,4", 5, 2, FURI_PIN_AUTO, serves, home), "away");
	CHECK_STR(home, "1,3");
	CHECK_STR(placement("furi-uring0", "0-2", 3, 1, FURI_PIN_ALWAYS, serves, home), "home");
	CHECK_STR(serves, "queues 0-2");
	/* /dev/fuse workers, and queue threads of a mount /dev/fuse serves. */
	CHECK_STR(placement("furi-fuse0", "0-3", 4, 4, FURI_PIN_AUTO, serves, home), "unpinned");
	CHECK_STR(serves, "dev_fuse");
	CHECK_STR(home, "-");
	CHECK_STR(placement("furi-uring0", "0", 0, 0, FURI_PIN_AUTO, serves, home), "unpinned");
	/* A CPU list it cannot read says nothing about placement. */
	CHECK_STR(placement("furi-uring0", "?", 2, 2, FURI_PIN_AUTO, serves, home), "unpinned");
}

int main(void)
{
	test_error_replies_by_opcode_and_errno();
	test_full_table_counts_the_rest_untracked();
	test_shared_channel_counts_every_reply_once();
	test_answers_and_failures();
	test_thread_placement();
	return check_exit("test_status_errors");
}
