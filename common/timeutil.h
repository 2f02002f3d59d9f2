/*
 * timeutil.h: durations, RFC 3339 times and the injectable clock.
 *
 * Times are Unix epoch seconds as doubles (sub-second precision where it
 * matters, e.g. TTL deadlines) or int64 where whole seconds suffice.
 * The clock can be offset for tests (CUTOVER_DEBUG_HOOKS builds read
 * CUTOVER_TEST_CLOCK_OFFSET, in seconds) so that, e.g., a TSIG BADTIME can
 * be provoked without touching the system clock.  Pure arithmetic (the
 * readiness deadlines) always takes `now` as a parameter instead.
 */
#ifndef CUTOVER_COMMON_TIMEUTIL_H
#define CUTOVER_COMMON_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/**
 * Parses a duration: a non-negative number with an optional unit,
 * `300`, `90s`, `5m`, `2h`, `1d`, `1.5d` (no unit = seconds).
 * @return 0 and *secs_r, or -1 when malformed.
 */
int cut_duration_parse(const char *s, double *secs_r);

/** Formats a duration for people: "45s", "5m", "1h02m03s", "2d03h". */
void cut_duration_format(double secs, char *buf, size_t n);

/**
 * Parses an RFC 3339 time, e.g. `2026-12-01T22:00:00+01:00` or
 * `2026-12-01T21:00:00Z` (fractional seconds accepted). A lower-case t/z
 * and a space for T are accepted as RFC 3339 5.6 allows.
 * @return 0 and *epoch_r, or -1.
 */
int cut_time_parse_rfc3339(const char *s, double *epoch_r);

/** Formats epoch seconds as `2026-12-01T21:00:00Z` (UTC). */
void cut_time_format_rfc3339(double epoch, char *buf, size_t n);

/** Wall clock in epoch seconds, plus the test offset when set. */
double cut_now(void);

/** Monotonic seconds, for measuring durations and timeouts. */
double cut_monotonic(void);

/** Sets the test clock offset (seconds added to cut_now()). */
void cut_clock_set_offset(double offset);

/** Sleeps for secs (fractional) unless interrupted; returns 0, -1 on EINTR. */
int cut_sleep(double secs);

#endif
