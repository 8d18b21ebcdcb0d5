/* hb_status — thresholds and status names. */
#include "hb_status.h"

#include <stdio.h>
#include <string.h>

static const char *const names[HB_STATUS_COUNT] = {
	"NORMAL", "BRADYCARDIA", "TACHYCARDIA", "INVALID",
};

enum hb_status hb_classify(const struct hb_thresholds *t, int64_t bpm)
{
	if (bpm < t->min || bpm > t->max)
		return HB_INVALID;
	if (bpm < t->brady)
		return HB_BRADYCARDIA;
	if (bpm > t->tachy)
		return HB_TACHYCARDIA;
	return HB_NORMAL;
}

int hb_thresholds_check(const struct hb_thresholds *t, char *err, size_t errsz)
{
	if (t->min < 1) {
		snprintf(err, errsz, "--min %ld: must be at least 1", t->min);
		return -1;
	}
	if (!(t->min <= t->brady && t->brady <= t->tachy && t->tachy <= t->max)) {
		snprintf(err, errsz,
			 "thresholds must satisfy min <= brady <= tachy <= max (got %ld, %ld, %ld, %ld)",
			 t->min, t->brady, t->tachy, t->max);
		return -1;
	}
	return 0;
}

const char *hb_status_name(enum hb_status s)
{
	return (unsigned)s < HB_STATUS_COUNT ? names[s] : "?";
}

int hb_status_parse(const char *s, size_t n, enum hb_status *out)
{
	for (int i = 0; i < HB_STATUS_COUNT; i++) {
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) {
			*out = (enum hb_status)i;
			return 0;
		}
	}
	return -1;
}
