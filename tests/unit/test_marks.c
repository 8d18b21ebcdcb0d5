/* test_marks — hb_marks: the exact mark lines, and when caught_up is written and repeated. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hb_buf.h"
#include "hb_json.h"
#include "hb_marks.h"
#include "tap.h"

#define S 1000000LL
/* 2026-12-02T10:00:00.123Z, in microseconds since the epoch */
#define WALL (1796205600LL * S + 123456)

/* The buffer as a string, then emptied. */
static const char *take(struct hb_buf *b)
{
	static char s[4096];
	size_t n = b->len < sizeof s - 1 ? b->len : sizeof s - 1;

	memcpy(s, b->p ? b->p : "", n);
	s[n] = '\0';
	hb_buf_reset(b);
	return s;
}

static void test_lines(void)
{
	struct hb_buf b = {0};
	size_t col;
	const char *err;

	tap_begin("the three lines, exactly as the contract writes them");
	hb_mark_line(&b, HB_MARK_ASSIGNED, "t", 3, 0);
	check_str(take(&b), "{\"_hb_mark\":\"assigned\",\"topic\":\"t\",\"partition\":3}\n");
	hb_mark_line(&b, HB_MARK_REVOKED, "heartbeat-events", 0, 0);
	check_str(take(&b), "{\"_hb_mark\":\"revoked\",\"topic\":\"heartbeat-events\",\"partition\":0}\n");
	hb_mark_line(&b, HB_MARK_CAUGHT_UP, "t", 3, WALL);
	check_str(take(&b), "{\"_hb_mark\":\"caught_up\",\"topic\":\"t\",\"partition\":3,"
		  "\"at\":\"2026-12-02T10:00:00.123Z\"}\n");
	tap_end();

	tap_begin("\"at\" is to the millisecond, also on a whole second and before 1970");
	hb_mark_line(&b, HB_MARK_CAUGHT_UP, "t", 1, 1796205600LL * S + 999);
	check_str(take(&b), "{\"_hb_mark\":\"caught_up\",\"topic\":\"t\",\"partition\":1,"
		  "\"at\":\"2026-12-02T10:00:00.000Z\"}\n");
	hb_mark_line(&b, HB_MARK_CAUGHT_UP, "t", 1, -1);
	check_str(take(&b), "{\"_hb_mark\":\"caught_up\",\"topic\":\"t\",\"partition\":1,"
		  "\"at\":\"1969-12-31T23:59:59.999Z\"}\n");
	tap_end();

	tap_begin("the topic is JSON-escaped; the line is valid JSON with the exact prefix");
	hb_mark_line(&b, HB_MARK_ASSIGNED, "a\"b\\c", 7, 0);
	check_int(hb_json_validate(b.p, b.len - 1, 8, NULL, &col, &err), ==, 0);
	check_str(take(&b), "{\"_hb_mark\":\"assigned\",\"topic\":\"a\\\"b\\\\c\",\"partition\":7}\n");
	tap_end();
	hb_buf_release(&b);
}

static void test_held(void)
{
	struct hb_buf b = {0};
	struct hb_marks *m = hb_marks_new("t");

	tap_begin("assigned and revoked: a line each, and whether the partition is held");
	check(m != NULL);
	check_int(hb_marks_held(m, 2), ==, 0);
	hb_marks_assigned(m, &b, 2);
	check_str(take(&b), "{\"_hb_mark\":\"assigned\",\"topic\":\"t\",\"partition\":2}\n");
	check_int(hb_marks_held(m, 2), ==, 1);
	check_int(hb_marks_held(m, 1), ==, 0);
	hb_marks_revoked(m, &b, 2);
	check_str(take(&b), "{\"_hb_mark\":\"revoked\",\"topic\":\"t\",\"partition\":2}\n");
	check_int(hb_marks_held(m, 2), ==, 0);
	/* beyond what is followed: taken as held, never dropped */
	check_int(hb_marks_held(m, HB_MARKS_MAX_PARTS), ==, 1);
	tap_end();

	tap_begin("a NULL tracker (no --marks) writes nothing and holds everything");
	hb_marks_assigned(NULL, &b, 0);
	hb_marks_revoked(NULL, &b, 0);
	check_int(hb_marks_eof(NULL, &b, 0, 5, 0, WALL), ==, 0);
	hb_marks_message(NULL, 0);
	check_int(hb_marks_tick(NULL, &b, 10 * S, WALL, NULL, NULL), ==, 0);
	check_int(hb_marks_held(NULL, 0), ==, 1);
	check_int(b.len, ==, 0);
	tap_end();
	hb_marks_free(m);
	hb_marks_free(NULL);
	hb_buf_release(&b);
}

static int64_t hw;	/* what high_water() says */

static int64_t high_water(void *arg, int32_t p)
{
	(void)arg;
	(void)p;
	return hw;
}

static void test_caught_up(void)
{
	struct hb_buf b = {0};
	struct hb_marks *m = hb_marks_new("t");
	int64_t t0 = 100 * S;

	tap_begin("caught_up at the end, then every second while it stays there");
	hb_marks_assigned(m, &b, 0);
	hb_marks_assigned(m, &b, 1);
	take(&b);
	check_int(hb_marks_tick(m, &b, t0, WALL, NULL, NULL), ==, 0);	/* no end reached yet */
	check_int(hb_marks_eof(m, &b, 1, 42, t0, WALL), ==, 1);
	check_str(take(&b), "{\"_hb_mark\":\"caught_up\",\"topic\":\"t\",\"partition\":1,"
		  "\"at\":\"2026-12-02T10:00:00.123Z\"}\n");
	check_int(hb_marks_tick(m, &b, t0 + S - 1, WALL, NULL, NULL), ==, 0);
	check_int(hb_marks_tick(m, &b, t0 + S, WALL + S, NULL, NULL), ==, 1);
	check_str(take(&b), "{\"_hb_mark\":\"caught_up\",\"topic\":\"t\",\"partition\":1,"
		  "\"at\":\"2026-12-02T10:00:01.123Z\"}\n");
	check_int(hb_marks_tick(m, &b, t0 + S + 10, WALL, NULL, NULL), ==, 0);	/* once per second */
	check_int(hb_marks_tick(m, &b, t0 + 2 * S + 50000, WALL, NULL, NULL), ==, 1);
	/* the schedule keeps its beat: the next is due at t0 + 3 s */
	check_int(hb_marks_tick(m, &b, t0 + 3 * S, WALL, NULL, NULL), ==, 1);
	/* a loop stalled for 10 s: one mark, not ten */
	check_int(hb_marks_tick(m, &b, t0 + 13 * S, WALL, NULL, NULL), ==, 1);
	check_int(hb_marks_tick(m, &b, t0 + 13 * S + S / 2, WALL, NULL, NULL), ==, 0);
	check_int(hb_marks_tick(m, &b, t0 + 14 * S, WALL, NULL, NULL), ==, 1);
	tap_end();

	tap_begin("a message ends the caught-up state until the next end");
	hb_marks_message(m, 1);
	check_int(hb_marks_tick(m, &b, t0 + 20 * S, WALL, NULL, NULL), ==, 0);
	check_int(hb_marks_eof(m, &b, 1, 43, t0 + 20 * S, WALL), ==, 1);
	check_int(hb_marks_tick(m, &b, t0 + 21 * S, WALL, NULL, NULL), ==, 1);
	tap_end();

	tap_begin("no repeat while the client sees messages past that end (on their way)");
	hw = 50;
	check_int(hb_marks_tick(m, &b, t0 + 22 * S, WALL, high_water, NULL), ==, 0);
	hw = 43;
	check_int(hb_marks_tick(m, &b, t0 + 22 * S, WALL, high_water, NULL), ==, 1);
	hw = -1;	/* unknown: taken as at the end */
	check_int(hb_marks_tick(m, &b, t0 + 23 * S, WALL, high_water, NULL), ==, 1);
	tap_end();

	tap_begin("each partition on its own beat; revoked ends it, and no EOF counts when not held");
	check_int(hb_marks_eof(m, &b, 0, 7, t0 + 23 * S + S / 2, WALL), ==, 1);
	check_int(hb_marks_tick(m, &b, t0 + 24 * S, WALL, NULL, NULL), ==, 1);		/* 1 only */
	check_int(hb_marks_tick(m, &b, t0 + 24 * S + S / 2, WALL, NULL, NULL), ==, 1);	/* 0 only */
	hb_marks_revoked(m, &b, 1);
	check_int(hb_marks_tick(m, &b, t0 + 30 * S, WALL, NULL, NULL), ==, 1);		/* 0 only */
	check_int(hb_marks_eof(m, &b, 1, 43, t0 + 30 * S, WALL), ==, 0);
	check_int(hb_marks_eof(m, &b, 5, 0, t0 + 30 * S, WALL), ==, 0);
	/* assigned again: not at its end until its next EOF */
	hb_marks_assigned(m, &b, 1);
	check_int(hb_marks_tick(m, &b, t0 + 40 * S, WALL, NULL, NULL), ==, 1);		/* 0 only */
	tap_end();
	hb_marks_free(m);
	hb_buf_release(&b);
}

int main(void)
{
	test_lines();
	test_held();
	test_caught_up();
	return tap_done();
}
