/*
 * hex.h: the hex words of the engine's state files (imapsync/sync_state.c,
 * sync_uidcache.c): a string as lowercase hex digits, "-" for the empty
 * string, so that any mailbox name fits in one space-separated word.
 */
#ifndef CUTOVER_COMMON_HEX_H
#define CUTOVER_COMMON_HEX_H

#include <stddef.h>

#include "common/buf.h"

/** "0123456789abcdef" */
extern const char cut_hex_digits[];

/** Value + 1 of each lowercase hex digit, 0 for any other byte. */
extern const signed char cut_hex_plus1[256];

/** Value of a lowercase hex digit, -1 for anything else.  Inline: the
 *  UID cache decodes 64 digits a line. */
static inline int cut_hex_val(char c)
{
	return cut_hex_plus1[(unsigned char)c] - 1;
}

/** Appends s as a hex word ("-" for ""). @return 0 or -1 (out of memory). */
int cut_hex_word_put(cut_buf *b, const char *s);

/**
 * Decodes the hex word [w, w+n); malloc'ed, caller frees. NULL when the
 * word is malformed (odd length, not lowercase hex, an encoded NUL) or on
 * out of memory.
 */
char *cut_hex_word_get(const char *w, size_t n);

/** Whether [w, w+n) is exactly the word cut_hex_word_put() gives for s. */
int cut_hex_word_is(const char *w, size_t n, const char *s);

#endif
