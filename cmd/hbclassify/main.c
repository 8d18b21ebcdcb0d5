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
#include "hb_classify.h"
#include "hb_event.h"
#include "hb_io.h"
#include "hb_json.h"
#include "hb_log.h"
#include "hb_opt.h"
#include "hb_progress.h"
#include "hb_signal.h"
#include "hb_time.h"

struct opts {
	struct hb_thresholds th;
	int strict;
	int verbosity;
	long max_line;
	long alert_gap;
	const char *alerts;
	const char *input;
};

struct run {
	struct opts *o;
	struct hb_reader *in;
	struct hb_writer out;
	struct hb_writer alerts;
	struct hb_alerts *episodes;
	uint64_t alerts_written;
	struct hb_classifier *cl;
	struct hb_progress prog;
	uint64_t count[HB_STATUS_COUNT];
	uint64_t lines;
	int64_t t0;
};

static void usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f,
"usage: hbclassify [options] [FILE]\n"
"\n"
"Read heart-rate readings as NDJSON (FILE or stdin), write each one with\n"
"\"status\" added: NORMAL, BRADYCARDIA, TACHYCARDIA or INVALID.  Every input\n"
"line gives exactly one output line, whatever it contains; INVALID lines also\n"
"get \"reason\" and \"raw\" (the input line, JSON-escaped).  Unknown fields are\n"
"passed through byte for byte.  Each non-NORMAL reading is logged as a\n"
"WARNING line on stderr; --alerts writes one NDJSON alert per anomaly\n"
"episode instead (see below).\n"
"\n"
"  -b, --brady N        below N bpm is BRADYCARDIA (default 40)\n"
"  -T, --tachy N        above N bpm is TACHYCARDIA (default 180)\n"
"      --min N          below N bpm is INVALID, implausible (default 1)\n"
"      --max N          above N bpm is INVALID, implausible (default 300)\n"
"  -s, --strict         stop at the first INVALID line: error on stderr, exit 65\n"
"  -a, --alerts FILE    append one alert per anomaly episode to FILE (or FIFO),\n"
"                       as NDJSON; no WARNING line per reading then\n"
"      --alert-gap SECS an episode ends after SECS of reading time without an\n"
"                       anomalous reading of that customer (default 60)\n"
"      --max-line BYTES lines longer than this are INVALID, cut (default 1048576)\n"
"  -q, --quiet          less on stderr (-q: no summary, -qq: no WARNING alerts\n"
"                       either; --alerts gets every alert regardless)\n"
"  -v, --verbose        more on stderr\n"
"  -h, --help           this help\n"
"  -V, --version        version\n"
"\n"
"INVALID lines carry \"raw_base64\" (the exact bytes) when the input was not\n"
"UTF-8, and lines cut at --max-line keep a 1 KiB excerpt in \"raw\" with their\n"
"true length in \"raw_length\".  Classifying output again changes nothing.\n"
"\n"
"An episode is a run of one customer's BRADYCARDIA (or TACHYCARDIA) readings.\n"
"It ends at the customer's next reading of another status, after --alert-gap\n"
"seconds of reading time (the readings' timestamps: a replay gives the same\n"
"alerts), or at the end of the input.  Its alert, written when it ends:\n"
"  {\"alert\":\"TACHYCARDIA\",\"customer_id\":\"CUST_00003\",\"start\":\"...\",\n"
"   \"end\":\"...\",\"duration_s\":12.500,\"peak_bpm\":203,\"peak_at\":\"...\",\n"
"   \"readings\":26,\"ended_by\":\"NORMAL\"}    (ended_by: a status, \"gap\" or\n"
"\"end of stream\").  INVALID lines are not episodes: they go to the audit trail.\n"
"\n"
"Exit status: 0 done (also after SIGINT/SIGTERM or a closed stdout), 1 read\n"
"or write error, 2 usage or a FILE/--alerts that cannot be opened,\n"
"65 an INVALID line under --strict.\n"
"\n"
"Example:\n"
"  hbsim --count 1000 --rate 0 | hbclassify -qq | jq -c 'select(.status != \"NORMAL\")'\n");
	exit(status);
}

static void die_usage(const char *msg)
{
	fprintf(stderr, "hbclassify: %s\n", msg);
	exit(HB_EXIT_USAGE);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	enum { OPT_MIN = 256, OPT_MAX, OPT_MAXLINE, OPT_GAP };
	static const struct option lo[] = {
		{"brady", required_argument, NULL, 'b'},
		{"tachy", required_argument, NULL, 'T'},
		{"min", required_argument, NULL, OPT_MIN},
		{"max", required_argument, NULL, OPT_MAX},
		{"strict", no_argument, NULL, 's'},
		{"alerts", required_argument, NULL, 'a'},
		{"alert-gap", required_argument, NULL, OPT_GAP},
		{"max-line", required_argument, NULL, OPT_MAXLINE},
		HB_OPT_COMMON,
	};
	char err[256];
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, ":b:T:sa:qvhV", lo, NULL)) != -1) {
		switch (c) {
		case 'b': bad |= hb_opt_long("--brady", optarg, 0, 100000, &o->th.brady, err, sizeof err); break;
		case 'T': bad |= hb_opt_long("--tachy", optarg, 0, 100000, &o->th.tachy, err, sizeof err); break;
		case OPT_MIN: bad |= hb_opt_long("--min", optarg, 0, 100000, &o->th.min, err, sizeof err); break;
		case OPT_MAX: bad |= hb_opt_long("--max", optarg, 0, 100000, &o->th.max, err, sizeof err); break;
		case OPT_MAXLINE:
			bad |= hb_opt_long("--max-line", optarg, 256, 1L << 30, &o->max_line, err, sizeof err);
			break;
		case OPT_GAP:
			bad |= hb_opt_long("--alert-gap", optarg, 1, 86400 * 365, &o->alert_gap, err, sizeof err);
			break;
		case 's': o->strict = 1; break;
		case 'a': o->alerts = optarg; break;
		case 'q': o->verbosity--; break;
		case 'v': o->verbosity++; break;
		case 'h': usage(0); break;
		case 'V': printf("hbclassify %s\n", HB_VERSION); exit(0);
		default:
			hb_opt_error("hbclassify", c, argv, err, sizeof err);
			bad = 1;
		}
		if (bad)
			die_usage(err);
	}
	if (hb_opt_input(argc, argv, optind, &o->input, err, sizeof err) < 0 ||
	    hb_thresholds_check(&o->th, err, sizeof err) < 0)
		die_usage(err);
}

static void flush_out(void *arg)
{
	struct run *r = arg;

	hb_writer_flush(&r->out);
	if (r->alerts.fd >= 0)
		hb_writer_flush(&r->alerts);
}

/* Feed the episodes (--alerts); returns -1 when out of memory. */
static int episode(struct run *r, const struct hb_verdict *v)
{
	const struct hb_event *ev = v->ev;
	int n;

	if (v->status == HB_INVALID || !ev)
		return 0;
	n = hb_alerts_reading(r->episodes, ev->cid.p, ev->cid.n, ev->ts_us, v->status, ev->hr,
			      &r->alerts.buf);
	if (n < 0)
		return -1;
	if (n > 0) {
		r->alerts_written += (uint64_t)n;
		hb_writer_maybe_flush(&r->alerts);
	}
	return 0;
}

/* A WARNING line per anomalous or invalid reading (without --alerts). */
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
		if (!r->episodes)
			warn_line(&v, ln->no);
	}
	if (r->episodes && episode(r, &v) < 0) {
		hb_log(HB_LOG_ERROR, "out of memory at line %llu (alert episodes)", (unsigned long long)ln->no);
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

static int run_loop(struct run *r)
{
	struct hb_line ln;
	int rc;

	while (!hb_stop) {
		enum hb_rd k = hb_reader_next(r->in, -1, &ln);

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
		if (hb_line_torn(&ln)) {
			hb_log(HB_LOG_WARNING, "line %llu: a torn last line from a stage that died "
			       "(Kafka delivers its message again): not classified",
			       (unsigned long long)ln.no);
			continue;
		}
		if ((rc = one_line(r, &ln)) >= 0)
			return rc;
		if ((r->lines & 0xFFFF) == 0)
			hb_progress_tick(&r->prog, r->lines);
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
	static char kv[40];

	if (!r->episodes)
		return "";
	snprintf(kv, sizeof kv, " alerts=%llu", (unsigned long long)r->alerts_written);
	return kv;
}

static int finish(struct run *r, int rc)
{
	double secs = (double)(hb_time_mono_us() - r->t0) / 1e6;

	if (hb_writer_flush(&r->out) < 0 && r->out.err != EPIPE) {
		hb_log(HB_LOG_ERROR, "write error on stdout: %s", strerror(r->out.err));
		rc = HB_EXIT_FAIL;
	}
	if (r->episodes) {
		int n = hb_alerts_flush(r->episodes, &r->alerts.buf);

		if (n < 0) {
			hb_log(HB_LOG_ERROR, "out of memory (alert episodes)");
			rc = rc ? rc : HB_EXIT_FAIL;
		} else {
			r->alerts_written += (uint64_t)n;
		}
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
	struct opts o = { .th = HB_THRESHOLDS_DEFAULT, .verbosity = HB_LOG_INFO,
			  .max_line = HB_MAX_LINE_DEFAULT, .alert_gap = 60 };
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
	r.cl = hb_classifier_new(&o.th);
	if (o.alerts)
		r.episodes = hb_alerts_new(o.alert_gap * 1000000LL);
	if (!r.in || !r.cl || (o.alerts && !r.episodes)) {
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

	rc = run_loop(&r);
	hb_progress_done(&r.prog);
	rc = finish(&r, rc);

	hb_reader_free(r.in);
	hb_classifier_free(r.cl);
	hb_alerts_free(r.episodes);
	hb_writer_release(&r.out);
	hb_writer_release(&r.alerts);
	if (in_fd > 0)
		close(in_fd);
	if (r.alerts.fd >= 0)
		close(r.alerts.fd);
	return rc;
}
