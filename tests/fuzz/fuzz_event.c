/* fuzz_event — libFuzzer: any bytes through the event reader and the classifier.
 *
 * Checks, beyond "no crash, no sanitizer report": the classifier's output is
 * one line of valid JSON; classifying it again gives the same line; the flat
 * fast path never accepts what the strict validator refuses.  The same for a
 * classifier that reads timestamps without a zone as UTC (--assume-utc),
 * whose output any reader then takes as the same reading.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_classify.h"
#include "hb_event.h"
#include "hb_json.h"

static struct hb_classifier *cl, *cu;
static struct hb_parser *p;

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "check failed: %s\n", #x); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct hb_thresholds t = HB_THRESHOLDS_DEFAULT;
	struct hb_buf a = {0}, b = {0};
	struct hb_verdict v;
	struct hb_event ev;
	struct hb_jflat f;
	const char *s = (const char *)data, *msg;
	size_t col, n = size;

	if (!cl) {
		cl = hb_classifier_new(&t);
		cu = hb_classifier_new(&t);
		hb_classifier_assume_utc(cu, 1);
		p = hb_parser_new();
	}
	/* a line has no newline: cut at the first one, as the reader would */
	if (memchr(s, '\n', n))
		n = (size_t)((const char *)memchr(s, '\n', n) - s);

	hb_event_parse(p, s, n, &ev);
	if (hb_json_scan_flat(s, n, &f))
		CHECK(hb_json_validate(s, n, HB_JSON_MAX_DEPTH, NULL, &col, &msg) == 0);

	hb_classify_line(cl, s, n, n, &a, &v);
	CHECK(a.len > 0 && a.p[a.len - 1] == '\n');
	CHECK(memchr(a.p, '\n', a.len - 1) == NULL);
	CHECK(hb_json_validate(a.p, a.len - 1, 256, NULL, &col, &msg) == 0);
	if (v.status == HB_INVALID)
		CHECK(v.reason && v.reason[0]);

	hb_classify_line(cl, a.p, a.len - 1, a.len - 1, &b, &v);
	CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);

	hb_buf_reset(&a);
	hb_buf_reset(&b);
	hb_classify_line(cu, s, n, n, &a, &v);
	CHECK(a.len > 0 && a.p[a.len - 1] == '\n');
	CHECK(memchr(a.p, '\n', a.len - 1) == NULL);
	CHECK(hb_json_validate(a.p, a.len - 1, 256, NULL, &col, &msg) == 0);
	if (v.status != HB_INVALID) {
		int64_t us = v.ev->ts_us;

		/* a reader without the option: the same reading, the same line */
		CHECK(hb_event_parse(p, a.p, a.len - 1, &ev) == 0);
		CHECK(ev.ts_us == us && !ev.ts_zoneless);
		hb_classify_line(cl, a.p, a.len - 1, a.len - 1, &b, &v);
		CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
		hb_buf_reset(&b);
	}
	hb_classify_line(cu, a.p, a.len - 1, a.len - 1, &b, &v);
	CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);

	hb_buf_release(&a);
	hb_buf_release(&b);
	return 0;
}
