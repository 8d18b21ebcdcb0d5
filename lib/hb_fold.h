/* hb_fold — folding the rollups' pending minutes (hb_rollup_fold(), see
 * sql/012_rollups.sql) on a connection of its own, without waiting for it.
 *
 * The loader's connection never waits for a fold: a fold is sent, and its
 * result collected at a later tick.  The rollups are exact without any fold
 * (their views compute the pending minutes); folding keeps reading them
 * cheap.  So a fold that fails is counted and tried again at a later tick,
 * and a connection lost is made again then.
 */
#ifndef HB_FOLD_H
#define HB_FOLD_H

#include <stdint.h>

struct hb_fold_stats {
	uint64_t calls;     /* folds sent */
	uint64_t folded;    /* minutes folded */
	uint64_t errors;    /* folds (or connections for them) that failed */
};

struct hb_folder;

/* A folder for the database of conninfo (as hb_pg_connect takes it); no connection yet.  NULL on ENOMEM. */
struct hb_folder *hb_folder_new(const char *conninfo, const char *appname, int64_t interval_us);
void hb_folder_free(struct hb_folder *f);

/* Collect a fold that has finished; send one if none runs and the last was
 * sent interval_us ago or more, or left a backlog.  Does not wait (but to
 * connect). */
void hb_folder_tick(struct hb_folder *f, int64_t now_us);

/* The loader's input has moved past the minutes before passed_us (µs since
 * the epoch, a minute's start): the folds that follow fold them without
 * waiting for them to be quiet (hb_rollup_fold_before).  known 0 (nothing
 * passed yet, or a schema without that function, say after a reconnect to
 * an older one): plain hb_rollup_fold again. */
void hb_folder_passed(struct hb_folder *f, int known, int64_t passed_us);

/* The end: wait for a fold that runs, then fold all that is over now
 * (without waiting for its minutes to be quiet), and wait for that. */
void hb_folder_finish(struct hb_folder *f);

const struct hb_fold_stats *hb_folder_stats(const struct hb_folder *f);

#endif
