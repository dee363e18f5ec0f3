/*
 * vault.c: the public API of include/coffre.h.  It ties the key tree
 * (keys/), the segments, the index and the type policy together, and owns
 * the order of durable steps: segment synced, then key leaf committed, then
 * index record committed, so that a crash leaves at most an unacknowledged
 * tail and an orphan leaf, never an index record without its bytes or key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre.h"
#include "keys/bytes.h"
#include "keys/tree.h"
#include "vault/config.h"
#include "vault/index.h"
#include "vault/policy.h"
#include "vault/segment.h"
#include "vault/util.h"
#include "vault/vault.h"

int
vault_err(coffre_vault *v, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->err, sizeof(v->err), fmt, ap);
	va_end(ap);
	return code;
}

const char *
coffre_strerror(int code)
{
	switch (code) {
	case COFFRE_OK:
		return "done";
	case COFFRE_EFAIL:
		return "failure";
	case COFFRE_EUSAGE:
		return "usage";
	case COFFRE_ENOTFOUND:
		return "not found";
	case COFFRE_EGONE:
		return "gone";
	case COFFRE_EREJECT:
		return "rejected input";
	case COFFRE_EDENIED:
		return "not allowed";
	case COFFRE_ELOCKED:
		return "locked";
	case COFFRE_ENODAEMON:
		return "no daemon";
	default:
		return "unknown error";
	}
}

const char *
coffre_errmsg(const coffre_vault *v)
{
	return v->err;
}

static const char *const status_names[] = {"pending", "approved", "rejected",
    "shredded"};

const char *
coffre_status_name(int status)
{
	if (status < 0 || status > COFFRE_SHREDDED)
		return "unknown";
	return status_names[status];
}

int
coffre_status_parse(const char *s)
{
	for (int i = 0; i <= COFFRE_SHREDDED; i++)
		if (s != NULL && strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

void
coffre_set_max_doc(coffre_vault *v, uint64_t bytes)
{
	v->max_doc_override = bytes;
}

static uint64_t
max_doc(const coffre_vault *v)
{
	return v->max_doc_override != 0 ? v->max_doc_override : v->conf.max_doc;
}

/* Free text (names, notes): no control bytes, bounded. */
static int
valid_text(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (n >= max || (unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return 0;
	return util_valid_utf8(s);
}

/* The writer lock: one process changes the vault at a time. */
void
vault_shred_result(struct coffre_shred_result *res,
    const struct tree_shred_stats *st)
{
	res->keys_destroyed = st->destroyed;
	res->wraps = st->wraps;
	res->epoch_before = st->epoch_before;
	res->epoch_after = st->epoch_after;
}

int
vault_grow(coffre_vault *v, void **a, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *na;

	if (n < *cap)
		return 0;
	ncap = *cap != 0 ? *cap * 2 : 64;
	if (ncap > SIZE_MAX / size || (na = realloc(*a, ncap * size)) == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	*a = na;
	*cap = ncap;
	return 0;
}

int
vault_lock(coffre_vault *v, int how)
{
	while (flock(v->lockfd, how) != 0) {
		if (errno != EINTR)
			return vault_err(v, COFFRE_EFAIL, "%s/lock: %s", v->dir,
			    strerror(errno));
	}
	v->locked = how;
	return 0;
}

void
vault_unlock(coffre_vault *v)
{
	(void)flock(v->lockfd, LOCK_UN);
	v->locked = 0;
}

int
vault_tree_code(coffre_vault *v, int rc)
{
	if (rc == TREE_EFENCED)
		return vault_err(v, COFFRE_EGONE, "the user was shredded");
	if (rc == TREE_ENOTFOUND)
		return vault_err(v, COFFRE_EGONE, "the key is destroyed");
	return vault_err(v, COFFRE_EFAIL, "%s", tree_errmsg(v->tree));
}

int
vault_index_code(coffre_vault *v)
{
	return vault_err(v, COFFRE_EFAIL, "%s", index_errmsg(v->index));
}

int
vault_map_grow(coffre_vault *v)
{
	int t = tree_map_grow(v->tree), i = index_map_grow(v->index);

	return t == 1 || i == 1;
}

/* Derive the body (1) or metadata (2) subkey of a document key. */
static void
subkey(coffre_vault *v, uint64_t which)
{
	crypto_kdf_derive_from_key(v->sub, 32, which, "cfdocv01", v->dk);
}

static void
doc_ad(uint8_t ad[40], const uint8_t id[16], uint64_t keyid)
{
	memcpy(ad, "coffre-doc-v1\0\0\0", 16);
	memcpy(ad + 16, id, 16);
	bytes_store64(ad + 32, keyid);
}

/* Seal short text under the document's metadata subkey. */
static size_t
seal_text(coffre_vault *v, const uint8_t id[16], const char *dom,
    const char *text, uint8_t *out)
{
	uint8_t ad[32];
	size_t n = strlen(text);

	memset(ad, 0, sizeof(ad));
	memcpy(ad, id, 16);
	snprintf((char *)ad + 16, 16, "%s", dom);
	subkey(v, 2);
	randombytes_buf(out, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, NULL,
	    (const uint8_t *)text, n, ad, sizeof(ad), NULL, out, v->sub);
	sodium_memzero(v->sub, 32);
	return 24 + n + 16;
}

/* Open sealed text into ${out} (${max} + 1 bytes).  0 or -1. */
int
vault_open_text(coffre_vault *v, const uint8_t id[16], const char *dom,
    const uint8_t *in, size_t inlen, char *out, size_t max)
{
	uint8_t ad[32];
	unsigned long long n;
	int rc;

	out[0] = '\0';
	if (inlen < 40 || inlen - 40 > max)
		return -1;
	memset(ad, 0, sizeof(ad));
	memcpy(ad, id, 16);
	snprintf((char *)ad + 16, 16, "%s", dom);
	subkey(v, 2);
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out, &n,
	    NULL, in + 24, inlen - 24, ad, sizeof(ad), in, v->sub);
	sodium_memzero(v->sub, 32);
	if (rc != 0)
		return -1;
	out[n] = '\0';
	return 0;
}

int
coffre_init(const char *dir, const struct coffre_init_opts *opts,
    char pubkey[64], char *errbuf, size_t errlen)
{
	char path[4200], line[128];
	struct tree *t = NULL;
	struct tree_txn *x = NULL;
	struct index *ix = NULL;
	struct segstore *s = NULL;
	struct stat st;
	uint8_t pk[32];
	unsigned years = COFFRE_DEFAULT_RETENTION_YEARS;
	int fd, rc = COFFRE_EFAIL;

	if (sodium_init() < 0) {
		snprintf(errbuf, errlen, "cannot initialise libsodium");
		return COFFRE_EFAIL;
	}
	if (opts != NULL && opts->retention_years != 0)
		years = opts->retention_years;
	if (strlen(dir) > 3000) {
		snprintf(errbuf, errlen, "%s: path too long", dir);
		return COFFRE_EREJECT;
	}
	if (util_mkdir(dir) != 0) {
		snprintf(errbuf, errlen, "%s: %s", dir, strerror(errno));
		return COFFRE_EFAIL;
	}
	snprintf(path, sizeof(path), "%s/lock", dir);
	if (lstat(path, &st) == 0) {
		snprintf(errbuf, errlen,
		    "%s: a vault exists already here; choose another --dir",
		    dir);
		return COFFRE_EFAIL;
	}
	snprintf(path, sizeof(path), "%s/keys", dir);
	if (lstat(path, &st) == 0) {
		snprintf(errbuf, errlen,
		    "%s: an earlier init did not finish (keys/ exists, no "
		    "lock file); nothing was ever sealed there: remove %s and "
		    "run init again",
		    dir, dir);
		return COFFRE_EFAIL;
	}
	if (chmod(dir, 0700) != 0 || util_mkdir(path) != 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return COFFRE_EFAIL;
	}
	if (tree_create(path, opts != NULL ? opts->passphrase : NULL,
		opts != NULL ? opts->passphrase_len : 0, &t, errbuf,
		errlen) != 0)
		goto out;
	if (tree_begin(t, 1, &x) != 0) {
		x = NULL;
		snprintf(errbuf, errlen, "%s", tree_errmsg(t));
		goto out;
	}
	if (tree_meta_put(x, "retention_years", years) != 0 ||
	    tree_audit_pubkey(x, pk) != 0) {
		snprintf(errbuf, errlen, "%s", tree_errmsg(t));
		tree_abort(x);
		x = NULL;
		goto out;
	}
	if (tree_commit(x) != 0) {
		x = NULL;
		snprintf(errbuf, errlen, "%s", tree_errmsg(t));
		goto out;
	}
	x = NULL;
	if (index_open(dir, 1, &ix, errbuf, errlen) != 0 ||
	    segment_store_open(dir, 1, &s, errbuf, errlen) != 0)
		goto out;
	sodium_bin2base64(pubkey, 64, pk, 32, sodium_base64_VARIANT_ORIGINAL);
	snprintf(path, sizeof(path), "%s/audit.pub", dir);
	snprintf(line, sizeof(line), "%s\n", pubkey);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 || util_write_all(fd, line, strlen(line)) != 0 ||
	    fsync(fd) != 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		goto out;
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/keys", dir);
	if (util_fsync_dir(path) != 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* The lock file last: it is what says a vault is here. */
	snprintf(path, sizeof(path), "%s/lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		 0600)) == -1) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	close(fd);
	if (util_fsync_dir(dir) != 0) {
		snprintf(errbuf, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	tree_abort(x);
	segment_store_close(s);
	s = NULL;
	index_close(ix);
	ix = NULL;
	tree_close(t);
	t = NULL;
	if (rc == 0) {
		/* The log's first event: the vault and its audit key. */
		coffre_vault *v;
		struct audit_ev e;
		if ((rc = coffre_open(dir,
			 opts != NULL ? opts->passphrase : NULL,
			 opts != NULL ? opts->passphrase_len : 0, &v, errbuf,
			 errlen)) != 0)
			return rc;
		audit_ev_init(&e);
		audit_ev_str(&e, "audit_pubkey", pubkey);
		audit_ev_num(&e, "retention_years", years);
		if ((rc = audit_log(v, "init", "done", &e)) != 0)
			snprintf(errbuf, errlen, "%s", coffre_errmsg(v));
		coffre_close(v);
		return rc;
	}
	segment_store_close(s);
	index_close(ix);
	tree_close(t);
	return rc;
}

int
coffre_open(const char *dir, const char *passphrase, size_t passphrase_len,
    coffre_vault **out, char *errbuf, size_t errlen)
{
	coffre_vault *v;
	char path[4200];
	struct tree_txn *x = NULL;
	int rc;

	if (sodium_init() < 0) {
		snprintf(errbuf, errlen, "cannot initialise libsodium");
		return COFFRE_EFAIL;
	}
	if (strlen(dir) > 3000) {
		snprintf(errbuf, errlen, "%s: path too long", dir);
		return COFFRE_EREJECT;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return COFFRE_EFAIL;
	}
	v->lockfd = -1;
	snprintf(v->dir, sizeof(v->dir), "%s", dir);
	/* One guarded, locked region for the handle's keys: each
	 * sodium_malloc costs an mmap, two mprotects and an mlock. */
	if ((v->secrets = sodium_malloc(3 * 32 + crypto_sign_SECRETKEYBYTES)) !=
	    NULL) {
		v->mackey = v->secrets;
		v->dk = v->secrets + 32;
		v->sub = v->secrets + 64;
		v->audit_sk = v->secrets + 96;
	}
	snprintf(v->actor, sizeof(v->actor), "local");
	if (v->mackey == NULL || v->dk == NULL || v->sub == NULL ||
	    v->audit_sk == NULL) {
		snprintf(errbuf, errlen, "out of secure memory");
		rc = COFFRE_EFAIL;
		goto err;
	}
	snprintf(path, sizeof(path), "%s/lock", dir);
	if ((v->lockfd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		rc = errno == ENOENT ? COFFRE_ENOTFOUND : COFFRE_EFAIL;
		if (rc == COFFRE_ENOTFOUND)
			snprintf(errbuf, errlen,
			    "%s: no vault here; create one with 'coffre "
			    "--dir %s init'",
			    dir, dir);
		else
			snprintf(errbuf, errlen, "%s: %s", path,
			    strerror(errno));
		goto err;
	}
	if (config_load(dir, &v->conf, errbuf, errlen) != 0) {
		rc = COFFRE_EFAIL;
		goto err;
	}
	snprintf(path, sizeof(path), "%s/keys", dir);
	rc = tree_open(path, passphrase, passphrase_len, &v->tree, errbuf,
	    errlen);
	if (rc != 0) {
		rc = rc == TREE_ENOTFOUND ? COFFRE_ENOTFOUND : COFFRE_EFAIL;
		goto err;
	}
	if (index_open(dir, 0, &v->index, errbuf, errlen) != 0 ||
	    segment_store_open(dir, 0, &v->segs, errbuf, errlen) != 0) {
		rc = COFFRE_EFAIL;
		goto err;
	}
	if (v->conf.map_size != 0 &&
	    tree_map_size(v->tree, v->conf.map_size) != 0) {
		snprintf(errbuf, errlen, "%s", tree_errmsg(v->tree));
		rc = COFFRE_EFAIL;
		goto err;
	}
	if (v->conf.map_size != 0 &&
	    index_map_size(v->index, v->conf.map_size) != 0) {
		snprintf(errbuf, errlen, "%s", index_errmsg(v->index));
		rc = COFFRE_EFAIL;
		goto err;
	}
	/*
	 * A root change that crashed between its commit and the erasure of
	 * the old slot left the old root on disk: finish it now if no writer
	 * is at work (a writer finishes it anyway when it starts).
	 */
	if (flock(v->lockfd, LOCK_EX | LOCK_NB) == 0) {
		v->locked = LOCK_EX;
		if (tree_begin(v->tree, 1, &x) == 0)
			tree_abort(x);
		x = NULL;
		vault_unlock(v);
	}
	if ((rc = vault_lock(v, LOCK_SH)) != 0) {
		snprintf(errbuf, errlen, "%s", v->err);
		goto err;
	}
	rc = tree_begin(v->tree, 0, &x);
	if (rc == 0)
		rc = tree_system_key(x, TREE_SYS_INDEX, v->mackey);
	if (rc == 0 && (rc = tree_system_key(x, TREE_SYS_AUDIT, v->sub)) == 0)
		crypto_sign_seed_keypair(v->audit_pk, v->audit_sk, v->sub);
	sodium_memzero(v->sub, 32);
	tree_abort(x);
	if (rc == 0) {
		struct index_txn *ixt = NULL;
		uint64_t seen = 0;
		if (index_begin(v->index, 0, v->mackey, &ixt) != 0 ||
		    index_meta_u64(ixt, "tree_txnid", &seen) != 0) {
			index_abort(ixt);
			vault_unlock(v);
			snprintf(errbuf, errlen, "%s", index_errmsg(v->index));
			rc = COFFRE_EFAIL;
			goto err;
		}
		index_abort(ixt);
		if (seen > tree_last_txnid(v->tree)) {
			vault_unlock(v);
			snprintf(errbuf, errlen,
			    "%s/keys/tree.mdb: the key tree is older than the "
			    "index (a damaged or restored keys/tree.mdb): "
			    "corrupt",
			    dir);
			rc = COFFRE_EFAIL;
			goto err;
		}
	}
	vault_unlock(v);
	if (rc != 0) {
		snprintf(errbuf, errlen, "%s", tree_errmsg(v->tree));
		rc = COFFRE_EFAIL;
		goto err;
	}
	/* An event a crash left in the key tree goes into the log now. */
	if (flock(v->lockfd, LOCK_EX | LOCK_NB) == 0) {
		v->locked = LOCK_EX;
		(void)audit_flush(v, NULL);
		vault_unlock(v);
	}
	*out = v;
	return 0;
err:
	coffre_close(v);
	return rc;
}

void
coffre_close(coffre_vault *v)
{
	if (v == NULL)
		return;
	policy_close(v->policy);
	for (int i = 0; i < HEAD_CACHE; i++)
		sodium_free(v->heads[i]);
	segment_store_close(v->segs);
	index_close(v->index);
	tree_close(v->tree);
	if (v->lockfd >= 0)
		close(v->lockfd);
	sodium_free(v->secrets);
	if (v->reviews != NULL) {
		sodium_memzero(v->reviews, v->capreviews * sizeof(*v->reviews));
		free(v->reviews);
	}
	free(v);
}

/* Pull from ${rd} until ${buf} is full or the input ends. */
static long
fill(coffre_read_fn rd, void *ctx, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		long n = rd(ctx, buf + got, len - got);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (long)got;
}

static int
committed_end(void *ctx, uint32_t segno, uint64_t *end)
{
	return index_seg_end(ctx, segno, end);
}

struct sealing {
	uint8_t *head; /* POLICY_HEAD_BYTES, sodium_malloc'd plaintext */
	size_t headlen, headpos;
	uint8_t *pt; /* two CHUNK_BYTES plaintext buffers */
	uint8_t *ct;
	crypto_secretstream_xchacha20poly1305_state *st;
	int map_tries; /* passes run again after a map grew */
};

/* Next plaintext bytes: the head first, then the reader. */
static long
sealing_fill(struct sealing *s, coffre_read_fn rd, void *ctx, uint8_t *buf,
    size_t len)
{
	size_t n = 0;
	long m;

	if (s->headpos < s->headlen) {
		n = s->headlen - s->headpos;
		if (n > len)
			n = len;
		memcpy(buf, s->head + s->headpos, n);
		s->headpos += n;
	}
	if (n == len)
		return (long)n;
	if ((m = fill(rd, ctx, buf + n, len - n)) < 0)
		return -1;
	return (long)n + m;
}

/*
 * Polyglot detection (SPEC.md section 7): a document that is also a zip
 * archive.  Zip readers find a zip by its end-of-central-directory record,
 * wherever it lies (with bytes before it, or after it), so every chunk of
 * plaintext is searched for one as it streams by: the signature PK\5\6
 * with fields a reader accepts (one disk, entry counts that agree, a
 * central directory that fits before it, a comment that fits before the
 * end).  Random bytes pass all that with odds far below 2^-60.
 */
struct zipscan {
	uint8_t carry[21]; /* the last bytes of the previous chunk */
	size_t ncarry;
	uint64_t pos;      /* stream offset of carry[0] */
	uint64_t need_end; /* a candidate's record + comment end, or 0 */
	int found;
};

static int
eocd_plausible(const uint8_t *e, uint64_t at)
{
	uint16_t entries = bytes_load16(e + 10);
	uint32_t cdsize = bytes_load32(e + 12), cdoff = bytes_load32(e + 16);

	return bytes_load16(e + 4) == 0 && bytes_load16(e + 6) == 0 &&
	    bytes_load16(e + 8) == entries && entries > 0 &&
	    cdsize >= 46u * entries && (uint64_t)cdoff + cdsize <= at;
}

/* Keep the earliest end of all candidates: a decoy must not hide a zip. */
static void
zipscan_candidate(struct zipscan *z, uint64_t end)
{
	if (z->need_end == 0 || end < z->need_end)
		z->need_end = end;
}

static void
zipscan_chunk(struct zipscan *z, const uint8_t *p, size_t n)
{
	uint8_t win[21 + 22];
	size_t i;

	/* Candidates that straddle the previous chunk and this one. */
	if (z->ncarry > 0) {
		size_t m = n < 21 ? n : 21;
		memcpy(win, z->carry, z->ncarry);
		memcpy(win + z->ncarry, p, m);
		for (i = 0; i < z->ncarry && i + 22 <= z->ncarry + m; i++)
			if (win[i] == 'P' && win[i + 1] == 'K' &&
			    win[i + 2] == 5 && win[i + 3] == 6 &&
			    eocd_plausible(win + i, z->pos + i))
				zipscan_candidate(z,
				    z->pos + i + 22 +
					bytes_load16(win + i + 20));
	}
	for (i = 0; i + 22 <= n; i++) {
		const uint8_t *q = memchr(p + i, 'P', n - 22 + 1 - i);
		if (q == NULL)
			break;
		i = (size_t)(q - p);
		if (q[1] == 'K' && q[2] == 5 && q[3] == 6 &&
		    eocd_plausible(q, z->pos + z->ncarry + i))
			zipscan_candidate(z,
			    z->pos + z->ncarry + i + 22 + bytes_load16(q + 20));
	}
	/* Keep the last 21 bytes for the next chunk. */
	if (n >= 21) {
		z->pos += z->ncarry + n - 21;
		memcpy(z->carry, p + n - 21, 21);
		z->ncarry = 21;
	} else {
		size_t keep = z->ncarry + n > 21 ? 21 : z->ncarry + n;
		uint8_t tmp[42];
		memcpy(tmp, z->carry, z->ncarry);
		memcpy(tmp + z->ncarry, p, n);
		z->pos += z->ncarry + n - keep;
		memcpy(z->carry, tmp + z->ncarry + n - keep, keep);
		z->ncarry = keep;
		sodium_memzero(tmp, sizeof(tmp));
	}
	sodium_memzero(win, sizeof(win)); /* plaintext bytes */
}

/* At the end: a candidate whose comment fits before the end is a zip. */
static int
zipscan_end(const struct zipscan *z, uint64_t total)
{
	return z->need_end != 0 && z->need_end <= total;
}

/* Encrypt the whole input into the segment writer ${w}. */
static int
seal_body(coffre_vault *v, struct sealing *s, struct segwriter *w,
    struct coffre_seal_req *r, const uint8_t ad[40], uint64_t *size, int *batch)
{
	coffre_read_fn rd = r->rd;
	void *ctx = r->rdctx;

	uint8_t *cur = s->pt, *next = s->pt + CHUNK_BYTES, *tmp;
	struct zipscan zs;
	unsigned long long clen;
	long n, m;
	uint64_t total;

	*batch = 0;
	memset(&zs, 0, sizeof(zs));
	if ((n = sealing_fill(s, rd, ctx, cur, CHUNK_BYTES)) < 0)
		return vault_err(v, COFFRE_EFAIL, "reading the input: %s",
		    strerror(errno));
	total = (uint64_t)n;
	for (;;) {
		if ((m = sealing_fill(s, rd, ctx, next, CHUNK_BYTES)) < 0)
			return vault_err(v, COFFRE_EFAIL,
			    "reading the input: %s", strerror(errno));
		total += (uint64_t)m;
		if (total > max_doc(v) && (r->too_large = 1))
			return vault_err(v, COFFRE_EREJECT,
			    "document larger than the limit of %llu bytes "
			    "(max_document_bytes in coffre.conf)",
			    (unsigned long long)max_doc(v));
		crypto_secretstream_xchacha20poly1305_push(s->st, s->ct, &clen,
		    cur, (size_t)n, ad, 40,
		    m == 0 ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
			   : 0);
		if (segment_append_chunk(w, s->ct, (size_t)clen) != 0) {
			*batch = 1;
			return vault_err(v, COFFRE_EFAIL, "%s/segments: %s",
			    v->dir, strerror(errno));
		}
		zipscan_chunk(&zs, cur, (size_t)n);
		if (m == 0) {
			if (zipscan_end(&zs, total) && (r->bad_type = 1))
				return vault_err(v, COFFRE_EREJECT,
				    "the document is also a zip archive (a zip "
				    "inside or appended to it): polyglots are "
				    "rejected");
			break;
		}
		tmp = cur;
		cur = next;
		next = tmp;
		n = m;
	}
	*size = total;
	return 0;
}

int
coffre_seal(coffre_vault *v, const char *user, const char *community,
    const char *kind, const char *name, coffre_read_fn rd, void *rdctx,
    char id[COFFRE_DOCID_LEN + 1], char *type, uint64_t *size)
{
	return vault_seal(v, 0, user, community, kind, name, rd, rdctx, id,
	    type, size);
}

int
vault_seal(coffre_vault *v, int archive, const char *user, const char *group,
    const char *kind, const char *name, coffre_read_fn rd, void *rdctx,
    char id[COFFRE_DOCID_LEN + 1], char *type, uint64_t *size)
{
	struct coffre_seal_req r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.archive = archive;
	r.user = user;
	r.group = group;
	r.kind = kind;
	r.name = name;
	r.rd = rd;
	r.rdctx = rdctx;
	rc = coffre_seal_batch(v, &r, 1);
	if (rc == 0) {
		memcpy(id, r.id, sizeof(r.id));
		snprintf(type, COFFRE_TYPE_MAX + 1, "%s", r.type);
		*size = r.size;
	} else {
		snprintf(v->err, sizeof(v->err), "%s", r.err);
	}
	return rc;
}

/* One request of a batch while it is sealed. */
struct seal_item {
	struct coffre_seal_req *r;
	uint8_t *head; /* POLICY_HEAD_BYTES, sodium_malloc'd plaintext */
	size_t headlen;
	struct idoc d;
	int live; /* still to seal */
	int slot; /* its head in v->heads, or -1: its own */
};

/* The request's outcome: ${rc} with the handle's message. */
static void
item_fail(coffre_vault *v, struct seal_item *it, int rc)
{
	it->r->rc = rc;
	snprintf(it->r->err, sizeof(it->r->err), "%s", v->err);
	it->live = 0;
}

/* Checks that need no lock: ids, name, then the type policy on the head. */
static void
seal_precheck(coffre_vault *v, struct seal_item *it)
{
	struct coffre_seal_req *r = it->r;
	const char *what = r->archive ? "contract" : "community";
	char fmt[64];
	long n;

	it->live = 1;
	if (!coffre_valid_id(r->user) || !coffre_valid_id(r->group)) {
		vault_err(v, COFFRE_EREJECT,
		    "malformed user or %s id: 1 to 128 bytes of "
		    "[A-Za-z0-9._:@-]",
		    what);
		item_fail(v, it, COFFRE_EREJECT);
		return;
	}
	if (r->kind != NULL && !coffre_valid_id(r->kind)) {
		vault_err(v, COFFRE_EREJECT,
		    "malformed kind: 1 to 128 bytes of [A-Za-z0-9._:@-]");
		item_fail(v, it, COFFRE_EREJECT);
		return;
	}
	if (r->name != NULL && !valid_text(r->name, COFFRE_NAME_MAX)) {
		vault_err(v, COFFRE_EREJECT,
		    "malformed name: at most %d bytes of UTF-8, no control "
		    "characters",
		    COFFRE_NAME_MAX);
		item_fail(v, it, COFFRE_EREJECT);
		return;
	}
	if (it->slot >= 0 && v->heads[it->slot] == NULL)
		v->heads[it->slot] = sodium_malloc(POLICY_HEAD_BYTES);
	it->head = it->slot >= 0 ? v->heads[it->slot]
				 : sodium_malloc(POLICY_HEAD_BYTES);
	if (it->head == NULL) {
		vault_err(v, COFFRE_EFAIL, "out of memory");
		item_fail(v, it, COFFRE_EFAIL);
		return;
	}
	/* Type policy first, on the head: nothing is written for a refusal. */
	if ((n = fill(r->rd, r->rdctx, it->head, POLICY_HEAD_BYTES)) < 0) {
		vault_err(v, COFFRE_EFAIL, "reading the input: %s",
		    strerror(errno));
		item_fail(v, it, COFFRE_EFAIL);
		return;
	}
	it->headlen = (size_t)n;
	if (n == 0) {
		vault_err(v, COFFRE_EREJECT, "empty document");
		item_fail(v, it, COFFRE_EREJECT);
		return;
	}
	if ((uint64_t)n > max_doc(v)) {
		vault_err(v, COFFRE_EREJECT,
		    "document larger than the limit of %llu bytes "
		    "(max_document_bytes in coffre.conf)",
		    (unsigned long long)max_doc(v));
		r->too_large = 1;
		item_fail(v, it, COFFRE_EREJECT);
		return;
	}
	if (v->policy == NULL &&
	    policy_open(&v->policy, v->err, sizeof(v->err)) != 0) {
		item_fail(v, it, COFFRE_EFAIL);
		return;
	}
	if (policy_detect(v->policy, it->head, it->headlen, it->d.type,
		sizeof(it->d.type)) != 0 ||
	    !policy_allowed(&v->conf, it->d.type)) {
		vault_err(v, COFFRE_EREJECT,
		    "type %s is not allowed (allowed: PDF, JPEG, PNG, WebP, "
		    "HEIC/HEIF, TIFF, or allow_type in coffre.conf)",
		    it->d.type);
		r->bad_type = 1;
		snprintf(r->type, sizeof(r->type), "%s", it->d.type);
		item_fail(v, it, COFFRE_EREJECT);
		return;
	}
	/* A document that libarchive also reads as an archive. */
	if (bundle_is_archive(it->head, it->headlen, fmt, sizeof(fmt))) {
		vault_err(v, COFFRE_EREJECT,
		    "the document (%s) is also a readable archive (%s): "
		    "polyglots are rejected",
		    it->d.type, fmt);
		r->bad_type = 1;
		snprintf(r->type, sizeof(r->type), "%s", it->d.type);
		item_fail(v, it, COFFRE_EREJECT);
	}
}

/* The owner node of ${r} (user, or contract for an archive). */
static int
seal_owner(coffre_vault *v, struct tree_txn *tx,
    const struct coffre_seal_req *r, uint64_t *owner)
{
	struct tree_contract ct;
	int rc;

	if (r->archive) {
		/* Archives belong to the contract, not the user: no fence. */
		memset(&ct, 0, sizeof(ct));
		rc = tree_contract_ensure(tx, r->user, strlen(r->user),
		    r->group, strlen(r->group), &ct);
		if (rc == TREE_EFENCED)
			return vault_err(v, COFFRE_EGONE,
			    "contract %s of user %s was swept (its retention "
			    "ended): it takes no more archives",
			    r->group, r->user);
		if (rc == 0 && vault_contract_expired(&ct))
			return vault_err(v, COFFRE_EGONE,
			    "the retention of contract %s of user %s has "
			    "ended: nothing more can be archived under it",
			    r->group, r->user);
		*owner = ct.node;
	} else {
		rc = tree_user_ensure(tx, r->user, strlen(r->user), owner);
		if (rc == TREE_EFENCED)
			return vault_err(v, COFFRE_EGONE,
			    "user %s was shredded; a returning person gets a "
			    "new user id",
			    r->user);
	}
	return rc != 0 ? vault_tree_code(v, rc) : 0;
}

/*
 * Seal item ${it} inside the batch's transactions.  0; a code of the item
 * alone (*batch 0: it is refused, the others go on); or a code of the whole
 * batch (*batch 1: storage failed).
 */
static int
seal_one(coffre_vault *v, struct sealing *s, struct seal_item *it,
    struct tree_txn *tx, struct index_txn *ix, int *batch)
{
	struct coffre_seal_req *r = it->r;
	struct idoc *d = &it->d;
	struct segwriter *w = NULL;
	uint8_t sshdr[SEGMENT_SSHDR_BYTES], ad[40];
	uint64_t owner = 0, seq;
	int rc;

	*batch = 0;
	s->head = it->head;
	s->headlen = it->headlen;
	s->headpos = 0;
	if ((rc = seal_owner(v, tx, r, &owner)) != 0) {
		*batch = rc == COFFRE_EFAIL;
		return rc;
	}
	*batch = 1;
	if ((rc = tree_leaf_new(tx, owner,
		 r->archive ? TREE_KIND_ARCHIVE : TREE_KIND_DOC, v->dk,
		 &d->keyid)) != 0)
		return vault_tree_code(v, rc);
	if (index_next_seq(ix, &seq) != 0)
		return vault_index_code(v);
	bytes_store64be(d->id, seq);
	randombytes_buf(d->id + 8, 8);
	doc_ad(ad, d->id, d->keyid);
	subkey(v, 1);
	crypto_secretstream_xchacha20poly1305_init_push(s->st, sshdr, v->sub);
	sodium_memzero(v->sub, 32);
	if (segment_append_begin(v->segs, committed_end, ix, d->id, d->keyid,
		sshdr, &w, v->err, sizeof(v->err)) != 0)
		return COFFRE_EFAIL;
	if ((rc = seal_body(v, s, w, r, ad, &d->size, batch)) != 0) {
		segment_append_abort(w);
		return rc;
	}
	*batch = 1;
	if (segment_append_finish(w, d->size, &d->loc, 0, v->err,
		sizeof(v->err)) != 0)
		return COFFRE_EFAIL;
	d->status = COFFRE_PENDING;
	d->created = (int64_t)time(NULL);
	snprintf(d->user, sizeof(d->user), "%s", r->user);
	snprintf(d->community, sizeof(d->community), "%s", r->group);
	snprintf(d->kind, sizeof(d->kind), "%s",
	    r->kind != NULL ? r->kind : "");
	d->snamelen = seal_text(v, d->id, "name",
	    r->name != NULL ? r->name : "", d->sname);
	sodium_memzero(v->dk, 32);
	*batch = 0;
	return 0;
}

/* seal_pass(): run the pass again (not a COFFRE_E* code). */
#define SEAL_AGAIN (-1)

/*
 * A pass was aborted because a transaction filled its map, now grown: the
 * pass runs again (SEAL_AGAIN), and the items it read up to ${upto} are
 * read again, but for those that cannot be.
 */
static int
seal_reread(coffre_vault *v, struct seal_item *items, size_t upto)
{
	for (size_t j = 0; j < upto; j++)
		if (items[j].live && items[j].r->seek == NULL) {
			vault_err(v, COFFRE_EFAIL,
			    "the vault's database was full and has grown; "
			    "this document cannot be read again: send it "
			    "again");
			item_fail(v, &items[j], COFFRE_EFAIL);
		}
	return SEAL_AGAIN;
}

/*
 * The index part of a seal: the records of the sealed items, their events,
 * and the commit.  ${ix} is committed or aborted.  It can run again in a
 * new transaction (after the map grew): the sequence is raised past the
 * items' numbers, drawn in the first one.
 */
static int
seal_index(coffre_vault *v, struct seal_item *items, size_t n,
    struct index_txn *ix)
{
	char actor[sizeof(v->actor)];
	struct audit_ev ev;
	uint64_t next = 0, top = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (items[i].live && bytes_load64be(items[i].d.id) > top)
			top = bytes_load64be(items[i].d.id);
	if (index_meta_u64(ix, "next_doc", &next) != 0 ||
	    (next <= top && index_meta_put_u64(ix, "next_doc", top + 1) != 0)) {
		index_abort(ix);
		return vault_index_code(v);
	}
	memcpy(actor, v->actor, sizeof(actor));
	for (size_t i = 0; i < n; i++) {
		struct coffre_seal_req *r = items[i].r;
		struct idoc *d = &items[i].d;
		if (!items[i].live)
			continue;
		if ((r->archive ? index_arc_put(ix, d)
				: index_doc_put(ix, d)) != 0) {
			index_abort(ix);
			return vault_index_code(v);
		}
		util_docid_encode(d->id, r->id);
		memcpy(r->type, d->type, sizeof(r->type));
		r->size = d->size;
		audit_ev_init(&ev);
		audit_ev_str(&ev, r->archive ? "archive" : "doc", r->id);
		audit_ev_str(&ev, "user", r->user);
		audit_ev_str(&ev, r->archive ? "contract" : "community",
		    r->group);
		if (r->kind != NULL)
			audit_ev_str(&ev, "kind", r->kind);
		audit_ev_str(&ev, "type", d->type);
		audit_ev_num(&ev, "size", d->size);
		if (r->actor != NULL)
			coffre_set_actor(v, r->actor);
		rc = audit_append(v, ix, r->archive ? "archive" : "seal",
		    "done", &ev);
		memcpy(v->actor, actor, sizeof(actor));
		if (rc != 0) {
			index_abort(ix);
			return rc;
		}
	}
	/* The index remembers how far the key tree got (see coffre_open). */
	if (index_meta_put_u64(ix, "tree_txnid", tree_last_txnid(v->tree)) !=
	    0) {
		index_abort(ix);
		return vault_index_code(v);
	}
	if (index_commit(ix) != 0)
		return vault_index_code(v);
	return 0;
}

/* Commit the sealed items: segments, key tree, then the index. */
static int
seal_commit(coffre_vault *v, struct sealing *s, struct seal_item *items,
    size_t n, struct tree_txn *tx, struct index_txn *ix)
{
	int rc;

	if (segment_sync(v->segs, v->err, sizeof(v->err)) != 0) {
		tree_abort(tx);
		index_abort(ix);
		return COFFRE_EFAIL;
	}
	if ((rc = tree_commit(tx)) != 0) {
		index_abort(ix);
		rc = vault_tree_code(v, rc);
		return rc == COFFRE_EFAIL && s->map_tries++ < VAULT_MAP_TRIES &&
			vault_map_grow(v) == 1
		    ? seal_reread(v, items, n)
		    : rc;
	}
	/* The keys are in: a full index map is grown and the index part run
	 * again, nothing read twice. */
	for (int tries = 0;; tries++) {
		rc = seal_index(v, items, n, ix);
		if (rc != COFFRE_EFAIL || tries == VAULT_MAP_TRIES ||
		    index_map_grow(v->index) != 1)
			return rc;
		if (index_begin(v->index, 1, v->mackey, &ix) != 0)
			return vault_index_code(v);
	}
}

/*
 * One pass over the live items in one pair of transactions.  Returns 0
 * when they were committed; SEAL_AGAIN when one item was refused and the pass must
 * run again without it; or a code that fails every live item.
 */
static int
seal_pass(coffre_vault *v, struct sealing *s, struct seal_item *items, size_t n)
{
	struct tree_txn *tx = NULL;
	struct index_txn *ix = NULL;
	int rc, batch;

	if ((rc = tree_begin(v->tree, 1, &tx)) != 0)
		return vault_tree_code(v, rc);
	if (index_begin(v->index, 1, v->mackey, &ix) != 0) {
		tree_abort(tx);
		return vault_index_code(v);
	}
	/*
	 * Fenced users first, before anything is written: a refusal found
	 * later aborts the pass, and LMDB may then leave what the pass wrote
	 * (keys wrapped under live keys) in pages it reuses uncleared.
	 */
	for (size_t i = 0; i < n; i++) {
		struct coffre_seal_req *r = items[i].r;
		uint64_t node;
		if (items[i].live && !r->archive &&
		    tree_user_find(tx, r->user, strlen(r->user), &node) ==
			TREE_EFENCED) {
			vault_err(v, COFFRE_EGONE,
			    "user %s was shredded; a returning person gets a "
			    "new user id",
			    r->user);
			item_fail(v, &items[i], COFFRE_EGONE);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct coffre_seal_req *r = items[i].r;
		if (!items[i].live)
			continue;
		if (r->seek != NULL &&
		    r->seek(r->rdctx, items[i].headlen) != 0) {
			vault_err(v, COFFRE_EFAIL,
			    "reading the input again: %s", strerror(errno));
			item_fail(v, &items[i], COFFRE_EFAIL);
			continue;
		}
		if ((rc = seal_one(v, s, &items[i], tx, ix, &batch)) == 0)
			continue;
		sodium_memzero(v->dk, 32);
		tree_abort(tx);
		index_abort(ix);
		if (batch && rc == COFFRE_EFAIL &&
		    s->map_tries++ < VAULT_MAP_TRIES && vault_map_grow(v) == 1)
			return seal_reread(v, items, i + 1);
		if (batch)
			return rc;
		item_fail(v, &items[i], rc);
		/* The items before it were read: they must be read again. */
		for (size_t j = 0; j < i; j++)
			if (items[j].live && items[j].r->seek == NULL) {
				vault_err(v, COFFRE_EFAIL,
				    "a request sealed with it was refused, "
				    "and this one cannot be read again: send "
				    "it again");
				item_fail(v, &items[j], COFFRE_EFAIL);
			}
		return SEAL_AGAIN;
	}
	return seal_commit(v, s, items, n, tx, ix);
}

/* Log each refused request (the detail never: no names). */
static void
seal_refusals(coffre_vault *v, struct seal_item *items, size_t n)
{
	char actor[sizeof(v->actor)];
	struct audit_ev ev;

	memcpy(actor, v->actor, sizeof(actor));
	for (size_t i = 0; i < n; i++) {
		struct coffre_seal_req *r = items[i].r;
		if (r->rc < COFFRE_ENOTFOUND || !coffre_valid_id(r->user) ||
		    !coffre_valid_id(r->group))
			continue;
		audit_ev_init(&ev);
		audit_ev_str(&ev, "user", r->user);
		audit_ev_str(&ev, r->archive ? "contract" : "community",
		    r->group);
		if (r->rc == COFFRE_EREJECT && items[i].d.type[0] != '\0')
			audit_ev_str(&ev, "type", items[i].d.type);
		if (r->actor != NULL)
			coffre_set_actor(v, r->actor);
		snprintf(v->err, sizeof(v->err), "%s", r->err);
		audit_refused(v, r->archive ? "archive" : "seal", r->rc, &ev);
		memcpy(v->actor, actor, sizeof(actor));
	}
}

int
coffre_seal_batch(coffre_vault *v, struct coffre_seal_req *reqs, size_t n)
{
	struct seal_item *items;
	struct sealing s;
	size_t live = 0;
	int rc = 0, locked = 0;

	if (n == 0)
		return 0;
	if ((items = calloc(n, sizeof(*items))) == NULL) {
		/* Every request has its answer, this one too. */
		vault_err(v, COFFRE_EFAIL, "out of memory");
		for (size_t i = 0; i < n; i++) {
			reqs[i].rc = COFFRE_EFAIL;
			snprintf(reqs[i].err, sizeof(reqs[i].err), "%s",
			    v->err);
		}
		return COFFRE_EFAIL;
	}
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < n; i++) {
		items[i].r = &reqs[i];
		items[i].slot = i < HEAD_CACHE ? (int)i : -1;
		reqs[i].rc = 0;
		reqs[i].err[0] = '\0';
		reqs[i].too_large = reqs[i].bad_type = 0;
		seal_precheck(v, &items[i]);
		live += items[i].live;
	}
	/* Plaintext and stream state in one locked region. */
	if (live > 0) {
		if ((s.pt = sodium_malloc(2 * CHUNK_BYTES + sizeof(*s.st))) !=
		    NULL)
			s.st = (void *)(s.pt + 2 * CHUNK_BYTES);
		s.ct = malloc(CT_BYTES);
		if (s.pt == NULL || s.ct == NULL) {
			rc = vault_err(v, COFFRE_EFAIL, "out of memory");
			goto fail_live;
		}
	}
	if ((rc = vault_lock(v, LOCK_EX)) != 0)
		goto fail_live;
	locked = 1;
	while (live > 0 && (rc = seal_pass(v, &s, items, n)) == SEAL_AGAIN) {
		live = 0;
		for (size_t i = 0; i < n; i++)
			live += items[i].live;
	}
fail_live:
	for (size_t i = 0; i < n; i++)
		if (items[i].live && rc != 0)
			item_fail(v, &items[i], rc);
	if (!locked)
		locked = vault_lock(v, LOCK_EX) == 0;
	if (locked) {
		seal_refusals(v, items, n);
		vault_unlock(v);
	}
	sodium_memzero(v->dk, 32);
	rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (items[i].slot >= 0 && items[i].head != NULL)
			sodium_memzero(items[i].head,
			    items[i].headlen > 0 ? items[i].headlen
						 : POLICY_HEAD_BYTES);
		else
			sodium_free(items[i].head);
		sodium_memzero(&items[i].d, sizeof(items[i].d));
		if (rc == 0)
			rc = reqs[i].rc;
	}
	sodium_free(s.pt);
	free(s.ct);
	free(items);
	return rc;
}

/*
 * Look up document ${ids} and, when ${key}, unwrap its key into v->dk.
 * Returns 0, or a COFFRE_E* code with the message set.
 */
int
vault_doc_load(coffre_vault *v, const char *ids, struct idoc *d, int key)
{
	struct tree_txn *tx = NULL;
	struct index_txn *ix = NULL;
	uint8_t raw[16];
	int rc, damaged = 0;

	if (util_docid_decode(ids, raw) != 0)
		return vault_err(v, COFFRE_EREJECT,
		    "malformed document id '%.40s'", ids);
	if (index_begin(v->index, 0, v->mackey, &ix) != 0)
		return vault_index_code(v);
	rc = index_doc_get(ix, raw, d);
	if (rc == INDEX_ENOTFOUND && index_id_known(ix, raw) != 0) {
		index_abort(ix);
		return vault_err(v, COFFRE_EFAIL,
		    "document %s: its record is missing from the index while "
		    "the index still lists it (corrupt)",
		    ids);
	}
	index_abort(ix);
	if (rc == INDEX_ENOTFOUND)
		return vault_err(v, COFFRE_ENOTFOUND, "no document %s", ids);
	if (rc != 0)
		return vault_index_code(v);
	if (d->status == COFFRE_SHREDDED)
		return vault_err(v, COFFRE_EGONE, "document %s was shredded",
		    ids);
	if (!key)
		return 0;
	if ((rc = tree_begin(v->tree, 0, &tx)) != 0)
		return vault_tree_code(v, rc);
	rc = tree_node_key(tx, d->keyid, v->dk);
	if (rc == TREE_ENOTFOUND) {
		/* Shredded, or a damaged key tree?  A shred removes the key
		 * and its parent's link to it in one commit. */
		uint64_t uk;
		if (tree_user_find(tx, d->user, strlen(d->user), &uk) == 0 &&
		    tree_is_child(tx, uk, d->keyid) != 0)
			damaged = 1;
	}
	tree_abort(tx);
	if (damaged)
		return vault_err(v, COFFRE_EFAIL,
		    "document %s: its key is missing from the key tree while "
		    "its user's key still lists it (corrupt)",
		    ids);
	if (rc == TREE_ENOTFOUND)
		return vault_err(v, COFFRE_EGONE,
		    "document %s was shredded (its key is destroyed)", ids);
	if (rc != 0)
		return vault_tree_code(v, rc);
	return 0;
}

/* A stream of plaintext out of one record (coffre.h). */
struct coffre_reader {
	struct segreader *seg;
	crypto_secretstream_xchacha20poly1305_state *st;
	uint8_t
	    *pt; /* CHUNK_BYTES of plaintext, [ptpos, ptlen) not given yet */
	size_t ptpos, ptlen;
	uint8_t *ct;
	uint8_t ad[40];
	uint8_t tag;
	uint64_t size, total;
	int failed, ended;
	char ids[COFFRE_DOCID_LEN + 1];
	char err[256];
};

static long
reader_fail(coffre_reader *r, const char *what, const char *ids)
{
	snprintf(r->err, sizeof(r->err), "document %s: %s", ids, what);
	r->failed = 1;
	return -1;
}

void
coffre_reader_close(coffre_reader *r)
{
	if (r == NULL)
		return;
	segment_read_close(r->seg);
	sodium_free(r->st);
	sodium_free(r->pt);
	free(r->ct);
	sodium_memzero(r, sizeof(*r));
	free(r);
}

/*
 * A reader of record ${d} (its key in v->dk, wiped here).  0, or a code
 * with the handle's message set.
 */
int
vault_reader(coffre_vault *v, const struct idoc *d, const char *ids,
    coffre_reader **out)
{
	coffre_reader *r = calloc(1, sizeof(*r));
	uint8_t sshdr[SEGMENT_SSHDR_BYTES];
	uint64_t size;
	int rc;

	*out = NULL;
	if (r == NULL || (r->st = sodium_malloc(sizeof(*r->st))) == NULL ||
	    (r->pt = sodium_malloc(CHUNK_BYTES)) == NULL ||
	    (r->ct = malloc(CT_BYTES)) == NULL) {
		rc = vault_err(v, COFFRE_EFAIL, "out of memory");
		goto fail;
	}
	snprintf(r->ids, sizeof(r->ids), "%s", ids);
	if (segment_read_open(v->segs, &d->loc, d->id, d->keyid, sshdr, &size,
		&r->seg, v->err, sizeof(v->err)) != 0) {
		rc = COFFRE_EFAIL;
		goto fail;
	}
	if (size != d->size) {
		rc = vault_err(v, COFFRE_EFAIL,
		    "document %s: segment and index disagree on its size "
		    "(corrupt)",
		    ids);
		goto fail;
	}
	r->size = size;
	doc_ad(r->ad, d->id, d->keyid);
	subkey(v, 1);
	sodium_memzero(v->dk, 32);
	rc = crypto_secretstream_xchacha20poly1305_init_pull(r->st, sshdr,
	    v->sub);
	sodium_memzero(v->sub, 32);
	if (rc != 0) {
		rc = vault_err(v, COFFRE_EFAIL, "document %s: corrupt header",
		    ids);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	sodium_memzero(v->dk, 32);
	coffre_reader_close(r);
	return rc;
}

long
coffre_reader_read(coffre_reader *r, uint8_t *buf, size_t len)
{
	unsigned long long plen;
	size_t clen, n;
	int got;

	if (r->failed)
		return -1;
	while (r->ptpos == r->ptlen) {
		if (r->tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
			if (!r->ended &&
			    segment_read_chunk(r->seg, r->ct, CT_BYTES,
				&clen) != 0)
				return reader_fail(r,
				    "corrupt segment data (a chunk after the "
				    "final one)",
				    r->ids);
			r->ended = 1;
			if (r->total != r->size)
				return reader_fail(r,
				    "shorter than recorded (corrupt)", r->ids);
			return 0;
		}
		got = segment_read_chunk(r->seg, r->ct, CT_BYTES, &clen);
		if (got == 0)
			return reader_fail(r,
			    "truncated (no final tag at its end)", r->ids);
		if (got != 1)
			return reader_fail(r,
			    "corrupt segment data (bad chunk framing)", r->ids);
		if (crypto_secretstream_xchacha20poly1305_pull(r->st, r->pt,
			&plen, &r->tag, r->ct, clen, r->ad, 40) != 0)
			return reader_fail(r,
			    "corrupt segment data (a chunk does not authenticate)",
			    r->ids);
		r->total += plen;
		if (r->total > r->size)
			return reader_fail(r, "longer than recorded (corrupt)",
			    r->ids);
		r->ptpos = 0;
		r->ptlen = (size_t)plen;
	}
	n = r->ptlen - r->ptpos;
	if (n > len)
		n = len;
	memcpy(buf, r->pt + r->ptpos, n);
	r->ptpos += n;
	if (r->ptpos == r->ptlen)
		sodium_memzero(r->pt, r->ptlen);
	return (long)n;
}

const char *
coffre_reader_errmsg(const coffre_reader *r)
{
	return r->err;
}

uint64_t
coffre_reader_size(const coffre_reader *r)
{
	return r->size;
}

/* Copy reader ${r} to ${wr}, then close it.  0 or a code. */
int
vault_pump(coffre_vault *v, coffre_reader *r, coffre_write_fn wr, void *wrctx)
{
	uint8_t *buf = sodium_malloc(CHUNK_BYTES);
	long n;
	int rc = 0;

	if (buf == NULL) {
		coffre_reader_close(r);
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	}
	while ((n = coffre_reader_read(r, buf, CHUNK_BYTES)) > 0)
		if (wr(wrctx, buf, (size_t)n) != 0) {
			rc = vault_err(v, COFFRE_EFAIL,
			    "writing the output: %s", strerror(errno));
			break;
		}
	if (n < 0)
		rc = vault_err(v, COFFRE_EFAIL, "%s", coffre_reader_errmsg(r));
	sodium_free(buf);
	coffre_reader_close(r);
	return rc;
}

int
vault_stream_body(coffre_vault *v, const struct idoc *d, const char *ids,
    coffre_write_fn wr, void *wrctx)
{
	coffre_reader *r;
	int rc;

	if ((rc = vault_reader(v, d, ids, &r)) != 0)
		return rc;
	return vault_pump(v, r, wr, wrctx);
}

int
vault_read(coffre_vault *v, const char *op, const char *ids, int rc,
    struct audit_ev *ev, const struct idoc *d, coffre_reader **out)
{
	/* A read of plaintext is logged, durably, before any byte goes. */
	if (rc == 0)
		rc = audit_log(v, op, "done", ev);
	else if (rc >= COFFRE_ENOTFOUND && coffre_valid_docid(ids))
		audit_refused(v, op, rc, ev);
	vault_unlock(v);
	if (rc == 0)
		rc = vault_reader(v, d, ids, out);
	return rc;
}

int
coffre_doc_reader(coffre_vault *v, const char *ids, coffre_reader **out,
    struct coffre_doc *meta)
{
	struct idoc *d = calloc(1, sizeof(*d));
	struct audit_ev ev;
	int rc;

	*out = NULL;
	if (d == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	if ((rc = vault_lock(v, LOCK_SH)) != 0)
		goto out;
	rc = vault_doc_load(v, ids, d, 1);
	audit_ev_init(&ev);
	if (coffre_valid_docid(ids))
		audit_ev_str(&ev, "doc", ids);
	if (rc == 0 || rc == COFFRE_EGONE)
		audit_ev_str(&ev, "user", d->user);
	if (rc == 0 && meta != NULL) {
		memset(meta, 0, sizeof(*meta));
		snprintf(meta->id, sizeof(meta->id), "%s", ids);
		memcpy(meta->user, d->user, sizeof(meta->user));
		memcpy(meta->community, d->community, sizeof(meta->community));
		memcpy(meta->type, d->type, sizeof(meta->type));
		meta->size = d->size;
		meta->status = d->status;
		meta->created = d->created;
	}
	rc = vault_read(v, "open", ids, rc, &ev, d, out);
out:
	sodium_memzero(v->dk, 32);
	free(d);
	return rc;
}

int
coffre_open_doc(coffre_vault *v, const char *ids, coffre_write_fn wr,
    void *wrctx)
{
	coffre_reader *r;
	int rc;

	if ((rc = coffre_doc_reader(v, ids, &r, NULL)) != 0 || r == NULL)
		return rc != 0 ? rc : vault_err(v, COFFRE_EFAIL, "no reader");
	return vault_pump(v, r, wr, wrctx);
}

static int
review_collect(void *ctx, const struct ireview *r)
{
	void **a = ctx;
	coffre_vault *v = a[0];
	const uint8_t *id = a[1];
	struct coffre_review *nr;

	if (v->nreviews == v->capreviews) {
		size_t cap = v->capreviews ? v->capreviews * 2 : 4;
		if (cap > 100000 || (nr = calloc(cap, sizeof(*nr))) == NULL)
			return vault_err(v, COFFRE_EFAIL, "too many reviews");
		if (v->reviews != NULL) {
			memcpy(nr, v->reviews, v->nreviews * sizeof(*nr));
			sodium_memzero(v->reviews, v->capreviews * sizeof(*nr));
			free(v->reviews);
		}
		v->reviews = nr;
		v->capreviews = cap;
	}
	nr = &v->reviews[v->nreviews];
	nr->decision = r->decision;
	nr->at = r->at;
	if (vault_open_text(v, id, "note", r->snote, r->snotelen, nr->note,
		COFFRE_NOTE_MAX) != 0)
		return vault_err(v, COFFRE_EFAIL,
		    "a review note does not open (corrupt)");
	v->nreviews++;
	return 0;
}

static void
doc_public(const struct idoc *d, struct coffre_doc *doc)
{
	memset(doc, 0, sizeof(*doc));
	util_docid_encode(d->id, doc->id);
	snprintf(doc->user, sizeof(doc->user), "%s", d->user);
	snprintf(doc->community, sizeof(doc->community), "%s", d->community);
	snprintf(doc->kind, sizeof(doc->kind), "%s", d->kind);
	snprintf(doc->type, sizeof(doc->type), "%s", d->type);
	doc->size = d->size;
	doc->status = d->status;
	doc->created = d->created;
}

int
coffre_info(coffre_vault *v, const char *ids, struct coffre_doc *doc)
{
	struct idoc *d = calloc(1, sizeof(*d));
	struct index_txn *ix = NULL;
	void *ctx[2];
	int rc;

	if (d == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	v->nreviews = 0;
	if ((rc = vault_lock(v, LOCK_SH)) != 0)
		goto out;
	rc = vault_doc_load(v, ids, d, 1);
	if (rc == COFFRE_EGONE && d->status == COFFRE_SHREDDED) {
		/* Metadata of a shredded document stays; its name is gone. */
		doc_public(d, doc);
		rc = 0;
		goto unlock;
	}
	if (rc != 0)
		goto unlock;
	doc_public(d, doc);
	if (vault_open_text(v, d->id, "name", d->sname, d->snamelen, doc->name,
		COFFRE_NAME_MAX) != 0) {
		rc = vault_err(v, COFFRE_EFAIL,
		    "document %s: its sealed name does "
		    "not open (corrupt)",
		    ids);
		goto unlock;
	}
	if (index_begin(v->index, 0, v->mackey, &ix) != 0) {
		rc = vault_index_code(v);
		goto unlock;
	}
	ctx[0] = v;
	ctx[1] = d->id;
	rc = index_reviews(ix, d->id, review_collect, ctx);
	index_abort(ix);
	if (rc == -1)
		rc = vault_index_code(v);
	if (rc != 0)
		goto unlock;
	doc->reviews = v->reviews;
	doc->nreviews = v->nreviews;
unlock:
	vault_unlock(v);
out:
	sodium_memzero(v->dk, 32);
	free(d);
	return rc;
}

struct listing {
	coffre_vault *v;
	struct tree_txn *tx;
	const struct coffre_filter *f;
	coffre_list_fn fn;
	void *ctx;
	struct coffre_doc doc;
};

static int
list_one(void *ctx, const struct idoc *d)
{
	struct listing *l = ctx;

	if (l->f != NULL) {
		/* by_user is a lookup aid: the MAC'd record has the say. */
		if (l->f->user != NULL && strcmp(l->f->user, d->user) != 0)
			return 0;
		if (l->f->community != NULL &&
		    strcmp(l->f->community, d->community) != 0)
			return 0;
		if (l->f->status >= 0 && l->f->status != d->status)
			return 0;
	}
	doc_public(d, &l->doc);
	/* The name is sealed under the document's key: open it. */
	if (d->status != COFFRE_SHREDDED) {
		int rc = tree_node_key(l->tx, d->keyid, l->v->dk);
		uint64_t uk;
		if (rc == TREE_ENOTFOUND &&
		    tree_user_find(l->tx, d->user, strlen(d->user), &uk) == 0 &&
		    tree_is_child(l->tx, uk, d->keyid) != 0)
			return vault_err(l->v, COFFRE_EFAIL,
			    "document %s: its key is missing while its user's "
			    "key still lists it (corrupt)",
			    l->doc.id);
		if (rc == -1)
			return vault_tree_code(l->v, rc);
		if (rc == 0 &&
		    vault_open_text(l->v, d->id, "name", d->sname, d->snamelen,
			l->doc.name, COFFRE_NAME_MAX) != 0) {
			sodium_memzero(l->v->dk, 32);
			return vault_err(l->v, COFFRE_EFAIL,
			    "document %s: its sealed name does not open "
			    "(corrupt)",
			    l->doc.id);
		}
	}
	sodium_memzero(l->v->dk, 32);
	return l->fn(l->ctx, &l->doc);
}

int
coffre_list(coffre_vault *v, const struct coffre_filter *f, coffre_list_fn fn,
    void *ctx)
{
	struct listing *l;
	struct index_txn *ix = NULL;
	int rc;

	if (f != NULL &&
	    ((f->user != NULL && !coffre_valid_id(f->user)) ||
		(f->community != NULL && !coffre_valid_id(f->community)) ||
		f->status > COFFRE_SHREDDED || f->status < -1))
		return vault_err(v, COFFRE_EREJECT, "malformed filter");
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	l->v = v;
	l->f = f;
	l->fn = fn;
	l->ctx = ctx;
	if ((rc = vault_lock(v, LOCK_SH)) != 0) {
		free(l);
		return rc;
	}
	if ((rc = tree_begin(v->tree, 0, &l->tx)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	if (index_begin(v->index, 0, v->mackey, &ix) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	rc = index_docs(ix, f != NULL ? f->user : NULL, list_one, l);
	if (rc == -1)
		rc = vault_index_code(v);
out:
	index_abort(ix);
	tree_abort(l->tx);
	vault_unlock(v);
	sodium_memzero(&l->doc, sizeof(l->doc)); /* the last name opened */
	free(l);
	return rc;
}

int
coffre_review(coffre_vault *v, const char *ids, int decision, const char *note)
{
	struct idoc *d = calloc(1, sizeof(*d));
	struct ireview *r = calloc(1, sizeof(*r));
	struct index_txn *ix = NULL;
	struct audit_ev ev;
	int rc;

	if (d == NULL || r == NULL) {
		rc = vault_err(v, COFFRE_EFAIL, "out of memory");
		goto out;
	}
	if (decision != COFFRE_APPROVED && decision != COFFRE_REJECTED) {
		rc = vault_err(v, COFFRE_EREJECT,
		    "a review approves or rejects");
		goto out;
	}
	if (note != NULL && !valid_text(note, COFFRE_NOTE_MAX)) {
		rc = vault_err(v, COFFRE_EREJECT,
		    "malformed note: at most %d bytes of UTF-8, no control "
		    "characters",
		    COFFRE_NOTE_MAX);
		goto out;
	}
	if ((rc = vault_lock(v, LOCK_EX)) != 0)
		goto out;
	if ((rc = vault_doc_load(v, ids, d, 1)) != 0)
		goto unlock;
	if (index_begin(v->index, 1, v->mackey, &ix) != 0) {
		rc = vault_index_code(v);
		goto unlock;
	}
	/* Re-read inside the write transaction: it is the one that counts. */
	if (index_doc_get(ix, d->id, d) != 0) {
		rc = vault_index_code(v);
		goto unlock;
	}
	if (d->status == COFFRE_SHREDDED) {
		rc = vault_err(v, COFFRE_EGONE, "document %s is gone", ids);
		goto unlock;
	}
	r->decision = decision;
	r->at = (int64_t)time(NULL);
	r->snotelen =
	    seal_text(v, d->id, "note", note != NULL ? note : "", r->snote);
	d->status = decision;
	if (index_review_add(ix, d->id, r) != 0 || index_doc_put(ix, d) != 0) {
		rc = vault_index_code(v);
		goto unlock;
	}
	audit_ev_init(&ev);
	audit_ev_str(&ev, "doc", ids);
	audit_ev_str(&ev, "user", d->user);
	audit_ev_str(&ev, "decision",
	    decision == COFFRE_APPROVED ? "approve" : "reject");
	if ((rc = audit_append(v, ix, "review", "done", &ev)) != 0)
		goto unlock;
	rc = index_commit(ix);
	ix = NULL;
	if (rc != 0)
		rc = vault_index_code(v);
unlock:
	index_abort(ix);
	if (rc >= COFFRE_ENOTFOUND && coffre_valid_docid(ids)) {
		audit_ev_init(&ev);
		audit_ev_str(&ev, "doc", ids);
		audit_refused(v, "review", rc, &ev);
	}
	vault_unlock(v);
out:
	sodium_memzero(v->dk, 32);
	free(d);
	free(r);
	return rc;
}

/* Mark every record in ${d} (or of ${user}) shredded, in one transaction. */
struct marking {
	coffre_vault *v;
	struct index_txn *ix;
	uint64_t count;
	struct idoc *batch;
	size_t n, cap;
};

static int
mark_collect(void *ctx, const struct idoc *d)
{
	struct marking *m = ctx;

	if (d->status == COFFRE_SHREDDED)
		return 0;
	if (vault_grow(m->v, (void **)&m->batch, &m->cap, m->n,
		sizeof(*m->batch)) != 0)
		return COFFRE_EFAIL;
	m->batch[m->n++] = *d;
	return 0;
}

static int
mark_shredded(coffre_vault *v, struct index_txn *ix, struct idoc *d)
{
	d->status = COFFRE_SHREDDED;
	/* The sealed name is noise now; drop it from the record anyway. */
	d->snamelen = 0;
	if (index_doc_put(ix, d) != 0)
		return vault_index_code(v);
	return 0;
}

/* The records of a shredded user's documents, and the event, in the index. */
static int
shred_user_mark(coffre_vault *v, struct marking *m)
{
	int rc = 0;

	if (index_begin(v->index, 1, v->mackey, &m->ix) != 0)
		return vault_index_code(v);
	for (size_t i = 0; rc == 0 && i < m->n; i++)
		rc = mark_shredded(v, m->ix, &m->batch[i]);
	if (rc == 0)
		rc = audit_flush(v, m->ix);
	if (rc == 0) {
		rc = index_commit_lazy(m->ix);
		m->ix = NULL;
		if (rc != 0)
			rc = vault_index_code(v);
	}
	index_abort(m->ix);
	m->ix = NULL;
	return rc;
}

/* coffre_shred_user(), once; *again when it must run again (the map grew). */
static int
shred_user_once(coffre_vault *v, const char *user,
    struct coffre_shred_result *res, int retry, int *again)
{
	struct tree_shred_stats st = {0};
	struct tree_txn *tx = NULL;
	struct marking m = {0};
	struct audit_ev ev;
	uint8_t fp[16];
	char idxerr[256] = "";
	int rc, fenced = 0, committed = 0;

	*again = 0;
	memset(res, 0, sizeof(*res));
	if (!coffre_valid_id(user))
		return vault_err(v, COFFRE_EREJECT,
		    "malformed user id: 1 to 128 bytes of [A-Za-z0-9._:@-]");
	if ((rc = vault_lock(v, LOCK_EX)) != 0)
		return rc;
	/* 0. The records that will say shredded (nothing changes them now). */
	m.v = v;
	if (index_begin(v->index, 0, v->mackey, &m.ix) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	rc = index_docs(m.ix, user, mark_collect, &m);
	index_abort(m.ix);
	m.ix = NULL;
	if (rc == -1) {
		/* A damaged index must not keep an account from being
		 * deleted: the keys go all the same, and we say so. */
		snprintf(idxerr, sizeof(idxerr), "%s", index_errmsg(v->index));
		rc = 0;
	}
	if (rc != 0)
		goto out;
	/*
	 * 1. Keys: fence, destroy, re-key the path, new root; U's running
	 * contracts end today; and the event, all in the same commit.
	 */
	if ((rc = tree_begin(v->tree, 1, &tx)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	st.fp = fp;
	st.fpmax = 1;
	rc = tree_user_shred(tx, user, strlen(user), &st);
	if (rc == TREE_EFENCED) {
		fenced = 1;
		st.destroyed = st.wraps = st.nfp = 0;
		st.epoch_before = st.epoch_after = tree_epoch(tx);
	} else if (rc != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	if ((rc = vault_end_user_contracts(v, tx, user,
		 &res->contracts_ended)) != 0)
		goto out;
	audit_ev_init(&ev);
	audit_ev_str(&ev, "user", user);
	audit_ev_num(&ev, "documents", m.n);
	audit_ev_num(&ev, "contracts_ended", res->contracts_ended);
	audit_ev_shred(&ev, &st);
	if (fenced)
		audit_ev_str(&ev, "note", "already shredded: fence kept");
	if ((rc = audit_pend(v, tx, "shred-user", "done", &ev)) != 0)
		goto out;
	rc = tree_commit(tx);
	tx = NULL;
	if (rc != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	committed = 1;
	vault_shred_result(res, &st);
	/*
	 * 2. Only then the index: its records say what the keys already do,
	 * and the event moves into the log.  A crash may lose this commit:
	 * the documents read as gone anyway, the event waits in the key
	 * tree, and check --repair marks the records.
	 */
	for (int tries = 0;; tries++) {
		rc = shred_user_mark(v, &m);
		if (rc != COFFRE_EFAIL || tries == VAULT_MAP_TRIES ||
		    index_map_grow(v->index) != 1)
			break;
	}
	res->documents = m.n;
	if (rc == 0 && idxerr[0] != '\0')
		rc = vault_err(v, COFFRE_EFAIL,
		    "user %s was shredded (its keys are destroyed), but the "
		    "index is damaged (%s): run coffre check",
		    user, idxerr);
out:
	/* Not done until the old root is overwritten on disk. */
	if (tree_settle(v->tree) != 0 && rc == 0)
		rc = vault_tree_code(v, -1);
	index_abort(m.ix);
	tree_abort(tx);
	/* Nothing was committed: after the map grew, all of it again. */
	*again =
	    rc == COFFRE_EFAIL && !committed && retry && vault_map_grow(v) == 1;
	if (rc == COFFRE_EFAIL && !committed && !*again) {
		/* A shred that failed is on record, not only one that ran. */
		audit_ev_init(&ev);
		audit_ev_str(&ev, "user", user);
		audit_refused(v, "shred-user", rc, &ev);
	}
	vault_unlock(v);
	free(m.batch);
	return rc;
}

int
coffre_shred_user(coffre_vault *v, const char *user,
    struct coffre_shred_result *res)
{
	int rc, again = 0;

	for (int tries = 0;; tries++) {
		rc = shred_user_once(v, user, res, tries < VAULT_MAP_TRIES,
		    &again);
		if (!again)
			return rc;
	}
}

int
coffre_shred_doc(coffre_vault *v, const char *ids,
    struct coffre_shred_result *res)
{
	struct tree_shred_stats st = {0};
	struct tree_txn *tx = NULL;
	struct index_txn *ix = NULL;
	struct idoc *d = calloc(1, sizeof(*d));
	uint8_t raw[16];
	struct audit_ev ev;
	uint8_t fp[16];
	int rc;

	memset(res, 0, sizeof(*res));
	if (d == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	if (util_docid_decode(ids, raw) != 0) {
		free(d);
		return vault_err(v, COFFRE_EREJECT,
		    "malformed document id '%.40s'", ids);
	}
	if ((rc = vault_lock(v, LOCK_EX)) != 0) {
		free(d);
		return rc;
	}
	rc = vault_doc_load(v, ids, d, 0);
	if (rc != 0)
		goto out;
	if ((rc = tree_begin(v->tree, 1, &tx)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	st.fp = fp;
	st.fpmax = 1;
	if ((rc = tree_shred(tx, &d->keyid, 1, &st)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	audit_ev_init(&ev);
	audit_ev_str(&ev, "doc", ids);
	audit_ev_str(&ev, "user", d->user);
	audit_ev_shred(&ev, &st);
	if ((rc = audit_pend(v, tx, "shred-doc", "done", &ev)) != 0)
		goto out;
	rc = tree_commit(tx);
	tx = NULL;
	if (rc != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	vault_shred_result(res, &st);
	if (index_begin(v->index, 1, v->mackey, &ix) != 0 ||
	    index_doc_get(ix, raw, d) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	if ((rc = mark_shredded(v, ix, d)) != 0 ||
	    (rc = audit_flush(v, ix)) != 0)
		goto out;
	rc = index_commit_lazy(ix);
	ix = NULL;
	if (rc != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	res->documents = 1;
out:
	/* Not done until the old root is overwritten on disk. */
	if (tree_settle(v->tree) != 0 && rc == 0)
		rc = vault_tree_code(v, -1);
	index_abort(ix);
	tree_abort(tx);
	if (rc >= COFFRE_ENOTFOUND && coffre_valid_docid(ids)) {
		audit_ev_init(&ev);
		audit_ev_str(&ev, "doc", ids);
		audit_refused(v, "shred-doc", rc, &ev);
	}
	vault_unlock(v);
	free(d);
	return rc;
}
