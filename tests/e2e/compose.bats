#!/usr/bin/env bats
# compose.bats — compose.yaml cannot run here (no Docker engine), so it is
# validated: docker-compose parses it, and its services, images, ports,
# mounts, health checks and commands agree with the repository.  What the
# containers run is then run for real against the test's PostgreSQL and
# Kafka: hb-pipeline with the consumer's environment as compose resolves it
# (thresholds, log to stderr), as the login sql/900_logins.sh makes, and its
# health checks; the dashboard service's hb-report, as the read-only login
# the same script makes, and its health check.

load helpers

PROFILES=(--profile grafana --profile kafka-ui --profile notify)
LOGIN=hbmon_consumer
READER=hbmon_grafana
# a service's published ports, HOST_IP:PUBLISHED:TARGET (docker-compose 1 keeps the short form)
PORTS='[.ports[] | if type == "string" then sub("/tcp$"; "") else "\(.host_ip):\(.published):\(.target)" end] | join(",")'

setup_file() {
	hb_newdb
}

teardown_file() {
	hb_dropdb
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $LOGIN" || true
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $READER" || true
}

# docker-compose with the example .env and every profile; more arguments follow.
dc() {
	(cd "$HB_REPO" && env -u HB_PG_PASSWORD -u HB_LOADER_DB_PASSWORD -u HB_GRAFANA_DB_PASSWORD \
		docker-compose -f compose.yaml --env-file "${ENV_FILE:-.env.example}" "${PROFILES[@]}" "$@")
}

# The resolved compose file as JSON (yq-free: python3's yaml), for jq.
resolved() {
	dc config | python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'
}

@test "docker-compose accepts compose.yaml, with and without the profiles" {
	cd "$HB_REPO"
	export HB_PG_PASSWORD=x HB_LOADER_DB_PASSWORD=y HB_GRAFANA_DB_PASSWORD=z
	run docker-compose -f compose.yaml config -q
	[ "$status" -eq 0 ]
	run docker-compose -f compose.yaml "${PROFILES[@]}" config --services
	assert_eq "$(echo "$output" | sort | tr '\n' ' ')" "consumer dashboard dashboard-web grafana kafka kafka-init kafka-ui notify postgres producer "
	# the pipeline and the dashboard by default; Grafana, the Kafka UI and hb-notify each under its own profile
	assert_eq "$(resolved | jq -r '[.services | to_entries[] | "\(.key):\(.value.profiles // [] | join("+"))"] | sort | join(" ")')" \
		"consumer: dashboard-web: dashboard: grafana:grafana kafka-init: kafka-ui:kafka-ui kafka: notify:notify postgres: producer:"
	# no password in the file: they must come from the environment
	run env -u HB_PG_PASSWORD docker-compose -f compose.yaml config -q
	[ "$status" -ne 0 ]
	[[ "$output" == *"set HB_PG_PASSWORD"* ]]
	run env -u HB_LOADER_DB_PASSWORD docker-compose -f compose.yaml config -q
	[ "$status" -ne 0 ]
	[[ "$output" == *"set HB_LOADER_DB_PASSWORD"* ]]
	# the dashboard (on by default) needs its read-only login
	run env -u HB_GRAFANA_DB_PASSWORD docker-compose -f compose.yaml config -q
	[ "$status" -ne 0 ]
	[[ "$output" == *"set HB_GRAFANA_DB_PASSWORD"* ]]
}

@test ".env.example: docker-compose takes it, and compose.yaml uses every variable in it" {
	run dc config -q
	[ "$status" -eq 0 ]
	# every variable, set or commented out (# NAME=)
	vars=$(sed -n 's/^\(# \)\{0,1\}\([A-Z_][A-Z0-9_]*\)=.*/\2/p' "$HB_REPO/.env.example")
	[ "$(wc -l <<<"$vars")" -ge 25 ]
	# COMPOSE_PROFILES is docker compose's own (it reads it from .env)
	unused=$(for v in $vars; do [ "$v" = COMPOSE_PROFILES ] || grep -q "\${${v}[:}?-]" "$HB_REPO/compose.yaml" || echo "$v"; done)
	assert_eq "$unused" ""
	# and the knobs a seed user looks for are there
	for v in HB_CUSTOMERS HB_RATE HB_BRADY HB_TACHY HB_MIN HB_MAX HB_CLASSIFY_OPTS HB_STORE_ALERTS \
		HB_LOG_LEVEL HB_STATS HB_PG_PASSWORD HB_LOADER_DB_PASSWORD HB_GRAFANA_DB_PASSWORD HB_NOTIFY_WEBHOOK \
		HB_SILENCE HB_PG_PORT HB_KAFKA_PORT HB_GRAFANA_PORT HB_KAFKA_UI_PORT HB_DASHBOARD_PORT; do
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
	# make install takes the Makefile's TOOLS from scripts/: the build stage has them before it
	tools=$(sed -n 's/^TOOLS := //p' Makefile)
	[[ " $tools " == *" hb-report "* ]]
	[[ " $tools " == *" hb-notify "* ]]
	copy=$(grep -n '^COPY scripts/ scripts/$' Dockerfile | cut -d: -f1)
	install=$(grep -n '^RUN make install ' Dockerfile | cut -d: -f1)
	[ "$copy" -lt "$install" ]
	# hb-report (the dashboard service) finds psql and gnuplot in the runtime image
	for pkg in postgresql-client gnuplot-nox; do grep -q " $pkg " Dockerfile; done
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

@test "Kafka: an EXTERNAL listener advertised as localhost:9092, published on 127.0.0.1 only" {
	json=$(resolved)
	k=$(jq -c .services.kafka <<<"$json")
	[[ $(jq -r .environment.KAFKA_LISTENERS <<<"$k") == *"EXTERNAL://:29092"* ]]
	# the host's programs default to localhost:9092 (hbkafka-pub, hbkafka-sub, hb-pipeline)
	[[ $(jq -r .environment.KAFKA_ADVERTISED_LISTENERS <<<"$k") == *"EXTERNAL://localhost:9092"* ]]
	"$HB_REPO/bin/hbkafka-pub" --help | grep -q 'localhost:9092'
	# the services still use kafka:9092, broker to broker too
	[[ $(jq -r .environment.KAFKA_ADVERTISED_LISTENERS <<<"$k") == *"PLAINTEXT://kafka:9092"* ]]
	assert_eq "$(jq -r .environment.KAFKA_INTER_BROKER_LISTENER_NAME <<<"$k")" PLAINTEXT
	[[ $(jq -r .environment.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP <<<"$k") == *"EXTERNAL:PLAINTEXT"* ]]
	# exactly one published port: 9092 on loopback, the container's 29092
	assert_eq "$(jq -r "$PORTS" <<<"$k")" "127.0.0.1:9092:29092"
}

# .env.example with NAME=VALUE arguments put in place of its own lines.
env_with() {
	local f=$BATS_TEST_TMPDIR/env.$RANDOM kv args=()
	for kv in "$@"; do args+=(-e "s|^${kv%%=*}=.*|$kv|"); done
	sed "${args[@]}" "$HB_REPO/.env.example" >"$f"
	echo "$f"
}

# "SERVICE=HOST_IP:PUBLISHED:TARGET ..." for every service that publishes.
published() {
	jq -r "[.services | to_entries[] | select(.value.ports) | \"\\(.key)=\\(.value | $PORTS)\"] | sort | join(\" \")"
}

# The port Kafka advertises to the host (EXTERNAL), and the one it publishes.
kafka_ports() {
	jq -r '.services.kafka | (.environment.KAFKA_ADVERTISED_LISTENERS | capture("EXTERNAL://localhost:(?<p>[0-9]+)").p)
		+ " " + (.ports[0] | if type == "string" then split(":")[1] else "\(.published)" end)'
}

@test "host ports are .env knobs, on 127.0.0.1 only; Kafka advertises the port it publishes" {
	# .env.example's values, which are compose.yaml's own defaults
	assert_eq "$(resolved | published)" \
		"dashboard-web=127.0.0.1:8081:80 grafana=127.0.0.1:3000:3000 kafka-ui=127.0.0.1:8080:8080 kafka=127.0.0.1:9092:29092 postgres=127.0.0.1:5432:5432"
	grep -v '_PORT=' "$HB_REPO/.env.example" >"$BATS_TEST_TMPDIR/noports"
	ENV_FILE=$BATS_TEST_TMPDIR/noports
	assert_eq "$(resolved | published)" \
		"dashboard-web=127.0.0.1:8081:80 grafana=127.0.0.1:3000:3000 kafka-ui=127.0.0.1:8080:8080 kafka=127.0.0.1:9092:29092 postgres=127.0.0.1:5432:5432"
	# other values move the host side only
	ENV_FILE=$(env_with HB_PG_PORT=5433 HB_KAFKA_PORT=19092 HB_GRAFANA_PORT=3030 HB_KAFKA_UI_PORT=18080 HB_DASHBOARD_PORT=18081)
	json=$(resolved)
	assert_eq "$(published <<<"$json")" \
		"dashboard-web=127.0.0.1:18081:80 grafana=127.0.0.1:3030:3000 kafka-ui=127.0.0.1:18080:8080 kafka=127.0.0.1:19092:29092 postgres=127.0.0.1:5433:5432"
	# a client on the host is sent back to the port it came in by
	assert_eq "$(kafka_ports <<<"$json")" "19092 19092"
	# the services inside still use kafka:9092
	[[ $(jq -r .services.kafka.environment.KAFKA_ADVERTISED_LISTENERS <<<"$json") == *"PLAINTEXT://kafka:9092"* ]]
	assert_eq "$(jq -r .services.consumer.environment.KAFKA_BOOTSTRAP_SERVERS <<<"$json")" kafka:9092
	# and by the shell's environment, as compose does
	assert_eq "$(HB_KAFKA_PORT=29999 resolved | kafka_ports)" "29999 29999"
}

@test ".env.example: a commented COMPOSE_PROFILES=grafana that, uncommented, names real profiles" {
	line=$(grep '^# COMPOSE_PROFILES=' "$HB_REPO/.env.example")
	assert_eq "$line" "# COMPOSE_PROFILES=grafana"
	# not set: plain "docker compose up -d" gives the pipeline and the dashboard
	run grep -c '^COMPOSE_PROFILES=' "$HB_REPO/.env.example"
	assert_eq "$output" 0
	sed 's/^# COMPOSE_PROFILES=/COMPOSE_PROFILES=/' "$HB_REPO/.env.example" >"$BATS_TEST_TMPDIR/env"
	ENV_FILE=$BATS_TEST_TMPDIR/env run dc config -q
	[ "$status" -eq 0 ]
	profiles=$(resolved | jq -r '[.services[].profiles // [] | .[]] | unique | join(" ")')
	for p in $(sed -n 's/^# COMPOSE_PROFILES=//p' "$HB_REPO/.env.example" | tr ',' ' '); do
		[[ " $profiles " == *" $p "* ]]
	done
	# the comment names the others by their real names too
	for p in $profiles; do grep -q "^# .*\b$p\b" "$HB_REPO/.env.example"; done
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

# A service's named-volume mounts, "SOURCE:TARGET:ro|rw" (docker-compose 1 keeps the short form).
mounts() {
	jq -r --arg s "$1" '[.services[$s].volumes[]
		| if type == "string" then split(":") | {source: .[0], target: .[1], ro: (.[2] == "ro")}
		  else {source, target, ro: (.read_only // false)} end
		| select(.source | startswith("/") or startswith(".") | not)
		| "\(.source):\(.target):\(if .ro then "ro" else "rw" end)"] | join(" ")'
}

@test "the dashboard: hb-report --watch as the read-only login into a volume, served read-only on loopback" {
	json=$(ENV_FILE=$(env_with HB_BRADY=50 HB_TACHY=110) resolved)
	d=$(jq -c .services.dashboard <<<"$json")
	w=$(jq -c '.services["dashboard-web"]' <<<"$json")
	# on by default, both
	assert_eq "$(jq -c '.profiles // []' <<<"$d")" '[]'
	assert_eq "$(jq -c '.profiles // []' <<<"$w")" '[]'
	# our image, hb-report (installed by make install), the live 15 minutes
	assert_eq "$(jq -r .image <<<"$d")" hbmon:local
	jq -e .build <<<"$d" >/dev/null
	assert_eq "$(jq -r '.command[:8] | join(" ")' <<<"$d")" "hb-report --last 15m --watch 5 --timeout 30 --out"
	out=$(jq -r '.command[8]' <<<"$d")
	assert_eq "$(jq -r '.command | length' <<<"$d")" 9
	# writing into the dashboard volume, made owned by hbmon in the image
	assert_eq "$(mounts dashboard <<<"$json")" "dashboard:$out:rw"
	awk '{ if (sub(/\\$/, "")) printf "%s", $0; else print }' "$HB_REPO/Dockerfile" |
		grep -q "^RUN .*install -d -o hbmon -g hbmon .* $out\$"
	# the web server mounts the same volume, read-only, where nginx serves from, nothing more
	assert_eq "$(mounts dashboard-web <<<"$json")" "dashboard:/usr/share/nginx/html:ro"
	[[ $(jq -r .image <<<"$w") == nginx:*-alpine ]]
	assert_eq "$(jq -r "$PORTS" <<<"$w")" "127.0.0.1:8081:80"
	jq -e '.volumes | has("dashboard")' <<<"$json" >/dev/null
	# as hbmon_grafana (hbmon_reader only), its password from .env
	assert_eq "$(jq -r .environment.PGUSER <<<"$d")" "$READER"
	grep -q "^hb_login $READER hbmon_reader HB_GRAFANA_DB_PASSWORD " "$HB_REPO/sql/900_logins.sh"
	assert_eq "$(jq -r .environment.PGPASSWORD <<<"$d")" "$(sed -n 's/^HB_GRAFANA_DB_PASSWORD=//p' "$HB_REPO/.env.example")"
	assert_eq "$(jq -r .environment.PGHOST <<<"$d")" postgres
	assert_eq "$(jq -r .environment.PGDATABASE <<<"$d")" "$(jq -r .services.postgres.environment.POSTGRES_DB <<<"$json")"
	# the thresholds marked are the classifier's
	assert_eq "$(jq -r .environment.HB_BRADY <<<"$d")" 50
	assert_eq "$(jq -r .environment.HB_TACHY <<<"$d")" 110
	assert_eq "$(jq -r .services.consumer.environment.HB_TACHY <<<"$json")" 110
	# after the database, restarted when it ends (its first round fails while PostgreSQL is away)
	assert_eq "$(jq -r .depends_on.postgres.condition <<<"$d")" service_healthy
	assert_eq "$(jq -r .restart <<<"$d")" unless-stopped
	assert_eq "$(jq -r .restart <<<"$w")" unless-stopped
	# health: the page is fresh; the web server serves it on its own port 80
	[[ $(jq -r '.healthcheck.test[1]' <<<"$d") == *"$out/index.html"* ]]
	assert_eq "$(jq -r '.healthcheck.test | join(" ")' <<<"$w")" "CMD-SHELL wget -q -O /dev/null http://127.0.0.1/index.html"
}

# The dashboard service's command and health check, run here as the container
# runs them (compose's $$ is a $), as the login sql/900_logins.sh makes,
# into a directory of our own.
@test "the dashboard service's command writes the page as hbmon_grafana; its health check follows it" {
	hb_empty_tables
	HB_GRAFANA_DB_PASSWORD="test-only-$RANDOM" POSTGRES_USER=$PGUSER POSTGRES_DB=$PGDATABASE \
		env -u HB_LOADER_DB_PASSWORD bash "$HB_REPO/sql/900_logins.sh"
	hbsim -q --count 200 --rate 0 | hbclassify -qq --store | hbpgload -q
	json=$(resolved)
	mapfile -t cmd < <(jq -r '.services.dashboard.command[]' <<<"$json")
	out=${cmd[-1]}
	dir=$BATS_TEST_TMPDIR/dashboard
	cmd[-1]=$dir
	hc=$(jq -r '.services.dashboard.healthcheck.test[1]' <<<"$json" | sed 's/\$\$/$/g')
	hc=${hc//"$out"/"$dir"}
	mapfile -t denv < <(jq -r '.services.dashboard.environment | to_entries[]
		| select(.key | test("^(PGHOST|PGDATABASE|PGPASSWORD)$") | not) | "\(.key)=\(.value)"' <<<"$json")
	run sh -c "$hc"
	[ "$status" -ne 0 ]
	env "${denv[@]}" PATH="$HB_REPO/scripts:$PATH" setsid "${cmd[@]}" 2>"$BATS_TEST_TMPDIR/dash.err" 3>&- &
	pid=$!
	wait_for 60 test -s "$dir/index.html"
	wait_for 10 sh -c "$hc"
	# every chart and the page, readable by the web server's own user (nginx)
	for f in index.html fleet-bpm.png customers-bpm.png anomalies.png distribution.png status.png summary.txt; do
		test -s "$dir/$f"
	done
	assert_eq "$(find "$dir" -maxdepth 1 -type f ! -perm -o=r | wc -l)" 0
	# the readings it read as the reader login are on the page, which reloads itself every 5 s
	grep -q 'CUST_000' "$dir/index.html"
	grep -q '<meta http-equiv="refresh" content="5">' "$dir/index.html"
	# it keeps rewriting the page
	touch -d '-1 hour' "$dir/index.html"
	run sh -c "$hc"
	[ "$status" -ne 0 ]
	wait_for 15 sh -c "$hc"
	# SIGTERM (docker stop: to it alone) ends it with 0, quietly (hb-report prints nothing on success)
	kill -TERM "$pid"
	wait "$pid"
	cat "$BATS_TEST_TMPDIR/dash.err" >&2
	[ ! -s "$BATS_TEST_TMPDIR/dash.err" ]
	# no scratch directories left in the volume for the web server to serve
	assert_eq "$(find "$dir" -mindepth 1 -maxdepth 1 -name '.hb-report.*' | wc -l)" 0
	# it read as hbmon_grafana: without hbmon_reader that login reads nothing, and the first round fails
	q "REVOKE hbmon_reader FROM $READER" >/dev/null
	run env "${denv[@]}" PATH="$HB_REPO/scripts:$PATH" "${cmd[@]}" 3>&-
	q "GRANT hbmon_reader TO $READER" >/dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"permission denied"* ]]
}

@test "producer and consumer log to the container's stderr; the consumer is not the superuser" {
	json=$(resolved)
	assert_eq "$(jq -r .services.producer.environment.HB_LOG <<<"$json")" -
	assert_eq "$(jq -r .services.consumer.environment.HB_LOG <<<"$json")" -
	user=$(jq -r .services.consumer.environment.PGUSER <<<"$json")
	[ "$user" != postgres ]
	# the login sql/900_logins.sh makes
	assert_eq "$user" "$LOGIN"
	grep -q "^hb_login $LOGIN hbmon_loader HB_LOADER_DB_PASSWORD " "$HB_REPO/sql/900_logins.sh"
	# the image sets HB_LOG=- too (docker run), and ships hb-notify (make install) with jq and curl
	grep -q '^ENV .*HB_LOG=-' "$HB_REPO/Dockerfile"
	grep -q '^COPY scripts/hb-pipeline ' "$HB_REPO/Dockerfile"
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
	[[ $(grep '^worker 2:' <<<"$output") == *"| hbclassify --stats 10 --store --brady 50 --tachy 110 --min 1 --max 300 --silence 10 |"* ]]
	mapfile -t penv < <(HB_CUSTOMERS=100 service_env producer)
	run env "${penv[@]}" "$HB_REPO/scripts/hb-pipeline" commands
	[[ $(grep '^producer:' <<<"$output") == "producer: hbsim --customers 100 --rate 40 --anomaly-rate 0.05 | hbkafka-pub --stats 10" ]]
	# each stage says what it does every HB_STATS seconds (hbsim: hbkafka-pub for it)
	run env "${cenv[@]}" HB_STATS=30 "$HB_REPO/scripts/hb-pipeline" commands
	[[ $(grep '^worker 1:' <<<"$output") == "worker 1: hbkafka-sub --stats 30 "*"| hbclassify --stats 30 "*"| hbpgload --stats 30 "* ]]
	run env "${cenv[@]}" HB_STATS=often "$HB_REPO/scripts/hb-pipeline" commands
	[ "$status" -eq 2 ]
	assert_eq "$output" "hb-pipeline: HB_STATS=often: want seconds, 0 (no stats lines) or 0.1 to 86400"
	# a bad value is one line naming the variable, before anything runs
	run env "${cenv[@]}" HB_TACHY=110bpm "$HB_REPO/scripts/hb-pipeline" worker --once
	[ "$status" -eq 2 ]
	assert_eq "$output" "hb-pipeline: HB_TACHY=110bpm: not a whole number (for --tachy)"
	run env HB_LOG_LEVEL=chatty "$HB_REPO/scripts/hb-pipeline" producer
	[ "$status" -eq 2 ]
	assert_eq "$output" "hb-pipeline: HB_LOG_LEVEL=chatty: want DEBUG, INFO, WARNING or ERROR"
}

# hbclassify and its options in worker 1's command line, for the consumer's
# environment as compose resolves it with NAME=VALUE ... in the shell.
classify_opts() {
	local cenv
	mapfile -t cenv < <(
		[[ $# -eq 0 ]] || export "$@"
		service_env consumer
	)
	env "${cenv[@]}" "$HB_REPO/scripts/hb-pipeline" commands | sed -n 's/^worker 1: .* | \(hbclassify [^|]*[^ |]\) | .*/\1/p'
}

@test "hb-pipeline: SILENCE follows the fleet when HB_SILENCE is empty: max(10, ceil(20 x customers / rate))" {
	# .env.example leaves it empty, and its 20 customers at 40/s give hbclassify's own 10 s
	assert_eq "$(sed -n 's/^HB_SILENCE=//p' "$HB_REPO/.env.example")" ""
	assert_eq "$(classify_opts)" "hbclassify --stats 10 --store --brady 40 --tachy 180 --min 1 --max 300 --silence 10"
	# seed 002's 10,000 customers at 40/s: each reads every 250 s, SILENCE after 5000 s
	[[ $(classify_opts HB_CUSTOMERS=10000) == *" --silence 5000" ]]
	# ceil: 7 customers at 3/s is 46.7 s
	[[ $(classify_opts HB_CUSTOMERS=7 HB_RATE=3) == *" --silence 47" ]]
	[[ $(classify_opts HB_CUSTOMERS=20 HB_RATE=0.1) == *" --silence 4000" ]]
	# never below 10 s
	[[ $(classify_opts HB_CUSTOMERS=5 HB_RATE=1000) == *" --silence 10" ]]
	# HB_SILENCE given wins
	[[ $(classify_opts HB_CUSTOMERS=10000 HB_SILENCE=30) == *" --silence 30" ]]
	[[ $(classify_opts HB_CUSTOMERS=10000 HB_SILENCE=0) == *" --silence 0" ]]
	# rate 0 (as fast as possible), or no fleet given: hbclassify's default
	[[ $(classify_opts HB_RATE=0) != *--silence* ]]
	[[ $(env -u HB_CUSTOMERS -u HB_SILENCE HB_RATE=40 "$HB_REPO/scripts/hb-pipeline" commands | grep '^worker 1:') != *--silence* ]]
	# a bad value is one line naming the variable, before anything runs
	run env -u HB_SILENCE HB_CUSTOMERS=1e4 HB_RATE=40 "$HB_REPO/scripts/hb-pipeline" worker --once
	[ "$status" -eq 2 ]
	assert_eq "$output" "hb-pipeline: HB_CUSTOMERS=1e4: not a whole number (for --silence)"
	# said in --help and the README
	"$HB_REPO/scripts/hb-pipeline" --help | grep -qF 'max(10, ceil(20 * HB_CUSTOMERS / HB_RATE))'
	grep -qF 'max(10, ceil(20 × customers / rate))' "$HB_REPO/README.md"
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

@test "900_logins.sh: the consumer's login stores readings and alerts, and loads alert states" {
	hb_empty_tables
	# without its password it makes no consumer login, and says so
	run env -u HB_LOADER_DB_PASSWORD -u HB_GRAFANA_DB_PASSWORD POSTGRES_USER="$PGUSER" POSTGRES_DB="$PGDATABASE" \
		bash "$HB_REPO/sql/900_logins.sh"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HB_LOADER_DB_PASSWORD is not set: no $LOGIN login"* ]]
	assert_eq "$(q "SELECT count(*) FROM pg_roles WHERE rolname = '$LOGIN'")" 0
	# a psql that fails ends it with 1 and says which login
	run env -u HB_GRAFANA_DB_PASSWORD HB_LOADER_DB_PASSWORD=x POSTGRES_USER="$PGUSER" POSTGRES_DB=hb_no_such_db \
		bash "$HB_REPO/sql/900_logins.sh"
	[ "$status" -eq 1 ]
	[[ "$output" == *"900_logins.sh: could not create the login $LOGIN"* ]]
	HB_LOADER_DB_PASSWORD="it's-$RANDOM" POSTGRES_USER=$PGUSER POSTGRES_DB=$PGDATABASE \
		env -u HB_GRAFANA_DB_PASSWORD bash "$HB_REPO/sql/900_logins.sh"
	# no default setting for it (read-only would stop its writes)
	assert_eq "$(q "SELECT count(*) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = '$LOGIN'")" 0
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

# The consumer's health check, with files older than 1 s stale, says $1.
health_says() {
	HB_HEALTH_MAX_AGE=1 "$HB_REPO/scripts/hb-pipeline" health consumer 2>&1 | grep -qF -- "$1"
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
	# each worker's files stop ageing at its own last write (a worker's
	# hbpgload may finish its last fold a second after the others), so wait
	# for worker 2's own complaint rather than expect it with the first
	wait_for 10 health_says "worker 2: $HB_METRICS_DIR/hbpgload-2.prom is "
	run env HB_HEALTH_MAX_AGE=1 "$HB_REPO/scripts/hb-pipeline" health consumer
	[ "$status" -eq 1 ]
	[[ "$output" == *"worker 2: $HB_METRICS_DIR/hbpgload-2.prom is "*"s old"* ]]
	# both sides logged to their stderr (HB_LOG=-)
	grep -q ' hbkafka-pub INFO ' "$BATS_TEST_TMPDIR/producer.err"
	grep -q ' hbpgload INFO done ' "$BATS_TEST_TMPDIR/consumer.err"
}
