/*
 * lmdbgrow.h: the size of an LMDB map, kept ahead of the data.  LMDB maps
 * its file at a fixed size and answers MDB_MAP_FULL to a transaction that
 * would pass it; that transaction can then only be aborted.  So before
 * every write transaction the map is grown, by doubling, until a quarter of
 * it is free; a transaction that still fills it is aborted, the map
 * doubled, and the caller runs that transaction again (docs/DESIGN.md,
 * "The map").  A map another process grew is adopted before any
 * transaction begins.  Header-only, shared by keys/tree.c and
 * vault/index.c.
 *
 * LMDB lets mdb_env_set_mapsize() run only while this process has no
 * transaction open on the environment: every function here takes the
 * count of those (${open}) and does nothing unless it is 0.  Between
 * processes, the vault's lock file orders writers, and a reader holds it
 * shared, so no commit moves the map between the check and the begin.
 */
#ifndef COFFRE_LMDBGROW_H
#define COFFRE_LMDBGROW_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

/* The largest map we ask for: 16 TiB, so that both maps of a vault fit
 * in x86-64's 128 TiB of user address space, with room to spare. */
#define LMDBGROW_MAX (1ULL << 44)

/*
 * Adopt the map size another process set, when the data it committed no
 * longer fits ours; then, when ${write}, grow the map until a quarter of
 * it is free, or double it at least once when ${full} (a transaction has
 * just filled it).  *grown (if not NULL) is set to 1 when the map grew.
 * Returns 0 or an LMDB code.  When mdb_env_set_mapsize() itself failed,
 * *dead is set: LMDB has unmapped the old map by then, and the environment
 * may only be closed (any other call would read the pages it no longer
 * maps).
 */
static inline int
lmdbgrow_prepare(MDB_env *env, int open, int write, int full, int *grown,
    int *dead)
{
	MDB_envinfo in;
	MDB_stat st;
	uint64_t used, size, want;
	int rc;

	if (grown != NULL)
		*grown = 0;
	if (open != 0)
		return 0;
	if ((rc = mdb_env_info(env, &in)) != 0 ||
	    (rc = mdb_env_stat(env, &st)) != 0)
		return rc;
	used = ((uint64_t)in.me_last_pgno + 1) * st.ms_psize;
	size = in.me_mapsize;
	if (used > size) {
		/* Another process grew it: its size is in the meta page. */
		if ((rc = mdb_env_set_mapsize(env, 0)) != 0) {
			*dead = 1;
			return rc;
		}
		if ((rc = mdb_env_info(env, &in)) != 0)
			return rc;
		size = in.me_mapsize;
	}
	if (!write)
		return 0;
	want = size;
	if (full)
		want = size * 2;
	while (used > want - want / 4 && want < LMDBGROW_MAX)
		want *= 2;
	if (want > LMDBGROW_MAX)
		want = LMDBGROW_MAX;
	if (want <= size)
		return full ? MDB_MAP_FULL : 0;
	want -= want % st.ms_psize;
	if ((rc = mdb_env_set_mapsize(env, (size_t)want)) != 0) {
		*dead = 1;
		return rc;
	}
	if (grown != NULL)
		*grown = 1;
	return 0;
}

/*
 * mdb_txn_begin(), which adopts a map another process grew past the data
 * (MDB_MAP_RESIZED) and tries once more.  *dead as above.
 */
static inline int
lmdbgrow_begin(MDB_env *env, int open, unsigned flags, MDB_txn **txn, int *dead)
{
	int rc = mdb_txn_begin(env, NULL, flags, txn);

	if (rc == MDB_MAP_RESIZED && open == 0) {
		if ((rc = mdb_env_set_mapsize(env, 0)) != 0) {
			*dead = 1;
			return rc;
		}
		rc = mdb_txn_begin(env, NULL, flags, txn);
	}
	return rc;
}

/*
 * The map of ${env} at open: ${size} bytes (0 keeps ${dflt}); LMDB raises
 * it to what the data already holds.  *dead as above.
 */
static inline int
lmdbgrow_initial(MDB_env *env, uint64_t size, uint64_t dflt, int *dead)
{
	int rc = mdb_env_set_mapsize(env, (size_t)(size != 0 ? size : dflt));

	if (rc != 0)
		*dead = 1;
	return rc;
}

#endif /* !COFFRE_LMDBGROW_H */
