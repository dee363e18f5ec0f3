/*
 * scan_bench.c: the time `coffre audit scan` takes on a vault of N
 * documents, for `make bench` (docs/BENCHMARKS.md).
 *
 *   scan_bench DIR DOCUMENTS [BYTES]
 *
 * seals DOCUMENTS documents of BYTES bytes (default 8192: a PNG header and
 * random bytes) through the public API, one user per 5 documents, shreds
 * one user in ten, then times coffre_scan() over the whole directory.
 * Building the vault pays a few fsyncs per document; bench/keys.sh runs it
 * under eatmydata, which only drops the syncs: the scan is what is timed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "coffre.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "scan_bench: %s: %s\n", what, detail);
	exit(1);
}

struct mem {
	const uint8_t *p;
	size_t len, pos;
};

static long
mem_read(void *ctx, uint8_t *buf, size_t len)
{
	struct mem *m = ctx;
	size_t n = m->len - m->pos < len ? m->len - m->pos : len;

	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (long)n;
}

int
main(int argc, char **argv)
{
	static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
	    '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 16, 0, 0, 0, 16, 8,
	    2, 0, 0, 0};
	char err[512], pk[64], user[32], id[COFFRE_DOCID_LEN + 1];
	char type[COFFRE_TYPE_MAX + 1];
	unsigned long n, bytes = 8192;
	struct coffre_scan_result r;
	struct coffre_shred_result sr;
	coffre_vault *v;
	uint8_t *doc;
	uint64_t size;
	double t0;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: scan_bench DIR DOCUMENTS [BYTES]\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		bytes = strtoul(argv[3], NULL, 10);
	if (sodium_init() < 0 || bytes < sizeof(png) + 64 ||
	    (doc = malloc(bytes)) == NULL)
		die("setup", "bad arguments");
	if (coffre_init(argv[1], NULL, pk, err, sizeof(err)) != 0 ||
	    coffre_open(argv[1], NULL, 0, &v, err, sizeof(err)) != 0)
		die("vault", err);
	memcpy(doc, png, sizeof(png));
	t0 = now();
	for (unsigned long i = 0; i < n; i++) {
		struct mem m = {doc, bytes, 0};
		randombytes_buf(doc + sizeof(png), bytes - sizeof(png));
		snprintf(user, sizeof(user), "member-%lu", i / 5);
		if (coffre_seal(v, user, "medecins", NULL, NULL, mem_read, &m,
			id, type, &size) != 0)
			die("seal", coffre_errmsg(v));
	}
	for (unsigned long u = 0; u < n / 5; u += 10) {
		snprintf(user, sizeof(user), "member-%lu", u);
		if (coffre_shred_user(v, user, &sr) != 0)
			die("shred", coffre_errmsg(v));
	}
	fprintf(stderr, "scan_bench: %lu documents built in %.1f s\n", n,
	    now() - t0);
	t0 = now();
	rc = coffre_scan(v, NULL, NULL, &r);
	t0 = now() - t0;
	if (rc != 0)
		die("scan", coffre_errmsg(v));
	printf("documents=%lu scan_s=%.2f files=%llu bytes=%llu markers=%llu "
	       "candidates=%llu stale=%llu opened=%llu plaintext_hits=%llu\n",
	    n, t0, (unsigned long long)r.files, (unsigned long long)r.bytes,
	    (unsigned long long)r.markers, (unsigned long long)r.candidates,
	    (unsigned long long)r.stale, (unsigned long long)r.opened,
	    (unsigned long long)r.plaintext_hits);
	coffre_close(v);
	free(doc);
	return 0;
}
