/* SPDX-License-Identifier: MIT */
/*
 * suites.c - the cells of each suite. Each suite mirrors a published table
 * (see /work/shared/seeds in the project's history and docs/BENCHMARKS.md);
 * sizes are fixed per suite so runs on one machine compare.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

const char *const bench_suite_names[] = { "transport", "qemu", "rfc", "bufring", "meta", NULL };

struct sizes {
	double runtime, ramp;	/* time-based fio cells */
	uint64_t transport_file, qemu_file, rfc_file, rfc_mmap_io, bufring_file;
	unsigned creates;	/* files per thread */
	unsigned tree;		/* files in the stat-many/readdir tree */
	unsigned stat_passes;
	double meta_s;		/* time-based metadata modes */
};

static const struct sizes full_sizes = {
	.runtime = 10, .ramp = 2,
	.transport_file = 1 * GiB, .qemu_file = 1 * GiB, .rfc_file = 2 * GiB,
	.rfc_mmap_io = 512 * MiB, .bufring_file = 1 * GiB,
	.creates = 20000, .tree = 10000, .stat_passes = 3, .meta_s = 10,
};

static const struct sizes quick_sizes = {
	.runtime = 0.25, .ramp = 0,	/* fio itself needs ~0.4 s per run on top */
	.transport_file = 64 * MiB, .qemu_file = 64 * MiB, .rfc_file = 64 * MiB,
	.rfc_mmap_io = 16 * MiB, .bufring_file = 32 * MiB,
	.creates = 500, .tree = 1000, .stat_passes = 1, .meta_s = 0.3,
};

static struct bench_cell *new_cell(struct bench_suite *s, const char *id, const char *title)
{
	struct bench_cell *c;

	if (s->ncells >= BENCH_MAX_CELLS)
		return NULL;
	c = &s->cells[s->ncells++];
	memset(c, 0, sizeof(*c));
	bench_str(c->id, sizeof(c->id), "%s", id);
	bench_str(c->title, sizeof(c->title), "%s", title);
	c->nrows = 1;
	return c;
}

static struct bench_cell *fio_cell(struct bench_suite *s, const struct sizes *z, const char *id,
				   const char *title, const char *engine, const char *rw,
				   unsigned bs, unsigned qd, unsigned jobs, bool direct,
				   const char *file, uint64_t size)
{
	struct bench_cell *c = new_cell(s, id, title);
	struct bench_work *w;

	if (!c)
		return NULL;
	w = &c->w;
	w->kind = BENCH_WORK_FIO;
	bench_str(w->engine, sizeof(w->engine), "%s", engine);
	bench_str(w->rw, sizeof(w->rw), "%s", rw);
	w->bs = bs;
	w->iodepth = qd;
	w->jobs = jobs;
	w->direct = direct;
	bench_str(w->file, sizeof(w->file), "%s", file);
	w->file_size = size;
	w->time_based = true;
	w->runtime_s = z->runtime;
	w->ramp_s = z->ramp;
	c->per_io = true;
	c->rows[0].dir = strstr(rw, "write") ? BENCH_WRITE : BENCH_READ;
	c->rows[0].unit = bs >= 64 * KiB ? BENCH_MIBS : BENCH_IOPS;
	return c;
}

/* A buffered or mmap read of each job's own slice of the file, once, from a cold cache. */
static void make_cold_pass(struct bench_cell *c, uint64_t io_size)
{
	c->w.time_based = false;
	c->w.ramp_s = 0;
	c->w.runtime_s = 0;
	c->w.split = true;
	c->w.io_size = io_size;
	c->w.cold = true;
}

static struct bench_cell *meta_cell(struct bench_suite *s, const char *id, const char *title,
				    const char *mode, unsigned threads, unsigned count,
				    double seconds, const char *dir)
{
	struct bench_cell *c = new_cell(s, id, title);

	if (!c)
		return NULL;
	c->w.kind = BENCH_WORK_META;
	bench_str(c->w.mode, sizeof(c->w.mode), "%s", mode);
	c->w.threads = threads;
	c->w.count = count;
	c->w.seconds = seconds;
	c->w.passes = 1;
	bench_str(c->w.dir, sizeof(c->w.dir), "%s", dir);
	c->rows[0].dir = BENCH_READ;
	c->rows[0].unit = BENCH_OPS;
	c->per_io = true;	/* requests per metadata operation */
	return c;
}

static void build_transport(struct bench_suite *s, const struct sizes *z)
{
	static const struct { const char *rw; unsigned qd; } io4k[] = {
		{ "randread", 1 }, { "randread", 64 }, { "randwrite", 1 }, { "randwrite", 64 },
	};
	struct bench_cell *c;
	char id[48], title[96];
	size_t i;

	bench_str(s->title, sizeof(s->title), "transport: io_uring vs /dev/fuse (acceptance benchmark)");
	bench_str(s->source, sizeof(s->source),
		 "the transport issue's acceptance targets (io_uring beats /dev/fuse 1.4–2.4× on "
		 "4 KiB I/O, 2.8× on forced GETATTR, 1.5× on creates, < 3 µs server CPU per 4 KiB "
		 "request), after Bernd Schubert's FUSE-over-io_uring RFC v2 and the 6.14 figures.");
	for (i = 0; i < sizeof(io4k) / sizeof(io4k[0]); i++) {
		bench_str(id, sizeof(id), "%s-4k-qd%u", io4k[i].rw, io4k[i].qd);
		bench_str(title, sizeof(title), "4 KiB %s O_DIRECT QD%u", io4k[i].rw, io4k[i].qd);
		c = fio_cell(s, z, id, title, "io_uring", io4k[i].rw, 4096, io4k[i].qd, 1, true,
			     "transport.dat", z->transport_file);
		if (c)
			c->accept = BENCH_ACCEPT_4K;
	}
	fio_cell(s, z, "read-1m-direct", "1 MiB read O_DIRECT QD1", "io_uring", "read", 1 << 20, 1,
		 1, true, "transport.dat", z->transport_file);
	c = meta_cell(s, "getattr", "forced GETATTR (statx AT_STATX_FORCE_SYNC)", "getattr", 1, 0,
		      z->meta_s, "getattr");
	if (c)
		c->accept = BENCH_ACCEPT_GETATTR;
	c = meta_cell(s, "creates", "creates, 1 thread", "creates", 1, z->creates, 0, "creates");
	if (c)
		c->accept = BENCH_ACCEPT_CREATES;
}

static void build_qemu(struct bench_suite *s, const struct sizes *z, bool quick)
{
	static const struct { unsigned jobs, qd; } cfg[] = { { 1, 1 }, { 1, 64 }, { 4, 1 }, { 4, 64 } };
	char id[48], title[96];
	size_t i;

	bench_str(s->title, sizeof(s->title), "4 KiB random 70/30 O_DIRECT on a 1 GiB file (QEMU export)");
	bench_str(s->source, sizeof(s->source),
		 "Brian Song, \"[Patch v4] add fuse-over-io_uring support\" (QEMU FUSE export, "
		 "2026-02): fio 70%% read / 30%% write, jobs × QD of 1-1, 1-64, 4-1, 4-64; read and "
		 "write bandwidth and latency, legacy → uring.");
	for (i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
		struct bench_cell *c;

		if (quick && cfg[i].jobs * cfg[i].qd != 1 && cfg[i].jobs * cfg[i].qd != 256)
			continue;	/* --quick: the corners 1-1 and 4-64 */
		bench_str(id, sizeof(id), "randrw-j%u-qd%u", cfg[i].jobs, cfg[i].qd);
		bench_str(title, sizeof(title), "70/30 randrw, %u job%s, QD%u", cfg[i].jobs,
			 cfg[i].jobs > 1 ? "s" : "", cfg[i].qd);
		c = fio_cell(s, z, id, title, "io_uring", "randrw", 4096, cfg[i].qd, cfg[i].jobs, true,
			     "qemu.img", z->qemu_file);
		if (!c)
			continue;
		c->w.rwmix_read = 70;
		c->nrows = 2;
		c->rows[0].dir = BENCH_READ;
		c->rows[0].unit = BENCH_MIBS;
		bench_str(c->rows[0].suffix, sizeof(c->rows[0].suffix), " read");
		c->rows[1].dir = BENCH_WRITE;
		c->rows[1].unit = BENCH_MIBS;
		bench_str(c->rows[1].suffix, sizeof(c->rows[1].suffix), " write");
	}
}

static void build_rfc(struct bench_suite *s, const struct sizes *z, bool quick)
{
	static const unsigned all_jobs[] = { 1, 2, 4 }, quick_jobs[] = { 1, 4 };
	const unsigned *jobs = quick ? quick_jobs : all_jobs;
	size_t nj = quick ? 2 : 3, i;
	char id[48], title[96];

	bench_str(s->title, sizeof(s->title), "paged, O_DIRECT and mmap reads, creates, by jobs (RFC v2)");
	bench_str(s->source, sizeof(s->source),
		 "Bernd Schubert, \"[PATCH RFC v2 00/19] fuse: fuse-over-io-uring\" (2024): paged "
		 "reads 128K and 1024K, dio reads 1024K, mmap reads 4K (sequential), creates/s, by "
		 "jobs/threads; here 1, 2 and 4 on this machine.");
	for (i = 0; i < nj; i++) {
		unsigned j = jobs[i];
		struct bench_cell *c;

		bench_str(id, sizeof(id), "paged-128k-j%u", j);
		bench_str(title, sizeof(title), "paged read 128 KiB, %u job%s", j, j > 1 ? "s" : "");
		c = fio_cell(s, z, id, title, "psync", "read", 128 * 1024, 1, j, false, "rfc.dat",
			     z->rfc_file);
		if (c)
			make_cold_pass(c, z->rfc_file);
		bench_str(id, sizeof(id), "paged-1m-j%u", j);
		bench_str(title, sizeof(title), "paged read 1 MiB, %u job%s", j, j > 1 ? "s" : "");
		c = fio_cell(s, z, id, title, "psync", "read", 1 << 20, 1, j, false, "rfc.dat",
			     z->rfc_file);
		if (c)
			make_cold_pass(c, z->rfc_file);
		bench_str(id, sizeof(id), "dio-1m-j%u", j);
		bench_str(title, sizeof(title), "O_DIRECT read 1 MiB, %u job%s", j, j > 1 ? "s" : "");
		c = fio_cell(s, z, id, title, "psync", "read", 1 << 20, 1, j, true, "rfc.dat",
			     z->rfc_file);
		if (c)
			c->w.split = true;
		bench_str(id, sizeof(id), "mmap-4k-j%u", j);
		bench_str(title, sizeof(title), "mmap read 4 KiB, %u job%s", j, j > 1 ? "s" : "");
		c = fio_cell(s, z, id, title, "mmap", "read", 4096, 1, j, false, "rfc.dat",
			     z->rfc_file);
		if (c) {
			make_cold_pass(c, z->rfc_mmap_io);
			c->rows[0].unit = BENCH_MIBS;
		}
		bench_str(id, sizeof(id), "creates-t%u", j);
		bench_str(title, sizeof(title), "creates, %u thread%s", j, j > 1 ? "s" : "");
		meta_cell(s, id, title, "creates", j, z->creates / 2, 0, "creates");
	}
}

static void build_bufring(struct bench_suite *s, const struct sizes *z)
{
	static const char *const rws[] = { "randread", "randwrite" };
	size_t i;

	bench_str(s->title, sizeof(s->title), "buffered 1 MiB random I/O, 2 jobs (buffer rings)");
	bench_str(s->source, sizeof(s->source),
		 "Joanne Koong, \"[PATCH v2 00/14] fuse: add io-uring buffer rings and zero-copy\" "
		 "(2026-04): fio --ioengine=sync --rw=rand{read,write} --bs=1M --size=1G "
		 "--numjobs=2 --ramp_time=30 --group_reporting=1 (here time-based with a short "
		 "ramp; fio invalidates each file's cache as it opens it, so reads stay cold).");
	for (i = 0; i < 2; i++) {
		char id[48], title[96];
		struct bench_cell *c;

		bench_str(id, sizeof(id), "%s-1m-j2", rws[i]);
		bench_str(title, sizeof(title), "buffered %s 1 MiB, 2 jobs", rws[i]);
		c = fio_cell(s, z, id, title, "sync", rws[i], 1 << 20, 1, 2, false, "bufring",
			     z->bufring_file);
		if (!c)
			continue;
		c->w.per_job_files = true;
		c->w.cold = true;
	}
}

static void build_meta(struct bench_suite *s, const struct sizes *z)
{
	struct bench_cell *c;
	char title[96];

	bench_str(s->title, sizeof(s->title), "metadata operations");
	bench_str(s->source, sizeof(s->source),
		 "the creates/s table of the RFC v2 and the forced-GETATTR target of the transport "
		 "issue, plus lookups, readdir and a create-write-close-unlink cycle.");
	meta_cell(s, "creates", "creates, 1 thread", "creates", 1, z->creates, 0, "creates");
	meta_cell(s, "getattr", "forced GETATTR (statx AT_STATX_FORCE_SYNC)", "getattr", 1, 0,
		  z->meta_s, "getattr");
	bench_str(title, sizeof(title), "stat %u files, cold dentry cache", z->tree);
	c = meta_cell(s, "stat-many", title, "stat-many", 1, z->tree, 0, "tree");
	if (c)
		c->w.passes = z->stat_passes;
	bench_str(title, sizeof(title), "readdir of a %u-file directory", z->tree);
	meta_cell(s, "readdir", title, "readdir", 1, z->tree, z->meta_s, "tree");
	meta_cell(s, "cwcu", "create+write 4 KiB+close+unlink", "cwcu", 1, 0, z->meta_s, "cwcu");
}

int bench_suite_build(struct bench_suite *s, const char *name, bool quick)
{
	const struct sizes *z = quick ? &quick_sizes : &full_sizes;

	memset(s, 0, sizeof(*s));
	s->cells = calloc(BENCH_MAX_CELLS, sizeof(*s->cells));
	if (!s->cells)
		return -ENOMEM;
	bench_str(s->name, sizeof(s->name), "%s", name);
	if (!strcmp(name, "transport"))
		build_transport(s, z);
	else if (!strcmp(name, "qemu"))
		build_qemu(s, z, quick);
	else if (!strcmp(name, "rfc"))
		build_rfc(s, z, quick);
	else if (!strcmp(name, "bufring"))
		build_bufring(s, z);
	else if (!strcmp(name, "meta"))
		build_meta(s, z);
	else {
		bench_suite_free(s);
		return -ENOENT;
	}
	return 0;
}

void bench_suite_free(struct bench_suite *s)
{
	free(s->cells);
	s->cells = NULL;
	s->ncells = 0;
}
