#!/usr/bin/env bats
# spool.bats — hbkafka-pub --spool DIR: a live source keeps being read while
# the broker is down, for as long as it stays down, and a kill -9 of the
# publisher loses nothing it had read.  HB_SPOOL_OUTAGE (seconds, default 20)
# sets the outage; the issue's 10-minute run is HB_SPOOL_OUTAGE=600.

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
	D=$BATS_TEST_TMPDIR/spool
}

teardown() {
	pkill -KILL -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
	if mountpoint -q "$BATS_TEST_TMPDIR/small" 2>/dev/null; then umount -l "$BATS_TEST_TMPDIR/small"; fi
	"$HB_REPO/scripts/hb-kafka" status --dir "$HB_KAFKA_DIR" >/dev/null 2>&1 ||
		"$HB_REPO/scripts/hb-kafka" restart-node --dir "$HB_KAFKA_DIR" --node 1 2>/dev/null
}

# The spool state's line (0 before there is one).
spool_mark() {
	awk '$1 == "line" { print $2 + 0; found = 1 } END { if (!found) print 0 }' "$D/state" 2>/dev/null || echo 0
}

# Lines the publisher has read whole: the mark's line, and the newlines spooled after it.
spooled_lines() {
	local off first rest
	off=$(awk '$1 == "offset" { print $2 + 0 }' "$D/state" 2>/dev/null)
	off=${off:-0}
	first=$(find "$D" -name '*.seg' | sort | head -n 1)
	if [[ -z $first ]]; then spool_mark; return; fi
	first=$(basename "$first" .seg)
	rest=$(cat "$D"/*.seg | tail -c +$((off - 10#$first + 1)) | tr -cd '\n' | wc -c)
	echo $(($(spool_mark) + rest))
}

# Wait (up to $2 seconds) until the spool's state records line $1.
wait_mark() {
	local deadline=$((SECONDS + $2))
	until [[ $(spool_mark) -ge $1 ]]; do
		[[ $SECONDS -lt $deadline ]] || return 1
		sleep 0.1
	done
}

messages_in_topic() {
	hbkafka-sub -G "count_${RANDOM}_$RANDOM" -o beginning -e -q | wc -l | tr -d ' '
}

# Lines $2.. of file $1 at about 1,000 a second (a live source).
feed() {
	tail -n "+$2" "$1" | awk '{ print; fflush() } NR % 50 == 0 { system("sleep 0.05") }'
}

@test "--spool: 1,000 readings/s, the broker down, the publisher killed (-9) mid-outage and started again: each reading stored once" {
	outage=${HB_SPOOL_OUTAGE:-20}
	total=$(((outage + 30) * 1000))
	src=$BATS_TEST_TMPDIR/live.ndjson
	hbsim --seed 51 --start 2026-11-20T00:00:00Z --count "$total" --rate 0 --clock-rate 1000 -q >"$src"
	# a small local queue: most of what waits is read back from the spool
	feed "$src" 1 | hbkafka-pub -q -X queue.buffering.max.messages=2000 --spool "$D" 2>"$BATS_TEST_TMPDIR/pub1.err" 3>&- &
	pid=$!
	wait_for 60 bash -c "[ \$(awk '\$1 == \"line\" { print \$2 + 0 }' '$D/state' 2>/dev/null || echo 0) -ge 5000 ]"
	# the broker goes down
	"$HB_REPO/scripts/hb-kafka" kill --dir "$HB_KAFKA_DIR" --node 1 --signal KILL
	down_at=$SECONDS
	mark_down=$(spool_mark)
	# half the outage, then the publisher is killed
	sleep $((outage / 2))
	kill -9 "$pid"
	wait "$pid" || true
	read_before=$(spooled_lines)
	mark_kill=$(spool_mark)
	echo "# broker down at line $mark_down; publisher killed after $((SECONDS - down_at)) s having read $read_before lines" >&3
	[ "$read_before" -gt $((mark_down + outage * 300)) ]
	# started again; the source goes on from the line after the last one it read
	feed "$src" $((read_before + 1)) | hbkafka-pub -q -X queue.buffering.max.messages=2000 --spool "$D" 2>"$BATS_TEST_TMPDIR/pub2.err" 3>&- &
	pid=$!
	sleep $((outage - outage / 2))
	spooled=$(spooled_lines)
	# the broker comes back
	"$HB_REPO/scripts/hb-kafka" restart-node --dir "$HB_KAFKA_DIR" --node 1
	back_at=$SECONDS
	echo "# broker back after $((back_at - down_at)) s; $((spooled - mark_down)) lines waited in the spool ($(du -sk "$D" | cut -f1) KB)" >&3
	# what waited goes out (the source goes on meanwhile)
	wait_mark "$spooled" 600
	echo "# the $((spooled - mark_down)) lines that waited were delivered $((SECONDS - back_at)) s after it came back" >&3
	status=0
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/pub2.err"
	[ "$status" -eq 0 ]
	sent=$(messages_in_topic)
	echo "# all $total lines published $((SECONDS - back_at)) s after the broker came back; $sent messages ($((sent - total)) sent twice)" >&3
	[ "$sent" -ge "$total" ]
	consume_all
	assert_eq "$(stored)" "$total"
	# in order per customer: each customer's messages come in reading order
	# (a message sent again after the kill repeats an earlier one exactly)
	hbkafka-sub -G "order_$RANDOM" -o beginning -e -q | jq -r '[.customer_id, .timestamp] | @tsv' |
		awk -F'\t' 'seen[$1 FS $2]++ { next } ($1 in last) && $2 < last[$1] { bad++ } { last[$1] = $2 } END { exit bad > 0 }'
	# nothing left spooled
	[ -z "$(find "$D" -name '*.seg' -size +0)" ]
}

@test "--spool: a publish to the end leaves an empty spool; refused for another topic (2) or while in use (69)" {
	f=$BATS_TEST_TMPDIR/r.ndjson
	hbsim --seed 52 --start 2026-11-20T00:00:00Z --count 20000 --rate 0 -q >"$f"
	run hbkafka-pub --spool "$D" "$f"
	[ "$status" -eq 0 ]
	[[ "$output" == *"done lines=20000 delivered=20000 failed=0"* ]]
	[ -z "$(find "$D" -name '*.seg' -size +0)" ]
	assert_eq "$(spool_mark)" 20000
	assert_eq "$(messages_in_topic)" 20000
	run hbkafka-pub -t other_topic --spool "$D" "$f"
	[ "$status" -eq 2 ]
	[[ "$output" == *"holds lines for topic $HB_TOPIC, not other_topic"* ]]
	flock "$D/lock" sleep 5 &
	wait_for 5 bash -c "! flock -n '$D/lock' true"
	run hbkafka-pub --spool "$D" "$f"
	[ "$status" -eq 69 ]
	[[ "$output" == *"is in use by another publisher"* ]]
	run hbkafka-pub --spool "$D" --resume "$BATS_TEST_TMPDIR/s" "$f"
	[ "$status" -eq 2 ]
}

@test "--spool: SIGTERM with the broker away keeps what waits (exit 69); the next run sends it" {
	f=$BATS_TEST_TMPDIR/r.ndjson
	hbsim --seed 53 --start 2026-11-20T00:00:00Z --count 30000 --rate 0 -q >"$f"
	"$HB_REPO/scripts/hb-kafka" kill --dir "$HB_KAFKA_DIR" --node 1 --signal KILL
	hbkafka-pub --spool "$D" "$f" 2>"$BATS_TEST_TMPDIR/pub.err" 3>&- &
	pid=$!
	wait_for 30 bash -c "[ \$(cat '$D'/*.seg 2>/dev/null | wc -l) -ge 30000 ]"
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/pub.err"
	[ "$status" -eq 69 ]
	grep -q 'wait for the broker; the next run with --spool' "$BATS_TEST_TMPDIR/pub.err"
	"$HB_REPO/scripts/hb-kafka" restart-node --dir "$HB_KAFKA_DIR" --node 1
	run hbkafka-pub --spool "$D" </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"bytes wait to be published"* ]]
	assert_eq "$(messages_in_topic)" 30000
	consume_all
	assert_eq "$(stored)" 30000
}

@test "--spool-max: with the broker away the input waits once the spool holds that much; all of it goes when it is back" {
	f=$BATS_TEST_TMPDIR/r.ndjson
	hbsim --seed 54 --start 2026-11-20T00:00:00Z --count 40000 --rate 0 -q >"$f"
	"$HB_REPO/scripts/hb-kafka" kill --dir "$HB_KAFKA_DIR" --node 1 --signal KILL
	hbkafka-pub --spool "$D" --spool-max 1 -X queue.buffering.max.messages=2000 "$f" \
		2>"$BATS_TEST_TMPDIR/pub.err" 3>&- &
	pid=$!
	wait_for 30 grep -q 'input waits until the broker takes some' "$BATS_TEST_TMPDIR/pub.err"
	# about the limit on disk (and a line), not the 3.4 MB of the file
	kb=$(du -sk "$D" | cut -f1)
	echo "# spool on disk while the input waits: $kb KB" >&3
	[ "$kb" -le 1400 ]
	"$HB_REPO/scripts/hb-kafka" restart-node --dir "$HB_KAFKA_DIR" --node 1
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 0 ]
	assert_eq "$(messages_in_topic)" 40000
	consume_all
	assert_eq "$(stored)" 40000
}

@test "--spool on a full disk: the input waits (the process stays), and every line goes once the broker takes them" {
	mkdir "$BATS_TEST_TMPDIR/small"
	# a 2 MB file system for the spool: it needs root (CI runs as root)
	mount -t tmpfs -o size=2m tmpfs "$BATS_TEST_TMPDIR/small" 2>/dev/null ||
		skip "cannot mount a small tmpfs here (not root)"
	D=$BATS_TEST_TMPDIR/small/spool
	f=$BATS_TEST_TMPDIR/r.ndjson
	hbsim --seed 55 --start 2026-11-20T00:00:00Z --count 60000 --rate 0 -q >"$f"
	"$HB_REPO/scripts/hb-kafka" kill --dir "$HB_KAFKA_DIR" --node 1 --signal KILL
	# from a pipe, as a live source: 5 MB to spool in 2 MB
	cat "$f" | hbkafka-pub --spool "$D" 2>"$BATS_TEST_TMPDIR/pub.err" 3>&- &
	pid=$!
	wait_for 30 grep -q 'the disk is full: input waits until delivered lines make room' "$BATS_TEST_TMPDIR/pub.err"
	df -k "$BATS_TEST_TMPDIR/small" >&3
	kill -0 "$pid"
	# the spool ends after a whole line: what it holds is whole lines
	assert_eq "$(cat "$D"/*.seg | tail -c 1 | od -An -c | tr -d ' ')" '\n'
	"$HB_REPO/scripts/hb-kafka" restart-node --dir "$HB_KAFKA_DIR" --node 1
	status=0
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/pub.err"
	[ "$status" -eq 0 ]
	grep -q 'has room again: reading on' "$BATS_TEST_TMPDIR/pub.err"
	grep -q 'done lines=60000 delivered=60000 failed=0' "$BATS_TEST_TMPDIR/pub.err"
	assert_eq "$(messages_in_topic)" 60000
	consume_all
	assert_eq "$(stored)" 60000
	[ -z "$(find "$D" -name '*.seg' -size +0)" ]
}

@test "--spool: SIGTERM while the disk is full says what read could not be spooled (exit 1); the spool keeps whole lines" {
	mkdir "$BATS_TEST_TMPDIR/small"
	mount -t tmpfs -o size=1m tmpfs "$BATS_TEST_TMPDIR/small" 2>/dev/null ||
		skip "cannot mount a small tmpfs here (not root)"
	D=$BATS_TEST_TMPDIR/small/spool
	f=$BATS_TEST_TMPDIR/r.ndjson
	hbsim --seed 56 --start 2026-11-20T00:00:00Z --count 40000 --rate 0 -q >"$f"
	"$HB_REPO/scripts/hb-kafka" kill --dir "$HB_KAFKA_DIR" --node 1 --signal KILL
	cat "$f" | hbkafka-pub --spool "$D" 2>"$BATS_TEST_TMPDIR/pub.err" 3>&- &
	pid=$!
	wait_for 30 grep -q 'the disk is full: input waits' "$BATS_TEST_TMPDIR/pub.err"
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/pub.err"
	[ "$status" -eq 1 ]
	grep -Eq 'the last [0-9]+ bytes read from the input could not be spooled and are lost' "$BATS_TEST_TMPDIR/pub.err"
	# what it kept goes out whole with the next run
	spooled=$(cat "$D"/*.seg | wc -l)
	[ "$spooled" -gt 5000 ]
	"$HB_REPO/scripts/hb-kafka" restart-node --dir "$HB_KAFKA_DIR" --node 1
	run hbkafka-pub --spool "$D" </dev/null
	[ "$status" -eq 0 ]
	assert_eq "$(messages_in_topic)" "$spooled"
	consume_all
	assert_eq "$(stored)" "$spooled"
}
