/* hb_load_int — what the parts of hb_load share: the loader and its rows.
 * Private to lib/hb_load*.c; the interface is hb_load.h. */
#ifndef HB_LOAD_INT_H
#define HB_LOAD_INT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "hb_buf.h"
#include "hb_coord.h"
#include "hb_days.h"
#include "hb_fold.h"
#include "hb_hist.h"
#include "hb_load.h"
#include "hb_pg.h"

struct row {
	uint64_t lineno;
	int64_t ts_us;
	int64_t raw_length;
	int64_t offset;
	int64_t lag;            /* consumer lag when read, -1 unknown */
	int32_t hr;
	int32_t part;           /* -1: no Kafka coordinates */
	uint32_t cid_off, cid_len;
	uint32_t reason_off, reason_len;
	uint32_t raw_off, raw_len;       /* text for the raw column */
	uint32_t bytes_off, bytes_len;   /* exact bytes, when raw is not exact */
	uint8_t status;
	uint8_t has_cid, has_ts, has_hr, has_bytes, has_reason;
	uint8_t refused;        /* the database refused it; an INVALID copy follows */
};

struct rows {
	struct row *r;
	size_t n, cap;
};

enum mode { FAST, STAGE };

/* hb_load_order.c's working memory, kept from batch to batch. */
struct hb_order {
	uint32_t *slot;         /* hash table of customers, NONE empty */
	size_t slot_cap, mask;
	struct hb_group *groups;
	size_t groups_cap;
	uint32_t ngroups;
	uint32_t *next;         /* per row: the customer's next row */
	size_t next_cap;
};

/* hb_load_delta.c's: the words on the readings stored, per minute, not sent yet. */
#define HB_WORD_HR_MAX 1023
struct hb_word_cust {
	uint32_t off, len;      /* the customer_id in the minute's names */
	uint32_t hash;
	int32_t min, max;
	int64_t n, sum;
};
struct hb_word_min {
	int64_t m;              /* the UTC minute, as hb_load_minute() gives it */
	struct hb_word_cust *c; /* its customers */
	size_t nc, cap;
	uint32_t *slot;         /* hash table of c: index + 1, 0 empty */
	size_t mask;
	struct hb_buf names;
	int64_t hist[HB_WORD_HR_MAX + 1];   /* readings per heart rate */
	uint64_t readings;
	int bad;                /* a heart rate out of 0..HB_WORD_HR_MAX, or no memory: no word */
};
struct hb_word {
	struct hb_word_min **min;  /* the minutes with readings stored and no word sent */
	size_t nmin, capmin;
	size_t groups;          /* customers over all of them */
	int64_t token;          /* this loader's (hbmon.delta), 0 until its first */
	uint64_t seed;          /* of the token */
	struct hb_buf arr;      /* the array being encoded */
	struct hb_buf out;      /* the COPY data */
};

/* Counts of the flush in progress, applied only when it commits. */
struct pending {
	uint64_t stored, duplicates, rejected;
	uint64_t alerts_applied;
	uint64_t moved[HB_STATUS_COUNT];  /* refused rows, by their first status */
	int fast_all;           /* every row was new */
	int worded;             /* rec went in under the loader's token: its word is to follow */
};

struct hb_loader {
	struct hb_load_opts o;
	PGconn *conn;
	struct hb_parser *parser;
	struct rows rec, anom;
	struct rows spare;             /* hb_load_order's: rec's rows grouped */
	struct hb_order order;         /* and its groups */
	struct hb_word word;           /* hb_load_delta.c's */
	int has_delta;                 /* the schema takes a word (hb_rollup_delta) from this role */
	struct hb_buf alerts, states;  /* "[" and the inner objects, comma-separated */
	size_t nalerts, nstates;
	int has_alerts;                /* the schema has the alerts' functions and columns */
	int has_fold;                  /* ... and hb_rollup_fold, which this role may call */
	int has_fold_before;           /* ... and hb_rollup_fold_before */
	int64_t passed_us;             /* the first minute of the last batch stored, if has_passed */
	int has_passed;
	int has_coords;                /* heartbeat_anomalies has the kafka_* columns (0 or 1) */
	int coords_told;               /* on_no_coords was called */
	struct hb_folder *folder;      /* folds on a connection of its own (hb_fold.h) */
	struct hb_buf arena, copy, tmp;
	enum mode mode;
	struct pending pend;
	struct hb_load_stats st;
	struct hb_coord *acks;
	size_t nacks, capacks;
	/* The acknowledgement held back at the last commit (see collect_acks):
	 * the batch's last line was a reading, and the state or a silence alert
	 * hbclassify writes after readings when its input pauses may follow.  held_blocked: an alert or state line came since, so it
	 * goes out with the next commit, not before. */
	struct hb_coord held;
	int has_held, held_blocked;
	uint64_t ctl_lineno;     /* the batch's last _hb_alert/_hb_state line, 0 none */
	struct hb_hist window;   /* latencies since the last metrics snapshot */
	int64_t newest_us;       /* the newest reading time committed, if has_newest */
	int has_newest;
	int snapshot;            /* the flush in progress writes one */
	void (*on_commit)(void *, const struct hb_coord *, size_t);
	void *commit_arg;
	void (*on_reject)(void *, uint64_t, const char *);
	void *reject_arg;
	void (*on_no_days)(void *, const char *, const char *, const char *);
	void *no_days_arg;
	void (*on_no_coords)(void *);
	void *no_coords_arg;
	struct hb_days days;     /* day partitions asked for */
	int days_off;            /* the database cannot make them: stop asking */
};

/* hb_load_order.c: rec's rows grouped by minute and customer, the groups
 * in that order, each one's rows in the order they came: 1 if they moved, 0
 * if not (one group), -1 on ENOMEM (they stay as they are, which is only
 * slower). */
int hb_load_order(struct hb_loader *l);
void hb_load_order_free(struct hb_order *o);
/* The UTC minute of a time in µs since the epoch, as minutes since the
 * epoch (rounded down, before 1970 too): hb_load_order.c groups by it and
 * hb_load_delta.c's word is per it, as date_bin('1 minute') in SQL. */
static inline int64_t hb_load_minute(int64_t ts_us)
{
	return ts_us >= 0 ? ts_us / 60000000 : -((-ts_us - 1) / 60000000) - 1;
}

/* hb_load_delta.c: BEGIN the flush's transaction; with a COPY straight into
 * heartbeat_records (m FAST, not split), under the loader's token. */
enum hb_pgerr hb_load_begin(struct hb_loader *l, enum mode m, int split, char *err, size_t errsz);
/* hb_load_delta.c: after the commit, a batch that went in under the token
 * adds its readings to the words of their minutes. */
void hb_load_word_take(struct hb_loader *l);
/* hb_load_delta.c: the words of the minutes before l->passed_us (all: of
 * every minute; also when the words held reach their limits), sent to
 * hb_rollup_delta in a statement of their own. */
void hb_load_word_send(struct hb_loader *l, int all);
void hb_load_delta_free(struct hb_word *w);
/* hb_load_add.c: a new row at the end of rs (zeroed, no coordinates); NULL on ENOMEM. */
struct row *hb_load_push(struct rows *rs);
/* hb_load_add.c: the reason column of r, cleaned to valid UTF-8 text. */
void hb_load_keep_reason(struct hb_loader *l, struct row *r, const char *s, size_t n);

#endif
