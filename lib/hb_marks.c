/* hb_marks — hbkafka-sub --marks: the assigned/revoked/caught_up control lines (see hb_marks.h). */
#include <stdlib.h>
#include <string.h>

#include "hb_json.h"
#include "hb_marks.h"
#include "hb_time.h"

struct part_state {
	int64_t end;     /* next offset at the last EOF */
	int64_t due;     /* monotonic time of the next caught_up */
	unsigned char held, at_end;
};

struct hb_marks {
	const char *topic;
	int32_t top;     /* 1 + the highest partition ever held: where ticks stop looking */
	struct part_state p[HB_MARKS_MAX_PARTS];
};

static const char *const kinds[] = {
	[HB_MARK_ASSIGNED] = "assigned",
	[HB_MARK_REVOKED] = "revoked",
	[HB_MARK_CAUGHT_UP] = "caught_up",
};

void hb_mark_line(struct hb_buf *out, enum hb_mark_kind kind, const char *topic, int32_t partition,
		  int64_t at_us)
{
	char t[HB_TIME_MAX];

	hb_buf_puts(out, "{\"_hb_mark\":\"");
	hb_buf_puts(out, kinds[kind]);
	hb_buf_puts(out, "\",\"topic\":");
	hb_json_escape(out, topic, strlen(topic), NULL);
	hb_buf_puts(out, ",\"partition\":");
	hb_buf_put_i64(out, partition);
	if (kind == HB_MARK_CAUGHT_UP) {
		/* milliseconds, as the contract says (the formatter writes µs otherwise) */
		at_us -= ((at_us % 1000) + 1000) % 1000;
		hb_buf_puts(out, ",\"at\":\"");
		hb_buf_put(out, t, hb_time_format(at_us, t));
		hb_buf_putc(out, '"');
	}
	hb_buf_puts(out, "}\n");
}

struct hb_marks *hb_marks_new(const char *topic)
{
	struct hb_marks *m = calloc(1, sizeof *m);

	if (m)
		m->topic = topic;
	return m;
}

void hb_marks_free(struct hb_marks *m)
{
	free(m);
}

static struct part_state *state(struct hb_marks *m, int32_t p)
{
	return m && p >= 0 && p < HB_MARKS_MAX_PARTS ? &m->p[p] : NULL;
}

void hb_marks_assigned(struct hb_marks *m, struct hb_buf *out, int32_t p)
{
	struct part_state *s = state(m, p);

	if (!m)
		return;
	if (s)
		*s = (struct part_state){ .held = 1, .end = -1 };
	if (s && p >= m->top)
		m->top = p + 1;
	hb_mark_line(out, HB_MARK_ASSIGNED, m->topic, p, 0);
}

void hb_marks_revoked(struct hb_marks *m, struct hb_buf *out, int32_t p)
{
	struct part_state *s = state(m, p);

	if (!m)
		return;
	if (s)
		*s = (struct part_state){ .end = -1 };
	hb_mark_line(out, HB_MARK_REVOKED, m->topic, p, 0);
}

int hb_marks_held(const struct hb_marks *m, int32_t p)
{
	return !m || p < 0 || p >= HB_MARKS_MAX_PARTS || m->p[p].held;
}

int hb_marks_eof(struct hb_marks *m, struct hb_buf *out, int32_t p, int64_t next_offset,
		 int64_t mono_us, int64_t wall_us)
{
	struct part_state *s = state(m, p);

	if (!m || !hb_marks_held(m, p))
		return 0;
	if (s) {
		s->at_end = 1;
		s->end = next_offset;
		s->due = mono_us + HB_MARKS_EVERY_US;
	}
	hb_mark_line(out, HB_MARK_CAUGHT_UP, m->topic, p, wall_us);
	return 1;
}

void hb_marks_message(struct hb_marks *m, int32_t p)
{
	struct part_state *s = state(m, p);

	if (s)
		s->at_end = 0;
}

int hb_marks_tick(struct hb_marks *m, struct hb_buf *out, int64_t mono_us, int64_t wall_us,
		  int64_t (*high_water)(void *arg, int32_t p), void *arg)
{
	int n = 0;

	for (int32_t i = 0; m && i < m->top; i++) {
		struct part_state *s = &m->p[i];
		int64_t hi;

		if (!s->held || !s->at_end || mono_us < s->due)
			continue;
		if (high_water && (hi = high_water(arg, i)) >= 0 && hi > s->end)
			continue;	/* messages on their way: the next one ends it */
		hb_mark_line(out, HB_MARK_CAUGHT_UP, m->topic, i, wall_us);
		n++;
		s->due += HB_MARKS_EVERY_US;
		if (s->due <= mono_us)	/* late (a stalled loop): no burst to catch up */
			s->due = mono_us + HB_MARKS_EVERY_US;
	}
	return n;
}
