/*
 * estimate.c: the last sync's predicted duration from the presync
 * history (see estimate.h).  Pure: no clock, no journal, no output.
 */
#include <math.h>
#include <string.h>

#include "common/timeutil.h"
#include "cutover/estimate.h"

/* Insertion sort: at most ESTIMATE_RUNS_MAX values. */
static void estimate_sort(double *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		double x = v[i];
		unsigned k = i;
		while (k > 0 && v[k - 1] > x) {
			v[k] = v[k - 1];
			k--;
		}
		v[k] = x;
	}
}

void estimate_compute(const double *durations, size_t n, int has_window,
		      double window, estimate *est_r)
{
	double used[ESTIMATE_RUNS_MAX];
	unsigned k = 0;

	memset(est_r, 0, sizeof(*est_r));
	est_r->has_window = has_window;
	est_r->window = has_window ? window : 0;
	for (size_t i = 0; i < n && k < ESTIMATE_RUNS_MAX; i++) {
		if (!isfinite(durations[i]) || durations[i] < 0)
			continue;
		if (k == 0)
			est_r->latest = durations[i];
		used[k++] = durations[i];
	}
	est_r->n_used = k;
	est_r->verdict = ESTIMATE_NO_WINDOW;
	if (k == 0)
		return;
	estimate_sort(used, k);
	est_r->min = used[0];
	est_r->max = used[k - 1];
	if (k % 2 == 1)
		est_r->predicted = used[k / 2];
	else
		est_r->predicted = (used[k / 2 - 1] + used[k / 2]) / 2;
	if (!has_window)
		return;
	if (est_r->predicted > window)
		est_r->verdict = ESTIMATE_DOES_NOT_FIT;
	else if (est_r->max > window)
		est_r->verdict = ESTIMATE_TIGHT;
	else
		est_r->verdict = ESTIMATE_FITS;
}

const char *estimate_verdict_name(estimate_verdict v)
{
	switch (v) {
	case ESTIMATE_NO_WINDOW:
		return "no window";
	case ESTIMATE_FITS:
		return "fits";
	case ESTIMATE_TIGHT:
		return "tight";
	case ESTIMATE_DOES_NOT_FIT:
		return "does not fit";
	}
	return "unknown";
}

int estimate_format(const estimate *e, cut_buf *out)
{
	char pred[32], lo[32], hi[32], win[32];
	int ret = -1;

	if (e->n_used == 0) {
		ret = cut_buf_puts(out,
				   "no completed presync run recorded yet: run "
				   "`cutover presync PLAN` first\n");
		goto done;
	}
	cut_duration_format(e->predicted, pred, sizeof(pred));
	cut_duration_format(e->min, lo, sizeof(lo));
	cut_duration_format(e->max, hi, sizeof(hi));
	if (cut_buf_printf(out,
			   "last sync: about %s (median of the last %u presync "
			   "run%s, range %s..%s)\n",
			   pred, e->n_used, e->n_used == 1 ? "" : "s", lo,
			   hi) < 0)
		goto done;
	if (cut_buf_puts(out, "(the last sync only copies what changed since "
			      "the previous sync: run a presync shortly before "
			      "the migration hour to keep it short)\n") < 0)
		goto done;
	if (!e->has_window) {
		ret = cut_buf_puts(out, "no [migration] window set: nothing to "
					"compare with\n");
		goto done;
	}
	cut_duration_format(e->window, win, sizeof(win));
	switch (e->verdict) {
	case ESTIMATE_FITS:
		ret = cut_buf_printf(out, "fits in the %s window\n", win);
		break;
	case ESTIMATE_TIGHT:
		ret = cut_buf_printf(out,
				     "warning: tight: the median fits in the %s "
				     "window but the slowest recent presync (%s) "
				     "would not; widen the window or presync "
				     "closer to the migration hour\n",
				     win, hi);
		break;
	case ESTIMATE_DOES_NOT_FIT:
		ret = cut_buf_printf(out,
				     "warning: does not fit: the last sync is "
				     "expected to take %s, longer than the %s "
				     "window; widen [migration] window, raise "
				     "[sync] jobs, or presync closer to the "
				     "migration hour\n",
				     pred, win);
		break;
	case ESTIMATE_NO_WINDOW:
		ret = 0;
		break;
	}
done:
	return ret < 0 ? -1 : 0;
}
