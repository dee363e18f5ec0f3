#!/usr/bin/env bash
# bench/bundle.sh: import and export throughput (issue 7), run by `make
# bench` and `make bench-bundle`.  500 documents of 2 MiB (PDFs: a sample
# PDF and random bytes, so that nothing compresses), in one run, side by
# side:
#
#   - coffre import of a tar and of a zip (stored) of them, into a fresh
#     vault, against `tar -xf` and `unzip -q` of the same bundles into a
#     folder (the reference: what extracting them costs, synced);
#   - coffre export of the user's 500 documents to .tar and .zip, against
#     `tar -cf` and `zip -0 -q` of the same files (synced).
#
# Throughput is MB/s of plaintext (1 MB = 10^6 bytes), best of BENCH_RUNS
# rounds (default 3); every timed command ends with its data synced.
#
# Environment: COFFRE_BIN (default build/coffre), BENCH_RUNS, BENCH_DOCS
# (default 500), BENCH_KEEP=1 keeps build/bench-tmp/bundle.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
B=${COFFRE_BIN:-$PWD/build/coffre}
RUNS=${BENCH_RUNS:-3}
N=${BENCH_DOCS:-500}
T=$PWD/build/bench-tmp/bundle
OUT=$PWD/build/bench/bundle-results.md
rm -rf "$T"
mkdir -p "$T/in" "$(dirname "$OUT")"
for tool in tar unzip zip python3; do
	command -v "$tool" >/dev/null || { echo "bench/bundle.sh: needs $tool" >&2; exit 1; }
done

python3 - "$T/in" "$N" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
pdf = open("samples/sample.pdf", "rb").read()
for i in range(n):
    with open(f"{d}/doc{i:04d}.pdf", "wb") as f:
        f.write(pdf + os.urandom(2 * 1024 * 1024 - len(pdf)))
EOF
BYTES=$(du -sb "$T/in" | cut -f1)
(cd "$T/in" && tar -cf "$T/docs.tar" ./*.pdf && zip -0 -q "$T/docs.zip" ./*.pdf)
sync

now() { date +%s.%N; }
# best NAME SECONDS: keep the smallest time of NAME
declare -A BEST
best() {
	local cur=${BEST[$1]:-}
	if [ -z "$cur" ] || awk -v a="$2" -v b="$cur" 'BEGIN { exit !(a < b) }'; then
		BEST[$1]=$2
	fi
}
timed() {
	local name=$1 t0 t1
	shift
	t0=$(now)
	"$@" >/dev/null
	sync
	t1=$(now)
	best "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
}

for r in $(seq 1 "$RUNS"); do
	for fmt in tar zip; do
		rm -rf "$T/v" "$T/x"
		"$B" --dir "$T/v" init >/dev/null
		timed "import-$fmt" "$B" --dir "$T/v" import --user u1 --community c "$T/docs.$fmt"
		mkdir "$T/x"
		if [ "$fmt" = tar ]; then
			timed "extract-tar" tar -xf "$T/docs.tar" -C "$T/x"
		else
			timed "extract-zip" unzip -q "$T/docs.zip" -d "$T/x"
		fi
		rm -f "$T/e.$fmt" "$T/r.$fmt"
		timed "export-$fmt" "$B" --dir "$T/v" export --user u1 -o "$T/e.$fmt"
		if [ "$fmt" = tar ]; then
			timed "create-tar" tar -cf "$T/r.tar" -C "$T/x" .
		else
			timed "create-zip" sh -c "cd '$T/x' && zip -0 -q '$T/r.zip' ./*.pdf"
		fi
	done
	echo "round $r done" >&2
done
# The last export holds every document: checked, not timed.
python3 - "$T/e.zip" "$N" <<'EOF'
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
m = json.loads(z.read("manifest.json"))
assert len(m["documents"]) == int(sys.argv[2]), len(m["documents"])
EOF

mbs() { awk -v b="$BYTES" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
{
	echo "## Bundles: import and export of $N documents of 2 MiB ($((BYTES / 1000000)) MB)"
	echo
	echo "Script: bench/bundle.sh (\`make bench-bundle\`), on $(date -u +%Y-%m-%dT%H:%M:%SZ), best of $RUNS rounds, $(nproc) cores; every timed command ends synced."
	echo
	echo "| operation | coffre MB/s | reference | reference MB/s | coffre / reference |"
	echo "|---|---:|---|---:|---:|"
	echo "| import a tar | $(mbs "${BEST[import-tar]}") | \`tar -xf\` to a folder | $(mbs "${BEST[extract-tar]}") | $(ratio "${BEST[import-tar]}" "${BEST[extract-tar]}") |"
	echo "| import a zip (stored) | $(mbs "${BEST[import-zip]}") | \`unzip -q\` to a folder | $(mbs "${BEST[extract-zip]}") | $(ratio "${BEST[import-zip]}" "${BEST[extract-zip]}") |"
	echo "| export to .tar | $(mbs "${BEST[export-tar]}") | \`tar -cf\` of the files | $(mbs "${BEST[create-tar]}") | $(ratio "${BEST[export-tar]}" "${BEST[create-tar]}") |"
	echo "| export to .zip | $(mbs "${BEST[export-zip]}") | \`zip -0 -q\` of the files | $(mbs "${BEST[create-zip]}") | $(ratio "${BEST[export-zip]}" "${BEST[create-zip]}") |"
} | tee "$OUT"
[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$T"
