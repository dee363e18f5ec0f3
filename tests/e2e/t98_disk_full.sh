#!/usr/bin/env bash
# t98_disk_full: a vault on a small file system (a tmpfs of 24 MiB the test
# mounts) filled up for real.  A seal that does not fit fails with exit 1
# and a clear message; nothing acknowledged is lost; once space is freed
# the vault works on without repair: `check` is clean, the log verifies,
# new seals go through (issue 8).  Needs root (mount); skipped otherwise.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

M=$W/small
mkdir -p "$M"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=24m,mode=0700 tmpfs "$M" 2>/dev/null; then
	skip "disk full" "needs root and a tmpfs mount"
	finish
	exit
fi
trap 'umount -l "$M" 2>/dev/null' EXIT
V=$M/vault
mkvault "$V" || { finish; exit; }
need_sample sample.pdf || { finish; exit; }

# Documents of 1 MiB each, all different.
mk() {
	{
		cat "$SAMPLE"
		head -c $((1024 * 1024)) /dev/urandom
	} >"$W/d$1.pdf"
}

# Seal until the file system is full; every acknowledged id is kept with
# its input.
acked=()
full_rc=
full_err=
for i in $(seq 1 40); do
	mk "$i"
	run c --dir "$V" seal --user "u$((i % 3))" --community c1 "$W/d$i.pdf"
	if [ "$STATUS" = 0 ]; then
		acked+=("$i:$(cat "$OUT")")
	else
		full_rc=$STATUS
		full_err=$(head -c 300 "$ERR")
		break
	fi
done
check "the file system fills up before 40 MiB of documents" test -n "$full_rc"
check "a seal that does not fit fails with exit 1 (got ${full_rc:-none})" \
    test "${full_rc:-0}" = 1
check_re "and says why: $full_err" "$full_err" \
    '^coffre: .*(No space left on device|space|full)'
check "some documents were acknowledged before (${#acked[@]})" \
    test "${#acked[@]}" -ge 5

# Everything acknowledged opens byte for byte while the disk is full.
bad=0
for a in "${acked[@]}"; do
	n=${a%%:*}
	id=${a#*:}
	c --dir "$V" open "$id" >"$W/o.pdf" 2>/dev/null && cmp -s "$W/o.pdf" "$W/d$n.pdf" ||
		bad=$((bad + 1))
done
check "every acknowledged document opens byte for byte on a full disk" test "$bad" = 0

# More seals on the full disk fail cleanly, again and again.
again=0
for i in 1 2 3; do
	run c --dir "$V" seal --user u9 --community c1 "$W/d1.pdf"
	[ "$STATUS" = 1 ] && again=$((again + 1))
	crashed && again=100
done
check "further seals on a full disk fail with exit 1, no crash" test "$again" = 3
run c --dir "$V" list
t_rc 0 "list works on a full disk"

# Free space: a document shred does not free ciphertext (segments are
# append-only), so the test removes a file of its own it put there.
dd if=/dev/zero of="$M/ballast" bs=1M count=1 2>/dev/null
rm -f "$M/ballast"
umount_size() { mount -o remount,size="$1" "$M"; }
if umount_size 48m; then
	pass "the file system grows to 48 MiB (space freed)"
else
	fail "the file system grows to 48 MiB (space freed)" "remount failed"
fi
run c --dir "$V" check
t_rc 0 "check is clean after the disk was full"
run c --dir "$V" audit verify
t_rc 0 "the audit log verifies after the disk was full"
mk 99
run c --dir "$V" seal --user u1 --community c1 "$W/d99.pdf"
t_rc 0 "a seal works again once space is freed"
new=$(cat "$OUT")
run c --dir "$V" open "$new" -o "$W/o99.pdf"
expect_same "and opens byte for byte" "$W/d99.pdf" "$W/o99.pdf"
bad=0
for a in "${acked[@]}"; do
	n=${a%%:*}
	id=${a#*:}
	c --dir "$V" open "$id" >"$W/o.pdf" 2>/dev/null && cmp -s "$W/o.pdf" "$W/d$n.pdf" ||
		bad=$((bad + 1))
done
check "every acknowledged document still opens byte for byte" test "$bad" = 0
run c --dir "$V" shred --user u1
t_rc 0 "shred works after the disk was full"
run c --dir "$V" check
t_rc 0 "check is clean at the end"
umount -l "$M"
trap - EXIT
finish
