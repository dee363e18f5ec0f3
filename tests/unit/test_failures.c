/*
 * test_failures.c: every failure the library can meet, one at a time, in
 * the way SQLite's and LMDB's test suites inject them.  The program is
 * linked with `-Wl,--wrap=` for the allocators, the LMDB calls, the system
 * calls and the library calls the library makes (FAIL_WRAPS in the
 * Makefile): each call from the library's objects goes through a wrapper
 * here, which counts it and, when its number is the one chosen, fails it
 * the way the real one can (NULL and ENOMEM, an LMDB error, EIO, ENOSPC).
 *
 * For each operation of the public API (open, seal, a batch, open a
 * document, info, list, review, shred a document and a user, archive,
 * contract end, hold, archive open, sweep, shred an archive, the audit
 * log's reads, rotation, check, scan, import, export), on a copy of a
 * small vault, the operation is run with its 1st call failed, then its
 * 2nd, and so on until it runs with no call failed.  After each run: no
 * crash and no leak (the sanitizer build), the operation's answer is a
 * code with a message, and the vault, opened again, is whole: `check
 * --repair` then `check` find nothing, the audit log verifies, the
 * document of a user no operation touches opens byte for byte, and a new
 * seal works.  A document whose seal said 0 opens.
 *
 * COFFRE_FAIL_STRIDE=N (default 1) fails every Nth call only, from an
 * offset that changes with each operation, for a quicker run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <lmdb.h>
#include <magic.h>
#include <sodium.h>

#include "coffre.h"

#include "testutil.h"

/* ---- the wrappers ---- */

static atomic_long fi_calls; /* calls counted since armed */
static atomic_long fi_at;    /* the call to fail (0: none) */
static atomic_int fi_hit;    /* it was failed */
static atomic_int fi_armed;
static const char *fi_name; /* the function failed */

/* 1 if this call (of ${name}) is the one to fail. */
static int
fi_fire(const char *name)
{
	if (!atomic_load(&fi_armed))
		return 0;
	if (atomic_fetch_add(&fi_calls, 1) + 1 != atomic_load(&fi_at))
		return 0;
	fi_name = name;
	atomic_store(&fi_hit, 1);
	return 1;
}

static void
fi_arm(long at)
{
	atomic_store(&fi_calls, 0);
	atomic_store(&fi_at, at);
	atomic_store(&fi_hit, 0);
	atomic_store(&fi_armed, 1);
}

static void
fi_disarm(void)
{
	atomic_store(&fi_armed, 0);
}

/* An allocator: NULL, ENOMEM. */
#define WRAP_ALLOC(name, params, args)                                         \
	void *__real_##name params;                                            \
	void *__wrap_##name params;                                            \
	void *__wrap_##name params                                             \
	{                                                                      \
		if (fi_fire(#name)) {                                          \
			errno = ENOMEM;                                        \
			return NULL;                                           \
		}                                                              \
		return __real_##name args;                                     \
	}

WRAP_ALLOC(malloc, (size_t n), (n))
WRAP_ALLOC(calloc, (size_t n, size_t m), (n, m))
WRAP_ALLOC(realloc, (void *p, size_t n), (p, n))
WRAP_ALLOC(sodium_malloc, (size_t n), (n))

/* A call that answers an int code: ${fail} (with errno ${err}). */
#define WRAP_INT(ret, name, params, args, fail, err)                           \
	ret __real_##name params;                                              \
	ret __wrap_##name params;                                              \
	ret __wrap_##name params                                               \
	{                                                                      \
		if (fi_fire(#name)) {                                          \
			errno = err;                                           \
			return fail;                                           \
		}                                                              \
		return __real_##name args;                                     \
	}

/* LMDB: an I/O error, as a broken environment gives. */
WRAP_INT(int, mdb_txn_begin, (MDB_env * e, MDB_txn *p, unsigned f, MDB_txn **t),
    (e, p, f, t), EIO, EIO)
WRAP_INT(int, mdb_get, (MDB_txn * t, MDB_dbi d, MDB_val *k, MDB_val *v),
    (t, d, k, v), EIO, EIO)
WRAP_INT(int, mdb_put,
    (MDB_txn * t, MDB_dbi d, MDB_val *k, MDB_val *v, unsigned f),
    (t, d, k, v, f), EIO, EIO)
WRAP_INT(int, mdb_del, (MDB_txn * t, MDB_dbi d, MDB_val *k, MDB_val *v),
    (t, d, k, v), EIO, EIO)
WRAP_INT(int, mdb_cursor_open, (MDB_txn * t, MDB_dbi d, MDB_cursor **c),
    (t, d, c), EIO, EIO)
WRAP_INT(int, mdb_cursor_get,
    (MDB_cursor * c, MDB_val *k, MDB_val *v, MDB_cursor_op o), (c, k, v, o),
    EIO, EIO)
WRAP_INT(int, mdb_cursor_del, (MDB_cursor * c, unsigned f), (c, f), EIO, EIO)
WRAP_INT(int, mdb_dbi_open,
    (MDB_txn * t, const char *n, unsigned f, MDB_dbi *d), (t, n, f, d), EIO,
    EIO)
WRAP_INT(int, mdb_env_info, (MDB_env * e, MDB_envinfo *i), (e, i), EIO, EIO)
WRAP_INT(int, mdb_env_open,
    (MDB_env * e, const char *p, unsigned f, mdb_mode_t m), (e, p, f, m), EIO,
    EIO)
WRAP_INT(int, mdb_env_set_flags, (MDB_env * e, unsigned f, int on), (e, f, on),
    EINVAL, EINVAL)
WRAP_INT(int, mdb_env_set_mapsize, (MDB_env * e, size_t n), (e, n), ENOMEM,
    ENOMEM)

/* A failed commit ends the transaction, as LMDB's does. */
int __real_mdb_txn_commit(MDB_txn *t);
int __wrap_mdb_txn_commit(MDB_txn *t);
int
__wrap_mdb_txn_commit(MDB_txn *t)
{
	if (fi_fire("mdb_txn_commit")) {
		mdb_txn_abort(t);
		return EIO;
	}
	return __real_mdb_txn_commit(t);
}

/* System calls: EIO, or ENOSPC for writes. */
WRAP_INT(ssize_t, pread, (int fd, void *b, size_t n, off_t o), (fd, b, n, o),
    -1, EIO)
WRAP_INT(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o),
    (fd, b, n, o), -1, ENOSPC)
WRAP_INT(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n), -1,
    ENOSPC)
WRAP_INT(int, fstat, (int fd, struct stat *s), (fd, s), -1, EIO)
WRAP_INT(int, lstat, (const char *p, struct stat *s), (p, s), -1, EIO)
WRAP_INT(int, fsync, (int fd), (fd), -1, EIO)
WRAP_INT(int, fdatasync, (int fd), (fd), -1, EIO)
WRAP_INT(int, ftruncate, (int fd, off_t n), (fd, n), -1, ENOSPC)
WRAP_INT(int, mkdir, (const char *p, mode_t m), (p, m), -1, ENOSPC)
WRAP_INT(int, unlink, (const char *p), (p), -1, EIO)
WRAP_INT(int, flock, (int fd, int op), (fd, op), -1, ENOLCK)
WRAP_INT(int, pthread_create,
    (pthread_t * t, const pthread_attr_t *a, void *(*f)(void *), void *x),
    (t, a, f, x), EAGAIN, EAGAIN)
WRAP_INT(int, magic_load, (magic_t m, const char *f), (m, f), -1, EIO)

/* jansson's *_new calls take the value's reference, failing or not. */
int __real_json_object_set_new(json_t *o, const char *k, json_t *v);
int __wrap_json_object_set_new(json_t *o, const char *k, json_t *v);
int
__wrap_json_object_set_new(json_t *o, const char *k, json_t *v)
{
	if (fi_fire("json_object_set_new")) {
		json_decref(v);
		return -1;
	}
	return __real_json_object_set_new(o, k, v);
}

int __real_json_array_append_new(json_t *a, json_t *v);
int __wrap_json_array_append_new(json_t *a, json_t *v);
int
__wrap_json_array_append_new(json_t *a, json_t *v)
{
	if (fi_fire("json_array_append_new")) {
		json_decref(v);
		return -1;
	}
	return __real_json_array_append_new(a, v);
}

int __real_open(const char *p, int f, ...);
int __wrap_open(const char *p, int f, ...);
int
__wrap_open(const char *p, int f, ...)
{
	mode_t m = 0;
	va_list ap;

	if (f & (O_CREAT | O_TMPFILE)) {
		va_start(ap, f);
		m = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (fi_fire("open")) {
		errno = EIO;
		return -1;
	}
	return __real_open(p, f, m);
}

/* A call that answers a pointer: NULL (with errno ${err}). */
#define WRAP_PTR(ret, name, params, args, err)                                 \
	ret __real_##name params;                                              \
	ret __wrap_##name params;                                              \
	ret __wrap_##name params                                               \
	{                                                                      \
		if (fi_fire(#name)) {                                          \
			errno = err;                                           \
			return NULL;                                           \
		}                                                              \
		return __real_##name args;                                     \
	}

WRAP_PTR(FILE *, fopen, (const char *p, const char *m), (p, m), EIO)
WRAP_PTR(DIR *, opendir, (const char *p), (p), EIO)
WRAP_PTR(magic_t, magic_open, (int f), (f), ENOMEM)
WRAP_PTR(struct archive *, archive_read_new, (void), (), ENOMEM)
WRAP_PTR(struct archive *, archive_write_new, (void), (), ENOMEM)
WRAP_PTR(char *, json_dumps, (const json_t *j, size_t f), (j, f), ENOMEM)
WRAP_PTR(json_t *, json_loadb,
    (const char *b, size_t n, size_t f, json_error_t *e), (b, n, f, e), ENOMEM)
WRAP_PTR(json_t *, json_string, (const char *s), (s), ENOMEM)
WRAP_PTR(locale_t, newlocale, (int m, const char *l, locale_t b), (m, l, b),
    ENOMEM)

void *__real_mmap(void *a, size_t n, int p, int f, int fd, off_t o);
void *__wrap_mmap(void *a, size_t n, int p, int f, int fd, off_t o);
void *
__wrap_mmap(void *a, size_t n, int p, int f, int fd, off_t o)
{
	if (fi_fire("mmap")) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return __real_mmap(a, n, p, f, fd, o);
}

/* ---- the vault ---- */

#define DOC_LEN 3000

struct fx {
	char dir[TU_PATH_MAX];
	char tmpl[TU_PATH_MAX];              /* the small vault, made once */
	char vdir[TU_PATH_MAX];              /* its copy, for one run */
	char keep_id[COFFRE_DOCID_LEN + 1];  /* dave's: no operation touches */
	char alice_id[COFFRE_DOCID_LEN + 1]; /* pending */
	char bob_id[COFFRE_DOCID_LEN + 1];
	char arc_old[COFFRE_DOCID_LEN + 1]; /* contract ended in 2000 */
	char arc_run[COFFRE_DOCID_LEN + 1]; /* contract running */
	uint8_t *keep, *doc;                /* DOC_LEN bytes each */
	uint8_t *tar;                       /* a bundle of two documents */
	size_t tarlen;
	coffre_vault *v;
	/* The answer of a seal in the run, and its bytes. */
	char sealed_id[COFFRE_DOCID_LEN + 1];
	int sealed_rc;
};

struct mreader {
	const uint8_t *buf;
	size_t len, pos;
};

static long
mread(void *ctx, uint8_t *buf, size_t len)
{
	struct mreader *r = ctx;
	size_t n = r->len - r->pos;

	if (n > len)
		n = len;
	memcpy(buf, r->buf + r->pos, n);
	r->pos += n;
	return (long)n;
}

static int
mseek_abs(void *ctx, uint64_t off)
{
	struct mreader *r = ctx;

	if (off > r->len)
		return -1;
	r->pos = (size_t)off;
	return 0;
}

static int64_t
mseek(void *ctx, int64_t off, int whence)
{
	struct mreader *r = ctx;
	int64_t base = whence == SEEK_SET ? 0
	    : whence == SEEK_CUR          ? (int64_t)r->pos
					  : (int64_t)r->len;

	if (base + off < 0 || base + off > (int64_t)r->len)
		return -1;
	r->pos = (size_t)(base + off);
	return (int64_t)r->pos;
}

/* A sink that keeps what it is given (its own allocation is not counted:
 * __real_realloc). */
struct sink {
	uint8_t *buf;
	size_t len, cap;
};

void *__real_realloc(void *p, size_t n);

static int
sink_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct sink *s = ctx;

	if (s->len + len > s->cap) {
		size_t cap = (s->len + len) * 2;
		uint8_t *nb = __real_realloc(s->buf, cap);
		if (nb == NULL)
			return -1;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return 0;
}

static int
sink_line(void *ctx, uint64_t seq, const char *line, size_t len)
{
	(void)seq;
	return sink_write(ctx, (const uint8_t *)line, len);
}

static void
quiet(void *ctx, int problem, const char *msg)
{
	(void)ctx;
	(void)problem;
	(void)msg;
}

static void
loud(void *ctx, int problem, const char *msg)
{
	(void)ctx;
	if (problem)
		print_message("  check: %s\n", msg);
}

static int
count_doc(void *ctx, const struct coffre_doc *d)
{
	(void)d;
	++*(int *)ctx;
	return 0;
}

static int
count_arc(void *ctx, const struct coffre_archive *a)
{
	(void)a;
	++*(int *)ctx;
	return 0;
}

static int
count_entry(void *ctx, const struct coffre_import_entry *e)
{
	(void)e;
	++*(int *)ctx;
	return 0;
}

void *__real_malloc(size_t n);

/* A PDF of ${len} bytes (the test's own memory: not counted). */
static uint8_t *
pdf_make(size_t len)
{
	static const char head[] = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
	uint8_t *p = __real_malloc(len);

	assert_non_null(p);
	memcpy(p, head, sizeof(head) - 1);
	randombytes_buf(p + sizeof(head) - 1, len - (sizeof(head) - 1));
	return p;
}

static int
seal(coffre_vault *v, const char *user, const uint8_t *buf,
    char id[COFFRE_DOCID_LEN + 1])
{
	struct mreader r = {buf, DOC_LEN, 0};
	char type[COFFRE_TYPE_MAX + 1];
	uint64_t size;

	return coffre_seal(v, user, "acme", "id-card", "scan.pdf", mread, &r,
	    id, type, &size);
}

static int
archive(coffre_vault *v, const char *user, const char *contract,
    char id[COFFRE_DOCID_LEN + 1])
{
	struct mreader r = {NULL, DOC_LEN, 0};
	char type[COFFRE_TYPE_MAX + 1];
	uint8_t *p = pdf_make(DOC_LEN);
	uint64_t size;
	int rc;

	r.buf = p;
	rc = coffre_archive(v, user, contract, "contract.pdf", mread, &r, id,
	    type, &size);
	free(p);
	return rc;
}

/* A tar of two PDFs, made in memory. */
static void
tar_make(struct fx *f)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	size_t cap = 64 * 1024, used = 0;
	uint8_t *doc = pdf_make(DOC_LEN);

	f->tar = __real_malloc(cap);
	assert_non_null(a);
	assert_non_null(f->tar);
	assert_int_equal(archive_write_set_format_pax_restricted(a), 0);
	assert_int_equal(archive_write_open_memory(a, f->tar, cap, &used), 0);
	for (int i = 0; i < 2; i++) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, i == 0 ? "a.pdf" : "dir/b.pdf");
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, DOC_LEN);
		assert_int_equal(archive_write_header(a, e), 0);
		assert_int_equal(archive_write_data(a, doc, DOC_LEN), DOC_LEN);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), 0);
	archive_write_free(a);
	f->tarlen = used;
	free(doc);
}

static void
vopen(struct fx *f, const char *dir)
{
	char err[512];
	int rc = coffre_open(dir, NULL, 0, &f->v, err, sizeof(err));

	if (rc != 0)
		fail_msg("coffre_open %s: %d %s", dir, rc, err);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512], pk[64], until[11], conf[TU_PATH_MAX];
	char id[COFFRE_DOCID_LEN + 1];
	struct coffre_shred_result sr;

	if (f == NULL)
		return -1;
	tu_tmpdir(f->dir);
	tu_path(f->tmpl, f->dir, "tmpl");
	tu_path(f->vdir, f->dir, "v");
	f->keep = pdf_make(DOC_LEN);
	f->doc = pdf_make(DOC_LEN);
	tar_make(f);
	if (coffre_init(f->tmpl, NULL, pk, err, sizeof(err)) != 0)
		fail_msg("coffre_init: %s", err);
	/* Maps set at open, so that a failed mdb_env_set_mapsize is met. */
	tu_write(tu_path(conf, f->tmpl, "coffre.conf"), "map_size = 1048576\n",
	    19, O_CREAT | O_EXCL);
	vopen(f, f->tmpl);
	assert_int_equal(seal(f->v, "dave", f->keep, f->keep_id), 0);
	assert_int_equal(seal(f->v, "alice", f->doc, f->alice_id), 0);
	assert_int_equal(seal(f->v, "alice", f->doc, id), 0);
	assert_int_equal(seal(f->v, "bob", f->doc, f->bob_id), 0);
	assert_int_equal(coffre_review(f->v, id, COFFRE_APPROVED, "ok"), 0);
	assert_int_equal(archive(f->v, "carol", "k-old", f->arc_old), 0);
	assert_int_equal(archive(f->v, "carol", "k-run", f->arc_run), 0);
	assert_int_equal(coffre_contract_end(f->v, "carol", "k-old",
			     "2000-01-01", until),
	    0);
	assert_int_equal(seal(f->v, "zoe", f->doc, id), 0);
	assert_int_equal(coffre_shred_user(f->v, "zoe", &sr), 0);
	coffre_close(f->v);
	f->v = NULL;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	coffre_close(f->v);
	tu_rmrf(f->dir);
	free(f->keep);
	free(f->doc);
	free(f->tar);
	free(f);
	return 0;
}

/* ---- the operations ---- */

typedef int (*op_fn)(struct fx *f);

static int
op_open(struct fx *f)
{
	char err[512];
	int rc;

	coffre_close(f->v);
	f->v = NULL;
	rc = coffre_open(f->vdir, NULL, 0, &f->v, err, sizeof(err));
	if (rc != 0)
		assert_true(err[0] != '\0');
	return rc;
}

static int
op_seal(struct fx *f)
{
	f->sealed_rc = seal(f->v, "erin", f->doc, f->sealed_id);
	return f->sealed_rc;
}

static int
op_batch(struct fx *f)
{
	struct coffre_seal_req r[3];
	struct mreader rd[3];
	int rc;

	memset(r, 0, sizeof(r));
	for (int i = 0; i < 3; i++) {
		rd[i] = (struct mreader){f->doc, DOC_LEN, 0};
		r[i].archive = i == 2;
		r[i].user = "erin";
		r[i].group = i == 2 ? "k-new" : "acme";
		r[i].name = "n.pdf";
		r[i].rd = mread;
		r[i].rdctx = &rd[i];
		r[i].seek = mseek_abs;
	}
	rc = coffre_seal_batch(f->v, r, 3);
	f->sealed_rc = r[0].rc;
	memcpy(f->sealed_id, r[0].id, sizeof(f->sealed_id));
	return rc;
}

static int
op_open_doc(struct fx *f)
{
	struct sink s = {0};
	int rc = coffre_open_doc(f->v, f->alice_id, sink_write, &s);

	if (rc == 0) {
		assert_int_equal(s.len, DOC_LEN);
		assert_memory_equal(s.buf, f->doc, DOC_LEN);
	}
	free(s.buf);
	return rc;
}

static int
op_info_list(struct fx *f)
{
	struct coffre_filter flt = {"alice", NULL, -1};
	struct coffre_doc d;
	int n = 0, rc;

	if ((rc = coffre_info(f->v, f->alice_id, &d)) != 0)
		return rc;
	if ((rc = coffre_list(f->v, &flt, count_doc, &n)) != 0)
		return rc;
	assert_int_equal(n, 2);
	return 0;
}

static int
op_review(struct fx *f)
{
	int rc = coffre_review(f->v, f->alice_id, COFFRE_REJECTED, "blurred");

	return rc != 0
	    ? rc
	    : coffre_review(f->v, f->alice_id, COFFRE_APPROVED, NULL);
}

static int
op_shred_doc(struct fx *f)
{
	struct coffre_shred_result r;

	return coffre_shred_doc(f->v, f->bob_id, &r);
}

static int
op_shred_user(struct fx *f)
{
	struct coffre_shred_result r;

	return coffre_shred_user(f->v, "alice", &r);
}

static int
op_archive(struct fx *f)
{
	char id[COFFRE_DOCID_LEN + 1], until[11];
	int rc = archive(f->v, "frank", "k1", id);

	if (rc == 0)
		rc = coffre_contract_end(f->v, "frank", "k1", NULL, until);
	return rc;
}

static int
op_hold(struct fx *f)
{
	int rc = coffre_hold(f->v, "carol", "k-run", "a claim", 1);

	return rc != 0 ? rc : coffre_hold(f->v, "carol", "k-run", "settled", 0);
}

static int
op_archive_read(struct fx *f)
{
	struct sink s = {0};
	int n = 0,
	    rc = coffre_archive_open(f->v, f->arc_run, "audit request",
		sink_write, &s);

	free(s.buf);
	if (rc != 0)
		return rc;
	return coffre_archives(f->v, NULL, count_arc, &n);
}

static int
op_sweep(struct fx *f)
{
	struct coffre_sweep_result r;

	return coffre_sweep(f->v, &r);
}

static int
op_shred_archive(struct fx *f)
{
	struct coffre_shred_result r;

	return coffre_shred_archive(f->v, f->arc_old, &r);
}

static int
op_audit_reads(struct fx *f)
{
	struct coffre_verify_result vr;
	struct sink s = {0};
	int rc;

	if ((rc = coffre_audit_verify(f->v, &vr)) == 0 &&
	    (rc = coffre_audit_lines(f->v, NULL, 0, sink_line, &s)) == 0 &&
	    (rc = coffre_audit_lines(f->v, "carol", 1, sink_line, &s)) == 0)
		rc = coffre_shred_report(f->v, "zoe", sink_line, &s);
	free(s.buf);
	return rc;
}

static int
op_rotate(struct fx *f)
{
	char pk[64];

	return coffre_audit_rotate(f->v, pk);
}

static int
op_check(struct fx *f)
{
	struct coffre_check_result r;

	return coffre_check(f->v, 1, quiet, NULL, &r);
}

static int
op_scan(struct fx *f)
{
	struct coffre_scan_result r;

	return coffre_scan(f->v, quiet, NULL, &r);
}

static int
op_import(struct fx *f)
{
	struct mreader r = {f->tar, f->tarlen, 0};
	struct coffre_import_result res;
	int n = 0;

	return coffre_import(f->v, "gina", "acme", NULL, mread, mseek, &r,
	    count_entry, &n, &res);
}

static int
op_export(struct fx *f)
{
	struct sink s = {0};
	int rc =
	    coffre_export(f->v, "alice", COFFRE_EXPORT_ZIP, sink_write, &s);

	if (rc == 0)
		rc = coffre_export(f->v, "dave", COFFRE_EXPORT_TGZ, sink_write,
		    &s);
	free(s.buf);
	return rc;
}

/* ---- the runs ---- */

/* The vault after a run: whole, and it works. */
static void
after(struct fx *f, const char *what, long at)
{
	struct coffre_check_result cr;
	struct coffre_verify_result vr;
	char id[COFFRE_DOCID_LEN + 1];
	struct sink s = {0};
	int rc;

	coffre_close(f->v);
	f->v = NULL;
	vopen(f, f->vdir);
	if (at != 0)
		print_message("  %s: call %ld, %s, failed\n", what, at,
		    fi_name);
	(void)coffre_check(f->v, 1, quiet, NULL, &cr);
	rc = coffre_check(f->v, 0, loud, NULL, &cr);
	if (rc != 0 || cr.problems != 0)
		fail_msg("%s, call %ld failed: check %d, %llu problems", what,
		    at, rc, (unsigned long long)cr.problems);
	rc = coffre_audit_verify(f->v, &vr);
	if (rc != 0 || vr.first_bad != 0)
		fail_msg("%s, call %ld failed: audit verify %d (%s)", what, at,
		    rc, coffre_errmsg(f->v));
	rc = coffre_open_doc(f->v, f->keep_id, sink_write, &s);
	if (rc != 0 || s.len != DOC_LEN || memcmp(s.buf, f->keep, DOC_LEN))
		fail_msg("%s, call %ld failed: dave's document %d (%s)", what,
		    at, rc, coffre_errmsg(f->v));
	if (f->sealed_rc == 0 && f->sealed_id[0] != '\0') {
		s.len = 0;
		rc = coffre_open_doc(f->v, f->sealed_id, sink_write, &s);
		if (rc != 0 || s.len != DOC_LEN ||
		    memcmp(s.buf, f->doc, DOC_LEN))
			fail_msg("%s, call %ld failed: the acknowledged seal "
				 "does not open: %d (%s)",
			    what, at, rc, coffre_errmsg(f->v));
	}
	free(s.buf);
	if ((rc = seal(f->v, "henri", f->doc, id)) != 0)
		fail_msg("%s, call %ld failed: the next seal: %d (%s)", what,
		    at, rc, coffre_errmsg(f->v));
	coffre_close(f->v);
	f->v = NULL;
}

static void
copy_vault(struct fx *f)
{
	char cmd[3 * TU_PATH_MAX];

	tu_rmrf(f->vdir);
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", f->tmpl, f->vdir);
	assert_int_equal(system(cmd), 0);
}

static long
stride(void)
{
	const char *s = getenv("COFFRE_FAIL_STRIDE");
	long n = s != NULL ? atol(s) : 1;

	return n > 0 ? n : 1;
}

/*
 * Run ${op} with its call number 1, 1 + stride, ... failed, until a run
 * fails none; check the vault after each.
 */
static void
sweep_failures(struct fx *f, const char *what, op_fn op, int seed)
{
	long step = stride(), at = 1 + seed % step, runs = 0, failed = 0;

	for (;; at += step) {
		int rc;
		copy_vault(f);
		vopen(f, f->vdir);
		f->sealed_rc = -1;
		f->sealed_id[0] = '\0';
		fi_arm(at);
		rc = op(f);
		fi_disarm();
		runs++;
		if (!atomic_load(&fi_hit)) {
			/* Past the last call: the operation ran whole. */
			if (rc != 0)
				fail_msg("%s with no failure: %d (%s)", what,
				    rc, f->v ? coffre_errmsg(f->v) : "");
			after(f, what, 0);
			break;
		}
		failed += rc != 0;
		if (rc == 0 && getenv("COFFRE_FAIL_VERBOSE") != NULL)
			print_message("  %s: call %ld (%s) failed, answer 0\n",
			    what, at, fi_name);
		if (rc != 0 && f->v != NULL && coffre_errmsg(f->v)[0] == '\0')
			fail_msg("%s, call %ld (%s) failed: code %d and no "
				 "message",
			    what, at, fi_name, rc);
		after(f, what, at);
	}
	print_message("  %s: %ld runs, %ld calls, %ld answered a failure\n",
	    what, runs, atomic_load(&fi_calls), failed);
}

#define OP(name)                                                               \
	static void test_##name(void **state)                                  \
	{                                                                      \
		sweep_failures(*state, #name, op_##name, __LINE__);            \
	}

OP(open)
OP(seal)
OP(batch)
OP(open_doc)
OP(info_list)
OP(review)
OP(shred_doc)
OP(shred_user)
OP(archive)
OP(hold)
OP(archive_read)
OP(sweep)
OP(shred_archive)
OP(audit_reads)
OP(rotate)
OP(check)
OP(scan)
OP(import)
OP(export)

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(test_##fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(open),
	    T(seal),
	    T(batch),
	    T(open_doc),
	    T(info_list),
	    T(review),
	    T(shred_doc),
	    T(shred_user),
	    T(archive),
	    T(hold),
	    T(archive_read),
	    T(sweep),
	    T(shred_archive),
	    T(audit_reads),
	    T(rotate),
	    T(check),
	    T(scan),
	    T(import),
	    T(export),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("failures", tests, NULL, NULL);
}
