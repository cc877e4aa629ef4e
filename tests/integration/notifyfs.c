/* SPDX-License-Identifier: MIT */
/*
 * notifyfs - a test filesystem that sends notifications on command, and
 * answers POLL and IOCTL (t_notify.sh).
 *
 *   notifyfs MOUNTPOINT [furi -o options...]
 *
 * The root holds fixed files. Everything the kernel may cache is cached
 * for an hour (names, attributes, and "data"'s pages: keep_cache), so a
 * change seen through the mount can only come from a notification.
 *
 *   data     ino 2  bytes kept in the server ("version1\n" at start)
 *   ctl      ino 3  direct_io: write a command, read the state
 *   pollme   ino 4  poll(2) ready once "poll" was commanded; ioctl target
 *   victim   ino 5  a name to invalidate and delete
 *   victim2  ino 6  a name to prune
 *   hold     ino 7  a READ of it is answered only by "release"
 *
 * A command is one write to ctl, "WHERE COMMAND ARGS...": WHERE "here"
 * runs it in the write handler (the queue thread on io_uring, a worker on
 * /dev/fuse), "thread" on a thread of the filesystem's own, which then
 * replies to the write. The write returns its size, or fails with the
 * notification's errno (ENOENT: the kernel does not cache that inode).
 *
 *   set_data TEXT        the server's bytes of data become TEXT (no notification)
 *   hide NAME            NAME stops existing in the server (no notification)
 *   inval_inode INO OFF LEN | inval_entry PARENT NAME | expire_entry PARENT NAME
 *   delete PARENT CHILD NAME | store INO OFF TEXT | retrieve INO OFF SIZE
 *   poll                 pollme becomes ready; its pollers are woken
 *   unready              pollme is not ready (and nobody waits) again
 *   resend | inc_epoch | prune INO
 *   release              answer the held READs of hold
 *
 * Reading ctl gives "key value" lines: lookups_NAME (LOOKUPs answered),
 * nlookup_INO (the kernel's lookup count), retrieved (the bytes the last
 * RETRIEVE returned, '.' for each byte that is not printable, after
 * "retrieves N"), poll_waiting (POLLs that asked
 * for a wake-up), hold_reads (READs of hold received).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <furi/furi.h>

#include "test_server.h"

#define NOTIFYFS_IOC_DOUBLE	_IOWR('N', 1, uint64_t)
#define CACHE_SECONDS		3600.0
#define MAX_HELD		8

enum { INO_DATA = 2, INO_CTL, INO_POLLME, INO_VICTIM, INO_VICTIM2, INO_HOLD, INO_END };

static const char *const names[INO_END] = {
	[INO_DATA] = "data", [INO_CTL] = "ctl", [INO_POLLME] = "pollme",
	[INO_VICTIM] = "victim", [INO_VICTIM2] = "victim2", [INO_HOLD] = "hold",
};

static struct furi_session *session;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char data[4096] = "version1\n";
static size_t data_len = 9;
static bool hidden[INO_END];
static unsigned lookups[INO_END];
static uint64_t nlookup[INO_END];
static char retrieved[4096];
static size_t retrieved_len;
static unsigned retrieves;
static bool poll_ready;
static bool have_kh;
static uint64_t poll_kh;
static unsigned poll_waiting;
static struct furi_req *held[MAX_HELD];
static unsigned nheld, hold_reads;

/* The notifier thread's queue: writes whose command it runs and answers. */
struct job {
	struct job *next;
	struct furi_req *req;
	size_t size;
	char cmd[512];
};
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
static struct job *jobs;
static bool stopping;
static pthread_t notifier;

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void fill_attr(uint64_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = 1;
	if (ino == FURI_ROOT_INO) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return;
	}
	st->st_mode = S_IFREG | 0644;
	if (ino == INO_DATA)
		st->st_size = (off_t)data_len;
}

static void h_lookup(struct furi_req *req, uint64_t parent, const char *name)
{
	struct furi_entry e = { .attr_timeout = CACHE_SECONDS, .entry_timeout = CACHE_SECONDS };
	uint64_t ino;

	if (parent != FURI_ROOT_INO) {
		furi_reply_err(req, ENOTDIR);
		return;
	}
	pthread_mutex_lock(&lock);
	for (ino = INO_DATA; ino < INO_END; ino++)
		if (!strcmp(names[ino], name))
			break;
	if (ino == INO_END || hidden[ino]) {
		pthread_mutex_unlock(&lock);
		furi_reply_err(req, ENOENT);
		return;
	}
	lookups[ino]++;
	nlookup[ino]++;
	e.ino = ino;
	fill_attr(ino, &e.attr);
	pthread_mutex_unlock(&lock);
	furi_reply_entry(req, &e);
}

static void h_forget(void *fs, uint64_t ino, uint64_t n)
{
	(void)fs;
	pthread_mutex_lock(&lock);
	if (ino < INO_END)
		nlookup[ino] -= n;
	pthread_mutex_unlock(&lock);
}

static void h_getattr(struct furi_req *req, uint64_t ino, const uint64_t *fh)
{
	struct stat st;

	(void)fh;
	pthread_mutex_lock(&lock);
	fill_attr(ino, &st);
	pthread_mutex_unlock(&lock);
	furi_reply_attr(req, &st, CACHE_SECONDS);
}

static void h_open(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	fo->keep_cache = ino == INO_DATA;
	fo->direct_io = ino == INO_CTL || ino == INO_HOLD;
	furi_reply_open(req, fo);
}

/* The state, as "key value" lines. */
static size_t format_state(char *buf, size_t size)
{
	size_t n = 0;

	for (uint64_t ino = INO_DATA; ino < INO_END; ino++)
		n += (size_t)snprintf(buf + n, size - n, "lookups_%s %u\nnlookup_%llu %llu\n",
				      names[ino], lookups[ino], (unsigned long long)ino,
				      (unsigned long long)nlookup[ino]);
	n += (size_t)snprintf(buf + n, size - n, "poll_waiting %u\nhold_reads %u\nretrieves %u\n",
			      poll_waiting, hold_reads, retrieves);
	/* One line: bytes that are not printable show as '.'. */
	n += (size_t)snprintf(buf + n, size - n, "retrieved ");
	for (size_t i = 0; i < retrieved_len && n + 2 < size; i++)
		buf[n++] = retrieved[i] >= ' ' && retrieved[i] < 127 ? retrieved[i] : '.';
	n += (size_t)snprintf(buf + n, size - n, "\n");
	return min_size(n, size);
}

static void h_read(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off, size_t size)
{
	char state[8192];
	size_t n;

	(void)fh;
	pthread_mutex_lock(&lock);
	if (ino == INO_HOLD) {
		hold_reads++;
		if (nheld < MAX_HELD) {
			held[nheld++] = req;
			pthread_mutex_unlock(&lock);
			return;
		}
		pthread_mutex_unlock(&lock);
		furi_reply_err(req, EAGAIN);
		return;
	}
	if (ino == INO_DATA) {
		n = off < data_len ? min_size(data_len - off, size) : 0;
		memcpy(state, data + (off < data_len ? off : 0), n);
	} else if (ino == INO_CTL) {
		n = format_state(state, sizeof(state));
		n = off < n ? min_size(n - off, size) : 0;
		memmove(state, state + (off < sizeof(state) ? off : 0), n);
	} else {
		n = 0;
	}
	pthread_mutex_unlock(&lock);
	furi_reply_buf(req, state, n);
}

static void on_retrieved(struct furi_session *se, uint64_t ino, uint64_t off, const void *bytes,
			 size_t size, void *arg)
{
	(void)se, (void)ino, (void)off, (void)arg;
	pthread_mutex_lock(&lock);
	retrieved_len = min_size(size, sizeof(retrieved));
	memcpy(retrieved, bytes, retrieved_len);
	retrieves++;
	pthread_mutex_unlock(&lock);
}

/* Answer every held READ of hold (the data is empty: EOF). */
static void release_held(void)
{
	struct furi_req *r[MAX_HELD];
	unsigned n;

	pthread_mutex_lock(&lock);
	n = nheld;
	memcpy(r, held, sizeof(r));
	nheld = 0;
	pthread_mutex_unlock(&lock);
	for (unsigned i = 0; i < n; i++)
		furi_reply_buf(r[i], NULL, 0);
}

/*
 * Run cmd; 0 or -errno. The fs lock is never held across a notification:
 * inval_entry and delete lock the directory in the kernel, where a LOOKUP
 * may be waiting for this server.
 */
static int run_cmd(char *cmd, bool *after_reply)
{
	char *save = NULL, *verb = strtok_r(cmd, " \n", &save);
	char *a1 = strtok_r(NULL, " \n", &save), *a2 = strtok_r(NULL, " \n", &save);
	char *a3 = strtok_r(NULL, "\n", &save);
	uint64_t kh;
	bool wake;

	*after_reply = false;
	if (!verb)
		return -EINVAL;
	if (!strcmp(verb, "set_data") && a1) {
		pthread_mutex_lock(&lock);
		data_len = (size_t)snprintf(data, sizeof(data), "%s\n", a1);
		pthread_mutex_unlock(&lock);
		return 0;
	}
	if (!strcmp(verb, "hide") && a1) {
		pthread_mutex_lock(&lock);
		for (int ino = INO_DATA; ino < INO_END; ino++)
			if (!strcmp(names[ino], a1))
				hidden[ino] = true;
		pthread_mutex_unlock(&lock);
		return 0;
	}
	if (!strcmp(verb, "inval_inode") && a1 && a2 && a3)
		return furi_notify_inval_inode(session, strtoull(a1, NULL, 0), strtoll(a2, NULL, 0),
					       strtoll(a3, NULL, 0));
	if (!strcmp(verb, "inval_entry") && a1 && a2)
		return furi_notify_inval_entry(session, strtoull(a1, NULL, 0), a2);
	if (!strcmp(verb, "expire_entry") && a1 && a2)
		return furi_notify_expire_entry(session, strtoull(a1, NULL, 0), a2);
	if (!strcmp(verb, "delete") && a1 && a2 && a3)
		return furi_notify_delete(session, strtoull(a1, NULL, 0), strtoull(a2, NULL, 0), a3);
	if (!strcmp(verb, "store") && a1 && a2 && a3)
		return furi_notify_store(session, strtoull(a1, NULL, 0), strtoull(a2, NULL, 0), a3,
					 strlen(a3));
	if (!strcmp(verb, "retrieve") && a1 && a2 && a3)
		return furi_notify_retrieve(session, strtoull(a1, NULL, 0), strtoull(a2, NULL, 0),
					    strtoull(a3, NULL, 0), on_retrieved, NULL);
	if (!strcmp(verb, "unready")) {
		pthread_mutex_lock(&lock);
		poll_ready = have_kh = false;
		poll_waiting = 0;
		pthread_mutex_unlock(&lock);
		return 0;
	}
	if (!strcmp(verb, "poll")) {
		pthread_mutex_lock(&lock);
		poll_ready = true;
		wake = have_kh;
		kh = poll_kh;
		pthread_mutex_unlock(&lock);
		return wake ? furi_notify_poll(session, kh) : -ENOENT;
	}
	/*
	 * The kernel resends every request it handed to /dev/fuse and has not
	 * had answered: this write too, if it were still open. Answer first.
	 */
	if (!strcmp(verb, "resend")) {
		*after_reply = true;
		return 0;
	}
	if (!strcmp(verb, "inc_epoch"))
		return furi_notify_inc_epoch(session);
	if (!strcmp(verb, "prune") && a1) {
		uint64_t ino = strtoull(a1, NULL, 0);

		return furi_notify_prune(session, &ino, 1);
	}
	if (!strcmp(verb, "release")) {
		release_held();
		return 0;
	}
	return -EINVAL;
}

static void answer(struct furi_req *req, size_t size, char *cmd)
{
	bool after;
	int r = run_cmd(cmd, &after);

	if (r < 0)
		furi_reply_err(req, -r);
	else
		furi_reply_write(req, size);
	if (after && furi_notify_resend(session) < 0)
		fprintf(stderr, "notifyfs: resend refused\n");
}

static void *notifier_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		struct job *j;

		while (!jobs && !stopping)
			pthread_cond_wait(&more, &lock);
		if (!jobs)
			break;
		j = jobs;
		jobs = j->next;
		pthread_mutex_unlock(&lock);
		answer(j->req, j->size, j->cmd);
		free(j);
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void h_write(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
		    const void *buf, size_t size, unsigned flags)
{
	char cmd[512];
	size_t n = min_size(size, sizeof(cmd) - 1);
	struct job *j, **tail;

	(void)fh, (void)off, (void)flags;
	if (ino != INO_CTL) {
		furi_reply_err(req, EACCES);
		return;
	}
	memcpy(cmd, buf, n);
	cmd[n] = '\0';
	if (!strncmp(cmd, "here ", 5)) {
		answer(req, size, cmd + 5);
		return;
	}
	if (strncmp(cmd, "thread ", 7) || !(j = calloc(1, sizeof(*j)))) {
		furi_reply_err(req, EINVAL);
		return;
	}
	j->req = req;
	j->size = size;
	snprintf(j->cmd, sizeof(j->cmd), "%s", cmd + 7);
	pthread_mutex_lock(&lock);
	for (tail = &jobs; *tail; tail = &(*tail)->next)
		;
	*tail = j;
	pthread_cond_signal(&more);
	pthread_mutex_unlock(&lock);
}

static void h_setattr(struct furi_req *req, uint64_t ino, const struct furi_setattr *attr)
{
	(void)attr;
	h_getattr(req, ino, NULL);	/* "echo > ctl" truncates: nothing to do */
}

static void h_readdir(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off, size_t size)
{
	struct furi_dirbuf db;

	(void)fh;
	if (ino != FURI_ROOT_INO) {
		furi_reply_err(req, ENOTDIR);
		return;
	}
	furi_dirbuf_init(&db, req, size);
	pthread_mutex_lock(&lock);
	for (uint64_t i = off + INO_DATA; i < INO_END; i++)
		if (!hidden[i] && !furi_dirbuf_add(&db, names[i], i, S_IFREG, i - INO_DATA + 1))
			break;
	pthread_mutex_unlock(&lock);
	furi_reply_dirbuf(req, &db);
}

static void h_poll(struct furi_req *req, uint64_t ino, uint64_t fh, unsigned events, uint64_t kh,
		   bool notify)
{
	unsigned revents = 0;

	(void)fh;
	pthread_mutex_lock(&lock);
	if (ino != INO_POLLME || poll_ready) {
		revents = events & (POLLIN | POLLOUT);
	} else if (notify) {
		poll_kh = kh;
		have_kh = true;
		poll_waiting++;
	}
	pthread_mutex_unlock(&lock);
	furi_reply_poll(req, revents);
}

static void h_ioctl(struct furi_req *req, uint64_t ino, uint64_t fh, unsigned cmd, uint64_t arg,
		    unsigned flags, const void *in, size_t in_size, size_t out_size)
{
	uint64_t v;

	(void)ino, (void)fh, (void)arg, (void)flags;
	if (cmd != NOTIFYFS_IOC_DOUBLE) {
		furi_reply_err(req, ENOTTY);
		return;
	}
	if (in_size < sizeof(v) || out_size < sizeof(v)) {
		furi_reply_err(req, EINVAL);
		return;
	}
	memcpy(&v, in, sizeof(v));
	v *= 2;
	furi_reply_ioctl(req, 7, &v, sizeof(v));
}

static void h_init(void *fs, struct furi_conn *conn)
{
	(void)fs;
	conn->want &= ~(FURI_CAP_READDIRPLUS | FURI_CAP_AUTO_INVAL_DATA);
	pthread_create(&notifier, NULL, notifier_main, NULL);
}

static void h_destroy(void *fs)
{
	(void)fs;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_broadcast(&more);
	pthread_mutex_unlock(&lock);
	pthread_join(notifier, NULL);
}

static const struct furi_ops ops = {
	.init = h_init,
	.destroy = h_destroy,
	.lookup = h_lookup,
	.forget = h_forget,
	.getattr = h_getattr,
	.setattr = h_setattr,
	.open = h_open,
	.read = h_read,
	.write = h_write,
	.readdir = h_readdir,
	.poll = h_poll,
	.ioctl = h_ioctl,
};

int main(int argc, char **argv)
{
	return test_server_main("notifyfs", &ops, NULL, &session, argc, argv);
}
