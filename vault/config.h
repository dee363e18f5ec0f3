/*
 * config.h: DIR/coffre.conf, the operator's settings.  One "key = value" a
 * line; '#' starts a comment; blank lines are ignored.  An unknown key or a
 * malformed value is an error naming the line, never silently ignored.
 */
#ifndef COFFRE_CONFIG_H
#define COFFRE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_TYPES_MAX 32
#define CONFIG_TYPE_LEN 127
#define CONFIG_BYTES_MAX (64 * 1024)

#define CONFIG_CLASSES_MAX 32
#define CONFIG_ALLOW_MAX 64
#define CONFIG_ALLOW_LEN 1023

struct config {
	uint64_t max_doc;
	int ntypes;
	char types[CONFIG_TYPES_MAX][CONFIG_TYPE_LEN + 1];
	/* Retention classes: documents of ${kind} are shredded by the sweep
	 * ${days} after their latest review decision. */
	int nclasses;
	struct {
		char kind[129];
		unsigned days;
	} classes[CONFIG_CLASSES_MAX];
	/* The daemon's settings (coffre serve): role grants as written
	 * ("ROLE=uid:N" or "ROLE=gid:N[@COMMUNITY,...]", checked by the
	 * daemon), the socket's group, and its limits (0: the default). */
	int nallow;
	char allow[CONFIG_ALLOW_MAX][CONFIG_ALLOW_LEN + 1];
	char socket_group[65];
	unsigned timeout, max_connections, max_per_uid;
	/* Bundles (import): the total of their documents, the entries, and
	 * the compression ratio, each at most. */
	uint64_t max_bundle, max_entries, max_ratio;
	/* The LMDB maps' size at open (0: 64 GiB); they grow by themselves
	 * (keys/lmdbgrow.h). */
	uint64_t map_size;
};

/* config_defaults(c): the defaults of SPEC.md (32 MiB, section 7's types). */
void config_defaults(struct config *c);

/*
 * config_parse(text, len, c, err, errlen): parse ${len} bytes of ${text}
 * on top of the defaults already in ${c}.  Returns 0 or -1 with a message.
 */
int config_parse(const char *text, size_t len, struct config *c, char *err,
    size_t errlen);

/*
 * config_load(dir, c, err, errlen): defaults, then DIR/coffre.conf if it
 * exists.  Returns 0 or -1.
 */
int config_load(const char *dir, struct config *c, char *err, size_t errlen);

#endif /* !COFFRE_CONFIG_H */
