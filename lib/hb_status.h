/* hb_status — the four statuses of a reading, their names, and the
 * thresholds that give a heart rate its status.  A leaf: it knows nothing
 * of lines or JSON, so the reader (hb_event) and the rewriter (hb_classify)
 * both use it without using each other. */
#ifndef HB_STATUS_H
#define HB_STATUS_H

#include <stddef.h>
#include <stdint.h>

enum hb_status {
	HB_NORMAL,
	HB_BRADYCARDIA,
	HB_TACHYCARDIA,
	HB_INVALID,
	HB_STATUS_COUNT
};

/*
 * Below min or above max: INVALID (implausible); below brady: BRADYCARDIA;
 * above tachy: TACHYCARDIA; otherwise NORMAL.  Defaults 1, 40, 180, 300.
 */
struct hb_thresholds {
	long min;
	long brady;
	long tachy;
	long max;
};

#define HB_THRESHOLDS_DEFAULT { .min = 1, .brady = 40, .tachy = 180, .max = 300 }

/* Classify a heart rate.  Never returns HB_INVALID for a value in [min,max]. */
enum hb_status hb_classify(const struct hb_thresholds *t, int64_t bpm);

/*
 * Check min <= brady <= tachy <= max and min >= 1.  Returns 0, or -1 with a
 * one-line reason in err.
 */
int hb_thresholds_check(const struct hb_thresholds *t, char *err, size_t errsz);

/* "NORMAL", "BRADYCARDIA", "TACHYCARDIA", "INVALID"; "?" for anything else. */
const char *hb_status_name(enum hb_status s);

/* Parse a status name (exact, upper case, s[0..n)).  Returns 0 or -1. */
int hb_status_parse(const char *s, size_t n, enum hb_status *out);

#endif
