/* test_ack — hb_acks: "PARTITION OFFSET" lines parsed whatever the split, and
 * what a consumer still awaits before it may say everything was stored. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hb_ack.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* What fn was given, in order, as "p:o " pairs. */
struct seen {
	char s[512];
};

static void record(void *arg, int32_t p, int64_t o)
{
	struct seen *sn = arg;
	size_t n = strlen(sn->s);

	snprintf(sn->s + n, sizeof sn->s - n, "%d:%lld ", p, (long long)o);
}

static void test_lines(void)
{
	static const struct {
		const char *name, *in, *want;
		uint64_t bad, stale;
	} cases[] = {
		{"one line", "0 5\n", "0:5 ", 0, 0},
		{"several partitions", "0 5\n2 7\n1 0\n", "0:5 2:7 1:0 ", 0, 0},
		{"each moves forward", "0 5\n0 9\n", "0:5 0:9 ", 0, 0},
		{"an offset going backwards is not passed on", "0 9\n0 5\n0 9\n0 10\n", "0:9 0:10 ", 0, 2},
		{"no newline yet: nothing", "0 5", "", 0, 0},
		{"not a number", "x 5\n0 5\n", "0:5 ", 1, 0},
		{"a sign", "+0 5\n0 -5\n", "", 2, 0},
		{"two spaces", "0  5\n", "", 1, 0},
		{"trailing blank", "0 5 \n", "", 1, 0},
		{"empty line", "\n", "", 1, 0},
		{"partition out of range", "1024 5\n1023 5\n", "1023:5 ", 1, 0},
		{"a partition that wraps to 0 as a 32-bit number", "4294967296 5\n4294967297 5\n", "", 2, 0},
		{"a huge offset", "0 99999999999999999999\n0 1\n", "0:1 ", 1, 0},
		{"a line too long is skipped to its end",
		 "0 11111111111111111111111111111111111111111111111111111111111111111111111111111111\n3 4\n",
		 "3:4 ", 1, 0},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hb_acks *a = hb_acks_new();
		struct seen sn = {""};
		size_t n;

		tap_begin("hb_acks_feed: %s", cases[i].name);
		check(a != NULL);
		n = hb_acks_feed(a, cases[i].in, strlen(cases[i].in), record, &sn);
		check_str(sn.s, cases[i].want);
		check_int(hb_acks_bad(a), ==, cases[i].bad);
		check_int(hb_acks_stale(a), ==, cases[i].stale);
		check_int(hb_acks_count(a), ==, n);
		tap_end();
		hb_acks_free(a);
	}
}

/* A torn line: every split of the same stream gives the same acknowledgements. */
static void test_splits(void)
{
	static const char in[] = "0 5\n1 17\nbad\n2 123456789\n0 6\n";
	struct hb_acks *whole = hb_acks_new();
	struct seen want = {""};

	hb_acks_feed(whole, in, sizeof in - 1, record, &want);
	tap_begin("hb_acks_feed: a line torn between two reads, at every byte");
	check_str(want.s, "0:5 1:17 2:123456789 0:6 ");
	for (size_t cut = 0; cut <= sizeof in - 1; cut++) {
		struct hb_acks *a = hb_acks_new();
		struct seen sn = {""};

		hb_acks_feed(a, in, cut, record, &sn);
		hb_acks_feed(a, in + cut, sizeof in - 1 - cut, record, &sn);
		if (!check_str(sn.s, want.s) || !check_int(hb_acks_bad(a), ==, 1))
			printf("#   cut at %zu\n", cut);
		check_str(hb_acks_last_bad(a), "bad");
		hb_acks_free(a);
	}
	tap_end();
	hb_acks_free(whole);

	tap_begin("hb_acks_feed: byte by byte");
	{
		struct hb_acks *a = hb_acks_new();
		struct seen sn = {""};

		for (size_t i = 0; i < sizeof in - 1; i++)
			hb_acks_feed(a, in + i, 1, record, &sn);
		check_str(sn.s, want.s);
		hb_acks_free(a);
	}
	tap_end();
}

static void test_outstanding(void)
{
	struct hb_acks *a = hb_acks_new();
	int np = -1;

	tap_begin("hb_acks_outstanding: nothing written, nothing awaited");
	check_int(hb_acks_outstanding(a, &np), ==, 0);
	check_int(np, ==, 0);
	tap_end();

	tap_begin("hb_acks_outstanding: written from offset 500, none acknowledged");
	for (int64_t o = 500; o < 1000; o++)
		hb_acks_written(a, 0, o);
	hb_acks_written(a, 2, 0);
	check_int(hb_acks_outstanding(a, &np), ==, 501);
	check_int(np, ==, 2);
	tap_end();

	tap_begin("hb_acks_outstanding: acknowledged in part, then in full");
	hb_acks_feed(a, "0 749\n", 6, NULL, NULL);
	check_int(hb_acks_outstanding(a, &np), ==, 251);
	hb_acks_feed(a, "0 999\n2 0\n", 10, NULL, NULL);
	check_int(hb_acks_outstanding(a, &np), ==, 0);
	check_int(np, ==, 0);
	tap_end();

	tap_begin("hb_acks_outstanding: an acknowledgement for a partition not held counts for nothing");
	hb_acks_feed(a, "7 100\n", 6, NULL, NULL);
	check_int(hb_acks_outstanding(a, &np), ==, 0);
	hb_acks_written(a, 1, 10);
	hb_acks_feed(a, "1 5\n", 4, NULL, NULL);	/* below what was written: still awaited */
	check_int(hb_acks_outstanding(a, &np), ==, 1);
	check_int(np, ==, 1);
	tap_end();

	tap_begin("hb_acks_forget: a partition taken away is no longer awaited");
	check_int(hb_acks_forget(a, 1), ==, 1);
	check_int(hb_acks_outstanding(a, NULL), ==, 0);
	/* assigned again, from an earlier offset: counted afresh */
	hb_acks_written(a, 1, 3);
	hb_acks_written(a, 1, 4);
	check_int(hb_acks_outstanding(a, NULL), ==, 2);
	check_int(hb_acks_forget(a, -1), ==, 0);	/* out of range: ignored */
	check_int(hb_acks_forget(a, HB_ACK_MAX_PARTS), ==, 0);
	hb_acks_written(a, HB_ACK_MAX_PARTS, 1);
	check_int(hb_acks_outstanding(a, NULL), ==, 2);
	tap_end();
	hb_acks_free(a);
	hb_acks_free(NULL);
}

int main(void)
{
	test_lines();
	test_splits();
	test_outstanding();
	return tap_done();
}
