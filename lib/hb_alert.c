/* hb_alert — anomaly episodes per customer (see hb_alert.h). */
#include "hb_alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_event.h"
#include "hb_json.h"
#include "hb_time.h"

struct episode {
	char cid[HB_CID_MAX + 1];
	size_t cn;
	enum hb_status type;
	int64_t start, last, peak_at;
	int64_t peak;
	uint64_t readings;
	int used, dead;		/* slot in use; dead = a tombstone */
};

struct hb_alerts {
	int64_t gap;
	int64_t now;		/* the latest reading time seen */
	int64_t next_sweep;
	struct episode *slot;
	size_t cap, open, dead;
};

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

struct hb_alerts *hb_alerts_new(int64_t gap_us)
{
	struct hb_alerts *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	a->gap = gap_us > 0 ? gap_us : 1;
	a->now = INT64_MIN;
	a->cap = 64;
	if (!(a->slot = calloc(a->cap, sizeof *a->slot))) {
		free(a);
		return NULL;
	}
	return a;
}

void hb_alerts_free(struct hb_alerts *a)
{
	if (!a)
		return;
	free(a->slot);
	free(a);
}

size_t hb_alerts_open(const struct hb_alerts *a)
{
	return a->open;
}

/* The slot of cid, or (create) the free slot for it; NULL when absent and !create. */
static struct episode *find(struct hb_alerts *a, const char *cid, size_t cn, int create)
{
	size_t mask = a->cap - 1, i = (size_t)hash(cid, cn) & mask;
	struct episode *tomb = NULL;

	for (;; i = (i + 1) & mask) {
		struct episode *e = &a->slot[i];

		if (!e->used) {
			if (!create)
				return NULL;
			return tomb ? tomb : e;
		}
		if (e->dead) {
			if (!tomb)
				tomb = e;
		} else if (e->cn == cn && memcmp(e->cid, cid, cn) == 0) {
			return e;
		}
	}
}

static int grow(struct hb_alerts *a)
{
	struct episode *old = a->slot;
	size_t oldcap = a->cap, cap = a->open * 4 > a->cap ? a->cap * 2 : a->cap;

	if (!(a->slot = calloc(cap, sizeof *a->slot))) {
		a->slot = old;
		return -1;
	}
	a->cap = cap;
	a->dead = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].used && !old[i].dead)
			*find(a, old[i].cid, old[i].cn, 1) = old[i];
	free(old);
	return 0;
}

static void put_time(struct hb_buf *b, const char *key, int64_t us)
{
	char t[HB_TIME_MAX];

	hb_buf_puts(b, key);
	hb_buf_putc(b, '"');
	hb_buf_put(b, t, hb_time_format(us, t));
	hb_buf_putc(b, '"');
}

/* Write e's alert and free its slot. */
static void close_episode(struct hb_alerts *a, struct episode *e, const char *why, struct hb_buf *out)
{
	char secs[32];

	hb_buf_puts(out, "{\"alert\":\"");
	hb_buf_puts(out, hb_status_name(e->type));
	hb_buf_puts(out, "\",\"customer_id\":");
	hb_json_escape(out, e->cid, e->cn, NULL);
	put_time(out, ",\"start\":", e->start);
	put_time(out, ",\"end\":", e->last);
	snprintf(secs, sizeof secs, "%.3f", (double)(e->last - e->start) / 1e6);
	hb_buf_puts(out, ",\"duration_s\":");
	hb_buf_puts(out, secs);
	hb_buf_puts(out, ",\"peak_bpm\":");
	hb_buf_put_i64(out, (long long)e->peak);
	put_time(out, ",\"peak_at\":", e->peak_at);
	hb_buf_puts(out, ",\"readings\":");
	hb_buf_put_i64(out, (long long)e->readings);
	hb_buf_puts(out, ",\"ended_by\":\"");
	hb_buf_puts(out, why);
	hb_buf_puts(out, "\"}\n");
	e->dead = 1;
	a->open--;
	a->dead++;
}

/* Close the episodes that have been quiet for longer than the gap. */
static int sweep(struct hb_alerts *a, struct hb_buf *out)
{
	int n = 0;

	for (size_t i = 0; i < a->cap && a->open; i++) {
		struct episode *e = &a->slot[i];

		if (e->used && !e->dead && a->now - e->last > a->gap) {
			close_episode(a, e, "gap", out);
			n++;
		}
	}
	a->next_sweep = a->now + a->gap / 4 + 1;
	return n;
}

int hb_alerts_reading(struct hb_alerts *a, const char *cid, size_t cn, int64_t ts_us,
		      enum hb_status st, int64_t bpm, struct hb_buf *out)
{
	struct episode *e;
	int n = 0;

	if (st == HB_INVALID || st >= HB_STATUS_COUNT || cn > HB_CID_MAX)
		return 0;
	if (ts_us > a->now) {
		a->now = ts_us;
		if (a->open && a->now >= a->next_sweep)
			n += sweep(a, out);
	}
	e = find(a, cid, cn, 0);
	if (e && (st != e->type || ts_us - e->last > a->gap)) {
		close_episode(a, e, st == e->type ? "gap" : hb_status_name(st), out);
		n++;
		e = NULL;
	}
	if (st == HB_NORMAL)
		return hb_buf_oom(out) ? -1 : n;
	if (e) {
		e->readings++;
		if (ts_us > e->last)
			e->last = ts_us;
		if (st == HB_BRADYCARDIA ? bpm < e->peak : bpm > e->peak) {
			e->peak = bpm;
			e->peak_at = ts_us;
		}
		return hb_buf_oom(out) ? -1 : n;
	}
	if ((a->open + a->dead + 1) * 2 > a->cap && grow(a) < 0)
		return -1;
	e = find(a, cid, cn, 1);
	if (e->dead)
		a->dead--;
	memset(e, 0, sizeof *e);
	memcpy(e->cid, cid, cn);
	e->cn = cn;
	e->type = st;
	e->start = e->last = e->peak_at = ts_us;
	e->peak = bpm;
	e->readings = 1;
	e->used = 1;
	a->open++;
	if (a->open == 1)
		a->next_sweep = a->now + a->gap / 4 + 1;
	return hb_buf_oom(out) ? -1 : n;
}

static int by_start(const void *x, const void *y)
{
	const struct episode *p = *(const struct episode *const *)x, *q = *(const struct episode *const *)y;

	return p->start < q->start ? -1 : p->start > q->start;
}

int hb_alerts_flush(struct hb_alerts *a, struct hb_buf *out)
{
	struct episode **list;
	size_t k = 0;
	int n;

	if (!a->open)
		return 0;
	if (!(list = malloc(a->open * sizeof *list)))
		return -1;
	for (size_t i = 0; i < a->cap; i++)
		if (a->slot[i].used && !a->slot[i].dead)
			list[k++] = &a->slot[i];
	qsort(list, k, sizeof *list, by_start);
	for (size_t i = 0; i < k; i++)
		close_episode(a, list[i], "end of stream", out);
	free(list);
	n = (int)k;
	return hb_buf_oom(out) ? -1 : n;
}
