/* hb_classify — one input line to one output line with its status. */
#include "hb_classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_event.h"
#include "hb_json.h"

struct hb_classifier {
	struct hb_thresholds t;
	struct hb_parser *parser;
	struct hb_buf members;   /* members of an object being rebuilt */
	struct hb_buf again;     /* a "raw" being classified again */
	char reason[HB_WHY_MAX + 64];
	struct hb_event last;
};

struct hb_classifier *hb_classifier_new(const struct hb_thresholds *t)
{
	struct hb_classifier *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->t = *t;
	c->parser = hb_parser_new();
	if (!c->parser) {
		free(c);
		return NULL;
	}
	return c;
}

void hb_classifier_assume_utc(struct hb_classifier *c, int on)
{
	hb_parser_assume_utc(c->parser, on);
}

void hb_classifier_free(struct hb_classifier *c)
{
	if (!c)
		return;
	hb_parser_free(c->parser);
	hb_buf_release(&c->members);
	hb_buf_release(&c->again);
	free(c);
}

static void put_key_str(struct hb_buf *out, const char *key, const char *s, size_t n, int *lossy)
{
	hb_buf_putc(out, ',');
	hb_buf_putc(out, '"');
	hb_buf_puts(out, key);
	hb_buf_put(out, "\":", 2);
	hb_json_escape(out, s, n, lossy);
}

/* ,"reason":...,"raw":...[,"raw_base64":...][,"raw_length":N] */
static void put_invalid(struct hb_buf *out, const char *reason, const char *raw, size_t n,
			uint64_t true_len)
{
	int lossy = 0;

	put_key_str(out, "reason", reason, strlen(reason), NULL);
	put_key_str(out, "raw", raw, n, &lossy);
	if (lossy) {
		hb_buf_put(out, ",\"raw_base64\":\"", 15);
		hb_base64_encode(out, (const unsigned char *)raw, n);
		hb_buf_putc(out, '"');
	}
	if (true_len > n) {
		hb_buf_put(out, ",\"raw_length\":", 14);
		hb_buf_put_i64(out, (long long)true_len);
	}
}

static void put_status(struct hb_buf *out, enum hb_status s, int comma)
{
	if (comma)
		hb_buf_putc(out, ',');
	hb_buf_put(out, "\"status\":\"", 10);
	hb_buf_puts(out, hb_status_name(s));
	hb_buf_putc(out, '"');
}

static void open_object(struct hb_buf *out, const struct hb_verdict *v)
{
	if (v->has_coord)
		hb_coord_open(out, &v->coord);
	else
		hb_buf_putc(out, '{');
}

/* A line the reader cut: INVALID without parsing; keep the coordinates. */
static void classify_cut(struct hb_classifier *c, const char *line, size_t n, uint64_t true_len,
			 struct hb_buf *out, struct hb_verdict *v)
{
	uint64_t len;

	v->has_coord = hb_coord_excerpt(line, n, true_len, HB_RAW_EXCERPT, &v->coord,
					&c->again, &len);
	snprintf(c->reason, sizeof c->reason, "line too long: %llu bytes (limit %zu)",
		 (unsigned long long)len, n);
	v->status = HB_INVALID;
	v->reason = c->reason;
	open_object(out, v);
	put_status(out, HB_INVALID, v->has_coord);
	put_invalid(out, c->reason, c->again.p, hb_utf8_cut(c->again.p, c->again.len), len);
	hb_buf_put(out, "}\n", 2);
}

/* The members between the object's braces, as they were. */
static void put_inner(struct hb_buf *out, const struct hb_event *ev)
{
	const char *s = ev->text.p, *e = ev->text.p + ev->text.n;

	while (s < e && *s != '{')
		s++;
	hb_buf_put(out, s + 1, (size_t)(e - 1 - (s + 1)));
}

void hb_classify_line(struct hb_classifier *c, const char *line, size_t n, uint64_t true_len,
		      struct hb_buf *out, struct hb_verdict *v)
{
	struct hb_event ev;
	int ok, again = 0, comma;
	size_t mark;

	memset(v, 0, sizeof *v);
	if (true_len > n) {
		classify_cut(c, line, n, true_len, out, v);
		return;
	}
parse:
	ok = hb_event_parse(c->parser, line, n, &ev) == 0;
	if (ev.oom)
		out->oom = 1;	/* the caller stops on it: memory, not the line, failed */
	if (ev.is_object && ev.has_status && ev.status == HB_INVALID && ev.has_raw &&
	    ev.raw_length >= 0 && (uint64_t)ev.raw_length != ev.raw.n && ev.reason.p) {
		/* Our INVALID record of a cut line: the input is gone; keep it as it is. */
		v->status = HB_INVALID;
		v->has_coord = ev.has_coord;
		v->coord = ev.coord;
		snprintf(c->reason, sizeof c->reason, "%.*s", (int)ev.reason.n, ev.reason.p);
		v->reason = c->reason;
		open_object(out, v);
		if (v->has_coord)
			hb_buf_putc(out, ',');
		hb_event_put_members(c->parser, &ev, out, NULL);
		hb_buf_put(out, "}\n", 2);
		c->last = ev;
		v->ev = &c->last;
		return;
	}
	if (!again && ev.is_object && ev.has_status && ev.status == HB_INVALID && ev.has_raw &&
	    (ev.raw_length < 0 || (uint64_t)ev.raw_length == ev.raw.n)) {
		/* Our own INVALID record: classify its raw text again. */
		struct hb_buf raw = {0};

		if (!ev.raw_b64.p || hb_base64_decode(&raw, ev.raw_b64.p, ev.raw_b64.n) < 0) {
			hb_buf_reset(&raw);
			hb_buf_put(&raw, ev.raw.p, ev.raw.n);
		}
		hb_buf_reset(&c->again);
		if (ev.has_coord)
			hb_coord_wrap(&c->again, &ev.coord, raw.p ? raw.p : "", raw.len);
		else
			hb_buf_put(&c->again, raw.p, raw.len);
		hb_buf_release(&raw);
		hb_buf_putc(&c->again, '\0');
		line = c->again.p;
		n = c->again.len - 1;
		again = 1;
		goto parse;
	}
	v->has_coord = ev.has_coord;
	v->coord = ev.coord;
	if (ok) {
		v->status = hb_classify(&c->t, ev.hr);
		if (v->status == HB_INVALID && ev.hr_text.p && ev.hr_text.n <= 40)
			snprintf(c->reason, sizeof c->reason,
				 "heart_rate %.*s outside plausible range %ld..%ld",
				 (int)ev.hr_text.n, ev.hr_text.p, c->t.min, c->t.max);
		else if (v->status == HB_INVALID)
			snprintf(c->reason, sizeof c->reason,
				 "heart_rate %lld outside plausible range %ld..%ld",
				 (long long)ev.hr, c->t.min, c->t.max);
	} else {
		v->status = HB_INVALID;
		snprintf(c->reason, sizeof c->reason, "%s", ev.why);
	}
	v->reason = v->status == HB_INVALID ? c->reason : NULL;

	mark = out->len;
	open_object(out, v);
	comma = v->has_coord;
	if (ev.is_object && ev.members > 0) {
		if (!ev.reserved && !(ev.cid_ok && ev.cid_int) && !(ev.ts_ok && ev.ts_zoneless)) {
			if (comma)
				hb_buf_putc(out, ',');
			put_inner(out, &ev);
			comma = 1;
		} else {
			hb_buf_reset(&c->members);
			if (hb_event_put_members(c->parser, &ev, &c->members, hb_reserved_keys)) {
				if (comma)
					hb_buf_putc(out, ',');
				hb_buf_put(out, c->members.p, c->members.len);
				comma = 1;
			}
		}
	}
	put_status(out, v->status, comma);
	if (v->status == HB_INVALID)
		put_invalid(out, c->reason, ev.orig.p, ev.orig.n, ev.orig.n);
	/*
	 * A valid object can hold CR or LF only as blanks between tokens (a value
	 * carried base64 through Kafka, say); as blanks they mean nothing, but
	 * on our output they would cut the line in two.
	 */
	if (ev.is_object && (memchr(ev.text.p, '\n', ev.text.n) || memchr(ev.text.p, '\r', ev.text.n)))
		for (size_t i = mark; i < out->len; i++)
			if (out->p[i] == '\n' || out->p[i] == '\r')
				out->p[i] = ' ';
	hb_buf_put(out, "}\n", 2);
	c->last = ev;
	v->ev = &c->last;
}
