#!/usr/bin/env bash
# t96_bundles_daemon: bundles in and out through `coffre serve` (SPEC.md
# section 5; issue 7): POST /v1/bundles answers 201 with the sealed and the
# rejected entries; GET /v1/users/{U}/export streams a zip, a tar or a
# tar.gz whose files are byte for byte the originals; both are the
# backend's alone (403 to another role, exit 6 through the client); a body
# announced over max_bundle_bytes is refused on its headers (413); and
# `coffre --socket S import|export` give the output and exit status of the
# embedded commands.  Bundles are built by tests/e2e/bundle.py.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

BP="$PY $COFFRE_ROOT/tests/e2e/bundle.py"
V=$W/vault
SOCK=$W/run/s.sock
B=$W/bundles
mkdir -p "$B"
mkvault "$V" || { finish; exit; }
need_sample sample.pdf || { finish; exit; }
mk() { $BP attack "$1" "$B/$1" "$SAMPLES"; }

SRC=$W/src
mkdir -p "$SRC"
$BP src "$SRC" "$SAMPLES"
NSRC=$(find "$SRC" -type f | wc -l)
for f in zip tar tar.gz; do $BP pack "$f" "$B/good.$f" "$SRC"; done
for k in mixed onepdf not-a-bundle empty-zip traversal-tar; do mk "$k"; done

# expect_http NAME STATUS [ERROR CODE]: the last `http` answered STATUS; an
# error status has the error JSON (with that code).
expect_http() {
	local name=$1 want=$2 code=${3:-}
	if [ "$HS" != "$want" ]; then
		fail "$name" "want HTTP $want, got $HS (curl exit $HRC)" \
		    "body: $(head -c 300 "$HB" 2>/dev/null)"
	elif [ "$want" -ge 400 ] && ! err_shape "$HB" "$code"; then
		fail "$name" "want the error JSON {\"error\":{\"code\":\"$code\",\"message\"}}" \
		    "body: $(head -c 300 "$HB")"
	else
		pass "$name"
	fi
}
jtrue() { [ "$(jv "$1" "$2" 2>/dev/null)" = true ]; }
jcheck() {
	if jtrue "$HB" "$2"; then
		pass "$1"
	else
		fail "$1" "false: $2" "body: $(head -c 400 "$HB")"
	fi
}
# listed USER: the ids listed for USER, sorted, one line.
listed() {
	c --dir "$V" --json list --user "$1" 2>/dev/null |
	    "$PY" -c 'import json,sys; print(" ".join(sorted(d["id"] for d in json.load(sys.stdin)["documents"])))' 2>/dev/null
}
# sealed_ids FILE: the ids of a bundle answer, sorted, one line.
sealed_ids() {
	"$PY" -c 'import json,sys; print(" ".join(sorted(x["id"] for x in json.load(open(sys.argv[1]))["sealed"])))' "$1" 2>/dev/null
}
# roundtrip NAME EXPORT FMT [ARGS...]: bundle.py roundtrip against $SRC.
roundtrip() {
	local name=$1 msg
	shift
	if msg=$($BP roundtrip "$@" 2>&1); then pass "$name"; else fail "$name" "$msg"; fi
}

if ! start_daemon "$V" "$SOCK" "$W/daemon.log" --allow backend=uid:0; then
	fail "daemon starts (backend only)" "$(head -c 400 "$W/daemon.log")"
	finish
	exit
fi
pass "daemon starts (backend only)"

# --- POST /v1/bundles ----------------------------------------------------------------
http POST "/v1/bundles?user=hmix&community=c96" --data-binary "@$B/mixed"
expect_http "POST a mixed bundle: 201" 201
jcheck "the answer: sealed and rejected lists, their fields" \
    "sorted(d) == ['rejected', 'sealed'] and all(sorted(x) == ['entry', 'id', 'index', 'size', 'type'] for x in d['sealed']) and all(sorted(x) == ['entry', 'index', 'reason'] for x in d['rejected']) and sorted(x['index'] for x in d['sealed'] + d['rejected']) == list(range(len(d['sealed']) + len(d['rejected'])))"
jcheck "the good entries sealed, in bundle order" \
    "[x['entry'] for x in d['sealed']] == ['t95-first-4c1d.pdf', 'second.png', 'third.pdf']"
jcheck "the bad entries rejected, each with its reason" \
    "[(x['entry'], ('traversal' in x['reason']) + ('not allowed' in x['reason']) * 2 + ('nested' in x['reason']) * 3) for x in d['rejected']] == [('../t95-evil-9e2b.pdf', 1), ('t95-run-77aa.sh', 2), ('inner.zip', 3)]"
cp "$HB" "$W/hmix.json"
expect_eq "exactly the sealed entries are listed" "$(sealed_ids "$W/hmix.json")" "$(listed hmix)"
for f in zip tar tar.gz; do
	http POST "/v1/bundles?user=h-${f/./}&community=c96" --data-binary "@$B/good.$f"
	expect_http "POST a good $f: 201" 201
	jcheck "POST a good $f: all $NSRC sealed, none rejected" \
	    "len(d['sealed']) == $NSRC and d['rejected'] == []"
done
http POST "/v1/bundles?user=hone&community=c96" --data-binary "@$B/onepdf" \
    -H 'Content-Type: application/zip'
expect_http "POST a one-PDF zip with Content-Type application/zip: 201" 201
http POST "/v1/bundles?user=hnb&community=c96" --data-binary "@$SAMPLES/sample.pdf"
expect_http "POST a bare PDF as a bundle: 400" 400 malformed
jcheck "a bare PDF: not a zip or tar bundle" "'not a zip or tar bundle' in d['error']['message']"
http POST "/v1/bundles?user=hnb&community=c96" --data-binary "@$B/not-a-bundle"
expect_http "POST text as a bundle: 400" 400 malformed
http POST "/v1/bundles?user=hnb&community=c96" --data-binary "@$B/empty-zip"
expect_http "POST an empty zip: 400" 400 malformed
http POST "/v1/bundles?user=hnb&community=c96"
expect_http "POST no body: 400" 400 malformed
http POST "/v1/bundles?user=hnb" --data-binary "@$B/onepdf"
expect_http "POST without community: 400" 400
http POST "/v1/bundles?user=a%20b&community=c96" --data-binary "@$B/onepdf"
expect_http "POST with a malformed user id: 400" 400 malformed
expect_eq "nothing listed for the refused bundles" "" "$(listed hnb)"
http DELETE /v1/users/hgone
http POST "/v1/bundles?user=hgone&community=c96" --data-binary "@$B/onepdf"
expect_http "POST for a shredded user: 410" 410 gone
expect_eq "nothing listed for the shredded user" "" "$(listed hgone)"
$BP bomb "$B/bomb.zip" 1024
http POST "/v1/bundles?user=hbomb&community=c96" --data-binary "@$B/bomb.zip"
expect_http "POST a 1 GiB bomb: 201" 201
# The daemon seeks in its spool: the zip's central directory gives the
# bomb's size, which refuses it before a byte of it is decompressed.
jcheck "the bomb rejected (its size, or its compression ratio)" \
    "[x['entry'] for x in d['rejected']] == ['bomb.pdf'] and ('compression ratio' in d['rejected'][0]['reason'] or 'size limit' in d['rejected'][0]['reason']) and [x['entry'] for x in d['sealed']][:1] == ['before.pdf']"
rm -f "$B/bomb.zip"
http GET /v1/health
expect_http "the daemon still answers after the bomb" 200

# Announced over max_bundle_bytes (1 GiB): 413 on the headers alone.
cat >"$W/big.py" <<'PYEOF'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
t0 = time.monotonic()
s.sendall(b"POST /v1/bundles?user=hbig&community=c96 HTTP/1.1\r\n"
          b"Host: localhost\r\nContent-Length: %d\r\n\r\n" % int(sys.argv[2]))
data = b""
try:
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < 10:
        x = s.recv(65536)
        if not x:
            break
        data += x
except socket.timeout:
    pass
head, _, body = data.partition(b"\r\n\r\n")
print(json.dumps({"secs": time.monotonic() - t0,
                  "head": head.decode("latin-1"),
                  "body": body.decode("latin-1")}))
PYEOF
"$PY" "$W/big.py" "$SOCK" $((1024 * 1024 * 1024 + 1)) >"$W/big.json" 2>"$W/big.err"
if jtrue "$W/big.json" 'd["head"].startswith("HTTP/1.1 413") and d["secs"] < 2 and "too_large" in d["body"]'; then
	pass "Content-Length 1 GiB + 1 and no body: 413 too_large within 2 s"
else
	fail "Content-Length 1 GiB + 1 and no body: 413 too_large within 2 s" \
	    "$(cat "$W/big.json" "$W/big.err" | head -c 600)"
fi

# --- GET /v1/users/{U}/export -----------------------------------------------------
for g in zip tar tar.gz; do
	http GET "/v1/users/h-zip/export?format=$g" -D "$W/hdr.$g"
	expect_http "GET export?format=$g: 200" 200
	cp "$HB" "$W/hexp.$g"
	roundtrip "GET export?format=$g: every file byte for byte, manifest hashes" \
	    "$W/hexp.$g" "$g" "$SRC"
done
check "export?format=zip: Content-Type application/zip" grep -qi '^Content-Type: application/zip' "$W/hdr.zip"
check "export?format=tar: Content-Type application/x-tar" grep -qi '^Content-Type: application/x-tar' "$W/hdr.tar"
check "export?format=tar.gz: Content-Type application/gzip" grep -qi '^Content-Type: application/gzip' "$W/hdr.tar.gz"
check "export: Content-Disposition attachment, USER-export.tar" grep -qi '^Content-Disposition: attachment; filename="h-zip-export.tar"' "$W/hdr.tar"
for f in tar tar.gz; do
	http GET "/v1/users/h-${f/./}/export?format=tar"
	expect_http "GET export of the $f import: 200" 200
	cp "$HB" "$W/hexp2.tar"
	roundtrip "GET export of the $f import: the round trip holds" "$W/hexp2.tar" tar "$SRC"
done
http GET "/v1/users/h-zip/export"
expect_http "GET export without format: 200" 200
cp "$HB" "$W/hexp3"
roundtrip "GET export without format: a zip" "$W/hexp3" zip "$SRC"
http GET "/v1/users/h-zip/export?format=rar"
expect_http "GET export?format=rar: 400" 400 malformed
http GET "/v1/users/nobody96/export?format=zip"
expect_http "GET export of an unknown user: 200" 200
cp "$HB" "$W/hnobody.zip"
roundtrip "GET export of an unknown user: only a manifest listing no document" \
    "$W/hnobody.zip" zip - --count 0
http GET "/v1/users/bad%20user/export"
expect_http "GET export of a malformed user id: 400" 400 malformed
DB=$(jv "$W/hmix.json" 'd["sealed"][1]["id"]')
http DELETE "/v1/documents/$DB"
expect_http "DELETE a document of the bundle: 200" 200
http GET "/v1/users/hmix/export?format=tar"
cp "$HB" "$W/hmix.tar"
roundtrip "GET export after a DELETE: the shredded document is left out" \
    "$W/hmix.tar" tar - --absent "$DB" --count 2
http POST "/v1/documents?user=hmix&community=c96" --data-binary "@$SAMPLES/sample.pdf"
expect_http "POST a document: 201" 201

# --- the client: the same output and exit status as embedded -------------------------
# same NAME USER1 USER2 ARGS...: the command with --dir V for USER1 and
# with --socket S for USER2 (@U@ in ARGS); ids (22 characters) masked.
mask() { sed -E 's/[A-Za-z0-9_-]{22}/ID/g' "$1"; }
same() {
	local name=$1 u1=$2 u2=$3 a args1=() args2=()
	shift 3
	for a in "$@"; do
		args1+=("${a//@U@/$u1}")
		args2+=("${a//@U@/$u2}")
	done
	run c --dir "$V" "${args1[@]}"
	local s1=$STATUS
	mask "$OUT" >"$W/.emb.out"
	cp "$ERR" "$W/.emb.err"
	run c --socket "$SOCK" "${args2[@]}"
	mask "$OUT" >"$W/.sock.out"
	if crashed; then
		fail "$name" "crashed: $(why)"
	elif [ "$s1" -ne "$STATUS" ]; then
		fail "$name" "exit $s1 embedded, $STATUS through the socket" \
		    "embedded: $(head -c 200 "$W/.emb.err")" "socket: $(why)"
	elif ! cmp -s "$W/.emb.out" "$W/.sock.out"; then
		fail "$name" "stdout differs (ids masked)" \
		    "$(diff "$W/.emb.out" "$W/.sock.out" | head -n 12)"
	elif [ "$s1" -ne 0 ] && ! grep -q '^coffre: ' "$ERR"; then
		fail "$name" "no coffre: message through the socket: $(why)"
	else
		pass "$name"
	fi
}
same "import a good zip: same output, exit 0" se1 ss1 import --user @U@ --community c96 "$B/good.zip"
same "import --json a good tar.gz: same output" se2 ss2 --json import --user @U@ --community c96 "$B/good.tar.gz"
same "import --json a mixed bundle: same output, exit 5" se3 ss3 --json import --user @U@ --community c96 "$B/mixed"
same "import a mixed bundle: same lines, same order, exit 5" se4 ss4 import --user @U@ --community c96 "$B/mixed"
run c --dir "$V" import --user se5 --community c96 "$B/traversal-tar"
sort "$OUT" | mask /dev/stdin >"$W/.emb.sorted"
run c --socket "$SOCK" import --user ss5 --community c96 "$B/traversal-tar"
t_rc 5 "import a tar with traversal through the socket: exit 5"
sort "$OUT" | mask /dev/stdin >"$W/.sock.sorted"
check "import through the socket: the same lines (whatever their order)" cmp -s "$W/.emb.sorted" "$W/.sock.sorted"
same "import not a bundle: exit 5" se6 ss6 import --user @U@ --community c96 "$B/not-a-bundle"
same "import an empty zip: exit 5" se6 ss6 import --user @U@ --community c96 "$B/empty-zip"
same "import for a shredded user: exit 4" hgone hgone import --user @U@ --community c96 "$B/onepdf"
same "import with a malformed user: exit 5" 'a b' 'a b' import --user @U@ --community c96 "$B/onepdf"
same "import of a missing file: exit 3" x x import --user @U@ --community c96 "$W/none.zip"
same "import without --community: exit 2" x x import --user @U@ "$B/onepdf"
run_in "$B/onepdf" c --socket "$SOCK" import --user sstdin --community c96 -
t_rc 0 "import - through the socket: exit 0"
check_re "import - through the socket: the sealed line" "$(cat "$OUT")" \
    "^sealed	sample\.pdf	[A-Za-z0-9_-]{22}	application/pdf	795$"
for g in zip tar tar.gz; do
	run c --socket "$SOCK" export --user h-tar -o "$W/sexp.$g"
	t_rc 0 "export -o FILE.$g through the socket: exit 0"
	roundtrip "export -o FILE.$g through the socket: the round trip holds" "$W/sexp.$g" "$g" "$SRC"
	run c --dir "$V" export --user h-tar -o "$W/eexp.$g"
	if cmp -s <($BP manifest "$W/sexp.$g" "$g") <($BP manifest "$W/eexp.$g" "$g"); then
		pass "export as $g: the same manifest through the socket as embedded"
	else
		fail "export as $g: the same manifest through the socket as embedded"
	fi
done
if msg=$(c --socket "$SOCK" export --user h-zip -o - --format tar 2>"$W/x.err" |
    $BP roundtrip - tar "$SRC" 2>&1); then
	pass "export -o - --format tar through the socket, piped: the round trip holds"
else
	fail "export -o - --format tar through the socket, piped: the round trip holds" "$msg" "$(cat "$W/x.err")"
fi
same "export to an unknown extension: exit 2" x x export --user h-zip -o "$W/x.bin"
same "export -o - without --format: exit 2" x x export --user h-zip -o -
same "export of a malformed user: exit 5" 'a b' 'a b' export --user @U@ -o "$W/x.zip"

# The audit log names the caller.
http POST "/v1/bundles?user=haudit&community=c96" --data-binary "@$B/traversal-tar"
c --dir "$V" --json audit log >"$W/log.jsonl" 2>/dev/null
check "the audit log: the export, by backend:uid:$(id -u)" "$PY" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(e.get("op") == "export" and e.get("user") == "h-zip" and
                  e.get("actor") == "backend:uid:" + sys.argv[2] for e in ev) else 1)' \
    "$W/log.jsonl" "$(id -u)"
check "the audit log: the refused entries, by backend:uid:$(id -u)" "$PY" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(e.get("op") == "import-entry" and e.get("user") == "haudit" and
                  e.get("actor") == "backend:uid:" + sys.argv[2] and
                  "traversal" in e.get("reason", "") for e in ev) else 1)' \
    "$W/log.jsonl" "$(id -u)"

stop_daemon
check "daemon exits 0 on SIGTERM" test "$DSTATUS" = 0

# --- roles: an auditor-only daemon -------------------------------------------------
if start_daemon "$V" "$SOCK" "$W/daemon2.log" --allow auditor=uid:0; then
	http POST "/v1/bundles?user=hrole&community=c96" --data-binary "@$B/onepdf"
	expect_http "auditor: POST /v1/bundles: 403" 403 forbidden
	http GET "/v1/users/h-zip/export?format=zip"
	expect_http "auditor: GET /v1/users/U/export: 403" 403 forbidden
	run c --socket "$SOCK" import --user hrole --community c96 "$B/onepdf"
	t_err 6 "auditor: coffre import through the socket: exit 6"
	run c --socket "$SOCK" export --user h-zip -o "$W/role.zip"
	t_err 6 "auditor: coffre export through the socket: exit 6"
	check "auditor: no export file is left" test ! -e "$W/role.zip"
	stop_daemon
else
	fail "auditor daemon starts" "$(head -c 400 "$W/daemon2.log")"
fi
expect_eq "nothing was sealed by the refused requests" "" "$(listed hrole)"

# --- a small max_bundle_bytes ------------------------------------------------------
V2=$W/vault2
mkvault "$V2"
printf 'max_bundle_bytes = 100000\n' >"$V2/coffre.conf"
if start_daemon "$V2" "$SOCK" "$W/daemon3.log" --allow backend=uid:0; then
	# Expect: 100-continue, or the 413 may race the body curl sends.
	http POST "/v1/bundles?user=hsmall&community=c96" --data-binary "@$B/good.zip" \
	    -H 'Expect: 100-continue'
	expect_http "a bundle of 700 KiB over max_bundle_bytes = 100000: 413" 413 too_large
	http POST "/v1/bundles?user=hsmall&community=c96" --data-binary "@$B/good.zip" \
	    -H 'Transfer-Encoding: chunked'
	if [ "$HS" = 413 ] || [ "$HS" = 000 ]; then
		pass "the same bundle chunked: 413 (or cut off), never 201"
	else
		fail "the same bundle chunked: 413 (or cut off), never 201" "HTTP $HS: $(head -c 300 "$HB")"
	fi
	run c --socket "$SOCK" import --user hsmall --community c96 "$B/good.zip"
	t_err 5 "coffre import of it through the socket: exit 5"
	http POST "/v1/bundles?user=hsmall2&community=c96" --data-binary "@$B/onepdf"
	expect_http "a small bundle under the limit: 201" 201
	stop_daemon
else
	fail "daemon with max_bundle_bytes = 100000 starts" "$(head -c 400 "$W/daemon3.log")"
fi
check "nothing listed of the bundles over the limit" \
    test "$(c --dir "$V2" list --user hsmall | wc -l)" = 0

for log in "$W"/daemon*.log; do
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$log"; then
		fail "no sanitizer report in $(basename "$log")" "$(grep -m3 -E 'Sanitizer|runtime error' "$log")"
	fi
done
run c --dir "$V" audit verify
t_rc 0 "audit verify after all that"
run c --dir "$V" check
t_rc 0 "check after all that"
run c --dir "$V" audit scan
t_rc 0 "audit scan after all that"
finish
