/* SPDX-License-Identifier: MIT */
/* sys.c - processes, /proc and machine facts for the runner; see sys.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"

volatile sig_atomic_t bench_interrupted;

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int redirect(int target, const char *path, int flags)
{
	int fd = open(path ? path : "/dev/null", flags | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	if (dup2(fd, target) < 0)
		return -1;
	close(fd);
	return 0;
}

pid_t bench_spawn(char *const argv[], const char *cwd, const char *out_path,
		  const char *err_path)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		setpgid(pid, pid);	/* also here, so the group exists before we signal it */
	if (pid == 0) {
		sigset_t none;

		/* The runner's handlers and mask must not leak into the child. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Its own group: the runner stops it and its children together. */
		setpgid(0, 0);
		if (cwd && chdir(cwd))
			_exit(127);
		if (redirect(STDIN_FILENO, NULL, O_RDONLY) ||
		    redirect(STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_TRUNC) ||
		    redirect(STDERR_FILENO, err_path, O_WRONLY | O_CREAT | O_APPEND))
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int bench_wait(pid_t pid, double timeout_s, int *status)
{
	double end = timeout_s >= 0 ? bench_now() + timeout_s : 0;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

	for (;;) {
		pid_t r;
		int ms = -1;

		if (bench_interrupted) {
			if (pfd >= 0)
				close(pfd);
			return -EINTR;
		}
		r = waitpid(pid, status, WNOHANG);
		if (r == pid) {
			if (pfd >= 0)
				close(pfd);
			return 0;
		}
		if (r < 0 && errno != EINTR) {
			int e = errno;

			if (pfd >= 0)
				close(pfd);
			return -e;
		}
		if (timeout_s >= 0) {
			double left = end - bench_now();

			if (left <= 0) {
				if (pfd >= 0)
					close(pfd);
				return -ETIMEDOUT;
			}
			ms = (int)(left * 1000.0) + 1;
		}
		if (pfd >= 0) {
			struct pollfd p = { pfd, POLLIN, 0 };

			poll(&p, 1, ms);	/* EINTR just loops */
		} else {
			/* No pidfd: poll the child every 2 ms. */
			struct timespec ts = { 0, 2000000 };

			nanosleep(&ts, NULL);
		}
	}
}

void bench_kill(pid_t pid)
{
	double end;
	int status;

	if (pid <= 0)
		return;
	kill(-pid, SIGTERM);
	end = bench_now() + 5;
	while (bench_now() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			/* Its group may hold children still exiting. */
			kill(-pid, SIGKILL);
			return;
		}
		usleep(10000);
	}
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

int bench_run(char *const argv[], const char *cwd, char *out, size_t outlen,
	      const char *err_path, double timeout_s)
{
	char tmpl[] = "/tmp/furi-bench-out.XXXXXX";
	int fd = mkstemp(tmpl), status = 0, r;
	pid_t pid;

	if (fd < 0)
		return -errno;
	close(fd);
	pid = bench_spawn(argv, cwd, tmpl, err_path);
	if (pid < 0) {
		unlink(tmpl);
		return pid;
	}
	r = bench_wait(pid, timeout_s, &status);
	if (r) {
		bench_kill(pid);
		unlink(tmpl);
		return r;
	}
	if (out && outlen) {
		fd = open(tmpl, O_RDONLY | O_CLOEXEC);
		out[0] = '\0';
		if (fd >= 0) {
			size_t used = 0;
			ssize_t n;

			while (used < outlen - 1 && (n = read(fd, out + used, outlen - 1 - used)) > 0)
				used += (size_t)n;
			out[used] = '\0';
			close(fd);
		}
	}
	unlink(tmpl);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
}

int bench_sleep(double s)
{
	double end = bench_now() + s;

	while (!bench_interrupted) {
		double left = end - bench_now();
		struct timespec ts;

		if (left <= 0)
			return 0;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	return -EINTR;
}

int bench_read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t used = 0, cap = 4096;
	char *b;

	if (fd < 0)
		return -errno;
	b = malloc(cap);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (used + 1 >= cap) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				close(fd);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		n = read(fd, b + used, cap - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(b);
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	b[used] = '\0';
	*buf = b;
	if (len)
		*len = used;
	return 0;
}

int bench_proc_cpu(pid_t pid, double *seconds)
{
	char path[64], *buf, *p;
	unsigned long long ut, st;
	long hz = sysconf(_SC_CLK_TCK);
	int r;

	bench_str(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = bench_read_file(path, &buf, NULL);
	if (r)
		return r;
	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			 &st) != 2) {
		free(buf);
		return -EINVAL;
	}
	free(buf);
	*seconds = (double)(ut + st) / (double)(hz > 0 ? hz : 100);
	return 0;
}

/*
 * Call fn with the text of /proc/PID/task/TID/NAME for each live thread of
 * pid. Returns how many threads were read, or -errno if pid is gone.
 */
static int each_thread(pid_t pid, const char *name, void (*fn)(const char *text, void *arg),
		       void *arg)
{
	char path[64], file[128], *buf;
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		bench_str(file, sizeof(file), "%s/%s/%s", path, de->d_name, name);
		if (bench_read_file(file, &buf, NULL))
			continue;	/* the thread just exited */
		fn(buf, arg);
		free(buf);
		n++;
	}
	closedir(d);
	return n ? n : -ESRCH;
}

struct run_time {
	double total;
	int n;
};

static void add_run_time(const char *schedstat, void *arg)
{
	struct run_time *rt = arg;
	unsigned long long run_ns;

	if (sscanf(schedstat, "%llu", &run_ns) == 1) {
		rt->total += (double)run_ns / 1e9;
		rt->n++;
	}
}

int bench_proc_cpu_precise(pid_t pid, double *seconds, int *nthreads)
{
	struct run_time rt = { 0, 0 };
	int r = each_thread(pid, "schedstat", add_run_time, &rt);

	if (r < 0)
		return r;
	if (!rt.n)
		return -ESRCH;
	*seconds = rt.total;
	*nthreads = rt.n;
	return 0;
}

struct name_match {
	const char *prefix;
	int matching;
};

static void match_name(const char *comm, void *arg)
{
	struct name_match *nm = arg;

	nm->matching += !strncmp(comm, nm->prefix, strlen(nm->prefix));
}

int bench_proc_threads(pid_t pid, const char *comm_prefix, int *matching)
{
	struct name_match nm = { comm_prefix, 0 };
	int n = each_thread(pid, "comm", match_name, &nm);

	if (n > 0)
		*matching = nm.matching;
	return n;
}

int bench_proc_rss_kb(pid_t pid, double *kb)
{
	char path[64], *buf, *p;
	int r;

	bench_str(path, sizeof(path), "/proc/%d/status", (int)pid);
	r = bench_read_file(path, &buf, NULL);
	if (r)
		return r;
	p = strstr(buf, "\nVmRSS:");
	r = p ? 0 : -ENOENT;
	if (p)
		*kb = strtod(p + 7, NULL);
	free(buf);
	return r;
}

bool bench_pid_alive(pid_t pid)
{
	char path[64], *buf, *p;
	bool alive;

	if (pid <= 0 || (kill(pid, 0) && errno != EPERM))
		return false;
	/* A zombie has exited; a daemon's zombie may wait a while for its reaper. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (bench_read_file(path, &buf, NULL))
		return false;
	p = strrchr(buf, ')');
	alive = !(p && (p[2] == 'Z' || p[2] == 'X'));
	free(buf);
	return alive;
}

int bench_drop_caches(void)
{
	int fd, r = 0;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "3", 1) != 1)
		r = -errno;
	close(fd);
	return r;
}

void bench_enable_uring(char *buf, size_t len)
{
	char *b;

	if (bench_read_file(BENCH_ENABLE_URING_PATH, &b, NULL)) {
		bench_str(buf, len, "absent");
		return;
	}
	bench_str(buf, len, "%c", b[0] == 'Y' || b[0] == '1' ? 'Y' : 'N');
	free(b);
}

bool bench_is_mounted(const char *path, const char *fstype_prefix)
{
	char *buf, *line, *save = NULL;
	bool found = false;

	if (bench_read_file("/proc/self/mountinfo", &buf, NULL))
		return false;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mnt[4096], fstype[64];
		const char *dash = strstr(line, " - ");

		/* id parent major:minor root MOUNTPOINT options ... - FSTYPE source opts */
		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(mnt, path))
			continue;
		/* The last mount on path is the one on top: keep scanning. */
		found = !fstype_prefix || !strncmp(fstype, fstype_prefix, strlen(fstype_prefix));
	}
	free(buf);
	return found;
}

int bench_mkdirs(const char *path, mode_t mode)
{
	char buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

void bench_loadavg(char *buf, size_t len)
{
	char *b;
	double a1, a5, a15;

	bench_str(buf, len, "?");
	if (bench_read_file("/proc/loadavg", &b, NULL))
		return;
	if (sscanf(b, "%lf %lf %lf", &a1, &a5, &a15) == 3)
		bench_str(buf, len, "%.2f %.2f %.2f", a1, a5, a15);
	free(b);
}

void bench_machine_info(struct bench_machine *m)
{
	struct utsname u;
	char *buf, *p, out[256];
	char *fio_argv[] = { "fio", "--version", NULL };
	time_t t = time(NULL);
	struct tm tm;

	memset(m, 0, sizeof(*m));
	if (!uname(&u))
		bench_str(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release, u.machine);
	m->ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	bench_str(m->cpu, sizeof(m->cpu), "unknown CPU");
	if (!bench_read_file("/proc/cpuinfo", &buf, NULL)) {
		p = strstr(buf, "model name");
		if (p && (p = strchr(p, ':'))) {
			char *nl = strchr(p, '\n');

			if (nl)
				*nl = '\0';
			bench_str(m->cpu, sizeof(m->cpu), "%s", p + 2);
		}
		free(buf);
	}
	if (!bench_read_file("/proc/meminfo", &buf, NULL)) {
		p = strstr(buf, "MemTotal:");
		if (p)
			m->mem_gib = strtod(p + 9, NULL) / (1024.0 * 1024.0);
		free(buf);
	}
	bench_str(m->fio, sizeof(m->fio), "not found");
	if (bench_run(fio_argv, NULL, out, sizeof(out), NULL, 20) == 0) {
		out[strcspn(out, "\n")] = '\0';
		bench_str(m->fio, sizeof(m->fio), "%s", out);
	}
	bench_enable_uring(m->enable_uring, sizeof(m->enable_uring));
	bench_loadavg(m->load_start, sizeof(m->load_start));
	gmtime_r(&t, &tm);
	strftime(m->date, sizeof(m->date), "%Y-%m-%d %H:%M UTC", &tm);
}
