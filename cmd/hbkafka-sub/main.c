/* hbkafka-sub — a Kafka topic to NDJSON on stdout, in a consumer group, committing only what is done.
 *
 * The consumer (offsets, acknowledgements, -e, backpressure, the close
 * sequence) is lib/hb_consumer; here: the options, and saying what it says. */
#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_consumer.h"
#include "hb_kafka.h"
#include "hb_log.h"
#include "hb_opt.h"
#include "hb_signal.h"
#include "hb_stats.h"

static void usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f,
"usage: hbkafka-sub [options]\n"
"\n"
"Consume a Kafka topic in a consumer group and write each message value as a\n"
"line of NDJSON on stdout.  Offsets are committed only for messages that are\n"
"done: written out (by default), or acknowledged by the end of the pipeline\n"
"(--ack-from, fed by hbpgload --ack-to) — so a crash anywhere re-delivers,\n"
"and never loses, what was not stored.\n"
"\n"
"  -b, --brokers LIST    bootstrap servers (env KAFKA_BOOTSTRAP_SERVERS,\n"
"                        default localhost:9092)\n"
"  -t, --topic NAME      topic (env HB_TOPIC, default heartbeat-events)\n"
"  -G, --group ID        consumer group (env HB_GROUP, default\n"
"                        heartbeat-consumer-group)\n"
"  -o, --offset WHERE    where to start in each assigned partition: stored\n"
"                        (the group's committed offsets; default, else the\n"
"                        beginning), beginning, end, N (an offset), -N (N from\n"
"                        the end), s@MS (the first message at or after MS,\n"
"                        milliseconds since the epoch)\n"
"  -e, --exit-at-end     exit when every assigned partition reaches the end it\n"
"                        had when we started (so it always ends)\n"
"  -c, --count N         exit after N messages\n"
"  -K, --coords          put the Kafka coordinates in each line as a first\n"
"                        member \"_kafka\":{\"p\":P,\"o\":O,\"l\":LAG}\n"
"  -E, --envelope        write envelopes: {\"topic\",\"partition\",\"offset\",\n"
"                        \"timestamp\",\"key\",\"value\"} (hbkafka-pub -E reads them)\n"
"  -A, --ack-from FILE   read \"PARTITION OFFSET\" acknowledgements from FILE (a\n"
"                        FIFO hbpgload --ack-to writes) and commit only those;\n"
"                        implies --coords\n"
"      --ack-timeout SECS  with -A, how long to wait at the end for the\n"
"                        acknowledgements of what was written (default 60)\n"
"  -X NAME=VALUE         any librdkafka property (repeatable)\n"
"  -F FILE               librdkafka properties file (for secrets)\n"
"  -r, --retry-for SECS  give up (exit 69) when the broker stays unreachable\n"
"                        this long (default 300; 0 = never)\n"
"      --prom-file PATH  write counters in the Prometheus text format to PATH\n"
"                        (atomically, every --metrics-ms) for node_exporter's\n"
"                        textfile collector\n"
"  -m, --metrics-ms MS   how often to write --prom-file (default 2000;\n"
"                        --prom-ms is an older name for it)\n"
"      --max-buffer BYTES  unwritten output before we stop taking messages\n"
"                        (default 8388608; see below)\n"
"      --marks           write control lines among the messages, for\n"
"                        hbclassify: {\"_hb_mark\":\"assigned\"|\"revoked\",\"topic\":T,\n"
"                        \"partition\":P} when a partition is assigned or taken\n"
"                        away, and {\"_hb_mark\":\"caught_up\",...,\"at\":TIME} when\n"
"                        one is at its end, then every second while it stays\n"
"                        there; marks are not messages (not counted, not\n"
"                        committed, not acknowledged)\n"
"      --stats SECONDS   every SECONDS log an INFO line: messages (and with -A\n"
"                        acknowledgements) so far, the rate of messages over\n"
"                        the interval, the lag and the partitions held, also\n"
"                        while none come (0.1-86400; default 0: off)\n"
"  -q, --quiet / -v, --verbose   less / more on stderr (-q: no summary or stats)\n"
"  -h, --help / -V, --version\n"
"\n");
	/* in two strings: C99 promises only 4095 characters for one */
	fprintf(f,
"A value that is not one line of text (it holds a newline, CR or NUL) is\n"
"written as {\"_kafka\":{...,\"b64\":\"...\"}} with its exact bytes, so one\n"
"message is always one line.  A slow reader is waited for: above --max-buffer\n"
"unwritten bytes no more messages are taken; when the reader stays stuck (30 s,\n"
"or a third of max.poll.interval.ms if less) the partitions are paused so the\n"
"consumer can keep polling and stay in its group; they resume below 1/8 of it.\n"
"\n"
"With -A, the end (-e, -c, SIGINT/SIGTERM, or a closed stdout) is a drain:\n"
"stop taking messages, write out what was taken, close stdout so that the\n"
"stages after us see the end of their input and store their last batch, wait\n"
"up to --ack-timeout seconds for the acknowledgement of every message\n"
"written (less, when hbpgload exits first), commit, and leave the group.  A\n"
"drain run from cron therefore leaves its group with nothing to read again.\n"
"Signal hbkafka-sub alone to stop a pipeline cleanly: the stages after it end\n"
"with their input.  A second signal ends it at once, committing nothing more.\n"
"\n"
"Exit status: 0 done (-e, -c, SIGINT/SIGTERM, or a closed stdout) and, with\n"
"-A, every message written acknowledged and committed; 1 failure, or with -A\n"
"messages written but not acknowledged within --ack-timeout (the count is on\n"
"stderr; they were not committed, so the group reads them again); 2 usage or\n"
"configuration (no such topic); 69 broker unreachable for longer than\n"
"--retry-for.\n"
"\n"
"Example:\n"
"  mkfifo acks; hbkafka-sub -A acks | hbclassify | hbpgload --ack-to acks\n");
	exit(status);
}

static void die_usage(const char *msg)
{
	fprintf(stderr, "hbkafka-sub: %s\n", msg);
	exit(HB_EXIT_USAGE);
}

static void parse_opts(int argc, char **argv, struct hb_consumer_opts *o)
{
	enum { OPT_MAXBUF = 256, OPT_PROM, OPT_ACKTIMEOUT, OPT_MARKS, OPT_STATS };
	static const struct option lo[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"group", required_argument, NULL, 'G'},
		{"offset", required_argument, NULL, 'o'},
		{"exit-at-end", no_argument, NULL, 'e'},
		{"count", required_argument, NULL, 'c'},
		{"coords", no_argument, NULL, 'K'},
		{"envelope", no_argument, NULL, 'E'},
		{"ack-from", required_argument, NULL, 'A'},
		{"ack-timeout", required_argument, NULL, OPT_ACKTIMEOUT},
		{"retry-for", required_argument, NULL, 'r'},
		{"max-buffer", required_argument, NULL, OPT_MAXBUF},
		{"prom-file", required_argument, NULL, OPT_PROM},
		{"metrics-ms", required_argument, NULL, 'm'},
		{"prom-ms", required_argument, NULL, 'm'},	/* the older name */
		{"marks", no_argument, NULL, OPT_MARKS},
		{"stats", required_argument, NULL, OPT_STATS},
		HB_OPT_COMMON,
	};
	char err[512];
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, ":b:t:G:o:ec:KEA:X:F:r:m:qvhV", lo, NULL)) != -1) {
		switch (c) {
		case 'b':
		case 'X':
		case 'F':
			if (o->nsets == HB_CONSUMER_MAX_SETS)
				die_usage("too many -b/-X/-F options");
			o->sets[o->nsets].kind = (char)c;
			o->sets[o->nsets++].val = optarg;
			break;
		case 't': o->topic = optarg; break;
		case 'G': o->group = optarg; break;
		case 'o': o->offset = optarg; break;
		case 'e': o->exit_at_end = 1; break;
		case 'c': bad = hb_opt_long("--count", optarg, 1, LONG_MAX, &o->count, err, sizeof err); break;
		case 'K': o->mode = HB_CONSUMER_COORDS; break;
		case 'E': o->mode = HB_CONSUMER_ENVELOPE; break;
		case 'A': o->ack_from = optarg; break;
		case 'r': bad = hb_opt_long("--retry-for", optarg, 0, 31536000, &o->retry_for, err, sizeof err); break;
		case OPT_PROM: o->prom_file = optarg; break;
		case OPT_MARKS: o->marks = 1; break;
		case OPT_STATS: bad = hb_stats_parse("--stats", optarg, &o->stats_us, err, sizeof err); break;
		case OPT_ACKTIMEOUT:
			bad = hb_opt_long("--ack-timeout", optarg, 1, 86400, &o->ack_timeout, err, sizeof err);
			break;
		case 'm': bad = hb_opt_long("--metrics-ms", optarg, 100, 3600000, &o->prom_ms, err, sizeof err); break;
		case OPT_MAXBUF:
			bad = hb_opt_long("--max-buffer", optarg, 65536, 1L << 31, &o->max_buffer, err, sizeof err);
			break;
		case 'q': o->verbosity--; break;
		case 'v': o->verbosity++; break;
		case 'h': usage(0); break;
		case 'V': printf("hbkafka-sub %s (librdkafka %s)\n", HB_VERSION, rd_kafka_version_str()); exit(0);
		default:
			hb_opt_error("hbkafka-sub", c, argv, err, sizeof err);
			die_usage(err);
		}
		if (bad)
			die_usage(err);
	}
	if (optind < argc) {
		snprintf(err, sizeof err, "unexpected argument '%s' (see hbkafka-sub --help)", argv[optind]);
		die_usage(err);
	}
	if (!o->topic)
		o->topic = hb_env("HB_TOPIC", HB_KAFKA_DEFAULT_TOPIC);
	if (!o->group)
		o->group = hb_env("HB_GROUP", HB_KAFKA_DEFAULT_GROUP);
	if (!hb_kafka_topic_valid(o->topic)) {
		snprintf(err, sizeof err, "-t '%s': not a valid topic name ([A-Za-z0-9._-], 1-249)", o->topic);
		die_usage(err);
	}
	if (o->ack_from && o->mode == HB_CONSUMER_ENVELOPE)
		die_usage("--ack-from goes with --coords, not --envelope");
	if (o->ack_from)
		o->mode = HB_CONSUMER_COORDS;
	if (o->marks) {		/* caught_up comes from the partition EOF: last, so it wins */
		if (o->nsets == HB_CONSUMER_MAX_SETS)
			die_usage("too many -b/-X/-F options");
		o->sets[o->nsets++] = (struct hb_kset){ 'X', "enable.partition.eof=true" };
	}
}

/* What the consumer has to say goes to stderr, as any hbmon log line. */
static void note(void *arg, int level, const char *msg)
{
	(void)arg;
	hb_log((enum hb_level)level, "%s", msg);
}

int main(int argc, char **argv)
{
	static struct hb_consumer_opts o = { .count = -1, .retry_for = 300, .max_buffer = 8L << 20,
					     .prom_ms = 2000, .ack_timeout = 60, .verbosity = HB_LOG_INFO };
	struct hb_consumer *c;
	struct hb_consumer_totals t;
	int64_t off, ts;
	int rc;

	hb_log_init("hbkafka-sub", o.verbosity);
	parse_opts(argc, argv, &o);
	hb_log_init("hbkafka-sub", o.verbosity);
	if (hb_kafka_parse_offset(o.offset, &off, &ts) < 0) {
		fprintf(stderr, "hbkafka-sub: -o '%s': want stored, beginning, end, N, -N or s@MS\n", o.offset);
		return HB_EXIT_USAGE;
	}
	if (hb_signal_setup() < 0) {
		hb_log(HB_LOG_ERROR, "cannot install signal handlers: %s", strerror(errno));
		return HB_EXIT_FAIL;
	}
	if (!(c = hb_consumer_new(&o, note, NULL, &rc)))
		return rc;
	rc = hb_consumer_run(c);
	hb_consumer_totals(c, &t);
	if (!t.reader_gone || rc || t.acked)
		hb_log(HB_LOG_INFO, "%s messages=%llu bytes=%llu acks=%llu unacknowledged=%lld errors=%llu "
		       "seconds=%.3f messages_per_s=%.0f", rc ? "failed" : hb_stop ? "stopped" : "done",
		       (unsigned long long)t.messages, (unsigned long long)t.bytes,
		       (unsigned long long)t.acks, (long long)t.unacked, (unsigned long long)t.errors,
		       t.seconds, t.seconds > 0 ? (double)t.messages / t.seconds : 0.0);
	hb_consumer_free(c);
	return rc;
}
