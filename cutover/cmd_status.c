/*
 * cmd_status.c: `cutover status PLAN [--json]`: where the cutover stands:
 * the phase, each step's times and outcome, the current deadline with a
 * countdown, the delete2 lockout, and the per-account results of the last
 * sync and the last postsync.  Reads the state database only; changes
 * nothing.
 */
#include <getopt.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/timeutil.h"
#include "cutover/commands.h"
#include "cutover/journal.h"
#include "cutover/plan.h"
#include "cutover/runplan.h"

typedef struct status_step {
	double first_intent, last_time;
	char *phase, *error;
} status_step;

typedef struct status_ctx {
	status_step steps[RUN_STEP_COUNT];
} status_ctx;

static int status_collect(void *vctx, int64_t id, double time,
			  const char *step, const char *phase,
			  const char *detail)
{
	status_ctx *ctx = vctx;
	runplan_step s = runplan_step_parse(step);
	status_step *ss;

	(void)id;
	if (s == RUN_STEP_COUNT)
		return 0;
	ss = &ctx->steps[s];
	if (strcmp(phase, "intent") == 0 && ss->first_intent == 0)
		ss->first_intent = time;
	ss->last_time = time;
	free(ss->phase);
	ss->phase = strdup(phase);
	free(ss->error);
	ss->error = NULL;
	if (strcmp(phase, "failed") == 0 && detail != NULL) {
		json_t *o = json_loads(detail, 0, NULL);
		const char *e = json_string_value(json_object_get(o, "error"));
		ss->error = e ? strdup(e) : NULL;
		json_decref(o);
	}
	return 0;
}

static json_t *status_fact(journal *j, const char *key)
{
	char *text = NULL;
	double t = 0;
	json_t *o = NULL;

	if (journal_fact_get(j, key, &text, &t, NULL) == 0 && text != NULL) {
		o = json_loads(text, 0, NULL);
		if (o != NULL && json_is_object(o))
			json_object_set_new(o, "recorded",
					    json_real(t));
	}
	free(text);
	return o;
}

/* The accounts of the latest run of a kind, as a JSON object. */
static json_t *status_last_run(journal *j, const char *kind)
{
	sqlite3 *db = journal_db(j);
	sqlite3_stmt *stmt = NULL;
	json_t *run = NULL, *accounts;
	int64_t id;

	if (sqlite3_prepare_v2(db,
			       "SELECT id, start, end, status FROM runs WHERE "
			       "kind = ? ORDER BY id DESC LIMIT 1",
			       -1, &stmt, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return NULL;
	}
	id = sqlite3_column_int64(stmt, 0);
	run = json_pack("{s:s, s:f}", "kind", kind, "start",
			sqlite3_column_double(stmt, 1));
	if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
		json_object_set_new(run, "end",
				    json_real(sqlite3_column_double(stmt, 2)));
	if (sqlite3_column_type(stmt, 3) != SQLITE_NULL)
		json_object_set_new(run, "status",
				    json_string((const char *)sqlite3_column_text(stmt, 3)));
	sqlite3_finalize(stmt);
	accounts = json_array();
	if (sqlite3_prepare_v2(db,
			       "SELECT csv_line, user1, user2, end - start, copied, "
			       "copied_bytes, in_sync, deleted1, deleted2, failed, "
			       "status, error FROM run_accounts WHERE run_id = ? "
			       "ORDER BY csv_line",
			       -1, &stmt, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(stmt, 1, id);
		while (sqlite3_step(stmt) == SQLITE_ROW) {
			json_t *a = json_pack(
				"{s:i, s:s?, s:s?, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:s?}",
				"csv_line", sqlite3_column_int(stmt, 0), "user1",
				(const char *)sqlite3_column_text(stmt, 1), "user2",
				(const char *)sqlite3_column_text(stmt, 2), "duration",
				sqlite3_column_double(stmt, 3), "copied",
				(json_int_t)sqlite3_column_int64(stmt, 4),
				"copied_bytes", (json_int_t)sqlite3_column_int64(stmt, 5),
				"in_sync", (json_int_t)sqlite3_column_int64(stmt, 6),
				"deleted1", (json_int_t)sqlite3_column_int64(stmt, 7),
				"deleted2", (json_int_t)sqlite3_column_int64(stmt, 8),
				"failed", (json_int_t)sqlite3_column_int64(stmt, 9),
				"status", (const char *)sqlite3_column_text(stmt, 10));
			if (a != NULL && sqlite3_column_type(stmt, 11) != SQLITE_NULL)
				json_object_set_new(a, "error",
						    json_string((const char *)sqlite3_column_text(stmt, 11)));
			if (a != NULL)
				json_array_append_new(accounts, a);
		}
		sqlite3_finalize(stmt);
	}
	json_object_set_new(run, "accounts", accounts);
	return run;
}

static void status_print_time(const char *label, double t)
{
	char buf[40];

	cut_time_format_rfc3339(t, buf, sizeof(buf));
	printf("%s%s", label, buf);
}

static void status_print_run(json_t *run)
{
	size_t i;
	json_t *a;
	const char *kind = json_string_value(json_object_get(run, "kind"));

	printf("\nlast %s run: ", kind);
	status_print_time("", json_number_value(json_object_get(run, "start")));
	printf(" (%s)\n", json_object_get(run, "status")
				  ? json_string_value(json_object_get(run, "status"))
				  : "unfinished");
	json_array_foreach(json_object_get(run, "accounts"), i, a)
	{
		const char *err = json_string_value(json_object_get(a, "error"));
		printf("  line %lld %s: %s, %lld copied, %lld deleted on host1, "
		       "%lld deleted on host2%s%s\n",
		       (long long)json_integer_value(json_object_get(a, "csv_line")),
		       json_string_value(json_object_get(a, "user1")),
		       json_string_value(json_object_get(a, "status")),
		       (long long)json_integer_value(json_object_get(a, "copied")),
		       (long long)json_integer_value(json_object_get(a, "deleted1")),
		       (long long)json_integer_value(json_object_get(a, "deleted2")),
		       err ? ": " : "", err ? err : "");
	}
}

int cmd_status(const cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	const cli_command *cmd = cli_find_command("status");
	cut_buf errors = CUT_BUF_INIT;
	status_ctx ctx;
	plan *p = NULL;
	journal *j = NULL;
	cut_status st;
	runplan_step steps[RUN_STEP_COUNT], cur = RUN_STEP_START;
	size_t n;
	json_t *out = NULL, *jsteps, *deadline_fact = NULL;
	double now = cut_now();
	struct stat sb;
	int c, rc = CUT_EXIT_FAILED;

	memset(&ctx, 0, sizeof(ctx));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		return cli_usage_error(cmd, "unknown option");
	if (argc - optind != 1)
		return cli_usage_error(cmd, "expected one PLAN argument");
	if (plan_load(argv[optind], &p, &errors) < 0) {
		fputs(errors.data ? errors.data : "", stderr);
		rc = CUT_EXIT_USAGE;
		goto done;
	}
	if (stat(p->state_dir, &sb) < 0) {
		if (g->json)
			printf("{\"phase\":\"start\",\"state_dir\":\"%s\"}\n",
			       p->state_dir);
		else
			printf("nothing has run yet for this plan (no state "
			       "directory %s)\n", p->state_dir);
		rc = CUT_EXIT_OK;
		goto done;
	}
	if (journal_open(p->state_dir, &j, &st) < 0 ||
	    journal_foreach(j, status_collect, &ctx, &st) < 0 ||
	    runplan_current(p, j, &cur, &st) < 0) {
		fprintf(stderr, "cutover: %s\n", st.msg);
		goto done;
	}
	n = runplan_steps(p, steps);
	out = json_pack("{s:s, s:s, s:s}", "plan", p->path, "scenario",
			p->scenario == PLAN_SCENARIO_LUCKY ? "lucky" : "classical",
			"phase", runplan_step_name(cur));
	jsteps = json_array();
	for (size_t i = 0; i < n; i++) {
		status_step *ss = &ctx.steps[steps[i]];
		json_t *o = json_pack("{s:s, s:s, s:s}", "step",
				      runplan_step_name(steps[i]), "title",
				      runplan_step_title(steps[i]), "state",
				      ss->phase ? ss->phase : "pending");
		if (ss->first_intent > 0)
			json_object_set_new(o, "started", json_real(ss->first_intent));
		if (ss->last_time > 0)
			json_object_set_new(o, "updated", json_real(ss->last_time));
		if (ss->error != NULL)
			json_object_set_new(o, "error", json_string(ss->error));
		json_array_append_new(jsteps, o);
	}
	json_object_set_new(out, "steps", jsteps);
	{
		static const char *facts[] = {"ttl_lowered", "mx_visible",
					      "imap_park_visible", "last_sync_started",
					      JOURNAL_FACT_USERS_ON_HOST2};
		json_t *jf = json_object();
		for (size_t i = 0; i < sizeof(facts) / sizeof(*facts); i++) {
			json_t *f = status_fact(j, facts[i]);
			if (f != NULL)
				json_object_set_new(jf, facts[i], f);
		}
		json_object_set_new(out, "facts", jf);
		if (cur == RUN_STEP_MX_WAIT)
			deadline_fact = json_object_get(jf, "mx_visible");
		else if (cur == RUN_STEP_IMAP_PARK_WAIT)
			deadline_fact = json_object_get(jf, "imap_park_visible");
	}
	if (deadline_fact != NULL) {
		double d = json_number_value(json_object_get(deadline_fact, "deadline"));
		json_object_set_new(out, "deadline", json_real(d));
		json_object_set_new(out, "countdown", json_real(d - now));
	}
	{
		json_t *runs = json_object();
		static const char *kinds[] = {"presync", "lastsync", "postsync"};
		for (size_t i = 0; i < 3; i++) {
			json_t *r = status_last_run(j, kinds[i]);
			if (r != NULL)
				json_object_set_new(runs, kinds[i], r);
		}
		json_object_set_new(out, "runs", runs);
	}

	if (g->json) {
		char *text = json_dumps(out, JSON_INDENT(2));
		puts(text ? text : "{}");
		free(text);
	} else {
		json_t *runs = json_object_get(out, "runs");
		json_t *lock = json_object_get(json_object_get(out, "facts"),
					       JOURNAL_FACT_USERS_ON_HOST2);
		printf("plan: %s (%s scenario)\nphase: %s: %s\n", p->path,
		       p->scenario == PLAN_SCENARIO_LUCKY ? "lucky" : "classical",
		       runplan_step_name(cur), runplan_step_title(cur));
		for (size_t i = 0; i < n; i++) {
			status_step *ss = &ctx.steps[steps[i]];
			printf("  %-15s %-8s", runplan_step_name(steps[i]),
			       ss->phase ? ss->phase : "pending");
			if (ss->first_intent > 0)
				status_print_time(" started ", ss->first_intent);
			if (ss->last_time > 0 && ss->phase &&
			    strcmp(ss->phase, "intent") != 0)
				status_print_time(", ended ", ss->last_time);
			if (ss->error)
				printf("\n                  error: %s", ss->error);
			putchar('\n');
		}
		if (deadline_fact != NULL) {
			double d = json_number_value(json_object_get(deadline_fact, "deadline"));
			char left[32];
			cut_duration_format(d - now, left, sizeof(left));
			status_print_time("current deadline: ", d);
			printf(" (%s)\n", d > now ? left : "passed");
		}
		if (lock != NULL)
			printf("delete on host2 is locked out: %s\n",
			       json_string_value(json_object_get(lock, "reason")));
		if (json_object_get(runs, "lastsync"))
			status_print_run(json_object_get(runs, "lastsync"));
		if (json_object_get(runs, "postsync"))
			status_print_run(json_object_get(runs, "postsync"));
	}
	rc = CUT_EXIT_OK;
done:
	for (int i = 0; i < RUN_STEP_COUNT; i++) {
		free(ctx.steps[i].phase);
		free(ctx.steps[i].error);
	}
	json_decref(out);
	journal_close(&j);
	plan_free(&p);
	cut_buf_free(&errors);
	return rc;
}
