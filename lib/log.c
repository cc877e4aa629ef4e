/* SPDX-License-Identifier: MIT */
/* log.c - one line per event, to stderr or to the application's sink. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void (*log_fn)(enum furi_log_level level, const char *msg);
static enum furi_log_level log_level = FURI_LOG_INFO;

void furi_set_log(void (*fn)(enum furi_log_level level, const char *msg))
{
	log_fn = fn;
}

void furi_set_log_level(enum furi_log_level level)
{
	log_level = level;
}

void furi_log(enum furi_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int saved = errno;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fn)
		log_fn(level, msg);
	else
		fprintf(stderr, "furi: %s\n", msg);
	errno = saved;
}

int furi_seterr(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -e;
}
