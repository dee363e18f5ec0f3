#!/usr/bin/env bash
# t99_tsan: the daemon under ThreadSanitizer, with 32 clients mixing every
# route for a minute, beside an embedded command on the same vault
# (docs/DESIGN.md "Locking": the two take DIR/lock, each change waits for
# the other's; nothing is refused and nothing corrupts).
#
# Runs only on a ThreadSanitizer build (COFFRE_TSAN=1, set by `make tsan`
# and by tests/run.sh's TSan step); elsewhere it is skipped.
#
#   1. `coffre serve` (every role to this uid; identity-card documents with
#      a retention class of 0 days, so the sweeps destroy what is reviewed)
#   2. tests/e2e/stress.py run: TSAN_CLIENTS (32) threads for TSAN_SECONDS
#      (60) seconds: seals (small, spilled to the encrypted spool file,
#      chunked), list, info, content, review, DELETE of documents, users
#      and archives, archives, contract end, hold/release, archive content
#      and list, audit, shred-report, audit verify, audit scan, check,
#      sweep, bundles, export; each answer checked (status, bytes)
#   3. meanwhile a loop of the embedded command on the same vault: list,
#      seal, info, audit verify; every run must exit 0; and a SIGHUP to
#      the daemon (grants reloaded) every 2 s
#   4. SIGTERM: exit 0, no ThreadSanitizer report
#   5. `coffre check` and `coffre audit verify` on the vault: clean
#   6. the daemon again, the same load, and SIGTERM after a quarter of
#      TSAN_SECONDS: exit 0, no report, every answer that came before the
#      stop as expected
#   7. the daemon a third time: every document that got a 201 in 2 or 6
#      and was not shredded opens byte for byte (and the shredded ones
#      answer 410), every archive and every embedded seal too, and a
#      sample through the embedded `open`; SIGTERM; no report; check and
#      audit verify again
#
# TSAN_OPTIONS: halt_on_error=1:second_deadlock_stack=1 and the
# suppressions of tests/tsan.supp, unless the caller sets TSAN_OPTIONS.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

if [ "${COFFRE_TSAN:-0}" != 1 ]; then
	skip "$E2E_SCRIPT" "not a ThreadSanitizer build (make tsan)"
	finish
fi

SECS=${TSAN_SECONDS:-60}
CLIENTS=${TSAN_CLIENTS:-32}
SUPP=$COFFRE_ROOT/tests/tsan.supp
if [ -z "${TSAN_OPTIONS:-}" ]; then
	TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
	[ -f "$SUPP" ] && TSAN_OPTIONS="$TSAN_OPTIONS:suppressions=$SUPP"
fi
export TSAN_OPTIONS
ME=$(id -u)
ROLES=(--allow "backend=uid:$ME" --allow "reviewer=uid:$ME"
	--allow "auditor=uid:$ME" --allow "admin=uid:$ME")
STRESS=("$PY" "$COFFRE_ROOT/tests/e2e/stress.py")

# tsan_clean NAME LOG: PASS if LOG holds no ThreadSanitizer report; else
# FAIL with the reports' first lines.
tsan_clean() {
	if grep -q 'ThreadSanitizer' "$2"; then
		fail "$1" "$(grep -c 'WARNING: ThreadSanitizer' "$2") report(s) in $2:" \
		    "$(grep -A60 -m3 'WARNING: ThreadSanitizer' "$2" | head -n 150)"
	else
		pass "$1"
	fi
}

V=$W/vault
SOCK=$W/s/coffre.sock
mkvault "$V" || finish
printf '# t99: identity cards go at the first sweep after a decision\n%s\n' \
    'retention.identity-card = 0' >>"$V/coffre.conf"

if ! start_daemon "$V" "$SOCK" "$W/daemon.log" "${ROLES[@]}"; then
	fail "the TSan daemon starts" "$(head -n 80 "$W/daemon.log")"
	finish
fi
pass "the TSan daemon starts"

# The embedded command, in a loop beside the daemon, until $W/stop.
for i in 1 2 3 4 5 6; do
	$GEN pdf "$W/emb$i.pdf" --text "embedded seal $i"
done
embedded_loop() {
	local i=0 id="" rc
	: >"$W/emb.fail"
	: >"$W/emb.ids"
	while [ ! -e "$W/stop" ]; do
		i=$((i + 1))
		case $((i % 4)) in
		0) set -- list --user emb ;;
		1) set -- seal --user emb --community c1 --kind diploma \
			    --name "emb$((i % 6 + 1)).pdf" "$W/emb$((i % 6 + 1)).pdf" ;;
		2) set -- info "${id:-AAAAAAAAAAAAAAAAAAAAAA}" ;;
		3) set -- audit verify ;;
		esac
		"$COFFRE_BIN" --dir "$V" "$@" </dev/null >"$W/emb.out" \
		    2>"$W/emb.err"
		rc=$?
		if [ "$rc" -ne 0 ] || grep -q ThreadSanitizer "$W/emb.err"; then
			{
				printf 'coffre %s: exit %d\n' "$*" "$rc"
				head -n 80 "$W/emb.err"
			} >>"$W/emb.fail"
		elif [ "$1" = seal ]; then
			id=$(cat "$W/emb.out")
			printf '%s %s\n' "$id" \
			    "$(sha256sum <"$W/emb$((i % 6 + 1)).pdf" | cut -d' ' -f1)" \
			    >>"$W/emb.ids"
		fi
		echo "$i" >"$W/emb.count"
	done
	touch "$W/emb.done"
}
embedded_loop &
bg_track $!

# SIGHUP (the grants reloaded while connections read them) every 2 s.
(
	while [ ! -e "$W/stop" ]; do
		sleep 2
		kill -HUP "$DPID" 2>/dev/null
	done
) &
bg_track $!

timeout -k 10 $((SECS + 600)) "${STRESS[@]}" run "$SOCK" "$W/state.json" \
    --seconds "$SECS" --clients "$CLIENTS" >"$W/stress.out" 2>&1
st=$?
touch "$W/stop"
sed 's/^/    /' "$W/stress.out" | grep -v '^    ERROR' | tail -n 40
if [ "$st" -eq 0 ]; then
	pass "$CLIENTS clients for ${SECS}s: every answer as expected"
else
	fail "$CLIENTS clients for ${SECS}s: every answer as expected" \
	    "exit $st" "$(grep -m 40 -E '^ERROR|Traceback|Error' "$W/stress.out")"
fi

tries=600
while [ ! -e "$W/emb.done" ] && [ "$tries" -gt 0 ]; do
	sleep 0.1
	tries=$((tries - 1))
done
runs=$(cat "$W/emb.count" 2>/dev/null || echo 0)
if [ -e "$W/emb.done" ] && [ ! -s "$W/emb.fail" ] && [ "$runs" -gt 0 ]; then
	pass "the embedded command beside the daemon: $runs runs, all exit 0, $(wc -l <"$W/emb.ids") seals"
else
	fail "the embedded command beside the daemon: $runs runs, all exit 0" \
	    "$(head -n 100 "$W/emb.fail" 2>/dev/null)"
fi

stop_daemon TERM
expect_eq "SIGTERM: the TSan daemon exits 0" 0 "$DSTATUS"
tsan_clean "no ThreadSanitizer report in the daemon" "$W/daemon.log"

expect_ok "coffre check after the run" -- c --dir "$V" check
[ "$STATUS" -eq 0 ] || sed 's/^/    /' "$OUT" "$ERR" | head -n 40
tsan_clean "check: no ThreadSanitizer report" "$ERR"
expect_ok "coffre audit verify after the run" -- c --dir "$V" audit verify
tsan_clean "audit verify: no ThreadSanitizer report" "$ERR"

# SIGTERM in the middle of the load: every request in flight ends (a seal
# acknowledged is durable), the daemon exits 0, and no report.
STOP_AT=$(((SECS + 3) / 4))
if start_daemon "$V" "$SOCK" "$W/daemon2.log" "${ROLES[@]}"; then
	# Its status through a file, not `wait` (see stop_pid in lib.sh).
	(
		timeout -k 10 $((SECS + 600)) "${STRESS[@]}" run "$SOCK" \
		    "$W/state2.json" --seconds $((STOP_AT * 3)) \
		    --clients "$CLIENTS" --sigterm --tag p2- \
		    >"$W/stress2.out" 2>&1
		echo $? >"$W/stress2.rc"
	) &
	bg_track $!
	sleep "$STOP_AT"
	stop_daemon TERM
	tries=$(((SECS + 620) * 10))
	while [ ! -s "$W/stress2.rc" ] && [ "$tries" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	st=$(cat "$W/stress2.rc" 2>/dev/null || echo none)
	sed 's/^/    /' "$W/stress2.out" | grep '^    stress:'
	if [ "$st" = 0 ]; then
		pass "SIGTERM under load: every answer that came as expected"
	else
		fail "SIGTERM under load: every answer that came as expected" \
		    "exit $st" "$(grep -m 40 -E '^ERROR|Traceback|Error' "$W/stress2.out")"
	fi
	expect_eq "SIGTERM under load: the TSan daemon exits 0" 0 "$DSTATUS"
	tsan_clean "SIGTERM under load: no ThreadSanitizer report" \
	    "$W/daemon2.log"
else
	fail "the TSan daemon starts again" "$(head -n 80 "$W/daemon2.log")"
fi

# Every document again, through a daemon started afresh on the vault.
if start_daemon "$V" "$SOCK" "$W/daemon3.log" "${ROLES[@]}"; then
	timeout -k 10 600 "${STRESS[@]}" verify "$SOCK" "$W/state.json" \
	    --embedded "$W/emb.ids" --bin "$COFFRE_BIN" --dir "$V" \
	    --sample 20 >"$W/verify.out" 2>&1
	st=$?
	if [ -s "$W/state2.json" ]; then
		timeout -k 10 600 "${STRESS[@]}" verify "$SOCK" "$W/state2.json" \
		    >>"$W/verify.out" 2>&1 || st=1
	else
		st=1
		echo "no $W/state2.json" >>"$W/verify.out"
	fi
	sed 's/^/    /' "$W/verify.out" | grep -v '^    ERROR' | tail -n 5
	if [ "$st" -eq 0 ]; then
		pass "every sealed document opens byte for byte, every shredded one is gone"
	else
		fail "every sealed document opens byte for byte, every shredded one is gone" \
		    "exit $st" "$(grep -m 40 -E '^ERROR|Traceback|Error|^no ' "$W/verify.out")"
	fi
	stop_daemon TERM
	expect_eq "SIGTERM after the verification: exit 0" 0 "$DSTATUS"
	tsan_clean "no ThreadSanitizer report in the third daemon" \
	    "$W/daemon3.log"
else
	fail "the TSan daemon starts a third time" "$(head -n 80 "$W/daemon3.log")"
fi
expect_ok "coffre check at the end" -- c --dir "$V" check
expect_ok "coffre audit verify at the end" -- c --dir "$V" audit verify

finish
