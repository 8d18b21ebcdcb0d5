/* hb_consumer — the consumer of hbkafka-sub: offsets, acknowledgements, -e, backpressure, the end. */
#include "hb_consumer.h"

#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hb_ack.h"
#include "hb_buf.h"
#include "hb_coord.h"
#include "hb_envelope.h"
#include "hb_fetch_wake.h"
#include "hb_io.h"
#include "hb_log.h"	/* the levels only: what is said goes to the note callback */
#include "hb_marks.h"
#include "hb_opt.h"
#include "hb_prom.h"
#include "hb_retry.h"
#include "hb_signal.h"
#include "hb_stats.h"
#include "hb_time.h"

#define MAX_PARTS 1024
#define OUT_HIGH ((size_t)r->o->max_buffer)       /* stop taking messages above this */
#define OUT_LOW ((size_t)r->o->max_buffer / 8)     /* and resume fetching below this */

/* Per partition: where -e ends, and what is written but not yet stored. */
struct part {
	int64_t end;             /* high-water mark seen at start, -1 unknown */
	int64_t pending;         /* highest offset written out, not yet stored (plain/envelope), -1 */
	int assigned, done;
};

#define BATCH 1000
#define WAKE_MS 200	/* how long a fetch wake waits for its answer (see hb_fetch_wake.h) */

struct hb_consumer {
	const struct hb_consumer_opts *o;
	hb_consumer_note_fn note;
	void *note_arg;
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;
	rd_kafka_message_t *batch[BATCH];
	struct hb_writer out;	/* fd 1 */
	int paused;
	int64_t stalled_since, stall_limit;
	struct hb_fetch_wake wake;
	struct part p[MAX_PARTS];
	int nparts;
	int ack_fd;
	int ack_ro;		/* ack_fd is read-only now: end of file means hbpgload has gone */
	int ack_eof;		/* ... and it has */
	uint64_t ack_bytes;	/* bytes of acknowledgements read */
	struct hb_acks *acks;	/* with -A: what was written, what is acknowledged */
	int64_t unacked;	/* with -A: written and not acknowledged when we gave up waiting */
	int draining;		/* with -A: the end has begun (see drain_acked) */
	int ending;		/* the end has begun (any end): no more marks */
	struct hb_marks *marks;	/* with --marks */
	int64_t handed_over;	/* ... and a rebalance took partitions with messages unacknowledged */
	uint64_t messages, bytes, errors;
	int64_t t0, last_ok, last_probe;
	struct hb_retry retry;	/* --retry-for: the broker's silence */
	int assigned_once, fatal, ends_known;	/* fatal: the exit status, or 0 */
	struct hb_prom prom;
	struct hb_stats stats;	/* --stats */
	int64_t wall_t0;
	int out_pipe;		/* stdout is a pipe: watch for its reader going away */
	int stdout_flags;	/* its flags before we made it non-blocking, or -1 */
	int64_t next_hup_check;
	char fatal_msg[512];
};

static void say(struct hb_consumer *r, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(struct hb_consumer *r, int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!r->note || level > r->o->verbosity)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->note(r->note_arg, level, msg);
}

static struct part *part(struct hb_consumer *r, int32_t p)
{
	return p >= 0 && p < MAX_PARTS ? &r->p[p] : NULL;
}

/* The marks tracker while marks are written: with --marks, until the end
 * begins (a drain, -e, -c, a signal) or stdout fails; else NULL (no marks). */
static struct hb_marks *marks(const struct hb_consumer *r)
{
	return r->ending || r->draining || r->out.err ? NULL : r->marks;
}

/* For hb_marks_tick: a partition's end as the client last saw it, -1 unknown. */
static int64_t high_water(void *arg, int32_t p)
{
	struct hb_consumer *r = arg;
	int64_t lo, hi;

	return rd_kafka_get_watermark_offsets(r->rk, r->o->topic, p, &lo, &hi) ? -1 : hi;
}

/* Every second, caught_up again for the partitions that stay at their end
 * (not while the reader is stuck: the output would grow without bound). */
static void marks_tick(struct hb_consumer *r)
{
	if (r->marks && r->out.buf.len <= OUT_HIGH && !r->paused)
		hb_marks_tick(marks(r), &r->out.buf, hb_time_mono_us(), hb_time_now_us(), high_water, r);
}

/* Store offset+1 of the highest message done in partition p (committed soon after). */
static void store(struct hb_consumer *r, int32_t p, int64_t offset)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t e;

	rd_kafka_topic_partition_list_add(l, r->o->topic, p)->offset = offset + 1;
	e = rd_kafka_offsets_store(r->rk, l);
	/* a partition taken away meanwhile: its new owner starts from the last commit */
	if (e && e != RD_KAFKA_RESP_ERR__STATE)
		say(r, HB_LOG_DEBUG, "storing offset %lld of partition %d: %s", (long long)offset + 1, p,
		       rd_kafka_err2str(e));
	else if (!e && l->elems[0].err && l->elems[0].err != RD_KAFKA_RESP_ERR__STATE)
		say(r, HB_LOG_DEBUG, "storing offset of partition %d: %s", p,
		       rd_kafka_err2str(l->elems[0].err));
	rd_kafka_topic_partition_list_destroy(l);
}

/* Everything written out: its offsets may be committed (without --ack-from). */
static void store_written(struct hb_consumer *r)
{
	for (int i = 0; i < r->nparts; i++) {
		if (r->p[i].pending >= 0) {
			store(r, i, r->p[i].pending);
			r->p[i].pending = -1;
		}
	}
}

/*
 * Idle, with nothing to write: has the reader of our stdout pipe gone away?
 * Otherwise a consumer whose downstream died while the topic was quiet would
 * hold its partitions, unnoticed, until the next message.
 */
static int reader_gone(struct hb_consumer *r)
{
	struct pollfd pfd = { .fd = 1, .events = POLLOUT };
	int64_t now;

	if (!r->out_pipe || r->out.buf.len)
		return 0;
	now = hb_time_mono_us();
	if (now < r->next_hup_check)
		return 0;
	r->next_hup_check = now + 200000;
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP));
}

/*
 * Write what the output buffer holds, as far as the reader takes it without
 * waiting longer than wait_ms (stdout is non-blocking when it is a pipe), so
 * a stalled reader never stops us from polling the consumer; without -A,
 * offsets of what is written are stored.  Returns -1 when stdout is gone.
 */
static int drain_out(struct hb_consumer *r, int wait_ms)
{
	if (hb_writer_drain(&r->out, wait_ms) < 0)
		return -1;
	if (r->out.buf.len == 0 && !r->o->ack_from)
		store_written(r);
	return 0;
}

/*
 * A slow reader: above OUT_HIGH unwritten bytes we stop taking messages
 * (librdkafka's own queue is bounded, so fetching stops by itself).  Only
 * when the reader stays stuck for long — the database is down, say — are
 * the partitions paused, so that we can go on polling and stay in the group
 * (max.poll.interval.ms); they resume once the output drains.
 */
#define STALL_PAUSE_US (30 * 1000000LL)

/* How long a stall may last before pausing: 30 s, or a third of
 * max.poll.interval.ms when that is shorter, so we never miss a poll. */
static int64_t stall_limit(struct hb_consumer *r)
{
	long long ms;

	if (!r->stall_limit) {
		r->stall_limit = STALL_PAUSE_US;
		if ((ms = hb_kafka_conf_ll(r->rk, "max.poll.interval.ms")) > 0 && ms * 1000 / 3 < r->stall_limit)
			r->stall_limit = ms * 1000 / 3;
	}
	return r->stall_limit;
}

static void backpressure(struct hb_consumer *r)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	int64_t now = hb_time_mono_us();
	int pause;

	if (r->out.buf.len <= OUT_HIGH)
		r->stalled_since = 0;
	else if (!r->stalled_since)
		r->stalled_since = now;
	pause = r->stalled_since && now - r->stalled_since > stall_limit(r);
	if (pause == r->paused || (!pause && r->out.buf.len > OUT_LOW))
		return;
	if (rd_kafka_assignment(r->rk, &a) || !a)
		return;
	if (pause)
		rd_kafka_pause_partitions(r->rk, a);
	else
		rd_kafka_resume_partitions(r->rk, a);
	r->paused = pause;
	say(r, HB_LOG_INFO, "%s fetching: %zu bytes are waiting for the reader", pause ? "paused" :
	       "resumed", r->out.buf.len);
	rd_kafka_topic_partition_list_destroy(a);
}

/* Write --prom-file when it is due (or now, with force). */
static void prom_tick(struct hb_consumer *r, int force)
{
	struct hb_prom *p = &r->prom;
	int64_t behind;
	int nassigned;
	char err[512];

	if (!hb_prom_due(p, force))
		return;
	behind = hb_kafka_consumer_lag(r->rk, &nassigned);
	hb_prom_begin(p, p->labels);
#define C(name, help, v) hb_prom_one(p, "hbmon_sub_" name, "counter", help, (double)(v))
#define G(name, help, v) hb_prom_one(p, "hbmon_sub_" name, "gauge", help, (double)(v))
	C("messages_total", "Messages consumed and written out.", r->messages);
	C("bytes_total", "Bytes of message values written out.", r->bytes);
	C("acks_total", "Acknowledgements read from --ack-from.", r->acks ? hb_acks_count(r->acks) : 0);
	C("errors_total", "Consume errors reported by the broker or the client.", r->errors);
	C("fetch_wakes_total", "Requests sent to wake the fetcher once its full queue had drained.",
	  r->wake.wakes);
	G("partitions_assigned", "Partitions this consumer holds now.", nassigned);
	if (behind >= 0)
		G("consumer_lag_messages", "Messages between our position and the end, over our partitions.",
		  behind);
	G("paused", "1 while fetching is paused because the reader does not keep up.", r->paused);
	G("output_buffer_bytes", "Output waiting for the reader.", r->out.buf.len);
	G("start_time_seconds", "When this process started, seconds since the epoch.", (double)r->wall_t0 / 1e6);
	G("last_update_seconds", "When this file was written, seconds since the epoch.",
	  (double)hb_time_now_us() / 1e6);
#undef C
#undef G
	if (hb_prom_flush(p, err, sizeof err))
		say(r, HB_LOG_WARNING, "--prom-file: %s", err);
}

/*
 * --stats: the line when it is due.  The loop wakes at least every 100 ms,
 * so a quiet topic still gets its lines.  The lag is what the client last
 * saw (no broker round trip); it is left out while unknown.
 */
static void stats_tick(struct hb_consumer *r)
{
	int64_t now, behind;
	int nassigned;
	double rate;
	char acks[40] = "", lag[40] = "";

	if (!r->stats.interval_us)
		return;
	now = hb_time_mono_us();
	if (!hb_stats_due(&r->stats, now))
		return;
	rate = hb_stats_take(&r->stats, now, r->messages);
	if (r->o->verbosity < HB_LOG_INFO)
		return;
	behind = hb_kafka_consumer_lag(r->rk, &nassigned);
	if (r->acks)
		snprintf(acks, sizeof acks, " acks=%llu", (unsigned long long)hb_acks_count(r->acks));
	if (behind >= 0)
		snprintf(lag, sizeof lag, " lag=%lld", (long long)behind);
	say(r, HB_LOG_INFO, "stats messages=%llu%s rate=%.1f/s%s partitions=%d%s",
	       (unsigned long long)r->messages, acks, rate, lag, nassigned, r->paused ? " paused=1" : "");
}

static void ack_store(void *arg, int32_t p, int64_t o)
{
	store(arg, p, o);
}

/*
 * Acknowledgements "PARTITION OFFSET\n" from hbpgload (lib/hb_ack.h): store
 * what is stored.  Returns 1 when the FIFO has reached its end (only once
 * it is read-only, at the drain: hbpgload has closed it, i.e. exited).
 */
static int read_acks(struct hb_consumer *r)
{
	char buf[4096], q[200];
	uint64_t bad;

	for (;;) {
		ssize_t k = read(r->ack_fd, buf, sizeof buf);

		/* end of file only while no writer has it open: it follows the last read */
		r->ack_eof = k == 0 && r->ack_ro;
		if (k <= 0)
			return r->ack_eof;
		r->ack_bytes += (uint64_t)k;
		bad = hb_acks_bad(r->acks);
		hb_acks_feed(r->acks, buf, (size_t)k, ack_store, r);
		if (hb_acks_bad(r->acks) > bad && bad < 10)
			say(r, HB_LOG_WARNING, "ignoring a malformed acknowledgement: %s",
			       hb_log_quote(q, sizeof q, hb_acks_last_bad(r->acks),
					    strlen(hb_acks_last_bad(r->acks))));
	}
}

/* -o s@MS: turn the timestamp into offsets, partition by partition. */
static void offsets_for_time(struct hb_consumer *r, rd_kafka_topic_partition_list_t *parts, int64_t ts)
{
	rd_kafka_resp_err_t e;

	for (int i = 0; i < parts->cnt; i++)
		parts->elems[i].offset = ts;
	e = rd_kafka_offsets_for_times(r->rk, parts, 10000);
	if (e)
		say(r, HB_LOG_WARNING, "looking up offsets for time %lld: %s (starting at the end)",
		       (long long)ts, rd_kafka_err2str(e));
	for (int i = 0; i < parts->cnt; i++)
		if (e || parts->elems[i].err || parts->elems[i].offset < 0)
			parts->elems[i].offset = RD_KAFKA_OFFSET_END;
}

/*
 * -o stored: ask for the committed offsets here and start from them, or, where
 * there are none, where auto.offset.reset says.  librdkafka would do the same
 * but waits 100 ms on a timer before the reset, at every start of a new group.
 */
static void committed_or_reset(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
	char reset[32];
	size_t n = sizeof reset;
	int64_t dflt = RD_KAFKA_OFFSET_BEGINNING;

	if (rd_kafka_conf_get(rd_kafka_conf(rk), "auto.offset.reset", reset, &n) == RD_KAFKA_CONF_OK &&
	    (strcmp(reset, "latest") == 0 || strcmp(reset, "largest") == 0 || strcmp(reset, "end") == 0))
		dflt = RD_KAFKA_OFFSET_END;
	else if (strcmp(reset, "error") == 0)
		return;	/* the user wants librdkafka's error: leave it to librdkafka */
	if (rd_kafka_committed(rk, parts, 10000))
		return;	/* no answer: librdkafka asks again itself */
	for (int i = 0; i < parts->cnt; i++)
		if (parts->elems[i].err || parts->elems[i].offset < 0)
			parts->elems[i].offset = dflt;
}

/* -X partition.assignment.strategy=cooperative-sticky assigns incrementally. */
static int cooperative(rd_kafka_t *rk)
{
	const char *p = rd_kafka_rebalance_protocol(rk);

	return p && strcmp(p, "COOPERATIVE") == 0;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct hb_consumer *r = opaque;
	int64_t off, ts;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		hb_kafka_parse_offset(r->o->offset, &off, &ts);
		if (ts >= 0)
			offsets_for_time(r, parts, ts);
		else if (off != RD_KAFKA_OFFSET_STORED)
			for (int i = 0; i < parts->cnt; i++)
				parts->elems[i].offset = off;
		else
			committed_or_reset(rk, parts);
		for (int i = 0; i < parts->cnt; i++) {
			struct part *p = part(r, parts->elems[i].partition);

			if (p) {
				p->assigned = 1;
				p->done = 0;
			}
			hb_marks_assigned(marks(r), &r->out.buf, parts->elems[i].partition);
			if (r->acks)	/* from where it starts now, nothing is awaited yet */
				hb_acks_forget(r->acks, parts->elems[i].partition);
		}
		r->assigned_once = 1;
		r->paused = 0;
		say(r, HB_LOG_INFO, "assigned %d partition(s) of %s", parts->cnt, r->o->topic);
		if (cooperative(rk))
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
		else
			rd_kafka_assign(rk, parts);
		if (r->draining)	/* the end has begun: take nothing more */
			rd_kafka_pause_partitions(rk, parts);
		return;
	}
	/* Revoked: commit what is done now, so the next owner starts right after it. */
	if (!r->o->ack_from && drain_out(r, 1000) == 0 && r->out.buf.len == 0)
		store_written(r);
	if (r->o->ack_from)
		read_acks(r);
	rd_kafka_commit(rk, NULL, 0);
	for (int i = 0; i < parts->cnt; i++) {
		struct part *p = part(r, parts->elems[i].partition);

		if (p)
			p->assigned = 0;
		hb_marks_revoked(marks(r), &r->out.buf, parts->elems[i].partition);
		/* its next owner reads again what was not acknowledged; during the
		 * drain that is a message we cannot vouch for: count it */
		if (r->acks && r->draining)
			r->handed_over += hb_acks_forget(r->acks, parts->elems[i].partition);
		else if (r->acks)
			hb_acks_forget(r->acks, parts->elems[i].partition);
	}
	say(r, HB_LOG_INFO, "revoked %d partition(s) of %s", parts->cnt, r->o->topic);
	if (cooperative(rk))
		rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
	else
		rd_kafka_assign(rk, NULL);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct hb_consumer *r = opaque;
	char msg[sizeof r->fatal_msg];
	int kind = hb_kafka_error(rk, err, reason, msg, sizeof msg);

	if (kind == HB_KERR_RETRY)
		say(r, err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? HB_LOG_WARNING : HB_LOG_DEBUG, "%s", msg);
	if (kind == HB_KERR_RETRY || r->fatal)
		return;
	memcpy(r->fatal_msg, msg, sizeof msg);
	r->fatal = kind == HB_KERR_CONFIG ? HB_EXIT_USAGE : HB_EXIT_FAIL;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct hb_consumer *r = rd_kafka_opaque(rk);

	(void)level;
	say(r, HB_LOG_DEBUG, "librdkafka %s: %s", fac, buf);
}

static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
		      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	struct hb_consumer *r = opaque;

	(void)rk;
	(void)offsets;
	if (!err)
		r->last_ok = hb_time_mono_us();
	else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET)
		say(r, HB_LOG_DEBUG, "commit: %s", rd_kafka_err2str(err));
}

static void set_callbacks(rd_kafka_conf_t *conf, void *opaque)
{
	(void)opaque;
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);
	rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
}

static rd_kafka_t *make_consumer(struct hb_consumer *r)
{
	const char *const defaults[] = {
		"group.id", r->o->group,
		"client.id", "hbkafka-sub",
		"enable.auto.commit", "true",
		"auto.commit.interval.ms", "1000",
		"enable.auto.offset.store", "false",
		"auto.offset.reset", "earliest",
		"enable.partition.eof", "true",
		"session.timeout.ms", "10000",
		"heartbeat.interval.ms", "2000",
		/* small, as fetch_look() refills it at once (hb_fetch_wake.h):
		 * 33 MB end to end where librdkafka's defaults took 70-120 */
		"queued.min.messages", "20000",
		"max.partition.fetch.bytes", "262144",
		/* librdkafka 2.3+ has a setting for it (NULL before: the list ends) */
		hb_fetch_wake_backoff(), "10",
		NULL,
	};
	char err[512], warn[512];
	rd_kafka_t *rk = hb_kafka_new(RD_KAFKA_CONSUMER, defaults, r->o->sets, r->o->nsets,
				      r->o->verbosity > HB_LOG_DEBUG ? "cgrp,topic,fetch" : NULL,
				      set_callbacks, r, err, sizeof err, warn, sizeof warn);

	if (warn[0])
		say(r, HB_LOG_WARNING, "%s", warn);
	if (!rk) {
		say(r, HB_LOG_ERROR, "%s", err);
		return NULL;
	}
	rd_kafka_poll_set_consumer(rk);
	r->queue = rd_kafka_queue_get_consumer(rk);
	hb_fetch_wake_init(&r->wake, hb_kafka_conf_ll(rk, "queued.min.messages"),
			   hb_kafka_conf_ll(rk, "queued.max.messages.kbytes"));
	return rk;
}

/*
 * The topic's partitions and, for -e, their high-water marks now.  Returns 1
 * when known, 0 when the broker does not answer (try again), -1 when the
 * topic does not exist.
 */
static int learn_topic(struct hb_consumer *r)
{
	int rc = 1, n, k = hb_kafka_topic_partitions(r->rk, r->o->topic, r->ends_known ? 0 : 5000, &n);

	if (k <= 0)
		return k;
	r->nparts = n < MAX_PARTS ? n : MAX_PARTS;
	/* -e: the ends as they are at start, learned once (later probes only check the broker) */
	for (int i = 0; i < r->nparts && r->o->exit_at_end && !r->ends_known && rc == 1; i++) {
		int64_t lo, hi;

		if (rd_kafka_query_watermark_offsets(r->rk, r->o->topic, i, &lo, &hi, 5000))
			rc = 0;
		else
			r->p[i].end = hi;
	}
	if (rc == 1)
		r->ends_known = 1;
	r->last_ok = hb_time_mono_us();
	return rc;
}

static void mark_done(struct hb_consumer *r, int32_t p, int64_t next)
{
	struct part *pp = part(r, p);

	if (pp && r->o->exit_at_end && pp->end >= 0 && next >= pp->end)
		pp->done = 1;
}

/* All assigned partitions have reached their end (for -e). */
static int at_end(const struct hb_consumer *r)
{
	if (!r->o->exit_at_end || !r->assigned_once)
		return 0;
	for (int i = 0; i < r->nparts; i++)
		if (r->p[i].assigned && !r->p[i].done)
			return 0;
	return 1;
}

static void write_message(struct hb_consumer *r, const rd_kafka_message_t *m)
{
	struct hb_coord c = { .partition = m->partition, .offset = m->offset, .lag = -1 };
	const char *v = m->payload ? m->payload : "";
	int64_t lo, hi;

	if (r->o->mode == HB_CONSUMER_ENVELOPE) {
		rd_kafka_timestamp_type_t tt;
		struct hb_envelope e = {
			.topic = r->o->topic, .partition = m->partition, .offset = m->offset,
			.timestamp_ms = rd_kafka_message_timestamp(m, &tt),
			.key = m->key, .key_len = m->key_len,
			.value = m->payload, .value_len = m->len,
		};
		hb_envelope_write(&r->out.buf, &e);
		return;
	}
	if (r->o->mode == HB_CONSUMER_COORDS) {
		if (rd_kafka_get_watermark_offsets(r->rk, r->o->topic, m->partition, &lo, &hi) == 0 &&
		    hi > m->offset)
			c.lag = hi - m->offset - 1;
		hb_coord_wrap(&r->out.buf, &c, v, m->len);
	} else if (memchr(v, '\n', m->len) || memchr(v, '\r', m->len) || memchr(v, '\0', m->len)) {
		hb_coord_wrap(&r->out.buf, &c, v, m->len);
	} else {
		hb_buf_put(&r->out.buf, v, m->len);
	}
	hb_buf_putc(&r->out.buf, '\n');
}

/* Before and after each take: wake the fetcher if it has stopped on a full queue since drained. */
static void fetch_look(struct hb_consumer *r)
{
	double avg = r->messages ? (double)r->bytes / (double)r->messages : 0;

	if (r->paused || !hb_fetch_wake_due(&r->wake, (size_t)rd_kafka_queue_length(r->queue), avg,
					    hb_time_mono_us()))
		return;
	if (hb_fetch_wake_send(&r->wake, r->rk, WAKE_MS) < 0)
		say(r, HB_LOG_DEBUG, "fetch wake: %s (%llu of %llu requests)", rd_kafka_err2str(r->wake.last_err),
		    (unsigned long long)r->wake.failed, (unsigned long long)r->wake.wakes);
}

/* One polled event.  Returns an exit status, or -1 to go on. */
static int handle(struct hb_consumer *r, rd_kafka_message_t *m)
{
	struct part *p;

	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		mark_done(r, m->partition, m->offset);
		hb_marks_eof(marks(r), &r->out.buf, m->partition, m->offset, hb_time_mono_us(), hb_time_now_us());
		r->last_ok = hb_time_mono_us();
		return -1;
	}
	if (m->err) {
		if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
		    m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
			say(r, HB_LOG_ERROR, "topic %s does not exist", r->o->topic);
			return HB_EXIT_USAGE;
		}
		if (m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
		    m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED) {
			say(r, HB_LOG_ERROR, "%s", rd_kafka_message_errstr(m));
			return HB_EXIT_USAGE;
		}
		r->errors++;
		say(r, HB_LOG_WARNING, "consumer: %s", rd_kafka_message_errstr(m));
		return -1;
	}
	r->last_ok = hb_time_mono_us();
	/* fetched before its partition was revoked in this batch: after the
	 * revoked mark it must not be written (its new owner reads it) */
	if (!hb_marks_held(marks(r), m->partition))
		return -1;
	hb_marks_message(marks(r), m->partition);
	write_message(r, m);
	r->messages++;
	r->bytes += m->len;
	if (r->acks)
		hb_acks_written(r->acks, m->partition, m->offset);
	else if ((p = part(r, m->partition)))
		p->pending = m->offset;
	mark_done(r, m->partition, m->offset + 1);
	if (r->o->count > 0 && r->messages >= (uint64_t)r->o->count)
		return HB_EXIT_OK;
	return -1;
}

/* When idle, ask the broker for metadata: no answer for --retry-for seconds is exit 69. */
static int check_broker(struct hb_consumer *r)
{
	int64_t now = hb_time_mono_us();
	int k;

	if (now - r->last_ok < 5000000 || now - r->last_probe < 5000000)
		return -1;
	r->last_probe = now;
	k = learn_topic(r);
	if (k < 0) {
		say(r, HB_LOG_ERROR, "topic %s does not exist", r->o->topic);
		return HB_EXIT_USAGE;
	}
	now = hb_time_mono_us();
	if (k == 0 && hb_retry_failed_since(&r->retry, r->last_ok, now)) {
		say(r, HB_LOG_ERROR, "broker unreachable for %.0f s (--retry-for); nothing consumed "
		       "since is lost: offsets are committed only for what was done",
		       (double)(now - r->last_ok) / 1e6);
		return HB_EXIT_UNAVAILABLE;
	}
	return -1;
}

static int run_loop(struct hb_consumer *r)
{
	int rc, rc_stop = -1, got_any;

	while (!hb_stop) {
		rd_kafka_message_t *m;
		int wait = r->out.buf.len ? 0 : 100;

		if (r->fatal) {
			say(r, HB_LOG_ERROR, "%s%s", r->fatal == HB_EXIT_FAIL ? "fatal consumer error: " : "",
			       r->fatal_msg);
			return r->fatal;
		}
		/* take what is there (a batch at a time), then write it out in one go */
		got_any = 0;
		for (int round = 0; round < 10 && (r->out.buf.len <= OUT_HIGH || (r->paused && !round)); round++) {
			/*
			 * A batch call waits for a full batch or its timeout, which on a
			 * quiet stream is latency: wait for one message, then take what
			 * is there without waiting.
			 */
			ssize_t got = 0;

			fetch_look(r);
			if (!round && wait > 0) {
				if ((r->batch[0] = rd_kafka_consumer_poll(r->rk, wait)))
					got = 1 + rd_kafka_consume_batch_queue(r->queue, 0, r->batch + 1, BATCH - 1);
			} else {
				got = rd_kafka_consume_batch_queue(r->queue, 0, r->batch, BATCH);
			}
			if (got < 0)
				got = 0;
			fetch_look(r);

			for (ssize_t k = 0; k < got; k++) {
				m = r->batch[k];
				rc = rc_stop >= 0 ? rc_stop : handle(r, m);
				rd_kafka_message_destroy(m);
				if (rc >= 0)
					rc_stop = rc;
			}
			if (rc_stop >= 0)
				return rc_stop;
			got_any |= got > 0;
			if (got < BATCH)
				break;
		}
		if (r->ack_fd >= 0)
			read_acks(r);
		marks_tick(r);
		/* nothing new: wait for the reader (up to 100 ms) rather than spin */
		if (r->out.buf.len && drain_out(r, got_any ? 0 : 100) < 0) {
			if (r->out.err == EPIPE)
				return HB_EXIT_OK;	/* the reader is gone: end quietly */
			say(r, HB_LOG_ERROR, "write error on stdout: %s (what was not written is not "
			       "committed)", strerror(r->out.err));
			return HB_EXIT_FAIL;
		}
		if (reader_gone(r)) {
			say(r, HB_LOG_DEBUG, "the reader of stdout has gone: ending");
			r->out.err = EPIPE;
			return HB_EXIT_OK;
		}
		backpressure(r);
		prom_tick(r, 0);
		stats_tick(r);
		if (at_end(r))
			return HB_EXIT_OK;
		if ((rc = check_broker(r)) >= 0)
			return rc;
	}
	return HB_EXIT_OK;
}

/* Start: the topic must exist; the broker may need a while to answer. */
static int start(struct hb_consumer *r)
{
	rd_kafka_topic_partition_list_t *sub;
	rd_kafka_resp_err_t e;
	int64_t t0 = hb_time_mono_us();
	int k;

	hb_retry_init(&r->retry, r->o->retry_for * 1000000LL, 0, 0);

	while ((k = learn_topic(r)) == 0 && !hb_stop) {
		/* serve the error callback: refused credentials or certificates end it here */
		rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 0);

		if (m)
			rd_kafka_message_destroy(m);
		if (r->fatal) {
			say(r, HB_LOG_ERROR, "%s", r->fatal_msg);
			return r->fatal;
		}
		if (hb_retry_failed_since(&r->retry, t0, hb_time_mono_us())) {
			say(r, HB_LOG_ERROR, "broker unreachable for %.0f s (--retry-for); try again later",
			       (double)(hb_time_mono_us() - t0) / 1e6);
			return HB_EXIT_UNAVAILABLE;
		}
		say(r, HB_LOG_WARNING, "waiting for the broker to answer");
	}
	if (hb_stop)
		return HB_EXIT_OK;
	if (k < 0) {
		say(r, HB_LOG_ERROR, "topic %s does not exist (create it, e.g. scripts/hb-kafka topic "
		       "--topic %s)", r->o->topic, r->o->topic);
		return HB_EXIT_USAGE;
	}
	sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, r->o->topic, RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(r->rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (e) {
		say(r, HB_LOG_ERROR, "cannot subscribe to %s: %s", r->o->topic, rd_kafka_err2str(e));
		return HB_EXIT_FAIL;
	}
	return -1;
}

static int open_acks(struct hb_consumer *r, const char *path)
{
	/* O_RDWR: a FIFO opened so never reports end of file while hbpgload restarts. */
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		say(r, HB_LOG_ERROR, "cannot open --ack-from %s: %s", path, strerror(errno));
	return fd;
}

/* Put stdout back as we found it (the pipe may be shared), then close it:
 * the stage after us sees the end of its input.  /dev/null takes fd 1. */
static void close_stdout(struct hb_consumer *r)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (r->stdout_flags >= 0)
		fcntl(1, F_SETFL, r->stdout_flags);
	r->stdout_flags = -1;
	if (null >= 0) {
		dup2(null, 1);
		close(null);
	} else {
		close(1);
	}
}

/*
 * From now on read the FIFO through a read-only descriptor, so that its end
 * of file says hbpgload has closed it: exited, with nothing more to say.
 * (The read-write one we held so far never sees an end of file, which is
 * what lets hbpgload restart while we run.)
 */
static void acks_read_only(struct hb_consumer *r)
{
	int fd = open(r->o->ack_from, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return;	/* we keep waiting for the timeout instead */
	close(r->ack_fd);
	r->ack_fd = fd;
	r->ack_ro = 1;
}

/* Serve the consumer without taking messages (fetching is paused): rebalances. */
static void serve_consumer(struct hb_consumer *r)
{
	rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 0);

	if (m)
		rd_kafka_message_destroy(m);	/* not written: delivered again later */
}

/* Wait up to ms for acknowledgements and take them. */
static void await_acks(struct hb_consumer *r, int ms)
{
	struct pollfd pfd = { .fd = r->ack_fd, .events = POLLIN };

	/*
	 * Read whatever poll says: Linux reports a FIFO's hang-up only when a
	 * writer came after we opened it, so the end of file shows only to read.
	 */
	if (r->ack_eof)		/* poll would return at once: just wait */
		poll(NULL, 0, ms);
	else
		poll(&pfd, 1, ms);
	read_acks(r);
	serve_consumer(r);
}

/* Commit the stored offsets now and wait up to 10 s for the broker's answer. */
static rd_kafka_resp_err_t commit_now(struct hb_consumer *r)
{
	rd_kafka_queue_t *q = rd_kafka_queue_new(r->rk);
	rd_kafka_resp_err_t e = rd_kafka_commit_queue(r->rk, NULL, q, NULL, NULL);

	if (!e) {
		rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 10000);
		const rd_kafka_topic_partition_list_t *l;

		e = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
		l = ev && !e ? rd_kafka_event_topic_partition_list(ev) : NULL;
		for (int i = 0; l && i < l->cnt && !e; i++)
			e = l->elems[i].err;
		rd_kafka_event_destroy(ev);
	}
	rd_kafka_queue_destroy(q);
	return e == RD_KAFKA_RESP_ERR__NO_OFFSET ? RD_KAFKA_RESP_ERR_NO_ERROR : e;
}

/*
 * The end with -A: stop taking messages, write out what was taken, close
 * stdout so that hbclassify and hbpgload see the end of their input and
 * store their last batch, wait for the acknowledgement of every message
 * written — up to --ack-timeout, or until hbpgload exits — and commit.
 * Returns 0 when all of it was acknowledged and committed, else 1, saying
 * how much was not (it was not committed: the group reads it again).
 */
static int drain_acked(struct hb_consumer *r)
{
	int64_t deadline = hb_time_mono_us() + r->o->ack_timeout * 1000000LL;
	rd_kafka_topic_partition_list_t *a = NULL;
	rd_kafka_resp_err_t e;
	int64_t left;
	int nparts, rc = HB_EXIT_OK;

	r->draining = 1;
	if ((left = hb_acks_outstanding(r->acks, &nparts)) > 0)
		say(r, HB_LOG_INFO, "ending: waiting up to %ld s for the acknowledgement of %lld message(s) "
		       "in %d partition(s)", r->o->ack_timeout, (long long)left, nparts);
	if (!rd_kafka_assignment(r->rk, &a) && a) {
		rd_kafka_pause_partitions(r->rk, a);
		rd_kafka_topic_partition_list_destroy(a);
	}
	while (!r->out.err && r->out.buf.len && hb_time_mono_us() < deadline) {
		if (drain_out(r, 100) < 0)
			break;
		read_acks(r);
		serve_consumer(r);
	}
	if (r->out.err && r->out.err != EPIPE) {
		say(r, HB_LOG_ERROR, "write error on stdout: %s (what was not written is not "
		       "committed)", strerror(r->out.err));
		rc = HB_EXIT_FAIL;
	}
	close_stdout(r);
	acks_read_only(r);
	/* an end of file before any acknowledgement may be an hbpgload yet to open it */
	while (hb_acks_outstanding(r->acks, NULL) > 0 && !(r->ack_eof && r->ack_bytes) &&
	       (left = deadline - hb_time_mono_us()) > 0)
		await_acks(r, left > 50000 ? 50 : (int)(left / 1000) + 1);
	read_acks(r);
	r->unacked = left = hb_acks_outstanding(r->acks, &nparts);
	if (left > 0) {
		say(r, HB_LOG_ERROR, "%lld message(s) written in %d partition(s) were not acknowledged %s; "
		       "not committed, the group reads them again", (long long)left, nparts,
		       r->ack_eof && r->ack_bytes ? "before hbpgload exited" :
		       r->out.buf.len ? "(the reader did not take them)" : "within --ack-timeout");
		rc = HB_EXIT_FAIL;
	}
	if (r->handed_over > 0) {
		say(r, HB_LOG_ERROR, "%lld message(s) written were not acknowledged when a rebalance took "
		       "their partitions; their new owner reads them again", (long long)r->handed_over);
		r->unacked += r->handed_over;
		rc = HB_EXIT_FAIL;
	}
	/* only acknowledgements store offsets: without any there is nothing to commit */
	if (hb_acks_count(r->acks) && (e = commit_now(r))) {
		say(r, HB_LOG_ERROR, "cannot commit the acknowledged offsets: %s (the group reads them "
		       "again)", rd_kafka_err2str(e));
		rc = HB_EXIT_FAIL;
	}
	return rc;
}

/*
 * Write what was read (for up to 10 s: a reader that is stuck gets it again
 * later, uncommitted), or with -A drain as above, then leave the group
 * committing what is done — within 30 s, so that a broker that hangs cannot
 * keep us: what is not committed is simply delivered again.
 */
static int finish(struct hb_consumer *r, int rc)
{
	int64_t end = hb_time_mono_us() + 10000000;
	rd_kafka_error_t *e;

	r->ending = 1;
	if (r->acks && rc == HB_EXIT_OK) {
		rc = drain_acked(r);
	} else {
		while (!r->out.err && r->out.buf.len && hb_time_mono_us() < end)
			if (drain_out(r, 1000) < 0)
				break;
		if (r->out.err && r->out.err != EPIPE && rc == HB_EXIT_OK) {
			say(r, HB_LOG_ERROR, "write error on stdout: %s (what was not written is not "
			       "committed)", strerror(r->out.err));
			rc = HB_EXIT_FAIL;
		}
		if (r->ack_fd >= 0)
			read_acks(r);
	}
	if (rc == HB_EXIT_UNAVAILABLE)
		return rc;	/* no broker to leave the group with: destroy without closing */
	e = rd_kafka_consumer_close_queue(r->rk, r->queue);
	if (e) {
		rd_kafka_error_destroy(e);
		rd_kafka_consumer_close(r->rk);
		return rc;
	}
	end = hb_time_mono_us() + 30000000;
	while (!rd_kafka_consumer_closed(r->rk) && hb_time_mono_us() < end) {
		/* consumer_poll serves the revocation through on_rebalance */
		rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 100);

		if (m)
			rd_kafka_message_destroy(m);	/* not written: delivered again later */
	}
	if (!rd_kafka_consumer_closed(r->rk))
		say(r, HB_LOG_WARNING, "the broker did not let us leave the group within 30 s; "
		       "uncommitted messages will be delivered again");
	return rc;
}


struct hb_consumer *hb_consumer_new(const struct hb_consumer_opts *o, hb_consumer_note_fn note,
				    void *arg, int *status)
{
	struct hb_consumer *r = calloc(1, sizeof *r);
	struct stat st;

	*status = HB_EXIT_FAIL;
	if (!r) {
		if (note)
			note(arg, HB_LOG_ERROR, "out of memory");
		return NULL;
	}
	r->o = o;
	r->note = note;
	r->note_arg = arg;
	r->out.fd = 1;
	r->ack_fd = -1;
	r->stdout_flags = -1;
	for (int i = 0; i < MAX_PARTS; i++)
		r->p[i].end = r->p[i].pending = -1;
	if (o->ack_from) {
		if ((r->ack_fd = open_acks(r, o->ack_from)) < 0) {
			*status = HB_EXIT_USAGE;
			hb_consumer_free(r);
			return NULL;
		}
		if (!(r->acks = hb_acks_new())) {
			say(r, HB_LOG_ERROR, "out of memory");
			hb_consumer_free(r);
			return NULL;
		}
	}
	if (fstat(1, &st) == 0 && S_ISFIFO(st.st_mode)) {
		r->out_pipe = 1;
		r->stdout_flags = fcntl(1, F_GETFL);
		if (r->stdout_flags >= 0)
			fcntl(1, F_SETFL, r->stdout_flags | O_NONBLOCK);
	}
	if (o->marks && !(r->marks = hb_marks_new(o->topic))) {
		say(r, HB_LOG_ERROR, "out of memory");
		hb_consumer_free(r);
		return NULL;
	}
	if (!(r->rk = make_consumer(r))) {
		*status = HB_EXIT_USAGE;
		hb_consumer_free(r);
		return NULL;
	}
	r->t0 = hb_time_mono_us();
	r->wall_t0 = hb_time_now_us();
	hb_stats_init(&r->stats, o->stats_us, r->t0, 0);
	r->prom.path = o->prom_file;
	r->prom.interval_us = o->prom_ms * 1000LL;
	if (o->prom_file) {
		char host[256], inst[300], l1[400], l2[400];

		if (gethostname(host, sizeof host) < 0)
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		snprintf(inst, sizeof inst, "%s:%ld", host, (long)getpid());
		hb_prom_label(l1, sizeof l1, "hbmon_instance", inst);
		hb_prom_label(l2, sizeof l2, "group", o->group);
		snprintf(r->prom.labels, sizeof r->prom.labels, "%s,%s", l1, l2);
	}
	*status = HB_EXIT_OK;
	return r;
}

int hb_consumer_run(struct hb_consumer *r)
{
	int rc = start(r);

	if (rc < 0)
		rc = run_loop(r);
	rc = finish(r, rc);
	prom_tick(r, 1);
	return rc;
}

void hb_consumer_totals(const struct hb_consumer *r, struct hb_consumer_totals *t)
{
	*t = (struct hb_consumer_totals){
		.messages = r->messages, .bytes = r->bytes, .errors = r->errors,
		.acks = r->acks ? hb_acks_count(r->acks) : 0, .unacked = r->unacked,
		.acked = r->acks != NULL, .reader_gone = r->out.err == EPIPE,
		.seconds = (double)(hb_time_mono_us() - r->t0) / 1e6,
	};
}

void hb_consumer_free(struct hb_consumer *r)
{
	if (!r)
		return;
	if (r->queue)
		rd_kafka_queue_destroy(r->queue);
	if (r->rk)
		rd_kafka_destroy_flags(r->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	hb_writer_release(&r->out);
	hb_prom_release(&r->prom);
	if (r->stdout_flags >= 0)
		fcntl(1, F_SETFL, r->stdout_flags);	/* the pipe may be shared: put it back */
	if (r->ack_fd >= 0)
		close(r->ack_fd);
	hb_acks_free(r->acks);
	hb_marks_free(r->marks);
	free(r);
}
