/*
 * lmdbcheck.h: a check of an LMDB environment's free list before a write
 * transaction uses it.  LMDB trusts its pages; a damaged free-list record
 * (a page-number list whose count disagrees with its size) makes a commit
 * move memory out of bounds.  Looking at every record first turns that into
 * a refusal.  And LMDB's assertion callback.  Header-only, shared by
 * keys/tree.c and vault/index.c.
 */
#ifndef COFFRE_LMDBCHECK_H
#define COFFRE_LMDBCHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

/*
 * 0 if every free-list record of ${env}'s last commit is well formed, else
 * -1.  LMDB lets only a read-only transaction look at the free list: call
 * it before beginning the write transaction (under the writer lock, the
 * two see the same commit).
 */
static inline int
lmdbcheck_freelist(MDB_env *env)
{
	MDB_envinfo info;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, d;
	size_t count;
	int rc, bad = 0;

	if (mdb_env_info(env, &info) != 0 ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		return -1;
	if (mdb_cursor_open(txn, 0 /* the free list */, &c) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0 && !bad;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != sizeof(size_t) || d.mv_size < sizeof(size_t) ||
		    d.mv_size % sizeof(size_t) != 0) {
			bad = 1;
			break;
		}
		memcpy(&count, d.mv_data, sizeof(count));
		if (count > info.me_last_pgno + 1 ||
		    (count + 1) * sizeof(size_t) > d.mv_size)
			bad = 1;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return bad || (rc != 0 && rc != MDB_NOTFOUND) ? -1 : 0;
}

/*
 * lmdbcheck_assert(env, msg): LMDB's assertion callback.  LMDB checks its
 * pages with assertions and abort()s when one fails, which a damaged file
 * can trigger.  A crash is never the answer to corruption: say so, once,
 * and stop with the failure status.  (The one place the library ends the
 * process: LMDB gives it no way to return.)
 */
static inline void
lmdbcheck_assert(MDB_env *env, const char *msg)
{
	const char *path = NULL;

	if (mdb_env_get_path(env, &path) != 0 || path == NULL)
		path = "an LMDB file of the vault";
	fprintf(stderr, "coffre: %s: corrupt database (LMDB: %s)\n", path, msg);
	_exit(1);
}

#endif /* !COFFRE_LMDBCHECK_H */
