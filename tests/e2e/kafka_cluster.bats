#!/usr/bin/env bats
# kafka_cluster.bats — three brokers (replication factor 3, min.insync.replicas
# 2), brokers failing one after the other, long database outages, a broker
# that is not there yet: nothing lost, nothing doubled, no manual restart.

load helpers

setup_file() {
	hb_newdb
	export K3="$BATS_FILE_TMPDIR/k3"
	"$HB_REPO/scripts/hb-kafka" start --dir "$K3" --brokers 3 >"$BATS_FILE_TMPDIR/k3.env" 2>/dev/null
	export KAFKA_BOOTSTRAP_SERVERS
	KAFKA_BOOTSTRAP_SERVERS=$(sed -n 's/^KAFKA_BOOTSTRAP_SERVERS=//p' "$BATS_FILE_TMPDIR/k3.env")
	export HB_KAFKA_DIR=$K3
}

teardown_file() {
	"$HB_REPO/scripts/hb-kafka" stop --dir "$K3" >/dev/null 2>&1 || true
	hb_dropdb
}

setup() {
	hb_empty_tables
	hb_newtopic
	export RUN="$BATS_TEST_TMPDIR/run"
	mkdir -p "$RUN"
	hbsim --seed "$BATS_TEST_NUMBER" --start 2026-11-21T00:00:00Z --count 40000 --rate 0 -q >"$BATS_TEST_TMPDIR/readings.ndjson"
	hbclassify -qq "$BATS_TEST_TMPDIR/readings.ndjson" >"$BATS_TEST_TMPDIR/classified.ndjson"
}

teardown() {
	# the supervisors first (their command line does not name the test's dir),
	# or one would start its pipeline again, into the next test's tables
	if [[ -f $BATS_TEST_TMPDIR/workers ]]; then xargs kill -KILL <"$BATS_TEST_TMPDIR/workers" 2>/dev/null || true; fi
	pkill -TERM -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
	sleep 0.5
	pkill -KILL -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
	"$HB_REPO/scripts/hb-pg" status --dir "$HB_PG_DIR" || "$HB_REPO/scripts/hb-pg" restart --dir "$HB_PG_DIR"
	for n in 1 2 3; do
		"$HB_REPO/scripts/hb-kafka" kill --dir "$K3" --node "$n" --signal CONT >/dev/null 2>&1 || true
	done
	"$HB_REPO/scripts/hb-kafka" status --dir "$K3" >/dev/null 2>&1 ||
		"$HB_REPO/scripts/hb-kafka" start --dir "$K3" >/dev/null 2>&1
}

# the readings in 20 parts over ~10 s, in the background; the exit status lands in pub.status
produce_paced() {
	split -n l/20 -d "$BATS_TEST_TMPDIR/readings.ndjson" "$BATS_TEST_TMPDIR/part."
	(
		for p in "$BATS_TEST_TMPDIR"/part.*; do cat "$p"; sleep 0.5; done |
			hbkafka-pub -q ${1:+"$@"} 2>"$BATS_TEST_TMPDIR/pub.err"
		echo "pub=$?" >"$BATS_TEST_TMPDIR/pub.status"
	) 3>&- &
}

start_worker() {
	HB_RUN_DIR=$RUN "$HB_REPO/scripts/hb-pipeline" worker --id 1 3>&- &
	echo $! >>"$BATS_TEST_TMPDIR/workers"
}

# until every partition of the topic has all three replicas in sync again
wait_isr() {
	for _ in $(seq 1 120); do
		[[ $(kcat -L -b "$KAFKA_BOOTSTRAP_SERVERS" -t "$HB_TOPIC" 2>/dev/null | grep -cE 'isrs: [0-9],[0-9],[0-9]$') -eq 3 ]] && return 0
		sleep 0.5
	done
	echo "replicas not back in sync" >&2
	return 1
}

wait_pub() {
	for _ in $(seq 1 120); do [[ -s $BATS_TEST_TMPDIR/pub.status ]] && break; sleep 1; done
	if [[ "$(cat "$BATS_TEST_TMPDIR/pub.status" 2>/dev/null)" != pub=0 ]]; then
		echo "hbkafka-pub: $(cat "$BATS_TEST_TMPDIR/pub.status" 2>/dev/null || echo 'still running')" >&2
		tail -n 20 "$BATS_TEST_TMPDIR/pub.err" >&2
		ps -eo pid,stat,etime,args | grep -E '[h]bkafka-pub|[c]at .*part' >&2
		return 1
	fi
}

expect_exact() {
	local f="$BATS_TEST_TMPDIR/classified.ndjson"
	jq -r '[.status, .customer_id, .timestamp, .heart_rate] | @tsv' "$f" | sort >"$BATS_TEST_TMPDIR/want.tsv"
	q "COPY (SELECT 'NORMAL', customer_id, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), heart_rate
	         FROM heartbeat_records UNION ALL
	         SELECT anomaly_type, customer_id, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), heart_rate
	         FROM heartbeat_anomalies) TO STDOUT" | sort >"$BATS_TEST_TMPDIR/got.tsv"
	cmp "$BATS_TEST_TMPDIR/want.tsv" "$BATS_TEST_TMPDIR/got.tsv"
}

# the pipeline rode it out by itself: its supervisor never had to start it again
no_restarts() {
	if grep -q restarting "$RUN/worker.1.log"; then
		grep -hv -e ' INFO ' -e 'hbclassify WARNING' "$RUN"/*.log | tail -n 30 >&2
		return 1
	fi
}

@test "three brokers: the topic has three replicas and min.insync.replicas 2" {
	out=$(kcat -L -b "$KAFKA_BOOTSTRAP_SERVERS" -t "$HB_TOPIC" 2>/dev/null)
	[[ "$out" == *"3 brokers:"* ]]
	assert_eq "$(echo "$out" | grep -c 'replicas: [0-9],[0-9],[0-9],')" 3
	grep -q '^min.insync.replicas=2' "$K3/node-1/server.properties"
}

@test "one broker killed, then another after the first returns: nothing lost, nothing doubled, no restart" {
	start_worker
	produce_paced
	sleep 3
	"$HB_REPO/scripts/hb-kafka" kill --dir "$K3" --node 2 --signal KILL
	sleep 4
	"$HB_REPO/scripts/hb-kafka" restart-node --dir "$K3" --node 2
	wait_isr	# "after the first returns": back in sync, not just answering
	"$HB_REPO/scripts/hb-kafka" kill --dir "$K3" --node 3 --signal KILL
	sleep 4
	"$HB_REPO/scripts/hb-kafka" restart-node --dir "$K3" --node 3
	wait_isr
	wait_pub
	wait_stored 40000 120
	sleep 2
	expect_exact
	no_restarts
}

@test "PostgreSQL down for longer than the consumer's poll interval: pause, stay, catch up, exact" {
	# a small buffer and a short poll interval, so that the outage is long for both
	HB_KAFKA_OPTS="--max-buffer 131072 -X max.poll.interval.ms=12000" start_worker
	produce_paced
	sleep 3
	"$HB_REPO/scripts/hb-pg" stop --dir "$HB_PG_DIR" --mode fast
	sleep 25
	"$HB_REPO/scripts/hb-pg" restart --dir "$HB_PG_DIR"
	wait_pub
	wait_stored 40000 180
	sleep 2
	expect_exact
	grep -q 'paused fetching' "$RUN/worker.1.log"
	grep -q 'resumed fetching' "$RUN/worker.1.log"
	no_restarts
}

@test "the broker not there at start: hbkafka-pub waits, then delivers everything" {
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	(head -n 300 "$BATS_TEST_TMPDIR/readings.ndjson" |
		hbkafka-pub -b "127.0.0.1:$port" -t late -X message.timeout.ms=120000 2>"$BATS_TEST_TMPDIR/pub.err"
	 echo "pub=$?" >"$BATS_TEST_TMPDIR/pub.status") 3>&- &
	sleep 3
	"$HB_REPO/scripts/hb-kafka" start --dir "$BATS_TEST_TMPDIR/late" --port "$port" >/dev/null 2>&1
	"$HB_REPO/scripts/hb-kafka" topic --dir "$BATS_TEST_TMPDIR/late" --topic late 2>/dev/null
	wait_pub
	grep -q 'no answer from the broker yet' "$BATS_TEST_TMPDIR/pub.err"
	assert_eq "$(hbkafka-sub -b "127.0.0.1:$port" -t late -e -q | wc -l | tr -d ' ')" 300
	"$HB_REPO/scripts/hb-kafka" stop --dir "$BATS_TEST_TMPDIR/late" >/dev/null 2>&1
}
