#!/usr/bin/env bats
# options.bats — one meaning per short option letter across the five
# programs, read from their own --help; and a letter a program dropped
# because it means something else elsewhere is refused (exit 2) with one line
# that says what to type instead.

load helpers
bats_require_minimum_version 1.5.0

PROGS=(hbsim hbkafka-pub hbkafka-sub hbclassify hbpgload)

# Lines "LETTER MEANING PROG" from PROG's --help on stdin: each "-L, --long"
# (the meaning is the long option) or "-L METAVAR" (no long option: the
# meaning is the metavar), on the lines that start with an option.
help_letters() {
	awk -v p="$1" '/^[[:space:]]+-/ {
		s = $0
		while (match(s, /(^|[[:space:]])-[A-Za-z](, --[a-z][a-z0-9-]*| [A-Z][A-Za-z=_]*)/)) {
			m = substr(s, RSTART, RLENGTH)
			sub(/^[[:space:]]/, "", m)
			l = substr(m, 2, 1)
			r = substr(m, 3)
			sub(/^,? /, "", r)
			print l, r, p
			s = substr(s, RSTART + RLENGTH)
		}
	}'
}

# All five programs' letters.
all_letters() {
	local p
	for p in "${PROGS[@]}"; do
		"$p" --help | help_letters "$p"
	done
}

# The letters with more than one meaning, one line each: "L: m1 (progs) m2 (progs)".
clashes() {
	sort -k1,1 -k2,2 | awk '
		{ if ($1 != l) { if (n > 1) print out; l = $1; m = ""; n = 0; out = $1 ":" }
		  if ($2 != m) { m = $2; n++; out = out " " $2 " (" $3 ")" } else out = out "(" $3 ")" }
		END { if (n > 1) print out }'
}

# The long option a letter means across hbmon, from the --help outputs.
means() {
	all_letters | awk -v l="$1" '$1 == l { print $2 }' | sort -u
}

@test "options: the --help parser finds each program's letters, and would see a clash" {
	for p in "${PROGS[@]}"; do
		run help_letters "$p" < <("$p" --help)
		echo "$p: $output"
		[[ "$output" == *"h --help $p"* ]]
		[[ "$output" == *"V --version $p"* ]]
		[[ "$output" == *"q --quiet $p"* ]]
	done
	run help_letters hbpub < <("hbkafka-pub" --help)
	[[ "$output" == *"X NAME=VALUE hbpub"* ]]
	# the check itself can fail: two meanings of -s, as before issue 12
	run clashes < <(printf '  -s, --seed N   x\n' | help_letters a; printf '  -s, --strict   y\n' | help_letters b)
	[ "$output" = "s: --seed (a) --strict (b)" ]
	run clashes < <(printf '  -s, --strict   x\n' | help_letters a; printf '  -s, --strict   y\n' | help_letters b)
	[ -z "$output" ]
}

@test "options: no short letter means two things across the five programs" {
	all_letters >"$BATS_TEST_TMPDIR/letters"
	sort -u "$BATS_TEST_TMPDIR/letters"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/letters")" -ge 30 ]
	run clashes <"$BATS_TEST_TMPDIR/letters"
	echo "clashes: $output"
	[ -z "$output" ]
}

@test "options: each dropped letter exits 2 with one line naming the long option to use" {
	# PROG LETTER LONG: the letters issue 12 took away, and what replaces them
	while read -r p l long; do
		run --separate-stderr "$p" "-$l" 1
		echo "$p -$l: status $status, stderr '$stderr'"
		[ "$status" -eq 2 ]
		[ -z "$output" ]
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ "$stderr" == "$p: -$l is not an option of $p "*": use $long" ]]
		# the hint names what the letter means elsewhere, as the --help outputs say
		m=$(means "$l")
		[ -n "$m" ]
		[ "$(echo "$m" | wc -l)" -eq 1 ]
		[[ "$stderr" == *"(across hbmon -$l means $m)"* ]]
		# and the long option it suggests is one of this program's
		"$p" --help | grep -qE -- "(^|[[:space:]])$long [A-Z]"
		# in a cluster, and with the value glued on, too
		run --separate-stderr "$p" "-q$l" 1
		[ "$status" -eq 2 ]
		[[ "$stderr" == *"use $long" ]]
		run --separate-stderr "$p" "-${l}1"
		[ "$status" -eq 2 ]
		[[ "$stderr" == *"use $long" ]]
	done <<-'EOF'
		hbsim r --rate
		hbsim d --duration
		hbsim s --seed
		hbsim a --anomaly-rate
		hbclassify b --brady
		hbpgload n --batch-rows
	EOF
}

@test "options: every letter a program lacks is refused with exit 2, not taken for something else" {
	all_letters >"$BATS_TEST_TMPDIR/letters"
	for p in "${PROGS[@]}"; do
		for l in $(awk '{ print $1 }' "$BATS_TEST_TMPDIR/letters" | sort -u); do
			awk -v l="$l" -v p="$p" '$1 == l && $3 == p { f = 1 } END { exit !f }' \
				"$BATS_TEST_TMPDIR/letters" && continue
			run --separate-stderr timeout 5 "$p" "-$l" 1 </dev/null
			echo "$p -$l: status $status, stderr '$stderr'"
			[ "$status" -eq 2 ]
			[ "${#stderr_lines[@]}" -eq 1 ]
		done
	done
}

@test "options: the long options that replace a letter, and old spellings, still work" {
	run --separate-stderr hbsim --rate 0 --seed 3 --duration 1 --anomaly-rate 0 \
		--start 2026-11-23T00:00:00Z --count 5 -q
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 5 ]
	run --separate-stderr bash -c 'hbsim --rate 0 --count 5 -q | hbclassify --brady 45 -qq | wc -l'
	[ "$status" -eq 0 ]
	[ "$output" -eq 5 ]
	# hbclassify -d, --dbname and --db (the older spelling) are one option; without
	# marks --store needs no database, so an empty input ends at once
	for o in -d --dbname --db; do
		run --separate-stderr hbclassify -q --store "$o" 'dbname=nowhere' </dev/null
		echo "$o: status $status, stderr '$stderr'"
		[ "$status" -eq 0 ]
	done
}
