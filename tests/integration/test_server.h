/* SPDX-License-Identifier: MIT */
/*
 * test_server.h - the main() of a test filesystem (asyncfs, notifyfs):
 *
 *   NAME MOUNTPOINT [furi -o options...]
 *
 * mounts ops (with fs as its pointer), serves until unmounted and returns
 * the exit status. *sep is set before the mount, so that handlers and
 * ops->init may use the session.
 */
#ifndef FURI_TEST_SERVER_H
#define FURI_TEST_SERVER_H

#include <furi/furi.h>

int test_server_main(const char *name, const struct furi_ops *ops, void *fs,
		     struct furi_session **sep, int argc, char **argv);

#endif /* FURI_TEST_SERVER_H */
