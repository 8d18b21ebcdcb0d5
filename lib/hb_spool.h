/* hb_spool — hbkafka-pub --spool DIR: the input kept on disk until Kafka has it.
 *
 * A live source that cannot be replayed (a device gateway piping into
 * hbkafka-pub) must not lose readings while the broker is away, however
 * long.  With a spool, every chunk read from the input is appended to a
 * segment file in DIR before anything else happens to it, and messages are
 * produced from the spool, in its order (so each customer's readings stay
 * in order); the mark (hb_prefix: every line before it is acknowledged) is
 * saved in DIR/state as hb_resume saves its own, and segments wholly before
 * the mark are removed.  A publisher killed at any point, run again on the
 * same DIR, goes on from the mark: nothing it had read is lost (the kernel
 * keeps what was written even when the process dies; fsync, every sync_us,
 * covers a crash of the machine), and what was in flight is sent again.
 * A full disk makes the input wait, not fail: the spool keeps the whole
 * lines that fit and takes the rest once delivered segments are removed.
 *
 * DIR holds:
 *   NNNNNNNNNNNNNNNNNNNN.seg   the spooled bytes from global offset N on
 *                              (segments follow each other without gaps and
 *                              are cut only after a newline)
 *   state                      "hbkafka-pub-spool 1", topic, offset, line
 *                              (written at open, and in place on a full disk)
 *   lock                       flock'd by the one publisher using DIR
 *
 * A line cut by a kill (its rest was still in the dead pipe) is removed
 * from the spool's end when it is opened again; its count comes back in
 * hb_spool_info.dropped.  The library never prints; errors come back as a
 * one-line reason.
 */
#ifndef HB_SPOOL_H
#define HB_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "hb_io.h"

#define HB_SPOOL_SEGMENT_DEFAULT (64ULL << 20)  /* a new segment after this much */

struct hb_spool_opts {
	uint64_t max_bytes;         /* hb_spool_full() past this much on disk */
	int64_t sync_us;            /* fsync the segment written this often; 0: each append */
	uint64_t segment_bytes;     /* 0: HB_SPOOL_SEGMENT_DEFAULT */
	size_t max_line;            /* longer lines come out cut, with their true length */
};

enum hb_spool_rc {
	HB_SPOOL_OK = 0,
	HB_SPOOL_IOERR = -1,
	HB_SPOOL_WRONG = -2,        /* DIR holds a spool for another topic, or damaged */
	HB_SPOOL_NOMEM = -3,
	HB_SPOOL_BUSY = -4,         /* another publisher uses DIR */
};

struct hb_spool_info {
	uint64_t mark, mark_line;   /* where publishing goes on */
	uint64_t end;               /* the spool's end (global offset) */
	uint64_t dropped;           /* bytes of a cut last line removed */
	int behind;                 /* the data ended before the mark (a crash lost
				     * its unsynced end): the spool starts anew there */
};

struct hb_spool;
struct hb_prefix;

/* Open (creating DIR if needed) the spool for topic.  NULL with *rc and err on failure. */
struct hb_spool *hb_spool_open(const char *dir, const char *topic, const struct hb_spool_opts *o,
			       struct hb_spool_info *info, enum hb_spool_rc *rc, char *err, size_t errsz);
void hb_spool_free(struct hb_spool *s);

/*
 * Append n bytes read from the input; *taken says how many went.  0 (all
 * of them), 1 when the disk or quota is full (ENOSPC, EDQUOT): the spool
 * then ends after the last whole line taken, and the caller offers the
 * rest again later (hb_spool_save makes room as lines are delivered), or
 * -1 with err (the spool is not to be appended to again).  Offering whole
 * lines keeps a full disk from leaving a line half spooled.
 */
int hb_spool_append(struct hb_spool *s, const char *p, size_t n, int64_t now_us, size_t *taken,
		    char *err, size_t errsz);
/* The input has ended: a last line without a newline gets one, and is then
 * whole.  0, 1 no room (call again later), -1 with err. */
int hb_spool_close_input(struct hb_spool *s, char *err, size_t errsz);
/* fsync the segment being written if it is due (force: now).  0, or -1 with err. */
int hb_spool_sync(struct hb_spool *s, int64_t now_us, int force, char *err, size_t errsz);

/*
 * Read once from fd (which poll said is readable; -1: do not read) and
 * spool the whole lines that came, after what an earlier call could not
 * spool for want of room (retried once a segment was removed, or each
 * second).  HB_SPOOL_IN_READ, HB_SPOOL_IN_NONE (nothing read: EINTR,
 * EAGAIN, or fd -1 and nothing held), HB_SPOOL_IN_NOROOM (the disk is
 * full: some of it waits, in memory, for the next call; read no more until
 * then), HB_SPOOL_IN_EOF (fd ended and all of it is spooled; a last line
 * without a newline gets one) or HB_SPOOL_IN_ERROR (err says why).  A
 * line's start waits in memory for its end (max_line + 256 KiB are read at
 * most; a longer line goes in parts).
 */
#define HB_SPOOL_READ_BYTES (256 << 10)

enum hb_spool_in {
	HB_SPOOL_IN_ERROR = -1,
	HB_SPOOL_IN_NONE,
	HB_SPOOL_IN_READ,
	HB_SPOOL_IN_NOROOM,
	HB_SPOOL_IN_EOF,
};

enum hb_spool_in hb_spool_pump(struct hb_spool *s, int fd, int64_t now_us, char *err,
			       size_t errsz);
/*
 * The reading stops (SIGINT, SIGTERM): what waits in memory goes to the
 * spool as it is, a line's start included (cut when the spool is opened
 * again, as a kill's would be).  0, 1 no room (*lost bytes could not be
 * spooled), -1 with err.
 */
int hb_spool_stop_input(struct hb_spool *s, size_t *lost, char *err, size_t errsz);

/* Bytes on disk (from the first segment kept to the end); whether the bytes
 * not yet delivered (from the mark on) are past max_bytes, whole lines among
 * them (the input should wait). */
uint64_t hb_spool_bytes(const struct hb_spool *s);
int hb_spool_full(const struct hb_spool *s);
/* The spool's end, a global offset (the mark's offset is one too), and the
 * end of its whole lines. */
uint64_t hb_spool_end(const struct hb_spool *s);
uint64_t hb_spool_whole_end(const struct hb_spool *s);
/* Bytes of whole lines spooled and not yet read back by hb_spool_next. */
uint64_t hb_spool_backlog(const struct hb_spool *s);

/*
 * The next whole line spooled: HB_RD_LINE (valid until the next call),
 * HB_RD_TIMEOUT when every whole line has been read, HB_RD_EOF when the
 * input has ended and every line has been read, HB_RD_ERROR (errno set).
 * Lines are numbered on from the mark's line; line->end is a global offset.
 */
enum hb_rd hb_spool_next(struct hb_spool *s, struct hb_line *line);

/* The lines read and settled: the caller tells it of each (hb_prefix.h). */
struct hb_prefix *hb_spool_prefix(struct hb_spool *s);

/*
 * Save the mark in DIR/state when it moved and is due (as hb_resume_save:
 * 100 ms or 10,000 lines, or force), then remove the segments wholly before
 * it.  1 saved, 0 nothing to do, -1 with err.
 */
int hb_spool_save(struct hb_spool *s, int64_t now_us, int force, char *err, size_t errsz);

#endif
