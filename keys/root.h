/*
 * root.h: the root key file, DIR/keys/root.  Two fixed slots, A and B, each
 * holding one root key with its epoch, so that a root change is written to
 * the free slot, made current by the key tree's commit, and the old slot is
 * then overwritten in place (DESIGN.md, "Crash order for a root change").
 */
#ifndef COFFRE_ROOT_H
#define COFFRE_ROOT_H

#include <stddef.h>
#include <stdint.h>

#define ROOT_KEY_BYTES 32
#define ROOT_FILE_BYTES 320

struct root;

/*
 * root_create(path, pass, passlen, key, out, err, errlen):
 * Create the root file at ${path} (O_EXCL, 0600) with a fresh random key in
 * slot A at epoch 1, wrapped under Argon2id(${pass}) when ${pass} is not
 * NULL; the file and its folder are synced.  The key is copied into ${key}.
 * On success *out is an open handle (root_close()).  Returns 0 or -1 with a
 * message in ${err}.
 */
int root_create(const char *path, const char *pass, size_t passlen,
    uint8_t key[ROOT_KEY_BYTES], struct root **out, char *err, size_t errlen);

/*
 * root_open(path, pass, passlen, out, err, errlen):
 * Open an existing root file read-write.  Returns 0, -1 with a message
 * (corrupt header, passphrase needed), or -2 if ${path} does not exist.
 */
int root_open(const char *path, const char *pass, size_t passlen,
    struct root **out, char *err, size_t errlen);

/*
 * root_load(r, epoch, key, err, errlen):
 * Read the slot holding ${epoch} and put its key into ${key}.  Returns 0, or
 * -1 if no valid slot holds that epoch (corruption or wrong passphrase).
 */
int root_load(struct root *r, uint64_t epoch, uint8_t key[ROOT_KEY_BYTES],
    char *err, size_t errlen);

/*
 * root_write_next(r, cur, next, key, err, errlen):
 * Write ${key} at epoch ${next} into the slot that does not hold epoch
 * ${cur}, and sync.  Step 1 of a root change.  Returns 0 or -1.
 */
int root_write_next(struct root *r, uint64_t cur, uint64_t next,
    const uint8_t key[ROOT_KEY_BYTES], char *err, size_t errlen);

/*
 * root_erase_others(r, keep, err, errlen):
 * Overwrite with zeros, in place, every slot that does not hold a valid key
 * at epoch ${keep}, and sync.  Step 3 of a root change, and the clean-up of
 * a change that crashed.  WARNING: call it only under the vault's writer
 * lock, after the key tree says ${keep} is current.  Returns 0 or -1.
 */
int root_erase_others(struct root *r, uint64_t keep, char *err, size_t errlen);

/*
 * root_only(r, epoch): 0 if every slot is either empty (all zeros) or holds
 * ${epoch}; -1 if another slot still holds a key (or cannot be read).
 */
int root_only(struct root *r, uint64_t epoch);

/* root_close(r): close and wipe.  NULL is a no-op. */
void root_close(struct root *r);

#endif /* !COFFRE_ROOT_H */
