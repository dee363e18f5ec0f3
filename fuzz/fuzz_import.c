/*
 * fuzz_import.c: libFuzzer harness for the bundle import (vault/bundle.c):
 * each input is a bundle handed to coffre_import() through a reader that
 * gives it in small pieces of varying size (a function of the input, so
 * that a run can be replayed), and its head to bundle_is_archive(), the
 * libarchive half of the polyglot check.  Any bytes: a result of 0 or
 * COFFRE_EREJECT (COFFRE_EFAIL is reported, and the vault made again),
 * every entry reported consistently (a sealed one with an id, an allowed
 * type and a size within the limit; a refused one with a reason), as many
 * reports as the result counts, and never a crash.
 *
 * One vault, made at first use in a temporary directory (/dev/shm when
 * there is one, so that the syncs of each seal cost little; else $TMPDIR
 * or /tmp; COFFRE_FUZZ_DIR overrides) with small limits in its
 * coffre.conf, is kept open across inputs; past VAULT_MAX_BYTES on disk it
 * is closed, removed and made again.  It is removed at exit.
 */
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre.h"
#include "vault/policy.h"
#include "vault/vault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DOC (1024 * 1024)
#define CONF                                                                   \
	"# fuzz/fuzz_import.c: small limits, so that each run is quick\n"      \
	"max_document_bytes = 1048576\n"                                       \
	"max_bundle_bytes = 8388608\n"                                         \
	"max_bundle_entries = 64\n"
#define VAULT_MAX_BYTES (200ULL * 1024 * 1024)
#define CHECK_EVERY 64 /* inputs between two measures of the vault */

static char dir[256];
static coffre_vault *vault;
static unsigned long since_check;
static uint64_t sealed_since_check;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_import: check failed: %s\n",     \
			    #cond);                                            \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

/* ---- the vault ---- */

static uint64_t du_bytes;

static int
du_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)path;
	(void)flag;
	(void)f;
	du_bytes += (uint64_t)st->st_blocks * 512;
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	(void)remove(path);
	return 0;
}

static void
vault_remove(void)
{
	coffre_close(vault);
	vault = NULL;
	if (dir[0] != '\0')
		(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	dir[0] = '\0';
}

static void
vault_make(void)
{
	const char *base = getenv("COFFRE_FUZZ_DIR");
	char pubkey[64], err[1024], path[512];
	struct stat st;
	FILE *f;

	if (base == NULL || base[0] == '\0') {
		if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
		    access("/dev/shm", W_OK | X_OK) == 0)
			base = "/dev/shm";
		else if ((base = getenv("TMPDIR")) == NULL || base[0] == '\0')
			base = "/tmp";
	}
	snprintf(dir, sizeof(dir), "%s/coffre-fuzz-import-XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		abort();
	}
	if (coffre_init(dir, NULL, pubkey, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_import: init %s: %s\n", dir, err);
		vault_remove();
		abort();
	}
	snprintf(path, sizeof(path), "%s/coffre.conf", dir);
	if ((f = fopen(path, "w")) == NULL || fputs(CONF, f) == EOF ||
	    fclose(f) != 0) {
		perror(path);
		vault_remove();
		abort();
	}
	if (coffre_open(dir, NULL, 0, &vault, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_import: open %s: %s\n", dir, err);
		vault_remove();
		abort();
	}
	CHECK(vault->conf.max_doc == MAX_DOC && vault->conf.max_entries == 64);
	since_check = 0;
	sealed_since_check = 0;
}

/* Every CHECK_EVERY inputs, or after many bytes sealed: the vault's size. */
static void
vault_watch(void)
{
	if (++since_check < CHECK_EVERY &&
	    sealed_since_check < 16ULL * 1024 * 1024)
		return;
	since_check = 0;
	sealed_since_check = 0;
	du_bytes = 0;
	(void)nftw(dir, du_one, 16, FTW_PHYS);
	if (du_bytes > VAULT_MAX_BYTES) {
		vault_remove();
		vault_make();
	}
}

/* ---- the input, read in pieces ---- */

struct in {
	const uint8_t *data;
	size_t size, pos;
	uint64_t rng;
};

static uint64_t
next(struct in *in)
{
	/* xorshift64 */
	in->rng ^= in->rng << 13;
	in->rng ^= in->rng >> 7;
	in->rng ^= in->rng << 17;
	return in->rng;
}

static long
in_read(void *ctx, uint8_t *buf, size_t len)
{
	struct in *in = ctx;
	uint64_t r = next(in);
	size_t n = in->size - in->pos;

	CHECK(buf != NULL && len > 0);
	/* Mostly small pieces, 1 to 4096 bytes; now and then all that fits. */
	if (r % 8 != 0 && n > 1 + (r >> 8) % 4096)
		n = 1 + (r >> 8) % 4096;
	if (n > len)
		n = len;
	memcpy(buf, in->data + in->pos, n);
	in->pos += n;
	return (long)n;
}

/* ---- the reports ---- */

struct seen {
	uint64_t reports, sealed, rejected;
};

static int
on_entry(void *ctx, const struct coffre_import_entry *e)
{
	struct seen *s = ctx;
	const char *p;

	CHECK(e != NULL && e->entry != NULL);
	CHECK(strlen(e->entry) <= COFFRE_NAME_MAX);
	for (p = e->entry; *p != '\0'; p++)
		CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	s->reports++;
	if (e->sealed) {
		CHECK(e->sealed == 1);
		CHECK(e->id != NULL && e->type != NULL && e->reason == NULL);
		CHECK(strlen(e->id) == COFFRE_DOCID_LEN);
		CHECK(e->type[0] != '\0' &&
		    policy_allowed(&vault->conf, e->type));
		CHECK(e->size > 0 && e->size <= MAX_DOC);
		s->sealed++;
		sealed_since_check += e->size;
	} else {
		CHECK(e->reason != NULL && e->reason[0] != '\0');
		s->rejected++;
	}
	return 0;
}

/* ---- the harness ---- */

static void
cleanup(void)
{
	vault_remove();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t none[1];
	struct coffre_import_result res;
	struct seen seen;
	struct in in;
	char fmt[128];
	size_t i;
	int rc, found;

	if (vault == NULL) {
		vault_make();
		atexit(cleanup);
	}

	/* The polyglot check, on what a seal would give it: the head. */
	memset(fmt, 0, sizeof(fmt));
	found = bundle_is_archive(size > 0 ? data : none,
	    size < POLICY_HEAD_BYTES ? size : POLICY_HEAD_BYTES, fmt,
	    sizeof(fmt));
	CHECK(found == 0 || found == 1);
	CHECK(memchr(fmt, '\0', sizeof(fmt)) != NULL);

	/* The import, pieces of a size drawn from the input itself. */
	memset(&in, 0, sizeof(in));
	in.data = size > 0 ? data : none;
	in.size = size;
	in.rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)size;
	for (i = 0; i < size && i < 16; i++)
		in.rng = (in.rng ^ data[i]) * 0x100000001b3ULL;
	if (in.rng == 0)
		in.rng = 1;
	memset(&seen, 0, sizeof(seen));
	rc = coffre_import(vault, "fuzz-user", "fuzz-community", NULL, in_read,
	    NULL, &in, on_entry, &seen, &res);
	CHECK(rc == 0 || rc == COFFRE_EREJECT || rc == COFFRE_EFAIL);
	CHECK(seen.reports == res.sealed + res.rejected);
	CHECK(seen.sealed == res.sealed && seen.rejected == res.rejected);
	CHECK(res.sealed <= res.entries);
	CHECK(res.entries <= vault->conf.max_entries + 1);
	CHECK(res.bytes_in <= size);
	if (rc == 0)
		CHECK(res.rejected == 0 && res.sealed > 0);
	if (rc == COFFRE_EFAIL) {
		/* Not a refusal of the bundle: the vault itself failed. */
		fprintf(stderr, "fuzz_import: COFFRE_EFAIL: %s\n",
		    coffre_errmsg(vault));
		vault_remove();
		vault_make();
		return 0;
	}
	vault_watch();
	return 0;
}
