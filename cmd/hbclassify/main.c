/* hbclassify — validate and classify heart-rate readings, one line in, one line out. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hb_alert.h"
#include "hb_alert_pg.h"
#include "hb_classify.h"
#include "hb_event.h"
#include "hb_io.h"
#include "hb_json.h"
#include "hb_log.h"
#include "hb_opt.h"
#include "hb_progress.h"
#include "hb_signal.h"
#include "hb_stats.h"
#include "hb_time.h"

struct opts {
	struct hb_alert_config ac;
	int strict;
	int assume_utc;
	int verbosity;
	long max_line;
	int64_t stats_us;
	const char *alerts;
	const char *db;
	const char *input;
};

struct run {
	struct opts *o;
	struct hb_reader *in;
	struct hb_writer out;
	struct hb_writer alerts;
	struct hb_alerts *rules;       /* --alerts or --store */
	struct hb_alert_pg *pg;        /* --store: stored state back on "assigned" marks */
	struct hb_buf ev, st, line;    /* this line's events, states, and the line itself */
	uint64_t alerts_written, marks, passed;
	struct hb_classifier *cl;
	struct hb_progress prog;
	char pbuf[160];      /* its line */
	struct hb_stats stats;         /* --stats */
	uint64_t count[HB_STATUS_COUNT];
	uint64_t lines;
	int64_t t0;
};

static void usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fputs(
"usage: hbclassify [options] [FILE]\n"
"\n"
"Read heart-rate readings as NDJSON (FILE or stdin), write each one with\n"
"\"status\" added: NORMAL, BRADYCARDIA, TACHYCARDIA or INVALID.  Every input\n"
"line gives exactly one output line, whatever it contains; INVALID lines also\n"
"get \"reason\" and \"raw\" (the input line, JSON-escaped).  Unknown fields are\n"
"passed through byte for byte.  Without --alerts or --store each non-NORMAL\n"
"reading is logged as a WARNING line on stderr; with them, each alert event\n"
"(and with -v each non-NORMAL reading too).\n"
"\n"
"A reading is {\"customer_id\":..., \"timestamp\":..., \"heart_rate\":...}.\n"
"customer_id is a string or a JSON integer (42 is written \"42\" on output),\n"
"1-64 characters of [A-Za-z0-9_.:-].  timestamp is RFC 3339 with a zone; a\n"
"fraction of any length is rounded to microseconds as PostgreSQL rounds it.\n"
"heart_rate is an integer.\n"
"\n"
"      --brady N          below N bpm is BRADYCARDIA (default 40)\n"
"  -T, --tachy N          above N bpm is TACHYCARDIA (default 180)\n"
"      --min N            below N bpm is INVALID, implausible (default 1)\n"
"      --max N            above N bpm is INVALID, implausible (default 300)\n"
"  -s, --strict           stop at the first INVALID line: error on stderr, exit 65\n"
"      --assume-utc       read timestamps without a zone (2026-11-23T08:00:00.5)\n"
"                         as UTC and write them with 'Z' appended; without it\n"
"                         they are INVALID\n"
"      --max-line BYTES   lines longer than this are INVALID, cut (default 1048576)\n"
"\n", f);
	fputs(
"Alerts (see the README's Alerts section; times are the readings' own):\n"
"  -a, --alerts FILE      append alert events (an open and a close per alert)\n"
"                         to FILE or a FIFO, one NDJSON line each\n"
"      --store            also write alert events and each customer's detection\n"
"                         state into the output, for hbpgload to store with the\n"
"                         readings; on hbkafka-sub --marks \"assigned\" lines, load\n"
"                         the partition's stored state from PostgreSQL\n"
"  -d, --dbname CONNINFO  the database for --store (default: the PG* variables),\n"
"                         as hbpgload and psql take it; --db is the same\n"
"      --open-after N     BRADYCARDIA/TACHYCARDIA open after N consecutive\n"
"                         readings past the threshold (default 3)\n"
"      --close-after N    and close after N readings back inside the threshold\n"
"                         by --margin (default 3)\n"
"      --margin BPM       hysteresis for closing (default 5)\n"
"      --alert-gap SECS   a customer sending nothing for SECS closes its\n"
"                         BRADYCARDIA/TACHYCARDIA alert, ended_by \"gap\" (default 60)\n"
"      --silence SECS     SILENCE: a customer who was sending sent nothing for\n"
"                         SECS (default 10, twenty intervals of hbsim's default\n"
"                         fleet; 0: off)\n"
"      --deviation BPM    DEVIATION: the customer's smoothed rate (60 s EWMA) is\n"
"                         more than BPM from its own baseline (default 18; 0: off)\n"
"      --deviation-for SECS  for SECS, before opening and before closing (default 45)\n"
"      --baseline SECS    the baseline's EWMA time constant (default 3600)\n"
"      --warmup SECS      NORMAL reading time before a baseline counts (default 600)\n"
"\n"
"      --stats SECONDS    every SECONDS log an INFO line: the counts so far and\n"
"                         the rate over the interval, also while no input comes\n"
"                         (0.1-86400; default 0: off)\n"
"  -q, --quiet            less on stderr (-q: no summary or stats lines, -qq: no\n"
"                         WARNING lines)\n"
"  -v, --verbose          more on stderr: with --alerts or --store, also the\n"
"                         WARNING line of each non-NORMAL reading\n"
"  -h, --help             this help\n"
"  -V, --version          version\n"
"\n"
"INVALID lines carry \"raw_base64\" (the exact bytes) when the input was not\n"
"UTF-8, and lines cut at --max-line keep a 1 KiB excerpt in \"raw\" with their\n"
"true length in \"raw_length\".  Classifying output again changes nothing.\n"
"Lines {\"_hb_mark\":...} from hbkafka-sub --marks are read, never written.\n"
"\n"
"Alert events, e.g.:\n"
"  {\"alert\":\"TACHYCARDIA\",\"state\":\"open\",\"customer_id\":\"CUST_00003\",\n"
"   \"start\":\"...\",\"at\":\"...\",\"readings\":3,\"peak_bpm\":203,\"peak_at\":\"...\",\n"
"   \"reason\":\"3 readings above 180 bpm\"}\n"
"  {\"alert\":\"TACHYCARDIA\",\"state\":\"close\",\"customer_id\":\"CUST_00003\",\n"
"   \"start\":\"...\",\"end\":\"...\",\"duration_s\":12.500,\"at\":\"...\",\"readings\":26,\n"
"   \"peak_bpm\":203,\"peak_at\":\"...\",\"ended_by\":\"NORMAL\"}\n"
"alert is BRADYCARDIA, TACHYCARDIA, SILENCE or DEVIATION; start is when the\n"
"condition began, at when the rule was met.  The end of the input closes\n"
"nothing: an alert closes when its condition ends.\n"
"\n"
"A short letter means one thing across hbmon's programs: -b is the brokers\n"
"there, so --brady has no letter.\n"
"\n"
"Exit status: 0 done (also after SIGINT/SIGTERM or a closed stdout), 1 read\n"
"or write error, 2 usage or a FILE/--alerts that cannot be opened,\n"
"65 an INVALID line under --strict, 69 --store cannot load stored state.\n"
"\n"
"Example:\n"
"  hbsim --count 1000 --rate 0 | hbclassify -qq | jq -c 'select(.status != \"NORMAL\")'\n", f);
	exit(status);
}

static void die_usage(const char *msg)
{
	fprintf(stderr, "hbclassify: %s\n", msg);
	exit(HB_EXIT_USAGE);
}

/* Seconds (fractions allowed) into µs. */
static int secs(const char *opt, const char *s, double min, int64_t *us, char *err, size_t errsz)
{
	double v;

	if (hb_opt_double(opt, s, min, 86400.0 * 365, &v, err, errsz))
		return 1;
	*us = (int64_t)(v * 1e6 + 0.5);
	return 0;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	enum { OPT_MIN = 256, OPT_MAX, OPT_MAXLINE, OPT_GAP, OPT_STORE, OPT_OPEN,
	       OPT_CLOSE, OPT_MARGIN, OPT_SILENCE, OPT_DEV, OPT_DEVFOR, OPT_BASE, OPT_WARM,
	       OPT_UTC, OPT_STATS, OPT_BRADY };
	/* Letters that mean something else across hbmon (hb_opt.h). */
	static const struct hb_opt_drop drops[] = { {'b', "--brady"}, {0, NULL} };
	static const struct option lo[] = {
		{"brady", required_argument, NULL, OPT_BRADY},
		{"tachy", required_argument, NULL, 'T'},
		{"min", required_argument, NULL, OPT_MIN},
		{"max", required_argument, NULL, OPT_MAX},
		{"strict", no_argument, NULL, 's'},
		{"assume-utc", no_argument, NULL, OPT_UTC},
		{"alerts", required_argument, NULL, 'a'},
		{"store", no_argument, NULL, OPT_STORE},
		{"dbname", required_argument, NULL, 'd'},
		{"db", required_argument, NULL, 'd'},	/* the older spelling */
		{"open-after", required_argument, NULL, OPT_OPEN},
		{"close-after", required_argument, NULL, OPT_CLOSE},
		{"margin", required_argument, NULL, OPT_MARGIN},
		{"alert-gap", required_argument, NULL, OPT_GAP},
		{"silence", required_argument, NULL, OPT_SILENCE},
		{"deviation", required_argument, NULL, OPT_DEV},
		{"deviation-for", required_argument, NULL, OPT_DEVFOR},
		{"baseline", required_argument, NULL, OPT_BASE},
		{"warmup", required_argument, NULL, OPT_WARM},
		{"max-line", required_argument, NULL, OPT_MAXLINE},
		{"stats", required_argument, NULL, OPT_STATS},
		HB_OPT_COMMON,
	};
	struct hb_alert_config *ac = &o->ac;
	char err[256];
	long n;
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, ":T:sa:d:qvhV", lo, NULL)) != -1) {
		switch (c) {
		case OPT_BRADY: bad |= hb_opt_long("--brady", optarg, 0, 100000, &ac->th.brady, err, sizeof err); break;
		case 'T': bad |= hb_opt_long("--tachy", optarg, 0, 100000, &ac->th.tachy, err, sizeof err); break;
		case OPT_MIN: bad |= hb_opt_long("--min", optarg, 0, 100000, &ac->th.min, err, sizeof err); break;
		case OPT_MAX: bad |= hb_opt_long("--max", optarg, 0, 100000, &ac->th.max, err, sizeof err); break;
		case OPT_MAXLINE:
			bad |= hb_opt_long("--max-line", optarg, 256, 1L << 30, &o->max_line, err, sizeof err);
			break;
		case OPT_OPEN:
			bad |= hb_opt_long("--open-after", optarg, 1, 1000000, &n, err, sizeof err);
			ac->open_after = (int)n;
			break;
		case OPT_CLOSE:
			bad |= hb_opt_long("--close-after", optarg, 1, 1000000, &n, err, sizeof err);
			ac->close_after = (int)n;
			break;
		case OPT_MARGIN: bad |= hb_opt_long("--margin", optarg, 0, 1000, &ac->margin, err, sizeof err); break;
		case OPT_GAP: bad |= secs("--alert-gap", optarg, 0.001, &ac->gap_us, err, sizeof err); break;
		case OPT_SILENCE: bad |= secs("--silence", optarg, 0, &ac->silence_us, err, sizeof err); break;
		case OPT_DEV: bad |= hb_opt_double("--deviation", optarg, 0, 1000, &ac->deviation, err, sizeof err); break;
		case OPT_DEVFOR: bad |= secs("--deviation-for", optarg, 0, &ac->deviation_for_us, err, sizeof err); break;
		case OPT_BASE: bad |= secs("--baseline", optarg, 1, &ac->baseline_us, err, sizeof err); break;
		case OPT_WARM: bad |= secs("--warmup", optarg, 0, &ac->warmup_us, err, sizeof err); break;
		case OPT_STATS: bad |= hb_stats_parse("--stats", optarg, &o->stats_us, err, sizeof err); break;
		case OPT_STORE: ac->store = 1; break;
		case 'd': o->db = optarg; break;
		case 's': o->strict = 1; break;
		case OPT_UTC: o->assume_utc = 1; break;
		case 'a': o->alerts = optarg; break;
		case 'q': o->verbosity--; break;
		case 'v': o->verbosity++; break;
		case 'h': usage(0); break;
		case 'V': printf("hbclassify %s\n", HB_VERSION); exit(0);
		default:
			if (!hb_opt_dropped("hbclassify", c, optopt, drops, err, sizeof err))
				hb_opt_error("hbclassify", c, argv, err, sizeof err);
			bad = 1;
		}
		if (bad)
			die_usage(err);
	}
	if (hb_opt_input(argc, argv, optind, &o->input, err, sizeof err) < 0 ||
	    hb_thresholds_check(&ac->th, err, sizeof err) < 0)
		die_usage(err);
	if (ac->deviation > 0 && ac->margin >= ac->deviation)
		die_usage("--margin must be below --deviation");
}

static void flush_out(void *arg)
{
	struct run *r = arg;

	hb_writer_flush(&r->out);
	if (r->alerts.fd >= 0)
		hb_writer_flush(&r->alerts);
}

/*
 * Send this line's alert events to --alerts and (--store) with the states
 * into the output, before the classified line written since mark: hbpgload
 * then never stores a reading without what it caused.  Logs each event.
 */
static void route(struct run *r, size_t mark)
{
	const char *p = r->ev.p, *e = p + r->ev.len;

	if (!r->ev.len && !r->st.len)
		return;
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);

		hb_log(HB_LOG_WARNING, "alert %.*s", (int)n, p);
		r->alerts_written++;
		p += n + 1;
	}
	if (r->alerts.fd >= 0) {
		hb_buf_put(&r->alerts.buf, r->ev.p, r->ev.len);
		hb_writer_maybe_flush(&r->alerts);
	}
	if (r->o->ac.store) {
		hb_buf_reset(&r->line);
		hb_buf_put(&r->line, r->out.buf.p + mark, r->out.buf.len - mark);
		r->out.buf.len = mark;
		hb_alerts_wrap(&r->ev, "_hb_alert", &r->out.buf);
		hb_alerts_wrap(&r->st, "_hb_state", &r->out.buf);
		if (hb_buf_oom(&r->line))
			r->out.buf.oom = 1;	/* the reading is lost: said as out of memory */
		hb_buf_put(&r->out.buf, r->line.p, r->line.len);
	}
	hb_buf_reset(&r->ev);
	hb_buf_reset(&r->st);
}

static struct hb_alert_out alert_out(struct run *r)
{
	return (struct hb_alert_out){ .events = &r->ev, .states = r->o->ac.store ? &r->st : NULL };
}

/* Feed the alert rules; returns -1 when out of memory. */
static int alert_rules(struct run *r, const struct hb_verdict *v, size_t mark)
{
	const struct hb_event *ev = v->ev;
	struct hb_alert_src src = { .has_coord = v->has_coord, .partition = v->coord.partition,
				    .offset = v->coord.offset };
	struct hb_alert_out out = alert_out(r);

	if (v->status == HB_INVALID || !ev)
		return 0;
	if (hb_alerts_reading(r->rules, ev->cid.p, ev->cid.n, ev->ts_us, v->status, ev->hr, &src,
			      hb_time_now_us(), &out) < 0 || hb_buf_oom(&r->line))
		return -1;
	route(r, mark);
	return 0;
}

/* The stored state of a partition just assigned; an exit status, or -1 to go on. */
static int load_state(struct run *r, const char *topic, size_t tn, int32_t partition)
{
	int64_t give_up = hb_time_mono_us() + 60 * 1000000LL;
	int warned = 0;

	for (;;) {
		char err[512];
		size_t n;
		enum hb_alert_pg_rc rc = hb_alert_pg_load(r->pg, topic, tn, partition, r->rules, &n,
							  err, sizeof err);

		if (rc == HB_APG_OK) {
			hb_log(HB_LOG_INFO, "partition %d: alert state of %zu customer(s) loaded",
			       (int)partition, n);
			return -1;
		}
		if (rc == HB_APG_FATAL || hb_stop || hb_time_mono_us() > give_up) {
			hb_log(HB_LOG_ERROR, "%s%s", err, rc == HB_APG_FATAL ? "" :
			       hb_stop ? " (stopped while retrying)" : " (gave up after 60 s)");
			return HB_EXIT_UNAVAILABLE;
		}
		if (!warned++)
			hb_log(HB_LOG_WARNING, "%s; retrying for up to 60 s", err);
		sleep(1);
	}
}

/* A line from hbkafka-sub --marks; an exit status, or -1 to go on. */
static int one_mark(struct run *r, enum hb_alert_mark kind, const char *topic, size_t tn,
		    int32_t partition, int64_t at)
{
	struct hb_alert_out out = alert_out(r);
	int rc;

	r->marks++;
	if (!r->rules)
		return -1;
	if (hb_alerts_mark(r->rules, kind, topic, tn, partition, at, &out) < 0) {
		hb_log(HB_LOG_ERROR, "out of memory (alert rules)");
		return HB_EXIT_FAIL;
	}
	if (kind == HB_AMARK_ASSIGNED && r->pg && (rc = load_state(r, topic, tn, partition)) >= 0)
		return rc;
	route(r, r->out.buf.len);
	if (hb_writer_maybe_flush(&r->out) < 0)
		return r->out.err == EPIPE ? HB_EXIT_OK : HB_EXIT_FAIL;
	return -1;
}

/* A WARNING line per anomalous or invalid reading (without alert rules). */
static void warn_line(const struct hb_verdict *v, uint64_t lineno)
{
	const struct hb_event *ev = v->ev;
	char q1[80], q2[400];

	if (!hb_log_enabled(HB_LOG_WARNING))
		return;
	if (v->status == HB_INVALID)
		hb_log(HB_LOG_WARNING, "INVALID line=%llu reason=%s", (unsigned long long)lineno,
		       hb_log_quote(q2, sizeof q2, v->reason, strlen(v->reason)));
	else
		hb_log(HB_LOG_WARNING, "%s line=%llu customer_id=%s timestamp=%s heart_rate=%lld",
		       hb_status_name(v->status), (unsigned long long)lineno,
		       hb_log_quote(q1, sizeof q1, ev->cid.p, ev->cid.n),
		       hb_log_quote(q2, sizeof q2, ev->ts.p, ev->ts.n), (long long)ev->hr);
}

/* Returns an exit status, or -1 to go on. */
static int one_line(struct run *r, const struct hb_line *ln)
{
	struct hb_verdict v;
	size_t mark = r->out.buf.len;

	hb_classify_line(r->cl, ln->p, ln->len, ln->true_len, &r->out.buf, &v);
	if (hb_buf_oom(&r->out.buf)) {	/* before any verdict: a shortage is not bad data */
		hb_log(HB_LOG_ERROR, "out of memory at line %llu", (unsigned long long)ln->no);
		return HB_EXIT_FAIL;
	}
	r->lines++;
	r->count[v.status]++;
	if (v.status != HB_NORMAL) {
		if (v.status == HB_INVALID && r->o->strict) {
			char q[400];

			r->out.buf.len = mark;	/* refuse it: not written */
			hb_log(HB_LOG_ERROR, "%s:%llu: invalid reading (--strict): %s",
			       r->o->input ? r->o->input : "<stdin>", (unsigned long long)ln->no,
			       hb_log_quote(q, sizeof q, v.reason, strlen(v.reason)));
			return HB_EXIT_DATAERR;
		}
		/* with alert rules the alert events are logged; each reading only at -v */
		if (!r->rules || hb_log_enabled(HB_LOG_DEBUG))
			warn_line(&v, ln->no);
	}
	if (r->rules && alert_rules(r, &v, mark) < 0) {
		hb_log(HB_LOG_ERROR, "out of memory at line %llu (alert rules)", (unsigned long long)ln->no);
		return HB_EXIT_FAIL;
	}
	if (hb_buf_oom(&r->out.buf)) {
		hb_log(HB_LOG_ERROR, "out of memory at line %llu", (unsigned long long)ln->no);
		return HB_EXIT_FAIL;
	}
	if (hb_writer_maybe_flush(&r->out) < 0)
		return r->out.err == EPIPE ? HB_EXIT_OK : HB_EXIT_FAIL;
	return -1;
}

/* The alert part of a stats line. */
static const char *stats_alerts_kv(const struct run *r)
{
	static char kv[80];

	if (!r->rules)
		return "";
	snprintf(kv, sizeof kv, " alert_events=%llu alerts_open=%zu",
		 (unsigned long long)r->alerts_written, hb_alerts_open(r->rules));
	return kv;
}

/* --stats: the line when it is due; the time to wait for input until then (-1: no limit). */
static int stats_tick(struct run *r)
{
	int64_t now;
	double rate;

	if (!r->stats.interval_us)
		return -1;
	now = hb_time_mono_us();
	if (hb_stats_due(&r->stats, now)) {
		rate = hb_stats_take(&r->stats, now, r->lines);
		if (hb_log_enabled(HB_LOG_INFO))
			hb_log(HB_LOG_INFO, "stats lines=%llu normal=%llu bradycardia=%llu tachycardia=%llu "
			       "invalid=%llu%s rate=%.1f/s", (unsigned long long)r->lines,
			       (unsigned long long)r->count[HB_NORMAL],
			       (unsigned long long)r->count[HB_BRADYCARDIA],
			       (unsigned long long)r->count[HB_TACHYCARDIA],
			       (unsigned long long)r->count[HB_INVALID], stats_alerts_kv(r), rate);
	}
	return hb_stats_wait_ms(&r->stats, now, -1);
}

static int run_loop(struct run *r)
{
	struct hb_line ln;
	int rc;

	while (!hb_stop) {
		enum hb_rd k = hb_reader_next(r->in, stats_tick(r), &ln);

		if (r->out.err == EPIPE)
			return HB_EXIT_OK;	/* flushed while waiting for input: the reader is gone */
		if (k == HB_RD_INTR)
			continue;
		if (k == HB_RD_HUP) {
			r->out.err = EPIPE;	/* the stage after us died while we waited: end quietly */
			return HB_EXIT_OK;
		}
		if (k == HB_RD_EOF)
			break;
		if (k == HB_RD_ERROR) {
			hb_log(HB_LOG_ERROR, "read error after line %llu: %s",
			       (unsigned long long)r->lines, strerror(errno));
			return HB_EXIT_FAIL;
		}
		if (k != HB_RD_LINE)
			continue;
		if (ln.len > 12 && ln.p[0] == '{' && ln.p[2] == '_' && ln.p[3] == 'h') {
			enum hb_alert_mark kind;
			const char *topic;
			size_t tn;
			int32_t part;
			int64_t at;

			if (hb_alerts_mark_parse(ln.p, ln.len, &kind, &topic, &tn, &part, &at)) {
				if ((rc = one_mark(r, kind, topic, tn, part, at)) >= 0)
					return rc;
				continue;
			}
			if (hb_alerts_is_stored_line(ln.p, ln.len)) {
				/* --store output classified again: it is hbpgload's, as it is */
				hb_buf_put(&r->out.buf, ln.p, ln.len);
				hb_buf_putc(&r->out.buf, '\n');
				r->passed++;
				continue;
			}
		}
		if (hb_line_torn(&ln)) {
			hb_log(HB_LOG_WARNING, "line %llu: a torn last line from a stage that died "
			       "(Kafka delivers its message again): not classified",
			       (unsigned long long)ln.no);
			continue;
		}
		if ((rc = one_line(r, &ln)) >= 0)
			return rc;
		if ((r->lines & 0xFFFF) == 0 &&
		    hb_log_raw(r->pbuf, hb_progress_tick(&r->prog, r->lines, r->pbuf, sizeof r->pbuf)) < 0)
			r->prog.on = 0;
	}
	return HB_EXIT_OK;
}

static int open_input(const struct opts *o)
{
	int fd;

	if (!o->input || strcmp(o->input, "-") == 0)
		return 0;
	fd = open(o->input, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		hb_log(HB_LOG_ERROR, "cannot open %s: %s", o->input, strerror(errno));
		exit(HB_EXIT_USAGE);
	}
	return fd;
}

static int open_alerts(const struct opts *o)
{
	int fd;

	if (!o->alerts)
		return -1;
	/* O_RDWR would keep a FIFO from blocking, but a reader must be there. */
	fd = open(o->alerts, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		hb_log(HB_LOG_ERROR, "cannot open alert stream %s: %s", o->alerts, strerror(errno));
		exit(HB_EXIT_USAGE);
	}
	return fd;
}

static const char *alerts_kv(const struct run *r)
{
	static char kv[96];

	if (!r->rules)
		return "";
	snprintf(kv, sizeof kv, " alerts=%llu open=%zu customers=%zu marks=%llu",
		 (unsigned long long)r->alerts_written, hb_alerts_open(r->rules),
		 hb_alerts_customers(r->rules), (unsigned long long)r->marks);
	return kv;
}

static int finish(struct run *r, int rc)
{
	double secs = (double)(hb_time_mono_us() - r->t0) / 1e6;

	if (r->rules && r->out.err != EPIPE) {
		struct hb_alert_out out = alert_out(r);

		/* the end of the input closes no alert; with --store the states go out */
		if (hb_alerts_finish(r->rules, &out) < 0) {
			hb_log(HB_LOG_ERROR, "out of memory (alert rules)");
			rc = rc ? rc : HB_EXIT_FAIL;
		}
		route(r, r->out.buf.len);
	}
	if (hb_writer_flush(&r->out) < 0 && r->out.err != EPIPE) {
		hb_log(HB_LOG_ERROR, "write error on stdout: %s", strerror(r->out.err));
		rc = HB_EXIT_FAIL;
	}
	if (r->alerts.fd >= 0 && hb_writer_flush(&r->alerts) < 0) {
		hb_log(HB_LOG_ERROR, "write error on alert stream: %s", strerror(r->alerts.err));
		rc = rc ? rc : HB_EXIT_FAIL;
	}
	if (r->out.err == EPIPE)
		return rc;	/* reader gone: end quietly */
	if (hb_log_enabled(HB_LOG_INFO))
		hb_log(HB_LOG_INFO, "%s lines=%llu normal=%llu bradycardia=%llu tachycardia=%llu "
		       "invalid=%llu%s seconds=%.3f lines_per_s=%.0f",
		       rc ? "failed" : hb_stop ? "stopped" : "done", (unsigned long long)r->lines,
		       (unsigned long long)r->count[HB_NORMAL],
		       (unsigned long long)r->count[HB_BRADYCARDIA],
		       (unsigned long long)r->count[HB_TACHYCARDIA],
		       (unsigned long long)r->count[HB_INVALID], alerts_kv(r), secs,
		       secs > 0 ? (double)r->lines / secs : 0.0);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { .ac = HB_ALERT_CONFIG_DEFAULT, .verbosity = HB_LOG_INFO,
			  .max_line = HB_MAX_LINE_DEFAULT };
	struct run r = { .o = &o, .out = { .fd = 1 }, .alerts = { .fd = -1 } };
	int rc, in_fd;

	hb_log_init("hbclassify", o.verbosity);
	parse_opts(argc, argv, &o);
	hb_log_init("hbclassify", o.verbosity);
	if (hb_signal_setup() < 0) {
		hb_log(HB_LOG_ERROR, "cannot install signal handlers: %s", strerror(errno));
		return HB_EXIT_FAIL;
	}
	in_fd = open_input(&o);
	r.alerts.fd = open_alerts(&o);
	r.in = hb_reader_new(in_fd, (size_t)o.max_line);
	r.cl = hb_classifier_new(&o.ac.th);
	if (r.cl)
		hb_classifier_assume_utc(r.cl, o.assume_utc);
	if (o.alerts || o.ac.store)
		r.rules = hb_alerts_new(&o.ac);
	if (o.ac.store)
		r.pg = hb_alert_pg_new(o.db);
	if (!r.in || !r.cl || ((o.alerts || o.ac.store) && !r.rules) || (o.ac.store && !r.pg)) {
		hb_log(HB_LOG_ERROR, "out of memory");
		return HB_EXIT_FAIL;
	}
	hb_reader_on_block(r.in, flush_out, &r);
	{
		struct stat st;

		if (fstat(1, &st) == 0 && S_ISFIFO(st.st_mode))
			hb_reader_watch(r.in, 1);
	}
	hb_progress_init(&r.prog, in_fd);
	r.t0 = hb_time_mono_us();
	hb_stats_init(&r.stats, o.stats_us, r.t0, 0);

	rc = run_loop(&r);
	hb_log_raw(r.pbuf, hb_progress_done(&r.prog, r.pbuf, sizeof r.pbuf));
	rc = finish(&r, rc);

	hb_reader_free(r.in);
	hb_classifier_free(r.cl);
	hb_alerts_free(r.rules);
	hb_alert_pg_free(r.pg);
	hb_buf_release(&r.ev);
	hb_buf_release(&r.st);
	hb_buf_release(&r.line);
	hb_writer_release(&r.out);
	hb_writer_release(&r.alerts);
	if (in_fd > 0)
		close(in_fd);
	if (r.alerts.fd >= 0)
		close(r.alerts.fd);
	return rc;
}
