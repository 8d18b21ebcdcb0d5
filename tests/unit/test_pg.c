/* test_pg — hb_pg's pure encoding helpers: binary COPY fields and text
 * cleaning (no server needed). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hb_pg.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define L(s) s, sizeof(s) - 1

static void test_header_trailer(void)
{
	struct hb_buf b = {0};

	tap_begin("hb_copy_begin writes the 11-byte signature, flags 0 and extension length 0");
	hb_copy_begin(&b);
	check_mem(b.p, b.len, "PGCOPY\n\377\r\n\0" "\0\0\0\0" "\0\0\0\0", 19);
	tap_end();

	tap_begin("hb_copy_end writes the -1 field count");
	hb_buf_reset(&b);
	hb_copy_end(&b);
	check_mem(b.p, b.len, "\xff\xff", 2);
	tap_end();

	tap_begin("hb_copy_row writes the field count, big-endian 16 bits");
	hb_buf_reset(&b);
	hb_copy_row(&b, 3);
	hb_copy_row(&b, 258);
	check_mem(b.p, b.len, "\x00\x03\x01\x02", 4);
	tap_end();

	tap_begin("hb_copy_null writes length -1");
	hb_buf_reset(&b);
	hb_copy_null(&b);
	check_mem(b.p, b.len, "\xff\xff\xff\xff", 4);
	tap_end();
	hb_buf_release(&b);
}

static void test_int4(void)
{
	static const struct {
		int32_t v;
		const char *want;
	} cases[] = {
		{0, "\x00\x00\x00\x04\x00\x00\x00\x00"},
		{73, "\x00\x00\x00\x04\x00\x00\x00\x49"},
		{-1, "\x00\x00\x00\x04\xff\xff\xff\xff"},
		{0x01020304, "\x00\x00\x00\x04\x01\x02\x03\x04"},
		{INT32_MAX, "\x00\x00\x00\x04\x7f\xff\xff\xff"},
		{INT32_MIN, "\x00\x00\x00\x04\x80\x00\x00\x00"},
		{-300, "\x00\x00\x00\x04\xff\xff\xfe\xd4"},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_buf b = {0};

		tap_begin("hb_copy_int4(%ld)", (long)cases[i].v);
		hb_copy_int4(&b, cases[i].v);
		check_mem(b.p, b.len, cases[i].want, 8);
		hb_buf_release(&b);
		tap_end();
	}
}

/* Kafka offsets (bigint): big-endian, two's complement, length 8. */
static void test_int8(void)
{
	static const struct {
		int64_t v;
		const char *want;
	} cases[] = {
		{0, "\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00"},
		{123, "\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x7b"},
		{0x0102030405060708LL, "\x00\x00\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08"},
		{4294967296LL, "\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00"},
		{-1, "\x00\x00\x00\x08\xff\xff\xff\xff\xff\xff\xff\xff"},
		{INT64_MAX, "\x00\x00\x00\x08\x7f\xff\xff\xff\xff\xff\xff\xff"},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_buf b = {0};

		tap_begin("hb_copy_int8(%lld)", (long long)cases[i].v);
		hb_copy_int8(&b, cases[i].v);
		check_mem(b.p, b.len, cases[i].want, 12);
		hb_buf_release(&b);
		tap_end();
	}
}

static void test_text(void)
{
	static const struct {
		const char *name, *s;
		size_t n;
		const char *want;
		size_t want_n;
	} cases[] = {
		{"empty", L(""), L("\x00\x00\x00\x00")},
		{"abc", L("abc"), L("\x00\x00\x00\x03" "abc")},
		{"bytes as they are (bytea)", L("\0\xff\n"), L("\x00\x00\x00\x03\0\xff\n")},
		{"UTF-8", L("caf\xc3\xa9"), L("\x00\x00\x00\x05" "caf\xc3\xa9")},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_buf b = {0};

		tap_begin("hb_copy_text: %s", cases[i].name);
		hb_copy_text(&b, cases[i].s, cases[i].n);
		check_mem(b.p, b.len, cases[i].want, cases[i].want_n);
		hb_buf_release(&b);
		tap_end();
	}

	{
		struct hb_buf b = {0};
		static char big[70000];

		memset(big, 'q', sizeof big);
		tap_begin("hb_copy_text: 70000 bytes, length 0x00011170");
		hb_copy_text(&b, big, sizeof big);
		check_int(b.len, ==, 4 + sizeof big);
		check_mem(b.p, 4, "\x00\x01\x11\x70", 4);
		hb_buf_release(&b);
		tap_end();
	}
}

static void test_ts(void)
{
	/* timestamptz: microseconds since 2000-01-01T00:00:00Z, big-endian int64. */
	static const struct {
		const char *name;
		int64_t unix_us;
		const char *want;
	} cases[] = {
		{"2000-01-01T00:00:00Z is 0", 946684800000000LL,
		 "\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00"},
		{"2000-01-01T00:00:00.000001Z is 1", 946684800000001LL,
		 "\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x01"},
		{"1999-12-31T23:59:59.999999Z is -1", 946684799999999LL,
		 "\x00\x00\x00\x08\xff\xff\xff\xff\xff\xff\xff\xff"},
		{"1970-01-01T00:00:00Z", 0,
		 "\x00\x00\x00\x08\xff\xfc\xa2\xfe\xc4\xc8\x20\x00"},
		{"2026-11-23T10:00:00.500Z", 1795428000500000LL,
		 "\x00\x00\x00\x08\x00\x03\x03\xed\x6c\xf8\xa9\x20"},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_buf b = {0};

		tap_begin("hb_copy_ts: %s", cases[i].name);
		hb_copy_ts(&b, cases[i].unix_us);
		check_mem(b.p, b.len, cases[i].want, 12);
		hb_buf_release(&b);
		tap_end();
	}
}

static void test_whole_stream(void)
{
	static const char want[] =
		"PGCOPY\n\377\r\n\0" "\0\0\0\0" "\0\0\0\0"
		"\x00\x03"
		"\x00\x00\x00\x0a" "CUST_00042"
		"\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00"
		"\x00\x00\x00\x04\x00\x00\x00\x49"
		"\x00\x03"
		"\xff\xff\xff\xff"
		"\xff\xff\xff\xff"
		"\x00\x00\x00\x04\x00\x00\x00\x00"
		"\xff\xff";
	struct hb_buf b = {0};

	tap_begin("a whole binary COPY stream: header, two rows, trailer");
	hb_copy_begin(&b);
	hb_copy_row(&b, 3);
	hb_copy_text(&b, "CUST_00042", 10);
	hb_copy_ts(&b, 946684800000000LL);
	hb_copy_int4(&b, 73);
	hb_copy_row(&b, 3);
	hb_copy_null(&b);
	hb_copy_null(&b);
	hb_copy_int4(&b, 0);
	hb_copy_end(&b);
	check_mem(b.p, b.len, want, sizeof want - 1);
	hb_buf_release(&b);
	tap_end();
}

static void test_text_clean(void)
{
	static const struct {
		const char *name, *s;
		size_t n;
		const char *want;
		size_t want_n;
		int changed;
	} cases[] = {
		{"empty", L(""), L(""), 0},
		{"ASCII", L("hello"), L("hello"), 0},
		{"valid UTF-8 kept", L("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
		 L("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), 0},
		{"U+FFFD kept", L("\xef\xbf\xbd"), L("\xef\xbf\xbd"), 0},
		{"controls other than NUL kept", L("\x01\t\n\r\x7f"), L("\x01\t\n\r\x7f"), 0},
		{"NUL", L("a\0b"), L("a\xef\xbf\xbd" "b"), 1},
		{"two NULs", L("\0\0"), L("\xef\xbf\xbd\xef\xbf\xbd"), 1},
		{"NUL at the end", L("ab\0"), L("ab\xef\xbf\xbd"), 1},
		{"0xFF", L("\xff"), L("\xef\xbf\xbd"), 1},
		{"Latin-1", L("caf\xe9!"), L("caf\xef\xbf\xbd!"), 1},
		{"truncated at the end", L("ab\xc3"), L("ab\xef\xbf\xbd"), 1},
		{"truncated 3-byte", L("\xe2\x82x"), L("\xef\xbf\xbd\xef\xbf\xbdx"), 1},
		{"overlong", L("\xc0\x80"), L("\xef\xbf\xbd\xef\xbf\xbd"), 1},
		{"surrogate", L("\xed\xa0\x80"), L("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"), 1},
		{"above U+10FFFF", L("\xf4\x90\x80\x80"),
		 L("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"), 1},
		{"mixed", L("\xc3\xa9\0\xff\xc3\xa9"), L("\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9"), 1},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_buf b = {0};
		int changed;

		tap_begin("hb_pg_text_clean: %s", cases[i].name);
		hb_buf_puts(&b, ">");
		changed = hb_pg_text_clean(&b, cases[i].s, cases[i].n);
		check_int(changed, ==, cases[i].changed);
		check(b.len >= 1 && b.p[0] == '>');
		check_mem(b.p + 1, b.len - 1, cases[i].want, cases[i].want_n);
		check(memchr(b.p, '\0', b.len) == NULL);
		hb_buf_release(&b);
		tap_end();
	}
}

int main(void)
{
	test_header_trailer();
	test_int4();
	test_int8();
	test_text();
	test_ts();
	test_whole_stream();
	test_text_clean();
	return tap_done();
}
