/*
 * fsutil.h: the state directory, shared by the journal (cutover/journal.c)
 * and the sync engine's state files (imapsync/sync.c).
 */
#ifndef CUTOVER_COMMON_FSUTIL_H
#define CUTOVER_COMMON_FSUTIL_H

#include "common/status.h"

/**
 * Creates the directory `dir` (mode 700, its parent must exist) unless it
 * exists, and checks that it is a directory this process can write to:
 * a state directory that cannot hold its files is an error before any
 * work starts, not a surprise in the middle of it.
 * @return 0, or -1 with *st naming the directory and the reason.
 */
int cut_dir_ensure(const char *dir, cut_status *st);

#endif
