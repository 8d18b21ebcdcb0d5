#!/usr/bin/env bats
# sql.bats — sql/ applies in order and idempotently; the roles do what they say;
# the seeds' own queries run on the compatibility views; the demo script runs
# the live pipeline end to end.

load helpers

setup_file() {
	hb_newdb
	export LOADER="hbt_loader_$$" READER="hbt_reader_$$"
	psql -X -q -c "CREATE ROLE $LOADER LOGIN IN ROLE hbmon_loader" \
		-c "CREATE ROLE $READER LOGIN IN ROLE hbmon_reader"
}

# The schema as pg_dump prints it, without its per-run \restrict key.
schema() {
	pg_dump --schema-only --no-owner "$PGDATABASE" | grep -Ev '^\\(un)?restrict '
}

teardown_file() {
	dropdb --if-exists "${PGDATABASE}_seeds" 2>/dev/null || true
	dropdb --if-exists "${PGDATABASE}_rep" 2>/dev/null || true
	dropdb --if-exists "${PGDATABASE}_v1" 2>/dev/null || true
	dropdb --if-exists "${PGDATABASE}_v1_fresh" 2>/dev/null || true
	dropdb --if-exists "${PGDATABASE}_nocoords" 2>/dev/null || true
	hb_dropdb
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $LOADER" -c "DROP ROLE IF EXISTS $READER" || true
}

@test "applying sql/ again changes nothing" {
	before=$(schema | md5sum)
	"$HB_REPO/scripts/hb-pg" apply
	"$HB_REPO/scripts/hb-pg" apply
	after=$(schema | md5sum)
	assert_eq "$after" "$before"
}

@test "the files apply in name order with psql -v ON_ERROR_STOP=1 -f" {
	createdb "${PGDATABASE}_plain"
	for f in "$HB_REPO"/sql/*.sql; do
		PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "${PGDATABASE}_plain" -f "$f"
	done
	views=$(psql -X -qAt -d "${PGDATABASE}_plain" -c "SELECT viewname FROM pg_views WHERE schemaname = 'public' ORDER BY 1")
	dropdb "${PGDATABASE}_plain"
	# every view the files create, and no other
	assert_eq "$views" "$(sed -n 's/^CREATE OR REPLACE VIEW \([a-z_0-9]*\) AS$/\1/p' "$HB_REPO"/sql/*.sql | LC_ALL=C sort)"
	[ "$(wc -l <<<"$views")" -ge 8 ]
}

@test "the loader role loads (INSERT only) and the reader role reads" {
	hbsim --seed 3 --start 2026-11-23T09:00:00Z --count 2000 --rate 0 --invalid-rate 0.02 -q |
		hbclassify -qq | PGUSER=$LOADER hbpgload -q
	assert_eq "$(PGUSER=$READER q 'SELECT readings_stored FROM vw_pipeline_summary')" 2000
	# and loading again as the loader works too (ON CONFLICT DO NOTHING needs INSERT only)
	hbsim --seed 3 --start 2026-11-23T09:00:00Z --count 2000 --rate 0 --invalid-rate 0.02 -q |
		hbclassify -qq | PGUSER=$LOADER hbpgload -q
	assert_eq "$(PGUSER=$READER q 'SELECT readings_stored FROM vw_pipeline_summary')" 2000
}

@test "the loader cannot read, update, delete or truncate; the reader cannot write" {
	for sql in 'SELECT count(*) FROM heartbeat_records' "UPDATE heartbeat_records SET heart_rate = 1" \
		'DELETE FROM heartbeat_anomalies' 'TRUNCATE heartbeat_records'; do
		run env PGUSER="$LOADER" psql -X -qAt -v ON_ERROR_STOP=1 -c "$sql"
		[ "$status" -ne 0 ]
		[[ "$output" == *"permission denied"* ]]
	done
	run env PGUSER="$READER" psql -X -qAt -v ON_ERROR_STOP=1 \
		-c "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES ('X', now(), 70)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied"* ]]
}

@test "a role without the loader's grants gets a clear error, exit 2" {
	psql -X -q -c "CREATE ROLE hbt_nobody_$$ LOGIN"
	run env PGUSER="hbt_nobody_$$" hbpgload </dev/null
	psql -X -q -c "DROP ROLE hbt_nobody_$$"
	[ "$status" -eq 2 ]
	[[ "$output" == *"may not INSERT into the hbmon tables"* ]]
}

# ---- the seeds' SQL ------------------------------------------------------------
# The queries of the systems hbmon replaces (the seeds' READMEs and Grafana
# panels), copied as they are written there, run as a reader login against
# loaded data and compared with the same question asked of hbmon's own tables.
# Their own database, so the tests above and below keep theirs.

# Load it once: a day two days ago (day partitions to prune) and the last
# minutes up to 30 s before the current minute, 20 customers reading every
# 0.5 s, so the newest minute holds every customer.
seed_db() {
	export SEEDDB="${PGDATABASE}_seeds"
	[[ -f $BATS_FILE_TMPDIR/seeddb ]] && return 0
	createdb "$SEEDDB"
	PGDATABASE=$SEEDDB "$HB_REPO/scripts/hb-pg" apply
	local old recent
	old=$(date -u -d '-2 days' +%Y-%m-%dT10:00:00Z)
	recent=$(date -u -d "@$(($(date +%s) / 60 * 60 - 360))" +%Y-%m-%dT%H:%M:%SZ)
	{
		hbsim --seed 21 --start "$old" --count 4000 --rate 0 --invalid-rate 0.01 -q
		hbsim --seed 22 --start "$recent" --count 13200 --rate 0 --invalid-rate 0.01 -q
	} | hbclassify -qq | PGDATABASE=$SEEDDB hbpgload -q
	echo "$recent" >"$BATS_FILE_TMPDIR/seeddb"
}

# The seed's query ($@: psql -c arguments) as the reader; hbmon's own as the superuser.
rq() { PGUSER=$READER PGDATABASE=$SEEDDB psql -X -qAt -F $'\t' -v ON_ERROR_STOP=1 "$@"; }
oq() { PGDATABASE=$SEEDDB psql -X -qAt -F $'\t' -v ON_ERROR_STOP=1 "$@"; }

# hbmon's valid readings (NORMAL, BRADYCARDIA, TACHYCARDIA), as the seeds kept them
VALID="(SELECT customer_id, ts, heart_rate FROM heartbeat_records
        UNION ALL SELECT customer_id, ts, heart_rate FROM heartbeat_anomalies WHERE anomaly_type <> 'INVALID') v"

@test "seed 001's Grafana query (BPM per customer per minute) runs as written on vw_customer_bpm_summary" {
	seed_db
	recent=$(cat "$BATS_FILE_TMPDIR/seeddb")
	# seed 001, README "Grafana Dashboard": Rolling BPM time-series per customer
	sql=$(python3 "$HB_REPO/tests/e2e/grafana_sql.py" --from "$recent" --to "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --interval 1m <<'SQL'
SELECT
    minute_bucket AS time,
    avg_bpm       AS value,
    customer_id   AS metric
FROM vw_customer_bpm_summary
WHERE $__timeFilter(minute_bucket)
ORDER BY minute_bucket;
SQL
	)
	got=$(rq -c "$sql")
	want=$(oq -c "SELECT hb_minute(ts), round(avg(heart_rate), 1), customer_id FROM $VALID
		WHERE ts >= '$recent' GROUP BY 1, 3")
	assert_eq "$(LC_ALL=C sort <<<"$got")" "$(LC_ALL=C sort <<<"$want")"
	[ "$(wc -l <<<"$got")" -ge 100 ]
	# in time order, as Grafana wants a time series
	assert_eq "$(cut -f1 <<<"$got")" "$(cut -f1 <<<"$got" | LC_ALL=C sort)"
}

@test "seed 001's README queries run as written: recent readings per customer, pipeline summary, anomaly breakdown, feed" {
	seed_db
	recent=$(cat "$BATS_FILE_TMPDIR/seeddb")
	# seed 001, "Manual PostgreSQL Inspection": Recent readings per customer
	# (the newest minute holds all 20 customers: those are the 20 rows)
	got=$(rq -c "SELECT customer_id, avg_bpm, reading_count
FROM vw_customer_bpm_summary
ORDER BY minute_bucket DESC
LIMIT 20;")
	want=$(oq -c "SELECT customer_id, round(avg(heart_rate), 1), count(*) FROM $VALID
		WHERE ts >= (SELECT hb_minute(max(ts)) FROM heartbeat_records) GROUP BY 1")
	assert_eq "$(LC_ALL=C sort <<<"$got")" "$(LC_ALL=C sort <<<"$want")"
	assert_eq "$(wc -l <<<"$got")" 20
	# seed 001: Record counts
	got=$(rq -c "SELECT * FROM vw_pipeline_summary;")
	assert_eq "$(cut -f1 <<<"$got")" "$(oq -c 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')"
	assert_eq "$(cut -f1 <<<"$got")" 17200
	# seed 001: Anomaly breakdown
	got=$(rq -c "SELECT anomaly_type, COUNT(*) FROM heartbeat_anomalies GROUP BY anomaly_type;")
	assert_eq "$(LC_ALL=C sort <<<"$got")" "$(oq -c "SELECT 'BRADYCARDIA', bradycardia FROM vw_pipeline_summary WHERE bradycardia > 0
		UNION ALL SELECT 'INVALID', invalid FROM vw_pipeline_summary WHERE invalid > 0
		UNION ALL SELECT 'TACHYCARDIA', tachycardia FROM vw_pipeline_summary WHERE tachycardia > 0 ORDER BY 1")"
	[ "$(wc -l <<<"$got")" -ge 2 ]
	# seed 001: Verify no anomalies leaked into valid table (hbclassify's defaults are 40 and 180)
	assert_eq "$(rq -c "SELECT COUNT(*) FROM heartbeat_records
WHERE heart_rate < 40 OR heart_rate > 180;")" 0
	[ "$(oq -c "SELECT count(*) FROM heartbeat_anomalies WHERE heart_rate < 40 OR heart_rate > 180")" -gt 0 ]
	# seed 001, "Grafana Dashboard": Live anomaly feed
	got=$(rq -c "SELECT * FROM vw_recent_anomalies LIMIT 20;")
	assert_eq "$(cut -f1 <<<"$got")" "$(oq -c "SELECT id FROM heartbeat_anomalies WHERE created_at >= now() - interval '24 hours'
		ORDER BY created_at DESC, id DESC LIMIT 20")"
	assert_eq "$(wc -l <<<"$got")" 20
}

@test "seed 001's anomaly count (last 5 minutes, event_timestamp) runs on vw_anomalies" {
	seed_db
	# seed 001, "Grafana Dashboard": Anomaly count (last 5 minutes), with
	# vw_anomalies for heartbeat_anomalies; one transaction, so one now()
	got=$(rq -c BEGIN -c "SELECT COUNT(*) FROM vw_anomalies
WHERE event_timestamp > NOW() - INTERVAL '5 minutes';" \
		-c "SELECT count(*) FROM heartbeat_anomalies WHERE ts > now() - interval '5 minutes'" -c COMMIT)
	assert_eq "$(sed -n 1p <<<"$got")" "$(sed -n 2p <<<"$got")"
	[ "$(sed -n 1p <<<"$got")" -gt 0 ]
	# the rest of the row is heartbeat_anomalies' own
	assert_eq "$(rq -c "SELECT count(*) FROM vw_anomalies v JOIN heartbeat_anomalies a USING (id)
		WHERE v.event_timestamp IS NOT DISTINCT FROM a.ts AND v.ts IS NOT DISTINCT FROM a.ts AND v.raw IS NOT DISTINCT FROM a.raw")" \
		"$(oq -c 'SELECT count(*) FROM heartbeat_anomalies')"
}

@test "seeds 000 and 004: the heartbeats view holds every valid reading with its status, read-only" {
	seed_db
	# seed 004, Troubleshooting: Check database initialization
	assert_eq "$(rq -c "SELECT COUNT(*) FROM heartbeats;")" "$(oq -c "SELECT count(*) FROM $VALID")"
	[ "$(rq -c "SELECT COUNT(*) FROM heartbeats;")" -gt 17000 ]
	# seed 000's columns (customer_id, ts, heart_rate, created_at): one
	# customer's series, as its index idx_heartbeats_customer_ts served.
	# One cutoff for both queries: two now()s a moment apart let a
	# reading on the edge fall out of the second one.
	local cut
	cut=$(oq -c "SELECT now() - interval '5 minutes'")
	got=$(rq -c "SELECT ts, heart_rate, created_at IS NOT NULL FROM heartbeats WHERE customer_id = 'CUST_00003' AND ts >= '$cut' ORDER BY ts")
	assert_eq "$got" "$(oq -c "SELECT ts, heart_rate, true FROM $VALID WHERE customer_id = 'CUST_00003' AND ts >= '$cut' ORDER BY ts")"
	[ "$(wc -l <<<"$got")" -ge 100 ]
	# the status of each reading, as stored
	assert_eq "$(rq -c "SELECT status, count(*) FROM heartbeats GROUP BY 1 ORDER BY 1" | paste -sd' ' -)" \
		"$(oq -c "SELECT 'BRADYCARDIA', bradycardia FROM vw_pipeline_summary UNION ALL SELECT 'NORMAL', normal FROM vw_pipeline_summary
			UNION ALL SELECT 'TACHYCARDIA', tachycardia FROM vw_pipeline_summary ORDER BY 1" | paste -sd' ' -)"
	# views to read, not to write: heartbeats cannot take a row (a UNION),
	# vw_anomalies refuses the reader
	run rq -c "INSERT INTO heartbeats (customer_id, ts, heart_rate, status, created_at) VALUES ('X', now(), 70, 'NORMAL', now())"
	[ "$status" -ne 0 ]
	[[ "$output" == *'cannot insert into view "heartbeats"'* ]]
	run rq -c "INSERT INTO vw_anomalies (anomaly_type, customer_id, ts, heart_rate) VALUES ('TACHYCARDIA', 'X', now(), 200)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied"* ]]
}

@test "the compatibility views prune day partitions: a query on the last 5 minutes reads no older day" {
	seed_db
	old=$(date -u -d '-2 days' +%Y%m%d)
	# the old day's partitions exist and hold rows
	[ "$(oq -c "SELECT count(*) FROM heartbeat_records_p$old")" -gt 0 ]
	for sql in "SELECT count(*) FROM heartbeats WHERE ts >= now() - interval '5 minutes'" \
		"SELECT count(*) FROM vw_anomalies WHERE event_timestamp > now() - interval '5 minutes'"; do
		plan=$(rq -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $sql")
		run grep -c "_p$old" <<<"$plan"
		assert_eq "$output" 0
		# pruned at run time (now() is known when it runs), in each branch
		[[ "$plan" == *"Subplans Removed"* ]]
	done
	# the same partitions as the tables themselves, asked directly
	plan=$(rq -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM heartbeats WHERE ts >= now() - interval '5 minutes'")
	assert_eq "$(grep -c 'Subplans Removed' <<<"$plan")" 2
	direct=$(for t in heartbeat_records heartbeat_anomalies; do
		rq -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM $t WHERE ts >= now() - interval '5 minutes'"
	done)
	assert_eq "$(grep -oE 'heartbeat_[a-z]+_(p[0-9]{8}|default) ' <<<"$plan" | sort -u)" \
		"$(grep -oE 'heartbeat_[a-z]+_(p[0-9]{8}|default) ' <<<"$direct" | sort -u)"
}

@test "a database made by the single 001_tables.sql of before (with rows) upgrades to the schema of a fresh one, rows kept" {
	v1="${PGDATABASE}_v1"
	createdb "$v1"
	for f in 001_tables 002_views 003_roles; do
		PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "$v1" \
			-f "$BATS_TEST_DIRNAME/fixtures/v1_$f.sql"
	done
	# an empty one first: the same schema as a fresh database, every object
	PGDATABASE=$v1 "$HB_REPO/scripts/hb-pg" apply
	createdb "${v1}_fresh"
	PGDATABASE=${v1}_fresh "$HB_REPO/scripts/hb-pg" apply
	fresh=$(PGDATABASE=${v1}_fresh schema)
	dropdb "${v1}_fresh"
	assert_eq "$(PGDATABASE=$v1 schema)" "$fresh"
	[[ $fresh == *"CREATE FUNCTION public.hb_report_fleet("* ]]
	[ "$(PGDATABASE=$v1 q "SELECT count(*) FROM pg_proc WHERE proname LIKE 'hb_report_%'")" -ge 10 ]
	# with rows: they stay, and loading goes on
	dropdb "$v1"
	createdb "$v1"
	for f in 001_tables 002_views 003_roles; do
		PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "$v1" \
			-f "$BATS_TEST_DIRNAME/fixtures/v1_$f.sql"
	done
	hbsim --seed 8 --start 2026-11-23T09:00:00Z --count 3000 --rate 0 --invalid-rate 0.02 -q |
		hbclassify -qq | PGDATABASE=$v1 hbpgload -q
	before=$(PGDATABASE=$v1 q "SELECT (SELECT count(*) FROM heartbeat_records) || ' ' || (SELECT count(*) FROM heartbeat_anomalies) || ' ' || (SELECT sum(readings) FROM hb_rollup_minute)")
	PGDATABASE=$v1 "$HB_REPO/scripts/hb-pg" apply
	assert_eq "$(PGDATABASE=$v1 q "SELECT (SELECT count(*) FROM heartbeat_records) || ' ' || (SELECT count(*) FROM heartbeat_anomalies) || ' ' || (SELECT sum(readings) FROM hb_rollup_minute)")" "$before"
	assert_eq "$(PGDATABASE=$v1 q 'SELECT readings_stored FROM vw_pipeline_summary')" 3000
	hbsim --seed 9 --start 2026-11-23T11:00:00Z --count 1000 --rate 0 -q | hbclassify -qq | PGDATABASE=$v1 hbpgload -q
	assert_eq "$(PGDATABASE=$v1 q 'SELECT readings_stored FROM vw_pipeline_summary')" 4000
	assert_eq "$(PGDATABASE=$v1 q 'SELECT readings FROM hb_report_status($$2026-11-23T00:00Z$$, $$2026-11-24T00:00Z$$)')" \
		"$(PGDATABASE=$v1 q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies WHERE ts IS NOT NULL)')"
	dropdb "$v1"
}

# heartbeat_anomalies' columns, in order, and the report functions' results
anom_shape() {
	q "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
	   FROM pg_attribute WHERE attrelid = 'heartbeat_anomalies'::regclass AND attnum > 0 AND NOT attisdropped"
	q "SELECT pg_get_function_result('hb_report_latest_anomalies(timestamptz,timestamptz,integer)'::regprocedure)"
	q "SELECT pg_get_function_result('hb_report_latest(timestamptz,timestamptz,integer)'::regprocedure)"
}

@test "a database from before the Kafka coordinates: hbpgload stores without them and says so once; applying sql/ adds them as a fresh one has them" {
	fresh=$(anom_shape)
	[[ $(head -n 1 <<<"$fresh") == *"created_at timestamp with time zone, kafka_topic text, kafka_partition integer, kafka_offset bigint" ]]
	nc="${PGDATABASE}_nocoords"
	createdb "$nc"
	PGDATABASE=$nc "$HB_REPO/scripts/hb-pg" apply
	# as sql/ made it before: no columns (nor the views' and functions' ones)
	PGDATABASE=$nc psql -X -q -v ON_ERROR_STOP=1 <<-'SQL'
		SET client_min_messages = warning;
		ALTER TABLE heartbeat_anomalies DROP COLUMN kafka_topic CASCADE, DROP COLUMN kafka_partition CASCADE,
		    DROP COLUMN kafka_offset CASCADE;
		DROP FUNCTION hb_report_latest_anomalies(timestamptz, timestamptz, integer);
		CREATE FUNCTION hb_report_latest_anomalies(p_from timestamptz, p_to timestamptz, p_n integer)
		RETURNS TABLE (ts timestamptz, customer_id text, heart_rate integer, anomaly_type text, reason text)
		LANGUAGE sql STABLE AS $$ SELECT ts, customer_id, heart_rate, anomaly_type, reason FROM heartbeat_anomalies LIMIT p_n $$;
	SQL
	for i in 1 2 3; do
		printf '{"_kafka":{"p":0,"o":%d},"customer_id":"CUST_N","timestamp":"2026-11-23T12:00:0%dZ","heart_rate":20%d}\n' "$i" "$i" "$i"
	done | hbclassify -qq >"$BATS_TEST_TMPDIR/c.ndjson"
	run env PGDATABASE="$nc" hbpgload --batch-rows 1 "$BATS_TEST_TMPDIR/c.ndjson"
	[ "$status" -eq 0 ]
	assert_eq "$(grep -c 'no kafka_topic/kafka_partition/kafka_offset columns' <<<"$output")" 1
	assert_eq "$(PGDATABASE=$nc q 'SELECT count(*) FROM heartbeat_anomalies')" 3
	PGDATABASE=$nc "$HB_REPO/scripts/hb-pg" apply
	assert_eq "$(PGDATABASE=$nc anom_shape)" "$fresh"
	# every day partition has the columns too, where its parent has them
	assert_eq "$(PGDATABASE=$nc q "SELECT count(DISTINCT c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname IN ('kafka_topic', 'kafka_partition', 'kafka_offset') AND NOT a.attisdropped
		WHERE i.inhparent = 'heartbeat_anomalies'::regclass")" \
		"$(PGDATABASE=$nc q "SELECT count(*) FROM pg_inherits WHERE inhparent = 'heartbeat_anomalies'::regclass")"
	assert_eq "$(PGDATABASE=$nc q 'SELECT count(*) FROM heartbeat_anomalies WHERE kafka_offset IS NULL')" 3
	sed 's/"o":/"o":5/; s/CUST_N/CUST_M/' "$BATS_TEST_TMPDIR/c.ndjson" | PGDATABASE=$nc hbpgload -q
	assert_eq "$(PGDATABASE=$nc q "SELECT string_agg(kafka_offset::text, ' ' ORDER BY kafka_offset) FROM vw_anomalies WHERE customer_id = 'CUST_M'")" "51 52 53"
	# the reader still runs the report function dropped and made again
	assert_eq "$(PGUSER=$READER PGDATABASE=$nc q "SELECT count(*) FROM hb_report_latest_anomalies('2026-11-23', '2026-11-24', 10)")" 6
	dropdb "$nc"
}

# ---- the report's functions (sql/030_report.sql) ---------------------------------
# Each against the same question asked of the rows themselves (heartbeat_records
# and heartbeat_anomalies, not the rollups the functions read), as the reader,
# in a time zone 5 h 30 min off UTC (buckets start on the session's local
# clock), over readings that cross its midnight (18:30Z).

rep_db() {
	export REPDB="${PGDATABASE}_rep"
	[[ -f $BATS_FILE_TMPDIR/repdb ]] && return 0
	createdb "$REPDB"
	PGDATABASE=$REPDB "$HB_REPO/scripts/hb-pg" apply
	{
		hbsim --seed 31 --start 2026-11-23T18:25:00Z --count 20000 --rate 0 --invalid-rate 0.02 -q
		printf 'not json at all\n'
	} | hbclassify -qq | PGDATABASE=$REPDB hbpgload -q
	touch "$BATS_FILE_TMPDIR/repdb"
}

# as the reader, in Asia/Kolkata; as the superuser, in the same zone
fq() { PGUSER=$READER PGDATABASE=$REPDB PGTZ=Asia/Kolkata psql -X -qAt -F $'\t' -v ON_ERROR_STOP=1 -c "$1"; }
tq() { PGDATABASE=$REPDB PGTZ=Asia/Kolkata psql -X -qAt -F $'\t' -v ON_ERROR_STOP=1 -c "$1"; }

# every reading with a time: customer, ts, heart_rate (NULL for INVALID), status
ROWS="(SELECT customer_id, ts, heart_rate, 'NORMAL' AS status FROM heartbeat_records
       UNION ALL SELECT customer_id, ts, CASE WHEN anomaly_type <> 'INVALID' THEN heart_rate END, anomaly_type
       FROM heartbeat_anomalies WHERE ts IS NOT NULL) r"
R_FROM=2026-11-23T18:27:00Z R_TO=2026-11-23T18:33:00Z

@test "hb_report_status and hb_report_span count what the rows hold in the range" {
	rep_db
	got=$(fq "SELECT readings, normal, bradycardia, tachycardia, invalid, round(avg_bpm, 3), min_bpm, max_bpm
		FROM hb_report_status('$R_FROM', '$R_TO')")
	want=$(tq "SELECT count(*), count(*) FILTER (WHERE status = 'NORMAL'), count(*) FILTER (WHERE status = 'BRADYCARDIA'),
		count(*) FILTER (WHERE status = 'TACHYCARDIA'), count(*) FILTER (WHERE status = 'INVALID'),
		round(avg(heart_rate), 3), min(heart_rate), max(heart_rate)
		FROM $ROWS WHERE ts >= '$R_FROM' AND ts < '$R_TO'")
	assert_eq "$got" "$want"
	# a part of the readings, each status present
	[ "$(cut -f1 <<<"$got")" -lt 20000 ]
	[ "$(cut -f3 <<<"$got")" -gt 0 ]
	[ "$(cut -f4 <<<"$got")" -gt 0 ]
	[ "$(cut -f5 <<<"$got")" -gt 0 ]
	got=$(fq "SELECT customers, first_reading, last_reading FROM hb_report_span('$R_FROM', '$R_TO')")
	want=$(tq "SELECT count(DISTINCT customer_id), min(ts), max(ts) FROM $ROWS WHERE ts >= '$R_FROM' AND ts < '$R_TO'")
	assert_eq "$got" "$want"
	# the untimed INVALID lines, by when they were stored
	untimed=$(tq "SELECT count(*) FROM heartbeat_anomalies WHERE ts IS NULL AND created_at >= now() - interval '1 hour'")
	[ "$untimed" -ge 1 ]
	assert_eq "$(fq "SELECT untimed_invalid FROM hb_report_span(now() - interval '1 hour', now() + interval '1 second')")" "$untimed"
	assert_eq "$(fq "SELECT untimed_invalid FROM hb_report_span('$R_FROM', '$R_TO')")" 0
	# an empty range: zeros and NULLs, one row
	assert_eq "$(fq "SELECT readings, avg_bpm IS NULL FROM hb_report_status('2020-01-01', '2020-01-02')")" "0	t"
}

@test "hb_report_customers: per customer, what its rows hold in the range" {
	rep_db
	cols="customer_id, readings, normal, bradycardia, tachycardia, invalid, anomalies, round(avg_bpm, 3), min_bpm, max_bpm"
	got=$(fq "SELECT $cols FROM hb_report_customers('$R_FROM', '$R_TO') ORDER BY 1")
	want=$(tq "SELECT customer_id, count(heart_rate), count(*) FILTER (WHERE status = 'NORMAL'),
		count(*) FILTER (WHERE status = 'BRADYCARDIA'), count(*) FILTER (WHERE status = 'TACHYCARDIA'),
		count(*) FILTER (WHERE status = 'INVALID'), count(*) FILTER (WHERE status <> 'NORMAL'),
		round(avg(heart_rate), 3), min(heart_rate), max(heart_rate)
		FROM $ROWS WHERE ts >= '$R_FROM' AND ts < '$R_TO' AND customer_id IS NOT NULL GROUP BY 1 ORDER BY 1")
	assert_eq "$got" "$want"
	[ "$(wc -l <<<"$got")" -ge 10 ]
}

@test "hb_bucket starts buckets on the session's clock: day buckets at local midnight, as the rows' local dates" {
	rep_db
	got=$(fq "SELECT to_char(bucket, 'YYYY-MM-DD HH24:MI'), readings FROM hb_report_fleet('2026-11-23T12:00Z', '2026-11-24T12:00Z', 86400)")
	want=$(tq "SELECT to_char(d, 'YYYY-MM-DD HH24:MI'), count(heart_rate) FROM (SELECT ts::date::timestamptz AS d, heart_rate FROM $ROWS) x
		GROUP BY 1 ORDER BY 1")
	assert_eq "$got" "$want"
	# the readings cross local midnight: two days
	assert_eq "$(wc -l <<<"$got")" 2
	# and in UTC the same readings are one day
	assert_eq "$(PGUSER=$READER PGDATABASE=$REPDB PGTZ=UTC psql -X -qAt -c "SELECT count(*) FROM hb_report_fleet('2026-11-23T00:00Z', '2026-11-24T00:00Z', 86400) WHERE readings > 0")" 1
	# a 7-minute bucket: its start is a multiple of 7 minutes after local 2000-01-01 00:00
	assert_eq "$(fq "SELECT DISTINCT (extract(epoch FROM bucket - timestamptz '2000-01-01 00:00')::bigint % 420)
		FROM hb_buckets('$R_FROM', '$R_TO', 420) AS b(bucket)")" 0
}

@test "hb_report_fleet: every bucket of the range, with the rows' average, min, max, 5th/95th percentile and count" {
	rep_db
	# 2-minute buckets over a range wider than the readings: empty ones too
	got=$(fq "SELECT bucket, round(avg_bpm, 3), min_bpm, max_bpm, p5_bpm, p95_bpm, readings
		FROM hb_report_fleet('2026-11-23T18:20Z', '2026-11-23T18:40Z', 120)")
	want=$(tq "WITH r AS (SELECT timestamptz '2000-01-01 00:00'
		           + floor(extract(epoch FROM ts - timestamptz '2000-01-01 00:00') / 120) * interval '120 seconds' AS b,
		           heart_rate FROM $ROWS WHERE heart_rate IS NOT NULL)
		SELECT g, round(avg(heart_rate), 3), min(heart_rate), max(heart_rate),
		       percentile_disc(0.05) WITHIN GROUP (ORDER BY heart_rate),
		       percentile_disc(0.95) WITHIN GROUP (ORDER BY heart_rate), count(heart_rate)
		FROM generate_series(timestamptz '2026-11-23T18:20Z', '2026-11-23T18:39Z', interval '2 minutes') g
		LEFT JOIN r ON r.b = g GROUP BY g ORDER BY g")
	assert_eq "$got" "$want"
	assert_eq "$(wc -l <<<"$got")" 10
	[ "$(awk -F'\t' '$7 == 0' <<<"$got" | wc -l)" -ge 2 ]
	[ "$(awk -F'\t' '$7 > 0' <<<"$got" | wc -l)" -ge 4 ]
}

@test "hb_report_anomaly_buckets, hb_report_customer_buckets and hb_report_distribution are the rows'" {
	rep_db
	B="timestamptz '2000-01-01 00:00' + floor(extract(epoch FROM ts - timestamptz '2000-01-01 00:00') / 180) * interval '180 seconds'"
	got=$(fq "SELECT bucket, bradycardia, tachycardia, invalid FROM hb_report_anomaly_buckets('$R_FROM', '$R_TO', 180)")
	want=$(tq "SELECT g, count(*) FILTER (WHERE status = 'BRADYCARDIA'), count(*) FILTER (WHERE status = 'TACHYCARDIA'),
		count(*) FILTER (WHERE status = 'INVALID')
		FROM generate_series(timestamptz '$R_FROM', timestamptz '$R_TO' - interval '1 second', interval '3 minutes') g
		LEFT JOIN (SELECT $B AS b, status FROM $ROWS WHERE ts >= '$R_FROM' AND ts < '$R_TO') r ON r.b = g
		GROUP BY g ORDER BY g")
	assert_eq "$got" "$want"
	[ "$(cut -f2 <<<"$got" | awk '{ s += $1 } END { print s + 0 }')" -gt 0 ]
	# two customers, in the order given, each over every bucket
	c2=$(tq "SELECT customer_id FROM heartbeat_anomalies WHERE anomaly_type = 'TACHYCARDIA' ORDER BY customer_id DESC LIMIT 1")
	got=$(fq "SELECT customer_id, bucket, round(avg_bpm, 3), min_bpm, max_bpm
		FROM hb_report_customer_buckets('$R_FROM', '$R_TO', 180, ARRAY['$c2', 'CUST_00001'])")
	want=$(tq "SELECT c, g, round(avg(heart_rate), 3), min(heart_rate), max(heart_rate)
		FROM unnest(ARRAY['$c2', 'CUST_00001']) WITH ORDINALITY u(c, o)
		CROSS JOIN generate_series(timestamptz '$R_FROM', timestamptz '$R_TO' - interval '1 second', interval '3 minutes') g
		LEFT JOIN (SELECT customer_id, $B AS b, heart_rate FROM $ROWS
		           WHERE heart_rate IS NOT NULL AND ts >= '$R_FROM' AND ts < '$R_TO') r ON r.customer_id = c AND r.b = g
		GROUP BY o, c, g ORDER BY o, g")
	assert_eq "$got" "$want"
	assert_eq "$(wc -l <<<"$got")" 4
	got=$(fq "SELECT heart_rate, readings FROM hb_report_distribution('$R_FROM', '$R_TO')")
	want=$(tq "SELECT heart_rate, count(*) FROM $ROWS WHERE heart_rate IS NOT NULL AND ts >= '$R_FROM' AND ts < '$R_TO'
		GROUP BY 1 ORDER BY 1")
	assert_eq "$got" "$want"
	[ "$(wc -l <<<"$got")" -ge 50 ]
}

@test "hb_report_latest and hb_report_latest_anomalies: the newest rows of the range" {
	rep_db
	got=$(fq "SELECT ts, customer_id, status FROM hb_report_latest('$R_FROM', '$R_TO', 25)")
	want=$(tq "SELECT ts, customer_id, status FROM $ROWS WHERE ts >= '$R_FROM' AND ts < '$R_TO'
		ORDER BY ts DESC, customer_id LIMIT 25")
	assert_eq "$got" "$want"
	assert_eq "$(wc -l <<<"$got")" 25
	got=$(fq "SELECT ts, anomaly_type FROM hb_report_latest_anomalies('$R_FROM', '$R_TO', 10)")
	want=$(tq "SELECT ts, anomaly_type FROM heartbeat_anomalies WHERE ts >= '$R_FROM' AND ts < '$R_TO' ORDER BY ts DESC, id DESC LIMIT 10")
	assert_eq "$got" "$want"
	assert_eq "$(wc -l <<<"$got")" 10
}

@test "hb_report_loaders counts the loader's run; the report functions are the reader's, not the loader's" {
	rep_db
	got=$(fq "SELECT runs, rows_in, rows_stored, normal + bradycardia + tachycardia + invalid FROM hb_report_loaders(now() - interval '1 day', now() + interval '1 second')")
	assert_eq "$got" "$(tq "SELECT 1, 20001, 20001, count(*) FROM (SELECT ts FROM heartbeat_records UNION ALL SELECT ts FROM heartbeat_anomalies) x")"
	assert_eq "$(fq 'SELECT runs, rows_stored FROM hb_report_loaders_all()')" "1	20001"
	run env PGUSER="$LOADER" PGDATABASE="$REPDB" psql -X -qAt -v ON_ERROR_STOP=1 -c "SELECT * FROM hb_report_status(now() - interval '1 day', now())"
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied for function hb_report_status"* ]]
}

@test "the demo runs the live pipeline through Kafka into the database and stops cleanly" {
	hb_newtopic
	hb_empty_tables
	HB_DEMO_DB="dbname=$PGDATABASE" HB_DEMO_SECONDS=5 HB_DEMO_RATE=100 HB_DEMO_WORKERS=2 \
		HB_DEMO_STATE="$BATS_TEST_TMPDIR/demo" run "$HB_REPO/scripts/hb-demo"
	[ "$status" -eq 0 ]
	# the live view: a line per second with rates, counts, latency and lag
	[[ "$output" =~ [0-9:]{8}\ \ in\ +[0-9]+/s\ \ stored\ +[0-9]+/s\ \ normal\ +[0-9]+.*latency\ p50\ +[0-9]+\ ms\ p99\ +[0-9]+\ ms\ \ lag\ [0-9]+ ]]
	[ "$(grep -c ' stored .*/s ' <<<"$output")" -ge 3 ]
	[[ "$output" == *"readings_stored"* ]]
	# what the producer sent was stored, once, by the two workers together
	sent=$(sed -n 's/.*hbkafka-pub INFO \(done\|stopped\) lines=\([0-9]*\) delivered=\([0-9]*\).*/\3/p' \
		"$BATS_TEST_TMPDIR/demo/run/producer.log" | tail -n 1)
	[ "$sent" -ge 300 ]
	assert_eq "$(stored)" "$sent"
	assert_eq "$(q "SELECT count(DISTINCT instance) FROM pipeline_metrics WHERE instance LIKE 'worker-%'")" 2
	# the clean stop: every stage of both workers ended with 0, hbkafka-sub
	# having had every message it wrote acknowledged, and committed it
	# (if not, the workers' logs say why)
	if cat "$BATS_TEST_TMPDIR/demo/run/status."* | grep -qvx '0 0 0'; then
		tail -n 40 "$BATS_TEST_TMPDIR/demo/run/"worker.*.log
	fi
	assert_eq "$(cat "$BATS_TEST_TMPDIR/demo/run/status.1")" "0 0 0"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/demo/run/status.2")" "0 0 0"
	# so a restart would deliver nothing again
	assert_eq "$(hbkafka-sub -e -q | wc -l | tr -d ' ')" 0
}

@test "make demo on a terminal: the dashboard's path, then Ctrl-C ends it cleanly with the run's latency" {
	hb_newtopic
	hb_empty_tables
	# make demo on a pseudo-terminal, as a person runs it; Ctrl-C (the
	# terminal's ^C, to the whole foreground process group, make included)
	# once the first reading is stored
	HB_DEMO_DB="dbname=$PGDATABASE" HB_DEMO_RATE=100 HB_DEMO_STATE="$BATS_TEST_TMPDIR/demo" \
		python3 - "$HB_REPO" >"$BATS_TEST_TMPDIR/tty.out" 3>&- <<'PY'
import os, pty, re, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp("make", ["make", "-C", sys.argv[1], "--no-print-directory", "demo"])
out, t0, sent, seen = b"", time.time(), None, {}
while True:
    now = time.time() - t0
    if sent is None and ("stored" in seen or now > 90):
        os.write(fd, b"\x03")
        sent = now
    if sent is not None and now - sent > 120:
        os.kill(pid, 9)
    r, _, _ = select.select([fd], [], [], 0.2)
    if not r:
        continue
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
    text = out.decode(errors="replace")
    if "dashboard" not in seen and "dashboard: file://" in text:
        seen["dashboard"] = now
    if "stored" not in seen and re.search(r"normal +[1-9]", text):
        seen["stored"] = now
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print("\n# dashboard path at %.1f s, first reading stored by %.1f s, Ctrl-C at %.1f s; make: %s" % (
    seen.get("dashboard", -1), seen.get("stored", -1), sent or -1,
    "exit %d" % os.WEXITSTATUS(st) if os.WIFEXITED(st) else "signal %d" % os.WTERMSIG(st)))
PY
	tr -d '\r' <"$BATS_TEST_TMPDIR/tty.out" >"$BATS_TEST_TMPDIR/tty.txt"
	tail -n 1 "$BATS_TEST_TMPDIR/tty.txt" >&3
	# the path of the dashboard, and that page written
	grep -q "hb-demo: dashboard: file://$BATS_TEST_TMPDIR/demo/dashboard/index.html" "$BATS_TEST_TMPDIR/tty.txt"
	grep -q '</html>' "$BATS_TEST_TMPDIR/demo/dashboard/index.html"
	# readings were stored before the Ctrl-C
	grep -q 'first reading stored by [0-9]' "$BATS_TEST_TMPDIR/tty.txt"
	# a clean end: the summary and the run's own figures, no make error, no pager
	grep -q 'readings_stored' "$BATS_TEST_TMPDIR/tty.txt"
	run grep -E '^this run: [1-9][0-9]* readings stored by 1 loader\(s\); latency, reading time to commit, per 2 s: median p50 [1-9][0-9]* ms, median p99 [1-9][0-9]* ms' "$BATS_TEST_TMPDIR/tty.txt"
	[ "$status" -eq 0 ]
	run grep -E '\*\*\*|Interrupt|\(END\)' "$BATS_TEST_TMPDIR/tty.txt"
	[ "$status" -eq 1 ]
	# make ends as a Ctrl-C'd make does, by the signal, having said nothing
	grep -q '; make: signal 2$' "$BATS_TEST_TMPDIR/tty.txt"
	# everything read was stored, and committed
	assert_eq "$(hbkafka-sub -e -q | wc -l | tr -d ' ')" 0
}
