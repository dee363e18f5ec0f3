/*
 * ops.h: the operations behind the coffre command, as one interface with
 * one implementation per way of reaching a vault: embedded (ops_local.c,
 * the library opens DIR itself) and, later, the daemon's client over its
 * socket.  Commands in main.c call only these, so that no command is
 * written twice.  Every operation returns 0 or a COFFRE_E* code and leaves
 * the detail in errmsg().
 */
#ifndef COFFRE_CLI_OPS_H
#define COFFRE_CLI_OPS_H

#include "coffre.h"

struct ops {
	const char *(*errmsg)(void *be);
	int (*seal)(void *be, const char *user, const char *community,
	    const char *kind, const char *name, coffre_read_fn rd, void *rdctx,
	    char id[COFFRE_DOCID_LEN + 1], char *type, uint64_t *size);
	int (*open_doc)(void *be, const char *id, coffre_write_fn wr,
	    void *wrctx);
	int (*info)(void *be, const char *id, struct coffre_doc *doc);
	int (*list)(void *be, const struct coffre_filter *f, coffre_list_fn fn,
	    void *ctx);
	int (*review)(void *be, const char *id, int decision, const char *note);
	int (*shred_user)(void *be, const char *user,
	    struct coffre_shred_result *res);
	int (*shred_doc)(void *be, const char *id,
	    struct coffre_shred_result *res);
	int (*check)(void *be, int repair, coffre_report_fn fn, void *ctx,
	    struct coffre_check_result *res);
	int (*scan)(void *be, coffre_report_fn fn, void *ctx,
	    struct coffre_scan_result *res);
	int (*archive)(void *be, const char *user, const char *contract,
	    const char *name, coffre_read_fn rd, void *rdctx,
	    char id[COFFRE_DOCID_LEN + 1], char *type, uint64_t *size);
	int (*contract_end)(void *be, const char *user, const char *contract,
	    const char *date, char retain_until[11]);
	int (*hold)(void *be, const char *user, const char *contract,
	    const char *reason, int on);
	int (*archives)(void *be, const char *user, coffre_archive_fn fn,
	    void *ctx);
	int (*archive_open)(void *be, const char *id, const char *reason,
	    coffre_write_fn wr, void *wrctx);
	int (*shred_archive)(void *be, const char *id,
	    struct coffre_shred_result *res);
	int (*sweep)(void *be, struct coffre_sweep_result *res);
	int (*audit_verify)(void *be, struct coffre_verify_result *res);
	int (*audit_lines)(void *be, const char *user, int open_reasons,
	    coffre_line_fn fn, void *ctx);
	int (*shred_report)(void *be, const char *user, coffre_line_fn fn,
	    void *ctx);
	int (*import)(void *be, const char *user, const char *community,
	    coffre_read_fn rd, coffre_seek_fn seek, void *rdctx,
	    coffre_import_fn fn, void *ctx, struct coffre_import_result *res);
	int (*export)(void *be, const char *user, int format,
	    coffre_write_fn wr, void *wrctx);
	void (*close)(void *be);
};

/*
 * ops_local_open(dir, pass, passlen, ops, be, err, errlen): the embedded
 * implementation on the vault in ${dir}.  Returns 0 or a COFFRE_E* code
 * with a message in ${err}.
 */
int ops_local_open(const char *dir, const char *pass, size_t passlen,
    const struct ops **ops, void **be, char *err, size_t errlen);

/*
 * ops_client_open(socket, ops, be, err, errlen): the daemon's client on
 * the unix socket ${socket}.  Returns 0 or a COFFRE_E* code with a message
 * in ${err} (COFFRE_ENODAEMON when no daemon answers there).
 */
int ops_client_open(const char *socket, const struct ops **ops, void **be,
    char *err, size_t errlen);

#endif /* !COFFRE_CLI_OPS_H */
