/*
 * fuzz_sync_pure.c: the sync engine's pure parsers on arbitrary bytes:
 * the header-field reader and identity (imapsync/identity.h) and the flag
 * list canonicaliser and the split into the flags host2 keeps and those
 * it does not (imapsync/sync_plan.h).  The first byte selects which.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	if (sync_plan_flags_canon(s, &canon) == 0) {
		/* the same bytes as host2's PERMANENTFLAGS: every flag is
		 * either kept or dropped, and nothing else comes out */
		char *kept = NULL, *dropped = NULL, *both = NULL, *rejoined = NULL;

		if (sync_plan_flags_keepable(canon, s, &kept, &dropped) == 0 &&
		    sync_plan_flags_union(&both, kept) == 0 &&
		    sync_plan_flags_union(&both, dropped) == 0 &&
		    sync_plan_flags_canon(both, &rejoined) == 0 &&
		    strcasecmp(rejoined, canon) != 0)
			abort();
		free(kept);
		free(dropped);
		free(both);
		free(rejoined);
		free(canon);
	}
	free(s);
	return 0;
}
