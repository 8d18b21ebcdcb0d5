/* hb_days — which UTC days a loader has asked day partitions for (see hb_days.h). */
#include "hb_days.h"

#include <stdio.h>
#include <string.h>

#define US_PER_DAY 86400000000LL

int32_t hb_day_of(int64_t us)
{
	int64_t q = us / US_PER_DAY;

	if (us % US_PER_DAY < 0)
		q--;
	return (int32_t)q;
}

void hb_days_init(struct hb_days *d)
{
	memset(d, 0, sizeof *d);
}

static int known(const struct hb_days *d, int32_t day)
{
	for (unsigned i = 0; i < d->nknown; i++)
		if (d->known[i] == day)
			return 1;
	return 0;
}

static void remember(struct hb_days *d, int32_t day)
{
	if (known(d, day))
		return;
	d->known[d->next] = day;
	d->next = (d->next + 1) % HB_DAYS_KNOWN;
	if (d->nknown < HB_DAYS_KNOWN)
		d->nknown++;
}

void hb_days_note(struct hb_days *d, int32_t day)
{
	if (d->have_last && day == d->last)
		return;
	d->last = day;
	d->have_last = 1;
	if (known(d, day))
		return;
	if (!d->want) {
		d->lo = d->hi = day;
		d->want = 1;
	} else if (day < d->lo) {
		d->lo = day;
	} else if (day > d->hi) {
		d->hi = day;
	}
}

int hb_days_due(struct hb_days *d, int32_t today, int32_t *lo, int32_t *hi)
{
	int32_t first = today - HB_DAYS_BACK, last = today + HB_DAYS_AHEAD;
	int32_t a, b;
	int any = 0;

	if (!d->have_ahead || d->ahead_for != today) {
		a = today - 1;	/* yesterday too: readings a little late at midnight */
		b = last;
		any = 1;
	}
	if (d->want) {
		int32_t wl = d->lo < first ? first : d->lo, wh = d->hi > last ? last : d->hi;

		if (wl <= wh) {
			if (!any) {
				a = wl;
				b = wh;
			} else {
				a = wl < a ? wl : a;
				b = wh > b ? wh : b;
			}
			any = 1;
		}
		if (!any)
			d->want = 0;	/* all outside the window: the default partition */
	}
	if (!any)
		return 0;
	*lo = a;
	*hi = b;
	return 1;
}

void hb_days_done(struct hb_days *d, int32_t today, int32_t lo, int32_t hi)
{
	if (lo <= today - 1 && hi >= today + HB_DAYS_AHEAD) {
		d->ahead_for = today;
		d->have_ahead = 1;
	}
	/* the ring keeps the newest days; a range wider than it keeps its end */
	for (int32_t day = hi - HB_DAYS_KNOWN + 1 > lo ? hi - HB_DAYS_KNOWN + 1 : lo; day <= hi; day++)
		remember(d, day);
	d->want = 0;
	d->have_last = 0;
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
void hb_day_format(int32_t day, char *buf)
{
	int64_t z = (int64_t)day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t dd = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	if (m <= 2)
		y++;
	snprintf(buf, HB_DAY_BUF, "%04d-%02d-%02d", (int)(y % 10000), (int)m, (int)dd);
}
