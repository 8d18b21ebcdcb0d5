/* test_fetch_wake — hb_fetch_wake_due: when a full queue has drained, wake the fetcher, once. */
#include <stdint.h>

#include "hb_fetch_wake.h"
#include "tap.h"

#define MS 1000LL

static void test_cycle(void)
{
	struct hb_fetch_wake w;
	int64_t t = 1000 * MS;

	hb_fetch_wake_init(&w, 20000, 65536);
	if (w.off) {	/* librdkafka 2.3+: fetch.queue.backoff.ms does it */
		tap_begin("hb_fetch_wake: off where librdkafka has fetch.queue.backoff.ms");
		check_int(hb_fetch_wake_due(&w, 20000, 80, t), ==, 0);
		check_int(hb_fetch_wake_due(&w, 0, 80, t + 10 * MS), ==, 0);
		tap_end();
		return;
	}
	tap_begin("hb_fetch_wake: a queue that never filled never asks");
	for (size_t n = 0; n < 20000; n += 1000)
		check_int(hb_fetch_wake_due(&w, n, 80, t), ==, 0);
	check_int(hb_fetch_wake_due(&w, 0, 80, t + 10 * MS), ==, 0);
	tap_end();

	tap_begin("hb_fetch_wake: full at queued.min.messages, woken at half, once");
	check_int(hb_fetch_wake_due(&w, 20000, 80, t), ==, 0);
	check_int(hb_fetch_wake_due(&w, 15000, 80, t), ==, 0);
	check_int(hb_fetch_wake_due(&w, 10001, 80, t), ==, 0);
	check_int(hb_fetch_wake_due(&w, 10000, 80, t), ==, 1);
	check_int(hb_fetch_wake_due(&w, 5000, 80, t + 10 * MS), ==, 0);
	check_int(hb_fetch_wake_due(&w, 0, 80, t + 20 * MS), ==, 0);
	tap_end();

	tap_begin("hb_fetch_wake: full again after the refill, woken again");
	check_int(hb_fetch_wake_due(&w, 31000, 80, t + 30 * MS), ==, 0);
	check_int(hb_fetch_wake_due(&w, 200, 80, t + 40 * MS), ==, 1);
	tap_end();

	tap_begin("hb_fetch_wake: full by queued.max.messages.kbytes (large messages)");
	check_int(hb_fetch_wake_due(&w, 7000, 10240, t + 50 * MS), ==, 0);	/* 70 MB of 64 MiB */
	check_int(hb_fetch_wake_due(&w, 100, 10240, t + 60 * MS), ==, 1);
	check_int(hb_fetch_wake_due(&w, 7000, 0, t + 70 * MS), ==, 0);	/* size unknown: by count */
	check_int(hb_fetch_wake_due(&w, 100, 0, t + 80 * MS), ==, 0);
	tap_end();
}

static void test_gap(void)
{
	struct hb_fetch_wake w;
	int64_t t = 1000 * MS;

	hb_fetch_wake_init(&w, 1, 65536);
	if (w.off)
		return;
	tap_begin("hb_fetch_wake: queued.min.messages=1 asks at most once per gap");
	check_int(hb_fetch_wake_due(&w, 1, 80, t), ==, 0);
	check_int(hb_fetch_wake_due(&w, 0, 80, t), ==, 1);
	check_int(hb_fetch_wake_due(&w, 1, 80, t + 1 * MS), ==, 0);
	check_int(hb_fetch_wake_due(&w, 0, 80, t + 1 * MS), ==, 0);	/* within the gap */
	check_int(hb_fetch_wake_due(&w, 0, 80, t + HB_FETCH_WAKE_GAP_US), ==, 1);	/* still due after it */
	tap_end();

	tap_begin("hb_fetch_wake: defaults when the settings are unknown (0)");
	hb_fetch_wake_init(&w, 0, 0);
	check_int(hb_fetch_wake_due(&w, 99999, 0, t), ==, 0);
	check_int(hb_fetch_wake_due(&w, 0, 0, t), ==, 0);
	check_int(hb_fetch_wake_due(&w, 100000, 0, t), ==, 0);
	check_int(hb_fetch_wake_due(&w, 0, 0, t), ==, 1);
	tap_end();
}

int main(void)
{
	test_cycle();
	test_gap();
	return tap_done();
}
