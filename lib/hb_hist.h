/* hb_hist — a log-linear histogram of non-negative values (about 3% precision). */
#ifndef HB_HIST_H
#define HB_HIST_H

#include <stdint.h>

#define HB_HIST_BUCKETS 1920

struct hb_hist {
	uint64_t n;
	uint64_t max;
	uint64_t sum;
	uint64_t b[HB_HIST_BUCKETS];
};

void hb_hist_add(struct hb_hist *h, int64_t v);   /* negative counts as 0 */
void hb_hist_merge(struct hb_hist *into, const struct hb_hist *from);
/* The value at quantile q (0..1), or 0 when empty. */
uint64_t hb_hist_quantile(const struct hb_hist *h, double q);
void hb_hist_reset(struct hb_hist *h);
/*
 * h minus an earlier copy of itself: what was added since (for quantiles
 * over an interval).  max stays h's (the largest ever: an upper bound).
 */
void hb_hist_sub(struct hb_hist *h, const struct hb_hist *earlier);
/* How many values are at most v (to the histogram's precision). */
uint64_t hb_hist_count_le(const struct hb_hist *h, uint64_t v);

#endif
