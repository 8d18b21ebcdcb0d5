/* test_nagle — hb_nagle: when a paused producer sends what it holds. */
#include <stdint.h>

#include "hb_nagle.h"
#include "tap.h"

#define MS 1000LL

static void test_send(void)
{
	struct hb_nagle n = {0};
	int64_t t = 1000000 * MS;

	tap_begin("hb_nagle_send_now: one send at a time, until it is acknowledged");
	check_int(hb_nagle_send_now(&n, t, 10, 0), ==, 1);
	/* 10 queued, none done: what comes meanwhile waits */
	check_int(hb_nagle_send_now(&n, t + 1 * MS, 12, 0), ==, 0);
	check_int(hb_nagle_send_now(&n, t + 4 * MS, 12, 9), ==, 0);
	/* all 10 done: the next goes at once */
	check_int(hb_nagle_send_now(&n, t + 4 * MS, 12, 10), ==, 1);
	check_int(n.sent_upto, ==, 12);
	tap_end();

	tap_begin("hb_nagle_send_now: a send unacknowledged for 5 ms is made again");
	check_int(hb_nagle_send_now(&n, t + 4 * MS + HB_NAGLE_RESEND_US - 1, 12, 10), ==, 0);
	check_int(hb_nagle_send_now(&n, t + 4 * MS + HB_NAGLE_RESEND_US, 12, 10), ==, 1);
	check_int(n.idle_sends, ==, 3);
	tap_end();
}

static void test_wait(void)
{
	struct hb_nagle n = {0};
	int64_t t = 1000000 * MS;

	tap_begin("hb_nagle_wait_ms: 1 ms while messages are out, 100 ms with none");
	check_int(hb_nagle_wait_ms(&n, 0, 0), ==, 100);
	check_int(hb_nagle_wait_ms(&n, 5, 0), ==, 1);
	tap_end();

	tap_begin("hb_nagle_wait_ms: 100 ms after 200 sends without a delivery, 1 ms again once one comes");
	for (int i = 0; i < HB_NAGLE_TRIES; i++)
		hb_nagle_send_now(&n, t + i * HB_NAGLE_RESEND_US, 5, 0);
	check_int(hb_nagle_wait_ms(&n, 5, 0), ==, 100);
	check_int(hb_nagle_wait_ms(&n, 5, 1), ==, 1);
	check_int(n.idle_sends, ==, 0);
	tap_end();
}

static void test_rate(void)
{
	struct hb_nagle n = {0};
	int64_t t = 1000000 * MS;
	uint64_t lines = 0;

	tap_begin("hb_nagle_slow: idle sends stop above 2,000 lines/s, counted per 100 ms");
	check_int(hb_nagle_slow(&n, t, lines), ==, 1);
	/* 200 lines in 100 ms: 2,000/s, not over */
	lines += 200;
	check_int(hb_nagle_slow(&n, t + 100 * MS, lines), ==, 1);
	/* within a window the verdict holds */
	lines += 1000;
	check_int(hb_nagle_slow(&n, t + 150 * MS, lines), ==, 1);
	/* 1,001 lines in that window (100 ms): fast */
	lines += 1;
	check_int(hb_nagle_slow(&n, t + 200 * MS, lines), ==, 0);
	/* a quiet window: slow again */
	lines += 10;
	check_int(hb_nagle_slow(&n, t + 300 * MS, lines), ==, 1);
	tap_end();
}

int main(void)
{
	test_send();
	test_wait();
	test_rate();
	return tap_done();
}
