#!/usr/bin/env bats
# partitions.bats — day partitions and per-minute rollups on a real
# PostgreSQL: partitions made as rows come, the default partition, keys
# across partitions, backfill, retention, the rollups against the rows, the
# roles, and the migration of an install from before partitioning.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	hb_newdb
	export LOADER="hbt_part_loader_$$"
	psql -X -q -c "CREATE ROLE $LOADER LOGIN IN ROLE hbmon_loader"
}

# a test's background loader, if it failed before stopping it
teardown() {
	if [[ -n ${loader:-} ]]; then kill -KILL "$loader" 2>/dev/null || true; fi
	if [[ -n ${holder:-} ]]; then
		q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hbt_holder'" >/dev/null || true
		wait "$holder" 2>/dev/null || true
	fi
}

teardown_file() {
	hb_dropdb
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $LOADER" || true
}

setup() {
	q 'TRUNCATE heartbeat_records, heartbeat_anomalies, pipeline_metrics, hb_fold_minute, hb_fold_minute_hr,
	   hb_fold_5min_hr, hb_fold_5min, hb_fold_customer_minute, hb_fold_customer_day, hb_fold_day_first,
	   hb_rollup_pending, hb_rollup_delta' >/dev/null
}

day() { date -u -d "$1" +%Y-%m-%d; }
q_true() { [[ $(q "$1") == t ]]; }
parts() {
	q "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	   WHERE i.inhparent = '$1'::regclass ORDER BY 1" | tr '\n' ' '
}

# The rollups hold exactly what the rows say (every minute, status, heart rate
# and customer): as they are (some minutes folded, some pending), and again
# once every minute is folded; then the folded tables themselves, the
# customers' running totals, and per-customer sums over ranges.
rollups_exact() {
	rollups_match
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(q 'SELECT count(*) FROM hb_rollup_pending')" 0
	rollups_match
	# folded, nothing pending: the views are the tables
	assert_eq "$(q 'SELECT count(*) FROM ((TABLE hb_rollup_minute EXCEPT SELECT minute, status, readings, hr_sum, hr_min, hr_max FROM hb_fold_minute)
	                UNION ALL (SELECT minute, status, readings, hr_sum, hr_min, hr_max FROM hb_fold_minute EXCEPT TABLE hb_rollup_minute)) d')" 0
	# each running total is the sum of the customer's folded minutes of that UTC day so far
	assert_eq "$(q "SELECT count(*) FROM (
	                SELECT c_readings, c_hr_sum, c_normal, c_bradycardia, c_tachycardia, c_invalid,
	                       sum(readings) OVER w AS a, sum(hr_sum) OVER w AS b, sum(normal) OVER w AS c,
	                       sum(bradycardia) OVER w AS d, sum(tachycardia) OVER w AS e, sum(invalid) OVER w AS f
	                FROM hb_fold_customer_minute
	                WINDOW w AS (PARTITION BY customer_id, hb_utc_day(minute) ORDER BY minute)) x
	                WHERE (c_readings, c_hr_sum, c_normal, c_bradycardia, c_tachycardia, c_invalid)
	                      IS DISTINCT FROM (a, b, c, d, e, f)")" 0
	# the 5-minute slots are the sums of their minutes
	assert_eq "$(q "WITH raw AS (
	                  SELECT hb_5min(minute) AS slot, heart_rate, sum(readings) AS readings
	                  FROM hb_rollup_minute_hr GROUP BY 1, 2)
	                SELECT count(*) FROM ((TABLE raw EXCEPT TABLE hb_fold_5min_hr)
	                                      UNION ALL (TABLE hb_fold_5min_hr EXCEPT TABLE raw)) d")" 0
	# and each slot's readings and percentiles are those of its rows
	assert_eq "$(q "WITH v AS (
	                  SELECT ts, heart_rate FROM heartbeat_records
	                  UNION ALL
	                  SELECT ts, heart_rate FROM heartbeat_anomalies WHERE anomaly_type <> 'INVALID'),
	                raw AS (
	                  SELECT hb_5min(ts) AS slot, count(*) AS readings,
	                         percentile_disc(0.05) WITHIN GROUP (ORDER BY heart_rate) AS p5,
	                         percentile_disc(0.95) WITHIN GROUP (ORDER BY heart_rate) AS p95
	                  FROM v GROUP BY 1)
	                SELECT count(*) FROM ((TABLE raw EXCEPT TABLE hb_fold_5min)
	                                      UNION ALL (TABLE hb_fold_5min EXCEPT TABLE raw)) d")" 0
	# the customers' days: each customer's first folded minute of each UTC day, nothing else
	assert_eq "$(q "WITH want AS (
	                  SELECT hb_utc_day(minute) AS day, customer_id, min(minute) AS first_minute
	                  FROM hb_fold_customer_minute GROUP BY 1, 2)
	                SELECT count(*) FROM ((TABLE want EXCEPT ALL TABLE hb_customer_day)
	                                      UNION ALL (TABLE hb_customer_day EXCEPT ALL TABLE want)) d")" 0
	# a day noted with its first minute only has that folded minute, and no row of its own
	assert_eq "$(q "SELECT count(*) FROM hb_fold_day_first p
	                WHERE hb_utc_day(p.minute) <> p.day
	                   OR EXISTS (SELECT FROM hb_fold_customer_minute f
	                              WHERE f.minute >= hb_utc_day_start(p.day) AND f.minute < hb_utc_day_start(p.day + 1)
	                                AND f.minute <> p.minute)
	                   OR EXISTS (SELECT FROM hb_fold_customer_day c WHERE c.day = p.day)")" 0
	customer_sums_match -infinity infinity
	customer_sums_match "$(q "SELECT min(minute) + interval '7 minutes' FROM hb_fold_minute")" \
		"$(q "SELECT max(minute) - interval '3 minutes' FROM hb_fold_minute")"
}

# hb_customer_sums($1, $2) against the rows of those minutes
customer_sums_match() {
	assert_eq "$(q "WITH v AS (
	                  SELECT customer_id, ts, heart_rate, 'NORMAL' AS k FROM heartbeat_records
	                  UNION ALL
	                  SELECT customer_id, ts, heart_rate, anomaly_type FROM heartbeat_anomalies
	                  WHERE ts IS NOT NULL AND customer_id IS NOT NULL),
	                raw AS (
	                  SELECT customer_id, count(*) FILTER (WHERE k <> 'INVALID') AS readings,
	                         coalesce(sum(heart_rate) FILTER (WHERE k <> 'INVALID'), 0) AS hr_sum,
	                         count(*) FILTER (WHERE k = 'NORMAL') AS normal,
	                         count(*) FILTER (WHERE k = 'BRADYCARDIA') AS bradycardia,
	                         count(*) FILTER (WHERE k = 'TACHYCARDIA') AS tachycardia,
	                         count(*) FILTER (WHERE k = 'INVALID') AS invalid
	                  FROM v WHERE hb_minute(ts) >= '$1' AND hb_minute(ts) < '$2' GROUP BY 1),
	                s AS (SELECT * FROM hb_customer_sums('$1', '$2'))
	                SELECT count(*) FROM ((TABLE raw EXCEPT TABLE s) UNION ALL (TABLE s EXCEPT TABLE raw)) d")" 0
}

# hb_rollup_hr_pieces($1, $2, $3) summed per 5 minutes against the rows of
# those minutes
pieces_match() {
	assert_eq "$(q "WITH raw AS (
	                  SELECT hb_5min(minute) AS slot, heart_rate, sum(n) AS readings FROM (
	                    SELECT hb_minute(ts) AS minute, heart_rate, count(*) AS n FROM heartbeat_records GROUP BY 1, 2
	                    UNION ALL
	                    SELECT hb_minute(ts), heart_rate, count(*) FROM heartbeat_anomalies
	                    WHERE anomaly_type <> 'INVALID' GROUP BY 1, 2) x
	                  WHERE minute >= '$1' AND minute < '$2' GROUP BY 1, 2),
	                p AS (SELECT hb_5min(piece), heart_rate, sum(readings) FROM hb_rollup_hr_pieces('$1', '$2', $3)
	                      GROUP BY 1, 2)
	                SELECT count(*) FROM ((TABLE raw EXCEPT TABLE p) UNION ALL (TABLE p EXCEPT TABLE raw)) d")" 0
}

# hb_report_fleet($1, $2, $3) against the rows, in a zone 5 h 45 min off UTC
fleet_match() {
	assert_eq "$(PGTZ=Asia/Kathmandu q "WITH raw AS (
	                  SELECT date_bin(make_interval(secs => $3), hb_minute(ts), timestamptz '2000-01-01 00:00') AS b,
	                         heart_rate FROM (
	                    SELECT ts, heart_rate FROM heartbeat_records
	                    UNION ALL
	                    SELECT ts, heart_rate FROM heartbeat_anomalies WHERE anomaly_type <> 'INVALID') x
	                  WHERE hb_minute(ts) >= '$1' AND hb_minute(ts) < '$2'),
	                want AS (
	                  SELECT b, round(avg(heart_rate), 3), min(heart_rate), max(heart_rate),
	                         percentile_disc(0.05) WITHIN GROUP (ORDER BY heart_rate),
	                         percentile_disc(0.95) WITHIN GROUP (ORDER BY heart_rate), count(*)
	                  FROM raw GROUP BY 1),
	                got AS (
	                  SELECT bucket, round(avg_bpm, 3), min_bpm, max_bpm, p5_bpm, p95_bpm, readings
	                  FROM hb_report_fleet('$1', '$2', $3) WHERE readings > 0)
	                SELECT count(*) FROM ((TABLE want EXCEPT TABLE got) UNION ALL (TABLE got EXCEPT TABLE want)) d")" 0
}

rollups_match() {
	local diff lo hi secs
	diff=$(q "WITH raw AS (
	            SELECT hb_minute(ts) AS minute, 'NORMAL' AS status, count(*) AS readings,
	                   sum(heart_rate) AS hr_sum, min(heart_rate) AS hr_min, max(heart_rate) AS hr_max
	            FROM heartbeat_records GROUP BY 1
	            UNION ALL
	            SELECT hb_minute(ts), anomaly_type, count(*),
	                   coalesce(sum(heart_rate) FILTER (WHERE anomaly_type <> 'INVALID'), 0),
	                   min(heart_rate) FILTER (WHERE anomaly_type <> 'INVALID'),
	                   max(heart_rate) FILTER (WHERE anomaly_type <> 'INVALID')
	            FROM heartbeat_anomalies WHERE ts IS NOT NULL GROUP BY 1, 2),
	          roll AS (SELECT minute, status, readings, hr_sum, hr_min, hr_max FROM hb_rollup_minute)
	          SELECT count(*) FROM ((TABLE raw EXCEPT TABLE roll) UNION ALL (TABLE roll EXCEPT TABLE raw)) d")
	assert_eq "$diff" 0
	diff=$(q "WITH raw AS (
	            SELECT minute, heart_rate, sum(n) AS readings FROM (
	              SELECT hb_minute(ts) AS minute, heart_rate, count(*) AS n FROM heartbeat_records GROUP BY 1, 2
	              UNION ALL
	              SELECT hb_minute(ts), heart_rate, count(*) FROM heartbeat_anomalies
	              WHERE anomaly_type <> 'INVALID' GROUP BY 1, 2) x GROUP BY 1, 2),
	          roll AS (SELECT minute, heart_rate, readings FROM hb_rollup_minute_hr)
	          SELECT count(*) FROM ((TABLE raw EXCEPT TABLE roll) UNION ALL (TABLE roll EXCEPT TABLE raw)) d")
	assert_eq "$diff" 0
	diff=$(q "WITH v AS (
	            SELECT customer_id, ts, heart_rate, 'NORMAL' AS k FROM heartbeat_records
	            UNION ALL
	            SELECT customer_id, ts, heart_rate, anomaly_type FROM heartbeat_anomalies
	            WHERE ts IS NOT NULL AND customer_id IS NOT NULL),
	          raw AS (
	            SELECT customer_id, hb_minute(ts) AS minute,
	                   count(*) FILTER (WHERE k <> 'INVALID') AS readings,
	                   coalesce(sum(heart_rate) FILTER (WHERE k <> 'INVALID'), 0) AS hr_sum,
	                   min(heart_rate) FILTER (WHERE k <> 'INVALID') AS hr_min,
	                   max(heart_rate) FILTER (WHERE k <> 'INVALID') AS hr_max,
	                   count(*) FILTER (WHERE k = 'NORMAL') AS normal,
	                   count(*) FILTER (WHERE k = 'BRADYCARDIA') AS bradycardia,
	                   count(*) FILTER (WHERE k = 'TACHYCARDIA') AS tachycardia,
	                   count(*) FILTER (WHERE k = 'INVALID') AS invalid
	            FROM v GROUP BY 1, 2),
	          roll AS (
	            SELECT customer_id, minute, readings, hr_sum, hr_min, hr_max, normal, bradycardia,
	                   tachycardia, invalid FROM hb_rollup_customer_minute)
	          SELECT count(*) FROM ((TABLE raw EXCEPT TABLE roll) UNION ALL (TABLE roll EXCEPT TABLE raw)) d")
	assert_eq "$diff" 0
	# the heart rates per slot or minute (hb_report_fleet's): whole slots, ragged ends, pending minutes
	lo=$(q "SELECT min(minute) FROM hb_rollup_minute")
	hi=$(q "SELECT max(minute) + interval '1 minute' FROM hb_rollup_minute")
	if [[ -n $lo ]]; then
		pieces_match "$lo" "$hi" true
		pieces_match "$lo" "$hi" false
		pieces_match "$(q "SELECT timestamptz '$lo' + interval '2 minutes 30 seconds'")" \
			"$(q "SELECT timestamptz '$hi' - interval '80 seconds'")" true
		pieces_match "$(q "SELECT timestamptz '$lo' + interval '1 minute'")" "$(q "SELECT timestamptz '$lo' + interval '6 minutes'")" true
		for secs in 120 300 900; do
			fleet_match "$lo" "$hi" "$secs"
			fleet_match "$(q "SELECT timestamptz '$lo' + interval '2 minutes 30 seconds'")" \
				"$(q "SELECT timestamptz '$hi' - interval '80 seconds'")" "$secs"
		done
	fi
	# and the views agree with the rows
	assert_eq "$(q 'SELECT readings_stored FROM vw_pipeline_summary')" \
		"$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')"
}

@test "hbpgload makes the partitions of the days ahead and of recent rows; far days go to the default" {
	today=$(day today)
	hbsim --seed 1 --start "$(day '3 days ago')T23:59:00Z" --count 8000 --rate 0 --invalid-rate 0.01 \
		--malformed-rate 0.01 -q | hbclassify -qq >"$BATS_TEST_TMPDIR/recent.ndjson"
	hbsim --seed 2 --start 2020-02-29T12:00:00Z --count 500 --rate 0 -q | hbclassify -qq >"$BATS_TEST_TMPDIR/old.ndjson"
	PGUSER=$LOADER hbpgload -q "$BATS_TEST_TMPDIR/recent.ndjson"
	PGUSER=$LOADER hbpgload -q "$BATS_TEST_TMPDIR/old.ndjson"
	p=$(parts heartbeat_records)
	for d in "$(day '3 days ago')" "$(day '2 days ago')" "$(day yesterday)" "$today" "$(day '7 days')"; do
		[[ $p == *"heartbeat_records_p${d//-/} "* ]]
		[[ $(parts heartbeat_anomalies) == *"heartbeat_anomalies_p${d//-/} "* ]]
	done
	[[ $p != *"_p20200229"* ]]
	[[ $p != *"_p$(day '8 days' | tr -d -) "* ]]
	# where the rows are: their day's partition, or the default (2020, no time)
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records_default")" \
		"$(q "SELECT count(*) FROM heartbeat_records WHERE ts < '2021-01-01'")"
	[ "$(q "SELECT count(*) FROM heartbeat_records_default")" -gt 400 ]
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records WHERE tableoid::regclass::text
	                  <> 'heartbeat_records_p' || to_char(ts AT TIME ZONE 'UTC', 'YYYYMMDD')
	                  AND ts > '2021-01-01'")" 0
	[ "$(q "SELECT count(*) FROM heartbeat_anomalies_default WHERE ts IS NULL")" -gt 40 ]
	# every line of both files stored once
	n=$(cat "$BATS_TEST_TMPDIR/recent.ndjson" "$BATS_TEST_TMPDIR/old.ndjson" | wc -l)
	assert_eq "$(q 'SELECT readings_stored FROM vw_pipeline_summary')" "$n"
	rollups_exact
}

@test "the unique keys hold across partitions: a replay, INVALID lines with and without a time, stores nothing more" {
	hbsim --seed 3 --start "$(day yesterday)T23:58:00Z" --count 12000 --rate 0 --invalid-rate 0.02 \
		--malformed-rate 0.02 -q | hbclassify -qq >"$BATS_TEST_TMPDIR/c.ndjson"
	hbpgload -q "$BATS_TEST_TMPDIR/c.ndjson"
	before=$(q 'SELECT count(*) FROM heartbeat_records')/$(q 'SELECT count(*) FROM heartbeat_anomalies')
	[ "$(q 'SELECT count(DISTINCT tableoid) FROM heartbeat_records')" -eq 2 ]	# midnight crossed
	hbpgload -q "$BATS_TEST_TMPDIR/c.ndjson"
	# and a third time through the staging path from the first batch on
	hbpgload -q --batch-rows 100 "$BATS_TEST_TMPDIR/c.ndjson"
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')/$(q 'SELECT count(*) FROM heartbeat_anomalies')" "$before"
	assert_eq "$(q 'SELECT readings_stored FROM vw_pipeline_summary')" "$(wc -l <"$BATS_TEST_TMPDIR/c.ndjson")"
	rollups_exact
}

@test "two loaders on the same readings at once: each row once, the rollups exact" {
	hbsim --seed 4 --start "$(day today)T00:00:00Z" --count 60000 --rate 0 --customers 50 -q |
		hbclassify -qq >"$BATS_TEST_TMPDIR/c.ndjson"
	hbpgload -q --batch-rows 500 "$BATS_TEST_TMPDIR/c.ndjson" &
	a=$!
	hbpgload -q --batch-rows 700 "$BATS_TEST_TMPDIR/c.ndjson" &
	b=$!
	wait "$a"
	wait "$b"
	assert_eq "$(q 'SELECT readings_stored FROM vw_pipeline_summary')" 60000
	rollups_exact
}

@test "hb-partitions ensure: a backfill's days move out of the default partition, counts unchanged" {
	hbsim --seed 5 --start 2025-06-30T23:59:00Z --count 6000 --rate 0 -q | hbclassify -qq | hbpgload -q
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records_default')" "$(q 'SELECT count(*) FROM heartbeat_records')"
	before=$(q 'SELECT readings_stored FROM vw_pipeline_summary')
	run "$HB_REPO/scripts/hb-partitions" ensure --from 2025-06-30 --to 2025-07-01
	[ "$status" -eq 0 ]
	[ "$output" = "hb-partitions: 4 partitions made (two tables, one per day)" ]
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records_default')" 0
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_anomalies_default')" 0
	[ "$(q 'SELECT count(*) FROM heartbeat_records_p20250630')" -gt 0 ]
	[ "$(q 'SELECT count(*) FROM heartbeat_records_p20250701')" -gt 0 ]
	assert_eq "$(q 'SELECT readings_stored FROM vw_pipeline_summary')" "$before"
	rollups_exact
	# again: nothing to do, nothing said
	run "$HB_REPO/scripts/hb-partitions" ensure --from 2025-06-30 --to 2025-07-01
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# the loader asked for its days; the default list is there too
	run "$HB_REPO/scripts/hb-partitions" list
	[ "$status" -eq 0 ]
	[[ $output =~ heartbeat_records_p20250630\ +2025-06-30 ]]
	[[ $output == *"heartbeat_records_default"*"default"* ]]
}

@test "hb-partitions retain: old days go, recent ones stay; a dry run changes nothing; again is quiet" {
	hbsim --seed 6 --start "$(day '12 days ago')T00:00:00Z" --count 2000 --rate 0 -q | hbclassify -qq | hbpgload -q
	hbsim --seed 6 --start "$(day '2 days ago')T00:00:00Z" --count 2000 --rate 0 -q | hbclassify -qq | hbpgload -q
	hbsim --seed 6 --start 2019-01-01T00:00:00Z --count 300 --rate 0 -q | hbclassify -qq | hbpgload -q
	old=$(day '12 days ago' | tr -d -)
	[[ $(parts heartbeat_records) == *"_p$old "* ]]
	run "$HB_REPO/scripts/hb-partitions" retain --days 10 --dry-run
	[ "$status" -eq 0 ]
	[[ $output == *"would drop heartbeat_records_p$old"* ]]
	assert_eq "$(q 'SELECT readings_stored FROM vw_pipeline_summary')" 4300
	run "$HB_REPO/scripts/hb-partitions" retain --days 10
	[ "$status" -eq 0 ]
	[[ $output == *"dropped heartbeat_records_p$old: "* ]]
	[[ $output == *"dropped heartbeat_anomalies_p$old: "* ]]
	[[ $output == *"dropped heartbeat_records_default (rows): "* ]]
	[[ $output == *"dropped hb_fold_minute (rows): "* ]]
	[[ $output == *"dropped hb_fold_5min (rows): "* ]]
	[[ $(parts heartbeat_records) != *"_p$old "* ]]
	assert_eq "$(q 'SELECT readings_stored FROM vw_pipeline_summary')" 2000
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records WHERE ts < now() - interval '10 days'")" 0
	rollups_exact
	run "$HB_REPO/scripts/hb-partitions" retain --days 10
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# usage and refusals
	run "$HB_REPO/scripts/hb-partitions" retain --days 0
	[ "$status" -eq 2 ]
	run "$HB_REPO/scripts/hb-partitions" retain
	[ "$status" -eq 2 ]
	run "$HB_REPO/scripts/hb-partitions" frobnicate
	[ "$status" -eq 2 ]
	run "$HB_REPO/scripts/hb-partitions" ensure -d 'dbname=x password=secret'
	[ "$status" -eq 2 ]
	run "$HB_REPO/scripts/hb-partitions" --help
	[ "$status" -eq 0 ]
	[[ $output == *"retain --days N"* ]]
}

@test "the loader may ask for partitions but not drop them, nor write the rollups" {
	run env PGUSER="$LOADER" "$HB_REPO/scripts/hb-partitions" retain --days 1
	[ "$status" -eq 1 ]
	[[ $output == *"permission denied"* ]]
	[ "${#lines[@]}" -eq 1 ]
	run env PGUSER="$LOADER" "$HB_REPO/scripts/hb-partitions" ensure --from 2025-01-01 --to 2025-01-01
	[ "$status" -eq 0 ]
	for sql in "INSERT INTO hb_rollup_minute VALUES (now(), 'NORMAL', 70, 1)" \
		"UPDATE hb_rollup_customer_minute SET readings = 0" 'SELECT count(*) FROM hb_rollup_minute' \
		"INSERT INTO hb_fold_minute VALUES (now(), 'NORMAL', 70, 1)" 'DELETE FROM hb_rollup_pending' \
		'UPDATE hb_fold_customer_minute SET c_readings = 0' 'SELECT count(*) FROM hb_fold_minute' \
		'SELECT count(*) FROM hb_rollup_delta' 'DELETE FROM hb_rollup_delta' \
		'DROP TABLE heartbeat_records_default' "SELECT hb_retain(1)"; do
		run env PGUSER="$LOADER" psql -X -qAt -v ON_ERROR_STOP=1 -c "$sql"
		[ "$status" -ne 0 ]
		# (the rollups' views take no writes from anyone: not updatable)
		[[ $output == *"permission denied"* || $output == *"must be owner"* ||
			$output == *"cannot insert into view"* || $output == *"cannot update view"* ]]
	done
	# but it may ask for a fold (hbpgload does, after its commits)
	run env PGUSER="$LOADER" psql -X -qAt -v ON_ERROR_STOP=1 -c "SELECT hb_rollup_fold()"
	[ "$status" -eq 0 ]
	[[ $output =~ ^[0-9]+$ ]]
}

@test "the rollups stay exact for every writer: psql copy, INSERT, UPDATE, DELETE and TRUNCATE, folded or not" {
	hbsim --seed 8 --start "$(day yesterday)T23:55:00Z" --count 20000 --rate 0 --customers 40 --invalid-rate 0.01 -q |
		hbclassify -qq >"$BATS_TEST_TMPDIR/c.ndjson"
	hbpgload -q "$BATS_TEST_TMPDIR/c.ndjson"
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	# psql \copy of more rows into minutes already folded (late rows) and new ones
	jq -r 'select(.status == "NORMAL") | [.customer_id, .timestamp, .heart_rate] | @tsv' "$BATS_TEST_TMPDIR/c.ndjson" |
		head -n 3000 | awk -F'\t' '{ sub(/Z$/, "1Z", $2); print $1 "\t" $2 "\t" $3 }' >"$BATS_TEST_TMPDIR/late.tsv"
	psql -X -q -v ON_ERROR_STOP=1 -c "\\copy heartbeat_records (customer_id, ts, heart_rate) FROM '$BATS_TEST_TMPDIR/late.tsv'"
	[ "$(q 'SELECT count(*) FROM hb_rollup_pending')" -gt 0 ]
	rollups_match
	q "INSERT INTO heartbeat_anomalies (anomaly_type, customer_id, ts, heart_rate)
	   VALUES ('TACHYCARDIA', 'NEW_ONE', '$(day yesterday)T23:57:30Z', 201)" >/dev/null
	q "UPDATE heartbeat_records SET heart_rate = heart_rate + 1 WHERE customer_id = 'CUST_00007'" >/dev/null
	q "DELETE FROM heartbeat_records WHERE customer_id = 'CUST_00008' AND ts < '$(day today)T00:00:30Z'" >/dev/null
	q "DELETE FROM heartbeat_anomalies WHERE customer_id = 'CUST_00009'" >/dev/null
	rollups_exact
	# a TRUNCATE of one table: what the other holds is all that is left
	q 'TRUNCATE heartbeat_records' >/dev/null
	rollups_exact
	assert_eq "$(q "SELECT count(*) FROM hb_rollup_customer_minute WHERE normal > 0")" 0
}

@test "a TRUNCATE while a fold runs waits for it, not a deadlock (the fold locks the parents before their partitions)" {
	d=$(day yesterday)
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES ('A', '${d}T10:00:10Z', 70)" >/dev/null
	# a session holds the words' table until a TRUNCATE of the parents is
	# under way: the fold stops there, after it has locked the partitions it
	# summarizes, and the TRUNCATE comes in between
	psql -X -qAt -v ON_ERROR_STOP=1 -c "BEGIN; LOCK TABLE hb_rollup_delta IN ACCESS EXCLUSIVE MODE;
		DO \$\$ BEGIN
			FOR i IN 1..600 LOOP
				EXIT WHEN EXISTS (SELECT FROM pg_locks WHERE relation = 'heartbeat_records'::regclass
				                  AND mode = 'AccessExclusiveLock');
				PERFORM pg_sleep(0.05);
			END LOOP;
		END \$\$; COMMIT" &
	holder=$!
	wait_for 30 q_true "SELECT EXISTS (SELECT FROM pg_locks WHERE relation = 'hb_rollup_delta'::regclass
	                                     AND mode = 'AccessExclusiveLock' AND granted)"
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >"$BATS_TEST_TMPDIR/fold.out" 2>&1 &
	fold=$!
	wait_for 30 q_true "SELECT EXISTS (SELECT FROM pg_locks WHERE relation = 'hb_rollup_delta'::regclass AND NOT granted)"
	q 'TRUNCATE heartbeat_records, heartbeat_anomalies' >"$BATS_TEST_TMPDIR/truncate.out" 2>&1 &
	truncate=$!
	wait "$holder"
	fold_rc=0 truncate_rc=0
	wait "$fold" || fold_rc=$?
	wait "$truncate" || truncate_rc=$?
	cat "$BATS_TEST_TMPDIR/fold.out" "$BATS_TEST_TMPDIR/truncate.out"
	assert_eq "$fold_rc" 0
	assert_eq "$truncate_rc" 0
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" 0
	# and the rollups are those of what comes next
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES ('B', '${d}T10:01:10Z', 71), ('B', '${d}T10:02:10Z', 72)" >/dev/null
	rollups_exact
	assert_eq "$(q 'SELECT sum(readings) FROM hb_fold_customer_minute')" 2
}

@test "a customer's earlier minute folded after a later one moves the day's first minute back, and the running totals" {
	d=$(day yesterday)
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES
	   ('A', '${d}T10:05:10Z', 70), ('B', '${d}T10:01:10Z', 60)" >/dev/null
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(q "SELECT to_char(first_minute AT TIME ZONE 'UTC', 'HH24:MI') FROM hb_fold_customer_day WHERE customer_id = 'A'")" 10:05
	# 10:02 comes later, for A and a new customer C
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES
	   ('A', '${d}T10:02:10Z', 71), ('C', '${d}T10:02:20Z', 80)" >/dev/null
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(q "SELECT to_char(first_minute AT TIME ZONE 'UTC', 'HH24:MI') FROM hb_fold_customer_day WHERE customer_id = 'A'")" 10:02
	assert_eq "$(q "SELECT to_char(first_minute AT TIME ZONE 'UTC', 'HH24:MI') FROM hb_fold_customer_day WHERE customer_id = 'C'")" 10:02
	assert_eq "$(q "SELECT c_readings || ' ' || c_hr_sum FROM hb_fold_customer_minute WHERE customer_id = 'A' AND minute = '${d}T10:05:00Z'")" "2 141"
	rollups_exact
}

@test "a day's first minute folded notes the day with it, drops what hb_fold_customer_day held of the day, and the next minute writes its customers out" {
	d=$(day yesterday)
	# as a fold of before 2026-12-04 left them for customers whose rows were deleted: one comes again, one not
	q "INSERT INTO hb_fold_customer_day (day, customer_id, first_minute) VALUES
	   ('$d', 'A', '${d}T09:00:00Z'), ('$d', 'Z', '${d}T09:00:00Z')" >/dev/null
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES
	   ('A', '${d}T10:01:10Z', 70), ('B', '${d}T10:01:20Z', 60)" >/dev/null
	run -0 q "SELECT hb_rollup_fold(interval '0', 100000, true)"
	assert_eq "$output" 1
	days() {
		q "SELECT string_agg(customer_id || ' ' || to_char(first_minute AT TIME ZONE 'UTC', 'HH24:MI'), ', '
		   ORDER BY customer_id) FROM $1"
	}
	assert_eq "$(days hb_customer_day)" "A 10:01, B 10:01"
	assert_eq "$(q 'SELECT count(*) FROM hb_fold_customer_day')" 0
	assert_eq "$(q "SELECT day || ' ' || to_char(minute AT TIME ZONE 'UTC', 'HH24:MI') FROM hb_fold_day_first")" "$d 10:01"
	# the dashboard's list of customers has them
	sql=$(jq -r '.templating.list[] | select(.name == "customer") | .query | if type == "object" then (.rawSql // .query) else . end' \
		"$HB_REPO/grafana/dashboards/hbmon.json")
	assert_eq "$(q "$sql" | sort | paste -sd, -)" "A,B"
	rollups_exact
	# a fold of an older sql/ knew nothing of the note: it could have given B a
	# later first minute.  Applying sql/ writes the noted days out, the earlier minute kept
	q "INSERT INTO hb_fold_customer_day (day, customer_id, first_minute) VALUES ('$d', 'B', '${d}T10:03:00Z')" >/dev/null
	"$HB_REPO/scripts/hb-pg" apply
	assert_eq "$(days hb_fold_customer_day)" "A 10:01, B 10:01"
	assert_eq "$(q 'SELECT count(*) FROM hb_fold_day_first')" 0
	rollups_exact
	# the next minute of the day: C's day from 10:02
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES
	   ('B', '${d}T10:02:20Z', 61), ('C', '${d}T10:02:30Z', 80)" >/dev/null
	run -0 q "SELECT hb_rollup_fold(interval '0', 100000, true)"
	assert_eq "$(days hb_fold_customer_day)" "A 10:01, B 10:01, C 10:02"
	rollups_exact
	# two days' first minutes in one fold: both noted; the next minute of one
	# writes its customers out and adds its own, the other stays noted
	d3=$(day '3 days ago') d4=$(day '4 days ago')
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES
	   ('P', '${d3}T08:00:10Z', 70), ('Q', '${d3}T08:00:20Z', 71), ('S', '${d4}T09:00:10Z', 75)" >/dev/null
	run -0 q "SELECT hb_rollup_fold(interval '0', 100000, true)"
	assert_eq "$(q "SELECT string_agg(day::text, ' ' ORDER BY day) FROM hb_fold_day_first")" "$d4 $d3"
	rollups_exact
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES
	   ('Q', '${d3}T08:01:20Z', 72), ('R', '${d3}T08:01:30Z', 73)" >/dev/null
	run -0 q "SELECT hb_rollup_fold(interval '0', 100000, true)"
	assert_eq "$(q 'SELECT day FROM hb_fold_day_first')" "$d4"
	assert_eq "$(days "hb_fold_customer_day WHERE day = '$d3'")" "P 08:00, Q 08:00, R 08:01"
	rollups_exact
	# a day noted, then its minute's rows deleted and folded again: nobody has that day
	t=$(day today)
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES ('D', '${t}T00:00:10Z', 70)" >/dev/null
	run -0 q "SELECT hb_rollup_fold(interval '0', 100000, true)"
	assert_eq "$(q "SELECT count(*) FROM hb_fold_day_first WHERE day = '$t'")" 1
	q "DELETE FROM heartbeat_records WHERE customer_id = 'D'" >/dev/null
	run -0 q "SELECT hb_rollup_fold(interval '0', 100000, true)"
	assert_eq "$(q "SELECT count(*) FROM hb_customer_day WHERE day = '$t'")" 0
	assert_eq "$(q "SELECT count(*) FROM hb_fold_day_first WHERE day = '$t'")" 0
	rollups_exact
	# and hb_retain takes a noted day with the others
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES ('F', '$(day '2 days ago')T12:00:10Z', 70)" >/dev/null
	run -0 q "SELECT hb_rollup_fold(interval '0', 100000, true)"
	assert_eq "$(q 'SELECT count(*) FROM hb_fold_day_first')" 2
	run -0 q "SELECT count(*) FROM hb_retain(1)"
	assert_eq "$(q 'SELECT count(*) FROM hb_fold_day_first')" 0
}

@test "applying sql/ gives hb_fold_customer_day of before (key (day, customer_id), an index on customer_id) its key (customer_id, day) and an index on day" {
	d=$(day yesterday)
	hbsim --seed 4 --start "${d}T10:00:00Z" --count 600 --rate 0 --customers 5 --clock-rate 5 -q |
		hbclassify -qq | hbpgload -q
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	q "ALTER TABLE hb_fold_customer_day DROP CONSTRAINT hb_fold_customer_day_pkey,
	   ADD CONSTRAINT hb_fold_customer_day_pkey PRIMARY KEY (day, customer_id)" >/dev/null
	q "DROP INDEX hb_fold_customer_day_day" >/dev/null
	q "CREATE INDEX hb_fold_customer_day_customer ON hb_fold_customer_day (customer_id)" >/dev/null
	"$HB_REPO/scripts/hb-pg" apply
	assert_eq "$(q "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'hb_fold_customer_day_pkey'")" \
		"PRIMARY KEY (customer_id, day)"
	assert_eq "$(q "SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'hb_fold_customer_day'")" \
		"hb_fold_customer_day_day hb_fold_customer_day_pkey"
	assert_eq "$(q "SELECT pg_get_indexdef('hb_fold_customer_day_day'::regclass)")" \
		"CREATE INDEX hb_fold_customer_day_day ON public.hb_fold_customer_day USING btree (day)"
	assert_eq "$(q 'SELECT count(*) FROM hb_fold_customer_day')" 5
	# and again: nothing to do
	"$HB_REPO/scripts/hb-pg" apply
	assert_eq "$(q "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'hb_fold_customer_day_pkey'")" \
		"PRIMARY KEY (customer_id, day)"
	rollups_exact
}

@test "applying sql/ makes the 5-minute slots whole again where they are not the sums of their minutes or their percentiles differ" {
	hbsim --seed 9 --start "$(day yesterday)T10:00:00Z" --count 6000 --rate 0 --customers 5 --clock-rate 5 -q |
		hbclassify -qq | hbpgload -q
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	[ "$(q 'SELECT count(DISTINCT slot) FROM hb_fold_5min_hr')" -ge 3 ]
	# as a fold of an older sql/ (no slots) or a database of before would leave them
	q "DELETE FROM hb_fold_5min_hr WHERE slot = (SELECT min(slot) FROM hb_fold_5min_hr)" >/dev/null
	q "UPDATE hb_fold_5min_hr SET readings = readings + 1 WHERE slot = (SELECT max(slot) FROM hb_fold_5min_hr)" >/dev/null
	q "INSERT INTO hb_fold_5min_hr VALUES ('$(day yesterday)T09:00:00Z', 70, 3)" >/dev/null
	# and as one without the slots' percentiles, or a hand that changed one
	q "DELETE FROM hb_fold_5min WHERE slot = (SELECT min(slot) + interval '5 minutes' FROM hb_fold_5min)" >/dev/null
	q "UPDATE hb_fold_5min SET p95 = p95 + 1 WHERE slot = (SELECT min(slot) + interval '10 minutes' FROM hb_fold_5min)" >/dev/null
	q "INSERT INTO hb_fold_5min VALUES ('$(day yesterday)T09:05:00Z', 3, 70, 70)" >/dev/null
	"$HB_REPO/scripts/hb-pg" apply
	assert_eq "$(q "SELECT count(*) FROM hb_fold_5min_hr WHERE slot < '$(day yesterday)T10:00:00Z'")" 0
	assert_eq "$(q "SELECT count(*) FROM hb_fold_5min WHERE slot < '$(day yesterday)T10:00:00Z'")" 0
	rollups_exact
}

@test "late rows for a folded day wait for a backfill to be quiet, but not more than a minute each" {
	d=$(day yesterday)
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES
	   ('A', '${d}T10:00:10Z', 70), ('A', '${d}T10:05:10Z', 71)" >/dev/null
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	# late rows for 10:01 (a minute ago, quiet since) and 10:02 (noted now):
	# the day is busy with late rows
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES ('B', '${d}T10:01:10Z', 72)" >/dev/null
	q "UPDATE hb_rollup_pending SET noted_at = clock_timestamp() - interval '61 seconds'" >/dev/null
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES ('B', '${d}T10:02:10Z', 73)" >/dev/null
	# (noted "now" however slowly this test runs)
	q "UPDATE hb_rollup_pending SET noted_at = clock_timestamp() + interval '1 hour' WHERE minute = '${d}T10:02:00Z'" >/dev/null
	# the default fold (quiet 2 s): 10:01 has been quiet a minute, so it is folded while
	# the day is busy; 10:02 waits
	assert_eq "$(q 'SELECT hb_rollup_fold()')" 1
	assert_eq "$(q "SELECT to_char(minute AT TIME ZONE 'UTC', 'HH24:MI') FROM hb_rollup_pending")" 10:02
	assert_eq "$(q "SELECT readings FROM hb_fold_customer_minute WHERE customer_id = 'B'")" 1
	rollups_exact
}

rows_are() { [ "$(q "SELECT count(*) FROM $1")" -eq "$2" ]; }	# table want: for wait_for
pending_minutes() {
	q "SELECT string_agg(to_char(minute AT TIME ZONE 'UTC', 'HH24:MI'), ' ' ORDER BY minute) FROM (SELECT DISTINCT minute FROM hb_rollup_pending) p"
}

@test "hb_rollup_fold_before folds the minutes a loader has passed without waiting for them to be quiet" {
	d=$(day yesterday)
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES
	   ('A', '${d}T10:00:10Z', 70), ('A', '${d}T10:01:10Z', 71), ('A', '${d}T10:02:10Z', 72)" >/dev/null
	# noted "now" however slowly this test runs: the quiet rule folds none of them
	q "UPDATE hb_rollup_pending SET noted_at = clock_timestamp() + interval '1 hour'" >/dev/null
	assert_eq "$(q 'SELECT hb_rollup_fold()')" 0
	# a loader whose last batch began at 10:02 has passed 10:00 and 10:01 (as the loader role)
	assert_eq "$(PGUSER=$LOADER q "SELECT hb_rollup_fold_before('${d}T10:02:00Z')")" 2
	assert_eq "$(pending_minutes)" 10:02
	assert_eq "$(q "SELECT count(*) FROM hb_fold_customer_minute WHERE customer_id = 'A'")" 2
	# a row that still comes for a passed minute notes it again: while rows come
	# for it (a backfill of a folded day), it waits even though passed
	q "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES ('B', '${d}T10:00:20Z', 73)" >/dev/null
	q "UPDATE hb_rollup_pending SET noted_at = clock_timestamp() + interval '1 hour'" >/dev/null
	assert_eq "$(q "SELECT hb_rollup_fold_before('${d}T10:02:00Z')")" 0
	assert_eq "$(pending_minutes)" "10:00 10:02"
	rollups_exact
}

@test "hbpgload folds the minutes its input has passed while it runs, not only when they are quiet" {
	d=$(day yesterday)
	mkfifo "$BATS_TEST_TMPDIR/in"
	# no metrics snapshots meanwhile: only the batches below commit (and fold)
	PGUSER=$LOADER hbpgload -q -m 3600000 "$BATS_TEST_TMPDIR/in" 3>&- &
	loader=$!
	# read-write: the open does not wait for a reader (a loader that failed to start)
	exec 4<>"$BATS_TEST_TMPDIR/in"
	for m in 0 1 2 3 4 5; do
		printf '{"customer_id":"A","timestamp":"%sT10:0%s:10Z","heart_rate":70,"status":"NORMAL"}\n' "$d" "$m"
	done >&4
	wait_for 20 rows_are heartbeat_records 6
	# those minutes noted "now" for good: only having been passed can fold them
	q "UPDATE hb_rollup_pending SET noted_at = clock_timestamp() + interval '1 hour'" >/dev/null
	[ "$(q "SELECT count(DISTINCT minute) FROM hb_rollup_pending WHERE minute < '${d}T10:06:00Z'")" -ge 1 ]
	# readings of 10:06 on, a batch at a time (a fold goes at most once a second)
	passed() {
		printf '{"customer_id":"A","timestamp":"%sT10:06:%02dZ","heart_rate":71,"status":"NORMAL"}\n' "$d" "$((++sec % 60))" >&4
		[ "$(q "SELECT count(*) FROM hb_rollup_pending WHERE minute < '${d}T10:06:00Z'")" -eq 0 ]
	}
	sec=0
	wait_for 30 passed
	kill -0 "$loader"
	assert_eq "$(q "SELECT count(*) FROM hb_fold_customer_minute WHERE customer_id = 'A' AND minute < '${d}T10:06:00Z'")" 6
	exec 4>&-
	wait "$loader"
	loader=
	rollups_exact
}

# The SQL of a word on the rows of the VALUES list $2 under token $1, as
# hbpgload gives it (lib/hb_load_delta.c): per minute, per customer and per
# heart rate.
word_sql() {
	echo "CREATE TEMP TABLE w (customer_id text COLLATE \"C\", ts timestamptz, heart_rate integer) ON COMMIT DROP;
	   INSERT INTO w VALUES $2;
	   INSERT INTO hb_rollup_delta
	   SELECT $1, c.minute, c.customers, c.c_n, c.c_sum, c.c_min, c.c_max, h.hr, h.hr_n
	   FROM (SELECT minute, array_agg(customer_id) AS customers, array_agg(n) AS c_n, array_agg(s) AS c_sum,
	                array_agg(lo) AS c_min, array_agg(hi) AS c_max
	         FROM (SELECT hb_minute(ts) AS minute, customer_id, count(*)::integer AS n, sum(heart_rate)::bigint AS s,
	                      min(heart_rate) AS lo, max(heart_rate) AS hi FROM w GROUP BY 1, 2) x GROUP BY 1) c
	   JOIN (SELECT minute, array_agg(heart_rate) AS hr, array_agg(n) AS hr_n
	         FROM (SELECT hb_minute(ts) AS minute, heart_rate, count(*)::integer AS n FROM w GROUP BY 1, 2) x
	         GROUP BY 1) h USING (minute);"
}
# Stores the rows $2 into heartbeat_records under token $1, as hbpgload does.
store_under() {
	q "BEGIN; SET LOCAL hbmon.delta = '$1'; INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES $2; COMMIT" >/dev/null
}
# A word under token $1 on the rows $2, in a transaction of its own (as hbpgload gives it).
word_for() {
	q "BEGIN; $(word_sql "$1" "$2") COMMIT" >/dev/null
}
# Both in one transaction, the word first (as hbpgload did before 2026-12-05):
# the word made from $3 (the same list unless given).
store_with_word() {
	q "BEGIN; SET LOCAL hbmon.delta = '$1'; $(word_sql "$1" "${3:-$2}")
	   INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES $2; COMMIT" >/dev/null
}
cm() {
	q "SELECT readings || ' ' || hr_min || ' ' || hr_max FROM hb_fold_customer_minute
	   WHERE customer_id = '$1' AND minute = '$2'"
}

@test "the fold takes a loader's words on its rows in place of reading them when they add up to its notes, and only then" {
	d=$(day yesterday)
	# words that agree with the rows on each minute's count and heart-rate sum: believed.
	# They say A's readings of 10:00 were 70 and 72 where they are 71 and 71: the fold
	# gives the word's lowest and highest, so it read the word, not the rows (which
	# is why only the loader role may give one)
	store_with_word 11 "('A', '${d}T10:00:10Z', 71), ('A', '${d}T10:00:20Z', 71), ('B', '${d}T10:01:10Z', 80)" \
		"('A', '${d}T10:00:10Z', 70), ('A', '${d}T10:00:20Z', 72), ('B', '${d}T10:01:10Z', 80)"
	# the notes count the rows under the token
	assert_eq "$(q 'SELECT count(*) FROM hb_rollup_pending WHERE read_rows OR token IS DISTINCT FROM 11')" 0
	assert_eq "$(q "SELECT readings || ' ' || hr_sum FROM hb_rollup_pending WHERE minute = '${d}T10:00:00Z'")" "2 142"
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(cm A "${d}T10:00:00Z")" "2 70 72"
	# the fleet's minute from the word too: count, sum, lowest and highest
	assert_eq "$(q "SELECT readings || ' ' || hr_sum || ' ' || hr_min || ' ' || hr_max FROM hb_fold_minute
	                WHERE minute = '${d}T10:00:00Z' AND status = 'NORMAL'")" "2 142 70 72"
	assert_eq "$(q 'SELECT count(*) FROM hb_rollup_delta')" 0
	# the same minutes folded again from their rows: as the rows say
	q "INSERT INTO hb_rollup_pending (minute) SELECT DISTINCT minute FROM hb_fold_minute" >/dev/null
	rollups_exact
	assert_eq "$(cm A "${d}T10:00:00Z")" "2 71 71"

	# the word in a transaction after the rows', as hbpgload gives it: believed
	store_under 19 "('M', '${d}T09:00:10Z', 71), ('M', '${d}T09:00:20Z', 71)"
	word_for 19 "('M', '${d}T09:00:10Z', 70), ('M', '${d}T09:00:20Z', 72)"
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(cm M "${d}T09:00:00Z")" "2 70 72"
	# two loaders on one minute, each with its token and word, K in both: both
	# believed, K's groups added up
	store_under 21 "('K', '${d}T09:30:10Z', 71), ('K', '${d}T09:30:20Z', 71)"
	store_under 22 "('L', '${d}T09:30:30Z', 81), ('L', '${d}T09:30:40Z', 81), ('K', '${d}T09:30:50Z', 75)"
	word_for 22 "('L', '${d}T09:30:30Z', 80), ('L', '${d}T09:30:40Z', 82), ('K', '${d}T09:30:50Z', 75)"
	word_for 21 "('K', '${d}T09:30:10Z', 70), ('K', '${d}T09:30:20Z', 72)"
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(cm K "${d}T09:30:00Z")" "3 70 75"
	assert_eq "$(cm L "${d}T09:30:00Z")" "2 80 82"
	# a batch after its loader's word on the minute: the word falls short, the rows are read
	store_under 20 "('J', '${d}T09:40:10Z', 71), ('J', '${d}T09:40:20Z', 71)"
	word_for 20 "('J', '${d}T09:40:10Z', 70), ('J', '${d}T09:40:20Z', 72)"
	store_under 20 "('J', '${d}T09:40:30Z', 71)"
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(cm J "${d}T09:40:00Z")" "3 71 71"
	# a word on a minute folded already (it came after the fold): dropped by the next fold
	word_for 23 "('J', '${d}T09:40:10Z', 70)"
	store_under 24 "('J', '${d}T09:50:10Z', 71)"
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(q 'SELECT count(*) FROM hb_rollup_delta')" 0
	# (the words' made-up heart rates go: the minutes folded again from their rows)
	q "INSERT INTO hb_rollup_pending (minute) SELECT DISTINCT minute FROM hb_fold_minute" >/dev/null
	rollups_exact

	# a word whose count is wrong for a minute: that minute is read from its rows
	# (11:01's word is right, and C's heart rates there are the same either way)
	store_with_word 12 "('C', '${d}T11:00:10Z', 60), ('C', '${d}T11:00:20Z', 62), ('C', '${d}T11:01:10Z', 64)" \
		"('C', '${d}T11:00:10Z', 60), ('C', '${d}T11:01:10Z', 64)"
	# one whose heart rates do not add up to the rows' (the same count)
	store_with_word 13 "('D', '${d}T12:00:10Z', 60)" "('D', '${d}T12:00:10Z', 61)"
	# a token and no word on that minute
	store_with_word 14 "('E', '${d}T13:00:10Z', 60)" "('E', '${d}T13:59:10Z', 60)"
	rollups_exact
	assert_eq "$(q "SELECT readings FROM hb_fold_customer_minute WHERE customer_id = 'C' AND minute = '${d}T11:00:00Z'")" 2
	assert_eq "$(cm D "${d}T12:00:00Z")" "1 60 60"
	# rows for a minute folded already (late rows), with a right word: read from the rows
	store_with_word 15 "('B', '${d}T10:01:40Z', 90)"
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(q "SELECT readings FROM hb_fold_customer_minute WHERE customer_id = 'B' AND minute = '${d}T10:01:00Z'")" 2
	rollups_exact
	# a note whose word is gone (as hb_retain could leave one): read from the rows
	store_with_word 16 "('G', '${d}T15:00:10Z', 60), ('G', '${d}T15:00:20Z', 61)"
	q 'DELETE FROM hb_rollup_delta WHERE token = 16' >/dev/null
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(q "SELECT readings FROM hb_fold_customer_minute WHERE customer_id = 'G'")" 2
	# a note of before 2026-12-05 (a token, not counted): read from the rows
	store_with_word 25 "('N', '${d}T15:10:10Z', 71), ('N', '${d}T15:10:20Z', 71)" \
		"('N', '${d}T15:10:10Z', 70), ('N', '${d}T15:10:20Z', 72)"
	q 'UPDATE hb_rollup_pending SET readings = NULL, hr_sum = NULL WHERE token = 25' >/dev/null
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(cm N "${d}T15:10:00Z")" "2 71 71"
	# ... and one without a word at all: read from the rows too, not taken for nothing
	store_under 30 "('O', '${d}T15:20:10Z', 71), ('O', '${d}T15:20:20Z', 71)"
	q 'UPDATE hb_rollup_pending SET readings = NULL, hr_sum = NULL WHERE token = 30' >/dev/null
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(cm O "${d}T15:20:00Z")" "2 71 71"
	# a word with no note of its token and minute pending (its rows taken by a
	# TRUNCATE or a delete before it came): dropped by the next fold
	word_for 29 "('P', '${d}T15:30:10Z', 70)"
	store_under 31 "('P', '${d}T15:40:10Z', 71)"
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(q 'SELECT count(*) FROM hb_rollup_delta')" 0
	# a TRUNCATE with a word still pending on a minute never folded: nothing of it is folded in
	store_with_word 17 "('F', '${d}T14:00:10Z', 60)"
	q 'TRUNCATE heartbeat_records' >/dev/null
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(q 'SELECT count(*) FROM hb_rollup_pending')" 0
	assert_eq "$(q 'SELECT count(*) FROM hb_fold_minute')" 0
	assert_eq "$(q 'SELECT count(*) FROM hb_fold_customer_minute')" 0
	assert_eq "$(q 'SELECT count(*) FROM hb_rollup_delta')" 0
	# a word that is not one group per element is refused with its rows
	run q "BEGIN; SET LOCAL hbmon.delta = '18';
	       INSERT INTO hb_rollup_delta VALUES (18, '${d}T16:00:00Z', '{H}', '{1,1}', '{60}', '{60}', '{60}', '{60}', '{1}');
	       INSERT INTO heartbeat_records VALUES ('H', '${d}T16:00:10Z', 60); COMMIT"
	[ "$status" -ne 0 ]
	[[ $output == *hb_rollup_delta_shape* ]]
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" 0
}

@test "hbpgload gives a word per minute on the readings it stores, the rows' own, and the rollups stay exact with it" {
	d=$(day yesterday)
	# 5 customers, 600 readings a minute for 5 minutes, and anomalies among them
	hbsim --seed 11 --start "${d}T10:00:00Z" --count 3000 --rate 0 --customers 5 --clock-rate 10 \
		--anomaly-rate 0.2 -q | hbclassify -qq >"$BATS_TEST_TMPDIR/a.ndjson"
	# no fold while it loads (a session holds the fold's lock): its words stay to be looked at
	PGAPPNAME=hbt_holder psql -X -qAt -c "SELECT pg_advisory_lock(hashtext('hbmon: rollup fold'))" \
		-c 'SELECT pg_sleep(120)' >/dev/null 2>&1 &
	holder=$!
	wait_for 30 q_true "SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	                                     WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'hbt_holder')"
	PGUSER=$LOADER hbpgload -q "$BATS_TEST_TMPDIR/a.ndjson"
	# every batch went in under the loader's token, counted
	assert_eq "$(q 'SELECT count(DISTINCT minute) FROM hb_rollup_pending WHERE token IS NOT NULL')" 5
	assert_eq "$(q 'SELECT count(*) FROM hb_rollup_pending WHERE token IS NOT NULL AND (read_rows OR readings IS NULL)')" 0
	assert_eq "$(q 'SELECT count(DISTINCT token) FROM hb_rollup_pending WHERE token IS NOT NULL')" 1
	# one word a minute, and its groups are the rows' own
	assert_eq "$(q "SELECT count(*) || ' ' || count(DISTINCT minute) FROM hb_rollup_delta")" "5 5"
	assert_eq "$(q "SELECT count(*) FROM (
	                (SELECT minute, c, n, s, lo, hi FROM hb_rollup_delta, unnest(customers, c_n, c_sum, c_min, c_max) u(c, n, s, lo, hi)
	                 EXCEPT SELECT hb_minute(ts), customer_id, count(*)::integer, sum(heart_rate)::bigint, min(heart_rate),
	                               max(heart_rate) FROM heartbeat_records GROUP BY 1, 2)
	                UNION ALL
	                (SELECT hb_minute(ts), customer_id, count(*)::integer, sum(heart_rate)::bigint, min(heart_rate),
	                        max(heart_rate) FROM heartbeat_records GROUP BY 1, 2
	                 EXCEPT SELECT minute, c, n, s, lo, hi FROM hb_rollup_delta, unnest(customers, c_n, c_sum, c_min, c_max) u(c, n, s, lo, hi))) x")" 0
	assert_eq "$(q "SELECT count(*) FROM (
	                (SELECT minute, h, n FROM hb_rollup_delta, unnest(hr, hr_n) u(h, n)
	                 EXCEPT SELECT hb_minute(ts), heart_rate, count(*)::integer FROM heartbeat_records GROUP BY 1, 2)
	                UNION ALL
	                (SELECT hb_minute(ts), heart_rate, count(*)::integer FROM heartbeat_records GROUP BY 1, 2
	                 EXCEPT SELECT minute, h, n FROM hb_rollup_delta, unnest(hr, hr_n) u(h, n))) x")" 0
	q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hbt_holder'" >/dev/null
	wait "$holder" || true
	holder=
	rollups_match
	q "SELECT hb_rollup_fold(interval '0', 100000, true)" >/dev/null
	assert_eq "$(q 'SELECT count(*) FROM hb_rollup_delta')" 0
	rollups_exact
	# the same readings again (all duplicates) and more of them: exact whatever was folded how
	hbsim --seed 11 --start "${d}T10:00:00Z" --count 6000 --rate 0 --customers 5 --clock-rate 10 \
		--anomaly-rate 0.2 -q | hbclassify -qq | PGUSER=$LOADER hbpgload -q
	rollups_exact
	# sparse readings over 333 minutes in one batch: words for the first 64
	# minutes at most, the rest read from their rows, all exact
	hbsim --seed 12 --start "${d}T02:00:00Z" --count 2000 --rate 0 --customers 1 --clock-rate 0.1 -q |
		hbclassify -qq | PGUSER=$LOADER hbpgload -q
	rollups_exact
	assert_eq "$(q "SELECT count(DISTINCT minute) FROM hb_fold_customer_minute WHERE minute < '${d}T10:00:00Z'")" 334
}

@test "an install from before partitioning migrates on apply: rows, ids and keys kept, rollups built" {
	db="${PGDATABASE}_v0"
	createdb "$db"
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$BATS_TEST_DIRNAME/fixtures/v0_001_tables.sql" \
		-f "$BATS_TEST_DIRNAME/fixtures/v0_002_views.sql"
	hbsim --seed 7 --start "$(day yesterday)T23:50:00Z" --count 30000 --rate 0 --invalid-rate 0.01 \
		--malformed-rate 0.01 -q | hbclassify -qq >"$BATS_TEST_TMPDIR/c.ndjson"
	PGDATABASE=$db hbpgload -q "$BATS_TEST_TMPDIR/c.ndjson" 2>"$BATS_TEST_TMPDIR/v0.err"
	# that schema cannot make day partitions: hbpgload says so once, and goes on
	assert_eq "$(grep -c 'WARNING day partitions .* not made (.*): rows of days without one go to the default partition' "$BATS_TEST_TMPDIR/v0.err")" 1
	ids=$(psql -X -qAt -d "$db" -c "SELECT md5(string_agg(id::text || coalesce(raw, ''), ',' ORDER BY id)) FROM heartbeat_anomalies")
	PGDATABASE=$db "$HB_REPO/scripts/hb-pg" apply
	assert_eq "$(psql -X -qAt -d "$db" -c "SELECT relkind FROM pg_class WHERE relname = 'heartbeat_records'")" p
	assert_eq "$(psql -X -qAt -d "$db" -c "SELECT md5(string_agg(id::text || coalesce(raw, ''), ',' ORDER BY id)) FROM heartbeat_anomalies")" "$ids"
	PGDATABASE=$db rollups_exact
	assert_eq "$(PGDATABASE=$db q 'SELECT readings_stored FROM vw_pipeline_summary')" 30000
	# the keys still hold, and new ids follow the old ones
	PGDATABASE=$db hbpgload -q "$BATS_TEST_TMPDIR/c.ndjson"
	assert_eq "$(PGDATABASE=$db q 'SELECT readings_stored FROM vw_pipeline_summary')" 30000
	echo '{"customer_id":"X","timestamp":"nope","heart_rate":1}' | hbclassify -qq | PGDATABASE=$db hbpgload -q
	[ "$(PGDATABASE=$db q "SELECT count(*) FROM heartbeat_anomalies WHERE id > (SELECT max(id) FROM heartbeat_anomalies WHERE raw NOT LIKE '%nope%')")" -eq 1 ]
	# applying again changes nothing
	PGDATABASE=$db "$HB_REPO/scripts/hb-pg" apply
	assert_eq "$(PGDATABASE=$db q 'SELECT readings_stored FROM vw_pipeline_summary')" 30001
	dropdb "$db"
}
