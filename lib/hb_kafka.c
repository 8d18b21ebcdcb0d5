/* hb_kafka — -b/-X/-F configuration for librdkafka. */
#include "hb_kafka.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int set(rd_kafka_conf_t *c, const char *name, const char *val, char *err, size_t errsz)
{
	char msg[512];

	if (rd_kafka_conf_set(c, name, val, msg, sizeof msg) != RD_KAFKA_CONF_OK) {
		snprintf(err, errsz, "%s", msg);
		return -1;
	}
	return 0;
}

/* "name=value": split at the first '='. */
static int set_nv(rd_kafka_conf_t *c, const char *nv, const char *where, char *err, size_t errsz)
{
	const char *eq = strchr(nv, '=');
	char name[256], msg[512];

	if (!eq || eq == nv || (size_t)(eq - nv) >= sizeof name) {
		snprintf(err, errsz, "%s: want name=value, got '%.80s'", where, nv);
		return -1;
	}
	memcpy(name, nv, (size_t)(eq - nv));
	name[eq - nv] = '\0';
	if (set(c, name, eq + 1, msg, sizeof msg) < 0) {
		snprintf(err, errsz, "%s: %s", where, msg);
		return -1;
	}
	return 0;
}

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	memmove(s, s + i, n - i + 1);
}

static int load_file(rd_kafka_conf_t *c, const char *path, char *err, size_t errsz,
		     char *warn, size_t warnsz)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	char line[4096], where[300];
	int no = 0;

	if (!f) {
		snprintf(err, errsz, "-F %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) && !*warn)
		snprintf(warn, warnsz, "-F %s is readable by others (mode %03o): it may hold secrets; "
			 "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
	while (fgets(line, sizeof line, f)) {
		no++;
		trim(line);
		if (!line[0] || line[0] == '#')
			continue;
		snprintf(where, sizeof where, "-F %s:%d", path, no);
		if (set_nv(c, line, where, err, errsz) < 0) {
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

/* A property whose value is a secret: *password*, *secret*, or a private key. */
static int secret(const char *nv)
{
	size_t n = strcspn(nv, "=");
	char name[256];

	if (n >= sizeof name)
		return 0;
	memcpy(name, nv, n);
	name[n] = '\0';
	return strstr(name, "password") || strstr(name, "secret") ||
	       strcmp(name, "ssl.key.pem") == 0 || strcmp(name, "sasl.oauthbearer.config") == 0;
}

rd_kafka_conf_t *hb_kafka_conf(const char *const *defaults, const struct hb_kset *sets, int nsets,
			       char *err, size_t errsz, char *warn, size_t warnsz)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	const char *env = getenv("KAFKA_BOOTSTRAP_SERVERS");
	char msg[512];

	warn[0] = '\0';
	for (; defaults && defaults[0]; defaults += 2) {
		if (set(c, defaults[0], defaults[1], msg, sizeof msg) < 0) {
			snprintf(err, errsz, "default %s=%s: %s", defaults[0], defaults[1], msg);
			goto fail;
		}
	}
	if (set(c, "bootstrap.servers", env && *env ? env : HB_KAFKA_DEFAULT_BROKERS, err, errsz) < 0)
		goto fail;
	for (int i = 0; i < nsets; i++) {
		int rc = 0;

		switch (sets[i].kind) {
		case 'b':
			rc = set(c, "bootstrap.servers", sets[i].val, msg, sizeof msg);
			if (rc < 0)
				snprintf(err, errsz, "-b %s: %s", sets[i].val, msg);
			break;
		case 'X':
			if (secret(sets[i].val)) {
				snprintf(err, errsz, "-X %.*s=...: a secret on the command line would show "
					 "in ps; put it in a -F properties file (mode 0600)",
					 (int)strcspn(sets[i].val, "="), sets[i].val);
				rc = -1;
				break;
			}
			rc = set_nv(c, sets[i].val, "-X", err, errsz);
			break;
		case 'F':
			rc = load_file(c, sets[i].val, err, errsz, warn, warnsz);
			break;
		}
		if (rc < 0)
			goto fail;
	}
	return c;
fail:
	rd_kafka_conf_destroy(c);
	return NULL;
}

rd_kafka_t *hb_kafka_new(rd_kafka_type_t type, const char *const *defaults,
			 const struct hb_kset *sets, int nsets, const char *debug,
			 void (*setup)(rd_kafka_conf_t *conf, void *opaque), void *opaque,
			 char *err, size_t errsz, char *warn, size_t warnsz)
{
	rd_kafka_conf_t *conf = hb_kafka_conf(defaults, sets, nsets, err, errsz, warn, warnsz);
	char msg[512];
	rd_kafka_t *rk;

	if (!conf)
		return NULL;
	if (debug)
		rd_kafka_conf_set(conf, "debug", debug, NULL, 0);
	rd_kafka_conf_set_opaque(conf, opaque);
	if (setup)
		setup(conf, opaque);
	rk = rd_kafka_new(type, conf, msg, sizeof msg);
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		snprintf(err, errsz, "cannot create the %s: %s",
			 type == RD_KAFKA_PRODUCER ? "producer" : "consumer", msg);
	}
	return rk;
}

int hb_kafka_topic_valid(const char *t)
{
	size_t n = strlen(t);

	if (n < 1 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = t[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

int hb_kafka_error(rd_kafka_t *rk, int err, const char *reason, char *msg, size_t msgsz)
{
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, msg, msgsz);
		return HB_KERR_FATAL;
	}
	if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
		snprintf(msg, msgsz, "the broker refused our credentials: %s (check sasl.* in the -F "
			 "file)", reason);
		return HB_KERR_CONFIG;
	}
	/* a disconnect during a handshake is transient; a certificate that does not verify is not */
	if (err == RD_KAFKA_RESP_ERR__SSL && strstr(reason, "certificate verify failed")) {
		snprintf(msg, msgsz, "the broker's TLS certificate does not verify: %s (check "
			 "ssl.ca.location)", reason);
		return HB_KERR_CONFIG;
	}
	snprintf(msg, msgsz, "%s: %s (retrying)", err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ?
		 "broker unreachable" : rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
	return HB_KERR_RETRY;
}

int hb_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int settle_ms, int *partitions)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	int waited = 0, rc;

	if (!rkt)
		return 0;
	for (;;) {
		const struct rd_kafka_metadata *md;
		rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);

		if (e) {
			rc = 0;
			break;
		}
		if (md->topic_cnt == 1 && !md->topics[0].err) {
			*partitions = md->topics[0].partition_cnt;
			rd_kafka_metadata_destroy(md);
			rc = 1;
			break;
		}
		rc = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? -1 : 0;
		rd_kafka_metadata_destroy(md);
		if (rc == 0 || waited >= settle_ms)
			break;
		rd_kafka_poll(rk, 250);	/* serves callbacks while it waits */
		waited += 250;
	}
	rd_kafka_topic_destroy(rkt);
	return rc;
}

int hb_kafka_parse_offset(const char *s, int64_t *off, int64_t *ts_ms)
{
	char *end;
	long long v;

	*ts_ms = -1;
	if (!s || strcmp(s, "stored") == 0) {
		*off = RD_KAFKA_OFFSET_STORED;
		return 0;
	}
	if (strcmp(s, "beginning") == 0) {
		*off = RD_KAFKA_OFFSET_BEGINNING;
		return 0;
	}
	if (strcmp(s, "end") == 0) {
		*off = RD_KAFKA_OFFSET_END;
		return 0;
	}
	errno = 0;
	if (s[0] == 's' && s[1] == '@') {
		v = strtoll(s + 2, &end, 10);
		if (!s[2] || *end || errno || v < 0)
			return -1;
		*ts_ms = v;
		return 0;
	}
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return -1;
	*off = s[0] != '-' ? v : RD_KAFKA_OFFSET_TAIL(-v);	/* -0: the end */
	return 0;
}

int64_t hb_kafka_consumer_lag(rd_kafka_t *rk, int *nassigned)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	int64_t total = 0;
	int known = 0;

	*nassigned = 0;
	if (rd_kafka_assignment(rk, &a) || !a)
		return -1;
	*nassigned = a->cnt;
	if (a->cnt && rd_kafka_position(rk, a) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (int i = 0; i < a->cnt; i++) {
			int64_t lo, hi;

			if (a->elems[i].offset < 0 ||
			    rd_kafka_get_watermark_offsets(rk, a->elems[i].topic, a->elems[i].partition,
							   &lo, &hi) || hi < 0)
				continue;
			total += hi > a->elems[i].offset ? hi - a->elems[i].offset : 0;
			known++;
		}
	}
	rd_kafka_topic_partition_list_destroy(a);
	return known ? total : -1;
}

int hb_kafka_err_permanent(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return 1;
	default:
		return 0;
	}
}

long long hb_kafka_conf_ll(rd_kafka_t *rk, const char *name)
{
	char v[32];
	size_t n = sizeof v;

	if (rd_kafka_conf_get(rd_kafka_conf(rk), name, v, &n) != RD_KAFKA_CONF_OK)
		return 0;
	return atoll(v);
}
