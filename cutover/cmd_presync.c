/*
 * cmd_presync.c: `cutover presync PLAN [--no-delete2]
 * [--mark-users-on-host2]`: every account of the plan's CSV through the
 * sync engine (cutover/campaign.h), and the delete2 lockout.
 *
 * The lockout: once the journal holds JOURNAL_FACT_USERS_ON_HOST2 (the MX
 * change was sent, or an admin ran --mark-users-on-host2), users may have
 * put mail on host2 that host1 never had; an exact sync would delete it.
 * From then on presync refuses its exact mode (exit 4) and only
 * --no-delete2 (copy only) runs.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "cutover/campaign.h"
#include "cutover/commands.h"
#include "cutover/journal.h"
#include "cutover/plan.h"

/* Prints the refusal: when and why the lockout was set. */
static void presync_explain_lockout(const char *fact_json, double when)
{
	json_t *o = json_loads(fact_json, 0, NULL);
	const char *reason = json_string_value(json_object_get(o, "reason"));
	char t[40];

	cut_time_format_rfc3339(when, t, sizeof(t));
	fprintf(stderr,
		"cutover: presync refused: users may be working on host2 since "
		"%s (%s).\n"
		"An exact sync would delete on host2 the messages host1 does "
		"not have,\nincluding mail users put there.  Run `cutover "
		"presync PLAN --no-delete2`\nfor a copy-only sync (nothing is "
		"deleted anywhere).\n",
		t, reason != NULL ? reason : "reason not recorded");
	json_decref(o);
}

static int presync_mark(journal *j, int json)
{
	json_t *o = NULL;
	char *text = NULL;
	cut_status st;
	int ret = CUT_EXIT_FAILED;

	o = json_pack("{s:s, s:f}", "reason",
		      "marked by `cutover presync --mark-users-on-host2`",
		      "time", cut_now());
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text == NULL) {
		fputs("cutover: out of memory\n", stderr);
		goto done;
	}
	if (journal_fact_set(j, JOURNAL_FACT_USERS_ON_HOST2, text, &st) < 0) {
		fprintf(stderr, "cutover: %s\n", st.msg);
		goto done;
	}
	if (!json)
		cut_info("recorded that users work on host2: from now on "
			 "presync only runs with --no-delete2 (copy only)");
	ret = CUT_EXIT_OK;
done:
	free(text);
	json_decref(o);
	return ret;
}

int cmd_presync(const cli_globals *g, int argc, char **argv)
{
	const cli_command *self = cli_find_command("presync");
	const char *plan_path = NULL;
	int no_delete2 = 0, mark = 0, ret = CUT_EXIT_FAILED, lr;
	plan *p = NULL;
	account *accs = NULL;
	size_t n_accs = 0;
	journal *j = NULL;
	campaign_result *res = NULL;
	cut_buf errors = CUT_BUF_INIT, out = CUT_BUF_INIT;
	char *fact = NULL;
	double fact_time = 0;
	cut_status st;
	campaign_mode mode;

	cut_status_clear(&st);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-delete2") == 0)
			no_delete2 = 1;
		else if (strcmp(argv[i], "--mark-users-on-host2") == 0)
			mark = 1;
		else if (strcmp(argv[i], "--") == 0)
			continue;
		else if (argv[i][0] == '-')
			return cli_usage_error(self, "unknown option %s", argv[i]);
		else if (plan_path == NULL)
			plan_path = argv[i];
		else
			return cli_usage_error(self, "unexpected argument %s",
					       argv[i]);
	}
	if (plan_path == NULL)
		return cli_usage_error(self, "the plan file is missing");
	mode = no_delete2 ? CAMPAIGN_PRESYNC_NO_DELETE2 : CAMPAIGN_PRESYNC;

	if (plan_load(plan_path, &p, &errors) < 0) {
		fputs(errors.data != NULL ? errors.data : "plan error\n", stderr);
		ret = CUT_EXIT_USAGE;
		goto done;
	}
	if (accounts_load(p->accounts, plan_tls_default_port(p->tls1),
			  plan_tls_default_port(p->tls2), &accs, &n_accs,
			  &errors) < 0) {
		fputs(errors.data != NULL ? errors.data : "accounts error\n",
		      stderr);
		ret = CUT_EXIT_USAGE;
		goto done;
	}
	if (journal_open(p->state_dir, &j, &st) < 0) {
		fprintf(stderr, "cutover: %s\n", st.msg);
		goto done;
	}
	/* A dry run changes nothing and may run beside a real run. */
	if (!g->dry_run && (lr = journal_lock(j, &st)) < 0) {
		fprintf(stderr, "cutover: %s\n", st.msg);
		ret = lr == JOURNAL_LOCK_HELD ? CUT_EXIT_REFUSED : CUT_EXIT_FAILED;
		goto done;
	}
	if (mark) {
		if (g->dry_run) {
			cut_info("dry run: would record that users work on "
				 "host2");
		} else if ((ret = presync_mark(j, g->json)) != CUT_EXIT_OK) {
			goto done;
		}
		/* Marking alone is a complete command; with --no-delete2 a
		 * copy-only sync follows. */
		if (!no_delete2) {
			if (g->json)
				puts("{\"users_on_host2\": true}");
			ret = CUT_EXIT_OK;
			goto done;
		}
	}
	if (campaign_mode_deletes2(mode)) {
		if (journal_fact_get(j, JOURNAL_FACT_USERS_ON_HOST2, &fact,
				     &fact_time, &st) < 0) {
			fprintf(stderr, "cutover: %s\n", st.msg);
			goto done;
		}
		if (fact != NULL) {
			presync_explain_lockout(fact, fact_time);
			ret = CUT_EXIT_REFUSED;
			goto done;
		}
	}

	if (campaign_run_plan(p, accs, n_accs, g->dry_run ? NULL : j, mode, 0,
			      g->dry_run, g->json, &res, &st) < 0) {
		fprintf(stderr, "cutover: %s\n", st.msg);
		goto done;
	}
	if (g->json) {
		json_t *doc = campaign_result_json(res);
		if (doc == NULL ||
		    json_dumpf(doc, stdout, JSON_INDENT(2)) < 0) {
			json_decref(doc);
			fputs("cutover: out of memory\n", stderr);
			goto done;
		}
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		if (campaign_result_format(res, &out) < 0) {
			fputs("cutover: out of memory\n", stderr);
			goto done;
		}
		fputs(out.data, stdout);
		if (res->n_failed > 0)
			fputs("Fix the failures above and run presync again: "
			      "accounts already in sync copy nothing.\n",
			      stdout);
	}
	if (res->cancelled)
		cut_warn("presync cancelled; running it again is safe and "
			 "continues where it stopped");
	ret = res->n_failed == 0 && !res->cancelled ? CUT_EXIT_OK
						    : CUT_EXIT_FAILED;
done:
	fflush(stdout);
	free(fact);
	campaign_result_free(&res);
	journal_close(&j);
	accounts_free(&accs, n_accs);
	plan_free(&p);
	cut_buf_free(&errors);
	cut_buf_free(&out);
	return ret;
}
