#!/usr/bin/env bats
# man.bats — every long option a program's --help lists is documented in its
# man page, and every option the man page documents is in --help.  Derived
# from both texts, not from a list, so a new or renamed option is covered.
#
#   --help's options: the long options on its option lines (an indented line
#     starting with '-', up to the first two blanks: "  -c, --count N   ...").
#   the man page's options: the long options in the tag of a .TP paragraph.
#   help -> man: each of --help's options is the tag of a .TP paragraph.
#   man -> help: each option tagged in the man page appears in --help, on an
#     option line or in the text (an old spelling kept as an alias may be
#     named only there, e.g. "--prom-ms").

load helpers

# Long options on the option lines of a --help text (stdin).
help_options() {
	awk '/^ +-/ {
		s = $0
		if (match(s, /^ +/) && RLENGTH > 8) next	# a continuation line
		sub(/^ +/, "", s)
		sub(/  .*/, "", s)
		while (match(s, /--[a-z][a-z0-9-]*/)) { print substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH) }
	}' | sort -u
}

# Every long option a --help text (stdin) names anywhere.
help_mentions() {
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# Long options in the tags of .TP paragraphs of a man page.
man_options() {
	awk 'prev ~ /^\.TP/ {
		s = $0
		gsub(/\\-/, "-", s)
		gsub(/\\f[BIRP]/, "", s)
		while (match(s, /--[a-z][a-z0-9-]*/)) { print substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH) }
	}
	{ prev = $0 }' "$1" | sort -u
}

# Fail, naming them, when --help and the man page disagree: check_man PROG [MANPAGE]
check_man() {
	local prog=$1 page=${2:-$HB_REPO/man/$1.1} help opts tagged missing extra
	help=$("$prog" --help)
	opts=$(help_options <<<"$help")
	tagged=$(man_options "$page")
	# both sides found something: an empty list would make the rest vacuous
	[ -n "$opts" ]
	[ -n "$tagged" ]
	missing=$(comm -23 <(printf '%s\n' "$opts") <(printf '%s\n' "$tagged") | tr '\n' ' ')
	extra=$(comm -23 <(printf '%s\n' "$tagged") <(help_mentions <<<"$help") | tr '\n' ' ')
	if [[ -n $missing || -n $extra ]]; then
		echo "$prog: in --help, not a .TP option of $page: ${missing:-none}" >&2
		echo "$prog: a .TP option of $page, not in --help: ${extra:-none}" >&2
		return 1
	fi
}

@test "hbsim: --help and man page list the same long options" {
	check_man hbsim
}

@test "hbclassify: --help and man page list the same long options" {
	check_man hbclassify
}

@test "hbpgload: --help and man page list the same long options" {
	check_man hbpgload
}

@test "hbkafka-pub: --help and man page list the same long options" {
	check_man hbkafka-pub
}

@test "hbkafka-sub: --help and man page list the same long options" {
	check_man hbkafka-sub
}

@test "every program has a man page (so the checks above cover them all)" {
	for p in "$HB_BIN"/*; do
		[ -f "$HB_REPO/man/$(basename "$p").1" ]
	done
}

@test "the check fails on a man page missing an option, or with one --help lacks" {
	# an option of --help taken out of the man page
	sed '/^\.TP/{n;/\\-\\-count/d}' "$HB_REPO/man/hbsim.1" >"$BATS_TEST_TMPDIR/missing.1"
	run check_man hbsim "$BATS_TEST_TMPDIR/missing.1"
	assert_eq "$status" 1
	[[ $output == *"in --help, not a .TP option of $BATS_TEST_TMPDIR/missing.1: --count "* ]]
	# an option the program does not have, documented
	printf '.TP\n.B \\-\\-no\\-such\\-option\nNothing.\n' | cat "$HB_REPO/man/hbsim.1" - >"$BATS_TEST_TMPDIR/extra.1"
	run check_man hbsim "$BATS_TEST_TMPDIR/extra.1"
	assert_eq "$status" 1
	[[ $output == *"not in --help: --no-such-option "* ]]
}
