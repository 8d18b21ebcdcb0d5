#!/usr/bin/env bats
# alerts_db.bats — alerts in PostgreSQL: hb_alerts_apply's rules (idempotent,
# replays skipped, a close never lost), hb_state_apply and
# hb_alert_state_load, hbpgload storing _hb_alert/_hb_state lines and
# ignoring _hb_mark ones, and the roles.

load helpers

setup_file() {
	hb_newdb
	export LOADER="hbt_aloader_$$" READER="hbt_areader_$$"
	psql -X -q -c "CREATE ROLE $LOADER LOGIN IN ROLE hbmon_loader" \
		-c "CREATE ROLE $READER LOGIN IN ROLE hbmon_reader"
}

teardown_file() {
	hb_dropdb
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $LOADER" -c "DROP ROLE IF EXISTS $READER" || true
}

setup() {
	q 'TRUNCATE heartbeat_alerts, hb_alert_state, heartbeat_records, heartbeat_anomalies, pipeline_metrics' >/dev/null
}

# hb_alerts_apply / hb_state_apply with a JSON array; prints what it returned
apply() {
	psql -X -qAt -v ON_ERROR_STOP=1 -v ev="$1" <<<"SELECT hb_alerts_apply(:'ev'::jsonb)"
}
apply_state() {
	psql -X -qAt -v ON_ERROR_STOP=1 -v ev="$1" <<<"SELECT hb_state_apply(:'ev'::jsonb)"
}

T0=2026-11-23T10:00:00.000Z
open_ev() {	# customer start [type]
	printf '{"alert":"%s","state":"open","customer_id":"%s","start":"%s","at":"%s","readings":3,"peak_bpm":203,"peak_at":"%s","reason":"3 readings above 180 bpm"}' \
		"${3:-TACHYCARDIA}" "$1" "$2" "$2" "$2"
}
close_ev() {	# customer start end [type]
	printf '{"alert":"%s","state":"close","customer_id":"%s","start":"%s","end":"%s","at":"%s","duration_s":12.5,"readings":26,"peak_bpm":207,"peak_at":"%s","ended_by":"NORMAL"}' \
		"${4:-TACHYCARDIA}" "$1" "$2" "$3" "$3" "$3"
}

count_is() {	# table want: for wait_for
	[ "$(q "SELECT count(*) FROM $1")" = "$2" ]
}

rows() {	# the alerts as text, one per line
	q "SELECT alert || ' ' || customer_id || ' ' || to_char(start_ts AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') || ' ' ||
	          coalesce(to_char(end_ts AT TIME ZONE 'UTC', 'HH24:MI:SS.MS'), 'open') || ' ' ||
	          coalesce(peak_bpm::text, '-') || ' ' || coalesce(readings::text, '-')
	   FROM heartbeat_alerts ORDER BY customer_id, alert, start_ts"
}

@test "the same events applied twice are stored once" {
	evs="[$(open_ev C1 $T0),$(close_ev C1 $T0 2026-11-23T10:00:12.500Z),$(open_ev C2 $T0 BRADYCARDIA)]"
	assert_eq "$(apply "$evs")" 3
	assert_eq "$(apply "$evs")" 0
	assert_eq "$(rows)" "TACHYCARDIA C1 10:00:00.000 10:00:12.500 207 26
BRADYCARDIA C2 10:00:00.000 open 203 3"
	# each event alone, again, changes nothing either
	assert_eq "$(apply "[$(open_ev C1 $T0)]")" 0
	assert_eq "$(apply "[$(close_ev C1 $T0 2026-11-23T10:00:12.500Z)]")" 0
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_alerts')" 2
}

@test "an open with a later start while one is open is skipped; another type or customer is not" {
	apply "[$(open_ev C1 $T0)]"
	assert_eq "$(apply "[$(open_ev C1 2026-11-23T10:00:05.000Z)]")" 0
	assert_eq "$(apply "[$(open_ev C1 2026-11-23T10:00:05.000Z SILENCE),$(open_ev C9 2026-11-23T10:00:05.000Z)]")" 2
	assert_eq "$(q "SELECT count(*) FROM heartbeat_alerts WHERE customer_id = 'C1' AND alert = 'TACHYCARDIA'")" 1
	assert_eq "$(q "SELECT count(*) FROM heartbeat_alerts")" 3
}

@test "an open replayed inside a closed alert's span is skipped; one after it opens a new alert" {
	apply "[$(open_ev C1 $T0),$(close_ev C1 $T0 2026-11-23T10:00:12.500Z)]"
	assert_eq "$(apply "[$(open_ev C1 2026-11-23T10:00:05.000Z)]")" 0
	assert_eq "$(apply "[$(open_ev C1 2026-11-23T10:00:12.500Z)]")" 0
	assert_eq "$(apply "[$(open_ev C1 2026-11-23T10:01:00.000Z)]")" 1
	assert_eq "$(rows)" "TACHYCARDIA C1 10:00:00.000 10:00:12.500 207 26
TACHYCARDIA C1 10:01:00.000 open 203 3"
}

@test "a close without its open is stored closed; replayed, it is skipped" {
	assert_eq "$(apply "[$(close_ev C3 $T0 2026-11-23T10:00:42.000Z SILENCE)]")" 1
	assert_eq "$(rows)" "SILENCE C3 10:00:00.000 10:00:42.000 207 26"
	assert_eq "$(q "SELECT opened_at IS NULL AND open_event IS NULL AND ended_by = 'NORMAL' AND close_event->>'state' = 'close' FROM heartbeat_alerts")" t
	assert_eq "$(apply "[$(close_ev C3 $T0 2026-11-23T10:00:42.000Z SILENCE)]")" 0
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_alerts')" 1
}

@test "a close closes the open alert: end, close time, peak and readings from the close" {
	apply "[$(open_ev C1 $T0)]"
	assert_eq "$(q 'SELECT count(*) FROM vw_open_alerts')" 1
	assert_eq "$(apply "[$(close_ev C1 $T0 2026-11-23T10:00:12.500Z)]")" 1
	assert_eq "$(rows)" "TACHYCARDIA C1 10:00:00.000 10:00:12.500 207 26"
	assert_eq "$(q "SELECT opened_at = '$T0' AND closed_at = '2026-11-23T10:00:12.500Z' AND ended_by = 'NORMAL'
	                  AND reason = '3 readings above 180 bpm' AND open_event->>'state' = 'open'
	                  AND closed_stored_at IS NOT NULL FROM heartbeat_alerts")" t
	assert_eq "$(q 'SELECT count(*) FROM vw_open_alerts')" 0
	assert_eq "$(q "SELECT day || ' ' || customer_id || ' ' || alert || ' ' || opened || ' ' || closed || ' ' || total_seconds FROM vw_alerts_daily")" \
		"2026-11-23 C1 TACHYCARDIA 1 1 12.500"
}

@test "events in one array apply in order: open, close, open again" {
	assert_eq "$(apply "[$(open_ev C1 $T0),$(close_ev C1 $T0 2026-11-23T10:00:12.500Z),$(open_ev C1 2026-11-23T10:00:20.000Z)]")" 3
	assert_eq "$(rows)" "TACHYCARDIA C1 10:00:00.000 10:00:12.500 207 26
TACHYCARDIA C1 10:00:20.000 open 203 3"
}

@test "hb_state_apply keeps the last state of each customer" {
	assert_eq "$(apply_state '[{"customer_id":"C1","topic":"t","partition":1,"offset":5,"ts":"2026-11-23T10:00:00Z","n":1},
		{"customer_id":"C2","topic":null,"partition":null,"offset":null,"ts":"2026-11-23T10:00:00Z"},
		{"customer_id":"C1","topic":"t","partition":2,"offset":9,"ts":"2026-11-23T10:00:01Z","n":2}]')" 2
	apply_state '[{"customer_id":"C2","topic":"t","partition":0,"offset":1,"ts":"2026-11-23T10:00:02Z"}]'
	assert_eq "$(q "SELECT customer_id || ' ' || topic || ' ' || kpartition || ' ' || koffset || ' ' || (state->>'n') FROM hb_alert_state WHERE customer_id = 'C1'")" "C1 t 2 9 2"
	assert_eq "$(q "SELECT customer_id || ' ' || topic || ' ' || kpartition || ' ' || koffset FROM hb_alert_state WHERE customer_id = 'C2'")" "C2 t 0 1"
}

@test "hb_alert_state_load: the states of a topic's partition, with the customer's last reading" {
	apply_state '[{"customer_id":"C1","topic":"t","partition":1,"offset":5},
		{"customer_id":"C2","topic":"t","partition":1,"offset":6},
		{"customer_id":"C3","topic":"t","partition":2,"offset":7},
		{"customer_id":"C4","topic":"u","partition":1,"offset":8}]'
	printf '%s\n' \
		'{"customer_id":"C1","timestamp":"2026-11-23T10:00:00.000Z","heart_rate":70,"status":"NORMAL"}' \
		'{"customer_id":"C1","timestamp":"2026-11-23T10:00:09.500Z","heart_rate":72,"status":"NORMAL"}' \
		'{"customer_id":"C3","timestamp":"2026-11-23T10:00:03.000Z","heart_rate":71,"status":"NORMAL"}' |
		hbpgload -q
	assert_eq "$(q "SELECT (state->>'customer_id') || ' ' || coalesce(to_char(last_ts AT TIME ZONE 'UTC', 'HH24:MI:SS.MS'), 'none')
	                FROM hb_alert_state_load('t', 1) ORDER BY 1")" "C1 10:00:09.500
C2 none"
	assert_eq "$(q "SELECT count(*) FROM hb_alert_state_load(NULL, NULL)")" 4
	assert_eq "$(q "SELECT count(*) FROM hb_alert_state_load('t', 2) WHERE last_ts = '2026-11-23T10:00:03Z'")" 1
	assert_eq "$(q "SELECT count(*) FROM hb_alert_state_load('nope', 1)")" 0
}

# a stream as hbclassify --store and hbkafka-sub --marks would make it
mixed() {
	cat <<EOF2
{"_hb_mark":"assigned","topic":"t","partition":0}
{"customer_id":"C1","timestamp":"2026-11-23T10:00:00.000Z","heart_rate":190,"status":"TACHYCARDIA"}
{"customer_id":"C1","timestamp":"2026-11-23T10:00:00.500Z","heart_rate":195,"status":"TACHYCARDIA"}
{"customer_id":"C1","timestamp":"2026-11-23T10:00:01.000Z","heart_rate":203,"status":"TACHYCARDIA"}
{"_hb_alert":$(open_ev C1 $T0)}
{"_hb_state":{"customer_id":"C1","topic":"t","partition":0,"offset":3,"ts":"2026-11-23T10:00:01.000Z","run":3}}
{"customer_id":"C1","timestamp":"2026-11-23T10:00:01.500Z","heart_rate":80,"status":"NORMAL"}
{"_hb_alert":$(close_ev C1 $T0 2026-11-23T10:00:01.000Z)}
{"_hb_state":{"customer_id":"C1","topic":"t","partition":0,"offset":4,"ts":"2026-11-23T10:00:01.500Z","run":0}}
{"_hb_mark":"caught_up","topic":"t","partition":0,"at":"2026-12-01T00:00:00.000Z"}
{"customer_id":"C2","timestamp":"2026-11-23T10:00:02.000Z","heart_rate":75,"status":"NORMAL"}
{"_hb_alert":$(open_ev C2 2026-11-23T10:00:02.000Z SILENCE)}
EOF2
}

@test "hbpgload: readings, alerts, states and marks each go where they belong, counted" {
	mixed >"$BATS_TEST_TMPDIR/in.ndjson"
	run hbpgload "$BATS_TEST_TMPDIR/in.ndjson"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rows_in=5 stored=5 "*" malformed=0 alerts=3 alerts_applied=3 states=2 marks=2 "* ]]
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" 2
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_anomalies')" 3
	assert_eq "$(rows)" "TACHYCARDIA C1 10:00:00.000 10:00:01.000 207 26
SILENCE C2 10:00:02.000 open 203 3"
	assert_eq "$(q "SELECT koffset || ' ' || (state->>'run') FROM hb_alert_state")" "4 0"
	assert_eq "$(q "SELECT alerts_in || ' ' || states_in || ' ' || marks_in || ' ' || rows_in FROM pipeline_metrics WHERE kind = 'final'")" "3 2 2 5"
	# nothing about them in the audit trail
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE raw LIKE '%_hb_%'")" 0
	# loaded again: stored once, and the counts say so
	run hbpgload "$BATS_TEST_TMPDIR/in.ndjson"
	[ "$status" -eq 0 ]
	[[ "$output" == *"duplicates=5 "*" alerts=3 alerts_applied=0 states=2 marks=2 "* ]]
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_alerts')" 2
}

@test "hbpgload: the same stream in batches of one row gives the same alerts" {
	mixed | hbpgload -q --batch-rows 1
	assert_eq "$(rows)" "TACHYCARDIA C1 10:00:00.000 10:00:01.000 207 26
SILENCE C2 10:00:02.000 open 203 3"
	assert_eq "$(q "SELECT koffset FROM hb_alert_state")" 4
}

@test "hbpgload: an _hb_alert line that is not sound is stored as INVALID with the reason" {
	printf '%s\n' '{"_hb_alert":{"alert":"TACHYCARDIA","state":"open","customer_id":"C1"}}' \
		'{"_hb_alert":{"alert":"TACHYCARDIA","state":"close","customer_id":"C1","start":"2026-11-23T10:00:00Z"}}' \
		'{"_hb_alert":[1,2]}' '{"_hb_alert": broken' '{"_hb_state":{"topic":"t"}}' >"$BATS_TEST_TMPDIR/bad"
	run hbpgload "$BATS_TEST_TMPDIR/bad"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rows_in=5 stored=5 "*" invalid=5 malformed=5 alerts=0 alerts_applied=0 states=0 "* ]]
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_alerts')" 0
	assert_eq "$(q "SELECT reason FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID' ORDER BY id")" \
		'_hb_alert: "start" missing or not an RFC 3339 time
_hb_alert: "end" missing or not an RFC 3339 time (a close needs one)
_hb_alert: the value must be a JSON object
_hb_alert: not valid JSON at column 15: unexpected character
_hb_state: "customer_id" missing or invalid'
	assert_eq "$(q "SELECT raw FROM heartbeat_anomalies WHERE reason LIKE '%value must be%'")" '{"_hb_alert":[1,2]}'
	# --strict stops at it: exit 65, the line still stored
	run hbpgload --strict "$BATS_TEST_TMPDIR/bad"
	[ "$status" -eq 65 ]
}

@test "hbpgload: a state line cut by a stage that died, in a stream from Kafka, is torn: not stored; without Kafka, INVALID" {
	r1='{"_kafka":{"p":0,"o":1},"customer_id":"C7","timestamp":"2026-11-23T10:00:00.000Z","heart_rate":70,"status":"NORMAL"}'
	r2='{"_kafka":{"p":0,"o":2},"customer_id":"C7","timestamp":"2026-11-23T10:00:00.500Z","heart_rate":71,"status":"NORMAL"}'
	cut='{"_hb_state":{"customer_id":"C7","topic":"t","partition":0,"off'
	printf '%s\n%s\n%s' "$r1" "$r2" "$cut" >"$BATS_TEST_TMPDIR/kafka"
	run hbpgload -t t "$BATS_TEST_TMPDIR/kafka"
	[ "$status" -eq 0 ]
	[[ "$output" == *"line 3: a torn last line"* ]]
	[[ "$output" == *"rows_in=2 stored=2 "* ]]
	assert_eq "$(q "SELECT count(*) FROM heartbeat_records WHERE customer_id = 'C7'")" 2
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE raw LIKE '%C7%'")" 0
	# the same fragment after lines without coordinates: nothing comes again, so it is stored
	printf '%s\n%s' '{"customer_id":"C8","timestamp":"2026-11-23T10:00:00.000Z","heart_rate":70,"status":"NORMAL"}' \
		"${cut/C7/C8}" >"$BATS_TEST_TMPDIR/file"
	run hbpgload "$BATS_TEST_TMPDIR/file"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rows_in=2 stored=2 "*" invalid=1 "* ]]
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID' AND raw LIKE '%C8%'")" 1
}

@test "hbpgload: a batch of alert lines alone is stored by the batch timer" {
	mkfifo "$BATS_TEST_TMPDIR/in"
	hbpgload -q --batch-ms 50 "$BATS_TEST_TMPDIR/in" 3>&- &
	loader=$!
	exec 4>"$BATS_TEST_TMPDIR/in"
	printf '{"_hb_alert":%s}\n' "$(open_ev C5 $T0 SILENCE)" >&4
	wait_for 10 count_is vw_open_alerts 1
	# still running, input still open: the timer stored it
	kill -0 "$loader"
	printf '{"_hb_alert":%s}\n{"_hb_state":{"customer_id":"C5","topic":null,"partition":null,"offset":null}}\n' \
		"$(close_ev C5 $T0 2026-11-23T10:00:42.000Z SILENCE)" >&4
	wait_for 10 count_is hb_alert_state 1
	assert_eq "$(q 'SELECT count(*) FROM vw_open_alerts')" 0
	exec 4>&-
	wait "$loader"
}

@test "the loader role may not UPDATE or DELETE alerts, yet hbpgload as that role stores and closes them" {
	for sql in "UPDATE heartbeat_alerts SET end_ts = now()" 'DELETE FROM heartbeat_alerts' \
		'SELECT count(*) FROM heartbeat_alerts' "DELETE FROM hb_alert_state" \
		"INSERT INTO heartbeat_alerts (alert, customer_id, start_ts) VALUES ('X', 'C', now())"; do
		run env PGUSER="$LOADER" psql -X -qAt -v ON_ERROR_STOP=1 -c "$sql"
		[ "$status" -ne 0 ]
		[[ "$output" == *"permission denied"* ]]
	done
	mixed | PGUSER=$LOADER hbpgload -q
	assert_eq "$(rows)" "TACHYCARDIA C1 10:00:00.000 10:00:01.000 207 26
SILENCE C2 10:00:02.000 open 203 3"
	assert_eq "$(q 'SELECT count(*) FROM hb_alert_state')" 1
	# the functions are the loader's (and the owner's) alone
	run env PGUSER="$READER" psql -X -qAt -v ON_ERROR_STOP=1 -c "SELECT hb_alerts_apply('[]')"
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied"* ]]
	assert_eq "$(PGUSER=$LOADER q "SELECT count(*) FROM hb_alert_state_load(NULL, NULL)")" 1
}

@test "the reader role reads the alert views and tables, and cannot write them" {
	apply "[$(open_ev C1 $T0),$(close_ev C1 $T0 2026-11-23T10:00:12.500Z),$(open_ev C2 $T0 BRADYCARDIA)]"
	assert_eq "$(PGUSER=$READER q "SELECT alert || ' ' || customer_id || ' ' || peak_bpm || ' ' || (age > interval '1 second') FROM vw_open_alerts")" \
		"BRADYCARDIA C2 203 true"
	assert_eq "$(PGUSER=$READER q "SELECT sum(opened) || ' ' || sum(closed) FROM vw_alerts_daily")" "2 1"
	assert_eq "$(PGUSER=$READER q 'SELECT count(*) FROM heartbeat_alerts')" 2
	PGUSER=$READER q 'SELECT count(*) FROM hb_alert_state' >/dev/null
	run env PGUSER="$READER" psql -X -qAt -v ON_ERROR_STOP=1 -c 'DELETE FROM heartbeat_alerts'
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied"* ]]
}

@test "hb-watch: the open alerts by type in its line; --alerts lists them; --raw counts them" {
	apply "[$(open_ev C1 $T0),$(open_ev C2 $T0 SILENCE),$(open_ev C3 2026-11-23T10:00:05.000Z),$(open_ev C4 $T0 BRADYCARDIA),$(close_ev C4 $T0 2026-11-23T10:00:09.000Z BRADYCARDIA)]"
	run env PGUSER="$READER" "$HB_REPO/scripts/hb-watch" --alerts
	[ "$status" -eq 0 ]
	assert_eq "$(awk '{ print $1, $2, $3, $5 }' <<<"$output")" "TYPE CUSTOMER SINCE PEAK
TACHYCARDIA C1 2026-11-23T10:00:00.000Z 203
SILENCE C2 2026-11-23T10:00:00.000Z 203
TACHYCARDIA C3 2026-11-23T10:00:05.000Z 203"
	[[ "$(sed -n 2p <<<"$output")" =~ \ [0-9]+d[0-9]{2}h[0-9]{2}m\  ]]
	run env PGUSER="$READER" "$HB_REPO/scripts/hb-watch" --interval 0.1 --count 1
	[ "$status" -eq 0 ]
	[[ "$output" == *"  lag 0  alerts open 3 (TACHYCARDIA 2, SILENCE 1)" ]]
	assert_eq "$(PGUSER=$READER "$HB_REPO/scripts/hb-watch" --raw | cut -d ' ' -f 10)" 3
}

@test "hb-report: the alerts open now and those of the range per day and type" {
	apply "[$(open_ev C1 $T0),$(close_ev C1 $T0 2026-11-23T10:00:12.500Z),$(open_ev C2 $T0 SILENCE),$(open_ev C3 2026-11-24T09:00:00.000Z)]"
	PGUSER=$READER "$HB_REPO/scripts/hb-report" --from 2026-11-23T00:00:00Z --to 2026-11-24T00:00:00Z --out "$BATS_TEST_TMPDIR/r"
	s=$BATS_TEST_TMPDIR/r/summary.txt
	assert_eq "$(sed -n '/^Alerts open now$/,/^$/p' "$s" | awk 'NR > 2 && NF { print $1, $2, $3, $4, $6 }')" \
		"SILENCE C2 2026-11-23 10:00:00 203
TACHYCARDIA C3 2026-11-24 09:00:00 203"
	assert_eq "$(sed -n '/^Alerts started in this range/,/^$/p' "$s" | awk 'NR > 2 && NF { print $1, $2, $3, $4, $5 }')" \
		"2026-11-23 SILENCE 1 0 0.0
2026-11-23 TACHYCARDIA 1 1 12.5"
	grep -q '<h2>Alerts open now</h2>' "$BATS_TEST_TMPDIR/r/index.html"
	grep -q '<td>C2</td>' "$BATS_TEST_TMPDIR/r/index.html"
}
