/* hb_opt — option value parsing. */
#include "hb_opt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void hb_opt_error(const char *prog, int c, char *const argv[], char *err, size_t errsz)
{
	extern int optind, optopt;
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	const char *what = c == ':' ? "needs a value" : "is unknown";
	int len;

	if (arg[0] == '-' && arg[1] == '-') {
		len = (int)(strchr(arg, '=') ? (size_t)(strchr(arg, '=') - arg) : strlen(arg));
		snprintf(err, errsz, "option '%.*s' %s (see %s --help)", len, arg, what, prog);
	} else {
		snprintf(err, errsz, "option '-%c' %s (see %s --help)", optopt ? optopt : '?', what, prog);
	}
}

int hb_opt_input(int argc, char *const argv[], int optind_, const char **input, char *err, size_t errsz)
{
	if (argc - optind_ > 1) {
		snprintf(err, errsz, "one input file at most (got %d)", argc - optind_);
		return -1;
	}
	*input = optind_ < argc ? argv[optind_] : NULL;
	return 0;
}

const char *hb_env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}
