#!/usr/bin/env bash
# bench/fleet.sh — make bench's loader figure (hbpgload of 1,000,000 valid
# readings into empty tables, rollups kept) at several fleet sizes, measured
# in alternation so that the ratio between them is measured together:
#
#   BENCH_FLEETS="100 10000 100000" BENCH_LINES=1000000 BENCH_ROUNDS=5 bench/fleet.sh
#
# Each round loads every fleet's file once, in the order given in odd
# rounds and reversed in even ones (over an even number of rounds a drift
# favours neither order);
# the table gives each round's rows/s, their median, and the ratio of each
# fleet's figure to the first fleet's in the same round (and the median of
# those).  A round before them warms up, not counted: the first loads into
# a new server write new WAL segments where the later ones recycle them,
# and ran 20-35 % slower here.
# On this machine a program runs up to 20-30 % faster in some minutes than
# in others: two figures measured minutes apart, in two runs of
# bench/core.sh, can differ by more than the fleet size makes them differ.
#
# The same inputs and steps as bench/core.sh's hbpgload row: each customer
# reading twice a second (bench_valid: hbsim -n C --clock-rate 2C, seed 2, no anomaly),
# classified, one hbpgload -q of the file from empty tables after a
# CHECKPOINT and a sync (bench_empty), its time from start to exit (which
# includes the fold of the last minute).  PostgreSQL with fsync and
# synchronous_commit on, in a temp dir.  Figures, not assertions.
set -euo pipefail
shopt -s inherit_errexit	# a failure inside $(load ...) stops the run

# shellcheck source=bench/lib.bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
lines=${BENCH_LINES:-1000000}
rounds=${BENCH_ROUNDS:-5}
read -r -a fleets <<<"${BENCH_FLEETS:-100 100000}"
for c in "${fleets[@]}" "$lines" "$rounds"; do
	[[ $c =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_FLEETS, BENCH_LINES and BENCH_ROUNDS must be positive integers, not '$c'" >&2; exit 2; }
done
[[ ${#fleets[@]} -ge 2 ]] || { echo "bench: BENCH_FLEETS needs two fleet sizes at least, the first the reference" >&2; exit 2; }
[[ $(printf '%s\n' "${fleets[@]}" | sort -u | wc -l) -eq ${#fleets[@]} ]] ||
	{ echo "bench: BENCH_FLEETS names a fleet size twice: ${fleets[*]}" >&2; exit 2; }

bench_tmp_pg fleet

echo "hbmon loader by fleet size — $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"

for c in "${fleets[@]}"; do
	bench_valid "$c" "$lines" "$tmp/valid.$c.ndjson"
done
bench_pg
echo "$(psql --version | head -n 1), fsync $(q 'SHOW fsync'), synchronous_commit $(q 'SHOW synchronous_commit'), shared_buffers $(q 'SHOW shared_buffers')"
echo "$(fmt "$lines") valid readings per load, each customer reading twice a second; $rounds rounds"
echo

load() {	# load FLEET: its rows/s
	local s t n
	bench_empty
	s=$(now)
	hbpgload -q "$tmp/valid.$1.ndjson"
	t=$(since "$s")
	n=$(q 'SELECT count(*) FROM heartbeat_records')
	[[ $n == "$lines" ]] || { echo "bench: hbpgload stored $n rows of $lines for $1 customers" >&2; exit 1; }
	# its last minutes folded, as timed (a fold that failed would look fast)
	n=$(q 'SELECT count(DISTINCT minute) FROM hb_rollup_pending')
	[[ $n == 0 ]] || { echo "bench: hbpgload left $n minute(s) unfolded for $1 customers" >&2; exit 1; }
	rate "$lines" "$t"
}
for c in "${fleets[@]}"; do load "$c" >/dev/null; done

# rows/s of fleet c in round r: rps[c,r]
declare -A rps
head="| round |" rule="|---|"
for c in "${fleets[@]}"; do head+=" $(fmt "$c") customers |"; rule+="---|"; done
for c in "${fleets[@]:1}"; do head+=" $(fmt "$c") / $(fmt "${fleets[0]}") |"; rule+="---|"; done
echo "$head"
echo "$rule"
for r in $(seq 1 "$rounds"); do
	row="| $r |"
	order=("${fleets[@]}")
	if ((r % 2 == 0)); then
		order=()
		for ((i = ${#fleets[@]} - 1; i >= 0; i--)); do order+=("${fleets[i]}"); done
	fi
	for c in "${order[@]}"; do rps[$c,$r]=$(load "$c"); done
	for c in "${fleets[@]}"; do
		row+=" $(fmt "${rps[$c,$r]}") rows/s |"
	done
	for c in "${fleets[@]:1}"; do row+=" $(ratio "${rps[$c,$r]}" "${rps[${fleets[0]},$r]}")× |"; done
	echo "$row"
done
row="| median |"
for c in "${fleets[@]}"; do
	v=()
	for r in $(seq 1 "$rounds"); do v+=("${rps[$c,$r]}"); done
	row+=" $(fmt "$(median "${v[@]}")") rows/s |"
done
for c in "${fleets[@]:1}"; do
	v=()
	for r in $(seq 1 "$rounds"); do v+=("$(ratio "${rps[$c,$r]}" "${rps[${fleets[0]},$r]}")"); done
	row+=" **$(median "${v[@]}")×** |"
done
echo "$row"
echo
echo "Each load: hbpgload -q FILE into empty day-partitioned tables (primary key (customer_id, ts), deduplication"
echo "on), the rollups noted and folded, timed from its start to its exit (its last minute folded)."
