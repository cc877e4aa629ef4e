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
#include <pthread.h>
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
"  status [MOUNTPOINT] [--json] [--watch]      every furi mount; or transport, queues, counters\n"
"                                              and rates of one\n"
"  bench [SUITE...] [--quick] [--out DIR]     benchmark io_uring vs /dev/fuse vs native (furi help bench)\n"
"  help [COMMAND | FS]                         this text, or the manual of one command or filesystem\n"
"  -V, --version                               furi's version, the FUSE protocol furi and\n"
"                                              this kernel speak, liburing's version\n"
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
"Usage: furi mount FS [ARGS...] MOUNTPOINT [-o OPT[,OPT...]]... [-f] [-d] [-s]\n"
"\n"
"Mount filesystem FS on MOUNTPOINT, an existing directory (or, for `image`, a\n"
"regular file). furi returns once the filesystem answers requests and prints one\n"
"line saying which transport serves it: io_uring, or /dev/fuse with the reason\n"
"io_uring is not used and how to enable it; whatever the server logged while\n"
"starting (a warning such as max_write clamped to the kernel's limit) comes\n"
"before that line. The server then runs in the background, logging to syslog,\n"
"until the filesystem is unmounted (umount MOUNTPOINT) or the server gets\n"
"SIGTERM, SIGINT or SIGHUP, which unmount it (lazily when files are open).\n"
"\n"
"As root furi mounts with mount(2); other users need fusermount3 (package fuse3),\n"
"and /dev/fuse readable and writable by them (mode 0666, as udev sets it).\n"
"\n"
"Options:\n"
"  -o OPTS          comma-separated mount options (below, and the filesystem's own)\n"
"  -f, --foreground stay in the foreground; log to stderr\n"
"  -d, --debug      log every request and reply to stderr, as libfuse's -d:\n"
"                   opcode, unique, nodeid, key arguments, the io_uring queue\n"
"                   or /dev/fuse and the thread, then the result or errno\n"
"                   (same as -o debug; implies --foreground)\n"
"  -s               one serving thread, as libfuse's -s: -o threads=1 for\n"
"                   /dev/fuse, -o uring_threads=1 for io_uring\n"
"  -h, --help       this text\n"
"\n");
	fputs(furi_config_help(), out);
	fprintf(out, "\nFilesystems (furi help FS for their options):\n");
	for (i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++)
		fprintf(out, "  furi mount %s %s%sMOUNTPOINT\n", fs_types[i]->name, fs_types[i]->args,
			*fs_types[i]->args ? " " : "");
	fprintf(out,
"\n"
"Mounts show in /proc/mounts with type fuse.furi and as source the filesystem,\n"
"with what it serves after a colon: memfs, passthrough:/srv/data,\n"
"image:/vm/disk.raw (-o fsname=NAME sets another). findmnt -t fuse.furi and\n"
"umount -a -t fuse.furi find them; furi status without an argument lists them.\n"
"\n"
"With mount(8) and /etc/fstab (through the helper mount.fuse.furi, which mount(8)\n"
"looks for in /sbin; see man mount.fuse.furi):\n"
"  mount -t fuse.furi [-o OPTS] FS[:ARG] MOUNTPOINT\n"
"  mount -t fuse.furi -o source=ARG[,OPTS] FS MOUNTPOINT\n"
"The source field names the filesystem and its argument (SOURCE_DIR,\n"
"IMAGE_FILE) after a colon, as /proc/mounts shows it, so a line copied from\n"
"there mounts the same; or the arguments come as -o source=ARG, one per\n"
"argument, in order. OPTS are furi's -o options. Options only mount(8) reads\n"
"(defaults, auto, noauto, user, nofail, _netdev, x-*, comment=) and the\n"
"kernel's (user_id=, group_id=, rootmode=) are accepted and dropped; its\n"
"generic ones (ro, nosuid, noatime, ...) are furi's own, above. mount -o\n"
"remount,OPTS MOUNTPOINT changes those on a mounted filesystem (the helper\n"
"does the same when given -o remount). The source shows in /proc/mounts as\n"
"written, so mount -a knows the line is mounted and running it again is\n"
"harmless. fstab lines:\n"
"  memfs                  /mnt/scratch  fuse.furi  size=2G,transport=auto  0 0\n"
"  passthrough:/srv/data  /mnt/data     fuse.furi  nofail,auto_unmount     0 0\n"
"\n"
"Examples:\n"
"  mkdir -p /tmp/m && furi mount memfs /tmp/m\n"
"  furi mount memfs /tmp/m -o transport=legacy,threads=4\n"
"  furi status /tmp/m\n"
"  umount /tmp/m\n"
"  mount -t fuse.furi passthrough:/srv/data /mnt/data\n"
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
	char source[1024];	/* what the filesystem serves, absolute: its first argument */
	char fsname[320];	/* "passthrough:/srv/data" */
	bool foreground;
	struct furi_config cfg;
};

/*
 * An option neither libfuri nor the filesystem took. libfuse's direct_io is
 * a filesystem's choice in furi (passthrough has it): say so rather than
 * call a familiar name unknown.
 */
static void die_unknown_option(const struct furi_fs_type *t, const char *opt)
{
	if (!strcmp(opt, "direct_io"))
		furi_cmd_die_usage(t->name,
				   "-o direct_io (libfuse's: no page cache for the files) is an option of passthrough; %s has no such mode (fix: leave it out, or open the files with O_DIRECT)",
				   t->name);
	furi_cmd_die_usage("mount", "unknown mount option '%s'", opt);
}

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
			die_unknown_option(ma->type, opt);
		if (r)
			furi_cmd_die_usage(page, "%s", err);
	}
}

/*
 * What /proc/mounts shows, so that findmnt -t fuse.furi, umount -a -t
 * fuse.furi and mount -a know furi's mounts: the type of the helper
 * mount.fuse.furi, and as source the filesystem's name, with what it serves
 * after a colon (passthrough:/srv/data), which the helper takes back as its
 * source. -o fsname= (the helper passes the source mount(8) compares) wins.
 */
static void set_mount_identity(struct mount_args *ma)
{
	int n;

	if (ma->type->nargs > 0 && !furi_cmd_absolute(ma->pos[1], ma->source, sizeof(ma->source)))
		ma->cfg.status_source = ma->source;
	if (ma->cfg.fsname != ma->type->name || !ma->cfg.status_source ||
	    strpbrk(ma->source, ",\\ \t\n"))
		return;		/* none, or not one a mount option can carry */
	n = snprintf(ma->fsname, sizeof(ma->fsname), "%s:%s", ma->type->name, ma->source);
	if (n > 0 && (size_t)n < sizeof(ma->fsname))
		ma->cfg.fsname = ma->fsname;
}

/*
 * The daemon tells the waiting parent how startup goes through a pipe, one
 * record per line: 'L' and a line the server logged, then '0' (ok) or '1'
 * (failed) and the outcome. Until that outcome, what the server logs goes to
 * the parent's terminal as well as to syslog: a warning at start (max_write
 * clamped, max_readahead not applied) must not be found only in the journal.
 * Any thread may log, so the pipe is written under a lock, and closed under
 * it once the outcome is sent.
 */
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static int report_fd = -1;

/* One record, in one write(): a line shorter than PIPE_BUF is never torn. */
static void report_record(char kind, const char *text)
{
	char rec[1100];
	size_t n = (size_t)snprintf(rec, sizeof(rec) - 1, "%c%s", kind, text);

	if (n > sizeof(rec) - 2)
		n = sizeof(rec) - 2;
	for (size_t i = 1; i < n; i++)
		if (rec[i] == '\n')
			rec[i] = ' ';	/* a record is one line */
	rec[n++] = '\n';
	if (write(report_fd, rec, n) < 0)
		return;	/* the parent is gone: syslog still has it */
}

static void daemon_log_sink(enum furi_log_level level, const char *msg)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

	syslog(prio[level], "%s", msg);
	pthread_mutex_lock(&report_lock);
	if (report_fd >= 0)
		report_record('L', msg);
	pthread_mutex_unlock(&report_lock);
}

static void tell_parent(bool ok, const char *line)
{
	pthread_mutex_lock(&report_lock);
	if (report_fd >= 0) {
		report_record(ok ? '0' : '1', line);
		close(report_fd);
		report_fd = -1;
	}
	pthread_mutex_unlock(&report_lock);
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

/*
 * Print the complete records in buf[0..*used): logged lines as they come,
 * the outcome into outcome (kind first). Keeps an incomplete tail.
 */
static void parent_take_records(char *buf, size_t *used, char *outcome, size_t outlen)
{
	char *line = buf, *nl;

	while ((nl = memchr(line, '\n', *used - (size_t)(line - buf)))) {
		*nl = '\0';
		if (line[0] == 'L')
			fprintf(stderr, "furi: %s\n", line + 1);
		else if (!outcome[0]) {
			size_t len = strnlen(line, outlen - 1);

			memcpy(outcome, line, len);
			outcome[len] = '\0';
		}
		line = nl + 1;
	}
	*used -= (size_t)(line - buf);
	memmove(buf, line, *used);
}

static int parent_wait(int fd, pid_t child, const char *mountpoint)
{
	struct sigaction sa = { .sa_handler = parent_on_signal };	/* no SA_RESTART */
	char buf[4096], outcome[1100] = "";
	size_t used = 0;
	ssize_t n;
	int status, forwarded = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (;;) {
		n = read(fd, buf + used, sizeof(buf) - used);
		parent_forward_stop(child, &forwarded);
		if (n > 0) {
			used += (size_t)n;
			parent_take_records(buf, &used, outcome, sizeof(outcome));
			if (used == sizeof(buf))
				used = 0;	/* a line longer than any record: drop it */
		} else if (n == 0 || errno != EINTR) {
			break;
		}
	}
	close(fd);
	if (parent_interrupts) {
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			parent_forward_stop(child, &forwarded);
		remove_dead_mount(mountpoint);
		fprintf(stderr, "furi: interrupted; the server was stopped and %s is not mounted\n",
			mountpoint);
		return FURI_EXIT_FAIL;
	}
	if (!outcome[0]) {
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
	fprintf(stderr, "furi: %s\n", outcome + 1);
	if (outcome[0] != '0') {
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

/* Mount and serve; background: report the outcome to the waiting parent. */
static int serve(struct mount_args *ma, bool background)
{
	struct furi_session *se;
	char err[768], line[1024];
	int r;

	se = furi_session_new(&ma->cfg, ma->type->ops, ma->fs, err, sizeof(err));
	if (!se) {
		r = FURI_EXIT_FAIL;
		goto out_report;
	}
	r = furi_session_mount(se, ma->mountpoint, err, sizeof(err));
	if (r) {
		furi_session_destroy(se);
		r = FURI_EXIT_FAIL;
		goto out_report;
	}
	snprintf(line, sizeof(line), "%s on %s: %s", ma->type->name, ma->mountpoint,
		 furi_session_transport_line(se));
	if (background) {
		detach_stdio();
		tell_parent(true, line);
	} else {
		fprintf(stderr, "furi: %s\n", line);
	}
	r = furi_session_wait(se);
	furi_session_destroy(se);
	return r ? FURI_EXIT_FAIL : 0;

out_report:
	if (background)
		tell_parent(false, err);
	else
		fprintf(stderr, "furi: %s\n", err);
	return r;
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
	while ((c = getopt_long(argc, argv, "+:o:fdhs", longopts, NULL)) != -1 || optind < argc) {
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
			ma.cfg.debug = true;
			break;
		case 's':	/* libfuse's single-threaded loop */
			ma.cfg.legacy_threads = 1;
			ma.cfg.uring_threads = 1;
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
	ma.cfg.subtype = FURI_MOUNT_SUBTYPE;
	ma.cfg.status_name = ma.type->name;
	for (i = 0; i < nopts; i++)
		apply_options(&ma, opts[i]);
	/* The trace goes to stderr, as libfuse's -d and -o debug: in the foreground. */
	if (ma.cfg.debug)
		ma.foreground = true;
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
	set_mount_identity(&ma);

	if (ma.foreground) {
		r = serve(&ma, false);
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
	/* A parent killed while it waits must cost a report (EPIPE), not the server. */
	signal(SIGPIPE, SIG_IGN);
	setsid();
	if (chdir("/"))
		_exit(FURI_EXIT_FAIL);
	openlog("furi", LOG_PID, LOG_DAEMON);
	report_fd = pipefd[1];
	furi_set_log(daemon_log_sink);
	r = serve(&ma, true);
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
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version"))
		return furi_cmd_version();
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
