/*
 * policy.c: type detection with libmagic.  The database is loaded once per
 * handle; detection reads only a bounded head of the document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <magic.h>

#include "vault/policy.h"

struct policy {
	magic_t m;
};

int
policy_open(struct policy **out, char *err, size_t errlen)
{
	struct policy *p = calloc(1, sizeof(*p));
	size_t bytes = POLICY_HEAD_BYTES;

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->m =
	    magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS);
	if (p->m == NULL || magic_load(p->m, NULL) != 0) {
		snprintf(err, errlen, "cannot load libmagic's database: %s",
		    p->m != NULL ? magic_error(p->m) : "magic_open failed");
		policy_close(p);
		return -1;
	}
	(void)magic_setparam(p->m, MAGIC_PARAM_BYTES_MAX, &bytes);
	*out = p;
	return 0;
}

void
policy_close(struct policy *p)
{
	if (p == NULL)
		return;
	if (p->m != NULL)
		magic_close(p->m);
	free(p);
}

int
policy_detect(struct policy *p, const uint8_t *buf, size_t len, char *type,
    size_t typelen)
{
	const char *t = magic_buffer(p->m, buf, len);

	if (t == NULL) {
		snprintf(type, typelen, "unknown (%s)", magic_error(p->m));
		return -1;
	}
	snprintf(type, typelen, "%s", t);
	return 0;
}

int
policy_allowed(const struct config *c, const char *type)
{
	for (int i = 0; i < c->ntypes; i++)
		if (strcmp(c->types[i], type) == 0)
			return 1;
	return 0;
}
