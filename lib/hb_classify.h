/* hb_classify — whole lines: what hbclassify does to each line (the status
 * of a heart rate itself is hb_status). */
#ifndef HB_CLASSIFY_H
#define HB_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "hb_buf.h"
#include "hb_coord.h"
#include "hb_status.h"

struct hb_classifier;
struct hb_event;

/* Bytes of a cut line kept in "raw" (the rest is counted in "raw_length"). */
#define HB_RAW_EXCERPT 1024

struct hb_verdict {
	enum hb_status status;
	const char *reason;          /* INVALID: why (owned by the classifier) */
	const struct hb_event *ev;   /* the parsed reading (borrowed; see hb_event.h) */
	int has_coord;
	struct hb_coord coord;
};

/* A classifier with its own parser and buffers.  NULL on ENOMEM. */
struct hb_classifier *hb_classifier_new(const struct hb_thresholds *t);
void hb_classifier_free(struct hb_classifier *c);

/* Read timestamps without a zone as UTC (see hb_parser_assume_utc); the
 * output line then carries the timestamp with 'Z' appended. */
void hb_classifier_assume_utc(struct hb_classifier *c, int on);

/*
 * Classify one input line (without its newline; true_len > n when the reader
 * cut it) and append the output line, newline included, to out:
 * the original object with "status" added (its members kept byte for byte,
 * but an integer customer_id becomes a string of its decimal text and a
 * timestamp read as UTC gets its 'Z'),
 * and for INVALID also "reason", "raw" (the input, JSON-escaped; cut lines
 * keep HB_RAW_EXCERPT bytes and give "raw_length"), and "raw_base64" when the
 * input was not valid UTF-8.  A line carrying "_kafka" keeps it in front.
 * A line that is already a classified INVALID record is classified again
 * from its "raw", so the tool is idempotent.  Fills *v; its pointers are
 * valid until the next call.
 */
void hb_classify_line(struct hb_classifier *c, const char *line, size_t n, uint64_t true_len,
		      struct hb_buf *out, struct hb_verdict *v);

#endif
