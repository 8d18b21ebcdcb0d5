#!/usr/bin/env bats
# compose.bats — compose.yaml cannot run here (no Docker engine), so it is
# validated: docker-compose parses it, and its services, images, ports,
# mounts and commands agree with the repository.

load helpers

@test "docker-compose accepts compose.yaml, with and without the grafana profile" {
	cd "$HB_REPO"
	HB_PG_PASSWORD=x run docker-compose -f compose.yaml config -q
	[ "$status" -eq 0 ]
	HB_PG_PASSWORD=x run docker-compose -f compose.yaml config --services
	assert_eq "$(echo "$output" | sort | tr '\n' ' ')" "consumer grafana kafka kafka-init postgres producer "
	# no password in the file: it must come from the environment
	run env -u HB_PG_PASSWORD docker-compose -f compose.yaml config -q
	[ "$status" -ne 0 ]
	[[ "$output" == *"set HB_PG_PASSWORD"* ]]
}

@test "compose.yaml's services agree with the repository" {
	cd "$HB_REPO"
	HB_PG_PASSWORD=x docker-compose -f compose.yaml --profile grafana config >"$BATS_TEST_TMPDIR/resolved.yaml"
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
