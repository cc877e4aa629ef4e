/* SPDX-License-Identifier: MIT */
/* variants.c - the variants of a run, from one table; see variants.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "variants.h"

enum fs_arg { ARG_NONE, ARG_SOURCE_DIR, ARG_IMAGE };
enum fs_native { NATIVE_TMPFS, NATIVE_SOURCE };

/*
 * libfuse's own example servers, the peers of furi's io_uring variants,
 * run in the foreground (so we hold their pid) with -o io_uring and
 * libfuse's default queue depth (FUSE_URING_QUEUE_DEPTH in the environment
 * changes it: libfuse reads it itself). passthrough_hp runs with
 * --nopassthrough: its data then goes over the ring, as furi's
 * passthrough io_uring variant's does; with kernel passthrough it would
 * be a peer of the passthrough column instead. nullfs has no exact peer:
 * memfs_ll -o null_io answers reads with data from a scratch buffer and
 * drops writes without a content store, which is the same data work as
 * nullfs; its metadata is still memfs_ll's.
 */
static const struct peer {
	const char *exe;	/* under --libfuse-examples DIR */
	const char *flags;	/* before -o */
	const char *opts;	/* the -o value */
	const char *what;	/* for the report */
} peer_memfs = { "memfs_ll", "-f", "io_uring", "libfuse's example memfs_ll" },
  peer_nullfs = { "memfs_ll", "-f", "io_uring,null_io",
		  "libfuse's example memfs_ll with -o null_io (no content store: reads from a "
		  "scratch buffer, writes dropped), the closest libfuse peer of nullfs" },
  peer_passthrough = { "passthrough_hp", "--foreground --nopassthrough", "io_uring",
		       "libfuse's example passthrough_hp of --source DIR, its data over the ring "
		       "(--nopassthrough, as furi's io_uring variant; no kernel passthrough)" };

static const struct fs_entry {
	const char *fs;			/* name after `furi mount` */
	enum fs_arg arg;		/* positional argument before MOUNTPOINT */
	enum fs_native native;		/* what "native" means for it */
	const char *passthrough_opt;	/* -o option for kernel passthrough; NULL if none */
	const char *what;		/* for the report */
	const struct peer *peer;	/* libfuse's example serving the same; NULL if none */
} fs_table[] = {
	{ "memfs", ARG_NONE, NATIVE_TMPFS, NULL, "furi's in-memory POSIX filesystem", &peer_memfs },
	{ "nullfs", ARG_NONE, NATIVE_TMPFS, NULL, "furi's null filesystem (no storage work)",
	  &peer_nullfs },
	{ "passthrough", ARG_SOURCE_DIR, NATIVE_SOURCE, "kernel_passthrough",
	  "furi's passthrough of --source DIR", &peer_passthrough },
	/*
	 * image exports one image file per variant, kept under --source DIR
	 * (a real disk: native is the same kind of file there), as a directory
	 * holding one file named like the qemu suite's data file; the other
	 * suites' files cannot be created in it.
	 */
	{ "image", ARG_IMAGE, NATIVE_SOURCE, NULL,
	  "furi's image export of an image file under --source DIR", NULL },
};

static const struct fs_entry *find_entry(const char *fs)
{
	size_t i;

	for (i = 0; i < sizeof(fs_table) / sizeof(fs_table[0]); i++)
		if (!strcmp(fs_table[i].fs, fs))
			return &fs_table[i];
	return NULL;
}

void bench_variant_slug(const struct bench_variant *v, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; v->label[i] && o + 1 < len; i++) {
		char c = v->label[i];

		if (isalnum((unsigned char)c) || c == '_' || c == '-')
			buf[o++] = c;
		else if (o && buf[o - 1] != '-')
			buf[o++] = '-';
	}
	while (o && buf[o - 1] == '-')
		o--;
	buf[o] = '\0';
}

static int add_variant(struct bench_run *run, const char *label, const char *fs,
		       const char *fs_arg, enum bench_kind kind, const char *options,
		       const char *describe)
{
	struct bench_variant *v;

	if (run->nvariants >= BENCH_MAX_VARIANTS)
		return -1;
	v = &run->v[run->nvariants];
	memset(v, 0, sizeof(*v));
	bench_str(v->label, sizeof(v->label), "%s", label);
	bench_str(v->fs, sizeof(v->fs), "%s", fs);
	bench_str(v->fs_arg, sizeof(v->fs_arg), "%s", fs_arg ? fs_arg : "");
	v->kind = kind;
	bench_str(v->options, sizeof(v->options), "%s", options ? options : "");
	bench_str(v->describe, sizeof(v->describe), "%s", describe);
	return run->nvariants++;
}

/* The native variant of an entry, created once and shared by every group using it. */
static int native_for(struct bench_run *run, const struct fs_entry *e, const char *source)
{
	const char *label = e->native == NATIVE_TMPFS ? "native (tmpfs)" : "native (source)";
	char desc[256];
	int i;

	for (i = 0; i < run->nvariants; i++)
		if (run->v[i].kind == BENCH_NATIVE && !strcmp(run->v[i].label, label))
			return i;
	if (e->native == NATIVE_TMPFS)
		bench_str(desc, sizeof(desc),
			 "a tmpfs mounted by furi bench under its temporary directory, read and "
			 "written directly: the baseline for the in-memory filesystems");
	else
		bench_str(desc, sizeof(desc), "the source directory %s itself, without FUSE",
			 source);
	return add_variant(run, label, "", e->native == NATIVE_SOURCE ? source : NULL,
			   BENCH_NATIVE, NULL, desc);
}

/*
 * Image variants export their own image file under source (a writable image
 * is locked by its export, so two never share one). The runner creates it
 * empty and lays it out through the export, which shows it under the name of
 * the qemu suite's data file, with the image read and written O_DIRECT as
 * native reads and writes its file. 128 entries per queue: the qemu suite's
 * 4 jobs x QD64 put up to 128 requests on each CPU's queue of a 2-CPU
 * machine, and native keeps all 256 at the disk; with 64 entries (and
 * max_background = queues x depth) half of them would wait in the kernel.
 * Default placement (-o pin=auto): with -o io_spin_us and -o sched_idle
 * an always-unpinned thread (nopin) lost at QD1 (1 job 0.51-0.54x native
 * against 0.65-0.85x pinned) and gained nothing at QD64, in A/B runs of
 * this matrix; pin=auto keeps a thread serving one request at a time pinned.
 */
#define IMAGE_OPTS "direct,growable,name=qemu.img,queue_depth=128"

/* The io_uring or /dev/fuse variant of an entry: transport is "uring" or "legacy". */
static int fuse_variant(struct bench_run *run, const struct fs_entry *e, const char *source,
			enum bench_kind kind, const char *transport)
{
	char label[64], desc[256], opts[160], image[512];
	const char *arg = e->arg == ARG_SOURCE_DIR ? source : NULL;
	bool uring = kind == BENCH_URING;
	int v;

	bench_str(label, sizeof(label), "%s %s", e->fs, uring ? "io_uring" : "/dev/fuse");
	bench_str(desc, sizeof(desc), "%s with `-o transport=%s` (%s)", e->what, transport,
		 uring ? "io_uring or fail" : "/dev/fuse only");
	bench_str(opts, sizeof(opts), "transport=%s", transport);
	if (e->arg == ARG_IMAGE) {
		bench_str(image, sizeof(image), "%s/furi-bench-data/image-%s.img", source, transport);
		bench_str(opts, sizeof(opts), "transport=%s," IMAGE_OPTS, transport);
		bench_str(desc, sizeof(desc), "%s with `-o %s`", e->what, opts);
		arg = image;
	}
	v = add_variant(run, label, e->fs, arg, kind, opts, desc);
	if (v >= 0)
		run->v[v].image = e->arg == ARG_IMAGE;
	return v;
}

/* The libfuse peer of an entry, from the examples directory dir. */
static int peer_variant(struct bench_run *run, const struct fs_entry *e, const char *source,
			const char *dir, char *err, size_t errlen)
{
	const struct peer *p = e->peer;
	char label[64], desc[1024], exe[512];
	int v;

	bench_str(exe, sizeof(exe), "%s/%s", *dir ? dir : "(libfuse examples)", p->exe);
	if (*dir && access(exe, X_OK)) {
		bench_str(err, errlen, "--libfuse-examples %s: no executable %s there (build libfuse's "
			  "examples as docs/BENCHMARKS.md shows, then give their directory)", dir, p->exe);
		return -1;
	}
	bench_str(label, sizeof(label), "%s libfuse io_uring", e->fs);
	bench_str(desc, sizeof(desc), "%s: `%s %s -o %s%s%s MNT`, its io_uring use read back from "
		  "libfuse's FUSE_INIT status line and its fuse-ring threads", p->what, exe, p->flags,
		  p->opts, e->arg == ARG_SOURCE_DIR ? " " : "", e->arg == ARG_SOURCE_DIR ? source : "");
	v = add_variant(run, label, e->fs, e->arg == ARG_SOURCE_DIR ? source : NULL,
			BENCH_LIBFUSE_URING, p->opts, desc);
	if (v < 0) {
		bench_str(err, errlen, "too many variants");
		return -1;
	}
	bench_str(run->v[v].exe, sizeof(run->v[v].exe), "%s", exe);
	bench_str(run->v[v].peer_flags, sizeof(run->v[v].peer_flags), "%s", p->flags);
	return v;
}

int bench_variants_build(struct bench_run *run, const char *fs_list, const char *source,
			 const char *libfuse_dir, int (*available)(const char *fs),
			 char *skipped, size_t skippedlen, char *err, size_t errlen)
{
	char *list = strdup(fs_list), *save = NULL, *fs;
	size_t sk = 0;

	run->nvariants = 0;
	run->ngroups = 0;
	if (skipped && skippedlen)
		skipped[0] = '\0';
	if (!list) {
		bench_str(err, errlen, "out of memory");
		return -1;
	}
	for (fs = strtok_r(list, ",", &save); fs; fs = strtok_r(NULL, ",", &save)) {
		const struct fs_entry *e = find_entry(fs);
		struct bench_group *g;
		char label[64], desc[256], opts[160];
		int k;

		if (!e) {
			bench_str(err, errlen, "--fs: unknown filesystem '%s' (known: memfs, nullfs, "
				 "passthrough, image)", fs);
			free(list);
			return -1;
		}
		if (e->arg != ARG_NONE && !source) {
			bench_str(err, errlen, "--fs %s needs --source DIR (%s)", fs,
				 e->arg == ARG_IMAGE ? "a directory on the disk to test: the image files go there"
						     : "the directory it serves");
			free(list);
			return -1;
		}
		if (available && !available(fs)) {
			if (skipped && sk < skippedlen)
				sk += (size_t)snprintf(skipped + sk, skippedlen - sk, "%s%s",
						       sk ? ", " : "", fs);
			continue;
		}
		if (run->ngroups >= BENCH_MAX_GROUPS) {
			bench_str(err, errlen, "too many filesystems");
			free(list);
			return -1;
		}
		g = &run->g[run->ngroups++];
		memset(g, 0, sizeof(*g));
		bench_str(g->fs, sizeof(g->fs), "%s", fs);
		for (k = 0; k < BENCH_NKINDS; k++)
			g->v[k] = -1;
		g->v[BENCH_NATIVE] = native_for(run, e, source);
		g->v[BENCH_URING] = fuse_variant(run, e, source, BENCH_URING, "uring");
		g->v[BENCH_LEGACY] = fuse_variant(run, e, source, BENCH_LEGACY, "legacy");
		if (e->passthrough_opt) {
			bench_str(label, sizeof(label), "%s passthrough", fs);
			/* Data bypasses the transport; metadata still goes over io_uring. */
			bench_str(opts, sizeof(opts), "transport=uring,%s", e->passthrough_opt);
			bench_str(desc, sizeof(desc), "%s with kernel passthrough (`-o %s`)", e->what,
				 opts);
			g->v[BENCH_PASSTHROUGH] = add_variant(run, label, fs, source,
							      BENCH_PASSTHROUGH, opts, desc);
		}
		if (libfuse_dir && e->peer) {
			g->v[BENCH_LIBFUSE_URING] = peer_variant(run, e, source, libfuse_dir, err, errlen);
			if (g->v[BENCH_LIBFUSE_URING] < 0) {
				free(list);
				return -1;
			}
		}
		for (k = 0; k <= BENCH_LEGACY; k++)
			if (g->v[k] < 0) {
				bench_str(err, errlen, "too many variants");
				free(list);
				return -1;
			}
	}
	free(list);
	if (!run->ngroups) {
		bench_str(err, errlen, "no filesystem to benchmark%s%s", sk ? " (not in this furi: " : "",
			 sk ? skipped : "");
		if (sk)
			bench_str(err + strlen(err), errlen - strlen(err), ")");
		return -1;
	}
	return 0;
}
