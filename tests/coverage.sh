#!/usr/bin/env bash
# coverage.sh: line and branch coverage of the library (vault/ and keys/),
# the runner behind `make coverage`.
#
# 1. Copies the sources (Makefile, include/, keys/, vault/, cli/,
#    tests/unit/) to build-cov/src/, so that the lines reported are those
#    compiled even if the tree changes meanwhile, and builds there
#    (build-cov/src/build/: gcc --coverage -O0 -fprofile-update=atomic, the
#    fault points of keys/fault.h on, as build-san has them) with the unit
#    programs.
# 2. Runs what tests/run.sh runs on a build: every unit program and every
#    end-to-end scenario tests/e2e/t*.sh with COFFRE_BIN set to that coffre
#    and COFFRE_FAULTS=1 (t99_tsan skips itself: not a TSan build).
#    Counted as run.sh counts them (cmocka OK/FAILED lines, PASS:/FAIL:).
# 3. gcovr: per file line and branch coverage of vault/ and keys/ (their .c
#    and .h files), and the totals, on stdout; the reports are written to
#    build-cov/coverage/: lines.txt and branches.txt (with the uncovered
#    line numbers of each file, in build-cov/src/), summary.txt,
#    coverage.json (every line's count, for a closer look), and
#    index.html (--html-details).
#
#   tests/coverage.sh [--report-only] [--filter GLOB]
#
#   --report-only  no build and no run: the report of the counters there are
#   --filter GLOB  only the unit programs and scenarios whose name matches
#
# Environment: MAKE, COV_CC (default gcc), UNIT_TIMEOUT and E2E_TIMEOUT
# (seconds, default 300 and 900: -O0 is slower than build/).
#
# A process that ends in _exit() (a fault point's crash, COFFRE_CRASH_AT)
# or is killed writes no counters: what it ran is not counted.  Exit status
# 1 if a build, a test or gcovr failed (the report is still written; the
# output of each scenario that failed is kept in build-cov/coverage/logs/).

set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

MAKE=${MAKE:-make}
COV_CC=${COV_CC:-gcc}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
E2E_TIMEOUT=${E2E_TIMEOUT:-900}
DIR=build-cov
SRC=$ROOT/$DIR/src # the copy that is built and reported
BLD=$SRC/build
OUTDIR=$ROOT/$DIR/coverage
filter='*'
run=1

while [ $# -gt 0 ]; do
	case $1 in
	--report-only) run=0 ;;
	--filter)
		[ $# -ge 2 ] || { echo "coverage.sh: --filter needs a glob" >&2; exit 2; }
		filter=$2
		shift
		;;
	-h | --help)
		sed -n '2,/^$/{s/^# \{0,1\}//;p;}' "$0"
		exit 0
		;;
	*)
		echo "coverage.sh: unknown option $1 (see --help)" >&2
		exit 2
		;;
	esac
	shift
done

exec </dev/null
unset COFFRE_DIR COFFRE_SOCKET COFFRE_PASSPHRASE_FILE COFFRE_CRASH_AT
unset CMOCKA_MESSAGE_OUTPUT CMOCKA_XML_FILE SANITIZE

if ! command -v gcovr >/dev/null 2>&1; then
	echo "coverage: gcovr is missing (scripts/deps.sh installs it)" >&2
	exit 1
fi

case " ${MAKEFLAGS:-} " in
*jobserver*) jobs=() ;;
*) jobs=(-j"$(nproc 2>/dev/null || echo 2)") ;;
esac

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/coffre-cov.XXXXXX") || exit 1
trap 'chmod -R u+rwX "$LOGDIR" 2>/dev/null; rm -rf "$LOGDIR"' EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
failures=()
note_fail() {
	failed=$((failed + 1))
	failures+=("$1")
}

start=$(date +%s)
if [ "$run" = 1 ]; then
	printf '== build: %s (%s --coverage -O0, fault points on)\n' \
	    "$DIR/src/build" "$COV_CC"
	rm -rf "$SRC"
	mkdir -p "$SRC"
	tar -cf - Makefile include keys vault cli tests/unit |
	    tar -C "$SRC" -xf - || exit 1
	# -O0 for lines that map one to one; _FORTIFY_SOURCE needs -O, so it
	# goes (ours comes first, CFLAGS after it).
	if ! "$MAKE" --no-print-directory -C "$SRC" "${jobs[@]}" \
	    CC="$COV_CC" SANITIZE= FAULTS=1 BUILDDIR=build \
	    CFLAGS="--coverage -fprofile-update=atomic -O0 -U_FORTIFY_SOURCE" \
	    LDFLAGS="--coverage" all unit >"$LOGDIR/build.log" 2>&1; then
		tail -n 60 "$LOGDIR/build.log"
		echo "FAIL: build ($DIR/src/build)"
		exit 1
	fi
	find "$BLD" -name '*.gcda' -delete
	rm -rf "$OUTDIR"

	printf '\n== unit tests: %s\n' "$DIR/src/build"
	for f in "$SRC"/tests/unit/test_*.c; do
		name=$(basename "$f" .c)
		# shellcheck disable=SC2254
		case $name in $filter) ;; *) continue ;; esac
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/coffre-unit.XXXXXX") || exit 1
		TMPDIR=$tmp timeout -k 10 "$UNIT_TIMEOUT" "$BLD/tests/$name" \
		    >"$LOGDIR/unit.out" 2>&1
		st=$?
		chmod -R u+rwX "$tmp" 2>/dev/null
		rm -rf "$tmp"
		ok=$(grep -c '^\[       OK \] ' "$LOGDIR/unit.out")
		bad=$(awk '/^\[  FAILED  \] [0-9]+ test\(s\), listed below:/ {
		    exit } /^\[  FAILED  \] / { n++ } END { print n + 0 }' \
		    "$LOGDIR/unit.out")
		passed=$((passed + ok))
		failed=$((failed + bad))
		[ "$bad" -gt 0 ] && failures+=("$name: $bad test(s)")
		if [ "$st" -ne 0 ] && [ "$bad" -eq 0 ]; then
			note_fail "$name: exit status $st"
		fi
		printf '%-28s %4d passed, %d failed%s\n' "$name" "$ok" "$bad" \
		    "$([ "$st" -ne 0 ] && echo " (exit $st)")"
	done

	printf '\n== e2e scenarios: %s\n' "$DIR/src/build"
	for f in tests/e2e/t*.sh; do
		name=$(basename "$f" .sh)
		# shellcheck disable=SC2254
		case $name in $filter) ;; *) continue ;; esac
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/coffre-e2e.XXXXXX") || exit 1
		t0=$(date +%s)
		COFFRE_BIN=$BLD/coffre TMPDIR_E2E=$tmp COFFRE_ROOT=$ROOT \
		    COFFRE_FAULTS=1 COFFRE_SANITIZED=0 \
		    timeout -k 10 "$E2E_TIMEOUT" bash "$f" \
		    >"$LOGDIR/e2e.out" 2>&1 &
		pid=$!
		wait "$pid"
		st=$?
		kill -TERM -- -"$pid" 2>/dev/null
		chmod -R u+rwX "$tmp" 2>/dev/null
		rm -rf "$tmp"
		ok=$(grep -c '^PASS: ' "$LOGDIR/e2e.out")
		bad=$(grep -c '^FAIL: ' "$LOGDIR/e2e.out")
		passed=$((passed + ok))
		failed=$((failed + bad))
		while IFS= read -r t; do
			failures+=("$name: $t")
		done < <(sed -n 's/^FAIL: //p' "$LOGDIR/e2e.out")
		if [ "$st" -ne 0 ] && [ "$bad" -eq 0 ]; then
			note_fail "$name: exit status $st"
		fi
		# The output of a scenario that failed is kept.
		if [ "$st" -ne 0 ] || [ "$bad" -gt 0 ]; then
			mkdir -p "$OUTDIR/logs"
			cp "$LOGDIR/e2e.out" "$OUTDIR/logs/$name.out"
		fi
		printf '%-28s %4d passed, %d failed (%d s)%s\n' "$name" "$ok" \
		    "$bad" $(($(date +%s) - t0)) \
		    "$([ "$st" -ne 0 ] && echo " (exit $st)")"
	done
fi

printf '\n== coverage of vault/ and keys/ (gcovr, %s)\n' "$DIR/src"
if [ ! -d "$BLD/obj" ]; then
	echo "coverage: no $DIR/src/build/obj: run without --report-only" >&2
	exit 1
fi
mkdir -p "$OUTDIR"
cd "$SRC" || exit 1
G=(gcovr --root . --object-directory build/obj build/obj
	--filter '(vault|keys)/[^/]*\.[ch]$' --exclude-unreachable-branches
	--sort-percentage)
gst=0
"${G[@]}" --txt "$OUTDIR/lines.txt" --branches \
    --json "$OUTDIR/coverage.json" --html-details "$OUTDIR/index.html" \
    --print-summary >"$OUTDIR/summary.txt" 2>"$LOGDIR/gcovr.err" || gst=1
# The line report again (--branches above changes what --txt shows).
"${G[@]}" --txt "$OUTDIR/lines.txt" 2>>"$LOGDIR/gcovr.err" || gst=1
"${G[@]}" --branches --txt "$OUTDIR/branches.txt" \
    2>>"$LOGDIR/gcovr.err" || gst=1
if [ "$gst" -ne 0 ]; then
	cat "$LOGDIR/gcovr.err"
	note_fail "gcovr"
fi

# Per file and per directory: lines and branches side by side.
"${PYTHON:-python3}" - "$OUTDIR/coverage.json" <<'PYEOF'
import json, sys, collections
d = json.load(open(sys.argv[1]))
rows, per = [], collections.defaultdict(lambda: [0, 0, 0, 0])
for f in d["files"]:
    name = f["file"]
    lt = lc = bt = bc = 0
    for ln in f["lines"]:
        if ln.get("gcovr/noncode"):
            continue
        lt += 1
        lc += ln["count"] > 0
        for b in ln["branches"]:
            bt += 1
            bc += b["count"] > 0
    rows.append((name, lc, lt, bc, bt))
    p = per[name.split("/")[0] + "/"]
    for i, v in enumerate((lc, lt, bc, bt)):
        p[i] += v
pct = lambda a, b: 100.0 * a / b if b else 100.0
print("%-22s %17s %19s" % ("file", "lines", "branches"))
for name, lc, lt, bc, bt in sorted(rows):
    print("%-22s %5d/%-5d %5.1f%% %6d/%-6d %5.1f%%"
          % (name, lc, lt, pct(lc, lt), bc, bt, pct(bc, bt)))
tot = [0, 0, 0, 0]
for k in sorted(per):
    lc, lt, bc, bt = per[k]
    tot = [a + b for a, b in zip(tot, per[k])]
    print("%-22s %5d/%-5d %5.1f%% %6d/%-6d %5.1f%%"
          % ("total " + k, lc, lt, pct(lc, lt), bc, bt, pct(bc, bt)))
lc, lt, bc, bt = tot
print("%-22s %5d/%-5d %5.1f%% %6d/%-6d %5.1f%%"
      % ("total", lc, lt, pct(lc, lt), bc, bt, pct(bc, bt)))
PYEOF

printf '\nreports: %s/lines.txt (uncovered lines per file), branches.txt,\n' \
    "$OUTDIR"
printf '  summary.txt, coverage.json, index.html\n'
if [ "$run" = 1 ]; then
	printf 'tests: %d passed, %d failed (%d s)\n' "$passed" "$failed" \
	    $(($(date +%s) - start))
	if [ "${#failures[@]}" -gt 0 ]; then
		echo "failed:"
		printf '  %s\n' "${failures[@]}"
	fi
fi
[ "$failed" -eq 0 ]
