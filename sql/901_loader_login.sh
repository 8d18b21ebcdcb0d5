#!/usr/bin/env bash
# 901_loader_login.sh — the login the consumer uses, for compose.yaml's
# postgres container: the postgres image runs (or sources) the *.sh files of
# /docker-entrypoint-initdb.d in name order with the *.sql ones, on the first
# start.  scripts/hb-pg apply takes only sql/*.sql, so locally this is not run.
#
# Creates (or updates) the login role hbmon_consumer: a member of hbmon_loader
# only (sql/003_roles.sql: INSERT into the tables hbpgload feeds, EXECUTE on
# hb_ensure_partitions, hb_alerts_apply, hb_state_apply and
# hb_alert_state_load, which hbclassify --store calls; nothing else), with the
# password in HB_LOADER_DB_PASSWORD.  Without that variable it creates nothing
# and says so.  The password travels on psql's stdin, never on a command line.
# No `set -e`/`exit 0` here: when sourced, this runs inside the image's
# entrypoint.  On a database created before this script existed, run it once:
#
#   docker compose exec -e HB_LOADER_DB_PASSWORD postgres bash /docker-entrypoint-initdb.d/901_loader_login.sh
#   HB_LOADER_DB_PASSWORD=... POSTGRES_USER=postgres POSTGRES_DB=hbmon bash sql/901_loader_login.sh

hb_loader_login() {
	local role=hbmon_consumer pw=${HB_LOADER_DB_PASSWORD:-} literal
	if [[ -z $pw ]]; then
		echo "901_loader_login.sh: HB_LOADER_DB_PASSWORD is not set: no $role login for the consumer" >&2
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
GRANT hbmon_loader TO :"role";
SQL
}

hb_loader_login || {
	echo "901_loader_login.sh: could not create the consumer's login" >&2
	exit 1
}
