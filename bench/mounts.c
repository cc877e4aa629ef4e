/* SPDX-License-Identifier: MIT */
/* mounts.c - variants up and down, and their status; see mounts.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "meta.h"
#include "mounts.h"
#include "sys.h"

#define STATUS_MAX (256 * 1024)

int bench_status_read(const char *self, const char *mnt, struct bench_status *st,
		      const char *save_path, char *err, size_t errlen)
{
	char *argv[] = { (char *)self, "status", (char *)mnt, "--json", NULL };
	char *out = malloc(STATUS_MAX), jerr[160];
	struct json_value *root;
	int r;

	memset(st, 0, sizeof(*st));
	if (!out) {
		bench_str(err, errlen, "out of memory");
		return -1;
	}
	r = bench_run(argv, NULL, out, STATUS_MAX, NULL, 30);
	if (r) {
		bench_str(err, errlen, "furi status %s --json failed (%s)", mnt,
			 r < 0 ? strerror(-r) : "exit status not 0");
		free(out);
		return -1;
	}
	if (save_path) {
		FILE *f = fopen(save_path, "w");

		if (f) {
			fputs(out, f);
			fclose(f);
		}
	}
	root = json_parse(out, strlen(out), jerr, sizeof(jerr));
	free(out);
	if (!root) {
		bench_str(err, errlen, "furi status --json gave bad JSON: %s", jerr);
		return -1;
	}
	bench_str(st->transport, sizeof(st->transport), "%s",
		 json_str(json_get(root, "transport"), "?"));
	st->pid = (int)json_num(json_get(root, "pid"), 0);
	st->queues = (unsigned)json_num(json_get(root, "queues"), 0);
	st->threads = (unsigned)json_num(json_get(root, "threads"), 0);
	st->depth = (unsigned)json_num(json_get(root, "depth"), 0);
	st->buffer_bytes = json_num(json_get(root, "buffer_bytes"), 0);
	st->requests_uring = json_num(json_path(root, "requests.io_uring"), 0);
	st->requests_dev_fuse = json_num(json_path(root, "requests.dev_fuse"), 0);
	st->requests = st->requests_uring + st->requests_dev_fuse;
	bench_str(st->transport_line, sizeof(st->transport_line), "%s",
		 json_str(json_get(root, "transport_line"), ""));
	bench_str(st->fallback_reason, sizeof(st->fallback_reason), "%s",
		 json_str(json_get(root, "fallback_reason"), ""));
	json_free(root);
	if (st->pid <= 0) {
		bench_str(err, errlen, "furi status --json names no server pid");
		return -1;
	}
	return 0;
}

/* The last non-empty line of a log file, for error messages. */
static void last_line(const char *path, char *buf, size_t len)
{
	char *text, *end, *start;

	buf[0] = '\0';
	if (!path || bench_read_file(path, &text, NULL))
		return;
	end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	*end = '\0';
	start = strrchr(text, '\n');
	bench_str(buf, len, "%s", start ? start + 1 : text);
	free(text);
}

/* An image variant's image: empty at first, laid out through the export like any data file. */
static int create_image(const char *path)
{
	char dir[2048];
	char *slash;
	int fd, r;

	bench_str(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		r = bench_mkdirs(dir, 0755);
		if (r)
			return r;
	}
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int bench_bring_up(const char *self, const struct bench_variant *v, const char *mnt,
		   struct bench_place *p, struct bench_mount *m, const char *log_path)
{
	char line[512], err[512];
	struct bench_status st;
	const char *expect;
	int r;

	memset(p, 0, sizeof(*p));
	m->used = true;
	m->mounted = m->verified = m->fallen_back = false;
	m->problem[0] = '\0';
	if (v->kind == BENCH_NATIVE && v->fs_arg[0]) {
		/* The source directory itself, in a subdirectory that the FUSE variants share. */
		bench_str(p->dir, sizeof(p->dir), "%s/furi-bench-data", v->fs_arg);
		r = bench_mkdirs(p->dir, 0755);
		if (r) {
			bench_str(m->problem, sizeof(m->problem), "mkdir %s: %s", p->dir, strerror(-r));
			return -1;
		}
		p->up = m->mounted = m->verified = true;
		bench_str(m->transport, sizeof(m->transport), "native");
		return 0;
	}
	if (mkdir(mnt, 0755) && errno != EEXIST) {
		bench_str(m->problem, sizeof(m->problem), "mkdir %s: %s", mnt, strerror(errno));
		return -1;
	}
	bench_str(p->mnt, sizeof(p->mnt), "%s", mnt);
	if (v->kind == BENCH_NATIVE) {
		char *argv[] = { "mount", "-t", "tmpfs", "-o", "mode=0755,size=50%",
				 "furi-bench-native", (char *)mnt, NULL };

		r = bench_run(argv, NULL, NULL, 0, log_path, 60);
		if (r) {
			bench_str(m->problem, sizeof(m->problem), "mount -t tmpfs failed (%d)", r);
			rmdir(mnt);
			p->mnt[0] = '\0';
			return -1;
		}
		p->tmpfs = p->up = m->mounted = m->verified = true;
		bench_str(p->dir, sizeof(p->dir), "%s", mnt);
		bench_str(m->transport, sizeof(m->transport), "native");
		return 0;
	}

	if (v->image && (r = create_image(v->fs_arg))) {
		bench_str(m->problem, sizeof(m->problem), "creating %s: %s", v->fs_arg, strerror(-r));
		rmdir(mnt);
		p->mnt[0] = '\0';
		return -1;
	}
	{
		char *argv[12];
		int a = 0;

		argv[a++] = (char *)self;
		argv[a++] = "mount";
		argv[a++] = (char *)v->fs;
		if (v->fs_arg[0])
			argv[a++] = (char *)v->fs_arg;
		argv[a++] = (char *)mnt;
		if (v->options[0]) {
			argv[a++] = "-o";
			argv[a++] = (char *)v->options;
		}
		argv[a] = NULL;
		r = bench_run(argv, NULL, NULL, 0, log_path, 120);
	}
	if (r) {
		last_line(log_path, line, sizeof(line));
		bench_str(m->problem, sizeof(m->problem), "furi mount failed: %s",
			 line[0] ? line : "no message");
		rmdir(mnt);
		p->mnt[0] = '\0';
		return -1;
	}
	p->fuse = p->up = m->mounted = true;
	if (bench_status_read(self, mnt, &st, NULL, err, sizeof(err))) {
		bench_str(m->problem, sizeof(m->problem), "%s", err);
		return -1;	/* mounted but unverifiable: the caller takes it down */
	}
	p->pid = st.pid;
	m->pid = st.pid;
	m->queues = st.queues;
	m->threads = st.threads;
	m->depth = st.depth;
	m->buffer_bytes = st.buffer_bytes;
	bench_str(m->transport, sizeof(m->transport), "%s", st.transport);
	bench_str(m->transport_line, sizeof(m->transport_line), "%s", st.transport_line);
	expect = bench_kind_transport(v->kind);
	if (!expect || !strcmp(expect, st.transport)) {
		m->verified = true;
	} else if (v->kind == BENCH_URING && !strcmp(st.transport, "dev_fuse")) {
		m->fallen_back = true;
		bench_str(m->problem, sizeof(m->problem), "%s",
			 st.fallback_reason[0] ? st.fallback_reason : st.transport_line);
	} else {
		bench_str(m->problem, sizeof(m->problem), "expected %s, furi status says %s", expect,
			 st.transport);
	}
	if (v->fs_arg[0] && !v->image) {
		bench_str(p->dir, sizeof(p->dir), "%s/furi-bench-data", mnt);
		r = bench_mkdirs(p->dir, 0755);
		if (r) {
			bench_str(m->problem, sizeof(m->problem), "mkdir %s: %s", p->dir, strerror(-r));
			return -1;
		}
	} else {
		bench_str(p->dir, sizeof(p->dir), "%s", mnt);
	}
	return 0;
}

static int umount_once(const char *mnt, bool lazy, const char *log_path)
{
	char *argv[] = { "umount", lazy ? "-l" : (char *)mnt, lazy ? (char *)mnt : NULL, NULL };

	return bench_run(argv, NULL, NULL, 0, log_path, 60);
}

static bool wait_gone(pid_t pid, double seconds)
{
	double end = bench_now() + seconds;

	while (bench_pid_alive(pid)) {
		if (bench_now() >= end)
			return false;
		usleep(10000);
	}
	return true;
}

int bench_take_down(struct bench_place *p, const char *log_path, char *err, size_t errlen)
{
	int tries, r = -1;

	err[0] = '\0';
	if (!p->up)
		return 0;
	p->up = false;
	if (!p->mnt[0])
		return 0;	/* a native source directory: nothing mounted */
	if (!bench_is_mounted(p->mnt, NULL)) {
		/*
		 * Someone else unmounted it (a test harness sweeping /tmp, an
		 * admin): what the cells left landed in our own directory
		 * below; remove it, staying on this filesystem.
		 */
		bench_str(err, errlen, "%s was no longer mounted at the end of the suite", p->mnt);
		bench_rmtree(p->mnt);
		return -1;
	}
	for (tries = 0; tries < 5 && r; tries++) {
		r = umount_once(p->mnt, false, log_path);
		if (r)
			usleep(300000);
	}
	if (r) {
		r = umount_once(p->mnt, true, log_path);
		bench_str(err, errlen, "umount %s failed; %s", p->mnt,
			 r ? "lazy umount failed too" : "unmounted lazily");
	}
	if (p->fuse && p->pid > 0 && !wait_gone(p->pid, 10)) {
		/* Our own server outlived its mount: stop it by its pid. */
		kill(p->pid, SIGTERM);
		if (!wait_gone(p->pid, 5))
			kill(p->pid, SIGKILL);
		if (!err[0])
			bench_str(err, errlen, "furi server %d did not exit after umount; killed",
				 (int)p->pid);
	}
	if (rmdir(p->mnt) && errno != ENOENT && !err[0])
		bench_str(err, errlen, "rmdir %s: %s", p->mnt, strerror(errno));
	return err[0] ? -1 : 0;
}
