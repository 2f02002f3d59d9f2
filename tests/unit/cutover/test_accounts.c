/*
 * test_accounts.c: the accounts CSV (imapsync batch format): a good file
 * with every accepted variant, one bad file per class of problem with the
 * exact "CSV:LINE: message" text, and no password in any message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cutover/plan.h"
#include "test_util.h"

/* Copies a CSV from the test data into a scratch dir with mode 600 and
 * loads it; ports 993 and 143. */
static int load_copy(const char *name, char **dir_r, char *path_r, size_t n,
		     account **acc_r, size_t *n_r, cut_buf *errors)
{
	char src[512];

	*dir_r = tu_mkdtemp();
	snprintf(src, sizeof(src), "%s/csv/%s", TEST_DATA_DIR, name);
	snprintf(path_r, n, "%s/%s", *dir_r, name);
	tu_copy(src, path_r, 0600);
	return accounts_load(path_r, 993, 143, acc_r, n_r, errors);
}

static void expect_csv_errors(const char *name, const char *lines)
{
	char path[512];
	char *dir, *want;
	account *acc = NULL;
	size_t n = 0;
	cut_buf errors = CUT_BUF_INIT;

	assert_int_equal(load_copy(name, &dir, path, sizeof(path), &acc, &n,
				   &errors),
			 -1);
	assert_null(acc);
	assert_int_equal(n, 0);
	want = tu_expect(path, lines);
	assert_string_equal(errors.data, want);
	/* the bad files mark every password SECRET */
	assert_null(strstr(errors.data, "SECRET"));
	free(want);
	cut_buf_free(&errors);
	tu_rmdir(dir);
}

static void test_good(void **state)
{
	char path[512];
	char *dir;
	account *acc = NULL;
	size_t n = 0;
	cut_buf errors = CUT_BUF_INIT;

	(void)state;
	if (load_copy("good.csv", &dir, path, sizeof(path), &acc, &n,
		      &errors) < 0)
		fail_msg("%s", errors.data);
	assert_int_equal(n, 4);
	/* CRLF, trailing ';' */
	assert_int_equal(acc[0].line, 3);
	assert_string_equal(acc[0].host1.host, "host1.example.org");
	assert_int_equal(acc[0].host1.port, 993);
	assert_false(acc[0].host1.has_port);
	assert_string_equal(acc[0].user1, "alice");
	assert_string_equal(acc[0].pass1, "pw-alice-1");
	assert_string_equal(acc[0].host2.host, "host2.example.org");
	assert_int_equal(acc[0].host2.port, 143);
	assert_string_equal(acc[0].user2, "alice@example.org");
	assert_string_equal(acc[0].pass2, "pw-alice-2");
	assert_null(acc[0].extra);
	/* explicit ports, IPv6, no trailing ';', password kept verbatim */
	assert_int_equal(acc[1].line, 5);
	assert_int_equal(acc[1].host1.port, 1993);
	assert_string_equal(acc[1].pass1, "pw bob 1 ");
	assert_string_equal(acc[1].host2.host, "2001:db8::2");
	assert_int_equal(acc[1].host2.port, 143);
	assert_string_equal(acc[1].pass2, "pw-bob-2");
	/* the 7th column */
	assert_string_equal(acc[2].extra, "extra column");
	/* blanks around a user name go; an empty 7th column is NULL */
	assert_string_equal(acc[3].user1, "dave");
	assert_null(acc[3].extra);
	accounts_free(&acc, n);
	assert_null(acc);
	accounts_free(&acc, 0);
	cut_buf_free(&errors);
	tu_rmdir(dir);
}

static void test_fields(void **state)
{
	(void)state;
	expect_csv_errors(
		"fields.csv",
		"@:1: expected host1;user1;password1;host2;user2;password2; "
		"(found 5 fields)\n"
		"@:2: too many fields (9, at most 7): a password cannot "
		"contain `;`\n"
		"@:3: host1 is empty\n"
		"@:4: host2 `h2:99999` is not host[:port]: port must be a "
		"number from 1 to 65535\n"
		"@:4: user1 is empty\n"
		"@:5: password1 of user1 `u5` is empty\n"
		"@:5: password2 of user2 `u5` is empty\n"
		"@:6: host1 `h1 x` is not host[:port]: invalid character in "
		"host name\n"
		"@:6: user2 is empty\n");
}

static void test_duplicates(void **state)
{
	(void)state;
	expect_csv_errors(
		"dup.csv",
		"@:2: user1 `alice` on host1 HOST1:993 is already listed at "
		"line 1: the same mailbox would be synced twice at once\n"
		"@:4: user2 `alice` on host2 host2:143 is already the target "
		"of line 1: two exact syncs into one mailbox would delete each "
		"other's messages\n"
		"@:5: user1 `alice` on host1 host1:993 is already listed at "
		"line 1: the same mailbox would be synced twice at once\n");
}

static void test_binary(void **state)
{
	(void)state;
	expect_csv_errors("binary.csv",
			  "@:2: NUL byte: this is not a text file\n"
			  "@:3: invalid UTF-8\n"
			  "@:4: line too long (more than 4096 bytes)\n");
}

static void test_empty(void **state)
{
	(void)state;
	expect_csv_errors("empty.csv",
			  "@:0: no accounts: every line is blank or a "
			  "comment\n");
}

static void test_secret_mode(void **state)
{
	char path[512], lines[1024];
	char *dir, *want;
	account *acc = NULL;
	size_t n = 0;
	cut_buf errors = CUT_BUF_INIT;

	(void)state;
	dir = tu_mkdtemp();
	snprintf(path, sizeof(path), "%s/a.csv", dir);
	tu_write(path, "h1;u;p;h2;u;p;\n", 0644);
	assert_int_equal(accounts_load(path, 993, 993, &acc, &n, &errors), -1);
	snprintf(lines, sizeof(lines),
		 "@:0: holds secrets but is readable by group or others (mode "
		 "0644): run `chmod 600 %s`\n",
		 path);
	want = tu_expect(path, lines);
	assert_string_equal(errors.data, want);
	free(want);
	cut_buf_reset(&errors);
	snprintf(path, sizeof(path), "%s/missing.csv", dir);
	assert_int_equal(accounts_load(path, 993, 993, &acc, &n, &errors), -1);
	snprintf(lines, sizeof(lines),
		 "@:0: cannot read: No such file or directory\n");
	want = tu_expect(path, lines);
	assert_string_equal(errors.data, want);
	free(want);
	cut_buf_free(&errors);
	tu_rmdir(dir);
}

/* In memory: the parser never reads past len, no trailing newline needed. */
static void test_parse_memory(void **state)
{
	const char text[] = "h1;u1;p1;h2;u2;p2;\nh1;u3;p3;h2;u4;p4";
	account *acc = NULL;
	size_t n = 0;
	cut_buf errors = CUT_BUF_INIT;

	(void)state;
	assert_int_equal(accounts_parse("m.csv", text, sizeof(text) - 1, 1,
					2, &acc, &n, &errors),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(acc[1].pass2, "p4");
	assert_int_equal(acc[1].host1.port, 1);
	assert_int_equal(acc[1].host2.port, 2);
	accounts_free(&acc, n);
	/* cut in the middle of a line */
	assert_int_equal(accounts_parse("m.csv", text, 10, 1, 2, &acc, &n,
					&errors),
			 -1);
	assert_string_equal(errors.data,
			    "m.csv:1: expected "
			    "host1;user1;password1;host2;user2;password2; "
			    "(found 4 fields)\n");
	cut_buf_free(&errors);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_secret_mode),
		cmocka_unit_test(test_parse_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
