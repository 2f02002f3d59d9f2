/*
 * cmd_ttl_watch.c: `cutover ttl status PLAN` and `cutover ttl wait PLAN
 * [--timeout DURATION]`: what every authoritative address and watched
 * resolver serves, and whether the lowered TTL has been visible long
 * enough for the MX change (cutover/watch.h, docs/propagation.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "cutover/commands.h"
#include "cutover/countdown.h"
#include "cutover/journal.h"
#include "cutover/plan.h"
#include "cutover/watch.h"

#define TTL_WAIT_MIN_DELAY 1.0
#define TTL_WAIT_MAX_DELAY 30.0

static const cli_command *ttl_cmd(void)
{
	return cli_find_command("ttl");
}

/* argv: "ttl" "status" PLAN ... or "status" PLAN ...: the plan's index. */
static int ttl_args_start(int argc, char **argv, const char *sub)
{
	int i = 1;

	if (argc > 0 && strcmp(argv[0], sub) == 0)
		return 1;
	if (argc > 1 && strcmp(argv[1], sub) == 0)
		i = 2;
	return i;
}

static int ttl_open(const char *path, plan **p_r, journal **j_r)
{
	cut_buf errors = CUT_BUF_INIT;
	cut_status st;

	if (plan_load(path, p_r, &errors) < 0) {
		fputs(errors.data != NULL ? errors.data : "plan error\n",
		      stderr);
		cut_buf_free(&errors);
		return CUT_EXIT_USAGE;
	}
	cut_buf_free(&errors);
	if (journal_open((*p_r)->state_dir, j_r, &st) < 0) {
		cut_error("%s", st.msg);
		plan_free(p_r);
		return CUT_EXIT_FAILED;
	}
	return CUT_EXIT_OK;
}

static json_t *rr_json(const dns_prop_rrset *w, const dns_prop_rr *rr)
{
	char tb[16];
	json_t *o = json_object(), *d = json_array();
	size_t i;

	json_object_set_new(o, "name", json_string(w->name));
	json_object_set_new(o, "type",
			    json_string(dns_type_name(w->type, tb, sizeof(tb))));
	json_object_set_new(o, "state",
			    json_string(dns_prop_state_name(rr->state)));
	for (i = 0; i < rr->n_rdata; i++)
		json_array_append_new(d, json_string(rr->rdata[i]));
	json_object_set_new(o, "data", d);
	if (rr->state == DNS_PROP_DATA)
		json_object_set_new(o, "ttl", json_integer(rr->ttl));
	if (rr->has_neg_ttl && rr->state != DNS_PROP_DATA)
		json_object_set_new(o, "negative_ttl",
				    json_integer(rr->neg_ttl));
	if (rr->why[0] != '\0')
		json_object_set_new(o, "error", json_string(rr->why));
	return o;
}

static json_t *result_json(const watch_result *r)
{
	const dns_prop_report *rep = r->report;
	json_t *o = json_object(), *auth = json_array(), *res = json_array();
	json_t *notes = json_array();
	char when[40];
	size_t i, k;

	json_object_set_new(o, "target",
			    json_string(watch_target_name(r->target)));
	json_object_set_new(o, "now", json_real(r->now));
	if (rep->mname[0] != '\0')
		json_object_set_new(o, "primary", json_string(rep->mname));
	if (rep->has_primary_serial)
		json_object_set_new(o, "primary_serial",
				    json_integer(rep->primary_serial));
	for (i = 0; i < rep->n_servers; i++) {
		const dns_prop_server *s = &rep->servers[i];
		json_t *so = json_object(), *rrs = json_array();

		if (s->ns_name[0] != '\0')
			json_object_set_new(so, "ns", json_string(s->ns_name));
		json_object_set_new(so, "address", json_string(s->addr));
		json_object_set_new(so, "port", json_integer(s->port));
		json_object_set_new(so, "reachable", json_boolean(s->reachable));
		if (!s->is_resolver) {
			json_object_set_new(so, "aa", json_boolean(s->aa));
			if (s->has_serial)
				json_object_set_new(so, "serial",
						    json_integer(s->serial));
			json_object_set_new(
				so, "verdict",
				json_string(dns_ready_addr_verdict_name(
					r->addr_verdict[i])));
		} else if (r->hold_until[i] > 0) {
			json_object_set_new(so, "old_copy_until",
					    json_real(r->hold_until[i]));
		}
		if (s->why[0] != '\0')
			json_object_set_new(so, "error", json_string(s->why));
		for (k = 0; k < rep->n_watch; k++)
			json_array_append_new(rrs,
					      rr_json(&rep->watch[k], &s->rr[k]));
		json_object_set_new(so, "rrsets", rrs);
		json_array_append_new(s->is_resolver ? res : auth, so);
	}
	json_object_set_new(o, "authoritative", auth);
	json_object_set_new(o, "resolvers", res);
	for (i = 0; i < rep->n_notes; i++)
		json_array_append_new(notes, json_string(rep->notes[i]));
	json_object_set_new(o, "notes", notes);
	json_object_set_new(o, "lowering_journaled",
			    json_boolean(r->lowering_journaled));
	if (r->want.has_min_serial)
		json_object_set_new(o, "min_serial",
				    json_integer(r->want.min_serial));
	json_object_set_new(o, "low_ttl", json_integer(r->want.low_ttl));
	json_object_set_new(o, "old_ttl", json_integer(r->old_ttl));
	json_object_set_new(o, "old_ttl_from", json_string(r->old_ttl_from));
	json_object_set_new(o, "ready", json_boolean(r->verdict.ready));
	json_object_set_new(o, "reason", json_string(dns_ready_reason_name(
						 r->verdict.reason)));
	json_object_set_new(o, "visible", json_boolean(r->verdict.visible));
	if (r->verdict.has_since) {
		json_object_set_new(o, "visible_since",
				    json_real(r->verdict.since));
		json_object_set_new(o, "visible_since_from",
				    json_string(r->since_from));
	}
	if (r->verdict.has_ready_at) {
		cut_time_format_rfc3339(r->verdict.ready_at, when,
					sizeof(when));
		json_object_set_new(o, "ready_at", json_real(r->verdict.ready_at));
		json_object_set_new(o, "ready_at_text", json_string(when));
		json_object_set_new(
			o, "countdown",
			json_real(r->verdict.ready_at > r->now
					  ? r->verdict.ready_at - r->now
					  : 0));
	}
	return o;
}

static void rr_text(const dns_prop_rrset *w, const dns_prop_rr *rr,
		    int resolver, FILE *out)
{
	char tb[16], rb[16];
	size_t i;

	fprintf(out, "      %s %s: ", w->name, dns_type_name(w->type, tb, sizeof(tb)));
	switch (rr->state) {
	case DNS_PROP_DATA:
		for (i = 0; i < rr->n_rdata; i++)
			fprintf(out, "%s%s", i ? ", " : "", rr->rdata[i]);
		fprintf(out, resolver ? "  (TTL %u s remaining)\n"
				      : "  (TTL %u)\n",
			rr->ttl);
		break;
	case DNS_PROP_NODATA:
	case DNS_PROP_NXDOMAIN:
		fprintf(out, "%s", rr->state == DNS_PROP_NODATA
					   ? "no such record"
					   : "no such name");
		if (rr->has_cname)
			fprintf(out, " (alias of %s)", rr->cname);
		if (rr->has_neg_ttl)
			fprintf(out, "  (negative TTL %u)", rr->neg_ttl);
		fputc('\n', out);
		break;
	case DNS_PROP_FAILED:
		fprintf(out, "%s\n",
			rr->why[0] ? rr->why
				   : dns_rcode_name(rr->rcode, rb, sizeof(rb)));
		break;
	}
}

static void result_text(const watch_result *r, FILE *out)
{
	const dns_prop_report *rep = r->report;
	char when[40], dur[32], since[40];
	size_t i, k;

	fprintf(out, "authoritative servers");
	if (rep->mname[0] != '\0')
		fprintf(out, " (primary %s", rep->mname);
	if (rep->has_primary_serial)
		fprintf(out, ", serial %u", rep->primary_serial);
	fprintf(out, "%s:\n", rep->mname[0] != '\0' ? ")" : "");
	for (i = 0; i < rep->n_servers; i++) {
		const dns_prop_server *s = &rep->servers[i];

		if (i == rep->n_auth)
			fprintf(out, "resolvers:\n");
		if (!s->is_resolver) {
			fprintf(out, "  %-40s %s", s->label,
				dns_ready_addr_verdict_name(r->addr_verdict[i]));
			if (s->reachable)
				fprintf(out, "  %s", s->aa ? "AA" : "no AA");
			if (s->has_serial) {
				fprintf(out, "  serial %u", s->serial);
				if (rep->has_primary_serial &&
				    s->serial != rep->primary_serial)
					fprintf(out, " (primary %u)",
						rep->primary_serial);
			}
		} else {
			fprintf(out, "  %-40s %s", s->label,
				s->reachable ? "answers" : "unreachable");
			if (r->hold_until[i] > 0) {
				cut_duration_format(r->hold_until[i] - r->now,
						    dur, sizeof(dur));
				fprintf(out, "  holds an old copy for %s",
					dur);
			}
		}
		fputc('\n', out);
		if (!s->reachable) {
			fprintf(out, "      %s\n", s->why);
			continue;
		}
		if (s->why[0] != '\0')
			fprintf(out, "      %s\n", s->why);
		for (k = 0; k < rep->n_watch; k++)
			rr_text(&rep->watch[k], &s->rr[k], s->is_resolver, out);
	}
	for (i = 0; i < rep->n_notes; i++)
		fprintf(out, "note: %s\n", rep->notes[i]);

	if (r->target == WATCH_LOWERED) {
		fprintf(out, "wanted: TTL <= %u", r->want.low_ttl);
		if (r->want.has_min_serial)
			fprintf(out, ", serial >= %u (journaled by ttl lower)",
				r->want.min_serial);
		else
			fprintf(out, ", any serial (no lowering journaled: "
				     "counting from the first time cutover "
				     "saw the low TTL everywhere)");
		fprintf(out, "; original TTL %u s (%s)\n", r->old_ttl,
			r->old_ttl_from);
	}
	if (r->verdict.has_since) {
		cut_time_format_rfc3339(r->verdict.since, since, sizeof(since));
		fprintf(out, "visible everywhere since %s (%s)\n", since,
			r->since_from);
	}
	if (r->verdict.ready) {
		fprintf(out, "verdict: ready\n");
		return;
	}
	fprintf(out, "verdict: not ready: ");
	if (r->verdict.reason == DNS_READY_NO_SERVERS) {
		fprintf(out, "no authoritative address found\n");
		return;
	}
	if (r->verdict.reason == DNS_READY_LAGGING) {
		char lag[2048];

		watch_lagging_text(r, lag, sizeof(lag));
		fprintf(out, "%zu address(es) not up to date: %s\n",
			r->verdict.n_lagging, lag);
		if (r->verdict.has_ready_at) {
			cut_time_format_rfc3339(r->verdict.ready_at, when,
						sizeof(when));
			fprintf(out, "         once they are: ready at %s\n",
				when);
		} else {
			fprintf(out, "         ready %s + margin after they "
				     "are\n",
				"the original TTL");
		}
		return;
	}
	cut_time_format_rfc3339(r->verdict.ready_at, when, sizeof(when));
	cut_duration_format(r->verdict.ready_at - r->now, dur, sizeof(dur));
	fprintf(out, "caches may hold the original TTL until %s (in %s)\n",
		when, dur);
}

static int ttl_report(const cli_globals *g, const watch_result *r)
{
	if (g->json) {
		json_t *o = result_json(r);
		char *s = json_dumps(o, JSON_INDENT(2));

		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		result_text(r, stdout);
	}
	fflush(stdout);
	return r->verdict.ready ? CUT_EXIT_OK : CUT_EXIT_NOT_READY;
}

int cmd_ttl_status(const cli_globals *g, int argc, char **argv)
{
	plan *p = NULL;
	journal *j = NULL;
	watch_result *r = NULL;
	cut_status st;
	int i = ttl_args_start(argc, argv, "status"), rc;

	if (i >= argc)
		return cli_usage_error(ttl_cmd(), "ttl status: PLAN missing");
	if (i + 1 < argc)
		return cli_usage_error(ttl_cmd(), "ttl status: unexpected `%s`",
				       argv[i + 1]);
	rc = ttl_open(argv[i], &p, &j);
	if (rc != CUT_EXIT_OK)
		return rc;
	if (watch_check(p, j, WATCH_LOWERED, cut_now(), &r, &st) < 0) {
		cut_error("%s", st.msg);
		rc = CUT_EXIT_FAILED;
		goto done;
	}
	rc = ttl_report(g, r);
done:
	watch_result_free(&r);
	journal_close(&j);
	plan_free(&p);
	return rc;
}

int cmd_ttl_wait(const cli_globals *g, int argc, char **argv)
{
	plan *p = NULL;
	journal *j = NULL;
	watch_result *r = NULL;
	const char *path = NULL;
	double timeout = 0, start, deadline, delay = TTL_WAIT_MIN_DELAY;
	cut_status st;
	int i = ttl_args_start(argc, argv, "wait"), rc;

	for (; i < argc; i++) {
		if (strcmp(argv[i], "--timeout") == 0) {
			if (i + 1 >= argc ||
			    cut_duration_parse(argv[i + 1], &timeout) < 0)
				return cli_usage_error(
					ttl_cmd(),
					"ttl wait: --timeout needs a duration "
					"(examples: 90s, 10m, 2h)");
			i++;
		} else if (strncmp(argv[i], "--timeout=", 10) == 0) {
			if (cut_duration_parse(argv[i] + 10, &timeout) < 0)
				return cli_usage_error(
					ttl_cmd(),
					"ttl wait: --timeout needs a duration "
					"(examples: 90s, 10m, 2h)");
		} else if (path == NULL && argv[i][0] != '-') {
			path = argv[i];
		} else {
			return cli_usage_error(ttl_cmd(),
					       "ttl wait: unexpected `%s`",
					       argv[i]);
		}
	}
	if (path == NULL)
		return cli_usage_error(ttl_cmd(), "ttl wait: PLAN missing");
	rc = ttl_open(path, &p, &j);
	if (rc != CUT_EXIT_OK)
		return rc;
	start = cut_now();
	deadline = timeout > 0 ? start + timeout : 0;
	for (;;) {
		double now = cut_now(), wake;
		char lag[2048], when[40];

		watch_result_free(&r);
		if (watch_check(p, j, WATCH_LOWERED, now, &r, &st) < 0) {
			if (st.kind != CUT_TEMP) {
				cut_error("%s", st.msg);
				rc = CUT_EXIT_FAILED;
				goto done;
			}
			cut_warn("%s (retrying)", st.msg);
		} else if (r->verdict.ready) {
			break;
		} else if (r->verdict.reason == DNS_READY_LAGGING) {
			watch_lagging_text(r, lag, sizeof(lag));
			cut_info("not ready: %s", lag);
		} else if (r->verdict.has_ready_at) {
			cut_time_format_rfc3339(r->verdict.ready_at, when,
						sizeof(when));
			cut_info("visible everywhere; ready at %s", when);
			delay = TTL_WAIT_MAX_DELAY; /* only re-check */
		}
		now = cut_now();
		if (deadline > 0 && now >= deadline) {
			if (r != NULL)
				ttl_report(g, r);
			cut_error("ttl wait: not ready after %.0fs (--timeout)",
				  timeout);
			rc = CUT_EXIT_NOT_READY;
			goto done;
		}
		/* Bounded backoff, never sleeping past the computed
		 * deadline nor the timeout. */
		wake = now + delay;
		if (r != NULL && r->verdict.has_ready_at &&
		    r->verdict.reason == DNS_READY_WAITING &&
		    r->verdict.ready_at < wake)
			wake = r->verdict.ready_at;
		if (deadline > 0 && deadline < wake)
			wake = deadline;
		if (countdown_sleep_until(wake, "the lowered TTL", &st) < 0) {
			cut_error("%s", st.msg);
			rc = CUT_EXIT_NOT_READY;
			goto done;
		}
		delay = delay * 2 > TTL_WAIT_MAX_DELAY ? TTL_WAIT_MAX_DELAY
						       : delay * 2;
	}
	rc = ttl_report(g, r);
done:
	watch_result_free(&r);
	journal_close(&j);
	plan_free(&p);
	return rc;
}
