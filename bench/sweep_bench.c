/*
 * sweep_bench.c: the cost of a sweep, for `make bench` (docs/BENCHMARKS.md).
 *
 *   sweep_bench DIR CONTRACTS [ARCHIVES_PER_CONTRACT] [EXPIRED_EVERY]
 *
 * builds a vault of CONTRACTS contracts with ARCHIVES_PER_CONTRACT archives
 * each (default 5), straight through the key tree and the index in big
 * transactions, one contract in EXPIRED_EVERY (default 10) ended long ago
 * (its retention over), the others running; then runs one coffre_sweep()
 * through the public API and prints its time, the keys destroyed, the nodes
 * re-keyed and the wraps written.  With 200,000 contracts of 5 archives:
 * 100,000 expired archives in a vault of 1,000,000.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "coffre.h"
#include "keys/bytes.h"
#include "keys/tree.h"
#include "vault/index.h"

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
	fprintf(stderr, "sweep_bench: %s: %s\n", what, detail);
	exit(1);
}

int
main(int argc, char **argv)
{
	char keys[4200], err[512], pk[64], user[64], contract[64];
	unsigned long ncontracts, per = 5, every = 10, expired = 0;
	struct tree *t;
	struct tree_txn *tx = NULL;
	struct index *ix;
	struct index_txn *ixt = NULL;
	struct tree_contract c;
	struct idoc d;
	struct coffre_sweep_result r;
	coffre_vault *v;
	uint8_t *mac, *k;
	uint64_t seq = 1;
	double t0;

	if (argc < 3) {
		fprintf(stderr,
		    "usage: sweep_bench DIR CONTRACTS "
		    "[ARCHIVES_PER_CONTRACT] [EXPIRED_EVERY]\n");
		return 2;
	}
	ncontracts = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		per = strtoul(argv[3], NULL, 10);
	if (argc > 4)
		every = strtoul(argv[4], NULL, 10);
	if (sodium_init() < 0 || every == 0)
		die("setup", "bad arguments");
	mac = sodium_malloc(32);
	k = sodium_malloc(32);
	if (coffre_init(argv[1], NULL, pk, err, sizeof(err)) != 0)
		die("init", err);
	snprintf(keys, sizeof(keys), "%s/keys", argv[1]);
	if (tree_open(keys, NULL, 0, &t, err, sizeof(err)) != 0 ||
	    index_open(argv[1], 0, &ix, err, sizeof(err)) != 0)
		die("open", err);
	if (tree_begin(t, 1, &tx) != 0 ||
	    tree_system_key(tx, TREE_SYS_INDEX, mac) != 0)
		die("tree", tree_errmsg(t));
	tree_abort(tx);
	tx = NULL;
	memset(&d, 0, sizeof(d));
	snprintf(d.type, sizeof(d.type), "application/pdf");
	d.loc.segno = 1;
	d.loc.offset = 32;
	t0 = now();
	for (unsigned long i = 0; i < ncontracts; i++) {
		if (tx == NULL &&
		    (tree_begin(t, 1, &tx) != 0 ||
			index_begin(ix, 1, mac, &ixt) != 0))
			die("begin", tree_errmsg(t));
		snprintf(user, sizeof(user), "member-%lu", i / 2);
		snprintf(contract, sizeof(contract), "contract-%lu", i);
		if (tree_contract_ensure(tx, user, strlen(user), contract,
			strlen(contract), &c) != 0)
			die("contract", tree_errmsg(t));
		if (i % every == 0) {
			c.ended = 1;
			c.end_day = (int32_t)(time(NULL) / 86400) - 3000;
			c.retain_until = c.end_day + 1826;
			if (tree_contract_set(tx, &c) != 0)
				die("contract", tree_errmsg(t));
			expired += per;
		}
		snprintf(d.user, sizeof(d.user), "%s", user);
		snprintf(d.community, sizeof(d.community), "%s", contract);
		for (unsigned long j = 0; j < per; j++) {
			if (tree_leaf_new(tx, c.node, TREE_KIND_ARCHIVE, k,
				&d.keyid) != 0)
				die("leaf", tree_errmsg(t));
			bytes_store64be(d.id, seq++);
			randombytes_buf(d.id + 8, 8);
			d.created = (int64_t)time(NULL);
			if (index_arc_put(ixt, &d) != 0)
				die("index", index_errmsg(ix));
		}
		if ((i + 1) % 10000 == 0 || i + 1 == ncontracts) {
			if (tree_commit(tx) != 0 || index_commit(ixt) != 0)
				die("commit", tree_errmsg(t));
			tx = NULL;
			ixt = NULL;
		}
	}
	if (index_begin(ix, 1, mac, &ixt) != 0)
		die("index", index_errmsg(ix));
	for (uint64_t s; index_next_seq(ixt, &s) == 0 && s < seq;)
		;
	if (index_commit(ixt) != 0)
		die("index", index_errmsg(ix));
	index_close(ix);
	tree_close(t);
	fprintf(stderr,
	    "sweep_bench: %lu archives in %lu contracts built in "
	    "%.1f s\n",
	    ncontracts * per, ncontracts, now() - t0);
	if (coffre_open(argv[1], NULL, 0, &v, err, sizeof(err)) != 0)
		die("open", err);
	t0 = now();
	if (coffre_sweep(v, &r) != 0)
		die("sweep", coffre_errmsg(v));
	t0 = now() - t0;
	if (r.archives != expired)
		die("sweep", "wrong number of archives destroyed");
	printf(
	    "archives=%lu expired=%lu sweep_s=%.3f contracts_swept=%llu "
	    "keys_destroyed=%llu nodes_rekeyed=%llu wraps=%llu root_changes=%llu\n",
	    ncontracts * per, expired, t0, (unsigned long long)r.contracts,
	    (unsigned long long)r.keys_destroyed, (unsigned long long)r.rekeyed,
	    (unsigned long long)r.wraps,
	    (unsigned long long)(r.epoch_after - r.epoch_before));
	coffre_close(v);
	sodium_free(mac);
	sodium_free(k);
	return 0;
}
