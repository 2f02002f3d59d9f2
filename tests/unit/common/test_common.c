/* test_common.c: durations, RFC 3339, host:port, buffers, UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/hex.h"
#include "common/hostport.h"
#include "common/secret.h"
#include "common/status.h"
#include "common/str.h"
#include "common/timeutil.h"

static void test_duration(void **state)
{
	double d;

	(void)state;
	assert_int_equal(cut_duration_parse("300", &d), 0);
	assert_true(d == 300);
	assert_int_equal(cut_duration_parse("90s", &d), 0);
	assert_true(d == 90);
	assert_int_equal(cut_duration_parse("5m", &d), 0);
	assert_true(d == 300);
	assert_int_equal(cut_duration_parse("2h", &d), 0);
	assert_true(d == 7200);
	assert_int_equal(cut_duration_parse("1d", &d), 0);
	assert_true(d == 86400);
	assert_int_equal(cut_duration_parse("1.5d", &d), 0);
	assert_true(d == 129600);
	assert_int_equal(cut_duration_parse("", &d), -1);
	assert_int_equal(cut_duration_parse("5 m", &d), -1);
	assert_int_equal(cut_duration_parse("-5", &d), -1);
	assert_int_equal(cut_duration_parse("5x", &d), -1);
	assert_int_equal(cut_duration_parse("5mm", &d), -1);
	assert_int_equal(cut_duration_parse("nan", &d), -1);
	assert_int_equal(cut_duration_parse("1e400", &d), -1);
}

static void test_duration_format(void **state)
{
	char buf[32];

	(void)state;
	cut_duration_format(45, buf, sizeof(buf));
	assert_string_equal(buf, "45s");
	cut_duration_format(3723, buf, sizeof(buf));
	assert_string_equal(buf, "1h02m03s");
	cut_duration_format(-90, buf, sizeof(buf));
	assert_string_equal(buf, "-1m30s");
}

static void test_rfc3339(void **state)
{
	double t;
	char buf[40];

	(void)state;
	assert_int_equal(cut_time_parse_rfc3339("2026-12-01T21:00:00Z", &t), 0);
	cut_time_format_rfc3339(t, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-01T21:00:00Z");
	assert_int_equal(cut_time_parse_rfc3339("2026-12-01T22:00:00+01:00", &t), 0);
	cut_time_format_rfc3339(t, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-01T21:00:00Z");
	assert_int_equal(cut_time_parse_rfc3339("2026-12-01T21:00:00.5Z", &t), 0);
	assert_int_equal(cut_time_parse_rfc3339("2026-12-01 21:00:00", &t), -1);
	assert_int_equal(cut_time_parse_rfc3339("2026-02-30T21:00:00Z", &t), -1);
	assert_int_equal(cut_time_parse_rfc3339("2025-02-29T21:00:00Z", &t), -1);
	assert_int_equal(cut_time_parse_rfc3339("2024-02-29T21:00:00Z", &t), 0);
	assert_int_equal(cut_time_parse_rfc3339("tomorrow", &t), -1);
}

static void test_hostport(void **state)
{
	cut_hostport hp;
	const char *why;
	char buf[300];

	(void)state;
	assert_int_equal(cut_hostport_parse("imap.example.org", 993, &hp, &why), 0);
	assert_string_equal(hp.host, "imap.example.org");
	assert_int_equal(hp.port, 993);
	assert_false(hp.has_port);
	assert_int_equal(cut_hostport_parse("127.0.0.1:5353", 53, &hp, &why), 0);
	assert_string_equal(hp.host, "127.0.0.1");
	assert_int_equal(hp.port, 5353);
	assert_int_equal(cut_hostport_parse("[::1]:5353", 53, &hp, &why), 0);
	assert_string_equal(hp.host, "::1");
	cut_hostport_format(&hp, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:5353");
	assert_int_equal(cut_hostport_parse("2001:db8::1", 53, &hp, &why), 0);
	assert_int_equal(hp.port, 53);
	assert_int_equal(cut_hostport_parse("host:0", 53, &hp, &why), -1);
	assert_int_equal(cut_hostport_parse("host:70000", 53, &hp, &why), -1);
	assert_int_equal(cut_hostport_parse("host:abc", 53, &hp, &why), -1);
	assert_int_equal(cut_hostport_parse("[::1", 53, &hp, &why), -1);
	assert_int_equal(cut_hostport_parse("bad host", 53, &hp, &why), -1);
	assert_int_equal(cut_hostport_parse("", 53, &hp, &why), -1);
}

static void test_buf_limit(void **state)
{
	cut_buf b = CUT_BUF_INIT;

	(void)state;
	b.limit = 8;
	assert_int_equal(cut_buf_puts(&b, "12345678"), 0);
	assert_int_equal(cut_buf_puts(&b, "9"), -1);
	assert_int_equal(b.len, 8);
	cut_buf_consume(&b, 3);
	assert_string_equal(b.data, "45678");
	assert_int_equal(cut_buf_printf(&b, "%d", 12), 0);
	assert_string_equal(b.data, "4567812");
	cut_buf_free(&b);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(cut_utf8_valid("caf\xc3\xa9", 5));
	assert_false(cut_utf8_valid("\xc0\xaf", 2));     /* overlong */
	assert_false(cut_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
	assert_false(cut_utf8_valid("\xe2\x82", 2));     /* truncated */
}

static void test_secret_perms(void **state)
{
	char path[] = "/tmp/cutover-secret-XXXXXX";
	cut_status st;
	char *pw = NULL;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cret\nsecond\n", 14), 14);
	close(fd);
	chmod(path, 0600);
	assert_int_equal(cut_secret_read_first_line(path, &pw, &st), 0);
	assert_string_equal(pw, "s3cret");
	cut_secret_free(&pw);
	assert_null(pw);
	chmod(path, 0640);
	assert_int_equal(cut_secret_read_first_line(path, &pw, &st), -1);
	assert_non_null(strstr(st.msg, "readable by group or others (mode 0640)"));
	assert_non_null(strstr(st.msg, "chmod 600"));
	unlink(path);
}

/* cut_parse_u64_n() agrees with cut_parse_u64() on the same text, and
 * cut_hex_val() knows lowercase hex digits only. */
static void test_parse_words(void **state)
{
	static const char *const words[] = {
		"0", "7", "4294967295", "4294967296", "18446744073709551615",
		"18446744073709551616", "00000000000000000000042", "000000000000000000000042",
		"", "-1", "+1", "1x", " 1", "12 ",
	};
	static const uint64_t maxes[] = {0, 5, UINT32_MAX, UINT64_MAX};
	uint64_t a, b;

	(void)state;
	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
		for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
			int ra = cut_parse_u64_n(words[w], strlen(words[w]), maxes[m], &a);
			/* cut_parse_u64 has no length bound: only up to 23 */
			int rb = strlen(words[w]) > 23 ? -1
						       : cut_parse_u64(words[w], maxes[m], &b);

			if (ra != rb || (ra == 0 && a != b))
				fail_msg("\"%s\" max %llu: %d/%llu vs %d/%llu", words[w],
					 (unsigned long long)maxes[m], ra, (unsigned long long)a,
					 rb, (unsigned long long)b);
		}
	/* not NUL-terminated: only n bytes count */
	assert_int_equal(cut_parse_u64_n("123456", 3, UINT64_MAX, &a), 0);
	assert_true(a == 123);
	for (int c = 0; c < 256; c++) {
		int want = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		assert_int_equal(cut_hex_val((char)c), want);
	}
}

static void test_status(void **state)
{
	cut_status st;

	(void)state;
	cut_status_clear(&st);
	assert_false(cut_status_failed(&st));
	cut_status_set(&st, CUT_TEMP, CUT_SCOPE_SERVER, "connection reset");
	cut_status_prefix(&st, "%s:%d: ", "host1", 993);
	assert_string_equal(st.msg, "host1:993: connection reset");
	assert_int_equal(st.kind, CUT_TEMP);
	assert_string_equal(cut_kind_name(st.kind), "temporary");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_secret_perms),
		cmocka_unit_test(test_parse_words),
		cmocka_unit_test(test_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
