/*
 * test_root.c: keys/root.c, the root key file: a 64-byte header and two
 * 128-byte slots (A at 64, B at 192).  Round trips, the passphrase
 * variant, the crash-ordered root change (write the free slot, then erase
 * the other in place), and the must-fail cases: a changed byte, a wrong or
 * missing passphrase, an existing file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "keys/root.h"

#include "testutil.h"

#define HDR 64
#define SLOT 128
#define SLOT_A HDR
#define SLOT_B (HDR + SLOT)
#define SLOT_SUM_END 104 /* magic .. checksum; the rest is padding */

struct fx {
	char dir[TU_PATH_MAX];
	char path[TU_PATH_MAX];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	tu_tmpdir(f->dir);
	tu_path(f->path, f->dir, "root");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tu_rmrf(f->dir);
	free(f);
	return 0;
}

static void
test_create_open_load(void **state)
{
	struct fx *f = *state;
	struct root *r = NULL;
	uint8_t key[ROOT_KEY_BYTES], got[ROOT_KEY_BYTES];
	uint8_t *file;
	size_t len;
	char err[512];
	struct stat st;

	memset(key, 0, sizeof(key));
	assert_int_equal(root_create(f->path, NULL, 0, key, &r, err,
			     sizeof(err)),
	    0);
	assert_non_null(r);
	assert_false(tu_is_zero(key, sizeof(key)));
	/* The handle of root_create loads epoch 1 at once. */
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), 0);
	assert_memory_equal(got, key, sizeof(key));
	assert_int_equal(root_load(r, 2, got, err, sizeof(err)), -1);
	root_close(r);
	r = NULL;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, ROOT_FILE_BYTES);
	assert_int_equal(ROOT_FILE_BYTES, 320);
	/* Header magic and version, slot A in use, slot B empty. */
	file = tu_read(f->path, &len);
	assert_int_equal(len, 320);
	assert_memory_equal(file, "CFRT", 4);
	assert_int_equal(file[4], 1);
	assert_int_equal(file[5], 0); /* no passphrase */
	assert_memory_equal(file + SLOT_A, "CFSL", 4);
	assert_int_equal(file[SLOT_A + 4], 0);
	assert_true(tu_is_zero(file + SLOT_B, SLOT));
	free(file);

	memset(got, 0, sizeof(got));
	assert_int_equal(root_open(f->path, NULL, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), 0);
	assert_memory_equal(got, key, sizeof(key));
	assert_int_equal(root_load(r, 0, got, err, sizeof(err)), -1);
	assert_int_equal(root_load(r, 2, got, err, sizeof(err)), -1);
	root_close(r);
	root_close(NULL);
	/* A passphrase for a file that has none is refused, not ignored. */
	r = NULL;
	err[0] = '\0';
	assert_int_equal(root_open(f->path, "pw", 2, &r, err, sizeof(err)), -1);
	assert_null(r);
	assert_non_null(strstr(err, "passphrase"));
}

static void
test_two_files_two_keys(void **state)
{
	struct fx *f = *state;
	struct root *r1 = NULL, *r2 = NULL;
	uint8_t k1[ROOT_KEY_BYTES], k2[ROOT_KEY_BYTES];
	char p2[TU_PATH_MAX], err[512];

	tu_path(p2, f->dir, "root2");
	assert_int_equal(root_create(f->path, NULL, 0, k1, &r1, err,
			     sizeof(err)),
	    0);
	assert_int_equal(root_create(p2, NULL, 0, k2, &r2, err, sizeof(err)),
	    0);
	assert_memory_not_equal(k1, k2, sizeof(k1));
	root_close(r1);
	root_close(r2);
}

static void
test_open_missing_and_malformed(void **state)
{
	struct fx *f = *state;
	struct root *r = NULL;
	uint8_t key[ROOT_KEY_BYTES];
	uint8_t *file;
	size_t len;
	char err[512], p[TU_PATH_MAX];

	assert_int_equal(root_open(f->path, NULL, 0, &r, err, sizeof(err)), -2);
	assert_int_equal(root_create(f->path, NULL, 0, key, &r, err,
			     sizeof(err)),
	    0);
	root_close(r);
	file = tu_read(f->path, &len);

	/* Wrong size: one byte short, one byte long. */
	tu_path(p, f->dir, "short");
	tu_write(p, file, len - 1, O_CREAT | O_EXCL);
	assert_int_equal(root_open(p, NULL, 0, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "corrupt"));
	tu_path(p, f->dir, "long");
	tu_write(p, file, len, O_CREAT | O_EXCL);
	tu_write(p, "", 1, O_APPEND);
	assert_int_equal(root_open(p, NULL, 0, &r, err, sizeof(err)), -1);
	/* Bad magic, version, unknown flag. */
	tu_flip(f->path, 0, 0x01);
	assert_int_equal(root_open(f->path, NULL, 0, &r, err, sizeof(err)), -1);
	tu_flip(f->path, 0, 0x01);
	tu_flip(f->path, 4, 0x02);
	assert_int_equal(root_open(f->path, NULL, 0, &r, err, sizeof(err)), -1);
	tu_flip(f->path, 4, 0x02);
	tu_flip(f->path, 5, 0x02);
	assert_int_equal(root_open(f->path, NULL, 0, &r, err, sizeof(err)), -1);
	tu_flip(f->path, 5, 0x02);
	/* Restored: it opens again. */
	assert_int_equal(root_open(f->path, NULL, 0, &r, err, sizeof(err)), 0);
	root_close(r);
	/* A symbolic link is not followed. */
	tu_path(p, f->dir, "link");
	assert_int_equal(symlink(f->path, p), 0);
	assert_int_equal(root_open(p, NULL, 0, &r, err, sizeof(err)), -1);
	free(file);
}

static void
test_passphrase(void **state)
{
	struct fx *f = *state;
	struct root *r = NULL;
	static const char pass[] = "correct horse battery staple";
	uint8_t key[ROOT_KEY_BYTES], got[ROOT_KEY_BYTES];
	uint8_t *file;
	size_t len;
	char err[512];

	assert_int_equal(root_create(f->path, pass, strlen(pass), key, &r, err,
			     sizeof(err)),
	    0);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), 0);
	assert_memory_equal(got, key, sizeof(key));
	root_close(r);

	/* The key is not in the file in clear. */
	file = tu_read(f->path, &len);
	assert_int_equal(len, ROOT_FILE_BYTES);
	assert_int_equal(file[5], 1);
	assert_null(memmem(file, len, key, sizeof(key)));
	free(file);

	/* Right passphrase. */
	memset(got, 0, sizeof(got));
	assert_int_equal(root_open(f->path, pass, strlen(pass), &r, err,
			     sizeof(err)),
	    0);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), 0);
	assert_memory_equal(got, key, sizeof(key));
	root_close(r);

	/* Wrong passphrase: opens (nothing to check yet) but cannot load. */
	assert_int_equal(root_open(f->path, "correct horse battery stapler", 29,
			     &r, err, sizeof(err)),
	    0);
	err[0] = '\0';
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "passphrase"));
	root_close(r);
	/* A prefix of it is another passphrase. */
	assert_int_equal(root_open(f->path, pass, strlen(pass) - 1, &r, err,
			     sizeof(err)),
	    0);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), -1);
	root_close(r);

	/* No passphrase: refused at once, with a message that says why. */
	r = NULL;
	err[0] = '\0';
	assert_int_equal(root_open(f->path, NULL, 0, &r, err, sizeof(err)), -1);
	assert_null(r);
	assert_non_null(strstr(err, "passphrase"));
}

static void
test_passphrase_salt_tamper(void **state)
{
	struct fx *f = *state;
	struct root *r = NULL;
	static const char pass[] = "pw";
	uint8_t key[ROOT_KEY_BYTES], got[ROOT_KEY_BYTES];
	char err[512];

	assert_int_equal(root_create(f->path, pass, 2, key, &r, err,
			     sizeof(err)),
	    0);
	root_close(r);
	/* A changed salt derives another key: the slot does not open. */
	tu_flip(f->path, 30, 0x80);
	assert_int_equal(root_open(f->path, pass, 2, &r, err, sizeof(err)), 0);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), -1);
	root_close(r);
	tu_flip(f->path, 30, 0x80);
	/* A changed ciphertext byte of slot A, too. */
	tu_flip(f->path, SLOT_A + 50, 0x01);
	assert_int_equal(root_open(f->path, pass, 2, &r, err, sizeof(err)), 0);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), -1);
	tu_flip(f->path, SLOT_A + 50, 0x01);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), 0);
	assert_memory_equal(got, key, sizeof(key));
	root_close(r);
}

/* The crash-ordered root change, on a file with or without passphrase. */
static void
rotate(struct fx *f, const char *pass)
{
	struct root *r = NULL;
	size_t plen = pass != NULL ? strlen(pass) : 0;
	uint8_t k1[ROOT_KEY_BYTES], k2[ROOT_KEY_BYTES], k3[ROOT_KEY_BYTES];
	uint8_t got[ROOT_KEY_BYTES], *file;
	size_t len;
	char err[512];

	assert_int_equal(root_create(f->path, pass, plen, k1, &r, err,
			     sizeof(err)),
	    0);
	randombytes_buf(k2, sizeof(k2));
	randombytes_buf(k3, sizeof(k3));
	/* No slot holds epoch 5: nothing is written. */
	assert_int_equal(root_write_next(r, 5, 6, k2, err, sizeof(err)), -1);
	file = tu_read(f->path, &len);
	assert_true(tu_is_zero(file + SLOT_B, SLOT));
	free(file);

	/* Step 1: epoch 2 in slot B; both load until the erasure. */
	assert_int_equal(root_write_next(r, 1, 2, k2, err, sizeof(err)), 0);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), 0);
	assert_memory_equal(got, k1, sizeof(k1));
	assert_int_equal(root_load(r, 2, got, err, sizeof(err)), 0);
	assert_memory_equal(got, k2, sizeof(k2));
	root_close(r);
	/* As after a crash between step 1 and 3: both still there. */
	assert_int_equal(root_open(f->path, pass, plen, &r, err, sizeof(err)),
	    0);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), 0);
	assert_int_equal(root_load(r, 2, got, err, sizeof(err)), 0);

	/* Step 3: slot A overwritten with zeros, in place. */
	assert_int_equal(root_erase_others(r, 2, err, sizeof(err)), 0);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), -1);
	assert_int_equal(root_load(r, 2, got, err, sizeof(err)), 0);
	assert_memory_equal(got, k2, sizeof(k2));
	file = tu_read(f->path, &len);
	assert_int_equal(len, ROOT_FILE_BYTES);
	assert_true(tu_is_zero(file + SLOT_A, SLOT));
	assert_memory_equal(file + SLOT_B, "CFSL", 4);
	assert_int_equal(file[SLOT_B + 4], 1);
	if (pass == NULL)
		assert_null(memmem(file, len, k1, sizeof(k1)));
	free(file);
	/* Idempotent. */
	assert_int_equal(root_erase_others(r, 2, err, sizeof(err)), 0);
	assert_int_equal(root_load(r, 2, got, err, sizeof(err)), 0);
	root_close(r);

	/* The next change goes back to slot A. */
	assert_int_equal(root_open(f->path, pass, plen, &r, err, sizeof(err)),
	    0);
	assert_int_equal(root_load(r, 2, got, err, sizeof(err)), 0);
	assert_int_equal(root_write_next(r, 2, 3, k3, err, sizeof(err)), 0);
	assert_int_equal(root_erase_others(r, 3, err, sizeof(err)), 0);
	assert_int_equal(root_load(r, 2, got, err, sizeof(err)), -1);
	assert_int_equal(root_load(r, 3, got, err, sizeof(err)), 0);
	assert_memory_equal(got, k3, sizeof(k3));
	root_close(r);
	file = tu_read(f->path, &len);
	assert_memory_equal(file + SLOT_A, "CFSL", 4);
	assert_int_equal(file[SLOT_A + 4], 0);
	assert_true(tu_is_zero(file + SLOT_B, SLOT));
	free(file);
}

static void
test_rotate(void **state)
{
	rotate(*state, NULL);
}

static void
test_rotate_passphrase(void **state)
{
	rotate(*state, "a passphrase");
}

/* A damaged slot that does not hold the kept epoch is erased too. */
static void
test_erase_damaged_slot(void **state)
{
	struct fx *f = *state;
	struct root *r = NULL;
	uint8_t k1[ROOT_KEY_BYTES], k2[ROOT_KEY_BYTES], got[ROOT_KEY_BYTES];
	uint8_t *file;
	size_t len;
	char err[512];

	assert_int_equal(root_create(f->path, NULL, 0, k1, &r, err,
			     sizeof(err)),
	    0);
	randombytes_buf(k2, sizeof(k2));
	assert_int_equal(root_write_next(r, 1, 2, k2, err, sizeof(err)), 0);
	tu_flip(f->path, SLOT_A + 45, 0x10);
	assert_int_equal(root_erase_others(r, 2, err, sizeof(err)), 0);
	file = tu_read(f->path, &len);
	assert_true(tu_is_zero(file + SLOT_A, SLOT));
	free(file);
	assert_int_equal(root_load(r, 2, got, err, sizeof(err)), 0);
	assert_memory_equal(got, k2, sizeof(k2));
	root_close(r);
}

/*
 * Must fail: every byte of the slot that carries data (magic, index,
 * epoch, nonce, key, checksum), and every byte of the header (the
 * checksum's key), changed one at a time.
 */
static void
test_flipped_byte(void **state)
{
	struct fx *f = *state;
	struct root *r = NULL;
	uint8_t key[ROOT_KEY_BYTES], got[ROOT_KEY_BYTES];
	char err[512];
	int i;

	assert_int_equal(root_create(f->path, NULL, 0, key, &r, err,
			     sizeof(err)),
	    0);
	for (i = 0; i < SLOT_SUM_END; i++) {
		tu_flip(f->path, SLOT_A + i, 0x04);
		if (root_load(r, 1, got, err, sizeof(err)) != -1)
			fail_msg("slot byte %d changed, still loads", i);
		tu_flip(f->path, SLOT_A + i, 0x04);
	}
	/* root_load re-reads the slots each time; the original loads. */
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), 0);
	assert_memory_equal(got, key, sizeof(key));
	root_close(r);
	/*
	 * Header bytes past the fields root_open checks (it reads the
	 * header once, so reopen each time): the header keys the checksum.
	 */
	for (i = 6; i < HDR; i++) {
		tu_flip(f->path, i, 0x40);
		assert_int_equal(root_open(f->path, NULL, 0, &r, err,
				     sizeof(err)),
		    0);
		if (root_load(r, 1, got, err, sizeof(err)) != -1)
			fail_msg("header byte %d changed, still loads", i);
		root_close(r);
		tu_flip(f->path, i, 0x40);
	}
	assert_int_equal(root_open(f->path, NULL, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), 0);
	root_close(r);
	/* A slot copied to the other place: its index byte says A. */
	{
		uint8_t *file;
		size_t len;
		int fd;
		file = tu_read(f->path, &len);
		fd = open(f->path, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, file + SLOT_A, SLOT, SLOT_B), SLOT);
		assert_int_equal(pwrite(fd, file + SLOT_B, SLOT, SLOT_A), SLOT);
		close(fd);
		assert_int_equal(root_open(f->path, NULL, 0, &r, err,
				     sizeof(err)),
		    0);
		assert_int_equal(root_load(r, 1, got, err, sizeof(err)), -1);
		root_close(r);
		free(file);
	}
}

/*
 * Regression (fixed; was a bug in keys/root.c, slot_check()): the last 24 bytes of a slot
 * (104..127, after the checksum) are covered by nothing, so a slot with
 * changed padding still loads; "a slot is all zeros or valid" does not
 * hold for them.
 */
static void
test_slot_padding(void **state)
{
	struct fx *f = *state;
	struct root *r = NULL;
	uint8_t key[ROOT_KEY_BYTES], got[ROOT_KEY_BYTES];
	char err[512];
	int i, loads = 0;

	assert_int_equal(root_create(f->path, NULL, 0, key, &r, err,
			     sizeof(err)),
	    0);
	for (i = SLOT_SUM_END; i < SLOT; i++) {
		tu_flip(f->path, SLOT_A + i, 0x04);
		if (root_load(r, 1, got, err, sizeof(err)) == 0)
			loads++;
		tu_flip(f->path, SLOT_A + i, 0x04);
	}
	root_close(r);
	if (loads != 0)
		fail_msg("%d of the %d padding bytes of a slot can change and "
			 "the slot still loads",
		    loads, SLOT - SLOT_SUM_END);
}

static void
test_excl(void **state)
{
	struct fx *f = *state;
	struct root *r = NULL, *r2 = NULL;
	uint8_t k1[ROOT_KEY_BYTES], k2[ROOT_KEY_BYTES], got[ROOT_KEY_BYTES];
	uint8_t *before, *after;
	size_t lb, la;
	char err[512], p[TU_PATH_MAX], dangling[TU_PATH_MAX];

	assert_int_equal(root_create(f->path, NULL, 0, k1, &r, err,
			     sizeof(err)),
	    0);
	root_close(r);
	before = tu_read(f->path, &lb);
	err[0] = '\0';
	assert_int_equal(root_create(f->path, NULL, 0, k2, &r2, err,
			     sizeof(err)),
	    -1);
	assert_null(r2);
	assert_true(strlen(err) > 0);
	/* Refused, and the existing file is untouched, not unlinked. */
	after = tu_read(f->path, &la);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, lb);
	assert_int_equal(root_open(f->path, NULL, 0, &r, err, sizeof(err)), 0);
	assert_int_equal(root_load(r, 1, got, err, sizeof(err)), 0);
	assert_memory_equal(got, k1, sizeof(k1));
	root_close(r);
	/* Nor through a symbolic link, even a dangling one. */
	tu_path(p, f->dir, "link");
	tu_path(dangling, f->dir, "nowhere");
	assert_int_equal(symlink(dangling, p), 0);
	assert_int_equal(root_create(p, NULL, 0, k2, &r2, err, sizeof(err)),
	    -1);
	assert_int_equal(tu_size(dangling), -1);
	free(before);
	free(after);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_open_load, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_two_files_two_keys, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_open_missing_and_malformed,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_passphrase, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_passphrase_salt_tamper, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_passphrase, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_erase_damaged_slot, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_flipped_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slot_padding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_excl, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("root", tests, NULL, NULL);
}
