#!/usr/bin/env bash
# t92_client: the command through the daemon (`--socket`, `$COFFRE_SOCKET`)
# gives the same output and exit status as on the vault directory, command
# by command, on the same vault (the embedded runs take DIR/lock beside the
# running daemon); no daemon on the socket is exit 8; the roles of the
# caller apply (exit 6).  SPEC.md section 4, issue 6; docs/API.md.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

V=$W/vault
S=$W/run/coffre.sock
mkvault "$V" || { finish; exit; }
GEN=${GEN:-python3 $COFFRE_ROOT/tests/e2e/gen.py}
$GEN pdf "$W/a.pdf" --text t92-a
$GEN png "$W/b.png" --text t92-b
$GEN pdf "$W/c.pdf" --text t92-c
printf '#!/bin/sh\necho hi\n' >"$W/script.sh"

# No daemon yet: exit 8, and the message says so.
run c --socket "$S" list
t_err 8 "no daemon: exit 8"
check "no daemon: the message says so" grep -q 'no daemon answers' "$ERR"
run env COFFRE_SOCKET="$S" "$COFFRE_BIN" list
t_err 8 "no daemon through COFFRE_SOCKET: exit 8"

if ! start_daemon "$V" "$S" "$W/daemon.log" --allow backend=uid:0 \
    --allow reviewer=uid:0 --allow auditor=uid:0 --allow admin=uid:0; then
	fail "daemon starts" "$(head -c 400 "$W/daemon.log")"
	finish
	exit
fi
pass "daemon starts"

# same NAME ARGS...: the command with --dir V and with --socket S: same exit
# status and same stdout; on failure both say why on stderr.
same() {
	local name=$1
	shift
	run c --dir "$V" "$@"
	local s1=$STATUS
	cp "$OUT" "$W/.emb.out"
	cp "$ERR" "$W/.emb.err"
	run c --socket "$S" "$@"
	if crashed; then
		fail "$name" "crashed: $(why)"
	elif [ "$s1" -ne "$STATUS" ]; then
		fail "$name" "exit $s1 embedded, $STATUS through the socket" \
		    "embedded: $(head -c 200 "$W/.emb.err")" "socket: $(why)"
	elif ! cmp -s "$W/.emb.out" "$OUT"; then
		fail "$name" "stdout differs" \
		    "$(diff "$W/.emb.out" "$OUT" | head -n 8)"
	elif [ "$s1" -ne 0 ] && ! grep -q '^coffre: ' "$ERR"; then
		fail "$name" "no coffre: message through the socket: $(why)"
	else
		pass "$name"
	fi
}

# Seal through the socket: the id is printed, the type detected.
run c --socket "$S" seal --user u1 --community medecins --kind id-card "$W/a.pdf"
t_rc 0 "seal through the socket"
A=$(cat "$OUT")
check_re "seal prints an id" "$A" '^[A-Za-z0-9_-]{22}$'
run_in "$W/b.png" c --socket "$S" --json seal --user u1 --community avocats -
t_rc 0 "seal from stdin through the socket"
B=$(jv "$OUT" 'd["id"]')
check "seal --json gives the type" test "$(jv "$OUT" 'd["type"]')" = image/png
run c --dir "$V" seal --user u2 --community medecins --name "c é.pdf" "$W/c.pdf"
C=$(cat "$OUT")

# The same output, command by command.
same "list" list
same "list --json" --json list
same "list --status pending" list --status pending
same "list --user u1 --community medecins" list --user u1 --community medecins
same "info" info "$A"
same "info --json" --json info "$C"
same "info unknown: exit 3" info AAAAAAAAAAAAAAAAAAAAAA
same "info malformed: exit 5" info 'bad id!'
same "list bad status: exit 5" list --status nope

# Reads: the same bytes.
run c --socket "$S" open "$A" -o "$W/a.out"
t_rc 0 "open through the socket"
expect_same "open gives the sealed bytes" "$W/a.pdf" "$W/a.out"
run c --socket "$S" open "$B" -o "$W/b.out"
expect_same "open from stdin seal gives the bytes" "$W/b.png" "$W/b.out"
run c --socket "$S" open "$A"
check "open to a pipe" cmp -s "$W/a.pdf" "$OUT"

# Reviews through the socket, seen embedded.
run c --socket "$S" approve "$A" --note "carte valide"
t_rc 0 "approve through the socket"
run c --socket "$S" reject "$C" --reason "illisible"
t_rc 0 "reject through the socket"
same "info after reviews" --json info "$A"
same "list approved" list --status approved
same "reject without reason: exit 2" reject "$C"

# Refusals: the same exit codes.
same "seal of a script: exit 5" seal --user u3 --community medecins "$W/script.sh"
same "seal of a missing file: exit 3" seal --user u3 --community medecins "$W/none.pdf"
same "seal with a malformed user: exit 5" seal --user 'a b' --community medecins "$W/a.pdf"

# Archives and contracts (admin and backend routes).
run c --socket "$S" archive --user u1 --contract k1 --name contrat.pdf "$W/c.pdf"
t_rc 0 "archive through the socket"
K=$(cat "$OUT")
same "archives" archives
same "archives --json" --json archives --user u1
run c --socket "$S" archive-open "$K" --reason "litige" -o "$W/k.out"
t_rc 0 "archive-open through the socket"
expect_same "archive-open gives the bytes" "$W/c.pdf" "$W/k.out"
same "archive-open without reason: exit 2" archive-open "$K"
run c --socket "$S" contract-end --user u1 --contract k1 --date 2026-01-31
t_rc 0 "contract-end through the socket"
check "contract-end prints retain-until" grep -q '2031-01-31' "$OUT"
same "contract-end earlier: exit 7" contract-end --user u1 --contract k1 --date 2025-01-01
same "shred --archive before retention: exit 7" shred --archive "$K"
run c --socket "$S" hold --user u1 --contract k1 --reason "procédure"
t_rc 0 "hold through the socket"
run c --socket "$S" release --user u1 --contract k1 --reason "fin"
t_rc 0 "release through the socket"
run c --socket "$S" sweep
t_rc 0 "sweep through the socket"

# Shreds through the socket; their effect is the same everywhere.
run c --socket "$S" --json shred --doc "$B"
t_rc 0 "shred --doc through the socket"
check "shred --doc counts one document" test "$(jv "$OUT" 'd["shredded_documents"]')" = 1
same "open a shredded document: exit 4" open "$B" -o "$W/never.out"
check "no output file for a shredded document" test ! -e "$W/never.out"
run c --socket "$S" shred --user u2
t_rc 0 "shred --user through the socket"
same "seal for a shredded user: exit 4" seal --user u2 --community medecins "$W/a.pdf"
same "list after shreds" list

# The audit commands.
same "audit verify" audit verify
# A report is dated when made: the same but for its date and signature.
STRIP='import json, sys
r = json.loads(json.load(open(sys.argv[1]))["report"])
r.pop("generated")
print(json.dumps(r, sort_keys=True))'
run c --dir "$V" audit shred-report --user u2
python3 -c "$STRIP" "$OUT" >"$W/rep.emb" 2>&1
run c --socket "$S" audit shred-report --user u2
t_rc 0 "audit shred-report through the socket"
python3 -c "$STRIP" "$OUT" >"$W/rep.sock" 2>&1
check "audit shred-report: the same statement" cmp -s "$W/rep.emb" "$W/rep.sock"
check "audit shred-report names the shredded document" grep -q -- "$C" "$W/rep.sock"
same "audit shred-report of a user never shredded: exit 3" audit shred-report --user nobody
same "audit log --user" audit log --user u1
same "audit log --json" --json audit log
same "check" check
run c --socket "$S" audit scan
t_rc 0 "audit scan through the socket"

# What works on the directory only.
run c --socket "$S" check --repair
t_err 2 "check --repair through the socket: exit 2"
run c --socket "$S" init
t_err 2 "init through the socket: exit 2"

# $COFFRE_SOCKET alone selects the daemon.
run env COFFRE_SOCKET="$S" "$COFFRE_BIN" info "$A"
t_rc 0 "COFFRE_SOCKET selects the daemon"

# The caller's role: a daemon granting only the auditor role.
stop_daemon
check "daemon exits 0 on SIGTERM" test "$DSTATUS" = 0
if start_daemon "$V" "$S" "$W/daemon2.log" --allow auditor=uid:0; then
	run c --socket "$S" list
	t_err 6 "auditor may not list documents: exit 6"
	run c --socket "$S" seal --user u5 --community medecins "$W/a.pdf"
	t_err 6 "auditor may not seal: exit 6"
	run c --socket "$S" audit verify
	t_rc 0 "auditor may verify the log"
	stop_daemon
else
	fail "auditor daemon starts" "$(head -c 400 "$W/daemon2.log")"
fi
if start_daemon "$V" "$S" "$W/daemon3.log" --allow admin=uid:4242; then
	run c --socket "$S" list
	t_err 6 "a caller with no role: exit 6"
	check "no role: the message says so" grep -q 'no role' "$ERR"
	stop_daemon
else
	fail "no-role daemon starts" "$(head -c 400 "$W/daemon3.log")"
fi
run c --dir "$V" audit verify
t_rc 0 "the log verifies after all that"
finish
