/*
 * utf7.h: modified UTF-7 mailbox names (RFC 3501 5.1.3) <-> UTF-8.
 *
 * Printable US-ASCII except "&" stands for itself, "&" is "&-", anything
 * else is "&" + modified BASE64 (RFC 2152 with "," instead of "/") of the
 * UTF-16BE text + "-".  Decoding is strict: a name that is not the
 * canonical encoding (raw 8-bit, unterminated shift, bad padding bits, an
 * encoded printable ASCII character, "&...-&...-" runs that should have
 * been one, lone surrogates) is rejected, so that encode(decode(x)) == x.
 */
#ifndef CUTOVER_IMAPSYNC_UTF7_H
#define CUTOVER_IMAPSYNC_UTF7_H

#include <stddef.h>

#include "common/status.h"

/**
 * Decodes modified UTF-7 `in` (len bytes) to UTF-8.
 * @param out_r malloc'ed NUL-terminated UTF-8, freed by the caller.
 * @return 0, or -1 with *st (CUT_FINAL, scope folder, naming the name).
 */
int imap_utf7_decode(const char *in, size_t len, char **out_r, cut_status *st);

/**
 * Encodes UTF-8 `in` (len bytes) to modified UTF-7.
 * @param out_r malloc'ed NUL-terminated result, freed by the caller.
 * @return 0, or -1 with *st when `in` is not valid UTF-8.
 */
int imap_utf7_encode(const char *in, size_t len, char **out_r, cut_status *st);

#endif
