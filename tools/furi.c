/* SPDX-License-Identifier: MIT */
/*
 * furi - mount furi filesystems, show their status, run the benchmarks.
 *
 * Exit status: 0 success, 1 failure (the message says why), 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <furi/furi.h>

#include "fs.h"
#include "furi_cmd.h"
#include "status.h"

static const struct furi_fs_type *const fs_types[] = {
	&furi_memfs_type,
	&furi_nullfs_type,
	&furi_passthrough_type,
	&furi_image_type,

};

/*
 * Filesystems whose root follows the mountpoint: a regular file mountpoint
 * makes the root a regular file (lib/mount.c sends rootmode from it). Every
 * other filesystem has a directory root, and on a file mountpoint the kernel
 * would mount it, then find the root's type changed and answer EIO to all.
 */
static bool takes_file_mountpoint(const struct furi_fs_type *t)
{
	return t->file_mountpoint;
}

/* "memfs, nullfs, ...": every filesystem this furi knows. */
static const char *fs_names(void)
{
	static char buf[256];
	size_t i, used = 0;

	for (i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]) && used < sizeof(buf); i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? ", " : "",
					 fs_types[i]->name);
	return buf;
}

static const struct furi_fs_type *find_fs(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++)
		if (!strcmp(fs_types[i]->name, name))
			return fs_types[i];
	return NULL;
}

void furi_cmd_die_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "furi: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see: furi help%s%s)\n", cmd ? " " : "", cmd ? cmd : "");
	exit(FURI_EXIT_USAGE);
}

void furi_cmd_die_option(const char *cmd, int c, char *const argv[])
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";

	if (c == ':')
		furi_cmd_die_usage(cmd, "option '%s' needs a value", arg);
	if (!strncmp(arg, "--", 2) || !optopt)
		furi_cmd_die_usage(cmd, "unknown option '%s'", arg);
	furi_cmd_die_usage(cmd, "unknown option '-%c'", optopt);
}

static void usage_main(FILE *out)
{
	size_t i;

	fprintf(out,
"Usage: furi COMMAND [ARGS...]\n"
"\n"
"furi serves FUSE filesystems over FUSE-over-io_uring (per-CPU queues, Linux 6.14+)\n"
"or /dev/fuse, choosing io_uring automatically and saying which one is active and why.\n"
"\n"
"Commands:\n"
"  mount FS [ARGS] MOUNTPOINT [-o OPTS] [-f]   mount a filesystem (see furi help mount)\n"
"  status MOUNTPOINT [--json]                  transport, queues and counters of a mount\n"
"  bench [SUITE...] [--quick] [--out DIR]     benchmark io_uring vs /dev/fuse vs native (furi help bench)\n"
"  help [COMMAND | FS]                         this text, or the manual of one command or filesystem\n"
"  --version                                   print the version\n"
"\n"
"Filesystems:\n");
	for (i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++)
		fprintf(out, "  %-12s %s\n", fs_types[i]->name, fs_types[i]->summary);
	fprintf(out,
"\n"
"Exit status: 0 on success, 1 when the command failed (the message names the\n"
"cause and the fix), 2 for a usage error.\n");
}

static void usage_mount(FILE *out)
{
	size_t i;

	fprintf(out,
"Usage: furi mount FS [ARGS...] MOUNTPOINT [-o OPT[,OPT...]]... [-f] [-d]\n"
"\n"
"Mount filesystem FS on MOUNTPOINT, an existing directory (or, for `image`, a\n"
"regular file). furi returns once the filesystem answers requests and prints one\n"
"line saying which transport serves it: io_uring, or /dev/fuse with the reason\n"
"io_uring is not used and how to enable it. The server then runs in the\n"
"background until the filesystem is unmounted (umount MOUNTPOINT) or the server\n"
"gets SIGTERM, SIGINT or SIGHUP, which unmount it (lazily when files are open).\n"
"\n"
"As root furi mounts with mount(2); other users need fusermount3 (package fuse3),\n"
"and /dev/fuse readable and writable by them (mode 0666, as udev sets it).\n"
"\n"
"Options:\n"
"  -o OPTS          comma-separated mount options (below, and the filesystem's own)\n"
"  -f, --foreground stay in the foreground; log to stderr\n"
"  -d, --debug      log every request (implies --foreground)\n"
"  -h, --help       this text\n"
"\n");
	fputs(furi_config_help(), out);
	fprintf(out, "\nFilesystems (furi help FS for their options):\n");
	for (i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++)
		fprintf(out, "  furi mount %s %s%sMOUNTPOINT\n", fs_types[i]->name, fs_types[i]->args,
			*fs_types[i]->args ? " " : "");
	fprintf(out,
"\n"
"With mount(8) and /etc/fstab (through the helper /sbin/mount.fuse.furi):\n"
"  mount -t fuse.furi [-o OPTS] FS MOUNTPOINT\n"
"  mount -t fuse.furi -o source=ARG[,OPTS] FS MOUNTPOINT\n"
"The source field names the filesystem; its arguments (SOURCE_DIR, IMAGE_FILE)\n"
"come as -o source=ARG, one per argument, in order. OPTS are furi's -o options.\n"
"Options only mount(8) reads (defaults, auto, noauto, user, nofail, _netdev,\n"
"x-*, comment=) are accepted and dropped; its generic ones (ro, nosuid, noatime,\n"
"...) are furi's own, above. mount -o remount,OPTS MOUNTPOINT changes those on a\n"
"mounted filesystem (the helper does the same when given -o remount). fstab lines:\n"
"  memfs        /mnt/scratch  fuse.furi  size=2G,transport=auto  0 0\n"
"  passthrough  /mnt/data     fuse.furi  source=/srv/data,nofail  0 0\n"
"\n"
"Examples:\n"
"  mkdir -p /tmp/m && furi mount memfs /tmp/m\n"
"  furi mount memfs /tmp/m -o transport=legacy,threads=4\n"
"  furi status /tmp/m\n"
"  umount /tmp/m\n"
"  mount -t fuse.furi -o source=/srv/data passthrough /mnt/data\n"
"\n"
"Exit status: 0 once the filesystem is mounted and answers requests, 1 when\n"
"the mount failed (one line names the cause and the fix; nothing stays\n"
"mounted and no server is left running), 2 for a usage error.\n");
}

static void usage_fs(FILE *out, const struct furi_fs_type *t)
{
	fprintf(out, "Usage: furi mount %s %s%sMOUNTPOINT [-o OPTS] [-f]\n\n%s\n\n%s", t->name,
		t->args, *t->args ? " " : "", t->summary, t->help);
}

/* ---- mount ---- */

struct mount_args {
	const struct furi_fs_type *type;
	void *fs;
	char *pos[4];		/* positional arguments: fs args, then mountpoint */
	int npos;
	char *mountpoint;	/* absolute */
	bool foreground;
	bool debug;
	struct furi_config cfg;
};

static void apply_options(struct mount_args *ma, char *list)
{
	char *save = NULL, *opt;
	char err[512];

	for (opt = strtok_r(list, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		int r = furi_config_set(&ma->cfg, opt, err, sizeof(err));
		const char *page = "mount";

		if (r == -ENOENT && ma->type->set_option) {
			r = ma->type->set_option(ma->fs, opt, &ma->cfg, err, sizeof(err));
			page = ma->type->name;	/* its options are on its own page */
		}
		if (r == -ENOENT)
			furi_cmd_die_usage("mount", "unknown mount option '%s'", opt);
		if (r)
			furi_cmd_die_usage(page, "%s", err);
	}
}

static void syslog_sink(enum furi_log_level level, const char *msg)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

	syslog(prio[level], "%s", msg);
}

/*
 * The daemon tells the waiting parent how startup went through a pipe: one
 * status byte ('0' ok, '1' failed) and one line of text.
 */
static void tell_parent(int fd, bool ok, const char *line)
{
	char c = ok ? '0' : '1';

	if (fd < 0)
		return;
	if (write(fd, &c, 1) < 0 || write(fd, line, strlen(line)) < 0)
		return;
	close(fd);
}

/*
 * The server died after mounting but before it could report: take its
 * dead mount down (lazily: nothing can be using it yet) so a failed
 * furi mount leaves nothing behind. true when there was one.
 */
static bool remove_dead_mount(const char *mountpoint)
{
	struct furi_mountinfo mi;
	pid_t pid;
	int status;

	if (furi_mountinfo_find(mountpoint, &mi) || strncmp(mi.fstype, "fuse", 4))
		return false;
	if (geteuid() == 0)
		return umount2(mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) == 0;
	pid = fork();
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", mountpoint, (char *)NULL);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static volatile sig_atomic_t parent_interrupts;

static void parent_on_signal(int sig)
{
	(void)sig;
	parent_interrupts++;
}

/*
 * Ctrl-C (or SIGTERM) while the server starts: stop the server rather than
 * leave it mounting in the background; a second one kills it outright.
 */
static void parent_forward_stop(pid_t child, int *forwarded)
{
	if (*forwarded >= parent_interrupts)
		return;
	kill(child, *forwarded ? SIGKILL : SIGTERM);
	*forwarded = parent_interrupts;
}

static int parent_wait(int fd, pid_t child, const char *mountpoint)
{
	struct sigaction sa = { .sa_handler = parent_on_signal };	/* no SA_RESTART */
	char buf[1024];
	ssize_t n, used = 0;
	int status, forwarded = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (;;) {
		n = read(fd, buf + used, sizeof(buf) - 1 - (size_t)used);
		parent_forward_stop(child, &forwarded);
		if (n > 0)
			used += n;
		else if (n == 0 || errno != EINTR || (size_t)used >= sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[used] = '\0';
	if (parent_interrupts) {
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			parent_forward_stop(child, &forwarded);
		remove_dead_mount(mountpoint);
		fprintf(stderr, "furi: interrupted; the server was stopped and %s is not mounted\n",
			mountpoint);
		return FURI_EXIT_FAIL;
	}
	if (used < 1) {
		char how[64] = "";

		if (waitpid(child, &status, 0) == child) {
			if (WIFSIGNALED(status))
				snprintf(how, sizeof(how), " (killed by signal %d, %s)", WTERMSIG(status),
					 strsignal(WTERMSIG(status)));
			else if (WIFEXITED(status))
				snprintf(how, sizeof(how), " (exit status %d)", WEXITSTATUS(status));
		}
		fprintf(stderr,
			"furi: the server exited during startup without a message%s%s (fix: run the same furi mount with -f to see its log)\n",
			how, remove_dead_mount(mountpoint) ? "; its dead mount was taken down" : "");
		return FURI_EXIT_FAIL;
	}
	fprintf(stderr, "furi: %s\n", buf + 1);
	if (buf[0] != '0') {
		waitpid(child, &status, 0);
		return FURI_EXIT_FAIL;
	}
	return 0;
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

static int serve(struct mount_args *ma, int notify_fd)
{
	struct furi_session *se;
	char err[768], line[1024];
	int r;

	se = furi_session_new(&ma->cfg, ma->type->ops, ma->fs, err, sizeof(err));
	if (!se) {
		tell_parent(notify_fd, false, err);
		if (notify_fd < 0)
			fprintf(stderr, "furi: %s\n", err);
		return FURI_EXIT_FAIL;
	}
	r = furi_session_mount(se, ma->mountpoint, err, sizeof(err));
	if (r) {
		furi_session_destroy(se);
		tell_parent(notify_fd, false, err);
		if (notify_fd < 0)
			fprintf(stderr, "furi: %s\n", err);
		return FURI_EXIT_FAIL;
	}
	snprintf(line, sizeof(line), "%s on %s: %s", ma->type->name, ma->mountpoint,
		 furi_session_transport_line(se));
	if (notify_fd >= 0) {
		detach_stdio();
		tell_parent(notify_fd, true, line);
	} else {
		fprintf(stderr, "furi: %s\n", line);
	}
	r = furi_session_wait(se);
	furi_session_destroy(se);
	return r ? FURI_EXIT_FAIL : 0;
}

static int cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "options", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct mount_args ma;
	char *opts[64];
	int nopts = 0, c, i, r, pipefd[2];
	char err[768], abs[1024];
	pid_t pid;

	memset(&ma, 0, sizeof(ma));
	furi_config_init(&ma.cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:o:fdh", longopts, NULL)) != -1 || optind < argc) {
		if (c == -1) {
			/* Options may follow positional arguments: collect and go on. */
			if (ma.npos == (int)(sizeof(ma.pos) / sizeof(ma.pos[0])))
				furi_cmd_die_usage("mount", "too many arguments");
			ma.pos[ma.npos++] = argv[optind++];
			continue;
		}
		switch (c) {
		case 'o':
			if (nopts == (int)(sizeof(opts) / sizeof(opts[0])))
				furi_cmd_die_usage("mount", "too many -o options");
			opts[nopts++] = optarg;
			break;
		case 'f':
			ma.foreground = true;
			break;
		case 'd':
			ma.debug = ma.foreground = true;
			break;
		case 'h':
			usage_mount(stdout);
			return 0;
		default:
			furi_cmd_die_option("mount", c, argv);
		}
	}
	if (ma.npos < 1)
		furi_cmd_die_usage("mount", "no filesystem given (one of: %s)", fs_names());
	ma.type = find_fs(ma.pos[0]);
	if (!ma.type)
		furi_cmd_die_usage("mount", "unknown filesystem '%s' (one of: %s)", ma.pos[0],
				   fs_names());
	if (ma.npos != ma.type->nargs + 2)
		furi_cmd_die_usage(ma.type->name, "%s for %s: expected furi mount %s %s%sMOUNTPOINT",
				   ma.npos == 1 ? "no mountpoint given" :
				   ma.npos < ma.type->nargs + 2 ? "too few arguments" : "too many arguments",
				   ma.type->name, ma.type->name, ma.type->args, *ma.type->args ? " " : "");
	ma.fs = ma.type->alloc();
	if (!ma.fs) {
		fprintf(stderr, "furi: out of memory\n");
		return FURI_EXIT_FAIL;
	}
	ma.cfg.fsname = ma.type->name;
	ma.cfg.status_name = ma.type->name;
	for (i = 0; i < nopts; i++)
		apply_options(&ma, opts[i]);
	if (!*ma.pos[ma.npos - 1])
		furi_cmd_die_usage(ma.type->name, "the mountpoint is an empty string");
	r = furi_cmd_absolute(ma.pos[ma.npos - 1], abs, sizeof(abs));
	if (r == -ENAMETOOLONG)
		furi_cmd_die_usage("mount", "the mountpoint path is too long (%zu bytes, at most %zu)",
				   strlen(ma.pos[ma.npos - 1]), sizeof(abs) - 1);
	if (r) {
		fprintf(stderr, "furi: cannot use mountpoint %s: %s (fix: give an existing directory)\n",
			ma.pos[ma.npos - 1], strerror(-r));
		ma.type->free(ma.fs);
		return FURI_EXIT_FAIL;
	}
	/*
	 * Symlinks resolved, as the kernel and /proc/self/mountinfo will show it.
	 * No stat() of a mountpoint that is already mounted: a hung FUSE server
	 * would hang us (the library says it is busy).
	 */
	(void)furi_path_resolve(abs, sizeof(abs));
	{
		struct furi_mountinfo mi;
		struct stat st;

		if (furi_mountinfo_find(abs, &mi) && !stat(abs, &st) && S_ISREG(st.st_mode) &&
		    !takes_file_mountpoint(ma.type)) {
			fprintf(stderr,
				"furi: mountpoint %s is a regular file; %s needs a directory (fix: mkdir a directory and mount there)\n",
				abs, ma.type->name);
			ma.type->free(ma.fs);
			return FURI_EXIT_FAIL;
		}
	}
	ma.mountpoint = abs;
	r = ma.type->prepare(ma.fs, ma.pos + 1, ma.mountpoint, &ma.cfg, err, sizeof(err));
	if (r) {
		fprintf(stderr, "furi: %s\n", err);
		ma.type->free(ma.fs);
		return FURI_EXIT_FAIL;
	}
	if (ma.debug)
		furi_set_log_level(FURI_LOG_DEBUG);

	if (ma.foreground) {
		r = serve(&ma, -1);
		ma.type->free(ma.fs);
		return r;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		fprintf(stderr, "furi: pipe: %s\n", strerror(errno));
		ma.type->free(ma.fs);
		return FURI_EXIT_FAIL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "furi: fork: %s\n", strerror(errno));
		ma.type->free(ma.fs);
		return FURI_EXIT_FAIL;
	}
	if (pid > 0) {
		close(pipefd[1]);
		/* The parent only reports; the server has its own copy of the filesystem. */
		r = parent_wait(pipefd[0], pid, ma.mountpoint);
		ma.type->free(ma.fs);
		return r;
	}
	close(pipefd[0]);
	setsid();
	if (chdir("/"))
		_exit(FURI_EXIT_FAIL);
	openlog("furi", LOG_PID, LOG_DAEMON);
	furi_set_log(syslog_sink);
	r = serve(&ma, pipefd[1]);
	ma.type->free(ma.fs);
	_exit(r);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	/* Bad options get one line from furi_cmd_die_option(), not getopt's own. */
	opterr = 0;
	if (!cmd)
		furi_cmd_die_usage(NULL, "no command given: expected furi COMMAND [ARGS...], COMMAND one of mount, status, bench, help");
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage_main(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("furi %s\n", FURI_VERSION_STRING);
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		const struct furi_fs_type *t;

		if (argc < 3) {
			usage_main(stdout);
			return 0;
		}
		if (!strcmp(argv[2], "mount")) {
			usage_mount(stdout);
			return 0;
		}
		if (!strcmp(argv[2], "status")) {
			furi_cmd_status_usage(stdout);
			return 0;
		}
		if (!strcmp(argv[2], "bench")) {
			furi_cmd_bench_usage(stdout);
			return 0;
		}
		t = find_fs(argv[2]);
		if (t) {
			usage_fs(stdout, t);
			return 0;
		}
		furi_cmd_die_usage(NULL, "no help for '%s' (commands: mount, status, bench; filesystems: %s)",
				   argv[2], fs_names());
	}
	if (!strcmp(cmd, "mount"))
		return cmd_mount(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return furi_cmd_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "bench"))
		return furi_cmd_bench(argc - 1, argv + 1);
	if (!strcmp(cmd, "bench-meta"))
		return furi_cmd_bench_meta(argc - 1, argv + 1);
	furi_cmd_die_usage(NULL, "unknown command '%s' (one of: mount, status, bench, help)", cmd);
	return FURI_EXIT_USAGE;
}
