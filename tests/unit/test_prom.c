/* test_prom — hb_prom: the Prometheus text format (families, samples with
 * the process labels, values, histograms, label quoting) and the atomic
 * write.  The warning path of hb_prom_flush is not tested here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hb_prom.h"
#include "tap.h"

/* The exposition so far, as a C string. */
static const char *text(struct hb_prom *p)
{
	hb_buf_putc(&p->b, '\0');
	p->b.len--;
	return p->b.p;
}

static void test_format(void)
{
	struct hb_prom p = {0};

	tap_begin("hb_prom: a family with one sample, no labels");
	hb_prom_begin(&p, "");
	hb_prom_one(&p, "hbmon_x_total", "counter", "Things counted.", 123);
	check_str(text(&p), "# HELP hbmon_x_total Things counted.\n# TYPE hbmon_x_total counter\nhbmon_x_total 123\n");
	tap_end();

	tap_begin("hb_prom: the process labels on every sample, then the extra ones");
	hb_prom_begin(&p, "hbmon_instance=\"h:1\"");
	hb_prom_family(&p, "hbmon_rows_total", "counter", "Rows.");
	hb_prom_sample(&p, "hbmon_rows_total", "status=\"NORMAL\"", 7);
	hb_prom_sample(&p, "hbmon_rows_total", "", 8);
	hb_prom_sample(&p, "hbmon_rows_total", NULL, 9);
	check_str(text(&p), "# HELP hbmon_rows_total Rows.\n# TYPE hbmon_rows_total counter\n"
			    "hbmon_rows_total{hbmon_instance=\"h:1\",status=\"NORMAL\"} 7\n"
			    "hbmon_rows_total{hbmon_instance=\"h:1\"} 8\n"
			    "hbmon_rows_total{hbmon_instance=\"h:1\"} 9\n");
	tap_end();

	tap_begin("hb_prom: begin starts afresh; only extra labels");
	hb_prom_begin(&p, NULL);
	hb_prom_sample(&p, "m", "a=\"b\"", 1);
	check_str(text(&p), "m{a=\"b\"} 1\n");
	tap_end();

	tap_begin("hb_prom: values: integers exact, the rest with 15 digits");
	hb_prom_begin(&p, "");
	hb_prom_sample(&p, "a", "", 0);
	hb_prom_sample(&p, "b", "", -3);
	hb_prom_sample(&p, "c", "", 0.25);
	hb_prom_sample(&p, "d", "", 1e16);
	hb_prom_sample(&p, "e", "", 8999999999999999.0);
	hb_prom_sample(&p, "f", "", 1.0 / 3);
	check_str(text(&p), "a 0\nb -3\nc 0.25\nd 1e+16\ne 8999999999999999\nf 0.333333333333333\n");
	tap_end();

	hb_prom_release(&p);
}

static void test_histogram(void)
{
	struct hb_prom p = {0};
	struct hb_hist *h = calloc(1, sizeof *h);
	static const double le[] = {0.001, 0.1};

	if (!h)
		abort();
	hb_hist_add(h, 500);		/* 0.5 ms */
	hb_hist_add(h, 50000);		/* 50 ms */
	hb_hist_add(h, 2000000);	/* 2 s */
	tap_begin("hb_prom_histogram_us: cumulative buckets in seconds, +Inf, sum, count");
	hb_prom_begin(&p, "i=\"1\"");
	hb_prom_histogram_us(&p, "hbmon_lat_seconds", "Latency.", h, le, 2);
	check_str(text(&p), "# HELP hbmon_lat_seconds Latency.\n# TYPE hbmon_lat_seconds histogram\n"
			    "hbmon_lat_seconds_bucket{i=\"1\",le=\"0.001\"} 1\n"
			    "hbmon_lat_seconds_bucket{i=\"1\",le=\"0.1\"} 2\n"
			    "hbmon_lat_seconds_bucket{i=\"1\",le=\"+Inf\"} 3\n"
			    "hbmon_lat_seconds_sum{i=\"1\"} 2.0505\n"
			    "hbmon_lat_seconds_count{i=\"1\"} 3\n");
	tap_end();
	hb_prom_release(&p);
	free(h);
}

static void test_label(void)
{
	char d[64];

	tap_begin("hb_prom_label: backslash, quote and newline escaped");
	hb_prom_label(d, sizeof d, "instance", "a\\b\"c\nd");
	check_str(d, "instance=\"a\\\\b\\\"c\\nd\"");
	hb_prom_label(d, sizeof d, "x", "");
	check_str(d, "x=\"\"");
	tap_end();

	tap_begin("hb_prom_label: cut to fit, still closed with a quote");
	for (size_t dn = 5; dn <= 16; dn++) {
		char s[16];

		memset(s, '#', sizeof s);
		hb_prom_label(s, dn, "x", "abcdefghijklmnop");
		check_int(strlen(s), <=, dn - 1);
		check(s[strlen(s) - 1] == '"');
		check(strncmp(s, "x=\"", 3) == 0);
		check(memcmp(s + 3, "abcdefghijklmnop", strlen(s) - 4) == 0);	/* a prefix of the value */
	}
	hb_prom_label(d, 3, "longname", "v");	/* the name itself does not fit */
	check_str(d, "");
	tap_end();
}

static void test_write(void)
{
	struct hb_prom p = {0};
	char dir[] = "/tmp/hb-test-prom.XXXXXX", path[200], err[300], got[300];
	FILE *f;
	size_t n;
	struct stat st;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/x.prom", dir);
	hb_prom_begin(&p, "");
	hb_prom_one(&p, "m", "gauge", "M.", 5);

	tap_begin("hb_prom_write: the whole exposition, no temp file left");
	check_int(hb_prom_write(&p, path, err, sizeof err), ==, 0);
	f = fopen(path, "r");
	check(f != NULL);
	n = f ? fread(got, 1, sizeof got - 1, f) : 0;
	got[n] = '\0';
	if (f)
		fclose(f);
	check_str(got, "# HELP m M.\n# TYPE m gauge\nm 5\n");
	snprintf(got, sizeof got, "%s.tmp-%ld", path, (long)getpid());
	check(stat(got, &st) < 0);
	tap_end();

	tap_begin("hb_prom_write: a directory that is not there: -1 and why");
	snprintf(path, sizeof path, "%s/no/such/x.prom", dir);
	check_int(hb_prom_write(&p, path, err, sizeof err), ==, -1);
	check(strncmp(err, "cannot create ", 14) == 0);
	check(strstr(err, "No such file or directory") != NULL);
	tap_end();

	snprintf(path, sizeof path, "%s/x.prom", dir);
	unlink(path);
	rmdir(dir);
	hb_prom_release(&p);
}

int main(void)
{
	test_format();
	test_histogram();
	test_label();
	test_write();
	return tap_done();
}
