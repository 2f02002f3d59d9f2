/*
 * secret.h: files that hold secrets (TSIG keys, accounts CSV, password
 * files).  They must not be readable by group or others: cutover refuses
 * them with a message saying how to fix it, as ssh does for private keys.
 */
#ifndef CUTOVER_COMMON_SECRET_H
#define CUTOVER_COMMON_SECRET_H

#include "common/status.h"

/**
 * Checks that path exists, is a regular file, and has no group/other
 * permission bits.  @return 0, or -1 with *st saying what to do.
 */
int cut_secret_file_check(const char *path, cut_status *st);

/**
 * Reads the first line of a secret file (a password file), without the
 * line ending, after cut_secret_file_check().  *secret_r is malloc'ed;
 * release it with cut_secret_free().  @return 0 or -1.
 */
int cut_secret_read_first_line(const char *path, char **secret_r,
			       cut_status *st);

#endif
