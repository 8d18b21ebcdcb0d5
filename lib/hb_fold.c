/* hb_fold — hb_rollup_fold() on a connection of its own, without waiting. */
#include "hb_fold.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_pg.h"

#define FOLD "SELECT hb_rollup_fold()"
#define FOLD_NOW "SELECT hb_rollup_fold(interval '0')"
/* hb_rollup_fold's p_max: a fold that folded this many may have left more */
#define FOLD_MAX 60

struct hb_folder {
	char *conninfo;
	const char *appname;
	int64_t interval_us;
	PGconn *conn;
	int busy;           /* a fold was sent; its result is not collected yet */
	int64_t sent_at;
	int sent_once;
	uint64_t last;      /* minutes the last fold folded */
	int has_passed;
	int64_t passed_us;  /* hb_folder_passed */
	struct hb_fold_stats st;
};

struct hb_folder *hb_folder_new(const char *conninfo, const char *appname, int64_t interval_us)
{
	struct hb_folder *f = calloc(1, sizeof *f);

	if (!f)
		return NULL;
	if (conninfo && !(f->conninfo = strdup(conninfo))) {
		free(f);
		return NULL;
	}
	f->appname = appname;
	f->interval_us = interval_us;
	return f;
}

static void drop(struct hb_folder *f)
{
	PQfinish(f->conn);
	f->conn = NULL;
	f->busy = 0;
}

void hb_folder_free(struct hb_folder *f)
{
	if (!f)
		return;
	drop(f);
	free(f->conninfo);
	free(f);
}

/* The results of the fold sent, when they are all in (or wait for them). */
static void collect(struct hb_folder *f, int wait)
{
	PGresult *res;

	if (!f->busy)
		return;
	if (!wait) {
		if (!PQconsumeInput(f->conn)) {
			f->st.errors++;
			drop(f);
			return;
		}
		if (PQisBusy(f->conn))
			return;
	}
	/* without wait, only what has arrived: the end of the results may come
	 * in a later packet, and PQgetResult() would then block the loader */
	while (wait || !PQisBusy(f->conn)) {
		if (!(res = PQgetResult(f->conn)))
			break;
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			f->last = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		else
			f->st.errors++;
		PQclear(res);
		if (!wait && PQisBusy(f->conn) && !PQconsumeInput(f->conn)) {
			f->st.errors++;
			drop(f);
			return;
		}
	}
	if (!wait && PQisBusy(f->conn))
		return;	/* the rest later: still busy */
	f->st.folded += f->last;
	f->busy = 0;
	if (PQstatus(f->conn) != CONNECTION_OK)
		drop(f);
}

/* A fold's notices (none expected) go nowhere: the library never prints. */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void send_fold(struct hb_folder *f, const char *sql, int64_t now_us)
{
	char err[256];
	int permanent;

	if (!f->conn) {
		f->conn = hb_pg_connect(f->conninfo, f->appname, err, sizeof err, &permanent);
		if (!f->conn) {
			f->st.errors++;
			f->sent_at = now_us;	/* try again an interval later */
			f->sent_once = 1;
			return;
		}
		PQsetNoticeProcessor(f->conn, quiet, NULL);
	}
	f->sent_at = now_us;
	f->sent_once = 1;
	if (!PQsendQuery(f->conn, sql)) {
		f->st.errors++;
		drop(f);
		return;
	}
	f->st.calls++;
	f->busy = 1;
	f->last = 0;	/* set by its result */
}

void hb_folder_passed(struct hb_folder *f, int known, int64_t passed_us)
{
	f->has_passed = known;
	f->passed_us = passed_us;
}

/* A backlog (the last fold folded all it may) is folded on at once, else once an interval. */
void hb_folder_tick(struct hb_folder *f, int64_t now_us)
{
	char sql[96];

	collect(f, 0);
	if (f->busy || (f->sent_once && f->last < FOLD_MAX && now_us - f->sent_at < f->interval_us))
		return;
	if (!f->has_passed) {
		send_fold(f, FOLD, now_us);
		return;
	}
	/* whole seconds: a minute's start */
	snprintf(sql, sizeof sql, "SELECT hb_rollup_fold_before(to_timestamp(%lld))",
		 (long long)(f->passed_us / 1000000));
	send_fold(f, sql, now_us);
}

void hb_folder_finish(struct hb_folder *f)
{
	collect(f, 1);
	do {
		send_fold(f, FOLD_NOW, 0);
		collect(f, 1);
	} while (f->conn && f->last >= FOLD_MAX);
}

const struct hb_fold_stats *hb_folder_stats(const struct hb_folder *f)
{
	return &f->st;
}
