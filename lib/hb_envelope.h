/* hb_envelope — a Kafka message as one NDJSON line, and back.
 *
 *   {"topic":"heartbeat-events","partition":0,"offset":42,"timestamp":1763892000500,
 *    "key":"CUST_00042","value":{"customer_id":"CUST_00042",...}}
 *
 * "value" holds the message value itself when it is one JSON text on one line
 * without surrounding blanks (so jq can reach into it); any other value goes
 * as "value_b64" (base64 of the exact bytes); a null value (a tombstone) has
 * neither.  "key" is a JSON string, or null, or "key_b64" when the key is not
 * UTF-8.  hbkafka-sub --envelope writes it and hbkafka-pub --envelope reads
 * it, so `hbkafka-sub -E | jq ... | hbkafka-pub -E` round-trips exactly.
 */
#ifndef HB_ENVELOPE_H
#define HB_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "hb_buf.h"

struct hb_envelope {
	const char *topic;          /* NULL if absent */
	int32_t partition;          /* -1 if absent */
	int64_t offset;             /* -1 if absent */
	int64_t timestamp_ms;       /* -1 if absent */
	const char *key;            /* NULL: no key */
	size_t key_len;
	const char *value;          /* NULL: a null value */
	size_t value_len;
};

/* Append one envelope line (with its newline) to out. */
void hb_envelope_write(struct hb_buf *out, const struct hb_envelope *e);

struct hb_envreader;

struct hb_envreader *hb_envreader_new(void);
void hb_envreader_free(struct hb_envreader *r);

/*
 * Read an envelope line.  Returns 0 and fills *e (pointers valid until the
 * next call), or -1 with a one-line reason (naming the column) in err.
 */
int hb_envelope_read(struct hb_envreader *r, const char *line, size_t n, struct hb_envelope *e,
		     char *err, size_t errsz);

#endif
