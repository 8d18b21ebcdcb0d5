#!/usr/bin/env bats
# alerts.bats — hbclassify --alerts: open and close events per anomaly
# episode (checked against the readings with jq and against the rows in
# PostgreSQL), and hb-notify turning them into webhook calls.

load helpers

setup_file() {
	hb_newdb
	hbsim --seed 21 --start 2026-11-23T06:00:00Z --count 60000 --rate 0 --invalid-rate 0.002 -q >"$BATS_FILE_TMPDIR/r.ndjson"
}

teardown_file() {
	hb_dropdb
}

teardown() {
	[[ -z ${server:-} ]] || kill "$server" 2>/dev/null || true
}

# Each event checked against the classified readings, independently (jq):
# an open's readings from start to at are all past the threshold, as many
# as it says, at least 3; a close "ended_by NORMAL" has 3 readings after its
# end, all NORMAL and inside the threshold by the 5 bpm margin.  Prints the
# events that fail.
jq_check() {
	jq -n -c --slurpfile ev "$1" --slurpfile r "$2" '
		($r | map(select(.status != "INVALID")) | group_by(.customer_id)
		    | map({key: .[0].customer_id, value: .}) | from_entries) as $by
		| $ev[] | select(.alert == "BRADYCARDIA" or .alert == "TACHYCARDIA") | . as $e
		| ($by[$e.customer_id]) as $rs
		| if $e.state == "open" then
			($rs | map(select(.timestamp >= $e.start and .timestamp <= $e.at))) as $w
			| select(($w | length) != $e.readings or ($w | map(.status) | unique) != [$e.alert] or $e.readings < 3)
		  elif $e.ended_by == "NORMAL" then
			($rs | map(select(.timestamp > $e.end and .timestamp <= $e.at))) as $w
			| select(($w | length) < 3 or ($w | map(.status) | unique) != ["NORMAL"]
				or ($w[-3:] | map(select(if $e.alert == "TACHYCARDIA" then .heart_rate > 175 else .heart_rate < 45 end)) | length) > 0)
		  else empty end'
}

@test "every alert event agrees with the readings it is about (checked with jq)" {
	hbclassify --alerts "$BATS_TEST_TMPDIR/alerts.ndjson" "$BATS_FILE_TMPDIR/r.ndjson" >"$BATS_TEST_TMPDIR/c.ndjson" 2>"$BATS_TEST_TMPDIR/err"
	opens=$(grep -c '"state":"open"' "$BATS_TEST_TMPDIR/alerts.ndjson")
	[ "$opens" -gt 20 ]
	run jq_check "$BATS_TEST_TMPDIR/alerts.ndjson" "$BATS_TEST_TMPDIR/c.ndjson"
	assert_eq "$output" ""
	# far fewer alerts than anomalous readings
	anomalous=$(grep -c '"status":"\(BRADY\|TACHY\)CARDIA"' "$BATS_TEST_TMPDIR/c.ndjson")
	[ "$opens" -lt $((anomalous / 10)) ]
	# no WARNING line per reading once --alerts is given, one per event; the summary counts them
	run grep -c 'WARNING TACHYCARDIA' "$BATS_TEST_TMPDIR/err"
	assert_eq "$output" 0
	assert_eq "$(grep -c 'WARNING alert {' "$BATS_TEST_TMPDIR/err")" "$(wc -l <"$BATS_TEST_TMPDIR/alerts.ndjson")"
	grep -q "alerts=$(wc -l <"$BATS_TEST_TMPDIR/alerts.ndjson")" "$BATS_TEST_TMPDIR/err"
	# well formed: start <= peak_at <= end <= at on closes
	assert_eq "$(jq -c 'select(.state == "close" and (.start > .peak_at or .peak_at > .end or .end > .at or (.ended_by | IN("NORMAL","BRADYCARDIA","TACHYCARDIA","gap") | not)))' "$BATS_TEST_TMPDIR/alerts.ndjson" | wc -l)" 0
}

@test "a replay gives the same alerts, byte for byte" {
	hbclassify -qq --alerts "$BATS_TEST_TMPDIR/a1" "$BATS_FILE_TMPDIR/r.ndjson" >/dev/null
	hbclassify -qq --alerts "$BATS_TEST_TMPDIR/a2" <"$BATS_FILE_TMPDIR/r.ndjson" >/dev/null
	cmp "$BATS_TEST_TMPDIR/a1" "$BATS_TEST_TMPDIR/a2"
	[ -s "$BATS_TEST_TMPDIR/a1" ]
}

@test "closed alerts agree with the anomalies stored in PostgreSQL" {
	hb_empty_tables
	hbclassify -qq --alerts "$BATS_TEST_TMPDIR/alerts.ndjson" "$BATS_FILE_TMPDIR/r.ndjson" | hbpgload -q
	jq -r 'select(.state == "close") | [.alert, .customer_id, .start, .end, .readings, .peak_bpm] | @tsv' "$BATS_TEST_TMPDIR/alerts.ndjson" >"$BATS_TEST_TMPDIR/a.tsv"
	psql -X -qAt -v ON_ERROR_STOP=1 >"$BATS_TEST_TMPDIR/mismatch" <<SQL
CREATE TEMP TABLE a (alert text, customer_id text, s timestamptz, e timestamptz, n int, peak int);
\\copy a FROM '$BATS_TEST_TMPDIR/a.tsv'
SELECT count(*) FROM a;
SELECT count(*) FROM a, LATERAL (
  SELECT count(*)::int AS n, CASE WHEN a.alert = 'BRADYCARDIA' THEN min(heart_rate) ELSE max(heart_rate) END AS peak
  FROM heartbeat_anomalies h WHERE h.customer_id = a.customer_id AND h.anomaly_type = a.alert
    AND h.ts BETWEEN a.s AND a.e) db
WHERE (a.n, a.peak) IS DISTINCT FROM (db.n, db.peak);
SQL
	[ "$(head -n 1 "$BATS_TEST_TMPDIR/mismatch")" -gt 20 ]
	assert_eq "$(tail -n 1 "$BATS_TEST_TMPDIR/mismatch")" 0
}

@test "--alerts into a FIFO, hb-notify posts each alert to a webhook" {
	python3 - "$BATS_TEST_TMPDIR/posts" >"$BATS_TEST_TMPDIR/port" <<'PY' 3>&- &
import http.server, sys, os
out = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(out, "ab") as f:
            f.write(body.rstrip(b"\n") + b"\n")
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
	server=$!
	wait_for 10 test -s "$BATS_TEST_TMPDIR/port"
	mkfifo "$BATS_TEST_TMPDIR/alerts.fifo"
	hb-notify --webhook "http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/hook" "$BATS_TEST_TMPDIR/alerts.fifo" \
		2>"$BATS_TEST_TMPDIR/notify.err" &
	notifier=$!
	head -n 20000 "$BATS_FILE_TMPDIR/r.ndjson" | hbclassify -qq --alerts "$BATS_TEST_TMPDIR/alerts.fifo" >/dev/null
	wait "$notifier"
	head -n 20000 "$BATS_FILE_TMPDIR/r.ndjson" | hbclassify -qq --alerts "$BATS_TEST_TMPDIR/want.ndjson" >/dev/null
	[ -s "$BATS_TEST_TMPDIR/want.ndjson" ]
	diff <(jq -c . "$BATS_TEST_TMPDIR/want.ndjson") <(jq -c . "$BATS_TEST_TMPDIR/posts")
}

@test "hb-notify: a webhook that is down and lines that are not alerts fail loudly, exit 1" {
	printf '%s\n' '{"alert":"TACHYCARDIA","customer_id":"c1","start":"2026-11-23T00:00:00Z","end":"2026-11-23T00:00:10Z","duration_s":10,"peak_bpm":200,"peak_at":"2026-11-23T00:00:05Z","readings":3,"ended_by":"NORMAL"}' >"$BATS_TEST_TMPDIR/one"
	run hb-notify --webhook "http://127.0.0.1:9/nothing" "$BATS_TEST_TMPDIR/one"
	[ "$status" -eq 1 ]
	[[ "$output" == *"webhook failed for: CLOSED TACHYCARDIA for c1"* ]]
	run hb-notify < <(printf 'garbage\n{}\n')
	[ "$status" -eq 1 ]
	[[ "$output" == *"not JSON, skipped: garbage"* ]]
	[[ "$output" == *"not an alert, skipped: {}"* ]]
	run hb-notify --min-seconds 11 "$BATS_TEST_TMPDIR/one"
	[ "$status" -eq 0 ]
	assert_eq "$output" ""
	run hb-notify --bogus
	[ "$status" -eq 2 ]
	run hbclassify --alert-gap 0 </dev/null
	[ "$status" -eq 2 ]
}

@test "--open-after 1: the first reading past the threshold opens, and the reason says one reading" {
	printf '%s\n' '{"customer_id":"C","timestamp":"2026-11-23T10:00:00Z","heart_rate":70}' \
		'{"customer_id":"C","timestamp":"2026-11-23T10:00:01Z","heart_rate":30}' >"$BATS_TEST_TMPDIR/in"
	hbclassify -qq --open-after 1 --alerts "$BATS_TEST_TMPDIR/ev" "$BATS_TEST_TMPDIR/in" >/dev/null
	assert_eq "$(jq -r 'select(.state == "open") | .reason' "$BATS_TEST_TMPDIR/ev")" "1 reading below 40 bpm"
}

@test "hb-notify: open and close events, --min-seconds for closes only, --opens-only, old lines" {
	cat >"$BATS_TEST_TMPDIR/ev" <<'EOF'
{"alert":"TACHYCARDIA","state":"open","customer_id":"C","start":"2026-11-23T10:00:00.000Z","at":"2026-11-23T10:00:01.000Z","readings":3,"peak_bpm":203,"peak_at":"2026-11-23T10:00:01.000Z","reason":"3 readings above 180 bpm"}
{"alert":"SILENCE","state":"open","customer_id":"D","start":"2026-11-23T10:00:00.000Z","at":"2026-11-23T10:00:10.000Z","silent_s":10.000,"reason":"no reading for 10 s"}
{"alert":"TACHYCARDIA","state":"close","customer_id":"C","start":"2026-11-23T10:00:00.000Z","end":"2026-11-23T10:00:12.500Z","at":"2026-11-23T10:00:13.000Z","duration_s":12.500,"readings":26,"peak_bpm":203,"peak_at":"2026-11-23T10:00:01.000Z","ended_by":"NORMAL"}
{"alert":"SILENCE","state":"close","customer_id":"D","start":"2026-11-23T10:00:00.000Z","end":"2026-11-23T10:00:42.000Z","at":"2026-11-23T10:00:42.000Z","duration_s":42.000,"ended_by":"reading"}
{"alert":"BRADYCARDIA","customer_id":"E","start":"2026-11-23T10:00:00.000Z","end":"2026-11-23T10:00:05.000Z","duration_s":5.000,"peak_bpm":31,"peak_at":"2026-11-23T10:00:02.000Z","readings":11,"ended_by":"NORMAL"}
EOF
	run hb-notify "$BATS_TEST_TMPDIR/ev"
	[ "$status" -eq 0 ]
	assert_eq "$output" "OPEN TACHYCARDIA for C since 2026-11-23T10:00:00.000Z: 203 bpm, 3 readings above 180 bpm
OPEN SILENCE for D since 2026-11-23T10:00:00.000Z: no reading for 10 s
CLOSED TACHYCARDIA for C: 2026-11-23T10:00:00.000Z to 2026-11-23T10:00:12.500Z (12.5 s), peak 203 bpm, ended by NORMAL
CLOSED SILENCE for D: 2026-11-23T10:00:00.000Z to 2026-11-23T10:00:42.000Z (42 s), ended by reading
CLOSED BRADYCARDIA for E: 2026-11-23T10:00:00.000Z to 2026-11-23T10:00:05.000Z (5 s), peak 31 bpm, ended by NORMAL"
	# --min-seconds: closes shorter than that are skipped, opens still go out
	run hb-notify --min-seconds 13 "$BATS_TEST_TMPDIR/ev"
	[ "$status" -eq 0 ]
	assert_eq "$(grep -c '^OPEN ' <<<"$output")" 2
	assert_eq "$(grep '^CLOSED ' <<<"$output" | cut -d' ' -f2-4)" "SILENCE for D:"
	run hb-notify --opens-only "$BATS_TEST_TMPDIR/ev"
	[ "$status" -eq 0 ]
	assert_eq "$(cut -d' ' -f1-2 <<<"$output")" "OPEN TACHYCARDIA
OPEN SILENCE"
}
