/*
 * test_plan.c: the plan file: good plans of both scenarios with every
 * default, one bad plan per class of problem with the exact
 * "PLAN:LINE: message" text, several problems at once, secret-file modes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/timeutil.h"
#include "cutover/plan.h"
#include "test_util.h"

#define PLAN_DATA TEST_DATA_DIR "/plan/"

/* Loads a bad plan from the test data and checks the whole error text. */
static void expect_plan_errors(const char *name, const char *lines)
{
	char path[512];
	cut_buf errors = CUT_BUF_INIT;
	plan *p = NULL;
	char *want;

	snprintf(path, sizeof(path), "%s%s", PLAN_DATA, name);
	want = tu_expect(path, lines);
	assert_int_equal(plan_load(path, &p, &errors), -1);
	assert_null(p);
	assert_non_null(errors.data);
	assert_string_equal(errors.data, want);
	free(want);
	cut_buf_free(&errors);
}

/* A scratch directory holding a plan copied from the test data, with the
 * files it names: test.key and accounts.csv (mode 600). */
static char *scratch_with(const char *plan_name, char *path_r, size_t n)
{
	char *dir = tu_mkdtemp();
	char src[512], dst[512];

	snprintf(src, sizeof(src), "%s%s", PLAN_DATA, plan_name);
	snprintf(path_r, n, "%s/%s", dir, plan_name);
	tu_copy(src, path_r, 0644);
	snprintf(dst, sizeof(dst), "%s/test.key", dir);
	tu_write(dst,
		 "key \"cutover-key\" {\n\talgorithm hmac-sha256;\n"
		 "\tsecret \"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\";\n};\n",
		 0600);
	snprintf(src, sizeof(src), "%s/csv/good.csv", TEST_DATA_DIR);
	snprintf(dst, sizeof(dst), "%s/accounts.csv", dir);
	tu_copy(src, dst, 0600);
	return dir;
}

static void test_minimal_defaults(void **state)
{
	char path[512], want[600];
	cut_buf errors = CUT_BUF_INIT;
	plan *p = NULL;
	char *dir;

	(void)state;
	dir = scratch_with("minimal.plan", path, sizeof(path));
	if (plan_load(path, &p, &errors) < 0)
		fail_msg("%s", errors.data);
	assert_non_null(p);
	assert_string_equal(p->path, path);
	assert_string_equal(p->dir, dir);
	assert_int_equal(p->scenario, PLAN_SCENARIO_CLASSICAL);
	assert_false(p->has_at);
	snprintf(want, sizeof(want), "%s/minimal.state", dir);
	assert_string_equal(p->state_dir, want);
	assert_true(p->margin == 60);
	assert_false(p->has_window);
	assert_string_equal(p->zone, "example.org.");
	assert_false(p->has_server);
	assert_int_equal(p->port, 53);
	snprintf(want, sizeof(want), "%s/test.key", dir);
	assert_string_equal(p->tsig_key, want);
	assert_int_equal(p->low_ttl, 300);
	assert_int_equal(p->mode, PLAN_DNS_RFC2136);
	assert_int_equal(p->n_nameservers, 0);
	assert_int_equal(p->n_resolvers, 0);
	assert_string_equal(p->mx_name, "example.org.");
	assert_int_equal(p->n_mx_old, 1);
	assert_int_equal(p->mx_old[0].pref, 10);
	assert_string_equal(p->mx_old[0].host, "mx1.old.example.org.");
	assert_int_equal(p->n_mx_new, 1);
	assert_string_equal(p->mx_new[0].host, "mx1.new.example.org.");
	assert_null(p->imap_name);
	assert_int_equal(p->imap_old.n, 0);
	assert_int_equal(p->imap_new.n, 0);
	assert_int_equal(p->imap_parking.n, 0);
	snprintf(want, sizeof(want), "%s/accounts.csv", dir);
	assert_string_equal(p->accounts, want);
	assert_int_equal(p->jobs, 4);
	assert_int_equal(p->tls1, PLAN_TLS_IMAPS);
	assert_int_equal(p->tls2, PLAN_TLS_IMAPS);
	assert_null(p->ca_file);
	assert_false(p->has_maxage);
	assert_int_equal(p->on_failure, PLAN_ON_FAILURE_STOP);
	assert_null(p->cut_access);
	assert_null(p->restore_access);
	assert_null(p->notify);
	plan_free(&p);
	assert_null(p);
	cut_buf_free(&errors);
	tu_rmdir(dir);
}

static void test_full_lucky(void **state)
{
	char path[512], want[600];
	cut_buf errors = CUT_BUF_INIT;
	plan *p = NULL;
	char *dir;
	double at;

	(void)state;
	dir = scratch_with("full.plan", path, sizeof(path));
	if (plan_load(path, &p, &errors) < 0)
		fail_msg("%s", errors.data);
	assert_int_equal(p->scenario, PLAN_SCENARIO_LUCKY);
	assert_true(p->has_at);
	assert_int_equal(cut_time_parse_rfc3339("2026-12-01T21:00:00Z", &at), 0);
	assert_true(p->at == at);
	assert_string_equal(p->state_dir, "/var/tmp/cutover-test.state");
	assert_true(p->margin == 120);
	assert_true(p->has_window);
	assert_true(p->window == 5400);
	assert_string_equal(p->zone, "example.org.");
	assert_int_equal(p->port, 5353);
	assert_true(p->has_server);
	assert_string_equal(p->server.host, "ns1.example.org");
	assert_int_equal(p->server.port, 5353); /* [dns] port is the default */
	snprintf(want, sizeof(want), "%s/test.key", dir); /* quotes stripped */
	assert_string_equal(p->tsig_key, want);
	assert_int_equal(p->low_ttl, 60);
	assert_int_equal(p->mode, PLAN_DNS_MANUAL);
	assert_int_equal(p->n_nameservers, 3);
	assert_string_equal(p->nameservers[0].host, "127.0.0.1");
	assert_int_equal(p->nameservers[0].port, 5353);
	assert_string_equal(p->nameservers[1].host, "::1");
	assert_int_equal(p->nameservers[1].port, 53);
	assert_int_equal(p->nameservers[2].port, 5300);
	assert_int_equal(p->n_resolvers, 1);
	assert_string_equal(p->mx_name, "mail.example.org.");
	assert_int_equal(p->n_mx_old, 2);
	assert_int_equal(p->mx_old[1].pref, 20);
	assert_string_equal(p->mx_old[1].host, "mx2.old.example.org.");
	assert_int_equal(p->n_mx_new, 1);
	assert_int_equal(p->mx_new[0].pref, 5);
	assert_string_equal(p->imap_name, "imap.example.org.");
	assert_int_equal(p->imap_old.n, 2);
	assert_string_equal(p->imap_old.addr[1], "::1");
	assert_int_equal(p->imap_old.line, 26);
	assert_int_equal(p->imap_new.n, 1);
	assert_int_equal(p->imap_parking.n, 1);
	assert_int_equal(p->jobs, 16);
	assert_int_equal(p->tls1, PLAN_TLS_STARTTLS);
	assert_int_equal(p->tls2, PLAN_TLS_PLAIN);
	assert_string_equal(p->ca_file, "/etc/hostname");
	assert_true(p->has_maxage);
	assert_true(p->maxage == 86400);
	assert_int_equal(p->on_failure, PLAN_ON_FAILURE_CONTINUE);
	assert_string_equal(p->cut_access, "/bin/true close");
	assert_string_equal(p->restore_access, "/bin/true open");
	assert_string_equal(p->notify, "http://127.0.0.1:8080/hook");
	plan_free(&p);
	cut_buf_free(&errors);
	tu_rmdir(dir);
}

static void test_unreadable(void **state)
{
	(void)state;
	expect_plan_errors("does-not-exist.plan",
			   "@:0: cannot read the plan: No such file or "
			   "directory\n");
}

static void test_empty(void **state)
{
	(void)state;
	expect_plan_errors(
		"empty.plan",
		"@:0: missing section [dns] with `zone = ...`\n"
		"@:0: missing section [mx] with `old = ...` and `new = ...` "
		"(the MX sets before and after)\n"
		"@:0: missing section [sync] with `accounts = ...`\n");
}

static void test_binary(void **state)
{
	(void)state;
	expect_plan_errors("binary.plan",
			   "@:3: NUL byte: this is not a text file\n"
			   "@:4: NUL byte: this is not a text file\n");
}

static void test_utf8(void **state)
{
	(void)state;
	expect_plan_errors("utf8.plan", "@:3: invalid UTF-8\n"
					"@:4: invalid UTF-8\n");
}

static void test_long_line(void **state)
{
	(void)state;
	expect_plan_errors("longline.plan",
			   "@:3: line too long (more than 199 bytes)\n");
}

static void test_syntax(void **state)
{
	(void)state;
	expect_plan_errors(
		"syntax.plan",
		"@:1: syntax error: a section header is `[name]`\n"
		"@:2: syntax error: expected `key = value`, `[section]` or a "
		"`#` comment\n"
		"@:3: syntax error: expected `key = value`, `[section]` or a "
		"`#` comment\n"
		"@:4: syntax error: a section header is `[name]`\n"
		"@:6: syntax error: expected `key = value`, `[section]` or a "
		"`#` comment\n");
}

static void test_unknown(void **state)
{
	(void)state;
	expect_plan_errors(
		"unknown.plan",
		"@:3: unknown section [dsn]: did you mean [dns]?\n"
		"@:5: unknown section [syncs]: did you mean [sync]?\n"
		"@:7: unknown section [hook]: did you mean [hooks]?\n"
		"@:11: unknown key `lowttl` in [dns]: did you mean `low_ttl`?\n"
		"@:12: unknown key `low_tll` in [dns]: did you mean "
		"`low_ttl`?\n"
		"@:13: unknown key `accounts` in [dns]: it belongs in [sync]\n"
		"@:14: unknown key `color` in [dns]\n"
		"@:20: unknown key `job` in [sync]: did you mean `jobs`?\n");
}

static void test_duplicate(void **state)
{
	(void)state;
	expect_plan_errors(
		"duplicate.plan",
		"@:1: key `zone` outside any section: put it under its "
		"[section]\n"
		"@:5: duplicate key `zone` (first set at line 3)\n"
		"@:11: section [dns] appears again (first at line 2): keep one "
		"[dns] section\n");
}

static void test_missing(void **state)
{
	(void)state;
	expect_plan_errors(
		"missing.plan",
		"@:0: missing section [sync] with `accounts = ...`\n"
		"@:4: missing required key `zone` in [dns]\n"
		"@:4: missing required key `tsig_key` in [dns]: the default "
		"mode = rfc2136 signs its updates with a TSIG key (or set mode "
		"= manual)\n"
		"@:7: missing required key `old` in [mx]\n"
		"@:7: missing required key `new` in [mx]\n"
		"@:10: missing required key `old` in [imap] (scenario = lucky)\n"
		"@:10: missing required key `new` in [imap] (scenario = "
		"lucky)\n");
}

/* Every bad value at once, in line order. */
static void test_values(void **state)
{
	(void)state;
	expect_plan_errors(
		"values.plan",
		"@:2: scenario: `luck` is not one of classical, lucky\n"
		"@:3: at: `tomorrow 10:00` is not an RFC 3339 time (example: "
		"2026-12-01T22:00:00+01:00)\n"
		"@:4: margin: `5x` is not a duration (examples: 300, 90s, 5m, "
		"2h, 1d)\n"
		"@:5: window: `-1h` is not a duration (examples: 300, 90s, 5m, "
		"2h, 1d)\n"
		"@:8: zone: `exa mple.org` is not a domain name: invalid "
		"character (letters, digits, '-', '_' and '.' only)\n"
		"@:9: port: `70000` is not a port number from 1 to 65535\n"
		"@:10: server: `ns1.example.org:0` is not host[:port]: port "
		"must be a number from 1 to 65535\n"
		"@:11: tsig_key: empty value: give a value or remove the line\n"
		"@:12: low_ttl: `0` must be whole seconds from 1 to 86400 (1d)\n"
		"@:13: mode: `nsupdate` is not one of rfc2136, manual\n"
		"@:14: nameservers: empty item in the list (two commas?)\n"
		"@:14: nameservers: `ns 2` is not host[:port]: invalid "
		"character in host name\n"
		"@:15: resolvers: `[::1` is not host[:port]: missing ']' after "
		"IPv6 address\n"
		"@:18: name: `mail..example.org` is not a domain name: empty "
		"label (two dots in a row?)\n"
		"@:19: old: `mx1.old.example.org.` has no preference: write "
		"`10 mx1.old.example.org.`\n"
		"@:19: old: `10` has no exchange name: write `10 "
		"mx.example.`\n"
		"@:19: old: `10 mx2.old.example.org. extra` is not `PREFERENCE "
		"NAME` (a comma separates entries)\n"
		"@:20: new: `99999 mx.new.example.org.`: the preference must "
		"be a number from 0 to 65535\n"
		"@:20: new: `10 192.0.2.1`: an MX names a host, not an address "
		"(RFC 1035 3.3.9)\n"
		"@:20: new: `10 mx_new.example.org.x-`: bad exchange name: a "
		"label ends with '-' (RFC 952)\n"
		"@:20: new: `10 m@x.example.org`: bad exchange name: invalid "
		"character (letters, digits, '-', '_' and '.' only)\n"
		"@:24: jobs: `65` is not a number from 1 to 64\n"
		"@:25: tls1: `ssl` is not one of imaps, starttls, plain\n"
		"@:26: tls2: `IMAPS` is not one of imaps, starttls, plain\n"
		"@:27: maxage: `forever` is not a duration (examples: 300, 90s, "
		"5m, 2h, 1d)\n"
		"@:28: on_failure: `ignore` is not one of stop, continue\n"
		"@:31: cut_access is set but restore_access is not: a rollback "
		"could not give users their access back\n"
		"@:32: notify: `ftp://example.org/hook` is not an http:// or "
		"https:// URL\n");
}

static void test_cross(void **state)
{
	(void)state;
	expect_plan_errors(
		"cross.plan",
		"@:4: missing required key `tsig_key` in [dns]: mode = rfc2136 "
		"signs its updates with a TSIG key (or set mode = manual)\n"
		"@:9: name: `example.net.` is not inside the zone "
		"`example.org.`: cutover changes names of [dns] zone only\n"
		"@:11: new: the same MX set as old: nothing would change\n"
		"@:13: [imap] is used only with scenario = lucky: set scenario "
		"= lucky in [migration] or remove [imap]\n"
		"@:15: old: `mail.example.org` is not an IPv4 or IPv6 address\n"
		"@:16: new: `192.0.2.2` is listed twice\n");
	expect_plan_errors(
		"lucky-noimap.plan",
		"@:10: name: `imap.elsewhere.net.` is not inside the zone "
		"`example.org.`: cutover changes names of [dns] zone only\n"
		"@:12: new: the same addresses as old: nothing would change\n");
}

static void test_lucky_needs_imap(void **state)
{
	const char text[] = "[migration]\nscenario = lucky\n"
			    "[dns]\nzone = example.org\nmode = manual\n"
			    "[mx]\nold = 10 a.example.org\nnew = 10 "
			    "b.example.org\n[sync]\naccounts = a.csv\n";
	cut_buf errors = CUT_BUF_INIT;
	plan *p = NULL;

	(void)state;
	assert_int_equal(plan_parse("t.plan", "/x", text, sizeof(text) - 1,
				    &p, &errors),
			 -1);
	assert_string_equal(errors.data,
			    "t.plan:2: scenario = lucky needs an [imap] "
			    "section with name, old and new\n");
	cut_buf_free(&errors);
}

/* Secret files readable by others are refused, with the fix. */
static void test_secret_mode(void **state)
{
	char path[512], key[512], csv[512];
	char *dir, *want;
	cut_buf errors = CUT_BUF_INIT;
	plan *p = NULL;

	(void)state;
	dir = scratch_with("minimal.plan", path, sizeof(path));
	snprintf(key, sizeof(key), "%s/test.key", dir);
	snprintf(csv, sizeof(csv), "%s/accounts.csv", dir);
	chmod(key, 0644);
	chmod(csv, 0640);
	assert_int_equal(plan_load(path, &p, &errors), -1);
	{
		char lines[2048];
		snprintf(lines, sizeof(lines),
			 "@:4: tsig_key: %s: holds secrets but is readable by "
			 "group or others (mode 0644): run `chmod 600 %s`\n"
			 "@:11: accounts: %s: holds secrets but is readable by "
			 "group or others (mode 0640): run `chmod 600 %s`\n",
			 key, key, csv, csv);
		want = tu_expect(path, lines);
	}
	assert_string_equal(errors.data, want);
	free(want);
	cut_buf_free(&errors);
	tu_rmdir(dir);
}

/* Relative paths resolve against the plan's directory; quoting; BOM; CRLF;
 * indented keys are keys, not continuation lines. */
static void test_parse_details(void **state)
{
	const char text[] = "\xEF\xBB\xBF[dns]\r\n"
			    "  zone = \"Example.Org.\"   ; comment\r\n"
			    "\tmode = manual\r\n"
			    "[mx]\r\nold = 10 A.example.org\r\n"
			    "new = 10 b.example.org, 20 c.example.org\r\n"
			    "[sync]\r\naccounts = sub/a.csv\r\n"
			    "[migration]\r\nstate = st\r\n";
	cut_buf errors = CUT_BUF_INIT;
	plan *p = NULL;
	char buf[128];

	(void)state;
	if (plan_parse("t.plan", "/srv/plans", text, sizeof(text) - 1, &p,
		       &errors) < 0)
		fail_msg("%s", errors.data);
	assert_string_equal(p->zone, "example.org.");
	assert_int_equal(p->mode, PLAN_DNS_MANUAL);
	assert_null(p->tsig_key);
	assert_string_equal(p->accounts, "/srv/plans/sub/a.csv");
	assert_string_equal(p->state_dir, "/srv/plans/st");
	plan_mx_format(p->mx_new, p->n_mx_new, buf, sizeof(buf));
	assert_string_equal(buf, "10 b.example.org., 20 c.example.org.");
	plan_mx_format(p->mx_old, p->n_mx_old, buf, sizeof(buf));
	assert_string_equal(buf, "10 a.example.org.");
	plan_free(&p);
	plan_free(&p); /* NULL is fine */
	cut_buf_free(&errors);
}

/* A plan in "/" resolves "a.csv" to "/a.csv", not "//a.csv"; a plan name
 * without ".plan" keeps its whole name for the state directory. */
static void test_root_dir(void **state)
{
	const char text[] = "[dns]\nzone = example.org\nmode = manual\n"
			    "[mx]\nold = 10 a.example.org\n"
			    "new = 10 b.example.org\n[sync]\naccounts = a.csv\n";
	cut_buf errors = CUT_BUF_INIT;
	plan *p = NULL;

	(void)state;
	if (plan_parse("/cutover.ini", "/", text, sizeof(text) - 1, &p,
		       &errors) < 0)
		fail_msg("%s", errors.data);
	assert_string_equal(p->accounts, "/a.csv");
	assert_string_equal(p->state_dir, "/cutover.ini.state");
	plan_free(&p);
	cut_buf_free(&errors);
}

static void test_tls_helpers(void **state)
{
	plan_tls t;

	(void)state;
	assert_int_equal(plan_tls_default_port(PLAN_TLS_IMAPS), 993);
	assert_int_equal(plan_tls_default_port(PLAN_TLS_STARTTLS), 143);
	assert_int_equal(plan_tls_default_port(PLAN_TLS_PLAIN), 143);
	assert_string_equal(plan_tls_name(PLAN_TLS_STARTTLS), "starttls");
	assert_int_equal(plan_tls_parse("plain", &t), 0);
	assert_int_equal(t, PLAN_TLS_PLAIN);
	assert_int_equal(plan_tls_parse("tls", &t), -1);
}

/* A binary file stops after PLAN_ERRORS_MAX problems. */
static void test_error_cap(void **state)
{
	cut_buf text = CUT_BUF_INIT, errors = CUT_BUF_INIT;
	plan *p = NULL;
	size_t lines = 0;

	(void)state;
	for (int i = 0; i < 500; i++)
		cut_buf_append(&text, "\xff\xfe\n", 3);
	assert_int_equal(plan_parse("bin", "", text.data, text.len, &p,
				    &errors),
			 -1);
	for (size_t i = 0; i < errors.len; i++)
		lines += errors.data[i] == '\n';
	assert_int_equal(lines, PLAN_ERRORS_MAX + 1);
	assert_non_null(strstr(errors.data, "bin:51: too many problems, "
					    "stopped after 50\n"));
	cut_buf_free(&text);
	cut_buf_free(&errors);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_full_lucky),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_cross),
		cmocka_unit_test(test_lucky_needs_imap),
		cmocka_unit_test(test_secret_mode),
		cmocka_unit_test(test_parse_details),
		cmocka_unit_test(test_root_dir),
		cmocka_unit_test(test_tls_helpers),
		cmocka_unit_test(test_error_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
