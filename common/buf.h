/*
 * buf.h: a growable byte buffer, always NUL-terminated.
 *
 * The buffer owns `data`; cut_buf_free() releases it.  An optional `limit`
 * bounds growth: an append that would pass it fails instead of allocating
 * (bounded memory against hostile peers).
 */
#ifndef CUTOVER_COMMON_BUF_H
#define CUTOVER_COMMON_BUF_H

#include <stddef.h>

typedef struct cut_buf {
	char *data;   /* NUL-terminated; NULL until the first append */
	size_t len;   /* bytes used, not counting the NUL */
	size_t cap;   /* bytes allocated */
	size_t limit; /* maximum len, 0 = unlimited */
} cut_buf;

#define CUT_BUF_INIT {NULL, 0, 0, 0}

/** Makes room for `extra` more bytes. @return 0, or -1 (limit or ENOMEM). */
int cut_buf_reserve(cut_buf *b, size_t extra);
/** Appends n bytes. @return 0 or -1 (limit reached, out of memory). */
int cut_buf_append(cut_buf *b, const void *p, size_t n);
int cut_buf_puts(cut_buf *b, const char *s);
int cut_buf_printf(cut_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** Drops the first n bytes (consumed input). */
void cut_buf_consume(cut_buf *b, size_t n);
/** Empties the buffer, keeping its memory. */
void cut_buf_reset(cut_buf *b);
/** Releases the memory; the buffer may be reused afterwards. */
void cut_buf_free(cut_buf *b);
/** Hands the data over to the caller (free() it) and empties the buffer. */
char *cut_buf_steal(cut_buf *b);

#endif
