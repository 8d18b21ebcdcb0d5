/* hb_pg — libpq helpers. */
#include "hb_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_json.h"

int hb_pg_conninfo_check(const char *conninfo, char *err, size_t errsz)
{
	char *msg = NULL;
	PQconninfoOption *o;

	if (!conninfo || !*conninfo)
		return 0;
	/* a plain database name, as psql -d takes it (libpq expands only a
	 * string with '=' or a postgres:// URI) */
	if (!strchr(conninfo, '=') && strncmp(conninfo, "postgresql://", 13) != 0 &&
	    strncmp(conninfo, "postgres://", 11) != 0)
		return 0;
	o = PQconninfoParse(conninfo, &msg);
	if (!o) {
		snprintf(err, errsz, "bad connection string: %s", msg ? msg : "out of memory");
		for (char *p = err; *p; p++)
			if (*p == '\n')
				*p = *(p + 1) ? ' ' : '\0';
		PQfreemem(msg);
		return -1;
	}
	for (PQconninfoOption *x = o; x->keyword; x++) {
		if (strcmp(x->keyword, "password") == 0 && x->val && *x->val) {
			snprintf(err, errsz, "a password in the connection string would show in ps: "
				 "put it in ~/.pgpass (or PGPASSFILE, PGPASSWORD) instead");
			PQconninfoFree(o);
			return -1;
		}
	}
	PQconninfoFree(o);
	return 0;
}

static void one_line(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

PGconn *hb_pg_connect(const char *conninfo, const char *appname, char *err, size_t errsz,
		      int *permanent)
{
	const char *kw[8], *val[8];
	int k = 0;
	PGconn *conn;
	const char *m;

	*permanent = 0;
	if (hb_pg_conninfo_check(conninfo, err, errsz) < 0) {
		*permanent = 1;
		return NULL;
	}
	/* Our defaults come first: the expanded dbname (the user's string) overrides them. */
	kw[k] = "fallback_application_name", val[k++] = appname;
	if (!getenv("PGCONNECT_TIMEOUT"))
		kw[k] = "connect_timeout", val[k++] = "10";
	kw[k] = "keepalives_idle", val[k++] = "10";
	kw[k] = "keepalives_interval", val[k++] = "5";
	kw[k] = "keepalives_count", val[k++] = "3";
	kw[k] = "client_encoding", val[k++] = "UTF8";
	kw[k] = "dbname", val[k++] = conninfo && *conninfo ? conninfo : NULL;
	kw[k] = NULL, val[k] = NULL;
	conn = PQconnectdbParams(kw, val, 1);
	if (!conn) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) == CONNECTION_OK)
		return conn;
	snprintf(err, errsz, "%s", PQerrorMessage(conn));
	one_line(err);
	m = PQerrorMessage(conn);
	/* libpq gives no SQLSTATE for a failed connection: judge by the words. */
	if (strstr(m, "authentication failed") || strstr(m, "no pg_hba.conf entry") ||
	    (strstr(m, "database \"") && strstr(m, "does not exist")) ||
	    (strstr(m, "role \"") && strstr(m, "does not exist")) ||
	    strstr(m, "invalid connection option") || strstr(m, "password supplied") ||
	    strstr(m, "certificate"))
		*permanent = 1;
	PQfinish(conn);
	return NULL;
}

enum hb_pgerr hb_pg_classify(PGconn *conn, const PGresult *res)
{
	const char *st;
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_COPY_IN ||
	    s == PGRES_EMPTY_QUERY)
		return HB_PGE_OK;
	if (PQstatus(conn) == CONNECTION_BAD)
		return HB_PGE_RETRY;
	st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (!st)
		return HB_PGE_RETRY;	/* libpq's own: the connection failed */
	if (strcmp(st, "23505") == 0)
		return HB_PGE_DUP;
	if (strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0)
		return HB_PGE_DATA;
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0 ||
	    strncmp(st, "40", 2) == 0 || strncmp(st, "53", 2) == 0 ||
	    strcmp(st, "57014") == 0 || strcmp(st, "25006") == 0 || strncmp(st, "58", 2) == 0)
		return HB_PGE_RETRY;
	return HB_PGE_FATAL;
}

const char *hb_pg_msg(PGconn *conn, const PGresult *res, char *err, size_t errsz)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (st && m)
		snprintf(err, errsz, "%s: %s", st, m);
	else
		snprintf(err, errsz, "%s", conn ? PQerrorMessage(conn) : "no connection");
	one_line(err);
	if (!*err)
		snprintf(err, errsz, "connection lost");
	return err;
}

enum hb_pgerr hb_pg_exec(PGconn *conn, const char *sql, long long *tuples, char *err, size_t errsz)
{
	enum hb_pgerr rc = HB_PGE_OK;
	PGresult *res;

	if (!PQsendQuery(conn, sql)) {
		hb_pg_msg(conn, NULL, err, errsz);
		return hb_pg_classify(conn, NULL);
	}
	while ((res = PQgetResult(conn))) {
		enum hb_pgerr c = hb_pg_classify(conn, res);

		if (c != HB_PGE_OK && rc == HB_PGE_OK) {
			rc = c;
			hb_pg_msg(conn, res, err, errsz);
		} else if (c == HB_PGE_OK && tuples) {
			*tuples = atoll(PQcmdTuples(res));
		}
		PQclear(res);
	}
	if (rc == HB_PGE_OK && PQstatus(conn) == CONNECTION_BAD) {
		hb_pg_msg(conn, NULL, err, errsz);
		rc = HB_PGE_RETRY;
	}
	return rc;
}

enum hb_pgerr hb_pg_copy(PGconn *conn, const char *copy_sql, const char *data, size_t n,
			 long long *rows, char *err, size_t errsz)
{
	enum hb_pgerr rc = HB_PGE_OK;
	PGresult *res = PQexec(conn, copy_sql);

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		rc = hb_pg_classify(conn, res);
		if (rc == HB_PGE_OK)
			rc = HB_PGE_FATAL;
		hb_pg_msg(conn, res, err, errsz);
		PQclear(res);
		while ((res = PQgetResult(conn)))
			PQclear(res);
		return rc;
	}
	PQclear(res);
	/* In pieces, so libpq never doubles a huge buffer. */
	for (size_t off = 0; off < n;) {
		size_t k = n - off < (1u << 20) ? n - off : (1u << 20);

		if (PQputCopyData(conn, data + off, (int)k) != 1)
			break;
		off += k;
	}
	PQputCopyEnd(conn, NULL);
	while ((res = PQgetResult(conn))) {
		enum hb_pgerr c = hb_pg_classify(conn, res);

		if (c != HB_PGE_OK && rc == HB_PGE_OK) {
			rc = c;
			hb_pg_msg(conn, res, err, errsz);
		} else if (c == HB_PGE_OK && rows) {
			*rows = atoll(PQcmdTuples(res));
		}
		PQclear(res);
	}
	if (rc == HB_PGE_OK && PQstatus(conn) == CONNECTION_BAD) {
		hb_pg_msg(conn, NULL, err, errsz);
		rc = HB_PGE_RETRY;
	}
	return rc;
}

static void put_be16(struct hb_buf *b, uint16_t v)
{
	char c[2] = {(char)(v >> 8), (char)v};

	hb_buf_put(b, c, 2);
}

static void put_be32(struct hb_buf *b, uint32_t v)
{
	char c[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};

	hb_buf_put(b, c, 4);
}

static void put_be64(struct hb_buf *b, uint64_t v)
{
	put_be32(b, (uint32_t)(v >> 32));
	put_be32(b, (uint32_t)v);
}

void hb_copy_begin(struct hb_buf *b)
{
	hb_buf_put(b, "PGCOPY\n\377\r\n\0", 11);
	put_be32(b, 0);	/* flags */
	put_be32(b, 0);	/* header extension length */
}

void hb_copy_end(struct hb_buf *b)
{
	put_be16(b, 0xFFFF);
}

void hb_copy_row(struct hb_buf *b, int ncols)
{
	put_be16(b, (uint16_t)ncols);
}

void hb_copy_null(struct hb_buf *b)
{
	put_be32(b, 0xFFFFFFFFu);
}

void hb_copy_text(struct hb_buf *b, const char *s, size_t n)
{
	put_be32(b, (uint32_t)n);
	hb_buf_put(b, s, n);
}

void hb_copy_array_head(struct hb_buf *b, uint32_t elem_oid, uint32_t n)
{
	put_be32(b, 1);		/* dimensions */
	put_be32(b, 0);		/* no NULL element */
	put_be32(b, elem_oid);
	put_be32(b, n);
	put_be32(b, 1);		/* lower bound */
}

void hb_copy_int4(struct hb_buf *b, int32_t v)
{
	put_be32(b, 4);
	put_be32(b, (uint32_t)v);
}

void hb_copy_int8(struct hb_buf *b, int64_t v)
{
	put_be32(b, 8);
	put_be64(b, (uint64_t)v);
}

/* PostgreSQL's epoch is 2000-01-01. */
#define PG_EPOCH_US 946684800000000LL

void hb_copy_ts(struct hb_buf *b, int64_t unix_us)
{
	put_be32(b, 8);
	put_be64(b, (uint64_t)(unix_us - PG_EPOCH_US));
}

int hb_pg_text_clean(struct hb_buf *b, const char *s, size_t n)
{
	size_t i = 0;
	int changed = 0;

	while (i < n) {
		size_t ok = hb_utf8_valid_prefix(s + i, n - i);
		const char *z = memchr(s + i, '\0', ok);

		if (z)
			ok = (size_t)(z - (s + i));
		hb_buf_put(b, s + i, ok);
		i += ok;
		if (i < n) {
			hb_buf_put(b, "\xEF\xBF\xBD", 3);
			changed = 1;
			i++;
		}
	}
	return changed;
}
