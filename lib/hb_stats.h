/* hb_stats — a periodic progress line (--stats SECONDS): when the next one is
 * due on the monotonic clock, and the rate over the interval it ends.
 *
 *   hb_stats_init(&st, interval_us, hb_time_mono_us(), 0);
 *   loop: wait at most hb_stats_wait_ms(&st, now, usual_ms) for input, then
 *         if (hb_stats_due(&st, now)) rate = hb_stats_take(&st, now, count);
 *
 * The caller logs the line: the library never prints.  An interval of 0 is
 * off: never due, and the wait is the caller's own.
 */
#ifndef HB_STATS_H
#define HB_STATS_H

#include <stddef.h>
#include <stdint.h>

#define HB_STATS_MIN_US 100000LL            /* 0.1 s */
#define HB_STATS_MAX_US 86400000000LL       /* a day */

struct hb_stats {
	int64_t interval_us;  /* 0: off */
	int64_t next;         /* monotonic µs when the next line is due */
	int64_t last;         /* monotonic µs of the last line (or of the start) */
	uint64_t last_count;  /* the counter at that time */
};

/*
 * Parse a --stats value: 0 (off) or 0.1 to 86400 seconds, fractions
 * allowed.  Returns 0, or -1 with a one-line complaint naming opt in err.
 */
int hb_stats_parse(const char *opt, const char *s, int64_t *interval_us, char *err, size_t errsz);

/* Start counting at now (monotonic µs) with the counter at count. */
void hb_stats_init(struct hb_stats *st, int64_t interval_us, int64_t now, uint64_t count);

/* 1 when a line is due at now (never when off). */
int hb_stats_due(const struct hb_stats *st, int64_t now);

/*
 * How long a loop may wait for input: the milliseconds until the next line
 * is due (rounded up, 0 when due), or wait_ms when that is sooner or the
 * stats are off.  wait_ms < 0 means "as long as it takes".
 */
int hb_stats_wait_ms(const struct hb_stats *st, int64_t now, int wait_ms);

/*
 * End the interval at now: returns the rate per second of count since the
 * last line (0 when no time passed, or the counter went back), and starts
 * the next interval.  The next line is due one interval after the one just
 * due, so lines keep their cadence; after a stall longer than an interval
 * it is one interval from now (no burst of lines to catch up).
 */
double hb_stats_take(struct hb_stats *st, int64_t now, uint64_t count);

#endif
