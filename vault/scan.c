/*
 * scan.c: coffre_scan(), the forensic scan of the vault directory.
 *
 * (a) Plaintext: from the first chunk (64 KiB) of every live document it
 * takes up to SAMPLES_PER_DOC aligned 32-byte blocks of high entropy, and
 * the first 8 bytes of every name of 8 bytes or more, then looks for each of
 * them at every byte offset of every file (a rolling hash, each hit checked
 * byte for byte).  A copy of a document, or a name, in the clear anywhere
 * would contain them.
 * (b) Keys: every place in every file that has the shape of a key-tree
 * record (an 8-byte node id followed by a node record, as LMDB lays a leaf
 * out, in live, free or old pages alike) is a candidate.  One that is the
 * current copy of a live node is fine.  Every other one (stale) must fail to
 * open under the current key of its parent, the only key that can have
 * wrapped it; and the root file must hold no slot but the current one.
 * docs/SHREDDING.md says what this proves and what it cannot.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys/bytes.h"
#include "keys/tree.h"
#include "vault/index.h"
#include "vault/util.h"
#include "vault/vault.h"

#define SAMPLE_BYTES 32
#define NAME_BYTES 8
#define NAME_CONFIRM 32 /* bytes of a name a hit must match, at most */
#define SAMPLES_PER_DOC 8
#define HASH_BASE 0x100000001b3ULL
#define FILTER_BITS 24

/*
 * A set of byte strings of one length, found by a rolling hash.  With
 * ${confirm}, each entry keeps more of its string (a length byte, then up
 * to NAME_CONFIRM bytes), and a hit must match all of that: a name found by
 * its first 8 bytes only would be found in any file that holds a word it
 * starts with ("contract" in the audit log's JSON, say).  Names that share
 * their first 8 bytes have an entry each (the same hash): a hit is any
 * entry that matches whole.
 */
struct markers {
	size_t w; /* window */
	int confirm;
	size_t stride;  /* bytes an entry takes in ${bytes} */
	uint64_t top;   /* HASH_BASE^(w-1) */
	uint64_t *hash; /* open addressing, 0 = empty */
	uint32_t *idx;  /* index into bytes */
	size_t cap, n;
	uint8_t *bytes; /* sodium_malloc'd: the samples (plaintext) */
	size_t nbytes, capbytes;
	uint8_t *filter; /* 2^FILTER_BITS bits */
};

struct scanning {
	coffre_vault *v;
	coffre_report_fn fn;
	void *ctx;
	struct coffre_scan_result *res;
	struct markers body, name;
	struct tree_txn *tx;
	uint8_t *first; /* first chunk of the document being sampled */
	size_t firstlen;
	uint8_t *pkey;      /* cached parent key, sodium_malloc'd */
	uint8_t *got, *cur; /* scratch keys, sodium_malloc'd */
	uint64_t pkey_id;
	int pkey_ok;
	const char *dir;
	int failed;
};

static struct scanning *cur; /* for the nftw callback */

static void report(struct scanning *s, int problem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
report(struct scanning *s, int problem, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->fn != NULL)
		s->fn(s->ctx, problem, msg);
}

static uint64_t
hash_bytes(const uint8_t *p, size_t w)
{
	uint64_t h = 0;

	for (size_t i = 0; i < w; i++)
		h = h * HASH_BASE + p[i];
	return h | 1; /* never 0: 0 marks an empty slot */
}

static int
markers_init(struct markers *m, size_t w, int confirm)
{
	memset(m, 0, sizeof(*m));
	m->w = w;
	m->confirm = confirm;
	m->stride = confirm ? 1 + NAME_CONFIRM : w;
	m->top = 1;
	for (size_t i = 1; i < w; i++)
		m->top *= HASH_BASE;
	m->filter = calloc(1, (size_t)1 << (FILTER_BITS - 3));
	return m->filter == NULL ? -1 : 0;
}

static void
markers_free(struct markers *m)
{
	free(m->hash);
	free(m->idx);
	free(m->filter);
	if (m->bytes != NULL)
		sodium_free(m->bytes);
}

static int
markers_grow(struct markers *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024, i;
	uint64_t *nh = calloc(cap, sizeof(*nh));
	uint32_t *ni = calloc(cap, sizeof(*ni));

	if (nh == NULL || ni == NULL) {
		free(nh);
		free(ni);
		return -1;
	}
	for (i = 0; i < m->cap; i++) {
		size_t j;
		if (m->hash[i] == 0)
			continue;
		for (j = m->hash[i] & (cap - 1); nh[j] != 0;
		     j = (j + 1) & (cap - 1))
			;
		nh[j] = m->hash[i];
		ni[j] = m->idx[i];
	}
	free(m->hash);
	free(m->idx);
	m->hash = nh;
	m->idx = ni;
	m->cap = cap;
	return 0;
}

static int
markers_add(struct markers *m, const uint8_t *p, size_t len)
{
	uint64_t h = hash_bytes(p, m->w);
	size_t j, keep = len < NAME_CONFIRM ? len : NAME_CONFIRM;
	uint8_t *e;

	if ((m->n + 1) * 2 > m->cap && markers_grow(m) != 0)
		return -1;
	if (m->nbytes + m->stride > m->capbytes) {
		size_t cap = m->capbytes ? m->capbytes * 2 : 64 * 1024;
		uint8_t *nb = sodium_malloc(cap);
		if (nb == NULL)
			return -1;
		if (m->bytes != NULL) {
			memcpy(nb, m->bytes, m->nbytes);
			sodium_free(m->bytes);
		}
		m->bytes = nb;
		m->capbytes = cap;
	}
	for (j = h & (m->cap - 1); m->hash[j] != 0;
	     j = (j + 1) & (m->cap - 1)) {
		e = m->bytes + m->idx[j];
		if (m->hash[j] == h &&
		    (m->confirm ? e[0] == keep && memcmp(e + 1, p, keep) == 0
				: memcmp(e, p, m->w) == 0))
			return 0; /* already there */
	}
	e = m->bytes + m->nbytes;
	if (m->confirm) {
		e[0] = (uint8_t)keep;
		memcpy(e + 1, p, keep);
	} else {
		memcpy(e, p, m->w);
	}
	m->hash[j] = h;
	m->idx[j] = (uint32_t)m->nbytes;
	m->nbytes += m->stride;
	m->n++;
	m->filter[(h >> 40) >> 3] |= (uint8_t)(1u << ((h >> 40) & 7));
	return 0;
}

/*
 * Does the window at ${p} (${avail} bytes from it to the end of the file)
 * with rolling hash ${h} match a marker?
 */
static int
markers_hit(const struct markers *m, uint64_t h, const uint8_t *p, size_t avail)
{
	const uint8_t *e;
	size_t j;

	h |= 1;
	if (!(m->filter[(h >> 40) >> 3] & (1u << ((h >> 40) & 7))))
		return 0;
	for (j = h & (m->cap - 1); m->hash[j] != 0;
	     j = (j + 1) & (m->cap - 1)) {
		e = m->bytes + m->idx[j];
		if (m->hash[j] != h)
			continue;
		if (!m->confirm ? memcmp(e, p, m->w) == 0
				: e[0] <= avail && memcmp(e + 1, p, e[0]) == 0)
			return 1;
	}
	return 0;
}

static int
high_entropy(const uint8_t *p, size_t n)
{
	uint8_t seen[256] = {0};
	int distinct = 0;

	for (size_t i = 0; i < n; i++)
		if (!seen[p[i]]++)
			distinct++;
	return distinct >= 16;
}

static int
first_chunk(void *ctx, const uint8_t *buf, size_t len)
{
	struct scanning *s = ctx;

	memcpy(s->first, buf, len);
	s->firstlen = len;
	errno = 0;
	return -1; /* enough: stop after the first chunk */
}

static int
sample_doc(void *ctx, const struct idoc *d)
{
	struct scanning *s = ctx;
	coffre_vault *v = s->v;
	char ids[COFFRE_DOCID_LEN + 1], name[COFFRE_NAME_MAX + 1];
	size_t taken = 0, b;
	int rc;

	if (d->status == COFFRE_SHREDDED)
		return 0;
	util_docid_encode(d->id, ids);
	if ((rc = tree_node_key(s->tx, d->keyid, v->dk)) != 0) {
		sodium_memzero(v->dk, 32);
		if (rc == -1) {
			/* Not known to be shredded: it could not be sampled. */
			report(s, 1, "document %s could not be sampled: %s",
			    ids, tree_errmsg(v->tree));
			s->failed = 1;
		}
		return 0; /* its key is destroyed: check reports it */
	}
	if (vault_open_text(v, d->id, "name", d->sname, d->snamelen, name,
		COFFRE_NAME_MAX) == 0 &&
	    strlen(name) >= NAME_BYTES) {
		if (markers_add(&s->name, (const uint8_t *)name,
			strlen(name)) != 0)
			return vault_err(v, COFFRE_EFAIL, "out of memory");
	}
	sodium_memzero(name, sizeof(name));
	s->firstlen = 0;
	if (vault_stream_body(v, d, ids, first_chunk, s) != 0 &&
	    s->firstlen == 0) {
		/* Its first chunk did not come (first_chunk() stops the
		 * stream after it): no samples of it, and what the scan says
		 * would not cover it. */
		report(s, 1, "document %s could not be sampled: %s", ids,
		    coffre_errmsg(v));
		s->failed = 1;
	}
	for (b = 0; b + SAMPLE_BYTES <= s->firstlen && taken < SAMPLES_PER_DOC;
	     b += SAMPLE_BYTES) {
		if (!high_entropy(s->first + b, SAMPLE_BYTES))
			continue;
		if (markers_add(&s->body, s->first + b, SAMPLE_BYTES) != 0)
			return vault_err(v, COFFRE_EFAIL, "out of memory");
		taken++;
	}
	sodium_memzero(s->first, CHUNK_BYTES);
	return 0;
}

/* A candidate record at ${p} (id, then record): stale ones must not open. */
static void
try_candidate(struct scanning *s, const char *path, size_t off,
    const uint8_t *p, size_t avail)
{
	uint64_t id, parent;
	size_t reclen;

	if (!tree_record_plausible(p, avail, &reclen))
		return;
	id = bytes_load64be(p);
	parent = bytes_load64(p + 8 + 4);
	s->res->candidates++;
	if (tree_record_is_current(s->tx, id, p + 8, reclen) == 1)
		return;
	s->res->stale++;
	/* The only key that can have wrapped it: its parent's. */
	if (!s->pkey_ok || s->pkey_id != parent) {
		s->pkey_ok = 0;
		s->pkey_id = parent;
		int rc = tree_parent_key(s->tx, parent, s->pkey);
		if (rc == -1) {
			/* Not known to be destroyed: it could not be checked. */
			report(s, 1,
			    "%s offset %zu: a stale key record could not be "
			    "checked: %s",
			    path, off, tree_errmsg(s->v->tree));
			s->failed = 1;
			return;
		}
		if (rc != 0)
			return; /* parent destroyed: nothing opens it */
		s->pkey_ok = 1;
	}
	if (tree_record_opens(id, p + 8, reclen, s->pkey, s->got) == 1) {
		/*
		 * An old copy of a live node wrapping the very key that node
		 * holds now (its attributes were rewritten, as a contract's
		 * state is) gives nothing away.  Any other key that opens is
		 * one that should have been destroyed.
		 */
		int same = tree_node_key(s->tx, id, s->cur) == 0 &&
		    sodium_memcmp(s->got, s->cur, 32) == 0;
		sodium_memzero(s->got, 32);
		sodium_memzero(s->cur, 32);
		if (same)
			return;
		s->res->opened++;
		report(s, 1,
		    "%s offset %zu: a stale copy of key node %016llx opens "
		    "under a key that exists",
		    path, off + 8, (unsigned long long)id);
	}
}

/* A root slot's shape at ${p}: any old epoch is an old root key. */
static void
try_slot(struct scanning *s, const char *path, size_t off, const uint8_t *p)
{
	uint64_t epoch = bytes_load64(p + 8);
	uint64_t now = tree_epoch(s->tx);

	if (epoch == 0 || epoch > now)
		return;
	s->res->candidates++;
	if (epoch == now && strcmp(path, "keys/root") == 0 &&
	    (off == 64 || off == 192))
		return;
	s->res->stale++;
	s->res->opened++;
	report(s, 1,
	    "%s offset %zu: a root key slot of epoch %llu (current %llu) "
	    "outside its place: it would open what that root wrapped",
	    path, off, (unsigned long long)epoch, (unsigned long long)now);
}

static void
scan_bytes(struct scanning *s, const char *path, const uint8_t *p, size_t n)
{
	uint64_t hb = 0, hn = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		hb = hb * HASH_BASE + p[i];
		hn = hn * HASH_BASE + p[i];
		if (i >= SAMPLE_BYTES)
			hb -= s->body.top * HASH_BASE * p[i - SAMPLE_BYTES];
		if (i >= NAME_BYTES)
			hn -= s->name.top * HASH_BASE * p[i - NAME_BYTES];
		if (i + 1 >= SAMPLE_BYTES && s->body.n > 0 &&
		    markers_hit(&s->body, hb, p + i + 1 - SAMPLE_BYTES,
			n - (i + 1 - SAMPLE_BYTES))) {
			s->res->plaintext_hits++;
			report(s, 1,
			    "%s offset %zu: plaintext of a live document in "
			    "the clear",
			    path, i + 1 - SAMPLE_BYTES);
		}
		if (i + 1 >= NAME_BYTES && s->name.n > 0 &&
		    markers_hit(&s->name, hn, p + i + 1 - NAME_BYTES,
			n - (i + 1 - NAME_BYTES))) {
			s->res->plaintext_hits++;
			report(s, 1,
			    "%s offset %zu: a document name in the clear", path,
			    i + 1 - NAME_BYTES);
		}
		/* A root key slot anywhere but the current one in keys/root. */
		if (p[i] == 'C' && n - i >= 16 &&
		    memcmp(p + i, "CFSL", 4) == 0 && p[i + 4] <= 1)
			try_slot(s, path, i, p + i);
		/* A node id (internal, system, owner, leaf), then version 1
		 * and a known kind: the shape of a key-tree record. */
		if (p[i] >= 1 && p[i] <= 4 && i + 9 < n && p[i + 8] == 1 &&
		    p[i + 9] >= 1 && p[i + 9] <= 6)
			try_candidate(s, path, i, p + i, n - i);
	}
}

static int
scan_file(const char *path, const struct stat *st, int type, struct FTW *f)
{
	struct scanning *s = cur;
	const char *rel = path + strlen(s->dir);
	uint8_t *p;
	int fd;

	(void)f;
	if (type != FTW_F)
		return 0;
	if (*rel == '/')
		rel++;
	/*
	 * LMDB's lock files hold reader slots and mutexes, never a key or a
	 * byte of data; and closing a descriptor of one would drop the lock
	 * LMDB holds on it in this process (its documentation warns never to
	 * open them twice).  They are left out, and counted as such.
	 */
	if (strlen(rel) > 9 &&
	    strcmp(rel + strlen(rel) - 9, ".mdb-lock") == 0) {
		s->res->skipped++;
		return 0;
	}
	s->res->files++;
	if (st->st_size == 0)
		return 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		report(s, 1, "%s: %s", rel, strerror(errno));
		s->failed = 1;
		return 0;
	}
	p = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		report(s, 1, "%s: %s", rel, strerror(errno));
		s->failed = 1;
		return 0;
	}
	(void)madvise(p, (size_t)st->st_size, MADV_SEQUENTIAL);
	scan_bytes(s, rel, p, (size_t)st->st_size);
	s->res->bytes += (uint64_t)st->st_size;
	munmap(p, (size_t)st->st_size);
	return 0;
}

int
coffre_scan(coffre_vault *v, coffre_report_fn fn, void *ctx,
    struct coffre_scan_result *res)
{
	struct scanning s;
	struct index_txn *ix = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.v = v;
	s.fn = fn;
	s.ctx = ctx;
	s.res = res;
	s.dir = v->dir;
	s.first = sodium_malloc(CHUNK_BYTES);
	s.pkey = sodium_malloc(32);
	s.got = sodium_malloc(32);
	s.cur = sodium_malloc(32);
	if (s.first == NULL || s.pkey == NULL || s.got == NULL ||
	    s.cur == NULL || markers_init(&s.body, SAMPLE_BYTES, 0) != 0 ||
	    markers_init(&s.name, NAME_BYTES, 1) != 0) {
		rc = vault_err(v, COFFRE_EFAIL, "out of memory");
		goto out0;
	}
	/* Exclusive: nothing changes the files while they are read. */
	if ((rc = vault_lock(v, LOCK_EX)) != 0)
		goto out0;
	if ((rc = tree_begin(v->tree, 1, &s.tx)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	if (index_begin(v->index, 0, v->mackey, &ix) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	rc = index_docs(ix, NULL, sample_doc, &s);
	if (rc == 0)
		rc = index_arcs(ix, sample_doc, &s);
	index_abort(ix);
	ix = NULL;
	if (rc != 0) {
		if (rc == -1)
			rc = vault_index_code(v);
		goto out;
	}
	res->markers = s.body.n + s.name.n;
	if (tree_root_clean(s.tx) != 0) {
		res->opened++;
		report(&s, 1,
		    "keys/root: a slot other than the current one "
		    "still holds a root key");
	}
	cur = &s;
	if (nftw(v->dir, scan_file, 16, FTW_PHYS) != 0) {
		rc = vault_err(v, COFFRE_EFAIL, "%s: %s", v->dir,
		    strerror(errno));
		goto out;
	}
	cur = NULL;
	rc = (s.failed || res->opened > 0 || res->plaintext_hits > 0)
	    ? vault_err(v, COFFRE_EFAIL, "the scan failed")
	    : 0;
out:
	cur = NULL;
	index_abort(ix);
	tree_abort(s.tx);
	vault_unlock(v);
out0:
	sodium_memzero(v->dk, 32);
	if (s.first != NULL)
		sodium_free(s.first);
	if (s.pkey != NULL)
		sodium_free(s.pkey);
	if (s.got != NULL)
		sodium_free(s.got);
	if (s.cur != NULL)
		sodium_free(s.cur);
	markers_free(&s.body);
	markers_free(&s.name);
	return rc;
}
