/* hb_alert_pg — stored alert state back into hb_alerts (see hb_alert_pg.h). */
#include "hb_alert_pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_pg.h"

struct hb_alert_pg {
	char *conninfo;
	PGconn *conn;
};

struct hb_alert_pg *hb_alert_pg_new(const char *conninfo)
{
	struct hb_alert_pg *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	if (conninfo && !(s->conninfo = strdup(conninfo))) {
		free(s);
		return NULL;
	}
	return s;
}

void hb_alert_pg_free(struct hb_alert_pg *s)
{
	if (!s)
		return;
	if (s->conn)
		PQfinish(s->conn);
	free(s->conninfo);
	free(s);
}

static const char LOAD_SQL[] =
	"SELECT state::text, (extract(epoch FROM last_ts) * 1000000)::bigint "
	"FROM hb_alert_state_load($1, $2::int)";

enum hb_alert_pg_rc hb_alert_pg_load(struct hb_alert_pg *s, const char *topic, size_t tn,
				     int32_t partition, struct hb_alerts *a, size_t *loaded,
				     char *err, size_t errsz)
{
	char t[256], p[16];
	const char *params[2] = { t, p };
	enum hb_alert_pg_rc rc = HB_APG_OK;
	PGresult *res;
	int permanent = 0;

	*loaded = 0;
	if (tn >= sizeof t)
		tn = sizeof t - 1;
	memcpy(t, topic, tn);
	t[tn] = '\0';
	snprintf(p, sizeof p, "%d", (int)partition);
	if (!s->conn) {
		char msg[512];

		s->conn = hb_pg_connect(s->conninfo, "hbclassify", msg, sizeof msg,
					&permanent);
		if (!s->conn) {
			snprintf(err, errsz, "cannot load the alert state: %s", msg);
			return permanent ? HB_APG_FATAL : HB_APG_RETRY;
		}
	}
	res = PQexecParams(s->conn, LOAD_SQL, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char msg[512];
		enum hb_pgerr e = hb_pg_classify(s->conn, res);

		snprintf(err, errsz, "cannot load the alert state of partition %d: %s", (int)partition,
			 hb_pg_msg(s->conn, res, msg, sizeof msg));
		PQclear(res);
		rc = e == HB_PGE_RETRY ? HB_APG_RETRY : HB_APG_FATAL;
		if (rc == HB_APG_RETRY) {
			PQfinish(s->conn);
			s->conn = NULL;
		}
		return rc;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		const char *js = PQgetvalue(res, i, 0);
		int64_t last = PQgetisnull(res, i, 1) ? INT64_MIN : strtoll(PQgetvalue(res, i, 1), NULL, 10);
		char why[160];

		if (hb_alerts_load(a, js, (size_t)PQgetlength(res, i, 0), last, why, sizeof why) < 0) {
			snprintf(err, errsz, "partition %d: %s", (int)partition, why);
			rc = HB_APG_FATAL;
			break;
		}
		(*loaded)++;
	}
	PQclear(res);
	return rc;
}
