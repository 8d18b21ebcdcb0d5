#!/usr/bin/env bats
# pipeline.bats — hbsim | hbclassify | hbpgload on a real PostgreSQL: counts, views, idempotency.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	hb_newdb
	export C="$BATS_FILE_TMPDIR/classified.ndjson"
	hbsim --seed 7 --start 2026-11-23T10:00:00Z --count 100000 --rate 0 -q | hbclassify -qq >"$C"
}

teardown_file() {
	hb_dropdb
}

@test "hbsim | hbclassify gives one classified line per reading" {
	run wc -l <"$C"
	assert_eq "$(echo "$output" | tr -d ' ')" 100000
	# every line is an object with a status, customer ids as documented
	run jq -r 'select((.status | IN("NORMAL","BRADYCARDIA","TACHYCARDIA")) | not) | 1' "$C"
	assert_eq "$output" ""
	assert_eq "$(jq -r .customer_id "$C" | sort -u | wc -l | tr -d ' ')" 20
	# anomalies near the default 5 %
	anomalies=$(( $(count_status "$C" BRADYCARDIA) + $(count_status "$C" TACHYCARDIA) ))
	[ "$anomalies" -gt 3000 ]
	[ "$anomalies" -lt 7000 ]
}

@test "the full pipeline stores exactly the per-status counts of the classified stream" {
	hbsim --seed 7 --start 2026-11-23T10:00:00Z --count 100000 --rate 0 -q | hbclassify -qq | hbpgload -q
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" "$(count_status "$C" NORMAL)"
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'BRADYCARDIA'")" \
		"$(count_status "$C" BRADYCARDIA)"
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'TACHYCARDIA'")" \
		"$(count_status "$C" TACHYCARDIA)"
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'")" 0
}

@test "vw_pipeline_summary returns the same counts" {
	row=$(q 'SELECT readings_stored, normal, bradycardia, tachycardia, invalid, customers FROM vw_pipeline_summary')
	assert_eq "$row" "100000|$(count_status "$C" NORMAL)|$(count_status "$C" BRADYCARDIA)|$(count_status "$C" TACHYCARDIA)|0|20"
}

@test "vw_customer_bpm_summary covers every valid reading, per customer per minute" {
	assert_eq "$(q 'SELECT sum(readings) FROM vw_customer_bpm_summary')" 100000
	assert_eq "$(q 'SELECT count(DISTINCT customer_id) FROM vw_customer_bpm_summary')" 20
	# the per-minute aggregates agree with jq on one customer and minute
	want=$(jq -r 'select(.customer_id == "CUST_00003" and (.timestamp | startswith("2026-11-23T10:05"))) | .heart_rate' "$C" |
		awk '{s+=$1; n++; if(min==""||$1<min)min=$1; if($1>max)max=$1} END {printf "%d|%d|%d|%.1f", n, min, max, s/n}')
	got=$(q "SELECT readings, min_bpm, max_bpm, avg_bpm FROM vw_customer_bpm_summary
	         WHERE customer_id = 'CUST_00003' AND minute = '2026-11-23T10:05:00Z'")
	assert_eq "$got" "$want"
}

@test "vw_recent_anomalies lists the anomalies just stored" {
	n=$(q 'SELECT count(*) FROM vw_recent_anomalies')
	assert_eq "$n" "$(( $(count_status "$C" BRADYCARDIA) + $(count_status "$C" TACHYCARDIA) ))"
}

@test "loading the same file twice stores nothing more" {
	before=$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')
	run hbpgload "$C"
	[ "$status" -eq 0 ]
	[[ "$output" == *"stored=0 duplicates=100000"* ]]
	after=$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')
	assert_eq "$after" "$before"
	# and the metrics say so
	assert_eq "$(q "SELECT duplicates_skipped FROM pipeline_metrics WHERE kind = 'final' ORDER BY id DESC LIMIT 1")" 100000
}

@test "a half-loaded file (a batch already stored) completes without doubles" {
	# the first 30,000 lines again, then all of it: both end with the same rows
	head -n 30000 "$C" | hbpgload -q
	hbpgload -q --batch-rows 7000 <"$C"
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" "$(count_status "$C" NORMAL)"
	# a doubled anomaly would show here, not in heartbeat_records
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_anomalies')" \
		"$(( $(count_status "$C" BRADYCARDIA) + $(count_status "$C" TACHYCARDIA) ))"
	for s in BRADYCARDIA TACHYCARDIA; do
		assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = '$s'")" \
			"$(count_status "$C" "$s")"
	done
}

@test "pipeline_metrics holds snapshots with per-status counts" {
	row=$(q "SELECT rows_in, normal + bradycardia + tachycardia + invalid FROM pipeline_metrics
	         WHERE kind = 'final' ORDER BY id LIMIT 1")
	assert_eq "$row" "100000|100000"
	# a live stream writes snapshots while it runs, not only at the end
	hbsim --rate 400 --duration 3 -q | hbclassify -qq | hbpgload -q -m 500 -i live-snapshots
	n=$(q "SELECT count(*) FROM pipeline_metrics WHERE instance = 'live-snapshots' AND kind = 'snapshot'")
	[ "$n" -ge 3 ]
}

@test "hbsim with --seed and --start is reproducible byte for byte" {
	a=$(hbsim --seed 42 --start 2026-01-01T00:00:00+01:00 --count 5000 --rate 0 --invalid-rate 0.1 --malformed-rate 0.1 -q | md5sum)
	b=$(hbsim --seed 42 --start 2026-01-01T00:00:00+01:00 --count 5000 --rate 0 --invalid-rate 0.1 --malformed-rate 0.1 -q | md5sum)
	c=$(hbsim --seed 43 --start 2026-01-01T00:00:00+01:00 --count 5000 --rate 0 --invalid-rate 0.1 --malformed-rate 0.1 -q | md5sum)
	assert_eq "$a" "$b"
	[ "$a" != "$c" ]
	# the virtual clock: readings 1/rate apart, in UTC
	run hbsim --seed 1 --start 2026-01-01T00:00:00+01:00 --count 3 --rate 4 -q
	assert_eq "$(echo "$output" | jq -r .timestamp | tr '\n' ' ')" \
		"2025-12-31T23:00:00.000Z 2025-12-31T23:00:00.250Z 2025-12-31T23:00:00.500Z "
}

@test "hbsim --rate paces readings on the wall clock" {
	start=$(date +%s.%N)
	n=$(hbsim --rate 50 --count 100 -q | wc -l)
	end=$(date +%s.%N)
	assert_eq "$n" 100
	# 100 readings at 50/s take about 2 s
	awk -v s="$start" -v e="$end" 'BEGIN { d = e - s; exit !(d > 1.7 && d < 3.5) }'
	# --duration on the wall clock
	n=$(hbsim --rate 100 --duration 1 -q | wc -l)
	[ "$n" -ge 90 ]
	[ "$n" -le 110 ]
}

@test "hbsim --invalid-rate and --malformed-rate end up as INVALID, each line once" {
	hbsim --seed 9 --start 2026-11-23T12:00:00Z --count 20000 --rate 0 --invalid-rate 0.05 --malformed-rate 0.05 -q |
		hbclassify -qq >"$BATS_TEST_TMPDIR/mixed.ndjson"
	inv=$(count_status "$BATS_TEST_TMPDIR/mixed.ndjson" INVALID)
	[ "$inv" -gt 1500 ]
	[ "$inv" -lt 2500 ]
	before=$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'")
	hbpgload -q "$BATS_TEST_TMPDIR/mixed.ndjson"
	hbpgload -q "$BATS_TEST_TMPDIR/mixed.ndjson"
	after=$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'")
	assert_eq "$((after - before))" "$inv"
}

@test "a stage killed mid-write: its torn last line is dropped with a warning, other last lines are input" {
	line='{"_kafka":{"p":0,"o":1},"customer_id":"c1","timestamp":"2026-11-23T12:00:00Z","heart_rate":70}'
	# cut inside the coordinates, after lines that carried them: torn
	run --separate-stderr bash -c "printf '%s\n{\"_ka' '$line' | hbclassify"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $(jq -r .status <<<"${lines[0]}") == NORMAL ]]
	[[ $stderr == *"torn last line"* ]]
	# the same fragment in a stream without coordinates is input: INVALID
	run --separate-stderr bash -c "printf '%s\n{\"_ka' '{\"customer_id\":\"c1\",\"timestamp\":\"2026-11-23T12:00:00Z\",\"heart_rate\":70}' | hbclassify"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ $(jq -r .status <<<"${lines[1]}") == INVALID ]]
}

@test "hbsim --clock-rate spaces the virtual clock, unpaced with --rate 0" {
	run bash -c "hbsim --seed 3 --start 2026-11-23T00:00:00Z -n 1000 --clock-rate 1000 --rate 0 -c 2001 -q | jq -r .timestamp | sed -n '1p;1001p;2001p'"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 2026-11-23T00:00:00.000Z ]
	[ "${lines[1]}" = 2026-11-23T00:00:01.000Z ]
	[ "${lines[2]}" = 2026-11-23T00:00:02.000Z ]
	run --separate-stderr hbsim --clock-rate 10 -c 1
	[ "$status" -eq 2 ]
	[[ $stderr == *"--clock-rate needs --start"* ]]
}

@test "a batch in any order: each reading stored with its own heart rate, and of a reading read twice the first" {
	# hbpgload groups a batch by minute and customer before its COPY (lib/hb_load_order.c)
	f=$BATS_TEST_TMPDIR/shuffled.ndjson
	for c in $(seq 1 30); do
		for s in $(seq 0 39); do echo "ORD_$c 0$((s % 3)):$((10 + s)) $((60 + (c * 7 + s) % 40))"; done
	done | shuf --random-source=<(yes) |
		awk '{ printf "{\"customer_id\":\"%s\",\"timestamp\":\"2026-11-23T12:%sZ\",\"heart_rate\":%d,\"status\":\"NORMAL\"}\n", $1, $2, $3 }' >"$f"
	# the first reading again, with another heart rate, later in the same batch
	head -n 1 "$f" | sed 's/"heart_rate":[0-9]*/"heart_rate":150/' >>"$f"
	run hbpgload "$f"
	[ "$status" -eq 0 ]
	[[ "$output" == *"stored=1200 duplicates=1"* ]]
	got=$(q "SELECT x FROM (SELECT customer_id || ' ' || to_char(ts AT TIME ZONE 'UTC', 'HH24:MI:SS') || ' ' || heart_rate AS x
	         FROM heartbeat_records WHERE customer_id LIKE 'ORD\_%') r ORDER BY x COLLATE \"C\"")
	want=$(head -n 1200 "$f" | jq -r '"\(.customer_id) \(.timestamp[11:19]) \(.heart_rate)"' | LC_ALL=C sort)
	assert_eq "$got" "$want"
}
