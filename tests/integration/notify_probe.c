/* SPDX-License-Identifier: MIT */
/*
 * notify_probe - the client side of t_notify.sh, one system call each.
 *
 *   notify_probe ctl FILE TEXT    write TEXT in one write(2): "ok" or the errno name
 *   notify_probe poll FILE        poll(2) for POLLIN: "ready", or "timeout" after 20 s
 *   notify_probe epoll FILE       the same with epoll_wait(2)
 *   notify_probe ioctl FILE       notifyfs's doubling ioctl on 21: "RESULT VALUE",
 *                                 then an ioctl it does not know: the errno name
 *   notify_probe btime FILE       statx(2) STATX_BTIME: "SEC.NSEC", or "none"
 *   notify_probe xflags FILE      FS_IOC_FSGETXATTR: fsx_xflags in hex, or the errno name
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOTIFYFS_IOC_DOUBLE	_IOWR('N', 1, uint64_t)
#define NOTIFYFS_IOC_UNKNOWN	_IOR('N', 2, uint64_t)
#define WAIT_MS			20000

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		printf("open %s: %s\n", path, strerror(errno));
		_exit(1);
	}
	return fd;
}

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "?";
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 2 ? argv[1] : "";
	int fd;

	if (!strcmp(cmd, "ctl") && argc == 4) {
		fd = open_or_die(argv[2], O_WRONLY);
		if (write(fd, argv[3], strlen(argv[3])) < 0)
			printf("%s\n", errname(errno));
		else
			printf("ok\n");
		return 0;
	}
	if (!strcmp(cmd, "poll") && argc == 3) {
		struct pollfd p = { .fd = open_or_die(argv[2], O_RDONLY), .events = POLLIN };
		int n = poll(&p, 1, WAIT_MS);

		printf("%s\n", n == 1 && (p.revents & POLLIN) ? "ready" : n == 0 ? "timeout" : "error");
		return 0;
	}
	if (!strcmp(cmd, "epoll") && argc == 3) {
		struct epoll_event ev = { .events = EPOLLIN };
		int ep = epoll_create1(0), n;

		fd = open_or_die(argv[2], O_RDONLY);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
			printf("epoll: %s\n", strerror(errno));
			return 1;
		}
		n = epoll_wait(ep, &ev, 1, WAIT_MS);
		printf("%s\n", n == 1 && (ev.events & EPOLLIN) ? "ready" : n == 0 ? "timeout" : "error");
		return 0;
	}
	if (!strcmp(cmd, "ioctl") && argc == 3) {
		uint64_t v = 21;
		int r;

		fd = open_or_die(argv[2], O_RDONLY);
		r = ioctl(fd, NOTIFYFS_IOC_DOUBLE, &v);
		if (r < 0)
			printf("%s\n", errname(errno));
		else
			printf("%d %llu\n", r, (unsigned long long)v);
		printf("%s\n", ioctl(fd, NOTIFYFS_IOC_UNKNOWN, &v) < 0 ? errname(errno) : "accepted");
		return 0;
	}
	if (!strcmp(cmd, "btime") && argc == 3) {
		struct statx stx;

		if (statx(AT_FDCWD, argv[2], 0, STATX_BTIME, &stx)) {
			printf("%s\n", errname(errno));
			return 1;
		}
		if (stx.stx_mask & STATX_BTIME)
			printf("%lld.%09u\n", (long long)stx.stx_btime.tv_sec, stx.stx_btime.tv_nsec);
		else
			printf("none\n");
		return 0;
	}
	if (!strcmp(cmd, "xflags") && argc == 3) {
		struct fsxattr fsx;

		fd = open_or_die(argv[2], O_RDONLY);
		if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0)
			printf("%s\n", errname(errno));
		else
			printf("0x%x\n", fsx.fsx_xflags);
		return 0;
	}
	fprintf(stderr, "usage: notify_probe ctl FILE TEXT | poll FILE | epoll FILE | ioctl FILE | btime FILE | xflags FILE\n");
	return 2;
}
