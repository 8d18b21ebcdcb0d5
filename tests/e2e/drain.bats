#!/usr/bin/env bats
# drain.bats — the end of a consumer pipeline with acknowledgements
# (hbkafka-sub -A): a drain to the end (-e), a count (-c), a signal or a
# closed stdout waits for hbpgload's last acknowledgements and commits them,
# so the group has nothing left to read and a restart stores nothing twice;
# what was not acknowledged is never committed, and the exit status says so.

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
	mkfifo "$BATS_TEST_TMPDIR/acks"
}

teardown() {
	if [[ -n ${worker:-} ]]; then kill -KILL "$worker" 2>/dev/null || true; fi
	pkill -TERM -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
	sleep 0.2
	pkill -KILL -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# $1 readings with a fixed seed onto the test's topic.
publish() {
	hbsim --seed 9 --start 2026-11-23T00:00:00Z --count "$1" --rate 0 -q | hbkafka-pub -q
}

# Messages the group $1 still has to read (this reads and commits them).
left() {
	hbkafka-sub -G "$1" -e -q | wc -l | tr -d ' '
}

# The cron-style drain into the database, in group $1; hbkafka-sub's status
# into $BATS_TEST_TMPDIR/sub.rc.  hbpgload's batch timer is off (10 minutes);
# it stores each batch when its input pauses, but acknowledges the last
# reading only at the end of its input (an alert about it could follow), so
# a drain that did not close its output would time out here.  (hbkafka-sub must be a
# stage of the pipeline itself: a { ...; echo $?; } around it would hold the
# pipe open after it closed its stdout.)
drain() {
	local group=$1
	shift
	hbkafka-sub -G "$group" -o beginning -e -A "$BATS_TEST_TMPDIR/acks" "$@" 2>"$BATS_TEST_TMPDIR/sub.err" |
		hbclassify -qq | hbpgload -q --batch-ms 600000 --ack-to "$BATS_TEST_TMPDIR/acks"
	echo "${PIPESTATUS[0]}" >"$BATS_TEST_TMPDIR/sub.rc"
}

# N drains of the whole topic, each in a fresh group: each must leave it nothing to read.
drain_repeatedly() {
	local n=$1 runs=$2 i
	for ((i = 1; i <= runs; i++)); do
		drain "$HB_GROUP-$i"
		if [[ $(cat "$BATS_TEST_TMPDIR/sub.rc") != 0 ]]; then
			echo "run $i: hbkafka-sub exited $(cat "$BATS_TEST_TMPDIR/sub.rc")" >&2
			cat "$BATS_TEST_TMPDIR/sub.err" >&2
			return 1
		fi
		grep -q "INFO done messages=$n .* unacknowledged=0 " "$BATS_TEST_TMPDIR/sub.err"
		assert_eq "$(left "$HB_GROUP-$i")" 0
	done
}

@test "-e -A drain of 1 message commits it, 20 times in a row" {
	publish 1
	drain_repeatedly 1 20
	assert_eq "$(stored)" 1
}

@test "-e -A drain of 1,000 messages commits them all, 20 times in a row" {
	publish 1000
	drain_repeatedly 1000 20
	assert_eq "$(stored)" 1000
}

@test "-e -A drain of 1,000,000 messages commits them all, 20 times in a row" {
	publish 1000000
	drain_repeatedly 1000000 20
	assert_eq "$(stored)" 1000000
}

@test "-c N -A: the N messages written are acknowledged and committed, the rest left" {
	publish 1000
	hbkafka-sub -o beginning -c 300 -A "$BATS_TEST_TMPDIR/acks" 2>"$BATS_TEST_TMPDIR/sub.err" |
		hbclassify -qq | hbpgload -q --batch-ms 600000 --ack-to "$BATS_TEST_TMPDIR/acks"
	echo "${PIPESTATUS[0]}" >"$BATS_TEST_TMPDIR/sub.rc"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/sub.rc")" 0
	assert_eq "$(stored)" 300
	assert_eq "$(left "$HB_GROUP")" 700
}

@test "a closed stdout with -A: what hbpgload stored is committed, the rest is not, exit 1 with the count" {
	publish 1000
	hbkafka-sub -o beginning -e -A "$BATS_TEST_TMPDIR/acks" 2>"$BATS_TEST_TMPDIR/sub.err" |
		hbclassify -qq | head -n 400 | hbpgload -q --ack-to "$BATS_TEST_TMPDIR/acks"
	echo "${PIPESTATUS[0]}" >"$BATS_TEST_TMPDIR/sub.rc"
	assert_eq "$(stored)" 400
	# hbkafka-sub wrote more than head took: those were not acknowledged
	assert_eq "$(cat "$BATS_TEST_TMPDIR/sub.rc")" 1
	grep -q 'ERROR [0-9]* message(s) written in [0-9] partition(s) were not acknowledged' "$BATS_TEST_TMPDIR/sub.err"
	assert_eq "$(grep -c ERROR "$BATS_TEST_TMPDIR/sub.err")" 1
	# exactly what was stored was committed: nothing lost
	assert_eq "$(left "$HB_GROUP")" 600
}

@test "a reader that never acknowledges: the drain ends after --ack-timeout, exit 1, nothing committed" {
	publish 1000
	start=$(date +%s)
	run bash -c "set -o pipefail; hbkafka-sub -o beginning -e -A '$BATS_TEST_TMPDIR/acks' --ack-timeout 3 2>'$BATS_TEST_TMPDIR/sub.err' | cat >'$BATS_TEST_TMPDIR/out'"
	assert_eq "$status" 1
	took=$(($(date +%s) - start))
	[ "$took" -ge 3 ]
	[ "$took" -lt 30 ]
	assert_eq "$(wc -l <"$BATS_TEST_TMPDIR/out" | tr -d ' ')" 1000
	grep -q 'ERROR 1000 message(s) written in 3 partition(s) were not acknowledged within --ack-timeout' "$BATS_TEST_TMPDIR/sub.err"
	assert_eq "$(left "$HB_GROUP")" 1000
}

@test "hbpgload killed mid-drain: exit 1, nothing committed that was not stored, the rerun stores the rest once" {
	publish 200000
	# a stage that paces the stream (20,000 lines/s), so that hbkafka-sub
	# reaches the end (its output buffer holds the rest) long before hbpgload
	(
		set +e
		hbkafka-sub -o beginning -e -A "$BATS_TEST_TMPDIR/acks" --ack-timeout 30 2>"$BATS_TEST_TMPDIR/sub.err" |
			hbclassify -qq | awk '{ print; fflush() } NR % 1000 == 0 { system("sleep 0.05") }' |
			hbpgload --ack-to "$BATS_TEST_TMPDIR/acks" --batch-rows 2000 -i "drain-$$" 2>/dev/null
		echo "${PIPESTATUS[0]}" >"$BATS_TEST_TMPDIR/sub.rc"
	) 3>&- &
	# killed while hbkafka-sub waits for its acknowledgements
	wait_for 60 grep -q 'INFO ending: waiting up to 30 s for the acknowledgement of [0-9]* message' "$BATS_TEST_TMPDIR/sub.err"
	pkill -KILL -f -- "-i drain-$$"
	wait || true
	assert_eq "$(cat "$BATS_TEST_TMPDIR/sub.rc")" 1
	grep -q 'ERROR [0-9]* message(s) written in [0-9] partition(s) were not acknowledged before hbpgload exited' "$BATS_TEST_TMPDIR/sub.err"
	stored_before=$(stored)
	[ "$stored_before" -lt 200000 ]
	# committed (what the group no longer has to read) <= stored
	left_now=$(left "$HB_GROUP")
	[ $((200000 - left_now)) -le "$stored_before" ]
	[ $((200000 - left_now)) -gt 0 ]
	# a drain again, from the beginning, stores the rest, each reading once
	drain "$HB_GROUP-again"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/sub.rc")" 0
	assert_eq "$(stored)" 200000
}

stored_above() {
	[[ $(stored) -gt $1 ]]
}

@test "a clean SIGTERM of a live pipeline, then a restart, five times: nothing delivered twice" {
	export HB_RUN_DIR="$BATS_TEST_TMPDIR/run"
	mkdir -p "$HB_RUN_DIR"
	mkfifo "$BATS_TEST_TMPDIR/live"
	hbsim --rate 1000 -q >"$BATS_TEST_TMPDIR/live" 3>&- &
	sim=$!
	hbkafka-pub <"$BATS_TEST_TMPDIR/live" 2>"$BATS_TEST_TMPDIR/pub.err" 3>&- &
	pub=$!
	for cycle in 1 2 3 4 5; do
		before=$(stored)
		"$HB_REPO/scripts/hb-pipeline" worker --id 1 3>&- &
		worker=$!
		wait_for 30 stored_above $((before + 500))
		kill -TERM "$worker"
		wait "$worker"
		worker=
		# every stage ended cleanly: hbkafka-sub had every message it wrote acknowledged
		assert_eq "$(cat "$HB_RUN_DIR/status.1")" "0 0 0"
	done
	kill -TERM "$sim"
	wait "$pub"
	sent=$(sed -n 's/.*hbkafka-pub INFO done lines=[0-9]* delivered=\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/pub.err")
	[ "$sent" -ge 2500 ]
	HB_KAFKA_OPTS="-e" "$HB_REPO/scripts/hb-pipeline" worker --id 1 --once 3>&-
	assert_eq "$(stored)" "$sent"
	# six hbpgload runs, and none of them met a reading already stored
	assert_eq "$(grep -c 'hbpgload INFO done ' "$HB_RUN_DIR/worker.1.log")" 6
	assert_eq "$(grep -c 'hbpgload INFO done .* duplicates=0 ' "$HB_RUN_DIR/worker.1.log")" 6
	assert_eq "$(q "SELECT coalesce(sum(d), -1) FROM (SELECT max(duplicates_skipped) AS d FROM pipeline_metrics GROUP BY instance) m")" 0
	assert_eq "$(grep -c 'hbkafka-sub INFO stopped .* unacknowledged=0 ' "$HB_RUN_DIR/worker.1.log")" 5
}

# True when file $1 has $2 lines.
has_lines() {
	[[ -f $1 && $(wc -l <"$1") -eq $2 ]]
}

@test "SIGINT to hbkafka-sub alone drains the pipeline: the last acknowledgement committed, exit 0, nothing left to read" {
	publish 5000
	(
		set +e
		hbkafka-sub -o beginning -A "$BATS_TEST_TMPDIR/acks" 2>"$BATS_TEST_TMPDIR/sub.err" |
			hbclassify -qq | tee "$BATS_TEST_TMPDIR/seen" |
			hbpgload -q --batch-rows 1500 --batch-ms 600000 --ack-to "$BATS_TEST_TMPDIR/acks"
		echo "${PIPESTATUS[0]}" >"$BATS_TEST_TMPDIR/sub.rc"
	) 3>&- &
	# everything is through hbclassify and stored as the input paused; the
	# last reading's acknowledgement waits in hbpgload for the next line or
	# the end of its input (an alert about it could follow), so the group
	# has it committed only if the drain closes the pipeline's input
	wait_for 60 has_lines "$BATS_TEST_TMPDIR/seen" 5000
	wait_stored 5000 60
	pkill -INT -f -- "-A $BATS_TEST_TMPDIR/acks"
	wait
	assert_eq "$(cat "$BATS_TEST_TMPDIR/sub.rc")" 0
	assert_eq "$(stored)" 5000
	grep -q 'INFO stopped messages=5000 .* unacknowledged=0 ' "$BATS_TEST_TMPDIR/sub.err"
	assert_eq "$(left "$HB_GROUP")" 0
}
