/* hb_sim — synthetic heart-rate readings. */
#include "hb_sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hb_time.h"

#define NONE INT64_MIN

struct rng {
	uint64_t s[4];
};

struct customer {
	struct rng rng;
	double baseline;      /* resting bpm */
	double amplitude;     /* of the daily rhythm */
	double low_hour;      /* hour of day (UTC) of the lowest rate */
	double drift;         /* OU state, bpm */
	int64_t last_us;      /* time of the previous reading, or INT64_MIN */
	int episode_left;     /* readings left in the current episode */
	int episode_tachy;
	double episode_level;
	char id[24];
	/* The rest only for --truth, --silence-rate, --shift-rate. */
	struct rng ev;        /* silences and shifts: never touches rng */
	int64_t prev_slot_us; /* the previous slot, sent or not, or NONE */
	int64_t ep_first_us, ep_last_us;  /* the episode's sent readings */
	int ep_readings, ep_peak;
	int64_t silent_from;  /* first slot not sent, or NONE */
	int64_t silent_until; /* the first slot at or after it sends again */
	long silent_slots;
	int64_t shift_until;  /* NONE: no shift */
	int64_t shift_first_us, shift_last_us;
	long shift_readings;
	double shift_bpm;
	int id_len;
};

struct hb_sim {
	struct hb_sim_config cfg;
	double p_start;       /* chance per normal reading that an episode starts */
	double silence_k;     /* chance that a silence starts, per second since the last slot */
	double shift_k;       /* the same for a shift */
	int64_t last_us;      /* the last slot stepped */
	struct customer *c;
};

uint64_t hb_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static uint64_t next_u64(struct rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* Uniform in [0,1). */
static double uni(struct rng *r)
{
	return (double)(next_u64(r) >> 11) * 0x1.0p-53;
}

static double uniform(struct rng *r, double lo, double hi)
{
	return lo + (hi - lo) * uni(r);
}

/* Standard normal, Box-Muller (one of the pair; simple and reproducible). */
static double gauss(struct rng *r)
{
	double u = 1.0 - uni(r), v = uni(r);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static void put_id(struct customer *c, unsigned n)
{
	char tmp[16];
	int k = 0, w;

	do {
		tmp[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	memcpy(c->id, "CUST_", 5);
	w = 5;
	for (int pad = k; pad < 5; pad++)
		c->id[w++] = '0';
	while (k)
		c->id[w++] = tmp[--k];
	c->id_len = w;
}

/*
 * An event of mean length mean_s seconds that should cover share p of the
 * time, started with chance k * (seconds since the last slot) at the slots
 * where it may start (share `eligible` of the time outside it):
 * k mean_s eligible = p / (1 - p).
 */
static double rate_k(double p, double mean_s, double eligible)
{
	return p <= 0 ? 0 : p >= 1 ? 1e9 : p / ((1 - p) * mean_s * eligible);
}

struct hb_sim *hb_sim_new(const struct hb_sim_config *cfg)
{
	struct hb_sim *s;
	double mean_len = (HB_SIM_EPISODE_MIN + HB_SIM_EPISODE_MAX) / 2.0, r = cfg->anomaly_rate;

	if (cfg->customers == 0 || !(s = calloc(1, sizeof *s)))
		return NULL;
	s->cfg = *cfg;
	s->c = calloc(cfg->customers, sizeof *s->c);
	if (!s->c) {
		free(s);
		return NULL;
	}
	/* Share r of readings in episodes of mean length L: p = r / (L (1 - r)). */
	s->p_start = r <= 0 ? 0 : r >= 1 ? 1 : r / (mean_len * (1 - r));
	s->silence_k = rate_k(cfg->silence_rate, (HB_SIM_SILENCE_MIN_S + HB_SIM_SILENCE_MAX_S) / 2.0,
			      r < 0.99 ? 1 - r : 0.01);
	s->shift_k = rate_k(cfg->shift_rate, (HB_SIM_SHIFT_MIN_S + HB_SIM_SHIFT_MAX_S) / 2.0, 1);
	s->last_us = NONE;
	for (unsigned i = 0; i < cfg->customers; i++) {
		struct customer *c = &s->c[i];
		uint64_t st = cfg->seed ^ (0xD1B54A32D192ED03ULL * (i + 1));
		uint64_t st2 = cfg->seed ^ (0x9E6C63D0676A9A99ULL * (i + 1));

		for (int k = 0; k < 4; k++)
			c->rng.s[k] = hb_splitmix64(&st);
		for (int k = 0; k < 4; k++)
			c->ev.s[k] = hb_splitmix64(&st2);
		c->prev_slot_us = c->silent_from = c->shift_until = NONE;
		c->baseline = uniform(&c->rng, 60, 90);
		c->amplitude = uniform(&c->rng, 4, 10);
		c->low_hour = uniform(&c->rng, 1, 6);
		c->drift = gauss(&c->rng) * 3;
		c->last_us = INT64_MIN;
		put_id(c, i + 1);
	}
	return s;
}

void hb_sim_free(struct hb_sim *s)
{
	if (!s)
		return;
	free(s->c);
	free(s);
}

static double clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/* The customer's rate at ts, advancing drift and episodes. */
static int rate_at(struct hb_sim *s, struct customer *c, int64_t ts, enum hb_sim_kind *kind)
{
	const double tau = 300.0, sigma = 4.0;
	double hour = (double)(((ts / 1000000) % 86400 + 86400) % 86400) / 3600.0;
	double dt = c->last_us == INT64_MIN ? 1e9 : (double)(ts - c->last_us) / 1e6, a, bpm;

	c->last_us = ts;
	a = exp(-(dt > 0 ? dt : 0) / tau);
	c->drift = c->drift * a + sigma * sqrt(1 - a * a) * gauss(&c->rng);
	if (c->episode_left == 0 && s->p_start > 0 && uni(&c->rng) < s->p_start) {
		c->episode_left = HB_SIM_EPISODE_MIN +
				  (int)(uni(&c->rng) * (HB_SIM_EPISODE_MAX - HB_SIM_EPISODE_MIN + 1));
		c->episode_tachy = uni(&c->rng) < 0.6;
		c->episode_level = c->episode_tachy ? uniform(&c->rng, 186, 210) : uniform(&c->rng, 24, 36);
	}
	if (c->episode_left > 0) {
		c->episode_left--;
		bpm = c->episode_level + gauss(&c->rng) * 3;
		*kind = c->episode_tachy ? HB_SIM_TACHY : HB_SIM_BRADY;
		return (int)lround(c->episode_tachy ? clamp(bpm, 181, 220) : clamp(bpm, 15, 39));
	}
	bpm = c->baseline - c->amplitude * cos(2 * M_PI * (hour - c->low_hour) / 24) +
	      c->drift + gauss(&c->rng) * 1.5;
	if (c->shift_until != NONE)	/* added only then: the old bytes stay the old bytes */
		bpm += c->shift_bpm;
	*kind = HB_SIM_NORMAL;
	return (int)lround(clamp(bpm, 45, 170));
}

static void put_uint(struct hb_buf *b, long v)
{
	hb_buf_put_i64(b, v);
}

static void put_reading(struct hb_buf *b, const struct customer *c, const char *ts, size_t tn, int bpm)
{
	hb_buf_put(b, "{\"customer_id\":\"", 16);
	hb_buf_put(b, c->id, (size_t)c->id_len);
	hb_buf_put(b, "\",\"timestamp\":\"", 15);
	hb_buf_put(b, ts, tn);
	hb_buf_put(b, "\",\"heart_rate\":", 15);
	put_uint(b, bpm);
	hb_buf_put(b, "}\n", 2);
}

/*
 * An invalid reading: still one JSON object, still carrying its timestamp
 * text (so every bad line stays unique), but wrong in one way.
 */
static void put_invalid(struct hb_buf *b, struct customer *c, const char *ts, size_t tn, int bpm)
{
	const char *id = c->id;
	int il = c->id_len;

	switch (next_u64(&c->rng) % 9) {
	case 0: bpm = 0; break;
	case 1: bpm = -bpm; break;
	case 2: bpm = 301 + (int)(next_u64(&c->rng) % 700); break;
	case 3:
		hb_buf_printf(b, "{\"customer_id\":\"%.*s\",\"timestamp\":\"%.*s\",\"heart_rate\":\"%d\"}\n",
			      il, id, (int)tn, ts, bpm);
		return;
	case 4:
		hb_buf_printf(b, "{\"customer_id\":\"%.*s\",\"timestamp\":\"%.*s\"}\n", il, id, (int)tn, ts);
		return;
	case 5:
		hb_buf_printf(b, "{\"customer\":\"%.*s\",\"timestamp\":\"%.*s\",\"heart_rate\":%d}\n",
			      il, id, (int)tn, ts, bpm);
		return;
	case 6:	/* an impossible date: the 31st of a 30-day month */
		hb_buf_printf(b, "{\"customer_id\":\"%.*s\",\"timestamp\":\"2026-04-31%.*s\",\"heart_rate\":%d,\"sent\":\"%.*s\"}\n",
			      il, id, (int)tn - 10, ts + 10, bpm, (int)tn, ts);
		return;
	case 7:
		hb_buf_printf(b, "{\"customer_id\":\"%.*s\",\"timestamp\":\"%.*s\",\"heart_rate\":%d.5}\n",
			      il, id, (int)tn, ts, bpm);
		return;
	default:
		hb_buf_printf(b, "{\"customer_id\":\"%.*s x\",\"timestamp\":\"%.*s\",\"heart_rate\":%d}\n",
			      il, id, (int)tn, ts, bpm);
		return;
	}
	put_reading(b, c, ts, tn, bpm);
}

/* A line that is not JSON, still unique by its timestamp text. */
static void put_malformed(struct hb_buf *b, struct customer *c, const char *ts, size_t tn, int bpm)
{
	const char *id = c->id;
	int il = c->id_len;

	switch (next_u64(&c->rng) % 5) {
	case 0:	/* cut short */
		hb_buf_printf(b, "{\"customer_id\":\"%.*s\",\"timestamp\":\"%.*s\",\"heart_rate\":%d\n",
			      il, id, (int)tn, ts, bpm);
		break;
	case 1:
		hb_buf_printf(b, "{'customer_id': '%.*s', 'timestamp': '%.*s', 'heart_rate': %d}\n",
			      il, id, (int)tn, ts, bpm);
		break;
	case 2:
		hb_buf_printf(b, "%.*s,%.*s,%d\n", il, id, (int)tn, ts, bpm);
		break;
	case 3:
		hb_buf_printf(b, "{customer_id:\"%.*s\",timestamp:\"%.*s\",heart_rate:%d}\n",
			      il, id, (int)tn, ts, bpm);
		break;
	default:
		hb_buf_printf(b, "{\"customer_id\":\"%.*s\",\"timestamp\":\"%.*s\",\"heart_rate\":%d}}\n",
			      il, id, (int)tn, ts, bpm);
		break;
	}
}

/* One line for the reading at ts; *bpm and *model: what the model gave. */
static enum hb_sim_kind put_line(struct hb_sim *s, struct customer *c, int64_t ts_us,
				 struct hb_buf *out, int *bpm, enum hb_sim_kind *model)
{
	char ts[HB_TIME_MAX];
	size_t tn = hb_time_format(ts_us, ts);
	double u;

	*bpm = rate_at(s, c, ts_us, model);
	if (s->cfg.invalid_rate > 0 || s->cfg.malformed_rate > 0) {
		u = uni(&c->rng);
		if (u < s->cfg.malformed_rate) {
			put_malformed(out, c, ts, tn, *bpm);
			return HB_SIM_MALFORMED;
		}
		if (u < s->cfg.malformed_rate + s->cfg.invalid_rate) {
			put_invalid(out, c, ts, tn, *bpm);
			return HB_SIM_INVALID;
		}
	}
	put_reading(out, c, ts, tn, *bpm);
	return *model;
}

/* {"truth":"TYPE","customer_id":"C","start":"..","end":"..", (the caller closes it) */
static void truth_head(struct hb_buf *t, const char *type, const struct customer *c,
		       int64_t start, int64_t end)
{
	char ts[HB_TIME_MAX];

	hb_buf_printf(t, "{\"truth\":\"%s\",\"customer_id\":\"%.*s\",\"start\":\"", type,
		      c->id_len, c->id);
	hb_buf_put(t, ts, hb_time_format(start, ts));
	hb_buf_put(t, "\",\"end\":\"", 9);
	hb_buf_put(t, ts, hb_time_format(end, ts));
	hb_buf_put(t, "\"", 1);
}

static void truth_tail(struct hb_buf *t, int cut)
{
	if (cut)
		hb_buf_put(t, ",\"cut\":true", 11);
	hb_buf_put(t, "}\n", 2);
}

static void episode_truth(struct customer *c, struct hb_buf *t, int cut)
{
	if (t && c->ep_readings > 0) {
		truth_head(t, c->episode_tachy ? "TACHYCARDIA" : "BRADYCARDIA", c, c->ep_first_us,
			   c->ep_last_us);
		hb_buf_printf(t, ",\"readings\":%d,\"peak_bpm\":%d", c->ep_readings, c->ep_peak);
		truth_tail(t, cut);
	}
	c->ep_readings = 0;
}

static void silence_truth(struct customer *c, int64_t end, struct hb_buf *t, int cut)
{
	if (t) {
		truth_head(t, "SILENCE", c, c->silent_from, end);
		hb_buf_printf(t, ",\"readings\":%ld,\"silent_s\":%.3f", c->silent_slots,
			      (double)(end - c->silent_from) / 1e6);
		truth_tail(t, cut);
	}
	c->silent_from = NONE;
}

/* A shift that never showed (all its slots silent or anomalous) has no line. */
static void shift_truth(struct customer *c, struct hb_buf *t, int cut)
{
	if (t && c->shift_readings > 0) {
		truth_head(t, "SHIFT", c, c->shift_first_us, c->shift_last_us);
		hb_buf_printf(t, ",\"bpm\":%ld,\"readings\":%ld", lround(c->shift_bpm),
			      c->shift_readings);
		truth_tail(t, cut);
	}
	c->shift_until = NONE;
}

/* Maybe start a shift at this slot (sent or not): down only with room below. */
static void shift_maybe_start(struct hb_sim *s, struct customer *c, int64_t ts, double dt_s)
{
	double mag, len;
	int down;

	if (c->shift_until != NONE || dt_s <= 0 || uni(&c->ev) >= s->shift_k * dt_s)
		return;
	mag = uniform(&c->ev, HB_SIM_SHIFT_MIN_BPM, HB_SIM_SHIFT_MAX_BPM);
	len = uniform(&c->ev, HB_SIM_SHIFT_MIN_S, HB_SIM_SHIFT_MAX_S);
	down = uni(&c->ev) < 0.5 && c->baseline - mag - c->amplitude >= 50;
	c->shift_bpm = down ? -mag : mag;
	c->shift_until = ts + (int64_t)(len * 1e6);
	c->shift_readings = 0;
}

/*
 * Is this slot silent?  A silence starts only between episodes and ends at
 * the first slot past its length with no episode running underneath, so it
 * never cuts an episode in two (one that runs wholly inside it is not seen).
 */
static int silent_slot(struct hb_sim *s, struct customer *c, int64_t ts, double dt_s,
		       struct hb_buf *t)
{
	if (c->silent_from != NONE) {
		if (ts < c->silent_until || c->episode_left > 0) {
			c->silent_slots++;
			return 1;
		}
		silence_truth(c, ts, t, 0);
		return 0;
	}
	if (dt_s <= 0 || c->episode_left > 0 || uni(&c->ev) >= s->silence_k * dt_s)
		return 0;
	c->silent_from = ts;
	c->silent_until = ts + (int64_t)(uniform(&c->ev, HB_SIM_SILENCE_MIN_S, HB_SIM_SILENCE_MAX_S) * 1e6);
	c->silent_slots = 1;
	if (c->shift_until != NONE && c->shift_until <= c->silent_until)
		shift_truth(c, t, 0);	/* it would end unseen: it ends at its last reading */
	return 1;
}

/* Keep the truth of what the model did at a sent slot. */
static void note_sent(struct customer *c, int64_t ts, enum hb_sim_kind model, int bpm,
		      struct hb_buf *t)
{
	if (model == HB_SIM_NORMAL) {
		if (c->shift_until != NONE) {
			if (c->shift_readings++ == 0)
				c->shift_first_us = ts;
			c->shift_last_us = ts;
		}
		return;
	}
	if (c->ep_readings++ == 0) {
		c->ep_first_us = ts;
		c->ep_peak = bpm;
	}
	c->ep_last_us = ts;
	if (model == HB_SIM_TACHY ? bpm > c->ep_peak : bpm < c->ep_peak)
		c->ep_peak = bpm;
	if (c->episode_left == 0)
		episode_truth(c, t, 0);
}

enum hb_sim_kind hb_sim_step(struct hb_sim *s, uint64_t i, int64_t ts_us, struct hb_buf *out,
			     struct hb_buf *truth)
{
	struct customer *c = &s->c[i % s->cfg.customers];
	double dt_s = c->prev_slot_us == NONE ? 0 : (double)(ts_us - c->prev_slot_us) / 1e6;
	size_t mark = out->len;
	enum hb_sim_kind kind, model;
	int bpm, silent = 0;

	c->prev_slot_us = s->last_us = ts_us;
	if (s->shift_k > 0)
		shift_maybe_start(s, c, ts_us, dt_s);
	if (s->silence_k > 0)
		silent = silent_slot(s, c, ts_us, dt_s, truth);
	/* The model runs in silent slots too, so nothing else changes. */
	kind = put_line(s, c, ts_us, out, &bpm, &model);
	if (silent) {
		out->len = mark;
		kind = HB_SIM_SILENT;
	} else {
		note_sent(c, ts_us, model, bpm, truth);
	}
	if (c->shift_until != NONE && ts_us + (int64_t)(dt_s * 1e6) >= c->shift_until)
		shift_truth(c, truth, 0);	/* the next slot is past it */
	return kind;
}

enum hb_sim_kind hb_sim_next(struct hb_sim *s, uint64_t i, int64_t ts_us, struct hb_buf *out)
{
	return hb_sim_step(s, i, ts_us, out, NULL);
}

void hb_sim_finish(struct hb_sim *s, struct hb_buf *truth)
{
	for (unsigned i = 0; i < s->cfg.customers; i++) {
		struct customer *c = &s->c[i];

		episode_truth(c, truth, 1);
		if (c->silent_from != NONE)
			silence_truth(c, s->last_us, truth, 1);
		if (c->shift_until != NONE)
			shift_truth(c, truth, 1);
	}
}
