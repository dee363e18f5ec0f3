/*
 * archive.c: contract archives under time-locked keys (SPEC.md sections 3,
 * 4 and 6; docs/RETENTION.md).  An archive is sealed under a leaf of its
 * contract's owner node AK, not of the user, so shredding the user leaves
 * it alone.  The contract's state (running or ended, end day, retain-until
 * day, holds) lives in AK's authenticated attributes in keys/, so that no
 * rollback of the data can shorten a retention.  Time is the system clock's
 * and nothing else's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

#include "keys/tree.h"
#include "vault/config.h"
#include "vault/index.h"
#include "vault/util.h"
#include "vault/vault.h"

int32_t
vault_today(void)
{
	return (int32_t)(time(NULL) / 86400);
}

int
vault_contract_expired(const struct tree_contract *c)
{
	return c->ended && c->holds == 0 && vault_today() > c->retain_until;
}

int
coffre_archive(coffre_vault *v, const char *user, const char *contract,
    const char *name, coffre_read_fn rd, void *rdctx,
    char id[COFFRE_DOCID_LEN + 1], char *type, uint64_t *size)
{
	return vault_seal(v, 1, user, contract, NULL, name, rd, rdctx, id, type,
	    size);
}

static int
check_ids(coffre_vault *v, const char *user, const char *contract)
{
	if (!coffre_valid_id(user) || !coffre_valid_id(contract))
		return vault_err(v, COFFRE_EREJECT,
		    "malformed user or contract id: 1 to 128 bytes of "
		    "[A-Za-z0-9._:@-]");
	return 0;
}

static int
check_reason(coffre_vault *v, const char *reason)
{
	size_t n;

	if (reason == NULL || reason[0] == '\0')
		return vault_err(v, COFFRE_EREJECT, "a reason is required");
	for (n = 0; reason[n] != '\0'; n++)
		if (n >= COFFRE_NOTE_MAX || (unsigned char)reason[n] < 0x20 ||
		    reason[n] == 0x7f)
			break;
	if (reason[n] != '\0' || !util_valid_utf8(reason))
		return vault_err(v, COFFRE_EREJECT,
		    "malformed reason: at most %d bytes of UTF-8, no control "
		    "characters",
		    COFFRE_NOTE_MAX);
	return 0;
}

/* The vault's retention period, kept with the keys at init. */
static int
retention_years(coffre_vault *v, struct tree_txn *tx, unsigned *years)
{
	uint64_t y;
	int rc = tree_meta_get(tx, "retention_years", &y);

	if (rc == TREE_ENOTFOUND)
		y = COFFRE_DEFAULT_RETENTION_YEARS;
	else if (rc != 0)
		return vault_tree_code(v, rc);
	if (y < 1 || y > 100)
		return vault_err(v, COFFRE_EFAIL,
		    "keys/tree.mdb: corrupt retention period");
	*years = (unsigned)y;
	return 0;
}

/* Find a contract in a write transaction; map the tree's codes. */
static int
contract_load(coffre_vault *v, struct tree_txn *tx, const char *user,
    const char *contract, struct tree_contract *c)
{
	int rc = tree_contract_find(tx, user, strlen(user), contract,
	    strlen(contract), c);

	if (rc == TREE_ENOTFOUND)
		return vault_err(v, COFFRE_ENOTFOUND,
		    "no archive was made for contract %s of user %s (or it was "
		    "swept)",
		    contract, user);
	if (rc != 0)
		return vault_tree_code(v, rc);
	return 0;
}

/* End a contract at ${day} within ${tx}; never shortens a retention. */
static int
contract_end_at(coffre_vault *v, struct tree_txn *tx, struct tree_contract *c,
    int32_t day, unsigned years)
{
	int32_t until = util_day_add_years(day, years);
	char a[11], b[11];

	if (c->ended && until < c->retain_until) {
		util_day_format(c->retain_until, a);
		util_day_format(until, b);
		return vault_err(v, COFFRE_ELOCKED,
		    "the contract is retained until %s; ending it on a date "
		    "that gives %s would shorten that, which is refused",
		    a, b);
	}
	if (c->ended && until == c->retain_until)
		return 0; /* the same end again */
	c->ended = 1;
	c->end_day = day;
	c->retain_until = until;
	if (tree_contract_set(tx, c) != 0)
		return vault_tree_code(v, -1);
	return 0;
}

struct ending {
	coffre_vault *v;
	struct tree_txn *tx;
	unsigned years;
	uint64_t count;
};

static int
end_running(void *ctx, struct tree_contract *c)
{
	struct ending *e = ctx;
	int rc;

	if (c->ended)
		return 0;
	if ((rc = contract_end_at(e->v, e->tx, c, vault_today(), e->years)) !=
	    0)
		return rc;
	e->count++;
	return 0;
}

int
vault_end_user_contracts(coffre_vault *v, struct tree_txn *tx, const char *user,
    uint64_t *count)
{
	struct ending e = {v, tx, 0, 0};
	int rc;

	*count = 0;
	if ((rc = retention_years(v, tx, &e.years)) != 0)
		return rc;
	rc = tree_contracts_of_user(tx, user, strlen(user), end_running, &e);
	if (rc == -1)
		return vault_tree_code(v, rc);
	*count = e.count;
	return rc;
}

int
coffre_contract_end(coffre_vault *v, const char *user, const char *contract,
    const char *date, char retain_until[11])
{
	struct tree_contract c = {0};
	struct tree_txn *tx = NULL;
	unsigned years = COFFRE_DEFAULT_RETENTION_YEARS;
	int32_t day = vault_today();
	struct audit_ev ev;
	char end[11];
	int rc;

	if ((rc = check_ids(v, user, contract)) != 0)
		return rc;
	if (date != NULL && util_day_parse(date, &day) != 0)
		return vault_err(v, COFFRE_EREJECT,
		    "malformed date '%.32s': YYYY-MM-DD", date);
	if ((rc = vault_lock(v, LOCK_EX)) != 0)
		return rc;
	if ((rc = tree_begin(v->tree, 1, &tx)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	if ((rc = retention_years(v, tx, &years)) != 0 ||
	    (rc = contract_load(v, tx, user, contract, &c)) != 0)
		goto out;
	/* Shortening is refused (7) before anything else; the same end
	 * again changes nothing; extending an expired one is refused (4). */
	if (vault_contract_expired(&c) &&
	    util_day_add_years(day, years) > c.retain_until) {
		/* Over is over: nothing brings an expired archive back. */
		rc = vault_err(v, COFFRE_EGONE,
		    "the retention of contract %s of user %s has ended; its "
		    "archives are unreadable and wait for the sweep",
		    contract, user);
		goto out;
	}
	if ((rc = contract_end_at(v, tx, &c, day, years)) != 0)
		goto out;
	util_day_format(c.retain_until, retain_until);
	util_day_format(c.end_day, end);
	audit_ev_init(&ev);
	audit_ev_str(&ev, "user", user);
	audit_ev_str(&ev, "contract", contract);
	audit_ev_str(&ev, "end_date", end);
	audit_ev_str(&ev, "retain_until", retain_until);
	if ((rc = audit_pend(v, tx, "contract-end", "done", &ev)) != 0)
		goto out;
	rc = tree_commit(tx);
	tx = NULL;
	if (rc != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	rc = audit_flush(v, NULL);
out:
	tree_abort(tx);
	if (rc >= COFFRE_ENOTFOUND) {
		audit_ev_init(&ev);
		audit_ev_str(&ev, "user", user);
		audit_ev_str(&ev, "contract", contract);
		audit_refused(v, "contract-end", rc, &ev);
	}
	vault_unlock(v);
	return rc;
}

int
coffre_hold(coffre_vault *v, const char *user, const char *contract,
    const char *reason, int on)
{
	struct tree_contract c = {0};
	struct tree_txn *tx = NULL;
	struct audit_ev ev;
	int rc;

	if ((rc = check_ids(v, user, contract)) != 0 ||
	    (rc = check_reason(v, reason)) != 0)
		return rc;
	if ((rc = vault_lock(v, LOCK_EX)) != 0)
		return rc;
	if ((rc = tree_begin(v->tree, 1, &tx)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	if ((rc = contract_load(v, tx, user, contract, &c)) != 0)
		goto out;
	if (on && vault_contract_expired(&c)) {
		rc = vault_err(v, COFFRE_EGONE,
		    "the retention of contract %s of user %s has ended: a hold "
		    "placed now cannot bring its archives back",
		    contract, user);
		goto out;
	}
	if (on) {
		if (c.holds >= 0xffff) {
			rc = vault_err(v, COFFRE_EREJECT, "too many holds");
			goto out;
		}
		c.holds++;
	} else {
		if (c.holds == 0) {
			rc = vault_err(v, COFFRE_ENOTFOUND,
			    "no hold stands on contract %s of user %s",
			    contract, user);
			goto out;
		}
		c.holds--;
	}
	if (tree_contract_set(tx, &c) != 0) {
		rc = vault_tree_code(v, -1);
		goto out;
	}
	audit_ev_init(&ev);
	audit_ev_str(&ev, "user", user);
	audit_ev_str(&ev, "contract", contract);
	audit_ev_num(&ev, "holds", c.holds);
	audit_ev_sealed(v, &ev, "reason_sealed", reason);
	if ((rc = audit_pend(v, tx, on ? "hold" : "release", "done", &ev)) != 0)
		goto out;
	rc = tree_commit(tx);
	tx = NULL;
	if (rc != 0)
		rc = vault_tree_code(v, rc);
	else
		rc = audit_flush(v, NULL);
out:
	tree_abort(tx);
	if (rc >= COFFRE_ENOTFOUND) {
		audit_ev_init(&ev);
		audit_ev_str(&ev, "user", user);
		audit_ev_str(&ev, "contract", contract);
		audit_refused(v, on ? "hold" : "release", rc, &ev);
	}
	vault_unlock(v);
	return rc;
}

/* Fill the contract part of ${a} from ${c}. */
static void
arc_state(struct coffre_archive *a, const struct tree_contract *c)
{
	a->ended = c->ended;
	a->holds = c->holds;
	a->end_date[0] = a->retain_until[0] = '\0';
	if (c->ended) {
		util_day_format(c->end_day, a->end_date);
		util_day_format(c->retain_until, a->retain_until);
	}
	if (vault_contract_expired(c))
		a->status = COFFRE_ARC_EXPIRED;
}

struct arclisting {
	coffre_vault *v;
	struct tree_txn *tx;
	const char *user;
	coffre_archive_fn fn;
	void *ctx;
	struct coffre_archive a;
};

static int
arc_one(void *ctx, const struct idoc *d)
{
	struct arclisting *l = ctx;
	struct tree_contract c = {0};
	int rc;

	if (l->user != NULL && strcmp(l->user, d->user) != 0)
		return 0;
	memset(&l->a, 0, sizeof(l->a));
	util_docid_encode(d->id, l->a.id);
	snprintf(l->a.user, sizeof(l->a.user), "%s", d->user);
	snprintf(l->a.contract, sizeof(l->a.contract), "%s", d->community);
	snprintf(l->a.type, sizeof(l->a.type), "%s", d->type);
	l->a.size = d->size;
	l->a.created = d->created;
	l->a.status = d->status == COFFRE_SHREDDED ? COFFRE_ARC_SHREDDED
						   : COFFRE_ARC_LIVE;
	rc = tree_contract_find(l->tx, d->user, strlen(d->user), d->community,
	    strlen(d->community), &c);
	if (rc == TREE_ENOTFOUND)
		l->a.status = COFFRE_ARC_SHREDDED; /* swept */
	else if (rc != 0)
		return vault_tree_code(l->v, rc);
	else if (l->a.status == COFFRE_ARC_LIVE)
		arc_state(&l->a, &c);
	else {
		arc_state(&l->a, &c);
		l->a.status = COFFRE_ARC_SHREDDED;
	}
	return l->fn(l->ctx, &l->a);
}

int
coffre_archives(coffre_vault *v, const char *user, coffre_archive_fn fn,
    void *ctx)
{
	struct arclisting *l;
	struct index_txn *ix = NULL;
	int rc;

	if (user != NULL && !coffre_valid_id(user))
		return vault_err(v, COFFRE_EREJECT, "malformed user id");
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	l->v = v;
	l->user = user;
	l->fn = fn;
	l->ctx = ctx;
	if ((rc = vault_lock(v, LOCK_SH)) != 0)
		goto out0;
	if ((rc = tree_begin(v->tree, 0, &l->tx)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	if (index_begin(v->index, 0, v->mackey, &ix) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	rc = index_arcs(ix, arc_one, l);
	if (rc == -1)
		rc = vault_index_code(v);
out:
	index_abort(ix);
	tree_abort(l->tx);
	vault_unlock(v);
out0:
	free(l);
	return rc;
}

/*
 * Load archive ${ids} and its contract; with ${key}, its key into v->dk.
 * Refuses an expired one as gone.  Takes no lock.
 */
static int
arc_load(coffre_vault *v, const char *ids, struct idoc *d,
    struct tree_contract *c, int key)
{
	struct tree_txn *tx = NULL;
	struct index_txn *ix = NULL;
	uint8_t raw[16];
	int rc;

	if (util_docid_decode(ids, raw) != 0)
		return vault_err(v, COFFRE_EREJECT,
		    "malformed archive id '%.40s'", ids);
	if (index_begin(v->index, 0, v->mackey, &ix) != 0)
		return vault_index_code(v);
	rc = index_arc_get(ix, raw, d);
	index_abort(ix);
	if (rc == INDEX_ENOTFOUND)
		return vault_err(v, COFFRE_ENOTFOUND, "no archive %s", ids);
	if (rc != 0)
		return vault_index_code(v);
	if (d->status == COFFRE_SHREDDED)
		return vault_err(v, COFFRE_EGONE, "archive %s was destroyed",
		    ids);
	if ((rc = tree_begin(v->tree, 0, &tx)) != 0)
		return vault_tree_code(v, rc);
	rc = tree_contract_find(tx, d->user, strlen(d->user), d->community,
	    strlen(d->community), c);
	if (rc == TREE_ENOTFOUND) {
		tree_abort(tx);
		return vault_err(v, COFFRE_EGONE,
		    "archive %s was destroyed (its contract was swept)", ids);
	}
	if (rc == 0 && key)
		rc = tree_node_key(tx, d->keyid, v->dk);
	tree_abort(tx);
	if (rc == TREE_ENOTFOUND)
		return vault_err(v, COFFRE_EGONE,
		    "archive %s was destroyed (its key is gone)", ids);
	if (rc != 0)
		return vault_tree_code(v, rc);
	return 0;
}

int
coffre_archive_reader(coffre_vault *v, const char *ids, const char *reason,
    coffre_reader **out, uint64_t *size, char type[COFFRE_TYPE_MAX + 1])
{
	struct idoc *d = calloc(1, sizeof(*d));
	struct tree_contract c = {0};
	struct audit_ev ev;
	char until[11];
	int rc;

	*out = NULL;
	if (d == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	if ((rc = check_reason(v, reason)) != 0)
		goto out;
	if ((rc = vault_lock(v, LOCK_SH)) != 0)
		goto out;
	rc = arc_load(v, ids, d, &c, 1);
	if (rc == 0 && vault_contract_expired(&c)) {
		util_day_format(c.retain_until, until);
		rc = vault_err(v, COFFRE_EGONE,
		    "archive %s: its retention ended on %s; it can no longer "
		    "be read",
		    ids, until);
	}
	/* Every read states its reason, which the log keeps (sealed). */
	audit_ev_init(&ev);
	if (coffre_valid_docid(ids))
		audit_ev_str(&ev, "archive", ids);
	if (rc == 0 || rc == COFFRE_EGONE) {
		audit_ev_str(&ev, "user", d->user);
		audit_ev_str(&ev, "contract", d->community);
	}
	audit_ev_sealed(v, &ev, "reason_sealed", reason);
	if (rc == 0) {
		*size = d->size;
		memcpy(type, d->type, COFFRE_TYPE_MAX + 1);
	}
	rc = vault_read(v, "archive-open", ids, rc, &ev, d, out);
out:
	sodium_memzero(v->dk, 32);
	free(d);
	return rc;
}

int
coffre_archive_open(coffre_vault *v, const char *ids, const char *reason,
    coffre_write_fn wr, void *wrctx)
{
	char type[COFFRE_TYPE_MAX + 1];
	coffre_reader *r;
	uint64_t size;
	int rc;

	if ((rc = coffre_archive_reader(v, ids, reason, &r, &size, type)) !=
		0 ||
	    r == NULL)
		return rc != 0 ? rc : vault_err(v, COFFRE_EFAIL, "no reader");
	return vault_pump(v, r, wr, wrctx);
}

/* Mark archive records whose key is gone as destroyed, in one commit. */
struct arcmark {
	coffre_vault *v;
	struct tree_txn *tx;
	struct idoc *batch;
	size_t n, cap;
};

static int
arcmark_collect(void *ctx, const struct idoc *d)
{
	struct arcmark *m = ctx;
	int rc;

	if (d->status == COFFRE_SHREDDED)
		return 0;
	if ((rc = tree_node_exists(m->tx, d->keyid)) != 0)
		return rc == 1 ? 0 : vault_tree_code(m->v, -1);
	if (vault_grow(m->v, (void **)&m->batch, &m->cap, m->n,
		sizeof(*m->batch)) != 0)
		return COFFRE_EFAIL;
	m->batch[m->n++] = *d;
	return 0;
}

static int
mark_gone_archives(coffre_vault *v, uint64_t *count)
{
	struct arcmark m = {v, NULL, NULL, 0, 0};
	struct index_txn *ix = NULL;
	int rc;

	if ((rc = tree_begin(v->tree, 0, &m.tx)) != 0)
		return vault_tree_code(v, rc);
	if (index_begin(v->index, 1, v->mackey, &ix) != 0) {
		rc = vault_index_code(v);
		goto out;
	}
	rc = index_arcs(ix, arcmark_collect, &m);
	if (rc == -1)
		rc = vault_index_code(v);
	for (size_t i = 0; rc == 0 && i < m.n; i++) {
		m.batch[i].status = COFFRE_SHREDDED;
		m.batch[i].snamelen = 0;
		if (index_arc_put(ix, &m.batch[i]) != 0)
			rc = vault_index_code(v);
	}
	/* The pending event of the sweep or shred moves into the log. */
	if (rc == 0)
		rc = audit_flush(v, ix);
	if (rc == 0) {
		rc = index_commit_lazy(ix);
		ix = NULL;
		if (rc != 0)
			rc = vault_index_code(v);
	}
	*count = m.n;
out:
	index_abort(ix);
	tree_abort(m.tx);
	free(m.batch);
	return rc;
}

int
coffre_shred_archive(coffre_vault *v, const char *ids,
    struct coffre_shred_result *res)
{
	struct idoc *d = calloc(1, sizeof(*d));
	struct tree_contract c = {0};
	struct tree_shred_stats st = {0};
	struct tree_txn *tx = NULL;
	struct audit_ev ev;
	uint8_t fp[16];
	uint64_t n;
	char until[11];
	int rc;

	memset(res, 0, sizeof(*res));
	if (d == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	if ((rc = vault_lock(v, LOCK_EX)) != 0)
		goto out0;
	if ((rc = arc_load(v, ids, d, &c, 0)) != 0)
		goto out;
	if (!vault_contract_expired(&c)) {
		if (!c.ended)
			rc = vault_err(v, COFFRE_ELOCKED,
			    "archive %s: its contract is still running; it is "
			    "kept for the retention period after it ends",
			    ids);
		else if (c.holds > 0)
			rc = vault_err(v, COFFRE_ELOCKED,
			    "archive %s: a legal hold stands on its contract",
			    ids);
		else {
			util_day_format(c.retain_until, until);
			rc = vault_err(v, COFFRE_ELOCKED,
			    "archive %s is retained until %s; it cannot be "
			    "destroyed before",
			    ids, until);
		}
		goto out;
	}
	st.fp = fp;
	st.fpmax = 1;
	if ((rc = tree_begin(v->tree, 1, &tx)) != 0 ||
	    (rc = tree_shred(tx, &d->keyid, 1, &st)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	audit_ev_init(&ev);
	audit_ev_str(&ev, "archive", ids);
	audit_ev_str(&ev, "user", d->user);
	audit_ev_str(&ev, "contract", d->community);
	audit_ev_shred(&ev, &st);
	if ((rc = audit_pend(v, tx, "shred-archive", "done", &ev)) != 0)
		goto out;
	rc = tree_commit(tx);
	tx = NULL;
	if (rc != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	res->documents = 1;
	vault_shred_result(res, &st);
	rc = mark_gone_archives(v, &n);
out:
	if (tree_settle(v->tree) != 0 && rc == 0)
		rc = vault_tree_code(v, -1);
	tree_abort(tx);
	if (rc >= COFFRE_ENOTFOUND && coffre_valid_docid(ids)) {
		audit_ev_init(&ev);
		audit_ev_str(&ev, "archive", ids);
		audit_refused(v, "shred-archive", rc, &ev);
	}
	vault_unlock(v);
out0:
	free(d);
	return rc;
}

/* Sweep: collect expired contracts and documents past their class. */
struct sweeping {
	coffre_vault *v;
	struct tree_txn *tx;
	struct index_txn *ix;
	uint64_t *nodes;
	size_t n, cap;
	struct idoc *docs;
	size_t ndocs, capdocs;
	uint64_t contracts;
	size_t ncontract_nodes; /* nodes[0 .. ncontract_nodes): contracts */
	int64_t now;
};

/*
 * One event per swept contract, naming its user and contract, so that a
 * shred report finds it: the ids come from the archive records whose key
 * hangs under an expired contract node.
 */
struct naming {
	struct sweeping *s;
	uint8_t *named; /* a bit per contract node: already named */
};

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int
name_one(void *ctx, const struct idoc *d)
{
	struct naming *nm = ctx;
	struct sweeping *s = nm->s;
	struct audit_ev ev;
	uint64_t parent, *at;
	size_t k;

	if (d->status == COFFRE_SHREDDED ||
	    tree_node_parent(s->tx, d->keyid, &parent) != 0 ||
	    (at = bsearch(&parent, s->nodes, s->ncontract_nodes,
		 sizeof(uint64_t), u64_cmp)) == NULL)
		return 0;
	/* One event per contract, the first time one of its archives is
	 * seen. */
	k = (size_t)(at - s->nodes);
	if (nm->named[k / 8] & (1u << (k % 8)))
		return 0;
	nm->named[k / 8] |= (uint8_t)(1u << (k % 8));
	audit_ev_init(&ev);
	audit_ev_str(&ev, "user", d->user);
	audit_ev_str(&ev, "contract", d->community);
	return audit_pend(s->v, s->tx, "sweep-contract", "done", &ev);
}

static int
add_node(struct sweeping *s, uint64_t node)
{
	if (vault_grow(s->v, (void **)&s->nodes, &s->cap, s->n,
		sizeof(*s->nodes)) != 0)
		return COFFRE_EFAIL;
	s->nodes[s->n++] = node;
	return 0;
}

static int
sweep_contract(void *ctx, struct tree_contract *c)
{
	struct sweeping *s = ctx;

	if (!vault_contract_expired(c))
		return 0;
	s->contracts++;
	return add_node(s, c->node);
}

static int
last_review(void *ctx, const struct ireview *r)
{
	*(int64_t *)ctx = r->at;
	return 0;
}

static int
sweep_doc(void *ctx, const struct idoc *d)
{
	struct sweeping *s = ctx;
	const struct config *conf = &s->v->conf;
	int64_t at = -1;
	int i, rc;

	if (d->status != COFFRE_APPROVED && d->status != COFFRE_REJECTED)
		return 0;
	for (i = 0; i < conf->nclasses; i++)
		if (strcmp(conf->classes[i].kind, d->kind) == 0)
			break;
	if (i == conf->nclasses)
		return 0;
	if ((rc = index_reviews(s->ix, d->id, last_review, &at)) != 0)
		return rc == -1 ? vault_index_code(s->v) : rc;
	if (at < 0 || at + (int64_t)conf->classes[i].days * 86400 > s->now)
		return 0;
	if (vault_grow(s->v, (void **)&s->docs, &s->capdocs, s->ndocs,
		sizeof(*s->docs)) != 0)
		return COFFRE_EFAIL;
	s->docs[s->ndocs++] = *d;
	return add_node(s, d->keyid);
}

/* The documents a sweep destroyed, marked in the index. */
static int
sweep_mark_docs(coffre_vault *v, struct sweeping *s)
{
	struct index_txn *ix = NULL;

	if (index_begin(v->index, 1, v->mackey, &ix) != 0)
		return vault_index_code(v);
	for (size_t i = 0; i < s->ndocs; i++) {
		s->docs[i].status = COFFRE_SHREDDED;
		s->docs[i].snamelen = 0;
		if (index_doc_put(ix, &s->docs[i]) != 0) {
			index_abort(ix);
			return vault_index_code(v);
		}
	}
	if (index_commit_lazy(ix) != 0)
		return vault_index_code(v);
	return 0;
}

/* coffre_sweep(), once; *again when it must run again (the map grew). */
static int
sweep_once(coffre_vault *v, struct coffre_sweep_result *res, int retry,
    int *again)
{
	struct sweeping s;
	struct tree_shred_stats st = {0};
	struct audit_ev ev;
	uint8_t fp[16 * 16];
	struct index_txn *ix = NULL;
	int rc, committed = 0;

	*again = 0;
	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	memset(&st, 0, sizeof(st));
	s.v = v;
	s.now = (int64_t)time(NULL);
	if ((rc = vault_lock(v, LOCK_EX)) != 0)
		return rc;
	if ((rc = tree_begin(v->tree, 1, &s.tx)) != 0) {
		rc = vault_tree_code(v, rc);
		goto out;
	}
	st.epoch_before = st.epoch_after = tree_epoch(s.tx);
	rc = tree_contracts_all(s.tx, sweep_contract, &s);
	if (rc == -1)
		rc = vault_tree_code(v, rc);
	if (rc != 0)
		goto out;
	/* The contract nodes come first; sorted, for name_one(). */
	s.ncontract_nodes = s.n;
	if (s.n > 0)
		qsort(s.nodes, s.n, sizeof(uint64_t), u64_cmp);
	if (v->conf.nclasses > 0) {
		if (index_begin(v->index, 0, v->mackey, &s.ix) != 0) {
			rc = vault_index_code(v);
			goto out;
		}
		rc = index_docs(s.ix, NULL, sweep_doc, &s);
		index_abort(s.ix);
		s.ix = NULL;
		if (rc == -1)
			rc = vault_index_code(v);
		if (rc != 0)
			goto out;
	}
	res->contracts = s.contracts;
	if (s.n > 0) {
		/* One batch: each affected node re-keyed once, one root. */
		/* Name what goes, while the keys are still there to ask. */
		if (s.ncontract_nodes > 0) {
			struct naming nm = {&s, NULL};
			if ((nm.named = calloc(s.ncontract_nodes / 8 + 1, 1)) ==
			    NULL) {
				rc =
				    vault_err(v, COFFRE_EFAIL, "out of memory");
				goto out;
			}
			if (index_begin(v->index, 0, v->mackey, &ix) != 0) {
				free(nm.named);
				rc = vault_index_code(v);
				goto out;
			}
			rc = index_arcs(ix, name_one, &nm);
			free(nm.named);
			index_abort(ix);
			ix = NULL;
			if (rc != 0) {
				if (rc == -1)
					rc = vault_index_code(v);
				goto out;
			}
		}
		for (size_t i = 0; i < s.ndocs; i++) {
			char ids[COFFRE_DOCID_LEN + 1];
			util_docid_encode(s.docs[i].id, ids);
			audit_ev_init(&ev);
			audit_ev_str(&ev, "doc", ids);
			audit_ev_str(&ev, "user", s.docs[i].user);
			audit_ev_str(&ev, "kind", s.docs[i].kind);
			if ((rc = audit_pend(v, s.tx, "sweep-doc", "done",
				 &ev)) != 0)
				goto out;
		}
		st.fp = fp;
		st.fpmax = sizeof(fp) / 16;
		if ((rc = tree_shred(s.tx, s.nodes, s.n, &st)) != 0) {
			rc = vault_tree_code(v, rc);
			goto out;
		}
		audit_ev_init(&ev);
		audit_ev_num(&ev, "contracts", s.contracts);
		audit_ev_num(&ev, "documents", s.ndocs);
		audit_ev_num(&ev, "nodes_rekeyed", st.rekeyed);
		audit_ev_shred(&ev, &st);
		if ((rc = audit_pend(v, s.tx, "sweep", "done", &ev)) != 0)
			goto out;
		rc = tree_commit(s.tx);
		s.tx = NULL;
		if (rc != 0) {
			rc = vault_tree_code(v, rc);
			goto out;
		}
		committed = 1;
		/* The keys are gone; the index says so, each part run again
		 * when it filled the map (now grown). */
		int marked = 0;
		for (int tries = 0;; tries++) {
			/* What committed is not run again. */
			rc = 0;
			if (!marked &&
			    (rc = mark_gone_archives(v, &res->archives)) == 0)
				marked = 1;
			if (rc == 0 && s.ndocs > 0)
				rc = sweep_mark_docs(v, &s);
			if (rc != COFFRE_EFAIL || tries == VAULT_MAP_TRIES ||
			    index_map_grow(v->index) != 1)
				break;
		}
		if (rc != 0)
			goto out;
		res->documents = s.ndocs;
	}
	if (s.n == 0) {
		/* A sweep that found nothing is on record too. */
		tree_abort(s.tx);
		s.tx = NULL;
		audit_ev_init(&ev);
		audit_ev_num(&ev, "contracts", 0);
		audit_ev_num(&ev, "documents", 0);
		audit_ev_num(&ev, "keys_destroyed", 0);
		if ((rc = audit_log(v, "sweep", "done", &ev)) != 0)
			goto out;
		committed = 1; /* the event: not to be logged twice */
		/* Records a crashed sweep left marked live are marked now. */
		if ((rc = mark_gone_archives(v, &res->archives)) != 0)
			goto out;
	}
	res->keys_destroyed = st.destroyed;
	res->wraps = st.wraps;
	res->rekeyed = st.rekeyed;
	res->epoch_before = st.epoch_before;
	res->epoch_after = st.epoch_after;
out:
	if (tree_settle(v->tree) != 0 && rc == 0)
		rc = vault_tree_code(v, -1);
	index_abort(ix);
	index_abort(s.ix);
	tree_abort(s.tx);
	/* Nothing was committed: after the map grew, all of it again. */
	*again =
	    rc == COFFRE_EFAIL && !committed && retry && vault_map_grow(v) == 1;
	vault_unlock(v);
	free(s.nodes);
	free(s.docs);
	return rc;
}

int
coffre_sweep(coffre_vault *v, struct coffre_sweep_result *res)
{
	int rc, again = 0;

	for (int tries = 0;; tries++) {
		rc = sweep_once(v, res, tries < VAULT_MAP_TRIES, &again);
		if (!again)
			return rc;
	}
}
