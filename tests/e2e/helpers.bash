# helpers.bash — shared by the bats files: a database per file, psql shortcuts.
# tests/run has started PostgreSQL and exported PGHOST/PGPORT/PGUSER, HB_BIN,
# HB_REPO and HB_PG_DIR; the programs are on PATH.

# A fresh database for the current .bats file, with sql/ applied.
hb_newdb() {
	local name
	name=$(basename "$BATS_TEST_FILENAME" .bats)
	name="hbt_${name//[^A-Za-z0-9]/_}_$$_${RANDOM}"
	createdb "$name"
	PGDATABASE=$name "$HB_REPO/scripts/hb-pg" apply
	export PGDATABASE=$name
}

hb_dropdb() {
	if [[ -n ${PGDATABASE:-} ]]; then
		dropdb --if-exists "$PGDATABASE" 2>/dev/null || true
	fi
}

# Empty the tables a test loads into (the loaders' metrics, alerts and alert state too).
hb_empty_tables() {
	q 'TRUNCATE heartbeat_records, heartbeat_anomalies, pipeline_metrics, heartbeat_alerts, hb_alert_state' >/dev/null
}

# One value from the database.
q() {
	psql -X -qAt -v ON_ERROR_STOP=1 -c "$1"
}

# Fail with a message unless $1 == $2.
assert_eq() {
	if [[ "$1" != "$2" ]]; then
		echo "expected: $2" >&2
		echo "actual:   $1" >&2
		return 1
	fi
}

# Count of lines with a given status in a classified file.
count_status() {
	jq -r --arg s "$2" 'select(.status == $s) | 1' "$1" | wc -l | tr -d ' '
}

# Wait until a command succeeds (up to $1 seconds, fractions allowed).
wait_for() {
	local tenths i
	tenths=$(awk -v s="$1" 'BEGIN { printf "%d", s * 10 }')
	shift
	for ((i = 0; i <= tenths; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# ---- Kafka (tests/run has started a broker: KAFKA_BOOTSTRAP_SERVERS, HB_KAFKA_DIR)

# A fresh topic (3 partitions) for this test; exports HB_TOPIC and a fresh HB_GROUP.
hb_newtopic() {
	local name
	name="t_$(basename "$BATS_TEST_FILENAME" .bats)_${BATS_TEST_NUMBER}_$$_${RANDOM}"
	name=${name//[^A-Za-z0-9_]/_}
	"$HB_REPO/scripts/hb-kafka" topic --dir "$HB_KAFKA_DIR" --topic "$name" --partitions "${1:-3}" 2>/dev/null
	export HB_TOPIC=$name HB_GROUP="g_$name"
}

# Run the consumer pipeline once, to the end of the topic (hbkafka-sub -e).
consume_all() {
	HB_KAFKA_OPTS="-e ${HB_KAFKA_OPTS:-}" HB_RUN_DIR="$BATS_TEST_TMPDIR/run" \
		"$HB_REPO/scripts/hb-pipeline" worker --once 3>&-
}

# Stored rows in both tables.
stored() {
	q 'SELECT (SELECT count(*) FROM heartbeat_records) + (SELECT count(*) FROM heartbeat_anomalies)'
}

# Wait until at least $1 rows are stored (up to $2 seconds).
wait_stored() {
	local want=$1 secs=$2 i
	for ((i = 0; i < secs * 2; i++)); do
		[[ $(stored) -ge $want ]] && return 0
		sleep 0.5
	done
	echo "only $(stored) of $want stored after ${secs}s" >&2
	return 1
}

# ---- --stats lines (cli.bats, kafka.bats)

# The stats lines of a stderr file, one key's values (one per line): stats_col FILE KEY
stats_col() {
	awk -v k="$2" '$4 == "stats" { for (i = 5; i <= NF; i++) if (index($i, k "=") == 1) { v = substr($i, length(k) + 2); sub("/s$", "", v); print v } }' "$1"
}

# Fail unless the numbers on stdin never go down (and there are some).
nondecreasing() {
	awk 'NR > 1 && $1 < prev { bad = 1 } { prev = $1; n++ } END { exit !(n > 0 && !bad) }'
}

# Fail unless every number on stdin is in [lo, hi] (and there are some).
all_between() {
	awk -v lo="$1" -v hi="$2" '$1 < lo || $1 > hi { bad = 1; print "out of range: " $1 > "/dev/stderr" } { n++ } END { exit !(n > 0 && !bad) }'
}
