/* hbpgload — classified readings (NDJSON) into PostgreSQL, in batches, losing nothing. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hb_ack.h"
#include "hb_batch.h"
#include "hb_ctl.h"
#include "hb_io.h"
#include "hb_kafka.h"
#include "hb_load.h"
#include "hb_log.h"
#include "hb_opt.h"
#include "hb_progress.h"
#include "hb_prom.h"
#include "hb_pg.h"
#include "hb_retry.h"
#include "hb_signal.h"
#include "hb_stats.h"
#include "hb_time.h"

/* After SIGINT/SIGTERM, how long to keep retrying a database that is down. */
#define STOP_GRACE_US (10 * 1000000LL)

struct opts {
	const char *dbname;
	const char *topic;
	long batch_rows, batch_ms, metrics_ms, retry_for, max_line;
	const char *instance;
	const char *ack_to;
	const char *prom_file;
	const char *input;
	int64_t stats_us;
	int strict;
	int verbosity;
};

struct run {
	struct opts *o;
	struct hb_reader *in;
	struct hb_loader *ld;
	struct hb_progress prog;
	char pbuf[160];      /* its line */
	struct hb_stats stats;          /* --stats */
	struct hb_hist stats_lat;       /* the latencies at the last stats line */
	struct hb_ack_out ack;		/* --ack-to */
	int ack_warned;
	uint64_t malformed_logged;
	int64_t t0, deadline, next_metrics, last_metrics, stop_at;
	int idle;                       /* the input paused with rows in hand: store them */
	uint64_t rows_at_snapshot;
	/* --prom-file */
	struct hb_prom prom;
	int64_t wall_t0;
	int db_down;
};

static void usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f,
"usage: hbpgload [options] [FILE]\n"
"\n"
"Store classified readings (hbclassify's NDJSON, from FILE or stdin) in\n"
"PostgreSQL: NORMAL in heartbeat_records, BRADYCARDIA, TACHYCARDIA and\n"
"INVALID in heartbeat_anomalies (with the raw input and the reason).  Rows go\n"
"in batches, with COPY: a batch is stored as soon as the input pauses (a\n"
"live stream is stored within a commit's time); under load it holds what\n"
"came while the last one committed, up to --batch-rows.  A record loaded\n"
"twice is stored once; a row the database refuses goes to the audit trail on\n"
"its own; a lost connection is retried with exponential backoff, losing\n"
"nothing.  Lines that are not classified readings are stored as INVALID too:\n"
"nothing is dropped.  After its commits it folds the minutes that are over\n"
"into the rollups (hb_rollup_fold).\n"
"\n"
"Lines from hbclassify --store starting exactly with {\"_hb_alert\": (an alert\n"
"event) or {\"_hb_state\": (a customer's detection state) are stored in the\n"
"transaction of the readings before them, in heartbeat_alerts (through\n"
"hb_alerts_apply: a replayed event changes nothing) and hb_alert_state; one\n"
"that is not sound is stored as INVALID with the reason.  Lines starting with\n"
"{\"_hb_mark\": (hbkafka-sub --marks) are counted and ignored.\n"
"\n"
"Lines from hbkafka-sub -A/--coords carry the Kafka partition and offset of\n"
"their message (\"_kafka\"): every heartbeat_anomalies row keeps them, with\n"
"the topic of -t, in kafka_topic, kafka_partition and kafka_offset (NULL for\n"
"a line without them), so an INVALID row leads back to its message.\n"
"\n");
	/* in two strings: C99 promises only 4095 characters for one */
	fprintf(f,
"  -d, --dbname CONNINFO    libpq connection string or URI (default: the PG*\n"
"                           variables and ~/.pgpass; never put a password here)\n"
"  -t, --topic NAME         the Kafka topic the lines' coordinates come from,\n"
"                           stored in kafka_topic (env HB_TOPIC, default\n"
"                           heartbeat-events, as hbkafka-sub)\n"
"      --batch-rows N       rows per transaction at most (default 50000)\n"
"      --batch-ms MS        under input that never pauses, store a row at most\n"
"                           this long after it arrived (default 50)\n"
"  -r, --retry-for SECONDS  give up (exit 69) when the database stays unreachable\n"
"                           this long (default 300; 0 = never give up)\n"
"  -m, --metrics-ms MS      pipeline_metrics snapshot interval (default 2000)\n"
"  -i, --instance NAME      this run's name in pipeline_metrics (default host:pid)\n"
"      --prom-file PATH     also write the counters in the Prometheus text format\n"
"                           to PATH (atomically, every --metrics-ms, also while\n"
"                           the database is down), for node_exporter's textfile\n"
"                           collector; see the man page for the metrics\n"
"      --ack-to FILE        after each commit write \"PARTITION OFFSET\" lines, the\n"
"                           highest Kafka offset stored per partition, to FILE or\n"
"                           FIFO (for hbkafka-sub --ack-from); a batch's last\n"
"                           reading waits for the next line, which may be the\n"
"                           state or a silence alert hbclassify writes after\n"
"                           its readings when its input pauses\n"
"  -s, --strict             stop at the first line that is not a classified\n"
"                           reading (it is still stored as INVALID): exit 65\n"
"      --max-line BYTES     longer lines are stored cut, as INVALID (default 1048576)\n"
"      --stats SECONDS      every SECONDS log an INFO line: the counts so far,\n"
"                           the rate of lines in and the latency over the\n"
"                           interval, also while no input comes (0.1-86400;\n"
"                           default 0: off)\n"
"  -q, --quiet / -v, --verbose   less / more on stderr (-q: no summary or stats)\n"
"  -h, --help / -V, --version\n"
"\n"
"A short letter means one thing across hbmon's programs: -n is the customers\n"
"there, so --batch-rows has no letter.\n"
"\n"
"SIGINT/SIGTERM: stop reading, store what was read (if the database is down,\n"
"keep retrying for 10 s more), print the summary.  A second signal kills.\n"
"\n"
"Exit status: 0 all stored (also after SIGINT/SIGTERM), 1 failure, 2 usage,\n"
"bad connection settings, no INSERT privilege, schema not applied, or a FILE\n"
"that cannot be opened, 65 bad input under --strict, 69 database unreachable\n"
"for longer than --retry-for.  Any exit but 0 means some rows were not\n"
"stored: run the same input again, loading is idempotent.\n"
"\n"
"Example:\n"
"  hbsim --count 100000 --rate 0 | hbclassify | hbpgload -d 'host=localhost dbname=hbmon'\n");
	exit(status);
}

static void die_usage(const char *msg)
{
	fprintf(stderr, "hbpgload: %s\n", msg);
	exit(HB_EXIT_USAGE);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	enum { OPT_ACK = 256, OPT_MAXLINE, OPT_BATCHMS, OPT_PROM, OPT_STATS, OPT_BATCHROWS };
	/* Letters that mean something else across hbmon (hb_opt.h). */
	static const struct hb_opt_drop drops[] = { {'n', "--batch-rows"}, {0, NULL} };
	static const struct option lo[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"topic", required_argument, NULL, 't'},
		{"batch-rows", required_argument, NULL, OPT_BATCHROWS},
		{"batch-ms", required_argument, NULL, OPT_BATCHMS},
		{"retry-for", required_argument, NULL, 'r'},
		{"metrics-ms", required_argument, NULL, 'm'},
		{"instance", required_argument, NULL, 'i'},
		{"ack-to", required_argument, NULL, OPT_ACK},
		{"prom-file", required_argument, NULL, OPT_PROM},
		{"strict", no_argument, NULL, 's'},
		{"max-line", required_argument, NULL, OPT_MAXLINE},
		{"stats", required_argument, NULL, OPT_STATS},
		HB_OPT_COMMON,
	};
	char err[512];
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, ":d:t:r:m:i:sqvhV", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o->dbname = optarg; break;
		case 't': o->topic = optarg; break;
		case OPT_BATCHROWS: bad = hb_opt_long("--batch-rows", optarg, 1, 1000000, &o->batch_rows, err, sizeof err); break;
		case OPT_BATCHMS: bad = hb_opt_long("--batch-ms", optarg, 0, 3600000, &o->batch_ms, err, sizeof err); break;
		case 'r': bad = hb_opt_long("--retry-for", optarg, 0, 31536000, &o->retry_for, err, sizeof err); break;
		case 'm': bad = hb_opt_long("--metrics-ms", optarg, 100, 3600000, &o->metrics_ms, err, sizeof err); break;
		case 'i': o->instance = optarg; break;
		case OPT_ACK: o->ack_to = optarg; break;
		case OPT_PROM: o->prom_file = optarg; break;
		case 's': o->strict = 1; break;
		case OPT_STATS: bad = hb_stats_parse("--stats", optarg, &o->stats_us, err, sizeof err); break;
		case OPT_MAXLINE:
			bad = hb_opt_long("--max-line", optarg, 256, 1L << 30, &o->max_line, err, sizeof err);
			break;
		case 'q': o->verbosity--; break;
		case 'v': o->verbosity++; break;
		case 'h': usage(0); break;
		case 'V': printf("hbpgload %s\n", HB_VERSION); exit(0);
		default:
			if (!hb_opt_dropped("hbpgload", c, optopt, drops, err, sizeof err))
				hb_opt_error("hbpgload", c, argv, err, sizeof err);
			bad = 1;
		}
		if (bad)
			die_usage(err);
	}
	if (hb_opt_input(argc, argv, optind, &o->input, err, sizeof err) < 0)
		die_usage(err);
	if (hb_pg_conninfo_check(o->dbname, err, sizeof err) < 0) {
		fprintf(stderr, "hbpgload: -d: %s\n", err);
		exit(HB_EXIT_USAGE);
	}
	if (!o->topic)
		o->topic = hb_env("HB_TOPIC", HB_KAFKA_DEFAULT_TOPIC);
	if (!hb_kafka_topic_valid(o->topic)) {
		snprintf(err, sizeof err, "-t '%s': not a valid topic name ([A-Za-z0-9._-], 1-249)", o->topic);
		die_usage(err);
	}
}

/* --ack-to (lib/hb_ack.h): open it when there is a reader (hbkafka-sub -A). */
static int ack_open(struct run *r)
{
	if (hb_ack_out_open(&r->ack) < 0 && errno != ENXIO && !r->ack_warned++)
		hb_log(HB_LOG_WARNING, "cannot open --ack-to %s: %s (offsets will not be committed; "
		       "records are stored)", r->o->ack_to, strerror(errno));
	return r->ack.fd >= 0 ? 0 : -1;
}

static void on_commit(void *arg, const struct hb_coord *c, size_t n)
{
	struct run *r = arg;

	if (!r->o->ack_to || ack_open(r) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (hb_ack_out_send(&r->ack, c[i].partition, c[i].offset) < 0) {
			/* once per reader lost: the file is closed, and opened again
			 * at a later commit when a reader has it (ENXIO is quiet) */
			hb_log(HB_LOG_WARNING, "acknowledgements to %s: %s (opened again at a later commit; "
			       "records are stored)", r->o->ack_to, strerror(errno));
			return;
		}
	}
}

static void on_reject(void *arg, uint64_t lineno, const char *msg)
{
	char q[400];

	(void)arg;
	hb_log(HB_LOG_WARNING, "refused by the database, stored as INVALID line=%llu error=%s",
	       (unsigned long long)lineno, hb_log_quote(q, sizeof q, msg, strlen(msg)));
}

static void on_no_days(void *arg, const char *from, const char *to, const char *msg)
{
	(void)arg;
	hb_log(HB_LOG_WARNING, "day partitions %s to %s not made (%s): rows of days without "
	       "one go to the default partition", from, to, msg);
}

static void on_no_coords(void *arg)
{
	(void)arg;
	hb_log(HB_LOG_WARNING, "heartbeat_anomalies has no kafka_topic/kafka_partition/kafka_offset "
	       "columns: rows stored without their Kafka coordinates (apply sql/: scripts/hb-pg apply)");
}

static void sleep_us(int64_t us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);	/* a signal cuts it short: fine */
}

static int stats_tick(struct run *r);

/* Sleep us microseconds between two tries of a database that is down, with
 * the --stats lines on time meanwhile; a signal cuts it short. */
static void backoff_sleep(struct run *r, int64_t us)
{
	int64_t until = hb_time_mono_us() + us;
	int stop = hb_stop;

	for (;;) {
		int64_t left = until - hb_time_mono_us();
		int w = stats_tick(r);

		if (left <= 0 || hb_stop != stop)
			return;
		if (w >= 0 && (int64_t)w * 1000 < left)
			left = w > 0 ? (int64_t)w * 1000 : 1000;
		sleep_us(left);
		if (hb_stop != stop)
			return;
	}
}

/* The latency buckets exposed, in seconds. */
static const double prom_le[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

/* Write --prom-file when it is due (or now, with force). */
static void prom_tick(struct run *r, int force)
{
	const struct hb_load_stats *s = hb_loader_stats(r->ld);
	struct hb_prom *p = &r->prom;
	char err[512];

	if (!hb_prom_due(p, force))
		return;
	hb_prom_begin(p, p->labels);
#define C(name, help, v) hb_prom_one(p, "hbmon_pgload_" name, "counter", help, (double)(v))
#define G(name, help, v) hb_prom_one(p, "hbmon_pgload_" name, "gauge", help, (double)(v))
	C("lines_total", "Lines read.", s->rows_in);
	C("rows_stored_total", "Rows new in the database (committed).", s->stored);
	C("duplicates_total", "Rows that were already stored (replays, redeliveries).", s->duplicates);
	C("rejected_total", "Rows the database refused for their data, stored as INVALID instead.", s->rejected);
	C("malformed_total", "Lines that were not classified readings, stored as INVALID.", s->malformed);
	C("alert_events_total", "_hb_alert lines read (alert events).", s->alerts);
	C("alert_events_applied_total", "Alert events that changed a row (committed).", s->alerts_applied);
	C("states_total", "_hb_state lines read (detection states).", s->states);
	C("marks_total", "_hb_mark lines read and ignored.", s->marks);
	hb_prom_family(p, "hbmon_pgload_lines_by_status_total", "counter", "Lines read, by status.");
	for (int i = 0; i < HB_STATUS_COUNT; i++) {
		char lab[40];

		snprintf(lab, sizeof lab, "status=\"%s\"", hb_status_name((enum hb_status)i));
		hb_prom_sample(p, "hbmon_pgload_lines_by_status_total", lab, (double)s->status[i]);
	}
	C("batches_total", "Transactions committed.", s->batches);
	C("retries_total", "Flushes that found the database unreachable.", s->retries);
	G("database_up", "1 when the last attempt to store reached the database.", !r->db_down);
	G("batch_rows", "Rows waiting in the current batch.", hb_loader_rows(r->ld));
	G("reading_age_seconds", "Age of the newest reading at the last commit.", (double)s->lag_ms / 1000.0);
	if (s->consumer_lag >= 0)
		G("consumer_lag_messages", "Kafka messages behind the end, as the last batch saw it.",
		  s->consumer_lag);
	G("start_time_seconds", "When this process started, seconds since the epoch.", (double)r->wall_t0 / 1e6);
	G("last_update_seconds", "When this file was written, seconds since the epoch.",
	  (double)hb_time_now_us() / 1e6);
#undef C
#undef G
	hb_prom_histogram_us(p, "hbmon_pgload_latency_seconds",
			     "From a reading's timestamp to the commit of its row.", &s->latency_us,
			     prom_le, (int)(sizeof prom_le / sizeof prom_le[0]));
	if (hb_prom_flush(p, err, sizeof err))
		hb_log(HB_LOG_WARNING, "--prom-file: %s", err);
}

/*
 * --stats: the line when it is due (also while the database is down), with
 * the latency quantiles of the rows stored in the interval when there were
 * any.  Returns the milliseconds until the next one (-1: off).
 */
static int stats_tick(struct run *r)
{
	static struct hb_hist lat;
	const struct hb_load_stats *s = hb_loader_stats(r->ld);
	char kv[64] = "";
	int64_t now;
	double rate;

	if (!r->stats.interval_us)
		return -1;
	now = hb_time_mono_us();
	if (!hb_stats_due(&r->stats, now))
		return hb_stats_wait_ms(&r->stats, now, -1);
	rate = hb_stats_take(&r->stats, now, s->rows_in);
	lat = s->latency_us;
	hb_hist_sub(&lat, &r->stats_lat);
	r->stats_lat = s->latency_us;
	if (lat.n)
		snprintf(kv, sizeof kv, " latency_p50_ms=%.1f latency_p99_ms=%.1f",
			 (double)hb_hist_quantile(&lat, 0.5) / 1000.0,
			 (double)hb_hist_quantile(&lat, 0.99) / 1000.0);
	if (hb_log_enabled(HB_LOG_INFO))
		hb_log(HB_LOG_INFO, "stats rows_in=%llu stored=%llu duplicates=%llu normal=%llu "
		       "bradycardia=%llu tachycardia=%llu invalid=%llu alerts=%llu rate=%.1f/s%s",
		       (unsigned long long)s->rows_in, (unsigned long long)s->stored,
		       (unsigned long long)s->duplicates, (unsigned long long)s->status[HB_NORMAL],
		       (unsigned long long)s->status[HB_BRADYCARDIA],
		       (unsigned long long)s->status[HB_TACHYCARDIA],
		       (unsigned long long)s->status[HB_INVALID], (unsigned long long)s->alerts,
		       rate, kv);
	return hb_stats_wait_ms(&r->stats, now, -1);
}

/*
 * Store the batch, retrying while the database is unreachable: exponential
 * backoff from 100 ms to 5 s, for --retry-for seconds (or, after a stop
 * signal, for a short grace).  Returns an exit status, or -1 when stored.
 */
static int store(struct run *r, const char *metrics)
{
	struct hb_retry rt;
	char err[1024];

	hb_retry_init(&rt, r->o->retry_for * 1000000LL, 100000, 5000000);
	for (;;) {
		int64_t t = hb_time_mono_us(), w;
		size_t rows = hb_loader_rows(r->ld);
		enum hb_load_rc rc = hb_loader_flush(r->ld, metrics, err, sizeof err);
		int64_t now = hb_time_mono_us();
		int spent;

		if (rc == HB_LOAD_OK && hb_log_enabled(HB_LOG_DEBUG))
			hb_log(HB_LOG_DEBUG, "batch rows=%zu ms=%.1f", rows, (double)(now - t) / 1000);
		r->db_down = rc != HB_LOAD_OK;
		if (rc == HB_LOAD_OK) {
			if ((t = hb_retry_ok(&rt, now)) > 0)
				hb_log(HB_LOG_INFO, "database is back after %.1f s; batch stored retries=%llu",
				       (double)t / 1e6, (unsigned long long)hb_loader_stats(r->ld)->retries);
			return -1;
		}
		if (rc == HB_LOAD_CONFIG || rc == HB_LOAD_FATAL) {
			hb_log(HB_LOG_ERROR, "%s; %zu rows not stored", err, hb_loader_rows(r->ld));
			return rc == HB_LOAD_CONFIG ? HB_EXIT_USAGE : HB_EXIT_FAIL;
		}
		spent = hb_retry_failed(&rt, now);
		if (hb_retry_note_due(&rt, now, 10000000))
			hb_log(HB_LOG_WARNING, "database unavailable, retrying (%zu rows waiting): %s",
			       hb_loader_rows(r->ld), err);
		if (hb_stop && !r->stop_at)
			r->stop_at = now;
		if (spent || (hb_stop && now - r->stop_at >= STOP_GRACE_US)) {
			hb_log(HB_LOG_ERROR, "database unreachable for %.0f s%s: %s; %zu rows waiting "
			       "not stored, %llu stored before (run the input again: loading is idempotent)",
			       (double)(now - rt.since) / 1e6,
			       hb_stop ? " (stopping)" : " (--retry-for)", err, hb_loader_rows(r->ld),
			       (unsigned long long)hb_loader_stats(r->ld)->stored);
			return HB_EXIT_UNAVAILABLE;
		}
		w = hb_retry_wait_us(&rt, now);
		if (hb_stop && w > r->stop_at + STOP_GRACE_US - now)
			w = r->stop_at + STOP_GRACE_US - now;
		prom_tick(r, 0);
		backoff_sleep(r, w > 0 ? w : 1000);
	}
}

/* The batch is to be stored: the input paused, its time is up, or it is full (or force). */
static int batch_due(struct run *r, int force)
{
	return hb_loader_rows(r->ld) &&
	       (force || r->idle || hb_time_mono_us() >= r->deadline ||
		hb_loader_rows(r->ld) >= (size_t)r->o->batch_rows ||
		hb_loader_bytes(r->ld) >= (32u << 20));
}

/* Flush the batch if it is due, with a metrics snapshot if that is due. */
static int tick(struct run *r, int force, const char *final)
{
	int64_t now = hb_time_mono_us();
	const struct hb_load_stats *s = hb_loader_stats(r->ld);
	int rows_due = batch_due(r, force);
	uint64_t lines = s->rows_in + s->alerts + s->states + s->marks;
	int metrics_due = now >= r->next_metrics &&
			  (lines != r->rows_at_snapshot || now - r->last_metrics >= 60000000);
	int rc;

	prom_tick(r, 0);
	if (!rows_due && !metrics_due && !final) {
		if (now >= r->next_metrics)	/* nothing new: look again in a while, do not spin */
			r->next_metrics = now + r->o->metrics_ms * 1000;
		return -1;
	}
	rc = store(r, final ? final : metrics_due ? "snapshot" : NULL);
	if (rc < 0 && (metrics_due || final)) {
		r->next_metrics = now + r->o->metrics_ms * 1000;
		r->last_metrics = now;
		r->rows_at_snapshot = s->rows_in + s->alerts + s->states + s->marks;
	}
	return rc;
}

static int add_line(struct run *r, const struct hb_line *ln)
{
	const char *why = NULL;
	char q[400];

	if (!hb_loader_rows(r->ld)) {
		r->deadline = hb_time_mono_us() + r->o->batch_ms * 1000;
		r->idle = 0;
	}
	hb_loader_add(r->ld, ln->p, ln->len, ln->true_len, ln->no, &why);
	if (why) {
		if (r->o->strict) {
			hb_log(HB_LOG_ERROR, "%s:%llu: not a classified reading (--strict; stored as "
			       "INVALID): %s", r->o->input ? r->o->input : "<stdin>",
			       (unsigned long long)ln->no, hb_log_quote(q, sizeof q, why, strlen(why)));
			return HB_EXIT_DATAERR;
		}
		if (r->malformed_logged++ < 10)
			hb_log(HB_LOG_WARNING, "stored as INVALID line=%llu reason=%s%s",
			       (unsigned long long)ln->no, hb_log_quote(q, sizeof q, why, strlen(why)),
			       r->malformed_logged == 10 ? " (no more of these; see the summary)" : "");
	}
	return -1;	/* a full batch is stored by the loop, at a reading's boundary */
}

/* What hb_reader_next() gave: a line added, or an exit status (-1: go on). */
static int take(struct run *r, enum hb_rd k, const struct hb_line *ln)
{
	int rc;

	if (k == HB_RD_ERROR) {
		hb_log(HB_LOG_ERROR, "read error: %s", strerror(errno));
		return HB_EXIT_FAIL;
	}
	if (k != HB_RD_LINE)
		return -1;
	if (hb_line_torn(ln)) {
		hb_log(HB_LOG_WARNING, "line %llu: a torn last line from a stage that died "
		       "(Kafka delivers its message again): not stored", (unsigned long long)ln->no);
		return -1;
	}
	if ((rc = add_line(r, ln)) >= 0)
		return rc;
	if ((ln->no & 0xFFFF) == 0 &&
	    hb_log_raw(r->pbuf, hb_progress_tick(&r->prog, ln->no, r->pbuf, sizeof r->pbuf)) < 0)
		r->prog.on = 0;
	return -1;
}

/*
 * A due batch whose next line is already here: an _hb_alert or _hb_state
 * line belongs to the reading before it and joins its batch (the reading's
 * offset is acknowledged with the commit: an alert committed later could be
 * lost with a crash in between); anything else comes after the flush.
 */
static int flush_at_boundary(struct run *r)
{
	struct hb_line ln;
	enum hb_rd k = hb_reader_next(r->in, 0, &ln);
	enum hb_ctl c = k == HB_RD_LINE ? hb_ctl_kind(ln.p, ln.len) : HB_CTL_NONE;
	int rc;

	if (c == HB_CTL_ALERT || c == HB_CTL_STATE)
		return take(r, k, &ln);
	if ((rc = tick(r, 1, NULL)) >= 0)
		return rc;
	if (k == HB_RD_EOF)
		return HB_EXIT_OK;	/* nothing more: the caller's final flush */
	return take(r, k, &ln);
}

static int run_loop(struct run *r)
{
	struct hb_line ln;
	int rc;

	for (;;) {
		int64_t now, wait;
		int wait_ms;
		enum hb_rd k;

		if (batch_due(r, 0) && hb_reader_ready(r->in)) {
			rc = flush_at_boundary(r);
			if (rc == HB_EXIT_OK)
				return -1;
			if (rc >= 0)
				return rc;
			continue;
		}
		if ((rc = tick(r, 0, NULL)) >= 0)
			return rc;
		if (hb_stop)
			return -1;
		stats_tick(r);
		now = hb_time_mono_us();
		wait = (hb_loader_rows(r->ld) ? r->deadline : r->next_metrics) - now;
		wait_ms = wait < 0 ? 0 : (int)((wait + 999) / 1000);
		/*
		 * With rows in hand, look for a pause (hb_batch.h): nothing more to
		 * read by then, and the batch is stored now.  Under
		 * load the input does not pause while a batch commits, so the next
		 * batch holds what came meanwhile: batches grow with the load.
		 */
		if (hb_loader_rows(r->ld) && !r->idle)
			wait_ms = hb_batch_wait_ms(hb_loader_rows(r->ld),
						   now - (r->deadline - r->o->batch_ms * 1000LL));
		k = hb_reader_next(r->in, hb_stats_wait_ms(&r->stats, now, wait_ms), &ln);
		if (k == HB_RD_TIMEOUT && hb_loader_rows(r->ld) && !r->idle && wait_ms <= HB_BATCH_IDLE_MS) {
			r->idle = 1;
			continue;
		}
		if (k == HB_RD_EOF)
			return -1;
		if ((rc = take(r, k, &ln)) >= 0)
			return rc;
	}
}

static void summary(struct run *r, int rc)
{
	const struct hb_load_stats *s = hb_loader_stats(r->ld);
	double secs = (double)(hb_time_mono_us() - r->t0) / 1e6;

	if (!hb_log_enabled(HB_LOG_INFO))
		return;
	hb_log(HB_LOG_INFO, "%s rows_in=%llu stored=%llu duplicates=%llu rejected=%llu normal=%llu "
	       "bradycardia=%llu tachycardia=%llu invalid=%llu malformed=%llu alerts=%llu "
	       "alerts_applied=%llu states=%llu marks=%llu batches=%llu "
	       "retries=%llu seconds=%.3f rows_per_s=%.0f latency_p50_ms=%.1f latency_p99_ms=%.1f",
	       rc > 0 ? "failed" : hb_stop ? "stopped" : "done",
	       (unsigned long long)s->rows_in, (unsigned long long)s->stored,
	       (unsigned long long)s->duplicates, (unsigned long long)s->rejected,
	       (unsigned long long)s->status[HB_NORMAL], (unsigned long long)s->status[HB_BRADYCARDIA],
	       (unsigned long long)s->status[HB_TACHYCARDIA], (unsigned long long)s->status[HB_INVALID],
	       (unsigned long long)s->malformed, (unsigned long long)s->alerts,
	       (unsigned long long)s->alerts_applied, (unsigned long long)s->states,
	       (unsigned long long)s->marks, (unsigned long long)s->batches,
	       (unsigned long long)s->retries, secs, secs > 0 ? (double)s->rows_in / secs : 0.0,
	       (double)hb_hist_quantile(&s->latency_us, 0.5) / 1000.0,
	       (double)hb_hist_quantile(&s->latency_us, 0.99) / 1000.0);
}

static int open_file(const char *path, int flags, const char *what)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0) {
		hb_log(HB_LOG_ERROR, "cannot open %s %s: %s", what, path, strerror(errno));
		exit(HB_EXIT_USAGE);
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct opts o = { .batch_rows = 50000, .batch_ms = 50, .metrics_ms = 2000,
			  .retry_for = 300, .max_line = HB_MAX_LINE_DEFAULT, .verbosity = HB_LOG_INFO };
	struct run r = { .o = &o, .ack = { .fd = -1 } };
	struct hb_load_opts lo = {0};
	char instance[300], host[256];
	int rc, in_fd = 0;

	hb_log_init("hbpgload", o.verbosity);
	parse_opts(argc, argv, &o);
	hb_log_init("hbpgload", o.verbosity);
	if (hb_signal_setup() < 0) {
		hb_log(HB_LOG_ERROR, "cannot install signal handlers: %s", strerror(errno));
		return HB_EXIT_FAIL;
	}
	if (!o.instance) {
		if (gethostname(host, sizeof host) < 0)
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		snprintf(instance, sizeof instance, "%s:%ld", host, (long)getpid());
		o.instance = instance;
	}
	if (o.input && strcmp(o.input, "-") != 0)
		in_fd = open_file(o.input, O_RDONLY, "input");
	if (o.ack_to) {
		struct stat st;

		if (stat(o.ack_to, &st) < 0)	/* a plain file is created; a FIFO must exist */
			close(open_file(o.ack_to, O_WRONLY | O_APPEND | O_CREAT, "acknowledgement file"));
		hb_ack_out_init(&r.ack, o.ack_to);
		ack_open(&r);
	}
	lo.conninfo = o.dbname;
	lo.instance = o.instance;
	lo.topic = o.topic;
	/* the backlog that builds while a batch commits waits in the pipe (see run_loop) */
	if (hb_pipe_grow(in_fd, 1 << 20) < 0)
		hb_log(HB_LOG_DEBUG, "input pipe keeps its size: %s", strerror(errno));
	r.in = hb_reader_new(in_fd, (size_t)o.max_line);
	r.ld = hb_loader_new(&lo);
	if (!r.in || !r.ld) {
		hb_log(HB_LOG_ERROR, "out of memory");
		return HB_EXIT_FAIL;
	}
	hb_loader_on_commit(r.ld, on_commit, &r);
	hb_loader_on_reject(r.ld, on_reject, &r);
	hb_loader_on_no_days(r.ld, on_no_days, &r);
	hb_loader_on_no_coords(r.ld, on_no_coords, &r);
	hb_progress_init(&r.prog, in_fd);
	r.t0 = hb_time_mono_us();
	hb_stats_init(&r.stats, o.stats_us, r.t0, 0);
	r.next_metrics = r.t0 + o.metrics_ms * 1000;
	r.last_metrics = r.t0;
	r.wall_t0 = hb_time_now_us();
	r.prom.path = o.prom_file;
	r.prom.interval_us = o.metrics_ms * 1000LL;
	hb_prom_label(r.prom.labels, sizeof r.prom.labels, "hbmon_instance", o.instance);

	/* Connect (and check the schema) before reading anything. */
	rc = store(&r, NULL);
	if (rc < 0)
		rc = run_loop(&r);
	if (rc < 0 || rc == HB_EXIT_DATAERR) {
		int frc = tick(&r, 1, "final");

		if (frc >= 0)
			rc = frc;
	}
	if (rc < 0)
		rc = HB_EXIT_OK;
	hb_log_raw(r.pbuf, hb_progress_done(&r.prog, r.pbuf, sizeof r.pbuf));
	prom_tick(&r, 1);
	hb_prom_release(&r.prom);
	summary(&r, rc);

	hb_loader_free(r.ld);
	hb_reader_free(r.in);
	hb_ack_out_close(&r.ack);
	if (in_fd > 0)
		close(in_fd);
	return rc;
}
