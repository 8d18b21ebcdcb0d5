/* hb_nagle — when a producer whose input has paused sends what it holds.
 *
 * linger.ms (5 by default) lets librdkafka fill batches while lines keep
 * coming; a live source that pauses should not wait for it.  So when the
 * input is idle and messages are queued, they go out at once — one send at
 * a time, as Nagle's algorithm does: while the last one is unacknowledged,
 * what came since waits for its acknowledgement (about a round trip) or
 * for linger.ms, whichever is first, and goes in one request.  A send still
 * unacknowledged after 5 ms may be made again (it can miss a connection
 * that is not up yet).
 *
 * Above HB_NAGLE_MAX_RATE lines/s (over windows of 100 ms) the idle sends
 * stop and linger.ms fills batches: the input then "pauses" between every
 * few lines (a source that writes once a millisecond), and a send per pause
 * costs the broker a request per millisecond, which on a busy machine cost
 * more latency than it saved (10,000 readings/s: p99 120-185 ms with them,
 * 40 ms without).
 *
 * The caller keeps the counts (lines read, messages queued, messages done:
 * delivered or failed) and the queue's length; times are microseconds of a
 * monotonic clock (hb_time_mono_us), passed in.  Pure: nothing is sent here.
 */
#ifndef HB_NAGLE_H
#define HB_NAGLE_H

#include <stdint.h>

#define HB_NAGLE_MAX_RATE 2000          /* lines/s: above it, no idle sends */
#define HB_NAGLE_WINDOW_US 100000       /* the input rate's window */
#define HB_NAGLE_RESEND_US 5000         /* an unacknowledged send may be made again after */
#define HB_NAGLE_TRIES 200              /* idle sends without a delivery before waking less */

struct hb_nagle {
	uint64_t done_at;       /* done at the last wait_ms that saw progress */
	int idle_sends;         /* idle sends since deliveries last moved */
	uint64_t sent_upto;     /* queued at the last idle send */
	int64_t sent_at;        /* its time */
	int64_t win_at;         /* the current window of input */
	uint64_t win_lines;     /* lines at its start */
	int fast;               /* over HB_NAGLE_MAX_RATE in the last window */
};

/* How long the input may be waited for (ms): every 1 ms while messages are
 * out, so an idle send follows a pause at once; 100 ms with nothing out, or
 * after HB_NAGLE_TRIES idle sends without a delivery (a broker that does not
 * answer). */
int hb_nagle_wait_ms(struct hb_nagle *n, int outq, uint64_t done);

/* The input rate, counted over windows of HB_NAGLE_WINDOW_US: 1 while it
 * is at most HB_NAGLE_MAX_RATE (idle sends on), 0 above.  lines: read so far. */
int hb_nagle_slow(struct hb_nagle *n, int64_t now, uint64_t lines);

/* The input paused at now with messages out (the caller has checked both,
 * and hb_nagle_slow): 1 if they should be sent now, and then they count as
 * sent; 0 while the last send is unacknowledged (done < what was queued
 * then) for less than HB_NAGLE_RESEND_US. */
int hb_nagle_send_now(struct hb_nagle *n, int64_t now, uint64_t queued, uint64_t done);

#endif
