/*
 * fuzz_root.c: libFuzzer harness for the root key file parser
 * (keys/root.c, DIR/keys/root): each input is written as the file, then
 * opened (root_open), each slot's epoch and 1 loaded (root_load), and
 * root_only asked.  A file whose header flags a passphrase is opened with
 * none first (a refusal, always), then with the harness's passphrase,
 * "fuzz-passphrase", when its Argon2id parameters are cheap (opslimit at
 * most 4, memlimit at most 1 MiB: the real ones, 64 MiB, would make every
 * run a tenth of a second); then with a wrong one, under which no slot
 * loads.
 *
 * When a key loads at epoch e, a root change is played on the file: the
 * key at e + 1 written to the other slot (root_write_next) must load back
 * as written while e still loads, and once the others are erased
 * (root_erase_others) only e + 1 remains (root_only).  Any bytes: a clean
 * refusal with a message, never a crash.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keys/bytes.h"
#include "keys/root.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_root: check failed: %s\n",       \
			    #cond);                                            \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

#define PASS "fuzz-passphrase"
#define CHEAP_OPS 4
#define CHEAP_MEM (1024 * 1024)

static char dir[64], keys[96], path[128];

static void
cleanup(void)
{
	unlink(path);
	rmdir(keys);
	rmdir(dir);
}

static void
put(const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);

	if (fd == -1 || (n > 0 && write(fd, p, n) != (ssize_t)n) ||
	    close(fd) != 0) {
		perror(path);
		abort();
	}
}

/* The epochs worth trying: each slot's, and 1. */
static int
epochs(const uint8_t *data, size_t size, uint64_t e[3])
{
	int n = 0;

	e[n++] = 1;
	if (size >= 64 + 16)
		e[n++] = bytes_load64(data + 64 + 8);
	if (size >= 192 + 16)
		e[n++] = bytes_load64(data + 192 + 8);
	return n;
}

/* Play a root change from epoch ${e}, whose key is ${k}. */
static void
change(struct root *r, uint64_t e, const uint8_t *k)
{
	uint8_t nk[ROOT_KEY_BYTES], got[ROOT_KEY_BYTES];
	char err[256];

	randombytes_buf(nk, sizeof(nk));
	if (root_write_next(r, e, e + 1, nk, err, sizeof(err)) != 0) {
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(root_load(r, e + 1, got, err, sizeof(err)) == 0);
	CHECK(memcmp(got, nk, sizeof(nk)) == 0);
	CHECK(root_load(r, e, got, err, sizeof(err)) == 0);
	CHECK(memcmp(got, k, ROOT_KEY_BYTES) == 0);
	CHECK(root_erase_others(r, e + 1, err, sizeof(err)) == 0);
	CHECK(root_only(r, e + 1) == 0);
	CHECK(root_load(r, e + 1, got, err, sizeof(err)) == 0);
	CHECK(memcmp(got, nk, sizeof(nk)) == 0);
	CHECK(root_load(r, e, got, err, sizeof(err)) != 0);
}

/* Open the file with ${pass}, load what loads, and play a change. */
static void
run(const uint8_t *data, size_t size, const char *pass, int wrong)
{
	struct root *r = NULL;
	uint8_t k[ROOT_KEY_BYTES];
	uint64_t e[3];
	char err[256];
	int n, rc, loaded = -1;

	put(data, size);
	err[0] = '\0';
	rc = root_open(path, pass, pass != NULL ? strlen(pass) : 0, &r, err,
	    sizeof(err));
	CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		CHECK(err[0] != '\0' && r == NULL);
		return;
	}
	CHECK(size == ROOT_FILE_BYTES);
	n = epochs(data, size, e);
	for (int i = 0; i < n; i++) {
		err[0] = '\0';
		rc = root_load(r, e[i], k, err, sizeof(err));
		CHECK(rc == 0 || rc == -1);
		if (rc != 0)
			CHECK(err[0] != '\0');
		if (rc == 0) {
			CHECK(!wrong);
			if (loaded == -1)
				loaded = i;
		}
		(void)root_only(r, e[i]);
	}
	if (loaded >= 0) {
		CHECK(root_load(r, e[loaded], k, err, sizeof(err)) == 0);
		change(r, e[loaded], k);
	}
	root_close(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct root *r = NULL;
	char err[256];

	if (dir[0] == '\0') {
		if (sodium_init() < 0)
			abort();
		snprintf(dir, sizeof(dir), "/tmp/coffre-fuzz-root-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(keys, sizeof(keys), "%s/keys", dir);
		snprintf(path, sizeof(path), "%s/root", keys);
		if (mkdir(keys, 0700) != 0)
			abort();
		atexit(cleanup);
	}
	if (size >= 64 && (data[5] & 1)) {
		uint64_t ops = bytes_load64(data + 8);
		uint64_t mem = bytes_load64(data + 16);
		/* Without the passphrase: refused, whatever the rest. */
		put(data, size);
		CHECK(root_open(path, NULL, 0, &r, err, sizeof(err)) == -1);
		if (ops > CHEAP_OPS || mem > CHEAP_MEM)
			return 0;
		run(data, size, PASS, 0);
		run(data, size, "a wrong passphrase", 1);
	} else {
		run(data, size, NULL, 0);
		/* With one, for a file without: refused. */
		put(data, size);
		CHECK(root_open(path, PASS, strlen(PASS), &r, err,
			  sizeof(err)) == -1);
	}
	return 0;
}
