/*
 * policy.h: the type policy of SPEC.md section 7.  Types are detected from
 * content with libmagic, never from a name or a declared type.
 */
#ifndef COFFRE_POLICY_H
#define COFFRE_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "vault/config.h"

/* How many leading bytes of a document the detection looks at. */
#define POLICY_HEAD_BYTES (256 * 1024)

struct policy;

/* policy_open(out, err, errlen): load libmagic's database.  0 or -1. */
int policy_open(struct policy **out, char *err, size_t errlen);

/* policy_close(p): NULL is a no-op. */
void policy_close(struct policy *p);

/*
 * policy_detect(p, buf, len, type, typelen): the MIME type of ${buf} into
 * ${type}.  Returns 0 or -1 (libmagic failed; ${type} says why).
 */
int policy_detect(struct policy *p, const uint8_t *buf, size_t len, char *type,
    size_t typelen);

/* policy_allowed(c, type): 1 if ${type} is in the configured list. */
int policy_allowed(const struct config *c, const char *type);

#endif /* !COFFRE_POLICY_H */
