/*
 * shred_bench.c: the cost of shredding one user in a small and a large
 * vault, for `make bench` (docs/BENCHMARKS.md).
 *
 *   shred_bench DIR USERS [DOCS_PER_USER] [SAMPLES]
 *
 * builds a vault of USERS users with DOCS_PER_USER documents each (default
 * 5) in big transactions, straight through the key tree and the index (the
 * documents' records point at one shared sealed body: shredding never reads
 * bodies), then shreds SAMPLES users picked at random through the public
 * API, and prints one line of figures: the median and p90 shred latency,
 * the key wraps per shred, and the median latency of a 4 KiB write +
 * fdatasync on the same disk, measured in the same run.  A batch shred of
 * BATCH users at once is measured too, with the nodes it re-keyed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre.h"
#include "keys/bytes.h"
#include "keys/tree.h"
#include "vault/index.h"
#include "vault/util.h"

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

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "shred_bench: %s: %s\n", what, detail);
	exit(1);
}

static double
fsync_median(const char *dir)
{
	char path[4200];
	double t[21];
	uint8_t buf[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/fsync-probe", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		die(path, "cannot create");
	randombytes_buf(buf, sizeof(buf));
	for (int i = 0; i < 21; i++) {
		double t0 = now();
		if (pwrite(fd, buf, sizeof(buf), (off_t)i * 4096) != 4096 ||
		    fdatasync(fd) != 0)
			die(path, "write");
		t[i] = now() - t0;
	}
	close(fd);
	unlink(path);
	qsort(t, 21, sizeof(double), dcmp);
	return t[10];
}

/* Fill the vault with ${users} users of ${per} documents each. */
static void
populate(const char *dir, unsigned long users, unsigned per)
{
	char keys[4200], err[512], user[64];
	struct tree *t;
	struct tree_txn *tx = NULL;
	struct index *ix;
	struct index_txn *ixt = NULL;
	struct idoc d;
	uint8_t *mac = sodium_malloc(32), *k = sodium_malloc(32);
	uint64_t uk, seq = 1;
	const unsigned long batch = 20000;

	snprintf(keys, sizeof(keys), "%s/keys", dir);
	if (tree_open(keys, NULL, 0, &t, err, sizeof(err)) != 0)
		die("tree_open", err);
	if (index_open(dir, 0, &ix, err, sizeof(err)) != 0)
		die("index_open", err);
	if (tree_begin(t, 1, &tx) != 0 ||
	    tree_system_key(tx, TREE_SYS_INDEX, mac) != 0)
		die("tree", tree_errmsg(t));
	tree_abort(tx);
	tx = NULL;
	memset(&d, 0, sizeof(d));
	snprintf(d.community, sizeof(d.community), "bench");
	snprintf(d.type, sizeof(d.type), "application/pdf");
	d.loc.segno = 1;
	d.loc.offset = 32;
	d.loc.length = 0;
	for (unsigned long u = 0; u < users; u++) {
		if (tx == NULL) {
			if (tree_begin(t, 1, &tx) != 0 ||
			    index_begin(ix, 1, mac, &ixt) != 0)
				die("begin", tree_errmsg(t));
		}
		snprintf(user, sizeof(user), "user-%lu", u);
		if (tree_user_ensure(tx, user, strlen(user), &uk) != 0)
			die("user", tree_errmsg(t));
		snprintf(d.user, sizeof(d.user), "%s", user);
		for (unsigned i = 0; i < per; i++) {
			if (tree_leaf_new(tx, uk, TREE_KIND_DOC, k, &d.keyid) !=
			    0)
				die("leaf", tree_errmsg(t));
			bytes_store64be(d.id, seq++);
			randombytes_buf(d.id + 8, 8);
			d.created = (int64_t)time(NULL);
			if (index_doc_put(ixt, &d) != 0)
				die("index", index_errmsg(ix));
		}
		if ((u + 1) % batch == 0 || u + 1 == users) {
			if (tree_commit(tx) != 0)
				die("commit", tree_errmsg(t));
			if (index_commit(ixt) != 0)
				die("commit", index_errmsg(ix));
			tx = NULL;
			ixt = NULL;
		}
	}
	/* The index's sequence must not hand out these ids again. */
	if (index_begin(ix, 1, mac, &ixt) != 0)
		die("index", index_errmsg(ix));
	for (uint64_t s; index_next_seq(ixt, &s) == 0 && s < seq;)
		;
	if (index_commit(ixt) != 0)
		die("index", index_errmsg(ix));
	index_close(ix);
	tree_close(t);
	sodium_free(mac);
	sodium_free(k);
}

int
main(int argc, char **argv)
{
	char err[512], pk[64], user[64];
	coffre_vault *v;
	struct coffre_shred_result r;
	unsigned long users, samples = 21, batch;
	unsigned per = 5;
	double *lat, t0, tb, fs;
	uint64_t wraps = 0, bwraps = 0, destroyed = 0;

	if (argc < 3) {
		fprintf(stderr,
		    "usage: shred_bench DIR USERS [DOCS_PER_USER] [SAMPLES]\n");
		return 2;
	}
	users = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		per = (unsigned)strtoul(argv[3], NULL, 10);
	if (argc > 4)
		samples = strtoul(argv[4], NULL, 10);
	if (sodium_init() < 0 || users < samples + 2)
		die("setup", "libsodium, or too few users");
	batch = users / 10 < 10000 ? users / 10 : 10000;
	if (coffre_init(argv[1], NULL, pk, err, sizeof(err)) != 0)
		die("init", err);
	t0 = now();
	populate(argv[1], users, per);
	fprintf(stderr,
	    "shred_bench: %lu users x %u documents built in %.1f s\n", users,
	    per, now() - t0);
	if (coffre_open(argv[1], NULL, 0, &v, err, sizeof(err)) != 0)
		die("open", err);
	fs = fsync_median(argv[1]);
	if ((lat = calloc(samples, sizeof(double))) == NULL)
		die("memory", "calloc");
	for (unsigned long i = 0; i < samples; i++) {
		/* Spread over the whole vault, never the same user twice. */
		snprintf(user, sizeof(user), "user-%lu",
		    (i * (users / samples) +
			randombytes_uniform((uint32_t)(users / samples))) %
			users);
		t0 = now();
		if (coffre_shred_user(v, user, &r) != 0)
			die("shred", coffre_errmsg(v));
		lat[i] = now() - t0;
		if (r.documents != per)
			die("shred", "wrong document count");
		wraps += r.wraps;
	}
	qsort(lat, samples, sizeof(double), dcmp);
	/* A batch: every batch-th user shredded in one transaction. */
	{
		char keys[4200];
		struct tree *t;
		struct tree_txn *tx;
		struct tree_shred_stats st = {0};
		uint64_t *nodes = calloc(batch, sizeof(uint64_t));
		unsigned long n = 0;

		coffre_close(v);
		snprintf(keys, sizeof(keys), "%s/keys", argv[1]);
		if (nodes == NULL ||
		    tree_open(keys, NULL, 0, &t, err, sizeof(err)) != 0 ||
		    tree_begin(t, 1, &tx) != 0)
			die("batch", err);
		for (unsigned long i = 0; i < users && n < batch; i++) {
			uint64_t node;
			snprintf(user, sizeof(user), "user-%lu", i);
			if (tree_user_find(tx, user, strlen(user), &node) == 0)
				nodes[n++] = node;
		}
		tb = now();
		if (tree_shred(tx, nodes, n, &st) != 0 || tree_commit(tx) != 0)
			die("batch", tree_errmsg(t));
		tb = now() - tb;
		bwraps = st.wraps;
		destroyed = st.destroyed;
		printf("batch: %lu users shredded at once in %.3f s: %llu keys "
		       "destroyed, %llu nodes re-keyed once each, %llu wraps\n",
		    n, tb, (unsigned long long)destroyed,
		    (unsigned long long)st.rekeyed, (unsigned long long)bwraps);
		tree_close(t);
		free(nodes);
	}
	printf("users=%lu docs_per_user=%u samples=%lu shred_median_ms=%.3f "
	       "shred_p90_ms=%.3f wraps_per_shred=%.1f fsync_median_ms=%.3f "
	       "shred_in_fsyncs=%.2f\n",
	    users, per, samples, lat[samples / 2] * 1e3,
	    lat[samples * 9 / 10] * 1e3, (double)wraps / (double)samples,
	    fs * 1e3, lat[samples / 2] / fs);
	free(lat);
	return 0;
}
