/* status.c: the shared error type (see status.h). */
#include "common/status.h"

#include <stdio.h>
#include <string.h>

void cut_status_clear(cut_status *st)
{
	if (st == NULL)
		return;
	st->kind = CUT_OK;
	st->scope = CUT_SCOPE_NONE;
	st->retry_after_ms = 0;
	st->msg[0] = '\0';
}

int cut_status_vset(cut_status *st, cut_kind kind, cut_scope scope,
		    const char *fmt, va_list ap)
{
	if (st == NULL)
		return -1;
	st->kind = kind;
	st->scope = scope;
	st->retry_after_ms = 0;
	vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
	return -1;
}

int cut_status_set(cut_status *st, cut_kind kind, cut_scope scope,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cut_status_vset(st, kind, scope, fmt, ap);
	va_end(ap);
	return -1;
}

int cut_status_prefix(cut_status *st, const char *fmt, ...)
{
	char prefix[CUT_STATUS_MSG_MAX];
	char old[CUT_STATUS_MSG_MAX];
	va_list ap;

	if (st == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, st->msg, sizeof(old));
	snprintf(st->msg, sizeof(st->msg), "%s%s", prefix, old);
	if (st->kind == CUT_OK)
		st->kind = CUT_FINAL;
	return -1;
}

void cut_status_copy(cut_status *dst, const cut_status *src)
{
	if (dst == NULL)
		return;
	if (src == NULL) {
		cut_status_clear(dst);
		return;
	}
	*dst = *src;
}

const char *cut_kind_name(cut_kind kind)
{
	switch (kind) {
	case CUT_OK:
		return "ok";
	case CUT_TEMP:
		return "temporary";
	case CUT_FINAL:
		return "final";
	case CUT_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

const char *cut_scope_name(cut_scope scope)
{
	switch (scope) {
	case CUT_SCOPE_NONE:
		return "none";
	case CUT_SCOPE_MESSAGE:
		return "message";
	case CUT_SCOPE_FOLDER:
		return "folder";
	case CUT_SCOPE_ACCOUNT:
		return "account";
	case CUT_SCOPE_SERVER:
		return "server";
	case CUT_SCOPE_LOCAL:
		return "local";
	}
	return "unknown";
}
