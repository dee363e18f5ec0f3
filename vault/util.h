/*
 * util.h: small helpers of the vault: identifier checks, the document id
 * encoding, dates, and durable file-system operations.
 */
#ifndef COFFRE_UTIL_H
#define COFFRE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UTIL_DOCID_RAW 16

/* util_docid_encode(raw, out): base64url, no padding, 22 chars + NUL. */
void util_docid_encode(const uint8_t raw[UTIL_DOCID_RAW], char out[23]);

/* util_docid_decode(s, raw): 0, or -1 if ${s} is not a document id. */
int util_docid_decode(const char *s, uint8_t raw[UTIL_DOCID_RAW]);

/* util_iso8601(t, buf): UTC "YYYY-MM-DDTHH:MM:SSZ" into ${buf} (21 bytes). */
void util_iso8601(int64_t t, char buf[21]);

/*
 * Days since 1970-01-01 (UTC), for dates of contracts and retention.
 * util_day_parse(s, day): strict "YYYY-MM-DD" (a real calendar date,
 * 1970-2999); 0 or -1.  util_day_format(day, buf): "YYYY-MM-DD".
 * util_day_add_years(day, years): the same month and day ${years} later
 * (29 February becomes 1 March in a common year).
 */
int util_day_parse(const char *s, int32_t *day);
void util_day_format(int32_t day, char buf[11]);
int32_t util_day_add_years(int32_t day, unsigned years);

/*
 * util_valid_utf8(s): 1 if the NUL-terminated ${s} is well-formed UTF-8
 * (no overlong forms, no surrogates, nothing above U+10FFFF), else 0.
 */
int util_valid_utf8(const char *s);

/* util_write_all(fd, buf, len): write everything; 0 or -1 (errno). */
int util_write_all(int fd, const void *buf, size_t len);

/* util_pread_all(fd, buf, len, off): 0, or -1 (errno; EIO at EOF). */
int util_pread_all(int fd, void *buf, size_t len, off_t off);

/* util_fsync_dir(path): fsync the folder ${path}.  0 or -1 (errno). */
int util_fsync_dir(const char *path);

/* util_mkdir(path): mkdir 0700 (EEXIST is fine if it is a folder). */
int util_mkdir(const char *path);

#endif /* !COFFRE_UTIL_H */
