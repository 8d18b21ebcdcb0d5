#!/usr/bin/env bash
# bench/soak.sh — a long live run at a steady rate: does memory stay flat in
# every program, and does the end-to-end latency stay where it was?
#
#   SOAK_SECONDS=1800 SOAK_RATE=5000 SOAK_INTERVAL=60 bench/soak.sh
#
# One broker and one PostgreSQL (fsync and synchronous_commit on), started
# here; the live pipeline
#   hbsim --rate R | hbkafka-pub          (producer side)
#   hbkafka-sub -A | hbclassify | hbpgload --ack-to   (consumer side)
# Every interval it prints one line: readings stored in the interval, the
# end-to-end latency (reading timestamp -> commit, from hbpgload's
# pipeline_metrics snapshots: median of the snapshots' p50, worst p99) and
# the resident memory (VmRSS) of each of the five programs.  At the end: RSS
# in the first full interval against the last, and the range of p99.
# Figures, not assertions.
set -euo pipefail

# shellcheck source=bench/lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
secs=${SOAK_SECONDS:-1800}
rate=${SOAK_RATE:-5000}
step=${SOAK_INTERVAL:-60}

bench_tmp soak
cleanup() {
	pkill -TERM -f -- "$tmp" 2>/dev/null || true
	[[ -n ${cons:-} ]] && pkill -TERM -P "$cons" 2>/dev/null
	[[ -n ${prod:-} ]] && pkill -TERM -P "$prod" 2>/dev/null
	[[ -n ${prod:-} ]] && kill -TERM "$prod" 2>/dev/null
	sleep 1
	hb-kafka stop --dir "$tmp/kafka" >/dev/null 2>&1 || true
	hb-pg stop --dir "$tmp/pg" --mode immediate >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rss() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "-"; }

bench_pg
bench_kafka
hb-kafka topic --dir "$tmp/kafka" --topic soak --partitions 3 2>/dev/null
mkfifo "$tmp/acks"

(hbkafka-sub -q -b "$B" -t soak -G soak -A "$tmp/acks" -o end |
	hbclassify -qq | hbpgload -q --ack-to "$tmp/acks" -i soak --metrics-ms 1000 2>"$tmp/load.log") &
cons=$!
disown "$cons"	# stopped by cleanup: no job report
sleep 3
# a little longer than the run: the last interval is measured while it still flows
(hbsim --rate "$rate" --duration $((secs + step)) -q | hbkafka-pub -q -b "$B" -t soak) &
prod=$!
disown "$prod"
sleep 1
pid() { pgrep -P "$1" -x "$2" | head -n 1; }
p_sim=$(pid "$prod" hbsim) p_pub=$(pid "$prod" hbkafka-pub)
p_sub=$(pid "$cons" hbkafka-sub) p_cls=$(pid "$cons" hbclassify) p_load=$(pid "$cons" hbpgload)

echo "hbmon soak — $(date -u +%FT%TZ); $rate readings/s for $secs s, one broker, one consumer pipeline"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
echo
echo "| elapsed s | stored in interval | latency p50 ms | latency p99 ms | RSS MB hbsim / pub / sub / classify / pgload |"
echo "|---|---|---|---|---|"
: >"$tmp/rows"
last_id=0 t=0
while ((t < secs)); do
	sleep "$step" &
	wait $!	# (a signal ends the wait at once: the traps run)
	t=$((t + step))
	for p in "$p_sim" "$p_pub" "$p_sub" "$p_cls" "$p_load"; do
		[[ -d /proc/$p ]] || { echo "soak: a program ended early (pid $p); see $tmp/load.log" >&2; cat "$tmp/load.log" >&2; exit 1; }
	done
	line=$(q "SELECT coalesce(max(id), $last_id),
	                 coalesce(max(rows_stored) - min(rows_stored), 0),
	                 coalesce(round(percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_p50_ms)::numeric, 1), 0),
	                 coalesce(round(max(latency_p99_ms)::numeric, 1), 0)
	          FROM pipeline_metrics WHERE instance = 'soak' AND id > $last_id" | tr '|' ' ')
	read -r id stored p50 p99 <<<"$line"
	last_id=$id
	r="$(rss "$p_sim") / $(rss "$p_pub") / $(rss "$p_sub") / $(rss "$p_cls") / $(rss "$p_load")"
	printf '| %s | %s | %s | %s | %s |\n' "$t" "$stored" "$p50" "$p99" "$r"
	printf '%s %s %s %s\n' "$p50" "$p99" "$r" "$stored" >>"$tmp/rows"
done
stored=$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')
echo
awk -v total="$stored" '
	{ p99[NR] = $2; rss[NR] = $3 " " $5 " " $7 " " $9 " " $11 }
	END {
		# the first interval holds the start (group join, a cold broker): apart
		f = NR > 1 ? 2 : 1
		lo = hi = p99[f]
		for (i = f; i <= NR; i++) { if (p99[i] < lo) lo = p99[i]; if (p99[i] > hi) hi = p99[i] }
		printf "stored %d readings; p99 in the first interval %s ms, in each later one between %s and %s ms\n", total, p99[1], lo, hi
		printf "RSS MB first interval (hbsim pub sub classify pgload): %s\n", rss[1]
		printf "RSS MB last interval:                                  %s\n", rss[NR]
	}' "$tmp/rows"
