/*
 * cmd_dns.c: `cutover dns show|mx|imap PLAN [ARG]` (through dnsops) and
 * `cutover dns wait PLAN mx old|new | imap old|new|parking` (through
 * watch_wait_visible, the wait the orchestration uses after a change).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "cutover/cli.h"
#include "cutover/commands.h"
#include "cutover/dnsops.h"
#include "cutover/watch.h"

static int wait_target(const char *what, const char *which,
		       watch_target *t_r)
{
	static const struct {
		const char *what, *which;
		watch_target t;
	} map[] = {
		{"mx", "new", WATCH_MX_NEW},
		{"mx", "old", WATCH_MX_OLD},
		{"imap", "new", WATCH_IMAP_NEW},
		{"imap", "old", WATCH_IMAP_OLD},
		{"imap", "parking", WATCH_IMAP_PARKING},
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].what, what) == 0 &&
		    strcmp(map[i].which, which) == 0) {
			*t_r = map[i].t;
			return 0;
		}
	return -1;
}

/* dns wait PLAN mx|imap WHICH [--timeout DURATION] */
static int dns_wait(const cli_globals *g, const cli_command *cmd, int argc,
		    char **argv)
{
	cut_buf errors = CUT_BUF_INIT;
	plan *p = NULL;
	journal *j = NULL;
	watch_target t;
	double timeout = 0, visible_at = 0, old_ttl = 0, drained;
	double started = cut_now();
	char since[40], until[40], left[40];
	const char *since_from, *old_from;
	watch_sighting sg;
	cut_status st;
	int i, rc = CUT_EXIT_FAILED, journaled;

	if (argc < 5 || wait_target(argv[3], argv[4], &t) < 0)
		return cli_usage_error(cmd, "usage: dns wait PLAN mx old|new | "
					    "imap old|new|parking [--timeout "
					    "DURATION]");
	for (i = 5; i < argc; i++) {
		const char *v = NULL;

		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			v = argv[++i];
		else if (strncmp(argv[i], "--timeout=", 10) == 0)
			v = argv[i] + 10;
		if (v == NULL || cut_duration_parse(v, &timeout) < 0)
			return cli_usage_error(cmd, "dns wait: --timeout needs "
						    "a duration (examples: "
						    "90s, 10m, 2h)");
	}
	cut_status_clear(&st);
	if (plan_load(argv[2], &p, &errors) < 0) {
		fputs(errors.data != NULL ? errors.data : "plan error\n", stderr);
		rc = CUT_EXIT_USAGE;
		goto done;
	}
	if (journal_open(p->state_dir, &j, &st) < 0) {
		cut_error("%s", st.msg);
		goto done;
	}
	if (watch_wait_visible(p, j, t, timeout, &visible_at, &old_ttl,
			       &st) < 0) {
		cut_error("dns wait: %s", st.msg);
		rc = st.kind == CUT_TEMP ? CUT_EXIT_NOT_READY : CUT_EXIT_FAILED;
		if (g->json) {
			json_t *o = json_pack("{s:s, s:b, s:s, s:f}", "target",
					      watch_target_name(t), "visible",
					      0, "error", st.msg, "timeout",
					      timeout);

			json_dumpf(o, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
			json_decref(o);
		}
		goto done;
	}
	/* Where "since" and the old TTL come from: the sighting watch_check
	 * journaled (this call's or an earlier one's). */
	journaled = watch_change_sighting(j, t, &sg, &st);
	if (journaled < 0) {
		cut_warn("dns wait: %s", st.msg);
		journaled = 0;
	}
	journaled = journaled && fabs(sg.time - visible_at) < 1e-3;
	since_from = !journaled ? "first seen by this check; not journaled"
		     : sg.time < started
			     ? "first seen by an earlier check, journaled"
			     : "first seen by this check, journaled";
	if (journaled && (uint32_t)old_ttl == sg.old_ttl)
		old_from = sg.old_ttl_from;
	else if (journaled && sg.neg_ttl > 0 && (uint32_t)old_ttl == sg.neg_ttl)
		old_from = "negative TTL: the name/type had no data before "
			   "(RFC 2308 5)";
	else
		old_from = "the largest seen during this wait (a lagging "
			   "server or a watched resolver)";
	/* Old data may live in caches for its TTL after the change became
	 * visible everywhere (RFC 2308 5 for negative answers). */
	drained = visible_at + old_ttl + p->margin;
	cut_time_format_rfc3339(visible_at, since, sizeof(since));
	cut_time_format_rfc3339(drained, until, sizeof(until));
	cut_duration_format(drained > cut_now() ? drained - cut_now() : 0, left,
			    sizeof(left));
	if (g->json) {
		json_t *o = json_pack("{s:s, s:b, s:f, s:s, s:s, s:b, s:I, s:s, "
				      "s:f, s:f, s:s}",
				      "target", watch_target_name(t), "visible",
				      1, "visible_since", visible_at,
				      "visible_since_text", since,
				      "visible_since_from", since_from,
				      "journaled", journaled, "old_ttl",
				      (json_int_t)old_ttl, "old_ttl_from",
				      old_from, "margin", p->margin,
				      "caches_drained_at", drained,
				      "caches_drained_at_text", until);

		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else if (!g->quiet) {
		printf("%s: visible on every authoritative address since %s "
		       "(%s)\n"
		       "caches may hold the previous data until %s (old TTL "
		       "%.0f s + margin %.0f s; %s from now)\n"
		       "old TTL from: %s\n",
		       watch_target_name(t), since, since_from, until, old_ttl,
		       p->margin, left, old_from);
	}
	rc = CUT_EXIT_OK;
done:
	journal_close(&j);
	plan_free(&p);
	cut_buf_free(&errors);
	return rc;
}

int cmd_dns(const cli_globals *g, int argc, char **argv)
{
	const cli_command *cmd = cli_find_command("dns");

	if (argc < 3)
		return cli_usage_error(cmd, "expected show, mx, imap or wait and a "
					    "PLAN");
	if (strcmp(argv[1], "wait") == 0)
		return dns_wait(g, cmd, argc, argv);
	if (strcmp(argv[1], "show") == 0) {
		if (argc != 3)
			return cli_usage_error(cmd, "dns show takes one PLAN argument");
		return dnsops_cli_run(g, "dns show", argv[2], NULL, NULL, 0);
	}
	if (strcmp(argv[1], "mx") == 0) {
		if (argc != 4 ||
		    (strcmp(argv[3], "old") != 0 && strcmp(argv[3], "new") != 0))
			return cli_usage_error(cmd, "usage: dns mx PLAN old|new");
		return dnsops_cli_run(g, "dns mx", argv[2], argv[3],
				      dnsops_set_mx, 0);
	}
	if (strcmp(argv[1], "imap") == 0) {
		if (argc != 4 || (strcmp(argv[3], "old") != 0 &&
				  strcmp(argv[3], "new") != 0 &&
				  strcmp(argv[3], "parking") != 0))
			return cli_usage_error(cmd,
					       "usage: dns imap PLAN old|new|parking");
		return dnsops_cli_run(g, "dns imap", argv[2], argv[3],
				      dnsops_set_imap, 0);
	}
	return cli_usage_error(cmd, "unknown dns subcommand \"%s\"", argv[1]);
}
