/*
 * hb_load_delta — a batch's word on its readings, so that the fold need
 * not read them back from the table (hb_rollup_delta, 012_rollups.sql).
 *
 * Per minute, the batch's readings grouped per customer (count, sum, lowest
 * and highest heart rate) and per heart rate (count): one row of
 * hb_rollup_delta per minute, the groups in arrays, as binary COPY data.
 * hbpgload sends it in the loading transaction before its COPY, under a
 * token it sets as hbmon.delta; the note trigger checks it, minute by
 * minute, against the rows the COPY stored (count and heart-rate sum), and
 * the fold of a minute folded for the first time takes the word in place
 * of its rows.
 *
 * Why: reading a minute's rows back cost the fold about 1 µs of CPU a row
 * (the BRIN index summarized, the pages just written read again, two hash
 * tables): 1.3-1.4 s of the 6 s of CPU a load of 1,000,000 readings took
 * here, all processes counted; with the word the fold takes 0.55-0.64 s.
 * The word costs hbpgload one pass over the batch, which hb_load_order.c
 * has just grouped by minute and customer, so a customer's readings of a
 * minute come one after the other; PostgreSQL gets a few rows of arrays
 * per batch.
 *
 * No word when it has more groups than the batch has readings (a large
 * fleet whose customers read about once each in a batch: the word would be
 * the rows again), unless the batch is small (fewer than HB_WORD_SMALL
 * readings: a live stream's batches, or the one or two readings a metrics
 * snapshot cuts off a bulk load, where one minute read from its rows would
 * make the fold summarize every page loaded since its last summary); nor
 * for a heart rate outside 0..HB_WORD_HR_MAX.  Without a word the fold reads
 * the rows, as it always did.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb_load_int.h"
#include "hb_pg.h"
#include "hb_time.h"

static const char COPY_WORD[] =
	"COPY hb_rollup_delta (token, minute, customers, c_n, c_sum, c_min, c_max, hr, hr_n) "
	"FROM STDIN (FORMAT binary)";

#define HB_WORD_SMALL 64

static int grow(struct hb_word *w)
{
	size_t cap = w->cap ? w->cap * 2 : 256;
	struct hb_word_cust *c = realloc(w->c, cap * sizeof *c);

	if (!c)
		return -1;
	w->c = c;
	w->cap = cap;
	return 0;
}

/* The one field of an array, from w->arr. */
static void put_array(struct hb_word *w)
{
	hb_copy_text(&w->out, w->arr.p, w->arr.len);
	hb_buf_reset(&w->arr);
}

/* The minute's customers' int32 at offset off of each group, as an int4[]. */
static void put_int4s(struct hb_word *w, size_t off)
{
	hb_copy_array_head(&w->arr, HB_OID_INT4, (uint32_t)w->nc);
	for (size_t i = 0; i < w->nc; i++) {
		int32_t v;

		memcpy(&v, (const char *)&w->c[i] + off, sizeof v);
		hb_copy_int4(&w->arr, v);
	}
	put_array(w);
}

/* Minute m's row: its customers' groups and its heart rates' counts. */
static void emit(struct hb_loader *l, struct hb_word *w, int64_t token, int64_t m)
{
	struct hb_buf *a = &w->arr;

	hb_copy_row(&w->out, 9);
	hb_copy_int8(&w->out, token);
	hb_copy_ts(&w->out, m * 60000000);
	hb_copy_array_head(a, HB_OID_TEXT, (uint32_t)w->nc);
	for (size_t i = 0; i < w->nc; i++)
		hb_copy_text(a, l->arena.p + w->c[i].off, w->c[i].len);
	put_array(w);
	put_int4s(w, offsetof(struct hb_word_cust, n));
	hb_copy_array_head(a, HB_OID_INT8, (uint32_t)w->nc);
	for (size_t i = 0; i < w->nc; i++)
		hb_copy_int8(a, w->c[i].sum);
	put_array(w);
	put_int4s(w, offsetof(struct hb_word_cust, min));
	put_int4s(w, offsetof(struct hb_word_cust, max));
	hb_copy_array_head(a, HB_OID_INT4, (uint32_t)w->nt);
	for (size_t i = 0; i < w->nt; i++)
		hb_copy_int4(a, w->touched[i]);
	put_array(w);
	hb_copy_array_head(a, HB_OID_INT4, (uint32_t)w->nt);
	for (size_t i = 0; i < w->nt; i++) {
		hb_copy_int4(a, (int32_t)w->hist[w->touched[i]]);
		w->hist[w->touched[i]] = 0;
	}
	put_array(w);
	w->groups += w->nc + w->nt;
	w->nc = w->nt = 0;
}

int hb_load_delta(struct hb_loader *l, int64_t token)
{
	struct hb_word *w = &l->word;
	const struct rows *rs = &l->rec;
	int64_t m = 0;
	size_t live = 0;
	int have = 0;

	hb_buf_reset(&w->out);
	hb_buf_reset(&w->arr);
	w->groups = w->nc = w->nt = 0;
	hb_copy_begin(&w->out);
	for (size_t i = 0; i < rs->n; i++) {
		const struct row *r = &rs->r[i];
		int64_t rm = hb_load_minute(r->ts_us);
		struct hb_word_cust *c;

		if (r->refused)
			continue;
		if (r->hr < 0 || r->hr > HB_WORD_HR_MAX)
			goto none;
		live++;
		if (!have || rm != m) {
			if (have)
				emit(l, w, token, m);
			m = rm;
			have = 1;
		}
		c = w->nc ? &w->c[w->nc - 1] : NULL;
		if (!c || c->len != r->cid_len ||
		    memcmp(l->arena.p + c->off, l->arena.p + r->cid_off, r->cid_len) != 0) {
			if (w->nc == w->cap && grow(w) < 0)
				goto none;
			c = &w->c[w->nc++];
			*c = (struct hb_word_cust){r->cid_off, r->cid_len, 0, r->hr, r->hr, 0};
		}
		c->n++;
		c->sum += r->hr;
		if (r->hr < c->min)
			c->min = r->hr;
		if (r->hr > c->max)
			c->max = r->hr;
		if (w->hist[r->hr]++ == 0)
			w->touched[w->nt++] = (uint16_t)r->hr;
	}
	if (have)
		emit(l, w, token, m);
	hb_copy_end(&w->out);
	if (live && (live < HB_WORD_SMALL || w->groups <= live) && !hb_buf_oom(&w->out) &&
	    !hb_buf_oom(&w->arr))
		return 1;
none:
	for (size_t i = 0; i < w->nt; i++)
		w->hist[w->touched[i]] = 0;
	w->nc = w->nt = 0;
	if (hb_buf_oom(&w->out) || hb_buf_oom(&w->arr)) {
		hb_buf_release(&w->out);	/* (oom is sticky until released) */
		hb_buf_release(&w->arr);
	}
	return 0;
}

/*
 * A new token: a word is found by its token and minute, so two loaders (or
 * two batches) must not share one while either is pending; splitmix64 over
 * a seed from the clock, the process and this loader.
 */
int64_t hb_load_token(struct hb_word *w)
{
	uint64_t z;

	if (!w->seed)
		w->seed = (uint64_t)hb_time_now_us() ^ ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)w;
	z = (w->seed += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (int64_t)((z >> 1) | 1);	/* odd, so never 0; at most 2^63-1 */
}

void hb_load_delta_free(struct hb_word *w)
{
	free(w->c);
	hb_buf_release(&w->arr);
	hb_buf_release(&w->out);
}

/*
 * BEGIN, and with a COPY straight into heartbeat_records its word on the
 * rows first (hb_load_delta above), under a token of its own as hbmon.delta:
 * the note trigger checks it against what the COPY stores.  The rollups
 * only need it where hbpgload folds (has_fold), else it would wait unread.
 */
enum hb_pgerr hb_load_begin(struct hb_loader *l, enum mode m, int split, char *err, size_t errsz)
{
	char sql[80];
	int64_t token;
	enum hb_pgerr e;

	if (m != FAST || split || !l->has_delta || !l->has_fold ||
	    hb_load_delta(l, token = hb_load_token(&l->word)) != 1)
		return hb_pg_exec(l->conn, "BEGIN", NULL, err, errsz);
	snprintf(sql, sizeof sql, "BEGIN; SET LOCAL hbmon.delta = '%lld'", (long long)token);
	e = hb_pg_exec(l->conn, sql, NULL, err, errsz);
	if (e == HB_PGE_OK)
		e = hb_pg_copy(l->conn, COPY_WORD, l->word.out.p, l->word.out.len, NULL, err, errsz);
	if (e == HB_PGE_OK || e == HB_PGE_RETRY)
		return e;
	/* The word only saves the fold work: refused (its table gone, a right
	 * revoked since the connection checked), the loader goes on without. */
	{
		char ignore[256];

		hb_pg_exec(l->conn, "ROLLBACK", NULL, ignore, sizeof ignore);
	}
	l->has_delta = 0;
	return hb_pg_exec(l->conn, "BEGIN", NULL, err, errsz);
}
