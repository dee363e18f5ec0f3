#!/usr/bin/env bash
# t61_crash: a forced crash (COFFRE_CRASH_AT, the fault points of
# keys/fault.h) at every step boundary of a seal and of a shred.  After
# each: the vault opens; check --repair fixes only what a crash leaves and
# check is then clean; every acknowledged live document opens byte for
# byte; the shredded user is either fully live or fully gone, never half;
# the audit scan passes; and the next operations work.
. "$(dirname "$0")/lib.sh"
need_faults

mk() {
	{
		printf '\211PNG\r\n\032\n\000\000\000\rIHDR\000\000\000\020'
		printf '\000\000\000\020\010\002\000\000\000'
		head -c "${2:-30000}" /dev/urandom
	} >"$TMPDIR_E2E/$1"
}
mk a1
mk a2 200000
mk b1
mk n1

setup() {
	new_vault
	A1=$(coffre seal --user alice --community c "$TMPDIR_E2E/a1")
	A2=$(coffre seal --user alice --community c "$TMPDIR_E2E/a2")
	B1=$(coffre seal --user bob --community c "$TMPDIR_E2E/b1")
}

opens() { # opens ID FILE: 0 if the document opens with FILE's bytes
	coffre open "$1" >"$TMPDIR_E2E/got" 2>/dev/null &&
	    cmp -s "$TMPDIR_E2E/got" "$2"
}

after_crash() { # after_crash LABEL: the common checks
	local label=$1
	run_cmd coffre check --repair
	expect_eq "$label: check --repair succeeds" 0 "$STATUS"
	expect_ok "$label: check is clean afterwards" -- coffre check
	if opens "$B1" "$TMPDIR_E2E/b1"; then
		pass "$label: bob's acknowledged document opens"
	else
		fail "$label: bob's acknowledged document opens"
	fi
	expect_ok "$label: audit scan passes" -- coffre audit scan
	run_cmd coffre seal --user bob --community c "$TMPDIR_E2E/n1"
	expect_eq "$label: the next seal works" 0 "$STATUS"
	if opens "$(cat "$OUT")" "$TMPDIR_E2E/n1"; then
		pass "$label: and opens"
	else
		fail "$label: and opens"
	fi
}

for point in root-write root-sync tree-commit tree-committed root-erase \
    index-commit index-committed; do
	setup
	COFFRE_CRASH_AT=$point run_cmd coffre shred --user alice
	expect_eq "shred crash at $point: the process died there" 86 "$STATUS"
	live=0
	gone=0
	for pair in "$A1:a1" "$A2:a2"; do
		id=${pair%%:*}
		if opens "$id" "$TMPDIR_E2E/${pair##*:}"; then
			live=$((live + 1))
		else
			run_cmd coffre open "$id"
			[ "$STATUS" -eq 4 ] && gone=$((gone + 1))
		fi
	done
	case $point in
	root-write | root-sync | tree-commit) want="2 0" ;;
	*) want="0 2" ;;
	esac
	expect_eq "shred crash at $point: alice all live or all gone" \
	    "$want" "$live $gone"
	after_crash "shred crash at $point"
	run_cmd coffre shred --user alice
	expect_eq "shred crash at $point: shredding again completes" 0 "$STATUS"
	run_cmd coffre open "$A1"
	expect_eq "shred crash at $point: then alice is gone" 4 "$STATUS"
	expect_ok "shred crash at $point: check clean at the end" -- coffre check
done

for point in segment-append segment-sync tree-commit tree-committed \
    index-commit index-committed; do
	setup
	COFFRE_CRASH_AT=$point run_cmd coffre seal --user carol --community c \
	    "$TMPDIR_E2E/n1"
	expect_eq "seal crash at $point: the process died there" 86 "$STATUS"
	expect_eq "seal crash at $point: no id was printed" "" "$(cat "$OUT")"
	after_crash "seal crash at $point"
	n=$(coffre list --user carol | wc -l)
	case $point in
	index-committed) want=1 ;;
	*) want=0 ;;
	esac
	expect_eq "seal crash at $point: carol has $want document(s)" "$want" "$n"
	if opens "$A2" "$TMPDIR_E2E/a2"; then
		pass "seal crash at $point: earlier documents open"
	else
		fail "seal crash at $point: earlier documents open"
	fi
done
finish
