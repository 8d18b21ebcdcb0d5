/* hb_retry — backoff within a budget of time. */
#include "hb_retry.h"

void hb_retry_init(struct hb_retry *r, int64_t budget_us, int64_t min_us, int64_t max_us)
{
	*r = (struct hb_retry){ .budget_us = budget_us, .min_us = min_us, .max_us = max_us,
				.backoff_us = min_us };
}

static int spent(const struct hb_retry *r, int64_t now)
{
	return r->budget_us > 0 && now - r->since >= r->budget_us;
}

int hb_retry_failed(struct hb_retry *r, int64_t now)
{
	if (!r->since)
		r->since = now ? now : 1;
	r->tries++;
	return spent(r, now);
}

int hb_retry_failed_since(struct hb_retry *r, int64_t since, int64_t now)
{
	r->since = since ? since : 1;
	r->tries++;
	return spent(r, now);
}

int64_t hb_retry_wait_us(struct hb_retry *r, int64_t now)
{
	int64_t w = r->backoff_us;

	if (r->budget_us > 0 && r->since && w > r->since + r->budget_us - now)
		w = r->since + r->budget_us - now;
	r->backoff_us = r->backoff_us * 2 > r->max_us ? r->max_us : r->backoff_us * 2;
	return w > 1000 ? w : 1000;
}

int hb_retry_note_due(struct hb_retry *r, int64_t now, int64_t interval_us)
{
	if (r->noted && now - r->noted < interval_us)
		return 0;
	r->noted = now ? now : 1;
	return 1;
}

int64_t hb_retry_ok(struct hb_retry *r, int64_t now)
{
	int64_t was = r->since ? now - r->since : 0;

	hb_retry_init(r, r->budget_us, r->min_us, r->max_us);
	return was;
}
