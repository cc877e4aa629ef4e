/* SPDX-License-Identifier: MIT */
/*
 * hellofs - the smallest useful furi filesystem: one read-only file,
 * /hello, built against the public API only (include/furi/furi.h).
 *
 *   hellofs MOUNTPOINT [furi -o option...]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <furi/furi.h>

static const char text[] = "Hello from furi!\n";
#define HELLO_INO 2

static void fill(uint64_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (ino == FURI_ROOT_INO) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = sizeof(text) - 1;
	}
}

static void hello_lookup(struct furi_req *req, uint64_t parent, const char *name)
{
	struct furi_entry e = { .ino = HELLO_INO, .attr_timeout = 60, .entry_timeout = 60 };

	if (parent != FURI_ROOT_INO || strcmp(name, "hello")) {
		furi_reply_err(req, ENOENT);
		return;
	}
	fill(HELLO_INO, &e.attr);
	furi_reply_entry(req, &e);
}

static void hello_getattr(struct furi_req *req, uint64_t ino, const uint64_t *fh)
{
	struct stat st;

	(void)fh;
	fill(ino, &st);
	furi_reply_attr(req, &st, 60);
}

static void hello_open(struct furi_req *req, uint64_t ino, struct furi_open *fo)
{
	if ((fo->flags & O_ACCMODE) != O_RDONLY) {
		furi_reply_err(req, EACCES);
		return;
	}
	fo->keep_cache = 1;
	furi_reply_open(req, fo);
	(void)ino;
}

static void hello_read(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
		       size_t size)
{
	size_t len = sizeof(text) - 1;

	(void)ino, (void)fh;
	if (off >= len)
		furi_reply_buf(req, NULL, 0);
	else
		furi_reply_buf(req, text + off, size < len - off ? size : len - off);
}

static void hello_readdir(struct furi_req *req, uint64_t ino, uint64_t fh, uint64_t off,
			  size_t size)
{
	struct furi_dirbuf db;

	(void)ino, (void)fh;
	furi_dirbuf_init(&db, req, size);
	if (off < 1 && !furi_dirbuf_add(&db, ".", FURI_ROOT_INO, S_IFDIR, 1))
		goto out;
	if (off < 2 && !furi_dirbuf_add(&db, "..", FURI_ROOT_INO, S_IFDIR, 2))
		goto out;
	if (off < 3)
		furi_dirbuf_add(&db, "hello", HELLO_INO, S_IFREG, 3);
out:
	furi_reply_dirbuf(req, &db);
}

static const struct furi_ops hello_ops = {
	.lookup = hello_lookup,
	.getattr = hello_getattr,
	.open = hello_open,
	.read = hello_read,
	.readdir = hello_readdir,
};

int main(int argc, char **argv)
{
	struct furi_config cfg;
	struct furi_session *se;
	char err[512];
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: hellofs MOUNTPOINT [OPTION...]\n");
		return 2;
	}
	furi_config_init(&cfg);
	cfg.fsname = "hellofs";
	for (i = 2; i < argc; i++) {
		if (furi_config_set(&cfg, argv[i], err, sizeof(err))) {
			fprintf(stderr, "hellofs: %s\n", err);
			return 2;
		}
	}
	se = furi_session_new(&cfg, &hello_ops, NULL, err, sizeof(err));
	if (!se || furi_session_mount(se, argv[1], err, sizeof(err))) {
		fprintf(stderr, "hellofs: %s\n", err);
		furi_session_destroy(se);
		return 1;
	}
	fprintf(stderr, "hellofs: %s\n", furi_session_transport_line(se));
	furi_session_wait(se);	/* until umount, SIGINT or SIGTERM */
	furi_session_destroy(se);
	return 0;
}
