#!/usr/bin/env bats
# grafana.bats — the Grafana provisioning and dashboard.  Grafana cannot run
# here, so: the provisioning YAML parses and holds no password; every panel
# uses the provisioned datasource; and every panel query and variable query of
# grafana/dashboards/hbmon.json (taken with jq, so panels added later are
# checked too), with Grafana's macros expanded as Grafana expands them
# (tests/e2e/grafana_sql.py), runs as the datasource's own login — created by
# sql/900_grafana_login.sh, hbmon_reader only — against loaded data, and
# returns rows of the shape its panel needs.

load helpers

DASH=${HB_GRAFANA_DASHBOARD:-$HB_REPO/grafana/dashboards/hbmon.json}
DSYAML="$HB_REPO/grafana/provisioning/datasources/hbmon.yaml"
DBYAML="$HB_REPO/grafana/provisioning/dashboards/hbmon.yaml"
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
		bash "$HB_REPO/sql/900_grafana_login.sh"
	hbsim --seed 5 --start 2026-11-23T10:00:00Z --count 20000 --rate 0 --invalid-rate 0.01 -q |
		hbclassify -qq | hbpgload -q
	# the dashboard's time range: the readings (10:00 to 10:08:20) and the
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
			(if (.rawSql // "") | test("\\$__timeFilter\\(") | not then "\($t) \(.refId): no $__timeFilter" else empty end))')
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
	# the password arrives intact, quotes and all (md5 here so that SQL can check it)
	pw="it's \$a \\ pass\"word"
	HB_GRAFANA_DB_PASSWORD=$pw PGOPTIONS='-c password_encryption=md5' POSTGRES_USER=$PGUSER \
		POSTGRES_DB=$PGDATABASE bash "$HB_REPO/sql/900_grafana_login.sh"
	assert_eq "$(psql -X -qAt -v pw="$pw" -v u="$GRAFANA_USER" <<<"SELECT rolpassword = 'md5' || md5(:'pw' || :'u') FROM pg_authid WHERE rolname = :'u';")" t
	# without a password it makes nothing and says so; sourced, as the postgres
	# image's entrypoint does, it returns to its caller
	run env -u HB_GRAFANA_DB_PASSWORD bash -c 'set -Eeo pipefail; . "$1"; echo returned' _ "$HB_REPO/sql/900_grafana_login.sh"
	[ "$status" -eq 0 ]
	[[ "$output" == *"HB_GRAFANA_DB_PASSWORD is not set"* ]]
	[[ "$output" == *returned ]]
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
