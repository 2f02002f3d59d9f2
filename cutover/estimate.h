/*
 * estimate.h: how long the last sync will take, predicted from the
 * recorded presync runs (pure arithmetic, no I/O).
 *
 * The last sync is an exact sync like a presync, run right after the
 * previous one: it only copies the delta.  The first presyncs copy whole
 * mailboxes and are much longer, so only the most recent runs are used
 * (ESTIMATE_RUNS_MAX): the prediction is their median, and their minimum
 * and maximum give the spread.  A median rather than a mean, so that one
 * slow run (a server busy with backups) does not move the figure much.
 *
 * When the plan sets [migration] window, the prediction is compared with
 * it: FITS when even the slowest recent run fits, TIGHT when the median
 * fits but the slowest recent run would not, DOES_NOT_FIT when the median
 * itself is longer than the window.
 */
#ifndef CUTOVER_CUTOVER_ESTIMATE_H
#define CUTOVER_CUTOVER_ESTIMATE_H

#include <stddef.h>

#include "common/buf.h"

/** How many of the most recent presync runs the prediction uses. */
#define ESTIMATE_RUNS_MAX 5

typedef enum estimate_verdict {
	ESTIMATE_NO_WINDOW = 0, /* [migration] window not set: nothing to compare */
	ESTIMATE_FITS,          /* the slowest recent run fits in the window */
	ESTIMATE_TIGHT,         /* the median fits, the slowest would not */
	ESTIMATE_DOES_NOT_FIT,  /* the median is longer than the window */
} estimate_verdict;

typedef struct estimate {
	unsigned n_used;  /* runs used (0: no history, nothing else is set) */
	double predicted; /* median duration of the runs used, seconds */
	double min, max;  /* their range */
	double latest;    /* the most recent run's duration */
	double window;    /* the window compared with (has_window) */
	int has_window;
	estimate_verdict verdict;
} estimate;

/**
 * Computes the estimate.
 * @param durations  durations in seconds of completed presync runs, NEWEST
 *                   FIRST (as journal_run_durations() returns them); only
 *                   the first min(n, ESTIMATE_RUNS_MAX) are used; negative
 *                   or non-finite values (a clock step) are skipped.
 * @param n          number of durations (0 is fine: n_used = 0).
 * @param has_window, window  [migration] window in seconds.
 * @param est_r      receives the result.
 */
void estimate_compute(const double *durations, size_t n, int has_window,
		      double window, estimate *est_r);

/** "no window", "fits", "tight", "does not fit". Static string. */
const char *estimate_verdict_name(estimate_verdict v);

/**
 * Appends the human report (several lines, each ending in \n) to out:
 * the prediction, the range and the runs used, the comparison with the
 * window and a warning sentence when it does not fit.
 * @return 0, or -1 when out is full (limit) or memory runs out.
 */
int estimate_format(const estimate *e, cut_buf *out);

#endif
