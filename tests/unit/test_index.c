/*
 * test_index.c: vault/index.c, the data index in DIR/index.mdb.  Document
 * records and reviews round trip, listings come oldest first, segment ends
 * only rise, sequence numbers count up; and the must-fail cases, made
 * through LMDB directly with the index closed: a changed byte, a record
 * moved to another key, a dropped review, a wrong MAC key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <lmdb.h>
#include <sodium.h>

#include "keys/bytes.h"
#include "vault/index.h"

#include "testutil.h"

struct fx {
	char dir[TU_PATH_MAX];
	struct index *ix;
	uint8_t mackey[32];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512];

	if (f == NULL)
		return -1;
	tu_tmpdir(f->dir);
	randombytes_buf(f->mackey, sizeof(f->mackey));
	if (index_open(f->dir, 1, &f->ix, err, sizeof(err)) != 0)
		fail_msg("index_open: %s", err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	index_close(f->ix);
	tu_rmrf(f->dir);
	free(f);
	return 0;
}

static void
ix_close(struct fx *f)
{
	index_close(f->ix);
	f->ix = NULL;
}

static void
ix_reopen(struct fx *f)
{
	char err[512];

	index_close(f->ix);
	f->ix = NULL;
	if (index_open(f->dir, 0, &f->ix, err, sizeof(err)) != 0)
		fail_msg("index_open: %s", err);
}

static struct index_txn *
begin(struct fx *f, int write)
{
	struct index_txn *x = NULL;

	if (index_begin(f->ix, write, f->mackey, &x) != 0)
		fail_msg("index_begin: %s", index_errmsg(f->ix));
	return x;
}

static void
commit(struct fx *f, struct index_txn *x)
{
	if (index_commit(x) != 0)
		fail_msg("index_commit: %s", index_errmsg(f->ix));
}

/* A document record with sequence ${seq} for ${user}. */
static void
doc_make(struct idoc *d, uint64_t seq, const char *user)
{
	memset(d, 0, sizeof(*d));
	bytes_store64be(d->id, seq);
	randombytes_buf(d->id + 8, 8);
	d->status = COFFRE_PENDING;
	d->loc.segno = 1;
	d->loc.offset = 32 + seq * 1000;
	d->loc.length = 500 + seq;
	d->size = 400 + seq;
	d->created = 1700000000 + (int64_t)seq;
	d->keyid = (4ULL << 56) | seq;
	snprintf(d->user, sizeof(d->user), "%s", user);
	snprintf(d->community, sizeof(d->community), "c%llu",
	    (unsigned long long)(seq % 2));
	snprintf(d->kind, sizeof(d->kind), "%s", seq % 3 == 0 ? "" : "idcard");
	snprintf(d->type, sizeof(d->type), "application/pdf");
	d->snamelen = 24 + 5 + 16;
	randombytes_buf(d->sname, d->snamelen);
}

static void
doc_equal(const struct idoc *a, const struct idoc *b)
{
	assert_memory_equal(a->id, b->id, 16);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->loc.segno, b->loc.segno);
	assert_int_equal(a->loc.offset, b->loc.offset);
	assert_int_equal(a->loc.length, b->loc.length);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->created, b->created);
	assert_int_equal(a->keyid, b->keyid);
	assert_string_equal(a->user, b->user);
	assert_string_equal(a->community, b->community);
	assert_string_equal(a->kind, b->kind);
	assert_string_equal(a->type, b->type);
	assert_int_equal(a->snamelen, b->snamelen);
	assert_memory_equal(a->sname, b->sname, a->snamelen);
}

static void
put(struct fx *f, const struct idoc *d)
{
	struct index_txn *x = begin(f, 1);

	if (index_doc_put(x, d) != 0)
		fail_msg("index_doc_put: %s", index_errmsg(f->ix));
	commit(f, x);
}

static int
get(struct fx *f, const uint8_t id[16], struct idoc *d)
{
	struct index_txn *x = begin(f, 0);
	int rc = index_doc_get(x, id, d);

	index_abort(x);
	return rc;
}

/*
 * Direct LMDB access to DIR/index.mdb with the index closed.  raw_get
 * copies the value of ${key} in ${db}; raw_put writes one (NULL data:
 * delete the key).
 */
static MDB_env *
raw_open(struct fx *f, const char *db, unsigned tflags, MDB_txn **txn,
    MDB_dbi *dbi)
{
	char p[TU_PATH_MAX];
	MDB_env *env;
	unsigned dflags =
	    strcmp(db, "by_user") == 0 ? MDB_DUPSORT | MDB_DUPFIXED : 0;

	tu_path(p, f->dir, "index.mdb");
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64ULL << 30), 0);
	assert_int_equal(mdb_env_open(env, p, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, tflags, txn), 0);
	assert_int_equal(mdb_dbi_open(*txn, db, dflags, dbi), 0);
	return env;
}

static size_t
raw_get(struct fx *f, const char *db, const void *key, size_t klen,
    uint8_t *buf, size_t cap)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env = raw_open(f, db, MDB_RDONLY, &txn, &dbi);
	MDB_val k = {klen, (void *)(uintptr_t)key}, v;

	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_true(v.mv_size <= cap);
	memcpy(buf, v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return v.mv_size;
}

static void
raw_put(struct fx *f, const char *db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env = raw_open(f, db, 0, &txn, &dbi);
	MDB_val k = {klen, (void *)(uintptr_t)key};
	MDB_val v = {vlen, (void *)(uintptr_t)val};

	if (val == NULL)
		assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	else
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
test_doc_round_trip(void **state)
{
	struct fx *f = *state;
	struct idoc a, b, got;
	uint8_t missing[16];

	doc_make(&a, 1, "alice");
	doc_make(&b, 2, "bob");
	put(f, &a);
	put(f, &b);
	memset(&got, 0x77, sizeof(got));
	assert_int_equal(get(f, a.id, &got), 0);
	doc_equal(&a, &got);
	assert_int_equal(get(f, b.id, &got), 0);
	doc_equal(&b, &got);
	memcpy(missing, a.id, 16);
	missing[15] ^= 1;
	assert_int_equal(get(f, missing, &got), INDEX_ENOTFOUND);
	/* An update replaces the record. */
	a.status = COFFRE_APPROVED;
	a.snamelen = 0;
	put(f, &a);
	ix_reopen(f);
	assert_int_equal(get(f, a.id, &got), 0);
	doc_equal(&a, &got);
	/* An aborted put leaves nothing. */
	{
		struct idoc c;
		struct index_txn *x = begin(f, 1);
		doc_make(&c, 3, "carol");
		assert_int_equal(index_doc_put(x, &c), 0);
		index_abort(x);
		assert_int_equal(get(f, c.id, &got), INDEX_ENOTFOUND);
	}
	index_abort(NULL);
}

static void
test_doc_limits(void **state)
{
	struct fx *f = *state;
	struct idoc a, got;
	struct index_txn *x;

	doc_make(&a, 1, "u");
	memset(a.user, 'u', COFFRE_ID_MAX);
	a.user[COFFRE_ID_MAX] = '\0';
	memset(a.community, 'c', COFFRE_ID_MAX);
	a.community[COFFRE_ID_MAX] = '\0';
	memset(a.kind, 'k', COFFRE_ID_MAX);
	a.kind[COFFRE_ID_MAX] = '\0';
	memset(a.type, 't', COFFRE_TYPE_MAX);
	a.type[COFFRE_TYPE_MAX] = '\0';
	a.snamelen = INDEX_SEALED_NAME_MAX;
	randombytes_buf(a.sname, a.snamelen);
	a.created = -5;
	a.status = COFFRE_SHREDDED;
	put(f, &a);
	assert_int_equal(get(f, a.id, &got), 0);
	doc_equal(&a, &got);
	/* A sealed name longer than the maximum is refused. */
	a.snamelen = INDEX_SEALED_NAME_MAX + 1;
	x = begin(f, 1);
	assert_int_equal(index_doc_put(x, &a), -1);
	index_abort(x);
}

/* Must fail: each byte of a stored document record, changed. */
static void
test_doc_flipped_byte(void **state)
{
	struct fx *f = *state;
	struct idoc a, got;
	uint8_t rec[2048], bad[2048];
	size_t len, i;
	int rc;

	doc_make(&a, 1, "alice");
	put(f, &a);
	ix_close(f);
	len = raw_get(f, "docs", a.id, 16, rec, sizeof(rec));
	assert_true(len > 56 + 32);
	for (i = 0; i < len; i++) {
		memcpy(bad, rec, len);
		bad[i] ^= 0x01;
		raw_put(f, "docs", a.id, 16, bad, len);
		ix_reopen(f);
		rc = get(f, a.id, &got);
		if (rc != -1)
			fail_msg("byte %zu of the record changed: got %d", i,
			    rc);
		ix_close(f);
	}
	/* Truncated, extended. */
	raw_put(f, "docs", a.id, 16, rec, len - 1);
	ix_reopen(f);
	assert_int_equal(get(f, a.id, &got), -1);
	ix_close(f);
	memcpy(bad, rec, len);
	bad[len] = 0;
	raw_put(f, "docs", a.id, 16, bad, len + 1);
	ix_reopen(f);
	assert_int_equal(get(f, a.id, &got), -1);
	ix_close(f);
	raw_put(f, "docs", a.id, 16, rec, len);
	ix_reopen(f);
	assert_int_equal(get(f, a.id, &got), 0);
	doc_equal(&a, &got);
}

static int
count_docs(void *ctx, const struct idoc *d)
{
	(void)d;
	(*(int *)ctx)++;
	return 0;
}

/* Must fail: a valid record copied to another document's key. */
static void
test_doc_moved(void **state)
{
	struct fx *f = *state;
	struct idoc a, b, got;
	uint8_t rec[2048];
	size_t len;

	doc_make(&a, 1, "alice");
	doc_make(&b, 2, "alice");
	put(f, &a);
	put(f, &b);
	ix_close(f);
	len = raw_get(f, "docs", a.id, 16, rec, sizeof(rec));
	raw_put(f, "docs", b.id, 16, rec, len);
	ix_reopen(f);
	assert_int_equal(get(f, b.id, &got), -1);
	assert_int_equal(get(f, a.id, &got), 0);
	/* The listings stop on it, after the good one. */
	{
		struct index_txn *x = begin(f, 0);
		int n = 0;
		assert_int_equal(index_docs(x, NULL, count_docs, &n), -1);
		assert_int_equal(n, 1);
		n = 0;
		assert_int_equal(index_docs(x, "alice", count_docs, &n), -1);
		assert_int_equal(n, 1);
		index_abort(x);
	}
}

/* Must fail: records read under another MAC key. */
static void
test_wrong_mac_key(void **state)
{
	struct fx *f = *state;
	struct idoc a, got;
	struct index_txn *x = NULL;
	uint8_t other[32];
	uint64_t end;

	doc_make(&a, 1, "alice");
	put(f, &a);
	memcpy(other, f->mackey, 32);
	other[0] ^= 1;
	assert_int_equal(index_begin(f->ix, 0, other, &x), 0);
	assert_int_equal(index_doc_get(x, a.id, &got), -1);
	assert_non_null(strstr(index_errmsg(f->ix), "MAC"));
	assert_int_equal(index_seg_end(x, 1, &end), -1);
	index_abort(x);
}

struct revs {
	int n;
	struct ireview r[8];
};

static int
rev_collect(void *ctx, const struct ireview *r)
{
	struct revs *c = ctx;

	if (c->n >= 8)
		return 99;
	c->r[c->n++] = *r;
	return 0;
}

static void
review_make(struct ireview *r, int decision, int64_t at, const char *note)
{
	memset(r, 0, sizeof(*r));
	r->decision = decision;
	r->at = at;
	r->snotelen = strlen(note);
	memcpy(r->snote, note, r->snotelen);
}

static void
review_add(struct fx *f, const uint8_t id[16], const struct ireview *r)
{
	struct index_txn *x = begin(f, 1);

	if (index_review_add(x, id, r) != 0)
		fail_msg("index_review_add: %s", index_errmsg(f->ix));
	commit(f, x);
}

static int
reviews(struct fx *f, const uint8_t id[16], struct revs *out)
{
	struct index_txn *x = begin(f, 0);
	int rc;

	memset(out, 0, sizeof(*out));
	rc = index_reviews(x, id, rev_collect, out);
	index_abort(x);
	return rc;
}

static void
rev_key(uint8_t kb[20], const uint8_t id[16], uint32_t n)
{
	memcpy(kb, id, 16);
	kb[16] = (uint8_t)(n >> 24);
	kb[17] = (uint8_t)(n >> 16);
	kb[18] = (uint8_t)(n >> 8);
	kb[19] = (uint8_t)n;
}

static void
test_reviews(void **state)
{
	struct fx *f = *state;
	struct idoc a, b;
	struct ireview r;
	struct revs got;
	uint8_t kb[20], rec[256];
	int i;

	/* Two documents with adjacent ids: their reviews must not mix. */
	doc_make(&a, 1, "alice");
	b = a;
	b.id[15] ^= 1;
	put(f, &a);
	put(f, &b);
	assert_int_equal(reviews(f, a.id, &got), 0);
	assert_int_equal(got.n, 0);
	review_make(&r, COFFRE_REJECTED, 100, "blurred");
	review_add(f, a.id, &r);
	review_make(&r, COFFRE_APPROVED, 50, "b-first");
	review_add(f, b.id, &r);
	review_make(&r, COFFRE_APPROVED, 200, "sharp now");
	review_add(f, a.id, &r);
	review_make(&r, COFFRE_REJECTED, 300, "");
	review_add(f, a.id, &r);
	review_make(&r, COFFRE_REJECTED, 60, "b-second");
	review_add(f, b.id, &r);
	ix_reopen(f);
	assert_int_equal(reviews(f, a.id, &got), 0);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.r[0].decision, COFFRE_REJECTED);
	assert_int_equal(got.r[0].at, 100);
	assert_int_equal(got.r[0].snotelen, 7);
	assert_memory_equal(got.r[0].snote, "blurred", 7);
	assert_int_equal(got.r[1].decision, COFFRE_APPROVED);
	assert_int_equal(got.r[1].at, 200);
	assert_memory_equal(got.r[1].snote, "sharp now", 9);
	assert_int_equal(got.r[2].decision, COFFRE_REJECTED);
	assert_int_equal(got.r[2].snotelen, 0);
	assert_int_equal(reviews(f, b.id, &got), 0);
	assert_int_equal(got.n, 2);
	assert_memory_equal(got.r[0].snote, "b-first", 7);
	assert_memory_equal(got.r[1].snote, "b-second", 8);
	/* Numbered 0, 1, 2 in LMDB. */
	ix_close(f);
	for (i = 0; i < 3; i++) {
		rev_key(kb, a.id, (uint32_t)i);
		assert_true(raw_get(f, "reviews", kb, 20, rec, sizeof(rec)) >
		    12 + 32 - 1);
	}
	ix_reopen(f);
	/* The callback's non-zero return stops the walk and is returned. */
	{
		struct index_txn *x = begin(f, 0);
		struct revs many;
		memset(&many, 0, sizeof(many));
		many.n = 8;
		assert_int_equal(index_reviews(x, a.id, rev_collect, &many),
		    99);
		index_abort(x);
	}
}

/* A note at the maximum sealed size round trips; one more is refused. */
static void
test_review_limits(void **state)
{
	struct fx *f = *state;
	struct idoc a;
	struct ireview *r = calloc(1, sizeof(*r));
	struct index_txn *x;
	struct revs *got = calloc(1, sizeof(*got));

	assert_non_null(r);
	assert_non_null(got);
	doc_make(&a, 1, "alice");
	put(f, &a);
	r->decision = COFFRE_APPROVED;
	r->snotelen = INDEX_SEALED_NOTE_MAX;
	randombytes_buf(r->snote, r->snotelen);
	review_add(f, a.id, r);
	assert_int_equal(reviews(f, a.id, got), 0);
	assert_int_equal(got->n, 1);
	assert_int_equal(got->r[0].snotelen, INDEX_SEALED_NOTE_MAX);
	assert_memory_equal(got->r[0].snote, r->snote, INDEX_SEALED_NOTE_MAX);
	r->snotelen = INDEX_SEALED_NOTE_MAX + 1;
	x = begin(f, 1);
	assert_int_equal(index_review_add(x, a.id, r), -1);
	index_abort(x);
	free(r);
	free(got);
}

/* Must fail: a changed review byte, a dropped or moved review. */
static void
test_review_tamper(void **state)
{
	struct fx *f = *state;
	struct idoc a, b;
	struct ireview r;
	struct revs got;
	uint8_t kb[20], kb2[20], rec[256], bad[256];
	size_t len, i;

	doc_make(&a, 1, "alice");
	doc_make(&b, 2, "alice");
	put(f, &a);
	put(f, &b);
	review_make(&r, COFFRE_REJECTED, 1, "one");
	review_add(f, a.id, &r);
	review_make(&r, COFFRE_APPROVED, 2, "two");
	review_add(f, a.id, &r);
	review_make(&r, COFFRE_APPROVED, 3, "three");
	review_add(f, a.id, &r);
	ix_close(f);
	rev_key(kb, a.id, 1);
	len = raw_get(f, "reviews", kb, 20, rec, sizeof(rec));
	for (i = 0; i < len; i++) {
		memcpy(bad, rec, len);
		bad[i] ^= 0x80;
		raw_put(f, "reviews", kb, 20, bad, len);
		ix_reopen(f);
		if (reviews(f, a.id, &got) != -1)
			fail_msg("review byte %zu changed, still read", i);
		ix_close(f);
	}
	raw_put(f, "reviews", kb, 20, rec, len);
	ix_reopen(f);
	assert_int_equal(reviews(f, a.id, &got), 0);
	assert_int_equal(got.n, 3);
	ix_close(f);
	/* Review 1 moved to document b: refused there. */
	rev_key(kb2, b.id, 0);
	raw_put(f, "reviews", kb2, 20, rec, len);
	ix_reopen(f);
	assert_int_equal(reviews(f, b.id, &got), -1);
	ix_close(f);
	raw_put(f, "reviews", kb2, 20, NULL, 0);
	/* Review 1 dropped: the gap is seen. */
	raw_put(f, "reviews", kb, 20, NULL, 0);
	ix_reopen(f);
	assert_int_equal(reviews(f, a.id, &got), -1);
	ix_close(f);
	/* Review 2 renumbered 1: its MAC is bound to its number. */
	rev_key(kb2, a.id, 2);
	len = raw_get(f, "reviews", kb2, 20, rec, sizeof(rec));
	raw_put(f, "reviews", kb, 20, rec, len);
	raw_put(f, "reviews", kb2, 20, NULL, 0);
	ix_reopen(f);
	assert_int_equal(reviews(f, a.id, &got), -1);
}

struct seen {
	int n;
	uint64_t seq[16];
	char user[16][COFFRE_ID_MAX + 1];
	int stop_at;
};

static int
doc_collect(void *ctx, const struct idoc *d)
{
	struct seen *s = ctx;

	if (s->n >= 16)
		return 98;
	s->seq[s->n] = bytes_load64be(d->id);
	snprintf(s->user[s->n], sizeof(s->user[0]), "%s", d->user);
	s->n++;
	return s->n == s->stop_at ? 42 : 0;
}

static int
docs(struct fx *f, const char *user, struct seen *s, int stop_at)
{
	struct index_txn *x = begin(f, 0);
	int rc;

	memset(s, 0, sizeof(*s));
	s->stop_at = stop_at;
	rc = index_docs(x, user, doc_collect, s);
	index_abort(x);
	return rc;
}

static void
test_docs_listing(void **state)
{
	struct fx *f = *state;
	static const uint64_t order[] = {5, 2, 8, 1, 7, 3, 6, 4};
	struct idoc d;
	struct seen s;
	int i;

	/* Put in shuffled order; odd sequence numbers are alice's. */
	for (i = 0; i < 8; i++) {
		doc_make(&d, order[i], order[i] % 2 ? "alice" : "bob");
		put(f, &d);
	}
	doc_make(&d, 9, "alice2"); /* a user whose id extends alice's */
	put(f, &d);
	assert_int_equal(docs(f, NULL, &s, 0), 0);
	assert_int_equal(s.n, 9);
	for (i = 0; i < 9; i++)
		assert_int_equal(s.seq[i], (uint64_t)i + 1);
	assert_int_equal(docs(f, "alice", &s, 0), 0);
	assert_int_equal(s.n, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(s.seq[i], (uint64_t)(2 * i + 1));
		assert_string_equal(s.user[i], "alice");
	}
	assert_int_equal(docs(f, "bob", &s, 0), 0);
	assert_int_equal(s.n, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(s.seq[i], (uint64_t)(2 * i + 2));
	assert_int_equal(docs(f, "alice2", &s, 0), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(docs(f, "alic", &s, 0), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(docs(f, "nobody", &s, 0), 0);
	assert_int_equal(s.n, 0);
	/* The callback's non-zero return stops the walk and is returned. */
	assert_int_equal(docs(f, NULL, &s, 3), 42);
	assert_int_equal(s.n, 3);
	assert_int_equal(docs(f, "bob", &s, 2), 42);
	assert_int_equal(s.n, 2);
}

static void
test_docs_update_listed_once(void **state)
{
	struct fx *f = *state;
	struct idoc d, got;
	struct index_txn *x;
	int n = 0;

	doc_make(&d, 1, "alice");
	put(f, &d);
	d.status = COFFRE_REJECTED;
	put(f, &d);
	d.status = COFFRE_APPROVED;
	put(f, &d);
	x = begin(f, 0);
	assert_int_equal(index_docs(x, "alice", count_docs, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(index_docs(x, NULL, count_docs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(index_doc_get(x, d.id, &got), 0);
	assert_int_equal(got.status, COFFRE_APPROVED);
	index_abort(x);
}

/*
 * Regression (fixed; was a bug in vault/index.c, index_docs(); vault/vault.c, list_one()):
 * by_user entries carry no MAC and the record found through one is not
 * checked against the user asked for, so an entry added in LMDB lists
 * alice's document as bob's (coffre_list with a user filter trusts it).
 */
static void
test_by_user_unauthenticated(void **state)
{
	struct fx *f = *state;
	struct idoc a, b;
	struct seen s;
	int rc;

	doc_make(&a, 1, "alice");
	doc_make(&b, 2, "bob");
	put(f, &a);
	put(f, &b);
	ix_close(f);
	raw_put(f, "by_user", "bob", 3, a.id, 16);
	ix_reopen(f);
	rc = docs(f, "bob", &s, 0);
	for (int i = 0; rc == 0 && i < s.n; i++)
		if (strcmp(s.user[i], "bob") != 0)
			fail_msg("index_docs(\"bob\") returned a document of "
				 "'%s' through a forged by_user entry",
			    s.user[i]);
}

static void
test_seg_end(void **state)
{
	struct fx *f = *state;
	struct idoc d;
	struct index_txn *x;
	uint64_t end = 0;
	uint8_t kb[7] = {'s', 'e', 'g', 0, 0, 0, 1}, val[64], bad[64];
	uint8_t kb2[7] = {'s', 'e', 'g', 0, 0, 0, 2};
	size_t len, i;

	x = begin(f, 0);
	assert_int_equal(index_seg_end(x, 1, &end), 0);
	assert_int_equal(end, 32); /* just the file header */
	index_abort(x);
	doc_make(&d, 1, "alice");
	d.loc.segno = 1;
	d.loc.offset = 32;
	d.loc.length = 100;
	put(f, &d);
	x = begin(f, 0);
	assert_int_equal(index_seg_end(x, 1, &end), 0);
	assert_int_equal(end, 132);
	assert_int_equal(index_seg_end(x, 2, &end), 0);
	assert_int_equal(end, 32);
	index_abort(x);
	/* It only rises: an update of an earlier record does not lower it. */
	doc_make(&d, 2, "alice");
	d.loc.segno = 1;
	d.loc.offset = 132;
	d.loc.length = 1000;
	put(f, &d);
	doc_make(&d, 1, "alice");
	d.loc.segno = 1;
	d.loc.offset = 32;
	d.loc.length = 100;
	put(f, &d);
	doc_make(&d, 3, "alice");
	d.loc.segno = 2;
	d.loc.offset = 32;
	d.loc.length = 10;
	put(f, &d);
	x = begin(f, 0);
	assert_int_equal(index_seg_end(x, 1, &end), 0);
	assert_int_equal(end, 1132);
	assert_int_equal(index_seg_end(x, 2, &end), 0);
	assert_int_equal(end, 42);
	index_abort(x);
	/* Must fail: each byte of the stored end changed. */
	ix_close(f);
	len = raw_get(f, "meta", kb, 7, val, sizeof(val));
	assert_int_equal(len, 8 + INDEX_MAC_BYTES);
	assert_int_equal(bytes_load64(val), 1132);
	for (i = 0; i < len; i++) {
		memcpy(bad, val, len);
		bad[i] ^= 0x08;
		raw_put(f, "meta", kb, 7, bad, len);
		ix_reopen(f);
		x = begin(f, 0);
		if (index_seg_end(x, 1, &end) != -1)
			fail_msg("segment end byte %zu changed, still read", i);
		index_abort(x);
		ix_close(f);
	}
	/* Must fail: segment 1's end stored under segment 2. */
	raw_put(f, "meta", kb, 7, val, len);
	raw_put(f, "meta", kb2, 7, val, len);
	ix_reopen(f);
	x = begin(f, 0);
	assert_int_equal(index_seg_end(x, 1, &end), 0);
	assert_int_equal(end, 1132);
	assert_int_equal(index_seg_end(x, 2, &end), -1);
	index_abort(x);
}

static void
test_next_seq(void **state)
{
	struct fx *f = *state;
	struct index_txn *x;
	uint64_t s = 0;

	x = begin(f, 1);
	assert_int_equal(index_next_seq(x, &s), 0);
	assert_int_equal(s, 1);
	assert_int_equal(index_next_seq(x, &s), 0);
	assert_int_equal(s, 2);
	commit(f, x);
	ix_reopen(f);
	x = begin(f, 1);
	assert_int_equal(index_next_seq(x, &s), 0);
	assert_int_equal(s, 3);
	index_abort(x); /* not drawn after all */
	x = begin(f, 1);
	assert_int_equal(index_next_seq(x, &s), 0);
	assert_int_equal(s, 3);
	assert_int_equal(index_next_seq(x, &s), 0);
	assert_int_equal(s, 4);
	commit(f, x);
	/* A read transaction cannot draw one. */
	x = begin(f, 0);
	assert_int_equal(index_next_seq(x, &s), -1);
	index_abort(x);
}

/* Put ${n} meta records "m%06u" in one transaction; the first that fails. */
static unsigned
fill(struct fx *f, unsigned n, int *rc)
{
	struct index_txn *x = begin(f, 1);
	char name[16];
	unsigned i;

	*rc = 0;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "m%06u", i);
		if ((*rc = index_meta_put_u64(x, name, i)) != 0) {
			index_abort(x);
			return i;
		}
	}
	*rc = index_commit(x);
	return i;
}

/*
 * A transaction that fills the map fails with MDB_MAP_FULL and is aborted;
 * index_map_grow() doubles the map, and the same transaction, run again,
 * commits (keys/lmdbgrow.h).  Small ones grow the map before they begin.
 */
static void
test_map_full_grows(void **state)
{
	struct fx *f = *state;
	unsigned grows, fulls, n = 60000, done;
	struct index_txn *x;
	uint64_t val;
	int rc, tries = 0;

	assert_int_equal(index_map_grow(f->ix), 0); /* nothing was full */
	assert_int_equal(index_map_size(f->ix, 1 << 20), 0);
	done = fill(f, n, &rc);
	assert_int_equal(rc, -1);
	assert_true(done < n);
	assert_non_null(strstr(index_errmsg(f->ix), "MDB_MAP_FULL"));
	index_map_stats(f->ix, &grows, &fulls);
	assert_int_equal(fulls, 0);
	while (rc != 0) {
		assert_true(++tries <= 8);
		assert_int_equal(index_map_grow(f->ix), 1);
		done = fill(f, n, &rc);
	}
	assert_int_equal(done, n);
	index_map_stats(f->ix, &grows, &fulls);
	assert_int_equal(fulls, (unsigned)tries);
	assert_true(grows >= fulls);
	/* Everything is there, after a reopen at the small size too. */
	ix_reopen(f);
	assert_int_equal(index_map_size(f->ix, 1 << 20), 0);
	x = begin(f, 0);
	assert_int_equal(index_meta_u64(x, "m059999", &val), 0);
	assert_int_equal(val, 59999);
	index_abort(x);
	/* Small transactions grow the map ahead of them: none fills it. */
	x = begin(f, 1);
	assert_int_equal(index_meta_put_u64(x, "last", 1), 0);
	assert_int_equal(index_commit(x), 0);
	index_map_stats(f->ix, &grows, &fulls);
	assert_int_equal(fulls, 0);
	assert_true(grows >= 1);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_doc_round_trip),
	    T(test_doc_limits),
	    T(test_doc_flipped_byte),
	    T(test_doc_moved),
	    T(test_wrong_mac_key),
	    T(test_reviews),
	    T(test_review_limits),
	    T(test_review_tamper),
	    T(test_docs_listing),
	    T(test_docs_update_listed_once),
	    T(test_by_user_unauthenticated),
	    T(test_seg_end),
	    T(test_next_seq),
	    T(test_map_full_grows),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("index", tests, NULL, NULL);
}
