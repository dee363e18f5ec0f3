# shellcheck shell=bash
# coffre_helpers.bash: helpers shared by the tNN_*.sh scenarios, sourced
# after lib.sh (which gives pass, fail, expect_exit, new_vault, finish).
#
# run CMD...        lib.sh's run_cmd: stdin from /dev/null; stdout in $OUT,
#                   stderr in $ERR, exit status in $STATUS (run_in FILE CMD
#                   of lib.sh: the same with stdin from FILE)
# run_at DIR CMD... run in directory DIR
# t_rc CODE NAME    PASS if the last run exited CODE and did not crash
# t_err CODE NAME   ... and stdout is empty and stderr starts "coffre: "
# check NAME CMD... PASS if CMD succeeds (its stdout is dropped)
# mkvault DIR       creates a vault (init), fails the scenario if it cannot
# sealid DIR ARGS.. seals, prints the id on success
#
# A run "crashed" if it died of a signal (exit >= 128), or a sanitizer
# wrote a report (exit SANITIZER_EXIT, or a report on stderr): that is
# always a failure, whatever exit status was expected.
#
# The vault is given by --dir in every call (lib.sh unsets COFFRE_DIR,
# COFFRE_SOCKET and COFFRE_PASSPHRASE_FILE).

# Python 3 (the system's own starts fastest; a shim on PATH may be slow).
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
GEN="$PY $COFFRE_ROOT/tests/e2e/gen.py"
W=$TMPDIR_E2E

# c ARGS...: the binary under test, with no implicit vault.
c() { "$COFFRE_BIN" "$@"; }

run() { run_cmd "$@"; }

crashed() {
	[ "$STATUS" -ge 128 ] && return 0
	[ "$STATUS" -eq "${SANITIZER_EXIT:-99}" ] && return 0
	grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|MemorySanitizer|runtime error:' "$ERR" 2>/dev/null
}

# why: a one-line summary of the last run, for failure details.
why() {
	local e
	e=$(head -c 400 "$ERR" 2>/dev/null | tr '\n\t' '| ')
	printf 'exit %s; stderr: %s' "$STATUS" "$e"
}

t_rc() {
	local code=$1 name=$2
	if crashed; then
		fail "$name" "crashed: $(why)"
	elif [ "$STATUS" -eq "$code" ]; then
		pass "$name"
	else
		fail "$name" "want exit $code; $(why)"
	fi
}

t_err() {
	local code=$1 name=$2 first
	first=$(head -n 1 "$ERR" 2>/dev/null)
	if crashed; then
		fail "$name" "crashed: $(why)"
	elif [ "$STATUS" -ne "$code" ]; then
		fail "$name" "want exit $code; $(why)"
	elif [ -s "$OUT" ]; then
		fail "$name" "stdout not empty on error: $(head -c 200 "$OUT" | tr '\n' '|')"
	elif [ "${first#coffre: }" = "$first" ]; then
		fail "$name" "stderr does not start with 'coffre: ': $(why)"
	else
		pass "$name"
	fi
}

check() {
	local name=$1
	shift
	if "$@" >/dev/null; then
		pass "$name"
	else
		fail "$name" "check failed: $*"
	fi
}

mkvault() {
	if ! c --dir "$1" init >/dev/null 2>"$W/.init.err"; then
		fail "create vault $1" "$(head -c 300 "$W/.init.err")"
		return 1
	fi
}

sealid() {
	local d=$1
	shift
	c --dir "$d" seal "$@" 2>"$W/.seal.err" </dev/null
}

# count_docs DIR: the number of documents list --json gives, or -1.
count_docs() {
	if c --dir "$1" --json list >"$W/.list.json" 2>/dev/null </dev/null; then
		$GEN json "$W/.list.json" 'len(d["documents"])' 2>/dev/null || echo -1
	else
		echo -1
	fi
}

# fsize FILE: its size in bytes.
fsize() { stat -c %s "$1"; }

# jv FILE EXPR: evaluate a Python expression over the JSON in FILE (as d).
jv() { $GEN json "$@"; }

# The vault's segment files, one per line.
segments() { find "$1/segments" -type f -name '*.seg' 2>/dev/null | sort; }

# need_sample NAME: sets SAMPLE to samples/NAME; a missing one is a failure.
need_sample() {
	# shellcheck disable=SC2153 # SAMPLES comes from lib.sh
	SAMPLE=$SAMPLES/$1
	[ -s "$SAMPLE" ] && return 0
	fail "samples/$1 exists" "missing: $SAMPLE"
	return 1
}

# check_re NAME VALUE REGEX: PASS if VALUE matches the extended REGEX.
check_re() {
	if [[ $2 =~ $3 ]]; then
		pass "$1"
	else
		fail "$1" "'$2' does not match $3"
	fi
}

# run_at DIR CMD...: run_cmd in directory DIR.
run_at() {
	local d=$1
	shift
	(cd "$d" && "$@") </dev/null >"$OUT" 2>"$ERR"
	STATUS=$?
}

# ---- the daemon (t90_serve, t91_roles) ------------------------------------
#
# start_bg LOG CMD...    start CMD in the background, stdin /dev/null, stdout
#                        and stderr to LOG; sets DPID (its pid) and DRC (a
#                        file that will hold its exit status once it ended)
# start_daemon DIR SOCK LOG [SERVE ARGS...]
#                        start_bg of `coffre --dir DIR serve --socket SOCK
#                        ARGS...`, then wait_answer SOCK; returns 1 if it
#                        does not answer
# wait_answer SOCK [SECONDS]
#                        wait (default 20 s) until an HTTP request on SOCK
#                        gets any answer; 1 if none came or DPID ended
# stop_daemon [SIGNAL]   send SIGNAL (default TERM) to DPID and wait up to
#                        30 s for it to end; DSTATUS is its exit status
#                        ("none" if it had to be killed)
# daemon_ended           true once DPID has ended (DSTATUS set)
# http METHOD PATH [CURL ARGS...]
#                        one request on $SOCK (curl); HS is the status (000
#                        if no answer), HRC curl's exit status, HB the file
#                        with the body.  $HTTP_AS (words, e.g. "setpriv
#                        --reuid=1000 ...") runs curl through that command.
# err_shape FILE [CODE]  FILE is {"error":{"code":..,"message":..}} (and
#                        the code is CODE)

start_bg() {
	local log=$1 pidf
	shift
	_D_SEQ=$((${_D_SEQ:-0} + 1))
	DRC=$W/.bg$_D_SEQ.rc
	pidf=$W/.bg$_D_SEQ.pid
	rm -f "$DRC" "$pidf"
	DSTATUS=
	# A subshell of its own waits for it: `wait` in the script's shell can
	# hang after a process substitution (see stop_pid in lib.sh).
	(
		"$@" </dev/null >"$log" 2>&1 &
		echo $! >"$pidf.tmp"
		mv "$pidf.tmp" "$pidf"
		wait $!
		echo $? >"$DRC.tmp"
		mv "$DRC.tmp" "$DRC"
	) &
	while [ ! -s "$pidf" ]; do sleep 0.02; done
	DPID=$(cat "$pidf")
	bg_track "$DPID"
}

daemon_ended() {
	[ -s "$DRC" ] || return 1
	DSTATUS=$(cat "$DRC")
	return 0
}

wait_answer() {
	local sock=$1 tries=$((${2:-20} * 10))
	while [ "$tries" -gt 0 ]; do
		curl -s --max-time 5 --unix-socket "$sock" -o /dev/null \
		    http://localhost/v1/health 2>/dev/null && return 0
		daemon_ended && return 1
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

start_daemon() {
	local dir=$1 sock=$2 log=$3
	shift 3
	start_bg "$log" "$COFFRE_BIN" --dir "$dir" serve --socket "$sock" "$@"
	wait_answer "$sock"
}

stop_daemon() {
	local tries=300
	kill -"${1:-TERM}" "$DPID" 2>/dev/null
	while ! daemon_ended; do
		if [ "$tries" -eq 0 ]; then
			kill -KILL "$DPID" 2>/dev/null
			# shellcheck disable=SC2034 # for the scenarios
			DSTATUS=none
			return 1
		fi
		sleep 0.1
		tries=$((tries - 1))
	done
	return 0
}

# shellcheck disable=SC2034,SC2153 # HRC for the scenarios; SOCK theirs
http() {
	local m=$1 p=$2
	shift 2
	HB=$W/.http.body
	# shellcheck disable=SC2086 # HTTP_AS is words
	HS=$(${HTTP_AS:-} curl -s --max-time 30 --unix-socket "$SOCK" -X "$m" \
	    -w '%{stderr}%{http_code}' "$@" "http://localhost$p" \
	    2>&1 >"$HB")
	HRC=$?
	[ -n "$HS" ] || HS=000
}

err_shape() {
	"$PY" - "$1" "${2:-}" <<'PYEOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    e = d["error"]
    ok = (list(d) == ["error"] and sorted(e) == ["code", "message"] and
          isinstance(e["code"], str) and isinstance(e["message"], str) and
          e["message"] != "" and (sys.argv[2] in ("", e["code"])))
except Exception:
    ok = False
sys.exit(0 if ok else 1)
PYEOF
}
