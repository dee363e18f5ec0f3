#!/usr/bin/env bash
# t40_corruption: must-fail tamper cases.  A changed, truncated or reordered
# byte of a segment, an index record or a key is reported as corruption
# (exit 1), never returned as data, never a crash; a torn tail is ignored.
# SPEC.md section 6 ("Authenticated", "Append-only"); docs/CLI.md (open).
#
# Every case starts from a copy of a pristine vault.  The sweeps flip one
# byte at a time over a whole file and sort each run into: exit 1 (good),
# exit 0 with the right output (the change was not noticed), exit 0 with
# other output (WRONG DATA), another exit code, or a crash (signal or
# sanitizer report).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

# How many flips a sweep makes at most (fewer under sanitizers: slower).
# MAXUSE: the same for the sweeps over the bytes in use of an LMDB file (a
# few hundred in these small vaults: all of them, normally).
if [ "${COFFRE_SANITIZED:-0}" = 1 ]; then
	MAXFLIPS=100 MAXUSE=200
else
	MAXFLIPS=320 MAXUSE=1000
fi

VT=$W/work # the vault each case tampers with
restore() { rm -rf "$VT" && cp -a "$1" "$VT"; }
seg_of() { segments "$1" | head -n 1; }
seg_total() {
	local t=0 f
	for f in $(segments "$1"); do t=$((t + $(fsize "$f"))); done
	echo "$t"
}

# --- a vault with one small document -------------------------------------------

PS=$W/pristine-small
mkvault "$PS" || { finish; exit; }
MARK="MARKER-t40-$$"
$GEN png "$W/small.png" --text "$MARK" --size 3000
S_ID=$(sealid "$PS" --user u1 --community c1 --name small.png "$W/small.png")
check "seal the small document" test -n "$S_ID"
check "the vault has one segment file" test "$(segments "$PS" | wc -l)" -eq 1

restore "$PS"
seg=$(seg_of "$VT")
segsize=$(fsize "$seg")
$GEN flip "$seg" $((segsize / 2))
run c --dir "$VT" open "$S_ID"
t_rc 1 "flipped byte in the middle of the segment: open exits 1"
check "flipped byte in the middle of the segment: nothing on stdout" test ! -s "$OUT"
rm -f "$W/out.png"
run c --dir "$VT" open "$S_ID" -o "$W/out.png"
t_rc 1 "flipped byte in the middle of the segment: open -o exits 1"
check "flipped byte in the middle of the segment: no -o file left" test ! -e "$W/out.png"

# ranges OFFSET...: sorted, unique, runs joined ("0-13 20 31-40").
ranges() {
	printf '%s\n' "$@" | sort -n -u | awk '
		NF == 0 { next }
		start == "" { start = $1; prev = $1; next }
		$1 == prev + 1 { prev = $1; next }
		{ out = out (start == prev ? start : start "-" prev) " "; start = $1; prev = $1 }
		END { if (start != "") out = out (start == prev ? start : start "-" prev); print out }'
}

# sweep LABEL PRISTINE FILE(relative) ID EXPECTED-PLAINTEXT OFFSETS...
# Flips one bit of each offset in turn (lib.sh's flip_byte) on a fresh
# copy of PRISTINE; runs open, info --json and list --json.  Sets SW_* to
# the counts and the offsets (as ranges) of each outcome.
# lmdb_internal: the last run's sanitizer report has its top frames inside
# liblmdb (its first three frames name liblmdb.so or an interceptor called
# from it), not in coffre's code.
# Such a report file is moved out of the runner's sanitizer log folder into
# $TMPDIR_E2E/lmdb-internal (it is accounted for here, as a NOTE); any
# other report stays there and fails the run.
lmdb_internal() {
	local f found=1
	grep -m1 -A4 'ERROR: AddressSanitizer' "$ERR" 2>/dev/null |
	    grep -q 'liblmdb\.so' && found=0
	for f in "${SANLOGS:-/nonexistent}"/*; do
		[ -f "$f" ] || continue
		if grep -m1 -A4 'ERROR: AddressSanitizer' "$f" 2>/dev/null |
		    grep -q 'liblmdb\.so'; then
			mkdir -p "$TMPDIR_E2E/lmdb-internal"
			mv "$f" "$TMPDIR_E2E/lmdb-internal/"
			found=0
		fi
	done
	return "$found"
}

sweep() {
	local label=$1 p=$2 rel=$3 id=$4 plain=$5
	shift 5
	local off n=0 good=0 silent=0 wrong=0 other=0 crash=0 leak=0 what ref
	local lmdbint=0
	local -a wrongs=() others=() crashes=() silents=() leaks=() osilents=()
	local -a lmdbints=()
	c --dir "$p" --json info "$id" >"$W/info.ref" 2>/dev/null </dev/null
	c --dir "$p" --json list >"$W/list.ref" 2>/dev/null </dev/null
	for off in "$@"; do
		restore "$p"
		flip_byte "$VT/$rel" "$off" || continue
		n=$((n + 1))
		for what in open info list; do
			case $what in
			open) run c --dir "$VT" open "$id" ;;
			info) run c --dir "$VT" --json info "$id" ;;
			list) run c --dir "$VT" --json list ;;
			esac
			if crashed && [ "$COFFRE_SANITIZED" = 1 ] &&
			    lmdb_internal; then
				# A sanitizer report inside LMDB itself, on a
				# damaged page: LMDB does not validate its pages
				# (docs/THREATS.md).  Our own code's errors are
				# still crashes.
				lmdbint=$((lmdbint + 1)) lmdbints+=("$what@$off")
			elif crashed; then
				crash=$((crash + 1)) crashes+=("$what@$off:exit$STATUS")
			elif [ "$STATUS" -eq 1 ]; then
				good=$((good + 1))
				if [ "$what" = open ] && [ -s "$OUT" ]; then
					leak=$((leak + 1)) leaks+=("$off")
				fi
			elif [ "$STATUS" -eq 0 ]; then
				ref=$plain
				[ "$what" = info ] && ref=$W/info.ref
				[ "$what" = list ] && ref=$W/list.ref
				if cmp -s "$OUT" "$ref"; then
					silent=$((silent + 1)) silents+=("$off")
					[ "$what" = open ] && osilents+=("$off")
				else
					wrong=$((wrong + 1)) wrongs+=("$what@$off")
				fi
			else
				other=$((other + 1)) others+=("$what@$off:exit$STATUS")
			fi
		done
	done
	SW_N=$n SW_SILENT=$silent SW_OTHER=$other SW_LEAK=$leak
	SW_SILENTS=$(ranges "${silents[@]}")
	SW_OSILENT=${#osilents[@]}
	SW_OSILENTS=$(ranges "${osilents[@]}")
	SW_LEAKS=$(ranges "${leaks[@]}")
	SW_OTHERS="${others[*]:0:40}"
	echo "NOTE: $label: $n flips x 3 commands: exit 1: $good, unnoticed: $silent, wrong data: $wrong, other exit: $other, crash: $crash"
	[ "$lmdbint" -gt 0 ] && echo "NOTE: $label: $lmdbint sanitizer reports inside liblmdb on a damaged page (LMDB trusts its pages; see docs/THREATS.md): ${lmdbints[*]:0:20}"
	[ "$silent" -gt 0 ] && echo "NOTE: $label: unnoticed by some command at offsets $SW_SILENTS; by open at $SW_OSILENTS"
	if [ "$n" -gt 0 ] && [ "$wrong" -eq 0 ] && [ "$crash" -eq 0 ]; then
		pass "$label: never wrong data, never a crash"
	else
		fail "$label: never wrong data, never a crash" \
			"wrong data: ${wrongs[*]:0:40}" "crash: ${crashes[*]:0:40}"
	fi
}

# offsets SIZE: the first and last 64 bytes, and evenly spread ones between,
# MAXFLIPS in all at most.
offsets() {
	"$PY" -c '
import sys
size, cap = int(sys.argv[1]), int(sys.argv[2])
s = set(range(min(64, size))) | set(range(max(0, size - 64), size))
left = max(1, cap - len(s))
step = max(1, size // left)
s |= set(range(0, size, step))
print(" ".join(str(x) for x in sorted(s)[:cap]))' "$1" "$MAXFLIPS"
}

seg_rel=${seg#"$VT/"}
# shellcheck disable=SC2046
sweep "segment byte flips (small document)" "$PS" "$seg_rel" "$S_ID" "$W/small.png" $(offsets "$segsize")
# Every byte of the segment belongs to the document's record (or the file's
# header): open must report each flip.  (info and list need not read the
# body: for them only wrong data or a crash counts.)
if [ "$SW_N" -gt 0 ] && [ "$SW_OSILENT" -eq 0 ] && [ "$SW_OTHER" -eq 0 ]; then
	pass "segment byte flips: open reports every flip as corruption (exit 1)"
else
	fail "segment byte flips: open reports every flip as corruption (exit 1)" \
		"unnoticed by open at offsets: $SW_OSILENTS (segment of $segsize bytes)" "other exit: $SW_OTHERS"
fi
if [ "$SW_LEAK" -eq 0 ]; then
	pass "segment byte flips: open prints no plaintext when it fails"
else
	fail "segment byte flips: open prints no plaintext when it fails" "flips at $SW_LEAKS"
fi

# --- a vault with one large document (many chunks) --------------------------------

PL=$W/pristine-large
mkvault "$PL"
$GEN stream $((1048576 + 12345)) t40-large --head "$W/small.png" >"$W/large.png"
L_ID=$(sealid "$PL" --user u1 --community c1 "$W/large.png")
check "seal a 1 MiB document" test -n "$L_ID"

# is_strict_prefix OUT FULL: OUT is a proper prefix of FULL (maybe empty).
is_strict_prefix() {
	local n
	n=$(fsize "$1")
	[ "$n" -lt "$(fsize "$2")" ] && cmp -s -n "$n" "$1" "$2"
}

restore "$PL"
seg=$(seg_of "$VT")
segsize=$(fsize "$seg")
$GEN flip "$seg" $((segsize / 2))
run c --dir "$VT" open "$L_ID"
t_rc 1 "large document, flipped byte in the middle: open exits 1"
check "large document, flipped byte: stdout is at most a proper prefix of the plaintext" is_strict_prefix "$OUT" "$W/large.png"
rm -f "$W/out.png"
run c --dir "$VT" open "$L_ID" -o "$W/out.png"
t_rc 1 "large document, flipped byte: open -o exits 1"
check "large document, flipped byte: the partial -o file is removed" test ! -e "$W/out.png"

# (cut: bytes cut off the end; "half": to half its size; "all-but-64": to
# its first 64 bytes.)
for cut in 1 17 4096 65553 half all-but-64; do
	restore "$PL"
	seg=$(seg_of "$VT")
	segsize=$(fsize "$seg")
	case $cut in
	half) newsize=$((segsize / 2)) ;;
	all-but-64) newsize=64 ;;
	*) newsize=$((segsize - cut)) ;;
	esac
	truncate -s "$newsize" "$seg"
	run c --dir "$VT" open "$L_ID"
	t_rc 1 "segment truncated ($cut): open exits 1"
	check "segment truncated ($cut): stdout at most a proper prefix" is_strict_prefix "$OUT" "$W/large.png"
	rm -f "$W/out.png"
	run c --dir "$VT" open "$L_ID" -o "$W/out.png"
	check "segment truncated ($cut): no -o file left" test ! -e "$W/out.png"
done

# --- three documents of one size: records swapped or copied --------------------------

PR=$W/pristine-reorder
mkvault "$PR"
s0=$(seg_total "$PR")
for k in a b c; do
	$GEN stream 100000 "t40-$k" --head "$W/small.png" >"$W/rec-$k.png"
done
RA=$(sealid "$PR" --user u1 --community c1 "$W/rec-a.png")
s1=$(seg_total "$PR")
RB=$(sealid "$PR" --user u1 --community c1 "$W/rec-b.png")
s2=$(seg_total "$PR")
RC_ID=$(sealid "$PR" --user u1 --community c1 "$W/rec-c.png")
s3=$(seg_total "$PR")
check "seal three documents of 100000 bytes" test -n "$RA" -a -n "$RB" -a -n "$RC_ID"
L=$((s2 - s1))
# (The first record may follow a segment file header: s1 - s0 may be more.)
if [ "$(segments "$PR" | wc -l)" -eq 1 ] && [ "$L" -gt 0 ] && [ $((s3 - s2)) -eq "$L" ] && [ $((s1 - s0)) -ge "$L" ]; then
	restore "$PR"
	seg=$(seg_of "$VT")
	$GEN swap "$seg" "$s1" "$s2" "$L"
	run c --dir "$VT" open "$RB"
	t_rc 1 "records of B and C swapped: open B exits 1"
	check "records swapped: open B prints nothing of C" test ! -s "$OUT"
	run c --dir "$VT" open "$RC_ID"
	t_rc 1 "records of B and C swapped: open C exits 1"
	check "records swapped: open C prints nothing of B" test ! -s "$OUT"

	restore "$PR"
	seg=$(seg_of "$VT")
	$GEN copy "$seg" "$s1" "$s2" "$L"
	run c --dir "$VT" open "$RC_ID"
	t_rc 1 "record of B copied over C: open C exits 1"
	check "record of B copied over C: open C prints nothing" test ! -s "$OUT"

	# The second half of C's record replaced by the second half of B's
	# (whole chunks of another document, if the chunks line up).
	restore "$PR"
	seg=$(seg_of "$VT")
	$GEN copy "$seg" $((s1 + L / 2)) $((s2 + L / 2)) $((L - L / 2))
	run c --dir "$VT" open "$RC_ID"
	t_rc 1 "second half of C's record from B: open C exits 1"
	check "second half of C's record from B: stdout at most a proper prefix of C" is_strict_prefix "$OUT" "$W/rec-c.png"
else
	echo "NOTE: records are not laid one after another with one length ($s0 $s1 $s2 $s3); swap cases not run"
fi

# --- torn tails: garbage after the last record is ignored ---------------------------

PT=$W/pristine-torn
mkvault "$PT"
$GEN png "$W/ta.png" --text "torn-a-$$" --size 20000
$GEN pdf "$W/tb.pdf" --text "torn-b-$$"
$GEN png "$W/tc.png" --text "torn-c-$$" --size 7000
TA=$(sealid "$PT" --user u1 --community c1 "$W/ta.png")
sa=$(seg_total "$PT")
TB=$(sealid "$PT" --user u1 --community c1 "$W/tb.pdf")
sb=$(seg_total "$PT")
check "seal two documents for the torn-tail cases" test -n "$TA" -a -n "$TB"

torn_case() {
	local label=$1 ok=1 nid
	run c --dir "$VT" open "$TA"
	[ "$STATUS" -eq 0 ] && cmp -s "$OUT" "$W/ta.png" || ok=0
	run c --dir "$VT" open "$TB"
	[ "$STATUS" -eq 0 ] && cmp -s "$OUT" "$W/tb.pdf" || ok=0
	if [ $ok = 1 ]; then pass "$label: the documents before it still open"; else fail "$label: the documents before it still open" "$(why)"; fi
	run c --dir "$VT" seal --user u1 --community c1 "$W/tc.png"
	t_rc 0 "$label: a new seal works"
	nid=$(cat "$OUT")
	run c --dir "$VT" open "$nid"
	if [ "$STATUS" -eq 0 ] && cmp -s "$OUT" "$W/tc.png"; then pass "$label: the new document opens"; else fail "$label: the new document opens" "$(why)"; fi
	ok=1
	run c --dir "$VT" open "$TA"
	[ "$STATUS" -eq 0 ] && cmp -s "$OUT" "$W/ta.png" || ok=0
	run c --dir "$VT" open "$TB"
	[ "$STATUS" -eq 0 ] && cmp -s "$OUT" "$W/tb.pdf" || ok=0
	[ "$(count_docs "$VT")" = 3 ] || ok=0
	if [ $ok = 1 ]; then pass "$label: after the new seal all three open and are listed"; else fail "$label: after the new seal all three open and are listed" "$(why); listed $(count_docs "$VT")"; fi
}

restore "$PT"
head -c 1000 /dev/urandom >>"$(seg_of "$VT")"
torn_case "torn tail of 1000 random bytes"
restore "$PT"
head -c 4096 /dev/zero >>"$(seg_of "$VT")"
torn_case "torn tail of 4096 zero bytes"
restore "$PT"
seg=$(seg_of "$VT")
head -c $(((sb - sa) / 2)) < <(tail -c +$((sa + 1)) "$seg") >"$W/half-record"
cat "$W/half-record" >>"$seg"
torn_case "torn tail made of the first half of a real record"
restore "$PT"
seg=$(seg_of "$VT")
head -c 40 < <(tail -c +$((sa + 1)) "$seg") >"$W/record-head"
cat "$W/record-head" >>"$seg"
torn_case "torn tail made of a real record's first 40 bytes"

# --- the root key ------------------------------------------------------------------

PK=$W/pristine-keys
mkvault "$PK"
$GEN png "$W/k.png" --text "keys-$$"
K_ID=$(sealid "$PK" --user u1 --community c1 "$W/k.png")
check "seal a document for the key cases" test -n "$K_ID"
rootsize=$(fsize "$PK/keys/root")

root_case() {
	local label=$1 cmdline ok
	for cmdline in "list" "info $K_ID" "open $K_ID" "approve $K_ID" "seal --user u1 --community c1 $W/k.png"; do
		# shellcheck disable=SC2086
		run c --dir "$VT" $cmdline
		t_rc 1 "$label: ${cmdline%% *} exits 1"
		if [ "${cmdline%% *}" = open ]; then
			check "$label: open prints nothing" test ! -s "$OUT"
		fi
	done
}

restore "$PK"
$GEN flip "$VT/keys/root" $((rootsize / 2))
root_case "keys/root with its middle byte flipped"
restore "$PK"
$GEN flip "$VT/keys/root" 0
root_case "keys/root with its first byte flipped"
restore "$PK"
truncate -s $((rootsize / 2)) "$VT/keys/root"
root_case "keys/root cut in half"
restore "$PK"
: >"$VT/keys/root"
root_case "keys/root emptied"
mkvault "$W/other"
restore "$PK"
cp "$W/other/keys/root" "$VT/keys/root"
root_case "keys/root of another vault"

# All the bytes of keys/root, one at a time.
# shellcheck disable=SC2046
sweep "keys/root byte flips" "$PK" keys/root "$K_ID" "$W/k.png" $(offsets "$rootsize")
echo "NOTE: keys/root: a flip in a byte the vault does not use (a spare slot) may go unnoticed; see the offsets above"

# The key tree: every LMDB file under keys/.
for f in $(cd "$PK" && find keys -name '*.mdb' ! -name '*lock*' | sort); do
	# shellcheck disable=SC2046
	sweep "key tree $f byte flips" "$PK" "$f" "$K_ID" "$W/k.png" $(offsets "$(fsize "$PK/$f")")
	# shellcheck disable=SC2046
	sweep "key tree $f flips of bytes in use" "$PK" "$f" "$K_ID" "$W/k.png" $($GEN nonzero "$PK/$f" "$MAXUSE" 0)
	if [ "$SW_OTHER" -eq 0 ]; then
		pass "key tree $f flips of bytes in use: only exit 1 or the right answer"
	else
		fail "key tree $f flips of bytes in use: only exit 1 or the right answer" "other exit: $SW_OTHERS"
	fi
done

# --- the index -------------------------------------------------------------------------

idx=
if [ -f "$PK/index.mdb" ]; then
	idx=index.mdb
else
	idx=$(cd "$PK" && find . -name '*.mdb' ! -path './keys/*' ! -name '*lock*' | sed 's|^\./||' | head -n 1)
fi
if [ -n "$idx" ]; then
	pass "the data index is an LMDB file outside keys/"
	# shellcheck disable=SC2046
	sweep "index $idx byte flips" "$PK" "$idx" "$K_ID" "$W/k.png" $(offsets "$(fsize "$PK/$idx")")
	if [ "$SW_OTHER" -eq 0 ]; then
		pass "index byte flips: only exit 1 or the right answer"
	else
		fail "index byte flips: only exit 1 or the right answer" "other exit:$SW_OTHERS"
	fi
	# The bytes in use: LMDB zeroes what it does not use, so the non-zero
	# bytes are the meta pages, page headers, keys and records.
	# shellcheck disable=SC2046
	sweep "index $idx flips of bytes in use" "$PK" "$idx" "$K_ID" "$W/k.png" $($GEN nonzero "$PK/$idx" "$MAXUSE" 0)
	if [ "$SW_OTHER" -eq 0 ]; then
		pass "index flips of bytes in use: only exit 1 or the right answer"
	else
		fail "index flips of bytes in use: only exit 1 or the right answer" "other exit:$SW_OTHERS"
	fi
else
	fail "the data index is an LMDB file outside keys/" "$(cd "$PK" && find . -type f | tr '\n' ' ')"
fi

finish
