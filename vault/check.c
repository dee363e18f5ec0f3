/*
 * check.c: coffre_check(), the consistency of index, segments and key tree.
 * The whole check runs under the vault lock (exclusive with --repair), on
 * one snapshot of each LMDB environment, so that a seal in flight is never
 * mistaken for a crash's leftovers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "keys/tree.h"
#include "vault/index.h"
#include "vault/util.h"
#include "vault/vault.h"

struct checking {
	coffre_vault *v;
	struct tree_txn *tx;
	coffre_report_fn fn;
	void *ctx;
	struct coffre_check_result *res;
	uint64_t *keyids; /* keys named by index records, sorted later */
	size_t nkeyids, capkeyids;
	uint64_t *orphans; /* leaves no record names */
	size_t norphans, caporphans;
	struct idoc *keyless; /* live records whose key is gone */
	size_t nkeyless, capkeyless;
	int *keyless_arc; /* ...and whether each is an archive */
	size_t capkeyless_arc;
	int fatal;
	/* The index or the key tree was not read whole: what looks orphan or
	 * keyless may not be, and nothing is repaired. */
	int incomplete;
};

static void report(struct checking *c, int problem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
report(struct checking *c, int problem, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (problem)
		c->res->problems++;
	if (c->fn != NULL)
		c->fn(c->ctx, problem, msg);
}

static int
discard(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return 0;
}

static int check_rec(struct checking *c, const struct idoc *d, int arc);

static int
check_doc(void *ctx, const struct idoc *d)
{
	return check_rec(ctx, d, 0);
}

static int
check_arc(void *ctx, const struct idoc *d)
{
	return check_rec(ctx, d, 1);
}

static int
check_rec(struct checking *c, const struct idoc *d, int arc)
{
	coffre_vault *v = c->v;
	char ids[COFFRE_DOCID_LEN + 1];
	int rc;

	util_docid_encode(d->id, ids);
	c->res->documents++;
	if (vault_grow(v, (void **)&c->keyids, &c->capkeyids, c->nkeyids,
		sizeof(uint64_t)) != 0)
		return COFFRE_EFAIL;
	c->keyids[c->nkeyids++] = d->keyid;
	rc = tree_node_key(c->tx, d->keyid, v->dk);
	if (d->status == COFFRE_SHREDDED) {
		sodium_memzero(v->dk, 32);
		if (rc == 0)
			report(c, 1,
			    "%s %s is marked shredded but its key still "
			    "exists",
			    arc ? "archive" : "document", ids);
		else if (rc == -1)
			report(c, 1, "document %s: %s", ids,
			    tree_errmsg(v->tree));
		return 0;
	}
	if (rc == TREE_ENOTFOUND && !arc) {
		/* A key still linked under its user is damage, not a shred. */
		uint64_t uk;
		int found =
		    tree_user_find(c->tx, d->user, strlen(d->user), &uk);
		if (found == -1) {
			/* Unknown whether it was shredded: nothing is marked. */
			report(c, 1, "document %s: %s", ids,
			    tree_errmsg(v->tree));
			c->fatal = c->incomplete = 1;
			return 0;
		}
		if (found == 0 && tree_is_child(c->tx, uk, d->keyid) != 0) {
			report(c, 1,
			    "document %s: its key is missing while its user's "
			    "key still lists it (corrupt; not repairable)",
			    ids);
			c->fatal = 1;
			return 0;
		}
	}
	if (rc == TREE_ENOTFOUND) {
		/* A shred that crashed after its key commit: it is gone. */
		report(c, 1,
		    "%s %s is marked %s but its key is destroyed "
		    "(repair marks it shredded)",
		    arc ? "archive" : "document", ids,
		    arc ? "live" : coffre_status_name(d->status));
		if (vault_grow(v, (void **)&c->keyless, &c->capkeyless,
			c->nkeyless, sizeof(struct idoc)) != 0 ||
		    vault_grow(v, (void **)&c->keyless_arc, &c->capkeyless_arc,
			c->nkeyless, sizeof(int)) != 0)
			return COFFRE_EFAIL;
		c->keyless_arc[c->nkeyless] = arc;
		c->keyless[c->nkeyless++] = *d;
		return 0;
	}
	if (rc != 0) {
		report(c, 1, "document %s: %s", ids, tree_errmsg(v->tree));
		c->fatal = 1;
		return 0;
	}
	if (vault_stream_body(v, d, ids, discard, NULL) != 0) {
		report(c, 1, "%s", coffre_errmsg(v));
		c->fatal = 1;
	}
	return 0;
}

static int
u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int
check_leaf(void *ctx, uint64_t id, int kind, uint64_t parent)
{
	struct checking *c = ctx;

	(void)parent;
	if (kind != TREE_KIND_DOC && kind != TREE_KIND_ARCHIVE)
		return 0;
	c->res->leaves++;
	if (c->nkeyids > 0 &&
	    bsearch(&id, c->keyids, c->nkeyids, sizeof(uint64_t), u64cmp) !=
		NULL)
		return 0;
	report(c, 1,
	    "key leaf %016llx has no index record (a seal that crashed "
	    "before its index commit; repair destroys it)",
	    (unsigned long long)id);
	if (vault_grow(c->v, (void **)&c->orphans, &c->caporphans, c->norphans,
		sizeof(uint64_t)) != 0)
		return COFFRE_EFAIL;
	c->orphans[c->norphans++] = id;
	return 0;
}

static int
repair(struct checking *c)
{
	coffre_vault *v = c->v;
	struct tree_txn *tx = NULL;
	struct index_txn *ix = NULL;
	struct tree_shred_stats st = {0};
	struct audit_ev ev;
	int rc;

	if (c->norphans > 0) {
		if ((rc = tree_begin(v->tree, 1, &tx)) != 0 ||
		    (rc = tree_shred(tx, c->orphans, c->norphans, &st)) != 0) {
			tree_abort(tx);
			return vault_tree_code(v, rc);
		}
		audit_ev_init(&ev);
		audit_ev_num(&ev, "orphan_leaves_destroyed", c->norphans);
		audit_ev_num(&ev, "epoch_before", st.epoch_before);
		audit_ev_num(&ev, "epoch_after", st.epoch_after);
		if ((rc = audit_pend(v, tx, "repair", "done", &ev)) != 0) {
			tree_abort(tx);
			return rc;
		}
		if ((rc = tree_commit(tx)) != 0)
			return vault_tree_code(v, rc);
		if ((rc = tree_settle(v->tree)) != 0)
			return vault_tree_code(v, rc);
		if ((rc = audit_flush(v, NULL)) != 0)
			return rc;
		c->res->repaired += c->norphans;
		report(c, 0,
		    "destroyed %zu orphan key leaves (root epoch "
		    "%llu -> %llu)",
		    c->norphans, (unsigned long long)st.epoch_before,
		    (unsigned long long)st.epoch_after);
	}
	if (c->nkeyless > 0) {
		if (index_begin(v->index, 1, v->mackey, &ix) != 0)
			return vault_index_code(v);
		for (size_t i = 0; i < c->nkeyless; i++) {
			c->keyless[i].status = COFFRE_SHREDDED;
			c->keyless[i].snamelen = 0;
			if ((c->keyless_arc[i]
				    ? index_arc_put(ix, &c->keyless[i])
				    : index_doc_put(ix, &c->keyless[i])) != 0) {
				index_abort(ix);
				return vault_index_code(v);
			}
		}
		audit_ev_init(&ev);
		audit_ev_num(&ev, "records_marked_shredded", c->nkeyless);
		if ((rc = audit_append(v, ix, "repair", "done", &ev)) != 0) {
			index_abort(ix);
			return rc;
		}
		if (index_commit(ix) != 0)
			return vault_index_code(v);
		c->res->repaired += c->nkeyless;
		report(c, 0, "marked %zu documents shredded", c->nkeyless);
	}
	return 0;
}

int
coffre_check(coffre_vault *v, int fix, coffre_report_fn fn, void *ctx,
    struct coffre_check_result *res)
{
	struct checking c;
	struct index_txn *ix = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.v = v;
	c.fn = fn;
	c.ctx = ctx;
	c.res = res;
	if ((rc = vault_lock(v, fix ? LOCK_EX : LOCK_SH)) != 0)
		return rc;
	if ((rc = tree_begin(v->tree, 0, &c.tx)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	if (index_begin(v->index, 0, v->mackey, &ix) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	rc = index_docs(ix, NULL, check_doc, &c);
	if (rc == 0)
		rc = index_arcs(ix, check_arc, &c);
	if (rc == -1) {
		report(&c, 1, "%s", index_errmsg(v->index));
		c.fatal = c.incomplete = 1;
		rc = 0;
	}
	if (rc != 0)
		goto out;
	if (c.nkeyids > 0)
		qsort(c.keyids, c.nkeyids, sizeof(uint64_t), u64cmp);
	rc = tree_leaves(c.tx, check_leaf, &c);
	if (rc == -1) {
		report(&c, 1, "%s", tree_errmsg(v->tree));
		c.fatal = c.incomplete = 1;
		rc = 0;
	}
	if (rc != 0)
		goto out;
	index_abort(ix);
	ix = NULL;
	tree_abort(c.tx);
	c.tx = NULL;
	if (fix && c.incomplete && c.norphans + c.nkeyless > 0)
		report(&c, 1,
		    "nothing repaired: the index or the key tree could not be "
		    "read whole, so what looks orphan may not be; run check "
		    "--repair again once they read");
	else if (fix && (rc = repair(&c)) != 0)
		goto out;
	rc = res->problems > res->repaired ? COFFRE_EFAIL : 0;
	if (rc != 0)
		vault_err(v, COFFRE_EFAIL, "check found %llu problems",
		    (unsigned long long)(res->problems - res->repaired));
out:
	index_abort(ix);
	tree_abort(c.tx);
	vault_unlock(v);
	sodium_memzero(v->dk, 32);
	free(c.keyids);
	free(c.orphans);
	free(c.keyless);
	free(c.keyless_arc);
	return rc;
}
