/*
 * fuzz_records.c: libFuzzer harness for the decoders of the records that
 * the two LMDB environments hold: document, archive and review records,
 * segment ends, the audit head and the counters of the index
 * (vault/index.c), and the node records, child links, user, fence and
 * contract lookups, contract attributes, meta values and pending audit
 * events of the key tree (keys/tree.c).
 *
 * A fresh index and key tree (no passphrase) are made once, in a temporary
 * directory (/dev/shm when there is one; COFFRE_FUZZ_DIR overrides), and
 * removed at exit.  Each input is a list of raw LMDB writes (the first 64
 * are read), applied in a write transaction of each environment that is
 * never committed:
 *
 *   entry = op (1) | klen (1) | vlen (2, LE) | key (klen) | value (vlen)
 *
 *   op & 0x0f  the table: 0 docs, 1 reviews, 2 by_user, 3 meta, 4 archives,
 *              5 audit (the index); 8 nodes, 9 children, 10 users,
 *              11 fence, 12 meta, 13 contracts, 14 user_contracts,
 *              15 audit_pending (the tree); 6 and 7 are skipped
 *   op & 0x20  delete the key (and its duplicates) instead
 *   op & 0x10  fix up, so that the decoders past authentication are
 *              reached: an index record's last 32 bytes become its MAC
 *              under the harness's MAC key (docs, reviews, archives, and
 *              meta "seg" + u32 BE); a node record's attrs length becomes
 *              the value's length less 100 and its wrapped key (its first
 *              32 bytes of ciphertext, taken as the key) is sealed under
 *              its parent's current key in this transaction; a key
 *              of users, fence, user_contracts (a user id) or contracts
 *              (user, NUL, contract) is hashed under the tree's id
 *              hashing key, as the tree keys them
 *   op & 0x40  nodes: set pgen to the parent's generation first (the
 *              record's own gen for a node this input put, else 1; the
 *              epoch for the top)
 *   op & 0x80  (any entry) the tree's root change is a rotation of the
 *              audit key rather than a shred of the owner and leaf
 *              nodes the input put
 *
 * by_user values are made 16 bytes, children and user_contracts values 8
 * (zero-padded or cut): those tables are MDB_DUPFIXED, whose values LMDB
 * itself requires to be of one size.
 *
 * Then every reader of both runs on what is there: lists, lookups by each
 * id and user the input named, the unwrapping of each node and its path,
 * contracts, the audit head and lines, the counters, and what the forensic
 * scan (vault/scan.c) does with a node record; and the writers that decode
 * what they rewrite: a document record put back (which must read back the
 * same), a review appended (which must read back), a new user, leaf and
 * contract, a pending audit event, and one root change (a shred of the
 * owner and leaf nodes put, re-keying every ancestor, or a rotation).  Any
 * bytes: a clean refusal, never a crash, and what a reader accepts stays
 * within its bounds.
 */
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre.h"
#include "keys/bytes.h"
#include "keys/tree.h"
#include "vault/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The wrappers of vault/index.c and keys/tree.c under COFFRE_FUZZING. */
int index_fuzz_raw(struct index_txn *x, int table, const void *key, size_t klen,
    const void *val, size_t vlen, int del);
int tree_fuzz_raw(struct tree_txn *x, int table, const void *key, size_t klen,
    const void *val, size_t vlen, int del);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_records: check failed: %s\n",    \
			    #cond);                                            \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

#define OP_TABLE 0x0f
#define OP_FIX 0x10
#define OP_DEL 0x20
#define OP_PGEN 0x40
#define OP_ROTATE 0x80

#define T_DOCS 0
#define T_REVIEWS 1
#define T_BY_USER 2
#define T_IMETA 3
#define T_ARCHIVES 4
#define T_AUDIT 5
#define T_TREE 8 /* tree tables: T_TREE + 0 (nodes) .. T_TREE + 7 */
#define T_NODES 8
#define T_CHILDREN 9
#define T_USERS 10
#define T_FENCE 11
#define T_TMETA 12
#define T_CONTRACTS 13
#define T_USER_CONTRACTS 14
#define T_PENDING 15

#define REC_HDR 28
#define REC_FIXED 100
#define MAX_ENTRIES 64
#define MAX_IDS 32
#define ID_TOP (1ULL << 56)

static char dir[256];
static struct index *ix;
static struct tree *tree;
static uint8_t mackey[32];

/* What an input named, for the readers to look up. */
struct named {
	uint8_t docids[MAX_IDS][16];
	int ndocids;
	char users[MAX_IDS][COFFRE_ID_MAX + 1];
	int nusers;
	char contracts[MAX_IDS][2][COFFRE_ID_MAX + 1];
	int ncontracts;
	uint32_t segs[MAX_IDS];
	int nsegs;
	uint64_t nodes[MAX_IDS], gens[MAX_IDS];
	int nnodes;
	uint64_t pending[MAX_IDS];
	int npending;
	char metas[MAX_IDS][32];
	int nmetas;
	int rotate; /* an entry's op had 0x80 */
};

/* ---- the environments ---- */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	(void)remove(path);
	return 0;
}

static void
cleanup(void)
{
	index_close(ix);
	tree_close(tree);
	ix = NULL;
	tree = NULL;
	if (dir[0] != '\0')
		(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	dir[0] = '\0';
}

static void
setup(void)
{
	const char *base = getenv("COFFRE_FUZZ_DIR");
	char keys[300], err[512];
	struct stat st;

	if (sodium_init() < 0)
		abort();
	if (base == NULL || base[0] == '\0') {
		if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
		    access("/dev/shm", W_OK | X_OK) == 0)
			base = "/dev/shm";
		else if ((base = getenv("TMPDIR")) == NULL || base[0] == '\0')
			base = "/tmp";
	}
	snprintf(dir, sizeof(dir), "%s/coffre-fuzz-records-XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		abort();
	}
	atexit(cleanup);
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	if (mkdir(keys, 0700) != 0 ||
	    tree_create(keys, NULL, 0, &tree, err, sizeof(err)) != 0 ||
	    index_open(dir, 1, &ix, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_records: %s: %s\n", dir, err);
		abort();
	}
	memset(mackey, 0x4b, sizeof(mackey));
}

/* ---- fix-ups ---- */

static const char *
mac_domain(int table, const uint8_t *key, size_t klen)
{
	switch (table) {
	case T_DOCS:
		return "coffre-idx-doc";
	case T_ARCHIVES:
		return "coffre-idx-arc";
	case T_REVIEWS:
		return "coffre-idx-rev";
	case T_IMETA:
		return klen == 7 && memcmp(key, "seg", 3) == 0
		    ? "coffre-idx-seg"
		    : NULL;
	default:
		return NULL;
	}
}

/* The MAC of vault/index.c, into the value's last 32 bytes. */
static void
fix_mac(const char *domain, const uint8_t *key, size_t klen, uint8_t *val,
    size_t vlen)
{
	crypto_generichash_state st;

	if (vlen < 32)
		return;
	crypto_generichash_init(&st, mackey, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain));
	crypto_generichash_update(&st, key, klen);
	crypto_generichash_update(&st, val, vlen - 32);
	crypto_generichash_final(&st, val + vlen - 32, 32);
}

static uint64_t
gen_of(const struct named *nm, struct tree_txn *tx, uint64_t id)
{
	if (id == 0)
		return tree_epoch(tx);
	for (int i = nm->nnodes - 1; i >= 0; i--)
		if (nm->nodes[i] == id)
			return nm->gens[i];
	return 1;
}

/*
 * Set pgen to the parent's generation (${pgen}); make the attrs length the
 * record's and seal its key under its parent's current key (${fix},
 * docs/FORMAT.md section 3.4), so that it opens.
 */
static void
fix_node(const struct named *nm, struct tree_txn *tx, uint64_t id, uint8_t *rec,
    size_t len, int fix, int pgen)
{
	uint8_t *pk = sodium_malloc(TREE_KEY_BYTES), k[32], idb[8], ad[32];
	crypto_generichash_state st;

	if (pk == NULL)
		abort();
	if (len < REC_FIXED)
		goto out;
	if (pgen)
		bytes_store64(rec + 12, gen_of(nm, tx, bytes_load64(rec + 4)));
	if (!fix)
		goto out;
	bytes_store16(rec + 2, (uint16_t)(len - REC_FIXED)); /* attrs length */
	if (tree_parent_key(tx, bytes_load64(rec + 4), pk) != 0)
		goto out;
	memcpy(k, rec + REC_HDR + 24, sizeof(k));
	bytes_store64(idb, id);
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)"coffre-node-v1", 14);
	crypto_generichash_update(&st, idb, 8);
	crypto_generichash_update(&st, rec, REC_HDR);
	crypto_generichash_update(&st, rec + REC_FIXED, len - REC_FIXED);
	crypto_generichash_final(&st, ad, 32);
	crypto_aead_xchacha20poly1305_ietf_encrypt(rec + REC_HDR + 24, NULL, k,
	    sizeof(k), ad, sizeof(ad), NULL, rec + REC_HDR, pk);
out:
	sodium_free(pk);
}

/* ---- what an input named ---- */

static void
name_user(struct named *nm, const uint8_t *s, size_t len)
{
	if (nm->nusers == MAX_IDS || len > COFFRE_ID_MAX)
		return;
	memcpy(nm->users[nm->nusers], s, len);
	nm->users[nm->nusers++][len] = '\0';
}

static void
name_docid(struct named *nm, const uint8_t *id)
{
	if (nm->ndocids < MAX_IDS)
		memcpy(nm->docids[nm->ndocids++], id, 16);
}

static void
name_seg(struct named *nm, uint32_t segno)
{
	if (nm->nsegs < MAX_IDS)
		nm->segs[nm->nsegs++] = segno;
}

/* ---- the index ---- */

static void
check_doc(const struct idoc *d)
{
	CHECK(d->status >= 0 && d->status <= 3);
	CHECK(strlen(d->user) <= COFFRE_ID_MAX);
	CHECK(strlen(d->community) <= COFFRE_ID_MAX);
	CHECK(strlen(d->kind) <= COFFRE_ID_MAX);
	CHECK(strlen(d->type) <= COFFRE_TYPE_MAX);
	CHECK(d->snamelen <= INDEX_SEALED_NAME_MAX);
}

struct doc_walk {
	struct named *nm;
	int n;
};

static int
doc_cb(void *ctx, const struct idoc *d)
{
	struct doc_walk *w = ctx;

	check_doc(d);
	name_docid(w->nm, d->id);
	name_user(w->nm, (const uint8_t *)d->user, strlen(d->user));
	name_seg(w->nm, d->loc.segno);
	return ++w->n < 64 ? 0 : 1;
}

struct review_walk {
	int n;
	struct ireview last;
};

static int
review_cb(void *ctx, const struct ireview *r)
{
	struct review_walk *w = ctx;

	CHECK(r->decision == COFFRE_APPROVED || r->decision == COFFRE_REJECTED);
	CHECK(r->snotelen <= INDEX_SEALED_NOTE_MAX);
	w->last = *r;
	return ++w->n < 64 ? 0 : 1;
}

/* Reviews that read, and one more appended: one more that reads. */
static void
review_round_trip(struct index_txn *x, const uint8_t id[16])
{
	static struct review_walk w, w2;
	struct ireview add;

	memset(&w, 0, sizeof(w));
	if (index_reviews(x, id, review_cb, &w) != 0 || w.n == 0)
		return;
	add = w.last;
	add.at++;
	if (index_review_add(x, id, &add) != 0)
		return;
	memset(&w2, 0, sizeof(w2));
	CHECK(index_reviews(x, id, review_cb, &w2) == 0);
	CHECK(w2.n == w.n + 1 && w2.last.decision == add.decision &&
	    w2.last.at == add.at && w2.last.snotelen == add.snotelen &&
	    memcmp(w2.last.snote, add.snote, add.snotelen) == 0);
}

static int
line_cb(void *ctx, uint64_t seq, const char *line, size_t len)
{
	uint8_t h[32];

	(void)seq;
	(void)ctx;
	crypto_generichash(h, sizeof(h), (const uint8_t *)line, len, NULL, 0);
	return 0;
}

/* A parsed record, put back, reads back the same. */
static void
doc_round_trip(struct index_txn *x, int arc, const struct idoc *d)
{
	static struct idoc back;

	if ((arc ? index_arc_put(x, d) : index_doc_put(x, d)) != 0)
		return;
	CHECK((arc ? index_arc_get(x, d->id, &back)
		   : index_doc_get(x, d->id, &back)) == 0);
	CHECK(back.status == d->status && back.size == d->size &&
	    back.created == d->created && back.keyid == d->keyid &&
	    back.loc.segno == d->loc.segno &&
	    back.loc.offset == d->loc.offset &&
	    back.loc.length == d->loc.length);
	CHECK(strcmp(back.user, d->user) == 0 &&
	    strcmp(back.community, d->community) == 0 &&
	    strcmp(back.kind, d->kind) == 0 && strcmp(back.type, d->type) == 0);
	CHECK(back.snamelen == d->snamelen &&
	    memcmp(back.sname, d->sname, d->snamelen) == 0);
}

static void
index_readers(struct index_txn *x, struct named *nm)
{
	static struct idoc d;
	struct doc_walk w = {nm, 0};
	uint64_t v, end, seq;
	uint8_t h[32];
	int i, rc;

	(void)index_docs(x, NULL, doc_cb, &w);
	(void)index_arcs(x, doc_cb, &w);
	for (i = 0; i < nm->nusers; i++) {
		w.n = 0;
		(void)index_docs(x, nm->users[i], doc_cb, &w);
	}
	for (i = 0; i < nm->ndocids; i++) {
		const uint8_t *id = nm->docids[i];
		for (int arc = 0; arc < 2; arc++) {
			rc = arc ? index_arc_get(x, id, &d)
				 : index_doc_get(x, id, &d);
			CHECK(rc == 0 || rc == -1 || rc == INDEX_ENOTFOUND);
			if (rc == 0) {
				check_doc(&d);
				CHECK(memcmp(d.id, id, 16) == 0);
				(void)index_seg_end(x, d.loc.segno, &end);
				doc_round_trip(x, arc, &d);
			}
		}
		review_round_trip(x, id);
		(void)index_id_known(x, id);
	}
	for (i = 0; i < nm->nsegs; i++)
		(void)index_seg_end(x, nm->segs[i], &end);
	(void)index_audit_head(x, &seq, h);
	(void)index_audit_lines(x, 0, line_cb, NULL);
	(void)index_meta_u64(x, "tree_txnid", &v);
	for (i = 0; i < nm->nmetas; i++)
		(void)index_meta_u64(x, nm->metas[i], &v);
	(void)index_next_seq(x, &v);
}

/* ---- the tree ---- */

static int
leaf_cb(void *ctx, uint64_t id, int kind, uint64_t parent)
{
	int *n = ctx;

	(void)id;
	(void)kind;
	(void)parent;
	return ++*n < 256 ? 0 : 1;
}

static int
contract_cb(void *ctx, struct tree_contract *c)
{
	int *n = ctx;

	CHECK(c->holds <= 65535);
	CHECK(c->ended == 0 || c->ended == 1);
	return ++*n < 64 ? 0 : 1;
}

static void
tree_readers(struct tree_txn *tx, struct named *nm)
{
	static const uint64_t fixed[] = {ID_TOP, (2ULL << 56) | 1,
	    (2ULL << 56) | 2, (2ULL << 56) | 3, (1ULL << 56) | (1ULL << 48),
	    (1ULL << 56) | (2ULL << 48), (1ULL << 56) | (3ULL << 48),
	    3ULL << 56, (3ULL << 56) | 1, 4ULL << 56, (4ULL << 56) | 1};
	static const char *const metas[] = {"format", "epoch", "next_slot",
	    "next_leaf", "retention_years", "commits"};
	uint8_t *key = sodium_malloc(TREE_KEY_BYTES), fp[16], pk[32];
	uint8_t fps[4 * 16];
	struct tree_contract c;
	struct tree_shred_stats stats;
	uint64_t ids[MAX_IDS + 16], v, parent, node, leaf;
	const char *line;
	size_t nids = 0, len, i;
	int n, rc;

	if (key == NULL)
		abort();
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		ids[nids++] = fixed[i];
	for (i = 0; i < (size_t)nm->nnodes; i++)
		ids[nids++] = nm->nodes[i];
	for (i = 0; i < nids; i++) {
		rc = tree_node_exists(tx, ids[i]);
		CHECK(rc == 0 || rc == 1 || rc == -1);
		if (tree_node_parent(tx, ids[i], &parent) == 0)
			(void)tree_is_child(tx, parent, ids[i]);
		rc = tree_node_key(tx, ids[i], key);
		CHECK(rc == 0 || rc == -1 || rc == TREE_ENOTFOUND);
		(void)tree_fingerprint(tx, ids[i], fp);
		if (tree_contract_get(tx, ids[i], &c) == 0) {
			n = 0;
			(void)contract_cb(&n, &c);
		}
	}
	n = 0;
	(void)tree_leaves(tx, leaf_cb, &n);
	n = 0;
	(void)tree_contracts_all(tx, contract_cb, &n);
	for (i = 0; i < (size_t)nm->nusers; i++) {
		const char *u = nm->users[i];
		(void)tree_user_find(tx, u, strlen(u), &node);
		n = 0;
		(void)tree_contracts_of_user(tx, u, strlen(u), contract_cb, &n);
	}
	for (i = 0; i < (size_t)nm->ncontracts; i++) {
		const char *u = nm->contracts[i][0], *k = nm->contracts[i][1];
		if (tree_contract_find(tx, u, strlen(u), k, strlen(k), &c) ==
		    0) {
			n = 0;
			(void)contract_cb(&n, &c);
		}
	}
	if (tree_pending_first(tx, &v) == 0)
		(void)tree_pending_get(tx, v, &line, &len);
	for (i = 0; i < (size_t)nm->npending; i++)
		(void)tree_pending_get(tx, nm->pending[i], &line, &len);
	for (i = 0; i < sizeof(metas) / sizeof(metas[0]); i++)
		(void)tree_meta_get(tx, metas[i], &v);
	for (i = 0; i < (size_t)nm->nmetas; i++)
		(void)tree_meta_get(tx, nm->metas[i], &v);
	(void)tree_audit_pubkey(tx, pk);
	for (int s = TREE_SYS_AUDIT; s <= TREE_SYS_IDHASH; s++)
		(void)tree_system_key(tx, s, key);

	/* Writers that decode what they rewrite. */
	if (tree_user_ensure(tx, "fuzz-user", 9, &node) == 0)
		(void)tree_leaf_new(tx, node, TREE_KIND_DOC, key, &leaf);
	if (tree_contract_ensure(tx, "fuzz-user", 9, "k", 1, &c) == 0) {
		c.holds = (c.holds + 1) & 0xffff;
		(void)tree_contract_set(tx, &c);
	}
	if (tree_pending_first(tx, &v) == 0)
		(void)tree_pending_put(tx, v + 2, "{}", 2, v);
	/* One root change per transaction: a rotation, or a shred. */
	memset(&stats, 0, sizeof(stats));
	stats.fp = fps;
	stats.fpmax = sizeof(fps) / 16;
	for (i = 0, nids = 0; i < (size_t)nm->nnodes; i++)
		if (nm->nodes[i] >> 56 == 3 || nm->nodes[i] >> 56 == 4)
			ids[nids++] = nm->nodes[i];
	if (nm->rotate)
		rc = tree_rotate_system(tx, TREE_SYS_AUDIT, key, &stats);
	else if (nids > 0)
		rc = tree_shred(tx, ids, nids, &stats);
	else if (nm->nusers > 0)
		rc = tree_user_shred(tx, nm->users[0], strlen(nm->users[0]),
		    &stats);
	else
		rc = -1;
	if (rc == 0) {
		CHECK(stats.nfp <= stats.fpmax);
		CHECK(stats.epoch_after == stats.epoch_before ||
		    stats.epoch_after == stats.epoch_before + 1);
	}
	sodium_free(key);
}

/*
 * What the forensic scan (vault/scan.c) does with a node record it finds
 * in raw bytes: its shape, whether it is the live one, whether it opens
 * under its parent's current key.
 */
static void
scan_record(struct tree_txn *tx, uint64_t id, const uint8_t *rec, size_t len)
{
	static uint8_t buf[8 + 65536];
	uint8_t *pk = sodium_malloc(TREE_KEY_BYTES);
	uint8_t *k = sodium_malloc(TREE_KEY_BYTES);
	size_t reclen = 0;

	if (pk == NULL || k == NULL)
		abort();
	bytes_store64be(buf, id);
	memcpy(buf + 8, rec, len);
	if (tree_record_plausible(buf, 8 + len, &reclen) == 1) {
		CHECK(reclen >= REC_FIXED && reclen <= len);
		(void)tree_record_is_current(tx, id, buf + 8, reclen);
		if (tree_parent_key(tx, bytes_load64(buf + 8 + 4), pk) == 0)
			(void)tree_record_opens(id, buf + 8, reclen, pk, k);
	}
	sodium_free(pk);
	sodium_free(k);
}

/* ---- one input ---- */

static void
apply(struct index_txn *x, struct tree_txn *tx, struct named *nm, int op,
    const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	static uint8_t kb[256], vb[65536 + 16];
	int table = op & OP_TABLE, del = (op & OP_DEL) != 0;
	int fix = (op & OP_FIX) != 0;
	const char *domain;

	if (op & OP_ROTATE)
		nm->rotate = 1;
	if (klen == 0 || table == 6 || table == 7)
		return;
	memcpy(kb, key, klen);
	memcpy(vb, val, vlen);
	/* MDB_DUPFIXED tables: values of one size, as LMDB requires. */
	if (table == T_BY_USER || table == T_CHILDREN ||
	    table == T_USER_CONTRACTS) {
		size_t want = table == T_BY_USER ? 16 : 8;
		if (vlen < want)
			memset(vb + vlen, 0, want - vlen);
		vlen = want;
	}
	if (table == T_BY_USER)
		name_user(nm, kb, klen);
	if (table < T_TREE) {
		if (fix && (domain = mac_domain(table, kb, klen)) != NULL)
			fix_mac(domain, kb, klen, vb, vlen);
		if ((table == T_DOCS || table == T_ARCHIVES) && klen == 16)
			name_docid(nm, kb);
		if (table == T_REVIEWS && klen >= 16)
			name_docid(nm, kb);
		if (table == T_IMETA && klen == 7 && memcmp(kb, "seg", 3) == 0)
			name_seg(nm,
			    (uint32_t)kb[3] << 24 | (uint32_t)kb[4] << 16 |
				(uint32_t)kb[5] << 8 | kb[6]);
		if (table == T_IMETA && klen < sizeof(nm->metas[0]) &&
		    nm->nmetas < MAX_IDS && memchr(kb, 0, klen) == NULL) {
			memcpy(nm->metas[nm->nmetas], kb, klen);
			nm->metas[nm->nmetas++][klen] = '\0';
		}
		(void)index_fuzz_raw(x, table, kb, klen, vb, vlen, del);
		return;
	}
	switch (table) {
	case T_NODES:
		if (klen == 8 && nm->nnodes < MAX_IDS) {
			uint64_t id = bytes_load64be(kb);
			if (fix || (op & OP_PGEN))
				fix_node(nm, tx, id, vb, vlen, fix,
				    op & OP_PGEN);
			nm->gens[nm->nnodes] =
			    vlen >= REC_HDR ? bytes_load64(vb + 20) : 0;
			nm->nodes[nm->nnodes++] = id;
			(void)tree_fuzz_raw(tx, 0, kb, klen, vb, vlen, del);
			scan_record(tx, id, vb, vlen);
			return;
		}
		break;
	case T_USERS:
	case T_FENCE:
	case T_USER_CONTRACTS:
		if (fix) {
			name_user(nm, kb, klen);
			if (tree_id_hash(tx, "user", (const char *)kb, klen,
				kb) != 0)
				return;
			klen = 32;
		}
		break;
	case T_CONTRACTS:
		if (fix) {
			const uint8_t *z = memchr(kb, 0, klen);
			size_t ul = z != NULL ? (size_t)(z - kb) : klen;
			size_t cl = z != NULL ? klen - ul - 1 : 0;
			if (ul <= COFFRE_ID_MAX && cl <= COFFRE_ID_MAX &&
			    nm->ncontracts < MAX_IDS) {
				char(*p)[COFFRE_ID_MAX + 1] =
				    nm->contracts[nm->ncontracts++];
				memcpy(p[0], kb, ul);
				p[0][ul] = '\0';
				memcpy(p[1], kb + ul + (z != NULL), cl);
				p[1][cl] = '\0';
			}
			if (tree_id_hash(tx, "contract", (const char *)kb, klen,
				kb) != 0)
				return;
			klen = 32;
		}
		break;
	case T_TMETA:
		if (klen < sizeof(nm->metas[0]) && nm->nmetas < MAX_IDS &&
		    memchr(kb, 0, klen) == NULL) {
			memcpy(nm->metas[nm->nmetas], kb, klen);
			nm->metas[nm->nmetas++][klen] = '\0';
		}
		break;
	case T_PENDING:
		if (klen == 8 && nm->npending < MAX_IDS)
			nm->pending[nm->npending++] = bytes_load64be(kb);
		break;
	default:
		break;
	}
	(void)tree_fuzz_raw(tx, table - T_TREE, kb, klen, vb, vlen, del);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct named nm;
	struct index_txn *x = NULL;
	struct tree_txn *tx = NULL;
	size_t off = 0;
	int entries = 0;

	if (ix == NULL)
		setup();
	memset(&nm, 0, sizeof(nm));
	if (index_begin(ix, 1, mackey, &x) != 0 ||
	    tree_begin(tree, 1, &tx) != 0) {
		fprintf(stderr, "fuzz_records: cannot begin: %s %s\n",
		    index_errmsg(ix), tree_errmsg(tree));
		abort();
	}
	while (off + 4 <= size && entries++ < MAX_ENTRIES) {
		int op = data[off];
		size_t klen = data[off + 1];
		size_t vlen = bytes_load16(data + off + 2);
		off += 4;
		if (klen > size - off)
			break;
		if (vlen > size - off - klen)
			vlen = size - off - klen;
		apply(x, tx, &nm, op, data + off, klen, data + off + klen,
		    vlen);
		off += klen + vlen;
	}
	index_readers(x, &nm);
	tree_readers(tx, &nm);
	index_abort(x);
	tree_abort(tx);
	return 0;
}
