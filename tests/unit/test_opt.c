/* test_opt — hb_opt: whole and real numbers in a range, getopt's complaints,
 * the input operand, environment fallbacks. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_opt.h"
#include "tap.h"

static void test_long(void)
{
	char err[200];
	long v;

	tap_begin("hb_opt_long: a number in range, bounds included");
	check_int(hb_opt_long("--count", "42", 0, 100, &v, err, sizeof err), ==, 0);
	check_int(v, ==, 42);
	check_int(hb_opt_long("--count", "0", 0, 100, &v, err, sizeof err), ==, 0);
	check_int(v, ==, 0);
	check_int(hb_opt_long("--count", "100", 0, 100, &v, err, sizeof err), ==, 0);
	check_int(v, ==, 100);
	check_int(hb_opt_long("--x", "-7", -10, 10, &v, err, sizeof err), ==, 0);
	check_int(v, ==, -7);
	tap_end();

	tap_begin("hb_opt_long: not a whole number, named, value untouched");
	v = 5;
	check_int(hb_opt_long("--count", "4x", 0, 100, &v, err, sizeof err), ==, -1);
	check_str(err, "--count: not a whole number: '4x'");
	check_int(hb_opt_long("--count", "", 0, 100, &v, err, sizeof err), ==, -1);
	check_str(err, "--count: not a whole number: ''");
	check_int(hb_opt_long("--count", "1.5", 0, 100, &v, err, sizeof err), ==, -1);
	check_str(err, "--count: not a whole number: '1.5'");
	check_int(v, ==, 5);
	tap_end();

	tap_begin("hb_opt_long: out of range, and past what a long holds");
	check_int(hb_opt_long("--count", "101", 0, 100, &v, err, sizeof err), ==, -1);
	check_str(err, "--count: 101 is out of range 0..100");
	check_int(hb_opt_long("--count", "-1", 0, 100, &v, err, sizeof err), ==, -1);
	check_str(err, "--count: -1 is out of range 0..100");
	check_int(hb_opt_long("--n", "99999999999999999999", 0, 100, &v, err, sizeof err), ==, -1);
	check_str(err, "--n: 99999999999999999999 is out of range 0..100");
	check_int(v, ==, 5);
	tap_end();
}

static void test_double(void)
{
	char err[200];
	double v;

	tap_begin("hb_opt_double: a number in range");
	check_int(hb_opt_double("--rate", "0.05", 0, 1, &v, err, sizeof err), ==, 0);
	check(v == 0.05);
	check_int(hb_opt_double("--rate", "1e0", 0, 1, &v, err, sizeof err), ==, 0);
	check(v == 1.0);
	tap_end();

	tap_begin("hb_opt_double: not a number (nan and inf are not)");
	v = 3;
	check_int(hb_opt_double("--rate", "abc", 0, 1, &v, err, sizeof err), ==, -1);
	check_str(err, "--rate: not a number: 'abc'");
	check_int(hb_opt_double("--rate", "", 0, 1, &v, err, sizeof err), ==, -1);
	check_str(err, "--rate: not a number: ''");
	check_int(hb_opt_double("--rate", "nan", 0, 1, &v, err, sizeof err), ==, -1);
	check_str(err, "--rate: not a number: 'nan'");
	check_int(hb_opt_double("--rate", "inf", 0, 1e300, &v, err, sizeof err), ==, -1);
	check_str(err, "--rate: not a number: 'inf'");
	check_int(hb_opt_double("--rate", "0.5s", 0, 1, &v, err, sizeof err), ==, -1);
	check(v == 3);
	tap_end();

	tap_begin("hb_opt_double: out of range");
	check_int(hb_opt_double("--rate", "1.5", 0, 1, &v, err, sizeof err), ==, -1);
	check_str(err, "--rate: 1.5 is out of range 0..1");
	check_int(hb_opt_double("--rate", "-0.1", 0, 1, &v, err, sizeof err), ==, -1);
	check_str(err, "--rate: -0.1 is out of range 0..1");
	tap_end();
}

/* getopt_long over argv as a program runs it (':' first: getopt stays quiet). */
static int run_getopt(int argc, char **argv)
{
	static const struct option lo[] = {
		{"rate", required_argument, NULL, 'r'},
		HB_OPT_COMMON
	};
	int c;

	optind = 0;	/* glibc: start afresh */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:qvhV", lo, NULL)) != -1)
		if (c == ':' || c == '?')
			return c;
	return 0;
}

static void test_error(void)
{
	char err[200];

	tap_begin("hb_opt_error: an unknown long option, without its =value");
	{
		char *argv[] = {"prog", "-q", "--bogus=3", NULL};
		int c = run_getopt(3, argv);

		check_int(c, ==, '?');
		hb_opt_error("prog", c, argv, err, sizeof err);
		check_str(err, "option '--bogus' is unknown (see prog --help)");
	}
	tap_end();

	tap_begin("hb_opt_error: an unknown short option");
	{
		char *argv[] = {"prog", "-z", NULL};
		int c = run_getopt(2, argv);

		hb_opt_error("prog", c, argv, err, sizeof err);
		check_str(err, "option '-z' is unknown (see prog --help)");
	}
	tap_end();

	tap_begin("hb_opt_error: a value missing, short and long");
	{
		char *argv[] = {"prog", "-r", NULL};
		int c = run_getopt(2, argv);

		check_int(c, ==, ':');
		hb_opt_error("prog", c, argv, err, sizeof err);
		check_str(err, "option '-r' needs a value (see prog --help)");
	}
	{
		char *argv[] = {"prog", "--rate", NULL};
		int c = run_getopt(2, argv);

		check_int(c, ==, ':');
		hb_opt_error("prog", c, argv, err, sizeof err);
		check_str(err, "option '--rate' needs a value (see prog --help)");
	}
	tap_end();
}

static void test_input_env(void)
{
	char err[200];
	const char *in = "unset";

	tap_begin("hb_opt_input: none is stdin, one is the file, two are refused");
	{
		char *argv[] = {"prog", "-q", "a.ndjson", "b.ndjson", NULL};

		check_int(hb_opt_input(2, argv, 2, &in, err, sizeof err), ==, 0);
		check(in == NULL);
		check_int(hb_opt_input(3, argv, 2, &in, err, sizeof err), ==, 0);
		check_str(in, "a.ndjson");
		check_int(hb_opt_input(4, argv, 2, &in, err, sizeof err), ==, -1);
		check_str(err, "one input file at most (got 2)");
	}
	tap_end();

	tap_begin("hb_env: set and non-empty wins, else the default");
	unsetenv("HB_TEST_OPT_ENV");
	check_str(hb_env("HB_TEST_OPT_ENV", "def"), "def");
	setenv("HB_TEST_OPT_ENV", "", 1);
	check_str(hb_env("HB_TEST_OPT_ENV", "def"), "def");
	setenv("HB_TEST_OPT_ENV", "v", 1);
	check_str(hb_env("HB_TEST_OPT_ENV", "def"), "v");
	check(hb_env("HB_TEST_OPT_UNSET_XYZ", NULL) == NULL);
	tap_end();
}

int main(void)
{
	test_long();
	test_double();
	test_error();
	test_input_env();
	return tap_done();
}
