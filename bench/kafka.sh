#!/usr/bin/env bash
# bench/kafka.sh — the Kafka leg measured side by side with kcat, in one run,
# on one broker (started here, single node, KRaft) and one PostgreSQL:
#
#   hbkafka-pub vs kcat -P     1,000,000 readings, acks=all, idempotence, lz4, linger.ms=5 on both
#   hbkafka-sub vs kcat -C -e  the same 1,000,000 messages, to /dev/null
#   hbsim -> Kafka -> hbpgload  end to end, readings/s until all are stored
#   the same with the Python pipeline people write (bench/py_pipeline.py:
#     confluent-kafka + psycopg2 execute_values, offsets committed after the rows)
#   peak RSS of hbkafka-pub, hbkafka-sub, hbclassify, hbpgload end to end
#
#   BENCH_LINES=1000000 BENCH_RUNS=3 bench/kafka.sh
#
# PostgreSQL runs with fsync and synchronous_commit on.  The latency is
# bench/latency.sh's.  Figures, not assertions.
set -euo pipefail

# shellcheck source=bench/lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
lines=${BENCH_LINES:-1000000}
runs=${BENCH_RUNS:-3}

bench_tmp bench
cleanup() {
	pkill -TERM -f -- "$tmp" 2>/dev/null || true
	hb-kafka stop --dir "$tmp/kafka" >/dev/null 2>&1 || true
	hb-pg stop --dir "$tmp/pg" --mode immediate >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT


bench_pg
bench_kafka
n=0
# a fresh topic in $t (not in $(...): the counter must survive)
topic() { n=$((n + 1)); t="bench_$n"; hb-kafka topic --dir "$tmp/kafka" --topic "$t" --partitions 3 2>/dev/null; }

echo "hbmon Kafka benchmark — $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); Apache Kafka 3.9 (1 broker, KRaft), PostgreSQL $(psql -X -qAt -c 'SHOW server_version')"
echo "$(hbkafka-pub --version); kcat $(kcat -V 2>&1 | grep -o "Version [^ ]*" | head -n 1 | cut -d" " -f2)"
echo

hbsim --seed 1 --start 2026-11-23T00:00:00Z --count "$lines" --rate 0 -q >"$tmp/readings.ndjson"
props=(-X enable.idempotence=true -X acks=all -X compression.codec=lz4 -X linger.ms=5)

# warm the broker up (JIT, page cache) before anything is timed
topic
kcat -P -b "$B" -t "$t" "${props[@]}" <"$tmp/readings.ndjson"
kcat -C -q -b "$B" -t "$t" -o beginning -e >/dev/null
hbkafka-pub -q -b "$B" -t "$t" "$tmp/readings.ndjson"
hbkafka-sub -q -b "$B" -t "$t" -G warmup -e >/dev/null

# ---- producers
t_pub=() t_kcatp=()
pub_ours() { topic; s=$(now); hbkafka-pub -q -b "$B" -t "$t" "${props[@]}" "$tmp/readings.ndjson"; t_pub+=("$(since "$s")"); }
pub_kcat() { topic; s=$(now); kcat -P -b "$B" -t "$t" "${props[@]}" <"$tmp/readings.ndjson"; t_kcatp+=("$(since "$s")"); }
for i in $(seq 1 "$runs"); do
	if ((i % 2)); then pub_ours; pub_kcat; else pub_kcat; pub_ours; fi
done
topic
src=$t
hbkafka-pub -q -b "$B" -t "$src" "$tmp/readings.ndjson"

# ---- consumers (the same topic, from the beginning, to the end)
t_sub=() t_kcatc=()
sub_ours() { s=$(now); hbkafka-sub -q -b "$B" -t "$src" -G "bench_g_$1" -o beginning -e >/dev/null; t_sub+=("$(since "$s")"); }
sub_kcat() { s=$(now); kcat -C -q -b "$B" -t "$src" -o beginning -e >/dev/null; t_kcatc+=("$(since "$s")"); }
for i in $(seq 1 "$runs"); do
	if ((i % 2)); then sub_ours "$i"; sub_kcat; else sub_kcat; sub_ours "$i"; fi
done
got=$(hbkafka-sub -q -b "$B" -t "$src" -G bench_count -e | wc -l)
[[ $got -eq $lines ]] || { echo "bench: hbkafka-sub read $got of $lines" >&2; exit 1; }

# ---- end to end: produce as fast as possible while one consumer pipeline
# stores, into empty tables, $runs times (one run varies by 20 % here)
mkfifo "$tmp/acks"
t_e2es=() stored_min=
for i in $(seq 1 "$runs"); do
	# the rollups too: every run folds its minutes for the first time, as the first did
	bench_empty
	topic
	e2e=$t
	s=$(now)
	(hbsim --seed 2 --start 2026-11-24T00:00:00Z --count "$lines" --rate 0 -q |
		/usr/bin/time -f '%M' -o "$tmp/rss.pub" hbkafka-pub -q -b "$B" -t "$e2e") &
	/usr/bin/time -f '%M' -o "$tmp/rss.sub" hbkafka-sub -q -b "$B" -t "$e2e" -G "bench_e2e_$i" -A "$tmp/acks" -c "$lines" |
		/usr/bin/time -f '%M' -o "$tmp/rss.cls" hbclassify -qq |
		/usr/bin/time -f '%M' -o "$tmp/rss.load" hbpgload -q --ack-to "$tmp/acks" -i bench-e2e
	t_e2es+=("$(since "$s")")
	wait
	n_stored=$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')
	[[ -n $stored_min && $stored_min -le $n_stored ]] || stored_min=$n_stored
done
t_e2e=$(median "${t_e2es[@]}")
stored=$stored_min
mb() { awk '{ printf "%.1f", $1 / 1024 }' "$1"; }

# ---- the same with the Python pipeline (same producer, same broker, same table)
q 'TRUNCATE heartbeat_records, heartbeat_anomalies, pipeline_metrics; CHECKPOINT'
topic
pye=$t
s=$(now)
(hbsim --seed 2 --start 2026-11-24T00:00:00Z --count "$lines" --rate 0 -q | hbkafka-pub -q -b "$B" -t "$pye") &
"$py" "$repo/bench/py_pipeline.py" --brokers "$B" --topic "$pye" --group bench_py --count "$lines" >"$tmp/py.out"
t_py=$(since "$s")
wait
py_stored=$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')

tp=$(median "${t_pub[@]}") tk=$(median "${t_kcatp[@]}") ts=$(median "${t_sub[@]}") tc=$(median "${t_kcatc[@]}")
echo "| what | hbmon | reference | ratio | goal |"
echo "|---|---|---|---|---|"
printf '| hbkafka-pub, %s readings | %s msg/s | kcat -P: %s msg/s | %s× | ≥ 1× kcat |\n' "$(fmt "$lines")" \
	"$(fmt "$(rate "$lines" "$tp")")" "$(fmt "$(rate "$lines" "$tk")")" "$(ratio "$tk" "$tp")"
printf '| hbkafka-sub -e, %s messages | %s msg/s | kcat -C -e: %s msg/s | %s× | ≥ 1× kcat |\n' "$(fmt "$lines")" \
	"$(fmt "$(rate "$lines" "$ts")")" "$(fmt "$(rate "$lines" "$tc")")" "$(ratio "$tc" "$ts")"
printf '| hbsim → hbkafka-pub → Kafka → hbkafka-sub → hbclassify → hbpgload | %s readings/s (%s stored; runs: %s) | | | ≥ 150,000/s |\n' \
	"$(fmt "$(rate "$lines" "$t_e2e")")" "$(fmt "$stored")" "$(for x in "${t_e2es[@]}"; do printf '%s ' "$(fmt "$(rate "$lines" "$x")")"; done | sed 's/ $//; s/ /, /g')"
rpy=$(sed -n 's/.*rows_per_s=//p' "$tmp/py.out")
printf '| the same end to end with Python (confluent-kafka + psycopg2, execute_values) | %s readings/s | Python: %s readings/s (%s stored; consumer alone %s rows/s) | %s× | ≥ 1× |\n' \
	"$(fmt "$(rate "$lines" "$t_e2e")")" "$(fmt "$(rate "$lines" "$t_py")")" "$(fmt "$py_stored")" "$(fmt "${rpy:-0}")" "$(ratio "$t_py" "$t_e2e")"
printf '| peak RSS end to end | hbkafka-pub %s MB, hbkafka-sub %s MB, hbclassify %s MB, hbpgload %s MB | | | < 50 MB each |\n' \
	"$(mb "$tmp/rss.pub")" "$(mb "$tmp/rss.sub")" "$(mb "$tmp/rss.cls")" "$(mb "$tmp/rss.load")"
echo
echo "median of $runs runs; PostgreSQL $(q 'SHOW server_version') with fsync $(q 'SHOW fsync') and synchronous_commit $(q 'SHOW synchronous_commit');"
echo "kcat and hbkafka-pub with the same -X settings; consumers in a fresh group"
echo "(hbkafka-sub) and as a simple consumer (kcat -C); end to end with acknowledgements and one consumer pipeline."
