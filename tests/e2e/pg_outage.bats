#!/usr/bin/env bats
# pg_outage.bats — PostgreSQL stopped in the middle of a load, down at start,
# down for too long: nothing lost, nothing doubled, the right exit status.

load helpers

setup_file() {
	hb_newdb
	export C="$BATS_FILE_TMPDIR/classified.ndjson"
	hbsim --seed 11 --start 2026-11-23T08:00:00Z --count 200000 --rate 0 --invalid-rate 0.01 \
		--malformed-rate 0.01 -q | hbclassify -qq >"$C"
	split -n l/40 -d -a 2 "$C" "$BATS_FILE_TMPDIR/part."
}

teardown_file() {
	"$HB_REPO/scripts/hb-pg" restart --dir "$HB_PG_DIR" >/dev/null 2>&1 || true
	hb_dropdb
}

teardown() {
	# whatever a test did, leave the server running for the next one
	"$HB_REPO/scripts/hb-pg" status --dir "$HB_PG_DIR" ||
		"$HB_REPO/scripts/hb-pg" restart --dir "$HB_PG_DIR"
}

# The classified file, fed in 40 parts over ~4 s so that a load is in flight.
slow_feed() {
	for p in "$BATS_FILE_TMPDIR"/part.*; do
		cat "$p"
		sleep 0.1
	done
}

expect_all_stored() {
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" "$(count_status "$C" NORMAL)"
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_anomalies')" \
		"$(( $(wc -l <"$C") - $(count_status "$C" NORMAL) ))"
	for s in BRADYCARDIA TACHYCARDIA INVALID; do
		assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = '$s'")" \
			"$(count_status "$C" "$s")"
	done
}

reset_tables() {
	hb_empty_tables
}

some_records_stored() {
	[ "$(q 'SELECT count(*) FROM heartbeat_records')" -gt 0 ]
}

@test "PostgreSQL crashes in the middle of a load: the load finishes, nothing lost or doubled" {
	reset_tables
	(slow_feed | hbpgload --batch-rows 2000 --batch-ms 50 --retry-for 120 2>"$BATS_TEST_TMPDIR/err") 3>&- &
	pid=$!
	sleep 1.5
	"$HB_REPO/scripts/hb-pg" stop --dir "$HB_PG_DIR" --mode immediate
	sleep 2
	"$HB_REPO/scripts/hb-pg" restart --dir "$HB_PG_DIR"
	wait "$pid"
	grep -q 'database unavailable, retrying' "$BATS_TEST_TMPDIR/err"
	grep -q 'database is back' "$BATS_TEST_TMPDIR/err"
	grep -Eq 'done rows_in=200000 .* retries=[1-9]' "$BATS_TEST_TMPDIR/err"
	expect_all_stored
}

@test "PostgreSQL shut down cleanly in the middle of a load: the same" {
	reset_tables
	(slow_feed | hbpgload --batch-rows 1000 --batch-ms 20 --retry-for 120 2>"$BATS_TEST_TMPDIR/err") 3>&- &
	pid=$!
	sleep 1
	"$HB_REPO/scripts/hb-pg" stop --dir "$HB_PG_DIR" --mode fast
	sleep 1
	"$HB_REPO/scripts/hb-pg" restart --dir "$HB_PG_DIR"
	wait "$pid"
	grep -Eq 'done rows_in=200000 .* retries=[1-9]' "$BATS_TEST_TMPDIR/err"
	expect_all_stored
}

@test "PostgreSQL down at start: hbpgload waits for it and loads everything" {
	reset_tables
	"$HB_REPO/scripts/hb-pg" stop --dir "$HB_PG_DIR" --mode fast
	hbpgload --retry-for 60 "$C" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	sleep 2
	"$HB_REPO/scripts/hb-pg" restart --dir "$HB_PG_DIR"
	wait "$pid"
	grep -q 'database unavailable, retrying' "$BATS_TEST_TMPDIR/err"
	expect_all_stored
}

@test "PostgreSQL down for longer than --retry-for: exit 69, one clear line, nothing claimed" {
	"$HB_REPO/scripts/hb-pg" stop --dir "$HB_PG_DIR" --mode fast
	run hbpgload --retry-for 2 "$C"
	"$HB_REPO/scripts/hb-pg" restart --dir "$HB_PG_DIR"
	[ "$status" -eq 69 ]
	[[ "$output" == *"ERROR database unreachable for 2 s (--retry-for): "*"not stored"*"(run the input again: loading is idempotent)"* ]]
	[[ "$output" == *"failed rows_in="* ]]
}

@test "SIGTERM while the database is down: gives up after a short grace, exit 69" {
	"$HB_REPO/scripts/hb-pg" stop --dir "$HB_PG_DIR" --mode fast
	hbpgload --retry-for 0 "$C" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	sleep 1
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	"$HB_REPO/scripts/hb-pg" restart --dir "$HB_PG_DIR"
	assert_eq "$rc" 69
	grep -q 'database unreachable for .* (stopping)' "$BATS_TEST_TMPDIR/err"
}

@test "a load killed with -9 and run again stores everything exactly once" {
	reset_tables
	mkfifo "$BATS_TEST_TMPDIR/feed"
	slow_feed >"$BATS_TEST_TMPDIR/feed" 3>&- &
	feeder=$!
	hbpgload -q --batch-rows 3000 <"$BATS_TEST_TMPDIR/feed" 3>&- &
	pid=$!
	# killed as soon as a first batch is in: the load is then really half done
	wait_for 20 some_records_stored
	kill -9 "$pid"
	wait "$pid" || true
	wait "$feeder" || true
	n=$(q 'SELECT count(*) FROM heartbeat_records')
	[ "$n" -gt 0 ]
	[ "$n" -lt "$(count_status "$C" NORMAL)" ]
	hbpgload -q "$C"
	expect_all_stored
}
