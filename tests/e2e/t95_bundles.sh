#!/usr/bin/env bash
# t95_bundles: `coffre import` and `coffre export` on the vault directory
# (SPEC.md sections 4, 6 and 7; issue 7).  Every bundle is built here, by
# tests/e2e/bundle.py.
#
# Round trip: a zip, a tar and a tar.gz bundle are imported, exported as
# zip, tar and tar.gz (also to stdout), and every exported file has the
# bytes of its original (the manifest's "name" is the entry imported, its
# "file" the name in the export) and the manifest's blake2b_256.
#
# Attacks, one bundle each: path traversal and absolute names, symbolic and
# hard links, devices, encrypted entries, nested archives, an entry over
# the document limit, a total over the bundle limit, more entries than the
# cap, bombs (a compression ratio over the cap), types the policy refuses,
# a polyglot, a file that is no bundle, empty bundles, damaged ones.  Each
# rejected entry says why and leaves nothing listed; the good entries of a
# mixed bundle stay sealed; a bomb is stopped in bounded time and memory.
# Then the audit log verifies and `audit scan` passes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

BP="$PY $COFFRE_ROOT/tests/e2e/bundle.py"
V=$W/vault
B=$W/bundles
mkdir -p "$B"
mkvault "$V" || { finish; exit; }
need_sample sample.pdf || { finish; exit; }

# mk KIND: the bundle $B/KIND (bundle.py attack KIND).
mk() {
	$BP attack "$1" "$B/$1" "$SAMPLES" 2>"$W/mk.err" ||
		fail "bundle.py builds the $1 bundle" "$(head -c 300 "$W/mk.err")"
}

# The questions on an import report (--json) and a listing.
cat >"$W/q.py" <<'PYEOF'
import json, re, sys

def load(p):
    try:
        with open(p) as f:
            t = f.read()
        return json.loads(t) if t.strip() else {"sealed": [], "rejected": []}
    except Exception as e:
        print("the report is not JSON: %r" % e)
        sys.exit(1)

rep = load(sys.argv[1])
cmd = sys.argv[2]
args = sys.argv[3:]
sealed = [x.get("entry") for x in rep.get("sealed", [])]
rejected = {x.get("entry"): x.get("reason", "") for x in rep.get("rejected", [])}
if cmd == "sealed":          # exactly these entries sealed
    ok = sorted(sealed) == sorted(args)
    if not ok:
        print("sealed %r, want %r" % (sealed, args))
elif cmd == "rejected":      # exactly these entries rejected
    ok = sorted(rejected) == sorted(args)
    if not ok:
        print("rejected %r, want %r" % (sorted(rejected), sorted(args)))
elif cmd == "why":           # ENTRY REGEX: its reason matches
    r = rejected.get(args[0])
    ok = r is not None and re.search(args[1], r, re.I) is not None
    if not ok:
        print("entry %r: reason %r, want /%s/; rejected: %r" %
              (args[0], r, args[1], rejected))
elif cmd == "shape":         # the keys of the JSON report
    ok = (sorted(rep) == ["rejected", "sealed"] and
          all(sorted(x) == ["entry", "id", "size", "type"] and
              isinstance(x["size"], int) for x in rep["sealed"]) and
          all(sorted(x) == ["entry", "reason"] and x["reason"]
              for x in rep["rejected"]))
    if not ok:
        print("report: %r" % rep)
elif cmd == "listed":        # LIST.json: exactly the sealed ones are listed
    with open(args[0]) as f:
        docs = json.load(f)["documents"]
    got = sorted((d["id"], d["name"], d["type"], d["size"]) for d in docs)
    want = sorted((x["id"], x["entry"], x["type"], x["size"])
                  for x in rep["sealed"])
    ok = got == want
    if not ok:
        print("listed %r" % got)
        print("sealed %r" % want)
elif cmd == "id":            # ENTRY: print its id
    ids = [x["id"] for x in rep["sealed"] if x["entry"] == args[0]]
    ok = len(ids) == 1
    if ok:
        print(ids[0])
sys.exit(0 if ok else 1)
PYEOF
q() { $PY "$W/q.py" "$REP" "$@"; }

# rep_check NAME Q ARGS...: PASS if the question Q on the last report holds.
rep_check() {
	local name=$1 msg
	shift
	if msg=$(q "$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$msg"
	fi
}

# imp CODE NAME USER BUNDLE [DIR]: coffre --json import (community c95);
# REP is its report; checks the exit status, and that exactly the sealed
# entries are listed for USER (a rejected entry leaves nothing listed).
imp() {
	local code=$1 name=$2 user=$3 bundle=$4 dir=${5:-$V} msg
	run c --dir "$dir" --json import --user "$user" --community c95 "$bundle"
	REP=$W/rep-$user.json
	cp "$OUT" "$REP"
	cp "$ERR" "$W/rep-$user.err"
	t_rc "$code" "$name: exit $code"
	if [ "$code" != 0 ] && ! grep -q '^coffre: ' "$W/rep-$user.err"; then
		fail "$name: stderr says why (coffre: ...)" "$(why)"
	fi
	c --dir "$dir" --json list --user "$user" >"$W/list.json" 2>"$W/list.err"
	if msg=$(q listed "$W/list.json" 2>&1); then
		pass "$name: only the sealed entries are listed"
	else
		fail "$name: only the sealed entries are listed" "$msg" \
		    "$(head -c 200 "$W/list.err")"
	fi
}

# imp_any NAME USER BUNDLE: imp, but exit 0 or 5 will do (no crash).
imp_any() {
	run c --dir "$V" --json import --user "$2" --community c95 "$3"
	REP=$W/rep-$2.json
	cp "$OUT" "$REP"
	if crashed; then fail "$1: no crash" "$(why)"
	elif [ "$STATUS" = 0 ] || [ "$STATUS" = 5 ]; then pass "$1: exit 0 or 5"
	else fail "$1: exit 0 or 5" "$(why)"; fi
	c --dir "$V" --json list --user "$2" >"$W/list.json" 2>/dev/null
	rep_check "$1: only the sealed entries are listed" listed "$W/list.json"
}

# rss_ok NAME KIB: the bound on a resident size (skipped under sanitizers).
rss_ok() {
	if [ -z "$2" ]; then
		fail "$1" "no measure (/usr/bin/time)"
	elif [ "$COFFRE_SANITIZED" = 1 ]; then
		skip "$1" "sanitizer build: max RSS $2 KiB"
	elif [ "$2" -lt $((64 * 1024)) ]; then
		pass "$1 ($2 KiB)"
	else
		fail "$1" "max RSS $2 KiB"
	fi
}

# --- round trip: zip, tar, tar.gz in; zip, tar, tar.gz out ------------------
SRC=$W/src
mkdir -p "$SRC"
$BP src "$SRC" "$SAMPLES"
NSRC=$(find "$SRC" -type f | wc -l)
for f in zip tar tar.gz; do
	$BP pack "$f" "$B/good.$f" "$SRC"
done
for f in zip tar tar.gz; do
	u=rt-${f/./}
	imp 0 "import a good $f" "$u" "$B/good.$f"
	rep_check "import $f: the report's fields" shape
	# shellcheck disable=SC2046 # the names have no spaces
	rep_check "import $f: every document sealed" sealed \
	    $(cd "$SRC" && find . -type f | sed 's|^\./||')
	for g in zip tar tar.gz; do
		run c --dir "$V" export --user "$u" -o "$W/exp-$u.$g"
		t_rc 0 "export of the $f import as $g: exit 0"
		check "export of the $f import as $g: nothing on stdout" test ! -s "$OUT"
		if msg=$($BP roundtrip "$W/exp-$u.$g" "$g" "$SRC" 2>&1); then
			pass "round trip $f -> $g: every file byte for byte, manifest hashes and fields"
		else
			fail "round trip $f -> $g: every file byte for byte, manifest hashes and fields" "$msg"
		fi
	done
done
rm -f "$W"/exp-rt-*

# To standard output, piped into Python.
if msg=$(c --dir "$V" export --user rt-zip -o - --format tar 2>"$W/x.err" |
    $BP roundtrip - tar "$SRC" 2>&1); then
	pass "export -o - --format tar, piped: the round trip holds"
else
	fail "export -o - --format tar, piped: the round trip holds" "$msg" "$(cat "$W/x.err")"
fi
if msg=$(c --dir "$V" export --user rt-zip -o - --format zip 2>"$W/x.err" |
    $BP roundtrip - zip "$SRC" 2>&1); then
	pass "export -o - --format zip, piped: the round trip holds"
else
	fail "export -o - --format zip, piped: the round trip holds" "$msg" "$(cat "$W/x.err")"
fi
run c --dir "$V" export --user rt-zip -o "$W/by-ext.tgz"
t_rc 0 "export -o FILE.tgz: exit 0"
check "export -o FILE.tgz is a tar.gz" $BP roundtrip "$W/by-ext.tgz" tar.gz "$SRC"

# The import from standard input.
run_in "$B/good.tar.gz" c --dir "$V" import --user rt-stdin --community c95 -
t_rc 0 "import - (a tar.gz on stdin): exit 0"
check "import -: one line a document sealed" test "$(grep -c '^sealed	' "$OUT")" = "$NSRC"
check_re "import -: the line is sealed<TAB>entry<TAB>id<TAB>type<TAB>size" \
    "$(grep -P '^sealed\ta\.pdf\t' "$OUT")" \
    "^sealed	a\.pdf	[A-Za-z0-9_-]{22}	application/pdf	795$"

# Reviews and withdrawn documents in the manifest.
REP=$W/rep-rt-zip.json
DA=$(q id a.pdf)
DB=$(q id b.png)
run c --dir "$V" approve "$DA" --note "t95 lu"
t_rc 0 "approve a document of the import"
run c --dir "$V" shred --doc "$DB"
t_rc 0 "shred --doc a document of the import"
run c --dir "$V" export --user rt-zip -o "$W/after.zip"
t_rc 0 "export after a review and a shred: exit 0"
if msg=$($BP roundtrip "$W/after.zip" zip "$SRC" --absent "$DB" --count $((NSRC - 1)) 2>&1); then
	pass "a shredded document is not exported; the others are, byte for byte"
else
	fail "a shredded document is not exported; the others are, byte for byte" "$msg"
fi
$BP manifest "$W/after.zip" zip >"$W/after.json" 2>/dev/null
check "the manifest carries the review (approved, its note)" test "$(jv "$W/after.json" \
    "[(x['status'], [(r['decision'], r['note']) for r in x['reviews']]) for x in d['documents'] if x['id'] == '$DA'] == [('approved', [('approve', 't95 lu')])]")" = true
check "the manifest: community, sealed_at as a date" test "$(jv "$W/after.json" \
    "all(x['community'] == 'c95' and len(x['sealed_at']) == 20 and x['sealed_at'].endswith('Z') for x in d['documents'])")" = true

# Users with nothing to export.
run c --dir "$V" export --user nobody95 -o "$W/nobody.zip"
t_rc 0 "export of an unknown user: exit 0"
if msg=$($BP roundtrip "$W/nobody.zip" zip - --count 0 2>&1); then
	pass "export of an unknown user: only a manifest listing no document"
else
	fail "export of an unknown user: only a manifest listing no document" "$msg"
fi
run c --dir "$V" shred --user rt-tar
t_rc 0 "shred --user of an imported user"
run c --dir "$V" export --user rt-tar -o "$W/gone.tar"
t_rc 0 "export of a shredded user: exit 0"
if msg=$($BP roundtrip "$W/gone.tar" tar - --count 0 2>&1); then
	pass "export of a shredded user: no document"
else
	fail "export of a shredded user: no document" "$msg"
fi

# Export usage.
run c --dir "$V" export --user rt-zip -o "$W/x.bin"
t_err 2 "export to FILE with no known extension and no --format: exit 2"
check "and no file is left" test ! -e "$W/x.bin"
run c --dir "$V" export --user rt-zip -o -
t_err 2 "export -o - without --format: exit 2"
run c --dir "$V" export --user rt-zip -o "$W/x.zip" --format rar
t_err 2 "export --format rar: exit 2"
run c --dir "$V" export --user rt-zip
t_err 2 "export without -o: exit 2"
run c --dir "$V" export --user 'bad user' -o "$W/x.zip"
t_err 5 "export of a malformed user id: exit 5"

# The export is in the audit log.
c --dir "$V" --json audit log >"$W/log.jsonl" 2>/dev/null
check "the audit log has the exports (op export, user, format)" "$PY" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
x = [e for e in ev if e.get("op") == "export"]
ok = any(e.get("user") == "rt-zip" and e.get("format") == "tar" for e in x) and \
    any(e.get("user") == "nobody95" and e.get("documents") == 0 for e in x)
sys.exit(0 if ok else 1)' "$W/log.jsonl"

# --- names: UTF-8 ------------------------------------------------------------
SRC8=$W/src8
mkdir -p "$SRC8"
$BP src "$SRC8" "$SAMPLES" --utf8
$BP pack zip "$B/utf8.zip" "$SRC8"
$BP pack tar "$B/utf8.tar" "$SRC8"
imp 0 "import a tar with UTF-8 names" u8t "$B/utf8.tar"
imp_any "import a zip with UTF-8 names (the zip's UTF-8 flag)" u8z "$B/utf8.zip"
rep_check "import a zip with UTF-8 names: sealed under their names" sealed \
    "fiche d'identité été.pdf" "dossier é/reçu €.png"
for g in tar zip; do
	run c --dir "$V" export --user u8t -o "$W/u8.$g"
	if [ "$STATUS" != 0 ]; then
		fail "export of UTF-8 names as $g: the names and bytes come back" "$(why)"
	elif msg=$($BP roundtrip "$W/u8.$g" "$g" "$SRC8" 2>&1); then
		pass "export of UTF-8 names as $g: the names and bytes come back"
	else
		fail "export of UTF-8 names as $g: the names and bytes come back" "$msg"
	fi
done

# --- attacks -------------------------------------------------------------------
# Path traversal, absolute names.
mk traversal-zip
imp 5 "zip with traversal and absolute names" trav-zip "$B/traversal-zip"
rep_check "zip traversal: the good entry is sealed" sealed ok.pdf
for e in ../up.pdf /etc/abs.pdf a/../../b.pdf C:/win.pdf sub/..; do
	rep_check "zip traversal: $e rejected as path traversal" why "$e" 'path traversal'
done
rep_check "zip traversal: a backslash name (..\\back.pdf) rejected" why '../back.pdf' 'path traversal'
mk traversal-tar
imp 5 "tar with traversal and absolute names" trav-tar "$B/traversal-tar"
rep_check "tar traversal: the good entry is sealed" sealed ok.pdf
for e in ../up.pdf /etc/abs.pdf a/../../b.pdf; do
	rep_check "tar traversal: $e rejected as path traversal" why "$e" 'path traversal'
done
check "no file was written outside the vault" test ! -e "$W/up.pdf" -a ! -e /etc/abs.pdf

# Links.
mk links-tar
imp 5 "tar with symbolic and hard links" links "$B/links-tar"
rep_check "links: the regular entry is sealed" sealed ok.pdf
rep_check "links: an absolute symbolic link rejected as such" why sym.pdf 'symbolic link'
rep_check "links: a relative symbolic link rejected as such" why rel.pdf 'symbolic link'
rep_check "links: a hard link to an entry rejected as such" why hard.pdf 'hard link'
rep_check "links: a hard link to /etc/shadow rejected as such" why hard2.pdf 'hard link'
mk symlink-zip
imp 5 "zip with a symbolic link (its mode only in the central directory)" symzip "$B/symlink-zip"
rep_check "zip symbolic link: rejected (for whatever reason), the good entry sealed" sealed ok.pdf
mk symlink-pdf-zip
imp_any "zip with a symbolic link whose target is a PDF's text" symzip2 "$B/symlink-pdf-zip"
rep_check "zip symbolic link to a PDF's text: rejected as a symbolic link" why link2.pdf 'symbolic link'
if command -v zip >/dev/null 2>&1; then
	mkdir -p "$W/zy"
	cp "$SAMPLES/sample.pdf" "$W/zy/real.pdf"
	ln -s /etc/passwd "$W/zy/lnk.pdf"
	(cd "$W/zy" && zip -q -y "$B/zip-y.zip" real.pdf lnk.pdf)
	imp 5 "zip -y with a symbolic link" zipy "$B/zip-y.zip"
	rep_check "zip -y: the link rejected, the file sealed" sealed real.pdf
else
	skip "zip -y with a symbolic link" "no zip tool"
fi

# Devices, pipes.
mk devices-tar
imp 5 "tar with devices and a fifo" dev "$B/devices-tar"
rep_check "devices: the regular entry is sealed" sealed ok.pdf
rep_check "devices: a character device rejected as a device" why null 'device'
rep_check "devices: a block device rejected as a device" why sda 'device'
rep_check "devices: a fifo rejected as a pipe" why fifo 'pipe'

# Encrypted entries.
mk encrypted-zip
imp 5 "zip with an entry flagged encrypted" enc "$B/encrypted-zip"
rep_check "encrypted: the clear entry is sealed" sealed ok.pdf
rep_check "encrypted: the flagged entry rejected as encrypted" why secret.pdf 'encrypt'
mk encrypted-only-zip
imp 5 "zip of one encrypted entry" enc1 "$B/encrypted-only-zip"
rep_check "encrypted only: nothing sealed" sealed
rep_check "encrypted only: rejected as encrypted" why secret.pdf 'encrypt'
if command -v zip >/dev/null 2>&1; then
	mkdir -p "$W/ze"
	cp "$SAMPLES/sample.pdf" "$W/ze/a.pdf"
	cp "$SAMPLES/sample.png" "$W/ze/b.png"
	(cd "$W/ze" && zip -q -P t95pw "$B/zip-e.zip" a.pdf b.png)
	imp 5 "zip -P (traditional PKWARE encryption)" zipe "$B/zip-e.zip"
	rep_check "zip -P: nothing sealed" sealed
	rep_check "zip -P: a.pdf rejected as encrypted" why a.pdf 'encrypt'
	rep_check "zip -P: b.png rejected as encrypted" why b.png 'encrypt'
else
	skip "zip -P (traditional PKWARE encryption)" "no zip tool"
fi

# Nested archives.
mk nested
imp 5 "zip holding archives" nest "$B/nested"
rep_check "nested: the PDF is sealed" sealed ok.pdf
rep_check "nested: a zip in the zip rejected as a nested archive" why inner.zip 'nested archive'
rep_check "nested: a tar.gz in the zip rejected as a nested archive" why inner.tar.gz 'nested archive'
rep_check "nested: a tar in the zip rejected as a nested archive" why inner.tar 'nested archive'
rep_check "nested: a zip named .pdf rejected as a nested archive" why disguised.pdf 'nested archive'
mk nested-tar
imp 5 "tar holding a zip" nest-tar "$B/nested-tar"
rep_check "nested tar: the zip rejected as a nested archive" why inner.zip 'nested archive'

# Types the policy refuses; a polyglot.
mk types
imp 5 "zip of types the policy refuses" types "$B/types"
rep_check "types: the PDF and the PNG are sealed" sealed ok.pdf ok.png
rep_check "types: a script rejected, its type named" why run.sh 'x-shellscript.*not allowed'
rep_check "types: HTML rejected, its type named" why page.html 'text/html.*not allowed'
rep_check "types: SVG rejected, its type named" why image.svg 'svg.*not allowed'
rep_check "types: text rejected, its type named" why notes.txt 'text/plain.*not allowed'
mk polyglot
imp 5 "zip holding a PDF with a zip appended" poly "$B/polyglot"
rep_check "polyglot entry: rejected as a polyglot" why poly.pdf 'polyglot'
rep_check "polyglot entry: the plain PDF is sealed" sealed ok.pdf
$GEN pdfzip "$W/pdfzip.pdf"
run c --dir "$V" seal --user poly-seal --community c95 "$W/pdfzip.pdf"
t_err 5 "seal of a PDF with a small zip appended: exit 5"
check "seal of a PDF with a zip appended: the message says polyglot" grep -qi polyglot "$ERR"
check "seal of a polyglot: nothing listed" test "$(c --dir "$V" list --user poly-seal | wc -l)" = 0

# Limits, each in a vault of its own with a small coffre.conf.
VL=$W/vl-doc
mkvault "$VL"
printf 'max_document_bytes = 2000\n' >"$VL/coffre.conf"
for k in oversize-zip oversize-stream oversize-tar; do
	mk "$k"
	imp 5 "$k: an entry over max_document_bytes" "$k" "$B/$k" "$VL"
	rep_check "$k: the entries around it are sealed" sealed small1.pdf small2.pdf
	rep_check "$k: the big one rejected over the size limit" why big.pdf 'size limit'
done
VL=$W/vl-bundle
mkvault "$VL"
printf 'max_bundle_bytes = 3000\n' >"$VL/coffre.conf"
mk sizes
imp 5 "documents passing max_bundle_bytes" total "$B/sizes" "$VL"
rep_check "max_bundle_bytes: the first two sealed" sealed s1.pdf s2.pdf
rep_check "max_bundle_bytes: the third rejected, the rest not read" rejected s3.pdf
rep_check "max_bundle_bytes: the reason names the limit" why s3.pdf 'max_bundle_bytes'
VL=$W/vl-entries
mkvault "$VL"
printf 'max_bundle_entries = 3\n' >"$VL/coffre.conf"
mk entries
imp 5 "more entries than max_bundle_entries" entries "$B/entries" "$VL"
rep_check "max_bundle_entries: the first three sealed" sealed n1.pdf n2.pdf n3.pdf
rep_check "max_bundle_entries: the fourth rejected, the rest not read" rejected n4.pdf
rep_check "max_bundle_entries: the reason names the limit" why n4.pdf 'max_bundle_entries'

# Bombs: stopped within bounded time and memory.
# bomb NAME USER BUNDLE REGEX SEALED...: import under /usr/bin/time.
bomb() {
	local name=$1 user=$2 bundle=$3 re=$4 t0 t1 rss
	shift 4
	t0=$(date +%s%N)
	if [[ $bundle == stdin:* ]]; then
		# From standard input: no seek, the zip read as a stream.
		run_in "${bundle#stdin:}" /usr/bin/time -f %M -o "$W/rss" \
		    "$COFFRE_BIN" --dir "$V" --json import --user "$user" \
		    --community c95 -
	else
		run /usr/bin/time -f %M -o "$W/rss" "$COFFRE_BIN" --dir "$V" \
		    --json import --user "$user" --community c95 "$bundle"
	fi
	t1=$(date +%s%N)
	REP=$W/rep-$user.json
	cp "$OUT" "$REP"
	t_rc 5 "$name: exit 5"
	rep_check "$name: the bomb rejected ($re)" why bomb.pdf "$re"
	rep_check "$name: the entries before it sealed" sealed "$@"
	c --dir "$V" --json list --user "$user" >"$W/list.json" 2>/dev/null
	rep_check "$name: the bomb is not listed" listed "$W/list.json"
	rss=$(tail -n 1 "$W/rss")
	rss_ok "$name: max RSS < 64 MiB" "$rss"
	check "$name: done in < 20 s ($(((t1 - t0) / 1000000)) ms)" \
	    test $(((t1 - t0) / 1000000)) -lt 20000
}
$BP bomb "$B/bomb.zip" 1024
bomb "1 GiB of zeros, deflated, sizes unknown (data descriptor), streamed" \
    bomb1 "stdin:$B/bomb.zip" 'compression ratio' before.pdf
# From a file the zip is read through its central directory, which has
# the sizes: the bomb is refused on its size and skipped unread.
bomb "1 GiB of zeros, deflated, data descriptor, from a file" bomb1f \
    "$B/bomb.zip" 'size limit|compression ratio' before.pdf after.pdf
check "the 1 GiB bomb is a small file ($(fsize "$B/bomb.zip") bytes)" \
    test "$(fsize "$B/bomb.zip")" -lt $((2 * 1024 * 1024))
rm -f "$B/bomb.zip"
$BP bomb "$B/bomb-sized.zip" 1024 --sized
bomb "1 GiB of zeros, deflated, its size in the headers" bomb2 \
    "$B/bomb-sized.zip" 'size limit|compression ratio' before.pdf after.pdf
rm -f "$B/bomb-sized.zip"
$BP bomb "$B/bomb30.zip" 30 --sized
bomb "30 MiB of zeros (under the document limit), deflated" bomb3 \
    "$B/bomb30.zip" 'compression ratio' before.pdf
$BP tgzbomb "$B/bomb30.tgz" 30
bomb "tar.gz of 30 MiB of zeros" bomb4 "$B/bomb30.tgz" 'compression ratio' before.pdf
$BP tgzbomb "$B/bomb.tgz" 1024
bomb "tar.gz of 1 GiB of zeros, its size in the header" bomb5 "$B/bomb.tgz" \
    'size limit|compression ratio' before.pdf
rm -f "$B/bomb.tgz"

# No bomb: a PDF that deflates about 21:1 (1.5 MB to 70 KB) is sealed.
mk ratio20
imp_any "a zip of a PDF that deflates 21:1 (under the cap of 100)" ratio20 "$B/ratio20"
rep_check "a PDF that deflates 21:1 is no bomb: sealed" sealed first.pdf text.pdf

# Not bundles; empty bundles.
run c --dir "$V" import --user nb1 --community c95 "$SAMPLES/sample.pdf"
t_err 5 "a PDF given as a bundle: exit 5"
check "a PDF given as a bundle: not a zip or tar bundle" grep -q 'not a zip or tar bundle' "$ERR"
mk not-a-bundle
run c --dir "$V" --json import --user nb2 --community c95 "$B/not-a-bundle"
t_err 5 "text given as a bundle: exit 5, no report"
check "text given as a bundle: not a zip or tar bundle" grep -q 'not a zip or tar bundle' "$ERR"
head -c 65536 /dev/urandom >"$B/random"
run c --dir "$V" import --user nb3 --community c95 "$B/random"
t_err 5 "random bytes given as a bundle: exit 5"
: >"$B/zero"
run c --dir "$V" import --user nb4 --community c95 "$B/zero"
t_err 5 "an empty file given as a bundle: exit 5"
for k in empty-zip empty-tar folders-only; do
	mk "$k"
	run c --dir "$V" import --user "e-$k" --community c95 "$B/$k"
	t_err 5 "$k: exit 5"
	check "$k: the message says the bundle holds no document" grep -q 'no document' "$ERR"
done
check "nothing listed for the non-bundles" test "$(c --dir "$V" list | awk '$3 ~ /^(nb[0-9]|e-)/' | wc -l)" = 0

# Damaged bundles: no crash; what comes before the damage is sealed and
# reads back; the damaged entry is not listed.
mapfile -t BEFORE_BIG < <($BP before "$SRC" big.pdf)
cut=$($BP offset tar "$B/good.tar" big.pdf 0.5)
for f in zip tar tar.gz; do
	# In the middle of big.pdf (its data is random: as much in the tar.gz).
	at=$cut
	[ "$f" = zip ] && at=$($BP offset zip "$B/good.zip" big.pdf 0.5)
	head -c "$at" "$B/good.$f" >"$B/trunc.$f"
	imp 5 "$f cut in the middle of an entry" "cut-${f/./}" "$B/trunc.$f"
	rep_check "$f cut: the entries before the cut sealed" sealed "${BEFORE_BIG[@]}"
	rep_check "$f cut: the cut entry rejected as truncated" why big.pdf 'truncat'
	run c --dir "$V" open "$(q id a.pdf)" -o "$W/cut.pdf"
	expect_same "$f cut: an entry before the cut reads back" "$SRC/a.pdf" "$W/cut.pdf"
done
sz=$(fsize "$B/good.zip")
head -c $((sz - 60)) "$B/good.zip" >"$B/nocd.zip"
imp_any "zip with its central directory cut" nocd "$B/nocd.zip"
# shellcheck disable=SC2046
rep_check "zip with its central directory cut: every entry sealed" sealed \
    $(cd "$SRC" && find . -type f | sed 's|^\./||')
cp "$B/good.zip" "$B/crc.zip"
$GEN flip "$B/crc.zip" "$($BP offset zip "$B/good.zip" b.png 0.5)" # deflated
mapfile -t BEFORE_B < <($BP before "$SRC" b.png)
imp 5 "zip with a damaged deflate stream" crc "$B/crc.zip"
rep_check "damaged deflate: the entries before sealed" sealed "${BEFORE_B[@]}"
rep_check "damaged deflate: the entry rejected as unreadable" why b.png 'unreadable|crc|decompress'
cp "$B/good.tar" "$B/hdr.tar"
$GEN flip "$B/hdr.tar" 100 # the first header's checksum fails
imp_any "tar whose first header is damaged" hdr "$B/hdr.tar"
head -c 50 "$B/good.zip" >"$B/tiny.zip"
run c --dir "$V" import --user tiny --community c95 "$B/tiny.zip"
t_err 5 "a zip cut after 50 bytes: exit 5"
cp "$B/good.tar.gz" "$B/flip.tgz"
$GEN flip "$B/flip.tgz" 5000
imp_any "tar.gz with a flipped byte" flip "$B/flip.tgz"
head -c 1000 /dev/urandom | dd of="$B/nocd.zip" bs=1 seek=20000 conv=notrunc status=none
imp_any "zip with 1000 random bytes in the middle" garbage "$B/nocd.zip"

# A mixed bundle: the good entries stay sealed; the text report.
mk mixed
run c --dir "$V" import --user mixed --community c95 "$B/mixed"
t_rc 5 "mixed bundle: exit 5"
check "mixed bundle: stderr counts the rejections" grep -q '^coffre: 3 of the bundle.s entries were rejected (3 sealed)' "$ERR"
check_re "mixed bundle: sealed<TAB>entry<TAB>id<TAB>type<TAB>size" \
    "$(grep -P '^sealed\tsecond\.png\t' "$OUT")" \
    "^sealed	second\.png	[A-Za-z0-9_-]{22}	image/png	638$"
check_re "mixed bundle: rejected<TAB>entry<TAB>reason" \
    "$(grep -P '^rejected\t\.\./t95-evil' "$OUT")" \
    "^rejected	\.\./t95-evil-9e2b\.pdf	a name with '\.\.' \(path traversal\)$"
check "mixed bundle: one line an entry, in bundle order" test \
    "$(cut -f1,2 "$OUT" | tr '\t\n' ':,')" = \
    "sealed:t95-first-4c1d.pdf,rejected:../t95-evil-9e2b.pdf,sealed:second.png,rejected:t95-run-77aa.sh,rejected:inner.zip,sealed:third.pdf,"
check "mixed bundle: the good entries are listed" test \
    "$(c --dir "$V" list --user mixed | wc -l)" = 3
sid=$(awk -F'\t' '$2 == "second.png" { print $3 }' "$OUT")
run c --dir "$V" open "$sid" -o "$W/second.png"
expect_same "mixed bundle: a sealed entry reads back" "$SAMPLES/sample.png" "$W/second.png"
run c --dir "$V" --json import --user mixed --community c95 "$B/mixed"
REP=$W/rep-mixed.json
cp "$OUT" "$REP"
rep_check "mixed bundle --json: the report's fields" shape
rep_check "mixed bundle --json: the sealed list" sealed t95-first-4c1d.pdf second.png third.pdf
rep_check "mixed bundle --json: the rejected list" rejected ../t95-evil-9e2b.pdf t95-run-77aa.sh inner.zip

# Refusals of the command itself.
run c --dir "$V" shred --user fenced
run c --dir "$V" import --user fenced --community c95 "$B/good.zip"
t_err 4 "import for a shredded user: exit 4"
check "import for a shredded user: nothing listed" test "$(c --dir "$V" list --user fenced | wc -l)" = 0
run c --dir "$V" import --user 'bad user' --community c95 "$B/good.zip"
t_err 5 "import with a malformed user id: exit 5"
run c --dir "$V" import --user u --community c95 "$W/none.zip"
t_err 3 "import of a missing file: exit 3"
run c --dir "$V" import --user u "$B/good.zip"
t_err 2 "import without --community: exit 2"

# --- afterwards ------------------------------------------------------------------
c --dir "$V" --json audit log >"$W/log.jsonl" 2>/dev/null
check "the audit log keeps the refused entries (op import-entry, refused)" "$PY" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
x = [e for e in ev if e.get("op") == "import-entry" and e.get("result") == "refused"]
sys.exit(0 if any("path traversal" in e.get("reason", "") for e in x) else 1)' "$W/log.jsonl"
for m in t95-first-4c1d t95-evil-9e2b t95-run-77aa t95-plain-4c1d t95-script-77aa; do
	expect_not_in_dir "no '$m' (entry name or content) in the clear under the vault" "$V" "$m"
done
run c --dir "$V" audit verify
t_rc 0 "audit verify after all that"
run c --dir "$V" check
t_rc 0 "check after all that"
run c --dir "$V" audit scan
t_rc 0 "audit scan after all that"
finish
