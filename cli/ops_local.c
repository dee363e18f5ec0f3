/*
 * ops_local.c: the embedded implementation of the command's operations:
 * each one is the library call of include/coffre.h on a vault opened here.
 */
#include "cli/ops.h"

static const char *
l_errmsg(void *be)
{
	return coffre_errmsg(be);
}

static int
l_seal(void *be, const char *user, const char *community, const char *kind,
    const char *name, coffre_read_fn rd, void *rdctx,
    char id[COFFRE_DOCID_LEN + 1], char *type, uint64_t *size)
{
	return coffre_seal(be, user, community, kind, name, rd, rdctx, id, type,
	    size);
}

static int
l_open_doc(void *be, const char *id, coffre_write_fn wr, void *wrctx)
{
	return coffre_open_doc(be, id, wr, wrctx);
}

static int
l_info(void *be, const char *id, struct coffre_doc *doc)
{
	return coffre_info(be, id, doc);
}

static int
l_list(void *be, const struct coffre_filter *f, coffre_list_fn fn, void *ctx)
{
	return coffre_list(be, f, fn, ctx);
}

static int
l_review(void *be, const char *id, int decision, const char *note)
{
	return coffre_review(be, id, decision, note);
}

static int
l_shred_user(void *be, const char *user, struct coffre_shred_result *res)
{
	return coffre_shred_user(be, user, res);
}

static int
l_shred_doc(void *be, const char *id, struct coffre_shred_result *res)
{
	return coffre_shred_doc(be, id, res);
}

static int
l_check(void *be, int repair, coffre_report_fn fn, void *ctx,
    struct coffre_check_result *res)
{
	return coffre_check(be, repair, fn, ctx, res);
}

static int
l_scan(void *be, coffre_report_fn fn, void *ctx, struct coffre_scan_result *res)
{
	return coffre_scan(be, fn, ctx, res);
}

static int
l_archive(void *be, const char *user, const char *contract, const char *name,
    coffre_read_fn rd, void *rdctx, char id[COFFRE_DOCID_LEN + 1], char *type,
    uint64_t *size)
{
	return coffre_archive(be, user, contract, name, rd, rdctx, id, type,
	    size);
}

static int
l_contract_end(void *be, const char *user, const char *contract,
    const char *date, char retain_until[11])
{
	return coffre_contract_end(be, user, contract, date, retain_until);
}

static int
l_hold(void *be, const char *user, const char *contract, const char *reason,
    int on)
{
	return coffre_hold(be, user, contract, reason, on);
}

static int
l_archives(void *be, const char *user, coffre_archive_fn fn, void *ctx)
{
	return coffre_archives(be, user, fn, ctx);
}

static int
l_archive_open(void *be, const char *id, const char *reason, coffre_write_fn wr,
    void *wrctx)
{
	return coffre_archive_open(be, id, reason, wr, wrctx);
}

static int
l_shred_archive(void *be, const char *id, struct coffre_shred_result *res)
{
	return coffre_shred_archive(be, id, res);
}

static int
l_sweep(void *be, struct coffre_sweep_result *res)
{
	return coffre_sweep(be, res);
}

static int
l_audit_verify(void *be, struct coffre_verify_result *res)
{
	return coffre_audit_verify(be, res);
}

static int
l_audit_lines(void *be, const char *user, int open_reasons, coffre_line_fn fn,
    void *ctx)
{
	return coffre_audit_lines(be, user, open_reasons, fn, ctx);
}

static int
l_shred_report(void *be, const char *user, coffre_line_fn fn, void *ctx)
{
	return coffre_shred_report(be, user, fn, ctx);
}

static int
l_import(void *be, const char *user, const char *community, coffre_read_fn rd,
    coffre_seek_fn seek, void *rdctx, coffre_import_fn fn, void *ctx,
    struct coffre_import_result *res)
{
	return coffre_import(be, user, community, NULL, rd, seek, rdctx, fn,
	    ctx, res);
}

static int
l_export(void *be, const char *user, int format, coffre_write_fn wr,
    void *wrctx)
{
	return coffre_export(be, user, format, wr, wrctx);
}

static void
l_close(void *be)
{
	coffre_close(be);
}

static const struct ops local_ops = {
    .errmsg = l_errmsg,
    .seal = l_seal,
    .open_doc = l_open_doc,
    .info = l_info,
    .list = l_list,
    .review = l_review,
    .shred_user = l_shred_user,
    .shred_doc = l_shred_doc,
    .check = l_check,
    .scan = l_scan,
    .archive = l_archive,
    .contract_end = l_contract_end,
    .hold = l_hold,
    .archives = l_archives,
    .archive_open = l_archive_open,
    .shred_archive = l_shred_archive,
    .sweep = l_sweep,
    .audit_verify = l_audit_verify,
    .audit_lines = l_audit_lines,
    .shred_report = l_shred_report,
    .import = l_import,
    .export = l_export,
    .close = l_close,
};

int
ops_local_open(const char *dir, const char *pass, size_t passlen,
    const struct ops **ops, void **be, char *err, size_t errlen)
{
	coffre_vault *v;
	int rc = coffre_open(dir, pass, passlen, &v, err, errlen);

	if (rc != 0)
		return rc;
	*ops = &local_ops;
	*be = v;
	return 0;
}
