/*
 * fuzz_csv.c: the accounts CSV parser on arbitrary bytes.  It returns
 * accounts with every field set, or "CSV:LINE: message" lines, never both.
 * (That no password appears in a message is tested in test_accounts.c.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cutover/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cut_buf errors = CUT_BUF_INIT;
	account *acc = NULL;
	size_t n = 0;
	int rc;

	rc = accounts_parse("fuzz.csv", data, size, 993, 143, &acc, &n,
			    &errors);
	if (rc == 0) {
		if (acc == NULL || n == 0 || errors.len != 0)
			abort();
		for (size_t i = 0; i < n; i++)
			if (acc[i].user1[0] == '\0' || acc[i].pass1[0] == '\0' ||
			    acc[i].user2[0] == '\0' || acc[i].pass2[0] == '\0' ||
			    acc[i].host1.port == 0 || acc[i].host2.port == 0)
				abort();
	} else {
		if (acc != NULL || n != 0 || errors.len == 0 ||
		    strncmp(errors.data, "fuzz.csv:", 9) != 0)
			abort();
	}
	accounts_free(&acc, n);
	cut_buf_free(&errors);
	return 0;
}
