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
	[[ -n ${PGDATABASE:-} ]] && dropdb --if-exists "$PGDATABASE" 2>/dev/null || true
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
