/*
 * test_imap_seqset.c: sequence-set iteration (RFC 3501 9) and the
 * decoding of QRESYNC VANISHED responses (RFC 7162 3.2.10), from parsed
 * responses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "imapsync/imap_parse.h"

/* Walks s; the ranges as "lo-hi," in *out; returns the last result. */
static int walk(const char *s, char *out, size_t size)
{
	uint32_t lo, hi;
	int k;

	out[0] = '\0';
	while ((k = imap_seqset_next(&s, &lo, &hi)) == 1) {
		size_t n = strlen(out);

		snprintf(out + n, size - n, "%u-%u,", lo, hi);
	}
	return k;
}

static void test_seqset(void **state)
{
	char out[256];

	assert_int_equal(walk("1:3,7,9:*", out, sizeof(out)), 0);
	assert_string_equal(out, "1-3,7-7,9-4294967295,");
	assert_int_equal(walk("4:2", out, sizeof(out)), 0);
	assert_string_equal(out, "2-4,");
	assert_int_equal(walk("4294967295", out, sizeof(out)), 0);
	assert_string_equal(out, "4294967295-4294967295,");
	assert_int_equal(walk("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* errors: zero, overflow, trailing comma, stray bytes, empty range */
	assert_int_equal(walk("0", out, sizeof(out)), -1);
	assert_int_equal(walk("4294967296", out, sizeof(out)), -1);
	assert_int_equal(walk("1,", out, sizeof(out)), -1);
	assert_int_equal(walk("1;2", out, sizeof(out)), -1);
	assert_int_equal(walk("1:", out, sizeof(out)), -1);
	assert_int_equal(walk(",1", out, sizeof(out)), -1);
	assert_int_equal(walk("1 2", out, sizeof(out)), -1);
}

/* Parses one response line and runs imap_resp_vanished() on it. */
static int vanished(const char *line, int *earlier, char *set, size_t size)
{
	imap_parser *p = NULL;
	imap_event ev;
	cut_status st;
	size_t used;
	const char *s = NULL;
	int r;

	assert_int_equal(imap_parser_new(NULL, &p, &st), 0);
	assert_int_equal(imap_parse_next(p, line, strlen(line), &used, &ev, &st), 0);
	assert_int_equal(ev.kind, IMAP_EV_RESPONSE);
	r = imap_resp_vanished(ev.resp, earlier, &s);
	set[0] = '\0';
	if (r == 0)
		snprintf(set, size, "%s", s);
	imap_parser_free(&p);
	return r;
}

static void test_vanished(void **state)
{
	char set[64];
	int earlier = -1;

	assert_int_equal(vanished("* VANISHED (EARLIER) 300:310,405,411\r\n", &earlier, set,
				  sizeof(set)),
			 0);
	assert_int_equal(earlier, 1);
	assert_string_equal(set, "300:310,405,411");
	assert_int_equal(vanished("* VANISHED 405\r\n", &earlier, set, sizeof(set)), 0);
	assert_int_equal(earlier, 0);
	assert_string_equal(set, "405");
	/* lower-case EARLIER (atoms are case-insensitive) */
	assert_int_equal(vanished("* VANISHED (earlier) 1\r\n", &earlier, set, sizeof(set)), 0);
	assert_int_equal(earlier, 1);
	/* malformed: no set, bad set, unknown tag, extra item, not VANISHED */
	assert_int_equal(vanished("* VANISHED\r\n", &earlier, set, sizeof(set)), -1);
	assert_int_equal(vanished("* VANISHED (EARLIER)\r\n", &earlier, set, sizeof(set)), -1);
	assert_int_equal(vanished("* VANISHED (EARLIER) x\r\n", &earlier, set, sizeof(set)), -1);
	assert_int_equal(vanished("* VANISHED (LATER) 1\r\n", &earlier, set, sizeof(set)), -1);
	assert_int_equal(vanished("* VANISHED 1 2\r\n", &earlier, set, sizeof(set)), -1);
	assert_int_equal(vanished("* VANISHED \"1\"\r\n", &earlier, set, sizeof(set)), -1);
	assert_int_equal(vanished("* 3 EXPUNGE\r\n", &earlier, set, sizeof(set)), -1);
	assert_int_equal(vanished("A1 OK VANISHED 1\r\n", &earlier, set, sizeof(set)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seqset),
		cmocka_unit_test(test_vanished),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
