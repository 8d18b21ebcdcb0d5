#!/usr/bin/env bash
# bench/alerts.sh — how well hbclassify's alerts find what hbsim injected:
# a fleet generated unpaced on the virtual clock (default 1,000 customers
# reading once a second for 4 hours: 14.4 M readings) with anomaly episodes,
# silences and baseline shifts, and hbsim --truth saying where they are;
# hbclassify --alerts over it; bench/alerts_score.py scoring the open events
# per type (recall, precision, detection delay) and the alerts per
# customer-day against the anomalous readings a per-reading warning sends.
#
#   BENCH_ALERTS_CUSTOMERS=1000 BENCH_ALERTS_HOURS=4 BENCH_ALERTS_SEED=1 \
#   BENCH_ALERTS_SILENCE_RATE=0.005 BENCH_ALERTS_SHIFT_RATE=0.05 \
#   BENCH_ALERTS_ARGS='' BENCH_ALERTS_KEEP=dir bench/alerts.sh
#
# BENCH_ALERTS_ARGS: more hbclassify options; BENCH_ALERTS_KEEP: a directory
# to keep the truth, the alerts and the summaries in.  No servers needed.
# Figures, not assertions: exits 0 unless something failed to run.
set -euo pipefail

# shellcheck source=bench/lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
customers=${BENCH_ALERTS_CUSTOMERS:-1000}
hours=${BENCH_ALERTS_HOURS:-4}
seed=${BENCH_ALERTS_SEED:-1}
silence_rate=${BENCH_ALERTS_SILENCE_RATE:-0.005}
shift_rate=${BENCH_ALERTS_SHIFT_RATE:-0.05}
read -r -a extra <<<"${BENCH_ALERTS_ARGS:-}"
start=2026-11-23T00:00:00Z

bench_tmp alerts
cleanup() {
	if [[ -n ${BENCH_ALERTS_KEEP:-} ]]; then
		mkdir -p "$BENCH_ALERTS_KEEP"
		cp "$tmp"/*.ndjson "$tmp"/*.err "$BENCH_ALERTS_KEEP"/ 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

"$py" "$repo/bench/alerts_score.py" --self-test >/dev/null

# The silence threshold, as hbclassify says it (default 10 s if it does not).
silence=$(hbclassify --help | tr '\n' ' ' | sed -n 's/.*--silence[^(]*(default \([0-9.]*\).*/\1/p')
silence_note=""
[[ -n $silence ]] || { silence=10; silence_note=" (not found in hbclassify --help; assumed)"; }

# The baseline warmup: shifts that start within it have no baseline yet.
warmup=$(hbclassify --help | tr '\n' ' ' | sed -n 's/.*--warmup[^(]*(default \([0-9.]*\).*/\1/p')
warmup=${warmup:-600}

duration=$(awk -v h="$hours" 'BEGIN { printf "%d", h * 3600 }')
sim=(hbsim --seed "$seed" --start "$start" --customers "$customers" --clock-rate "$customers" --rate 0
	--duration "$duration" --silence-rate "$silence_rate" --shift-rate "$shift_rate"
	--truth "$tmp/truth.ndjson")
cls=(hbclassify -qq --alerts "$tmp/alerts.ndjson" "${extra[@]}")

echo "hbmon alerts benchmark — $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
hbclassify --version
echo "command: ${sim[*]} | ${cls[*]} | grep -o '\"status\":\"[BT]' | sort | uniq -c"
echo

s=$(now)
"${sim[@]}" 2>"$tmp/hbsim.err" | "${cls[@]}" 2>"$tmp/hbclassify.err" |
	{ grep -o '"status":"[BT]' || true; } | sort | uniq -c >"$tmp/statuses"
wall=$(since "$s")
brady=$(awk '$2 ~ /B$/ { print $1 }' "$tmp/statuses")
tachy=$(awk '$2 ~ /T$/ { print $1 }' "$tmp/statuses")
readings=$(sed -n 's/.* readings=\([0-9]*\).*/\1/p' "$tmp/hbsim.err")
silent=$(sed -n 's/.* silent=\([0-9]*\).*/\1/p' "$tmp/hbsim.err")

s=$(now)
"$py" "$repo/bench/alerts_score.py" --truth "$tmp/truth.ndjson" --alerts "$tmp/alerts.ndjson" \
	--customers "$customers" --hours "$hours" --silence "$silence" --warmup "$warmup" --start "$start" \
	--brady-readings "${brady:-0}" --tachy-readings "${tachy:-0}"
score_wall=$(since "$s")

echo
echo "fleet: $(fmt "$customers") customers, 1 reading/s each, $hours simulated hours from $start;"
echo "$(fmt "$readings") readings ($(fmt "${brady:-0}") BRADYCARDIA, $(fmt "${tachy:-0}") TACHYCARDIA), $(fmt "$silent") silent turns;"
echo "injected: default anomaly rate, --silence-rate $silence_rate, --shift-rate $shift_rate, seed $seed."
echo "wall time: $(printf '%.1f' "$wall") s for hbsim | hbclassify, $(printf '%.1f' "$score_wall") s to score."
echo "silence threshold ${silence} s${silence_note}.  Detected: an open of the type for the customer with"
echo "\"at\" from the event's start to its end + grace (SILENCE: threshold + 5 s, DEVIATION: 5 min,"
echo "BRADY/TACHYCARDIA: 60 s), or that type's alert already open at its start.  Recall over"
echo "episodes of ≥ 8 readings, silences of ≥ 2× the threshold, shifts starting after the ${warmup} s"
echo "baseline warmup; none cut by the end."
echo "Delay: the open's \"at\" minus the event's start, reading time.  Goals met: p95 delay."
