/*
 * test_campaign.c: the account pool with a fake runner: parallelism,
 * retries of temporary failures with backoff, final failures, one
 * account's failure not stopping the others, history rows, endpoints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/str.h"
#include "cutover/campaign.h"

#define N_ACC 20

/* How the fake behaves for one account (by CSV line). */
typedef struct fake_acc {
	unsigned temp_failures;  /* fail with CUT_TEMP this many times */
	unsigned retry_after_ms; /* with this suggested backoff */
	int final;               /* fail with CUT_FINAL every time */
	unsigned calls;
} fake_acc;

typedef struct fake {
	pthread_mutex_t mu;
	fake_acc acc[N_ACC + 2];
	int running, max_running;
	double sleeps[16];
	unsigned n_sleeps;
} fake;

static int fake_run(void *ctx, const campaign_job *job, campaign_counts *c,
		    cut_status *st)
{
	fake *f = ctx;
	fake_acc *a = &f->acc[job->acc->line];
	campaign_counts sofar;
	int fail_temp, fail_final;

	pthread_mutex_lock(&f->mu);
	a->calls++;
	f->running++;
	if (f->running > f->max_running)
		f->max_running = f->running;
	fail_temp = a->temp_failures > 0;
	if (fail_temp)
		a->temp_failures--;
	fail_final = a->final;
	pthread_mutex_unlock(&f->mu);

	assert_int_equal(job->mode, CAMPAIGN_PRESYNC);
	memset(&sofar, 0, sizeof(sofar));
	sofar.copied = 1;
	sofar.copied_bytes = 100;
	campaign_progress(job, &sofar);
	usleep(20000); /* long enough for the workers to overlap */

	pthread_mutex_lock(&f->mu);
	f->running--;
	pthread_mutex_unlock(&f->mu);
	if (fail_final)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_ACCOUNT,
				      "host1: authentication failed for %s",
				      job->acc->user1);
	c->copied = 1;
	c->copied_bytes = 100;
	if (fail_temp) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
			       "host2: connection lost");
		st->retry_after_ms = a->retry_after_ms;
		return -1;
	}
	c->copied = 2;
	c->copied_bytes = 200;
	c->in_sync = 5;
	c->deleted2 = 1;
	return 0;
}

static int fake_sleep(void *ctx, double secs)
{
	fake *f = ctx;

	pthread_mutex_lock(&f->mu);
	if (f->n_sleeps < 16)
		f->sleeps[f->n_sleeps++] = secs;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static account accs[N_ACC];
static char users[N_ACC][16];
static char dir[64];

static int setup(void **state)
{
	(void)state;
	memset(accs, 0, sizeof(accs));
	for (unsigned i = 0; i < N_ACC; i++) {
		snprintf(users[i], sizeof(users[i]), "user%02u", i + 1);
		accs[i].line = i + 1;
		accs[i].user1 = accs[i].user2 = users[i];
		cut_strlcpy(accs[i].host1.host, "host1.example",
			    sizeof(accs[i].host1.host));
		accs[i].host1.port = 143;
		cut_strlcpy(accs[i].host2.host, "host2.example",
			    sizeof(accs[i].host2.host));
		accs[i].host2.port = 993;
	}
	snprintf(dir, sizeof(dir), "/tmp/cutover-campaign-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void fake_opts(campaign_opts *o, fake *f)
{
	campaign_opts_init(o);
	o->run = fake_run;
	o->run_ctx = f;
	o->sleep = fake_sleep;
	o->sleep_ctx = f;
	o->jobs = 4;
}

static void test_all_in_sync_in_parallel(void **state)
{
	fake f;
	campaign_opts o;
	campaign_result *r = NULL;
	cut_status st;

	(void)state;
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.mu, NULL);
	fake_opts(&o, &f);
	assert_int_equal(campaign_run(&o, accs, N_ACC, &r, &st), 0);
	assert_int_equal(r->n, N_ACC);
	assert_int_equal(r->n_ok, N_ACC);
	assert_int_equal(r->n_failed, 0);
	assert_int_equal(r->total.copied, 2 * N_ACC);
	assert_int_equal(r->total.copied_bytes, 200 * N_ACC);
	assert_int_equal(r->total.in_sync, 5 * N_ACC);
	assert_true(f.max_running > 1);
	assert_true(f.max_running <= 4);
	for (unsigned i = 0; i < N_ACC; i++) {
		assert_int_equal(r->acc[i].attempts, 1);
		assert_int_equal(r->acc[i].csv_line, i + 1);
		assert_true(r->acc[i].end >= r->acc[i].start);
	}
	assert_int_equal(f.n_sleeps, 0);
	campaign_result_free(&r);
	assert_null(r);
	pthread_mutex_destroy(&f.mu);
}

static void test_temporary_retried_with_backoff(void **state)
{
	fake f;
	campaign_opts o;
	campaign_result *r = NULL;
	cut_status st;

	(void)state;
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.mu, NULL);
	f.acc[3].temp_failures = 2; /* CSV line 3 recovers on attempt 3 */
	fake_opts(&o, &f);
	o.jobs = 1;
	assert_int_equal(campaign_run(&o, accs, 5, &r, &st), 0);
	assert_int_equal(r->n_ok, 5);
	assert_int_equal(r->acc[2].attempts, 3);
	assert_int_equal(f.acc[3].calls, 3);
	/* Each failed attempt's copies still count: 1 + 1 + 2. */
	assert_int_equal(r->acc[2].counts.copied, 4);
	assert_int_equal(r->acc[2].counts.in_sync, 5);
	assert_int_equal(f.n_sleeps, 2);
	assert_true(f.sleeps[0] == 2);
	assert_true(f.sleeps[1] == 4);
	campaign_result_free(&r);
	pthread_mutex_destroy(&f.mu);
}

static void test_throttling_backoff_honoured(void **state)
{
	fake f;
	campaign_opts o;
	campaign_result *r = NULL;
	cut_status st;

	(void)state;
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.mu, NULL);
	f.acc[1].temp_failures = 1;
	f.acc[1].retry_after_ms = 90000; /* beyond backoff_max: still honoured */
	fake_opts(&o, &f);
	assert_int_equal(campaign_run(&o, accs, 1, &r, &st), 0);
	assert_int_equal(r->n_ok, 1);
	assert_int_equal(f.n_sleeps, 1);
	assert_true(f.sleeps[0] == 90);
	campaign_result_free(&r);
	pthread_mutex_destroy(&f.mu);
}

static void test_bounded_retries_and_final(void **state)
{
	fake f;
	campaign_opts o;
	campaign_result *r = NULL;
	cut_status st;
	cut_buf out = CUT_BUF_INIT;
	json_t *doc;

	(void)state;
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.mu, NULL);
	f.acc[2].temp_failures = 100; /* never recovers */
	f.acc[7].final = 1;           /* wrong password */
	fake_opts(&o, &f);
	o.max_retries = 3;
	o.backoff_initial = 1;
	o.backoff_max = 3;
	assert_int_equal(campaign_run(&o, accs, N_ACC, &r, &st), 0);
	assert_int_equal(r->n_ok, N_ACC - 2);
	assert_int_equal(r->n_failed, 2);
	assert_int_equal(r->acc[1].attempts, 4);
	assert_int_equal(r->acc[1].status.kind, CUT_TEMP);
	assert_int_equal(r->acc[6].attempts, 1); /* final: not retried */
	assert_int_equal(f.acc[7].calls, 1);
	assert_int_equal(r->acc[6].status.kind, CUT_FINAL);
	/* 1, 2, then capped at 3 */
	assert_int_equal(f.n_sleeps, 3);
	assert_true(f.sleeps[0] == 1);
	assert_true(f.sleeps[1] == 2);
	assert_true(f.sleeps[2] == 3);

	assert_int_equal(campaign_result_format(r, &out), 0);
	assert_non_null(strstr(out.data, "CSV line 2, user02: host2: "
					 "connection lost"));
	assert_non_null(strstr(out.data, "CSV line 7, user07: host1: "
					 "authentication failed for user07"));
	assert_non_null(strstr(out.data, "18 in sync, 2 failed"));

	doc = campaign_result_json(r);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "accounts")),
			 N_ACC);
	assert_int_equal(json_integer_value(json_object_get(doc, "failed")), 2);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(doc, "accounts"), 6),
			"status")),
		"failed");
	json_decref(doc);
	cut_buf_free(&out);
	campaign_result_free(&r);
	pthread_mutex_destroy(&f.mu);
}

static void test_history_recorded(void **state)
{
	fake f;
	campaign_opts o;
	campaign_result *r = NULL;
	cut_status st;
	journal *j = NULL;
	double *d = NULL;
	unsigned n = 0;
	sqlite3_stmt *stmt = NULL;

	(void)state;
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.mu, NULL);
	f.acc[4].final = 1;
	assert_int_equal(journal_open(dir, &j, &st), 0);
	fake_opts(&o, &f);
	o.journal = j;
	assert_int_equal(campaign_run(&o, accs, 6, &r, &st), 0);
	assert_true(r->run_id > 0);
	assert_int_equal(journal_run_durations(j, "presync", 5, &d, &n, &st), 0);
	assert_int_equal(n, 1);
	free(d);
	assert_int_equal(
		sqlite3_prepare_v2(journal_db(j),
				   "SELECT count(*), sum(copied), "
				   "sum(status = 'failed'), "
				   "max(CASE WHEN status = 'failed' THEN csv_line END) "
				   "FROM run_accounts WHERE run_id = ?",
				   -1, &stmt, NULL),
		SQLITE_OK);
	sqlite3_bind_int64(stmt, 1, r->run_id);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(stmt, 0), 6);
	assert_int_equal(sqlite3_column_int(stmt, 1), 10);
	assert_int_equal(sqlite3_column_int(stmt, 2), 1);
	assert_int_equal(sqlite3_column_int(stmt, 3), 4);
	sqlite3_finalize(stmt);
	assert_int_equal(
		sqlite3_prepare_v2(journal_db(j),
				   "SELECT status FROM runs WHERE id = ?", -1,
				   &stmt, NULL),
		SQLITE_OK);
	sqlite3_bind_int64(stmt, 1, r->run_id);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0),
			    "failed");
	sqlite3_finalize(stmt);
	campaign_result_free(&r);

	/* A dry run records nothing. */
	o.dry_run = 1;
	f.acc[4].final = 0;
	assert_int_equal(campaign_run(&o, accs, 6, &r, &st), 0);
	assert_int_equal(r->run_id, 0);
	assert_int_equal(journal_run_durations(j, "presync", 5, &d, &n, &st), 0);
	assert_int_equal(n, 1);
	free(d);
	campaign_result_free(&r);
	journal_close(&j);
	pthread_mutex_destroy(&f.mu);
}

static void test_no_accounts(void **state)
{
	fake f;
	campaign_opts o;
	campaign_result *r = NULL;
	cut_status st;

	(void)state;
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.mu, NULL);
	fake_opts(&o, &f);
	assert_int_equal(campaign_run(&o, accs, 0, &r, &st), 0);
	assert_int_equal(r->n, 0);
	assert_int_equal(r->n_failed, 0);
	campaign_result_free(&r);
	pthread_mutex_destroy(&f.mu);
}

static void test_endpoints(void **state)
{
	plan p;
	char *old[] = {"192.0.2.11", "192.0.2.99"};
	char *new[] = {"2001:db8::12"};
	campaign_endpoint e1, e2;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.tls1 = PLAN_TLS_STARTTLS;
	p.tls2 = PLAN_TLS_IMAPS;
	campaign_endpoints(&p, &accs[0], &e1, &e2);
	assert_string_equal(e1.host, "host1.example");
	assert_string_equal(e1.tls_name, "host1.example");
	assert_int_equal(e1.port, 143);
	assert_int_equal(e1.tls, PLAN_TLS_STARTTLS);
	assert_string_equal(e2.host, "host2.example");
	assert_int_equal(e2.tls, PLAN_TLS_IMAPS);

	/* Lucky: by address, certificate checked against [imap] name. */
	p.scenario = PLAN_SCENARIO_LUCKY;
	p.imap_name = "imap.example.com.";
	p.imap_old.addr = old;
	p.imap_old.n = 2;
	p.imap_new.addr = new;
	p.imap_new.n = 1;
	campaign_endpoints(&p, &accs[0], &e1, &e2);
	assert_string_equal(e1.host, "192.0.2.11");
	assert_int_equal(e1.port, 143);
	assert_string_equal(e1.tls_name, "imap.example.com");
	assert_string_equal(e2.host, "2001:db8::12");
	assert_int_equal(e2.port, 993);
	assert_string_equal(e2.tls_name, "imap.example.com");
}

static void test_modes(void **state)
{
	(void)state;
	assert_true(campaign_mode_deletes2(CAMPAIGN_PRESYNC));
	assert_true(campaign_mode_deletes2(CAMPAIGN_LASTSYNC));
	assert_false(campaign_mode_deletes2(CAMPAIGN_PRESYNC_NO_DELETE2));
	assert_false(campaign_mode_deletes2(CAMPAIGN_POSTSYNC));
	assert_string_equal(campaign_mode_kind(CAMPAIGN_PRESYNC_NO_DELETE2),
			    "presync");
	assert_string_equal(campaign_mode_kind(CAMPAIGN_POSTSYNC), "postsync");
}

static int cancel_run(void *ctx, const campaign_job *job, campaign_counts *c,
		      cut_status *st)
{
	(void)ctx;
	(void)c;
	if (job->acc->line == 3) {
		cut_cancel_request(); /* SIGINT while line 3 syncs */
		return cut_status_set(st, CUT_CANCELLED, CUT_SCOPE_ACCOUNT,
				      "cancelled");
	}
	return 0;
}

static void test_lockout_refuses_delete2(void **state)
{
	fake f;
	campaign_opts o;
	campaign_result *r = NULL;
	cut_status st;
	journal *j = NULL;

	(void)state;
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.mu, NULL);
	assert_int_equal(journal_open(dir, &j, &st), 0);
	assert_int_equal(journal_fact_set(j, JOURNAL_FACT_USERS_ON_HOST2,
					  "{\"reason\":\"test\"}", &st),
			 0);
	fake_opts(&o, &f);
	o.journal = j;
	assert_int_equal(campaign_run(&o, accs, 3, &r, &st), -1);
	assert_non_null(strstr(st.msg, "users may work on host2"));
	assert_int_equal(f.acc[1].calls, 0);
	campaign_result_free(&r);
	assert_int_equal(journal_fact_del(j, JOURNAL_FACT_USERS_ON_HOST2, &st),
			 0);
	journal_close(&j);
	pthread_mutex_destroy(&f.mu);
}

/* Last: the cancellation flag is process-wide and cannot be reset. */
static void test_cancel_stops_new_accounts(void **state)
{
	campaign_opts o;
	campaign_result *r = NULL;
	cut_status st;
	journal *j = NULL;
	double *d = NULL;
	unsigned n = 0, before = 0;

	(void)state;
	assert_int_equal(journal_open(dir, &j, &st), 0);
	assert_int_equal(journal_run_durations(j, "presync", 50, &d, &before,
					       &st),
			 0);
	free(d);
	campaign_opts_init(&o);
	o.run = cancel_run;
	o.jobs = 1;
	o.journal = j;
	assert_int_equal(campaign_run(&o, accs, 6, &r, &st), 0);
	assert_true(r->cancelled);
	assert_int_equal(r->n_ok, 2);
	assert_int_equal(r->n_failed, 1);
	assert_int_equal(r->acc[2].status.kind, CUT_CANCELLED);
	assert_int_equal(r->acc[2].attempts, 1); /* not retried */
	assert_int_equal(r->n_skipped, 3);
	assert_int_equal(r->acc[5].attempts, 0);
	/* No end: not a complete run, estimate ignores it. */
	assert_int_equal(journal_run_durations(j, "presync", 50, &d, &n, &st),
			 0);
	assert_int_equal(n, before);
	free(d);
	campaign_result_free(&r);
	journal_close(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_in_sync_in_parallel),
		cmocka_unit_test(test_temporary_retried_with_backoff),
		cmocka_unit_test(test_throttling_backoff_honoured),
		cmocka_unit_test(test_bounded_retries_and_final),
		cmocka_unit_test(test_history_recorded),
		cmocka_unit_test(test_no_accounts),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_lockout_refuses_delete2),
		cmocka_unit_test(test_cancel_stops_new_accounts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
