/*
 * test_tree.c: keys/tree.c, the key tree in DIR/keys/tree.mdb.  Creation,
 * user nodes, leaves, a tree wide enough to fill several internal nodes,
 * the id hash, the meta settings, shredding, and the must-fail cases: a
 * node record changed or moved through LMDB directly, a root file from
 * another tree, a missing node.
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
#include "keys/tree.h"

#include "testutil.h"

#define NUSERS 5000

struct fx {
	char dir[TU_PATH_MAX];
	char keys[TU_PATH_MAX];
	struct tree *t;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512];

	if (f == NULL)
		return -1;
	tu_tmpdir(f->dir);
	tu_path(f->keys, f->dir, "keys");
	assert_int_equal(mkdir(f->keys, 0700), 0);
	if (tree_create(f->keys, NULL, 0, &f->t, err, sizeof(err)) != 0)
		fail_msg("tree_create: %s", err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tree_close(f->t);
	tu_rmrf(f->dir);
	free(f);
	return 0;
}

static void
reopen(struct fx *f)
{
	char err[512];

	tree_close(f->t);
	f->t = NULL;
	if (tree_open(f->keys, NULL, 0, &f->t, err, sizeof(err)) != 0)
		fail_msg("tree_open: %s", err);
}

static struct tree_txn *
begin(struct fx *f, int write)
{
	struct tree_txn *x = NULL;

	if (tree_begin(f->t, write, &x) != 0)
		fail_msg("tree_begin: %s", tree_errmsg(f->t));
	return x;
}

static void
commit(struct fx *f, struct tree_txn *x)
{
	if (tree_commit(x) != 0)
		fail_msg("tree_commit: %s", tree_errmsg(f->t));
}

static uint64_t
user_node(struct fx *f, const char *user)
{
	struct tree_txn *x = begin(f, 1);
	uint64_t n = 0;

	assert_int_equal(tree_user_ensure(x, user, strlen(user), &n), 0);
	commit(f, x);
	return n;
}

/* A new leaf under ${owner}; its key into ${key}. */
static uint64_t
leaf_new(struct fx *f, uint64_t owner, uint8_t key[TREE_KEY_BYTES])
{
	struct tree_txn *x = begin(f, 1);
	uint64_t leaf = 0;

	assert_int_equal(tree_leaf_new(x, owner, TREE_KIND_DOC, key, &leaf), 0);
	commit(f, x);
	return leaf;
}

static int
node_key(struct fx *f, uint64_t id, uint8_t key[TREE_KEY_BYTES])
{
	struct tree_txn *x = begin(f, 0);
	int rc = tree_node_key(x, id, key);

	tree_abort(x);
	return rc;
}

/*
 * Direct LMDB access to DIR/keys/tree.mdb, the tree closed (LMDB forbids
 * two environments on one file in a process).  get: the record of ${id}
 * into ${buf}; put: replace it (or write it under another id).
 */
static MDB_env *
raw_open(struct fx *f, MDB_txn **txn, MDB_dbi *dbi, unsigned flags)
{
	char p[TU_PATH_MAX];
	MDB_env *env;

	tu_path(p, f->keys, "tree.mdb");
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64ULL << 30), 0);
	assert_int_equal(mdb_env_open(env, p, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, flags, txn), 0);
	assert_int_equal(mdb_dbi_open(*txn, "nodes", 0, dbi), 0);
	return env;
}

static size_t
raw_get(struct fx *f, uint64_t id, uint8_t *buf, size_t cap)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env = raw_open(f, &txn, &dbi, MDB_RDONLY);
	uint8_t kb[8];
	MDB_val k = {8, kb}, v;

	bytes_store64be(kb, id);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_true(v.mv_size <= cap);
	memcpy(buf, v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return v.mv_size;
}

static void
raw_put(struct fx *f, uint64_t id, const uint8_t *buf, size_t len)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env = raw_open(f, &txn, &dbi, 0);
	uint8_t kb[8];
	MDB_val k = {8, kb}, v = {len, (void *)(uintptr_t)buf};

	bytes_store64be(kb, id);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
test_create_open(void **state)
{
	struct fx *f = *state;
	struct tree *t2 = NULL;
	struct tree_txn *x;
	uint8_t k1[TREE_KEY_BYTES], k2[TREE_KEY_BYTES], pk1[32], pk2[32];
	char p[TU_PATH_MAX], err[512];
	int i;

	tu_path(p, f->keys, "root");
	assert_int_equal(tu_size(p), 320);
	tu_path(p, f->keys, "tree.mdb");
	assert_true(tu_size(p) > 0);
	x = begin(f, 0);
	assert_int_equal(tree_epoch(x), 1);
	assert_int_equal(tree_system_key(x, TREE_SYS_INDEX, k1), 0);
	assert_int_equal(tree_audit_pubkey(x, pk1), 0);
	for (i = TREE_SYS_AUDIT; i <= TREE_SYS_IDHASH; i++)
		assert_int_equal(tree_system_key(x, i, k2), 0);
	assert_int_equal(tree_system_key(x, 99, k2), TREE_ENOTFOUND);
	tree_abort(x);

	/* The same keys after a reopen. */
	reopen(f);
	x = begin(f, 0);
	assert_int_equal(tree_epoch(x), 1);
	assert_int_equal(tree_system_key(x, TREE_SYS_INDEX, k2), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	assert_int_equal(tree_audit_pubkey(x, pk2), 0);
	assert_memory_equal(pk1, pk2, sizeof(pk1));
	tree_abort(x);

	/* No root file: TREE_ENOTFOUND; a second create is refused. */
	tu_path(p, f->dir, "nowhere");
	assert_int_equal(tree_open(p, NULL, 0, &t2, err, sizeof(err)),
	    TREE_ENOTFOUND);
	assert_int_equal(tree_create(f->keys, NULL, 0, &t2, err, sizeof(err)),
	    -1);
	assert_null(t2);
	/* ...and did not damage the tree. */
	reopen(f);
	x = begin(f, 0);
	assert_int_equal(tree_system_key(x, TREE_SYS_INDEX, k2), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	tree_abort(x);
	tree_close(NULL);
	tree_abort(NULL);
}

static void
test_two_trees_differ(void **state)
{
	struct fx *f = *state;
	struct fx g;
	struct tree_txn *x, *y;
	uint8_t a[32], b[32];
	char err[512];

	tu_tmpdir(g.dir);
	tu_path(g.keys, g.dir, "keys");
	assert_int_equal(mkdir(g.keys, 0700), 0);
	assert_int_equal(tree_create(g.keys, NULL, 0, &g.t, err, sizeof(err)),
	    0);
	x = begin(f, 0);
	y = begin(&g, 0);
	assert_int_equal(tree_system_key(x, TREE_SYS_INDEX, a), 0);
	assert_int_equal(tree_system_key(y, TREE_SYS_INDEX, b), 0);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(tree_id_hash(x, "user", "alice", 5, a), 0);
	assert_int_equal(tree_id_hash(y, "user", "alice", 5, b), 0);
	assert_memory_not_equal(a, b, 32);
	tree_abort(x);
	tree_abort(y);
	tree_close(g.t);
	tu_rmrf(g.dir);
}

static void
test_user_ensure(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x;
	uint64_t a1 = 0, a2 = 0, b = 0, found = 0;
	uint8_t ka[TREE_KEY_BYTES], kb[TREE_KEY_BYTES];

	x = begin(f, 1);
	assert_int_equal(tree_user_find(x, "alice", 5, &found), TREE_ENOTFOUND);
	assert_int_equal(tree_user_ensure(x, "alice", 5, &a1), 0);
	assert_int_equal(tree_user_ensure(x, "alice", 5, &a2), 0);
	assert_true(a1 != 0);
	assert_int_equal(a1, a2);
	assert_int_equal(tree_user_ensure(x, "bob", 3, &b), 0);
	assert_true(b != a1);
	/* The length counts, not a NUL: "alice" and "alic" differ. */
	assert_int_equal(tree_user_find(x, "alice", 4, &found), TREE_ENOTFOUND);
	commit(f, x);

	/* Idempotent across transactions and a reopen. */
	assert_int_equal(user_node(f, "alice"), a1);
	reopen(f);
	x = begin(f, 0);
	assert_int_equal(tree_user_find(x, "alice", 5, &found), 0);
	assert_int_equal(found, a1);
	assert_int_equal(tree_user_find(x, "bob", 3, &found), 0);
	assert_int_equal(found, b);
	assert_int_equal(tree_node_key(x, a1, ka), 0);
	assert_int_equal(tree_node_key(x, b, kb), 0);
	assert_memory_not_equal(ka, kb, sizeof(ka));
	/* A read transaction cannot create a user. */
	assert_int_not_equal(tree_user_ensure(x, "carol", 5, &found), 0);
	tree_abort(x);

	/* An aborted creation leaves nothing. */
	x = begin(f, 1);
	assert_int_equal(tree_user_ensure(x, "dave", 4, &found), 0);
	tree_abort(x);
	x = begin(f, 0);
	assert_int_equal(tree_user_find(x, "dave", 4, &found), TREE_ENOTFOUND);
	tree_abort(x);
}

static void
test_leaf_keys(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x;
	uint64_t owner, l1, l2, other;
	uint8_t k1[TREE_KEY_BYTES], k2[TREE_KEY_BYTES], got[TREE_KEY_BYTES];
	uint8_t zero[TREE_KEY_BYTES] = {0};

	owner = user_node(f, "alice");
	l1 = leaf_new(f, owner, k1);
	l2 = leaf_new(f, owner, k2);
	assert_true(l1 != l2);
	assert_memory_not_equal(k1, zero, sizeof(k1));
	assert_memory_not_equal(k1, k2, sizeof(k1));
	assert_int_equal(node_key(f, l1, got), 0);
	assert_memory_equal(got, k1, sizeof(k1));
	assert_int_equal(node_key(f, l2, got), 0);
	assert_memory_equal(got, k2, sizeof(k2));
	reopen(f);
	assert_int_equal(node_key(f, l1, got), 0);
	assert_memory_equal(got, k1, sizeof(k1));

	/* A missing node, a missing owner. */
	assert_int_equal(node_key(f, l2 + 1000, got), TREE_ENOTFOUND);
	assert_int_equal(node_key(f, 0, got), TREE_ENOTFOUND);
	x = begin(f, 1);
	assert_int_equal(tree_leaf_new(x, owner + 12345, TREE_KIND_DOC, got,
			     &other),
	    TREE_ENOTFOUND);
	tree_abort(x);
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, TREE_KEY_BYTES);
}

static void
test_many_users(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x;
	uint64_t *nodes = calloc(NUSERS, sizeof(*nodes));
	uint8_t *keys = malloc((size_t)NUSERS * TREE_KEY_BYTES);
	uint8_t got[TREE_KEY_BYTES];
	uint64_t n, leaf;
	char name[32];
	int i;

	assert_non_null(nodes);
	assert_non_null(keys);
	/* 5,000 owners: 79 internal nodes at level 3, 2 at level 2. */
	x = begin(f, 1);
	for (i = 0; i < NUSERS; i++) {
		int len = snprintf(name, sizeof(name), "user%d", i);
		assert_int_equal(tree_user_ensure(x, name, (size_t)len,
				     &nodes[i]),
		    0);
	}
	commit(f, x);
	/* Distinct nodes. */
	{
		uint64_t *sorted = malloc(NUSERS * sizeof(*sorted));
		assert_non_null(sorted);
		memcpy(sorted, nodes, NUSERS * sizeof(*sorted));
		qsort(sorted, NUSERS, sizeof(*sorted), u64_cmp);
		for (i = 1; i < NUSERS; i++)
			assert_true(sorted[i] != sorted[i - 1]);
		free(sorted);
	}
	/* A leaf under the first, one in the middle, the last. */
	{
		int pick[3] = {0, NUSERS / 2, NUSERS - 1};
		uint8_t lk[TREE_KEY_BYTES];
		for (i = 0; i < 3; i++) {
			leaf = leaf_new(f, nodes[pick[i]], lk);
			assert_int_equal(node_key(f, leaf, got), 0);
			assert_memory_equal(got, lk, sizeof(lk));
		}
	}
	reopen(f);
	x = begin(f, 0);
	for (i = 0; i < NUSERS; i++) {
		int len = snprintf(name, sizeof(name), "user%d", i);
		if (tree_node_key(x, nodes[i],
			keys + (size_t)i * TREE_KEY_BYTES) != 0)
			fail_msg("user %d: %s", i, tree_errmsg(f->t));
		assert_int_equal(tree_user_find(x, name, (size_t)len, &n), 0);
		assert_int_equal(n, nodes[i]);
	}
	tree_abort(x);
	/* All keys distinct. */
	qsort(keys, NUSERS, TREE_KEY_BYTES, key_cmp);
	for (i = 1; i < NUSERS; i++)
		assert_memory_not_equal(keys + (size_t)i * TREE_KEY_BYTES,
		    keys + (size_t)(i - 1) * TREE_KEY_BYTES, TREE_KEY_BYTES);
	free(nodes);
	free(keys);
}

static void
test_id_hash(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x = begin(f, 0);
	uint8_t a[32], b[32], c[32], d[32], e[32], g[32];

	assert_int_equal(tree_id_hash(x, "user", "alice", 5, a), 0);
	assert_int_equal(tree_id_hash(x, "user", "alice", 5, b), 0);
	assert_memory_equal(a, b, 32); /* deterministic */
	assert_int_equal(tree_id_hash(x, "contract", "alice", 5, c), 0);
	assert_memory_not_equal(a, c, 32); /* per domain */
	assert_int_equal(tree_id_hash(x, "user", "alicf", 5, d), 0);
	assert_memory_not_equal(a, d, 32); /* per input */
	/* The domain is length-prefixed: no shifting bytes across. */
	assert_int_equal(tree_id_hash(x, "use", "ralice", 6, e), 0);
	assert_memory_not_equal(a, e, 32);
	assert_int_equal(tree_id_hash(x, "user", "", 0, g), 0);
	assert_memory_not_equal(a, g, 32);
	/* It is keyed: not the plain BLAKE2b of the input. */
	crypto_generichash(b, 32, (const uint8_t *)"alice", 5, NULL, 0);
	assert_memory_not_equal(a, b, 32);
	tree_abort(x);
}

/*
 * Must fail: each byte of a leaf's node record changed in LMDB, one at a
 * time, makes its key unreadable (-1), never a wrong key.
 */
static void
test_flipped_node_record(void **state)
{
	struct fx *f = *state;
	uint64_t owner, leaf;
	uint8_t key[TREE_KEY_BYTES], got[TREE_KEY_BYTES];
	uint8_t rec[2048], bad[2048];
	size_t len, i;
	int rc;

	owner = user_node(f, "alice");
	(void)user_node(f, "bob"); /* a sibling a changed parent could hit */
	leaf = leaf_new(f, owner, key);
	tree_close(f->t);
	f->t = NULL;
	len = raw_get(f, leaf, rec, sizeof(rec));
	assert_true(len >= 100);
	for (i = 0; i < len; i++) {
		memcpy(bad, rec, len);
		bad[i] ^= (uint8_t)(1u << (i % 8));
		raw_put(f, leaf, bad, len);
		reopen(f);
		memset(got, 0, sizeof(got));
		rc = node_key(f, leaf, got);
		if (rc != -1)
			fail_msg("byte %zu changed: tree_node_key gave %d", i,
			    rc);
		assert_memory_not_equal(got, key, sizeof(key));
		tree_close(f->t);
		f->t = NULL;
	}
	/* Shorter and longer records. */
	raw_put(f, leaf, rec, len - 1);
	reopen(f);
	assert_int_equal(node_key(f, leaf, got), -1);
	tree_close(f->t);
	f->t = NULL;
	memcpy(bad, rec, len);
	bad[len] = 0;
	raw_put(f, leaf, bad, len + 1);
	reopen(f);
	assert_int_equal(node_key(f, leaf, got), -1);
	tree_close(f->t);
	f->t = NULL;
	/* Restored, it opens again. */
	raw_put(f, leaf, rec, len);
	reopen(f);
	assert_int_equal(node_key(f, leaf, got), 0);
	assert_memory_equal(got, key, sizeof(key));
}

/* Must fail: a valid record moved to another node's id. */
static void
test_moved_node_record(void **state)
{
	struct fx *f = *state;
	uint64_t owner, l1, l2;
	uint8_t k1[TREE_KEY_BYTES], k2[TREE_KEY_BYTES], got[TREE_KEY_BYTES];
	uint8_t rec[2048];
	size_t len;

	owner = user_node(f, "alice");
	l1 = leaf_new(f, owner, k1);
	l2 = leaf_new(f, owner, k2);
	tree_close(f->t);
	f->t = NULL;
	len = raw_get(f, l1, rec, sizeof(rec));
	raw_put(f, l2, rec, len);
	reopen(f);
	assert_int_equal(node_key(f, l2, got), -1);
	assert_int_equal(node_key(f, l1, got), 0);
	assert_memory_equal(got, k1, sizeof(k1));
}

/* Must fail: a parent's record damaged breaks every key below it. */
static void
test_flipped_parent(void **state)
{
	struct fx *f = *state;
	uint64_t owner, leaf;
	uint8_t key[TREE_KEY_BYTES], got[TREE_KEY_BYTES], rec[2048];
	size_t len;

	owner = user_node(f, "alice");
	leaf = leaf_new(f, owner, key);
	tree_close(f->t);
	f->t = NULL;
	len = raw_get(f, owner, rec, sizeof(rec));
	rec[len - 1] ^= 0x01; /* the tag of the wrapped key */
	raw_put(f, owner, rec, len);
	reopen(f);
	assert_int_equal(node_key(f, leaf, got), -1);
	assert_int_equal(node_key(f, owner, got), -1);
}

/* Must fail: the root file of another tree opens nothing. */
static void
test_foreign_root(void **state)
{
	struct fx *f = *state;
	struct fx g;
	struct tree_txn *x = NULL;
	uint8_t *other;
	size_t len;
	char p[TU_PATH_MAX], err[512];
	uint8_t got[TREE_KEY_BYTES];

	tu_tmpdir(g.dir);
	tu_path(g.keys, g.dir, "keys");
	assert_int_equal(mkdir(g.keys, 0700), 0);
	assert_int_equal(tree_create(g.keys, NULL, 0, &g.t, err, sizeof(err)),
	    0);
	tree_close(g.t);
	tu_path(p, g.keys, "root");
	other = tu_read(p, &len);
	tree_close(f->t);
	f->t = NULL;
	tu_path(p, f->keys, "root");
	tu_write(p, other, len, O_TRUNC);
	reopen(f);
	assert_int_equal(tree_begin(f->t, 0, &x), 0);
	assert_int_equal(tree_system_key(x, TREE_SYS_INDEX, got), -1);
	assert_true(strlen(tree_errmsg(f->t)) > 0);
	tree_abort(x);
	free(other);
	tu_rmrf(g.dir);
}

static void
test_meta(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x;
	uint64_t v = 0;

	x = begin(f, 1);
	assert_int_equal(tree_meta_get(x, "retention_years", &v),
	    TREE_ENOTFOUND);
	assert_int_equal(tree_meta_put(x, "retention_years", 7), 0);
	assert_int_equal(tree_meta_get(x, "retention_years", &v), 0);
	assert_int_equal(v, 7);
	commit(f, x);
	x = begin(f, 1);
	assert_int_equal(tree_meta_put(x, "retention_years", 9), 0);
	assert_int_equal(tree_meta_put(x, "big", UINT64_MAX), 0);
	tree_abort(x); /* dropped */
	reopen(f);
	x = begin(f, 0);
	assert_int_equal(tree_meta_get(x, "retention_years", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(tree_meta_get(x, "big", &v), TREE_ENOTFOUND);
	assert_int_equal(tree_meta_get(x, "epoch", &v), 0);
	assert_int_equal(v, 1);
	tree_abort(x);
	x = begin(f, 1);
	assert_int_equal(tree_meta_put(x, "big", UINT64_MAX), 0);
	commit(f, x);
	x = begin(f, 0);
	assert_int_equal(tree_meta_get(x, "big", &v), 0);
	assert_true(v == UINT64_MAX);
	tree_abort(x);
}

/*
 * Must fail: a leaf counter rolled back (the meta record rewritten) makes
 * the next leaf collide with an existing one: refused, never overwritten.
 */
static void
test_counter_rollback(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x;
	uint64_t owner, l0, l1, again = 0;
	uint8_t k0[TREE_KEY_BYTES], k1[TREE_KEY_BYTES], got[TREE_KEY_BYTES];

	owner = user_node(f, "alice");
	l0 = leaf_new(f, owner, k0);
	l1 = leaf_new(f, owner, k1);
	assert_true(l1 == l0 + 1);
	x = begin(f, 1);
	assert_int_equal(tree_meta_put(x, "next_leaf", 0), 0);
	assert_int_equal(tree_leaf_new(x, owner, TREE_KIND_DOC, got, &again),
	    -1);
	tree_abort(x);
	assert_int_equal(node_key(f, l0, got), 0);
	assert_memory_equal(got, k0, sizeof(k0));
	/* The same for owner slots. */
	x = begin(f, 1);
	assert_int_equal(tree_meta_put(x, "next_slot", 0), 0);
	assert_int_equal(tree_user_ensure(x, "bob", 3, &again), -1);
	tree_abort(x);
	assert_int_equal(node_key(f, l1, got), 0);
	assert_memory_equal(got, k1, sizeof(k1));
}

/* Shredding a leaf: its key is gone, its sibling's is not, new root. */
static void
test_shred_leaf(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x;
	struct tree_shred_stats st = {0};
	uint64_t owner, l1, l2;
	uint8_t k1[TREE_KEY_BYTES], k2[TREE_KEY_BYTES], got[TREE_KEY_BYTES];
	uint8_t *file;
	size_t len;
	char p[TU_PATH_MAX];

	owner = user_node(f, "alice");
	l1 = leaf_new(f, owner, k1);
	l2 = leaf_new(f, owner, k2);
	x = begin(f, 1);
	assert_int_equal(tree_shred(x, &l1, 1, &st), 0);
	assert_int_equal(st.destroyed, 1);
	assert_int_equal(st.epoch_before, 1);
	assert_int_equal(st.epoch_after, 2);
	assert_true(st.rekeyed >= 5); /* owner, three internal levels, top */
	commit(f, x);
	/* The erasure of the old slot may still run: wait for it. */
	assert_int_equal(tree_settle(f->t), 0);
	assert_int_equal(tree_settle(f->t), 0);
	/* The old root slot (A) is zeros now; epoch 2 sits in B. */
	tu_path(p, f->keys, "root");
	file = tu_read(p, &len);
	assert_int_equal(len, 320);
	assert_true(tu_is_zero(file + 64, 128));
	assert_false(tu_is_zero(file + 192, 128));
	free(file);
	assert_int_equal(node_key(f, l1, got), TREE_ENOTFOUND);
	assert_int_equal(node_key(f, l2, got), 0);
	assert_memory_equal(got, k2, sizeof(k2));
	reopen(f);
	x = begin(f, 0);
	assert_int_equal(tree_epoch(x), 2);
	assert_int_equal(tree_node_key(x, l2, got), 0);
	assert_memory_equal(got, k2, sizeof(k2));
	assert_int_equal(tree_node_key(x, l1, got), TREE_ENOTFOUND);
	tree_abort(x);
	/* An aborted shred destroys nothing. */
	x = begin(f, 1);
	assert_int_equal(tree_shred(x, &l2, 1, &st), 0);
	tree_abort(x);
	assert_int_equal(node_key(f, l2, got), 0);
	assert_memory_equal(got, k2, sizeof(k2));
	x = begin(f, 0);
	assert_int_equal(tree_epoch(x), 2);
	tree_abort(x);
}

static void
test_user_shred_fences(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x;
	struct tree_shred_stats st = {0};
	uint64_t owner, leaf, n;
	uint8_t key[TREE_KEY_BYTES], got[TREE_KEY_BYTES];

	owner = user_node(f, "alice");
	leaf = leaf_new(f, owner, key);
	x = begin(f, 1);
	assert_int_equal(tree_user_shred(x, "alice", 5, &st), 0);
	assert_int_equal(st.destroyed, 2); /* the owner and its leaf */
	commit(f, x);
	assert_int_equal(node_key(f, leaf, got), TREE_ENOTFOUND);
	assert_int_equal(node_key(f, owner, got), TREE_ENOTFOUND);
	x = begin(f, 1);
	assert_int_equal(tree_user_find(x, "alice", 5, &n), TREE_EFENCED);
	assert_int_equal(tree_user_ensure(x, "alice", 5, &n), TREE_EFENCED);
	assert_int_equal(tree_user_shred(x, "alice", 5, &st), TREE_EFENCED);
	/* Another user is not touched. */
	assert_int_equal(tree_user_ensure(x, "alice2", 6, &n), 0);
	commit(f, x);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_create_open),
	    T(test_two_trees_differ),
	    T(test_user_ensure),
	    T(test_leaf_keys),
	    T(test_many_users),
	    T(test_id_hash),
	    T(test_flipped_node_record),
	    T(test_moved_node_record),
	    T(test_flipped_parent),
	    T(test_foreign_root),
	    T(test_meta),
	    T(test_counter_rollback),
	    T(test_shred_leaf),
	    T(test_user_shred_fences),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("tree", tests, NULL, NULL);
}
