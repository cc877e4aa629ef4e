/* SPDX-License-Identifier: MIT */
/* json.c - a tiny JSON DOM parser; see json.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct parser {
	const char *p;		/* next byte */
	const char *start;
	const char *end;
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed)
		return;
	ps->failed = true;
	if (!ps->err || !ps->errlen)
		return;
	n = snprintf(ps->err, ps->errlen, "offset %zu: ", (size_t)(ps->p - ps->start));
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return false;
	ps->p += n;
	return true;
}

static struct json_value *new_value(struct parser *ps, enum json_type type)
{
	struct json_value *v = calloc(1, sizeof(*v));

	if (!v)
		fail(ps, "out of memory");
	else
		v->type = type;
	return v;
}

/* Growable byte buffer for decoded strings. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static bool sbuf_put(struct sbuf *b, const char *src, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		char *s;

		while (cap < b->len + n + 1)
			cap *= 2;
		s = realloc(b->s, cap);
		if (!s)
			return false;
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, src, n);
	b->len += n;
	b->s[b->len] = '\0';
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u"; -1 if malformed. */
static long hex4(struct parser *ps)
{
	long v = 0;
	int i;

	if (ps->end - ps->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		int h = hexval(ps->p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	ps->p += 4;
	return v;
}

static size_t utf8_encode(unsigned long cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One escape after the backslash; appends its bytes to b. */
static bool parse_escape(struct parser *ps, struct sbuf *b)
{
	char c, out[4];
	long cp, lo;

	if (ps->p >= ps->end) {
		fail(ps, "unterminated escape");
		return false;
	}
	c = *ps->p++;
	switch (c) {
	case '"': case '\\': case '/':
		out[0] = c;
		break;
	case 'b': out[0] = '\b'; break;
	case 'f': out[0] = '\f'; break;
	case 'n': out[0] = '\n'; break;
	case 'r': out[0] = '\r'; break;
	case 't': out[0] = '\t'; break;
	case 'u':
		cp = hex4(ps);
		if (cp < 0) {
			fail(ps, "bad \\u escape (expected 4 hex digits)");
			return false;
		}
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			fail(ps, "lone low surrogate \\u%04lx", cp);
			return false;
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
				fail(ps, "high surrogate \\u%04lx without its low half", cp);
				return false;
			}
			ps->p += 2;
			lo = hex4(ps);
			if (lo < 0xdc00 || lo > 0xdfff) {
				fail(ps, "high surrogate \\u%04lx followed by a non-low surrogate", cp);
				return false;
			}
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (!sbuf_put(b, out, utf8_encode((unsigned long)cp, out))) {
			fail(ps, "out of memory");
			return false;
		}
		return true;
	default:
		ps->p--;
		fail(ps, "bad escape '\\%c'", c);
		return false;
	}
	if (!sbuf_put(b, out, 1)) {
		fail(ps, "out of memory");
		return false;
	}
	return true;
}

/* A string at ps->p (which is '"'); returns a malloc'd decoded copy. */
static char *parse_string_raw(struct parser *ps, size_t *lenp)
{
	struct sbuf b = { NULL, 0, 0 };

	ps->p++;	/* opening quote */
	if (!sbuf_put(&b, "", 0)) {
		fail(ps, "out of memory");
		return NULL;
	}
	for (;;) {
		const char *run = ps->p;

		while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' &&
		       (unsigned char)*ps->p >= 0x20)
			ps->p++;
		if (!sbuf_put(&b, run, (size_t)(ps->p - run))) {
			fail(ps, "out of memory");
			goto bad;
		}
		if (ps->p >= ps->end) {
			fail(ps, "unterminated string");
			goto bad;
		}
		if (*ps->p == '"') {
			ps->p++;
			*lenp = b.len;
			return b.s;
		}
		if (*ps->p == '\\') {
			ps->p++;
			if (!parse_escape(ps, &b))
				goto bad;
			continue;
		}
		fail(ps, "control character 0x%02x in string", (unsigned char)*ps->p);
		goto bad;
	}
bad:
	free(b.s);
	return NULL;
}

static bool is_digit(const struct parser *ps)
{
	return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

static struct json_value *parse_number(struct parser *ps)
{
	const char *begin = ps->p;
	char buf[64], *endp;
	struct json_value *v;
	size_t n;
	double d;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (!is_digit(ps)) {
		fail(ps, "bad number");
		return NULL;
	}
	if (*ps->p == '0') {
		ps->p++;
	} else {
		while (is_digit(ps))
			ps->p++;
	}
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (!is_digit(ps)) {
			fail(ps, "bad number: digit expected after '.'");
			return NULL;
		}
		while (is_digit(ps))
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (!is_digit(ps)) {
			fail(ps, "bad number: digit expected in exponent");
			return NULL;
		}
		while (is_digit(ps))
			ps->p++;
	}
	n = (size_t)(ps->p - begin);
	if (n < sizeof(buf)) {
		memcpy(buf, begin, n);
		buf[n] = '\0';
		errno = 0;
		d = strtod(buf, &endp);
	} else {
		/* Absurdly long but valid: strtod copes, on a heap copy. */
		char *tmp = strndup(begin, n);

		if (!tmp) {
			fail(ps, "out of memory");
			return NULL;
		}
		d = strtod(tmp, &endp);
		free(tmp);
	}
	v = new_value(ps, JSON_NUMBER);
	if (v)
		v->u.number = d;	/* overflow gives +-HUGE_VAL, underflow 0: both fine */
	return v;
}

static struct json_value *parse_value(struct parser *ps, int depth);

static struct json_value *parse_array(struct parser *ps, int depth)
{
	struct json_value *v = new_value(ps, JSON_ARRAY);
	size_t cap = 0;

	if (!v)
		return NULL;
	ps->p++;	/* '[' */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		return v;
	}
	for (;;) {
		struct json_value *item;

		skip_ws(ps);
		item = parse_value(ps, depth + 1);
		if (!item)
			goto bad;
		if (v->u.array.n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct json_value **items = realloc(v->u.array.items, ncap * sizeof(*items));

			if (!items) {
				json_free(item);
				fail(ps, "out of memory");
				goto bad;
			}
			v->u.array.items = items;
			cap = ncap;
		}
		v->u.array.items[v->u.array.n++] = item;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return v;
		}
		fail(ps, ps->p < ps->end ? "expected ',' or ']' in array" : "unterminated array");
		goto bad;
	}
bad:
	json_free(v);
	return NULL;
}

static struct json_value *parse_object(struct parser *ps, int depth)
{
	struct json_value *v = new_value(ps, JSON_OBJECT);
	size_t cap = 0;

	if (!v)
		return NULL;
	ps->p++;	/* '{' */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return v;
	}
	for (;;) {
		struct json_member m = { NULL, 0, NULL };

		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '"') {
			fail(ps, ps->p < ps->end ? "expected a string as object key"
						 : "unterminated object");
			goto bad;
		}
		m.key = parse_string_raw(ps, &m.keylen);
		if (!m.key)
			goto bad;
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':') {
			free(m.key);
			fail(ps, "expected ':' after object key");
			goto bad;
		}
		ps->p++;
		skip_ws(ps);
		m.value = parse_value(ps, depth + 1);
		if (!m.value) {
			free(m.key);
			goto bad;
		}
		if (v->u.object.n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct json_member *mm = realloc(v->u.object.members, ncap * sizeof(*mm));

			if (!mm) {
				free(m.key);
				json_free(m.value);
				fail(ps, "out of memory");
				goto bad;
			}
			v->u.object.members = mm;
			cap = ncap;
		}
		v->u.object.members[v->u.object.n++] = m;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			return v;
		}
		fail(ps, ps->p < ps->end ? "expected ',' or '}' in object" : "unterminated object");
		goto bad;
	}
bad:
	json_free(v);
	return NULL;
}

static struct json_value *parse_value(struct parser *ps, int depth)
{
	struct json_value *v;

	if (depth > JSON_MAX_DEPTH) {
		fail(ps, "nesting deeper than %d", JSON_MAX_DEPTH);
		return NULL;
	}
	if (ps->p >= ps->end) {
		fail(ps, "unexpected end of input");
		return NULL;
	}
	switch (*ps->p) {
	case '{':
		return parse_object(ps, depth);
	case '[':
		return parse_array(ps, depth);
	case '"':
		v = new_value(ps, JSON_STRING);
		if (!v)
			return NULL;
		v->u.string.s = parse_string_raw(ps, &v->u.string.len);
		if (!v->u.string.s) {
			free(v);
			return NULL;
		}
		return v;
	case 't':
		if (literal(ps, "true")) {
			v = new_value(ps, JSON_BOOL);
			if (v)
				v->u.boolean = true;
			return v;
		}
		break;
	case 'f':
		if (literal(ps, "false"))
			return new_value(ps, JSON_BOOL);
		break;
	case 'n':
		if (literal(ps, "null"))
			return new_value(ps, JSON_NULL);
		break;
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return parse_number(ps);
		break;
	}
	if ((unsigned char)*ps->p >= 0x20 && (unsigned char)*ps->p < 0x7f)
		fail(ps, "unexpected '%c'", *ps->p);
	else
		fail(ps, "unexpected byte 0x%02x", (unsigned char)*ps->p);
	return NULL;
}

struct json_value *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct parser ps = { text, text, text + len, err, errlen, false };
	struct json_value *v;

	if (err && errlen)
		err[0] = '\0';
	if (!text) {
		ps.end = ps.p = ps.start = "";
		fail(&ps, "no input");
		return NULL;
	}
	skip_ws(&ps);
	v = parse_value(&ps, 0);
	if (!v)
		return NULL;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		fail(&ps, "trailing data after the value");
		json_free(v);
		return NULL;
	}
	return v;
}

void json_free(struct json_value *v)
{
	size_t i;

	if (!v)
		return;
	switch (v->type) {
	case JSON_STRING:
		free(v->u.string.s);
		break;
	case JSON_ARRAY:
		for (i = 0; i < v->u.array.n; i++)
			json_free(v->u.array.items[i]);
		free(v->u.array.items);
		break;
	case JSON_OBJECT:
		for (i = 0; i < v->u.object.n; i++) {
			free(v->u.object.members[i].key);
			json_free(v->u.object.members[i].value);
		}
		free(v->u.object.members);
		break;
	default:
		break;
	}
	free(v);
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
	size_t i, n;

	if (!obj || obj->type != JSON_OBJECT || !key)
		return NULL;
	n = strlen(key);
	for (i = 0; i < obj->u.object.n; i++) {
		const struct json_member *m = &obj->u.object.members[i];

		if (m->keylen == n && !memcmp(m->key, key, n))
			return m->value;
	}
	return NULL;
}

const struct json_value *json_at(const struct json_value *arr, size_t i)
{
	if (!arr || arr->type != JSON_ARRAY || i >= arr->u.array.n)
		return NULL;
	return arr->u.array.items[i];
}

size_t json_len(const struct json_value *v)
{
	if (!v)
		return 0;
	if (v->type == JSON_ARRAY)
		return v->u.array.n;
	if (v->type == JSON_OBJECT)
		return v->u.object.n;
	return 0;
}

const struct json_value *json_path(const struct json_value *v, const char *path)
{
	char seg[256];

	while (v && path && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		size_t i;
		bool digits = n > 0;

		if (n >= sizeof(seg))
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		for (i = 0; i < n; i++)
			if (seg[i] < '0' || seg[i] > '9')
				digits = false;
		if (digits && v->type == JSON_ARRAY)
			v = json_at(v, (size_t)strtoull(seg, NULL, 10));
		else
			v = json_get(v, seg);
		path = dot ? dot + 1 : path + n;
	}
	return v;
}

double json_num(const struct json_value *v, double dflt)
{
	return v && v->type == JSON_NUMBER ? v->u.number : dflt;
}

const char *json_str(const struct json_value *v, const char *dflt)
{
	return v && v->type == JSON_STRING ? v->u.string.s : dflt;
}

bool json_bool(const struct json_value *v, bool dflt)
{
	return v && v->type == JSON_BOOL ? v->u.boolean : dflt;
}
