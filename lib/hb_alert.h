/* hb_alert — anomaly episodes per customer, for hbclassify --alerts.
 *
 * An episode is a run of one customer's BRADYCARDIA (or TACHYCARDIA)
 * readings.  It ends at that customer's next reading of another status, when
 * the stream's time has moved more than the gap past its last anomalous
 * reading, or at the end of the stream.  Then one alert is written: type,
 * customer, start, end, peak (lowest bpm for bradycardia, highest for
 * tachycardia) and when, readings, and what ended it.  Time is the
 * readings' own (their "timestamp"), so a replay gives the same alerts.
 *
 * Only customers with an open episode are held (a hash table of them), so
 * memory follows the anomalies, not the fleet.
 */
#ifndef HB_ALERT_H
#define HB_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "hb_buf.h"
#include "hb_classify.h"

struct hb_alerts;

/* gap_us: the longest pause inside an episode (> 0).  NULL on ENOMEM. */
struct hb_alerts *hb_alerts_new(int64_t gap_us);
void hb_alerts_free(struct hb_alerts *a);

/*
 * One valid reading (status NORMAL, BRADYCARDIA or TACHYCARDIA; others are
 * ignored) of customer cid[0..cn) at ts_us with bpm.  Appends the alerts of
 * the episodes it ends (NDJSON, newline included) to out.  Returns the
 * number of alerts appended, or -1 when out of memory.
 */
int hb_alerts_reading(struct hb_alerts *a, const char *cid, size_t cn, int64_t ts_us,
		      enum hb_status st, int64_t bpm, struct hb_buf *out);

/* End of the stream: the alerts of every open episode, oldest first. */
int hb_alerts_flush(struct hb_alerts *a, struct hb_buf *out);

/* Episodes open now. */
size_t hb_alerts_open(const struct hb_alerts *a);

#endif
