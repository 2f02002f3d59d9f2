/*
 * str.h: small string helpers that replace the unsafe libc ones
 * (strcpy, sprintf, strtok, atoi are not used in this project).
 */
#ifndef CUTOVER_COMMON_STR_H
#define CUTOVER_COMMON_STR_H

#include <stddef.h>
#include <stdint.h>

/** Copies src into dst of size n, always NUL-terminated. @return strlen(src). */
size_t cut_strlcpy(char *dst, const char *src, size_t n);

/** Parses a whole decimal unsigned number <= max. @return 0 or -1. */
int cut_parse_u64(const char *s, uint64_t max, uint64_t *val_r);

/**
 * cut_parse_u64() of the n bytes at s (no NUL needed): 1 to 23 decimal
 * digits and nothing else, at most max.  For the words of the state
 * files, without a copy.  @return 0, or -1 (*val_r unchanged).
 */
int cut_parse_u64_n(const char *s, size_t n, uint64_t max, uint64_t *val_r);

/** Removes leading and trailing ASCII white space in place; returns s. */
char *cut_str_trim(char *s);

/** ASCII case-insensitive equality. */
int cut_str_ieq(const char *a, const char *b);

/** malloc'ed printf; NULL on out of memory. Caller frees. */
char *cut_strdup_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/** True when the n bytes are valid UTF-8 (no overlongs, no surrogates). */
int cut_utf8_valid(const void *p, size_t n);

/**
 * Wipes a secret (password, TSIG secret) in a way the compiler keeps,
 * then frees it.  NULL is accepted; *sp is set to NULL.
 */
void cut_secret_free(char **sp);

#endif
