/*
 * cmd_rollback.c: `cutover rollback PLAN [--force]`.
 *
 * Before the MX change, a rollback is harmless: users never worked on
 * host2 and no mail was delivered there, so DNS goes back (the MX to
 * [mx] old, in the lucky scenario the IMAP name to [imap] old) and
 * [hooks] restore_access gives users host1 back.  After the MX change was
 * sent, mail may be on host2 only: a rollback would strand it, so it is
 * refused (exit 4) unless --force.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "cutover/commands.h"
#include "cutover/dnsops.h"
#include "cutover/hooks.h"
#include "cutover/journal.h"
#include "cutover/plan.h"
#include "cutover/runplan.h"

static int rollback_dns(const plan *p, journal *j, int dry_run,
			int (*op)(const plan *, journal *, const char *,
				  const dnsops_opts *, dnsops_result *,
				  cut_status *),
			const char *what)
{
	cut_buf out = CUT_BUF_INIT;
	dnsops_opts o = {.dry_run = dry_run, .out = &out, .json = NULL};
	dnsops_result res = DNSOPS_FAILED;
	cut_status st;
	int ret;

	cut_status_clear(&st);
	ret = op(p, j, "old", &o, &res, &st);
	if (out.data != NULL)
		fputs(out.data, stdout);
	cut_buf_free(&out);
	if (ret < 0 || res == DNSOPS_REFUSED) {
		fprintf(stderr, "cutover: rollback of %s: %s\n", what,
			st.msg[0] ? st.msg : "refused (see above)");
		return -1;
	}
	return 0;
}

int cmd_rollback(const cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
					     {NULL, 0, NULL, 0}};
	const cli_command *cmd = cli_find_command("rollback");
	cut_buf errors = CUT_BUF_INIT;
	plan *p = NULL;
	journal *j = NULL;
	cut_status st;
	char *phase = NULL;
	int c, force = 0, rc = CUT_EXIT_FAILED, lr = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f')
			force = 1;
		else
			return cli_usage_error(cmd, "unknown option");
	}
	if (argc - optind != 1)
		return cli_usage_error(cmd, "expected one PLAN argument");
	if (plan_load(argv[optind], &p, &errors) < 0) {
		fputs(errors.data ? errors.data : "", stderr);
		rc = CUT_EXIT_USAGE;
		goto done;
	}
	if (journal_open(p->state_dir, &j, &st) < 0 ||
	    (!g->dry_run && (lr = journal_lock(j, &st)) < 0) ||
	    journal_last(j, "mx_change", &phase, NULL, NULL, &st) < 0) {
		fprintf(stderr, "cutover: %s\n", st.msg);
		if (lr == JOURNAL_LOCK_HELD)
			rc = CUT_EXIT_REFUSED;
		goto done;
	}
	if (phase != NULL && !force) {
		fprintf(stderr,
			"cutover: refusing to roll back: the MX change was %s, so "
			"mail may already have been delivered to host2 and users "
			"may work there; moving DNS back would strand that mail. "
			"Finish the cutover (`cutover run %s`), or if you really "
			"must go back, copy host2's new mail to host1 first and "
			"use --force\n",
			strcmp(phase, "done") == 0 ? "made" : "started", p->path);
		rc = CUT_EXIT_REFUSED;
		goto done;
	}
	if (phase != NULL)
		cut_warn("--force: rolling back after the MX change; mail "
			 "delivered to host2 since then stays there only");
	if (p->mode == PLAN_DNS_MANUAL) {
		printf("[dns] mode = manual: put the MX of %s back to [mx] old%s "
		       "yourself\n", p->mx_name,
		       p->scenario == PLAN_SCENARIO_LUCKY
			       ? " and the IMAP name back to [imap] old"
			       : "");
	} else {
		if (rollback_dns(p, j, g->dry_run, dnsops_set_mx, "the MX") < 0)
			goto done;
		if (p->scenario == PLAN_SCENARIO_LUCKY &&
		    rollback_dns(p, j, g->dry_run, dnsops_set_imap,
				 "the IMAP name") < 0)
			goto done;
	}
	if (g->dry_run) {
		if (p->restore_access != NULL)
			printf("dry run: would run [hooks] restore_access: %s\n",
			       p->restore_access);
	} else {
		if (hooks_run_command(p, "restore_access", p->restore_access,
				      &st) < 0) {
			fprintf(stderr, "cutover: %s\n", st.msg);
			goto done;
		}
		if (runplan_reset(j, &st) < 0) {
			fprintf(stderr, "cutover: %s\n", st.msg);
			goto done;
		}
	}
	printf("rolled back: DNS points at host1 again%s\n",
	       p->restore_access ? " and [hooks] restore_access ran" : "");
	rc = CUT_EXIT_OK;
done:
	free(phase);
	journal_close(&j);
	plan_free(&p);
	cut_buf_free(&errors);
	return rc;
}
