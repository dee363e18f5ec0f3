#!/usr/bin/env bash
# t80_audit: the audit log as an auditor uses it (SPEC.md sections 2, 4 and
# 6, docs/AUDIT.md): one event with the right op and result for every change
# and every read, refusals included; the export (`--json audit log`) is one
# JSON object a line, numbered 1..N with no gap, a signed checkpoint after
# each operation; no name, note or reason in the clear in the log or
# anywhere under the vault; `audit verify` on the vault and offline on an
# export, with its exit codes; tampered exports (a flipped byte, a line
# dropped, duplicated, swapped, cut, the last checkpoint dropped, two
# vaults' logs spliced, a checkpoint signature changed) fail naming the
# first bad event; the shred report; and, with fault points, crashes in the
# middle of a shred or a seal leave each event exactly once or not at all.
#
# The chain (BLAKE2b-256) is recomputed here with python3's hashlib, and the
# Ed25519 signatures checked with python3's `cryptography` when it is
# installed (else those checks are skipped): the recipe of docs/AUDIT.md.
. "$(dirname "$0")/lib.sh"

PY=$TMPDIR_E2E/audit_check.py
cat >"$PY" <<'EOF'
# audit_check.py: what an auditor can check with python3 alone.
import base64, hashlib, json, re, struct, sys

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import \
        Ed25519PublicKey
    from cryptography.exceptions import InvalidSignature
    HAVE_ED25519 = True
except Exception:
    HAVE_ED25519 = False

EVENT_KEYS = ["seq", "time", "actor", "op", "result"]


def die(msg):
    print(msg)
    sys.exit(1)


def read_lines(path):
    data = open(path, "rb").read()
    if data and not data.endswith(b"\n"):
        die("%s does not end with a newline" % path)
    return data.split(b"\n")[:-1] if data else []


def obj(line, where):
    try:
        j = json.loads(line)
    except ValueError as e:
        die("%s is not JSON: %s: %r" % (where, e, line[:200]))
    if not isinstance(j, dict):
        die("%s is not a JSON object" % where)
    return j


def b2(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def pubkey(path):
    pk = base64.b64decode(open(path, "rb").read().strip(), validate=True)
    if len(pk) != 32:
        die("public key of %d bytes" % len(pk))
    return pk


def sig_ok(pk, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(pk).verify(sig, msg)
        return True
    except InvalidSignature:
        return False


def chain(log, pub):
    """The whole export: JSON objects, seq 1..N, prev chained from the
    genesis, an event always followed by a checkpoint, the last line a
    checkpoint, and (if possible) every checkpoint's Ed25519 signature.
    Prints N, the head and whether signatures were checked."""
    pk = pubkey(pub)
    lines = read_lines(log)
    if not lines:
        die("empty log")
    prev = b2(b"coffre-audit-genesis-v1" + pk)
    sigs = 0
    for i, line in enumerate(lines):
        n = i + 1
        j = obj(line, "line %d" % n)
        if j.get("seq") != n:
            die("line %d has seq %r" % (n, j.get("seq")))
        if j.get("prev") != prev.hex():
            die("line %d: prev %r is not the hash of line %d (%s)"
                % (n, j.get("prev"), n - 1, prev.hex()))
        if j.get("op") == "checkpoint":
            if sorted(j) != ["op", "prev", "seq", "sig"]:
                die("checkpoint %d has fields %r" % (n, sorted(j)))
            sig = base64.b64decode(j["sig"], validate=True)
            if len(sig) != 64:
                die("checkpoint %d: signature of %d bytes" % (n, len(sig)))
            if HAVE_ED25519:
                msg = (b"coffre-audit-checkpoint-v1" + struct.pack("<Q", n)
                       + prev)
                if not sig_ok(pk, sig, msg):
                    die("checkpoint %d: the signature does not verify" % n)
                sigs += 1
        else:
            for k in EVENT_KEYS + ["prev"]:
                if k not in j:
                    die("event %d has no %s" % (n, k))
            if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                                j["time"]):
                die("event %d: time %r" % (n, j["time"]))
            if j["result"] not in ("done", "refused", "failed"):
                die("event %d: result %r" % (n, j["result"]))
            if (j["result"] in ("refused", "failed")) != ("code" in j):
                die("event %d: a code goes with a refusal or a failure "
                    "only" % n)
            if n == len(lines):
                die("event %d is the last line: no checkpoint after it" % n)
            # One checkpoint per transaction: every event is followed by
            # events of the same transaction, then its checkpoint.
            if not any(obj(l, "line").get("op") == "checkpoint"
                       for l in lines[i + 1:]):
                die("event %d is not followed by a checkpoint" % n)
        prev = b2(line)
    if obj(lines[-1], "last").get("op") != "checkpoint":
        die("the last line is not a checkpoint")
    print(len(lines), prev.hex(), sigs if HAVE_ED25519 else "unchecked")


def matches(j, conds):
    for c in conds:
        if c.startswith("!"):
            if c[1:] in j:
                return "has %s" % c[1:]
        elif c.startswith("?"):
            if c[1:] not in j:
                return "has no %s" % c[1:]
        elif c == "@fp":
            fp = j.get("fingerprints")
            if not isinstance(fp, list) or not fp or not all(
                    isinstance(f, str) and re.fullmatch(r"[0-9a-f]{32}", f)
                    for f in fp):
                return "fingerprints %r" % (fp,)
            if j.get("keys_destroyed", 0) < len(fp):
                return "more fingerprints than keys destroyed"
        elif c == "@epoch":
            a, b = j.get("epoch_before"), j.get("epoch_after")
            if not isinstance(a, int) or b != a + 1:
                return "epochs %r -> %r (want +1)" % (a, b)
        elif ">=" in c:
            k, v = c.split(">=", 1)
            if not isinstance(j.get(k), int) or j[k] < int(v):
                return "%s = %r, want >= %s" % (k, j.get(k), v)
        else:
            k, v = c.split("=", 1)
            if k not in j or str(j[k]) != v:
                return "%s = %r, want %r" % (k, j.get(k), v)
    return None


def new(before, after, op, result, *conds):
    """AFTER is BEFORE plus one event OP/RESULT (with CONDS) and one
    checkpoint: append-only, nothing else.  Prints the event line."""
    a = open(before, "rb").read()
    b = open(after, "rb").read()
    if not b.startswith(a):
        die("the log was not appended to: its first %d bytes changed"
            % len(a))
    added = read_lines(after)[len(read_lines(before)):]
    ops = [obj(l, "new line").get("op") for l in added]
    # A sweep names each archive and document it destroys in events of
    # their own (sweep-contract, sweep-doc), in the same transaction.
    while len(added) > 2 and ops[0] in ("sweep-contract", "sweep-doc") \
            and op == "sweep":
        added = added[1:]
        ops = ops[1:]
    if len(added) != 2 or ops[1] != "checkpoint":
        die("want one %s event and a checkpoint, got %d new lines: %r"
            % (op, len(added), ops))
    j = obj(added[0], "the new event")
    if j.get("op") != op or j.get("result") != result:
        die("got op %r result %r, want %s %s: %s"
            % (j.get("op"), j.get("result"), op, result, added[0].decode()))
    why = matches(j, ["actor=local"] + list(conds))
    if why:
        die("%s: %s" % (why, added[0].decode()))
    print(added[0].decode())


def count(log, op, user):
    """How many events OP name USER."""
    print(sum(1 for l in read_lines(log)
              if (lambda j: j.get("op") == op and j.get("user") == user)(
                  obj(l, "line"))))


def user(log, ulog, u):
    """ULOG (audit log --user U) is exactly the lines of LOG naming U."""
    want = [l for l in read_lines(log) if obj(l, "line").get("user") == u]
    got = read_lines(ulog)
    if not want:
        die("the full log names no %s" % u)
    if got != want:
        die("audit log --user %s: %d lines, want the %d lines of the full "
            "log naming %s, byte for byte" % (u, len(got), len(want), u))
    print(len(got))


def pick(log):
    """An event line in the middle of LOG followed by a checkpoint."""
    lines = [obj(l, "line") for l in read_lines(log)]
    for j in lines[len(lines) // 2:]:
        if j["op"] != "checkpoint" and "actor" in j:
            print(j["seq"])
            return
    die("no event in the second half")


def tamper(log, how, k, out):
    lines = read_lines(log)
    k = int(k)
    i = k - 1
    if how == "flip-content":     # a byte of the actor: local -> mocal
        off = lines[i].index(b'"actor":"') + 9
        b = bytearray(lines[i])
        b[off] ^= 1
        lines[i] = bytes(b)
    elif how == "flip-prev":      # a byte of its prev hash
        off = lines[i].index(b'"prev":"') + 8 + 10
        b = bytearray(lines[i])
        b[off] ^= 1
        lines[i] = bytes(b)
    elif how == "drop":
        del lines[i]
    elif how == "dup":
        lines.insert(i, lines[i])
    elif how == "swap":
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    elif how == "sig":            # another valid-looking signature
        j = json.loads(lines[i])
        assert j["op"] == "checkpoint"
        s = bytearray(base64.b64decode(j["sig"]))
        s[7] ^= 0x10
        lines[i] = lines[i].replace(j["sig"].encode(),
                                    base64.b64encode(bytes(s)))
    elif how == "append":         # a forged event after the last line
        h = b2(lines[-1]).hex()
        lines.append(('{"seq":%d,"time":"2030-01-01T00:00:00Z","actor":'
                      '"local","op":"open","result":"done","doc":'
                      '"AAAAAAAAAAEAAAAAAAAAAA","user":"x","prev":"%s"}'
                      % (len(lines) + 1, h)).encode())
    else:
        die("tamper " + how)
    open(out, "wb").write(b"".join(l + b"\n" for l in lines))


def cut(log, out):
    """The file cut in the middle of its last line."""
    data = open(log, "rb").read()
    last = data[:-1].rfind(b"\n") + 1
    open(out, "wb").write(data[: last + (len(data) - last) // 2])


def report(rep, log, u, pub):
    """The shred report: its structure, its events in the log, its head,
    and (if possible) its signature over the exact bytes of "report"."""
    lines = read_lines(rep)
    if len(lines) != 1:
        die("want one line, got %d" % len(lines))
    o = obj(lines[0], "the report")
    if sorted(o) != ["report", "signature"]:
        die("fields %r, want report and signature" % sorted(o))
    if not isinstance(o["report"], str):
        die("report is not a string")
    st = obj(o["report"].encode(), "the statement")
    for k in ("user", "documents", "shreds", "events", "log_head",
              "how_to_check"):
        if k not in st:
            die("the statement has no %s: %r" % (k, sorted(st)))
    if st["user"] != u:
        die("user %r" % st["user"])
    log_lines = read_lines(log)
    by_seq = {obj(l, "line")["seq"]: obj(l, "line") for l in log_lines}
    naming = [s for s, j in by_seq.items() if j.get("user") == u]
    if not st["events"] or st["events"] != naming:
        die("events %r, want the events of the log naming %s: %r"
            % (st["events"], u, naming))
    sealed = [j["doc"] for j in by_seq.values()
              if j.get("op") == "seal" and j.get("result") == "done"
              and j.get("user") == u]
    if st["documents"] != sealed:
        die("documents %r, want %r" % (st["documents"], sealed))
    if not st["shreds"]:
        die("no shreds")
    for s in st["shreds"]:
        if not isinstance(s, dict) or by_seq.get(s.get("seq")) != s:
            die("shred %r is not an event of the log" % (s,))
        if not (s["op"].startswith("shred") or
                s["op"] in ("sweep-contract", "sweep-doc")) \
                or s.get("user") != u:
            die("shred event %r" % (s,))
        why = matches(s, ["@fp", "@epoch"]) if s.get("keys_destroyed") \
            else None
        if why:
            die("shred event %d: %s" % (s["seq"], why))
    if not any(s["op"] == "shred-user" for s in st["shreds"]):
        die("no shred-user among the shreds")
    head = st["log_head"]
    if head != {"seq": len(log_lines), "hash": b2(log_lines[-1]).hex()}:
        die("log_head %r, want seq %d and the hash of the last line"
            % (head, len(log_lines)))
    how = " ".join(st["how_to_check"]) if isinstance(
        st["how_to_check"], list) else str(st["how_to_check"])
    if "audit verify" not in how or "audit scan" not in how:
        die("how_to_check does not say to run audit verify and audit scan")
    sig = base64.b64decode(o["signature"], validate=True)
    if len(sig) != 64:
        die("signature of %d bytes" % len(sig))
    if HAVE_ED25519:
        pk = pubkey(pub)
        if not sig_ok(pk, sig, o["report"].encode()):
            die("the signature does not verify over the report's bytes")
        if sig_ok(pk, sig, o["report"].encode() + b" "):
            die("the signature verifies over other bytes too")
        print("verified")
    else:
        print("unchecked")


cmd = sys.argv[1]
args = sys.argv[2:]
{"chain": chain, "new": new, "count": count, "user": user, "pick": pick,
 "tamper": tamper, "cut": cut, "report": report}[cmd](*args)
EOF

SNAP=$TMPDIR_E2E/snap.log
CUR=$TMPDIR_E2E/cur.log
# snap: the current export of the log, the base of the next `logged`.
snap() {
	coffre --json audit log >"$SNAP" 2>/dev/null
}

# logged NAME OP RESULT [COND...]: since the last snap, the log gained
# exactly one event OP/RESULT (actor local, and each COND: KEY=VALUE, !KEY
# absent, ?KEY present, KEY>=N, @fp fingerprints, @epoch before+1 = after)
# and one checkpoint, and nothing before changed.
logged() {
	local name=$1 why
	shift
	if ! coffre --json audit log >"$CUR" 2>"$TMPDIR_E2E/cur.err"; then
		fail "$name" "coffre --json audit log failed:" \
		    "$(cat "$TMPDIR_E2E/cur.err")"
	elif why=$(python3 "$PY" new "$SNAP" "$CUR" "$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$why"
	fi
	cp "$CUR" "$SNAP"
}

# in_dir DIR CMD ARGS...: CMD run from DIR, with no vault in the environment.
in_dir() (
	cd "$1" || exit 1
	shift
	exec env -u COFFRE_DIR -u COFFRE_SOCKET "$@"
)

# Personal data that must never be in the log in the clear.
NAME1="Passeport-Alice-Dupont-5521.pdf"
NOTE1="NoteRevue-conforme-8812"
NOTE2="RejetMotif-illisible-3390"
ANAME="Contrat-travail-Alice-7070"
R_OPEN="MotifLitige-prudhommes-4417"
R_HOLD="MotifGel-contentieux-6628"
R_REL="MotifLevee-jugement-1194"
R_LATE="MotifLecture-tardive-2283"
SECRETS=("$NAME1" "$NOTE1" "$NOTE2" "$ANAME" "$R_OPEN" "$R_HOLD" "$R_REL"
    "$R_LATE")

# --- 1. Every change and every read appends its event ----------------------

new_vault
VA=$VAULT
PUB=$(cat "$VAULT/audit.pub")
if grep -qxF "audit public key: $PUB" "$OUT"; then
	pass "init prints the audit public key it writes to audit.pub"
else
	fail "init prints the audit public key it writes to audit.pub" \
	    "audit.pub: $PUB" "init said: $(cat "$OUT")"
fi
: >"$SNAP"
logged "init is the first event, with the public key" init "done" \
    seq=1 audit_pubkey="$PUB" retention_years=5

expect_ok "seal a named document" -- coffre seal --user alice \
    --community medecins --kind id_card --name "$NAME1" "$SAMPLES/sample.pdf"
d1=$(cat "$OUT")
logged "seal: done, with its ids, type and size, no name" seal "done" \
    doc="$d1" user=alice community=medecins kind=id_card \
    type=application/pdf size="$(stat -c %s "$SAMPLES/sample.pdf")" '!name'
expect_ok "seal a second document" -- coffre seal --user alice \
    --community medecins "$SAMPLES/sample.png"
d2=$(cat "$OUT")
logged "seal of the second document" seal "done" doc="$d2" user=alice
expect_ok "seal a document of bob" -- coffre seal --user bob \
    --community avocats "$SAMPLES/sample.jpg"
b1=$(cat "$OUT")
logged "seal of bob's document" seal "done" doc="$b1" user=bob

expect_ok "open a document" -- coffre open "$d1" -o "$TMPDIR_E2E/d1.out"
logged "open: done, naming the document and its user" open "done" \
    doc="$d1" user=alice
expect_ok "approve with a note" -- coffre approve "$d1" --note "$NOTE1"
logged "approve: review done, decision approve, no note" review "done" \
    doc="$d1" user=alice decision=approve '!note'
expect_ok "reject with a reason" -- coffre reject "$d2" --reason "$NOTE2"
logged "reject: review done, decision reject, no reason" review "done" \
    doc="$d2" user=alice decision=reject '!reason' '!reason_sealed'
expect_exit 3 "open of an unknown id" -- coffre open AAAAAAAAAAAAAAAAAAAAAA
logged "open of an unknown id: refused not_found" open refused \
    code=not_found doc=AAAAAAAAAAAAAAAAAAAAAA
expect_exit 3 "review of an unknown id" -- coffre approve AAAAAAAAAAAAAAAAAAAAAA
logged "review of an unknown id: refused not_found" review refused \
    code=not_found
printf '#!/bin/sh\necho hello\n' >"$TMPDIR_E2E/script.sh"
expect_exit 5 "seal of a shell script" -- coffre seal --user alice \
    --community medecins --name "$NAME1" "$TMPDIR_E2E/script.sh"
logged "seal of a disallowed type: refused rejected, naming the type" seal \
    refused code=rejected user=alice community=medecins \
    type=text/x-shellscript '!doc' '!name'

expect_ok "archive a contract record" -- coffre archive --user alice \
    --contract k1 --name "$ANAME" "$SAMPLES/sample.png"
a1=$(cat "$OUT")
logged "archive: done, with its ids, no name" archive "done" archive="$a1" \
    user=alice contract=k1 type=image/png '!name'
expect_ok "archive-open with a reason" -- coffre archive-open "$a1" \
    --reason "$R_OPEN" -o "$TMPDIR_E2E/a1.out"
logged "archive-open: done, its reason sealed" archive-open "done" \
    archive="$a1" user=alice contract=k1 '?reason_sealed' '!reason'
expect_exit 7 "shred --archive before its date" -- coffre shred --archive "$a1"
logged "shred --archive too early: refused locked" shred-archive refused \
    code=locked archive="$a1"
expect_ok "hold" -- coffre hold --user alice --contract k1 --reason "$R_HOLD"
logged "hold: done, its reason sealed" hold "done" user=alice contract=k1 \
    holds=1 '?reason_sealed' '!reason'
expect_ok "release" -- coffre release --user alice --contract k1 \
    --reason "$R_REL"
logged "release: done, its reason sealed" release "done" user=alice \
    contract=k1 holds=0 '?reason_sealed' '!reason'
expect_exit 3 "release with no hold standing" -- coffre release \
    --user alice --contract k1 --reason "$R_REL"
logged "release with no hold: refused not_found" release refused \
    code=not_found user=alice contract=k1
expect_exit 3 "hold on an unknown contract" -- coffre hold --user alice \
    --contract nope --reason "$R_HOLD"
logged "hold on an unknown contract: refused not_found" hold refused \
    code=not_found user=alice contract=nope
expect_ok "contract-end in the past" -- coffre contract-end --user alice \
    --contract k1 --date 2000-01-01
logged "contract-end: done, with its dates" contract-end "done" user=alice \
    contract=k1 end_date=2000-01-01 retain_until=2005-01-01
expect_exit 7 "contract-end that would shorten the retention" -- \
    coffre contract-end --user alice --contract k1 --date 1999-01-01
logged "contract-end shortening: refused locked" contract-end refused \
    code=locked user=alice contract=k1
expect_exit 4 "archive-open after the retention" -- coffre archive-open \
    "$a1" --reason "$R_LATE" -o "$TMPDIR_E2E/a1.late"
logged "archive-open too late: refused gone, its reason sealed" \
    archive-open refused code=gone archive="$a1" '?reason_sealed'

# bob's contract ends in the past too; his archive is shredded by hand.
expect_ok "archive for bob" -- coffre archive --user bob --contract k2 \
    "$SAMPLES/sample.pdf"
a2=$(cat "$OUT")
logged "archive of bob" archive "done" archive="$a2" user=bob contract=k2
expect_ok "contract-end of bob's contract" -- coffre contract-end \
    --user bob --contract k2 --date 2001-06-30
logged "contract-end of bob's contract is logged" contract-end "done" \
    user=bob contract=k2 retain_until=2006-06-30
expect_ok "shred --archive after its date" -- coffre shred --archive "$a2"
logged "shred --archive: done, with fingerprints and epochs" shred-archive \
    "done" archive="$a2" user=bob contract=k2 keys_destroyed\>=1 @fp @epoch
expect_exit 4 "shred --archive twice" -- coffre shred --archive "$a2"
logged "shred --archive twice: refused gone" shred-archive refused \
    code=gone archive="$a2"
expect_ok "sweep" -- coffre sweep
logged "sweep: done, with what it destroyed" sweep "done" contracts\>=1 \
    keys_destroyed\>=1 @fp @epoch
expect_exit 4 "shred --archive of a swept archive" -- coffre shred \
    --archive "$a1"
logged "shred --archive after the sweep: refused gone" shred-archive \
    refused code=gone archive="$a1"

expect_ok "shred --doc" -- coffre shred --doc "$d2"
logged "shred --doc: done, with fingerprints and epochs" shred-doc "done" \
    doc="$d2" user=alice keys_destroyed=1 @fp @epoch
expect_exit 4 "shred --doc twice" -- coffre shred --doc "$d2"
logged "shred --doc twice: refused gone" shred-doc refused code=gone \
    doc="$d2"
expect_exit 3 "shred --doc of an unknown id" -- coffre shred \
    --doc AAAAAAAAAAAAAAAAAAAAAA
logged "shred --doc of an unknown id: refused not_found" shred-doc refused \
    code=not_found
expect_ok "shred --user" -- coffre shred --user alice
logged "shred --user: done, with fingerprints and epochs" shred-user "done" \
    user=alice documents=1 keys_destroyed\>=2 @fp @epoch
expect_exit 4 "seal for the shredded user" -- coffre seal --user alice \
    --community medecins "$SAMPLES/sample.pdf"
logged "seal for a shredded user: refused gone" seal refused code=gone \
    user=alice
expect_exit 4 "open of a shredded document" -- coffre open "$d1"
logged "open of a shredded document: refused gone, naming its user" open \
    refused code=gone doc="$d1" user=alice
expect_exit 4 "review of a shredded document" -- coffre approve "$d1"
logged "review of a shredded document: refused gone" review refused \
    code=gone doc="$d1"
expect_ok "a sweep with nothing to do" -- coffre sweep
logged "a sweep with nothing to do is logged too" sweep "done" \
    keys_destroyed=0
expect_ok "list" -- coffre list
expect_ok "info" -- coffre info "$b1"
expect_ok "archives" -- coffre archives
coffre --json audit log >"$CUR" 2>/dev/null
expect_same "list, info and archives read no plaintext: no event" "$SNAP" \
    "$CUR"

# The whole log, as an auditor exports it.
LOG=$TMPDIR_E2E/A.jsonl
coffre --json audit log >"$LOG"
N=$(wc -l <"$LOG")
if res=$(python3 "$PY" chain "$LOG" "$VAULT/audit.pub" 2>&1); then
	pass "the export: JSON lines, seq 1..$N, chained, a checkpoint after each event"
	read -r _ HEAD SIGS <<<"$res"
else
	fail "the export: JSON lines, seq 1..N, chained, a checkpoint after each event" "$res"
	HEAD=none
	SIGS=unchecked
fi
if [ "$SIGS" = unchecked ]; then
	skip "every checkpoint signature verifies with python3" \
	    "python3 has no cryptography module"
else
	expect_eq "every checkpoint signature verifies with python3" \
	    "$((N / 2))" "$SIGS"
fi
expect_out "audit log --json (after the command) is the same export" \
    "$(cat "$LOG")" -- coffre audit log --json
expect_out_match "audit verify passes on the vault" \
    "^audit log verified: $N events, $((N / 2)) signed checkpoints, no gap, head $HEAD\$" \
    -- coffre audit verify
expect_out "audit verify --json" \
    "{\"ok\":true,\"events\":$N,\"checkpoints\":$((N / 2)),\"head\":\"$HEAD\"}" \
    -- coffre --json audit verify
coffre --json audit log >"$CUR"
expect_same "reading and verifying the log add nothing to it" "$LOG" "$CUR"

expect_ok "audit log --user alice" -- coffre --json audit log --user alice
cp "$OUT" "$TMPDIR_E2E/alice.jsonl"
if why=$(python3 "$PY" user "$LOG" "$TMPDIR_E2E/alice.jsonl" alice 2>&1); then
	pass "audit log --user alice: exactly the lines naming alice, no checkpoint"
else
	fail "audit log --user alice: exactly the lines naming alice, no checkpoint" "$why"
fi
expect_ok "audit log --user bob (text)" -- coffre audit log --user bob
if grep -v '"user":"bob"' "$OUT" | grep -q . || ! grep -q . "$OUT"; then
	fail "audit log --user bob: only lines naming bob" "$(head -5 "$OUT")"
else
	pass "audit log --user bob: only lines naming bob"
fi
expect_ok "audit log --user of a user never seen: nothing" -- \
    coffre audit log --user nobody
expect_eq "audit log --user nobody prints nothing" 0 "$(stat -c %s "$OUT")"
expect_err 5 "audit log --user of a malformed id" 'malformed' -- \
    coffre audit log --user 'a b'

# --- 2. No personal data in the clear --------------------------------------

for s in "${SECRETS[@]}"; do
	if grep -qF -- "$s" "$LOG"; then
		fail "the export holds no '$s'" "$(grep -nF -- "$s" "$LOG" | head -3)"
	else
		pass "the export holds no '$s'"
	fi
	expect_not_in_dir "no '$s' under the vault directory" "$VAULT" "$s"
done
expect_ok "audit log (text)" -- coffre audit log
cp "$OUT" "$TMPDIR_E2E/text.log"
for s in "$R_OPEN" "$R_HOLD" "$R_REL" "$R_LATE"; do
	if grep -qF -- "\"reason\":\"$s\"" "$TMPDIR_E2E/text.log"; then
		pass "audit log on the vault shows the reason '$s' opened"
	else
		fail "audit log on the vault shows the reason '$s' opened" \
		    "$(grep -F reason "$TMPDIR_E2E/text.log" | head -5)"
	fi
done
for s in "$NAME1" "$NOTE1" "$NOTE2" "$ANAME"; do
	if grep -qF -- "$s" "$TMPDIR_E2E/text.log"; then
		fail "names and notes are not in the log at all: '$s'"
	else
		pass "names and notes are not in the log at all: '$s'"
	fi
done
n_sealed=$(grep -c '"reason_sealed"' "$LOG")
expect_eq "the four reasons are sealed in the export" 4 "$n_sealed"
expect_eq "the text log opens them all" 0 \
    "$(grep -c '"reason_sealed"' "$TMPDIR_E2E/text.log")"

# --- 3. Offline verification of an export ---------------------------------

EXP=$TMPDIR_E2E/export
ELSE=$TMPDIR_E2E/elsewhere
mkdir -p "$EXP" "$ELSE"
cp "$LOG" "$EXP/log.jsonl"
cp "$VAULT/audit.pub" "$EXP/audit.pub"
expect_out_match "audit verify --log --pubkey, from elsewhere, no vault" \
    "^audit log verified: $N events, $((N / 2)) signed checkpoints, no gap, head $HEAD\$" \
    -- in_dir "$ELSE" "$COFFRE_BIN" audit verify --log "$EXP/log.jsonl" \
    --pubkey "$EXP/audit.pub"
expect_absent "verifying an export creates no vault" "$ELSE/coffre-data"
expect_out_match "offline verify with relative paths and --json" \
    "^\\{\"ok\":true,\"events\":$N," -- in_dir "$EXP" "$COFFRE_BIN" --json \
    audit verify --log log.jsonl --pubkey audit.pub
verify_stdin() {
	in_dir "$ELSE" "$COFFRE_BIN" audit verify --log - \
	    --pubkey "$EXP/audit.pub" <"$EXP/log.jsonl"
}
expect_out_match "offline verify of the log on stdin (-)" "verified: $N events" \
    -- verify_stdin
expect_err 2 "verify with --log only" 'both' -- in_dir "$ELSE" \
    "$COFFRE_BIN" audit verify --log "$EXP/log.jsonl"
expect_err 2 "verify with --pubkey only" 'both' -- in_dir "$ELSE" \
    "$COFFRE_BIN" audit verify --pubkey "$EXP/audit.pub"
expect_err 3 "verify of a missing log file" 'nope.jsonl' -- in_dir "$ELSE" \
    "$COFFRE_BIN" audit verify --log "$EXP/nope.jsonl" --pubkey "$EXP/audit.pub"
expect_err 3 "verify with a missing public key file" 'nope.pub' -- \
    in_dir "$ELSE" "$COFFRE_BIN" audit verify --log "$EXP/log.jsonl" \
    --pubkey "$EXP/nope.pub"
printf 'not a key\n' >"$EXP/bad1.pub"
expect_err 5 "verify with a public key file that is not base64" 'bad1.pub' \
    -- in_dir "$ELSE" "$COFFRE_BIN" audit verify --log "$EXP/log.jsonl" \
    --pubkey "$EXP/bad1.pub"
head -c 31 /dev/urandom | base64 >"$EXP/bad2.pub"
expect_err 5 "verify with a public key of 31 bytes" 'bad2.pub' -- \
    in_dir "$ELSE" "$COFFRE_BIN" audit verify --log "$EXP/log.jsonl" \
    --pubkey "$EXP/bad2.pub"
: >"$EXP/bad3.pub"
expect_err 5 "verify with an empty public key file" 'bad3.pub' -- \
    in_dir "$ELSE" "$COFFRE_BIN" audit verify --log "$EXP/log.jsonl" \
    --pubkey "$EXP/bad3.pub"
: >"$EXP/empty.jsonl"
expect_err 1 "verify of an empty log" 'no events' -- in_dir "$ELSE" \
    "$COFFRE_BIN" audit verify --log "$EXP/empty.jsonl" --pubkey "$EXP/audit.pub"

# --- 4. Tampered exports: exit 1, naming the first bad event ---------------

K=$(python3 "$PY" pick "$LOG")
expect_match "an event in the middle of the log to tamper with" '^[0-9]+$' "$K"
T=$EXP/t.jsonl
# tampered NAME FIRST_BAD: verify $T fails with exit 1 naming FIRST_BAD.
tampered() {
	expect_err 1 "$1 (event $2 named)" "events? $2([^0-9]|\$)" -- \
	    in_dir "$ELSE" "$COFFRE_BIN" audit verify --log "$T" \
	    --pubkey "$EXP/audit.pub"
}
python3 "$PY" tamper "$LOG" flip-content "$K" "$T"
tampered "a byte flipped inside event $K" "$K"
python3 "$PY" tamper "$LOG" flip-prev "$K" "$T"
tampered "a byte flipped in the prev hash of event $K" "$K"
python3 "$PY" tamper "$LOG" drop "$K" "$T"
tampered "event $K dropped" "$K"
python3 "$PY" tamper "$LOG" drop "$((K + 1))" "$T"
tampered "checkpoint $((K + 1)) dropped" "$((K + 1))"
python3 "$PY" tamper "$LOG" dup "$K" "$T"
tampered "event $K duplicated" "$((K + 1))"
python3 "$PY" tamper "$LOG" swap "$K" "$T"
tampered "events $K and $((K + 1)) swapped" "$K"
python3 "$PY" tamper "$LOG" swap "$((K - 2))" "$T"
tampered "events $((K - 2)) and $((K - 1)) swapped" "$((K - 2))"
python3 "$PY" cut "$LOG" "$T"
tampered "the file cut in the middle of its last line" "$N"
head -n $((N - 1)) "$LOG" >"$T"
tampered "the last line (the final checkpoint) dropped" "$((N - 1))"
python3 "$PY" tamper "$LOG" sig "$((K + 1))" "$T"
tampered "the signature of checkpoint $((K + 1)) changed" "$((K + 1))"
python3 "$PY" tamper "$LOG" sig "$N" "$T"
tampered "the signature of the last checkpoint changed" "$N"
python3 "$PY" tamper "$LOG" append "$N" "$T"
tampered "an event appended after the last checkpoint" "$((N + 1))"
# A prefix that ends at a checkpoint verifies (docs/AUDIT.md: compare the
# head with one obtained independently): its head is not the log's.
head -n $((K + 1)) "$LOG" >"$T"
expect_out_match "a prefix ending at a checkpoint verifies, with its own head" \
    "verified: $((K + 1)) events" -- in_dir "$ELSE" "$COFFRE_BIN" audit verify \
    --log "$T" --pubkey "$EXP/audit.pub"
if grep -q "head $HEAD" "$OUT"; then
	fail "the prefix's head differs from the whole log's head"
else
	pass "the prefix's head differs from the whole log's head"
fi

# Two vaults: B's log after A's first lines; A's log with B's key.
new_vault
VB=$VAULT
for f in sample.pdf sample.png sample.jpg sample.pdf sample.png; do
	coffre seal --user carol --community c "$SAMPLES/$f" >/dev/null
done
LOGB=$TMPDIR_E2E/B.jsonl
coffre --json audit log >"$LOGB"
NB=$(wc -l <"$LOGB")
expect_eq "vault B's log has 12 lines" 12 "$NB"
{
	head -n 6 "$LOG"
	tail -n +7 "$LOGB"
} >"$T"
tampered "A's first 6 lines then B's lines from 7 on (spliced)" 7
{
	head -n 6 "$LOGB"
	tail -n +7 "$LOG"
} >"$T"
expect_err 1 "B's first 6 lines then A's from 7 on, with B's key" \
    'events? 7([^0-9]|$)' -- in_dir "$ELSE" "$COFFRE_BIN" audit verify \
    --log "$T" --pubkey "$VB/audit.pub"
expect_err 1 "A's whole log with B's public key (event 1 named)" \
    'events? 1([^0-9]|$)' -- in_dir "$ELSE" "$COFFRE_BIN" audit verify \
    --log "$LOG" --pubkey "$VB/audit.pub"
expect_ok "B's own log verifies with B's key" -- in_dir "$ELSE" \
    "$COFFRE_BIN" audit verify --log "$LOGB" --pubkey "$VB/audit.pub"

# --- 5. The shred report ---------------------------------------------------

VAULT=$VA
expect_ok "shred-report for alice" -- coffre audit shred-report --user alice
cp "$OUT" "$TMPDIR_E2E/report.json"
coffre --json audit log >"$LOG"
if res=$(python3 "$PY" report "$TMPDIR_E2E/report.json" "$LOG" alice \
    "$VAULT/audit.pub" 2>&1); then
	pass "shred-report: report and signature; its events, documents, shreds and head are the log's"
else
	fail "shred-report: report and signature; its events, documents, shreds and head are the log's" "$res"
	res=unchecked
fi
if [ "$res" = verified ]; then
	pass "shred-report: the Ed25519 signature over the report's bytes verifies with audit.pub"
else
	skip "shred-report: the signature verifies with python3" \
	    "python3 has no cryptography module"
fi
for s in "${SECRETS[@]}"; do
	if grep -qF -- "$s" "$TMPDIR_E2E/report.json"; then
		fail "the shred report holds no '$s'"
	else
		pass "the shred report holds no '$s'"
	fi
done
expect_ok "shred-report --json" -- coffre --json audit shred-report --user alice
if python3 "$PY" report "$OUT" "$LOG" alice "$VAULT/audit.pub" >/dev/null 2>&1; then
	pass "shred-report --json has the same form"
else
	fail "shred-report --json has the same form" "$(head -c 300 "$OUT")"
fi
expect_ok "a document for erin" -- coffre seal --user erin --community c \
    "$SAMPLES/sample.pdf"
expect_err 3 "shred-report for a user with documents but no shred" \
    'no shred' -- coffre audit shred-report --user erin
expect_err 3 "shred-report for a user never seen" 'no shred' -- \
    coffre audit shred-report --user nobody
expect_err 5 "shred-report for a malformed user id" 'malformed' -- \
    coffre audit shred-report --user 'a b'
expect_exit 2 "shred-report without --user" -- coffre audit shred-report
expect_ok "after the report: audit verify" -- coffre audit verify
expect_out_match "and audit scan, as how_to_check says" 'scan passed' -- \
    coffre audit scan

# --- 6. Crashes: each event exactly once, or not at all --------------------

need_faults

# crash LABEL POINT ARGS...: `coffre ARGS` dies at POINT; then `coffre list`.
crash() {
	local label=$1 point=$2
	shift 2
	COFFRE_CRASH_AT=$point run_cmd coffre "$@"
	expect_eq "$label crashed at $point: exit 86" 86 "$STATUS"
	expect_ok "$label crashed at $point: the next command (list) runs" -- \
	    coffre list
}

for point in tree-committed index-commit index-committed; do
	L="shred --user crashed at $point"
	new_vault
	coffre seal --user alice --community c "$SAMPLES/sample.pdf" \
	    >"$TMPDIR_E2E/id" 2>/dev/null
	a=$(cat "$TMPDIR_E2E/id")
	coffre seal --user alice --community c "$SAMPLES/sample.png" >/dev/null
	coffre seal --user bob --community c "$SAMPLES/sample.jpg" >/dev/null
	snap
	crash "shred --user" "$point" shred --user alice
	logged "$L: its event is in the log, once, after the crash" \
	    shred-user "done" user=alice documents=2 keys_destroyed=3 @fp @epoch
	expect_eq "$L: one shred-user event for alice" 1 \
	    "$(python3 "$PY" count "$CUR" shred-user alice)"
	expect_ok "$L: audit verify" -- coffre audit verify
	expect_exit 4 "$L: alice's document is gone" -- coffre open "$a"
	snap
	expect_ok "$L: check --repair" -- coffre check --repair
	if [ "$point" = index-committed ]; then
		coffre --json audit log >"$CUR"
		expect_same "$L: nothing to repair, no repair event" "$SNAP" "$CUR"
	else
		logged "$L: check --repair marks the 2 records, logged" \
		    repair "done" records_marked_shredded=2
	fi
	expect_ok "$L: check is clean" -- coffre check
	expect_ok "$L: audit verify at the end" -- coffre audit verify
done

new_vault
coffre seal --user alice --community c "$SAMPLES/sample.pdf" >/dev/null
snap
crash "shred --user" tree-commit shred --user alice
coffre --json audit log >"$CUR"
expect_same "shred --user crashed at tree-commit (before it took effect): no event" \
    "$SNAP" "$CUR"
expect_ok "shred --user crashed at tree-commit: audit verify" -- coffre audit verify

snap
crash seal segment-sync seal --user carol --community c "$SAMPLES/sample.jpg"
coffre --json audit log >"$CUR"
expect_same "seal crashed at segment-sync: no event" "$SNAP" "$CUR"
expect_eq "seal crashed at segment-sync: no line names carol" 0 \
    "$(grep -c '"user":"carol"' "$CUR")"
expect_ok "seal crashed at segment-sync: audit verify" -- coffre audit verify

# After its key tree commit, before its index commit: no document, no
# event; the key it left is destroyed by check --repair, which is logged.
snap
crash seal index-commit seal --user carol --community c "$SAMPLES/sample.png"
coffre --json audit log >"$CUR"
expect_same "seal crashed at index-commit: no event" "$SNAP" "$CUR"
expect_eq "seal crashed at index-commit: no document of carol" "" \
    "$(coffre list --user carol 2>&1)"
expect_ok "seal crashed at index-commit: check --repair" -- \
    coffre check --repair
logged "seal crashed at index-commit: the repair of its key is logged" \
    repair "done" orphan_leaves_destroyed=1 @epoch
expect_ok "seal crashed at index-commit: audit verify" -- coffre audit verify

coffre archive --user bob --contract k9 "$SAMPLES/sample.pdf" >/dev/null
snap
crash hold tree-committed hold --user bob --contract k9 --reason "$R_HOLD"
logged "hold crashed at tree-committed: its event is logged once, after the crash" \
    hold "done" user=bob contract=k9 holds=1 '?reason_sealed'
expect_ok "hold crashed at tree-committed: audit verify" -- coffre audit verify
expect_out_match "hold crashed at tree-committed: its sealed reason still opens" \
    "\"op\":\"hold\".*\"reason\":\"$R_HOLD\"" -- coffre audit log --user bob
expect_not_in_dir "hold crashed at tree-committed: its reason is nowhere in the clear" \
    "$VAULT" "$R_HOLD"
finish
