#!/usr/bin/env bash
# shellcheck disable=SC2317 # the scenario functions are called by name
#
# bench/run.sh: coffre's benchmark, run by `make bench` once build/coffre is
# built.  In one run it measures, side by side, sealing and opening
#
#   - one large file (256 MiB),
#   - 1,000 files of 200 KiB, one process per file, in a shell loop,
#
# with `build/coffre` and with what it is compared against: `cp` + `sync`
# (the floor of a durable write), age 1.1 (`age -r`, `age -d`), and
# bench/raw_stream (libsodium's secretstream over the same data, in one
# process: the floor of "encrypt + durable write").  It also takes the peak
# resident memory of sealing and opening a 1 GiB file.  docs/BENCHMARKS.md
# says what each figure means and which targets apply.
#
# It prints a markdown table and writes it to build/bench/results.md.
#
# Environment:
#   BENCH_QUICK=1        smoke test: 64 MiB, 100 small files, 256 MiB for RSS
#   BENCH_RUNS=N         rounds of the large-file scenarios (default 7; 3 quick)
#   BENCH_SMALL_LOOPS=N  rounds of the small-file loops (default 3; 1 quick)
#   BENCH_VERBOSE=1      print each timing as it is taken
#   BENCH_KEEP=1         keep build/bench-tmp afterwards
#   BENCH_STRICT=1       exit 1 if a target is missed
#   BENCH_SKIP_COFFRE=1  measure the baselines alone (no build/coffre needed)
#   COFFRE=PATH          the binary to measure (default $COFFRE_BIN, set by
#                        make, else build/coffre)
#
# Every timed command is followed by an untimed `sync`, so that nothing one
# tool left dirty in the page cache is paid for by the next one.  Each tool
# runs as a unit (seal, open what it sealed, delete its outputs); the units
# take turns within each round, each round starting with a different one;
# the figure kept is the median of the rounds.  Inputs are read once before
# the rounds, so every tool reads them from the page cache.

set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
COFFRE=${COFFRE:-${COFFRE_BIN:-$ROOT/build/coffre}}
QUICK=${BENCH_QUICK:-0}
SKIP_COFFRE=${BENCH_SKIP_COFFRE:-0}
OUTDIR=$ROOT/build/bench
TMP=$ROOT/build/bench-tmp
RAW=$OUTDIR/raw_stream
RESULTS=$OUTDIR/results.md

if [ "$QUICK" = 1 ]; then
	BIG_MIB=64 NSMALL=100 RSS_MIB=256
	RUNS=${BENCH_RUNS:-3} LOOPS=${BENCH_SMALL_LOOPS:-1}
else
	BIG_MIB=256 NSMALL=1000 RSS_MIB=1024
	RUNS=${BENCH_RUNS:-7} LOOPS=${BENCH_SMALL_LOOPS:-3}
fi
SMALL_BYTES=$((200 * 1024))

die() {
	echo "bench: $*" >&2
	exit 1
}
note() { echo "bench: $*" >&2; }

# --- what it compares against ------------------------------------------

# `make bench` has run scripts/deps.sh; this installs, as root, what is
# still missing for the benchmark alone (package: the command it gives).
missing=()
for pc in age:age age:age-keygen gcc:cc pkg-config:pkg-config file:file \
    time:/usr/bin/time; do
	command -v "${pc#*:}" >/dev/null 2>&1 || missing+=("${pc%%:*}")
done
pkg-config --exists libsodium 2>/dev/null || missing+=(libsodium-dev)
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		die "missing; install with: apt-get install ${missing[*]}"
	fi
	note "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends "${missing[@]}" >/dev/null ||
	    die "apt-get install ${missing[*]} failed (apt-get update first?)"
fi
AGE_VERSION=$(age --version 2>&1 | head -n 1)
case $AGE_VERSION in
v1.1.* | 1.1.*) ;;
*) note "warning: age $AGE_VERSION, the targets are set against age 1.1" ;;
esac
if [ "$SKIP_COFFRE" != 1 ]; then
	[ -x "$COFFRE" ] || die "$COFFRE is missing: run make first"
	COFFRE_VERSION=$("$COFFRE" --version 2>&1 | head -n 1)
else
	COFFRE_VERSION="(not measured: BENCH_SKIP_COFFRE=1)"
fi

mkdir -p "$OUTDIR"
if [ ! -x "$RAW" ] || [ bench/raw_stream.c -nt "$RAW" ]; then
	# shellcheck disable=SC2046
	cc -std=c11 -O2 -Wall -Wextra -Wpedantic bench/raw_stream.c -o "$RAW" \
	    $(pkg-config --cflags --libs libsodium)
fi

# --- data ---------------------------------------------------------------

# At most: the inputs, one unit's sealed and opened copies of them, and the
# RSS file with one sealed and one opened copy; plus some room.
need_mib=$((BIG_MIB * 3 + NSMALL * 200 * 3 / 1024 + RSS_MIB * 3 + 512))
avail_mib=$(df -Pm "$ROOT/build" | awk 'NR == 2 { print $4 }')
[ "$avail_mib" -ge "$need_mib" ] ||
    die "needs about $need_mib MiB free under build/, has $avail_mib"

rm -rf "$TMP"
mkdir -p "$TMP/data/small" "$TMP/out"
cleanup() {
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

# A PNG signature and a valid IHDR chunk (1x1, RGB, 8 bits: CRC 0x907753de),
# then random bytes: libmagic says image/png, which coffre's type policy
# allows, and nothing compresses or deduplicates.
png_header() {
	printf '\211PNG\r\n\032\n\000\000\000\rIHDR\000\000\000\001\000\000\000\001\010\002\000\000\000\220wS\336'
}
PNG_HEADER_BYTES=33

# mkdoc FILE BYTES
mkdoc() {
	{
		png_header
		head -c "$(($2 - PNG_HEADER_BYTES))" /dev/urandom
	} >"$1"
	[ "$(stat -c %s "$1")" = "$2" ] || die "could not write $1"
}

note "generating data under $TMP"
BIG=$TMP/data/big.png
mkdoc "$BIG" $((BIG_MIB * 1024 * 1024))
mt=$(file -b --mime-type "$BIG")
[ "$mt" = image/png ] || die "libmagic says $mt for the test data, not image/png"
SMALL=()
for ((i = 0; i < NSMALL; i++)); do
	f=$(printf '%s/data/small/%04d.png' "$TMP" "$i")
	mkdoc "$f" "$SMALL_BYTES"
	SMALL+=("$f")
done
age-keygen -o "$TMP/age.key" 2>/dev/null
RECIPIENT=$(age-keygen -y "$TMP/age.key")

# newvault DIR: a fresh vault whose size limit admits the test files.
newvault() {
	"$COFFRE" --dir "$1" init >/dev/null
	echo "max_document_bytes = 2000000000" >"$1/coffre.conf"
}

# --- timing -------------------------------------------------------------

declare -A T # "scenario|tool" -> microseconds of each round
ORDER=()     # "scenario|tool" in the order they are to be reported

# timed KEY FUNC ARGS...: run FUNC, add its wall time to T[KEY], then sync.
timed() {
	local key=$1 t0 t1
	shift
	t0=${EPOCHREALTIME/./}
	"$@" || die "$key: $* failed"
	t1=${EPOCHREALTIME/./}
	T[$key]="${T[$key]:-} $((t1 - t0))"
	[ "${BENCH_VERBOSE:-0}" = 1 ] && note "$key: $(((t1 - t0) / 1000)) ms"
	sync
}

median() {
	tr ' ' '\n' <<<"$1" | awk 'NF' | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	        else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# rotate N ITEMS...: print ITEMS starting at index N modulo their number.
rotate() {
	local n=$1 i
	shift
	local a=("$@")
	for ((i = 0; i < ${#a[@]}; i++)); do
		echo "${a[$(((i + n) % ${#a[@]}))]}"
	done
}

warm() { cat "$@" >/dev/null; }

# --- scenario 1 and 2: one large file -----------------------------------
#
# Each unit seals, opens what it sealed, checks the round trip in the first
# round, then deletes its outputs before the next unit starts.  Keeping the
# page cache small this way matters on this VM: a write that needs memory
# the guest has not touched lately (or gave back to the host) pays a host
# page fault per page, which alone can triple the time of a 256 MiB write.

O=$TMP/out
ROUND=0

# roundtrip NAME A B: in the first round, A and B must be the same bytes.
roundtrip() {
	[ "$ROUND" != 0 ] || cmp -s "$2" "$3" || die "$1 round trip differs"
}

fresh() { rm -rf "$O" && mkdir -p "$O" "$@"; }
then_sync() { "$@" && sync; }

big_coffre() {
	local id
	fresh
	newvault "$O/vault"
	timed "big_seal|coffre_seal" big_coffre_seal
	id=$BIG_ID
	timed "big_open|coffre_open" "$COFFRE" --dir "$O/vault" open "$id" \
	    -o "$O/open"
	roundtrip coffre "$BIG" "$O/open"
}
big_coffre_seal() {
	BIG_ID=$("$COFFRE" --dir "$O/vault" seal --user u1 --community c1 "$BIG")
}
big_cp_sync() {
	fresh
	timed "big_seal|cp_sync" then_sync cp "$BIG" "$O/cp"
}
big_age() {
	fresh
	timed "big_seal|age_seal" age -r "$RECIPIENT" -o "$O/big.age" "$BIG"
	timed "big_open|age_open" age -d -i "$TMP/age.key" -o "$O/open" \
	    "$O/big.age"
	roundtrip age "$BIG" "$O/open"
}
big_age_sync() {
	fresh
	timed "big_seal|age_seal_sync" then_sync age -r "$RECIPIENT" \
	    -o "$O/big.age" "$BIG"
}
big_raw() {
	fresh
	timed "big_seal|raw_seal" "$RAW" seal "$BIG" "$O/big.raw"
	timed "big_open|raw_open" "$RAW" open "$O/big.raw" "$O/open"
	roundtrip raw_stream "$BIG" "$O/open"
	timed "big_open|raw_decipher" "$RAW" open "$O/big.raw" /dev/null
}
big_raw_wb() {
	fresh
	timed "big_seal|raw_seal_wb" "$RAW" seal -w "$BIG" "$O/big.raw"
}
big_raw_cipher() {
	fresh
	timed "big_seal|raw_cipher" "$RAW" seal "$BIG" /dev/null
}
big_cp() {
	fresh
	timed "big_open|cp" cp "$BIG" "$O/cp"
}

BIG_UNITS=(cp_sync age age_sync raw raw_wb raw_cipher cp)
ORDER+=("big_seal|cp_sync" "big_seal|age_seal" "big_seal|age_seal_sync"
    "big_seal|raw_seal" "big_seal|raw_seal_wb" "big_seal|raw_cipher"
    "big_open|age_open" "big_open|raw_open" "big_open|raw_decipher"
    "big_open|cp")
if [ "$SKIP_COFFRE" != 1 ]; then
	BIG_UNITS=(coffre "${BIG_UNITS[@]}")
	ORDER=("big_seal|coffre_seal" "big_open|coffre_open" "${ORDER[@]}")
fi

LOAD_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg)
START=${EPOCHREALTIME/./}
note "large file: $BIG_MIB MiB, $RUNS rounds"
warm "$BIG"
for ((ROUND = 0; ROUND < RUNS; ROUND++)); do
	for u in $(rotate "$ROUND" "${BIG_UNITS[@]}"); do
		"big_$u"
	done
done
fresh

# --- scenario 3 and 4: 1,000 small files, one process each ----------------

sm_coffre() {
	local i
	fresh "$O/open"
	newvault "$O/vault"
	timed "small_seal|coffre_seal" sm_coffre_seal
	timed "small_open|coffre_open" sm_coffre_open
	if [ "$ROUND" = 0 ]; then
		[ "$(wc -l <"$O/ids")" = "$NSMALL" ] ||
		    die "coffre sealed $(wc -l <"$O/ids") files, not $NSMALL"
		for ((i = 0; i < NSMALL; i++)); do
			roundtrip coffre "${SMALL[$i]}" "$O/open/$i"
		done
	fi
}
sm_coffre_seal() {
	local f
	for f in "${SMALL[@]}"; do
		"$COFFRE" --dir "$O/vault" seal --user u1 --community c1 "$f" ||
		    return 1
	done >"$O/ids"
}
sm_coffre_open() {
	local id i=0
	while read -r id; do
		"$COFFRE" --dir "$O/vault" open "$id" -o "$O/open/$i" || return 1
		i=$((i + 1))
	done <"$O/ids"
}
sm_cp_sync_end() {
	fresh "$O/cp"
	timed "small_seal|cp_sync_end" sm_cp_sync_end_loop
}
sm_cp_sync_end_loop() {
	local f
	for f in "${SMALL[@]}"; do
		cp "$f" "$O/cp/" || return 1
	done
	sync
}
sm_cp_sync_each() {
	fresh "$O/cp"
	timed "small_seal|cp_sync_each" sm_cp_sync_each_loop
}
sm_cp_sync_each_loop() {
	local f
	for f in "${SMALL[@]}"; do
		cp "$f" "$O/cp/" && sync "$O/cp/${f##*/}" || return 1
	done
}
sm_age() {
	local f
	fresh "$O/age" "$O/open"
	timed "small_seal|age_seal" sm_age_seal
	timed "small_open|age_open" sm_age_open
	for f in "${SMALL[@]}"; do
		roundtrip age "$f" "$O/open/${f##*/}"
	done
}
sm_age_seal() {
	local f
	for f in "${SMALL[@]}"; do
		age -r "$RECIPIENT" -o "$O/age/${f##*/}.age" "$f" || return 1
	done
}
sm_age_open() {
	local f
	for f in "${SMALL[@]}"; do
		age -d -i "$TMP/age.key" -o "$O/open/${f##*/}" \
		    "$O/age/${f##*/}.age" || return 1
	done
}
sm_raw() {
	local f
	fresh "$O/raw" "$O/open"
	timed "small_seal|raw_seal" sm_raw_seal
	timed "small_open|raw_open" sm_raw_open
	for f in "${SMALL[@]}"; do
		roundtrip raw_stream "$f" "$O/open/${f##*/}"
	done
}
sm_raw_seal() {
	local f
	for f in "${SMALL[@]}"; do
		"$RAW" seal "$f" "$O/raw/${f##*/}.raw" || return 1
	done
}
sm_raw_open() {
	local f
	for f in "${SMALL[@]}"; do
		"$RAW" open "$O/raw/${f##*/}.raw" "$O/open/${f##*/}" ||
		    return 1
	done
}
sm_cp() {
	fresh "$O/cp"
	timed "small_open|cp" sm_cp_loop
}
sm_cp_loop() {
	local f
	for f in "${SMALL[@]}"; do
		cp "$f" "$O/cp/" || return 1
	done
}

SM_UNITS=(cp_sync_end cp_sync_each age raw cp)
SM_ORDER=("small_seal|cp_sync_end" "small_seal|cp_sync_each"
    "small_seal|age_seal" "small_seal|raw_seal" "small_open|age_open"
    "small_open|raw_open" "small_open|cp")
if [ "$SKIP_COFFRE" != 1 ]; then
	SM_UNITS=(coffre "${SM_UNITS[@]}")
	SM_ORDER=("small_seal|coffre_seal" "small_open|coffre_open"
	    "${SM_ORDER[@]}")
fi
ORDER+=("${SM_ORDER[@]}")

note "small files: $NSMALL x 200 KiB, $LOOPS rounds"
warm "${SMALL[@]}"
for ((ROUND = 0; ROUND < LOOPS; ROUND++)); do
	for u in $(rotate "$ROUND" "${SM_UNITS[@]}"); do
		"sm_$u"
	done
done
fresh

# --- scenario 5: peak resident memory -----------------------------------

note "peak resident memory: $RSS_MIB MiB"
declare -A RSS # tool -> KiB
RSSF=$TMP/data/rss.png
mkdoc "$RSSF" $((RSS_MIB * 1024 * 1024))
rss() {
	local key=$1
	shift
	/usr/bin/time -f '%M %e' -o "$TMP/rss" "$@" >"$TMP/rss.out" ||
	    die "$key: $* failed"
	RSS[$key]=$(tail -n 1 "$TMP/rss")
	sync
}
if [ "$SKIP_COFFRE" != 1 ]; then
	newvault "$O/vault"
	rss coffre_seal "$COFFRE" --dir "$O/vault" seal --user u1 \
	    --community c1 "$RSSF"
	RSS_ID=$(head -n 1 "$TMP/rss.out")
	rss coffre_open "$COFFRE" --dir "$O/vault" open "$RSS_ID" -o "$O/rss.open"
	rm -rf "$O/rss.open" "$O/vault"
fi
rss age_seal age -r "$RECIPIENT" -o "$O/rss.age" "$RSSF"
rss age_open age -d -i "$TMP/age.key" -o "$O/rss.open" "$O/rss.age"
rm -f "$O/rss.open" "$O/rss.age"
rss raw_seal "$RAW" seal "$RSSF" "$O/rss.raw"
rss raw_open "$RAW" open "$O/rss.raw" "$O/rss.open"
fresh

END=${EPOCHREALTIME/./}
LOAD_AFTER=$(cut -d ' ' -f 1-3 /proc/loadavg)

# --- report -------------------------------------------------------------

label() {
	case $1 in
	big_seal\|coffre_seal) echo "coffre seal (durable)" ;;
	big_seal\|cp_sync) echo "cp + sync" ;;
	big_seal\|age_seal) echo "age -r (no sync)" ;;
	big_seal\|age_seal_sync) echo "age -r + sync" ;;
	big_seal\|raw_seal) echo "raw secretstream + fdatasync" ;;
	big_seal\|raw_seal_wb) echo "raw secretstream + fdatasync, write-back overlapped" ;;
	big_seal\|raw_cipher) echo "raw secretstream to /dev/null (cipher alone)" ;;
	big_open\|coffre_open) echo "coffre open -o" ;;
	big_open\|age_open) echo "age -d -o" ;;
	big_open\|raw_open) echo "raw secretstream open" ;;
	big_open\|raw_decipher) echo "raw secretstream open to /dev/null" ;;
	big_open\|cp) echo "cp (no sync)" ;;
	small_seal\|coffre_seal) echo "coffre seal (durable), one process per file" ;;
	small_seal\|cp_sync_end) echo "cp per file + one sync at the end" ;;
	small_seal\|cp_sync_each) echo "cp + sync FILE per file" ;;
	small_seal\|age_seal) echo "age -r per file (no sync)" ;;
	small_seal\|raw_seal) echo "raw secretstream + fdatasync per file" ;;
	small_open\|coffre_open) echo "coffre open -o per file" ;;
	small_open\|age_open) echo "age -d per file" ;;
	small_open\|raw_open) echo "raw secretstream open per file" ;;
	small_open\|cp) echo "cp per file (no sync)" ;;
	*) echo "$1" ;;
	esac
}

declare -A MED SPREAD
FAILED=0
for k in "${ORDER[@]}"; do
	MED[$k]=$(median "${T[$k]}")
	SPREAD[$k]=$(tr ' ' '\n' <<<"${T[$k]}" | awk 'NF' | sort -n |
	    awk 'NR == 1 { lo = $1 } { hi = $1 }
	        END { printf "%.3f–%.3f", lo / 1e6, hi / 1e6 }')
done

# ratio A B: throughput(A) / throughput(B) = time(B) / time(A), as x.xx.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }

{
	echo "# coffre benchmark"
	echo
	echo "Command: \`make bench\`$([ "$QUICK" = 1 ] && echo " (BENCH_QUICK=1)")," \
	    "on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
	echo
	echo "- machine: $(nproc) cores," \
	    "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
	    "$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)," \
	    "kernel $(uname -r)"
	echo "- disk: $(df -PT "$ROOT/build" | awk 'NR == 2 { print $2 " on " $1 }')" \
	    "(the data is under build/bench-tmp, not tmpfs)"
	echo "- load average (1, 5, 15 min): $LOAD_BEFORE before, $LOAD_AFTER after"
	echo "- coffre: $COFFRE_VERSION; age $AGE_VERSION;" \
	    "libsodium $(pkg-config --modversion libsodium)"
	echo "- large file: $BIG_MIB MiB, median of $RUNS rounds;" \
	    "small files: $NSMALL x 200 KiB, median of $LOOPS rounds"
	echo "- ratio: throughput of coffre / throughput of that row" \
	    "(above 1: coffre is faster)"
	echo "- run time: $(((END - START) / 1000000)) s"
	echo
	for sc in big_seal big_open small_seal small_open; do
		case $sc in
		big_seal) echo "## Seal one $BIG_MIB MiB file" ;;
		big_open) echo "## Open one $BIG_MIB MiB file" ;;
		small_seal) echo "## Seal $NSMALL files of 200 KiB, one process each" ;;
		small_open) echo "## Open $NSMALL files of 200 KiB, one process each" ;;
		esac
		echo
		case $sc in
		big_*)
			echo "| tool | median s | min–max s | MiB/s | coffre ratio |"
			echo "|---|---:|---:|---:|---:|"
			;;
		small_*)
			echo "| tool | median s | min–max s | files/s | MiB/s | coffre ratio |"
			echo "|---|---:|---:|---:|---:|---:|"
			;;
		esac
		for k in "${ORDER[@]}"; do
			[ "${k%%|*}" = "$sc" ] || continue
			us=${MED[$k]}
			c=${MED[$sc|coffre_seal]:-${MED[$sc|coffre_open]:-}}
			if [ -n "$c" ]; then r=$(ratio "$c" "$us"); else r="n/a"; fi
			case $sc in
			big_*)
				awk -v l="$(label "$k")" -v us="$us" -v mib="$BIG_MIB" \
				    -v r="$r" -v sp="${SPREAD[$k]}" 'BEGIN {
				    printf "| %s | %.3f | %s | %.0f | %s |\n",
				    l, us / 1e6, sp, mib / (us / 1e6), r }'
				;;
			small_*)
				awk -v l="$(label "$k")" -v us="$us" -v n="$NSMALL" \
				    -v r="$r" -v sp="${SPREAD[$k]}" 'BEGIN {
				    printf "| %s | %.3f | %s | %.0f | %.1f | %s |\n",
				    l, us / 1e6, sp, n / (us / 1e6),
				    n * 200 / 1024 / (us / 1e6), r }'
				;;
			esac
		done
		echo
	done
	echo "## Peak resident memory, $RSS_MIB MiB file"
	echo
	echo "One run each, under \`/usr/bin/time -f %M\`; the times are for"
	echo "information only (one run, no sync for age)."
	echo
	echo "| tool | seal: peak RSS MiB | seal s | open: peak RSS MiB | open s |"
	echo "|---|---:|---:|---:|---:|"
	for t in coffre age raw; do
		[ -n "${RSS[${t}_seal]:-}" ] || continue
		# shellcheck disable=SC2086 # "KiB seconds", split on purpose
		awk -v t="$t" 'BEGIN { printf "| %s | %.1f | %.2f | %.1f | %.2f |\n",
		    (t == "raw" ? "raw secretstream" : t), ARGV[1] / 1024, ARGV[2],
		    ARGV[3] / 1024, ARGV[4]; exit }' \
		    ${RSS[${t}_seal]} ${RSS[${t}_open]}
	done
	echo
	echo "## Targets"
	echo
	if [ "$SKIP_COFFRE" = 1 ]; then
		echo "Not checked: coffre was not measured."
	else
		echo "| target | wanted | measured | |"
		echo "|---|---:|---:|---|"
		# check TEXT WANTED MEASURED OP: OP is ge or lt.
		check() {
			local ok
			ok=$(awk -v m="$3" -v w="$2" -v op="$4" 'BEGIN {
			    print ((op == "ge" ? m >= w : m < w) ? "pass" : "FAIL") }')
			[ "$ok" = pass ] || FAILED=1
			echo "| $1 | $([ "$4" = ge ] && echo "≥" || echo "<") $2 | $3 | $ok |"
		}
		check "seal $BIG_MIB MiB: coffre / (cp + sync)" 0.75 \
		    "$(ratio "${MED[big_seal|coffre_seal]}" "${MED[big_seal|cp_sync]}")" ge
		check "seal $BIG_MIB MiB: coffre / age -r" 1.5 \
		    "$(ratio "${MED[big_seal|coffre_seal]}" "${MED[big_seal|age_seal]}")" ge
		check "open $BIG_MIB MiB: coffre / age -d" 1.2 \
		    "$(ratio "${MED[big_open|coffre_open]}" "${MED[big_open|age_open]}")" ge
		check "seal $NSMALL x 200 KiB: coffre / age -r" 3 \
		    "$(ratio "${MED[small_seal|coffre_seal]}" "${MED[small_seal|age_seal]}")" ge
		check "peak RSS, seal $RSS_MIB MiB (MiB)" 32 \
		    "$(awk -v k="${RSS[coffre_seal]% *}" 'BEGIN { printf "%.1f", k / 1024 }')" lt
		check "peak RSS, open $RSS_MIB MiB (MiB)" 32 \
		    "$(awk -v k="${RSS[coffre_open]% *}" 'BEGIN { printf "%.1f", k / 1024 }')" lt
		if [ "$QUICK" = 1 ]; then
			echo
			echo "BENCH_QUICK=1: smaller data and fewer rounds; the targets" \
			    "are set for a full run."
		fi
	fi
} >"$RESULTS"

cat "$RESULTS"
note "written to $RESULTS"
if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$FAILED" = 1 ]; then
	die "a target was missed"
fi
exit 0
