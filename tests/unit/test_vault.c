/*
 * test_vault.c: the public API of include/coffre.h end to end, in a
 * temporary folder: init, open, seal from memory, open back into memory,
 * info, list, reviews, shredding, the type policy and size limit, and the
 * must-fail cases: malformed and unknown ids, a changed byte in a segment
 * or the index, a wrong or missing passphrase.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>
#include <sodium.h>

#include "coffre.h"
#include "keys/bytes.h"
#include "vault/util.h"

#include "testutil.h"

#define KIB 1024

struct fx {
	char dir[TU_PATH_MAX];
	char vdir[TU_PATH_MAX]; /* the vault, created by coffre_init */
	char seg1[TU_PATH_MAX];
	coffre_vault *v;
};

/* Memory reader: hands out ${len} bytes at most ${step} at a time. */
struct mreader {
	const uint8_t *buf;
	size_t len, pos, step;
	int fail_at; /* fail (-1) once pos reaches it; 0: never */
};

static long
mread(void *ctx, uint8_t *buf, size_t len)
{
	struct mreader *r = ctx;
	size_t n = r->len - r->pos;

	if (r->fail_at > 0 && r->pos >= (size_t)r->fail_at) {
		errno = EIO;
		return -1;
	}
	if (n > len)
		n = len;
	if (r->step > 0 && n > r->step)
		n = r->step;
	memcpy(buf, r->buf + r->pos, n);
	r->pos += n;
	return (long)n;
}

/* Memory writer: collects everything pushed to it. */
struct mwriter {
	uint8_t *buf;
	size_t len, cap;
	int calls;
	int fail;
};

static int
mwrite(void *ctx, const uint8_t *buf, size_t len)
{
	struct mwriter *w = ctx;

	if (w->fail) {
		errno = ENOSPC;
		return -1;
	}
	if (w->len + len > w->cap) {
		size_t cap = (w->len + len) * 2;
		uint8_t *nb = realloc(w->buf, cap);
		if (nb == NULL)
			return -1;
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, buf, len);
	w->len += len;
	w->calls++;
	return 0;
}

static void
mwriter_reset(struct mwriter *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/* A PDF-looking buffer of ${len} bytes (>= 16), random after the head. */
static uint8_t *
pdf_make(size_t len)
{
	static const char head[] = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
	uint8_t *p = malloc(len);

	assert_non_null(p);
	assert_true(len >= sizeof(head) - 1);
	memcpy(p, head, sizeof(head) - 1);
	randombytes_buf(p + sizeof(head) - 1, len - (sizeof(head) - 1));
	return p;
}

static int
seal_buf(coffre_vault *v, const char *user, const char *community,
    const char *kind, const char *name, const uint8_t *buf, size_t len,
    size_t step, char id[COFFRE_DOCID_LEN + 1], char type[COFFRE_TYPE_MAX + 1],
    uint64_t *size)
{
	struct mreader r = {buf, len, 0, step, 0};

	return coffre_seal(v, user, community, kind, name, mread, &r, id, type,
	    size);
}

/* Seal ${len} bytes of a PDF for ${user}; the id into ${id}. */
static void
seal_pdf(struct fx *f, const char *user, const char *community,
    const char *name, size_t len, char id[COFFRE_DOCID_LEN + 1])
{
	char type[COFFRE_TYPE_MAX + 1];
	uint64_t size = 0;
	uint8_t *p = pdf_make(len);
	int rc;

	rc = seal_buf(f->v, user, community, NULL, name, p, len, 0, id, type,
	    &size);
	if (rc != 0)
		fail_msg("coffre_seal: %d %s", rc, coffre_errmsg(f->v));
	assert_string_equal(type, "application/pdf");
	assert_int_equal(size, len);
	free(p);
}

static int
open_doc(struct fx *f, const char *id, struct mwriter *w)
{
	mwriter_reset(w);
	return coffre_open_doc(f->v, id, mwrite, w);
}

static void
vopen(struct fx *f)
{
	char err[512];
	int rc;

	coffre_close(f->v);
	f->v = NULL;
	rc = coffre_open(f->vdir, NULL, 0, &f->v, err, sizeof(err));
	if (rc != 0)
		fail_msg("coffre_open: %d %s", rc, err);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512], pk[64];
	int rc;

	if (f == NULL)
		return -1;
	tu_tmpdir(f->dir);
	tu_path(f->vdir, f->dir, "v");
	tu_path(f->seg1, f->vdir, "segments/00000001.seg");
	rc = coffre_init(f->vdir, NULL, pk, err, sizeof(err));
	if (rc != 0)
		fail_msg("coffre_init: %d %s", rc, err);
	vopen(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	coffre_close(f->v);
	tu_rmrf(f->dir);
	free(f);
	return 0;
}

static void
test_init(void **state)
{
	char dir[TU_PATH_MAX], vdir[TU_PATH_MAX], p[TU_PATH_MAX];
	char err[512], pk[64], pk2[64];
	uint8_t raw[64], *file;
	size_t rawlen, len;
	struct stat st;
	coffre_vault *v = NULL;

	(void)state;
	tu_tmpdir(dir);
	tu_path(vdir, dir, "vault");
	memset(pk, 0, sizeof(pk));
	assert_int_equal(coffre_init(vdir, NULL, pk, err, sizeof(err)), 0);
	/* A base64 Ed25519 public key, also in audit.pub. */
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), pk, strlen(pk),
			     NULL, &rawlen, NULL,
			     sodium_base64_VARIANT_ORIGINAL),
	    0);
	assert_int_equal(rawlen, 32);
	file = tu_read(tu_path(p, vdir, "audit.pub"), &len);
	assert_int_equal(len, strlen(pk) + 1);
	assert_memory_equal(file, pk, strlen(pk));
	free(file);
	assert_int_equal(stat(vdir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(tu_path(p, vdir, "keys/root"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 320);
	/* A second init is refused, and changes nothing. */
	err[0] = '\0';
	assert_int_equal(coffre_init(vdir, NULL, pk2, err, sizeof(err)),
	    COFFRE_EFAIL);
	assert_non_null(strstr(err, "exists"));
	file = tu_read(tu_path(p, vdir, "audit.pub"), &len);
	assert_memory_equal(file, pk, strlen(pk));
	free(file);
	assert_int_equal(coffre_open(vdir, NULL, 0, &v, err, sizeof(err)), 0);
	coffre_close(v);
	coffre_close(NULL);
	tu_rmrf(dir);
}

static void
test_open_missing(void **state)
{
	char dir[TU_PATH_MAX], p[TU_PATH_MAX], err[512];
	coffre_vault *v = NULL;

	(void)state;
	tu_tmpdir(dir);
	err[0] = '\0';
	assert_int_equal(coffre_open(tu_path(p, dir, "nothing"), NULL, 0, &v,
			     err, sizeof(err)),
	    COFFRE_ENOTFOUND);
	assert_null(v);
	assert_true(strlen(err) > 0);
	/* An empty folder is no vault either. */
	assert_int_equal(coffre_open(dir, NULL, 0, &v, err, sizeof(err)),
	    COFFRE_ENOTFOUND);
	assert_null(v);
	tu_rmrf(dir);
}

static void
test_seal_open_small(void **state)
{
	struct fx *f = *state;
	static const char doc[] = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\n"
				  "endobj\ntrailer\n<< /Root 1 0 R >>\n"
				  "%%EOF\n";
	char id[COFFRE_DOCID_LEN + 1], type[COFFRE_TYPE_MAX + 1];
	uint64_t size = 0;
	struct mwriter w = {0};
	struct coffre_doc d;

	memset(id, 0, sizeof(id));
	assert_int_equal(seal_buf(f->v, "alice", "acme", "diploma",
			     "Diplôme 2019.pdf", (const uint8_t *)doc,
			     sizeof(doc) - 1, 7, id, type, &size),
	    0);
	assert_int_equal(strlen(id), COFFRE_DOCID_LEN);
	assert_int_equal(coffre_valid_docid(id), 1);
	assert_string_equal(type, "application/pdf");
	assert_int_equal(size, sizeof(doc) - 1);
	assert_int_equal(open_doc(f, id, &w), 0);
	assert_int_equal(w.len, sizeof(doc) - 1);
	assert_memory_equal(w.buf, doc, w.len);
	/* Info: every field, and the name, unsealed. */
	assert_int_equal(coffre_info(f->v, id, &d), 0);
	assert_string_equal(d.id, id);
	assert_string_equal(d.user, "alice");
	assert_string_equal(d.community, "acme");
	assert_string_equal(d.kind, "diploma");
	assert_string_equal(d.name, "Diplôme 2019.pdf");
	assert_string_equal(d.type, "application/pdf");
	assert_int_equal(d.size, sizeof(doc) - 1);
	assert_int_equal(d.status, COFFRE_PENDING);
	assert_true(d.created > 1600000000 && d.created <= time(NULL) + 1);
	assert_int_equal(d.nreviews, 0);
	/* The plaintext and the name are nowhere in the files. */
	{
		uint8_t *file;
		size_t len;
		file = tu_read(f->seg1, &len);
		assert_null(memmem(file, len, "/Catalog", 8));
		free(file);
	}
	/* Still there after a reopen. */
	vopen(f);
	assert_int_equal(open_doc(f, id, &w), 0);
	assert_int_equal(w.len, sizeof(doc) - 1);
	assert_memory_equal(w.buf, doc, w.len);
	assert_int_equal(coffre_info(f->v, id, &d), 0);
	assert_string_equal(d.name, "Diplôme 2019.pdf");
	/* Without kind and name. */
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL,
			     (const uint8_t *)doc, sizeof(doc) - 1, 0, id, type,
			     &size),
	    0);
	assert_int_equal(coffre_info(f->v, id, &d), 0);
	assert_string_equal(d.kind, "");
	assert_string_equal(d.name, "");
	mwriter_reset(&w);
}

/* Sizes around the chunk (64 KiB) and detection head (256 KiB) bounds. */
static void
test_multi_chunk(void **state)
{
	struct fx *f = *state;
	static const size_t sizes[] = {64 * KIB - 1, 64 * KIB, 64 * KIB + 1,
	    128 * KIB, 256 * KIB - 1, 256 * KIB, 256 * KIB + 1, 300 * KIB,
	    1024 * KIB + 3};
	char id[COFFRE_DOCID_LEN + 1], type[COFFRE_TYPE_MAX + 1];
	struct mwriter w = {0};
	uint64_t size;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = pdf_make(sizes[i]);
		/* Small reads for one, whole ones for the others. */
		assert_int_equal(seal_buf(f->v, "bob", "acme", NULL, NULL, p,
				     sizes[i], i == 7 ? 1000 : 0, id, type,
				     &size),
		    0);
		assert_int_equal(size, sizes[i]);
		assert_int_equal(open_doc(f, id, &w), 0);
		assert_int_equal(w.len, sizes[i]);
		assert_memory_equal(w.buf, p, sizes[i]);
		/* Pushed a chunk (64 KiB) at a time. */
		assert_int_equal(w.calls,
		    (int)((sizes[i] + 64 * KIB - 1) / (64 * KIB)));
		free(p);
	}
	mwriter_reset(&w);
}

struct listed {
	int n;
	char id[16][COFFRE_DOCID_LEN + 1];
	char user[16][COFFRE_ID_MAX + 1];
	int status[16];
	int stop_at;
};

static int
list_collect(void *ctx, const struct coffre_doc *d)
{
	struct listed *l = ctx;

	if (l->n >= 16)
		return 77;
	snprintf(l->id[l->n], sizeof(l->id[0]), "%s", d->id);
	snprintf(l->user[l->n], sizeof(l->user[0]), "%s", d->user);
	l->status[l->n] = d->status;
	assert_int_equal(d->nreviews, 0);
	l->n++;
	return l->n == l->stop_at ? 55 : 0;
}

static int
list(struct fx *f, const char *user, const char *community, int status,
    struct listed *l)
{
	struct coffre_filter flt = {user, community, status};

	memset(l, 0, sizeof(*l));
	return coffre_list(f->v, &flt, list_collect, l);
}

static void
test_list_and_review(void **state)
{
	struct fx *f = *state;
	char a1[23], a2[23], b1[23], c1[23];
	struct listed l;
	struct coffre_doc d;

	seal_pdf(f, "alice", "acme", "a1", 100, a1);
	seal_pdf(f, "bob", "acme", "b1", 100, b1);
	seal_pdf(f, "alice", "globex", "a2", 100, a2);
	seal_pdf(f, "carol", "globex", "c1", 100, c1);
	/* Everything, oldest first. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(coffre_list(f->v, NULL, list_collect, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.id[0], a1);
	assert_string_equal(l.id[1], b1);
	assert_string_equal(l.id[2], a2);
	assert_string_equal(l.id[3], c1);
	assert_int_equal(list(f, "alice", NULL, -1, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.id[0], a1);
	assert_string_equal(l.id[1], a2);
	assert_int_equal(list(f, NULL, "globex", -1, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.id[0], a2);
	assert_string_equal(l.id[1], c1);
	assert_int_equal(list(f, "alice", "globex", -1, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.id[0], a2);
	assert_int_equal(list(f, "dave", NULL, -1, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(list(f, NULL, NULL, COFFRE_PENDING, &l), 0);
	assert_int_equal(l.n, 4);

	/* Reviews: the latest counts; notes come back in order. */
	assert_int_equal(coffre_review(f->v, a1, COFFRE_REJECTED,
			     "photo blurred"),
	    0);
	assert_int_equal(coffre_review(f->v, a1, COFFRE_APPROVED, "ok now"), 0);
	assert_int_equal(coffre_review(f->v, b1, COFFRE_REJECTED, NULL), 0);
	assert_int_equal(coffre_info(f->v, a1, &d), 0);
	assert_int_equal(d.status, COFFRE_APPROVED);
	assert_int_equal(d.nreviews, 2);
	assert_non_null(d.reviews);
	assert_int_equal(d.reviews[0].decision, COFFRE_REJECTED);
	assert_string_equal(d.reviews[0].note, "photo blurred");
	assert_int_equal(d.reviews[1].decision, COFFRE_APPROVED);
	assert_string_equal(d.reviews[1].note, "ok now");
	assert_true(d.reviews[1].at >= d.reviews[0].at);
	assert_int_equal(coffre_info(f->v, b1, &d), 0);
	assert_int_equal(d.status, COFFRE_REJECTED);
	assert_int_equal(d.nreviews, 1);
	assert_string_equal(d.reviews[0].note, "");
	assert_int_equal(coffre_info(f->v, a2, &d), 0);
	assert_int_equal(d.nreviews, 0);
	assert_int_equal(d.status, COFFRE_PENDING);
	/* Status filters. */
	assert_int_equal(list(f, NULL, NULL, COFFRE_APPROVED, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.id[0], a1);
	assert_int_equal(list(f, NULL, NULL, COFFRE_REJECTED, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.id[0], b1);
	assert_int_equal(list(f, NULL, "acme", COFFRE_PENDING, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(list(f, "alice", NULL, COFFRE_PENDING, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.id[0], a2);
	/* Reviewed documents are listed once. */
	assert_int_equal(list(f, "alice", NULL, -1, &l), 0);
	assert_int_equal(l.n, 2);
	/* The callback's value stops the listing and is returned. */
	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	assert_int_equal(coffre_list(f->v, NULL, list_collect, &l), 55);
	assert_int_equal(l.n, 2);
	/* Bad filters and bad reviews. */
	assert_int_equal(list(f, "bad user", NULL, -1, &l), COFFRE_EREJECT);
	assert_int_equal(list(f, NULL, "a/b", -1, &l), COFFRE_EREJECT);
	assert_int_equal(list(f, NULL, NULL, 9, &l), COFFRE_EREJECT);
	assert_int_equal(coffre_review(f->v, a2, COFFRE_PENDING, NULL),
	    COFFRE_EREJECT);
	assert_int_equal(coffre_review(f->v, a2, COFFRE_SHREDDED, NULL),
	    COFFRE_EREJECT);
	assert_int_equal(coffre_review(f->v, a2, COFFRE_APPROVED, "a\nb"),
	    COFFRE_EREJECT);
	assert_int_equal(coffre_info(f->v, a2, &d), 0);
	assert_int_equal(d.nreviews, 0);
	/* Persisted. */
	vopen(f);
	assert_int_equal(coffre_info(f->v, a1, &d), 0);
	assert_int_equal(d.nreviews, 2);
	assert_string_equal(d.reviews[1].note, "ok now");
}

static void
test_bad_and_unknown_ids(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {"", "short", "../../keys/root",
	    "AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAAAAA",
	    "AAAAAAAAAA+AAAAAAAAAAA"};
	char id[23];
	struct mwriter w = {0};
	struct coffre_doc d;
	size_t i;

	seal_pdf(f, "alice", "acme", NULL, 100, id);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(open_doc(f, bad[i], &w), COFFRE_EREJECT);
		assert_int_equal(w.len, 0);
		assert_int_equal(coffre_info(f->v, bad[i], &d), COFFRE_EREJECT);
		assert_int_equal(coffre_review(f->v, bad[i], COFFRE_APPROVED,
				     NULL),
		    COFFRE_EREJECT);
	}
	/* Well formed, but no such document. */
	assert_int_equal(open_doc(f, "AAAAAAAAAAAAAAAAAAAAAA", &w),
	    COFFRE_ENOTFOUND);
	id[5] = id[5] == 'A' ? 'B' : 'A';
	assert_int_equal(open_doc(f, id, &w), COFFRE_ENOTFOUND);
	assert_int_equal(coffre_info(f->v, id, &d), COFFRE_ENOTFOUND);
	assert_int_equal(coffre_review(f->v, id, COFFRE_APPROVED, NULL),
	    COFFRE_ENOTFOUND);
	assert_true(strlen(coffre_errmsg(f->v)) > 0);
	mwriter_reset(&w);
}

static void
test_bad_seal_arguments(void **state)
{
	struct fx *f = *state;
	char id[23], type[COFFRE_TYPE_MAX + 1], longname[300];
	uint64_t size;
	uint8_t *p = pdf_make(100);
	struct listed l;

	assert_int_equal(seal_buf(f->v, "", "acme", NULL, NULL, p, 100, 0, id,
			     type, &size),
	    COFFRE_EREJECT);
	assert_int_equal(seal_buf(f->v, "al ice", "acme", NULL, NULL, p, 100, 0,
			     id, type, &size),
	    COFFRE_EREJECT);
	assert_int_equal(seal_buf(f->v, "alice", "ac/me", NULL, NULL, p, 100, 0,
			     id, type, &size),
	    COFFRE_EREJECT);
	assert_int_equal(seal_buf(f->v, "alice", "acme", "bad kind", NULL, p,
			     100, 0, id, type, &size),
	    COFFRE_EREJECT);
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, "a\tb", p, 100,
			     0, id, type, &size),
	    COFFRE_EREJECT);
	memset(longname, 'n', sizeof(longname));
	longname[COFFRE_NAME_MAX + 1] = '\0';
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, longname, p, 100,
			     0, id, type, &size),
	    COFFRE_EREJECT);
	longname[COFFRE_NAME_MAX] = '\0';
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, longname, p, 100,
			     0, id, type, &size),
	    0);
	assert_int_equal(list(f, NULL, NULL, -1, &l), 0);
	assert_int_equal(l.n, 1);
	free(p);
}

static void
test_disallowed_types(void **state)
{
	struct fx *f = *state;
	static const uint8_t elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0, 1, 0, 0, 0};
	static const char sh[] = "#!/bin/sh\nrm -rf /\n";
	static const char html[] = "<!DOCTYPE html>\n<html><body><script>"
				   "alert(1)</script></body></html>\n";
	char id[23], type[COFFRE_TYPE_MAX + 1];
	uint64_t size;
	struct listed l;
	long long before;

	before = tu_size(f->seg1);
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL, elf,
			     sizeof(elf), 0, id, type, &size),
	    COFFRE_EREJECT);
	assert_non_null(strstr(coffre_errmsg(f->v), "application/x-"));
	assert_non_null(strstr(coffre_errmsg(f->v), "not allowed"));
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, "doc.pdf",
			     (const uint8_t *)sh, sizeof(sh) - 1, 0, id, type,
			     &size),
	    COFFRE_EREJECT);
	assert_non_null(strstr(coffre_errmsg(f->v), "text/x-shellscript"));
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL,
			     (const uint8_t *)html, sizeof(html) - 1, 0, id,
			     type, &size),
	    COFFRE_EREJECT);
	assert_non_null(strstr(coffre_errmsg(f->v), "text/html"));
	/* Empty input. */
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL,
			     (const uint8_t *)"", 0, 0, id, type, &size),
	    COFFRE_EREJECT);
	/* Nothing was stored. */
	assert_int_equal(list(f, NULL, NULL, -1, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(tu_size(f->seg1), before);
}

/* A type allowed in coffre.conf is accepted; the defaults are replaced. */
static void
test_conf_types(void **state)
{
	struct fx *f = *state;
	static const char conf[] = "allow_type = text/plain\n";
	static const char text[] = "just some text, nothing else\n";
	char id[23], type[COFFRE_TYPE_MAX + 1], p[TU_PATH_MAX];
	uint64_t size;
	uint8_t *pdf = pdf_make(100);
	struct mwriter w = {0};

	tu_write(tu_path(p, f->vdir, "coffre.conf"), conf, sizeof(conf) - 1,
	    O_CREAT | O_EXCL);
	vopen(f);
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL,
			     (const uint8_t *)text, sizeof(text) - 1, 0, id,
			     type, &size),
	    0);
	assert_string_equal(type, "text/plain");
	assert_int_equal(open_doc(f, id, &w), 0);
	assert_memory_equal(w.buf, text, sizeof(text) - 1);
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL, pdf, 100,
			     0, id, type, &size),
	    COFFRE_EREJECT);
	assert_non_null(strstr(coffre_errmsg(f->v), "application/pdf"));
	/* A broken coffre.conf stops the open. */
	tu_write(p, "nonsense\n", 9, O_TRUNC);
	coffre_close(f->v);
	f->v = NULL;
	{
		char err[512];
		assert_int_equal(coffre_open(f->vdir, NULL, 0, &f->v, err,
				     sizeof(err)),
		    COFFRE_EFAIL);
		assert_non_null(strstr(err, "line 1"));
	}
	free(pdf);
	mwriter_reset(&w);
}

static void
test_max_doc(void **state)
{
	struct fx *f = *state;
	char id[23], type[COFFRE_TYPE_MAX + 1], ok[23];
	uint64_t size;
	uint8_t *p = pdf_make(300 * KIB);
	struct listed l;
	struct mwriter w = {0};
	long long before;

	seal_pdf(f, "alice", "acme", NULL, 1000, ok);
	before = tu_size(f->seg1);
	/* Refused in the detection head. */
	coffre_set_max_doc(f->v, 1000);
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL, p, 1001, 0,
			     id, type, &size),
	    COFFRE_EREJECT);
	assert_non_null(strstr(coffre_errmsg(f->v), "1000"));
	/* Exactly the limit is fine. */
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL, p, 1000, 0,
			     id, type, &size),
	    0);
	before = tu_size(f->seg1);
	/* Refused past the head, after bytes went to the segment. */
	coffre_set_max_doc(f->v, 280 * KIB);
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL, p,
			     300 * KIB, 0, id, type, &size),
	    COFFRE_EREJECT);
	assert_int_equal(tu_size(f->seg1), before);
	assert_int_equal(list(f, NULL, NULL, -1, &l), 0);
	assert_int_equal(l.n, 2);
	/* 0 restores the configured limit (32 MiB). */
	coffre_set_max_doc(f->v, 0);
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL, p,
			     300 * KIB, 0, id, type, &size),
	    0);
	assert_int_equal(open_doc(f, id, &w), 0);
	assert_int_equal(w.len, 300 * KIB);
	assert_memory_equal(w.buf, p, 300 * KIB);
	assert_int_equal(open_doc(f, ok, &w), 0);
	assert_int_equal(w.len, 1000);
	free(p);
	mwriter_reset(&w);
}

/* Only the max, nothing listed: a refusal in a fresh vault. */
static void
test_max_doc_nothing_listed(void **state)
{
	struct fx *f = *state;
	char id[23], type[COFFRE_TYPE_MAX + 1];
	uint64_t size;
	uint8_t *p = pdf_make(200 * KIB);
	struct listed l;

	coffre_set_max_doc(f->v, 100);
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL, p,
			     200 * KIB, 0, id, type, &size),
	    COFFRE_EREJECT);
	coffre_set_max_doc(f->v, 150 * KIB);
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL, p,
			     200 * KIB, 0, id, type, &size),
	    COFFRE_EREJECT);
	assert_int_equal(list(f, NULL, NULL, -1, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(list(f, "alice", NULL, -1, &l), 0);
	assert_int_equal(l.n, 0);
	free(p);
}

/* A reader that fails leaves nothing behind. */
static void
test_reader_fails(void **state)
{
	struct fx *f = *state;
	char id[23], type[COFFRE_TYPE_MAX + 1], ok[23];
	uint64_t size;
	uint8_t *p = pdf_make(400 * KIB);
	struct mreader r = {p, 400 * KIB, 0, 4096, 300 * KIB};
	struct listed l;
	long long before;

	seal_pdf(f, "alice", "acme", NULL, 100, ok);
	before = tu_size(f->seg1);
	assert_int_equal(coffre_seal(f->v, "alice", "acme", NULL, NULL, mread,
			     &r, id, type, &size),
	    COFFRE_EFAIL);
	assert_int_equal(tu_size(f->seg1), before);
	assert_int_equal(list(f, NULL, NULL, -1, &l), 0);
	assert_int_equal(l.n, 1);
	free(p);
}

/* A writer that fails makes coffre_open_doc fail. */
static void
test_writer_fails(void **state)
{
	struct fx *f = *state;
	char id[23];
	struct mwriter w = {0};

	seal_pdf(f, "alice", "acme", NULL, 100 * KIB, id);
	w.fail = 1;
	assert_int_equal(coffre_open_doc(f->v, id, mwrite, &w), COFFRE_EFAIL);
	mwriter_reset(&w);
}

/* Must fail: a changed byte anywhere in a document's sealed record. */
static void
test_segment_tamper(void **state)
{
	struct fx *f = *state;
	char id[23], other[23];
	struct mwriter w = {0};
	long long start, size, off;
	int rc;

	seal_pdf(f, "alice", "acme", NULL, 1000, other);
	start = tu_size(f->seg1);
	seal_pdf(f, "alice", "acme", NULL, 300 * KIB, id);
	size = tu_size(f->seg1) - start;
	/* Header, first chunk, a middle chunk, the last chunk, trailer. */
	{
		const long long at[] = {0, 8, 30, 50, 56, 57, 60, 200,
		    56 + 4 + 65553 + 4 + 1000, size / 2, size - 40 - 20,
		    size - 40 - 1, size - 40, size - 20, size - 1};
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			off = start + at[i];
			tu_flip(f->seg1, off, 0x01);
			rc = open_doc(f, id, &w);
			if (rc != COFFRE_EFAIL)
				fail_msg("byte %lld of the record changed: "
					 "open gave %d",
				    at[i], rc);
			assert_true(strlen(coffre_errmsg(f->v)) > 0);
			tu_flip(f->seg1, off, 0x01);
		}
	}
	/* Restored, and the other document was never affected. */
	assert_int_equal(open_doc(f, id, &w), 0);
	assert_int_equal(w.len, 300 * KIB);
	assert_int_equal(open_doc(f, other, &w), 0);
	/* A truncated segment: the record is missing. */
	assert_int_equal(truncate(f->seg1, start + size - 1), 0);
	assert_int_equal(open_doc(f, id, &w), COFFRE_EFAIL);
	assert_int_equal(open_doc(f, other, &w), 0);
	mwriter_reset(&w);
}

/* Must fail: two records' chunks swapped keep their framing, not keys. */
static void
test_segment_chunk_swap(void **state)
{
	struct fx *f = *state;
	char a[23], b[23];
	struct mwriter w = {0};
	long long sa, sb;
	uint8_t *file;
	size_t len;
	int fd;

	sa = tu_size(f->seg1);
	seal_pdf(f, "alice", "acme", NULL, 1000, a);
	sb = tu_size(f->seg1);
	seal_pdf(f, "alice", "acme", NULL, 1000, b);
	/* Same framing: copy b's single chunk over a's. */
	file = tu_read(f->seg1, &len);
	fd = open(f->seg1, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, file + sb + 56, 4 + 1000 + 17,
			     (off_t)(sa + 56)),
	    4 + 1000 + 17);
	close(fd);
	assert_int_equal(open_doc(f, a, &w), COFFRE_EFAIL);
	assert_int_equal(open_doc(f, b, &w), 0);
	free(file);
	mwriter_reset(&w);
}

static void
test_shred_doc(void **state)
{
	struct fx *f = *state;
	char a[23], b[23];
	struct coffre_shred_result res;
	struct coffre_doc d;
	struct mwriter w = {0};
	struct listed l;

	seal_pdf(f, "alice", "acme", "secret-name", 1000, a);
	seal_pdf(f, "alice", "acme", "kept", 1000, b);
	assert_int_equal(coffre_shred_doc(f->v, a, &res), 0);
	assert_int_equal(res.documents, 1);
	assert_int_equal(res.keys_destroyed, 1);
	assert_true(res.epoch_after == res.epoch_before + 1);
	/* Done means the old root is overwritten: one slot left. */
	{
		char p[TU_PATH_MAX];
		uint8_t *file;
		size_t len;
		file = tu_read(tu_path(p, f->vdir, "keys/root"), &len);
		assert_int_equal(len, 320);
		assert_int_equal(tu_is_zero(file + 64, 128) +
			tu_is_zero(file + 192, 128),
		    1);
		free(file);
	}
	assert_int_equal(open_doc(f, a, &w), COFFRE_EGONE);
	assert_int_equal(coffre_info(f->v, a, &d), 0);
	assert_int_equal(d.status, COFFRE_SHREDDED);
	assert_string_equal(d.name, "");
	assert_int_equal(coffre_review(f->v, a, COFFRE_APPROVED, NULL),
	    COFFRE_EGONE);
	assert_int_equal(coffre_shred_doc(f->v, a, &res), COFFRE_EGONE);
	/* The other one is intact, also after a reopen. */
	vopen(f);
	assert_int_equal(open_doc(f, b, &w), 0);
	assert_int_equal(w.len, 1000);
	assert_int_equal(coffre_info(f->v, b, &d), 0);
	assert_string_equal(d.name, "kept");
	assert_int_equal(list(f, NULL, NULL, COFFRE_SHREDDED, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.id[0], a);
	mwriter_reset(&w);
}

static void
test_shred_user(void **state)
{
	struct fx *f = *state;
	char a[23], b[23], c[23], type[COFFRE_TYPE_MAX + 1];
	struct coffre_shred_result res;
	struct mwriter w = {0};
	uint64_t size;
	uint8_t *p = pdf_make(100);

	seal_pdf(f, "alice", "acme", NULL, 1000, a);
	seal_pdf(f, "alice", "globex", NULL, 1000, b);
	seal_pdf(f, "bob", "acme", NULL, 1000, c);
	assert_int_equal(coffre_shred_user(f->v, "alice", &res), 0);
	assert_int_equal(res.documents, 2);
	assert_int_equal(open_doc(f, a, &w), COFFRE_EGONE);
	assert_int_equal(open_doc(f, b, &w), COFFRE_EGONE);
	assert_int_equal(open_doc(f, c, &w), 0);
	/* Fenced: no new document for that id. */
	assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL, p, 100, 0,
			     a, type, &size),
	    COFFRE_EGONE);
	/* Idempotent. */
	assert_int_equal(coffre_shred_user(f->v, "alice", &res), 0);
	assert_int_equal(res.documents, 0);
	assert_int_equal(coffre_shred_user(f->v, "bad id", &res),
	    COFFRE_EREJECT);
	free(p);
	mwriter_reset(&w);
}

static uint32_t
crc32_of(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

/*
 * A zip archive of one stored file "evil.sh", with an archive comment of
 * ${comment} bytes, into ${out} (at least 200 + ${comment} bytes).
 * Returns its length.
 */
static size_t
zip_make(uint8_t *out, size_t comment)
{
	static const char name[] = "evil.sh";
	static const char data[] = "#!/bin/sh\necho pwned\n";
	const size_t nl = sizeof(name) - 1, dl = sizeof(data) - 1;
	uint32_t crc = crc32_of((const uint8_t *)data, dl);
	size_t n = 0, cd;

	/* Local file header. */
	bytes_store32(out + n, 0x04034b50u);
	bytes_store16(out + n + 4, 20);
	bytes_store16(out + n + 6, 0);
	bytes_store16(out + n + 8, 0); /* stored */
	bytes_store16(out + n + 10, 0);
	bytes_store16(out + n + 12, 0x21);
	bytes_store32(out + n + 14, crc);
	bytes_store32(out + n + 18, (uint32_t)dl);
	bytes_store32(out + n + 22, (uint32_t)dl);
	bytes_store16(out + n + 26, (uint16_t)nl);
	bytes_store16(out + n + 28, 0);
	n += 30;
	memcpy(out + n, name, nl);
	n += nl;
	memcpy(out + n, data, dl);
	n += dl;
	/* Central directory. */
	cd = n;
	bytes_store32(out + n, 0x02014b50u);
	bytes_store16(out + n + 4, 20);
	bytes_store16(out + n + 6, 20);
	bytes_store16(out + n + 8, 0);
	bytes_store16(out + n + 10, 0);
	bytes_store16(out + n + 12, 0);
	bytes_store16(out + n + 14, 0x21);
	bytes_store32(out + n + 16, crc);
	bytes_store32(out + n + 20, (uint32_t)dl);
	bytes_store32(out + n + 24, (uint32_t)dl);
	bytes_store16(out + n + 28, (uint16_t)nl);
	memset(out + n + 30, 0, 12);
	bytes_store32(out + n + 42, 0);
	n += 46;
	memcpy(out + n, name, nl);
	n += nl;
	/* End of central directory. */
	bytes_store32(out + n, 0x06054b50u);
	bytes_store16(out + n + 4, 0);
	bytes_store16(out + n + 6, 0);
	bytes_store16(out + n + 8, 1);
	bytes_store16(out + n + 10, 1);
	bytes_store32(out + n + 12, (uint32_t)(n - cd));
	bytes_store32(out + n + 16, (uint32_t)cd);
	bytes_store16(out + n + 20, (uint16_t)comment);
	n += 22;
	memset(out + n, 'C', comment);
	return n + comment;
}

/*
 * A PDF of ${total} bytes that ends with a zip (comment ${comment}) and
 * then ${trail} bytes of "%%EOF"-like tail.
 */
static uint8_t *
polyglot_make(size_t total, size_t comment, const char *trail)
{
	uint8_t *p = pdf_make(total);
	uint8_t *z = malloc(300 + comment);
	size_t zl, tl = trail != NULL ? strlen(trail) : 0;

	assert_non_null(z);
	zl = zip_make(z, comment);
	assert_true(total >= 100 + zl + tl);
	memcpy(p + total - tl - zl, z, zl);
	if (tl > 0)
		memcpy(p + total - tl, trail, tl);
	free(z);
	return p;
}

static int
seal_poly(struct fx *f, size_t total, size_t comment, const char *trail)
{
	char id[23], type[COFFRE_TYPE_MAX + 1];
	uint64_t size;
	uint8_t *p = polyglot_make(total, comment, trail);
	int rc;

	rc = seal_buf(f->v, "alice", "acme", NULL, NULL, p, total, 0, id, type,
	    &size);
	free(p);
	return rc;
}

/* SPEC.md section 7: a PDF with a zip appended is rejected. */
static void
test_polyglot_zip(void **state)
{
	struct fx *f = *state;
	struct listed l;
	long long before;
	size_t zl;
	uint8_t z[400];
	char ok[23];

	zl = zip_make(z, 0);
	seal_pdf(f, "alice", "acme", NULL, 100, ok);
	before = tu_size(f->seg1);
	assert_int_equal(seal_poly(f, 1000, 0, NULL), COFFRE_EREJECT);
	assert_non_null(strcasestr(coffre_errmsg(f->v), "zip"));
	assert_int_equal(seal_poly(f, 5000, 100, NULL), COFFRE_EREJECT);
	/* Past the detection head, several chunks long. */
	assert_int_equal(seal_poly(f, 300 * KIB + 5, 0, NULL), COFFRE_EREJECT);
	/* The end record across two chunks (64 KiB): 10 bytes before. */
	assert_int_equal(seal_poly(f, 64 * KIB + 12, 0, NULL), COFFRE_EREJECT);
	assert_int_equal(seal_poly(f, 64 * KIB - 22 + zl, 0, NULL),
	    COFFRE_EREJECT);
	/* The last chunk exactly full. */
	assert_int_equal(seal_poly(f, 128 * KIB, 0, NULL), COFFRE_EREJECT);
	assert_int_equal(list(f, NULL, NULL, -1, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(tu_size(f->seg1), before);
	/* A whole zip inside a PDF is found too: zip readers find it. */
	{
		char type[COFFRE_TYPE_MAX + 1];
		uint64_t size;
		uint8_t *p = pdf_make(3000);
		memcpy(p + 1000, z, zl);
		assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL, p,
				     3000, 0, ok, type, &size),
		    COFFRE_EREJECT);
		/* A lone signature with fields no reader accepts is fine. */
		memset(p + 1000, ' ', zl);
		memcpy(p + 1000, "PK\005\006", 4);
		assert_int_equal(seal_buf(f->v, "alice", "acme", NULL, NULL, p,
				     3000, 0, ok, type, &size),
		    0);
		free(p);
	}
}

/*
 * Regression (fixed; was a bug in vault/vault.c, zip_tail()): the zip must end exactly at the
 * end of the file, but zip readers (Info-ZIP unzip, Python's zipfile)
 * accept bytes after the end record: a PDF + zip + "\n%%EOF\n" is sealed.
 */
static void
test_polyglot_trailing_bytes(void **state)
{
	struct fx *f = *state;

	assert_int_equal(seal_poly(f, 5000, 0, "\n%%EOF\n"), COFFRE_EREJECT);
}

/*
 * Regression (fixed; was a bug in vault/vault.c, zip_tail() and its call in seal_body()): only
 * the last two chunks are searched, 64 KiB + the last chunk's length, but
 * the end record may start 22 + 65535 bytes before the end: a zip with a
 * 65535-byte comment whose file length is 1 mod 64 KiB is sealed.
 */
static void
test_polyglot_long_comment(void **state)
{
	struct fx *f = *state;

	assert_int_equal(seal_poly(f, 128 * KIB + 1, 65535, NULL),
	    COFFRE_EREJECT);
}

/*
 * Direct LMDB access to DIR/index.mdb, the vault closed: ${fn} runs in a
 * write transaction on table ${db}.
 */
static void
raw_index(struct fx *f, const char *db,
    void (*fn)(MDB_txn *txn, MDB_dbi dbi, void *ctx), void *ctx)
{
	char p[TU_PATH_MAX];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	unsigned dflags =
	    strcmp(db, "by_user") == 0 ? MDB_DUPSORT | MDB_DUPFIXED : 0;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_set_mapsize(env, 64ULL << 30), 0);
	assert_int_equal(mdb_env_open(env, tu_path(p, f->vdir, "index.mdb"),
			     MDB_NOSUBDIR, 0600),
	    0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, dflags, &dbi), 0);
	fn(txn, dbi, ctx);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

struct approve_ctx {
	uint8_t raw[16];
};

/* Set the status byte of a document record to approved, nothing else. */
static void
forge_approved(MDB_txn *txn, MDB_dbi dbi, void *ctx)
{
	struct approve_ctx *c = ctx;
	MDB_val k = {16, c->raw}, v;
	uint8_t rec[2048];

	assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
	assert_true(v.mv_size <= sizeof(rec));
	memcpy(rec, v.mv_data, v.mv_size);
	assert_int_equal(rec[1], COFFRE_PENDING);
	rec[1] = COFFRE_APPROVED;
	v.mv_data = rec;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
}

/* Must fail: an index record changed in LMDB (approved, no review). */
static void
test_index_tamper(void **state)
{
	struct fx *f = *state;
	char id[23], other[23];
	struct mwriter w = {0};
	struct coffre_doc d;
	struct approve_ctx c;
	struct listed l;

	seal_pdf(f, "alice", "acme", NULL, 1000, id);
	seal_pdf(f, "alice", "acme", NULL, 1000, other);
	assert_int_equal(util_docid_decode(id, c.raw), 0);
	coffre_close(f->v);
	f->v = NULL;
	raw_index(f, "docs", forge_approved, &c);
	vopen(f);
	assert_int_equal(coffre_info(f->v, id, &d), COFFRE_EFAIL);
	assert_int_equal(open_doc(f, id, &w), COFFRE_EFAIL);
	assert_int_equal(coffre_review(f->v, id, COFFRE_REJECTED, NULL),
	    COFFRE_EFAIL);
	assert_int_equal(list(f, NULL, NULL, COFFRE_APPROVED, &l),
	    COFFRE_EFAIL);
	/* The other document is not affected. */
	assert_int_equal(open_doc(f, other, &w), 0);
	assert_int_equal(coffre_info(f->v, other, &d), 0);
	mwriter_reset(&w);
}

struct by_user_ctx {
	const char *user;
	uint8_t raw[16];
};

/* Add a by_user entry: ${user} -> a document that is not theirs. */
static void
forge_by_user(MDB_txn *txn, MDB_dbi dbi, void *ctx)
{
	struct by_user_ctx *c = ctx;
	MDB_val k = {strlen(c->user), (void *)(uintptr_t)c->user};
	MDB_val v = {16, c->raw};

	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
}

/* Must fail: a forged by_user entry does not list a document as bob's. */
static void
test_list_forged_by_user(void **state)
{
	struct fx *f = *state;
	char a[23], b[23];
	struct by_user_ctx c = {"bob", {0}};
	struct listed l;

	seal_pdf(f, "alice", "acme", NULL, 1000, a);
	seal_pdf(f, "bob", "acme", NULL, 1000, b);
	assert_int_equal(util_docid_decode(a, c.raw), 0);
	coffre_close(f->v);
	f->v = NULL;
	raw_index(f, "by_user", forge_by_user, &c);
	vopen(f);
	/* The record the entry names is alice's: corruption, not a listing. */
	assert_int_equal(list(f, "bob", NULL, -1, &l), COFFRE_EFAIL);
	(void)b;
}

/*
 * Regression (fixed; was a bug in vault/vault.c, coffre_shred_user() / mark_collect(); root
 * cause vault/index.c, index_docs() trusts the un-MAC'd by_user table):
 * with a by_user entry "bob" -> alice's document added in LMDB, shredding
 * bob marks alice's document shredded under a valid MAC (and drops its
 * sealed name), though its key is intact: the forgery is laundered into
 * an authenticated record.  list_one() has the user check; mark_collect()
 * lacks it.
 */
static void
test_shred_user_forged_by_user(void **state)
{
	struct fx *f = *state;
	char a[23], b[23];
	struct by_user_ctx c = {"bob", {0}};
	struct coffre_shred_result res;
	struct mwriter w = {0};
	struct coffre_doc d;
	int rc;

	seal_pdf(f, "alice", "acme", "alice-passport", 1000, a);
	seal_pdf(f, "bob", "acme", NULL, 1000, b);
	assert_int_equal(util_docid_decode(a, c.raw), 0);
	coffre_close(f->v);
	f->v = NULL;
	raw_index(f, "by_user", forge_by_user, &c);
	vopen(f);
	rc = coffre_shred_user(f->v, "bob", &res);
	assert_int_equal(open_doc(f, b, &w), COFFRE_EGONE);
	/* Either the forgery is refused, or alice's document is untouched. */
	if (rc == 0) {
		if (res.documents != 1)
			fail_msg("shred --user bob marked %llu documents "
				 "shredded (alice's among them)",
			    (unsigned long long)res.documents);
		assert_int_equal(open_doc(f, a, &w), 0);
		assert_int_equal(coffre_info(f->v, a, &d), 0);
		assert_int_equal(d.status, COFFRE_PENDING);
		assert_string_equal(d.name, "alice-passport");
	}
	mwriter_reset(&w);
}

static void
test_passphrase(void **state)
{
	char dir[TU_PATH_MAX], vdir[TU_PATH_MAX], err[512], pk[64];
	static const char pass[] = "s3cret passphrase";
	struct coffre_init_opts o = {0, pass, sizeof(pass) - 1};
	coffre_vault *v = NULL;
	char id[23], type[COFFRE_TYPE_MAX + 1];
	uint64_t size;
	uint8_t *p = pdf_make(5000);
	struct mwriter w = {0};
	int rc;

	(void)state;
	tu_tmpdir(dir);
	tu_path(vdir, dir, "v");
	assert_int_equal(coffre_init(vdir, &o, pk, err, sizeof(err)), 0);
	/* No passphrase: refused, and the message says what to give. */
	err[0] = '\0';
	assert_int_equal(coffre_open(vdir, NULL, 0, &v, err, sizeof(err)),
	    COFFRE_EFAIL);
	assert_null(v);
	assert_non_null(strstr(err, "passphrase"));
	/* A passphrase for a vault that has none is refused too. */
	assert_int_equal(coffre_open(vdir, pass, sizeof(pass) - 1, &v, err,
			     sizeof(err)),
	    0);
	coffre_close(v);
	v = NULL;
	{
		char plain[TU_PATH_MAX];
		tu_path(plain, dir, "plain");
		assert_int_equal(coffre_init(plain, NULL, pk, err, sizeof(err)),
		    0);
		assert_int_equal(coffre_open(plain, pass, sizeof(pass) - 1, &v,
				     err, sizeof(err)),
		    COFFRE_EFAIL);
		assert_null(v);
		assert_int_equal(coffre_open(plain, NULL, 0, &v, err,
				     sizeof(err)),
		    0);
		coffre_close(v);
		v = NULL;
	}
	/* A wrong one. */
	assert_int_equal(coffre_open(vdir, "s3cret passphrasE",
			     sizeof(pass) - 1, &v, err, sizeof(err)),
	    COFFRE_EFAIL);
	assert_null(v);
	/* The right one. */
	rc = coffre_open(vdir, pass, sizeof(pass) - 1, &v, err, sizeof(err));
	if (rc != 0)
		fail_msg("coffre_open: %d %s", rc, err);
	assert_int_equal(seal_buf(v, "alice", "acme", NULL, NULL, p, 5000, 0,
			     id, type, &size),
	    0);
	assert_int_equal(coffre_open_doc(v, id, mwrite, &w), 0);
	assert_int_equal(w.len, 5000);
	assert_memory_equal(w.buf, p, 5000);
	coffre_close(v);
	free(p);
	mwriter_reset(&w);
	tu_rmrf(dir);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(coffre_status_name(COFFRE_PENDING), "pending");
	assert_string_equal(coffre_status_name(COFFRE_APPROVED), "approved");
	assert_string_equal(coffre_status_name(COFFRE_REJECTED), "rejected");
	assert_string_equal(coffre_status_name(COFFRE_SHREDDED), "shredded");
	assert_string_equal(coffre_status_name(4), "unknown");
	assert_string_equal(coffre_status_name(-1), "unknown");
	assert_int_equal(coffre_status_parse("approved"), COFFRE_APPROVED);
	assert_int_equal(coffre_status_parse("shredded"), COFFRE_SHREDDED);
	assert_int_equal(coffre_status_parse("Approved"), -1);
	assert_int_equal(coffre_status_parse(NULL), -1);
	assert_string_equal(coffre_strerror(COFFRE_OK), "done");
	assert_string_equal(coffre_strerror(COFFRE_EREJECT), "rejected input");
	assert_string_equal(coffre_strerror(99), "unknown error");
	/* The codes are the exit statuses of SPEC.md section 4. */
	assert_int_equal(COFFRE_EFAIL, 1);
	assert_int_equal(COFFRE_ENOTFOUND, 3);
	assert_int_equal(COFFRE_EGONE, 4);
	assert_int_equal(COFFRE_EREJECT, 5);
}

static int mseeks;

static int
count_one(void *ctx, const struct coffre_doc *d)
{
	(void)d;
	++*(int *)ctx;
	return 0;
}

static int
count_docs(struct fx *f, const char *user)
{
	struct coffre_filter flt = {user, NULL, -1};
	int n = 0;

	assert_int_equal(coffre_list(f->v, &flt, count_one, &n), 0);
	return n;
}

static int
mseek(void *ctx, uint64_t off)
{
	struct mreader *r = ctx;

	if (off > r->len)
		return -1;
	r->pos = (size_t)off;
	mseeks++;
	return 0;
}

static void
ignore_report(void *ctx, int problem, const char *msg)
{
	(void)ctx;
	if (problem)
		fprintf(stderr, "check: %s\n", msg);
}

/*
 * LMDB map growth (MDB_MAP_FULL), through the public API: with 1 MiB maps
 * (map_size in coffre.conf), one batch of 8,000 documents fills both maps
 * in its transactions; each is run again after the map grew, and nothing
 * is lost.  Then a shred of all of them in one transaction, and single
 * seals that grow the maps ahead of them.
 */
static void
test_map_growth(void **state)
{
	struct fx *f = *state;
	static const char conf[] = "map_size = 1048576\n";
	enum {
		N = 8000,
		LEN = 64
	};
	struct coffre_seal_req *reqs = calloc(N, sizeof(*reqs));
	struct mreader *rd = calloc(N, sizeof(*rd));
	struct coffre_shred_result sr;
	struct coffre_check_result cr;
	struct coffre_verify_result vr;
	struct mwriter w = {0};
	char p[TU_PATH_MAX], id[23], type[COFFRE_TYPE_MAX + 1];
	uint8_t *pdf = pdf_make((size_t)N * LEN);
	struct stat sb;
	uint64_t size;

	assert_non_null(reqs);
	assert_non_null(rd);
	tu_write(tu_path(p, f->vdir, "coffre.conf"), conf, sizeof(conf) - 1,
	    O_CREAT | O_EXCL);
	vopen(f);
	for (size_t i = 0; i < N; i++) {
		/* Each a PDF: the head, then its own random bytes. */
		memcpy(pdf + i * LEN, pdf, 16);
		rd[i].buf = pdf + i * LEN;
		rd[i].len = LEN;
		reqs[i].user = "many";
		reqs[i].group = "acme";
		reqs[i].name = "a-name-to-seal.pdf";
		reqs[i].rd = mread;
		reqs[i].rdctx = &rd[i];
		reqs[i].seek = mseek;
	}
	mseeks = 0;
	if (coffre_seal_batch(f->v, reqs, N) != 0)
		fail_msg("coffre_seal_batch: %s", reqs[0].err);
	/* Each pass moves every input to its start: a second pass ran, after
	 * the key tree's map filled (8,000 keys fill 1 MiB; the index part
	 * is run again on its own, nothing read twice). */
	assert_true(mseeks > N);
	assert_int_equal(stat(tu_path(p, f->vdir, "index.mdb"), &sb), 0);
	assert_true(sb.st_size > (1 << 20));
	for (size_t i = 0; i < N; i += 499) {
		assert_int_equal(reqs[i].rc, 0);
		assert_int_equal(open_doc(f, reqs[i].id, &w), 0);
		assert_int_equal(w.len, LEN);
		assert_memory_equal(w.buf, pdf + i * LEN, LEN);
	}
	assert_int_equal(count_docs(f, "many"), N);
	assert_int_equal(coffre_shred_user(f->v, "many", &sr), 0);
	assert_int_equal(sr.documents, N);
	assert_int_equal(open_doc(f, reqs[0].id, &w), COFFRE_EGONE);
	for (int i = 0; i < 200; i++)
		assert_int_equal(seal_buf(f->v, "one", "acme", NULL, "n.pdf",
				     pdf + (size_t)i * LEN, LEN, 0, id, type,
				     &size),
		    0);
	assert_int_equal(coffre_check(f->v, 0, ignore_report, NULL, &cr), 0);
	assert_int_equal(cr.problems, 0);
	assert_int_equal(coffre_audit_verify(f->v, &vr), 0);
	assert_int_equal(vr.first_bad, 0);
	vopen(f);
	assert_int_equal(count_docs(f, "one"), 200);
	mwriter_reset(&w);
	free(pdf);
	free(rd);
	free(reqs);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_open_missing),
	    T(test_map_growth),
	    T(test_seal_open_small),
	    T(test_multi_chunk),
	    T(test_list_and_review),
	    T(test_bad_and_unknown_ids),
	    T(test_bad_seal_arguments),
	    T(test_disallowed_types),
	    T(test_polyglot_zip),
	    T(test_polyglot_trailing_bytes),
	    T(test_polyglot_long_comment),
	    T(test_conf_types),
	    T(test_max_doc),
	    T(test_max_doc_nothing_listed),
	    T(test_reader_fails),
	    T(test_writer_fails),
	    T(test_segment_tamper),
	    T(test_segment_chunk_swap),
	    T(test_shred_doc),
	    T(test_shred_user),
	    T(test_index_tamper),
	    T(test_list_forged_by_user),
	    T(test_shred_user_forged_by_user),
	    cmocka_unit_test(test_passphrase),
	    cmocka_unit_test(test_names),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("vault", tests, NULL, NULL);
}
