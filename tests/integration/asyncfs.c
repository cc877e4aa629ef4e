/* SPDX-License-Identifier: MIT */
/*
 * asyncfs - a test filesystem whose every reply comes from another thread.
 *
 *   asyncfs MOUNTPOINT [furi -o options...]
 *
 * Each request is queued to a pool of worker threads that reply in random
 * order after a random short delay, which drives the paths memfs never
 * takes: on io_uring the queue thread's lock-free reply list and its eventfd
 * wake-up, on /dev/fuse the hand-over of a detached request buffer.
 *
 * The root directory holds flat regular files kept in memory (create,
 * write, read, truncate, unlink). A file named "block" is special: a READ of
 * it never completes by itself; it asks to be told of an interrupt and
 * answers EINTR when the kernel interrupts it (a signal to the reader), or
 * ETIMEDOUT after 20 s so a broken interrupt path fails a test instead of
 * hanging it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <furi/furi.h>

#include "test_server.h"

#define MAX_FILES 256
#define MAX_SIZE (16u << 20)
#define WORKERS 4

struct file {
	char name[64];
	uint64_t ino;
	char *data;
	size_t size;
	mode_t mode;
	unsigned nlookup;
};

struct job {
	struct job *next;
	struct furi_req *req;
	void (*run)(struct job *job);
	uint64_t ino, off, fh;
	size_t size;
	char name[64];
	mode_t mode;
	unsigned valid;
	uint64_t new_size;
	char *wdata;		/* copy of WRITE data: the request buffer may be reused */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
static struct file files[MAX_FILES];
static uint64_t next_ino = 2;
static struct job *queue_head;
static unsigned queue_len;
static bool stopping;
static pthread_t workers[WORKERS];

static struct file *by_ino(uint64_t ino)
{
	for (int i = 0; i < MAX_FILES; i++)
		if (files[i].ino == ino)
			return &files[i];
	return NULL;
}

static struct file *by_name(const char *name)
{
	for (int i = 0; i < MAX_FILES; i++)
		if (files[i].ino && !strcmp(files[i].name, name))
			return &files[i];
	return NULL;
}

static void fill_stat(struct stat *st, uint64_t ino)
{
	struct file *f = by_ino(ino);

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FURI_ROOT_INO) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (f) {
		st->st_mode = S_IFREG | f->mode;
		st->st_nlink = 1;
		st->st_size = (off_t)f->size;
	}
}

/* Queue a job at a random place so replies come back out of order. */
static void submit(struct furi_req *req, void (*run)(struct job *), struct job *proto)
{
	struct job *j = malloc(sizeof(*j)), **p;
	unsigned pos;

	if (!j) {
		furi_reply_err(req, ENOMEM);
		return;
	}
	*j = *proto;
	j->req = req;
	j->run = run;
	pthread_mutex_lock(&lock);
	pos = queue_len ? (unsigned)rand() % (queue_len + 1) : 0;
	for (p = &queue_head; *p && pos; p = &(*p)->next, pos--)
		;
	j->next = *p;
	*p = j;
	queue_len++;
	pthread_cond_signal(&more);
	pthread_mutex_unlock(&lock);
}

static void *worker_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct job *j;

		pthread_mutex_lock(&lock);
		while (!queue_head && !stopping)
			pthread_cond_wait(&more, &lock);
		if (!queue_head) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		j = queue_head;
		queue_head = j->next;
		queue_len--;
		pthread_mutex_unlock(&lock);
		if (rand() % 4 == 0)
			usleep((useconds_t)(rand() % 200));
		j->run(j);
		free(j->wdata);
		free(j);
	}
}

/* ---- jobs: run on a worker, reply there ---- */

static void entry_of(struct file *f, struct furi_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = f->ino;
	e->attr_timeout = e->entry_timeout = 0;	/* every access reaches the server */
	fill_stat(&e->attr, f->ino);
}

static void run_lookup(struct job *j)
{
	struct furi_entry e;
	struct file *f;

	pthread_mutex_lock(&lock);
	f = j->ino == FURI_ROOT_INO ? by_name(j->name) : NULL;
	if (f) {
		f->nlookup++;
		entry_of(f, &e);
	}
	pthread_mutex_unlock(&lock);
	if (f)
		furi_reply_entry(j->req, &e);
	else
		furi_reply_err(j->req, ENOENT);
}

static void run_getattr(struct job *j)
{
	struct stat st;
	bool ok;

	pthread_mutex_lock(&lock);
	ok = j->ino == FURI_ROOT_INO || by_ino(j->ino);
	fill_stat(&st, j->ino);
	pthread_mutex_unlock(&lock);
	if (ok)
		furi_reply_attr(j->req, &st, 0);
	else
		furi_reply_err(j->req, ENOENT);
}

static void run_setattr(struct job *j)
{
	struct file *f;
	struct stat st;
	int err = 0;

	pthread_mutex_lock(&lock);
	f = by_ino(j->ino);
	if (!f) {
		err = ENOENT;
	} else {
		if (j->valid & FURI_SET_SIZE) {
			if (j->new_size > MAX_SIZE) {
				err = EFBIG;
			} else {
				char *d = realloc(f->data, j->new_size ? j->new_size : 1);

				if (!d) {
					err = ENOMEM;
				} else {
					if (j->new_size > f->size)
						memset(d + f->size, 0, j->new_size - f->size);
					f->data = d;
					f->size = j->new_size;
				}
			}
		}
		if (!err && (j->valid & FURI_SET_MODE))
			f->mode = j->mode & 07777;
	}
	fill_stat(&st, j->ino);
	pthread_mutex_unlock(&lock);
	if (err)
		furi_reply_err(j->req, err);
	else
		furi_reply_attr(j->req, &st, 0);
}

static void run_create(struct job *j)
{
	struct furi_entry e;
	struct furi_open fo = { .fh = 0 };
	struct file *f = NULL;
	int i, err = 0;

	pthread_mutex_lock(&lock);
	if (by_name(j->name)) {
		err = EEXIST;
	} else {
		for (i = 0; i < MAX_FILES && files[i].ino; i++)
			;
		if (i == MAX_FILES) {
			err = ENOSPC;
		} else {
			f = &files[i];
			memset(f, 0, sizeof(*f));
			snprintf(f->name, sizeof(f->name), "%s", j->name);
			f->ino = next_ino++;
			f->mode = j->mode & 07777;
			f->nlookup = 1;
			entry_of(f, &e);
			fo.fh = f->ino;
		}
	}
	pthread_mutex_unlock(&lock);
	if (err)
		furi_reply_err(j->req, err);
	else
		furi_reply_create(j->req, &e, &fo);
}

static void run_unlink(struct job *j)
{
	struct file *f;

	pthread_mutex_lock(&lock);
	f = by_name(j->name);
	if (f) {
		free(f->data);
		/* Names are flat and the test never holds an unlinked file open. */
		memset(f, 0, sizeof(*f));
	}
	pthread_mutex_unlock(&lock);
	furi_reply_err(j->req, f ? 0 : ENOENT);
}

static void run_read(struct job *j)
{
	struct file *f;
	size_t n = 0, cap;
	char *out = furi_req_payload(j->req, &cap);

	pthread_mutex_lock(&lock);
	f = by_ino(j->ino);
	if (f && j->off < f->size) {
		n = f->size - j->off;
		if (n > j->size)
			n = j->size;
		memcpy(out, f->data + j->off, n);
	}
	pthread_mutex_unlock(&lock);
	if (!f)
		furi_reply_err(j->req, ENOENT);
	else
		furi_reply_data(j->req, n);
}

static void run_write(struct job *j)
{
	struct file *f;
	int err = 0;

	pthread_mutex_lock(&lock);
	f = by_ino(j->ino);
	if (!f) {
		err = ENOENT;
	} else if (j->off + j->size > MAX_SIZE) {
		err = EFBIG;
	} else {
		if (j->off + j->size > f->size) {
			char *d = realloc(f->data, j->off + j->size);

			if (!d) {
				err = ENOMEM;
			} else {
				memset(d + f->size, 0, j->off + j->size - f->size);
				f->data = d;
				f->size = j->off + j->size;
			}
		}
		if (!err)
			memcpy(f->data + j->off, j->wdata, j->size);
	}
	pthread_mutex_unlock(&lock);
	if (err)
		furi_reply_err(j->req, err);
	else
		furi_reply_write(j->req, j->size);
}

static void run_readdir(struct job *j)
{
	struct furi_dirbuf db;
	uint64_t i;

	furi_dirbuf_init(&db, j->req, j->size);
	pthread_mutex_lock(&lock);
	for (i = j->off; i < MAX_FILES + 2; i++) {
		bool added = true;

		if (i == 0)
			added = furi_dirbuf_add(&db, ".", FURI_ROOT_INO, S_IFDIR, 1);
		else if (i == 1)
			added = furi_dirbuf_add(&db, "..", FURI_ROOT_INO, S_IFDIR, 2);
		else if (files[i - 2].ino)
			added = furi_dirbuf_add(&db, files[i - 2].name, files[i - 2].ino, S_IFREG,
						i + 1);
		if (!added)
			break;
	}
	pthread_mutex_unlock(&lock);
	furi_reply_dirbuf(j->req, &db);
}

static void run_ok(struct job *j)
{
	furi_reply_err(j->req, 0);
}

/* ---- the blocking read ---- */

struct blocked {
	struct furi_req *req;
	pthread_mutex_t lock;
	bool answered;
};

static bool answer_once(struct blocked *b)
{
	bool first;

	pthread_mutex_lock(&b->lock);
	first = !b->answered;
	b->answered = true;
	pthread_mutex_unlock(&b->lock);
	return first;
}

static void on_interrupt(struct furi_req *req, void *arg)
{
	if (answer_once(arg))
		furi_reply_err(req, EINTR);
}

static void *block_timeout(void *arg)
{
	struct blocked *b = arg;

	for (int i = 0; i < 200; i++) {
		usleep(100000);
		pthread_mutex_lock(&b->lock);
		if (b->answered) {
			pthread_mutex_unlock(&b->lock);
			goto out;
		}
		pthread_mutex_unlock(&b->lock);
	}
	if (answer_once(b))
		furi_reply_err(b->req, ETIMEDOUT);
out:
	/* The interrupt callback may still be returning: give it time. */
	usleep(100000);
	pthread_mutex_destroy(&b->lock);
	free(b);
	return NULL;
}

static void start_blocked_read(struct furi_req *req)
{
	struct blocked *b = calloc(1, sizeof(*b));
	pthread_t t;

	if (!b) {
		furi_reply_err(req, ENOMEM);
		return;
	}
	b->req = req;
	pthread_mutex_init(&b->lock, NULL);
	if (pthread_create(&t, NULL, block_timeout, b)) {
		furi_reply_err(req, EAGAIN);
		free(b);
		return;
	}
	pthread_detach(t);
	furi_req_on_interrupt(req, on_interrupt, b);
}

/* ---- handlers: queue everything ---- */

static void h_lookup(struct furi_req *req, uint64_t parent, const char *name)
{
	struct job j = { .ino = parent };

	snprintf(j.name, sizeof(j.name), "%s", name);
	submit(req, run_lookup, &j);
}

static void h_forget(void *fs, uint64_t ino, uint64_t n)
{
	(void)fs, (void)ino, (void)n;
}

static void h_getattr(struct furi_req *req, uint64_t ino, const uint64_t *fh)
{
	struct job j = { .ino = ino };

	(void)fh;
	submit(req, run_getattr, &j);
}

static void h_setattr(struct furi_req *req, uint64_t ino, const struct furi_setattr *a)
{
	struct job j = { .ino = ino, .valid = a->valid, .new_size = a->size, .mode = a->mode };

	submit(req, run_setattr, &j);
}

static void h_create(struct furi_req *req, uint64_t parent, const char *name, mode_t mode,
		     struct furi_open *fo)
{
	struct job j = { .ino = parent, .mode = mode };

	(void)fo;
	snprintf(j.name, sizeof(j.name), "%s", name);
	submit(req, run_create, &j);
}

static void h_unlink(struct furi_req *req, uint64_t parent, const char *name)
{
	struct job j = { .ino = parent };

	snprintf(j.name, sizeof(j.name), "%s", name);
	submit(req, run_unlink, &j);
}

static void h_open(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	fo->fh = ino;
	fo->direct_io = 1;	/* every read and write reaches the server */
	furi_reply_open(req, fo);
}

static void h_read(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off, size_t size)
{
	struct job j = { .ino = ino, .fh = fh, .off = off, .size = size };
	struct file *f;
	bool block;

	pthread_mutex_lock(&lock);
	f = by_ino(ino);
	block = f && !strcmp(f->name, "block");
	pthread_mutex_unlock(&lock);
	if (block)
		start_blocked_read(req);
	else
		submit(req, run_read, &j);
}

static void h_write(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
		    const void *data, size_t size, unsigned flags)
{
	struct job j = { .ino = ino, .fh = fh, .off = off, .size = size };

	(void)flags;
	j.wdata = malloc(size ? size : 1);
	if (!j.wdata) {
		furi_reply_err(req, ENOMEM);
		return;
	}
	memcpy(j.wdata, data, size);
	submit(req, run_write, &j);
}

static void h_readdir(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off, size_t size)
{
	struct job j = { .ino = ino, .fh = fh, .off = off, .size = size };

	submit(req, run_readdir, &j);
}

static void h_release(struct furi_req *req, uint64_t ino, uint64_t fh, int flags,
		      uint64_t owner, bool flush)
{
	struct job j = { 0 };

	(void)ino, (void)fh, (void)flags, (void)owner, (void)flush;
	submit(req, run_ok, &j);
}

static void h_init(void *fs, struct furi_conn *conn)
{
	(void)fs;
	conn->want &= ~FURI_CAP_READDIRPLUS;
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&workers[i], NULL, worker_main, NULL);
}

static void h_destroy(void *fs)
{
	(void)fs;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_broadcast(&more);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(workers[i], NULL);
	for (int i = 0; i < MAX_FILES; i++)
		free(files[i].data);
}

static const struct furi_ops ops = {
	.init = h_init,
	.destroy = h_destroy,
	.lookup = h_lookup,
	.forget = h_forget,
	.getattr = h_getattr,
	.setattr = h_setattr,
	.create = h_create,
	.unlink = h_unlink,
	.open = h_open,
	.read = h_read,
	.write = h_write,
	.readdir = h_readdir,
	.release = h_release,
};

int main(int argc, char **argv)
{
	srand((unsigned)time(NULL));
	return test_server_main("asyncfs", &ops, NULL, NULL, argc, argv);
}
