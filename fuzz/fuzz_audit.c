/*
 * fuzz_audit.c: libFuzzer harness for the audit log verifier on an export
 * (coffre_audit_verify_file(), vault/audit.c), which reads files from
 * outside the vault: the lines of `coffre --json audit log` and the public
 * key file DIR/audit.pub.
 *
 * An input is the public key file's line followed by the log: its first
 * line (up to and with the first '\n') is written as the key file, the
 * rest as the log (a seed is `cat audit.pub log`).  Any bytes: one of the
 * documented codes (0, COFFRE_EREJECT for a malformed key file,
 * COFFRE_EFAIL), a message with every failure, never a crash; a log that
 * verifies has events, a signed checkpoint, no bad line and a head of 64
 * hex digits; a first bad line is at most one past the last good one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffre.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_audit: check failed: %s\n",      \
			    #cond);                                            \
			__builtin_trap();                                      \
		}                                                              \
	} while (0)

static char dir[64], pubpath[128], logpath[128];

static void
cleanup(void)
{
	unlink(pubpath);
	unlink(logpath);
	rmdir(dir);
}

static void
put(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coffre_verify_result res;
	const uint8_t *nl;
	size_t publen;
	char err[1024];
	int rc;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/coffre-fuzz-audit-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(pubpath, sizeof(pubpath), "%s/audit.pub", dir);
		snprintf(logpath, sizeof(logpath), "%s/log", dir);
		atexit(cleanup);
	}
	nl = size > 0 ? memchr(data, '\n', size) : NULL;
	publen = nl != NULL ? (size_t)(nl - data) + 1 : size;
	put(pubpath, data, publen);
	put(logpath, data + publen, size - publen);

	memset(&res, 0xa5, sizeof(res));
	err[0] = '\0';
	rc = coffre_audit_verify_file(logpath, pubpath, &res, err, sizeof(err));
	CHECK(rc == 0 || rc == COFFRE_EREJECT || rc == COFFRE_EFAIL);
	CHECK(res.checkpoints <= res.events && res.rotations <= res.events);
	if (rc == 0) {
		CHECK(res.events >= 1 && res.checkpoints >= 1);
		CHECK(res.first_bad == 0);
		CHECK(strlen(res.head) == 64 &&
		    strspn(res.head, "0123456789abcdef") == 64);
	} else {
		CHECK(err[0] != '\0');
		CHECK(res.first_bad <= res.events + 1);
	}
	if (rc == COFFRE_EREJECT)
		CHECK(res.events == 0 && res.first_bad == 0);
	return 0;
}
