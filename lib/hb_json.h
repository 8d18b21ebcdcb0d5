/* hb_json — JSON text helpers: string escaping, UTF-8 checks, base64 and a
 * fast scanner for the flat objects that make up nearly all of our traffic. */
#ifndef HB_JSON_H
#define HB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "hb_buf.h"

/*
 * Append s[0..n) to b as a JSON string literal, quotes included.  Control
 * characters and NUL are escaped (\n, \u0000, ...); each byte that is not
 * part of valid UTF-8 becomes U+FFFD and sets *lossy (if lossy is not NULL),
 * so the result is always valid JSON that jq accepts.
 */
void hb_json_escape(struct hb_buf *b, const char *s, size_t n, int *lossy);

/* Length of the longest prefix of s[0..n) that is valid UTF-8 (n if all). */
size_t hb_utf8_valid_prefix(const char *s, size_t n);

/* Largest m <= n such that s[0..m) does not end inside a UTF-8 sequence. */
size_t hb_utf8_cut(const char *s, size_t n);

/* Append base64 (RFC 4648, padded) of s[0..n) to b. */
void hb_base64_encode(struct hb_buf *b, const unsigned char *s, size_t n);
/* Decode base64 into b.  Returns 0, or -1 if s is not valid base64. */
int hb_base64_decode(struct hb_buf *b, const char *s, size_t n);

/* Value kinds the flat scanner knows. */
enum hb_jtype { HB_J_STRING, HB_J_NUMBER, HB_J_TRUE, HB_J_FALSE, HB_J_NULL };

/* One top-level member; pointers borrow from the scanned text. */
struct hb_jmember {
	const char *key;      /* key bytes, without quotes */
	size_t key_len;
	const char *val;      /* strings: the bytes inside the quotes; else the literal */
	size_t val_len;
	enum hb_jtype type;
	int num_int;          /* numbers: 1 if an integer literal (no fraction, no exponent) */
	const char *start;    /* first byte of the member (the key's opening quote) */
	const char *end;      /* one past the last byte of the value */
};

#define HB_JFLAT_MAX 32

struct hb_jflat {
	int n;                            /* members found */
	struct hb_jmember m[HB_JFLAT_MAX];
	const char *open;                 /* the '{' */
	const char *close;                /* the '}' */
};

/*
 * Scan s[0..n) as one JSON object whose members are strings without escapes
 * and of printable ASCII only, numbers, true, false or null, surrounded by
 * optional whitespace.  Returns 1 and fills *out when the text is exactly
 * such an object (it is then valid JSON, RFC 8259); returns 0 when the text
 * is anything else — nested values, escapes, non-ASCII, more than
 * HB_JFLAT_MAX members, or not valid JSON — and the caller must use a full
 * parser (json-c).  It never reads outside s[0..n).
 */
int hb_json_scan_flat(const char *s, size_t n, struct hb_jflat *out);

/* Top-level members of an object, as byte spans of the text (for keeping
 * the original bytes when a line is rewritten).  Keys are raw (escapes
 * left as they are). */
struct hb_jspan {
	const char *start, *end;  /* the member: key's quote .. end of value */
	const char *key;          /* inside the quotes */
	size_t key_len;
};

/* A plain value: zero-initialise it, and hb_jspans_release() it.  The table
 * grows to hold every member. */
struct hb_jspans {
	int n;
	int oom;                  /* the table could not grow: members past n are missing */
	const char *open, *close; /* the object's braces */
	struct hb_jspan *m;       /* n used of cap */
	int cap;
};

void hb_jspans_release(struct hb_jspans *s);

/*
 * Check that s[0..n) is exactly one JSON text (RFC 8259, with optional
 * surrounding whitespace), strictly: no NaN, no comments, no trailing commas,
 * no raw control characters or invalid UTF-8 in strings, no lone surrogate
 * escapes, nesting at most max_depth.  Returns 0 if valid; else -1 with
 * *err_col set to the 1-based byte column of the problem and *err to a
 * static message.  json-c is laxer than this, so we check first.  When the
 * text is an object and spans is not NULL, its members are recorded there.
 */
int hb_json_validate(const char *s, size_t n, int max_depth, struct hb_jspans *spans,
		     size_t *err_col, const char **err);

struct json_object;
struct json_tokener;

/*
 * Validate, then json-c: check s[0..n) with hb_json_validate (recording
 * spans as it does), and only then parse it with tok (reset first), so
 * json-c never sees what the strict validator refuses.  Returns 0 with the
 * value in *out (the caller's, to json_object_put; NULL for JSON null), or
 * -1 with *err_col and *err as hb_json_validate sets them (json-c failing
 * on a text the validator took, which only lack of memory does: column 1,
 * "out of memory").
 */
int hb_json_parse(struct json_tokener *tok, const char *s, size_t n, int max_depth,
		  struct hb_jspans *spans, struct json_object **out, size_t *err_col,
		  const char **err);

/* The member named key (the last one if repeated, as json-c does), or NULL. */
const struct hb_jmember *hb_jflat_get(const struct hb_jflat *f, const char *key);

#endif
