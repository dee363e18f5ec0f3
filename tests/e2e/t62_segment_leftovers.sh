#!/usr/bin/env bash
# t62_segment_leftovers: what a crash while a new segment file was being
# created leaves (an empty file, or half a header) does not stop the vault:
# the next seal writes the header again and goes on; a damaged header of a
# segment that holds committed records is still corruption (exit 1).
. "$(dirname "$0")/lib.sh"

pdf=$TMPDIR_E2E/d.pdf
printf '%%PDF-1.4\n%% leftovers\n%%%%EOF\n' >"$pdf"
for what in empty half; do
	new_vault
	run_cmd coffre seal --user u --community c "$pdf"
	first=$(cat "$OUT")
	case $what in
	empty) : >"$VAULT/segments/00000002.seg" ;;
	half) printf 'CFSG\001\000\000' >"$VAULT/segments/00000002.seg" ;;
	esac
	chmod 600 "$VAULT/segments/00000002.seg"
	run_cmd coffre seal --user u --community c "$pdf"
	expect_eq "$what new segment: the next seal works" 0 "$STATUS"
	second=$(cat "$OUT")
	run_cmd coffre open "$second"
	expect_same "$what new segment: and its document opens" "$pdf" "$OUT"
	run_cmd coffre open "$first"
	expect_same "$what new segment: the earlier one still opens" "$pdf" "$OUT"
	expect_ok "$what new segment: check is clean" -- coffre check
done
flip_byte "$VAULT/segments/00000002.seg" 8
expect_exit 1 "a damaged header of a segment with records is corruption" -- \
    coffre open "$second"
finish
