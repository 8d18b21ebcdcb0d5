/* test_event — hb_event: one NDJSON line to a reading, on the fast (flat)
 * and the slow (validator + json-c) path, classified lines read back, and
 * Kafka-coordinate prefixes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_event.h"
#include "hb_json.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define L(s) s, sizeof(s) - 1

#define TS "2026-11-23T10:00:00.500Z"
#define TS_US (1795428000LL * 1000000 + 500000)
#define CID64 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_."
#define CID65 CID64 "-"

static struct hb_parser *P;

/* Parse a copy of line[0..n) that is exactly n bytes long (for ASan). */
static int parse(const char *line, size_t n, struct hb_event *ev, char **copy)
{
	*copy = malloc(n ? n : 1);
	if (!*copy)
		abort();
	if (n)
		memcpy(*copy, line, n);
	return hb_event_parse(P, *copy, n, ev);
}

static int str_is(struct hb_str s, const char *want, size_t n)
{
	return s.n == n && (n == 0 || (s.p && memcmp(s.p, want, n) == 0));
}

/* ev.ts is the text of the "timestamp" value in line (which has no escapes there). */
static int ts_is(struct hb_str ts, const char *line)
{
	const char *v = strstr(line, "\"timestamp\""), *e;

	if (!v)
		return 0;
	v = strchr(strchr(v + 11, ':'), '"') + 1;
	e = strchr(v, '"');
	return str_is(ts, v, (size_t)(e - v));
}

struct good {
	const char *name;
	const char *line;
	size_t n;
	const char *cid;
	int64_t ts_us;
	int64_t hr;
	int fast;          /* 1: the fast path must take it (hr_text set); 0: slow */
	int members;
};

static void test_valid(void)
{
	static const struct good cases[] = {
		{"canonical reading",
		 L("{\"customer_id\":\"CUST_00042\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "CUST_00042", TS_US, 73, 1, 3},
		{"whitespace around every token",
		 L(" \t{ \"customer_id\" : \"CUST_1\" ,\t\"timestamp\" :\"" TS "\" , \"heart_rate\" : 73 } "),
		 "CUST_1", TS_US, 73, 1, 3},
		{"trailing CR and blanks",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":60} \t\r"),
		 "C", TS_US, 60, 1, 3},
		{"members in another order, extra flat fields",
		 L("{\"heart_rate\":181,\"x\":null,\"timestamp\":\"" TS "\",\"y\":true,\"customer_id\":\"a.b:c-d_e\",\"z\":1.5}"),
		 "a.b:c-d_e", TS_US, 181, 1, 6},
		{"zone offset",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T11:00:00.500+01:00\",\"heart_rate\":73}"),
		 "C", TS_US, 73, 1, 3},
		{"customer_id of 64 characters",
		 L("{\"customer_id\":\"" CID64 "\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 CID64, TS_US, 73, 1, 3},
		{"timestamp with 9 fractional digits, rounded",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T10:00:00.500000400Z\",\"heart_rate\":73}"),
		 "C", TS_US, 73, 1, 3},
		{"heart_rate 0 (range is the classifier's)",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":0}"), "C", TS_US, 0, 1, 3},
		{"heart_rate -5",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":-5}"), "C", TS_US, -5, 1, 3},
		{"heart_rate -0",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":-0}"), "C", TS_US, 0, 1, 3},
		{"heart_rate huge saturates",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":99999999999999999999999}"),
		 "C", TS_US, INT64_MAX, 1, 3},
		{"heart_rate huge negative saturates",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":-99999999999999999999999}"),
		 "C", TS_US, INT64_MIN, 1, 3},
		{"heart_rate INT64_MAX",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":9223372036854775807}"),
		 "C", TS_US, INT64_MAX, 1, 3},
		/* The slow path. */
		{"unknown nested object forces the slow path",
		 L("{\"customer_id\":\"CUST_00042\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"meta\":{\"a\":[1,2,{\"b\":null}]}}"),
		 "CUST_00042", TS_US, 73, 0, 4},
		{"unknown array field",
		 L("{\"tags\":[\"x\"],\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "C", TS_US, 73, 0, 4},
		{"unicode escape in an unknown field",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"note\":\"caf\\u00e9 \\ud83d\\ude00\"}"),
		 "C", TS_US, 73, 0, 4},
		{"raw UTF-8 in an unknown field",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"note\":\"caf\xc3\xa9\"}"),
		 "C", TS_US, 73, 0, 4},
		{"escape inside customer_id",
		 L("{\"customer_id\":\"CUST\\u005f1\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "CUST_1", TS_US, 73, 0, 3},
		{"escaped key",
		 L("{\"customer\\u005fid\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "C", TS_US, 73, 0, 3},
		{"slow path with whitespace and newline-free tabs",
		 L(" {\t\"customer_id\" : \"C\", \"timestamp\" : \"" TS "\", \"heart_rate\" : 73, \"m\" : { } } "),
		 "C", TS_US, 73, 0, 4},
		{"slow path huge heart_rate saturates",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":99999999999999999999999,\"m\":[]}"),
		 "C", TS_US, INT64_MAX, 0, 4},
		{"slow path negative heart_rate",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":-7,\"m\":[]}"),
		 "C", TS_US, -7, 0, 4},
		/* Duplicate keys: the last one wins, on both paths, as in json-c. */
		{"duplicate customer_id, last wins (fast)",
		 L("{\"customer_id\":\"A\",\"customer_id\":\"B\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "B", TS_US, 73, 1, 4},
		{"duplicate heart_rate, last (valid) wins (fast)",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":\"x\",\"heart_rate\":74}"),
		 "C", TS_US, 74, 1, 4},
		{"duplicate customer_id, last wins (slow)",
		 L("{\"customer_id\":\"A\",\"customer_id\":\"B\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":{}}"),
		 "B", TS_US, 73, 0, -1},
		{"duplicate heart_rate, last (valid) wins (slow)",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":\"x\",\"heart_rate\":74,\"m\":{}}"),
		 "C", TS_US, 74, 0, -1},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct good *c = &cases[i];
		struct hb_event ev;
		char *copy;
		int rc;

		tap_begin("hb_event_parse accepts: %s", c->name);
		rc = parse(c->line, c->n, &ev, &copy);
		check_int(rc, ==, 0);
		check_str(ev.why, "");
		check(ev.is_object);
		check(ev.cid_ok && ev.ts_ok && ev.hr_ok);
		check(str_is(ev.cid, c->cid, strlen(c->cid)));
		check_int(ev.ts_us, ==, c->ts_us);
		check(ts_is(ev.ts, c->line));
		check_int(ev.hr, ==, c->hr);
		check_int(ev.has_coord, ==, 0);
		check_int(ev.has_status, ==, 0);
		check_int(ev.reserved, ==, 0);
		check_int(ev.raw_length, ==, -1);
		if (c->members >= 0)
			check_int(ev.members, ==, c->members);
		if (c->fast) {
			check(ev.hr_text.p != NULL);
			check(ev.hr_text.p && ev.hr_text.p >= copy && ev.hr_text.p < copy + c->n);
		} else {
			check(ev.hr_text.p == NULL);
		}
		/* text is the value with trailing blanks and CR removed. */
		check(ev.text.p == copy);
		check(ev.text.n <= c->n && ev.text.n > 0 && copy[ev.text.n - 1] == '}');
		if (rc)
			printf("#   why: %s\n", ev.why);
		free(copy);
		tap_end();
	}
}

struct bad {
	const char *name;
	const char *line;
	size_t n;
	const char *phrase;   /* must appear in ev.why */
	const char *phrase2;  /* and this one too, if set */
	int is_object;
};

static void test_invalid(void)
{
	static const struct bad cases[] = {
		{"missing customer_id", L("{\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "missing customer_id", NULL, 1},
		{"missing timestamp", L("{\"customer_id\":\"C\",\"heart_rate\":73}"),
		 "missing timestamp", NULL, 1},
		{"missing heart_rate", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\"}"),
		 "missing heart_rate", NULL, 1},
		{"missing everything", L("{}"), "missing customer_id", "missing heart_rate", 1},
		{"missing heart_rate (slow)", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"m\":[]}"),
		 "missing heart_rate", NULL, 1},
		{"misspelt key", L("{\"customer\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "missing customer_id", NULL, 1},
		{"key with different case", L("{\"Customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "missing customer_id", NULL, 1},
		{"customer_id 1.5", L("{\"customer_id\":1.5,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id must be a string or an integer", "(got 1.5)", 1},
		{"customer_id 1e3", L("{\"customer_id\":1e3,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id must be a string or an integer", "(got 1e3)", 1},
		{"customer_id 42.0", L("{\"customer_id\":42.0,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id must be a string or an integer", "(got 42.0)", 1},
		{"customer_id -1E+2", L("{\"customer_id\":-1E+2,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id must be a string or an integer", "(got -1E+2)", 1},
		{"customer_id 1.5 (slow)", L("{\"customer_id\":1.5,\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":[]}"),
		 "customer_id must be a string or an integer", "(got 1.5)", 1},
		{"customer_id 1e3 (slow)", L("{\"customer_id\":1e3,\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":[]}"),
		 "customer_id must be a string or an integer", "(got 1e3)", 1},
		{"customer_id a 65-digit integer",
		 L("{\"customer_id\":12345678901234567890123456789012345678901234567890123456789012345,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id as an integer must have at most 64 characters", "(got 65)", 1},
		{"customer_id a 65-digit integer (slow)",
		 L("{\"customer_id\":-1234567890123456789012345678901234567890123456789012345678901234,\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":[]}"),
		 "customer_id as an integer must have at most 64 characters", "(got 65)", 1},
		{"customer_id null", L("{\"customer_id\":null,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id must be a string or an integer", "null", 1},
		{"customer_id true", L("{\"customer_id\":true,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id must be a string or an integer", "boolean", 1},
		{"customer_id false (slow)", L("{\"customer_id\":false,\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":[]}"),
		 "customer_id must be a string or an integer", "boolean", 1},
		{"customer_id an object", L("{\"customer_id\":{},\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id must be a string or an integer", "object", 1},
		{"customer_id an array", L("{\"customer_id\":[\"C\"],\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id must be a string or an integer", "array", 1},
		{"customer_id \"42\" is a string, \"4 2\" is not valid",
		 L("{\"customer_id\":\"4 2\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id must be 1-64", NULL, 1},
		{"customer_id empty", L("{\"customer_id\":\"\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id", "1-64", 1},
		{"customer_id of 65 characters", L("{\"customer_id\":\"" CID65 "\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id", "1-64", 1},
		{"customer_id with a space", L("{\"customer_id\":\"CUST 1\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id", "[A-Za-z0-9_.:-]", 1},
		{"customer_id with a slash", L("{\"customer_id\":\"a/b\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id", "[A-Za-z0-9_.:-]", 1},
		{"customer_id non-ASCII", L("{\"customer_id\":\"caf\xc3\xa9\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id", "[A-Za-z0-9_.:-]", 1},
		{"customer_id with escaped NUL", L("{\"customer_id\":\"C\\u0000\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id", "[A-Za-z0-9_.:-]", 1},
		{"timestamp a number", L("{\"customer_id\":\"C\",\"timestamp\":1795428000,\"heart_rate\":73}"),
		 "timestamp must be a string", NULL, 1},
		{"timestamp not a date", L("{\"customer_id\":\"C\",\"timestamp\":\"yesterday\",\"heart_rate\":73}"),
		 "bad timestamp", NULL, 1},
		{"timestamp 2026-02-29", L("{\"customer_id\":\"C\",\"timestamp\":\"2026-02-29T10:00:00Z\",\"heart_rate\":73}"),
		 "bad timestamp", "day", 1},
		{"timestamp without zone", L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T10:00:00\",\"heart_rate\":73}"),
		 "bad timestamp", "zone", 1},
		{"timestamp leap second", L("{\"customer_id\":\"C\",\"timestamp\":\"2016-12-31T23:59:60Z\",\"heart_rate\":73}"),
		 "bad timestamp", NULL, 1},
		{"heart_rate 73.5", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73.5}"),
		 "heart_rate must be an integer", "73.5", 1},
		{"heart_rate 1e2", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":1e2}"),
		 "heart_rate must be an integer", "1e2", 1},
		{"heart_rate 73.0", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73.0}"),
		 "heart_rate must be an integer", NULL, 1},
		{"heart_rate \"73\"", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":\"73\"}"),
		 "heart_rate must be an integer", "string", 1},
		{"heart_rate null", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":null}"),
		 "heart_rate must be an integer", "null", 1},
		{"heart_rate true", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":true}"),
		 "heart_rate must be an integer", "boolean", 1},
		{"heart_rate false", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":false}"),
		 "heart_rate must be an integer", "boolean", 1},
		{"heart_rate an object", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":{\"v\":73}}"),
		 "heart_rate must be an integer", "object", 1},
		{"heart_rate an array", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":[73]}"),
		 "heart_rate must be an integer", "array", 1},
		{"heart_rate 73.5 (slow)", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73.5,\"m\":[]}"),
		 "heart_rate must be an integer", "73.5", 1},
		{"heart_rate 1e2 (slow)", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":1e2,\"m\":[]}"),
		 "heart_rate must be an integer", NULL, 1},
		{"duplicate heart_rate, last (bad) wins",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"heart_rate\":\"73\"}"),
		 "heart_rate must be an integer", NULL, 1},
		{"duplicate heart_rate, last (bad) wins (slow)",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"heart_rate\":\"73\",\"m\":[]}"),
		 "heart_rate must be an integer", NULL, 1},
		{"duplicate customer_id, last (bad) wins",
		 L("{\"customer_id\":\"C\",\"customer_id\":\"\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "customer_id", "1-64", 1},
		{"all three wrong", L("{\"customer_id\":0.1,\"timestamp\":2,\"heart_rate\":\"x\"}"),
		 "customer_id must be a string or an integer", "; heart_rate must be an integer", 1},
		{"timestamp without zone (no --assume-utc)",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T08:00:00.123456\",\"heart_rate\":73}"),
		 "bad timestamp: missing zone", "--assume-utc", 1},
		/* Not an object. */
		{"an array", L("[1,2,3]"), "not a JSON object", "array", 0},
		{"an array of readings", L("[{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}]"),
		 "not a JSON object", "array", 0},
		{"a string", L("\"hello\""), "not a JSON object", "string", 0},
		{"a number", L("42"), "not a JSON object", "number", 0},
		{"a negative number", L("-4.5e1"), "not a JSON object", "number", 0},
		{"null", L("null"), "not a JSON object", "null", 0},
		{"true", L("true"), "not a JSON object", "boolean", 0},
		/* Not JSON. */
		{"plain text", L("hello world"), "not JSON", NULL, 0},
		{"CSV", L("CUST_1," TS ",73"), "not JSON", NULL, 0},
		{"cut short", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":7"), "not JSON", NULL, 0},
		{"single quotes", L("{'customer_id':'C'}"), "not JSON", NULL, 0},
		{"unquoted keys", L("{customer_id:\"C\"}"), "not JSON", NULL, 0},
		{"two objects", L("{\"a\":1}}"), "not JSON", "trailing", 0},
		{"trailing comma", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,}"), "not JSON", NULL, 0},
		{"NaN heart_rate", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":NaN}"), "not JSON", NULL, 0},
		{"leading zero heart_rate", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":073}"), "not JSON", NULL, 0},
		{"comment", L("{\"customer_id\":\"C\"} // x"), "not JSON", NULL, 0},
		{"lone surrogate", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"n\":\"\\ud800\"}"),
		 "not JSON", "surrogate", 0},
		{"invalid escape", L("{\"customer_id\":\"C\\q\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "not JSON", "escape", 0},
		{"empty line", L(""), "not JSON", "empty", 0},
		{"blank line", L("  \t "), "not JSON", NULL, 0},
		{"CR only", L("\r"), "not JSON", NULL, 0},
		{"NUL byte in a string", L("{\"customer_id\":\"C\0\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "not JSON", "NUL", 0},
		{"NUL byte after the object", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}\0"),
		 "not JSON", NULL, 0},
		{"NUL alone", L("\0"), "not JSON", NULL, 0},
		{"invalid UTF-8 in a string", L("{\"customer_id\":\"C\xff\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "not JSON", "UTF-8", 0},
		{"invalid UTF-8 in an unknown field", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"x\":\"\xc0\x80\"}"),
		 "not JSON", "UTF-8", 0},
		{"Latin-1 line", L("caf\xe9"), "not JSON", NULL, 0},
		{"unescaped tab in a string", L("{\"customer_id\":\"C\t\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "not JSON", "control", 0},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct bad *c = &cases[i];
		struct hb_event ev;
		char *copy;
		int rc;

		tap_begin("hb_event_parse refuses: %s", c->name);
		rc = parse(c->line, c->n, &ev, &copy);
		check_int(rc, ==, -1);
		check(ev.why[0] != '\0');
		check(strchr(ev.why, '\n') == NULL);
		check(strstr(ev.why, c->phrase) != NULL);
		if (c->phrase2)
			check(strstr(ev.why, c->phrase2) != NULL);
		if (!strstr(ev.why, c->phrase) || (c->phrase2 && !strstr(ev.why, c->phrase2)))
			printf("#   why: %s\n", ev.why);
		check_int(ev.is_object, ==, c->is_object);
		check_int(ev.has_coord, ==, 0);
		free(copy);
		tap_end();
	}
}

static void test_deep_nesting(void)
{
	struct hb_buf b = {0};
	struct hb_event ev;
	char *copy;
	int rc;

	tap_begin("hb_event_parse: an unknown field nested %d deep is INVALID, 64 is fine",
		  HB_JSON_MAX_DEPTH + 1);
	hb_buf_puts(&b, "{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":");
	for (int k = 0; k < HB_JSON_MAX_DEPTH - 1; k++)
		hb_buf_putc(&b, '[');
	for (int k = 0; k < HB_JSON_MAX_DEPTH - 1; k++)
		hb_buf_putc(&b, ']');
	hb_buf_putc(&b, '}');
	rc = parse(b.p, b.len, &ev, &copy);
	check_int(rc, ==, 0);
	free(copy);
	hb_buf_reset(&b);
	hb_buf_puts(&b, "{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":");
	for (int k = 0; k < HB_JSON_MAX_DEPTH; k++)
		hb_buf_putc(&b, '[');
	for (int k = 0; k < HB_JSON_MAX_DEPTH; k++)
		hb_buf_putc(&b, ']');
	hb_buf_putc(&b, '}');
	rc = parse(b.p, b.len, &ev, &copy);
	check_int(rc, ==, -1);
	check(strstr(ev.why, "not JSON") && strstr(ev.why, "deep"));
	free(copy);
	hb_buf_reset(&b);
	for (int k = 0; k < 100000; k++)
		hb_buf_putc(&b, '[');
	rc = parse(b.p, b.len, &ev, &copy);
	check_int(rc, ==, -1);
	check(strstr(ev.why, "deep") != NULL);
	free(copy);
	hb_buf_release(&b);
	tap_end();
}

static void test_classified(void)
{
	struct hb_event ev;
	char *copy;
	int rc;

	{
		static const char line[] =
			"{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":212,\"status\":\"TACHYCARDIA\"}";

		tap_begin("classified reading: status read back (fast path)");
		rc = parse(L(line), &ev, &copy);
		check_int(rc, ==, 0);
		check_int(ev.has_status, ==, 1);
		check_int(ev.status, ==, HB_TACHYCARDIA);
		check_int(ev.reserved, ==, 1);
		check_int(ev.hr, ==, 212);
		check_int(ev.has_raw, ==, 0);
		free(copy);
		tap_end();
	}
	{
		static const char *const names[] = {"NORMAL", "BRADYCARDIA", "TACHYCARDIA", "INVALID"};

		tap_begin("classified reading: each status name parses");
		for (int s = 0; s < 4; s++) {
			char line[200];
			int n = snprintf(line, sizeof line,
					 "{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":70,\"status\":\"%s\"}",
					 names[s]);

			rc = parse(line, (size_t)n, &ev, &copy);
			check_int(ev.has_status, ==, 1);
			check_int((int)ev.status, ==, s);
			free(copy);
		}
		tap_end();
	}
	{
		static const char line[] =
			"{\"status\":\"INVALID\",\"reason\":\"not JSON: x\",\"raw\":\"hello \\\"q\\\"\\u0000!\","
			"\"raw_base64\":\"aGVsbG8=\",\"raw_length\":5000}";

		tap_begin("classified INVALID record: reason, raw (decoded), raw_base64, raw_length");
		rc = parse(L(line), &ev, &copy);
		check_int(rc, ==, -1);
		check(ev.is_object);
		check_int(ev.has_status, ==, 1);
		check_int(ev.status, ==, HB_INVALID);
		check(str_is(ev.reason, L("not JSON: x")));
		check_int(ev.has_raw, ==, 1);
		check(str_is(ev.raw, L("hello \"q\"\0!")));
		check(str_is(ev.raw_b64, L("aGVsbG8=")));
		check_int(ev.raw_length, ==, 5000);
		check_int(ev.reserved, ==, 5);
		free(copy);
		tap_end();
	}
	{
		static const char line[] =
			"{\"status\":\"INVALID\",\"reason\":\"r\",\"raw\":\"plain\"}";

		tap_begin("classified INVALID record without escapes (fast path)");
		rc = parse(L(line), &ev, &copy);
		check_int(rc, ==, -1);
		check_int(ev.status, ==, HB_INVALID);
		check(str_is(ev.reason, L("r")));
		check(str_is(ev.raw, L("plain")));
		check(ev.raw_b64.p == NULL);
		check_int(ev.raw_length, ==, -1);
		free(copy);
		tap_end();
	}
	{
		static const struct {
			const char *name, *line;
			size_t n;
			int has_status, has_raw;
			int64_t raw_length;
			int reserved;
		} odd[] = {
			{"unknown status", L("{\"status\":\"FOO\"}"), 0, 0, -1, 1},
			{"lower-case status", L("{\"status\":\"normal\"}"), 0, 0, -1, 1},
			{"status a number", L("{\"status\":1}"), 0, 0, -1, 1},
			{"raw not a string", L("{\"status\":\"INVALID\",\"raw\":5}"), 1, 0, -1, 2},
			{"raw_length negative", L("{\"raw_length\":-3}"), 0, 0, -1, 1},
			{"raw_length not an integer", L("{\"raw_length\":3.5}"), 0, 0, -1, 1},
			{"raw_length a string", L("{\"raw_length\":\"3\"}"), 0, 0, -1, 1},
			{"raw_length 0", L("{\"raw_length\":0}"), 0, 0, 0, 1},
		};

		for (size_t i = 0; i < NELEM(odd); i++) {
			tap_begin("classified fields read back defensively: %s", odd[i].name);
			rc = parse(odd[i].line, odd[i].n, &ev, &copy);
			check_int(rc, ==, -1);
			check_int(ev.has_status, ==, odd[i].has_status);
			check_int(ev.has_raw, ==, odd[i].has_raw);
			check_int(ev.raw_length, ==, odd[i].raw_length);
			check_int(ev.reserved, ==, odd[i].reserved);
			free(copy);
			tap_end();
		}
	}
}

struct coord_case {
	const char *name;
	const char *line;
	size_t n;
	int has_coord;
	int32_t p;
	int64_t o;
	const char *text;     /* the value the event sees */
	size_t text_n;
	int valid;
};

static void test_coord(void)
{
	static const struct coord_case cases[] = {
		{"inline reading",
		 L("{\"_kafka\":{\"p\":2,\"o\":12345},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 1, 2, 12345, L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"), 1},
		{"inline reading, slow path",
		 L("{\"_kafka\":{\"p\":0,\"o\":0},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":[1]}"),
		 1, 0, 0, L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":[1]}"), 1},
		{"largest partition and offset",
		 L("{\"_kafka\":{\"p\":2147483647,\"o\":9223372036854775807},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 1, 2147483647, INT64_MAX, L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"), 1},
		{"empty object", L("{\"_kafka\":{\"p\":1,\"o\":9}}"), 1, 1, 9, L("{}"), 0},
		{"b64: not JSON", L("{\"_kafka\":{\"p\":0,\"o\":7,\"b64\":\"aGVsbG8=\"}}"), 1, 0, 7, L("hello"), 0},
		{"b64: empty value", L("{\"_kafka\":{\"p\":0,\"o\":8,\"b64\":\"\"}}"), 1, 0, 8, L(""), 0},
		{"b64: a reading with a trailing CR",
		 /* {"customer_id":"C","timestamp":"2026-11-23T10:00:00.500Z","heart_rate":73}\r */
		 L("{\"_kafka\":{\"p\":3,\"o\":4,\"b64\":\"eyJjdXN0b21lcl9pZCI6IkMiLCJ0aW1lc3RhbXAiOiIyMDI2LTExLTIzVDEwOjAwOjAwLjUwMFoiLCJoZWFydF9yYXRlIjo3M30N\"}}"),
		 1, 3, 4, L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"), 1},
		{"not a coordinate: negative partition",
		 L("{\"_kafka\":{\"p\":-1,\"o\":1},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 0, 0, 0, NULL, 0, 1},
		{"not a coordinate: leading zero",
		 L("{\"_kafka\":{\"p\":01,\"o\":1},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 0, 0, 0, NULL, 0, 0},
		{"not a coordinate: partition too big",
		 L("{\"_kafka\":{\"p\":2147483648,\"o\":1},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 0, 0, 0, NULL, 0, 1},
		{"not a coordinate: other keys",
		 L("{\"_kafka\":{\"o\":1,\"p\":1},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 0, 0, 0, NULL, 0, 1},
		{"not a coordinate: spaces",
		 L("{ \"_kafka\":{\"p\":1,\"o\":1},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 0, 0, 0, NULL, 0, 1},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct coord_case *c = &cases[i];
		struct hb_event ev;
		char *copy;
		int rc;

		tap_begin("Kafka prefix: %s", c->name);
		rc = parse(c->line, c->n, &ev, &copy);
		check_int(rc, ==, c->valid ? 0 : -1);
		check_int(ev.has_coord, ==, c->has_coord);
		if (c->has_coord) {
			check_int(ev.coord.partition, ==, c->p);
			check_int(ev.coord.offset, ==, c->o);
			check(str_is(ev.text, c->text, c->text_n));
			if (c->valid)
				check_int(ev.members, ==, 3 + (i == 1));
		} else {
			check(ev.text.p == copy);
		}
		if (rc != (c->valid ? 0 : -1))
			printf("#   why: %s\n", ev.why);
		free(copy);
		tap_end();
	}
}

static void test_put_members(void)
{
	static const char *const skip[] = {"status", "reason", NULL};
	static const struct {
		const char *name, *line;
		size_t n;
		const char *want;
		int count;
	} cases[] = {
		{"fast path, original bytes",
		 L("{ \"customer_id\" : \"C\",\"heart_rate\":7.50e1 , \"status\":\"X\",\"z\":null}"),
		 " \"customer_id\" : \"C\",\"heart_rate\":7.50e1 ,\"z\":null", 3},
		{"slow path, original bytes",
		 L("{\"a\" : {\"b\" : [1, 2]},\"reason\":\"r\",\"s\":\"\\u00e9\"}"),
		 "\"a\" : {\"b\" : [1, 2]},\"s\":\"\\u00e9\"", 2},
		{"everything skipped", L("{\"status\":\"X\",\"reason\":\"Y\"}"), "", 0},
		{"integer customer_id written as a string, blanks kept",
		 L("{ \"customer_id\" : 42 ,\"timestamp\":\"" TS "\",\"heart_rate\":73,\"status\":\"X\"}"),
		 " \"customer_id\" : \"42\" ,\"timestamp\":\"" TS "\",\"heart_rate\":73", 3},
		{"-0 written as \"0\"",
		 L("{\"customer_id\":-0,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "\"customer_id\":\"0\",\"timestamp\":\"" TS "\",\"heart_rate\":73", 3},
		{"integer customer_id, first member skipped",
		 L("{\"status\":\"X\",\"customer_id\":42,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "\"customer_id\":\"42\",\"timestamp\":\"" TS "\",\"heart_rate\":73", 3},
		{"integer customer_id last (slow path)",
		 L("{\"m\":[1],\"timestamp\":\"" TS "\",\"heart_rate\":73,\"customer_id\":\t7}"),
		 "\"m\":[1],\"timestamp\":\"" TS "\",\"heart_rate\":73,\"customer_id\":\t\"7\"", 4},
		{"only the last of duplicate customer_ids is rewritten",
		 L("{\"customer_id\":1,\"customer_id\":2,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "\"customer_id\":1,\"customer_id\":\"2\",\"timestamp\":\"" TS "\",\"heart_rate\":73", 4},
		{"an invalid reading's integer customer_id is rewritten too",
		 L("{\"customer_id\":3,\"timestamp\":\"x\",\"heart_rate\":73}"),
		 "\"customer_id\":\"3\",\"timestamp\":\"x\",\"heart_rate\":73", 3},
		{"a bad integer customer_id is kept as it is",
		 L("{\"customer_id\":12345678901234567890123456789012345678901234567890123456789012345,\"heart_rate\":73}"),
		 "\"customer_id\":12345678901234567890123456789012345678901234567890123456789012345,\"heart_rate\":73", 2},
		{"empty object", L("{}"), "", 0},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_event ev;
		struct hb_buf out = {0};
		char *copy;
		int w;

		tap_begin("hb_event_put_members: %s", cases[i].name);
		parse(cases[i].line, cases[i].n, &ev, &copy);
		w = hb_event_put_members(P, &ev, &out, skip);
		check_int(w, ==, cases[i].count);
		check_mem(out.p, out.len, cases[i].want, strlen(cases[i].want));
		hb_buf_release(&out);
		free(copy);
		tap_end();
	}
	{
		struct hb_event ev;
		struct hb_buf out = {0};
		char *copy;
		int w;

		tap_begin("hb_event_put_members: not an object writes nothing");
		parse(L("[1,2]"), &ev, &copy);
		w = hb_event_put_members(P, &ev, &out, NULL);
		check_int(w, ==, 0);
		check_int(out.len, ==, 0);
		hb_buf_release(&out);
		free(copy);
		tap_end();
	}
	{
		struct hb_event ev;
		struct hb_buf line = {0}, out = {0}, want = {0};
		char *copy;
		int w;

		tap_begin("hb_event_put_members with 1000 members: every byte copied as it was");
		hb_buf_puts(&line, "{\"m\":[1],\"status\":\"NORMAL\"");
		hb_buf_puts(&want, "\"m\":[1]");
		for (int k = 0; k < 1000; k++) {
			char mem[96];

			/* what json-c would write otherwise: 1.5, 100.0, "\u00e9\/k", no blanks */
			snprintf(mem, sizeof mem, " ,  \"k%d\" :\t[1.50, 1e2, \"\\u00e9/%d\"]", k, k);
			hb_buf_puts(&line, mem);
			hb_buf_puts(&want, mem);
		}
		hb_buf_puts(&line, " }");
		hb_buf_puts(&want, " ");
		parse(line.p, line.len, &ev, &copy);
		check(ev.is_object);
		check_int(ev.members, ==, 1002);
		w = hb_event_put_members(P, &ev, &out, skip);
		check_int(w, ==, 1001);
		check_mem(out.p, out.len, want.p, want.len);
		hb_buf_release(&want);
		hb_buf_release(&line);
		hb_buf_release(&out);
		free(copy);
		tap_end();
	}
}

/* customer_id as a JSON integer: its decimal text, on both paths. */
static void test_cid_integer(void)
{
	static const struct {
		const char *name, *line;
		size_t n;
		const char *cid;
		int cid_int;
	} cases[] = {
		{"42", L("{\"customer_id\":42,\"timestamp\":\"" TS "\",\"heart_rate\":73}"), "42", 1},
		{"0", L("{\"customer_id\":0,\"timestamp\":\"" TS "\",\"heart_rate\":73}"), "0", 1},
		{"-0 is 0", L("{\"customer_id\":-0,\"timestamp\":\"" TS "\",\"heart_rate\":73}"), "0", 1},
		{"-7", L("{\"customer_id\":-7,\"timestamp\":\"" TS "\",\"heart_rate\":73}"), "-7", 1},
		{"blanks around", L("{\"customer_id\" :  42 ,\"timestamp\":\"" TS "\",\"heart_rate\":73}"), "42", 1},
		{"beyond int64",
		 L("{\"customer_id\":123456789012345678901234567890,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "123456789012345678901234567890", 1},
		{"64 digits",
		 L("{\"customer_id\":1234567890123456789012345678901234567890123456789012345678901234,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "1234567890123456789012345678901234567890123456789012345678901234", 1},
		{"42 (slow)", L("{\"customer_id\":42,\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":[]}"), "42", 1},
		{"-0 is 0 (slow)", L("{\"customer_id\":-0,\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":[]}"), "0", 1},
		{"beyond uint64 (slow: not json-c's double)",
		 L("{\"m\":{},\"customer_id\" : 123456789012345678901234567890 ,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 "123456789012345678901234567890", 1},
		{"escaped key (slow)",
		 L("{\"customer\\u005fid\":9,\"timestamp\":\"" TS "\",\"heart_rate\":73}"), "9", 1},
		{"duplicate, the last (integer) wins",
		 L("{\"customer_id\":\"A\",\"customer_id\":5,\"timestamp\":\"" TS "\",\"heart_rate\":73}"), "5", 1},
		{"duplicate, the last (integer) wins (slow)",
		 L("{\"customer_id\":\"A\",\"customer_id\":5,\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":[]}"), "5", 1},
		{"duplicate, the last (string) wins",
		 L("{\"customer_id\":5,\"customer_id\":\"A\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"), "A", 0},
		{"a string of digits is a string", L("{\"customer_id\":\"42\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"), "42", 0},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_event ev;
		char *copy;
		int rc;

		tap_begin("customer_id as an integer: %s", cases[i].name);
		rc = parse(cases[i].line, cases[i].n, &ev, &copy);
		check_int(rc, ==, 0);
		check_str(ev.why, "");
		check(ev.cid_ok);
		check_int(ev.cid_int, ==, cases[i].cid_int);
		check(str_is(ev.cid, cases[i].cid, strlen(cases[i].cid)));
		if (!str_is(ev.cid, cases[i].cid, strlen(cases[i].cid)))
			printf("#   cid: %.*s\n", (int)ev.cid.n, ev.cid.p ? ev.cid.p : "");
		free(copy);
		tap_end();
	}
	{
		const char *out = NULL;
		size_t n = 0;

		tap_begin("hb_cid_from_int");
		check_int(hb_cid_from_int(L("42"), &out, &n), ==, 1);
		check(n == 2 && memcmp(out, "42", 2) == 0);
		check_int(hb_cid_from_int(L("-0"), &out, &n), ==, 1);
		check(n == 1 && out[0] == '0');
		check_int(hb_cid_from_int(L("-12"), &out, &n), ==, 1);
		check(n == 3 && memcmp(out, "-12", 3) == 0);
		out = NULL;
		check_int(hb_cid_from_int(L("12345678901234567890123456789012345678901234567890123456789012345"), &out, &n), ==, 0);
		check(out == NULL);
		check_int(hb_cid_from_int(L(""), &out, &n), ==, 0);
		tap_end();
	}
}

/* A timestamp without a zone: INVALID, or UTC on a parser told so. */
static void test_assume_utc(void)
{
	static const char line[] = "{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T10:00:00.5\",\"heart_rate\":73}";
	static const char slow[] = "{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T10:00:00.5\",\"heart_rate\":73,\"m\":[]}";
	static const char zoned[] = "{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}";
	struct hb_parser *u = hb_parser_new();
	struct hb_event ev;

	tap_begin("a timestamp without a zone is refused by default");
	check_int(hb_event_parse(P, L(line), &ev), ==, -1);
	check(strstr(ev.why, "missing zone") != NULL);
	check_int(ev.ts_ok, ==, 0);
	check_int(ev.ts_zoneless, ==, 0);
	tap_end();

	tap_begin("hb_parser_assume_utc: read as UTC, ts_zoneless set (fast and slow)");
	check(u != NULL);
	if (u) {
		hb_parser_assume_utc(u, 1);
		check_int(hb_event_parse(u, L(line), &ev), ==, 0);
		check_int(ev.ts_us, ==, TS_US);
		check_int(ev.ts_zoneless, ==, 1);
		check(str_is(ev.ts, "2026-11-23T10:00:00.5", 21));
		check_int(hb_event_parse(u, L(slow), &ev), ==, 0);
		check_int(ev.ts_us, ==, TS_US);
		check_int(ev.ts_zoneless, ==, 1);
		check_int(hb_event_parse(u, L(zoned), &ev), ==, 0);
		check_int(ev.ts_zoneless, ==, 0);
		hb_parser_assume_utc(u, 0);
		check_int(hb_event_parse(u, L(line), &ev), ==, -1);
	}
	tap_end();

	tap_begin("hb_event_put_members writes a timestamp read as UTC with its 'Z'");
	if (u) {
		static const char both[] = "{\"customer_id\":12,\"timestamp\" : \"2026-11-23 10:00:00\",\"heart_rate\":73,\"m\":[]}";
		static const char want[] = "\"customer_id\":\"12\",\"timestamp\" : \"2026-11-23 10:00:00Z\",\"heart_rate\":73,\"m\":[]";
		struct hb_buf out = {0};

		hb_parser_assume_utc(u, 1);
		check_int(hb_event_parse(u, L(both), &ev), ==, 0);
		check_int(hb_event_put_members(u, &ev, &out, NULL), ==, 4);
		check_mem(out.p, out.len, want, strlen(want));
		hb_buf_release(&out);
	}
	tap_end();

	tap_begin("the same with 1000 members: those two rewritten, the rest copied as they were");
	if (u) {
		struct hb_buf big = {0}, out = {0}, want = {0};

		hb_buf_puts(&big, "{\"m\":[1],\"customer_id\":77,\"timestamp\":\"2026-11-23T10:00:00.5\",\"heart_rate\":73");
		hb_buf_puts(&want, "\"m\":[1],\"customer_id\":\"77\",\"timestamp\":\"2026-11-23T10:00:00.5Z\",\"heart_rate\":73");
		for (int k = 0; k < 1000; k++) {
			char mem[64];

			snprintf(mem, sizeof mem, ",\"k%d\" : %d.0", k, k);
			hb_buf_puts(&big, mem);
			hb_buf_puts(&want, mem);
		}
		hb_buf_putc(&big, '}');
		check_int(hb_event_parse(u, big.p, big.len, &ev), ==, 0);
		check(ev.cid_int && str_is(ev.cid, "77", 2));
		check_int(hb_event_put_members(u, &ev, &out, NULL), ==, 1004);
		check_mem(out.p, out.len, want.p, want.len);
		hb_buf_release(&big);
		hb_buf_release(&out);
		hb_buf_release(&want);
	}
	hb_parser_free(u);
	tap_end();
}

static void test_cid_valid(void)
{
	static const struct {
		const char *s;
		size_t n;
		int ok;
	} cases[] = {
		{L("C"), 1}, {L("CUST_00042"), 1}, {L("a.b:c-d_e"), 1}, {L(CID64), 1},
		{L(CID65), 0}, {L(""), 0}, {L("a b"), 0}, {L("a/b"), 0}, {L("a\0b"), 0},
		{L("caf\xc3\xa9"), 0}, {L("a\"b"), 0}, {L("a+b"), 0}, {L("a@b"), 0},
	};

	tap_begin("hb_cid_valid over a table of ids");
	for (size_t i = 0; i < NELEM(cases); i++) {
		int ok = hb_cid_valid(cases[i].s, cases[i].n);

		check_int(ok, ==, cases[i].ok);
	}
	tap_end();
}

/* The fast and the slow path agree on every reading they both can read. */
static void test_paths_agree(void)
{
	static const char *const hrs[] = {
		"73", "-0", "0", "1.0", "1e2", "1E+2", "-5", "\"73\"", "null", "true", "false", "1.5",
		"0.5e-3", "9223372036854775807", "9223372036854775808", "18446744073709551615",
		"18446744073709551616", "99999999999999999999999", "-9223372036854775808",
		"-9223372036854775809", "-99999999999999999999999", "00", "-", "{}",
	};
	static const char *const cids[] = {
		"\"C\"", "\"\"", "\"" CID64 "\"", "\"" CID65 "\"", "5", "null", "\"a b\"",
		"-0", "-5", "1.5", "1e3", "123456789012345678901234567890",
		"12345678901234567890123456789012345678901234567890123456789012345",
	};
	static const char *const tss[] = {
		"\"" TS "\"", "\"x\"", "5", "\"2026-11-23T11:00:00.500+01:00\"", "\"2026-02-29T00:00:00Z\"",
	};
	int cases = 0, differ = 0;

	tap_begin("fast and slow paths agree (status, fields, saturation) on %zu readings",
		  NELEM(hrs) * NELEM(cids) * NELEM(tss));
	for (size_t h = 0; h < NELEM(hrs); h++)
		for (size_t c = 0; c < NELEM(cids); c++)
			for (size_t t = 0; t < NELEM(tss); t++) {
				char fast[512], slow[512], acid[HB_CID_MAX + 1] = "";
				struct hb_event a, b;
				int ra, rb, n;

				n = snprintf(fast, sizeof fast,
					     "{\"customer_id\":%s,\"timestamp\":%s,\"heart_rate\":%s}",
					     cids[c], tss[t], hrs[h]);
				ra = hb_event_parse(P, fast, (size_t)n, &a);
				if (a.cid.n)	/* it may borrow from the parser: keep a copy */
					memcpy(acid, a.cid.p, a.cid.n);
				n = snprintf(slow, sizeof slow,
					     "{\"customer_id\":%s,\"timestamp\":%s,\"heart_rate\":%s,\"zz\":[]}",
					     cids[c], tss[t], hrs[h]);
				rb = hb_event_parse(P, slow, (size_t)n, &b);
				cases++;
				if (ra != rb || a.is_object != b.is_object || a.cid_ok != b.cid_ok ||
				    a.ts_ok != b.ts_ok || a.hr_ok != b.hr_ok ||
				    (a.hr_ok && a.hr != b.hr) || (a.ts_ok && a.ts_us != b.ts_us) ||
				    a.cid.n != b.cid.n || a.cid_int != b.cid_int ||
				    (a.cid.n && memcmp(acid, b.cid.p, a.cid.n) != 0) ||
				    strcmp(a.why, b.why) != 0) {
					if (differ++ < 5)
						printf("#   %s: fast %d (%s) hr %lld, slow %d (%s) hr %lld\n", fast,
						       ra, a.why, (long long)a.hr, rb, b.why, (long long)b.hr);
				}
			}
	check_int(differ, ==, 0);
	check_int(cases, ==, (int)(NELEM(hrs) * NELEM(cids) * NELEM(tss)));
	tap_end();
}

static void test_reuse(void)
{
	static const char good[] = "{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":{}}";
	static const char bad[] = "{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73.5,\"m\":{}}";
	int wrong = 0;

	tap_begin("one parser over 10000 lines alternating slow good/bad/not JSON");
	for (int i = 0; i < 10000; i++) {
		struct hb_event ev;
		int rc;

		switch (i % 3) {
		case 0:
			rc = hb_event_parse(P, good, sizeof good - 1, &ev);
			wrong += rc != 0 || ev.hr != 73;
			break;
		case 1:
			rc = hb_event_parse(P, bad, sizeof bad - 1, &ev);
			wrong += rc != -1 || !strstr(ev.why, "73.5");
			break;
		default:
			rc = hb_event_parse(P, "[", 1, &ev);
			wrong += rc != -1;
			break;
		}
	}
	check_int(wrong, ==, 0);
	tap_end();
}

int main(void)
{
	P = hb_parser_new();
	tap_begin("hb_parser_new");
	check(P != NULL);
	tap_end();
	if (!P)
		return tap_done();
	hb_parser_free(NULL);
	test_valid();
	test_invalid();
	test_deep_nesting();
	test_classified();
	test_coord();
	test_put_members();
	test_cid_integer();
	test_assume_utc();
	test_cid_valid();
	test_paths_agree();
	test_reuse();
	hb_parser_free(P);
	return tap_done();
}
