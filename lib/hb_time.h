/* hb_time — RFC 3339 timestamps to and from microseconds since the Unix epoch. */
#ifndef HB_TIME_H
#define HB_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Longest string hb_time_format() writes, with its NUL. */
#define HB_TIME_MAX 32

/*
 * Parse an RFC 3339 date-time: YYYY-MM-DD, 'T' (or 't' or one space),
 * hh:mm:ss, an optional fraction of any number of digits, and a zone: 'Z',
 * 'z' or +hh:mm / -hh:mm.  The fraction is rounded to microseconds exactly
 * as PostgreSQL rounds it (strtod, then rint(frac * 1000000): .0000005 is
 * 0 µs, .0000015 is 2 µs), carrying into the next second, minute, day...
 * Calendar checks are real (2026-02-29 is refused, 2024-02-29 is not).
 * Years 0001-9999, also as the rounded instant in UTC.  A leap second (:60)
 * is refused: PostgreSQL would fold it into the next minute and two readings
 * could then collide.
 *
 * On success stores microseconds since 1970-01-01T00:00:00Z in *us and
 * returns 0.  On failure returns -1 and writes a short reason (no position,
 * no trailing newline) into err.  s need not be NUL-terminated.
 */
int hb_time_parse(const char *s, size_t n, int64_t *us, char *err, size_t errsz);

/* hb_time_parse_opt flags: a timestamp without a zone is read as UTC. */
#define HB_TIME_ASSUME_UTC 1u

/*
 * hb_time_parse with flags.  Returns 0 (a zone was given), 1 (none was, and
 * HB_TIME_ASSUME_UTC read it as UTC) or -1 (err says why).
 */
int hb_time_parse_opt(const char *s, size_t n, unsigned flags, int64_t *us, char *err,
		      size_t errsz);

/*
 * Format us as UTC with 'Z': milliseconds when the value is a whole number of
 * them (2026-11-23T10:00:00.500Z), else microseconds.  buf holds at least
 * HB_TIME_MAX bytes.  Returns the length written (without the NUL).
 */
size_t hb_time_format(int64_t us, char *buf);

/* Wall clock and monotonic clock in microseconds. */
int64_t hb_time_now_us(void);
int64_t hb_time_mono_us(void);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t hb_days_from_civil(int64_t y, unsigned m, unsigned d);
void hb_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
