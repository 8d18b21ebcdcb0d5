/* hb_alert_pg — put a Kafka partition's stored alert state back (hbclassify --store).
 *
 * hbpgload stores each customer's detection state in hb_alert_state in the
 * same transaction as its readings; when hbkafka-sub --marks says a
 * partition is assigned, hbclassify asks the database for the state of that
 * partition's customers (hb_alert_state_load) and continues from it.
 */
#ifndef HB_ALERT_PG_H
#define HB_ALERT_PG_H

#include <stddef.h>
#include <stdint.h>

#include "hb_alert.h"

struct hb_alert_pg;

/* conninfo NULL: the PG* variables.  NULL on ENOMEM. */
struct hb_alert_pg *hb_alert_pg_new(const char *conninfo);
void hb_alert_pg_free(struct hb_alert_pg *s);

enum hb_alert_pg_rc { HB_APG_OK = 0, HB_APG_RETRY = 1, HB_APG_FATAL = 2 };

/*
 * Load the state of every customer stored for (topic, partition) into a;
 * *loaded: how many.  Connects first when needed.  On HB_APG_RETRY (the
 * database is unreachable or went away) try again later; on HB_APG_FATAL
 * (bad settings, no schema, a state that cannot be read) do not.  err says
 * why in one line.
 */
enum hb_alert_pg_rc hb_alert_pg_load(struct hb_alert_pg *s, const char *topic, size_t tn,
				     int32_t partition, struct hb_alerts *a, size_t *loaded,
				     char *err, size_t errsz);

#endif
