/*
 * root.c: the root key file.  Layout (docs/FORMAT.md): a 64-byte header,
 * then slot A at offset 64 and slot B at offset 192, 128 bytes each.  A slot
 * is either all zeros (empty) or a valid slot whose checksum matches.  When
 * the vault has a passphrase, the key in a slot is sealed with
 * XChaCha20-Poly1305 under Argon2id(passphrase, salt); otherwise it is
 * stored as it is, protected by the file's mode (SPEC.md section 6).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keys/bytes.h"
#include "keys/fault.h"
#include "keys/root.h"

#define HDR_BYTES 64
#define SLOT_BYTES 128
#define SLOT_SUM_AT 88
#define FLAG_PASSPHRASE 1

struct root {
	int fd;
	uint8_t hdr[HDR_BYTES];
	uint8_t *kek; /* sodium_malloc'd; NULL without a passphrase */
};

static void
seterr(char *err, size_t errlen, const char *msg, const char *path)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", path, msg);
}

static int
write_all_at(int fd, const uint8_t *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int
read_all_at(int fd, uint8_t *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pread(fd, buf, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static void
slot_ad(const struct root *r, uint8_t ad[HDR_BYTES + 16], const uint8_t *slot)
{
	memcpy(ad, r->hdr, HDR_BYTES);
	memcpy(ad + HDR_BYTES, slot, 16); /* magic, index, epoch */
}

static int
derive_kek(struct root *r, const char *pass, size_t passlen)
{
	uint64_t ops = bytes_load64(r->hdr + 8);
	uint64_t mem = bytes_load64(r->hdr + 16);

	if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > 64 ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > (1ULL << 32))
		return -1;
	if ((r->kek = sodium_malloc(32)) == NULL)
		return -1;
	if (crypto_pwhash(r->kek, 32, pass, passlen, r->hdr + 24,
		(unsigned long long)ops, (size_t)mem,
		crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -1;
	return 0;
}

/* Build slot ${idx} in ${slot} for ${key} at ${epoch}. */
static int
slot_build(struct root *r, uint8_t slot[SLOT_BYTES], int idx, uint64_t epoch,
    const uint8_t key[ROOT_KEY_BYTES])
{
	uint8_t ad[HDR_BYTES + 16];

	memset(slot, 0, SLOT_BYTES);
	memcpy(slot, "CFSL", 4);
	slot[4] = (uint8_t)idx;
	bytes_store64(slot + 8, epoch);
	if (r->kek != NULL) {
		randombytes_buf(slot + 16, 24);
		slot_ad(r, ad, slot);
		crypto_aead_xchacha20poly1305_ietf_encrypt(slot + 40, NULL, key,
		    ROOT_KEY_BYTES, ad, sizeof(ad), NULL, slot + 16, r->kek);
	} else {
		memcpy(slot + 40, key, ROOT_KEY_BYTES);
	}
	crypto_generichash(slot + SLOT_SUM_AT, 16, slot, SLOT_SUM_AT, r->hdr,
	    HDR_BYTES);
	return 0;
}

/* 1 if ${slot} is well formed, 0 if all zeros, -1 if damaged. */
static int
slot_check(const struct root *r, const uint8_t slot[SLOT_BYTES], int idx)
{
	uint8_t sum[16];

	if (sodium_is_zero(slot, SLOT_BYTES))
		return 0;
	if (memcmp(slot, "CFSL", 4) != 0 || slot[4] != idx ||
	    !sodium_is_zero(slot + 5, 3) ||
	    !sodium_is_zero(slot + SLOT_SUM_AT + 16,
		SLOT_BYTES - SLOT_SUM_AT - 16))
		return -1;
	crypto_generichash(sum, 16, slot, SLOT_SUM_AT, r->hdr, HDR_BYTES);
	if (sodium_memcmp(sum, slot + SLOT_SUM_AT, 16) != 0)
		return -1;
	return 1;
}

static int
root_sync(int fd)
{
	return fdatasync(fd);
}

int
root_create(const char *path, const char *pass, size_t passlen,
    uint8_t key[ROOT_KEY_BYTES], struct root **out, char *err, size_t errlen)
{
	struct root *r = NULL;
	uint8_t file[ROOT_FILE_BYTES];

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		seterr(err, errlen, "out of memory", path);
		return -1;
	}
	r->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (r->fd == -1) {
		seterr(err, errlen, strerror(errno), path);
		goto err0;
	}
	memset(r->hdr, 0, HDR_BYTES);
	memcpy(r->hdr, "CFRT", 4);
	r->hdr[4] = 1;
	if (pass != NULL) {
		r->hdr[5] = FLAG_PASSPHRASE;
		bytes_store64(r->hdr + 8, crypto_pwhash_OPSLIMIT_INTERACTIVE);
		bytes_store64(r->hdr + 16, crypto_pwhash_MEMLIMIT_INTERACTIVE);
		randombytes_buf(r->hdr + 24, 16);
		if (derive_kek(r, pass, passlen) != 0) {
			seterr(err, errlen, "cannot derive the passphrase key",
			    path);
			goto err1;
		}
	}
	memset(file, 0, sizeof(file));
	memcpy(file, r->hdr, HDR_BYTES);
	randombytes_buf(key, ROOT_KEY_BYTES);
	slot_build(r, file + HDR_BYTES, 0, 1, key);
	if (write_all_at(r->fd, file, sizeof(file), 0) != 0 ||
	    root_sync(r->fd) != 0) {
		seterr(err, errlen, strerror(errno), path);
		goto err1;
	}
	sodium_memzero(file, sizeof(file));
	*out = r;
	return 0;

err1:
	sodium_memzero(file, sizeof(file));
	sodium_memzero(key, ROOT_KEY_BYTES);
	unlink(path);
err0:
	root_close(r);
	return -1;
}

int
root_open(const char *path, const char *pass, size_t passlen, struct root **out,
    char *err, size_t errlen)
{
	struct root *r;
	struct stat st;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		seterr(err, errlen, "out of memory", path);
		return -1;
	}
	if ((r->fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		int e = errno;
		seterr(err, errlen, strerror(e), path);
		free(r);
		return e == ENOENT ? -2 : -1;
	}
	if (fstat(r->fd, &st) != 0 || st.st_size != ROOT_FILE_BYTES ||
	    read_all_at(r->fd, r->hdr, HDR_BYTES, 0) != 0 ||
	    memcmp(r->hdr, "CFRT", 4) != 0 || r->hdr[4] != 1 ||
	    (r->hdr[5] & ~FLAG_PASSPHRASE) != 0) {
		seterr(err, errlen, "corrupt root key file", path);
		goto err;
	}
	if (!(r->hdr[5] & FLAG_PASSPHRASE) && pass != NULL) {
		seterr(err, errlen,
		    "this vault's root key has no passphrase: give no "
		    "--passphrase-file",
		    path);
		goto err;
	}
	if (r->hdr[5] & FLAG_PASSPHRASE) {
		if (pass == NULL) {
			seterr(err, errlen,
			    "the root key is wrapped under a passphrase: "
			    "give --passphrase-file",
			    path);
			goto err;
		}
		if (derive_kek(r, pass, passlen) != 0) {
			seterr(err, errlen, "cannot derive the passphrase key",
			    path);
			goto err;
		}
	}
	*out = r;
	return 0;
err:
	root_close(r);
	return -1;
}

int
root_load(struct root *r, uint64_t epoch, uint8_t key[ROOT_KEY_BYTES],
    char *err, size_t errlen)
{
	uint8_t slot[SLOT_BYTES], ad[HDR_BYTES + 16];
	int i, rc = -1;

	for (i = 0; i < 2; i++) {
		if (read_all_at(r->fd, slot, SLOT_BYTES,
			HDR_BYTES + i * SLOT_BYTES) != 0)
			break;
		if (slot_check(r, slot, i) != 1 ||
		    bytes_load64(slot + 8) != epoch)
			continue;
		if (r->kek != NULL) {
			slot_ad(r, ad, slot);
			if (crypto_aead_xchacha20poly1305_ietf_decrypt(key,
				NULL, NULL, slot + 40, ROOT_KEY_BYTES + 16, ad,
				sizeof(ad), slot + 16, r->kek) != 0) {
				seterr(err, errlen,
				    "wrong passphrase or corrupt root key",
				    "keys/root");
				goto out;
			}
		} else {
			memcpy(key, slot + 40, ROOT_KEY_BYTES);
		}
		rc = 0;
		goto out;
	}
	seterr(err, errlen, "no valid root key slot for the key tree's epoch",
	    "keys/root");
out:
	sodium_memzero(slot, sizeof(slot));
	return rc;
}

int
root_write_next(struct root *r, uint64_t cur, uint64_t next,
    const uint8_t key[ROOT_KEY_BYTES], char *err, size_t errlen)
{
	uint8_t slot[SLOT_BYTES];
	int i, target = -1;

	/* The free slot is the one that does not hold ${cur}. */
	for (i = 0; i < 2 && target == -1; i++) {
		if (read_all_at(r->fd, slot, SLOT_BYTES,
			HDR_BYTES + i * SLOT_BYTES) != 0)
			break;
		if (slot_check(r, slot, i) == 1 &&
		    bytes_load64(slot + 8) == cur)
			target = 1 - i;
	}
	if (target == -1) {
		seterr(err, errlen, "no slot holds the current epoch",
		    "keys/root");
		return -1;
	}
	slot_build(r, slot, target, next, key);
	if (write_all_at(r->fd, slot, SLOT_BYTES,
		HDR_BYTES + target * SLOT_BYTES) != 0) {
		seterr(err, errlen, strerror(errno), "keys/root");
		sodium_memzero(slot, sizeof(slot));
		return -1;
	}
	sodium_memzero(slot, sizeof(slot));
	FAULT_POINT("root-write");
	if (root_sync(r->fd) != 0) {
		seterr(err, errlen, strerror(errno), "keys/root");
		return -1;
	}
	FAULT_POINT("root-sync");
	return 0;
}

int
root_erase_others(struct root *r, uint64_t keep, char *err, size_t errlen)
{
	uint8_t slot[SLOT_BYTES], zero[SLOT_BYTES];
	int i, wrote = 0;

	memset(zero, 0, sizeof(zero));
	for (i = 0; i < 2; i++) {
		if (read_all_at(r->fd, slot, SLOT_BYTES,
			HDR_BYTES + i * SLOT_BYTES) != 0) {
			seterr(err, errlen, "short root key file", "keys/root");
			return -1;
		}
		if (slot_check(r, slot, i) == 1 &&
		    bytes_load64(slot + 8) == keep)
			continue;
		if (sodium_is_zero(slot, SLOT_BYTES))
			continue;
		if (write_all_at(r->fd, zero, SLOT_BYTES,
			HDR_BYTES + i * SLOT_BYTES) != 0) {
			seterr(err, errlen, strerror(errno), "keys/root");
			sodium_memzero(slot, sizeof(slot));
			return -1;
		}
		wrote = 1;
	}
	sodium_memzero(slot, sizeof(slot));
	if (wrote && root_sync(r->fd) != 0) {
		seterr(err, errlen, strerror(errno), "keys/root");
		return -1;
	}
	if (wrote)
		FAULT_POINT("root-erase");
	return 0;
}

int
root_only(struct root *r, uint64_t epoch)
{
	uint8_t slot[SLOT_BYTES];
	int i, rc = 0;

	for (i = 0; i < 2 && rc == 0; i++) {
		if (read_all_at(r->fd, slot, SLOT_BYTES,
			HDR_BYTES + i * SLOT_BYTES) != 0)
			rc = -1;
		else if (!sodium_is_zero(slot, SLOT_BYTES) &&
		    (slot_check(r, slot, i) != 1 ||
			bytes_load64(slot + 8) != epoch))
			rc = -1;
	}
	sodium_memzero(slot, sizeof(slot));
	return rc;
}

void
root_close(struct root *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->kek != NULL)
		sodium_free(r->kek);
	free(r);
}
