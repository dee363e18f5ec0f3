# shellcheck shell=bash
#
# lib.sh: helpers for the end-to-end scenarios tests/e2e/t*.sh.  A scenario
# is a bash script that sources this file, runs commands through the
# helpers below, and ends with `finish`:
#
#	#!/usr/bin/env bash
#	# t10-seal-open: seal a PDF, read it back, and tamper with it.
#	. "$(dirname "$0")/lib.sh"
#	new_vault
#	expect_ok "seal pdf" -- coffre seal --user u1 --community c1 "$SAMPLES/sample.pdf"
#	doc=$(cat "$OUT")
#	expect_ok "open pdf" -- coffre open "$doc" -o "$TMPDIR_E2E/out.pdf"
#	expect_same "open gives the sealed bytes" "$SAMPLES/sample.pdf" "$TMPDIR_E2E/out.pdf"
#	expect_exit 3 "unknown document" -- coffre info AAAAAAAAAAAAAAAAAAAAAA
#	finish
#
# Each check prints exactly one line `PASS: NAME` or `FAIL: NAME`, and on
# failure a few indented lines of detail; tests/run.sh counts those lines.
# Names should be unique within a script; the runner shows failures as
# SCRIPT: NAME.
#
# The runner sets:
#   COFFRE_BIN        absolute path of the coffre binary under test
#   TMPDIR_E2E        a fresh empty directory, removed after the script
#   COFFRE_ROOT       the repository (default: two levels above this file)
#   COFFRE_FAULTS     1 if COFFRE_BIN has the fault points of keys/fault.h
#                     (COFFRE_CRASH_AT=NAME makes it _exit(86) there)
#   COFFRE_SANITIZED  1 if COFFRE_BIN runs under ASan/UBSan; a sanitizer
#                     report then makes it exit with SANITIZER_EXIT (99)
#
# After each run_cmd / expect_* the globals are:
#   STATUS  the exit status;  OUT, ERR  files with its stdout and stderr.
#
# Scripts should not use `set -e` (a failing check must not stop the
# scenario); `set -u` is fine.

: "${COFFRE_BIN:?COFFRE_BIN must name the coffre binary (run tests/run.sh)}"
: "${TMPDIR_E2E:?TMPDIR_E2E must name a scratch directory (run tests/run.sh)}"
COFFRE_ROOT=${COFFRE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
COFFRE_FAULTS=${COFFRE_FAULTS:-0}
COFFRE_SANITIZED=${COFFRE_SANITIZED:-0}
# shellcheck disable=SC2034 # for the scenarios
SAMPLES=$COFFRE_ROOT/samples
SANITIZER_EXIT=99
E2E_SCRIPT=$(basename "$0" .sh)

# The vault of new_vault, for `coffre`.
VAULT=
STATUS=0
OUT=$TMPDIR_E2E/.e2e-out
ERR=$TMPDIR_E2E/.e2e-err
: >"$OUT"
: >"$ERR"

_E2E_PASSED=0
_E2E_FAILED=0
_E2E_PIDS=()
_E2E_SEQ=0

# Keep the environment from choosing another vault or daemon.
unset COFFRE_DIR COFFRE_SOCKET COFFRE_PASSPHRASE_FILE

# pass NAME
pass() {
	_E2E_PASSED=$((_E2E_PASSED + 1))
	printf 'PASS: %s\n' "$1"
}

# fail NAME [DETAIL...]: each DETAIL line is printed indented.
fail() {
	local name=$1
	shift
	_E2E_FAILED=$((_E2E_FAILED + 1))
	printf 'FAIL: %s\n' "$name"
	# Detail lines, indented; no pipeline here (see stop_pid).
	local line
	while IFS= read -r line; do
		printf '    | %s\n' "$line"
	done < <([ $# -gt 0 ] && printf '%s\n' "$@")
}

# skip NAME REASON: not counted; for checks that need what this run lacks.
skip() {
	printf 'SKIP: %s (%s)\n' "$1" "${2:-}"
}

# coffre ARGS...: the binary under test on the vault of new_vault (or with
# no --dir before new_vault has run).
coffre() {
	if [ -n "$VAULT" ]; then
		"$COFFRE_BIN" --dir "$VAULT" "$@"
	else
		"$COFFRE_BIN" "$@"
	fi
}

# run_cmd CMD ARGS...: run it, stdin from /dev/null, setting STATUS, OUT, ERR.
# Never fails itself.
run_cmd() {
	"$@" </dev/null >"$OUT" 2>"$ERR"
	STATUS=$?
	return 0
}

# run_in INPUT CMD ARGS...: the same with the file INPUT as stdin.
run_in() {
	local input=$1
	shift
	"$@" <"$input" >"$OUT" 2>"$ERR"
	STATUS=$?
	return 0
}

# _e2e_detail: what to show of the last command when a check fails.
_e2e_detail() {
	local what
	what=$(printf '%q ' "$@")
	printf 'command: %s\n' "${what% }"
	printf 'exit status: %s' "$STATUS"
	if [ "$STATUS" -eq "$SANITIZER_EXIT" ]; then
		printf ' (a sanitizer report: see the runner'"'"'s output)'
	elif [ "$STATUS" -ge 128 ]; then
		printf ' (killed by signal %s)' "$((STATUS - 128))"
	fi
	printf '\n'
	if [ -s "$ERR" ]; then
		printf 'stderr:\n'
		head -n 20 "$ERR"
	fi
	if [ -s "$OUT" ] && [ "${_E2E_SHOW_OUT:-1}" = 1 ]; then
		printf 'stdout:\n'
		head -c 2000 "$OUT" | head -n 10 | cat -v
	fi
}

# _e2e_split CALLER N ARGS...: skips the N leading ARGS, which must be
# followed by "--"; sets _e2e_cmd to the words after it.
_e2e_split() {
	local caller=$1 n=$2
	shift 2
	shift "$n"
	if [ "${1:-}" != "--" ] || [ $# -lt 2 ]; then
		echo "lib.sh: $caller: expected $n arguments, --, and a command" >&2
		exit 2
	fi
	shift
	_e2e_cmd=("$@")
}

# expect_exit CODE NAME -- CMD ARGS...: the command exits with CODE.
expect_exit() {
	local code=$1 name=$2
	_e2e_split expect_exit 2 "$@"
	run_cmd "${_e2e_cmd[@]}"
	if [ "$STATUS" -eq "$code" ]; then
		pass "$name"
	else
		fail "$name" "expected exit status $code" \
		    "$(_e2e_detail "${_e2e_cmd[@]}")"
	fi
}

# expect_ok NAME -- CMD ARGS...: the command exits 0.
expect_ok() {
	expect_exit 0 "$@"
}

# expect_out NAME EXPECTED -- CMD ARGS...: exit 0 and stdout is EXPECTED
# (compared as $(...) would: trailing newlines dropped).
expect_out() {
	local name=$1 expected=$2 got
	_e2e_split expect_out 2 "$@"
	run_cmd "${_e2e_cmd[@]}"
	got=$(cat "$OUT")
	if [ "$STATUS" -eq 0 ] && [ "$got" = "$expected" ]; then
		pass "$name"
	else
		fail "$name" "expected exit status 0 and stdout:" "$expected" \
		    "$(_e2e_detail "${_e2e_cmd[@]}")"
	fi
}

# expect_out_match NAME REGEX -- CMD ARGS...: exit 0 and some line of stdout
# matches the extended regular expression REGEX.
expect_out_match() {
	local name=$1 re=$2
	_e2e_split expect_out_match 2 "$@"
	run_cmd "${_e2e_cmd[@]}"
	if [ "$STATUS" -eq 0 ] && grep -Eq -- "$re" "$OUT"; then
		pass "$name"
	else
		fail "$name" "expected exit status 0 and stdout matching: $re" \
		    "$(_e2e_detail "${_e2e_cmd[@]}")"
	fi
}

# expect_err CODE NAME REGEX -- CMD ARGS...: exit CODE, nothing on stdout,
# stderr starting with "coffre: ", and some line of it matching REGEX.
expect_err() {
	local code=$1 name=$2 re=$3
	_e2e_split expect_err 3 "$@"
	run_cmd "${_e2e_cmd[@]}"
	if [ "$STATUS" -ne "$code" ]; then
		fail "$name" "expected exit status $code" \
		    "$(_e2e_detail "${_e2e_cmd[@]}")"
	elif [ -s "$OUT" ]; then
		fail "$name" "expected nothing on stdout" \
		    "$(_e2e_detail "${_e2e_cmd[@]}")"
	elif [ "$(head -c 8 "$ERR")" != "coffre: " ]; then
		fail "$name" "expected stderr lines that start with 'coffre: '" \
		    "$(_e2e_detail "${_e2e_cmd[@]}")"
	elif ! grep -Eq -- "$re" "$ERR"; then
		fail "$name" "expected stderr matching: $re" \
		    "$(_e2e_detail "${_e2e_cmd[@]}")"
	else
		pass "$name"
	fi
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected: $2" "got:      $3"
	fi
}

# expect_match NAME REGEX STRING: STRING matches the extended REGEX.
expect_match() {
	if [[ $3 =~ $2 ]]; then
		pass "$1"
	else
		fail "$1" "expected a match of: $2" "got: $3"
	fi
}

# expect_same NAME FILE1 FILE2: the two files have the same bytes.
expect_same() {
	local why
	if why=$(cmp -- "$2" "$3" 2>&1); then
		pass "$1"
	else
		fail "$1" "$why"
	fi
}

# expect_absent NAME FILE: FILE does not exist.
expect_absent() {
	if [ -e "$2" ] || [ -L "$2" ]; then
		fail "$1" "$2 exists"
	else
		pass "$1"
	fi
}

# expect_not_in_dir NAME DIR STRING: no file under DIR contains the bytes of
# STRING (a plaintext marker, a file name).
expect_not_in_dir() {
	local hits
	hits=$(grep -rlaF -- "$3" "$2" 2>/dev/null)
	if [ -z "$hits" ]; then
		pass "$1"
	else
		fail "$1" "found '$3' in:" "$hits"
	fi
}

# new_vault [INIT ARGS...]: `coffre --dir DIR init` in a fresh directory under
# TMPDIR_E2E; sets VAULT to it, and `coffre` then uses it.  A failed init
# fails the scenario at once.
new_vault() {
	_E2E_SEQ=$((_E2E_SEQ + 1))
	VAULT=$TMPDIR_E2E/vault$_E2E_SEQ
	run_cmd "$COFFRE_BIN" --dir "$VAULT" init "$@"
	if [ "$STATUS" -ne 0 ]; then
		fail "new_vault: init" \
		    "$(_e2e_detail "$COFFRE_BIN" --dir "$VAULT" init "$@")"
		finish
	fi
}

# need_faults: end the scenario here (skipped) unless COFFRE_BIN has fault
# points.
need_faults() {
	if [ "$COFFRE_FAULTS" != 1 ]; then
		skip "$E2E_SCRIPT" "this binary has no fault points (see build-san)"
		finish
	fi
}

# flip_byte FILE OFFSET: invert the low bit of the byte at OFFSET (negative:
# from the end) in place.
flip_byte() {
	local file=$1 off=$2 size byte
	size=$(stat -c %s -- "$file") || return 1
	[ "$off" -lt 0 ] && off=$((size + off))
	if [ "$off" -lt 0 ] || [ "$off" -ge "$size" ]; then
		echo "lib.sh: flip_byte: offset $2 outside $file ($size bytes)" >&2
		return 1
	fi
	byte=$(od -An -tu1 -j "$off" -N1 -- "$file")
	byte=${byte//[[:space:]]/}
	# shellcheck disable=SC2059
	dd of="$file" bs=1 seek="$off" conv=notrunc status=none \
	    < <(printf "\\$(printf '%03o' $((byte ^ 1)))")
}

# truncate_by FILE N: remove the last N bytes of FILE.
truncate_by() {
	local size
	size=$(stat -c %s -- "$1") || return 1
	truncate -s $((size > $2 ? size - $2 : 0)) -- "$1"
}

# bg_track PID: a background process (a daemon) to kill when the script
# exits.  A script that sets its own EXIT trap must call _e2e_cleanup.
bg_track() {
	_E2E_PIDS+=("$1")
}

# stop_pid PID: SIGTERM, then SIGKILL if it still runs after 5 s.  It polls
# in a subshell rather than `wait`s: after a pipeline or a process
# substitution in the script's shell, bash 5.2 can warn "wait_for: No record
# of process N" there, and its wait hang.
stop_pid() (
	tries=50
	kill -TERM "$1" 2>/dev/null || exit 0
	while kill -0 "$1" 2>/dev/null && [ "$tries" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	kill -KILL "$1" 2>/dev/null
	exit 0
)

_e2e_cleanup() {
	local pid
	for pid in "${_E2E_PIDS[@]}"; do
		stop_pid "$pid"
	done
	_E2E_PIDS=()
}
trap _e2e_cleanup EXIT

# wait_for SECONDS CMD ARGS...: run CMD every 0.1 s until it succeeds;
# returns 1 if it never did within SECONDS.
wait_for() {
	local tries=$(($1 * 10))
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

# finish: the scenario's last word; exits 1 if any check failed.
finish() {
	_e2e_cleanup
	printf '# %s: %d ok, %d not ok\n' "$E2E_SCRIPT" "$_E2E_PASSED" \
	    "$_E2E_FAILED"
	[ "$_E2E_FAILED" -eq 0 ] || exit 1
	exit 0
}
