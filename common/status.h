/*
 * status.h: the one error type that crosses module boundaries.
 *
 * A failure is classified by what the caller can do about it (retry it,
 * give up, or it was cancelled) and by its scope (one message, a folder, an
 * account, a server, something local such as a file).  The message is a
 * human sentence naming what was involved (file:line, host:port, mailbox,
 * record) and, where possible, what to do.  Raw errno values and library
 * codes never leave the module that called the library: they are turned
 * into a sentence here.
 *
 * Convention: a function that can fail takes a `cut_status *st` as its last
 * parameter and returns 0 on success, -1 on failure with *st filled in.
 * `st` may be NULL when the caller does not want the details.
 */
#ifndef CUTOVER_COMMON_STATUS_H
#define CUTOVER_COMMON_STATUS_H

#include <stdarg.h>
#include <stddef.h>

typedef enum cut_kind {
	CUT_OK = 0,
	CUT_TEMP,      /* may succeed if retried later (connection lost, timeout) */
	CUT_FINAL,     /* retrying the same thing will fail the same way */
	CUT_CANCELLED, /* stopped on request (signal, deadline) */
} cut_kind;

typedef enum cut_scope {
	CUT_SCOPE_NONE = 0,
	CUT_SCOPE_MESSAGE,
	CUT_SCOPE_FOLDER,
	CUT_SCOPE_ACCOUNT,
	CUT_SCOPE_SERVER,
	CUT_SCOPE_LOCAL, /* a local file, the state directory, the plan */
} cut_scope;

#define CUT_STATUS_MSG_MAX 1024

typedef struct cut_status {
	cut_kind kind;
	cut_scope scope;
	/* A server-suggested delay before retrying (throttling), 0 if none. */
	unsigned retry_after_ms;
	char msg[CUT_STATUS_MSG_MAX];
} cut_status;

/** Resets *st to success with an empty message. NULL is accepted. */
void cut_status_clear(cut_status *st);

/**
 * Fills *st (when not NULL) with a failure and a printf-style message.
 * @return always -1, so that `return cut_status_set(...)` reads naturally.
 */
int cut_status_set(cut_status *st, cut_kind kind, cut_scope scope,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int cut_status_vset(cut_status *st, cut_kind kind, cut_scope scope,
		    const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/**
 * Prefixes the existing message with a printf-style context, keeping the
 * kind and scope: "host1.example:993: " + "connection reset".
 * @return always -1.
 */
int cut_status_prefix(cut_status *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Copies src into dst (both may be NULL). */
void cut_status_copy(cut_status *dst, const cut_status *src);

/** "ok", "temporary", "final", "cancelled". Static string. */
const char *cut_kind_name(cut_kind kind);
/** "none", "message", "folder", "account", "server", "local". */
const char *cut_scope_name(cut_scope scope);

/** True when the status says failure (NULL counts as success). */
static inline int cut_status_failed(const cut_status *st)
{
	return st != NULL && st->kind != CUT_OK;
}

#endif
