/*
 * routes.c: the HTTP routes of SPEC.md section 5 (and the few more the
 * command needs through the socket, docs/API.md), each checked against the
 * caller's roles before its body is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/route_parse.h"
#include "cli/serve_int.h"
#include "vault/util.h"

#define SMALL_BODY (16 * 1024) /* JSON bodies: review, contract end, hold */
#define CHUNK_OUT (64 * 1024)  /* bytes a download hands MHD at once */
#define SPOOL_MEM (512 * 1024) /* bytes of an upload kept in memory */
#define SPOOL_BLK (64 * 1024)  /* then blocks of the spill file */
#define SKIP_MAX (64ull * 1024 * 1024) /* skipped past the limit, at most */
#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define AUDIT_DEFAULT 1000
#define AUDIT_MAX 10000

/*
 * An upload: its first SPOOL_MEM bytes in locked memory, the rest in an
 * unlinked file, encrypted (XChaCha20, one-time key) block by block.
 */
struct spool {
	uint8_t *mem; /* SPOOL_MEM, sodium_malloc'd */
	size_t memlen;
	uint8_t *blk; /* the block being filled, SPOOL_BLK */
	size_t blklen;
	uint8_t *key; /* 32 bytes + the read block, sodium_malloc'd */
	uint8_t nonce[24];
	int fd;
	uint64_t filelen; /* bytes in the file (whole blocks) */
	uint64_t total, rpos;
	int64_t rblk; /* block number held in rbuf, or -1 */
};

/* What each route takes: method, body, roles. */
static const struct {
	const char *method;
	int body; /* 0 none, 1 JSON, 2 a document */
	unsigned roles;
} routes[] = {
    [R_HEALTH] = {"GET", 0,
	ROLE_BACKEND | ROLE_REVIEWER | ROLE_AUDITOR | ROLE_ADMIN},
    [R_DOC_SEAL] = {"POST", 2, ROLE_BACKEND},
    [R_DOC_LIST] = {"GET", 0, ROLE_BACKEND | ROLE_REVIEWER},
    [R_DOC_INFO] = {"GET", 0, ROLE_BACKEND | ROLE_REVIEWER},
    [R_DOC_CONTENT] = {"GET", 0, ROLE_BACKEND | ROLE_REVIEWER},
    [R_DOC_REVIEW] = {"POST", 1, ROLE_REVIEWER},
    [R_DOC_SHRED] = {"DELETE", 0, ROLE_BACKEND},
    [R_USER_SHRED] = {"DELETE", 0, ROLE_BACKEND},
    [R_ARC_SEAL] = {"POST", 2, ROLE_BACKEND},
    [R_ARC_LIST] = {"GET", 0, ROLE_ADMIN},
    [R_ARC_CONTENT] = {"GET", 0, ROLE_ADMIN},
    [R_ARC_SHRED] = {"DELETE", 0, ROLE_BACKEND | ROLE_ADMIN},
    [R_CONTRACT_END] = {"POST", 1, ROLE_BACKEND},
    [R_CONTRACT_HOLD] = {"POST", 1, ROLE_ADMIN},
    [R_CONTRACT_RELEASE] = {"POST", 1, ROLE_ADMIN},
    [R_AUDIT] = {"GET", 0, ROLE_AUDITOR | ROLE_ADMIN},
    [R_AUDIT_REPORT] = {"GET", 0, ROLE_AUDITOR | ROLE_ADMIN},
    [R_AUDIT_VERIFY] = {"GET", 0, ROLE_AUDITOR | ROLE_ADMIN},
    [R_AUDIT_SCAN] = {"GET", 0, ROLE_AUDITOR | ROLE_ADMIN},
    [R_CHECK] = {"GET", 0, ROLE_ADMIN},
    [R_SWEEP] = {"POST", 0, ROLE_ADMIN},
    [R_BUNDLE] = {"POST", 2, ROLE_BACKEND},
    [R_EXPORT] = {"GET", 0, ROLE_BACKEND},
};

/* One request. */
struct req {
	enum route route;
	struct conn *c;
	unsigned role;                /* the role that allows it */
	char a[3][COFFRE_ID_MAX + 1]; /* path parameters */
	int answered;                 /* a response is queued */
	int over;                     /* the body passed its limit */
	uint64_t skipped;             /* bytes of it skipped since */
	char *small;                  /* a JSON body */
	size_t smalllen;
	struct spool *sp;
	int counted; /* in S.inflight */
};

/* ---- answers ---- */

static enum MHD_Result
answer(struct MHD_Connection *mc, struct req *r, unsigned status,
    const char *ctype, char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp =
	    MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	(void)MHD_add_response_header(resp, "Content-Type", ctype);
	if (__atomic_load_n(&S.stopping, __ATOMIC_ACQUIRE))
		(void)MHD_add_response_header(resp, "Connection", "close");
	ret = MHD_queue_response(mc, status, resp);
	MHD_destroy_response(resp);
	if (r != NULL)
		r->answered = 1;
	return ret;
}

static enum MHD_Result
answer_json(struct MHD_Connection *mc, struct req *r, unsigned status,
    json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	size_t n;
	char *body;

	json_decref(j);
	if (s == NULL)
		return MHD_NO;
	n = strlen(s);
	if ((body = malloc(n + 2)) == NULL) {
		free(s);
		return MHD_NO;
	}
	memcpy(body, s, n);
	body[n] = '\n';
	body[n + 1] = '\0';
	free(s);
	return answer(mc, r, status, "application/json", body, n + 1);
}

static enum MHD_Result
answer_err(struct MHD_Connection *mc, struct req *r, unsigned status,
    const char *code, const char *msg)
{
	return answer_json(mc, r, status,
	    json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

/* A library result as an HTTP error. */
static enum MHD_Result
answer_code(struct MHD_Connection *mc, struct req *r, int rc, const char *msg,
    int too_large, int bad_type)
{
	switch (rc) {
	case COFFRE_EUSAGE:
		return answer_err(mc, r, 400, "usage", msg);
	case COFFRE_ENOTFOUND:
		return answer_err(mc, r, 404, "not_found", msg);
	case COFFRE_EGONE:
		return answer_err(mc, r, 410, "gone", msg);
	case COFFRE_EREJECT:
		if (too_large)
			return answer_err(mc, r, 413, "too_large", msg);
		if (bad_type)
			return answer_err(mc, r, 415, "unsupported_type", msg);
		return answer_err(mc, r, 400, "malformed", msg);
	case COFFRE_EDENIED:
		return answer_err(mc, r, 403, "forbidden", msg);
	case COFFRE_ELOCKED:
		return answer_err(mc, r, 423, "locked", msg);
	default:
		return answer_err(mc, r, 500, "internal", msg);
	}
}

/* The library's message, copied while the mutex is held. */
static enum MHD_Result
answer_lib(struct MHD_Connection *mc, struct req *r, int rc)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s", coffre_errmsg(S.v));
	if (rc == COFFRE_EFAIL)
		serve_probe();
	pthread_mutex_unlock(&S.vmu);
	return answer_code(mc, r, rc, msg, 0, 0);
}

/* Take the library for request ${r}: its actor is the caller. */
static void
lib_enter(const struct req *r)
{
	char actor[80];

	pthread_mutex_lock(&S.vmu);
	snprintf(actor, sizeof(actor), "%s:uid:%u", role_name(r->role),
	    (unsigned)r->c->uid);
	coffre_set_actor(S.v, actor);
}

static const char *
arg(struct MHD_Connection *mc, const char *name)
{
	return MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- the spool ---- */

/*
 * Spool memory is kept for the next upload (up to SPOOL_KEEP regions):
 * a fresh sodium_malloc region costs an mmap, an mlock, its guard pages
 * and a page fault per page, on every request.  Wiped before it is kept.
 */
#define SPOOL_KEEP 32
static pthread_mutex_t spool_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *spool_kept[SPOOL_KEEP];
static int spool_nkept;

static uint8_t *
spool_mem_get(void)
{
	uint8_t *m = NULL;

	pthread_mutex_lock(&spool_mu);
	if (spool_nkept > 0)
		m = spool_kept[--spool_nkept];
	pthread_mutex_unlock(&spool_mu);
	return m != NULL ? m : sodium_malloc(SPOOL_MEM);
}

static void
spool_mem_put(uint8_t *m, size_t used)
{
	if (m == NULL)
		return;
	sodium_memzero(m, used);
	pthread_mutex_lock(&spool_mu);
	if (spool_nkept < SPOOL_KEEP) {
		spool_kept[spool_nkept++] = m;
		m = NULL;
	}
	pthread_mutex_unlock(&spool_mu);
	sodium_free(m);
}

static void
spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	spool_mem_put(sp->mem, sp->memlen);
	sodium_free(sp->blk);
	sodium_free(sp->key);
	free(sp);
}

static struct spool *
spool_new(void)
{
	struct spool *sp = calloc(1, sizeof(*sp));

	if (sp == NULL)
		return NULL;
	sp->fd = -1;
	sp->rblk = -1;
	if ((sp->mem = spool_mem_get()) == NULL) {
		spool_free(sp);
		return NULL;
	}
	return sp;
}

/* Encrypt block ${n} of the spill file in place (XChaCha20 is its own
 * inverse): the counter is the block's offset in 64-byte units. */
static void
spool_xor(struct spool *sp, uint8_t *b, size_t len, uint64_t n)
{
	crypto_stream_xchacha20_xor_ic(b, b, len, sp->nonce,
	    n * (SPOOL_BLK / 64), sp->key);
}

static int
spool_spill(struct spool *sp)
{
	if (sp->fd < 0) {
		/* Unlinked from birth, in the vault's folder (0700). */
		sp->fd = open(S.dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (sp->fd < 0) {
			char path[4200];
			snprintf(path, sizeof(path), "%s/.spool-XXXXXX", S.dir);
			if ((sp->fd = mkostemp(path, O_CLOEXEC)) < 0)
				return -1;
			unlink(path);
		}
		if ((sp->key = sodium_malloc(32 + SPOOL_BLK)) == NULL)
			return -1;
		crypto_stream_xchacha20_keygen(sp->key);
		randombytes_buf(sp->nonce, sizeof(sp->nonce));
	}
	spool_xor(sp, sp->blk, sp->blklen, sp->filelen / SPOOL_BLK);
	if (pwrite(sp->fd, sp->blk, sp->blklen, (off_t)sp->filelen) !=
	    (ssize_t)sp->blklen)
		return -1;
	sodium_memzero(sp->blk, sp->blklen);
	sp->filelen += sp->blklen;
	sp->blklen = 0;
	return 0;
}

static int
spool_put(struct spool *sp, const uint8_t *p, size_t len)
{
	size_t n;

	sp->total += len;
	if (sp->memlen < SPOOL_MEM) {
		n = SPOOL_MEM - sp->memlen < len ? SPOOL_MEM - sp->memlen : len;
		memcpy(sp->mem + sp->memlen, p, n);
		sp->memlen += n;
		p += n;
		len -= n;
	}
	while (len > 0) {
		if (sp->blk == NULL &&
		    (sp->blk = sodium_malloc(SPOOL_BLK)) == NULL)
			return -1;
		n = SPOOL_BLK - sp->blklen < len ? SPOOL_BLK - sp->blklen : len;
		memcpy(sp->blk + sp->blklen, p, n);
		sp->blklen += n;
		p += n;
		len -= n;
		if (sp->blklen == SPOOL_BLK && spool_spill(sp) != 0)
			return -1;
	}
	return 0;
}

static long
spool_read(void *ctx, uint8_t *buf, size_t len)
{
	struct spool *sp = ctx;
	uint64_t off;
	size_t n;

	if (sp->rpos >= sp->total)
		return 0;
	if (sp->rpos < sp->memlen) {
		n = sp->memlen - (size_t)sp->rpos;
		n = n < len ? n : len;
		memcpy(buf, sp->mem + sp->rpos, n);
		sp->rpos += n;
		return (long)n;
	}
	off = sp->rpos - sp->memlen;
	if (off >= sp->filelen) {
		size_t at = (size_t)(off - sp->filelen);
		n = sp->blklen - at < len ? sp->blklen - at : len;
		memcpy(buf, sp->blk + at, n);
		sp->rpos += n;
		return (long)n;
	}
	if (sp->rblk != (int64_t)(off / SPOOL_BLK)) {
		uint64_t b = off / SPOOL_BLK;
		uint8_t *rb = sp->key + 32;
		if (pread(sp->fd, rb, SPOOL_BLK, (off_t)(b * SPOOL_BLK)) !=
		    SPOOL_BLK) {
			errno = EIO;
			return -1;
		}
		spool_xor(sp, rb, SPOOL_BLK, b);
		sp->rblk = (int64_t)b;
	}
	n = SPOOL_BLK - (size_t)(off % SPOOL_BLK);
	n = n < len ? n : len;
	memcpy(buf, sp->key + 32 + off % SPOOL_BLK, n);
	sp->rpos += n;
	return (long)n;
}

static int
spool_seek(void *ctx, uint64_t off)
{
	struct spool *sp = ctx;

	sp->rpos = off;
	return 0;
}

/* The spool as a file to seek in (coffre_seek_fn). */
static int64_t
spool_lseek(void *ctx, int64_t off, int whence)
{
	struct spool *sp = ctx;
	int64_t base = whence == SEEK_SET ? 0
	    : whence == SEEK_CUR          ? (int64_t)sp->rpos
	    : whence == SEEK_END          ? (int64_t)sp->total
					  : -1;

	if (base < 0 || base + off < 0 || (uint64_t)(base + off) > sp->total) {
		errno = EINVAL;
		return -1;
	}
	sp->rpos = (uint64_t)(base + off);
	return (int64_t)sp->rpos;
}

/* ---- JSON of records ---- */

static json_t *
doc_json(const struct coffre_doc *d, int reviews)
{
	char date[21];
	json_t *j, *a;

	util_iso8601(d->created, date);
	j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "id", d->id,
	    "user", d->user, "community", d->community, "kind", d->kind, "name",
	    d->name, "type", d->type, "size", (json_int_t)d->size, "status",
	    coffre_status_name(d->status), "created", date);
	if (j == NULL || !reviews)
		return j;
	a = json_array();
	for (size_t i = 0; i < d->nreviews; i++) {
		util_iso8601(d->reviews[i].at, date);
		json_array_append_new(a,
		    json_pack("{s:s,s:s,s:s}", "decision",
			d->reviews[i].decision == COFFRE_APPROVED ? "approve"
								  : "reject",
			"at", date, "note", d->reviews[i].note));
	}
	json_object_set_new(j, "reviews", a);
	return j;
}

static json_t *
shred_json(const struct coffre_shred_result *s)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "shredded_documents",
	    (json_int_t)s->documents, "contracts_ended",
	    (json_int_t)s->contracts_ended, "keys_destroyed",
	    (json_int_t)s->keys_destroyed, "wraps", (json_int_t)s->wraps,
	    "epoch_before", (json_int_t)s->epoch_before, "epoch_after",
	    (json_int_t)s->epoch_after);
}

/* May the caller see documents of ${community}? */
static int
visible(const struct req *r, const char *community)
{
	/* A backend sees everything, on the routes a backend may take. */
	if (r->role != ROLE_REVIEWER ||
	    ((r->c->roles & ROLE_BACKEND) &&
		(routes[r->route].roles & ROLE_BACKEND)))
		return 1;
	return r->c->reviewer_all || comm_in(r->c->comms, community);
}

/* ---- routes ---- */

static enum MHD_Result
do_seal(struct MHD_Connection *mc, struct req *r, int archive)
{
	const char *user = arg(mc, "user");
	const char *group = arg(mc, archive ? "contract" : "community");
	struct seal_job *j;
	enum MHD_Result ret;
	char actor[80];
	json_t *o;

	if (user == NULL || group == NULL)
		return answer_err(mc, r, 400, "usage",
		    archive ? "needs ?user=U&contract=K"
			    : "needs ?user=U&community=C");
	if (r->sp == NULL || r->sp->total == 0)
		return answer_err(mc, r, 400, "malformed", "empty document");
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return MHD_NO;
	snprintf(actor, sizeof(actor), "%s:uid:%u", role_name(r->role),
	    (unsigned)r->c->uid);
	j->req.archive = archive;
	j->req.user = user;
	j->req.group = group;
	j->req.kind = archive ? NULL : arg(mc, "kind");
	j->req.name = arg(mc, "name");
	j->req.actor = actor;
	j->req.rd = spool_read;
	j->req.rdctx = r->sp;
	j->req.seek = spool_seek;
	seal_submit(j);
	if (j->req.rc != 0) {
		ret = answer_code(mc, r, j->req.rc, j->req.err,
		    j->req.too_large, j->req.bad_type);
	} else {
		o = json_pack("{s:s,s:s,s:I}", "id", j->req.id, "type",
		    j->req.type, "size", (json_int_t)j->req.size);
		if (!archive)
			json_object_set_new(o, "status",
			    json_string("pending"));
		ret = answer_json(mc, r, 201, o);
	}
	sodium_memzero(j, sizeof(*j));
	free(j);
	return ret;
}

struct listing {
	const struct req *r;
	const char *after;
	uint8_t after_raw[UTIL_DOCID_RAW]; /* ids list in their raw order */
	long limit, n;
	json_t *a;
	char last[COFFRE_DOCID_LEN + 1];
	int more;
};

static int
list_cb(void *ctx, const struct coffre_doc *d)
{
	struct listing *l = ctx;

	if (!visible(l->r, d->community))
		return 0;
	if (l->after != NULL) {
		/* Past the cursor, even if the cursor's own document no
		 * longer matches the filter. */
		uint8_t raw[UTIL_DOCID_RAW];
		if (util_docid_decode(d->id, raw) != 0 ||
		    memcmp(raw, l->after_raw, UTIL_DOCID_RAW) <= 0)
			return 0;
	}
	if (l->n == l->limit) {
		l->more = 1;
		return 0;
	}
	json_array_append_new(l->a, doc_json(d, 0));
	snprintf(l->last, sizeof(l->last), "%s", d->id);
	l->n++;
	return 0;
}

static enum MHD_Result
do_list(struct MHD_Connection *mc, struct req *r)
{
	struct coffre_filter f = {arg(mc, "user"), arg(mc, "community"), -1};
	const char *st = arg(mc, "status");
	struct listing l;
	json_t *o;
	int rc;

	memset(&l, 0, sizeof(l));
	l.r = r;
	l.limit = LIST_DEFAULT;
	l.after = arg(mc, "after");
	if (route_parse_num(arg(mc, "limit"), 1, LIST_MAX, &l.limit) != 0)
		return answer_err(mc, r, 400, "malformed",
		    "limit takes a number from 1 to 1000");
	if (st != NULL && (f.status = coffre_status_parse(st)) < 0)
		return answer_err(mc, r, 400, "malformed",
		    "status takes pending, approved, rejected or shredded");
	if ((f.user != NULL && !coffre_valid_id(f.user)) ||
	    (f.community != NULL && !coffre_valid_id(f.community)) ||
	    (l.after != NULL &&
		(!coffre_valid_docid(l.after) ||
		    util_docid_decode(l.after, l.after_raw) != 0)))
		return answer_err(mc, r, 400, "malformed",
		    "malformed user, community or cursor");
	l.a = json_array();
	lib_enter(r);
	rc = coffre_list(S.v, &f, list_cb, &l);
	if (rc != 0) {
		json_decref(l.a);
		return answer_lib(mc, r, rc);
	}
	pthread_mutex_unlock(&S.vmu);
	o = json_pack("{s:o}", "documents", l.a);
	json_object_set_new(o, "next",
	    l.more ? json_string(l.last) : json_null());
	return answer_json(mc, r, 200, o);
}

/*
 * Info of document ${id} into ${d}, with the mutex held: 0 or a code; -1,
 * with the mutex released, for a document the caller may not see.
 */
static int
doc_visible(struct req *r, const char *id, struct coffre_doc *d)
{
	int rc = coffre_info(S.v, id, d);

	if (rc == 0 && !visible(r, d->community)) {
		pthread_mutex_unlock(&S.vmu);
		return -1;
	}
	return rc;
}

static enum MHD_Result
do_info(struct MHD_Connection *mc, struct req *r)
{
	struct coffre_doc *d = calloc(1, sizeof(*d));
	enum MHD_Result ret;
	json_t *j;
	int rc;

	if (d == NULL)
		return MHD_NO;
	lib_enter(r);
	if ((rc = doc_visible(r, r->a[0], d)) < 0) {
		free(d);
		return answer_err(mc, r, 404, "not_found", "no such document");
	}
	if (rc != 0) {
		free(d);
		return answer_lib(mc, r, rc);
	}
	j = doc_json(d, 1); /* reviews are the handle's: inside the mutex */
	pthread_mutex_unlock(&S.vmu);
	ret = answer_json(mc, r, 200, j);
	free(d);
	return ret;
}

static ssize_t
content_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	coffre_reader *rd = cls;
	long n;

	(void)pos;
	n = coffre_reader_read(rd, (uint8_t *)buf, max);
	if (n > 0)
		return (ssize_t)n;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	slog("%s", coffre_reader_errmsg(rd));
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void
content_free(void *cls)
{
	coffre_reader_close(cls);
}

static enum MHD_Result
answer_reader(struct MHD_Connection *mc, struct req *r, coffre_reader *rd,
    const char *type)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_callback(coffre_reader_size(rd),
	    CHUNK_OUT, content_cb, rd, content_free);
	if (resp == NULL) {
		coffre_reader_close(rd);
		return MHD_NO;
	}
	(void)MHD_add_response_header(resp, "Content-Type", type);
	(void)MHD_add_response_header(resp, "X-Content-Type-Options",
	    "nosniff");
	(void)MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(mc, 200, resp);
	MHD_destroy_response(resp);
	r->answered = 1;
	return ret;
}

static enum MHD_Result
do_content(struct MHD_Connection *mc, struct req *r)
{
	struct coffre_doc *d = calloc(1, sizeof(*d));
	coffre_reader *rd = NULL;
	char type[COFFRE_TYPE_MAX + 1];
	int rc;

	if (d == NULL)
		return MHD_NO;
	lib_enter(r);
	if (r->role == ROLE_REVIEWER && !(r->c->roles & ROLE_BACKEND) &&
	    (rc = doc_visible(r, r->a[0], d)) != 0) {
		free(d);
		if (rc < 0)
			return answer_err(mc, r, 404, "not_found",
			    "no such document");
		return answer_lib(mc, r, rc);
	}
	rc = coffre_doc_reader(S.v, r->a[0], &rd, d);
	if (rc != 0) {
		free(d);
		return answer_lib(mc, r, rc);
	}
	pthread_mutex_unlock(&S.vmu);
	snprintf(type, sizeof(type), "%s", d->type);
	free(d);
	return answer_reader(mc, r, rd, type);
}

static enum MHD_Result
do_review(struct MHD_Connection *mc, struct req *r)
{
	struct coffre_doc *d;
	json_error_t je;
	json_t *b = NULL;
	const char *dec = NULL, *note = NULL;
	int decision, rc;

	if (r->small != NULL)
		b = json_loadb(r->small, r->smalllen, JSON_REJECT_DUPLICATES,
		    &je);
	if (b == NULL ||
	    json_unpack(b, "{s:s,s?s}", "decision", &dec, "note", &note) != 0) {
		json_decref(b);
		return answer_err(mc, r, 400, "malformed",
		    "the body is {\"decision\":\"approve\"|\"reject\","
		    "\"note\":\"...\"}");
	}
	if (strcmp(dec, "approve") == 0)
		decision = COFFRE_APPROVED;
	else if (strcmp(dec, "reject") == 0)
		decision = COFFRE_REJECTED;
	else
		decision = -1;
	if (decision < 0 || (decision == COFFRE_REJECTED && note == NULL)) {
		json_decref(b);
		return answer_err(mc, r, 400, "malformed",
		    decision < 0 ? "decision is approve or reject"
				 : "a rejection needs a note (its reason)");
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		json_decref(b);
		return MHD_NO;
	}
	lib_enter(r);
	if ((rc = doc_visible(r, r->a[0], d)) < 0) {
		json_decref(b);
		free(d);
		return answer_err(mc, r, 404, "not_found", "no such document");
	}
	if (rc == 0)
		rc = coffre_review(S.v, r->a[0], decision, note);
	free(d);
	json_decref(b);
	if (rc != 0)
		return answer_lib(mc, r, rc);
	pthread_mutex_unlock(&S.vmu);
	return answer_json(mc, r, 200,
	    json_pack("{s:s,s:s}", "id", r->a[0], "status",
		coffre_status_name(decision)));
}

static enum MHD_Result
do_shred(struct MHD_Connection *mc, struct req *r)
{
	struct coffre_shred_result s;
	int rc;

	lib_enter(r);
	if (r->route == R_USER_SHRED)
		rc = coffre_shred_user(S.v, r->a[0], &s);
	else if (r->route == R_DOC_SHRED)
		rc = coffre_shred_doc(S.v, r->a[0], &s);
	else
		rc = coffre_shred_archive(S.v, r->a[0], &s);
	if (rc != 0)
		return answer_lib(mc, r, rc);
	pthread_mutex_unlock(&S.vmu);
	return answer_json(mc, r, 200, shred_json(&s));
}

static enum MHD_Result
do_contract(struct MHD_Connection *mc, struct req *r)
{
	json_error_t je;
	json_t *b = NULL;
	const char *date = NULL, *reason = NULL;
	char until[11];
	int rc;

	if (r->small != NULL)
		b = json_loadb(r->small, r->smalllen, JSON_REJECT_DUPLICATES,
		    &je);
	else if (r->route == R_CONTRACT_END)
		b = json_object();
	if (b == NULL ||
	    (r->route == R_CONTRACT_END &&
		json_unpack(b, "{s?s}", "date", &date) != 0) ||
	    (r->route != R_CONTRACT_END &&
		json_unpack(b, "{s:s}", "reason", &reason) != 0)) {
		json_decref(b);
		return answer_err(mc, r, 400, "malformed",
		    r->route == R_CONTRACT_END
			? "the body is {\"date\":\"YYYY-MM-DD\"}"
			: "the body is {\"reason\":\"...\"}");
	}
	lib_enter(r);
	if (r->route == R_CONTRACT_END)
		rc = coffre_contract_end(S.v, r->a[0], r->a[1], date, until);
	else
		rc = coffre_hold(S.v, r->a[0], r->a[1], reason,
		    r->route == R_CONTRACT_HOLD);
	json_decref(b);
	if (rc != 0)
		return answer_lib(mc, r, rc);
	pthread_mutex_unlock(&S.vmu);
	if (r->route == R_CONTRACT_END)
		return answer_json(mc, r, 200,
		    json_pack("{s:s}", "retain_until", until));
	return answer_json(mc, r, 200,
	    json_pack("{s:s,s:s,s:b}", "user", r->a[0], "contract", r->a[1],
		"hold", r->route == R_CONTRACT_HOLD));
}

static const char *const arc_status[] = {"live", "expired", "shredded"};

static int
arc_cb(void *ctx, const struct coffre_archive *a)
{
	char date[21];
	json_t *j;

	util_iso8601(a->created, date);
	j = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:b,s:i}", "id", a->id,
	    "user", a->user, "contract", a->contract, "type", a->type, "size",
	    (json_int_t)a->size, "created", date, "status",
	    arc_status[a->status], "contract_ended", a->ended, "holds",
	    (int)a->holds);
	json_object_set_new(j, "end_date",
	    a->ended ? json_string(a->end_date) : json_null());
	json_object_set_new(j, "retain_until",
	    a->ended ? json_string(a->retain_until) : json_null());
	json_array_append_new(ctx, j);
	return 0;
}

static enum MHD_Result
do_archives(struct MHD_Connection *mc, struct req *r)
{
	const char *user = arg(mc, "user");
	json_t *a = json_array();
	int rc;

	lib_enter(r);
	if ((rc = coffre_archives(S.v, user, arc_cb, a)) != 0) {
		json_decref(a);
		return answer_lib(mc, r, rc);
	}
	pthread_mutex_unlock(&S.vmu);
	return answer_json(mc, r, 200, json_pack("{s:o}", "archives", a));
}

static enum MHD_Result
do_arc_content(struct MHD_Connection *mc, struct req *r)
{
	const char *reason = arg(mc, "reason");
	char type[COFFRE_TYPE_MAX + 1];
	coffre_reader *rd;
	uint64_t size;
	int rc;

	if (reason == NULL || *reason == '\0')
		return answer_err(mc, r, 400, "usage",
		    "needs ?reason=TEXT: every read of an archive states why");
	lib_enter(r);
	if ((rc = coffre_archive_reader(S.v, r->a[0], reason, &rd, &size,
		 type)) != 0)
		return answer_lib(mc, r, rc);
	pthread_mutex_unlock(&S.vmu);
	return answer_reader(mc, r, rd, type);
}

/* Lines gathered into one body (JSON lines). */
struct lines {
	char *buf;
	size_t len, cap;
	uint64_t after;
	long limit, n;
	int failed;
};

static int
lines_add(struct lines *l, const char *s, size_t len)
{
	if (l->len + len + 2 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 65536;
		char *nb;
		while (cap < l->len + len + 2)
			cap *= 2;
		if ((nb = realloc(l->buf, cap)) == NULL) {
			l->failed = 1;
			return -1;
		}
		l->buf = nb;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, s, len);
	l->len += len;
	l->buf[l->len++] = '\n';
	l->buf[l->len] = '\0';
	return 0;
}

static int
line_cb(void *ctx, uint64_t seq, const char *line, size_t len)
{
	struct lines *l = ctx;

	if (seq <= l->after || l->n >= l->limit)
		return 0;
	l->n++;
	return lines_add(l, line, len) != 0 ? COFFRE_EFAIL : 0;
}

static enum MHD_Result
do_audit(struct MHD_Connection *mc, struct req *r)
{
	struct lines l;
	const char *user = arg(mc, "user"), *reasons = arg(mc, "reasons");
	long after = 0;
	int rc;

	memset(&l, 0, sizeof(l));
	l.limit = AUDIT_DEFAULT;
	if (route_parse_num(arg(mc, "after"), 0, 0x7fffffffffffffffL, &after) !=
		0 ||
	    route_parse_num(arg(mc, "limit"), 1, AUDIT_MAX, &l.limit) != 0)
		return answer_err(mc, r, 400, "malformed",
		    "after takes a sequence number, limit a number from 1 to "
		    "10000");
	if (user != NULL && !coffre_valid_id(user))
		return answer_err(mc, r, 400, "malformed", "malformed user id");
	l.after = (uint64_t)after;
	if (lines_add(&l, "", 0) != 0)
		return MHD_NO;
	l.len = 0;
	lib_enter(r);
	rc = coffre_audit_lines(S.v, user,
	    reasons != NULL && strcmp(reasons, "1") == 0, line_cb, &l);
	if (rc != 0 || l.failed) {
		free(l.buf);
		return answer_lib(mc, r, rc != 0 ? rc : COFFRE_EFAIL);
	}
	pthread_mutex_unlock(&S.vmu);
	return answer(mc, r, 200, "application/x-ndjson", l.buf, l.len);
}

static int
report_cb(void *ctx, uint64_t seq, const char *line, size_t len)
{
	(void)seq;
	return lines_add(ctx, line, len) != 0 ? COFFRE_EFAIL : 0;
}

static enum MHD_Result
do_report(struct MHD_Connection *mc, struct req *r)
{
	struct lines l;
	const char *user = arg(mc, "user");
	int rc;

	if (user == NULL)
		return answer_err(mc, r, 400, "usage", "needs ?user=U");
	memset(&l, 0, sizeof(l));
	lib_enter(r);
	rc = coffre_shred_report(S.v, user, report_cb, &l);
	if (rc != 0 || l.failed || l.buf == NULL) {
		free(l.buf);
		return answer_lib(mc, r, rc != 0 ? rc : COFFRE_EFAIL);
	}
	pthread_mutex_unlock(&S.vmu);
	return answer(mc, r, 200, "application/json", l.buf, l.len);
}

/* Reports of check and scan, kept for the answer. */
static void
report_keep(void *ctx, int problem, const char *msg)
{
	json_array_append_new(ctx,
	    json_pack("{s:b,s:s}", "problem", problem, "message", msg));
}

static enum MHD_Result
do_verify(struct MHD_Connection *mc, struct req *r)
{
	struct coffre_verify_result v;
	char msg[1024];
	int rc;

	memset(&v, 0, sizeof(v));
	lib_enter(r);
	rc = coffre_audit_verify(S.v, &v);
	snprintf(msg, sizeof(msg), "%s", rc != 0 ? coffre_errmsg(S.v) : "");
	pthread_mutex_unlock(&S.vmu);
	return answer_json(mc, r, 200,
	    json_pack("{s:b,s:I,s:I,s:I,s:I,s:s,s:i,s:s}", "ok", rc == 0,
		"events", (json_int_t)v.events, "checkpoints",
		(json_int_t)v.checkpoints, "rotations", (json_int_t)v.rotations,
		"first_bad", (json_int_t)v.first_bad, "head", v.head, "code",
		rc, "message", msg));
}

static enum MHD_Result
do_scan_check(struct MHD_Connection *mc, struct req *r)
{
	json_t *rep = json_array(), *o;
	char msg[1024];
	int rc;

	lib_enter(r);
	if (r->route == R_AUDIT_SCAN) {
		struct coffre_scan_result s;
		memset(&s, 0, sizeof(s));
		rc = coffre_scan(S.v, report_keep, rep, &s);
		o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "files",
		    (json_int_t)s.files, "bytes", (json_int_t)s.bytes,
		    "skipped", (json_int_t)s.skipped, "markers",
		    (json_int_t)s.markers, "candidates",
		    (json_int_t)s.candidates, "stale", (json_int_t)s.stale,
		    "opened", (json_int_t)s.opened, "plaintext_hits",
		    (json_int_t)s.plaintext_hits);
	} else {
		struct coffre_check_result c;
		memset(&c, 0, sizeof(c));
		rc = coffre_check(S.v, 0, report_keep, rep, &c);
		o = json_pack("{s:I,s:I,s:I,s:I}", "documents",
		    (json_int_t)c.documents, "leaves", (json_int_t)c.leaves,
		    "problems", (json_int_t)c.problems, "repaired",
		    (json_int_t)c.repaired);
	}
	snprintf(msg, sizeof(msg), "%s", rc != 0 ? coffre_errmsg(S.v) : "");
	pthread_mutex_unlock(&S.vmu);
	return answer_json(mc, r, 200,
	    json_pack("{s:o,s:o,s:i,s:s}", "result", o, "reports", rep, "code",
		rc, "message", msg));
}

static enum MHD_Result
do_sweep(struct MHD_Connection *mc, struct req *r)
{
	struct coffre_sweep_result s;
	int rc;

	lib_enter(r);
	if ((rc = coffre_sweep(S.v, &s)) != 0)
		return answer_lib(mc, r, rc);
	pthread_mutex_unlock(&S.vmu);
	return answer_json(mc, r, 200,
	    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "contracts",
		(json_int_t)s.contracts, "archives", (json_int_t)s.archives,
		"documents", (json_int_t)s.documents, "keys_destroyed",
		(json_int_t)s.keys_destroyed, "rekeyed", (json_int_t)s.rekeyed,
		"wraps", (json_int_t)s.wraps, "epoch_before",
		(json_int_t)s.epoch_before, "epoch_after",
		(json_int_t)s.epoch_after));
}

/* ---- bundles ---- */

static uint64_t
body_limit(const struct req *r)
{
	return r->route == R_BUNDLE ? S.max_bundle : S.max_doc;
}

struct import_answer {
	json_t *sealed, *rejected;
	json_int_t n; /* each entry's place in the bundle ("index") */
};

static int
import_cb(void *ctx, const struct coffre_import_entry *e)
{
	struct import_answer *a = ctx;

	json_t *j;

	if (e->sealed)
		j = json_pack("{s:s,s:s,s:s,s:I,s:I}", "entry", e->entry, "id",
		    e->id, "type", e->type, "size", (json_int_t)e->size,
		    "index", a->n);
	else
		j = json_pack("{s:s,s:s,s:I}", "entry", e->entry, "reason",
		    e->reason, "index", a->n);
	if (j == NULL)
		return COFFRE_EFAIL; /* never drop an entry from the answer */
	json_array_append_new(e->sealed ? a->sealed : a->rejected, j);
	a->n++;
	return 0;
}

static enum MHD_Result
do_bundle(struct MHD_Connection *mc, struct req *r)
{
	const char *user = arg(mc, "user"), *comm = arg(mc, "community");
	struct coffre_import_result res;
	struct import_answer a;
	char actor[80];
	int rc;

	if (user == NULL || comm == NULL)
		return answer_err(mc, r, 400, "usage",
		    "needs ?user=U&community=C");
	if (r->sp == NULL || r->sp->total == 0)
		return answer_err(mc, r, 400, "malformed", "empty bundle");
	a.sealed = json_array();
	a.rejected = json_array();
	a.n = 0;
	snprintf(actor, sizeof(actor), "%s:uid:%u", role_name(r->role),
	    (unsigned)r->c->uid);
	lib_enter(r);
	rc = coffre_import(S.v, user, comm, actor, spool_read, spool_lseek,
	    r->sp, import_cb, &a, &res);
	/* 201 for a bundle read (some entries may be rejected); a shredded
	 * user or a failure is the error, as on the vault directory. */
	if (rc != 0 &&
	    (rc != COFFRE_EREJECT || res.sealed + res.rejected == 0)) {
		json_decref(a.sealed);
		json_decref(a.rejected);
		return answer_lib(mc, r, rc);
	}
	pthread_mutex_unlock(&S.vmu);
	return answer_json(mc, r, 201,
	    json_pack("{s:o,s:o}", "sealed", a.sealed, "rejected", a.rejected));
}

static void
vlock(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&S.vmu);
}

static void
vunlock(void *ctx)
{
	(void)ctx;
	pthread_mutex_unlock(&S.vmu);
}

static ssize_t
export_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	coffre_exporter *x = cls;
	long n;

	(void)pos;
	n = coffre_export_read(x, (uint8_t *)buf, max);
	if (n > 0)
		return (ssize_t)n;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	slog("export: %s", coffre_export_errmsg(x));
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void
export_free(void *cls)
{
	coffre_export_close(cls);
}

static enum MHD_Result
do_export(struct MHD_Connection *mc, struct req *r)
{
	const char *f = arg(mc, "format");
	static const char *const types[] = {"application/zip",
	    "application/x-tar", "application/gzip"};
	static const char *const exts[] = {"zip", "tar", "tar.gz"};
	struct MHD_Response *resp;
	enum MHD_Result ret;
	coffre_exporter *x;
	char disp[256];
	int rc, format;

	if (f == NULL || strcmp(f, "zip") == 0)
		format = COFFRE_EXPORT_ZIP;
	else if (strcmp(f, "tar") == 0)
		format = COFFRE_EXPORT_TAR;
	else if (strcmp(f, "tar.gz") == 0 || strcmp(f, "tgz") == 0)
		format = COFFRE_EXPORT_TGZ;
	else
		return answer_err(mc, r, 400, "malformed",
		    "format is zip, tar or tar.gz");
	lib_enter(r);
	rc = coffre_export_open(S.v, r->a[0], format, vlock, vunlock, NULL, &x);
	if (rc != 0)
		return answer_lib(mc, r, rc);
	pthread_mutex_unlock(&S.vmu);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, CHUNK_OUT,
	    export_cb, x, export_free);
	if (resp == NULL) {
		coffre_export_close(x);
		return MHD_NO;
	}
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s-export.%s\"",
	    r->a[0], exts[format]);
	(void)MHD_add_response_header(resp, "Content-Type", types[format]);
	(void)MHD_add_response_header(resp, "Content-Disposition", disp);
	(void)MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(mc, 200, resp);
	MHD_destroy_response(resp);
	r->answered = 1;
	return ret;
}

/* ---- dispatch ---- */

static enum MHD_Result
dispatch(struct MHD_Connection *mc, struct req *r)
{
	switch (r->route) {
	case R_HEALTH:
		return answer_json(mc, r, 200,
		    json_pack("{s:s,s:s}", "status", "ok", "version",
			COFFRE_VERSION));
	case R_DOC_SEAL:
		return do_seal(mc, r, 0);
	case R_ARC_SEAL:
		return do_seal(mc, r, 1);
	case R_DOC_LIST:
		return do_list(mc, r);
	case R_DOC_INFO:
		return do_info(mc, r);
	case R_DOC_CONTENT:
		return do_content(mc, r);
	case R_DOC_REVIEW:
		return do_review(mc, r);
	case R_DOC_SHRED:
	case R_USER_SHRED:
	case R_ARC_SHRED:
		return do_shred(mc, r);
	case R_CONTRACT_END:
	case R_CONTRACT_HOLD:
	case R_CONTRACT_RELEASE:
		return do_contract(mc, r);
	case R_ARC_LIST:
		return do_archives(mc, r);
	case R_ARC_CONTENT:
		return do_arc_content(mc, r);
	case R_AUDIT:
		return do_audit(mc, r);
	case R_AUDIT_REPORT:
		return do_report(mc, r);
	case R_AUDIT_VERIFY:
		return do_verify(mc, r);
	case R_AUDIT_SCAN:
	case R_CHECK:
		return do_scan_check(mc, r);
	case R_SWEEP:
		return do_sweep(mc, r);
	case R_BUNDLE:
		return do_bundle(mc, r);
	case R_EXPORT:
		return do_export(mc, r);
	default:
		return answer_err(mc, r, 404, "not_found", "no such route");
	}
}

/* First call, on the headers alone: everything that needs no body. */
static enum MHD_Result
first_call(struct MHD_Connection *mc, struct req *r, const char *url,
    const char *method)
{
	const char *cl, *te;
	unsigned allowed;
	int badid;
	char msg[256];

	pthread_mutex_lock(&S.cmu);
	r->counted = 1;
	S.inflight++;
	r->c->mark = time(NULL);
	pthread_mutex_unlock(&S.cmu);
	if (__atomic_load_n(&S.stopping, __ATOMIC_ACQUIRE))
		return answer_err(mc, r, 503, "unavailable",
		    "the daemon is shutting down");
	cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (cl != NULL && te != NULL)
		return answer_err(mc, r, 400, "malformed",
		    "both Content-Length and Transfer-Encoding: refused");
	r->route = route_by_method(route_of(url, r->a, &badid), method);
	if (r->route == R_NONE)
		return answer_err(mc, r, 404, "not_found", "no such route");
	if (strcmp(method, routes[r->route].method) != 0)
		return answer_err(mc, r, 405, "method_not_allowed",
		    "this route takes another method");
	allowed = routes[r->route].roles & r->c->roles;
	if (allowed == 0) {
		snprintf(msg, sizeof(msg),
		    "the caller's role may not do this (uid %u)",
		    (unsigned)r->c->uid);
		return answer_err(mc, r, 403, "forbidden", msg);
	}
	r->role = allowed & -allowed; /* the lowest: backend first */
	if (badid)
		return answer_err(mc, r, 400, "malformed",
		    "malformed id in the path");
	if (routes[r->route].body == 2 && cl != NULL) {
		char *end;
		unsigned long long n = strtoull(cl, &end, 10);
		if (*end == '\0' && n > body_limit(r)) {
			snprintf(msg, sizeof(msg),
			    "the body is over the limit of %llu bytes %s",
			    (unsigned long long)body_limit(r),
			    r->route == R_BUNDLE ? "for a bundle"
						 : "for a document");
			return answer_err(mc, r, 413, "too_large", msg);
		}
	}
	/*
	 * Answered on the next call, once the whole request is in (even with
	 * no body): libmicrohttpd closes a connection whose answer came on
	 * the headers alone, and keep-alive matters to a backend.
	 */
	return MHD_YES;
}

enum MHD_Result
route_handler(void *cls, struct MHD_Connection *mc, const char *url,
    const char *method, const char *version, const char *upload, size_t *upsize,
    void **con_cls)
{
	struct req *r = *con_cls;
	const union MHD_ConnectionInfo *ci;
	size_t n;

	(void)cls;
	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		*con_cls = r;
		ci = MHD_get_connection_info(mc,
		    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		if (ci == NULL || (r->c = ci->socket_context) == NULL)
			return MHD_NO;
		return first_call(mc, r, url, method);
	}
	if (r->answered) {
		/* Answered on the headers: what follows is not read into
		 * anything. */
		*upsize = 0;
		return MHD_YES;
	}
	if (*upsize > 0) {
		n = *upsize;
		*upsize = 0;
		if (r->over) {
			r->skipped += n;
			return r->skipped > body_limit(r) + SKIP_MAX ? MHD_NO
								     : MHD_YES;
		}
		if (routes[r->route].body == 1) {
			if (r->smalllen + n > SMALL_BODY) {
				r->over = 1;
				return MHD_YES;
			}
			char *nb = realloc(r->small, r->smalllen + n + 1);
			if (nb == NULL)
				return MHD_NO;
			r->small = nb;
			memcpy(r->small + r->smalllen, upload, n);
			r->smalllen += n;
			return MHD_YES;
		}
		if (r->sp == NULL && (r->sp = spool_new()) == NULL)
			return MHD_NO;
		if (r->sp->total + n > body_limit(r)) {
			/*
			 * Chunked past the limit: the spool goes at once, the
			 * rest is skipped unread into anything, and the end
			 * answered 413 (libmicrohttpd cannot answer while a
			 * body comes).  Past a further 64 MiB, cut off.
			 */
			r->over = 1;
			r->skipped = r->sp->total + n;
			spool_free(r->sp);
			r->sp = NULL;
			return MHD_YES;
		}
		if (spool_put(r->sp, (const uint8_t *)upload, n) != 0) {
			slog("spooling an upload: %s", strerror(errno));
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (r->over) {
		char msg[160];
		snprintf(msg, sizeof(msg),
		    "the body is over the limit of %llu bytes (%s)",
		    (unsigned long long)(routes[r->route].body == 1
			    ? SMALL_BODY
			    : S.max_doc),
		    routes[r->route].body == 1
			? "a JSON body"
			: "a document: max_document_bytes in coffre.conf");
		return answer_err(mc, r, 413, "too_large", msg);
	}
	return dispatch(mc, r);
}

void
route_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)mc;
	(void)toe;
	if (r == NULL)
		return;
	spool_free(r->sp);
	if (r->small != NULL) {
		sodium_memzero(r->small, r->smalllen);
		free(r->small);
	}
	pthread_mutex_lock(&S.cmu);
	if (r->c != NULL)
		r->c->mark = time(NULL);
	if (r->counted && --S.inflight == 0)
		pthread_cond_broadcast(&S.ccv);
	pthread_mutex_unlock(&S.cmu);
	free(r);
	*con_cls = NULL;
}
