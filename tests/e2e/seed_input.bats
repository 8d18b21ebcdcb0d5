#!/usr/bin/env bats
# seed_input.bats — input shaped as the seeds' producers send it, through
# hbclassify | hbpgload into PostgreSQL: integer customer ids, timestamps with
# more than 6 fractional digits (rounded as PostgreSQL rounds them, checked
# against the server itself), and naive timestamps under --assume-utc.

load helpers

setup_file() {
	hb_newdb
	export T="$BATS_FILE_TMPDIR"
	# Fractions for the comparison with PostgreSQL: ties at the 7th digit,
	# digits just below and above them, long and random strings, carries into
	# the next second, minute, day, month and year.  One customer per case.
	python3 - >"$T/fractions.tsv" <<'EOF'
import random
random.seed(11)
fr = ["0000005", "0000015", "0000025", "0000035", "1234565", "1234575", "5000005", "9999985",
      "9999995", "9999994999", "00000149999999999999999999999", "0000015000000000000000000001",
      "123456789", "000000999999999", "0000004", "999999999999999999999999999999999999999999"]
for d in range(7, 16):
    for k in range(10):
        fr.append("0" * (d - 1) + str(k))
for k in range(100):
    fr.append("%06d5" % k)
for k in range(999900, 1000000):
    fr.append("%06d5" % k)
for k in range(600):
    fr.append("%06d5" % random.randrange(1000000))
for k in range(1000):
    fr.append("".join(random.choice("0123456789") for _ in range(random.randrange(7, 40))))
for k in range(200):
    fr.append("%06d5" % random.randrange(1000000) + "0" * random.randrange(1, 30))
    fr.append("%06d4" % random.randrange(1000000) + "9" * random.randrange(1, 40))
    fr.append("%06d5" % random.randrange(1000000) + "0" * random.randrange(1, 30) + "1")
ts = ["2026-11-23T10:00:00.%sZ" % f for f in fr]
ts += ["2026-11-23T10:00:59.9999996Z", "2026-11-23T10:59:59.9999996Z",
       "2026-11-23T23:59:59.9999996Z", "2026-11-30T23:59:59.9999999Z",
       "2026-12-31T23:59:59.9999999Z", "2024-02-28T23:59:59.99999951Z",
       "2026-02-28T23:59:59.9999995Z", "2026-11-23T00:59:59.9999999+01:00",
       "2026-11-23T10:00:00.123456789-05:30", "1969-12-31T23:59:59.9999996Z",
       "0001-01-01T00:00:00.0000004Z", "9999-12-31T23:59:59.9999994Z"]
for i, t in enumerate(ts):
    print("F%05d\t%s" % (i, t))
EOF
	awk -F'\t' '{ printf "{\"customer_id\":\"%s\",\"timestamp\":\"%s\",\"heart_rate\":72}\n", $1, $2 }' \
		"$T/fractions.tsv" >"$T/fractions.ndjson"
}

teardown_file() {
	hb_dropdb
}

setup() {
	hb_empty_tables
}

@test "customer_id as a JSON integer is stored as its decimal text" {
	# what a Python producer's json.dumps gives (seed 000)
	cat >"$BATS_TEST_TMPDIR/in.ndjson" <<'EOF'
{"customer_id": 17, "timestamp": "2026-11-23T08:00:00.123456+00:00", "heart_rate": 72}
{"customer_id": 0, "timestamp": "2026-11-23T08:00:01+00:00", "heart_rate": 72}
{"customer_id": -0, "timestamp": "2026-11-23T08:00:02+00:00", "heart_rate": 72}
{"customer_id": -3, "timestamp": "2026-11-23T08:00:03+00:00", "heart_rate": 72}
{"customer_id": 123456789012345678901234567890, "timestamp": "2026-11-23T08:00:04+00:00", "heart_rate": 72}
{"customer_id": 18, "timestamp": "2026-11-23T08:00:05+00:00", "heart_rate": 20, "meta": {"fw": [1, 2]}}
EOF
	run hbclassify -qq "$BATS_TEST_TMPDIR/in.ndjson"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/out.ndjson"
	# a string on the output, for every later stage; the rest byte for byte
	assert_eq "$(jq -r '.customer_id | type' "$BATS_TEST_TMPDIR/out.ndjson" | sort -u)" string
	assert_eq "$(jq -r .customer_id "$BATS_TEST_TMPDIR/out.ndjson" | paste -sd' ')" "17 0 0 -3 123456789012345678901234567890 18"
	assert_eq "$(sed -n 1p "$BATS_TEST_TMPDIR/out.ndjson")" \
		'{"customer_id": "17", "timestamp": "2026-11-23T08:00:00.123456+00:00", "heart_rate": 72,"status":"NORMAL"}'
	assert_eq "$(sed -n 6p "$BATS_TEST_TMPDIR/out.ndjson")" \
		'{"customer_id": "18", "timestamp": "2026-11-23T08:00:05+00:00", "heart_rate": 20, "meta": {"fw": [1, 2]},"status":"BRADYCARDIA"}'
	hbclassify -qq "$BATS_TEST_TMPDIR/in.ndjson" | hbpgload -q
	assert_eq "$(q "SELECT string_agg(customer_id, ' ' ORDER BY ts) FROM heartbeat_records")" "17 0 0 -3 123456789012345678901234567890"
	# -0 is 0: the same customer at another time, not another customer
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records WHERE customer_id = '0'")" 2
	assert_eq "$(q "SELECT customer_id FROM heartbeat_anomalies WHERE anomaly_type = 'BRADYCARDIA'")" 18
	# classifying the output again changes nothing
	run bash -c "hbclassify -qq '$BATS_TEST_TMPDIR/out.ndjson' | cmp - '$BATS_TEST_TMPDIR/out.ndjson'"
	[ "$status" -eq 0 ]
}

@test "integer 42 and string \"42\" are the same customer: one reading" {
	printf '%s\n' '{"customer_id":42,"timestamp":"2026-11-23T09:00:00Z","heart_rate":70}' \
		'{"customer_id":"42","timestamp":"2026-11-23T09:00:00Z","heart_rate":70}' |
		hbclassify -qq | hbpgload -q
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records")" 1
	assert_eq "$(q "SELECT customer_id FROM heartbeat_records")" 42
}

@test "a float, boolean, null or over-long integer customer_id is INVALID with a clear reason" {
	cat >"$BATS_TEST_TMPDIR/in.ndjson" <<'EOF'
{"customer_id":1.5,"timestamp":"2026-11-23T09:00:00Z","heart_rate":70}
{"customer_id":1e3,"timestamp":"2026-11-23T09:00:01Z","heart_rate":70}
{"customer_id":true,"timestamp":"2026-11-23T09:00:02Z","heart_rate":70}
{"customer_id":null,"timestamp":"2026-11-23T09:00:03Z","heart_rate":70}
{"customer_id":12345678901234567890123456789012345678901234567890123456789012345,"timestamp":"2026-11-23T09:00:04Z","heart_rate":70}
EOF
	run hbclassify -qq "$BATS_TEST_TMPDIR/in.ndjson"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/out.ndjson"
	assert_eq "$(jq -r .status "$BATS_TEST_TMPDIR/out.ndjson" | sort -u)" INVALID
	assert_eq "$(jq -r .reason "$BATS_TEST_TMPDIR/out.ndjson" | sed -n 1p)" "customer_id must be a string or an integer (got 1.5)"
	assert_eq "$(jq -r .reason "$BATS_TEST_TMPDIR/out.ndjson" | sed -n 2p)" "customer_id must be a string or an integer (got 1e3)"
	assert_eq "$(jq -r .reason "$BATS_TEST_TMPDIR/out.ndjson" | sed -n 3p)" "customer_id must be a string or an integer (got boolean)"
	assert_eq "$(jq -r .reason "$BATS_TEST_TMPDIR/out.ndjson" | sed -n 4p)" "customer_id must be a string or an integer (got null)"
	assert_eq "$(jq -r .reason "$BATS_TEST_TMPDIR/out.ndjson" | sed -n 5p)" "customer_id as an integer must have at most 64 characters (got 65)"
	hbpgload -q "$BATS_TEST_TMPDIR/out.ndjson"
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID' AND reason LIKE 'customer_id %'")" 5
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records")" 0
}

@test "hbpgload given an integer customer_id directly stores it as text too" {
	printf '%s\n' '{"customer_id":77,"timestamp":"2026-11-23T09:00:00Z","heart_rate":70,"status":"NORMAL"}' \
		'{"customer_id":78,"timestamp":"2026-11-23T09:00:00Z","heart_rate":200,"status":"TACHYCARDIA"}' \
		'{"customer_id":7.5,"timestamp":"2026-11-23T09:00:00Z","heart_rate":70,"status":"NORMAL"}' >"$BATS_TEST_TMPDIR/in.ndjson"
	run hbpgload "$BATS_TEST_TMPDIR/in.ndjson"
	[ "$status" -eq 0 ]
	[[ "$output" == *"status NORMAL but customer_id must be a string or an integer (got 7.5)"* ]]
	assert_eq "$(q "SELECT customer_id FROM heartbeat_records")" 77
	assert_eq "$(q "SELECT customer_id FROM heartbeat_anomalies WHERE anomaly_type = 'TACHYCARDIA'")" 78
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'")" 1
}

@test "alerts name an integer customer_id by its text" {
	for s in 0 1 2 3 4; do
		printf '{"customer_id":5,"timestamp":"2026-11-23T09:00:0%dZ","heart_rate":200}\n' "$s"
	done >"$BATS_TEST_TMPDIR/in.ndjson"
	hbclassify -qq --alerts "$BATS_TEST_TMPDIR/alerts.ndjson" "$BATS_TEST_TMPDIR/in.ndjson" >/dev/null
	assert_eq "$(jq -c '[.alert, .state, .customer_id]' "$BATS_TEST_TMPDIR/alerts.ndjson")" '["TACHYCARDIA","open","5"]'
	# stored with the readings (--store), the alert's customer is the readings' customer
	hbclassify -qq --store "$BATS_TEST_TMPDIR/in.ndjson" | hbpgload -q
	assert_eq "$(q "SELECT alert || ' ' || customer_id FROM heartbeat_alerts")" "TACHYCARDIA 5"
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE customer_id = '5'")" 5
}

@test "fractions of any length are rounded to microseconds exactly as PostgreSQL rounds them" {
	n=$(wc -l <"$T/fractions.tsv")
	[ "$n" -gt 2500 ]
	run hbclassify -qq "$T/fractions.ndjson"
	[ "$status" -eq 0 ]
	assert_eq "$(printf '%s\n' "$output" | jq -r .status | sort | uniq -c | awk '{ print $2 ":" $1 }')" "NORMAL:$n"
	hbclassify -qq "$T/fractions.ndjson" | hbpgload -q
	q "CREATE TABLE fraction_cases (customer_id text, t text)" >/dev/null
	psql -X -q -v ON_ERROR_STOP=1 -c "\\copy fraction_cases FROM '$T/fractions.tsv'"
	assert_eq "$(q "SELECT count(*) FROM fraction_cases JOIN heartbeat_records USING (customer_id)")" "$n"
	# every stored ts is what PostgreSQL itself makes of the text
	q "SELECT c.t || ' stored ' || r.ts || ' PostgreSQL ' || c.t::timestamptz
	   FROM fraction_cases c JOIN heartbeat_records r USING (customer_id)
	   WHERE r.ts <> c.t::timestamptz LIMIT 5" >"$BATS_TEST_TMPDIR/wrong"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/wrong")" ""
	# the half-way cases go to even, and the carries cross the day and the year
	assert_eq "$(q "SELECT DISTINCT c.t, to_char(r.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM fraction_cases c
	   JOIN heartbeat_records r USING (customer_id) WHERE c.t IN ('2026-11-23T10:00:00.0000005Z',
	   '2026-11-23T10:00:00.0000015Z', '2026-11-23T10:00:00.0000025Z', '2026-11-23T23:59:59.9999996Z',
	   '2026-12-31T23:59:59.9999999Z') ORDER BY c.t" | cut -d'|' -f2 | paste -sd,)" \
		"2026-11-23 10:00:00.000000,2026-11-23 10:00:00.000002,2026-11-23 10:00:00.000002,2026-11-24 00:00:00.000000,2027-01-01 00:00:00.000000"
	q "DROP TABLE fraction_cases" >/dev/null
}

@test "a fraction that rounds into year 10000 is INVALID" {
	run bash -c "echo '{\"customer_id\":\"C\",\"timestamp\":\"9999-12-31T23:59:59.9999995Z\",\"heart_rate\":70}' | hbclassify -qq"
	[ "$status" -eq 0 ]
	assert_eq "$(echo "$output" | jq -r .reason)" "bad timestamp: the instant is outside years 0001-9999 in UTC"
}

@test "two readings differing only past the 6th fractional digit are one reading" {
	printf '%s\n' '{"customer_id":"N1","timestamp":"2026-11-23T09:00:00.1234561Z","heart_rate":70}' \
		'{"customer_id":"N1","timestamp":"2026-11-23T09:00:00.123456400Z","heart_rate":71}' \
		'{"customer_id":"N1","timestamp":"2026-11-23T09:00:00.1234559Z","heart_rate":72}' \
		'{"customer_id":"T1","timestamp":"2026-11-23T09:00:00.9999999991Z","heart_rate":200}' \
		'{"customer_id":"T1","timestamp":"2026-11-23T09:00:01Z","heart_rate":201}' >"$BATS_TEST_TMPDIR/in.ndjson"
	hbclassify -qq "$BATS_TEST_TMPDIR/in.ndjson" | hbpgload -q
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records")" 1
	assert_eq "$(q "SELECT ts = '2026-11-23T09:00:00.123456Z' FROM heartbeat_records")" t
	# the first one stored is kept
	assert_eq "$(q "SELECT heart_rate FROM heartbeat_records")" 70
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies")" 1
	assert_eq "$(q "SELECT ts = '2026-11-23T09:00:01Z' FROM heartbeat_anomalies")" t
	# and again: nothing more
	hbclassify -qq "$BATS_TEST_TMPDIR/in.ndjson" | hbpgload -q
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records") $(q "SELECT count(*) FROM heartbeat_anomalies")" "1 1"
}

@test "a timestamp without a zone is INVALID unless --assume-utc" {
	# Python's naive datetime.isoformat(), and without microseconds
	printf '%s\n' '{"customer_id": 9, "timestamp": "2026-11-23T08:00:00.123456", "heart_rate": 72}' \
		'{"customer_id": 9, "timestamp": "2026-11-23T08:00:01", "heart_rate": 190}' >"$BATS_TEST_TMPDIR/in.ndjson"
	run hbclassify -qq "$BATS_TEST_TMPDIR/in.ndjson"
	[ "$status" -eq 0 ]
	assert_eq "$(printf '%s\n' "$output" | jq -r .status | sort -u)" INVALID
	assert_eq "$(printf '%s\n' "$output" | jq -r .reason | sed -n 1p)" \
		"bad timestamp: missing zone (want 'Z' or +hh:mm; hbclassify --assume-utc reads it as UTC)"
	run hbclassify -qq --assume-utc "$BATS_TEST_TMPDIR/in.ndjson"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/out.ndjson"
	assert_eq "$(jq -r .timestamp "$BATS_TEST_TMPDIR/out.ndjson" | paste -sd' ')" "2026-11-23T08:00:00.123456Z 2026-11-23T08:00:01Z"
	assert_eq "$(jq -r .status "$BATS_TEST_TMPDIR/out.ndjson" | paste -sd' ')" "NORMAL TACHYCARDIA"
	# hbpgload has no such option: the 'Z' on the output line is what it reads
	hbpgload -q "$BATS_TEST_TMPDIR/out.ndjson"
	assert_eq "$(q "SELECT ts = timestamp '2026-11-23 08:00:00.123456' AT TIME ZONE 'UTC' FROM heartbeat_records WHERE customer_id = '9'")" t
	assert_eq "$(q "SELECT ts = timestamp '2026-11-23 08:00:01' AT TIME ZONE 'UTC' FROM heartbeat_anomalies WHERE customer_id = '9'")" t
	# classified again, with or without the option: the same lines
	run bash -c "hbclassify -qq '$BATS_TEST_TMPDIR/out.ndjson' | cmp - '$BATS_TEST_TMPDIR/out.ndjson'"
	[ "$status" -eq 0 ]
}

@test "hbpgload given a naive timestamp directly says what is missing" {
	printf '%s\n' '{"customer_id":"C","timestamp":"2026-11-23T08:00:00","heart_rate":72,"status":"NORMAL"}' >"$BATS_TEST_TMPDIR/in.ndjson"
	run hbpgload "$BATS_TEST_TMPDIR/in.ndjson"
	[ "$status" -eq 0 ]
	[[ "$output" == *"status NORMAL but bad timestamp: missing zone"* ]]
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records")" 0
	assert_eq "$(q "SELECT reason LIKE '%missing zone%' FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'")" t
}

@test "--help and the man page describe the seed-shaped input" {
	run hbclassify --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--assume-utc"* ]]
	[[ "$output" == *"customer_id is a string or a JSON integer"* ]]
	grep -q -- 'assume\\-utc' "$HB_REPO/man/hbclassify.1"
	grep -q 'rounded to microseconds as PostgreSQL' "$HB_REPO/man/hbclassify.1"
}

@test "through Kafka: integer ids keep each customer on one partition and are stored as text" {
	hb_newtopic
	for s in 0 1 2 3 4 5 6 7 8 9; do
		for c in 1 2 3 4 5 6; do
			printf '{"customer_id": %d, "timestamp": "2026-11-23T08:00:0%d.123456789+00:00", "heart_rate": 72}\n' "$c" "$s"
		done
	done >"$BATS_TEST_TMPDIR/in.ndjson"
	hbkafka-pub -q "$BATS_TEST_TMPDIR/in.ndjson"
	# a group of its own: the pipeline's group still has everything to read
	hbkafka-sub -G "g_env_$$" -E -e -q -o beginning >"$BATS_TEST_TMPDIR/env.ndjson"
	assert_eq "$(wc -l <"$BATS_TEST_TMPDIR/env.ndjson" | tr -d ' ')" 60
	# the key is the id's text, so one partition per customer
	assert_eq "$(jq -r 'select(.key != (.value.customer_id | tostring)) | 1' "$BATS_TEST_TMPDIR/env.ndjson" | wc -l | tr -d ' ')" 0
	assert_eq "$(jq -r '[.key, .partition] | @tsv' "$BATS_TEST_TMPDIR/env.ndjson" | sort -u | wc -l | tr -d ' ')" 6
	consume_all
	assert_eq "$(q "SELECT string_agg(DISTINCT customer_id, ' ' ORDER BY customer_id) FROM heartbeat_records")" "1 2 3 4 5 6"
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records WHERE ts = '2026-11-23T08:00:09.123457Z'")" 6
}
