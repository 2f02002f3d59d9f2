/* countdown.c: waiting with a visible countdown (see countdown.h). */
#include "cutover/countdown.h"

#include <stdio.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/timeutil.h"

int countdown_sleep_until(double deadline, const char *what, cut_status *st)
{
	int tty = isatty(STDERR_FILENO) && cut_log_get_level() >= CUT_LOG_INFO;
	double last_log = 0;
	char left[32], until[40], line[256];

	cut_time_format_rfc3339(deadline, until, sizeof(until));
	for (;;) {
		double now = cut_now();
		double remaining = deadline - now;

		if (remaining <= 0)
			break;
		if (cut_cancelled()) {
			if (tty)
				cut_log_progress(NULL);
			return cut_status_set(st, CUT_CANCELLED, CUT_SCOPE_LOCAL,
					      "interrupted while waiting for %s",
					      what);
		}
		cut_duration_format(remaining, left, sizeof(left));
		if (tty) {
			snprintf(line, sizeof(line),
				 "waiting for %s: %s left (until %s)", what,
				 left, until);
			cut_log_progress(line);
		} else if (last_log == 0 || now - last_log >= 60) {
			cut_info("waiting for %s: %s left (until %s)", what,
				 left, until);
			last_log = now;
		}
		cut_sleep(remaining < 1 ? remaining : 1);
	}
	if (tty)
		cut_log_progress(NULL);
	return 0;
}
