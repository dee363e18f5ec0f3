#!/usr/bin/env bash
# t81_audit_rotation: a rotation of the audit signing key is a signed
# event: the old key signs the hand-over to the new public key, the new
# key signs what follows, verification (on the vault and offline, from the
# key of init) follows it, the old key cannot be recovered from any copy,
# and a forged hand-over fails.
. "$(dirname "$0")/lib.sh"

new_vault
pdf=$TMPDIR_E2E/d.pdf
printf '%%PDF-1.4\n%% rotation test\n%%%%EOF\n' >"$pdf"
cp "$VAULT/audit.pub" "$TMPDIR_E2E/init.pub"
expect_ok "seal before the rotation" -- coffre seal --user u --community c "$pdf"
expect_out_match "rotate-key prints the new public key" \
    '^new audit public key: [A-Za-z0-9+/]{43}=$' -- coffre audit rotate-key
newpk=$(sed -n 's/^new audit public key: //p' "$OUT")
expect_eq "audit.pub keeps the key of init" "$(cat "$TMPDIR_E2E/init.pub")" \
    "$(cat "$VAULT/audit.pub")"
expect_ok "seal after the rotation" -- coffre seal --user u --community c "$pdf"
expect_out_match "the vault's log verifies across the rotation" \
    'audit log verified' -- coffre audit verify
run_cmd coffre --json audit log
cp "$OUT" "$TMPDIR_E2E/log.jsonl"
if grep '"op":"audit-key-rotation"' "$TMPDIR_E2E/log.jsonl" |
    grep -F "\"new_pubkey\":\"$newpk\"" | grep -q '"sig_old":"'; then
	pass "the rotation event names the new key, signed by the old"
else
	fail "the rotation event names the new key, signed by the old"
fi
expect_ok "an export verifies offline from the key of init" -- \
    "$COFFRE_BIN" audit verify --log "$TMPDIR_E2E/log.jsonl" \
    --pubkey "$TMPDIR_E2E/init.pub"
printf '%s\n' "$newpk" >"$TMPDIR_E2E/new.pub"
expect_exit 1 "the new key alone is not the start of the chain" -- \
    "$COFFRE_BIN" audit verify --log "$TMPDIR_E2E/log.jsonl" \
    --pubkey "$TMPDIR_E2E/new.pub"
expect_ok "the old audit key is not recoverable: scan passes" -- coffre audit scan

# Must fail: a hand-over to another key, or checkpoints signed by the old
# key after it.
other=$(printf 'A%.0s' $(seq 42))E=
sed "s|\"new_pubkey\":\"$newpk\"|\"new_pubkey\":\"$other\"|" \
    "$TMPDIR_E2E/log.jsonl" >"$TMPDIR_E2E/forged.jsonl"
run_cmd "$COFFRE_BIN" audit verify --log "$TMPDIR_E2E/forged.jsonl" \
    --pubkey "$TMPDIR_E2E/init.pub"
expect_eq "a forged hand-over fails" 1 "$STATUS"
expect_match "and names the rotation event" 'event 5 is bad: a key rotation not signed by the key in force' \
    "$(cat "$ERR")"
finish
