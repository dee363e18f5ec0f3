/*
 * lmdbgrow.h: the size of an LMDB map, kept ahead of the data.  LMDB maps
 * its file at a fixed size and answers MDB_MAP_FULL to a transaction that
 * would pass it; that transaction can then only be aborted.  So before
 * every write transaction the map is grown, by doubling, until a quarter of
 * it is free; a transaction that still fills it is aborted, the map
 * doubled, and the caller runs that transaction again (docs/DESIGN.md,
 * "The maps").  A map another process grew is adopted before any
 * transaction begins.  Header-only, shared by keys/tree.c and
 * vault/index.c.
 *
 * LMDB lets mdb_env_set_mapsize() run only while this process has no
 * transaction open on the environment: struct lmdbgrow counts those
 * (lmdbgrow_begin() and lmdbgrow_end()), and nothing resizes unless the
 * count is 0.  Between processes, the vault's lock file orders writers,
 * and a reader holds it shared, so no commit moves the map between the
 * check and the begin.
 */
#ifndef COFFRE_LMDBGROW_H
#define COFFRE_LMDBGROW_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

/* The largest map we ask for: 16 TiB, so that both maps of a vault fit
 * in x86-64's 128 TiB of user address space, with room to spare. */
#define LMDBGROW_MAX (1ULL << 44)

/* lmdbgrow_*(): the environment is dead (not an LMDB code). */
#define LMDBGROW_DEAD (-30000)
#define LMDBGROW_DEAD_MSG                                                      \
	"its map could not be moved (out of address space?): open the "        \
	"vault again"

/* The map's state, one per environment, kept by its owner. */
struct lmdbgrow {
	MDB_env *env;
	int ntxn; /* transactions of this process open on it */
	int full; /* a transaction filled the map (MDB_MAP_FULL) */
	/* mdb_env_set_mapsize() failed: LMDB had unmapped the old map by
	 * then, and the environment may only be closed (any other call would
	 * read pages it no longer maps). */
	int dead;
	unsigned grows, fulls; /* times it grew; of those, after a full one */
};

/* mdb_strerror(), which also knows LMDBGROW_DEAD. */
static inline const char *
lmdbgrow_strerror(int rc)
{
	return rc == LMDBGROW_DEAD ? LMDBGROW_DEAD_MSG : mdb_strerror(rc);
}

/* After an LMDB error ${rc}: remember a full map. */
static inline void
lmdbgrow_failed(struct lmdbgrow *g, int rc)
{
	g->full |= rc == MDB_MAP_FULL;
}

/*
 * Before a transaction: adopt the map size another process set, when the
 * data it committed no longer fits ours; then, when ${write}, grow the map
 * until a quarter of it is free, doubling it at least once when a
 * transaction has filled it.  Returns 0, LMDBGROW_DEAD or an LMDB code.
 */
static inline int
lmdbgrow_prepare(struct lmdbgrow *g, int write)
{
	MDB_envinfo in;
	MDB_stat st;
	uint64_t used, size, want;
	int rc;

	if (g->dead)
		return LMDBGROW_DEAD;
	if (g->ntxn != 0)
		return 0;
	if ((rc = mdb_env_info(g->env, &in)) != 0 ||
	    (rc = mdb_env_stat(g->env, &st)) != 0)
		return rc;
	used = ((uint64_t)in.me_last_pgno + 1) * st.ms_psize;
	size = in.me_mapsize;
	if (used > size) {
		/* Another process grew it: its size is in the meta page. */
		if ((rc = mdb_env_set_mapsize(g->env, 0)) != 0) {
			g->dead = 1;
			return rc;
		}
		if ((rc = mdb_env_info(g->env, &in)) != 0)
			return rc;
		size = in.me_mapsize;
	}
	if (!write)
		return 0;
	want = g->full ? size * 2 : size;
	while (used > want - want / 4 && want < LMDBGROW_MAX)
		want *= 2;
	if (want > LMDBGROW_MAX)
		want = LMDBGROW_MAX;
	if (want <= size)
		return g->full ? MDB_MAP_FULL : 0;
	want -= want % st.ms_psize;
	if ((rc = mdb_env_set_mapsize(g->env, (size_t)want)) != 0) {
		g->dead = 1;
		return rc;
	}
	g->grows++;
	g->fulls += (unsigned)g->full;
	g->full = 0;
	return 0;
}

/*
 * After a failure, with no transaction open: when a transaction had filled
 * the map, double it; *grown is 1 when it did (run that transaction
 * again).  0, LMDBGROW_DEAD or an LMDB code.
 */
static inline int
lmdbgrow_after(struct lmdbgrow *g, int *grown)
{
	unsigned before = g->fulls;
	int rc = 0;

	if (g->full && g->ntxn == 0)
		rc = lmdbgrow_prepare(g, 1);
	*grown = rc == 0 && g->fulls > before;
	return rc;
}

/*
 * mdb_txn_begin(), which adopts a map another process grew past the data
 * (MDB_MAP_RESIZED) and tries once more, and counts the transaction open.
 */
static inline int
lmdbgrow_begin(struct lmdbgrow *g, unsigned flags, MDB_txn **txn)
{
	int rc;

	if (g->dead)
		return LMDBGROW_DEAD;
	rc = mdb_txn_begin(g->env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED && g->ntxn == 0) {
		if ((rc = mdb_env_set_mapsize(g->env, 0)) != 0) {
			g->dead = 1;
			return rc;
		}
		rc = mdb_txn_begin(g->env, NULL, flags, txn);
	}
	if (rc == 0)
		g->ntxn++;
	return rc;
}

/* A transaction begun by lmdbgrow_begin() has ended (commit or abort). */
static inline void
lmdbgrow_end(struct lmdbgrow *g)
{
	g->ntxn--;
}

/*
 * The map at open, with no transaction open: ${size} bytes (0 keeps
 * ${dflt}); LMDB raises it to what the data already holds.  0,
 * LMDBGROW_DEAD or an LMDB code.
 */
static inline int
lmdbgrow_initial(struct lmdbgrow *g, uint64_t size, uint64_t dflt)
{
	int rc;

	if (g->dead)
		return LMDBGROW_DEAD;
	if (g->ntxn != 0)
		return 0;
	rc = mdb_env_set_mapsize(g->env, (size_t)(size != 0 ? size : dflt));
	if (rc != 0)
		g->dead = 1;
	return rc;
}

#endif /* !COFFRE_LMDBGROW_H */
