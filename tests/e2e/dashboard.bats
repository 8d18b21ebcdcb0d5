#!/usr/bin/env bats
# dashboard.bats — hb-report's page as a live dashboard, in a real browser:
# headless Chromium (tests/e2e/browser.py, over the DevTools protocol) loads
# index.html from file:// and from a static web server, as a reader-role
# login wrote it, with a loader running; the page must have no console
# errors, and every chart must be drawn from data and every table filled.

load helpers

bats_require_minimum_version 1.5.0

BROWSER="$HB_REPO/tests/e2e/browser.py"

setup_file() {
	if ! command -v chromium >/dev/null; then
		# CI installs it (scripts/hb-deps ci): there, its absence is a failure
		[[ ${CI:-} != true ]] || { echo "chromium is missing" >&2; return 1; }
		skip "chromium is missing (scripts/hb-deps test installs it)"
	fi
	hb_newdb
	# six minutes of 25 customers, then 100 s in which five of them say
	# nothing: their SILENCE alerts open and stay open; with anomaly
	# episodes and invalid readings, stored with their alerts
	local t0 t1
	t0=$(date -u -d '-7 min' +%FT%TZ)
	t1=$(date -u -d "$t0 + 240 seconds" +%FT%TZ)
	{
		hbsim -q -n 25 --seed 3 --start "$t0" --count 9600 --rate 0 --anomaly-rate 0.08 --invalid-rate 0.01
		hbsim -q -n 20 --seed 4 --start "$t1" --count 4000 --rate 0 --anomaly-rate 0.08
	} | hbclassify -qq --store | hbpgload -q
	export READER="hbt_dash_reader_$$"
	psql -X -q -c "CREATE ROLE $READER LOGIN IN ROLE hbmon_reader"
	export DB="user=$READER dbname=$PGDATABASE"
	# a loader at work now, for the page's "pipeline now"
	(hbsim -q -n 20 --rate 40 | hbclassify -qq | hbpgload -q -i "dash-live-$$") 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/live.pid"
	wait_for 20 live_loader
}

teardown_file() {
	if [[ -f $BATS_FILE_TMPDIR/live.pid ]]; then
		pkill -TERM -P "$(cat "$BATS_FILE_TMPDIR/live.pid")" -x hbsim 2>/dev/null || true
		wait_for 20 test ! -e "/proc/$(cat "$BATS_FILE_TMPDIR/live.pid")" || true
	fi
	hb_dropdb
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $READER" || true
}

# the live loader has written two snapshots with rows (a rate needs two)
live_loader() {
	[[ $(q "SELECT count(*) FROM pipeline_metrics WHERE instance = 'dash-live-$$' AND rows_stored > 0") -ge 2 ]]
}

# browser.py's report of a page, into $BATS_TEST_TMPDIR/page.json
load_page() {
	python3 "$BROWSER" "$@" >"$BATS_TEST_TMPDIR/page.json"
}

# a value from that report
pj() {
	jq -r "$@" "$BATS_TEST_TMPDIR/page.json"
}

# Serve directory $1 on a free loopback port: sets $server (its pid) and $url.
serve() {
	python3 - "$1" >"$BATS_TEST_TMPDIR/port" 2>/dev/null <<'PY' 3>&- &
import functools, http.server, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
s = http.server.HTTPServer(("127.0.0.1", 0), h)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
	server=$!
	wait_for 10 test -s "$BATS_TEST_TMPDIR/port"
	url="http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/"
}

# A chart with data has more than 3 % of its pixels drawn; one that says
# "no data" (a title, a label) about 2 % at most (measured: 8-49 % and
# 1.3-2.2 % on docs/report-sample and an empty range).
INK=0.03

@test "the dashboard in Chromium from file://: no console errors, every chart drawn from data, every table filled" {
	out=$BATS_TEST_TMPDIR/dash
	run --separate-stderr hb-report -d "$DB" --last 15m --refresh 5 --out "$out"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	load_page "file://$out/index.html" --screenshot "$BATS_TEST_TMPDIR/shot.png"
	assert_eq "$(pj '.errors | length')" 0
	# the five charts, each loaded and drawn from data
	assert_eq "$(pj '[.figures[].id] | sort | join(" ")')" "chart-anomalies chart-customers chart-distribution chart-fleet chart-status"
	assert_eq "$(pj '[.figures[] | select(.loaded and .width == 900 and .height == 400)] | length')" 5
	assert_eq "$(pj '[.figures[] | select(.nodata)] | length')" 0
	# the tables, none empty
	for t in open-alerts silent latest-readings latest-anomalies status-counts range-facts top-customers charted-customers alerts-daily loaders; do
		rows=$(jq -r --arg t "$t" '.tables[] | select(.id == $t) | .rows' "$BATS_TEST_TMPDIR/page.json")
		echo "$t: ${rows:-missing}"
		[ "${rows:-0}" -gt 0 ]
	done
	assert_eq "$(pj '.tables[] | select(.id == "latest-readings") | .rows')" 20
	assert_eq "$(pj '.tables[] | select(.id == "latest-anomalies") | .rows')" 20
	# the anomalies of the last 5 minutes, as the rollups count them, from
	# the minute the page's window began (it was written at "written")
	written=$(sed -n 's/.*var written = \([0-9]*\).*/\1/p' "$out/index.html")
	want=$(q "SELECT sum(readings) FROM hb_rollup_minute WHERE status <> 'NORMAL'
	          AND minute >= date_bin('1 minute', to_timestamp($written) - interval '5 minutes', timestamptz '2000-01-01 00:00Z')")
	got=$(pj '.tiles[] | select(.id == "t-anom5") | .value')
	echo "anomalies in 5 min: page $got, database now $want"
	[ "$got" -gt 0 ]
	# (the live loader may have stored some since the page was written)
	[ "$got" -le "$want" ]
	# five customers are silent
	assert_eq "$(pj '.tables[] | select(.id == "silent") | .rows')" 5
	assert_eq "$(pj '.tiles[] | select(.id == "t-silent") | .value')" 5
	# the pipeline now: the live loader, its rate (40/s, from its snapshots)
	assert_eq "$(pj '.tiles[] | select(.id == "t-loaders") | .value')" 1
	rate=$(pj '.tiles[] | select(.id == "t-stored") | .value')
	echo "stored/s: $rate"
	[ "$rate" -ge 30 ]
	[ "$rate" -le 50 ]
	# it reloads itself and is not stale
	assert_eq "$(pj .refresh)" 5
	assert_eq "$(pj .stale)" false
	# the screenshot: a PNG 1400 px wide and taller than a screen
	[ "$(od -An -tx1 -N8 "$BATS_TEST_TMPDIR/shot.png" | tr -d ' \n')" = 89504e470d0a1a0a ]
	size=$(python3 -c 'import struct, sys; d = open(sys.argv[1], "rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$BATS_TEST_TMPDIR/shot.png")
	echo "screenshot $size"
	[ "${size%x*}" -eq 1400 ]
	[ "${size#*x}" -gt 1500 ]
}

@test "the same directory from a static web server: the page loads, and every chart has something drawn on it" {
	out=$BATS_TEST_TMPDIR/dash
	hb-report -d "$DB" --last 15m --out "$out"
	serve "$out"
	run load_page "$url"
	kill "$server"
	[ "$status" -eq 0 ]
	assert_eq "$(pj '.errors | length')" 0
	assert_eq "$(pj '[.figures[] | select(.loaded)] | length')" 5
	assert_eq "$(pj .refresh)" null
	# over HTTP the page may read its charts' pixels: each has a plot on it
	pj '.figures[] | "\(.id) \(.ink)"'
	assert_eq "$(pj --argjson k "$INK" '[.figures[] | select(.ink > $k)] | length')" 5
}

@test "--watch rewrites the page until SIGTERM, then exits 0 leaving whole files" {
	out=$BATS_TEST_TMPDIR/live
	hb-report -d "$DB" --last 15m --watch 2 --out "$out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	pid=$!
	wait_for 30 test -s "$out/index.html"
	first=$(grep -o 'written [^<]*' "$out/index.html")
	wait_for 30 eval '[[ $(grep -o "written [^<]*" "$out/index.html") != "$first" ]]'
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_eq "$rc" 0
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	grep -q '<meta http-equiv="refresh" content="2">' "$out/index.html"
	grep -q '</html>' "$out/index.html"
	# no scratch directory left behind
	assert_eq "$(find "$out" -name '.hb-report.*' | wc -l)" 0
	load_page "file://$out/index.html"
	assert_eq "$(pj '.errors | length')" 0
	assert_eq "$(pj '[.figures[] | select(.loaded)] | length')" 5
}

@test "a page no longer rewritten says it is stale" {
	out=$BATS_TEST_TMPDIR/dash
	hb-report -d "$DB" --last 15m --refresh 5 --out "$out"
	# as if written ten minutes ago
	sed -i 's/var written = \([0-9]*\)/var written = \1 - 600/' "$out/index.html"
	grep -q 'var written = [0-9]* - 600' "$out/index.html"
	load_page "file://$out/index.html"
	assert_eq "$(pj .stale)" true
	assert_eq "$(pj '.errors | length')" 0
}

@test "an empty range: every chart says no data, the page still loads cleanly" {
	out=$BATS_TEST_TMPDIR/empty
	hb-report -d "$DB" --from 2020-01-01T00:00:00Z --to 2020-01-01T01:00:00Z --out "$out"
	serve "$out"
	run load_page "$url"
	kill "$server"
	[ "$status" -eq 0 ]
	assert_eq "$(pj '.errors | length')" 0
	assert_eq "$(pj '[.figures[] | select(.loaded and .nodata)] | length')" 5
	# and they are nearly blank: what the check above tells a plot from
	pj '.figures[] | "\(.id) \(.ink)"'
	assert_eq "$(pj --argjson k "$INK" '[.figures[] | select(.ink < $k)] | length')" 5
	assert_eq "$(pj '.tables[] | select(.id == "status-counts") | .rows')" 5
}

@test "--watch and --refresh refuse what they cannot do" {
	run hb-report -d "$DB" --watch 1 --out "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 2 ]
	[[ $output == *"--watch wants whole seconds, 2..86400"* ]]
	run hb-report -d "$DB" --watch 5 --from 2026-01-01 --out "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 2 ]
	[[ $output == *"use --last"* ]]
	run hb-report -d "$DB" --refresh soon --out "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 2 ]
	run hb-report -d "$DB" --latest 500 --out "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 2 ]
	# a usage error that PostgreSQL finds, in the first round: 2
	run hb-report -d "$DB" --watch 2 --tz Nowhere/Land --out "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 2 ]
	[[ $output == *"bad range, bucket or time zone"* ]]
	# a first round that fails ends --watch with 1
	run hb-report -d "user=$READER dbname=no_such_db_$$" --watch 2 --out "$BATS_TEST_TMPDIR/x"
	[ "$status" -eq 1 ]
	[[ $output == *"cannot connect to the database"* ]]
}
