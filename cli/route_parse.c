/*
 * route_parse.c: the pure half of the daemon's routing, apart from
 * libmicrohttpd (cli/route_parse.h); cli/routes.c does the rest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/route_parse.h"

int
route_split(const char *url, char seg[ROUTE_SEGS][COFFRE_ID_MAX + 1])
{
	int n = 0;
	const char *p = url;

	if (*p != '/')
		return -1;
	while (*p == '/') {
		const char *e;
		size_t len;
		p++;
		e = strchr(p, '/');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		if (len == 0 || len > COFFRE_ID_MAX || n == ROUTE_SEGS)
			return -1;
		memcpy(seg[n], p, len);
		seg[n][len] = '\0';
		n++;
		p += len;
	}
	return n;
}

enum route
route_of(const char *url, char a[3][COFFRE_ID_MAX + 1], int *badid)
{
	char s[ROUTE_SEGS][COFFRE_ID_MAX + 1];
	int n = route_split(url, s);

	*badid = 0;
	if (n < 2 || strcmp(s[0], "v1") != 0)
		return R_NONE;
	if (n == 2 && strcmp(s[1], "health") == 0)
		return R_HEALTH;
	if (n == 2 && strcmp(s[1], "sweep") == 0)
		return R_SWEEP;
	if (n == 2 && strcmp(s[1], "check") == 0)
		return R_CHECK;
	if (strcmp(s[1], "audit") == 0) {
		if (n == 2)
			return R_AUDIT;
		if (n == 3 && strcmp(s[2], "shred-report") == 0)
			return R_AUDIT_REPORT;
		if (n == 3 && strcmp(s[2], "verify") == 0)
			return R_AUDIT_VERIFY;
		if (n == 3 && strcmp(s[2], "scan") == 0)
			return R_AUDIT_SCAN;
		return R_NONE;
	}
	if (n >= 3)
		snprintf(a[0], sizeof(a[0]), "%s", s[2]);
	if (strcmp(s[1], "documents") == 0 || strcmp(s[1], "archives") == 0) {
		int doc = s[1][0] == 'd';
		if (n >= 3 && !coffre_valid_docid(s[2]))
			*badid = 1;
		if (n == 2)
			return doc ? R_DOC_SEAL : R_ARC_SEAL; /* or list */
		if (n == 3)
			return doc ? R_DOC_INFO : R_ARC_SHRED; /* or shred */
		if (n == 4 && strcmp(s[3], "content") == 0)
			return doc ? R_DOC_CONTENT : R_ARC_CONTENT;
		if (n == 4 && doc && strcmp(s[3], "review") == 0)
			return R_DOC_REVIEW;
		return R_NONE;
	}
	if (strcmp(s[1], "users") == 0 && (n == 3 || n == 4)) {
		*badid = !coffre_valid_id(s[2]);
		if (n == 3)
			return R_USER_SHRED;
		return strcmp(s[3], "export") == 0 ? R_EXPORT : R_NONE;
	}
	if (n == 2 && strcmp(s[1], "bundles") == 0)
		return R_BUNDLE;
	if (strcmp(s[1], "contracts") == 0 && n == 5) {
		snprintf(a[1], sizeof(a[1]), "%s", s[3]);
		*badid = !coffre_valid_id(s[2]) || !coffre_valid_id(s[3]);
		if (strcmp(s[4], "end") == 0)
			return R_CONTRACT_END;
		if (strcmp(s[4], "hold") == 0)
			return R_CONTRACT_HOLD;
		if (strcmp(s[4], "release") == 0)
			return R_CONTRACT_RELEASE;
	}
	return R_NONE;
}

enum route
route_by_method(enum route rt, const char *method)
{
	if (rt == R_DOC_SEAL && strcmp(method, "GET") == 0)
		return R_DOC_LIST;
	if (rt == R_ARC_SEAL && strcmp(method, "GET") == 0)
		return R_ARC_LIST;
	if (rt == R_DOC_INFO && strcmp(method, "DELETE") == 0)
		return R_DOC_SHRED;
	return rt;
}

int
route_parse_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (s == NULL)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < lo ||
	    v > hi)
		return -1;
	*out = v;
	return 0;
}
