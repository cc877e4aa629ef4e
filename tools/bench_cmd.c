/* SPDX-License-Identifier: MIT */
/*
 * bench_cmd.c - `furi bench`: run the benchmark suites against native
 * directories and furi filesystems on io_uring and /dev/fuse, side by side
 * in one run, and write a report. The pieces live in bench/: suites (what
 * runs), variants and mounts (what is measured and how it is brought up),
 * fio and meta (the workloads), sys (processes, /proc), report (output).
 * This file only orchestrates.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <furi/furi.h>

#include "fio.h"
#include "furi_cmd.h"
#include "load.h"
#include "meta.h"
#include "mounts.h"
#include "report.h"
#include "results.h"
#include "suites.h"
#include "sys.h"
#include "variants.h"

#define PATH_LEN 4096
#define MiB (UINT64_C(1) << 20)

struct ctx {
	struct bench_run *run;
	char self[PATH_LEN];	/* this furi binary */
	char out[PATH_LEN];	/* report directory (absolute) */
	char work[PATH_LEN];	/* our temporary directory: mountpoints live here */
	char log[PATH_LEN];	/* furi mount/umount messages */
	char load_log[PATH_LEN];	/* the pids of every busy process started */
	struct bench_place place[BENCH_MAX_VARIANTS];
	bool tty;
	long total, done;	/* samples, for the progress line */
	double t_start;
};

void furi_cmd_bench_usage(FILE *out)
{
	fprintf(out,
"Usage: furi bench [SUITE...] [--quick] [--out DIR] [--rounds N] [--fs LIST]\n"
"                  [--source DIR] [--load LIST] [--libfuse-examples DIR]\n"
"                  [--enable-uring]\n"
"       furi bench --replot DIR\n"
"\n"
"Run fio and furi's metadata program against each variant side by side and write\n"
"DIR/report.md (tables per suite, machine, exact commands), DIR/results.tsv,\n"
"the raw fio JSON and status snapshots under DIR/raw/, and plots under DIR/plots/.\n"
"\n"
"Variants: native (a tmpfs furi bench mounts, or --source DIR for filesystems that\n"
"serve a directory), each filesystem on io_uring (-o transport=uring) and on\n"
"/dev/fuse (-o transport=legacy), and with --libfuse-examples libfuse's peer. The\n"
"transport of every mount is read back (`furi status MNT --json`) before numbers\n"
"are reported; an io_uring mount served by /dev/fuse is reported as fallen back,\n"
"never as io_uring.\n"
"\n"
"Suites (default: all, in this order):\n"
"  transport  4 KiB O_DIRECT randread/randwrite QD1 and QD64, 1 MiB O_DIRECT reads,\n"
"             forced GETATTR, creates; server CPU per request (the acceptance test\n"
"             of the io_uring transport)\n"
"  qemu       4 KiB random 70/30 O_DIRECT, jobs x QD 1-1 1-64 4-1 4-64 (QEMU export)\n"
"  rfc        paged 128 KiB and 1 MiB reads, O_DIRECT 1 MiB, mmap 4 KiB, creates,\n"
"             by 1, 2 and 4 jobs (FUSE-over-io_uring RFC v2)\n"
"  bufring    buffered 1 MiB randread/randwrite, 2 jobs (buffer-ring series)\n"
"  meta       creates, forced GETATTR, cold stat of many files, readdir of a big\n"
"             directory, create+write+close+unlink\n"
"\n"
"Options:\n"
"  --quick          short version of every suite (small files, short runs, 1 round);\n"
"                   a smoke test, numbers not meaningful\n"
"  --out DIR        where the report goes (default bench-out/DATE-TIME)\n"
"  --rounds N       rounds per cell; the report shows the median and min-max\n"
"                   (default 3, 1 with --quick)\n"
"  --fs LIST        filesystems, comma-separated (default " BENCH_DEFAULT_FS ")\n"
"  --source DIR     the directory served by filesystems that need one (passthrough),\n"
"                   or where image keeps its image files: furi bench qemu --fs image\n"
"                   --source DIR measures the image export against its own disk\n"
"  --load LIST      background work beside every sample, comma-separated (default\n"
"                   idle): idle (nothing), nice19 or nice0 (one CPU-bound busy\n"
"                   process per online CPU at nice 19 or 0, started right before\n"
"                   each sample and killed right after). Each cell runs under each\n"
"                   load, interleaved with the variants; the report has the tables\n"
"                   per load and, with idle in the list, what each variant keeps\n"
"                   under load (loaded / idle throughput)\n"
"  --libfuse-examples DIR\n"
"                   add libfuse's own io_uring servers from DIR (libfuse's built\n"
"                   examples, see docs/BENCHMARKS.md) as the \"libfuse io_uring\"\n"
"                   variant: memfs_ll -o io_uring for memfs, memfs_ll -o\n"
"                   io_uring,null_io for nullfs, passthrough_hp --nopassthrough\n"
"                   -o io_uring for passthrough (image has no peer). Each runs in\n"
"                   the foreground under furi bench; its io_uring use is read back\n"
"                   from libfuse's FUSE_INIT status line and its fuse-ring threads\n"
"  --enable-uring   set /sys/module/fuse/parameters/enable_uring to Y if it is N\n"
"  --replot DIR     draw the plots of an earlier run again from DIR/results.tsv\n"
"                   into DIR/plots/, measuring nothing (needs gnuplot, not root)\n"
"  -h, --help       this text\n"
"\n"
"Needs root (mounts, drop_caches), fio and, for the plots, gnuplot. Mountpoints are\n"
"created under a new directory in /tmp and removed at the end, also on Ctrl-C.\n");
}

/* ---- progress ---- */

static void progress(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void progress(struct ctx *x, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	double el = bench_now() - x->t_start;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (x->tty)
		fprintf(stderr, "\r\033[K[%ld/%ld %02d:%02d] %s", x->done, x->total, (int)el / 60,
			(int)el % 60, line);
	else
		fprintf(stderr, "[%ld/%ld %02d:%02d] %s\n", x->done, x->total, (int)el / 60,
			(int)el % 60, line);
}

static void say(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->tty)
		fprintf(stderr, "\r\033[K");
	fprintf(stderr, "furi bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* ---- preparation: files the cells read, trees they list ---- */

static int write_file(const char *path, uint64_t size)
{
	static char *pattern;
	struct stat st;
	uint64_t off;
	int fd;

	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (!fstat(fd, &st) && (uint64_t)st.st_size == size && st.st_blocks > 0) {
		close(fd);
		return 0;	/* laid out by an earlier cell */
	}
	if (!pattern) {
		uint64_t s = 0x9e3779b97f4a7c15ULL;
		size_t i;

		pattern = malloc(MiB);
		if (!pattern) {
			close(fd);
			return -ENOMEM;
		}
		for (i = 0; i < MiB / 8; i++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			memcpy(pattern + i * 8, &s, 8);
		}
	}
	for (off = 0; off < size && !bench_interrupted;) {
		size_t n = size - off < MiB ? (size_t)(size - off) : MiB;
		ssize_t w = pwrite(fd, pattern, n, (off_t)off);

		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			close(fd);
			return -e;
		}
		off += (uint64_t)w;
	}
	if (ftruncate(fd, (off_t)size)) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return bench_interrupted ? -EINTR : 0;
}

static int prepare_variant(struct ctx *x, struct bench_suite *s, int v, char *err, size_t errlen)
{
	const char *dir = x->place[v].dir;
	char path[PATH_LEN + 64];
	int i, r = 0;

	for (i = 0; i < s->ncells && !r; i++) {
		const struct bench_work *w = &s->cells[i].w;

		if (w->kind == BENCH_WORK_FIO && w->per_job_files) {
			unsigned j;

			for (j = 0; j < (w->jobs ? w->jobs : 1) && !r; j++) {
				bench_str(path, sizeof(path), "%s/%s.%u.0", dir, w->file, j);
				r = write_file(path, w->file_size);
			}
		} else if (w->kind == BENCH_WORK_FIO) {
			bench_str(path, sizeof(path), "%s/%s", dir, w->file);
			r = write_file(path, w->file_size);
		} else if (!strcmp(w->mode, "stat-many") || !strcmp(w->mode, "readdir")) {
			char *argv[16], buf[8192];
			struct stat st;
			struct bench_work pop = *w;

			bench_str(path, sizeof(path), "%s/%s", dir, w->dir);
			if (!stat(path, &st))
				continue;	/* populated for an earlier cell */
			bench_str(pop.mode, sizeof(pop.mode), "populate");
			if (bench_meta_argv(&pop, x->self, dir, argv, 16, buf, sizeof(buf)) < 0) {
				r = -E2BIG;
				break;
			}
			r = bench_run(argv, NULL, NULL, 0, x->log, 600);
			if (r > 0)
				r = -EIO;
		}
		if (r)
			bench_str(err, errlen, "preparing %s for %s: %s", x->run->v[v].label,
				 s->cells[i].id, strerror(-r));
	}
	return r;
}

/* ---- one sample ---- */

struct snap {
	double t, cpu, requests;
	double cpu_ns;		/* precise CPU time (schedstat), seconds */
	int threads;		/* live server threads it covers */
	bool precise;
	bool ok;
	char transport[16];
};

static void take_snap(struct ctx *x, int v, struct snap *sn, const char *save)
{
	struct bench_status st;
	char err[256];

	memset(sn, 0, sizeof(*sn));
	sn->t = bench_now();
	if (!x->place[v].fuse) {
		sn->ok = true;
		return;
	}
	if (x->place[v].peer) {
		int rings = 0;

		/* A libfuse peer: no counters; its ring threads say which transport serves. */
		if (bench_proc_threads(x->place[v].pid, BENCH_LIBFUSE_RING_COMM, &rings) < 0)
			return;
		sn->requests = -1;
		bench_str(sn->transport, sizeof(sn->transport), "%s", rings ? "io_uring" : "dev_fuse");
	} else {
		if (bench_status_read(x->self, x->place[v].mnt, &st, save, err, sizeof(err)))
			return;
		sn->requests = st.requests;
		bench_str(sn->transport, sizeof(sn->transport), "%s", st.transport);
	}
	if (bench_proc_cpu(x->place[v].pid, &sn->cpu))
		return;
	sn->precise = !bench_proc_cpu_precise(x->place[v].pid, &sn->cpu_ns, &sn->threads);
	sn->t = bench_now();
	sn->ok = true;
}

static void sample_fail(struct bench_sample *smp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The variant's mount must still be there: if something else unmounted it,
 * a run would measure the directory underneath. The variant is then down
 * for the rest of the suite, and the sample failed.
 */
static bool still_mounted(struct ctx *x, struct bench_suite *s, int v, struct bench_sample *smp)
{
	struct bench_place *p = &x->place[v];

	if (!p->mnt[0] || bench_is_mounted(p->mnt, p->fuse ? "fuse" : p->tmpfs ? "tmpfs" : NULL))
		return true;
	sample_fail(smp, "%s is no longer mounted (unmounted by something else)", p->mnt);
	bench_str(s->m[v].problem, sizeof(s->m[v].problem),
		  "unmounted by something else during the suite; later cells not measured");
	say(x, "%s: %s was unmounted by something else: not measured from here on", s->name,
	    x->run->v[v].label);
	p->up = false;
	bench_rmtree(p->mnt);	/* what landed in our directory underneath */
	return false;
}

static void sample_fail(struct bench_sample *smp, const char *fmt, ...)
{
	va_list ap;

	smp->state = BENCH_FAILED;
	va_start(ap, fmt);
	vsnprintf(smp->err, sizeof(smp->err), fmt, ap);
	va_end(ap);
}

static void run_sample(struct ctx *x, struct bench_suite *s, struct bench_cell *c, int v, int l,
		       int r)
{
	struct bench_sample *smp = &c->s[l][v][r];
	const struct bench_work *w = &c->w;
	char slug[64], base[PATH_LEN + 256], outp[PATH_LEN + 300], errp[PATH_LEN + 300];
	char sb[PATH_LEN + 300], sa[PATH_LEN + 300], *argv[64], buf[16384], *text = NULL;
	struct snap a, b;
	double timeout;
	size_t len = 0;
	int argc, status = 0, rc;
	bool steady, steady_ok = true;
	pid_t pid;

	memset(smp, 0, sizeof(*smp));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	smp->requests = -1;
	smp->rss_kb = -1;
	smp->cpu_s = -1;
	bench_variant_slug(&x->run->v[v], slug, sizeof(slug));
	if (x->run->loads[l] != BENCH_LOAD_IDLE)
		bench_str(slug + strlen(slug), sizeof(slug) - strlen(slug), "-%s",
			  bench_load_name(x->run->loads[l]));
	bench_str(base, sizeof(base), "%s/raw/%s/%s", x->out, s->name, c->id);
	bench_mkdirs(base, 0755);
	bench_str(outp, sizeof(outp), "%s/%s-r%d.%s", base, slug, r + 1,
		 w->kind == BENCH_WORK_FIO ? "json" : "meta.json");
	bench_str(errp, sizeof(errp), "%s/%s-r%d.stderr", base, slug, r + 1);
	bench_str(sb, sizeof(sb), "%s/%s-r%d.status-before.json", base, slug, r + 1);
	bench_str(sa, sizeof(sa), "%s/%s-r%d.status-after.json", base, slug, r + 1);
	unlink(errp);

	if (w->kind == BENCH_WORK_FIO) {
		argc = bench_fio_argv(w, w->per_job_files ? w->file : c->id, x->place[v].dir, outp,
				      argv, 64, buf, sizeof(buf));
		timeout = w->time_based ? w->runtime_s + w->ramp_s + 120 : 1800;
	} else {
		argc = bench_meta_argv(w, x->self, x->place[v].dir, argv, 64, buf, sizeof(buf));
		timeout = (w->seconds > 0 ? w->seconds : 0) + 1800;
	}
	if (argc < 0) {
		sample_fail(smp, "command line too long");
		return;
	}
	if (!still_mounted(x, s, v, smp))
		return;
	if (w->cold && (rc = bench_drop_caches())) {
		sample_fail(smp, "drop_caches: %s", strerror(-rc));
		return;
	}
	/*
	 * The window for requests and CPU: for time-based fio runs the middle
	 * of the measured runtime (steady state, no start-up or exit inside:
	 * fio needs about 0.4 s to start, far less than ramp + 20 %); for short
	 * (--quick) and size-based runs the whole run.
	 */
	steady = w->kind == BENCH_WORK_FIO && w->time_based && w->runtime_s >= 2 && x->place[v].fuse;
	if (!steady)
		take_snap(x, v, &a, sb);
	pid = bench_spawn(argv, NULL, outp, errp);
	if (pid < 0) {
		sample_fail(smp, "cannot start %s: %s", argv[0], strerror(-pid));
		return;
	}
	rc = 0;
	if (steady) {
		rc = bench_wait(pid, w->ramp_s + 0.2 * w->runtime_s, &status);
		if (rc == -ETIMEDOUT) {
			take_snap(x, v, &a, sb);
			rc = bench_wait(pid, 0.6 * w->runtime_s, &status);
			if (rc == -ETIMEDOUT) {
				take_snap(x, v, &b, sa);
				rc = bench_wait(pid, timeout, &status);
			} else {
				steady_ok = false;
			}
		} else {
			steady_ok = false;
		}
	} else {
		rc = bench_wait(pid, timeout, &status);
	}
	if (rc) {
		bench_kill(pid);
		sample_fail(smp, "%s", rc == -EINTR ? "interrupted" : rc == -ETIMEDOUT ? "timed out"
											: strerror(-rc));
		return;
	}
	if (!steady)
		take_snap(x, v, &b, sa);
	if (!still_mounted(x, s, v, smp))
		return;
	if (x->place[v].fuse && x->place[v].pid > 0) {
		double kb;

		if (!bench_proc_rss_kb(x->place[v].pid, &kb)) {
			smp->rss_kb = kb;
			if (kb > s->m[v].rss_kb_max)
				s->m[v].rss_kb_max = kb;
		}
	}
	if (bench_read_file(outp, &text, &len)) {
		sample_fail(smp, "no output from %s", argv[0]);
		return;
	}
	if (w->kind == BENCH_WORK_FIO) {
		struct bench_fio_result fr;
		char err[256];

		if (bench_fio_parse(text, len, &fr, err, sizeof(err))) {
			sample_fail(smp, "%s%s", err,
				    WIFEXITED(status) && WEXITSTATUS(status) ? " (fio failed; see .stderr)" : "");
		} else {
			smp->rw[0] = fr.rw[0];
			smp->rw[1] = fr.rw[1];
			smp->ios = steady ? (fr.rw[0].iops + fr.rw[1].iops) * (b.t - a.t) : fr.ios;
			smp->state = BENCH_OK;
		}
	} else {
		double ops;
		char err[256];

		if (bench_meta_parse(text, len, &smp->rw[0], &ops, err, sizeof(err))) {
			sample_fail(smp, "%s", err);
		} else {
			smp->ios = ops;
			smp->state = BENCH_OK;
		}
		/* Cleanup outside the window: files the run created. */
		if (!strcmp(w->mode, "creates") || !strcmp(w->mode, "cwcu")) {
			char path[PATH_LEN + 64];

			bench_str(path, sizeof(path), "%s/%s", x->place[v].dir, w->dir);
			bench_rmtree(path);
		}
	}
	free(text);
	if (x->place[v].fuse && smp->state == BENCH_OK && (!a.ok || !b.ok)) {
		/* Without the server's own word, the numbers may not be this variant's. */
		sample_fail(smp, "%s unreadable around the run",
			    x->place[v].peer ? "the server's threads" : "furi status");
	}
	if (x->place[v].fuse) {
		if (a.ok && b.ok && steady_ok) {
			smp->requests = x->place[v].peer ? -1 : b.requests - a.requests;
			smp->window_s = b.t - a.t;
			/*
			 * utime+stime counts in 10 ms ticks; the per-thread
			 * schedstat sum is the same time in ns, valid while
			 * the server's threads stayed the same.
			 */
			if (a.precise && b.precise && a.threads == b.threads)
				smp->cpu_s = b.cpu_ns - a.cpu_ns;
			else
				smp->cpu_s = b.cpu - a.cpu;
		}
		bench_str(smp->transport, sizeof(smp->transport), "%s", b.ok ? b.transport : "?");
		if (smp->state == BENCH_OK && b.ok && strcmp(b.transport, s->m[v].transport)) {
			/* Status changed under us: never count it under the mount's transport. */
			sample_fail(smp, "transport changed from %s to %s during the run",
				    s->m[v].transport, b.transport);
		}
	} else {
		bench_str(smp->transport, sizeof(smp->transport), "native");
	}
}

/*
 * One sample beside its background load: the busy processes start right
 * before it and are killed right after, whatever ended it (interrupted,
 * failed). Their pids go to the load log, so a test can check that none
 * survived.
 */
static void sample_under_load(struct ctx *x, struct bench_suite *s, struct bench_cell *c, int v,
			      int l, int r)
{
	enum bench_load load = x->run->loads[l];
	struct bench_load_procs lp;
	int rc, i;

	if (load == BENCH_LOAD_IDLE) {
		run_sample(x, s, c, v, l, r);
		return;
	}
	rc = bench_load_start(load, x->run->load_procs, &lp);
	if (rc) {
		sample_fail(&c->s[l][v][r], "cannot start the %s load: %s", bench_load_name(load),
			    strerror(-rc));
		return;
	}
	{
		FILE *f = fopen(x->load_log, "a");

		if (f) {
			fprintf(f, "%s %s %s round %d: %s, pgid %d, pids", s->name, c->id,
				x->run->v[v].label, r + 1, bench_load_name(load), (int)lp.pgid);
			for (i = 0; i < lp.n; i++)
				fprintf(f, " %d", (int)lp.pid[i]);
			fprintf(f, "\n");
			fclose(f);
		}
	}
	run_sample(x, s, c, v, l, r);
	bench_load_stop(&lp);
}

/* ---- a suite ---- */

static void take_all_down(struct ctx *x)
{
	int v;

	for (v = 0; v < x->run->nvariants; v++) {
		char err[512];

		if (bench_take_down(&x->place[v], x->log, err, sizeof(err)))
			say(x, "%s", err);
	}
}

static void headline(char *buf, size_t len, const struct bench_cell *c, const struct bench_sample *smp)
{
	char n[32];

	if (smp->state != BENCH_OK) {
		bench_str(buf, len, "FAILED: %s", smp->err);
		return;
	}
	bench_fmt_num(n, sizeof(n), bench_sample_get(smp, &c->rows[0], BENCH_VALUE));
	bench_str(buf, len, "%s %s", n,
		 c->rows[0].unit == BENCH_MIBS ? "MiB/s" : c->rows[0].unit == BENCH_IOPS ? "IOPS" : "ops/s");
}

static void run_suite(struct ctx *x, struct bench_suite *s)
{
	struct bench_run *run = x->run;
	double t0 = bench_now();
	int v, i, r, k, nv = run->nvariants, nl = run->nloads;
	char err[512];

	s->run = true;
	for (v = 0; v < nv && !bench_interrupted; v++) {
		char slug[64], mnt[PATH_LEN + 128], server_log[PATH_LEN + 128];

		bench_variant_slug(&run->v[v], slug, sizeof(slug));
		bench_str(mnt, sizeof(mnt), "%s/%s-%s", x->work, s->name, slug);
		bench_str(server_log, sizeof(server_log), "%s/raw/%s-%s.server.log", x->out, s->name,
			  slug);
		progress(x, "%s: mounting %s", s->name, run->v[v].label);
		if (bench_bring_up(x->self, &run->v[v], mnt, &x->place[v], &s->m[v], x->log,
				   server_log)) {
			say(x, "%s: %s not measured: %s", s->name, run->v[v].label, s->m[v].problem);
			if (bench_take_down(&x->place[v], x->log, err, sizeof(err)))
				say(x, "%s", err);
			continue;
		}
		if (s->m[v].fallen_back)
			say(x, "%s: %s FELL BACK to /dev/fuse (%s); its numbers are labelled so",
			    s->name, run->v[v].label, s->m[v].problem);
		else if (!s->m[v].verified)
			say(x, "%s: %s: %s", s->name, run->v[v].label, s->m[v].problem);
		else if (run->v[v].kind == BENCH_LIBFUSE_URING)
			say(x, "%s: %s verified: %s (pid %d)", s->name, run->v[v].label,
			    s->m[v].transport_line, s->m[v].pid);
		else if (run->v[v].kind != BENCH_NATIVE)
			say(x, "%s: %s verified: furi status says %s (pid %d)", s->name,
			    run->v[v].label, s->m[v].transport, s->m[v].pid);
		progress(x, "%s: preparing files on %s", s->name, run->v[v].label);
		if (prepare_variant(x, s, v, err, sizeof(err))) {
			say(x, "%s", err);
			bench_str(s->m[v].problem, sizeof(s->m[v].problem), "%s", err);
			s->m[v].verified = false;
			s->m[v].mounted = false;
			bench_take_down(&x->place[v], x->log, err, sizeof(err));
		}
	}
	/* What was laid out goes to disk now, not as writeback during the first samples. */
	sync();
	for (i = 0; i < s->ncells && !bench_interrupted; i++) {
		struct bench_cell *c = &s->cells[i];

		if (c->w.kind == BENCH_WORK_FIO)
			bench_fio_cmdline(&c->w, c->w.per_job_files ? c->w.file : c->id, "$MNT", c->cmd,
					  sizeof(c->cmd));
		else
			bench_meta_cmdline(&c->w, "furi", "$MNT", c->cmd, sizeof(c->cmd));
		if (c->w.cold)
			bench_str(c->cmd + strlen(c->cmd), sizeof(c->cmd) - strlen(c->cmd),
				 "   # after: sync; echo 3 > /proc/sys/vm/drop_caches");
		for (r = 0; r < run->rounds && !bench_interrupted; r++) {
			for (k = 0; k < nv * nl && !bench_interrupted; k++) {
				char h[200], under[32] = "";
				int l;

				/*
				 * Interleave, and rotate the order each round; a
				 * variant's loads run back to back, so its loaded
				 * and idle samples are close in time.
				 */
				v = (k + r * nl) % (nv * nl) / nl;
				l = (k + r) % nl;
				if (!x->place[v].up) {
					x->done++;
					continue;
				}
				if (nl > 1)
					bench_str(under, sizeof(under), " under %s",
						  bench_load_name(run->loads[l]));
				progress(x, "%s: %s: %s%s round %d/%d", s->name, c->title,
					 run->v[v].label, under, r + 1, run->rounds);
				sample_under_load(x, s, c, v, l, r);
				x->done++;
				headline(h, sizeof(h), c, &c->s[l][v][r]);
				progress(x, "%s: %s: %s%s round %d/%d: %s", s->name, c->title,
					 run->v[v].label, under, r + 1, run->rounds, h);
			}
		}
	}
	progress(x, "%s: unmounting", s->name);
	take_all_down(x);
	s->seconds = bench_now() - t0;
}

/* ---- setup ---- */

static void on_signal(int sig)
{
	(void)sig;
	bench_interrupted = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: waits return and notice */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static const char *g_self;

static int fs_available(const char *fs)
{
	char *argv[] = { (char *)g_self, "help", (char *)fs, NULL };

	return bench_run(argv, NULL, NULL, 0, NULL, 30) == 0;
}

static bool have_tool(const char *name)
{
	char *argv[] = { (char *)name, "--version", NULL };

	return bench_run(argv, NULL, NULL, 0, NULL, 30) == 0;
}

/* Write the plot scripts of run into DIR/plots and run gnuplot on each; how many failed, or -1. */
static int draw_plots(struct ctx *x, const char *plots, int *drawn)
{
	char scripts[2 * BENCH_MAX_SUITES][64], errp[PATH_LEN + 64];
	int n, i, fails = 0;

	bench_mkdirs(plots, 0755);
	n = bench_report_plots(x->run, plots, scripts, 2 * BENCH_MAX_SUITES);
	if (n < 0) {
		say(x, "cannot write the plot files in %s: %s", plots, strerror(errno));
		return -1;
	}
	bench_str(errp, sizeof(errp), "%s/gnuplot.log", plots);
	for (i = 0; i < n; i++) {
		char *argv[] = { "gnuplot", scripts[i], NULL };

		if (bench_run(argv, plots, NULL, 0, errp, 120)) {
			say(x, "gnuplot %s failed (see %s)", scripts[i], errp);
			fails++;
		}
	}
	*drawn = n;
	return fails;
}

static int write_outputs(struct ctx *x, bool gnuplot)
{
	char path[PATH_LEN + 64], plots[PATH_LEN + 16];
	int n = 0, fails = 0;
	FILE *f;

	bench_str(plots, sizeof(plots), "%s/plots", x->out);
	if (gnuplot)
		fails = draw_plots(x, plots, &n);
	bench_str(path, sizeof(path), "%s/results.tsv", x->out);
	f = fopen(path, "w");
	if (f) {
		bench_report_tsv(f, x->run);
		fclose(f);
	}
	bench_str(path, sizeof(path), "%s/report.md", x->out);
	f = fopen(path, "w");
	if (!f) {
		say(x, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	bench_report_md(f, x->run, gnuplot && n > 0 && fails == 0);
	if (fclose(f)) {
		say(x, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int absolute(const char *path, char *buf, size_t len)
{
	char cwd[PATH_LEN];

	if (path[0] == '/')
		return snprintf(buf, len, "%s", path) < (int)len ? 0 : -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	return snprintf(buf, len, "%s/%s", cwd, path) < (int)len ? 0 : -1;
}

/*
 * --replot DIR: the plots of an earlier run, drawn again from its
 * results.tsv (after a change to how plots look, or for the docs' images).
 * report.md, when there, tells whether it was a --quick run.
 */
static int replot(const char *dir)
{
	char path[PATH_LEN + 64], plots[PATH_LEN + 16], err[512], first[1024] = "";
	struct bench_run *run;
	struct ctx x;
	int rc = FURI_EXIT_FAIL, drawn = 0, i;
	FILE *f, *md;

	if (!have_tool("gnuplot")) {
		fprintf(stderr, "furi bench: --replot needs gnuplot (fix: apt install gnuplot-nox)\n");
		return FURI_EXIT_FAIL;
	}
	bench_str(path, sizeof(path), "%s/results.tsv", dir);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "furi bench: cannot read %s: %s (fix: give the --out DIR of a furi bench run)\n",
			path, strerror(errno));
		return FURI_EXIT_FAIL;
	}
	run = calloc(1, sizeof(*run));
	if (!run) {
		fclose(f);
		fprintf(stderr, "furi bench: out of memory\n");
		return FURI_EXIT_FAIL;
	}
	if (bench_results_read(f, run, err, sizeof(err))) {
		fprintf(stderr, "furi bench: %s: %s\n", path, err);
		goto done;
	}
	bench_str(path, sizeof(path), "%s/report.md", dir);
	md = fopen(path, "r");
	while (md && fgets(first, sizeof(first), md) && strncmp(first, "Produced by", 11))
		;
	if (md)
		fclose(md);
	run->quick = strstr(first, "--quick") != NULL;
	memset(&x, 0, sizeof(x));
	x.run = run;
	bench_str(plots, sizeof(plots), "%s/plots", dir);
	if (draw_plots(&x, plots, &drawn) == 0) {
		say(&x, "%d plots in %s", drawn, plots);
		rc = 0;
	}
done:
	fclose(f);
	for (i = 0; i < run->nsuites; i++)
		bench_suite_free(&run->s[i]);
	free(run);
	return rc;
}

/* An optional path option made absolute in buf; false (said why) if it cannot be. */
static bool absolute_option(const char **path, char *buf, size_t len, const char *option)
{
	if (!*path)
		return true;
	if (absolute(*path, buf, len)) {
		fprintf(stderr, "furi bench: bad %s\n", option);
		return false;
	}
	*path = buf;
	return true;
}

int furi_cmd_bench_meta(int argc, char **argv)
{
	return bench_meta_main(argc, argv);
}

int furi_cmd_bench(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "out", required_argument, NULL, 'o' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "fs", required_argument, NULL, 'f' },
		{ "source", required_argument, NULL, 's' },
		{ "enable-uring", no_argument, NULL, 'E' },
		{ "replot", required_argument, NULL, 'P' },
		{ "load", required_argument, NULL, 'L' },
		{ "libfuse-examples", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *fs_list = BENCH_DEFAULT_FS, *source = NULL, *replot_dir = NULL;
	const char *load_list = "idle", *libfuse = NULL;
	char source_abs[PATH_LEN], libfuse_abs[PATH_LEN], skipped[256], err[512], eu[16];
	char defout[128];
	enum bench_load loads[BENCH_MAX_LOADS];
	int nloads;
	bool enable = false, quick = false, gnuplot;
	struct bench_run *run;
	struct ctx x;
	int c, i, rounds = 0, rc = 0;
	ssize_t n;
	size_t used = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': quick = true; break;
		case 'o': out = optarg; break;
		case 'r':
			rounds = atoi(optarg);
			if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
				furi_cmd_die_usage("bench", "--rounds must be 1 to %d", BENCH_MAX_ROUNDS);
			break;
		case 'f': fs_list = optarg; break;
		case 's': source = optarg; break;
		case 'E': enable = true; break;
		case 'P': replot_dir = optarg; break;
		case 'L': load_list = optarg; break;
		case 'F': libfuse = optarg; break;
		case 'h': furi_cmd_bench_usage(stdout); return 0;
		default: furi_cmd_die_option("bench", c, argv);
		}
	}
	if (replot_dir) {
		if (optind < argc)
			furi_cmd_die_usage("bench", "--replot DIR takes no suite: it draws what DIR/results.tsv holds");
		return replot(replot_dir);
	}
	nloads = bench_load_parse(load_list, loads, BENCH_MAX_LOADS, err, sizeof(err));
	if (nloads < 0)
		furi_cmd_die_usage("bench", "%s", err);
	if (libfuse) {
		struct stat st;

		errno = 0;
		if (stat(libfuse, &st) || !S_ISDIR(st.st_mode))
			furi_cmd_die_usage("bench", "--libfuse-examples %s: %s (give the directory of "
					   "libfuse's built examples, e.g. libfuse/build/example)",
					   libfuse, errno ? strerror(errno) : "not a directory");
	}
	run = calloc(1, sizeof(*run));
	if (!run) {
		fprintf(stderr, "furi bench: out of memory\n");
		return FURI_EXIT_FAIL;
	}
	memset(&x, 0, sizeof(x));
	x.run = run;
	run->quick = quick;
	run->rounds = rounds ? rounds : run->quick ? 1 : 3;
	run->nloads = nloads;
	memcpy(run->loads, loads, sizeof(loads));
	/* One busy process per online CPU: every CPU has other work runnable. */
	run->load_procs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (run->load_procs < 1)
		run->load_procs = 1;
	if (run->load_procs > BENCH_LOAD_MAX_PROCS)
		run->load_procs = BENCH_LOAD_MAX_PROCS;
	for (i = optind; i < argc; i++) {
		bool known = false;
		int k;

		for (k = 0; bench_suite_names[k]; k++)
			known |= !strcmp(argv[i], bench_suite_names[k]);
		if (!known)
			furi_cmd_die_usage("bench", "unknown suite '%s' (suites: transport, qemu, rfc, "
					   "bufring, meta)", argv[i]);
	}
	if (geteuid() != 0) {
		fprintf(stderr, "furi bench: needs root (it mounts tmpfs and FUSE filesystems and "
				"drops caches); run it with sudo\n");
		free(run);
		return FURI_EXIT_FAIL;
	}
	n = readlink("/proc/self/exe", x.self, sizeof(x.self) - 1);
	if (n <= 0) {
		fprintf(stderr, "furi bench: cannot find the furi binary: %s\n", strerror(errno));
		free(run);
		return FURI_EXIT_FAIL;
	}
	x.self[n] = '\0';
	g_self = x.self;
	x.tty = isatty(STDERR_FILENO);
	if (!have_tool("fio")) {
		fprintf(stderr, "furi bench: fio not found in PATH (install fio)\n");
		free(run);
		return FURI_EXIT_FAIL;
	}
	gnuplot = have_tool("gnuplot");
	if (!absolute_option(&source, source_abs, sizeof(source_abs), "--source") ||
	    !absolute_option(&libfuse, libfuse_abs, sizeof(libfuse_abs), "--libfuse-examples")) {
		free(run);
		return FURI_EXIT_FAIL;
	}

	/* The command line, for the report. */
	used = (size_t)snprintf(run->command, sizeof(run->command), "furi bench");
	for (i = 1; i < argc && used < sizeof(run->command); i++)
		used += (size_t)snprintf(run->command + used, sizeof(run->command) - used, " %s",
					 argv[i]);

	if (bench_variants_build(run, fs_list, source, libfuse, fs_available, skipped,
				 sizeof(skipped), err, sizeof(err))) {
		fprintf(stderr, "furi bench: %s\n", err);
		free(run);
		return FURI_EXIT_FAIL;
	}
	if (skipped[0])
		fprintf(stderr, "furi bench: not in this furi, skipped: %s\n", skipped);
	bench_enable_uring(eu, sizeof(eu));
	if (strcmp(eu, "Y") && enable) {
		int fd = open(BENCH_ENABLE_URING_PATH, O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, "Y", 1) != 1)
			fprintf(stderr, "furi bench: cannot enable io_uring in fuse (%s): %s\n",
				BENCH_ENABLE_URING_PATH, strerror(errno));
		else
			fprintf(stderr, "furi bench: set %s to Y (--enable-uring)\n",
				BENCH_ENABLE_URING_PATH);
		if (fd >= 0)
			close(fd);
		bench_enable_uring(eu, sizeof(eu));
	}
	if (strcmp(eu, "Y"))
		fprintf(stderr,
			"furi bench: FUSE-over-io_uring is off (%s is %s): the io_uring variants will "
			"not mount. Fix: echo Y > %s, or run furi bench --enable-uring\n",
			BENCH_ENABLE_URING_PATH, eu, BENCH_ENABLE_URING_PATH);

	bench_str(run->native_note, sizeof(run->native_note),
		 "native is %s. A tmpfs has no page cache to drop: its buffered and mmap reads "
		 "always come from memory.",
		 source ? "the --source directory for filesystems that serve it, and a tmpfs for the others"
			: "a tmpfs mounted for the run (the in-memory filesystems' natural baseline)");

	if (!out) {
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(defout, sizeof(defout), "bench-out/%Y%m%d-%H%M%S", &tm);
		out = defout;
	}
	if (absolute(out, x.out, sizeof(x.out)) || bench_mkdirs(x.out, 0755)) {
		fprintf(stderr, "furi bench: cannot create %s: %s\n", out, strerror(errno));
		free(run);
		return FURI_EXIT_FAIL;
	}
	{
		char raw[PATH_LEN + 8];

		bench_str(raw, sizeof(raw), "%s/raw", x.out);
		bench_mkdirs(raw, 0755);
		bench_str(x.log, sizeof(x.log), "%s/raw/furi.log", x.out);
		bench_str(x.load_log, sizeof(x.load_log), "%s/raw/load.log", x.out);
		unlink(x.load_log);
	}
	bench_str(x.work, sizeof(x.work), "/tmp/furi-bench.XXXXXX");
	if (!mkdtemp(x.work)) {
		fprintf(stderr, "furi bench: mkdtemp: %s\n", strerror(errno));
		free(run);
		return FURI_EXIT_FAIL;
	}
	install_signals();
	bench_machine_info(&run->machine);
	bench_str(run->machine.furi, sizeof(run->machine.furi), "%s", FURI_VERSION_STRING);

	/* Which suites, in the canonical order. */
	for (i = 0; bench_suite_names[i]; i++) {
		bool want = optind >= argc;
		int k;

		for (k = optind; k < argc; k++)
			want |= !strcmp(argv[k], bench_suite_names[i]);
		if (!want)
			continue;
		if (bench_suite_build(&run->s[run->nsuites], bench_suite_names[i], run->quick)) {
			fprintf(stderr, "furi bench: out of memory\n");
			rc = FURI_EXIT_FAIL;
			goto done;
		}
		x.total += (long)run->s[run->nsuites].ncells * run->nvariants * run->rounds *
			   run->nloads;
		run->nsuites++;
	}
	x.t_start = bench_now();
	if (atof(run->machine.load_start) > run->machine.ncpu / 2.0)
		say(&x, "the machine is busy (load average %s on %d CPUs): numbers will be noisy",
		    run->machine.load_start, run->machine.ncpu);
	say(&x, "%d suite%s, %d variants, %d round%s, load%s %s, report in %s", run->nsuites,
	    run->nsuites == 1 ? "" : "s", run->nvariants, run->rounds, run->rounds == 1 ? "" : "s",
	    run->nloads == 1 ? "" : "s", load_list, x.out);
	for (i = 0; i < run->nsuites && !bench_interrupted; i++)
		run_suite(&x, &run->s[i]);
	take_all_down(&x);
	bench_loadavg(run->machine.load_end, sizeof(run->machine.load_end));
	if (x.tty)
		fprintf(stderr, "\r\033[K");
	if (bench_interrupted) {
		say(&x, "interrupted: everything unmounted; writing a partial report");
		rc = 130;
		bench_interrupted = 0;	/* let gnuplot run; another Ctrl-C stops it */
	}
	if (write_outputs(&x, gnuplot) && !rc)
		rc = FURI_EXIT_FAIL;
	else
		say(&x, "report: %s/report.md (%.0f s)", x.out, bench_now() - x.t_start);
done:
	if (rmdir(x.work))
		say(&x, "left %s behind: %s", x.work, strerror(errno));
	if (source) {
		char data[PATH_LEN + 32];

		bench_str(data, sizeof(data), "%s/furi-bench-data", source);
		bench_rmtree(data);
	}
	for (i = 0; i < run->nsuites; i++)
		bench_suite_free(&run->s[i]);
	free(run);
	return rc;
}
