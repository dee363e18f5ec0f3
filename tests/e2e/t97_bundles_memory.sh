#!/usr/bin/env bash
# t97_bundles_memory: bundles stream both ways in bounded memory (issue 7).
# A 1 GiB tar of 32 PDFs of 32 MiB (less 1 KiB) is imported, then exported
# back as a tar, each under /usr/bin/time: the peak resident size of each
# stays under 64 MiB.  Two documents are compared byte for byte after the
# export, and the export holds all 32.  Under the sanitizers the memory is
# not the program's own (shadow, quarantine): the bound is skipped and 4
# documents will do.  Needs 5 GB free; the big files go as soon as done.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

BP="$PY $COFFRE_ROOT/tests/e2e/bundle.py"
V=$W/vault
need_sample sample.pdf || { finish; exit; }

free_kb=$(df -Pk "$W" | awk 'NR == 2 { print $4 }')
if [ -z "$free_kb" ] || [ "$free_kb" -lt $((5 * 1000 * 1000)) ]; then
	skip "$E2E_SCRIPT" "needs 5 GB free under $W, has ${free_kb:-?} KiB"
	finish
fi
if [ ! -x /usr/bin/time ]; then
	fail "/usr/bin/time is installed (scripts/deps.sh: time)"
	finish
fi
mkvault "$V" || { finish; exit; }

if [ "$COFFRE_SANITIZED" = 1 ]; then N=4; else N=32; fi
SIZE=$((32 * 1024 * 1024 - 1024))
BIG=$W/big.tar
EXP=$W/export.tar
trap '_e2e_cleanup; rm -f "$BIG" "$EXP"' EXIT

# rss_ok NAME KIB: the bound (skipped under sanitizers, with the figure).
rss_ok() {
	if [ -z "$2" ]; then
		fail "$1" "no measure from /usr/bin/time"
	elif [ "$COFFRE_SANITIZED" = 1 ]; then
		skip "$1" "sanitizer build: max RSS $2 KiB"
	elif [ "$2" -lt $((64 * 1024)) ]; then
		pass "$1 ($2 KiB)"
	else
		fail "$1" "max RSS $2 KiB"
	fi
}
ms() { echo $(($(date +%s%N) / 1000000)); }

t0=$(ms)
if $BP bigtar "$BIG" "$N" "$SIZE" "$SAMPLE" >/dev/null 2>"$W/gen.err"; then
	pass "a tar of $N PDFs of 32 MiB - 1 KiB, written as a stream ($(($(ms) - t0)) ms)"
else
	fail "a tar of $N PDFs of 32 MiB - 1 KiB, written as a stream" "$(head -c 300 "$W/gen.err")"
	finish
fi

t0=$(ms)
run /usr/bin/time -f %M -o "$W/rss.import" "$COFFRE_BIN" --dir "$V" --json import \
    --user big --community c97 "$BIG"
t1=$(ms)
rm -f "$BIG"
t_rc 0 "import of the tar ($N documents): exit 0 ($((t1 - t0)) ms)"
check "import: $N documents sealed, none rejected" test "$(jv "$OUT" \
    "len(d['sealed']) == $N and d['rejected'] == [] and all(x['size'] == $SIZE and x['type'] == 'application/pdf' for x in d['sealed'])")" = true
rss_ok "import: max RSS < 64 MiB" "$(tail -n 1 "$W/rss.import")"
check "the vault lists $N documents" test "$(count_docs "$V")" = "$N"

t0=$(ms)
run /usr/bin/time -f %M -o "$W/rss.export" "$COFFRE_BIN" --dir "$V" export \
    --user big -o "$EXP"
t1=$(ms)
t_rc 0 "export to .tar: exit 0 ($((t1 - t0)) ms)"
rss_ok "export: max RSS < 64 MiB" "$(tail -n 1 "$W/rss.export")"
# shellcheck disable=SC2046 # two numbers
if msg=$($BP bigcheck "$EXP" "$N" "$SIZE" "$SAMPLE" 1 "$N" 2>&1); then
	pass "export: $N documents; big-1.pdf and big-$N.pdf byte for byte, their hashes right"
else
	fail "export: $N documents; big-1.pdf and big-$N.pdf byte for byte, their hashes right" "$msg"
fi
rm -f "$EXP"

run c --dir "$V" audit verify
t_rc 0 "audit verify after it"
rm -rf "$V"
finish
