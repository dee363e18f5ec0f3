#!/usr/bin/env bash
# bench/keys.sh: the benchmarks of shredding, sweeping and the audit log,
# run by `make bench` after bench/run.sh (docs/BENCHMARKS.md).  Each program
# builds its vault through the library in big transactions, then measures
# through the public API; everything here runs in one go, so the figures
# (and the fsync latency they are compared with) come from the same run.
#
#   BENCH_QUICK=1   smaller vaults (10,000 users instead of 1,000,000, ...)
#   BENCH_DIR       where the programs are (make passes build/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BENCH_DIR:-$PWD/build/bench}
TMP=$PWD/build/bench-tmp/keys
OUT=$PWD/build/bench/keys-results.md
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	BIG_USERS=10000 CONTRACTS=20000 EVENTS=100000 SCANDOCS=10000
else
	BIG_USERS=1000000 CONTRACTS=200000 EVENTS=1000000 SCANDOCS=100000
fi
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT

echo "bench: shredding one user in vaults of 1,000 and $BIG_USERS users (5 documents each)" >&2
small=$("$BIN/shred_bench" "$TMP/s1" 1000 5 21 | tail -1)
rm -rf "$TMP/s1"
large_all=$("$BIN/shred_bench" "$TMP/s2" "$BIG_USERS" 5 21)
large=$(printf '%s\n' "$large_all" | tail -1)
batch=$(printf '%s\n' "$large_all" | grep '^batch:')
rm -rf "$TMP/s2"
echo "bench: sweeping in a vault of $((CONTRACTS * 5)) archives" >&2
sweep=$("$BIN/sweep_bench" "$TMP/w" "$CONTRACTS" 5 10)
rm -rf "$TMP/w"
echo "bench: the audit log ($EVENTS events)" >&2
audit=$("$BIN/audit_bench" "$TMP/a" "$EVENTS" 1000 200)
rm -rf "$TMP/a"

echo "bench: audit scan of a vault of $SCANDOCS documents (built without syncs: eatmydata)" >&2
scan=$(eatmydata "$BIN/scan_bench" "$TMP/sc" "$SCANDOCS" 8192)
rm -rf "$TMP/sc"

get() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
ms_small=$(get "$small" shred_median_ms)
ms_large=$(get "$large" shred_median_ms)
{
	echo "## Shredding, sweeping, audit log ($(date -u +%Y-%m-%d), $(nproc) cores)"
	echo
	echo "| measure | value |"
	echo "|---|---:|"
	echo "| shred one user, 1,000 users: median (p90) | $ms_small ms ($(get "$small" shred_p90_ms) ms) |"
	echo "| shred one user, $BIG_USERS users: median (p90) | $ms_large ms ($(get "$large" shred_p90_ms) ms) |"
	echo "| ratio large / small (target < 2) | $(awk -v a="$ms_large" -v b="$ms_small" 'BEGIN { printf "%.2f", a / b }') |"
	echo "| key wraps per shred, 1,000 / $BIG_USERS users | $(get "$small" wraps_per_shred) / $(get "$large" wraps_per_shred) |"
	echo "| fsync (4 KiB + fdatasync) median, same disk, same run | $(get "$large" fsync_median_ms) ms |"
	echo "| shred in fsyncs, large vault (target ≤ 4) | $(get "$large" shred_in_fsyncs) |"
	echo "| batch | ${batch#batch: } |"
	echo "| sweep: $(get "$sweep" expired) expired of $(get "$sweep" archives) archives | $(get "$sweep" sweep_s) s, $(get "$sweep" keys_destroyed) keys destroyed, $(get "$sweep" nodes_rekeyed) nodes re-keyed, $(get "$sweep" wraps) wraps, $(get "$sweep" root_changes) root change |"
	echo "| audit verify, $(get "$audit" audit_events) lines ($(get "$audit" checkpoints) checkpoints), vault / export (target < 10 s) | $(get "$audit" verify_vault_s) s / $(get "$audit" verify_export_s) s |"
	echo "| audit scan, $(get "$scan" documents) documents of 8 KiB, $(get "$scan" bytes) bytes (target < 60 s) | $(get "$scan" scan_s) s: $(get "$scan" markers) samples, $(get "$scan" candidates) key records ($(get "$scan" stale) stale), $(get "$scan" opened) opened, $(get "$scan" plaintext_hits) plaintext hits |"
	echo "| audit cost per seal of 200 KiB (target < 5%) | $(get "$audit" audit_per_seal_ms) ms of $(get "$audit" seal_200k_median_ms) ms = $(get "$audit" audit_share_of_seal) |"
} >"$OUT"
cat "$OUT"
echo "bench: written to $OUT" >&2
