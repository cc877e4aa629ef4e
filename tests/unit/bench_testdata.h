/* SPDX-License-Identifier: MIT */
/*
 * bench_testdata.h - find and read the recorded files of tests/unit/data/
 * (real fio and furi outputs recorded on the development machine).
 */
#ifndef FURI_BENCH_TESTDATA_H
#define FURI_BENCH_TESTDATA_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The data directory: the test's first argument, else $FURI_TEST_DATA, else
 * next to this source file as the
 * compiler named it (meson compiles with paths relative to the build
 * directory, where meson test runs), else a few usual places.
 */
static const char *testdata_arg;

/* The data directory named on the command line (meson passes it). */
static inline void testdata_set_dir(int argc, char **argv)
{
	if (argc > 1)
		testdata_arg = argv[1];
}

static inline const char *testdata_dir(void)
{
	static char dir[4096];
	const char *env = getenv("FURI_TEST_DATA");
	const char *cands[] = { "tests/unit/data", "../tests/unit/data", "../../tests/unit/data",
				"data", NULL };
	char probe[4200];
	const char *slash;
	int i;

	if (testdata_arg)
		return testdata_arg;
	if (env)
		return env;
	slash = strrchr(__FILE__, '/');
	if (slash) {
		snprintf(dir, sizeof(dir), "%.*s/data", (int)(slash - __FILE__), __FILE__);
		snprintf(probe, sizeof(probe), "%s/status-uring.json", dir);
		if (!access(probe, R_OK))
			return dir;
	}
	for (i = 0; cands[i]; i++) {
		snprintf(probe, sizeof(probe), "%s/status-uring.json", cands[i]);
		if (!access(probe, R_OK))
			return cands[i];
	}
	return "tests/unit/data";
}

/* A whole file by path, NUL-terminated; exits the test on failure. */
static inline char *testdata_read_path(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;
	char *buf;

	if (!f) {
		fprintf(stderr, "cannot open %s (for test data, set FURI_TEST_DATA)\n", path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static inline char *testdata_read_abs(const char *path)
{
	return testdata_read_path(path, NULL);
}

/* A recorded file of tests/unit/data/ by name. */
static inline char *testdata_read(const char *name, size_t *len)
{
	char path[4300];

	snprintf(path, sizeof(path), "%s/%s", testdata_dir(), name);
	return testdata_read_path(path, len);
}

#endif /* FURI_BENCH_TESTDATA_H */
