/* SPDX-License-Identifier: MIT */
/* test_server.c - see test_server.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "test_server.h"

int test_server_main(const char *name, const struct furi_ops *ops, void *fs,
		     struct furi_session **sep, int argc, char **argv)
{
	struct furi_config cfg;
	struct furi_session *se;
	char err[512];

	if (argc < 2) {
		fprintf(stderr, "usage: %s MOUNTPOINT [OPTION...]\n", name);
		return 2;
	}
	furi_config_init(&cfg);
	cfg.fsname = name;
	cfg.status_name = name;
	for (int i = 2; i < argc; i++) {
		if (furi_config_set(&cfg, argv[i], err, sizeof(err))) {
			fprintf(stderr, "%s: bad option %s: %s\n", name, argv[i], err);
			return 2;
		}
	}
	se = furi_session_new(&cfg, ops, fs, err, sizeof(err));
	if (sep)
		*sep = se;
	if (!se || furi_session_mount(se, argv[1], err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", name, err);
		furi_session_destroy(se);
		return 1;
	}
	fprintf(stderr, "%s: %s\n", name, furi_session_transport_line(se));
	furi_session_wait(se);
	furi_session_destroy(se);
	return 0;
}
