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

@test "make demo on a terminal: the dashboard's path, then Ctrl-C ends it cleanly with the run's latency" {
	hb_newtopic
	hb_empty_tables
	# make demo on a pseudo-terminal, as a person runs it; Ctrl-C (the
	# terminal's ^C, to the whole foreground process group, make included)
	# once the first reading is stored
	HB_DEMO_DB="dbname=$PGDATABASE" HB_DEMO_RATE=100 HB_DEMO_STATE="$BATS_TEST_TMPDIR/demo" \
		python3 - "$HB_REPO" >"$BATS_TEST_TMPDIR/tty.out" 3>&- <<'PY'
import os, pty, re, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp("make", ["make", "-C", sys.argv[1], "--no-print-directory", "demo"])
out, t0, sent, seen = b"", time.time(), None, {}
while True:
    now = time.time() - t0
    if sent is None and ("stored" in seen or now > 90):
        os.write(fd, b"\x03")
        sent = now
    if sent is not None and now - sent > 120:
        os.kill(pid, 9)
    r, _, _ = select.select([fd], [], [], 0.2)
    if not r:
        continue
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
    text = out.decode(errors="replace")
    if "dashboard" not in seen and "dashboard: file://" in text:
        seen["dashboard"] = now
    if "stored" not in seen and re.search(r"normal +[1-9]", text):
        seen["stored"] = now
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print("\n# dashboard path at %.1f s, first reading stored by %.1f s, Ctrl-C at %.1f s; make: %s" % (
    seen.get("dashboard", -1), seen.get("stored", -1), sent or -1,
    "exit %d" % os.WEXITSTATUS(st) if os.WIFEXITED(st) else "signal %d" % os.WTERMSIG(st)))
PY
	tr -d '\r' <"$BATS_TEST_TMPDIR/tty.out" >"$BATS_TEST_TMPDIR/tty.txt"
	tail -n 1 "$BATS_TEST_TMPDIR/tty.txt" >&3
	# the path of the dashboard, and that page written
	grep -q "hb-demo: dashboard: file://$BATS_TEST_TMPDIR/demo/dashboard/index.html" "$BATS_TEST_TMPDIR/tty.txt"
	grep -q '</html>' "$BATS_TEST_TMPDIR/demo/dashboard/index.html"
	# readings were stored before the Ctrl-C
	grep -q 'first reading stored by [0-9]' "$BATS_TEST_TMPDIR/tty.txt"
	# a clean end: the summary and the run's own figures, no make error, no pager
	grep -q 'readings_stored' "$BATS_TEST_TMPDIR/tty.txt"
	run grep -E '^this run: [1-9][0-9]* readings stored by 1 loader\(s\); latency, reading time to commit, per 2 s: median p50 [1-9][0-9]* ms, median p99 [1-9][0-9]* ms' "$BATS_TEST_TMPDIR/tty.txt"
	[ "$status" -eq 0 ]
	run grep -E '\*\*\*|Interrupt|\(END\)' "$BATS_TEST_TMPDIR/tty.txt"
	[ "$status" -eq 1 ]
	# make ends as a Ctrl-C'd make does, by the signal, having said nothing
	grep -q '; make: signal 2$' "$BATS_TEST_TMPDIR/tty.txt"
	# everything read was stored, and committed
	assert_eq "$(hbkafka-sub -e -q | wc -l | tr -d ' ')" 0
}
