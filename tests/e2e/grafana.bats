#!/usr/bin/env bats
# grafana.bats — the Grafana provisioning and dashboard.  Grafana cannot run
# here, so: the provisioning YAML parses and holds no password; every panel
# uses the provisioned datasource; and every panel query and variable query of
# grafana/dashboards/hbmon.json (taken with jq, so panels added later are
# checked too), with Grafana's macros expanded as Grafana expands them
# (tests/e2e/grafana_sql.py), runs as the datasource's own login — created by
# sql/900_logins.sh, hbmon_reader only — against loaded data, and
# returns rows of the shape its panel needs; the seeds' panels (stats,
# distribution, status pie, latest readings, alerts) also agree with the
# tables they summarise.  The alert rules of grafana/provisioning/alerting
# (taken from the YAML, so rules added later are checked too) have the
# structure Grafana's file provisioning reads, and each rule's query, run the
# same way, returns a row for a customer whose stored alert meets the rule and
# none for one whose alert does not; the INVALID rule one for a customer with
# INVALID readings in the last 5 minutes and none for older or valid ones.

load helpers

DASH=${HB_GRAFANA_DASHBOARD:-$HB_REPO/grafana/dashboards/hbmon.json}
DSYAML="$HB_REPO/grafana/provisioning/datasources/hbmon.yaml"
DBYAML="$HB_REPO/grafana/provisioning/dashboards/hbmon.yaml"
ALERTDIR=${HB_GRAFANA_ALERTING:-$HB_REPO/grafana/provisioning/alerting}
EXPAND="$HB_REPO/tests/e2e/grafana_sql.py"

# A field of the provisioned datasource (uid, user, ...).
ds_field() {
	python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["datasources"][0][sys.argv[2]])' "$DSYAML" "$1"
}

setup_file() {
	hb_newdb
	# the login Grafana's datasource names, made as the postgres container makes it
	export GRAFANA_USER GRAFANA_UID
	GRAFANA_USER=$(ds_field user)
	GRAFANA_UID=$(ds_field uid)
	HB_GRAFANA_DB_PASSWORD="test-only-$RANDOM" POSTGRES_USER=$PGUSER POSTGRES_DB=$PGDATABASE \
		env -u HB_LOADER_DB_PASSWORD bash "$HB_REPO/sql/900_logins.sh"
	# with alerts stored (--store); after the simulated readings, CUST_00001
	# sends 4 readings of 205 bpm 20 s later, so the others' SILENCE alerts
	# and its TACHYCARDIA stay open: vw_open_alerts is not empty
	{
		hbsim --seed 5 --start 2026-11-23T10:00:00Z --count 20000 --rate 0 --invalid-rate 0.01 -q
		for s in 40.0 40.5 41.0 41.5; do
			printf '{"customer_id":"CUST_00001","timestamp":"2026-11-23T10:08:%sZ","heart_rate":205}\n' "$s"
		done
	} | hbclassify -qq --store | hbpgload -q
	# the dashboard's time range: the readings (10:00 to 10:08:42) and the
	# loader's metrics snapshots (written now)
	export T_FROM=2026-11-23T09:59:00Z T_TO
	T_TO=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
}

teardown_file() {
	hb_dropdb
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $GRAFANA_USER" || true
}

# psql as Grafana's login: tab-separated, unaligned, stop at the first error.
gq() {
	PGUSER=$GRAFANA_USER psql -X -qAt -F $'\t' -v ON_ERROR_STOP=1 "$@"
}

# Expand a query (stdin) for the test's time range, $__interval = 1m.
expand() {
	python3 "$EXPAND" --from "$T_FROM" --to "$T_TO" --interval 1m "$@"
}

# Every non-row panel, rows' own panels included, one JSON object a line.
panels() {
	jq -c '.panels[] | ., (.panels // [])[] | select(.type != "row")' "$DASH"
}

# The SQL of a templating variable (a string in Grafana 10, an object later).
VARSQL='.query | if type == "object" then (.rawSql // .query) else . end'

# --var/--text arguments for every dashboard variable: a query variable gets
# the first two values its own query returns now, a custom one its first two.
variable_args() {
	local v name type sql values
	while read -r v; do
		name=$(jq -r .name <<<"$v")
		type=$(jq -r .type <<<"$v")
		case $type in
		query)
			sql=$(jq -r "$VARSQL" <<<"$v" | expand "${args[@]}") || return 1
			values=$(gq -c "$sql" | cut -f1 | head -n 2 | paste -sd, -) || return 1
			;;
		custom) values=$(jq -r '.query' <<<"$v" | tr -d ' ' | cut -d, -f1-2) ;;
		*) values=$(jq -r '.current.value | if type == "array" then join(",") else . end' <<<"$v") ;;
		esac
		if jq -e '.multi or .includeAll' <<<"$v" >/dev/null; then
			args+=(--var "$name=$values")
		else
			args+=(--text "$name=${values%%,*}")
		fi
	done < <(jq -c '.templating.list[]?' "$DASH")
}

@test "the macro expansion is Grafana's (cases from its macros_test.go)" {
	x() { printf '%s' "$1" | python3 "$EXPAND" --from 2018-04-12T18:00:00Z --to 2018-04-12T18:05:00Z --interval 5m --var 'c=A,B'\''C'; }
	assert_eq "$(x '$__timeFilter(time_column)')" "time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'"
	assert_eq "$(x "GROUP BY \$__timeGroup(time_column,'5m')")" "GROUP BY floor(extract(epoch from time_column)/300)*300"
	assert_eq "$(x 'GROUP BY $__timeGroup(time_column, 5m)')" "GROUP BY floor(extract(epoch from time_column)/300)*300"
	assert_eq "$(x 'SELECT $__timeGroup(time_column,$__interval), 1')" 'SELECT floor(extract(epoch from time_column)/300)*300 AS "time", 1'
	assert_eq "$(x "\$__timeGroupAlias(t, '1h', NULL)")" 'floor(extract(epoch from t)/3600)*3600 AS "time"'
	assert_eq "$(x '$__timeFrom() $__timeTo() $__interval_ms $__interval')" "'2018-04-12T18:00:00Z' '2018-04-12T18:05:00Z' 300000 5m"
	assert_eq "$(x '$__time(t), $__timeEpoch(t)')" 't AS "time", extract(epoch from t) as "time"'
	assert_eq "$(x '$__unixEpochFilter(e)')" "e >= 1523556000 AND e <= 1523556300"
	assert_eq "$(x 'x IN ($c) OR x IN (${c})')" "x IN ('A','B''C') OR x IN ('A','B''C')"
	# what it does not know is an error, not a silent pass
	run x '$__nosuchmacro(t)'
	[ "$status" -ne 0 ]
	run x 'x IN ($undefined)'
	[ "$status" -ne 0 ]
	run x 'x = ${c:csv}'
	[ "$status" -ne 0 ]
}

@test "the provisioning YAML parses, names a read-only login and holds no password" {
	run python3 - "$DSYAML" "$DBYAML" "$HB_REPO/compose.yaml" <<'PY'
import re, sys, yaml
ds_file, db_file, compose_file = sys.argv[1:4]
bad = []
ds = yaml.safe_load(open(ds_file))["datasources"]
if len(ds) != 1:
    bad.append("want one datasource, got %d" % len(ds))
d = ds[0]
if d.get("type") not in ("postgres", "grafana-postgresql-datasource"):
    bad.append("datasource type " + str(d.get("type")))
if not d.get("uid"):
    bad.append("datasource has no fixed uid")
if d.get("user") in (None, "", "postgres") or d.get("user") != "hbmon_grafana":
    bad.append("datasource user %r is not the read-only hbmon_grafana" % d.get("user"))
# every value of a key that looks like a secret must be an environment reference
def walk(node, path):
    if isinstance(node, dict):
        for k, v in node.items():
            walk(v, path + [str(k)])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, path + [str(i)])
    elif re.search(r"pass|secret|token|key", path[-1], re.I) and path[-1] != "tlsSkipVerify":
        if not re.fullmatch(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", str(node)):
            bad.append("literal secret at " + ".".join(path))
walk(ds, ["datasources"])
pw = str(d.get("secureJsonData", {}).get("password", ""))
var = re.sub(r"[${}]", "", pw)
if not var:
    bad.append("no password reference in secureJsonData")
# the provider reads where compose.yaml mounts the dashboards, and Grafana gets the variable
prov = yaml.safe_load(open(db_file))["providers"]
if [p["options"]["path"] for p in prov] != ["/var/lib/grafana/dashboards"]:
    bad.append("dashboard provider path is not /var/lib/grafana/dashboards")
g = yaml.safe_load(open(compose_file))["services"]["grafana"]
mounts = [v.split(":")[:2] for v in g["volumes"]]
for want in (["./grafana/provisioning", "/etc/grafana/provisioning"],
             ["./grafana/dashboards", "/var/lib/grafana/dashboards"]):
    if want not in mounts:
        bad.append("compose.yaml's grafana does not mount %s at %s" % tuple(want))
if var and var not in g.get("environment", {}):
    bad.append("compose.yaml does not give grafana " + var)
if "HB_PG_PASSWORD" in g.get("environment", {}):
    bad.append("grafana gets the superuser's password")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "the dashboard JSON is valid and every panel and variable uses the provisioned datasource" {
	jq empty "$DASH"
	[ -n "$GRAFANA_UID" ]
	n=$(panels | wc -l)
	[ "$n" -ge 10 ]
	# ids unique, each panel and target on the provisioned uid, raw SQL in a format we check
	assert_eq "$(panels | jq -s '[.[].id] | length - (unique | length)')" 0
	bad=$(panels | jq -r --arg uid "$GRAFANA_UID" '
		.title as $t |
		(if .datasource.uid != $uid then "\($t): panel datasource \(.datasource.uid)" else empty end),
		(if (.targets // []) == [] then "\($t): no targets" else empty end),
		(.targets[]? |
			(if (.datasource.uid // $uid) != $uid then "\($t) \(.refId): target datasource \(.datasource.uid)" else empty end),
			(if (.rawSql // "") == "" then "\($t) \(.refId): no rawSql" else empty end),
			(if .format != "time_series" and .format != "table" then "\($t) \(.refId): format \(.format)" else empty end),
			# the open alerts (vw_open_alerts: one row per open alert) are those open
			# now, whatever the range: the one source that may go without (the
			# sources: what follows FROM or JOIN, but for extract(... FROM x)); a
			# report function of sql/030_report.sql bounds its rows by the range
			# it is given, the dashboard range
			(if ((.rawSql // "") | test("\\$__timeFilter\\(")) or
			    (((.rawSql // "") | test("\\bhb_report_[a-z_]+\\(\\$__timeFrom\\(\\), \\$__timeTo\\(\\)")) and
			     ((.rawSql // "") | test("heartbeat_records|heartbeat_anomalies|heartbeat_alerts|pipeline_metrics|hb_rollup_") | not)) or
			    ([(.rawSql // "") | scan("(?i)\\b(?:from|join)\\s+([a-z_][a-z_0-9.]*)\\b(?!\\s*\\))")[0]] | unique == ["vw_open_alerts"] and
			     ((.rawSql // "") | test("heartbeat_records|heartbeat_anomalies|heartbeat_alerts|pipeline_metrics|hb_rollup_") | not))
			 then empty else "\($t) \(.refId): no $__timeFilter" end))')
	assert_eq "$bad" ""
	bad=$(jq -r --arg uid "$GRAFANA_UID" '.templating.list[]? | select(.type == "query") |
		select(.datasource.uid != $uid) | "variable \(.name): datasource \(.datasource.uid)"' "$DASH")
	assert_eq "$bad" ""
	# the variable the brief asks for: customer, multi-select
	assert_eq "$(jq -r '.templating.list[] | select(.name == "customer") | .multi' "$DASH")" true
}

@test "the datasource's login is a member of hbmon_reader only, read-only, with the given password" {
	assert_eq "$GRAFANA_USER" hbmon_grafana
	assert_eq "$(q "SELECT string_agg(g.rolname, ',') FROM pg_auth_members m
		JOIN pg_roles u ON u.oid = m.member JOIN pg_roles g ON g.oid = m.roleid
		WHERE u.rolname = '$GRAFANA_USER'")" hbmon_reader
	assert_eq "$(q "SELECT rolcanlogin AND NOT (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)
		FROM pg_roles WHERE rolname = '$GRAFANA_USER'")" t
	run gq -c "INSERT INTO heartbeat_records (customer_id, ts, heart_rate) VALUES ('X', now(), 70)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"read-only transaction"* ]]
	# and with read-only turned off, hbmon_reader still may not write
	run gq -c "SET default_transaction_read_only = off" -c "DELETE FROM pipeline_metrics"
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied"* ]]
	assert_eq "$(gq -c 'SHOW default_transaction_read_only')" on
	assert_eq "$(gq -c 'SHOW statement_timeout')" 30s
	# the password arrives intact, quotes and all (md5 here so that SQL can check it)
	pw="it's \$a \\ pass\"word"
	HB_GRAFANA_DB_PASSWORD=$pw PGOPTIONS='-c password_encryption=md5' POSTGRES_USER=$PGUSER \
		POSTGRES_DB=$PGDATABASE env -u HB_LOADER_DB_PASSWORD bash "$HB_REPO/sql/900_logins.sh"
	assert_eq "$(psql -X -qAt -v pw="$pw" -v u="$GRAFANA_USER" <<<"SELECT rolpassword = 'md5' || md5(:'pw' || :'u') FROM pg_authid WHERE rolname = :'u';")" t
	# without the passwords it makes nothing and says so, for each login; sourced,
	# as the postgres image's entrypoint does, it returns to its caller
	run env -u HB_GRAFANA_DB_PASSWORD -u HB_LOADER_DB_PASSWORD \
		bash -c 'set -Eeo pipefail; . "$1"; echo returned' _ "$HB_REPO/sql/900_logins.sh"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HB_GRAFANA_DB_PASSWORD is not set: no $GRAFANA_USER login"* ]]
	[[ "$output" == *"HB_LOADER_DB_PASSWORD is not set: no hbmon_consumer login"* ]]
	[[ "$output" == *returned ]]
	# sourced, a psql that fails ends the caller with 1 and says which login
	run env -u HB_LOADER_DB_PASSWORD HB_GRAFANA_DB_PASSWORD=x POSTGRES_USER=$PGUSER POSTGRES_DB=hb_no_such_db \
		bash -c 'set -Eeo pipefail; . "$1"; echo returned' _ "$HB_REPO/sql/900_logins.sh"
	[ "$status" -eq 1 ]
	[[ "$output" == *"could not create the login $GRAFANA_USER"* ]]
	[[ "$output" != *returned* ]]
}

@test "every variable query runs as the datasource's login and returns values" {
	args=()
	variable_args
	n=0
	while read -r v; do
		name=$(jq -r .name <<<"$v")
		sql=$(jq -r "$VARSQL" <<<"$v" | expand "${args[@]}")
		cols=$({ printf '%s\n' "$sql"; echo '\gdesc'; } | gq | cut -f1 | paste -sd, -)
		[[ $cols != *,* || $cols == "__text,__value" || $cols == "__value,__text" ]] ||
			{ echo "variable $name: columns $cols" >&2; false; }
		rows=$(gq -c "SELECT count(*) FROM (
$sql
) q")
		[ "$rows" -ge 1 ] || { echo "variable $name: no values" >&2; false; }
		n=$((n + 1))
	done < <(jq -c '.templating.list[]? | select(.type == "query")' "$DASH")
	[ "$n" -ge 1 ]
	# and the customers it lists are the loaded ones
	sql=$(jq -r '.templating.list[] | select(.name == "customer") | '"$VARSQL" "$DASH" | expand)
	assert_eq "$(gq -c "$sql" | paste -sd, -)" "$(q 'SELECT string_agg(DISTINCT customer_id, $$,$$ ORDER BY customer_id) FROM heartbeat_records')"
}

# Check one target; prints what is wrong.  $1 panel JSON, $2 target JSON.
check_target() {
	local p=$1 t=$2 title ref fmt kind sql desc names first types out rows unordered want numeric timeish
	title=$(jq -r .title <<<"$p")
	kind=$(jq -r .type <<<"$p")
	ref=$(jq -r .refId <<<"$t")
	fmt=$(jq -r .format <<<"$t")
	sql=$(jq -r .rawSql <<<"$t" | expand "${args[@]}") || { echo "$title $ref: macro expansion failed"; return; }
	desc=$({ printf '%s\n' "$sql"; echo '\gdesc'; } | gq 2>&1) || { echo "$title $ref: $desc"; return; }
	names=$(cut -f1 <<<"$desc" | paste -sd, -)
	numeric='^(smallint|integer|bigint|numeric|real|double precision)$'
	timeish='^(smallint|integer|bigint|numeric|real|double precision|timestamp with time zone|timestamp without time zone)$'
	if [[ $fmt == time_series ]]; then
		first=$(head -n 1 <<<"$desc")
		[[ ${first%%$'\t'*} == time ]] || echo "$title $ref: first column is not time: $names"
		[[ ${first#*$'\t'} =~ $timeish ]] || echo "$title $ref: time is ${first#*$'\t'}"
		# the other columns: numbers, and a text "metric" for the series name
		types=$(tail -n +2 <<<"$desc" | awk -F'\t' -v num="$numeric" \
			'!($2 ~ num) && !($1 == "metric" && $2 == "text") { print $1 " is " $2 }')
		[[ -z $types ]] || echo "$title $ref: not a value column: $types"
		[[ $(wc -l <<<"$desc") -ge 2 ]] || echo "$title $ref: no value column"
		# Grafana wants time series sorted by time
		out=$(gq -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE t < prev)
			FROM (SELECT \"time\" AS t, lag(\"time\") OVER () AS prev FROM (
$sql
) q) s" 2>&1) || { echo "$title $ref: $out"; return; }
		read -r rows unordered <<<"$out"
		[[ $unordered -eq 0 ]] || echo "$title $ref: not sorted by time ($unordered rows out of order)"
	else
		# a table: the columns the panel declares (its organize transformation), or numbers for a stat
		want=$(jq -r '[.transformations[]? | select(.id == "organize") | .options.indexByName // {} |
			to_entries | sort_by(.value)[].key] | join(",")' <<<"$p")
		if [[ -n $want ]]; then
			assert_eq "$names" "$want" 2>&1 | sed "s/^/$title $ref: /"
		elif [[ $kind =~ ^(stat|gauge|bargauge|piechart)$ ]]; then
			cut -f2 <<<"$desc" | grep -Eq "$numeric" || echo "$title $ref: no numeric column: $names"
		elif [[ $kind == barchart ]]; then
			# the x axis (options.xField, a text column) first, then the bars' numbers
			first=$(head -n 1 <<<"$desc")
			[[ ${first%%$'\t'*} == $(jq -r .options.xField <<<"$p") ]] || echo "$title $ref: first column is not the xField: $names"
			[[ ${first#*$'\t'} == text ]] || echo "$title $ref: x is ${first#*$'\t'}"
			types=$(tail -n +2 <<<"$desc" | awk -F'\t' -v num="$numeric" '!($2 ~ num) { print $1 " is " $2 }')
			[[ -z $types ]] || echo "$title $ref: not a value column: $types"
			[[ $(wc -l <<<"$desc") -ge 2 ]] || echo "$title $ref: no value column"
		fi
		rows=$(gq -c "SELECT count(*) FROM (
$sql
) q" 2>&1) || { echo "$title $ref: $rows"; return; }
	fi
	[[ $rows -ge 1 ]] || echo "$title $ref: no rows"
	echo "# $title $ref ($fmt): $rows rows, columns $names" >&3
}

@test "every panel query runs as the datasource's login and returns rows of its panel's shape" {
	args=()
	variable_args
	[[ " ${args[*]} " == *" customer=CUST_00001,CUST_00002 "* ]]
	n=0
	: >"$BATS_TEST_TMPDIR/problems"
	while read -r p; do
		while read -r t; do
			check_target "$p" "$t" >>"$BATS_TEST_TMPDIR/problems"
			n=$((n + 1))
		done < <(jq -c '.targets[]' <<<"$p")
	done < <(panels)
	assert_eq "$(cat "$BATS_TEST_TMPDIR/problems")" ""
	assert_eq "$n" "$(panels | jq -s '[.[].targets[]] | length')"
	[ "$n" -ge 10 ]
}

# ---- the seeds' panels: what they show, against the rows ---------------------

# psql as the superuser, tab-separated, like gq.
qt() {
	psql -X -qAt -F $'\t' -v ON_ERROR_STOP=1 -c "$1"
}

# The SQL of the one panel titled $1, expanded with the variables' args
# (variable_args) and the further arguments given (a later --to wins).
panel_sql() {
	local title=$1 sql
	shift
	sql=$(jq -r --arg t "$title" '[.panels[] | select(.title == $t)] |
		if length == 1 then .[0].targets[0].rawSql else error("\(length) panels titled \($t)") end' "$DASH") || return 1
	expand "${args[@]}" "$@" <<<"$sql"
}

@test "stats, anomalies in the last 5 minutes and open alerts agree with the rows" {
	args=()
	variable_args
	# readings in range (valid and INVALID with a time), average, min, max (seed 004)
	got=$(gq -c "$(panel_sql 'Readings, average, min and max bpm in range')")
	want=$(qt "WITH v AS (SELECT heart_rate FROM heartbeat_records
			UNION ALL SELECT heart_rate FROM heartbeat_anomalies WHERE anomaly_type <> 'INVALID')
		SELECT (SELECT count(*) FROM v)
		       + (SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID' AND ts IS NOT NULL),
		       round(avg(heart_rate), 1), min(heart_rate), max(heart_rate)
		FROM v")
	assert_eq "$got" "$want"
	[ "$(cut -f1 <<<"$got")" -ge 19000 ]
	# anomalies in the last 5 minutes of the range (seed 001): the range ending
	# at the last reading counts the last 5 minutes of readings ...
	got=$(gq -c "$(panel_sql 'Anomalies in the last 5 minutes' --to 2026-11-23T10:08:42Z)")
	want=$(qt "SELECT count(*), count(*) FILTER (WHERE anomaly_type = 'BRADYCARDIA'),
		       count(*) FILTER (WHERE anomaly_type = 'TACHYCARDIA'), count(*) FILTER (WHERE anomaly_type = 'INVALID')
		FROM heartbeat_anomalies WHERE ts > '2026-11-23T10:03:42Z' AND ts <= '2026-11-23T10:08:42Z'")
	assert_eq "$got" "$want"
	[ "$(cut -f1 <<<"$got")" -ge 1 ]
	[ "$(cut -f1 <<<"$got")" -lt "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE ts IS NOT NULL")" ]
	# ... and the range ending now (days after the readings) counts none
	assert_eq "$(gq -c "$(panel_sql 'Anomalies in the last 5 minutes')" | cut -f1)" 0
	# open alerts now, by type
	got=$(gq -c "$(panel_sql 'Open alerts now')")
	want=$(qt "SELECT count(*), count(*) FILTER (WHERE alert = 'TACHYCARDIA'), count(*) FILTER (WHERE alert = 'BRADYCARDIA'),
		       count(*) FILTER (WHERE alert = 'SILENCE'), count(*) FILTER (WHERE alert = 'DEVIATION')
		FROM heartbeat_alerts WHERE end_ts IS NULL")
	assert_eq "$got" "$want"
	[ "$(cut -f2 <<<"$got")" -ge 1 ]
	[ "$(cut -f4 <<<"$got")" -ge 1 ]
}

@test "the heart-rate distribution and the status pie count every status, NORMAL included" {
	args=()
	variable_args
	# the thresholds' variables default to hbclassify's (40, 180): the bars'
	# colours then split the readings as the classifier did
	[[ " ${args[*]} " == *" brady=40 "* ]]
	[[ " ${args[*]} " == *" tachy=180 "* ]]
	counts="SELECT (SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'BRADYCARDIA'),
		       (SELECT count(*) FROM heartbeat_records),
		       (SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'TACHYCARDIA')"
	dist=$(panel_sql 'Heart-rate distribution')
	got=$(gq -c "SELECT sum(b), sum(n), sum(t), count(*), count(DISTINCT x) FROM (
$dist
) d(x, b, n, t)")
	want=$(qt "$counts")
	assert_eq "$(cut -f1-3 <<<"$got")" "$want"
	# 5 bpm bins, one row each
	[ "$(cut -f4 <<<"$got")" -ge 10 ]
	assert_eq "$(cut -f5 <<<"$got")" "$(cut -f4 <<<"$got")"
	# the bins in bpm order, each named for its 5 bpm
	assert_eq "$(gq -c "$dist" | cut -f1 | head -n 3 | awk -F- '{ print ($2 - $1) }' | sort -u)" 4
	gq -c "$dist" | cut -f1 | cut -d- -f1 | sort -n -c
	# the thresholds are the variables': --brady 50 moves 40-49 into the blue
	args=("${args[@]/#brady=40/brady=50}")
	got=$(gq -c "SELECT sum(b) FROM (
$(panel_sql 'Heart-rate distribution')
) d(x, b, n, t)")
	assert_eq "$got" "$(q "SELECT count(*) FROM (SELECT heart_rate FROM heartbeat_records
		UNION ALL SELECT heart_rate FROM heartbeat_anomalies WHERE anomaly_type <> 'INVALID') v WHERE heart_rate < 50")"
	# and --tachy 100, a rate many readings have: each reading in one colour,
	# 100 itself NORMAL
	args=("${args[@]/#tachy=180/tachy=100}")
	got=$(gq -c "SELECT sum(t), sum(b + n + t) FROM (
$(panel_sql 'Heart-rate distribution')
) d(x, b, n, t)")
	assert_eq "$got" "$(qt "SELECT count(*) FILTER (WHERE heart_rate > 100), count(*) FROM (SELECT heart_rate FROM heartbeat_records
		UNION ALL SELECT heart_rate FROM heartbeat_anomalies WHERE anomaly_type <> 'INVALID') v")"
	[ "$(q "SELECT count(*) FROM heartbeat_records WHERE heart_rate = 100")" -ge 1 ]
	# the status pie (seed 003): NORMAL, BRADYCARDIA, TACHYCARDIA, INVALID
	got=$(gq -c "$(panel_sql 'Readings by status')")
	assert_eq "$(cut -f1-3 <<<"$got")" "$(qt "$counts" | awk -F'\t' -v OFS='\t' '{ print $2, $1, $3 }')"
	assert_eq "$(cut -f4 <<<"$got")" "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE anomaly_type = 'INVALID' AND ts IS NOT NULL")"
	[ "$(cut -f1 <<<"$got")" -ge 1 ]
	[ "$(cut -f4 <<<"$got")" -ge 1 ]
}

@test "the latest readings, the open alerts and the alerts over time are the rows'" {
	args=()
	variable_args
	# the newest 100 readings of both tables, whatever their status (seed 003)
	got=$(gq -c "$(panel_sql 'Latest readings')")
	want=$(qt "SELECT ts, customer_id, heart_rate, status FROM (
		SELECT ts, customer_id, heart_rate, 'NORMAL' AS status FROM heartbeat_records
		UNION ALL SELECT ts, customer_id, heart_rate, anomaly_type FROM heartbeat_anomalies WHERE ts IS NOT NULL) x
		ORDER BY ts DESC, customer_id LIMIT 100")
	assert_eq "$got" "$want"
	assert_eq "$(wc -l <<<"$got")" 100
	# CUST_00001's last readings are TACHYCARDIA, and they are the newest
	assert_eq "$(head -n 1 <<<"$got" | cut -f2,4)" $'CUST_00001\tTACHYCARDIA'
	assert_eq "$(cut -f4 <<<"$got" | sort -u | grep -c NORMAL)" 1
	# the open alerts table: every open alert, oldest first
	got=$(gq -c "$(panel_sql 'Open alerts')")
	assert_eq "$(cut -f1,2 <<<"$got")" "$(qt "SELECT customer_id, alert FROM heartbeat_alerts WHERE end_ts IS NULL ORDER BY start_ts, id")"
	[ "$(wc -l <<<"$got")" -ge 2 ]
	# alerts opened over time: every alert that started in the range
	got=$(gq -c "SELECT sum(opened), count(DISTINCT metric) FROM (
$(panel_sql 'Alerts opened by type')
) a")
	assert_eq "$(cut -f1 <<<"$got")" "$(q "SELECT count(*) FROM heartbeat_alerts WHERE start_ts BETWEEN '$T_FROM' AND '$T_TO'")"
	[ "$(cut -f1 <<<"$got")" -ge 50 ]
	assert_eq "$(cut -f2 <<<"$got")" "$(q "SELECT count(DISTINCT alert) FROM heartbeat_alerts")"
}

# ---- alert rules ---------------------------------------------------------------

# Check the alert rule files of a directory ($1) as Grafana's file
# provisioning reads them; prints what is wrong.
validate_rules() {
	python3 - "$1" "$GRAFANA_UID" "$DASH" <<'PY'
import glob, json, os, re, sys, yaml
d, ds_uid, dash_file = sys.argv[1:4]
dash = json.load(open(dash_file))
panel_ids = {p["id"] for p in dash["panels"]} | {q["id"] for p in dash["panels"] for q in p.get("panels", [])}
bad, uids, titles, n = [], set(), set(), 0
files = sorted(glob.glob(os.path.join(d, "*.yaml")) + glob.glob(os.path.join(d, "*.yml")))
if not files:
    bad.append("no rule files in " + d)
dur = re.compile(r"^\d+(ms|s|m|h|d)$")
for f in files:
    doc = yaml.safe_load(open(f))
    where = os.path.basename(f)
    if doc.get("apiVersion") != 1:
        bad.append("%s: apiVersion %r, not 1" % (where, doc.get("apiVersion")))
    groups = doc.get("groups")
    if not isinstance(groups, list) or not groups:
        bad.append("%s: no groups" % where)
        continue
    for g in groups:
        gw = "%s: group %s" % (where, g.get("name"))
        for k in ("name", "folder"):
            if not isinstance(g.get(k), str) or not g.get(k):
                bad.append("%s: no %s" % (gw, k))
        if not isinstance(g.get("orgId", 1), int):
            bad.append("%s: orgId is not a number" % gw)
        if not dur.match(str(g.get("interval", ""))):
            bad.append("%s: interval %r" % (gw, g.get("interval")))
        if not g.get("rules"):
            bad.append("%s: no rules" % gw)
        for r in g.get("rules") or []:
            n += 1
            rw = "%s: rule %s" % (gw, r.get("uid"))
            uid = str(r.get("uid", ""))
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid):
                bad.append("%s: uid %r (1-40 of A-Za-z0-9_-)" % (rw, uid))
            if uid in uids:
                bad.append("%s: uid used twice" % rw)
            uids.add(uid)
            title = r.get("title")
            if not isinstance(title, str) or not title.strip():
                bad.append("%s: no title" % rw)
            if (g.get("folder"), title) in titles:
                bad.append("%s: title used twice in the folder" % rw)
            titles.add((g.get("folder"), title))
            data = r.get("data") or []
            refs = [x.get("refId") for x in data]
            if not data:
                bad.append("%s: no data" % rw)
            if len(set(refs)) != len(refs) or None in refs:
                bad.append("%s: refIds %r not unique" % (rw, refs))
            if r.get("condition") not in refs:
                bad.append("%s: condition %r is not a refId" % (rw, r.get("condition")))
            queries = 0
            for x in data:
                m = x.get("model") or {}
                xw = "%s %s" % (rw, x.get("refId"))
                if m.get("refId", x.get("refId")) != x.get("refId"):
                    bad.append("%s: model refId %r" % (xw, m.get("refId")))
                if x.get("datasourceUid") == "__expr__":
                    if m.get("type") not in ("reduce", "threshold", "math", "resample", "classic_conditions"):
                        bad.append("%s: expression type %r" % (xw, m.get("type")))
                    if m.get("type") in ("reduce", "threshold", "resample") and m.get("expression") not in refs:
                        bad.append("%s: expression %r is not a refId" % (xw, m.get("expression")))
                    if m.get("type") == "threshold":
                        ev = (m.get("conditions") or [{}])[0].get("evaluator", {})
                        if ev.get("type") not in ("gt", "lt", "within_range", "outside_range") or not ev.get("params"):
                            bad.append("%s: threshold evaluator %r" % (xw, ev))
                elif x.get("datasourceUid") == ds_uid:
                    queries += 1
                    if (m.get("datasource") or {}).get("uid", ds_uid) != ds_uid:
                        bad.append("%s: model datasource %r" % (xw, m.get("datasource")))
                    if m.get("format") != "table" or not str(m.get("rawSql", "")).strip():
                        bad.append("%s: want format table and rawSql" % xw)
                    rt = x.get("relativeTimeRange") or {}
                    if not (isinstance(rt.get("from"), int) and isinstance(rt.get("to"), int) and rt["from"] > rt["to"] >= 0):
                        bad.append("%s: relativeTimeRange %r" % (xw, rt))
                else:
                    bad.append("%s: datasourceUid %r is neither %s nor __expr__" % (xw, x.get("datasourceUid"), ds_uid))
            if queries < 1:
                bad.append("%s: no query on the datasource %s" % (rw, ds_uid))
            cond = next((x for x in data if x.get("refId") == r.get("condition")), {})
            if (cond.get("model") or {}).get("type") not in ("threshold", "classic_conditions", "math"):
                bad.append("%s: the condition is not a threshold" % rw)
            if r.get("noDataState") not in ("Alerting", "NoData", "OK"):
                bad.append("%s: noDataState %r" % (rw, r.get("noDataState")))
            if r.get("execErrState") not in ("Alerting", "Error", "OK"):
                bad.append("%s: execErrState %r" % (rw, r.get("execErrState")))
            if not dur.match(str(r.get("for", ""))):
                bad.append("%s: for %r" % (rw, r.get("for")))
            if r.get("isPaused", False) is not False:
                bad.append("%s: paused" % rw)
            ann = r.get("annotations") or {}
            for k in ("summary", "description"):
                if not str(ann.get(k, "")).strip():
                    bad.append("%s: no annotation %s" % (rw, k))
            labels = r.get("labels") or {}
            if labels.get("severity") not in ("critical", "warning", "info"):
                bad.append("%s: label severity %r" % (rw, labels.get("severity")))
            if "dashboardUid" in r or "panelId" in r:
                if r.get("dashboardUid") != dash.get("uid"):
                    bad.append("%s: dashboardUid %r is not %s" % (rw, r.get("dashboardUid"), dash.get("uid")))
                if r.get("panelId") not in panel_ids:
                    bad.append("%s: panelId %r is not a panel of the dashboard" % (rw, r.get("panelId")))
if files and n == 0:
    bad.append("no rules")
print("\n".join(bad))
PY
}

# Every alert rule of the provisioning files, one JSON object a line.
rules() {
	python3 -c '
import glob, json, sys, yaml
for f in sorted(glob.glob(sys.argv[1] + "/*.yaml") + glob.glob(sys.argv[1] + "/*.yml")):
    for g in yaml.safe_load(open(f))["groups"]:
        for r in g["rules"]:
            print(json.dumps(r))' "$ALERTDIR"
}

# The datasource query of the rule $1 (JSON), expanded for its relative time
# range ending now.
rule_sql() {
	local r=$1 from to
	from=$(jq -r --arg uid "$GRAFANA_UID" '[.data[] | select(.datasourceUid == $uid)][0].relativeTimeRange.from' <<<"$r")
	to=$(jq -r --arg uid "$GRAFANA_UID" '[.data[] | select(.datasourceUid == $uid)][0].relativeTimeRange.to' <<<"$r")
	jq -r --arg uid "$GRAFANA_UID" '[.data[] | select(.datasourceUid == $uid)][0].model.rawSql' <<<"$r" |
		python3 "$EXPAND" --from "$(date -u -d "-$from seconds" +%Y-%m-%dT%H:%M:%SZ)" \
			--to "$(date -u -d "-$to seconds" +%Y-%m-%dT%H:%M:%SZ)" --interval 1m
}

# The customers the rule with uid $1 holds for now, as the datasource's login
# sees them, sorted, comma-separated.
rule_customers() {
	local sql
	sql=$(rule_sql "$(rules | jq -c --arg u "$1" 'select(.uid == $u)')") || return 1
	[[ -n $sql ]] || return 1
	gq -c "SELECT customer_id FROM (
$sql
) r ORDER BY 1" | paste -sd, -
}

@test "the alert rules' YAML is Grafana's provisioning format, on the provisioned datasource" {
	assert_eq "$(validate_rules "$ALERTDIR")" ""
	[ "$(rules | wc -l)" -ge 3 ]
	# the rules the issue asks for: SILENCE, sustained TACHYCARDIA and BRADYCARDIA
	for a in SILENCE TACHYCARDIA BRADYCARDIA; do
		assert_eq "$(rules | jq -r --arg a "$a" 'select(.data[].model.rawSql // "" | test("alert = '\''" + $a + "'\''")) | .uid' | wc -l)" 1
	done
	# and INVALID readings per customer, from the rollup (seed 002)
	assert_eq "$(rules | jq -r 'select(.data[].model.rawSql // "" | test("\\binvalid\\b") and test("hb_rollup_customer_minute")) | .uid' | wc -l)" 1
	# and the check can fail: a rule on another datasource, a condition that is
	# not a refId, a uid used twice
	mkdir "$BATS_TEST_TMPDIR/bad"
	for edit in 's/datasourceUid: hbmon-pg/datasourceUid: other-pg/' 's/condition: C/condition: Z/' \
		's/uid: hbmon-tachycardia-sustained/uid: hbmon-silence/'; do
		sed "$edit" "$ALERTDIR"/hbmon.yaml >"$BATS_TEST_TMPDIR/bad/hbmon.yaml"
		run cmp -s "$ALERTDIR"/hbmon.yaml "$BATS_TEST_TMPDIR/bad/hbmon.yaml"
		[ "$status" -eq 1 ]
		[ -n "$(validate_rules "$BATS_TEST_TMPDIR/bad")" ]
	done
}

@test "every alert rule's query runs as the datasource's login: one row per customer, labels and one number" {
	n=0
	: >"$BATS_TEST_TMPDIR/problems"
	while read -r r; do
		uid=$(jq -r .uid <<<"$r")
		n=$((n + 1))
		sql=$(rule_sql "$r") || { echo "$uid: macro expansion failed" >>"$BATS_TEST_TMPDIR/problems"; continue; }
		desc=$({ printf '%s\n' "$sql"; echo '\gdesc'; } | gq 2>&1) || { echo "$uid: $desc" >>"$BATS_TEST_TMPDIR/problems"; continue; }
		# Grafana alerts on a table with one number column, the text columns its labels
		nums=$(awk -F'\t' '$2 ~ /^(smallint|integer|bigint|numeric|real|double precision)$/' <<<"$desc" | wc -l)
		other=$(awk -F'\t' '!($2 ~ /^(smallint|integer|bigint|numeric|real|double precision|text)$/) { print $1 " is " $2 }' <<<"$desc")
		[[ $nums -eq 1 ]] || echo "$uid: $nums number columns" >>"$BATS_TEST_TMPDIR/problems"
		[[ -z $other ]] || echo "$uid: neither label nor value: $other" >>"$BATS_TEST_TMPDIR/problems"
		grep -q $'^customer_id\ttext$' <<<"$desc" || echo "$uid: no customer_id label" >>"$BATS_TEST_TMPDIR/problems"
		# each row its own labels, and a value the threshold (> 0) takes
		labels=$(awk -F'\t' '$2 == "text" { print $1 }' <<<"$desc" | paste -sd, -)
		val=$(awk -F'\t' '$2 != "text" { print $1 }' <<<"$desc")
		out=$(gq -F ' ' -c "SELECT count(*), count(DISTINCT ($labels)), count(*) FILTER (WHERE \"$val\" > 0) FROM (
$sql
) r" 2>&1) || { echo "$uid: $out" >>"$BATS_TEST_TMPDIR/problems"; continue; }
		read -r rows distinct over <<<"$out"
		[[ $rows -eq $distinct ]] || echo "$uid: $rows rows, $distinct label sets" >>"$BATS_TEST_TMPDIR/problems"
		[[ $rows -eq $over ]] || echo "$uid: $((rows - over)) rows the threshold would not fire on" >>"$BATS_TEST_TMPDIR/problems"
		echo "# $uid: $rows rows, columns $(cut -f1 <<<"$desc" | paste -sd, -)" >&3
	done < <(rules)
	assert_eq "$(cat "$BATS_TEST_TMPDIR/problems")" ""
	[ "$n" -ge 3 ]
	# on the loaded data (readings of days ago): every customer left SILENCE,
	# CUST_00001 in TACHYCARDIA since 10:08:40, no BRADYCARDIA open
	assert_eq "$(rule_customers hbmon-silence)" \
		"$(q "SELECT string_agg(customer_id, ',' ORDER BY customer_id) FROM heartbeat_alerts WHERE alert = 'SILENCE' AND end_ts IS NULL")"
	[ "$(rule_customers hbmon-silence | tr ',' '\n' | wc -l)" -ge 10 ]
	assert_eq "$(rule_customers hbmon-tachycardia-sustained)" CUST_00001
	assert_eq "$(rule_customers hbmon-bradycardia-sustained)" ""
	# INVALID lines were loaded, but days ago: none in the last 5 minutes
	[ "$(q "SELECT sum(invalid) FROM hb_rollup_customer_minute")" -gt 0 ]
	assert_eq "$(rule_customers hbmon-invalid)" ""
}

# Store an alert event as hbpgload does (hb_alerts_apply): $1 alert, $2 open
# or close, $3 customer, $4 start (seconds ago), $5 end (seconds ago, close).
alert_event() {
	local start end=""
	start=$(date -u -d "-$4 seconds" +%Y-%m-%dT%H:%M:%S.%3NZ)
	[[ -z ${5:-} ]] || end=$(date -u -d "-$5 seconds" +%Y-%m-%dT%H:%M:%S.%3NZ)
	q "SELECT hb_alerts_apply(jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
		'alert', '$1', 'state', '$2', 'customer_id', '$3', 'start', '$start',
		'end', nullif('$end', ''), 'at', '$start'))))"
}

@test "the alert rules hold for a stale SILENCE and a sustained TACHYCARDIA/BRADYCARDIA, not for fresh or closed ones" {
	# R_* customers: alerts that meet a rule (_OLD) and that do not (_NEW: too
	# recent; _CLOSED: over)
	assert_eq "$(alert_event SILENCE open R_SIL_OLD 120)" 1
	assert_eq "$(alert_event SILENCE open R_SIL_NEW 20)" 1
	assert_eq "$(alert_event SILENCE open R_SIL_CLOSED 1800)" 1
	assert_eq "$(alert_event SILENCE close R_SIL_CLOSED 1800 1500)" 1
	assert_eq "$(alert_event TACHYCARDIA open R_TACHY_OLD 600)" 1
	assert_eq "$(alert_event TACHYCARDIA open R_TACHY_NEW 120)" 1
	assert_eq "$(alert_event BRADYCARDIA open R_BRADY_OLD 600)" 1
	assert_eq "$(alert_event BRADYCARDIA open R_BRADY_NEW 120)" 1
	assert_eq "$(alert_event BRADYCARDIA open R_BRADY_CLOSED 1200)" 1
	assert_eq "$(alert_event BRADYCARDIA close R_BRADY_CLOSED 1200 700)" 1
	r_only() { rule_customers "$1" | tr ',' '\n' | grep '^R_' | paste -sd, -; }
	assert_eq "$(r_only hbmon-silence)" R_SIL_OLD
	assert_eq "$(r_only hbmon-tachycardia-sustained)" R_TACHY_OLD
	assert_eq "$(r_only hbmon-bradycardia-sustained)" R_BRADY_OLD
	# the alert ends: the rule no longer holds for that customer
	assert_eq "$(alert_event SILENCE close R_SIL_OLD 120 5)" 1
	assert_eq "$(alert_event TACHYCARDIA close R_TACHY_OLD 600 5)" 1
	assert_eq "$(alert_event BRADYCARDIA close R_BRADY_OLD 600 5)" 1
	assert_eq "$(r_only hbmon-silence)" ""
	assert_eq "$(r_only hbmon-tachycardia-sustained)" ""
	assert_eq "$(r_only hbmon-bradycardia-sustained)" ""
	# the fresh ones, once old enough, would: they are open and only wait
	assert_eq "$(q "SELECT string_agg(customer_id, ',' ORDER BY customer_id) FROM vw_open_alerts WHERE customer_id LIKE 'R\_%'")" \
		R_BRADY_NEW,R_SIL_NEW,R_TACHY_NEW
}

# Readings (stdin: one "customer seconds-ago heart-rate" a line) through
# hbclassify and hbpgload, as a producer's would come.
load_readings() {
	local c ago hr
	while read -r c ago hr; do
		printf '{"customer_id":"%s","timestamp":"%s","heart_rate":%s}\n' \
			"$c" "$(date -u -d "-$ago seconds" +%Y-%m-%dT%H:%M:%S.%3NZ)" "$hr"
	done | hbclassify -qq | hbpgload -q
}

@test "the INVALID rule holds for a customer with INVALID readings in the last 5 minutes, not for older or valid ones" {
	# I_* customers: INVALID readings now (heart rate 0, 400 or not a
	# number), 10 minutes ago, and valid readings now (NORMAL, TACHYCARDIA)
	load_readings <<-'EOF'
		I_NOW 90 400
		I_NOW 30 0
		I_NOW 20 "abc"
		I_OLD 600 400
		I_VALID 30 72
		I_TACHY 30 205
	EOF
	assert_eq "$(q "SELECT count(*) FROM heartbeat_anomalies WHERE customer_id LIKE 'I\_%' AND anomaly_type = 'INVALID'")" 4
	i_only() { rule_customers "$1" | tr ',' '\n' | grep '^I_' | paste -sd, -; }
	assert_eq "$(i_only hbmon-invalid)" I_NOW
	# its value is how many: 3
	sql=$(rule_sql "$(rules | jq -c 'select(.uid == "hbmon-invalid")')")
	assert_eq "$(gq -c "SELECT invalid_readings FROM (
$sql
) r WHERE customer_id = 'I_NOW'")" 3
	# INVALID readings just over 6 minutes old count no more (the rule takes
	# the whole minutes that overlap the last 5)
	load_readings <<-'EOF'
		I_LATER 400 400
		I_LATER 370 0
	EOF
	assert_eq "$(i_only hbmon-invalid)" I_NOW
}
