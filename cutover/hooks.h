/*
 * hooks.h: the plan's [hooks]: shell commands (cut_access, restore_access)
 * and the notify webhook.
 *
 * Commands run with /bin/sh -c, stdin from /dev/null, their output passed
 * through to ours, and a few CUTOVER_* variables describing the plan (no
 * secret is ever put in their environment or command line).
 *
 * The webhook gets a JSON POST (libcurl) for each event; a failing webhook
 * is logged and never stops the cutover.
 */
#ifndef CUTOVER_CUTOVER_HOOKS_H
#define CUTOVER_CUTOVER_HOOKS_H

#include "common/status.h"
#include "cutover/plan.h"

/**
 * Runs a hook command (NULL or empty: nothing to do, success).
 * @param name "cut_access" or "restore_access", for messages.
 * @return 0 when it exited 0; -1 with *st naming the exit status.
 */
int hooks_run_command(const plan *p, const char *name, const char *command,
		      cut_status *st);

/**
 * POSTs json to url with a short timeout.  Failures are logged as
 * warnings and otherwise ignored.  @return 0 on a 2xx answer, -1 otherwise.
 */
int hooks_notify(const char *url, const char *json);

#endif
