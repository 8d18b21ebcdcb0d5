#!/usr/bin/env bats
# kafka_security.bats — hbkafka-pub and hbkafka-sub against a broker listener
# with TLS and SASL/SCRAM-SHA-512 (hb-kafka start --secure), configured only
# through a -F properties file: the password never on a command line, wrong
# credentials or an unknown CA end at once with a clear error (exit 2).

load helpers

setup_file() {
	hb_newdb
	export KS="$BATS_FILE_TMPDIR/ks"
	"$HB_REPO/scripts/hb-kafka" start --dir "$KS" --secure >"$BATS_FILE_TMPDIR/ks.env" 2>"$BATS_FILE_TMPDIR/ks.err" ||
		{ cat "$BATS_FILE_TMPDIR/ks.err" >&2; return 1; }
	set -a
	# shellcheck disable=SC1091
	. "$BATS_FILE_TMPDIR/ks.env"
	set +a
	export HB_KAFKA_DIR=$KS SECURE=$KAFKA_SECURE_BOOTSTRAP_SERVERS PROPS=$KAFKA_CLIENT_PROPERTIES
	# the plaintext listener is only for setting up; the clients use SASL_SSL
	"$HB_REPO/scripts/hb-kafka" topic --dir "$KS" --topic secured 2>/dev/null
	export HB_TOPIC=secured
}

teardown_file() {
	"$HB_REPO/scripts/hb-kafka" stop --dir "$KS" >/dev/null 2>&1 || true
	hb_dropdb
}

@test "hb-kafka --secure: a SASL_SSL listener, a 0600 client file with the password, a CA" {
	[[ $SECURE == 127.0.0.1:* && $SECURE != "$KAFKA_BOOTSTRAP_SERVERS" ]]
	assert_eq "$(stat -c %a "$PROPS")" 600
	grep -q '^security.protocol=SASL_SSL$' "$PROPS"
	grep -q '^sasl.mechanisms=SCRAM-SHA-512$' "$PROPS"
	grep -q "^ssl.ca.location=$KS/tls/ca.crt\$" "$PROPS"
	openssl verify -CAfile "$KS/tls/ca.crt" "$KS/tls/server.crt"
	grep -q '^listeners=.*SASL_SSL://127.0.0.1:' "$KS/node-1/server.properties"
}

@test "the whole pipeline over SASL_SSL (-F only): every reading stored once, no password in ps" {
	pw=$(sed -n 's/^sasl.password=//p' "$PROPS")
	[[ -n $pw ]]
	hbsim --seed 11 --start 2026-11-23T05:00:00Z --count 20000 --rate 0 --invalid-rate 0.01 -q >"$BATS_TEST_TMPDIR/r.ndjson"
	hbclassify -qq "$BATS_TEST_TMPDIR/r.ndjson" >"$BATS_TEST_TMPDIR/c.ndjson"
	(while :; do ps -eo args >>"$BATS_TEST_TMPDIR/ps.txt"; sleep 0.05; done) 3>&- &
	watcher=$!
	run hbkafka-pub -q -b "$SECURE" -F "$PROPS" "$BATS_TEST_TMPDIR/r.ndjson"
	[ "$status" -eq 0 ]
	hbkafka-sub -q -b "$SECURE" -F "$PROPS" -G "g_secure_$$" -o beginning -e | hbclassify -qq | hbpgload -q
	kill "$watcher"
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" "$(count_status "$BATS_TEST_TMPDIR/c.ndjson" NORMAL)"
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'")" \
		"$(count_status "$BATS_TEST_TMPDIR/c.ndjson" INVALID)"
	assert_eq "$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')" 20000
	grep -q -- "-F $PROPS" "$BATS_TEST_TMPDIR/ps.txt"
	run grep -c -- "$pw" "$BATS_TEST_TMPDIR/ps.txt"
	assert_eq "$output" 0
}

@test "wrong SCRAM password: both programs stop at once with a clear error, exit 2" {
	sed 's/^sasl.password=.*/sasl.password=not-the-password/' "$PROPS" >"$BATS_TEST_TMPDIR/bad.properties"
	chmod 600 "$BATS_TEST_TMPDIR/bad.properties"
	SECONDS=0
	run hbkafka-pub -b "$SECURE" -F "$BATS_TEST_TMPDIR/bad.properties" < <(hbsim --seed 1 --count 10 --rate 0 -q)
	[ "$status" -eq 2 ]
	[[ "$output" == *"the broker refused our credentials"*"SCRAM-SHA-512"* ]]
	[[ "$output" == *"lines not delivered"* ]]
	run hbkafka-sub -b "$SECURE" -F "$BATS_TEST_TMPDIR/bad.properties" -o beginning -e
	[ "$status" -eq 2 ]
	[[ "$output" == *"the broker refused our credentials"* ]]
	# not the 300 s of message.timeout.ms, nor the retry budget
	[ "$SECONDS" -lt 60 ]
}

@test "a CA that did not sign the broker's certificate: refused, exit 2; plaintext to the TLS port never delivers" {
	"$HB_REPO/scripts/hb-tls" "$BATS_TEST_TMPDIR/otherca" >/dev/null
	sed "s|^ssl.ca.location=.*|ssl.ca.location=$BATS_TEST_TMPDIR/otherca/ca.crt|" "$PROPS" >"$BATS_TEST_TMPDIR/ca.properties"
	chmod 600 "$BATS_TEST_TMPDIR/ca.properties"
	run hbkafka-pub -b "$SECURE" -F "$BATS_TEST_TMPDIR/ca.properties" < <(hbsim --seed 1 --count 10 --rate 0 -q)
	[ "$status" -eq 2 ]
	[[ "$output" == *"TLS certificate does not verify"*"certificate verify failed"* ]]
	run hbkafka-sub -b "$SECURE" -F "$BATS_TEST_TMPDIR/ca.properties" -o beginning -e
	[ "$status" -eq 2 ]
	# no security settings at all: the TLS listener never answers a plaintext client
	run hbkafka-pub -b "$SECURE" -X message.timeout.ms=3000 < <(hbsim --seed 1 --count 10 --rate 0 -q)
	[ "$status" -ne 0 ]
	[[ "$output" == *"not delivered"* ]]
}
