/* SPDX-License-Identifier: MIT */
/*
 * status.c - the status file of a running session (see status.h), and the
 * mountinfo and path helpers the server and `furi status` share. None of
 * these touch the FUSE mount itself, so they work on a dead or hung mount.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

int furi_status_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(buf, len, "/run/furi");
	else if (xdg && *xdg == '/')
		n = snprintf(buf, len, "%s/furi", xdg);
	else
		n = snprintf(buf, len, "/tmp/furi-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int furi_status_path(char *buf, size_t len, unsigned major, unsigned minor)
{
	char dir[200];
	int n;

	if (furi_status_dir(dir, sizeof(dir)))
		return -ENAMETOOLONG;
	n = snprintf(buf, len, "%s/%u-%u.status", dir, major, minor);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int furi_path_absolute(const char *path, char *buf, size_t len)
{
	char tmp[PATH_MAX * 2];
	char *parts[PATH_MAX / 2];
	size_t nparts = 0, used = 0, i;
	char *save = NULL, *tok;

	if (!path || !*path)
		return -EINVAL;
	if (path[0] == '/') {
		if (strlen(path) >= sizeof(tmp))
			return -ENAMETOOLONG;
		strcpy(tmp, path);
	} else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path) >= sizeof(tmp))
			return -ENAMETOOLONG;
	}
	for (tok = strtok_r(tmp, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			if (nparts)
				nparts--;
			continue;
		}
		if (nparts == FURI_ARRAY_SIZE(parts))
			return -ENAMETOOLONG;
		parts[nparts++] = tok;
	}
	if (nparts == 0) {
		if (len < 2)
			return -ENAMETOOLONG;
		strcpy(buf, "/");
		return 0;
	}
	for (i = 0; i < nparts; i++) {
		size_t n = strlen(parts[i]);

		if (used + n + 2 > len)
			return -ENAMETOOLONG;
		buf[used++] = '/';
		memcpy(buf + used, parts[i], n);
		used += n;
	}
	buf[used] = '\0';
	return 0;
}

/*
 * Resolve the symlinks of an absolute, lexically clean path the way the
 * kernel did at mount time, since /proc/self/mountinfo shows the result.
 * Only the parent is handed to realpath(): stat() of the mountpoint itself
 * would send GETATTR to the server, and status must answer when it hangs.
 * readlink() of the last component sends nothing (a FUSE root is never a
 * symlink). An unresolvable path stays as it is.
 */
int furi_path_resolve(char *path, size_t len)
{
	char dir[PATH_MAX], target[PATH_MAX], joined[PATH_MAX * 2 + 2];
	int hops;

	for (hops = 0; hops < 40; hops++) {
		char *slash = strrchr(path, '/'), *real;
		ssize_t n;

		if (!slash || !slash[1])
			return 0;	/* "/" */
		if (slash == path)
			snprintf(dir, sizeof(dir), "/");
		else
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		real = realpath(dir, NULL);
		if (!real)
			return 0;
		snprintf(joined, sizeof(joined), "%s/%s", strcmp(real, "/") ? real : "", slash + 1);
		free(real);
		n = readlink(joined, target, sizeof(target) - 1);
		if (n < 0) {
			if (strlen(joined) >= len)
				return -ENAMETOOLONG;
			strcpy(path, joined);
			return 0;
		}
		target[n] = '\0';
		if (target[0] != '/') {
			/* Relative to the symlink's (resolved) directory. */
			char *cut = strrchr(joined, '/');

			snprintf(cut + 1, sizeof(joined) - (size_t)(cut + 1 - joined), "%s", target);
		} else {
			snprintf(joined, sizeof(joined), "%s", target);
		}
		if (furi_path_absolute(joined, path, len))
			return -ENAMETOOLONG;
	}
	return -ELOOP;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

int furi_mountinfo_parse_line(char *line, const char *path, struct furi_mountinfo *mi)
{
	/* id parent major:minor root mountpoint opts [optional...] - fstype source superopts */
	char *save = NULL, *fields[6], *sep, *tail;
	unsigned maj, min;
	int i;

	fields[0] = strtok_r(line, " ", &save);
	for (i = 1; i < 6 && fields[i - 1]; i++)
		fields[i] = strtok_r(NULL, " ", &save);
	if (i < 6 || !fields[4] || sscanf(fields[2], "%u:%u", &maj, &min) != 2)
		return -ENOENT;
	unescape(fields[4]);
	if (path && strcmp(fields[4], path))
		return -ENOENT;
	tail = save ? save : "";
	sep = strstr(tail, " - ");
	if (!sep && !strncmp(tail, "- ", 2))
		sep = tail - 1;
	mi->major = maj;
	mi->minor = min;
	mi->fstype[0] = mi->source[0] = '\0';
	mi->user_id = -1;
	snprintf(mi->mountpoint, sizeof(mi->mountpoint), "%s", fields[4]);
	if (sep) {
		char *fs_save = NULL, *fstype, *source, *opts, *uid;

		fstype = strtok_r(sep + 3, " ", &fs_save);
		source = fstype ? strtok_r(NULL, " ", &fs_save) : NULL;
		opts = source ? strtok_r(NULL, " \n", &fs_save) : NULL;
		if (fstype)
			snprintf(mi->fstype, sizeof(mi->fstype), "%s", fstype);
		if (source) {
			unescape(source);
			snprintf(mi->source, sizeof(mi->source), "%s", source);
		}
		uid = opts ? strstr(opts, "user_id=") : NULL;
		if (uid && (uid == opts || uid[-1] == ','))
			mi->user_id = strtol(uid + 8, NULL, 10);
	}
	return 0;
}

int furi_mountinfo_find(const char *path, struct furi_mountinfo *mi)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0)
		if (furi_mountinfo_parse_line(line, path, mi) == 0)
			found = 0;
	free(line);
	fclose(f);
	return found;
}

int furi_proc_status_field(const char *path, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	char line[512];
	int r = -ENOENT;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		snprintf(buf, len, "%s", line + klen + 1 + strspn(line + klen + 1, " \t"));
		buf[strcspn(buf, "\n")] = '\0';
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

int furi_thread_io_priority(pid_t tid, bool *derived)
{
	int prio = (int)syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
	int policy, nice;

	if (prio < 0)
		return -errno;
	*derived = IOPRIO_PRIO_CLASS(prio) == IOPRIO_CLASS_NONE;
	if (!*derived)
		return prio;
	/* The kernel's rule for a thread without one: class from policy, level from nice. */
	policy = sched_getscheduler(tid);
	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)tid);
	if (policy < 0 || (nice == -1 && errno))
		return -errno;
	if (policy == SCHED_IDLE)
		return IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0);
	return IOPRIO_PRIO_VALUE(policy == SCHED_FIFO || policy == SCHED_RR ? IOPRIO_CLASS_RT
									 : IOPRIO_CLASS_BE,
				 (nice + 20) / 5);
}

uint64_t furi_process_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	char state;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: parse after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
			 &state, &start) != 2)
		return 0;
	return state == 'Z' || state == 'X' ? 0 : start;
}

static bool mount_with_dev_exists(unsigned major, unsigned minor)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return true;	/* cannot tell: keep the file */
	while (!found && getline(&line, &cap, f) > 0) {
		unsigned maj, min;

		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) == 2 && maj == major && min == minor)
			found = true;
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * Remove status files of servers that died without cleaning up (SIGKILL)
 * once their mount is gone too; a dead but still mounted server keeps its
 * file, which is how `furi status` explains the dead mount.
 */
static void sweep_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		unsigned major, minor;
		char path[512], tail[16];
		struct furi_status head;
		int fd;

		if (sscanf(de->d_name, "%u-%u.%15s", &major, &minor, tail) != 3 ||
		    strcmp(tail, "status"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (pread(fd, &head, offsetof(struct furi_status, start_time), 0) ==
			    (ssize_t)offsetof(struct furi_status, start_time) &&
		    head.magic == FURI_STATUS_MAGIC && furi_process_start_time(head.pid) == 0 &&
		    !mount_with_dev_exists(major, minor))
			unlink(path);
		close(fd);
	}
	closedir(d);
}

/*
 * A new file each time, renamed into place: a server still exiting from an
 * earlier mount with the same device number keeps its own inode, so it can
 * neither write into our counters nor delete our file (see remove below).
 */
/*
 * A status directory someone else made (say a /tmp/furi-UID created ahead of
 * us by another user) would let them replace our files: refuse it.
 */
static int check_status_dir(const char *dir, char *err, size_t errlen)
{
	struct stat sb;

	if (lstat(dir, &sb))
		return furi_seterr(err, errlen, errno, "cannot use %s: %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022))
		return furi_seterr(err, errlen, EPERM,
				   "status directory %s is not a directory of yours writable only by you (fix: remove it, or set XDG_RUNTIME_DIR)",
				   dir);
	return 0;
}

int furi_status_create(struct furi_session *se, unsigned nchan, char *err, size_t errlen)
{
	char dir[200], tmp[300];
	int r;
	size_t size = sizeof(struct furi_status) + (size_t)nchan * sizeof(struct furi_chan_stats);
	struct furi_status *st;
	struct stat sb;
	int fd, e;

	size = (size + FURI_PAGE_SIZE - 1) & ~(size_t)(FURI_PAGE_SIZE - 1);
	if (furi_status_dir(dir, sizeof(dir)) ||
	    furi_status_path(se->status_path, sizeof(se->status_path), se->dev_major, se->dev_minor) ||
	    snprintf(tmp, sizeof(tmp), "%s.%d", se->status_path, (int)getpid()) >= (int)sizeof(tmp))
		return furi_seterr(err, errlen, ENAMETOOLONG, "status directory name too long");
	if (mkdir(dir, geteuid() == 0 ? 0755 : 0700) && errno != EEXIST)
		return furi_seterr(err, errlen, errno, "cannot create %s: %s", dir, strerror(errno));
	r = check_status_dir(dir, err, errlen);
	if (r)
		return r;
	sweep_stale(dir);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return furi_seterr(err, errlen, errno, "cannot create %s: %s", tmp, strerror(errno));
	if (ftruncate(fd, (off_t)size) || fstat(fd, &sb)) {
		e = errno;
		goto fail;
	}
	st = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (st == MAP_FAILED) {
		e = errno;
		goto fail;
	}
	st->magic = FURI_STATUS_MAGIC;
	st->version = FURI_STATUS_VERSION;
	st->size = (uint32_t)size;
	st->pid = getpid();
	st->start_time = furi_process_start_time(st->pid);
	st->state = FURI_STATE_STARTING;
	st->dev_major = se->dev_major;
	st->dev_minor = se->dev_minor;
	st->nchan = 0;
	snprintf(st->mountpoint, sizeof(st->mountpoint), "%s", se->mountpoint);
	snprintf(st->fs, sizeof(st->fs), "%s", se->cfg.status_name ? se->cfg.status_name : "furi");
	snprintf(st->source, sizeof(st->source), "%s",
		 se->cfg.status_source ? se->cfg.status_source : "");
	st->unmount_watcher = se->unmount_watcher_pid;
	st->pin = se->cfg.pin;
	if (rename(tmp, se->status_path)) {
		e = errno;
		munmap(st, size);
		goto fail;
	}
	close(fd);
	se->status = st;
	se->status_size = size;
	se->status_ino = sb.st_ino;
	se->nchan_used = 0;
	(void)nchan;
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return furi_seterr(err, errlen, e, "cannot create status file %s: %s", se->status_path,
			   strerror(e));
}

struct furi_chan_stats *furi_status_chan(struct furi_session *se, const char *name,
					 enum furi_chan_kind kind, int cpu)
{
	struct furi_status *st = se->status;
	size_t cap = (se->status_size - sizeof(*st)) / sizeof(struct furi_chan_stats);
	struct furi_chan_stats *cs;

	if (se->nchan_used >= cap)
		return NULL;
	cs = &st->chan[se->nchan_used++];
	memset(cs, 0, sizeof(*cs));
	snprintf(cs->name, sizeof(cs->name), "%s", name);
	cs->kind = kind;
	cs->cpu = cpu;
	atomic_store_explicit((_Atomic uint32_t *)&st->nchan, se->nchan_used, memory_order_release);
	return cs;
}

void furi_status_publish(struct furi_session *se, enum furi_status_state state)
{
	struct furi_status *st = se->status;

	if (!st)
		return;
	st->proto_major = se->conn.proto_major;
	st->proto_minor = se->conn.proto_minor;
	st->uring = se->uring_active;
	st->max_write = se->conn.max_write;
	st->max_pages = se->max_pages;
	st->max_background = se->conn.max_background;
	st->congestion_threshold = se->conn.congestion_threshold;
	st->want = se->want;
	snprintf(st->transport_line, sizeof(st->transport_line), "%s", se->transport_line);
	snprintf(st->fallback_reason, sizeof(st->fallback_reason), "%s", se->fallback_reason);
	atomic_store_explicit((_Atomic uint32_t *)&st->state, state, memory_order_release);
}

void furi_status_remove(struct furi_session *se)
{
	struct stat sb;

	if (!se->status)
		return;
	munmap(se->status, se->status_size);
	se->status = NULL;
	/* A newer server of the same device may own the name by now. */
	if (stat(se->status_path, &sb) == 0 && sb.st_ino == se->status_ino)
		unlink(se->status_path);
}
