/* hb_opt — option values: numbers with ranges, environment fallbacks. */
#ifndef HB_OPT_H
#define HB_OPT_H

#include <stddef.h>

/* Exit statuses shared by every program (DESIGN.md). */
enum {
	HB_EXIT_OK = 0,
	HB_EXIT_FAIL = 1,
	HB_EXIT_USAGE = 2,
	HB_EXIT_DATAERR = 65,     /* bad input under --strict */
	HB_EXIT_UNAVAILABLE = 69, /* broker or database unreachable past the retry budget */
};

/*
 * Parse s as a whole decimal integer in [min,max].  Returns 0, or -1 with a
 * one-line message in err naming the option (e.g. "--rate: not a number: x").
 */
int hb_opt_long(const char *opt, const char *s, long min, long max, long *out,
		char *err, size_t errsz);
/* The same for a real number in [min,max] (finite). */
int hb_opt_double(const char *opt, const char *s, double min, double max, double *out,
		  char *err, size_t errsz);

/*
 * The one-line complaint for a getopt_long() error, when the option string
 * starts with ':' (so getopt itself stays quiet): c is what getopt returned
 * (':' for a missing value, '?' for an unknown option).  Writes into err
 * "unknown option '--x' (see PROG --help)" or "option '-r' needs a value ...".
 */
void hb_opt_error(const char *prog, int c, char *const argv[], char *err, size_t errsz);

/* The long options every program has; ends the struct option array. */
#define HB_OPT_COMMON \
	{"quiet", no_argument, NULL, 'q'}, \
	{"verbose", no_argument, NULL, 'v'}, \
	{"help", no_argument, NULL, 'h'}, \
	{"version", no_argument, NULL, 'V'}, \
	{0, 0, 0, 0}

/*
 * The operands after the options: at most one input file (NULL: stdin).
 * Returns 0, or -1 with a one-line complaint in err.
 */
int hb_opt_input(int argc, char *const argv[], int optind_, const char **input, char *err, size_t errsz);

/* getenv(name) when set and non-empty, else def. */
const char *hb_env(const char *name, const char *def);

#endif
