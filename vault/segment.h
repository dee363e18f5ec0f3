/*
 * segment.h: append-only segment files, DIR/segments/NNNNNNNN.seg.  A
 * segment holds sealed records, one per document, each self-describing: a
 * header (document id, key id, secretstream header), length-prefixed
 * ciphertext chunks, and a trailer (lengths and a checksum of header and
 * trailer).  docs/FORMAT.md gives every byte.  This module frames and
 * checks records; it never sees a key or a plaintext byte.
 */
#ifndef COFFRE_SEGMENT_H
#define COFFRE_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#define SEGMENT_SSHDR_BYTES 24
#define SEGMENT_REC_HDR 56
#define SEGMENT_REC_TRAILER 40
#define SEGMENT_CHUNK_MAX (1024 * 1024 + 17)

struct segstore;
struct segwriter;
struct segreader;

struct segloc {
	uint32_t segno;
	uint64_t offset;
	uint64_t length;
};

/*
 * segment_store_open(dir, create, out, err, errlen): the segments under
 * ${dir}/segments (created 0700 when ${create}).  Returns 0 or -1.
 */
int segment_store_open(const char *dir, int create, struct segstore **out,
    char *err, size_t errlen);

/* segment_store_close(s): NULL is a no-op. */
void segment_store_close(struct segstore *s);

/*
 * segment_append_begin(s, committed, docid, keyid, sshdr, out, err, errlen):
 * Start a record at the end of the active segment.  ${committed(segno)}
 * gives the committed end of a segment (from the index): a segment shorter
 * than that is refused as truncated; bytes past it are an unacknowledged
 * torn tail, left in place (nothing refers to them) with the new record
 * after them.  Only one writer at a time (the vault's writer lock).
 * Returns 0 or -1.
 */
int segment_append_begin(struct segstore *s,
    int (*committed)(void *ctx, uint32_t segno, uint64_t *end), void *ctx,
    const uint8_t docid[16], uint64_t keyid,
    const uint8_t sshdr[SEGMENT_SSHDR_BYTES], struct segwriter **out, char *err,
    size_t errlen);

/* segment_append_chunk(w, ct, len): append one ciphertext chunk. 0 / -1. */
int segment_append_chunk(struct segwriter *w, const uint8_t *ct, size_t len);

/*
 * segment_append_finish(w, size, loc, sync, err, errlen): write the
 * trailer and, with ${sync}, fdatasync.  Without, the record is durable only
 * after segment_sync() (a group of records shares one sync).  On success
 * the record's place is in *loc.  ${w} is freed either way.  Returns 0 or
 * -1 (the partial record is cut off again).
 */
int segment_append_finish(struct segwriter *w, uint64_t size,
    struct segloc *loc, int sync, char *err, size_t errlen);

/*
 * segment_sync(s, err, errlen): make every record appended without sync
 * durable (a segment rolled in between was synced when it was left).
 * 0 or -1.
 */
int segment_sync(struct segstore *s, char *err, size_t errlen);

/* segment_append_abort(w): cut off the partial record and free ${w}. */
void segment_append_abort(struct segwriter *w);

/*
 * segment_read_open(s, loc, docid, keyid, sshdr, size, out, err, errlen):
 * Open the record at ${loc}, check that its header and trailer are intact
 * and name ${docid} and ${keyid}; copy out the secretstream header and the
 * plaintext size the trailer declares.  Returns 0 or -1 (corruption).
 */
int segment_read_open(struct segstore *s, const struct segloc *loc,
    const uint8_t docid[16], uint64_t keyid, uint8_t sshdr[SEGMENT_SSHDR_BYTES],
    uint64_t *size, struct segreader **out, char *err, size_t errlen);

/*
 * segment_read_chunk(r, buf, cap, len): the next chunk into ${buf}.
 * Returns 1 with *len set, 0 at the exact end of the record's chunks, -1 on
 * corruption (a chunk running past the trailer, a bad length).
 */
int segment_read_chunk(struct segreader *r, uint8_t *buf, size_t cap,
    size_t *len);

/* segment_read_close(r): NULL is a no-op. */
void segment_read_close(struct segreader *r);

#endif /* !COFFRE_SEGMENT_H */
