/* test_estimate.c: the last sync's predicted duration from the history. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "cutover/estimate.h"

static void test_no_history(void **state)
{
	estimate e;
	cut_buf out = CUT_BUF_INIT;

	(void)state;
	estimate_compute(NULL, 0, 1, 600, &e);
	assert_int_equal(e.n_used, 0);
	assert_int_equal(e.verdict, ESTIMATE_NO_WINDOW);
	assert_int_equal(estimate_format(&e, &out), 0);
	assert_non_null(strstr(out.data, "no completed presync run"));
	cut_buf_free(&out);
}

static void test_three_runs_median_and_range(void **state)
{
	/* newest first: 30, 10, 20 */
	const double d[] = {30, 10, 20};
	estimate e;

	(void)state;
	estimate_compute(d, 3, 0, 0, &e);
	assert_int_equal(e.n_used, 3);
	assert_true(e.predicted == 20);
	assert_true(e.min == 10);
	assert_true(e.max == 30);
	assert_true(e.latest == 30);
	assert_true(e.predicted >= e.min && e.predicted <= e.max);
	assert_int_equal(e.verdict, ESTIMATE_NO_WINDOW);
}

static void test_even_count_averages_middle(void **state)
{
	const double d[] = {40, 10, 30, 20};
	estimate e;

	(void)state;
	estimate_compute(d, 4, 0, 0, &e);
	assert_true(e.predicted == 25);
}

static void test_only_most_recent_runs(void **state)
{
	/* The first presyncs (oldest, at the end) copied whole mailboxes and
	 * must not weigh on the prediction. */
	const double d[] = {5, 4, 3, 2, 1, 3600, 7200};
	estimate e;

	(void)state;
	estimate_compute(d, 7, 0, 0, &e);
	assert_int_equal(e.n_used, ESTIMATE_RUNS_MAX);
	assert_true(e.predicted == 3);
	assert_true(e.max == 5);
	assert_true(e.min == 1);
}

static void test_bad_values_skipped(void **state)
{
	const double d[] = {-3, NAN, 12, INFINITY, 8};
	estimate e;

	(void)state;
	estimate_compute(d, 5, 0, 0, &e);
	assert_int_equal(e.n_used, 2);
	assert_true(e.latest == 12);
	assert_true(e.predicted == 10);
}

static void test_window_verdicts(void **state)
{
	const double d[] = {10, 20, 30};
	estimate e;
	cut_buf out = CUT_BUF_INIT;

	(void)state;
	estimate_compute(d, 3, 1, 100, &e);
	assert_int_equal(e.verdict, ESTIMATE_FITS);
	assert_int_equal(estimate_format(&e, &out), 0);
	assert_non_null(strstr(out.data, "fits in the"));
	assert_null(strstr(out.data, "warning"));
	cut_buf_reset(&out);

	estimate_compute(d, 3, 1, 30, &e); /* the slowest exactly fits */
	assert_int_equal(e.verdict, ESTIMATE_FITS);

	estimate_compute(d, 3, 1, 25, &e);
	assert_int_equal(e.verdict, ESTIMATE_TIGHT);
	assert_int_equal(estimate_format(&e, &out), 0);
	assert_non_null(strstr(out.data, "warning: tight"));
	cut_buf_reset(&out);

	estimate_compute(d, 3, 1, 15, &e);
	assert_int_equal(e.verdict, ESTIMATE_DOES_NOT_FIT);
	assert_int_equal(estimate_format(&e, &out), 0);
	assert_non_null(strstr(out.data, "warning: does not fit"));
	assert_string_equal(estimate_verdict_name(e.verdict), "does not fit");
	cut_buf_free(&out);
}

static void test_format_numbers(void **state)
{
	const double d[] = {90, 60, 120};
	estimate e;
	cut_buf out = CUT_BUF_INIT;

	(void)state;
	estimate_compute(d, 3, 0, 0, &e);
	assert_int_equal(estimate_format(&e, &out), 0);
	assert_non_null(strstr(out.data, "median of the last 3 presync runs"));
	assert_non_null(strstr(out.data, "no [migration] window set"));
	cut_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_history),
		cmocka_unit_test(test_three_runs_median_and_range),
		cmocka_unit_test(test_even_count_averages_middle),
		cmocka_unit_test(test_only_most_recent_runs),
		cmocka_unit_test(test_bad_values_skipped),
		cmocka_unit_test(test_window_verdicts),
		cmocka_unit_test(test_format_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
