#!/usr/bin/env bats
# metrics.bats — hbpgload and hbkafka-sub write their counters in the
# Prometheus text format (--prom-file), atomically, at an interval, also
# while the database is down; the figures agree with PostgreSQL and Kafka.

load helpers

setup_file() {
	hb_newdb
	hbsim --seed 31 --start 2026-11-23T07:00:00Z --count 20000 --rate 0 --invalid-rate 0.01 -q |
		hbclassify -qq >"$BATS_FILE_TMPDIR/c.ndjson"
}

teardown_file() {
	hb_dropdb
}

setup() {
	hb_empty_tables
}

# a worker is stopped as an operator would (TERM: it drains and its
# hbpgload folds and exits) and waited for, so that nothing of this test
# still writes or folds while the next one empties the tables
teardown() {
	if [[ -n ${worker:-} ]]; then
		kill -TERM "$worker" 2>/dev/null || true
		wait_for 30 eval '! kill -0 "$worker" 2>/dev/null' || kill -KILL "$worker" 2>/dev/null || true
	fi
	pkill -TERM -f -- "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# A strict reading of the text format: comments are HELP/TYPE, every sample
# belongs to a declared family, values are numbers, histogram buckets grow
# and end in +Inf = _count.
prom_check() {
	awk '
		/^# HELP [a-z_]+ ./ { next }
		/^# TYPE [a-z_]+ (counter|gauge|histogram)$/ { type[$3] = $4; next }
		/^#/ { print "bad comment: " $0; bad = 1; next }
		{
			if (!match($0, /^[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? -?[0-9.e+]+$/)) { print "bad sample: " $0; bad = 1; next }
			name = $0; sub(/[{ ].*/, "", name); fam = name; sub(/_(bucket|sum|count)$/, "", fam)
			if (!(name in type) && !(fam in type && type[fam] == "histogram")) { print "undeclared: " name; bad = 1 }
			if (type[name] == "counter" && name !~ /_total$/) { print "counter without _total: " name; bad = 1 }
			if (name ~ /_bucket$/) { v = $NF + 0; if (v < last[fam]) { print "bucket shrinks: " $0; bad = 1 } last[fam] = v; if ($0 ~ /le="\+Inf"/) inf[fam] = v }
			if (name ~ /_count$/ && type[fam] == "histogram" && inf[fam] != $NF + 0) { print "+Inf != count: " fam; bad = 1 }
		}
		END { exit bad }' "$1"
}

# The value of one sample (metric name and an optional label filter).
val() {
	grep -E "^$2(\\{[^}]*${3:-}[^}]*\\})? " "$1" | awk '{ print $NF }'
}

@test "hbpgload --prom-file: valid text format, the same counts as the database" {
	hbpgload -q --prom-file "$BATS_TEST_TMPDIR/load.prom" -i metrics-test "$BATS_FILE_TMPDIR/c.ndjson"
	prom_check "$BATS_TEST_TMPDIR/load.prom"
	f=$BATS_TEST_TMPDIR/load.prom
	assert_eq "$(val "$f" hbmon_pgload_lines_total)" 20000
	assert_eq "$(val "$f" hbmon_pgload_rows_stored_total)" \
		"$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')"
	assert_eq "$(val "$f" hbmon_pgload_lines_by_status_total 'status="NORMAL"')" "$(q 'SELECT count(*) FROM heartbeat_records')"
	assert_eq "$(val "$f" hbmon_pgload_lines_by_status_total 'status="INVALID"')" \
		"$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID'")"
	# latency is measured for every stored row that has a time
	assert_eq "$(val "$f" hbmon_pgload_latency_seconds_count)" \
		"$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(ts) FROM heartbeat_anomalies)')"
	assert_eq "$(val "$f" hbmon_pgload_database_up)" 1
	grep -q 'hbmon_instance="metrics-test"' "$f"
	# the same figures as the durable history in pipeline_metrics
	assert_eq "$(val "$f" hbmon_pgload_batches_total)" "$(q "SELECT batches FROM pipeline_metrics WHERE instance = 'metrics-test' ORDER BY id DESC LIMIT 1")"
	# written through a temporary file and rename(2): nothing left behind
	run ls "$BATS_TEST_TMPDIR"
	[[ "$output" != *".tmp-"* ]]
	# loading again: all duplicates, counted as such
	hbpgload -q --prom-file "$f" "$BATS_FILE_TMPDIR/c.ndjson"
	assert_eq "$(val "$f" hbmon_pgload_duplicates_total)" 20000
	assert_eq "$(val "$f" hbmon_pgload_rows_stored_total)" 0
}

@test "hbpgload --prom-file is written at its interval, also while the database is unreachable" {
	hbpgload -d "host=127.0.0.1 port=1 dbname=nothing connect_timeout=1" --retry-for 4 --metrics-ms 200 \
		--prom-file "$BATS_TEST_TMPDIR/down.prom" </dev/null 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	wait_for 5 test -s "$BATS_TEST_TMPDIR/down.prom"
	first=$(val "$BATS_TEST_TMPDIR/down.prom" hbmon_pgload_last_update_seconds)
	sleep 1.5
	second=$(val "$BATS_TEST_TMPDIR/down.prom" hbmon_pgload_last_update_seconds)
	assert_eq "$(val "$BATS_TEST_TMPDIR/down.prom" hbmon_pgload_database_up)" 0
	[ "$(val "$BATS_TEST_TMPDIR/down.prom" hbmon_pgload_retries_total)" -ge 1 ]
	awk -v a="$first" -v b="$second" 'BEGIN { exit !(b > a) }'
	st=0
	wait "$pid" || st=$?
	assert_eq "$st" 69
	prom_check "$BATS_TEST_TMPDIR/down.prom"
}

@test "a --prom-file that cannot be written is a warning, not a lost load" {
	run hbpgload --prom-file /nonexistent/dir/x.prom "$BATS_FILE_TMPDIR/c.ndjson"
	[ "$status" -eq 0 ]
	[[ "$output" == *"WARNING --prom-file: cannot create /nonexistent/dir/x.prom.tmp-"* ]]
	assert_eq "$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')" 20000
}

@test "the live pipeline (HB_METRICS_DIR): hbkafka-sub and hbpgload metrics agree with Kafka and PostgreSQL" {
	hb_newtopic
	hbkafka-pub -q "$BATS_FILE_TMPDIR/c.ndjson"
	export HB_METRICS_DIR="$BATS_TEST_TMPDIR/metrics" HB_RUN_DIR="$BATS_TEST_TMPDIR/run"
	HB_KAFKA_OPTS="--prom-ms 300" "$HB_REPO/scripts/hb-pipeline" worker --id 1 3>&- &
	worker=$!
	for _ in $(seq 1 120); do
		[[ $(val "$HB_METRICS_DIR/hbkafka-sub-1.prom" hbmon_sub_messages_total 2>/dev/null) == 20000 &&
			$(val "$HB_METRICS_DIR/hbkafka-sub-1.prom" hbmon_sub_consumer_lag_messages 2>/dev/null) == 0 &&
			$(val "$HB_METRICS_DIR/hbpgload-1.prom" hbmon_pgload_lines_total 2>/dev/null) == 20000 ]] && break
		sleep 0.5
	done
	s=$HB_METRICS_DIR/hbkafka-sub-1.prom l=$HB_METRICS_DIR/hbpgload-1.prom
	prom_check "$s"
	prom_check "$l"
	assert_eq "$(val "$s" hbmon_sub_messages_total)" 20000
	assert_eq "$(val "$s" hbmon_sub_partitions_assigned)" 3
	assert_eq "$(val "$s" hbmon_sub_consumer_lag_messages)" 0
	assert_eq "$(val "$s" hbmon_sub_paused)" 0
	[ "$(val "$s" hbmon_sub_acks_total)" -ge 1 ]
	grep -q "group=\"$HB_GROUP\"" "$s"
	assert_eq "$(val "$l" hbmon_pgload_lines_total)" 20000
	assert_eq "$(q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)')" 20000
	[ "$(ls "$HB_METRICS_DIR" | wc -l)" -eq 2 ]
}

@test "hb-watch: a line per interval while a load runs; --raw agrees with the database" {
	since=$(date -u +%FT%T.%NZ)
	# 6 s of readings: the rates come from two snapshots of a live loader
	# (vw_pipeline_health), and hbpgload writes one every 2 s
	(hbsim --seed 33 --start 2026-11-24T00:00:00Z --rate 2000 --count 12000 -q | hbclassify -qq |
		hbpgload -q -m 200 -i watch-test) 3>&- &
	load=$!
	run "$HB_REPO/scripts/hb-watch" --interval 1 --count 5 --since "$since"
	[ "$status" -eq 0 ]
	assert_eq "$(grep -c '  in .*/s  stored .*/s  normal ' <<<"$output")" 5
	# readings were flowing at about 2000/s: some line says so
	grep -qE 'stored +(1[5-9]|2[0-4])[0-9][0-9]/s' <<<"$output"
	wait "$load"
	read -r rin stored normal brady tachy invalid _ <<<"$("$HB_REPO/scripts/hb-watch" --raw --since "$since")"
	assert_eq "$rin" 12000
	assert_eq "$stored" 12000
	assert_eq "$normal" "$(q 'SELECT count(*) FROM heartbeat_records')"
	assert_eq "$((brady + tachy + invalid))" "$(q 'SELECT count(*) FROM heartbeat_anomalies')"
	run "$HB_REPO/scripts/hb-watch" --interval 0
	[ "$status" -eq 2 ]
	run "$HB_REPO/scripts/hb-watch" -d "host=127.0.0.1 port=1 connect_timeout=1" --raw
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot read pipeline_metrics"* ]]
}

@test "vw_pipeline_summary shows the latest latency measured, not an idle snapshot's none" {
	# a run's snapshots: one that measured 80 ms, then idle ones (hbpgload
	# writes NULL when no row was stored since the last snapshot: the marks
	# of hbkafka-sub --marks make snapshots while nothing comes)
	q "INSERT INTO pipeline_metrics (source, instance, kind, rows_in, latency_p50_ms, latency_p99_ms)
	   VALUES ('hbpgload', 'idle-test', 'snapshot', 10, 40, 80),
	          ('hbpgload', 'idle-test', 'snapshot', 12, NULL, NULL),
	          ('hbpgload', 'idle-test', 'final', 12, NULL, NULL)"
	assert_eq "$(q 'SELECT last_latency_p99_ms FROM vw_pipeline_summary')" 80
}

@test "the newest reading's age grows in the snapshots while no reading comes" {
	# readings for 1 s, then 6 s of lines that are not readings (as
	# hbkafka-sub's marks keep a live loader's snapshots coming)
	{
		hbsim --seed 35 --rate 200 --count 200 -q
		for i in 1 2 3 4 5 6; do sleep 1; echo "not a reading $i"; done
	} | hbclassify -qq | hbpgload -q -m 500 -i age-test
	age=$(q "SELECT lag_ms FROM pipeline_metrics WHERE instance = 'age-test' ORDER BY id DESC LIMIT 1")
	echo "age of the newest reading at the last snapshot: $age ms"
	[ "$age" -ge 4000 ]
	# while the readings came, it was small
	[ "$(q "SELECT min(lag_ms) FROM pipeline_metrics WHERE instance = 'age-test'")" -lt 2000 ]
}
