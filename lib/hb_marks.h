/* hb_marks — the control lines hbkafka-sub --marks writes among the messages.
 *
 *   {"_hb_mark":"assigned","topic":"t","partition":3}
 *   {"_hb_mark":"revoked","topic":"t","partition":3}
 *   {"_hb_mark":"caught_up","topic":"t","partition":3,"at":"2026-12-02T10:00:00.123Z"}
 *
 * They tell the next stage (hbclassify) which partitions this consumer holds
 * and when one has nothing more to read, so that it can advance time by the
 * wall clock while no reading comes.  A mark is never a message: it carries
 * no offset and is never acknowledged.
 *
 * struct hb_marks follows each partition: held or not, at its end or not,
 * and when its next caught_up is due (every second while it stays at its
 * end).  The clocks are passed in, so that tests choose them.  Every
 * function that takes a struct hb_marks * does nothing (and hb_marks_held
 * says 1) when it is NULL: the caller passes NULL when no mark is wanted.
 */
#ifndef HB_MARKS_H
#define HB_MARKS_H

#include <stdint.h>

#include "hb_buf.h"

/* Partitions followed; those above are still marked assigned and revoked, and
 * caught_up at each end reached, but not repeated (hbkafka-sub's own limit). */
#define HB_MARKS_MAX_PARTS 1024
/* How often a partition that stays at its end is marked caught_up again. */
#define HB_MARKS_EVERY_US 1000000LL

enum hb_mark_kind { HB_MARK_ASSIGNED, HB_MARK_REVOKED, HB_MARK_CAUGHT_UP };

/* Append one mark line, newline included, to out: at_us (wall clock,
 * microseconds since the epoch, written to the millisecond) only for
 * HB_MARK_CAUGHT_UP.  topic is JSON-escaped. */
void hb_mark_line(struct hb_buf *out, enum hb_mark_kind kind, const char *topic, int32_t partition,
		  int64_t at_us);

struct hb_marks;

/* A tracker for topic (borrowed: it must outlive the tracker), no partition
 * held.  Returns NULL when out of memory.  hb_marks_free(NULL) is fine. */
struct hb_marks *hb_marks_new(const char *topic);
void hb_marks_free(struct hb_marks *m);

/* Partition p is ours from now on: mark it assigned (not at its end yet). */
void hb_marks_assigned(struct hb_marks *m, struct hb_buf *out, int32_t p);
/* Partition p is ours no more (revoked or lost): mark it revoked. */
void hb_marks_revoked(struct hb_marks *m, struct hb_buf *out, int32_t p);
/* Whether p is held (1 for one above HB_MARKS_MAX_PARTS, and when m is NULL). */
int hb_marks_held(const struct hb_marks *m, int32_t p);

/*
 * Partition p has reached its end, next_offset (the partition EOF event):
 * mark it caught_up at wall_us, and again every second from mono_us while it
 * stays there.  Nothing for a partition not held.  Returns 1 if a mark was
 * written, else 0.
 */
int hb_marks_eof(struct hb_marks *m, struct hb_buf *out, int32_t p, int64_t next_offset,
		 int64_t mono_us, int64_t wall_us);
/* A message of p was written: p is no longer at its end, until the next EOF. */
void hb_marks_message(struct hb_marks *m, int32_t p);

/*
 * Mark caught_up again each partition held, at its end, whose second is up
 * at mono_us.  high_water(arg, p), when not NULL, gives the partition's end
 * as last seen by the client (-1 unknown): a partition whose end has moved
 * past the one its EOF said has messages on their way, and is not marked.
 * Returns the number of marks written.
 */
int hb_marks_tick(struct hb_marks *m, struct hb_buf *out, int64_t mono_us, int64_t wall_us,
		  int64_t (*high_water)(void *arg, int32_t p), void *arg);

#endif
