/*
 * serve_int.h: what serve.c (the daemon) and routes.c (its HTTP routes)
 * share.
 */
#ifndef COFFRE_CLI_SERVE_INT_H
#define COFFRE_CLI_SERVE_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <microhttpd.h>

#include "cli/serve.h"
#include "coffre.h"
#include "vault/config.h"

#define GRANTS_MAX 128
#define BATCH_MAX 64

/* One --allow grant. */
struct grant {
	unsigned role; /* one ROLE_* bit */
	int is_gid;
	uint32_t id;
	char comms[CONFIG_ALLOW_LEN + 1]; /* reviewer: "" for every one */
};

struct grants {
	int n;
	struct grant g[GRANTS_MAX];
};

/* One client connection, from accept to close. */
struct conn {
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	unsigned roles;
	int reviewer_all; /* a reviewer grant without communities */
	char comms[4096]; /* else the communities a reviewer may see */
	time_t mark;      /* start of the current request or idle time */
	int bound, cut;
	struct conn *next, **pprev;
};

/* A seal waiting for the committer. */
struct seal_job {
	struct coffre_seal_req req;
	int done;
	struct seal_job *next;
};

struct server {
	const struct serve_opts *o;
	const char *dir;
	coffre_vault *v;
	pthread_mutex_t vmu; /* every library call on v */
	uint64_t max_doc, max_bundle;
	unsigned timeout, maxconn, peruid;
	int verbose, mlock_ok;
	struct MHD_Daemon *mhd;
	int lfd, wake[2];
	const char *unlink_path;
	/* Grants, swapped on SIGHUP. */
	pthread_rwlock_t glock;
	struct grants *grants;
	/* Connections and requests in flight. */
	pthread_mutex_t cmu;
	pthread_cond_t ccv;
	struct conn *conns;
	unsigned nconn, inflight;
	int stopping;
	int fatal; /* the vault handle is unusable: stop, exit 1 */
	/* Refused sockets, closed once their client hangs up. */
	struct {
		int fd;
		time_t until;
	} linger[256];
	int nlinger;
	/* The committer's queue. */
	pthread_mutex_t bmu;
	pthread_cond_t bcv, dcv;
	struct seal_job *queue, **qtail;
	int bstop;
	uint64_t batches, batched;
};

extern struct server S;

void slog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *role_name(unsigned bit);
int comm_in(const char *list, const char *c);

/*
 * serve_probe(): after a failure (S.vmu held), ask the handle a question
 * that must work; if the database refuses it too (LMDB refuses everything
 * once a commit's write failed), stop the daemon with status 1 so that a
 * restart (coffre.service: Restart=on-failure) opens the vault afresh.
 */
void serve_probe(void);

/* seal_submit(j): queue ${j} for the next group commit; wait for it. */
void seal_submit(struct seal_job *j);

/* routes.c */
enum MHD_Result route_handler(void *cls, struct MHD_Connection *mc,
    const char *url, const char *method, const char *version,
    const char *upload, size_t *upsize, void **con_cls);
void route_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
    enum MHD_RequestTerminationCode toe);

#endif /* !COFFRE_CLI_SERVE_INT_H */
