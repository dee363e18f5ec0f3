/*
 * serve.h: `coffre serve`, the daemon: HTTP/1.1 over a unix socket
 * (libmicrohttpd), roles by peer credentials (SPEC.md sections 1 and 5).
 */
#ifndef COFFRE_CLI_SERVE_H
#define COFFRE_CLI_SERVE_H

/* The roles of SPEC.md section 1, as bits. */
#define ROLE_BACKEND 1u
#define ROLE_REVIEWER 2u
#define ROLE_AUDITOR 4u
#define ROLE_ADMIN 8u

struct serve_opts {
	const char *dir;          /* the vault */
	const char *socket;       /* NULL: only a socket passed by systemd */
	const char *group;        /* --socket-group, or NULL */
	const char *const *allow; /* --allow values */
	int nallow;
	unsigned timeout;         /* seconds a request may take; 0: default */
	unsigned max_connections; /* 0: default */
	unsigned max_per_uid;     /* 0: default */
	const char *pass;         /* root key passphrase, or NULL */
	size_t passlen;
};

/*
 * serve_run(o): run the daemon until SIGTERM or SIGINT.  Returns the exit
 * status (0 after a clean stop), having said what failed on stderr.
 */
int serve_run(const struct serve_opts *o);

#endif /* !COFFRE_CLI_SERVE_H */
