/* hb_load — batches of classified readings into PostgreSQL (see hb_load.h):
 * encoding, storing with its fallbacks, day partitions, metrics and
 * acknowledgements.  Adding lines to a batch is in hb_load_add.c. */
#include "hb_load.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_days.h"
#include "hb_event.h"
#include "hb_fold.h"
#include "hb_json.h"
#include "hb_load_int.h"
#include "hb_pg.h"
#include "hb_time.h"


static const char COPY_REC[] =
	"COPY heartbeat_records (customer_id, ts, heart_rate) FROM STDIN (FORMAT binary)";
static const char COPY_REC_STAGE[] = "COPY hb_stage_records FROM STDIN (FORMAT binary)";
static const char INS_REC[] =
	"INSERT INTO heartbeat_records (customer_id, ts, heart_rate) "
	"SELECT customer_id, ts, heart_rate FROM hb_stage_records ON CONFLICT DO NOTHING";
/* heartbeat_anomalies' columns hbpgload fills; the Kafka coordinates when the
 * schema has them ([1]), not in a database whose sql/ is older ([0]). */
#define ANOM_COLS "anomaly_type, customer_id, ts, heart_rate, reason, raw, raw_bytes, raw_length"
#define COORD_COLS ", kafka_topic, kafka_partition, kafka_offset"
static const char *const COPY_ANOM[2] = {
	"COPY heartbeat_anomalies (" ANOM_COLS ") FROM STDIN (FORMAT binary)",
	"COPY heartbeat_anomalies (" ANOM_COLS COORD_COLS ") FROM STDIN (FORMAT binary)",
};
static const char *const COPY_ANOM_STAGE[2] = {
	"COPY hb_stage_anomalies (" ANOM_COLS ") FROM STDIN (FORMAT binary)",
	"COPY hb_stage_anomalies (" ANOM_COLS COORD_COLS ") FROM STDIN (FORMAT binary)",
};
static const char *const INS_ANOM[2] = {
	"INSERT INTO heartbeat_anomalies (" ANOM_COLS ") SELECT " ANOM_COLS
	" FROM hb_stage_anomalies ON CONFLICT DO NOTHING",
	"INSERT INTO heartbeat_anomalies (" ANOM_COLS COORD_COLS ") SELECT " ANOM_COLS COORD_COLS
	" FROM hb_stage_anomalies ON CONFLICT DO NOTHING",
};

static const char SETUP[] =
	"SET client_min_messages = warning;"
	"CREATE TEMP TABLE IF NOT EXISTS hb_stage_records "
	"(customer_id text COLLATE \"C\", ts timestamptz, heart_rate integer) ON COMMIT DELETE ROWS;"
	"CREATE TEMP TABLE IF NOT EXISTS hb_stage_anomalies "
	"(anomaly_type text, customer_id text COLLATE \"C\", ts timestamptz, heart_rate integer, "
	"reason text, raw text, raw_bytes bytea, raw_length integer, "
	"kafka_topic text, kafka_partition integer, kafka_offset bigint) ON COMMIT DELETE ROWS";

static const char CHECK_SCHEMA[] =
	"SELECT to_regclass('heartbeat_records') IS NOT NULL"
	" AND to_regclass('heartbeat_anomalies') IS NOT NULL"
	" AND to_regclass('pipeline_metrics') IS NOT NULL,"
	" current_setting('server_encoding'),"
	/* the alerts' part of the schema: a database from before it still takes
	 * readings; alert events and states need sql/ applied */
	" to_regprocedure('hb_alerts_apply(jsonb)') IS NOT NULL"
	" AND to_regprocedure('hb_state_apply(jsonb)') IS NOT NULL"
	" AND EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('pipeline_metrics')"
	" AND attname = 'marks_in' AND NOT attisdropped),"
	/* the folded rollups (012_rollups.sql): hbpgload folds after its commits */
	" coalesce(has_function_privilege(to_regprocedure('hb_rollup_fold(interval,integer,boolean)'),"
	" 'EXECUTE'), false),"
	/* the Kafka coordinates of anomaly rows (010_readings.sql) */
	" (SELECT count(*) = 3 FROM pg_attribute WHERE attrelid = to_regclass('heartbeat_anomalies')"
	" AND attname IN ('kafka_topic', 'kafka_partition', 'kafka_offset') AND NOT attisdropped),"
	/* folding the minutes a loader has passed (012_rollups.sql, 2026-12-03) */
	" coalesce(has_function_privilege(to_regprocedure("
	"'hb_rollup_fold_before(timestamptz,interval,integer,boolean)'), 'EXECUTE'), false),"
	/* the loader's word on its rows, per minute (012_rollups.sql, 2026-12-05):
	 * the notes count a token's rows for the fold to check the word by */
	" coalesce(has_table_privilege(to_regclass('hb_rollup_delta'), 'INSERT'), false)"
	" AND EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('hb_rollup_pending')"
	" AND attname = 'hr_sum' AND NOT attisdropped)";

static const char CHECK_PRIV[] =
	"SELECT has_table_privilege('heartbeat_records', 'INSERT')"
	" AND has_table_privilege('heartbeat_anomalies', 'INSERT')"
	" AND has_table_privilege('pipeline_metrics', 'INSERT')"
	" AND (to_regprocedure('hb_alerts_apply(jsonb)') IS NULL"
	" OR has_function_privilege('hb_alerts_apply(jsonb)', 'EXECUTE'))"
	" AND (to_regprocedure('hb_state_apply(jsonb)') IS NULL"
	" OR has_function_privilege('hb_state_apply(jsonb)', 'EXECUTE'))";

static const char APPLY_ALERTS[] = "SELECT hb_alerts_apply($1::jsonb)";
static const char APPLY_STATES[] = "SELECT hb_state_apply($1::jsonb)";

struct hb_loader *hb_loader_new(const struct hb_load_opts *o)
{
	struct hb_loader *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	l->o = *o;
	l->st.consumer_lag = -1;
	if (!l->o.batch_bytes)
		l->o.batch_bytes = 32u << 20;
	l->parser = hb_parser_new();
	if (!l->parser) {
		free(l);
		return NULL;
	}
	return l;
}

void hb_loader_free(struct hb_loader *l)
{
	if (!l)
		return;
	hb_loader_disconnect(l);
	hb_folder_free(l->folder);
	hb_parser_free(l->parser);
	free(l->rec.r);
	free(l->anom.r);
	free(l->spare.r);
	hb_load_order_free(&l->order);
	hb_load_delta_free(&l->word);
	free(l->acks);
	hb_buf_release(&l->alerts);
	hb_buf_release(&l->states);
	hb_buf_release(&l->arena);
	hb_buf_release(&l->copy);
	hb_buf_release(&l->tmp);
	free(l);
}

void hb_loader_on_commit(struct hb_loader *l,
			 void (*fn)(void *arg, const struct hb_coord *c, size_t n), void *arg)
{
	l->on_commit = fn;
	l->commit_arg = arg;
}

void hb_loader_on_reject(struct hb_loader *l,
			 void (*fn)(void *arg, uint64_t lineno, const char *msg), void *arg)
{
	l->on_reject = fn;
	l->reject_arg = arg;
}

void hb_loader_on_no_days(struct hb_loader *l,
			  void (*fn)(void *arg, const char *from, const char *to, const char *msg),
			  void *arg)
{
	l->on_no_days = fn;
	l->no_days_arg = arg;
}

void hb_loader_on_no_coords(struct hb_loader *l, void (*fn)(void *arg), void *arg)
{
	l->on_no_coords = fn;
	l->no_coords_arg = arg;
}

const struct hb_load_stats *hb_loader_stats(const struct hb_loader *l)
{
	return &l->st;
}

size_t hb_loader_rows(const struct hb_loader *l)
{
	return l->rec.n + l->anom.n + l->nalerts + l->nstates;
}

size_t hb_loader_bytes(const struct hb_loader *l)
{
	return l->arena.len + l->alerts.len + l->states.len;
}

void hb_loader_disconnect(struct hb_loader *l)
{
	PQfinish(l->conn);
	l->conn = NULL;
}

/* ---- encoding ---- */

static void encode_rec(struct hb_loader *l, const struct row *r, size_t lo, size_t hi)
{
	struct hb_buf *b = &l->copy;

	hb_buf_reset(b);
	hb_copy_begin(b);
	for (size_t i = lo; i < hi; i++) {
		if (r[i].refused)
			continue;
		hb_copy_row(b, 3);
		hb_copy_text(b, l->arena.p + r[i].cid_off, r[i].cid_len);
		hb_copy_ts(b, r[i].ts_us);
		hb_copy_int4(b, r[i].hr);
	}
	hb_copy_end(b);
}

/* kafka_topic, kafka_partition, kafka_offset: NULL for a line without them. */
static void encode_coords(struct hb_loader *l, const struct row *r)
{
	struct hb_buf *b = &l->copy;

	if (r->part < 0) {
		hb_copy_null(b);
		hb_copy_null(b);
		hb_copy_null(b);
		return;
	}
	if (l->o.topic)
		hb_copy_text(b, l->o.topic, strlen(l->o.topic));
	else
		hb_copy_null(b);
	hb_copy_int4(b, r->part);
	hb_copy_int8(b, r->offset);
}

static void encode_anom(struct hb_loader *l, const struct row *r, size_t lo, size_t hi)
{
	struct hb_buf *b = &l->copy;
	const char *a = l->arena.p;

	hb_buf_reset(b);
	hb_copy_begin(b);
	for (size_t i = lo; i < hi; i++) {
		const char *type = hb_status_name((enum hb_status)r[i].status);

		if (r[i].refused)
			continue;
		hb_copy_row(b, l->has_coords ? 11 : 8);
		hb_copy_text(b, type, strlen(type));
		if (r[i].has_cid)
			hb_copy_text(b, a + r[i].cid_off, r[i].cid_len);
		else
			hb_copy_null(b);
		if (r[i].has_ts)
			hb_copy_ts(b, r[i].ts_us);
		else
			hb_copy_null(b);
		if (r[i].has_hr)
			hb_copy_int4(b, r[i].hr);
		else
			hb_copy_null(b);
		if (r[i].has_reason)
			hb_copy_text(b, a + r[i].reason_off, r[i].reason_len);
		else
			hb_copy_null(b);
		hb_copy_text(b, a + r[i].raw_off, r[i].raw_len);
		if (r[i].has_bytes)
			hb_copy_text(b, a + r[i].bytes_off, r[i].bytes_len);
		else
			hb_copy_null(b);
		hb_copy_int4(b, r[i].raw_length > INT32_MAX ? INT32_MAX : (int32_t)r[i].raw_length);
		if (l->has_coords)
			encode_coords(l, &r[i]);
	}
	hb_copy_end(b);
}

/* ---- storing ---- */

struct table {
	int anomalies;
	struct rows *rows;
};

static size_t live_rows(const struct row *r, size_t lo, size_t hi)
{
	size_t k = 0;

	for (size_t i = lo; i < hi; i++)
		k += !r[i].refused;
	return k;
}

/* Rows [lo,hi) of t in mode m; adds to pend. */
static enum hb_pgerr load_range(struct hb_loader *l, const struct table *t, size_t lo, size_t hi,
				enum mode m, char *err, size_t errsz)
{
	size_t want = live_rows(t->rows->r, lo, hi);
	long long got = 0;
	enum hb_pgerr rc;

	if (!want)
		return HB_PGE_OK;
	if (t->anomalies)
		encode_anom(l, t->rows->r, lo, hi);
	else
		encode_rec(l, t->rows->r, lo, hi);
	if (hb_buf_oom(&l->copy)) {
		snprintf(err, errsz, "out of memory encoding a batch");
		return HB_PGE_FATAL;
	}
	if (m == FAST) {
		rc = hb_pg_copy(l->conn, t->anomalies ? COPY_ANOM[l->has_coords] : COPY_REC, l->copy.p,
				l->copy.len, &got, err, errsz);
	} else {
		rc = hb_pg_copy(l->conn, t->anomalies ? COPY_ANOM_STAGE[l->has_coords] : COPY_REC_STAGE,
				l->copy.p, l->copy.len, NULL, err, errsz);
		if (rc == HB_PGE_OK)
			rc = hb_pg_exec(l->conn, t->anomalies ? INS_ANOM[l->has_coords] : INS_REC, &got,
					err, errsz);
		if (rc == HB_PGE_OK)
			rc = hb_pg_exec(l->conn, t->anomalies ? "TRUNCATE hb_stage_anomalies" :
					"TRUNCATE hb_stage_records", NULL, err, errsz);
	}
	if (rc == HB_PGE_OK) {
		l->pend.stored += (uint64_t)got;
		l->pend.duplicates += want - (size_t)got;
		if ((size_t)got != want)
			l->pend.fast_all = 0;
	}
	return rc;
}

/* An INVALID copy of a refused row, to be stored in its place. */
static int add_refused(struct hb_loader *l, struct row *src, const char *msg)
{
	struct row *r = hb_load_push(&l->anom), copy;
	char reason[600];

	if (!r)
		return -1;
	copy = *src;	/* src is a row of rec, or of anom before it grew: copy first */
	*r = copy;
	l->pend.moved[copy.status]++;
	r->refused = 0;
	r->status = HB_INVALID;
	r->has_cid = r->has_ts = r->has_hr = 0;
	snprintf(reason, sizeof reason, "database refused: %s", msg);
	hb_load_keep_reason(l, r, reason, strlen(reason));
	if (r->raw_length < 0)
		r->raw_length = r->raw_len;
	l->pend.rejected++;
	l->pend.fast_all = 0;
	return 0;
}

/* Split [lo,hi) under savepoints until the refused rows are found. */
static enum hb_pgerr bisect(struct hb_loader *l, const struct table *t, size_t lo, size_t hi,
			    char *err, size_t errsz)
{
	enum hb_pgerr rc;
	struct pending saved = l->pend;

	if (!live_rows(t->rows->r, lo, hi))
		return HB_PGE_OK;
	if ((rc = hb_pg_exec(l->conn, "SAVEPOINT hb", NULL, err, errsz)) != HB_PGE_OK)
		return rc;
	rc = load_range(l, t, lo, hi, STAGE, err, errsz);
	if (rc == HB_PGE_OK)
		return hb_pg_exec(l->conn, "RELEASE SAVEPOINT hb", NULL, err, errsz);
	if (rc != HB_PGE_DATA && rc != HB_PGE_DUP)
		return rc;
	l->pend = saved;
	if ((rc = hb_pg_exec(l->conn, "ROLLBACK TO SAVEPOINT hb; RELEASE SAVEPOINT hb", NULL,
			     err, errsz)) != HB_PGE_OK)
		return rc;
	if (hi - lo == 1) {
		uint64_t lineno = t->rows->r[lo].lineno;
		const struct row *r = &t->rows->r[lo];

		if (t->anomalies && r->status == HB_INVALID && !r->has_cid && !r->has_ts && !r->has_hr) {
			size_t k = strlen(err);

			snprintf(err + k, errsz - k, " (line %llu, even stored as INVALID)",
				 (unsigned long long)lineno);
			return HB_PGE_FATAL;
		}
		t->rows->r[lo].refused = 1;
		/* add_refused may move anom's rows: r is not used after it */
		if (add_refused(l, &t->rows->r[lo], err) < 0) {
			snprintf(err, errsz, "out of memory");
			return HB_PGE_FATAL;
		}
		if (l->on_reject)
			l->on_reject(l->reject_arg, lineno, err);
		return HB_PGE_OK;
	}
	rc = bisect(l, t, lo, lo + (hi - lo) / 2, err, errsz);
	if (rc == HB_PGE_OK)
		rc = bisect(l, t, lo + (hi - lo) / 2, hi, err, errsz);
	return rc;
}

/* Store a whole table's rows in mode m, or by bisection. */
static enum hb_pgerr load_table(struct hb_loader *l, const struct table *t, enum mode m,
				int split, char *err, size_t errsz)
{
	size_t done = 0;
	enum hb_pgerr rc;

	if (!split)
		return load_range(l, t, 0, t->rows->n, m, err, errsz);
	/* Refused rows append INVALID copies to anomalies: load those too. */
	do {
		size_t n = t->rows->n;

		rc = bisect(l, t, done, n, err, errsz);
		done = n;
	} while (rc == HB_PGE_OK && t->anomalies && done < t->rows->n);
	return rc;
}

/*
 * One SELECT fn($1::jsonb) with the array in b (its closing bracket added
 * for the call only, so a retry sends the same).  *applied gets the
 * function's result.
 */
static enum hb_pgerr apply_json(struct hb_loader *l, const char *sql, struct hb_buf *b,
				uint64_t *applied, char *err, size_t errsz)
{
	const char *param;
	enum hb_pgerr e;
	PGresult *res;

	hb_buf_putc(b, ']');
	hb_buf_putc(b, '\0');
	if (hb_buf_oom(b)) {
		snprintf(err, errsz, "out of memory collecting alert events or states");
		return HB_PGE_FATAL;
	}
	param = b->p;
	res = PQexecParams(l->conn, sql, 1, NULL, &param, NULL, NULL, 0);
	b->len -= 2;
	e = hb_pg_classify(l->conn, res);
	if (e != HB_PGE_OK)
		hb_pg_msg(l->conn, res, err, errsz);
	else if (applied && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		*applied += (uint64_t)atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return e;
}

/* The batch's alert events, then its states (see hb_load.h). */
static enum hb_pgerr apply_ctl(struct hb_loader *l, char *err, size_t errsz)
{
	enum hb_pgerr e = HB_PGE_OK;

	if ((l->nalerts || l->nstates) && !l->has_alerts) {
		snprintf(err, errsz, "alert events and states need hb_alerts_apply and hb_state_apply "
			 "in database \"%s\": apply sql/ first (scripts/hb-pg apply)", PQdb(l->conn));
		return HB_PGE_FATAL;
	}
	if (l->nalerts)
		e = apply_json(l, APPLY_ALERTS, &l->alerts, &l->pend.alerts_applied, err, errsz);
	if (e == HB_PGE_OK && l->nstates)
		e = apply_json(l, APPLY_STATES, &l->states, NULL, err, errsz);
	return e;
}

static enum hb_load_rc fail(struct hb_loader *l, enum hb_pgerr e)
{
	if (e == HB_PGE_RETRY) {
		hb_loader_disconnect(l);
		return HB_LOAD_RETRY;
	}
	if (l->conn && PQtransactionStatus(l->conn) != PQTRANS_IDLE) {
		PGresult *res = PQexec(l->conn, "ROLLBACK");

		PQclear(res);
	}
	return HB_LOAD_FATAL;
}

static enum hb_load_rc connect_db(struct hb_loader *l, char *err, size_t errsz)
{
	int permanent;
	PGresult *res;
	char msg[512];
	enum hb_pgerr e;

	l->conn = hb_pg_connect(l->o.conninfo, "hbpgload", msg, sizeof msg, &permanent);
	if (!l->conn) {
		snprintf(err, errsz, "cannot connect to PostgreSQL: %s", msg);
		return permanent ? HB_LOAD_CONFIG : HB_LOAD_RETRY;
	}
	PQsetNoticeProcessor(l->conn, NULL, NULL);
	res = PQexec(l->conn, CHECK_SCHEMA);
	if ((e = hb_pg_classify(l->conn, res)) != HB_PGE_OK || PQntuples(res) != 1) {
		snprintf(err, errsz, "checking the schema: %s", hb_pg_msg(l->conn, res, msg, sizeof msg));
		PQclear(res);
		return e == HB_PGE_RETRY ? fail(l, e) : HB_LOAD_CONFIG;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		snprintf(err, errsz, "tables heartbeat_records, heartbeat_anomalies and pipeline_metrics "
			 "not found in database \"%s\": apply sql/ first (scripts/hb-pg apply)", PQdb(l->conn));
		PQclear(res);
		return HB_LOAD_CONFIG;
	}
	l->has_alerts = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	l->has_fold = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	l->has_coords = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	l->has_fold_before = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
	l->has_delta = strcmp(PQgetvalue(res, 0, 6), "t") == 0;
	PQclear(res);
	res = PQexec(l->conn, CHECK_PRIV);
	if (hb_pg_classify(l->conn, res) == HB_PGE_OK && strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		snprintf(err, errsz, "role \"%s\" may not INSERT into the hbmon tables or store "
			 "alerts (GRANT hbmon_loader TO %s)", PQuser(l->conn), PQuser(l->conn));
		PQclear(res);
		return HB_LOAD_CONFIG;
	}
	PQclear(res);
	e = hb_pg_exec(l->conn, SETUP, NULL, msg, sizeof msg);
	if (e != HB_PGE_OK) {
		snprintf(err, errsz, "preparing the session: %s", msg);
		return e == HB_PGE_RETRY ? fail(l, e) : HB_LOAD_CONFIG;
	}
	return HB_LOAD_OK;
}

/* The counters as they will be once the flush in progress commits. */
static void project(const struct hb_loader *l, struct hb_load_stats *s)
{
	*s = l->st;
	s->stored += l->pend.stored;
	s->duplicates += l->pend.duplicates;
	s->rejected += l->pend.rejected;
	s->alerts_applied += l->pend.alerts_applied;
	for (int i = 0; i < HB_STATUS_COUNT; i++) {
		s->status[i] -= l->pend.moved[i];
		s->status[HB_INVALID] += l->pend.moved[i];
	}
	s->batches += hb_loader_rows(l) > 0;
}

/* The newest reading time among those committed and those of the batch in
 * progress, and whether there is any. */
static int newest_reading(const struct hb_loader *l, int64_t *us)
{
	const struct rows *all[2] = {&l->rec, &l->anom};
	int any = l->has_newest;
	int64_t t = l->newest_us;

	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < all[k]->n; i++) {
			const struct row *r = &all[k]->r[i];

			if (r->has_ts && (!any || r->ts_us > t)) {
				t = r->ts_us;
				any = 1;
			}
		}
	}
	*us = t;
	return any;
}

static void snapshot_sql(struct hb_loader *l, const char *kind, struct hb_buf *b)
{
	static struct hb_load_stats proj;	/* big (a histogram): not on the stack */
	const struct hb_load_stats *s = &proj;
	char inst[256];
	size_t k = 0;

	for (const char *p = l->o.instance ? l->o.instance : "hbpgload"; *p && k < sizeof inst - 2; p++)
		if (*p != '\'' && *p != '\\')
			inst[k++] = *p;
	inst[k] = '\0';
	project(l, &proj);
	/* the age of the newest reading stored, as of this snapshot: a snapshot
	 * made while no reading comes (hbkafka-sub's marks, the final one) says
	 * how long nothing has come, not the age it had at the last batch */
	int64_t newest, lag_ms = s->lag_ms;

	if (newest_reading(l, &newest))
		lag_ms = (hb_time_now_us() - newest) / 1000;
	/* latency over the rows since the last snapshot; none stored since
	 * (an idle pipeline, the final snapshot) is NULL, not 0 ms */
	char p50[32] = "NULL", p99[32] = "NULL";

	if (l->window.n) {
		snprintf(p50, sizeof p50, "%.3f", (double)hb_hist_quantile(&l->window, 0.5) / 1000.0);
		snprintf(p99, sizeof p99, "%.3f", (double)hb_hist_quantile(&l->window, 0.99) / 1000.0);
	}
	/* (a database from before the alerts has no columns for their counts) */
	char counts[80] = "";

	if (l->has_alerts)
		snprintf(counts, sizeof counts, ", %llu, %llu, %llu", (unsigned long long)s->alerts,
			 (unsigned long long)s->states, (unsigned long long)s->marks);
	hb_buf_printf(b,
		"INSERT INTO pipeline_metrics (source, instance, kind, rows_in, rows_stored, "
		"duplicates_skipped, rejected, normal, bradycardia, tachycardia, invalid, batches, retries, "
		"lag_ms, latency_p50_ms, latency_p99_ms, consumer_lag%s, "
		"extra) VALUES ('hbpgload', "
		"'%s', '%s', %llu, %llu, %llu, %llu, %llu, %llu, %llu, %llu, %llu, %llu, %lld, %s, %s, "
		"nullif(%lld, -1)%s, "
		"'{\"unclassified\": %llu, \"alerts_applied\": %llu}')",
		l->has_alerts ? ", alerts_in, states_in, marks_in" : "",
		inst, kind, (unsigned long long)s->rows_in, (unsigned long long)s->stored,
		(unsigned long long)s->duplicates, (unsigned long long)s->rejected,
		(unsigned long long)s->status[HB_NORMAL],
		(unsigned long long)s->status[HB_BRADYCARDIA],
		(unsigned long long)s->status[HB_TACHYCARDIA],
		(unsigned long long)s->status[HB_INVALID],
		(unsigned long long)s->batches, (unsigned long long)s->retries, (long long)lag_ms,
		p50, p99,
		(long long)s->consumer_lag, counts, (unsigned long long)s->unclassified,
		(unsigned long long)s->alerts_applied);
}

/* Partition p at offset o into the acknowledgements of this commit (the highest wins). */
static void ack_merge(struct hb_loader *l, int32_t p, int64_t o)
{
	size_t k;

	for (k = 0; k < l->nacks && l->acks[k].partition != p; k++)
		;
	if (k < l->nacks) {
		if (o > l->acks[k].offset)
			l->acks[k].offset = o;
		return;
	}
	if (l->nacks == l->capacks) {
		size_t cap = l->capacks ? l->capacks * 2 : 16;
		struct hb_coord *a = realloc(l->acks, cap * sizeof *a);

		if (!a)
			return;	/* acknowledged with a later commit, or read again */
		l->acks = a;
		l->capacks = cap;
	}
	l->acks[l->nacks].partition = p;
	l->acks[l->nacks++].offset = o;
}

/*
 * The highest offset per partition among the batch's rows, and the one held
 * back at the last commit.  With hold, when the batch's last line is a
 * reading with coordinates (no _hb_alert/_hb_state line after it), its own
 * offset is held back.  hbclassify writes the alert and state lines a
 * reading causes before that reading, but when its input pauses it writes
 * the state its readings left each customer in, and any silence alert,
 * after them; a batch stored the moment the input pauses may end just
 * before those lines.  Acknowledged with their commit, a crash in between
 * cannot lose them (Kafka delivers the readings again, and hbclassify,
 * restarted from the state stored, writes them again).
 * hb_loader_add() releases it as soon as any other line shows that
 * nothing follows.
 */
static void collect_acks(struct hb_loader *l, int hold)
{
	const struct rows *all[2] = {&l->rec, &l->anom};
	const struct row *last = NULL;

	l->nacks = 0;
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < all[t]->n; i++)
			if (!last || all[t]->r[i].lineno > last->lineno)
				last = &all[t]->r[i];
	if (!hold || !last || last->part < 0 || last->lineno < l->ctl_lineno)
		last = NULL;
	for (int t = 0; t < 2; t++) {
		for (size_t i = 0; i < all[t]->n; i++) {
			const struct row *r = &all[t]->r[i];

			if (r->part >= 0 && r != last)
				ack_merge(l, r->part, r->offset);
		}
	}
	if (l->has_held)
		ack_merge(l, l->held.partition, l->held.offset);
	l->has_held = last != NULL;
	l->held_blocked = 0;
	l->ctl_lineno = 0;
	if (last) {
		l->held.partition = last->part;
		l->held.offset = last->offset;
	}
}

void hb_loader_release_held(struct hb_loader *l)
{
	if (!l->has_held || l->held_blocked)
		return;
	l->has_held = 0;
	if (l->on_commit)
		l->on_commit(l->commit_arg, &l->held, 1);
}

static void committed(struct hb_loader *l, int final)
{
	int64_t now = hb_time_now_us(), newest = INT64_MIN, oldest = INT64_MAX, lag = -1;
	const struct rows *all[2] = {&l->rec, &l->anom};

	for (int t = 0; t < 2; t++) {
		for (size_t i = 0; i < all[t]->n; i++) {
			const struct row *r = &all[t]->r[i];

			if (r->lag > lag)
				lag = r->lag;
			if (!r->has_ts || r->refused)
				continue;
			if (r->ts_us > newest)
				newest = r->ts_us;
			if (r->ts_us < oldest)
				oldest = r->ts_us;
			if (l->pend.fast_all) {
				hb_hist_add(&l->st.latency_us, now - r->ts_us);
				hb_hist_add(&l->window, now - r->ts_us);
			}
		}
	}
	if (oldest != INT64_MAX) {
		/* the batch's first minute: its input has passed those before */
		l->passed_us = oldest - (oldest % 60000000 + 60000000) % 60000000;
		l->has_passed = 1;
	}
	if (newest != INT64_MIN) {
		l->st.lag_ms = (now - newest) / 1000;
		if (!l->has_newest || newest > l->newest_us) {
			l->newest_us = newest;
			l->has_newest = 1;
		}
	}
	if (l->rec.n + l->anom.n)
		l->st.consumer_lag = lag;
	l->st.stored += l->pend.stored;
	l->st.alerts_applied += l->pend.alerts_applied;
	l->st.duplicates += l->pend.duplicates;
	l->st.rejected += l->pend.rejected;
	for (int i = 0; i < HB_STATUS_COUNT; i++) {
		l->st.status[i] -= l->pend.moved[i];
		l->st.status[HB_INVALID] += l->pend.moved[i];
	}
	l->st.batches += hb_loader_rows(l) > 0;
	collect_acks(l, !final);
	if (l->nacks && l->on_commit)
		l->on_commit(l->commit_arg, l->acks, l->nacks);
	l->rec.n = l->anom.n = 0;
	l->nalerts = l->nstates = 0;
	hb_buf_reset(&l->alerts);
	hb_buf_reset(&l->states);
	hb_buf_reset(&l->arena);
	if (l->arena.cap > (64u << 20))
		hb_buf_release(&l->arena);	/* a huge batch should not pin its memory */
}

/* Rows with coordinates just stored without them (an older schema): tell once. */
static void coords_lost(struct hb_loader *l)
{
	if (l->has_coords || l->coords_told || !l->on_no_coords)
		return;
	for (size_t i = 0; i < l->anom.n; i++) {
		if (l->anom.r[i].part >= 0 && !l->anom.r[i].refused) {
			l->coords_told = 1;
			l->on_no_coords(l->no_coords_arg);
			return;
		}
	}
}

/* Undo what a failed attempt did to the rows: INVALID copies of refused rows go. */
static void undo_attempt(struct hb_loader *l, size_t nanom)
{
	for (size_t i = 0; i < l->rec.n; i++)
		l->rec.r[i].refused = 0;
	for (size_t i = 0; i < nanom; i++)
		l->anom.r[i].refused = 0;
	l->anom.n = nanom;
}

/*
 * Day partitions for the days ahead and the days of the rows in hand (within
 * a window, see hb_days.h), in a transaction of their own before the batch.
 * A database that cannot make them (an older schema, no right to) is told
 * once to on_no_days: the rows go to the default partition, nothing is lost.
 */
static enum hb_load_rc ensure_days(struct hb_loader *l, char *err, size_t errsz)
{
	int32_t today = hb_day_of(hb_time_now_us()), lo, hi;
	char a[HB_DAY_BUF], b[HB_DAY_BUF], sql[128], msg[512];
	enum hb_pgerr e;

	if (l->days_off || !hb_days_due(&l->days, today, &lo, &hi))
		return HB_LOAD_OK;
	hb_day_format(lo, a);
	hb_day_format(hi, b);
	snprintf(sql, sizeof sql, "SELECT hb_ensure_partitions('%s', '%s')", a, b);
	e = hb_pg_exec(l->conn, sql, NULL, msg, sizeof msg);
	if (e == HB_PGE_OK) {
		hb_days_done(&l->days, today, lo, hi);
		return HB_LOAD_OK;
	}
	if (e == HB_PGE_RETRY) {
		snprintf(err, errsz, "making day partitions: %s", msg);
		return fail(l, e);
	}
	if (l->on_no_days)
		l->on_no_days(l->no_days_arg, a, b, msg);
	l->days_off = 1;
	return HB_LOAD_OK;
}

/*
 * After a commit: the minutes that are over go into the rollups
 * (hb_rollup_fold, 012_rollups.sql), on a connection of the folder's own,
 * at most once a second, without waiting for it (the next batch does not
 * wait for a fold); at the end, waiting for it.  The minutes before the
 * first one of the batch just stored need not be quiet: a replay's are
 * folded while it loads, not all at its end.  The rollups are exact
 * without it (the views compute what is pending); it keeps reading them
 * cheap.  A failure costs nothing but the fold: counted, tried again.
 */
static void fold(struct hb_loader *l, int final)
{
	const struct hb_fold_stats *fs;

	if (!l->has_fold || !l->conn)
		return;
	if (!l->folder && !(l->folder = hb_folder_new(l->o.conninfo, "hbpgload (rollups)", 1000000)))
		return;
	hb_folder_passed(l->folder, l->has_fold_before && l->has_passed, l->passed_us);
	if (final)
		hb_folder_finish(l->folder);
	else
		hb_folder_tick(l->folder, hb_time_mono_us());
	fs = hb_folder_stats(l->folder);
	l->st.folded = fs->folded;
	l->st.fold_errors = fs->errors;
}

static enum hb_load_rc flush_once(struct hb_loader *l, const char *metrics, char *err, size_t errsz)
{
	struct table rec = {0, &l->rec}, anom = {1, &l->anom};
	size_t nanom = l->anom.n;
	enum mode m = l->mode;
	enum hb_pgerr e;
	int split = 0;

	if (!l->conn) {
		enum hb_load_rc c = connect_db(l, err, errsz);

		if (c != HB_LOAD_OK) {
			hb_loader_disconnect(l);
			return c;
		}
	}
	if (!hb_loader_rows(l) && !metrics)
		return HB_LOAD_OK;	/* only connected */
	{
		enum hb_load_rc d = ensure_days(l, err, errsz);

		if (d != HB_LOAD_OK)
			return d;
	}
	hb_load_order(l);	/* in key order, COPY is faster (hb_load_order.c) */
	for (;;) {
		memset(&l->pend, 0, sizeof l->pend);
		l->pend.fast_all = 1;
		e = hb_load_begin(l, m, split, err, errsz);
		if (e == HB_PGE_OK)
			e = load_table(l, &rec, m, split, err, errsz);
		if (e == HB_PGE_OK)
			e = load_table(l, &anom, m, split, err, errsz);
		if (e == HB_PGE_OK)
			e = apply_ctl(l, err, errsz);
		if (e == HB_PGE_OK && metrics) {
			hb_buf_reset(&l->tmp);
			snapshot_sql(l, metrics, &l->tmp);
			hb_buf_putc(&l->tmp, '\0');
			e = hb_pg_exec(l->conn, l->tmp.p, NULL, err, errsz);
		}
		if (e == HB_PGE_OK)
			e = hb_pg_exec(l->conn, "COMMIT", NULL, err, errsz);
		if (e == HB_PGE_OK)
			break;
		if (e == HB_PGE_RETRY) {
			undo_attempt(l, nanom);
			return fail(l, e);
		}
		{
			char ignore[256];

			hb_pg_exec(l->conn, "ROLLBACK", NULL, ignore, sizeof ignore);
		}
		undo_attempt(l, nanom);
		if (e == HB_PGE_DUP && m == FAST) {
			m = STAGE;		/* keys exist already: ON CONFLICT DO NOTHING */
		} else if ((e == HB_PGE_DATA || e == HB_PGE_DUP) && !split) {
			split = 1;		/* find the refused rows */
		} else {
			return fail(l, e);
		}
	}
	/* Replays find duplicates batch after batch: stay in STAGE while they do. */
	l->mode = l->pend.duplicates ? STAGE : FAST;
	if (metrics)
		hb_hist_reset(&l->window);	/* each snapshot gives the latency since the last */
	{
		int final = metrics && strcmp(metrics, "final") == 0;

		coords_lost(l);
		hb_load_word_take(l);
		committed(l, final);
		hb_load_word_send(l, final);
		fold(l, final);
	}
	return HB_LOAD_OK;
}

enum hb_load_rc hb_loader_flush(struct hb_loader *l, const char *metrics, char *err, size_t errsz)
{
	enum hb_load_rc rc = flush_once(l, metrics, err, errsz);

	l->st.retries += rc == HB_LOAD_RETRY;
	return rc;
}
