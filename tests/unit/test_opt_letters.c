/* test_opt_letters — hb_opt_dropped: a short letter that means something else
 * across hbmon is refused with one line saying what to type instead; and the
 * getopt_long() behaviour it relies on (c '?' with optopt the letter, also
 * inside a cluster such as -qr). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "hb_opt.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct hb_opt_drop sim_drops[] = {
	{'r', "--rate"}, {'d', "--duration"}, {'s', "--seed"}, {'a', "--anomaly-rate"}, {0, NULL},
};

static void test_hint(void)
{
	static const struct {
		int letter;
		const char *want;
	} cases[] = {
		{'r', "-r is not an option of hbsim (across hbmon -r means --retry-for): use --rate"},
		{'d', "-d is not an option of hbsim (across hbmon -d means --dbname): use --duration"},
		{'s', "-s is not an option of hbsim (across hbmon -s means --strict): use --seed"},
		{'a', "-a is not an option of hbsim (across hbmon -a means --alerts): use --anomaly-rate"},
	};
	char err[256];

	for (size_t i = 0; i < NELEM(cases); i++) {
		tap_begin("dropped: hbsim -%c says what to type instead", cases[i].letter);
		strcpy(err, "untouched");
		check_int(hb_opt_dropped("hbsim", '?', cases[i].letter, sim_drops, err, sizeof err), ==, 1);
		check_str(err, cases[i].want);
		tap_end();
	}
}

static void test_not_dropped(void)
{
	char err[64];

	tap_begin("dropped: a letter the program never had is left to hb_opt_error");
	strcpy(err, "untouched");
	check_int(hb_opt_dropped("hbsim", '?', 'x', sim_drops, err, sizeof err), ==, 0);
	check_int(hb_opt_dropped("hbsim", '?', 'b', sim_drops, err, sizeof err), ==, 0);
	check_str(err, "untouched");
	tap_end();

	tap_begin("dropped: a missing value (':') is not a dropped letter");
	check_int(hb_opt_dropped("hbsim", ':', 'r', sim_drops, err, sizeof err), ==, 0);
	check_str(err, "untouched");
	tap_end();

	tap_begin("dropped: an unknown long option (optopt 0) and no table");
	check_int(hb_opt_dropped("hbsim", '?', 0, sim_drops, err, sizeof err), ==, 0);
	check_int(hb_opt_dropped("hbsim", '?', 'r', NULL, err, sizeof err), ==, 0);
	check_str(err, "untouched");
	tap_end();
}

static void test_meaning(void)
{
	static const struct hb_opt_drop odd[] = { {'z', "--zed"}, {0, NULL} };
	char err[16];
	char full[64];

	tap_begin("meaning: the letters that clashed, and only those");
	check_str(hb_opt_letter_means('b'), "--brokers");
	check_str(hb_opt_letter_means('n'), "--customers");
	check_str(hb_opt_letter_means('m'), "--metrics-ms");
	check(hb_opt_letter_means('t') == NULL);
	check(hb_opt_letter_means(0) == NULL);
	tap_end();

	tap_begin("dropped: a letter with no hbmon-wide meaning still gets the hint");
	check_int(hb_opt_dropped("hbx", '?', 'z', odd, full, sizeof full), ==, 1);
	check_str(full, "-z is not an option of hbx: use --zed");
	tap_end();

	tap_begin("dropped: a short buffer is cut, still terminated");
	check_int(hb_opt_dropped("hbsim", '?', 'r', sim_drops, err, sizeof err), ==, 1);
	check_int(strlen(err), ==, sizeof err - 1);
	check_str(err, "-r is not an op");
	tap_end();
}

/* The program's side: getopt_long() as the main.c files call it. */
static int first_bad(int argc, char **argv, int *letter)
{
	static const struct option lo[] = {
		{"rate", required_argument, NULL, 256},
		{"count", required_argument, NULL, 'c'},
		{"quiet", no_argument, NULL, 'q'},
		{0, 0, 0, 0},
	};
	int c;

	optind = 0;	/* glibc: start again, from scratch */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:q", lo, NULL)) != -1) {
		if (c == '?' || c == ':') {
			*letter = optopt;
			return c;
		}
	}
	return -1;
}

static void test_getopt(void)
{
	char a0[] = "hbsim", a1[] = "-r", a2[] = "5", q[] = "-qr", cl[] = "-c", n[] = "3";
	char glued[] = "-r5", lng[] = "--quiet=1", miss[] = "--rate";
	char *v1[] = { a0, a1, a2, NULL };
	char *v2[] = { a0, cl, n, q, a2, NULL };
	char *v3[] = { a0, glued, NULL };
	char *v4[] = { a0, lng, NULL };
	char *v5[] = { a0, miss, NULL };
	char err[128];
	int letter = -1;

	tap_begin("getopt: -r 5 is '?' with optopt 'r'");
	check_int(first_bad(3, v1, &letter), ==, '?');
	check_int(letter, ==, 'r');
	check_int(hb_opt_dropped("hbsim", '?', letter, sim_drops, err, sizeof err), ==, 1);
	tap_end();

	tap_begin("getopt: -c 3 -qr 5, r inside a cluster");
	letter = -1;
	check_int(first_bad(5, v2, &letter), ==, '?');
	check_int(letter, ==, 'r');
	tap_end();

	tap_begin("getopt: -r5, the value glued on");
	letter = -1;
	check_int(first_bad(2, v3, &letter), ==, '?');
	check_int(letter, ==, 'r');
	tap_end();

	tap_begin("getopt: --quiet=1 is '?' with optopt its val (why drops must not be such vals)");
	letter = -1;
	check_int(first_bad(2, v4, &letter), ==, '?');
	check_int(letter, ==, 'q');
	tap_end();

	tap_begin("getopt: --rate without a value is ':', not a dropped letter");
	letter = -1;
	check_int(first_bad(2, v5, &letter), ==, ':');
	check_int(hb_opt_dropped("hbsim", ':', letter, sim_drops, err, sizeof err), ==, 0);
	tap_end();
}

int main(void)
{
	test_hint();
	test_not_dropped();
	test_meaning();
	test_getopt();
	return tap_done();
}
