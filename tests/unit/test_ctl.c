/* test_ctl — hb_ctl: the control lines recognised by their prefix, and the
 * checks an _hb_alert or _hb_state line passes before it is stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_ctl.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_kind(void)
{
	static const struct {
		const char *line;
		enum hb_ctl want;
	} cases[] = {
		{"{\"_hb_alert\":{}}", HB_CTL_ALERT},
		{"{\"_hb_state\":{}}", HB_CTL_STATE},
		{"{\"_hb_mark\":\"caught_up\"}", HB_CTL_MARK},
		{"{ \"_hb_alert\":{}}", HB_CTL_NONE},		/* exact prefix only */
		{"{\"_hb_alert\" :{}}", HB_CTL_NONE},
		{"{\"_hb_alerts\":{}}", HB_CTL_NONE},
		{"{\"_hb_alert", HB_CTL_NONE},
		{"{\"customer_id\":\"C\",\"_hb_alert\":{}}", HB_CTL_NONE},
		{"", HB_CTL_NONE},
	};

	tap_begin("hb_ctl_kind: by the exact prefix");
	for (size_t i = 0; i < NELEM(cases); i++)
		check_int(hb_ctl_kind(cases[i].line, strlen(cases[i].line)), ==, cases[i].want);
	tap_end();
}

#define OPEN "\"alert\":\"TACHYCARDIA\",\"state\":\"open\",\"customer_id\":\"C1\",\"start\":\"2026-11-23T10:00:00.000Z\""

static void test_check(void)
{
	static const struct {
		enum hb_ctl k;
		const char *line;
		const char *why;	/* NULL: accepted; else a part of the reason */
	} cases[] = {
		{HB_CTL_ALERT, "{\"_hb_alert\":{" OPEN ",\"peak_bpm\":203,\"readings\":3}}", NULL},
		{HB_CTL_ALERT, "{\"_hb_alert\":{" OPEN ",\"extra\":{\"deep\":[1,2]}}}", NULL},
		{HB_CTL_ALERT, "{\"_hb_alert\":{\"alert\":\"SILENCE\",\"state\":\"close\",\"customer_id\":42,"
			       "\"start\":\"2026-11-23T10:00:00Z\",\"end\":\"2026-11-23T10:00:42Z\"}}", NULL},
		{HB_CTL_ALERT, "{\"_hb_alert\":{\"alert\":\"SILENCE\",\"state\":\"close\",\"customer_id\":\"C\","
			       "\"start\":\"2026-11-23T10:00:00Z\"}}", "\"end\""},
		{HB_CTL_ALERT, "{\"_hb_alert\":{\"alert\":\"X\",\"state\":\"opened\",\"customer_id\":\"C\","
			       "\"start\":\"2026-11-23T10:00:00Z\"}}", "\"state\""},
		{HB_CTL_ALERT, "{\"_hb_alert\":{\"state\":\"open\",\"customer_id\":\"C\","
			       "\"start\":\"2026-11-23T10:00:00Z\"}}", "\"alert\""},
		{HB_CTL_ALERT, "{\"_hb_alert\":{\"alert\":\"X\",\"state\":\"open\",\"customer_id\":\"C D\","
			       "\"start\":\"2026-11-23T10:00:00Z\"}}", "\"customer_id\""},
		{HB_CTL_ALERT, "{\"_hb_alert\":{\"alert\":\"X\",\"state\":\"open\",\"customer_id\":\"C\","
			       "\"start\":\"2026-11-23 10:00\"}}", "\"start\""},
		{HB_CTL_ALERT, "{\"_hb_alert\":{" OPEN ",\"peak_bpm\":20.5}}", "\"peak_bpm\""},
		{HB_CTL_ALERT, "{\"_hb_alert\":{" OPEN ",\"at\":\"soon\"}}", "\"at\""},
		{HB_CTL_ALERT, "{\"_hb_alert\":{" OPEN "},\"x\":1}", "one member"},
		{HB_CTL_ALERT, "{\"_hb_alert\":[1]}", "must be a JSON object"},
		{HB_CTL_ALERT, "{\"_hb_alert\":{" OPEN "}", "not valid JSON"},
		{HB_CTL_ALERT, "{\"_hb_alert\":{" OPEN ",\"n\":NaN}}", "not valid JSON"},
		{HB_CTL_STATE, "{\"_hb_state\":{\"customer_id\":\"C\",\"topic\":\"t\",\"partition\":3,"
			       "\"offset\":123,\"ts\":\"2026-11-23T10:00:00Z\",\"engine\":{\"a\":1}}}", NULL},
		{HB_CTL_STATE, "{\"_hb_state\":{\"customer_id\":\"C\",\"topic\":null,\"partition\":null,"
			       "\"offset\":null}}", NULL},
		{HB_CTL_STATE, "{\"_hb_state\":{\"topic\":\"t\"}}", "\"customer_id\""},
		{HB_CTL_STATE, "{\"_hb_state\":{\"customer_id\":\"C\",\"partition\":\"3\"}}", "\"partition\""},
		{HB_CTL_STATE, "{\"_hb_state\":{\"customer_id\":\"C\",\"topic\":7}}", "\"topic\""},
	};

	tap_begin("hb_ctl_check: sound lines give their inner object, others a reason");
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *line = cases[i].line;
		size_t n = strlen(line), off = 0, len = 0;
		char *copy = malloc(n), why[256] = "";
		int rc;

		if (!copy)
			abort();
		memcpy(copy, line, n);	/* exact size: ASan sees a read past the end */
		rc = hb_ctl_check(cases[i].k, copy, n, &off, &len, why, sizeof why);
		if (!cases[i].why) {
			check_int(rc, ==, 0);
			check_int(copy[off], ==, '{');
			check_int(off + len, ==, n - 1);	/* all but the outer '}' */
		} else {
			check_int(rc, ==, -1);
			if (!strstr(why, cases[i].why))
				printf("# case %zu: \"%s\" not in \"%s\"\n", i, cases[i].why, why);
			check(strstr(why, cases[i].why) != NULL);
		}
		free(copy);
	}
	tap_end();
}

int main(void)
{
	test_kind();
	test_check();
	return tap_done();
}
