/* SPDX-License-Identifier: MIT */
/*
 * check.h - tiny assertion helpers shared by the unit tests. A failed check
 * prints file:line, the expression and both values, and the test goes on so
 * one run shows every difference; check_exit() turns any failure into a
 * non-zero exit status.
 */
#ifndef FURI_TEST_CHECK_H
#define FURI_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static unsigned long check_count;

#define CHECK(cond)                                                             \
	do {                                                                    \
		check_count++;                                                  \
		if (!(cond)) {                                                  \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,   \
				__LINE__, #cond);                               \
			check_failures++;                                       \
		}                                                               \
	} while (0)

/* Integers of any width and signedness: compared and printed as 64-bit. */
#define CHECK_EQ(got, want)                                                     \
	do {                                                                    \
		long long g_ = (long long)(got), w_ = (long long)(want);        \
		check_count++;                                                  \
		if (g_ != w_) {                                                 \
			fprintf(stderr, "%s:%d: %s is %lld (%#llx), expected %s = %lld (%#llx)\n", \
				__FILE__, __LINE__, #got, g_, (unsigned long long)g_, #want, w_, \
				(unsigned long long)w_);                        \
			check_failures++;                                       \
		}                                                               \
	} while (0)

#define CHECK_EQ_U64(got, want)                                                 \
	do {                                                                    \
		unsigned long long g_ = (unsigned long long)(got);              \
		unsigned long long w_ = (unsigned long long)(want);             \
		check_count++;                                                  \
		if (g_ != w_) {                                                 \
			fprintf(stderr, "%s:%d: %s is %llu (%#llx), expected %s = %llu (%#llx)\n", \
				__FILE__, __LINE__, #got, g_, g_, #want, w_, w_); \
			check_failures++;                                       \
		}                                                               \
	} while (0)

#define CHECK_STR(got, want)                                                    \
	do {                                                                    \
		const char *g_ = (got), *w_ = (want);                           \
		check_count++;                                                  \
		if (!g_ || !w_ || strcmp(g_, w_)) {                             \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n",  \
				__FILE__, __LINE__, #got, g_ ? g_ : "(null)",    \
				w_ ? w_ : "(null)");                             \
			check_failures++;                                       \
		}                                                               \
	} while (0)

/* got contains the substring want. */
#define CHECK_CONTAINS(got, want)                                               \
	do {                                                                    \
		const char *g_ = (got), *w_ = (want);                           \
		check_count++;                                                  \
		if (!g_ || !w_ || !strstr(g_, w_)) {                            \
			fprintf(stderr, "%s:%d: %s is \"%s\", which lacks \"%s\"\n", \
				__FILE__, __LINE__, #got, g_ ? g_ : "(null)",    \
				w_ ? w_ : "(null)");                             \
			check_failures++;                                       \
		}                                                               \
	} while (0)

#define CHECK_MEM(got, want, n)                                                 \
	do {                                                                    \
		const unsigned char *g_ = (const void *)(got);                  \
		const unsigned char *w_ = (const void *)(want);                 \
		size_t n_ = (n), i_;                                            \
		check_count++;                                                  \
		for (i_ = 0; i_ < n_ && g_[i_] == w_[i_]; i_++)                 \
			;                                                       \
		if (i_ < n_) {                                                  \
			fprintf(stderr, "%s:%d: %s differs from %s at byte %zu: %#x, expected %#x\n", \
				__FILE__, __LINE__, #got, #want, i_, g_[i_], w_[i_]); \
			check_failures++;                                       \
		}                                                               \
	} while (0)

/* Print the tally and return the exit status for main(). */
static inline int check_exit(const char *name)
{
	if (check_failures)
		fprintf(stderr, "%s: %d of %lu checks failed\n", name, check_failures, check_count);
	else
		printf("%s: all %lu checks passed\n", name, check_count);
	return check_failures ? 1 : 0;
}

#endif /* FURI_TEST_CHECK_H */
