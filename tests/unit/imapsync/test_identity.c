/* test_identity.c: Message-ID normalisation, header unfolding, digests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "imapsync/identity.h"

static identity id_of(const char *hdr, uint64_t size, identity_source *src)
{
	identity id;

	assert_int_equal(identity_compute(hdr, strlen(hdr), size, &id, src, NULL, 0,
					  NULL),
			 0);
	return id;
}

static void test_normalise(void **state)
{
	char out[256];
	const char *v;

	(void)state;
	v = " <Abc.Def@EXAMPLE.Org> ";
	assert_int_equal(identity_normalise_message_id(v, strlen(v), out, sizeof(out)),
			 strlen("<Abc.Def@example.org>"));
	assert_string_equal(out, "<Abc.Def@example.org>");
	/* folded inside the brackets, comment around */
	v = "(comment) <abc\r\n @Ex.com> trailing";
	identity_normalise_message_id(v, strlen(v), out, sizeof(out));
	assert_string_equal(out, "<abc@ex.com>");
	/* local part case is kept */
	v = "<ABC@x>";
	identity_normalise_message_id(v, strlen(v), out, sizeof(out));
	assert_string_equal(out, "<ABC@x>");
	/* no brackets */
	v = "  bare-id@Host  ";
	identity_normalise_message_id(v, strlen(v), out, sizeof(out));
	assert_string_equal(out, "bare-id@host");
	/* empty */
	v = "<>";
	assert_int_equal(identity_normalise_message_id(v, strlen(v), out, sizeof(out)), 0);
	v = "   ";
	assert_int_equal(identity_normalise_message_id(v, strlen(v), out, sizeof(out)), 0);
}

static void test_header_value(void **state)
{
	const char *h = "Subject: hello\r\n  folded   world\r\n"
			"From: a@b\r\nsubject: second\r\nX-Empty:\r\n\r\n";
	char out[128];

	(void)state;
	assert_int_equal(identity_header_value(h, strlen(h), "SUBJECT", out, sizeof(out)),
			 (long)strlen("hello folded world"));
	assert_string_equal(out, "hello folded world");
	assert_int_equal(identity_header_value(h, strlen(h), "From", out, sizeof(out)), 3);
	assert_int_equal(identity_header_value(h, strlen(h), "Cc", out, sizeof(out)), -1);
	assert_int_equal(identity_header_value(h, strlen(h), "X-Empty", out, sizeof(out)), 0);
	/* a field name that is a prefix of another is not matched */
	assert_int_equal(identity_header_value(h, strlen(h), "Subj", out, sizeof(out)), -1);
	/* LF-only line ends and a last line without end */
	h = "To: x\n\ty\nCc: z";
	assert_int_equal(identity_header_value(h, strlen(h), "to", out, sizeof(out)), 3);
	assert_string_equal(out, "x y");
	assert_int_equal(identity_header_value(h, strlen(h), "cc", out, sizeof(out)), 1);
	/* truncation is bounded */
	assert_int_equal(identity_header_value(h, strlen(h), "to", out, 2), 1);
	assert_string_equal(out, "x");
}

static void test_message_id_identity(void **state)
{
	identity_source src;
	identity a, b, c, d;
	char mid[64];

	(void)state;
	a = id_of("Message-ID: <x@EXAMPLE.com>\r\nSubject: one\r\n\r\n", 100, &src);
	assert_int_equal(src, IDENTITY_FROM_MESSAGE_ID);
	/* other headers, folding and domain case do not matter */
	b = id_of("message-id:\r\n <x@example.COM>\r\nSubject: two\r\n\r\n", 100, &src);
	assert_int_equal(identity_cmp(&a, &b), 0);
	/* size does */
	c = id_of("Message-ID: <x@example.com>\r\n\r\n", 101, &src);
	assert_int_not_equal(identity_cmp(&a, &c), 0);
	/* local part case does */
	d = id_of("Message-ID: <X@example.com>\r\n\r\n", 100, &src);
	assert_int_not_equal(identity_cmp(&a, &d), 0);
	assert_int_equal(identity_compute("Message-ID: <q@H>\r\n", 19, 5, &a, &src,
					  mid, sizeof(mid), NULL),
			 0);
	assert_string_equal(mid, "<q@h>");
}

static void test_header_identity(void **state)
{
	identity_source src;
	identity a, b, c, d, e;
	char hex[IDENTITY_HEX_LEN];

	(void)state;
	a = id_of("Date: Mon, 1 Jan 2001 00:00:00 +0000\r\nFrom: a@b\r\n"
		  "Subject: s\r\n\r\n",
		  500, &src);
	assert_int_equal(src, IDENTITY_FROM_HEADERS);
	/* order of fields, folding, extra fields: same identity */
	b = id_of("Subject: s\r\nX-Other: 1\r\nFrom:  a@b\r\n"
		  "Date: Mon, 1 Jan 2001\r\n 00:00:00 +0000\r\n\r\n",
		  500, &src);
	assert_int_equal(identity_cmp(&a, &b), 0);
	/* an empty Message-ID counts as missing */
	c = id_of("Message-ID: <>\r\nDate: Mon, 1 Jan 2001 00:00:00 +0000\r\n"
		  "From: a@b\r\nSubject: s\r\n\r\n",
		  500, &src);
	assert_int_equal(src, IDENTITY_FROM_HEADERS);
	assert_int_equal(identity_cmp(&a, &c), 0);
	/* different subject, different size, absent vs empty field */
	d = id_of("Date: Mon, 1 Jan 2001 00:00:00 +0000\r\nFrom: a@b\r\n"
		  "Subject: t\r\n\r\n",
		  500, &src);
	assert_int_not_equal(identity_cmp(&a, &d), 0);
	e = id_of("Date: Mon, 1 Jan 2001 00:00:00 +0000\r\nFrom: a@b\r\n"
		  "Subject: s\r\nCc:\r\n\r\n",
		  500, &src);
	assert_int_not_equal(identity_cmp(&a, &e), 0);
	identity_format(&a, hex);
	assert_int_equal(strlen(hex), 64);
	/* no headers at all still yields a digest */
	(void)id_of("", 0, &src);
	assert_int_equal(src, IDENTITY_FROM_HEADERS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_header_value),
		cmocka_unit_test(test_message_id_identity),
		cmocka_unit_test(test_header_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
