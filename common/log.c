/* log.c: leveled, thread-safe logging (see log.h). */
#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static cut_log_level log_level = CUT_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int progress_shown;

static const char *const log_level_names[] = {
	[CUT_LOG_ERROR] = "error", [CUT_LOG_WARN] = "warning",
	[CUT_LOG_INFO] = "info",   [CUT_LOG_DEBUG] = "debug",
	[CUT_LOG_TRACE] = "trace",
};

void cut_log_set_level(cut_log_level level)
{
	log_level = level;
}

cut_log_level cut_log_get_level(void)
{
	return log_level;
}

int cut_log_enabled(cut_log_level level)
{
	return level <= log_level;
}

void cut_log(cut_log_level level, const char *fmt, ...)
{
	char stamp[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (level > log_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);

	pthread_mutex_lock(&log_lock);
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = 0;
	}
	fprintf(stderr, "%s.%03ldZ %s: ", stamp, (long)(tv.tv_usec / 1000),
		log_level_names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

void cut_log_progress(const char *line)
{
	/* A log file or pipe gets no carriage returns or escape sequences. */
	if (!isatty(fileno(stderr)))
		return;
	pthread_mutex_lock(&log_lock);
	fputs("\r\033[K", stderr);
	if (line != NULL) {
		fputs(line, stderr);
		progress_shown = 1;
	} else {
		progress_shown = 0;
	}
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}
