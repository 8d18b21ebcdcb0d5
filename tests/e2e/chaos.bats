#!/usr/bin/env bats
# chaos.bats — the short chaos run (make chaos runs the long one): a live
# pipeline while every part is killed or frozen at random, then an exact count.

load helpers

@test "chaos (short): every reading stored exactly once under random faults" {
	run timeout 900 "$HB_REPO/tests/chaos/run" --seed "${HB_CHAOS_SEED:-5}" --duration 45 --readings 45000
	echo "$output" | tail -n 20
	[ "$status" -eq 0 ]
	[[ "$output" == *"lost:                         0"* ]]
	[[ "$output" == *"doubled:                      0"* ]]
	faults=$(echo "$output" | sed -n 's/^  total *//p')
	[ "$faults" -ge 4 ]
}
