/* test_status — hb_status: hb_classify at and around each threshold,
 * hb_thresholds_check, and status names both ways. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hb_status.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_thresholds(void)
{
	static const struct hb_thresholds def = HB_THRESHOLDS_DEFAULT;
	static const struct hb_thresholds custom = {.min = 20, .brady = 50, .tachy = 100, .max = 200};
	static const struct hb_thresholds tight = {.min = 1, .brady = 1, .tachy = 300, .max = 300};
	static const struct {
		const struct hb_thresholds *t;
		const char *tname;
		int64_t bpm;
		enum hb_status want;
	} cases[] = {
		{&def, "default", INT64_MIN, HB_INVALID},
		{&def, "default", -1, HB_INVALID},
		{&def, "default", 0, HB_INVALID},
		{&def, "default", 1, HB_BRADYCARDIA},
		{&def, "default", 39, HB_BRADYCARDIA},
		{&def, "default", 40, HB_NORMAL},
		{&def, "default", 73, HB_NORMAL},
		{&def, "default", 180, HB_NORMAL},
		{&def, "default", 181, HB_TACHYCARDIA},
		{&def, "default", 300, HB_TACHYCARDIA},
		{&def, "default", 301, HB_INVALID},
		{&def, "default", INT64_MAX, HB_INVALID},
		{&custom, "20/50/100/200", 19, HB_INVALID},
		{&custom, "20/50/100/200", 20, HB_BRADYCARDIA},
		{&custom, "20/50/100/200", 49, HB_BRADYCARDIA},
		{&custom, "20/50/100/200", 50, HB_NORMAL},
		{&custom, "20/50/100/200", 100, HB_NORMAL},
		{&custom, "20/50/100/200", 101, HB_TACHYCARDIA},
		{&custom, "20/50/100/200", 200, HB_TACHYCARDIA},
		{&custom, "20/50/100/200", 201, HB_INVALID},
		{&tight, "1/1/300/300", 1, HB_NORMAL},
		{&tight, "1/1/300/300", 300, HB_NORMAL},
		{&tight, "1/1/300/300", 0, HB_INVALID},
		{&tight, "1/1/300/300", 301, HB_INVALID},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		enum hb_status got;

		tap_begin("hb_classify(%s, %lld) == %s", cases[i].tname, (long long)cases[i].bpm,
			  hb_status_name(cases[i].want));
		got = hb_classify(cases[i].t, cases[i].bpm);
		check_str(hb_status_name(got), hb_status_name(cases[i].want));
		tap_end();
	}

	{
		static const struct {
			struct hb_thresholds t;
			int ok;
			const char *phrase;
		} chk[] = {
			{HB_THRESHOLDS_DEFAULT, 1, NULL},
			{{.min = 5, .brady = 5, .tachy = 5, .max = 5}, 1, NULL},
			{{.min = 1, .brady = 1, .tachy = 1, .max = 1}, 1, NULL},
			{{.min = 0, .brady = 40, .tachy = 180, .max = 300}, 0, "min"},
			{{.min = -5, .brady = 40, .tachy = 180, .max = 300}, 0, "min"},
			{{.min = 50, .brady = 40, .tachy = 180, .max = 300}, 0, "brady"},
			{{.min = 1, .brady = 190, .tachy = 180, .max = 300}, 0, "tachy"},
			{{.min = 1, .brady = 40, .tachy = 310, .max = 300}, 0, "max"},
			{{.min = 1, .brady = 40, .tachy = 180, .max = 0}, 0, "max"},
		};

		for (size_t i = 0; i < NELEM(chk); i++) {
			char err[200] = "";
			int rc;

			tap_begin("hb_thresholds_check %ld/%ld/%ld/%ld %s", chk[i].t.min, chk[i].t.brady,
				  chk[i].t.tachy, chk[i].t.max, chk[i].ok ? "ok" : "refused");
			rc = hb_thresholds_check(&chk[i].t, err, sizeof err);
			check_int(rc, ==, chk[i].ok ? 0 : -1);
			if (!chk[i].ok) {
				check(err[0] != '\0' && strchr(err, '\n') == NULL);
				check(strstr(err, chk[i].phrase) != NULL);
			}
			tap_end();
		}
	}

	{
		static const char *const names[] = {"NORMAL", "BRADYCARDIA", "TACHYCARDIA", "INVALID"};
		static const char *const not_names[] = {"normal", "NORM", "NORMALX", "", "INVALID ", "?"};
		enum hb_status s;

		tap_begin("hb_status_name / hb_status_parse round trip");
		for (int i = 0; i < HB_STATUS_COUNT; i++) {
			int rc;

			check_str(hb_status_name((enum hb_status)i), names[i]);
			rc = hb_status_parse(names[i], strlen(names[i]), &s);
			check_int(rc, ==, 0);
			check_int((int)s, ==, i);
		}
		check_str(hb_status_name(HB_STATUS_COUNT), "?");
		for (size_t i = 0; i < NELEM(not_names); i++) {
			int rc = hb_status_parse(not_names[i], strlen(not_names[i]), &s);

			check_int(rc, ==, -1);
		}
		/* n bytes only: "NORMALX" cut to 6 is NORMAL. */
		{
			int rc = hb_status_parse("NORMALX", 6, &s);

			check_int(rc, ==, 0);
			check_int((int)s, ==, HB_NORMAL);
		}
		tap_end();
	}
}

int main(void)
{
	test_thresholds();
	return tap_done();
}
