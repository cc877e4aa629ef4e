/* SPDX-License-Identifier: MIT */
/*
 * replay.c - a main() for fuzz targets, so their corpus runs as an ordinary
 * test with any compiler (gcc, or a sanitizer build) and no libFuzzer:
 *
 *	test_fuzz_replay FILE|DIR...
 *
 * Each file (and each regular file in each directory, in name order) is fed
 * once to LLVMFuzzerTestOneInput() from a heap buffer of exactly its size.
 * A target that finds a broken invariant aborts; finding no input at all is
 * a failure too, since it means the corpus path is wrong.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long replayed;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	struct stat st;
	uint8_t *buf;
	size_t n;

	if (!f || fstat(fileno(f), &st)) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	n = (size_t)st.st_size;
	buf = malloc(n ? n : 1);
	if (!buf || fread(buf, 1, n, f) != n) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	replayed++;
	return 0;
}

static int only_files(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int run_path(const char *path)
{
	struct stat st;
	struct dirent **list;
	int n, i, r = 0;

	if (stat(path, &st)) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	n = scandir(path, &list, only_files, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		char child[4096];

		snprintf(child, sizeof(child), "%s/%s", path, list[i]->d_name);
		if (!stat(child, &st) && S_ISREG(st.st_mode) && run_file(child))
			r = -1;
		free(list[i]);
	}
	free(list);
	return r;
}

int main(int argc, char **argv)
{
	int i, r = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (run_path(argv[i]))
			r = 1;
	printf("replayed %lu inputs\n", replayed);
	return r || replayed == 0;
}
