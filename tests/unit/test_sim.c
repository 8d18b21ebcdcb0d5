/* test_sim — hb_sim: reproducibility, valid readings, anomaly share and
 * ranges, invalid and malformed lines that the classifier catches, the old
 * bytes kept, and the truth of episodes, silences and shifts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_classify.h"
#include "hb_event.h"
#include "hb_sim.h"
#include "hb_time.h"
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
	size_t kind[HB_SIM_KINDS];
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
		size_t kinds[HB_SIM_KINDS] = {0};
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
			case HB_SIM_SILENT:	/* never without a silence rate */
				wrong++;
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

/* ---- truth, silences, shifts ---- */

/* FNV-1a 64 of what hb_sim_next writes for n slots step_us apart. */
static uint64_t fnv_run(const struct hb_sim_config *cfg, size_t n, int64_t step_us, int with_truth,
			size_t *truth_lines)
{
	struct hb_sim *s = hb_sim_new(cfg);
	struct hb_buf b = {0}, t = {0};
	uint64_t h = 0xcbf29ce484222325ULL;

	if (!s)
		return 0;
	for (size_t i = 0; i < n; i++) {
		hb_buf_reset(&b);
		if (with_truth)
			hb_sim_step(s, i, START_US + (int64_t)i * step_us, &b, &t);
		else
			hb_sim_next(s, i, START_US + (int64_t)i * step_us, &b);
		for (size_t k = 0; k < b.len; k++)
			h = (h ^ (unsigned char)b.p[k]) * 0x100000001b3ULL;
	}
	hb_sim_finish(s, &t);
	if (truth_lines) {
		*truth_lines = 0;
		for (size_t k = 0; k < t.len; k++)
			*truth_lines += t.p[k] == '\n';
	}
	hb_buf_release(&b);
	hb_buf_release(&t);
	hb_sim_free(s);
	return h;
}

/*
 * The bytes before --silence-rate/--shift-rate/--truth existed, recorded
 * with the code of that time: with those rates 0 they must not move.
 */
static void test_old_bytes(void)
{
	static const struct {
		struct hb_sim_config cfg;
		int64_t step_us;
		uint64_t fnv;
	} runs[] = {
		{{.customers = 20, .seed = 7, .anomaly_rate = 0.05}, 25000, 0xB3547F241B0F9645ULL},
		{{.customers = 7, .seed = 3, .anomaly_rate = 0.2, .invalid_rate = 0.01, .malformed_rate = 0.01},
		 25000, 0x1F693E87D8061796ULL},
		{{.customers = 1000, .seed = 9, .anomaly_rate = 0.05}, 1000, 0xA3AAA61AAD0D4EE2ULL},
	};

	for (size_t r = 0; r < NELEM(runs); r++) {
		size_t lines;

		tap_begin("hb_sim: silence and shift rates 0 give the old bytes, with or without truth (run %zu)", r);
		check(fnv_run(&runs[r].cfg, 100000, runs[r].step_us, 0, NULL) == runs[r].fnv);
		check(fnv_run(&runs[r].cfg, 100000, runs[r].step_us, 1, &lines) == runs[r].fnv);
		check_int(lines, >, 0);
		tap_end();
	}
}

struct truth {
	char type[16];
	unsigned cust;          /* 0-based */
	int64_t start, end;
	long readings, bpm;
	int cut;
};

static int truth_parse(const char *p, size_t n, struct truth *t)
{
	char line[512], err[128];
	const char *s, *e;
	unsigned num;

	if (n >= sizeof line)
		return -1;
	memcpy(line, p, n);
	line[n] = '\0';
	memset(t, 0, sizeof *t);
	if (sscanf(line, "{\"truth\":\"%15[A-Z]\",\"customer_id\":\"CUST_%u\",\"start\":\"", t->type, &num) != 2)
		return -1;
	t->cust = num - 1;
	if (!(s = strstr(line, "\"start\":\"")) || !(e = strchr(s + 9, '"')) ||
	    hb_time_parse(s + 9, (size_t)(e - s - 9), &t->start, err, sizeof err) < 0)
		return -1;
	if (!(s = strstr(line, "\"end\":\"")) || !(e = strchr(s + 7, '"')) ||
	    hb_time_parse(s + 7, (size_t)(e - s - 7), &t->end, err, sizeof err) < 0)
		return -1;
	if (!(s = strstr(line, "\"readings\":")))
		return -1;
	t->readings = strtol(s + 11, NULL, 10);
	if ((s = strstr(line, "\"bpm\":")))
		t->bpm = strtol(s + 6, NULL, 10);
	t->cut = strstr(line, "\"cut\":true}") != NULL;
	return 0;
}

/* A run next to the same run with silences and shifts off, slot by slot. */
struct pair {
	size_t n, customers;
	int64_t step_us;
	unsigned char *base, *kind;   /* hb_sim_kind of each slot: without, with */
	short *diff;                  /* heart rate with minus without */
	short *hr;                    /* heart rate with */
	int other_diff;               /* lines that differ other than in heart_rate */
	struct hb_buf truth;
};

static int pair_run(const struct hb_sim_config *cfg, size_t n, int64_t step_us, struct pair *p)
{
	struct hb_sim_config plain = *cfg;
	struct hb_sim *a, *b;
	struct hb_buf la = {0}, lb = {0};

	plain.silence_rate = plain.shift_rate = 0;
	memset(p, 0, sizeof *p);
	p->n = n;
	p->customers = cfg->customers;
	p->step_us = step_us;
	p->base = malloc(n);
	p->kind = malloc(n);
	p->diff = calloc(n, sizeof *p->diff);
	p->hr = calloc(n, sizeof *p->hr);
	a = hb_sim_new(&plain);
	b = hb_sim_new(cfg);
	if (!p->base || !p->kind || !p->diff || !p->hr || !a || !b)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int64_t ts = START_US + (int64_t)i * step_us;
		struct hb_event ea, eb;

		hb_buf_reset(&la);
		hb_buf_reset(&lb);
		p->base[i] = (unsigned char)hb_sim_next(a, i, ts, &la);
		p->kind[i] = (unsigned char)hb_sim_step(b, i, ts, &lb, &p->truth);
		if (p->kind[i] == HB_SIM_SILENT) {
			p->other_diff += lb.len != 0;
			continue;
		}
		if (la.len == lb.len && memcmp(la.p, lb.p, la.len) == 0) {
			if (hb_event_parse(P, lb.p, lb.len - 1, &eb) == 0)
				p->hr[i] = (short)eb.hr;
			continue;
		}
		if (p->base[i] > HB_SIM_TACHY || hb_event_parse(P, la.p, la.len - 1, &ea) != 0) {
			p->other_diff++;
			continue;
		}
		p->diff[i] = (short)ea.hr;	/* ea is overwritten by the next parse */
		if (hb_event_parse(P, lb.p, lb.len - 1, &eb) != 0) {
			p->other_diff++;
			continue;
		}
		p->hr[i] = (short)eb.hr;
		p->diff[i] = (short)(eb.hr - p->diff[i]);
	}
	hb_sim_finish(b, &p->truth);
	hb_buf_release(&la);
	hb_buf_release(&lb);
	hb_sim_free(a);
	hb_sim_free(b);
	return 0;
}

static void pair_free(struct pair *p)
{
	free(p->base);
	free(p->kind);
	free(p->diff);
	free(p->hr);
	hb_buf_release(&p->truth);
}

static size_t slot_of(const struct pair *p, int64_t ts)
{
	return (size_t)((ts - START_US) / p->step_us);
}

/* What the truth lines of a pair say, checked against its slots. */
struct verdict {
	size_t lines, bad_lines, episodes, silences, shifts, cut;
	size_t ep_wrong, sil_wrong, shift_wrong, out_of_range;
	size_t silent_covered, shifted_covered, anomalous_covered;
	double shift_s;                 /* reading time inside shifts */
	unsigned char *mark;            /* slots covered by a shift */
};

static void check_episode(const struct pair *p, const struct truth *t, struct verdict *v)
{
	enum hb_sim_kind want = strcmp(t->type, "TACHYCARDIA") == 0 ? HB_SIM_TACHY : HB_SIM_BRADY;
	size_t a = slot_of(p, t->start), z = slot_of(p, t->end);
	long seen = 0;

	v->episodes++;
	if (a % p->customers != t->cust || z % p->customers != t->cust || z < a || z >= p->n) {
		v->ep_wrong++;
		return;
	}
	/* every slot of it anomalous of its kind (or made a bad line), none silent */
	for (size_t i = a; i <= z; i += p->customers) {
		seen += p->kind[i] == want || p->kind[i] == HB_SIM_INVALID || p->kind[i] == HB_SIM_MALFORMED;
		v->anomalous_covered += p->kind[i] == want;
	}
	v->ep_wrong += seen != t->readings || (long)((z - a) / p->customers + 1) != t->readings;
}

static void check_silence(const struct pair *p, const struct truth *t, struct verdict *v)
{
	size_t a = slot_of(p, t->start), z = slot_of(p, t->end);
	long seen = 0;

	v->silences++;
	if (a % p->customers != t->cust || a < p->customers || z > p->n) {
		v->sil_wrong++;
		return;
	}
	for (size_t i = a; i < z || (t->cut && i <= z && i < p->n); i += p->customers)
		seen += p->kind[i] == HB_SIM_SILENT;
	v->sil_wrong += seen != t->readings;                               /* all slots empty */
	v->sil_wrong += p->kind[a - p->customers] == HB_SIM_SILENT;        /* sent before */
	if (!t->cut)
		v->sil_wrong += z % p->customers != t->cust || p->kind[z] == HB_SIM_SILENT; /* and after */
	v->silent_covered += (size_t)seen;
}

static void check_shift(const struct pair *p, const struct truth *t, struct verdict *v)
{
	size_t a = slot_of(p, t->start), z = slot_of(p, t->end);
	long seen = 0;

	v->shifts++;
	if (a % p->customers != t->cust || z % p->customers != t->cust || z < a || z >= p->n ||
	    labs(t->bpm) < HB_SIM_SHIFT_MIN_BPM || labs(t->bpm) > HB_SIM_SHIFT_MAX_BPM) {
		v->shift_wrong++;
		return;
	}
	for (size_t i = a; i <= z; i += p->customers) {
		int was = p->hr[i] - p->diff[i];
		int clamped = p->hr[i] == 45 || p->hr[i] == 170 || was == 45 || was == 170;

		if (p->kind[i] != HB_SIM_NORMAL)
			continue;
		seen++;
		v->mark[i] = 1;
		v->out_of_range += p->hr[i] < 45 || p->hr[i] > 170;
		if (!clamped && labs(p->diff[i] - t->bpm) > 1 && v->shift_wrong++ < 3)
			printf("#   slot %zu: moved %d, not %ld\n", i, p->diff[i], t->bpm);
	}
	if (seen != t->readings && v->shift_wrong++ < 3)
		printf("#   shift of CUST_%05u: %ld normal readings, the truth says %ld\n", t->cust + 1,
		       seen, t->readings);
	v->shifted_covered += (size_t)seen;
	v->shift_s += (double)(t->end - t->start) / 1e6 + (double)(p->step_us * (int64_t)p->customers) / 1e6;
}

static void verdict_of(const struct pair *p, struct verdict *v)
{
	const char *q = p->truth.p, *e = q + p->truth.len;

	memset(v, 0, sizeof *v);
	v->mark = calloc(p->n, 1);
	if (!v->mark)
		return;
	for (; q < e; v->lines++) {
		const char *nl = memchr(q, '\n', (size_t)(e - q));
		struct truth t;

		if (!nl || truth_parse(q, (size_t)(nl - q), &t) < 0) {
			if (v->bad_lines++ < 3)
				printf("#   bad truth line: %.*s\n", nl ? (int)(nl - q) : 40, q);
			if (!nl)
				break;
		} else {
			v->cut += t.cut;
			if (strcmp(t.type, "SILENCE") == 0)
				check_silence(p, &t, v);
			else if (strcmp(t.type, "SHIFT") == 0)
				check_shift(p, &t, v);
			else if (strcmp(t.type, "BRADYCARDIA") == 0 || strcmp(t.type, "TACHYCARDIA") == 0)
				check_episode(p, &t, v);
			else
				v->bad_lines++;
		}
		q = nl + 1;
	}
}

static void test_truth_plain(void)
{
	const struct hb_sim_config cfg = {.customers = 20, .seed = 12, .anomaly_rate = 0.05};
	struct pair p;
	struct verdict v;
	size_t anomalous = 0;

	tap_begin("hb_sim truth, rates 0: only BRADYCARDIA/TACHYCARDIA lines, each one episode exactly");
	check_int(pair_run(&cfg, 200000, 50000, &p), ==, 0);
	verdict_of(&p, &v);
	for (size_t i = 0; i < p.n; i++)
		anomalous += p.kind[i] == HB_SIM_BRADY || p.kind[i] == HB_SIM_TACHY;
	printf("# %zu lines, %zu episodes, %zu anomalous readings, %zu cut\n", v.lines, v.episodes,
	       anomalous, v.cut);
	check_int(v.bad_lines, ==, 0);
	check_int(v.lines, >, 100);
	check_int(v.episodes, ==, v.lines);
	check_int(v.ep_wrong, ==, 0);
	check_int(v.anomalous_covered, ==, anomalous);
	check_int(p.other_diff, ==, 0);
	free(v.mark);
	pair_free(&p);
	tap_end();
}

static void test_truth_silence(void)
{
	const struct hb_sim_config cfg = {.customers = 20, .seed = 13, .anomaly_rate = 0.05,
					  .silence_rate = 0.05, .invalid_rate = 0.01};
	struct pair p;
	struct verdict v;
	size_t silent = 0, differ = 0;
	double share;

	tap_begin("hb_sim silence_rate 0.05: the output without silences minus exactly the truth's silent slots");
	check_int(pair_run(&cfg, 400000, 50000, &p), ==, 0);
	verdict_of(&p, &v);
	for (size_t i = 0; i < p.n; i++) {
		silent += p.kind[i] == HB_SIM_SILENT;
		differ += p.kind[i] != HB_SIM_SILENT && p.kind[i] != p.base[i];
	}
	share = (double)silent / (double)p.n;
	printf("# %zu silences, %zu silent slots, share %.4f, %zu cut\n", v.silences, silent, share, v.cut);
	check_int(v.bad_lines, ==, 0);
	check_int(p.other_diff, ==, 0);
	check_int(differ, ==, 0);
	check_int(v.sil_wrong, ==, 0);
	check_int(v.ep_wrong, ==, 0);
	check_int(v.silent_covered, ==, silent);
	check_int(v.silences, >, 50);
	check(share > 0.05 * 0.75 && share < 0.05 * 1.25);
	free(v.mark);
	pair_free(&p);
	tap_end();
}

static void test_truth_shift(void)
{
	const struct hb_sim_config cfg = {.customers = 20, .seed = 14, .anomaly_rate = 0.05,
					  .shift_rate = 0.2};
	const size_t n = 1200000;
	struct pair p;
	struct verdict v;
	size_t unmarked = 0, shifted = 0, differ = 0;
	double share;

	tap_begin("hb_sim shift_rate 0.2: only the truth's shift readings moved, by its bpm, still 45..170");
	check_int(pair_run(&cfg, n, 50000, &p), ==, 0);
	verdict_of(&p, &v);
	for (size_t i = 0; i < p.n; i++) {
		unmarked += p.diff[i] != 0 && !(v.mark && v.mark[i]);
		shifted += p.diff[i] != 0;
		differ += p.kind[i] != p.base[i];
	}
	share = v.shift_s / ((double)n * 50000 / 1e6 * (double)p.customers);
	printf("# %zu shifts, %zu shifted readings, share of time %.4f, %zu cut\n", v.shifts,
	       v.shifted_covered, share, v.cut);
	check_int(v.bad_lines, ==, 0);
	check_int(p.other_diff, ==, 0);
	check_int(differ, ==, 0);
	check_int(v.shift_wrong, ==, 0);
	check_int(v.out_of_range, ==, 0);
	check_int(v.ep_wrong, ==, 0);
	check_int(unmarked, ==, 0);
	check_int(v.shifts, >, 50);
	check_int(shifted, >, v.shifted_covered * 9 / 10);
	check(share > 0.2 * 0.7 && share < 0.2 * 1.3);
	free(v.mark);
	pair_free(&p);
	tap_end();
}

static void test_truth_both(void)
{
	const struct hb_sim_config cfg = {.customers = 5, .seed = 15, .anomaly_rate = 0.1,
					  .silence_rate = 0.2, .shift_rate = 0.4};
	struct pair p;
	struct verdict v;
	size_t silent = 0, unmarked = 0;

	tap_begin("hb_sim silences, shifts and episodes together: the truth holds, cut events at the end");
	check_int(pair_run(&cfg, 150000, 50000, &p), ==, 0);
	verdict_of(&p, &v);
	for (size_t i = 0; i < p.n; i++) {
		silent += p.kind[i] == HB_SIM_SILENT;
		unmarked += p.diff[i] != 0 && !(v.mark && v.mark[i]);
	}
	printf("# %zu episodes, %zu silences, %zu shifts, %zu cut\n", v.episodes, v.silences,
	       v.shifts, v.cut);
	check_int(v.bad_lines, ==, 0);
	check_int(p.other_diff, ==, 0);
	check_int(v.ep_wrong + v.sil_wrong + v.shift_wrong + v.out_of_range, ==, 0);
	check_int(v.silent_covered, ==, silent);
	check_int(unmarked, ==, 0);
	check(v.episodes > 0 && v.silences > 0 && v.shifts > 0);
	check_int(v.cut, >, 0);
	free(v.mark);
	pair_free(&p);
	tap_end();
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
	test_old_bytes();
	test_truth_plain();
	test_truth_silence();
	test_truth_shift();
	test_truth_both();
	hb_parser_free(P);
	return tap_done();
}
