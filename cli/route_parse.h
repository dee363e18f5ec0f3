/*
 * route_parse.h: the pure half of the daemon's routing (cli/routes.c): a
 * request's path to its route and path parameters, the method that makes
 * a path another route, and the numbers of query arguments.  Nothing of
 * libmicrohttpd, so that fuzz/fuzz_http.c runs it on its own.
 */
#ifndef COFFRE_CLI_ROUTE_PARSE_H
#define COFFRE_CLI_ROUTE_PARSE_H

#include "coffre.h"

#define ROUTE_SEGS 6 /* segments of a path, at most */

enum route {
	R_NONE,
	R_HEALTH,
	R_DOC_SEAL,
	R_DOC_LIST,
	R_DOC_INFO,
	R_DOC_CONTENT,
	R_DOC_REVIEW,
	R_DOC_SHRED,
	R_USER_SHRED,
	R_ARC_SEAL,
	R_ARC_LIST,
	R_ARC_CONTENT,
	R_ARC_SHRED,
	R_CONTRACT_END,
	R_CONTRACT_HOLD,
	R_CONTRACT_RELEASE,
	R_AUDIT,
	R_AUDIT_REPORT,
	R_AUDIT_VERIFY,
	R_AUDIT_SCAN,
	R_CHECK,
	R_SWEEP,
	R_BUNDLE,
	R_EXPORT
};

/*
 * route_split(url, seg): split ${url} ("/a/b/c") into at most ROUTE_SEGS
 * segments of 1 to COFFRE_ID_MAX bytes each.  Returns their number, or -1
 * if malformed (no leading '/', an empty or too long segment, too many).
 */
int route_split(const char *url, char seg[ROUTE_SEGS][COFFRE_ID_MAX + 1]);

/*
 * route_of(url, a, badid): the route of ${url} whatever the method (GET
 * and POST share some paths: route_by_method()), R_NONE if none.  Its path
 * parameters go into a[0] (a document, archive or user id) and a[1] (a
 * contract id); *badid is 1 when one of them is malformed.
 */
enum route route_of(const char *url, char a[3][COFFRE_ID_MAX + 1], int *badid);

/* route_by_method(rt, method): the route that ${method} makes of ${rt}. */
enum route route_by_method(enum route rt, const char *method);

/*
 * route_parse_num(s, lo, hi, out): a query argument that is a decimal
 * number within lo..hi into *out.  0 (also when ${s} is NULL: *out is left
 * as it is) or -1.
 */
int route_parse_num(const char *s, long lo, long hi, long *out);

#endif /* !COFFRE_CLI_ROUTE_PARSE_H */
