/* fuzz_classify — libFuzzer: thresholds and heart rates.  For thresholds that
 * pass hb_thresholds_check the classifier is total and agrees with the rules. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_classify.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "check failed: %s\n", #x); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hb_thresholds t;
	int64_t bpm;
	int32_t v[4];
	char err[200];
	enum hb_status s;

	if (size < sizeof v + sizeof bpm)
		return 0;
	memcpy(v, data, sizeof v);
	memcpy(&bpm, data + sizeof v, sizeof bpm);
	t.min = v[0];
	t.brady = v[1];
	t.tachy = v[2];
	t.max = v[3];
	if (hb_thresholds_check(&t, err, sizeof err) < 0) {
		CHECK(err[0]);
		return 0;
	}
	s = hb_classify(&t, bpm);
	CHECK(s < HB_STATUS_COUNT);
	CHECK((s == HB_INVALID) == (bpm < t.min || bpm > t.max));
	if (s == HB_BRADYCARDIA)
		CHECK(bpm < t.brady);
	if (s == HB_TACHYCARDIA)
		CHECK(bpm > t.tachy);
	if (s == HB_NORMAL)
		CHECK(bpm >= t.brady && bpm <= t.tachy);
	CHECK(strlen(hb_status_name(s)) > 0);
	return 0;
}
