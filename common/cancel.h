/*
 * cancel.h: process-wide cancellation on SIGINT/SIGTERM.
 *
 * The CLI installs the handlers once; long operations (waits, syncs) poll
 * cut_cancelled() and stop cleanly at a safe point with CUT_CANCELLED,
 * leaving the journal consistent so that running again resumes.
 */
#ifndef CUTOVER_COMMON_CANCEL_H
#define CUTOVER_COMMON_CANCEL_H

/** Installs SIGINT/SIGTERM handlers that set the cancellation flag. */
void cut_cancel_install(void);
/** True once a cancellation was requested. */
int cut_cancelled(void);
/** Requests cancellation (also usable from tests). */
void cut_cancel_request(void);

#endif
