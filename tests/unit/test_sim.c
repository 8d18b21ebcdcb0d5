/* test_sim — hb_sim: reproducibility, valid readings, anomaly share and
 * ranges, invalid and malformed lines that the classifier catches. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_classify.h"
#include "hb_event.h"
#include "hb_sim.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define START_US (1795428000LL * 1000000)   /* 2026-11-23T10:00:00Z */
#define STEP_US 25000                        /* 40 readings a second */

static struct hb_parser *P;

/* Generate n lines into out (all of them), their kinds into kinds (if not NULL). */
static int generate(const struct hb_sim_config *cfg, size_t n, struct hb_buf *out,
		    enum hb_sim_kind *kinds)
{
	struct hb_sim *s = hb_sim_new(cfg);

	if (!s)
		return -1;
	for (size_t i = 0; i < n; i++) {
		enum hb_sim_kind k = hb_sim_next(s, i, START_US + (int64_t)i * STEP_US, out);

		if (kinds)
			kinds[i] = k;
	}
	hb_sim_free(s);
	return 0;
}

static void test_new(void)
{
	struct hb_sim_config cfg = {.customers = 0, .seed = 1};
	struct hb_sim *s = hb_sim_new(&cfg);

	tap_begin("hb_sim_new refuses 0 customers; hb_sim_free(NULL) is fine");
	check(s == NULL);
	hb_sim_free(NULL);
	tap_end();

	tap_begin("hb_splitmix64 gives the reference sequence from state 0");
	{
		uint64_t st = 0;

		check(hb_splitmix64(&st) == 0xE220A8397B1DCDAFULL);
		check(hb_splitmix64(&st) == 0x6E789E6AA1B965F4ULL);
		check(hb_splitmix64(&st) == 0x06C45D188009454FULL);
	}
	tap_end();
}

static void test_reproducible(void)
{
	static const struct hb_sim_config cfgs[] = {
		{.customers = 20, .seed = 42, .anomaly_rate = 0.05},
		{.customers = 3, .seed = 7, .anomaly_rate = 0.3, .invalid_rate = 0.1, .malformed_rate = 0.1},
		{.customers = 1, .seed = 0, .anomaly_rate = 0},
	};

	for (size_t c = 0; c < NELEM(cfgs); c++) {
		struct hb_buf a = {0}, b = {0}, d = {0};
		struct hb_sim_config other = cfgs[c];
		int rc;

		tap_begin("hb_sim: same seed and timestamps give the same bytes (config %zu)", c);
		rc = generate(&cfgs[c], 5000, &a, NULL);
		check_int(rc, ==, 0);
		rc = generate(&cfgs[c], 5000, &b, NULL);
		check_int(rc, ==, 0);
		check(a.len > 0 && a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
		tap_end();

		tap_begin("hb_sim: another seed gives other bytes (config %zu)", c);
		other.seed++;
		rc = generate(&other, 5000, &d, NULL);
		check_int(rc, ==, 0);
		check(!(a.len == d.len && memcmp(a.p, d.p, a.len) == 0));
		tap_end();
		hb_buf_release(&a);
		hb_buf_release(&b);
		hb_buf_release(&d);
	}
}

static void test_valid_readings(void)
{
	const struct hb_sim_config cfg = {.customers = 25, .seed = 99, .anomaly_rate = 0.05};
	const size_t n = 20000;
	struct hb_buf out = {0};
	enum hb_sim_kind *kinds = calloc(n, sizeof *kinds);
	const char *p, *e;
	size_t i = 0;
	int bad = 0, bad_cid = 0, bad_ts = 0, bad_kind = 0;

	tap_begin("hb_sim: with invalid/malformed rates 0 every line is a valid reading, ids CUST_00001..");
	check(kinds != NULL);
	if (!kinds)
		return;
	generate(&cfg, n, &out, kinds);
	for (p = out.p, e = out.p + out.len; p < e; i++) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		struct hb_event ev;
		char want[16];

		if (!nl)
			break;
		if (hb_event_parse(P, p, (size_t)(nl - p), &ev) != 0) {
			if (bad++ < 3)
				printf("#   %.*s: %s\n", (int)(nl - p), p, ev.why);
		} else {
			snprintf(want, sizeof want, "CUST_%05zu", i % cfg.customers + 1);
			if (ev.cid.n != strlen(want) || memcmp(ev.cid.p, want, ev.cid.n) != 0)
				bad_cid++;
			if (ev.ts_us != START_US + (int64_t)i * STEP_US)
				bad_ts++;
			if (kinds[i] > HB_SIM_TACHY)
				bad_kind++;
		}
		p = nl + 1;
	}
	check_int(i, ==, n);
	check(p == e);
	check_int(bad, ==, 0);
	check_int(bad_cid, ==, 0);
	check_int(bad_ts, ==, 0);
	check_int(bad_kind, ==, 0);
	/* The first line, exactly, in shape. */
	{
		static const char head[] =
			"{\"customer_id\":\"CUST_00001\",\"timestamp\":\"2026-11-23T10:00:00.000Z\",\"heart_rate\":";

		check(out.len > sizeof head && strncmp(out.p, head, sizeof head - 1) == 0);
	}
	hb_buf_release(&out);
	free(kinds);
	tap_end();

	tap_begin("hb_sim: customer ids beyond 99999 keep counting");
	{
		const struct hb_sim_config big = {.customers = 100001, .seed = 1};
		struct hb_sim *s = hb_sim_new(&big);
		struct hb_event ev;
		int rc;

		check(s != NULL);
		if (s) {
			hb_buf_reset(&out);
			hb_sim_next(s, 100000, START_US, &out);
			rc = hb_event_parse(P, out.p, out.len - 1, &ev);
			check_int(rc, ==, 0);
			check(ev.cid.n == 11 && memcmp(ev.cid.p, "CUST_100001", 11) == 0);
			hb_buf_reset(&out);
			hb_sim_next(s, 100001, START_US, &out);	/* customer 1 again */
			rc = hb_event_parse(P, out.p, out.len - 1, &ev);
			check(rc == 0 && ev.cid.n == 10 && memcmp(ev.cid.p, "CUST_00001", 10) == 0);
			hb_sim_free(s);
		}
		hb_buf_release(&out);
	}
	tap_end();
}

struct share {
	size_t n;
	size_t kind[5];
	int out_of_range;
	int kind_mismatch;
};

static void count(const struct hb_sim_config *cfg, size_t n, struct share *sh)
{
	static const struct hb_thresholds t = HB_THRESHOLDS_DEFAULT;
	struct hb_sim *s = hb_sim_new(cfg);
	struct hb_buf out = {0};

	memset(sh, 0, sizeof *sh);
	if (!s)
		return;
	for (size_t i = 0; i < n; i++) {
		struct hb_event ev;
		enum hb_sim_kind k;

		hb_buf_reset(&out);
		k = hb_sim_next(s, i, START_US + (int64_t)i * STEP_US, &out);
		sh->kind[k]++;
		sh->n++;
		if (k > HB_SIM_TACHY)
			continue;
		if (hb_event_parse(P, out.p, out.len - 1, &ev) != 0) {
			sh->out_of_range++;
			continue;
		}
		switch (k) {
		case HB_SIM_NORMAL:
			sh->out_of_range += ev.hr < 40 || ev.hr > 180;
			sh->kind_mismatch += hb_classify(&t, ev.hr) != HB_NORMAL;
			break;
		case HB_SIM_BRADY:
			sh->out_of_range += ev.hr < 15 || ev.hr > 39;
			sh->kind_mismatch += hb_classify(&t, ev.hr) != HB_BRADYCARDIA;
			break;
		case HB_SIM_TACHY:
			sh->out_of_range += ev.hr < 181 || ev.hr > 220;
			sh->kind_mismatch += hb_classify(&t, ev.hr) != HB_TACHYCARDIA;
			break;
		default:
			break;
		}
	}
	hb_buf_release(&out);
	hb_sim_free(s);
}

static void test_anomaly_share(void)
{
	static const struct {
		unsigned customers;
		uint64_t seed;
	} runs[] = {{20, 1}, {20, 2}, {5, 3}, {200, 4}};

	for (size_t r = 0; r < NELEM(runs); r++) {
		struct hb_sim_config cfg = {.customers = runs[r].customers, .seed = runs[r].seed,
					    .anomaly_rate = 0.05};
		struct share sh;
		double share;

		tap_begin("hb_sim: anomaly share over 200000 readings ~ 0.05 (%u customers, seed %llu)",
			  runs[r].customers, (unsigned long long)runs[r].seed);
		count(&cfg, 200000, &sh);
		share = (double)(sh.kind[HB_SIM_BRADY] + sh.kind[HB_SIM_TACHY]) / (double)sh.n;
		printf("# share %.4f (brady %zu, tachy %zu)\n", share, sh.kind[HB_SIM_BRADY],
		       sh.kind[HB_SIM_TACHY]);
		check(share >= 0.04 && share <= 0.06);
		check(sh.kind[HB_SIM_BRADY] > 0 && sh.kind[HB_SIM_TACHY] > 0);
		check_int(sh.kind[HB_SIM_INVALID] + sh.kind[HB_SIM_MALFORMED], ==, 0);
		check_int(sh.out_of_range, ==, 0);
		check_int(sh.kind_mismatch, ==, 0);
		tap_end();
	}

	{
		struct hb_sim_config cfg = {.customers = 20, .seed = 5, .anomaly_rate = 0};
		struct share sh;

		tap_begin("hb_sim: anomaly_rate 0 gives no anomalies in 200000 readings, all 40..180");
		count(&cfg, 200000, &sh);
		check_int(sh.kind[HB_SIM_NORMAL], ==, 200000);
		check_int(sh.kind[HB_SIM_BRADY] + sh.kind[HB_SIM_TACHY], ==, 0);
		check_int(sh.out_of_range, ==, 0);
		check_int(sh.kind_mismatch, ==, 0);
		tap_end();
	}
	{
		struct hb_sim_config cfg = {.customers = 20, .seed = 6, .anomaly_rate = 0.3};
		struct share sh;
		double share;

		tap_begin("hb_sim: anomaly_rate 0.3 gives ~0.3, ranges hold");
		count(&cfg, 200000, &sh);
		share = (double)(sh.kind[HB_SIM_BRADY] + sh.kind[HB_SIM_TACHY]) / (double)sh.n;
		printf("# share %.4f\n", share);
		check(share >= 0.27 && share <= 0.33);
		check_int(sh.out_of_range, ==, 0);
		check_int(sh.kind_mismatch, ==, 0);
		tap_end();
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_bad_lines(void)
{
	static const struct {
		double invalid, malformed;
	} rates[] = {{0.5, 0}, {0, 0.5}, {0.5, 0.5}, {0.2, 0.3}};
	static const struct hb_thresholds t = HB_THRESHOLDS_DEFAULT;

	for (size_t r = 0; r < NELEM(rates); r++) {
		const size_t n = 20000;
		struct hb_sim_config cfg = {.customers = 20, .seed = 11 + r, .anomaly_rate = 0.05,
					    .invalid_rate = rates[r].invalid,
					    .malformed_rate = rates[r].malformed};
		struct hb_sim *s = hb_sim_new(&cfg);
		struct hb_classifier *c = hb_classifier_new(&t);
		struct hb_buf line = {0}, out = {0};
		char **all = calloc(n, sizeof *all);
		size_t kinds[5] = {0};
		int wrong = 0, dup = 0, multi = 0;

		tap_begin("hb_sim invalid_rate %.1f malformed_rate %.1f: bad lines are INVALID, all lines distinct",
			  rates[r].invalid, rates[r].malformed);
		check(s && c && all);
		if (!s || !c || !all)
			return;
		for (size_t i = 0; i < n; i++) {
			struct hb_verdict v;
			enum hb_sim_kind k;

			hb_buf_reset(&line);
			hb_buf_reset(&out);
			k = hb_sim_next(s, i, START_US + (int64_t)i * STEP_US, &line);
			kinds[k]++;
			if (memchr(line.p, '\n', line.len) != line.p + line.len - 1)
				multi++;
			hb_classify_line(c, line.p, line.len - 1, line.len - 1, &out, &v);
			switch (k) {
			case HB_SIM_INVALID:
			case HB_SIM_MALFORMED:
				if (v.status != HB_INVALID && wrong++ < 5)
					printf("#   not INVALID: %.*s", (int)line.len, line.p);
				break;
			case HB_SIM_NORMAL:
				wrong += v.status != HB_NORMAL;
				break;
			case HB_SIM_BRADY:
				wrong += v.status != HB_BRADYCARDIA;
				break;
			case HB_SIM_TACHY:
				wrong += v.status != HB_TACHYCARDIA;
				break;
			}
			all[i] = malloc(line.len + 1);
			if (!all[i])
				abort();
			memcpy(all[i], line.p, line.len);
			all[i][line.len] = '\0';
		}
		qsort(all, n, sizeof *all, cmp_str);
		for (size_t i = 1; i < n; i++)
			if (strcmp(all[i - 1], all[i]) == 0 && dup++ < 3)
				printf("#   duplicate: %s", all[i]);
		printf("# normal %zu brady %zu tachy %zu invalid %zu malformed %zu\n", kinds[0],
		       kinds[1], kinds[2], kinds[3], kinds[4]);
		check_int(wrong, ==, 0);
		check_int(dup, ==, 0);
		check_int(multi, ==, 0);
		if (rates[r].invalid > 0)
			check(kinds[HB_SIM_INVALID] > n * rates[r].invalid * 0.9 &&
			      kinds[HB_SIM_INVALID] < n * rates[r].invalid * 1.1);
		else
			check_int(kinds[HB_SIM_INVALID], ==, 0);
		if (rates[r].malformed > 0)
			check(kinds[HB_SIM_MALFORMED] > n * rates[r].malformed * 0.9 &&
			      kinds[HB_SIM_MALFORMED] < n * rates[r].malformed * 1.1);
		else
			check_int(kinds[HB_SIM_MALFORMED], ==, 0);
		for (size_t i = 0; i < n; i++)
			free(all[i]);
		free(all);
		hb_buf_release(&line);
		hb_buf_release(&out);
		hb_classifier_free(c);
		hb_sim_free(s);
		tap_end();
	}
}

int main(void)
{
	P = hb_parser_new();
	if (!P) {
		tap_begin("hb_parser_new");
		check(P != NULL);
		return tap_done();
	}
	test_new();
	test_reproducible();
	test_valid_readings();
	test_anomaly_share();
	test_bad_lines();
	hb_parser_free(P);
	return tap_done();
}
