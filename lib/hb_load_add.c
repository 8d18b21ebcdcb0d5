/* hb_load_add — a classified line into a row of the batch in hand: the
 * reading's fields, or an INVALID row with its raw text, exact bytes and
 * reason (see hb_load.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_classify.h"
#include "hb_ctl.h"
#include "hb_event.h"
#include "hb_json.h"
#include "hb_load_int.h"
#include "hb_pg.h"

struct row *hb_load_push(struct rows *rs)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 1024;
		struct row *r = realloc(rs->r, cap * sizeof *r);

		if (!r)
			return NULL;
		rs->r = r;
		rs->cap = cap;
	}
	memset(&rs->r[rs->n], 0, sizeof rs->r[0]);
	rs->r[rs->n].part = -1;
	rs->r[rs->n].lag = -1;
	return &rs->r[rs->n++];
}

static uint32_t keep(struct hb_loader *l, const char *s, size_t n, uint32_t *len)
{
	uint32_t off = (uint32_t)l->arena.len;

	hb_buf_put(&l->arena, s, n);
	*len = (uint32_t)n;
	return off;
}

/* raw (text, cleaned) and, when cleaning changed it, the exact bytes. */
static void keep_raw(struct hb_loader *l, struct row *r, const char *text, size_t tn,
		     const char *exact, size_t en)
{
	size_t before = l->arena.len;
	int changed = hb_pg_text_clean(&l->arena, text, tn);

	r->raw_off = (uint32_t)before;
	r->raw_len = (uint32_t)(l->arena.len - before);
	if (changed || exact != text || en != tn) {
		if (!(en == r->raw_len && memcmp(l->arena.p + before, exact, en) == 0)) {
			r->bytes_off = keep(l, exact, en, &r->bytes_len);
			r->has_bytes = 1;
		}
	}
}

void hb_load_keep_reason(struct hb_loader *l, struct row *r, const char *s, size_t n)
{
	size_t before = l->arena.len;

	hb_pg_text_clean(&l->arena, s, n);
	r->reason_off = (uint32_t)before;
	r->reason_len = (uint32_t)(l->arena.len - before);
	r->has_reason = 1;
}

/* The reading fields an INVALID row keeps when they are sound. */
static void keep_reading(struct hb_loader *l, struct row *r, const struct hb_event *ev)
{
	if (ev->cid_ok) {
		r->cid_off = keep(l, ev->cid.p, ev->cid.n, &r->cid_len);
		r->has_cid = 1;
	}
	if (ev->ts_ok) {
		r->ts_us = ev->ts_us;
		r->has_ts = 1;
	}
	if (ev->hr_ok && ev->hr >= INT32_MIN && ev->hr <= INT32_MAX) {
		r->hr = (int32_t)ev->hr;
		r->has_hr = 1;
	}
}

static enum hb_status add_cut(struct hb_loader *l, const char *line, size_t n,
			      uint64_t true_len, struct row *r, char *why, size_t whysz)
{
	struct hb_coord c;
	uint64_t len;

	if (hb_coord_excerpt(line, n, true_len, HB_RAW_EXCERPT, &c, &l->tmp, &len)) {
		r->part = c.partition;
		r->offset = c.offset;
		r->lag = c.lag;
	}
	snprintf(why, whysz, "line too long: %llu bytes (limit %zu)", (unsigned long long)len, n);
	keep_raw(l, r, l->tmp.p ? l->tmp.p : "", hb_utf8_cut(l->tmp.p, l->tmp.len),
		 l->tmp.p ? l->tmp.p : "", hb_utf8_cut(l->tmp.p, l->tmp.len));
	hb_load_keep_reason(l, r, why, strlen(why));
	r->raw_length = (int64_t)len;
	r->status = HB_INVALID;
	return HB_INVALID;
}

/* An INVALID row from a line; raw from "raw"/"raw_base64" when it has them. */
static void fill_invalid(struct hb_loader *l, struct row *r, const struct hb_event *ev,
			 const char *reason)
{
	const char *text = ev->orig.p, *exact = ev->orig.p;
	size_t tn = ev->orig.n, en = ev->orig.n;

	r->status = HB_INVALID;
	keep_reading(l, r, ev);
	if (ev->has_raw) {
		text = exact = ev->raw.p;
		tn = en = ev->raw.n;
		if (ev->raw_b64.p) {
			hb_buf_reset(&l->tmp);
			if (hb_base64_decode(&l->tmp, ev->raw_b64.p, ev->raw_b64.n) == 0 && !l->tmp.oom) {
				exact = l->tmp.p ? l->tmp.p : "";
				en = l->tmp.len;
			}
		}
	}
	keep_raw(l, r, text, tn, exact, en);
	hb_load_keep_reason(l, r, reason, strlen(reason));
	r->raw_length = ev->raw_length >= 0 ? ev->raw_length : (int64_t)en;
}

/*
 * An _hb_alert/_hb_state line: its inner object onto the batch's array.
 * Returns 0, or -1 with why set (the line is then stored as INVALID).
 */
static int add_ctl(struct hb_loader *l, enum hb_ctl k, const char *line, size_t n,
		   char *why, size_t whysz)
{
	struct hb_buf *b = k == HB_CTL_ALERT ? &l->alerts : &l->states;
	size_t off, len;

	if (hb_ctl_check(k, line, n, &off, &len, why, whysz) < 0)
		return -1;
	hb_buf_putc(b, b->len ? ',' : '[');
	hb_buf_put(b, line + off, len);
	if (k == HB_CTL_ALERT) {
		l->nalerts++;
		l->st.alerts++;
	} else {
		l->nstates++;
		l->st.states++;
	}
	return 0;
}

/* A control line that is not sound: an INVALID row with the line and why. */
static struct row *add_bad_ctl(struct hb_loader *l, const char *line, size_t n, const char *why)
{
	struct row *r = hb_load_push(&l->anom);

	if (!r)
		return NULL;
	r->status = HB_INVALID;
	keep_raw(l, r, line, n, line, n);
	hb_load_keep_reason(l, r, why, strlen(why));
	r->raw_length = (int64_t)n;
	l->st.malformed++;
	return r;
}

enum hb_status hb_loader_add(struct hb_loader *l, const char *line, size_t n,
			     uint64_t true_len, uint64_t lineno, const char **why_out)
{
	static char why[HB_WHY_MAX + 80];
	enum hb_ctl k = hb_ctl_kind(line, n);
	struct hb_event ev;
	struct row *r;
	int ok;

	if (why_out)
		*why_out = NULL;
	/* an acknowledgement held back for the state or silence alert that may
	 * follow its reading: this line is one, or shows that none follows */
	if (k == HB_CTL_ALERT || k == HB_CTL_STATE)
		l->held_blocked = l->has_held;
	else
		hb_loader_release_held(l);
	if (k == HB_CTL_MARK) {
		l->st.marks++;
		return HB_LOAD_CTL;
	}
	if (k != HB_CTL_NONE && true_len == n) {
		if (add_ctl(l, k, line, n, why, sizeof why) == 0) {
			l->ctl_lineno = lineno;
			return HB_LOAD_CTL;
		}
		l->st.rows_in++;
		r = add_bad_ctl(l, line, n, why);
		if (!r)
			return HB_INVALID;
		r->lineno = lineno;
		l->st.status[HB_INVALID]++;
		if (why_out)
			*why_out = why;
		return HB_INVALID;
	}
	l->st.rows_in++;
	if (true_len > n) {
		r = hb_load_push(&l->anom);
		if (!r)
			return HB_INVALID;
		r->lineno = lineno;
		add_cut(l, line, n, true_len, r, why, sizeof why);
		l->st.status[HB_INVALID]++;
		l->st.malformed++;
		if (why_out)
			*why_out = why;
		return HB_INVALID;
	}
	ok = hb_event_parse(l->parser, line, n, &ev) == 0;
	why[0] = '\0';
	if (!ev.is_object || !ev.has_status) {
		if (ev.is_object) {
			l->st.unclassified++;
			snprintf(why, sizeof why, "no \"status\": not a classified reading "
				 "(put hbclassify before hbpgload)");
		} else {
			snprintf(why, sizeof why, "%s", ev.why);
		}
	} else if (ev.status == HB_INVALID) {
		/* A classified INVALID record: sound input, stored with its reason. */
		r = hb_load_push(&l->anom);
		if (!r)
			return HB_INVALID;
		if (ev.reason.p)
			snprintf(why, sizeof why, "%.*s", (int)ev.reason.n, ev.reason.p);
		else
			snprintf(why, sizeof why, "INVALID (no reason given)");
		fill_invalid(l, r, &ev, why);
		why[0] = '\0';
		goto done;
	} else if (!ok) {
		snprintf(why, sizeof why, "status %s but %s", hb_status_name(ev.status), ev.why);
	} else if (ev.hr < INT32_MIN || ev.hr > INT32_MAX) {
		snprintf(why, sizeof why, "status %s but heart_rate out of range",
			 hb_status_name(ev.status));
	}
	if (why[0]) {
		r = hb_load_push(&l->anom);
		if (!r)
			return HB_INVALID;
		fill_invalid(l, r, &ev, why);
		l->st.malformed++;
	} else {
		r = hb_load_push(ev.status == HB_NORMAL ? &l->rec : &l->anom);
		if (!r)
			return HB_INVALID;
		r->status = (uint8_t)ev.status;
		keep_reading(l, r, &ev);
		keep_raw(l, r, ev.text.p, ev.text.n, ev.text.p, ev.text.n);
		r->raw_length = (int64_t)ev.text.n;
	}
done:
	if (r->has_ts)
		hb_days_note(&l->days, hb_day_of(r->ts_us));
	r->lineno = lineno;
	if (ev.has_coord) {
		r->part = ev.coord.partition;
		r->offset = ev.coord.offset;
		r->lag = ev.coord.lag;
	}
	l->st.status[r->status]++;
	if (why_out)
		*why_out = why[0] ? why : NULL;
	return (enum hb_status)r->status;
}

