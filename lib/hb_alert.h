/* hb_alert — alert rules per customer, for hbclassify --alerts / --store.
 *
 * Four alerts, each with an open event (as soon as its rule is met) and a
 * close event (see the README's Alerts section for the person on call):
 *
 *  BRADYCARDIA / TACHYCARDIA  open after open_after consecutive readings past
 *      the threshold; close after close_after readings back inside by
 *      margin bpm, at a reading of the other type, or after gap without any
 *      reading of the customer.
 *  SILENCE  a customer who was sending has sent nothing for silence of
 *      reading time; closes at its next reading.
 *  DEVIATION  a customer's smoothed NORMAL rate (an EWMA with time constant
 *      smooth) has stayed more than deviation bpm from its own baseline (an
 *      EWMA with time constant baseline, learned over warmup first) for
 *      deviation_for; closes once back within deviation - margin for as long.
 *
 * Time is reading time: the readings' own timestamps, so a replay gives the
 * same events byte for byte.  It is kept per Kafka partition (readings
 * without coordinates share one clock): a partition that stops arriving
 * (a rebalance moved it away) does not make its customers silent, and a
 * partition that is at its end (a "caught_up" mark from hbkafka-sub
 * --marks) lets its clock follow the wall clock, so SILENCE is seen even
 * when every customer stops at once.
 *
 * With store set, the detection state of a customer is also written (as
 * a JSON object) whenever one of its events is, every state_every of its
 * reading time, when its partition is revoked and at the end.  hbpgload
 * stores it in the same transaction as the readings; hb_alerts_load() puts
 * it back when the partition is assigned again, so a restart or a rebalance
 * continues where the stored data ends, without relearning baselines and
 * without a second open for an alert already open.  Readings at or before
 * the offset the loaded state covers are not applied twice.
 */
#ifndef HB_ALERT_H
#define HB_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "hb_buf.h"
#include "hb_status.h"

struct hb_alert_config {
	struct hb_thresholds th;
	int open_after;           /* readings past the threshold to open (>= 1) */
	int close_after;          /* readings back inside by margin to close (>= 1) */
	int64_t margin;           /* bpm of hysteresis */
	int64_t gap_us;           /* no reading this long closes BRADY/TACHY */
	int64_t silence_us;       /* 0: no SILENCE */
	int64_t lateness_us;      /* caught_up marks: how late a reading may still come */
	double deviation;         /* bpm; 0: no DEVIATION */
	int64_t deviation_for_us;
	int64_t baseline_us;      /* baseline EWMA time constant */
	int64_t smooth_us;        /* the smoothed rate's EWMA time constant */
	int64_t warmup_us;        /* reading time of NORMAL readings before a baseline counts */
	int store;                /* write state objects too */
	int64_t state_every_us;
};

#define HB_ALERT_CONFIG_DEFAULT {                                               \
	.th = HB_THRESHOLDS_DEFAULT, .open_after = 3, .close_after = 3,         \
	.margin = 5, .gap_us = 60000000LL, .silence_us = 10000000LL,            \
	.lateness_us = 1000000LL, .deviation = 18, .deviation_for_us = 45000000LL, \
	.baseline_us = 3600000000LL, .smooth_us = 60000000LL,                   \
	.warmup_us = 600000000LL, .store = 0, .state_every_us = 60000000LL }

/* Where a reading came from: its Kafka partition and offset, if known. */
struct hb_alert_src {
	int has_coord;
	int32_t partition;
	int64_t offset;
};

/*
 * Output of each call: event lines (NDJSON, newline included) appended to
 * events; with store, state objects (one per line, newline included)
 * appended to states.  Calls return the number of events appended, or -1
 * when out of memory.
 */
struct hb_alert_out {
	struct hb_buf *events;
	struct hb_buf *states;
};

struct hb_alerts;

/* NULL on ENOMEM. */
struct hb_alerts *hb_alerts_new(const struct hb_alert_config *cfg);
void hb_alerts_free(struct hb_alerts *a);

/*
 * One valid reading (NORMAL, BRADYCARDIA or TACHYCARDIA; others are
 * ignored) of customer cid[0..cn) at ts_us with bpm; wall_us is the wall
 * clock when it arrived (0 when unknown: only for caught_up marks).
 */
int hb_alerts_reading(struct hb_alerts *a, const char *cid, size_t cn, int64_t ts_us,
		      enum hb_status st, int64_t bpm, const struct hb_alert_src *src,
		      int64_t wall_us, struct hb_alert_out *out);

/* Marks from hbkafka-sub --marks. */
enum hb_alert_mark { HB_AMARK_ASSIGNED, HB_AMARK_REVOKED, HB_AMARK_CAUGHT_UP };

/*
 * Parse a mark line (exactly as hbkafka-sub writes it).  Returns 1 and
 * fills the fields when line is one, else 0.  topic points into line.
 */
int hb_alerts_mark_parse(const char *line, size_t n, enum hb_alert_mark *kind, const char **topic,
		  size_t *tn, int32_t *partition, int64_t *at_us);

/*
 * Apply a mark.  ASSIGNED forgets what is held for the partition when
 * store is set (hb_alerts_load() then brings the stored state);
 * REVOKED writes the state of its customers (store) and stops watching
 * them; CAUGHT_UP moves the partition's clock to at_us - lateness - the
 * partition's observed delay, and reports the silences that makes.
 */
int hb_alerts_mark(struct hb_alerts *a, enum hb_alert_mark kind, const char *topic, size_t tn,
		   int32_t partition, int64_t at_us, struct hb_alert_out *out);

/*
 * Load one customer's stored state (the JSON object written to states),
 * last_ts_us: its newest stored reading (INT64_MIN when unknown).
 * Returns 0, or -1 with a one-line reason in err.
 */
int hb_alerts_load(struct hb_alerts *a, const char *json, size_t n, int64_t last_ts_us,
		   char *err, size_t errsz);

/* End of the stream: with store, the state of every customer changed since it was last written.  Opens stay open. */
int hb_alerts_finish(struct hb_alerts *a, struct hb_alert_out *out);

/*
 * Append each line of lines (newline-terminated) to out as
 * {"<key>":<line>}: how events and states travel to hbpgload.
 */
void hb_alerts_wrap(const struct hb_buf *lines, const char *key, struct hb_buf *out);

/* 1 if line is an event or state line as hb_alerts_wrap() writes them. */
int hb_alerts_is_stored_line(const char *line, size_t n);

/* Alerts open now, and customers watched. */
size_t hb_alerts_open(const struct hb_alerts *a);
size_t hb_alerts_customers(const struct hb_alerts *a);

#endif
