#!/usr/bin/env bats
# marks.bats — hbkafka-sub --marks: assigned/revoked/caught_up control lines
# among the messages, in order, for hbclassify; never counted, committed or
# awaited as messages; nothing changes without --marks.

load helpers

setup_file() {
	hb_newdb
}

teardown_file() {
	hb_dropdb
}

setup() {
	hb_empty_tables
	pids=()
}

# The consumers a test started in the background, by their process ids.
teardown() {
	if ((${#pids[@]})); then kill -KILL "${pids[@]}" 2>/dev/null || true; fi
}

# End them cleanly, and check that each exited 0.
stop_all() {
	local p
	kill -TERM "${pids[@]}"
	for p in "${pids[@]}"; do wait "$p"; done
	pids=()
}

# $1 readings (20 customers: all three partitions get some) onto the test's topic.
publish() {
	hbsim --seed 5 --start 2026-12-02T10:00:00Z --count "$1" --rate 0 -q | hbkafka-pub -q
}

# File $1 as one word per line for partition $2: assigned, revoked, caught_up or msg.
kinds() {
	jq -r --argjson p "$2" 'if ._hb_mark then select(.partition == $p) | ._hb_mark
		else select(._kafka.p == $p) | "msg" end' "$1" | tr '\n' ' '
}

# True when file $1 has at least $3 caught_up marks for each partition in $2.
caught_up_each() {
	local p
	for p in $2; do
		[[ $(jq -r --argjson p "$p" 'select(._hb_mark == "caught_up" and .partition == $p) | 1' "$1" |
			wc -l) -ge $3 ]] || return 1
	done
}

# The partitions file $1 holds by its marks (the last assigned/revoked of each is assigned).
held() {
	jq -r 'select(._hb_mark == "assigned" or ._hb_mark == "revoked") | "\(.partition) \(._hb_mark)"' "$1" |
		awk '{ last[$1] = $2 } END { for (p in last) if (last[p] == "assigned") print p }' | sort -n | tr '\n' ' '
}

@test "--marks: assigned before a partition's messages, caught_up after its last, again every second" {
	hb_newtopic
	publish 30
	hbkafka-sub -K --marks -o beginning -G "$HB_GROUP" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pids+=($!)
	wait_for 30 caught_up_each "$BATS_TEST_TMPDIR/out" "0 1 2" 2
	stop_all
	re='^assigned (msg )+(caught_up ){2,}$'
	for p in 0 1 2; do
		[[ $(kinds "$BATS_TEST_TMPDIR/out" "$p") =~ $re ]]
	done
	# marks are not messages: 30 counted, and the marks are the lines without _kafka
	grep -q 'INFO stopped messages=30 ' "$BATS_TEST_TMPDIR/err"
	assert_eq "$(grep -vc '^{"_hb_mark":' "$BATS_TEST_TMPDIR/out")" 30
	# the exact form, and "at" a second apart (wall clock, RFC 3339 to the ms)
	grep -Eq '^\{"_hb_mark":"assigned","topic":"'"$HB_TOPIC"'","partition":0\}$' "$BATS_TEST_TMPDIR/out"
	grep -Eq '^\{"_hb_mark":"caught_up","topic":"'"$HB_TOPIC"'","partition":0,"at":"20[0-9-]{8}T[0-9:]{8}\.[0-9]{3}Z"\}$' "$BATS_TEST_TMPDIR/out"
	gap=$(jq -r 'select(._hb_mark == "caught_up" and .partition == 1) | .at | sub("Z$"; "") | split(".") |
		((.[0] + "Z" | fromdateiso8601) + (.[1] | tonumber) / 1000)' "$BATS_TEST_TMPDIR/out" |
		head -n 2 | awk 'NR == 1 { a = $1 } NR == 2 { printf "%d", ($1 - a) * 1000 }')
	[ "$gap" -ge 900 ]
	[ "$gap" -lt 5000 ]
	# no revoked mark at the end: the end has begun, marks stop
	assert_eq "$(grep -c '"_hb_mark":"revoked"' "$BATS_TEST_TMPDIR/out")" 0
}

@test "without --marks no mark; with it, the same messages byte for byte; -e and -c unchanged" {
	hb_newtopic 1
	publish 50
	hbkafka-sub -K -o beginning -e -q -G "$HB_GROUP-a" >"$BATS_TEST_TMPDIR/plain"
	hbkafka-sub -K -o beginning -e -q -G "$HB_GROUP-b" --marks >"$BATS_TEST_TMPDIR/marks"
	assert_eq "$(grep -c '_hb_mark' "$BATS_TEST_TMPDIR/plain")" 0
	grep -v '^{"_hb_mark":' "$BATS_TEST_TMPDIR/marks" | cmp - "$BATS_TEST_TMPDIR/plain"
	# -e ends at the end as before: on the last message, or on the end of
	# the partition when that comes first (then after its caught_up)
	re='^assigned (msg ){50}(caught_up )?$'
	[[ $(kinds "$BATS_TEST_TMPDIR/marks" 0) =~ $re ]]
	# -c counts messages only
	assert_eq "$(hbkafka-sub -q -o beginning -c 7 --marks -G "$HB_GROUP-c" | grep -vc '^{"_hb_mark":')" 7
	# the plain mode too (no coordinates): marks and values, nothing else
	hbkafka-sub -o beginning -e -q -G "$HB_GROUP-d" --marks >"$BATS_TEST_TMPDIR/plain-marks"
	assert_eq "$(grep -c '^{"_hb_mark":"assigned",' "$BATS_TEST_TMPDIR/plain-marks")" 1
	assert_eq "$(grep -c '^{"_hb_mark":"revoked",' "$BATS_TEST_TMPDIR/plain-marks")" 0
	assert_eq "$(grep -c '^{"customer_id":' "$BATS_TEST_TMPDIR/plain-marks")" 50
}

@test "-A with --marks: the drain commits everything and exits 0 (marks are not awaited)" {
	hb_newtopic
	publish 1000
	mkfifo "$BATS_TEST_TMPDIR/acks"
	# hbclassify here does not know marks yet: a stage that consumes them stands in
	hbkafka-sub -G "$HB_GROUP" -o beginning -e --marks -A "$BATS_TEST_TMPDIR/acks" 2>"$BATS_TEST_TMPDIR/sub.err" |
		tee "$BATS_TEST_TMPDIR/out" | grep --line-buffered -v '^{"_hb_mark":' |
		hbclassify -qq | hbpgload -q --batch-ms 600000 --ack-to "$BATS_TEST_TMPDIR/acks"
	rcs="${PIPESTATUS[*]}"
	assert_eq "$rcs" "0 0 0 0 0"
	grep -q 'INFO done messages=1000 .* unacknowledged=0 ' "$BATS_TEST_TMPDIR/sub.err"
	assert_eq "$(stored)" 1000
	assert_eq "$(hbkafka-sub -G "$HB_GROUP" -e -q | wc -l | tr -d ' ')" 0
	assert_eq "$(grep -c '"_hb_mark":"assigned"' "$BATS_TEST_TMPDIR/out")" 3
	[ "$(grep -c '"_hb_mark":"caught_up"' "$BATS_TEST_TMPDIR/out")" -le 3 ]
	assert_eq "$(grep -c '"_hb_mark":"revoked"' "$BATS_TEST_TMPDIR/out")" 0
}

# Two consumers in one group (extra options in $@): the partitions that move
# are revoked in the first and assigned in the second.
rebalance() {
	local o=$BATS_TEST_TMPDIR
	hb_newtopic
	publish 300
	hbkafka-sub -K --marks -G "$HB_GROUP" "$@" >"$o/one" 2>"$o/one.err" 3>&- &
	pids+=($!)
	wait_for 30 caught_up_each "$o/one" "0 1 2" 1
	assert_eq "$(held "$o/one")" "0 1 2 "
	hbkafka-sub -K --marks -G "$HB_GROUP" "$@" >"$o/two" 2>"$o/two.err" 3>&- &
	pids+=($!)
	wait_for 60 shared "$o/one" "$o/two"
	moved=$(held "$o/two")
	# each partition the second took was revoked in the first, after its messages
	re1='^assigned (msg )+(caught_up )+(revoked assigned (caught_up )*)*revoked $' re2='^assigned caught_up '
	for p in $moved; do
		[[ $(kinds "$o/one" "$p") =~ $re1 ]]
		[[ $(kinds "$o/two" "$p") =~ $re2 ]]
	done
	# the second read nothing again: the first had committed what it wrote
	assert_eq "$(grep -vc '^{"_hb_mark":' "$o/two")" 0
	stop_all
}

# True when files $1 and $2 hold the three partitions between them, each some.
shared() {
	local a b
	a=$(held "$1")
	b=$(held "$2")
	[[ -n $a && -n $b ]] || return 1
	[[ $(printf '%s%s' "$a" "$b" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ') == "0 1 2 " ]] || return 1
	# and the second has reached the end of each of its own
	caught_up_each "$2" "$b" 1
}

@test "a rebalance (eager, the default): revoked marks for the partitions that move, assigned in the new owner" {
	rebalance
	# eager: the first gave back all three, then got its share again
	assert_eq "$(jq -r 'select(._hb_mark == "revoked") | .partition' "$BATS_TEST_TMPDIR/one" | sort -nu | tr '\n' ' ')" "0 1 2 "
}

@test "a rebalance (cooperative-sticky): only the partitions that move are revoked" {
	rebalance -X partition.assignment.strategy=cooperative-sticky
	assert_eq "$(grep -c '"_hb_mark":"assigned"' "$BATS_TEST_TMPDIR/one")" 3
	assert_eq "$(jq -r 'select(._hb_mark == "revoked") | .partition' "$BATS_TEST_TMPDIR/one" | sort -n | tr '\n' ' ')" \
		"$(held "$BATS_TEST_TMPDIR/two")"
}
