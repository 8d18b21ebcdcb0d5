/* hb_coord — Kafka coordinates carried through the pipes in a reserved field.
 *
 * hbkafka-sub (when asked) writes each message value as an ordinary JSON
 * object whose first member is "_kafka":
 *
 *   {"_kafka":{"p":0,"o":123,"l":5},"customer_id":"CUST_00042",...}
 *
 * ("l", the consumer's lag behind the partition's end, is optional)
 * i.e. the original object with one member put in front.  A value that
 * cannot be carried that way (it is not an object on one line, or has a NUL,
 * CR or LF byte) is carried whole, base64-encoded:
 *
 *   {"_kafka":{"p":0,"o":124,"b64":"bm90IGpzb24="}}
 *
 * Either way the original bytes can be recovered exactly (hb_coord_unwrap),
 * even when they are not JSON, so hbclassify and hbpgload can acknowledge
 * every offset, bad input included.  jq sees an ordinary object.
 */
#ifndef HB_COORD_H
#define HB_COORD_H

#include <stddef.h>
#include <stdint.h>

#include "hb_buf.h"

struct hb_coord {
	int32_t partition;
	int64_t offset;
	int64_t lag;        /* messages behind the partition's end when read, or -1 */
};

/* Append the coordinates and the value to out, as described above. */
void hb_coord_wrap(struct hb_buf *out, const struct hb_coord *c, const char *val, size_t n);

/* Append just `{"_kafka":{"p":P,"o":O[,"l":L]}` — an object opened, one member in. */
void hb_coord_open(struct hb_buf *out, const struct hb_coord *c);

/*
 * If line starts with the "_kafka" member as hb_coord_wrap writes it, fill
 * *c, point *val and *vlen at the original value (inside line, or inside scratch,
 * which it may overwrite) and return 1.  Returns 0 if the line does not start
 * that way (it is then taken as it is).
 */
int hb_coord_unwrap(const char *line, size_t n, struct hb_coord *c,
		    struct hb_buf *scratch, const char **val, size_t *vlen);

/*
 * Read only the coordinates at the start of line (which may be cut short).
 * Returns 1 and sets *c, *b64 (which form) and *skip: where the value's own
 * text goes on — after `},` of the inline form (the value is "{" and what
 * follows), or after `"b64":"` of the other.  Returns 0 if there are none.
 */
int hb_coord_peek(const char *line, size_t n, struct hb_coord *c, size_t *skip, int *b64);

/*
 * For a line the reader cut (true_len > n): put the first max bytes (at most)
 * of the value it carries into out and its true length in *value_len.
 * Returns 1 with *c set when the line carries coordinates (the base64 form's
 * length is then known to within 2 bytes), 0 when it is the value itself.
 */
int hb_coord_excerpt(const char *line, size_t n, uint64_t true_len, size_t max,
		     struct hb_coord *c, struct hb_buf *out, uint64_t *value_len);

#endif
