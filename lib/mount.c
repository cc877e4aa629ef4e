/* SPDX-License-Identifier: MIT */
/*
 * mount.c - put a FUSE connection on a mountpoint and take it off again:
 * mount(2) as root, fusermount3 (setuid helper from the fuse3 package)
 * otherwise. Every failure says what went wrong and how to fix it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

/* Append ",item" (or "item" first) to an option string. */
static int opt_add(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int opt_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	int n;

	if (used && used + 1 < len)
		buf[used++] = ',';
	va_start(ap, fmt);
	n = vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len - used ? -ENAMETOOLONG : 0;
}

/* fsname and subtype end up in a comma-separated list: refuse what would break it. */
static int check_opt_value(const char *what, const char *v, char *err, size_t errlen)
{
	if (v && strpbrk(v, ",\\ \t\n"))
		return furi_seterr(err, errlen, EINVAL,
				   "-o %s=%s: commas, spaces and backslashes are not allowed (fix: a %s without them)",
				   what, v, what);
	return 0;
}

/* A furi status file names the FUSE mount major:minor, and its server is gone. */
static bool furi_server_gone(const struct furi_mountinfo *mi)
{
	struct furi_status st;
	char path[300];
	bool gone = false;
	int fd;

	if (furi_status_path(path, sizeof(path), mi->major, mi->minor))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (pread(fd, &st, sizeof(st), 0) == (ssize_t)sizeof(st) && st.magic == FURI_STATUS_MAGIC &&
	    st.dev_major == mi->major && st.dev_minor == mi->minor)
		gone = furi_process_start_time(st.pid) != st.start_time;
	close(fd);
	return gone;
}

static int check_mountpoint(struct furi_session *se, const char *mountpoint, char *err,
			    size_t errlen)
{
	struct furi_mountinfo mi;
	struct stat st;
	int r;

	r = furi_path_absolute(mountpoint, se->mountpoint, sizeof(se->mountpoint));
	if (r)
		return furi_seterr(err, errlen, -r, "mountpoint %s: %s", mountpoint, strerror(-r));
	(void)furi_path_resolve(se->mountpoint, sizeof(se->mountpoint));
	/* Before stat(): on a mount, stat() may wait for a server that hangs. */
	if (furi_mountinfo_find(se->mountpoint, &mi) == 0) {
		if (!strncmp(mi.fstype, "fuse", 4) && furi_server_gone(&mi))
			return furi_seterr(err, errlen, ENOTCONN,
					   "%s is a FUSE mount whose server has died (fix: umount %s)",
					   se->mountpoint, se->mountpoint);
		return furi_seterr(err, errlen, EBUSY,
				   "%s is already a mountpoint (%s) (fix: umount %s, or use another directory)",
				   se->mountpoint, mi.fstype, se->mountpoint);
	}
	if (stat(se->mountpoint, &st)) {
		int e = errno;

		if (e == ENOENT)
			return furi_seterr(err, errlen, e,
					   "mountpoint %s does not exist (fix: mkdir -p %s)",
					   se->mountpoint, se->mountpoint);
		if (e == ENOTCONN)
			return furi_seterr(err, errlen, e,
					   "%s is a FUSE mount whose server has died (fix: umount %s)",
					   se->mountpoint, se->mountpoint);
		return furi_seterr(err, errlen, e, "cannot use mountpoint %s: %s", se->mountpoint,
				   strerror(e));
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return furi_seterr(err, errlen, ENOTDIR,
				   "mountpoint %s is not a directory (fix: give an existing directory)",
				   se->mountpoint);
	se->root_mode = st.st_mode & S_IFMT;
	return 0;
}

/* The FUSE device; FURI_DEV_FUSE names another path, for tests of its absence. */
static const char *fuse_device(void)
{
	const char *dev = getenv("FURI_DEV_FUSE");

	return dev && *dev ? dev : "/dev/fuse";
}

static int mount_syscall(struct furi_session *se, char *err, size_t errlen)
{
	const struct furi_config *cfg = &se->cfg;
	char opts[512] = "", type[128];
	unsigned long flags;
	int fd, r;

	fd = open(fuse_device(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT || e == ENODEV || e == ENXIO)
			return furi_seterr(err, errlen, e,
					   "%s is missing: the fuse module is not loaded (fix: modprobe fuse)",
					   fuse_device());
		return furi_seterr(err, errlen, e, "cannot open %s: %s", fuse_device(), strerror(e));
	}
	r = opt_add(opts, sizeof(opts), "fd=%d,rootmode=%o,user_id=%u,group_id=%u", fd,
		    (unsigned)se->root_mode, (unsigned)geteuid(), (unsigned)getegid());
	if (!r && cfg->allow_other)
		r = opt_add(opts, sizeof(opts), "allow_other");
	if (!r && cfg->default_permissions)
		r = opt_add(opts, sizeof(opts), "default_permissions");
	if (!r && cfg->max_read)
		r = opt_add(opts, sizeof(opts), "max_read=%u", cfg->max_read);
	if (r || snprintf(type, sizeof(type), "fuse%s%s", cfg->subtype ? "." : "",
			  cfg->subtype ? cfg->subtype : "") >= (int)sizeof(type)) {
		close(fd);
		return furi_seterr(err, errlen, EINVAL, "mount options too long");
	}
	flags = furi_config_mount_flags(cfg);
	if (mount(cfg->fsname ? cfg->fsname : "furi", se->mountpoint, type, flags, opts)) {
		int e = errno;

		close(fd);
		if (e == EPERM)
			return furi_seterr(err, errlen, e,
					   "not permitted to mount %s (fix: run as root, or install fuse3 for fusermount3)",
					   se->mountpoint);
		if (e == ENODEV)
			return furi_seterr(err, errlen, e,
					   "the kernel does not know filesystem type %s (fix: modprobe fuse)", type);
		return furi_seterr(err, errlen, e, "mount on %s failed: %s", se->mountpoint,
				   strerror(e));
	}
	se->fd = fd;
	return 0;
}

/* Receive the /dev/fuse fd fusermount3 opened for us. */
static int receive_fd(int sock)
{
	char byte;
	struct iovec iov = { &byte, 1 };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;
	int fd;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

/*
 * Run fusermount3 and wait for it. With msg, its stderr is captured and the
 * first line it printed, without the "fusermount3: " prefix, lands in msg, so
 * the caller can give the user one line. Returns its exit status, 127 when it
 * could not be run, 128 when it died of a signal, or -errno.
 */
static int run_fusermount(char *const argv[], int commfd, char *msg, size_t msglen)
{
	char out[1024];
	size_t used = 0;
	int pfd[2] = { -1, -1 }, status;
	pid_t pid;

	if (msg && msglen)
		msg[0] = '\0';
	if (msg && pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		if (pfd[0] >= 0) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -e;
	}
	if (pid == 0) {
		if (pfd[1] >= 0)
			dup2(pfd[1], STDERR_FILENO);
		if (commfd >= 0) {
			char env[16];

			snprintf(env, sizeof(env), "%d", commfd);
			setenv("_FUSE_COMMFD", env, 1);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pfd[0] >= 0) {
		ssize_t n;

		close(pfd[1]);
		for (;;) {
			n = read(pfd[0], out + used, sizeof(out) - 1 - used);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			used += (size_t)n;
			if (used == sizeof(out) - 1) {
				char sink[256];

				/* Keep the start; drain the rest so fusermount3 never blocks. */
				while ((n = read(pfd[0], sink, sizeof(sink))) > 0 ||
				       (n < 0 && errno == EINTR))
					;
				break;
			}
		}
		close(pfd[0]);
		out[used] = '\0';
		{
			char *line = out, *end, *colon;

			while (*line == '\n')
				line++;
			end = strchr(line, '\n');
			if (end)
				*end = '\0';
			colon = strstr(line, ": ");
			if (colon && memmem(line, (size_t)(colon - line), "fusermount", 10))
				line = colon + 2;
			snprintf(msg, msglen, "%s", line);
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128;
}

/*
 * The flags fusermount3 (fuse3 3.14) takes by name; relatime is the
 * kernel's default anyway.
 */
#define FUSERMOUNT_FLAGS	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | \
				 MS_DIRSYNC | MS_NOATIME)

static int mount_fusermount(struct furi_session *se, char *err, size_t errlen)
{
	const struct furi_config *cfg = &se->cfg;
	char opts[512] = "", said[1024], names[256];
	unsigned long flags;
	char *argv[] = { "fusermount3", "-o", opts, "--", se->mountpoint, NULL };
	int sv[2], r, fd;

	r = opt_add(opts, sizeof(opts), "fsname=%s", cfg->fsname ? cfg->fsname : "furi");
	if (!r && cfg->subtype)
		r = opt_add(opts, sizeof(opts), "subtype=%s", cfg->subtype);
	if (!r && cfg->allow_other)
		r = opt_add(opts, sizeof(opts), "allow_other");
	if (!r && cfg->default_permissions)
		r = opt_add(opts, sizeof(opts), "default_permissions");
	if (!r && cfg->max_read)
		r = opt_add(opts, sizeof(opts), "max_read=%u", cfg->max_read);
	/* fusermount3 knows some of mount(8)'s flag names; a user's mount is nosuid,nodev. */
	flags = (furi_config_mount_flags(cfg) | MS_NOSUID | MS_NODEV) & ~MS_RELATIME;
	if (flags & ~FUSERMOUNT_FLAGS) {
		furi_mount_flag_names(flags & ~FUSERMOUNT_FLAGS, names, sizeof(names));
		return furi_seterr(err, errlen, EINVAL,
				   "-o %s: fusermount3 cannot set it on a user's mount (fix: mount as root, or leave the option out)",
				   names);
	}
	if (!r)
		r = furi_mount_flag_names(flags, names, sizeof(names));
	if (!r)
		r = opt_add(opts, sizeof(opts), "%s", names);
	if (r)
		return furi_seterr(err, errlen, EINVAL, "mount options too long");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return furi_seterr(err, errlen, errno, "socketpair: %s", strerror(errno));
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	r = run_fusermount(argv, sv[1], said, sizeof(said));
	close(sv[1]);
	fd = r == 0 ? receive_fd(sv[0]) : -1;
	close(sv[0]);
	if (r == 127)
		return furi_seterr(err, errlen, EPERM,
				   "cannot mount as a user without fusermount3 (fix: apt install fuse3, or run as root)");
	if (r == 0 && fd < 0)
		return furi_seterr(err, errlen, EPROTO,
				   "fusermount3 mounted %s but passed no /dev/fuse descriptor (fix: umount %s; check that fusermount3 comes from fuse3)",
				   se->mountpoint, se->mountpoint);
	if (r != 0 && access("/dev/fuse", R_OK | W_OK) && errno == EACCES)
		/* fusermount3 opens the device as the calling user, not as root. */
		return furi_seterr(err, errlen, EACCES,
				   "fusermount3 could not mount %s: %s (fix: /dev/fuse must be mode 0666, as udev makes it: chmod 0666 /dev/fuse as root; or run as root)",
				   se->mountpoint, *said ? said : "cannot open /dev/fuse");
	if (r != 0)
		return furi_seterr(err, errlen, EPERM, "fusermount3 could not mount %s: %s",
				   se->mountpoint, *said ? said : "it failed without a message");
	se->fd = fd;
	se->mounted_by_fusermount = true;
	return 0;
}

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U	/* Linux 6.8 */
#endif

/*
 * The ID of the mount on path, one the kernel never gives another mount
 * (Linux 6.8+; before, the reusable one): 0 or -errno. Device numbers will
 * not do: a tmpfs mounted where a dead FUSE mount was takes its number at
 * once. It sends the FUSE server nothing, so it answers on a dead or hung
 * mount: the kernel takes the ID from the mount and asks for no attribute.
 */
static int mount_id(const char *path, uint64_t *id)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
		  STATX_MNT_ID_UNIQUE, &stx))
		return -errno;
	if (!(stx.stx_mask & (STATX_MNT_ID_UNIQUE | STATX_MNT_ID)))
		return -ENOSYS;
	*id = stx.stx_mnt_id;
	return 0;
}

/*
 * The watcher of -o auto_unmount: blocks on the pipe whose write end only
 * the server holds, so the read returns 0 however the server ends, SIGKILL
 * included; then detaches the mount if it is still the server's (same
 * mount ID: not one mounted there since), with umount2() as root and
 * fusermount3 -u -z otherwise. It keeps none of the server's descriptors:
 * its /dev/fuse fd would keep a dead connection alive, and the pipe `furi
 * mount` reads until EOF would never end.
 *
 * Not fusermount3's own -o auto_unmount: before libfuse 3.15 (Debian 12 has
 * 3.14) it checks for a dead mount by opening it as root, which the kernel
 * refuses on a mount without allow_other, so it never unmounts (libfuse
 * issue #586).
 */
static void __attribute__((noreturn)) watch_and_unmount(int fd, const char *mountpoint, uint64_t id,
							 bool by_fusermount)
{
	uint64_t now;
	sigset_t all;
	char byte;
	ssize_t n;
	int null;

	setsid();	/* no terminal's signals */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	prctl(PR_SET_NAME, "furi-unmount");
	if (fd <= STDERR_FILENO)
		fd = fcntl(fd, F_DUPFD, STDERR_FILENO + 1);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	if (fd > STDERR_FILENO + 1)
		close_range(STDERR_FILENO + 1, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0u, 0);
	if (chdir("/"))
		_exit(1);
	do
		n = read(fd, &byte, 1);
	while (n > 0 || (n < 0 && errno == EINTR));
	if (mount_id(mountpoint, &now) || now != id)
		_exit(0);
	if (by_fusermount)
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", mountpoint, (char *)NULL);
	else
		umount2(mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW);
	_exit(0);
}

static int start_unmount_watcher(struct furi_session *se, char *err, size_t errlen)
{
	uint64_t id;
	int pfd[2], r = mount_id(se->mountpoint, &id);
	pid_t pid;

	if (r)
		return furi_seterr(err, errlen, -r,
				   "-o auto_unmount: cannot tell the mount on %s apart from others: %s (fix: leave out auto_unmount)",
				   se->mountpoint, strerror(-r));

	if (pipe2(pfd, O_CLOEXEC))
		return furi_seterr(err, errlen, errno, "-o auto_unmount: pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(pfd[0]);
		close(pfd[1]);
		return furi_seterr(err, errlen, e, "-o auto_unmount: cannot start the watcher: %s",
				   strerror(e));
	}
	if (pid == 0) {
		close(pfd[1]);
		watch_and_unmount(pfd[0], se->mountpoint, id, se->mounted_by_fusermount);
	}
	close(pfd[0]);
	se->unmount_watcher_fd = pfd[1];
	se->unmount_watcher_pid = pid;
	return 0;
}

/* Our end closed, the watcher has nothing left to do: it exits, and we reap it. */
static void stop_unmount_watcher(struct furi_session *se)
{
	if (se->unmount_watcher_fd < 0)
		return;
	close(se->unmount_watcher_fd);
	se->unmount_watcher_fd = -1;
	while (waitpid(se->unmount_watcher_pid, NULL, 0) < 0 && errno == EINTR)
		;
	se->unmount_watcher_pid = 0;
}

int furi_mount(struct furi_session *se, const char *mountpoint, char *err, size_t errlen)
{
	struct furi_mountinfo mi;
	int r;

	r = check_opt_value("fsname", se->cfg.fsname, err, errlen);
	if (!r)
		r = check_opt_value("subtype", se->cfg.subtype, err, errlen);
	if (!r)
		r = check_mountpoint(se, mountpoint, err, errlen);
	if (r)
		return r;
	r = geteuid() == 0 ? mount_syscall(se, err, errlen) : mount_fusermount(se, err, errlen);
	if (r)
		return r;
	se->mounted = true;
	if (furi_mountinfo_find(se->mountpoint, &mi) == 0) {
		se->dev_major = mi.major;
		se->dev_minor = mi.minor;
	}
	if (se->cfg.auto_unmount) {
		r = start_unmount_watcher(se, err, errlen);
		if (r) {
			furi_unmount(se);
			close(se->fd);
			se->fd = -1;
		}
	}
	return r;
}

static void unmount_if_ours(struct furi_session *se)
{
	struct furi_mountinfo mi;

	if (!se->mounted)
		return;
	se->mounted = false;
	/* Never take down a mount that is not ours (say, one stacked on top later). */
	if (furi_mountinfo_find(se->mountpoint, &mi) ||
	    mi.major != se->dev_major || mi.minor != se->dev_minor)
		return;
	if (se->mounted_by_fusermount) {
		char *argv[] = { "fusermount3", "-u", "-z", "--", se->mountpoint, NULL };

		if (run_fusermount(argv, -1, NULL, 0))
			furi_warn("fusermount3 -u %s failed", se->mountpoint);
		return;
	}
	/* Lazily when busy: open files keep working and the session ends when they close. */
	if (umount2(se->mountpoint, UMOUNT_NOFOLLOW) && errno == EBUSY &&
	    umount2(se->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW))
		furi_warn("cannot unmount %s: %s", se->mountpoint, strerror(errno));
}

void furi_unmount(struct furi_session *se)
{
	unmount_if_ours(se);
	stop_unmount_watcher(se);
}
