/* hb_days — which UTC days a loader has asked day partitions for.
 *
 * hbpgload notes the day of every row it is about to store; before a batch it
 * asks PostgreSQL (hb_ensure_partitions) for the days it has not asked for
 * yet, within a window around today: the days ahead (so the partition exists
 * before its first reading) and recent days (a replay of last week's file).
 * Days outside the window go to the default partition: no day partition is
 * made for a reading from 1970 or 2999, and a stream of odd dates cannot
 * make thousands of tables.
 */
#ifndef HB_DAYS_H
#define HB_DAYS_H

#include <stdint.h>

#define HB_DAYS_BACK 30         /* oldest day asked for: today - 30 */
#define HB_DAYS_AHEAD 7         /* newest day asked for: today + 7 */
#define HB_DAYS_KNOWN 64        /* days remembered as done */

struct hb_days {
	int32_t known[HB_DAYS_KNOWN];
	unsigned nknown, next;  /* a ring: the oldest is forgotten first */
	int32_t last;           /* the day of the previous row: the fast path */
	int have_last;
	int32_t lo, hi;         /* days wanted, when want */
	int want;
	int32_t ahead_for;      /* today when the days ahead were last asked for */
	int have_ahead;
};

/* The UTC day of a time in microseconds since the epoch (floor). */
int32_t hb_day_of(int64_t us);

void hb_days_init(struct hb_days *d);

/* A row of that day is about to be stored. */
void hb_days_note(struct hb_days *d, int32_t day);

/*
 * The days to ask for now, given today: *lo..*hi, both included, at most
 * HB_DAYS_BACK + HB_DAYS_AHEAD + 1 of them; 0 when there are none.
 */
int hb_days_due(struct hb_days *d, int32_t today, int32_t *lo, int32_t *hi);

/* The days lo..hi were asked for with success. */
void hb_days_done(struct hb_days *d, int32_t today, int32_t lo, int32_t hi);

/* "YYYY-MM-DD" of a day; buf of HB_DAY_BUF bytes. */
#define HB_DAY_BUF 32
void hb_day_format(int32_t day, char *buf);

#endif
