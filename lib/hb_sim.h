/* hb_sim — a model of heart-rate readings for a fleet of customers.
 *
 * Each customer has a resting baseline (60-90 bpm), a daily rhythm (lowest
 * in the small hours), a smooth random drift (an Ornstein-Uhlenbeck process
 * with a time constant of minutes), measurement noise, and now and then an
 * anomaly episode: a run of bradycardia (15-39) or tachycardia (181-220)
 * readings.  Everything comes from one seed, so the same seed, options and
 * timestamps give the same bytes.
 *
 * Two more injections, for testing alert rules: silences (a customer sends
 * nothing for 5-300 s of reading time) and baseline shifts (the normal rate
 * moves by 25-40 bpm for 10-60 minutes).  Their decisions come from a second
 * random stream per customer, so they change nothing else: with silences
 * the output is the output without them minus the silent slots; with shifts
 * it is the same lines with some heart rates moved.  With both rates 0 that
 * stream is never used and the output is what it always was.  Each injected
 * event (episodes too) can be reported as one "truth" NDJSON line.
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
	double silence_rate;    /* share of a customer's slots it sends nothing in, [0,1) */
	double shift_rate;      /* share of a customer's time inside a baseline shift, [0,1) */
};

/* What hb_sim_next wrote; HB_SIM_SILENT: nothing (a slot inside a silence). */
enum hb_sim_kind { HB_SIM_NORMAL, HB_SIM_BRADY, HB_SIM_TACHY, HB_SIM_INVALID, HB_SIM_MALFORMED,
		   HB_SIM_SILENT };
#define HB_SIM_KINDS 6

struct hb_sim;

/* NULL on ENOMEM or customers == 0. */
struct hb_sim *hb_sim_new(const struct hb_sim_config *cfg);
void hb_sim_free(struct hb_sim *s);

/*
 * Append reading number i (customer i mod customers) taken at ts_us, as one
 * NDJSON line with its newline.  Readings must come in order of i.
 */
enum hb_sim_kind hb_sim_next(struct hb_sim *s, uint64_t i, int64_t ts_us, struct hb_buf *out);

/*
 * The same as hb_sim_next for slot i (customer i mod customers) at ts_us;
 * a slot inside a silence appends nothing to out and returns HB_SIM_SILENT.
 * When truth is not NULL, the truth line of every injected event that this
 * slot finds over is appended to it (NDJSON, newline included):
 *
 *   {"truth":"BRADYCARDIA"|"TACHYCARDIA","customer_id":"C","start":T,"end":T,
 *    "readings":N,"peak_bpm":N}    start/end: its first and last reading
 *   {"truth":"SILENCE",...,"readings":N,"silent_s":S}
 *                                  start: first slot not sent, end: first sent again
 *   {"truth":"SHIFT",...,"bpm":-28,"readings":N}
 *                                  start/end: its first and last shifted reading
 *
 * Episodes and silences are found over at their end, so their lines come in
 * the order of their end; a shift whose last shifted reading is followed by
 * an episode or a silence is found over when its time runs out (or when that
 * silence starts), up to one episode's length later.
 */
enum hb_sim_kind hb_sim_step(struct hb_sim *s, uint64_t i, int64_t ts_us, struct hb_buf *out,
			     struct hb_buf *truth);

/*
 * The end of the output: append the truth lines of the events still running,
 * with "cut":true (end: their last reading so far; for a silence, the time
 * of the last slot stepped).  Customer by customer; then they are forgotten.
 */
void hb_sim_finish(struct hb_sim *s, struct hb_buf *truth);

/* Mean length of an anomaly episode, in readings of one customer. */
#define HB_SIM_EPISODE_MIN 8
#define HB_SIM_EPISODE_MAX 32
/* Silences and shifts: uniform lengths in seconds of reading time; shift size in bpm. */
#define HB_SIM_SILENCE_MIN_S 5
#define HB_SIM_SILENCE_MAX_S 300
#define HB_SIM_SHIFT_MIN_S 600
#define HB_SIM_SHIFT_MAX_S 3600
#define HB_SIM_SHIFT_MIN_BPM 25
#define HB_SIM_SHIFT_MAX_BPM 40

/* splitmix64: a seed from anything, and the PRNG's seeding step. */
uint64_t hb_splitmix64(uint64_t *state);

#endif
