#!/usr/bin/env bats
# compose.bats — compose.yaml cannot run here (no Docker engine), so it is
# validated: docker-compose parses it, and its services, images, ports,
# mounts, health checks and commands agree with the repository.  What the
# containers run is then run for real against the test's PostgreSQL and
# Kafka: hb-pipeline with the consumer's environment as compose resolves it
# (thresholds, log to stderr), as the login sql/901_loader_login.sh makes,
# and its health checks.

load helpers

PROFILES=(--profile grafana --profile kafka-ui --profile notify)
LOGIN=hbmon_consumer
# a service's published ports, HOST_IP:PUBLISHED:TARGET (docker-compose 1 keeps the short form)
PORTS='[.ports[] | if type == "string" then sub("/tcp$"; "") else "\(.host_ip):\(.published):\(.target)" end] | join(",")'

setup_file() {
	hb_newdb
}

teardown_file() {
	hb_dropdb
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $LOGIN" || true
}

# docker-compose with the example .env and every profile; more arguments follow.
dc() {
	(cd "$HB_REPO" && env -u HB_PG_PASSWORD -u HB_LOADER_DB_PASSWORD \
		docker-compose -f compose.yaml --env-file .env.example "${PROFILES[@]}" "$@")
}

# The resolved compose file as JSON (yq-free: python3's yaml), for jq.
resolved() {
	dc config | python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'
}

@test "docker-compose accepts compose.yaml, with and without the profiles" {
	cd "$HB_REPO"
	HB_PG_PASSWORD=x HB_LOADER_DB_PASSWORD=y run docker-compose -f compose.yaml config -q
	[ "$status" -eq 0 ]
	HB_PG_PASSWORD=x HB_LOADER_DB_PASSWORD=y run docker-compose -f compose.yaml "${PROFILES[@]}" config --services
	assert_eq "$(echo "$output" | sort | tr '\n' ' ')" "consumer grafana kafka kafka-init kafka-ui notify postgres producer "
	# the pipeline by default; Grafana, the Kafka UI and hb-notify each under its own profile
	assert_eq "$(resolved | jq -r '[.services | to_entries[] | "\(.key):\(.value.profiles // [] | join("+"))"] | sort | join(" ")')" \
		"consumer: grafana:grafana kafka-init: kafka-ui:kafka-ui kafka: notify:notify postgres: producer:"
	# no password in the file: they must come from the environment
	HB_LOADER_DB_PASSWORD=y run env -u HB_PG_PASSWORD docker-compose -f compose.yaml config -q
	[ "$status" -ne 0 ]
	[[ "$output" == *"set HB_PG_PASSWORD"* ]]
	HB_PG_PASSWORD=x run env -u HB_LOADER_DB_PASSWORD docker-compose -f compose.yaml config -q
	[ "$status" -ne 0 ]
	[[ "$output" == *"set HB_LOADER_DB_PASSWORD"* ]]
}

@test ".env.example: docker-compose takes it, and compose.yaml uses every variable in it" {
	run dc config -q
	[ "$status" -eq 0 ]
	vars=$(sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' "$HB_REPO/.env.example")
	[ "$(wc -l <<<"$vars")" -ge 20 ]
	unused=$(for v in $vars; do grep -q "\${${v}[:}?-]" "$HB_REPO/compose.yaml" || echo "$v"; done)
	assert_eq "$unused" ""
	# and the knobs a seed user looks for are there
	for v in HB_CUSTOMERS HB_RATE HB_BRADY HB_TACHY HB_MIN HB_MAX HB_CLASSIFY_OPTS HB_STORE_ALERTS \
		HB_LOG_LEVEL HB_PG_PASSWORD HB_LOADER_DB_PASSWORD HB_GRAFANA_DB_PASSWORD HB_NOTIFY_WEBHOOK; do
		grep -q "^$v=" "$HB_REPO/.env.example"
	done
	# its values reach the containers: the loader's password, the thresholds
	json=$(resolved)
	assert_eq "$(jq -r .services.consumer.environment.PGPASSWORD <<<"$json")" \
		"$(sed -n 's/^HB_LOADER_DB_PASSWORD=//p' "$HB_REPO/.env.example")"
	assert_eq "$(jq -r .services.consumer.environment.HB_TACHY <<<"$json")" \
		"$(sed -n 's/^HB_TACHY=//p' "$HB_REPO/.env.example")"
}

@test "compose.yaml's services agree with the repository" {
	cd "$HB_REPO"
	dc config >"$BATS_TEST_TMPDIR/resolved.yaml"
	run python3 - "$BATS_TEST_TMPDIR/resolved.yaml" <<'PY'
import os, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]
bad = []
# Kafka in KRaft mode, one-shot topic init as the pipeline wants it
k = s["kafka"]["environment"]
if "broker" not in k["KAFKA_PROCESS_ROLES"] or "controller" not in k["KAFKA_PROCESS_ROLES"]:
    bad.append("kafka is not in KRaft mode")
init = " ".join(s["kafka-init"]["command"])
for want in ("--create", "--if-not-exists", "--topic heartbeat-events", "--partitions 3", "retention.ms=86400000"):
    if want not in init:
        bad.append("kafka-init lacks " + want)
# sql/ applied by the postgres image, from the repository's sql/
vols = [v["source"] if isinstance(v, dict) else v.split(":")[0] for v in s["postgres"]["volumes"]]
if not any(str(v).rstrip("/").endswith("/sql") and os.path.isdir(v) for v in vols):
    bad.append("postgres does not mount sql/")
# producer and consumer are built here and run our programs
ships = set(os.listdir("bin")) | {"hb-pipeline", "hb-replay"}
for name in ("producer", "consumer"):
    svc = s[name]
    if "build" not in svc:
        bad.append(name + " is not built from the Dockerfile")
    if svc["command"][0] not in ships:
        bad.append(name + " runs " + svc["command"][0] + ", which we do not ship")
    if svc["environment"].get("KAFKA_BOOTSTRAP_SERVERS") != "kafka:9092":
        bad.append(name + " does not point at the kafka service")
if s["producer"]["command"][:2] != ["hb-pipeline", "producer"] or s["consumer"]["command"][:2] != ["hb-pipeline", "consumer"]:
    bad.append("producer/consumer do not run the pipeline script's sides")
# ports only on loopback
for name, svc in s.items():
    for p in svc.get("ports", []):
        ip = p.get("host_ip") if isinstance(p, dict) else str(p).split(":")[0]
        if ip != "127.0.0.1":
            bad.append(name + " publishes a port beyond loopback: " + str(p))
# grafana behind a profile, its provisioning from the repository
if s["grafana"].get("profiles") != ["grafana"]:
    bad.append("grafana is not under the grafana profile")
for v in s["grafana"]["volumes"]:
    src = v["source"] if isinstance(v, dict) else v.split(":")[0]
    if not os.path.isdir(src):
        bad.append("grafana mounts a missing " + src)
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "the Dockerfile copies only what exists and builds with the Makefile" {
	cd "$HB_REPO"
	missing=$(awk '$1 == "COPY" && $2 !~ /^--from/ { for (i = 2; i < NF; i++) print $i }' Dockerfile |
		while read -r p; do [ -e "$p" ] || echo "$p"; done)
	assert_eq "$missing" ""
	grep -q 'make -j"$(nproc)" WERROR=1' Dockerfile
	# the runtime image gets the shared libraries the programs link against
	for lib in librdkafka1 libjson-c5 libpq5; do grep -q "$lib" Dockerfile; done
}

@test "every long-running service has a health check; producer and consumer ask hb-pipeline" {
	dc config >"$BATS_TEST_TMPDIR/resolved.yaml"
	run python3 - "$BATS_TEST_TMPDIR/resolved.yaml" <<'PY'
import sys, yaml
s = yaml.safe_load(open(sys.argv[1]))["services"]
bad = []
for name, svc in s.items():
    if svc.get("restart") == "no":
        continue  # one-shot (kafka-init)
    test = (svc.get("healthcheck") or {}).get("test")
    if not test or test[0] == "NONE" or svc["healthcheck"].get("disable"):
        bad.append(name + " has no health check")
for name in ("producer", "consumer"):
    if s[name]["healthcheck"]["test"] != ["CMD", "hb-pipeline", "health", name]:
        bad.append(name + "'s health check is not hb-pipeline health " + name)
if "localhost:3000/api/health" not in " ".join(s["grafana"]["healthcheck"]["test"]):
    bad.append("grafana's health check does not ask /api/health")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "Kafka: an EXTERNAL listener advertised as localhost:29092, published on 127.0.0.1 only" {
	json=$(resolved)
	k=$(jq -c .services.kafka <<<"$json")
	[[ $(jq -r .environment.KAFKA_LISTENERS <<<"$k") == *"EXTERNAL://:29092"* ]]
	[[ $(jq -r .environment.KAFKA_ADVERTISED_LISTENERS <<<"$k") == *"EXTERNAL://localhost:29092"* ]]
	# the services still use kafka:9092, broker to broker too
	[[ $(jq -r .environment.KAFKA_ADVERTISED_LISTENERS <<<"$k") == *"PLAINTEXT://kafka:9092"* ]]
	assert_eq "$(jq -r .environment.KAFKA_INTER_BROKER_LISTENER_NAME <<<"$k")" PLAINTEXT
	[[ $(jq -r .environment.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP <<<"$k") == *"EXTERNAL:PLAINTEXT"* ]]
	# exactly one published port: 29092 on loopback, the container's 29092
	assert_eq "$(jq -r "$PORTS" <<<"$k")" "127.0.0.1:29092:29092"
}

@test "the Kafka UI and hb-notify are under their own profiles" {
	json=$(HB_NOTIFY_WEBHOOK=http://127.0.0.1:9/hook resolved)
	assert_eq "$(jq -c '.services["kafka-ui"].profiles' <<<"$json")" '["kafka-ui"]'
	[[ $(jq -r '.services["kafka-ui"].image' <<<"$json") == provectuslabs/kafka-ui:* ]]
	assert_eq "$(jq -r '.services["kafka-ui"].environment.KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS' <<<"$json")" kafka:9092
	assert_eq "$(jq -r ".services[\"kafka-ui\"] | $PORTS" <<<"$json")" "127.0.0.1:8080:8080"
	assert_eq "$(jq -c .services.notify.profiles <<<"$json")" '["notify"]'
	assert_eq "$(jq -r .services.notify.environment.HB_WEBHOOK_URL <<<"$json")" http://127.0.0.1:9/hook
	# the consumer writes the alert file where notify reads it: one volume
	a=$(jq -r .services.consumer.environment.HB_ALERTS <<<"$json")
	assert_eq "$(jq -r .services.notify.environment.HB_ALERTS <<<"$json")" "$a"
	# the named volume mounted above the alert file (docker-compose 1 keeps the short form)
	vol() {
		jq -r --arg s "$1" --arg a "$a" '.services[$s].volumes[]
			| if type == "string" then split(":") | {source: .[0], target: .[1]} else . end
			| . as $v | select(($v.source | startswith("/") | not) and ($a | startswith($v.target + "/"))) | .source' <<<"$json"
	}
	assert_eq "$(vol consumer)" alerts
	assert_eq "$(vol notify)" alerts
}

# The notify service's command and health check, run here as the container
# runs them (compose's $$ is a $), on an alert file of our own.
@test "the notify service's command turns appended alert events into notifications" {
	json=$(resolved)
	cmd=$(jq -r '.services.notify.command[2]' <<<"$json" | sed 's/\$\$/$/g')
	hc=$(jq -r '.services.notify.healthcheck.test[1]' <<<"$json" | sed 's/\$\$/$/g')
	export HB_ALERTS="$BATS_TEST_TMPDIR/alerts.ndjson" HB_NOTIFY_OPTS=--opens-only
	: >"$HB_ALERTS"
	PATH="$HB_REPO/scripts:$PATH" setsid bash -c "$cmd" >"$BATS_TEST_TMPDIR/notify.out" 2>&1 3>&- &
	pid=$!
	wait_for 10 sh -c "$hc"
	echo '{"alert":"TACHYCARDIA","state":"open","customer_id":"CUST_00007","start":"2026-11-23T10:00:00Z","bpm":190,"reason":"3 readings above 180 bpm"}' >>"$HB_ALERTS"
	echo '{"alert":"TACHYCARDIA","state":"close","customer_id":"CUST_00007","start":"2026-11-23T10:00:00Z","end":"2026-11-23T10:00:09Z","duration_s":9}' >>"$HB_ALERTS"
	wait_for 10 grep -q 'OPEN TACHYCARDIA for CUST_00007' "$BATS_TEST_TMPDIR/notify.out"
	kill -TERM -- "-$pid"
	wait "$pid" || true
	# --opens-only came through HB_NOTIFY_OPTS
	run grep -c CLOSED "$BATS_TEST_TMPDIR/notify.out"
	assert_eq "$output" 0
	run sh -c "$hc"
	[ "$status" -ne 0 ]
}

@test "producer and consumer log to the container's stderr; the consumer is not the superuser" {
	json=$(resolved)
	assert_eq "$(jq -r .services.producer.environment.HB_LOG <<<"$json")" -
	assert_eq "$(jq -r .services.consumer.environment.HB_LOG <<<"$json")" -
	user=$(jq -r .services.consumer.environment.PGUSER <<<"$json")
	[ "$user" != postgres ]
	# the login sql/901_loader_login.sh makes
	assert_eq "$user" "$LOGIN"
	grep -q "role=$LOGIN " "$HB_REPO/sql/901_loader_login.sh"
	# the image sets HB_LOG=- too (docker run), and ships hb-notify with jq and curl
	grep -q '^ENV .*HB_LOG=-' "$HB_REPO/Dockerfile"
	grep -q '^COPY scripts/.*scripts/hb-notify ' "$HB_REPO/Dockerfile"
	grep -q ' ca-certificates jq curl ' "$HB_REPO/Dockerfile"
}

# KEY=VALUE lines of a service's environment, as compose resolves it, minus
# what points at the containers' network and paths (the test has its own).
service_env() {
	resolved | jq -r --arg s "$1" '.services[$s].environment | to_entries[]
		| select(.key | test("^(PG|KAFKA_|HB_TOPIC$|HB_GROUP$|HB_ALERTS$|HB_RUN_DIR$)") | not)
		| "\(.key)=\(.value)"'
}

@test "hb-pipeline commands: the compose environment gives hbclassify the thresholds and hbsim the fleet" {
	mapfile -t cenv < <(HB_BRADY=50 HB_TACHY=110 service_env consumer)
	run env "${cenv[@]}" "$HB_REPO/scripts/hb-pipeline" commands --workers 2
	[ "$status" -eq 0 ]
	echo "$output"
	[[ $(grep '^worker 2:' <<<"$output") == *"| hbclassify --store --brady 50 --tachy 110 --min 1 --max 300 --silence 10 |"* ]]
	mapfile -t penv < <(HB_CUSTOMERS=100 service_env producer)
	run env "${penv[@]}" "$HB_REPO/scripts/hb-pipeline" commands
	[[ $(grep '^producer:' <<<"$output") == "producer: hbsim --customers 100 --rate 40 --anomaly-rate 0.05 | hbkafka-pub" ]]
	# a bad value is one line naming the variable, before anything runs
	run env "${cenv[@]}" HB_TACHY=110bpm "$HB_REPO/scripts/hb-pipeline" worker --once
	[ "$status" -eq 2 ]
	assert_eq "$output" "hb-pipeline: HB_TACHY=110bpm: not a whole number (for --tachy)"
	run env HB_LOG_LEVEL=chatty "$HB_REPO/scripts/hb-pipeline" producer
	[ "$status" -eq 2 ]
	assert_eq "$output" "hb-pipeline: HB_LOG_LEVEL=chatty: want DEBUG, INFO, WARNING or ERROR"
}

# Crafted readings for thresholds 50/110 and limits 20/250.
seed003_readings() {
	local t=2026-11-23T10:00 i=0 c hr
	for c_hr in cT:115 cT:116 cT:117 cT:118 cB:45 cB:46 cB:47 cN:55 cN:105 cI:15 cI:260; do
		c=${c_hr%%:*} hr=${c_hr#*:}
		printf '{"customer_id":"%s","timestamp":"%s:%02dZ","heart_rate":%d}\n' "$c" "$t" "$i" "$hr"
		i=$((i + 1))
	done
}

anomalies() {
	q "SELECT string_agg(anomaly_type || ':' || n, ' ' ORDER BY anomaly_type)
	   FROM (SELECT anomaly_type, count(*) n FROM heartbeat_anomalies GROUP BY 1) a"
}

# One consumer worker, as the container runs it (the compose environment,
# HB_LOG=-), to the end of the topic, as the consumer's login; stderr in $1.
consumer_once() {
	mapfile -t cenv < <(HB_BRADY=50 HB_TACHY=110 HB_MIN=20 HB_MAX=250 service_env consumer)
	env "${cenv[@]}" PGUSER=$LOGIN HB_RUN_DIR="$BATS_TEST_TMPDIR/run" HB_KAFKA_OPTS=-e \
		"$HB_REPO/scripts/hb-pipeline" worker --once 2>"$1" 3>&-
}

@test "901_loader_login.sh: the consumer's login stores readings and alerts, and loads alert states" {
	hb_empty_tables
	# without a password it makes nothing, and says so
	run env -u HB_LOADER_DB_PASSWORD POSTGRES_USER="$PGUSER" POSTGRES_DB="$PGDATABASE" bash "$HB_REPO/sql/901_loader_login.sh"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HB_LOADER_DB_PASSWORD is not set"* ]]
	assert_eq "$(q "SELECT count(*) FROM pg_roles WHERE rolname = '$LOGIN'")" 0
	HB_LOADER_DB_PASSWORD="it's-$RANDOM" POSTGRES_USER=$PGUSER POSTGRES_DB=$PGDATABASE bash "$HB_REPO/sql/901_loader_login.sh"
	assert_eq "$(q "SELECT rolcanlogin, rolsuper, rolcreaterole, rolpassword IS NOT NULL FROM pg_authid WHERE rolname = '$LOGIN'")" "t|f|f|t"
	assert_eq "$(q "SELECT string_agg(b.rolname, ',') FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member JOIN pg_roles b ON b.oid = m.roleid WHERE r.rolname = '$LOGIN'")" hbmon_loader
	# it stores; it does not read
	run env PGUSER=$LOGIN psql -X -qAt -c 'SELECT count(*) FROM heartbeat_records'
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied"* ]]
	assert_eq "$(PGUSER=$LOGIN psql -X -qAt -v ON_ERROR_STOP=1 -c "SELECT count(*) >= 0 FROM hb_alert_state_load('x', 0)")" t

	hb_newtopic
	seed003_readings | hbkafka-pub -q
	consumer_once "$BATS_TEST_TMPDIR/consumer.err"
	# seed 003's thresholds (and our limits) from the environment
	assert_eq "$(anomalies)" "BRADYCARDIA:3 INVALID:2 TACHYCARDIA:4"
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_records')" 2
	assert_eq "$(q "SELECT string_agg(alert || ':' || customer_id, ' ' ORDER BY alert) FROM heartbeat_alerts")" "BRADYCARDIA:cB TACHYCARDIA:cT"
	[ "$(q 'SELECT count(*) FROM hb_alert_state')" -ge 1 ]
	# the stages' lines went to stderr, not to a file
	grep -q ' hbkafka-sub INFO ' "$BATS_TEST_TMPDIR/consumer.err"
	grep -q ' hbclassify INFO ' "$BATS_TEST_TMPDIR/consumer.err"
	grep -q ' hbpgload INFO done ' "$BATS_TEST_TMPDIR/consumer.err"
	[ ! -e "$BATS_TEST_TMPDIR/run/worker.1.log" ]
	# a second run loads the states the first stored (hb_alert_state_load)
	seed003_readings | sed 's/T10:00:/T10:01:/' | hbkafka-pub -q
	consumer_once "$BATS_TEST_TMPDIR/consumer2.err"
	grep -q 'alert state of [1-9][0-9]* customer(s) loaded' "$BATS_TEST_TMPDIR/consumer2.err"
	assert_eq "$(q 'SELECT count(*) FROM heartbeat_anomalies')" 18
}

@test "HB_LOG_MAX_KB bounds a worker's log file and the alert file" {
	hb_newtopic
	run_dir=$BATS_TEST_TMPDIR/run log=$BATS_TEST_TMPDIR/run/worker.1.log
	alerts=$BATS_TEST_TMPDIR/alerts.ndjson
	head -c 3000 /dev/zero | tr '\0' x >"$alerts"
	echo >>"$alerts"
	# an empty topic: each run (-e) ends at once and is restarted, logging at DEBUG
	HB_RUN_DIR=$run_dir HB_ALERTS=$alerts HB_LOG_MAX_KB=1 HB_LOG_LEVEL=DEBUG HB_KAFKA_OPTS=-e \
		setsid "$HB_REPO/scripts/hb-pipeline" worker 3>&- &
	pid=$!
	wait_for 10 test -s "$alerts.1"
	wait_for 60 test -s "$log.1"
	first=$(md5sum <"$log.1")
	# and again: it keeps being bound, not once
	wait_for 60 sh -c "[ \"\$(md5sum <'$log.1')\" != '$first' ]"
	kill -TERM -- "-$pid"
	wait "$pid" || true
	[ "$(stat -c %s "$log.1")" -gt 1024 ]
	grep -q restarting "$log.1"
	[ "$(stat -c %s "$alerts")" -lt 1024 ]
	assert_eq "$(head -c 5 "$alerts.1")" xxxxx
}

unhealthy() {
	! "$HB_REPO/scripts/hb-pipeline" health "$1" 2>/dev/null
}

@test "hb-pipeline health: producer and consumer healthy while they work, not once stopped" {
	hb_empty_tables
	hb_newtopic
	export HB_RUN_DIR=$BATS_TEST_TMPDIR/run HB_METRICS_DIR=$BATS_TEST_TMPDIR/metrics HB_LOG=-
	run "$HB_REPO/scripts/hb-pipeline" health consumer
	[ "$status" -eq 1 ]
	[[ "$output" == *"worker 1: no $HB_METRICS_DIR/hbkafka-sub-1.prom"* ]]
	run "$HB_REPO/scripts/hb-pipeline" health producer
	[ "$status" -eq 1 ]
	HB_RATE=20 setsid "$HB_REPO/scripts/hb-pipeline" producer 2>"$BATS_TEST_TMPDIR/producer.err" 3>&- &
	producer=$!
	setsid "$HB_REPO/scripts/hb-pipeline" consumer --workers 2 2>"$BATS_TEST_TMPDIR/consumer.err" 3>&- &
	consumer=$!
	wait_for 10 "$HB_REPO/scripts/hb-pipeline" health producer
	wait_for 60 "$HB_REPO/scripts/hb-pipeline" health consumer
	wait_stored 20 30
	kill -TERM -- "-$producer"
	wait "$producer" || true
	run "$HB_REPO/scripts/hb-pipeline" health producer
	[ "$status" -eq 1 ]
	[[ "$output" == *"hbsim is not running"* ]]
	kill -TERM -- "-$consumer"
	wait "$consumer" || true
	HB_HEALTH_MAX_AGE=1 wait_for 10 unhealthy consumer
	run env HB_HEALTH_MAX_AGE=1 "$HB_REPO/scripts/hb-pipeline" health consumer
	[[ "$output" == *"worker 2: $HB_METRICS_DIR/hbpgload-2.prom is "*"s old"* ]]
	# both sides logged to their stderr (HB_LOG=-)
	grep -q ' hbkafka-pub INFO ' "$BATS_TEST_TMPDIR/producer.err"
	grep -q ' hbpgload INFO done ' "$BATS_TEST_TMPDIR/consumer.err"
}
