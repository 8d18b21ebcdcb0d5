/* hb_hist — log-linear histogram: 32 sub-buckets per power of two. */
#include "hb_hist.h"

#include <string.h>

static int bucket(uint64_t v)
{
	int e, shift;

	if (v < 64)
		return (int)v;
	e = 63 - __builtin_clzll(v);
	shift = e - 5;
	return 64 + (e - 6) * 32 + (int)((v >> shift) & 31);
}

/* Middle of bucket i. */
static uint64_t bucket_mid(int i)
{
	int e, shift;
	uint64_t lo;

	if (i < 64)
		return (uint64_t)i;
	e = (i - 64) / 32 + 6;
	shift = e - 5;
	lo = ((uint64_t)32 + (uint64_t)((i - 64) % 32)) << shift;
	return lo + ((uint64_t)1 << shift) / 2;
}

void hb_hist_add(struct hb_hist *h, int64_t v)
{
	uint64_t u = v < 0 ? 0 : (uint64_t)v;

	h->b[bucket(u)]++;
	h->n++;
	h->sum += u;
	if (u > h->max)
		h->max = u;
}

void hb_hist_merge(struct hb_hist *into, const struct hb_hist *from)
{
	for (int i = 0; i < HB_HIST_BUCKETS; i++)
		into->b[i] += from->b[i];
	into->n += from->n;
	into->sum += from->sum;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t hb_hist_quantile(const struct hb_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (int i = 0; i < HB_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want) {
			uint64_t m = bucket_mid(i);

			return m > h->max ? h->max : m;
		}
	}
	return h->max;
}

void hb_hist_reset(struct hb_hist *h)
{
	memset(h, 0, sizeof *h);
}

void hb_hist_sub(struct hb_hist *h, const struct hb_hist *earlier)
{
	for (int i = 0; i < HB_HIST_BUCKETS; i++)
		h->b[i] -= earlier->b[i] <= h->b[i] ? earlier->b[i] : h->b[i];
	h->n -= earlier->n <= h->n ? earlier->n : h->n;
	h->sum -= earlier->sum <= h->sum ? earlier->sum : h->sum;
}

uint64_t hb_hist_count_le(const struct hb_hist *h, uint64_t v)
{
	uint64_t c = 0;
	int last = bucket(v);

	if (v >= h->max)
		return h->n;
	for (int i = 0; i <= last; i++)
		c += h->b[i];
	return c;
}
