/*
 * index.h: the data index, an LMDB environment of its own (DIR/index.mdb),
 * apart from the key tree.  It holds no key in any form: document records
 * (where the sealed body lies, its key's node id, user, community, kind,
 * detected type, size, status, creation time, and the name sealed under the
 * document's key), reviews (notes sealed the same way), a by-user table and
 * the committed end of each segment.  Every record carries a keyed BLAKE2b
 * MAC under the index MAC key (a system node of the key tree), bound to its
 * LMDB key, so a changed, moved or swapped record reads as corruption.
 */
#ifndef COFFRE_INDEX_H
#define COFFRE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "coffre.h"
#include "vault/segment.h"

#define INDEX_ENOTFOUND (-2)
#define INDEX_MAC_BYTES 32
#define INDEX_SEALED_NAME_MAX (24 + COFFRE_NAME_MAX + 16)
#define INDEX_SEALED_NOTE_MAX (24 + COFFRE_NOTE_MAX + 16)

struct idoc {
	uint8_t id[16];
	int status;
	struct segloc loc;
	uint64_t size;
	int64_t created;
	uint64_t keyid;
	char user[COFFRE_ID_MAX + 1];
	char community[COFFRE_ID_MAX + 1];
	char kind[COFFRE_ID_MAX + 1];
	char type[COFFRE_TYPE_MAX + 1];
	uint8_t sname[INDEX_SEALED_NAME_MAX]; /* nonce, then ciphertext */
	size_t snamelen;
};

struct ireview {
	int decision;
	int64_t at;
	uint8_t snote[INDEX_SEALED_NOTE_MAX];
	size_t snotelen;
};

struct index;
struct index_txn;

/* index_open(dir, create, out, err, errlen): DIR/index.mdb.  0 or -1. */
int index_open(const char *dir, int create, struct index **out, char *err,
    size_t errlen);

/* index_close(ix): NULL is a no-op. */
void index_close(struct index *ix);

/* index_errmsg(ix): the last error's detail, owned by ${ix}. */
const char *index_errmsg(const struct index *ix);

/* index_map_size(), index_map_grow(), index_map_stats(): the map of
 * index.mdb, as tree_map_size() and the others of keys/tree.h. */
int index_map_size(struct index *ix, uint64_t bytes);
int index_map_grow(struct index *ix);
void index_map_stats(const struct index *ix, unsigned *grows, unsigned *fulls);

/*
 * index_begin(ix, write, mackey, out): start a transaction whose records
 * are checked and signed with ${mackey} (32 bytes, kept by the caller for
 * the transaction's life).  0 or -1.
 */
int index_begin(struct index *ix, int write, const uint8_t *mackey,
    struct index_txn **out);

/* index_commit(x): commit and free.  0 or -1. */
int index_commit(struct index_txn *x);

/*
 * index_commit_lazy(x): commit without syncing LMDB's meta page: a system
 * crash may undo this transaction (never corrupt the index).  Only for
 * changes that a crash may legitimately lose and `check --repair` redoes,
 * such as marking records shredded after their keys are gone.
 */
int index_commit_lazy(struct index_txn *x);

/* index_abort(x): NULL is a no-op. */
void index_abort(struct index_txn *x);

/* index_next_seq(x, seq): draw the next document sequence number. */
int index_next_seq(struct index_txn *x, uint64_t *seq);

/* index_seg_end(x, segno, end): committed end of a segment (or 32). */
int index_seg_end(struct index_txn *x, uint32_t segno, uint64_t *end);

/* index_doc_put(x, d): write a document record (new or updated). */
int index_doc_put(struct index_txn *x, const struct idoc *d);

/*
 * index_doc_get(x, id, d): read and authenticate a record.  0,
 * INDEX_ENOTFOUND, or -1 (corruption).
 */
int index_doc_get(struct index_txn *x, const uint8_t id[16], struct idoc *d);

/* index_review_add(x, id, r): append a review to document ${id}. */
int index_review_add(struct index_txn *x, const uint8_t id[16],
    const struct ireview *r);

/*
 * index_reviews(x, id, fn, ctx): each review of ${id}, oldest first.
 * ${fn} returns 0 to go on.  0, -1, or what ${fn} returned.
 */
int index_reviews(struct index_txn *x, const uint8_t id[16],
    int (*fn)(void *ctx, const struct ireview *r), void *ctx);

/*
 * index_docs(x, user, fn, ctx): each document record, oldest first; only
 * those of ${user} when it is not NULL.  0, -1, or what ${fn} returned.
 */
int index_docs(struct index_txn *x, const char *user,
    int (*fn)(void *ctx, const struct idoc *d), void *ctx);

/*
 * Archive records: the same layout as documents in a table of their own
 * ("archives"), with the contract id in the community field and their own
 * MAC domain.  index_arcs() gives them oldest first.
 */
int index_arc_put(struct index_txn *x, const struct idoc *d);
int index_arc_get(struct index_txn *x, const uint8_t id[16], struct idoc *d);
int index_arcs(struct index_txn *x, int (*fn)(void *ctx, const struct idoc *d),
    void *ctx);

/*
 * The audit log (vault/audit.c): table "audit", u64 BE sequence number ->
 * one event, a line of JSON text; and the head (last sequence number and the
 * BLAKE2b-256 of its line) in meta "audit_head".  Events are appended in the
 * same transaction as the change they record.
 * index_audit_head(): 0, or INDEX_ENOTFOUND for an empty log (seq 0).
 * index_audit_put(): append line ${seq} (never overwrites) and move the head.
 * index_audit_lines(): each line after ${after}, in order.
 */
int index_audit_head(struct index_txn *x, uint64_t *seq, uint8_t hash[32]);
int index_audit_put(struct index_txn *x, uint64_t seq, const char *line,
    size_t len, const uint8_t hash[32]);
int index_audit_lines(struct index_txn *x, uint64_t after,
    int (*fn)(void *ctx, uint64_t seq, const char *line, size_t len),
    void *ctx);

/*
 * index_id_known(x, id): 1 if the by-user table names document ${id}, 0 if
 * not, -1 on error.  A scan: only for telling a missing record (corrupt)
 * from an unknown id when a lookup finds nothing.
 */
int index_id_known(struct index_txn *x, const uint8_t id[16]);

/*
 * index_sync(ix): make the last commit durable (after index_commit_lazy(),
 * whose meta page may not be on disk yet).  0 or -1.
 */
int index_sync(struct index *ix);

/* index_meta_u64() / index_meta_put_u64(): a u64 in meta (0 if absent). */
int index_meta_u64(struct index_txn *x, const char *name, uint64_t *v);
int index_meta_put_u64(struct index_txn *x, const char *name, uint64_t v);

#endif /* !COFFRE_INDEX_H */
