/*
 * tree.c: the key tree in DIR/keys/tree.mdb.  Tables:
 *   nodes     u64 BE node id -> node record (docs/FORMAT.md)
 *   children  u64 BE parent id -> u64 BE child id (sorted duplicates)
 *   users     keyed hash of a user id -> u64 BE owner node id
 *   fence     keyed hash of a shredded user id -> u64 LE time of the shred
 *   meta      name -> value (epoch, next_slot, next_leaf, format)
 * A node record is authenticated as a whole: the wrapped key is sealed with
 * the record's other fields as associated data, so a changed byte anywhere
 * in it, or a record moved to another id, fails to open.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <lmdb.h>
#include <sodium.h>

#include "keys/bytes.h"
#include "keys/fault.h"
#include "keys/lmdbcheck.h"
#include "keys/lmdbgrow.h"
#include "keys/root.h"
#include "keys/tree.h"

#define REC_HDR 28 /* version, kind, attrs length, parent, pgen, gen */
#define REC_NONCE 24
#define REC_CT (TREE_KEY_BYTES + 16)
#define REC_FIXED (REC_HDR + REC_NONCE + REC_CT)
#define ATTRS_MAX 1024
#define MAX_DEPTH 8

#define ID_INTERNAL(l, i) ((1ULL << 56) | ((uint64_t)(l) << 48) | (i))
#define ID_SYSTEM(n) ((2ULL << 56) | (uint64_t)(n))
#define ID_OWNER(s) ((3ULL << 56) | (uint64_t)(s))
#define ID_LEAF(s) ((4ULL << 56) | (uint64_t)(s))
#define ID_TOP ID_INTERNAL(0, 0)
#define ID_ROOT 0ULL
#define SLOT_MAX (1ULL << (TREE_FANOUT_BITS * TREE_LEVELS))

#define TREE_MAPSIZE (64ULL << 30)

/*
 * Unwrapped keys on the way down a path live in one sodium_malloc'd scratch
 * area (guarded, locked, wiped on close), not on the stack: slot d + 1 holds
 * the parent key at depth d; the last three slots serve node creation and
 * id hashing.
 */
#define SCRATCH_SLOTS (MAX_DEPTH + 5)
#define SCR(t, i) ((t)->scratch + (size_t)(i)*TREE_KEY_BYTES)
#define SCR_HASH (MAX_DEPTH + 2)
#define SCR_NEW (MAX_DEPTH + 3)
#define SCR_PARENT (MAX_DEPTH + 4)

struct tree {
	MDB_env *env;
	MDB_dbi nodes, children, users, fence, meta, contracts, user_contracts,
	    pending;
	struct root *root;
	uint8_t *rkey;    /* sodium_malloc'd root key of epoch ${epoch} */
	uint8_t *scratch; /* sodium_malloc'd, SCRATCH_SLOTS keys */
	uint64_t epoch;
	/* Step 3 of a root change runs on a thread of its own, so that the
	 * caller's next durable step (the index) overlaps it; tree_settle()
	 * joins it, and every use of the root file settles first. */
	pthread_t eraser;
	int erasing, erase_rc;
	uint64_t serials;    /* transactions begun */
	struct lmdbgrow map; /* keys/lmdbgrow.h */
	char erase_err[256];
	char err[256];
};

struct tree_txn {
	struct tree *t;
	MDB_txn *txn;
	uint64_t epoch;
	int write;
	uint8_t *newroot; /* sodium_malloc'd; set when the root changes */
	uint64_t newepoch;
	uint64_t serial; /* unique per transaction of this handle */
};

static void terr(struct tree *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
terr(struct tree *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
}

static int
mdb_fail(struct tree *t, int rc)
{
	snprintf(t->err, sizeof(t->err), "keys/tree.mdb: %s",
	    lmdbgrow_strerror(rc));
	lmdbgrow_failed(&t->map, rc);
	return -1;
}

static int
meta_get(struct tree_txn *x, const char *name, uint64_t *v)
{
	MDB_val k = {strlen(name), (void *)(uintptr_t)name}, d;
	int rc = mdb_get(x->txn, x->t->meta, &k, &d);

	if (rc == MDB_NOTFOUND)
		return TREE_ENOTFOUND;
	if (rc != 0)
		return mdb_fail(x->t, rc);
	if (d.mv_size != 8) {
		terr(x->t, "keys/tree.mdb: corrupt meta record %s", name);
		return -1;
	}
	*v = bytes_load64(d.mv_data);
	return 0;
}

static int
meta_put(struct tree_txn *x, const char *name, uint64_t v)
{
	uint8_t b[8];
	MDB_val k = {strlen(name), (void *)(uintptr_t)name}, d = {8, b};
	int rc;

	bytes_store64(b, v);
	if ((rc = mdb_put(x->txn, x->t->meta, &k, &d, 0)) != 0)
		return mdb_fail(x->t, rc);
	return 0;
}

/*
 * The root key as this transaction sees it: the new one once a root change
 * is staged in it (the top node is already wrapped under it), else the
 * current one.  Returns its epoch.
 */
static uint64_t
txn_root(const struct tree_txn *x, uint8_t *key)
{
	if (x->newroot != NULL) {
		memcpy(key, x->newroot, TREE_KEY_BYTES);
		return x->newepoch;
	}
	memcpy(key, x->t->rkey, TREE_KEY_BYTES);
	return x->epoch;
}

/* Associated data of a node record: its id, header and attributes. */
static void
node_ad(crypto_generichash_state *st, uint64_t id, const uint8_t *rec,
    size_t attrslen)
{
	uint8_t idb[8];

	bytes_store64(idb, id);
	crypto_generichash_init(st, NULL, 0, 32);
	crypto_generichash_update(st, (const uint8_t *)"coffre-node-v1", 14);
	crypto_generichash_update(st, idb, 8);
	crypto_generichash_update(st, rec, REC_HDR);
	crypto_generichash_update(st, rec + REC_FIXED, attrslen);
}

/*
 * Write node ${id} with ${key} wrapped under ${pkey} (generation ${pgen} of
 * ${parent}).  ${link}: also record it among its parent's children.
 */
static int
node_put(struct tree_txn *x, uint64_t id, int kind, uint64_t parent,
    const uint8_t *pkey, uint64_t pgen, const uint8_t *key, uint64_t gen,
    const uint8_t *attrs, size_t attrslen, int link)
{
	uint8_t rec[REC_FIXED + ATTRS_MAX], adh[32], kb[8], pb[8];
	crypto_generichash_state st;
	MDB_val k = {8, kb}, d, pk = {8, pb};
	int rc;

	if (attrslen > ATTRS_MAX) {
		terr(x->t, "%s", "node attributes too long");
		return -1;
	}
	rec[0] = 1;
	rec[1] = (uint8_t)kind;
	bytes_store16(rec + 2, (uint16_t)attrslen);
	bytes_store64(rec + 4, parent);
	bytes_store64(rec + 12, pgen);
	bytes_store64(rec + 20, gen);
	if (attrslen > 0)
		memcpy(rec + REC_FIXED, attrs, attrslen);
	randombytes_buf(rec + REC_HDR, REC_NONCE);
	node_ad(&st, id, rec, attrslen);
	crypto_generichash_final(&st, adh, 32);
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec + REC_HDR + REC_NONCE,
	    NULL, key, TREE_KEY_BYTES, adh, 32, NULL, rec + REC_HDR, pkey);
	bytes_store64be(kb, id);
	d.mv_size = REC_FIXED + attrslen;
	d.mv_data = rec;
	/* A new node never replaces one: a rolled-back counter must fail. */
	rc = mdb_put(x->txn, x->t->nodes, &k, &d, link ? MDB_NOOVERWRITE : 0);
	if (rc == MDB_KEYEXIST) {
		terr(x->t,
		    "keys/tree.mdb: node %016llx exists already (corrupt "
		    "counters)",
		    (unsigned long long)id);
		return -1;
	}
	if (rc == 0 && link) {
		bytes_store64be(pb, parent);
		rc = mdb_put(x->txn, x->t->children, &pk, &k, 0);
	}
	if (rc != 0)
		return mdb_fail(x->t, rc);
	return 0;
}

struct node {
	int kind;
	uint64_t parent, pgen, gen;
	const uint8_t *rec;
	size_t attrslen;
};

static int
node_get(struct tree_txn *x, uint64_t id, struct node *n)
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, d;
	const uint8_t *r;
	int rc;

	bytes_store64be(kb, id);
	rc = mdb_get(x->txn, x->t->nodes, &k, &d);
	if (rc == MDB_NOTFOUND)
		return TREE_ENOTFOUND;
	if (rc != 0)
		return mdb_fail(x->t, rc);
	r = d.mv_data;
	/* Attrs past ATTRS_MAX would overflow the copy a re-key makes. */
	if (d.mv_size < REC_FIXED || r[0] != 1 ||
	    bytes_load16(r + 2) > ATTRS_MAX ||
	    d.mv_size != (size_t)REC_FIXED + bytes_load16(r + 2)) {
		snprintf(x->t->err, sizeof(x->t->err),
		    "keys/tree.mdb: corrupt node record %016llx",
		    (unsigned long long)id);
		return -1;
	}
	n->kind = r[1];
	n->parent = bytes_load64(r + 4);
	n->pgen = bytes_load64(r + 12);
	n->gen = bytes_load64(r + 20);
	n->rec = r;
	n->attrslen = bytes_load16(r + 2);
	return 0;
}

/* Unwrap ${id}; *gen receives its key generation. */
static int
node_key_depth(struct tree_txn *x, uint64_t id, uint8_t *key, uint64_t *gen,
    int depth)
{
	struct node n;
	uint8_t *pkey = NULL, adh[32];
	uint64_t pgen;
	crypto_generichash_state st;
	int rc;

	if (depth > MAX_DEPTH) {
		terr(x->t, "%s", "keys/tree.mdb: node path too deep (corrupt)");
		return -1;
	}
	if ((rc = node_get(x, id, &n)) != 0)
		return rc;
	pkey = SCR(x->t, depth + 1);
	if (n.parent == ID_ROOT) {
		if (id != ID_TOP) {
			rc = -1;
			terr(x->t, "%s", "keys/tree.mdb: stray top node");
			goto out;
		}
		pgen = txn_root(x, pkey);
	} else {
		rc = node_key_depth(x, n.parent, pkey, &pgen, depth + 1);
		if (rc == TREE_ENOTFOUND) {
			/* A node whose parent is gone is corrupt. */
			snprintf(x->t->err, sizeof(x->t->err),
			    "keys/tree.mdb: node %016llx has no parent",
			    (unsigned long long)id);
			rc = -1;
		}
		if (rc != 0)
			goto out;
	}
	if (n.pgen != pgen) {
		snprintf(x->t->err, sizeof(x->t->err),
		    "keys/tree.mdb: node %016llx wrapped under a stale key",
		    (unsigned long long)id);
		rc = -1;
		goto out;
	}
	node_ad(&st, id, n.rec, n.attrslen);
	crypto_generichash_final(&st, adh, 32);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(key, NULL, NULL,
		n.rec + REC_HDR + REC_NONCE, REC_CT, adh, 32, n.rec + REC_HDR,
		pkey) != 0) {
		snprintf(x->t->err, sizeof(x->t->err),
		    "keys/tree.mdb: node %016llx does not open (corrupt)",
		    (unsigned long long)id);
		rc = -1;
		goto out;
	}
	if (gen != NULL)
		*gen = n.gen;
	rc = 0;
out:
	sodium_memzero(pkey, TREE_KEY_BYTES);
	return rc;
}

int
tree_node_key(struct tree_txn *x, uint64_t id, uint8_t key[TREE_KEY_BYTES])
{
	return node_key_depth(x, id, key, NULL, 0);
}

int
tree_system_key(struct tree_txn *x, int which, uint8_t key[TREE_KEY_BYTES])
{
	return node_key_depth(x, ID_SYSTEM(which), key, NULL, 0);
}

/* Create node ${id} of ${kind} under ${parent} with a random key. */
static int
node_create(struct tree_txn *x, uint64_t id, int kind, uint64_t parent,
    uint8_t *key_out)
{
	uint8_t *k = SCR(x->t, SCR_NEW), *pk = SCR(x->t, SCR_PARENT);
	uint64_t pgen;
	int rc = -1;

	if (parent == ID_ROOT) {
		pgen = txn_root(x, pk);
	} else if ((rc = node_key_depth(x, parent, pk, &pgen, 0)) != 0) {
		goto out;
	}
	randombytes_buf(k, TREE_KEY_BYTES);
	if ((rc = node_put(x, id, kind, parent, pk, pgen, k, 1, NULL, 0, 1)) !=
	    0)
		goto out;
	if (key_out != NULL)
		memcpy(key_out, k, TREE_KEY_BYTES);
	rc = 0;
out:
	sodium_memzero(k, TREE_KEY_BYTES);
	sodium_memzero(pk, TREE_KEY_BYTES);
	return rc;
}

/* Make sure internal node (level, index) exists, creating its path. */
static int
internal_ensure(struct tree_txn *x, int level, uint64_t index)
{
	struct node n;
	uint64_t id = ID_INTERNAL(level, index);
	int rc;

	if ((rc = node_get(x, id, &n)) != TREE_ENOTFOUND)
		return rc;
	if (level == 0) {
		terr(x->t, "%s", "keys/tree.mdb: the top node is missing");
		return -1;
	}
	if ((rc = internal_ensure(x, level - 1, index >> TREE_FANOUT_BITS)) !=
	    0)
		return rc;
	return node_create(x, id, TREE_KIND_INTERNAL,
	    ID_INTERNAL(level - 1, index >> TREE_FANOUT_BITS), NULL);
}

/* Allocate the next owner slot and create its node and path. */
static int
owner_new(struct tree_txn *x, int kind, uint64_t *node)
{
	uint64_t slot;
	int rc;

	if ((rc = meta_get(x, "next_slot", &slot)) != 0)
		return rc == TREE_ENOTFOUND ? -1 : rc;
	if (slot >= SLOT_MAX) {
		terr(x->t, "%s", "keys/tree.mdb: the tree is full");
		return -1;
	}
	if ((rc = internal_ensure(x, TREE_LEVELS - 1,
		 slot >> TREE_FANOUT_BITS)) != 0)
		return rc;
	if ((rc = node_create(x, ID_OWNER(slot), kind,
		 ID_INTERNAL(TREE_LEVELS - 1, slot >> TREE_FANOUT_BITS),
		 NULL)) != 0)
		return rc;
	if ((rc = meta_put(x, "next_slot", slot + 1)) != 0)
		return rc;
	*node = ID_OWNER(slot);
	return 0;
}

int
tree_id_hash(struct tree_txn *x, const char *domain, const char *s, size_t len,
    uint8_t out[32])
{
	uint8_t *k = SCR(x->t, SCR_HASH);
	crypto_generichash_state st;
	uint8_t dl = (uint8_t)strlen(domain);
	int rc;

	if ((rc = tree_system_key(x, TREE_SYS_IDHASH, k)) != 0) {
		sodium_memzero(k, TREE_KEY_BYTES);
		return rc == TREE_ENOTFOUND ? -1 : rc;
	}
	crypto_generichash_init(&st, k, TREE_KEY_BYTES, 32);
	crypto_generichash_update(&st, &dl, 1);
	crypto_generichash_update(&st, (const uint8_t *)domain, dl);
	crypto_generichash_update(&st, (const uint8_t *)s, len);
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(k, TREE_KEY_BYTES);
	sodium_memzero(&st, sizeof(st));
	return 0;
}

static int
user_lookup(struct tree_txn *x, const uint8_t h[32], uint64_t *node)
{
	MDB_val k = {32, (void *)(uintptr_t)h}, d;
	int rc;

	rc = mdb_get(x->txn, x->t->fence, &k, &d);
	if (rc == 0)
		return TREE_EFENCED;
	if (rc != MDB_NOTFOUND)
		return mdb_fail(x->t, rc);
	rc = mdb_get(x->txn, x->t->users, &k, &d);
	if (rc == MDB_NOTFOUND)
		return TREE_ENOTFOUND;
	if (rc != 0)
		return mdb_fail(x->t, rc);
	if (d.mv_size != 8) {
		terr(x->t, "%s", "keys/tree.mdb: corrupt user record");
		return -1;
	}
	*node = bytes_load64be(d.mv_data);
	return 0;
}

int
tree_user_find(struct tree_txn *x, const char *user, size_t len, uint64_t *node)
{
	uint8_t h[32];
	int rc;

	if ((rc = tree_id_hash(x, "user", user, len, h)) != 0)
		return rc;
	return user_lookup(x, h, node);
}

int
tree_user_ensure(struct tree_txn *x, const char *user, size_t len,
    uint64_t *node)
{
	uint8_t h[32], nb[8];
	MDB_val k = {32, h}, d = {8, nb};
	int rc;

	if ((rc = tree_id_hash(x, "user", user, len, h)) != 0)
		return rc;
	if ((rc = user_lookup(x, h, node)) != TREE_ENOTFOUND)
		return rc;
	if ((rc = owner_new(x, TREE_KIND_USER, node)) != 0)
		return rc;
	bytes_store64be(nb, *node);
	if ((rc = mdb_put(x->txn, x->t->users, &k, &d, 0)) != 0)
		return mdb_fail(x->t, rc);
	return 0;
}

int
tree_leaf_new(struct tree_txn *x, uint64_t owner, int kind,
    uint8_t key[TREE_KEY_BYTES], uint64_t *leaf)
{
	uint64_t seq;
	int rc;

	if ((rc = meta_get(x, "next_leaf", &seq)) != 0)
		return rc == TREE_ENOTFOUND ? -1 : rc;
	if ((rc = node_create(x, ID_LEAF(seq), kind, owner, key)) != 0)
		return rc;
	if ((rc = meta_put(x, "next_leaf", seq + 1)) != 0)
		return rc;
	*leaf = ID_LEAF(seq);
	return 0;
}

int
tree_audit_pubkey(struct tree_txn *x, uint8_t pk[32])
{
	uint8_t *seed = NULL, *sk = NULL;
	int rc = -1;

	seed = sodium_malloc(TREE_KEY_BYTES);
	sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (seed == NULL || sk == NULL) {
		terr(x->t, "%s", "out of secure memory");
		goto out;
	}
	if ((rc = tree_system_key(x, TREE_SYS_AUDIT, seed)) != 0)
		goto out;
	crypto_sign_seed_keypair(pk, sk, seed);
out:
	sodium_free(seed);
	sodium_free(sk);
	return rc;
}

static int
env_open(struct tree *t, const char *keysdir)
{
	char path[4096];
	MDB_txn *txn;
	int rc;

	if (snprintf(path, sizeof(path), "%s/tree.mdb", keysdir) >=
	    (int)sizeof(path)) {
		terr(t, "%s", "path too long");
		return -1;
	}
	if ((rc = mdb_env_create(&t->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(t->env, 12)) != 0 ||
	    (rc = mdb_env_set_assert(t->env, lmdbcheck_assert)) != 0 ||
	    (rc = mdb_env_set_mapsize(t->env, TREE_MAPSIZE)) != 0 ||
	    (rc = mdb_env_open(t->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600)) !=
		0)
		return mdb_fail(t, rc);
	t->map.env = t->env;
	if ((rc = mdb_txn_begin(t->env, NULL, 0, &txn)) != 0)
		return mdb_fail(t, rc);
	if ((rc = mdb_dbi_open(txn, "nodes", MDB_CREATE, &t->nodes)) != 0 ||
	    (rc = mdb_dbi_open(txn, "children",
		 MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED, &t->children)) != 0 ||
	    (rc = mdb_dbi_open(txn, "users", MDB_CREATE, &t->users)) != 0 ||
	    (rc = mdb_dbi_open(txn, "fence", MDB_CREATE, &t->fence)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &t->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "contracts", MDB_CREATE, &t->contracts)) !=
		0 ||
	    (rc = mdb_dbi_open(txn, "audit_pending", MDB_CREATE,
		 &t->pending)) != 0 ||
	    (rc = mdb_dbi_open(txn, "user_contracts",
		 MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED,
		 &t->user_contracts)) != 0) {
		mdb_txn_abort(txn);
		return mdb_fail(t, rc);
	}
	/* A failed commit ends the transaction itself. */
	if ((rc = mdb_txn_commit(txn)) != 0)
		return mdb_fail(t, rc);
	return 0;
}

static struct tree *
tree_alloc(void)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	/* One locked region: the root key, then the scratch slots. */
	t->rkey =
	    sodium_malloc(ROOT_KEY_BYTES + SCRATCH_SLOTS * TREE_KEY_BYTES);
	t->scratch = t->rkey != NULL ? t->rkey + ROOT_KEY_BYTES : NULL;
	if (t->rkey == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

int
tree_create(const char *keysdir, const char *pass, size_t passlen,
    struct tree **out, char *err, size_t errlen)
{
	struct tree *t;
	struct tree_txn *x = NULL;
	char path[4096];
	int i;

	if ((t = tree_alloc()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/root", keysdir);
	if (root_create(path, pass, passlen, t->rkey, &t->root, err, errlen) !=
	    0) {
		tree_close(t);
		return -1;
	}
	t->epoch = 1;
	if (env_open(t, keysdir) != 0)
		goto err;
	if (tree_begin(t, 1, &x) != 0)
		goto err;
	x->epoch = 1;
	if (meta_put(x, "format", 1) != 0 || meta_put(x, "epoch", 1) != 0 ||
	    meta_put(x, "next_slot", 0) != 0 ||
	    meta_put(x, "next_leaf", 0) != 0 ||
	    node_create(x, ID_TOP, TREE_KIND_INTERNAL, ID_ROOT, NULL) != 0)
		goto err;
	for (i = TREE_SYS_AUDIT; i <= TREE_SYS_IDHASH; i++)
		if (node_create(x, ID_SYSTEM(i), TREE_KIND_SYSTEM, ID_TOP,
			NULL) != 0)
			goto err;
	if (tree_commit(x) != 0) {
		x = NULL;
		goto err;
	}
	*out = t;
	return 0;
err:
	tree_abort(x);
	snprintf(err, errlen, "%s", t->err);
	tree_close(t);
	return -1;
}

int
tree_open(const char *keysdir, const char *pass, size_t passlen,
    struct tree **out, char *err, size_t errlen)
{
	struct tree *t;
	char path[4096];
	int rc;

	if ((t = tree_alloc()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/root", keysdir);
	rc = root_open(path, pass, passlen, &t->root, err, errlen);
	if (rc != 0) {
		tree_close(t);
		return rc == -2 ? TREE_ENOTFOUND : -1;
	}
	if (env_open(t, keysdir) != 0) {
		snprintf(err, errlen, "%s", t->err);
		tree_close(t);
		return -1;
	}
	*out = t;
	return 0;
}

void
tree_close(struct tree *t)
{
	if (t == NULL)
		return;
	(void)tree_settle(t);
	if (t->env != NULL)
		mdb_env_close(t->env);
	root_close(t->root);
	sodium_free(t->rkey); /* the scratch slots with it */
	free(t);
}

const char *
tree_errmsg(const struct tree *t)
{
	return t->err;
}

int
tree_map_size(struct tree *t, uint64_t bytes)
{
	int rc = lmdbgrow_initial(&t->map, bytes, TREE_MAPSIZE);

	return rc != 0 ? mdb_fail(t, rc) : 0;
}

int
tree_map_grow(struct tree *t)
{
	int grown, rc = lmdbgrow_after(&t->map, &grown);

	return rc != 0 ? mdb_fail(t, rc) : grown;
}

void
tree_map_stats(const struct tree *t, unsigned *grows, unsigned *fulls)
{
	*grows = t->map.grows;
	*fulls = t->map.fulls;
}

static void *
erase_thread(void *arg)
{
	struct tree *t = arg;

	t->erase_rc = root_erase_others(t->root, t->epoch, t->erase_err,
	    sizeof(t->erase_err));
	return NULL;
}

int
tree_settle(struct tree *t)
{
	if (!t->erasing)
		return 0;
	pthread_join(t->eraser, NULL);
	t->erasing = 0;
	if (t->erase_rc != 0) {
		snprintf(t->err, sizeof(t->err), "%s", t->erase_err);
		return -1;
	}
	return 0;
}

int
tree_begin(struct tree *t, int write, struct tree_txn **out)
{
	struct tree_txn *x;
	uint64_t epoch;
	int rc;

	if (tree_settle(t) != 0)
		return -1;
	if ((rc = lmdbgrow_prepare(&t->map, write)) != 0)
		return mdb_fail(t, rc);
	if (write && lmdbcheck_freelist(t->env) != 0) {
		terr(t, "%s",
		    "keys/tree.mdb: corrupt free-page list (refusing to write)");
		return -1;
	}

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		terr(t, "%s", "out of memory");
		return -1;
	}
	x->t = t;
	x->write = write;
	x->serial = ++t->serials;
	if ((rc = lmdbgrow_begin(&t->map, write ? 0 : MDB_RDONLY, &x->txn)) !=
	    0) {
		free(x);
		return mdb_fail(t, rc);
	}
	rc = meta_get(x, "epoch", &epoch);
	if (rc == TREE_ENOTFOUND && write && t->epoch == 1) {
		/* Being created. */
		x->epoch = 1;
		*out = x;
		return 0;
	}
	if (rc != 0) {
		if (rc == TREE_ENOTFOUND)
			terr(t, "%s", "keys/tree.mdb: no epoch (corrupt)");
		goto err;
	}
	x->epoch = epoch;
	if (epoch != t->epoch || t->epoch == 0) {
		if (root_load(t->root, epoch, t->rkey, t->err,
			sizeof(t->err)) != 0) {
			t->epoch = 0;
			goto err;
		}
		t->epoch = epoch;
	}
	if (write &&
	    root_erase_others(t->root, epoch, t->err, sizeof(t->err)) != 0)
		goto err;
	*out = x;
	return 0;
err:
	mdb_txn_abort(x->txn);
	free(x);
	lmdbgrow_end(&t->map);
	return -1;
}

int
tree_commit(struct tree_txn *x)
{
	struct tree *t = x->t;
	int rc;

	if (tree_settle(t) != 0) {
		tree_abort(x);
		return -1;
	}
	if (x->newroot != NULL) {
		/* Step 1: the new root in the free slot, synced. */
		if (root_write_next(t->root, x->epoch, x->newepoch, x->newroot,
			t->err, sizeof(t->err)) != 0) {
			tree_abort(x);
			return -1;
		}
	}
	if (x->write) {
		uint64_t n = 0;
		if (meta_get(x, "commits", &n) == -1 ||
		    meta_put(x, "commits", n + 1) != 0) {
			tree_abort(x);
			return -1;
		}
	}
	FAULT_POINT("tree-commit");
	/* Step 2: the commit makes the new epoch current. */
	rc = mdb_txn_commit(x->txn);
	x->txn = NULL;
	if (rc != 0) {
		tree_abort(x);
		return mdb_fail(t, rc);
	}
	FAULT_POINT("tree-committed");
	if (x->newroot != NULL) {
		memcpy(t->rkey, x->newroot, ROOT_KEY_BYTES);
		t->epoch = x->newepoch;
		tree_abort(x);
		/* Step 3: the old root overwritten in place, synced, while the
		 * caller goes on; tree_settle() waits for it. */
		t->erase_rc = 0;
		if (pthread_create(&t->eraser, NULL, erase_thread, t) == 0) {
			t->erasing = 1;
			return 0;
		}
		return root_erase_others(t->root, t->epoch, t->err,
		    sizeof(t->err));
	}
	tree_abort(x);
	return 0;
}

void
tree_abort(struct tree_txn *x)
{
	if (x == NULL)
		return;
	if (x->txn != NULL)
		mdb_txn_abort(x->txn);
	lmdbgrow_end(&x->t->map);
	sodium_free(x->newroot);
	free(x);
}

/* A node of the path being re-keyed, with its old and new keys. */
struct rekey {
	uint64_t id, oldgen, newgen;
	uint8_t *oldkey, *newkey; /* into a sodium_malloc'd area */
};

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int
rekey_cmp(const void *a, const void *b)
{
	return u64_cmp(&((const struct rekey *)a)->id,
	    &((const struct rekey *)b)->id);
}

static struct rekey *
rekey_find(struct rekey *r, size_t n, uint64_t id)
{
	struct rekey k = {.id = id};
	return bsearch(&k, r, n, sizeof(*r), rekey_cmp);
}

/* The children of ${id}, in a malloc'd array. */
static int
children_of(struct tree_txn *x, uint64_t id, uint64_t **out, size_t *n)
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, d;
	MDB_cursor *c;
	uint64_t *a = NULL;
	size_t cap = 0;
	int rc;

	*n = 0;
	bytes_store64be(kb, id);
	if ((rc = mdb_cursor_open(x->txn, x->t->children, &c)) != 0)
		return mdb_fail(x->t, rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_KEY); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT_DUP)) {
		if (d.mv_size != 8) {
			rc = -1;
			terr(x->t, "%s", "keys/tree.mdb: corrupt child link");
			break;
		}
		if (*n == cap) {
			uint64_t *na;
			cap = cap ? cap * 2 : 64;
			if ((na = realloc(a, cap * sizeof(*a))) == NULL) {
				rc = -1;
				terr(x->t, "%s", "out of memory");
				break;
			}
			a = na;
		}
		a[(*n)++] = bytes_load64be(d.mv_data);
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND) {
		if (rc > 0 || rc < -1)
			mdb_fail(x->t, rc);
		free(a);
		return -1;
	}
	*out = a;
	return 0;
}

/* Delete node ${id} and everything under it; count destroyed keys. */
static int
subtree_delete(struct tree_txn *x, uint64_t id, uint64_t *count, int depth)
{
	uint8_t kb[8];
	MDB_val k = {8, kb};
	uint64_t *kids = NULL;
	size_t n, i;
	int rc;

	if (depth > MAX_DEPTH) {
		terr(x->t, "%s", "keys/tree.mdb: subtree too deep (corrupt)");
		return -1;
	}
	if (children_of(x, id, &kids, &n) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (subtree_delete(x, kids[i], count, depth + 1) != 0) {
			free(kids);
			return -1;
		}
	free(kids);
	bytes_store64be(kb, id);
	rc = mdb_del(x->txn, x->t->children, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return mdb_fail(x->t, rc);
	rc = mdb_del(x->txn, x->t->nodes, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return mdb_fail(x->t, rc);
	if (rc == 0)
		(*count)++;
	return 0;
}

/*
 * Re-key every ancestor of ${ids} once and stage a new root; with
 * ${destroy}, delete ${ids} and their subtrees first (a shred), else leave
 * them (a rotation of a system node's key, already rewritten).
 */
static int rekey(struct tree_txn *x, const uint64_t *ids, size_t nids,
    struct tree_shred_stats *stats, int destroy);

int
tree_shred(struct tree_txn *x, const uint64_t *ids, size_t nids,
    struct tree_shred_stats *stats)
{
	return rekey(x, ids, nids, stats, 1);
}

int
tree_rotate_system(struct tree_txn *x, int which,
    const uint8_t key[TREE_KEY_BYTES], struct tree_shred_stats *stats)
{
	uint64_t id = ID_SYSTEM(which), tgen;
	uint8_t *tk = SCR(x->t, SCR_PARENT);
	struct node n;
	int rc;

	if ((rc = node_get(x, id, &n)) != 0)
		return rc == TREE_ENOTFOUND ? -1 : rc;
	if ((rc = node_key_depth(x, ID_TOP, tk, &tgen, 0)) != 0)
		goto out;
	/* The new key, wrapped under the top's current key... */
	if ((rc = node_put(x, id, TREE_KIND_SYSTEM, ID_TOP, tk, tgen, key,
		 n.gen + 1, NULL, 0, 0)) != 0)
		goto out;
	sodium_memzero(tk, TREE_KEY_BYTES);
	/* ...then the top re-keyed and a new root: every old copy of the
	 * node, with the old key, was wrapped under keys that go now. */
	rc = rekey(x, &id, 1, stats, 0);
out:
	sodium_memzero(tk, TREE_KEY_BYTES);
	return rc;
}

static int
rekey(struct tree_txn *x, const uint64_t *ids, size_t nids,
    struct tree_shred_stats *stats, int destroy)
{
	struct tree *t = x->t;
	struct rekey *rk = NULL;
	uint64_t *anc = NULL, *kids = NULL;
	uint8_t *area = NULL, *ck = NULL;
	size_t nanc = 0, capanc = 0, nrk = 0, i, j, nkids;
	struct node n;
	int rc = -1;

	stats->destroyed = stats->rekeyed = stats->wraps = 0;
	stats->nfp = 0;
	stats->epoch_before = x->epoch;
	stats->epoch_after = x->epoch;
	if (nids == 0)
		return 0;
	if (x->newroot != NULL) {
		terr(t, "%s", "one root change per transaction");
		return -1;
	}
	/* 1. Every ancestor of every shredded node, once. */
	for (i = 0; i < nids; i++) {
		uint64_t id = ids[i];
		if ((rc = node_get(x, id, &n)) != 0) {
			if (rc == TREE_ENOTFOUND)
				continue; /* already gone */
			goto out;
		}
		if (destroy &&
		    (id == ID_TOP || n.kind == TREE_KIND_SYSTEM ||
			n.kind == TREE_KIND_INTERNAL)) {
			terr(t, "%s", "refusing to shred a structural node");
			rc = -1;
			goto out;
		}
		for (int d = 0; n.parent != ID_ROOT; d++) {
			uint64_t p = n.parent;
			if (d > MAX_DEPTH) {
				terr(t, "%s", "keys/tree.mdb: loop (corrupt)");
				rc = -1;
				goto out;
			}
			if (nanc == capanc) {
				uint64_t *na;
				capanc = capanc ? capanc * 2 : 16;
				na = realloc(anc, capanc * sizeof(*anc));
				if (na == NULL) {
					terr(t, "%s", "out of memory");
					rc = -1;
					goto out;
				}
				anc = na;
			}
			anc[nanc++] = p;
			if ((rc = node_get(x, p, &n)) != 0) {
				if (rc == TREE_ENOTFOUND)
					terr(t, "%s",
					    "keys/tree.mdb: missing parent");
				rc = -1;
				goto out;
			}
		}
	}
	if (nanc == 0) {
		rc = 0; /* nothing existed */
		goto out;
	}
	qsort(anc, nanc, sizeof(*anc), u64_cmp);
	for (i = 0, j = 0; i < nanc; i++)
		if (j == 0 || anc[j - 1] != anc[i])
			anc[j++] = anc[i];
	nanc = j;
	/* 2. Old keys of the ancestors (before anything changes), new keys. */
	rk = calloc(nanc, sizeof(*rk));
	area = sodium_malloc(nanc * 2 * TREE_KEY_BYTES);
	ck = sodium_malloc(TREE_KEY_BYTES);
	if (rk == NULL || area == NULL || ck == NULL) {
		terr(t, "%s", "out of memory");
		rc = -1;
		goto out;
	}
	for (i = 0; i < nanc; i++) {
		rk[i].id = anc[i];
		rk[i].oldkey = area + 2 * i * TREE_KEY_BYTES;
		rk[i].newkey = rk[i].oldkey + TREE_KEY_BYTES;
		if ((rc = node_key_depth(x, anc[i], rk[i].oldkey, &rk[i].oldgen,
			 0)) != 0) {
			if (rc == TREE_ENOTFOUND)
				rc = -1;
			goto out;
		}
		rk[i].newgen = rk[i].oldgen + 1;
		randombytes_buf(rk[i].newkey, TREE_KEY_BYTES);
	}
	nrk = nanc;
	/* Fingerprints of the keys about to go, for the audit log. */
	for (i = 0; destroy && i < nids && stats->fp != NULL &&
	     stats->nfp < stats->fpmax;
	     i++) {
		if (tree_fingerprint(x, ids[i], stats->fp + 16 * stats->nfp) ==
		    0)
			stats->nfp++;
	}
	/* 3. Destroy the shredded subtrees and their links. */
	for (i = 0; destroy && i < nids; i++) {
		uint8_t pb[8], kb[8];
		MDB_val pk = {8, pb}, kk = {8, kb};
		if ((rc = node_get(x, ids[i], &n)) == TREE_ENOTFOUND)
			continue;
		if (rc != 0)
			goto out;
		bytes_store64be(pb, n.parent);
		bytes_store64be(kb, ids[i]);
		rc = mdb_del(x->txn, t->children, &pk, &kk);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			rc = mdb_fail(t, rc);
			goto out;
		}
		if ((rc = subtree_delete(x, ids[i], &stats->destroyed, 0)) != 0)
			goto out;
	}
	/* 4. Each ancestor's remaining children, rewrapped under its new key. */
	for (i = 0; i < nrk; i++) {
		if ((rc = children_of(x, rk[i].id, &kids, &nkids)) != 0)
			goto out;
		for (j = 0; j < nkids; j++) {
			struct rekey *c = rekey_find(rk, nrk, kids[j]);
			uint8_t adh[32];
			crypto_generichash_state st;
			if (node_get(x, kids[j], &n) != 0) {
				rc = -1;
				terr(t, "%s", "keys/tree.mdb: dangling child");
				goto out;
			}
			if (n.pgen != rk[i].oldgen) {
				rc = -1;
				terr(t, "%s", "keys/tree.mdb: stale child");
				goto out;
			}
			if (c != NULL) {
				memcpy(ck, c->newkey, TREE_KEY_BYTES);
			} else {
				node_ad(&st, kids[j], n.rec, n.attrslen);
				crypto_generichash_final(&st, adh, 32);
				if (crypto_aead_xchacha20poly1305_ietf_decrypt(
					ck, NULL, NULL,
					n.rec + REC_HDR + REC_NONCE, REC_CT,
					adh, 32, n.rec + REC_HDR,
					rk[i].oldkey) != 0) {
					rc = -1;
					terr(t, "%s",
					    "keys/tree.mdb: a node does not "
					    "open (corrupt)");
					goto out;
				}
			}
			{
				uint8_t attrs[ATTRS_MAX];
				size_t al = n.attrslen;
				int kind = n.kind;
				memcpy(attrs, n.rec + REC_FIXED, al);
				rc = node_put(x, kids[j], kind, rk[i].id,
				    rk[i].newkey, rk[i].newgen, ck,
				    c != NULL ? c->newgen : n.gen, attrs, al,
				    0);
			}
			sodium_memzero(ck, TREE_KEY_BYTES);
			if (rc != 0)
				goto out;
			stats->wraps++;
		}
		free(kids);
		kids = NULL;
	}
	/* 5. The top under a new root, at the next epoch. */
	if ((x->newroot = sodium_malloc(ROOT_KEY_BYTES)) == NULL) {
		terr(t, "%s", "out of secure memory");
		rc = -1;
		goto out;
	}
	randombytes_buf(x->newroot, ROOT_KEY_BYTES);
	x->newepoch = x->epoch + 1;
	{
		struct rekey *top = rekey_find(rk, nrk, ID_TOP);
		if (top == NULL || node_get(x, ID_TOP, &n) != 0) {
			terr(t, "%s", "keys/tree.mdb: the top node is missing");
			rc = -1;
			goto out;
		}
		if ((rc = node_put(x, ID_TOP, TREE_KIND_INTERNAL, ID_ROOT,
			 x->newroot, x->newepoch, top->newkey, top->newgen,
			 NULL, 0, 0)) != 0)
			goto out;
	}
	stats->wraps++;
	stats->rekeyed = nrk;
	if ((rc = meta_put(x, "epoch", x->newepoch)) != 0)
		goto out;
	stats->epoch_after = x->newepoch;
	rc = 0;
out:
	if (rc != 0 && x->newroot != NULL) {
		sodium_free(x->newroot);
		x->newroot = NULL;
	}
	free(kids);
	free(anc);
	free(rk);
	sodium_free(area);
	sodium_free(ck);
	return rc;
}

int
tree_user_shred(struct tree_txn *x, const char *user, size_t len,
    struct tree_shred_stats *stats)
{
	uint8_t h[32], tb[8];
	MDB_val k = {32, h}, d = {8, tb};
	uint64_t node = 0;
	int rc, found;

	stats->destroyed = stats->rekeyed = stats->wraps = 0;
	stats->nfp = 0;
	stats->epoch_before = stats->epoch_after = x->epoch;
	if ((rc = tree_id_hash(x, "user", user, len, h)) != 0)
		return rc;
	rc = user_lookup(x, h, &node);
	if (rc == TREE_EFENCED)
		return TREE_EFENCED;
	if (rc != 0 && rc != TREE_ENOTFOUND)
		return rc;
	found = rc == 0;
	/* The fence: it outlives the mapping, and refuses the id for good. */
	bytes_store64(tb, (uint64_t)time(NULL));
	if ((rc = mdb_put(x->txn, x->t->fence, &k, &d, 0)) != 0)
		return mdb_fail(x->t, rc);
	if (!found)
		return 0; /* never sealed anything: fenced only */
	if ((rc = mdb_del(x->txn, x->t->users, &k, NULL)) != 0)
		return mdb_fail(x->t, rc);
	return tree_shred(x, &node, 1, stats);
}

int
tree_leaves(struct tree_txn *x,
    int (*fn)(void *ctx, uint64_t id, int kind, uint64_t parent), void *ctx)
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, d;
	MDB_cursor *c;
	struct node n;
	int rc, mrc;

	bytes_store64be(kb, ID_LEAF(0));
	if ((mrc = mdb_cursor_open(x->txn, x->t->nodes, &c)) != 0)
		return mdb_fail(x->t, mrc);
	rc = 0;
	for (mrc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); mrc == 0;
	     mrc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		uint64_t id;
		if (k.mv_size != 8) {
			rc = -1;
			terr(x->t, "%s", "keys/tree.mdb: corrupt node key");
			break;
		}
		id = bytes_load64be(k.mv_data);
		if ((rc = node_get(x, id, &n)) != 0 ||
		    (rc = fn(ctx, id, n.kind, n.parent)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc == 0 && mrc != MDB_NOTFOUND)
		return mdb_fail(x->t, mrc);
	return rc;
}

int
tree_meta_get(struct tree_txn *x, const char *name, uint64_t *v)
{
	return meta_get(x, name, v);
}

int
tree_meta_put(struct tree_txn *x, const char *name, uint64_t v)
{
	return meta_put(x, name, v);
}

uint64_t
tree_epoch(const struct tree_txn *x)
{
	return x->epoch;
}

int
tree_record_plausible(const uint8_t *p, size_t avail, size_t *reclen)
{
	uint64_t id, parent;
	const uint8_t *r = p + 8;
	size_t attrs;
	int top;

	if (avail < 8 + REC_FIXED)
		return 0;
	id = bytes_load64be(p);
	top = (int)(id >> 56);
	switch (top) {
	case 1: /* internal: level 0..3, index < 64^level */
		if (((id >> 48) & 0xff) >= TREE_LEVELS ||
		    (id & 0xffffffffffffULL) >=
			(1ULL << (TREE_FANOUT_BITS * ((id >> 48) & 0xff))))
			return 0;
		break;
	case 2:
		if ((id & 0xffffffffffffffULL) < TREE_SYS_AUDIT ||
		    (id & 0xffffffffffffffULL) > TREE_SYS_IDHASH)
			return 0;
		break;
	case 3:
		if ((id & 0xffffffffffffffULL) >= SLOT_MAX)
			return 0;
		break;
	case 4:
		if ((id & 0xffffffffffffffULL) >= (1ULL << 48))
			return 0;
		break;
	default:
		return 0;
	}
	if (r[0] != 1 || r[1] < TREE_KIND_INTERNAL || r[1] > TREE_KIND_ARCHIVE)
		return 0;
	attrs = bytes_load16(r + 2);
	parent = bytes_load64(r + 4);
	if (attrs > ATTRS_MAX || avail < 8 + REC_FIXED + attrs)
		return 0;
	if (parent != ID_ROOT && (parent >> 56) != 1 && (parent >> 56) != 3)
		return 0;
	if (bytes_load64(r + 12) == 0 || bytes_load64(r + 20) == 0)
		return 0;
	*reclen = REC_FIXED + attrs;
	return 1;
}

int
tree_record_is_current(struct tree_txn *x, uint64_t id, const uint8_t *rec,
    size_t len)
{
	struct node n;

	if (node_get(x, id, &n) != 0)
		return 0;
	return len == REC_FIXED + n.attrslen && memcmp(n.rec, rec, len) == 0;
}

int
tree_parent_key(struct tree_txn *x, uint64_t parent,
    uint8_t key[TREE_KEY_BYTES])
{
	if (parent == ID_ROOT) {
		(void)txn_root(x, key);
		return 0;
	}
	return node_key_depth(x, parent, key, NULL, 0);
}

int
tree_record_opens(uint64_t id, const uint8_t *rec, size_t len,
    const uint8_t key[TREE_KEY_BYTES], uint8_t *out)
{
	uint8_t k[TREE_KEY_BYTES], adh[32];
	crypto_generichash_state st;
	int ok;

	if (len < REC_FIXED || len != (size_t)REC_FIXED + bytes_load16(rec + 2))
		return 0;
	node_ad(&st, id, rec, len - REC_FIXED);
	crypto_generichash_final(&st, adh, 32);
	ok = crypto_aead_xchacha20poly1305_ietf_decrypt(k, NULL, NULL,
		 rec + REC_HDR + REC_NONCE, REC_CT, adh, 32, rec + REC_HDR,
		 key) == 0;
	if (ok && out != NULL)
		memcpy(out, k, TREE_KEY_BYTES);
	sodium_memzero(k, sizeof(k));
	return ok;
}

int
tree_root_clean(struct tree_txn *x)
{
	return root_only(x->t->root, x->epoch);
}

/*
 * Contracts.  A (user, contract) pair has an owner node of kind
 * TREE_KIND_ARCHIVE_OWNER (AK) whose attributes, authenticated with its
 * wrapping, hold the contract's state (docs/FORMAT.md):
 *   0 version (1), 1 flags (bit 0: ended), 2 holds (u16 LE),
 *   4 end day (i32 LE, days since 1970-01-01), 8 retain-until day (i32 LE)
 */
#define CONTRACT_ATTRS 12

static void
contract_encode(const struct tree_contract *c, uint8_t a[CONTRACT_ATTRS])
{
	a[0] = 1;
	a[1] = c->ended ? 1 : 0;
	bytes_store16(a + 2, (uint16_t)c->holds);
	bytes_store32(a + 4, (uint32_t)c->end_day);
	bytes_store32(a + 8, (uint32_t)c->retain_until);
}

/* Read and authenticate the state of contract node ${node}. */
int
tree_contract_get(struct tree_txn *x, uint64_t node, struct tree_contract *c)
{
	struct node n;
	uint8_t *k = SCR(x->t, SCR_NEW);
	int rc;

	if ((rc = node_get(x, node, &n)) != 0)
		return rc;
	if (n.kind != TREE_KIND_ARCHIVE_OWNER || n.attrslen != CONTRACT_ATTRS ||
	    n.rec[REC_FIXED] != 1) {
		terr(x->t, "keys/tree.mdb: node %016llx is not a contract",
		    (unsigned long long)node);
		return -1;
	}
	/* Unwrapping is what authenticates the attributes. */
	rc = node_key_depth(x, node, k, NULL, 0);
	sodium_memzero(k, TREE_KEY_BYTES);
	if (rc != 0)
		return rc == TREE_ENOTFOUND ? -1 : rc;
	if ((rc = node_get(x, node, &n)) != 0)
		return rc;
	c->node = node;
	c->ended = n.rec[REC_FIXED + 1] & 1;
	c->holds = bytes_load16(n.rec + REC_FIXED + 2);
	c->end_day = (int32_t)bytes_load32(n.rec + REC_FIXED + 4);
	c->retain_until = (int32_t)bytes_load32(n.rec + REC_FIXED + 8);
	return 0;
}

int
tree_contract_set(struct tree_txn *x, const struct tree_contract *c)
{
	struct node n;
	uint8_t *k = SCR(x->t, SCR_NEW), *pk = SCR(x->t, SCR_PARENT);
	uint8_t attrs[CONTRACT_ATTRS];
	uint64_t pgen;
	int rc;

	if ((rc = node_get(x, c->node, &n)) != 0)
		return rc;
	if ((rc = node_key_depth(x, c->node, k, NULL, 0)) != 0 ||
	    (rc = node_key_depth(x, n.parent, pk, &pgen, 0)) != 0)
		goto out;
	if ((rc = node_get(x, c->node, &n)) != 0)
		goto out;
	contract_encode(c, attrs);
	rc = node_put(x, c->node, TREE_KIND_ARCHIVE_OWNER, n.parent, pk, pgen,
	    k, n.gen, attrs, CONTRACT_ATTRS, 0);
out:
	sodium_memzero(k, TREE_KEY_BYTES);
	sodium_memzero(pk, TREE_KEY_BYTES);
	return rc == TREE_ENOTFOUND ? -1 : rc;
}

static int
contract_hash(struct tree_txn *x, const char *user, size_t ulen,
    const char *contract, size_t clen, uint8_t h[32])
{
	char buf[2 * 256 + 2];

	if (ulen > 256 || clen > 256) {
		terr(x->t, "%s", "id too long");
		return -1;
	}
	memcpy(buf, user, ulen);
	buf[ulen] = '\0';
	memcpy(buf + ulen + 1, contract, clen);
	return tree_id_hash(x, "contract", buf, ulen + 1 + clen, h);
}

int
tree_contract_find(struct tree_txn *x, const char *user, size_t ulen,
    const char *contract, size_t clen, struct tree_contract *c)
{
	uint8_t h[32];
	MDB_val k = {32, h}, d;
	int rc;

	if ((rc = contract_hash(x, user, ulen, contract, clen, h)) != 0)
		return rc;
	rc = mdb_get(x->txn, x->t->contracts, &k, &d);
	if (rc == MDB_NOTFOUND)
		return TREE_ENOTFOUND;
	if (rc != 0)
		return mdb_fail(x->t, rc);
	if (d.mv_size != 8) {
		terr(x->t, "%s", "keys/tree.mdb: corrupt contract record");
		return -1;
	}
	/* A swept contract's lookup stays, naming a node that is gone. */
	return tree_contract_get(x, bytes_load64be(d.mv_data), c);
}

int
tree_contract_ensure(struct tree_txn *x, const char *user, size_t ulen,
    const char *contract, size_t clen, struct tree_contract *c)
{
	uint8_t h[32], uh[32], nb[8];
	MDB_val k = {32, h}, uk = {32, uh}, d = {8, nb};
	uint64_t node;
	int rc;

	rc = tree_contract_find(x, user, ulen, contract, clen, c);
	if (rc != TREE_ENOTFOUND)
		return rc;
	/* A lookup naming a node that is gone: the contract was swept. */
	if ((rc = contract_hash(x, user, ulen, contract, clen, h)) != 0)
		return rc;
	{
		MDB_val old;
		int mrc = mdb_get(x->txn, x->t->contracts, &k, &old);
		if (mrc == 0)
			return TREE_EFENCED;
		if (mrc != MDB_NOTFOUND)
			return mdb_fail(x->t, mrc);
	}
	if ((rc = contract_hash(x, user, ulen, contract, clen, h)) != 0 ||
	    (rc = tree_id_hash(x, "user", user, ulen, uh)) != 0 ||
	    (rc = owner_new(x, TREE_KIND_ARCHIVE_OWNER, &node)) != 0)
		return rc;
	memset(c, 0, sizeof(*c));
	c->node = node;
	if ((rc = tree_contract_set(x, c)) != 0)
		return rc;
	bytes_store64be(nb, node);
	if ((rc = mdb_put(x->txn, x->t->contracts, &k, &d, 0)) != 0 ||
	    (rc = mdb_put(x->txn, x->t->user_contracts, &uk, &d, 0)) != 0)
		return mdb_fail(x->t, rc);
	return 0;
}

int
tree_contracts_of_user(struct tree_txn *x, const char *user, size_t ulen,
    int (*fn)(void *ctx, struct tree_contract *c), void *ctx)
{
	uint8_t uh[32];
	MDB_val k = {32, uh}, d;
	MDB_cursor *cur;
	struct tree_contract c;
	uint64_t *nodes = NULL;
	size_t n = 0, cap = 0;
	int rc, mrc;

	if ((rc = tree_id_hash(x, "user", user, ulen, uh)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(x->txn, x->t->user_contracts, &cur)) != 0)
		return mdb_fail(x->t, mrc);
	for (mrc = mdb_cursor_get(cur, &k, &d, MDB_SET_KEY); mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT_DUP)) {
		if (d.mv_size != 8)
			continue;
		if (n == cap) {
			uint64_t *nn;
			cap = cap ? cap * 2 : 16;
			if ((nn = realloc(nodes, cap * sizeof(*nn))) == NULL) {
				mdb_cursor_close(cur);
				free(nodes);
				terr(x->t, "%s", "out of memory");
				return -1;
			}
			nodes = nn;
		}
		nodes[n++] = bytes_load64be(d.mv_data);
	}
	mdb_cursor_close(cur);
	if (mrc != MDB_NOTFOUND) {
		free(nodes);
		return mdb_fail(x->t, mrc);
	}
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = tree_contract_get(x, nodes[i], &c);
		if (rc == TREE_ENOTFOUND) { /* swept */
			rc = 0;
			continue;
		}
		if (rc == 0)
			rc = fn(ctx, &c);
	}
	free(nodes);
	return rc;
}

int
tree_contracts_all(struct tree_txn *x,
    int (*fn)(void *ctx, struct tree_contract *c), void *ctx)
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, d;
	MDB_cursor *cur;
	struct tree_contract c;
	uint64_t *nodes = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, mrc;

	bytes_store64be(kb, ID_OWNER(0));
	if ((mrc = mdb_cursor_open(x->txn, x->t->nodes, &cur)) != 0)
		return mdb_fail(x->t, mrc);
	for (mrc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const uint8_t *r = d.mv_data;
		if (k.mv_size != 8 || bytes_load64be(k.mv_data) >= ID_LEAF(0))
			break;
		if (d.mv_size < 2 || r[1] != TREE_KIND_ARCHIVE_OWNER)
			continue;
		if (n == cap) {
			uint64_t *nn;
			cap = cap ? cap * 2 : 256;
			if ((nn = realloc(nodes, cap * sizeof(*nn))) == NULL) {
				rc = -1;
				terr(x->t, "%s", "out of memory");
				break;
			}
			nodes = nn;
		}
		nodes[n++] = bytes_load64be(k.mv_data);
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = mdb_fail(x->t, mrc);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if ((rc = tree_contract_get(x, nodes[i], &c)) == 0)
			rc = fn(ctx, &c);
	}
	free(nodes);
	return rc;
}

int
tree_node_exists(struct tree_txn *x, uint64_t id)
{
	struct node n;
	int rc = node_get(x, id, &n);

	return rc == 0 ? 1 : (rc == TREE_ENOTFOUND ? 0 : -1);
}

int
tree_is_child(struct tree_txn *x, uint64_t parent, uint64_t child)
{
	uint8_t pb[8], cb[8];
	MDB_val k = {8, pb}, d = {8, cb};
	MDB_cursor *c;
	int rc;

	bytes_store64be(pb, parent);
	bytes_store64be(cb, child);
	if ((rc = mdb_cursor_open(x->txn, x->t->children, &c)) != 0)
		return mdb_fail(x->t, rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_GET_BOTH);
	mdb_cursor_close(c);
	if (rc == 0)
		return 1;
	if (rc == MDB_NOTFOUND)
		return 0;
	return mdb_fail(x->t, rc);
}

uint64_t
tree_last_txnid(struct tree *t)
{
	MDB_txn *txn;
	MDB_val k = {7, "commits"}, d;
	uint64_t n = 0;

	/* Our own counter, not LMDB's transaction id: mdb_copy -c (a
	 * compaction) keeps the former and resets the latter. */
	if (lmdbgrow_begin(&t->map, MDB_RDONLY, &txn) != 0)
		return 0;
	if (mdb_get(txn, t->meta, &k, &d) == 0 && d.mv_size == 8)
		n = bytes_load64(d.mv_data);
	mdb_txn_abort(txn);
	lmdbgrow_end(&t->map);
	return n;
}

int
tree_fingerprint(struct tree_txn *x, uint64_t id, uint8_t fp[16])
{
	uint8_t *k = SCR(x->t, SCR_NEW), *hk = SCR(x->t, SCR_PARENT);
	uint8_t idb[8];
	crypto_generichash_state st;
	int rc;

	if ((rc = node_key_depth(x, id, k, NULL, 0)) != 0)
		goto out;
	if ((rc = tree_system_key(x, TREE_SYS_IDHASH, hk)) != 0)
		goto out;
	bytes_store64(idb, id);
	crypto_generichash_init(&st, hk, TREE_KEY_BYTES, 16);
	crypto_generichash_update(&st, (const uint8_t *)"fingerprint", 11);
	crypto_generichash_update(&st, idb, 8);
	crypto_generichash_update(&st, k, TREE_KEY_BYTES);
	crypto_generichash_final(&st, fp, 16);
	sodium_memzero(&st, sizeof(st));
out:
	sodium_memzero(k, TREE_KEY_BYTES);
	sodium_memzero(hk, TREE_KEY_BYTES);
	return rc;
}

int
tree_pending_put(struct tree_txn *x, uint64_t seq, const char *line, size_t len,
    uint64_t logged)
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, d = {len, (void *)(uintptr_t)line};
	MDB_cursor *c;
	int rc;

	/* Entries before this one were appended to the log already. */
	if ((rc = mdb_cursor_open(x->txn, x->t->pending, &c)) != 0)
		return mdb_fail(x->t, rc);
	for (;;) {
		if ((rc = mdb_cursor_get(c, &k, &d, MDB_FIRST)) != 0)
			break;
		if (k.mv_size != 8 || bytes_load64be(k.mv_data) > logged)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return mdb_fail(x->t, rc);
	bytes_store64be(kb, seq);
	k.mv_size = 8;
	k.mv_data = kb;
	d.mv_size = len;
	d.mv_data = (void *)(uintptr_t)line;
	if ((rc = mdb_put(x->txn, x->t->pending, &k, &d, 0)) != 0)
		return mdb_fail(x->t, rc);
	return 0;
}

int
tree_pending_get(struct tree_txn *x, uint64_t seq, const char **line,
    size_t *len)
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, d;
	int rc;

	bytes_store64be(kb, seq);
	rc = mdb_get(x->txn, x->t->pending, &k, &d);
	if (rc == MDB_NOTFOUND)
		return TREE_ENOTFOUND;
	if (rc != 0)
		return mdb_fail(x->t, rc);
	*line = d.mv_data;
	*len = d.mv_size;
	return 0;
}

int
tree_node_parent(struct tree_txn *x, uint64_t id, uint64_t *parent)
{
	struct node n;
	int rc = node_get(x, id, &n);

	if (rc == 0)
		*parent = n.parent;
	return rc;
}

uint64_t
tree_txn_serial(const struct tree_txn *x)
{
	return x->serial;
}

int
tree_pending_first(struct tree_txn *x, uint64_t *seq)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(x->txn, x->t->pending, &c)) != 0)
		return mdb_fail(x->t, rc);
	rc = mdb_cursor_get(c, &k, &d, MDB_FIRST);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		return TREE_ENOTFOUND;
	if (rc != 0)
		return mdb_fail(x->t, rc);
	if (k.mv_size != 8) {
		terr(x->t, "%s", "keys/tree.mdb: corrupt pending audit key");
		return -1;
	}
	*seq = bytes_load64be(k.mv_data);
	return 0;
}

#ifdef COFFRE_FUZZING
/*
 * For fuzz/fuzz_records.c only (the fuzz build defines COFFRE_FUZZING):
 * put raw bytes under a raw key in table ${table} (0 nodes, 1 children,
 * 2 users, 3 fence, 4 meta, 5 contracts, 6 user_contracts, 7
 * audit_pending) of write transaction ${x}, or delete the key with ${del},
 * as a damaged file could hold them.  0, or an LMDB error code (-1 for an
 * unknown table).
 */
int tree_fuzz_raw(struct tree_txn *x, int table, const void *key, size_t klen,
    const void *val, size_t vlen, int del);

int
tree_fuzz_raw(struct tree_txn *x, int table, const void *key, size_t klen,
    const void *val, size_t vlen, int del)
{
	const MDB_dbi dbi[] = {x->t->nodes, x->t->children, x->t->users,
	    x->t->fence, x->t->meta, x->t->contracts, x->t->user_contracts,
	    x->t->pending};
	MDB_val k = {klen, (void *)(uintptr_t)key};
	MDB_val v = {vlen, (void *)(uintptr_t)val};

	if (table < 0 || table >= (int)(sizeof(dbi) / sizeof(dbi[0])))
		return -1;
	return del ? mdb_del(x->txn, dbi[table], &k, NULL)
		   : mdb_put(x->txn, dbi[table], &k, &v, 0);
}
#endif
