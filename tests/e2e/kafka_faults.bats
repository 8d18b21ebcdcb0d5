#!/usr/bin/env bats
# kafka_faults.bats — kill -9 of any consumer stage, the broker going away,
# a consumer pipeline dying in a group of two: nothing lost, nothing doubled.

load helpers

setup_file() {
	hb_newdb
}

teardown_file() {
	hb_dropdb
}

setup() {
	hb_empty_tables
	hb_newtopic
	export RUN="$BATS_TEST_TMPDIR/run"
	mkdir -p "$RUN"
}

teardown() {
	# stop whatever a test left running, and make sure the broker is up for the next
	# the supervisors first (their command line does not name the test's dir),
	# or one would start its pipeline again, into the next test's tables
	if [[ -f $BATS_TEST_TMPDIR/workers ]]; then xargs kill -KILL <"$BATS_TEST_TMPDIR/workers" 2>/dev/null || true; fi
	pkill -TERM -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
	sleep 0.5
	pkill -KILL -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
	"$HB_REPO/scripts/hb-kafka" status --dir "$HB_KAFKA_DIR" >/dev/null 2>&1 ||
		"$HB_REPO/scripts/hb-kafka" restart-node --dir "$HB_KAFKA_DIR" --node 1 2>/dev/null
}

# Readings produced: a fixed-seed file, so the expected rows are known.
produce() {
	hbsim --seed "$1" --start 2026-11-22T00:00:00Z --count "$2" --rate 0 -q >"$BATS_TEST_TMPDIR/readings.ndjson"
	hbclassify -qq --alerts "$BATS_TEST_TMPDIR/alerts.ndjson" "$BATS_TEST_TMPDIR/readings.ndjson" \
		>"$BATS_TEST_TMPDIR/classified.ndjson"
}

# A supervised worker pipeline (restarted when a stage dies), in the background.
start_worker() {
	HB_RUN_DIR=$RUN "$HB_REPO/scripts/hb-pipeline" worker --id "$1" 3>&- &
	echo $! >>"$BATS_TEST_TMPDIR/workers"
}

# The pid of a stage (hbkafka-sub, hbclassify, hbpgload) of worker $1.
stage_pid() {
	local sub parent
	sub=$(pgrep -f -- "-A $RUN/acks.$1" | head -n 1)
	[[ -n $sub ]] || return 1
	[[ $2 == hbkafka-sub ]] && { echo "$sub"; return; }
	parent=$(ps -o ppid= -p "$sub" | tr -d ' ')
	pgrep -P "$parent" -x "$2" | head -n 1
}

# How many partitions worker $1 said it holds last (empty before its first assignment).
last_assigned() {
	grep -o 'assigned [0-9]' "$RUN/worker.$1.log" 2>/dev/null | tail -n 1 | cut -d' ' -f2
}

# True once workers 1 and 2 each hold some of the 3 partitions.
split_between_two() {
	local a1 a2
	a1=$(last_assigned 1)
	a2=$(last_assigned 2)
	[[ -n $a1 && -n $a2 ]] || return 1
	((a1 >= 1 && a2 >= 1 && a1 + a2 == 3))
}

expect_exact() {
	local f="$BATS_TEST_TMPDIR/classified.ndjson"
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" "$(count_status "$f" NORMAL)"
	for s in BRADYCARDIA TACHYCARDIA INVALID; do
		assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = '$s'")" "$(count_status "$f" "$s")"
	done
	# and every reading is there, by its key, with its heart rate
	jq -r 'select(.status == "NORMAL") | [.customer_id, .timestamp, .heart_rate] | @tsv' "$f" | sort >"$BATS_TEST_TMPDIR/want.tsv"
	q "COPY (SELECT customer_id, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), heart_rate
	         FROM heartbeat_records) TO STDOUT" | sort >"$BATS_TEST_TMPDIR/got.tsv"
	cmp "$BATS_TEST_TMPDIR/want.tsv" "$BATS_TEST_TMPDIR/got.tsv"
	# each BRADYCARDIA/TACHYCARDIA episode has exactly one stored open, the
	# one an uninterrupted run over the same readings gives: a restart
	# continues from the stored state instead of opening it again
	jq -r 'select(.state == "open" and (.alert == "BRADYCARDIA" or .alert == "TACHYCARDIA"))
	       | [.alert, .customer_id, .start] | @tsv' "$BATS_TEST_TMPDIR/alerts.ndjson" | sort >"$BATS_TEST_TMPDIR/want.alerts"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/want.alerts")" -gt 100 ]
	q "COPY (SELECT alert, customer_id, to_char(start_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')
	         FROM heartbeat_alerts WHERE alert IN ('BRADYCARDIA', 'TACHYCARDIA')) TO STDOUT" |
		sort >"$BATS_TEST_TMPDIR/got.alerts"
	diff "$BATS_TEST_TMPDIR/want.alerts" "$BATS_TEST_TMPDIR/got.alerts"
}

kill_stage_test() {
	produce 31 150000
	hbkafka-pub -q "$BATS_TEST_TMPDIR/readings.ndjson"
	start_worker 1
	wait_stored 20000 60
	pid=$(stage_pid 1 "$1")
	[ -n "$pid" ]
	kill -9 "$pid"
	wait_stored 150000 120
	sleep 2	# let a late duplicate show itself, if there were one
	wait_for 15 grep -q 'restarting' "$RUN/worker.1.log"
	expect_exact
}

@test "kill -9 of hbkafka-sub mid-run, then the restart: nothing lost, nothing doubled" {
	kill_stage_test hbkafka-sub
}

@test "kill -9 of hbclassify mid-run, then the restart: nothing lost, nothing doubled" {
	kill_stage_test hbclassify
}

@test "kill -9 of hbpgload mid-run, then the restart: nothing lost, nothing doubled" {
	kill_stage_test hbpgload
}

@test "hbpgload killed while the pipeline is idle: the stages before it notice, the pipeline restarts" {
	produce 33 5000
	hbkafka-pub -q "$BATS_TEST_TMPDIR/readings.ndjson"
	start_worker 1
	wait_stored 5000 60
	sleep 1	# all consumed, classified, stored: every stage is waiting
	pid=$(stage_pid 1 hbpgload)
	[ -n "$pid" ]
	kill -9 "$pid"
	# hbclassify sees its output's reader gone, then hbkafka-sub sees its own:
	# the supervisor restarts the pipeline at once, not at the next message
	wait_for 10 grep -q 'restarting' "$RUN/worker.1.log"
	hbsim --seed 34 --start 2026-11-22T06:00:00Z --count 1000 --rate 0 -q | hbkafka-pub -q
	wait_stored 6000 60
}

@test "the broker killed and restarted mid-run: producer and consumer carry on, nothing lost" {
	produce 32 40000
	start_worker 1
	# the producer side, paced, so that the outage falls in the middle of it
	split -n l/20 -d "$BATS_TEST_TMPDIR/readings.ndjson" "$BATS_TEST_TMPDIR/part."
	(
		for p in "$BATS_TEST_TMPDIR"/part.*; do cat "$p"; sleep 0.3; done | hbkafka-pub -q
		echo "pub=$?" >"$BATS_TEST_TMPDIR/pub.status"
	) 3>&- &
	sleep 2
	"$HB_REPO/scripts/hb-kafka" kill --dir "$HB_KAFKA_DIR" --node 1 --signal KILL
	sleep 3
	"$HB_REPO/scripts/hb-kafka" restart-node --dir "$HB_KAFKA_DIR" --node 1
	wait_stored 40000 120
	for _ in $(seq 1 60); do [[ -s $BATS_TEST_TMPDIR/pub.status ]] && break; sleep 1; done
	assert_eq "$(cat "$BATS_TEST_TMPDIR/pub.status")" "pub=0"
	sleep 2
	expect_exact
}

@test "two consumer pipelines in one group split the partitions; killing one hands them over" {
	produce 33 60000
	start_worker 1
	start_worker 2
	# both have joined and split the 3 partitions
	wait_for 30 split_between_two
	a1=$(last_assigned 1)
	a2=$(last_assigned 2)
	assert_eq "$((a1 + a2))" 3
	[ "$a1" -ge 1 ]
	[ "$a2" -ge 1 ]
	# half the readings, then worker 2 dies with everything it runs
	head -n 30000 "$BATS_TEST_TMPDIR/readings.ndjson" | hbkafka-pub -q
	sleep 1
	w2=$(pgrep -f -- "hb-pipeline worker --id 2" | head -n 1)
	stages=$(pgrep -P "$(pgrep -P "$w2" | head -n 1)" | tr '\n' ' ')
	kill -9 "$w2" $stages
	tail -n 30000 "$BATS_TEST_TMPDIR/readings.ndjson" | hbkafka-pub -q
	# worker 1 takes over all three partitions (after the group's session timeout)
	wait_stored 60000 120
	grep -q 'assigned 3 partition' "$RUN/worker.1.log"
	sleep 2
	expect_exact
}
