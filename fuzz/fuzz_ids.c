/*
 * fuzz_ids.c: libFuzzer harness for the parsers of identifiers and dates
 * that come from outside: user/community/contract ids, document ids
 * (base64url, canonical only) and YYYY-MM-DD dates.  Round trips must hold.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coffre.h"
#include "vault/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[300], enc[23], day[11];
	uint8_t raw[UTIL_DOCID_RAW];
	int32_t d, d2;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (coffre_valid_id(s) && (strlen(s) == 0 || strlen(s) > COFFRE_ID_MAX))
		abort();
	if (util_docid_decode(s, raw) == 0) {
		util_docid_encode(raw, enc);
		if (strcmp(enc, s) != 0)
			abort(); /* only canonical ids decode */
	}
	if (util_day_parse(s, &d) == 0) {
		util_day_format(d, day);
		if (strcmp(day, s) != 0 || util_day_parse(day, &d2) != 0 ||
		    d2 != d)
			abort();
		if (util_day_add_years(d, 5) <= d)
			abort();
	}
	return 0;
}
