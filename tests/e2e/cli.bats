#!/usr/bin/env bats
# cli.bats — the conventions every program keeps: --help, --version, usage
# errors (exit 2, one line), signals (clean summary, exit 0), closed stdout.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	hb_newdb
}

teardown_file() {
	hb_dropdb
}

@test "--help prints usage on stdout and exits 0" {
	for p in hbsim hbclassify hbpgload hbkafka-pub hbkafka-sub; do
		run --separate-stderr "$p" --help
		[ "$status" -eq 0 ]
		[[ "$output" == "usage: $p "* ]]
		[[ "$output" == *"Exit status"* ]]
		[ -z "$stderr" ]
		run "$p" -h
		[ "$status" -eq 0 ]
	done
}

@test "every script's --help prints its help on stdout, exits 0 and starts nothing" {
	cd "$BATS_TEST_TMPDIR"
	for s in "$HB_REPO"/scripts/hb-*; do
		name=${s##*/}
		# with nothing reachable, a script that ran instead of helping would
		# fail or hang (timeout), or leave a state directory behind
		run --separate-stderr env -u HB_DB -u PGHOST PGPORT=1 KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 \
			HB_DEMO_STATE="$BATS_TEST_TMPDIR/state" timeout 10 "$s" --help
		echo "$name: status $status, stderr '$stderr'"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[ "${#lines[@]}" -ge 3 ]
		# the help, not the script's first line of code
		[[ ${lines[-1]} != *"set -euo pipefail"* ]]
		[[ $output != *"set -euo pipefail"* ]]
		[ ! -e "$BATS_TEST_TMPDIR/state" ]
	done
}

@test "--version prints the version and exits 0" {
	for p in hbsim hbclassify hbpgload hbkafka-pub hbkafka-sub; do
		run "$p" --version
		[ "$status" -eq 0 ]
		[[ "$output" =~ ^$p\ [0-9]+\.[0-9]+\.[0-9]+( \(librdkafka [0-9.]+\))?$ ]]
		run "$p" -V
		[ "$status" -eq 0 ]
	done
}

@test "unknown options and bad values exit 2 with one line on stderr" {
	for p in hbsim hbclassify hbpgload hbkafka-pub hbkafka-sub; do
		run --separate-stderr "$p" --no-such-option
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		assert_eq "$stderr" "$p: option '--no-such-option' is unknown (see $p --help)"
	done
	run hbsim --rate fast
	[ "$status" -eq 2 ]
	assert_eq "$output" "hbsim: --rate: not a number: 'fast'"
	run hbsim --anomaly-rate 2
	[ "$status" -eq 2 ]
	run hbsim --start 2026-02-30T00:00:00Z
	[ "$status" -eq 2 ]
	[[ "$output" == *"day 30 out of range for February 2026"* ]]
	run hbclassify --brady 100 --tachy 90
	[ "$status" -eq 2 ]
	[[ "$output" == *"min <= brady <= tachy <= max"* ]]
	run hbclassify /no/such/file
	[ "$status" -eq 2 ]
	[[ "$output" == *"cannot open /no/such/file"* ]]
	run hbpgload -d 'host=localhost port=notaport = x'
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad connection string"* ]]
	[ "$(echo "$output" | wc -l)" -eq 1 ]
}

@test "hbpgload: missing schema and unknown database exit 2 at once, saying what to do" {
	createdb "${PGDATABASE}_empty"
	run hbpgload -d "dbname=${PGDATABASE}_empty" </dev/null
	dropdb "${PGDATABASE}_empty"
	[ "$status" -eq 2 ]
	[[ "$output" == *"apply sql/ first"* ]]
	run hbpgload -d "dbname=no_such_db_$$" </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"does not exist"* ]]
}

@test "hbsim: SIGTERM and SIGINT end it cleanly with a summary, exit 0" {
	for sig in TERM INT; do
		hbsim --rate 200 >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
		pid=$!
		sleep 1
		kill -"$sig" "$pid"
		rc=0
		wait "$pid" || rc=$?
		assert_eq "$rc" 0
		grep -q 'INFO stopped readings=' "$BATS_TEST_TMPDIR/err"
		# every line written is whole
		jq -e . "$BATS_TEST_TMPDIR/out" >/dev/null
		[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -gt 100 ]
	done
}

@test "hbclassify: SIGTERM mid-stream flushes what it read, summary, exit 0" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	hbclassify <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	hbsim --count 500 --rate 0 -q >&7
	sleep 0.5
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	exec 7>&-
	assert_eq "$rc" 0
	assert_eq "$(wc -l <"$BATS_TEST_TMPDIR/out" | tr -d ' ')" 500
	grep -q 'INFO stopped lines=500 ' "$BATS_TEST_TMPDIR/err"
}

rows_before_6() {
	[[ $(q "SELECT (SELECT count(*) FROM heartbeat_records WHERE ts < '2026-11-23T06:00:00Z')
	           + (SELECT count(*) FROM heartbeat_anomalies WHERE ts < '2026-11-23T06:00:00Z')") == "$1" ]]
}

@test "hbpgload: SIGTERM mid-stream stores what it read, summary, exit 0" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	hbpgload --batch-ms 60000 --batch-rows 100000 <"$BATS_TEST_TMPDIR/in" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	hbsim --seed 5 --start 2026-11-23T05:00:00Z --count 700 --rate 0 -q | hbclassify -qq >&7
	# stored as soon as the input paused, whatever the batch timer and size say
	wait_for 10 rows_before_6 700
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	exec 7>&-
	assert_eq "$rc" 0
	grep -q 'INFO stopped rows_in=700 stored=700 ' "$BATS_TEST_TMPDIR/err"
	assert_eq "$(q "SELECT (SELECT count(*) FROM heartbeat_records WHERE ts < '2026-11-23T06:00:00Z')
	               + (SELECT count(*) FROM heartbeat_anomalies WHERE ts < '2026-11-23T06:00:00Z')")" 700
}

@test "a live stream is stored within a fraction of a second" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	hbpgload -q <"$BATS_TEST_TMPDIR/in" 3>&- &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	sleep 0.5	# connected and waiting
	echo '{"customer_id":"CUST_LIVE","timestamp":"2026-11-23T07:00:00Z","heart_rate":70,"status":"NORMAL"}' >&7
	# stored within half a second (batches close after 100 ms), the pipe still open
	wait_for 0.5 bash -c "[ \"\$(psql -X -qAt -c \"SELECT count(*) FROM heartbeat_records WHERE customer_id = 'CUST_LIVE'\")\" = 1 ]"
	exec 7>&-
	wait "$pid"
}

@test "hbkafka-pub and hbkafka-sub: SIGTERM drains, summary, exit 0" {
	hb_newtopic
	# the two ends by PID: the producer stops, hbkafka-pub drains and ends
	mkfifo "$BATS_TEST_TMPDIR/pipe"
	hbkafka-pub <"$BATS_TEST_TMPDIR/pipe" 2>"$BATS_TEST_TMPDIR/pub.err" 3>&- &
	pub=$!
	hbsim --rate 500 -q >"$BATS_TEST_TMPDIR/pipe" 3>&- &
	sim=$!
	sleep 2
	kill -TERM "$sim"
	wait "$sim" || true
	rc=0
	wait "$pub" || rc=$?
	assert_eq "$rc" 0
	grep -Eq 'INFO (done|stopped) lines=[0-9]+ delivered=([0-9]+) failed=0' "$BATS_TEST_TMPDIR/pub.err"
	delivered=$(sed -n 's/.*delivered=\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/pub.err")
	[ "$delivered" -gt 0 ]
	hbkafka-sub -o beginning >"$BATS_TEST_TMPDIR/sub.out" 2>"$BATS_TEST_TMPDIR/sub.err" 3>&- &
	pid=$!
	# SIGTERM once everything has come through
	wait_for 30 bash -c "[ \"\$(wc -l <'$BATS_TEST_TMPDIR/sub.out')\" -ge $delivered ]"
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_eq "$rc" 0
	grep -q 'INFO stopped messages=' "$BATS_TEST_TMPDIR/sub.err"
	assert_eq "$(wc -l <"$BATS_TEST_TMPDIR/sub.out" | tr -d ' ')" "$delivered"
}

@test "a closed stdout ends hbsim and hbclassify quietly" {
	cd "$BATS_TEST_TMPDIR"
	run bash -c 'set -o pipefail; hbsim --rate 0 2>err1 | head -n 3 >/dev/null; echo "sim=$?"; cat err1'
	assert_eq "$output" "sim=0"
	run bash -c 'set -o pipefail; hbsim --rate 0 -q | hbclassify -qq 2>err2 | head -n 3 >/dev/null; echo "cls=$?"; cat err2'
	assert_eq "$output" "cls=0"
}

@test "hbsim: --silence-rate/--shift-rate 0 keep the old bytes; --truth then lists only the episodes" {
	# sha256 of this run recorded before the options existed
	local old=8df12cb843956ae0beac810828ca48cd1fe4a84229ea7a124078c40d25b5bfb4 a b t="$BATS_TEST_TMPDIR/truth"
	a=$(hbsim -q --seed 7 --start 2026-11-23T10:00:00Z --count 100000 --rate 0 | sha256sum)
	b=$(hbsim -q --seed 7 --start 2026-11-23T10:00:00Z --count 100000 --rate 0 \
		--silence-rate 0 --shift-rate 0 --truth "$t" | sha256sum)
	assert_eq "${a%% *}" "$old"
	assert_eq "${b%% *}" "$old"
	[ "$(wc -l <"$t")" -gt 100 ]
	run grep -cv '^{"truth":"\(BRADYCARDIA\|TACHYCARDIA\)","customer_id":"CUST_000[0-9][0-9]","start":"[^"]*","end":"[^"]*","readings":[0-9]*,"peak_bpm":[0-9]*\(,"cut":true\)\?}$' "$t"
	assert_eq "$output" 0
	# the episodes hold every anomalous reading hbclassify sees, once
	[ "$(jq -s 'map(.readings) | add' "$t")" -eq \
	  "$(hbsim -q --seed 7 --start 2026-11-23T10:00:00Z --count 100000 --rate 0 | hbclassify -qq | grep -c '"status":"[BT]')" ]
}

@test "hbsim: --count counts lines with silences; bad shares and a bad --truth exit 2 with one line" {
	run bash -c 'hbsim -q --seed 5 --start 2026-11-23T00:00:00Z --rate 0 -n 50 --count 20000 --silence-rate 0.3 --truth /dev/null | wc -l'
	assert_eq "$output" 20000
	for bad in "--silence-rate 1" "--shift-rate -0.1" "--silence-rate x" "--truth /no/such/dir/t"; do
		run --separate-stderr hbsim -q --count 1 --rate 0 $bad
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[[ "$stderr" == "hbsim: "* ]]
		[ "$(echo "$stderr" | wc -l)" -eq 1 ]
	done
	run hbsim -q --seed 1 --start 2026-11-23T00:00:00Z --rate 0 --count 200000 --truth /dev/full
	[ "$status" -eq 1 ]
	[[ "$output" == *"write error on --truth /dev/full"* ]]
}

# ---- --stats SECONDS: a periodic INFO line (see also kafka.bats)

@test "--stats: a bad value exits 2 with one line, for every program" {
	for p in hbclassify hbpgload hbkafka-pub hbkafka-sub; do
		for v in 0.05 -1 86401 ten ''; do
			run --separate-stderr "$p" --stats "$v"
			[ "$status" -eq 2 ]
			[ -z "$output" ]
			[[ "$stderr" == "$p: --stats: "* ]]
			[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
		done
		run --separate-stderr "$p" --stats
		[ "$status" -eq 2 ]
		assert_eq "$stderr" "$p: option '--stats' needs a value (see $p --help)"
	done
}

@test "hbclassify --stats 1: a line a second, counts so far, the rate over the interval" {
	hbsim --rate 50 --count 150 -q | hbclassify --stats 1 >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	e=$BATS_TEST_TMPDIR/err
	# about 3 s of input: lines at 1 s and 2 s (and maybe 3 s)
	[ "$(grep -c ' hbclassify INFO stats lines=' "$e")" -ge 2 ]
	stats_col "$e" lines | nondecreasing
	[ "$(stats_col "$e" lines | head -n 1)" -gt 0 ]
	[ "$(stats_col "$e" lines | tail -n 1)" -le 150 ]
	# 50 readings a second, measured over each interval
	stats_col "$e" rate | all_between 35 65
	# each line's statuses add up to its lines
	awk '/ INFO stats / { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	     if (v["normal"] + v["bradycardia"] + v["tachycardia"] + v["invalid"] != v["lines"]) bad = 1 }
	     END { exit bad }' "$e"
	grep -q 'INFO done lines=150 ' "$e"
	# the format: key=value, the rate with its unit, one line well under 200 characters
	grep ' INFO stats ' "$e" | grep -Eq '^[^ ]+ hbclassify INFO stats lines=[0-9]+ normal=[0-9]+ bradycardia=[0-9]+ tachycardia=[0-9]+ invalid=[0-9]+ rate=[0-9]+\.[0-9]/s$'
	[ "$(grep ' INFO stats ' "$e" | awk '{ print length($0) }' | sort -n | tail -n 1)" -lt 200 ]
}

@test "hbclassify --stats: an idle input still logs, at 0.0/s; with alert rules, the open alerts" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	hbclassify --stats 0.2 --alerts /dev/null <"$BATS_TEST_TMPDIR/in" >/dev/null 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	wait_for 10 bash -c "[ \$(grep -c ' INFO stats ' '$BATS_TEST_TMPDIR/err') -ge 3 ]"
	exec 7>&-
	wait "$pid"
	stats_col "$BATS_TEST_TMPDIR/err" lines | all_between 0 0
	stats_col "$BATS_TEST_TMPDIR/err" rate | all_between 0 0
	stats_col "$BATS_TEST_TMPDIR/err" alerts_open | all_between 0 0
	grep ' INFO stats ' "$BATS_TEST_TMPDIR/err" | grep -q ' alert_events=0 alerts_open=0 rate=0\.0/s$'
}

@test "--stats lines are INFO: -q hides them; without --stats there are none" {
	# (-q keeps the WARNING lines of anomalous readings: none here)
	hbsim --rate 50 --count 40 --anomaly-rate 0 -q | hbclassify -q --stats 0.2 >/dev/null 2>"$BATS_TEST_TMPDIR/quiet"
	[ ! -s "$BATS_TEST_TMPDIR/quiet" ]
	hbsim --rate 50 --count 40 -q | hbclassify >/dev/null 2>"$BATS_TEST_TMPDIR/default"
	grep -q 'INFO done lines=40 ' "$BATS_TEST_TMPDIR/default"
	[ "$(grep -c ' INFO stats ' "$BATS_TEST_TMPDIR/default")" -eq 0 ]
}

@test "hbclassify with alert rules: each anomalous reading's WARNING line only at -v" {
	for i in 1 2 3 4; do
		printf '{"customer_id":"C1","timestamp":"2026-11-23T10:00:0%dZ","heart_rate":200}\n' "$i"
	done >"$BATS_TEST_TMPDIR/in"
	hbclassify --alerts /dev/null <"$BATS_TEST_TMPDIR/in" >/dev/null 2>"$BATS_TEST_TMPDIR/plain"
	hbclassify --alerts /dev/null -v <"$BATS_TEST_TMPDIR/in" >/dev/null 2>"$BATS_TEST_TMPDIR/verbose"
	hbclassify <"$BATS_TEST_TMPDIR/in" >/dev/null 2>"$BATS_TEST_TMPDIR/norules"
	# with rules: the alert event, not the readings
	[ "$(grep -c 'WARNING alert {"alert":"TACHYCARDIA","state":"open"' "$BATS_TEST_TMPDIR/plain")" -eq 1 ]
	[ "$(grep -c 'WARNING TACHYCARDIA line=' "$BATS_TEST_TMPDIR/plain")" -eq 0 ]
	# with rules and -v: both, the readings' lines as without rules
	[ "$(grep -c 'WARNING alert {"alert":"TACHYCARDIA","state":"open"' "$BATS_TEST_TMPDIR/verbose")" -eq 1 ]
	[ "$(grep -c 'WARNING TACHYCARDIA line=' "$BATS_TEST_TMPDIR/verbose")" -eq 4 ]
	assert_eq "$(grep -o 'WARNING TACHYCARDIA line=.*' "$BATS_TEST_TMPDIR/verbose")" \
		"$(grep -o 'WARNING TACHYCARDIA line=.*' "$BATS_TEST_TMPDIR/norules")"
}

@test "hbpgload --stats 1: rows in and stored so far, the rate and latency over the interval" {
	hbsim --rate 50 --count 150 -q | hbclassify -qq | hbpgload --stats 1 2>"$BATS_TEST_TMPDIR/err" 3>&-
	e=$BATS_TEST_TMPDIR/err
	[ "$(grep -c ' hbpgload INFO stats rows_in=' "$e")" -ge 2 ]
	stats_col "$e" rows_in | nondecreasing
	stats_col "$e" stored | nondecreasing
	[ "$(stats_col "$e" rows_in | head -n 1)" -gt 0 ]
	stats_col "$e" rate | all_between 35 65
	# rows were stored in every interval: each line has the interval's latency, well under 5 s
	[ "$(grep ' INFO stats ' "$e" | grep -vc ' latency_p50_ms=[0-9.]* latency_p99_ms=[0-9.]*$')" -eq 0 ]
	stats_col "$e" latency_p99_ms | all_between 0 5000
	# stored never runs ahead of what came in
	awk '/ INFO stats / { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	     if (v["stored"] + v["duplicates"] > v["rows_in"]) bad = 1 } END { exit bad }' "$e"
	grep -q 'INFO done rows_in=150 stored=150 ' "$e"
	[ "$(grep ' INFO stats ' "$e" | awk '{ print length($0) }' | sort -n | tail -n 1)" -lt 220 ]
}

@test "hbpgload --stats: an idle input still logs, at 0.0/s, without latency" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	hbpgload --stats 0.2 <"$BATS_TEST_TMPDIR/in" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	wait_for 10 bash -c "[ \$(grep -c ' INFO stats ' '$BATS_TEST_TMPDIR/err') -ge 3 ]"
	exec 7>&-
	wait "$pid"
	stats_col "$BATS_TEST_TMPDIR/err" rows_in | all_between 0 0
	stats_col "$BATS_TEST_TMPDIR/err" rate | all_between 0 0
	[ "$(grep ' INFO stats ' "$BATS_TEST_TMPDIR/err" | grep -c latency)" -eq 0 ]
}
