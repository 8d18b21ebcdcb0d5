/* hb_consumer — a Kafka topic to NDJSON lines, in a consumer group, committing only what is done.
 *
 * What hbkafka-sub does, as a library: start offsets (-o: stored, beginning,
 * end, N, -N, s@MS) applied at each assignment; offsets stored after the
 * message is written out (plain, --coords, --envelope), or after hbpgload
 * acknowledges it (--ack-from, lib/hb_ack.h); -e ends (the high-water marks
 * at start); backpressure (stop taking messages above max_buffer unwritten
 * bytes, pause the partitions when the reader stays stuck, resume below an
 * eighth); and the close sequence (write out, with -A drain: close stdout,
 * await the acknowledgements, commit; then leave the group).  Output goes
 * to fd 1 through hb_writer_drain.  The library never prints: what is to be
 * said goes to the note callback, with a level of lib/hb_log.h.
 */
#ifndef HB_CONSUMER_H
#define HB_CONSUMER_H

#include <stdint.h>

#include "hb_kafka.h"

#define HB_CONSUMER_MAX_SETS 64

enum hb_consumer_mode { HB_CONSUMER_PLAIN, HB_CONSUMER_COORDS, HB_CONSUMER_ENVELOPE };

struct hb_consumer_opts {
	const char *topic, *group, *offset, *ack_from;
	struct hb_kset sets[HB_CONSUMER_MAX_SETS];	/* -b, -X, -F in order */
	int nsets;
	enum hb_consumer_mode mode;
	int exit_at_end;	/* -e */
	long count;		/* -c; -1: no limit */
	long retry_for;		/* seconds; 0: forever */
	long max_buffer;	/* unwritten output bytes before we stop taking messages */
	long ack_timeout;	/* -A: seconds to wait at the end for the last acknowledgements */
	const char *prom_file;
	long prom_ms;
	int64_t stats_us;	/* --stats, 0: off */
	int verbosity;		/* HB_LOG_* */
	int marks;		/* --marks */
};

/* Something to say at level (enum hb_level of hb_log.h): one line, no newline. */
typedef void (*hb_consumer_note_fn)(void *arg, int level, const char *msg);

struct hb_consumer;

/*
 * A consumer for o (which must outlive it): opens --ack-from, makes stdout
 * non-blocking when it is a pipe, creates the client.  NULL on failure, the
 * reason said through note and *status the exit status.
 */
struct hb_consumer *hb_consumer_new(const struct hb_consumer_opts *o, hb_consumer_note_fn note,
				    void *arg, int *status);

/* Subscribe, consume until the end (-e, -c, a signal, stdout closed, an
 * error), and close.  Returns the exit status (HB_EXIT_*). */
int hb_consumer_run(struct hb_consumer *c);

struct hb_consumer_totals {
	uint64_t messages, bytes, acks, errors;
	int64_t unacked;	/* with -A: written, not acknowledged, so not committed */
	int acked;		/* -A was given */
	int reader_gone;	/* stdout's reader went away (EPIPE) */
	double seconds;
};
void hb_consumer_totals(const struct hb_consumer *c, struct hb_consumer_totals *t);

/* Destroy the client and put stdout's flags back. NULL is fine. */
void hb_consumer_free(struct hb_consumer *c);

#endif
