/*
 * cmd_check.c: `cutover check PLAN`, the preflight.
 *
 * The static part (this file today): the plan and the accounts CSV are read
 * and validated completely, every problem printed as FILE:LINE, exit 2 on
 * any.  On success a short summary (or, with --json, one JSON document) and
 * exit 0.
 *
 * The live part (DNS primary and TSIG key, served RRsets, IMAP logins) is a
 * list of functions, check_live[] below: each gets the loaded plan and
 * accounts and adds its result; any failure makes the exit status 1.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/hostport.h"
#include "common/timeutil.h"
#include "cutover/campaign.h"
#include "cutover/commands.h"
#include "cutover/dnsops.h"
#include "cutover/plan.h"

/*
 * One live check.  It reads the plan and the accounts (it owns neither),
 * appends one human line per problem to `report`, and returns 0 when the
 * check passed, -1 when it failed.
 */
typedef int (*check_live_fn)(const plan *p, const account *acc, size_t n_acc,
			     cut_buf *report);

/* DNS: the primary answers, the TSIG key is accepted (a no-op UPDATE
 * with only a prerequisite), the served MX (and, lucky scenario, A/AAAA)
 * are the plan's old or new. */
static int check_live_dns(const plan *p, const account *acc, size_t n_acc,
			  cut_buf *report)
{
	cut_status st;

	(void)acc;
	(void)n_acc;
	cut_status_clear(&st);
	return dnsops_check(p, report, &st);
}

/* IMAP: every account logs in on host1 and on host2, in parallel. */
static int check_live_logins(const plan *p, const account *acc, size_t n_acc,
			     cut_buf *report)
{
	return campaign_check_logins(p, acc, n_acc, report);
}

/* LIVE CHECKS, in the order they run. */
static const struct check_live {
	const char *name;
	check_live_fn fn;
} check_live[] = {
	{"dns", check_live_dns},
	{"imap logins", check_live_logins},
	{NULL, NULL},
};

static json_t *json_hostports(const cut_hostport *hp, size_t n)
{
	json_t *a = json_array();
	char buf[CUT_HOST_MAX + 16];

	for (size_t i = 0; i < n; i++) {
		cut_hostport_format(&hp[i], buf, sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static json_t *json_mx(const plan_mx *mx, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:i, s:s}", "pref",
						   (json_int_t)mx[i].pref,
						   "host", mx[i].host));
	return a;
}

static json_t *json_addrs(const plan_addrs *ad)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ad->n; i++)
		json_array_append_new(a, json_string(ad->addr[i]));
	return a;
}

/* "a\nb\n" as ["a", "b"]; NULL gives []. */
static json_t *json_lines(const char *text)
{
	json_t *a = json_array();
	const char *nl;

	while (text != NULL && (nl = strchr(text, '\n')) != NULL) {
		json_array_append_new(a,
				      json_stringn(text, (size_t)(nl - text)));
		text = nl + 1;
	}
	if (text != NULL && *text != '\0')
		json_array_append_new(a, json_string(text));
	return a;
}

static json_t *json_opt_string(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *json_time(int has, double t)
{
	char buf[64];

	if (!has)
		return json_null();
	cut_time_format_rfc3339(t, buf, sizeof(buf));
	return json_string(buf);
}

/* The plan as a JSON object (the shape is documented in docs/plan.md). */
static json_t *check_plan_json(const plan *p, size_t n_acc)
{
	char server[CUT_HOST_MAX + 16];
	json_t *o = json_object();

	json_object_set_new(o, "plan", json_string(p->path));
	json_object_set_new(
		o, "migration",
		json_pack("{s:s, s:o, s:s, s:f, s:o}", "scenario",
			  p->scenario == PLAN_SCENARIO_LUCKY ? "lucky"
							     : "classical",
			  "at", json_time(p->has_at, p->at), "state",
			  p->state_dir, "margin", p->margin, "window",
			  p->has_window ? json_real(p->window) : json_null()));
	if (p->has_server)
		cut_hostport_format(&p->server, server, sizeof(server));
	json_object_set_new(
		o, "dns",
		json_pack("{s:s, s:o, s:i, s:o, s:i, s:s, s:o, s:o}", "zone",
			  p->zone, "server",
			  p->has_server ? json_string(server) : json_null(),
			  "port", (json_int_t)p->port, "tsig_key",
			  json_opt_string(p->tsig_key), "low_ttl",
			  (json_int_t)p->low_ttl, "mode",
			  p->mode == PLAN_DNS_MANUAL ? "manual" : "rfc2136",
			  "nameservers",
			  json_hostports(p->nameservers, p->n_nameservers),
			  "resolvers",
			  json_hostports(p->resolvers, p->n_resolvers)));
	json_object_set_new(o, "mx",
			    json_pack("{s:s, s:o, s:o}", "name", p->mx_name,
				      "old", json_mx(p->mx_old, p->n_mx_old),
				      "new", json_mx(p->mx_new, p->n_mx_new)));
	if (p->scenario == PLAN_SCENARIO_LUCKY)
		json_object_set_new(
			o, "imap",
			json_pack("{s:o, s:o, s:o, s:o}", "name",
				  json_opt_string(p->imap_name), "old",
				  json_addrs(&p->imap_old), "new",
				  json_addrs(&p->imap_new), "parking",
				  json_addrs(&p->imap_parking)));
	json_object_set_new(
		o, "sync",
		json_pack("{s:s, s:i, s:i, s:s, s:s, s:o, s:o, s:s}",
			  "accounts", p->accounts, "accounts_count",
			  (json_int_t)n_acc, "jobs", (json_int_t)p->jobs,
			  "tls1", plan_tls_name(p->tls1), "tls2",
			  plan_tls_name(p->tls2), "ca_file",
			  json_opt_string(p->ca_file), "maxage",
			  p->has_maxage ? json_real(p->maxage) : json_null(),
			  "on_failure",
			  p->on_failure == PLAN_ON_FAILURE_CONTINUE ? "continue"
								    : "stop"));
	json_object_set_new(
		o, "hooks",
		json_pack("{s:o, s:o, s:o}", "cut_access",
			  json_opt_string(p->cut_access), "restore_access",
			  json_opt_string(p->restore_access), "notify",
			  json_opt_string(p->notify)));
	return o;
}

static void check_print_summary(const plan *p, size_t n_acc)
{
	char old[1024], new[1024], at[64], d[32];

	plan_mx_format(p->mx_old, p->n_mx_old, old, sizeof(old));
	plan_mx_format(p->mx_new, p->n_mx_new, new, sizeof(new));
	printf("plan %s: OK\n", p->path);
	printf("  scenario  %s\n",
	       p->scenario == PLAN_SCENARIO_LUCKY ? "lucky" : "classical");
	if (p->has_at) {
		cut_time_format_rfc3339(p->at, at, sizeof(at));
		printf("  at        %s\n", at);
	} else {
		printf("  at        (not set)\n");
	}
	printf("  zone      %s (updates: %s, low TTL %us)\n", p->zone,
	       p->mode == PLAN_DNS_MANUAL ? "manual" : "RFC 2136",
	       (unsigned)p->low_ttl);
	printf("  MX        %s  %s -> %s\n", p->mx_name, old, new);
	if (p->scenario == PLAN_SCENARIO_LUCKY) {
		printf("  IMAP      %s ", p->imap_name);
		for (size_t i = 0; i < p->imap_old.n; i++)
			printf("%s%s", i ? ", " : "", p->imap_old.addr[i]);
		printf(" -> ");
		for (size_t i = 0; i < p->imap_new.n; i++)
			printf("%s%s", i ? ", " : "", p->imap_new.addr[i]);
		printf("\n");
	}
	cut_duration_format(p->margin, d, sizeof(d));
	printf("  accounts  %zu (%s), %u jobs, host1 %s, host2 %s\n", n_acc,
	       p->accounts, p->jobs, plan_tls_name(p->tls1),
	       plan_tls_name(p->tls2));
	printf("  state     %s\n", p->state_dir);
	printf("  margin    %s\n", d);
}

int cmd_check(const cli_globals *g, int argc, char **argv)
{
	const cli_command *self = cli_find_command("check");
	cut_buf errors = CUT_BUF_INIT, report = CUT_BUF_INIT;
	plan *p = NULL;
	account *acc = NULL;
	size_t n_acc = 0;
	int rc = CUT_EXIT_USAGE, live_failed = 0;

	const char *path = NULL;
	int offline = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--offline") == 0) {
			offline = 1;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			rc = cli_usage_error(self, "unknown option `%s`", argv[i]);
			goto done;
		} else if (path != NULL) {
			rc = cli_usage_error(self, "check takes one PLAN file");
			goto done;
		} else {
			path = argv[i];
		}
	}
	if (path == NULL) {
		rc = cli_usage_error(self, "check needs a PLAN file");
		goto done;
	}
	if (plan_load(path, &p, &errors) == 0)
		accounts_load(p->accounts, plan_tls_default_port(p->tls1),
			      plan_tls_default_port(p->tls2), &acc, &n_acc,
			      &errors);
	if (errors.len > 0) {
		if (g->json) {
			json_t *o = json_object();
			json_object_set_new(o, "ok", json_false());
			json_object_set_new(o, "errors",
					    json_lines(errors.data));
			json_dumpf(o, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
			json_decref(o);
		}
		fputs(errors.data, stderr);
		rc = CUT_EXIT_USAGE;
		goto done;
	}

	for (const struct check_live *c = check_live; !offline && c->fn != NULL; c++)
		if (c->fn(p, acc, n_acc, &report) < 0)
			live_failed = 1;

	if (g->json) {
		json_t *o = check_plan_json(p, n_acc);
		json_object_set_new(o, "ok", json_boolean(!live_failed));
		json_object_set_new(o, "live", json_lines(report.data));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	} else {
		check_print_summary(p, n_acc);
		if (report.len > 0)
			fputs(report.data, stdout);
	}
	rc = live_failed ? CUT_EXIT_FAILED : CUT_EXIT_OK;
done:
	accounts_free(&acc, n_acc);
	plan_free(&p);
	cut_buf_free(&errors);
	cut_buf_free(&report);
	return rc;
}
