#!/usr/bin/env bats
# sql.bats — sql/ applies in order and idempotently; the roles do what they say;
# the demo script runs the live pipeline end to end.

load helpers

setup_file() {
	hb_newdb
	export LOADER="hbt_loader_$$" READER="hbt_reader_$$"
	psql -X -q -c "CREATE ROLE $LOADER LOGIN IN ROLE hbmon_loader" \
		-c "CREATE ROLE $READER LOGIN IN ROLE hbmon_reader"
}

# The schema as pg_dump prints it, without its per-run \restrict key.
schema() {
	pg_dump --schema-only --no-owner "$PGDATABASE" | grep -Ev '^\\(un)?restrict '
}

teardown_file() {
	hb_dropdb
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $LOADER" -c "DROP ROLE IF EXISTS $READER" || true
}

@test "applying sql/ again changes nothing" {
	before=$(schema | md5sum)
	"$HB_REPO/scripts/hb-pg" apply
	"$HB_REPO/scripts/hb-pg" apply
	after=$(schema | md5sum)
	assert_eq "$after" "$before"
}

@test "the files apply in name order with psql -v ON_ERROR_STOP=1 -f" {
	createdb "${PGDATABASE}_plain"
	for f in "$HB_REPO"/sql/*.sql; do
		PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "${PGDATABASE}_plain" -f "$f"
	done
	n=$(psql -X -qAt -d "${PGDATABASE}_plain" -c "SELECT count(*) FROM pg_views WHERE viewname LIKE 'vw\\_%'")
	dropdb "${PGDATABASE}_plain"
	assert_eq "$n" 5
}

@test "the loader role loads (INSERT only) and the reader role reads" {
	hbsim --seed 3 --start 2026-11-23T09:00:00Z --count 2000 --rate 0 --invalid-rate 0.02 -q |
		hbclassify -qq | PGUSER=$LOADER hbpgload -q
	assert_eq "$(PGUSER=$READER q 'SELECT readings_stored FROM vw_pipeline_summary')" 2000
	# and loading again as the loader works too (ON CONFLICT DO NOTHING needs INSERT only)
	hbsim --seed 3 --start 2026-11-23T09:00:00Z --count 2000 --rate 0 --invalid-rate 0.02 -q |
		hbclassify -qq | PGUSER=$LOADER hbpgload -q
	assert_eq "$(PGUSER=$READER q 'SELECT readings_stored FROM vw_pipeline_summary')" 2000
}

@test "the loader cannot read, update, delete or truncate; the reader cannot write" {
	for sql in 'SELECT count(*) FROM heartbeat_records' "UPDATE heartbeat_records SET heart_rate = 1" \
		'DELETE FROM heartbeat_anomalies' 'TRUNCATE heartbeat_records'; do
		run env PGUSER="$LOADER" psql -X -qAt -v ON_ERROR_STOP=1 -c "$sql"
		[ "$status" -ne 0 ]
		[[ "$output" == *"permission denied"* ]]
	done
	run env PGUSER="$READER" psql -X -qAt -v ON_ERROR_STOP=1 \
		-c "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES ('X', now(), 70)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied"* ]]
}

@test "a role without the loader's grants gets a clear error, exit 2" {
	psql -X -q -c "CREATE ROLE hbt_nobody_$$ LOGIN"
	run env PGUSER="hbt_nobody_$$" hbpgload </dev/null
	psql -X -q -c "DROP ROLE hbt_nobody_$$"
	[ "$status" -eq 2 ]
	[[ "$output" == *"may not INSERT into the hbmon tables"* ]]
}

@test "the demo runs the live pipeline through Kafka into the database and stops cleanly" {
	hb_newtopic
	hb_empty_tables
	HB_DEMO_DB="dbname=$PGDATABASE" HB_DEMO_SECONDS=5 HB_DEMO_RATE=100 HB_DEMO_WORKERS=2 \
		HB_DEMO_STATE="$BATS_TEST_TMPDIR/demo" run "$HB_REPO/scripts/hb-demo"
	[ "$status" -eq 0 ]
	# the live view: a line per second with rates, counts, latency and lag
	[[ "$output" =~ [0-9:]{8}\ \ in\ +[0-9]+/s\ \ stored\ +[0-9]+/s\ \ normal\ +[0-9]+.*latency\ p50\ +[0-9]+\ ms\ p99\ +[0-9]+\ ms\ \ lag\ [0-9]+ ]]
	[ "$(grep -c ' stored .*/s ' <<<"$output")" -ge 3 ]
	[[ "$output" == *"readings_stored"* ]]
	# what the producer sent was stored, once, by the two workers together
	sent=$(sed -n 's/.*hbkafka-pub INFO \(done\|stopped\) lines=\([0-9]*\) delivered=\([0-9]*\).*/\3/p' \
		"$BATS_TEST_TMPDIR/demo/run/producer.log" | tail -n 1)
	[ "$sent" -ge 300 ]
	assert_eq "$(stored)" "$sent"
	assert_eq "$(q "SELECT count(DISTINCT instance) FROM pipeline_metrics WHERE instance LIKE 'worker-%'")" 2
	# the clean stop: every stage of both workers ended with 0, hbkafka-sub
	# having had every message it wrote acknowledged, and committed it
	# (if not, the workers' logs say why)
	if cat "$BATS_TEST_TMPDIR/demo/run/status."* | grep -qvx '0 0 0'; then
		tail -n 40 "$BATS_TEST_TMPDIR/demo/run/"worker.*.log
	fi
	assert_eq "$(cat "$BATS_TEST_TMPDIR/demo/run/status.1")" "0 0 0"
	assert_eq "$(cat "$BATS_TEST_TMPDIR/demo/run/status.2")" "0 0 0"
	# so a restart would deliver nothing again
	assert_eq "$(hbkafka-sub -e -q | wc -l | tr -d ' ')" 0
}
