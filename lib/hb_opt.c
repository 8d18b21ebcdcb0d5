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

/* The letters that once meant two things: the meaning that won. */
static const struct {
	int letter;
	const char *means;
} hb_letters[] = {
	{'a', "--alerts"},
	{'b', "--brokers"},
	{'d', "--dbname"},
	{'m', "--metrics-ms"},
	{'n', "--customers"},
	{'r', "--retry-for"},
	{'s', "--strict"},
};

const char *hb_opt_letter_means(int letter)
{
	for (size_t i = 0; i < sizeof hb_letters / sizeof hb_letters[0]; i++)
		if (hb_letters[i].letter == letter)
			return hb_letters[i].means;
	return NULL;
}

int hb_opt_dropped(const char *prog, int c, int letter, const struct hb_opt_drop *drops,
		   char *err, size_t errsz)
{
	const char *means;

	if (c != '?' || letter <= 0 || !drops)
		return 0;
	for (; drops->letter; drops++) {
		if (drops->letter != letter)
			continue;
		means = hb_opt_letter_means(letter);
		if (means)
			snprintf(err, errsz, "-%c is not an option of %s (across hbmon -%c means %s): use %s",
				 letter, prog, letter, means, drops->use);
		else
			snprintf(err, errsz, "-%c is not an option of %s: use %s", letter, prog, drops->use);
		return 1;
	}
	return 0;
}
