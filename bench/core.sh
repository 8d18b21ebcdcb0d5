#!/usr/bin/env bash
# bench/core.sh — the core tool chain's speed and memory, side by side with
# what people would use instead, measured in one run on this machine:
#
#   hbclassify vs jq doing the same classification (same file)
#   hbpgload vs psql \copy of the same valid rows into the same day-partitioned
#     tables, without the rollup triggers (what storing the rows costs at
#     least) and with them; hbpgload keeps the rollups (it notes and folds)
#   hbpgload vs the Python loader people write (bench/py_load.py, psycopg2):
#     one INSERT and commit per row, and execute_values in batches
#   peak RSS of hbsim, hbclassify, hbpgload over a long stream
#
#   BENCH_LINES=1000000 BENCH_RSS_LINES=10000000 BENCH_RUNS=3 BENCH_PY_ROW_LINES=20000 \
#   BENCH_CUSTOMERS=20 bench/core.sh
#
# BENCH_CUSTOMERS: the fleet of every input, each customer reading twice a
# second of the readings' clock (hbsim -n C --clock-rate 2C; 20 is hbsim's
# default, and the same readings as without it).  The number of customers
# is what the primary key and the per-customer rollups feel: compare a
# fleet's figures with the 20 customers' of the same hour.
#
# It starts its own PostgreSQL in a temp dir (stopped at the end), with fsync
# and synchronous_commit on, as a production server runs.  Figures, not
# assertions: it prints them and exits 0 unless something failed to run.
set -euo pipefail

# shellcheck source=bench/lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
lines=${BENCH_LINES:-1000000}
rss_lines=${BENCH_RSS_LINES:-10000000}
runs=${BENCH_RUNS:-3}
customers=${BENCH_CUSTOMERS:-20}
[[ $customers =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_CUSTOMERS must be a positive integer" >&2; exit 2; }
fleet=(-n "$customers" --clock-rate "$((2 * customers))")

bench_tmp_pg bench

# median of the arguments

echo "hbmon core benchmark — $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
echo "$(hbclassify --version), $(jq --version), $(psql --version | head -n 1)"
echo "$(fmt "$customers") customers, each reading twice a second (hbsim -n $customers --clock-rate $((2 * customers)))"
echo

# ---- inputs
hbsim --seed 1 --start 2026-11-23T00:00:00Z --count "$lines" --rate 0 "${fleet[@]}" -q >"$tmp/readings.ndjson"
bench_valid "$customers" "$lines" "$tmp/valid.ndjson"
jq -r '[.customer_id, .timestamp, .heart_rate] | @csv' "$tmp/valid.ndjson" >"$tmp/valid.csv"

# ---- hbclassify vs jq
# The same rules: an object with a string customer_id and timestamp and an
# integer heart_rate, INVALID outside 1..300, else the three statuses.
jq_prog='if type == "object" and (.customer_id | type) == "string"
	and (.timestamp | type) == "string" and (.heart_rate | type) == "number"
	and (.heart_rate | floor) == .heart_rate then
	(if .heart_rate < 1 or .heart_rate > 300 then . + {status: "INVALID", reason: "out of range"}
	 elif .heart_rate < 40 then . + {status: "BRADYCARDIA"}
	 elif .heart_rate > 180 then . + {status: "TACHYCARDIA"}
	 else . + {status: "NORMAL"} end)
	else {status: "INVALID", reason: "bad reading"} end'
t_cls=() t_jq=()
for _ in $(seq 1 "$runs"); do
	s=$(now); hbclassify -qq <"$tmp/readings.ndjson" >"$tmp/out.cls"; e=$(now)
	t_cls+=("$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')")
	s=$(now); jq -c "$jq_prog" <"$tmp/readings.ndjson" >"$tmp/out.jq"; e=$(now)
	t_jq+=("$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')")
done
# both gave the same statuses
cmp -s <(jq -r .status "$tmp/out.cls") <(jq -r .status "$tmp/out.jq") ||
	{ echo "bench: hbclassify and jq disagree on the statuses" >&2; exit 1; }
tc=$(median "${t_cls[@]}") tj=$(median "${t_jq[@]}")
rc=$(rate "$lines" "$tc") rj=$(rate "$lines" "$tj")

# ---- hbpgload vs psql \copy
bench_pg
# each run from empty tables (bench_empty: after a CHECKPOINT and a sync)
copy() { psql -X -q -c "\\copy heartbeat_records (customer_id, ts, heart_rate) FROM '$tmp/valid.csv' CSV"; }
t_load=() t_fold=() t_copy=() t_copy_rollups=() t_reload=()
for _ in $(seq 1 "$runs"); do
	bench_empty
	s=$(now); hbpgload -q "$tmp/valid.ndjson"; e=$(now)
	t_load+=("$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')")
	# what hbpgload left to fold (minutes still quiet-pending at its end), folded now
	hb-pg fold --all >/dev/null; f=$(now)
	t_fold+=("$(awk -v s="$s" -v e="$f" 'BEGIN { print e - s }')")
	[[ $(q 'SELECT count(*) FROM heartbeat_records') == "$lines" ]] || { echo "bench: hbpgload stored the wrong count" >&2; exit 1; }
	s=$(now); hbpgload -q "$tmp/valid.ndjson"; e=$(now)	# all duplicates
	t_reload+=("$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')")
	# \copy into the same tables without the rollup triggers: storing the rows, nothing more
	bench_empty
	q 'ALTER TABLE heartbeat_records DISABLE TRIGGER USER' >/dev/null
	s=$(now); copy; e=$(now)
	q 'ALTER TABLE heartbeat_records ENABLE TRIGGER USER' >/dev/null
	t_copy+=("$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')")
	# and with them (noted; folded after)
	bench_empty
	s=$(now); copy; hb-pg fold --all >/dev/null; e=$(now)
	t_copy_rollups+=("$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')")
done
tl=$(median "${t_load[@]}") tf=$(median "${t_fold[@]}") tp=$(median "${t_copy[@]}") tr=$(median "${t_reload[@]}")
tpr=$(median "${t_copy_rollups[@]}")

# ---- hbpgload vs the Python loader (psycopg2): row by row on a slice, batched on all
py_row_lines=${BENCH_PY_ROW_LINES:-20000}
head -n "$py_row_lines" "$tmp/valid.ndjson" >"$tmp/valid.slice"
q 'TRUNCATE heartbeat_records, heartbeat_anomalies; CHECKPOINT'
rpy_row=$("$py" "$repo/bench/py_load.py" --mode row <"$tmp/valid.slice" | sed -n 's/.*rows_per_s=//p')
q 'TRUNCATE heartbeat_records, heartbeat_anomalies; CHECKPOINT'
rpy_batch=$("$py" "$repo/bench/py_load.py" --mode batch <"$tmp/valid.ndjson" | sed -n 's/.*rows_per_s=//p')
[[ $(q 'SELECT count(*) FROM heartbeat_records') == "$lines" ]] || { echo "bench: py_load stored the wrong count" >&2; exit 1; }
rl=$(rate "$lines" "$tl") rp=$(rate "$lines" "$tp") rr=$(rate "$lines" "$tr")
rf=$(rate "$lines" "$tf") rpr=$(rate "$lines" "$tpr")

# ---- peak RSS over a long stream (all three at once, as in production)
bench_empty
# Flat memory: RSS of each program sampled every second; the first sample
# (after 1 s) and the last one (just before the end) go in the table.
sample_rss() {
	local p pid kb
	: >"$tmp/rss.samples"
	while [[ ! -e $tmp/rss.done ]]; do
		for p in hbsim hbclassify hbpgload; do
			pid=$(pgrep -n -x "$p") || continue
			kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
			[[ -n $kb ]] && echo "$p $kb" >>"$tmp/rss.samples"
		done
		sleep 1
	done
}
rss_at() { awk -v p="$1" -v w="$2" '$1 == p { v[++n] = $2 } END { printf "%.1f", (w == "first" ? v[1] : v[n]) / 1024 }' "$tmp/rss.samples"; }
sample_rss &
sampler=$!
s=$(now)
/usr/bin/time -f '%M' -o "$tmp/rss.sim" hbsim --seed 3 --start 2026-01-01T00:00:00Z --count "$rss_lines" --rate 0 "${fleet[@]}" \
	--invalid-rate 0.001 --malformed-rate 0.001 -q |
	/usr/bin/time -f '%M' -o "$tmp/rss.cls" hbclassify -qq |
	/usr/bin/time -f '%M' -o "$tmp/rss.load" hbpgload -q
e=$(now)
touch "$tmp/rss.done"
wait "$sampler" || true
stored=$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')
tt=$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')

echo "| what | figure | reference | ratio | goal |"
echo "|---|---|---|---|---|"
printf '| hbclassify, %s lines | %s lines/s | jq: %s lines/s | %s× | ≥ 1,000,000 lines/s and ≥ 10× jq |\n' \
	"$(fmt "$lines")" "$(fmt "$rc")" "$(fmt "$rj")" "$(ratio "$rc" "$rj")"
printf '| hbpgload, %s new rows of %s customers, rollups kept | %s rows/s | psql \\copy, no rollup triggers: %s rows/s | %s× | ≥ 0.9× that \\copy |\n' \
	"$(fmt "$lines")" "$(fmt "$customers")" "$(fmt "$rl")" "$(fmt "$rp")" "$(ratio "$rl" "$rp")"
printf '| the same until every minute is folded (hbpgload, then hb-pg fold --all) | %s rows/s | psql \\copy with the triggers, then hb-pg fold --all: %s rows/s | %s× | |\n' \
	"$(fmt "$rf")" "$(fmt "$rpr")" "$(ratio "$rf" "$rp")"
printf '| hbpgload, the same rows again (all duplicates) | %s rows/s | | | stores nothing more |\n' "$(fmt "$rr")"
printf '| hbpgload vs Python, psycopg2, INSERT + commit per row (%s rows) | %s rows/s | %s rows/s | %s× | ≥ 50× |\n' \
	"$(fmt "$py_row_lines")" "$(fmt "$rl")" "$(fmt "$rpy_row")" "$(ratio "$rl" "$rpy_row")"
printf '| hbpgload vs Python, psycopg2 execute_values, 10,000 per commit | %s rows/s | %s rows/s | %s× | ≥ 2× |\n' \
	"$(fmt "$rl")" "$(fmt "$rpy_batch")" "$(ratio "$rl" "$rpy_batch")"
printf '| hbsim → hbclassify → hbpgload, %s readings of %s customers | %s readings/s end to end, %s rows stored | | | |\n' \
	"$(fmt "$rss_lines")" "$(fmt "$customers")" "$(fmt "$(rate "$rss_lines" "$tt")")" "$(fmt "$stored")"
printf '| peak RSS over that stream | hbsim %s MB, hbclassify %s MB, hbpgload %s MB | | | each < 50 MB |\n' \
	"$(awk '{ printf "%.1f", $1 / 1024 }' "$tmp/rss.sim")" "$(awk '{ printf "%.1f", $1 / 1024 }' "$tmp/rss.cls")" \
	"$(awk '{ printf "%.1f", $1 / 1024 }' "$tmp/rss.load")"
printf '| RSS after 1 s → at the end of that stream | hbsim %s → %s MB, hbclassify %s → %s MB, hbpgload %s → %s MB | | | flat |\n' \
	"$(rss_at hbsim first)" "$(rss_at hbsim last)" "$(rss_at hbclassify first)" "$(rss_at hbclassify last)" \
	"$(rss_at hbpgload first)" "$(rss_at hbpgload last)"
echo
echo "median of $runs runs; into the day-partitioned heartbeat_records (primary key (customer_id, ts) + BRIN on ts),"
echo "deduplication on; a local PostgreSQL $(q 'SHOW server_version') started by this script, fsync $(q 'SHOW fsync'),"
echo "synchronous_commit $(q 'SHOW synchronous_commit'), shared_buffers $(q 'SHOW shared_buffers')."
echo "The ratio to \\copy without the rollup triggers is the one the goal sets; the last row's ratio is"
echo "to that same \\copy too (the price of rollups folded to the last minute)."
