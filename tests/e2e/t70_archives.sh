#!/usr/bin/env bash
# t70_archives: contract archives under time-locked keys, as SPEC.md
# sections 4 and 6 say: archive, contract-end (never shortened), holds,
# archive-open with a reason, shred --archive refused early (exit 7),
# sweep by the system clock, archives surviving shred --user, retention
# kept in keys/ (a rollback of the data changes nothing), retention classes
# for documents, and crashes at every step of a sweep.
. "$(dirname "$0")/lib.sh"

mk() {
	{
		printf '%%PDF-1.4\n%% %s\n' "$1"
		head -c 5000 /dev/urandom | od -An -tx1
		printf '\ntrailer<<>>\n%%%%EOF\n'
	} >"$TMPDIR_E2E/$1"
}
mk run.pdf
mk old.pdf
mk doc.pdf

new_vault
run_cmd coffre archive --user alice --contract k-run "$TMPDIR_E2E/run.pdf"
expect_eq "archive prints an id" 0 "$STATUS"
arun=$(cat "$OUT")
expect_match "the archive id is opaque" '^[A-Za-z0-9_-]{22}$' "$arun"
run_cmd coffre archive --user alice --contract k-old "$TMPDIR_E2E/old.pdf"
aold=$(cat "$OUT")
expect_err 5 "archive: malformed contract id" 'malformed' -- \
    coffre archive --user alice --contract 'a b' "$TMPDIR_E2E/old.pdf"
expect_exit 2 "archive without --contract" -- \
    coffre archive --user alice "$TMPDIR_E2E/old.pdf"
expect_err 5 "archive: the type policy applies" 'not allowed' -- \
    coffre archive --user alice --contract k-run /bin/true

expect_out_match "archives lists a running contract" \
    "^$arun	live	alice	k-run	.*	running	-	0	application/pdf" -- coffre archives
expect_err 2 "archive-open needs a reason" 'reason' -- \
    coffre archive-open "$arun"
run_cmd coffre archive-open "$arun" --reason "dispute with the member"
expect_same "archive-open gives the sealed bytes" "$TMPDIR_E2E/run.pdf" "$OUT"
expect_err 7 "shred --archive of a running contract is locked" \
    'still running' -- coffre shred --archive "$arun"

# An old contract: ended 2015-03-01, retained until 2020-03-01 (past).
expect_out "contract-end sets retain-until = date + 5 years" \
    '{"retain_until":"2020-03-01"}' -- \
    coffre --json contract-end --user alice --contract k-old --date 2015-03-01
expect_err 7 "contract-end may not shorten the retention" 'shorten' -- \
    coffre contract-end --user alice --contract k-old --date 2014-01-01
expect_ok "contract-end with the same date again is fine" -- \
    coffre contract-end --user alice --contract k-old --date 2015-03-01
expect_err 5 "contract-end: malformed date" 'malformed date' -- \
    coffre contract-end --user alice --contract k-old --date 2015-02-30
expect_err 3 "contract-end: unknown contract" 'no archive' -- \
    coffre contract-end --user alice --contract nope
expect_out_match "archives shows it expired" "^$aold	expired	.*	2015-03-01	2020-03-01	0" -- \
    coffre archives --user alice
expect_err 4 "an expired archive is unreadable before any sweep" \
    'retention ended' -- coffre archive-open "$aold" --reason "late"

# Over is over: neither a hold nor a later end brings an expired one back.
expect_err 4 "a hold on an expired contract is refused as gone" 'ended' -- \
    coffre hold --user alice --contract k-old --reason "too late"
expect_err 4 "extending an expired contract is refused as gone" 'ended' -- \
    coffre contract-end --user alice --contract k-old --date 2030-01-01
expect_err 4 "and the archive stays unreadable" 'retention ended' -- \
    coffre archive-open "$aold" --reason "late"

# A hold placed in time suspends everything, even past the date.
run_cmd coffre archive --user alice --contract k-held "$TMPDIR_E2E/old.pdf"
aheld=$(cat "$OUT")
expect_ok "hold" -- coffre hold --user alice --contract k-held --reason "case 42"
expect_ok "the held contract ends long ago" -- \
    coffre contract-end --user alice --contract k-held --date 2015-03-01
run_cmd coffre archive-open "$aheld" --reason "case 42"
expect_same "a held archive is readable past its date" "$TMPDIR_E2E/old.pdf" "$OUT"
expect_err 7 "shred --archive under a hold is locked" 'hold' -- \
    coffre shred --archive "$aheld"
expect_out_match "sweep destroys nothing held" '^swept 1 expired contract \(1 archive\)' -- coffre sweep
run_cmd coffre archive-open "$aheld" --reason "case 42"
expect_same "the held archive survived the sweep" "$TMPDIR_E2E/old.pdf" "$OUT"
expect_exit 2 "release needs a reason" -- \
    coffre release --user alice --contract k-held
expect_ok "release" -- coffre release --user alice --contract k-held --reason "closed"
expect_err 3 "release without a hold" 'no hold' -- \
    coffre release --user alice --contract k-held --reason "again"
expect_err 4 "released past its date, it is unreadable at once" 'retention ended' -- \
    coffre archive-open "$aheld" --reason "after"

# Rollback: the data from before contract-end cannot shorten anything.
cp -a "$VAULT" "$TMPDIR_E2E/snap"
# shred --user ends alice's running contracts today; archives survive it.
expect_out_match "shred --user ends the running contract" 'ended 1 running contract' -- \
    coffre shred --user alice
run_cmd coffre archive-open "$arun" --reason "defence"
expect_same "an archive survives its user's shred" "$TMPDIR_E2E/run.pdf" "$OUT"
expect_out_match "the ended contract is retained 5 years from today" \
    "^$arun	live	alice	k-run	.*	$(date -u +%Y-%m-%d)	$(date -u -d '+5 years' +%Y-%m-%d)	0" -- coffre archives
expect_ok "archive works after the user's shred" -- \
    coffre archive --user alice --contract k-run "$TMPDIR_E2E/run.pdf"

expect_out_match "sweep destroys the expired contract" \
    '^swept 1 expired contract \(1 archive\)' -- coffre sweep
expect_err 4 "the swept archive is gone" 'destroyed' -- \
    coffre archive-open "$aold" --reason "too late"
expect_out_match "archives shows it shredded" "^$aold	shredded" -- coffre archives
expect_ok "check is clean after the sweep" -- coffre check
expect_ok "audit scan passes after the sweep" -- coffre audit scan

# Put the old data back beside today's keys: retention and destruction stay.
rm -rf "$TMPDIR_E2E/snap/keys"
cp -a "$VAULT/keys" "$TMPDIR_E2E/snap/keys"
run_cmd "$COFFRE_BIN" --dir "$TMPDIR_E2E/snap" archive-open "$aold" --reason x
expect_eq "rollback of the data: the swept archive stays gone" 4 "$STATUS"
run_cmd "$COFFRE_BIN" --dir "$TMPDIR_E2E/snap" archives
expect_match "rollback of the data: the retention stays as in keys/" \
    "$arun	live	alice	k-run	.*	$(date -u +%Y-%m-%d)	" "$(cat "$OUT")"

# Retention classes for documents: identity cards go when decided.
new_vault
printf 'retention.identity-card = 0\n' >"$VAULT/coffre.conf"
run_cmd coffre seal --user bob --community c --kind identity-card "$TMPDIR_E2E/doc.pdf"
did=$(cat "$OUT")
run_cmd coffre seal --user bob --community c --kind diploma "$TMPDIR_E2E/doc.pdf"
dip=$(cat "$OUT")
expect_out_match "an undecided identity card survives a sweep" '^swept 0' -- \
    coffre sweep
coffre approve "$did" >/dev/null
coffre approve "$dip" >/dev/null
expect_out_match "once decided, the sweep shreds the identity card" \
    'and 1 document past' -- coffre sweep
expect_err 4 "the identity card is gone" 'shredded' -- coffre open "$did"
run_cmd coffre open "$dip"
expect_same "a diploma (no class) stays" "$TMPDIR_E2E/doc.pdf" "$OUT"
printf 'retention.x = -1\n' >"$VAULT/coffre.conf"
expect_err 1 "a bad retention class is an error naming the line" 'line 1' -- \
    coffre list

if [ "$COFFRE_FAULTS" = 1 ]; then
	for point in root-write tree-commit tree-committed root-erase \
	    index-commit; do
		new_vault
		coffre archive --user u --contract old --name a "$TMPDIR_E2E/old.pdf" >"$TMPDIR_E2E/id1"
		coffre archive --user u --contract held "$TMPDIR_E2E/old.pdf" >"$TMPDIR_E2E/id2"
		coffre archive --user u --contract new "$TMPDIR_E2E/run.pdf" >"$TMPDIR_E2E/id3"
		coffre contract-end --user u --contract old --date 2010-01-01 >/dev/null
		# A hold placed in time (before the retention ended).
		coffre hold --user u --contract held --reason r >/dev/null
		coffre contract-end --user u --contract held --date 2010-01-01 >/dev/null
		coffre contract-end --user u --contract new >/dev/null
		COFFRE_CRASH_AT=$point run_cmd coffre sweep
		expect_eq "sweep crash at $point: died there" 86 "$STATUS"
		run_cmd coffre check --repair
		expect_eq "sweep crash at $point: check --repair" 0 "$STATUS"
		run_cmd coffre archive-open "$(cat "$TMPDIR_E2E/id2")" --reason r
		expect_same "sweep crash at $point: the held archive survives" \
		    "$TMPDIR_E2E/old.pdf" "$OUT"
		run_cmd coffre archive-open "$(cat "$TMPDIR_E2E/id3")" --reason r
		expect_same "sweep crash at $point: the unexpired archive survives" \
		    "$TMPDIR_E2E/run.pdf" "$OUT"
		expect_ok "sweep crash at $point: the next sweep completes" -- coffre sweep
		run_cmd coffre archive-open "$(cat "$TMPDIR_E2E/id1")" --reason r
		expect_eq "sweep crash at $point: nothing expired survives" 4 "$STATUS"
		expect_ok "sweep crash at $point: check clean" -- coffre check
		expect_ok "sweep crash at $point: scan passes" -- coffre audit scan
	done
else
	skip "sweep crash points" "this binary has no fault points"
fi
finish
