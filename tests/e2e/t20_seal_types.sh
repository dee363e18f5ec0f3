#!/usr/bin/env bash
# t20_seal_types: seal and open every allowed type, from a file and from
# stdin; reject every other type, bad ids, missing files, oversized
# documents; coffre.conf limits; open's output rules (terminal, -o, -o -);
# malformed and unknown ids; no name or plaintext byte in the clear.
# SPEC.md sections 3, 4, 6, 7; docs/CLI.md.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

V=$W/vault
mkvault "$V" || { finish; exit; }
ID_RE='^[A-Za-z0-9_-]+$'

# seal_and_check LABEL FILE: seal FILE, check the id, open it back (cmp),
# and check the --json form of seal; sets SEALED to the id.
SEALED=
seal_and_check() {
	local label=$1 f=$2 want_type id
	want_type=$(file -b --mime-type "$f")
	run c --dir "$V" seal --user u1 --community c1 --kind k1 "$f"
	t_rc 0 "seal $label exits 0"
	id=$(cat "$OUT")
	if [ "$(wc -l <"$OUT")" -eq 1 ] && [[ $id =~ $ID_RE ]]; then
		pass "seal $label prints one id of [A-Za-z0-9_-]"
	else
		fail "seal $label prints one id of [A-Za-z0-9_-]" "stdout: $(head -c 200 "$OUT" | tr '\n' '|')"
	fi
	SEALED=$id
	rm -f "$W/opened"
	run c --dir "$V" open "$id" -o "$W/opened"
	t_rc 0 "open $label exits 0"
	check "open $label gives back the exact bytes" cmp -s "$f" "$W/opened"
	run c --dir "$V" --json seal --user u1 --community c1 "$f"
	if [ "$STATUS" -eq 0 ] && jv "$OUT" 'isinstance(d["id"], str) and d["type"] == "'"$want_type"'" and d["size"] == '"$(fsize "$f")"' and d["status"] == "pending"' >/dev/null; then
		pass "seal --json $label: {id, type $want_type, size, status pending}"
	else
		fail "seal --json $label: {id, type $want_type, size, status pending}" "$(why); stdout: $(head -c 300 "$OUT")"
	fi
	local jid
	jid=$(jv "$OUT" 'd["id"]' 2>/dev/null)
	if [ -n "$jid" ] && [ "$jid" != "$id" ] && [[ $jid =~ $ID_RE ]]; then
		pass "seal $label twice gives two different ids"
	else
		fail "seal $label twice gives two different ids" "$id / $jid"
	fi
}

# --- every allowed type --------------------------------------------------------

MARK="MARKER-t20-$$-Zq7Wv"
NAME="Passeport-Dupont-Zq7Wv-$$.pdf"
$GEN pdf "$W/marked.pdf" --text "$MARK-pdf"
$GEN png "$W/marked.png" --text "$MARK-png"
$GEN tiff "$W/doc.tiff"
$GEN webp "$W/doc.webp"
$GEN heic "$W/doc.heic"

for s in sample.pdf sample.png sample.jpg; do
	need_sample "$s" || continue
	f=$SAMPLE
	seal_and_check "samples/$s" "$f"
done
seal_and_check "a PDF with a text marker" "$W/marked.pdf"
PDF_ID=$SEALED
seal_and_check "a PNG with a tEXt marker" "$W/marked.png"
PNG_ID=$SEALED
for t in tiff webp heic; do
	got=$(file -b --mime-type "$W/doc.$t")
	if [ "$got" = "image/$t" ]; then
		seal_and_check "a generated ${t^^} ($got)" "$W/doc.$t"
	else
		skip "seal a generated ${t^^}" "this libmagic says $got for it"
	fi
done

# --- stdin ---------------------------------------------------------------------

run_in "$W/marked.png" c --dir "$V" seal --user u1 --community c1 -
t_rc 0 "seal - from a redirected file exits 0"
sid=$(cat "$OUT")
check_re "seal - prints an id" "$sid" "$ID_RE"
rm -f "$W/opened"
c --dir "$V" open "$sid" -o "$W/opened" 2>/dev/null </dev/null
check "seal - from a file: open gives back the bytes" cmp -s "$W/marked.png" "$W/opened"

pid=$(cat -- "$W/marked.pdf" | c --dir "$V" seal --user u1 --community c1 - 2>"$ERR")
STATUS=$?
t_rc 0 "seal - from a pipe exits 0"
rm -f "$W/opened"
c --dir "$V" open "$pid" -o "$W/opened" 2>/dev/null </dev/null
check "seal - from a pipe: open gives back the bytes" cmp -s "$W/marked.pdf" "$W/opened"

# --- rejected types: exit 5, the message names the detected type -------------

printf '#!/bin/sh\necho hello\n' >"$W/script.sh"
printf '<!DOCTYPE html>\n<html><head><title>x</title></head><body><p>hi</p></body></html>\n' >"$W/page.html"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>\n' >"$W/image.svg"
printf 'just some plain text\n' >"$W/plain.txt"
cp /bin/true "$W/elf"
$GEN zip "$W/bundle.zip"
$GEN pdfzip "$W/polyglot.pdf"
: >"$W/empty"

n_before=$(count_docs "$V")
for f in script.sh elf page.html image.svg bundle.zip plain.txt; do
	want=$(file -b --mime-type "$W/$f")
	want_re=$(printf '%s' "$want" | sed 's/[.+]/\\&/g')
	# libmagic names an ELF by its flags: any ELF type will do.
	[ "$f" = elf ] && want_re='application/x-(pie-executable|executable|sharedlib|elf)'
	run c --dir "$V" seal --user u1 --community c1 "$W/$f"
	t_err 5 "seal of $f ($want) exits 5"
	if grep -qE -- "$want_re" "$ERR"; then
		pass "seal of $f: the message names $want"
	else
		fail "seal of $f: the message names $want" "$(why)"
	fi
done
run_in "$W/script.sh" c --dir "$V" seal --user u1 --community c1 -
t_err 5 "seal - of a shell script from stdin exits 5"
run c --dir "$V" seal --user u1 --community c1 "$W/empty"
t_err 5 "seal of an empty file exits 5"
run_in "$W/empty" c --dir "$V" seal --user u1 --community c1 -
t_err 5 "seal - of empty stdin exits 5"
check "nothing is listed after the rejected seals" test "$(count_docs "$V")" = "$n_before"
n_before=$(count_docs "$V")
run c --dir "$V" seal --user u1 --community c1 "$W/polyglot.pdf"
t_err 5 "seal of a PDF with a zip appended (polyglot) exits 5"
check "nothing is listed after the rejected polyglot" test "$(count_docs "$V")" = "$n_before"
n_before=$(count_docs "$V")

# --- bad ids: exit 5 -----------------------------------------------------------

long128=$(printf 'a%.0s' $(seq 128))
long129=$(printf 'a%.0s' $(seq 129))
declare -A BAD=([empty]="" [129 bytes]="$long129" [a space]="a b" [a slash]="a/b"
	[non-ASCII]="$(printf 'caf\303\251')" [a newline]="$(printf 'a\nb')" [a tab]="$(printf 'a\tb')")
for what in "${!BAD[@]}"; do
	bad=${BAD[$what]}
	run c --dir "$V" seal --user "$bad" --community c1 "$W/marked.png"
	t_err 5 "seal with a user id of $what exits 5"
	run c --dir "$V" seal --user u1 --community "$bad" "$W/marked.png"
	t_err 5 "seal with a community id of $what exits 5"
done
run c --dir "$V" seal --user u1 --community c1 --kind "a b" "$W/marked.png"
t_err 5 "seal with a kind of a space exits 5"
check "nothing is listed after the bad ids" test "$(count_docs "$V")" = "$n_before"

run c --dir "$V" seal --user "$long128" --community "Az09._:@-" --kind "id-card" "$W/marked.png"
t_rc 0 "seal with a 128-byte user id and every allowed character exits 0"
edge=$(cat "$OUT")
run c --dir "$V" --json info "$edge"
if jv "$OUT" 'd["user"] == "'"$long128"'" and d["community"] == "Az09._:@-" and d["kind"] == "id-card"' >/dev/null 2>&1; then
	pass "info gives back the 128-byte user id, the community and the kind"
else
	fail "info gives back the 128-byte user id, the community and the kind" "$(why)"
fi

# --- missing input: exit 3 -----------------------------------------------------

run c --dir "$V" seal --user u1 --community c1 "$W/no-such-file.pdf"
t_err 3 "seal of a missing file exits 3"

# --- coffre.conf: size limit and type list -------------------------------------

VC=$W/vault-conf
mkvault "$VC"
printf '# test limit\nmax_document_bytes = 1000\n' >"$VC/coffre.conf"
$GEN png "$W/p1000.png" --size 1000
$GEN png "$W/p1001.png" --size 1001
$GEN png "$W/p5000.png" --size 5000
run c --dir "$VC" seal --user u1 --community c1 "$W/p1000.png"
t_rc 0 "max_document_bytes = 1000: a 1000-byte PNG is sealed"
run c --dir "$VC" seal --user u1 --community c1 "$W/p1001.png"
t_err 5 "max_document_bytes = 1000: a 1001-byte PNG exits 5"
run c --dir "$VC" seal --user u1 --community c1 "$W/p5000.png"
t_err 5 "max_document_bytes = 1000: a 5000-byte PNG exits 5"
run_in "$W/p5000.png" c --dir "$VC" seal --user u1 --community c1 -
t_err 5 "max_document_bytes = 1000: a 5000-byte PNG on stdin exits 5"
check "max_document_bytes: only the document within the limit is listed" test "$(count_docs "$VC")" = 1

printf 'max_document_bytes = 1000000\nallow_type = image/png\n' >"$VC/coffre.conf"
run c --dir "$VC" seal --user u1 --community c1 "$W/marked.pdf"
t_err 5 "allow_type = image/png: a PDF exits 5"
check "allow_type = image/png: the message names application/pdf" grep -qF application/pdf "$ERR"
run c --dir "$VC" seal --user u1 --community c1 "$W/marked.png"
t_rc 0 "allow_type = image/png: a PNG is sealed"
printf 'allow_type = image/png\nallow_type = application/pdf\n' >"$VC/coffre.conf"
run c --dir "$VC" seal --user u1 --community c1 "$W/marked.pdf"
t_rc 0 "allow_type repeated: a PDF is sealed"
[ -s "$SAMPLES/sample.jpg" ] && { # (its absence failed above)
	f=$SAMPLES/sample.jpg
	run c --dir "$VC" seal --user u1 --community c1 "$f"
	t_err 5 "allow_type png and pdf only: a JPEG exits 5"
}

printf 'max_document_bytes = 1000\nfrobnicate = 1\n' >"$VC/coffre.conf"
run c --dir "$VC" list
t_err 1 "coffre.conf with an unknown key exits 1"
if grep -qE 'line 2|:2\b|frobnicate' "$ERR"; then
	pass "coffre.conf with an unknown key: the message names the line"
else
	fail "coffre.conf with an unknown key: the message names the line" "$(why)"
fi
printf 'max_document_bytes = lots\n' >"$VC/coffre.conf"
run c --dir "$VC" list
t_err 1 "coffre.conf with a malformed value exits 1"
rm -f "$VC/coffre.conf"

# --- open: terminal, -o FILE, -o - ---------------------------------------------

if script -qec true /dev/null >/dev/null 2>&1; then
	cmd=$(printf '%q ' "$COFFRE_BIN" --dir "$V" open "$PNG_ID")
	script -qec "$cmd" /dev/null >"$W/tty.out" 2>&1 </dev/null
	STATUS=$?
	: >"$ERR"
	t_rc 2 "open to a terminal exits 2"
	if grep -qaF "$MARK" "$W/tty.out"; then
		fail "open to a terminal writes no plaintext" "the marker reached the terminal"
	else
		pass "open to a terminal writes no plaintext"
	fi
	cmd=$(printf '%q ' "$COFFRE_BIN" --dir "$V" open "$PNG_ID" -o "$W/via-tty.png")
	script -qec "$cmd" /dev/null >/dev/null 2>&1 </dev/null
	check "open -o FILE works from a terminal" cmp -s "$W/marked.png" "$W/via-tty.png"
else
	skip "open to a terminal exits 2" "script(1) cannot run a pseudo-terminal here"
fi

printf 'keep me\n' >"$W/existing"
run c --dir "$V" open "$PNG_ID" -o "$W/existing"
t_err 1 "open -o onto an existing file exits 1"
check "open -o leaves the existing file as it was" test "$(cat "$W/existing")" = "keep me"

rm -f "$W/o1" "$W/o2"
(umask 000 && c --dir "$V" open "$PDF_ID" -o "$W/o1" 2>/dev/null </dev/null)
check "open -o FILE gives back the bytes" cmp -s "$W/marked.pdf" "$W/o1"
check "open -o FILE creates it 0600 (umask 000)" test "$(stat -c %a "$W/o1" 2>/dev/null)" = 600
(umask 022 && c --dir "$V" open "$PDF_ID" -o "$W/o2" 2>/dev/null </dev/null)
check "open -o FILE creates it 0600 (umask 022)" test "$(stat -c %a "$W/o2" 2>/dev/null)" = 600

run c --dir "$V" open "$PNG_ID" -o -
t_rc 0 "open -o - exits 0"
check "open -o - writes the plaintext to stdout" cmp -s "$W/marked.png" "$OUT"
run c --dir "$V" open "$PNG_ID"
t_rc 0 "open to a pipe or file exits 0"
check "open to stdout gives back the bytes" cmp -s "$W/marked.png" "$OUT"

# --- malformed and unknown ids ---------------------------------------------------

first=${PNG_ID:0:1}
if [ "$first" = A ]; then other=B; else other=A; fi
UNKNOWN=$other${PNG_ID:1}
for what in "a bang:bad!id" "a slash:ab/cd" "dots:.." "a space:ab cd" "non-ASCII:$(printf 'caf\303\251')" "300 characters:$(printf 'A%.0s' $(seq 300))"; do
	label=${what%%:*}
	bad=${what#*:}
	for cmd in open info approve; do
		run c --dir "$V" "$cmd" "$bad"
		t_err 5 "$cmd of an id with $label exits 5"
	done
	run c --dir "$V" reject "$bad" --reason r
	t_err 5 "reject of an id with $label exits 5"
done
for cmd in open info approve; do
	run c --dir "$V" "$cmd" "$UNKNOWN"
	t_err 3 "$cmd of a well-formed unknown id exits 3"
done
run c --dir "$V" reject "$UNKNOWN" --reason r
t_err 3 "reject of a well-formed unknown id exits 3"
rm -f "$W/unknown.out"
run c --dir "$V" open "$UNKNOWN" -o "$W/unknown.out"
check "open -o of an unknown id creates no file" test ! -e "$W/unknown.out"

# --- names are shown, never stored in the clear --------------------------------

run c --dir "$V" seal --user u2 --community c2 --name "$NAME" "$W/marked.pdf"
t_rc 0 "seal --name exits 0"
nid=$(cat "$OUT")
run c --dir "$V" info "$nid"
check "info shows the name given with --name" grep -qxF "name: $NAME" "$OUT"
run c --dir "$V" --json info "$nid"
check "info --json shows the name" jv "$OUT" 'd["name"] == "'"$NAME"'"'
run c --dir "$V" --json list --user u2
check "list --json shows the name" jv "$OUT" 'd["documents"][0]["name"] == "'"$NAME"'"'

# Without --name the name may default to the file's base name: that too is
# sealed.
BASENAME="Diplome-Martin-Kx4Pz-$$.png"
cp "$W/marked.png" "$W/$BASENAME"
run c --dir "$V" seal --user u2 --community c2 "$W/$BASENAME"
t_rc 0 "seal of a file with a distinctive name exits 0"

for what in "the --name string:$NAME" "a sealed file's base name:$BASENAME" "the PDF text marker:$MARK-pdf" "the PNG tEXt marker:$MARK-png" "the marker prefix:$MARK"; do
	label=${what%%:*}
	needle=${what#*:}
	hits=$(grep -r -a -l -F -- "$needle" "$V" 2>/dev/null)
	if [ -z "$hits" ]; then
		pass "$label is in no file under the vault"
	else
		fail "$label is in no file under the vault" "found in: $(echo "$hits" | tr '\n' ' ')"
	fi
done
# Raw bytes of the documents: 48 bytes from a quarter, the middle and three
# quarters in, looked for in every file under the vault.
for s in sample.pdf sample.png sample.jpg; do
	f=$SAMPLES/$s
	[ -s "$f" ] || continue # already failed above
	if hits=$($GEN findbytes "$V" "$f"); then
		pass "bytes of samples/$s are in no file under the vault"
	else
		fail "bytes of samples/$s are in no file under the vault" "found in: $(echo "$hits" | tr '\n' ' ')"
	fi
done

finish
