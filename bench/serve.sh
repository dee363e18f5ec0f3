#!/usr/bin/env bash
# shellcheck disable=SC2317 # the unit functions are called by name
#
# bench/serve.sh: the daemon benchmark, run by `make bench` after
# bench/run.sh and bench/keys.sh, or alone by `make bench-serve`
# (docs/BENCHMARKS.md, "The daemon").  In one run it measures, side by
# side, sealing NDOCS documents of 200 KiB (2,000; 200 with BENCH_QUICK=1):
#
#   - embedded: `coffre --dir V seal` one process per document, what a
#     backend without the daemon runs (on the first 500 documents only if
#     all of them would take more than BENCH_EMBED_SECONDS, default 60 s);
#   - through the daemon (`coffre serve`, unix socket, HTTP/1.1) by 1, 4
#     and 16 concurrent clients: build/bench/serve_bench, keep-alive, one
#     connection per client; a fresh vault and a fresh daemon each;
#   - restic 0.14: `restic backup` of the same files into a fresh local
#     repository on the same disk;
#   - the raw baseline: build/bench/raw_batch seal, secretstream under a
#     fresh key per document, appended to one file, one fdatasync per 100
#     documents (and one at the end);
#   - for the diagnosis, the library's group commit alone: build/bench/
#     batch_bench, coffre_seal_batch() in one process on documents in
#     memory, in batches of 1, 8 and 64 (the daemon's largest), no HTTP.
#
# and the latency of opening a 1 MiB document: GET .../content through the
# socket (serve_bench open), against reading and decrypting it in one
# process (raw_batch open).
#
# It prints markdown tables and writes them to build/bench/serve-results.md.
#
# Environment:
#   BENCH_QUICK=1          smoke test: 200 documents, 50 open iterations,
#                          one round
#   BENCH_SERVE_ROUNDS=N   rounds of the seal scenarios (default 3; 1 quick);
#                          the figure kept is the median
#   BENCH_EMBED_SECONDS=S  time budget of the embedded path (default 60)
#   BENCH_VERBOSE=1        print each figure as it is taken
#   BENCH_KEEP=1           keep build/bench-tmp/serve afterwards
#   BENCH_STRICT=1         exit 1 if a target is missed
#   COFFRE=PATH            the binary (default $COFFRE_BIN, else build/coffre)
#   BENCH_DIR=DIR          serve_bench, raw_batch, batch_bench (default
#                          build/bench)
#
# Every timed step is followed by an untimed `sync`, and each unit deletes
# its outputs before the next one starts (bench/run.sh says why).  The
# inputs are read once before the rounds: the embedded path and restic read
# them from the page cache; serve_bench and raw_batch read them into memory
# before they start their clocks.

set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
COFFRE=${COFFRE:-${COFFRE_BIN:-$ROOT/build/coffre}}
BIN=${BENCH_DIR:-$ROOT/build/bench}
QUICK=${BENCH_QUICK:-0}
OUTDIR=$ROOT/build/bench
TMP=$ROOT/build/bench-tmp/serve
RESULTS=$OUTDIR/serve-results.md
EMBED_BUDGET=${BENCH_EMBED_SECONDS:-60}
EMBED_SUBSET=500
CLIENTS=(1 4 16)
DOC_BYTES=$((200 * 1024))
OPEN_BYTES=$((1024 * 1024))
PER_USER=5 # documents per user, as serve_bench does

if [ "$QUICK" = 1 ]; then
	NDOCS=200 OPEN_N=50 ROUNDS=${BENCH_SERVE_ROUNDS:-1}
else
	NDOCS=2000 OPEN_N=200 ROUNDS=${BENCH_SERVE_ROUNDS:-3}
fi

die() {
	echo "bench: serve: $*" >&2
	exit 1
}
note() { echo "bench: serve: $*" >&2; }

# --- what it needs --------------------------------------------------------

missing=()
for pc in restic:restic curl:curl file:file; do
	command -v "${pc#*:}" >/dev/null 2>&1 || missing+=("${pc%%:*}")
done
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		die "missing; install with: apt-get install ${missing[*]}"
	fi
	note "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends "${missing[@]}" >/dev/null ||
	    die "apt-get install ${missing[*]} failed (apt-get update first?)"
fi
RESTIC_VERSION=$(restic version 2>/dev/null | awk '{ print $2; exit }')
case $RESTIC_VERSION in
0.14.*) ;;
*) note "warning: restic $RESTIC_VERSION, the targets are set against restic 0.14" ;;
esac
[ -x "$COFFRE" ] || die "$COFFRE is missing: run make first"
COFFRE_VERSION=$("$COFFRE" --version 2>&1 | head -n 1)
"$COFFRE" serve --help >/dev/null 2>&1 ||
    die "$COFFRE has no serve command: rebuild it (make)"
for b in serve_bench raw_batch batch_bench; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: run make bench-tools"
done

need_mib=$((NDOCS * 200 * 3 / 1024 + 512))
mkdir -p "$OUTDIR" "$ROOT/build/bench-tmp"
avail_mib=$(df -Pm "$ROOT/build" | awk 'NR == 2 { print $4 }')
[ "$avail_mib" -ge "$need_mib" ] ||
    die "needs about $need_mib MiB free under build/, has $avail_mib"

DPID= # the daemon running, if any
rm -rf "$TMP"
mkdir -p "$TMP/data" "$TMP/out"
cleanup() {
	if [ -n "$DPID" ]; then
		kill -TERM "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

# --- data -----------------------------------------------------------------

# A PNG signature and a valid IHDR chunk, then random bytes, as in
# bench/run.sh: libmagic says image/png, nothing compresses or
# deduplicates, and random bytes hold no zip end-of-central-directory
# record that coffre's polyglot check would refuse.
png_header() {
	printf '\211PNG\r\n\032\n\000\000\000\rIHDR\000\000\000\001\000\000\000\001\010\002\000\000\000\220wS\336'
}
PNG_HEADER_BYTES=33
mkdoc() {
	{
		png_header
		head -c "$(($2 - PNG_HEADER_BYTES))" /dev/urandom
	} >"$1"
}

note "generating $NDOCS documents of 200 KiB under $TMP/data"
DOCS=()
for ((i = 0; i < NDOCS; i++)); do
	f=$(printf '%s/data/%04d.png' "$TMP" "$i")
	mkdoc "$f" "$DOC_BYTES"
	DOCS+=("$f")
done
OPENDOC=$TMP/open.png
mkdoc "$OPENDOC" "$OPEN_BYTES"
for f in "${DOCS[0]}" "$OPENDOC"; do
	mt=$(file -b --mime-type "$f")
	[ "$mt" = image/png ] || die "libmagic says $mt for $f, not image/png"
done
[ "$(du -sb "$TMP/data" | cut -f 1)" -ge $((NDOCS * DOC_BYTES)) ] ||
    die "could not write the documents"

# --- helpers --------------------------------------------------------------

O=$TMP/out
SOCK=$TMP/coffre.sock
fresh() { rm -rf "$O" && mkdir -p "$O"; }
now_us() { echo "${EPOCHREALTIME/./}"; }
get() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }
median() {
	tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g |
	    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	        else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
span() {
	tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g |
	    awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f–%.0f", lo, hi }'
}
rotate() {
	local n=$1 i
	shift
	local a=("$@")
	for ((i = 0; i < ${#a[@]}; i++)); do
		echo "${a[$(((i + n) % ${#a[@]}))]}"
	done
}

declare -A RATE  # unit -> docs/s of each round
declare -A EXTRA # unit -> notes of each round (latency, commits)
# record UNIT DOCS_PER_S [NOTE]
record() {
	RATE[$1]="${RATE[$1]:-} $2"
	[ -z "${3:-}" ] || EXTRA[$1]="${EXTRA[$1]:-}${EXTRA[$1]:+; }$3"
	[ "${BENCH_VERBOSE:-0}" != 1 ] || note "round $ROUND, $1: $2 docs/s ${3:-}"
}

newvault() { "$COFFRE" --dir "$1" init >/dev/null; }

# serve_start VAULT LOG: a daemon on $SOCK, answering once this returns.
serve_start() {
	local i
	"$COFFRE" --dir "$1" serve --socket "$SOCK" \
	    --allow "backend=uid:$(id -u)" 2>"$2" </dev/null &
	DPID=$!
	for ((i = 0; i < 200; i++)); do
		if curl -sf --unix-socket "$SOCK" http://localhost/v1/health \
		    >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$DPID" 2>/dev/null || {
			cat "$2" >&2
			die "the daemon exited"
		}
		sleep 0.05
	done
	die "the daemon does not answer on $SOCK after 10 s"
}
# serve_stop LOG: SIGTERM, wait; sets COMMITS to "N/M" (N seals in M group
# commits, from the daemon's last words).
serve_stop() {
	local rc=0
	kill -TERM "$DPID"
	wait "$DPID" || rc=$?
	DPID=
	[ "$rc" = 0 ] || {
		cat "$1" >&2
		die "the daemon exited with status $rc"
	}
	COMMITS=$(sed -n 's/.*stopped (\([0-9]*\) seals in \([0-9]*\) group commits).*/\1\/\2/p' "$1" |
	    tail -n 1)
}

# --- the units --------------------------------------------------------------

ROUND=0
EMBED_N= # decided in the first round

embedded() {
	local i t0 t1 budget_us
	fresh
	newvault "$O/vault"
	sync
	budget_us=$((EMBED_BUDGET * 1000000))
	t0=$(now_us)
	for ((i = 0; i < ${EMBED_N:-$NDOCS}; i++)); do
		"$COFFRE" --dir "$O/vault" seal --user "bench-u$((i / PER_USER))" \
		    --community bench "${DOCS[$i]}" >>"$O/ids" ||
		    die "embedded: coffre seal ${DOCS[$i]} failed"
		# After the subset: would the rest fit in the budget?
		if [ -z "$EMBED_N" ] && [ $((i + 1)) = "$EMBED_SUBSET" ] &&
		    [ "$NDOCS" -gt "$EMBED_SUBSET" ]; then
			t1=$(now_us)
			if [ $(((t1 - t0) * NDOCS / EMBED_SUBSET)) -gt "$budget_us" ]; then
				EMBED_N=$EMBED_SUBSET
				break
			fi
		fi
	done
	t1=$(now_us)
	EMBED_N=${EMBED_N:-$NDOCS}
	sync
	[ "$(wc -l <"$O/ids")" = "$EMBED_N" ] ||
	    die "embedded: $(wc -l <"$O/ids") ids for $EMBED_N documents"
	record embedded "$(awk -v n="$EMBED_N" -v us=$((t1 - t0)) \
	    'BEGIN { printf "%.1f", n / (us / 1e6) }')"
	fresh
}

# serve NCLIENTS
serve() {
	local nc=$1 line commits id n i
	fresh
	newvault "$O/vault"
	serve_start "$O/vault" "$O/serve.log"
	sync
	line=$("$BIN/serve_bench" seal -i "$O/ids" "$SOCK" "$nc" "${DOCS[@]}") ||
	    die "serve_bench seal with $nc clients failed"
	sync
	if [ "$ROUND" = 0 ]; then
		# Every document sealed once, under an id of its own; a few
		# read back and compared.
		[ "$(sort -u "$O/ids" | wc -l)" = "$NDOCS" ] ||
		    die "serve $nc: not $NDOCS distinct ids"
		for i in 0 $((NDOCS / 2)) $((NDOCS - 1)); do
			id=$(sed -n "$((i + 1))p" "$O/ids")
			curl -sf --unix-socket "$SOCK" \
			    "http://localhost/v1/documents/$id/content" |
			    cmp -s - "${DOCS[$i]}" ||
			    die "serve $nc: document $i does not read back"
		done
	fi
	if [ "$nc" = "${CLIENTS[-1]}" ] && [ "$ROUND" = 0 ]; then
		# The open latency, in a vault of NDOCS documents.
		id=$(curl -sf --unix-socket "$SOCK" -H 'Expect:' \
		    --data-binary "@$OPENDOC" \
		    -H 'Content-Type: application/octet-stream' \
		    "http://localhost/v1/documents?user=bench-open&community=bench" |
		    sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
		[ -n "$id" ] || die "cannot seal the 1 MiB document"
		sync
		OPEN_SERVE=$("$BIN/serve_bench" open "$SOCK" "$id" "$OPEN_N" \
		    "$OPENDOC") || die "serve_bench open failed"
		[ "${BENCH_VERBOSE:-0}" != 1 ] || note "open via socket: $OPEN_SERVE"
	fi
	serve_stop "$O/serve.log"
	commits=$COMMITS
	[ -n "$commits" ] || die "serve $nc: no 'stopped (...)' line in the log"
	SERVE_LOG_LAST[$nc]=$(tail -n 1 "$O/serve.log")
	if [ "$ROUND" = 0 ]; then
		n=$("$COFFRE" --dir "$O/vault" list --community bench | wc -l)
		[ "$n" -ge "$NDOCS" ] ||
		    die "serve $nc: the vault lists $n documents, not $NDOCS"
	fi
	record "serve$nc" "$(get "$line" docs_per_s)" \
	    "p50 $(get "$line" seal_p50_ms) / p99 $(get "$line" seal_p99_ms) ms; $commits"
	fresh
}
declare -A SERVE_LOG_LAST
serve1() { serve 1; }
serve4() { serve 4; }
serve16() { serve 16; }

restic_unit() {
	local t0 t1
	fresh
	export RESTIC_PASSWORD=coffre-bench
	restic --repo "$O/repo" --cache-dir "$O/cache" init -q >/dev/null ||
	    die "restic init failed"
	sync
	t0=$(now_us)
	restic --repo "$O/repo" --cache-dir "$O/cache" backup -q "$TMP/data" \
	    >/dev/null || die "restic backup failed"
	t1=$(now_us)
	sync
	record restic "$(awk -v n="$NDOCS" -v us=$((t1 - t0)) \
	    'BEGIN { printf "%.1f", n / (us / 1e6) }')"
	fresh
}

raw() {
	local line
	fresh
	line=$("$BIN/raw_batch" seal "$O/raw.out" "${DOCS[@]}") ||
	    die "raw_batch seal failed"
	sync
	record raw "$(get "$line" docs_per_s)"
	fresh
}

# lib N: coffre_seal_batch() in batches of N, one process, no HTTP.
lib() {
	local line
	fresh
	newvault "$O/vault"
	sync
	line=$("$BIN/batch_bench" "$O/vault" "$1" "${DOCS[@]}") ||
	    die "batch_bench $1 failed"
	sync
	record "lib$1" "$(get "$line" docs_per_s)"
	fresh
}
lib1() { lib 1; }
lib8() { lib 8; }
lib64() { lib 64; }

UNITS=(embedded serve1 serve4 serve16 restic_unit raw lib1 lib8 lib64)
ROWS=(embedded serve1 serve4 serve16 lib1 lib8 lib64 restic raw)

# --- the run ----------------------------------------------------------------

LOAD_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg)
START=$(now_us)
cat "${DOCS[@]}" "$OPENDOC" >/dev/null
sync
note "$NDOCS documents of 200 KiB, $ROUNDS round(s): embedded, daemon (${CLIENTS[*]} clients), restic, raw, library batches"
for ((ROUND = 0; ROUND < ROUNDS; ROUND++)); do
	for u in $(rotate "$ROUND" "${UNITS[@]}"); do
		"$u"
		sync
	done
done
note "opening a 1 MiB document in one process ($OPEN_N times)"
fresh
OPEN_RAW=$("$BIN/raw_batch" open "$OPENDOC" "$OPEN_N") ||
    die "raw_batch open failed"
fresh
END=$(now_us)
LOAD_AFTER=$(cut -d ' ' -f 1-3 /proc/loadavg)

# --- report -----------------------------------------------------------------

label() {
	case $1 in
	embedded) echo "embedded: \`coffre seal\`, one process per document" ;;
	serve1) echo "daemon, 1 client" ;;
	serve4) echo "daemon, 4 clients" ;;
	serve16) echo "daemon, 16 clients" ;;
	restic) echo "restic $RESTIC_VERSION backup" ;;
	raw) echo "raw: secretstream, one file, fdatasync per 100" ;;
	lib*) echo "(library alone: \`coffre_seal_batch\`, batches of ${1#lib}, one process, no HTTP)" ;;
	esac
}
declare -A MED
for u in "${ROWS[@]}"; do
	MED[$u]=$(median "${RATE[$u]}")
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
FAILED=0
{
	echo "## The daemon: $NDOCS seals of 200 KiB, and opening 1 MiB"
	echo
	echo "Script: bench/serve.sh (\`make bench\`, \`make bench-serve\`)$([ "$QUICK" = 1 ] &&
	    echo ", BENCH_QUICK=1"), on $(date -u +%Y-%m-%dT%H:%M:%SZ)," \
	    "measuring $COFFRE."
	echo
	echo "- machine: $(nproc) cores (shared by the clients and the daemon)," \
	    "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
	    "kernel $(uname -r)"
	echo "- disk: $(df -PT "$ROOT/build" | awk 'NR == 2 { print $2 " on " $1 }')" \
	    "(everything under build/bench-tmp/serve)"
	echo "- load average (1, 5, 15 min): $LOAD_BEFORE before, $LOAD_AFTER after"
	echo "- $COFFRE_VERSION; restic $RESTIC_VERSION;" \
	    "libcurl $(pkg-config --modversion libcurl 2>/dev/null || echo '?');" \
	    "libsodium $(pkg-config --modversion libsodium 2>/dev/null || echo '?')"
	echo "- median of $ROUNDS round(s); embedded path on $EMBED_N documents" \
	    "(one process each), every other row on all $NDOCS;" \
	    "$PER_USER documents per user"
	echo "- run time: $(((END - START) / 1000000)) s"
	echo
	echo "| path | docs/s | min–max | ratio to raw | ratio to restic | seal latency, commits (seals/group commits) per round |"
	echo "|---|---:|---:|---:|---:|---|"
	for u in "${ROWS[@]}"; do
		echo "| $(label "$u") | ${MED[$u]} | $(span "${RATE[$u]}") |" \
		    "$(ratio "${MED[$u]}" "${MED[raw]}") |" \
		    "$(ratio "${MED[$u]}" "${MED[restic]}") | ${EXTRA[$u]:-} |"
	done
	echo
	echo "### Opening a 1 MiB document ($OPEN_N times, after one warm-up)"
	echo
	echo "| path | p50 ms | p99 ms | min ms | mean ms | max ms |"
	echo "|---|---:|---:|---:|---:|---:|"
	for k in serve raw; do
		if [ "$k" = serve ]; then
			l=$OPEN_SERVE
			echo -n "| daemon: GET /v1/documents/ID/content over the socket (vault of $((NDOCS + 1)) documents) "
		else
			l=$OPEN_RAW
			echo -n "| raw: open + read() + decrypt in one process "
		fi
		echo "| $(get "$l" p50_ms) | $(get "$l" p99_ms) | $(get "$l" min_ms) | $(get "$l" mean_ms) | $(get "$l" max_ms) |"
	done
	echo
	echo "### Targets"
	echo
	echo "| target | wanted | measured | |"
	echo "|---|---:|---:|---|"
	check() {
		local ok
		ok=$(awk -v m="$3" -v w="$2" 'BEGIN { print (m >= w) ? "pass" : "MISSED" }')
		[ "$ok" = pass ] || FAILED=1
		echo "| $1 | ≥ $2 | $3 | $ok |"
	}
	check "16 clients / raw" 0.8 "$(ratio "${MED[serve16]}" "${MED[raw]}")"
	check "16 clients / restic" 2 "$(ratio "${MED[serve16]}" "${MED[restic]}")"
	echo
	echo "The last line of the daemon's log, 16 clients, last round:" \
	    "\`${SERVE_LOG_LAST[16]:-}\`"
	if [ "$QUICK" = 1 ]; then
		echo
		echo "BENCH_QUICK=1: $NDOCS documents, one round; the targets" \
		    "are set for a full run."
	fi
} >"$RESULTS"

cat "$RESULTS"
note "written to $RESULTS"
if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$FAILED" = 1 ]; then
	die "a target was missed"
fi
exit 0
