/* test_log — hb_log_quote: plain words as they are, the rest quoted and
 * escaped, cut to fit with "...". */
#include <stdio.h>
#include <string.h>

#include "hb_log.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal and its length (NUL bytes inside count). */
#define L(s) s, sizeof(s) - 1

struct quote_case {
	const char *name;
	const char *in;
	size_t n;
	const char *want;
};

static const struct quote_case cases[] = {
	{"a plain word stays as it is", L("CUST_00042"), "CUST_00042"},
	{"punctuation is plain", L("a.b:c/d-e+f@g"), "a.b:c/d-e+f@g"},
	{"empty is quoted", L(""), "\"\""},
	{"a blank quotes", L("a b"), "\"a b\""},
	{"= quotes (it would read as a key)", L("a=b"), "\"a=b\""},
	{"a quote is escaped", L("a\"b"), "\"a\\\"b\""},
	{"a backslash is escaped", L("a\\b"), "\"a\\\\b\""},
	{"a newline is \\x0a", L("a\nb"), "\"a\\x0ab\""},
	{"a tab is \\x09", L("\t"), "\"\\x09\""},
	{"DEL is \\x7f", L("\x7f"), "\"\\x7f\""},
	{"a NUL byte inside counts", L("a\0b"), "\"a\\x00b\""},
	{"UTF-8 is quoted, bytes kept", L("caf\xc3\xa9"), "\"caf\xc3\xa9\""},
};

static void test_cases(void)
{
	char dst[64];

	for (size_t i = 0; i < NELEM(cases); i++) {
		tap_begin("hb_log_quote: %s", cases[i].name);
		check(hb_log_quote(dst, sizeof dst, cases[i].in, cases[i].n) == dst);
		check_str(dst, cases[i].want);
		tap_end();
	}
}

static void test_fit(void)
{
	char big[200], dst[16];

	memset(big, 'x', sizeof big);

	tap_begin("hb_log_quote: a plain word that fits exactly stays plain");
	hb_log_quote(dst, sizeof dst, big, sizeof dst - 1);
	check_int(strlen(dst), ==, sizeof dst - 1);
	check(dst[0] == 'x');
	tap_end();

	tap_begin("hb_log_quote: one byte more is cut, quoted, ends in ...\"");
	hb_log_quote(dst, sizeof dst, big, sizeof dst);
	check_int(strlen(dst), <=, sizeof dst - 1);
	check_str(dst, "\"xxxxxxxxxx...\"");
	tap_end();

	tap_begin("hb_log_quote: an escape is never cut in half");
	for (size_t sz = 8; sz <= 24; sz++) {
		char d[24];
		const char *nl = "\n\n\n\n\n\n\n\n\n\n";
		size_t len;

		hb_log_quote(d, sz, nl, strlen(nl));
		len = strlen(d);
		check_int(len, <=, sz - 1);
		check(d[0] == '"' && d[len - 1] == '"');
		/* the inside: whole \x0a escapes, then maybe "..." */
		for (size_t k = 1; k + 1 < len && d[k] != '.'; k += 4)
			check(memcmp(d + k, "\\x0a", 4) == 0);
	}
	tap_end();

	tap_begin("hb_log_quote: a buffer under 8 bytes gets an empty string");
	memset(dst, '#', sizeof dst);
	hb_log_quote(dst, 7, "abc", 3);
	check_str(dst, "");
	hb_log_quote(dst, 0, "abc", 3);	/* writes nothing at all */
	check(dst[0] == '\0' && dst[1] == '#');
	tap_end();
}

int main(void)
{
	test_cases();
	test_fit();
	return tap_done();
}
