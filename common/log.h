/*
 * log.h: leveled, thread-safe logging to stderr.
 *
 * One global level set by the CLI (-q, -v, -vv).  Lines carry a UTC time
 * stamp and the level.  Nothing here ever prints a secret: callers pass
 * already-redacted text (the IMAP trace shows `LOGIN user ***`).
 */
#ifndef CUTOVER_COMMON_LOG_H
#define CUTOVER_COMMON_LOG_H

typedef enum cut_log_level {
	CUT_LOG_ERROR = 0,
	CUT_LOG_WARN,
	CUT_LOG_INFO,
	CUT_LOG_DEBUG,
	CUT_LOG_TRACE, /* protocol traces */
} cut_log_level;

/** Sets the most verbose level that is printed (default CUT_LOG_INFO). */
void cut_log_set_level(cut_log_level level);
cut_log_level cut_log_get_level(void);
/** True when a message at `level` would be printed. */
int cut_log_enabled(cut_log_level level);

void cut_log(cut_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define cut_error(...) cut_log(CUT_LOG_ERROR, __VA_ARGS__)
#define cut_warn(...) cut_log(CUT_LOG_WARN, __VA_ARGS__)
#define cut_info(...) cut_log(CUT_LOG_INFO, __VA_ARGS__)
#define cut_debug(...) cut_log(CUT_LOG_DEBUG, __VA_ARGS__)
#define cut_trace(...) cut_log(CUT_LOG_TRACE, __VA_ARGS__)

/**
 * Live progress line (a terminal only): rewrites the current line on
 * stderr.  Log lines printed meanwhile clear it first.  Pass NULL to clear.
 */
void cut_log_progress(const char *line);

#endif
