/* hb_fetch_wake — wake librdkafka's fetcher as soon as its queue has drained (see the header). */
#include "hb_fetch_wake.h"

const char *hb_fetch_wake_backoff(void)
{
	return rd_kafka_version() >= 0x020300ff ? "fetch.queue.backoff.ms" : NULL;
}

void hb_fetch_wake_init(struct hb_fetch_wake *w, long long min_msgs, long long max_kbytes)
{
	*w = (struct hb_fetch_wake){ .off = hb_fetch_wake_backoff() != NULL };
	/* the fetcher stops when a reply leaves the queue at either bound; only
	 * we take from it, and we look before each take, so we see it there */
	w->full_msgs = min_msgs > 0 ? (size_t)min_msgs : 100000;
	w->full_bytes = 1024.0 * (double)(max_kbytes > 0 ? max_kbytes : 65536);
	w->drained = w->full_msgs / 2;
	w->last_us = INT64_MIN / 2;
}

int hb_fetch_wake_due(struct hb_fetch_wake *w, size_t queued, double avg_len, int64_t now_us)
{
	if (w->off)
		return 0;
	if (queued >= w->full_msgs || (avg_len > 0 && (double)queued * avg_len >= w->full_bytes)) {
		w->full = 1;
		return 0;
	}
	if (!w->full || queued > w->drained || now_us - w->last_us < HB_FETCH_WAKE_GAP_US)
		return 0;
	w->full = 0;
	w->last_us = now_us;
	return 1;
}

int hb_fetch_wake_send(struct hb_fetch_wake *w, rd_kafka_t *rk, int timeout_ms)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	rd_kafka_resp_err_t e = rd_kafka_assignment(rk, &a);

	if (!e && a && a->cnt > 0) {
		/* a timestamp of -1 asks for the end: any request would wake it */
		for (int i = 0; i < a->cnt; i++)
			a->elems[i].offset = RD_KAFKA_OFFSET_END;
		w->wakes++;
		e = rd_kafka_offsets_for_times(rk, a, timeout_ms);
	}
	if (a)
		rd_kafka_topic_partition_list_destroy(a);
	if (!e)
		return 0;
	w->failed++;
	w->last_err = e;
	return -1;
}
