/*
 * raw_batch.c: the floor that the daemon's group-committed seals are
 * measured against in bench/serve.sh (docs/BENCHMARKS.md, "The daemon").
 * It does what a seal must do at the least, for many documents in one
 * process, and nothing else: no index, no key tree, no audit log, no type
 * detection, no HTTP.
 *
 *   raw_batch seal OUT FILE...
 *       reads every FILE into memory first (not timed), then for each one:
 *       a fresh key (crypto_secretstream_xchacha20poly1305_keygen), the
 *       secretstream header and the document in 64 KiB chunks (the last
 *       one tagged FINAL), appended to the one file OUT; fdatasync(OUT)
 *       after every 100 documents and at the end.  Prints one line of
 *       key=value: elapsed seconds, docs/s, MiB/s.  The keys are dropped:
 *       this is a benchmark, OUT cannot be opened.
 *
 *   raw_batch open FILE N
 *       the in-process reference for opening a document: encrypts FILE
 *       (untimed) into FILE.ct under a fresh key kept in memory, syncs it,
 *       then N times (after one untimed warm-up, so the page cache is
 *       warm): open FILE.ct, read() it whole, decrypt it into memory,
 *       close; each timed (CLOCK_MONOTONIC).  The first plaintext must be
 *       FILE's bytes.  Prints p50, p99 (nearest rank), min, max and mean
 *       in ms.  FILE.ct is removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define CHUNK 65536 /* 64 KiB, as coffre's document bodies */
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define HBYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define KBYTES crypto_secretstream_xchacha20poly1305_KEYBYTES
#define SYNC_EVERY 100

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

static _Noreturn void
die(const char *what, const char *detail)
{
	fprintf(stderr, "raw_batch: %s: %s\n", what, detail);
	exit(1);
}

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: raw_batch seal OUT FILE...\n"
	    "       raw_batch open FILE N\n");
	exit(2);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) != 0)
		die(path, strerror(errno));
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		die(path, "out of memory");
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			die(path, n == 0 ? "short read" : strerror(errno));
		off += (size_t)n;
	}
	close(fd);
	*len = off;
	return buf;
}

static void
writeall(int fd, const unsigned char *p, size_t len, const char *what)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die(what, strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
}

/* The ciphertext size of ${len} bytes of plaintext. */
static size_t
ct_size(size_t len)
{
	return HBYTES + len + (len / CHUNK + 1) * ABYTES;
}

/*
 * Encrypt ${pt} under ${key} into ${ct} (ct_size(len) bytes): header,
 * then 64 KiB chunks, the last one (short, or empty) tagged FINAL.
 * Returns the bytes written.
 */
static size_t
encrypt(const unsigned char key[KBYTES], const unsigned char *pt, size_t len,
    unsigned char *ct)
{
	crypto_secretstream_xchacha20poly1305_state st;
	size_t off = 0, out = HBYTES;

	crypto_secretstream_xchacha20poly1305_init_push(&st, ct, key);
	for (;;) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;
		unsigned char tag = n < CHUNK
		    ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
		    : 0;
		unsigned long long clen;

		crypto_secretstream_xchacha20poly1305_push(&st, ct + out, &clen,
		    pt + off, n, NULL, 0, tag);
		out += (size_t)clen;
		off += n;
		if (tag != 0)
			break;
	}
	sodium_memzero(&st, sizeof(st));
	return out;
}

/* Decrypt ${ct} into ${pt}; returns the plaintext length, or dies. */
static size_t
decrypt(const unsigned char key[KBYTES], const unsigned char *ct, size_t len,
    unsigned char *pt)
{
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char tag = 0;
	size_t off = HBYTES, out = 0;

	if (len < HBYTES ||
	    crypto_secretstream_xchacha20poly1305_init_pull(&st, ct, key) != 0)
		die("decrypt", "bad header");
	while (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
		size_t n =
		    len - off < CHUNK + ABYTES ? len - off : CHUNK + ABYTES;
		unsigned long long plen;

		if (n < ABYTES ||
		    crypto_secretstream_xchacha20poly1305_pull(&st, pt + out,
			&plen, &tag, ct + off, n, NULL, 0) != 0)
			die("decrypt", "corrupt or truncated");
		off += n;
		out += (size_t)plen;
	}
	if (off != len)
		die("decrypt", "data after the final chunk");
	sodium_memzero(&st, sizeof(st));
	return out;
}

static int
do_seal(int argc, char **argv)
{
	unsigned char key[KBYTES], *ct;
	unsigned char **docs;
	size_t *lens, maxlen = 0, ndocs;
	uint64_t bytes = 0;
	double t0, el;
	int fd;

	if (argc < 2)
		usage();
	ndocs = (size_t)(argc - 1);
	if ((docs = calloc(ndocs, sizeof(*docs))) == NULL ||
	    (lens = calloc(ndocs, sizeof(*lens))) == NULL)
		die("memory", "out of memory");
	for (size_t i = 0; i < ndocs; i++) {
		docs[i] = slurp(argv[1 + i], &lens[i]);
		bytes += lens[i];
		if (lens[i] > maxlen)
			maxlen = lens[i];
	}
	if ((ct = malloc(ct_size(maxlen))) == NULL)
		die("memory", "out of memory");
	if ((fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
		 0600)) == -1)
		die(argv[0], strerror(errno));

	t0 = now();
	for (size_t i = 0; i < ndocs; i++) {
		size_t n;

		crypto_secretstream_xchacha20poly1305_keygen(key);
		n = encrypt(key, docs[i], lens[i], ct);
		writeall(fd, ct, n, argv[0]);
		if ((i + 1) % SYNC_EVERY == 0 && fdatasync(fd) != 0)
			die(argv[0], strerror(errno));
	}
	if (fdatasync(fd) != 0)
		die(argv[0], strerror(errno));
	el = now() - t0;
	if (close(fd) != 0)
		die(argv[0], strerror(errno));
	sodium_memzero(key, sizeof(key));

	printf("mode=seal docs=%zu bytes=%llu syncs=%zu elapsed_s=%.3f "
	       "docs_per_s=%.1f mib_per_s=%.1f\n",
	    ndocs, (unsigned long long)bytes, ndocs / SYNC_EVERY + 1, el,
	    (double)ndocs / el, (double)bytes / 1048576.0 / el);
	for (size_t i = 0; i < ndocs; i++)
		free(docs[i]);
	free(docs);
	free(lens);
	free(ct);
	return 0;
}

static int
do_open(int argc, char **argv)
{
	unsigned char key[KBYTES], *pt, *ct, *buf, *out;
	char path[4096];
	size_t len, clen, cap, n0 = 0;
	double *t, sum = 0;
	unsigned long n;
	char *end;
	int fd;

	if (argc != 2)
		usage();
	errno = 0;
	n = strtoul(argv[1], &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > 1000000)
		die(argv[1], "N is a number from 1 to 1000000");
	if ((size_t)snprintf(path, sizeof(path), "%s.ct", argv[0]) >=
	    sizeof(path))
		die(argv[0], "path too long");
	pt = slurp(argv[0], &len);
	cap = ct_size(len);
	if ((ct = malloc(cap)) == NULL || (buf = malloc(cap + 1)) == NULL ||
	    (out = malloc(len + 1)) == NULL ||
	    (t = calloc(n, sizeof(*t))) == NULL)
		die("memory", "out of memory");

	/* The ciphertext on disk, durable, as a sealed document would be. */
	crypto_secretstream_xchacha20poly1305_keygen(key);
	clen = encrypt(key, pt, len, ct);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		die(path, strerror(errno));
	writeall(fd, ct, clen, path);
	if (fdatasync(fd) != 0 || close(fd) != 0)
		die(path, strerror(errno));

	/* Iteration 0 is the warm-up, not counted. */
	for (unsigned long i = 0; i <= n; i++) {
		double t0 = now();
		size_t got = 0, plen;
		ssize_t r;

		if ((fd = open(path, O_RDONLY)) == -1)
			die(path, strerror(errno));
		while ((r = read(fd, buf + got, cap + 1 - got)) != 0) {
			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1)
				die(path, strerror(errno));
			got += (size_t)r;
			if (got == cap + 1)
				break;
		}
		close(fd);
		plen = decrypt(key, buf, got, out);
		if (i > 0)
			t[i - 1] = now() - t0;
		if (i == 0) {
			if (plen != len || memcmp(out, pt, len) != 0)
				die(path, "the round trip differs");
			n0 = plen;
		}
	}
	unlink(path);
	sodium_memzero(key, sizeof(key));
	for (unsigned long i = 0; i < n; i++)
		sum += t[i];
	qsort(t, n, sizeof(double), dcmp);
	printf("mode=open n=%lu bytes=%zu p50_ms=%.3f p99_ms=%.3f min_ms=%.3f "
	       "max_ms=%.3f mean_ms=%.3f\n",
	    n, n0, pct(t, n, 0.50) * 1e3, pct(t, n, 0.99) * 1e3, t[0] * 1e3,
	    t[n - 1] * 1e3, sum / (double)n * 1e3);
	free(pt);
	free(ct);
	free(buf);
	free(out);
	free(t);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (sodium_init() < 0)
		die("sodium_init", "failed");
	if (strcmp(argv[1], "seal") == 0)
		return do_seal(argc - 2, argv + 2);
	if (strcmp(argv[1], "open") == 0)
		return do_open(argc - 2, argv + 2);
	usage();
}
