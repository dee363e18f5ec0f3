/*
 * test_segment.c: vault/segment.c, append-only segment files.  Records
 * written and read back byte for byte, their offsets, the torn-tail cut,
 * abort, and the must-fail cases: a truncated file, a changed header or
 * trailer byte, a record asked for under another document or key id, a
 * chunk length that runs past the trailer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "keys/bytes.h"
#include "vault/segment.h"

#include "testutil.h"

#define FILE_HDR 32

struct fx {
	char dir[TU_PATH_MAX];
	char seg1[TU_PATH_MAX];
	struct segstore *s;
	uint64_t end; /* what the committed() callback answers */
	int calls;
	int fail;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512];

	if (f == NULL)
		return -1;
	tu_tmpdir(f->dir);
	tu_path(f->seg1, f->dir, "segments/00000001.seg");
	if (segment_store_open(f->dir, 1, &f->s, err, sizeof(err)) != 0)
		fail_msg("segment_store_open: %s", err);
	f->end = FILE_HDR;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	segment_store_close(f->s);
	tu_rmrf(f->dir);
	free(f);
	return 0;
}

static int
committed(void *ctx, uint32_t segno, uint64_t *end)
{
	struct fx *f = ctx;

	f->calls++;
	if (f->fail)
		return -1;
	*end = segno == 1 ? f->end : FILE_HDR;
	return 0;
}

static void
reopen_store(struct fx *f)
{
	char err[512];

	segment_store_close(f->s);
	f->s = NULL;
	if (segment_store_open(f->dir, 0, &f->s, err, sizeof(err)) != 0)
		fail_msg("segment_store_open: %s", err);
}

/* A record of ${n} chunks, chunk i of length lens[i] filled from ${seed}. */
struct rec {
	uint8_t docid[16];
	uint64_t keyid;
	uint8_t sshdr[SEGMENT_SSHDR_BYTES];
	size_t n;
	size_t lens[128];
	uint8_t *data[128];
	uint64_t size;
	struct segloc loc;
};

static void
rec_make(struct rec *r, size_t n, const size_t *lens)
{
	memset(r, 0, sizeof(*r));
	randombytes_buf(r->docid, sizeof(r->docid));
	randombytes_buf(&r->keyid, sizeof(r->keyid));
	randombytes_buf(r->sshdr, sizeof(r->sshdr));
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		r->lens[i] = lens[i];
		r->data[i] = malloc(lens[i] + 1);
		assert_non_null(r->data[i]);
		randombytes_buf(r->data[i], lens[i]);
		r->size += lens[i];
	}
}

static void
rec_free(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->data[i]);
}

static uint64_t
rec_length(const struct rec *r)
{
	uint64_t len = SEGMENT_REC_HDR + SEGMENT_REC_TRAILER;

	for (size_t i = 0; i < r->n; i++)
		len += 4 + r->lens[i];
	return len;
}

static int
rec_append(struct fx *f, struct rec *r)
{
	struct segwriter *w = NULL;
	char err[512];

	if (segment_append_begin(f->s, committed, f, r->docid, r->keyid,
		r->sshdr, &w, err, sizeof(err)) != 0)
		return -1;
	for (size_t i = 0; i < r->n; i++)
		assert_int_equal(segment_append_chunk(w, r->data[i],
				     r->lens[i]),
		    0);
	if (segment_append_finish(w, r->size, &r->loc, 1, err, sizeof(err)) !=
	    0)
		fail_msg("segment_append_finish: %s", err);
	f->end = r->loc.offset + r->loc.length;
	return 0;
}

/* Read ${r} back and compare every chunk; 0, or -1 where it failed. */
static int
rec_check(struct fx *f, const struct rec *r)
{
	struct segreader *rd = NULL;
	uint8_t sshdr[SEGMENT_SSHDR_BYTES], *buf;
	uint64_t size = 0;
	size_t len, i;
	char err[512];
	int rc;

	if (segment_read_open(f->s, &r->loc, r->docid, r->keyid, sshdr, &size,
		&rd, err, sizeof(err)) != 0)
		return -1;
	assert_memory_equal(sshdr, r->sshdr, sizeof(sshdr));
	assert_int_equal(size, r->size);
	buf = malloc(SEGMENT_CHUNK_MAX);
	assert_non_null(buf);
	for (i = 0; i < r->n; i++) {
		rc = segment_read_chunk(rd, buf, SEGMENT_CHUNK_MAX, &len);
		if (rc != 1)
			goto bad;
		assert_int_equal(len, r->lens[i]);
		assert_memory_equal(buf, r->data[i], len);
	}
	/* Exactly at the end, and it stays there. */
	assert_int_equal(segment_read_chunk(rd, buf, SEGMENT_CHUNK_MAX, &len),
	    0);
	assert_int_equal(segment_read_chunk(rd, buf, SEGMENT_CHUNK_MAX, &len),
	    0);
	free(buf);
	segment_read_close(rd);
	return 0;
bad:
	free(buf);
	segment_read_close(rd);
	return -1;
}

static void
test_append_and_read(void **state)
{
	struct fx *f = *state;
	struct rec a, b, c;
	size_t la[] = {1, 65536 + 17, 300, 0};
	size_t lb[] = {17};
	size_t lc[] = {SEGMENT_CHUNK_MAX, 5};
	uint8_t *file;
	size_t len;

	rec_make(&a, 4, la);
	rec_make(&b, 1, lb);
	rec_make(&c, 2, lc);
	assert_int_equal(rec_append(f, &a), 0);
	assert_int_equal(rec_append(f, &b), 0);
	assert_int_equal(rec_append(f, &c), 0);
	/* Right after the file header, then end to end. */
	assert_int_equal(a.loc.segno, 1);
	assert_int_equal(a.loc.offset, FILE_HDR);
	assert_int_equal(a.loc.length, rec_length(&a));
	assert_int_equal(b.loc.offset, a.loc.offset + a.loc.length);
	assert_int_equal(b.loc.length, rec_length(&b));
	assert_int_equal(c.loc.offset, b.loc.offset + b.loc.length);
	assert_int_equal(tu_size(f->seg1), c.loc.offset + c.loc.length);
	assert_int_equal(rec_check(f, &a), 0);
	assert_int_equal(rec_check(f, &b), 0);
	assert_int_equal(rec_check(f, &c), 0);
	/* The bytes on disk: file header, record header and trailer. */
	file = tu_read(f->seg1, &len);
	assert_memory_equal(file, "CFSG", 4);
	assert_int_equal(file[4], 1);
	assert_int_equal(bytes_load32(file + 8), 1);
	assert_memory_equal(file + a.loc.offset, "CFRC", 4);
	assert_memory_equal(file + a.loc.offset + 8, a.docid, 16);
	assert_int_equal(bytes_load64(file + a.loc.offset + 24), a.keyid);
	assert_memory_equal(file + a.loc.offset + 32, a.sshdr, 24);
	assert_int_equal(bytes_load32(file + a.loc.offset + 56), 1);
	assert_int_equal(file[a.loc.offset + 60], a.data[0][0]);
	{
		const uint8_t *tr =
		    file + b.loc.offset + b.loc.length - SEGMENT_REC_TRAILER;
		assert_memory_equal(tr, "CFRE", 4);
		assert_int_equal(bytes_load64(tr + 8),
		    b.loc.length - SEGMENT_REC_TRAILER);
		assert_int_equal(bytes_load64(tr + 16), b.size);
	}
	free(file);
	/* Read back after a reopen, too. */
	reopen_store(f);
	assert_int_equal(rec_check(f, &b), 0);
	assert_int_equal(rec_check(f, &a), 0);
	rec_free(&a);
	rec_free(&b);
	rec_free(&c);
}

/* Several MiB through the writer's buffer ring (1 MiB buffers, 4). */
static void
test_large_record(void **state)
{
	struct fx *f = *state;
	struct rec r, after;
	size_t lens[100], one[] = {3};
	size_t i;

	for (i = 0; i < 100; i++)
		lens[i] = 65536 + 17 - (i % 7) * 1000;
	rec_make(&r, 100, lens);
	rec_make(&after, 1, one);
	assert_int_equal(rec_append(f, &r), 0);
	assert_int_equal(rec_append(f, &after), 0);
	assert_int_equal(r.loc.length, rec_length(&r));
	assert_int_equal(after.loc.offset, r.loc.offset + r.loc.length);
	assert_int_equal(rec_check(f, &r), 0);
	assert_int_equal(rec_check(f, &after), 0);
	rec_free(&r);
	rec_free(&after);
}

static void
test_chunk_too_large(void **state)
{
	struct fx *f = *state;
	struct segwriter *w = NULL;
	uint8_t id[16] = {1}, ss[24] = {2}, *big;
	char err[512];

	big = calloc(1, SEGMENT_CHUNK_MAX + 1);
	assert_non_null(big);
	assert_int_equal(segment_append_begin(f->s, committed, f, id, 1, ss, &w,
			     err, sizeof(err)),
	    0);
	assert_int_equal(segment_append_chunk(w, big, SEGMENT_CHUNK_MAX + 1),
	    -1);
	segment_append_abort(w);
	assert_int_equal(tu_size(f->seg1), FILE_HDR);
	free(big);
}

static void
test_abort(void **state)
{
	struct fx *f = *state;
	struct segwriter *w = NULL;
	struct rec a, b;
	size_t la[] = {100}, lb[] = {200, 300};
	uint8_t junk[4096];
	char err[512];
	long long before;
	int i;

	rec_make(&a, 1, la);
	rec_make(&b, 2, lb);
	assert_int_equal(rec_append(f, &a), 0);
	before = tu_size(f->seg1);
	/* A partial record of several MiB, then abort: cut off. */
	assert_int_equal(segment_append_begin(f->s, committed, f, b.docid,
			     b.keyid, b.sshdr, &w, err, sizeof(err)),
	    0);
	memset(junk, 0xaa, sizeof(junk));
	for (i = 0; i < 1500; i++)
		assert_int_equal(segment_append_chunk(w, junk, sizeof(junk)),
		    0);
	segment_append_abort(w);
	segment_append_abort(NULL);
	assert_int_equal(tu_size(f->seg1), before);
	/* The next record takes its place. */
	assert_int_equal(rec_append(f, &b), 0);
	assert_int_equal(b.loc.offset, (uint64_t)before);
	assert_int_equal(rec_check(f, &a), 0);
	assert_int_equal(rec_check(f, &b), 0);
	rec_free(&a);
	rec_free(&b);
}

/*
 * A crash after the bytes were written but before the index committed
 * them leaves a torn tail past the committed end.  Nothing refers to it;
 * since 13b9881 it is left as it is (cutting could lose data if the index
 * were older than the segment) and the next record starts after it.
 */
static void
test_torn_tail(void **state)
{
	struct fx *f = *state;
	struct rec a, b, c;
	size_t la[] = {1000}, lb[] = {2000}, lc[] = {10};
	uint8_t garbage[777];
	uint64_t end_a;
	long long torn_end;

	rec_make(&a, 1, la);
	rec_make(&b, 1, lb);
	rec_make(&c, 1, lc);
	assert_int_equal(rec_append(f, &a), 0);
	end_a = f->end;
	/* b is written but its index commit "never happened". */
	assert_int_equal(rec_append(f, &b), 0);
	f->end = end_a;
	reopen_store(f);
	memset(garbage, 0x5c, sizeof(garbage));
	tu_write(f->seg1, garbage, sizeof(garbage), O_APPEND);
	torn_end = tu_size(f->seg1);
	assert_int_equal(torn_end,
	    (long long)(b.loc.offset + b.loc.length + sizeof(garbage)));
	f->calls = 0;
	assert_int_equal(rec_append(f, &c), 0);
	assert_true(f->calls >= 1); /* the committed end was asked for */
	/* Not cut: c starts after the torn bytes, which are untouched. */
	assert_int_equal(c.loc.offset, (uint64_t)torn_end);
	assert_int_equal(tu_size(f->seg1),
	    (long long)(c.loc.offset + c.loc.length));
	assert_int_equal(tu_peek(f->seg1, torn_end - 1), 0x5c);
	assert_int_equal(rec_check(f, &a), 0);
	assert_int_equal(rec_check(f, &b), 0);
	assert_int_equal(rec_check(f, &c), 0);
	rec_free(&a);
	rec_free(&b);
	rec_free(&c);
}

/* Must fail: a segment shorter than its committed end is not appended to. */
static void
test_truncated_segment_refused(void **state)
{
	struct fx *f = *state;
	struct rec a, b;
	size_t la[] = {1000}, lb[] = {10};
	struct segwriter *w = NULL;
	char err[512];
	long long size;

	rec_make(&a, 1, la);
	rec_make(&b, 1, lb);
	assert_int_equal(rec_append(f, &a), 0);
	reopen_store(f);
	size = tu_size(f->seg1);
	assert_int_equal(truncate(f->seg1, size - 10), 0);
	err[0] = '\0';
	assert_int_equal(segment_append_begin(f->s, committed, f, b.docid,
			     b.keyid, b.sshdr, &w, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "truncated"));
	/* Nothing was cut or extended. */
	assert_int_equal(tu_size(f->seg1), size - 10);
	/* The record itself is missing its end: refused on read. */
	assert_int_equal(rec_check(f, &a), -1);
	/* An index that cannot say where the end is: refused too. */
	assert_int_equal(truncate(f->seg1, size), 0);
	f->fail = 1;
	assert_int_equal(segment_append_begin(f->s, committed, f, b.docid,
			     b.keyid, b.sshdr, &w, err, sizeof(err)),
	    -1);
	f->fail = 0;
	/* A damaged file header: refused. */
	tu_flip(f->seg1, 1, 0x01);
	assert_int_equal(segment_append_begin(f->s, committed, f, b.docid,
			     b.keyid, b.sshdr, &w, err, sizeof(err)),
	    -1);
	tu_flip(f->seg1, 1, 0x01);
	assert_int_equal(rec_append(f, &b), 0);
	assert_int_equal(rec_check(f, &b), 0);
	rec_free(&a);
	rec_free(&b);
}

/* Must fail: every byte of a record's header and trailer. */
static void
test_flipped_header_trailer(void **state)
{
	struct fx *f = *state;
	struct rec a;
	size_t la[] = {50, 60};
	uint64_t tr;
	int i;

	rec_make(&a, 2, la);
	assert_int_equal(rec_append(f, &a), 0);
	for (i = 0; i < SEGMENT_REC_HDR; i++) {
		tu_flip(f->seg1, (long long)a.loc.offset + i, 0x20);
		if (rec_check(f, &a) != -1)
			fail_msg("header byte %d changed, record opens", i);
		tu_flip(f->seg1, (long long)a.loc.offset + i, 0x20);
	}
	tr = a.loc.offset + a.loc.length - SEGMENT_REC_TRAILER;
	for (i = 0; i < SEGMENT_REC_TRAILER; i++) {
		tu_flip(f->seg1, (long long)tr + i, 0x02);
		if (rec_check(f, &a) != -1)
			fail_msg("trailer byte %d changed, record opens", i);
		tu_flip(f->seg1, (long long)tr + i, 0x02);
	}
	assert_int_equal(rec_check(f, &a), 0);
	rec_free(&a);
}

/* Must fail: the record asked for under another id, key id or place. */
static void
test_wrong_ids_and_places(void **state)
{
	struct fx *f = *state;
	struct rec a, b, probe;
	size_t la[] = {50}, lb[] = {70};

	rec_make(&a, 1, la);
	rec_make(&b, 1, lb);
	assert_int_equal(rec_append(f, &a), 0);
	assert_int_equal(rec_append(f, &b), 0);
	probe = a;
	probe.docid[15] ^= 1;
	assert_int_equal(rec_check(f, &probe), -1);
	probe = a;
	probe.keyid ^= 1ULL << 40;
	assert_int_equal(rec_check(f, &probe), -1);
	/* b's id at a's place, a's id at b's place. */
	probe = a;
	memcpy(probe.docid, b.docid, 16);
	probe.keyid = b.keyid;
	assert_int_equal(rec_check(f, &probe), -1);
	/* A wrong length, offset, segment, or a place past the end. */
	probe = a;
	probe.loc.length -= 1;
	assert_int_equal(rec_check(f, &probe), -1);
	probe = a;
	probe.loc.length += 4;
	assert_int_equal(rec_check(f, &probe), -1);
	probe = a;
	probe.loc.offset += 1;
	assert_int_equal(rec_check(f, &probe), -1);
	probe = a;
	probe.loc.segno = 2;
	assert_int_equal(rec_check(f, &probe), -1);
	probe = b;
	probe.loc.offset = UINT64_MAX - 10;
	assert_int_equal(rec_check(f, &probe), -1);
	probe = a;
	probe.loc.length = SEGMENT_REC_HDR + SEGMENT_REC_TRAILER - 1;
	assert_int_equal(rec_check(f, &probe), -1);
	/* The real ones still open. */
	assert_int_equal(rec_check(f, &a), 0);
	assert_int_equal(rec_check(f, &b), 0);
	rec_free(&a);
	rec_free(&b);
}

/* Must fail: a chunk length that runs past the trailer or the buffer. */
static void
test_bad_chunk_length(void **state)
{
	struct fx *f = *state;
	struct rec a;
	size_t la[] = {100, 200};
	struct segreader *rd = NULL;
	uint8_t ss[24], buf[1024];
	uint64_t size, lenat;
	size_t len;
	char err[512];
	int fd;
	uint8_t lb[4];

	rec_make(&a, 2, la);
	assert_int_equal(rec_append(f, &a), 0);
	lenat = a.loc.offset + SEGMENT_REC_HDR;
	fd = open(f->seg1, O_RDWR);
	assert_true(fd >= 0);
	/* First chunk: 100 + 4 + 200 + 1 bytes, one past the trailer. */
	bytes_store32(lb, 100 + 4 + 200 + 1);
	assert_int_equal(pwrite(fd, lb, 4, (off_t)lenat), 4);
	/* Header and trailer are intact: open works, the chunk fails. */
	assert_int_equal(segment_read_open(f->s, &a.loc, a.docid, a.keyid, ss,
			     &size, &rd, err, sizeof(err)),
	    0);
	assert_int_equal(segment_read_chunk(rd, buf, sizeof(buf), &len), -1);
	segment_read_close(rd);
	/* Huge length. */
	bytes_store32(lb, 0xffffffffu);
	assert_int_equal(pwrite(fd, lb, 4, (off_t)lenat), 4);
	assert_int_equal(segment_read_open(f->s, &a.loc, a.docid, a.keyid, ss,
			     &size, &rd, err, sizeof(err)),
	    0);
	assert_int_equal(segment_read_chunk(rd, buf, sizeof(buf), &len), -1);
	segment_read_close(rd);
	/* Shorter: the second chunk's length then lands in the wrong place. */
	bytes_store32(lb, 99);
	assert_int_equal(pwrite(fd, lb, 4, (off_t)lenat), 4);
	assert_int_equal(segment_read_open(f->s, &a.loc, a.docid, a.keyid, ss,
			     &size, &rd, err, sizeof(err)),
	    0);
	assert_int_equal(segment_read_chunk(rd, buf, sizeof(buf), &len), 1);
	assert_int_equal(len, 99);
	assert_int_equal(segment_read_chunk(rd, buf, sizeof(buf), &len), -1);
	segment_read_close(rd);
	/* Restored; then a buffer too small for the chunk is refused. */
	bytes_store32(lb, 100);
	assert_int_equal(pwrite(fd, lb, 4, (off_t)lenat), 4);
	close(fd);
	assert_int_equal(segment_read_open(f->s, &a.loc, a.docid, a.keyid, ss,
			     &size, &rd, err, sizeof(err)),
	    0);
	assert_int_equal(segment_read_chunk(rd, buf, 99, &len), -1);
	segment_read_close(rd);
	segment_read_close(NULL);
	assert_int_equal(rec_check(f, &a), 0);
	rec_free(&a);
}

/* Must fail: the second segment's header claims to be the first. */
static void
test_foreign_file_header(void **state)
{
	struct fx *f = *state;
	struct rec a;
	size_t la[] = {10};
	struct segwriter *w = NULL;
	char err[512], p2[TU_PATH_MAX];
	uint8_t *file;
	size_t len;

	rec_make(&a, 1, la);
	assert_int_equal(rec_append(f, &a), 0);
	file = tu_read(f->seg1, &len);
	tu_path(p2, f->dir, "segments/00000002.seg");
	tu_write(p2, file, FILE_HDR, O_CREAT | O_EXCL);
	reopen_store(f);
	assert_int_equal(segment_append_begin(f->s, committed, f, a.docid,
			     a.keyid, a.sshdr, &w, err, sizeof(err)),
	    -1);
	free(file);
	rec_free(&a);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_append_and_read),
	    T(test_large_record),
	    T(test_chunk_too_large),
	    T(test_abort),
	    T(test_torn_tail),
	    T(test_truncated_segment_refused),
	    T(test_flipped_header_trailer),
	    T(test_wrong_ids_and_places),
	    T(test_bad_chunk_length),
	    T(test_foreign_file_header),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("segment", tests, NULL, NULL);
}
