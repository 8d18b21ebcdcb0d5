/* hb_time — RFC 3339 parsing and formatting with real calendar checks. */
#include "hb_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t hb_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void hb_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned char dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Read exactly k digits at s[*i]; returns -1 if any is not a digit. */
static int digits(const char *s, size_t n, size_t *i, int k, int *out)
{
	int v = 0;

	if (*i + (size_t)k > n)
		return -1;
	for (int j = 0; j < k; j++) {
		unsigned char c = (unsigned char)s[*i + (size_t)j];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*i += (size_t)k;
	*out = v;
	return 0;
}

static int expect(const char *s, size_t n, size_t *i, char c)
{
	if (*i >= n || s[*i] != c)
		return -1;
	(*i)++;
	return 0;
}

#define FAIL(...) do { snprintf(err, errsz, __VA_ARGS__); return -1; } while (0)

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since the epoch. */
#define HB_TIME_MIN_S (-62135596800LL)
#define HB_TIME_MAX_S (253402300799LL)

static const char *const month_name[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};

/*
 * The fraction s[0..n) ('.' and at least one digit) in microseconds, rounded
 * as PostgreSQL rounds it (ParseFractionalSecond: strtod, then
 * rint(frac * 1000000), so ties go to even on the double's value): 0 to
 * 1000000, the caller carries the last into the next second.
 *
 * Up to 6 digits the value is exact in integers (the double product is
 * within 1e-10 of the integer, so rint gives the same).  Beyond, strtod
 * sees at most 100 digits and, when more follow, a sticky '1' for any
 * non-zero ones: a fraction of 1e-7 or more has its doubles' midpoints at
 * fewer than 100 decimals, so the double is the one all the digits give
 * (and one below 1e-7 rounds to 0 either way).
 */
static int64_t fraction_us(const char *s, size_t n)
{
	char buf[104];
	size_t k = n - 1, take = k < 100 ? k : 100;
	int64_t v = 0;

	if (k <= 6) {
		for (size_t j = 1; j < n; j++)
			v = v * 10 + (s[j] - '0');
		for (size_t j = k; j < 6; j++)
			v *= 10;
		return v;
	}
	memcpy(buf, s, take + 1);
	for (size_t j = take + 1; j < n; j++) {
		if (s[j] != '0') {
			buf[++take] = '1';
			break;
		}
	}
	buf[take + 1] = '\0';
	return (int64_t)rint(strtod(buf, NULL) * 1000000);
}

int hb_time_parse(const char *s, size_t n, int64_t *us, char *err, size_t errsz)
{
	return hb_time_parse_opt(s, n, 0, us, err, errsz) < 0 ? -1 : 0;
}

int hb_time_parse_opt(const char *s, size_t n, unsigned flags, int64_t *us, char *err,
		      size_t errsz)
{
	size_t i = 0;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, zoneless = 0;
	int64_t frac = 0, t;

	if (n == 0)
		FAIL("empty timestamp");
	if (digits(s, n, &i, 4, &y) || expect(s, n, &i, '-') ||
	    digits(s, n, &i, 2, &mo) || expect(s, n, &i, '-') ||
	    digits(s, n, &i, 2, &d))
		FAIL("not an RFC 3339 date (want YYYY-MM-DD) at character %zu", i + 1);
	if (i >= n || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
		FAIL("want 'T' between date and time at character %zu", i + 1);
	i++;
	if (digits(s, n, &i, 2, &h) || expect(s, n, &i, ':') ||
	    digits(s, n, &i, 2, &mi) || expect(s, n, &i, ':') ||
	    digits(s, n, &i, 2, &sec))
		FAIL("not an RFC 3339 time (want hh:mm:ss) at character %zu", i + 1);
	if (i < n && s[i] == '.') {
		size_t dot = i++;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == dot + 1)
			FAIL("empty fraction after '.' at character %zu", i + 1);
		frac = fraction_us(s + dot, i - dot);
	}
	if (i >= n && (flags & HB_TIME_ASSUME_UTC)) {
		zoneless = 1;
	} else if (i >= n) {
		FAIL("missing zone (want 'Z' or +hh:mm; hbclassify --assume-utc reads it as UTC)");
	} else if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i++] == '-' ? -1 : 1;
		if (digits(s, n, &i, 2, &oh) || expect(s, n, &i, ':') ||
		    digits(s, n, &i, 2, &om))
			FAIL("bad zone offset (want +hh:mm) at character %zu", i + 1);
		if (oh > 23 || om > 59)
			FAIL("zone offset %c%02d:%02d out of range", sign < 0 ? '-' : '+', oh, om);
	} else {
		FAIL("bad zone at character %zu (want 'Z' or +hh:mm)", i + 1);
	}
	if (i != n)
		FAIL("trailing characters after the zone at character %zu", i + 1);
	if (y < 1)
		FAIL("year 0000 is out of range (0001-9999)");
	if (mo < 1 || mo > 12)
		FAIL("month %02d out of range", mo);
	if (d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo))
		FAIL("day %02d out of range for %s %04d", d, month_name[mo - 1], y);
	if (h > 23)
		FAIL("hour %02d out of range", h);
	if (mi > 59)
		FAIL("minute %02d out of range", mi);
	if (sec == 60)
		FAIL("leap second :60 is not supported");
	if (sec > 59)
		FAIL("second %02d out of range", sec);

	t = hb_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
	/* The instant, in UTC, must be in 0001..9999 too (found by fuzzing:
	 * 0001-01-01T00:00:00+23:59 is in year 0 in UTC, and could not be
	 * written back as RFC 3339), also after rounding the fraction
	 * (9999-12-31T23:59:59.9999996Z is year 10000). */
	if (t < HB_TIME_MIN_S || t * 1000000 + frac > HB_TIME_MAX_S * 1000000 + 999999)
		FAIL("the instant is outside years 0001-9999 in UTC");
	*us = t * 1000000 + frac;
	return zoneless;
}

size_t hb_time_format(int64_t us, char *buf)
{
	/* Floor division, never negating: INT64_MIN must not overflow. */
	int64_t secs = us / 1000000, frac = us % 1000000, days, sod, y;
	unsigned m, d;
	int len;

	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	hb_civil_from_days(days, &y, &m, &d);
	if (frac % 1000 == 0)
		len = snprintf(buf, HB_TIME_MAX, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
			       (long long)y, m, d, (int)(sod / 3600), (int)(sod / 60 % 60),
			       (int)(sod % 60), (int)(frac / 1000));
	else
		len = snprintf(buf, HB_TIME_MAX, "%04lld-%02u-%02uT%02d:%02d:%02d.%06dZ",
			       (long long)y, m, d, (int)(sod / 3600), (int)(sod / 60 % 60),
			       (int)(sod % 60), (int)frac);
	return len < 0 ? 0 : (size_t)len;
}

int64_t hb_time_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t hb_time_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
