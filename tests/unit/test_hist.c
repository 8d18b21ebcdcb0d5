/* test_hist — hb_hist: quantiles of known distributions within 4%. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_hist.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const double qs[] = {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0};

static uint64_t rnd(uint64_t *st)
{
	uint64_t z = (*st += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double uni(uint64_t *st)
{
	return (double)(rnd(st) >> 11) * 0x1.0p-53;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Fill a histogram with v[0..n), then compare each quantile with the exact
 * order statistic (the element at floor(q n), the last for q = 1): within
 * 4% relative, or exactly for values below 64.  Returns the failures.
 */
static int compare(const char *name, uint64_t *v, size_t n)
{
	static struct hb_hist h;
	int bad = 0;

	hb_hist_reset(&h);
	for (size_t i = 0; i < n; i++)
		hb_hist_add(&h, (int64_t)v[i]);
	qsort(v, n, sizeof *v, cmp_u64);
	check_int(h.n, ==, n);
	check(h.max == v[n - 1]);
	for (size_t k = 0; k < NELEM(qs); k++) {
		size_t idx = (size_t)(qs[k] * (double)n);
		uint64_t want = v[idx < n ? idx : n - 1], got = hb_hist_quantile(&h, qs[k]);
		double err = want ? fabs((double)got - (double)want) / (double)want : (double)got;

		if ((want < 64 && got != want) || err > 0.04) {
			bad++;
			printf("#   %s q=%.3f: want %llu got %llu (%.2f%%)\n", name, qs[k],
			       (unsigned long long)want, (unsigned long long)got, err * 100);
		}
		if (got > h.max)
			bad++;
	}
	check_int(bad, ==, 0);
	return bad;
}

static void test_distributions(void)
{
	const size_t n = 200000;
	uint64_t *v = malloc(n * sizeof *v);
	uint64_t st = 1;

	if (!v)
		abort();

	tap_begin("hb_hist: uniform 1..200000 (every value once)");
	for (size_t i = 0; i < n; i++)
		v[i] = i + 1;
	compare("uniform", v, n);
	tap_end();

	tap_begin("hb_hist: small values 0..63, exact");
	for (size_t i = 0; i < 6400; i++)
		v[i] = i % 64;
	compare("small", v, 6400);
	tap_end();

	tap_begin("hb_hist: constant 12345");
	for (size_t i = 0; i < 1000; i++)
		v[i] = 12345;
	compare("constant", v, 1000);
	tap_end();

	tap_begin("hb_hist: a single value 7 and a single value 1000000007");
	v[0] = 7;
	compare("single small", v, 1);
	v[0] = 1000000007;
	compare("single large", v, 1);
	tap_end();

	tap_begin("hb_hist: log-normal (latencies in us, median ~ 22000)");
	for (size_t i = 0; i < n; i++) {
		double g = sqrt(-2 * log(1 - uni(&st))) * cos(2 * M_PI * uni(&st));

		v[i] = (uint64_t)exp(10 + 2 * g);
	}
	compare("lognormal", v, n);
	tap_end();

	tap_begin("hb_hist: exponential, mean 5000");
	for (size_t i = 0; i < n; i++)
		v[i] = (uint64_t)(-5000 * log(1 - uni(&st)));
	compare("exponential", v, n);
	tap_end();

	tap_begin("hb_hist: uniform over 1..2^62");
	for (size_t i = 0; i < n; i++)
		v[i] = 1 + rnd(&st) % (1ULL << 62);
	compare("wide", v, n);
	tap_end();

	tap_begin("hb_hist: bimodal 100 and 100000 (90/10)");
	for (size_t i = 0; i < n; i++)
		v[i] = i % 10 == 0 ? 100000 + rnd(&st) % 100 : 100 + rnd(&st) % 3;
	compare("bimodal", v, n);
	tap_end();

	tap_begin("hb_hist: powers of two 2^0..2^62");
	for (size_t i = 0; i < 63; i++)
		v[i] = 1ULL << i;
	compare("powers", v, 63);
	tap_end();

	tap_begin("hb_hist: INT64_MAX");
	for (size_t i = 0; i < 10; i++)
		v[i] = (uint64_t)INT64_MAX - i;
	compare("int64 max", v, 10);
	tap_end();
	free(v);
}

static void test_edges(void)
{
	static struct hb_hist h, a, b, all;
	uint64_t st = 3;
	int bad = 0;

	tap_begin("hb_hist: empty gives 0 for every quantile");
	hb_hist_reset(&h);
	for (size_t k = 0; k < NELEM(qs); k++)
		check_int(hb_hist_quantile(&h, qs[k]), ==, 0);
	tap_end();

	tap_begin("hb_hist: negative values count as 0");
	hb_hist_add(&h, -5);
	hb_hist_add(&h, INT64_MIN);
	check_int(h.n, ==, 2);
	check_int(h.max, ==, 0);
	check_int(hb_hist_quantile(&h, 0.5), ==, 0);
	check_int(hb_hist_quantile(&h, 1.0), ==, 0);
	tap_end();

	tap_begin("hb_hist: merge equals adding everything to one");
	hb_hist_reset(&a);
	hb_hist_reset(&b);
	hb_hist_reset(&all);
	for (int i = 0; i < 50000; i++) {
		int64_t x = (int64_t)(rnd(&st) % 1000000);

		hb_hist_add(i % 3 ? &a : &b, x);
		hb_hist_add(&all, x);
	}
	hb_hist_merge(&a, &b);
	check_int(a.n, ==, all.n);
	check(a.max == all.max);
	check(memcmp(a.b, all.b, sizeof a.b) == 0);
	for (size_t k = 0; k < NELEM(qs); k++)
		bad += hb_hist_quantile(&a, qs[k]) != hb_hist_quantile(&all, qs[k]);
	check_int(bad, ==, 0);
	tap_end();

	tap_begin("hb_hist: quantiles are monotonic in q");
	bad = 0;
	for (double q = 0, prev = 0; q <= 1.0; q += 0.001) {
		double x = (double)hb_hist_quantile(&all, q);

		bad += x < prev;
		prev = x;
	}
	check_int(bad, ==, 0);
	tap_end();

	tap_begin("hb_hist: reset empties it");
	hb_hist_reset(&all);
	check_int(all.n, ==, 0);
	check_int(all.max, ==, 0);
	check_int(hb_hist_quantile(&all, 0.5), ==, 0);
	tap_end();
}

int main(void)
{
	test_distributions();
	test_edges();
	return tap_done();
}
