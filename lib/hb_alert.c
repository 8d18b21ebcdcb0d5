/* hb_alert — alert rules per customer (see hb_alert.h): the state machine.
 * Its state as text (stored states, marks) is hb_alert_state.c. */
#include "hb_alert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_alert_int.h"
#include "hb_json.h"
#include "hb_time.h"

#define SWEEP_US 500000LL          /* the clock checks silences every half second */
#define FAST_RESET_US 600000000LL  /* a pause this long restarts the smoothed rate */
#define TOMB UINT32_MAX

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

struct hb_alerts *hb_alerts_new(const struct hb_alert_config *cfg)
{
	struct hb_alerts *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	a->cfg = *cfg;
	if (a->cfg.open_after < 1)
		a->cfg.open_after = 1;
	if (a->cfg.close_after < 1)
		a->cfg.close_after = 1;
	a->capidx = 64;
	if (!(a->idx = calloc(a->capidx, sizeof *a->idx))) {
		free(a);
		return NULL;
	}
	return a;
}

void hb_alerts_free(struct hb_alerts *a)
{
	if (!a)
		return;
	free(a->parts);
	free(a->cs);
	free(a->idx);
	free(a);
}

size_t hb_alerts_open(const struct hb_alerts *a)
{
	return a->open;
}

size_t hb_alerts_customers(const struct hb_alerts *a)
{
	return a->live;
}

/* ---- customers: an array in order of arrival, and a hash over it ---- */

static uint32_t *slot_of(struct hb_alerts *a, const char *cid, size_t cn, int create)
{
	size_t mask = a->capidx - 1, i = (size_t)hash(cid, cn) & mask;
	uint32_t *tomb = NULL;

	for (;; i = (i + 1) & mask) {
		uint32_t v = a->idx[i];

		if (v == 0)
			return create ? (tomb ? tomb : &a->idx[i]) : NULL;
		if (v == TOMB) {
			if (!tomb)
				tomb = &a->idx[i];
		} else {
			const struct cust *c = &a->cs[v - 1];

			if (c->cn == cn && memcmp(c->cid, cid, cn) == 0)
				return &a->idx[i];
		}
	}
}

static int rehash(struct hb_alerts *a)
{
	size_t cap = a->capidx;
	uint32_t *old = a->idx;

	while (a->live * 3 >= cap)
		cap *= 2;
	if (!(a->idx = calloc(cap, sizeof *a->idx))) {
		a->idx = old;
		return -1;
	}
	a->capidx = cap;
	a->used = a->live;
	for (size_t i = 0; i < a->ncs; i++)
		if (!a->cs[i].gone)
			*slot_of(a, a->cs[i].cid, a->cs[i].cn, 1) = (uint32_t)(i + 1);
	free(old);
	return 0;
}

void hb_alert_cust_reset(struct cust *c)
{
	char cid[HB_CID_MAX + 1];
	size_t cn = c->cn;

	memcpy(cid, c->cid, sizeof cid);
	memset(c, 0, sizeof *c);
	memcpy(c->cid, cid, sizeof cid);
	c->cn = cn;
	c->offset = -1;
	c->last = c->state_ts = c->run_start = c->ep_start = c->silent_at = NONE;
	c->base_ts = c->fast_ts = c->dev_since = c->dev_back = c->dev_last = c->away = NONE;
}

/* The customer, created (fresh) when new; NULL when out of memory. */
struct cust *hb_alert_customer(struct hb_alerts *a, const char *cid, size_t cn, int part)
{
	uint32_t *s = slot_of(a, cid, cn, 0);
	struct cust *c;

	if (s)
		return &a->cs[*s - 1];
	if ((a->used + 1) * 3 >= a->capidx * 2 && rehash(a) < 0)
		return NULL;
	if (a->ncs == a->capcs) {
		size_t cap = a->capcs ? a->capcs * 2 : 256;
		struct cust *n = realloc(a->cs, cap * sizeof *n);

		if (!n)
			return NULL;
		a->cs = n;
		a->capcs = cap;
	}
	s = slot_of(a, cid, cn, 1);
	if (*s == 0)
		a->used++;
	*s = (uint32_t)(a->ncs + 1);
	c = &a->cs[a->ncs++];
	memset(c, 0, sizeof *c);
	memcpy(c->cid, cid, cn);
	c->cn = cn;
	hb_alert_cust_reset(c);
	c->part = part;
	a->live++;
	return c;
}

int hb_alert_open_count(const struct cust *c)
{
	return (c->ep_type != HB_NORMAL) + c->silent + c->dev_open;
}

/* Stop watching c (its partition went elsewhere, or its state is reloaded). */
static void forget(struct hb_alerts *a, struct cust *c)
{
	uint32_t *s = slot_of(a, c->cid, c->cn, 0);

	if (s)
		*s = TOMB;
	a->open -= (size_t)hb_alert_open_count(c);
	c->gone = 1;
	a->live--;
}

/* Compact the array when most of it is forgotten customers. */
static int compact(struct hb_alerts *a)
{
	size_t k = 0;

	if (a->ncs < 1024 || a->live * 2 > a->ncs)
		return 0;
	for (size_t i = 0; i < a->ncs; i++)
		if (!a->cs[i].gone)
			a->cs[k++] = a->cs[i];
	a->ncs = k;
	return rehash(a);
}

/* ---- partitions ---- */

int hb_alert_part(struct hb_alerts *a, int has, int32_t p)
{
	int32_t key = has ? p : -1;

	for (size_t i = 0; i < a->nparts; i++)
		if (a->parts[i].partition == key)
			return (int)i;
	if (a->nparts == a->capparts) {
		size_t cap = a->capparts ? a->capparts * 2 : 8;
		struct part *n = realloc(a->parts, cap * sizeof *n);

		if (!n)
			return -1;
		a->parts = n;
		a->capparts = cap;
	}
	memset(&a->parts[a->nparts], 0, sizeof *a->parts);
	a->parts[a->nparts].partition = key;
	a->parts[a->nparts].held = 1;
	a->parts[a->nparts].wm = NONE;
	return (int)a->nparts++;
}

/* ---- writing events (states: hb_alert_state.c) ---- */

static void put_time(struct hb_buf *b, const char *key, int64_t us)
{
	char t[HB_TIME_MAX];

	hb_buf_puts(b, key);
	hb_buf_putc(b, '"');
	hb_buf_put(b, t, hb_time_format(us, t));
	hb_buf_putc(b, '"');
}

static void put_num(struct hb_buf *b, const char *key, int decimals, double v)
{
	char t[64];

	snprintf(t, sizeof t, "%.*f", decimals, v);
	hb_buf_puts(b, key);
	hb_buf_puts(b, t);
}

static void put_int(struct hb_buf *b, const char *key, int64_t v)
{
	hb_buf_puts(b, key);
	hb_buf_put_i64(b, (long long)v);
}

static void ev_head(struct hb_buf *b, const char *type, const char *state, const struct cust *c, int64_t start)
{
	hb_buf_puts(b, "{\"alert\":\"");
	hb_buf_puts(b, type);
	hb_buf_puts(b, "\",\"state\":\"");
	hb_buf_puts(b, state);
	hb_buf_puts(b, "\",\"customer_id\":");
	hb_json_escape(b, c->cid, c->cn, NULL);
	put_time(b, ",\"start\":", start);
}

static void ev_end(struct hb_buf *b, int64_t start, int64_t end)
{
	put_time(b, ",\"end\":", end);
	put_num(b, ",\"duration_s\":", 3, (double)(end - start) / 1e6);
}

static void ep_open(struct hb_alerts *a, struct cust *c, int64_t at, struct hb_buf *b)
{
	char why[96];
	int tachy = c->ep_type == HB_TACHYCARDIA;

	ev_head(b, hb_status_name(c->ep_type), "open", c, c->ep_start);
	put_time(b, ",\"at\":", at);
	put_int(b, ",\"readings\":", c->ep_readings);
	put_int(b, ",\"peak_bpm\":", c->ep_peak);
	put_time(b, ",\"peak_at\":", c->ep_peak_at);
	snprintf(why, sizeof why, "%lld reading%s %s %ld bpm", (long long)c->ep_readings,
		 c->ep_readings == 1 ? "" : "s", tachy ? "above" : "below",
		 tachy ? a->cfg.th.tachy : a->cfg.th.brady);
	hb_buf_puts(b, ",\"reason\":\"");
	hb_buf_puts(b, why);
	hb_buf_puts(b, "\"}\n");
	a->open++;
}

static void ep_close(struct hb_alerts *a, struct cust *c, int64_t at, const char *why, struct hb_buf *b)
{
	ev_head(b, hb_status_name(c->ep_type), "close", c, c->ep_start);
	ev_end(b, c->ep_start, c->ep_last);
	put_time(b, ",\"at\":", at);
	put_int(b, ",\"readings\":", c->ep_readings);
	put_int(b, ",\"peak_bpm\":", c->ep_peak);
	put_time(b, ",\"peak_at\":", c->ep_peak_at);
	hb_buf_puts(b, ",\"ended_by\":\"");
	hb_buf_puts(b, why);
	hb_buf_puts(b, "\"}\n");
	c->ep_type = HB_NORMAL;
	a->open--;
}

static void silence_open(struct hb_alerts *a, struct cust *c, int64_t at, struct hb_buf *b)
{
	char why[64];

	c->silent = 1;
	c->silent_at = at;
	ev_head(b, "SILENCE", "open", c, c->last);
	put_time(b, ",\"at\":", at);
	put_num(b, ",\"silent_s\":", 3, (double)(at - c->last) / 1e6);
	snprintf(why, sizeof why, "no reading for %.0f s", (double)a->cfg.silence_us / 1e6);
	hb_buf_puts(b, ",\"reason\":\"");
	hb_buf_puts(b, why);
	hb_buf_puts(b, "\"}\n");
	a->open++;
}

static void silence_close(struct hb_alerts *a, struct cust *c, int64_t ts, struct hb_buf *b)
{
	ev_head(b, "SILENCE", "close", c, c->last);
	ev_end(b, c->last, ts);
	put_time(b, ",\"at\":", ts);
	hb_buf_puts(b, ",\"ended_by\":\"reading\"}\n");
	c->silent = 0;
	a->open--;
}

static void dev_open(struct hb_alerts *a, struct cust *c, int64_t at, struct hb_buf *b)
{
	char why[160];
	double d = c->fast - c->base;

	c->dev_open = 1;
	c->dev_at = at;
	c->dev_peak = c->fast;
	c->dev_peak_at = at;
	c->dev_back = NONE;
	c->dev_last = at;
	ev_head(b, "DEVIATION", "open", c, c->dev_since);
	put_time(b, ",\"at\":", at);
	hb_buf_puts(b, c->dev_dir > 0 ? ",\"direction\":\"above\"" : ",\"direction\":\"below\"");
	put_num(b, ",\"baseline_bpm\":", 1, c->base);
	put_num(b, ",\"bpm\":", 1, c->fast);
	snprintf(why, sizeof why, "smoothed rate %.1f bpm, %.1f %s the baseline %.1f for %.0f s",
		 c->fast, fabs(d), d > 0 ? "above" : "below", c->base,
		 (double)(at - c->dev_since) / 1e6);
	hb_buf_puts(b, ",\"reason\":\"");
	hb_buf_puts(b, why);
	hb_buf_puts(b, "\"}\n");
	a->open++;
}

static void dev_close(struct hb_alerts *a, struct cust *c, int64_t at, const char *why, struct hb_buf *b)
{
	ev_head(b, "DEVIATION", "close", c, c->dev_since);
	ev_end(b, c->dev_since, c->dev_last);
	put_time(b, ",\"at\":", at);
	hb_buf_puts(b, c->dev_dir > 0 ? ",\"direction\":\"above\"" : ",\"direction\":\"below\"");
	put_num(b, ",\"baseline_bpm\":", 1, c->base);
	put_num(b, ",\"peak_bpm\":", 1, c->dev_peak);
	put_time(b, ",\"peak_at\":", c->dev_peak_at);
	hb_buf_puts(b, ",\"ended_by\":\"");
	hb_buf_puts(b, why);
	hb_buf_puts(b, "\"}\n");
	c->dev_open = 0;
	c->dev_dir = 0;
	c->dev_since = NONE;
	a->open--;
}

/* ---- the rules ---- */

/* The clock of part p reached its watermark: silences and gaps. */
static int sweep(struct hb_alerts *a, int pi, struct hb_alert_out *out)
{
	struct part *p = &a->parts[pi];
	int n = 0;

	for (size_t i = 0; i < a->ncs; i++) {
		struct cust *c = &a->cs[i];
		int k = 0;

		if (c->gone || c->part != pi || c->last == NONE)
			continue;
		if (a->cfg.silence_us > 0 && !c->silent && p->wm - c->last > a->cfg.silence_us) {
			silence_open(a, c, p->wm, out->events);
			k++;
		}
		if (c->ep_type != HB_NORMAL && p->wm - c->last > a->cfg.gap_us) {
			ep_close(a, c, p->wm, "gap", out->events);
			k++;
		}
		if (k) {
			c->dirty = 1;
			if (a->cfg.store && out->states)
				hb_alert_state_write(a, c, out->states);
			n += k;
		}
	}
	p->next_sweep = p->wm + SWEEP_US;
	return n;
}

static int past(enum hb_status st)
{
	return st == HB_BRADYCARDIA || st == HB_TACHYCARDIA;
}

/* Back inside the threshold by the margin? */
static int inside(const struct hb_alerts *a, enum hb_status type, int64_t bpm)
{
	if (type == HB_TACHYCARDIA)
		return bpm <= a->cfg.th.tachy - a->cfg.margin;
	return bpm >= a->cfg.th.brady + a->cfg.margin;
}

static int episodes(struct hb_alerts *a, struct cust *c, int64_t ts, enum hb_status st, int64_t bpm,
		    struct hb_buf *b)
{
	int n = 0;

	if (c->ep_type != HB_NORMAL && past(st) && st != c->ep_type) {
		ep_close(a, c, ts, hb_status_name(st), b);
		n++;
	}
	if (c->ep_type != HB_NORMAL) {
		if (st == c->ep_type) {
			c->ep_readings++;
			c->ep_back = 0;
			if (ts > c->ep_last)
				c->ep_last = ts;
			if (st == HB_BRADYCARDIA ? bpm < c->ep_peak : bpm > c->ep_peak) {
				c->ep_peak = bpm;
				c->ep_peak_at = ts;
			}
		} else if (inside(a, c->ep_type, bpm)) {
			if (++c->ep_back >= a->cfg.close_after) {
				ep_close(a, c, ts, "NORMAL", b);
				n++;
			}
		} else {
			c->ep_back = 0;	/* NORMAL, but inside the margin: still the episode */
		}
		return n;
	}
	if (!past(st)) {
		c->run_type = HB_NORMAL;
		c->run_n = 0;
		return n;
	}
	if (c->run_type != st) {
		c->run_type = st;
		c->run_n = 0;
		c->run_start = c->run_peak_at = ts;
		c->run_peak = bpm;
	}
	c->run_n++;
	if (st == HB_BRADYCARDIA ? bpm < c->run_peak : bpm > c->run_peak) {
		c->run_peak = bpm;
		c->run_peak_at = ts;
	}
	if (c->run_n >= a->cfg.open_after) {
		c->ep_type = st;
		c->ep_start = c->run_start;
		c->ep_last = ts;
		c->ep_peak = c->run_peak;
		c->ep_peak_at = c->run_peak_at;
		c->ep_readings = c->run_n;
		c->ep_back = 0;
		c->run_type = HB_NORMAL;
		c->run_n = 0;
		ep_open(a, c, ts, b);
		n++;
	}
	return n;
}

static int deviation(struct hb_alerts *a, struct cust *c, int64_t ts, int64_t bpm, struct hb_buf *b)
{
	const struct hb_alert_config *k = &a->cfg;
	int64_t dt;
	double d;
	int dir;

	/* the smoothed rate */
	dt = c->fast_ts == NONE ? -1 : ts - c->fast_ts;
	if (dt < 0 && c->fast_ts != NONE)
		dt = 0;
	if (c->fast_ts == NONE || dt > FAST_RESET_US)
		c->fast = (double)bpm;
	else
		c->fast += (1 - exp(-(double)dt / (double)k->smooth_us)) * ((double)bpm - c->fast);
	if (ts > c->fast_ts)
		c->fast_ts = ts;
	/* the baseline: a mean until there are enough readings, then an EWMA;
	 * it holds still while the rate is away from it */
	if (c->base_ts == NONE) {
		c->base = (double)bpm;
		c->base_n = 1;
		c->base_ts = ts;
	} else {
		int warm = c->warm >= k->warmup_us;

		dt = ts - c->base_ts;
		dt = dt < 0 ? 0 : dt > FAST_RESET_US ? FAST_RESET_US : dt;
		if (!warm || fabs(c->fast - c->base) <= k->deviation / 2) {
			double w = 1 - exp(-(double)dt / (double)k->baseline_us);

			c->base_n++;
			if (w < 1.0 / (double)c->base_n)
				w = 1.0 / (double)c->base_n;
			c->base += w * ((double)bpm - c->base);
			c->warm += dt;
			c->away = NONE;
		} else if (c->away == NONE) {
			c->away = ts;
		} else if (ts - c->away >= 2 * k->baseline_us) {
			/* away for two time constants: that is the customer's rate now
			 * (or the baseline was learnt in an abnormal state) */
			c->base = c->fast;
			c->away = NONE;
			if (c->dev_open) {
				dev_close(a, c, ts, "new baseline", b);
				return 1;
			}
			c->dev_dir = 0;
			c->dev_since = NONE;
		}
		if (ts > c->base_ts)
			c->base_ts = ts;
	}
	if (c->warm < k->warmup_us)
		return 0;
	d = c->fast - c->base;
	dir = d > k->deviation ? 1 : d < -k->deviation ? -1 : 0;
	if (!c->dev_open) {
		if (!dir) {
			c->dev_dir = 0;
			c->dev_since = NONE;
		} else if (dir != c->dev_dir) {
			c->dev_dir = dir;
			c->dev_since = ts;
		} else if (ts - c->dev_since >= k->deviation_for_us) {
			dev_open(a, c, ts, b);
			return 1;
		}
		return 0;
	}
	if (c->dev_dir > 0 ? c->fast > c->dev_peak : c->fast < c->dev_peak) {
		c->dev_peak = c->fast;
		c->dev_peak_at = ts;
	}
	if (d * c->dev_dir > k->deviation - (double)k->margin) {
		c->dev_last = ts;	/* still away */
		c->dev_back = NONE;
		return 0;
	}
	if (c->dev_back == NONE)
		c->dev_back = ts;
	if (ts - c->dev_back >= k->deviation_for_us) {
		dev_close(a, c, ts, "baseline", b);
		return 1;
	}
	return 0;
}

int hb_alerts_reading(struct hb_alerts *a, const char *cid, size_t cn, int64_t ts_us,
		      enum hb_status st, int64_t bpm, const struct hb_alert_src *src,
		      int64_t wall_us, struct hb_alert_out *out)
{
	struct hb_buf *b = out->events;
	struct part *p;
	struct cust *c;
	int pi, n = 0, mine = 0;
	enum hb_status run_type;
	int64_t run_n, ep_back;

	if (st == HB_INVALID || st >= HB_STATUS_COUNT || cn == 0 || cn > HB_CID_MAX)
		return 0;
	if ((pi = hb_alert_part(a, src && src->has_coord, src ? src->partition : 0)) < 0)
		return -1;
	p = &a->parts[pi];
	p->held = 1;
	if (!(c = hb_alert_customer(a, cid, cn, pi)))
		return -1;
	if (c->part != pi) {	/* the customer moved to another partition */
		c->part = pi;
		c->offset = -1;
	}
	if (src && src->has_coord) {
		if (src->offset <= c->offset)
			return 0;	/* the stored state has it already */
		c->offset = src->offset;
	}
	if (p->wm == NONE || ts_us > p->wm) {
		p->wm = ts_us;
		if (wall_us > 0)	/* negative when the readings' clock runs ahead */
			p->delay_us = wall_us - ts_us;
		if (p->wm >= p->next_sweep)
			n += sweep(a, pi, out);
	}
	if (c->silent) {
		silence_close(a, c, ts_us, b);
		mine++;
	}
	if (c->last != NONE && ts_us - c->last > a->cfg.gap_us) {
		if (c->ep_type != HB_NORMAL) {
			ep_close(a, c, ts_us, "gap", b);
			mine++;
		}
		c->run_type = HB_NORMAL;
		c->run_n = 0;
	}
	if (c->last == NONE || ts_us > c->last)
		c->last = ts_us;
	run_type = c->run_type;
	run_n = c->run_n;
	ep_back = c->ep_back;
	mine += episodes(a, c, ts_us, st, bpm, b);
	if (a->cfg.deviation > 0 && st == HB_NORMAL && c->ep_type == HB_NORMAL)
		mine += deviation(a, c, ts_us, bpm, b);
	c->dirty = 1;
	/*
	 * The state goes out with an event, every state_every, and whenever
	 * the reading moved a count towards an open or a close: hbpgload
	 * stores it with the reading, whose offset may then be committed.
	 * Without it, a restart after a crash resumed past a stored reading
	 * whose step was not in the stored state, and opened its episode a
	 * reading late (kafka_faults.bats: a TACHYCARDIA open 1 s late after
	 * a kill -9 of hbclassify).
	 */
	if (a->cfg.store && out->states &&
	    (mine || c->state_ts == NONE || ts_us - c->state_ts >= a->cfg.state_every_us ||
	     c->run_type != run_type || c->run_n != run_n || c->ep_back != ep_back))
		hb_alert_state_write(a, c, out->states);
	return hb_buf_oom(b) || (out->states && hb_buf_oom(out->states)) ? -1 : n + mine;
}

/* ---- marks ---- */

int hb_alerts_mark(struct hb_alerts *a, enum hb_alert_mark kind, const char *topic, size_t tn,
		   int32_t partition, int64_t at_us, struct hb_alert_out *out)
{
	int pi, n = 0;
	struct part *p;

	if ((pi = hb_alert_part(a, 1, partition)) < 0)
		return -1;
	p = &a->parts[pi];
	if (tn <= MAX_TOPIC) {
		memcpy(p->topic, topic, tn);
		p->tn = tn;
	}
	switch (kind) {
	case HB_AMARK_ASSIGNED:
		/* with store, hb_alerts_load() brings what the database has, where
		 * it is newer than what is held here */
		p->held = 1;
		break;
	case HB_AMARK_REVOKED:
		/* with store the customers are kept, unwatched, their state written:
		 * the partition often comes straight back (an eager rebalance), before
		 * hbpgload has stored that state; without, they are forgotten */
		p->held = 0;
		for (size_t i = 0; i < a->ncs; i++) {
			struct cust *c = &a->cs[i];

			if (c->gone || c->part != pi)
				continue;
			if (a->cfg.store && out->states && c->dirty)
				hb_alert_state_write(a, c, out->states);
			if (!a->cfg.store)
				forget(a, c);
		}
		if (compact(a) < 0)
			return -1;
		break;
	case HB_AMARK_CAUGHT_UP:
		if (!p->held || p->wm == NONE)
			break;	/* nothing read from it yet: no clock to move */
		at_us -= a->cfg.lateness_us + p->delay_us;
		if (at_us > p->wm) {
			p->wm = at_us;
			if (p->wm >= p->next_sweep)
				n = sweep(a, pi, out);
		}
		break;
	}
	if (hb_buf_oom(out->events) || (out->states && hb_buf_oom(out->states)))
		return -1;
	return n;
}
