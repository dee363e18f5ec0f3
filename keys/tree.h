/*
 * tree.h: the key tree.  Every key of the vault but the root is a node of
 * an LMDB environment of its own, DIR/keys/tree.mdb, stored wrapped
 * (XChaCha20-Poly1305) under its parent's current key, with the node's id,
 * its parent's id and the parent's key generation as associated data.  The
 * top node is wrapped under the root key of DIR/keys/root.
 *
 * Shape: four levels of internal nodes of fan-out 64 (the top T, then
 * levels 1 to 3), under which sit the owner nodes (a user's key UK, later a
 * (user, contract) archive key AK), each with its leaves (one per document
 * or archive record).  System nodes (audit signing key, index MAC key, id
 * hashing key) hang under T.  docs/DESIGN.md explains why.
 *
 * Keys handed out by this module are copied into caller buffers, which the
 * caller must hold in sodium_malloc'd memory and wipe.
 */
#ifndef COFFRE_TREE_H
#define COFFRE_TREE_H

#include <stddef.h>
#include <stdint.h>

#define TREE_KEY_BYTES 32
#define TREE_FANOUT_BITS 6
#define TREE_LEVELS 4

/* Return codes besides 0 and -1 (error, message in tree_errmsg()). */
#define TREE_ENOTFOUND (-2)
#define TREE_EFENCED (-3)

/* Node kinds. */
#define TREE_KIND_INTERNAL 1
#define TREE_KIND_SYSTEM 2
#define TREE_KIND_USER 3
#define TREE_KIND_DOC 4
#define TREE_KIND_ARCHIVE_OWNER 5
#define TREE_KIND_ARCHIVE 6

/* System nodes. */
#define TREE_SYS_AUDIT 1  /* Ed25519 seed of the audit signing key */
#define TREE_SYS_INDEX 2  /* MAC key of the data index's records */
#define TREE_SYS_IDHASH 3 /* keyed hash of user ids (lookups, fence) */

struct tree;
struct tree_txn;

/*
 * tree_create(keysdir, pass, passlen, out, err, errlen):
 * Create ${keysdir}/root and ${keysdir}/tree.mdb with the top node and the
 * system nodes.  ${keysdir} must exist.  Returns 0 or -1 (message in err).
 */
int tree_create(const char *keysdir, const char *pass, size_t passlen,
    struct tree **out, char *err, size_t errlen);

/*
 * tree_open(keysdir, pass, passlen, out, err, errlen):
 * Open an existing tree.  Returns 0, -1, or TREE_ENOTFOUND if there is no
 * root file.
 */
int tree_open(const char *keysdir, const char *pass, size_t passlen,
    struct tree **out, char *err, size_t errlen);

/* tree_close(t): close and wipe the cached root key.  NULL is a no-op. */
void tree_close(struct tree *t);

/* tree_errmsg(t): the last error's detail, owned by ${t}. */
const char *tree_errmsg(const struct tree *t);

/*
 * tree_map_size(t, bytes): the LMDB map of keys/tree.mdb starts at ${bytes}
 * (0: 64 GiB), raised to what the data holds; it grows by itself after
 * (keys/lmdbgrow.h).  With no transaction open.  0 or -1.
 */
int tree_map_size(struct tree *t, uint64_t bytes);

/*
 * tree_map_grow(t): after a failure, with no transaction open: 1 when a
 * transaction had filled the map and the map was doubled (run that
 * transaction again), 0 when not, -1 when it could not grow.
 */
int tree_map_grow(struct tree *t);

/* tree_map_stats(t, grows, fulls): times the map grew, and of those after a
 * transaction filled it. */
void tree_map_stats(const struct tree *t, unsigned *grows, unsigned *fulls);

/*
 * tree_begin(t, write, out): start a transaction.  A write transaction
 * also finishes a root change that crashed (erases a stale slot); call it
 * only under the vault's writer lock.  Returns 0 or -1.
 */
int tree_begin(struct tree *t, int write, struct tree_txn **out);

/*
 * tree_commit(x): commit and free ${x}.  When the transaction changed the
 * root key, this runs the crash-ordered root change (new slot, sync,
 * commit, erase old slot, sync).  Returns 0 or -1; ${x} is freed either way.
 */
int tree_commit(struct tree_txn *x);

/*
 * tree_settle(t): wait until the erasure of the old root slot, which
 * tree_commit() leaves running after a root change, is on disk.  Returns 0,
 * or -1 if it failed (the old root may still be there: say so).  A shred is
 * not done until this returned 0.
 */
int tree_settle(struct tree *t);

/* tree_abort(x): abort and free ${x} (a staged root change is dropped).
 * NULL is a no-op. */
void tree_abort(struct tree_txn *x);

/*
 * tree_meta_get(x, name, v) / tree_meta_put(x, name, v): a u64 setting kept
 * with the keys (so that no rollback of the data can change it), such as
 * "retention_years".  get returns 0, TREE_ENOTFOUND or -1; put 0 or -1.
 */
int tree_meta_get(struct tree_txn *x, const char *name, uint64_t *v);
int tree_meta_put(struct tree_txn *x, const char *name, uint64_t v);

/* tree_txn_serial(x): a number no other transaction of the handle has. */
uint64_t tree_txn_serial(const struct tree_txn *x);

/* tree_epoch(x): the root epoch this transaction sees. */
uint64_t tree_epoch(const struct tree_txn *x);

/*
 * tree_user_find(x, user, len, node): the owner node of ${user}.  Returns
 * 0, TREE_ENOTFOUND, TREE_EFENCED (shredded), or -1.
 */
int tree_user_find(struct tree_txn *x, const char *user, size_t len,
    uint64_t *node);

/*
 * tree_user_ensure(x, user, len, node): like tree_user_find(), but creates
 * the user's node (and the internal nodes above it) if it does not exist.
 * Returns 0, TREE_EFENCED, or -1.  Needs a write transaction.
 */
int tree_user_ensure(struct tree_txn *x, const char *user, size_t len,
    uint64_t *node);

/*
 * tree_leaf_new(x, owner, kind, key, leaf): create a leaf of ${kind} under
 * the owner node ${owner}, with a fresh random key copied into ${key}.
 * Returns 0, TREE_ENOTFOUND (no such owner), or -1.
 */
int tree_leaf_new(struct tree_txn *x, uint64_t owner, int kind,
    uint8_t key[TREE_KEY_BYTES], uint64_t *leaf);

/*
 * tree_node_key(x, id, key): unwrap node ${id} along its path from the root
 * into ${key}.  Returns 0, TREE_ENOTFOUND (the node does not exist: never
 * made, or destroyed), or -1 (corruption: a wrapping does not open).
 */
int tree_node_key(struct tree_txn *x, uint64_t id, uint8_t key[TREE_KEY_BYTES]);

/*
 * tree_node_exists(x, id): 1 if node ${id} is there, 0 if not, -1 on error.
 * It does not authenticate the node (tree_node_key() does).
 */
int tree_node_exists(struct tree_txn *x, uint64_t id);

/* tree_node_parent(x, id, parent): 0, TREE_ENOTFOUND or -1. */
int tree_node_parent(struct tree_txn *x, uint64_t id, uint64_t *parent);

/* tree_system_key(x, which, key): the key of system node ${which}. */
int tree_system_key(struct tree_txn *x, int which, uint8_t key[TREE_KEY_BYTES]);

/*
 * tree_id_hash(x, domain, s, len, out): keyed BLAKE2b-256 of ${s} under the
 * id hashing key, separated by ${domain}.  Returns 0 or -1.
 */
int tree_id_hash(struct tree_txn *x, const char *domain, const char *s,
    size_t len, uint8_t out[32]);

/*
 * tree_audit_pubkey(x, pk): the audit public key (32 bytes).
 */
int tree_audit_pubkey(struct tree_txn *x, uint8_t pk[32]);

/* What a shred did: for the audit log and the benchmarks. */
struct tree_shred_stats {
	/* In: room for fingerprints of the shredded nodes' keys (fpmax of
	 * 16 bytes at fp, or fp NULL); out: how many were written. */
	uint8_t *fp;
	size_t fpmax, nfp;
	uint64_t destroyed;    /* keys destroyed (nodes deleted) */
	uint64_t rekeyed;      /* ancestors given a new key */
	uint64_t wraps;        /* wrappings written */
	uint64_t epoch_before; /* root epoch before and after */
	uint64_t epoch_after;
};

/*
 * tree_shred(x, ids, n, stats): destroy the nodes ${ids} and everything
 * under them.  Every ancestor of them is re-keyed once (its remaining
 * children rewrapped under a fresh key), and the top is wrapped under a new
 * root key at the next epoch, which tree_commit() puts in place in the
 * crash order of docs/SHREDDING.md.  Nodes that do not exist are skipped.
 * Returns 0 or -1.  WARNING: nothing is destroyed until tree_commit()
 * returns 0; on any error, abort.
 */
int tree_shred(struct tree_txn *x, const uint64_t *ids, size_t n,
    struct tree_shred_stats *stats);

/*
 * tree_rotate_system(x, which, key, stats): give system node ${which} the
 * new key ${key}, and re-key the top under a new root, so that no old copy
 * of the node's former key opens with any key that stays.  Nothing is
 * changed until tree_commit() returns 0.  Returns 0 or -1.
 */
int tree_rotate_system(struct tree_txn *x, int which,
    const uint8_t key[TREE_KEY_BYTES], struct tree_shred_stats *stats);

/*
 * tree_user_shred(x, user, len, stats): fence ${user} (a later
 * tree_user_ensure() gives TREE_EFENCED), forget its node, and shred it.
 * Returns 0, TREE_EFENCED (already shredded: nothing to do), or -1.
 */
int tree_user_shred(struct tree_txn *x, const char *user, size_t len,
    struct tree_shred_stats *stats);

/*
 * tree_leaves(x, fn, ctx): each leaf node (documents, archive records) in
 * id order, with its kind and parent.  ${fn} returns 0 to go on.
 */
int tree_leaves(struct tree_txn *x,
    int (*fn)(void *ctx, uint64_t id, int kind, uint64_t parent), void *ctx);

/*
 * For the forensic scan (vault/scan.c), which looks for node records in raw
 * file bytes:
 * tree_record_plausible(p, avail, reclen): 1 if the bytes at ${p} have the
 * shape of an LMDB leaf's 8-byte node id followed by a node record, with
 * its length in *reclen.
 * tree_record_is_current(x, id, rec, len): 1 if node ${id} is live with
 * exactly these bytes.
 * tree_parent_key(x, parent, key): the current key of ${parent} (the root
 * key for 0).  0, TREE_ENOTFOUND, -1.
 * tree_record_opens(id, rec, len, key, out): 1 if ${rec} unwraps under
 * ${key} (the key it wraps then in ${out}, unless NULL).
 * tree_root_clean(x): 0 if the root file holds only the current slot.
 */
int tree_record_plausible(const uint8_t *p, size_t avail, size_t *reclen);
int tree_record_is_current(struct tree_txn *x, uint64_t id, const uint8_t *rec,
    size_t len);
int tree_parent_key(struct tree_txn *x, uint64_t parent,
    uint8_t key[TREE_KEY_BYTES]);
int tree_record_opens(uint64_t id, const uint8_t *rec, size_t len,
    const uint8_t key[TREE_KEY_BYTES], uint8_t *out);
int tree_root_clean(struct tree_txn *x);

/*
 * The state of a contract, kept in the attributes of its archive owner node
 * (authenticated with its wrapping, in keys/: no rollback of the data
 * changes it).  Days count from 1970-01-01 (UTC).
 */
struct tree_contract {
	uint64_t node;
	int ended;            /* 0 while the contract runs */
	int32_t end_day;      /* the end of the contract, when ended */
	int32_t retain_until; /* the last day of retention, when ended */
	unsigned holds;       /* legal holds standing */
};

/*
 * tree_contract_find(x, user, ulen, contract, clen, c): the contract of
 * (${user}, ${contract}).  0, TREE_ENOTFOUND, -1.
 * tree_contract_ensure(): the same, creating a running contract (its owner
 * node) when there is none.  0, TREE_EFENCED (the contract was swept: its
 * name is not reused), or -1.
 * tree_contract_get(x, node, c): the authenticated state of ${node}.
 * tree_contract_set(x, c): write ${c}'s state (same key, rewrapped).
 * tree_contracts_of_user(x, user, ulen, fn, ctx), tree_contracts_all(x, fn,
 * ctx): each contract of a user, or of the vault; ${fn} returns 0 to go on.
 * A swept contract is gone: find() gives TREE_ENOTFOUND, the lists skip it.
 */
int tree_contract_find(struct tree_txn *x, const char *user, size_t ulen,
    const char *contract, size_t clen, struct tree_contract *c);
int tree_contract_ensure(struct tree_txn *x, const char *user, size_t ulen,
    const char *contract, size_t clen, struct tree_contract *c);
int tree_contract_get(struct tree_txn *x, uint64_t node,
    struct tree_contract *c);
int tree_contract_set(struct tree_txn *x, const struct tree_contract *c);
int tree_contracts_of_user(struct tree_txn *x, const char *user, size_t ulen,
    int (*fn)(void *ctx, struct tree_contract *c), void *ctx);
int tree_contracts_all(struct tree_txn *x,
    int (*fn)(void *ctx, struct tree_contract *c), void *ctx);

/*
 * tree_is_child(x, parent, child): 1 if ${parent} lists ${child} among its
 * children, 0 if not, -1 on error.  A shred deletes a node and its link in
 * one commit, so a link to a missing node is corruption, not a shred.
 */
int tree_is_child(struct tree_txn *x, uint64_t parent, uint64_t child);

/*
 * tree_last_txnid(t): how many write transactions the key tree committed
 * (a counter in its meta table, kept by tree_commit()), which the index
 * records so that a key tree older than the index (a damaged meta page, a
 * restored copy) is found.
 */
uint64_t tree_last_txnid(struct tree *t);

/*
 * tree_fingerprint(x, id, fp): a keyed BLAKE2b-128 of node ${id}'s key
 * (under the id hashing key), never the key: the audit log records it for
 * a destroyed key, so that an auditor can match a shred to its keys.
 */
int tree_fingerprint(struct tree_txn *x, uint64_t id, uint8_t fp[16]);

/*
 * Audit events of operations that change the key tree are written into it
 * too (table "audit_pending"), in the same commit, then appended to the
 * log in the index; one that a crash kept from the index is appended from
 * here by the next append (vault/audit.c).  So no destroyed key goes
 * without its event.
 * tree_pending_put(x, seq, line, len, logged): record event ${seq}, and
 * drop the entries up to ${logged} (the log's head: they are in it).
 * tree_pending_get(x, seq, line, len): 0 or TREE_ENOTFOUND; the line is
 * valid for the transaction's life.
 */
int tree_pending_put(struct tree_txn *x, uint64_t seq, const char *line,
    size_t len, uint64_t logged);
int tree_pending_get(struct tree_txn *x, uint64_t seq, const char **line,
    size_t *len);
/* tree_pending_first(x, seq): the lowest pending number; TREE_ENOTFOUND. */
int tree_pending_first(struct tree_txn *x, uint64_t *seq);

#endif /* !COFFRE_TREE_H */
