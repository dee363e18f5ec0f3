/*
 * fuzz_config.c: libFuzzer harness for the coffre.conf parser
 * (vault/config.c): any bytes give 0 or -1 with a message, never a crash,
 * and a parsed configuration stays within its bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	if (config_parse((const char *)data, size, &c, err, sizeof(err)) == 0) {
		if (c.ntypes < 0 || c.ntypes > CONFIG_TYPES_MAX ||
		    c.nclasses < 0 || c.nclasses > CONFIG_CLASSES_MAX ||
		    c.max_doc == 0)
			abort();
		for (int i = 0; i < c.ntypes; i++)
			if (strchr(c.types[i], '/') == NULL)
				abort();
	} else if (err[0] == '\0') {
		abort(); /* an error always says why */
	}
	return 0;
}
