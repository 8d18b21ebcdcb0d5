/* test_days — UTC days of times, their dates, and which day partitions a
 * loader asks for (the window around today, the days ahead, remembering). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hb_days.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DAY 86400000000LL

static const struct {
	int64_t us;
	int32_t day;
	const char *date;
} day_cases[] = {
	{0, 0, "1970-01-01"},
	{DAY - 1, 0, "1970-01-01"},
	{DAY, 1, "1970-01-02"},
	{-1, -1, "1969-12-31"},
	{-DAY, -1, "1969-12-31"},
	{-DAY - 1, -2, "1969-12-30"},
	{951782400LL * 1000000, 11016, "2000-02-29"},
	{1764547200LL * 1000000, 20423, "2025-12-01"},
	{1795996800LL * 1000000 + DAY - 1, 20787, "2026-11-30"},
	{1796083200LL * 1000000, 20788, "2026-12-01"},
	{4107542400LL * 1000000, 47541, "2100-03-01"},
	{4107542400LL * 1000000 - 1, 47540, "2100-02-28"},
};

static void test_day_of(void)
{
	for (size_t i = 0; i < NELEM(day_cases); i++) {
		char buf[HB_DAY_BUF];

		tap_begin("hb_day_of(%lld) = %d, %s", (long long)day_cases[i].us,
			  (int)day_cases[i].day, day_cases[i].date);
		check_int(hb_day_of(day_cases[i].us), ==, day_cases[i].day);
		hb_day_format(day_cases[i].day, buf);
		check_str(buf, day_cases[i].date);
		tap_end();
	}
}

static void test_due(void)
{
	struct hb_days d;
	int32_t today = 20788, lo = 0, hi = 0;

	tap_begin("first: yesterday to the days ahead, then nothing until a new day");
	hb_days_init(&d);
	check(hb_days_due(&d, today, &lo, &hi));
	check_int(lo, ==, today - 1);
	check_int(hi, ==, today + HB_DAYS_AHEAD);
	hb_days_done(&d, today, lo, hi);
	check(!hb_days_due(&d, today, &lo, &hi));
	hb_days_note(&d, today);	/* a known day: nothing due */
	check(!hb_days_due(&d, today, &lo, &hi));
	check(hb_days_due(&d, today + 1, &lo, &hi));	/* midnight: the next day ahead */
	check_int(hi, ==, today + 1 + HB_DAYS_AHEAD);
	tap_end();

	tap_begin("rows of recent days: those days, once");
	hb_days_init(&d);
	hb_days_done(&d, today, today - 1, today + HB_DAYS_AHEAD);
	hb_days_note(&d, today - 5);
	hb_days_note(&d, today - 5);
	hb_days_note(&d, today - 3);
	check(hb_days_due(&d, today, &lo, &hi));
	check_int(lo, ==, today - 5);
	check_int(hi, ==, today - 3);
	hb_days_done(&d, today, lo, hi);
	hb_days_note(&d, today - 4);
	check(!hb_days_due(&d, today, &lo, &hi));
	tap_end();

	tap_begin("rows outside the window: the window's edge, never further");
	hb_days_init(&d);
	hb_days_done(&d, today, today - 1, today + HB_DAYS_AHEAD);
	hb_days_note(&d, 0);		/* 1970 */
	hb_days_note(&d, today + 4000);	/* 2037 */
	check(hb_days_due(&d, today, &lo, &hi));
	check_int(lo, ==, today - HB_DAYS_BACK);
	check_int(hi, ==, today + HB_DAYS_AHEAD);
	hb_days_done(&d, today, lo, hi);
	hb_days_note(&d, 5);		/* 1970 again: outside, nothing due */
	check(!hb_days_due(&d, today, &lo, &hi));
	check(!hb_days_due(&d, today, &lo, &hi));
	tap_end();

	tap_begin("a failed request is asked again (done not called)");
	hb_days_init(&d);
	check(hb_days_due(&d, today, &lo, &hi));
	check(hb_days_due(&d, today, &lo, &hi));
	tap_end();

	tap_begin("the ring forgets the oldest days, then asks for them again");
	hb_days_init(&d);
	hb_days_done(&d, today, today - 1, today + HB_DAYS_AHEAD);
	for (int32_t k = 0; k < HB_DAYS_KNOWN + 8; k++)
		hb_days_done(&d, today, today - HB_DAYS_BACK + (k % 30), today - HB_DAYS_BACK + (k % 30));
	hb_days_note(&d, today - 2);
	check(!hb_days_due(&d, today, &lo, &hi));
	tap_end();
}

int main(void)
{
	test_day_of();
	test_due();
	return tap_done();
}
