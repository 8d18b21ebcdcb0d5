#!/usr/bin/env bats
# replay.bats — hbkafka-pub --resume and hb-replay: a publish of a file killed
# (kill -9) or starved (the broker away past message.timeout.ms) goes on from
# the last line the broker acknowledged; every reading is stored once.

load helpers

setup_file() {
	hb_newdb
	export BIG=$BATS_FILE_TMPDIR/big.ndjson
	hbsim --seed 41 --start 2026-11-20T00:00:00Z --count 1000000 --rate 0 -q >"$BIG"
}

teardown_file() {
	hb_dropdb
}

setup() {
	hb_empty_tables
	hb_newtopic
	S=$BATS_TEST_TMPDIR/pub.state
}

teardown() {
	# a publisher left running, and the broker up and running for the next test
	pkill -KILL -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
	"$HB_REPO/scripts/hb-kafka" kill --dir "$HB_KAFKA_DIR" --node 1 --signal CONT 2>/dev/null || true
	"$HB_REPO/scripts/hb-kafka" status --dir "$HB_KAFKA_DIR" >/dev/null 2>&1 ||
		"$HB_REPO/scripts/hb-kafka" restart-node --dir "$HB_KAFKA_DIR" --node 1 2>/dev/null
}

# The line the state file records as published through (0 before there is one).
mark_of() {
	awk '$1 == "line" { print $2; found = 1 } END { if (!found) print 0 }' "$S" 2>/dev/null || echo 0
}

mark_at_least() {
	[[ $(mark_of) -ge $1 ]]
}

# Wait (up to $2 seconds, looking every 10 ms) until the state records line $1:
# a publisher past a million lines a second overshoots a coarser wait by far.
wait_mark() {
	local deadline=$((SECONDS + $2))
	until mark_at_least "$1"; do
		[[ $SECONDS -lt $deadline ]] || return 1
		sleep 0.01
	done
}

# Messages in the test's topic, all partitions.
messages_in_topic() {
	hbkafka-sub -G "count_${RANDOM}_$RANDOM" -o beginning -e -q | wc -l | tr -d ' '
}

readings() {
	hbsim --seed "$1" --start 2026-11-20T00:00:00Z --count "$2" --rate 0 -q >"$3"
}

@test "--resume: kill -9 at five random points of 1,000,000 lines, then to the end: each reading stored once" {
	f=$BIG
	q_max=20000
	prev_mark=0 prev_sent=0 again_sum=0
	for k in 1 2 3 4 5; do
		target=$((prev_mark + 30000 + RANDOM % 70000))
		hbkafka-pub -q -X queue.buffering.max.messages=$q_max --resume "$S" "$f" 3>&- &
		pid=$!
		wait_mark "$target" 300
		# still running: the kill lands mid-file
		kill -9 "$pid"
		wait "$pid" || true
		mark=$(mark_of)
		[ "$mark" -lt 1000000 ]
		sent=$(messages_in_topic)
		again=$(((sent - prev_sent) - (mark - prev_mark)))
		echo "# kill $k past line $target: state at line $mark, this run published $((sent - prev_sent)), to be sent again $again" >&3
		[ "$mark" -ge "$target" ]
		[ "$again" -ge 0 ]
		# what is sent again is what was in flight: about the local queue
		# (more when a partition lags), plus what was acknowledged since the
		# state was last saved (10,000 lines or 100 ms) and one poll of
		# delivery reports
		[ "$again" -le $((3 * q_max + 10000)) ]
		again_sum=$((again_sum + again))
		prev_mark=$mark prev_sent=$sent
	done
	run hbkafka-pub --resume "$S" "$f"
	[ "$status" -eq 0 ]
	[[ "$output" == *"going on after line $prev_mark "* ]]
	[[ "$output" == *"published through line 1000000 "* ]]
	assert_eq "$(mark_of)" 1000000
	sent=$(messages_in_topic)
	echo "# published in all: $sent messages for 1,000,000 lines; sent again after the kills: $again_sum" >&3
	[ "$sent" -le $((1000000 + again_sum)) ]
	# a finished file: the next run publishes nothing
	run hbkafka-pub --resume "$S" "$f"
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to publish"* ]]
	[[ "$output" == *"done lines=0 "* ]]
	assert_eq "$(messages_in_topic)" "$sent"
	consume_all
	assert_eq "$(stored)" 1000000
	assert_eq "$(q 'SELECT count(DISTINCT (customer_id, ts)) FROM heartbeat_records')" "$(q 'SELECT count(*) FROM heartbeat_records')"
}

@test "--resume: the broker away past message.timeout.ms, then back: the rerun finishes the file" {
	f=$BATS_TEST_TMPDIR/r.ndjson
	readings 42 300000 "$f"
	hbkafka-pub -X message.timeout.ms=4000 -X request.timeout.ms=2000 -X queue.buffering.max.messages=20000 \
		--resume "$S" "$f" 2>"$BATS_TEST_TMPDIR/pub.err" 3>&- &
	pid=$!
	wait_for 120 mark_at_least 20000
	# the broker stops answering (frozen), for longer than message.timeout.ms
	"$HB_REPO/scripts/hb-kafka" kill --dir "$HB_KAFKA_DIR" --node 1 --signal STOP
	status=0
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/pub.err"
	[ "$status" -eq 69 ]
	grep -q 'reading stops; the next run with --resume' "$BATS_TEST_TMPDIR/pub.err"
	mark=$(mark_of)
	[ "$mark" -ge 20000 ]
	[ "$mark" -lt 300000 ]
	# it comes back (killed and started again)
	"$HB_REPO/scripts/hb-kafka" kill --dir "$HB_KAFKA_DIR" --node 1 --signal KILL
	"$HB_REPO/scripts/hb-kafka" restart-node --dir "$HB_KAFKA_DIR" --node 1
	run hbkafka-pub --resume "$S" "$f"
	[ "$status" -eq 0 ]
	[[ "$output" == *"going on after line $mark "* ]]
	assert_eq "$(mark_of)" 300000
	consume_all
	assert_eq "$(stored)" 300000
}

@test "--resume: SIGTERM delivers what was read and saves it; the rerun sends each line once in all" {
	hbkafka-pub -q --resume "$S" "$BIG" 3>&- &
	pid=$!
	wait_mark 20000 120
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 0 ]
	mark=$(mark_of)
	[ "$mark" -lt 1000000 ]
	# nothing in flight was left: the topic holds exactly the lines recorded
	assert_eq "$(messages_in_topic)" "$mark"
	run hbkafka-pub --resume "$S" "$BIG"
	[ "$status" -eq 0 ]
	[[ "$output" == *"going on after line $mark "* ]]
	assert_eq "$(messages_in_topic)" 1000000
}

@test "--resume: a last line without a newline is sent again by the next run, whole once it is" {
	f=$BATS_TEST_TMPDIR/growing.ndjson
	readings 47 11 "$BATS_TEST_TMPDIR/all.ndjson"
	head -n 10 "$BATS_TEST_TMPDIR/all.ndjson" >"$f"
	tail -n 1 "$BATS_TEST_TMPDIR/all.ndjson" | head -c 30 >>"$f"
	run hbkafka-pub --resume "$S" "$f"
	[ "$status" -eq 0 ]
	[[ "$output" == *"done lines=11 delivered=11 "* ]]
	assert_eq "$(mark_of)" 10
	# the writer finishes the line
	tail -n 1 "$BATS_TEST_TMPDIR/all.ndjson" | tail -c +31 >>"$f"
	run hbkafka-pub --resume "$S" "$f"
	[ "$status" -eq 0 ]
	[[ "$output" == *"going on after line 10 "* ]]
	[[ "$output" == *"done lines=1 delivered=1 "* ]]
	assert_eq "$(mark_of)" 11
	assert_eq "$(messages_in_topic)" 12
	# the half line was published too, as it was: one INVALID row
	consume_all
	assert_eq "$(stored)" 12
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'")" 1
}

@test "--resume refuses another file, another topic, standard input and a damaged state (exit 2)" {
	f=$BATS_TEST_TMPDIR/a.ndjson
	readings 43 2000 "$f"
	run hbkafka-pub --resume "$S" "$f"
	[ "$status" -eq 0 ]
	assert_eq "$(mark_of)" 2000
	# the same path, other contents
	readings 44 3000 "$f"
	run hbkafka-pub --resume "$S" "$f"
	[ "$status" -eq 2 ]
	[[ "$output" == *"is not the file $S records"*"bytes before offset"*"differ"* ]]
	# shorter than what was published
	head -n 10 "$f" >"$f.short"
	run hbkafka-pub --resume "$S" "$f.short"
	[ "$status" -eq 2 ]
	[[ "$output" == *"fewer than the"*"not the same file"* ]]
	# a file copied elsewhere is the same file
	readings 43 2500 "$f"
	cp "$f" "$BATS_TEST_TMPDIR/moved.ndjson"
	run hbkafka-pub --resume "$S" "$BATS_TEST_TMPDIR/moved.ndjson"
	[ "$status" -eq 0 ]
	[[ "$output" == *"going on after line 2000 "* ]]
	[[ "$output" == *"done lines=500 delivered=500 "* ]]
	run hbkafka-pub -t other_topic --resume "$S" "$f"
	[ "$status" -eq 2 ]
	[[ "$output" == *"records publishing to topic $HB_TOPIC, not other_topic"* ]]
	run hbkafka-pub --resume "$S" <"$f"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--resume needs a FILE"* ]]
	run bash -c "cat '$f' | hbkafka-pub --resume '$S' /dev/stdin"
	[ "$status" -eq 2 ]
	[[ "$output" == *"not a regular file"* ]]
	sed -i 's/^offset .*/offset ten/' "$S"
	run hbkafka-pub --resume "$S" "$f"
	[ "$status" -eq 2 ]
	[[ "$output" == *"line 3: not a state that hbkafka-pub --resume wrote"* ]]
	assert_eq "$(messages_in_topic)" 2500
}

@test "hb-replay resumes by default: a second replay sends nothing, --again sends it all" {
	f=$BATS_TEST_TMPDIR/day.ndjson
	readings 45 5000 "$f"
	export HB_REPLAY_STATE_DIR=$BATS_TEST_TMPDIR/states
	run "$HB_REPO/scripts/hb-replay" "$f"
	[ "$status" -eq 0 ]
	assert_eq "$(messages_in_topic)" 5000
	run "$HB_REPO/scripts/hb-replay" "$f"
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to publish"* ]]
	assert_eq "$(messages_in_topic)" 5000
	# lines appended since are published, and only they
	hbsim --seed 46 --start 2026-11-21T00:00:00Z --count 100 --rate 0 -q >>"$f"
	run "$HB_REPO/scripts/hb-replay" "$f"
	[ "$status" -eq 0 ]
	assert_eq "$(messages_in_topic)" 5100
	run "$HB_REPO/scripts/hb-replay" --again "$f"
	[ "$status" -eq 0 ]
	assert_eq "$(messages_in_topic)" 10200
	consume_all
	assert_eq "$(stored)" 5100
	run "$HB_REPO/scripts/hb-replay" --direct --again "$f"
	[ "$status" -eq 2 ]
}
