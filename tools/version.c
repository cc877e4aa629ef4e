/* SPDX-License-Identifier: MIT */
/*
 * version.c - `furi --version` (-V): furi's version, the FUSE protocol furi
 * speaks and the one this kernel speaks, and liburing's version.
 *
 * The kernel says its protocol only in the INIT request of a new mount, so
 * as root furi makes one where nobody sees it: a child in a mount namespace
 * of its own mounts a FUSE filesystem on /tmp there, reads INIT and exits.
 * Closing /dev/fuse aborts the connection, and the namespace takes the mount
 * with it; nothing outside the child ever sees either.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <furi/furi.h>

#include "furi_cmd.h"
#include "kernel_abi.h"

/* In the child: mount, read INIT, write "MAJOR.MINOR" to out. */
static int probe_child(int out)
{
	char buf[FUSE_MIN_READ_BUFFER + 4096], opts[96];
	struct fuse_in_header ih;
	struct fuse_init_in in;
	struct pollfd pfd;
	int fd;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return 1;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 1;
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("furi-version", "/tmp", "fuse.furi-version", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  opts))
		return 1;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1 || read(fd, buf, sizeof(buf)) < (ssize_t)(sizeof(ih) + 8))
		return 1;
	memcpy(&ih, buf, sizeof(ih));
	memcpy(&in, buf + sizeof(ih), 8);	/* major, minor: in every INIT since 7.0 */
	if (ih.opcode != FUSE_INIT)
		return 1;
	dprintf(out, "%u.%u", in.major, in.minor);
	return 0;
}

/* The kernel's protocol ("7.45") into buf, or why it is not known. */
static void kernel_protocol(char *buf, size_t len)
{
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	snprintf(buf, len, "not known without root (furi mount -d shows it at INIT)");
	if (geteuid() != 0 || pipe2(pfd, O_CLOEXEC))
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		_exit(probe_child(pfd[1]));
	}
	close(pfd[1]);
	n = pid > 0 ? read(pfd[0], buf, len - 1) : -1;
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (n > 0)
		buf[n] = '\0';
	else
		snprintf(buf, len, "not known (no FUSE mount could be made to ask it: %s)",
			 access("/dev/fuse", R_OK | W_OK) ? "/dev/fuse is missing" :
			 "mount refused");
}

/* "enabled", "off (...)" or "not built": what the kernel lets FUSE do over io_uring. */
static const char *kernel_uring_state(void)
{
	FILE *f = fopen("/sys/module/fuse/parameters/enable_uring", "re");
	int c;

	if (!f)
		return "not in this kernel (no enable_uring parameter)";
	c = fgetc(f);
	fclose(f);
	return c == 'Y' || c == '1' ? "enabled" : "off (/sys/module/fuse/parameters/enable_uring is N)";
}

int furi_cmd_version(void)
{
	char kernel[128];

	kernel_protocol(kernel, sizeof(kernel));
	printf("furi %s\n", FURI_VERSION_STRING);
	printf("FUSE protocol: furi speaks 7.%u to %u.%u (io_uring from 7.%u); this kernel: %s\n",
	       FURI_MIN_MINOR_VERSION, FUSE_KERNEL_VERSION, FUSE_KERNEL_MINOR_VERSION,
	       FURI_URING_MIN_MINOR, kernel);
	printf("FUSE-over-io_uring in this kernel: %s\n", kernel_uring_state());
#ifdef IO_URING_VERSION_MAJOR
	printf("liburing %d.%d (built with %d.%d)\n", io_uring_major_version(),
	       io_uring_minor_version(), IO_URING_VERSION_MAJOR, IO_URING_VERSION_MINOR);
#else
	printf("liburing %s\n", FURI_LIBURING_VERSION);
#endif
	return 0;
}
