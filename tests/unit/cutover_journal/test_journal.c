/* test_journal.c: the state database: steps, facts, history, lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cutover/journal.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cutover-journal-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_steps_and_facts(void **state)
{
	journal *j = NULL;
	cut_status st;
	char *phase = NULL, *detail = NULL, *json = NULL;
	double t = 0;

	(void)state;
	assert_int_equal(journal_open(dir, &j, &st), 0);
	assert_int_equal(journal_last(j, "mx_change", &phase, &detail, &t, &st), 0);
	assert_null(phase);
	assert_int_equal(journal_record(j, "mx_change", "intent", "{\"to\":\"new\"}", &st), 0);
	assert_int_equal(journal_record(j, "mx_change", "done", NULL, &st), 0);
	assert_int_equal(journal_last(j, "mx_change", &phase, &detail, &t, &st), 0);
	assert_string_equal(phase, "done");
	assert_null(detail);
	assert_true(t > 1e9);
	free(phase);
	assert_int_equal(journal_fact_get(j, "ttl_original", &json, NULL, &st), 0);
	assert_null(json);
	assert_int_equal(journal_fact_set(j, "ttl_original", "{\"ttl\":86400}", &st), 0);
	assert_int_equal(journal_fact_set(j, "ttl_original", "{\"ttl\":3600}", &st), 0);
	assert_int_equal(journal_fact_get(j, "ttl_original", &json, &t, &st), 0);
	assert_string_equal(json, "{\"ttl\":3600}");
	free(json);
	assert_int_equal(journal_fact_del(j, "ttl_original", &st), 0);
	assert_int_equal(journal_fact_get(j, "ttl_original", &json, NULL, &st), 0);
	assert_null(json);
	journal_close(&j);
	assert_null(j);

	/* Reopened: the journal survived. */
	assert_int_equal(journal_open(dir, &j, &st), 0);
	assert_int_equal(journal_last(j, "mx_change", &phase, NULL, NULL, &st), 0);
	assert_string_equal(phase, "done");
	free(phase);
	journal_close(&j);
}

static void test_history(void **state)
{
	journal *j = NULL;
	cut_status st;
	int64_t run = 0;
	double *d = NULL;
	unsigned n = 0;
	journal_account_result r = {.csv_line = 3, .user1 = "a", .user2 = "b",
				    .start = 1, .end = 2, .copied = 5,
				    .status = "ok"};

	(void)state;
	assert_int_equal(journal_open(dir, &j, &st), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(journal_run_begin(j, "presync", &run, &st), 0);
		assert_int_equal(journal_run_account(j, run, &r, &st), 0);
		assert_int_equal(journal_run_end(j, run, "ok", &st), 0);
	}
	assert_int_equal(journal_run_begin(j, "presync", &run, &st), 0); /* unfinished */
	assert_int_equal(journal_run_durations(j, "presync", 10, &d, &n, &st), 0);
	assert_int_equal(n, 3);
	for (unsigned i = 0; i < n; i++)
		assert_true(d[i] >= 0 && d[i] < 5);
	free(d);
	assert_int_equal(journal_run_durations(j, "postsync", 10, &d, &n, &st), 0);
	assert_int_equal(n, 0);
	free(d);
	journal_close(&j);
}

static void test_lock(void **state)
{
	journal *j = NULL;
	cut_status st;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(journal_open(dir, &j, &st), 0);
	assert_int_equal(journal_lock(j, &st), 0);
	pid = fork();
	if (pid == 0) {
		journal *j2 = NULL;
		cut_status st2;
		int code;

		if (journal_open(dir, &j2, &st2) < 0)
			_exit(2);
		if (journal_lock(j2, &st2) == 0)
			code = 0;
		else
			code = strstr(st2.msg, "another cutover process (PID") ? 1 : 3;
		/* Closed so that valgrind sees no block of the child's left. */
		journal_close(&j2);
		_exit(code);
	}
	assert_true(waitpid(pid, &status, 0) == pid);
	assert_int_equal(WEXITSTATUS(status), 1);
	journal_close(&j);
}

static void test_readonly_dir(void **state)
{
	journal *j = NULL;
	cut_status st;
	char sub[128];

	(void)state;
	if (geteuid() == 0)
		skip(); /* root writes anywhere */
	snprintf(sub, sizeof(sub), "%s/ro", dir);
	assert_int_equal(mkdir(sub, 0500), 0);
	assert_int_equal(journal_open(sub, &j, &st), -1);
	assert_non_null(strstr(st.msg, "not writable"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_steps_and_facts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_dir, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
