/* SPDX-License-Identifier: MIT */
/*
 * test_bench_json.c - the JSON parser of furi bench (bench/json.c) and the
 * fio result reader (bench/fio.c): valid documents of every kind, every
 * escape, malformed input that must fail cleanly (never crash), mutations
 * of a recorded fio output, and the numbers of recorded fio outputs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bench/fio.h"
#include "../../bench/json.h"
#include "../../bench/meta.h"
#include "bench_testdata.h"
#include "check.h"


#define NEAR(a, b) (fabs((double)(a) - (double)(b)) <= 1e-9 * (fabs((double)(b)) > 1 ? fabs((double)(b)) : 1))

static struct json_value *parse(const char *s)
{
	char err[200];
	struct json_value *v = json_parse(s, strlen(s), err, sizeof(err));

	if (!v)
		fprintf(stderr, "  (parse of %s failed: %s)\n", s, err);
	return v;
}

static void must_fail(const char *s, size_t len, const char *why)
{
	char err[200] = "";
	struct json_value *v = json_parse(s, len, err, sizeof(err));

	if (v) {
		fprintf(stderr, "accepted bad JSON (%s): %.*s\n", why, (int)(len > 60 ? 60 : len), s);
		check_failures++;
		json_free(v);
		return;
	}
	if (strncmp(err, "offset ", 7)) {
		fprintf(stderr, "error message for %s lacks the offset: '%s'\n", why, err);
		check_failures++;
	}
}

static void test_scalars(void)
{
	struct json_value *v;

	v = parse("  true ");
	CHECK(v && v->type == JSON_BOOL && v->u.boolean);
	json_free(v);
	v = parse("false");
	CHECK(v && v->type == JSON_BOOL && !v->u.boolean);
	json_free(v);
	v = parse("null");
	CHECK(v && v->type == JSON_NULL);
	json_free(v);
	v = parse("-0");
	CHECK(v && v->type == JSON_NUMBER && v->u.number == 0);
	json_free(v);
	v = parse("12345678901234567890");
	CHECK(v && NEAR(v->u.number, 12345678901234567890.0));
	json_free(v);
	v = parse("-1.5E-2");
	CHECK(v && NEAR(v->u.number, -0.015));
	json_free(v);
	v = parse("1e3");
	CHECK(v && NEAR(v->u.number, 1000));
	json_free(v);
	v = parse("0.000001");
	CHECK(v && NEAR(v->u.number, 1e-6));
	json_free(v);
	v = parse("1e999");	/* valid syntax; overflows to infinity rather than failing */
	CHECK(v && isinf(v->u.number));
	json_free(v);
	v = parse("\"\"");
	CHECK(v && v->type == JSON_STRING && v->u.string.len == 0 && v->u.string.s[0] == '\0');
	json_free(v);
}

static void test_strings(void)
{
	struct json_value *v;

	v = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"");
	CHECK(v && v->type == JSON_STRING && !strcmp(v->u.string.s, "a\"b\\c/d\b\f\n\r\t"));
	json_free(v);
	v = parse("\"\\u00e9\\u20AC\"");	/* é € */
	CHECK(v && !strcmp(v->u.string.s, "\xc3\xa9\xe2\x82\xac"));
	json_free(v);
	v = parse("\"\\ud83d\\ude00\"");	/* U+1F600 by surrogate pair */
	CHECK(v && !strcmp(v->u.string.s, "\xf0\x9f\x98\x80"));
	json_free(v);
	v = parse("\"a\\u0000b\"");		/* NUL inside: len tells */
	CHECK(v && v->u.string.len == 3 && v->u.string.s[1] == '\0' && v->u.string.s[2] == 'b');
	json_free(v);
	v = parse("\"caf\xc3\xa9 raw UTF-8\"");
	CHECK(v && !strcmp(v->u.string.s, "caf\xc3\xa9 raw UTF-8"));
	json_free(v);
}

static void test_containers(void)
{
	struct json_value *v;
	const struct json_value *x;

	v = parse("{\"a\": [1, 2, {\"b\": \"c\"}], \"d\": {}, \"e\": [], \"a\": 9}");
	CHECK(v && v->type == JSON_OBJECT && json_len(v) == 4);
	x = json_get(v, "a");	/* the first of duplicate keys */
	CHECK(x && x->type == JSON_ARRAY && json_len(x) == 3);
	CHECK(json_num(json_at(x, 1), -1) == 2);
	CHECK(!strcmp(json_str(json_path(v, "a.2.b"), ""), "c"));
	CHECK(json_path(v, "a.3") == NULL);
	CHECK(json_path(v, "a.x") == NULL);
	CHECK(json_path(v, "d.missing") == NULL);
	CHECK(json_len(json_get(v, "d")) == 0 && json_get(v, "d")->type == JSON_OBJECT);
	CHECK(json_len(json_get(v, "e")) == 0 && json_get(v, "e")->type == JSON_ARRAY);
	/* Wrong types and NULLs give the fallbacks, never a crash. */
	CHECK(json_get(x, "a") == NULL);
	CHECK(json_at(v, 0) == NULL);
	CHECK(json_get(NULL, "a") == NULL && json_at(NULL, 0) == NULL && json_len(NULL) == 0);
	CHECK(json_num(json_get(v, "d"), 7) == 7);
	CHECK(!strcmp(json_str(NULL, "dflt"), "dflt"));
	CHECK(json_bool(json_get(v, "a"), true));
	json_free(v);
	json_free(NULL);

	v = parse("[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]");
	CHECK(v != NULL);
	json_free(v);
	v = parse("{\"x.y\": 1}");	/* dotted keys: only json_get reaches them */
	CHECK(v && json_num(json_get(v, "x.y"), 0) == 1 && json_path(v, "x.y") == NULL);
	json_free(v);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"", "   ", "{", "}", "[", "]", "[1,]", "[,1]", "[1 2]", "{\"a\"}", "{\"a\" 1}",
		"{\"a\":}", "{\"a\":1,}", "{a:1}", "{1:1}", "01", "1.", ".5", "-", "+1", "1e",
		"1e+", "0x10", "--1", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud83d\"",
		"\"\\ud83d\\u0041\"", "\"\\ude00\"", "tru", "nul", "falsey", "True", "[1] x",
		"{} {}", "\"a\nb\"", "\"tab\there\"", "NaN", "Infinity", "[1,2", "{\"a\":[}",
		"'single'", "\"\\", "[\"\\u\"]",
	};
	char deep[4 * JSON_MAX_DEPTH];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		must_fail(bad[i], strlen(bad[i]), bad[i]);
	must_fail("[1,\0 2]", 7, "NUL byte between values");
	must_fail("\"a\0b\"", 5, "raw NUL in a string");
	must_fail(NULL, 0, "NULL input");
	/* Nesting beyond the limit fails cleanly instead of exhausting the stack. */
	memset(deep, '[', sizeof(deep));
	must_fail(deep, sizeof(deep), "deep nesting");
	/* A message lands even in a tiny buffer, and NULL err is fine. */
	{
		char tiny[4];

		CHECK(json_parse("[", 1, tiny, sizeof(tiny)) == NULL && strlen(tiny) < sizeof(tiny));
		CHECK(json_parse("[", 1, NULL, 0) == NULL);
	}
}

/* Every truncation and many byte flips of a real document: must never crash. */
static void test_mutations(void)
{
	size_t len, i;
	char *doc = testdata_read("fio-randrw-j4-qd64-uring.json", &len);
	char *copy = malloc(len + 1);
	unsigned seed = 12345;
	int ok = 0;

	for (i = 0; i < len; i += 7) {
		struct json_value *v = json_parse(doc, i, NULL, 0);

		ok += v != NULL;
		json_free(v);
	}
	CHECK(ok == 0);	/* no proper prefix of an object is a document */
	for (i = 0; i < 3000; i++) {
		static const char junk[] = "{}[]\",:\\0123456789eE+-.tfnu \x01\xff";
		struct json_value *v;
		int k;

		memcpy(copy, doc, len + 1);
		for (k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 8) % len] = junk[(seed >> 4) % (sizeof(junk) - 1)];
		}
		v = json_parse(copy, len, NULL, 0);
		json_free(v);
	}
	free(copy);
	free(doc);
}

static void test_recorded_fio(void)
{
	struct bench_fio_result r;
	char err[256];
	size_t len;
	char *doc;
	struct json_value *v;

	/* The DOM on a recorded file, by path. */
	doc = testdata_read("fio-randread-4k-qd1-uring.json", &len);
	v = json_parse(doc, len, err, sizeof(err));
	CHECK(v != NULL);
	CHECK(!strcmp(json_str(json_get(v, "fio version"), ""), "fio-3.33"));
	CHECK(json_num(json_path(v, "jobs.0.read.total_ios"), 0) == 5005);
	CHECK(NEAR(json_num(json_path(v, "jobs.0.read.iops"), 0), 19250.0));
	CHECK(!strcmp(json_str(json_path(v, "jobs.0.job options.rw"), ""), "randread"));
	CHECK(NEAR(json_num(json_get(json_path(v, "jobs.0.read.clat_ns.percentile"), "99.000000"), 0),
		   468992));
	json_free(v);

	/* The fio reader: one direction. */
	CHECK(bench_fio_parse(doc, len, &r, err, sizeof(err)) == 0);
	CHECK(r.jobs == 1 && r.error == 0 && !strcmp(r.version, "fio-3.33"));
	CHECK(NEAR(r.rw[0].iops, 19250.0));
	CHECK(NEAR(r.rw[0].mibs, 78848000.0 / 1048576.0));
	CHECK(NEAR(r.rw[0].lat_us, 45.443022577));
	CHECK(NEAR(r.rw[0].p99_us, 468.992));
	CHECK(r.rw[1].iops == 0 && r.rw[1].lat_us < 0);
	CHECK(r.ios == 5005 && NEAR(r.runtime_s, 0.26));
	free(doc);

	/* Read and write of a 70/30 mix, four jobs grouped. */
	doc = testdata_read("fio-randrw-j4-qd64-uring.json", &len);
	CHECK(bench_fio_parse(doc, len, &r, err, sizeof(err)) == 0);
	CHECK(NEAR(r.rw[0].iops, 19858.267717) && NEAR(r.rw[1].iops, 8814.96063));
	CHECK(NEAR(r.rw[0].mibs, 81339464.0 / 1048576.0));
	CHECK(NEAR(r.rw[1].mibs, 36106078.0 / 1048576.0));
	CHECK(NEAR(r.rw[0].lat_us, 8606.591663561) && NEAR(r.rw[1].lat_us, 8921.030608307));
	CHECK(NEAR(r.rw[1].p99_us, 21364.736));
	CHECK(r.ios == 5044 + 2239);

	/* fio warnings before the JSON are skipped; a cut-off document is an error. */
	{
		char *noisy = malloc(len + 64);

		snprintf(noisy, len + 64, "fio: some warning\n%s", doc);
		CHECK(bench_fio_parse(noisy, strlen(noisy), &r, err, sizeof(err)) == 0);
		CHECK(NEAR(r.rw[0].iops, 19858.267717));
		CHECK(bench_fio_parse(noisy, strlen(noisy) / 2, &r, err, sizeof(err)) == -1);
		CHECK(strstr(err, "not valid JSON") != NULL);
		free(noisy);
	}
	CHECK(bench_fio_parse("no json here", 12, &r, err, sizeof(err)) == -1);
	CHECK(bench_fio_parse("{\"jobs\": []}", 12, &r, err, sizeof(err)) == -1);
	CHECK(bench_fio_parse("{\"jobs\": [{\"error\": 5}]}", 24, &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "error 5") != NULL);
	free(doc);
}

static void test_recorded_status_and_meta(void)
{
	struct bench_dir d;
	double ops;
	char err[256];
	size_t len;
	char *doc = testdata_read("status-uring.json", &len);
	struct json_value *v = json_parse(doc, len, err, sizeof(err));
	const struct json_value *ch;

	CHECK(v != NULL);
	CHECK(!strcmp(json_str(json_get(v, "transport"), ""), "io_uring"));
	CHECK(json_num(json_path(v, "requests.io_uring"), -1) == 148);
	ch = json_get(v, "channels");
	CHECK(json_len(ch) == 3);
	CHECK(!strcmp(json_str(json_get(json_at(ch, 2), "transport"), ""), "dev_fuse"));
	json_free(v);
	free(doc);

	doc = testdata_read("meta-getattr.json", &len);
	CHECK(bench_meta_parse(doc, len, &d, &ops, err, sizeof(err)) == 0);
	CHECK(ops == 10752 && NEAR(d.iops, 35775.501) && NEAR(d.lat_us, 27.952));
	free(doc);
	{
		const char *line = "{\"ops\": 0, \"error\": \"create x: No space\"}\n";

		CHECK(bench_meta_parse(line, strlen(line), &d, &ops, err, sizeof(err)) == -1);
	}
	CHECK(!strcmp(err, "create x: No space"));
}

static void test_fio_argv(void)
{
	struct bench_work w;
	char line[2048];

	memset(&w, 0, sizeof(w));
	snprintf(w.engine, sizeof(w.engine), "psync");
	snprintf(w.rw, sizeof(w.rw), "read");
	snprintf(w.file, sizeof(w.file), "rfc.dat");
	w.bs = 128 * 1024;
	w.jobs = 4;
	w.split = true;
	w.file_size = 2ULL << 30;
	CHECK(bench_fio_cmdline(&w, "paged", "$MNT", line, sizeof(line)) == 0);
	CHECK(strstr(line, "--filename=$MNT/rfc.dat --size=512M --offset_increment=512M") != NULL);
	CHECK(strstr(line, "--bs=128k") && strstr(line, "--numjobs=4") && !strstr(line, "runtime"));
	w.time_based = true;
	w.runtime_s = 0.25;
	w.ramp_s = 2;
	CHECK(bench_fio_cmdline(&w, "x", "/m", line, sizeof(line)) == 0);
	CHECK(strstr(line, "--runtime=250ms --ramp_time=2s") != NULL);
	CHECK(bench_fio_cmdline(&w, "x", "/m", line, 20) == -1);	/* too short: refused */
}

int main(int argc, char **argv)
{
	testdata_set_dir(argc, argv);
	test_scalars();
	test_strings();
	test_containers();
	test_malformed();
	test_mutations();
	test_recorded_fio();
	test_recorded_status_and_meta();
	test_fio_argv();
	return check_exit("bench json");
}
