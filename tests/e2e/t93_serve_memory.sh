#!/usr/bin/env bash
# t93_serve_memory: bodies stream both ways in constant memory.  A 32 MiB
# upload and its download grow the daemon's resident memory by less than
# 4 MiB, and four at once by less than 4 MiB each (issue 6).  The figure is
# the peak (VmHWM) after the transfers against the resident size (VmRSS)
# before them, after a warm-up seal.  Under the sanitizers memory is not
# the program's own (shadow, quarantine): the transfers are checked, the
# bound is skipped.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

V=$W/vault
S=$W/run/s.sock
mkvault "$V" || { finish; exit; }
need_sample sample.pdf || { finish; exit; }
# A PDF of 32 MiB less a little (the limit is 32 MiB), and three more.
for i in 1 2 3 4; do
	{
		cat "$SAMPLE"
		head -c $((32 * 1024 * 1024 - 4096)) /dev/urandom
	} >"$W/big$i.pdf"
done

if ! start_daemon "$V" "$S" "$W/daemon.log" --allow backend=uid:0; then
	fail "daemon starts" "$(head -c 400 "$W/daemon.log")"
	finish
	exit
fi
pass "daemon starts"

kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DPID/status"; }
post() {
	curl -s --unix-socket "$S" --data-binary @"$1" -o "$2" -w '%{http_code}' \
	    'http://localhost/v1/documents?user=u1&community=c1'
}

# Warm-up: the first seal loads libmagic and the key tree's pages.
post "$SAMPLE" "$W/w1.json" >/dev/null
post "$SAMPLE" "$W/w2.json" >/dev/null
base=$(kb VmRSS)

code=$(post "$W/big1.pdf" "$W/b1.json")
check "a 32 MiB upload is sealed (201)" test "$code" = 201
id=$(jv "$W/b1.json" 'd["id"]' 2>/dev/null)
curl -s --unix-socket "$S" -o "$W/back1.pdf" "http://localhost/v1/documents/$id/content"
check "and reads back byte for byte" cmp -s "$W/big1.pdf" "$W/back1.pdf"
one=$(($(kb VmHWM) - base))
if [ "$COFFRE_SANITIZED" = 1 ]; then
	skip "one 32 MiB upload and download grow the daemon by < 4 MiB" \
	    "sanitizer build: grew by $one KiB"
else
	check "one 32 MiB upload and download grow the daemon by < 4 MiB ($one KiB)" \
	    test "$one" -lt 4096
fi

# Four at once, each way (wait for these only: the daemon is a job too).
base=$(kb VmRSS)
pids=()
for i in 1 2 3 4; do
	post "$W/big$i.pdf" "$W/c$i.json" >"$W/c$i.code" &
	pids+=($!)
done
wait "${pids[@]}"
pids=()
good=0
for i in 1 2 3 4; do [ "$(cat "$W/c$i.code")" = 201 ] && good=$((good + 1)); done
check "four 32 MiB uploads at once are sealed" test "$good" = 4
for i in 1 2 3 4; do
	id=$(jv "$W/c$i.json" 'd["id"]' 2>/dev/null)
	curl -s --unix-socket "$S" -o "$W/back$i.pdf" \
	    "http://localhost/v1/documents/$id/content" &
	pids+=($!)
done
wait "${pids[@]}"
good=0
for i in 1 2 3 4; do cmp -s "$W/big$i.pdf" "$W/back$i.pdf" && good=$((good + 1)); done
check "four 32 MiB downloads at once give the bytes" test "$good" = 4
four=$(($(kb VmHWM) - base))
if [ "$COFFRE_SANITIZED" = 1 ]; then
	skip "four at once grow the daemon by < 16 MiB" "sanitizer build: grew by $four KiB"
else
	check "four at once grow the daemon by < 4 MiB each ($four KiB)" \
	    test "$four" -lt $((4 * 4096))
fi
stop_daemon
check "daemon exits 0" test "$DSTATUS" = 0
finish
