/*
 * hb_fetch_wake — wake librdkafka's fetcher as soon as its queue has drained.
 *
 * librdkafka before 2.3 stops fetching while the consumer's queue holds
 * queued.min.messages (or queued.max.messages.kbytes), and its broker
 * thread looks again only when something wakes it: a request to send, a
 * reply, or its one-second tick.  A reader that takes a queueful in less
 * than a second (hbclassify | hbpgload working off a backlog) then waits
 * out the rest of that second, every second.
 *
 * The consumer looks at the queue's length before and after each batch it
 * takes (hb_fetch_wake_due): once the queue has been full and has drained
 * to half of that, it asks the partitions' leaders for their ends
 * (hb_fetch_wake_send: ListOffsets, one request per leader).  The request
 * is what wakes each broker thread: it looks at its partitions again and
 * fetches while the rest of the queue is taken.  Nothing is purged or
 * fetched twice (a pause and resume would do both; nor do they wake it).
 * A consumer that keeps up rarely fills its queue, so rarely asks.
 *
 * Not covered: fetching from a follower (client.rack), where the fetch
 * runs on another broker's thread than the leader's; there the tick does.
 * librdkafka 2.3 and later have fetch.queue.backoff.ms instead, which
 * hb_fetch_wake_backoff() names for the consumer's defaults; there the
 * wake is off.
 */
#ifndef HB_FETCH_WAKE_H
#define HB_FETCH_WAKE_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

struct hb_fetch_wake {
	int off;		/* librdkafka has fetch.queue.backoff.ms */
	size_t full_msgs;	/* a queue this long may have stopped the fetcher */
	double full_bytes;	/* ... or this many bytes of messages */
	size_t drained;		/* after that, a queue this short wakes it */
	int64_t last_us;	/* when it was last woken */
	int full;		/* seen full since the last wake */
	uint64_t wakes;		/* requests sent */
	uint64_t failed;	/* ... that failed or got no answer in time */
	rd_kafka_resp_err_t last_err;	/* the last failure */
};

/*
 * The setting librdkafka 2.3+ has for this, or NULL (older: the wake).
 * For the consumer's defaults, as the property with "10" (ms).
 */
const char *hb_fetch_wake_backoff(void);

/* min_msgs and max_kbytes: queued.min.messages and queued.max.messages.kbytes (0: librdkafka's defaults). */
void hb_fetch_wake_init(struct hb_fetch_wake *w, long long min_msgs, long long max_kbytes);

/* At most one wake per this long: a tiny queued.min.messages must not
 * turn every emptied queue into a request. */
#define HB_FETCH_WAKE_GAP_US 5000

/*
 * Before and after each take: queued is the queue's length, avg_len the
 * mean message size so far (0 unknown), now_us a monotonic clock.
 * Returns 1 when the fetcher is to be woken now (and starts watching for
 * the next full queue).
 */
int hb_fetch_wake_due(struct hb_fetch_wake *w, size_t queued, double avg_len, int64_t now_us);

/*
 * Wake the fetchers of the consumer's assignment: a ListOffsets request to
 * each leader, whose answer is waited for up to timeout_ms (a round trip;
 * the answer itself is not used).  Returns 0, or -1 when it failed
 * (w->last_err).
 */
int hb_fetch_wake_send(struct hb_fetch_wake *w, rd_kafka_t *rk, int timeout_ms);

#endif
