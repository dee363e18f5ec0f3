#!/usr/bin/env bash
# t63_map_growth: LMDB maps that fill up grow, between processes too
# (issue 8; keys/lmdbgrow.h).  A vault whose maps start at 1 MiB
# (map_size in coffre.conf) takes 2,000 documents from one import while a
# daemon that opened it at 1 MiB runs; the daemon then lists and opens
# them (it adopts the map the import grew), seals more, and the command
# shreds the user in one transaction that fills the index's map.  Nothing
# is lost: check is clean, the log verifies.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

V=$W/vault
SOCK=$W/run/s.sock
mkvault "$V" || { finish; exit; }
need_sample sample.pdf || { finish; exit; }
printf 'map_size = 1048576\nmax_bundle_entries = 5000\n' >"$V/coffre.conf"

if ! start_daemon "$V" "$SOCK" "$W/daemon.log" --allow backend=uid:0; then
	fail "daemon starts" "$(head -c 400 "$W/daemon.log")"
	finish
	exit
fi
pass "the daemon starts on a vault whose maps are 1 MiB"

N=2000
$PY "$COFFRE_ROOT/tests/e2e/bundle.py" bigtar "$W/b.tar" "$N" 1200 "$SAMPLE" >/dev/null
run c --dir "$V" import --user many --community c1 "$W/b.tar"
check "an import of $N documents goes through ($STATUS: $(head -c 300 "$ERR"))" \
    test "$STATUS" = 0
check "and seals every one" test "$(grep -c . "$OUT")" -ge "$N"
isz=$(fsize "$V/index.mdb")
check "index.mdb grew past its first map of 1 MiB ($isz bytes)" \
    test "$isz" -gt 1048576

# The daemon had the map at 1 MiB: it adopts the larger one.
http GET "/v1/documents?user=many&limit=1000"
check "the daemon lists them (HTTP $HS)" test "$HS" = 200
first=$(jv "$HB" 'd["documents"][0]["id"]' 2>/dev/null)
last=$(c --dir "$V" list --user many | tail -n 1 | cut -f1)
http GET "/v1/documents/$last/content"
check "and opens the last one (HTTP $HS)" test "$HS" = 200
pids=()
for i in $(seq 1 40); do
	{
		cat "$SAMPLE"
		head -c 2000 /dev/urandom
	} >"$W/p$i.pdf"
	curl -s --unix-socket "$SOCK" --data-binary @"$W/p$i.pdf" -o /dev/null \
	    -w '%{http_code}\n' \
	    'http://localhost/v1/documents?user=other&community=c1' >"$W/code$i" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
cat "$W"/code* >"$W/codes"
check "40 concurrent seals through the daemon: all 201" \
    test "$(grep -c '^201$' "$W/codes")" = 40

# One transaction marks 2,000 records: the index's map fills and grows.
run c --dir "$V" shred --user many
check "the shred of $N documents goes through ($STATUS: $(head -c 300 "$ERR"))" \
    test "$STATUS" = 0
check_re "and counts them" "$(cat "$OUT")" "shredded $N documents"
http GET "/v1/documents/$first"
check "the daemon sees them shredded (HTTP $HS)" \
    test "$(jv "$HB" 'd["status"]' 2>/dev/null)" = shredded
run c --dir "$V" check
check "check is clean ($(tail -n 1 "$OUT"))" test "$STATUS" = 0
run c --dir "$V" audit verify
check "the audit log verifies" test "$STATUS" = 0
check "other's 40 documents are all listed" \
    test "$(c --dir "$V" list --user other | wc -l)" = 40
stop_daemon
check "the daemon stops cleanly (status $DSTATUS)" test "$DSTATUS" = 0
finish
