/*
 * index.c: the data index in DIR/index.mdb.  Tables:
 *   docs     16-byte document id -> document record
 *   reviews  document id || u32 BE number -> review record
 *   by_user  user id -> document id (sorted duplicates, oldest first)
 *   meta     "next_doc" -> u64; "seg" || u32 BE -> committed end + MAC
 * Layouts in docs/FORMAT.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "keys/bytes.h"
#include "keys/fault.h"
#include "keys/lmdbcheck.h"
#include "keys/lmdbgrow.h"
#include "vault/index.h"

#define DOC_FIXED 56
#define REV_FIXED 12
#define INDEX_MAPSIZE (64ULL << 30)

struct index {
	MDB_env *env;
	MDB_dbi docs, reviews, by_user, meta, archives, audit;
	struct lmdbgrow map; /* keys/lmdbgrow.h */
	char err[256];
};

struct index_txn {
	struct index *ix;
	MDB_txn *txn;
	const uint8_t *mackey;
};

static int
ifail(struct index *ix, int rc)
{
	snprintf(ix->err, sizeof(ix->err), "index.mdb: %s",
	    lmdbgrow_strerror(rc));
	lmdbgrow_failed(&ix->map, rc);
	return -1;
}

static int
icorrupt(struct index *ix, const char *what)
{
	snprintf(ix->err, sizeof(ix->err), "index.mdb: corrupt %s", what);
	return -1;
}

static void
mac(const struct index_txn *x, const char *domain, const uint8_t *key,
    size_t keylen, const uint8_t *val, size_t vallen, uint8_t out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, x->mackey, 32, INDEX_MAC_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain));
	crypto_generichash_update(&st, key, keylen);
	crypto_generichash_update(&st, val, vallen);
	crypto_generichash_final(&st, out, INDEX_MAC_BYTES);
}

int
index_open(const char *dir, int create, struct index **out, char *err,
    size_t errlen)
{
	struct index *ix = calloc(1, sizeof(*ix));
	char path[4200];
	MDB_txn *txn = NULL;
	unsigned f = create ? MDB_CREATE : 0;
	int rc;

	if (ix == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/index.mdb", dir);
	if ((rc = mdb_env_create(&ix->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(ix->env, 8)) != 0 ||
	    (rc = mdb_env_set_assert(ix->env, lmdbcheck_assert)) != 0 ||
	    (rc = mdb_env_set_mapsize(ix->env, INDEX_MAPSIZE)) != 0 ||
	    (rc = mdb_env_open(ix->env, path, MDB_NOSUBDIR | MDB_NOTLS,
		 0600)) != 0)
		goto err;
	ix->map.env = ix->env;
	if ((rc = mdb_txn_begin(ix->env, NULL, 0, &txn)) != 0)
		goto err;
	if ((rc = mdb_dbi_open(txn, "docs", f, &ix->docs)) != 0 ||
	    (rc = mdb_dbi_open(txn, "reviews", f, &ix->reviews)) != 0 ||
	    (rc = mdb_dbi_open(txn, "by_user", f | MDB_DUPSORT | MDB_DUPFIXED,
		 &ix->by_user)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", f, &ix->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "archives", MDB_CREATE, &ix->archives)) !=
		0 ||
	    (rc = mdb_dbi_open(txn, "audit", MDB_CREATE, &ix->audit)) != 0)
		goto err;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto err;
	*out = ix;
	return 0;
err:
	if (txn != NULL)
		mdb_txn_abort(txn);
	snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
	index_close(ix);
	return -1;
}

void
index_close(struct index *ix)
{
	if (ix == NULL)
		return;
	if (ix->env != NULL)
		mdb_env_close(ix->env);
	free(ix);
}

const char *
index_errmsg(const struct index *ix)
{
	return ix->err;
}

int
index_map_size(struct index *ix, uint64_t bytes)
{
	int rc = lmdbgrow_initial(&ix->map, bytes, INDEX_MAPSIZE);

	return rc != 0 ? ifail(ix, rc) : 0;
}

int
index_map_grow(struct index *ix)
{
	int grown, rc = lmdbgrow_after(&ix->map, &grown);

	return rc != 0 ? ifail(ix, rc) : grown;
}

void
index_map_stats(const struct index *ix, unsigned *grows, unsigned *fulls)
{
	*grows = ix->map.grows;
	*fulls = ix->map.fulls;
}

int
index_begin(struct index *ix, int write, const uint8_t *mackey,
    struct index_txn **out)
{
	struct index_txn *x = calloc(1, sizeof(*x));
	int rc;

	if (x == NULL) {
		snprintf(ix->err, sizeof(ix->err), "out of memory");
		return -1;
	}
	if ((rc = lmdbgrow_prepare(&ix->map, write)) != 0) {
		free(x);
		return ifail(ix, rc);
	}
	if (write && lmdbcheck_freelist(ix->env) != 0) {
		free(x);
		return icorrupt(ix, "free-page list (refusing to write)");
	}
	if ((rc = lmdbgrow_begin(&ix->map, write ? 0 : MDB_RDONLY, &x->txn)) !=
	    0) {
		free(x);
		return ifail(ix, rc);
	}
	x->ix = ix;
	x->mackey = mackey;
	*out = x;
	return 0;
}

int
index_commit(struct index_txn *x)
{
	struct index *ix = x->ix;
	int rc;

	FAULT_POINT("index-commit");
	rc = mdb_txn_commit(x->txn);
	lmdbgrow_end(&ix->map);
	free(x);
	if (rc != 0)
		return ifail(ix, rc);
	FAULT_POINT("index-committed");
	return 0;
}

int
index_commit_lazy(struct index_txn *x)
{
	struct index *ix = x->ix;
	int rc;

	if ((rc = mdb_env_set_flags(ix->env, MDB_NOMETASYNC, 1)) != 0) {
		index_abort(x);
		return ifail(ix, rc);
	}
	rc = index_commit(x);
	(void)mdb_env_set_flags(ix->env, MDB_NOMETASYNC, 0);
	return rc;
}

void
index_abort(struct index_txn *x)
{
	if (x == NULL)
		return;
	mdb_txn_abort(x->txn);
	lmdbgrow_end(&x->ix->map);
	free(x);
}

int
index_next_seq(struct index_txn *x, uint64_t *seq)
{
	MDB_val k = {8, "next_doc"}, d;
	uint8_t b[8];
	uint64_t v = 1;
	int rc = mdb_get(x->txn, x->ix->meta, &k, &d);

	if (rc == 0) {
		if (d.mv_size != 8)
			return icorrupt(x->ix, "sequence");
		v = bytes_load64(d.mv_data);
	} else if (rc != MDB_NOTFOUND) {
		return ifail(x->ix, rc);
	}
	bytes_store64(b, v + 1);
	d.mv_size = 8;
	d.mv_data = b;
	if ((rc = mdb_put(x->txn, x->ix->meta, &k, &d, 0)) != 0)
		return ifail(x->ix, rc);
	*seq = v;
	return 0;
}

static void
seg_key(uint8_t kb[7], uint32_t segno)
{
	memcpy(kb, "seg", 3);
	kb[3] = (uint8_t)(segno >> 24);
	kb[4] = (uint8_t)(segno >> 16);
	kb[5] = (uint8_t)(segno >> 8);
	kb[6] = (uint8_t)segno;
}

int
index_seg_end(struct index_txn *x, uint32_t segno, uint64_t *end)
{
	uint8_t kb[7], m[32];
	MDB_val k = {7, kb}, d;
	int rc;

	seg_key(kb, segno);
	rc = mdb_get(x->txn, x->ix->meta, &k, &d);
	if (rc == MDB_NOTFOUND) {
		*end = 32; /* just the segment's file header */
		return 0;
	}
	if (rc != 0)
		return ifail(x->ix, rc);
	if (d.mv_size != 8 + INDEX_MAC_BYTES)
		return icorrupt(x->ix, "segment end");
	mac(x, "coffre-idx-seg", kb, 7, d.mv_data, 8, m);
	if (sodium_memcmp(m, (const uint8_t *)d.mv_data + 8, 32) != 0)
		return icorrupt(x->ix, "segment end");
	*end = bytes_load64(d.mv_data);
	return 0;
}

static int
seg_end_raise(struct index_txn *x, const struct segloc *loc)
{
	uint8_t kb[7], v[8 + INDEX_MAC_BYTES];
	MDB_val k = {7, kb}, d = {sizeof(v), v};
	uint64_t end, cur;
	int rc;

	if (index_seg_end(x, loc->segno, &cur) != 0)
		return -1;
	end = loc->offset + loc->length;
	if (end <= cur)
		return 0;
	seg_key(kb, loc->segno);
	bytes_store64(v, end);
	mac(x, "coffre-idx-seg", kb, 7, v, 8, v + 8);
	if ((rc = mdb_put(x->txn, x->ix->meta, &k, &d, 0)) != 0)
		return ifail(x->ix, rc);
	return 0;
}

static size_t
strlen_max(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n > max ? max : n;
}

static int
rec_put(struct index_txn *x, int arc, const struct idoc *d)
{
	uint8_t
	    rec[DOC_FIXED + 4 * 130 + INDEX_SEALED_NAME_MAX + INDEX_MAC_BYTES];
	size_t ul = strlen_max(d->user, COFFRE_ID_MAX);
	size_t cl = strlen_max(d->community, COFFRE_ID_MAX);
	size_t kl = strlen_max(d->kind, COFFRE_ID_MAX);
	size_t tl = strlen_max(d->type, COFFRE_TYPE_MAX);
	size_t n = DOC_FIXED;
	MDB_val k = {16, (void *)(uintptr_t)d->id}, v, uk;
	int rc;

	if (d->snamelen > INDEX_SEALED_NAME_MAX)
		return icorrupt(x->ix, "name (too long)");
	memset(rec, 0, DOC_FIXED);
	rec[0] = 1;
	rec[1] = (uint8_t)d->status;
	bytes_store32(rec + 4, d->loc.segno);
	bytes_store64(rec + 8, d->loc.offset);
	bytes_store64(rec + 16, d->loc.length);
	bytes_store64(rec + 24, d->size);
	bytes_store64(rec + 32, (uint64_t)d->created);
	bytes_store64(rec + 40, d->keyid);
	rec[48] = (uint8_t)ul;
	rec[49] = (uint8_t)cl;
	rec[50] = (uint8_t)kl;
	rec[51] = (uint8_t)tl;
	bytes_store16(rec + 52, (uint16_t)d->snamelen);
	memcpy(rec + n, d->user, ul);
	n += ul;
	memcpy(rec + n, d->community, cl);
	n += cl;
	memcpy(rec + n, d->kind, kl);
	n += kl;
	memcpy(rec + n, d->type, tl);
	n += tl;
	memcpy(rec + n, d->sname, d->snamelen);
	n += d->snamelen;
	mac(x, arc ? "coffre-idx-arc" : "coffre-idx-doc", d->id, 16, rec, n,
	    rec + n);
	n += INDEX_MAC_BYTES;
	v.mv_size = n;
	v.mv_data = rec;
	if ((rc = mdb_put(x->txn, arc ? x->ix->archives : x->ix->docs, &k, &v,
		 0)) != 0)
		return ifail(x->ix, rc);
	if (arc)
		return seg_end_raise(x, &d->loc);
	uk.mv_size = ul;
	uk.mv_data = (void *)(uintptr_t)d->user;
	rc = mdb_put(x->txn, x->ix->by_user, &uk, &k, MDB_NODUPDATA);
	if (rc != 0 && rc != MDB_KEYEXIST)
		return ifail(x->ix, rc);
	return seg_end_raise(x, &d->loc);
}

static int
doc_parse(struct index_txn *x, int arc, const uint8_t id[16], const MDB_val *v,
    struct idoc *d)
{
	const uint8_t *r = v->mv_data;
	uint8_t m[32];
	size_t ul, cl, kl, tl, sl, n;

	if (v->mv_size < DOC_FIXED + INDEX_MAC_BYTES || r[0] != 1)
		return icorrupt(x->ix, "document record");
	ul = r[48];
	cl = r[49];
	kl = r[50];
	tl = r[51];
	sl = bytes_load16(r + 52);
	n = DOC_FIXED + ul + cl + kl + tl + sl;
	if (v->mv_size != n + INDEX_MAC_BYTES)
		return icorrupt(x->ix, "document record");
	mac(x, arc ? "coffre-idx-arc" : "coffre-idx-doc", id, 16, r, n, m);
	if (sodium_memcmp(m, r + n, INDEX_MAC_BYTES) != 0)
		return icorrupt(x->ix, "document record (MAC)");
	if (ul > COFFRE_ID_MAX || cl > COFFRE_ID_MAX || kl > COFFRE_ID_MAX ||
	    tl > COFFRE_TYPE_MAX || sl > INDEX_SEALED_NAME_MAX || r[1] > 3)
		return icorrupt(x->ix, "document record");
	memcpy(d->id, id, 16);
	d->status = r[1];
	d->loc.segno = bytes_load32(r + 4);
	d->loc.offset = bytes_load64(r + 8);
	d->loc.length = bytes_load64(r + 16);
	d->size = bytes_load64(r + 24);
	d->created = (int64_t)bytes_load64(r + 32);
	d->keyid = bytes_load64(r + 40);
	n = DOC_FIXED;
	memcpy(d->user, r + n, ul);
	d->user[ul] = '\0';
	n += ul;
	memcpy(d->community, r + n, cl);
	d->community[cl] = '\0';
	n += cl;
	memcpy(d->kind, r + n, kl);
	d->kind[kl] = '\0';
	n += kl;
	memcpy(d->type, r + n, tl);
	d->type[tl] = '\0';
	n += tl;
	memcpy(d->sname, r + n, sl);
	d->snamelen = sl;
	return 0;
}

static int
rec_get(struct index_txn *x, int arc, const uint8_t id[16], struct idoc *d)
{
	MDB_val k = {16, (void *)(uintptr_t)id}, v;
	int rc = mdb_get(x->txn, arc ? x->ix->archives : x->ix->docs, &k, &v);

	if (rc == MDB_NOTFOUND)
		return INDEX_ENOTFOUND;
	if (rc != 0)
		return ifail(x->ix, rc);
	return doc_parse(x, arc, id, &v, d);
}

int
index_doc_put(struct index_txn *x, const struct idoc *d)
{
	return rec_put(x, 0, d);
}

int
index_doc_get(struct index_txn *x, const uint8_t id[16], struct idoc *d)
{
	return rec_get(x, 0, id, d);
}

int
index_arc_put(struct index_txn *x, const struct idoc *d)
{
	return rec_put(x, 1, d);
}

int
index_arc_get(struct index_txn *x, const uint8_t id[16], struct idoc *d)
{
	return rec_get(x, 1, id, d);
}

int
index_review_add(struct index_txn *x, const uint8_t id[16],
    const struct ireview *r)
{
	uint8_t kb[20],
	    rec[REV_FIXED + INDEX_SEALED_NOTE_MAX + INDEX_MAC_BYTES];
	MDB_val k = {16, (void *)(uintptr_t)id}, v;
	MDB_cursor *c;
	uint32_t n = 0;
	int rc;

	if (r->snotelen > INDEX_SEALED_NOTE_MAX)
		return icorrupt(x->ix, "note (too long)");
	/* The next number: one past the last review of this document. */
	memcpy(kb, id, 16);
	memset(kb + 16, 0xff, 4);
	if ((rc = mdb_cursor_open(x->txn, x->ix->reviews, &c)) != 0)
		return ifail(x->ix, rc);
	k.mv_size = 20;
	k.mv_data = kb;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == 20 && memcmp(k.mv_data, id, 16) == 0) {
		const uint8_t *p = (const uint8_t *)k.mv_data + 16;
		n = ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			(uint32_t)p[2] << 8 | p[3]) +
		    1;
	} else if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_cursor_close(c);
		return ifail(x->ix, rc);
	}
	mdb_cursor_close(c);
	memcpy(kb, id, 16);
	kb[16] = (uint8_t)(n >> 24);
	kb[17] = (uint8_t)(n >> 16);
	kb[18] = (uint8_t)(n >> 8);
	kb[19] = (uint8_t)n;
	rec[0] = 1;
	rec[1] = (uint8_t)r->decision;
	bytes_store16(rec + 2, (uint16_t)r->snotelen);
	bytes_store64(rec + 4, (uint64_t)r->at);
	memcpy(rec + REV_FIXED, r->snote, r->snotelen);
	mac(x, "coffre-idx-rev", kb, 20, rec, REV_FIXED + r->snotelen,
	    rec + REV_FIXED + r->snotelen);
	k.mv_size = 20;
	k.mv_data = kb;
	v.mv_size = REV_FIXED + r->snotelen + INDEX_MAC_BYTES;
	v.mv_data = rec;
	if ((rc = mdb_put(x->txn, x->ix->reviews, &k, &v, MDB_NOOVERWRITE)) !=
	    0)
		return ifail(x->ix, rc);
	return 0;
}

int
index_reviews(struct index_txn *x, const uint8_t id[16],
    int (*fn)(void *, const struct ireview *), void *ctx)
{
	uint8_t kb[20], m[32];
	MDB_val k = {20, kb}, v;
	MDB_cursor *c;
	struct ireview *r;
	uint32_t want = 0;
	int rc, mrc;

	if ((r = malloc(sizeof(*r))) == NULL)
		return icorrupt(x->ix, "memory");
	memcpy(kb, id, 16);
	memset(kb + 16, 0, 4);
	if ((rc = mdb_cursor_open(x->txn, x->ix->reviews, &c)) != 0) {
		free(r);
		return ifail(x->ix, rc);
	}
	rc = 0;
	for (mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0;
	     mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const uint8_t *p = v.mv_data, *kp = k.mv_data;
		size_t sl;
		if (k.mv_size != 20 || memcmp(kp, id, 16) != 0)
			break;
		/* Numbers run 0, 1, 2...: a gap is a dropped review. */
		if (((uint32_t)kp[16] << 24 | (uint32_t)kp[17] << 16 |
			(uint32_t)kp[18] << 8 | kp[19]) != want++ ||
		    v.mv_size < REV_FIXED + INDEX_MAC_BYTES || p[0] != 1) {
			rc = icorrupt(x->ix, "review record");
			goto out;
		}
		sl = bytes_load16(p + 2);
		if (sl > INDEX_SEALED_NOTE_MAX ||
		    v.mv_size != REV_FIXED + sl + INDEX_MAC_BYTES ||
		    (p[1] != COFFRE_APPROVED && p[1] != COFFRE_REJECTED)) {
			rc = icorrupt(x->ix, "review record");
			goto out;
		}
		mac(x, "coffre-idx-rev", kp, 20, p, REV_FIXED + sl, m);
		if (sodium_memcmp(m, p + REV_FIXED + sl, 32) != 0) {
			rc = icorrupt(x->ix, "review record (MAC)");
			goto out;
		}
		r->decision = p[1];
		r->at = (int64_t)bytes_load64(p + 4);
		memcpy(r->snote, p + REV_FIXED, sl);
		r->snotelen = sl;
		if ((rc = fn(ctx, r)) != 0)
			goto out;
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND)
		rc = ifail(x->ix, mrc);
out:
	mdb_cursor_close(c);
	free(r);
	return rc;
}

static int
recs(struct index_txn *x, int arc, const char *user,
    int (*fn)(void *, const struct idoc *), void *ctx)
{
	MDB_cursor *c;
	MDB_val k, v;
	struct idoc *d;
	int rc, mrc;

	if ((d = malloc(sizeof(*d))) == NULL)
		return icorrupt(x->ix, "memory");
	if (arc)
		user = NULL; /* archives: the caller filters */
	if ((rc = mdb_cursor_open(x->txn,
		 user != NULL ? x->ix->by_user
			      : (arc ? x->ix->archives : x->ix->docs),
		 &c)) != 0) {
		free(d);
		return ifail(x->ix, rc);
	}
	if (user != NULL) {
		k.mv_size = strlen(user);
		k.mv_data = (void *)(uintptr_t)user;
		mrc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
	} else {
		mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	}
	rc = 0;
	while (mrc == 0) {
		if (user != NULL) {
			if (v.mv_size != 16) {
				rc = icorrupt(x->ix, "by-user record");
				break;
			}
			rc = index_doc_get(x, v.mv_data, d);
			/* by_user has no MAC: the record it names must agree. */
			if (rc == INDEX_ENOTFOUND ||
			    (rc == 0 && strcmp(d->user, user) != 0))
				rc = icorrupt(x->ix, "by-user record");
		} else if (k.mv_size != 16) {
			rc = icorrupt(x->ix, "document key");
		} else {
			rc = doc_parse(x, arc, k.mv_data, &v, d);
		}
		if (rc != 0 || (rc = fn(ctx, d)) != 0)
			break;
		mrc = mdb_cursor_get(c, &k, &v,
		    user != NULL ? MDB_NEXT_DUP : MDB_NEXT);
	}
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = ifail(x->ix, mrc);
	mdb_cursor_close(c);
	free(d);
	return rc;
}

int
index_docs(struct index_txn *x, const char *user,
    int (*fn)(void *, const struct idoc *), void *ctx)
{
	return recs(x, 0, user, fn, ctx);
}

int
index_arcs(struct index_txn *x, int (*fn)(void *, const struct idoc *),
    void *ctx)
{
	return recs(x, 1, NULL, fn, ctx);
}

int
index_audit_head(struct index_txn *x, uint64_t *seq, uint8_t hash[32])
{
	MDB_val k = {10, "audit_head"}, d;
	int rc = mdb_get(x->txn, x->ix->meta, &k, &d);

	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		memset(hash, 0, 32);
		return INDEX_ENOTFOUND;
	}
	if (rc != 0)
		return ifail(x->ix, rc);
	if (d.mv_size != 40)
		return icorrupt(x->ix, "audit head");
	*seq = bytes_load64(d.mv_data);
	memcpy(hash, (const uint8_t *)d.mv_data + 8, 32);
	return 0;
}

int
index_audit_put(struct index_txn *x, uint64_t seq, const char *line, size_t len,
    const uint8_t hash[32])
{
	uint8_t kb[8], hv[40];
	MDB_val k = {8, kb}, d = {len, (void *)(uintptr_t)line};
	MDB_val hk = {10, "audit_head"}, hd = {40, hv};
	int rc;

	bytes_store64be(kb, seq);
	if ((rc = mdb_put(x->txn, x->ix->audit, &k, &d, MDB_NOOVERWRITE)) != 0)
		return ifail(x->ix, rc);
	bytes_store64(hv, seq);
	memcpy(hv + 8, hash, 32);
	if ((rc = mdb_put(x->txn, x->ix->meta, &hk, &hd, 0)) != 0)
		return ifail(x->ix, rc);
	return 0;
}

int
index_audit_lines(struct index_txn *x, uint64_t after,
    int (*fn)(void *ctx, uint64_t seq, const char *line, size_t len), void *ctx)
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, d;
	MDB_cursor *c;
	int rc = 0, mrc;

	bytes_store64be(kb, after + 1);
	if ((mrc = mdb_cursor_open(x->txn, x->ix->audit, &c)) != 0)
		return ifail(x->ix, mrc);
	for (mrc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); mrc == 0;
	     mrc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 8) {
			rc = icorrupt(x->ix, "audit key");
			break;
		}
		if ((rc = fn(ctx, bytes_load64be(k.mv_data), d.mv_data,
			 d.mv_size)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = ifail(x->ix, mrc);
	return rc;
}

int
index_meta_u64(struct index_txn *x, const char *name, uint64_t *v)
{
	MDB_val k = {strlen(name), (void *)(uintptr_t)name}, d;
	int rc = mdb_get(x->txn, x->ix->meta, &k, &d);

	if (rc == MDB_NOTFOUND) {
		*v = 0;
		return 0;
	}
	if (rc != 0)
		return ifail(x->ix, rc);
	if (d.mv_size != 8)
		return icorrupt(x->ix, name);
	*v = bytes_load64(d.mv_data);
	return 0;
}

int
index_meta_put_u64(struct index_txn *x, const char *name, uint64_t v)
{
	uint8_t b[8];
	MDB_val k = {strlen(name), (void *)(uintptr_t)name}, d = {8, b};
	int rc;

	bytes_store64(b, v);
	if ((rc = mdb_put(x->txn, x->ix->meta, &k, &d, 0)) != 0)
		return ifail(x->ix, rc);
	return 0;
}

int
index_id_known(struct index_txn *x, const uint8_t id[16])
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc, found = 0;

	if ((rc = mdb_cursor_open(x->txn, x->ix->by_user, &c)) != 0)
		return ifail(x->ix, rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0 && !found;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT))
		found = d.mv_size == 16 && memcmp(d.mv_data, id, 16) == 0;
	mdb_cursor_close(c);
	if (!found && rc != MDB_NOTFOUND)
		return ifail(x->ix, rc);
	return found;
}

int
index_sync(struct index *ix)
{
	int rc = mdb_env_sync(ix->env, 1);

	return rc == 0 ? 0 : ifail(ix, rc);
}

#ifdef COFFRE_FUZZING
/*
 * For fuzz/fuzz_records.c only (the fuzz build defines COFFRE_FUZZING):
 * put raw bytes under a raw key in table ${table} (0 docs, 1 reviews,
 * 2 by_user, 3 meta, 4 archives, 5 audit) of write transaction ${x}, or
 * delete the key with ${del}, as a damaged file could hold them.  0, or
 * an LMDB error code (-1 for an unknown table).
 */
int index_fuzz_raw(struct index_txn *x, int table, const void *key, size_t klen,
    const void *val, size_t vlen, int del);

int
index_fuzz_raw(struct index_txn *x, int table, const void *key, size_t klen,
    const void *val, size_t vlen, int del)
{
	const MDB_dbi dbi[] = {x->ix->docs, x->ix->reviews, x->ix->by_user,
	    x->ix->meta, x->ix->archives, x->ix->audit};
	MDB_val k = {klen, (void *)(uintptr_t)key};
	MDB_val v = {vlen, (void *)(uintptr_t)val};

	if (table < 0 || table >= (int)(sizeof(dbi) / sizeof(dbi[0])))
		return -1;
	return del ? mdb_del(x->txn, dbi[table], &k, NULL)
		   : mdb_put(x->txn, dbi[table], &k, &v, 0);
}
#endif
