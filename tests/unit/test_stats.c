/* test_stats — hb_stats: --stats values, when a line is due, how long to
 * wait for input, the rate over an interval; and quantiles over an interval
 * (hb_hist_sub). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hb_hist.h"
#include "hb_stats.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define S 1000000LL

static const struct {
	const char *arg;
	int ok;
	int64_t us;
} parse_cases[] = {
	{"0", 1, 0},
	{"0.0", 1, 0},
	{"10", 1, 10 * S},
	{"0.1", 1, 100000},
	{"2.5", 1, 2500000},
	{"86400", 1, 86400 * S},
	{"1e1", 1, 10 * S},
	{"0.05", 0, 0},
	{"0.0999", 0, 0},
	{"86400.5", 0, 0},
	{"-1", 0, 0},
	{"", 0, 0},
	{"ten", 0, 0},
	{"10s", 0, 0},
	{"nan", 0, 0},
	{"inf", 0, 0},
};

static void test_parse(void)
{
	for (size_t i = 0; i < NELEM(parse_cases); i++) {
		int64_t us = -7;
		char err[200] = "";
		int rc = hb_stats_parse("--stats", parse_cases[i].arg, &us, err, sizeof err);

		tap_begin("--stats '%s': %s", parse_cases[i].arg, parse_cases[i].ok ? "accepted" : "refused");
		check_int(rc, ==, parse_cases[i].ok ? 0 : -1);
		if (parse_cases[i].ok) {
			check_int(us, ==, parse_cases[i].us);
		} else {
			check_int(us, ==, -7);	/* untouched */
			check(strncmp(err, "--stats: ", 9) == 0);
			check(strchr(err, '\n') == NULL);
		}
		tap_end();
	}
}

/* From a start at t0 = 1000 s with interval iv: due? and how long to wait at now. */
static const struct {
	int64_t iv, now;
	int wait_in, due, wait_out;
} due_cases[] = {
	{0, 1000 * S, -1, 0, -1},                 /* off: never due, the caller's wait */
	{0, 5000 * S, 100, 0, 100},
	{10 * S, 1000 * S, -1, 0, 10000},         /* just started: a whole interval */
	{10 * S, 1000 * S, 100, 0, 100},          /* the caller's wait is shorter */
	{10 * S, 1000 * S, 60000, 0, 10000},      /* ours is */
	{10 * S, 1009 * S + 999500, -1, 0, 1},    /* 0.5 ms left: 1 ms, never 0 (no spin) */
	{10 * S, 1010 * S, -1, 1, 0},             /* due: no wait */
	{10 * S, 1010 * S, 100, 1, 0},
	{10 * S, 2000 * S, -1, 1, 0},             /* long overdue */
	{100000, 1000 * S + 99999, -1, 0, 1},
	{100000, 1000 * S + 100000, -1, 1, 0},
	{86400 * S, 1000 * S, -1, 0, 86400000},   /* a day fits an int of ms */
};

static void test_due(void)
{
	for (size_t i = 0; i < NELEM(due_cases); i++) {
		struct hb_stats st;

		tap_begin("interval %lld us, at +%lld us, wait %d: due %d, wait %d",
			  (long long)due_cases[i].iv, (long long)(due_cases[i].now - 1000 * S),
			  due_cases[i].wait_in, due_cases[i].due, due_cases[i].wait_out);
		hb_stats_init(&st, due_cases[i].iv, 1000 * S, 0);
		check_int(hb_stats_due(&st, due_cases[i].now), ==, due_cases[i].due);
		check_int(hb_stats_wait_ms(&st, due_cases[i].now, due_cases[i].wait_in), ==,
			  due_cases[i].wait_out);
		tap_end();
	}
}

/* A run of takes: at each time (s after a start at 0 with counter 0), the counter, the rate. */
struct step {
	double at;
	uint64_t count;
	double rate;
	double next;  /* when the next line is due after this one */
};

static const struct {
	const char *name;
	double iv;
	struct step steps[5];
	int n;
} take_cases[] = {
	{"steady 40/s", 10, {{10, 400, 40, 20}, {20, 800, 40, 30}, {30, 1200, 40, 40}}, 3},
	{"idle: 0/s, lines go on", 10, {{10, 0, 0, 20}, {20, 0, 0, 30}}, 2},
	{"late wake-up: the rate over the true time, the cadence kept", 10,
	 {{10.5, 420, 40, 20}, {20, 800, 40, 30}}, 2},
	{"stalled past an interval: one line, then one interval from now", 10,
	 {{35, 350, 10, 45}, {45, 450, 10, 55}}, 2},
	{"a burst then idle", 1, {{1, 1000, 1000, 2}, {2, 1000, 0, 3}, {3, 1010, 10, 4}}, 3},
	{"a counter that goes back: 0, not a huge rate", 5, {{5, 100, 20, 10}, {10, 50, 0, 15},
	  {15, 150, 20, 20}}, 3},
	{"a tenth of a second", 0.1, {{0.1, 5, 50, 0.2}, {0.2, 10, 50, 0.3}}, 2},
};

static void test_take(void)
{
	for (size_t i = 0; i < NELEM(take_cases); i++) {
		struct hb_stats st;
		int64_t iv = (int64_t)llround(take_cases[i].iv * 1e6);

		tap_begin("take: %s", take_cases[i].name);
		hb_stats_init(&st, iv, 0, 0);
		for (int k = 0; k < take_cases[i].n; k++) {
			const struct step *s = &take_cases[i].steps[k];
			int64_t now = llround(s->at * 1e6);
			double rate;

			check(hb_stats_due(&st, now));
			rate = hb_stats_take(&st, now, s->count);
			if (fabs(rate - s->rate) > 1e-6) {
				printf("#   step %d: rate %.6f, want %.6f\n", k, rate, s->rate);
				check(0);
			}
			check_int(st.next, ==, llround(s->next * 1e6));
			check(!hb_stats_due(&st, now));
			check(!hb_stats_due(&st, st.next - 1));
			check(hb_stats_due(&st, st.next));
		}
		tap_end();
	}

	tap_begin("take with no time passed: 0");
	{
		struct hb_stats st;

		hb_stats_init(&st, 10 * S, 5 * S, 3);
		check(hb_stats_take(&st, 5 * S, 100) == 0.0);
		check_int(st.last_count, ==, 100);
	}
	tap_end();

	tap_begin("start with a counter already counting (the rate is of what came after)");
	{
		struct hb_stats st;

		hb_stats_init(&st, 2 * S, 0, 1000);
		check(fabs(hb_stats_take(&st, 2 * S, 1100) - 50.0) < 1e-9);
	}
	tap_end();
}

/* hb_hist_sub: the quantiles of what came in an interval, not since the start. */
static void test_hist_interval(void)
{
	static struct hb_hist now, then, diff;

	tap_begin("hist: an interval of 80-100 ms after one of 1-10 ms");
	hb_hist_reset(&now);
	for (int i = 0; i < 1000; i++)
		hb_hist_add(&now, 1000 + (i % 10) * 1000);	/* 1-10 ms */
	then = now;
	for (int i = 0; i < 100; i++)
		hb_hist_add(&now, 80000 + (i % 21) * 1000);	/* 80-100 ms */
	diff = now;
	hb_hist_sub(&diff, &then);
	check_int(diff.n, ==, 100);
	check_int(hb_hist_quantile(&diff, 0.5), >=, 85000);
	check_int(hb_hist_quantile(&diff, 0.5), <=, 95000);
	check_int(hb_hist_quantile(&diff, 0.99), >=, 97000);
	check_int(hb_hist_quantile(&diff, 0.99), <=, 100000);
	check_int(hb_hist_quantile(&now, 0.5), <=, 10500);	/* the whole run: still the low ones */
	tap_end();

	tap_begin("hist: an empty interval has no quantiles (0)");
	diff = now;
	hb_hist_sub(&diff, &now);
	check_int(diff.n, ==, 0);
	check_int(diff.sum, ==, 0);
	check_int(hb_hist_quantile(&diff, 0.99), ==, 0);
	tap_end();

	tap_begin("hist: a copy that is not earlier never underflows");
	hb_hist_reset(&diff);
	hb_hist_add(&diff, 5);
	hb_hist_sub(&diff, &now);
	check_int(diff.n, ==, 0);
	{
		uint64_t total = 0;

		for (int i = 0; i < HB_HIST_BUCKETS; i++)
			total += diff.b[i];
		check_int(total, <=, 1);	/* clamped at 0, never wrapped round */
	}
	tap_end();
}

int main(void)
{
	test_parse();
	test_due();
	test_take();
	test_hist_interval();
	return tap_done();
}
