#!/usr/bin/env bash
# bench/latency.sh — how long a reading takes from hbsim to a committed row,
# and where the time goes, on one broker and a PostgreSQL with fsync and
# synchronous_commit on (the way a production server runs):
#
#   hbsim --rate R | hbkafka-pub          -> topic (LogAppendTime)
#   hbkafka-sub -A | tap | hbclassify | tap | hbpgload --ack-to
#
# (tap: bench/latency_tap.c, a pass-through that notes when each line went by)
#
# at 100, 1,000 and 10,000 readings/s, after the consumer has joined, and
# once more from a cold start (the consumer pipeline and the producer start
# together: the group join is in it).  The latency of a reading is its
# PostgreSQL commit time (track_commit_timestamp) minus its timestamp;
# bench/latency.py joins every clock and prints the stages' shares.
#
#   BENCH_LATENCY_RATES="100 1000 10000" BENCH_LATENCY_SECONDS=30 bench/latency.sh
#
# Figures, not assertions.
set -euo pipefail

# shellcheck source=bench/lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
rates=${BENCH_LATENCY_RATES:-100 1000 10000}
secs=${BENCH_LATENCY_SECONDS:-30}

bench_tmp latency
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	hb-kafka stop --dir "$tmp/kafka" >/dev/null 2>&1 || true
	hb-pg stop --dir "$tmp/pg" --mode immediate >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_pg -c track_commit_timestamp=on
bench_kafka

# wait up to $1 s for the command in the rest to succeed
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.05
	done
}
stored() { q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)'; }
stored_at_least() { (($(stored) >= $1)); }
joined() { grep -qs 'assigned' "$1"; }

# The consumer pipeline on topic $1, group $2; taps in $3.
start_pipeline() {
	local dir=$3
	mkdir -p "$dir"
	mkfifo "$dir/acks" "$dir/sub.out"
	hbkafka-sub -b "$B" -t "$1" -G "$2" -A "$dir/acks" >"$dir/sub.out" 2>"$dir/sub.log" &
	sub=$!
	pids+=("$sub")
	"$tmp/tap" "$dir/tap1.tsv" <"$dir/sub.out" |
		hbclassify -qq |
		"$tmp/tap" "$dir/tap2.tsv" |
		hbpgload -q --ack-to "$dir/acks" -i "latency" 2>"$dir/load.log" &
	rest=$!
	pids+=("$rest")
}

stop_pipeline() {
	local dir=$1
	kill -TERM "$sub"
	wait "$sub" || true
	wait "$rest" || true
	wait_until 30 test -e "$dir/tap1.tsv.done"
	wait_until 30 test -e "$dir/tap2.tsv.done"
}

n=0
new_topic() {
	n=$((n + 1))
	t="latency_$n"
	hb-kafka topic --dir "$tmp/kafka" --topic "$t" --partitions 3 \
		--config message.timestamp.type=LogAppendTime 2>/dev/null
}

analyse() {
	local label=$1 dir=$2
	hbkafka-sub -q -b "$B" -t "$t" -G "dump_$n" -E -e >"$dir/env.ndjson"
	"$py" "$repo/bench/latency.py" --label "$label" --envelopes "$dir/env.ndjson" \
		--tap-sub "$dir/tap1.tsv" --tap-classify "$dir/tap2.tsv" --worst "${BENCH_LATENCY_WORST:-0}"
}

cc -O2 -o "$tmp/tap" "$repo/bench/latency_tap.c"

echo "hbmon latency — $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores; Apache Kafka (1 broker, KRaft); PostgreSQL $(q 'SHOW server_version'):" \
	"fsync $(q 'SHOW fsync'), synchronous_commit $(q 'SHOW synchronous_commit')"
hbkafka-pub --version
echo

# warm up the broker and the tables (JIT, first connections)
new_topic
hbsim --rate 0 --count 20000 -q | hbkafka-pub -q -b "$B" -t "$t"
hbkafka-sub -q -b "$B" -t "$t" -G warm -e | hbclassify -qq | hbpgload -q -i warm

echo "| what | readings | p50 | p99 | max | each stage: mean (share of the mean) |"
echo "|---|---|---|---|---|---|"

# the cold start: pipeline and producer start together, fresh group
q 'TRUNCATE heartbeat_records, heartbeat_anomalies' >/dev/null
new_topic
d="$tmp/cold"
s=$(now)
start_pipeline "$t" "cold_$n" "$d"
hbsim --rate 100 --count 300 -q | hbkafka-pub -q -b "$B" -t "$t"
wait_until 60 stored_at_least 300
stop_pipeline "$d"
first=$(q "SELECT round(extract(epoch FROM min(pg_xact_commit_timestamp(xmin))) * 1000) FROM heartbeat_records")
analyse "cold start, 100 readings/s for 3 s (first commit $(awk -v s="$s" -v f="$first" 'BEGIN { printf "%.0f", f - s * 1000 }') ms after the start)" "$d"

# Steady state: the consumer has joined and the producer is connected (a
# warm-up reading went through) before hbsim starts; the warm-up reading is
# left out of the figures.
for r in $rates; do
	q 'TRUNCATE heartbeat_records, heartbeat_anomalies' >/dev/null
	new_topic
	d="$tmp/rate_$r"
	start_pipeline "$t" "lat_$r" "$d"
	wait_until 60 joined "$d/sub.log"
	mkfifo "$d/pub.in"
	hbkafka-pub -q -b "$B" -t "$t" <"$d/pub.in" &
	pub=$!
	pids+=("$pub")
	exec 7>"$d/pub.in"
	printf '{"customer_id":"WARMUP","timestamp":"%s","heart_rate":70}\n' "$(date -u +%FT%T.%6NZ)" >&7
	wait_until 60 stored_at_least 1
	count=$((r * secs))
	hbsim --rate "$r" --count "$count" -q >&7
	exec 7>&-
	wait "$pub"
	wait_until 120 stored_at_least $((count + 1))
	stop_pipeline "$d"
	q "DELETE FROM heartbeat_records WHERE customer_id = 'WARMUP'" >/dev/null
	analyse "$(fmt "$r") readings/s for $secs s" "$d"
done
echo
echo "latency: PostgreSQL commit time (track_commit_timestamp) minus the reading's timestamp (hbsim's wall clock);"
echo "fsync and synchronous_commit on; one consumer pipeline with acknowledgements (-A / --ack-to)."
