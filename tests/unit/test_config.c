/*
 * test_config.c: vault/config.c, the parser of DIR/coffre.conf: defaults,
 * the two settings, comments and blank lines, and an error naming the line
 * for everything else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "vault/config.h"

#include "testutil.h"

static const char *const spec_types[] = {"application/pdf", "image/jpeg",
    "image/png", "image/webp", "image/heic", "image/heif", "image/tiff"};

/* Parse ${text} on top of the defaults; 0 or -1, message in ${err}. */
static int
parse(const char *text, struct config *c, char *err, size_t errlen)
{
	config_defaults(c);
	err[0] = '\0';
	return config_parse(text, strlen(text), c, err, errlen);
}

/* ${text} must fail, with a message naming line ${line}. */
static void
must_fail(const char *text, size_t len, int line)
{
	struct config c;
	char err[256], want[32];

	config_defaults(&c);
	err[0] = '\0';
	assert_int_equal(config_parse(text, len, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "line %d:", line);
	if (strstr(err, want) == NULL)
		fail_msg("message '%s' does not name %s", err, want);
}

static void
must_fail_str(const char *text, int line)
{
	must_fail(text, strlen(text), line);
}

static void
test_defaults(void **state)
{
	struct config c;
	size_t i;

	(void)state;
	memset(&c, 0x5a, sizeof(c));
	config_defaults(&c);
	assert_int_equal(c.max_doc, 32ULL * 1024 * 1024);
	assert_int_equal(c.ntypes, 7);
	for (i = 0; i < 7; i++)
		assert_string_equal(c.types[i], spec_types[i]);
	/* An empty file changes nothing. */
	assert_int_equal(config_parse("", 0, &c, NULL, 0), 0);
	assert_int_equal(c.max_doc, 32ULL * 1024 * 1024);
	assert_int_equal(c.ntypes, 7);
}

static void
test_max_document_bytes(void **state)
{
	struct config c;
	char err[256];

	(void)state;
	assert_int_equal(parse("max_document_bytes = 1048576\n", &c, err,
			     sizeof(err)),
	    0);
	assert_int_equal(c.max_doc, 1048576);
	assert_int_equal(c.ntypes, 7); /* the types are left alone */
	assert_int_equal(parse("max_document_bytes=1", &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.max_doc, 1);
	assert_int_equal(parse("\t max_document_bytes \t=\t 77 \t\r\n", &c, err,
			     sizeof(err)),
	    0);
	assert_int_equal(c.max_doc, 77);
	assert_int_equal(parse("max_document_bytes = 1099511627776\n", &c, err,
			     sizeof(err)),
	    0);
	assert_int_equal(c.max_doc, 1ULL << 40);
	/* The last one counts. */
	assert_int_equal(
	    parse("max_document_bytes = 5\nmax_document_bytes = 6\n", &c, err,
		sizeof(err)),
	    0);
	assert_int_equal(c.max_doc, 6);
}

static void
test_allow_type(void **state)
{
	struct config c;
	char err[256];

	(void)state;
	/* The first allow_type replaces the defaults; later ones add. */
	assert_int_equal(parse("allow_type = text/plain\n", &c, err,
			     sizeof(err)),
	    0);
	assert_int_equal(c.ntypes, 1);
	assert_string_equal(c.types[0], "text/plain");
	assert_int_equal(parse("allow_type = image/png\n"
			       "max_document_bytes = 10\n"
			       "allow_type = application/vnd.ms-excel\n"
			       "allow_type=image/svg+xml\n",
			     &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.ntypes, 3);
	assert_string_equal(c.types[0], "image/png");
	assert_string_equal(c.types[1], "application/vnd.ms-excel");
	assert_string_equal(c.types[2], "image/svg+xml");
	assert_int_equal(c.max_doc, 10);
}

static void
test_comments_and_blanks(void **state)
{
	struct config c;
	char err[256];

	(void)state;
	assert_int_equal(parse("# coffre.conf\n"
			       "\n"
			       "   \n"
			       "\t\n"
			       "\r\n"
			       "  # indented comment = with an equals sign\n"
			       "max_document_bytes = 4096 # four KiB\n"
			       "allow_type = image/png#no space before it\n"
			       "#allow_type = text/html\n",
			     &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.max_doc, 4096);
	assert_int_equal(c.ntypes, 1);
	assert_string_equal(c.types[0], "image/png");
}

static void
test_errors_name_the_line(void **state)
{
	(void)state;
	/* Unknown setting, also named in the message. */
	{
		struct config c;
		char err[256];
		assert_int_equal(parse("# x\n\nmax_doc = 5\n", &c, err,
				     sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "line 3:"));
		assert_non_null(strstr(err, "max_doc"));
	}
	must_fail_str("Max_Document_Bytes = 5\n", 1);
	must_fail_str("just words\n", 1);
	must_fail_str("\n\n\n\nallow_type\n", 5);
	must_fail_str("= 5\n", 1);
	/* Bad numbers. */
	must_fail_str("max_document_bytes = \n", 1);
	must_fail_str("max_document_bytes = 12x\n", 1);
	must_fail_str("max_document_bytes = -1\n", 1);
	must_fail_str("max_document_bytes = +1\n", 1);
	must_fail_str("max_document_bytes = 0x10\n", 1);
	must_fail_str("max_document_bytes = 1e6\n", 1);
	must_fail_str("max_document_bytes = 1 000\n", 1);
	must_fail_str("max_document_bytes = 32MiB\n", 1);
	must_fail_str("max_document_bytes = 0\n", 1);
	must_fail_str("max_document_bytes = 000\n", 1);
	must_fail_str("\nmax_document_bytes = 1099511627777\n", 2);
	must_fail_str("max_document_bytes = 18446744073709551615\n", 1);
	must_fail_str("max_document_bytes = 18446744073709551616\n", 1);
	must_fail_str("max_document_bytes = 99999999999999999999999999\n", 1);
	/* Bad types. */
	must_fail_str("allow_type = \n", 1);
	must_fail_str("allow_type = png\n", 1);
	must_fail_str("allow_type = /png\n", 1);
	must_fail_str("allow_type = image/\n", 1);
	must_fail_str("allow_type = image/p ng\n", 1);
	must_fail_str("allow_type = text/html; charset=utf-8\n", 1);
	must_fail_str("allow_type = image/png,image/jpeg\n", 1);
	must_fail_str("allow_type = image/\xc3\xa9\n", 1);
	must_fail_str("allow_type = image/png\nallow_type = *\n", 2);
}

static void
test_type_length(void **state)
{
	char text[300];
	struct config c;
	char err[256];

	(void)state;
	/* 127 characters fit, 128 do not. */
	snprintf(text, sizeof(text), "allow_type = a/%0*d\n", 125, 0);
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.types[0]), 127);
	snprintf(text, sizeof(text), "allow_type = a/%0*d\n", 126, 0);
	must_fail_str(text, 1);
}

static void
test_line_too_long(void **state)
{
	char text[2100];
	struct config c;
	char err[256];

	(void)state;
	/* A line of 1023 bytes is read; one of 1024 is refused. */
	memset(text, 'x', sizeof(text));
	text[0] = '#';
	text[1023] = '\n';
	text[1024] = '\0';
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	memcpy(text, "max_document_bytes = 1\n", 23);
	memset(text + 23, 'x', sizeof(text) - 23);
	text[23] = '#';
	text[23 + 1024] = '\n';
	text[23 + 1025] = '\0';
	must_fail_str(text, 2);
	/* Without a newline at the end, too. */
	memset(text, '#', 1500);
	must_fail(text, 1500, 1);
}

static void
test_nul_byte(void **state)
{
	static const char one[] = "max_document_bytes = 5\0\n";
	static const char two[] = "# ok\nallow_type = image/png\0text/html\n";
	static const char hidden[] = "max_document_bytes = 5 #\0 comment\n";

	(void)state;
	must_fail(one, sizeof(one) - 1, 1);
	must_fail(two, sizeof(two) - 1, 2);
	/* Even inside a comment: the file is not text. */
	must_fail(hidden, sizeof(hidden) - 1, 1);
}

static void
test_too_many_types(void **state)
{
	char text[64 * 40];
	size_t n = 0;
	struct config c;
	char err[256];
	int i;

	(void)state;
	for (i = 0; i < CONFIG_TYPES_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "allow_type = x/t%d\n", i);
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.ntypes, CONFIG_TYPES_MAX);
	assert_string_equal(c.types[31], "x/t31");
	snprintf(text + n, sizeof(text) - n, "allow_type = x/one-more\n");
	must_fail_str(text, CONFIG_TYPES_MAX + 1);
}

static void
test_load(void **state)
{
	char dir[TU_PATH_MAX], p[TU_PATH_MAX], err[512];
	struct config c;
	static const char conf[] = "max_document_bytes = 1234\n"
				   "allow_type = text/plain\n";
	uint8_t big[CONFIG_BYTES_MAX + 1];

	(void)state;
	tu_tmpdir(dir);
	/* No coffre.conf: the defaults. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(config_load(dir, &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_doc, 32ULL * 1024 * 1024);
	assert_int_equal(c.ntypes, 7);
	tu_path(p, dir, "coffre.conf");
	tu_write(p, conf, sizeof(conf) - 1, O_CREAT | O_EXCL);
	assert_int_equal(config_load(dir, &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_doc, 1234);
	assert_int_equal(c.ntypes, 1);
	assert_string_equal(c.types[0], "text/plain");
	/* A bad file is an error, not the defaults. */
	tu_write(p, "oops = 1\n", 9, O_TRUNC);
	assert_int_equal(config_load(dir, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 1:"));
	/* Larger than CONFIG_BYTES_MAX: refused before it is parsed. */
	memset(big, '\n', sizeof(big));
	tu_write(p, big, sizeof(big), O_TRUNC);
	assert_int_equal(config_load(dir, &c, err, sizeof(err)), -1);
	tu_write(p, big, sizeof(big) - 1, O_TRUNC);
	assert_int_equal(config_load(dir, &c, err, sizeof(err)), 0);
	tu_rmrf(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_max_document_bytes),
	    cmocka_unit_test(test_allow_type),
	    cmocka_unit_test(test_comments_and_blanks),
	    cmocka_unit_test(test_errors_name_the_line),
	    cmocka_unit_test(test_type_length),
	    cmocka_unit_test(test_line_too_long),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_too_many_types),
	    cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
