#!/usr/bin/env bash
# run.sh: the test runner behind `make check`.
#
# For each build, first the normal one (build/, $CC) and then the sanitizer
# one (build-san/, clang, -fsanitize=address,undefined, fault points on):
# build coffre and the unit tests, run every unit test program
# (BUILD/tests/test_*), then every end-to-end scenario tests/e2e/t*.sh in
# name order with COFFRE_BIN=BUILD/coffre.  Then the ThreadSanitizer build
# (build-tsan/, clang, -fsanitize=thread) and its one scenario,
# tests/e2e/t99_tsan.sh: the daemon under 32 clients for TSAN_SECONDS (15
# here; 60 with `make tsan`) beside the embedded command; it is skipped on
# the other builds.  Last, `make fuzz-smoke`.
#
# Counted: each cmocka `[       OK ] name` (pass) and `[  FAILED  ] name`
# (fail); each `PASS: name` / `FAIL: name` line of an e2e scenario or of
# fuzz-smoke; one failure more for a program that exits non-zero with no
# FAIL line, that is killed or times out, or that leaves a sanitizer report;
# and one for a build that fails.  The last line is `N passed, N failed`;
# the exit status is 1 if anything failed.
#
#   tests/run.sh [--quick] [--no-san] [--no-tsan] [--no-fuzz] [--filter GLOB]
#
#   --quick       the normal build only (same as --no-san --no-tsan
#                 --no-fuzz)
#   --filter GLOB only the unit programs and e2e scripts whose name (test_x,
#                 t10-seal) matches GLOB; skips fuzzing, and the TSan
#                 step unless t99_tsan matches
#
# Environment: MAKE, CC (normal build), SAN_CC (default clang), SANITIZE
# (default address,undefined), UNIT_TIMEOUT and E2E_TIMEOUT (seconds a
# program may run, default 300 and 600), TSAN_SECONDS (default 15),
# FUZZ_SECONDS.

set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

MAKE=${MAKE:-make}
SAN_CC=${SAN_CC:-clang}
SAN=${SANITIZE:-address,undefined}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
E2E_TIMEOUT=${E2E_TIMEOUT:-600}
SANITIZER_EXIT=99
do_san=1
do_tsan=1
do_fuzz=1
filter='*'

while [ $# -gt 0 ]; do
	case $1 in
	--quick) do_san=0 do_tsan=0 do_fuzz=0 ;;
	--no-san) do_san=0 ;;
	--no-tsan) do_tsan=0 ;;
	--no-fuzz) do_fuzz=0 ;;
	--filter)
		[ $# -ge 2 ] || { echo "run.sh: --filter needs a glob" >&2; exit 2; }
		filter=$2 do_fuzz=0
		shift
		;;
	-h | --help)
		sed -n '2,/^$/{s/^# \{0,1\}//;p;}' "$0"
		exit 0
		;;
	*)
		echo "run.sh: unknown option $1 (see --help)" >&2
		exit 2
		;;
	esac
	shift
done

# No terminal, no input, no inherited vault or daemon.
exec </dev/null
unset COFFRE_DIR COFFRE_SOCKET COFFRE_PASSPHRASE_FILE COFFRE_CRASH_AT
unset CMOCKA_MESSAGE_OUTPUT CMOCKA_XML_FILE SANITIZE

# A jobserver handed down by `make -jN check` is used as it is; otherwise
# the sub-makes run one job per core.
case " ${MAKEFLAGS:-} " in
*jobserver*) jobs=() ;;
*) jobs=(-j"$(nproc 2>/dev/null || echo 2)") ;;
esac

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/coffre-tests.XXXXXX") || exit 1
cleanup() {
	chmod -R u+rwX "$LOGDIR" 2>/dev/null
	rm -rf "$LOGDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
failures=()

note_fail() {
	failed=$((failed + 1))
	failures+=("$1")
}

section() {
	printf '\n== %s\n' "$*"
}

# show FILE: print FILE, or its tail when it is long.
show() {
	local n
	n=$(wc -l <"$1")
	if [ "$n" -gt 400 ]; then
		echo "    ... ($((n - 300)) lines cut; the end follows)"
		tail -n 300 "$1"
	else
		cat "$1"
	fi
}

# san_reports LABEL: count and print the sanitizer logs left in $SANLOGS.
san_reports() {
	local f found=0
	[ -n "${SANLOGS:-}" ] || return 0
	for f in "$SANLOGS"/*; do
		[ -e "$f" ] || continue
		found=1
		echo "    sanitizer report ($f):"
		sed 's/^/    | /' "$f" | head -n 80
		rm -f "$f"
	done
	if [ "$found" = 1 ]; then
		note_fail "$1: sanitizer report"
		echo "FAIL: $1: sanitizer report"
	fi
}

# status_word STATUS: why a program ended, for the failure list.
status_word() {
	case $1 in
	124 | 137) echo "timed out or killed (status $1)" ;;
	"$SANITIZER_EXIT") echo "sanitizer error (status $1)" ;;
	*) if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128))";
	   else echo "exit status $1"; fi ;;
	esac
}

# build LABEL MAKE-ARGS...: returns 1 (and counts a failure) if it fails.
build() {
	local label=$1 log=$LOGDIR/build.log
	shift
	section "build: $label"
	if "$MAKE" --no-print-directory "${jobs[@]}" "$@" all unit >"$log" 2>&1
	then
		echo "built: $*"
		return 0
	fi
	show "$log"
	echo "FAIL: build ($label)"
	note_fail "build ($label)"
	return 1
}

# run_unit LABEL BIN: run one cmocka program and count its tests.
run_unit() {
	local label=$1 bin=$2 name st tmp out=$LOGDIR/unit.out
	local err=$LOGDIR/unit.err counts ok bad
	name=$(basename "$bin")
	echo "-- $label: $name"
	# A scratch TMPDIR of its own, removed after it.
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/coffre-unit.XXXXXX") || return
	TMPDIR=$tmp timeout -k 10 "$UNIT_TIMEOUT" "$bin" >"$out" 2>"$err"
	st=$?
	chmod -R u+rwX "$tmp" 2>/dev/null
	rm -rf "$tmp"
	cat "$out"
	[ -s "$err" ] && sed 's/^/    stderr| /' "$err"
	# OK and FAILED lines per test, on stdout; cmocka's summary (FAILED
	# N test(s), listed below, then the names again) is not counted,
	# whichever stream it is on.  A failed group setup or teardown counts
	# as one failure.
	counts=$(cat "$out" "$err" | awk '
	    /^\[==========\] Running /               { listing = 0; next }
	    /^\[  FAILED  \] [0-9]+ test\(s\), listed below:/ { listing = 1; next }
	    /^\[  FAILED  \] GROUP (SETUP|TEARDOWN)/ { bad++; next }
	    /^\[       OK \] /                       { if (!listing) ok++; next }
	    /^\[  FAILED  \] /                       { if (!listing) {
	        bad++; sub(/^\[  FAILED  \] /, ""); names = names $0 "\n" }
	        next }
	    END { printf "%d %d\n%s", ok, bad, names }')
	read -r ok bad <<<"$(head -n 1 <<<"$counts")"
	passed=$((passed + ok))
	failed=$((failed + bad))
	while IFS= read -r t; do
		[ -n "$t" ] && failures+=("$label/$name: $t")
	done < <(tail -n +2 <<<"$counts")
	if [ "$st" -ne 0 ] && { [ "$bad" -eq 0 ] || [ "$st" -ge 124 ]; }; then
		echo "FAIL: $name: $(status_word "$st")"
		note_fail "$label/$name: $(status_word "$st")"
	fi
	san_reports "$label/$name"
}

# run_e2e LABEL BIN SCRIPT: run one scenario and count its checks.
run_e2e() {
	local label=$1 bin=$2 script=$3 name st pid tmp out=$LOGDIR/e2e.out
	local ok bad
	name=$(basename "$script" .sh)
	echo "-- $label: $name"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/coffre-e2e.XXXXXX") || return
	# timeout puts the scenario in a process group of its own: whatever it
	# left running (a daemon) is ended with it.
	COFFRE_BIN=$bin TMPDIR_E2E=$tmp COFFRE_ROOT=$ROOT \
	    COFFRE_FAULTS=$faults COFFRE_SANITIZED=$sanitized \
	    timeout -k 10 "$E2E_TIMEOUT" bash "$script" >"$out" 2>&1 &
	pid=$!
	wait "$pid"
	st=$?
	kill -TERM -- -"$pid" 2>/dev/null
	cat "$out"
	ok=$(grep -c '^PASS: ' "$out")
	bad=$(grep -c '^FAIL: ' "$out")
	passed=$((passed + ok))
	failed=$((failed + bad))
	while IFS= read -r t; do
		failures+=("$label/$name: $t")
	done < <(sed -n 's/^FAIL: //p' "$out")
	if [ "$st" -ne 0 ] && { [ "$bad" -eq 0 ] || [ "$st" -ge 124 ]; }; then
		echo "FAIL: $name: $(status_word "$st")"
		note_fail "$label/$name: $(status_word "$st")"
	fi
	san_reports "$label/$name"
	chmod -R u+rwX "$tmp" 2>/dev/null
	rm -rf "$tmp"
}

# run_build LABEL BUILDDIR: the unit programs, then the scenarios.
run_build() {
	local label=$1 dir=$2 bin f any=0
	bin=$ROOT/$dir/coffre
	section "unit tests: $label"
	# The programs of the sources there are now (not a stale binary).
	for f in tests/unit/test_*.c; do
		[ -f "$f" ] || continue
		f=$(basename "$f" .c)
		# shellcheck disable=SC2254
		case $f in $filter) ;; *) continue ;; esac
		any=1
		if [ -x "$dir/tests/$f" ]; then
			run_unit "$label" "$dir/tests/$f"
		else
			echo "FAIL: $f: $dir/tests/$f was not built"
			note_fail "$label/$f: not built"
		fi
	done
	[ "$any" = 1 ] || echo "(no unit tests: tests/unit/test_*.c)"
	section "e2e scenarios: $label"
	any=0
	for f in tests/e2e/t*.sh; do
		[ -f "$f" ] || continue
		# shellcheck disable=SC2254
		case $(basename "$f" .sh) in $filter) ;; *) continue ;; esac
		any=1
		run_e2e "$label" "$bin" "$f"
	done
	[ "$any" = 1 ] || echo "(no e2e scenarios: tests/e2e/t*.sh)"
}

start=$(date +%s)

# 1. The normal build.
SANLOGS=
faults=0 sanitized=0
if build "normal, ${CC:-cc}" SANITIZE= FAULTS=0; then
	run_build build build
fi

# 2. The sanitizer build.  Reports go to files, so that a scenario that
# swallows stderr cannot hide them; a report makes the program exit 99
# (not 86, the exit of a fault point).
if [ "$do_san" = 1 ]; then
	export SANLOGS=$LOGDIR/san
	mkdir -p "$SANLOGS"
	export ASAN_OPTIONS="detect_leaks=1:exitcode=$SANITIZER_EXIT:log_path=$SANLOGS/asan:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=$SANITIZER_EXIT:log_path=$SANLOGS/ubsan"
	export LSAN_OPTIONS="exitcode=$SANITIZER_EXIT"
	faults=1 sanitized=1
	if build "sanitizers $SAN, $SAN_CC" CC="$SAN_CC" SANITIZE="$SAN" \
	    FAULTS=1; then
		run_build build-san build-san
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
	SANLOGS=
fi

# 3. ThreadSanitizer: the daemon under load (tests/e2e/t99_tsan.sh, which
# reads TSan's reports from the daemon's stderr itself), briefly.
# shellcheck disable=SC2254
case t99_tsan in $filter) ;; *) do_tsan=0 ;; esac
if [ "$do_tsan" = 1 ]; then
	faults=0 sanitized=0
	if build "ThreadSanitizer, $SAN_CC" CC="$SAN_CC" SANITIZE=thread \
	    FAULTS=0 BUILDDIR=build-tsan; then
		section "e2e scenario under ThreadSanitizer: build-tsan"
		export COFFRE_TSAN=1 TSAN_SECONDS=${TSAN_SECONDS:-15}
		run_e2e build-tsan "$ROOT/build-tsan/coffre" tests/e2e/t99_tsan.sh
		unset COFFRE_TSAN
	fi
fi

# 4. The fuzz harnesses, briefly.
if [ "$do_fuzz" = 1 ]; then
	section "fuzz-smoke"
	log=$LOGDIR/fuzz.log
	"$MAKE" --no-print-directory "${jobs[@]}" fuzz-smoke >"$log" 2>&1
	st=$?
	show "$log"
	ok=$(grep -c '^PASS: ' "$log")
	bad=$(grep -c '^FAIL: ' "$log")
	passed=$((passed + ok))
	failed=$((failed + bad))
	while IFS= read -r t; do
		failures+=("fuzz: $t")
	done < <(sed -n 's/^FAIL: //p' "$log")
	if [ "$st" -ne 0 ] && [ "$bad" -eq 0 ]; then
		echo "FAIL: fuzz-smoke: $(status_word "$st")"
		note_fail "fuzz-smoke: $(status_word "$st")"
	fi
fi

section "summary ($(($(date +%s) - start)) s)"
if [ "${#failures[@]}" -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
