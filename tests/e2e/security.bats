#!/usr/bin/env bats
# security.bats — least privilege and secrets: TLS to PostgreSQL with
# verify-full, passwords only in files (never on a command line or in ps),
# warnings for files others can read, SQL as data.

load helpers

setup_file() {
	# under tests/run's temp dir: the server user must be able to reach it
	export TLS="$HB_TEST_TMP/tls-pg-$$"
	"$HB_REPO/scripts/hb-pg" start --dir "$TLS" --tls >"$BATS_FILE_TMPDIR/tls.env"
	export TPORT
	TPORT=$(cat "$TLS/port")
	export PASS="pw-$RANDOM-$RANDOM-$$"
	PGHOST=$TLS PGPORT=$TPORT psql -X -q -d hbmon \
		-c "CREATE ROLE hbt_tls LOGIN PASSWORD '$PASS' IN ROLE hbmon_loader" \
		-c "CREATE ROLE hbt_tls_reader LOGIN PASSWORD '$PASS' IN ROLE hbmon_reader"
	printf 'localhost:%s:hbmon:hbt_tls:%s\nlocalhost:%s:hbmon:hbt_tls_reader:%s\n' "$TPORT" "$PASS" "$TPORT" "$PASS" \
		>"$BATS_FILE_TMPDIR/pgpass"
	chmod 600 "$BATS_FILE_TMPDIR/pgpass"
	export PGPASSFILE="$BATS_FILE_TMPDIR/pgpass"
	export DSN="host=localhost port=$TPORT dbname=hbmon user=hbt_tls sslmode=verify-full sslrootcert=$TLS/tls/ca.crt"
}

teardown_file() {
	"$HB_REPO/scripts/hb-pg" stop --dir "$TLS" --mode immediate || true
}

tq() {	# a query as the superuser, over the socket
	PGHOST=$TLS PGPORT=$TPORT psql -X -qAt -d hbmon -c "$1"
}

@test "hbpgload over TLS with sslmode=verify-full, the password from a 0600 .pgpass" {
	hbsim --seed 4 --start 2026-11-23T03:00:00Z --count 5000 --rate 0 -q | hbclassify -qq >"$BATS_TEST_TMPDIR/c.ndjson"
	# watch ps while it runs: the password must not be there
	(while :; do ps -eo args >>"$BATS_TEST_TMPDIR/ps.txt"; sleep 0.05; done) 3>&- &
	watcher=$!
	run hbpgload -d "$DSN" "$BATS_TEST_TMPDIR/c.ndjson"
	kill "$watcher"
	[ "$status" -eq 0 ]
	assert_eq "$(tq 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')" 5000
	grep -q "hbpgload -d host=localhost" "$BATS_TEST_TMPDIR/ps.txt"
	run grep -c -- "$PASS" "$BATS_TEST_TMPDIR/ps.txt"
	assert_eq "$output" 0
	# TCP without TLS is not even in the rules: the load above was over TLS
	assert_eq "$(tq "SELECT count(*) FROM pg_hba_file_rules WHERE type = 'host'")" 0
}

@test "verify-full refuses a name the certificate does not carry; plain TCP is refused" {
	run hbpgload -d "host=127.0.0.1 port=$TPORT dbname=hbmon user=hbt_tls sslmode=verify-full sslrootcert=$TLS/tls/ca.crt" </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"does not match host name"* ]]
	run hbpgload -d "host=localhost port=$TPORT dbname=hbmon user=hbt_tls sslmode=disable" </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"no encryption"* ]]
}

@test "a .pgpass that others may read is ignored with libpq's warning" {
	cp "$PGPASSFILE" "$BATS_TEST_TMPDIR/open-pgpass"
	chmod 644 "$BATS_TEST_TMPDIR/open-pgpass"
	PGPASSFILE="$BATS_TEST_TMPDIR/open-pgpass" run hbpgload -d "$DSN" </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"has group or world access"* ]]
}

@test "no password on a command line: hbpgload -d refuses one, the Kafka programs refuse -X secrets" {
	run hbpgload -d "host=localhost dbname=hbmon password=$PASS" </dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"put it in ~/.pgpass"* ]]
	run hbpgload -d "postgresql://hbt_tls:$PASS@localhost/hbmon" </dev/null
	[ "$status" -eq 2 ]
	for p in hbkafka-pub hbkafka-sub; do
		run "$p" -X "sasl.password=$PASS" </dev/null
		[ "$status" -eq 2 ]
		[[ "$output" == *"put it in a -F properties file (mode 0600)"* ]]
		run "$p" -X "ssl.key.password=$PASS" </dev/null
		[ "$status" -eq 2 ]
	done
}

@test "a Kafka properties file that others may read gets a warning" {
	printf 'client.id=warned\n' >"$BATS_TEST_TMPDIR/k.properties"
	chmod 644 "$BATS_TEST_TMPDIR/k.properties"
	run hbkafka-pub -F "$BATS_TEST_TMPDIR/k.properties" -t "no_topic_$$" </dev/null
	[[ "$output" == *"is readable by others (mode 644)"*"chmod 600 it"* ]]
	chmod 600 "$BATS_TEST_TMPDIR/k.properties"
	run hbkafka-pub -F "$BATS_TEST_TMPDIR/k.properties" -t "no_topic_$$" </dev/null
	[[ "$output" != *"readable by others"* ]]
}

@test "the loader role cannot DROP, and the reader cannot write, over TLS too" {
	run env PGUSER=hbt_tls psql -X -qAt -v ON_ERROR_STOP=1 -d "$DSN" -c 'DROP TABLE heartbeat_records'
	[ "$status" -ne 0 ]
	[[ "$output" == *"must be owner"* ]]
	run psql -X -qAt -v ON_ERROR_STOP=1 -d "host=localhost port=$TPORT dbname=hbmon user=hbt_tls_reader sslmode=verify-full sslrootcert=$TLS/tls/ca.crt" \
		-c "INSERT INTO pipeline_metrics (source, instance, kind) VALUES ('x', 'y', 'final')"
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied"* ]]
	run psql -X -qAt -v ON_ERROR_STOP=1 -d "host=localhost port=$TPORT dbname=hbmon user=hbt_tls_reader sslmode=verify-full sslrootcert=$TLS/tls/ca.crt" \
		-c "SELECT count(*) FROM vw_pipeline_summary"
	[ "$status" -eq 0 ]
}
