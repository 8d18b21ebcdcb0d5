#!/usr/bin/env bats
# report.bats — scripts/hb-report against the real database: the files, the
# PNGs, the summary's numbers against SQL, chosen customers, an empty range,
# usage and connection errors, hostile values, and the reader role.

load helpers

bats_require_minimum_version 1.5.0

FROM=2026-11-23T08:00:00Z
TO=2026-11-23T08:20:00Z
FILES="fleet-bpm.png customers-bpm.png anomalies.png distribution.png status.png summary.txt summary.html index.html"

setup_file() {
	hb_newdb
	# 40,000 readings over 1000 s, with anomaly episodes, invalid readings
	# (which keep their time) and malformed lines (which have none)
	hbsim --seed 11 --start "$FROM" --count 40000 --rate 0 --anomaly-rate 0.05 \
		--invalid-rate 0.01 --malformed-rate 0.002 -q | hbclassify -qq | hbpgload -q
	export READER="hbt_rep_reader_$$" NOBODY="hbt_rep_nobody_$$"
	psql -X -q -c "CREATE ROLE $READER LOGIN IN ROLE hbmon_reader" -c "CREATE ROLE $NOBODY LOGIN"
}

teardown_file() {
	dropdb --if-exists "${PGDATABASE}_k" 2>/dev/null || true
	hb_dropdb
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $READER" -c "DROP ROLE IF EXISTS $NOBODY" || true
}

report() {
	"$HB_REPO/scripts/hb-report" "$@"
}

# A value from summary.txt: the second field of the line whose first is $2.
sumval() {
	awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# The lines of a section of summary.txt (after its heading, to the blank line).
section() {
	awk -v h="$2" 'index($0, h) == 1 { on = 1; next } on && /^$/ { exit } on' "$1"
}

# "WIDTHxHEIGHT" of a PNG, from its IHDR chunk; fails unless it is a PNG.
png_size() {
	[[ $(od -An -tx1 -N8 "$1" | tr -d ' \n') == 89504e470d0a1a0a ]] || { echo "$1: not a PNG" >&2; return 1; }
	[[ $(dd if="$1" bs=1 skip=12 count=4 2>/dev/null) == IHDR ]] || { echo "$1: no IHDR" >&2; return 1; }
	od -An -tu1 -j16 -N8 "$1" |
		awk '{ printf "%dx%d\n", (($1 * 256 + $2) * 256 + $3) * 256 + $4, (($5 * 256 + $6) * 256 + $7) * 256 + $8 }'
}

in_range="ts >= '$FROM' AND ts < '$TO'"

@test "it writes the eight files; each PNG is a real PNG of the asked size, not trivial" {
	out=$BATS_TEST_TMPDIR/r
	run --separate-stderr report --from "$FROM" --to "$TO" --size 800x360 --out "$out"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	for f in $FILES; do
		[ -s "$out/$f" ]
	done
	for f in fleet-bpm customers-bpm anomalies distribution status; do
		assert_eq "$(png_size "$out/$f.png")" 800x360
		[ "$(stat -c %s "$out/$f.png")" -gt 10000 ]
		if command -v file >/dev/null; then
			file "$out/$f.png" | grep -q 'PNG image data, 800 x 360'
		fi
	done
	# the page shows the five charts (with a version for web caches)
	for f in fleet-bpm customers-bpm anomalies distribution status; do
		grep -q "<img src=\"$f.png?v=[0-9]*\"" "$out/index.html"
	done
	# summary.html, the page's name before, sends a browser on to it
	grep -q '<meta http-equiv="refresh" content="0; url=index.html">' "$out/summary.html"
	# written by rename from a scratch dir that is gone afterwards
	assert_eq "$(ls -A "$out" | sort | tr '\n' ' ')" "anomalies.png customers-bpm.png distribution.png fleet-bpm.png index.html status.png summary.html summary.txt "
}

@test "summary.txt says what the database says" {
	check_summary "$FROM" "$TO"
	# a range that cuts the data on both sides, in whole minutes
	check_summary 2026-11-23T08:02:00Z 2026-11-23T08:12:00Z
	# a range inside minutes covers them whole: FROM down, TO up to the minute
	check_summary 2026-11-23T08:02:30Z 2026-11-23T08:11:00.5Z 2026-11-23T08:02:00Z 2026-11-23T08:12:00Z
}

# check_summary FROM TO [the range in whole minutes, when FROM or TO is not]
check_summary() {
	local out=$BATS_TEST_TMPDIR/r s st n total share in_range="ts >= '${3:-$1}' AND ts < '${4:-$2}'"
	report --from "$1" --to "$2" --out "$out"
	s=$out/summary.txt
	total=0
	for st in NORMAL BRADYCARDIA TACHYCARDIA INVALID; do
		if [[ $st == NORMAL ]]; then
			n=$(q "SELECT count(*) FROM heartbeat_records WHERE $in_range")
		else
			n=$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = '$st' AND $in_range")
		fi
		[ "$n" -gt 0 ]
		assert_eq "$(sumval "$s" "$st")" "$n"
		total=$((total + n))
	done
	assert_eq "$(sumval "$s" Readings)" "$total"
	# shares of the whole
	for st in BRADYCARDIA TACHYCARDIA; do
		n=$(sumval "$s" "$st")
		share=$(q "SELECT to_char(100.0 * $n / $total, 'FM990.00')")
		assert_eq "$(awk -v k="$st" '$1 == k { print $3; exit }' "$s")" "$share"
	done
	assert_eq "$(sumval "$s" Customers)" \
		"$(q "SELECT count(*) FROM (SELECT customer_id FROM heartbeat_records WHERE $in_range
		      UNION SELECT customer_id FROM heartbeat_anomalies WHERE $in_range AND customer_id IS NOT NULL) u")"
	assert_eq "$(sed -n 's/^First reading  *//p' "$s")" \
		"$(q "SET TimeZone = 'UTC'; SELECT to_char(min(ts), 'YYYY-MM-DD HH24:MI:SS.MS TZ') FROM
		      (SELECT ts FROM heartbeat_records UNION ALL SELECT ts FROM heartbeat_anomalies) x WHERE $in_range")"
	assert_eq "$(sed -n 's/^Last reading  *//p' "$s")" \
		"$(q "SET TimeZone = 'UTC'; SELECT to_char(max(ts), 'YYYY-MM-DD HH24:MI:SS.MS TZ') FROM
		      (SELECT ts FROM heartbeat_records UNION ALL SELECT ts FROM heartbeat_anomalies) x WHERE $in_range")"
	# the top customers by anomalies, in order, with their counts
	assert_eq "$(section "$s" "Top customers by anomalies" | awk 'NR > 1 { print $1, $2 }')" \
		"$(q "SELECT customer_id || ' ' || count(*) FROM heartbeat_anomalies WHERE $in_range
		      AND customer_id IS NOT NULL GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 5")"
	# the malformed lines have no time: not in the counts, and not in this range
	if grep -q 'INVALID, no time' "$s"; then return 1; fi
}

@test "malformed lines without a time are counted by the time they were stored" {
	out=$BATS_TEST_TMPDIR/r
	report --last 1h --out "$out"
	n=$(q "SELECT count(*) FROM heartbeat_anomalies WHERE ts IS NULL")
	[ "$n" -gt 0 ]
	assert_eq "$(awk '/INVALID, no time/ { print $4 }' "$out/summary.txt")" "$n"
	# and the loader that stored them just now is in this range
	assert_eq "$(section "$out/summary.txt" "Loaders in this range" | awk '/rows in/ { print $5 }')" \
		"$(q "SELECT sum(rows_in) FROM pipeline_metrics WHERE kind = 'final'")"
}

@test "the last N and the bucket size follow from the range" {
	out=$BATS_TEST_TMPDIR/r
	report --to "$TO" --last 20m --out "$out"
	grep -q '^time zone, buckets  *UTC, 1 min$' "$out/summary.txt"
	a=$(sumval "$out/summary.txt" Readings)
	report --from "$FROM" --to "$TO" --out "$out"
	assert_eq "$(sumval "$out/summary.txt" Readings)" "$a"
	report --to "$TO" --last 2d --out "$out"
	grep -q '^time zone, buckets  *UTC, 15 min$' "$out/summary.txt"
	report --from "$FROM" --to "$TO" --bucket 2m --out "$out"
	grep -q '^time zone, buckets  *UTC, 2 min$' "$out/summary.txt"
	# the data is kept per minute: a bucket of seconds is refused
	run --separate-stderr "$HB_REPO/scripts/hb-report" --from "$FROM" --to "$TO" --bucket 10s --out "$out"
	[ "$status" -eq 2 ]
	[[ $stderr == *"whole number of minutes"* ]]
	# the same readings whichever way the range was given
	assert_eq "$a" "$(q "SELECT (SELECT count(*) FROM heartbeat_records WHERE $in_range)
		+ (SELECT count(*) FROM heartbeat_anomalies WHERE $in_range)")"
}

@test "--customer picks the charted customers; by default the top ones by anomalies" {
	out=$BATS_TEST_TMPDIR/r
	report --from "$FROM" --to "$TO" -c CUST_00007 --customer CUST_00003 --customer=CUST_00007 --out "$out"
	assert_eq "$(section "$out/summary.txt" "Charted customers" | awk '{ print $1 }' | tr '\n' ' ')" "CUST_00007 CUST_00003 "
	for c in CUST_00007 CUST_00003; do
		n=$(q "SELECT (SELECT count(*) FROM heartbeat_records WHERE customer_id = '$c' AND $in_range)
			+ (SELECT count(*) FROM heartbeat_anomalies WHERE customer_id = '$c'
			   AND anomaly_type <> 'INVALID' AND $in_range)")
		grep -q "^  $c  *readings $n, " "$out/summary.txt"
	done
	grep -q '<td>CUST_00007</td>' "$out/index.html"
	# a customer without readings is charted as such, not an error
	report --from "$FROM" --to "$TO" -c NOBODY_HERE --out "$out"
	grep -q '^  NOBODY_HERE  *no data in this range' "$out/summary.txt"
	# the default: the 5 customers with the most anomalies in the range
	# (well-formed ids), here a range with data on both sides
	report --from 2026-11-23T08:05:00Z --to 2026-11-23T08:10:00Z --out "$out"
	assert_eq "$(section "$out/summary.txt" "Charted customers" | awk '{ print $1 }')" \
		"$(q "SELECT customer_id FROM heartbeat_anomalies
		      WHERE ts >= '2026-11-23T08:05:00Z' AND ts < '2026-11-23T08:10:00Z'
		      AND customer_id ~ '^[A-Za-z0-9_.:-]{1,64}\$'
		      GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 5")"
}

# The rows of one table of index.html (one <tr> a line).
html_rows() {
	awk -v id="<table id=\"$2\">" 'index($0, id) == 1 { on = 1; next } on && /^<\/table>/ { exit } on && /^<tr><td>/' "$1"
}

@test "the latest anomalies and readings show the Kafka message of each anomaly row, empty when it had none" {
	export PGDATABASE="${PGDATABASE}_k"
	createdb "$PGDATABASE"
	"$HB_REPO/scripts/hb-pg" apply
	printf '%s\n' \
		'{"_kafka":{"p":1,"o":7},"customer_id":"CUST_KI","timestamp":"2026-11-23T09:00:01Z","heart_rate":0}' \
		'{"_kafka":{"p":2,"o":41},"customer_id":"CUST_KT","timestamp":"2026-11-23T09:00:02Z","heart_rate":212}' \
		'{"customer_id":"CUST_KB","timestamp":"2026-11-23T09:00:03Z","heart_rate":20}' \
		'{"_kafka":{"p":0,"o":9},"customer_id":"CUST_KN","timestamp":"2026-11-23T09:00:04Z","heart_rate":70}' |
		hbclassify -qq | hbpgload -q -t hb-audit
	out=$BATS_TEST_TMPDIR/k
	report --from 2026-11-23T09:00:00Z --to 2026-11-23T09:01:00Z --out "$out"
	grep -q '<tr><th>time</th><th>customer</th><th>bpm</th><th>type</th><th>reason</th><th>kafka message</th></tr>' "$out/index.html"
	anom=$(html_rows "$out/index.html" latest-anomalies)
	assert_eq "$(wc -l <<<"$anom")" 3
	assert_eq "$(grep -c '<td>CUST_KI</td>.*<td class="INVALID">INVALID</td><td>heart_rate 0 [^<]*</td><td class="kafka">hb-audit/1@7</td></tr>$' <<<"$anom")" 1
	assert_eq "$(grep -c '<td>CUST_KT</td>.*<td class="kafka">hb-audit/2@41</td></tr>$' <<<"$anom")" 1
	assert_eq "$(grep -c '<td>CUST_KB</td>.*<td class="kafka"></td></tr>$' <<<"$anom")" 1
	latest=$(html_rows "$out/index.html" latest-readings)
	assert_eq "$(wc -l <<<"$latest")" 4
	assert_eq "$(grep -c '<td>CUST_KT</td>.*<td class="kafka">hb-audit/2@41</td></tr>$' <<<"$latest")" 1
	# a NORMAL reading has none: heartbeat_records keeps no coordinates
	assert_eq "$(grep -c '<td>CUST_KN</td>.*<td class="kafka"></td></tr>$' <<<"$latest")" 1
	dropdb "$PGDATABASE"
}

@test "an empty range still writes every file, says no data, exits 0" {
	out=$BATS_TEST_TMPDIR/empty
	run --separate-stderr report --from 2020-01-01T00:00:00Z --to 2020-01-01T06:00:00Z --out "$out"
	[ "$status" -eq 0 ]
	for f in $FILES; do
		[ -s "$out/$f" ]
	done
	for f in fleet-bpm customers-bpm anomalies distribution; do
		assert_eq "$(png_size "$out/$f.png")" 900x400
	done
	assert_eq "$(sumval "$out/summary.txt" Readings)" 0
	grep -q 'no data' "$out/summary.txt"
	grep -q 'no data' "$out/index.html"
}

@test "bad options and values exit 2 with one line, and write nothing" {
	out=$BATS_TEST_TMPDIR/bad
	for args in "--no-such-option" "--from $FROM" "--out $out --from yesterday-ish" \
		"--out $out --from $FROM --last 1h" "--out $out --top 0" "--out $out --bucket 0s" \
		"--out $out --from $TO --to $FROM" "--out $out --size 10x10" "--out $out --tz Mars/Olympus" \
		"--out $out extra"; do
		# shellcheck disable=SC2086 # the words of $args are the options
		run --separate-stderr report $args
		[ "$status" -eq 2 ] || { echo "args: $args -> $status" >&2; false; }
		[ "${#stderr_lines[@]}" -eq 1 ] || { echo "args: $args: $stderr" >&2; false; }
		[[ $stderr == hb-report:* ]]
	done
	[ -z "$(ls -A "$out" 2>/dev/null)" ]
}

@test "an unreachable database exits 1 with one line on stderr, and keeps the last report" {
	out=$BATS_TEST_TMPDIR/r
	report --from "$FROM" --to "$TO" --out "$out"
	before=$(cat "$out"/* | md5sum)
	run --separate-stderr env PGHOST=127.0.0.1 PGPORT=1 "$HB_REPO/scripts/hb-report" --out "$out"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "hb-report: cannot connect to the database: "* ]]
	assert_eq "$(cat "$out"/* | md5sum)" "$before"
	assert_eq "$(ls -A "$out" | wc -l)" 8
	# a database that does not exist, the same
	run --separate-stderr env PGDATABASE=hbt_no_such_db_$$ "$HB_REPO/scripts/hb-report" --out "$out"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "hostile values are refused or treated as data; the tables stay" {
	out=$BATS_TEST_TMPDIR/r
	n=$(stored)
	run --separate-stderr report --out "$out" --customer "x'; DROP TABLE heartbeat_records; --"
	[ "$status" -eq 2 ]
	[[ $stderr == *"not a customer id"* ]]
	for opt in --from --to --tz --bucket --last; do
		run --separate-stderr report --out "$out" "$opt" "2026-11-23'; DROP TABLE heartbeat_records; --"
		[ "$status" -eq 2 ] || { echo "$opt -> $status: $stderr" >&2; false; }
	done
	run --separate-stderr report --out "$out" --from "2026-11-23 08:00:00+00' :'x' \\! touch $BATS_TEST_TMPDIR/pwned"
	[ "$status" -eq 2 ]
	[ ! -e "$BATS_TEST_TMPDIR/pwned" ]
	assert_eq "$(q "SELECT to_regclass('heartbeat_records')")" heartbeat_records
	assert_eq "$(stored)" "$n"
}

@test "a login role with only hbmon_reader is enough; one without it fails in one line" {
	out=$BATS_TEST_TMPDIR/reader
	PGUSER=$READER report --from "$FROM" --to "$TO" --out "$out"
	report --from "$FROM" --to "$TO" --out "$BATS_TEST_TMPDIR/super"
	assert_eq "$(grep -v '^generated' "$out/summary.txt")" "$(grep -v '^generated' "$BATS_TEST_TMPDIR/super/summary.txt")"
	run --separate-stderr env PGUSER="$NOBODY" "$HB_REPO/scripts/hb-report" --from "$FROM" --to "$TO" --out "$out"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"permission denied"* ]]
}

@test "it runs as cron runs it: a bare environment, no terminal, silent on success" {
	out=$BATS_TEST_TMPDIR/cron
	run env -i PATH=/usr/bin:/bin PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" PGDATABASE="$PGDATABASE" \
		setsid "$HB_REPO/scripts/hb-report" --from "$FROM" --to "$TO" --out "$out" </dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	assert_eq "$(sumval "$out/summary.txt" Readings)" \
		"$(q "SELECT (SELECT count(*) FROM heartbeat_records WHERE $in_range)
		    + (SELECT count(*) FROM heartbeat_anomalies WHERE $in_range)")"
}

@test "--help and --version" {
	run --separate-stderr report --help
	[ "$status" -eq 0 ]
	[[ $output == *"usage: hb-report"* ]]
	[[ $output == *"crontab"* ]]
	[[ $output == *"PGHOST"* ]]
	run --separate-stderr report --version
	[ "$status" -eq 0 ]
	[[ $output =~ ^hb-report\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "the thresholds come from HB_BRADY and HB_TACHY unless given, as hb-pipeline gives them to hbclassify" {
	out=$BATS_TEST_TMPDIR/t
	HB_BRADY=50 HB_TACHY=110 report --from "$FROM" --to "$TO" --out "$out"
	grep -q 'thresholds: bradycardia &lt; 50, tachycardia &gt; 110 bpm' "$out/index.html"
	HB_BRADY=50 HB_TACHY=110 report --from "$FROM" --to "$TO" --brady 45 --out "$out"
	grep -q 'thresholds: bradycardia &lt; 45, tachycardia &gt; 110 bpm' "$out/index.html"
	report --from "$FROM" --to "$TO" --out "$out"
	grep -q 'thresholds: bradycardia &lt; 40, tachycardia &gt; 180 bpm' "$out/index.html"
	run env HB_TACHY=fast "$HB_REPO/scripts/hb-report" --from "$FROM" --to "$TO" --out "$out"
	[ "$status" -eq 2 ]
	[[ $output == *"HB_TACHY"* ]]
}
