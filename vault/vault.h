/*
 * vault.h: what the parts of the vault implementation (vault.c, check.c,
 * scan.c) share: the handle and its helpers.  Not part of the public API.
 */
#ifndef COFFRE_VAULT_H
#define COFFRE_VAULT_H

#include <stdint.h>

#include <sodium.h>

#include "coffre.h"
#include "vault/config.h"
#include "vault/index.h"

#define CHUNK_BYTES (64 * 1024)
#define HEAD_CACHE 16
#define CT_BYTES (CHUNK_BYTES + crypto_secretstream_xchacha20poly1305_ABYTES)

struct tree;
struct tree_txn;
struct audit_ev;
struct segstore;
struct policy;

struct coffre_vault {
	char dir[4096];
	int lockfd;
	struct tree *tree;
	struct index *index;
	struct segstore *segs;
	struct policy *policy; /* loaded on first seal */
	struct config conf;
	uint64_t max_doc_override;
	uint8_t *mackey;   /* sodium_malloc'd index MAC key */
	uint8_t *dk;       /* sodium_malloc'd document key (scratch) */
	uint8_t *sub;      /* sodium_malloc'd subkey (scratch) */
	uint8_t *secrets;  /* sodium_malloc'd: mackey, dk, sub, audit_sk */
	uint8_t *audit_sk; /* Ed25519 secret key (64 bytes), in secrets */
	uint8_t audit_pk[32];
	char actor[80]; /* who acts: "local", or "ROLE:uid:N" (daemon) */
	int locked;     /* 0, LOCK_SH or LOCK_EX: what this handle holds */
	/* The last event pended in key-tree transaction pend_serial: the next
	 * one chains to it without looking again (vault/audit.c). */
	uint64_t pend_serial, pend_seq, pend_logged;
	uint8_t pend_hash[32];
	struct coffre_review *reviews;
	size_t nreviews, capreviews;
	/* Head buffers of the first seals of a batch, kept from one batch to
	 * the next (sodium_malloc'd, POLICY_HEAD_BYTES, wiped after use). */
	uint8_t *heads[HEAD_CACHE];
	char err[768];
};

/*
 * vault_grow(v, a, cap, n, size): make room in the malloc'd array *${a}
 * (*${cap} elements of ${size} bytes) for element ${n}, doubling it.
 * 0, or COFFRE_EFAIL (out of memory; *${a} unchanged).
 */
int vault_grow(coffre_vault *v, void **a, size_t *cap, size_t n, size_t size);

/* vault_shred_result(res, st): a shred's figures for the caller. */
struct tree_shred_stats;
void vault_shred_result(struct coffre_shred_result *res,
    const struct tree_shred_stats *st);

/* vault_err(v, code, fmt, ...): set the handle's message; returns code. */
int vault_err(coffre_vault *v, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* vault_lock(v, how): flock DIR/lock (LOCK_SH or LOCK_EX).  0 or code. */
int vault_lock(coffre_vault *v, int how);

/* vault_unlock(v): release DIR/lock. */
void vault_unlock(coffre_vault *v);

/* vault_tree_code(v, rc): a tree error as a COFFRE_E* code and message. */
int vault_tree_code(coffre_vault *v, int rc);

/* vault_index_code(v): the index's error as COFFRE_EFAIL and message. */
int vault_index_code(coffre_vault *v);

/*
 * vault_map_grow(v): after a failure, with no transaction open: 1 when a
 * transaction had filled an LMDB map and that map was doubled, so the
 * operation may run again; else 0 (keys/lmdbgrow.h).  An operation tries
 * at most VAULT_MAP_TRIES times more.
 */
#define VAULT_MAP_TRIES 8
int vault_map_grow(coffre_vault *v);

/*
 * vault_doc_load(v, id, d, key): the record of document ${id} into ${d};
 * with ${key}, its key into v->dk.  0 or a COFFRE_E* code.
 */
int vault_doc_load(coffre_vault *v, const char *id, struct idoc *d, int key);

/*
 * vault_open_text(v, id, dom, in, inlen, out, max): open text sealed under
 * the metadata subkey of the key in v->dk.  0 or -1.
 */
int vault_open_text(coffre_vault *v, const uint8_t id[16], const char *dom,
    const uint8_t *in, size_t inlen, char *out, size_t max);

/*
 * vault_read(v, op, ids, rc, ev, d, wr, wrctx): the end of a read of
 * plaintext, called under the shared vault lock with ${rc} the result of
 * loading the record (and key) into ${d}: log it (done, durably, before
 * any byte goes; or the refusal), release the lock, then give a reader of
 * the body in *${out}.  Returns the read's code.
 */
int vault_read(coffre_vault *v, const char *op, const char *ids, int rc,
    struct audit_ev *ev, const struct idoc *d, coffre_reader **out);

/*
 * vault_reader(v, d, ids, out): a reader of record ${d}, whose key is in
 * v->dk (wiped here).  No lock needed.  0 or a code.
 */
int vault_reader(coffre_vault *v, const struct idoc *d, const char *ids,
    coffre_reader **out);

/*
 * bundle_is_archive(head, len, fmt, fmtlen): 1 if libarchive reads the
 * ${len} bytes at ${head} as an archive (its format's name into ${fmt}).
 */
int bundle_is_archive(const uint8_t *head, size_t len, char *fmt,
    size_t fmtlen);

/* vault_pump(v, r, wr, wrctx): copy reader ${r} to ${wr}, close it. */
int vault_pump(coffre_vault *v, coffre_reader *r, coffre_write_fn wr,
    void *wrctx);

/*
 * vault_stream_body(v, d, ids, wr, wrctx): authenticate and decrypt the body
 * of ${d}, whose key is in v->dk (wiped here), pushing plaintext to ${wr}.
 * Takes no lock.  0 or a COFFRE_E* code.
 */
int vault_stream_body(coffre_vault *v, const struct idoc *d, const char *ids,
    coffre_write_fn wr, void *wrctx);

/*
 * vault_seal(v, archive, user, group, kind, name, rd, rdctx, id, type,
 * size): coffre_seal() for a document (${group} is the community), or with
 * ${archive} an archive record under the contract (${user}, ${group}).
 */
int vault_seal(coffre_vault *v, int archive, const char *user,
    const char *group, const char *kind, const char *name, coffre_read_fn rd,
    void *rdctx, char id[COFFRE_DOCID_LEN + 1], char *type, uint64_t *size);

struct tree_contract;

/* vault_today(): the current day (UTC), days since 1970-01-01. */
int32_t vault_today(void);

/*
 * vault_contract_expired(c): 1 if ${c} has ended, its retention is over
 * (today is past its retain-until day) and no hold stands.
 */
int vault_contract_expired(const struct tree_contract *c);

/*
 * vault_end_user_contracts(v, tx, user, count): end today, within ${tx},
 * every running contract of ${user} (shred --user does).  0 or a code.
 */
int vault_end_user_contracts(coffre_vault *v, struct tree_txn *tx,
    const char *user, uint64_t *count);

/*
 * The audit log (vault/audit.c).  An event is one line of JSON: sequence
 * number, time, actor, operation, result, then the operation's fields
 * (opaque ids and counts, never a name, note or reason in the clear), and
 * the BLAKE2b-256 of the previous line.  Each transaction that appends
 * events ends with a checkpoint line signed with the audit key.
 */
struct audit_ev {
	char buf[4096]; /* ,"key":value ... */
	size_t len;
	int overflow;
};

void audit_ev_init(struct audit_ev *e);
void audit_ev_str(struct audit_ev *e, const char *key, const char *val);
void audit_ev_num(struct audit_ev *e, const char *key, uint64_t val);
void audit_ev_raw(struct audit_ev *e, const char *key, const char *json);
/* What a shred destroyed: keys, fingerprints, root epochs before, after. */
struct tree_shred_stats;
void audit_ev_shred(struct audit_ev *e, const struct tree_shred_stats *st);

/* A 16-byte fingerprint list as a JSON array of hex strings. */
void audit_ev_fps(struct audit_ev *e, const char *key, const uint8_t *fp,
    size_t n);
/* Free text (a reason), sealed under the audit sealing key. */
void audit_ev_sealed(coffre_vault *v, struct audit_ev *e, const char *key,
    const char *text);

/*
 * audit_append(v, ix, op, result, e): append an event in the index write
 * transaction ${ix}, after any event that a crash left only in the key
 * tree, and a checkpoint.  0 or a COFFRE_E* code.
 */
int audit_append(coffre_vault *v, struct index_txn *ix, const char *op,
    const char *result, const struct audit_ev *e);

/*
 * audit_append_opt(v, ix, op, result, e, sign): audit_append() whose
 * checkpoint is left out (${sign} 0: another append later in the same
 * transaction signs), or forced (-1, with ${op} NULL).  For batches.
 */
int audit_append_opt(coffre_vault *v, struct index_txn *ix, const char *op,
    const char *result, const struct audit_ev *e, int sign);

/*
 * audit_pend(v, tx, op, result, e): for an operation that commits in the
 * key tree first: write the event into ${tx} (pending) and keep it in
 * v->pend, for audit_flush() to append after the tree commit.
 */
int audit_pend(coffre_vault *v, struct tree_txn *tx, const char *op,
    const char *result, const struct audit_ev *e);

/*
 * audit_flush(v, ix): append the pending event(s) (and a checkpoint) in
 * ${ix}, or in a transaction of its own when ${ix} is NULL.
 */
int audit_flush(coffre_vault *v, struct index_txn *ix);

/*
 * audit_log(v, op, result, e): append an event in a transaction of its own
 * (reads of plaintext, refusals).  0 or a code.
 */
int audit_log(coffre_vault *v, const char *op, const char *result,
    const struct audit_ev *e);

/* audit_refused(v, op, code, e): log a refusal named by ${code}. */
void audit_refused(coffre_vault *v, const char *op, int code,
    struct audit_ev *e);

#endif /* !COFFRE_VAULT_H */
