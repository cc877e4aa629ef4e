/* SPDX-License-Identifier: MIT */
/*
 * json.h - a tiny JSON DOM parser for the benchmark runner: fio's
 * --output-format=json, `furi status --json` and the metadata program's
 * result lines.
 *
 * RFC 8259 values: objects, arrays, strings (all escapes, \uXXXX with
 * surrogate pairs, decoded to UTF-8), numbers (kept as double), true, false,
 * null. Bad input of any kind gives NULL and one line naming the byte offset
 * and the problem; nesting deeper than JSON_MAX_DEPTH is refused, so hostile
 * input cannot exhaust the stack. Strings may hold NUL bytes (len says how
 * long they are); they are also NUL-terminated.
 */
#ifndef FURI_BENCH_JSON_H
#define FURI_BENCH_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 256

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value;

struct json_member {
	char *key;		/* NUL-terminated, decoded */
	size_t keylen;
	struct json_value *value;
};

struct json_value {
	enum json_type type;
	union {
		bool boolean;
		double number;
		struct {
			char *s;	/* NUL-terminated, decoded */
			size_t len;
		} string;
		struct {
			struct json_value **items;
			size_t n;
		} array;
		struct {
			struct json_member *members;	/* in input order */
			size_t n;
		} object;
	} u;
};

/*
 * Parse len bytes of text as exactly one JSON value (whitespace around it
 * allowed). On error returns NULL and, if err is not NULL, writes a message
 * such as "offset 17: expected ':' after object key".
 */
struct json_value *json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(struct json_value *v);

/* Member of an object (the first one with that key), or NULL. NULL-safe. */
const struct json_value *json_get(const struct json_value *obj, const char *key);
/* Element i of an array, or NULL. NULL-safe. */
const struct json_value *json_at(const struct json_value *arr, size_t i);
/* Number of elements or members; 0 for other types. */
size_t json_len(const struct json_value *v);
/*
 * Follow a dotted path: "jobs.0.read.iops". A segment that is all digits
 * indexes an array; any other segment names an object member. Keys that
 * contain dots (fio's "50.000000" percentiles) cannot be reached this way:
 * use json_get on the parent.
 */
const struct json_value *json_path(const struct json_value *v, const char *path);

/* Typed reads with a fallback when v is NULL or of another type. */
double json_num(const struct json_value *v, double dflt);
const char *json_str(const struct json_value *v, const char *dflt);
bool json_bool(const struct json_value *v, bool dflt);

#endif /* FURI_BENCH_JSON_H */
