/*
 * audit.c: the signed, hash-chained audit log (docs/AUDIT.md).
 *
 * The log lives in the index (table "audit"), so that an event commits in
 * the same LMDB transaction as the change it records.  An operation that
 * commits in the key tree first (a shred, a sweep, a contract's state)
 * writes its event into the tree's "audit_pending" table in that same tree
 * commit; the next append (normally at once, after a crash whenever the
 * vault next logs anything) moves it into the log.  Either way no change
 * goes without its event, and no event is kept for a change that did not
 * commit.
 *
 * A line: {"seq":N,"time":T,"actor":A,"op":O,"result":R,...,"prev":H}
 * where H is the hex BLAKE2b-256 of the previous line (of a genesis bound to
 * the public key for the first one).  Each transaction that appends ends
 * with {"seq":N,"op":"checkpoint","prev":H,"sig":S}, S an Ed25519 signature
 * over "coffre-audit-checkpoint-v1", N (u64 LE) and the 32 bytes of H.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "keys/bytes.h"
#include "keys/fault.h"
#include "keys/tree.h"
#include "vault/index.h"
#include "vault/util.h"
#include "vault/vault.h"

#define LINE_MAX_BYTES 8192
#define SIG_DOMAIN "coffre-audit-checkpoint-v1"
#define GENESIS_DOMAIN "coffre-audit-genesis-v1"

static int read_pubkey(const char *path, uint8_t pk[32], char *err,
    size_t errlen);

static void
hex(const uint8_t *b, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, b, n);
}

void
audit_ev_init(struct audit_ev *e)
{
	e->len = 0;
	e->overflow = 0;
	e->buf[0] = '\0';
}

static void
ev_put(struct audit_ev *e, const char *s, size_t n)
{
	if (e->overflow || e->len + n >= sizeof(e->buf)) {
		e->overflow = 1;
		return;
	}
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	e->buf[e->len] = '\0';
}

static void
ev_key(struct audit_ev *e, const char *key)
{
	ev_put(e, ",\"", 2);
	ev_put(e, key, strlen(key));
	ev_put(e, "\":", 2);
}

void
audit_ev_str(struct audit_ev *e, const char *key, const char *val)
{
	char esc[8];

	ev_key(e, key);
	ev_put(e, "\"", 1);
	for (; *val != '\0'; val++) {
		unsigned char c = (unsigned char)*val;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			ev_put(e, esc, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			ev_put(e, esc, 6);
		} else {
			ev_put(e, (const char *)&c, 1);
		}
	}
	ev_put(e, "\"", 1);
}

void
audit_ev_num(struct audit_ev *e, const char *key, uint64_t val)
{
	char b[24];

	ev_key(e, key);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)val);
	ev_put(e, b, strlen(b));
}

void
audit_ev_raw(struct audit_ev *e, const char *key, const char *json)
{
	ev_key(e, key);
	ev_put(e, json, strlen(json));
}

void
audit_ev_fps(struct audit_ev *e, const char *key, const uint8_t *fp, size_t n)
{
	char h[33];

	ev_key(e, key);
	ev_put(e, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			ev_put(e, ",", 1);
		hex(fp + 16 * i, 16, h);
		ev_put(e, "\"", 1);
		ev_put(e, h, 32);
		ev_put(e, "\"", 1);
	}
	ev_put(e, "]", 1);
}

void
audit_ev_shred(struct audit_ev *e, const struct tree_shred_stats *st)
{
	audit_ev_num(e, "keys_destroyed", st->destroyed);
	audit_ev_fps(e, "fingerprints", st->fp, st->nfp);
	audit_ev_num(e, "epoch_before", st->epoch_before);
	audit_ev_num(e, "epoch_after", st->epoch_after);
}

/* The key that seals free text in events. */
static void
reason_key(coffre_vault *v, uint8_t *k)
{
	/* From the index MAC key, which a rotation of the audit key leaves
	 * alone: reasons stay readable across rotations. */
	crypto_kdf_derive_from_key(k, 32, 1, "cfaudrsn", v->mackey);
}

void
audit_ev_sealed(coffre_vault *v, struct audit_ev *e, const char *key,
    const char *text)
{
	size_t n = strlen(text);
	uint8_t *k = sodium_malloc(32), *box = malloc(24 + n + 16);
	char *b64 = malloc(sodium_base64_ENCODED_LEN(24 + n + 16,
	    sodium_base64_VARIANT_ORIGINAL));

	if (k == NULL || box == NULL || b64 == NULL) {
		e->overflow = 1;
		goto out;
	}
	reason_key(v, k);
	randombytes_buf(box, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + 24, NULL,
	    (const uint8_t *)text, n, (const uint8_t *)"coffre-audit-reason",
	    19, NULL, box, k);
	sodium_bin2base64(b64,
	    sodium_base64_ENCODED_LEN(24 + n + 16,
		sodium_base64_VARIANT_ORIGINAL),
	    box, 24 + n + 16, sodium_base64_VARIANT_ORIGINAL);
	audit_ev_str(e, key, b64);
out:
	if (k != NULL)
		sodium_free(k);
	free(box);
	free(b64);
}

/* Open a sealed reason (for `audit log` on the vault).  0 or -1. */
static int
reason_open(coffre_vault *v, const char *b64, char *out, size_t cap)
{
	uint8_t box[24 + COFFRE_NOTE_MAX + 16], *k;
	size_t n;
	unsigned long long m;
	int rc;

	if (sodium_base642bin(box, sizeof(box), b64, strlen(b64), NULL, &n,
		NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n < 40 || n - 40 >= cap)
		return -1;
	if ((k = sodium_malloc(32)) == NULL)
		return -1;
	reason_key(v, k);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out, &m,
	    NULL, box + 24, n - 24, (const uint8_t *)"coffre-audit-reason", 19,
	    box, k);
	sodium_free(k);
	if (rc != 0)
		return -1;
	out[m] = '\0';
	return 0;
}

static void
genesis(const uint8_t pk[32], uint8_t out[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)GENESIS_DOMAIN,
	    strlen(GENESIS_DOMAIN));
	crypto_generichash_update(&st, pk, 32);
	crypto_generichash_final(&st, out, 32);
}

static void
checkpoint_msg(uint64_t seq, const uint8_t prev[32], uint8_t msg[26 + 8 + 32])
{
	memcpy(msg, SIG_DOMAIN, 26);
	bytes_store64(msg + 26, seq);
	memcpy(msg + 34, prev, 32);
}

/* Build event ${seq} after ${prev}. */
static int
build_line(coffre_vault *v, uint64_t seq, const uint8_t prev[32],
    const char *op, const char *result, const struct audit_ev *e, char *out,
    size_t *len)
{
	char t[21], h[65];
	int n;

	if (e != NULL && e->overflow)
		return vault_err(v, COFFRE_EFAIL, "audit event too long");
	util_iso8601((int64_t)time(NULL), t);
	hex(prev, 32, h);
	n = snprintf(out, LINE_MAX_BYTES,
	    "{\"seq\":%llu,\"time\":\"%s\",\"actor\":\"%s\",\"op\":\"%s\","
	    "\"result\":\"%s\"%s,\"prev\":\"%s\"}",
	    (unsigned long long)seq, t, v->actor, op, result,
	    e != NULL ? e->buf : "", h);
	if (n < 0 || n >= LINE_MAX_BYTES)
		return vault_err(v, COFFRE_EFAIL, "audit event too long");
	*len = (size_t)n;
	return 0;
}

static int
put_line(coffre_vault *v, struct index_txn *ix, uint64_t seq, const char *line,
    size_t len, uint8_t hash[32])
{
	crypto_generichash(hash, 32, (const uint8_t *)line, len, NULL, 0);
	if (index_audit_put(ix, seq, line, len, hash) != 0)
		return vault_index_code(v);
	return 0;
}

/* The head of the log: the last line's number and hash (genesis if none). */
static int
head(coffre_vault *v, struct index_txn *ix, uint64_t *seq, uint8_t hash[32])
{
	int rc = index_audit_head(ix, seq, hash);

	if (rc == INDEX_ENOTFOUND) {
		genesis(v->audit_pk, hash);
		return 0;
	}
	return rc == 0 ? 0 : vault_index_code(v);
}

/* Load the audit key in force from the key tree into the handle. */
static int
audit_key_refresh(coffre_vault *v, struct tree_txn *tx)
{
	int rc = tree_system_key(tx, TREE_SYS_AUDIT, v->sub);

	/* An Ed25519 secret key begins with its seed: derive the key pair
	 * again only when the seed in force is not the one held already. */
	if (rc == 0 && sodium_memcmp(v->sub, v->audit_sk, 32) != 0)
		crypto_sign_seed_keypair(v->audit_pk, v->audit_sk, v->sub);
	sodium_memzero(v->sub, 32);
	return rc == 0 ? 0 : vault_tree_code(v, rc == TREE_ENOTFOUND ? -1 : rc);
}

/* Append pending events the key tree holds past ${*seq}. */
static int
recover(coffre_vault *v, struct index_txn *ix, uint64_t *seq, uint8_t hash[32],
    int *n)
{
	struct tree_txn *tx = NULL;
	const char *line;
	size_t len;
	int rc;

	*n = 0;
	if ((rc = tree_begin(v->tree, 0, &tx)) != 0)
		return vault_tree_code(v, rc);
	/* The key in force may have been rotated by another process since
	 * this handle loaded it: sign with the tree's, always. */
	if ((rc = audit_key_refresh(v, tx)) != 0)
		goto out;
	while ((rc = tree_pending_get(tx, *seq + 1, &line, &len)) == 0) {
		char want[80], h[65];
		hex(hash, 32, h);
		snprintf(want, sizeof(want), ",\"prev\":\"%s\"}", h);
		if (len < strlen(want) ||
		    memcmp(line + len - strlen(want), want, strlen(want)) !=
			0) {
			rc = vault_err(v, COFFRE_EFAIL,
			    "keys/tree.mdb: pending audit event %llu does not "
			    "follow the log (corrupt)",
			    (unsigned long long)*seq + 1);
			goto out;
		}
		if ((rc = put_line(v, ix, *seq + 1, line, len, hash)) != 0)
			goto out;
		(*seq)++;
		(*n)++;
	}
	rc = rc == TREE_ENOTFOUND ? 0 : vault_tree_code(v, rc);
out:
	tree_abort(tx);
	return rc;
}

static int
checkpoint(coffre_vault *v, struct index_txn *ix, uint64_t *seq,
    uint8_t hash[32])
{
	uint8_t msg[66], sig[64];
	char line[256], h[65], s64[90];
	int n;

	checkpoint_msg(*seq + 1, hash, msg);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), v->audit_sk);
	hex(hash, 32, h);
	sodium_bin2base64(s64, sizeof(s64), sig, 64,
	    sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(line, sizeof(line),
	    "{\"seq\":%llu,\"op\":\"checkpoint\",\"prev\":\"%s\",\"sig\":\"%s\"}",
	    (unsigned long long)*seq + 1, h, s64);
	(*seq)++;
	return put_line(v, ix, *seq, line, (size_t)n, hash);
}

int
audit_append(coffre_vault *v, struct index_txn *ix, const char *op,
    const char *result, const struct audit_ev *e)
{
	return audit_append_opt(v, ix, op, result, e, 1);
}

int
audit_append_opt(coffre_vault *v, struct index_txn *ix, const char *op,
    const char *result, const struct audit_ev *e, int sign)
{
	char *line = malloc(LINE_MAX_BYTES);
	uint8_t hash[32];
	uint64_t seq;
	size_t len = 0;
	int rc, n;

	if (line == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	if ((rc = head(v, ix, &seq, hash)) != 0 ||
	    (rc = recover(v, ix, &seq, hash, &n)) != 0)
		goto out;
	if (op != NULL) {
		if ((rc = build_line(v, seq + 1, hash, op, result, e, line,
			 &len)) != 0 ||
		    (rc = put_line(v, ix, seq + 1, line, len, hash)) != 0)
			goto out;
		FAULT_POINT("audit-append");
		seq++;
		n++;
	}
	if (n > 0 && sign)
		rc = checkpoint(v, ix, &seq, hash);
	else if (sign < 0)
		rc = checkpoint(v, ix, &seq, hash);
out:
	free(line);
	return rc;
}

#define ROTATION_DOMAIN "coffre-audit-rotation-v1"

/* What the old key signs to hand over to a new one. */
static void
rotation_msg(uint64_t seq, const uint8_t prev[32], const uint8_t pk[32],
    uint8_t msg[24 + 8 + 32 + 32])
{
	memcpy(msg, ROTATION_DOMAIN, 24);
	bytes_store64(msg + 24, seq);
	memcpy(msg + 32, prev, 32);
	memcpy(msg + 64, pk, 32);
}

static int pend(coffre_vault *v, struct tree_txn *tx, const char *op,
    const char *result, const struct audit_ev *e, const uint8_t *newpk);

int
audit_pend(coffre_vault *v, struct tree_txn *tx, const char *op,
    const char *result, const struct audit_ev *e)
{
	return pend(v, tx, op, result, e, NULL);
}

static int
pend(coffre_vault *v, struct tree_txn *tx, const char *op, const char *result,
    const struct audit_ev *e, const uint8_t *newpk)
{
	struct index_txn *ix = NULL;
	struct audit_ev *rot = NULL;
	char *line = malloc(LINE_MAX_BYTES);
	const char *p;
	uint8_t hash[32];
	uint64_t seq, logged, first;
	size_t len = 0;
	int rc;

	if (line == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	if (v->pend_serial == tree_txn_serial(tx) && v->pend_serial != 0) {
		/* The next event of this transaction: chain to the last. */
		seq = v->pend_seq;
		logged = v->pend_logged;
		memcpy(hash, v->pend_hash, 32);
	} else {
		if (index_begin(v->index, 0, v->mackey, &ix) != 0) {
			rc = vault_index_code(v);
			goto out;
		}
		if ((rc = head(v, ix, &seq, hash)) != 0)
			goto out;
		/*
		 * Pending events up to the head are dropped from the key tree
		 * below: the head must be on disk first (a lazy commit may
		 * have moved them into the log without syncing its meta).
		 */
		rc = tree_pending_first(tx, &first);
		if (rc != 0 && rc != TREE_ENOTFOUND) {
			rc = vault_tree_code(v, rc);
			goto out;
		}
		if (rc == 0 && first <= seq && index_sync(v->index) != 0) {
			rc = vault_index_code(v);
			goto out;
		}
		logged = seq;
		/* After any event a crash left pending (this transaction
		 * sees them): chain to the last of them. */
		while (tree_pending_get(tx, seq + 1, &p, &len) == 0) {
			crypto_generichash(hash, 32, (const uint8_t *)p, len,
			    NULL, 0);
			seq++;
		}
	}
	if (newpk != NULL) {
		/* The key in force signs the hand-over to the next one. */
		if ((rc = audit_key_refresh(v, tx)) != 0)
			goto out;
		uint8_t msg[96], sig[64];
		char b64[90];
		if ((rot = malloc(sizeof(*rot))) == NULL) {
			rc = vault_err(v, COFFRE_EFAIL, "out of memory");
			goto out;
		}
		*rot = *e;
		rotation_msg(seq + 1, hash, newpk, msg);
		crypto_sign_detached(sig, NULL, msg, sizeof(msg), v->audit_sk);
		sodium_bin2base64(b64, sizeof(b64), newpk, 32,
		    sodium_base64_VARIANT_ORIGINAL);
		audit_ev_str(rot, "new_pubkey", b64);
		sodium_bin2base64(b64, sizeof(b64), sig, 64,
		    sodium_base64_VARIANT_ORIGINAL);
		audit_ev_str(rot, "sig_old", b64);
		e = rot;
	}
	if ((rc = build_line(v, seq + 1, hash, op, result, e, line, &len)) != 0)
		goto out;
	if (tree_pending_put(tx, seq + 1, line, len, logged) != 0) {
		rc = vault_tree_code(v, -1);
		goto out;
	}
	FAULT_POINT("audit-pend");
	v->pend_serial = tree_txn_serial(tx);
	v->pend_seq = seq + 1;
	v->pend_logged = logged;
	crypto_generichash(v->pend_hash, 32, (const uint8_t *)line, len, NULL,
	    0);
out:
	index_abort(ix);
	free(line);
	free(rot);
	return rc;
}

int
audit_flush(coffre_vault *v, struct index_txn *ix)
{
	uint8_t hash[32];
	uint64_t before, after;
	int rc;

	if (ix != NULL)
		return audit_append(v, ix, NULL, NULL, NULL);
	if (index_begin(v->index, 1, v->mackey, &ix) != 0)
		return vault_index_code(v);
	if ((rc = head(v, ix, &before, hash)) != 0 ||
	    (rc = audit_append(v, ix, NULL, NULL, NULL)) != 0 ||
	    (rc = head(v, ix, &after, hash)) != 0) {
		index_abort(ix);
		return rc;
	}
	if (after == before) {
		/* Nothing was pending: no commit (and no sync) at all. */
		index_abort(ix);
		return 0;
	}
	if (index_commit(ix) != 0)
		return vault_index_code(v);
	return 0;
}

int
audit_log(coffre_vault *v, const char *op, const char *result,
    const struct audit_ev *e)
{
	struct index_txn *ix = NULL;
	int rc, took = 0;

	/*
	 * Appending outside the vault lock could take the number an event
	 * pending in a shred's key-tree commit was given: hold it (shared:
	 * readers may log together; a shred holds it exclusively).
	 */
	if (v->locked == 0) {
		if ((rc = vault_lock(v, LOCK_SH)) != 0)
			return rc;
		took = 1;
	}
	if (index_begin(v->index, 1, v->mackey, &ix) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	if ((rc = audit_append(v, ix, op, result, e)) != 0) {
		index_abort(ix);
		goto out;
	}
	if (index_commit(ix) != 0)
		rc = vault_index_code(v);
out:
	if (took)
		vault_unlock(v);
	return rc;
}

void
audit_refused(coffre_vault *v, const char *op, int code, struct audit_ev *e)
{
	static const char *const names[] = {"ok", "failed", "usage",
	    "not_found", "gone", "rejected", "not_allowed", "locked",
	    "no_daemon"};
	char saved[sizeof(v->err)];

	/* Keep the message the caller will report. */
	memcpy(saved, v->err, sizeof(saved));
	audit_ev_str(e, "code",
	    code >= 0 && code <= 8 ? names[code] : "failed");
	(void)audit_log(v, op, code == COFFRE_EFAIL ? "failed" : "refused", e);
	memcpy(v->err, saved, sizeof(saved));
}

void
coffre_set_actor(coffre_vault *v, const char *actor)
{
	size_t n = strlen(actor);

	if (n == 0 || n >= sizeof(v->actor))
		return;
	for (size_t i = 0; i < n; i++)
		if (!((actor[i] >= 'a' && actor[i] <= 'z') ||
			(actor[i] >= 'A' && actor[i] <= 'Z') ||
			(actor[i] >= '0' && actor[i] <= '9') ||
			strchr(":._-", actor[i]) != NULL))
			return;
	memcpy(v->actor, actor, n + 1);
}

/*
 * Verification, the same for the vault and for an export: one line at a
 * time, so a million events need no more memory than one.
 */
struct verifier {
	uint8_t pk[32];
	uint8_t hash[32]; /* of the last line (genesis at first) */
	uint64_t seq;     /* of the last line */
	uint64_t last_checkpoint;
	struct coffre_verify_result *res;
	char *err;
	size_t errlen;
};

static void
verifier_init(struct verifier *vf, const uint8_t pk[32],
    struct coffre_verify_result *res, char *err, size_t errlen)
{
	memset(vf, 0, sizeof(*vf));
	memcpy(vf->pk, pk, 32);
	genesis(pk, vf->hash);
	vf->res = res;
	vf->err = err;
	vf->errlen = errlen;
	memset(res, 0, sizeof(*res));
}

static int
vbad(struct verifier *vf, const char *why)
{
	vf->res->first_bad = vf->seq + 1;
	snprintf(vf->err, vf->errlen,
	    "audit log: event %llu is bad: %s (everything from there on is "
	    "unproven)",
	    (unsigned long long)vf->seq + 1, why);
	return -1;
}

static int
verifier_line(struct verifier *vf, const char *line, size_t len)
{
	json_t *j;
	json_error_t je;
	const char *prev, *op, *sig;
	json_int_t seq;
	uint8_t ph[32], s[64], msg[66];
	char want[65];
	size_t n;
	int rc = -1;

	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL || !json_is_object(j))
		return json_decref(j), vbad(vf, "not a JSON object");
	if (json_unpack(j, "{s:I, s:s, s:s}", "seq", &seq, "op", &op, "prev",
		&prev) != 0) {
		vbad(vf, "missing seq, op or prev");
		goto out;
	}
	if (seq < 1 || (uint64_t)seq != vf->seq + 1) {
		vbad(vf,
		    (uint64_t)seq <= vf->seq ? "out of order or repeated"
					     : "a gap before it");
		goto out;
	}
	hex(vf->hash, 32, want);
	if (strcmp(prev, want) != 0) {
		/*
		 * The numbers follow, so nothing was dropped or moved here:
		 * the line before was changed (its hash differs), unless it
		 * was a checkpoint that verified, or this line's own prev.
		 */
		if (vf->last_checkpoint == vf->seq && vf->seq > 0)
			vbad(vf,
			    "its prev hash does not match the checkpoint "
			    "before it (this line was changed)");
		else if (vf->seq > 0) {
			vf->seq--;
			vbad(vf,
			    "its content was changed (the next event's "
			    "prev hash does not match it)");
			vf->seq++;
		} else
			vbad(vf,
			    "its prev hash is not the genesis of this "
			    "public key (another vault's log, or changed)");
		goto out;
	}
	if (strcmp(op, "checkpoint") == 0) {
		if (json_unpack(j, "{s:s}", "sig", &sig) != 0 ||
		    sodium_base642bin(s, sizeof(s), sig, strlen(sig), NULL, &n,
			NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    n != 64 ||
		    sodium_hex2bin(ph, 32, prev, strlen(prev), NULL, &n,
			NULL) != 0 ||
		    n != 32) {
			vbad(vf, "malformed checkpoint");
			goto out;
		}
		checkpoint_msg((uint64_t)seq, ph, msg);
		if (crypto_sign_verify_detached(s, msg, sizeof(msg), vf->pk) !=
		    0) {
			vbad(vf, "its checkpoint signature does not verify");
			goto out;
		}
		vf->res->checkpoints++;
		vf->last_checkpoint = (uint64_t)seq;
	}
	if (strcmp(op, "audit-key-rotation") == 0) {
		const char *npk, *so;
		uint8_t newpk[32], rmsg[96];
		if (json_unpack(j, "{s:s, s:s}", "new_pubkey", &npk, "sig_old",
			&so) != 0 ||
		    sodium_base642bin(newpk, 32, npk, strlen(npk), NULL, &n,
			NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    n != 32 ||
		    sodium_base642bin(s, sizeof(s), so, strlen(so), NULL, &n,
			NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    n != 64) {
			vbad(vf, "malformed key rotation");
			goto out;
		}
		rotation_msg((uint64_t)seq, vf->hash, newpk, rmsg);
		if (crypto_sign_verify_detached(s, rmsg, sizeof(rmsg),
			vf->pk) != 0) {
			vbad(vf,
			    "a key rotation not signed by the key in force");
			goto out;
		}
		/* From here on, checkpoints are signed with the new key. */
		memcpy(vf->pk, newpk, 32);
		vf->res->rotations++;
	}
	crypto_generichash(vf->hash, 32, (const uint8_t *)line, len, NULL, 0);
	vf->seq = (uint64_t)seq;
	vf->res->events++;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static int
verifier_end(struct verifier *vf)
{
	hex(vf->hash, 32, vf->res->head);
	if (vf->last_checkpoint != vf->seq) {
		vf->res->first_bad = vf->last_checkpoint + 1;
		snprintf(vf->err, vf->errlen,
		    "audit log: events %llu to %llu are not covered by a "
		    "signed checkpoint",
		    (unsigned long long)vf->last_checkpoint + 1,
		    (unsigned long long)vf->seq);
		return -1;
	}
	return 0;
}

static int
verify_one(void *ctx, uint64_t seq, const char *line, size_t len)
{
	(void)seq;
	return verifier_line(ctx, line, len) == 0 ? 0 : COFFRE_EFAIL;
}

int
coffre_audit_verify(coffre_vault *v, struct coffre_verify_result *res)
{
	struct verifier vf;
	struct index_txn *ix = NULL;
	uint8_t hh[32];
	uint64_t hseq;
	int rc;

	/* The chain starts from the key init printed (DIR/audit.pub); key
	 * rotations in the log hand over from it. */
	{
		char path[4200];
		uint8_t pk0[32];
		snprintf(path, sizeof(path), "%s/audit.pub", v->dir);
		if ((rc = read_pubkey(path, pk0, v->err, sizeof(v->err))) != 0)
			return rc == COFFRE_ENOTFOUND ? COFFRE_EFAIL : rc;
		verifier_init(&vf, pk0, res, v->err, sizeof(v->err));
	}
	if ((rc = vault_lock(v, LOCK_SH)) != 0)
		return rc;
	if (index_begin(v->index, 0, v->mackey, &ix) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	rc = index_audit_lines(ix, 0, verify_one, &vf);
	if (rc == -1) {
		rc = vault_index_code(v);
		goto out;
	}
	if (rc != 0)
		goto out;
	if (verifier_end(&vf) != 0) {
		rc = COFFRE_EFAIL;
		goto out;
	}
	if (index_audit_head(ix, &hseq, hh) != 0 || hseq != vf.seq ||
	    sodium_memcmp(hh, vf.hash, 32) != 0) {
		res->first_bad = vf.seq + 1;
		rc = vault_err(v, COFFRE_EFAIL,
		    "audit log: the log ends at event %llu but the vault's "
		    "head says %llu (events dropped from its end)",
		    (unsigned long long)vf.seq, (unsigned long long)hseq);
	}
out:
	index_abort(ix);
	vault_unlock(v);
	return rc;
}

/* Read a public key file: one line of base64 (32 bytes). */
static int
read_pubkey(const char *path, uint8_t pk[32], char *err, size_t errlen)
{
	char buf[256];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? COFFRE_ENOTFOUND : COFFRE_EFAIL;
	}
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: empty", path);
		return COFFRE_EREJECT;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	if (sodium_base642bin(pk, 32, buf, strlen(buf), NULL, &n, NULL,
		sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != 32) {
		snprintf(err, errlen,
		    "%s: not a coffre audit public key (one line of base64)",
		    path);
		return COFFRE_EREJECT;
	}
	return 0;
}

int
coffre_audit_verify_file(const char *log, const char *pubkey,
    struct coffre_verify_result *res, char *err, size_t errlen)
{
	struct verifier vf;
	uint8_t pk[32];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc;

	memset(res, 0, sizeof(*res));
	if (sodium_init() < 0) {
		snprintf(err, errlen, "cannot initialise libsodium");
		return COFFRE_EFAIL;
	}
	if ((rc = read_pubkey(pubkey, pk, err, errlen)) != 0)
		return rc;
	if ((f = strcmp(log, "-") == 0 ? stdin : fopen(log, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", log, strerror(errno));
		return errno == ENOENT ? COFFRE_ENOTFOUND : COFFRE_EFAIL;
	}
	verifier_init(&vf, pk, res, err, errlen);
	rc = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n') {
			rc = vbad(&vf, "the last line is cut (no newline)");
			break;
		}
		line[--n] = '\0';
		if (n > LINE_MAX_BYTES) {
			rc = vbad(&vf, "line too long");
			break;
		}
		if ((rc = verifier_line(&vf, line, (size_t)n)) != 0)
			break;
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: %s", log, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && vf.seq == 0) {
		snprintf(err, errlen, "%s: no events", log);
		rc = -1;
	}
	if (rc == 0)
		rc = verifier_end(&vf);
	free(line);
	if (f != stdin)
		fclose(f);
	return rc == 0 ? 0 : COFFRE_EFAIL;
}

struct lines {
	coffre_vault *v;
	const char *user;
	int open_reasons;
	coffre_line_fn fn;
	void *ctx;
};

static int
line_one(void *ctx, uint64_t seq, const char *line, size_t len)
{
	struct lines *l = ctx;
	json_t *j = NULL, *r;
	const char *u;
	char reason[COFFRE_NOTE_MAX + 1];
	int rc;

	if (l->user == NULL && !l->open_reasons)
		return l->fn(l->ctx, seq, line, len);
	if ((j = json_loadb(line, len, 0, NULL)) == NULL)
		return vault_err(l->v, COFFRE_EFAIL,
		    "audit log: event %llu is not JSON (corrupt)",
		    (unsigned long long)seq);
	if (l->user != NULL &&
	    (json_unpack(j, "{s:s}", "user", &u) != 0 ||
		strcmp(u, l->user) != 0)) {
		json_decref(j);
		return 0;
	}
	if (l->open_reasons && (r = json_object_get(j, "reason_sealed")) &&
	    json_is_string(r) &&
	    reason_open(l->v, json_string_value(r), reason, sizeof(reason)) ==
		0) {
		char *s;
		json_object_del(j, "reason_sealed");
		json_object_set_new(j, "reason", json_string(reason));
		s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
		rc =
		    s != NULL ? l->fn(l->ctx, seq, s, strlen(s)) : COFFRE_EFAIL;
		free(s);
		json_decref(j);
		return rc;
	}
	json_decref(j);
	return l->fn(l->ctx, seq, line, len);
}

int
coffre_audit_lines(coffre_vault *v, const char *user, int open_reasons,
    coffre_line_fn fn, void *ctx)
{
	struct lines l = {v, user, open_reasons, fn, ctx};
	struct index_txn *ix = NULL;
	int rc;

	if (user != NULL && !coffre_valid_id(user))
		return vault_err(v, COFFRE_EREJECT, "malformed user id");
	if ((rc = vault_lock(v, LOCK_SH)) != 0)
		return rc;
	if (index_begin(v->index, 0, v->mackey, &ix) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	rc = index_audit_lines(ix, 0, line_one, &l);
	if (rc == -1)
		rc = vault_index_code(v);
out:
	index_abort(ix);
	vault_unlock(v);
	return rc;
}

/* The shred report: the events that prove what was destroyed for a user. */
struct reporting {
	coffre_vault *v;
	const char *user;
	json_t *events, *documents, *shreds;
	uint64_t last_seq;
};

static int
report_one(void *ctx, uint64_t seq, const char *line, size_t len)
{
	struct reporting *r = ctx;
	json_t *j = json_loadb(line, len, JSON_PRESERVE_ORDER, NULL);
	const char *u = NULL, *op = NULL, *res = NULL, *doc = NULL;

	r->last_seq = seq;
	if (j == NULL)
		return vault_err(r->v, COFFRE_EFAIL,
		    "audit log: event %llu is not JSON (corrupt)",
		    (unsigned long long)seq);
	if (json_unpack(j, "{s:s, s:s, s:s}", "user", &u, "op", &op, "result",
		&res) == 0 &&
	    strcmp(u, r->user) == 0) {
		if (strcmp(op, "seal") == 0 && strcmp(res, "done") == 0 &&
		    json_unpack(j, "{s:s}", "doc", &doc) == 0)
			json_array_append_new(r->documents, json_string(doc));
		if (strncmp(op, "shred", 5) == 0 ||
		    strncmp(op, "sweep-", 6) == 0)
			json_array_append(r->shreds, j);
		json_array_append_new(r->events, json_integer((json_int_t)seq));
	}
	json_decref(j);
	return 0;
}

int
coffre_shred_report(coffre_vault *v, const char *user, coffre_line_fn fn,
    void *ctx)
{
	struct reporting r;
	struct index_txn *ix = NULL;
	json_t *stmt = NULL, *out = NULL;
	char *body = NULL, *all = NULL, s64[90], pk64[64], t[21];
	uint8_t sig[64], hh[32];
	char hh64[65];
	uint64_t hseq;
	int rc;

	if (!coffre_valid_id(user))
		return vault_err(v, COFFRE_EREJECT, "malformed user id");
	memset(&r, 0, sizeof(r));
	r.v = v;
	r.user = user;
	r.events = json_array();
	r.documents = json_array();
	r.shreds = json_array();
	if ((rc = vault_lock(v, LOCK_SH)) != 0)
		goto out0;
	if (index_begin(v->index, 0, v->mackey, &ix) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	rc = index_audit_lines(ix, 0, report_one, &r);
	if (rc == -1)
		rc = vault_index_code(v);
	if (rc != 0)
		goto out;
	/* Sign with the key in force, whatever this handle loaded. */
	{
		struct tree_txn *tx = NULL;
		if ((rc = tree_begin(v->tree, 0, &tx)) != 0) {
			rc = vault_tree_code(v, rc);
			goto out;
		}
		rc = audit_key_refresh(v, tx);
		tree_abort(tx);
		if (rc != 0)
			goto out;
	}
	if (json_array_size(r.shreds) == 0) {
		rc = vault_err(v, COFFRE_ENOTFOUND,
		    "the audit log records no shred of user %s", user);
		goto out;
	}
	if (index_audit_head(ix, &hseq, hh) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	hex(hh, 32, hh64);
	util_iso8601((int64_t)time(NULL), t);
	sodium_bin2base64(pk64, sizeof(pk64), v->audit_pk, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	stmt = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:O, s:{s:I, s:s}, "
			 "s:[s, s]}",
	    "statement", "coffre shred report v1", "user", user, "generated", t,
	    "audit_pubkey", pk64, "documents", r.documents, "shreds", r.shreds,
	    "events", r.events, "log_head", "seq", (json_int_t)hseq, "hash",
	    hh64, "how_to_check",
	    "coffre audit verify --log LOG --pubkey audit.pub (LOG from "
	    "coffre audit log --json): the events listed are in a log whose "
	    "every checkpoint verifies",
	    "coffre audit scan (on the vault): nothing shredded opens with "
	    "any key that exists, no plaintext anywhere");
	if (stmt == NULL ||
	    (body = json_dumps(stmt, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
		NULL) {
		rc = vault_err(v, COFFRE_EFAIL, "out of memory");
		goto out;
	}
	/* The signature covers the statement's exact bytes. */
	crypto_sign_detached(sig, NULL, (const uint8_t *)body, strlen(body),
	    v->audit_sk);
	sodium_bin2base64(s64, sizeof(s64), sig, 64,
	    sodium_base64_VARIANT_ORIGINAL);
	out = json_pack("{s:s, s:s}", "report", body, "signature", s64);
	if (out == NULL ||
	    (all = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
		NULL) {
		rc = vault_err(v, COFFRE_EFAIL, "out of memory");
		goto out;
	}
	rc = fn(ctx, hseq, all, strlen(all));
out:
	index_abort(ix);
	vault_unlock(v);
out0:
	json_decref(r.events);
	json_decref(r.documents);
	json_decref(r.shreds);
	json_decref(stmt);
	json_decref(out);
	free(body);
	free(all);
	return rc;
}

int
coffre_audit_rotate(coffre_vault *v, char pubkey[64])
{
	struct tree_shred_stats st = {0};
	struct tree_txn *tx = NULL;
	struct audit_ev ev;
	uint8_t *seed = sodium_malloc(32 + crypto_sign_SECRETKEYBYTES);
	uint8_t newpk[32];
	int rc;

	if (seed == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of secure memory");
	if ((rc = vault_lock(v, LOCK_EX)) != 0)
		goto out0;
	randombytes_buf(seed, 32);
	crypto_sign_seed_keypair(newpk, seed + 32, seed);
	if ((rc = tree_begin(v->tree, 1, &tx)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	audit_ev_init(&ev);
	audit_ev_num(&ev, "epoch_before", tree_epoch(tx));
	if ((rc = pend(v, tx, "audit-key-rotation", "done", &ev, newpk)) != 0)
		goto out;
	if (tree_rotate_system(tx, TREE_SYS_AUDIT, seed, &st) != 0) {
		rc = vault_tree_code(v, -1);
		goto out;
	}
	rc = tree_commit(tx);
	tx = NULL;
	if (rc != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	/* The new key signs from the checkpoint that follows the event. */
	memcpy(v->audit_sk, seed + 32, crypto_sign_SECRETKEYBYTES);
	memcpy(v->audit_pk, newpk, 32);
	if ((rc = audit_flush(v, NULL)) != 0)
		goto out;
	if (tree_settle(v->tree) != 0) {
		rc = vault_tree_code(v, -1);
		goto out;
	}
	sodium_bin2base64(pubkey, 64, newpk, 32,
	    sodium_base64_VARIANT_ORIGINAL);
out:
	tree_abort(tx);
	vault_unlock(v);
out0:
	sodium_free(seed);
	return rc;
}
