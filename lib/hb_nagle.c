/* hb_nagle — when a producer whose input has paused sends what it holds. */
#include "hb_nagle.h"

int hb_nagle_wait_ms(struct hb_nagle *n, int outq, uint64_t done)
{
	if (outq == 0)
		return 100;
	if (done != n->done_at) {
		n->done_at = done;
		n->idle_sends = 0;
	}
	return n->idle_sends < HB_NAGLE_TRIES ? 1 : 100;
}

int hb_nagle_slow(struct hb_nagle *n, int64_t now, uint64_t lines)
{
	if (now - n->win_at >= HB_NAGLE_WINDOW_US) {
		n->fast = (lines - n->win_lines) * 1000000 >
			  (uint64_t)HB_NAGLE_MAX_RATE * (uint64_t)(now - n->win_at);
		n->win_at = now;
		n->win_lines = lines;
	}
	return !n->fast;
}

int hb_nagle_send_now(struct hb_nagle *n, int64_t now, uint64_t queued, uint64_t done)
{
	if (done < n->sent_upto && now - n->sent_at < HB_NAGLE_RESEND_US)
		return 0;
	n->sent_upto = queued;
	n->sent_at = now;
	n->idle_sends++;
	return 1;
}
