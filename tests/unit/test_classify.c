/* test_classify — hb_classify_line: the exact output line for each kind of
 * input, idempotence, Kafka prefixes (thresholds and names: test_status). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_classify.h"
#include "hb_coord.h"
#include "hb_event.h"
#include "hb_json.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define L(s) s, sizeof(s) - 1

#define TS "2026-11-23T10:00:00.500Z"
#define READING(hr) "{\"customer_id\":\"CUST_00042\",\"timestamp\":\"" TS "\",\"heart_rate\":" hr "}"
#define READING_OUT(hr, st) \
	"{\"customer_id\":\"CUST_00042\",\"timestamp\":\"" TS "\",\"heart_rate\":" hr ",\"status\":\"" st "\"}\n"

/* ---- hb_classify_line ---- */

static struct hb_classifier *C;
static struct hb_buf OUT;
static struct hb_verdict V;

/*
 * Classify an exact-size copy of line[0..n) (true length tl) into OUT, and
 * check what every output line must be: one valid JSON object ending in its
 * only newline.  Returns OUT as a NUL-terminated string.
 */
static const char *classify(const char *line, size_t n, uint64_t tl)
{
	char *copy = malloc(n ? n : 1);
	size_t col;
	const char *err;
	int rc;

	if (!copy)
		abort();
	if (n)
		memcpy(copy, line, n);
	hb_buf_reset(&OUT);
	hb_classify_line(C, copy, n, tl, &OUT, &V);
	free(copy);
	check(!hb_buf_oom(&OUT));
	check(OUT.len >= 2 && OUT.p[OUT.len - 1] == '\n');
	check(memchr(OUT.p, '\n', OUT.len) == OUT.p + OUT.len - 1);
	rc = OUT.len ? hb_json_validate(OUT.p, OUT.len - 1, 64, NULL, &col, &err) : -1;
	check_int(rc, ==, 0);
	if (rc == 0)
		check(OUT.p[0] == '{');
	else if (OUT.len)
		printf("#   output is not valid JSON (%s at column %zu)\n", err, col);
	hb_buf_putc(&OUT, '\0');
	OUT.len--;
	return OUT.p;
}

static const char *classify_line(const char *line, size_t n)
{
	return classify(line, n, n);
}

/* The output's members parsed back (a second parser: C's is busy). */
static struct hb_parser *RP;

static void read_back(const char *out, struct hb_event *ev)
{
	hb_event_parse(RP, out, strlen(out) - 1, ev);
}

struct exact {
	const char *name;
	const char *in;
	size_t n;
	const char *want;
	size_t want_n;
	enum hb_status status;
};

static void test_exact(void)
{
	static const struct exact cases[] = {
		{"normal reading", L(READING("73")), L(READING_OUT("73", "NORMAL")), HB_NORMAL},
		{"brady 39", L(READING("39")), L(READING_OUT("39", "BRADYCARDIA")), HB_BRADYCARDIA},
		{"brady 1", L(READING("1")), L(READING_OUT("1", "BRADYCARDIA")), HB_BRADYCARDIA},
		{"normal 40", L(READING("40")), L(READING_OUT("40", "NORMAL")), HB_NORMAL},
		{"normal 180", L(READING("180")), L(READING_OUT("180", "NORMAL")), HB_NORMAL},
		{"tachy 181", L(READING("181")), L(READING_OUT("181", "TACHYCARDIA")), HB_TACHYCARDIA},
		{"tachy 300", L(READING("300")), L(READING_OUT("300", "TACHYCARDIA")), HB_TACHYCARDIA},
		{"heart_rate 0",
		 L(READING("0")),
		 L("{\"customer_id\":\"CUST_00042\",\"timestamp\":\"" TS "\",\"heart_rate\":0,\"status\":\"INVALID\","
		   "\"reason\":\"heart_rate 0 outside plausible range 1..300\","
		   "\"raw\":\"{\\\"customer_id\\\":\\\"CUST_00042\\\",\\\"timestamp\\\":\\\"" TS "\\\",\\\"heart_rate\\\":0}\"}\n"),
		 HB_INVALID},
		{"heart_rate 301",
		 L(READING("301")),
		 L("{\"customer_id\":\"CUST_00042\",\"timestamp\":\"" TS "\",\"heart_rate\":301,\"status\":\"INVALID\","
		   "\"reason\":\"heart_rate 301 outside plausible range 1..300\","
		   "\"raw\":\"{\\\"customer_id\\\":\\\"CUST_00042\\\",\\\"timestamp\\\":\\\"" TS "\\\",\\\"heart_rate\\\":301}\"}\n"),
		 HB_INVALID},
		{"unknown nested field kept byte for byte",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"meta\":{\"a\" : [1, 2.50, \"\\u00e9\"]}}"),
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"meta\":{\"a\" : [1, 2.50, \"\\u00e9\"]},\"status\":\"NORMAL\"}\n"),
		 HB_NORMAL},
		{"whitespace kept, trailing CR dropped",
		 L(" { \"customer_id\" : \"C\", \"timestamp\":\"" TS "\" ,\"heart_rate\": 73 } \r"),
		 L("{ \"customer_id\" : \"C\", \"timestamp\":\"" TS "\" ,\"heart_rate\": 73 ,\"status\":\"NORMAL\"}\n"),
		 HB_NORMAL},
		{"not JSON",
		 L("hello world"),
		 L("{\"status\":\"INVALID\",\"reason\":\"not JSON: unexpected character at column 1\",\"raw\":\"hello world\"}\n"),
		 HB_INVALID},
		{"empty line",
		 L(""),
		 L("{\"status\":\"INVALID\",\"reason\":\"not JSON: empty line\",\"raw\":\"\"}\n"),
		 HB_INVALID},
		{"invalid UTF-8 line",
		 L("caf\xe9"),
		 L("{\"status\":\"INVALID\",\"reason\":\"not JSON: unexpected character at column 1\","
		   "\"raw\":\"caf\xef\xbf\xbd\",\"raw_base64\":\"Y2Fm6Q==\"}\n"),
		 HB_INVALID},
		{"invalid UTF-8 inside an object",
		 L("{\"a\":\"\xff\"}"),
		 L("{\"status\":\"INVALID\",\"reason\":\"not JSON: invalid UTF-8 at column 7\","
		   "\"raw\":\"{\\\"a\\\":\\\"\xef\xbf\xbd\\\"}\",\"raw_base64\":\"eyJhIjoi/yJ9\"}\n"),
		 HB_INVALID},
		{"line with NUL",
		 L("a\0b"),
		 L("{\"status\":\"INVALID\",\"reason\":\"not JSON: unexpected character at column 1\","
		   "\"raw\":\"a\\u0000b\"}\n"),
		 HB_INVALID},
		{"an array",
		 L("[1]"),
		 L("{\"status\":\"INVALID\",\"reason\":\"not a JSON object (got an array)\",\"raw\":\"[1]\"}\n"),
		 HB_INVALID},
		{"empty object",
		 L("{}"),
		 L("{\"status\":\"INVALID\",\"reason\":\"missing customer_id; missing timestamp; missing heart_rate\","
		   "\"raw\":\"{}\"}\n"),
		 HB_INVALID},
		{"already has status (replaced, not duplicated)",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"status\":\"BOGUS\"}"),
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"status\":\"NORMAL\"}\n"),
		 HB_NORMAL},
		{"status first (replaced at the end)",
		 L("{\"status\":\"TACHYCARDIA\",\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"status\":\"NORMAL\"}\n"),
		 HB_NORMAL},
		{"stale reason dropped from a valid reading",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":200,\"status\":\"NORMAL\",\"reason\":\"x\",\"raw_length\":3}"),
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":200,\"status\":\"TACHYCARDIA\"}\n"),
		 HB_TACHYCARDIA},
		{"status replaced on the slow path",
		 L("{\"customer_id\":\"C\",\"status\":\"X\",\"timestamp\":\"" TS "\",\"heart_rate\":30,\"m\":[{}]}"),
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":30,\"m\":[{}],\"status\":\"BRADYCARDIA\"}\n"),
		 HB_BRADYCARDIA},
		{"status with an escaped key is duplicated (slow path)",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"st\\u0061tus\":\"X\"}"),
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"status\":\"NORMAL\"}\n"),
		 HB_NORMAL},
		{"integer customer_id written as a string",
		 L("{\"customer_id\":42,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 L("{\"customer_id\":\"42\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"status\":\"NORMAL\"}\n"),
		 HB_NORMAL},
		{"integer customer_id, other members byte for byte",
		 L("{ \"heart_rate\" : 7.3e1, \"customer_id\" : -0 ,\"timestamp\":\"" TS "\",\"heart_rate\":30,\"m\":[ 1 ]}"),
		 L("{ \"heart_rate\" : 7.3e1, \"customer_id\" : \"0\" ,\"timestamp\":\"" TS "\",\"heart_rate\":30,\"m\":[ 1 ],\"status\":\"BRADYCARDIA\"}\n"),
		 HB_BRADYCARDIA},
		{"integer customer_id, INVALID reading: rewritten, raw as it was",
		 L("{\"customer_id\":7,\"timestamp\":\"" TS "\",\"heart_rate\":0}"),
		 L("{\"customer_id\":\"7\",\"timestamp\":\"" TS "\",\"heart_rate\":0,\"status\":\"INVALID\","
		   "\"reason\":\"heart_rate 0 outside plausible range 1..300\","
		   "\"raw\":\"{\\\"customer_id\\\":7,\\\"timestamp\\\":\\\"" TS "\\\",\\\"heart_rate\\\":0}\"}\n"),
		 HB_INVALID},
		{"float customer_id is INVALID",
		 L("{\"customer_id\":1.5,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 L("{\"customer_id\":1.5,\"timestamp\":\"" TS "\",\"heart_rate\":73,\"status\":\"INVALID\","
		   "\"reason\":\"customer_id must be a string or an integer (got 1.5)\","
		   "\"raw\":\"{\\\"customer_id\\\":1.5,\\\"timestamp\\\":\\\"" TS "\\\",\\\"heart_rate\\\":73}\"}\n"),
		 HB_INVALID},
		{"nanoseconds kept as written (hbpgload rounds them the same way)",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T10:00:00.123456789Z\",\"heart_rate\":73}"),
		 L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T10:00:00.123456789Z\",\"heart_rate\":73,\"status\":\"NORMAL\"}\n"),
		 HB_NORMAL},
		{"Kafka prefix and an integer customer_id",
		 L("{\"_kafka\":{\"p\":1,\"o\":42},\"customer_id\":5,\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 L("{\"_kafka\":{\"p\":1,\"o\":42},\"customer_id\":\"5\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"status\":\"NORMAL\"}\n"),
		 HB_NORMAL},
		{"Kafka prefix kept in front (normal)",
		 L("{\"_kafka\":{\"p\":1,\"o\":42},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}"),
		 L("{\"_kafka\":{\"p\":1,\"o\":42},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"status\":\"NORMAL\"}\n"),
		 HB_NORMAL},
		{"Kafka prefix kept in front (status replaced)",
		 L("{\"_kafka\":{\"p\":1,\"o\":42},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":190,\"status\":\"NORMAL\"}"),
		 L("{\"_kafka\":{\"p\":1,\"o\":42},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":190,\"status\":\"TACHYCARDIA\"}\n"),
		 HB_TACHYCARDIA},
		{"Kafka prefix, b64 not JSON",
		 L("{\"_kafka\":{\"p\":0,\"o\":7,\"b64\":\"aGVsbG8=\"}}"),
		 L("{\"_kafka\":{\"p\":0,\"o\":7},\"status\":\"INVALID\",\"reason\":\"not JSON: unexpected character at column 1\","
		   "\"raw\":\"hello\"}\n"),
		 HB_INVALID},
		{"Kafka prefix, b64 invalid UTF-8",
		 L("{\"_kafka\":{\"p\":0,\"o\":8,\"b64\":\"//4=\"}}"),
		 L("{\"_kafka\":{\"p\":0,\"o\":8},\"status\":\"INVALID\",\"reason\":\"not JSON: unexpected byte (not ASCII) at column 1\","
		   "\"raw\":\"\xef\xbf\xbd\xef\xbf\xbd\",\"raw_base64\":\"//4=\"}\n"),
		 HB_INVALID},
		{"Kafka prefix, empty object",
		 L("{\"_kafka\":{\"p\":1,\"o\":9}}"),
		 L("{\"_kafka\":{\"p\":1,\"o\":9},\"status\":\"INVALID\",\"reason\":\"missing customer_id; missing timestamp; missing heart_rate\","
		   "\"raw\":\"{}\"}\n"),
		 HB_INVALID},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		const struct exact *c = &cases[i];
		const char *out;

		tap_begin("hb_classify_line: %s", c->name);
		out = classify_line(c->in, c->n);
		check_mem(out, strlen(out), c->want, c->want_n);
		check_str(hb_status_name(V.status), hb_status_name(c->status));
		check(c->status == HB_INVALID ? V.reason != NULL : V.reason == NULL);
		if (V.reason)
			check(strstr(out, V.reason) != NULL);
		check(V.ev != NULL);
		check_int(V.has_coord, ==, strncmp(c->in, "{\"_kafka\"", 9) == 0);
		tap_end();
	}
}

static void test_verdict(void)
{
	struct hb_event ev;

	tap_begin("hb_verdict: reading, coordinates and reason are filled");
	classify_line(L("{\"_kafka\":{\"p\":2,\"o\":77},\"customer_id\":\"CUST_7\",\"timestamp\":\"" TS "\",\"heart_rate\":38}"));
	check_int(V.status, ==, HB_BRADYCARDIA);
	check_int(V.has_coord, ==, 1);
	check_int(V.coord.partition, ==, 2);
	check_int(V.coord.offset, ==, 77);
	check(V.ev && V.ev->cid.n == 6 && memcmp(V.ev->cid.p, "CUST_7", 6) == 0);
	check(V.ev && V.ev->hr == 38);
	check(V.ev && V.ev->ts_us == 1795428000LL * 1000000 + 500000);
	check(V.reason == NULL);
	read_back(OUT.p, &ev);
	check(ev.has_coord && ev.coord.offset == 77);
	check(ev.has_status && ev.status == HB_BRADYCARDIA);
	tap_end();
}

static void test_custom_thresholds(void)
{
	static const struct hb_thresholds t = {.min = 20, .brady = 50, .tachy = 100, .max = 200};
	struct hb_classifier *save = C;
	static const struct {
		const char *hr;
		enum hb_status want;
	} cases[] = {
		{"19", HB_INVALID}, {"20", HB_BRADYCARDIA}, {"49", HB_BRADYCARDIA}, {"50", HB_NORMAL},
		{"100", HB_NORMAL}, {"101", HB_TACHYCARDIA}, {"200", HB_TACHYCARDIA}, {"201", HB_INVALID},
	};

	C = hb_classifier_new(&t);
	tap_begin("hb_classify_line with thresholds 20/50/100/200");
	check(C != NULL);
	for (size_t i = 0; C && i < NELEM(cases); i++) {
		char line[200];
		int n = snprintf(line, sizeof line,
				 "{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":%s}", cases[i].hr);

		classify_line(line, (size_t)n);
		check_str(hb_status_name(V.status), hb_status_name(cases[i].want));
		if (cases[i].want == HB_INVALID)
			check(strstr(OUT.p, "outside plausible range 20..200") != NULL);
	}
	tap_end();
	hb_classifier_free(C);
	C = save;
}

static void test_cut(void)
{
	struct hb_buf line = {0};
	struct hb_event ev;
	const char *out;

	tap_begin("cut line: INVALID, raw keeps HB_RAW_EXCERPT bytes, raw_length is the true length");
	for (int k = 0; k < 2000; k++)
		hb_buf_putc(&line, 'x');
	out = classify(line.p, 2000, 5000);
	check_int(V.status, ==, HB_INVALID);
	check(strstr(out, "\"reason\":\"line too long: 5000 bytes (limit 2000)\"") != NULL);
	check(strstr(out, ",\"raw_length\":5000}\n") != NULL);
	read_back(out, &ev);
	check_int(ev.has_raw, ==, 1);
	check_int(ev.raw.n, ==, HB_RAW_EXCERPT);
	check_int(ev.raw_length, ==, 5000);
	check(ev.raw_b64.p == NULL);
	tap_end();

	tap_begin("cut line shorter than HB_RAW_EXCERPT keeps all it has");
	out = classify(line.p, 100, 101);
	read_back(out, &ev);
	check_int(ev.raw.n, ==, 100);
	check_int(ev.raw_length, ==, 101);
	tap_end();

	tap_begin("cut line: raw does not end inside a UTF-8 sequence");
	hb_buf_reset(&line);
	hb_buf_putc(&line, 'a');
	for (int k = 0; k < 1000; k++)
		hb_buf_put(&line, "\xc3\xa9", 2);
	out = classify(line.p, line.len, 1u << 20);
	read_back(out, &ev);
	check_int(ev.raw.n, ==, HB_RAW_EXCERPT - 1);
	check(ev.raw_b64.p == NULL);
	check(strstr(out, "\"raw_base64\"") == NULL);
	check(strstr(out, "\xef\xbf\xbd") == NULL);
	tap_end();

	tap_begin("cut line with invalid bytes: raw_base64 of the excerpt");
	hb_buf_reset(&line);
	for (int k = 0; k < 3000; k++)
		hb_buf_putc(&line, (char)(k % 7 ? 'y' : 0xff));
	out = classify(line.p, line.len, 4000);
	read_back(out, &ev);
	check(ev.raw_b64.p != NULL);
	{
		struct hb_buf dec = {0};
		int rc = ev.raw_b64.p ? hb_base64_decode(&dec, ev.raw_b64.p, ev.raw_b64.n) : -1;

		check_int(rc, ==, 0);
		check_mem(dec.p, dec.len, line.p, HB_RAW_EXCERPT);
		hb_buf_release(&dec);
	}
	tap_end();

	tap_begin("cut Kafka line: coordinates kept");
	hb_buf_reset(&line);
	hb_buf_puts(&line, "{\"_kafka\":{\"p\":2,\"o\":99},\"customer_id\":\"");
	for (int k = 0; k < 3000; k++)
		hb_buf_putc(&line, 'z');
	out = classify(line.p, 2000, 10000);
	check_int(V.status, ==, HB_INVALID);
	check_int(V.has_coord, ==, 1);
	check_int(V.coord.partition, ==, 2);
	check_int(V.coord.offset, ==, 99);
	{
		static const char head[] = "{\"_kafka\":{\"p\":2,\"o\":99},\"status\":\"INVALID\",";

		check(strncmp(out, head, sizeof head - 1) == 0);
	}
	tap_end();

	{
		/* The value V (5000 bytes, an object) as hbkafka-sub writes it, cut. */
		struct hb_buf val = {0}, wrapped = {0};
		struct hb_coord co = {.partition = 2, .offset = 99};

		hb_buf_puts(&val, "{\"customer_id\":\"");
		while (val.len < 4998)
			hb_buf_putc(&val, 'z');
		hb_buf_puts(&val, "\"}");
		hb_coord_wrap(&wrapped, &co, val.p, val.len);
		tap_begin("cut Kafka line: raw starts with the value's own '{' and raw_length is its length");
		out = classify(wrapped.p, 2000, wrapped.len);
		read_back(out, &ev);
		check(ev.raw.n >= 2 && memcmp(ev.raw.p, "{\"", 2) == 0);
		check_int(ev.raw_length, ==, (int64_t)val.len);
		check(strstr(out, "line too long: 5000 bytes") != NULL);
		if (!strstr(out, "line too long: 5000 bytes"))
			printf("#   got: %.120s\n", out);
		tap_end();
		hb_buf_release(&val);
		hb_buf_release(&wrapped);
	}
	hb_buf_release(&line);
}

struct idem {
	const char *name;
	const char *in;
	size_t n;
};

static void test_idempotent(void)
{
	static const struct idem cases[] = {
		{"normal", L(READING("73"))},
		{"bradycardia", L(READING("20"))},
		{"tachycardia", L(READING("200"))},
		{"heart_rate 0", L(READING("0"))},
		{"heart_rate 301", L(READING("301"))},
		{"heart_rate 73.5", L(READING("73.5"))},
		{"missing heart_rate", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\"}")},
		{"bad timestamp", L("{\"customer_id\":\"C\",\"timestamp\":\"2026-02-29T00:00:00Z\",\"heart_rate\":73}")},
		{"not JSON", L("hello world")},
		{"not JSON with quotes and backslashes", L("he said \"hi\\\" {")},
		{"empty line", L("")},
		{"an array", L("[1,2]")},
		{"a string", L("\"x\"")},
		{"invalid UTF-8", L("caf\xe9 \xff\xfe")},
		{"invalid UTF-8 object", L("{\"customer_id\":\"\xff\",\"timestamp\":\"" TS "\",\"heart_rate\":73}")},
		{"NUL", L("a\0b")},
		{"control characters", L("\x01\x02\t\x1f")},
		{"nested unknown field", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"m\":{\"a\":[1]}}")},
		{"nested unknown field, invalid", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":999,\"m\":{\"a\":[1]}}")},
		{"unicode escapes", L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"n\":\"\\u00e9\\n\"}")},
		{"looks like our INVALID record but is a reading",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73,\"status\":\"INVALID\",\"raw\":\"x\"}")},
		{"Kafka normal", L("{\"_kafka\":{\"p\":1,\"o\":42},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":73}")},
		{"Kafka tachycardia", L("{\"_kafka\":{\"p\":1,\"o\":43},\"customer_id\":\"C\",\"timestamp\":\"" TS "\",\"heart_rate\":250}")},
		{"Kafka invalid object", L("{\"_kafka\":{\"p\":1,\"o\":44},\"customer_id\":\"C\",\"timestamp\":\"" TS "\"}")},
		{"Kafka b64 not JSON", L("{\"_kafka\":{\"p\":0,\"o\":7,\"b64\":\"aGVsbG8=\"}}")},
		{"Kafka b64 invalid UTF-8", L("{\"_kafka\":{\"p\":0,\"o\":8,\"b64\":\"//4=\"}}")},
		{"Kafka b64 empty", L("{\"_kafka\":{\"p\":0,\"o\":9,\"b64\":\"\"}}")},
		{"Kafka empty object", L("{\"_kafka\":{\"p\":0,\"o\":10}}")},
		{"integer customer_id", L("{\"customer_id\":42,\"timestamp\":\"" TS "\",\"heart_rate\":73}")},
		{"integer customer_id, invalid", L("{\"customer_id\":-0,\"timestamp\":\"" TS "\",\"heart_rate\":999,\"m\":[]}")},
		{"integer customer_id, not a reading", L("{\"customer_id\":42,\"timestamp\":\"2026-11-23T10:00:00\",\"heart_rate\":73}")},
		{"nanoseconds", L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T10:00:00.9999999995Z\",\"heart_rate\":73}")},
		{"Kafka integer customer_id", L("{\"_kafka\":{\"p\":1,\"o\":45},\"customer_id\":45,\"timestamp\":\"" TS "\",\"heart_rate\":250}")},
		{"spaces between members (second pass drops them)", L("{\"customer_id\":\"C\", \"timestamp\":\"" TS "\", \"heart_rate\":73}")},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_buf first = {0};
		const char *out;
		enum hb_status s1;

		tap_begin("idempotent: classify(classify(x)) == classify(x) for %s", cases[i].name);
		out = classify_line(cases[i].in, cases[i].n);
		hb_buf_put(&first, out, strlen(out));
		s1 = V.status;
		out = classify_line(first.p, first.len - 1);
		check_mem(out, strlen(out), first.p, first.len);
		check_int(V.status, ==, s1);
		/* And a third time, for good measure. */
		hb_buf_reset(&first);
		hb_buf_put(&first, out, strlen(out));
		out = classify_line(first.p, first.len - 1);
		check_mem(out, strlen(out), first.p, first.len);
		hb_buf_release(&first);
		tap_end();
	}
}

/* --assume-utc: the output carries the timestamp with 'Z', which any reader
 * takes (hbpgload has no such option), and classifying it again changes
 * nothing, with or without the option. */
static void test_assume_utc(void)
{
	static const struct hb_thresholds def = HB_THRESHOLDS_DEFAULT;
	static const struct exact cases[] = {
		{"naive isoformat()",
		 L("{\"customer_id\":42,\"timestamp\":\"2026-11-23T08:00:00.123456\",\"heart_rate\":73}"),
		 L("{\"customer_id\":\"42\",\"timestamp\":\"2026-11-23T08:00:00.123456Z\",\"heart_rate\":73,\"status\":\"NORMAL\"}\n"),
		 HB_NORMAL},
		{"naive, no fraction, slow path, blanks kept",
		 L("{\"m\":{},\"customer_id\":\"C\",\"timestamp\" : \"2026-11-23 08:00:00\" ,\"heart_rate\":190}"),
		 L("{\"m\":{},\"customer_id\":\"C\",\"timestamp\" : \"2026-11-23 08:00:00Z\" ,\"heart_rate\":190,\"status\":\"TACHYCARDIA\"}\n"),
		 HB_TACHYCARDIA},
		{"zoned: as it was",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T08:00:00+01:00\",\"heart_rate\":73}"),
		 L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T08:00:00+01:00\",\"heart_rate\":73,\"status\":\"NORMAL\"}\n"),
		 HB_NORMAL},
		{"naive, INVALID heart rate: 'Z' too, raw as it was",
		 L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T08:00:00\",\"heart_rate\":0}"),
		 L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T08:00:00Z\",\"heart_rate\":0,\"status\":\"INVALID\","
		   "\"reason\":\"heart_rate 0 outside plausible range 1..300\","
		   "\"raw\":\"{\\\"customer_id\\\":\\\"C\\\",\\\"timestamp\\\":\\\"2026-11-23T08:00:00\\\",\\\"heart_rate\\\":0}\"}\n"),
		 HB_INVALID},
	};
	struct hb_classifier *save = C, *u = hb_classifier_new(&def);

	for (size_t i = 0; u && i < NELEM(cases); i++) {
		const struct exact *c = &cases[i];
		struct hb_buf first = {0};
		struct hb_event ev;
		const char *out;

		tap_begin("--assume-utc: %s", c->name);
		C = u;
		hb_classifier_assume_utc(u, 1);
		out = classify_line(c->in, c->n);
		check_mem(out, strlen(out), c->want, c->want_n);
		check_str(hb_status_name(V.status), hb_status_name(c->status));
		/* a reader without the option (hbpgload) takes the timestamp as it is */
		read_back(out, &ev);
		check(ev.ts_ok);
		check_int(ev.ts_zoneless, ==, 0);
		hb_buf_put(&first, out, strlen(out));
		out = classify_line(first.p, first.len - 1);
		check_mem(out, strlen(out), first.p, first.len);
		/* and classifies it again to the same line; an INVALID record is
		 * classified again from its raw input, which has no zone */
		C = save;
		out = classify_line(first.p, first.len - 1);
		if (c->status != HB_INVALID)
			check_mem(out, strlen(out), first.p, first.len);
		else
			check(strstr(out, "missing zone") != NULL);
		hb_buf_release(&first);
		tap_end();
	}
	tap_begin("without --assume-utc a naive timestamp is INVALID, saying so");
	classify_line(L("{\"customer_id\":\"C\",\"timestamp\":\"2026-11-23T08:00:00.123456\",\"heart_rate\":73}"));
	check_int(V.status, ==, HB_INVALID);
	check(V.reason && strstr(V.reason, "missing zone") && strstr(V.reason, "--assume-utc"));
	tap_end();
	C = save;
	hb_classifier_free(u);
}

/* Invalid records keep the input exactly: from raw, or raw_base64 when lossy. */
static void test_raw_exact(void)
{
	static const struct idem cases[] = {
		{"not JSON", L("hello \"world\" \\ /")},
		{"controls and NUL", L("\0\x01\n\r\t\x7f")},
		{"invalid UTF-8", L("\xff\xfe\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80 ok \xc3\xa9")},
		{"bad reading", L(READING("-1"))},
		{"JSON with escapes", L("[\"\\u0000\\ud83d\\ude00\"]")},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_event ev;
		const char *out;

		tap_begin("raw/raw_base64 give back the exact input: %s", cases[i].name);
		out = classify_line(cases[i].in, cases[i].n);
		read_back(out, &ev);
		check_int(ev.has_status, ==, 1);
		check_int(ev.status, ==, HB_INVALID);
		check_int(ev.has_raw, ==, 1);
		if (ev.raw_b64.p) {
			struct hb_buf dec = {0};
			int rc = hb_base64_decode(&dec, ev.raw_b64.p, ev.raw_b64.n);

			check_int(rc, ==, 0);
			check_mem(dec.p, dec.len, cases[i].in, cases[i].n);
			check(hb_utf8_valid_prefix(cases[i].in, cases[i].n) < cases[i].n);
			hb_buf_release(&dec);
		} else {
			check_mem(ev.raw.p, ev.raw.n, cases[i].in, cases[i].n);
		}
		tap_end();
	}
}

int main(void)
{
	static const struct hb_thresholds def = HB_THRESHOLDS_DEFAULT;

	C = hb_classifier_new(&def);
	RP = hb_parser_new();
	tap_begin("hb_classifier_new / hb_parser_new");
	check(C != NULL);
	check(RP != NULL);
	tap_end();
	if (!C || !RP)
		return tap_done();
	hb_classifier_free(NULL);
	test_exact();
	test_verdict();
	test_custom_thresholds();
	test_cut();
	test_idempotent();
	test_assume_utc();
	test_raw_exact();
	hb_classifier_free(C);
	hb_parser_free(RP);
	hb_buf_release(&OUT);
	return tap_done();
}
