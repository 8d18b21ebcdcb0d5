/* test_json — hb_json: escaping, UTF-8 checks, base64, the strict validator
 * and the flat-object scanner (and their agreement). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hb_json.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal and its length (NUL bytes inside count). */
#define L(s) s, sizeof(s) - 1

/* An exact-size heap copy, so that ASan sees any read past the end. */
static char *dup_exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	if (!p)
		abort();
	if (n)
		memcpy(p, s, n);
	return p;
}

static int valid_json(const char *s, size_t n)
{
	size_t col;
	const char *err;

	return hb_json_validate(s, n, 64, NULL, &col, &err) == 0;
}

/* ---- hb_json_escape ---- */

struct esc_case {
	const char *name;
	const char *in;
	size_t n;
	const char *want;
	size_t want_n;
	int lossy;
};

static void test_escape(void)
{
	static const struct esc_case cases[] = {
		{"empty", L(""), L("\"\""), 0},
		{"plain ASCII", L("CUST_00042"), L("\"CUST_00042\""), 0},
		{"double quote", L("a\"b"), L("\"a\\\"b\""), 0},
		{"backslash", L("a\\b"), L("\"a\\\\b\""), 0},
		{"slash kept", L("a/b"), L("\"a/b\""), 0},
		{"named controls", L("\n\r\t\b\f"), L("\"\\n\\r\\t\\b\\f\""), 0},
		{"other controls", L("\x01\x1f\x0b"), L("\"\\u0001\\u001f\\u000b\""), 0},
		{"NUL", L("a\0b"), L("\"a\\u0000b\""), 0},
		{"NUL alone", L("\0"), L("\"\\u0000\""), 0},
		{"DEL kept", L("\x7f"), L("\"\x7f\""), 0},
		{"2-byte UTF-8 kept", L("caf\xc3\xa9"), L("\"caf\xc3\xa9\""), 0},
		{"3-byte UTF-8 kept", L("\xe2\x82\xac"), L("\"\xe2\x82\xac\""), 0},
		{"4-byte UTF-8 kept", L("\xf0\x9d\x84\x9e"), L("\"\xf0\x9d\x84\x9e\""), 0},
		{"U+FFFD kept", L("\xef\xbf\xbd"), L("\"\xef\xbf\xbd\""), 0},
		{"U+10FFFF kept", L("\xf4\x8f\xbf\xbf"), L("\"\xf4\x8f\xbf\xbf\""), 0},
		{"0xFF", L("a\xff" "b"), L("\"a\xef\xbf\xbd" "b\""), 1},
		{"lone continuation", L("\x80"), L("\"\xef\xbf\xbd\""), 1},
		{"truncated 2-byte", L("a\xc3"), L("\"a\xef\xbf\xbd\""), 1},
		{"truncated 3-byte", L("\xe2\x82"), L("\"\xef\xbf\xbd\xef\xbf\xbd\""), 1},
		{"overlong C0 80", L("\xc0\x80"), L("\"\xef\xbf\xbd\xef\xbf\xbd\""), 1},
		{"surrogate ED A0 80", L("\xed\xa0\x80"),
		 L("\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""), 1},
		{"above U+10FFFF", L("\xf4\x90\x80\x80"),
		 L("\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""), 1},
		{"invalid then quote", L("\xfe\""), L("\"\xef\xbf\xbd\\\"\""), 1},
		{"mixed", L("\"\xc3\xa9\n\xff\0"), L("\"\\\"\xc3\xa9\\n\xef\xbf\xbd\\u0000\""), 1},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct esc_case *c = &cases[i];
		struct hb_buf b = {0};
		char *in = dup_exact(c->in, c->n);
		int lossy = 0;

		tap_begin("hb_json_escape: %s", c->name);
		hb_buf_puts(&b, "prefix:");
		hb_json_escape(&b, in, c->n, &lossy);
		check_mem(b.p, 7, "prefix:", 7);
		check_mem(b.p + 7, b.len - 7, c->want, c->want_n);
		check_int(lossy, ==, c->lossy);
		check(valid_json(b.p + 7, b.len - 7));
		/* lossy may be NULL; the text is the same. */
		hb_buf_reset(&b);
		hb_json_escape(&b, in, c->n, NULL);
		check_mem(b.p, b.len, c->want, c->want_n);
		hb_buf_release(&b);
		free(in);
		tap_end();
	}
}

static void test_escape_all_bytes(void)
{
	struct hb_buf b = {0};
	unsigned char all[256];
	int lossy = 0;

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	tap_begin("hb_json_escape of all 256 byte values is valid JSON and lossy");
	hb_json_escape(&b, (const char *)all, sizeof all, &lossy);
	check(valid_json(b.p, b.len));
	check_int(lossy, ==, 1);
	/* 128 invalid bytes 0x80..0xFF each become U+FFFD. */
	{
		int fffd = 0;

		for (size_t i = 0; i + 2 < b.len; i++)
			if (memcmp(b.p + i, "\xef\xbf\xbd", 3) == 0)
				fffd++;
		check_int(fffd, ==, 128);
	}
	hb_buf_release(&b);
	tap_end();

	tap_begin("hb_json_escape leaves *lossy alone (0) for valid input");
	lossy = 0;
	hb_json_escape(&b, L("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \0\x01\"\\"), &lossy);
	check_int(lossy, ==, 0);
	hb_buf_release(&b);
	tap_end();
}

/* ---- UTF-8 ---- */

static void test_utf8_valid_prefix(void)
{
	static const struct {
		const char *name, *s;
		size_t n, want;
	} cases[] = {
		{"empty", L(""), 0},
		{"ASCII", L("abc"), 3},
		{"NUL is valid", L("a\0b"), 3},
		{"2-byte", L("\xc3\xa9"), 2},
		{"3-byte", L("\xe2\x82\xac"), 3},
		{"4-byte", L("\xf0\x9f\x98\x80"), 4},
		{"U+0080 (smallest 2-byte)", L("\xc2\x80"), 2},
		{"U+0800 (smallest 3-byte)", L("\xe0\xa0\x80"), 3},
		{"U+D7FF", L("\xed\x9f\xbf"), 3},
		{"U+E000", L("\xee\x80\x80"), 3},
		{"U+10000 (smallest 4-byte)", L("\xf0\x90\x80\x80"), 4},
		{"U+10FFFF", L("\xf4\x8f\xbf\xbf"), 4},
		{"overlong C0 80", L("a\xc0\x80"), 1},
		{"overlong C1 BF", L("\xc1\xbf"), 0},
		{"overlong E0 80 80", L("\xe0\x80\x80"), 0},
		{"overlong E0 9F BF", L("\xe0\x9f\xbf"), 0},
		{"overlong F0 80 80 80", L("\xf0\x80\x80\x80"), 0},
		{"overlong F0 8F BF BF", L("\xf0\x8f\xbf\xbf"), 0},
		{"surrogate ED A0 80", L("ab\xed\xa0\x80"), 2},
		{"surrogate ED BF BF", L("\xed\xbf\xbf"), 0},
		{"above U+10FFFF F4 90 80 80", L("x\xf4\x90\x80\x80"), 1},
		{"F5 lead", L("\xf5\x80\x80\x80"), 0},
		{"FE", L("\xfe"), 0},
		{"FF", L("ok\xff"), 2},
		{"lone continuation", L("ab\x80"), 2},
		{"truncated 2-byte", L("ab\xc3"), 2},
		{"truncated 3-byte", L("ab\xe2\x82"), 2},
		{"truncated 4-byte", L("ab\xf0\x9f\x98"), 2},
		{"bad continuation", L("\xc3\x28"), 0},
		{"bad 3rd byte", L("\xe2\x82\x28"), 0},
		{"bad 4th byte", L("\xf0\x9f\x98\x28"), 0},
		{"valid then invalid", L("\xc3\xa9\xff\xc3\xa9"), 2},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *s = dup_exact(cases[i].s, cases[i].n);

		tap_begin("hb_utf8_valid_prefix: %s == %zu", cases[i].name, cases[i].want);
		check_int(hb_utf8_valid_prefix(s, cases[i].n), ==, cases[i].want);
		free(s);
		tap_end();
	}
}

static void test_utf8_cut(void)
{
	static const struct {
		const char *name, *s;
		size_t n, want;
	} cases[] = {
		{"empty", L(""), 0},
		{"ASCII", L("abc"), 3},
		{"whole 2-byte", L("a\xc3\xa9"), 3},
		{"lead of 2-byte", L("a\xc3"), 1},
		{"whole 3-byte", L("a\xe2\x82\xac"), 4},
		{"2 of 3", L("a\xe2\x82"), 1},
		{"1 of 3", L("a\xe2"), 1},
		{"whole 4-byte", L("a\xf0\x9f\x98\x80"), 5},
		{"3 of 4", L("a\xf0\x9f\x98"), 1},
		{"2 of 4", L("a\xf0\x9f"), 1},
		{"1 of 4", L("a\xf0"), 1},
		{"euro + lead", L("\xe2\x82\xac\xe2"), 3},
		{"only a lead", L("\xc3"), 0},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *s = dup_exact(cases[i].s, cases[i].n);

		tap_begin("hb_utf8_cut: %s == %zu", cases[i].name, cases[i].want);
		check_int(hb_utf8_cut(s, cases[i].n), ==, cases[i].want);
		free(s);
		tap_end();
	}

	{
		/* A complete character followed by a stray continuation byte: the
		 * cut may drop the stray byte, never the character before it. */
		static const struct {
			const char *s;
			size_t n, at_least;
		} stray[] = {
			{L("a\xc3\xa9\x80"), 3},
			{L("\xe2\x82\xac\x80"), 3},
			{L("\xf0\x9f\x98\x80\x80"), 4},
			{L("ab\xc3\xa9\x80\x80"), 4},
		};

		tap_begin("hb_utf8_cut keeps a complete character followed by a stray continuation byte");
		for (size_t i = 0; i < NELEM(stray); i++) {
			size_t got = hb_utf8_cut(stray[i].s, stray[i].n);

			check_int(got, >=, stray[i].at_least);
			check_int(got, <=, stray[i].n);
		}
		tap_end();
	}

	/* Every prefix length of a mixed valid string: the largest boundary <= n. */
	{
		static const char mix[] = "a\xc3\xa9" "b\xe2\x82\xac\xf0\x9f\x98\x80" "c\xf4\x8f\xbf\xbf";
		/* 1 = a character starts here (or the end). */
		static const int boundary[] = {1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1};
		int bad = 0;

		tap_begin("hb_utf8_cut on every prefix of a mixed string gives the last boundary");
		check_int(sizeof mix - 1 + 1, ==, NELEM(boundary));
		for (size_t n = 0; n < sizeof mix; n++) {
			size_t want = n;

			while (!boundary[want])
				want--;
			if (hb_utf8_cut(mix, n) != want && bad++ < 5)
				printf("#   n=%zu: got %zu want %zu\n", n, hb_utf8_cut(mix, n), want);
			if (hb_utf8_valid_prefix(mix, hb_utf8_cut(mix, n)) != hb_utf8_cut(mix, n))
				bad++;
		}
		check_int(bad, ==, 0);
		tap_end();
	}
}

/* ---- base64 ---- */

static void test_base64(void)
{
	static const struct {
		const char *plain, *coded;
	} rfc[] = {
		{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
		{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
	};
	static const struct {
		const char *s;
		size_t n;
	} bad[] = {
		{L("Z")}, {L("Zg")}, {L("Zg=")}, {L("Zm9vY")}, {L("Z===")}, {L("====")}, {L("Zg=a")},
		{L("=Zg=")}, {L("Zg==Zg==")}, {L("Zm9v!A==")}, {L("Zm 9")}, {L("Zm9v\n")}, {L("Zm8==")},
		{L("Zm-v")}, {L("Zm_v")}, {L("Zm9v====")}, {L("Z\0==")}, {L("Zg\0=")},
		{L("\xc3\xa9\xc3\xa9")},
	};

	for (size_t i = 0; i < NELEM(rfc); i++) {
		struct hb_buf b = {0};
		int rc;

		tap_begin("base64 RFC 4648 vector \"%s\" <-> \"%s\"", rfc[i].plain, rfc[i].coded);
		hb_base64_encode(&b, (const unsigned char *)rfc[i].plain, strlen(rfc[i].plain));
		check_mem(b.p, b.len, rfc[i].coded, strlen(rfc[i].coded));
		hb_buf_reset(&b);
		rc = hb_base64_decode(&b, rfc[i].coded, strlen(rfc[i].coded));
		check_int(rc, ==, 0);
		check_mem(b.p, b.len, rfc[i].plain, strlen(rfc[i].plain));
		hb_buf_release(&b);
		tap_end();
	}

	for (size_t len = 0; len <= 10; len++) {
		struct hb_buf enc = {0}, dec = {0};
		unsigned char src[16];
		int ok = 1;

		tap_begin("base64 round trip, length %zu, several byte patterns", len);
		for (int pat = 0; pat < 64; pat++) {
			for (size_t k = 0; k < len; k++)
				src[k] = (unsigned char)(pat * 37 + k * 101 + (pat & 1 ? 0xff : 0));
			hb_buf_reset(&enc);
			hb_buf_reset(&dec);
			hb_base64_encode(&enc, src, len);
			if (enc.len != (len + 2) / 3 * 4)
				ok = 0;
			if (hb_base64_decode(&dec, enc.p ? enc.p : "", enc.len) != 0 ||
			    dec.len != len || (len && memcmp(dec.p, src, len) != 0))
				ok = 0;
		}
		check(ok);
		hb_buf_release(&enc);
		hb_buf_release(&dec);
		tap_end();
	}

	{
		struct hb_buf enc = {0}, dec = {0};
		unsigned char all[256];
		int rc;

		for (int i = 0; i < 256; i++)
			all[i] = (unsigned char)(255 - i);
		tap_begin("base64 round trip of all 256 byte values");
		hb_base64_encode(&enc, all, sizeof all);
		check_int(enc.len, ==, 344);
		rc = hb_base64_decode(&dec, enc.p, enc.len);
		check_int(rc, ==, 0);
		check_mem(dec.p, dec.len, all, sizeof all);
		hb_buf_release(&enc);
		hb_buf_release(&dec);
		tap_end();
	}

	for (size_t i = 0; i < NELEM(bad); i++) {
		struct hb_buf b = {0};
		size_t n = bad[i].n;
		char *s = dup_exact(bad[i].s, n);
		int rc;

		tap_begin("base64 decode rejects invalid input #%zu", i);
		rc = hb_base64_decode(&b, s, n);
		check_int(rc, ==, -1);
		hb_buf_release(&b);
		free(s);
		tap_end();
	}
}

/* ---- hb_json_validate ---- */

static void test_validate_valid(void)
{
	static const struct {
		const char *s;
		size_t n;
	} cases[] = {
		{L("{}")}, {L("[]")}, {L("{ }")}, {L("[ ]")}, {L(" {\"a\":1} ")},
		{L("\t{\r\n\"a\"\n:\t1 }\r\n")}, {L("\"str\"")}, {L("\"\"")}, {L("0")}, {L("-0")},
		{L("1.5e10")}, {L("-1.5E-3")}, {L("1e+2")}, {L("0.0")}, {L("123456789012345678901234567890")},
		{L("true")}, {L("false")}, {L("null")}, {L("[1,2,3]")}, {L("[[[[]]]]")},
		{L("{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\\n\\\"\\\\\\/\\b\\f\\r\\t\"}")},
		{L("\"\\ud83d\\ude00\"")}, {L("\"\\uD83D\\uDE00\"")}, {L("\"\\u00E9\"")},
		{L("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"")}, {L("\"\\u0000\"")}, {L("{\"a\":1,\"a\":2}")},
		{L("{\"\":\"\"}")}, {L("\"\x7f\"")}, {L("[true,false,null,\"x\",1,-1.0,{}]")},
		{L("{\"customer_id\":\"CUST_00042\",\"timestamp\":\"2026-11-23T10:00:00.500Z\",\"heart_rate\":73}")},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *s = dup_exact(cases[i].s, cases[i].n);
		size_t col = 999;
		const char *err = NULL;
		int rc;

		tap_begin("hb_json_validate accepts valid text #%zu", i);
		rc = hb_json_validate(s, cases[i].n, 64, NULL, &col, &err);
		check_int(rc, ==, 0);
		if (rc)
			printf("#   col %zu: %s\n", col, err ? err : "?");
		free(s);
		tap_end();
	}
}

struct bad_json {
	const char *name;
	const char *s;
	size_t n;
	size_t col;       /* expected 1-based column, 0: any */
	const char *msg;  /* a word of the message, or NULL */
};

static void test_validate_invalid(void)
{
	static const struct bad_json cases[] = {
		{"NaN", L("NaN"), 1, NULL},
		{"NaN as a value", L("{\"a\":NaN}"), 6, NULL},
		{"Infinity", L("[Infinity]"), 2, NULL},
		{"line comment", L("// c\n{}"), 1, NULL},
		{"comment after", L("{} // c"), 4, "trailing"},
		{"block comment", L("/* */ {}"), 1, NULL},
		{"trailing comma in array", L("[1,2,]"), 6, NULL},
		{"trailing comma in object", L("{\"a\":1,}"), 8, NULL},
		{"single quotes", L("{'a':1}"), 2, NULL},
		{"single-quoted string", L("'a'"), 1, NULL},
		{"leading zero", L("01"), 2, NULL},
		{"leading zero in object", L("{\"a\":01}"), 7, NULL},
		{"leading zero negative", L("-01"), 3, NULL},
		{"plus sign", L("+1"), 1, NULL},
		{"bare minus", L("-"), 1, "number"},
		{"dot without digits", L("1."), 1, "number"},
		{"leading dot", L(".5"), 1, NULL},
		{"exponent without digits", L("1e"), 1, "number"},
		{"hex number", L("0x10"), 2, NULL},
		{"unescaped tab", L("\"a\tb\""), 3, "control"},
		{"unescaped newline", L("{\"a\":\"x\ny\"}"), 8, "control"},
		{"NUL in string", L("\"a\0b\""), 3, "NUL"},
		{"NUL outside", L("{\0}"), 2, NULL},
		{"lone high surrogate", L("\"\\ud800\""), 2, "surrogate"},
		{"high surrogate + BMP", L("\"\\ud800\\u0041\""), 2, "surrogate"},
		{"high + high", L("\"\\ud800\\ud800\""), 2, "surrogate"},
		{"lone low surrogate", L("\"x\\udc00\""), 3, "surrogate"},
		{"high surrogate at end", L("\"\\udbff"), 2, NULL},
		{"invalid escape", L("\"\\x41\""), 2, "escape"},
		{"invalid escape \\'", L("\"\\'\""), 2, "escape"},
		{"bad \\u hex", L("\"\\u12G4\""), 2, "escape"},
		{"short \\u", L("\"\\u12\""), 2, "escape"},
		{"escape at end", L("\"\\"), 2, NULL},
		{"unterminated string", L("\"abc"), 5, "unterminated"},
		{"unterminated key", L("{\"abc"), 6, "unterminated"},
		{"unterminated object", L("{\"a\":1"), 7, NULL},
		{"unterminated array", L("[1,2"), 5, NULL},
		{"open brace only", L("{"), 2, NULL},
		{"open bracket only", L("["), 2, NULL},
		{"close bracket", L("]"), 1, NULL},
		{"close brace", L("}"), 1, NULL},
		{"missing comma", L("[1 2]"), 4, NULL},
		{"missing colon", L("{\"a\" 1}"), 6, NULL},
		{"number key", L("{1:2}"), 2, NULL},
		{"missing value", L("{\"a\":}"), 6, NULL},
		{"empty member", L("{,}"), 2, NULL},
		{"leading comma", L("[,1]"), 2, NULL},
		{"mismatched close", L("[1}"), 3, NULL},
		{"mismatched close 2", L("{\"a\":1]"), 7, NULL},
		{"trailing characters", L("{\"a\":1}x"), 8, "trailing"},
		{"two values", L("{} {}"), 4, "trailing"},
		{"two numbers", L("1 2"), 3, "trailing"},
		{"empty", L(""), 1, "empty"},
		{"whitespace only", L(" \t "), 4, NULL},
		{"truncated literal", L("tru"), 1, "literal"},
		{"capital literal", L("True"), 1, NULL},
		{"truncated null", L("[nul]"), 2, "literal"},
		{"invalid UTF-8 in string", L("\"ab\xff\""), 4, "UTF-8"},
		{"overlong in string", L("\"\xc0\x80\""), 2, "UTF-8"},
		{"surrogate bytes in string", L("\"\xed\xa0\x80\""), 2, "UTF-8"},
		{"truncated UTF-8 in string", L("\"\xc3\""), 2, "UTF-8"},
		{"non-ASCII outside string", L("\xc3\xa9"), 1, NULL},
		{"BOM", L("\xef\xbb\xbf{}"), 1, NULL},
		{"vertical tab as whitespace", L("\v{}"), 1, NULL},
		{"form feed as whitespace", L("{}\f"), 3, NULL},
		{"unquoted key", L("{a:1}"), 2, NULL},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct bad_json *c = &cases[i];
		char *s = dup_exact(c->s, c->n);
		size_t col = 0;
		const char *err = NULL;

		tap_begin("hb_json_validate rejects %s%s", c->name,
			  c->col ? "" : " (any column)");
		check_int(hb_json_validate(s, c->n, 64, NULL, &col, &err), ==, -1);
		check(err != NULL && err[0] != '\0');
		if (c->col)
			check_int(col, ==, c->col);
		check(col >= 1 && col <= c->n + 1);
		if (c->msg) {
			check(err && strstr(err, c->msg));
			if (err && !strstr(err, c->msg))
				printf("#   message: %s\n", err);
		}
		free(s);
		tap_end();
	}
}

/* d nested containers, arrays and objects alternating, the innermost empty. */
static void nest(struct hb_buf *b, int d)
{
	for (int k = 0; k < d - 1; k++)
		hb_buf_puts(b, k % 2 ? "{\"k\":" : "[");
	hb_buf_puts(b, (d - 1) % 2 ? "{}" : "[]");
	for (int k = d - 2; k >= 0; k--)
		hb_buf_puts(b, k % 2 ? "}" : "]");
}

static void test_validate_depth(void)
{
	static const int depths[] = {1, 2, 5, 64, 255};

	for (size_t i = 0; i < NELEM(depths); i++) {
		int d = depths[i];
		struct hb_buf b = {0};
		size_t col = 0;
		const char *err = NULL;
		int rc;

		tap_begin("hb_json_validate max_depth %d: depth %d ok, %d refused", d, d, d + 1);
		/* Depth d, arrays and objects alternating, the innermost empty. */
		nest(&b, d);
		rc = hb_json_validate(b.p, b.len, d, NULL, &col, &err);
		check_int(rc, ==, 0);
		hb_buf_reset(&b);
		nest(&b, d + 1);
		rc = hb_json_validate(b.p, b.len, d, NULL, &col, &err);
		check_int(rc, ==, -1);
		check(err && strstr(err, "deep"));
		/* The column is that of the first bracket too many. */
		check_int(col, ==, 1 + (size_t)(d / 2) * 6 + (size_t)(d % 2));
		hb_buf_release(&b);
		tap_end();
	}

	{
		struct hb_buf b = {0};
		size_t col = 0;
		const char *err = NULL;

		tap_begin("hb_json_validate: 100000 nested '[' refused, no crash, column of the 65th");
		for (int k = 0; k < 100000; k++)
			hb_buf_putc(&b, '[');
		check_int(hb_json_validate(b.p, b.len, 64, NULL, &col, &err), ==, -1);
		check_int(col, ==, 65);
		check(err && strstr(err, "deep"));
		hb_buf_release(&b);
		tap_end();
	}
}

static int span_is(const struct hb_jspans *sp, int i, const char *key, const char *member)
{
	size_t kl = strlen(key), ml = strlen(member);

	return sp->m[i].key_len == kl && memcmp(sp->m[i].key, key, kl) == 0 &&
	       (size_t)(sp->m[i].end - sp->m[i].start) == ml &&
	       memcmp(sp->m[i].start, member, ml) == 0;
}

static void test_validate_spans(void)
{
	static struct hb_jspans sp;
	size_t col;
	const char *err;

	{
		static const char s[] =
			" { \"a\":1, \"bb\" : [1,{\"c\":2}] ,\"d\":{\"e\":\"}\",\"f\":[]},\"k\\\"ey\":\"v\\\"\" ,\"z\":true } ";

		tap_begin("hb_json_validate records top-level member spans of an object");
		check_int(hb_json_validate(s, sizeof s - 1, 64, &sp, &col, &err), ==, 0);
		check_int(sp.n, ==, 5);
		check_int(sp.oom, ==, 0);
		check(span_is(&sp, 0, "a", "\"a\":1"));
		check(span_is(&sp, 1, "bb", "\"bb\" : [1,{\"c\":2}]"));
		check(span_is(&sp, 2, "d", "\"d\":{\"e\":\"}\",\"f\":[]}"));
		check(span_is(&sp, 3, "k\\\"ey", "\"k\\\"ey\":\"v\\\"\""));
		check(span_is(&sp, 4, "z", "\"z\":true"));
		tap_end();
	}
	{
		static const char s[] = "{}";

		tap_begin("hb_json_validate spans of {} is empty");
		sp.n = 99;
		check_int(hb_json_validate(s, 2, 64, &sp, &col, &err), ==, 0);
		check_int(sp.n, ==, 0);
		tap_end();
	}
	{
		static const char s[] = "[{\"a\":1}]";

		tap_begin("hb_json_validate records no spans for an array");
		sp.n = 99;
		check_int(hb_json_validate(s, sizeof s - 1, 64, &sp, &col, &err), ==, 0);
		check_int(sp.n, ==, 0);
		tap_end();
	}
	{
		static const char s[] = "{\"a\":\"x\",\"b\":[1,2,3],\"c\":{},\"d\":-1.5e3}";

		tap_begin("hb_json_validate spans: each value kind ends where it should");
		check_int(hb_json_validate(s, sizeof s - 1, 64, &sp, &col, &err), ==, 0);
		check_int(sp.n, ==, 4);
		check(span_is(&sp, 0, "a", "\"a\":\"x\""));
		check(span_is(&sp, 1, "b", "\"b\":[1,2,3]"));
		check(span_is(&sp, 2, "c", "\"c\":{}"));
		check(span_is(&sp, 3, "d", "\"d\":-1.5e3"));
		tap_end();
	}
	{
		struct hb_buf b = {0};

		hb_buf_putc(&b, '{');
		for (int i = 0; i < 1000; i++)
			hb_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
		hb_buf_putc(&b, '}');
		tap_begin("hb_json_validate records all of 1000 members (the table grows)");
		check_int(hb_json_validate(b.p, b.len, 64, &sp, &col, &err), ==, 0);
		check_int(sp.n, ==, 1000);
		check_int(sp.oom, ==, 0);
		check(sp.cap >= 1000);
		check(span_is(&sp, 0, "k0", "\"k0\":0"));
		check(span_is(&sp, 255, "k255", "\"k255\":255"));
		check(span_is(&sp, 256, "k256", "\"k256\":256"));
		check(span_is(&sp, 999, "k999", "\"k999\":999"));
		check(sp.open == b.p);
		check(sp.close == b.p + b.len - 1);
		hb_buf_release(&b);
		tap_end();
	}
	hb_jspans_release(&sp);
	tap_begin("hb_jspans_release leaves an empty table, usable again");
	check_int(sp.n, ==, 0);
	check(sp.m == NULL);
	check_int(hb_json_validate("{\"a\":1}", 7, 64, &sp, &col, &err), ==, 0);
	check_int(sp.n, ==, 1);
	check(span_is(&sp, 0, "a", "\"a\":1"));
	hb_jspans_release(&sp);
	tap_end();
}

/* ---- hb_json_scan_flat ---- */

static void test_scan_flat(void)
{
	static struct hb_jflat f;

	{
		static const char s[] =
			" {\"customer_id\":\"CUST_00042\", \"timestamp\" : \"2026-11-23T10:00:00.500Z\","
			"\"heart_rate\":73,\"x\":-1.5e3,\"t\":true,\"f\":false,\"n\":null,\"e\":\"\"} ";
		const struct hb_jmember *m;

		tap_begin("hb_json_scan_flat reads a flat object");
		check_int(hb_json_scan_flat(s, sizeof s - 1, &f), ==, 1);
		check_int(f.n, ==, 8);
		check(f.open == s + 1);
		check(f.close == s + sizeof s - 3);
		m = hb_jflat_get(&f, "customer_id");
		check(m && m->type == HB_J_STRING);
		check(m && m->start == s + 2);
		check(m && m->val_len == 10 && memcmp(m->val, "CUST_00042", 10) == 0);
		m = hb_jflat_get(&f, "timestamp");
		check(m && m->val_len == 24);
		check(m && (size_t)(m->end - m->start) == strlen("\"timestamp\" : \"2026-11-23T10:00:00.500Z\""));
		m = hb_jflat_get(&f, "heart_rate");
		check(m && m->type == HB_J_NUMBER && m->num_int == 1);
		check(m && m->val_len == 2 && memcmp(m->val, "73", 2) == 0);
		m = hb_jflat_get(&f, "x");
		check(m && m->type == HB_J_NUMBER && m->num_int == 0);
		check(m && m->val_len == 6);
		m = hb_jflat_get(&f, "t");
		check(m && m->type == HB_J_TRUE);
		m = hb_jflat_get(&f, "f");
		check(m && m->type == HB_J_FALSE);
		m = hb_jflat_get(&f, "n");
		check(m && m->type == HB_J_NULL);
		m = hb_jflat_get(&f, "e");
		check(m && m->type == HB_J_STRING && m->val_len == 0);
		check(hb_jflat_get(&f, "missing") == NULL);
		check(hb_jflat_get(&f, "heart") == NULL);
		tap_end();
	}
	{
		static const char s[] = "{\"a\":1,\"b\":2,\"a\":3}";
		const struct hb_jmember *m;

		tap_begin("hb_jflat_get returns the last of repeated keys");
		check_int(hb_json_scan_flat(s, sizeof s - 1, &f), ==, 1);
		check_int(f.n, ==, 3);
		m = hb_jflat_get(&f, "a");
		check(m && m->val_len == 1 && m->val[0] == '3');
		tap_end();
	}
	{
		static const char s[] = "{}";

		tap_begin("hb_json_scan_flat accepts {} with no members");
		check_int(hb_json_scan_flat(s, 2, &f), ==, 1);
		check_int(f.n, ==, 0);
		tap_end();
	}

	{
		static const struct {
			const char *name, *s;
			size_t n;
		} no[] = {
			{"nested object", L("{\"a\":{}}")},
			{"nested array", L("{\"a\":[1]}")},
			{"escape in value", L("{\"a\":\"\\n\"}")},
			{"escape in key", L("{\"\\u0061\":1}")},
			{"non-ASCII", L("{\"a\":\"\xc3\xa9\"}")},
			{"control char", L("{\"a\":\"\t\"}")},
			{"array", L("[1]")},
			{"string", L("\"a\"")},
			{"number", L("1")},
			{"empty", L("")},
			{"blank", L("  ")},
			{"trailing comma", L("{\"a\":1,}")},
			{"leading zero", L("{\"a\":01}")},
			{"NaN", L("{\"a\":NaN}")},
			{"single quotes", L("{'a':1}")},
			{"trailing garbage", L("{\"a\":1}x")},
			{"two objects", L("{}{}")},
			{"unterminated", L("{\"a\":1")},
			{"missing colon", L("{\"a\" 1}")},
			{"truncated literal", L("{\"a\":tru}")},
			{"bare minus", L("{\"a\":-}")},
			{"NUL", L("{\"a\":1}\0")},
			{"cut after key", L("{\"a\"")},
			{"cut after colon", L("{\"a\":")},
			{"cut in number", L("{\"a\":1.")},
		};

		for (size_t i = 0; i < NELEM(no); i++) {
			char *s = dup_exact(no[i].s, no[i].n);

			tap_begin("hb_json_scan_flat declines %s", no[i].name);
			check_int(hb_json_scan_flat(s, no[i].n, &f), ==, 0);
			free(s);
			tap_end();
		}
	}
	{
		struct hb_buf b = {0};

		tap_begin("hb_json_scan_flat: HB_JFLAT_MAX members ok, one more declined");
		hb_buf_putc(&b, '{');
		for (int i = 0; i < HB_JFLAT_MAX; i++)
			hb_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
		hb_buf_putc(&b, '}');
		check_int(hb_json_scan_flat(b.p, b.len, &f), ==, 1);
		check_int(f.n, ==, HB_JFLAT_MAX);
		b.len--;
		hb_buf_puts(&b, ",\"one_more\":1}");
		check_int(hb_json_scan_flat(b.p, b.len, &f), ==, 0);
		hb_buf_release(&b);
		tap_end();
	}
}

/* splitmix64, for reproducible mutations. */
static uint64_t rnd(uint64_t *st)
{
	uint64_t z = (*st += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Mutate s[0..*n) in place (cap bytes of room), one to three edits. */
static void mutate(char *s, size_t *n, size_t cap, uint64_t *st)
{
	static const char alphabet[] = "{}[]\":,.-+eE0123456789tfnulrsa \t\n\r\\/u\x7f";
	int edits = 1 + (int)(rnd(st) % 3);

	for (int k = 0; k < edits; k++) {
		size_t at = *n ? (size_t)(rnd(st) % *n) : 0;
		char c;

		switch (rnd(st) % 8) {
		case 0:
			c = (char)(rnd(st) % 256);
			break;
		default:
			c = alphabet[rnd(st) % (sizeof alphabet - 1)];
			break;
		}
		switch (rnd(st) % 5) {
		case 0:	/* delete */
			if (*n) {
				memmove(s + at, s + at + 1, *n - at - 1);
				(*n)--;
			}
			break;
		case 1:	/* insert */
			if (*n < cap) {
				memmove(s + at + 1, s + at, *n - at);
				s[at] = c;
				(*n)++;
			}
			break;
		case 2:	/* replace */
			if (*n)
				s[at] = c;
			break;
		case 3:	/* truncate */
			*n = at;
			break;
		default: { /* duplicate a short segment */
			size_t len = 1 + (size_t)(rnd(st) % 12);

			if (at + len <= *n && *n + len <= cap) {
				memmove(s + at + len, s + at, *n - at);
				(*n) += len;
			}
			break;
		}
		}
	}
}

/* Sound test for "flat": one '{' and no '[' anywhere, no '\\', printable ASCII. */
static int looks_flat(const char *s, size_t n)
{
	int braces = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '{')
			braces++;
		if (c == '[' || c == '\\' || c >= 0x80 || (c < 0x20 && c != ' ' && c != '\t' &&
							   c != '\n' && c != '\r'))
			return 0;
	}
	return braces == 1;
}

static void test_scan_flat_agrees(void)
{
	static const char *const seeds[] = {
		"{\"customer_id\":\"CUST_00042\",\"timestamp\":\"2026-11-23T10:00:00.500Z\",\"heart_rate\":73}",
		"{ \"customer_id\" : \"C1\" , \"timestamp\":\"2026-11-23T10:00:00Z\", \"heart_rate\": -1.5e+3, \"ok\":true, \"n\":null }",
		"{\"a\":\"b\",\"c\":[1,{\"d\":false}],\"e\":\"\\u00e9\"}",
		"{}",
	};
	static struct hb_jflat f;
	static struct hb_jspans sp;
	uint64_t st = 20261123;
	int accepted = 0, rejected = 0, disagree = 0, missed = 0, flat_like = 0, span_bad = 0;

	tap_begin("hb_json_scan_flat never accepts what hb_json_validate refuses (20000 mutations)");
	for (int iter = 0; iter < 20000; iter++) {
		const char *seed = seeds[iter % NELEM(seeds)];
		char work[512];
		size_t n = strlen(seed), col;
		const char *err;
		char *s;
		int flat, valid;

		memcpy(work, seed, n);
		mutate(work, &n, sizeof work, &st);
		s = dup_exact(work, n);
		flat = hb_json_scan_flat(s, n, &f);
		valid = hb_json_validate(s, n, 64, &sp, &col, &err) == 0;
		if (flat) {
			accepted++;
			if (!valid && disagree++ < 5)
				printf("#   flat accepts, validate refuses (%s at %zu): %.*s\n",
				       err, col, (int)n, s);
			/* Both see the same members. */
			if (valid) {
				if (sp.n != f.n)
					span_bad++;
				for (int i = 0; i < f.n && i < sp.n; i++)
					if (sp.m[i].start != f.m[i].start || sp.m[i].end != f.m[i].end)
						span_bad++;
			}
		} else {
			rejected++;
		}
		/* The converse for texts that are obviously flat objects. */
		if (valid && looks_flat(s, n)) {
			const char *p = s;

			while (p < s + n && *p != '{' && *p != '"')
				p++;
			if (p < s + n && *p == '{' && sp.n <= HB_JFLAT_MAX) {
				flat_like++;
				if (!flat && missed++ < 5)
					printf("#   validate accepts a flat object, flat declines: %.*s\n",
					       (int)n, s);
			}
		}
		free(s);
	}
	printf("# %d accepted by the flat scanner, %d declined, %d flat-like valid\n",
	       accepted, rejected, flat_like);
	check_int(disagree, ==, 0);
	check_int(missed, ==, 0);
	check_int(span_bad, ==, 0);
	check(accepted > 100);
	check(rejected > 100);
	tap_end();
}

/* hb_json_parse: json-c sees only what the validator took. */
static void test_parse(void)
{
	static const struct {
		const char *s;
		int rc;
		size_t col;              /* rc -1: the column */
		json_type type;          /* rc 0 */
	} cases[] = {
		{"{\"a\":1}", 0, 0, json_type_object},
		{" [1, 2] ", 0, 0, json_type_array},
		{"12", 0, 0, json_type_int},
		{"-1.5e3", 0, 0, json_type_double},
		{"null", 0, 0, json_type_null},
		{"{\"a\":1,}", -1, 8, json_type_null},      /* json-c takes a trailing comma */
		{"{\"a\":NaN}", -1, 6, json_type_null},      /* and NaN */
		{"[1] [2]", -1, 5, json_type_null},
		{"", -1, 1, json_type_null},
	};
	json_tokener *tok = json_tokener_new_ex(65);
	struct hb_jspans sp = {0};

	for (size_t i = 0; i < NELEM(cases); i++) {
		json_object *o = (json_object *)&sp;	/* must be overwritten */
		const char *err = NULL;
		size_t col = 0;
		int rc;

		tap_begin("hb_json_parse '%s' -> %d", cases[i].s, cases[i].rc);
		rc = hb_json_parse(tok, cases[i].s, strlen(cases[i].s), 64, &sp, &o, &col, &err);
		check_int(rc, ==, cases[i].rc);
		if (cases[i].rc < 0) {
			check(o == NULL);
			check(err != NULL);
			check_int((int)col, ==, (int)cases[i].col);
		} else {
			check_int((int)json_object_get_type(o), ==, (int)cases[i].type);
			check(cases[i].type != json_type_null || o == NULL);
		}
		json_object_put(o == (json_object *)&sp ? NULL : o);
		tap_end();
	}
	{
		json_object *o = NULL, *x = NULL;
		size_t col;
		const char *err;
		static const char s[] = "{\"a\" : 1.50,\"b\":\"x\"}";

		tap_begin("hb_json_parse records spans and gives json-c's object");
		check_int(hb_json_parse(tok, s, sizeof s - 1, 64, &sp, &o, &col, &err), ==, 0);
		check_int(sp.n, ==, 2);
		check_int((int)(sp.m[0].end - sp.m[0].start), ==, 10);
		check(json_object_object_get_ex(o, "b", &x));
		check_str(json_object_get_string(x), "x");
		json_object_put(o);
		tap_end();
	}
	hb_jspans_release(&sp);
	json_tokener_free(tok);
}

int main(void)
{
	test_escape();
	test_escape_all_bytes();
	test_utf8_valid_prefix();
	test_utf8_cut();
	test_base64();
	test_validate_valid();
	test_validate_invalid();
	test_validate_depth();
	test_validate_spans();
	test_parse();
	test_scan_flat();
	test_scan_flat_agrees();
	return tap_done();
}
