/* test_alert — hb_alerts: the alert rules, table-driven. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_alert.h"
#include "hb_time.h"
#include "tap.h"

/* One TAP point per check, named. */
#define is_str(a, b, ...) do { tap_begin(__VA_ARGS__); check_str((a), (b)); tap_end(); } while (0)
#define is(a, b, ...) do { tap_begin(__VA_ARGS__); check_int((a), ==, (b)); tap_end(); } while (0)
#define ok(x, ...) do { tap_begin(__VA_ARGS__); check(x); tap_end(); } while (0)

#define S 1000000LL	/* one second in µs */
#define T0 1795392000000000LL	/* 2026-11-23T00:00:00Z */

/* One input: a reading (st N/B/T), or a mark (st 'a' assigned, 'r' revoked, 'u' caught up at t). */
struct in {
	const char *cid;
	double t;		/* seconds after T0 */
	int st;
	int bpm;
	int part;		/* -1: no coordinates */
	long off;
};

#define N HB_NORMAL
#define B HB_BRADYCARDIA
#define T HB_TACHYCARDIA
#define NOC -1, 0

struct row {
	const char *name;
	struct in in[24];
	const char *want;	/* events: "state ALERT cid start at [end ended_by]" per line */
};

static const struct row rows[] = {
	{"one isolated spike opens nothing",
	 {{"c1", 0, N, 70, NOC}, {"c1", 1, T, 199, NOC}, {"c1", 2, N, 70, NOC}, {"c1", 3, T, 190, NOC}, {"c1", 4, T, 190, NOC}, {"c1", 5, N, 70, NOC}},
	 ""},
	{"three readings past open the alert at the third, from the first; three back inside close it",
	 {{"c1", 0, T, 190, NOC}, {"c1", 1, T, 205, NOC}, {"c1", 2, T, 199, NOC}, {"c1", 3, T, 185, NOC},
	  {"c1", 4, N, 80, NOC}, {"c1", 5, N, 80, NOC}, {"c1", 6, N, 80, NOC}, {"c1", 7, N, 80, NOC}},
	 "open TACHYCARDIA c1 0 2\nclose TACHYCARDIA c1 0 6 3 NORMAL\n"},
	{"hysteresis: NORMAL readings within the margin keep it open",
	 {{"c1", 0, T, 190, NOC}, {"c1", 1, T, 190, NOC}, {"c1", 2, T, 190, NOC}, {"c1", 3, N, 178, NOC},
	  {"c1", 4, N, 177, NOC}, {"c1", 5, N, 179, NOC}, {"c1", 6, N, 176, NOC}, {"c1", 7, N, 170, NOC},
	  {"c1", 8, N, 175, NOC}, {"c1", 9, N, 178, NOC}, {"c1", 10, N, 170, NOC}, {"c1", 11, N, 170, NOC},
	  {"c1", 12, N, 170, NOC}},
	 "open TACHYCARDIA c1 0 2\nclose TACHYCARDIA c1 0 12 2 NORMAL\n"},
	{"bradycardia then tachycardia: the first closes, the second opens on its own count",
	 {{"c1", 0, B, 30, NOC}, {"c1", 1, B, 22, NOC}, {"c1", 2, B, 35, NOC}, {"c1", 3, T, 190, NOC},
	  {"c1", 4, T, 195, NOC}, {"c1", 5, T, 191, NOC}},
	 "open BRADYCARDIA c1 0 2\nclose BRADYCARDIA c1 0 3 2 TACHYCARDIA\nopen TACHYCARDIA c1 3 5\n"},
	{"customers are apart",
	 {{"c1", 0, T, 190, NOC}, {"c2", 0.5, T, 190, NOC}, {"c1", 1, T, 190, NOC}, {"c2", 1.5, N, 70, NOC},
	  {"c1", 2, T, 190, NOC}, {"c2", 2.5, T, 190, NOC}},
	 "open TACHYCARDIA c1 0 2\n"},
	{"no reading for the gap closes it, ended_by gap",
	 {{"c1", 0, T, 190, NOC}, {"c1", 1, T, 190, NOC}, {"c1", 2, T, 190, NOC},
	  {"c2", 3, N, 70, NOC}, {"c2", 30, N, 70, NOC}, {"c2", 62.4, N, 70, NOC}, {"c2", 63, N, 70, NOC}},
	 "open TACHYCARDIA c1 0 2\nopen SILENCE c1 2 30\nopen SILENCE c2 3 30\nclose SILENCE c2 3 30 30 reading\n"
	 "close TACHYCARDIA c1 0 62.4 2 gap\nopen SILENCE c2 30 62.4\nclose SILENCE c2 30 62.4 62.4 reading\n"},
	{"silence of one customer while others send, closed by its next reading",
	 {{"c1", 0, N, 70, NOC}, {"c2", 0, N, 70, NOC}, {"c1", 5, N, 70, NOC}, {"c2", 5, N, 70, NOC},
	  {"c2", 10, N, 70, NOC}, {"c2", 15, N, 70, NOC}, {"c2", 15.5, N, 70, NOC}, {"c2", 20, N, 70, NOC},
	  {"c1", 21, N, 70, NOC}},
	 "open SILENCE c1 5 15.5\nclose SILENCE c1 5 21 21 reading\n"},
	{"a revoked partition's customers are not silent",
	 {{"c1", 0, N, 70, 0, 1}, {"c2", 0, N, 70, 1, 1}, {"", 1, 'r', 0, 0, 0}, {"c2", 5, N, 70, 1, 2},
	  {"c2", 10, N, 70, 1, 3}, {"c2", 15, N, 70, 1, 4}, {"c2", 20, N, 70, 1, 5}, {"c2", 25, N, 70, 1, 6}},
	 ""},
	{"a partition assigned again is watched again, from its readings",
	 {{"c1", 0, N, 70, 0, 1}, {"", 1, 'r', 0, 0, 0}, {"", 2, 'a', 0, 0, 0}, {"c1", 30, N, 70, 0, 9},
	  {"c2", 30, N, 70, 0, 10}, {"c2", 35, N, 70, 0, 11}, {"c2", 40.5, N, 70, 0, 12}},
	 "open SILENCE c1 30 40.5\n"},
	{"partitions keep their own clocks",
	 {{"c1", 0, N, 70, 0, 1}, {"c2", 0, N, 70, 1, 1}, {"c2", 30, N, 70, 1, 2}, {"c1", 1, N, 70, 0, 2}},
	 "open SILENCE c2 0 30\nclose SILENCE c2 0 30 30 reading\n"},
	{"everyone stops: caught_up marks move the clock (lateness 1 s)",
	 {{"c1", 0, N, 70, 0, 1}, {"c2", 0.5, N, 70, 0, 2}, {"", 5, 'u', 0, 0, 0}, {"", 11, 'u', 0, 0, 0},
	  {"", 12, 'u', 0, 0, 0}, {"", 13, 'u', 0, 0, 0}},
	 "open SILENCE c1 0 11\nopen SILENCE c2 0.5 11\n"},
	{"a redelivered offset is not applied twice",
	 {{"c1", 0, T, 190, 0, 5}, {"c1", 1, T, 190, 0, 6}, {"c1", 1, T, 190, 0, 6}, {"c1", 0, T, 190, 0, 5},
	  {"c1", 2, T, 190, 0, 7}},
	 "open TACHYCARDIA c1 0 2\n"},
};

/* Events as "state ALERT cid start at [end ended_by]" with seconds after T0
 * (note: at comes before end). */
static void compact(const char *ndjson, size_t n, char *out, size_t outsz)
{
	size_t k = 0;
	const char *p = ndjson, *e = ndjson + n;

	out[0] = '\0';
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(e - p);
		char *line = strndup(p, len);
		json_object *o = json_tokener_parse(line), *v;
		char secs[5][32] = {"", "", "", "", ""};
		const char *keys[] = {"start", "at", "end"};

		for (int i = 0; i < 3; i++)
			if (o && json_object_object_get_ex(o, keys[i], &v)) {
				int64_t us;
				char err[64];

				hb_time_parse(json_object_get_string(v), strlen(json_object_get_string(v)), &us, err, sizeof err);
				snprintf(secs[i], sizeof secs[i], " %g", (double)(us - T0) / 1e6);
			}
		if (o && json_object_object_get_ex(o, "ended_by", &v))
			snprintf(secs[3], sizeof secs[3], " %s", json_object_get_string(v));
		k += (size_t)snprintf(out + k, outsz - k, "%s %s %s%s%s%s%s\n",
				      json_object_get_string(json_object_object_get(o, "state")),
				      json_object_get_string(json_object_object_get(o, "alert")),
				      json_object_get_string(json_object_object_get(o, "customer_id")),
				      secs[0], secs[1], secs[2], secs[3]);
		json_object_put(o);
		free(line);
		p = nl ? nl + 1 : e;
	}
}

static void feed(struct hb_alerts *a, const struct in *in, struct hb_buf *ev, struct hb_buf *st)
{
	struct hb_alert_out out = { ev, st };
	int64_t ts = T0 + (int64_t)(in->t * S);

	if (in->st == 'r' || in->st == 'a' || in->st == 'u') {
		enum hb_alert_mark k = in->st == 'r' ? HB_AMARK_REVOKED : in->st == 'a' ? HB_AMARK_ASSIGNED
							: HB_AMARK_CAUGHT_UP;
		hb_alerts_mark(a, k, "t", 1, in->part, ts, &out);
		return;
	}
	struct hb_alert_src src = { in->part >= 0, in->part, in->off };
	hb_alerts_reading(a, in->cid, strlen(in->cid), ts, (enum hb_status)in->st, in->bpm, &src, ts, &out);
}

static void run_rows(void)
{
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		struct hb_alert_config cfg = HB_ALERT_CONFIG_DEFAULT;
		struct hb_alerts *a = hb_alerts_new(&cfg);
		struct hb_buf ev = {0};
		char got[4096];

		for (const struct in *in = rows[r].in; in->cid; in++)
			feed(a, in, &ev, NULL);
		compact(ev.p, ev.len, got, sizeof got);
		is_str(got, rows[r].want, "%s", rows[r].name);
		hb_alerts_free(a);
		hb_buf_release(&ev);
	}
}

/* A customer at rest, then shifted by shift bpm from t_shift on: when does DEVIATION open? */
static void deviation(void)
{
	struct hb_alert_config cfg = HB_ALERT_CONFIG_DEFAULT;
	struct hb_alerts *a = hb_alerts_new(&cfg);
	struct hb_buf ev = {0};
	char got[4096];

	for (int t = 0; t < 2400; t++) {
		struct in in = { "c1", t, N, (t >= 1200 && t < 1800 ? 100 : 70) + (t % 3) - 1, NOC };

		feed(a, &in, &ev, NULL);
	}
	compact(ev.p, ev.len, got, sizeof got);
	/* the 60 s EWMA passes 18 of 30 bpm after about 60 ln 2.5 = 55 s, opens 45 s
	 * later; after the shift it is back within 13 after about 60 ln(30/13) = 50 s,
	 * and closes 45 s later ("start at end") */
	is_str(got, "open DEVIATION c1 1257 1302\nclose DEVIATION c1 1257 1892 1846 baseline\n",
	       "a 30 bpm shift opens DEVIATION under two minutes in, and closes after it ends");
	hb_alerts_free(a);
	hb_buf_release(&ev);

	/* a rate away for two hours is the new baseline: the alert closes */
	a = hb_alerts_new(&cfg);
	ev = (struct hb_buf){0};
	for (int t = 0; t < 3 * 3600; t++) {
		struct in in = { "c1", t, N, (t >= 900 ? 110 : 70) + (t % 3) - 1, NOC };

		feed(a, &in, &ev, NULL);
	}
	compact(ev.p, ev.len, got, sizeof got);
	is_str(got, "open DEVIATION c1 937 982\nclose DEVIATION c1 937 8116 8115 new baseline\n",
	       "two hours away from the baseline: it is the customer's rate now");
	hb_alerts_free(a);
	hb_buf_release(&ev);

	/* within the warmup nothing opens, however far */
	a = hb_alerts_new(&cfg);
	ev = (struct hb_buf){0};
	for (int t = 0; t < 590; t++) {
		struct in in = { "c1", t, N, t >= 100 ? 130 : 70, NOC };

		feed(a, &in, &ev, NULL);
	}
	is(ev.len, 0, "no DEVIATION before the baseline has its warmup");
	hb_alerts_free(a);
	hb_buf_release(&ev);
}

/* The state written with --store, loaded into a new engine, continues exactly. */
static void store_load(void)
{
	struct hb_alert_config cfg = HB_ALERT_CONFIG_DEFAULT;
	struct hb_alerts *a, *b;
	struct hb_buf ev = {0}, st = {0}, ev2 = {0};
	struct in in1 = { "c1", 0, T, 190, 0, 10 }, in2 = { "c1", 1, T, 201, 0, 11 }, in3 = { "c1", 2, T, 195, 0, 12 };
	char got[4096], err[160];
	const char *last;

	cfg.store = 1;
	a = hb_alerts_new(&cfg);
	feed(a, &in1, &ev, &st);
	feed(a, &in2, &ev, &st);
	ok(st.len > 0, "a state is written for a new customer");
	hb_buf_putc(&st, '\0');
	/* the last state line */
	{
		char *l = st.p, *nl;

		while ((nl = strchr(l, '\n')) && nl[1])
			l = nl + 1;
		last = l;
	}
	b = hb_alerts_new(&cfg);
	ok(hb_alerts_load(b, last, strlen(last), INT64_MIN, err, sizeof err) == 0, "the state loads");
	feed(b, &in2, &ev2, NULL);	/* redelivered: already in the state */
	is(ev2.len, 0, "an offset the state covers is not applied again");
	feed(b, &in3, &ev2, NULL);
	compact(ev2.p, ev2.len, got, sizeof got);
	is_str(got, "open TACHYCARDIA c1 0 2\n", "the run continues from the stored state: opens at the third");
	ok(strstr(ev2.p, "\"peak_bpm\":201") != NULL, "with the stored peak");
	ok(hb_alerts_load(b, last, strlen(last), INT64_MIN, err, sizeof err) == 0, "an older state loads without error");
	ok(strstr(ev2.p, "\"state\":\"open\"") != NULL && hb_alerts_open(b) == 1,
	   "but does not replace the newer one held (the alert stays open)");
	ok(hb_alerts_load(b, "{\"customer_id\":\"c1\"}", 20, INT64_MIN, err, sizeof err) < 0, "a state without fields is refused");
	is_str(err, "stored alert state of c1: not version 1", "saying why");
	ok(hb_alerts_load(b, "[1]", 3, INT64_MIN, err, sizeof err) < 0, "not an object is refused");
	hb_alerts_free(a);
	hb_alerts_free(b);
	hb_buf_release(&ev);
	hb_buf_release(&st);
	hb_buf_release(&ev2);
}

static void marks(void)
{
	static const struct {
		const char *line;
		int ok;
		int kind;
		int part;
	} m[] = {
		{"{\"_hb_mark\":\"assigned\",\"topic\":\"heartbeats\",\"partition\":3}", 1, HB_AMARK_ASSIGNED, 3},
		{"{\"_hb_mark\":\"revoked\",\"topic\":\"t\",\"partition\":0}", 1, HB_AMARK_REVOKED, 0},
		{"{\"_hb_mark\":\"caught_up\",\"topic\":\"t\",\"partition\":12,\"at\":\"2026-12-02T10:00:00.123Z\"}", 1, HB_AMARK_CAUGHT_UP, 12},
		{"{\"_hb_mark\":\"caught_up\",\"topic\":\"t\",\"partition\":12}", 0, 0, 0},
		{"{\"_hb_mark\":\"assigned\",\"topic\":\"t\",\"partition\":-1}", 0, 0, 0},
		{"{\"_hb_mark\":\"assigned\",\"topic\":\"t\",\"partition\":3} ", 0, 0, 0},
		{"{\"_hb_mark\":\"other\",\"topic\":\"t\",\"partition\":3}", 0, 0, 0},
		{"{\"_hb_mark\":\"assigned\",\"topic\":\"t\",\"partition\":99999999999}", 0, 0, 0},
		{"{\"customer_id\":\"c\"}", 0, 0, 0},
		{"{\"_hb_mark\":\"revoked\",\"topic\":\"t\",\"partition\":12", 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		enum hb_alert_mark k = 0;
		const char *topic;
		size_t tn;
		int32_t p = -9;
		int64_t at;
		int r = hb_alerts_mark_parse(m[i].line, strlen(m[i].line), &k, &topic, &tn, &p, &at);

		is(r, m[i].ok, "mark %s: %s", m[i].ok ? "read" : "refused", m[i].line);
		if (m[i].ok && r) {
			is((int)k, m[i].kind, "  its kind");
			is(p, m[i].part, "  its partition");
		}
	}
}

int main(void)
{
	run_rows();
	deviation();
	store_load();
	marks();
	return tap_done();
}
