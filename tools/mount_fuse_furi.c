/* SPDX-License-Identifier: MIT */
/*
 * mount.fuse.furi - the mount(8) helper of furi: mount(8) runs it for
 * `mount -t fuse.furi SOURCE MOUNTPOINT` and for fstab lines of type
 * fuse.furi, as
 *
 *	mount.fuse.furi SOURCE MOUNTPOINT [-sfnv] [-N NS] [-o OPTS] [-t TYPE]
 *
 * SOURCE names the filesystem (memfs, passthrough, ...) and may carry its
 * argument after a colon (passthrough:/srv/data), as /proc/mounts shows furi
 * mounts; or the arguments come as -o source=ARG, one per argument, in
 * order. The other options go to `furi mount` as -o options, except those
 * only mount(8) reads and the ones the kernel shows in /proc/mounts, which
 * are dropped (see `drop` below). The helper then execs
 *
 *	furi mount -o fsname=SOURCE FS [ARG...] MOUNTPOINT [-o OPTS]
 *
 * fsname=SOURCE makes /proc/mounts show the source exactly as mount(8) was
 * given it, which is what `mount -a` compares to tell an fstab line is
 * mounted already (a line it does not recognise would be mounted again,
 * fail, and leave an entry in /run/mount/utab).
 *
 * so furi's messages and exit status (0, 1 failure, 2 usage) are the
 * helper's. furi is looked up next to this program (a build directory),
 * then in the configured bindir, then in PATH.
 *
 * With -o remount the mount on MOUNTPOINT gets the generic options given
 * (ro, rw, nosuid, noatime, ...) with mount(2) here, as mount(8) itself
 * does for `mount -o remount`; furi's own options cannot change then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <furi/furi.h>

#ifndef FURI_BINDIR
#define FURI_BINDIR "/usr/local/bin"
#endif

#define MAX_ARGS 8

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000	/* the kernel's statfs flag; glibc 2.36 lacks it */
#endif

static void __attribute__((noreturn, format(printf, 2, 3))) die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mount.fuse.furi: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(status);
}

#define USAGE "expected: mount.fuse.furi FS[:ARG] MOUNTPOINT [-o source=ARG,OPTS] (see: furi help mount)"

/*
 * mount(8)'s options that only mount(8) reads, and the ones the kernel
 * records for a FUSE mount (a /proc/mounts line copied into fstab carries
 * them).
 */
static bool drop(const char *opt)
{
	static const char *const words[] = {
		"defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group",
		"_netdev", "nofail", NULL,
	};
	size_t i;

	if (!strncmp(opt, "x-", 2) || !strncmp(opt, "comment=", 8) || !*opt ||
	    !strncmp(opt, "user_id=", 8) || !strncmp(opt, "group_id=", 9) ||
	    !strncmp(opt, "rootmode=", 9))
		return true;
	for (i = 0; words[i]; i++)
		if (!strcmp(opt, words[i]))
			return true;
	return false;
}

/*
 * A remount replaces every per-mount flag: start from the mount's own
 * (statvfs), apply the options in order. Only mount(8)'s generic options
 * can change on a mounted furi filesystem. statvfs does not show lazytime,
 * which stays only when given again.
 */
static int remount(const char *mountpoint, char *opts)
{
	static const struct {
		unsigned long st, ms;
	} now[] = {
		{ ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { ST_NODEV, MS_NODEV },
		{ ST_NOEXEC, MS_NOEXEC }, { ST_SYNCHRONOUS, MS_SYNCHRONOUS },
		{ ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME },
		{ ST_RELATIME, MS_RELATIME }, { ST_NOSYMFOLLOW, MS_NOSYMFOLLOW },
	};
	unsigned long flags = 0;
	struct statvfs sv;
	char *opt, *save = NULL;
	size_t i;

	if (statvfs(mountpoint, &sv))
		die(1, "cannot remount %s: %s (fix: name a mounted furi filesystem)", mountpoint,
		    strerror(errno));
	for (i = 0; i < sizeof(now) / sizeof(now[0]); i++)
		if (sv.f_flag & now[i].st)
			flags |= now[i].ms;
	if (!(flags & (MS_NOATIME | MS_RELATIME)))
		flags |= MS_STRICTATIME;
	for (opt = strtok_r(opts, ",", &save); opt; opt = strtok_r(NULL, ",", &save))
		if (furi_mount_option(opt, &flags))
			die(1, "-o %s cannot change by remount, only mount(8)'s generic options can (fix: umount %s and mount it again with -o %s)",
			    opt, mountpoint, opt);
	if (mount(NULL, mountpoint, NULL, MS_REMOUNT | flags, NULL))
		die(1, "remount of %s failed: %s%s", mountpoint, strerror(errno),
		    errno == EPERM ? " (fix: run as root)" : "");
	return 0;
}

/* The furi binary: beside this program, then FURI_BINDIR, then PATH. */
static const char *furi_path(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash && (size_t)(slash - self) + 6 < sizeof(path)) {
			snprintf(path, sizeof(path), "%.*s/furi", (int)(slash - self), self);
			if (!access(path, X_OK))
				return path;
		}
	}
	snprintf(path, sizeof(path), "%s/furi", FURI_BINDIR);
	if (!access(path, X_OK))
		return path;
	return "furi";
}

int main(int argc, char **argv)
{
	static char opts[4096];
	char *pos[2] = { NULL, NULL }, *args[MAX_ARGS], *list, *opt, *save = NULL;
	char *xargv[MAX_ARGS + 10], fsname[1100], *colon;
	size_t used = 0;
	int npos = 0, nargs = 0, i, x = 0;
	bool fake = false, is_remount = false;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || !a[1]) {
			if (npos == 2)
				die(2, "too many arguments: '%s'; " USAGE, a);
			pos[npos++] = argv[i];
			continue;
		}
		if (!strcmp(a, "-o") || !strcmp(a, "-t") || !strcmp(a, "-N")) {
			if (i + 1 == argc)
				die(2, "option '%s' needs a value; " USAGE, a);
			i++;
			if (a[1] == 'N')
				die(1, "-N %s: mounting in another namespace is not supported (fix: run mount in that namespace, e.g. with nsenter)",
				    argv[i]);
			if (a[1] == 't')
				continue;	/* fuse.furi: this helper's own type */
			list = argv[i];
			for (opt = strtok_r(list, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
				int n;

				if (!strncmp(opt, "source=", 7)) {
					if (!opt[7])
						die(2, "-o source= needs a value; " USAGE);
					if (nargs == MAX_ARGS)
						die(2, "too many -o source= options");
					args[nargs++] = opt + 7;
					continue;
				}
				if (drop(opt))
					continue;
				if (!strcmp(opt, "remount")) {
					is_remount = true;
					continue;
				}
				n = snprintf(opts + used, sizeof(opts) - used, "%s%s", used ? "," : "", opt);
				if (n < 0 || (size_t)n >= sizeof(opts) - used)
					die(2, "mount options too long");
				used += (size_t)n;
			}
			continue;
		}
		/* Flags mount(8) may pass: -s sloppy, -f fake, -n no mtab, -v verbose. */
		for (a++; *a; a++) {
			switch (*a) {
			case 's': case 'n': case 'v':
				break;
			case 'f':
				fake = true;
				break;
			case 'h':
				printf("Usage: mount.fuse.furi FS[:ARG] MOUNTPOINT [-o source=ARG,OPTS]\n"
				       "mount(8) helper: runs furi mount FS [ARG...] MOUNTPOINT -o OPTS.\n"
				       "See furi help mount.\n");
				return 0;
			default:
				die(2, "unknown option '-%c'; " USAGE, *a);
			}
		}
	}
	if (npos < 2)
		die(2, "%s; " USAGE, npos ? "no mountpoint given" : "no filesystem given");
	if (fake)
		return 0;
	if (is_remount)
		return remount(pos[1], opts);

	xargv[x++] = "furi";
	xargv[x++] = "mount";
	/* The source as mount(8) gave it, before the split below; first, so OPTS' fsname= wins. */
	if (!strpbrk(pos[0], ",\\ \t\n") &&
	    (size_t)snprintf(fsname, sizeof(fsname), "fsname=%s", pos[0]) < sizeof(fsname)) {
		xargv[x++] = "-o";
		xargv[x++] = fsname;
	}
	colon = strchr(pos[0], ':');
	if (colon) {
		*colon = '\0';
		if (nargs == MAX_ARGS)
			die(2, "too many -o source= options");
		memmove(args + 1, args, (size_t)nargs * sizeof(args[0]));
		args[0] = colon + 1;
		nargs++;
	}
	xargv[x++] = pos[0];
	for (i = 0; i < nargs; i++)
		xargv[x++] = args[i];
	xargv[x++] = pos[1];
	if (used) {
		xargv[x++] = "-o";
		xargv[x++] = opts;
	}
	xargv[x] = NULL;
	{
		const char *furi = furi_path();

		execvp(furi, xargv);
		die(1, "cannot run %s: %s (fix: install furi, or put it in PATH)", furi,
		    strerror(errno));
	}
}
