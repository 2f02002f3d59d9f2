/*
 * imap_parse.h: the pure IMAP response parser (RFC 3501 section 7 and 9,
 * RFC 9051, RFC 7888 literals).  Bytes in, events out: no socket, no
 * globals, bounded memory.
 *
 * It works in two stages.  Framing is a byte-level state machine that
 * collects one response (a line plus the literals it announces) and is
 * resumable on any split of the input.  When a response is complete it is
 * parsed from memory into an imap_resp tree.
 *
 * Literals up to `literal_buffer_max` bytes are kept inside the response.
 * Larger literals (message bodies from FETCH BODY[]) are not buffered:
 * the parser emits IMAP_EV_LITERAL_BEGIN (size and the response text read
 * so far), IMAP_EV_LITERAL_DATA events pointing straight into the caller's
 * input (zero copy), IMAP_EV_LITERAL_END, and later the completed response
 * in which that literal appears as an IMAP_ITEM_STREAMED item.
 *
 * Limits: a response (text + buffered literals) longer than `line_max`,
 * or a streamed literal larger than `literal_stream_max`, is an error, not
 * an allocation.  After an error the parser stays failed until reset.
 */
#ifndef CUTOVER_IMAPSYNC_IMAP_PARSE_H
#define CUTOVER_IMAPSYNC_IMAP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef enum imap_item_type {
	IMAP_ITEM_ATOM = 1, /* atom, number, flag (\Seen), BODY[...]<n> */
	IMAP_ITEM_STRING,   /* quoted string (unescaped) or buffered literal */
	IMAP_ITEM_NIL,
	IMAP_ITEM_LIST,     /* ( ... ), children in `child` */
	IMAP_ITEM_STREAMED, /* literal handed out as LITERAL_* events */
} imap_item_type;

/* imap_item.flags */
#define IMAP_ITEM_F_LITERAL 1u  /* a string that came as {n} / {n+} */
#define IMAP_ITEM_F_LITERAL8 2u /* ~{n} (RFC 3516) */

/**
 * One token of a response.  Lists are linked through `child` and `next`.
 * `str` is NUL-terminated (a literal may also contain NULs: use `len`);
 * empty for lists, NIL and streamed items.  All items and strings are owned
 * by the parser and valid until the next imap_parse_next() call.
 */
typedef struct imap_item {
	imap_item_type type;
	unsigned flags;
	const char *str;
	size_t len;
	uint64_t size; /* IMAP_ITEM_STREAMED: the literal's size */
	const struct imap_item *child;
	const struct imap_item *next;
} imap_item;

typedef enum imap_resp_kind {
	IMAP_RESP_UNTAGGED = 1, /* "* ..." */
	IMAP_RESP_TAGGED,       /* "A0001 OK ..." */
	IMAP_RESP_CONTINUE,     /* "+ ..." (continuation request) */
} imap_resp_kind;

typedef enum imap_status {
	IMAP_ST_NONE = 0, /* a data response such as "* 3 EXISTS" */
	IMAP_ST_OK,
	IMAP_ST_NO,
	IMAP_ST_BAD,
	IMAP_ST_PREAUTH,
	IMAP_ST_BYE,
} imap_status;

/* Response codes (RFC 3501 7.1, RFC 4315 UIDPLUS, RFC 7162 CONDSTORE,
 * RFC 5530 response codes). */
typedef enum imap_code_kind {
	IMAP_CODE_NONE = 0,
	IMAP_CODE_OTHER, /* a code not listed here: see name/args */
	IMAP_CODE_ALERT,
	IMAP_CODE_APPENDUID,     /* num1 = uidvalidity, num2 = uid (or first uid of args) */
	IMAP_CODE_COPYUID,       /* num1 = uidvalidity, args = source set, dest set */
	IMAP_CODE_UIDVALIDITY,   /* num1 */
	IMAP_CODE_UIDNEXT,       /* num1 */
	IMAP_CODE_UNSEEN,        /* num1 */
	IMAP_CODE_HIGHESTMODSEQ, /* num1 */
	IMAP_CODE_NOMODSEQ,
	IMAP_CODE_PERMANENTFLAGS, /* args = one list */
	IMAP_CODE_CAPABILITY,     /* args = the capability atoms */
	IMAP_CODE_READ_WRITE,
	IMAP_CODE_READ_ONLY,
	IMAP_CODE_TRYCREATE,
	IMAP_CODE_UNAVAILABLE,
	IMAP_CODE_AUTHENTICATIONFAILED,
	IMAP_CODE_AUTHORIZATIONFAILED,
	IMAP_CODE_EXPIRED,
	IMAP_CODE_PRIVACYREQUIRED,
	IMAP_CODE_CONTACTADMIN,
	IMAP_CODE_NOPERM,
	IMAP_CODE_INUSE,
	IMAP_CODE_EXPUNGEISSUED,
	IMAP_CODE_CORRUPTION,
	IMAP_CODE_SERVERBUG,
	IMAP_CODE_CLIENTBUG,
	IMAP_CODE_CANNOT,
	IMAP_CODE_LIMIT,
	IMAP_CODE_OVERQUOTA,
	IMAP_CODE_ALREADYEXISTS,
	IMAP_CODE_NONEXISTENT,
	IMAP_CODE_CLOSED,
	IMAP_CODE_BADCHARSET,
	IMAP_CODE_PARSE,
	IMAP_CODE_UIDNOTSTICKY,
	IMAP_CODE_MODIFIED, /* RFC 7162 3.1.3: args = the failed set */
} imap_code_kind;

typedef struct imap_code {
	imap_code_kind kind;
	const char *name;       /* as sent, e.g. "APPENDUID"; "" when none */
	const imap_item *args;  /* items after the name, NULL when none */
	uint64_t num1, num2;    /* see imap_code_kind */
} imap_code;

/**
 * One complete response.  Owned by the parser, valid until the next
 * imap_parse_next() call.
 *
 *   "* 3 EXISTS"            untagged, has_number, number=3, name "EXISTS"
 *   "* 1 FETCH (UID 5 ...)" untagged, number=1, name "FETCH", args = (list)
 *   "* LIST (\Sent) "/" x"  untagged, name "LIST", args = list, "/", x
 *   "* OK [UIDNEXT 4] hi"   untagged, status OK, name "OK", code, text "hi"
 *   "A1 NO [OVERQUOTA] x"   tagged "A1", status NO, code, text "x"
 *   "+ go ahead"            continuation, text "go ahead"
 */
typedef struct imap_resp {
	imap_resp_kind kind;
	const char *tag;     /* tagged responses, else "" */
	imap_status status;  /* OK/NO/BAD/PREAUTH/BYE, or NONE for data */
	int has_number;
	uint64_t number;     /* "* n EXISTS", "* n FETCH" */
	const char *name;    /* upper-cased keyword ("FETCH", "OK"); "" for + */
	const imap_item *args; /* data responses: the items after name */
	imap_code code;      /* status responses */
	const char *text;    /* human-readable text (status, continuation) */
	const char *raw;     /* the response text as received, literals
				replaced by "{n}" markers; NUL-terminated */
	size_t raw_len;
} imap_resp;

typedef enum imap_event_kind {
	IMAP_EV_NONE = 0,      /* all input consumed, need more bytes */
	IMAP_EV_RESPONSE,      /* `resp` is a complete response */
	IMAP_EV_LITERAL_BEGIN, /* a streamed literal starts: `size`, `prefix` */
	IMAP_EV_LITERAL_DATA,  /* `data`,`len`: the next bytes of it */
	IMAP_EV_LITERAL_END,   /* the streamed literal is complete */
} imap_event_kind;

typedef struct imap_event {
	imap_event_kind kind;
	const imap_resp *resp; /* IMAP_EV_RESPONSE */
	uint64_t size;         /* IMAP_EV_LITERAL_BEGIN: literal size */
	/* IMAP_EV_LITERAL_BEGIN: the response text before the literal, e.g.
	 * "* 12 FETCH (UID 5 BODY[] " (see imap_parse_fetch_prefix()). */
	const char *prefix;
	size_t prefix_len;
	const void *data; /* IMAP_EV_LITERAL_DATA: points into the input */
	size_t len;
} imap_event;

typedef struct imap_parse_limits {
	size_t line_max;           /* response text + buffered literals; 0 = 1 MiB */
	size_t literal_buffer_max; /* larger literals are streamed; 0 = 64 KiB */
	uint64_t literal_stream_max; /* 0 = 4 GiB */
} imap_parse_limits;

typedef struct imap_parser imap_parser;

/**
 * Creates a parser.  `limits` may be NULL for the defaults; it is copied.
 * @return 0 and *p_r (free with imap_parser_free), or -1 (out of memory).
 */
int imap_parser_new(const imap_parse_limits *limits, imap_parser **p_r,
		    cut_status *st);

/** Frees the parser and everything it handed out; NULLs *pp. */
void imap_parser_free(imap_parser **pp);

/** Forgets any partial response and a sticky error (new connection). */
void imap_parser_reset(imap_parser *p);

/**
 * Consumes input until one event is ready or the input is exhausted.
 *
 * Call it in a loop, advancing by *used_r each time, until it returns
 * IMAP_EV_NONE (everything consumed and buffered where needed).  The
 * event's pointers are valid until the next call; LITERAL_DATA points into
 * `in`.  The caller must not change already-fed bytes; it may feed the
 * next bytes from a different buffer.
 *
 * @param used_r bytes of `in` consumed (may be < len when an event is
 *        returned).
 * @return 0 with *ev_r, or -1 with *st on a protocol error (CUT_TEMP,
 *         scope server: "unparsable response ...", "response line longer
 *         than N bytes", "literal of N bytes exceeds the limit of M").
 */
int imap_parse_next(imap_parser *p, const void *in, size_t len,
		    size_t *used_r, imap_event *ev_r, cut_status *st);

/**
 * Extracts the message sequence number and UID (0 when not (yet) sent)
 * from the text of an IMAP_EV_LITERAL_BEGIN prefix such as
 * "* 12 FETCH (UID 5 FLAGS (\Seen) BODY[] ".  Also returns the name of the
 * item the literal belongs to ("BODY[]", "BODY[HEADER]", "RFC822") in
 * section (NUL-terminated, truncated to section_size).
 * @return 0, or -1 when the prefix is not the start of a FETCH response.
 */
int imap_parse_fetch_prefix(const char *prefix, size_t len, uint32_t *seq_r,
			    uint32_t *uid_r, char *section, size_t section_size);

/* Helpers over parsed items. */

/** The n-th (0-based) sibling starting at `it`, or NULL. */
const imap_item *imap_item_nth(const imap_item *it, size_t n);
/** True when it is an atom or string equal to s (ASCII case-insensitive). */
int imap_item_is(const imap_item *it, const char *s);
/** Parses an atom as an unsigned number <= max. @return 0 or -1. */
int imap_item_u64(const imap_item *it, uint64_t max, uint64_t *val_r);
/**
 * In a FETCH attribute list ("(UID 5 FLAGS (...))"), the value following
 * the attribute name `name` (case-insensitive), or NULL.
 */
const imap_item *imap_item_fetch_attr(const imap_item *list, const char *name);

/**
 * Iterates over an RFC 3501 9 sequence-set ("1:3,7,9:*") such as a UID set
 * or the set of a VANISHED response: each call reads one element into
 * [*lo_r, *hi_r] (ordered, "*" = UINT32_MAX) and advances *p.
 * @return 1 for an element, 0 at the end of the string, -1 on a syntax
 *         error (zero, a number above 2^32-1, a stray character).
 */
int imap_seqset_next(const char **p, uint32_t *lo_r, uint32_t *hi_r);

/**
 * Decodes "* VANISHED [(EARLIER)] uid-set" (RFC 7162 3.2.10, QRESYNC).
 * @param earlier_r 1 for VANISHED (EARLIER) (answer to a FETCH with the
 *        VANISHED modifier or a SELECT with QRESYNC: the UIDs were
 *        expunged some time before; EXISTS is not affected), 0 for a
 *        live expunge (each UID decrements EXISTS like an EXPUNGE).
 * @param set_r the UID set (valid as long as r), checked to be well
 *        formed; walk it with imap_seqset_next().
 * @return 0, or -1 when r is not a well-formed VANISHED response.
 */
int imap_resp_vanished(const imap_resp *r, int *earlier_r, const char **set_r);

/** "OK", "NO", ... for logs. Static string. */
const char *imap_status_name(imap_status s);

#endif
