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
#include <sys/wait.h>
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

/*
 * Where the cells put their files on a mounted variant: the mount itself,
 * or for a served source directory a subdirectory that native shares.
 */
static int data_dir(const struct bench_variant *v, const char *mnt, struct bench_place *p,
		    struct bench_mount *m)
{
	int r;

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

/*
 * What libfuse's FUSE_INIT status says about io_uring: 1 on, 0 off (the
 * reason in why), -1 no such line (yet, or a libfuse without it).
 */
static int peer_init_status(const char *log_path, char *why, size_t whylen)
{
	static const char key[] = "FUSE_INIT: io_uring=";
	char *text, *p;
	int r = -1;

	if (bench_read_file(log_path, &text, NULL))
		return -1;
	p = strstr(text, key);
	if (p) {
		p += sizeof(key) - 1;
		r = !strncmp(p, "on", 2) && (p[2] == '\n' || !p[2]);
		bench_str(why, whylen, "libfuse says io_uring=%.*s", (int)strcspn(p, "\n"), p);
	}
	free(text);
	return r;
}

/* Reap our own child within seconds; false if it still runs. */
static bool reap(pid_t pid, double seconds, int *status)
{
	double end = bench_now() + seconds;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		if (bench_now() >= end)
			return false;
		usleep(10000);
	}
}

/* A libfuse example server, started and watched by us; see mounts.h. */
static int peer_bring_up(const struct bench_variant *v, const char *mnt, struct bench_place *p,
			 struct bench_mount *m, const char *server_log)
{
	char flags[sizeof(v->peer_flags)], out_log[2100], line[256], why[256], *argv[16], *save;
	double end;
	int a = 0, status = 0, on = -1, rings = 0, threads = 0;
	const char *depth = getenv("FUSE_URING_QUEUE_DEPTH");
	pid_t pid;

	/* env execs the server in place: the pid stays the server's. */
	argv[a++] = "env";
	argv[a++] = "FUSE_INIT_STATUS=1";
	argv[a++] = (char *)v->exe;
	bench_str(flags, sizeof(flags), "%s", v->peer_flags);
	for (char *f = strtok_r(flags, " ", &save); f && a < 10; f = strtok_r(NULL, " ", &save))
		argv[a++] = f;
	argv[a++] = "-o";
	argv[a++] = (char *)v->options;
	if (v->fs_arg[0])
		argv[a++] = (char *)v->fs_arg;
	argv[a++] = (char *)mnt;
	argv[a] = NULL;
	bench_str(out_log, sizeof(out_log), "%s.out", server_log);
	unlink(server_log);
	pid = bench_spawn(argv, NULL, out_log, server_log);
	if (pid < 0) {
		bench_str(m->problem, sizeof(m->problem), "cannot start %s: %s", v->exe, strerror(-pid));
		return -1;
	}
	p->pid = pid;
	m->pid = pid;
	/* Mounted, or gone: whichever comes first. */
	end = bench_now() + 20;
	while (!bench_is_mounted(mnt, "fuse")) {
		if (reap(pid, 0, &status)) {
			last_line(server_log, line, sizeof(line));
			if (!line[0])
				last_line(out_log, line, sizeof(line));
			bench_str(m->problem, sizeof(m->problem), "%s exited (status %d) without mounting: %s",
				  v->exe, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
				  line[0] ? line : "no message");
			p->pid = 0;
			return -1;
		}
		if (bench_now() >= end) {
			bench_kill(pid);
			bench_str(m->problem, sizeof(m->problem), "%s did not mount within 20 s", v->exe);
			p->pid = 0;
			return -1;
		}
		usleep(10000);
	}
	p->fuse = p->peer = p->up = m->mounted = true;
	/*
	 * libfuse starts its rings while it answers INIT, which follows the
	 * mount; its status line comes then. Without that line (an older
	 * libfuse), its ring threads alone tell.
	 */
	end = bench_now() + 10;
	do {
		on = peer_init_status(server_log, why, sizeof(why));
		threads = bench_proc_threads(pid, BENCH_LIBFUSE_RING_COMM, &rings);
		if (on >= 0 || threads < 0)
			break;
		usleep(20000);
	} while (bench_now() < end);
	if (threads < 0) {
		bench_str(m->problem, sizeof(m->problem), "%s exited after mounting", v->exe);
		return -1;
	}
	m->queues = (unsigned)rings;
	m->threads = (unsigned)threads;
	m->depth = depth ? (unsigned)atoi(depth) : 0;
	if (on == 1 && rings > 0) {
		m->verified = true;
		bench_str(m->transport, sizeof(m->transport), "io_uring");
		bench_str(m->transport_line, sizeof(m->transport_line), "%s, %d %s* threads", why,
			  rings, BENCH_LIBFUSE_RING_COMM);
	} else if (on < 0 && rings > 0) {
		m->verified = true;
		bench_str(m->transport, sizeof(m->transport), "io_uring");
		bench_str(m->transport_line, sizeof(m->transport_line),
			  "no FUSE_INIT status line; %d %s* threads", rings, BENCH_LIBFUSE_RING_COMM);
	} else {
		m->fallen_back = true;
		bench_str(m->transport, sizeof(m->transport), "dev_fuse");
		bench_str(m->problem, sizeof(m->problem), "%s, %d %s* threads",
			  on >= 0 ? why : "no FUSE_INIT status line", rings, BENCH_LIBFUSE_RING_COMM);
	}
	return 0;
}

int bench_bring_up(const char *self, const struct bench_variant *v, const char *mnt,
		   struct bench_place *p, struct bench_mount *m, const char *log_path,
		   const char *server_log)
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
	if (v->kind == BENCH_LIBFUSE_URING) {
		if (peer_bring_up(v, mnt, p, m, server_log)) {
			if (!p->up) {
				rmdir(mnt);
				p->mnt[0] = '\0';
			}
			return -1;
		}
		return data_dir(v, mnt, p, m);
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
	return data_dir(v, mnt, p, m);
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
		if (p->peer && p->pid > 0 && !reap(p->pid, 10, NULL))
			bench_kill(p->pid);	/* our child, its mount gone */
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
	if (p->peer && p->pid > 0 && !reap(p->pid, 10, NULL)) {
		/* Our child outlived its mount: its whole group goes. */
		bench_kill(p->pid);
		if (!err[0])
			bench_str(err, errlen, "libfuse server %d did not exit after umount; killed",
				  (int)p->pid);
	} else if (!p->peer && p->fuse && p->pid > 0 && !wait_gone(p->pid, 10)) {
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
