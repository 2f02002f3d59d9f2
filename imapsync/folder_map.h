/*
 * folder_map.h: which host2 folder each host1 folder syncs into (pure).
 *
 * Input: both servers' LIST results (names as on the wire: modified UTF-7,
 * RFC 3501 5.1.3, or UTF-8 under RFC 6855; treated as opaque bytes, so
 * names with spaces and non-ASCII characters come out unchanged), their
 * hierarchy separators and personal-namespace prefixes (RFC 2342).
 * Output: one pair per selectable host1 folder, plus the host2 folders that
 * no host1 folder maps to (candidates for --delete2-folders).
 *
 * Rules, in order:
 *  1. INBOX (any case, RFC 3501 5.1) maps to INBOX.
 *  2. host1's personal prefix is removed, the name is split on host1's
 *     separator and joined with host2's, and host2's prefix is prepended.
 *     A host1 name under INBOX (`INBOX/x` with an empty prefix) stays under
 *     INBOX on host2 without host2's prefix (`INBOX.x`, not `INBOX.INBOX.x`).
 *     A host2 separator character inside a host1 name component (e.g. a `.`
 *     in `a.b` going to a `.`-separated server) becomes `_`, so that it
 *     does not create hierarchy that host1 does not have.
 *  3. Special-use folders (RFC 6154 \Sent \Drafts \Trash \Junk \Archive):
 *     a host1 folder of one kind maps onto host2's folder of the same kind
 *     when their names differ, unless another host1 folder already
 *     translates to that name (two host1 folders never share one host2
 *     folder: the exact sync would delete one's messages for the other).
 *     A server that announces no special-use attribute at all gets its
 *     kinds from well-known top-level names ("Sent Items", "Deleted
 *     Items", "Spam", ...).
 *  4. Any remaining collision of two host1 folders on one host2 name is an
 *     error (nothing is synced for the account).
 * \Noselect and \NonExistent host1 folders get no pair: creating their
 * children on host2 creates the hierarchy (RFC 3501 6.3.3).
 */
#ifndef CUTOVER_IMAPSYNC_FOLDER_MAP_H
#define CUTOVER_IMAPSYNC_FOLDER_MAP_H

#include <stddef.h>

#include "common/status.h"

/* folder_info.attrs bits */
enum {
	FOLDER_ATTR_NOSELECT = 1u << 0,    /* \Noselect, RFC 3501 7.2.2 */
	FOLDER_ATTR_NONEXISTENT = 1u << 1, /* \NonExistent, RFC 5258 3 */
	FOLDER_ATTR_SUBSCRIBED = 1u << 2,  /* \Subscribed or in LSUB */
	FOLDER_ATTR_SENT = 1u << 3,        /* RFC 6154 2 */
	FOLDER_ATTR_DRAFTS = 1u << 4,
	FOLDER_ATTR_TRASH = 1u << 5,
	FOLDER_ATTR_JUNK = 1u << 6,
	FOLDER_ATTR_ARCHIVE = 1u << 7,
};
#define FOLDER_ATTR_SPECIAL_MASK                                          \
	(FOLDER_ATTR_SENT | FOLDER_ATTR_DRAFTS | FOLDER_ATTR_TRASH |      \
	 FOLDER_ATTR_JUNK | FOLDER_ATTR_ARCHIVE)

/** One LIST entry.  The strings belong to the caller. */
typedef struct folder_info {
	const char *name;
	unsigned attrs;
} folder_info;

/** One server's folders and personal namespace. Caller-owned. */
typedef struct folder_side {
	const folder_info *folders;
	size_t n;
	const char *prefix; /* personal namespace prefix, "" when none */
	char delim;         /* hierarchy separator, 0 when flat (NIL) */
} folder_side;

/** One folder to sync. */
typedef struct folder_pair {
	char *name1;      /* host1 name (wire form) */
	char *name2;      /* host2 name (wire form) */
	unsigned special; /* FOLDER_ATTR_SENT.. of host1's folder, 0 if none */
	int create;       /* name2 does not exist on host2 */
	int subscribe;    /* subscribed on host1, not yet on host2 */
} folder_pair;

/** The result; free with folder_map_free(). */
typedef struct folder_map {
	folder_pair *pairs;
	size_t n_pairs;
	/* host2 folders no pair maps to and that hold no mapped folder,
	 * deepest first (never INBOX).  Candidates for --delete2-folders. */
	char **host2_only;
	size_t n_host2_only;
} folder_map;

/**
 * Maps host1's folders onto host2's.
 * @param only    host1 names to restrict to (--folder), NULL for all;
 *                a name that host1 does not have is an error.  The
 *                collision check covers all host1 folders regardless.
 * @param map_r   receives a new map owned by the caller
 * @return 0, or -1 with *st (FINAL, account scope) on a name collision,
 *         an unknown --folder name or out of memory.
 */
int folder_map_build(const folder_side *h1, const folder_side *h2,
		     const char *const *only, size_t n_only,
		     folder_map **map_r, cut_status *st);

/**
 * Rule 2 alone: translates one host1 name.  *name2_r malloc'ed (caller
 * frees).  @return 0 or -1 (out of memory).
 */
int folder_map_translate(const folder_side *h1, const folder_side *h2,
			 const char *name1, char **name2_r);

/** The special-use kind of a folder (attribute, or well-known name when
 * the side announces none), 0 when none. */
unsigned folder_map_special(const folder_side *side, const folder_info *f);

/** Frees the map and NULLs the pointer; NULL is accepted. */
void folder_map_free(folder_map **map);

#endif
