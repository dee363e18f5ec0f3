/*
 * test_util.c: vault/util.c, the identifier checks, the document id
 * encoding (base64url of 16 bytes, 22 characters, canonical only), the
 * ISO 8601 dates and the durable file helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "coffre.h"
#include "vault/util.h"

#include "testutil.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Known answers: the RFC 4648 base64url encoding, without padding. */
static void
test_docid_known_answers(void **state)
{
	uint8_t raw[16], back[16];
	char out[23];
	int i;

	(void)state;
	memset(raw, 0, sizeof(raw));
	util_docid_encode(raw, out);
	assert_string_equal(out, "AAAAAAAAAAAAAAAAAAAAAA");
	memset(raw, 0xff, sizeof(raw));
	util_docid_encode(raw, out);
	assert_string_equal(out, "_____________________w");
	for (i = 0; i < 16; i++)
		raw[i] = (uint8_t)i;
	util_docid_encode(raw, out);
	assert_string_equal(out, "AAECAwQFBgcICQoLDA0ODw");
	assert_int_equal(util_docid_decode("AAECAwQFBgcICQoLDA0ODw", back), 0);
	assert_memory_equal(back, raw, 16);
	/* 0xfb 0xff: the two characters base64 and base64url disagree on. */
	memset(raw, 0, sizeof(raw));
	raw[0] = 0xfb;
	raw[1] = 0xff;
	util_docid_encode(raw, out);
	assert_string_equal(out, "-_8AAAAAAAAAAAAAAAAAAA");
}

static void
test_docid_round_trip(void **state)
{
	uint8_t raw[16], back[16];
	char out[24];
	int i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		randombytes_buf(raw, sizeof(raw));
		memset(out, 'X', sizeof(out));
		util_docid_encode(raw, out);
		assert_int_equal(strlen(out), COFFRE_DOCID_LEN);
		assert_int_equal(strspn(out, alphabet), COFFRE_DOCID_LEN);
		memset(back, 0, sizeof(back));
		assert_int_equal(util_docid_decode(out, back), 0);
		assert_memory_equal(back, raw, 16);
		assert_int_equal(coffre_valid_docid(out), 1);
	}
}

/*
 * 22 characters carry 132 bits for 128: the last character's low 4 bits
 * must be zero, or two strings would name one document.
 */
static void
test_docid_non_canonical(void **state)
{
	char s[23];
	uint8_t raw[16];
	int i, accepted = 0;

	(void)state;
	memcpy(s, "_____________________w", 23);
	for (i = 0; i < 64; i++) {
		s[21] = alphabet[i];
		if ((i & 15) == 0) {
			assert_int_equal(util_docid_decode(s, raw), 0);
			accepted++;
		} else {
			assert_int_equal(util_docid_decode(s, raw), -1);
			assert_int_equal(coffre_valid_docid(s), 0);
		}
	}
	assert_int_equal(accepted, 4);
	assert_int_equal(util_docid_decode("_____________________x", raw), -1);
	assert_int_equal(util_docid_decode("AAAAAAAAAAAAAAAAAAAAAB", raw), -1);
}

static void
test_docid_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "A",
	    "AAAAAAAAAAAAAAAAAAAAA",    /* 21 */
	    "AAAAAAAAAAAAAAAAAAAAAAA",  /* 23 */
	    "AAAAAAAAAAAAAAAAAAAAAAAA", /* 24, as padded base64 would be */
	    "AAECAwQFBgcICQoLDA0ODw==",
	    "AAECAwQFBgcICQoLDA0OD=",
	    "+/8AAAAAAAAAAAAAAAAAAA", /* base64, not base64url */
	    "AAAAAAAAAAA AAAAAAAAAA",
	    "AAAAAAAAAAA.AAAAAAAAAA",
	    "AAAAAAAAAAA\nAAAAAAAAAA",
	    "AAAAAAAAAAAAAAAAAAAA\xc3\xa9", /* 22 bytes, UTF-8 */
	    "../../../../etc/passwd",
	};
	uint8_t raw[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(util_docid_decode(bad[i], raw), -1);
		assert_int_equal(coffre_valid_docid(bad[i]), 0);
	}
	assert_int_equal(util_docid_decode(NULL, raw), -1);
	assert_int_equal(coffre_valid_docid(NULL), 0);
	/* 22 bytes of 0xff: no character of the alphabet, not ASCII. */
	{
		char s[23];
		memset(s, 0xff, 22);
		s[22] = '\0';
		assert_int_equal(util_docid_decode(s, raw), -1);
	}
	/* Each single bad character at each position. */
	for (i = 0; i < COFFRE_DOCID_LEN; i++) {
		char s[23];
		memcpy(s, "AAAAAAAAAAAAAAAAAAAAAA", 23);
		s[i] = '=';
		assert_int_equal(util_docid_decode(s, raw), -1);
		s[i] = '/';
		assert_int_equal(util_docid_decode(s, raw), -1);
	}
}

static int
id_char_ok(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
	    c == '@' || c == '-';
}

static void
test_valid_id(void **state)
{
	char s[COFFRE_ID_MAX + 2];
	int c;

	(void)state;
	assert_int_equal(coffre_valid_id("a"), 1);
	assert_int_equal(coffre_valid_id("alice@example.org"), 1);
	assert_int_equal(coffre_valid_id("user:42_x-y.z"), 1);
	assert_int_equal(coffre_valid_id("-"), 1);
	assert_int_equal(coffre_valid_id(""), 0);
	assert_int_equal(coffre_valid_id(NULL), 0);
	assert_int_equal(coffre_valid_id("a b"), 0);
	assert_int_equal(coffre_valid_id(" a"), 0);
	assert_int_equal(coffre_valid_id("a/b"), 0);
	assert_int_equal(coffre_valid_id("../etc"), 0);
	assert_int_equal(coffre_valid_id("a\\b"), 0);
	assert_int_equal(coffre_valid_id("caf\xc3\xa9"), 0);
	assert_int_equal(coffre_valid_id("a\tb"), 0);
	assert_int_equal(coffre_valid_id("a\n"), 0);
	/* 1 to 128 bytes. */
	memset(s, 'a', sizeof(s));
	s[COFFRE_ID_MAX] = '\0';
	assert_int_equal(coffre_valid_id(s), 1);
	s[COFFRE_ID_MAX] = 'a';
	s[COFFRE_ID_MAX + 1] = '\0';
	assert_int_equal(coffre_valid_id(s), 0);
	s[COFFRE_ID_MAX] = '\0';
	s[COFFRE_ID_MAX - 1] = '/';
	assert_int_equal(coffre_valid_id(s), 0);
	/* Every byte value, alone and between two good characters. */
	for (c = 1; c < 256; c++) {
		char one[2] = {(char)c, '\0'};
		char mid[4] = {'a', (char)c, 'b', '\0'};
		assert_int_equal(coffre_valid_id(one), id_char_ok(c));
		assert_int_equal(coffre_valid_id(mid), id_char_ok(c));
	}
}

static void
check_date(int64_t t, const char *want)
{
	char buf[21]; /* exactly the documented size: ASan sees an overrun */

	memset(buf, 'X', sizeof(buf));
	util_iso8601(t, buf);
	assert_string_equal(buf, want);
}

static void
test_iso8601(void **state)
{
	char buf[21];

	(void)state;
	check_date(0, "1970-01-01T00:00:00Z");
	check_date(1, "1970-01-01T00:00:01Z");
	check_date(-1, "1969-12-31T23:59:59Z");
	check_date(951782400, "2000-02-29T00:00:00Z");
	check_date(1234567890, "2009-02-13T23:31:30Z");
	check_date(1700000000, "2023-11-14T22:13:20Z");
	check_date(4102444800LL, "2100-01-01T00:00:00Z");
	check_date(253402300799LL, "9999-12-31T23:59:59Z");
	/* Out of range: still 20 characters and a NUL, never an overrun. */
	memset(buf, 'X', sizeof(buf));
	util_iso8601(253402300800LL, buf);
	assert_int_equal(strlen(buf), 20);
	memset(buf, 'X', sizeof(buf));
	util_iso8601(INT64_MAX, buf);
	assert_int_equal(strlen(buf), 20);
	memset(buf, 'X', sizeof(buf));
	util_iso8601(INT64_MIN, buf);
	assert_int_equal(strlen(buf), 20);
}

static void
test_file_helpers(void **state)
{
	char dir[TU_PATH_MAX], p[TU_PATH_MAX], sub[TU_PATH_MAX];
	uint8_t buf[16];
	struct stat st;
	int fd;

	(void)state;
	tu_tmpdir(dir);
	tu_path(p, dir, "f");
	fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(util_write_all(fd, "0123456789", 10), 0);
	assert_int_equal(util_pread_all(fd, buf, 4, 3), 0);
	assert_memory_equal(buf, "3456", 4);
	errno = 0;
	assert_int_equal(util_pread_all(fd, buf, 8, 5), -1);
	assert_int_equal(errno, EIO);
	close(fd);
	tu_path(sub, dir, "d");
	assert_int_equal(util_mkdir(sub), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(util_mkdir(sub), 0); /* exists: fine */
	assert_int_equal(util_mkdir(p), -1);  /* a file is in the way */
	assert_int_equal(util_fsync_dir(sub), 0);
	assert_int_equal(util_fsync_dir(p), -1); /* not a folder */
	tu_rmrf(dir);
}

/* Well-formed UTF-8 passes; every kind of malformed sequence fails. */
static void
test_utf8(void **state)
{
	static const char *const good[] = {"", "plain ascii",
	    "Dipl\xc3\xb4me \xc3\xa9t\xc3\xa9.pdf", "\xe2\x82\xac",
	    "\xf0\x9f\x93\x84", "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf"};
	static const char *const bad[] = {"\xff", "bad\xfe", "\xc3", "\xc3(",
	    "\xc0\xaf" /* overlong "/" */, "\xe0\x80\xaf" /* overlong */,
	    "\xed\xa0\x80" /* surrogate */,
	    "\xf4\x90\x80\x80" /* above U+10FFFF */, "\xf8\x88\x80\x80\x80",
	    "\xe2\x82", "a\x80\x62" /* a, a lone continuation byte, b */};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(util_valid_utf8(good[i]), 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(util_valid_utf8(bad[i]), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_docid_known_answers),
	    cmocka_unit_test(test_docid_round_trip),
	    cmocka_unit_test(test_docid_non_canonical),
	    cmocka_unit_test(test_docid_malformed),
	    cmocka_unit_test(test_valid_id),
	    cmocka_unit_test(test_iso8601),
	    cmocka_unit_test(test_file_helpers),
	    cmocka_unit_test(test_utf8),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
