/*
 * config.c: the parser of DIR/coffre.conf.  It reads a bounded buffer, so
 * that it can be fuzzed on its own (fuzz/fuzz_config.c).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre.h"
#include "vault/config.h"
#include "vault/util.h"

static const char *const default_types[] = {"application/pdf", "image/jpeg",
    "image/png", "image/webp", "image/heic", "image/heif", "image/tiff"};

void
config_defaults(struct config *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->max_doc = 32ULL * 1024 * 1024;
	c->max_bundle = 1024ULL * 1024 * 1024;
	c->max_entries = 1000;
	c->max_ratio = 100;
	for (i = 0; i < sizeof(default_types) / sizeof(default_types[0]); i++)
		snprintf(c->types[i], sizeof(c->types[i]), "%s",
		    default_types[i]);
	c->ntypes = (int)i;
}

static int
valid_type(const char *s)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL || slash == s || slash[1] == '\0' ||
	    strlen(s) > CONFIG_TYPE_LEN)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("/.+-_", *s) == NULL)
			return 0;
	return 1;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
config_parse(const char *text, size_t len, struct config *c, char *err,
    size_t errlen)
{
	char line[1024];
	size_t pos = 0;
	int lineno = 0, types_set = 0;

	while (pos < len) {
		size_t n = 0;
		char *k, *v, *eq, *hash;

		lineno++;
		while (pos < len && text[pos] != '\n') {
			if (n + 1 >= sizeof(line) || text[pos] == '\0') {
				snprintf(err, errlen,
				    "coffre.conf line %d: too long or not text",
				    lineno);
				return -1;
			}
			line[n++] = text[pos++];
		}
		pos++;
		line[n] = '\0';
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		k = trim(line);
		if (*k == '\0')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errlen,
			    "coffre.conf line %d: expected key = value",
			    lineno);
			return -1;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (strcmp(k, "max_document_bytes") == 0) {
			char *end;
			unsigned long long x;
			errno = 0;
			x = strtoull(v, &end, 10);
			if (*v < '0' || *v > '9' || *end != '\0' ||
			    errno != 0 || x == 0 || x > (1ULL << 40)) {
				snprintf(err, errlen,
				    "coffre.conf line %d: max_document_bytes "
				    "takes a whole number from 1 to 2^40",
				    lineno);
				return -1;
			}
			c->max_doc = x;
		} else if (strcmp(k, "allow_type") == 0) {
			if (!valid_type(v)) {
				snprintf(err, errlen,
				    "coffre.conf line %d: allow_type takes a "
				    "MIME type such as image/png",
				    lineno);
				return -1;
			}
			if (!types_set) {
				c->ntypes = 0;
				types_set = 1;
			}
			if (c->ntypes >= CONFIG_TYPES_MAX) {
				snprintf(err, errlen,
				    "coffre.conf line %d: more than %d types",
				    lineno, CONFIG_TYPES_MAX);
				return -1;
			}
			snprintf(c->types[c->ntypes], CONFIG_TYPE_LEN + 1, "%s",
			    v);
			c->ntypes++;
		} else if (strncmp(k, "retention.", 10) == 0) {
			char *end;
			unsigned long days;
			int j;
			if (!coffre_valid_id(k + 10)) {
				snprintf(err, errlen,
				    "coffre.conf line %d: retention.KIND takes "
				    "a document kind of [A-Za-z0-9._:@-]",
				    lineno);
				return -1;
			}
			errno = 0;
			days = strtoul(v, &end, 10);
			if (*v < '0' || *v > '9' || *end != '\0' ||
			    errno != 0 || days > 36500) {
				snprintf(err, errlen,
				    "coffre.conf line %d: retention.%s takes a "
				    "number of days from 0 to 36500",
				    lineno, k + 10);
				return -1;
			}
			for (j = 0; j < c->nclasses; j++)
				if (strcmp(c->classes[j].kind, k + 10) == 0)
					break;
			if (j == CONFIG_CLASSES_MAX) {
				snprintf(err, errlen,
				    "coffre.conf line %d: more than %d "
				    "retention classes",
				    lineno, CONFIG_CLASSES_MAX);
				return -1;
			}
			snprintf(c->classes[j].kind, sizeof(c->classes[j].kind),
			    "%s", k + 10);
			c->classes[j].days = (unsigned)days;
			if (j == c->nclasses)
				c->nclasses++;
		} else if (strcmp(k, "max_bundle_bytes") == 0 ||
		    strcmp(k, "max_bundle_entries") == 0 ||
		    strcmp(k, "max_compression_ratio") == 0) {
			char *end;
			unsigned long long x;
			errno = 0;
			x = strtoull(v, &end, 10);
			if (*v < '1' || *v > '9' || *end != '\0' ||
			    errno != 0 || x > (1ULL << 42)) {
				snprintf(err, errlen,
				    "coffre.conf line %d: %s takes a whole "
				    "number from 1 to 2^42",
				    lineno, k);
				return -1;
			}
			if (strcmp(k, "max_bundle_bytes") == 0)
				c->max_bundle = x;
			else if (strcmp(k, "max_bundle_entries") == 0)
				c->max_entries = x;
			else
				c->max_ratio = x;
		} else if (strcmp(k, "map_size") == 0) {
			char *end;
			unsigned long long x;
			errno = 0;
			x = strtoull(v, &end, 10);
			if (*v < '1' || *v > '9' || *end != '\0' ||
			    errno != 0 || x < (1ULL << 20) ||
			    x > (1ULL << 44)) {
				snprintf(err, errlen,
				    "coffre.conf line %d: map_size takes a "
				    "number of bytes from 2^20 to 2^44",
				    lineno);
				return -1;
			}
			c->map_size = x;
		} else if (strcmp(k, "allow") == 0) {
			if (c->nallow >= CONFIG_ALLOW_MAX ||
			    strlen(v) > CONFIG_ALLOW_LEN || *v == '\0') {
				snprintf(err, errlen,
				    "coffre.conf line %d: allow takes "
				    "ROLE=uid:N or ROLE=gid:N (at most %d "
				    "lines of %d bytes)",
				    lineno, CONFIG_ALLOW_MAX, CONFIG_ALLOW_LEN);
				return -1;
			}
			snprintf(c->allow[c->nallow], CONFIG_ALLOW_LEN + 1,
			    "%s", v);
			c->nallow++;
		} else if (strcmp(k, "socket_group") == 0) {
			if (*v == '\0' ||
			    strlen(v) >= sizeof(c->socket_group)) {
				snprintf(err, errlen,
				    "coffre.conf line %d: socket_group takes a "
				    "group name or number",
				    lineno);
				return -1;
			}
			snprintf(c->socket_group, sizeof(c->socket_group), "%s",
			    v);
		} else if (strcmp(k, "timeout") == 0 ||
		    strcmp(k, "max_connections") == 0 ||
		    strcmp(k, "max_connections_per_uid") == 0) {
			char *end;
			unsigned long x;
			errno = 0;
			x = strtoul(v, &end, 10);
			if (*v < '1' || *v > '9' || *end != '\0' ||
			    errno != 0 || x > 100000) {
				snprintf(err, errlen,
				    "coffre.conf line %d: %s takes a whole "
				    "number from 1 to 100000",
				    lineno, k);
				return -1;
			}
			if (k[0] == 't')
				c->timeout = (unsigned)x;
			else if (strcmp(k, "max_connections") == 0)
				c->max_connections = (unsigned)x;
			else
				c->max_per_uid = (unsigned)x;
		} else {
			snprintf(err, errlen,
			    "coffre.conf line %d: unknown setting '%.64s'",
			    lineno, k);
			return -1;
		}
	}
	return 0;
}

int
config_load(const char *dir, struct config *c, char *err, size_t errlen)
{
	char path[4200], *buf;
	struct stat st;
	int fd, rc;

	config_defaults(c);
	snprintf(path, sizeof(path), "%s/coffre.conf", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || st.st_size > CONFIG_BYTES_MAX) {
		snprintf(err, errlen, "%s: unreadable or larger than %d bytes",
		    path, CONFIG_BYTES_MAX);
		close(fd);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (util_pread_all(fd, buf, (size_t)st.st_size, 0) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(buf);
		close(fd);
		return -1;
	}
	close(fd);
	rc = config_parse(buf, (size_t)st.st_size, c, err, errlen);
	free(buf);
	return rc;
}
