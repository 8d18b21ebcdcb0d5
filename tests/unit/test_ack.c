/* test_ack — hb_acks: "PARTITION OFFSET" lines parsed whatever the split, and
 * what a consumer still awaits before it may say everything was stored. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void test_format(void)
{
	char b[64], small[5];
	struct hb_acks *a = hb_acks_new();
	struct seen sn = {""};
	int k;

	tap_begin("hb_ack_format: what the reader takes back");
	k = hb_ack_format(b, sizeof b, 1023, INT64_C(999999999999999999));
	check_int(k, ==, (int)strlen("1023 999999999999999999\n"));
	check_str(b, "1023 999999999999999999\n");
	hb_acks_feed(a, b, (size_t)k, record, &sn);
	check_str(sn.s, "1023:999999999999999999 ");
	check_int(hb_acks_bad(a), ==, 0);
	tap_end();

	tap_begin("hb_ack_format: refuses what it cannot say whole");
	check_int(hb_ack_format(b, sizeof b, -1, 5), ==, -1);
	check_int(hb_ack_format(b, sizeof b, 0, -1), ==, -1);
	check_int(hb_ack_format(small, sizeof small, 0, 12345), ==, -1);	/* never a torn line */
	check_int(hb_ack_format(small, sizeof small, 0, 1), ==, 4);	/* "0 1\n" and its NUL */
	tap_end();
	hb_acks_free(a);
}

/* A read end drained into a tracker. */
static void drain_into(int fd, struct hb_acks *a, struct seen *sn)
{
	char buf[4096];
	ssize_t k;

	while ((k = read(fd, buf, sizeof buf)) > 0)
		hb_acks_feed(a, buf, (size_t)k, record, sn);
}

static void test_out(void)
{
	char dir[] = "/tmp/test_ack.XXXXXX", path[64];
	struct hb_ack_out w;
	struct hb_acks *a = hb_acks_new();
	struct seen sn = {""};
	int rd, n = 0;

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/acks", dir);
	if (mkfifo(path, 0600) < 0)
		abort();
	hb_ack_out_init(&w, path);

	tap_begin("hb_ack_out_open: a FIFO without a reader is not open yet (ENXIO)");
	check_int(hb_ack_out_open(&w), ==, -1);
	check_int(errno, ==, ENXIO);
	check_int(w.fd, ==, -1);
	check_int(hb_ack_out_send(&w, 0, 1), ==, -1);	/* not open: nothing written */
	tap_end();

	tap_begin("hb_ack_out_send: lines the reader parses back, in order");
	rd = open(path, O_RDONLY | O_NONBLOCK);
	check(rd >= 0);
	check_int(hb_ack_out_open(&w), ==, 0);
	check_int(hb_ack_out_send(&w, 0, 5), ==, 0);
	check_int(hb_ack_out_send(&w, 3, 17), ==, 0);
	check_int(hb_ack_out_send(&w, 0, 4), ==, 0);	/* backwards: the reader ignores it */
	check_int(hb_ack_out_send(&w, 0, 6), ==, 0);
	drain_into(rd, a, &sn);
	check_str(sn.s, "0:5 3:17 0:6 ");
	check_int(hb_acks_stale(a), ==, 1);
	check_int(w.sent, ==, 4);
	tap_end();

	tap_begin("hb_ack_out_send: a reader that lags loses whole lines, never half of one");
	/* fill the pipe to the last byte, then acknowledge more: no room for a line */
	while (n < 1 << 22) {
		char junk[7] = "9 9999\n";	/* stale lines the reader will drop */

		if (write(w.fd, junk, 1) < 0)
			break;
		n++;
	}
	check_int(hb_ack_out_send(&w, 0, 100), ==, 0);
	check_int(w.lagged, ==, 1);
	drain_into(rd, a, &sn);		/* all '9's: one overlong line, no newline yet */
	check_int(hb_ack_out_send(&w, 0, 101), ==, 0);
	drain_into(rd, a, &sn);
	/* the filler ends at the next newline: the line sent after it is whole */
	check_int(hb_ack_out_send(&w, 0, 102), ==, 0);
	drain_into(rd, a, &sn);
	check_str(sn.s, "0:5 3:17 0:6 0:102 ");
	check_int(w.lagged, ==, 1);
	tap_end();

	tap_begin("hb_ack_out_send: the reader gone is EPIPE, closed, opened again later");
	close(rd);
	check_int(hb_ack_out_send(&w, 0, 103), ==, -1);
	check_int(errno, ==, EPIPE);
	check_int(w.fd, ==, -1);
	check_int(hb_ack_out_open(&w), ==, -1);
	check_int(errno, ==, ENXIO);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	check_int(hb_ack_out_open(&w), ==, 0);
	check_int(hb_ack_out_send(&w, 0, 104), ==, 0);
	drain_into(rd, a, &sn);
	check_str(sn.s, "0:5 3:17 0:6 0:102 0:104 ");
	tap_end();

	hb_ack_out_close(&w);
	hb_ack_out_close(&w);	/* twice is fine */
	close(rd);
	unlink(path);
	rmdir(dir);
	hb_acks_free(a);
}

/* --ack-to a plain file: each open appends, so a second run (or a reopen)
 * never writes over the lines of the first. */
static void test_out_file(void)
{
	char dir[] = "/tmp/test_ack.XXXXXX", path[64], buf[128];
	struct hb_ack_out w;
	ssize_t k;
	int fd;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/acks", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	check(fd >= 0);
	close(fd);
	hb_ack_out_init(&w, path);

	tap_begin("hb_ack_out_open: a plain file is appended to, run after run");
	check_int(hb_ack_out_open(&w), ==, 0);
	check_int(hb_ack_out_send(&w, 1, 123456), ==, 0);
	hb_ack_out_close(&w);
	check_int(hb_ack_out_open(&w), ==, 0);
	check_int(hb_ack_out_send(&w, 0, 7), ==, 0);
	hb_ack_out_close(&w);
	fd = open(path, O_RDONLY);
	k = read(fd, buf, sizeof buf - 1);
	close(fd);
	check(k >= 0);
	buf[k > 0 ? k : 0] = '\0';
	check_str(buf, "1 123456\n0 7\n");
	tap_end();

	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_lines();
	test_splits();
	test_outstanding();
	test_format();
	test_out();
	test_out_file();
	return tap_done();
}
