/* test_resume — the mark of hbkafka-pub --resume: settled lines in any order,
 * failures that hold it, and a state file that refuses another file. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb_prefix.h"
#include "hb_resume.h"
#include "tap.h"

static char dir[] = "/tmp/hb_test_resume_XXXXXX";
static char state[300], input[300];

/* A file of n lines "line K\n"; returns an fd open on it for reading. */
static int make_input(const char *path, int n, const char *prefix)
{
	FILE *f = fopen(path, "w");

	for (int i = 1; f && i <= n; i++)
		fprintf(f, "%s %d\n", prefix, i);
	if (!f || fclose(f) != 0)
		return -1;
	return open(path, O_RDONLY);
}

/* Where line k of make_input's file ends (lines "line K\n"). */
static uint64_t end_of(int k)
{
	uint64_t off = 0;

	for (int i = 1; i <= k; i++)
		off += (uint64_t)snprintf(NULL, 0, "line %d\n", i);
	return off;
}

static struct hb_resume *open_at(int fd, const char *topic, uint64_t *off, uint64_t *line,
				 enum hb_resume_rc *rc, char *err, size_t n)
{
	return hb_resume_open(state, fd, input, topic, off, line, rc, err, n);
}

static void test_mark(void)
{
	int fd = make_input(input, 100, "line");
	uint64_t off = 9, line = 9;
	enum hb_resume_rc rc;
	char err[1200] = "";
	struct hb_resume *t;

	tap_begin("no state: from the start; the mark follows settled lines in order only");
	t = open_at(fd, "t1", &off, &line, &rc, err, sizeof err);
	if (!check(t != NULL)) {
		tap_end();
		return;
	}
	check_int(off, ==, 0);
	check_int(line, ==, 0);
	for (int k = 1; k <= 100; k++)
		check_int(hb_prefix_read(hb_resume_prefix(t), (uint64_t)k, end_of(k)), ==, 0);
	hb_prefix_settled(hb_resume_prefix(t), 2);
	hb_prefix_settled(hb_resume_prefix(t), 3);
	hb_prefix_mark(hb_resume_prefix(t), &off, &line);
	check_int(line, ==, 0);
	hb_prefix_settled(hb_resume_prefix(t), 1);
	hb_prefix_mark(hb_resume_prefix(t), &off, &line);
	check_int(line, ==, 3);
	check_int(off, ==, end_of(3));
	hb_prefix_settled(hb_resume_prefix(t), 1);	/* again: nothing */
	hb_prefix_settled(hb_resume_prefix(t), 1000);	/* never read: nothing */
	for (int k = 4; k <= 60; k++)
		hb_prefix_settled(hb_resume_prefix(t), (uint64_t)k);
	hb_prefix_failed(hb_resume_prefix(t), 61);
	for (int k = 62; k <= 100; k++)
		hb_prefix_settled(hb_resume_prefix(t), (uint64_t)k);
	check(hb_prefix_stuck(hb_resume_prefix(t)));
	hb_prefix_mark(hb_resume_prefix(t), &off, &line);
	check_int(line, ==, 60);
	check_int(hb_resume_save(t, 0, 1, err, sizeof err), ==, 1);
	check_int(hb_resume_save(t, 0, 1, err, sizeof err), ==, 0);	/* unchanged */
	hb_resume_free(t);
	tap_end();

	tap_begin("the state written goes on after its mark; a finished file stays finished");
	t = open_at(fd, "t1", &off, &line, &rc, err, sizeof err);
	check(t != NULL);
	check_int(line, ==, 60);
	check_int(off, ==, end_of(60));
	for (int k = 61; t && k <= 100; k++) {
		check_int(hb_prefix_read(hb_resume_prefix(t), (uint64_t)k, end_of(k)), ==, 0);
		hb_prefix_settled(hb_resume_prefix(t), (uint64_t)k);
	}
	check_int(t ? hb_resume_save(t, HB_RESUME_SAVE_US - 1, 0, err, sizeof err) : -9, ==, 0);
	check_int(t ? hb_resume_save(t, HB_RESUME_SAVE_US, 0, err, sizeof err) : -9, ==, 1);
	hb_resume_free(t);
	t = open_at(fd, "t1", &off, &line, &rc, err, sizeof err);
	check(t != NULL);
	check_int(line, ==, 100);
	check_int(off, ==, end_of(100));
	tap_end();

	tap_begin("one publisher per state: a second open is refused while the first holds it");
	{
		struct hb_resume *t2 = open_at(fd, "t1", &off, &line, &rc, err, sizeof err);

		check(t2 == NULL);
		check_int(rc, ==, HB_RESUME_BUSY);
		check(strstr(err, "in use by another publisher") != NULL);
		hb_resume_free(t2);
	}
	hb_resume_free(t);
	tap_end();

	tap_begin("another topic, a shorter file, another file, a bad state: refused");
	t = open_at(fd, "t2", &off, &line, &rc, err, sizeof err);
	check(t == NULL);
	check_int(rc, ==, HB_RESUME_WRONG);
	check(strstr(err, "records publishing to topic t1, not t2") != NULL);
	close(fd);
	fd = make_input(input, 50, "line");
	t = open_at(fd, "t1", &off, &line, &rc, err, sizeof err);
	check(t == NULL);
	check_int(rc, ==, HB_RESUME_WRONG);
	check(strstr(err, "fewer than the") != NULL);
	close(fd);
	fd = make_input(input, 200, "LINE");
	t = open_at(fd, "t1", &off, &line, &rc, err, sizeof err);
	check(t == NULL);
	check_int(rc, ==, HB_RESUME_WRONG);
	check(strstr(err, "differ") != NULL);
	close(fd);
	{
		FILE *f = fopen(state, "w");

		fputs("hbkafka-pub-resume 1\ntopic t1\noffset x\n", f ? f : stderr);
		if (f)
			fclose(f);
	}
	fd = make_input(input, 200, "line");
	t = open_at(fd, "t1", &off, &line, &rc, err, sizeof err);
	check(t == NULL);
	check_int(rc, ==, HB_RESUME_WRONG);
	check(strstr(err, "line 3: not a state") != NULL);
	close(fd);
	tap_end();
}

/* The ring grows past its first size with lines in flight. */
static void test_many(void)
{
	int fd;
	uint64_t off, line;
	enum hb_resume_rc rc;
	char err[1200];
	struct hb_resume *t;

	unlink(state);
	fd = make_input(input, 5000, "line");
	tap_begin("5,000 lines in flight, settled last to first: the mark jumps to the end");
	t = open_at(fd, "t1", &off, &line, &rc, err, sizeof err);
	if (!check(t != NULL)) {
		tap_end();
		return;
	}
	for (int k = 1; k <= 5000; k++)
		check_int(hb_prefix_read(hb_resume_prefix(t), (uint64_t)k, end_of(k)), ==, 0);
	check_int(hb_prefix_read(hb_resume_prefix(t), 5002, end_of(5002)), ==, -2);
	for (int k = 5000; k >= 2; k--)
		hb_prefix_settled(hb_resume_prefix(t), (uint64_t)k);
	hb_prefix_mark(hb_resume_prefix(t), &off, &line);
	check_int(line, ==, 0);
	hb_prefix_settled(hb_resume_prefix(t), 1);
	hb_prefix_mark(hb_resume_prefix(t), &off, &line);
	check_int(line, ==, 5000);
	check_int(off, ==, end_of(5000));
	hb_resume_free(t);
	close(fd);
	tap_end();
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(input, sizeof input, "%s/input", dir);
	test_mark();
	test_many();
	unlink(state);
	snprintf(state + strlen(state), sizeof state - strlen(state), ".lock");
	unlink(state);
	unlink(input);
	rmdir(dir);
	return tap_done();
}
