/*
 * serve.c: the daemon.  A thread of ours accepts on the unix socket, reads
 * the caller's credentials (SO_PEERCRED, SO_PEERGROUPS), refuses a caller
 * with no role (or over a connection cap) before reading anything from
 * it, and hands the others to libmicrohttpd, one thread per connection, so
 * that a slow client or a sync never holds up the others.  Calls into the
 * library are serialised on one mutex; uploads are spooled first (in
 * locked memory, past 512 KiB encrypted under a one-time key in an unlinked
 * file) and sealed by one committer thread in batches that share their
 * syncs (group commit); downloads are read outside the mutex, at the
 * client's pace.  Routes are in routes.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/serve.h"
#include "cli/serve_int.h"
#include "vault/config.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

#define DEF_TIMEOUT 60
#define DEF_MAXCONN 256
#define DEF_PERUID 64
#define HDR_MEMORY (64 * 1024)
#define LINGER_MAX 256
#define SWEEP_EVERY (24 * 3600)

struct server S;

void
slog(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "coffre: serve: %s\n", buf);
}

/* ---- roles ---- */

static const char *const role_names[] = {"backend", "reviewer", "auditor",
    "admin"};

const char *
role_name(unsigned bit)
{
	for (int i = 0; i < 4; i++)
		if (bit == (1u << i))
			return role_names[i];
	return "none";
}

/*
 * Parse "ROLE=uid:N" or "ROLE=gid:N" with an optional "@C1,C2" (reviewer
 * only) into ${g}.  0, or -1 with a message in ${err}.
 */
static int
grant_parse(const char *s, struct grant *g, char *err, size_t errlen)
{
	const char *eq = strchr(s, '='), *at, *p;
	char *end;
	unsigned long id;
	int i;

	memset(g, 0, sizeof(*g));
	if (eq == NULL)
		goto bad;
	for (i = 0; i < 4; i++)
		if ((size_t)(eq - s) == strlen(role_names[i]) &&
		    strncmp(s, role_names[i], (size_t)(eq - s)) == 0)
			break;
	if (i == 4) {
		snprintf(err, errlen,
		    "'%.64s': the role is backend, reviewer, auditor or admin",
		    s);
		return -1;
	}
	g->role = 1u << i;
	p = eq + 1;
	if (strncmp(p, "uid:", 4) == 0)
		g->is_gid = 0;
	else if (strncmp(p, "gid:", 4) == 0)
		g->is_gid = 1;
	else
		goto bad;
	p += 4;
	if (*p < '0' || *p > '9')
		goto bad;
	errno = 0;
	id = strtoul(p, &end, 10);
	if (errno != 0 || id > 0xfffffffeUL || (*end != '\0' && *end != '@'))
		goto bad;
	g->id = (uint32_t)id;
	if (*end == '@') {
		at = end + 1;
		if (g->role != ROLE_REVIEWER) {
			snprintf(err, errlen,
			    "'%.64s': only a reviewer grant takes "
			    "@COMMUNITY,...",
			    s);
			return -1;
		}
		if (strlen(at) >= sizeof(g->comms) || *at == '\0')
			goto bad;
		snprintf(g->comms, sizeof(g->comms), "%s", at);
		/* Each one a valid community id. */
		for (char *c = g->comms, *save = NULL, *tok;
		     (tok = strtok_r(c, ",", &save)) != NULL; c = NULL)
			if (!coffre_valid_id(tok))
				goto bad;
		snprintf(g->comms, sizeof(g->comms), "%s", at);
	}
	return 0;
bad:
	snprintf(err, errlen,
	    "'%.64s': a grant is ROLE=uid:N or ROLE=gid:N (a reviewer's may "
	    "end in @COMMUNITY,...)",
	    s);
	return -1;
}

/* The grants of the command line and of DIR/coffre.conf, afresh. */
static int
grants_load(struct grants **out, char *err, size_t errlen)
{
	struct grants *gs = calloc(1, sizeof(*gs));
	struct config *conf = calloc(1, sizeof(*conf));
	int rc = -1;

	if (gs == NULL || conf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (config_load(S.dir, conf, err, errlen) != 0)
		goto out;
	for (int i = 0; i < S.o->nallow + conf->nallow; i++) {
		const char *s = i < S.o->nallow ? S.o->allow[i]
						: conf->allow[i - S.o->nallow];
		if (gs->n == GRANTS_MAX) {
			snprintf(err, errlen, "more than %d grants",
			    GRANTS_MAX);
			goto out;
		}
		if (grant_parse(s, &gs->g[gs->n], err, errlen) != 0)
			goto out;
		gs->n++;
	}
	*out = gs;
	gs = NULL;
	rc = 0;
out:
	free(gs);
	free(conf);
	return rc;
}

/* Does the comma list ${list} hold ${c}? */
int
comm_in(const char *list, const char *c)
{
	size_t n = strlen(c);

	for (const char *p = list; *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t m = e != NULL ? (size_t)(e - p) : strlen(p);
		if (m == n && strncmp(p, c, n) == 0)
			return 1;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return 0;
}

/* The roles of a caller, and a reviewer's communities. */
static void
roles_of(struct conn *c, const gid_t *groups, int ngroups)
{
	size_t used = 0;

	pthread_rwlock_rdlock(&S.glock);
	for (int i = 0; i < S.grants->n; i++) {
		const struct grant *g = &S.grants->g[i];
		int match = 0;
		if (!g->is_gid)
			match = c->uid == (uid_t)g->id;
		else if (c->gid == (gid_t)g->id)
			match = 1;
		else
			for (int j = 0; j < ngroups && !match; j++)
				match = groups[j] == (gid_t)g->id;
		if (!match)
			continue;
		c->roles |= g->role;
		if (g->role != ROLE_REVIEWER)
			continue;
		if (g->comms[0] == '\0') {
			c->reviewer_all = 1;
		} else if (used + strlen(g->comms) + 2 < sizeof(c->comms)) {
			if (used > 0)
				c->comms[used++] = ',';
			memcpy(c->comms + used, g->comms, strlen(g->comms) + 1);
			used += strlen(g->comms);
		}
	}
	pthread_rwlock_unlock(&S.glock);
}

/* ---- connections ---- */

/* A fixed answer written before anything is read, then a lingering close. */
static void
refuse_raw(int fd, int status, const char *code, const char *msg)
{
	char body[512], head[256];
	int bl, hl;

	bl = snprintf(body, sizeof(body),
	    "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n", code, msg);
	hl = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n",
	    status, status == 403 ? "Forbidden" : "Service Unavailable", bl);
	(void)send(fd, head, (size_t)hl, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)send(fd, body, (size_t)bl, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)shutdown(fd, SHUT_WR);
	/* Closed once the client hangs up (or after a while), never read:
	 * closing at once could reset the connection before it reads. */
	if (S.nlinger < LINGER_MAX) {
		S.linger[S.nlinger].fd = fd;
		S.linger[S.nlinger].until = time(NULL) + 2;
		S.nlinger++;
	} else {
		close(fd);
	}
}

static unsigned
count_uid(uid_t uid)
{
	unsigned n = 0;

	for (struct conn *c = S.conns; c != NULL; c = c->next)
		n += c->uid == uid;
	return n;
}

static void
accept_one(void)
{
	struct sockaddr_un sa;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	gid_t groups[256];
	socklen_t glen = sizeof(groups);
	struct conn *c;
	int fd, ngroups = 0;

	fd = accept4(S.lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			slog("accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE)
			usleep(100000);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		slog("SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
		ngroups = (int)(glen / sizeof(gid_t));
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->uid = cr.uid;
	c->gid = cr.gid;
	c->pid = cr.pid;
	roles_of(c, groups, ngroups);
	if (c->roles == 0) {
		slog("refused uid %u gid %u (pid %d): no role",
		    (unsigned)cr.uid, (unsigned)cr.gid, (int)cr.pid);
		refuse_raw(fd, 403, "forbidden",
		    "no role is granted to this user or group (coffre serve "
		    "--allow ROLE=uid:N)");
		free(c);
		return;
	}
	pthread_mutex_lock(&S.cmu);
	if (S.stopping || S.nconn >= S.maxconn ||
	    count_uid(c->uid) >= S.peruid) {
		int stopping = S.stopping;
		pthread_mutex_unlock(&S.cmu);
		refuse_raw(fd, 503, "unavailable",
		    stopping ? "the daemon is shutting down"
			     : "too many connections: try again");
		free(c);
		return;
	}
	c->mark = time(NULL);
	c->next = S.conns;
	if (S.conns != NULL)
		S.conns->pprev = &c->next;
	c->pprev = &S.conns;
	S.conns = c;
	S.nconn++;
	pthread_mutex_unlock(&S.cmu);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	/* On failure MHD closes the socket, and its closing callback never
	 * runs: take the record back. */
	if (MHD_add_connection(S.mhd, fd, (struct sockaddr *)&sa, sizeof(sa)) !=
	    MHD_YES) {
		slog("cannot take a connection: %s", strerror(errno));
		pthread_mutex_lock(&S.cmu);
		if (c->pprev != NULL) {
			*c->pprev = c->next;
			if (c->next != NULL)
				c->next->pprev = c->pprev;
			S.nconn--;
			free(c);
		}
		pthread_mutex_unlock(&S.cmu);
	}
}

static struct conn *
conn_by_fd(int fd)
{
	for (struct conn *c = S.conns; c != NULL; c = c->next)
		if (c->fd == fd && !c->bound)
			return c;
	return NULL;
}

static void
notify_conn(void *cls, struct MHD_Connection *mc, void **sctx,
    enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	struct conn *c;

	(void)cls;
	pthread_mutex_lock(&S.cmu);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(mc,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		c = ci != NULL ? conn_by_fd(ci->connect_fd) : NULL;
		if (c != NULL)
			c->bound = 1;
		*sctx = c;
	} else if ((c = *sctx) != NULL) {
		*c->pprev = c->next;
		if (c->next != NULL)
			c->next->pprev = c->pprev;
		S.nconn--;
		free(c);
		*sctx = NULL;
	}
	pthread_mutex_unlock(&S.cmu);
}

/* Cut the connections whose request (or idleness) passed the timeout. */
static void
watchdog(time_t now)
{
	pthread_mutex_lock(&S.cmu);
	for (struct conn *c = S.conns; c != NULL; c = c->next)
		if (c->bound && !c->cut && now - c->mark > (time_t)S.timeout) {
			c->cut = 1;
			(void)shutdown(c->fd, SHUT_RDWR);
		}
	pthread_mutex_unlock(&S.cmu);
}

static void
linger_tick(time_t now)
{
	for (int i = 0; i < S.nlinger;) {
		struct pollfd p = {S.linger[i].fd, POLLRDHUP, 0};
		if (now >= S.linger[i].until ||
		    (poll(&p, 1, 0) == 1 &&
			(p.revents & (POLLHUP | POLLRDHUP | POLLERR)))) {
			close(S.linger[i].fd);
			S.linger[i] = S.linger[--S.nlinger];
		} else {
			i++;
		}
	}
}

static void *
accept_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p[2] = {{S.lfd, POLLIN, 0},
		    {S.wake[0], POLLIN, 0}};
		int n = poll(p, 2, 500);
		time_t now = time(NULL);
		if (p[1].revents != 0)
			break;
		if (n > 0 && (p[0].revents & POLLIN))
			accept_one();
		linger_tick(now);
	}
	for (int i = 0; i < S.nlinger; i++)
		close(S.linger[i].fd);
	S.nlinger = 0;
	return NULL;
}

/* ---- the committer (group commit) ---- */

static void *
committer(void *arg)
{
	struct seal_job *batch[BATCH_MAX];
	struct coffre_seal_req *reqs;

	(void)arg;
	if ((reqs = calloc(BATCH_MAX, sizeof(*reqs))) == NULL)
		abort();
	pthread_mutex_lock(&S.bmu);
	for (;;) {
		size_t n = 0;
		while (S.queue == NULL && !S.bstop)
			pthread_cond_wait(&S.bcv, &S.bmu);
		if (S.queue == NULL)
			break;
		while (S.queue != NULL && n < BATCH_MAX) {
			batch[n] = S.queue;
			S.queue = S.queue->next;
			n++;
		}
		if (S.queue == NULL)
			S.qtail = &S.queue;
		pthread_mutex_unlock(&S.bmu);
		for (size_t i = 0; i < n; i++)
			reqs[i] = batch[i]->req;
		pthread_mutex_lock(&S.vmu);
		(void)coffre_seal_batch(S.v, reqs, n);
		for (size_t i = 0; i < n; i++)
			if (reqs[i].rc == COFFRE_EFAIL) {
				serve_probe();
				break;
			}
		pthread_mutex_unlock(&S.vmu);
		pthread_mutex_lock(&S.bmu);
		S.batches++;
		S.batched += n;
		for (size_t i = 0; i < n; i++) {
			batch[i]->req = reqs[i];
			batch[i]->done = 1;
		}
		pthread_cond_broadcast(&S.dcv);
	}
	pthread_mutex_unlock(&S.bmu);
	sodium_memzero(reqs, BATCH_MAX * sizeof(*reqs));
	free(reqs);
	return NULL;
}

static int
probe_none(void *ctx, const struct coffre_doc *d)
{
	(void)ctx;
	(void)d;
	return 0;
}

void
serve_probe(void)
{
	/* A listing opens read transactions on both databases. */
	struct coffre_filter f = {"coffre-daemon-probe", NULL, -1};

	if (__atomic_load_n(&S.fatal, __ATOMIC_ACQUIRE) ||
	    coffre_list(S.v, &f, probe_none, NULL) != COFFRE_EFAIL)
		return;
	slog("the vault's database refuses every request since a failed write "
	     "(%s): stopping, so that a restart opens it afresh",
	    coffre_errmsg(S.v));
	__atomic_store_n(&S.fatal, 1, __ATOMIC_RELEASE);
	(void)kill(getpid(), SIGTERM);
}

void
seal_submit(struct seal_job *j)
{
	pthread_mutex_lock(&S.bmu);
	j->done = 0;
	j->next = NULL;
	*S.qtail = j;
	S.qtail = &j->next;
	pthread_cond_signal(&S.bcv);
	while (!j->done)
		pthread_cond_wait(&S.dcv, &S.bmu);
	pthread_mutex_unlock(&S.bmu);
}

/* ---- the socket ---- */

static int
group_id(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long n;

	errno = 0;
	n = strtoul(name, &end, 10);
	if (*name >= '0' && *name <= '9' && *end == '\0' && errno == 0 &&
	    n < 0xffffffffUL) {
		*gid = (gid_t)n;
		return 0;
	}
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
		return -1;
	*gid = gr.gr_gid;
	return 0;
}

/* The folder of the socket: created 0750 (group G) when missing. */
static int
socket_folder(const char *path, gid_t gid, int setgid)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0; /* the current folder: the operator's */
	if (slash == dir)
		return 0;
	*slash = '\0';
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			slog("%s: not a folder", dir);
			return -1;
		}
		if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
			slog("warning: %s is writable by anyone: another user "
			     "could replace the socket",
			    dir);
		return 0;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		slog("%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((setgid && chown(dir, (uid_t)-1, gid) != 0) || chmod(dir, 0750)) {
		slog("%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
socket_listen(const char *path, const char *group)
{
	struct sockaddr_un sa;
	struct stat st;
	gid_t gid = getgid();
	mode_t old;
	int fd, setgid = group != NULL;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		slog("%s: the socket path is too long (at most %zu bytes)",
		    path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	if (group != NULL && group_id(group, &gid) != 0) {
		slog("--socket-group %s: no such group", group);
		return -1;
	}
	if (socket_folder(path, gid, setgid) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		int probe;
		if (!S_ISSOCK(st.st_mode)) {
			slog("%s exists and is not a socket: remove it, or "
			     "choose another --socket",
			    path);
			return -1;
		}
		/* A daemon still answering there keeps it. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 &&
		    connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			slog("%s: another daemon is listening on this socket; "
			     "stop it first, or choose another --socket",
			    path);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		if (unlink(path) != 0) {
			slog("%s: cannot remove the stale socket: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		slog("socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		slog("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if ((setgid && chown(path, (uid_t)-1, gid) != 0) ||
	    chmod(path, 0660) != 0 || listen(fd, 128) != 0) {
		slog("%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	S.unlink_path = path;
	return fd;
}

/* A socket passed by systemd (LISTEN_PID, LISTEN_FDS), or -1. */
static int
socket_activated(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int type = 0;
	socklen_t len = sizeof(type);
	struct sockaddr_un sa;
	socklen_t salen = sizeof(sa);

	memset(&sa, 0, sizeof(sa));
	if (pid == NULL || fds == NULL ||
	    strtol(pid, NULL, 10) != (long)getpid() ||
	    strtol(fds, NULL, 10) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    type != SOCK_STREAM ||
	    getsockname(3, (struct sockaddr *)&sa, &salen) != 0 ||
	    sa.sun_family != AF_UNIX) {
		slog("the socket passed by systemd (fd 3) is not a unix "
		     "stream socket");
		return -2;
	}
	(void)fcntl(3, F_SETFD, FD_CLOEXEC);
	return 3;
}

/* ---- memory and signals ---- */

static void
harden(void)
{
	struct rlimit rl = {0, 0};
	void *probe;

	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		slog("warning: cannot disable core dumps: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		slog("warning: PR_SET_DUMPABLE: %s", strerror(errno));
	/* Keys live in sodium_malloc'd memory, which libsodium locks but does
	 * not report failing to: try it here, and say so. */
	probe = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (probe != MAP_FAILED) {
		/* The system call itself: a sanitizer's mlock() is a no-op. */
		if (syscall(SYS_mlock, probe, (size_t)65536) != 0) {
			struct rlimit ml;
			getrlimit(RLIMIT_MEMLOCK, &ml);
			slog("warning: cannot lock memory (%s; RLIMIT_MEMLOCK "
			     "is %llu bytes): keys and plaintext may be "
			     "swapped out; raise LimitMEMLOCK",
			    strerror(errno), (unsigned long long)ml.rlim_cur);
			S.mlock_ok = 0;
		} else {
			(void)syscall(SYS_munlock, probe, (size_t)65536);
			S.mlock_ok = 1;
		}
		munmap(probe, 65536);
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	if (S.verbose)
		slog("http: %s", buf);
}

static void
run_sweep(void)
{
	struct coffre_sweep_result r;
	int rc;

	pthread_mutex_lock(&S.vmu);
	coffre_set_actor(S.v, "daemon");
	rc = coffre_sweep(S.v, &r);
	if (rc != 0)
		slog("sweep failed: %s", coffre_errmsg(S.v));
	else if (r.contracts + r.documents > 0)
		slog("sweep: %llu expired contract(s), %llu document(s) past "
		     "their retention class destroyed",
		    (unsigned long long)r.contracts,
		    (unsigned long long)r.documents);
	pthread_mutex_unlock(&S.vmu);
}

int
serve_run(const struct serve_opts *o)
{
	char err[1024];
	sigset_t set;
	pthread_t at, ct;
	time_t next_sweep;
	unsigned flags;
	int rc, sig;
	struct config *conf;

	memset(&S, 0, sizeof(S));
	S.o = o;
	S.dir = o->dir;
	S.verbose = getenv("COFFRE_SERVE_DEBUG") != NULL;
	S.lfd = -1;
	pthread_mutex_init(&S.vmu, NULL);
	pthread_mutex_init(&S.cmu, NULL);
	pthread_cond_init(&S.ccv, NULL);
	pthread_mutex_init(&S.bmu, NULL);
	pthread_cond_init(&S.bcv, NULL);
	pthread_cond_init(&S.dcv, NULL);
	pthread_rwlock_init(&S.glock, NULL);
	S.qtail = &S.queue;
	harden();

	/* Signals are taken by sigwait below; every thread inherits the
	 * mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return COFFRE_EFAIL;
	if (config_load(S.dir, conf, err, sizeof(err)) != 0) {
		slog("%s", err);
		free(conf);
		return COFFRE_EFAIL;
	}
	S.max_doc = conf->max_doc;
	S.max_bundle = conf->max_bundle;
	S.timeout = o->timeout ? o->timeout
			       : (conf->timeout ? conf->timeout : DEF_TIMEOUT);
	S.maxconn = o->max_connections
	    ? o->max_connections
	    : (conf->max_connections ? conf->max_connections : DEF_MAXCONN);
	S.peruid = o->max_per_uid
	    ? o->max_per_uid
	    : (conf->max_per_uid ? conf->max_per_uid : DEF_PERUID);
	if (grants_load(&S.grants, err, sizeof(err)) != 0) {
		slog("%s", err);
		free(conf);
		return COFFRE_EUSAGE;
	}
	if (S.grants->n == 0)
		slog("warning: no role is granted: every client will be "
		     "refused (--allow ROLE=uid:N, or allow lines in "
		     "coffre.conf)");

	if ((S.lfd = socket_activated()) == -2) {
		free(conf);
		return COFFRE_EFAIL;
	}
	if (S.lfd == -1) {
		if (o->socket == NULL) {
			slog("needs --socket PATH (or a socket passed by "
			     "systemd)");
			free(conf);
			return COFFRE_EUSAGE;
		}
		if ((S.lfd = socket_listen(o->socket,
			 o->group != NULL
			     ? o->group
			     : (conf->socket_group[0] ? conf->socket_group
						      : NULL))) < 0) {
			free(conf);
			return COFFRE_EFAIL;
		}
	}
	free(conf);
	(void)fcntl(S.lfd, F_SETFL, fcntl(S.lfd, F_GETFL) | O_NONBLOCK);

	if ((rc = coffre_open(S.dir, o->pass, o->passlen, &S.v, err,
		 sizeof(err))) != 0) {
		slog("%s", err);
		goto out_sock;
	}
	if (pipe2(S.wake, O_CLOEXEC) != 0) {
		rc = COFFRE_EFAIL;
		goto out_vault;
	}
	/* Our own listening socket: connections reach MHD from our accept
	 * thread (MHD_add_connection), credentials checked first. */
	flags = MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_NO_LISTEN_SOCKET |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG;
	S.mhd = MHD_start_daemon(flags, 0, NULL, NULL, route_handler, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)S.timeout,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)S.maxconn + 8,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HDR_MEMORY,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_conn, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, route_completed, NULL,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_THREAD_STACK_SIZE,
	    (size_t)(512 * 1024), MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_END);
	if (S.mhd == NULL) {
		slog("cannot start the HTTP server (libmicrohttpd)");
		rc = COFFRE_EFAIL;
		goto out_pipe;
	}
	if (pthread_create(&ct, NULL, committer, NULL) != 0 ||
	    pthread_create(&at, NULL, accept_thread, NULL) != 0) {
		slog("cannot start threads");
		abort();
	}
	run_sweep();
	next_sweep = time(NULL) + SWEEP_EVERY;
	slog("listening on %s (vault %s; pid %d)",
	    S.unlink_path != NULL ? S.unlink_path : "the socket from systemd",
	    S.dir, (int)getpid());

	for (;;) {
		struct timespec ts = {1, 0};
		time_t now;
		sig = sigtimedwait(&set, NULL, &ts);
		now = time(NULL);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP) {
			struct grants *ng, *old;
			if (grants_load(&ng, err, sizeof(err)) != 0) {
				slog("SIGHUP: roles not reloaded: %s", err);
			} else {
				pthread_rwlock_wrlock(&S.glock);
				old = S.grants;
				S.grants = ng;
				pthread_rwlock_unlock(&S.glock);
				free(old);
				slog("SIGHUP: %d grant(s) loaded", ng->n);
			}
		}
		watchdog(now);
		if (now >= next_sweep) {
			run_sweep();
			next_sweep = now + SWEEP_EVERY;
		}
	}

	/* Stop: no new connection, no new request; every request in flight
	 * runs to its end (a seal is acknowledged or not made at all). */
	slog("stopping: finishing the requests in flight");
	pthread_mutex_lock(&S.cmu);
	__atomic_store_n(&S.stopping, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&S.cmu);
	(void)!write(S.wake[1], "x", 1);
	pthread_join(at, NULL);
	close(S.lfd);
	S.lfd = -1;
	if (S.unlink_path != NULL)
		unlink(S.unlink_path);
	pthread_mutex_lock(&S.cmu);
	{
		time_t until = time(NULL) + (time_t)S.timeout + 5;
		while (S.inflight > 0 && time(NULL) < until) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&S.ccv, &S.cmu, &ts);
			pthread_mutex_unlock(&S.cmu);
			watchdog(time(NULL));
			pthread_mutex_lock(&S.cmu);
		}
	}
	pthread_mutex_unlock(&S.cmu);
	MHD_stop_daemon(S.mhd);
	pthread_mutex_lock(&S.bmu);
	S.bstop = 1;
	pthread_cond_broadcast(&S.bcv);
	pthread_mutex_unlock(&S.bmu);
	pthread_join(ct, NULL);
	slog("stopped (%llu seals in %llu group commits)",
	    (unsigned long long)S.batched, (unsigned long long)S.batches);
	rc = __atomic_load_n(&S.fatal, __ATOMIC_ACQUIRE) ? COFFRE_EFAIL : 0;
out_pipe:
	close(S.wake[0]);
	close(S.wake[1]);
out_vault:
	coffre_close(S.v);
out_sock:
	if (S.lfd >= 0) {
		close(S.lfd);
		if (S.unlink_path != NULL)
			unlink(S.unlink_path);
	}
	free(S.grants);
	return rc;
}
