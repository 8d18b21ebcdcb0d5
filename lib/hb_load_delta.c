/*
 * hb_load_delta — the loader's word on the readings it stored, per minute,
 * so that the fold need not read them back from the table (hb_rollup_delta,
 * 012_rollups.sql).
 *
 * Each batch COPYd straight into heartbeat_records goes in under the
 * loader's token (hbmon.delta, one per loader): the note trigger records,
 * per minute, the token and the count and heart-rate sum of the rows the
 * statement stored.  Once the batch has committed, its readings are added
 * here to their minute's word: per customer the count, sum, lowest and
 * highest heart rate, and the count per heart rate.  When the loader has
 * passed a minute (a batch stored starts after it), or at its end, the
 * minute's word goes to hb_rollup_delta, in a statement of its own.  The
 * fold of a minute folded for the first time takes the words in place of
 * its rows when, for each token noted in it, the words' count and sum are
 * the notes': anything else (a word not sent yet, a late batch after it, a
 * duplicate skipped, another writer) reads the rows, as it always did.
 *
 * Why per minute, not per batch (as from 2026-12-04 to 2026-12-05): a
 * fleet of 100,000 customers reading once a second puts each customer
 * about once in a batch of 50,000, so a batch's word was the rows again and
 * none was sent; the fold of each minute read its 6,000,000 rows back, and
 * at the end of a load the last minute's fold took 4.1 s of a 34 s load.  A
 * minute's word is one group per customer, whatever the batches.
 *
 * Why: reading a minute's rows back costs the fold about 1 µs of CPU a row
 * (the BRIN index summarized, the pages just written read again, two hash
 * tables).  The word costs hbpgload one hash lookup per customer and
 * minute of a batch (hb_load_order.c has just grouped its rows so), and
 * PostgreSQL a row of arrays per minute.
 *
 * No word for a minute with more groups than readings (its customers read
 * about once each: the word would be the rows again), unless it is small
 * (fewer than HB_WORD_SMALL readings: a quiet stream's minute, where
 * reading its rows would make the fold summarize every page loaded since
 * its last summary); nor for a minute with a heart rate outside
 * 0..HB_WORD_HR_MAX.  Words wait in memory for HB_WORD_MINUTES minutes and
 * HB_WORD_GROUPS groups at most (input out of time order, sparse readings
 * over many minutes): readings past that get no word (their minutes' folds
 * read the rows), and once a batch reaches a limit all the words are sent
 * (a word for part of a minute's readings; the rest of them come with
 * another, and the fold adds them up).  Memory: 23 kB a minute and 60 bytes a
 * group while it waits, and 70 more in the COPY data while it is sent
 * (released after, above 4 MB): 100,000 customers' minute is 13 MB.
 * A word lists each customer once (customer_of's hash table): the fold
 * takes a minute's only word without grouping it again.
 */
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
#define HB_WORD_MINUTES 64
#define HB_WORD_GROUPS (1u << 18)

/*
 * The loader's token: a word is found by its token and minute, so two
 * loaders must not share one; splitmix64 over a seed from the clock, the
 * process and this loader.
 */
static int64_t token(struct hb_word *w)
{
	uint64_t z;

	if (w->token)
		return w->token;
	w->seed = (uint64_t)hb_time_now_us() ^ ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)w;
	z = (w->seed += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return w->token = (int64_t)((z >> 1) | 1);	/* odd, so never 0; at most 2^63-1 */
}

static void min_free(struct hb_word_min *wm)
{
	if (!wm)
		return;
	free(wm->c);
	free(wm->slot);
	hb_buf_release(&wm->names);
	free(wm);
}

/* Minute m's word, made if need be; NULL without memory, or past
 * HB_WORD_MINUTES (a batch of sparse readings over thousands of minutes:
 * those past it get no word, and their folds read the rows). */
static struct hb_word_min *minute_of(struct hb_word *w, int64_t m)
{
	struct hb_word_min *wm;

	for (size_t i = w->nmin; i-- > 0;)
		if (w->min[i]->m == m)
			return w->min[i];
	if (w->nmin >= HB_WORD_MINUTES)
		return NULL;
	if (w->nmin == w->capmin) {
		size_t cap = w->capmin ? w->capmin * 2 : 8;
		struct hb_word_min **p = realloc(w->min, cap * sizeof *p);

		if (!p)
			return NULL;
		w->min = p;
		w->capmin = cap;
	}
	if (!(wm = calloc(1, sizeof *wm)))
		return NULL;
	wm->m = m;
	w->min[w->nmin++] = wm;
	return wm;
}

static uint32_t hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The hash table of wm at twice the size (or its first). */
static int rehash(struct hb_word_min *wm)
{
	size_t cap = wm->mask ? (wm->mask + 1) * 2 : 1024;
	uint32_t *slot = calloc(cap, sizeof *slot);

	if (!slot)
		return -1;
	for (size_t i = 0; i < wm->nc; i++) {
		size_t k = wm->c[i].hash & (cap - 1);

		while (slot[k])
			k = (k + 1) & (cap - 1);
		slot[k] = (uint32_t)i + 1;
	}
	free(wm->slot);
	wm->slot = slot;
	wm->mask = cap - 1;
	return 0;
}

/* Customer s of minute wm, added if new; NULL without memory. */
static struct hb_word_cust *customer_of(struct hb_word *w, struct hb_word_min *wm, const char *s, uint32_t n)
{
	uint32_t h = hash(s, n);
	size_t k;
	struct hb_word_cust *c;

	if (w->groups >= HB_WORD_GROUPS)
		return NULL;	/* the minute gets no word (its fold reads the rows) */
	if ((wm->nc + 1) * 2 > wm->mask + 1 && rehash(wm) < 0)
		return NULL;
	for (k = h & wm->mask; wm->slot[k]; k = (k + 1) & wm->mask) {
		c = &wm->c[wm->slot[k] - 1];
		if (c->hash == h && c->len == n && memcmp(wm->names.p + c->off, s, n) == 0)
			return c;
	}
	if (wm->nc == wm->cap) {
		size_t cap = wm->cap ? wm->cap * 2 : 256;

		if (!(c = realloc(wm->c, cap * sizeof *c)))
			return NULL;
		wm->c = c;
		wm->cap = cap;
	}
	c = &wm->c[wm->nc];
	*c = (struct hb_word_cust){(uint32_t)wm->names.len, n, h, INT32_MAX, INT32_MIN, 0, 0};
	hb_buf_put(&wm->names, s, n);
	if (hb_buf_oom(&wm->names))
		return NULL;
	wm->slot[k] = (uint32_t)++wm->nc;
	w->groups++;
	return c;
}

enum hb_pgerr hb_load_begin(struct hb_loader *l, enum mode m, int split, char *err, size_t errsz)
{
	char sql[80];

	if (m != FAST || split || !l->has_delta || !l->has_fold)
		return hb_pg_exec(l->conn, "BEGIN", NULL, err, errsz);
	l->pend.worded = 1;
	snprintf(sql, sizeof sql, "BEGIN; SET LOCAL hbmon.delta = '%lld'", (long long)token(&l->word));
	return hb_pg_exec(l->conn, sql, NULL, err, errsz);
}

void hb_load_word_take(struct hb_loader *l)
{
	struct hb_word *w = &l->word;
	struct hb_word_min *wm = NULL;
	struct hb_word_cust *c = NULL;
	const char *last = NULL;
	uint32_t last_len = 0;

	if (!l->pend.worded)
		return;
	for (size_t i = 0; i < l->rec.n; i++) {
		const struct row *r = &l->rec.r[i];
		const char *cid = l->arena.p + r->cid_off;
		int64_t m;

		if (r->refused || !r->has_ts)
			continue;
		m = hb_load_minute(r->ts_us);
		if (!wm || wm->m != m) {
			if (!(wm = minute_of(w, m)))
				continue;	/* no word: its fold reads the rows */
			c = NULL;
		}
		if (wm->bad)
			continue;
		if (r->hr < 0 || r->hr > HB_WORD_HR_MAX) {
			wm->bad = 1;
			continue;
		}
		/* the rows come grouped by minute and customer (hb_load_order.c) */
		if (!c || last_len != r->cid_len || memcmp(last, cid, r->cid_len) != 0) {
			if (!(c = customer_of(w, wm, cid, r->cid_len))) {
				wm->bad = 1;
				continue;
			}
			last = cid;
			last_len = r->cid_len;
		}
		c->n++;
		c->sum += r->hr;
		if (r->hr < c->min)
			c->min = r->hr;
		if (r->hr > c->max)
			c->max = r->hr;
		wm->hist[r->hr]++;
		wm->readings++;
	}
}

/* The one field of an array, from w->arr. */
static void put_array(struct hb_word *w)
{
	hb_copy_text(&w->out, w->arr.p, w->arr.len);
	hb_buf_reset(&w->arr);
}

/* Minute wm's row of hb_rollup_delta: 1, or 0 when it has no word worth sending. */
static int emit(struct hb_word *w, const struct hb_word_min *wm)
{
	struct hb_buf *a = &w->arr;
	uint32_t nt = 0;

	if (wm->bad || !wm->readings || wm->readings > INT32_MAX)
		return 0;
	for (int h = 0; h <= HB_WORD_HR_MAX; h++)
		nt += wm->hist[h] > 0;
	if (wm->readings >= HB_WORD_SMALL && wm->nc + nt > wm->readings)
		return 0;
	hb_copy_row(&w->out, 9);
	hb_copy_int8(&w->out, w->token);
	hb_copy_ts(&w->out, wm->m * 60000000);
	hb_copy_array_head(a, HB_OID_TEXT, (uint32_t)wm->nc);
	for (size_t i = 0; i < wm->nc; i++)
		hb_copy_text(a, wm->names.p + wm->c[i].off, wm->c[i].len);
	put_array(w);
	hb_copy_array_head(a, HB_OID_INT4, (uint32_t)wm->nc);
	for (size_t i = 0; i < wm->nc; i++)
		hb_copy_int4(a, (int32_t)wm->c[i].n);
	put_array(w);
	hb_copy_array_head(a, HB_OID_INT8, (uint32_t)wm->nc);
	for (size_t i = 0; i < wm->nc; i++)
		hb_copy_int8(a, wm->c[i].sum);
	put_array(w);
	hb_copy_array_head(a, HB_OID_INT4, (uint32_t)wm->nc);
	for (size_t i = 0; i < wm->nc; i++)
		hb_copy_int4(a, wm->c[i].min);
	put_array(w);
	hb_copy_array_head(a, HB_OID_INT4, (uint32_t)wm->nc);
	for (size_t i = 0; i < wm->nc; i++)
		hb_copy_int4(a, wm->c[i].max);
	put_array(w);
	hb_copy_array_head(a, HB_OID_INT4, nt);
	for (int h = 0; h <= HB_WORD_HR_MAX; h++)
		if (wm->hist[h])
			hb_copy_int4(a, h);
	put_array(w);
	hb_copy_array_head(a, HB_OID_INT4, nt);
	for (int h = 0; h <= HB_WORD_HR_MAX; h++)
		if (wm->hist[h])
			hb_copy_int4(a, (int32_t)wm->hist[h]);
	put_array(w);
	return 1;
}

/* A word refused for what it is (not the connection) would be refused again. */
static int is_retry(enum hb_pgerr e)
{
	return e == HB_PGE_OK || e == HB_PGE_RETRY;
}

void hb_load_word_send(struct hb_loader *l, int all)
{
	struct hb_word *w = &l->word;
	size_t keep = 0, rows = 0;
	char err[256];

	if (!w->nmin)
		return;
	if (w->nmin >= HB_WORD_MINUTES || w->groups >= HB_WORD_GROUPS)
		all = 1;
	hb_buf_reset(&w->out);
	hb_buf_reset(&w->arr);
	hb_copy_begin(&w->out);
	for (size_t i = 0; i < w->nmin; i++) {
		struct hb_word_min *wm = w->min[i];

		if (!all && (!l->has_passed || wm->m * 60000000 >= l->passed_us)) {
			w->min[keep++] = wm;
			continue;
		}
		rows += (size_t)emit(w, wm);
		w->groups -= wm->nc;
		min_free(wm);
	}
	w->nmin = keep;
	hb_copy_end(&w->out);
	/* Only the fold's work depends on a word: one not sent (no memory, a
	 * right revoked since the connection checked, the connection lost,
	 * which the next batch finds) leaves the fold to read the rows. */
	if (rows && l->has_delta && l->conn && !hb_buf_oom(&w->out) && !hb_buf_oom(&w->arr) &&
	    !is_retry(hb_pg_copy(l->conn, COPY_WORD, w->out.p, w->out.len, NULL, err, sizeof err)))
		l->has_delta = 0;
	if (hb_buf_oom(&w->out) || hb_buf_oom(&w->arr) || w->out.cap > (4u << 20)) {
		hb_buf_release(&w->out);	/* (oom is sticky until released) */
		hb_buf_release(&w->arr);
	}
}

void hb_load_delta_free(struct hb_word *w)
{
	for (size_t i = 0; i < w->nmin; i++)
		min_free(w->min[i]);
	free(w->min);
	hb_buf_release(&w->arr);
	hb_buf_release(&w->out);
}
