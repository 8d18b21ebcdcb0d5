/* hbkafka-pub — NDJSON lines on stdin to a Kafka topic, each one acknowledged or reported. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hb_envelope.h"
#include "hb_event.h"
#include "hb_io.h"
#include "hb_json.h"
#include "hb_kafka.h"
#include "hb_log.h"
#include "hb_nagle.h"
#include "hb_opt.h"
#include "hb_prefix.h"
#include "hb_progress.h"
#include "hb_resume.h"
#include "hb_signal.h"
#include "hb_spool.h"
#include "hb_stats.h"
#include "hb_time.h"

#define MAX_SETS 64

struct opts {
	const char *topic;
	struct hb_kset sets[MAX_SETS];
	int nsets;
	int envelope;
	int keep_partition;
	long max_line;
	int64_t stats_us;
	const char *input;
	const char *resume;         /* --resume STATEFILE */
	const char *spool;          /* --spool DIR */
	long spool_max_mb, spool_sync_ms;
	int verbosity;
};

#define BATCH 1024

/* Lines waiting to be queued together (rd_kafka_produce_batch: one topic
 * lock for the lot instead of one per message). */
struct batch {
	rd_kafka_message_t m[BATCH];
	rd_kafka_message_t group[BATCH];	/* one partition's share */
	int n;
	struct hb_buf data;         /* the lines, copied out of the reader */
	size_t off[BATCH], klen[BATCH], koff[BATCH];
	int has_key[BATCH];
};

struct run {
	struct opts *o;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	int32_t nparts;             /* the topic's partitions, 0 if not known */
	struct batch b;
	struct hb_reader *in;
	struct hb_parser *parser;
	struct hb_envreader *env;
	struct hb_progress prog;
	char pbuf[160];      /* its line */
	struct hb_stats stats;      /* --stats */
	uint64_t lines, queued, delivered, failed, timed_out, bad_envelopes;
	uint64_t failures_logged;
	struct hb_nagle nagle;      /* sends when the input pauses */
	struct hb_resume *res;      /* --resume: the state, NULL without */
	struct hb_spool *spool;     /* --spool: the input on disk, NULL without */
	struct hb_prefix *track;    /* --resume, --spool: the lines settled, NULL without */
	long inflight_max;          /* --spool: messages handed to librdkafka at most */
	uint64_t inflight_bytes_max;    /* and bytes */
	uint64_t bytes_queued, bytes_done;
	int full_said;              /* --spool: the waits said */
	int no_room_said, no_room_logged;
	int64_t no_room_logged_at;
	int halt;                   /* --resume: a line failed, read no more */
	int save_warned;
	int in_fd;
	int fatal;
	int64_t t0;
};

static void usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f,
"usage: hbkafka-pub [options] [FILE]\n"
"\n"
"Publish NDJSON lines (FILE or stdin) to a Kafka topic: each line is one\n"
"message, its value the line as read, its key the line's customer_id (so each\n"
"customer's readings stay in order on one partition; no key when there is\n"
"none).  The producer is idempotent with acks=all and compression on.  Every\n"
"line is either acknowledged by the broker or reported on stderr with its\n"
"line number, and the exit status says whether all were delivered.\n"
"\n"
"  -b, --brokers LIST     bootstrap servers (env KAFKA_BOOTSTRAP_SERVERS,\n"
"                         default localhost:9092)\n"
"  -t, --topic NAME       topic (env HB_TOPIC, default heartbeat-events)\n"
"  -X NAME=VALUE          any librdkafka property (repeatable), e.g.\n"
"                         -X security.protocol=SASL_SSL -X linger.ms=20\n"
"  -F FILE                librdkafka properties file (NAME=VALUE lines), e.g.\n"
"                         for passwords: they never belong on a command line\n"
"  -E, --envelope         lines are envelopes as hbkafka-sub --envelope writes\n"
"                         them: the message gets their key, value and timestamp\n"
"      --keep-partition   with -E: also their partition (default: by key)\n"
"      --max-line BYTES   longer lines are refused and reported (default 1048576)\n"
"      --resume STATEFILE publish FILE from where the last run with this\n"
"                         STATEFILE left it: the state records, atomically and\n"
"                         only for lines the broker acknowledged (or refused for\n"
"                         good), how far into FILE it is.  A crashed or stopped\n"
"                         run goes on from there (what was in flight is sent\n"
"                         again; the database stores it once); a finished\n"
"                         file is not sent again, only what was appended.  A\n"
"                         different FILE or topic is refused (exit 2).  A\n"
"                         line not delivered for a reason a later run may get\n"
"                         past (the broker away) ends the run.  Needs FILE.\n"
"      --spool DIR        keep the input on disk in DIR until the broker has it\n"
"                         (not with --resume):\n"
"                         every chunk read is appended to DIR before it is\n"
"                         published, messages never time out, and an outage\n"
"                         of any length (or a kill -9 of this program) loses\n"
"                         nothing read; run again on DIR, it goes on where\n"
"                         the broker's acknowledgements stopped\n"
"      --spool-max MB     stop reading input while DIR holds this much\n"
"                         (1-1048576, default 1024)\n"
"      --spool-sync MS    fsync DIR's data this often (0: every chunk read;\n"
"                         default 1000): what a crash of the machine can lose\n"
"      --stats SECONDS    every SECONDS log an INFO line: lines read, delivered,\n"
"                         failed and in flight so far, and the rate of lines\n"
"                         over the interval, also while no input comes\n"
"                         (0.1-86400; default 0: off)\n"
"  -q, --quiet / -v, --verbose   less / more on stderr (-q: no summary or stats;\n"
"                         -vv: librdkafka's debug)\n"
"  -h, --help / -V, --version\n"
"\n"
"Defaults before -X/-F: enable.idempotence=true, acks=all,\n"
"compression.codec=lz4, linger.ms=5.  Below 2,000 lines/s linger.ms holds\n"
"messages back only while lines keep coming: when the input pauses, what is\n"
"queued goes at once; above, linger.ms fills the batches.\n"
"A message not delivered within message.timeout.ms (300000 by default)\n"
"counts as failed.\n"
"\n"
"Exit status: 0 every line delivered (also after SIGINT/SIGTERM: what was read\n"
"is delivered first), 1 some lines failed, 2 usage or configuration (also a\n"
"--resume state or --spool for another file or topic), 69 the broker was\n"
"unreachable for longer than message.timeout.ms (or the --resume state or\n"
"--spool is in use; with --spool, lines still wait in it at the end).\n"
"\n"
"Example:\n"
"  hbsim --rate 40 | hbkafka-pub -b localhost:9092 -t heartbeat-events\n");
	exit(status);
}

static void die_usage(const char *msg)
{
	fprintf(stderr, "hbkafka-pub: %s\n", msg);
	exit(HB_EXIT_USAGE);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	enum { OPT_KEEP = 256, OPT_MAXLINE, OPT_STATS, OPT_RESUME, OPT_SPOOL, OPT_SPOOL_MAX, OPT_SPOOL_SYNC };
	static const struct option lo[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"envelope", no_argument, NULL, 'E'},
		{"keep-partition", no_argument, NULL, OPT_KEEP},
		{"max-line", required_argument, NULL, OPT_MAXLINE},
		{"stats", required_argument, NULL, OPT_STATS},
		{"resume", required_argument, NULL, OPT_RESUME},
		{"spool", required_argument, NULL, OPT_SPOOL},
		{"spool-max", required_argument, NULL, OPT_SPOOL_MAX},
		{"spool-sync", required_argument, NULL, OPT_SPOOL_SYNC},
		HB_OPT_COMMON,
	};
	char err[512];
	int c;

	while ((c = getopt_long(argc, argv, ":b:t:X:F:EqvhV", lo, NULL)) != -1) {
		switch (c) {
		case 'b':
		case 'X':
		case 'F':
			if (o->nsets == MAX_SETS)
				die_usage("too many -b/-X/-F options");
			o->sets[o->nsets].kind = (char)c;
			o->sets[o->nsets++].val = optarg;
			break;
		case 't': o->topic = optarg; break;
		case 'E': o->envelope = 1; break;
		case OPT_KEEP: o->keep_partition = 1; break;
		case OPT_MAXLINE:
			if (hb_opt_long("--max-line", optarg, 256, 1L << 30, &o->max_line, err, sizeof err) < 0)
				die_usage(err);
			break;
		case OPT_STATS:
			if (hb_stats_parse("--stats", optarg, &o->stats_us, err, sizeof err) < 0)
				die_usage(err);
			break;
		case OPT_RESUME: o->resume = optarg; break;
		case OPT_SPOOL: o->spool = optarg; break;
		case OPT_SPOOL_MAX:
			if (hb_opt_long("--spool-max", optarg, 1, 1048576, &o->spool_max_mb, err, sizeof err) < 0)
				die_usage(err);
			break;
		case OPT_SPOOL_SYNC:
			if (hb_opt_long("--spool-sync", optarg, 0, 3600000, &o->spool_sync_ms, err, sizeof err) < 0)
				die_usage(err);
			break;
		case 'q': o->verbosity--; break;
		case 'v': o->verbosity++; break;
		case 'h': usage(0); break;
		case 'V': printf("hbkafka-pub %s (librdkafka %s)\n", HB_VERSION, rd_kafka_version_str()); exit(0);
		default:
			hb_opt_error("hbkafka-pub", c, argv, err, sizeof err);
			die_usage(err);
		}
	}
	if (hb_opt_input(argc, argv, optind, &o->input, err, sizeof err) < 0)
		die_usage(err);
	if (!o->topic)
		o->topic = hb_env("HB_TOPIC", HB_KAFKA_DEFAULT_TOPIC);
	if (!hb_kafka_topic_valid(o->topic)) {
		snprintf(err, sizeof err, "-t '%s': not a valid topic name ([A-Za-z0-9._-], 1-249)", o->topic);
		die_usage(err);
	}
	if (o->keep_partition && !o->envelope)
		die_usage("--keep-partition goes with --envelope");
	if (o->resume && (!o->input || strcmp(o->input, "-") == 0))
		die_usage("--resume needs a FILE to read (standard input cannot be resumed)");
	if (o->resume && o->spool)
		die_usage("--resume and --spool do not go together (a spool resumes by itself)");
}

/*
 * --resume: line lineno was not delivered.  A message the broker refuses for
 * what it is never gets through: it is settled (and reported).  Any other
 * failure (the broker away past message.timeout.ms) holds the mark before
 * the line, and reading stops: whatever is read after it would be sent
 * again by the next run anyway.
 */
static void resume_failed(struct run *r, uint64_t lineno, rd_kafka_resp_err_t err)
{
	uint64_t off, line;

	if (hb_kafka_err_permanent(err)) {
		hb_prefix_settled(r->track, lineno);
		return;
	}
	if (!hb_prefix_stuck(r->track)) {
		hb_prefix_mark(r->track, &off, &line);
		hb_log(HB_LOG_ERROR, "line %llu not delivered (%s): reading stops; the next run with "
		       "%s %s goes on after line %llu", (unsigned long long)lineno,
		       rd_kafka_err2str(err), r->o->spool ? "--spool" : "--resume",
		       r->o->spool ? r->o->spool : r->o->resume, (unsigned long long)line);
	}
	hb_prefix_failed(r->track, lineno);
	r->halt = 1;
}

/* Delivery reports: count them, and say which lines failed and why. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct run *r = opaque;

	(void)rk;
	r->bytes_done += m->len;
	if (!m->err) {
		r->delivered++;
		if (r->track)
			hb_prefix_settled(r->track, (uintptr_t)m->_private);
		return;
	}
	if (r->spool && (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
			 m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT))
		return;	/* taken back at the end: it stays in the spool */
	r->failed++;
	if (r->track)
		resume_failed(r, (uintptr_t)m->_private, m->err);
	if (m->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
		r->timed_out++;
	if (r->failures_logged++ < 20)
		hb_log(HB_LOG_ERROR, "line %llu not delivered: %s%s",
		       (unsigned long long)(uintptr_t)m->_private, rd_kafka_err2str(m->err),
		       r->failures_logged == 20 ? " (no more of these; see the summary)" : "");
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct run *r = opaque;
	char msg[512];
	int kind = hb_kafka_error(rk, err, reason, msg, sizeof msg);

	if (kind == HB_KERR_RETRY)
		hb_log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? HB_LOG_WARNING : HB_LOG_DEBUG, "%s", msg);
	if (kind == HB_KERR_RETRY || r->fatal)
		return;
	hb_log(HB_LOG_ERROR, "%s%s", kind == HB_KERR_FATAL ? "fatal producer error: " : "", msg);
	r->fatal = kind == HB_KERR_CONFIG ? HB_EXIT_USAGE : HB_EXIT_FAIL;
	hb_stop = SIGTERM;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	hb_log(level <= 3 && hb_log_enabled(HB_LOG_DEBUG) ? HB_LOG_WARNING : HB_LOG_DEBUG,
	       "librdkafka %s: %s", fac, buf);
}

static void set_callbacks(rd_kafka_conf_t *conf, void *opaque)
{
	(void)opaque;
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_log_cb(conf, on_log);
}

static rd_kafka_t *make_producer(struct run *r)
{
	/* with a spool, a message waits for the broker as long as it takes
	 * (message.timeout.ms 0); otherwise librdkafka's own 300000 */
	const char *const defaults[] = {
		"enable.idempotence", "true",
		"acks", "all",
		"compression.codec", "lz4",
		"linger.ms", "5",
		"partitioner", "murmur2_random",
		"client.id", "hbkafka-pub",
		"message.timeout.ms", r->o->spool ? "0" : "300000",
		NULL,
	};
	char err[512], warn[512];
	rd_kafka_t *rk = hb_kafka_new(RD_KAFKA_PRODUCER, defaults, r->o->sets, r->o->nsets,
				      r->o->verbosity > HB_LOG_DEBUG ? "broker,topic,msg" : NULL,
				      set_callbacks, r, err, sizeof err, warn, sizeof warn);

	if (warn[0])
		hb_log(HB_LOG_WARNING, "%s", warn);
	if (!rk) {
		hb_log(HB_LOG_ERROR, "%s", err);
		exit(HB_EXIT_USAGE);
	}
	return rk;
}

/*
 * A topic that does not exist is a configuration error, said at once; a
 * broker that does not answer yet is not: deliveries wait for it, up to
 * message.timeout.ms.
 */
static int check_topic(struct run *r)
{
	int n = 0, k = hb_kafka_topic_partitions(r->rk, r->o->topic, 5000, &n);

	if (k > 0)
		r->nparts = n;
	if (k == 0)
		hb_log(HB_LOG_WARNING, "no answer from the broker yet; will keep trying");
	if (k < 0)
		hb_log(HB_LOG_ERROR, "topic %s does not exist (create it, e.g. scripts/hb-kafka topic "
		       "--topic %s)", r->o->topic, r->o->topic);
	return k < 0 ? -1 : 0;
}

/* The key of a reading: its customer_id, if it has a sound one. */
static void key_of(struct run *r, const char *line, size_t n, const char **k, size_t *kn)
{
	struct hb_jflat f;
	const struct hb_jmember *m;
	struct hb_event ev;

	*k = NULL;
	*kn = 0;
	/* Our own readings start with the id: take it without scanning the line. */
	if (n > 17 && memcmp(line, "{\"customer_id\":\"", 16) == 0) {
		const char *e = memchr(line + 16, '"', n - 16 < 80 ? n - 16 : 80);

		if (e && hb_cid_valid(line + 16, (size_t)(e - line - 16))) {
			*k = line + 16;
			*kn = (size_t)(e - line - 16);
			return;
		}
	}
	if (hb_json_scan_flat(line, n, &f)) {
		m = hb_jflat_get(&f, "customer_id");
		if (m && m->type == HB_J_STRING && hb_cid_valid(m->val, m->val_len)) {
			*k = m->val;
			*kn = m->val_len;
		} else if (m && m->type == HB_J_NUMBER && m->num_int) {
			hb_cid_from_int(m->val, m->val_len, k, kn);	/* 42 is keyed as "42" */
		}
		return;
	}
	hb_event_parse(r->parser, line, n, &ev);
	if (ev.cid_ok) {
		*k = ev.cid.p;
		*kn = ev.cid.n;
	}
}

/*
 * --stats: the line when it is due (also while waiting for the broker).
 * Returns how long to wait for input at most: wait_ms, or less when the
 * next line is due sooner.
 */
static int stats_tick(struct run *r, int wait_ms)
{
	int64_t now;

	if (!r->stats.interval_us)
		return wait_ms;
	now = hb_time_mono_us();
	if (hb_stats_due(&r->stats, now)) {
		double rate = hb_stats_take(&r->stats, now, r->lines);

		if (hb_log_enabled(HB_LOG_INFO))
			hb_log(HB_LOG_INFO, "stats lines=%llu delivered=%llu failed=%llu in_flight=%d "
			       "rate=%.1f/s", (unsigned long long)r->lines,
			       (unsigned long long)r->delivered, (unsigned long long)r->failed,
			       rd_kafka_outq_len(r->rk), rate);
	}
	return hb_stats_wait_ms(&r->stats, now, wait_ms);
}

/* --resume: write the mark when it is due (force: now).  A failed write is
 * said (once while running) and the run goes on: the mark saved before stays. */
static int save_mark(struct run *r, int force)
{
	char err[1200];
	int k;

	if (!r->res && !r->spool)
		return 0;
	k = r->res ? hb_resume_save(r->res, hb_time_mono_us(), force, err, sizeof err) :
		hb_spool_save(r->spool, hb_time_mono_us(), force, err, sizeof err);
	if (k < 0 && (force || !r->save_warned++))
		hb_log(force ? HB_LOG_ERROR : HB_LOG_WARNING, "cannot save the resume state: %s", err);
	return k < 0 ? -1 : 0;
}

/* --resume: line lineno is done with, refused here for good (and reported). */
static void settle(struct run *r, uint64_t lineno)
{
	if (r->track)
		hb_prefix_settled(r->track, lineno);
}

/* Queue one message, waiting while the local queue is full. */
static int produce(struct run *r, const char *val, size_t vn, const char *key, size_t kn,
		   int32_t part, int64_t ts_ms, uint64_t lineno)
{
	for (;;) {
		rd_kafka_resp_err_t e = rd_kafka_producev(r->rk,
			RD_KAFKA_V_TOPIC(r->o->topic),
			RD_KAFKA_V_PARTITION(part),
			RD_KAFKA_V_KEY(key, kn),
			RD_KAFKA_V_VALUE((void *)val, vn),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_TIMESTAMP(ts_ms > 0 ? ts_ms : 0),
			RD_KAFKA_V_OPAQUE((void *)(uintptr_t)lineno),
			RD_KAFKA_V_END);

		if (!e) {
			r->queued++;
			r->bytes_queued += vn;
			return 0;
		}
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			r->failed++;
			hb_log(HB_LOG_ERROR, "line %llu not delivered: %s", (unsigned long long)lineno,
			       rd_kafka_err2str(e));
			if (r->track)
				resume_failed(r, lineno, e);
			return e == RD_KAFKA_RESP_ERR__FATAL ? -1 : 0;
		}
		rd_kafka_poll(r->rk, 100);	/* deliveries free room */
		save_mark(r, 0);
		stats_tick(r, 0);
		if (r->fatal || (r->spool && hb_stop))
			return -1;	/* a spool keeps the line: the next run sends it */
	}
}

/* Queue msgs[0..n) to partition part; those the full local queue refused go again. */
static int produce_part(struct run *r, int32_t part, rd_kafka_message_t *msgs, int n)
{
	while (n > 0) {
		int ok = rd_kafka_produce_batch(r->rkt, part, RD_KAFKA_MSG_F_COPY, msgs, n), j = 0, fatal = 0;

		r->queued += (uint64_t)ok;
		for (int i = 0; i < n; i++) {
			if (!msgs[i].err) {
				r->bytes_queued += msgs[i].len;
				continue;
			}
			if (msgs[i].err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
				r->failed++;
				hb_log(HB_LOG_ERROR, "line %llu not delivered: %s",
				       (unsigned long long)(uintptr_t)msgs[i]._private,
				       rd_kafka_err2str(msgs[i].err));
				if (r->track)
					resume_failed(r, (uintptr_t)msgs[i]._private, msgs[i].err);
				fatal |= msgs[i].err == RD_KAFKA_RESP_ERR__FATAL;
				continue;
			}
			msgs[j] = msgs[i];
			msgs[j++].err = 0;
		}
		if (fatal)
			return -1;
		n = j;
		if (n) {
			rd_kafka_poll(r->rk, 100);	/* deliveries free room */
			save_mark(r, 0);
			stats_tick(r, 0);
			if (r->fatal || (r->spool && hb_stop))
				return -1;	/* a spool keeps the lines: the next run sends them */
		}
	}
	return 0;
}

/*
 * Queue the batched lines, one rd_kafka_produce_batch per partition: we pick
 * the partition from the key ourselves (murmur2, as Kafka's Java clients and
 * our partitioner setting do), so librdkafka enqueues each group directly.
 */
static int flush_batch(struct run *r)
{
	struct batch *b = &r->b;

	for (int i = 0; i < b->n; i++) {
		b->m[i].payload = b->data.p + b->off[i];
		b->m[i].key = b->has_key[i] ? b->data.p + b->koff[i] : NULL;
		b->m[i].key_len = b->has_key[i] ? b->klen[i] : 0;
		b->m[i].partition = b->has_key[i] && r->nparts > 0 ?
			rd_kafka_msg_partitioner_murmur2_random(r->rkt, b->m[i].key, b->m[i].key_len,
								r->nparts, NULL, NULL) :
			RD_KAFKA_PARTITION_UA;
	}
	for (int32_t part = -1; part < r->nparts && b->n; part++) {
		int32_t want = part < 0 ? RD_KAFKA_PARTITION_UA : part;
		int k = 0;

		for (int i = 0; i < b->n; i++)
			if (b->m[i].partition == want)
				b->group[k++] = b->m[i];
		if (k && produce_part(r, want, b->group, k) < 0)
			return -1;
	}
	b->n = 0;
	hb_buf_reset(&b->data);
	return 0;
}

static int add_to_batch(struct run *r, const struct hb_line *ln, const char *key, size_t kn)
{
	struct batch *b = &r->b;
	int i = b->n++;

	memset(&b->m[i], 0, sizeof b->m[i]);
	b->off[i] = b->data.len;
	b->m[i].len = ln->len;
	b->m[i]._private = (void *)(uintptr_t)ln->no;
	hb_buf_put(&b->data, ln->p, ln->len);
	b->has_key[i] = key != NULL;
	if (key) {
		b->koff[i] = b->data.len;
		b->klen[i] = kn;
		hb_buf_put(&b->data, key, kn);
	}
	if (hb_buf_oom(&b->data)) {
		hb_log(HB_LOG_ERROR, "out of memory at line %llu", (unsigned long long)ln->no);
		return -1;
	}
	return b->n == BATCH ? flush_batch(r) : 0;
}

static int one_line(struct run *r, const struct hb_line *ln)
{
	const char *key;
	size_t kn;

	r->lines++;
	/* A last line without a newline may be one still being written: it is
	 * published, but the mark stays before it, and the next run sends it
	 * again (whole by then, or unchanged: the database stores it once). */
	if (r->track && !ln->unterminated) {
		int k = hb_prefix_read(r->track, ln->no, ln->end);

		if (k < 0) {
			hb_log(HB_LOG_ERROR, "line %llu: %s", (unsigned long long)ln->no,
			       k == -1 ? "out of memory" : "read out of order (a bug)");
			return -1;
		}
	}
	if (ln->true_len > ln->len) {
		r->failed++;
		settle(r, ln->no);
		hb_log(HB_LOG_ERROR, "line %llu not delivered: %llu bytes, more than --max-line %ld",
		       (unsigned long long)ln->no, (unsigned long long)ln->true_len, r->o->max_line);
		return 0;
	}
	if (r->o->envelope) {
		struct hb_envelope e;
		char err[300];

		if (hb_envelope_read(r->env, ln->p, ln->len, &e, err, sizeof err) < 0) {
			r->failed++;
			r->bad_envelopes++;
			settle(r, ln->no);
			hb_log(HB_LOG_ERROR, "line %llu not delivered: %s", (unsigned long long)ln->no, err);
			return 0;
		}
		return produce(r, e.value, e.value_len, e.key, e.key_len,
			       r->o->keep_partition && e.partition >= 0 ? e.partition : RD_KAFKA_PARTITION_UA,
			       e.timestamp_ms, ln->no);
	}
	key_of(r, ln->p, ln->len, &key, &kn);
	return add_to_batch(r, ln, key, kn);
}

/* Sending when the input pauses, one send at a time (hb_nagle): a live
 * stream gets a round trip's latency, a fast one full batches from linger.ms. */
static int idle_wait_ms(struct run *r)
{
	return hb_nagle_wait_ms(&r->nagle, rd_kafka_outq_len(r->rk), r->delivered + r->failed);
}

/* Before waiting for input: what is batched goes to librdkafka, and out now if the input has paused. */
static void on_block(void *arg)
{
	struct run *r = arg;
	struct pollfd p = { .fd = r->in_fd, .events = POLLIN };
	int64_t now;

	if (r->b.n && flush_batch(r) < 0)
		return;	/* the loop's own flush_batch() meets the error again */
	now = hb_time_mono_us();
	if (!hb_nagle_slow(&r->nagle, now, r->lines) || rd_kafka_outq_len(r->rk) == 0 || poll(&p, 1, 0) != 0)
		return;
	if (hb_nagle_send_now(&r->nagle, now, r->queued, r->delivered + r->failed))
		rd_kafka_flush(r->rk, 1);	/* sends what linger.ms holds, for up to 1 ms */
}

static int run_loop(struct run *r)
{
	struct hb_line ln;

	while (!hb_stop && !r->halt) {
		enum hb_rd k = hb_reader_next(r->in, stats_tick(r, idle_wait_ms(r)), &ln);

		if (k != HB_RD_LINE || !hb_reader_ready(r->in)) {
			if (flush_batch(r) < 0)	/* nothing more at hand: send what we have */
				return HB_EXIT_FAIL;
		}
		if (k == HB_RD_EOF)
			break;
		if (k == HB_RD_ERROR) {
			hb_log(HB_LOG_ERROR, "read error after line %llu: %s",
			       (unsigned long long)r->lines, strerror(errno));
			return HB_EXIT_FAIL;
		}
		if (k == HB_RD_LINE && ln.partial && r->track)
			break;	/* a stop cut it short: not read whole, so not published */
		if (k != HB_RD_LINE || r->lines % 1024 == 0) {
			rd_kafka_poll(r->rk, 0);	/* serve delivery reports */
			save_mark(r, 0);
			if (hb_log_raw(r->pbuf, hb_progress_tick(&r->prog, r->lines, r->pbuf,
							       sizeof r->pbuf)) < 0)
				r->prog.on = 0;
		}
		if (k == HB_RD_LINE && one_line(r, &ln) < 0)
			return HB_EXIT_FAIL;
	}
	return -1;
}

/* Wait for every queued message to be delivered or to time out. */
static void drain(struct run *r)
{
	int64_t last = 0;

	while (rd_kafka_outq_len(r->rk) > 0 && !r->fatal) {
		int64_t now = hb_time_mono_us();

		rd_kafka_flush(r->rk, stats_tick(r, r->res ? HB_RESUME_SAVE_US / 1000 : 1000));
		save_mark(r, 0);
		if (rd_kafka_outq_len(r->rk) > 0 && now - last > 10000000) {
			hb_log(HB_LOG_INFO, "waiting for %d messages to be delivered",
			       rd_kafka_outq_len(r->rk));
			last = now;
		}
	}
}

static int status_of(struct run *r, int rc)
{
	if (rc >= 0)
		return rc;
	if (r->fatal) {
		int left = rd_kafka_outq_len(r->rk);

		if (left > 0 || r->failed > 0)
			hb_log(HB_LOG_ERROR, "%llu lines not delivered", (unsigned long long)r->failed +
			       (unsigned long long)left);
		return r->fatal;
	}
	if (r->failed == 0)
		return HB_EXIT_OK;
	if (r->timed_out == r->failed) {
		hb_log(HB_LOG_ERROR, "%llu lines not delivered: the broker was unreachable for longer "
		       "than message.timeout.ms (try again later)", (unsigned long long)r->failed);
		return HB_EXIT_UNAVAILABLE;
	}
	hb_log(HB_LOG_ERROR, "%llu of %llu lines not delivered", (unsigned long long)r->failed,
	       (unsigned long long)r->lines);
	return HB_EXIT_FAIL;
}

/*
 * --resume: check STATEFILE against the input and go on after its mark:
 * the input's position moves there, and *offset and *lineno say where it
 * is (for the reader's line numbers).  Returns 0, or the exit status when
 * the state cannot be used.
 */
static int open_resume(struct run *r, int fd, uint64_t *offset, uint64_t *lineno)
{
	enum hb_resume_rc rc;
	uint64_t off = 0, line = 0;
	struct stat st;
	char err[1200];

	if (!r->o->resume)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		hb_log(HB_LOG_ERROR, "--resume: %s is not a regular file (a pipe cannot be resumed)",
		       r->o->input);
		return HB_EXIT_USAGE;
	}
	r->res = hb_resume_open(r->o->resume, fd, r->o->input, r->o->topic, &off, &line, &rc,
				err, sizeof err);
	if (!r->res) {
		hb_log(HB_LOG_ERROR, "%s", rc == HB_RESUME_NOMEM ? "out of memory" : err);
		return rc == HB_RESUME_WRONG ? HB_EXIT_USAGE : rc == HB_RESUME_BUSY ? HB_EXIT_UNAVAILABLE :
			HB_EXIT_FAIL;
	}
	r->track = hb_resume_prefix(r->res);
	if (off > 0 && lseek(fd, (off_t)off, SEEK_SET) < 0) {
		hb_log(HB_LOG_ERROR, "%s: %s", r->o->input, strerror(errno));
		hb_resume_free(r->res);
		return HB_EXIT_FAIL;
	}
	if (off == (uint64_t)st.st_size && off > 0)
		hb_log(HB_LOG_INFO, "nothing to publish: %s records all %llu lines of %s as published",
		       r->o->resume, (unsigned long long)line, r->o->input);
	else if (off > 0)
		hb_log(HB_LOG_INFO, "going on after line %llu (byte %llu of %lld) of %s, as %s records",
		       (unsigned long long)line, (unsigned long long)off, (long long)st.st_size,
		       r->o->input, r->o->resume);
	*offset = off;
	*lineno = line;
	return 0;
}

/* --resume: the mark, saved for good, and said. */
static int close_resume(struct run *r)
{
	uint64_t off, line;
	int rc;

	if (!r->res)
		return 0;
	rc = save_mark(r, 1);
	hb_prefix_mark(r->track, &off, &line);
	hb_log(HB_LOG_INFO, "%s: published through line %llu (byte %llu)", r->o->resume,
	       (unsigned long long)line, (unsigned long long)off);
	hb_resume_free(r->res);
	r->res = NULL;
	r->track = NULL;
	return rc;
}

/* --spool: open DIR (before the producer: a wrong spool is said at once). 0 or the exit status. */
static int open_spool(struct run *r)
{
	struct hb_spool_opts so = {
		.max_bytes = (uint64_t)r->o->spool_max_mb << 20,
		.sync_us = (int64_t)r->o->spool_sync_ms * 1000,
		.max_line = (size_t)r->o->max_line,
	};
	struct hb_spool_info info;
	enum hb_spool_rc rc;
	char err[1200];

	if (!r->o->spool)
		return 0;
	r->spool = hb_spool_open(r->o->spool, r->o->topic, &so, &info, &rc, err, sizeof err);
	if (!r->spool) {
		hb_log(HB_LOG_ERROR, "%s", rc == HB_SPOOL_NOMEM ? "out of memory" : err);
		return rc == HB_SPOOL_WRONG ? HB_EXIT_USAGE : rc == HB_SPOOL_BUSY ? HB_EXIT_UNAVAILABLE :
			HB_EXIT_FAIL;
	}
	r->track = hb_spool_prefix(r->spool);
	if (info.dropped)
		hb_log(HB_LOG_WARNING, "spool %s: removed a last line cut short by the end of the run "
		       "before (%llu bytes; its writer's rest of it was lost with that run's input)",
		       r->o->spool, (unsigned long long)info.dropped);
	if (info.behind)
		hb_log(HB_LOG_WARNING, "spool %s: its data ends before its mark (line %llu): a crash of the "
		       "machine lost what was not yet fsync'd (--spool-sync); going on from the mark",
		       r->o->spool, (unsigned long long)info.mark_line);
	if (info.end > info.mark)
		hb_log(HB_LOG_INFO, "spool %s: %llu bytes wait to be published, after line %llu",
		       r->o->spool, (unsigned long long)(info.end - info.mark),
		       (unsigned long long)info.mark_line);
	return 0;
}

/* How many messages librdkafka may hold at once: its queue, less a batch (so
 * that producing never waits for room while the input needs reading). */
static long inflight_max(rd_kafka_t *rk, uint64_t *bytes)
{
	long long q = hb_kafka_conf_ll(rk, "queue.buffering.max.messages");
	long long kb = hb_kafka_conf_ll(rk, "queue.buffering.max.kbytes");

	if (q <= 0)
		q = 100000;	/* 0 is no limit in librdkafka: hold its default then */
	if (kb <= 0)
		kb = 1048576;
	*bytes = (uint64_t)(kb > 2 ? kb : 2) * 512;	/* half its bytes: a batch of long lines fits the rest */
	return q > 2 * BATCH ? (long)(q - BATCH) : q / 2 > 0 ? (long)(q / 2) : 1;
}

/* --spool: from the spool to librdkafka while it has room.  1 when every
 * line spooled has been handed over and the input has ended, 0 when more
 * may come, -1 on error. */
static int spool_out(struct run *r)
{
	struct hb_line ln;

	while (!r->halt && rd_kafka_outq_len(r->rk) + r->b.n < r->inflight_max &&
	       r->bytes_queued - r->bytes_done + r->b.data.len < r->inflight_bytes_max) {
		enum hb_rd k = hb_spool_next(r->spool, &ln);

		if (k == HB_RD_ERROR) {
			hb_log(HB_LOG_ERROR, "spool %s: reading it back: %s", r->o->spool, strerror(errno));
			return -1;
		}
		if (k != HB_RD_LINE)
			return flush_batch(r) < 0 ? -1 : k == HB_RD_EOF;
		if (one_line(r, &ln) < 0)
			return -1;
	}
	return flush_batch(r) < 0 ? -1 : 0;
}

/* --spool: what the input has into the spool, waiting at most wait_ms for it.
 * 1 at the input's end, 0 otherwise, -1 on error. */
static int spool_in(struct run *r, int wait_ms)
{
	struct pollfd p = { .fd = r->in_fd, .events = POLLIN };
	enum hb_spool_in k = HB_SPOOL_IN_NONE;
	char err[1200];

	if (hb_spool_full(r->spool)) {
		if (!r->full_said++)
			hb_log(HB_LOG_WARNING, "spool %s holds %llu MB (--spool-max): input waits until "
			       "the broker takes some", r->o->spool,
			       (unsigned long long)(hb_spool_bytes(r->spool) >> 20));
		rd_kafka_poll(r->rk, wait_ms);
		return 0;
	}
	r->full_said = 0;
	if (r->no_room_said)	/* what waits in memory first */
		k = hb_spool_pump(r->spool, -1, hb_time_mono_us(), err, sizeof err);
	if (k == HB_SPOOL_IN_NONE && poll(&p, 1, wait_ms) > 0)
		k = hb_spool_pump(r->spool, r->in_fd, hb_time_mono_us(), err, sizeof err);
	switch (k) {
	case HB_SPOOL_IN_ERROR:
		hb_log(HB_LOG_ERROR, "%s", err);
		return -1;
	case HB_SPOOL_IN_NOROOM:	/* said once a minute at most: it comes and goes */
		if (!r->no_room_said++ && (!r->no_room_logged_at ||
					     hb_time_mono_us() - r->no_room_logged_at > 60000000)) {
			r->no_room_logged_at = hb_time_mono_us();
			r->no_room_logged = 1;
			hb_log(HB_LOG_WARNING, "spool %s: the disk is full: input waits until delivered "
			       "lines make room (%.1f MB spooled)", r->o->spool,
			       (double)hb_spool_bytes(r->spool) / 1048576);
		}
		rd_kafka_poll(r->rk, wait_ms > 0 ? wait_ms : 10);
		return 0;
	default:
		if (r->no_room_logged)
			hb_log(HB_LOG_INFO, "spool %s has room again: reading on", r->o->spool);
		r->no_room_said = r->no_room_logged = 0;
		return k == HB_SPOOL_IN_EOF;
	}
}

/*
 * --spool: the input goes to the spool, the spool to Kafka.  Ends when the
 * input has ended and every line is delivered, or on SIGINT/SIGTERM (what
 * librdkafka holds gets 5 s to be delivered; the rest stays spooled).
 */
static int run_spool(struct run *r)
{
	char err[1200];
	int in_done = 0, out_done = 0, k;

	r->inflight_max = inflight_max(r->rk, &r->inflight_bytes_max);
	while (!hb_stop && !r->halt) {
		if ((out_done = spool_out(r)) < 0)
			return HB_EXIT_FAIL;
		if (out_done && rd_kafka_outq_len(r->rk) == 0)
			break;
		if (!in_done) {
			int busy = hb_spool_backlog(r->spool) > 0 &&
				rd_kafka_outq_len(r->rk) < r->inflight_max;

			if ((k = spool_in(r, busy ? 0 : stats_tick(r, 100))) < 0)
				return HB_EXIT_FAIL;
			in_done = k;
		} else {
			rd_kafka_poll(r->rk, stats_tick(r, 100));
		}
		rd_kafka_poll(r->rk, 0);
		save_mark(r, 0);
		stats_tick(r, 0);
		if (hb_spool_sync(r->spool, hb_time_mono_us(), 0, err, sizeof err) < 0) {
			hb_log(HB_LOG_ERROR, "%s (what was read may not be on disk: stopping)", err);
			return HB_EXIT_FAIL;
		}
	}
	if (hb_stop || r->halt) {
		int64_t until = hb_time_mono_us() + 5000000;

		while (rd_kafka_outq_len(r->rk) > 0 && hb_time_mono_us() < until && !r->fatal) {
			rd_kafka_flush(r->rk, 100);
			save_mark(r, 0);
		}
	}
	return -1;
}

/* --spool: the mark saved for good, what librdkafka still holds taken back
 * (it stays spooled), and what waits said.  The exit status. */
static int close_spool(struct run *r, int rc)
{
	uint64_t off, line, left;
	char err[1200];
	size_t lost;

	if (!r->spool)
		return rc;
	rd_kafka_purge(r->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_poll(r->rk, 0);
	if (hb_spool_stop_input(r->spool, &lost, err, sizeof err) != 0) {	/* what was read */
		if (lost)
			hb_log(HB_LOG_ERROR, "spool %s: the disk is full: the last %zu bytes read from "
			       "the input could not be spooled and are lost", r->o->spool, lost);
		else
			hb_log(HB_LOG_ERROR, "%s", err);
		rc = HB_EXIT_FAIL;
	}
	if (hb_spool_sync(r->spool, 0, 1, err, sizeof err) < 0) {
		hb_log(HB_LOG_ERROR, "%s", err);
		rc = HB_EXIT_FAIL;
	}
	if (save_mark(r, 1) < 0 && rc == 0)
		rc = HB_EXIT_FAIL;
	hb_prefix_mark(r->track, &off, &line);
	left = hb_spool_whole_end(r->spool) > off ? hb_spool_whole_end(r->spool) - off : 0;
	if (left > 0) {
		hb_log(HB_LOG_ERROR, "spool %s: %llu bytes after line %llu wait for the broker; the next "
		       "run with --spool %s publishes them", r->o->spool, (unsigned long long)left,
		       (unsigned long long)line, r->o->spool);
		if (rc == 0)
			rc = HB_EXIT_UNAVAILABLE;
	}
	hb_spool_free(r->spool);
	r->spool = NULL;
	r->track = NULL;
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { .max_line = HB_MAX_LINE_DEFAULT, .verbosity = HB_LOG_INFO, .spool_max_mb = 1024,
			  .spool_sync_ms = 1000 };
	struct run r = { .o = &o };
	int rc, in_fd = 0;
	uint64_t res_off = 0, res_line = 0;
	double secs;

	hb_log_init("hbkafka-pub", o.verbosity);
	parse_opts(argc, argv, &o);
	hb_log_init("hbkafka-pub", o.verbosity);
	if (hb_signal_setup() < 0) {
		hb_log(HB_LOG_ERROR, "cannot install signal handlers: %s", strerror(errno));
		return HB_EXIT_FAIL;
	}
	if (o.input && strcmp(o.input, "-") != 0 && (in_fd = open(o.input, O_RDONLY | O_CLOEXEC)) < 0) {
		hb_log(HB_LOG_ERROR, "cannot open %s: %s", o.input, strerror(errno));
		return HB_EXIT_USAGE;
	}
	if ((rc = open_resume(&r, in_fd, &res_off, &res_line)) != 0 || (rc = open_spool(&r)) != 0)
		return rc;
	r.rk = make_producer(&r);
	r.rkt = rd_kafka_topic_new(r.rk, o.topic, NULL);
	if (!r.rkt) {
		hb_log(HB_LOG_ERROR, "topic %s: %s", o.topic, rd_kafka_err2str(rd_kafka_last_error()));
		hb_resume_free(r.res);
		hb_spool_free(r.spool);
		return HB_EXIT_USAGE;
	}
	if (check_topic(&r) < 0) {
		rd_kafka_topic_destroy(r.rkt);
		rd_kafka_destroy(r.rk);
		hb_resume_free(r.res);
		hb_spool_free(r.spool);
		return HB_EXIT_USAGE;
	}
	r.in = hb_reader_new(in_fd, (size_t)o.max_line);
	r.in_fd = in_fd;
	r.parser = hb_parser_new();
	r.env = hb_envreader_new();
	if (!r.in || !r.parser || !r.env) {
		hb_log(HB_LOG_ERROR, "out of memory");
		hb_resume_free(r.res);
		hb_spool_free(r.spool);
		return HB_EXIT_FAIL;
	}
	hb_reader_resume(r.in, res_off, res_line);
	hb_reader_on_block(r.in, on_block, &r);
	hb_progress_init(&r.prog, in_fd);
	r.t0 = hb_time_mono_us();
	hb_stats_init(&r.stats, o.stats_us, r.t0, 0);

	rc = r.spool ? run_spool(&r) : run_loop(&r);
	if (flush_batch(&r) < 0 && rc < 0)
		rc = HB_EXIT_FAIL;
	if (!r.spool)
		drain(&r);
	hb_log_raw(r.pbuf, hb_progress_done(&r.prog, r.pbuf, sizeof r.pbuf));
	rc = close_spool(&r, status_of(&r, rc));
	if (close_resume(&r) < 0 && rc == 0)
		rc = HB_EXIT_FAIL;
	secs = (double)(hb_time_mono_us() - r.t0) / 1e6;
	hb_log(HB_LOG_INFO, "%s lines=%llu delivered=%llu failed=%llu seconds=%.3f lines_per_s=%.0f",
	       rc ? "failed" : hb_stop ? "stopped" : "done", (unsigned long long)r.lines,
	       (unsigned long long)r.delivered, (unsigned long long)r.failed, secs,
	       secs > 0 ? (double)r.lines / secs : 0.0);

	rd_kafka_topic_destroy(r.rkt);
	rd_kafka_destroy(r.rk);
	hb_buf_release(&r.b.data);
	hb_reader_free(r.in);
	hb_parser_free(r.parser);
	hb_envreader_free(r.env);
	if (in_fd > 0)
		close(in_fd);
	return rc;
}
