/* hb_pg — libpq helpers: connecting, classifying errors, binary COPY encoding.
 *
 * Ownership (libpq): every PGresult is PQclear()ed by the function that got
 * it, on error paths too; the caller of hb_pg_connect() owns the PGconn and
 * PQfinish()es it.  PQerrorMessage() ends in a newline: hb_pg_msg() strips it.
 */
#ifndef HB_PG_H
#define HB_PG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "hb_buf.h"

/* What a failed statement means for the caller. */
enum hb_pgerr {
	HB_PGE_OK,
	HB_PGE_DUP,     /* 23505: a unique key exists (fall back to ON CONFLICT) */
	HB_PGE_DATA,    /* other 22xxx/23xxx: the data is refused, row by row it goes */
	HB_PGE_RETRY,   /* connection lost, server shutting down, deadlock...: try again */
	HB_PGE_FATAL,   /* anything else: a bug, a privilege or schema problem */
};

/*
 * Connect with conninfo (a libpq connection string or URI; NULL or "" means
 * the PG* variables alone), adding fallback_application_name and, unless
 * PGCONNECT_TIMEOUT or the string says otherwise, connect_timeout=10 and TCP
 * keepalives.  Returns the connection, or NULL with a one-line reason in err;
 * *permanent is set when retrying cannot help (bad password, no such
 * database or role, malformed connection string).
 */
PGconn *hb_pg_connect(const char *conninfo, const char *appname, char *err, size_t errsz,
		      int *permanent);

/*
 * Check a connection string's syntax, and that it holds no password (a
 * command line shows in ps).  0, or -1 with the reason in err.
 */
int hb_pg_conninfo_check(const char *conninfo, char *err, size_t errsz);

/* Classify a result (NULL means the connection is gone) on conn. */
enum hb_pgerr hb_pg_classify(PGconn *conn, const PGresult *res);

/* "SQLSTATE: message" of a result or connection, on one line, into err. */
const char *hb_pg_msg(PGconn *conn, const PGresult *res, char *err, size_t errsz);

/*
 * Run sql (one or more statements) and wait for all results.  Returns
 * HB_PGE_OK or the class of the first failure, with the message in err.
 * *tuples, if not NULL, gets the affected-row count of the last command.
 */
enum hb_pgerr hb_pg_exec(PGconn *conn, const char *sql, long long *tuples, char *err, size_t errsz);

/*
 * COPY ... FROM STDIN (FORMAT binary) with data[0..n) (header and trailer
 * included, see below).  Returns HB_PGE_OK and *rows, or the failure.
 */
enum hb_pgerr hb_pg_copy(PGconn *conn, const char *copy_sql, const char *data, size_t n,
			 long long *rows, char *err, size_t errsz);

/* ---- binary COPY encoding ---- */
void hb_copy_begin(struct hb_buf *b);              /* the PGCOPY header */
void hb_copy_end(struct hb_buf *b);                /* the trailer */
void hb_copy_row(struct hb_buf *b, int ncols);     /* start a row */
void hb_copy_null(struct hb_buf *b);
void hb_copy_text(struct hb_buf *b, const char *s, size_t n);   /* also bytea */
void hb_copy_int4(struct hb_buf *b, int32_t v);
void hb_copy_int8(struct hb_buf *b, int64_t v);
void hb_copy_ts(struct hb_buf *b, int64_t unix_us);             /* timestamptz */
/*
 * A one-dimensional array of n elements of type elem_oid (HB_OID_*), no
 * NULL among them: its header, then each element as a field of its type
 * (hb_copy_text, hb_copy_int4, ...); the whole goes in a row as one field
 * (hb_copy_text of its bytes).
 */
#define HB_OID_INT8 20u
#define HB_OID_INT4 23u
#define HB_OID_TEXT 25u
void hb_copy_array_head(struct hb_buf *b, uint32_t elem_oid, uint32_t n);

/*
 * Append s[0..n) to b as text PostgreSQL accepts: each invalid UTF-8 byte
 * and each NUL becomes U+FFFD.  Returns 1 if anything was replaced.
 */
int hb_pg_text_clean(struct hb_buf *b, const char *s, size_t n);

#endif
