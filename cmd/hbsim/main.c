/* hbsim — synthetic heart-rate readings as NDJSON on stdout. */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hb_io.h"
#include "hb_log.h"
#include "hb_opt.h"
#include "hb_signal.h"
#include "hb_sim.h"
#include "hb_time.h"

/* With --rate 0 the virtual clock still needs a step: the default rate's. */
#define DEFAULT_RATE 40.0

struct opts {
	long customers;
	double rate;
	double clock_rate;      /* readings per second of the virtual clock, 0: --rate's */
	long long count;        /* -1: no limit */
	double duration;        /* seconds, < 0: no limit */
	int has_seed;
	uint64_t seed;
	int has_start;
	int64_t start_us;
	double anomaly_rate, invalid_rate, malformed_rate;
	double silence_rate, shift_rate;
	const char *truth;      /* --truth FILE, or NULL */
	int verbosity;
};

static void usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f,
"usage: hbsim [options]\n"
"\n"
"Write synthetic heart-rate readings as NDJSON on stdout, one per line:\n"
"  {\"customer_id\":\"CUST_00042\",\"timestamp\":\"2026-11-23T10:00:00.500Z\",\"heart_rate\":73}\n"
"Each customer has a resting baseline (60-90 bpm), a daily rhythm, a smooth\n"
"drift and noise; anomalies come as episodes of bradycardia (15-39 bpm) or\n"
"tachycardia (181-220 bpm).  Customers take turns, so with the defaults each\n"
"one reads every 0.5 s.\n"
"\n"
"  -n, --customers N        customers CUST_00001.. (default 20)\n"
"      --rate R             readings per second over all customers (default 40);\n"
"                           0 = as fast as possible\n"
"  -c, --count N            stop after N readings\n"
"      --duration SECONDS   stop after this long (of the readings' clock)\n"
"      --seed N             random seed (default: from the clock; the summary\n"
"                           on stderr says which, to run it again)\n"
"      --start TIME         RFC 3339 time of the first reading: a virtual clock,\n"
"                           readings 1/R s apart (1/40 s with --rate 0); with\n"
"                           --seed the output is the same byte for byte.  A\n"
"                           rate above 0 still paces the output in real time\n"
"      --clock-rate R       readings per second on the virtual clock of --start\n"
"                           (default: --rate, or 40 with --rate 0); with --rate 0\n"
"                           a day of 1,000 customers at 1 Hz comes in seconds\n"
"      --anomaly-rate P     share of readings in anomaly episodes (default 0.05)\n"
"      --invalid-rate P     share of readings that are JSON but invalid (default 0)\n"
"      --malformed-rate P   share of lines that are not JSON at all (default 0)\n"
"      --silence-rate P     share of each customer's turns in which it sends\n"
"                           nothing: silences of 5-300 s, 0 <= P < 1 (default 0)\n"
"      --shift-rate P       share of each customer's time with its heart rate\n"
"                           moved 25-40 bpm up or down for 10-60 min, still\n"
"                           NORMAL; 0 <= P < 1 (default 0)\n"
"      --truth FILE         write one NDJSON line per injected event to FILE\n"
"                           (BRADYCARDIA, TACHYCARDIA, SILENCE, SHIFT; see the\n"
"                           man page), each when it ends, the rest at the end\n"
"                           with \"cut\":true\n"
"  -q, --quiet              no summary on stderr (-qq: errors only)\n"
"  -v, --verbose            more on stderr\n"
"  -h, --help / -V, --version\n"
"\n"
"A short letter means one thing across hbmon's programs: hbsim takes no -r, -d,\n"
"-s or -a (they mean retry, database, strict and alerts there); spell those long.\n"
"\n"
"Without --start the readings carry the wall-clock time they were written at.\n"
"--count counts lines written; a silent turn takes its time but is no line.\n"
"Without --count or --duration it runs until SIGINT/SIGTERM, then exits 0.\n"
"Exit status: 0 done, 1 write error, 2 usage or a --truth FILE that cannot\n"
"be opened.\n"
"\n"
"Example:\n"
"  hbsim --seed 7 --start 2026-11-23T10:00:00Z --count 100000 --rate 0 | hbclassify -qq\n");
	exit(status);
}

static void die_usage(const char *msg)
{
	fprintf(stderr, "hbsim: %s\n", msg);
	exit(HB_EXIT_USAGE);
}

/* A share in [0,1): all of the time silent or shifted has no meaning. */
static int opt_share(const char *name, const char *arg, double *out, char *err, size_t en)
{
	if (hb_opt_double(name, arg, 0, 1, out, err, en) < 0)
		return -1;
	if (*out < 1)
		return 0;
	snprintf(err, en, "%s: want a share from 0 to below 1: '%s'", name, arg);
	return -1;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	enum { OPT_START = 256, OPT_INVALID, OPT_MALFORMED, OPT_CLOCK_RATE, OPT_SILENCE, OPT_SHIFT,
	       OPT_TRUTH, OPT_RATE, OPT_DURATION, OPT_SEED, OPT_ANOMALY };
	/* Letters that mean something else across hbmon (hb_opt.h). */
	static const struct hb_opt_drop drops[] = {
		{'r', "--rate"}, {'d', "--duration"}, {'s', "--seed"}, {'a', "--anomaly-rate"}, {0, NULL},
	};
	static const struct option lo[] = {
		{"customers", required_argument, NULL, 'n'},
		{"rate", required_argument, NULL, OPT_RATE},
		{"count", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"seed", required_argument, NULL, OPT_SEED},
		{"start", required_argument, NULL, OPT_START},
		{"clock-rate", required_argument, NULL, OPT_CLOCK_RATE},
		{"anomaly-rate", required_argument, NULL, OPT_ANOMALY},
		{"invalid-rate", required_argument, NULL, OPT_INVALID},
		{"malformed-rate", required_argument, NULL, OPT_MALFORMED},
		{"silence-rate", required_argument, NULL, OPT_SILENCE},
		{"shift-rate", required_argument, NULL, OPT_SHIFT},
		{"truth", required_argument, NULL, OPT_TRUTH},
		HB_OPT_COMMON,
	};
	char err[256], *end;
	long v;
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, ":n:c:qvhV", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			bad = hb_opt_long("--customers", optarg, 1, 10000000, &o->customers, err, sizeof err);
			break;
		case OPT_RATE: bad = hb_opt_double("--rate", optarg, 0, 1e9, &o->rate, err, sizeof err); break;
		case 'c':
			bad = hb_opt_long("--count", optarg, 0, LONG_MAX, &v, err, sizeof err);
			o->count = v;
			break;
		case OPT_DURATION:
			bad = hb_opt_double("--duration", optarg, 0, 1e9, &o->duration, err, sizeof err);
			break;
		case OPT_SEED:
			errno = 0;
			o->seed = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || optarg[0] == '-')
				die_usage("--seed: want a whole number from 0 to 18446744073709551615");
			o->has_seed = 1;
			break;
		case OPT_START:
			if (hb_time_parse(optarg, strlen(optarg), &o->start_us, err, sizeof err) < 0) {
				fprintf(stderr, "hbsim: --start '%s': %s\n", optarg, err);
				exit(HB_EXIT_USAGE);
			}
			o->has_start = 1;
			break;
		case OPT_CLOCK_RATE:
			bad = hb_opt_double("--clock-rate", optarg, 0.000001, 1e9, &o->clock_rate, err, sizeof err);
			break;
		case OPT_ANOMALY: bad = hb_opt_double("--anomaly-rate", optarg, 0, 1, &o->anomaly_rate, err, sizeof err); break;
		case OPT_INVALID: bad = hb_opt_double("--invalid-rate", optarg, 0, 1, &o->invalid_rate, err, sizeof err); break;
		case OPT_MALFORMED: bad = hb_opt_double("--malformed-rate", optarg, 0, 1, &o->malformed_rate, err, sizeof err); break;
		case OPT_SILENCE: bad = opt_share("--silence-rate", optarg, &o->silence_rate, err, sizeof err); break;
		case OPT_SHIFT: bad = opt_share("--shift-rate", optarg, &o->shift_rate, err, sizeof err); break;
		case OPT_TRUTH: o->truth = optarg; break;
		case 'q': o->verbosity--; break;
		case 'v': o->verbosity++; break;
		case 'h': usage(0); break;
		case 'V': printf("hbsim %s\n", HB_VERSION); exit(0);
		default:
			if (!hb_opt_dropped("hbsim", c, optopt, drops, err, sizeof err))
				hb_opt_error("hbsim", c, argv, err, sizeof err);
			fprintf(stderr, "hbsim: %s\n", err);
			exit(HB_EXIT_USAGE);
		}
		if (bad)
			die_usage(err);
	}
	if (optind < argc)
		die_usage("no arguments expected (see --help)");
	if (o->invalid_rate + o->malformed_rate > 1)
		die_usage("--invalid-rate plus --malformed-rate must not exceed 1");
	if (o->clock_rate > 0 && !o->has_start)
		die_usage("--clock-rate needs --start (the wall clock has its own pace)");
}

struct run {
	struct opts *o;
	struct hb_sim *sim;
	struct hb_writer out;
	uint64_t n;             /* readings written */
	uint64_t slot;          /* slots stepped: readings and silent slots */
	uint64_t kinds[HB_SIM_KINDS];
	FILE *truth;            /* --truth, or NULL */
	struct hb_buf tbuf;     /* truth lines not yet handed to stdio */
	uint64_t truth_lines;
	int64_t t0_mono, last_ts;
};

/* Time of slot i: the virtual clock, or the wall clock kept strictly increasing. */
static int64_t stamp(struct run *r, uint64_t i)
{
	double rate = r->o->clock_rate > 0 ? r->o->clock_rate
		    : r->o->rate > 0 ? r->o->rate : DEFAULT_RATE;
	int64_t ts;

	if (r->o->has_start)
		return r->o->start_us + (int64_t)((double)i * 1e6 / rate);
	ts = hb_time_now_us();
	if (ts <= r->last_ts)
		ts = r->last_ts + 1;
	r->last_ts = ts;
	return ts;
}

static int done(const struct run *r, int64_t next_ts)
{
	const struct opts *o = r->o;

	if (o->count >= 0 && r->n >= (uint64_t)o->count)
		return 1;
	if (o->duration >= 0) {
		if (o->has_start)
			return next_ts >= o->start_us + (int64_t)(o->duration * 1e6);
		return hb_time_mono_us() - r->t0_mono >= (int64_t)(o->duration * 1e6);
	}
	return 0;
}

static void sleep_until_mono(int64_t us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);	/* EINTR: the loop checks hb_stop */
}

/* Hand the truth lines gathered so far to stdio (write errors: seen at fclose). */
static void truth_out(struct run *r)
{
	if (!r->truth)
		return;
	for (const char *p = r->tbuf.p, *e = p + r->tbuf.len; p < e; p++)
		r->truth_lines += *p == '\n';
	fwrite(r->tbuf.p, 1, r->tbuf.len, r->truth);
	hb_buf_reset(&r->tbuf);
}

/* Write readings (slots) until done; pace the slots when --rate > 0. */
static int run_loop(struct run *r)
{
	const double rate = r->o->rate;

	while (!hb_stop) {
		uint64_t due = UINT64_MAX;

		if (rate > 0) {
			int64_t el = hb_time_mono_us() - r->t0_mono;

			due = (uint64_t)((double)el * rate / 1e6) + 1;
			if (r->slot >= due) {
				int64_t at = r->t0_mono + (int64_t)((double)r->slot * 1e6 / rate);

				if (hb_writer_flush(&r->out) < 0)
					break;
				if (r->truth)
					fflush(r->truth);	/* errors: seen by fclose */
				/* above 1,000 readings/s, wake at most once a millisecond
				 * and write what is due then: a wake-up per reading would
				 * cost more than the readings (each still carries the time
				 * it is written at) */
				if (rate > 1000 && at < r->t0_mono + el + 1000)
					at = r->t0_mono + el + 1000;
				sleep_until_mono(at);
				continue;
			}
		}
		for (uint64_t k = 0; k < 4096 && r->slot < due && !hb_stop; k++) {
			int64_t ts = stamp(r, r->slot);
			enum hb_sim_kind kind;

			if (done(r, ts))
				return hb_writer_flush(&r->out);
			kind = hb_sim_step(r->sim, r->slot++, ts, &r->out.buf, r->truth ? &r->tbuf : NULL);
			r->kinds[kind]++;
			r->n += kind != HB_SIM_SILENT;
		}
		truth_out(r);
		if (hb_buf_oom(&r->out.buf) || hb_writer_maybe_flush(&r->out) < 0)
			break;
	}
	return hb_writer_flush(&r->out);
}

/* --truth FILE: created or truncated now, so a bad path is a usage error. */
static void open_truth(struct run *r)
{
	if (!r->o->truth)
		return;
	r->truth = fopen(r->o->truth, "w");
	if (!r->truth) {
		fprintf(stderr, "hbsim: cannot open --truth %s: %s\n", r->o->truth, strerror(errno));
		exit(HB_EXIT_USAGE);
	}
}

/* The events still running, then close; 0 or -1 (said on stderr). */
static int close_truth(struct run *r)
{
	int bad;

	if (!r->truth)
		return 0;
	hb_sim_finish(r->sim, &r->tbuf);
	truth_out(r);
	bad = hb_buf_oom(&r->tbuf) || ferror(r->truth);
	errno = 0;
	if (fclose(r->truth) != 0 || bad) {
		hb_log(HB_LOG_ERROR, "write error on --truth %s: %s", r->o->truth,
		       errno ? strerror(errno) : "out of memory");
		return -1;
	}
	return 0;
}

static void log_summary(const struct run *r, int rc, double secs)
{
	char truth[48] = "";

	if (r->out.err == EPIPE || !hb_log_enabled(HB_LOG_INFO))
		return;
	if (r->truth)
		snprintf(truth, sizeof truth, " truth=%llu", (unsigned long long)r->truth_lines);
	hb_log(HB_LOG_INFO, "%s readings=%llu normal=%llu bradycardia=%llu tachycardia=%llu "
	       "invalid=%llu malformed=%llu silent=%llu%s seed=%llu seconds=%.3f",
	       rc ? "failed" : hb_stop ? "stopped" : "done", (unsigned long long)r->n,
	       (unsigned long long)r->kinds[HB_SIM_NORMAL], (unsigned long long)r->kinds[HB_SIM_BRADY],
	       (unsigned long long)r->kinds[HB_SIM_TACHY], (unsigned long long)r->kinds[HB_SIM_INVALID],
	       (unsigned long long)r->kinds[HB_SIM_MALFORMED], (unsigned long long)r->kinds[HB_SIM_SILENT],
	       truth, (unsigned long long)r->o->seed, secs);
}

int main(int argc, char **argv)
{
	struct opts o = { .customers = 20, .rate = DEFAULT_RATE, .count = -1, .duration = -1,
			  .anomaly_rate = 0.05, .verbosity = HB_LOG_INFO };
	struct run r = { .o = &o, .out = { .fd = 1 }, .last_ts = INT64_MIN };
	struct hb_sim_config cfg;
	int rc = HB_EXIT_OK;

	hb_log_init("hbsim", o.verbosity);
	parse_opts(argc, argv, &o);
	hb_log_init("hbsim", o.verbosity);
	if (!o.has_seed) {
		uint64_t st = (uint64_t)hb_time_now_us() ^ ((uint64_t)getpid() << 32);

		o.seed = hb_splitmix64(&st);
	}
	cfg = (struct hb_sim_config){ .customers = (unsigned)o.customers, .seed = o.seed,
		.anomaly_rate = o.anomaly_rate, .invalid_rate = o.invalid_rate,
		.malformed_rate = o.malformed_rate, .silence_rate = o.silence_rate,
		.shift_rate = o.shift_rate };
	open_truth(&r);
	if (hb_signal_setup() < 0 || !(r.sim = hb_sim_new(&cfg))) {
		hb_log(HB_LOG_ERROR, "cannot start: %s", strerror(errno));
		return HB_EXIT_FAIL;
	}
	hb_log(HB_LOG_DEBUG, "start seed=%llu customers=%ld rate=%g", (unsigned long long)o.seed,
	       o.customers, o.rate);
	r.t0_mono = hb_time_mono_us();

	if (run_loop(&r) < 0 || hb_buf_oom(&r.out.buf)) {
		if (r.out.err != EPIPE) {
			hb_log(HB_LOG_ERROR, "write error on stdout: %s",
			       r.out.err ? strerror(r.out.err) : "out of memory");
			rc = HB_EXIT_FAIL;
		}
	}
	if (close_truth(&r) < 0)
		rc = HB_EXIT_FAIL;
	log_summary(&r, rc, (double)(hb_time_mono_us() - r.t0_mono) / 1e6);
	hb_sim_free(r.sim);
	hb_buf_release(&r.tbuf);
	hb_writer_release(&r.out);
	return rc;
}
