/* hb_retry — trying again within a budget of time: backoff, and when to give up.
 *
 * A run that depends on a server (PostgreSQL for hbpgload, a broker for
 * hbkafka-sub) keeps trying while it is unreachable, for --retry-for
 * seconds counted from when it stopped answering, then gives up (exit 69).
 * Times are microseconds of a monotonic clock (hb_time_mono_us), passed in.
 */
#ifndef HB_RETRY_H
#define HB_RETRY_H

#include <stdint.h>

struct hb_retry {
	int64_t budget_us;	/* how long it may fail before we give up; 0: forever */
	int64_t min_us, max_us;	/* backoff: from min, doubled each wait, up to max */
	int64_t since;		/* failing since then; 0: not failing */
	int64_t backoff_us;	/* the next wait */
	int64_t noted;		/* when the failure was last said (hb_retry_note_due) */
	uint64_t tries;		/* failed tries since it began to fail */
};

void hb_retry_init(struct hb_retry *r, int64_t budget_us, int64_t min_us, int64_t max_us);

/* A try failed at now.  The failure began now, unless it was already failing.
 * Returns 1 when the budget is spent: give up. */
int hb_retry_failed(struct hb_retry *r, int64_t now);

/* A try failed at now, and the failure began at since (the last sign of
 * life, which the caller keeps).  Returns 1 when the budget is spent. */
int hb_retry_failed_since(struct hb_retry *r, int64_t since, int64_t now);

/* How long to wait before the next try: the backoff, never past the end of
 * the budget (at least 1 ms); then the backoff doubles. */
int64_t hb_retry_wait_us(struct hb_retry *r, int64_t now);

/* 1 at the first failure and then every interval_us while it goes on. */
int hb_retry_note_due(struct hb_retry *r, int64_t now, int64_t interval_us);

/* A try succeeded at now.  Returns how long it had been failing (0: it was
 * not) and starts afresh. */
int64_t hb_retry_ok(struct hb_retry *r, int64_t now);

#endif
