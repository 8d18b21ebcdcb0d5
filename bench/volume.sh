#!/usr/bin/env bash
# bench/volume.sh — the database at volume: load 100,000,000 readings with
# hbsim --rate 0 | hbclassify | hbpgload (day partitions and rollups kept as
# they load), then time every dashboard panel's query and hb-report's for
# the last hour and the last day: on the raw rows (as before the rollups) and
# as they are now.
#
#   BENCH_VOLUME_READINGS=100000000 BENCH_VOLUME_CUSTOMERS=100 BENCH_VOLUME_EVERY=1 bench/volume.sh
#
# The fleet: CUSTOMERS customers reading once every EVERY seconds each (hbsim
# --clock-rate), ending at the start of this minute, so the last hour holds
# 3,600 / EVERY x CUSTOMERS readings and the last day 86,400 / EVERY x
# CUSTOMERS.  With the defaults the readings span 11.6 days.  PostgreSQL is
# the throwaway one of scripts/hb-pg with fsync and synchronous_commit on,
# in a temp dir; it needs about 25 GB of disk.  Figures, not assertions.
set -euo pipefail

# shellcheck source=bench/lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
n=${BENCH_VOLUME_READINGS:-100000000}
c=${BENCH_VOLUME_CUSTOMERS:-100}
every=${BENCH_VOLUME_EVERY:-1}
# the queries are timed from Python: say so now, not after the load
"$py" -c 'import psycopg2' 2>/dev/null ||
	{ echo "bench: $py has no psycopg2 (scripts/hb-deps bench, or make bench-volume)" >&2; exit 1; }

bench_tmp_pg volume


# a bigger cache than the test cluster's, as a server for this would have
bench_pg -c shared_buffers=2GB -c work_mem=64MB

now=$(date -u +%s)
end=$((now / 60 * 60))
span=$((n * every / c))
rate=$(awk -v c="$c" -v e="$every" 'BEGIN { print c / e }')
start=$(date -u -d "@$((end - span))" +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d "@$end" +%Y-%m-%dT%H:%M:%SZ)

echo "hbmon at volume — $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); PostgreSQL $(q 'SHOW server_version'), shared_buffers $(q 'SHOW shared_buffers'), fsync $(q 'SHOW fsync'), synchronous_commit $(q 'SHOW synchronous_commit')"
echo "$(fmt "$n") readings: $(fmt "$c") customers, each once every $every s, $start to $to"
echo

s=$(date +%s.%N)
hbsim --seed 1 --start "$start" -n "$c" --clock-rate "$rate" --rate 0 --count "$n" -q |
	hbclassify -qq | hbpgload -q -i volume 2>"$tmp/load.err" || { cat "$tmp/load.err" >&2; exit 1; }
e=$(date +%s.%N)
secs=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }')
echo "loaded in $secs s: $(fmt "$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')") readings/s, $(fmt "$c") customers (hbsim | hbclassify | hbpgload, partitions kept and rollups noted and folded as it loads)"
# what was still pending at the end (hbpgload folds a minute once it is quiet), folded as a live system would have
s=$(date +%s.%N)
folded=$(hb-pg fold)
e=$(date +%s.%N)
echo "$folded at the end in $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", e - s }') s; $(q 'SELECT count(DISTINCT minute) FROM hb_rollup_pending') minute(s) left pending"
q 'VACUUM ANALYZE' >/dev/null
echo "stored: $(q "SELECT to_char(readings_stored, 'FM999,999,999,999') FROM vw_pipeline_summary") readings in $(q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'heartbeat_records'::regclass") partitions per table;" \
	"database $(q "SELECT pg_size_pretty(pg_database_size(current_database()))");" \
	"rollups $(q "SELECT pg_size_pretty(pg_total_relation_size('hb_fold_minute') + pg_total_relation_size('hb_fold_minute_hr')
	              + pg_total_relation_size('hb_fold_5min_hr') + pg_total_relation_size('hb_fold_5min')
	              + pg_total_relation_size('hb_fold_customer_minute') + pg_total_relation_size('hb_fold_customer_day'))")" \
	"($(fmt "$(q 'SELECT count(*) FROM hb_fold_minute')") + $(fmt "$(q 'SELECT count(*) FROM hb_fold_minute_hr')") + $(fmt "$(q 'SELECT count(*) FROM hb_fold_5min_hr')") + $(fmt "$(q 'SELECT count(*) FROM hb_fold_customer_minute')") rows)"
echo

"$py" "$repo/bench/volume_queries.py" --dashboard "$repo/grafana/dashboards/hbmon.json" --to "$to"
echo

# hb-report as cron runs it, end to end (queries, gnuplot, files)
for last in 1h 24h; do
	s=$(date +%s.%N)
	hb-report --to "$to" --last "$last" --out "$tmp/report-$last"
	e=$(date +%s.%N)
	echo "hb-report --last $last: $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }') s for all its queries, four charts and the summary"
done
