#!/usr/bin/env bash
# t50_large: a large document streams through seal and open in bounded
# memory (peak resident set under 32 MiB), from stdin and from a file, and
# comes back byte for byte; the default size limit is 32 MiB.
# Issue 2 (1 GiB stream, 32 MiB RSS); SPEC.md section 5 (default limit).
#
# COFFRE_E2E_LARGE_MB sets the size in MiB (default 1024; 64 when
# COFFRE_SANITIZED=1, where the memory limit is not checked: the
# sanitizers' shadow memory is not the program's).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

if [ "${COFFRE_SANITIZED:-0}" = 1 ]; then
	MB=${COFFRE_E2E_LARGE_MB:-64}
	CHECK_RSS=0
else
	MB=${COFFRE_E2E_LARGE_MB:-1024}
	CHECK_RSS=1
fi
BYTES=$((MB * 1048576))
RSS_LIMIT_KB=32768
TIME=/usr/bin/time

V=$W/vault
mkvault "$V" || { finish; exit; }
printf 'max_document_bytes = 2000000000\n' >"$V/coffre.conf"
$GEN png "$W/head.png" --text "t50-$$"

# The stream: a PNG, then pseudo-random bytes, BYTES in all.  The type is
# detected from its beginning.
gen() { $GEN stream "$BYTES" "t50-$1" --head "$W/head.png"; }
# (Its first MiB, which is the first MiB of every stream of that seed.)
check "the stream is detected as image/png" test \
	"$($GEN stream 1048576 t50-stdin --head "$W/head.png" | file -b --mime-type -)" = image/png

# Room for the sealed copy, an input file and an output file at once.
need_kb=$((BYTES * 3 / 1024 + 102400))
have_kb=$(df -Pk "$W" | awk 'NR == 2 { print $4 }')
if [ "$have_kb" -lt "$need_kb" ]; then
	fail "free space for the $MB MiB test" "need ${need_kb} KiB under $W, have ${have_kb} KiB"
	finish
	exit
fi
if [ ! -x "$TIME" ]; then
	fail "$TIME exists (package time)" "install the Debian package time"
	finish
	exit
fi

# rss_check LABEL FILE: FILE holds /usr/bin/time's %M (KiB).
rss_check() {
	local kb
	kb=$(tail -n 1 "$2" 2>/dev/null)
	echo "NOTE: $1: peak RSS ${kb:-?} KiB"
	[ "$CHECK_RSS" = 1 ] || return 0
	if [[ $kb =~ ^[0-9]+$ ]] && [ "$kb" -lt "$RSS_LIMIT_KB" ]; then
		pass "$1: peak RSS under 32 MiB (${kb} KiB)"
	else
		fail "$1: peak RSS under 32 MiB" "${kb:-no figure} KiB"
	fi
}

# open_check LABEL ID SHA: open ID to a pipe, compare the sha256, measure RSS.
open_check() {
	local label=$1 id=$2 want=$3 got t0 t1
	t0=$(date +%s.%N)
	got=$($TIME -f %M -o "$W/rss.open" "$COFFRE_BIN" --dir "$V" open "$id" 2>"$ERR" </dev/null | sha256sum | cut -d' ' -f1)
	STATUS=${PIPESTATUS[0]}
	t1=$(date +%s.%N)
	echo "NOTE: $label: open of $MB MiB took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
	t_rc 0 "$label: open exits 0"
	check "$label: open's output has the sha256 of the input" test "$got" = "$want"
	rss_check "$label: open" "$W/rss.open"
}

# --- from stdin (a pipe: the size is not known in advance) ---------------------

want=$(gen stdin | sha256sum | cut -d' ' -f1)
t0=$(date +%s.%N)
gen stdin | $TIME -f %M -o "$W/rss.seal" "$COFFRE_BIN" --dir "$V" --json seal --user u1 --community c1 - >"$OUT" 2>"$ERR"
STATUS=${PIPESTATUS[1]}
t1=$(date +%s.%N)
echo "NOTE: seal of $MB MiB from stdin took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
t_rc 0 "$MB MiB from stdin: seal exits 0"
check "$MB MiB from stdin: seal --json gives type image/png and size $BYTES" \
	jv "$OUT" 'd["type"] == "image/png" and d["size"] == '"$BYTES"
sid=$(jv "$OUT" 'd["id"]' 2>/dev/null)
rss_check "$MB MiB from stdin: seal" "$W/rss.seal"
open_check "$MB MiB from stdin" "$sid" "$want"

# Bounded disk: this document is no longer needed.
rm -rf "$V"
mkvault "$V"
printf 'max_document_bytes = 2000000000\n' >"$V/coffre.conf"

# --- from a file -------------------------------------------------------------------

gen file >"$W/big.png"
want=$(sha256sum "$W/big.png" | cut -d' ' -f1)
$TIME -f %M -o "$W/rss.seal" "$COFFRE_BIN" --dir "$V" seal --user u1 --community c1 "$W/big.png" >"$OUT" 2>"$ERR" </dev/null
STATUS=$?
t_rc 0 "$MB MiB from a file: seal exits 0"
fid=$(cat "$OUT")
rss_check "$MB MiB from a file: seal" "$W/rss.seal"
rm -f "$W/big.png"
open_check "$MB MiB from a file" "$fid" "$want"

rm -f "$W/big.out"
$TIME -f %M -o "$W/rss.open" "$COFFRE_BIN" --dir "$V" open "$fid" -o "$W/big.out" 2>"$ERR" </dev/null
STATUS=$?
t_rc 0 "$MB MiB from a file: open -o exits 0"
check "$MB MiB from a file: open -o FILE has the sha256 of the input" \
	test "$(sha256sum "$W/big.out" 2>/dev/null | cut -d' ' -f1)" = "$want"
rss_check "$MB MiB from a file: open -o" "$W/rss.open"
rm -f "$W/big.out"
rm -rf "$V"

# --- the default limit: 32 MiB --------------------------------------------------------

VD=$W/vault-default
mkvault "$VD"
LIMIT=33554432
$GEN stream "$LIMIT" t50-limit --head "$W/head.png" >"$W/at-limit.png"
run c --dir "$VD" seal --user u1 --community c1 "$W/at-limit.png"
t_rc 0 "default limit: a document of exactly 32 MiB is sealed"
printf 'x' >>"$W/at-limit.png"
run c --dir "$VD" seal --user u1 --community c1 "$W/at-limit.png"
t_err 5 "default limit: 32 MiB + 1 byte from a file exits 5"
run_in "$W/at-limit.png" c --dir "$VD" seal --user u1 --community c1 -
t_err 5 "default limit: 32 MiB + 1 byte from stdin exits 5"
# shellcheck disable=SC2002 # a pipe on purpose: its size is not known
cat "$W/at-limit.png" | c --dir "$VD" seal --user u1 --community c1 - >"$OUT" 2>"$ERR"
STATUS=${PIPESTATUS[1]}
t_err 5 "default limit: 32 MiB + 1 byte from a pipe exits 5"
rm -f "$W/at-limit.png"
check "default limit: only the document within the limit is listed" test "$(count_docs "$VD")" = 1
rm -rf "$VD"

finish
