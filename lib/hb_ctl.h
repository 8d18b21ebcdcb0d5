/* hb_ctl — control lines that travel with readings inside the pipeline:
 *
 *   {"_hb_alert":{...}}  an alert event (hbclassify --store), stored by hbpgload
 *   {"_hb_state":{...}}  a customer's detection state (hbclassify --store), stored
 *   {"_hb_mark":"..."}   a partition mark (hbkafka-sub --marks), never stored
 *
 * Recognised by the exact prefix of the line (the writers put no blank
 * first), so a reading is never mistaken for one.
 */
#ifndef HB_CTL_H
#define HB_CTL_H

#include <stddef.h>

enum hb_ctl { HB_CTL_NONE, HB_CTL_ALERT, HB_CTL_STATE, HB_CTL_MARK };

/* Which control line s[0..n) is, by its prefix; HB_CTL_NONE for any other line. */
enum hb_ctl hb_ctl_kind(const char *s, size_t n);

/* Whether s[0..n) starts like a control line: begins with a prefix, or is
 * the start of one ("{\"_hb_st", "{"). */
int hb_ctl_cut(const char *s, size_t n);

/*
 * Check an _hb_alert or _hb_state line: strictly valid JSON, that one member,
 * whose value is an object with what the database needs (an alert: "alert",
 * "state" open|close, "customer_id", "start" and, for a close, "end" as
 * RFC 3339 times; a state: "customer_id", and "topic", "partition",
 * "offset" of the right type when present).  Returns 0 and the inner
 * object's place in s as *off, *len; or -1 with a one-line reason in why.
 */
int hb_ctl_check(enum hb_ctl k, const char *s, size_t n, size_t *off, size_t *len,
		 char *why, size_t whysz);

#endif
