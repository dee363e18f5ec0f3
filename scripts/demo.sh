#!/usr/bin/env bash
# demo.sh: `make demo`.  A guided tour of coffre on a vault in ./coffre-data:
# install what is missing, build, create the vault (or reuse the one there),
# seal the three sample documents of one applicant, list them, read one back
# and check it is the same file, review them, list again.
#
# Each step prints its heading and the commands it runs, so that the output
# reads as a short lesson.  Run it again to add three more documents to the
# same vault; `rm -rf coffre-data` starts afresh.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

MAKE=${MAKE:-make}
DATA=coffre-data
BIN=build/coffre
USER_ID=user-42
COMMUNITY=medecins

# Only this demo's vault, whatever the environment says.
unset COFFRE_DIR COFFRE_SOCKET COFFRE_PASSPHRASE_FILE

step() {
	printf '\n== %s\n' "$*"
}

# say CMD ARGS...: print the command as a user would type it.
say() {
	local shown=("$@") i
	[ "${shown[0]}" = "$BIN" ] && shown[0]=coffre
	for i in "${!shown[@]}"; do
		case ${shown[$i]} in
		*[!A-Za-z0-9._/:=@-]*) shown[i]=\"${shown[i]}\" ;;
		esac
	done
	printf '$ %s\n' "${shown[*]}"
}

# show CMD ARGS...: print it, then run it.
show() {
	say "$@"
	"$@"
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/coffre-demo.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'echo "demo: the step above failed (exit $?); see the message above" >&2' ERR

step "0. install what is missing, and build"
bash scripts/deps.sh
"$MAKE" --no-print-directory all
echo "built $BIN ($("$BIN" --version))"

step "1. create the vault"
if [ -e "$DATA" ]; then
	echo "./$DATA exists already: the demo reuses it (rm -rf $DATA to start afresh)."
else
	echo "A new vault in ./$DATA: the root key goes to $DATA/keys/ (mode 0600),"
	echo "and the audit public key is printed and kept in $DATA/audit.pub."
	show "$BIN" --dir "$DATA" init
fi

step "2. seal three documents for $USER_ID, applying to the community $COMMUNITY"
echo "Each is encrypted under a key of its own; seal prints the new document's id."
# seal VAR KIND NAME FILE: seal FILE, show its id, and keep it in $VAR.
seal() {
	local var=$1 kind=$2 name=$3 file=$4
	set -- "$BIN" --dir "$DATA" seal --user "$USER_ID" \
	    --community "$COMMUNITY" --kind "$kind" --name "$name" "$file"
	say "$@"
	"$@" | tee "$TMP/id"
	printf -v "$var" '%s' "$(cat "$TMP/id")"
}
diploma='' photo='' idcard=''
seal diploma diploma "Diplome de docteur en medecine.pdf" samples/sample.pdf
seal photo photo "Photo d'identite.png" samples/sample.png
seal idcard id-card "Carte d'identite.jpg" samples/sample.jpg

step "3. the review queue: every document, oldest first"
echo "(id, status, user, community, kind, type, size, created)"
show "$BIN" --dir "$DATA" list --user "$USER_ID"

step "4. what the vault knows of one document"
show "$BIN" --dir "$DATA" info "$diploma"

step "5. open it: decrypt it to a file, and compare with the original"
show "$BIN" --dir "$DATA" open "$diploma" -o "$TMP/diploma.pdf"
show cmp samples/sample.pdf "$TMP/diploma.pdf"
echo "identical: $(wc -c <"$TMP/diploma.pdf") bytes, the same as samples/sample.pdf"

step "6. review: approve the diploma and the id card, reject the photo"
show "$BIN" --dir "$DATA" approve "$diploma" --note "diploma checked against the registry"
show "$BIN" --dir "$DATA" approve "$idcard" --note "identity matches the profile"
show "$BIN" --dir "$DATA" reject "$photo" --reason "photo too small to recognise the person"

step "7. the queue again: the statuses have changed"
show "$BIN" --dir "$DATA" list --user "$USER_ID"
say "$BIN" --dir "$DATA" list --status pending
pending=$("$BIN" --dir "$DATA" list --status pending)
if [ -n "$pending" ]; then
	printf '%s\n' "$pending"
else
	echo "(nothing left to review)"
fi

LEAVER="user-$(date +%s)"
step "8. another applicant, $LEAVER, deletes the account: crypto-shredding"
echo "Their keys are destroyed and the key path re-keyed under a new root:"
echo "no copy of the vault's bytes, old backups included, opens their document."
set -- "$BIN" --dir "$DATA" seal --user "$LEAVER" --community "$COMMUNITY" \
    --name "Diplome.pdf" samples/sample.pdf
say "$@"
"$@" | tee "$TMP/leaver"
leaver_doc=$(cat "$TMP/leaver")
show "$BIN" --dir "$DATA" shred --user "$LEAVER"
say "$BIN" --dir "$DATA" open "$leaver_doc"
"$BIN" --dir "$DATA" open "$leaver_doc" >/dev/null 2>"$TMP/err" || true
cat "$TMP/err"
echo "(exit 4: gone.  A new seal for $LEAVER is refused the same way.)"

step "9. the auditor's view: the signed log, the shred report, the forensic scan"
show "$BIN" --dir "$DATA" audit verify
show "$BIN" --dir "$DATA" audit log --user "$LEAVER"
show "$BIN" --dir "$DATA" audit scan

step "done"
echo "The vault is in ./$DATA.  Try: $BIN --dir $DATA info $photo"
echo "Every command is described in docs/CLI.md and in man docs/coffre.1."
