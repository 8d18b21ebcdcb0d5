#!/usr/bin/env bats
# alerts_rules.bats — hbclassify's alert rules as a person on call meets
# them: an onset alert while the episode still runs, the same events on a
# replay, DEVIATION from a customer's own baseline, and detection state kept
# in PostgreSQL so that a restart goes on where it stopped.

load helpers

setup_file() {
	hb_newdb
}

teardown_file() {
	hb_dropdb
}

teardown() {
	[[ -z ${writer:-} ]] || kill "$writer" 2>/dev/null || true
}

# One customer, one reading a second from START (epoch seconds) for SECS
# seconds, at BPM, then SHIFT bpm more from second AT on; with P, each line
# carries Kafka coordinates (partition P, offsets from OFF).
readings() {
	local cid=$1 start=$2 secs=$3 bpm=$4 at=${5:-999999} shift=${6:-0} p=${7:--1} off=${8:-0}
	awk -v cid="$cid" -v start="$start" -v secs="$secs" -v bpm="$bpm" -v at="$at" -v sh="$shift" \
		-v p="$p" -v off="$off" 'BEGIN {
		for (i = 0; i < secs; i++) {
			b = bpm + (i % 3) - 1 + (i >= at ? sh : 0)
			t = strftime("%Y-%m-%dT%H:%M:%S.000Z", start + i, 1)
			k = p >= 0 ? sprintf("\"_kafka\":{\"p\":%d,\"o\":%d},", p, off + i) : ""
			printf "{%s\"customer_id\":\"%s\",\"timestamp\":\"%s\",\"heart_rate\":%d}\n", k, cid, t, b
		}
	}'
}

@test "an onset alert comes while the episode still runs (one reading a second)" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	# a tachycardia that goes on for 30 s, written in real time
	(
		exec 3>"$BATS_TEST_TMPDIR/in"
		for i in $(seq 1 30); do
			printf '{"customer_id":"c1","timestamp":"%s","heart_rate":%d}\n' \
				"$(date -u +%FT%T.%3NZ)" $((190 + i % 5)) >&3
			sleep 1
		done
	) &
	writer=$!
	hbclassify -qq --alerts "$BATS_TEST_TMPDIR/alerts" <"$BATS_TEST_TMPDIR/in" >/dev/null &
	wait_for 10 grep -q '"state":"open"' "$BATS_TEST_TMPDIR/alerts"
	# the episode is still running: the writer has more to write
	kill -0 "$writer"
	jq -e 'select(.state == "open") | .alert == "TACHYCARDIA" and .readings == 3 and .customer_id == "c1"' \
		"$BATS_TEST_TMPDIR/alerts"
	run grep -c '"state":"close"' "$BATS_TEST_TMPDIR/alerts"
	assert_eq "$output" 0
}

@test "a replay gives the same alert events, byte for byte, also inside the --store output" {
	hbsim --seed 4 --customers 50 --clock-rate 50 --start 2026-11-23T06:00:00Z --count 200000 --rate 0 \
		--silence-rate 0.01 --shift-rate 0.2 -q >"$BATS_TEST_TMPDIR/r.ndjson"
	hbclassify -qq --alerts "$BATS_TEST_TMPDIR/a1" "$BATS_TEST_TMPDIR/r.ndjson" >/dev/null
	hbclassify -qq --alerts "$BATS_TEST_TMPDIR/a2" <"$BATS_TEST_TMPDIR/r.ndjson" >/dev/null
	cmp "$BATS_TEST_TMPDIR/a1" "$BATS_TEST_TMPDIR/a2"
	# every type shows up, and every close follows its open
	for t in BRADYCARDIA TACHYCARDIA SILENCE DEVIATION; do
		grep -q "\"alert\":\"$t\",\"state\":\"open\"" "$BATS_TEST_TMPDIR/a1"
	done
	run jq -rs 'group_by([.alert, .customer_id, .start])[] | select(map(.state) != ["open", "close"] and map(.state) != ["open"]) | .[0]' "$BATS_TEST_TMPDIR/a1"
	assert_eq "$output" ""
	# --store carries the same events inside the output, before the reading that caused them
	hbclassify -qq --store "$BATS_TEST_TMPDIR/r.ndjson" | sed -n 's/^{"_hb_alert":\(.*\)}$/\1/p' >"$BATS_TEST_TMPDIR/a3"
	cmp "$BATS_TEST_TMPDIR/a1" "$BATS_TEST_TMPDIR/a3"
}

@test "DEVIATION: a customer at 60 bpm who moves to 95 (still NORMAL) gets one, within 5 minutes" {
	start=$(date -u -d 2026-11-23T08:00:00Z +%s)
	readings c9 "$start" 3600 60 1800 35 >"$BATS_TEST_TMPDIR/r.ndjson"
	hbclassify -qq --alerts "$BATS_TEST_TMPDIR/alerts" "$BATS_TEST_TMPDIR/r.ndjson" >"$BATS_TEST_TMPDIR/c"
	run count_status "$BATS_TEST_TMPDIR/c" NORMAL
	assert_eq "$output" 3600
	run jq -r '"\(.alert) \(.state) \(.direction)"' "$BATS_TEST_TMPDIR/alerts"
	assert_eq "$output" "DEVIATION open above"
	at=$(jq -r '.at | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601' "$BATS_TEST_TMPDIR/alerts")
	delay=$((at - start - 1800))
	[ "$delay" -gt 0 ]
	[ "$delay" -le 300 ]
	jq -e '.baseline_bpm > 58 and .baseline_bpm < 62 and .bpm > 80' "$BATS_TEST_TMPDIR/alerts"
}

@test "--store: a restart loads the stored state and does not relearn the baseline" {
	hb_empty_tables
	start=$(date -u -d 2026-11-23T10:00:00Z +%s)
	# 20 minutes at 60 bpm, then from minute 25 on 95 bpm
	readings c7 "$start" 3000 60 1500 35 0 0 >"$BATS_TEST_TMPDIR/all"
	head -n 1200 "$BATS_TEST_TMPDIR/all" >"$BATS_TEST_TMPDIR/first"
	tail -n +1201 "$BATS_TEST_TMPDIR/all" >"$BATS_TEST_TMPDIR/second"
	mark='{"_hb_mark":"assigned","topic":"t","partition":0}'
	{ echo "$mark"; cat "$BATS_TEST_TMPDIR/first"; } | hbclassify --store 2>"$BATS_TEST_TMPDIR/err1" | hbpgload -q
	grep -q 'partition 0: alert state of 0 customer(s) loaded' "$BATS_TEST_TMPDIR/err1"
	run q "SELECT koffset FROM hb_alert_state WHERE customer_id = 'c7'"
	assert_eq "$output" 1199
	# the second run starts 5 minutes before the shift: without the stored
	# baseline it would still be in its 10-minute warmup when the shift comes
	{ echo "$mark"; cat "$BATS_TEST_TMPDIR/second"; } |
		hbclassify --store --alerts "$BATS_TEST_TMPDIR/alerts" 2>"$BATS_TEST_TMPDIR/err2" | hbpgload -q
	grep -q 'partition 0: alert state of 1 customer(s) loaded' "$BATS_TEST_TMPDIR/err2"
	run jq -r '"\(.alert) \(.state)"' "$BATS_TEST_TMPDIR/alerts"
	assert_eq "$output" "DEVIATION open"
	run q "SELECT alert || ' ' || customer_id || ' ' || (end_ts IS NULL) FROM heartbeat_alerts"
	assert_eq "$output" "DEVIATION c7 true"
	# without the state, the same second half opens nothing
	{ cat "$BATS_TEST_TMPDIR/second"; } | hbclassify -qq --alerts "$BATS_TEST_TMPDIR/fresh" >/dev/null
	[ ! -s "$BATS_TEST_TMPDIR/fresh" ]
	# replaying what was stored again stores nothing twice
	{ echo "$mark"; cat "$BATS_TEST_TMPDIR/second"; } | hbclassify -qq --store | hbpgload -q
	run q "SELECT count(*) FROM heartbeat_alerts"
	assert_eq "$output" 1
}

@test "--store cannot reach the database: a clear error and exit 69, after retrying" {
	printf '%s\n' '{"_hb_mark":"assigned","topic":"t","partition":0}' >"$BATS_TEST_TMPDIR/in"
	run hbclassify --store --db "host=/nonexistent dbname=x connect_timeout=1" "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 69 ]
	[[ $output == *"cannot load the alert state"* ]]
}

@test "alert options: bad values are refused with exit 2, --help names every one" {
	for o in --open-after=0 --close-after=x --margin=-1 --silence=-2 --deviation=abc --baseline=0 --warmup=x --alert-gap=0; do
		run hbclassify "$o" </dev/null
		[ "$status" -eq 2 ]
		[[ $output == hbclassify:* ]]
	done
	run hbclassify --deviation 10 --margin 10 </dev/null
	[ "$status" -eq 2 ]
	run hbclassify --help
	for o in --alerts --store --db --open-after --close-after --margin --alert-gap --silence --deviation --deviation-for --baseline --warmup; do
		[[ $output == *"$o "* ]]
	done
}
