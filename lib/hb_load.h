/* hb_load — classified readings into PostgreSQL, a batch at a time.
 *
 * Rows are parsed as they are added and kept (with the text needed for the
 * audit trail) until hb_loader_flush() stores the batch in one transaction:
 *
 *  1. fast:  COPY (binary) straight into heartbeat_records and
 *            heartbeat_anomalies;
 *  2. if a unique key already exists (a replay, a redelivery): COPY into a
 *            temporary table and INSERT ... ON CONFLICT DO NOTHING — this
 *            mode then stays on while batches keep finding duplicates;
 *  3. if the database refuses some row for its data (SQLSTATE class 22 or
 *            23): the batch is split in halves, under savepoints, down to the
 *            refused rows, which go to heartbeat_anomalies as INVALID with
 *            the database's message as the reason.
 *
 * Every heartbeat_anomalies row (BRADYCARDIA, TACHYCARDIA, INVALID, and the
 * INVALID copy of a refused row) gets the Kafka coordinates of its line when
 * the line carried them ("_kafka", hb_coord.h): kafka_topic (the topic the
 * caller names, hb_load_opts.topic), kafka_partition and kafka_offset; NULL
 * otherwise.  They are not part of any unique key: a row stored twice keeps
 * the first one's.  heartbeat_records has none.
 *
 * Alert events and detection states (_hb_alert / _hb_state lines, see
 * hb_ctl.h) are collected in arrival order and applied in the same
 * transaction, after the readings: one SELECT hb_alerts_apply($1) and one
 * SELECT hb_state_apply($1) with a JSON array each.  _hb_mark lines are
 * counted and dropped.
 *
 * One COPY per table per batch: there is no bind-parameter ceiling.  A lost
 * connection, a server shutting down, a deadlock: the transaction is gone,
 * the batch is kept, and the caller retries (HB_LOAD_RETRY) — storing the
 * same batch twice stores it once.
 */
#ifndef HB_LOAD_H
#define HB_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "hb_status.h"
#include "hb_coord.h"
#include "hb_hist.h"

enum hb_load_rc {
	HB_LOAD_OK = 0,
	HB_LOAD_RETRY = 1,   /* the database is unreachable or went away; try again later */
	HB_LOAD_FATAL = 2,   /* a failure retrying cannot fix */
	HB_LOAD_CONFIG = 3,  /* bad connection settings or schema not applied */
};

struct hb_load_stats {
	uint64_t rows_in;          /* lines added as rows (not the control lines below) */
	uint64_t alerts;           /* _hb_alert lines taken */
	uint64_t states;           /* _hb_state lines taken */
	uint64_t marks;            /* _hb_mark lines ignored */
	uint64_t alerts_applied;   /* alert events that changed a row (new, or a close) */
	uint64_t stored;           /* rows new in the database */
	uint64_t duplicates;       /* rows already there */
	uint64_t rejected;         /* rows the database refused, stored as INVALID */
	uint64_t status[HB_STATUS_COUNT];  /* stored rows by status */
	uint64_t unclassified;     /* lines without a status (stored as INVALID) */
	uint64_t malformed;        /* lines that were not sound classified readings */
	uint64_t batches;
	uint64_t retries;          /* flushes that found the database unreachable */
	uint64_t folded;           /* minutes folded into the rollups after commits */
	uint64_t fold_errors;      /* folds that failed (the rollups stay exact; tried again) */
	int64_t lag_ms;            /* age of the newest reading at the last commit */
	int64_t consumer_lag;      /* Kafka: messages behind the end, last batch's most; -1 */
	struct hb_hist latency_us; /* reading timestamp -> commit, per stored row */
};

struct hb_load_opts {
	const char *conninfo;
	const char *instance;      /* this run's name in pipeline_metrics */
	size_t batch_bytes;        /* flush the batch before it holds more text than this */
	const char *topic;         /* the topic lines' "_kafka" coordinates refer to, for
				    * kafka_topic (NULL: stored as NULL); borrowed, it must
				    * outlive the loader */
};

struct hb_loader;

/* A loader (no connection yet).  NULL on ENOMEM. */
struct hb_loader *hb_loader_new(const struct hb_load_opts *o);
void hb_loader_free(struct hb_loader *l);

/* hb_loader_add()'s return for a control line taken (not a row). */
#define HB_LOAD_CTL HB_STATUS_COUNT

/*
 * Add one input line (no newline; true_len > n if the reader cut it).
 * Returns its status as it will be stored: a line that is not a sound
 * classified reading (not JSON, no "status", a status its fields do not
 * support, cut), nor a sound _hb_alert/_hb_state line, is stored as
 * INVALID, and then *why (if why is not NULL) says what is wrong with it;
 * for every other line *why is NULL.  A sound _hb_alert/_hb_state line is
 * kept for the batch and an _hb_mark line counted; both return HB_LOAD_CTL.
 */
enum hb_status hb_loader_add(struct hb_loader *l, const char *line, size_t n,
			     uint64_t true_len, uint64_t lineno, const char **why);

/* Rows, alert events and states waiting, and the text bytes they hold. */
size_t hb_loader_rows(const struct hb_loader *l);
size_t hb_loader_bytes(const struct hb_loader *l);

/*
 * Store the waiting rows (and a metrics snapshot if metrics is set, kind
 * "snapshot" or "final") in one transaction; connects first if needed (so
 * with no rows and no metrics it just connects and checks the schema).
 * On HB_LOAD_OK the rows are committed and gone from the loader.  On any
 * other return they are still there and err says why in one line.
 */
enum hb_load_rc hb_loader_flush(struct hb_loader *l, const char *metrics, char *err, size_t errsz);

/*
 * Called after each commit with the highest offset stored per partition,
 * and from hb_loader_add() or hb_loader_release_held() with one that was
 * held back.  A batch whose last line is a reading (with coordinates) holds
 * that reading's offset back until the next line shows that no _hb_alert or
 * _hb_state line about it follows, or the next commit stores that line;
 * the final flush (metrics "final") holds nothing back.
 */
void hb_loader_on_commit(struct hb_loader *l,
			 void (*fn)(void *arg, const struct hb_coord *c, size_t n), void *arg);
/* Acknowledge the offset held back now, unless an alert line since waits for its commit. */
void hb_loader_release_held(struct hb_loader *l);
/* Called for each row the database refused (then stored as INVALID). */
void hb_loader_on_reject(struct hb_loader *l,
			 void (*fn)(void *arg, uint64_t lineno, const char *msg), void *arg);

/*
 * Called once if the database cannot make the day partitions from..to
 * (YYYY-MM-DD; an older schema, no right to): msg is the database's word.
 * The loader goes on and stops asking; rows of days without a partition go
 * to the default partition, nothing is lost.
 */
void hb_loader_on_no_days(struct hb_loader *l,
			  void (*fn)(void *arg, const char *from, const char *to, const char *msg),
			  void *arg);

/*
 * Called once if rows with Kafka coordinates were stored in a database
 * whose heartbeat_anomalies has no kafka_* columns (its sql/ is older than
 * this loader): the rows are stored, without their coordinates.
 */
void hb_loader_on_no_coords(struct hb_loader *l, void (*fn)(void *arg), void *arg);

const struct hb_load_stats *hb_loader_stats(const struct hb_loader *l);
/* Drop the connection (after an error, or before exit). */
void hb_loader_disconnect(struct hb_loader *l);

#endif
