/*
 * runplan.c: the cutover state machine (see runplan.h).
 */
#include "cutover/runplan.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"

static const struct {
	const char *name;
	const char *title;
} runplan_step_table[RUN_STEP_COUNT] = {
	[RUN_STEP_START] = {"start", "not started"},
	[RUN_STEP_CUT_ACCESS] = {"cut_access", "cut users off host1 ([hooks] cut_access)"},
	[RUN_STEP_IMAP_PARK] = {"imap_park", "point the IMAP name at [imap] parking"},
	[RUN_STEP_IMAP_PARK_WAIT] = {"imap_park_wait",
				     "wait until no cache holds the old IMAP address"},
	[RUN_STEP_LAST_SYNC] = {"last_sync", "last sync of every account (exact, like a presync)"},
	[RUN_STEP_MX_CHANGE] = {"mx_change", "change the MX to [mx] new"},
	[RUN_STEP_MX_WAIT] = {"mx_wait", "wait until no cache can hold the old MX"},
	[RUN_STEP_POSTSYNC] = {"postsync", "postsync: move the mail that reached host1 meanwhile"},
	[RUN_STEP_IMAP_MOVE] = {"imap_move", "point the IMAP name at [imap] new"},
	[RUN_STEP_IMAP_WAIT] = {"imap_wait", "wait until the new IMAP address is visible everywhere"},
	[RUN_STEP_DONE] = {"done", "done"},
};

const char *runplan_step_name(runplan_step step)
{
	return step < RUN_STEP_COUNT ? runplan_step_table[step].name : "unknown";
}

const char *runplan_step_title(runplan_step step)
{
	return step < RUN_STEP_COUNT ? runplan_step_table[step].title : "unknown";
}

runplan_step runplan_step_parse(const char *name)
{
	for (int i = 0; i < RUN_STEP_COUNT; i++)
		if (strcmp(runplan_step_table[i].name, name) == 0)
			return (runplan_step)i;
	return RUN_STEP_COUNT;
}

size_t runplan_steps(const plan *p, runplan_step *steps)
{
	size_t n = 0;
	int lucky = p->scenario == PLAN_SCENARIO_LUCKY;

	steps[n++] = RUN_STEP_CUT_ACCESS;
	if (lucky && p->imap_parking.n > 0) {
		steps[n++] = RUN_STEP_IMAP_PARK;
		steps[n++] = RUN_STEP_IMAP_PARK_WAIT;
	}
	steps[n++] = RUN_STEP_LAST_SYNC;
	steps[n++] = RUN_STEP_MX_CHANGE;
	steps[n++] = RUN_STEP_MX_WAIT;
	steps[n++] = RUN_STEP_POSTSYNC;
	if (lucky) {
		steps[n++] = RUN_STEP_IMAP_MOVE;
		steps[n++] = RUN_STEP_IMAP_WAIT;
	}
	steps[n++] = RUN_STEP_DONE;
	return n;
}

double runplan_postsync_since(double now, double last_sync_start,
			      int has_maxage, double maxage, double margin)
{
	double since;

	if (has_maxage)
		return now - maxage;
	/* imapsync's seed plan: --maxage 1, the last day by arrival time. */
	since = now - 86400;
	/* A cutover that took longer than a day must still reach back to
	 * before the last sync began, or mail that arrived just after its
	 * folder was copied would be left behind. */
	if (last_sync_start > 0 && last_sync_start - margin < since)
		since = last_sync_start - margin;
	return since;
}

/* When the cutover was last rolled back (0 if never): steps journaled
 * before it count as not done. */
static int runplan_reset_time(journal *j, double *t_r, cut_status *st)
{
	char *phase = NULL;

	*t_r = 0;
	if (journal_last(j, "rollback", &phase, NULL, t_r, st) < 0)
		return -1;
	if (phase == NULL)
		*t_r = 0;
	free(phase);
	return 0;
}

static int runplan_phase(journal *j, runplan_step step, char **phase_r,
			 cut_status *st)
{
	double reset = 0, t = 0;

	*phase_r = NULL;
	if (runplan_reset_time(j, &reset, st) < 0 ||
	    journal_last(j, runplan_step_name(step), phase_r, NULL, &t, st) < 0)
		return -1;
	if (*phase_r != NULL && reset > 0 && t <= reset) {
		free(*phase_r);
		*phase_r = NULL;
	}
	return 0;
}

static int runplan_is_done(journal *j, runplan_step step, cut_status *st,
			   int *done_r)
{
	char *phase = NULL;

	if (runplan_phase(j, step, &phase, st) < 0)
		return -1;
	*done_r = phase != NULL && strcmp(phase, "done") == 0;
	free(phase);
	return 0;
}

int runplan_reset(journal *j, cut_status *st)
{
	static const char *const facts[] = {"last_sync_started", "mx_visible",
					    "imap_park_visible"};

	for (size_t i = 0; i < sizeof(facts) / sizeof(*facts); i++)
		if (journal_fact_del(j, facts[i], st) < 0)
			return -1;
	return journal_record(j, "rollback", "done", NULL, st);
}

int runplan_current(const plan *p, journal *j, runplan_step *step_r,
		    cut_status *st)
{
	runplan_step steps[RUN_STEP_COUNT];
	size_t n = runplan_steps(p, steps);
	int any = 0;

	for (size_t i = 0; i + 1 < n; i++) {
		int done = 0;
		char *phase = NULL;

		if (runplan_phase(j, steps[i], &phase, st) < 0)
			return -1;
		if (phase != NULL)
			any = 1;
		done = phase != NULL && strcmp(phase, "done") == 0;
		free(phase);
		if (!done) {
			*step_r = (i == 0 && !any) ? RUN_STEP_START : steps[i];
			return 0;
		}
	}
	*step_r = RUN_STEP_DONE;
	return 0;
}

static void runplan_notify(const runplan_ops *ops, const plan *p,
			   const char *event, runplan_step from,
			   runplan_step to, const char *error)
{
	json_t *o;
	char when[40];
	char *text;

	if (ops->notify == NULL)
		return;
	cut_time_format_rfc3339(ops->now(ops->ctx), when, sizeof(when));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "event", event,
		      "plan", p->path ? p->path : "", "zone",
		      p->zone ? p->zone : "", "from", runplan_step_name(from),
		      "to", runplan_step_name(to), "time", when);
	if (o == NULL)
		return;
	if (error != NULL)
		json_object_set_new(o, "error", json_string(error));
	text = json_dumps(o, JSON_COMPACT);
	if (text != NULL)
		ops->notify(ops->ctx, text);
	free(text);
	json_decref(o);
}

/* Writes a JSON detail built from a jansson object (stolen). */
static int runplan_record(journal *j, runplan_step step, const char *phase,
			  json_t *detail, cut_status *st)
{
	char *text = NULL;
	int ret;

	if (detail != NULL) {
		text = json_dumps(detail, JSON_COMPACT);
		json_decref(detail);
	}
	ret = journal_record(j, runplan_step_name(step), phase, text, st);
	free(text);
	return ret;
}

/* Reads a number from a JSON fact; 0 when absent. */
static int runplan_fact_number(journal *j, const char *key, const char *field,
			       double *val_r, int *found_r, cut_status *st)
{
	char *text = NULL;
	json_t *o = NULL;

	*found_r = 0;
	*val_r = 0;
	if (journal_fact_get(j, key, &text, NULL, st) < 0)
		return -1;
	if (text != NULL && (o = json_loads(text, 0, NULL)) != NULL) {
		json_t *v = json_object_get(o, field);
		if (json_is_number(v)) {
			*val_r = json_number_value(v);
			*found_r = 1;
		}
	}
	json_decref(o);
	free(text);
	return 0;
}

static int runplan_fact_pack(journal *j, const char *key, json_t *o,
			     cut_status *st)
{
	char *text = json_dumps(o, JSON_COMPACT);
	int ret;

	json_decref(o);
	if (text == NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "out of memory");
	ret = journal_fact_set(j, key, text, st);
	free(text);
	return ret;
}

/* A wait step: visible everywhere, then the old TTL runs out. */
static int runplan_wait_change(const plan *p, journal *j,
			       const runplan_ops *ops, runplan_change what,
			       const char *fact, cut_status *st)
{
	double visible_at = 0, old_ttl = 0, deadline;
	int found = 0, found_ttl = 0;
	char label[128], when[40];

	if (runplan_fact_number(j, fact, "visible_at", &visible_at, &found, st) < 0 ||
	    runplan_fact_number(j, fact, "old_ttl", &old_ttl, &found_ttl, st) < 0)
		return -1;
	if (!found || !found_ttl) {
		if (ops->wait_visible(ops->ctx, what, &visible_at, &old_ttl, st) < 0)
			return -1;
		if (runplan_fact_pack(j, fact,
				      json_pack("{s:f, s:f, s:f}", "visible_at",
						visible_at, "old_ttl", old_ttl,
						"deadline",
						visible_at + old_ttl + p->margin),
				      st) < 0)
			return -1;
	}
	/* RFC 1035 TTL semantics: a resolver that fetched the old data just
	 * before the change may serve it for old_ttl more seconds. */
	deadline = visible_at + old_ttl + p->margin;
	cut_time_format_rfc3339(deadline, when, sizeof(when));
	snprintf(label, sizeof(label), "no cache can hold the old %s (%s)",
		 what == RUN_CHANGE_MX ? "MX" : "IMAP address", when);
	cut_info("%s visible everywhere; waiting until %s",
		 what == RUN_CHANGE_MX ? "new MX" : "IMAP change", when);
	return ops->sleep_until(ops->ctx, deadline, label, st);
}

static int runplan_sync(const plan *p, journal *j, const runplan_ops *ops,
			runplan_step step, cut_status *st)
{
	runplan_sync_summary sum = {0};
	double since = 0, last_start = 0;
	int found = 0;

	if (step == RUN_STEP_LAST_SYNC) {
		/* The first attempt's start bounds the postsync window. */
		if (runplan_fact_number(j, "last_sync_started", "time",
					&last_start, &found, st) < 0)
			return -1;
		if (!found &&
		    runplan_fact_pack(j, "last_sync_started",
				      json_pack("{s:f}", "time",
						ops->now(ops->ctx)),
				      st) < 0)
			return -1;
		if (ops->sync_all(ops->ctx, RUN_SYNC_LAST, 0, &sum, st) < 0)
			return -1;
	} else {
		if (runplan_fact_number(j, "last_sync_started", "time",
					&last_start, &found, st) < 0)
			return -1;
		since = runplan_postsync_since(ops->now(ops->ctx), last_start,
					       p->has_maxage, p->maxage,
					       p->margin);
		if (ops->sync_all(ops->ctx, RUN_SYNC_POST, since, &sum, st) < 0)
			return -1;
	}
	cut_info("%s: %u accounts, %llu messages copied, %u failed",
		 runplan_step_name(step), sum.accounts,
		 (unsigned long long)sum.copied, sum.failed_accounts);
	if (sum.failed_accounts > 0) {
		if (step == RUN_STEP_LAST_SYNC &&
		    p->on_failure == PLAN_ON_FAILURE_CONTINUE) {
			cut_warn("last sync: %u of %u accounts failed; "
				 "continuing as [sync] on_failure = continue says",
				 sum.failed_accounts, sum.accounts);
			return 0;
		}
		return cut_status_set(
			st, CUT_FINAL, CUT_SCOPE_ACCOUNT,
			"%s: %u of %u accounts failed (see above); fix them and "
			"run `cutover run` again to resume from this step",
			runplan_step_name(step), sum.failed_accounts,
			sum.accounts);
	}
	return 0;
}

static int runplan_perform(const plan *p, journal *j, const runplan_ops *ops,
			   runplan_step step, cut_status *st)
{
	switch (step) {
	case RUN_STEP_CUT_ACCESS:
		return ops->cut_access(ops->ctx, st);
	case RUN_STEP_IMAP_PARK:
		return ops->dns_imap(ops->ctx, "parking", st);
	case RUN_STEP_IMAP_PARK_WAIT:
		return runplan_wait_change(p, j, ops, RUN_CHANGE_IMAP_PARKING,
					   "imap_park_visible", st);
	case RUN_STEP_LAST_SYNC:
	case RUN_STEP_POSTSYNC:
		return runplan_sync(p, j, ops, step, st);
	case RUN_STEP_MX_CHANGE:
		/* From here users may work on host2: never delete there. */
		if (runplan_fact_pack(j, JOURNAL_FACT_USERS_ON_HOST2,
				      json_pack("{s:s, s:f}", "reason",
						"the MX change was sent",
						"time", ops->now(ops->ctx)),
				      st) < 0)
			return -1;
		return ops->dns_mx(ops->ctx, "new", st);
	case RUN_STEP_MX_WAIT:
		return runplan_wait_change(p, j, ops, RUN_CHANGE_MX,
					   "mx_visible", st);
	case RUN_STEP_IMAP_MOVE:
		return ops->dns_imap(ops->ctx, "new", st);
	case RUN_STEP_IMAP_WAIT: {
		double visible_at = 0, old_ttl = 0;
		return ops->wait_visible(ops->ctx, RUN_CHANGE_IMAP, &visible_at,
					 &old_ttl, st);
	}
	case RUN_STEP_START:
	case RUN_STEP_DONE:
	case RUN_STEP_COUNT:
		break;
	}
	return 0;
}

/*
 * A sync step that an earlier attempt left midway (the process died, or
 * the step failed on a dropped or timed-out connection): the servers still
 * execute the commands it had sent (an APPEND whose last byte had reached
 * host2 is committed after the sender went away).  Listing host2 before
 * that commit would copy the message a second time, so the replay first
 * gives the servers RUNPLAN_RESUME_SETTLE seconds to finish the old
 * sessions.
 */
static int runplan_settle(const runplan_ops *ops, runplan_step step,
			  cut_status *st)
{
	if (step != RUN_STEP_LAST_SYNC && step != RUN_STEP_POSTSYNC)
		return 0;
	cut_info("%s was interrupted: letting the servers finish the "
		 "interrupted run's commands first",
		 runplan_step_name(step));
	return ops->sleep_until(ops->ctx,
				ops->now(ops->ctx) + RUNPLAN_RESUME_SETTLE,
				"the interrupted run's IMAP sessions to end", st);
}

int runplan_execute(const plan *p, journal *j, const runplan_ops *ops,
		    cut_status *st)
{
	runplan_step steps[RUN_STEP_COUNT];
	runplan_step prev = RUN_STEP_START;
	size_t n = runplan_steps(p, steps);

	for (size_t i = 0; i + 1 < n; i++) {
		runplan_step step = steps[i];
		char *phase = NULL;
		int done, interrupted;

		if (runplan_phase(j, step, &phase, st) < 0)
			return -1;
		done = phase != NULL && strcmp(phase, "done") == 0;
		/* An earlier attempt died ("intent") or failed midway. */
		interrupted = phase != NULL && !done;
		free(phase);
		if (done) {
			prev = step;
			continue;
		}
		cut_info("state: %s -> %s (%s)", runplan_step_name(prev),
			 runplan_step_name(step), runplan_step_title(step));
		runplan_notify(ops, p, "transition", prev, step, NULL);
		if (interrupted && runplan_settle(ops, step, st) < 0)
			return -1;
		if (runplan_record(j, step, "intent", NULL, st) < 0)
			return -1;
		if (runplan_perform(p, j, ops, step, st) < 0) {
			cut_status saved;

			cut_status_copy(&saved, st);
			runplan_record(j, step, "failed",
				       json_pack("{s:s, s:s}", "error", st->msg,
						 "kind", cut_kind_name(st->kind)),
				       NULL);
			runplan_notify(ops, p, "failed", prev, step, saved.msg);
			cut_status_copy(st, &saved);
			return -1;
		}
		if (runplan_record(j, step, "done", NULL, st) < 0)
			return -1;
		prev = step;
	}
	if (prev != RUN_STEP_DONE) {
		int done = 0;

		if (runplan_is_done(j, RUN_STEP_DONE, st, &done) < 0)
			return -1;
		if (!done) {
			cut_info("state: %s -> done", runplan_step_name(prev));
			if (runplan_record(j, RUN_STEP_DONE, "done", NULL, st) < 0)
				return -1;
			runplan_notify(ops, p, "done", prev, RUN_STEP_DONE, NULL);
		}
	}
	return 0;
}

size_t runplan_timeline(const plan *p, double at, double lastsync_secs,
			double postsync_secs, double propagation_secs,
			double mx_ttl, double imap_ttl,
			runplan_timeline_entry *entries)
{
	runplan_step steps[RUN_STEP_COUNT];
	size_t n = runplan_steps(p, steps);
	double t = at;

	for (size_t i = 0; i < n; i++) {
		runplan_timeline_entry *e = &entries[i];
		double len = 0;

		e->step = steps[i];
		e->start = t;
		e->note = "";
		switch (steps[i]) {
		case RUN_STEP_LAST_SYNC:
			len = lastsync_secs;
			e->note = "estimate from the presync history";
			break;
		case RUN_STEP_POSTSYNC:
			len = postsync_secs;
			break;
		case RUN_STEP_MX_WAIT:
			len = propagation_secs + mx_ttl + p->margin;
			e->note = "visible everywhere + old MX TTL + margin";
			break;
		case RUN_STEP_IMAP_PARK_WAIT:
			len = propagation_secs + imap_ttl + p->margin;
			e->note = "visible everywhere + old IMAP TTL + margin";
			break;
		case RUN_STEP_IMAP_WAIT:
			len = propagation_secs;
			e->note = "until visible on every authoritative address";
			break;
		default:
			break;
		}
		t += len;
		e->end = t;
	}
	return n;
}
