/*
 * bundle.c: bundles in (coffre_import: a zip or tar, plain or gzip, read
 * with libarchive straight from its stream, each regular entry sealed as
 * its own document) and portability out (the export reader: every live
 * document of a user and a manifest.json, written with libarchive as the
 * reader pulls, straight from the sealed store).  And the libarchive half
 * of the polyglot check: a document that libarchive reads as an archive.
 */
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <sodium.h>

#include "vault/index.h"
#include "vault/util.h"
#include "vault/vault.h"

#define IN_BYTES (64 * 1024)
#define RATIO_SLACK (1024 * 1024) /* bytes out before the ratio applies */

/*
 * libarchive converts names between the archive's charset and the
 * locale's.  The command runs in the C locale, where a name that is not
 * ASCII cannot be converted: bundle work runs in C.UTF-8, on this thread
 * only (uselocale), whatever the process's locale.
 */
static locale_t u8loc;
static pthread_once_t u8once = PTHREAD_ONCE_INIT;

static void
u8_init(void)
{
	u8loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t
u8_enter(void)
{
	pthread_once(&u8once, u8_init);
	return u8loc != (locale_t)0 ? uselocale(u8loc) : (locale_t)0;
}

static void
u8_leave(locale_t old)
{
	if (old != (locale_t)0)
		uselocale(old);
}

/* ---- the polyglot check ---- */

int
bundle_is_archive(const uint8_t *head, size_t len, char *fmt, size_t fmtlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r, found = 0;

	if (a == NULL)
		return 0;
	/* Formats whose readers want a signature where it belongs (and the
	 * seekable zip reader, which finds a zip appended to the head). */
	(void)archive_read_support_filter_gzip(a);
	(void)archive_read_support_filter_bzip2(a);
	(void)archive_read_support_filter_xz(a);
	(void)archive_read_support_filter_zstd(a);
	(void)archive_read_support_format_zip(a);
	(void)archive_read_support_format_tar(a);
	(void)archive_read_support_format_7zip(a);
	(void)archive_read_support_format_rar(a);
	(void)archive_read_support_format_rar5(a);
	(void)archive_read_support_format_cab(a);
	(void)archive_read_support_format_iso9660(a);
	(void)archive_read_support_format_cpio(a);
	(void)archive_read_support_format_xar(a);
	(void)archive_read_support_format_ar(a);
	if (archive_read_open_memory(a, head, len) == ARCHIVE_OK) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
			found = 1;
			snprintf(fmt, fmtlen, "%s", archive_format_name(a));
		}
	}
	archive_read_free(a);
	return found;
}

/* ---- import ---- */

/* The bundle's stream, counted. */
struct bin {
	coffre_read_fn rd;
	coffre_seek_fn seek;
	void *ctx;
	uint8_t *buf;
	uint64_t raw; /* bytes read from the bundle */
};

static la_ssize_t
bin_read(struct archive *a, void *ctx, const void **buf)
{
	struct bin *b = ctx;
	long n = b->rd(b->ctx, b->buf, IN_BYTES);

	if (n < 0) {
		archive_set_error(a, errno, "reading the bundle: %s",
		    strerror(errno));
		return -1;
	}
	b->raw += (uint64_t)n;
	*buf = b->buf;
	return (la_ssize_t)n;
}

static la_int64_t
bin_seek(struct archive *a, void *ctx, la_int64_t off, int whence)
{
	struct bin *b = ctx;
	int64_t r = b->seek(b->ctx, (int64_t)off, whence);

	if (r < 0)
		archive_set_error(a, errno, "seeking in the bundle");
	return (la_int64_t)r;
}

static la_int64_t
bin_skip(struct archive *a, void *ctx, la_int64_t n)
{
	struct bin *b = ctx;

	(void)a;
	if (b->seek(b->ctx, n, SEEK_CUR) < 0)
		return 0; /* libarchive then reads through */
	return n;
}

enum {
	WHY_NONE,
	WHY_READ,
	WHY_RATIO,
	WHY_TOTAL
};

/* One entry as the input of a seal: bytes actually decompressed, counted. */
struct ein {
	struct archive *a;
	struct bin *b;
	struct config *conf;
	uint64_t out, *total;
	int why;
	char err[256];
};

static long
ein_read(void *ctx, uint8_t *buf, size_t len)
{
	struct ein *e = ctx;
	la_ssize_t n = archive_read_data(e->a, buf, len);
	uint64_t raw;

	if (n < 0) {
		e->why = WHY_READ;
		snprintf(e->err, sizeof(e->err), "%s",
		    archive_error_string(e->a) != NULL
			? archive_error_string(e->a)
			: "unreadable entry");
		errno = EIO;
		return -1;
	}
	e->out += (uint64_t)n;
	*e->total += (uint64_t)n;
	if (*e->total > e->conf->max_bundle) {
		e->why = WHY_TOTAL;
		errno = EFBIG;
		return -1;
	}
	/*
	 * The ratio of the whole bundle so far: libarchive reads ahead, so
	 * the bytes read "for" one entry are not known, but every byte out
	 * came from the bytes read so far.
	 */
	raw = e->b->raw;
	if (*e->total > RATIO_SLACK &&
	    *e->total / (raw > 0 ? raw : 1) >= e->conf->max_ratio) {
		e->why = WHY_RATIO;
		errno = EFBIG;
		return -1;
	}
	return (long)n;
}

/*
 * Read what is left of the current entry, counted like a seal's input: a
 * rejected entry is decompressed to reach the next one, and must not slip
 * past the limits.  0, or -1 with e->why set.
 */
static int
drain(struct ein *e, uint8_t *scratch)
{
	long n;

	while ((n = ein_read(e, scratch, IN_BYTES)) > 0)
		sodium_memzero(scratch, (size_t)n);
	return n < 0 ? -1 : 0;
}

/* What stopped the bundle, for its report. */
static const char *
stop_reason(const struct ein *e, char *msg, size_t len)
{
	if (e->why == WHY_RATIO)
		snprintf(msg, len,
		    "a compression ratio over %llu (a bomb?): the rest of the "
		    "bundle is not read",
		    (unsigned long long)e->conf->max_ratio);
	else if (e->why == WHY_TOTAL)
		snprintf(msg, len,
		    "the bundle's documents pass its total limit of %llu "
		    "bytes (max_bundle_bytes): the rest is not read",
		    (unsigned long long)e->conf->max_bundle);
	else
		snprintf(msg, len, "unreadable entry: %s", e->err);
	return msg;
}

/* A printable copy of an entry name for reports. */
static void
printable(const char *in, char *out, size_t outlen)
{
	size_t i, n = 0;
	int utf8 = util_valid_utf8(in);

	for (i = 0; in[i] != '\0' && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			out[n++] = '?';
		else
			out[n++] = in[i];
	}
	/* Cut short: never in the middle of a UTF-8 character. */
	if (in[i] != '\0' && utf8) {
		while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
			n--;
	}
	out[n] = '\0';
}

/* Why the name ${s} may not be a document's name, or NULL. */
static const char *
name_refusal(const char *s)
{
	const char *p = s;

	if (*s == '\0')
		return "an empty name";
	if (*s == '/' || *s == '\\' ||
	    (((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z') && s[1] == ':'))
		return "an absolute name (path traversal)";
	while (*p != '\0') {
		size_t n = strcspn(p, "/\\");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return "a name with '..' (path traversal)";
		p += n;
		if (*p != '\0')
			p++;
	}
	if (strlen(s) > COFFRE_NAME_MAX)
		return "a name longer than 255 bytes";
	if (!util_valid_utf8(s))
		return "a name that is not UTF-8";
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "a name with control characters";
	return NULL;
}

/* Why entry ${e} is not a document, "" for a folder (skipped), or NULL. */
static const char *
entry_refusal(struct archive_entry *e, const struct config *conf)
{
	const char *name = archive_entry_pathname_utf8(e);
	const char *why;

	if (name == NULL)
		return "an entry without a name";
	if ((why = name_refusal(name)) != NULL)
		return why;
	if (archive_entry_hardlink(e) != NULL)
		return "a hard link";
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		break;
	case AE_IFDIR:
		return "";
	case AE_IFLNK:
		return "a symbolic link";
	case AE_IFCHR:
	case AE_IFBLK:
		return "a device";
	case AE_IFIFO:
	case AE_IFSOCK:
		return "a pipe or socket";
	default:
		return "not a regular file";
	}
	if (archive_entry_is_encrypted(e))
		return "an encrypted entry";
	if (archive_entry_size_is_set(e) &&
	    (uint64_t)archive_entry_size(e) > conf->max_doc)
		return "over the size limit of a document";
	return NULL;
}

static int
archive_type(const char *type)
{
	static const char *const t[] = {"application/zip", "application/gzip",
	    "application/x-gzip", "application/x-tar",
	    "application/x-7z-compressed", "application/x-rar",
	    "application/vnd.rar", "application/x-bzip2", "application/x-xz",
	    "application/zstd", "application/x-lzip", "application/x-compress",
	    "application/x-cpio", "application/x-iso9660-image",
	    "application/vnd.ms-cab-compressed", "application/x-archive"};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(type, t[i]) == 0)
			return 1;
	return 0;
}

struct importer {
	coffre_vault *v;
	const char *user, *community, *actor;
	coffre_import_fn fn;
	void *ctx;
	struct coffre_import_result *res;
};

/* Report one entry; log a refusal the seal did not log itself. */
static int
report(struct importer *im, const char *raw, const struct coffre_seal_req *r,
    const char *reason, int log)
{
	struct coffre_import_entry ent;
	char name[COFFRE_NAME_MAX + 1];
	struct audit_ev ev;
	char actor[sizeof(im->v->actor)];

	printable(raw != NULL ? raw : "", name, sizeof(name));
	memset(&ent, 0, sizeof(ent));
	ent.entry = name;
	if (reason == NULL) {
		ent.sealed = 1;
		ent.id = r->id;
		ent.type = r->type;
		ent.size = r->size;
		im->res->sealed++;
	} else {
		ent.reason = reason;
		im->res->rejected++;
	}
	if (reason != NULL && log) {
		audit_ev_init(&ev);
		audit_ev_str(&ev, "user", im->user);
		audit_ev_str(&ev, "community", im->community);
		audit_ev_str(&ev, "reason", reason);
		memcpy(actor, im->v->actor, sizeof(actor));
		if (im->actor != NULL)
			coffre_set_actor(im->v, im->actor);
		(void)audit_log(im->v, "import-entry", "refused", &ev);
		memcpy(im->v->actor, actor, sizeof(actor));
	}
	return im->fn != NULL ? im->fn(im->ctx, &ent) : 0;
}

int
coffre_import(coffre_vault *v, const char *user, const char *community,
    const char *actor, coffre_read_fn rd, coffre_seek_fn seek, void *rdctx,
    coffre_import_fn fn, void *ctx, struct coffre_import_result *res)
{
	struct importer im = {v, user, community, actor, fn, ctx, res};
	struct archive *a = NULL;
	struct archive_entry *e;
	struct bin b = {rd, seek, rdctx, NULL, 0};
	struct ein in;
	locale_t oldloc;
	uint8_t *scratch = NULL;
	uint64_t total = 0;
	char msg[512];
	int rc = 0, r, stop = 0;

	memset(res, 0, sizeof(*res));
	if (!coffre_valid_id(user) || !coffre_valid_id(community))
		return vault_err(v, COFFRE_EREJECT,
		    "malformed user or community id: 1 to 128 bytes of "
		    "[A-Za-z0-9._:@-]");
	oldloc = u8_enter();
	if ((b.buf = malloc(IN_BYTES)) == NULL ||
	    (scratch = sodium_malloc(IN_BYTES)) == NULL ||
	    (a = archive_read_new()) == NULL) {
		free(b.buf);
		sodium_free(scratch);
		u8_leave(oldloc);
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	}
	memset(&in, 0, sizeof(in));
	in.a = a;
	in.b = &b;
	in.conf = &v->conf;
	in.total = &total;
	/* Only what a bundle may be: zip, tar, and gzip around a tar. */
	(void)archive_read_support_format_zip(a);
	(void)archive_read_support_format_tar(a);
	(void)archive_read_support_filter_gzip(a);
	/*
	 * With a seek, the zip reader takes the central directory, which
	 * alone marks links; without, it reads local headers as they come.
	 */
	if (seek != NULL && seek(rdctx, 0, SEEK_CUR) >= 0) {
		(void)archive_read_set_seek_callback(a, bin_seek);
		(void)archive_read_set_skip_callback(a, bin_skip);
	}
	(void)archive_read_set_read_callback(a, bin_read);
	(void)archive_read_set_callback_data(a, &b);
	if (archive_read_open1(a) != ARCHIVE_OK) {
		rc = vault_err(v, COFFRE_EREJECT,
		    "not a zip or tar bundle (plain or gzip): %s",
		    archive_error_string(a) != NULL ? archive_error_string(a)
						    : "unreadable");
		goto out;
	}
	while (!stop) {
		struct coffre_seal_req req;
		const char *why, *name;
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			snprintf(msg, sizeof(msg),
			    "the bundle is damaged after %llu entries: %s",
			    (unsigned long long)res->entries,
			    archive_error_string(a) != NULL
				? archive_error_string(a)
				: "unreadable");
			if (res->entries == 0) {
				rc = vault_err(v, COFFRE_EREJECT,
				    "not a zip or tar bundle (plain or gzip): "
				    "%s",
				    msg);
				goto out;
			}
			(void)report(&im, "(rest of the bundle)", NULL, msg, 1);
			break;
		}
		name = archive_entry_pathname_utf8(e);
		why = entry_refusal(e, &v->conf);
		in.why = WHY_NONE;
		if (why != NULL && *why == '\0') {
			/* A folder: nothing to seal. */
			if (drain(&in, scratch) != 0) {
				(void)report(&im, name, NULL,
				    stop_reason(&in, msg, sizeof(msg)), 1);
				break;
			}
			continue;
		}
		res->entries++;
		if (res->entries > v->conf.max_entries) {
			snprintf(msg, sizeof(msg),
			    "more entries than the limit of %llu "
			    "(max_bundle_entries): the rest is not read",
			    (unsigned long long)v->conf.max_entries);
			(void)report(&im, name, NULL, msg, 1);
			break;
		}
		if (why != NULL) {
			if (report(&im, name, NULL, why, 1) != 0)
				break;
			/*
			 * A zip entry whose size is known is skipped unread
			 * (libarchive seeks, or reads past it compressed);
			 * any other is read to its end through the counts, so
			 * that skipping it passes no limit.
			 */
			if (((archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) ==
				    ARCHIVE_FORMAT_ZIP &&
				archive_entry_size_is_set(e))
				? archive_read_data_skip(a) != ARCHIVE_OK
				: drain(&in, scratch) != 0) {
				if (in.why != WHY_NONE)
					(void)stop_reason(&in, msg,
					    sizeof(msg));
				else
					snprintf(msg, sizeof(msg),
					    "unreadable after an entry: %s",
					    archive_error_string(a) != NULL
						? archive_error_string(a)
						: "damaged");
				(void)report(&im, "(rest of the bundle)", NULL,
				    msg, 1);
				break;
			}
			continue;
		}
		memset(&req, 0, sizeof(req));
		req.user = user;
		req.group = community;
		req.name = name;
		req.actor = actor;
		req.rd = ein_read;
		req.rdctx = &in;
		(void)coffre_seal_batch(v, &req, 1);
		if (req.rc == 0) {
			if (report(&im, name, &req, NULL, 0) != 0)
				break;
			continue;
		}
		if (req.rc == COFFRE_EGONE && res->sealed == 0) {
			/* A fenced user: the whole bundle is refused. */
			rc = vault_err(v, COFFRE_EGONE, "%s", req.err);
			goto out;
		}
		if (in.why != WHY_NONE) {
			why = stop_reason(&in, msg, sizeof(msg));
			stop = 1;
		} else if (req.bad_type && archive_type(req.type)) {
			snprintf(msg, sizeof(msg),
			    "a nested archive (%s): bundles are not unpacked "
			    "inside bundles",
			    req.type);
			why = msg;
		} else if (req.too_large) {
			why = "over the size limit of a document "
			      "(max_document_bytes)";
		} else {
			why = req.err;
		}
		/* The seal logged its own refusal, except for a cut input. */
		if (report(&im, name, NULL, why, in.why != WHY_NONE) != 0)
			break;
		if (!stop && req.rc != COFFRE_EFAIL &&
		    drain(&in, scratch) != 0) {
			(void)report(&im, "(rest of the bundle)", NULL,
			    stop_reason(&in, msg, sizeof(msg)), 1);
			break;
		}
		if (req.rc == COFFRE_EFAIL && in.why == WHY_NONE) {
			rc = vault_err(v, COFFRE_EFAIL, "%s", req.err);
			goto out;
		}
	}
	res->bytes_in = b.raw;
	res->bytes_out = total;
	if (res->entries == 0 && res->rejected == 0)
		rc = vault_err(v, COFFRE_EREJECT,
		    "the bundle holds no document");
	else if (res->rejected > 0)
		rc = vault_err(v, COFFRE_EREJECT,
		    "%llu of the bundle's entries were rejected (%llu sealed)",
		    (unsigned long long)res->rejected,
		    (unsigned long long)res->sealed);
out:
	archive_read_free(a);
	free(b.buf);
	sodium_free(scratch);
	u8_leave(oldloc);
	return rc;
}

/* ---- export ---- */

/* One document of an export. */
struct xdoc {
	char id[COFFRE_DOCID_LEN + 1];
	char file[COFFRE_NAME_MAX + 32]; /* its name in the archive */
	int64_t created;
	uint64_t size;
	json_t *m; /* its manifest entry */
};

struct coffre_export {
	coffre_vault *v;
	void (*lock)(void *);
	void (*unlock)(void *);
	void *lockctx;
	struct archive *a;
	struct xdoc *docs;
	size_t n, i;
	json_t *manifest; /* the array of entries */
	coffre_reader *r; /* the document being written */
	crypto_generichash_state *hs;
	uint8_t *chunk; /* 64 KiB, locked */
	uint8_t *out;   /* what libarchive wrote, not yet pulled; locked */
	size_t outlen, outpos, outcap;
	char *mtext; /* manifest.json, once the documents are written */
	size_t mlen, mpos;
	int done, failed;
	char err[512];
};

static la_ssize_t
x_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct coffre_export *x = ctx;

	if (x->outlen + len > x->outcap) {
		archive_set_error(a, ENOMEM, "export buffer full");
		return -1;
	}
	memcpy(x->out + x->outlen, buf, len);
	x->outlen += len;
	return (la_ssize_t)len;
}

static int
x_fail(struct coffre_export *x, const char *what)
{
	snprintf(x->err, sizeof(x->err), "%s",
	    what != NULL ? what : "libarchive failed");
	x->failed = 1;
	return -1;
}

/* A safe, unique name in the archive for document ${d} named ${name}. */
static void
x_name(struct coffre_export *x, struct xdoc *d, const char *name,
    const char *type)
{
	char base[COFFRE_NAME_MAX + 1];
	size_t n = 0;
	const char *ext = strcmp(type, "application/pdf") == 0 ? ".pdf"
	    : strcmp(type, "image/jpeg") == 0                  ? ".jpg"
	    : strcmp(type, "image/png") == 0                   ? ".png"
							       : "";

	for (const char *p = name; *p != '\0' && n + 1 < sizeof(base); p++) {
		if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20 ||
		    *p == 0x7f)
			base[n++] = '_';
		else
			base[n++] = *p;
	}
	base[n] = '\0';
	while (base[0] == '.')
		memmove(base, base + 1, strlen(base));
	if (base[0] == '\0' || strcmp(base, "manifest.json") == 0)
		snprintf(d->file, sizeof(d->file), "%s%s", d->id, ext);
	else
		snprintf(d->file, sizeof(d->file), "%s", base);
	for (size_t i = 0; i < x->n; i++)
		if (&x->docs[i] != d && strcmp(x->docs[i].file, d->file) == 0) {
			snprintf(d->file, sizeof(d->file), "%s-%s", d->id,
			    base[0] != '\0' ? base : ext);
			break;
		}
}

struct xlist {
	struct coffre_export *x;
	size_t cap;
	int failed;
};

static int
x_collect(void *ctx, const struct coffre_doc *doc)
{
	struct xlist *l = ctx;
	struct coffre_export *x = l->x;

	if (doc->status == COFFRE_SHREDDED)
		return 0;
	if (x->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct xdoc *nd = realloc(x->docs, cap * sizeof(*nd));
		if (nd == NULL) {
			l->failed = 1;
			return 1;
		}
		x->docs = nd;
		l->cap = cap;
	}
	memset(&x->docs[x->n], 0, sizeof(x->docs[x->n]));
	snprintf(x->docs[x->n].id, sizeof(x->docs[x->n].id), "%s", doc->id);
	x->n++;
	return 0;
}

void
coffre_export_close(coffre_exporter *x)
{
	if (x == NULL)
		return;
	coffre_reader_close(x->r);
	if (x->a != NULL)
		archive_write_free(x->a);
	for (size_t i = 0; i < x->n; i++)
		json_decref(x->docs[i].m);
	free(x->docs);
	json_decref(x->manifest);
	free(x->mtext);
	sodium_free(x->hs);
	sodium_free(x->chunk);
	sodium_free(x->out);
	free(x);
}

const char *
coffre_export_errmsg(const coffre_exporter *x)
{
	return x->err;
}

int
coffre_export_open(coffre_vault *v, const char *user, int format,
    void (*lock)(void *), void (*unlock)(void *), void *lockctx,
    coffre_exporter **out)
{
	struct coffre_filter f = {user, NULL, -1};
	struct coffre_export *x;
	struct xlist l;
	struct audit_ev ev;
	locale_t old;
	int rc;

	*out = NULL;
	if (!coffre_valid_id(user))
		return vault_err(v, COFFRE_EREJECT,
		    "malformed user id: 1 to 128 bytes of [A-Za-z0-9._:@-]");
	if (format < COFFRE_EXPORT_ZIP || format > COFFRE_EXPORT_TGZ)
		return vault_err(v, COFFRE_EUSAGE,
		    "the export format is zip, tar or tar.gz");
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	x->v = v;
	x->lock = lock;
	x->unlock = unlock;
	x->lockctx = lockctx;
	x->outcap = 1024 * 1024;
	x->hs = sodium_malloc(sizeof(*x->hs));
	x->chunk = sodium_malloc(64 * 1024);
	x->out = sodium_malloc(x->outcap);
	x->manifest = json_array();
	if (x->hs == NULL || x->chunk == NULL || x->out == NULL ||
	    x->manifest == NULL) {
		rc = vault_err(v, COFFRE_EFAIL, "out of memory");
		goto fail;
	}
	memset(&l, 0, sizeof(l));
	l.x = x;
	rc = coffre_list(v, &f, x_collect, &l);
	if (l.failed) {
		/* The callback stopped the listing (its 1 is not a code). */
		rc = vault_err(v, COFFRE_EFAIL, "out of memory");
		goto fail;
	}
	if (rc != 0)
		goto fail;
	/* The metadata of each, with reviews, for the manifest. */
	for (size_t i = 0; i < x->n; i++) {
		struct coffre_doc d;
		json_t *rv = json_array();
		char date[21];
		if ((rc = coffre_info(v, x->docs[i].id, &d)) != 0) {
			json_decref(rv);
			goto fail;
		}
		x->docs[i].created = d.created;
		x->docs[i].size = d.size;
		x_name(x, &x->docs[i], d.name, d.type);
		for (size_t j = 0; j < d.nreviews; j++) {
			util_iso8601(d.reviews[j].at, date);
			json_array_append_new(rv,
			    json_pack("{s:s,s:s,s:s}", "decision",
				d.reviews[j].decision == COFFRE_APPROVED
				    ? "approve"
				    : "reject",
				"at", date, "note", d.reviews[j].note));
		}
		util_iso8601(d.created, date);
		x->docs[i].m =
		    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:o,s:s}", "id",
			d.id, "name", d.name, "file", x->docs[i].file,
			"community", d.community, "kind", d.kind, "type",
			d.type, "size", (json_int_t)d.size, "status",
			coffre_status_name(d.status), "reviews", rv,
			"sealed_at", date);
		sodium_memzero(&d, sizeof(d));
		if (x->docs[i].m == NULL) {
			rc = vault_err(v, COFFRE_EFAIL, "out of memory");
			goto fail;
		}
	}
	old = u8_enter();
	x->a = archive_write_new();
	if (x->a == NULL ||
	    (format == COFFRE_EXPORT_ZIP
		    ? archive_write_set_format_zip(x->a)
		    : archive_write_set_format_pax_restricted(x->a)) !=
		ARCHIVE_OK ||
	    (format == COFFRE_EXPORT_TGZ &&
		archive_write_add_filter_gzip(x->a) != ARCHIVE_OK) ||
	    (format == COFFRE_EXPORT_ZIP &&
		(archive_write_zip_set_compression_store(x->a) != ARCHIVE_OK ||
		    archive_write_set_options(x->a, "zip:hdrcharset=UTF-8") !=
			ARCHIVE_OK)) ||
	    archive_write_open2(x->a, x, NULL, x_write, NULL, NULL) !=
		ARCHIVE_OK) {
		rc = vault_err(v, COFFRE_EFAIL, "libarchive: %s",
		    x->a != NULL && archive_error_string(x->a) != NULL
			? archive_error_string(x->a)
			: "cannot start the archive");
		u8_leave(old);
		goto fail;
	}
	u8_leave(old);
	/* The export is a read of plaintext: logged, durably, first. */
	audit_ev_init(&ev);
	audit_ev_str(&ev, "user", user);
	audit_ev_num(&ev, "documents", x->n);
	audit_ev_str(&ev, "format",
	    format == COFFRE_EXPORT_ZIP       ? "zip"
		: format == COFFRE_EXPORT_TAR ? "tar"
					      : "tar.gz");
	if ((rc = audit_log(v, "export", "done", &ev)) != 0)
		goto fail;
	*out = x;
	return 0;
fail:
	coffre_export_close(x);
	return rc;
}

/* Start document x->i: its key unwrapped under the caller's lock. */
static int
x_start(struct coffre_export *x)
{
	struct xdoc *d = &x->docs[x->i];
	struct archive_entry *e;
	struct idoc *id = calloc(1, sizeof(*id));
	coffre_vault *v = x->v;
	int rc;

	if (id == NULL)
		return x_fail(x, "out of memory");
	if (x->lock != NULL)
		x->lock(x->lockctx);
	if ((rc = vault_lock(v, LOCK_SH)) == 0) {
		rc = vault_doc_load(v, d->id, id, 1);
		vault_unlock(v);
		if (rc == 0)
			rc = vault_reader(v, id, d->id, &x->r);
	}
	if (rc != 0)
		snprintf(x->err, sizeof(x->err), "%s", coffre_errmsg(v));
	sodium_memzero(v->dk, 32);
	if (x->unlock != NULL)
		x->unlock(x->lockctx);
	free(id);
	if (rc == COFFRE_EGONE) {
		/* Shredded since the export began: left out. */
		json_object_set_new(d->m, "status", json_string("shredded"));
		json_object_set_new(d->m, "exported", json_false());
		json_array_append(x->manifest, d->m);
		x->i++;
		return 0;
	}
	if (rc != 0) {
		x->failed = 1;
		return -1;
	}
	if ((e = archive_entry_new()) == NULL)
		return x_fail(x, "out of memory");
	archive_entry_set_pathname_utf8(e, d->file);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)d->size);
	archive_entry_set_mtime(e, (time_t)d->created, 0);
	rc = archive_write_header(x->a, e);
	archive_entry_free(e);
	if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
		return x_fail(x, archive_error_string(x->a));
	crypto_generichash_init(x->hs, NULL, 0, 32);
	return 0;
}

/*
 * The end: manifest.json, written a slice per step (it can be larger than
 * the output buffer), then the archive's trailer.
 */
static int
x_finish(struct coffre_export *x)
{
	struct archive_entry *e;
	json_t *o;
	size_t n;
	int rc;

	if (x->mtext == NULL) {
		o = json_pack("{s:s,s:O}", "format", "coffre export v1",
		    "documents", x->manifest);
		x->mtext = o != NULL
		    ? json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS)
		    : NULL;
		json_decref(o);
		if (x->mtext == NULL || (e = archive_entry_new()) == NULL)
			return x_fail(x, "out of memory");
		x->mlen = strlen(x->mtext);
		archive_entry_set_pathname(e, "manifest.json");
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0600);
		archive_entry_set_size(e, (la_int64_t)x->mlen);
		archive_entry_set_mtime(e, time(NULL), 0);
		rc = archive_write_header(x->a, e);
		archive_entry_free(e);
		return rc == ARCHIVE_OK ? 0
					: x_fail(x, archive_error_string(x->a));
	}
	if (x->mpos < x->mlen) {
		n = x->mlen - x->mpos < 65536 ? x->mlen - x->mpos : 65536;
		if (archive_write_data(x->a, x->mtext + x->mpos, n) !=
		    (la_ssize_t)n)
			return x_fail(x, archive_error_string(x->a));
		x->mpos += n;
		return 0;
	}
	if (archive_write_close(x->a) != ARCHIVE_OK)
		return x_fail(x, archive_error_string(x->a));
	x->done = 1;
	return 0;
}

/* Produce more of the archive into x->out. */
static int
x_step(struct coffre_export *x)
{
	struct xdoc *d;
	uint8_t h[32];
	char hex[65];
	long n;

	if (x->r == NULL) {
		if (x->i == x->n)
			return x_finish(x);
		return x_start(x);
	}
	d = &x->docs[x->i];
	n = coffre_reader_read(x->r, x->chunk, 64 * 1024);
	if (n < 0)
		return x_fail(x, coffre_reader_errmsg(x->r));
	if (n > 0) {
		crypto_generichash_update(x->hs, x->chunk, (size_t)n);
		if (archive_write_data(x->a, x->chunk, (size_t)n) != n)
			return x_fail(x, archive_error_string(x->a));
		sodium_memzero(x->chunk, (size_t)n);
		return 0;
	}
	crypto_generichash_final(x->hs, h, sizeof(h));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	json_object_set_new(d->m, "blake2b_256", json_string(hex));
	json_array_append(x->manifest, d->m);
	coffre_reader_close(x->r);
	x->r = NULL;
	x->i++;
	return 0;
}

long
coffre_export_read(coffre_exporter *x, uint8_t *buf, size_t len)
{
	locale_t old;
	size_t n;
	int rc = 0;

	if (x->failed)
		return -1;
	old = u8_enter();
	while (x->outpos == x->outlen) {
		sodium_memzero(x->out, x->outlen);
		x->outpos = x->outlen = 0;
		if (x->done)
			break;
		if ((rc = x_step(x)) != 0)
			break;
	}
	u8_leave(old);
	if (rc != 0)
		return -1;
	if (x->outpos == x->outlen)
		return 0;
	n = x->outlen - x->outpos < len ? x->outlen - x->outpos : len;
	memcpy(buf, x->out + x->outpos, n);
	x->outpos += n;
	return (long)n;
}

int
coffre_export(coffre_vault *v, const char *user, int format, coffre_write_fn wr,
    void *wrctx)
{
	coffre_exporter *x;
	uint8_t *buf;
	long n;
	int rc;

	if ((rc = coffre_export_open(v, user, format, NULL, NULL, NULL, &x)) !=
		0 ||
	    x == NULL)
		return rc != 0 ? rc : vault_err(v, COFFRE_EFAIL, "no export");
	if ((buf = sodium_malloc(64 * 1024)) == NULL) {
		coffre_export_close(x);
		return vault_err(v, COFFRE_EFAIL, "out of memory");
	}
	while ((n = coffre_export_read(x, buf, 64 * 1024)) > 0)
		if (wr(wrctx, buf, (size_t)n) != 0) {
			rc = vault_err(v, COFFRE_EFAIL,
			    "writing the output: %s", strerror(errno));
			break;
		}
	if (n < 0)
		rc = vault_err(v, COFFRE_EFAIL, "%s", coffre_export_errmsg(x));
	sodium_free(buf);
	coffre_export_close(x);
	return rc;
}
