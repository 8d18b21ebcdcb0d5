/* hb_prefix — the settled prefix of a stream of numbered lines.
 *
 * A publisher reads lines in order (1, 2, 3, ...) and learns of each one's
 * fate in any order: Kafka acknowledges partitions independently.  The mark
 * is the last line up to which every line is settled (delivered, or refused
 * for good), and the byte offset where it ends: where a publisher that died
 * goes on from.  A line that failed in a way a later run may get through
 * holds the mark before it for good ("stuck"), and lines read after that
 * are no longer kept.  Memory: one entry per line read past the mark.
 */
#ifndef HB_PREFIX_H
#define HB_PREFIX_H

#include <stdint.h>

struct hb_prefix;

/* A tracker whose mark is line lineno, ending at byte offset; NULL on ENOMEM. */
struct hb_prefix *hb_prefix_new(uint64_t offset, uint64_t lineno);
void hb_prefix_free(struct hb_prefix *t);

/* Line lineno, ending at byte end, was read.  0; -1 out of memory; -2 when
 * lineno is not the next line (a caller's bug: the mark would freeze). */
int hb_prefix_read(struct hb_prefix *t, uint64_t lineno, uint64_t end);
/* Line lineno is settled (lines not kept are ignored). */
void hb_prefix_settled(struct hb_prefix *t, uint64_t lineno);
/* Line lineno failed, and may get through another time. */
void hb_prefix_failed(struct hb_prefix *t, uint64_t lineno);
int hb_prefix_stuck(const struct hb_prefix *t);
/* The mark: every line up to *lineno (ending at *offset) is settled. */
void hb_prefix_mark(const struct hb_prefix *t, uint64_t *offset, uint64_t *lineno);
/* Lines read past the mark and kept (in flight, or settled behind one that is not). */
uint64_t hb_prefix_pending(const struct hb_prefix *t);

#endif
