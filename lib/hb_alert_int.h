/* hb_alert_int — what the alert rules (hb_alert.c) and their state as text
 * (hb_alert_state.c) share.  Not for use outside those two files. */
#ifndef HB_ALERT_INT_H
#define HB_ALERT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "hb_alert.h"
#include "hb_buf.h"
#include "hb_event.h"

#define NONE INT64_MIN
#define MAX_TOPIC 255

struct part {
	int32_t partition;         /* -1: readings without coordinates */
	int held;
	char topic[MAX_TOPIC + 1];
	size_t tn;
	int64_t wm;                /* reading time reached */
	int64_t next_sweep;
	int64_t delay_us;          /* wall clock minus reading time at the newest reading */
};

struct cust {
	char cid[HB_CID_MAX + 1];
	size_t cn;
	int gone;
	int part;                  /* index in parts */
	int64_t offset;            /* last applied, or -1 */
	int64_t last;              /* newest reading time, or NONE */
	int64_t state_ts;          /* reading time of the last state written */
	int dirty;
	/* a run of readings past a threshold, not yet an alert */
	enum hb_status run_type;   /* HB_NORMAL: none */
	int64_t run_n, run_start, run_peak, run_peak_at;
	/* the open BRADYCARDIA/TACHYCARDIA alert */
	enum hb_status ep_type;    /* HB_NORMAL: none */
	int64_t ep_start, ep_last, ep_peak, ep_peak_at, ep_readings, ep_back;
	/* SILENCE */
	int silent;
	int64_t silent_at;
	/* DEVIATION */
	double base, fast, dev_peak;
	int64_t base_ts, warm, base_n, fast_ts;
	int64_t away;              /* reading time the rate left the baseline, or NONE */
	int dev_dir, dev_open;
	int64_t dev_since, dev_at, dev_peak_at, dev_back, dev_last;
};

struct hb_alerts {
	struct hb_alert_config cfg;
	struct part *parts;
	size_t nparts, capparts;
	struct cust *cs;
	size_t ncs, capcs, live, open;
	uint32_t *idx;             /* hash of live customers: index + 1, 0 empty, TOMB */
	size_t capidx, used;       /* used: live + tombstones */
};

/* The customer, created (fresh) when new; NULL when out of memory. */
struct cust *hb_alert_customer(struct hb_alerts *a, const char *cid, size_t cn, int part);
/* The index of a partition's clock (has: p is a partition, else the shared
 * one), created when new; -1 when out of memory. */
int hb_alert_part(struct hb_alerts *a, int has, int32_t p);
/* A customer back to nothing seen. */
void hb_alert_cust_reset(struct cust *c);
/* Alerts open for c (0..3). */
int hb_alert_open_count(const struct cust *c);
/* Append the state of c, one JSON object on one line (hb_alerts_load reads it). */
void hb_alert_state_write(struct hb_alerts *a, struct cust *c, struct hb_buf *b);

#endif
