/* hb_opt — option value parsing. */
#include "hb_opt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int hb_opt_long(const char *opt, const char *s, long min, long max, long *out,
		char *err, size_t errsz)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end) {
		snprintf(err, errsz, "%s: not a whole number: '%s'", opt, s);
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		snprintf(err, errsz, "%s: %s is out of range %ld..%ld", opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int hb_opt_double(const char *opt, const char *s, double min, double max, double *out,
		  char *err, size_t errsz)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || !isfinite(v)) {
		snprintf(err, errsz, "%s: not a number: '%s'", opt, s);
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		snprintf(err, errsz, "%s: %s is out of range %g..%g", opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

const char *hb_env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}
