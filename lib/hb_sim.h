/* hb_sim — a model of heart-rate readings for a fleet of customers.
 *
 * Each customer has a resting baseline (60-90 bpm), a daily rhythm (lowest
 * in the small hours), a smooth random drift (an Ornstein-Uhlenbeck process
 * with a time constant of minutes), measurement noise, and now and then an
 * anomaly episode: a run of bradycardia (15-39) or tachycardia (181-220)
 * readings.  Everything comes from one seed, so the same seed, options and
 * timestamps give the same bytes.
 */
#ifndef HB_SIM_H
#define HB_SIM_H

#include <stdint.h>

#include "hb_buf.h"

struct hb_sim_config {
	unsigned customers;
	uint64_t seed;
	double anomaly_rate;    /* share of readings inside anomaly episodes */
	double invalid_rate;    /* share of readings made invalid (JSON, but wrong) */
	double malformed_rate;  /* share of lines that are not JSON at all */
};

/* What hb_sim_next wrote. */
enum hb_sim_kind { HB_SIM_NORMAL, HB_SIM_BRADY, HB_SIM_TACHY, HB_SIM_INVALID, HB_SIM_MALFORMED };

struct hb_sim;

/* NULL on ENOMEM or customers == 0. */
struct hb_sim *hb_sim_new(const struct hb_sim_config *cfg);
void hb_sim_free(struct hb_sim *s);

/*
 * Append reading number i (customer i mod customers) taken at ts_us, as one
 * NDJSON line with its newline.  Readings must come in order of i.
 */
enum hb_sim_kind hb_sim_next(struct hb_sim *s, uint64_t i, int64_t ts_us, struct hb_buf *out);

/* Mean length of an anomaly episode, in readings of one customer. */
#define HB_SIM_EPISODE_MIN 8
#define HB_SIM_EPISODE_MAX 32

/* splitmix64: a seed from anything, and the PRNG's seeding step. */
uint64_t hb_splitmix64(uint64_t *state);

#endif
