#!/usr/bin/env bash
# bench/scale.sh — the scaling curve: consumer throughput with 1, 2 and 3
# consumer pipelines in one group over a 3-partition topic, on 1 broker and
# on 3 brokers (replication factor 3, min.insync.replicas 2).
#
#   BENCH_SCALE_LINES=1000000 bench/scale.sh
#
# The readings are on the topic before the consumers start; the figure is
# readings stored per second from the consumers' start until the last one is
# in PostgreSQL (hb-pipeline workers: hbkafka-sub -A | hbclassify | hbpgload).
# Figures, not assertions.
set -euo pipefail

# shellcheck source=bench/lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
lines=${BENCH_SCALE_LINES:-1000000}

bench_tmp scale
workers=()
cleanup() {
	for w in ${workers[@]+"${workers[@]}"}; do kill -KILL "$w" 2>/dev/null || true; done
	pkill -TERM -f -- "$tmp" 2>/dev/null || true
	for k in k1 k3; do hb-kafka stop --dir "$tmp/$k" >/dev/null 2>&1 || true; done
	hb-pg stop --dir "$tmp/pg" --mode immediate >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT


hb-pg start --dir "$tmp/pg" >"$tmp/pg.env"
set -a
# shellcheck disable=SC1091
. "$tmp/pg.env"
set +a
hbsim --seed 5 --start 2026-11-23T00:00:00Z --count "$lines" --rate 0 --customers 200 -q >"$tmp/readings.ndjson"

echo "hbmon scaling curve — $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(fmt "$lines") readings, 200 customers, 3 partitions"
echo
echo "| brokers | consumer pipelines | readings stored/s | time |"
echo "|---|---|---|---|"
n=0
for brokers in 1 3; do
	HB_KAFKA_JVM_OPTS="-XX:TieredStopAtLevel=4 ${HB_KAFKA_JVM_OPTS:-}" \
		hb-kafka start --dir "$tmp/k$brokers" --brokers "$brokers" >"$tmp/k$brokers.env" 2>/dev/null
	B=$(sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p' "$tmp/k$brokers.env")
	for k in 1 2 3; do
		n=$((n + 1))
		t="scale_$n"
		hb-kafka topic --dir "$tmp/k$brokers" --topic "$t" --partitions 3 2>/dev/null
		hbkafka-pub -q -b "$B" -t "$t" "$tmp/readings.ndjson"
		q 'TRUNCATE heartbeat_records, heartbeat_anomalies, pipeline_metrics; CHECKPOINT'
		workers=()
		s=$(now)
		for i in $(seq 1 "$k"); do
			KAFKA_BOOTSTRAP_SERVERS=$B HB_TOPIC=$t HB_GROUP="g_$t" HB_RUN_DIR="$tmp/run_$n" \
				hb-pipeline worker --id "$i" 2>>"$tmp/workers.log" &
			workers+=($!)
			disown "$!"	# killed at the end: no job report for that
		done
		while [[ $(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)') -lt $lines ]]; do
			sleep 0.2
		done
		e=$(now)
		for w in "${workers[@]}"; do kill -KILL "$w" 2>/dev/null || true; done
		pkill -TERM -f -- "$tmp/run_$n" 2>/dev/null || true
		secs=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }')
		printf '| %s | %s | %s | %s s |\n' "$brokers" "$k" "$(fmt "$(awk -v n="$lines" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')")" "$secs"
	done
	hb-kafka stop --dir "$tmp/k$brokers" >/dev/null 2>&1
done
echo
echo "Each pipeline is hbkafka-sub -A | hbclassify | hbpgload --ack-to, started by hb-pipeline worker;"
echo "the time runs from their start (group join included) to the last row stored."
