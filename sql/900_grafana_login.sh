#!/usr/bin/env bash
# 900_grafana_login.sh — the login Grafana uses, for compose.yaml's postgres
# container: the postgres image runs (or sources) the *.sh files of
# /docker-entrypoint-initdb.d in name order with the *.sql ones, on the first
# start.  scripts/hb-pg apply takes only sql/*.sql, so locally this is not run.
#
# Creates (or updates) the login role hbmon_grafana: a member of hbmon_reader
# only (SELECT on the hbmon tables and views), read-only by default, with a
# statement timeout, and the password in HB_GRAFANA_DB_PASSWORD.  Without that
# variable it creates nothing and says so.  The password travels on psql's
# stdin, never on a command line.  No `set -e`/`exit 0` here: when sourced, this
# runs inside the image's entrypoint.
#
#   HB_GRAFANA_DB_PASSWORD=... POSTGRES_USER=postgres POSTGRES_DB=hbmon bash sql/900_grafana_login.sh

hb_grafana_login() {
	local role=hbmon_grafana pw=${HB_GRAFANA_DB_PASSWORD:-} literal
	if [[ -z $pw ]]; then
		echo "900_grafana_login.sh: HB_GRAFANA_DB_PASSWORD is not set: no $role login for Grafana" >&2
		return 0
	fi
	literal=${pw//"'"/"''"}
	psql -X -q -v ON_ERROR_STOP=1 -v role="$role" \
		--username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" <<SQL
SET client_min_messages = warning;
SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
    PASSWORD '$literal';
ALTER ROLE :"role" SET default_transaction_read_only = on;
ALTER ROLE :"role" SET statement_timeout = '30s';
GRANT hbmon_reader TO :"role";
SQL
}

hb_grafana_login || {
	echo "900_grafana_login.sh: could not create the Grafana login" >&2
	exit 1
}
