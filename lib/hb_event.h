/* hb_event — read one NDJSON line as a heart-rate reading (or a classified one).
 *
 * Ownership (json-c): the parser owns the json_object of the last line it
 * parsed and the scratch buffers; every pointer in a struct hb_event borrows
 * from the input line or from the parser and is valid until the next
 * hb_event_parse() on the same parser or hb_parser_free().
 */
#ifndef HB_EVENT_H
#define HB_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "hb_buf.h"
#include "hb_status.h"
#include "hb_coord.h"

/* Deepest nesting accepted in a line (deeper is INVALID, never a crash). */
#define HB_JSON_MAX_DEPTH 64
#define HB_CID_MAX 64
#define HB_WHY_MAX 320

struct hb_str {
	const char *p;
	size_t n;
};

struct hb_event {
	/* Kafka coordinates, when the line carried the reserved "_kafka" member. */
	int has_coord;
	struct hb_coord coord;
	/* The value itself (without "_kafka"), trailing blanks and CR removed. */
	struct hb_str text;
	/* The same before trimming: the exact input, for the audit trail. */
	struct hb_str orig;

	int blank;         /* (internal) the line had bytes before trimming */
	int is_object;     /* the value is a JSON object */
	int members;       /* its members (without "_kafka") */
	int reserved;      /* it already has status/reason/raw... members */
	int oom;           /* out of memory while parsing: no verdict on the line */

	/* The reading.  *_ok: present and valid. */
	struct hb_str cid;
	int cid_ok;
	int cid_int;       /* customer_id was a JSON integer; cid is its decimal text */
	struct hb_str ts;
	int64_t ts_us;     /* rounded to microseconds as PostgreSQL rounds */
	int ts_ok;
	int ts_zoneless;   /* the timestamp had no zone and was read as UTC */
	int64_t hr;        /* saturated to the int64 range */
	struct hb_str hr_text; /* its literal text, when the fast path saw it */
	int hr_ok;         /* an integer is present (range is the classifier's) */

	/* Members hbclassify adds, read back by hbpgload. */
	int has_status;
	enum hb_status status;
	struct hb_str reason;
	struct hb_str raw;         /* decoded "raw" string */
	int has_raw;
	struct hb_str raw_b64;     /* "raw_base64": the exact bytes when raw is lossy */
	int64_t raw_length;        /* "raw_length", or -1 */

	/* Why this is not a valid reading; empty when it is. */
	char why[HB_WHY_MAX];
};

/* Keys hbclassify writes; an input that already has them gets them replaced. */
extern const char *const hb_reserved_keys[];

struct hb_parser;

/* A parser with its own json-c tokener, reused across lines.  NULL on ENOMEM. */
struct hb_parser *hb_parser_new(void);
void hb_parser_free(struct hb_parser *p);

/*
 * on: a timestamp without a zone ("2026-11-23T08:00:00.123456", Python's
 * naive isoformat()) is read as UTC and sets ts_zoneless; off (the
 * default): it is not a valid reading.
 */
void hb_parser_assume_utc(struct hb_parser *p, int on);

/*
 * Parse line[0..n) (no newline).  Fills *ev.  Returns 0 when it is a valid
 * reading (customer_id, timestamp and an integer heart_rate, all well
 * formed; the heart-rate range is the classifier's business), -1 otherwise
 * with ev->why saying why in one line.  Never fails on any input bytes.
 *
 * customer_id is a string, or a JSON integer (no fraction, no exponent)
 * taken as its decimal text as written (-0 as "0"); either way 1-64
 * characters of [A-Za-z0-9_.:-].
 */
int hb_event_parse(struct hb_parser *p, const char *line, size_t n, struct hb_event *ev);

/*
 * Append the members of the last parsed object, comma-separated, without
 * braces and without the keys in skip (NULL-terminated; may be NULL).
 * Original bytes are kept, but for two values, each in its last member:
 * an integer customer_id (ev->cid_int) is written as its text, a string,
 * and a timestamp read as UTC (ev->ts_zoneless) gets its 'Z'.  Returns
 * the number of members written.
 */
int hb_event_put_members(struct hb_parser *p, const struct hb_event *ev,
			 struct hb_buf *out, const char *const *skip);

/* 1 if s[0..n) is a valid customer_id (1-64 of [A-Za-z0-9_.:-]). */
int hb_cid_valid(const char *s, size_t n);

/*
 * A JSON integer literal s[0..n) as a customer_id's text: the literal, or
 * "0" for -0.  Returns 1 and sets out and outn when that is a valid
 * customer_id, else 0.
 */
int hb_cid_from_int(const char *s, size_t n, const char **out, size_t *outn);

#endif
