/*
 * cmd_estimate.c: `cutover estimate PLAN`: the last sync's predicted
 * duration from the recorded presync runs (cutover/estimate.h), compared
 * with [migration] window.
 *
 * Exit: 0 with a prediction (also when it does not fit the window: the
 * warning is in the text and in the JSON "verdict"), 3 when no complete
 * presync run is recorded yet (not ready to predict), 2 plan error,
 * 1 the state database could not be read.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cutover/commands.h"
#include "cutover/estimate.h"
#include "cutover/journal.h"
#include "cutover/plan.h"

static int estimate_print_json(const estimate *e, const double *d,
			       unsigned n)
{
	json_t *doc = NULL, *arr = json_array();
	int ret = -1;

	if (arr == NULL)
		goto done;
	for (unsigned i = 0; i < n; i++)
		if (json_array_append_new(arr, json_real(d[i])) < 0)
			goto done;
	doc = json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:s, s:O}",
			"runs_used", (int)e->n_used, "predicted",
			e->n_used ? json_real(e->predicted) : json_null(),
			"min", e->n_used ? json_real(e->min) : json_null(),
			"max", e->n_used ? json_real(e->max) : json_null(),
			"latest", e->n_used ? json_real(e->latest) : json_null(),
			"window",
			e->has_window ? json_real(e->window) : json_null(),
			"verdict", estimate_verdict_name(e->verdict),
			"recent_durations", arr);
	if (doc == NULL || json_dumpf(doc, stdout, JSON_INDENT(2)) < 0)
		goto done;
	fputc('\n', stdout);
	ret = 0;
done:
	json_decref(arr);
	json_decref(doc);
	return ret;
}

int cmd_estimate(const cli_globals *g, int argc, char **argv)
{
	const cli_command *self = cli_find_command("estimate");
	const char *plan_path = NULL;
	plan *p = NULL;
	journal *j = NULL;
	double *d = NULL;
	unsigned n = 0;
	cut_buf errors = CUT_BUF_INIT, out = CUT_BUF_INIT;
	cut_status st;
	estimate e;
	int ret = CUT_EXIT_FAILED;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
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
	if (plan_load(plan_path, &p, &errors) < 0) {
		fputs(errors.data != NULL ? errors.data : "plan error\n", stderr);
		ret = CUT_EXIT_USAGE;
		goto done;
	}
	if (journal_open(p->state_dir, &j, &st) < 0 ||
	    journal_run_durations(j, "presync", ESTIMATE_RUNS_MAX, &d, &n,
				  &st) < 0) {
		fprintf(stderr, "cutover: %s\n", st.msg);
		goto done;
	}
	estimate_compute(d, n, p->has_window, p->window, &e);
	if (g->json) {
		if (estimate_print_json(&e, d, n) < 0) {
			fputs("cutover: out of memory\n", stderr);
			goto done;
		}
	} else {
		if (estimate_format(&e, &out) < 0) {
			fputs("cutover: out of memory\n", stderr);
			goto done;
		}
		fputs(out.data, e.n_used == 0 ? stderr : stdout);
	}
	ret = e.n_used == 0 ? CUT_EXIT_NOT_READY : CUT_EXIT_OK;
done:
	fflush(stdout);
	free(d);
	journal_close(&j);
	plan_free(&p);
	cut_buf_free(&errors);
	cut_buf_free(&out);
	return ret;
}
