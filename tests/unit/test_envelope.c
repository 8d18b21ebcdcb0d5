/* test_envelope — hb_envelope: the exact line written for each kind of key
 * and value, reading it back, and the one-line refusals (beyond what the
 * fuzz harness checks: that any line reads without a crash and round-trips). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_envelope.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct write_case {
	const char *name;
	struct hb_envelope e;
	const char *want;
};

static const struct write_case writes[] = {
	{"a JSON value inline, a string key",
	 {"heartbeat-events", 0, 42, 1763892000500, "CUST_00042", 10, "{\"a\":1}", 7},
	 "{\"topic\":\"heartbeat-events\",\"partition\":0,\"offset\":42,\"timestamp\":1763892000500,"
	 "\"key\":\"CUST_00042\",\"value\":{\"a\":1}}\n"},
	{"no key, no timestamp, a tombstone",
	 {"t", 2, 7, -1, NULL, 0, NULL, 0},
	 "{\"topic\":\"t\",\"partition\":2,\"offset\":7,\"key\":null}\n"},
	{"a value that is not JSON goes as base64",
	 {"t", 1, 0, 5, "k", 1, "hello", 5},
	 "{\"topic\":\"t\",\"partition\":1,\"offset\":0,\"timestamp\":5,\"key\":\"k\",\"value_b64\":\"aGVsbG8=\"}\n"},
	{"JSON with a blank around it goes as base64 (exact bytes)",
	 {"t", 1, 0, -1, NULL, 0, " 1", 2},
	 "{\"topic\":\"t\",\"partition\":1,\"offset\":0,\"key\":null,\"value_b64\":\"IDE=\"}\n"},
	{"JSON over two lines goes as base64",
	 {"t", 1, 0, -1, NULL, 0, "[1,\n2]", 6},
	 "{\"topic\":\"t\",\"partition\":1,\"offset\":0,\"key\":null,\"value_b64\":\"WzEsCjJd\"}\n"},
	{"an empty value is not a null one",
	 {"t", 0, 1, -1, NULL, 0, "", 0},
	 "{\"topic\":\"t\",\"partition\":0,\"offset\":1,\"key\":null,\"value_b64\":\"\"}\n"},
	{"a key that is not UTF-8 goes as key_b64; a key with a quote is escaped",
	 {"t", 0, 1, -1, "\xff\xfe", 2, "\"q\"", 3},
	 "{\"topic\":\"t\",\"partition\":0,\"offset\":1,\"key_b64\":\"//4=\",\"value\":\"q\"}\n"},
	{"a key with a quote and a NUL is escaped",
	 {"t", 0, 1, -1, "a\"\0b", 4, "1", 1},
	 "{\"topic\":\"t\",\"partition\":0,\"offset\":1,\"key\":\"a\\\"\\u0000b\",\"value\":1}\n"},
};

static void test_write_read(void)
{
	struct hb_envreader *r = hb_envreader_new();
	struct hb_buf out = {0};
	char err[300];

	if (!r)
		abort();
	for (size_t i = 0; i < NELEM(writes); i++) {
		const struct hb_envelope *w = &writes[i].e;
		struct hb_envelope e;

		tap_begin("hb_envelope: %s", writes[i].name);
		hb_buf_reset(&out);
		hb_envelope_write(&out, w);
		check_mem(out.p, out.len, writes[i].want, strlen(writes[i].want));
		/* and back, without its newline */
		check_int(hb_envelope_read(r, out.p, out.len - 1, &e, err, sizeof err), ==, 0);
		check_str(e.topic, w->topic);
		check_int(e.partition, ==, w->partition);
		check_int(e.offset, ==, w->offset);
		check_int(e.timestamp_ms, ==, w->timestamp_ms);
		check((e.key == NULL) == (w->key == NULL));
		if (e.key && w->key)
			check_mem(e.key, e.key_len, w->key, w->key_len);
		check((e.value == NULL) == (w->value == NULL));
		if (e.value && w->value)
			check_mem(e.value, e.value_len, w->value, w->value_len);
		tap_end();
	}
	hb_buf_release(&out);
	hb_envreader_free(r);
}

static void test_read(void)
{
	struct hb_envreader *r = hb_envreader_new();
	struct hb_envelope e;
	char err[300];
	const char *s;

	if (!r)
		abort();
	tap_begin("hb_envelope_read: members absent are -1 and NULL");
	s = "{}";
	check_int(hb_envelope_read(r, s, strlen(s), &e, err, sizeof err), ==, 0);
	check(e.topic == NULL);
	check_int(e.partition, ==, -1);
	check_int(e.offset, ==, -1);
	check_int(e.timestamp_ms, ==, -1);
	check(e.key == NULL);
	check(e.value == NULL);
	tap_end();

	tap_begin("hb_envelope_read: the value's exact text, blanks around it dropped");
	s = "{\"value\" :  {\"b\": [1, 2.50]} , \"key\":null}";
	check_int(hb_envelope_read(r, s, strlen(s), &e, err, sizeof err), ==, 0);
	check_mem(e.value, e.value_len, "{\"b\": [1, 2.50]}", 16);
	tap_end();

	tap_begin("hb_envelope_read: value_b64 wins over value");
	s = "{\"value\":1,\"value_b64\":\"aGk=\"}";
	check_int(hb_envelope_read(r, s, strlen(s), &e, err, sizeof err), ==, 0);
	check_mem(e.value, e.value_len, "hi", 2);
	tap_end();

	{
		static const struct {
			const char *line, *err;
		} bad[] = {
			{"{\"topic\":", NULL},	/* "not JSON: ... at column N" */
			{"[1]", "not an envelope: not a JSON object"},
			{"\"x\"", "not an envelope: not a JSON object"},
			{"{\"partition\":\"1\"}", "not an envelope: \"partition\" must be an integer"},
			{"{\"partition\":2147483648}", "not an envelope: \"partition\" must be an integer"},
			{"{\"partition\":-2}", "not an envelope: \"partition\" must be an integer"},
			{"{\"offset\":1.5}", "not an envelope: \"offset\" must be an integer"},
			{"{\"timestamp\":\"now\"}", "not an envelope: \"timestamp\" must be an integer of milliseconds"},
			{"{\"key\":5}", "not an envelope: \"key\" must be a string or null"},
			{"{\"key_b64\":\"!!\"}", "not an envelope: \"key_b64\" is not base64"},
			{"{\"key_b64\":7}", "not an envelope: \"key_b64\" is not base64"},
			{"{\"value_b64\":\"a\"}", "not an envelope: \"value_b64\" is not base64"},
			{"{\"value_b64\":null}", "not an envelope: \"value_b64\" is not base64"},
		};

		tap_begin("hb_envelope_read: refusals, one line each");
		for (size_t i = 0; i < NELEM(bad); i++) {
			err[0] = '\0';
			check_int(hb_envelope_read(r, bad[i].line, strlen(bad[i].line), &e, err, sizeof err), ==, -1);
			if (bad[i].err)
				check_str(err, bad[i].err);
			else
				check(strncmp(err, "not JSON: ", 10) == 0 && strstr(err, " at column ") != NULL);
			check(strchr(err, '\n') == NULL);
		}
		tap_end();
	}

	tap_begin("hb_envelope_read: a reader goes on after a refusal");
	s = "{\"partition\":3,\"offset\":9}";
	check_int(hb_envelope_read(r, s, strlen(s), &e, err, sizeof err), ==, 0);
	check_int(e.partition, ==, 3);
	check_int(e.offset, ==, 9);
	tap_end();
	hb_envreader_free(r);
}

int main(void)
{
	test_write_read();
	test_read();
	return tap_done();
}
