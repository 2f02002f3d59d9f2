/*
 * fuzz_sync_pure.c: the sync engine's pure parsers on arbitrary bytes:
 * the header-field reader and identity (imapsync/identity.h) and the flag
 * list canonicaliser (imapsync/sync_plan.h).  The first byte selects which.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapsync/identity.h"
#include "imapsync/sync_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[64];
	char *s, *canon = NULL;
	identity id;

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		identity_compute((const char *)data + 1, size - 1, size, &id, NULL,
				 out, sizeof(out), NULL);
		identity_header_value((const char *)data + 1, size - 1, "Subject",
				      out, sizeof(out));
		identity_normalise_message_id((const char *)data + 1, size - 1, out,
					      sizeof(out));
		return 0;
	}
	s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (sync_plan_flags_canon(s, &canon) == 0)
		free(canon);
	free(s);
	return 0;
}
