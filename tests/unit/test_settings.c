/*
 * test_settings.c: what the end-to-end scenarios leave out of
 * vault/config.c, vault/util.c and coffre_strerror() (docs/TESTING.md,
 * "Coverage").  The daemon's settings in coffre.conf (docs/API.md,
 * "Limits": timeout, max_connections, max_connections_per_uid,
 * socket_group), which the scenarios give on the command line instead; the
 * bundle limits; retention classes given twice or past their cap
 * (docs/RETENTION.md); strict YYYY-MM-DD dates; and the name of every
 * error code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coffre.h"
#include "vault/config.h"
#include "vault/util.h"

static struct config *
fresh(void)
{
	struct config *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	config_defaults(c);
	return c;
}

/* parse TEXT into a fresh configuration; the error message in ${err}. */
static int
parse(struct config *c, const char *text, char *err, size_t errlen)
{
	config_defaults(c);
	err[0] = '\0';
	return config_parse(text, strlen(text), c, err, errlen);
}

static void
assert_refused(struct config *c, const char *text, const char *want)
{
	char err[512];

	if (parse(c, text, err, sizeof(err)) != -1)
		fail_msg("accepted: %s", text);
	if (strstr(err, want) == NULL)
		fail_msg("'%s': message '%s' does not say '%s'", text, err,
		    want);
}

/* The daemon's limits: whole numbers from 1 to 100000, 0 by default (the
 * daemon's own default then). */
static void
test_daemon_limits(void **state)
{
	struct config *c = fresh();
	char err[512];
	static const char *const bad[] = {"0", "100001", "12x", "-5", "",
	    " 7 7", "99999999999999999999"};

	(void)state;
	assert_int_equal(c->timeout, 0);
	assert_int_equal(c->max_connections, 0);
	assert_int_equal(c->max_per_uid, 0);
	assert_int_equal(parse(c,
			     "timeout = 30\n"
			     "max_connections = 100000\n"
			     "max_connections_per_uid = 1\n",
			     err, sizeof(err)),
	    0);
	assert_int_equal(c->timeout, 30);
	assert_int_equal(c->max_connections, 100000);
	assert_int_equal(c->max_per_uid, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "max_connections = %s\n", bad[i]);
		assert_refused(c, text, "from 1 to 100000");
		snprintf(text, sizeof(text), "timeout=%s", bad[i]);
		assert_refused(c, text, "timeout takes a whole number");
	}
	/* The line is named. */
	assert_refused(c,
	    "# limits\n\ntimeout = 5\nmax_connections_per_uid = 0\n", "line 4");
	free(c);
}

/* socket_group: a name or number, kept as written; not empty, not longer
 * than 64 bytes. */
static void
test_socket_group(void **state)
{
	struct config *c = fresh();
	char err[512], text[200];

	(void)state;
	assert_string_equal(c->socket_group, "");
	assert_int_equal(parse(c, "socket_group = coffre\n", err, sizeof(err)),
	    0);
	assert_string_equal(c->socket_group, "coffre");
	assert_int_equal(parse(c, "socket_group=1200", err, sizeof(err)), 0);
	assert_string_equal(c->socket_group, "1200");
	assert_refused(c, "socket_group =\n", "socket_group takes");
	memset(text, 'g', sizeof(text));
	memcpy(text, "socket_group = ", 15);
	text[15 + 65] = '\0';
	assert_refused(c, text, "socket_group takes");
	text[15 + 64] = '\0';
	assert_int_equal(parse(c, text, err, sizeof(err)), 0);
	assert_int_equal(strlen(c->socket_group), 64);
	free(c);
}

/* The bundle limits: 1 to 2^42 each. */
static void
test_bundle_limits(void **state)
{
	struct config *c = fresh();
	char err[512];

	(void)state;
	assert_int_equal(parse(c,
			     "max_bundle_bytes = 4398046511104\n"
			     "max_bundle_entries = 5\n"
			     "max_compression_ratio = 7\n",
			     err, sizeof(err)),
	    0);
	assert_true(c->max_bundle == (1ULL << 42));
	assert_true(c->max_entries == 5);
	assert_true(c->max_ratio == 7);
	assert_refused(c, "max_compression_ratio = 0", "from 1 to 2^42");
	assert_refused(c, "max_bundle_entries = 01", "from 1 to 2^42");
	assert_refused(c, "max_bundle_bytes = 4398046511105", "from 1 to 2^42");
	assert_refused(c, "max_bundle_bytes = 1e9", "from 1 to 2^42");
	free(c);
}

/* map_size: bytes from 2^20 to 2^44; 0 (absent) keeps the default. */
static void
test_map_size(void **state)
{
	struct config *c = calloc(1, sizeof(*c));
	char err[256];

	(void)state;
	assert_int_equal(parse(c, "max_document_bytes = 1024\n", err,
			     sizeof(err)),
	    0);
	assert_true(c->map_size == 0);
	assert_int_equal(parse(c, "map_size = 1048576\n", err, sizeof(err)), 0);
	assert_true(c->map_size == (1ULL << 20));
	assert_int_equal(parse(c, "map_size = 17592186044416\n", err,
			     sizeof(err)),
	    0);
	assert_true(c->map_size == (1ULL << 44));
	assert_refused(c, "map_size = 1048575", "from 2^20 to 2^44");
	assert_refused(c, "map_size = 17592186044417", "from 2^20 to 2^44");
	assert_refused(c, "map_size = 1G", "from 2^20 to 2^44");
	assert_refused(c, "map_size = ", "from 2^20 to 2^44");
	free(c);
}

/* Retention classes: a kind given again replaces its days (one class);
 * at most CONFIG_CLASSES_MAX kinds; a kind must be an id; 0 to 36500
 * days. */
static void
test_retention_classes(void **state)
{
	struct config *c = fresh();
	char err[512], *text;
	size_t cap = 64 * (CONFIG_CLASSES_MAX + 2), n = 0;

	(void)state;
	assert_int_equal(parse(c,
			     "retention.identity-card = 0\n"
			     "retention.pro-card = 30\n"
			     "retention.identity-card = 7\n",
			     err, sizeof(err)),
	    0);
	assert_int_equal(c->nclasses, 2);
	assert_string_equal(c->classes[0].kind, "identity-card");
	assert_int_equal(c->classes[0].days, 7);
	assert_string_equal(c->classes[1].kind, "pro-card");
	assert_int_equal(c->classes[1].days, 30);
	assert_int_equal(parse(c, "retention.x = 36500", err, sizeof(err)), 0);
	assert_int_equal(c->classes[0].days, 36500);
	assert_refused(c, "retention.x = 36501", "from 0 to 36500");
	assert_refused(c, "retention.x = -1", "from 0 to 36500");
	assert_refused(c, "retention.x = ", "from 0 to 36500");
	assert_refused(c, "retention.a/b = 3", "retention.KIND takes");
	assert_refused(c, "retention. = 3", "retention.KIND takes");

	/* CONFIG_CLASSES_MAX kinds are fine, one more is not, the same one
	 * again is. */
	text = calloc(1, cap);
	assert_non_null(text);
	for (int i = 0; i < CONFIG_CLASSES_MAX; i++)
		n += (size_t)snprintf(text + n, cap - n, "retention.k%d = %d\n",
		    i, i);
	assert_int_equal(parse(c, text, err, sizeof(err)), 0);
	assert_int_equal(c->nclasses, CONFIG_CLASSES_MAX);
	snprintf(text + n, cap - n, "retention.k0 = 99\n");
	assert_int_equal(parse(c, text, err, sizeof(err)), 0);
	assert_int_equal(c->nclasses, CONFIG_CLASSES_MAX);
	assert_int_equal(c->classes[0].days, 99);
	snprintf(text + n, cap - n, "retention.one-more = 1\n");
	assert_refused(c, text, "retention classes");
	free(text);
	free(c);
}

/* Dates: strict YYYY-MM-DD of a real day from 1970 to 2999. */
static void
test_days(void **state)
{
	static const char *const bad[] = {"2026/11/26", "2026-11-2a",
	    "202X-11-26", "2026-11-266", "2026-11-2", "2026-1-126",
	    "1969-12-31", "3000-01-01", "2026-00-10", "2026-13-01",
	    "2026-04-31", "2025-02-29", "2026-11-00", " 2026-11-26"};
	int32_t day = -1;
	char buf[11];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (util_day_parse(bad[i], &day) != -1)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(util_day_parse("1970-01-01", &day), 0);
	assert_int_equal(day, 0);
	assert_int_equal(util_day_parse("2024-02-29", &day), 0);
	util_day_format(day, buf);
	assert_string_equal(buf, "2024-02-29");
	/* Five years after 29 February: 1 March (util.h). */
	util_day_format(util_day_add_years(day, 5), buf);
	assert_string_equal(buf, "2029-03-01");
	util_day_format(util_day_add_years(day, 4), buf);
	assert_string_equal(buf, "2028-02-29");
	assert_int_equal(util_day_parse("2999-12-31", &day), 0);
	util_day_format(day, buf);
	assert_string_equal(buf, "2999-12-31");
	util_day_format(0, buf);
	assert_string_equal(buf, "1970-01-01");
}

/* Every code has its own name; an unknown one says so. */
static void
test_strerror(void **state)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
	    {COFFRE_OK, "done"},
	    {COFFRE_EFAIL, "failure"},
	    {COFFRE_EUSAGE, "usage"},
	    {COFFRE_ENOTFOUND, "not found"},
	    {COFFRE_EGONE, "gone"},
	    {COFFRE_EREJECT, "rejected input"},
	    {COFFRE_EDENIED, "not allowed"},
	    {COFFRE_ELOCKED, "locked"},
	    {COFFRE_ENODAEMON, "no daemon"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(coffre_strerror(names[i].code),
		    names[i].name);
	assert_string_equal(coffre_strerror(9), "unknown error");
	assert_string_equal(coffre_strerror(-1), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_daemon_limits),
	    cmocka_unit_test(test_socket_group),
	    cmocka_unit_test(test_bundle_limits),
	    cmocka_unit_test(test_map_size),
	    cmocka_unit_test(test_retention_classes),
	    cmocka_unit_test(test_days),
	    cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
