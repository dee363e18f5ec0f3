/*
 * testutil.h: helpers shared by the cmocka programs of tests/unit/: a
 * private temporary folder per test, removed afterwards, and whole-file and
 * single-byte access to what the library wrote, for the tamper cases.
 * Header-only; every helper is static inline, so a program that does not
 * use one does not warn.  Failures are cmocka assertions: include it after
 * <cmocka.h>.
 */
#ifndef COFFRE_TESTUTIL_H
#define COFFRE_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TU_PATH_MAX 4096

/* tu_tmpdir(buf): a fresh folder under $TMPDIR (or /tmp), path in buf. */
static inline void
tu_tmpdir(char buf[TU_PATH_MAX])
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(buf, TU_PATH_MAX, "%s/coffre-unit.XXXXXX", base);
	assert_non_null(mkdtemp(buf));
}

static inline int
tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* tu_rmrf(path): remove ${path} and everything under it. */
static inline void
tu_rmrf(const char *path)
{
	if (path == NULL || *path == '\0')
		return;
	(void)nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* tu_path(buf, dir, name): "${dir}/${name}" into ${buf}. */
static inline const char *
tu_path(char buf[TU_PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(buf, TU_PATH_MAX, "%s/%s", dir, name);

	assert_true(n > 0 && n < TU_PATH_MAX);
	return buf;
}

/* tu_size(path): the size of ${path}, or -1 if it does not exist. */
static inline long long
tu_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return (long long)st.st_size;
}

/* tu_read(path, len): the whole file in a malloc'd buffer (caller frees). */
static inline uint8_t *
tu_read(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

/* tu_write(path, buf, len, flags): write ${buf} with open(2) ${flags}. */
static inline void
tu_write(const char *path, const void *buf, size_t len, int flags)
{
	const uint8_t *p = buf;
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0600);

	assert_true(fd >= 0);
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
	assert_int_equal(close(fd), 0);
}

/* tu_peek(path, off): the byte at ${off}. */
static inline uint8_t
tu_peek(const char *path, long long off)
{
	uint8_t b;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	close(fd);
	return b;
}

/* tu_flip(path, off, mask): xor the byte at ${off} with ${mask}, in place. */
static inline void
tu_flip(const char *path, long long off, uint8_t mask)
{
	uint8_t b;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	b ^= mask;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	assert_int_equal(close(fd), 0);
}

/* tu_is_zero(p, n): 1 if the ${n} bytes at ${p} are all zero. */
static inline int
tu_is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

#endif /* !COFFRE_TESTUTIL_H */
