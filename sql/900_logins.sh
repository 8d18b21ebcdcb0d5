#!/usr/bin/env bash
# 900_logins.sh — the logins of compose.yaml's services, for its postgres
# container: the postgres image runs (or sources) the *.sh files of
# /docker-entrypoint-initdb.d in name order with the *.sql ones, on the first
# start.  scripts/hb-pg apply takes only sql/*.sql, so locally this is not run.
#
# Creates (or updates) two login roles, each a member of one group role of
# sql/090_roles.sql only:
#   hbmon_grafana   Grafana's and the dashboard service's: hbmon_reader (SELECT
#                   on the hbmon tables and views), read-only by default, with
#                   a 30 s statement timeout; password HB_GRAFANA_DB_PASSWORD.
#   hbmon_consumer  the consumer's: hbmon_loader (INSERT into the tables
#                   hbpgload feeds, EXECUTE on hb_ensure_partitions,
#                   hb_alerts_apply, hb_state_apply and hb_alert_state_load,
#                   which hbclassify --store calls; nothing else); password
#                   HB_LOADER_DB_PASSWORD.
# A login whose variable is unset or empty is not made, and a line on stderr
# says so.  A psql that fails ends the script with exit 1 and a message.  The
# password travels on psql's stdin, never on a command line.  No `set -e`/
# `exit 0` here: when sourced, this runs inside the image's entrypoint.  On a
# database created before a login existed, run it once (it only updates the
# logins it finds a password for):
#
#   docker compose exec postgres bash /docker-entrypoint-initdb.d/900_logins.sh
#   HB_GRAFANA_DB_PASSWORD=... HB_LOADER_DB_PASSWORD=... POSTGRES_USER=postgres POSTGRES_DB=hbmon bash sql/900_logins.sh

# hb_login ROLE GROUP PASSWORD_VARIABLE [SETTING=VALUE ...]: the login ROLE,
# in GROUP, with the password in the variable named PASSWORD_VARIABLE and each
# SETTING as its default (ALTER ROLE ... SET).  Returns 1 after a message if
# it could not.
hb_login() {
	local role=$1 group=$2 var=$3 pw=${!3:-} literal s sets=
	shift 3
	if [[ -z $pw ]]; then
		echo "900_logins.sh: $var is not set: no $role login" >&2
		return 0
	fi
	for s in "$@"; do
		if [[ ! $s =~ ^[a-z_]+=[^\']+$ ]]; then
			echo "900_logins.sh: $role: bad setting '$s' (want name=value)" >&2
			return 1
		fi
		sets+="ALTER ROLE :\"role\" SET ${s%%=*} = '${s#*=}';"$'\n'
	done
	literal=${pw//"'"/"''"}
	if ! psql -X -q -v ON_ERROR_STOP=1 -v role="$role" -v group="$group" \
		--username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" <<SQL
SET client_min_messages = warning;
SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
    PASSWORD '$literal';
${sets}GRANT :"group" TO :"role";
SQL
	then
		echo "900_logins.sh: could not create the login $role" >&2
		return 1
	fi
}

hb_login hbmon_grafana hbmon_reader HB_GRAFANA_DB_PASSWORD \
	default_transaction_read_only=on statement_timeout=30s || exit 1
hb_login hbmon_consumer hbmon_loader HB_LOADER_DB_PASSWORD || exit 1
unset -f hb_login
