/*
 * cmd_run.c: `cutover run PLAN [--at TIME]`: the whole cutover at the
 * migration hour, and `cutover postsync PLAN`, the postsync alone.
 *
 * `run` checks that the TTL lowering is ready by the migration hour
 * (exit 3 with the earliest possible time otherwise), warns when there is
 * no presync history or the estimate does not fit the window, waits for
 * the hour with a countdown, then drives the state machine (runplan.h)
 * with operations bound to the DNS steps (dnsops.h), the propagation
 * watch (watch.h), the sync campaign (campaign.h) and the hooks (hooks.h).
 * An interrupted run resumes where the journal says it stopped.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "cutover/campaign.h"
#include "cutover/commands.h"
#include "cutover/countdown.h"
#include "cutover/dnsops.h"
#include "cutover/estimate.h"
#include "cutover/hooks.h"
#include "cutover/journal.h"
#include "cutover/plan.h"
#include "cutover/runplan.h"
#include "cutover/watch.h"

typedef struct run_ctx {
	const plan *p;
	journal *j;
	account *accs;
	size_t n_accs;
} run_ctx;

static double run_now(void *ctx)
{
	(void)ctx;
	return cut_now();
}

static int run_sleep_until(void *ctx, double deadline, const char *what,
			   cut_status *st)
{
	(void)ctx;
	return countdown_sleep_until(deadline, what, st);
}

static int run_cut_access(void *vctx, cut_status *st)
{
	run_ctx *ctx = vctx;

	if (ctx->p->cut_access == NULL) {
		cut_info("no [hooks] cut_access set: cutting users off host1 is "
			 "up to you%s",
			 ctx->p->scenario == PLAN_SCENARIO_LUCKY &&
					 ctx->p->imap_parking.n > 0
				 ? " (the IMAP name moves to parking next)"
				 : "");
		return 0;
	}
	return hooks_run_command(ctx->p, "cut_access", ctx->p->cut_access, st);
}

static watch_target run_imap_target(const char *which)
{
	if (strcmp(which, "parking") == 0)
		return WATCH_IMAP_PARKING;
	if (strcmp(which, "old") == 0)
		return WATCH_IMAP_OLD;
	return WATCH_IMAP_NEW;
}

/* Manual mode: say what to change, then wait until it is served. */
static int run_manual_change(run_ctx *ctx, const char *what, const char *text,
			     watch_target target, cut_status *st)
{
	double visible_at = 0, old_ttl = 0;

	cut_warn("[dns] mode = manual: change %s now: %s; cutover waits until "
		 "every authoritative server serves it",
		 what, text);
	return watch_wait_visible(ctx->p, ctx->j, target, 0, &visible_at,
				  &old_ttl, st);
}

static int run_dns_result(int ret, dnsops_result res, cut_buf *out,
			  cut_status *st)
{
	if (out->data != NULL && out->len > 0)
		cut_info("%.*s", (int)(out->len - (out->data[out->len - 1] == '\n')),
			 out->data);
	if (ret < 0)
		return -1;
	if (res == DNSOPS_REFUSED)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
				      "DNS change refused for safety (see above)");
	return 0;
}

static int run_dns_mx(void *vctx, const char *which, cut_status *st)
{
	run_ctx *ctx = vctx;
	cut_buf out = CUT_BUF_INIT;
	dnsops_opts o = {.dry_run = 0, .out = &out, .json = NULL};
	dnsops_result res = DNSOPS_FAILED;
	int ret;

	if (ctx->p->mode == PLAN_DNS_MANUAL) {
		char text[1024], name[CUT_HOST_MAX + 40];
		int is_new = strcmp(which, "new") == 0;

		plan_mx_format(is_new ? ctx->p->mx_new : ctx->p->mx_old,
			       is_new ? ctx->p->n_mx_new : ctx->p->n_mx_old, text,
			       sizeof(text));
		snprintf(name, sizeof(name), "the MX of %s", ctx->p->mx_name);
		return run_manual_change(ctx, name, text,
					 is_new ? WATCH_MX_NEW : WATCH_MX_OLD, st);
	}
	ret = dnsops_set_mx(ctx->p, ctx->j, which, &o, &res, st);
	ret = run_dns_result(ret, res, &out, st);
	cut_buf_free(&out);
	return ret;
}

static int run_dns_imap(void *vctx, const char *which, cut_status *st)
{
	run_ctx *ctx = vctx;
	cut_buf out = CUT_BUF_INIT;
	dnsops_opts o = {.dry_run = 0, .out = &out, .json = NULL};
	dnsops_result res = DNSOPS_FAILED;
	int ret;

	if (ctx->p->mode == PLAN_DNS_MANUAL) {
		const plan_addrs *a = strcmp(which, "parking") == 0
					      ? &ctx->p->imap_parking
				      : strcmp(which, "old") == 0 ? &ctx->p->imap_old
								  : &ctx->p->imap_new;
		char text[1024] = "", name[CUT_HOST_MAX + 40];
		size_t used = 0;

		for (size_t i = 0; i < a->n && used < sizeof(text); i++)
			used += (size_t)snprintf(text + used, sizeof(text) - used,
						 "%s%s", i ? ", " : "", a->addr[i]);
		snprintf(name, sizeof(name), "the A/AAAA of %s", ctx->p->imap_name);
		return run_manual_change(ctx, name, text, run_imap_target(which), st);
	}
	ret = dnsops_set_imap(ctx->p, ctx->j, which, &o, &res, st);
	ret = run_dns_result(ret, res, &out, st);
	cut_buf_free(&out);
	return ret;
}

static int run_wait_visible(void *vctx, runplan_change what,
			    double *visible_at_r, double *old_ttl_r,
			    cut_status *st)
{
	run_ctx *ctx = vctx;
	watch_target t = what == RUN_CHANGE_MX            ? WATCH_MX_NEW
			 : what == RUN_CHANGE_IMAP_PARKING ? WATCH_IMAP_PARKING
							   : WATCH_IMAP_NEW;

	return watch_wait_visible(ctx->p, ctx->j, t, 0, visible_at_r,
				  old_ttl_r, st);
}

static int run_sync_all(void *vctx, runplan_sync_kind kind, double since,
			runplan_sync_summary *sum_r, cut_status *st)
{
	run_ctx *ctx = vctx;
	campaign_result *res = NULL;
	cut_buf out = CUT_BUF_INIT;
	int ret = -1;

	memset(sum_r, 0, sizeof(*sum_r));
	if (kind == RUN_SYNC_POST) {
		char when[40];
		cut_time_format_rfc3339(since, when, sizeof(when));
		cut_info("postsync: INBOX messages that arrived on host1 since "
			 "%s move to host2", when);
	}
	if (campaign_run_plan(ctx->p, ctx->accs, ctx->n_accs, ctx->j,
			      kind == RUN_SYNC_LAST ? CAMPAIGN_LASTSYNC
						    : CAMPAIGN_POSTSYNC,
			      since, 0, 0, &res, st) < 0)
		goto done;
	if (campaign_result_format(res, &out) == 0 && out.data != NULL)
		fputs(out.data, stdout);
	fflush(stdout);
	if (res->cancelled) {
		cut_status_set(st, CUT_CANCELLED, CUT_SCOPE_LOCAL,
			       "interrupted during the %s; run again to resume",
			       kind == RUN_SYNC_LAST ? "last sync" : "postsync");
		goto done;
	}
	sum_r->accounts = (unsigned)res->n;
	sum_r->failed_accounts = (unsigned)(res->n_failed + res->n_skipped);
	sum_r->copied = res->total.copied;
	sum_r->copied_bytes = res->total.copied_bytes;
	sum_r->deleted1 = res->total.deleted1;
	sum_r->deleted2 = res->total.deleted2;
	ret = 0;
done:
	campaign_result_free(&res);
	cut_buf_free(&out);
	return ret;
}

static void run_notify(void *vctx, const char *json)
{
	run_ctx *ctx = vctx;

	if (ctx->p->notify != NULL)
		hooks_notify(ctx->p->notify, json);
}

static runplan_ops run_ops(run_ctx *ctx)
{
	runplan_ops ops = {
		.ctx = ctx,
		.now = run_now,
		.sleep_until = run_sleep_until,
		.cut_access = run_cut_access,
		.dns_imap = run_dns_imap,
		.dns_mx = run_dns_mx,
		.wait_visible = run_wait_visible,
		.sync_all = run_sync_all,
		.notify = run_notify,
	};
	return ops;
}

/* Loads the plan and the accounts; prints errors. @return exit code. */
static int run_load(const char *path, plan **p_r, account **accs_r,
		    size_t *n_r)
{
	cut_buf errors = CUT_BUF_INIT;
	int rc = CUT_EXIT_OK;

	if (plan_load(path, p_r, &errors) < 0 ||
	    accounts_load((*p_r)->accounts, plan_tls_default_port((*p_r)->tls1),
			  plan_tls_default_port((*p_r)->tls2), accs_r, n_r,
			  &errors) < 0) {
		fputs(errors.data ? errors.data : "cutover: cannot load the plan\n",
		      stderr);
		rc = CUT_EXIT_USAGE;
	}
	cut_buf_free(&errors);
	return rc;
}

/*
 * The TTL lowering must be ready by the migration hour: the old, long
 * TTL must have run out everywhere before the MX changes.
 * @return 0 ready by then (*ready_at_r), 3 not, 1 on error.
 */
static int run_check_ttl(const plan *p, journal *j, double at,
			 double *ready_at_r)
{
	watch_result *res = NULL;
	cut_status st;
	char when[40], at_text[40], lag[512];
	int rc = CUT_EXIT_FAILED;

	*ready_at_r = 0;
	if (watch_check(p, j, WATCH_LOWERED, cut_now(), &res, &st) < 0) {
		fprintf(stderr, "cutover: cannot check the TTL lowering: %s\n",
			st.msg);
		return CUT_EXIT_FAILED;
	}
	cut_time_format_rfc3339(at, at_text, sizeof(at_text));
	if (!res->verdict.has_ready_at) {
		watch_lagging_text(res, lag, sizeof(lag));
		fprintf(stderr,
			"cutover: refusing to run: the low TTL is not served by "
			"every authoritative server yet (%s%s%s), so caches may "
			"hold the MX with its long TTL at %s; run `cutover ttl "
			"lower` days before and check `cutover ttl status`\n",
			dns_ready_reason_name(res->verdict.reason),
			lag[0] ? ": " : "", lag, at_text);
		rc = CUT_EXIT_NOT_READY;
		goto done;
	}
	*ready_at_r = res->verdict.ready_at;
	cut_time_format_rfc3339(res->verdict.ready_at, when, sizeof(when));
	if (res->verdict.ready_at > at) {
		fprintf(stderr,
			"cutover: refusing to run at %s: caches may hold the MX "
			"with its old TTL (%u s) until %s; the earliest possible "
			"migration hour is %s (use --at or [migration] at)\n",
			at_text, res->old_ttl, when, when);
		rc = CUT_EXIT_NOT_READY;
		goto done;
	}
	cut_info("TTL lowering ready since %s (old TTL %u s, from %s)", when,
		 res->old_ttl, res->old_ttl_from ? res->old_ttl_from : "?");
	rc = CUT_EXIT_OK;
done:
	watch_result_free(&res);
	return rc;
}

static void run_estimate(const plan *p, journal *j, estimate *e)
{
	double *d = NULL;
	unsigned n = 0;
	cut_status st;

	memset(e, 0, sizeof(*e));
	if (journal_run_durations(j, "presync", ESTIMATE_RUNS_MAX, &d, &n, &st) < 0)
		cut_warn("cannot read the presync history: %s", st.msg);
	estimate_compute(d, n, p->has_window, p->window, e);
	free(d);
	if (e->n_used == 0) {
		cut_warn("no presync history: the last sync's duration is "
			 "unknown; run `cutover presync` before the migration "
			 "hour");
	} else if (e->verdict == ESTIMATE_DOES_NOT_FIT ||
		   e->verdict == ESTIMATE_TIGHT) {
		char a[32], b[32];
		cut_duration_format(e->predicted, a, sizeof(a));
		cut_duration_format(e->window, b, sizeof(b));
		cut_warn("the last sync is estimated at %s, %s the %s window "
			 "([migration] window)",
			 a, e->verdict == ESTIMATE_TIGHT ? "tight for" : "longer than",
			 b);
	}
}

static void run_print_timeline(const plan *p, double at, const estimate *e,
			       int json)
{
	runplan_timeline_entry t[RUN_STEP_COUNT];
	double mx_ttl = p->low_ttl, imap_ttl = p->low_ttl;
	size_t n = runplan_timeline(p, at, e->n_used ? e->predicted : 0,
				    e->n_used ? e->predicted / 10 : 0, 5,
				    mx_ttl, imap_ttl, t);
	json_t *doc = json_array();

	if (!json)
		printf("dry run: the cutover timeline (nothing is changed)\n");
	for (size_t i = 0; i < n; i++) {
		char s[40], en[40];
		cut_time_format_rfc3339(t[i].start, s, sizeof(s));
		cut_time_format_rfc3339(t[i].end, en, sizeof(en));
		if (json) {
			json_array_append_new(
				doc, json_pack("{s:s, s:s, s:f, s:f, s:s}", "step",
					       runplan_step_name(t[i].step), "title",
					       runplan_step_title(t[i].step), "start",
					       t[i].start, "end", t[i].end, "note",
					       t[i].note));
		} else {
			printf("  %s  %-15s %s%s%s%s%s\n", s,
			       runplan_step_name(t[i].step),
			       runplan_step_title(t[i].step),
			       t[i].end > t[i].start ? " (until " : "",
			       t[i].end > t[i].start ? en : "",
			       t[i].end > t[i].start ? ")" : "",
			       t[i].note[0] ? "" : "");
			if (t[i].note[0])
				printf("  %20s  %-15s   %s\n", "", "", t[i].note);
		}
	}
	if (json) {
		char *text = json_dumps(doc, JSON_INDENT(2));
		printf("{\"dry_run\": true, \"timeline\": %s}\n", text ? text : "[]");
		free(text);
	} else if (e->n_used == 0) {
		printf("(no presync history: the last sync's duration is shown "
		       "as 0)\n");
	}
	json_decref(doc);
}

int cmd_run(const cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"at", required_argument, NULL, 'a'},
					     {NULL, 0, NULL, 0}};
	const cli_command *cmd = cli_find_command("run");
	const char *at_text = NULL;
	plan *p = NULL;
	account *accs = NULL;
	size_t n_accs = 0;
	journal *j = NULL;
	cut_status st;
	runplan_step cur = RUN_STEP_START;
	double at = 0, ready_at = 0;
	estimate est;
	run_ctx ctx;
	runplan_ops ops;
	int c, rc = CUT_EXIT_FAILED, lr;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'a')
			at_text = optarg;
		else
			return cli_usage_error(cmd, "unknown option");
	}
	if (argc - optind != 1)
		return cli_usage_error(cmd, "expected one PLAN argument");
	if (at_text != NULL && cut_time_parse_rfc3339(at_text, &at) < 0)
		return cli_usage_error(cmd, "--at %s: not an RFC 3339 time "
					    "(e.g. 2026-12-01T22:00:00+01:00)",
				       at_text);
	if ((rc = run_load(argv[optind], &p, &accs, &n_accs)) != CUT_EXIT_OK)
		goto done;
	rc = CUT_EXIT_FAILED;
	if (at_text == NULL && p->has_at)
		at = p->at;
	if (journal_open(p->state_dir, &j, &st) < 0 ||
	    runplan_current(p, j, &cur, &st) < 0) {
		fprintf(stderr, "cutover: %s\n", st.msg);
		goto done;
	}
	ctx.p = p;
	ctx.j = j;
	ctx.accs = accs;
	ctx.n_accs = n_accs;
	ops = run_ops(&ctx);
	if (cur == RUN_STEP_DONE) {
		/* Every step is done; a run that died right after the last one
		 * has not journaled "done" (nor notified it) yet: do that. */
		if (!g->dry_run && (lr = journal_lock(j, &st)) < 0) {
			fprintf(stderr, "cutover: %s\n", st.msg);
			rc = lr == JOURNAL_LOCK_HELD ? CUT_EXIT_REFUSED : CUT_EXIT_FAILED;
			goto done;
		}
		if (!g->dry_run && runplan_execute(p, j, &ops, &st) < 0) {
			fprintf(stderr, "cutover: %s\n", st.msg);
			goto done;
		}
		printf("the cutover of this plan is already done; see `cutover "
		       "status`, and run `cutover postsync` for stragglers\n");
		rc = CUT_EXIT_OK;
		goto done;
	}
	if (cur == RUN_STEP_START && at == 0) {
		rc = cli_usage_error(cmd, "no migration hour: set [migration] at "
					  "in the plan or give --at TIME");
		goto done;
	}
	if (!g->dry_run && (lr = journal_lock(j, &st)) < 0) {
		fprintf(stderr, "cutover: %s\n", st.msg);
		rc = lr == JOURNAL_LOCK_HELD ? CUT_EXIT_REFUSED : CUT_EXIT_FAILED;
		goto done;
	}
	if (cur == RUN_STEP_START) {
		run_estimate(p, j, &est);
		rc = run_check_ttl(p, j, at, &ready_at);
		if (rc != CUT_EXIT_OK && !(g->dry_run && rc == CUT_EXIT_NOT_READY))
			goto done;
		if (g->dry_run) {
			run_print_timeline(p, at > cut_now() ? at : cut_now(), &est,
					   g->json);
			goto done;
		}
		rc = CUT_EXIT_FAILED;
		if (at > cut_now() &&
		    countdown_sleep_until(at, "the migration hour", &st) < 0) {
			fprintf(stderr, "cutover: %s; nothing was changed\n", st.msg);
			goto done;
		}
	} else {
		if (g->dry_run) {
			printf("dry run: an interrupted cutover would resume at "
			       "step %s (%s)\n",
			       runplan_step_name(cur), runplan_step_title(cur));
			rc = CUT_EXIT_OK;
			goto done;
		}
		cut_info("resuming the cutover at step %s (%s)",
			 runplan_step_name(cur), runplan_step_title(cur));
	}

	if (runplan_execute(p, j, &ops, &st) < 0) {
		runplan_current(p, j, &cur, NULL);
		fprintf(stderr, "cutover: step %s failed: %s\n",
			runplan_step_name(cur), st.msg);
		if (cur == RUN_STEP_CUT_ACCESS)
			fprintf(stderr, "cutover: nothing was changed; fix the "
				"hook and run again\n");
		else
			fprintf(stderr, "cutover: run `cutover run %s` again to "
				"resume at this step\n", p->path);
		rc = st.kind == CUT_CANCELLED ? CUT_EXIT_FAILED : CUT_EXIT_FAILED;
		goto done;
	}
	printf("cutover done.\nNext steps:\n"
	       "  - run `cutover postsync %s` daily for a week: SMTP senders "
	       "retry for days\n"
	       "  - when settled, `cutover ttl restore %s` puts the TTLs back\n",
	       p->path, p->path);
	rc = CUT_EXIT_OK;
done:
	journal_close(&j);
	accounts_free(&accs, n_accs);
	plan_free(&p);
	return rc;
}

int cmd_postsync(const cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	const cli_command *cmd = cli_find_command("postsync");
	plan *p = NULL;
	account *accs = NULL;
	size_t n_accs = 0;
	journal *j = NULL;
	campaign_result *res = NULL;
	cut_buf out = CUT_BUF_INIT;
	cut_status st;
	char *started = NULL;
	double last_start = 0, since;
	int lr = 0;
	int c, rc = CUT_EXIT_FAILED;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		return cli_usage_error(cmd, "unknown option");
	if (argc - optind != 1)
		return cli_usage_error(cmd, "expected one PLAN argument");
	if ((rc = run_load(argv[optind], &p, &accs, &n_accs)) != CUT_EXIT_OK)
		goto done;
	rc = CUT_EXIT_FAILED;
	if (journal_open(p->state_dir, &j, &st) < 0 ||
	    (!g->dry_run && (lr = journal_lock(j, &st)) < 0) ||
	    journal_fact_get(j, "last_sync_started", &started, NULL, &st) < 0) {
		fprintf(stderr, "cutover: %s\n", st.msg);
		if (lr == JOURNAL_LOCK_HELD)
			rc = CUT_EXIT_REFUSED;
		goto done;
	}
	if (started != NULL) {
		json_t *o = json_loads(started, 0, NULL);
		last_start = json_number_value(json_object_get(o, "time"));
		json_decref(o);
	}
	since = runplan_postsync_since(cut_now(), last_start, p->has_maxage,
				       p->maxage, p->margin);
	if (campaign_run_plan(p, accs, n_accs, g->dry_run ? NULL : j,
			      CAMPAIGN_POSTSYNC, since, g->dry_run, g->json, &res,
			      &st) < 0) {
		fprintf(stderr, "cutover: %s\n", st.msg);
		goto done;
	}
	if (g->json) {
		json_t *doc = campaign_result_json(res);
		char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
		puts(text ? text : "{}");
		free(text);
		json_decref(doc);
	} else if (campaign_result_format(res, &out) == 0 && out.data) {
		fputs(out.data, stdout);
	}
	rc = res->n_failed == 0 && !res->cancelled ? CUT_EXIT_OK : CUT_EXIT_FAILED;
done:
	free(started);
	cut_buf_free(&out);
	campaign_result_free(&res);
	journal_close(&j);
	accounts_free(&accs, n_accs);
	plan_free(&p);
	return rc;
}
