/*
 * countdown.h: waiting for a deadline with a visible countdown.
 *
 * On a terminal a live line ("waiting for X: 4m12s left (until T)");
 * otherwise a log line at the start and then every minute or so.  Stops
 * early on SIGINT/SIGTERM (CUT_CANCELLED).
 */
#ifndef CUTOVER_CUTOVER_COUNTDOWN_H
#define CUTOVER_CUTOVER_COUNTDOWN_H

#include "common/status.h"

/**
 * Sleeps until the wall clock (cut_now()) reaches deadline.
 * @param what a short description for the countdown line.
 * @return 0 at the deadline; -1 (CUT_CANCELLED) when interrupted.
 */
int countdown_sleep_until(double deadline, const char *what, cut_status *st);

#endif
