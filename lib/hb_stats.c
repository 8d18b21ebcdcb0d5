/* hb_stats — the --stats timer and rate. */
#include "hb_stats.h"

#include <stdio.h>

#include "hb_opt.h"

int hb_stats_parse(const char *opt, const char *s, int64_t *interval_us, char *err, size_t errsz)
{
	double v;

	if (hb_opt_double(opt, s, 0, (double)HB_STATS_MAX_US / 1e6, &v, err, errsz) < 0)
		return -1;
	if (v > 0 && v < (double)HB_STATS_MIN_US / 1e6) {
		snprintf(err, errsz, "%s: %s is out of range: 0 (off) or 0.1..86400 seconds", opt, s);
		return -1;
	}
	*interval_us = (int64_t)(v * 1e6 + 0.5);
	return 0;
}

void hb_stats_init(struct hb_stats *st, int64_t interval_us, int64_t now, uint64_t count)
{
	st->interval_us = interval_us > 0 ? interval_us : 0;
	st->next = now + st->interval_us;
	st->last = now;
	st->last_count = count;
}

int hb_stats_due(const struct hb_stats *st, int64_t now)
{
	return st->interval_us > 0 && now >= st->next;
}

int hb_stats_wait_ms(const struct hb_stats *st, int64_t now, int wait_ms)
{
	int64_t left;

	if (st->interval_us <= 0)
		return wait_ms;
	left = st->next - now;
	left = left <= 0 ? 0 : (left + 999) / 1000;
	return wait_ms >= 0 && wait_ms < left ? wait_ms : (int)left;
}

double hb_stats_take(struct hb_stats *st, int64_t now, uint64_t count)
{
	int64_t dt = now - st->last;
	double rate = dt > 0 && count >= st->last_count ?
		(double)(count - st->last_count) * 1e6 / (double)dt : 0.0;

	st->last = now;
	st->last_count = count;
	st->next += st->interval_us;
	if (st->next <= now)
		st->next = now + st->interval_us;
	return rate;
}
