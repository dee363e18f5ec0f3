#!/usr/bin/env bash
# t90_serve: `coffre serve` at the HTTP level (SPEC.md sections 1, 5 and 6;
# docs/API.md): every route with good and bad input and its status, the
# error JSON, list paging, the limits (413 on the headers alone, the request
# timeout against a slow client, the connection cap), Content-Length with
# Transfer-Encoding, 64 concurrent clients, SIGTERM during uploads, the
# socket file (mode, folder, stale and live sockets), SIGHUP reloading the
# roles, a client with no role, and systemd socket activation.
#
# The roles against every route, as real different uids, are t91_roles.
# Here the test's own uid holds every role (the role is not what is tested).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

ME=$(id -u)
if [ "$ME" -eq 0 ]; then SG=4242; else SG=$(id -g); fi
ALL_ROLES=(--allow "backend=uid:$ME" --allow "reviewer=uid:$ME"
	--allow "auditor=uid:$ME" --allow "admin=uid:$ME")
ID_RE='^[A-Za-z0-9_-]{1,64}$'
NOID=AAAAAAAAAAAAAAAAAAAAAA

# The Python side: clients over AF_UNIX (http.client, raw sockets).
cat >"$W/hc.py" <<'PYEOF'
import http.client, json, os, select, signal, socket, sys, threading, time
sys.path.insert(0, os.environ["E2E_DIR"])
import gen


class UConn(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.upath = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.upath)
        self.sock = s


def connect(path, timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def read_head(s):
    """Read one response head: (status, headers dict, bytes after it)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        x = s.recv(65536)
        if not x:
            raise EOFError("closed before a response (%r)" % buf[:200])
        buf += x
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, rest


def read_response(s):
    """One whole response (skipping 1xx): (status, headers, body)."""
    rest = b""
    while True:
        if rest:
            raise ValueError("bytes after a 1xx head")
        status, hdrs, rest = read_head(s)
        if status >= 200:
            break
    n = int(hdrs.get("content-length", "0"))
    while len(rest) < n:
        x = s.recv(65536)
        if not x:
            break
        rest += x
    return status, hdrs, rest


def read_all(s, limit):
    """Everything until close or ${limit} seconds: (bytes, closed, secs)."""
    t0 = time.monotonic()
    data = b""
    while True:
        left = limit - (time.monotonic() - t0)
        if left <= 0:
            return data, False, time.monotonic() - t0
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        try:
            x = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            x = b""
        if not x:
            return data, True, time.monotonic() - t0
        data += x


def out(obj):
    json.dump(obj, sys.stdout)
    sys.stdout.write("\n")


def cmd_toolarge(sock):
    # Headers announcing 50 MB and no body at all: the 413 must come on
    # the headers alone.
    s = connect(sock)
    t0 = time.monotonic()
    s.sendall(b"POST /v1/documents?user=big&community=c HTTP/1.1\r\n"
              b"Host: localhost\r\nContent-Length: 50000000\r\n\r\n")
    data, closed, _ = read_all(s, 5)
    secs = time.monotonic() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    out({"secs": secs, "head": head.decode("latin-1"),
         "body": body.decode("latin-1")})


def cmd_clte(sock):
    s = connect(sock)
    s.sendall(b"POST /v1/documents?user=smug&community=c HTTP/1.1\r\n"
              b"Host: localhost\r\nContent-Length: 4\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n" +
              b"%x\r\n" % len(PDF) + PDF + b"\r\n0\r\n\r\n")
    data, closed, _ = read_all(s, 10)
    out({"head": data.partition(b"\r\n\r\n")[0].decode("latin-1"),
         "body": data.partition(b"\r\n\r\n")[2].decode("latin-1"),
         "closed": closed})


def cmd_chunked_over(sock, limit):
    # A chunked body that passes the limit: cut off (or 413), never kept.
    s = connect(sock)
    s.sendall(b"POST /v1/documents?user=chunky&community=c HTTP/1.1\r\n"
              b"Host: localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
    sent = 0
    body = PDF + b"%" * (int(limit) * 2)
    try:
        for i in range(0, len(body), 8192):
            c = body[i:i + 8192]
            s.sendall(b"%x\r\n" % len(c) + c + b"\r\n")
            sent += len(c)
        s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    data, closed, _ = read_all(s, 10)
    out({"head": data.partition(b"\r\n\r\n")[0].decode("latin-1"),
         "sent": sent, "closed": closed})


def cmd_concurrent(sock, n, outdir):
    n = int(n)
    bar = threading.Barrier(n)
    res = [None] * n

    def one(i):
        body = gen.pdf("t90 concurrent %d %s" % (i, os.urandom(8).hex()))
        with open(os.path.join(outdir, "%d.pdf" % i), "wb") as f:
            f.write(body)
        r = {"seal": 0, "id": "", "get": 0, "same": False, "err": ""}
        try:
            c = UConn(sock)
            c.connect()
            bar.wait(30)
            c.request("POST", "/v1/documents?user=conc&community=c%d" %
                      (i % 3), body=body,
                      headers={"Content-Type": "application/pdf"})
            resp = c.getresponse()
            r["seal"] = resp.status
            j = json.loads(resp.read())
            r["id"] = j.get("id", "")
            c.request("GET", "/v1/documents/%s/content" % r["id"])
            resp = c.getresponse()
            r["get"] = resp.status
            r["same"] = resp.read() == body
            c.close()
        except Exception as e:  # noqa: BLE001 (reported, then checked)
            r["err"] = repr(e)
        res[i] = r

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out(res)


def cmd_slow(sock, mode, marker):
    # body: the headers, then one byte a second of a 1000-byte body;
    # head: the request's head itself one byte a second; idle: nothing.
    s = connect(sock)
    t0 = time.monotonic()
    head = (b"POST /v1/documents?user=slow%s&community=c HTTP/1.1\r\n"
            b"Host: localhost\r\nContent-Length: 1000\r\n\r\n" %
            mode.encode())
    if mode == "body":
        s.sendall(head)
        todo = PDF[:1000].ljust(1000, b"%")
    elif mode == "head":
        todo = head
    else:
        todo = b""
    open(marker, "w").close()
    sent, data, closed = 0, b"", False
    while time.monotonic() - t0 < 30 and not closed:
        r, _, _ = select.select([s], [], [], 1.0)
        if r:
            try:
                x = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                x = b""
            if not x:
                closed = True
                break
            data += x
        if sent < len(todo):
            try:
                s.send(todo[sent:sent + 1])
                sent += 1
            except (BrokenPipeError, ConnectionResetError):
                closed = True
    out({"closed": closed, "after": time.monotonic() - t0, "sent": sent,
         "head": data.partition(b"\r\n\r\n")[0].decode("latin-1")})


def cmd_hold(sock, n, marker, waitfile):
    # Hold ${n} idle connections open until ${waitfile} exists.
    ss = [connect(sock) for _ in range(int(n))]
    open(marker, "w").close()
    t0 = time.monotonic()
    while not os.path.exists(waitfile) and time.monotonic() - t0 < 60:
        time.sleep(0.05)
    for s in ss:
        s.close()


def cmd_oneshot(sock):
    # Connect and read what comes, sending nothing.
    s = connect(sock)
    data, closed, _ = read_all(s, 10)
    head, _, body = data.partition(b"\r\n\r\n")
    out({"head": head.decode("latin-1"), "body": body.decode("latin-1"),
         "closed": closed})


def cmd_term(sock, pid, log, nup, nabort, outdir, size):
    # An idle connection, then uploads in flight (headers taken: their
    # 100 Continue came; half the body sent), then SIGTERM.  Once the
    # daemon says it stops and its socket file is gone: the idle
    # connection sends a request (503 expected), a new connection is
    # tried (refused), the aborted uploads hang up, and the others send
    # the rest of their body.
    nup, nabort, size, pid = int(nup), int(nabort), int(size), int(pid)
    res = {"ups": [], "idle_after": "", "idle_body": "", "new_conn": "",
           "aborted": nabort, "stopping_seen": False, "socket_gone": False}
    bodies = []
    for i in range(nup + nabort):
        text = "t90 term %d %s " % (i, os.urandom(8).hex())
        pad = "".join("%08x" % j for j in range(size // 8))
        body = gen.pdf(text + pad)
        bodies.append(body)
        with open(os.path.join(outdir, "%d.pdf" % i), "wb") as f:
            f.write(body)
    # Accepted before the uploads' connections (the accept thread takes
    # them in order, and those get answers).
    idle = connect(sock, 120)
    conns = []
    for i, body in enumerate(bodies):
        s = connect(sock, 120)
        s.sendall(b"POST /v1/documents?user=up%d&community=c HTTP/1.1\r\n"
                  b"Host: localhost\r\nContent-Length: %d\r\n"
                  b"Expect: 100-continue\r\n\r\n" % (i, len(body)))
        st, _, rest = read_head(s)
        if st != 100:
            raise SystemExit("upload %d: %d before the body" % (i, st))
        s.sendall(body[:len(body) // 2])
        conns.append(s)
    os.kill(pid, signal.SIGTERM)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 30:
        with open(log, errors="replace") as f:
            if "stopping" in f.read():
                res["stopping_seen"] = True
                break
        time.sleep(0.05)
    while time.monotonic() - t0 < 30:
        if not os.path.exists(sock):
            res["socket_gone"] = True
            break
        time.sleep(0.05)
    try:
        idle.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        st, _, b = read_response(idle)
        res["idle_after"] = str(st)
        res["idle_body"] = b.decode("latin-1")
    except Exception as e:  # noqa: BLE001
        res["idle_after"] = repr(e)
    try:
        s = connect(sock, 5)
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data, _, _ = read_all(s, 5)
        res["new_conn"] = "answered: " + data[:40].decode("latin-1")
    except OSError as e:
        res["new_conn"] = "refused: " + e.__class__.__name__
    for s in conns[nup:]:
        s.close()
    for i, s in enumerate(conns[:nup]):
        r = {"status": 0, "id": "", "err": ""}
        try:
            body = bodies[i]
            s.sendall(body[len(body) // 2:])
            st, _, b = read_response(s)
            r["status"] = st
            if st == 201:
                r["id"] = json.loads(b)["id"]
        except Exception as e:  # noqa: BLE001
            r["err"] = repr(e)
        res["ups"].append(r)
    out(res)


def cmd_stale(path):
    # A socket file nobody listens on any more.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    s.close()


PDF = gen.pdf("t90 raw")
cmds = {k[4:]: v for k, v in list(globals().items()) if k.startswith("cmd_")}
cmds[sys.argv[1]](*sys.argv[2:])
PYEOF
export E2E_DIR=$COFFRE_ROOT/tests/e2e
hc() { "$PY" "$W/hc.py" "$@"; }

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

# jtrue FILE EXPR: the Python expression over FILE's JSON (d) is True.
jtrue() { [ "$(jv "$1" "$2" 2>/dev/null)" = true ]; }

# jcheck NAME EXPR: a Python expression over the last body as JSON (d).
jcheck() {
	if jtrue "$HB" "$2"; then
		pass "$1"
	else
		fail "$1" "false: $2" "body: $(head -c 400 "$HB")"
	fi
}

# seal_http USER COMMUNITY FILE: POST it; SID is the id (empty if not 201).
seal_http() {
	SID=
	http POST "/v1/documents?user=$1&community=$2" --data-binary "@$3"
	if [ "$HS" = 201 ]; then SID=$(jv "$HB" 'd["id"]'); fi
}

# =========================================================================
# The main daemon: every route.

V=$W/vault
mkvault "$V" || { finish; exit; }
LIMIT=100000
printf 'max_document_bytes = %d\n' "$LIMIT" >>"$V/coffre.conf"
SOCK=$W/run/s.sock
LOG=$W/daemon.log
if start_daemon "$V" "$SOCK" "$LOG" "${ALL_ROLES[@]}" --socket-group "$SG" \
    --timeout 3; then
	pass "serve starts and answers on its socket"
else
	fail "serve starts and answers on its socket" "$(head -c 600 "$LOG")"
	finish
fi
check "it says it listens, on stderr" grep -q "coffre: serve: listening on $SOCK" "$LOG"

# --- the socket file ---------------------------------------------------------
check "the socket is a socket" test -S "$SOCK"
expect_eq "socket file mode 0660, group --socket-group" "660 $SG" \
	"$(stat -c '%a %g' "$SOCK")"
expect_eq "its folder, created by serve, mode 0750, same group" "750 $SG" \
	"$(stat -c '%a %g' "$W/run")"

# --- health --------------------------------------------------------------------
http GET /v1/health
expect_http "GET /v1/health: 200" 200
VERSION=$("$COFFRE_BIN" --version | awk '{print $NF}')
jcheck "health: {\"status\":\"ok\",\"version\":\"$VERSION\"}" \
	"d == {'status': 'ok', 'version': '$VERSION'}"
http GET /v1/health -D "$W/hdr"
check "health: Content-Type application/json" grep -qi '^content-type: application/json' "$W/hdr"

# --- seal ----------------------------------------------------------------------
$GEN pdf "$W/p4.pdf" --text "t90 fourth"
$GEN pdf "$W/p5.pdf" --text "t90 fifth one"
http POST "/v1/documents?user=u1&community=medecins&kind=id-card&name=carte.pdf" \
	--data-binary "@$SAMPLES/sample.pdf" -H 'Content-Type: application/octet-stream'
expect_http "POST /v1/documents (pdf): 201" 201
jcheck "seal answers {id, type, size, status}" \
	"sorted(d) == ['id', 'size', 'status', 'type'] and d['type'] == 'application/pdf' and d['size'] == $(fsize "$SAMPLES/sample.pdf") and d['status'] == 'pending'"
D1=$(jv "$HB" 'd["id"]' 2>/dev/null)
check_re "the id is an opaque [A-Za-z0-9_-] string" "$D1" "$ID_RE"
http POST "/v1/documents?user=u2&community=avocats" --data-binary "@$SAMPLES/sample.png" \
	-H 'Content-Type: application/pdf'
expect_http "POST /v1/documents (png, declared as a PDF): 201" 201
jcheck "the type is detected from the content, not the Content-Type" \
	"d['type'] == 'image/png'"
D2=$(jv "$HB" 'd["id"]' 2>/dev/null)
seal_http u2 medecins "$SAMPLES/sample.jpg"; D3=$SID
expect_http "POST /v1/documents (jpeg): 201" 201
seal_http u3 medecins "$W/p4.pdf"; D4=$SID
seal_http u3 avocats "$W/p5.pdf"; D5=$SID
ALL="$D1 $D2 $D3 $D4 $D5"
n=0
for d in $ALL; do [[ $d =~ $ID_RE ]] && n=$((n + 1)); done
expect_eq "five documents sealed, five ids" 5 "$n"
# shellcheck disable=SC2086 # one id a word
expect_eq "the ids are distinct" 5 "$(printf '%s\n' $ALL | sort -u | wc -l)"
# Chunked upload (no Content-Length).
$GEN pdf "$W/chunked.pdf" --text "t90 chunked"
http POST "/v1/documents?user=u4&community=c" --data-binary "@$W/chunked.pdf" \
	-H 'Transfer-Encoding: chunked'
expect_http "POST /v1/documents, chunked body: 201" 201
DCH=$(jv "$HB" 'd["id"]' 2>/dev/null)

# --- seal: bad input -----------------------------------------------------------
head -c $((LIMIT + 1)) /dev/zero | tr '\0' '%' >"$W/big.bin"
http POST "/v1/documents?user=u9&community=c" --data-binary "@$W/big.bin"
expect_http "a body over max_document_bytes: 413 too_large" 413 too_large
printf 'hello, I am plain text\n' >"$W/t.txt"
http POST "/v1/documents?user=u9&community=c" --data-binary "@$W/t.txt"
expect_http "a text file: 415 unsupported_type" 415 unsupported_type
check "the 415 message names the detected type" grep -q 'text/plain' "$HB"
$GEN pdfzip "$W/poly.pdf"
http POST "/v1/documents?user=u9&community=c" --data-binary "@$W/poly.pdf"
expect_http "a PDF with a zip appended (polyglot): 415" 415 unsupported_type
http POST "/v1/documents?user=u9&community=c" -H 'Content-Length: 0'
expect_http "an empty body: 400" 400
http POST "/v1/documents?user=u9" --data-binary "@$SAMPLES/sample.pdf"
expect_http "seal without community: 400" 400
http POST "/v1/documents?user=a%20b&community=c" --data-binary "@$SAMPLES/sample.pdf"
expect_http "seal with a malformed user id: 400" 400
http POST "/v1/documents?user=u9&community=c%2Fd" --data-binary "@$SAMPLES/sample.pdf"
expect_http "seal with a malformed community id: 400" 400
http GET "/v1/documents?user=u9"
jcheck "none of the refused seals is listed" "d['documents'] == []"

# --- list and paging -----------------------------------------------------------
http GET /v1/documents
expect_http "GET /v1/documents: 200" 200
jcheck "list: {documents, next: null}, oldest first" \
	"sorted(d) == ['documents', 'next'] and d['next'] is None and ' '.join(x['id'] for x in d['documents'][:5]) == '$ALL'"
jcheck "list: each entry has the metadata fields" \
	"all(set(x) >= {'id','user','community','kind','name','type','size','status','created'} for x in d['documents'])"
http GET "/v1/documents?community=medecins"
jcheck "list ?community=medecins" "[x['id'] for x in d['documents']] == '$D1 $D3 $D4'.split()"
http GET "/v1/documents?user=u2&community=medecins"
jcheck "list ?user=u2&community=medecins" "[x['id'] for x in d['documents']] == ['$D3']"
http GET "/v1/documents?limit=2&user=u1"
jcheck "list ?limit=2 of one document: next null" "len(d['documents']) == 1 and d['next'] is None"
pages=""
http GET "/v1/documents?limit=2"
expect_http "list ?limit=2: 200" 200
jcheck "page 1: two documents, next = the last one's id" \
	"len(d['documents']) == 2 and d['next'] == d['documents'][1]['id'] == '$D2'"
pages="$pages $(jv "$HB" '" ".join(x["id"] for x in d["documents"])')"
NEXT=$(jv "$HB" 'd["next"]')
http GET "/v1/documents?limit=2&after=$NEXT"
jcheck "page 2 (after=next): the next two, next set" \
	"[x['id'] for x in d['documents']] == ['$D3', '$D4'] and d['next'] == '$D4'"
pages="$pages $(jv "$HB" '" ".join(x["id"] for x in d["documents"])')"
NEXT=$(jv "$HB" 'd["next"]')
http GET "/v1/documents?limit=2&after=$NEXT"
jcheck "page 3: the last two, next null" \
	"[x['id'] for x in d['documents']] == ['$D5', '$DCH'] and d['next'] is None"
pages="$pages $(jv "$HB" '" ".join(x["id"] for x in d["documents"])')"
expect_eq "the pages together are the whole list" " $ALL $DCH" "$pages"
http GET "/v1/documents?limit=0"
expect_http "list ?limit=0: 400" 400
http GET "/v1/documents?limit=abc"
expect_http "list ?limit=abc: 400" 400
http GET "/v1/documents?status=bogus"
expect_http "list ?status=bogus: 400" 400
http GET "/v1/documents?after=not.an.id"
expect_http "list ?after=malformed: 400" 400
http GET "/v1/documents?user=a%20b"
expect_http "list ?user=malformed: 400" 400

# --- info and content ----------------------------------------------------------
http GET "/v1/documents/$D1"
expect_http "GET /v1/documents/ID: 200" 200
jcheck "info: the metadata and reviews []" \
	"d['id'] == '$D1' and d['user'] == 'u1' and d['community'] == 'medecins' and d['kind'] == 'id-card' and d['name'] == 'carte.pdf' and d['type'] == 'application/pdf' and d['status'] == 'pending' and d['reviews'] == []"
http GET "/v1/documents/$D1/content" -D "$W/hdr"
expect_http "GET /v1/documents/ID/content: 200" 200
expect_same "content: the sealed bytes" "$SAMPLES/sample.pdf" "$HB"
check "content: Content-Type is the detected type" grep -qi '^content-type: application/pdf' "$W/hdr"
http GET "/v1/documents/$D2/content" -D "$W/hdr"
expect_same "content of the png" "$SAMPLES/sample.png" "$HB"
check "content of the png: Content-Type image/png" grep -qi '^content-type: image/png' "$W/hdr"
http GET "/v1/documents/$DCH/content"
expect_same "content of the chunked upload" "$W/chunked.pdf" "$HB"
http GET "/v1/documents/$NOID"
expect_http "info of an unknown document: 404 not_found" 404 not_found
http GET "/v1/documents/$NOID/content"
expect_http "content of an unknown document: 404" 404 not_found
http GET "/v1/documents/not.an.id"
expect_http "info of a malformed id: 400 malformed" 400 malformed
http GET "/v1/documents/x%21y/content"
expect_http "content of a malformed id: 400" 400 malformed

# --- review --------------------------------------------------------------------
http POST "/v1/documents/$D1/review" -H 'Content-Type: application/json' \
	-d '{"decision":"approve","note":"conforme"}'
expect_http "POST review approve: 200" 200
jcheck "review answers {id, status approved}" "d == {'id': '$D1', 'status': 'approved'}"
http POST "/v1/documents/$D4/review" -d '{"decision":"reject","note":"illisible"}'
expect_http "POST review reject with a note: 200" 200
http GET "/v1/documents/$D1"
jcheck "info after the review: approved, one review with its note" \
	"d['status'] == 'approved' and len(d['reviews']) == 1 and d['reviews'][0]['note'] == 'conforme'"
http GET "/v1/documents?status=approved"
jcheck "list ?status=approved" "[x['id'] for x in d['documents']] == ['$D1']"
http POST "/v1/documents/$D5/review" -d '{"decision":"reject"}'
expect_http "review reject without a note: 400" 400
http POST "/v1/documents/$D5/review" -d '{"decision":"maybe"}'
expect_http "review with a bad decision: 400" 400
http POST "/v1/documents/$D5/review" -d 'not json'
expect_http "review with a body that is not JSON: 400" 400
http POST "/v1/documents/$D5/review"
expect_http "review without a body: 400" 400
head -c 20000 /dev/zero | tr '\0' ' ' >"$W/spaces"
http POST "/v1/documents/$D5/review" --data-binary "@$W/spaces"
check_re "a JSON body over 16 KiB: 400 or 413" "$HS" '^(400|413)$'
http POST "/v1/documents/$NOID/review" -d '{"decision":"approve"}'
expect_http "review of an unknown document: 404" 404 not_found
http GET "/v1/documents/$D5"
jcheck "the refused reviews appended nothing" "d['status'] == 'pending' and d['reviews'] == []"

# --- shred a document, a user --------------------------------------------------
http DELETE "/v1/documents/$D5"
expect_http "DELETE /v1/documents/ID: 200" 200
jcheck "it reports one shredded document" "d['shredded_documents'] == 1"
http GET "/v1/documents/$D5/content"
expect_http "content of a shredded document: 410 gone" 410 gone
http DELETE "/v1/documents/$D5"
expect_http "DELETE of a shredded document: 410" 410 gone
http DELETE "/v1/documents/$NOID"
expect_http "DELETE of an unknown document: 404" 404 not_found
http DELETE "/v1/documents/a.b"
expect_http "DELETE of a malformed id: 400" 400 malformed
http DELETE /v1/users/u2
expect_http "DELETE /v1/users/U: 200" 200
jcheck "it answers {shredded_documents: 2, contracts_ended: N}" \
	"d['shredded_documents'] == 2 and isinstance(d['contracts_ended'], int)"
http GET "/v1/documents/$D3/content"
expect_http "content of a shredded user's document: 410" 410 gone
http POST "/v1/documents?user=u2&community=c" --data-binary "@$SAMPLES/sample.pdf"
expect_http "seal for a shredded user (erasure fence): 410 gone" 410 gone
http GET "/v1/documents?user=u2"
jcheck "the fenced seal is not listed" "[x['status'] for x in d['documents']] == ['shredded', 'shredded']"
http DELETE /v1/users/u2
expect_http "DELETE /v1/users/U again (idempotent): 200" 200
http DELETE /v1/users/nobody-yet
expect_http "DELETE of a user with no documents: 200" 200
http DELETE "/v1/users/a!b"
expect_http "DELETE /v1/users/ with a malformed id: 400" 400 malformed

# --- archives and contracts ----------------------------------------------------
http POST "/v1/archives?user=u7&contract=k1&name=contrat.pdf" --data-binary "@$SAMPLES/sample.pdf"
expect_http "POST /v1/archives: 201" 201
jcheck "archive answers {id, type, size}" \
	"{'id', 'type', 'size'} <= set(d) and d['type'] == 'application/pdf'"
A1=$(jv "$HB" 'd["id"]' 2>/dev/null)
http POST "/v1/archives?user=u7" --data-binary "@$SAMPLES/sample.pdf"
expect_http "archive without contract: 400" 400
http POST "/v1/archives?user=u7&contract=k1" --data-binary "@$W/t.txt"
expect_http "archive of a text file: 415" 415 unsupported_type
http POST "/v1/archives?user=u7&contract=k1" --data-binary "@$W/big.bin"
expect_http "archive over the limit: 413" 413 too_large
http GET /v1/archives
expect_http "GET /v1/archives: 200" 200
jcheck "archives: the one archive, contract running" \
	"[(a['id'], a['contract_ended'], a['retain_until']) for a in d['archives']] == [('$A1', False, None)]"
http GET "/v1/archives/$A1/content?reason=litige%202027"
expect_http "GET /v1/archives/ID/content?reason=: 200" 200
expect_same "archive content: the sealed bytes" "$SAMPLES/sample.pdf" "$HB"
http GET "/v1/archives/$A1/content"
expect_http "archive content without a reason: 400" 400
http GET "/v1/archives/$NOID/content?reason=x"
expect_http "content of an unknown archive: 404" 404 not_found
http GET "/v1/archives/a.b/content?reason=x"
expect_http "archive content with a malformed id: 400" 400 malformed
END=$(date -u +%F)
http POST /v1/contracts/u7/k1/end -d "{\"date\":\"$END\"}"
expect_http "POST /v1/contracts/U/K/end: 200" 200
Y5=$(($(date -u +%Y) + 5))
jcheck "contract end: retain_until is the date plus 5 years" \
	"list(d) == ['retain_until'] and d['retain_until'].startswith('$Y5-')"
http DELETE "/v1/archives/$A1"
expect_http "DELETE /v1/archives/ID before its retention ends: 423 locked" 423 locked
http POST /v1/contracts/u7/k1/end -d '{"date":"2001-02-03"}'
expect_http "ending the contract on a date that shortens the retention: 423" 423 locked
http POST /v1/contracts/u7/k1/end -d '{"date":"2024-13-45"}'
expect_http "contract end with a malformed date: 400" 400
http POST /v1/contracts/u7/k1/end -d 'nope'
expect_http "contract end with a body that is not JSON: 400" 400
http POST "/v1/contracts/u7/a!b/end" -d '{}'
expect_http "contract end with a malformed contract id: 400" 400 malformed
http POST /v1/contracts/u7/k1/hold -d '{"reason":"litige"}'
expect_http "POST /v1/contracts/U/K/hold: 200" 200
jcheck "hold answers {user, contract, hold: true}" "d == {'user': 'u7', 'contract': 'k1', 'hold': True}"
http POST /v1/contracts/u7/k1/hold -d '{}'
expect_http "hold without a reason: 400" 400
http POST /v1/contracts/u7/k1/release -d '{"reason":"fin du litige"}'
expect_http "POST /v1/contracts/U/K/release: 200" 200
jcheck "release answers hold: false" "d['hold'] == False"
# An archive whose retention has ended: unreadable (410), destroyable.
http POST "/v1/archives?user=u8&contract=k2" --data-binary "@$SAMPLES/sample.png"
A2=$(jv "$HB" 'd["id"]' 2>/dev/null)
http POST /v1/contracts/u8/k2/end -d '{"date":"2000-01-01"}'
jcheck "a contract ended in 2000: retain_until 2005-01-01" "d == {'retain_until': '2005-01-01'}"
http GET "/v1/archives/$A2/content?reason=x"
expect_http "content of an archive past its retention: 410" 410 gone
http DELETE "/v1/archives/$A2"
expect_http "DELETE /v1/archives/ID past its retention: 200" 200
http DELETE "/v1/archives/$A2"
expect_http "DELETE of a destroyed archive: 410" 410 gone
http DELETE "/v1/archives/$NOID"
expect_http "DELETE of an unknown archive: 404" 404 not_found
http POST /v1/sweep
expect_http "POST /v1/sweep: 200" 200
jcheck "sweep answers its counts" "all(isinstance(d[k], int) for k in ('contracts', 'archives', 'keys_destroyed'))"

# --- audit and checks ----------------------------------------------------------
http GET /v1/audit -D "$W/hdr"
expect_http "GET /v1/audit: 200" 200
if "$PY" -c '
import json, sys
ls = [json.loads(x) for x in open(sys.argv[1]) if x.strip()]
seqs = [x["seq"] for x in ls]
sys.exit(0 if len(ls) > 10 and seqs == list(range(1, len(ls) + 1)) else 1)' "$HB" 2>/dev/null; then
	pass "audit: JSON lines, seq 1, 2, 3, ... oldest first"
else
	fail "audit: JSON lines, seq 1, 2, 3, ... oldest first" "$(head -c 300 "$HB")"
fi
check "audit: every change names the caller (backend:uid:$ME)" grep -q "\"actor\":\"backend:uid:$ME\"" "$HB"
check "audit: the archive read by admin:uid:$ME is logged" grep -q "\"actor\":\"admin:uid:$ME\"" "$HB"
http GET "/v1/audit?after=2&limit=3"
expect_eq "audit ?after=2&limit=3: seq 3, 4, 5" "3 4 5" \
	"$("$PY" -c 'import json,sys; print(" ".join(str(json.loads(x)["seq"]) for x in open(sys.argv[1]) if x.strip()))' "$HB" 2>&1)"
http GET "/v1/audit?limit=0"
expect_http "audit ?limit=0: 400" 400
http GET "/v1/audit?after=x"
expect_http "audit ?after=x: 400" 400
http GET "/v1/audit/shred-report?user=u2"
expect_http "GET /v1/audit/shred-report?user=U: 200" 200
check "the shred report names the shredded documents" grep -q "$D2" "$HB"
http GET /v1/audit/shred-report
expect_http "shred-report without user: 400" 400
http GET /v1/audit/verify
expect_http "GET /v1/audit/verify: 200" 200
jcheck "audit verify: ok" "d['ok'] is True and d['code'] == 0 and d['events'] > 10"
http GET /v1/audit/scan
expect_http "GET /v1/audit/scan: 200" 200
jcheck "audit scan: passes" "d['code'] == 0 and d['result']['plaintext_hits'] == 0"
http GET /v1/check
expect_http "GET /v1/check: 200" 200
jcheck "check: no problem" "d['code'] == 0 and d['result']['problems'] == 0"

# --- unknown routes, wrong methods ------------------------------------------------
for p in /v1/nope /nope / /v2/health "/v1/documents/$D1/nope" /v1/users \
    /v1/audit/nope; do
	http GET "$p"
	expect_http "GET $p: 404 not_found" 404 not_found
done
# Bundles (issue 7; t95, t96 test them in depth): a zip of one PDF is
# sealed; a bare PDF is no bundle; an export is a zip.
"$PY" "$COFFRE_ROOT/tests/e2e/bundle.py" attack onepdf "$W/onepdf.zip" "$SAMPLES"
http POST "/v1/bundles?user=ub1&community=c" --data-binary "@$W/onepdf.zip"
expect_http "POST /v1/bundles with a zip of one PDF: 201" 201
jcheck "POST /v1/bundles: the PDF sealed, nothing rejected" \
	"[(x['entry'], x['type'], x['size']) for x in d['sealed']] == [('sample.pdf', 'application/pdf', $(fsize "$SAMPLES/sample.pdf"))] and d['rejected'] == []"
http POST "/v1/bundles?user=ub1&community=c" --data-binary "@$SAMPLES/sample.pdf"
expect_http "POST /v1/bundles with a bare PDF: 400 (not a zip or tar bundle)" 400 malformed
http GET "/v1/users/ub1/export?format=zip"
expect_http "GET /v1/users/U/export?format=zip: 200" 200
check "GET /v1/users/U/export: a zip of the PDF and manifest.json" "$PY" -c '
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
sys.exit(0 if z.namelist() == ["sample.pdf", "manifest.json"] and
         z.read("sample.pdf") == open(sys.argv[2], "rb").read() else 1)' "$HB" "$SAMPLES/sample.pdf"
for mp in "PUT /v1/documents" "POST /v1/health" "GET /v1/sweep" \
    "DELETE /v1/audit" "PATCH /v1/documents/$D1" "GET /v1/documents/$D1/review" \
    "POST /v1/users/u1" "GET /v1/contracts/u7/k1/end" "POST /v1/archives/$A1"; do
	# shellcheck disable=SC2086 # METHOD PATH
	http $mp
	expect_http "$mp: 405 method_not_allowed" 405 method_not_allowed
done

# --- raw HTTP: limits and smuggling --------------------------------------------
hc toolarge "$SOCK" >"$W/raw.json" 2>"$W/raw.err"
if jtrue "$W/raw.json" 'd["head"].startswith("HTTP/1.1 413") and d["secs"] < 2'; then
	pass "Content-Length: 50000000 and no body: 413 within 2 s (the body is not read)"
else
	fail "Content-Length: 50000000 and no body: 413 within 2 s (the body is not read)" \
	    "$(cat "$W/raw.json" "$W/raw.err" | head -c 600)"
fi
jv "$W/raw.json" 'd["body"]' >"$W/raw.body" 2>/dev/null
if err_shape "$W/raw.body" too_large; then pass "the 413 carries the error JSON"; else
	fail "the 413 carries the error JSON" "$(head -c 300 "$W/raw.body")"; fi
hc clte "$SOCK" >"$W/raw.json" 2>"$W/raw.err"
if jtrue "$W/raw.json" '(d["head"].startswith("HTTP/1.1 400") or (d["head"] == "" and d["closed"]))'; then
	pass "Content-Length with Transfer-Encoding: chunked: 400 (or closed), not sealed"
else
	fail "Content-Length with Transfer-Encoding: chunked: 400 (or closed), not sealed" \
	    "$(cat "$W/raw.json" "$W/raw.err" | head -c 600)"
fi
hc chunked_over "$SOCK" "$LIMIT" >"$W/raw.json" 2>"$W/raw.err"
if jtrue "$W/raw.json" '(d["head"].startswith("HTTP/1.1 413") or (d["head"] == "" and d["closed"]))'; then
	pass "a chunked body past the limit is cut off (or 413), never 201"
else
	fail "a chunked body past the limit is cut off (or 413), never 201" \
	    "$(cat "$W/raw.json" "$W/raw.err" | head -c 600)"
fi
http GET "/v1/documents?user=big"
jcheck "nothing of the 413 upload is listed" "d['documents'] == []"
http GET "/v1/documents?user=smug"
jcheck "nothing of the smuggled upload is listed" "d['documents'] == []"
http GET "/v1/documents?user=chunky"
jcheck "nothing of the chunked upload past the limit is listed" "d['documents'] == []"

# --- 64 concurrent clients ------------------------------------------------------
mkdir -p "$W/conc"
hc concurrent "$SOCK" 64 "$W/conc" >"$W/conc.json" 2>"$W/conc.err"
expect_eq "64 concurrent seals: all 201" 64 \
	"$(jv "$W/conc.json" 'sum(r["seal"] == 201 for r in d)' 2>&1)"
expect_eq "64 concurrent reads: all 200 and byte for byte the sealed PDF" 64 \
	"$(jv "$W/conc.json" 'sum(r["get"] == 200 and r["same"] for r in d)' 2>&1)"
expect_eq "64 distinct ids" 64 "$(jv "$W/conc.json" 'len(set(r["id"] for r in d if r["id"]))' 2>&1)"
if [ "$(jv "$W/conc.json" 'sum(r["seal"] == 201 for r in d)' 2>/dev/null)" != 64 ]; then
	fail "64 concurrent clients: details" "$(head -c 800 "$W/conc.json" "$W/conc.err")"
fi
http GET "/v1/documents?user=conc&limit=1000"
jcheck "the daemon lists the 64" "len(d['documents']) == 64"

# --- slow clients against the timeout (3 s) -----------------------------------
# One sends its body one byte a second, one its head, one nothing at all.
slowpids=()
for mode in body head idle; do
	rm -f "$W/slow-$mode.started"
	hc slow "$SOCK" $mode "$W/slow-$mode.started" >"$W/slow-$mode.json" 2>"$W/slow-$mode.err" &
	slowpids+=($!)
done
for mode in body head idle; do wait_for 10 test -e "$W/slow-$mode.started"; done
t0=$(date +%s%N)
seal_http quick c "$W/p4.pdf"; DQ=$SID
http GET "/v1/documents/$DQ/content"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
expect_same "meanwhile another client seals and reads back" "$W/p4.pdf" "$HB"
if [ "$ms" -lt 2000 ]; then
	pass "and the slow clients do not hold it up (${ms} ms < 2 s)"
else
	fail "and the slow clients do not hold it up" "took ${ms} ms"
fi
for p in "${slowpids[@]}"; do
	tries=300
	while kill -0 "$p" 2>/dev/null && [ "$tries" -gt 0 ]; do sleep 0.1; tries=$((tries - 1)); done
done
for mode in body head idle; do
	f=$W/slow-$mode.json
	case $mode in
	body) what="its body one byte a second" ;;
	head) what="its request head one byte a second" ;;
	idle) what="nothing at all" ;;
	esac
	if jtrue "$f" 'd["closed"] and not d["head"].startswith("HTTP/1.1 201") and 2.5 <= d["after"] <= 3 + 3.5'; then
		pass "a client that sends $what is cut off at the timeout (no 201; $(jv "$f" '"%.1f s, %d bytes sent" % (d["after"], d["sent"])'))"
	else
		fail "a client that sends $what is cut off at the timeout (3 s)" \
		    "$(cat "$f" "$W/slow-$mode.err" | head -c 600)"
	fi
done
http GET "/v1/documents?user=slowbody"
jcheck "nothing of the slow upload is listed" "d['documents'] == []"

# --- stop -----------------------------------------------------------------------
stop_daemon
expect_eq "SIGTERM: the daemon exits 0" 0 "$DSTATUS"
expect_absent "the socket file is removed on exit" "$SOCK"
check "it said it stopped" grep -q 'coffre: serve: stopped' "$LOG"
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$LOG"; then
	fail "no sanitizer report in the daemon's log" "$(grep -m3 -E 'Sanitizer|runtime error' "$LOG")"
fi
run c --dir "$V" check
t_rc 0 "coffre check after the daemon: clean"
run c --dir "$V" audit verify
t_rc 0 "coffre audit verify after the daemon: exit 0"
expect_eq "coffre list shows the 64 concurrent seals" 64 \
	"$(c --dir "$V" list --user conc 2>/dev/null | wc -l)"

# =========================================================================
# The connection cap: 503 before reading.
if start_daemon "$V" "$SOCK" "$W/cap.log" "${ALL_ROLES[@]}" --max-connections-per-uid 2; then
	rm -f "$W/hold.ready" "$W/hold.done"
	hc hold "$SOCK" 2 "$W/hold.ready" "$W/hold.done" &
	holdpid=$!
	wait_for 10 test -e "$W/hold.ready"
	hc oneshot "$SOCK" >"$W/raw.json" 2>"$W/raw.err"
	if jtrue "$W/raw.json" 'd["head"].startswith("HTTP/1.1 503") and d["closed"]'; then
		pass "a third connection of a uid capped at 2: 503 and closed, unasked"
	else
		fail "a third connection of a uid capped at 2: 503 and closed, unasked" \
		    "$(cat "$W/raw.json" "$W/raw.err" | head -c 600)"
	fi
	jv "$W/raw.json" 'd["body"]' >"$W/raw.body" 2>/dev/null
	if err_shape "$W/raw.body" unavailable; then pass "the 503 carries the error JSON (unavailable)"; else
		fail "the 503 carries the error JSON (unavailable)" "$(head -c 300 "$W/raw.body")"; fi
	touch "$W/hold.done"
	while kill -0 "$holdpid" 2>/dev/null; do sleep 0.05; done
	# The two held connections are gone: a new one is served again.
	tries=50
	while :; do
		http GET /v1/health
		[ "$HS" = 200 ] || [ "$tries" -eq 0 ] && break
		sleep 0.1
		tries=$((tries - 1))
	done
	expect_http "once they close, a new connection is served" 200
	stop_daemon
	expect_eq "the capped daemon exits 0" 0 "$DSTATUS"
else
	fail "serve with --max-connections-per-uid 2 starts" "$(head -c 600 "$W/cap.log")"
fi

# =========================================================================
# SIGTERM during uploads: nothing acknowledged is lost, nothing half is kept.
V2=$W/vault2
mkvault "$V2"
SOCK=$W/run2/s.sock
NUP=8
NAB=2
if start_daemon "$V2" "$SOCK" "$W/term.log" "${ALL_ROLES[@]}" --timeout 60; then
	mkdir -p "$W/up"
	hc term "$SOCK" "$DPID" "$W/term.log" "$NUP" "$NAB" "$W/up" $((2 * 1024 * 1024)) \
	    >"$W/term.json" 2>"$W/term.err"
	tries=300
	while ! daemon_ended && [ "$tries" -gt 0 ]; do sleep 0.1; tries=$((tries - 1)); done
	daemon_ended || stop_daemon KILL
	if [ ! -s "$W/term.json" ]; then
		fail "the SIGTERM client ran" "$(head -c 800 "$W/term.err")"
	fi
	expect_eq "SIGTERM during uploads: the daemon exits 0" 0 "$DSTATUS"
	check "SIGTERM came while the uploads were in flight (the daemon said it stops)" \
		jtrue "$W/term.json" 'd["stopping_seen"] == True'
	check "after SIGTERM the socket file is removed" jtrue "$W/term.json" 'd["socket_gone"] == True'
	check_re "after SIGTERM a new connection is refused" \
		"$(jv "$W/term.json" 'd["new_conn"]' 2>&1)" '^refused'
	expect_eq "after SIGTERM a request on a connection accepted before: 503" 503 \
		"$(jv "$W/term.json" 'd["idle_after"]' 2>&1)"
	jv "$W/term.json" 'd["idle_body"]' >"$W/raw.body" 2>/dev/null
	if err_shape "$W/raw.body" unavailable; then pass "that 503 carries the error JSON (unavailable)"; else
		fail "that 503 carries the error JSON (unavailable)" "$(head -c 300 "$W/raw.body")"; fi
	expect_eq "every upload in flight at SIGTERM finishes: $NUP times 201" "$NUP" \
		"$(jv "$W/term.json" 'sum(u["status"] == 201 for u in d["ups"])' 2>&1)"
	# What was acknowledged is there, byte for byte; nothing else is.
	acked=0 same=0
	for i in $(seq 0 $((NUP - 1))); do
		id=$(jv "$W/term.json" "d['ups'][$i]['id']" 2>/dev/null)
		[ -n "$id" ] || continue
		acked=$((acked + 1))
		if c --dir "$V2" open "$id" -o "$W/up/$i.out" 2>/dev/null && \
		    cmp -s "$W/up/$i.pdf" "$W/up/$i.out"; then
			same=$((same + 1))
		fi
	done
	expect_eq "every acknowledged upload opens byte for byte after the stop" "$acked" "$same"
	listed=$(c --dir "$V2" list 2>/dev/null | wc -l)
	expect_eq "exactly the acknowledged uploads are listed (none half, none aborted)" \
		"$acked" "$listed"
	run c --dir "$V2" check
	t_rc 0 "check after SIGTERM during uploads: clean"
	run c --dir "$V2" audit verify
	t_rc 0 "audit verify after SIGTERM during uploads"
else
	fail "serve starts on vault2" "$(head -c 600 "$W/term.log")"
fi

# =========================================================================
# The socket file: a stale one is replaced, a live one is kept, a file that
# is not a socket is refused.
V3=$W/vault3
V4=$W/vault4
mkvault "$V3"
mkvault "$V4"
mkdir -p "$W/sk"
SOCK=$W/sk/s.sock
hc stale "$SOCK"
check "a stale socket file is left (nobody listening)" test -S "$SOCK"
if start_daemon "$V3" "$SOCK" "$W/stale.log" "${ALL_ROLES[@]}"; then
	http GET /v1/health
	expect_http "serve replaces a stale socket file and answers on it" 200
	FIRST=$DPID
	FIRST_DRC=$DRC
	ino=$(stat -c %i "$SOCK")
	run timeout 30 "$COFFRE_BIN" --dir "$V4" serve --socket "$SOCK" "${ALL_ROLES[@]}"
	if [ "$STATUS" -ne 0 ] && [ "$STATUS" -ne 124 ] && grep -q 'another daemon' "$ERR"; then
		pass "a second daemon on a live socket fails, saying another daemon listens (exit $STATUS)"
	else
		fail "a second daemon on a live socket fails, saying another daemon listens" "$(why)"
	fi
	t_err 1 "the second start exits 1 with a coffre: message"
	expect_eq "the live socket file is left as it was" "$ino" "$(stat -c %i "$SOCK" 2>&1)"
	http GET /v1/health
	expect_http "the first daemon keeps serving" 200
	seal_http u1 c "$SAMPLES/sample.pdf"; D=$SID
	check_re "and still seals" "$D" "$ID_RE"
	DPID=$FIRST DRC=$FIRST_DRC
	stop_daemon
	expect_eq "the first daemon exits 0" 0 "$DSTATUS"
else
	fail "serve replaces a stale socket file and answers on it" "$(head -c 600 "$W/stale.log")"
fi
printf 'not a socket\n' >"$W/sk/file"
run timeout 30 "$COFFRE_BIN" --dir "$V4" serve --socket "$W/sk/file" "${ALL_ROLES[@]}"
t_err 1 "serve on a path that is a regular file: exit 1"
check "it says it is not a socket" grep -q 'not a socket' "$ERR"
expect_eq "and leaves the file alone" "not a socket" "$(cat "$W/sk/file")"

# =========================================================================
# SIGHUP reloads the roles of coffre.conf; a client with no role.
SOCK=$W/hup/s.sock
printf 'allow = auditor=uid:%s\n' "$ME" >"$V4/coffre.conf"
if start_daemon "$V4" "$SOCK" "$W/hup.log"; then
	http GET /v1/audit/verify
	expect_http "a grant from coffre.conf (auditor): audit verify 200" 200
	http POST "/v1/documents?user=u1&community=c" --data-binary "@$SAMPLES/sample.pdf"
	expect_http "auditor only: seal is 403 forbidden" 403 forbidden
	printf 'allow = auditor=uid:%s\nallow = backend=uid:%s\n' "$ME" "$ME" >"$V4/coffre.conf"
	kill -HUP "$DPID"
	wait_for 10 grep -q 'SIGHUP: 2 grant' "$W/hup.log"
	http POST "/v1/documents?user=u1&community=c" --data-binary "@$SAMPLES/sample.pdf"
	expect_http "after adding backend and SIGHUP: seal 201" 201
	printf 'allow = auditor=uid:%s\nallow = backend=uid:%s\nallow = wizard=uid:1\n' "$ME" "$ME" >"$V4/coffre.conf"
	kill -HUP "$DPID"
	wait_for 10 grep -q 'roles not reloaded' "$W/hup.log"
	check "a bad grant on SIGHUP: the roles are not reloaded, and it says so" \
		grep -q 'SIGHUP: roles not reloaded' "$W/hup.log"
	http POST "/v1/documents?user=u1&community=c" --data-binary "@$SAMPLES/sample.pdf"
	expect_http "the old grants stay in force: seal 201" 201
	printf 'allow = backend=uid:%s\n' "$((ME + 1))" >"$V4/coffre.conf"
	kill -HUP "$DPID"
	wait_for 10 grep -q 'SIGHUP: 1 grant' "$W/hup.log"
	http GET /v1/health
	expect_http "no role left for this uid after SIGHUP: even health is 403" 403 forbidden
	check "the daemon logs the refusal with the uid" grep -q "refused uid $ME .*no role" "$W/hup.log"
	hc oneshot "$SOCK" >"$W/raw.json" 2>"$W/raw.err"
	check "a client with no role gets its 403 before sending anything" \
		jtrue "$W/raw.json" 'd["head"].startswith("HTTP/1.1 403")'
	stop_daemon
	expect_eq "the SIGHUP daemon exits 0" 0 "$DSTATUS"
else
	fail "serve with grants from coffre.conf starts" "$(head -c 600 "$W/hup.log")"
fi

# =========================================================================
# systemd socket activation.
if ! command -v systemd-socket-activate >/dev/null 2>&1; then
	pass "systemd activation skipped: no systemd-socket-activate"
else
	V5=$W/vault5
	mkvault "$V5"
	SOCK=$W/act.sock
	# It passes only the environment it is told to (-E).
	envs=()
	for e in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!e:-}" ] && envs+=(-E "$e")
	done
	start_bg "$W/act.log" systemd-socket-activate -l "$SOCK" "${envs[@]}" \
	    "$COFFRE_BIN" --dir "$V5" serve --allow "backend=uid:$ME"
	if wait_answer "$SOCK"; then
		http GET /v1/health
		expect_http "systemd-socket-activate: health on the passed socket 200" 200
		check "the daemon says it serves the socket from systemd" \
			grep -q 'listening on the socket from systemd' "$W/act.log"
		seal_http u1 c "$SAMPLES/sample.png"; D=$SID
		expect_http "systemd-socket-activate: seal 201" 201
		http GET "/v1/documents/$D/content"
		expect_same "systemd-socket-activate: the content reads back" "$SAMPLES/sample.png" "$HB"
		stop_daemon
		expect_eq "the activated daemon exits 0 on SIGTERM" 0 "$DSTATUS"
	else
		fail "systemd-socket-activate: the daemon answers" "$(head -c 600 "$W/act.log")"
		stop_daemon KILL
	fi
fi
finish
