/*
 * test_tree_edges.c: keys/tree.c at its edges, where the end-to-end
 * scenarios do not reach (docs/TESTING.md, "Coverage").  What a shred
 * refuses (structural nodes, a second root change in one transaction) and
 * skips (nodes that do not exist); the limits (a full tree, an id too long,
 * a node that is not a contract); the scan's record filter
 * (tree_record_plausible, tree_record_opens) against every field of a node
 * record (docs/FORMAT.md section 3.4); the audit events pending in the
 * tree; and the must-fail cases made through LMDB directly, the tree
 * closed: a loop in the parent links, a child link to a missing node or of
 * the wrong size, a user or node key of the wrong size.  Each corruption
 * must give -1 with a message that names it, never a crash or a wrong key.
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

/* The node record of docs/FORMAT.md section 3.4. */
#define REC_FIXED 100
#define ID_INTERNAL(l, i) ((1ULL << 56) | ((uint64_t)(l) << 48) | (i))
#define ID_SYSTEM(n) ((2ULL << 56) | (uint64_t)(n))
#define ID_OWNER(s) ((3ULL << 56) | (uint64_t)(s))
#define ID_LEAF(s) ((4ULL << 56) | (uint64_t)(s))
#define ID_TOP ID_INTERNAL(0, 0)
#define SLOT_MAX (1ULL << (TREE_FANOUT_BITS * TREE_LEVELS))

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

static void
assert_msg(struct fx *f, const char *want)
{
	if (strstr(tree_errmsg(f->t), want) == NULL)
		fail_msg("message '%s' does not say '%s'", tree_errmsg(f->t),
		    want);
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

static uint64_t
epoch_now(struct fx *f)
{
	struct tree_txn *x = begin(f, 0);
	uint64_t e = tree_epoch(x);

	tree_abort(x);
	return e;
}

/*
 * Direct LMDB access to DIR/keys/tree.mdb, with the tree closed (LMDB
 * forbids two environments on one file in a process) and opened again
 * after.  raw_put: one put in table ${db}; raw_get: a copy of a value.
 */
static MDB_env *
raw_open(struct fx *f, const char *db, MDB_txn **txn, MDB_dbi *dbi,
    unsigned flags)
{
	char p[TU_PATH_MAX];
	MDB_env *env;

	tree_close(f->t);
	f->t = NULL;
	tu_path(p, f->keys, "tree.mdb");
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 12), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64ULL << 30), 0);
	assert_int_equal(mdb_env_open(env, p, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, flags, txn), 0);
	assert_int_equal(mdb_dbi_open(*txn, db, 0, dbi), 0);
	return env;
}

static void
raw_put(struct fx *f, const char *db, const void *k, size_t klen, const void *v,
    size_t vlen)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env = raw_open(f, db, &txn, &dbi, 0);
	MDB_val kv = {klen, (void *)(uintptr_t)k};
	MDB_val vv = {vlen, (void *)(uintptr_t)v};

	assert_int_equal(mdb_put(txn, dbi, &kv, &vv, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	reopen(f);
}

static size_t
raw_get_node(struct fx *f, uint64_t id, uint8_t *buf, size_t cap)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env = raw_open(f, "nodes", &txn, &dbi, MDB_RDONLY);
	uint8_t kb[8];
	MDB_val k = {8, kb}, v;

	bytes_store64be(kb, id);
	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_true(v.mv_size <= cap);
	memcpy(buf, v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	reopen(f);
	return v.mv_size;
}

/* The first key of table ${db} (a user's keyed hash, say). */
static size_t
raw_first_key(struct fx *f, const char *db, uint8_t *buf, size_t cap)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *c;
	MDB_env *env = raw_open(f, db, &txn, &dbi, MDB_RDONLY);
	MDB_val k, v;

	assert_int_equal(mdb_cursor_open(txn, dbi, &c), 0);
	assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
	assert_true(k.mv_size <= cap);
	memcpy(buf, k.mv_data, k.mv_size);
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	reopen(f);
	return k.mv_size;
}

/* A shred of the top, of an internal node or of a system node is refused,
 * and the transaction can still be aborted with nothing changed. */
static void
test_shred_refuses_structure(void **state)
{
	struct fx *f = *state;
	struct tree_shred_stats st = {0};
	struct tree_txn *x;
	uint8_t k0[TREE_KEY_BYTES], got[TREE_KEY_BYTES];
	uint64_t owner, leaf;
	const uint64_t ids[] = {ID_TOP, ID_INTERNAL(1, 0), ID_INTERNAL(3, 0),
	    ID_SYSTEM(TREE_SYS_INDEX)};

	owner = user_node(f, "alice");
	leaf = leaf_new(f, owner, k0);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		x = begin(f, 1);
		assert_int_equal(tree_shred(x, &ids[i], 1, &st), -1);
		assert_msg(f, "refusing to shred a structural node");
		tree_abort(x);
	}
	/* Mixed with a leaf: the whole shred is refused. */
	{
		const uint64_t two[] = {leaf, ID_TOP};
		x = begin(f, 1);
		assert_int_equal(tree_shred(x, two, 2, &st), -1);
		tree_abort(x);
	}
	assert_int_equal(epoch_now(f), 1);
	assert_int_equal(node_key(f, leaf, got), 0);
	assert_memory_equal(got, k0, sizeof(k0));
	assert_int_equal(node_key(f, ID_SYSTEM(TREE_SYS_INDEX), got), 0);
}

/* Ids that do not exist are skipped: alone, no root change at all. */
static void
test_shred_missing_ids(void **state)
{
	struct fx *f = *state;
	struct tree_shred_stats st = {0};
	struct tree_txn *x;
	uint8_t k1[TREE_KEY_BYTES], k2[TREE_KEY_BYTES], got[TREE_KEY_BYTES];
	uint64_t owner, l1, l2, ids[3];

	owner = user_node(f, "alice");
	l1 = leaf_new(f, owner, k1);
	l2 = leaf_new(f, owner, k2);
	ids[0] = ID_LEAF(4000);
	ids[1] = ID_OWNER(777);
	x = begin(f, 1);
	assert_int_equal(tree_shred(x, ids, 2, &st), 0);
	assert_int_equal(st.destroyed, 0);
	assert_int_equal(st.rekeyed, 0);
	assert_int_equal(st.epoch_before, 1);
	assert_int_equal(st.epoch_after, 1);
	commit(f, x);
	assert_int_equal(epoch_now(f), 1);
	/* An empty list too. */
	x = begin(f, 1);
	assert_int_equal(tree_shred(x, ids, 0, &st), 0);
	assert_int_equal(st.epoch_after, 1);
	tree_abort(x);
	/* Missing ones among real ones: the real one goes, only it. */
	ids[0] = ID_LEAF(4000);
	ids[1] = l1;
	ids[2] = ID_LEAF(4001);
	x = begin(f, 1);
	assert_int_equal(tree_shred(x, ids, 3, &st), 0);
	assert_int_equal(st.destroyed, 1);
	assert_int_equal(st.epoch_after, 2);
	commit(f, x);
	assert_int_equal(tree_settle(f->t), 0);
	assert_int_equal(node_key(f, l1, got), TREE_ENOTFOUND);
	assert_int_equal(node_key(f, l2, got), 0);
	assert_memory_equal(got, k2, sizeof(k2));
	/* The same leaf twice in one list is destroyed once. */
	ids[0] = l2;
	ids[1] = l2;
	x = begin(f, 1);
	assert_int_equal(tree_shred(x, ids, 2, &st), 0);
	assert_int_equal(st.destroyed, 1);
	commit(f, x);
	assert_int_equal(tree_settle(f->t), 0);
	assert_int_equal(node_key(f, l2, got), TREE_ENOTFOUND);
	assert_int_equal(epoch_now(f), 3);
}

/* One root change per transaction: a second shred, or a rotation after a
 * shred, is refused; aborting drops both. */
static void
test_one_root_change(void **state)
{
	struct fx *f = *state;
	struct tree_shred_stats st = {0};
	struct tree_txn *x;
	uint8_t k1[TREE_KEY_BYTES], k2[TREE_KEY_BYTES], got[TREE_KEY_BYTES];
	uint8_t nk[TREE_KEY_BYTES];
	uint64_t owner, l1, l2;

	owner = user_node(f, "alice");
	l1 = leaf_new(f, owner, k1);
	l2 = leaf_new(f, owner, k2);
	x = begin(f, 1);
	assert_int_equal(tree_shred(x, &l1, 1, &st), 0);
	assert_int_equal(tree_shred(x, &l2, 1, &st), -1);
	assert_msg(f, "one root change per transaction");
	memset(nk, 7, sizeof(nk));
	assert_int_equal(tree_rotate_system(x, TREE_SYS_INDEX, nk, &st), -1);
	assert_msg(f, "one root change per transaction");
	tree_abort(x);
	assert_int_equal(epoch_now(f), 1);
	assert_int_equal(node_key(f, l1, got), 0);
	assert_memory_equal(got, k1, sizeof(k1));
	assert_int_equal(node_key(f, l2, got), 0);
	assert_memory_equal(got, k2, sizeof(k2));
	/* A rotation of a system node that does not exist. */
	x = begin(f, 1);
	assert_int_equal(tree_rotate_system(x, 9, nk, &st), -1);
	tree_abort(x);
	assert_int_equal(epoch_now(f), 1);
}

/* The limits: a node that is not a contract, an id over 256 bytes, a tree
 * whose owner slots are all taken. */
static void
test_limits(void **state)
{
	struct fx *f = *state;
	struct tree_contract c;
	struct tree_txn *x;
	char longid[300];
	uint64_t owner, n = 0;

	owner = user_node(f, "alice");
	x = begin(f, 1);
	assert_int_equal(tree_contract_get(x, owner, &c), -1);
	assert_msg(f, "is not a contract");
	assert_int_equal(tree_contract_get(x, ID_OWNER(999), &c),
	    TREE_ENOTFOUND);
	memset(longid, 'u', sizeof(longid));
	assert_int_equal(tree_contract_find(x, longid, sizeof(longid), "k1", 2,
			     &c),
	    -1);
	assert_msg(f, "id too long");
	assert_int_equal(tree_contract_ensure(x, "alice", 5, longid,
			     sizeof(longid), &c),
	    -1);
	assert_msg(f, "id too long");
	/* A real contract reads back as one. */
	assert_int_equal(tree_contract_ensure(x, "alice", 5, "k1", 2, &c), 0);
	assert_int_equal(c.ended, 0);
	assert_int_equal(tree_contract_get(x, c.node, &c), 0);
	assert_int_equal(c.holds, 0);
	commit(f, x);

	/* Every owner slot taken: no new user, no new contract. */
	x = begin(f, 1);
	assert_int_equal(tree_meta_put(x, "next_slot", SLOT_MAX), 0);
	assert_int_equal(tree_user_ensure(x, "bob", 3, &n), -1);
	assert_msg(f, "the tree is full");
	assert_int_equal(tree_contract_ensure(x, "bob", 3, "k9", 2, &c), -1);
	assert_msg(f, "the tree is full");
	/* An existing user is still found. */
	assert_int_equal(tree_user_ensure(x, "alice", 5, &n), 0);
	assert_true(n == owner);
	tree_abort(x);
	/* Aborted: the next user gets a slot. */
	x = begin(f, 1);
	assert_int_equal(tree_user_ensure(x, "bob", 3, &n), 0);
	commit(f, x);
}

/*
 * The scan's filter: a live record (its id in front, as LMDB stores a
 * leaf) is plausible, 100 bytes; each field out of its range is not.  The
 * record opens under its parent's key, with the node's key, and under no
 * other key, nor at another length.
 */
static void
test_record_plausible(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x;
	uint8_t buf[8 + REC_FIXED + 16], rec[REC_FIXED + 16], b[sizeof(buf)];
	uint8_t k0[TREE_KEY_BYTES], pk[TREE_KEY_BYTES], got[TREE_KEY_BYTES];
	uint64_t owner, leaf;
	size_t len, reclen = 0;
	struct {
		size_t off;
		uint8_t val;
		const char *what;
	} bad[] = {
	    {8 + 0, 2, "version 2"},
	    {8 + 1, 0, "kind 0"},
	    {8 + 1, 7, "kind 7"},
	    {8 + 4 + 7, 0x04, "parent a leaf"},
	    {8 + 4 + 7, 0x02, "parent a system node"},
	    {0, 0x05, "id top byte 5"},
	    {0, 0x00, "id top byte 0"},
	};

	owner = user_node(f, "alice");
	leaf = leaf_new(f, owner, k0);
	len = raw_get_node(f, leaf, rec, sizeof(rec));
	assert_int_equal(len, REC_FIXED);
	bytes_store64be(buf, leaf);
	memcpy(buf + 8, rec, len);
	assert_int_equal(tree_record_plausible(buf, 8 + len, &reclen), 1);
	assert_int_equal(reclen, REC_FIXED);
	/* Too few bytes left in the file. */
	assert_int_equal(tree_record_plausible(buf, 8 + len - 1, &reclen), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(b, buf, sizeof(b));
		b[bad[i].off] = bad[i].val;
		if (tree_record_plausible(b, 8 + len, &reclen) != 0)
			fail_msg("plausible with %s", bad[i].what);
	}
	/* Attributes over 1024 bytes, or more than there are. */
	memcpy(b, buf, sizeof(b));
	bytes_store16(b + 8 + 2, 1025);
	assert_int_equal(tree_record_plausible(b, sizeof(b), &reclen), 0);
	bytes_store16(b + 8 + 2, 16);
	assert_int_equal(tree_record_plausible(b, 8 + len + 15, &reclen), 0);
	assert_int_equal(tree_record_plausible(b, 8 + len + 16, &reclen), 1);
	assert_int_equal(reclen, REC_FIXED + 16);
	/* Key generations start at 1. */
	memcpy(b, buf, sizeof(b));
	bytes_store64(b + 8 + 12, 0);
	assert_int_equal(tree_record_plausible(b, 8 + len, &reclen), 0);
	memcpy(b, buf, sizeof(b));
	bytes_store64(b + 8 + 20, 0);
	assert_int_equal(tree_record_plausible(b, 8 + len, &reclen), 0);
	/* Ids past the ranges of their kind. */
	{
		const uint64_t ids[] = {ID_INTERNAL(TREE_LEVELS, 0),
		    ID_INTERNAL(1, 64), ID_INTERNAL(2, 64 * 64), ID_SYSTEM(0),
		    ID_SYSTEM(TREE_SYS_IDHASH + 1), ID_OWNER(SLOT_MAX),
		    ID_LEAF(1ULL << 48)};
		const uint64_t good[] = {ID_INTERNAL(1, 63), ID_SYSTEM(1),
		    ID_OWNER(SLOT_MAX - 1), ID_LEAF((1ULL << 48) - 1)};
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			memcpy(b, buf, sizeof(b));
			bytes_store64be(b, ids[i]);
			if (tree_record_plausible(b, 8 + len, &reclen) != 0)
				fail_msg("plausible with id %016llx",
				    (unsigned long long)ids[i]);
		}
		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			memcpy(b, buf, sizeof(b));
			bytes_store64be(b, good[i]);
			assert_int_equal(tree_record_plausible(b, 8 + len,
					     &reclen),
			    1);
		}
	}

	x = begin(f, 0);
	assert_int_equal(tree_record_is_current(x, leaf, rec, len), 1);
	assert_int_equal(tree_record_is_current(x, leaf + 1, rec, len), 0);
	assert_int_equal(tree_parent_key(x, owner, pk), 0);
	tree_abort(x);
	assert_int_equal(tree_record_opens(leaf, rec, len, pk, got), 1);
	assert_memory_equal(got, k0, sizeof(k0));
	assert_int_equal(tree_record_opens(leaf, rec, len, pk, NULL), 1);
	/* Another id (the associated data), another key, another length. */
	assert_int_equal(tree_record_opens(leaf + 1, rec, len, pk, NULL), 0);
	pk[0] ^= 1;
	assert_int_equal(tree_record_opens(leaf, rec, len, pk, NULL), 0);
	pk[0] ^= 1;
	assert_int_equal(tree_record_opens(leaf, rec, len - 1, pk, NULL), 0);
	assert_int_equal(tree_record_opens(leaf, rec, 10, pk, NULL), 0);
	sodium_memzero(pk, sizeof(pk));
	sodium_memzero(got, sizeof(got));
}

/* A loop in the parent links (a user node made its own parent): the key
 * lookup and a shred stop with "corrupt", they do not recurse for ever. */
static void
test_parent_loop(void **state)
{
	struct fx *f = *state;
	struct tree_shred_stats st = {0};
	struct tree_txn *x;
	uint8_t rec[REC_FIXED + 16], k0[TREE_KEY_BYTES], got[TREE_KEY_BYTES];
	uint8_t kb[8];
	uint64_t owner, leaf;
	size_t len;

	owner = user_node(f, "alice");
	leaf = leaf_new(f, owner, k0);
	len = raw_get_node(f, owner, rec, sizeof(rec));
	bytes_store64(rec + 4, owner);
	bytes_store64be(kb, owner);
	raw_put(f, "nodes", kb, 8, rec, len);
	assert_int_equal(node_key(f, leaf, got), -1);
	assert_msg(f, "too deep");
	x = begin(f, 1);
	assert_int_equal(tree_shred(x, &leaf, 1, &st), -1);
	assert_msg(f, "loop");
	tree_abort(x);
	assert_int_equal(epoch_now(f), 1);
}

/* A link to a child that does not exist: a shred of a sibling, which
 * rewraps the children, stops at it ("dangling child"). */
static void
test_dangling_child(void **state)
{
	struct fx *f = *state;
	struct tree_shred_stats st = {0};
	struct tree_txn *x;
	uint8_t k1[TREE_KEY_BYTES], k2[TREE_KEY_BYTES], got[TREE_KEY_BYTES];
	uint8_t pb[8], cb[8];
	uint64_t owner, l1, l2;

	owner = user_node(f, "alice");
	l1 = leaf_new(f, owner, k1);
	l2 = leaf_new(f, owner, k2);
	bytes_store64be(pb, owner);
	bytes_store64be(cb, ID_LEAF(5000));
	raw_put(f, "children", pb, 8, cb, 8);
	x = begin(f, 1);
	assert_int_equal(tree_is_child(x, owner, ID_LEAF(5000)), 1);
	assert_int_equal(tree_is_child(x, owner, ID_LEAF(5001)), 0);
	assert_int_equal(tree_shred(x, &l1, 1, &st), -1);
	assert_msg(f, "dangling child");
	tree_abort(x);
	assert_int_equal(node_key(f, l1, got), 0);
	assert_memory_equal(got, k1, sizeof(k1));
	assert_int_equal(node_key(f, l2, got), 0);
	assert_memory_equal(got, k2, sizeof(k2));
	assert_int_equal(epoch_now(f), 1);
}

/* A child link of 4 bytes (a new parent's first, so LMDB takes it): the
 * shred that walks that parent's children reports it. */
static void
test_corrupt_child_link(void **state)
{
	struct fx *f = *state;
	struct tree_shred_stats st = {0};
	struct tree_txn *x;
	uint8_t pb[8], cb[4] = {1, 2, 3, 4};
	uint64_t owner;

	owner = user_node(f, "bob");
	bytes_store64be(pb, owner);
	raw_put(f, "children", pb, 8, cb, 4);
	x = begin(f, 1);
	assert_int_equal(tree_user_shred(x, "bob", 3, &st), -1);
	assert_msg(f, "corrupt child link");
	tree_abort(x);
}

/* A user record that is not an 8-byte node id. */
static void
test_corrupt_user_record(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x;
	uint8_t h[64], v[4] = {0, 0, 0, 1};
	uint64_t n = 0;
	size_t hl;

	(void)user_node(f, "alice");
	hl = raw_first_key(f, "users", h, sizeof(h));
	assert_int_equal(hl, 32);
	raw_put(f, "users", h, hl, v, sizeof(v));
	x = begin(f, 1);
	assert_int_equal(tree_user_find(x, "alice", 5, &n), -1);
	assert_msg(f, "corrupt user record");
	assert_int_equal(tree_user_ensure(x, "alice", 5, &n), -1);
	tree_abort(x);
}

/* A node key of 4 bytes among the leaves: the leaf walk reports it. */
static int
count_leaf(void *ctx, uint64_t id, int kind, uint64_t parent)
{
	(void)id;
	(void)kind;
	(void)parent;
	(*(int *)ctx)++;
	return 0;
}

static void
test_corrupt_node_key(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x;
	uint8_t k0[TREE_KEY_BYTES], rec[REC_FIXED + 16];
	uint8_t kb[4] = {0x04, 0, 0, 1};
	uint64_t owner, leaf;
	size_t len;
	int n = 0;

	owner = user_node(f, "alice");
	leaf = leaf_new(f, owner, k0);
	(void)leaf_new(f, owner, k0);
	x = begin(f, 0);
	assert_int_equal(tree_leaves(x, count_leaf, &n), 0);
	tree_abort(x);
	assert_int_equal(n, 2);
	len = raw_get_node(f, leaf, rec, sizeof(rec));
	raw_put(f, "nodes", kb, sizeof(kb), rec, len);
	x = begin(f, 0);
	assert_int_equal(tree_leaves(x, count_leaf, &n), -1);
	assert_msg(f, "corrupt node key");
	tree_abort(x);
}

/* Audit events pending in the tree: none at first, then in order; those
 * the log has (up to "logged") are dropped; a key that is not a sequence
 * number is corruption. */
static void
test_pending(void **state)
{
	struct fx *f = *state;
	struct tree_txn *x;
	const char *line = NULL;
	uint8_t kb[4] = {0, 0, 0, 0};
	uint64_t seq = 0;
	size_t len = 0;

	x = begin(f, 1);
	assert_int_equal(tree_pending_first(x, &seq), TREE_ENOTFOUND);
	assert_int_equal(tree_pending_get(x, 1, &line, &len), TREE_ENOTFOUND);
	assert_int_equal(tree_pending_put(x, 1, "{\"seq\":1}", 9, 0), 0);
	assert_int_equal(tree_pending_put(x, 2, "{\"seq\":2}", 9, 0), 0);
	assert_int_equal(tree_pending_put(x, 3, "{\"seq\":3}", 9, 0), 0);
	commit(f, x);
	x = begin(f, 1);
	assert_int_equal(tree_pending_first(x, &seq), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(tree_pending_get(x, 2, &line, &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(line, "{\"seq\":2}", 9);
	/* The log now holds 1 and 2. */
	assert_int_equal(tree_pending_put(x, 4, "{\"seq\":4}", 9, 2), 0);
	commit(f, x);
	x = begin(f, 0);
	assert_int_equal(tree_pending_first(x, &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(tree_pending_get(x, 1, &line, &len), TREE_ENOTFOUND);
	assert_int_equal(tree_pending_get(x, 2, &line, &len), TREE_ENOTFOUND);
	assert_int_equal(tree_pending_get(x, 4, &line, &len), 0);
	tree_abort(x);
	/* A key of 4 bytes, first in order. */
	raw_put(f, "audit_pending", kb, sizeof(kb), "x", 1);
	x = begin(f, 0);
	assert_int_equal(tree_pending_first(x, &seq), -1);
	assert_msg(f, "corrupt pending audit key");
	tree_abort(x);
}

/* ${n} new leaves under ${owner} in one transaction; how many went in. */
static unsigned
leaves_fill(struct fx *f, uint64_t owner, unsigned n, int *rc, uint64_t *leaf)
{
	uint8_t *key = sodium_malloc(TREE_KEY_BYTES);
	struct tree_txn *x = begin(f, 1);
	unsigned i;

	assert_non_null(key);
	*rc = 0;
	for (i = 0; i < n; i++)
		if ((*rc = tree_leaf_new(x, owner, TREE_KIND_DOC, key, leaf)) !=
		    0)
			break;
	if (*rc == 0)
		*rc = tree_commit(x);
	else
		tree_abort(x);
	sodium_free(key);
	return i;
}

/*
 * keys/tree.mdb's map: a transaction that fills it is aborted, the map
 * doubled by tree_map_grow(), and the transaction run again commits; the
 * keys it made open after a reopen at the small size.
 */
static void
test_map_full_grows(void **state)
{
	struct fx *f = *state;
	uint64_t owner = user_node(f, "u"), last = 0;
	unsigned grows, fulls, n = 12000, done;
	uint8_t key[TREE_KEY_BYTES];
	int rc, tries = 0;

	assert_int_equal(tree_map_grow(f->t), 0);
	assert_int_equal(tree_map_size(f->t, 1 << 20), 0);
	done = leaves_fill(f, owner, n, &rc, &last);
	assert_int_equal(rc, -1);
	assert_true(done < n);
	assert_non_null(strstr(tree_errmsg(f->t), "MDB_MAP_FULL"));
	while (rc != 0) {
		assert_true(++tries <= 8);
		assert_int_equal(tree_map_grow(f->t), 1);
		done = leaves_fill(f, owner, n, &rc, &last);
	}
	assert_int_equal(done, n);
	tree_map_stats(f->t, &grows, &fulls);
	assert_int_equal(fulls, (unsigned)tries);
	reopen(f);
	assert_int_equal(tree_map_size(f->t, 1 << 20), 0);
	assert_int_equal(node_key(f, last, key), 0);
	(void)leaf_new(f, owner, key);
	tree_map_stats(f->t, &grows, &fulls);
	assert_int_equal(fulls, 0);
	assert_true(grows >= 1);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_shred_refuses_structure),
	    T(test_map_full_grows),
	    T(test_shred_missing_ids),
	    T(test_one_root_change),
	    T(test_limits),
	    T(test_record_plausible),
	    T(test_parent_loop),
	    T(test_dangling_child),
	    T(test_corrupt_child_link),
	    T(test_corrupt_user_record),
	    T(test_corrupt_node_key),
	    T(test_pending),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("tree edges", tests, NULL, NULL);
}
