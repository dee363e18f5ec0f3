/*
 * ops_client.c: the daemon's implementation of the command's operations:
 * each one is one request (or a few, for pages) to `coffre serve` over its
 * unix socket (SPEC.md section 5, cli/routes.c), sent with libcurl and
 * answered in JSON, read with jansson.  One curl handle serves the whole
 * backend, so that its connection is kept alive from one request to the
 * next.
 *
 * Document bytes go straight between the caller's callbacks and curl's own
 * buffers: nothing here keeps a copy of them.  Answers may hold names,
 * notes and opened reasons, so their buffers are wiped before they are
 * freed.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "cli/ops.h"

#define URL_MAX 16384                   /* a reason escaped: 3 x 4096 */
#define ERR_BODY_MAX (64 * 1024)        /* an error answer, for its message */
#define JSON_MAX (256u * 1024u * 1024u) /* any other answer */
#define LIST_PAGE "1000"                /* the daemon's largest pages */
#define AUDIT_PAGE 10000
#define AUDIT_PAGE_S "10000"

/* A growing buffer of an answer. */
struct buf {
	char *p; /* NUL-terminated once anything is in it */
	size_t len, cap;
};

struct client {
	CURL *h;
	char *sock;
	char err[2048];
	char cerr[CURL_ERROR_SIZE];
	/* The URL of the request being built. */
	char url[URL_MAX];
	size_t urllen;
	int urlq;   /* a query has begun */
	int urlbad; /* it did not fit */
	/* Reviews of the last info(), as the library keeps them. */
	struct coffre_review *reviews;
	size_t nreviews;
};

/* One request and what came back. */
struct xfer {
	const char *method; /* "GET", "POST" or "DELETE" */
	const char *json;   /* a JSON body, or NULL */
	coffre_read_fn rd;  /* or a document body pulled from rd */
	void *rdctx;
	int rderr;
	uint64_t sent;
	coffre_write_fn wr; /* a 200 answer pushed to wr, not kept */
	void *wrctx;
	int wrerr;
	uint64_t written;
	struct client *c;
	struct buf body; /* any other answer */
	int over, nomem;
};

static unsigned curl_users; /* open backends, for curl_global_* */

static int cfail(struct client *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set the message of ${c} and return ${rc}. */
static int
cfail(struct client *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- buffers ---- */

static void
buf_free(struct buf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

/* Append; grown by hand rather than realloc, so that no copy is left
 * behind unwiped.  0 or -1. */
static int
buf_add(struct buf *b, const char *p, size_t len)
{
	size_t cap;
	char *np;

	if (len > SIZE_MAX / 4 - b->len)
		return -1;
	if (b->len + len + 1 > b->cap) {
		cap = b->cap != 0 ? b->cap : 4096;
		while (cap < b->len + len + 1)
			cap *= 2;
		if ((np = malloc(cap)) == NULL)
			return -1;
		if (b->p != NULL) {
			memcpy(np, b->p, b->len);
			sodium_memzero(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

/* ---- URLs ---- */

static void
url_lit(struct client *c, const char *s)
{
	size_t n = strlen(s);

	if (c->urlbad || n >= sizeof(c->url) - c->urllen) {
		c->urlbad = 1;
		return;
	}
	memcpy(c->url + c->urllen, s, n + 1);
	c->urllen += n;
}

/* Every value is escaped, path segments too: nothing the caller gives can
 * change the route. */
static void
url_esc(struct client *c, const char *s)
{
	char *e;

	if (s == NULL || *s == '\0') {
		/* An empty segment would name another route. */
		c->urlbad = 1;
		return;
	}
	if ((e = curl_easy_escape(c->h, s, 0)) == NULL) {
		c->urlbad = 1;
		return;
	}
	url_lit(c, e);
	curl_free(e);
}

/* "?key=value" or "&key=value"; nothing when ${val} is NULL. */
static void
url_arg(struct client *c, const char *key, const char *val)
{
	if (val == NULL)
		return;
	url_lit(c, c->urlq ? "&" : "?");
	c->urlq = 1;
	url_lit(c, key);
	url_lit(c, "=");
	if (*val != '\0')
		url_esc(c, val);
}

static void
url_begin(struct client *c, const char *path)
{
	sodium_memzero(c->url, c->urllen);
	c->urllen = 0;
	c->urlq = 0;
	c->urlbad = 0;
	url_lit(c, "http://localhost/v1/");
	url_lit(c, path);
}

/* ---- requests ---- */

static size_t
on_read(char *buf, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;
	long got;

	errno = 0;
	got = x->rd(x->rdctx, (uint8_t *)buf, len);
	if (got < 0 || (size_t)got > len) {
		x->rderr = got < 0 && errno != 0 ? errno : EIO;
		return CURL_READFUNC_ABORT;
	}
	x->sent += (uint64_t)got;
	return (size_t)got;
}

static size_t
on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n, max;
	long status = 0;

	if (len == 0)
		return 0;
	(void)curl_easy_getinfo(x->c->h, CURLINFO_RESPONSE_CODE, &status);
	if (x->wr != NULL && status == 200) {
		errno = 0;
		if (x->wr(x->wrctx, (const uint8_t *)p, len) != 0) {
			x->wrerr = errno != 0 ? errno : EIO;
			return 0; /* curl stops: CURLE_WRITE_ERROR */
		}
		x->written += len;
		return len;
	}
	if (status < 200 || status >= 300) {
		/* An error: enough of it for its message, the rest dropped. */
		if (x->body.len + len > ERR_BODY_MAX)
			return len;
		max = ERR_BODY_MAX;
	} else {
		max = JSON_MAX;
	}
	if (x->body.len + len > max) {
		x->over = 1;
		return 0;
	}
	if (buf_add(&x->body, p, len) != 0) {
		x->nomem = 1;
		return 0;
	}
	return len;
}

static int
code_rc(const char *code, long status)
{
	static const struct {
		const char *code;
		int rc;
	} codes[] = {
	    {"usage", COFFRE_EUSAGE},
	    {"malformed", COFFRE_EREJECT},
	    {"too_large", COFFRE_EREJECT},
	    {"unsupported_type", COFFRE_EREJECT},
	    {"not_found", COFFRE_ENOTFOUND},
	    {"gone", COFFRE_EGONE},
	    {"forbidden", COFFRE_EDENIED},
	    {"locked", COFFRE_ELOCKED},
	    {"unavailable", COFFRE_EFAIL},
	    {"internal", COFFRE_EFAIL},
	};

	for (size_t i = 0; code != NULL && i < sizeof(codes) / sizeof(codes[0]);
	     i++)
		if (strcmp(code, codes[i].code) == 0)
			return codes[i].rc;
	switch (status) {
	case 400:
	case 413:
	case 415:
		return COFFRE_EREJECT;
	case 403:
		return COFFRE_EDENIED;
	case 404:
		return COFFRE_ENOTFOUND;
	case 410:
		return COFFRE_EGONE;
	case 423:
		return COFFRE_ELOCKED;
	default:
		return COFFRE_EFAIL;
	}
}

/* The daemon's error answer (status ${status}, body ${b}) as a code. */
static int
daemon_error(struct client *c, long status, const struct buf *b)
{
	json_t *j = NULL, *e;
	const char *code = NULL, *msg = NULL;
	int rc;

	if (b->len > 0)
		j = json_loadb(b->p, b->len, 0, NULL);
	if ((e = json_object_get(j, "error")) != NULL) {
		code = json_string_value(json_object_get(e, "code"));
		msg = json_string_value(json_object_get(e, "message"));
	}
	rc = code_rc(code, status);
	if (msg != NULL)
		cfail(c, rc, "%s", msg);
	else
		cfail(c, rc, "the daemon on %s answered HTTP %ld", c->sock,
		    status);
	json_decref(j);
	return rc;
}

/* No connection: no daemon, or one the caller may not reach. */
static int
no_daemon(struct client *c)
{
	long oserr = 0;

	(void)curl_easy_getinfo(c->h, CURLINFO_OS_ERRNO, &oserr);
	if (oserr == EACCES || oserr == EPERM)
		return cfail(c, COFFRE_EDENIED,
		    "%s: %s: the socket is open to the daemon's group only "
		    "(coffre serve --socket-group G)",
		    c->sock, strerror((int)oserr));
	return cfail(c, COFFRE_ENODAEMON,
	    "no daemon answers on %s (start one with: coffre serve --socket "
	    "%s)",
	    c->sock, c->sock);
}

static int
hdr_add(struct curl_slist **h, const char *s)
{
	struct curl_slist *t = curl_slist_append(*h, s);

	if (t == NULL)
		return -1;
	*h = t;
	return 0;
}

/* Set up the handle for ${x}, on a clean slate.  0 or -1. */
static int
xfer_setup(struct client *c, struct xfer *x, struct curl_slist **h)
{
	CURL *e = c->h;

	curl_easy_reset(e);
	c->cerr[0] = '\0';
	if (curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->sock) !=
		CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_URL, c->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 5L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->cerr) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK)
		return -1;
	if (strcmp(x->method, "DELETE") == 0 &&
	    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE") != CURLE_OK)
		return -1;
	if (strcmp(x->method, "POST") != 0)
		return 0;
	/* No 100-continue: the daemon answers refusals on the headers. */
	if (hdr_add(h, "Expect:") != 0)
		return -1;
	if (x->rd != NULL) {
		/* The length is not known before the end: chunked. */
		if (hdr_add(h, "Transfer-Encoding: chunked") != 0 ||
		    hdr_add(h, "Content-Type: application/octet-stream") != 0 ||
		    curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read) !=
			CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_READDATA, x) != CURLE_OK)
			return -1;
	} else {
		const char *body = x->json != NULL ? x->json : "";
		if (hdr_add(h, "Content-Type: application/json") != 0 ||
		    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
			(long)strlen(body)) != CURLE_OK)
			return -1;
	}
	return curl_easy_setopt(e, CURLOPT_HTTPHEADER, *h) == CURLE_OK ? 0 : -1;
}

/*
 * Run ${x} on the URL built in ${c}; 0 when the daemon answered ${want}
 * in full (the answer in x->body, or pushed to x->wr), else a code with
 * the message in ${c}.  The caller frees x->body.
 */
static int
xfer_run(struct client *c, struct xfer *x, long want)
{
	struct curl_slist *h = NULL;
	curl_off_t cl = -1;
	long status = 0;
	CURLcode cc;
	int rc;

	x->c = c;
	if (c->urlbad) {
		rc = cfail(c, COFFRE_EREJECT,
		    "an argument is empty or too long for a request");
		goto out;
	}
	if (xfer_setup(c, x, &h) != 0) {
		rc = cfail(c, COFFRE_EFAIL,
		    "setting up a request: out of memory");
		goto out;
	}
	cc = curl_easy_perform(c->h);
	(void)curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	if (x->rderr != 0) {
		rc = cfail(c, COFFRE_EFAIL, "reading the input: %s",
		    strerror(x->rderr));
	} else if (x->wrerr != 0) {
		rc = cfail(c, COFFRE_EFAIL, "writing the output: %s",
		    strerror(x->wrerr));
	} else if (x->nomem) {
		rc = cfail(c, COFFRE_EFAIL,
		    "reading the daemon's answer: out "
		    "of memory");
	} else if (x->over) {
		rc = cfail(c, COFFRE_EFAIL,
		    "the daemon's answer is over %u bytes", JSON_MAX);
	} else if (cc == CURLE_COULDNT_CONNECT) {
		rc = no_daemon(c);
	} else if (status >= 300) {
		/* Its verdict stands even if the connection broke after. */
		rc = daemon_error(c, status, &x->body);
	} else if (cc != CURLE_OK && status == 0 && x->sent > 0) {
		rc = cfail(c, COFFRE_EFAIL,
		    "the daemon on %s closed the connection during the upload, "
		    "after %llu bytes: the document may be over its size "
		    "limit; see its log",
		    c->sock, (unsigned long long)x->sent);
	} else if (cc != CURLE_OK && status == 0) {
		rc = cfail(c, COFFRE_ENODAEMON,
		    "the daemon on %s closed the connection without answering "
		    "(%s): it may have stopped; see its log",
		    c->sock,
		    c->cerr[0] != '\0' ? c->cerr : curl_easy_strerror(cc));
	} else if (cc != CURLE_OK && x->wr != NULL && status == 200) {
		rc = cfail(c, COFFRE_EFAIL,
		    "the daemon cut the transfer: the document may be "
		    "corrupt; see its log");
	} else if (cc != CURLE_OK) {
		rc = cfail(c, COFFRE_EFAIL,
		    "the daemon on %s cut its answer (%s); see its log",
		    c->sock,
		    c->cerr[0] != '\0' ? c->cerr : curl_easy_strerror(cc));
	} else if (status != want) {
		rc = daemon_error(c, status, &x->body);
	} else if (x->wr != NULL &&
	    curl_easy_getinfo(c->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) ==
		CURLE_OK &&
	    cl >= 0 && (uint64_t)cl != x->written) {
		rc = cfail(c, COFFRE_EFAIL,
		    "the daemon cut the transfer: the document may be "
		    "corrupt; see its log");
	} else {
		rc = 0;
	}
out:
	curl_slist_free_all(h);
	sodium_memzero(c->url, c->urllen);
	c->urllen = 0;
	return rc;
}

/* The answer of a JSON request: 0 with *${ans} owned by the caller. */
static int
call_json(struct client *c, const char *method, const char *body, long want,
    json_t **ans)
{
	struct xfer x;
	json_error_t je;
	int rc;

	*ans = NULL;
	memset(&x, 0, sizeof(x));
	x.method = method;
	x.json = body;
	if ((rc = xfer_run(c, &x, want)) == 0 &&
	    (x.body.len == 0 ||
		(*ans = json_loadb(x.body.p, x.body.len, 0, &je)) == NULL ||
		!json_is_object(*ans))) {
		json_decref(*ans);
		*ans = NULL;
		rc = cfail(c, COFFRE_EFAIL,
		    "the daemon's answer is not a JSON object: %s",
		    x.body.len == 0 ? "it is empty" : je.text);
	}
	buf_free(&x.body);
	return rc;
}

/* The answer as text, into ${b} (freed by the caller). */
static int
call_raw(struct client *c, struct buf *b)
{
	struct xfer x;
	int rc;

	memset(&x, 0, sizeof(x));
	x.method = "GET";
	rc = xfer_run(c, &x, 200);
	*b = x.body;
	return rc;
}

/* A document's bytes, pushed to ${wr} as they come. */
static int
call_stream(struct client *c, coffre_write_fn wr, void *wrctx)
{
	struct xfer x;
	int rc;

	memset(&x, 0, sizeof(x));
	x.method = "GET";
	x.wr = wr;
	x.wrctx = wrctx;
	rc = xfer_run(c, &x, 200);
	buf_free(&x.body);
	return rc;
}

/* ---- reading answers ---- */

/*
 * Each reader records in *${bad} the first member that is missing or of
 * the wrong shape, so that one check follows a run of them.
 */

static void
get_str(json_t *o, const char *key, char *dst, size_t n, int nullable,
    const char **bad)
{
	json_t *v = json_object_get(o, key);

	dst[0] = '\0';
	if (nullable && (v == NULL || json_is_null(v)))
		return;
	if (!json_is_string(v) || json_string_length(v) >= n) {
		if (*bad == NULL)
			*bad = key;
		return;
	}
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
}

static void
get_u64(json_t *o, const char *key, uint64_t *out, const char **bad)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		if (*bad == NULL)
			*bad = key;
		return;
	}
	*out = (uint64_t)json_integer_value(v);
}

static void
get_bool(json_t *o, const char *key, int *out, const char **bad)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (!json_is_boolean(v)) {
		if (*bad == NULL)
			*bad = key;
		return;
	}
	*out = json_is_true(v);
}

/* "YYYY-MM-DDTHH:MM:SSZ" (util_iso8601) as unix seconds. */
static void
get_time(json_t *o, const char *key, int64_t *out, const char **bad)
{
	const char *s = json_string_value(json_object_get(o, key));
	const char *end;
	struct tm tm;

	*out = 0;
	memset(&tm, 0, sizeof(tm));
	if (s == NULL ||
	    (end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0') {
		if (*bad == NULL)
			*bad = key;
		return;
	}
	*out = (int64_t)timegm(&tm);
}

static int
malformed(struct client *c, const char *what)
{
	return cfail(c, COFFRE_EFAIL,
	    "the daemon's answer is malformed (%s): is it the same version "
	    "of coffre?",
	    what);
}

/* A document of an answer (without its reviews). */
static int
doc_fill(struct client *c, json_t *o, struct coffre_doc *d)
{
	const char *bad = NULL, *st;

	memset(d, 0, sizeof(*d));
	get_str(o, "id", d->id, sizeof(d->id), 0, &bad);
	get_str(o, "user", d->user, sizeof(d->user), 0, &bad);
	get_str(o, "community", d->community, sizeof(d->community), 0, &bad);
	get_str(o, "kind", d->kind, sizeof(d->kind), 0, &bad);
	get_str(o, "name", d->name, sizeof(d->name), 0, &bad);
	get_str(o, "type", d->type, sizeof(d->type), 0, &bad);
	get_u64(o, "size", &d->size, &bad);
	get_time(o, "created", &d->created, &bad);
	st = json_string_value(json_object_get(o, "status"));
	if ((d->status = coffre_status_parse(st)) < 0 && bad == NULL)
		bad = "status";
	return bad != NULL ? malformed(c, bad) : 0;
}

/* The id, type and size of a new document or archive. */
static int
sealed_fill(struct client *c, json_t *o, char id[COFFRE_DOCID_LEN + 1],
    char *type, uint64_t *size)
{
	char t[COFFRE_TYPE_MAX + 1];
	const char *bad = NULL;
	uint64_t n;

	get_str(o, "id", id, COFFRE_DOCID_LEN + 1, 0, &bad);
	get_str(o, "type", t, sizeof(t), 0, &bad);
	get_u64(o, "size", &n, &bad);
	if (bad != NULL)
		return malformed(c, bad);
	if (type != NULL)
		memcpy(type, t, strlen(t) + 1);
	if (size != NULL)
		*size = n;
	return 0;
}

static int
shred_fill(struct client *c, json_t *o, struct coffre_shred_result *r)
{
	const char *bad = NULL;

	get_u64(o, "shredded_documents", &r->documents, &bad);
	get_u64(o, "contracts_ended", &r->contracts_ended, &bad);
	get_u64(o, "keys_destroyed", &r->keys_destroyed, &bad);
	get_u64(o, "wraps", &r->wraps, &bad);
	get_u64(o, "epoch_before", &r->epoch_before, &bad);
	get_u64(o, "epoch_after", &r->epoch_after, &bad);
	return bad != NULL ? malformed(c, bad) : 0;
}

/* The "code" and "message" of verify, check and scan: a failure found is
 * an answer, not an HTTP error. */
static int
found_rc(struct client *c, json_t *o)
{
	json_t *code = json_object_get(o, "code");
	const char *msg = json_string_value(json_object_get(o, "message"));
	json_int_t n;

	if (!json_is_integer(code) || msg == NULL)
		return malformed(c, "code");
	n = json_integer_value(code);
	if (n == 0)
		return 0;
	return cfail(c, n > 0 && n <= COFFRE_ENODAEMON ? (int)n : COFFRE_EFAIL,
	    "%s", msg);
}

static void
reviews_free(struct client *c)
{
	if (c->reviews != NULL) {
		sodium_memzero(c->reviews, c->nreviews * sizeof(*c->reviews));
		free(c->reviews);
	}
	c->reviews = NULL;
	c->nreviews = 0;
}

/* ---- the operations ---- */

static const char *
c_errmsg(void *be)
{
	struct client *c = be;

	return c->err;
}

static int
upload(struct client *c, coffre_read_fn rd, void *rdctx,
    char id[COFFRE_DOCID_LEN + 1], char *type, uint64_t *size)
{
	struct xfer x;
	json_error_t je;
	json_t *ans = NULL;
	int rc;

	memset(&x, 0, sizeof(x));
	x.method = "POST";
	x.rd = rd;
	x.rdctx = rdctx;
	if ((rc = xfer_run(c, &x, 201)) != 0)
		goto out;
	if (x.body.len == 0 ||
	    (ans = json_loadb(x.body.p, x.body.len, 0, &je)) == NULL) {
		rc = malformed(c, x.body.len == 0 ? "empty" : je.text);
		goto out;
	}
	rc = sealed_fill(c, ans, id, type, size);
out:
	json_decref(ans);
	buf_free(&x.body);
	return rc;
}

static int
c_seal(void *be, const char *user, const char *community, const char *kind,
    const char *name, coffre_read_fn rd, void *rdctx,
    char id[COFFRE_DOCID_LEN + 1], char *type, uint64_t *size)
{
	struct client *c = be;

	url_begin(c, "documents");
	url_arg(c, "user", user != NULL ? user : "");
	url_arg(c, "community", community != NULL ? community : "");
	url_arg(c, "kind", kind);
	url_arg(c, "name", name);
	return upload(c, rd, rdctx, id, type, size);
}

static int
c_archive(void *be, const char *user, const char *contract, const char *name,
    coffre_read_fn rd, void *rdctx, char id[COFFRE_DOCID_LEN + 1], char *type,
    uint64_t *size)
{
	struct client *c = be;

	url_begin(c, "archives");
	url_arg(c, "user", user != NULL ? user : "");
	url_arg(c, "contract", contract != NULL ? contract : "");
	url_arg(c, "name", name);
	return upload(c, rd, rdctx, id, type, size);
}

static int
c_open_doc(void *be, const char *id, coffre_write_fn wr, void *wrctx)
{
	struct client *c = be;

	url_begin(c, "documents/");
	url_esc(c, id);
	url_lit(c, "/content");
	return call_stream(c, wr, wrctx);
}

static int
c_archive_open(void *be, const char *id, const char *reason, coffre_write_fn wr,
    void *wrctx)
{
	struct client *c = be;

	url_begin(c, "archives/");
	url_esc(c, id);
	url_lit(c, "/content");
	url_arg(c, "reason", reason != NULL ? reason : "");
	return call_stream(c, wr, wrctx);
}

static int
c_info(void *be, const char *id, struct coffre_doc *d)
{
	struct client *c = be;
	json_t *ans, *revs, *r;
	const char *bad = NULL, *dec;
	size_t i;
	int rc;

	reviews_free(c);
	memset(d, 0, sizeof(*d));
	url_begin(c, "documents/");
	url_esc(c, id);
	if ((rc = call_json(c, "GET", NULL, 200, &ans)) != 0)
		return rc;
	if ((rc = doc_fill(c, ans, d)) != 0)
		goto out;
	revs = json_object_get(ans, "reviews");
	if (revs != NULL && !json_is_array(revs)) {
		rc = malformed(c, "reviews");
		goto out;
	}
	if (json_array_size(revs) > 0 &&
	    (c->reviews = calloc(json_array_size(revs), sizeof(*c->reviews))) ==
		NULL) {
		rc = cfail(c, COFFRE_EFAIL, "out of memory");
		goto out;
	}
	json_array_foreach(revs, i, r)
	{
		struct coffre_review *v = &c->reviews[i];
		dec = json_string_value(json_object_get(r, "decision"));
		if (dec != NULL && strcmp(dec, "approve") == 0)
			v->decision = COFFRE_APPROVED;
		else if (dec != NULL && strcmp(dec, "reject") == 0)
			v->decision = COFFRE_REJECTED;
		else if (bad == NULL)
			bad = "decision";
		get_time(r, "at", &v->at, &bad);
		get_str(r, "note", v->note, sizeof(v->note), 1, &bad);
		c->nreviews++;
	}
	if (bad != NULL) {
		reviews_free(c);
		rc = malformed(c, bad);
		goto out;
	}
	d->reviews = c->reviews;
	d->nreviews = c->nreviews;
out:
	json_decref(ans);
	return rc;
}

static int
c_list(void *be, const struct coffre_filter *f, coffre_list_fn fn, void *ctx)
{
	struct client *c = be;
	char after[COFFRE_DOCID_LEN + 1] = "";
	struct coffre_doc d;
	json_t *ans = NULL, *docs, *next, *o;
	size_t i;
	int rc = 0;

	for (;;) {
		url_begin(c, "documents");
		if (f != NULL) {
			url_arg(c, "user", f->user);
			url_arg(c, "community", f->community);
			if (f->status >= 0)
				url_arg(c, "status",
				    coffre_status_name(f->status));
		}
		url_arg(c, "limit", LIST_PAGE);
		if (after[0] != '\0')
			url_arg(c, "after", after);
		if ((rc = call_json(c, "GET", NULL, 200, &ans)) != 0)
			break;
		docs = json_object_get(ans, "documents");
		next = json_object_get(ans, "next");
		if (!json_is_array(docs) ||
		    !(json_is_null(next) || json_is_string(next))) {
			rc = malformed(c, "documents");
			break;
		}
		json_array_foreach(docs, i, o)
		{
			if ((rc = doc_fill(c, o, &d)) != 0 ||
			    (rc = fn(ctx, &d)) != 0)
				goto out;
		}
		if (json_is_null(next))
			break;
		/* The cursor must move, or this would never end. */
		if (json_string_length(next) >= sizeof(after) ||
		    strcmp(json_string_value(next), after) == 0) {
			rc = malformed(c, "next");
			break;
		}
		memcpy(after, json_string_value(next),
		    json_string_length(next) + 1);
		json_decref(ans);
		ans = NULL;
	}
out:
	json_decref(ans);
	return rc;
}

static int
c_review(void *be, const char *id, int decision, const char *note)
{
	struct client *c = be;
	json_t *j, *ans = NULL;
	char *body;
	int rc;

	if (decision != COFFRE_APPROVED && decision != COFFRE_REJECTED)
		return cfail(c, COFFRE_EREJECT, "a review approves or rejects");
	j = json_pack("{s:s,s:s*}", "decision",
	    decision == COFFRE_APPROVED ? "approve" : "reject", "note", note);
	if (j == NULL)
		return cfail(c, COFFRE_EREJECT, "the note is not UTF-8 text");
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (body == NULL)
		return cfail(c, COFFRE_EFAIL, "out of memory");
	url_begin(c, "documents/");
	url_esc(c, id);
	url_lit(c, "/review");
	rc = call_json(c, "POST", body, 200, &ans);
	sodium_memzero(body, strlen(body));
	free(body);
	json_decref(ans);
	return rc;
}

static int
shred(struct client *c, struct coffre_shred_result *res)
{
	json_t *ans;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = call_json(c, "DELETE", NULL, 200, &ans)) != 0)
		return rc;
	rc = shred_fill(c, ans, res);
	json_decref(ans);
	return rc;
}

static int
c_shred_user(void *be, const char *user, struct coffre_shred_result *res)
{
	struct client *c = be;

	url_begin(c, "users/");
	url_esc(c, user);
	return shred(c, res);
}

static int
c_shred_doc(void *be, const char *id, struct coffre_shred_result *res)
{
	struct client *c = be;

	url_begin(c, "documents/");
	url_esc(c, id);
	return shred(c, res);
}

static int
c_shred_archive(void *be, const char *id, struct coffre_shred_result *res)
{
	struct client *c = be;

	url_begin(c, "archives/");
	url_esc(c, id);
	return shred(c, res);
}

/* The reports of check and scan, each handed to ${fn}. */
static int
reports(struct client *c, json_t *ans, coffre_report_fn fn, void *ctx)
{
	json_t *a = json_object_get(ans, "reports"), *r;
	const char *bad = NULL, *msg;
	int problem;
	size_t i;

	if (!json_is_array(a))
		return malformed(c, "reports");
	json_array_foreach(a, i, r)
	{
		get_bool(r, "problem", &problem, &bad);
		msg = json_string_value(json_object_get(r, "message"));
		if (msg == NULL || bad != NULL)
			return malformed(c, bad != NULL ? bad : "message");
		if (fn != NULL)
			fn(ctx, problem, msg);
	}
	return 0;
}

static int
c_check(void *be, int repair, coffre_report_fn fn, void *ctx,
    struct coffre_check_result *res)
{
	struct client *c = be;
	const char *bad = NULL;
	json_t *ans, *o;
	int rc;

	memset(res, 0, sizeof(*res));
	if (repair)
		return cfail(c, COFFRE_EUSAGE,
		    "check --repair works on the vault directory only (--dir)");
	url_begin(c, "check");
	if ((rc = call_json(c, "GET", NULL, 200, &ans)) != 0)
		return rc;
	o = json_object_get(ans, "result");
	get_u64(o, "documents", &res->documents, &bad);
	get_u64(o, "leaves", &res->leaves, &bad);
	get_u64(o, "problems", &res->problems, &bad);
	get_u64(o, "repaired", &res->repaired, &bad);
	if (bad != NULL)
		rc = malformed(c, bad);
	else if ((rc = reports(c, ans, fn, ctx)) == 0)
		rc = found_rc(c, ans);
	json_decref(ans);
	return rc;
}

static int
c_scan(void *be, coffre_report_fn fn, void *ctx, struct coffre_scan_result *res)
{
	struct client *c = be;
	const char *bad = NULL;
	json_t *ans, *o;
	int rc;

	memset(res, 0, sizeof(*res));
	url_begin(c, "audit/scan");
	if ((rc = call_json(c, "GET", NULL, 200, &ans)) != 0)
		return rc;
	o = json_object_get(ans, "result");
	get_u64(o, "files", &res->files, &bad);
	get_u64(o, "bytes", &res->bytes, &bad);
	get_u64(o, "skipped", &res->skipped, &bad);
	get_u64(o, "markers", &res->markers, &bad);
	get_u64(o, "candidates", &res->candidates, &bad);
	get_u64(o, "stale", &res->stale, &bad);
	get_u64(o, "opened", &res->opened, &bad);
	get_u64(o, "plaintext_hits", &res->plaintext_hits, &bad);
	if (bad != NULL)
		rc = malformed(c, bad);
	else if ((rc = reports(c, ans, fn, ctx)) == 0)
		rc = found_rc(c, ans);
	json_decref(ans);
	return rc;
}

static int
c_contract_end(void *be, const char *user, const char *contract,
    const char *date, char retain_until[11])
{
	struct client *c = be;
	const char *bad = NULL;
	json_t *j, *ans;
	char *body;
	int rc;

	retain_until[0] = '\0';
	if ((j = json_pack("{s:s*}", "date", date)) == NULL ||
	    (body = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		return cfail(c, COFFRE_EREJECT, "malformed date");
	}
	json_decref(j);
	url_begin(c, "contracts/");
	url_esc(c, user);
	url_lit(c, "/");
	url_esc(c, contract);
	url_lit(c, "/end");
	rc = call_json(c, "POST", body, 200, &ans);
	free(body);
	if (rc != 0)
		return rc;
	get_str(ans, "retain_until", retain_until, 11, 0, &bad);
	json_decref(ans);
	return bad != NULL ? malformed(c, bad) : 0;
}

static int
c_hold(void *be, const char *user, const char *contract, const char *reason,
    int on)
{
	struct client *c = be;
	json_t *j, *ans = NULL;
	char *body;
	int rc;

	if ((j = json_pack("{s:s*}", "reason", reason)) == NULL)
		return cfail(c, COFFRE_EREJECT, "the reason is not UTF-8 text");
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (body == NULL)
		return cfail(c, COFFRE_EFAIL, "out of memory");
	url_begin(c, "contracts/");
	url_esc(c, user);
	url_lit(c, "/");
	url_esc(c, contract);
	url_lit(c, on ? "/hold" : "/release");
	rc = call_json(c, "POST", body, 200, &ans);
	sodium_memzero(body, strlen(body));
	free(body);
	json_decref(ans);
	return rc;
}

static int
c_archives(void *be, const char *user, coffre_archive_fn fn, void *ctx)
{
	static const char *const names[] = {"live", "expired", "shredded"};
	struct client *c = be;
	struct coffre_archive a;
	const char *bad = NULL, *st;
	json_t *ans, *arr, *o;
	uint64_t holds;
	size_t i;
	int rc;

	url_begin(c, "archives");
	url_arg(c, "user", user);
	if ((rc = call_json(c, "GET", NULL, 200, &ans)) != 0)
		return rc;
	if (!json_is_array(arr = json_object_get(ans, "archives"))) {
		rc = malformed(c, "archives");
		goto out;
	}
	json_array_foreach(arr, i, o)
	{
		memset(&a, 0, sizeof(a));
		get_str(o, "id", a.id, sizeof(a.id), 0, &bad);
		get_str(o, "user", a.user, sizeof(a.user), 0, &bad);
		get_str(o, "contract", a.contract, sizeof(a.contract), 0, &bad);
		get_str(o, "type", a.type, sizeof(a.type), 0, &bad);
		get_u64(o, "size", &a.size, &bad);
		get_time(o, "created", &a.created, &bad);
		get_bool(o, "contract_ended", &a.ended, &bad);
		get_str(o, "end_date", a.end_date, sizeof(a.end_date), 1, &bad);
		get_str(o, "retain_until", a.retain_until,
		    sizeof(a.retain_until), 1, &bad);
		get_u64(o, "holds", &holds, &bad);
		a.holds = holds <= UINT_MAX ? (unsigned)holds : UINT_MAX;
		st = json_string_value(json_object_get(o, "status"));
		a.status = -1;
		for (int k = 0; st != NULL && k < 3; k++)
			if (strcmp(st, names[k]) == 0)
				a.status = k;
		if (a.status < 0 && bad == NULL)
			bad = "status";
		if (bad != NULL) {
			rc = malformed(c, bad);
			goto out;
		}
		if ((rc = fn(ctx, &a)) != 0)
			goto out;
	}
out:
	json_decref(ans);
	return rc;
}

static int
c_sweep(void *be, struct coffre_sweep_result *res)
{
	struct client *c = be;
	const char *bad = NULL;
	json_t *ans;
	int rc;

	memset(res, 0, sizeof(*res));
	url_begin(c, "sweep");
	if ((rc = call_json(c, "POST", NULL, 200, &ans)) != 0)
		return rc;
	get_u64(ans, "contracts", &res->contracts, &bad);
	get_u64(ans, "archives", &res->archives, &bad);
	get_u64(ans, "documents", &res->documents, &bad);
	get_u64(ans, "keys_destroyed", &res->keys_destroyed, &bad);
	get_u64(ans, "wraps", &res->wraps, &bad);
	get_u64(ans, "rekeyed", &res->rekeyed, &bad);
	get_u64(ans, "epoch_before", &res->epoch_before, &bad);
	get_u64(ans, "epoch_after", &res->epoch_after, &bad);
	json_decref(ans);
	return bad != NULL ? malformed(c, bad) : 0;
}

static int
c_audit_verify(void *be, struct coffre_verify_result *res)
{
	struct client *c = be;
	const char *bad = NULL;
	json_t *ans;
	int ok, rc;

	memset(res, 0, sizeof(*res));
	url_begin(c, "audit/verify");
	if ((rc = call_json(c, "GET", NULL, 200, &ans)) != 0)
		return rc;
	get_bool(ans, "ok", &ok, &bad);
	get_u64(ans, "events", &res->events, &bad);
	get_u64(ans, "checkpoints", &res->checkpoints, &bad);
	get_u64(ans, "rotations", &res->rotations, &bad);
	get_u64(ans, "first_bad", &res->first_bad, &bad);
	get_str(ans, "head", res->head, sizeof(res->head), 0, &bad);
	if (bad != NULL)
		rc = malformed(c, bad);
	else if ((rc = found_rc(c, ans)) == 0 && !ok)
		rc = cfail(c, COFFRE_EFAIL, "the audit log does not verify");
	json_decref(ans);
	return rc;
}

/*
 * Hand each line of ${b} to ${fn}, as it is, without its newline: with
 * its "seq" member when ${seqs}, else with 0.  *${n} counts the lines and
 * *${last} keeps the last seq.
 */
static int
lines(struct client *c, struct buf *b, int seqs, coffre_line_fn fn, void *ctx,
    size_t *n, uint64_t *last)
{
	char *p = b->p, *end = b->p + b->len, *nl;
	uint64_t seq = 0;
	json_t *j;
	size_t len;
	int rc;

	*n = 0;
	while (b->len > 0 && p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		*nl = '\0'; /* the NUL after the buffer when nl == end */
		if (len > 0) {
			if (seqs) {
				j = json_loadb(p, len, 0, NULL);
				if (!json_is_integer(
					json_object_get(j, "seq")) ||
				    json_integer_value(
					json_object_get(j, "seq")) <= 0) {
					json_decref(j);
					return malformed(c, "seq");
				}
				seq = (uint64_t)json_integer_value(
				    json_object_get(j, "seq"));
				json_decref(j);
				if (*n > 0 && seq <= *last)
					return malformed(c, "seq");
				*last = seq;
			}
			(*n)++;
			if ((rc = fn(ctx, seq, p, len)) != 0)
				return rc;
		}
		p = nl + 1;
	}
	return 0;
}

static int
c_audit_lines(void *be, const char *user, int open_reasons, coffre_line_fn fn,
    void *ctx)
{
	struct client *c = be;
	struct buf b;
	uint64_t last = 0, before;
	char num[24];
	size_t n;
	int rc;

	for (;;) {
		url_begin(c, "audit");
		url_arg(c, "limit", AUDIT_PAGE_S);
		url_arg(c, "user", user);
		if (open_reasons)
			url_arg(c, "reasons", "1");
		if (last > 0) {
			snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)last);
			url_arg(c, "after", num);
		}
		before = last;
		rc = call_raw(c, &b);
		if (rc == 0)
			rc = lines(c, &b, 1, fn, ctx, &n, &last);
		buf_free(&b);
		if (rc != 0 || n < AUDIT_PAGE)
			return rc;
		if (last <= before)
			return malformed(c, "seq");
	}
}

static int
c_shred_report(void *be, const char *user, coffre_line_fn fn, void *ctx)
{
	struct client *c = be;
	struct buf b;
	uint64_t last = 0;
	size_t n;
	int rc;

	url_begin(c, "audit/shred-report");
	url_arg(c, "user", user != NULL ? user : "");
	rc = call_raw(c, &b);
	if (rc == 0)
		rc = lines(c, &b, 0, fn, ctx, &n, &last);
	buf_free(&b);
	return rc;
}

static void
c_close(void *be)
{
	struct client *c = be;

	if (c == NULL)
		return;
	reviews_free(c);
	if (c->h != NULL)
		curl_easy_cleanup(c->h);
	free(c->sock);
	sodium_memzero(c, sizeof(*c));
	free(c);
	if (curl_users > 0 && --curl_users == 0)
		curl_global_cleanup();
}

/* One entry of an import's answer, to ${fn}. */
static int
import_entry(struct client *c, json_t *o, int sealed, coffre_import_fn fn,
    void *ctx)
{
	struct coffre_import_entry e;
	const char *bad = NULL;
	char entry[COFFRE_NAME_MAX + 1], id[COFFRE_DOCID_LEN + 1];
	char type[COFFRE_TYPE_MAX + 1], reason[1024];
	uint64_t size = 0;

	memset(&e, 0, sizeof(e));
	get_str(o, "entry", entry, sizeof(entry), 0, &bad);
	if (sealed) {
		get_str(o, "id", id, sizeof(id), 0, &bad);
		get_str(o, "type", type, sizeof(type), 0, &bad);
		get_u64(o, "size", &size, &bad);
		e.id = id;
		e.type = type;
		e.size = size;
	} else {
		get_str(o, "reason", reason, sizeof(reason), 0, &bad);
		e.reason = reason;
	}
	if (bad != NULL)
		return malformed(c, bad);
	e.entry = entry;
	e.sealed = sealed;
	return fn != NULL ? fn(ctx, &e) : 0;
}

static int
c_import(void *be, const char *user, const char *community, coffre_read_fn rd,
    coffre_seek_fn seek, void *rdctx, coffre_import_fn fn, void *ctx,
    struct coffre_import_result *res)
{
	/* The daemon spools the bundle, and seeks in its spool. */
	(void)seek;
	struct client *c = be;
	struct xfer x;
	json_error_t je;
	json_t *ans = NULL, *s, *r, *o;
	int rc;

	memset(res, 0, sizeof(*res));
	url_begin(c, "bundles");
	url_arg(c, "user", user != NULL ? user : "");
	url_arg(c, "community", community != NULL ? community : "");
	memset(&x, 0, sizeof(x));
	x.method = "POST";
	x.rd = rd;
	x.rdctx = rdctx;
	if ((rc = xfer_run(c, &x, 201)) != 0)
		goto out;
	if (x.body.len == 0 ||
	    (ans = json_loadb(x.body.p, x.body.len, 0, &je)) == NULL ||
	    !json_is_array(s = json_object_get(ans, "sealed")) ||
	    !json_is_array(r = json_object_get(ans, "rejected"))) {
		rc = malformed(c, "sealed, rejected");
		goto out;
	}
	/* In the bundle's order: merge the two lists by "index". */
	for (size_t si = 0, ri = 0;
	     si < json_array_size(s) || ri < json_array_size(r);) {
		json_int_t sx = json_integer_value(
		    json_object_get(json_array_get(s, si), "index"));
		json_int_t rx = json_integer_value(
		    json_object_get(json_array_get(r, ri), "index"));
		int sealed = ri >= json_array_size(r) ||
		    (si < json_array_size(s) && sx < rx);
		o = sealed ? json_array_get(s, si++) : json_array_get(r, ri++);
		if ((rc = import_entry(c, o, sealed, fn, ctx)) != 0)
			goto out;
		if (sealed)
			res->sealed++;
		else
			res->rejected++;
	}
	res->entries = res->sealed + res->rejected;
	if (res->rejected > 0)
		rc = cfail(c, COFFRE_EREJECT,
		    "%llu of the bundle's entries were rejected (%llu sealed)",
		    (unsigned long long)res->rejected,
		    (unsigned long long)res->sealed);
out:
	json_decref(ans);
	buf_free(&x.body);
	return rc;
}

static int
c_export(void *be, const char *user, int format, coffre_write_fn wr,
    void *wrctx)
{
	struct client *c = be;

	url_begin(c, "users/");
	url_esc(c, user != NULL ? user : "");
	url_lit(c, "/export");
	url_arg(c, "format",
	    format == COFFRE_EXPORT_ZIP       ? "zip"
		: format == COFFRE_EXPORT_TAR ? "tar"
					      : "tar.gz");
	return call_stream(c, wr, wrctx);
}

static const struct ops client_ops = {
    .errmsg = c_errmsg,
    .seal = c_seal,
    .open_doc = c_open_doc,
    .info = c_info,
    .list = c_list,
    .review = c_review,
    .shred_user = c_shred_user,
    .shred_doc = c_shred_doc,
    .check = c_check,
    .scan = c_scan,
    .archive = c_archive,
    .contract_end = c_contract_end,
    .hold = c_hold,
    .archives = c_archives,
    .archive_open = c_archive_open,
    .shred_archive = c_shred_archive,
    .sweep = c_sweep,
    .audit_verify = c_audit_verify,
    .audit_lines = c_audit_lines,
    .shred_report = c_shred_report,
    .import = c_import,
    .export = c_export,
    .close = c_close,
};

int
ops_client_open(const char *path, const struct ops **ops, void **be, char *err,
    size_t errlen)
{
	struct sockaddr_un sa;
	struct client *c = NULL;
	json_t *ans = NULL;
	const char *st;
	int healthy, rc;

	if (path == NULL || *path == '\0' ||
	    strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--socket: give a path of 1 to %zu bytes",
		    sizeof(sa.sun_path) - 1);
		return COFFRE_EUSAGE;
	}
	if (curl_users == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		snprintf(err, errlen, "libcurl does not initialise");
		return COFFRE_EFAIL;
	}
	curl_users++;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->sock = strdup(path)) == NULL ||
	    (c->h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = COFFRE_EFAIL;
		goto err;
	}
	/* Check that it is a coffre daemon, and that it lets the caller in. */
	url_begin(c, "health");
	if ((rc = call_json(c, "GET", NULL, 200, &ans)) != 0) {
		snprintf(err, errlen, "%s", c->err);
		goto err;
	}
	st = json_string_value(json_object_get(ans, "status"));
	healthy = st != NULL && strcmp(st, "ok") == 0;
	json_decref(ans);
	if (!healthy) {
		snprintf(err, errlen,
		    "%s: the daemon there is not a coffre daemon, or not a "
		    "healthy one",
		    path);
		rc = COFFRE_EFAIL;
		goto err;
	}
	*ops = &client_ops;
	*be = c;
	return 0;
err:
	if (c != NULL)
		c_close(c);
	else if (--curl_users == 0)
		curl_global_cleanup();
	return rc;
}
