#!/usr/bin/env bash
# t10_basics: --version, --help, usage errors, init, file modes, a missing
# vault, the choice of the vault ($COFFRE_DIR, ./coffre-data) and the global
# options placed before the command or among its options.
# SPEC.md section 4, docs/CLI.md.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

V=$W/vault
EMPTY=$W/empty-cwd
mkdir -p "$EMPTY"
$GEN png "$W/doc.png" --text t10-doc

# --- --version and --help, which need no vault -------------------------------

want_version=$(sed -n 's/^#define COFFRE_VERSION "\(.*\)"$/\1/p' "$COFFRE_ROOT/include/coffre.h")
run_at "$EMPTY" c --version
t_rc 0 "--version exits 0"
if [ -n "$want_version" ] && grep -qF "$want_version" "$OUT"; then
	pass "--version prints version $want_version on stdout"
else
	fail "--version prints version $want_version on stdout" "stdout: $(head -c 200 "$OUT")"
fi

run_at "$EMPTY" c --help
t_rc 0 "--help exits 0"
missing=
for cmd in init seal open info list approve reject; do
	grep -qw -- "$cmd" "$OUT" || missing="$missing $cmd"
done
if [ -s "$OUT" ] && [ -z "$missing" ]; then
	pass "--help lists init seal open info list approve reject on stdout"
else
	fail "--help lists init seal open info list approve reject on stdout" "missing:$missing"
fi

for cmd in init seal open info list approve reject; do
	# No vault here: help must not need one, nor create one.
	run_at "$EMPTY" c "$cmd" --help
	t_rc 0 "$cmd --help exits 0 without a vault"
	if [ -s "$OUT" ] && grep -qw -- "$cmd" "$OUT"; then
		pass "$cmd --help prints its usage on stdout"
	else
		fail "$cmd --help prints its usage on stdout" "stdout: $(head -c 200 "$OUT" | tr '\n' '|')"
	fi
done
check "--help creates no ./coffre-data" test ! -e "$EMPTY/coffre-data"

# --- init --------------------------------------------------------------------

run c --dir "$V" init
t_rc 0 "init exits 0"
key=$(sed -n '1s/^audit public key: //p' "$OUT")
line2=$(sed -n 2p "$OUT")
if [ -n "$key" ] && [ "$(wc -l <"$OUT")" -eq 2 ]; then
	pass "init prints 'audit public key: KEY' then one more line"
else
	fail "init prints 'audit public key: KEY' then one more line" "stdout: $(tr '\n' '|' <"$OUT")"
fi
check "init prints 'written to DIR/audit.pub'" test "$line2" = "written to $V/audit.pub"
if [ -f "$V/audit.pub" ] && [ "$(tr -d ' \n' <"$V/audit.pub")" = "$key" ]; then
	pass "DIR/audit.pub holds the printed key"
else
	fail "DIR/audit.pub holds the printed key" "audit.pub: $(head -c 100 "$V/audit.pub" 2>&1)"
fi
# An Ed25519 public key is 32 bytes; the key is base64 (standard or url-safe).
if "$PY" -c '
import base64, sys
k = sys.argv[1].strip()
p = "=" * (-len(k) % 4)
try:
    raw = base64.b64decode(k + p, validate=True)
except Exception:
    raw = base64.urlsafe_b64decode(k + p)
sys.exit(0 if len(raw) == 32 else 1)' "$key" 2>/dev/null; then
	pass "audit public key is base64 of 32 bytes (Ed25519)"
else
	fail "audit public key is base64 of 32 bytes (Ed25519)" "key: $key"
fi

root_before=$(cat "$V/audit.pub" "$V/keys/root" 2>/dev/null | sha256sum)
run c --dir "$V" init
t_err 1 "init on an existing vault exits 1"
root_after=$(cat "$V/audit.pub" "$V/keys/root" 2>/dev/null | sha256sum)
check "init on an existing vault changes neither audit.pub nor keys/root" test "$root_before" = "$root_after"

run c --dir "$W/vault-json" --json init
t_rc 0 "init --json exits 0"
if jv "$OUT" 'd["dir"] == "'"$W/vault-json"'" and isinstance(d["audit_pubkey"], str) and len(d["audit_pubkey"]) > 0' >/dev/null &&
	[ "$(jv "$OUT" 'd["audit_pubkey"]')" = "$(tr -d ' \n' <"$W/vault-json/audit.pub")" ]; then
	pass "init --json prints {dir, audit_pubkey} matching audit.pub"
else
	fail "init --json prints {dir, audit_pubkey} matching audit.pub" "stdout: $(head -c 300 "$OUT")"
fi

run c --dir "$W/vault-ret" init --retention-years 7
t_rc 0 "init --retention-years 7 exits 0"

# --- modes: dir 0700, keys 0700, every file 0600, whatever the umask ---------

check_modes() {
	local d=$1 label=$2 bad
	bad=$(find "$d" \( -type d ! -perm 700 \) -o \( -type f ! -perm 600 \) -o \( ! -type d ! -type f \) | head -5)
	if [ -d "$d" ] && [ -z "$bad" ]; then
		pass "$label: every directory 0700, every file 0600"
	else
		fail "$label: every directory 0700, every file 0600" \
			"$(for f in $bad; do stat -c '%a %F %n' "$f"; done | tr '\n' '|')"
	fi
	if [ "$(stat -c %a "$d" 2>/dev/null)" = 700 ] && [ "$(stat -c %a "$d/keys" 2>/dev/null)" = 700 ] &&
		[ "$(stat -c %a "$d/keys/root" 2>/dev/null)" = 600 ]; then
		pass "$label: DIR and DIR/keys 0700, DIR/keys/root 0600"
	else
		fail "$label: DIR and DIR/keys 0700, DIR/keys/root 0600" \
			"$(stat -c '%a %n' "$d" "$d/keys" "$d/keys/root" 2>&1 | tr '\n' '|')"
	fi
}

VM=$W/vault-modes
(umask 000 && c --dir "$VM" init >/dev/null 2>&1)
check_modes "$VM" "after init under umask 000"
(
	umask 000
	id=$(c --dir "$VM" seal --user u1 --community c1 --name n.png "$W/doc.png" 2>/dev/null)
	c --dir "$VM" approve "$id" --note ok >/dev/null 2>&1
	c --dir "$VM" open "$id" >/dev/null 2>&1
	c --dir "$VM" list >/dev/null 2>&1
)
check_modes "$VM" "after seal, approve, open, list under umask 000"
(umask 022 && c --dir "$W/vault-022" init >/dev/null 2>&1 && c --dir "$W/vault-022" seal --user u --community c "$W/doc.png" >/dev/null 2>&1)
check_modes "$W/vault-022" "after init and seal under umask 022"

# --- usage errors: exit 2 ----------------------------------------------------

id=$(sealid "$V" --user u1 --community c1 "$W/doc.png")
check "seal prints an id" test -n "$id"

run_at "$EMPTY" c
t_err 2 "no command exits 2"
run c --dir "$V" frobnicate
t_err 2 "unknown command exits 2"
run c --dir "$V" list --frobnicate
t_err 2 "unknown flag after the command exits 2"
run c --frobnicate --dir "$V" list
t_err 2 "unknown flag before the command exits 2"
run c --dir "$V" seal --user u1 --community c1 --frobnicate "$W/doc.png"
t_err 2 "unknown flag on seal exits 2"
run c --dir
t_err 2 "--dir without its value exits 2"
run c --dir "$V" seal --user u1 --community c1
t_err 2 "seal without FILE exits 2"
run c --dir "$V" seal --community c1 "$W/doc.png"
t_err 2 "seal without --user exits 2"
run c --dir "$V" seal --user u1 "$W/doc.png"
t_err 2 "seal without --community exits 2"
run c --dir "$V" seal --user u1 --community
t_err 2 "seal --community without its value exits 2"
run c --dir "$V" open
t_err 2 "open without DOC exits 2"
run c --dir "$V" open "$id" -o
t_err 2 "open -o without its value exits 2"
run c --dir "$V" info
t_err 2 "info without DOC exits 2"
run c --dir "$V" info "$id" "$id"
t_err 2 "info with two DOCs exits 2"
run c --dir "$V" approve
t_err 2 "approve without DOC exits 2"
run c --dir "$V" reject
t_err 2 "reject without DOC exits 2"
run c --dir "$V" list --status
t_err 2 "list --status without its value exits 2"
run c --dir "$W/never" init --frobnicate
t_err 2 "init with an unknown flag exits 2"
check "init with an unknown flag creates nothing" test ! -e "$W/never"
check "usage errors left the one document alone" test "$(count_docs "$V")" = 1

# Error messages are one line (docs/CLI.md: "one line starting with coffre: ").
run c --dir "$W/absent" list
if [ "$(wc -l <"$ERR")" -eq 1 ]; then
	pass "an error message is exactly one line"
else
	fail "an error message is exactly one line" "$(why)"
fi

# --- a missing vault: exit 3, says to run coffre init, creates nothing ------

for args in "list" "info $id" "open $id" "approve $id" "seal --user u1 --community c1 $W/doc.png"; do
	# shellcheck disable=SC2086 # word splitting of args is meant
	run c --dir "$W/absent" $args
	t_err 3 "${args%% *} on a missing vault exits 3"
	if grep -qE 'coffre( .*)? init' "$ERR"; then
		pass "${args%% *} on a missing vault says to run coffre init"
	else
		fail "${args%% *} on a missing vault says to run coffre init" "$(why)"
	fi
done
check "a command on a missing vault does not create it" test ! -e "$W/absent"
mkdir -p "$W/empty-dir"
run c --dir "$W/empty-dir" list
t_err 3 "list on an empty directory (no vault) exits 3"
check "list on an empty directory leaves it empty" test -z "$(ls -A "$W/empty-dir")"

# --- choosing the vault ------------------------------------------------------

COFFRE_DIR=$V run_at "$EMPTY" c list
t_rc 0 "\$COFFRE_DIR is used without --dir"
check "\$COFFRE_DIR: list shows the vault's document" grep -qF "$id" "$OUT"

COFFRE_DIR=$W/absent run_at "$EMPTY" c --dir "$V" list
t_rc 0 "--dir wins over \$COFFRE_DIR"
check "--dir wins over \$COFFRE_DIR: list shows the document" grep -qF "$id" "$OUT"

COFFRE_DIR=$W/absent run_at "$EMPTY" c list
t_err 3 "\$COFFRE_DIR naming a missing vault exits 3"

# A socket where no daemon answers: exit 8.  $COFFRE_SOCKET comes before
# $COFFRE_DIR; --dir before both.
run c --socket "$W/no-daemon.sock" list
t_err 8 "--socket with no daemon answering exits 8"
COFFRE_SOCKET=$W/no-daemon.sock COFFRE_DIR=$V run_at "$EMPTY" c list
t_err 8 "\$COFFRE_SOCKET comes before \$COFFRE_DIR (no daemon: exit 8)"
COFFRE_SOCKET=$W/no-daemon.sock run_at "$EMPTY" c --dir "$V" list
t_rc 0 "--dir wins over \$COFFRE_SOCKET"

CWD=$W/cwd
mkdir -p "$CWD"
run_at "$CWD" c init
t_rc 0 "init without --dir or \$COFFRE_DIR exits 0"
check "init without --dir creates ./coffre-data" test -f "$CWD/coffre-data/audit.pub"
check "./coffre-data is 0700" test "$(stat -c %a "$CWD/coffre-data" 2>/dev/null)" = 700
run_at "$CWD" c seal --user u9 --community c9 "$W/doc.png"
t_rc 0 "seal without --dir uses ./coffre-data"
cid=$(cat "$OUT")
run_at "$CWD" c --dir "$CWD/coffre-data" info "$cid"
t_rc 0 "the document sealed without --dir is in ./coffre-data"

# --- --dir and --json before the command or among its options ----------------

for form in "--dir $V --json list" "--json list --dir $V" "list --dir $V --json" \
	"--dir $V list --json" "--json --dir $V list"; do
	# shellcheck disable=SC2086
	run c $form
	if [ "$STATUS" -eq 0 ] && jv "$OUT" 'd["documents"][0]["id"] == "'"$id"'"' >/dev/null 2>&1; then
		pass "coffre $form: JSON with the document"
	else
		fail "coffre $form: JSON with the document" "$(why); stdout: $(head -c 200 "$OUT")"
	fi
done
run c seal --json --user u1 --dir "$V" --community c1 "$W/doc.png"
if [ "$STATUS" -eq 0 ] && jv "$OUT" '"id" in d and d["status"] == "pending"' >/dev/null 2>&1; then
	pass "seal with --json and --dir among its options"
else
	fail "seal with --json and --dir among its options" "$(why); stdout: $(head -c 200 "$OUT")"
fi
run c info --dir "$V" "$id" --json
if [ "$STATUS" -eq 0 ] && jv "$OUT" 'd["id"] == "'"$id"'"' >/dev/null 2>&1; then
	pass "info with --dir and --json around DOC"
else
	fail "info with --dir and --json around DOC" "$(why); stdout: $(head -c 200 "$OUT")"
fi

# --- a vault under a passphrase ----------------------------------------------

VP=$W/vault-pass
PASS_PHRASE="t10-Passphrase-$$-Quokka"
printf '%s\n' "$PASS_PHRASE" >"$W/pass"
printf 'not-the-passphrase\n' >"$W/wrong"
run c --dir "$VP" init --passphrase-file "$W/pass"
t_rc 0 "init --passphrase-file exits 0"
pid=$(c --dir "$VP" --passphrase-file "$W/pass" seal --user u1 --community c1 "$W/doc.png" 2>/dev/null </dev/null)
check "seal with --passphrase-file before the command" test -n "$pid"
run c --dir "$VP" open "$pid" -o "$W/pass-open.png" --passphrase-file "$W/pass"
t_rc 0 "open with --passphrase-file among its options"
check "open under a passphrase gives back the bytes" cmp -s "$W/doc.png" "$W/pass-open.png"
COFFRE_PASSPHRASE_FILE=$W/pass run c --dir "$VP" info "$pid"
t_rc 0 "\$COFFRE_PASSPHRASE_FILE gives the passphrase"
run c --dir "$VP" --passphrase-file "$W/wrong" info "$pid"
t_err 1 "a wrong passphrase exits 1"
run c --dir "$VP" info "$pid"
if ! crashed && [ "$STATUS" -ne 0 ]; then
	pass "no passphrase for a wrapped vault fails"
else
	fail "no passphrase for a wrapped vault fails" "$(why)"
fi
if grep -r -a -q -F "$PASS_PHRASE" "$VP"; then
	fail "the passphrase is nowhere under the vault" "$(grep -r -a -l -F "$PASS_PHRASE" "$VP")"
else
	pass "the passphrase is nowhere under the vault"
fi

finish
