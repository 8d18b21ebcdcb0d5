/* hb_kafka — librdkafka configuration the way kcat takes it: -b, -X, -F.
 *
 * Ownership (librdkafka): hb_kafka_conf() returns a conf the caller passes to
 * rd_kafka_new() (which takes it on success) or destroys with
 * rd_kafka_conf_destroy().
 */
#ifndef HB_KAFKA_H
#define HB_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#define HB_KAFKA_DEFAULT_BROKERS "localhost:9092"
#define HB_KAFKA_DEFAULT_TOPIC "heartbeat-events"
#define HB_KAFKA_DEFAULT_GROUP "heartbeat-consumer-group"

/* One configuration step from the command line, applied in order. */
struct hb_kset {
	char kind;            /* 'b' brokers, 'X' name=value, 'F' properties file */
	const char *val;
};

/*
 * A conf with defaults (name, value pairs, NULL-terminated; may be NULL),
 * then bootstrap.servers from $KAFKA_BOOTSTRAP_SERVERS (or localhost:9092),
 * then each set in order: later settings win, options beat the environment.
 * Returns NULL with a one-line reason in err on a bad property, value or
 * file, or a secret (a password, a key) given with -X, where ps would show it.  A properties file that others may read gets a one-line warning in
 * warn (empty otherwise): it may hold passwords.
 */
rd_kafka_conf_t *hb_kafka_conf(const char *const *defaults, const struct hb_kset *sets, int nsets,
			       char *err, size_t errsz, char *warn, size_t warnsz);

/*
 * A producer or consumer: its conf from hb_kafka_conf(), "debug" set to
 * debug when not NULL, opaque attached, and setup(conf, opaque) called to
 * register the caller's callbacks.  Returns the handle, or NULL with a
 * one-line reason in err (the conf is freed).  warn as for hb_kafka_conf().
 */
rd_kafka_t *hb_kafka_new(rd_kafka_type_t type, const char *const *defaults,
			 const struct hb_kset *sets, int nsets, const char *debug,
			 void (*setup)(rd_kafka_conf_t *conf, void *opaque), void *opaque,
			 char *err, size_t errsz, char *warn, size_t warnsz);

/*
 * For an error_cb: what an error means for the run.  HB_KERR_RETRY: transient,
 * librdkafka retries by itself (msg says so; the caller logs it, "broker
 * unreachable" (RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) as a warning, the rest
 * at debug level).  HB_KERR_FATAL: the client cannot go on
 * (rd_kafka_fatal_error).  HB_KERR_CONFIG: no retry will help, the settings
 * are wrong: authentication refused (SASL), or the broker's certificate does
 * not verify.  msg always gets a one-line reason.
 */
enum { HB_KERR_RETRY, HB_KERR_FATAL, HB_KERR_CONFIG };
int hb_kafka_error(rd_kafka_t *rk, int err, const char *reason, char *msg, size_t msgsz);

/*
 * How many partitions topic has.  A topic the brokers call unknown is asked
 * about again for up to settle_ms: one just created takes a moment to reach
 * every broker of a cluster.  Returns 1 with *partitions, 0 when no broker
 * answered (within 5 s), -1 when the topic does not exist.
 */
int hb_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int settle_ms, int *partitions);

/*
 * -o WHERE of a consumer: stored, beginning, end, N (an offset), -N (N from
 * the end) or s@MS (a time: *off is then left alone and *ts_ms set; else
 * *ts_ms = -1).  Returns 0, or -1 when WHERE is none of these.
 */
int hb_kafka_parse_offset(const char *where, int64_t *off, int64_t *ts_ms);

/*
 * A consumer's lag: messages between its position and the end, over its
 * assigned partitions, from the watermarks librdkafka last saw (no broker
 * round trip).  *nassigned gets the partitions assigned.  -1 when unknown.
 */
int64_t hb_kafka_consumer_lag(rd_kafka_t *rk, int *nassigned);

/* A topic name Kafka accepts: 1-249 of [A-Za-z0-9._-], not "." or "..". */
int hb_kafka_topic_valid(const char *t);

/* A numeric property of rk's configuration, or 0 when unset or not a number. */
long long hb_kafka_conf_ll(rd_kafka_t *rk, const char *name);

/* Whether a delivery failed for what the message is (too large, a record the
 * broker refuses), so that sending it again would fail again. */
int hb_kafka_err_permanent(rd_kafka_resp_err_t err);

#endif
