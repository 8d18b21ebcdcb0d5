/* test_alert — hb_alerts: anomaly episodes per customer, table-driven. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_alert.h"
#include "tap.h"

#define S 1000000LL	/* one second in µs */
#define T0 1795392000000000LL	/* 2026-11-23T00:00:00Z */

struct rd {
	const char *cid;
	int64_t t;		/* seconds after T0, in tenths */
	enum hb_status st;
	int bpm;
};

struct row {
	const char *name;
	struct rd in[12];
	int flush;		/* then the end of the stream */
	const char *want;	/* the alerts, one per line, as "TYPE cid start-end peak@at n why" */
};

#define N HB_NORMAL
#define B HB_BRADYCARDIA
#define T HB_TACHYCARDIA
#define I HB_INVALID

static const struct row rows[] = {
	{"a tachycardia run ended by a NORMAL reading",
	 {{"c1", 0, N, 70}, {"c1", 5, T, 190}, {"c1", 10, T, 205}, {"c1", 15, T, 199}, {"c1", 20, N, 80}},
	 0, "TACHYCARDIA c1 0.5-1.5 205@1 3 NORMAL\n"},
	{"bradycardia peaks at its lowest",
	 {{"c1", 0, B, 35}, {"c1", 5, B, 22}, {"c1", 10, B, 30}, {"c1", 15, N, 60}},
	 0, "BRADYCARDIA c1 0-1 22@0.5 3 NORMAL\n"},
	{"a change of type closes one episode and opens the next",
	 {{"c1", 0, B, 35}, {"c1", 5, T, 190}, {"c1", 10, N, 70}},
	 0, "BRADYCARDIA c1 0-0 35@0 1 TACHYCARDIA\nTACHYCARDIA c1 0.5-0.5 190@0.5 1 NORMAL\n"},
	{"customers are apart: one's NORMAL does not end another's episode",
	 {{"c1", 0, T, 190}, {"c2", 1, N, 70}, {"c2", 2, T, 185}, {"c1", 3, T, 200}, {"c2", 4, N, 70}, {"c1", 5, N, 70}},
	 0, "TACHYCARDIA c2 0.2-0.2 185@0.2 1 NORMAL\nTACHYCARDIA c1 0-0.3 200@0.3 2 NORMAL\n"},
	{"INVALID readings neither open nor close episodes",
	 {{"c1", 0, I, 0}, {"c1", 5, T, 190}, {"c1", 10, I, 999}, {"c1", 15, N, 70}},
	 0, "TACHYCARDIA c1 0.5-0.5 190@0.5 1 NORMAL\n"},
	{"the customer's own reading after the gap starts a new episode",
	 {{"c1", 0, T, 190}, {"c1", 700, T, 195}, {"c1", 710, N, 70}},
	 0, "TACHYCARDIA c1 0-0 190@0 1 gap\nTACHYCARDIA c1 70-70 195@70 1 NORMAL\n"},
	{"the stream's time moving past the gap closes a quiet episode",
	 {{"c1", 0, B, 30}, {"c2", 300, N, 70}, {"c2", 650, N, 70}},
	 0, "BRADYCARDIA c1 0-0 30@0 1 gap\n"},
	{"the end of the stream closes what is open, oldest first",
	 {{"c2", 10, T, 190}, {"c1", 5, B, 30}, {"c3", 20, N, 70}},
	 1, "BRADYCARDIA c1 0.5-0.5 30@0.5 1 end of stream\nTACHYCARDIA c2 1-1 190@1 1 end of stream\n"},
	{"NORMAL readings alone give no alert",
	 {{"c1", 0, N, 70}, {"c2", 5, N, 71}},
	 1, ""},
};

/* The alerts in out, summarised as the table writes them (via jq-like parsing by sscanf). */
static void summarise(const char *json, char *dst, size_t dn)
{
	const char *p = json;
	size_t k = 0;

	dst[0] = '\0';
	while (*p) {
		char type[32], cid[80], start[40], end[40], peak_at[40], why[40];
		int peak, n;
		const char *nl = strchr(p, '\n');

		if (sscanf(p, "{\"alert\":\"%31[A-Z]\",\"customer_id\":\"%79[^\"]\",\"start\":\"%39[^\"]\","
			   "\"end\":\"%39[^\"]\",\"duration_s\":%*[0-9.],\"peak_bpm\":%d,\"peak_at\":\"%39[^\"]\","
			   "\"readings\":%d,\"ended_by\":\"%39[^\"]\"}", type, cid, start, end, &peak, peak_at,
			   &n, why) != 8) {
			snprintf(dst + k, dn - k, "UNPARSED %.*s\n", (int)(nl ? nl - p : 40), p);
			return;
		}
		/* seconds after T0 from "2026-11-23T00:MM:SS.fffZ" */
		double st = atof(start + 14) * 60 + atof(start + 17), en = atof(end + 14) * 60 + atof(end + 17);
		double pa = atof(peak_at + 14) * 60 + atof(peak_at + 17);
		k += (size_t)snprintf(dst + k, dn - k, "%s %s %g-%g %d@%g %d %s\n", type, cid, st, en, peak, pa, n, why);
		if (!nl)
			break;
		p = nl + 1;
	}
}

int main(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct hb_alerts *a = hb_alerts_new(60 * S);
		struct hb_buf out = {0};
		char got[2048];
		int total = 0, n;

		tap_begin("%s", r->name);
		for (const struct rd *d = r->in; d->cid; d++) {
			n = hb_alerts_reading(a, d->cid, strlen(d->cid), T0 + d->t * S / 10, d->st, d->bpm, &out);
			check_int(n, >=, 0);
			total += n;
		}
		if (r->flush) {
			n = hb_alerts_flush(a, &out);
			check_int(n, >=, 0);
			total += n;
			check_int(hb_alerts_open(a), ==, 0);
		}
		hb_buf_putc(&out, '\0');
		summarise(out.p, got, sizeof got);
		check_str(got, r->want);
		hb_buf_release(&out);
		hb_alerts_free(a);
		tap_end();
	}

	/* Many customers at once: growth and reuse of slots, every episode accounted for. */
	{
		struct hb_alerts *a = hb_alerts_new(60 * S);
		struct hb_buf out = {0};
		long alerts = 0, lines = 0;
		char cid[16];

		tap_begin("100,000 customers in and out of episodes: one alert each, memory reused");
		for (int round = 0; round < 3; round++) {
			for (int c = 0; c < 100000; c++) {
				int len = snprintf(cid, sizeof cid, "C%06d", c);

				alerts += hb_alerts_reading(a, cid, (size_t)len, T0 + round * 2 * S + c,
							    c % 2 ? HB_TACHYCARDIA : HB_BRADYCARDIA, 100, &out);
			}
			check_int(hb_alerts_open(a), ==, 100000);
			for (int c = 0; c < 100000; c++) {
				int len = snprintf(cid, sizeof cid, "C%06d", c);

				alerts += hb_alerts_reading(a, cid, (size_t)len, T0 + round * 2 * S + S + c,
							    HB_NORMAL, 70, &out);
			}
			check_int(hb_alerts_open(a), ==, 0);
		}
		check_int(alerts, ==, 300000);
		for (size_t k = 0; k < out.len; k++)
			lines += out.p[k] == '\n';
		check_int(lines, ==, 300000);
		hb_buf_release(&out);
		hb_alerts_free(a);
		tap_end();
	}

	{
		struct hb_alerts *a = hb_alerts_new(60 * S);
		struct hb_buf out = {0};
		char big[200];

		memset(big, 'x', sizeof big);
		tap_begin("a customer id longer than any valid one is ignored, not cut");
		check_int(hb_alerts_reading(a, big, sizeof big, T0, HB_TACHYCARDIA, 190, &out), ==, 0);
		check_int(hb_alerts_open(a), ==, 0);
		hb_buf_release(&out);
		hb_alerts_free(a);
		tap_end();
	}
	return tap_done();
}
