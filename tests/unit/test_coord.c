/* test_coord — hb_coord: Kafka coordinates carried in a reserved "_kafka"
 * member; wrap then unwrap must give back the exact original bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_coord.h"
#include "hb_json.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define L(s) s, sizeof(s) - 1

static int valid_json(const char *s, size_t n)
{
	size_t col;
	const char *err;

	return hb_json_validate(s, n, 64, NULL, &col, &err) == 0;
}

static int starts_with(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);

	return n >= k && memcmp(s, pre, k) == 0;
}

static int contains(const char *h, size_t hn, const char *needle)
{
	size_t nn = strlen(needle);

	for (size_t i = 0; i + nn <= hn; i++)
		if (memcmp(h + i, needle, nn) == 0)
			return 1;
	return 0;
}

/* Print s as a TAP comment, bytes outside printable ASCII as \xNN. */
static void show(const char *what, const char *s, size_t n)
{
	printf("#   %s: ", what);
	for (size_t i = 0; i < n && i < 200; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar('\n');
}

struct rt {
	const char *name;
	const char *val;
	size_t n;
	int b64;     /* 1: must be carried base64-encoded */
};

static void test_round_trip(void)
{
	static const struct rt cases[] = {
		{"a reading", L("{\"customer_id\":\"CUST_00042\",\"timestamp\":\"2026-11-23T10:00:00.500Z\",\"heart_rate\":73}"), 0},
		{"{}", L("{}"), 0},
		{"{ } (blank inside: carried base64, exactly)", L("{ }"), 1},
		{"{\\t\\t} (blanks inside: carried base64, exactly)", L("{\t\t}"), 1},
		{"{} with a trailing space", L("{} "), 0},
		{"space after the brace", L("{ \"a\":1 }"), 0},
		{"leading spaces (carried base64, exactly)", L("  {\"a\":1}"), 1},
		{"leading tab (carried base64, exactly)", L("\t{\"a\":1}"), 1},
		{"nested and escapes", L("{\"a\":{\"b\":[1,\"\\u00e9\\\"}}\"]},\"c\":\"\xc3\xa9\"}"), 0},
		{"a value that is itself wrapped", L("{\"_kafka\":{\"p\":9,\"o\":9},\"x\":1}"), 0},
		{"not JSON", L("not json"), 1},
		{"empty", L(""), 1},
		{"blank", L("   "), 1},
		{"an array", L("[1,2]"), 1},
		{"a string", L("\"{\""), 1},
		{"LF inside", L("{\"a\":\n1}"), 1},
		{"trailing LF", L("{\"a\":1}\n"), 1},
		{"CR inside", L("{\"a\":\r1}"), 1},
		{"trailing CR", L("{\"a\":1}\r"), 1},
		{"CRLF", L("{\"a\":1}\r\n"), 1},
		{"NUL", L("{\"a\":\"\0\"}"), 1},
		{"only NUL", L("\0"), 1},
		{"invalid UTF-8, not an object", L("\xff\xfe\x00\x01"), 1},
		{"invalid UTF-8 inside an object (carried inline, wrapped line not JSON)", L("{\"a\":\"\xff\"}"), 1},
		{"overlong UTF-8 inside an object (carried inline, wrapped line not JSON)", L("{\"a\":\"\xc0\x80\"}"), 1},
		{"an object cut short (carried inline, wrapped line not JSON)", L("{\"a\":1"), 1},
		{"brace then garbage (carried inline, wrapped line not JSON)", L("{not json"), 1},
		{"object then garbage (carried inline, wrapped line not JSON)", L("{\"a\":1} x"), 1},
		{"two objects (carried inline, wrapped line not JSON)", L("{}{}"), 1},
	};
	static const struct hb_coord coords[] = {
		{0, 0, -1}, {2, 123, -1}, {INT32_MAX, INT64_MAX, -1}, {1, 7, 0}, {3, 9, 12345},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct rt *c = &cases[i];
		int all_ok = 1;

		tap_begin("hb_coord wrap/unwrap round trip: %s", c->name);
		for (size_t k = 0; k < NELEM(coords); k++) {
			struct hb_buf w = {0}, scratch = {0};
			struct hb_coord got = {-1, -1, -1};
			const char *val = NULL;
			size_t vlen = 12345;
			char *copy;
			int rc;

			hb_coord_wrap(&w, &coords[k], c->val, c->n);
			copy = malloc(w.len);
			if (!copy)
				abort();
			memcpy(copy, w.p, w.len);
			rc = hb_coord_unwrap(copy, w.len, &got, &scratch, &val, &vlen);
			all_ok &= check_int(rc, ==, 1);
			all_ok &= check_int(got.partition, ==, coords[k].partition);
			all_ok &= check_int(got.offset, ==, coords[k].offset);
			all_ok &= check_int(got.lag, ==, coords[k].lag);
			all_ok &= check(val != NULL);
			all_ok &= check_mem(val, vlen, c->val, c->n);
			/* One line, an ordinary object for jq, the coordinates first. */
			all_ok &= check(!memchr(w.p, '\n', w.len) && !memchr(w.p, '\r', w.len));
			all_ok &= check(!memchr(w.p, '\0', w.len));
			all_ok &= check(valid_json(w.p, w.len));
			all_ok &= check(starts_with(w.p, w.len, "{\"_kafka\":{\"p\":"));
			all_ok &= check_int(contains(w.p, w.len, ",\"b64\":\""), ==, c->b64);
			if (!all_ok && k == 0)
				show("wrapped", w.p, w.len);
			all_ok = 1;
			free(copy);
			hb_buf_release(&w);
			hb_buf_release(&scratch);
		}
		tap_end();
	}
}

static void test_exact_forms(void)
{
	static const struct {
		const char *val;
		size_t n;
		int32_t p;
		int64_t o;
		const char *want;
	} cases[] = {
		{L("{\"customer_id\":\"CUST_00042\"}"), 0, 123, "{\"_kafka\":{\"p\":0,\"o\":123},\"customer_id\":\"CUST_00042\"}"},
		{L("{}"), 1, 5, "{\"_kafka\":{\"p\":1,\"o\":5}}"},
		{L("not json"), 0, 124, "{\"_kafka\":{\"p\":0,\"o\":124,\"b64\":\"bm90IGpzb24=\"}}"},
		{L(""), 3, 0, "{\"_kafka\":{\"p\":3,\"o\":0,\"b64\":\"\"}}"},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_buf w = {0};
		struct hb_coord c = {cases[i].p, cases[i].o, -1};

		tap_begin("hb_coord_wrap writes exactly %s", cases[i].want);
		hb_coord_wrap(&w, &c, cases[i].val, cases[i].n);
		check_mem(w.p, w.len, cases[i].want, strlen(cases[i].want));
		hb_buf_release(&w);
		tap_end();
	}
	{
		struct hb_buf w = {0};
		struct hb_coord c = {7, 9007199254740993LL, -1};

		tap_begin("hb_coord_open writes the object opened with one member");
		hb_buf_puts(&w, "x");
		hb_coord_open(&w, &c);
		check_mem(w.p, w.len, "x{\"_kafka\":{\"p\":7,\"o\":9007199254740993}", 39);
		hb_buf_release(&w);
		tap_end();
	}
}

static void test_unwrap_refuses(void)
{
	static const struct {
		const char *name, *line;
		size_t n;
	} cases[] = {
		{"a plain reading", L("{\"customer_id\":\"C\"}")},
		{"empty", L("")},
		{"prefix only", L("{\"_kafka\":{\"p\":")},
		{"space inside", L("{ \"_kafka\":{\"p\":0,\"o\":1}}")},
		{"keys swapped", L("{\"_kafka\":{\"o\":1,\"p\":0}}")},
		{"negative partition", L("{\"_kafka\":{\"p\":-1,\"o\":1}}")},
		{"negative offset", L("{\"_kafka\":{\"p\":0,\"o\":-1}}")},
		{"leading zero", L("{\"_kafka\":{\"p\":00,\"o\":1}}")},
		{"partition > INT32_MAX", L("{\"_kafka\":{\"p\":2147483648,\"o\":1}}")},
		{"offset > INT64_MAX", L("{\"_kafka\":{\"p\":0,\"o\":9223372036854775808}}")},
		{"no offset", L("{\"_kafka\":{\"p\":0}}")},
		{"extra member in _kafka", L("{\"_kafka\":{\"p\":0,\"o\":1,\"t\":5},\"a\":1}")},
		{"invalid base64", L("{\"_kafka\":{\"p\":0,\"o\":1,\"b64\":\"!!!!\"}}")},
		{"base64 not padded", L("{\"_kafka\":{\"p\":0,\"o\":1,\"b64\":\"aGk\"}}")},
		{"b64 then garbage", L("{\"_kafka\":{\"p\":0,\"o\":1,\"b64\":\"aGk=\"}} ")},
		{"b64 unterminated", L("{\"_kafka\":{\"p\":0,\"o\":1,\"b64\":\"aGk=")},
		{"b64 not closed", L("{\"_kafka\":{\"p\":0,\"o\":1,\"b64\":\"aGk=\"}")},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_buf scratch = {0};
		struct hb_coord c;
		const char *val = NULL;
		size_t vlen = 0;
		char *copy = malloc(cases[i].n ? cases[i].n : 1);
		int rc;

		if (!copy)
			abort();
		memcpy(copy, cases[i].line, cases[i].n);
		tap_begin("hb_coord_unwrap refuses %s", cases[i].name);
		rc = hb_coord_unwrap(copy, cases[i].n, &c, &scratch, &val, &vlen);
		check_int(rc, ==, 0);
		free(copy);
		hb_buf_release(&scratch);
		tap_end();
	}
}

static void test_peek(void)
{
	static const struct hb_coord co = {2, 12345, -1};
	static const char reading[] =
		"{\"customer_id\":\"CUST_00042\",\"timestamp\":\"2026-11-23T10:00:00.500Z\",\"heart_rate\":73}";
	static const char inline_head[] = "{\"_kafka\":{\"p\":2,\"o\":12345}";
	static const char b64_head[] = "{\"_kafka\":{\"p\":2,\"o\":12345,\"b64\":\"";
	struct hb_buf w = {0};

	/* Inline form: every prefix. */
	hb_coord_wrap(&w, &co, reading, sizeof reading - 1);
	tap_begin("hb_coord_peek on every truncation of an inline line");
	for (size_t n = 0; n <= w.len; n++) {
		struct hb_coord c = {-1, -1, -1};
		size_t skip = 999999;
		char *copy = malloc(n ? n : 1);
		int rc, b64 = -1;

		if (!copy)
			abort();
		memcpy(copy, w.p, n);
		rc = hb_coord_peek(copy, n, &c, &skip, &b64);
		if (n < sizeof inline_head - 1) {
			/* The coordinates are not all there (the offset may go on). */
			check_int(rc, ==, 0);
		} else {
			check_int(rc, ==, 1);
			check_int(c.partition, ==, 2);
			check_int(c.offset, ==, 12345);
			/* After "}," when the comma is there. */
			check_int(skip, ==, n == sizeof inline_head - 1 ? n : sizeof inline_head);
			check_int(b64, ==, 0);
		}
		free(copy);
	}
	tap_end();

	/* Base64 form: every prefix. */
	hb_buf_reset(&w);
	hb_coord_wrap(&w, &co, L("not json at all, but long enough to be cut"));
	tap_begin("hb_coord_peek on every truncation of a b64 line");
	check(starts_with(w.p, w.len, b64_head));
	for (size_t n = 0; n <= w.len; n++) {
		struct hb_coord c = {-1, -1, -1};
		size_t skip = 999999;
		char *copy = malloc(n ? n : 1);
		int rc, b64 = -1;

		if (!copy)
			abort();
		memcpy(copy, w.p, n);
		rc = hb_coord_peek(copy, n, &c, &skip, &b64);
		if (n < sizeof b64_head - 1) {
			check_int(rc, ==, 0);
		} else {
			check_int(rc, ==, 1);
			check_int(c.partition, ==, 2);
			check_int(c.offset, ==, 12345);
			check_int(skip, ==, sizeof b64_head - 1);
			check_int(b64, ==, 1);
		}
		free(copy);
	}
	tap_end();

	tap_begin("hb_coord_peek on lines without coordinates");
	{
		struct hb_coord c;
		size_t skip;
		int rc, b64;

		rc = hb_coord_peek(reading, sizeof reading - 1, &c, &skip, &b64);
		check_int(rc, ==, 0);
		rc = hb_coord_peek("{\"_kafka\":{\"p\":1,\"o\":2]", 24, &c, &skip, &b64);
		check_int(rc, ==, 0);
		rc = hb_coord_peek("", 0, &c, &skip, &b64);
		check_int(rc, ==, 0);
	}
	tap_end();
	hb_buf_release(&w);
}

static void test_scratch_reuse(void)
{
	struct hb_buf scratch = {0}, w1 = {0}, w2 = {0};
	struct hb_coord a = {1, 10, -1}, b = {2, 20, -1}, c;
	const char *v1, *v2;
	size_t n1, n2;
	int rc;

	tap_begin("hb_coord_unwrap reuses its scratch buffer (b64 then inline then b64)");
	hb_coord_wrap(&w1, &a, L("first\nvalue"));
	hb_coord_wrap(&w2, &b, L("{\"second\":2}"));
	rc = hb_coord_unwrap(w1.p, w1.len, &c, &scratch, &v1, &n1);
	check_int(rc, ==, 1);
	check_mem(v1, n1, "first\nvalue", 11);
	rc = hb_coord_unwrap(w2.p, w2.len, &c, &scratch, &v2, &n2);
	check_int(rc, ==, 1);
	check_int(c.offset, ==, 20);
	check_mem(v2, n2, "{\"second\":2}", 12);
	rc = hb_coord_unwrap(w1.p, w1.len, &c, &scratch, &v1, &n1);
	check_int(rc, ==, 1);
	check_int(c.offset, ==, 10);
	check_mem(v1, n1, "first\nvalue", 11);
	hb_buf_release(&scratch);
	hb_buf_release(&w1);
	hb_buf_release(&w2);
	tap_end();
}

int main(void)
{
	test_round_trip();
	test_exact_forms();
	test_unwrap_refuses();
	test_peek();
	test_scratch_reuse();
	return tap_done();
}
