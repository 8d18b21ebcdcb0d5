#!/usr/bin/env bats
# latency.bats — a reading is stored when the input pauses, not when a
# timer says so: hbpgload stores its batch as soon as nothing more is there
# to read (--batch-ms only caps the wait under continuous input), and
# hbkafka-pub sends what it holds as soon as its input pauses (linger.ms only
# applies while lines keep coming).  Batches still grow under load.  An
# acknowledgement waits for the state or silence alert that hbclassify writes
# after its readings when its input pauses.
# (The figures are bench/latency.sh's; these check behaviour, not speed.)

load helpers

setup_file() {
	hb_newdb
}

teardown_file() {
	hb_dropdb
}

setup() {
	hb_empty_tables
}

teardown() {
	local p
	for p in ${pids:-}; do kill -TERM "$p" 2>/dev/null || true; done
	for p in ${pids:-}; do wait "$p" 2>/dev/null || true; done
}

rows() { q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)'; }
rows_are() { [[ $(rows) == "$1" ]]; }
acked() { grep -qx "$1" "$BATS_TEST_TMPDIR/acks"; }

# a classified reading with Kafka coordinates: partition $1, offset $2, second $3
reading() {
	printf '{"_kafka":{"p":%d,"o":%d},"customer_id":"CUST_%05d","timestamp":"2026-11-23T10:00:%02d.000Z","heart_rate":%d,"status":"%s"}\n' \
		"$1" "$2" "$2" "$3" "${4:-72}" "${5:-NORMAL}"
}

@test "hbpgload stores a reading as soon as its input pauses, with the batch timer at 10 minutes" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	hbpgload -q --batch-ms 600000 "$BATS_TEST_TMPDIR/in" &
	pids=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	reading 0 1 1 >&7
	wait_for 5 rows_are 1
	reading 0 2 2 >&7
	reading 0 3 3 >&7
	wait_for 5 rows_are 3
	exec 7>&-
	wait "$pids"
	pids=
}

@test "an acknowledgement is held back until the line after its reading shows no state or alert follows" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	: >"$BATS_TEST_TMPDIR/acks"
	hbpgload -q --batch-ms 600000 --ack-to "$BATS_TEST_TMPDIR/acks" "$BATS_TEST_TMPDIR/in" &
	pids=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	reading 0 10 1 >&7
	reading 1 20 2 >&7
	wait_for 5 rows_are 2
	# stored, but the last reading's offset is not acknowledged yet (a
	# state or silence alert may still come after it); the one before it is
	wait_for 5 acked "0 10"
	run acked "1 20"
	[ "$status" -ne 0 ]
	# the next reading shows nothing followed the one before: acknowledged at once
	reading 1 21 3 >&7
	wait_for 5 acked "1 20"
	wait_for 5 rows_are 3
	run acked "1 21"
	[ "$status" -ne 0 ]
	# an alert line after it: the acknowledgement goes with the alert's commit
	printf '%s\n' '{"_hb_alert":{"alert":"TACHYCARDIA","state":"open","customer_id":"CUST_00021","start":"2026-11-23T10:00:03.000Z","at":"2026-11-23T10:00:03.000Z","readings":1,"peak_bpm":190,"peak_at":"2026-11-23T10:00:03.000Z","reason":"1 reading above 180 bpm"}}' >&7
	wait_for 5 acked "1 21"
	[ "$(q 'SELECT count(*) FROM heartbeat_alerts')" -eq 1 ]
	# the end of the input: the last one is acknowledged with the final flush
	reading 2 30 4 >&7
	exec 7>&-
	wait "$pids"
	pids=
	acked "2 30"
}

@test "batches still grow under load: a full-speed pipe is not stored a row at a time" {
	hbsim --seed 4 --start 2026-11-23T00:00:00Z --count 200000 --rate 0 -q | hbclassify -qq |
		hbpgload 2>"$BATS_TEST_TMPDIR/load.log"
	assert_eq "$(rows)" 200000
	batches=$(sed -n 's/.* batches=\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/load.log")
	[ -n "$batches" ]
	# an average batch of at least 20 rows (a row at a time would be 200,000)
	[ "$batches" -le 10000 ]
}

@test "hbkafka-pub sends a line as soon as its input pauses, whatever linger.ms says" {
	hb_newtopic
	mkfifo "$BATS_TEST_TMPDIR/in"
	hbkafka-pub -q -X linger.ms=60000 <"$BATS_TEST_TMPDIR/in" &
	pids=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	reading 0 1 1 >&7
	# a consumer sees it long before the 60 s linger would have let it go
	run timeout 20 hbkafka-sub -q -G "$HB_GROUP" -o beginning -c 1
	[ "$status" -eq 0 ]
	[[ $output == *'"customer_id":"CUST_00001"'* ]]
	exec 7>&-
	wait "$pids"
	pids=
}
