/* SPDX-License-Identifier: MIT */
/* load.c - busy processes beside a sample; see load.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "load.h"

/* The child: never returns. Dies with the runner, whatever ends it. */
static void busy(pid_t parent, pid_t pgid, int nice_level)
{
	volatile unsigned long spin = 0;
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);	/* the runner is gone already */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Out of the terminal's group: a Ctrl-C reaches the runner, which kills us. */
	setpgid(0, pgid);
	prctl(PR_SET_NAME, BENCH_LOAD_COMM);
	if (setpriority(PRIO_PROCESS, 0, nice_level))
		_exit(1);
	for (;;)
		spin++;
}

int bench_load_start(enum bench_load l, int nprocs, struct bench_load_procs *lp)
{
	pid_t parent = getpid();
	int i;

	memset(lp, 0, sizeof(*lp));
	if (l == BENCH_LOAD_IDLE)
		return 0;
	if (nprocs < 1 || nprocs > BENCH_LOAD_MAX_PROCS)
		return -EINVAL;
	fflush(NULL);
	for (i = 0; i < nprocs; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			int e = errno;

			bench_load_stop(lp);
			return -e;
		}
		if (pid == 0)
			busy(parent, lp->pgid, bench_load_nice(l));
		/* Also here, so the group exists before we signal it. */
		setpgid(pid, lp->pgid ? lp->pgid : pid);
		if (!lp->pgid)
			lp->pgid = pid;
		lp->pid[lp->n++] = pid;
	}
	return 0;
}

void bench_load_stop(struct bench_load_procs *lp)
{
	int i;

	if (!lp->n)
		return;
	kill(-lp->pgid, SIGKILL);
	for (i = 0; i < lp->n; i++) {
		/* One by one as well: a child that had not joined the group yet. */
		kill(lp->pid[i], SIGKILL);
		while (waitpid(lp->pid[i], NULL, 0) < 0 && errno == EINTR)
			;
	}
	lp->n = 0;
	lp->pgid = 0;
}
