/*
 * batch_bench.c: the library's group commit alone, for bench/serve.sh
 * (docs/BENCHMARKS.md, "The daemon"): what coffre_seal_batch() does with
 * documents already in memory, in one process, with no HTTP and no
 * clients.  It tells the daemon's own costs from the library's.
 *
 *   batch_bench DIR BATCH FILE...
 *
 * DIR is a vault (coffre init).  Reads every FILE into memory first (not
 * timed), then seals them in order through coffre_seal_batch() in batches
 * of BATCH (user bench-uN with N = the file's index / 5, community bench,
 * as serve_bench does); every seal must succeed.  Prints one line of
 * key=value: elapsed seconds and docs/s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "coffre.h"

#define DOCS_PER_USER 5

struct mem {
	unsigned char *p;
	size_t len, off;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Noreturn void
die(const char *what, const char *detail)
{
	fprintf(stderr, "batch_bench: %s: %s\n", what, detail);
	exit(1);
}

static long
mem_read(void *ctx, uint8_t *buf, size_t len)
{
	struct mem *m = ctx;
	size_t n = m->len - m->off;

	if (n > len)
		n = len;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (long)n;
}

static int
mem_seek(void *ctx, uint64_t off)
{
	struct mem *m = ctx;

	if (off > m->len)
		return -1;
	m->off = (size_t)off;
	return 0;
}

static void
slurp(const char *path, struct mem *m)
{
	struct stat st;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) != 0)
		die(path, strerror(errno));
	if ((m->p = malloc((size_t)st.st_size + 1)) == NULL)
		die(path, "out of memory");
	if (fread(m->p, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		die(path, "short read");
	fclose(f);
	m->len = (size_t)st.st_size;
	m->off = 0;
}

int
main(int argc, char **argv)
{
	struct coffre_seal_req *reqs;
	char err[1024], (*users)[32];
	coffre_vault *v;
	struct mem *docs;
	size_t batch, ndocs;
	unsigned long nb;
	double t0, el;
	char *end;

	if (argc < 4) {
		fprintf(stderr, "usage: batch_bench DIR BATCH FILE...\n");
		return 2;
	}
	errno = 0;
	nb = strtoul(argv[2], &end, 10);
	if (errno != 0 || *end != '\0' || nb < 1 || nb > 4096)
		die(argv[2], "BATCH is a number from 1 to 4096");
	batch = (size_t)nb;
	ndocs = (size_t)(argc - 3);
	if ((docs = calloc(ndocs, sizeof(*docs))) == NULL ||
	    (reqs = calloc(batch, sizeof(*reqs))) == NULL ||
	    (users = calloc(batch, sizeof(*users))) == NULL)
		die("memory", "out of memory");
	for (size_t i = 0; i < ndocs; i++)
		slurp(argv[3 + i], &docs[i]);
	if (coffre_open(argv[1], NULL, 0, &v, err, sizeof(err)) != 0)
		die(argv[1], err);

	t0 = now();
	for (size_t i = 0; i < ndocs; i += batch) {
		size_t n = ndocs - i < batch ? ndocs - i : batch;

		for (size_t j = 0; j < n; j++) {
			memset(&reqs[j], 0, sizeof(reqs[j]));
			snprintf(users[j], sizeof(users[j]), "bench-u%zu",
			    (i + j) / DOCS_PER_USER);
			reqs[j].user = users[j];
			reqs[j].group = "bench";
			reqs[j].rd = mem_read;
			reqs[j].rdctx = &docs[i + j];
			reqs[j].seek = mem_seek;
		}
		if (coffre_seal_batch(v, reqs, n) != 0)
			for (size_t j = 0; j < n; j++)
				if (reqs[j].rc != 0)
					die(argv[3 + i + j], reqs[j].err);
	}
	el = now() - t0;
	coffre_close(v);

	printf("mode=batch batch=%zu docs=%zu elapsed_s=%.3f docs_per_s=%.1f\n",
	    batch, ndocs, el, (double)ndocs / el);
	for (size_t i = 0; i < ndocs; i++)
		free(docs[i].p);
	free(docs);
	free(reqs);
	free(users);
	return 0;
}
