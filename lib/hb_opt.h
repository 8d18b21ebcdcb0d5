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

/*
 * One meaning per short letter across hbmon (hbsim, hbkafka-pub, hbkafka-sub,
 * hbclassify, hbpgload; kcat's and psql's letters win).  A program that once
 * used a letter for something else no longer takes it, and says what to type
 * instead.  drops: the letters this program refuses, each with the long option
 * that does the job here; ended by {0, NULL}.
 */
struct hb_opt_drop {
	int letter;
	const char *use;
};

/*
 * After getopt_long() returned c for the short letter optopt: when c is '?'
 * (unknown) and the letter is one of drops, write into err the one line
 *   "-r is not an option of hbsim (across hbmon -r means --retry-for): use --rate"
 * and return 1; else return 0 and leave err alone (then hb_opt_error() speaks).
 * None of drops may be the val of a no_argument long option: getopt reports
 * "--flag=x" as '?' with optopt set to that val.
 */
int hb_opt_dropped(const char *prog, int c, int letter, const struct hb_opt_drop *drops,
		   char *err, size_t errsz);

/* What a letter that once clashed means across hbmon ("--retry-for"), else NULL. */
const char *hb_opt_letter_means(int letter);

#endif
