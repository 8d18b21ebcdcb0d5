#!/usr/bin/env bats
# kafka.bats — the pipeline through a real Apache Kafka broker: exactly once,
# in order per customer, bad messages in the audit trail, envelopes, offsets.

load helpers

setup_file() {
	hb_newdb
	export R="$BATS_FILE_TMPDIR/readings.ndjson" C="$BATS_FILE_TMPDIR/classified.ndjson"
	hbsim --seed 21 --start 2026-11-23T14:00:00Z --count 100000 --rate 0 -q >"$R"
	hbclassify -qq "$R" >"$C"
}

teardown_file() {
	hb_dropdb
}

setup() {
	hb_empty_tables
}

@test "100,000 readings through Kafka arrive exactly once with the right per-status counts" {
	hb_newtopic
	run hbkafka-pub "$R"
	[ "$status" -eq 0 ]
	[[ "$output" == *"done lines=100000 delivered=100000 failed=0"* ]]
	consume_all
	assert_eq "$(stored)" 100000
	for s in BRADYCARDIA TACHYCARDIA; do
		assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = '$s'")" "$(count_status "$C" "$s")"
	done
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" "$(count_status "$C" NORMAL)"
	# the offsets were committed: consuming again stores nothing and reads nothing
	consume_all
	grep -q 'done messages=0 ' "$BATS_TEST_TMPDIR/run/worker.1.log"
	assert_eq "$(stored)" 100000
}

@test "each customer stays on one partition, its readings in order" {
	hb_newtopic
	hbkafka-pub -q "$R"
	hbkafka-sub -E -e -q -o beginning >"$BATS_TEST_TMPDIR/env.ndjson"
	assert_eq "$(wc -l <"$BATS_TEST_TMPDIR/env.ndjson" | tr -d ' ')" 100000
	# one partition per customer, and the customers spread over all three
	assert_eq "$(jq -r '[.key, .partition] | @tsv' "$BATS_TEST_TMPDIR/env.ndjson" | sort -u | cut -f1 | uniq -d | wc -l | tr -d ' ')" 0
	assert_eq "$(jq -r .partition "$BATS_TEST_TMPDIR/env.ndjson" | sort -u | tr '\n' ' ')" "0 1 2 "
	# within a partition, by offset, each customer's timestamps only grow
	bad=$(jq -r '[.partition, .offset, .key, .value.timestamp] | @tsv' "$BATS_TEST_TMPDIR/env.ndjson" |
		sort -k1,1n -k2,2n | awk -F'\t' '{ k = $1 "/" $3; if (k in last && $4 <= last[k]) bad++; last[k] = $4 } END { print bad + 0 }')
	assert_eq "$bad" 0
	# the key is the customer_id of the value
	assert_eq "$(jq -r 'select(.key != .value.customer_id) | 1' "$BATS_TEST_TMPDIR/env.ndjson" | wc -l | tr -d ' ')" 0
}

@test "malformed messages put on the topic directly end in the audit trail, byte for byte" {
	hb_newtopic
	# kcat puts each line as it is, garbage included (it skips the empty one),
	# and two values with a newline inside
	kcat -P -b "$KAFKA_BOOTSTRAP_SERVERS" -t "$HB_TOPIC" <"$HB_REPO/tests/data/bad_input.ndjson"
	# values with a newline inside: as envelopes, whose value_b64 holds any bytes
	for v in 'line one\nline two' '{"customer_id":"CUST_00001",\n"timestamp":"2026-11-23T10:59:00Z","heart_rate":72}'; do
		printf '{"key":null,"value_b64":"%s"}\n' "$(printf "$v" | base64 -w0)"
	done | hbkafka-pub -E -q
	consume_all
	want_invalid=$(grep -c $'\tINVALID\t' "$HB_REPO/tests/data/bad_input.expected")	# -1 empty, +1 "line one..."
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'")" "$want_invalid"
	# the value with a newline went through whole and, being JSON, counts as a reading
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records WHERE ts = '2026-11-23T10:59:00Z'")" 1
	assert_eq "$(q "SELECT raw_bytes IS NULL FROM heartbeat_anomalies WHERE raw = E'line one\\nline two'")" t
	# a line with a NUL byte keeps its exact bytes
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE position('\\x00'::bytea IN raw_bytes) > 0")" 3
}

@test "every anomaly row points back to its Kafka message: the topic, partition and offset the broker gave it" {
	hb_newtopic
	# readings with their anomalies, and three INVALID lines at known places
	{
		head -n 1000 "$R"
		echo 'garbage line one'
		sed -n 1001,2000p "$R"
		echo '{"customer_id":"CUST_00003","timestamp":"2026-11-23T15:00:00Z","heart_rate":999}'
		sed -n 2001,3000p "$R"
		echo 'not json {'
	} | hbkafka-pub -q
	consume_all
	# where the broker put each message, read back as envelopes
	hbkafka-sub -G "$HB_GROUP-peek" -o beginning -e -E -q >"$BATS_TEST_TMPDIR/env.ndjson"
	assert_eq "$(wc -l <"$BATS_TEST_TMPDIR/env.ndjson")" 3003
	# (a value that is JSON is in "value" as it is, any other in "value_b64")
	where() {
		jq -r --arg v "$1" 'select((.value_b64 // "" | @base64d) == $v or (.value | tojson) == $v) |
			"\(.topic) \(.partition) \(.offset)"' "$BATS_TEST_TMPDIR/env.ndjson"
	}
	row() { q "SELECT kafka_topic || ' ' || kafka_partition || ' ' || kafka_offset FROM heartbeat_anomalies WHERE raw = '$1'"; }
	assert_eq "$(row 'garbage line one')" "$(where 'garbage line one')"
	assert_eq "$(row 'not json {')" "$(where 'not json {')"
	assert_eq "$(q "SELECT kafka_topic || ' ' || kafka_partition || ' ' || kafka_offset FROM heartbeat_anomalies WHERE customer_id = 'CUST_00003' AND ts = '2026-11-23T15:00:00Z'")" \
		"$(where '{"customer_id":"CUST_00003","timestamp":"2026-11-23T15:00:00Z","heart_rate":999}')"
	# the message read again from the row's coordinates, as README says
	read -r p o <<<"$(q "SELECT kafka_partition || ' ' || kafka_offset FROM heartbeat_anomalies WHERE raw = 'not json {'")"
	got=$(hbkafka-sub -E -G "$HB_GROUP-back" -o "$o" -e -q | jq -c --argjson p "$p" 'select(.partition == $p)' | head -n 1)
	assert_eq "$(jq -r '.value_b64 | @base64d' <<<"$got")" 'not json {'
	# every BRADYCARDIA/TACHYCARDIA row, against its message's reading
	jq -r '(.value | select(type == "object")) as $r | [.topic, .partition, .offset, $r.customer_id, $r.timestamp] | @tsv' \
		"$BATS_TEST_TMPDIR/env.ndjson" >"$BATS_TEST_TMPDIR/env.tsv"
	psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE TABLE hbt_env (topic text, p int, o bigint, customer_id text, ts timestamptz)' \
		-c "\\copy hbt_env FROM '$BATS_TEST_TMPDIR/env.tsv'"
	readings=$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type <> 'INVALID'")
	[ "$readings" -gt 20 ]
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies a JOIN hbt_env e USING (customer_id, ts)
		WHERE a.anomaly_type <> 'INVALID' AND (a.kafka_topic, a.kafka_partition, a.kafka_offset) = (e.topic, e.p, e.o)")" "$readings"
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE kafka_topic IS DISTINCT FROM '$HB_TOPIC'")" 0
	q 'DROP TABLE hbt_env' >/dev/null
}

@test "hb-pipeline gives hbpgload the topic hbkafka-sub reads: the last -t/--topic of HB_KAFKA_OPTS, else HB_TOPIC, else the default" {
	load_topic() { "$HB_REPO/scripts/hb-pipeline" commands | sed -n 's/^worker 1: .* | hbpgload .* -t \([^ ]*\) .*/\1/p'; }
	assert_eq "$(env -u HB_TOPIC -u HB_KAFKA_OPTS bash -c "$(declare -f load_topic); load_topic")" heartbeat-events
	assert_eq "$(HB_TOPIC=from-env HB_KAFKA_OPTS= load_topic)" from-env
	assert_eq "$(HB_TOPIC=from-env HB_KAFKA_OPTS='-t one -X a=b --topic two' load_topic)" two
	assert_eq "$(HB_TOPIC=from-env HB_KAFKA_OPTS='-F x.properties --topic=three' load_topic)" three
	assert_eq "$(HB_TOPIC=from-env HB_KAFKA_OPTS='-tfour' load_topic)" four
}

@test "envelopes round-trip: hbkafka-sub -E | jq | hbkafka-pub -E" {
	hb_newtopic
	src=$HB_TOPIC
	head -n 1000 "$R" | hbkafka-pub -q
	printf 'not json\xff\n' | hbkafka-pub -q
	hb_newtopic
	dst=$HB_TOPIC
	hbkafka-sub -t "$src" -G "g_copy_$$" -E -e -q | jq -c 'select(true)' | hbkafka-pub -E --keep-partition -t "$dst" -q
	a=$(hbkafka-sub -t "$src" -G "g_a_$$" -E -e -q | jq -c '[.partition, .key, .timestamp, (.value // .value_b64)]' | sort | md5sum)
	b=$(hbkafka-sub -t "$dst" -G "g_b_$$" -E -e -q | jq -c '[.partition, .key, .timestamp, (.value // .value_b64)]' | sort | md5sum)
	assert_eq "$b" "$a"
	assert_eq "$(hbkafka-sub -t "$dst" -G "g_c_$$" -E -e -q | wc -l | tr -d ' ')" 1001
}

@test "-o beginning, end, N and s@MS, -c and -e" {
	hb_newtopic 1
	head -n 100 "$R" | hbkafka-pub -q
	assert_eq "$(hbkafka-sub -G "$HB_GROUP-1" -o beginning -e -q | wc -l | tr -d ' ')" 100
	assert_eq "$(hbkafka-sub -G "$HB_GROUP-2" -o 90 -e -q | wc -l | tr -d ' ')" 10
	assert_eq "$(hbkafka-sub -G "$HB_GROUP-3" -o -5 -e -q | wc -l | tr -d ' ')" 5
	assert_eq "$(hbkafka-sub -G "$HB_GROUP-4" -o end -e -q | wc -l | tr -d ' ')" 0
	assert_eq "$(hbkafka-sub -G "$HB_GROUP-5" -c 7 -q | wc -l | tr -d ' ')" 7
	# the group goes on where -c stopped
	assert_eq "$(hbkafka-sub -G "$HB_GROUP-5" -e -q | wc -l | tr -d ' ')" 93
	now=$(($(date +%s) * 1000 + 1000))
	assert_eq "$(hbkafka-sub -G "$HB_GROUP-6" -o "s@$now" -e -q | wc -l | tr -d ' ')" 0
	assert_eq "$(hbkafka-sub -G "$HB_GROUP-7" -o "s@0" -e -q | wc -l | tr -d ' ')" 100
	# --coords lines carry partition, offset and lag first; jq sees an object
	run bash -c "hbkafka-sub -G '$HB_GROUP-8' -K -c 1 -q -o beginning | jq -c '._kafka'"
	assert_eq "$output" '{"p":0,"o":0,"l":99}'
}

@test "a file replayed through Kafka stores the same rows as straight into the database" {
	hb_newtopic
	hbclassify -qq "$R" | hbpgload -q
	q "COPY (SELECT customer_id, ts, heart_rate FROM heartbeat_records ORDER BY 1, 2) TO STDOUT" >"$BATS_TEST_TMPDIR/direct.tsv"
	q "COPY (SELECT anomaly_type, customer_id, ts, heart_rate FROM heartbeat_anomalies ORDER BY 2, 3) TO STDOUT" >>"$BATS_TEST_TMPDIR/direct.tsv"
	q 'TRUNCATE heartbeat_records, heartbeat_anomalies' >/dev/null
	HB_REPLAY_STATE_DIR=$BATS_TEST_TMPDIR/state "$HB_REPO/scripts/hb-replay" "$R" 2>"$BATS_TEST_TMPDIR/replay.err"
	consume_all
	q "COPY (SELECT customer_id, ts, heart_rate FROM heartbeat_records ORDER BY 1, 2) TO STDOUT" >"$BATS_TEST_TMPDIR/kafka.tsv"
	q "COPY (SELECT anomaly_type, customer_id, ts, heart_rate FROM heartbeat_anomalies ORDER BY 2, 3) TO STDOUT" >>"$BATS_TEST_TMPDIR/kafka.tsv"
	cmp "$BATS_TEST_TMPDIR/direct.tsv" "$BATS_TEST_TMPDIR/kafka.tsv"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/kafka.tsv")" -eq 100000 ]
}

@test "hbkafka-pub and hbkafka-sub: missing topic exits 2, unreachable broker exits 69" {
	run hbkafka-pub -t "no_such_topic_$$" <"$R"
	[ "$status" -eq 2 ]
	[[ "$output" == *"topic no_such_topic_$$ does not exist"* ]]
	run hbkafka-sub -t "no_such_topic_$$" -e
	[ "$status" -eq 2 ]
	run bash -c "head -n 3 '$R' | hbkafka-pub -b 127.0.0.1:1 -X message.timeout.ms=2000"
	[ "$status" -eq 69 ]
	[[ "$output" == *"3 lines not delivered: the broker was unreachable"* ]]
	run hbkafka-sub -b 127.0.0.1:1 --retry-for 3 -e
	[ "$status" -eq 69 ]
	[[ "$output" == *"broker unreachable for"* ]]
}

@test "-e ends at the end seen at start, even while the producer goes on" {
	hb_newtopic
	head -n 700 "$R" | hbkafka-pub -q
	hbsim --rate 300 --duration 6 -q | hbkafka-pub -q 3>&- &
	sleep 1
	n=$(hbkafka-sub -G "$HB_GROUP-e" -o beginning -e -q | wc -l | tr -d ' ')
	wait
	# the 700 of the start, and what came in the second before it looked: not the rest
	[ "$n" -ge 700 ]
	[ "$n" -lt 1500 ]
}

@test "cooperative rebalancing works (-X partition.assignment.strategy=cooperative-sticky)" {
	hb_newtopic
	head -n 500 "$R" | hbkafka-pub -q
	n=$(hbkafka-sub -X partition.assignment.strategy=cooperative-sticky -e -q | wc -l | tr -d ' ')
	assert_eq "$n" 500
}

@test "hbpgload --ack-to a FIFO nobody reads neither hangs nor loses anything" {
	mkfifo "$BATS_TEST_TMPDIR/acks"
	run timeout 30 hbpgload --ack-to "$BATS_TEST_TMPDIR/acks" "$C"
	[ "$status" -eq 0 ]
	assert_eq "$(stored)" 100000
}

@test "hbkafka-sub: a write error other than a closed pipe exits 1, commits nothing" {
	hb_newtopic
	head -n 300 "$R" | hbkafka-pub -q
	run bash -c 'hbkafka-sub -e -q >/dev/full'
	[ "$status" -eq 1 ]
	[[ "$output" == *"write error on stdout: No space left on device"* ]]
	# nothing was committed: the group still reads all of it
	assert_eq "$(hbkafka-sub -e -q | wc -l | tr -d ' ')" 300
}

@test "hbkafka-pub --stats 1: lines, delivered, failed, in flight so far, the rate over the interval" {
	hb_newtopic
	hbsim --rate 50 --count 150 -q | hbkafka-pub --stats 1 2>"$BATS_TEST_TMPDIR/err" 3>&-
	e=$BATS_TEST_TMPDIR/err
	[ "$(grep -c ' hbkafka-pub INFO stats lines=' "$e")" -ge 2 ]
	stats_col "$e" lines | nondecreasing
	stats_col "$e" delivered | nondecreasing
	[ "$(stats_col "$e" lines | head -n 1)" -gt 0 ]
	stats_col "$e" rate | all_between 35 65
	stats_col "$e" failed | all_between 0 0
	# what is delivered or failed or in flight is never more than what was read
	awk '/ INFO stats / { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	     if (v["delivered"] + v["failed"] > v["lines"]) bad = 1 } END { exit bad }' "$e"
	grep ' INFO stats ' "$e" | grep -Eq '^[^ ]+ hbkafka-pub INFO stats lines=[0-9]+ delivered=[0-9]+ failed=0 in_flight=[0-9]+ rate=[0-9]+\.[0-9]/s$'
	grep -q 'INFO done lines=150 delivered=150 failed=0 ' "$e"
}

@test "hbkafka-pub --stats: an idle input still logs, at 0.0/s" {
	hb_newtopic
	mkfifo "$BATS_TEST_TMPDIR/in"
	hbkafka-pub --stats 0.2 <"$BATS_TEST_TMPDIR/in" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	exec 7>"$BATS_TEST_TMPDIR/in"
	wait_for 20 bash -c "[ \$(grep -c ' INFO stats ' '$BATS_TEST_TMPDIR/err') -ge 3 ]"
	exec 7>&-
	wait "$pid"
	stats_col "$BATS_TEST_TMPDIR/err" lines | all_between 0 0
	stats_col "$BATS_TEST_TMPDIR/err" rate | all_between 0 0
}

@test "hbkafka-sub --stats: messages so far, the rate, the lag and partitions; then idle at 0.0/s" {
	hb_newtopic
	head -n 300 "$R" | hbkafka-pub -q
	hbkafka-sub --stats 0.3 -o beginning >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	e=$BATS_TEST_TMPDIR/err
	# all read, and then at least two lines of a quiet topic
	wait_for 60 bash -c "[ \$(grep -c ' INFO stats messages=300 rate=0\.0/s lag=0 partitions=3$' '$e') -ge 2 ]"
	kill -TERM "$pid"
	wait "$pid"
	assert_eq "$(wc -l <"$BATS_TEST_TMPDIR/out" | tr -d ' ')" 300
	stats_col "$e" messages | nondecreasing
	stats_col "$e" messages | all_between 0 300
	# the 300 came in some interval: its rate is above 0
	[ "$(stats_col "$e" rate | sort -n | tail -n 1 | cut -d. -f1)" -gt 0 ]
	grep -q 'INFO stopped messages=300 ' "$e"
}

@test "hb-pipeline: a stage refusing its settings (exit 2) stops the worker with 2 instead of restarting it every second" {
	hb_newtopic
	export HB_RUN_DIR=$BATS_TEST_TMPDIR/run
	# hbclassify refuses a tachycardia threshold above 300
	run env HB_TACHY=500 timeout 60 "$HB_REPO/scripts/hb-pipeline" consumer --workers 1
	[ "$status" -eq 2 ]
	grep -q 'hbclassify: ' "$HB_RUN_DIR/worker.1.log"
	grep -q 'a stage refused its settings (exit .*2.*); not restarting' "$HB_RUN_DIR/worker.1.log"
	assert_eq "$(grep -c 'pipeline ended' "$HB_RUN_DIR/worker.1.log")" 0
}

@test "a backlog through a small queue, its fetcher woken as it drains: read whole, once, in order" {
	# queued.min.messages=2000: librdkafka stops fetching at 2,000 queued
	# messages; hbkafka-sub wakes it at 1,000 (lib/hb_fetch_wake.h; the
	# decision itself is tests/unit/test_fetch_wake.c's)
	hb_newtopic
	hbkafka-pub -q "$R"
	out=$BATS_TEST_TMPDIR/out prom=$BATS_TEST_TMPDIR/sub.prom
	hbkafka-sub -q -K -o beginning -e -X queued.min.messages=2000 --prom-file "$prom" >"$out"
	assert_eq "$(wc -l <"$out" | tr -d ' ')" 100000
	# each partition's offsets 0, 1, 2, ... once each, in order
	jq -r '._kafka | "\(.p) \(.o)"' "$out" >"$BATS_TEST_TMPDIR/po"
	assert_eq "$(awk '$2 != n[$1]++ { bad++ } END { print bad + 0 }' "$BATS_TEST_TMPDIR/po")" 0
	wakes=$(awk '$1 ~ /^hbmon_sub_fetch_wakes_total[{ ]/ { print $NF }' "$prom")
	[ "${wakes:-0}" -gt 0 ]
}
