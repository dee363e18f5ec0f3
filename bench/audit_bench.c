/*
 * audit_bench.c: what the audit log costs, for `make bench`
 * (docs/BENCHMARKS.md).
 *
 *   audit_bench DIR EVENTS [EVENTS_PER_TRANSACTION] [SEALS]
 *
 * 1. Appends EVENTS events (seal-like, with ids) to a new vault's log in
 *    transactions of EVENTS_PER_TRANSACTION events (default 1000), each
 *    ending with its signed checkpoint, as a batch of operations
 *    committed together does; then times `audit verify` on the vault and
 *    on an export of it (the lines written to DIR.log, with DIR/audit.pub).
 * 2. Times SEALS (default 200) seals of 200 KiB documents through the
 *    public API, and the audit work each of them does (its event and
 *    checkpoint, appended in a transaction that is then aborted), and
 *    prints the share of a seal that the log costs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre.h"
#include "vault/index.h"
#include "vault/vault.h"

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
	fprintf(stderr, "audit_bench: %s: %s\n", what, detail);
	exit(1);
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
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

static int
to_file(void *ctx, uint64_t seq, const char *line, size_t len)
{
	(void)seq;
	fwrite(line, 1, len, ctx);
	fputc('\n', ctx);
	return 0;
}

static void
event(struct audit_ev *e, unsigned long i)
{
	char id[32];

	snprintf(id, sizeof(id), "AAAAAAAAAA%012lu", i);
	audit_ev_init(e);
	audit_ev_str(e, "doc", id);
	audit_ev_str(e, "user", "member-000042");
	audit_ev_str(e, "community", "medecins");
	audit_ev_str(e, "type", "application/pdf");
	audit_ev_num(e, "size", 204800);
}

int
main(int argc, char **argv)
{
	char err[512], pk[64], logpath[4200], pubpath[4200], id[32];
	char type[COFFRE_TYPE_MAX + 1];
	unsigned long events, per = 1000, seals = 200;
	struct coffre_verify_result r;
	struct index_txn *ix;
	struct audit_ev e;
	coffre_vault *v;
	uint8_t *doc;
	uint64_t size;
	double t0, tv, tf, *ts, ta;
	FILE *f;

	if (argc < 3)
		return fprintf(stderr,
			   "usage: audit_bench DIR EVENTS "
			   "[PER_TXN] [SEALS]\n"),
		       2;
	events = strtoul(argv[2], NULL, 10);
	if (argc > 3)
		per = strtoul(argv[3], NULL, 10);
	if (argc > 4)
		seals = strtoul(argv[4], NULL, 10);
	if (sodium_init() < 0 || per == 0 || seals == 0)
		die("setup", "bad arguments");
	if (coffre_init(argv[1], NULL, pk, err, sizeof(err)) != 0 ||
	    coffre_open(argv[1], NULL, 0, &v, err, sizeof(err)) != 0)
		die("vault", err);
	t0 = now();
	for (unsigned long i = 0; i < events;) {
		if (index_begin(v->index, 1, v->mackey, &ix) != 0)
			die("index", index_errmsg(v->index));
		for (unsigned long j = 0; j < per && i < events; j++, i++) {
			event(&e, i);
			if (audit_append_opt(v, ix, "seal", "done", &e,
				j + 1 == per || i + 1 == events) != 0)
				die("append", coffre_errmsg(v));
		}
		if (index_commit(ix) != 0)
			die("commit", index_errmsg(v->index));
	}
	fprintf(stderr, "audit_bench: %lu events written in %.1f s\n", events,
	    now() - t0);
	t0 = now();
	if (coffre_audit_verify(v, &r) != 0)
		die("verify", coffre_errmsg(v));
	tv = now() - t0;
	snprintf(logpath, sizeof(logpath), "%s.log", argv[1]);
	snprintf(pubpath, sizeof(pubpath), "%s/audit.pub", argv[1]);
	if ((f = fopen(logpath, "w")) == NULL ||
	    coffre_audit_lines(v, NULL, 0, to_file, f) != 0 || fclose(f) != 0)
		die("export", logpath);
	t0 = now();
	if (coffre_audit_verify_file(logpath, pubpath, &r, err, sizeof(err)) !=
	    0)
		die("verify --log", err);
	tf = now() - t0;
	unlink(logpath);
	printf("audit_events=%llu checkpoints=%llu verify_vault_s=%.2f "
	       "verify_export_s=%.2f\n",
	    (unsigned long long)r.events, (unsigned long long)r.checkpoints, tv,
	    tf);

	/* The share of a seal of 200 KiB that its audit event costs. */
	if ((doc = malloc(200 * 1024)) == NULL ||
	    (ts = calloc(seals, sizeof(double))) == NULL)
		die("memory", "malloc");
	memcpy(doc, "%PDF-1.4\n", 9);
	randombytes_buf(doc + 9, 200 * 1024 - 9);
	for (unsigned long i = 0; i < seals; i++) {
		struct mem m = {doc, 200 * 1024, 0};
		t0 = now();
		if (coffre_seal(v, "member-1", "medecins", NULL, NULL, mem_read,
			&m, id, type, &size) != 0)
			die("seal", coffre_errmsg(v));
		ts[i] = now() - t0;
	}
	qsort(ts, seals, sizeof(double), dcmp);
	if (index_begin(v->index, 1, v->mackey, &ix) != 0)
		die("index", index_errmsg(v->index));
	t0 = now();
	for (unsigned long i = 0; i < seals; i++) {
		event(&e, i);
		if (audit_append(v, ix, "seal", "done", &e) != 0)
			die("append", coffre_errmsg(v));
	}
	ta = (now() - t0) / (double)seals;
	index_abort(ix);
	printf("seal_200k_median_ms=%.3f audit_per_seal_ms=%.4f "
	       "audit_share_of_seal=%.2f%%\n",
	    ts[seals / 2] * 1e3, ta * 1e3, 100.0 * ta / ts[seals / 2]);
	free(doc);
	free(ts);
	coffre_close(v);
	return 0;
}
