/*
 * main.c: the coffre command.  It parses, calls the operations of ops.h,
 * and prints; every error is reported once, here, with the "coffre: "
 * prefix, and the exit status is the library's code (SPEC.md section 4).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/awrite.h"
#include "cli/ops.h"
#include "cli/serve.h"
#include "coffre.h"
#include "vault/util.h"

#define MAX_ARGS 64

struct global {
	const char *dir;
	const char *socket;
	const char *passfile;
	int json;
	int help;
};

static struct global g;
/* Where results go: stdout, or a buffer that reaches stdout only when the
 * whole command succeeded (capture_begin/capture_end). */
static FILE *out;
static char *capbuf;
static size_t caplen;
static const struct ops *ops;
static void *be;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	fputs("coffre: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char usage_text[] =
    "usage: coffre [--dir DIR | --socket PATH] [--json] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  init [--retention-years N] [--passphrase-file F]   create a vault\n"
    "  seal --user U --community C [--kind K] [--name N] FILE|-\n"
    "                                     seal a document, print its id\n"
    "  open DOC [-o FILE]                 write a document's plaintext\n"
    "  info DOC                           a document's metadata and reviews\n"
    "  list [--user U] [--community C] [--status S]\n"
    "                                     one line per document, oldest "
    "first\n"
    "  approve DOC [--note TEXT]          append an approving review\n"
    "  reject DOC --reason TEXT           append a rejecting review\n"
    "  shred --user U | --doc DOC | --archive ARC\n"
    "                                     destroy an account's documents, "
    "one\n"
    "                                     document, or an expired archive\n"
    "  archive --user U --contract K [--name N] FILE|-\n"
    "                                     seal a contract-related record\n"
    "  contract-end --user U --contract K [--date YYYY-MM-DD]\n"
    "                                     start the retention period\n"
    "  hold|release --user U --contract K --reason TEXT\n"
    "                                     a legal hold on a contract\n"
    "  archives [--user U]                list archives and their retention\n"
    "  archive-open ARC --reason TEXT [-o FILE]\n"
    "                                     read an archive, saying why\n"
    "  sweep                              destroy what retention no longer "
    "keeps\n"
    "  check [--repair]                   consistency of index, segments, "
    "keys\n"
    "  audit verify [--log F --pubkey P]  check the signed, chained audit "
    "log\n"
    "  audit log [--user U]               the audit events, oldest first\n"
    "  audit shred-report --user U        signed statement of what was "
    "destroyed\n"
    "  audit scan                         forensic scan of the vault "
    "directory\n"
    "  audit rotate-key                   a new audit signing key\n"
    "  import --user U --community C BUNDLE|-\n"
    "                                     seal each document of a zip or "
    "tar\n"
    "  export --user U -o FILE [--format zip|tar|tar.gz]\n"
    "                                     a user's documents and a "
    "manifest\n"
    "  serve --socket PATH [--socket-group G] [--allow ROLE=uid:N|gid:N]...\n"
    "                                     the daemon (HTTP over a unix "
    "socket)\n"
    "\n"
    "The vault is --dir DIR, else $COFFRE_DIR, else ./coffre-data; with\n"
    "--socket PATH (or $COFFRE_SOCKET) a command goes through the daemon.\n"
    "'coffre COMMAND --help' for one command; 'man coffre' for all.\n";

struct cmdhelp {
	const char *name;
	const char *text;
};

static const struct cmdhelp helps[] = {
    {"init",
	"usage: coffre init [--retention-years N] [--passphrase-file "
	"F]\n"
	"Create a vault in DIR (refused if one exists: exit 1). Prints "
	"the audit\npublic key and writes it to DIR/audit.pub.\n"},
    {"seal",
	"usage: coffre seal --user U --community C [--kind K] [--name "
	"NAME] FILE|-\n"
	"Seal one document (FILE, or - for standard input) and print its "
	"id.\nThe type is detected from the content; the name defaults "
	"to FILE's base name.\n"},
    {"open",
	"usage: coffre open DOC [-o FILE]\n"
	"Write the document's plaintext to FILE (created 0600, never "
	"overwritten)\nor to standard output, which must not be a "
	"terminal.\n"},
    {"info",
	"usage: coffre info DOC\n"
	"Print a document's metadata: user, community, kind, name, "
	"type, size,\nstatus, created, and its reviews.\n"},
    {"list",
	"usage: coffre list [--user U] [--community C] [--status "
	"pending|approved|rejected|shredded]\n"
	"One line per document, oldest first: id, status, user, "
	"community, kind,\ntype, size, created (tab-separated).\n"},
    {"approve",
	"usage: coffre approve DOC [--note TEXT]\n"
	"Append an approving review to a document.\n"},
    {"reject",
	"usage: coffre reject DOC --reason TEXT\n"
	"Append a rejecting review to a document; the reason is "
	"required.\n"},
    {"shred",
	"usage: coffre shred --user U | --doc DOC | --archive ARC\n"
	"--user U: delete an account: every document of U becomes "
	"unrecoverable at\nonce (its keys are destroyed, the key path "
	"re-keyed under a new root) and\nU's id is fenced: a later "
	"seal for U is refused as gone. Idempotent.\n"
	"--doc DOC: withdraw one document; U's other documents stay.\n"
	"--archive ARC: destroy one archive whose retention is over "
	"(exit 7 before).\n"},
    {"archive",
	"usage: coffre archive --user U --contract K [--name NAME] "
	"FILE|-\n"
	"Seal a contract-related record under the key of (U, K), not "
	"U's: it\noutlives shred --user U. Prints its id.\n"},
    {"contract-end",
	"usage: coffre contract-end --user U --contract K "
	"[--date YYYY-MM-DD]\n"
	"End the contract (today by default): its archives are "
	"kept until the date\nplus the retention period, then "
	"destroyed. A later call may move that\nlater, never "
	"earlier (exit 7).\n"},
    {"hold",
	"usage: coffre hold --user U --contract K --reason TEXT\n"
	"Place a legal hold: nothing of the contract is destroyed or "
	"becomes\nunreadable while a hold stands.\n"},
    {"release",
	"usage: coffre release --user U --contract K --reason TEXT\n"
	"Release one legal hold.\n"},
    {"archives",
	"usage: coffre archives [--user U]\n"
	"One line per archive: id, status (live, expired, "
	"shredded), user,\ncontract, created, end date (or "
	"running), retain-until, holds, type, size.\n"},
    {"archive-open",
	"usage: coffre archive-open ARC --reason TEXT [-o "
	"FILE]\n"
	"Read an archive; every read states its reason. Refused "
	"as gone (exit 4)\nonce its retention is over.\n"},
    {"sweep",
	"usage: coffre sweep\n"
	"Destroy, in one batch, the key of every contract whose "
	"retention is over\n(by the system clock) and no hold "
	"stands on, and every reviewed document\npast its kind's "
	"retention class in coffre.conf.\n"},
    {"check",
	"usage: coffre check [--repair]\n"
	"Check that index, segments and key tree agree. --repair fixes "
	"what a crash\nlegitimately leaves (orphan key leaves, "
	"statuses) and nothing else.\n"},
    {"audit",
	"usage: coffre audit verify [--log FILE --pubkey FILE]\n"
	"       coffre audit log [--user U]\n"
	"       coffre audit shred-report --user U\n"
	"       coffre audit scan\n"
	"       coffre audit rotate-key\n"
	"verify: check the whole hash chain, every signed checkpoint and "
	"every key\nrotation (offline on an export with --log and "
	"--pubkey, the key of init).\nlog: the events, oldest first; "
	"--json is the export format, byte for byte.\nshred-report: a "
	"signed statement of what was destroyed for U.\nscan: read every "
	"byte of every file under the vault directory and prove that\nno "
	"plaintext sample of a live document appears and that no stale "
	"wrapped key\n(of anything shredded) opens with any key that "
	"exists; exit 1 names the file\nand offset of a failure.\n"
	"rotate-key: a new audit signing key; the old one signs the "
	"hand-over.\n"},
    {"import",
	"usage: coffre import --user U --community C BUNDLE|-\n"
	"Seal each regular entry of a zip or tar bundle (plain or gzip; a "
	"file, or -\nfor standard input) as a document of U, its entry "
	"name as its name.\nNothing is extracted to disk. One line an "
	"entry: sealed, its name, id,\ntype and size; or rejected, its "
	"name and why (links, devices, encrypted\nentries, names that "
	"climb out, nested archives, sizes and ratios over\nthe limits, "
	"types the policy refuses). Exit 0 when all were sealed, 5\nwhen "
	"any was rejected (the others stay sealed).\n"},
    {"export",
	"usage: coffre export --user U -o FILE [--format zip|tar|tar.gz]\n"
	"Write every live document of U, under its name, and manifest.json "
	"(id,\nname, community, kind, type, size, status, reviews, "
	"sealed-at, BLAKE2b\nhash of each) as a zip, tar or tar.gz (by "
	"FILE's extension, or\n--format; -o - for standard output). The "
	"export is logged as a read.\n"},
    {"serve",
	"usage: coffre serve --socket PATH [--socket-group G] "
	"[--allow ROLE=uid:N|gid:N]...\n"
	"                    [--timeout SECONDS] [--max-connections N]\n"
	"                    [--max-connections-per-uid N]\n"
	"Serve the vault DIR over HTTP/1.1 on the unix socket PATH (mode "
	"0660,\ngroup G; its folder is created 0750 when missing), or on "
	"the socket\nsystemd passes (LISTEN_FDS). ROLE is backend, "
	"reviewer, auditor or admin;\na reviewer grant may end in "
	"@COMMUNITY,... to limit it. Grants also come\nfrom 'allow = "
	"ROLE=uid:N' lines in DIR/coffre.conf; SIGHUP reloads them.\n"
	"SIGTERM stops it once the requests in flight are done. "
	"Defaults: a request\nmay take 60 s, 256 connections, 64 per "
	"uid. See docs/API.md.\n"},
};

static int
cmd_help(const char *cmd)
{
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (strcmp(helps[i].name, cmd) == 0) {
			fputs(helps[i].text, stdout);
			return 0;
		}
	fputs(usage_text, stdout);
	return 0;
}

/* Command options: name, whether it takes a value, where it goes. */
struct opt {
	const char *name;
	int has_arg;
	const char **val;
	int *flag;
};

/*
 * Parse ${argv} against ${opts}; positional arguments go to ${pos}.
 * Returns 0, or COFFRE_EUSAGE after saying why.
 */
static int
parse(const char *cmd, int argc, char **argv, const struct opt *opts,
    const char **pos, int maxpos, int *npos)
{
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct opt *o;
		if (a[0] != '-' || strcmp(a, "-") == 0) {
			if (*npos >= maxpos) {
				say("%s: unexpected argument '%s' (see coffre "
				    "%s --help)",
				    cmd, a, cmd);
				return COFFRE_EUSAGE;
			}
			pos[(*npos)++] = a;
			continue;
		}
		for (o = opts; o->name != NULL; o++)
			if (strcmp(o->name, a) == 0)
				break;
		if (o->name == NULL) {
			say("%s: unknown option '%s' (see coffre %s --help)",
			    cmd, a, cmd);
			return COFFRE_EUSAGE;
		}
		if (o->has_arg) {
			if (i + 1 >= argc) {
				say("%s: %s needs a value", cmd, a);
				return COFFRE_EUSAGE;
			}
			*o->val = argv[++i];
		} else {
			*o->flag = 1;
		}
	}
	return 0;
}

/* JSON string output. */
static void
jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Buffer what a listing prints, so that a failure half-way prints nothing. */
static void
capture_begin(void)
{
	FILE *m = open_memstream(&capbuf, &caplen);

	if (m != NULL)
		out = m;
}

static int
capture_end(int rc)
{
	if (out == stdout)
		return rc;
	fclose(out);
	out = stdout;
	if (rc == 0 && capbuf != NULL)
		fwrite(capbuf, 1, caplen, stdout);
	free(capbuf);
	capbuf = NULL;
	return rc;
}

static int
fail(int rc)
{
	say("%s", ops->errmsg(be));
	return rc;
}

/* Reading the input of seal. */
struct input {
	int fd;
	int seekable; /* a regular file */
};

static int64_t
seek_fd(void *ctx, int64_t off, int whence)
{
	struct input *in = ctx;

	return (int64_t)lseek(in->fd, (off_t)off, whence);
}

static long
read_fd(void *ctx, uint8_t *buf, size_t len)
{
	struct input *in = ctx;
	ssize_t n;

	do
		n = read(in->fd, buf, len);
	while (n < 0 && errno == EINTR);
	return (long)n;
}

static int
read_passphrase(char **pass, size_t *len)
{
	const char *f =
	    g.passfile != NULL ? g.passfile : getenv("COFFRE_PASSPHRASE_FILE");
	int fd;
	ssize_t n;
	char *p;

	*pass = NULL;
	*len = 0;
	if (f == NULL || *f == '\0')
		return 0;
	if ((fd = open(f, O_RDONLY | O_CLOEXEC)) == -1) {
		say("%s: %s", f, strerror(errno));
		return errno == ENOENT ? COFFRE_ENOTFOUND : COFFRE_EFAIL;
	}
	if ((p = sodium_malloc(1025)) == NULL) {
		close(fd);
		say("out of secure memory");
		return COFFRE_EFAIL;
	}
	n = read(fd, p, 1024);
	close(fd);
	if (n <= 0) {
		sodium_free(p);
		say("%s: empty or unreadable passphrase file", f);
		return COFFRE_EREJECT;
	}
	p[n] = '\0';
	p[strcspn(p, "\r\n")] = '\0';
	if (p[0] == '\0') {
		sodium_free(p);
		say("%s: the passphrase is empty", f);
		return COFFRE_EREJECT;
	}
	*pass = p;
	*len = strlen(p);
	return 0;
}

static const char *
vault_dir(void)
{
	const char *d = g.dir;

	if (d == NULL)
		d = getenv("COFFRE_DIR");
	if (d == NULL || *d == '\0')
		d = "./coffre-data";
	return d;
}

/* Open the backend: embedded, or (a later version) the daemon's client. */
static int
backend_open(void)
{
	char err[1024];
	char *pass;
	size_t passlen;
	const char *sock = g.socket;
	int rc;

	if (sock == NULL && g.dir == NULL) {
		sock = getenv("COFFRE_SOCKET");
		if (sock != NULL && *sock == '\0')
			sock = NULL;
	}
	if (sock != NULL) {
		rc = ops_client_open(sock, &ops, &be, err, sizeof(err));
		if (rc != 0)
			say("%s", err);
		return rc;
	}
	if ((rc = read_passphrase(&pass, &passlen)) != 0)
		return rc;
	rc = ops_local_open(vault_dir(), pass, passlen, &ops, &be, err,
	    sizeof(err));
	if (pass != NULL)
		sodium_free(pass);
	if (rc != 0)
		say("%s", err);
	return rc;
}

static int
do_init(int argc, char **argv)
{
	const char *years = NULL, *pos[1];
	struct opt opts[] = {{"--retention-years", 1, &years, NULL},
	    {"--passphrase-file", 1, &g.passfile, NULL}, {NULL, 0, NULL, NULL}};
	struct coffre_init_opts io = {0};
	char pubkey[64], err[1024], *pass = NULL;
	size_t passlen = 0;
	int npos, rc;

	if ((rc = parse("init", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (g.socket != NULL) {
		say("init: a vault is created on its directory: use --dir DIR, "
		    "not --socket");
		return COFFRE_EUSAGE;
	}
	if (years != NULL) {
		char *end;
		long y = strtol(years, &end, 10);
		if (*years < '0' || *years > '9' || *end != '\0' || y < 1 ||
		    y > 100) {
			say("init: --retention-years takes a whole number from "
			    "1 to 100");
			return COFFRE_EUSAGE;
		}
		io.retention_years = (unsigned)y;
	}
	if ((rc = read_passphrase(&pass, &passlen)) != 0)
		return rc;
	io.passphrase = pass;
	io.passphrase_len = passlen;
	rc = coffre_init(vault_dir(), &io, pubkey, err, sizeof(err));
	if (pass != NULL)
		sodium_free(pass);
	if (rc != 0) {
		say("%s", err);
		return rc;
	}
	if (g.json) {
		fputs("{\"dir\":", out);
		jstr(out, vault_dir());
		fputs(",\"audit_pubkey\":", out);
		jstr(out, pubkey);
		fputs("}\n", out);
	} else {
		fprintf(out, "audit public key: %s\nwritten to %s/audit.pub\n",
		    pubkey, vault_dir());
	}
	return 0;
}

/* Open the input of seal or archive: FILE, or - for standard input. */
static int
input_open(const char *path, struct input *in, const char **name)
{
	struct stat st;

	in->seekable = 0;
	if (strcmp(path, "-") == 0) {
		in->fd = STDIN_FILENO;
		return 0;
	}
	if ((in->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		say("%s: %s", path, strerror(errno));
		return errno == ENOENT ? COFFRE_ENOTFOUND : COFFRE_EFAIL;
	}
	if (fstat(in->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		say("%s: not a regular file", path);
		close(in->fd);
		return COFFRE_EREJECT;
	}
	in->seekable = 1;
	if (*name == NULL) {
		const char *b = strrchr(path, '/');
		*name = b != NULL ? b + 1 : path;
	}
	return 0;
}

static void
print_sealed(const char *id, const char *type, uint64_t size,
    const char *status)
{
	if (g.json) {
		fputs("{\"id\":", out);
		jstr(out, id);
		fputs(",\"type\":", out);
		jstr(out, type);
		fprintf(out, ",\"size\":%llu", (unsigned long long)size);
		if (status != NULL)
			fprintf(out, ",\"status\":\"%s\"", status);
		fputs("}\n", out);
	} else {
		fprintf(out, "%s\n", id);
	}
}

static int
do_seal(int argc, char **argv)
{
	const char *user = NULL, *comm = NULL, *kind = NULL, *name = NULL;
	const char *pos[1];
	struct opt opts[] = {{"--user", 1, &user, NULL},
	    {"--community", 1, &comm, NULL}, {"--kind", 1, &kind, NULL},
	    {"--name", 1, &name, NULL}, {NULL, 0, NULL, NULL}};
	struct input in;
	char id[COFFRE_DOCID_LEN + 1], type[COFFRE_TYPE_MAX + 1];
	uint64_t size;
	int npos, rc;

	if ((rc = parse("seal", argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (user == NULL || comm == NULL || npos != 1) {
		say("seal: needs --user U, --community C and a FILE (or - for "
		    "standard input)");
		return COFFRE_EUSAGE;
	}
	if ((rc = input_open(pos[0], &in, &name)) != 0)
		return rc;
	if ((rc = backend_open()) == 0) {
		rc = ops->seal(be, user, comm, kind, name, read_fd, &in, id,
		    type, &size);
		if (rc != 0)
			fail(rc);
		else
			print_sealed(id, type, size, "pending");
	}
	if (in.fd != STDIN_FILENO)
		close(in.fd);
	return rc;
}

static int
do_archive(int argc, char **argv)
{
	const char *user = NULL, *contract = NULL, *name = NULL, *pos[1];
	struct opt opts[] = {{"--user", 1, &user, NULL},
	    {"--contract", 1, &contract, NULL}, {"--name", 1, &name, NULL},
	    {NULL, 0, NULL, NULL}};
	struct input in;
	char id[COFFRE_DOCID_LEN + 1], type[COFFRE_TYPE_MAX + 1];
	uint64_t size;
	int npos, rc;

	if ((rc = parse("archive", argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (user == NULL || contract == NULL || npos != 1) {
		say("archive: needs --user U, --contract K and a FILE (or - "
		    "for standard input)");
		return COFFRE_EUSAGE;
	}
	if ((rc = input_open(pos[0], &in, &name)) != 0)
		return rc;
	if ((rc = backend_open()) == 0) {
		rc = ops->archive(be, user, contract, name, read_fd, &in, id,
		    type, &size);
		if (rc != 0)
			fail(rc);
		else
			print_sealed(id, type, size, NULL);
	}
	if (in.fd != STDIN_FILENO)
		close(in.fd);
	return rc;
}

/*
 * Where open and archive-open write: -o FILE (created 0600, never
 * overwritten, removed again if the document turns out corrupt) or a
 * standard output that is not a terminal.
 */
struct output {
	const char *path;
	int fd;
	struct awriter *aw; /* writes to fd on a thread of its own */
};

static int
output_check(const char *cmd, struct output *o)
{
	if (o->path == NULL || strcmp(o->path, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			say("%s: standard output is a terminal; give -o FILE or "
			    "redirect it",
			    cmd);
			return COFFRE_EUSAGE;
		}
		o->path = NULL;
	}
	return 0;
}

static int
output_writer(struct output *o)
{
	if ((o->aw = awrite_open(o->fd)) == NULL) {
		say("out of memory");
		return COFFRE_EFAIL;
	}
	return 0;
}

/* The operation's result ${op}, once the writer has finished. */
static int
output_run(struct output *o, int rc, int op)
{
	(void)rc;
	if (awrite_close(o->aw, op == 0) != 0 && op == 0) {
		o->aw = NULL;
		say("%s: %s", o->path != NULL ? o->path : "standard output",
		    strerror(errno));
		return -COFFRE_EFAIL; /* reported already */
	}
	o->aw = NULL;
	return op;
}

static int
output_open(struct output *o)
{
	if (o->path == NULL) {
		o->fd = STDOUT_FILENO;
		return output_writer(o);
	}
	o->fd = open(o->path,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (o->fd == -1) {
		say("%s: %s%s", o->path, strerror(errno),
		    errno == EEXIST ? " (remove it first, or choose another -o)"
				    : "");
		return COFFRE_EFAIL;
	}
	return output_writer(o);
}

/* Finish the output after the operation returned ${rc}. */
static int
output_close(struct output *o, int rc)
{
	if (rc == -COFFRE_EFAIL) {
		/* The output failed, and said so: no library message. */
		if (o->path != NULL) {
			close(o->fd);
			unlink(o->path);
		}
		return COFFRE_EFAIL;
	}
	if (o->path == NULL)
		return rc != 0 ? fail(rc) : 0;
	/*
	 * No fsync: the output is the reader's copy, not the vault's (which
	 * is durable already); close() still reports a late write error.
	 */
	if (rc != 0)
		fail(rc);
	if (close(o->fd) != 0 && rc == 0) {
		say("%s: %s", o->path, strerror(errno));
		rc = COFFRE_EFAIL;
	}
	if (rc != 0)
		unlink(o->path); /* never leave a partial document */
	return rc;
}

static int
do_open(int argc, char **argv)
{
	struct output o = {NULL, -1, NULL};
	const char *pos[1];
	struct opt opts[] = {{"-o", 1, &o.path, NULL},
	    {"--output", 1, &o.path, NULL}, {NULL, 0, NULL, NULL}};
	int npos, rc;

	if ((rc = parse("open", argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (npos != 1) {
		say("open: needs a document id");
		return COFFRE_EUSAGE;
	}
	if ((rc = output_check("open", &o)) != 0 ||
	    (rc = backend_open()) != 0 || (rc = output_open(&o)) != 0)
		return rc;
	rc = output_run(&o, rc, ops->open_doc(be, pos[0], awrite, o.aw));
	return output_close(&o, rc);
}

static int
do_archive_open(int argc, char **argv)
{
	struct output o = {NULL, -1, NULL};
	const char *reason = NULL, *pos[1];
	struct opt opts[] = {{"-o", 1, &o.path, NULL},
	    {"--output", 1, &o.path, NULL}, {"--reason", 1, &reason, NULL},
	    {NULL, 0, NULL, NULL}};
	int npos, rc;

	if ((rc = parse("archive-open", argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (npos != 1 || reason == NULL) {
		say("archive-open: needs an archive id and --reason TEXT (every "
		    "read states why)");
		return COFFRE_EUSAGE;
	}
	if ((rc = output_check("archive-open", &o)) != 0 ||
	    (rc = backend_open()) != 0 || (rc = output_open(&o)) != 0)
		return rc;
	rc = output_run(&o, rc,
	    ops->archive_open(be, pos[0], reason, awrite, o.aw));
	return output_close(&o, rc);
}

static int
do_contract_end(int argc, char **argv)
{
	const char *user = NULL, *contract = NULL, *date = NULL, *pos[1];
	struct opt opts[] = {{"--user", 1, &user, NULL},
	    {"--contract", 1, &contract, NULL}, {"--date", 1, &date, NULL},
	    {NULL, 0, NULL, NULL}};
	char until[11];
	int npos, rc;

	if ((rc = parse("contract-end", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (user == NULL || contract == NULL) {
		say("contract-end: needs --user U and --contract K");
		return COFFRE_EUSAGE;
	}
	if ((rc = backend_open()) != 0)
		return rc;
	if ((rc = ops->contract_end(be, user, contract, date, until)) != 0)
		return fail(rc);
	if (g.json)
		fprintf(out, "{\"retain_until\":\"%s\"}\n", until);
	else
		fprintf(out,
		    "contract %s of user %s: archives retained until %s\n",
		    contract, user, until);
	return 0;
}

static int
do_hold(const char *cmd, int on, int argc, char **argv)
{
	const char *user = NULL, *contract = NULL, *reason = NULL, *pos[1];
	struct opt opts[] = {{"--user", 1, &user, NULL},
	    {"--contract", 1, &contract, NULL}, {"--reason", 1, &reason, NULL},
	    {NULL, 0, NULL, NULL}};
	int npos, rc;

	if ((rc = parse(cmd, argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (user == NULL || contract == NULL || reason == NULL) {
		say("%s: needs --user U, --contract K and --reason TEXT", cmd);
		return COFFRE_EUSAGE;
	}
	if ((rc = backend_open()) != 0)
		return rc;
	if ((rc = ops->hold(be, user, contract, reason, on)) != 0)
		return fail(rc);
	if (g.json)
		fprintf(out,
		    "{\"user\":\"%s\",\"contract\":\"%s\",\"hold\":%s}\n", user,
		    contract, on ? "true" : "false");
	else
		fprintf(out, "contract %s of user %s: hold %s\n", contract,
		    user, on ? "placed" : "released");
	return 0;
}

static const char *const arc_status[] = {"live", "expired", "shredded"};

static int
arc_print(void *ctx, const struct coffre_archive *a)
{
	int *first = ctx;
	char date[21];

	util_iso8601(a->created, date);
	if (g.json) {
		fprintf(out, "%s{\"id\":\"%s\",\"user\":", *first ? "" : ",",
		    a->id);
		jstr(out, a->user);
		fputs(",\"contract\":", out);
		jstr(out, a->contract);
		fputs(",\"type\":", out);
		jstr(out, a->type);
		fprintf(out,
		    ",\"size\":%llu,\"created\":\"%s\",\"status\":\"%s\","
		    "\"contract_ended\":%s,\"end_date\":",
		    (unsigned long long)a->size, date, arc_status[a->status],
		    a->ended ? "true" : "false");
		if (a->ended)
			fprintf(out, "\"%s\",\"retain_until\":\"%s\"",
			    a->end_date, a->retain_until);
		else
			fputs("null,\"retain_until\":null", out);
		fprintf(out, ",\"holds\":%u}", a->holds);
	} else {
		fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%u\t%s\t%llu\n",
		    a->id, arc_status[a->status], a->user, a->contract, date,
		    a->ended
			? a->end_date
			: (a->status == COFFRE_ARC_SHREDDED ? "-" : "running"),
		    a->ended ? a->retain_until : "-", a->holds, a->type,
		    (unsigned long long)a->size);
	}
	*first = 0;
	return 0;
}

static int
do_archives(int argc, char **argv)
{
	const char *user = NULL, *pos[1];
	struct opt opts[] = {{"--user", 1, &user, NULL}, {NULL, 0, NULL, NULL}};
	int npos, rc, first = 1;

	if ((rc = parse("archives", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if ((rc = backend_open()) != 0)
		return rc;
	capture_begin();
	if (g.json)
		fputs("{\"archives\":[", out);
	rc = ops->archives(be, user, arc_print, &first);
	if (g.json)
		fputs("]}\n", out);
	return capture_end(rc) != 0 ? fail(rc) : 0;
}

static int
do_sweep(int argc, char **argv)
{
	const char *pos[1];
	struct opt opts[] = {{NULL, 0, NULL, NULL}};
	struct coffre_sweep_result r;
	int npos, rc;

	if ((rc = parse("sweep", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if ((rc = backend_open()) != 0)
		return rc;
	if ((rc = ops->sweep(be, &r)) != 0)
		return fail(rc);
	if (g.json)
		fprintf(out,
		    "{\"contracts\":%llu,\"archives\":%llu,\"documents\":"
		    "%llu,\"keys_destroyed\":%llu,\"rekeyed\":%llu,"
		    "\"wraps\":%llu,\"epoch_before\":%llu,"
		    "\"epoch_after\":%llu}\n",
		    (unsigned long long)r.contracts,
		    (unsigned long long)r.archives,
		    (unsigned long long)r.documents,
		    (unsigned long long)r.keys_destroyed,
		    (unsigned long long)r.rekeyed, (unsigned long long)r.wraps,
		    (unsigned long long)r.epoch_before,
		    (unsigned long long)r.epoch_after);
	else
		fprintf(out,
		    "swept %llu expired contract%s (%llu archive%s) and "
		    "%llu document%s past their retention class: %llu keys "
		    "destroyed, root epoch %llu -> %llu\n",
		    (unsigned long long)r.contracts,
		    r.contracts == 1 ? "" : "s", (unsigned long long)r.archives,
		    r.archives == 1 ? "" : "s", (unsigned long long)r.documents,
		    r.documents == 1 ? "" : "s",
		    (unsigned long long)r.keys_destroyed,
		    (unsigned long long)r.epoch_before,
		    (unsigned long long)r.epoch_after);
	return 0;
}

static void
print_doc_json(const struct coffre_doc *d, int with_name)
{
	char date[21];

	util_iso8601(d->created, date);
	fputs("{\"id\":", out);
	jstr(out, d->id);
	fputs(",\"user\":", out);
	jstr(out, d->user);
	fputs(",\"community\":", out);
	jstr(out, d->community);
	fputs(",\"kind\":", out);
	jstr(out, d->kind);
	if (with_name) {
		fputs(",\"name\":", out);
		jstr(out, d->name);
	}
	fputs(",\"type\":", out);
	jstr(out, d->type);
	fprintf(out, ",\"size\":%llu,\"status\":\"%s\",\"created\":\"%s\"",
	    (unsigned long long)d->size, coffre_status_name(d->status), date);
}

static int
do_info(int argc, char **argv)
{
	const char *pos[1];
	struct opt opts[] = {{NULL, 0, NULL, NULL}};
	struct coffre_doc d;
	char date[21];
	int npos, rc;

	if ((rc = parse("info", argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (npos != 1) {
		say("info: needs a document id");
		return COFFRE_EUSAGE;
	}
	if ((rc = backend_open()) != 0)
		return rc;
	if ((rc = ops->info(be, pos[0], &d)) != 0)
		return fail(rc);
	if (g.json) {
		print_doc_json(&d, 1);
		fputs(",\"reviews\":[", out);
		for (size_t i = 0; i < d.nreviews; i++) {
			util_iso8601(d.reviews[i].at, date);
			fprintf(out,
			    "%s{\"decision\":\"%s\",\"at\":\"%s\",\"note\":",
			    i ? "," : "",
			    d.reviews[i].decision == COFFRE_APPROVED ? "approve"
								     : "reject",
			    date);
			jstr(out, d.reviews[i].note);
			fputs("}", out);
		}
		fputs("]}\n", out);
		return 0;
	}
	util_iso8601(d.created, date);
	fprintf(out,
	    "id: %s\nuser: %s\ncommunity: %s\nkind: %s\nname: %s\n"
	    "type: %s\nsize: %llu\nstatus: %s\ncreated: %s\n",
	    d.id, d.user, d.community, d.kind, d.name, d.type,
	    (unsigned long long)d.size, coffre_status_name(d.status), date);
	for (size_t i = 0; i < d.nreviews; i++) {
		util_iso8601(d.reviews[i].at, date);
		fprintf(out, "review: %s %s %s\n",
		    d.reviews[i].decision == COFFRE_APPROVED ? "approve"
							     : "reject",
		    date, d.reviews[i].note);
	}
	return 0;
}

static int
list_print(void *ctx, const struct coffre_doc *d)
{
	int *first = ctx;
	char date[21];

	if (g.json) {
		if (!*first)
			fputc(',', out);
		print_doc_json(d, 1);
		fputc('}', out);
	} else {
		util_iso8601(d->created, date);
		fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%llu\t%s\n", d->id,
		    coffre_status_name(d->status), d->user, d->community,
		    d->kind[0] != '\0' ? d->kind : "-", d->type,
		    (unsigned long long)d->size, date);
	}
	*first = 0;
	return 0;
}

static int
do_list(int argc, char **argv)
{
	const char *user = NULL, *comm = NULL, *status = NULL, *pos[1];
	struct opt opts[] = {{"--user", 1, &user, NULL},
	    {"--community", 1, &comm, NULL}, {"--status", 1, &status, NULL},
	    {NULL, 0, NULL, NULL}};
	struct coffre_filter f = {NULL, NULL, -1};
	int npos, rc, first = 1;

	if ((rc = parse("list", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (status != NULL && (f.status = coffre_status_parse(status)) < 0) {
		say("list: --status takes pending, approved, rejected or "
		    "shredded");
		return COFFRE_EREJECT;
	}
	if ((user != NULL && !coffre_valid_id(user)) ||
	    (comm != NULL && !coffre_valid_id(comm))) {
		say("list: malformed user or community id: 1 to 128 bytes of "
		    "[A-Za-z0-9._:@-]");
		return COFFRE_EREJECT;
	}
	f.user = user;
	f.community = comm;
	if ((rc = backend_open()) != 0)
		return rc;
	capture_begin();
	if (g.json)
		fputs("{\"documents\":[", out);
	rc = ops->list(be, &f, list_print, &first);
	if (g.json)
		fputs("]}\n", out);
	if (capture_end(rc) != 0)
		return fail(rc);
	return 0;
}

static int
do_review(const char *cmd, int decision, int argc, char **argv)
{
	const char *note = NULL, *pos[1];
	struct opt opts[] = {{decision == COFFRE_APPROVED ? "--note"
							  : "--reason",
				 1, &note, NULL},
	    {NULL, 0, NULL, NULL}};
	int npos, rc;

	if ((rc = parse(cmd, argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (npos != 1) {
		say("%s: needs a document id", cmd);
		return COFFRE_EUSAGE;
	}
	if (decision == COFFRE_REJECTED && note == NULL) {
		say("reject: --reason TEXT is required");
		return COFFRE_EUSAGE;
	}
	if ((rc = backend_open()) != 0)
		return rc;
	if ((rc = ops->review(be, pos[0], decision, note)) != 0)
		return fail(rc);
	if (g.json)
		fprintf(out, "{\"id\":\"%s\",\"status\":\"%s\"}\n", pos[0],
		    coffre_status_name(decision));
	else
		fprintf(out, "%s %s\n", pos[0], coffre_status_name(decision));
	return 0;
}

static int
do_shred(int argc, char **argv)
{
	const char *user = NULL, *doc = NULL, *arc = NULL, *pos[1];
	struct opt opts[] = {{"--user", 1, &user, NULL},
	    {"--doc", 1, &doc, NULL}, {"--archive", 1, &arc, NULL},
	    {NULL, 0, NULL, NULL}};
	struct coffre_shred_result r;
	int npos, rc;

	if ((rc = parse("shred", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if ((user != NULL) + (doc != NULL) + (arc != NULL) != 1) {
		say("shred: give one of --user U, --doc DOC, --archive ARC");
		return COFFRE_EUSAGE;
	}
	if (user != NULL && !coffre_valid_id(user)) {
		say("shred: malformed user id: 1 to 128 bytes of "
		    "[A-Za-z0-9._:@-]");
		return COFFRE_EREJECT;
	}
	if ((rc = backend_open()) != 0)
		return rc;
	if (user != NULL)
		rc = ops->shred_user(be, user, &r);
	else if (doc != NULL)
		rc = ops->shred_doc(be, doc, &r);
	else
		rc = ops->shred_archive(be, arc, &r);
	if (rc != 0)
		return fail(rc);
	if (g.json)
		fprintf(out,
		    "{\"shredded_documents\":%llu,\"contracts_ended\":%llu,"
		    "\"keys_destroyed\":%llu,\"wraps\":%llu,"
		    "\"epoch_before\":%llu,\"epoch_after\":%llu}\n",
		    (unsigned long long)r.documents,
		    (unsigned long long)r.contracts_ended,
		    (unsigned long long)r.keys_destroyed,
		    (unsigned long long)r.wraps,
		    (unsigned long long)r.epoch_before,
		    (unsigned long long)r.epoch_after);
	else
		fprintf(out,
		    "shredded %llu %s%s of %s%s%s: %llu key%s "
		    "destroyed, root epoch %llu -> %llu\n",
		    (unsigned long long)r.documents,
		    arc != NULL ? "archive" : "document",
		    r.documents == 1 ? "" : "s",
		    user != NULL ? "user "
				 : (doc != NULL ? "document " : "archive "),
		    user != NULL ? user : (doc != NULL ? doc : arc), "",
		    (unsigned long long)r.keys_destroyed,
		    r.keys_destroyed == 1 ? "" : "s",
		    (unsigned long long)r.epoch_before,
		    (unsigned long long)r.epoch_after);
	if (!g.json && r.contracts_ended > 0)
		fprintf(out,
		    "ended %llu running contract%s today: their archives are "
		    "kept for the retention period\n",
		    (unsigned long long)r.contracts_ended,
		    r.contracts_ended == 1 ? "" : "s");
	return 0;
}

static int report_first = 1;

static void
report_line(void *ctx, int problem, const char *msg)
{
	(void)ctx;
	if (g.json) {
		fputs(report_first ? "{\"problem\":" : ",{\"problem\":", out);
		fputs(problem ? "true" : "false", out);
		fputs(",\"message\":", out);
		jstr(out, msg);
		fputs("}", out);
		report_first = 0;
	} else {
		fprintf(out, "%s%s\n", problem ? "PROBLEM: " : "", msg);
	}
}

static int
do_check(int argc, char **argv)
{
	const char *pos[1];
	int repair = 0, npos, rc;
	struct opt opts[] = {{"--repair", 0, NULL, &repair},
	    {NULL, 0, NULL, NULL}};
	struct coffre_check_result r;

	if ((rc = parse("check", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if ((rc = backend_open()) != 0)
		return rc;
	if (g.json)
		fputs("{\"findings\":[", out);
	rc = ops->check(be, repair, report_line, NULL, &r);
	if (g.json)
		fprintf(out,
		    "],\"records\":%llu,\"leaves\":%llu,\"problems\":%llu,"
		    "\"repaired\":%llu,\"ok\":%s}\n",
		    (unsigned long long)r.documents,
		    (unsigned long long)r.leaves,
		    (unsigned long long)r.problems,
		    (unsigned long long)r.repaired, rc == 0 ? "true" : "false");
	if (rc != 0 && r.problems == 0)
		return fail(rc);
	if (!g.json)
		fprintf(out,
		    "checked %llu records (documents and archives) and %llu key leaves: %llu "
		    "problem%s%s\n",
		    (unsigned long long)r.documents,
		    (unsigned long long)r.leaves,
		    (unsigned long long)r.problems, r.problems == 1 ? "" : "s",
		    repair ? "" : (r.problems ? " (run with --repair)" : ""));
	if (rc != 0)
		say("check found %llu problem%s%s",
		    (unsigned long long)(r.problems - r.repaired),
		    r.problems - r.repaired == 1 ? "" : "s",
		    repair ? " that --repair may not fix" : "");
	return rc;
}

static int
do_audit_scan(int argc, char **argv)
{
	const char *pos[1];
	int npos, rc;
	struct opt opts[] = {{NULL, 0, NULL, NULL}};
	struct coffre_scan_result r;

	if ((rc = parse("audit scan", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if ((rc = backend_open()) != 0)
		return rc;
	if (g.json)
		fputs("{\"findings\":[", out);
	rc = ops->scan(be, report_line, NULL, &r);
	if (rc != 0 && r.opened == 0 && r.plaintext_hits == 0) {
		if (g.json)
			fputs("]}\n", out);
		return fail(rc);
	}
	if (g.json)
		fprintf(out,
		    "],\"lock_files_left_out\":%llu,\"files\":%llu,"
		    "\"bytes\":%llu,\"markers\":%llu,"
		    "\"candidates\":%llu,\"stale\":%llu,\"opened\":%llu,"
		    "\"plaintext_hits\":%llu,\"ok\":%s}\n",
		    (unsigned long long)r.skipped, (unsigned long long)r.files,
		    (unsigned long long)r.bytes, (unsigned long long)r.markers,
		    (unsigned long long)r.candidates,
		    (unsigned long long)r.stale, (unsigned long long)r.opened,
		    (unsigned long long)r.plaintext_hits,
		    rc == 0 ? "true" : "false");
	else
		fprintf(out,
		    "scanned %llu files, %llu bytes (%llu LMDB lock files "
		    "left out: no data)\n"
		    "(a) plaintext: %llu samples of live documents and "
		    "names searched, %llu found\n"
		    "(b) keys: %llu wrapped-key records found, %llu stale "
		    "copies, %llu open with a key that exists\n%s\n",
		    (unsigned long long)r.files, (unsigned long long)r.bytes,
		    (unsigned long long)r.skipped,
		    (unsigned long long)r.markers,
		    (unsigned long long)r.plaintext_hits,
		    (unsigned long long)r.candidates,
		    (unsigned long long)r.stale, (unsigned long long)r.opened,
		    rc == 0 ? "scan passed: nothing readable, nothing shredded "
			      "recoverable"
			    : "scan FAILED");
	if (rc != 0)
		say("audit scan failed: see the PROBLEM lines");
	return rc;
}

static int
print_line(void *ctx, uint64_t seq, const char *line, size_t len)
{
	(void)ctx;
	(void)seq;
	fwrite(line, 1, len, out);
	fputc('\n', out);
	return 0;
}

static int
do_audit_verify(int argc, char **argv)
{
	const char *log = NULL, *pub = NULL, *pos[1];
	struct opt opts[] = {{"--log", 1, &log, NULL},
	    {"--pubkey", 1, &pub, NULL}, {NULL, 0, NULL, NULL}};
	struct coffre_verify_result r;
	char err[1024];
	int npos, rc;

	if ((rc = parse("audit verify", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if ((log != NULL) != (pub != NULL)) {
		say("audit verify: give both --log FILE and --pubkey FILE, or "
		    "neither (then the vault's own log is checked)");
		return COFFRE_EUSAGE;
	}
	if (log != NULL) {
		rc = coffre_audit_verify_file(log, pub, &r, err, sizeof(err));
		if (rc != 0) {
			say("%s", err);
			return rc;
		}
	} else {
		if ((rc = backend_open()) != 0)
			return rc;
		if ((rc = ops->audit_verify(be, &r)) != 0)
			return fail(rc);
	}
	if (g.json)
		fprintf(out,
		    "{\"ok\":true,\"events\":%llu,\"checkpoints\":%llu,"
		    "\"head\":\"%s\"}\n",
		    (unsigned long long)r.events,
		    (unsigned long long)r.checkpoints, r.head);
	else
		fprintf(out,
		    "audit log verified: %llu events, %llu signed "
		    "checkpoints, no gap, head %s\n",
		    (unsigned long long)r.events,
		    (unsigned long long)r.checkpoints, r.head);
	return 0;
}

static int
do_audit_log(int argc, char **argv)
{
	const char *user = NULL, *pos[1];
	struct opt opts[] = {{"--user", 1, &user, NULL}, {NULL, 0, NULL, NULL}};
	int npos, rc;

	if ((rc = parse("audit log", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (user != NULL && !coffre_valid_id(user)) {
		say("audit log: malformed user id");
		return COFFRE_EREJECT;
	}
	if ((rc = backend_open()) != 0)
		return rc;
	capture_begin();
	/* --json: the stored lines, byte for byte (the export format);
	 * text: the same with sealed reasons opened for the operator. */
	rc = ops->audit_lines(be, user, !g.json, print_line, NULL);
	return capture_end(rc) != 0 ? fail(rc) : 0;
}

static int
do_shred_report(int argc, char **argv)
{
	const char *user = NULL, *pos[1];
	struct opt opts[] = {{"--user", 1, &user, NULL}, {NULL, 0, NULL, NULL}};
	int npos, rc;

	if ((rc = parse("audit shred-report", argc, argv, opts, pos, 0,
		 &npos)) != 0)
		return rc;
	if (user == NULL) {
		say("audit shred-report: needs --user U");
		return COFFRE_EUSAGE;
	}
	if ((rc = backend_open()) != 0)
		return rc;
	capture_begin();
	rc = ops->shred_report(be, user, print_line, NULL);
	return capture_end(rc) != 0 ? fail(rc) : 0;
}

static int
do_audit_rotate(int argc, char **argv)
{
	const char *pos[1];
	struct opt opts[] = {{NULL, 0, NULL, NULL}};
	const char *envsock;
	char pk[64];
	int npos, rc;

	if ((rc = parse("audit rotate-key", argc, argv, opts, pos, 0, &npos)) !=
	    0)
		return rc;
	envsock = getenv("COFFRE_SOCKET");
	if (g.socket != NULL ||
	    (g.dir == NULL && envsock != NULL && *envsock != '\0')) {
		say("audit rotate-key: works on the vault directory (--dir)");
		return COFFRE_EUSAGE;
	}
	if ((rc = backend_open()) != 0)
		return rc;
	if ((rc = coffre_audit_rotate(be, pk)) != 0)
		return fail(rc);
	if (g.json)
		fprintf(out, "{\"audit_pubkey\":\"%s\"}\n", pk);
	else
		fprintf(out,
		    "new audit public key: %s\n(the old key signed the "
		    "hand-over; verify from the key of init, DIR/audit.pub)\n",
		    pk);
	return 0;
}

static int
do_audit(int argc, char **argv)
{
	const char *sub = NULL;
	char *rest[MAX_ARGS];
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (sub == NULL && argv[i][0] != '-') {
			sub = argv[i];
			continue;
		}
		rest[n++] = argv[i];
	}
	if (sub == NULL) {
		say("audit: give a subcommand: verify, log, shred-report or "
		    "scan (see coffre audit --help)");
		return COFFRE_EUSAGE;
	}
	if (strcmp(sub, "verify") == 0)
		return do_audit_verify(n, rest);
	if (strcmp(sub, "log") == 0)
		return do_audit_log(n, rest);
	if (strcmp(sub, "shred-report") == 0)
		return do_shred_report(n, rest);
	if (strcmp(sub, "scan") == 0)
		return do_audit_scan(n, rest);
	if (strcmp(sub, "rotate-key") == 0)
		return do_audit_rotate(n, rest);
	say("audit: unknown subcommand '%s' (verify, log, shred-report, scan, "
	    "rotate-key)",
	    sub);
	return COFFRE_EUSAGE;
}

/* The report of an import: one line an entry (JSON at the end). */
struct import_report {
	int first_sealed, first_rejected;
	FILE *sealed, *rejected; /* --json: the two arrays, built apart */
	char *sbuf, *rbuf;
	size_t slen, rlen;
	int progress;
	uint64_t n;
};

static int
import_print(void *ctx, const struct coffre_import_entry *e)
{
	struct import_report *r = ctx;

	r->n++;
	if (r->progress)
		fprintf(stderr, "\rcoffre: import: %llu entries",
		    (unsigned long long)r->n);
	if (!g.json) {
		if (e->sealed)
			fprintf(out, "sealed\t%s\t%s\t%s\t%llu\n", e->entry,
			    e->id, e->type, (unsigned long long)e->size);
		else
			fprintf(out, "rejected\t%s\t%s\n", e->entry, e->reason);
		return 0;
	}
	if (e->sealed) {
		fputs(r->first_sealed ? "" : ",", r->sealed);
		fputs("{\"entry\":", r->sealed);
		jstr(r->sealed, e->entry);
		fprintf(r->sealed, ",\"id\":\"%s\",\"type\":", e->id);
		jstr(r->sealed, e->type);
		fprintf(r->sealed, ",\"size\":%llu}",
		    (unsigned long long)e->size);
		r->first_sealed = 0;
	} else {
		fputs(r->first_rejected ? "" : ",", r->rejected);
		fputs("{\"entry\":", r->rejected);
		jstr(r->rejected, e->entry);
		fputs(",\"reason\":", r->rejected);
		jstr(r->rejected, e->reason);
		fputs("}", r->rejected);
		r->first_rejected = 0;
	}
	return 0;
}

static int
do_import(int argc, char **argv)
{
	const char *user = NULL, *comm = NULL, *pos[1], *name = NULL;
	struct opt opts[] = {{"--user", 1, &user, NULL},
	    {"--community", 1, &comm, NULL}, {NULL, 0, NULL, NULL}};
	struct import_report rep;
	struct coffre_import_result res;
	struct input in;
	int npos, rc;

	if ((rc = parse("import", argc, argv, opts, pos, 1, &npos)) != 0)
		return rc;
	if (user == NULL || comm == NULL || npos != 1) {
		say("import: needs --user U, --community C and a BUNDLE (a zip "
		    "or tar file, or - for standard input)");
		return COFFRE_EUSAGE;
	}
	if ((rc = input_open(pos[0], &in, &name)) != 0)
		return rc;
	memset(&rep, 0, sizeof(rep));
	rep.first_sealed = rep.first_rejected = 1;
	rep.progress = isatty(STDERR_FILENO);
	if (g.json) {
		rep.sealed = open_memstream(&rep.sbuf, &rep.slen);
		rep.rejected = open_memstream(&rep.rbuf, &rep.rlen);
		if (rep.sealed == NULL || rep.rejected == NULL) {
			say("out of memory");
			rc = COFFRE_EFAIL;
			goto out;
		}
	}
	if ((rc = backend_open()) != 0)
		goto out;
	rc = ops->import(be, user, comm, read_fd, in.seekable ? seek_fd : NULL,
	    &in, import_print, &rep, &res);
	if (rep.progress && rep.n > 0)
		fputc('\n', stderr);
	/* The report stands whenever the bundle was read, rejections or not. */
	if (g.json && (rc == 0 || res.sealed + res.rejected > 0)) {
		fclose(rep.sealed);
		fclose(rep.rejected);
		rep.sealed = rep.rejected = NULL;
		fprintf(out, "{\"sealed\":[%.*s],\"rejected\":[%.*s]}\n",
		    (int)rep.slen, rep.sbuf != NULL ? rep.sbuf : "",
		    (int)rep.rlen, rep.rbuf != NULL ? rep.rbuf : "");
	}
	if (rc != 0)
		fail(rc);
out:
	if (rep.sealed != NULL)
		fclose(rep.sealed);
	if (rep.rejected != NULL)
		fclose(rep.rejected);
	free(rep.sbuf);
	free(rep.rbuf);
	if (in.fd != STDIN_FILENO)
		close(in.fd);
	return rc;
}

/* The export format of --format, or of FILE's name; -1 if none. */
static int
export_format(const char *fmt, const char *path)
{
	size_t n;

	if (fmt != NULL) {
		if (strcmp(fmt, "zip") == 0)
			return COFFRE_EXPORT_ZIP;
		if (strcmp(fmt, "tar") == 0)
			return COFFRE_EXPORT_TAR;
		if (strcmp(fmt, "tar.gz") == 0 || strcmp(fmt, "tgz") == 0)
			return COFFRE_EXPORT_TGZ;
		return -1;
	}
	if (path == NULL)
		return -1;
	n = strlen(path);
	if (n > 4 && strcmp(path + n - 4, ".zip") == 0)
		return COFFRE_EXPORT_ZIP;
	if (n > 4 && strcmp(path + n - 4, ".tar") == 0)
		return COFFRE_EXPORT_TAR;
	if ((n > 7 && strcmp(path + n - 7, ".tar.gz") == 0) ||
	    (n > 4 && strcmp(path + n - 4, ".tgz") == 0))
		return COFFRE_EXPORT_TGZ;
	return -1;
}

static int
do_export(int argc, char **argv)
{
	struct output o = {NULL, -1, NULL};
	const char *user = NULL, *fmt = NULL, *pos[1];
	struct opt opts[] = {{"--user", 1, &user, NULL},
	    {"-o", 1, &o.path, NULL}, {"--output", 1, &o.path, NULL},
	    {"--format", 1, &fmt, NULL}, {NULL, 0, NULL, NULL}};
	int npos, rc, format;

	if ((rc = parse("export", argc, argv, opts, pos, 0, &npos)) != 0)
		return rc;
	if (user == NULL || o.path == NULL) {
		say("export: needs --user U and -o FILE (.zip, .tar, .tar.gz, "
		    "or - for standard output with --format)");
		return COFFRE_EUSAGE;
	}
	if ((format = export_format(fmt,
		 strcmp(o.path, "-") == 0 ? NULL : o.path)) < 0) {
		say("export: give --format zip|tar|tar.gz, or a FILE ending in "
		    ".zip, .tar or .tar.gz");
		return COFFRE_EUSAGE;
	}
	if ((rc = output_check("export", &o)) != 0 ||
	    (rc = backend_open()) != 0 || (rc = output_open(&o)) != 0)
		return rc;
	rc = output_run(&o, rc, ops->export(be, user, format, awrite, o.aw));
	return output_close(&o, rc);
}

static int
number_opt(const char *name, const char *s, unsigned *res)
{
	char *end;
	unsigned long v;

	if (s == NULL)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '1' || *s > '9' || *end != '\0' || errno != 0 || v > 100000) {
		say("serve: %s takes a whole number from 1 to 100000", name);
		return COFFRE_EUSAGE;
	}
	*res = (unsigned)v;
	return 0;
}

static int
do_serve(int argc, char **argv)
{
	const char *allow[64];
	const char *timeout = NULL, *maxc = NULL, *peruid = NULL;
	struct serve_opts o;
	char *pass = NULL;
	size_t passlen = 0;
	int rc, nallow = 0;

	memset(&o, 0, sizeof(o));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (strcmp(a, "--allow") == 0) {
			if (nallow == 64) {
				say("serve: at most 64 --allow");
				return COFFRE_EUSAGE;
			}
			slot = &allow[nallow++];
		} else if (strcmp(a, "--socket-group") == 0) {
			slot = &o.group;
		} else if (strcmp(a, "--timeout") == 0) {
			slot = &timeout;
		} else if (strcmp(a, "--max-connections") == 0) {
			slot = &maxc;
		} else if (strcmp(a, "--max-connections-per-uid") == 0) {
			slot = &peruid;
		} else {
			say("serve: unexpected '%s' (see coffre serve --help)",
			    a);
			return COFFRE_EUSAGE;
		}
		if (i + 1 >= argc) {
			say("serve: %s needs a value", a);
			return COFFRE_EUSAGE;
		}
		*slot = argv[++i];
	}
	if ((rc = number_opt("--timeout", timeout, &o.timeout)) != 0 ||
	    (rc = number_opt("--max-connections", maxc, &o.max_connections)) !=
		0 ||
	    (rc = number_opt("--max-connections-per-uid", peruid,
		 &o.max_per_uid)) != 0)
		return rc;
	/* --socket is where to listen, not a daemon to talk to. */
	o.socket = g.socket;
	o.dir = vault_dir();
	o.allow = allow;
	o.nallow = nallow;
	if ((rc = read_passphrase(&pass, &passlen)) != 0)
		return rc;
	o.pass = pass;
	o.passlen = passlen;
	rc = serve_run(&o);
	if (pass != NULL)
		sodium_free(pass);
	return rc;
}

/*
 * Take the global options out of argv wherever they stand; what is left is
 * the command and its own arguments.
 */
static int
globals(int argc, char **argv, char **rest, int *nrest)
{
	int value_next = 0;

	*nrest = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		/*
		 * The word after a command option that takes a value is that
		 * value, whatever it looks like (--reason -h is a reason).
		 * Command options without a value: --repair.
		 */
		if (value_next) {
			value_next = 0;
			if (*nrest >= MAX_ARGS) {
				say("too many arguments");
				return COFFRE_EUSAGE;
			}
			rest[(*nrest)++] = argv[i];
			continue;
		}
		if (strcmp(a, "--dir") == 0)
			slot = &g.dir;
		else if (strcmp(a, "--socket") == 0)
			slot = &g.socket;
		else if (strcmp(a, "--passphrase-file") == 0)
			slot = &g.passfile;
		if (slot != NULL) {
			if (i + 1 >= argc || argv[i + 1][0] == '\0') {
				say("%s needs a value", a);
				return COFFRE_EUSAGE;
			}
			*slot = argv[++i];
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			g.json = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			g.help = 1;
			continue;
		}
		if (*nrest >= MAX_ARGS) {
			say("too many arguments");
			return COFFRE_EUSAGE;
		}
		rest[(*nrest)++] = argv[i];
		value_next = *nrest > 1 && a[0] == '-' && a[1] != '\0' &&
		    strcmp(a, "--repair") != 0 && strcmp(a, "--version") != 0;
	}
	if (g.dir != NULL && g.socket != NULL &&
	    !(*nrest > 0 && strcmp(rest[0], "serve") == 0)) {
		say("give --dir or --socket, not both");
		return COFFRE_EUSAGE;
	}
	return 0;
}

/*
 * LMDB trusts the pages of its files: a damaged one can make it read or
 * write outside its map (SIGSEGV, SIGBUS).  A damaged vault is reported as
 * such, with the failure status, never as a crash.  (Under AddressSanitizer
 * our own code's bad accesses are caught by its checks before any such
 * signal; what reaches this handler comes from the uninstrumented LMDB.)
 */
static void
on_fault(int sig)
{
	static const char msg[] =
	    "coffre: a file of the vault is corrupt (the database read a "
	    "damaged page); run 'coffre check' and restore from a backup\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(COFFRE_EFAIL);
}

static void
fault_handlers(void)
{
	static uint8_t stack[64 * 1024];
	stack_t ss = {.ss_sp = stack, .ss_size = sizeof(stack)};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_ONSTACK;
	(void)sigaltstack(&ss, NULL);
	(void)sigaction(SIGSEGV, &sa, NULL);
	(void)sigaction(SIGBUS, &sa, NULL);
}

int
main(int argc, char **argv)
{
	char *rest[MAX_ARGS];
	int nrest, rc;
	const char *cmd;

	out = stdout;
	fault_handlers();
	/* A reader that goes away is a write error (exit 1), not a death. */
	(void)signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		say("cannot initialise libsodium");
		return COFFRE_EFAIL;
	}
	if ((rc = globals(argc, argv, rest, &nrest)) != 0)
		return rc;
	if (nrest == 0) {
		if (g.help) {
			fputs(usage_text, stdout);
			return 0;
		}
		say("no command given (see coffre --help)");
		return COFFRE_EUSAGE;
	}
	cmd = rest[0];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("coffre %s\n", COFFRE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0)
		return cmd_help(nrest > 1 ? rest[1] : "");
	if (g.help)
		return cmd_help(cmd);
	if (strcmp(cmd, "init") == 0)
		rc = do_init(nrest - 1, rest + 1);
	else if (strcmp(cmd, "seal") == 0)
		rc = do_seal(nrest - 1, rest + 1);
	else if (strcmp(cmd, "open") == 0)
		rc = do_open(nrest - 1, rest + 1);
	else if (strcmp(cmd, "info") == 0)
		rc = do_info(nrest - 1, rest + 1);
	else if (strcmp(cmd, "list") == 0)
		rc = do_list(nrest - 1, rest + 1);
	else if (strcmp(cmd, "approve") == 0)
		rc = do_review("approve", COFFRE_APPROVED, nrest - 1, rest + 1);
	else if (strcmp(cmd, "reject") == 0)
		rc = do_review("reject", COFFRE_REJECTED, nrest - 1, rest + 1);
	else if (strcmp(cmd, "archive") == 0)
		rc = do_archive(nrest - 1, rest + 1);
	else if (strcmp(cmd, "archive-open") == 0)
		rc = do_archive_open(nrest - 1, rest + 1);
	else if (strcmp(cmd, "contract-end") == 0)
		rc = do_contract_end(nrest - 1, rest + 1);
	else if (strcmp(cmd, "hold") == 0)
		rc = do_hold("hold", 1, nrest - 1, rest + 1);
	else if (strcmp(cmd, "release") == 0)
		rc = do_hold("release", 0, nrest - 1, rest + 1);
	else if (strcmp(cmd, "archives") == 0)
		rc = do_archives(nrest - 1, rest + 1);
	else if (strcmp(cmd, "sweep") == 0)
		rc = do_sweep(nrest - 1, rest + 1);
	else if (strcmp(cmd, "shred") == 0)
		rc = do_shred(nrest - 1, rest + 1);
	else if (strcmp(cmd, "check") == 0)
		rc = do_check(nrest - 1, rest + 1);
	else if (strcmp(cmd, "audit") == 0)
		rc = do_audit(nrest - 1, rest + 1);
	else if (strcmp(cmd, "serve") == 0)
		rc = do_serve(nrest - 1, rest + 1);
	else if (strcmp(cmd, "import") == 0)
		rc = do_import(nrest - 1, rest + 1);
	else if (strcmp(cmd, "export") == 0)
		rc = do_export(nrest - 1, rest + 1);
	else {
		say("unknown command '%s' (see coffre --help)", cmd);
		rc = COFFRE_EUSAGE;
	}
	if (ops != NULL)
		ops->close(be);
	if (fflush(stdout) != 0 && rc == 0) {
		say("writing to standard output: %s", strerror(errno));
		rc = COFFRE_EFAIL;
	}
	return rc;
}
