#!/usr/bin/env bash
# t30_review: list (text and --json, oldest first, filters), info, approve
# and reject (notes, reasons, the latest review counts, reviews oldest first),
# and their errors.  SPEC.md sections 3 and 4; docs/CLI.md.
#
# A bad --status value is rejected input: exit 5 (like a malformed id), not
# a usage error.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

V=$W/vault
mkvault "$V" || { finish; exit; }
ISO_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
ID_RE='^[A-Za-z0-9_-]+$'

$GEN png "$W/a.png" --text t30-a
$GEN pdf "$W/b.pdf" --text t30-b
$GEN png "$W/c.png" --text t30-c-longer-text
$GEN png "$W/d.png" --text t30-d
$GEN pdf "$W/e.pdf" --text t30-e-longer

D1=$(sealid "$V" --user u1 --community medecins --kind id-card --name "carte.png" "$W/a.png")
# D2 comes from stdin, with neither --kind nor --name: its kind and name are
# "" (a file's name may default to its base name).
D2=$(c --dir "$V" seal --user u2 --community avocats - <"$W/b.pdf" 2>/dev/null)
D3=$(sealid "$V" --user u1 --community avocats --kind diploma "$W/c.png")
D4=$(sealid "$V" --user u3 --community medecins "$W/d.png")
D5=$(sealid "$V" --user u2 --community medecins "$W/e.pdf")
ALL="$D1 $D2 $D3 $D4 $D5"
good=0
for d in $D1 $D2 $D3 $D4 $D5; do [[ $d =~ $ID_RE ]] && good=$((good + 1)); done
check "seal the five test documents" test "$good" -eq 5

# ids_text / ids_json: the ids of the last run's list output, space-separated.
ids_text() { cut -f1 "$OUT" | tr '\n' ' ' | sed 's/ $//'; }
ids_json() { jv "$OUT" '" ".join(x["id"] for x in d["documents"])' 2>/dev/null; }

# t_list NAME WANT ARGS...: list ARGS, text and --json, give WANT in order.
t_list() {
	local name=$1 want=$2
	shift 2
	run c --dir "$V" list "$@"
	if [ "$STATUS" -eq 0 ] && [ "$(ids_text)" = "$want" ]; then
		pass "list $name"
	else
		fail "list $name" "want [$want] got [$(ids_text)]; $(why)"
	fi
	run c --dir "$V" --json list "$@"
	if [ "$STATUS" -eq 0 ] && [ "$(ids_json)" = "$want" ]; then
		pass "list --json $name"
	else
		fail "list --json $name" "want [$want] got [$(ids_json)]; $(why)"
	fi
}

# --- list: the text form ---------------------------------------------------------

run c --dir "$V" list
t_rc 0 "list exits 0"
check "list: one line per document, oldest first" test "$(ids_text)" = "$ALL"
bad_lines=$(awk -F'\t' 'NF != 8' "$OUT" | wc -l)
check "list: every line has 8 tab-separated fields" test "$bad_lines" -eq 0
IFS=$'\t' read -r l_id l_status l_user l_comm l_kind l_type l_size l_created < <(sed -n 1p "$OUT")
check "list line: id, status, user, community, kind, type, size" test \
	"$l_id|$l_status|$l_user|$l_comm|$l_kind|$l_type|$l_size" = \
	"$D1|pending|u1|medecins|id-card|image/png|$(fsize "$W/a.png")"
check_re "list line: created is UTC ISO 8601" "$l_created" "$ISO_RE"
IFS=$'\t' read -r _ _ l2_user _ l2_kind l2_type l2_size _ < <(sed -n 2p "$OUT")
check "list line: kind '-' when none, type application/pdf" test \
	"$l2_user|$l2_kind|$l2_type|$l2_size" = "u2|-|application/pdf|$(fsize "$W/b.pdf")"

# created is the UTC time of sealing, whatever the caller's time zone.
TZ=XYZ-13:45 run c --dir "$V" --json list
if "$PY" -c '
import json, sys, time, calendar
d = json.load(open(sys.argv[1]))
now = time.time()
for x in d["documents"]:
    t = calendar.timegm(time.strptime(x["created"], "%Y-%m-%dT%H:%M:%SZ"))
    if abs(now - t) > 600:
        sys.exit(1)' "$OUT" 2>/dev/null; then
	pass "created is UTC (within 10 minutes of now) under TZ=XYZ-13:45"
else
	fail "created is UTC (within 10 minutes of now) under TZ=XYZ-13:45" "$(head -c 300 "$OUT")"
fi

# --- list: the JSON form -----------------------------------------------------------

run c --dir "$V" --json list
t_rc 0 "list --json exits 0"
check "list --json: documents oldest first" test "$(ids_json)" = "$ALL"
check "list --json: the fields of info, without reviews" jv "$OUT" \
	'all(set(x) == {"id","user","community","kind","name","type","size","status","created"} for x in d["documents"])'
check "list --json: first document's values" jv "$OUT" \
	'd["documents"][0] == dict(d["documents"][0], id="'"$D1"'", user="u1", community="medecins", kind="id-card", name="carte.png", type="image/png", size='"$(fsize "$W/a.png")"', status="pending")'
check "list --json: kind and name are \"\" when not given" jv "$OUT" \
	'd["documents"][1]["kind"] == "" and d["documents"][1]["name"] == ""'
check "list --json: size is a number" jv "$OUT" 'all(type(x["size"]) is int for x in d["documents"])'

# --- filters -----------------------------------------------------------------------

t_list "--user u1" "$D1 $D3" --user u1
t_list "--community avocats" "$D2 $D3" --community avocats
t_list "--user u1 --community avocats" "$D3" --user u1 --community avocats
t_list "--community medecins" "$D1 $D4 $D5" --community medecins
t_list "--status pending (all)" "$ALL" --status pending
t_list "--user nobody (none)" "" --user nobody
t_list "--status approved (none yet)" "" --status approved
run c --dir "$V" list --user nobody
check "list with no match prints nothing" test ! -s "$OUT"
run c --dir "$V" list --status bogus
t_err 5 "list --status bogus exits 5"
run c --dir "$V" list --user "a b"
t_err 5 "list --user with a malformed id exits 5"
run c --dir "$V" list --community "a/b"
t_err 5 "list --community with a malformed id exits 5"

# --- info --------------------------------------------------------------------------

run c --dir "$V" info "$D1"
t_rc 0 "info exits 0"
check "info: key: value lines id, user, community, kind, name, type, size, status, created" test \
	"$(head -n 9 "$OUT" | cut -d: -f1 | tr '\n' ' ')" = "id user community kind name type size status created "
check "info: values" test "$(head -n 8 "$OUT" | tr '\n' '|')" = \
	"id: $D1|user: u1|community: medecins|kind: id-card|name: carte.png|type: image/png|size: $(fsize "$W/a.png")|status: pending|"
created=$(sed -n 's/^created: //p' "$OUT")
check_re "info: created is UTC ISO 8601" "$created" "$ISO_RE"
check "info: no review line before any review" test "$(grep -c '^review: ' "$OUT")" -eq 0
run c --dir "$V" --json info "$D2"
check "info --json: every field, reviews []" jv "$OUT" \
	'set(d) == {"id","user","community","kind","name","type","size","status","created","reviews"} and d["reviews"] == [] and d["id"] == "'"$D2"'" and d["user"] == "u2" and d["kind"] == "" and d["name"] == "" and d["type"] == "application/pdf" and d["size"] == '"$(fsize "$W/b.pdf")"' and d["status"] == "pending"'

# --- approve and reject --------------------------------------------------------------

run c --dir "$V" approve "$D1"
t_rc 0 "approve without --note exits 0"
check "approve prints 'DOC approved'" test "$(cat "$OUT")" = "$D1 approved"
run c --dir "$V" --json info "$D1"
check "approve without --note: status approved, one review, note \"\"" jv "$OUT" \
	'd["status"] == "approved" and len(d["reviews"]) == 1 and d["reviews"][0]["note"] == ""'

run c --dir "$V" reject "$D2"
t_err 2 "reject without --reason exits 2"
run c --dir "$V" --json info "$D2"
check "reject without --reason appends no review" jv "$OUT" 'd["status"] == "pending" and d["reviews"] == []'
run c --dir "$V" reject "$D2" --reason "illisible"
t_rc 0 "reject --reason exits 0"
check "reject prints 'DOC rejected'" test "$(cat "$OUT")" = "$D2 rejected"

t_list "--status approved" "$D1" --status approved
t_list "--status rejected" "$D2" --status rejected
t_list "--status pending" "$D3 $D4 $D5" --status pending
t_list "--community medecins --status pending" "$D4 $D5" --community medecins --status pending
t_list "--status shredded (none)" "" --status shredded

# The latest review counts; reviews are listed oldest first.
run c --dir "$V" --json approve "$D3" --note "premier avis"
check "approve --json prints {id, status approved}" jv "$OUT" \
	'd == {"id": "'"$D3"'", "status": "approved"}'
sleep 1
run c --dir "$V" --json reject "$D3" --reason "second avis"
check "reject --json prints {id, status rejected}" jv "$OUT" \
	'd == {"id": "'"$D3"'", "status": "rejected"}'
run c --dir "$V" --json info "$D3"
check "approve then reject: status rejected" jv "$OUT" 'd["status"] == "rejected"'
t_list "--status rejected after approve then reject" "$D2 $D3" --status rejected
run c --dir "$V" approve "$D3" --note "troisieme avis"
t_rc 0 "approve after a reject exits 0"
t_list "--status approved after approve, reject, approve" "$D1 $D3" --status approved
run c --dir "$V" --json info "$D3"
check "info --json: three reviews oldest first with their notes" jv "$OUT" \
	'[r["note"] for r in d["reviews"]] == ["premier avis", "second avis", "troisieme avis"]'
check "info --json: decisions approve, reject, approve" jv "$OUT" \
	'[r["decision"].rstrip("d").rstrip("e") for r in d["reviews"]] == ["approv", "reject", "approv"]'
check "info --json: review times UTC ISO 8601, not decreasing, the second one later" "$PY" -c '
import json, re, sys
rs = json.load(open(sys.argv[1]))["reviews"]
ts = [r["at"] for r in rs]
ok = all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", t) for t in ts)
sys.exit(0 if ok and ts == sorted(ts) and ts[0] < ts[1] else 1)' "$OUT"
run c --dir "$V" info "$D3"
check "info: status approved and three review lines" test \
	"$(grep -c '^review: ' "$OUT")/$(sed -n 's/^status: //p' "$OUT")" = "3/approved"
# The lines, oldest first: "review: DECISION AT NOTE".
mapfile -t rlines < <(sed -n 's/^review: //p' "$OUT")
R_ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
if [ "${#rlines[@]}" -eq 3 ] &&
	[[ ${rlines[0]} =~ ^approved?\ $R_ISO\ premier\ avis$ ]] &&
	[[ ${rlines[1]} =~ ^reject(ed)?\ $R_ISO\ second\ avis$ ]] &&
	[[ ${rlines[2]} =~ ^approved?\ $R_ISO\ troisieme\ avis$ ]]; then
	pass "info: 'review: DECISION AT NOTE' lines, oldest first"
else
	fail "info: 'review: DECISION AT NOTE' lines, oldest first" "$(grep '^review: ' "$OUT" | tr '\n' '|')"
fi

# --- notes and reasons: 4096 bytes at most -------------------------------------------

n4096=$(printf 'n%.0s' $(seq 4096))
n4097=$(printf 'n%.0s' $(seq 4097))
run c --dir "$V" approve "$D4" --note "$n4096"
t_rc 0 "approve --note of 4096 bytes exits 0"
run c --dir "$V" approve "$D4" --note "$n4097"
t_err 5 "approve --note of 4097 bytes exits 5"
run c --dir "$V" reject "$D4" --reason "$n4097"
t_err 5 "reject --reason of 4097 bytes exits 5"
run c --dir "$V" --json info "$D4"
check "the rejected notes appended nothing" jv "$OUT" \
	'len(d["reviews"]) == 1 and len(d["reviews"][0]["note"]) == 4096 and d["status"] == "approved"'

# --- errors ------------------------------------------------------------------------

first=${D5:0:1}
if [ "$first" = A ]; then other=B; else other=A; fi
UNKNOWN=$other${D5:1}
run c --dir "$V" approve "$UNKNOWN"
t_err 3 "approve of an unknown document exits 3"
run c --dir "$V" reject "$UNKNOWN" --reason "x"
t_err 3 "reject of an unknown document exits 3"
run c --dir "$V" info "$UNKNOWN"
t_err 3 "info of an unknown document exits 3"
run c --dir "$V" approve "not/an id"
t_err 5 "approve of a malformed id exits 5"
run c --dir "$V" approve "$D5" --frobnicate
t_err 2 "approve with an unknown flag exits 2"
run c --dir "$V" --json info "$D5"
check "the failed reviews left the document pending, without reviews" jv "$OUT" \
	'd["status"] == "pending" and d["reviews"] == []'

# --- notes are sealed, not stored in the clear ---------------------------------------

SECRET="Avis-confidentiel-$$-Kq8Rt"
run c --dir "$V" reject "$D5" --reason "$SECRET"
t_rc 0 "reject with a distinctive reason exits 0"
run c --dir "$V" info "$D5"
check "info shows the reason" grep -qF "$SECRET" "$OUT"
hits=$(grep -r -a -l -F -- "$SECRET" "$V" 2>/dev/null)
if [ -z "$hits" ]; then
	pass "a review reason is in no file under the vault"
else
	fail "a review reason is in no file under the vault" "found in: $hits"
fi

# Free text is UTF-8: a malformed byte sequence is refused and changes nothing.
new_vault
bad=$(printf 'bad\377\376note')
run_cmd coffre seal --user u9 --community c9 --name "$bad" "$SAMPLES/sample.pdf"
expect_eq "a name that is not UTF-8 is rejected (exit 5)" 5 "$STATUS"
expect_eq "and nothing was sealed" "" "$(coffre list --user u9)"
finish
