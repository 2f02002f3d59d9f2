/*
 * fuzz_plan.c: the plan parser on arbitrary bytes.  Besides not crashing,
 * leaking or reading out of bounds, it must either return a plan or at
 * least one "PLAN:LINE: message" line, never both, never neither.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cutover/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cut_buf errors = CUT_BUF_INIT;
	plan *p = NULL;
	int rc;

	rc = plan_parse("fuzz.plan", "/nonexistent", data, size, &p, &errors);
	if (rc == 0) {
		char buf[4096];
		if (p == NULL || errors.len != 0 || p->zone == NULL ||
		    p->n_mx_old == 0 || p->n_mx_new == 0 || p->accounts == NULL)
			abort();
		plan_mx_format(p->mx_old, p->n_mx_old, buf, sizeof(buf));
	} else {
		if (p != NULL || errors.len == 0 ||
		    strncmp(errors.data, "fuzz.plan:", 10) != 0 ||
		    errors.data[errors.len - 1] != '\n')
			abort();
	}
	plan_free(&p);
	cut_buf_free(&errors);
	return 0;
}
