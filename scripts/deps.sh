#!/usr/bin/env bash
# deps.sh: install the Debian packages that coffre needs to build, test,
# fuzz, run its demo and its benchmarks.  Quiet when nothing is missing.
# As root it installs what is missing (apt-get, no prompts); otherwise it
# prints the one command to run and exits 1.
#
#   scripts/deps.sh           install what is missing
#   scripts/deps.sh --list    print the package list and exit
set -euo pipefail

PACKAGES=(
	# build
	build-essential pkg-config clang
	libsodium-dev liblmdb-dev libmagic-dev libmagic-mgc libarchive-dev
	libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev
	# tests: cmocka, libFuzzer's runtime, LMDB's tools, the e2e helpers
	libcmocka-dev libclang-rt-dev lmdb-utils python3 curl
	# make coverage: line and branch reports from gcc's counters
	gcovr
	# benchmarks (bench/run.sh compares with age, bench/serve.sh with
	# restic)
	age time file eatmydata restic zip unzip
)

if [ "${1:-}" = "--list" ]; then
	printf '%s\n' "${PACKAGES[@]}"
	exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: this is not a Debian-like system (no dpkg-query);" \
	    "install the equivalents of: ${PACKAGES[*]}" >&2
	exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing+=("$p") ;;
	esac
done

[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: install them with:" >&2
	echo "sudo apt-get install --no-install-recommends ${missing[*]}"
	exit 1
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
