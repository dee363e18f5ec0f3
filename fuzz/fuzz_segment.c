/*
 * fuzz_segment.c: libFuzzer harness for the segment record reader
 * (vault/segment.c): the input is written as a segment file, and the
 * record at offset 32 is opened and read chunk by chunk, with the length
 * its trailer would give.  Any bytes: a clean refusal, never a crash, an
 * over-read or a chunk past the record.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys/bytes.h"
#include "vault/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void
cleanup(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/segments/00000001.seg", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/segments", dir);
	rmdir(path);
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct segstore *s;
	static uint8_t buf[SEGMENT_CHUNK_MAX];
	char path[128], err[256];
	uint8_t sshdr[SEGMENT_SSHDR_BYTES], docid[16];
	struct segreader *r;
	struct segloc loc;
	uint64_t plain, keyid;
	size_t len, total = 0;
	int fd, rc;

	if (s == NULL) {
		snprintf(dir, sizeof(dir), "/tmp/coffre-fuzz-seg-XXXXXX");
		if (mkdtemp(dir) == NULL ||
		    segment_store_open(dir, 1, &s, err, sizeof(err)) != 0)
			abort();
		atexit(cleanup);
	}
	if (size < 32 + SEGMENT_REC_HDR)
		return 0;
	snprintf(path, sizeof(path), "%s/segments/00000001.seg", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	/* Name the record as its own header does, so the checks go deep. */
	memcpy(docid, data + 32 + 8, 16);
	keyid = bytes_load64(data + 32 + 24);
	loc.segno = 1;
	loc.offset = 32;
	loc.length = size - 32;
	if (segment_read_open(s, &loc, docid, keyid, sshdr, &plain, &r, err,
		sizeof(err)) != 0)
		return 0;
	while ((rc = segment_read_chunk(r, buf, sizeof(buf), &len)) == 1) {
		if (len > SEGMENT_CHUNK_MAX)
			abort();
		total += len + 4;
		if (total > loc.length)
			abort();
	}
	segment_read_close(r);
	return 0;
}
