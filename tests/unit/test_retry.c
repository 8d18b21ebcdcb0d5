/* test_retry — hb_retry: the backoff, the budget, when to say so. */
#include <stdint.h>

#include "hb_retry.h"
#include "tap.h"

#define S 1000000LL

static void test_backoff(void)
{
	struct hb_retry r;
	int64_t now = 1000 * S;

	hb_retry_init(&r, 300 * S, 100000, 5 * S);
	tap_begin("hb_retry: backoff doubles from min up to max");
	check_int(hb_retry_failed(&r, now), ==, 0);
	check_int(hb_retry_wait_us(&r, now), ==, 100000);
	check_int(hb_retry_wait_us(&r, now), ==, 200000);
	check_int(hb_retry_wait_us(&r, now), ==, 400000);
	for (int i = 0; i < 10; i++)
		hb_retry_wait_us(&r, now);
	check_int(hb_retry_wait_us(&r, now), ==, 5 * S);
	tap_end();

	tap_begin("hb_retry: the budget counts from the first failure, not the last");
	check_int(hb_retry_failed(&r, now + 299 * S), ==, 0);
	check_int(hb_retry_wait_us(&r, now + 299 * S), ==, 1 * S);	/* never past the budget */
	check_int(hb_retry_failed(&r, now + 300 * S), ==, 1);
	check_int(r.tries, ==, 3);
	tap_end();

	tap_begin("hb_retry_ok: how long it failed, then afresh");
	check_int(hb_retry_ok(&r, now + 301 * S), ==, 301 * S);
	check_int(hb_retry_ok(&r, now + 302 * S), ==, 0);
	check_int(hb_retry_failed(&r, now + 400 * S), ==, 0);
	check_int(hb_retry_wait_us(&r, now + 400 * S), ==, 100000);
	check_int(hb_retry_failed(&r, now + 699 * S), ==, 0);
	check_int(hb_retry_failed(&r, now + 700 * S), ==, 1);
	tap_end();
}

static void test_budget(void)
{
	struct hb_retry r;

	tap_begin("hb_retry: a budget of 0 never gives up, and waits are not cut");
	hb_retry_init(&r, 0, 100000, 5 * S);
	check_int(hb_retry_failed(&r, 5 * S), ==, 0);
	check_int(hb_retry_failed(&r, 100000 * S), ==, 0);
	check_int(hb_retry_wait_us(&r, 100000 * S), ==, 100000);
	tap_end();

	tap_begin("hb_retry_failed_since: the failure began at the last sign of life");
	hb_retry_init(&r, 60 * S, 100000, 5 * S);
	check_int(hb_retry_failed_since(&r, 10 * S, 69 * S), ==, 0);
	check_int(hb_retry_failed_since(&r, 10 * S, 70 * S), ==, 1);
	check_int(hb_retry_failed_since(&r, 50 * S, 70 * S), ==, 0);	/* it answered meanwhile */
	tap_end();

	tap_begin("hb_retry: a wait at the very end of the budget is still 1 ms");
	hb_retry_init(&r, 1 * S, 100000, 5 * S);
	hb_retry_failed(&r, 10 * S);
	check_int(hb_retry_wait_us(&r, 11 * S), ==, 1000);
	tap_end();
}

static void test_note(void)
{
	struct hb_retry r;

	hb_retry_init(&r, 0, 100000, 5 * S);
	tap_begin("hb_retry_note_due: at once, then every interval");
	check_int(hb_retry_note_due(&r, 100 * S, 10 * S), ==, 1);
	check_int(hb_retry_note_due(&r, 101 * S, 10 * S), ==, 0);
	check_int(hb_retry_note_due(&r, 109 * S, 10 * S), ==, 0);
	check_int(hb_retry_note_due(&r, 110 * S, 10 * S), ==, 1);
	hb_retry_ok(&r, 111 * S);
	check_int(hb_retry_note_due(&r, 112 * S, 10 * S), ==, 1);	/* a new failure is said */
	tap_end();
}

int main(void)
{
	test_backoff();
	test_budget();
	test_note();
	return tap_done();
}
