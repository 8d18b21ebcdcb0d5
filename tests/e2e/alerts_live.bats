#!/usr/bin/env bats
# alerts_live.bats — alerts in the live pipeline (hb-pipeline: hbkafka-sub
# --marks | hbclassify --store | hbpgload, against a real broker and a real
# PostgreSQL): SILENCE of one customer and of all of them when the producer
# dies, and no false SILENCE when a rebalance moves partitions between two
# pipelines.  Stored opens per episode across kill -9 are checked in
# kafka_faults.bats.

load helpers

setup_file() {
	hb_newdb
}

teardown_file() {
	hb_dropdb
}

setup() {
	hb_empty_tables
	hb_newtopic
	export RUN="$BATS_TEST_TMPDIR/run"
	mkdir -p "$RUN"
	# short timeouts, so a dead consumer's partitions move within seconds
	export HB_KAFKA_OPTS="-X session.timeout.ms=6000 -X heartbeat.interval.ms=500"
	export HB_CLASSIFY_OPTS="--silence 3"
}

teardown() {
	if [[ -f $BATS_TEST_TMPDIR/workers ]]; then xargs kill -KILL <"$BATS_TEST_TMPDIR/workers" 2>/dev/null || true; fi
	[[ -z ${producer:-} ]] || kill "$producer" 2>/dev/null || true
	pkill -TERM -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
	sleep 0.5
	pkill -KILL -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# Customers c1..c$1 each send a reading every 0.5 s, stamped now; customer
# $2 (if any) stops after $3 seconds.  Runs until killed.
start_producer() {
	python3 -u - "$1" "${2:-}" "${3:-0}" <<'PY' 2>/dev/null | hbkafka-pub -q 3>&- &
import sys, time, datetime
n, quiet, after = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
t0 = time.time()
while True:
    for i in range(1, n + 1):
        c = "c%d" % i
        if c == quiet and time.time() - t0 > after:
            continue
        now = datetime.datetime.now(datetime.timezone.utc)
        print('{"customer_id":"%s","timestamp":"%s","heart_rate":%d}' % (c, now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000), 70 + i))
    time.sleep(0.5)
PY
	producer=$!
}

start_worker() {
	HB_RUN_DIR=$RUN "$HB_REPO/scripts/hb-pipeline" worker --id "$1" 3>&- &
	echo $! >>"$BATS_TEST_TMPDIR/workers"
}

silences() {
	q "SELECT count(*) FROM heartbeat_alerts WHERE alert = 'SILENCE' $1"
}

opened() {
	[[ $(silences "$1") -ge $2 ]]
}

# every customer has a reading stored in the last $1 seconds
all_fresh() {
	[[ $(q "SELECT count(DISTINCT customer_id) FROM heartbeat_records WHERE ts > now() - interval '$1 s'") -ge $2 ]]
}

@test "SILENCE of one customer while the others send, then of all when the producer dies" {
	start_worker 1
	start_producer 6 c3 4
	wait_for 60 all_fresh 2 5
	# c3 stopped after 4 s: its SILENCE (3 s) comes, nobody else's
	wait_for 30 opened "AND customer_id = 'c3'" 1
	run silences ""
	assert_eq "$output" 1
	run q "SELECT end_ts IS NULL, open_event->>'reason' FROM heartbeat_alerts"
	assert_eq "$output" "t|no reading for 3 s"
	# the producer dies: every customer goes silent, and the pipeline (at the
	# end of its partitions, with nothing more to read) says so
	kill "$producer"
	producer=
	wait_for 20 opened "" 6
	sleep 2
	run q "SELECT string_agg(customer_id, ' ' ORDER BY customer_id) FROM heartbeat_alerts WHERE alert = 'SILENCE' AND end_ts IS NULL"
	assert_eq "$output" "c1 c2 c3 c4 c5 c6"
	# declared within the threshold and a few seconds of each customer's last reading
	run q "SELECT count(*) FROM heartbeat_alerts a WHERE opened_at - start_ts > interval '3 s' + interval '3 s'"
	assert_eq "$output" 0
	# readings come back: each SILENCE closes
	start_producer 6
	wait_for 30 opened "AND end_ts IS NOT NULL" 6
}

@test "no false SILENCE when one of two pipelines dies and the other takes its partitions over" {
	start_worker 1
	start_worker 2
	start_producer 9
	wait_for 60 grep -qs 'assigned' "$RUN/worker.2.log"
	wait_for 60 all_fresh 2 9
	sleep 2
	# worker 2 and its whole pipeline die: its partitions go unread until the
	# group's session times out (6 s, twice the silence threshold)
	w2=$(sed -n 2p "$BATS_TEST_TMPDIR/workers")
	stages=$(pgrep -P "$(pgrep -P "$w2" | head -n 1)" | tr '\n' ' ')
	[ -n "$stages" ]
	kill -9 "$w2" $stages
	wait_for 60 grep -q 'assigned 3 partition' "$RUN/worker.1.log"
	wait_for 60 all_fresh 2 9
	sleep 5
	run silences ""
	assert_eq "$output" 0
	# the surviving pipeline loaded the state of the partitions it took over
	grep -q 'alert state of [1-9][0-9]* customer(s) loaded' "$RUN/worker.1.log"
}
