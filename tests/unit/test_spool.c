/* test_spool — hbkafka-pub's spool: appends, segments cut after newlines,
 * lines read back across segments, the mark saved and segments removed, a
 * line cut by a kill, and the refusals. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb_prefix.h"
#include "hb_spool.h"
#include "tap.h"

static char dir[] = "/tmp/hb_test_spool_XXXXXX";
static char spool[300];

static struct hb_spool *open_spool(const char *topic, uint64_t seg, struct hb_spool_info *info,
				   enum hb_spool_rc *rc)
{
	struct hb_spool_opts o = { .max_bytes = 1 << 20, .sync_us = 0, .segment_bytes = seg, .max_line = 16 };
	char err[1200];

	return hb_spool_open(spool, topic, &o, info, rc, err, sizeof err);
}

static int segments(void)
{
	DIR *d = opendir(spool);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL)
		n += strstr(e->d_name, ".seg") != NULL;
	if (d)
		closedir(d);
	return n;
}

static void append(struct hb_spool *s, const char *text)
{
	char err[1200];
	size_t taken;

	check_int(hb_spool_append(s, text, strlen(text), 0, &taken, err, sizeof err), ==, 0);
	check_int(taken, ==, strlen(text));
}

/* The next line must be want (NULL: no whole line now). */
static void next_is(struct hb_spool *s, const char *want, uint64_t no)
{
	struct hb_line ln;
	enum hb_rd k = hb_spool_next(s, &ln);

	if (!want) {
		check_int(k, ==, HB_RD_TIMEOUT);
		return;
	}
	if (check_int(k, ==, HB_RD_LINE)) {
		check_mem(ln.p, ln.len, want, strlen(want));
		check_int(ln.no, ==, no);
	}
}

static void test_roundtrip(void)
{
	struct hb_spool_info info;
	enum hb_spool_rc rc;
	struct hb_spool *s = open_spool("t1", 10, &info, &rc);
	struct hb_line ln;
	char err[1200];

	tap_begin("lines come back whole and in order, across segments cut after newlines");
	if (!check(s != NULL)) {
		tap_end();
		return;
	}
	check_int(info.mark, ==, 0);
	append(s, "one\ntwo\nthr");
	next_is(s, "one", 1);
	next_is(s, "two", 2);
	next_is(s, NULL, 0);	/* "thr" is not whole yet */
	append(s, "ee\nfour\nfive\nsix\n");
	next_is(s, "three", 3);
	next_is(s, "four", 4);
	next_is(s, "five", 5);
	next_is(s, "six", 6);
	next_is(s, NULL, 0);
	check_int(segments(), >=, 2);
	append(s, "0123456789abcdefXYZ\n");	/* longer than max_line 16 */
	check_int(hb_spool_next(s, &ln), ==, HB_RD_LINE);
	check_int(ln.len, ==, 16);
	check_int(ln.true_len, ==, 19);
	check_int(ln.end, ==, hb_spool_end(s));
	tap_end();

	tap_begin("the mark saved removes the segments before it; a run after goes on there");
	for (uint64_t k = 1; k <= 7; k++)
		check_int(hb_prefix_read(hb_spool_prefix(s), k, k <= 6 ? (uint64_t[]){4, 8, 14, 19, 24, 28}[k - 1] : hb_spool_end(s)), ==, 0);
	for (uint64_t k = 1; k <= 4; k++)
		hb_prefix_settled(hb_spool_prefix(s), k);
	check_int(hb_spool_save(s, 0, 1, err, sizeof err), ==, 1);
	append(s, "seven\nhalf");	/* the run dies with "half" cut */
	hb_spool_free(s);
	s = open_spool("t1", 10, &info, &rc);
	check(s != NULL);
	check_int(info.mark, ==, 19);
	check_int(info.mark_line, ==, 4);
	check_int(info.dropped, ==, 4);
	if (s) {
		next_is(s, "five", 5);
		next_is(s, "six", 6);
		check_int(hb_spool_next(s, &ln), ==, HB_RD_LINE);
		next_is(s, "seven", 8);
		next_is(s, NULL, 0);
		check_int(hb_spool_close_input(s, err, sizeof err), ==, 0);
		check_int(hb_spool_next(s, &ln), ==, HB_RD_EOF);
	}
	tap_end();

	tap_begin("another topic is refused, and a second publisher while the first holds it");
	{
		struct hb_spool *t = open_spool("t1", 10, &info, &rc);

		check(t == NULL);
		check_int(rc, ==, HB_SPOOL_BUSY);
		hb_spool_free(t);
	}
	hb_spool_free(s);
	s = open_spool("t2", 10, &info, &rc);
	check(s == NULL);
	check_int(rc, ==, HB_SPOOL_WRONG);
	tap_end();
}

static void test_all_delivered(void)
{
	struct hb_spool_info info;
	enum hb_spool_rc rc;
	struct hb_spool *s;
	char err[1200];
	struct hb_line ln;
	uint64_t n = 0;

	tap_begin("everything delivered: no segment left; the input's last line gets its newline");
	snprintf(spool, sizeof spool, "%s/spool2", dir);
	s = open_spool("t1", 10, &info, &rc);
	if (!check(s != NULL)) {
		tap_end();
		return;
	}
	append(s, "a\nb\nlast");
	check_int(hb_spool_close_input(s, err, sizeof err), ==, 0);
	while (hb_spool_next(s, &ln) == HB_RD_LINE) {
		check_int(hb_prefix_read(hb_spool_prefix(s), ln.no, ln.end), ==, 0);
		hb_prefix_settled(hb_spool_prefix(s), ln.no);
		n++;
	}
	check_int(n, ==, 3);
	/* saved when due, then once more at the end with nothing new */
	check_int(hb_spool_save(s, 1000000, 0, err, sizeof err), ==, 1);
	check_int(segments(), ==, 1);
	check_int(hb_spool_save(s, 1000000, 1, err, sizeof err), ==, 0);
	check_int(segments(), ==, 0);
	hb_spool_free(s);
	tap_end();
}

static void test_full_and_crash(void)
{
	struct hb_spool_opts o = { .max_bytes = 64, .sync_us = 1000000, .max_line = 16 };
	struct hb_spool_info info;
	enum hb_spool_rc rc;
	char err[1200], path[400];
	struct hb_spool *s;
	struct hb_line ln;
	int fd;

	tap_begin("full counts only what waits for delivery, and lets a line finish");
	snprintf(spool, sizeof spool, "%s/spool3", dir);
	s = hb_spool_open(spool, "t1", &o, &info, &rc, err, sizeof err);
	if (!check(s != NULL)) {
		tap_end();
		return;
	}
	for (int i = 0; i < 10; i++)
		append(s, "0123456789\n");
	check(hb_spool_full(s));
	while (hb_spool_next(s, &ln) == HB_RD_LINE) {
		hb_prefix_read(hb_spool_prefix(s), ln.no, ln.end);
		hb_prefix_settled(hb_spool_prefix(s), ln.no);
	}
	check(!hb_spool_full(s));
	check_int(hb_spool_save(s, 1000000, 0, err, sizeof err), ==, 1);	/* due, not forced */
	append(s, "a line longer than all of max_bytes, without its newline yet ..........");
	check(!hb_spool_full(s));
	tap_end();

	tap_begin("data lost in a crash below the mark (zero-filled): the spool starts again at the mark");
	hb_spool_free(s);
	snprintf(path, sizeof path, "%s/%020d.seg", spool, 0);
	fd = open(path, O_WRONLY | O_TRUNC);
	check(fd >= 0);
	if (fd >= 0) {
		check_int(write(fd, "0123456789\n\0\0\0\0\0\0\0\0\0\0\0\0", 23), ==, 23);
		close(fd);
	}
	s = hb_spool_open(spool, "t1", &o, &info, &rc, err, sizeof err);
	check(s != NULL);
	check_int(info.behind, ==, 1);
	check_int(info.end, ==, 110);
	if (s) {
		append(s, "ddd\neee\n");
		next_is(s, "ddd", 11);
		next_is(s, "eee", 12);
	}
	hb_spool_free(s);
	tap_end();
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(spool, sizeof spool, "%s/spool", dir);
	test_roundtrip();
	test_all_delivered();
	test_full_and_crash();
	{
		char cmd[400];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return tap_done();
}
