/*
 * test_runplan.c: the cutover state machine with a fake clock and fake
 * operations: step order per scenario, journaling, resume after a failure
 * at every step, waits computed from what DNS reported, the postsync
 * window, and the delete2 lockout set before the MX change is sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cutover/journal.h"
#include "cutover/runplan.h"

typedef struct fake {
	double now;
	char calls[1024];
	const char *fail_at; /* call name that fails once */
	int failed_once;
	double visible_delay; /* visible this long after the change */
	double old_ttl;
	double last_since;
	double slept_until;
	unsigned failed_accounts;
	journal *j;
	int lockout_seen_before_mx;
	unsigned notifications;
} fake;

static void fake_call(fake *f, const char *name)
{
	if (f->calls[0] != '\0')
		strncat(f->calls, ",", sizeof(f->calls) - strlen(f->calls) - 1);
	strncat(f->calls, name, sizeof(f->calls) - strlen(f->calls) - 1);
}

static int fake_fail(fake *f, const char *name, cut_status *st)
{
	if (f->fail_at != NULL && strcmp(f->fail_at, name) == 0 &&
	    !f->failed_once) {
		f->failed_once = 1;
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
				      "%s failed", name);
	}
	return 0;
}

static double f_now(void *ctx)
{
	return ((fake *)ctx)->now;
}

static int f_sleep_until(void *ctx, double deadline, const char *what,
			 cut_status *st)
{
	fake *f = ctx;

	(void)what;
	fake_call(f, "sleep");
	if (fake_fail(f, "sleep", st) < 0)
		return -1;
	if (deadline > f->now)
		f->now = deadline;
	f->slept_until = deadline;
	return 0;
}

static int f_cut_access(void *ctx, cut_status *st)
{
	fake_call(ctx, "cut");
	return fake_fail(ctx, "cut", st);
}

static int f_dns_imap(void *ctx, const char *which, cut_status *st)
{
	char name[32];

	snprintf(name, sizeof(name), "imap_%s", which);
	fake_call(ctx, name);
	return fake_fail(ctx, name, st);
}

static int f_dns_mx(void *ctx, const char *which, cut_status *st)
{
	fake *f = ctx;
	char *v = NULL;

	fake_call(f, "mx");
	journal_fact_get(f->j, JOURNAL_FACT_USERS_ON_HOST2, &v, NULL, NULL);
	f->lockout_seen_before_mx = v != NULL;
	free(v);
	(void)which;
	return fake_fail(f, "mx", st);
}

static int f_wait_visible(void *ctx, runplan_change what, double *visible_at_r,
			  double *old_ttl_r, cut_status *st)
{
	fake *f = ctx;

	fake_call(f, what == RUN_CHANGE_MX ? "visible_mx" : "visible_imap");
	if (fake_fail(f, what == RUN_CHANGE_MX ? "visible_mx" : "visible_imap",
		      st) < 0)
		return -1;
	f->now += f->visible_delay;
	*visible_at_r = f->now;
	*old_ttl_r = f->old_ttl;
	return 0;
}

static int f_sync_all(void *ctx, runplan_sync_kind kind, double since,
		      runplan_sync_summary *sum_r, cut_status *st)
{
	fake *f = ctx;

	fake_call(f, kind == RUN_SYNC_LAST ? "lastsync" : "postsync");
	if (fake_fail(f, kind == RUN_SYNC_LAST ? "lastsync" : "postsync", st) < 0)
		return -1;
	f->now += 100;
	memset(sum_r, 0, sizeof(*sum_r));
	sum_r->accounts = 3;
	if (kind == RUN_SYNC_LAST)
		sum_r->failed_accounts = f->failed_accounts;
	else
		f->last_since = since;
	return 0;
}

static void f_notify(void *ctx, const char *json)
{
	fake *f = ctx;

	assert_non_null(strstr(json, "\"event\""));
	f->notifications++;
}

static runplan_ops fake_ops(fake *f)
{
	runplan_ops ops = {
		.ctx = f, .now = f_now, .sleep_until = f_sleep_until,
		.cut_access = f_cut_access, .dns_imap = f_dns_imap,
		.dns_mx = f_dns_mx, .wait_visible = f_wait_visible,
		.sync_all = f_sync_all, .notify = f_notify,
	};
	return ops;
}

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cutover-runplan-XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static plan test_plan(plan_scenario scenario, int parking)
{
	static char *park[] = {"192.0.2.99"};
	plan p;

	memset(&p, 0, sizeof(p));
	p.path = "test.plan";
	p.zone = "example.";
	p.scenario = scenario;
	p.margin = 60;
	if (parking) {
		p.imap_parking.addr = park;
		p.imap_parking.n = 1;
	}
	return p;
}

static void test_steps(void **state)
{
	runplan_step s[RUN_STEP_COUNT];
	plan p = test_plan(PLAN_SCENARIO_CLASSICAL, 0);
	size_t n;

	(void)state;
	n = runplan_steps(&p, s);
	assert_int_equal(n, 6);
	assert_int_equal(s[0], RUN_STEP_CUT_ACCESS);
	assert_int_equal(s[1], RUN_STEP_LAST_SYNC);
	assert_int_equal(s[2], RUN_STEP_MX_CHANGE);
	assert_int_equal(s[3], RUN_STEP_MX_WAIT);
	assert_int_equal(s[4], RUN_STEP_POSTSYNC);
	assert_int_equal(s[5], RUN_STEP_DONE);
	p = test_plan(PLAN_SCENARIO_LUCKY, 1);
	n = runplan_steps(&p, s);
	assert_int_equal(n, 10);
	assert_int_equal(s[1], RUN_STEP_IMAP_PARK);
	assert_int_equal(s[2], RUN_STEP_IMAP_PARK_WAIT);
	assert_int_equal(s[7], RUN_STEP_IMAP_MOVE);
	assert_int_equal(s[8], RUN_STEP_IMAP_WAIT);
	for (int i = 0; i < RUN_STEP_COUNT; i++)
		assert_int_equal(runplan_step_parse(runplan_step_name((runplan_step)i)), i);
}

static void test_postsync_window(void **state)
{
	(void)state;
	/* Default: the last day by arrival time. */
	assert_true(runplan_postsync_since(100000, 99000, 0, 0, 60) == 100000 - 86400);
	/* The cutover took longer than a day: reach back before the last sync. */
	assert_true(runplan_postsync_since(200000, 100000, 0, 0, 60) == 100000 - 60);
	/* [sync] maxage wins. */
	assert_true(runplan_postsync_since(200000, 100000, 1, 3600, 60) == 200000 - 3600);
}

static void test_classical_run(void **state)
{
	fake f = {.now = 1000000, .visible_delay = 5, .old_ttl = 300};
	plan p = test_plan(PLAN_SCENARIO_CLASSICAL, 0);
	runplan_ops ops = fake_ops(&f);
	journal *j = NULL;
	cut_status st;
	runplan_step cur;

	(void)state;
	assert_int_equal(journal_open(dir, &j, &st), 0);
	f.j = j;
	assert_int_equal(runplan_current(&p, j, &cur, &st), 0);
	assert_int_equal(cur, RUN_STEP_START);
	assert_int_equal(runplan_execute(&p, j, &ops, &st), 0);
	assert_string_equal(f.calls, "cut,lastsync,mx,visible_mx,sleep,postsync");
	/* Old MX can live in caches until visible + old TTL + margin. */
	assert_true(f.slept_until == 1000000 + 100 + 5 + 300 + 60);
	assert_true(f.lockout_seen_before_mx);
	/* The postsync window reaches back a day. */
	assert_true(f.last_since == f.now - 100 - 86400);
	assert_int_equal(runplan_current(&p, j, &cur, &st), 0);
	assert_int_equal(cur, RUN_STEP_DONE);
	assert_true(f.notifications >= 6);
	/* Running again does nothing. */
	f.calls[0] = '\0';
	assert_int_equal(runplan_execute(&p, j, &ops, &st), 0);
	assert_string_equal(f.calls, "");
	journal_close(&j);
}

/* Fail at each operation in turn, then resume: every step before the
 * failure is not repeated, and the end state is the same. */
static void test_resume_every_step(void **state)
{
	static const char *fail_points[] = {"cut", "lastsync", "mx",
					    "visible_mx", "sleep", "postsync",
					    "imap_parking", "visible_imap",
					    "imap_new"};
	static const char *expected_full =
		"cut,imap_parking,visible_imap,sleep,lastsync,mx,visible_mx,"
		"sleep,postsync,imap_new,visible_imap";

	(void)state;
	for (size_t k = 0; k < sizeof(fail_points) / sizeof(*fail_points); k++) {
		fake f = {.now = 1000000, .visible_delay = 2, .old_ttl = 60,
			  .fail_at = fail_points[k]};
		plan p = test_plan(PLAN_SCENARIO_LUCKY, 1);
		runplan_ops ops = fake_ops(&f);
		journal *j = NULL;
		cut_status st;
		runplan_step cur;
		char cmd[160];
		char first[1024];

		assert_int_equal(journal_open(dir, &j, &st), 0);
		f.j = j;
		assert_int_equal(runplan_execute(&p, j, &ops, &st), -1);
		assert_non_null(strstr(st.msg, "failed"));
		assert_int_equal(runplan_current(&p, j, &cur, &st), 0);
		assert_true(cur != RUN_STEP_DONE);
		snprintf(first, sizeof(first), "%s", f.calls);
		f.calls[0] = '\0';
		assert_int_equal(runplan_execute(&p, j, &ops, &st), 0);
		/* A replayed sync first settles (RUNPLAN_RESUME_SETTLE). */
		if (strcmp(fail_points[k], "lastsync") == 0 ||
		    strcmp(fail_points[k], "postsync") == 0) {
			assert_int_equal(strncmp(f.calls, "sleep,", 6), 0);
			memmove(f.calls, f.calls + 6, strlen(f.calls + 6) + 1);
		}
		/* first run + resumed run = the full sequence, with only the
		 * failed call repeated. */
		{
			char joined[2048];
			snprintf(joined, sizeof(joined), "%s,%s", first, f.calls);
			/* Remove the one failed call from the joined list. */
			char *pos = strstr(joined, fail_points[k]);
			assert_non_null(pos);
			memmove(pos, pos + strlen(fail_points[k]) + 1,
				strlen(pos + strlen(fail_points[k]) + 1) + 1);
			assert_string_equal(joined, expected_full);
		}
		assert_int_equal(runplan_current(&p, j, &cur, &st), 0);
		assert_int_equal(cur, RUN_STEP_DONE);
		journal_close(&j);
		snprintf(cmd, sizeof(cmd), "rm -f %s/cutover.db*", dir);
		assert_int_equal(system(cmd), 0);
	}
}

static void test_wait_resumes_deadline(void **state)
{
	/* A crash during the drain wait: the resumed wait keeps the deadline
	 * computed from the first visibility, it does not start over. */
	fake f = {.now = 5000, .visible_delay = 3, .old_ttl = 300,
		  .fail_at = "sleep"};
	plan p = test_plan(PLAN_SCENARIO_CLASSICAL, 0);
	runplan_ops ops = fake_ops(&f);
	journal *j = NULL;
	cut_status st;
	double deadline;

	(void)state;
	assert_int_equal(journal_open(dir, &j, &st), 0);
	f.j = j;
	assert_int_equal(runplan_execute(&p, j, &ops, &st), -1);
	deadline = 5000 + 100 + 3 + 300 + 60;
	f.now += 50;
	f.calls[0] = '\0';
	assert_int_equal(runplan_execute(&p, j, &ops, &st), 0);
	assert_string_equal(f.calls, "sleep,postsync");
	assert_true(f.slept_until == deadline);
	journal_close(&j);
}

/* A process that died inside a step leaves the step's intent as its last
 * entry.  A replayed sync (after a death or a failure) first lets the
 * servers finish the earlier attempt's commands (RUNPLAN_RESUME_SETTLE); a
 * replayed DNS step and a first attempt start at once. */
static void test_resume_after_death(void **state)
{
	static const struct {
		const char *died_in; /* journal name of the step left at intent */
		const char *expected;
		int settles;
	} cases[] = {
		{"last_sync", "sleep,lastsync,mx,visible_mx,sleep,postsync", 1},
		{"postsync", "sleep,postsync", 1},
		{"mx_change", "mx,visible_mx,sleep,postsync", 0},
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
		fake f = {.now = 7000, .visible_delay = 2, .old_ttl = 60};
		plan p = test_plan(PLAN_SCENARIO_CLASSICAL, 0);
		runplan_ops ops = fake_ops(&f);
		runplan_step steps[RUN_STEP_COUNT];
		size_t n = runplan_steps(&p, steps);
		journal *j = NULL;
		cut_status st;
		char cmd[160];

		assert_int_equal(journal_open(dir, &j, &st), 0);
		f.j = j;
		/* What the dead process journaled: every step before died_in
		 * done (mx_visible for mx_wait), died_in at intent. */
		for (size_t i = 0; i < n; i++) {
			const char *name = runplan_step_name(steps[i]);
			if (strcmp(name, cases[k].died_in) == 0) {
				assert_int_equal(journal_record(j, name, "intent", NULL, &st), 0);
				break;
			}
			assert_int_equal(journal_record(j, name, "intent", NULL, &st), 0);
			assert_int_equal(journal_record(j, name, "done", NULL, &st), 0);
		}
		if (strcmp(cases[k].died_in, "postsync") == 0)
			assert_int_equal(journal_fact_set(j, "mx_visible",
							  "{\"visible_at\": 6000, \"old_ttl\": 60}",
							  &st), 0);
		assert_int_equal(runplan_execute(&p, j, &ops, &st), 0);
		assert_string_equal(f.calls, cases[k].expected);
		if (cases[k].settles) {
			/* The settle sleep is the first call, from the resume's now. */
			char *first_sleep = strstr(f.calls, "sleep");
			assert_true(first_sleep == f.calls);
		}
		journal_close(&j);
		snprintf(cmd, sizeof(cmd), "rm -f %s/cutover.db*", dir);
		assert_int_equal(system(cmd), 0);
	}

	/* The settle deadline is RUNPLAN_RESUME_SETTLE after the resume began. */
	{
		fake f = {.now = 9000, .visible_delay = 2, .old_ttl = 60};
		plan p = test_plan(PLAN_SCENARIO_CLASSICAL, 0);
		runplan_ops ops = fake_ops(&f);
		journal *j = NULL;
		cut_status st;

		assert_int_equal(journal_open(dir, &j, &st), 0);
		f.j = j;
		assert_int_equal(journal_record(j, "cut_access", "done", NULL, &st), 0);
		assert_int_equal(journal_record(j, "last_sync", "intent", NULL, &st), 0);
		f.fail_at = "lastsync"; /* stop right after the settle */
		assert_int_equal(runplan_execute(&p, j, &ops, &st), -1);
		assert_string_equal(f.calls, "sleep,lastsync");
		assert_true(f.slept_until == 9000 + RUNPLAN_RESUME_SETTLE);
		/* A failed attempt may have left commands in flight too. */
		f.calls[0] = '\0';
		f.slept_until = 0;
		assert_int_equal(runplan_execute(&p, j, &ops, &st), 0);
		assert_string_equal(f.calls, "sleep,lastsync,mx,visible_mx,sleep,postsync");
		journal_close(&j);
	}
}

static void test_last_sync_failures(void **state)
{
	fake f = {.now = 1000, .failed_accounts = 1};
	plan p = test_plan(PLAN_SCENARIO_CLASSICAL, 0);
	runplan_ops ops = fake_ops(&f);
	journal *j = NULL;
	cut_status st;
	runplan_step cur;

	(void)state;
	assert_int_equal(journal_open(dir, &j, &st), 0);
	f.j = j;
	assert_int_equal(runplan_execute(&p, j, &ops, &st), -1);
	assert_non_null(strstr(st.msg, "1 of 3 accounts failed"));
	assert_string_equal(f.calls, "cut,lastsync");
	assert_int_equal(runplan_current(&p, j, &cur, &st), 0);
	assert_int_equal(cur, RUN_STEP_LAST_SYNC);
	/* on_failure = continue goes on (after the replay's settle). */
	p.on_failure = PLAN_ON_FAILURE_CONTINUE;
	f.calls[0] = '\0';
	assert_int_equal(runplan_execute(&p, j, &ops, &st), 0);
	assert_string_equal(f.calls, "sleep,lastsync,mx,visible_mx,sleep,postsync");
	journal_close(&j);
}

static void test_timeline(void **state)
{
	runplan_timeline_entry e[RUN_STEP_COUNT];
	plan p = test_plan(PLAN_SCENARIO_CLASSICAL, 0);
	size_t n;

	(void)state;
	n = runplan_timeline(&p, 1000, 600, 30, 5, 300, 0, e);
	assert_int_equal(n, 6);
	assert_int_equal(e[1].step, RUN_STEP_LAST_SYNC);
	assert_true(e[1].start == 1000 && e[1].end == 1600);
	assert_int_equal(e[3].step, RUN_STEP_MX_WAIT);
	assert_true(e[3].end == 1600 + 5 + 300 + 60);
	assert_int_equal(e[4].step, RUN_STEP_POSTSYNC);
	assert_true(e[4].end == e[3].end + 30);
}

static void test_rollback_resets(void **state)
{
	fake f = {.now = 1000, .fail_at = "mx"};
	plan p = test_plan(PLAN_SCENARIO_CLASSICAL, 0);
	runplan_ops ops = fake_ops(&f);
	journal *j = NULL;
	cut_status st;
	runplan_step cur;

	(void)state;
	assert_int_equal(journal_open(dir, &j, &st), 0);
	f.j = j;
	assert_int_equal(runplan_execute(&p, j, &ops, &st), -1);
	assert_int_equal(runplan_current(&p, j, &cur, &st), 0);
	assert_int_equal(cur, RUN_STEP_MX_CHANGE);
	f.now += 10;
	assert_int_equal(runplan_reset(j, &st), 0);
	assert_int_equal(runplan_current(&p, j, &cur, &st), 0);
	assert_int_equal(cur, RUN_STEP_START);
	/* A later run starts over: cut access and the last sync again. */
	f.calls[0] = '\0';
	assert_int_equal(runplan_execute(&p, j, &ops, &st), 0);
	assert_string_equal(f.calls, "cut,lastsync,mx,visible_mx,sleep,postsync");
	journal_close(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_postsync_window),
		cmocka_unit_test(test_timeline),
		cmocka_unit_test_setup_teardown(test_classical_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_every_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_resumes_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_death, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_sync_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_resets, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
