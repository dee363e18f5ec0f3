/*
 * raw_stream: the floor that coffre's sealing and opening are measured
 * against in bench/run.sh.  It does what coffre's body encryption does and
 * nothing else: crypto_secretstream_xchacha20poly1305 over 64 KiB chunks,
 * read from one file and written to another, in one process; no index, no
 * key tree, no audit log, no type detection.
 *
 *   raw_stream seal [-w] IN OUT   encrypt IN into OUT, then fdatasync OUT
 *   raw_stream open IN OUT|-      decrypt IN into OUT (or stdout); no sync
 *
 * seal -w also starts the write-back of every 8 MiB written as it goes
 * (sync_file_range(SYNC_FILE_RANGE_WRITE)), so that encryption and the disk
 * overlap: it shows what that overlap is worth on this machine.
 *
 * OUT may be /dev/null (or anything that is not a regular file): then
 * nothing is synced, and seal measures the cipher alone.
 *
 * WARNING: the key is a constant derived from a fixed string, so that open
 * can read what seal wrote without a key file.  This is a benchmark tool;
 * it protects nothing.
 *
 * Output format: the 24-byte secretstream header, then for each chunk of
 * up to 64 KiB of plaintext its ciphertext (+17 bytes); the last chunk has
 * the FINAL tag (an empty one if the input is a multiple of 64 KiB), so a
 * truncated stream is refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define CHUNK 65536 /* 64 KiB */
#define CCHUNK (CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES)
#define WB_STEP 8388608 /* 8 MiB */

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: raw_stream seal [-w] IN OUT\n"
	    "       raw_stream open IN OUT|-\n");
	exit(2);
}

/* Read up to len bytes; fewer only at the end of the file.  -1 on error. */
static ssize_t
readall(int fd, unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	return ((ssize_t)off);
}

static int
writeall(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

static void
bench_key(unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES])
{
	static const char seed[] = "coffre bench raw_stream: not a secret";

	crypto_generichash(key, crypto_secretstream_xchacha20poly1305_KEYBYTES,
	    (const unsigned char *)seed, sizeof(seed) - 1, NULL, 0);
}

static int
do_seal(int in, int out, int regular, int writeback)
{
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	unsigned char hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	static unsigned char pt[CHUNK], ct[CCHUNK];
	off_t written = 0, started = 0;
	ssize_t n;
	int rc = -1;

	bench_key(key);
	crypto_secretstream_xchacha20poly1305_init_push(&st, hdr, key);
	if (writeall(out, hdr, sizeof(hdr)) == -1)
		goto err;
	written += (off_t)sizeof(hdr);
	do {
		unsigned char tag;
		unsigned long long clen;

		if ((n = readall(in, pt, CHUNK)) == -1)
			goto err;
		tag = (n < CHUNK)
		    ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
		    : 0;
		crypto_secretstream_xchacha20poly1305_push(&st, ct, &clen, pt,
		    (unsigned long long)n, NULL, 0, tag);
		if (writeall(out, ct, (size_t)clen) == -1)
			goto err;
		written += (off_t)clen;
		if (writeback && regular && written - started >= WB_STEP) {
			/* Start the write-back of what is complete; don't wait. */
			if (sync_file_range(out, started, written - started,
				SYNC_FILE_RANGE_WRITE) == -1)
				goto err;
			started = written;
		}
	} while (n == CHUNK);
	if (regular && fdatasync(out) == -1)
		goto err;
	rc = 0;
err:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(&st, sizeof(st));
	return (rc);
}

static int
do_open(int in, int out)
{
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	unsigned char hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	static unsigned char pt[CHUNK], ct[CCHUNK];
	unsigned char tag = 0;
	ssize_t n;
	int rc = -1;

	bench_key(key);
	if (readall(in, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr)) {
		fprintf(stderr, "raw_stream: short header\n");
		errno = 0;
		goto err;
	}
	if (crypto_secretstream_xchacha20poly1305_init_pull(&st, hdr, key) !=
	    0) {
		fprintf(stderr, "raw_stream: bad header\n");
		errno = 0;
		goto err;
	}
	while (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
		unsigned long long plen;

		if ((n = readall(in, ct, CCHUNK)) == -1)
			goto err;
		if (crypto_secretstream_xchacha20poly1305_pull(&st, pt, &plen,
			&tag, ct, (unsigned long long)n, NULL, 0) != 0) {
			fprintf(stderr, "raw_stream: corrupt or truncated\n");
			errno = 0;
			goto err;
		}
		if (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL &&
		    n < CCHUNK) {
			fprintf(stderr, "raw_stream: truncated\n");
			errno = 0;
			goto err;
		}
		if (writeall(out, pt, (size_t)plen) == -1)
			goto err;
	}
	if (readall(in, ct, 1) != 0) {
		fprintf(stderr, "raw_stream: data after the final chunk\n");
		errno = 0;
		goto err;
	}
	rc = 0;
err:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(&st, sizeof(st));
	return (rc);
}

int
main(int argc, char *argv[])
{
	struct stat sb;
	int seal, writeback = 0, in, out, rc;

	if (argc < 4)
		usage();
	if (strcmp(argv[1], "seal") == 0)
		seal = 1;
	else if (strcmp(argv[1], "open") == 0)
		seal = 0;
	else
		usage();
	argv += 2;
	argc -= 2;
	if (seal && strcmp(argv[0], "-w") == 0) {
		writeback = 1;
		argv++;
		argc--;
	}
	if (argc != 2)
		usage();
	if (sodium_init() < 0) {
		fprintf(stderr, "raw_stream: sodium_init failed\n");
		return (1);
	}
	if ((in = open(argv[0], O_RDONLY)) == -1) {
		fprintf(stderr, "raw_stream: %s: %s\n", argv[0],
		    strerror(errno));
		return (1);
	}
	if (!seal && strcmp(argv[1], "-") == 0)
		out = STDOUT_FILENO;
	else if ((out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
	    -1) {
		fprintf(stderr, "raw_stream: %s: %s\n", argv[1],
		    strerror(errno));
		return (1);
	}
	if (fstat(out, &sb) == -1) {
		fprintf(stderr, "raw_stream: fstat: %s\n", strerror(errno));
		return (1);
	}
	errno = 0;
	rc = seal ? do_seal(in, out, S_ISREG(sb.st_mode), writeback)
		  : do_open(in, out);
	if (rc == -1 && errno != 0)
		fprintf(stderr, "raw_stream: %s\n", strerror(errno));
	if (out != STDOUT_FILENO && close(out) == -1) {
		fprintf(stderr, "raw_stream: close: %s\n", strerror(errno));
		rc = -1;
	}
	close(in);
	return (rc == 0 ? 0 : 1);
}
