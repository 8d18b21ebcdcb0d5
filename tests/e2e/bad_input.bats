#!/usr/bin/env bats
# bad_input.bats — every kind of bad input ends in heartbeat_anomalies with its
# raw text and a reason; no tool crashes; nothing is dropped.

load helpers

setup_file() {
	hb_newdb
	export D="$HB_REPO/tests/data"
	export T="$BATS_FILE_TMPDIR"
	# generated cases: a 5 MB line, nesting 100,000 deep, and a file ending without a newline
	python3 -c 'import sys; sys.stdout.write("{\"customer_id\":\"CUST_00001\",\"pad\":\"" + "x" * 5000000 + "\"}\n")' >"$T/huge.ndjson"
	python3 -c 'import sys; sys.stdout.write("[" * 100000 + "]" * 100000 + "\n" + "{\"a\":" * 5000 + "1" + "}" * 5000 + "\n")' >"$T/deep.ndjson"
	printf '%s' '{"customer_id":"CUST_00009","timestamp":"2026-11-23T11:00:00Z","heart_rate":72}' >"$T/nonewline.ndjson"
}

teardown_file() {
	hb_dropdb
}

# hex of line N of a file, without its newline
line_hex() {
	sed -n "${2}p" "$1" | head -c -1 | od -An -tx1 -v | tr -d ' \n'
}

@test "hbclassify gives each bad line status INVALID and the expected reason" {
	run hbclassify -qq "$D/bad_input.ndjson"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$T/classified.ndjson"
	assert_eq "$(wc -l <"$T/classified.ndjson" | tr -d ' ')" "$(wc -l <"$D/bad_input.ndjson" | tr -d ' ')"
	bad=$(paste <(jq -r '[.status, (.reason // "")] | @tsv' "$T/classified.ndjson") \
		<(grep -v '^#' "$D/bad_input.expected" | cut -f2,3) |
		awk -F'\t' '$1 != $3 || index($2, $4) == 0 { print NR ": got " $1 " / " $2 " want " $3 " / " $4 }')
	assert_eq "$bad" ""
}

@test "every INVALID line keeps its exact raw bytes through hbclassify | hbpgload" {
	hbclassify -qq "$D/bad_input.ndjson" | hbpgload -q
	n=$(wc -l <"$D/bad_input.ndjson")
	for i in $(seq 1 "$n"); do
		want=$(grep -v '^#' "$D/bad_input.expected" | sed -n "${i}p" | cut -f2)
		[ "$want" = INVALID ] || continue
		hex=$(line_hex "$D/bad_input.ndjson" "$i")
		got=$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'
		         AND coalesce(raw_bytes, convert_to(raw, 'UTF8')) = decode('$hex', 'hex')
		         AND reason IS NOT NULL AND raw_length = length(decode('$hex', 'hex'))")
		[ "$got" = 1 ] || { echo "line $i not stored exactly once with its raw bytes (found $got)"; return 1; }
	done
	want_invalid=$(grep -c $'\tINVALID\t' "$D/bad_input.expected")
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'")" "$want_invalid"
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" "$(grep -c $'\tNORMAL\t' "$D/bad_input.expected")"
}

@test "raw text is readable and exact bytes are kept where text cannot hold them" {
	# NUL bytes and invalid UTF-8 cannot live in a text column: raw has U+FFFD, raw_bytes the bytes
	n=$(q "SELECT count(*) FROM heartbeat_anomalies WHERE raw_bytes IS NOT NULL AND raw LIKE '%'||chr(65533)||'%'")
	[ "$n" -ge 4 ]
	# valid text is stored as text only
	assert_eq "$(q "SELECT raw_bytes IS NULL FROM heartbeat_anomalies WHERE raw = 'not json at all'")" t
}

@test "SQL in fields is stored as data" {
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE raw LIKE '%DROP TABLE heartbeat_records%'")" 1
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE raw LIKE '%DELETE FROM heartbeat_anomalies%'")" 1
	assert_eq "$(q "SELECT raw FROM heartbeat_anomalies WHERE raw LIKE 'Robert%'")" "Robert'); DROP TABLE heartbeat_anomalies;--"
	# and the tables are all still there, with their rows
	assert_eq "$(q "SELECT count(*) FROM pg_tables WHERE tablename IN ('heartbeat_records','heartbeat_anomalies','pipeline_metrics')")" 3
	[ "$(q 'SELECT count(*) FROM heartbeat_records')" -gt 0 ]
}

@test "loading the bad input again stores nothing more (INVALID lines included)" {
	before=$(q 'SELECT count(*) FROM heartbeat_anomalies')
	hbclassify -qq "$D/bad_input.ndjson" | hbpgload -q
	hbclassify -qq "$D/bad_input.ndjson" | hbclassify -qq | hbpgload -q
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_anomalies')" "$before"
}

@test "a 5 MB line becomes INVALID with a cut raw excerpt and its true length" {
	size=$(($(stat -c %s "$T/huge.ndjson") - 1))
	run hbclassify -qq "$T/huge.ndjson"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"status":"INVALID"'* && "$output" == *"line too long: $size bytes"* ]]
	[[ "$output" == *"\"raw_length\":$size"* ]]
	[ "${#output}" -lt 4000 ]
	hbclassify -qq "$T/huge.ndjson" | hbpgload -q
	assert_eq "$(q "SELECT raw_length, length(raw) <= 1024 FROM heartbeat_anomalies WHERE reason LIKE 'line too long%'")" "$size|t"
	# straight into hbpgload, too
	hbpgload -q "$T/huge.ndjson"
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE raw_length = $size")" 1
}

@test "deep nesting is INVALID, not a crash" {
	run hbclassify -qq "$T/deep.ndjson"
	[ "$status" -eq 0 ]
	assert_eq "$(echo "$output" | jq -r .reason | cut -c1-29 | sort -u)" "not JSON: nested too deep at "
	hbclassify -qq "$T/deep.ndjson" | hbpgload -q
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE reason LIKE '%nested too deep%'")" 2
}

@test "a last line without a newline is still a reading" {
	run bash -c "hbclassify -qq '$T/nonewline.ndjson' | hbpgload"
	[ "$status" -eq 0 ]
	assert_eq "$(q "SELECT heart_rate FROM heartbeat_records WHERE ts = '2026-11-23T11:00:00Z'")" 72
}

@test "bad input straight into hbpgload (no hbclassify) is stored as INVALID too" {
	q 'TRUNCATE heartbeat_records, heartbeat_anomalies' >/dev/null
	run hbpgload "$D/bad_input.ndjson"
	[ "$status" -eq 0 ]
	[[ "$output" == *"stored as INVALID line=1 "* ]]
	n=$(grep -vc '^#' "$D/bad_input.expected")
	# every line is an anomaly; one of them says "status":"TACHYCARDIA" itself and is taken at its word
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies")" "$n"
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'")" "$((n - 1))"
	# JSON objects without "status" say so; every INVALID row has a reason
	[ "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE reason LIKE 'no \"status\"%'")" -ge 40 ]
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID' AND coalesce(reason, '') = ''")" 0
}

@test "--strict stops at the first bad line with exit 65" {
	run hbclassify --strict "$D/bad_input.ndjson"
	[ "$status" -eq 65 ]
	[[ "$output" == *"bad_input.ndjson:1: invalid reading (--strict)"* ]]
	run bash -c "hbsim --count 10 --rate 0 -q | hbclassify --strict -qq | wc -l"
	assert_eq "$output" 10
	run hbpgload --strict "$D/bad_input.ndjson"
	[ "$status" -eq 65 ]
}

@test "a row the database refuses goes to the audit trail on its own" {
	# hbclassify with a wider plausible range lets 350 bpm through as NORMAL;
	# the table's CHECK (1..300) refuses it, and only it
	q 'TRUNCATE heartbeat_records, heartbeat_anomalies' >/dev/null
	{
		for i in $(seq 1 50); do
			printf '{"customer_id":"CUST_R","timestamp":"2026-11-23T12:00:%02dZ","heart_rate":%d}\n' "$i" $((i == 17 ? 350 : 70))
		done
	} | hbclassify -qq --max 400 --tachy 399 >"$T/refused.ndjson"
	run hbpgload "$T/refused.ndjson"
	[ "$status" -eq 0 ]
	[[ "$output" == *"refused by the database, stored as INVALID line=17"* ]]
	[[ "$output" == *"rejected=1"* ]]
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records WHERE customer_id = 'CUST_R'")" 49
	assert_eq "$(q "SELECT reason LIKE 'database refused: 23514%' FROM heartbeat_anomalies")" t
	assert_eq "$(q "SELECT raw FROM heartbeat_anomalies")" "$(sed -n 17p "$T/refused.ndjson")"
	# again: nothing more
	hbpgload -q "$T/refused.ndjson"
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_anomalies')" 1
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" 49
}

@test "Kafka coordinates: every heartbeat_anomalies row keeps its topic, partition and offset; readings and lines without them do not" {
	hb_empty_tables
	# as hbkafka-sub -A writes them: inline, and base64 for a value that is
	# not a JSON object (and one line with none, from a file)
	{
		printf '%s\n' '{"_kafka":{"p":2,"o":41,"l":3},"customer_id":"CUST_K1","timestamp":"2026-11-23T12:00:01Z","heart_rate":390}'
		printf '{"_kafka":{"p":1,"o":7,"b64":"%s"}}\n' "$(printf 'not json {' | base64)"
		printf '%s\n' '{"_kafka":{"p":0,"o":1234567890123},"customer_id":"CUST_K2","timestamp":"2026-11-23T12:00:02Z","heart_rate":350}'
		printf '%s\n' '{"_kafka":{"p":0,"o":12},"customer_id":"CUST_K3","timestamp":"2026-11-23T12:00:03Z","heart_rate":70}'
		printf '%s\n' '{"customer_id":"CUST_K4","timestamp":"2026-11-23T12:00:04Z","heart_rate":20}'
		printf '%s\n' '{"_kafka":{"p":1,"o":8},"customer_id":"CUST_K5","timestamp":"2026-11-23T12:00:05Z","heart_rate":-4}'
	} >"$T/coords.ndjson"
	# 350 bpm passes hbclassify as NORMAL (--max 400 --tachy 360) and the
	# table's CHECK refuses it: its INVALID copy keeps the coordinates too
	hbclassify -qq --max 400 --tachy 360 "$T/coords.ndjson" >"$T/coords.classified"
	run hbpgload -t hb.audit-topic "$T/coords.classified"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rejected=1"* ]]
	sel="SELECT anomaly_type, coalesce(customer_id, '-'), coalesce(kafka_topic, '-'), coalesce(kafka_partition::text, '-'), coalesce(kafka_offset::text, '-') FROM heartbeat_anomalies"
	assert_eq "$(q "$sel WHERE customer_id = 'CUST_K1'")" "TACHYCARDIA|CUST_K1|hb.audit-topic|2|41"
	assert_eq "$(q "$sel WHERE raw = 'not json {'")" "INVALID|-|hb.audit-topic|1|7"
	assert_eq "$(q "$sel WHERE reason LIKE 'database refused: 23514%'")" "INVALID|-|hb.audit-topic|0|1234567890123"
	assert_eq "$(q "$sel WHERE customer_id = 'CUST_K5'")" "INVALID|CUST_K5|hb.audit-topic|1|8"
	assert_eq "$(q "$sel WHERE customer_id = 'CUST_K4'")" "BRADYCARDIA|CUST_K4|-|-|-"
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_anomalies')" 5
	# the reading is in heartbeat_records, which has no such columns
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records WHERE customer_id = 'CUST_K3'")" 1
	assert_eq "$(q "SELECT count(*) FROM pg_attribute WHERE attrelid = 'heartbeat_records'::regclass AND attname LIKE 'kafka%'")" 0
}

@test "Kafka coordinates: a redelivery at other offsets keeps the first ones; new rows among duplicates get theirs; HB_TOPIC names the topic" {
	# after the test above: the same lines again, at other offsets
	sed -e 's/"o":\([0-9]*\)/"o":9\1/' "$T/coords.ndjson" | hbclassify -qq --max 400 --tachy 360 |
		HB_TOPIC=another hbpgload -q -t hb.audit-topic
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_anomalies')" 5
	assert_eq "$(q "SELECT kafka_topic, kafka_offset FROM heartbeat_anomalies WHERE customer_id = 'CUST_K1'")" "hb.audit-topic|41"
	assert_eq "$(q "SELECT kafka_offset FROM heartbeat_anomalies WHERE raw = 'not json {'")" 7
	# a new anomaly among those duplicates goes in by the INSERT ... ON
	# CONFLICT path, with its coordinates; the topic from HB_TOPIC
	{
		sed -n 6p "$T/coords.ndjson"
		printf '%s\n' '{"_kafka":{"p":2,"o":77},"customer_id":"CUST_K6","timestamp":"2026-11-23T12:00:06Z","heart_rate":15}'
	} | hbclassify -qq >"$T/coords2.classified"
	run env HB_TOPIC=from-env hbpgload "$T/coords2.classified"
	[ "$status" -eq 0 ]
	[[ "$output" == *"stored=1 duplicates=1 "* ]]
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_anomalies')" 6
	assert_eq "$(q "SELECT anomaly_type, kafka_topic, kafka_partition, kafka_offset FROM heartbeat_anomalies WHERE customer_id = 'CUST_K6'")" "BRADYCARDIA|from-env|2|77"
	# without -t or HB_TOPIC: hbkafka-sub's default topic
	printf '%s\n' '{"_kafka":{"p":0,"o":3},"customer_id":"CUST_K7","timestamp":"2026-11-23T12:00:07Z","heart_rate":190}' |
		hbclassify -qq | env -u HB_TOPIC hbpgload -q
	assert_eq "$(q "SELECT kafka_topic FROM heartbeat_anomalies WHERE customer_id = 'CUST_K7'")" heartbeat-events
	run hbpgload -t 'no/such topic' </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"not a valid topic name"* ]]
}
