/*
 * fuzz_http.c: libFuzzer harness for the routing of the daemon's HTTP
 * requests (cli/route_parse.c, which cli/routes.c calls): the path to a
 * route and its path parameters, the method, and the query arguments that
 * the routes check before they reach the vault.
 *
 * An input is a request line, "METHOD URL" (up to a NUL, CR or LF; any
 * " HTTP/1.1" after the URL is dropped).  The URL is taken apart as
 * libmicrohttpd 0.9 does before it calls the handler: the path before the
 * first '?' unescaped (%XX), the query split at '&', each name and value
 * at the first '=', '+' made a space, and unescaped; a name without '='
 * has no value.  Then, as routes.c does: route_of(), route_by_method(),
 * and the checks of each route's arguments (limit, after, status, user,
 * community, format, reason).
 *
 * Any bytes: no crash, a route within the enum, path parameters that are
 * segments of the path, valid ids when none is said to be bad, the
 * canonical path of a route parsing back to it, and route_parse_num()
 * agreeing with a plain reading of decimal digits.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

/* The fuzz build links the library only: the routing comes with it. */
#include "cli/route_parse.c" /* NOLINT(bugprone-suspicious-include) */
#include "coffre.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_http: check failed: %s\n",       \
			    #cond);                                            \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

#define MAX_LINE 4096
#define MAX_ARGS 32

struct query {
	int n;
	const char *name[MAX_ARGS];
	const char *value[MAX_ARGS]; /* NULL: no '=' */
};

/* The first argument ${name}, as MHD_lookup_connection_value() gives it. */
static const char *
arg(const struct query *q, const char *name)
{
	for (int i = 0; i < q->n; i++)
		if (strcmp(q->name[i], name) == 0)
			return q->value[i];
	return NULL;
}

static void
unescape_plus(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '+')
			*s = ' ';
}

/* Split ${s} (modified) into arguments, as libmicrohttpd does. */
static void
parse_query(char *s, struct query *q)
{
	q->n = 0;
	while (s != NULL && *s != '\0' && q->n < MAX_ARGS) {
		char *amp = strchr(s, '&'), *eq;
		if (amp != NULL)
			*amp++ = '\0';
		eq = strchr(s, '=');
		if (eq != NULL)
			*eq++ = '\0';
		unescape_plus(s);
		MHD_http_unescape(s);
		q->name[q->n] = s;
		if (eq != NULL) {
			unescape_plus(eq);
			MHD_http_unescape(eq);
		}
		q->value[q->n++] = eq;
		s = amp;
	}
}

/* A plain reading of route_parse_num()'s contract. */
static int
ref_num(const char *s, long lo, long hi, long *out)
{
	unsigned long long v = 0;
	const char *p;
	int big = 0;

	if (s == NULL)
		return 0;
	if (*s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (unsigned long long)LONG_MAX / 10)
			big = 1; /* one more digit is past LONG_MAX */
		if (big)
			continue;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (big || v > (unsigned long long)LONG_MAX || (long)v < lo ||
	    (long)v > hi)
		return -1;
	*out = (long)v;
	return 0;
}

static int
num(const char *s, long lo, long hi, long *out)
{
	long a = -7, b = -7;
	int ra = route_parse_num(s, lo, hi, &a);
	int rb = ref_num(s, lo, hi, &b);

	CHECK(ra == rb);
	CHECK(a == b);
	if (ra == 0 && s != NULL)
		CHECK(a >= lo && a <= hi);
	if (ra == 0 && s != NULL)
		*out = a;
	return ra;
}

/* What routes.c answers to the query, before the vault: 200 or 400. */
static int
query_status(enum route rt, const struct query *q)
{
	const char *user = arg(q, "user"), *s;
	long limit = 100, after = 0;

	switch (rt) {
	case R_DOC_LIST:
		if (num(arg(q, "limit"), 1, 1000, &limit) != 0)
			return 400;
		if ((s = arg(q, "status")) != NULL &&
		    coffre_status_parse(s) < 0)
			return 400;
		if ((user != NULL && !coffre_valid_id(user)) ||
		    ((s = arg(q, "community")) != NULL &&
			!coffre_valid_id(s)) ||
		    ((s = arg(q, "after")) != NULL && !coffre_valid_docid(s)))
			return 400;
		CHECK(limit >= 1 && limit <= 1000);
		return 200;
	case R_AUDIT:
		if (num(arg(q, "after"), 0, 0x7fffffffffffffffL, &after) != 0 ||
		    num(arg(q, "limit"), 1, 10000, &limit) != 0)
			return 400;
		if (user != NULL && !coffre_valid_id(user))
			return 400;
		CHECK(after >= 0 && limit >= 1 && limit <= 10000);
		return 200;
	case R_AUDIT_REPORT:
		return user == NULL ? 400 : 200;
	case R_DOC_SEAL:
	case R_BUNDLE:
		return user == NULL || arg(q, "community") == NULL ? 400 : 200;
	case R_ARC_SEAL:
		return user == NULL || arg(q, "contract") == NULL ? 400 : 200;
	case R_ARC_CONTENT:
		s = arg(q, "reason");
		return s == NULL || *s == '\0' ? 400 : 200;
	case R_EXPORT:
		s = arg(q, "format");
		return s == NULL || strcmp(s, "zip") == 0 ||
			strcmp(s, "tar") == 0 || strcmp(s, "tar.gz") == 0 ||
			strcmp(s, "tgz") == 0
		    ? 200
		    : 400;
	default:
		return 200;
	}
}

/* The canonical path of route ${rt} with parameters ${a}. */
static void
canonical(enum route rt, char a[3][COFFRE_ID_MAX + 1], char *out, size_t cap)
{
	switch (rt) {
	case R_HEALTH:
		snprintf(out, cap, "/v1/health");
		break;
	case R_SWEEP:
		snprintf(out, cap, "/v1/sweep");
		break;
	case R_CHECK:
		snprintf(out, cap, "/v1/check");
		break;
	case R_AUDIT:
		snprintf(out, cap, "/v1/audit");
		break;
	case R_AUDIT_REPORT:
		snprintf(out, cap, "/v1/audit/shred-report");
		break;
	case R_AUDIT_VERIFY:
		snprintf(out, cap, "/v1/audit/verify");
		break;
	case R_AUDIT_SCAN:
		snprintf(out, cap, "/v1/audit/scan");
		break;
	case R_BUNDLE:
		snprintf(out, cap, "/v1/bundles");
		break;
	case R_DOC_SEAL:
	case R_DOC_LIST:
		snprintf(out, cap, "/v1/documents");
		break;
	case R_ARC_SEAL:
	case R_ARC_LIST:
		snprintf(out, cap, "/v1/archives");
		break;
	case R_DOC_INFO:
	case R_DOC_SHRED:
		snprintf(out, cap, "/v1/documents/%s", a[0]);
		break;
	case R_DOC_CONTENT:
		snprintf(out, cap, "/v1/documents/%s/content", a[0]);
		break;
	case R_DOC_REVIEW:
		snprintf(out, cap, "/v1/documents/%s/review", a[0]);
		break;
	case R_ARC_SHRED:
		snprintf(out, cap, "/v1/archives/%s", a[0]);
		break;
	case R_ARC_CONTENT:
		snprintf(out, cap, "/v1/archives/%s/content", a[0]);
		break;
	case R_USER_SHRED:
		snprintf(out, cap, "/v1/users/%s", a[0]);
		break;
	case R_EXPORT:
		snprintf(out, cap, "/v1/users/%s/export", a[0]);
		break;
	case R_CONTRACT_END:
		snprintf(out, cap, "/v1/contracts/%s/%s/end", a[0], a[1]);
		break;
	case R_CONTRACT_HOLD:
		snprintf(out, cap, "/v1/contracts/%s/%s/hold", a[0], a[1]);
		break;
	case R_CONTRACT_RELEASE:
		snprintf(out, cap, "/v1/contracts/%s/%s/release", a[0], a[1]);
		break;
	default:
		out[0] = '\0';
		break;
	}
}

static int
has_id(enum route rt)
{
	return rt == R_DOC_INFO || rt == R_DOC_SHRED || rt == R_DOC_CONTENT ||
	    rt == R_DOC_REVIEW || rt == R_ARC_SHRED || rt == R_ARC_CONTENT ||
	    rt == R_USER_SHRED || rt == R_EXPORT || rt == R_CONTRACT_END ||
	    rt == R_CONTRACT_HOLD || rt == R_CONTRACT_RELEASE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[MAX_LINE + 1], path[MAX_LINE + 1];
	char a[3][COFFRE_ID_MAX + 1], b[3][COFFRE_ID_MAX + 1];
	char seg[ROUTE_SEGS][COFFRE_ID_MAX + 1], canon[MAX_LINE];
	const char *method;
	char *url, *q, *sp;
	struct query query;
	enum route raw, rt;
	int badid, badid2, n;
	size_t len;

	len = size < MAX_LINE ? size : MAX_LINE;
	memcpy(line, data, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if ((url = strchr(line, ' ')) == NULL)
		return 0;
	*url++ = '\0';
	method = line;
	if ((sp = strchr(url, ' ')) != NULL)
		*sp = '\0'; /* " HTTP/1.1" */
	if ((q = strchr(url, '?')) != NULL)
		*q++ = '\0';
	snprintf(path, sizeof(path), "%s", url);
	MHD_http_unescape(path);

	/* The segments. */
	n = route_split(path, seg);
	CHECK(n >= -1 && n <= ROUTE_SEGS);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(seg[i]);
		CHECK(l >= 1 && l <= COFFRE_ID_MAX);
		CHECK(strchr(seg[i], '/') == NULL);
		CHECK(strstr(path, seg[i]) != NULL);
	}

	/* The route, as first_call() finds it. */
	memset(a, 0, sizeof(a));
	raw = route_of(path, a, &badid);
	rt = route_by_method(raw, method);
	CHECK(rt >= R_NONE && rt <= R_EXPORT);
	CHECK(badid == 0 || badid == 1);
	CHECK(strlen(a[0]) <= COFFRE_ID_MAX && strlen(a[1]) <= COFFRE_ID_MAX &&
	    a[2][0] == '\0');
	if (rt == R_NONE)
		return 0;
	CHECK(n >= 2 && strcmp(seg[0], "v1") == 0);
	CHECK(strcmp(method, "GET") != 0 ||
	    (rt != R_DOC_SEAL && rt != R_ARC_SEAL));
	if (has_id(rt)) {
		CHECK(strcmp(a[0], seg[2]) == 0);
		if (!badid) {
			if (rt == R_USER_SHRED || rt == R_EXPORT ||
			    rt == R_CONTRACT_END || rt == R_CONTRACT_HOLD ||
			    rt == R_CONTRACT_RELEASE)
				CHECK(coffre_valid_id(a[0]));
			else
				CHECK(coffre_valid_docid(a[0]));
		}
	}

	/* Its canonical path routes back to the same, with the same ids. */
	canonical(raw, a, canon, sizeof(canon));
	memset(b, 0, sizeof(b));
	CHECK(route_of(canon, b, &badid2) == raw);
	CHECK(badid2 == badid);
	CHECK(memcmp(a, b, sizeof(a)) == 0);

	/* The query arguments the route checks. */
	parse_query(q, &query);
	n = query_status(rt, &query);
	CHECK(n == 200 || n == 400);
	return 0;
}
