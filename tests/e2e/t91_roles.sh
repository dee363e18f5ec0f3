#!/usr/bin/env bash
# t91_roles: the roles of `coffre serve` against every route, as real
# different uids (SPEC.md sections 1 and 5, docs/API.md; the role table is
# routes[] in cli/routes.c).  One daemon grants
#
#	backend  = uid 4101            reviewer = gid 4202@medecins (uid 4102)
#	auditor  = uid 4103            admin    = uid 4104
#
# and the socket group 4242, which every test uid has but 4106.  For each
# route and each role: a role the table allows gets the route's real
# answer (valid input), any other gets 403 with the error JSON and changes
# nothing.  A uid with no role (4105) gets 403 on every route, health too,
# and the daemon logs the refusal; a uid outside the socket's group (4106)
# cannot even connect.  A reviewer limited to medecins sees nothing of
# another community (404), whether the grant's group is its primary or a
# supplementary one (SO_PEERGROUPS).
#
# Needs root (setpriv to other uids); otherwise it says so and stops.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/coffre_helpers.bash"

if [ "$(id -u)" -ne 0 ]; then
	pass "role matrix skipped: it needs root to run clients as other uids (running as uid $(id -u))"
	finish
fi
if ! command -v setpriv >/dev/null 2>&1; then
	fail "setpriv (util-linux) is needed to run clients as other uids"
	finish
fi

SG=4242 # the socket's group
RG=4202 # the reviewers' group
declare -A UID_OF=([backend]=4101 [reviewer]=4102 [auditor]=4103 [admin]=4104
	[none]=4105 [outsider]=4106 [reviewer2]=4107)
ROLES="backend reviewer auditor admin"
ID_RE='^[A-Za-z0-9_-]{1,64}$'

# as_role ROLE: the next `http` runs as that role's uid.
as_role() {
	local u=${UID_OF[$1]}
	case $1 in
	reviewer) HTTP_AS="setpriv --reuid=$u --regid=$RG --groups=$SG" ;;
	reviewer2) HTTP_AS="setpriv --reuid=$u --regid=$SG --groups=$RG" ;;
	outsider) HTTP_AS="setpriv --reuid=$u --regid=$u --clear-groups" ;;
	*) HTTP_AS="setpriv --reuid=$u --regid=$SG --clear-groups" ;;
	esac
}

expect_http() {
	local name=$1 want=$2 code=${3:-}
	if [ "$HS" != "$want" ]; then
		fail "$name" "want HTTP $want, got $HS (curl exit $HRC)" \
		    "body: $(head -c 300 "$HB" 2>/dev/null)"
	elif [ "$want" -ge 400 ] && ! err_shape "$HB" "$code"; then
		fail "$name" "want the error JSON {\"error\":{\"code\":\"$code\",\"message\"}}" \
		    "body: $(head -c 300 "$HB")"
	else
		pass "$name"
	fi
}

jtrue() { [ "$(jv "$1" "$2" 2>/dev/null)" = true ]; }
jcheck() {
	if jtrue "$HB" "$2"; then
		pass "$1"
	else
		fail "$1" "false: $2" "body: $(head -c 400 "$HB")"
	fi
}

# The socket's folder must be reachable by the test uids.
chmod 0711 "$W"
if ! setpriv --reuid=4101 --regid=$SG --clear-groups test -x "$W"; then
	SD=$(mktemp -d /tmp/coffre-t91.XXXXXX)
	chmod 0711 "$SD"
	trap '_e2e_cleanup; rm -rf "$SD"' EXIT
else
	SD=$W
fi
cp "$SAMPLES/sample.pdf" "$SAMPLES/sample.png" "$W/"
"$PY" "$COFFRE_ROOT/tests/e2e/bundle.py" attack onepdf "$W/onepdf.zip" "$SAMPLES"
chmod 0644 "$W/sample.pdf" "$W/sample.png" "$W/onepdf.zip"
PDF=$W/sample.pdf
PNG=$W/sample.png
BUNDLE=$W/onepdf.zip

V=$W/vault
mkvault "$V" || { finish; exit; }
SOCK=$SD/run/s.sock
LOG=$W/daemon.log
if start_daemon "$V" "$SOCK" "$LOG" --socket-group $SG \
    --allow "backend=uid:${UID_OF[backend]}" --allow "reviewer=gid:$RG@medecins" \
    --allow "auditor=uid:${UID_OF[auditor]}" --allow "admin=uid:${UID_OF[admin]}"; then
	pass "serve starts with the four grants"
else
	fail "serve starts with the four grants" "$(head -c 600 "$LOG")"
	finish
fi
expect_eq "socket 0660 group $SG in a 0750 folder of group $SG" "660 $SG 750 $SG" \
	"$(stat -c '%a %g' "$SOCK") $(stat -c '%a %g' "$SD/run")"

# --- the data, made by the backend -----------------------------------------------
as_role backend
# seal USER COMMUNITY FILE: SID is the new id ("" if not 201).
seal() {
	SID=
	http POST "/v1/documents?user=$1&community=$2" --data-binary "@$3"
	[ "$HS" = 201 ] && SID=$(jv "$HB" 'd["id"]')
}
# archive USER CONTRACT FILE: AID is the new archive's id.
archive() {
	AID=
	http POST "/v1/archives?user=$1&contract=$2" --data-binary "@$3"
	[ "$HS" = 201 ] && AID=$(jv "$HB" 'd["id"]')
}
made=0 want=0
seal pm medecins "$PDF"; DM=$SID; want=$((want + 1)); [[ $DM =~ $ID_RE ]] && made=$((made + 1))
seal pa avocats "$PNG"; DA=$SID; want=$((want + 1)); [[ $DA =~ $ID_RE ]] && made=$((made + 1))
archive pm k1 "$PDF"; A1=$AID; want=$((want + 1)); [[ $A1 =~ $ID_RE ]] && made=$((made + 1))
declare -A XD AX
for r in $ROLES none; do
	# A document to withdraw, a user to delete, an archive past its
	# retention to destroy, a contract to end: one each per role.
	seal "xd-$r" medecins "$PDF"; XD[$r]=$SID
	seal "gone-$r" medecins "$PNG"
	archive "ax-$r" k "$PDF"; AX[$r]=$AID
	http POST "/v1/contracts/ax-$r/k/end" -d '{"date":"2000-01-01"}'
	[ "$HS" = 200 ] || AX[$r]=
	archive "ce-$r" k "$PDF"
	want=$((want + 3))
	[[ ${XD[$r]} =~ $ID_RE ]] && made=$((made + 1))
	[[ ${AX[$r]} =~ $ID_RE ]] && made=$((made + 1))
	[[ $AID =~ $ID_RE ]] && made=$((made + 1))
done
expect_eq "the backend (uid ${UID_OF[backend]}) makes the test data" "$want" "$made"

# --- the matrix ----------------------------------------------------------------------
# route LABEL ALLOWED WANT METHOD PATH [CURL ARGS...]: the request as every
# role and as the uid with no role.  In PATH and ARGS, @R@ is the role,
# @XD@ and @AX@ its document and archive.  A role in ALLOWED gets WANT; any
# other, 403 forbidden.
route() {
	local label=$1 allowed=$2 want=$3 method=$4 r a
	shift 4
	local args
	for r in $ROLES none; do
		args=()
		for a in "$@"; do
			a=${a//@R@/$r}
			a=${a//@XD@/${XD[$r]}}
			a=${a//@AX@/${AX[$r]}}
			args+=("$a")
		done
		as_role "$r"
		http "$method" "${args[@]}"
		if [[ " $allowed " == *" $r "* ]]; then
			expect_http "$label as $r (uid ${UID_OF[$r]}): $want" "$want"
		elif [ "$r" = none ]; then
			expect_http "$label as a uid with no role (${UID_OF[$r]}): 403" 403 forbidden
		else
			expect_http "$label as $r (uid ${UID_OF[$r]}): 403" 403 forbidden
		fi
	done
	HTTP_AS=
}

route "GET /v1/health" "$ROLES" 200 GET /v1/health
route "POST /v1/documents" "backend" 201 POST "/v1/documents?user=s-@R@&community=medecins" \
	--data-binary "@$PDF"
route "GET /v1/documents" "backend reviewer" 200 GET /v1/documents
route "GET /v1/documents/{id}" "backend reviewer" 200 GET "/v1/documents/$DM"
route "GET /v1/documents/{id}/content" "backend reviewer" 200 GET "/v1/documents/$DM/content"
route "POST /v1/documents/{id}/review" "reviewer" 200 POST "/v1/documents/$DM/review" \
	-d '{"decision":"approve","note":"by @R@"}'
route "DELETE /v1/documents/{id}" "backend" 200 DELETE "/v1/documents/@XD@"
route "DELETE /v1/users/{U}" "backend" 200 DELETE "/v1/users/gone-@R@"
route "POST /v1/archives" "backend" 201 POST "/v1/archives?user=sa-@R@&contract=k" \
	--data-binary "@$PDF"
route "POST /v1/contracts/{U}/{K}/end" "backend" 200 POST "/v1/contracts/ce-@R@/k/end" \
	-d '{"date":"2030-06-01"}'
route "GET /v1/archives" "admin" 200 GET /v1/archives
route "GET /v1/archives/{id}/content" "admin" 200 GET "/v1/archives/$A1/content?reason=audit%20@R@"
route "DELETE /v1/archives/{id} (retention ended)" "backend admin" 200 DELETE "/v1/archives/@AX@"
route "POST /v1/contracts/{U}/{K}/hold" "admin" 200 POST /v1/contracts/pm/k1/hold \
	-d '{"reason":"hold by @R@"}'
route "POST /v1/contracts/{U}/{K}/release" "admin" 200 POST /v1/contracts/pm/k1/release \
	-d '{"reason":"release by @R@"}'
route "GET /v1/audit" "auditor admin" 200 GET "/v1/audit?limit=10"
route "GET /v1/audit/shred-report" "auditor admin" 200 GET "/v1/audit/shred-report?user=gone-backend"
route "GET /v1/audit/verify" "auditor admin" 200 GET /v1/audit/verify
route "GET /v1/audit/scan" "auditor admin" 200 GET /v1/audit/scan
route "GET /v1/check" "admin" 200 GET /v1/check
route "POST /v1/bundles" "backend" 201 POST "/v1/bundles?user=b-@R@&community=medecins" \
	--data-binary "@$BUNDLE"
route "GET /v1/users/{U}/export" "backend" 200 GET "/v1/users/pm/export?format=zip"

# --- what the refused requests did not do -------------------------------------------
as_role backend
n=0
for r in reviewer auditor admin none; do
	http GET "/v1/documents?user=s-$r"
	jtrue "$HB" "d['documents'] == []" && n=$((n + 1))
done
expect_eq "no refused seal is listed" 4 "$n"
http GET "/v1/documents?user=s-backend"
jcheck "the backend's seal is listed" "len(d['documents']) == 1"
n=0
for r in reviewer auditor admin none; do
	http GET "/v1/documents?user=b-$r"
	jtrue "$HB" "d['documents'] == []" && n=$((n + 1))
done
expect_eq "no refused bundle is listed" 4 "$n"
http GET "/v1/documents?user=b-backend"
jcheck "the backend's bundle is listed" "[x['name'] for x in d['documents']] == ['sample.pdf']"
http GET "/v1/documents/$DM"
jcheck "one review, the reviewer's (the refused ones appended nothing)" \
	"d['status'] == 'approved' and [x['note'] for x in d['reviews']] == ['by reviewer']"
n=0
for r in reviewer auditor admin none; do
	http GET "/v1/documents/${XD[$r]}/content"
	[ "$HS" = 200 ] && n=$((n + 1))
	http GET "/v1/documents?user=gone-$r"
	jtrue "$HB" "[x['status'] for x in d['documents']] == ['pending']" && n=$((n + 1))
done
expect_eq "no refused DELETE shredded anything" 8 "$n"
http GET "/v1/documents/${XD[backend]}/content"
expect_http "the backend's DELETE did shred its document" 410 gone
http POST "/v1/documents?user=gone-backend&community=medecins" --data-binary "@$PDF"
expect_http "the user the backend deleted is fenced" 410 gone
as_role admin
http GET /v1/archives
jcheck "no refused archive seal was made" \
	"sorted(a['user'] for a in d['archives'] if a['user'].startswith('sa-')) == ['sa-backend']"
jcheck "no refused contract end ended a contract" \
	"sorted(a['user'] for a in d['archives'] if a['user'].startswith('ce-') and a['contract_ended']) == ['ce-backend']"
jcheck "no refused DELETE destroyed an archive (only backend's and admin's are)" \
	"sorted(a['user'] for a in d['archives'] if a['user'].startswith('ax-') and a['status'] == 'shredded') == ['ax-admin', 'ax-backend']"
jcheck "no refused hold is left standing" \
	"[a['holds'] for a in d['archives'] if a['id'] == '$A1'] == [0]"
http GET "/v1/audit?limit=10000"
check "the audit log names the reviewer's uid on its review" grep -q "\"actor\":\"reviewer:uid:${UID_OF[reviewer]}\"" "$HB"
check "and the admin's uid on its archive read" grep -q "\"actor\":\"admin:uid:${UID_OF[admin]}\"" "$HB"
check "and the backend's uid on its seals" grep -q "\"actor\":\"backend:uid:${UID_OF[backend]}\"" "$HB"
check "and the backend's uid on its export" grep -q "\"actor\":\"backend:uid:${UID_OF[backend]}\",\"op\":\"export\"" "$HB"

# The sweep last: it destroys the expired archives still there.
route "POST /v1/sweep" "admin" 200 POST /v1/sweep

# --- a uid with no role, a uid outside the socket's group ----------------------------
check "the daemon logs the refusals of the uid with no role" \
	grep -q "refused uid ${UID_OF[none]} .*no role" "$LOG"
as_role none
http GET /v1/health
jcheck "the no-role 403 says no role is granted" "'no role' in d['error']['message']"
as_role outsider
http GET /v1/health
if [ "$HRC" = 7 ] && [ "$HS" = 000 ]; then
	pass "a uid outside the socket's group cannot connect (curl exit 7)"
else
	fail "a uid outside the socket's group cannot connect (curl exit 7)" "curl exit $HRC, HTTP $HS"
fi
if setpriv --reuid="${UID_OF[outsider]}" --regid="${UID_OF[outsider]}" --clear-groups \
    test -e "$SOCK" 2>/dev/null; then
	fail "it cannot even reach the socket file (folder 0750)"
else
	pass "it cannot even reach the socket file (folder 0750)"
fi
HTTP_AS=

# --- a reviewer limited to medecins --------------------------------------------------
for who in reviewer reviewer2; do
	as_role $who
	if [ $who = reviewer ]; then how="primary group"; else how="supplementary group"; fi
	http GET /v1/documents
	expect_http "reviewer@medecins ($how): list 200" 200
	jcheck "reviewer@medecins ($how): lists only medecins documents" \
		"d['documents'] != [] and all(x['community'] == 'medecins' for x in d['documents']) and '$DM' in [x['id'] for x in d['documents']]"
	http GET "/v1/documents?community=avocats"
	jcheck "reviewer@medecins ($how): ?community=avocats lists nothing" "d['documents'] == []"
	http GET "/v1/documents/$DM"
	expect_http "reviewer@medecins ($how): info of a medecins document 200" 200
	http GET "/v1/documents/$DM/content"
	expect_same "reviewer@medecins ($how): content of a medecins document" "$PDF" "$HB"
	http GET "/v1/documents/$DA"
	expect_http "reviewer@medecins ($how): info of an avocats document 404" 404 not_found
	http GET "/v1/documents/$DA/content"
	expect_http "reviewer@medecins ($how): content of an avocats document 404" 404 not_found
	http POST "/v1/documents/$DA/review" -d '{"decision":"approve","note":"x"}'
	expect_http "reviewer@medecins ($how): review of an avocats document 404" 404 not_found
done
as_role backend
http GET "/v1/documents/$DA"
jcheck "the avocats document is still pending and unreviewed" "d['status'] == 'pending' and d['reviews'] == []"
http GET "/v1/documents/$DA/content"
expect_same "the backend (no community limit) reads the avocats document" "$PNG" "$HB"
HTTP_AS=

# --- the daemon ends cleanly ----------------------------------------------------------
stop_daemon
expect_eq "SIGTERM: the daemon exits 0" 0 "$DSTATUS"
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$LOG"; then
	fail "no sanitizer report in the daemon's log" "$(grep -m3 -E 'Sanitizer|runtime error' "$LOG")"
fi
run c --dir "$V" check
t_rc 0 "coffre check after the matrix: clean"
run c --dir "$V" audit verify
t_rc 0 "coffre audit verify after the matrix"
finish
