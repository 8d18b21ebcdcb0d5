# bench/lib.bash — what the benchmark scripts share; sourced, not run.
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
#   bench_tmp NAME      a scratch directory in $tmp (the servers' user can reach it)
#   bench_tmp_pg NAME   the same, the PostgreSQL started there stopped and $tmp removed at exit
#
# Sets repo, PATH (our bin/ and scripts/ first) and py (Debian's python3,
# which has Debian's psycopg2 and confluent-kafka, whatever python3 comes
# first on PATH).

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="${HB_BIN:-$repo/bin}:$repo/scripts:$PATH"
py=python3
[[ -x /usr/bin/python3 ]] && py=/usr/bin/python3

bench_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/hbmon-$1.XXXXXX")
	chmod 755 "$tmp"
}

# bench_tmp_pg NAME: bench_tmp NAME, and at exit the PostgreSQL of
# $tmp/pg (bench_pg) stopped and $tmp removed; INT and TERM exit 130.
bench_tmp_pg() {
	bench_tmp "$1"
	trap 'hb-pg stop --dir "$tmp/pg" --mode immediate >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM
}

now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { print e - s }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# 1234567 -> 1,234,567
fmt() { awk -v n="$1" 'BEGIN { s = sprintf("%d", n); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) } print s r }'; }
# one value from the database of the PG* variables
q() { psql -X -qAt -v ON_ERROR_STOP=1 -c "$1"; }

# bench_pg [SETTINGS...]: a PostgreSQL in $tmp/pg with fsync and
# synchronous_commit on, as a production server runs (more -c settings in
# the arguments, then HB_PG_OPTS), its PG* variables exported.
bench_pg() {
	HB_PG_OPTS="-c fsync=on -c synchronous_commit=on -c full_page_writes=on $* ${HB_PG_OPTS:-}" \
		hb-pg start --dir "$tmp/pg" >"$tmp/pg.env"
	set -a
	# shellcheck disable=SC1091
	. "$tmp/pg.env"
	set +a
}

# bench_valid C N FILE: N valid readings of C customers, each reading twice
# a second of the readings' clock, classified (the loader's input of
# core.sh and fleet.sh: the same readings for the same fleet)
bench_valid() {
	hbsim --seed 2 --start 2026-11-23T00:00:00Z --count "$2" --rate 0 -n "$1" --clock-rate "$((2 * $1))" \
		--anomaly-rate 0 -q | hbclassify -qq >"$3"
}

# bench_empty: every reading, anomaly, metric and rollup gone, then a
# CHECKPOINT and a sync, so that a run starts from empty tables with the
# last run's writes on disk (not written back by the OS during the next).
bench_empty() {
	q 'TRUNCATE heartbeat_records, heartbeat_anomalies, pipeline_metrics, hb_fold_minute, hb_fold_minute_hr,
	   hb_fold_5min_hr, hb_fold_5min, hb_fold_customer_minute, hb_fold_customer_day, hb_fold_day_first,
	   hb_rollup_pending, hb_rollup_delta; CHECKPOINT' >/dev/null
	sync
}

# bench_kafka: one broker in $tmp/kafka with its optimising JIT on (hb-kafka
# turns it off for a fast start); KAFKA_BOOTSTRAP_SERVERS exported, and in B.
bench_kafka() {
	hb-kafka fetch >/dev/null
	HB_KAFKA_JVM_OPTS="-XX:TieredStopAtLevel=4 ${HB_KAFKA_JVM_OPTS:-}" HB_KAFKA_HEAP=1g \
		hb-kafka start --dir "$tmp/kafka" >"$tmp/kafka.env" 2>/dev/null
	set -a
	# shellcheck disable=SC1091
	. "$tmp/kafka.env"
	set +a
	B=$KAFKA_BOOTSTRAP_SERVERS
}
