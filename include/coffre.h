/*
 * coffre.h: the public API of coffre, an encrypted vault for supporting
 * documents (identity cards, diplomas, professional cards).
 *
 * CAVEATS
 *
 * - One writer at a time.  A coffre_vault handle takes an exclusive lock on
 *   DIR/lock (flock) for every operation that changes the vault, and a
 *   shared one for every read, so that no reader ever sees a root change
 *   half done; a second process waits for the lock.
 * - Threads.  A handle may be used by one thread at a time.  Open one handle
 *   per thread, or serialise calls (the daemon does the latter).
 * - fork().  Do not use a handle in a child after fork(): LMDB environments
 *   and the locked key memory are not fork-safe.
 * - Secrets.  Keys never leave the library.  Plaintext handed to a writer
 *   callback is only valid during the call; copy it into protected memory if
 *   you must keep it.
 * - Errors.  Every function that can fail returns 0 or a COFFRE_E* code,
 *   whose value is the exit status of SPEC.md section 4.  The handle keeps a
 *   message with the detail (coffre_errmsg()); the library never prints,
 *   exits or aborts.
 */
#ifndef COFFRE_H
#define COFFRE_H

#include <stddef.h>
#include <stdint.h>

#define COFFRE_VERSION "0.1.0"

/* Error codes: the process exit codes of SPEC.md section 4. */
#define COFFRE_OK 0
#define COFFRE_EFAIL 1     /* I/O error, corruption, internal error */
#define COFFRE_EUSAGE 2    /* bad call: unknown flag, missing argument */
#define COFFRE_ENOTFOUND 3 /* no such document, archive, user or file */
#define COFFRE_EGONE 4     /* shredded, or retention ended */
#define COFFRE_EREJECT 5   /* type not allowed, too large, malformed id */
#define COFFRE_EDENIED 6   /* the caller's role may not do this */
#define COFFRE_ELOCKED 7   /* retention lock */
#define COFFRE_ENODAEMON 8 /* no daemon answers on the socket */

/* Limits on identifiers and free text. */
#define COFFRE_ID_MAX 128    /* user, community, contract, kind ids */
#define COFFRE_NAME_MAX 255  /* a document's name */
#define COFFRE_NOTE_MAX 4096 /* a review note or reason */
#define COFFRE_DOCID_LEN 22  /* base64url of 16 bytes, no padding */
#define COFFRE_TYPE_MAX 127  /* a detected MIME type */
#define COFFRE_DEFAULT_MAX_DOC (32u * 1024u * 1024u)
#define COFFRE_DEFAULT_RETENTION_YEARS 5

typedef struct coffre_vault coffre_vault;

/* Document status. */
enum coffre_status {
	COFFRE_PENDING = 0,
	COFFRE_APPROVED = 1,
	COFFRE_REJECTED = 2,
	COFFRE_SHREDDED = 3
};

/* Options of coffre_init(). */
struct coffre_init_opts {
	unsigned retention_years; /* 0 means the default, 5 */
	/* Passphrase that wraps the root key (Argon2id), or NULL for a root
	 * key file protected by its mode alone.  Not copied past the call. */
	const char *passphrase;
	size_t passphrase_len;
};

/* One review of a document. */
struct coffre_review {
	int decision; /* COFFRE_APPROVED or COFFRE_REJECTED */
	int64_t at;   /* unix seconds */
	char note[COFFRE_NOTE_MAX + 1];
};

/* Metadata of one document.  Filled by coffre_info() and coffre_list(). */
struct coffre_doc {
	char id[COFFRE_DOCID_LEN + 1];
	char user[COFFRE_ID_MAX + 1];
	char community[COFFRE_ID_MAX + 1];
	char kind[COFFRE_ID_MAX + 1];   /* "" when none was given */
	char name[COFFRE_NAME_MAX + 1]; /* "" when none, or when shredded */
	char type[COFFRE_TYPE_MAX + 1];
	uint64_t size; /* plaintext bytes */
	int status;    /* enum coffre_status */
	int64_t created;
	/* Reviews, oldest first; owned by the library, valid until the next
	 * call on the same handle or coffre_close().  Only coffre_info() fills
	 * them; coffre_list() sets nreviews to 0. */
	const struct coffre_review *reviews;
	size_t nreviews;
};

/* Filter of coffre_list(): NULL fields match everything. */
struct coffre_filter {
	const char *user;
	const char *community;
	int status; /* -1 for any */
};

/*
 * Reader: the library pulls bytes to seal from it.  It returns the number of
 * bytes put in buf (0 at the end of the input), or -1 on error with errno
 * set.
 */
typedef long (*coffre_read_fn)(void *ctx, uint8_t *buf, size_t len);

/*
 * Writer: the library pushes plaintext to it.  It returns 0, or -1 on error
 * with errno set.  The bytes are only valid during the call.
 */
typedef int (*coffre_write_fn)(void *ctx, const uint8_t *buf, size_t len);

/*
 * coffre_init(dir, opts, pubkey, errbuf, errlen):
 * Create a new vault in ${dir} (created 0700 if missing; it must be empty of
 * any vault).  Writes the audit public key, base64, NUL-terminated, into
 * ${pubkey} (at least 64 bytes).  On error a message is written to ${errbuf}.
 * Returns 0, COFFRE_EFAIL (exists already: the message says so; or I/O).
 */
int coffre_init(const char *dir, const struct coffre_init_opts *opts,
    char pubkey[64], char *errbuf, size_t errlen);

/*
 * coffre_open(dir, passphrase, passphrase_len, out, errbuf, errlen):
 * Open the vault in ${dir}.  ${passphrase} may be NULL if the root key is
 * not wrapped.  On success *out is a handle owned by the caller, to be
 * released with coffre_close().  Returns 0, COFFRE_ENOTFOUND (no vault),
 * COFFRE_EFAIL (corruption, wrong passphrase, I/O).
 */
int coffre_open(const char *dir, const char *passphrase, size_t passphrase_len,
    coffre_vault **out, char *errbuf, size_t errlen);

/* coffre_close(v): release ${v} and wipe its keys.  NULL is a no-op. */
void coffre_close(coffre_vault *v);

/*
 * coffre_errmsg(v): the detail of the last error on ${v}, owned by ${v},
 * valid until the next call on it.  Never NULL.
 */
const char *coffre_errmsg(const coffre_vault *v);

/* coffre_strerror(code): a static name for an error code. */
const char *coffre_strerror(int code);

/* coffre_valid_id(s): 1 if ${s} is a valid user/community/contract/kind id. */
int coffre_valid_id(const char *s);

/* coffre_valid_docid(s): 1 if ${s} has the shape of a document id. */
int coffre_valid_docid(const char *s);

/*
 * coffre_seal(v, user, community, kind, name, rd, rdctx, id, type, size):
 * Seal the bytes pulled from ${rd} as a new document of ${user} in
 * ${community}; ${kind} and ${name} may be NULL.  The document is durable
 * before this returns 0.  ${id} receives the new document id; ${type}
 * (COFFRE_TYPE_MAX + 1 bytes) the detected type; *size the plaintext size.
 * Returns 0, COFFRE_EREJECT (bad id or name, type not allowed, too large,
 * empty), COFFRE_EGONE (the user was shredded), COFFRE_EFAIL (I/O).
 * Nothing is left in the vault on failure.
 */
int coffre_seal(coffre_vault *v, const char *user, const char *community,
    const char *kind, const char *name, coffre_read_fn rd, void *rdctx,
    char id[COFFRE_DOCID_LEN + 1], char *type, uint64_t *size);

/*
 * coffre_open_doc(v, id, wr, wrctx):
 * Authenticate and decrypt document ${id}, pushing its plaintext to ${wr} in
 * chunks.  WARNING: a chunk is verified before it is pushed, but the whole
 * document is only known to be complete and untruncated once this returns 0;
 * a caller that writes to a file must discard it on any other return.
 * Returns 0, COFFRE_EREJECT (malformed id), COFFRE_ENOTFOUND, COFFRE_EGONE
 * (shredded), COFFRE_EFAIL (corruption, truncation, or ${wr} failed).
 */
int coffre_open_doc(coffre_vault *v, const char *id, coffre_write_fn wr,
    void *wrctx);

/*
 * coffre_info(v, id, doc): metadata of document ${id} into ${doc}, with
 * its reviews and its name (unsealed).  Returns 0, COFFRE_EREJECT,
 * COFFRE_ENOTFOUND, COFFRE_EFAIL.  A shredded document is returned with
 * status COFFRE_SHREDDED and an empty name.
 */
int coffre_info(coffre_vault *v, const char *id, struct coffre_doc *doc);

/*
 * Callback of coffre_list(): return 0 to go on, non-zero to stop (that value
 * is then returned by coffre_list()).  ${doc} is valid during the call.
 */
typedef int (*coffre_list_fn)(void *ctx, const struct coffre_doc *doc);

/*
 * coffre_list(v, filter, fn, ctx): every document that matches ${filter},
 * oldest first, with its name.  Returns 0, COFFRE_EREJECT (bad filter),
 * COFFRE_EFAIL (corruption), or what ${fn} returned.
 */
int coffre_list(coffre_vault *v, const struct coffre_filter *filter,
    coffre_list_fn fn, void *ctx);

/*
 * coffre_review(v, id, decision, note):
 * Append a review (COFFRE_APPROVED or COFFRE_REJECTED) to document ${id};
 * ${note} may be NULL.  It is sealed under the document's key.  Returns 0,
 * COFFRE_EREJECT, COFFRE_ENOTFOUND, COFFRE_EGONE, COFFRE_EFAIL.
 */
int coffre_review(coffre_vault *v, const char *id, int decision,
    const char *note);

/* What a shred did. */
struct coffre_shred_result {
	uint64_t documents;       /* documents that became unrecoverable */
	uint64_t contracts_ended; /* running contracts ended (shred --user) */
	uint64_t keys_destroyed;  /* key tree nodes destroyed */
	uint64_t wraps;           /* keys rewrapped to re-key the path */
	uint64_t epoch_before;    /* root epoch before and after */
	uint64_t epoch_after;
};

/*
 * coffre_shred_user(v, user, res): delete an account.  Every document of
 * ${user} becomes unrecoverable at once (its keys are destroyed and the
 * path above them re-keyed under a new root, the old root overwritten),
 * and ${user} is fenced: a later coffre_seal() for it gives COFFRE_EGONE.
 * Idempotent: a user with no documents, or one already shredded, is
 * fenced and 0 is returned.  Returns 0, COFFRE_EREJECT (malformed id),
 * COFFRE_EFAIL.
 */
int coffre_shred_user(coffre_vault *v, const char *user,
    struct coffre_shred_result *res);

/*
 * coffre_shred_doc(v, id, res): withdraw one document: its key is
 * destroyed and its user's key re-keyed.  Returns 0, COFFRE_EREJECT,
 * COFFRE_ENOTFOUND, COFFRE_EGONE (already shredded), COFFRE_EFAIL.
 */
int coffre_shred_doc(coffre_vault *v, const char *id,
    struct coffre_shred_result *res);

/*
 * Callback of coffre_check() and coffre_scan(): one finding.  ${problem} is
 * 1 for an inconsistency or a failed proof, 0 for information.  ${msg} is
 * valid during the call.
 */
typedef void (*coffre_report_fn)(void *ctx, int problem, const char *msg);

struct coffre_check_result {
	uint64_t documents; /* index records checked */
	uint64_t leaves;    /* key tree leaves checked */
	uint64_t problems;  /* inconsistencies found */
	uint64_t repaired;  /* of which repaired (with repair) */
};

/*
 * coffre_check(v, repair, fn, ctx, res): check that the index, the
 * segments and the key tree agree: every live record has its key and an
 * intact sealed body (every chunk authenticated), every shredded record has
 * no key, no leaf lacks its record.  With ${repair}, fix what a crash
 * legitimately leaves (orphan leaves are shredded; records whose key is
 * gone are marked shredded) and nothing else.  Returns 0 when no problem
 * remains, COFFRE_EFAIL otherwise.
 */
int coffre_check(coffre_vault *v, int repair, coffre_report_fn fn, void *ctx,
    struct coffre_check_result *res);

struct coffre_scan_result {
	uint64_t files, bytes;   /* what was read */
	uint64_t skipped;        /* LMDB lock files, left out (no data) */
	uint64_t markers;        /* plaintext samples searched for */
	uint64_t candidates;     /* wrapped-key records found anywhere */
	uint64_t stale;          /* of which not the current copy */
	uint64_t opened;         /* stale ones a live key opens: must be 0 */
	uint64_t plaintext_hits; /* plaintext samples found: must be 0 */
};

/*
 * coffre_scan(v, fn, ctx, res): forensic scan of every byte of every file
 * under the vault directory (docs/SHREDDING.md): (a) no sample of any live
 * document's plaintext, nor any document name, appears anywhere; (b) every
 * wrapped-key record found anywhere (LMDB free and old pages included) that
 * is not the current copy of a live node fails to open under every key that
 * exists, so nothing shredded can be recovered.  Each failure is reported
 * with its file and offset.  Returns 0 when both hold, COFFRE_EFAIL if not.
 */
int coffre_scan(coffre_vault *v, coffre_report_fn fn, void *ctx,
    struct coffre_scan_result *res);

/*
 * Archives (SPEC.md section 3): contract-related records of one user and
 * one contract, sealed under a key of that (user, contract) and not of the
 * user, kept for the retention period after the contract ends.
 */

/* Archive status. */
enum coffre_archive_status {
	COFFRE_ARC_LIVE = 0,    /* readable: contract running or retained */
	COFFRE_ARC_EXPIRED = 1, /* retention over, not swept yet: unreadable */
	COFFRE_ARC_SHREDDED = 2 /* key destroyed */
};

/* One archive and the state of its contract. */
struct coffre_archive {
	char id[COFFRE_DOCID_LEN + 1];
	char user[COFFRE_ID_MAX + 1];
	char contract[COFFRE_ID_MAX + 1];
	char type[COFFRE_TYPE_MAX + 1];
	uint64_t size;
	int64_t created;
	int status;            /* enum coffre_archive_status */
	int ended;             /* the contract has ended */
	char end_date[11];     /* "YYYY-MM-DD", or "" while it runs */
	char retain_until[11]; /* "YYYY-MM-DD", or "" while it runs */
	unsigned holds;        /* legal holds standing */
};

/*
 * coffre_archive(v, user, contract, name, rd, rdctx, id, type, size):
 * seal a contract-related record of (${user}, ${contract}); works before
 * and after the user is shredded.  Returns like coffre_seal(), and
 * COFFRE_EGONE if the contract's retention is over.
 */
int coffre_archive(coffre_vault *v, const char *user, const char *contract,
    const char *name, coffre_read_fn rd, void *rdctx,
    char id[COFFRE_DOCID_LEN + 1], char *type, uint64_t *size);

/*
 * coffre_contract_end(v, user, contract, date, retain_until): end the
 * contract on ${date} ("YYYY-MM-DD", NULL for today): every archive of it
 * is kept until date + the vault's retention years, written into
 * ${retain_until}.  A later call may move that date later, never earlier.
 * Returns 0, COFFRE_EREJECT (malformed id or date), COFFRE_ENOTFOUND (no
 * archive was ever made for that contract), COFFRE_ELOCKED (it would
 * shorten the retention), COFFRE_EFAIL.
 */
int coffre_contract_end(coffre_vault *v, const char *user, const char *contract,
    const char *date, char retain_until[11]);

/*
 * coffre_hold(v, user, contract, reason, on): put (${on} = 1) or release
 * (0) a legal hold on a contract; while one stands nothing of it is
 * destroyed or becomes unreadable.  ${reason} is required (the audit log
 * keeps it, sealed).  Returns 0, COFFRE_EREJECT, COFFRE_ENOTFOUND (no such
 * contract, already swept, or no hold to release), COFFRE_EFAIL.
 */
int coffre_hold(coffre_vault *v, const char *user, const char *contract,
    const char *reason, int on);

/* Callback of coffre_archives(): 0 to go on. */
typedef int (*coffre_archive_fn)(void *ctx, const struct coffre_archive *a);

/*
 * coffre_archives(v, user, fn, ctx): every archive (of ${user} if not
 * NULL), oldest first, with its contract's state.
 */
int coffre_archives(coffre_vault *v, const char *user, coffre_archive_fn fn,
    void *ctx);

/*
 * coffre_archive_open(v, id, reason, wr, wrctx): read an archive, stating
 * why (${reason} required).  Refused as COFFRE_EGONE once its retention is
 * over (unless a hold stands), even before a sweep.  Returns like
 * coffre_open_doc().
 */
int coffre_archive_open(coffre_vault *v, const char *id, const char *reason,
    coffre_write_fn wr, void *wrctx);

/*
 * coffre_shred_archive(v, id, res): destroy one archive whose retention is
 * over.  Returns 0, COFFRE_ELOCKED (the contract runs, its retain-until
 * date is not past, or a hold stands), COFFRE_ENOTFOUND, COFFRE_EGONE,
 * COFFRE_EREJECT, COFFRE_EFAIL.
 */
int coffre_shred_archive(coffre_vault *v, const char *id,
    struct coffre_shred_result *res);

/* What a sweep did. */
struct coffre_sweep_result {
	uint64_t contracts; /* expired contracts whose key was destroyed */
	uint64_t archives;  /* archives that became unrecoverable */
	uint64_t documents; /* documents past their retention class */
	uint64_t keys_destroyed, wraps, rekeyed;
	uint64_t epoch_before, epoch_after;
};

/*
 * coffre_sweep(v, res): by the system clock, destroy in one batch (one
 * root change) the key of every ended contract whose retain-until day is
 * past and that no hold stands on, and every decided document past its
 * kind's retention class (coffre.conf).  Returns 0 or COFFRE_EFAIL.
 */
int coffre_sweep(coffre_vault *v, struct coffre_sweep_result *res);

/*
 * The audit log (docs/AUDIT.md).  Every change and every read of plaintext
 * appends an event; each committed transaction ends with a checkpoint
 * signed with the vault's Ed25519 audit key (DIR/audit.pub).
 */

/*
 * coffre_set_actor(v, actor): who the following operations are done for,
 * as the audit log records it: "local" (the default, the command on the
 * vault), or e.g. "reviewer:uid:1001" (the daemon).  At most 79 bytes of
 * [A-Za-z0-9:._-]; anything else is ignored.
 */
void coffre_set_actor(coffre_vault *v, const char *actor);

/* What a verification found. */
struct coffre_verify_result {
	uint64_t events;      /* lines read, checkpoints included */
	uint64_t checkpoints; /* signatures verified */
	uint64_t rotations;   /* audit key rotations followed */
	uint64_t first_bad;   /* sequence number of the first bad line, or 0 */
	char head[65];        /* hex BLAKE2b-256 of the last line */
};

/*
 * coffre_audit_verify(v, res): check the vault's whole log: sequence with
 * no gap, every line chained to the one before (from a genesis bound to
 * the public key), every checkpoint's signature, no event after the last
 * checkpoint, and the head the index records.  Returns 0, or COFFRE_EFAIL
 * with res->first_bad and a message naming the first bad event.
 */
int coffre_audit_verify(coffre_vault *v, struct coffre_verify_result *res);

/*
 * coffre_audit_verify_file(log, pubkey, res, err, errlen): the same on an
 * export (the lines of `coffre audit log --json`) with the public key file
 * (DIR/audit.pub), with no vault at all.  Returns 0, COFFRE_ENOTFOUND (a
 * file is missing), COFFRE_EREJECT (the public key file is malformed) or
 * COFFRE_EFAIL (the log does not verify; err says where).
 */
int coffre_audit_verify_file(const char *log, const char *pubkey,
    struct coffre_verify_result *res, char *err, size_t errlen);

/*
 * coffre_audit_rotate(v, pubkey): replace the audit signing key.  The old
 * key signs the hand-over (an "audit-key-rotation" event with the new
 * public key), the new one signs every checkpoint after it, and the old
 * key is destroyed as a shred destroys one (the path above it re-keyed
 * under a new root).  DIR/audit.pub keeps the key of init, from which
 * verification follows the rotations.  The new public key, base64, goes
 * into ${pubkey}.  Returns 0 or COFFRE_EFAIL.
 */
int coffre_audit_rotate(coffre_vault *v, char pubkey[64]);

/* Callback of coffre_audit_lines(): one event line; 0 to go on. */
typedef int (
    *coffre_line_fn)(void *ctx, uint64_t seq, const char *line, size_t len);

/*
 * coffre_audit_lines(v, user, open_reasons, fn, ctx): the events, oldest
 * first (those naming ${user} only, and no checkpoints, when ${user} is not
 * NULL), as stored, or with ${open_reasons} with sealed reasons opened
 * (the line then no longer verifies: for people, not for export).
 */
int coffre_audit_lines(coffre_vault *v, const char *user, int open_reasons,
    coffre_line_fn fn, void *ctx);

/*
 * coffre_shred_report(v, user, fn, ctx): a signed statement of everything
 * destroyed for ${user} (JSON, one line, handed to ${fn}).  Returns 0,
 * COFFRE_EREJECT, COFFRE_ENOTFOUND (the log has no shred of that user),
 * COFFRE_EFAIL.
 */
int coffre_shred_report(coffre_vault *v, const char *user, coffre_line_fn fn,
    void *ctx);

/*
 * One request of coffre_seal_batch(): a document (archive 0, group is the
 * community) or an archive (archive 1, group is the contract).
 */
struct coffre_seal_req {
	int archive;
	const char *user, *group, *kind, *name; /* kind, name may be NULL */
	const char *actor; /* who asks, for the audit log; NULL: the handle's */
	coffre_read_fn rd;
	void *rdctx;
	/*
	 * Optional: move the input to byte ${off}, so that the batch can be
	 * sealed again without a request that was refused half-way (a
	 * polyglot, say).  NULL if the input cannot be read again: such a
	 * request then fails with the refused one.  0 or -1.
	 */
	int (*seek)(void *ctx, uint64_t off);
	/* Results. */
	int rc;                  /* 0 or a COFFRE_E* code */
	int too_large, bad_type; /* which refusal, for HTTP 413 / 415 */
	char id[COFFRE_DOCID_LEN + 1];
	char type[COFFRE_TYPE_MAX + 1];
	uint64_t size;
	char err[768];
};

/*
 * coffre_seal_batch(v, reqs, n): seal ${n} documents or archives together
 * (group commit): one lock, one sync of the segments, one commit of the key
 * tree and one of the index for all of them, so that concurrent uploads
 * share their syncs.  Every request gets its own result in ${reqs}[i].rc
 * (with a message in err): a refused one does not fail the others.
 * Returns 0 if all were sealed, or the code of the first that was not.
 */
int coffre_seal_batch(coffre_vault *v, struct coffre_seal_req *reqs, size_t n);

/*
 * A reader of one document's plaintext, pulled piece by piece.  Once made,
 * it needs no lock and nothing of the handle: a server may read it on
 * another thread, at its client's pace, while the handle serves others.
 */
typedef struct coffre_reader coffre_reader;

/*
 * coffre_doc_reader(v, id, out, meta): what coffre_open_doc() does up to
 * the first byte (checks, the read logged durably), giving a reader in
 * *${out} and, when ${meta} is not NULL, the document's user, community,
 * type, size, status and creation time.  0 or a COFFRE_E* code.
 */
int coffre_doc_reader(coffre_vault *v, const char *id, coffre_reader **out,
    struct coffre_doc *meta);

/*
 * coffre_archive_reader(v, id, reason, out, size, type): the same for
 * coffre_archive_open().
 */
int coffre_archive_reader(coffre_vault *v, const char *id, const char *reason,
    coffre_reader **out, uint64_t *size, char type[COFFRE_TYPE_MAX + 1]);

/*
 * coffre_reader_read(r, buf, len): up to ${len} next bytes, each one
 * authenticated; 0 at the end (once the whole record authenticated), -1
 * on corruption (coffre_reader_errmsg() says which).
 */
long coffre_reader_read(coffre_reader *r, uint8_t *buf, size_t len);

/* coffre_reader_errmsg(r): why the last read failed. */
const char *coffre_reader_errmsg(const coffre_reader *r);

/* coffre_reader_size(r): the plaintext size. */
uint64_t coffre_reader_size(const coffre_reader *r);

/* coffre_reader_close(r): wipe and free ${r}.  NULL is a no-op. */
void coffre_reader_close(coffre_reader *r);

/*
 * A seek on the input of coffre_read_fn, as lseek(2): the new offset, or
 * -1.  Given to coffre_import() for an input that can seek (a file), it
 * lets a zip be read through its central directory, where alone a zip
 * says which entries are links; NULL reads it as a stream.
 */
typedef int64_t (*coffre_seek_fn)(void *ctx, int64_t off, int whence);

/* One entry of a bundle, as coffre_import() reports it. */
struct coffre_import_entry {
	const char *entry; /* its name in the bundle (control bytes as '?') */
	int sealed;
	const char *id, *type; /* when sealed */
	uint64_t size;
	const char *reason; /* when rejected */
};

/* Callback of coffre_import(): 0 to go on. */
typedef int (*coffre_import_fn)(void *ctx, const struct coffre_import_entry *e);

struct coffre_import_result {
	uint64_t entries, sealed, rejected; /* folders are not entries */
	uint64_t bytes_in, bytes_out;       /* read, and decompressed */
};

/*
 * coffre_import(v, user, community, actor, rd, seek, rdctx, fn, ctx, res):
 * read a zip or tar bundle (plain or gzip) from ${rd} (and ${seek}, when
 * not NULL: coffre_seek_fn), never extracting to disk,
 * and seal each regular entry that passes the type policy as a document of
 * ${user} in ${community}, its entry name sealed as its name; report each
 * entry to ${fn}.  Links, devices, encrypted entries, names that climb out
 * or are absolute, nested archives, and entries over the size limit are
 * rejected; past max_bundle_entries, max_bundle_bytes (of decompressed
 * bytes, counted as they come) or max_compression_ratio the rest of the
 * bundle is not read.  ${actor} names the caller in the audit log (NULL:
 * the handle's).  Returns 0 when every entry was sealed, COFFRE_EREJECT
 * when any was rejected (the others stay sealed) or the bundle is not one,
 * COFFRE_EGONE for a shredded user, COFFRE_EFAIL.
 */
int coffre_import(coffre_vault *v, const char *user, const char *community,
    const char *actor, coffre_read_fn rd, coffre_seek_fn seek, void *rdctx,
    coffre_import_fn fn, void *ctx, struct coffre_import_result *res);

/* Export formats. */
#define COFFRE_EXPORT_ZIP 0
#define COFFRE_EXPORT_TAR 1
#define COFFRE_EXPORT_TGZ 2

/*
 * An export being written: every live document of a user under a readable
 * name, then manifest.json (for each: id, name, file, community, kind,
 * type, size, status, reviews, sealed_at, blake2b_256 of the plaintext),
 * as a zip, tar or tar.gz, pulled piece by piece.
 */
typedef struct coffre_export coffre_exporter;

/*
 * coffre_export_open(v, user, format, lock, unlock, lockctx, out): log the
 * export (a read of plaintext, durably, first) and start it.  When the
 * export is pulled on another thread than the handle's, ${lock} and
 * ${unlock} (or NULL) guard the handle while each document's key is
 * unwrapped.  0 or a code.
 */
int coffre_export_open(coffre_vault *v, const char *user, int format,
    void (*lock)(void *), void (*unlock)(void *), void *lockctx,
    coffre_exporter **out);

/* coffre_export_read(x, buf, len): next bytes; 0 at the end; -1 failed. */
long coffre_export_read(coffre_exporter *x, uint8_t *buf, size_t len);

/* coffre_export_errmsg(x): why the last read failed. */
const char *coffre_export_errmsg(const coffre_exporter *x);

/* coffre_export_close(x): NULL is a no-op. */
void coffre_export_close(coffre_exporter *x);

/* coffre_export(v, user, format, wr, wrctx): the whole export to ${wr}. */
int coffre_export(coffre_vault *v, const char *user, int format,
    coffre_write_fn wr, void *wrctx);

/* coffre_status_name(s): "pending", "approved", "rejected", "shredded". */
const char *coffre_status_name(int status);

/* coffre_status_parse(s): the status named ${s}, or -1. */
int coffre_status_parse(const char *s);

/*
 * coffre_set_max_doc(v, bytes): override the size limit of coffre.conf for
 * this handle (tests and benchmarks).  0 restores the configured one.
 */
void coffre_set_max_doc(coffre_vault *v, uint64_t bytes);

#endif /* !COFFRE_H */
