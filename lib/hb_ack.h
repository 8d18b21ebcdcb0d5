/* hb_ack — both sides of the acknowledgement protocol, and what is still awaited.
 *
 * hbpgload --ack-to writes, after each commit, one line per partition:
 *
 *   PARTITION OFFSET\n
 *
 * meaning "every message of PARTITION up to and including OFFSET that came
 * through me is stored".  hbkafka-sub -A reads them and commits OFFSET+1.
 * To end cleanly it must also know what it is still waiting for: the
 * highest offset it wrote out per partition against the highest
 * acknowledged.  A struct hb_acks keeps both and parses the stream; a
 * struct hb_ack_out writes it.
 */
#ifndef HB_ACK_H
#define HB_ACK_H

#include <stddef.h>
#include <stdint.h>

#define HB_ACK_MAX_PARTS 1024

struct hb_acks;

/* A new tracker with nothing written or acknowledged; NULL when out of memory.
 * The caller owns it: hb_acks_free (NULL is fine). */
struct hb_acks *hb_acks_new(void);
void hb_acks_free(struct hb_acks *a);

/* Message (p, o) was written out: its acknowledgement is now awaited.
 * Partitions outside [0, HB_ACK_MAX_PARTS) are not tracked. */
void hb_acks_written(struct hb_acks *a, int32_t p, int64_t o);

/* Partition p was taken away (or assigned anew): forget what was awaited
 * for it.  Its next owner reads it again from the last commit.  Returns the
 * messages that were written and still awaited there. */
int64_t hb_acks_forget(struct hb_acks *a, int32_t p);

/* Called for each acknowledgement to act on: store offset o of partition p. */
typedef void (*hb_ack_fn)(void *arg, int32_t p, int64_t o);

/*
 * Take n bytes read from the acknowledgement stream (any split: a line cut
 * between two reads is kept until its end arrives).  For each whole line
 * "P O" with P in range and O >= 0 that moves P forward, calls fn(arg, P, O).
 * An acknowledgement behind one already taken for P is ignored (counted in
 * hb_acks_stale): committing it would only move the group backwards.  A line
 * that is not "P O" is counted in hb_acks_bad and the last one kept (see
 * hb_acks_last_bad).  Returns the number of acknowledgements passed to fn.
 */
size_t hb_acks_feed(struct hb_acks *a, const char *data, size_t n, hb_ack_fn fn, void *arg);

/*
 * Messages written and not yet acknowledged, counted by offsets (exact on a
 * topic without transaction markers or compaction), and in how many
 * partitions (*nparts, may be NULL).
 */
int64_t hb_acks_outstanding(const struct hb_acks *a, int *nparts);

uint64_t hb_acks_count(const struct hb_acks *a);   /* acknowledgements passed on */
uint64_t hb_acks_bad(const struct hb_acks *a);     /* malformed lines */
uint64_t hb_acks_stale(const struct hb_acks *a);   /* behind one already taken */
/* The last malformed line (at most 60 bytes, NUL-terminated; "" if none). Borrowed. */
const char *hb_acks_last_bad(const struct hb_acks *a);

/* ---- the writing side (hbpgload --ack-to) ---- */

/* "P O\n" into buf; its length, or -1 when it does not fit or p, o < 0. */
int hb_ack_format(char *buf, size_t n, int32_t p, int64_t o);

/*
 * The acknowledgement FIFO (or file), opened without blocking when there is
 * a reader, and written without blocking, one write per line: a FIFO keeps
 * a write under PIPE_BUF whole, so a reader never sees a torn line from us.
 * A line that cannot go now (the reader lags) is dropped, not lost: the next
 * one for the same partition says more (the highest offset stored), and
 * without any the messages are only delivered again, never dropped.
 */
struct hb_ack_out {
	const char *path;
	int fd;                 /* -1 while closed */
	uint64_t sent, lagged;  /* lines written; lines dropped because the reader lagged */
};

void hb_ack_out_init(struct hb_ack_out *w, const char *path);

/* Open path if it is not open.  Returns 0 when open, -1 with errno when not
 * (ENXIO: a FIFO without a reader yet, not an error; try again later). */
int hb_ack_out_open(struct hb_ack_out *w);

/*
 * Acknowledge offset o of partition p.  Returns 0 when written or dropped
 * because the reader lags, -1 with errno when the reader is gone (EPIPE:
 * SIGPIPE must be ignored) or the write failed: the file is closed, and the
 * next hb_ack_out_open opens it again.
 */
int hb_ack_out_send(struct hb_ack_out *w, int32_t p, int64_t o);

void hb_ack_out_close(struct hb_ack_out *w);

#endif
