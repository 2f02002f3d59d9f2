/*
 * sync_state.h: what the sync engine remembers between runs of one
 * account: per folder pair, both servers' UIDVALIDITY, UIDNEXT,
 * HIGHESTMODSEQ (RFC 7162 CONDSTORE) and EXISTS as they were when the
 * pair was last found in sync.
 *
 * A folder pair whose eight values are all unchanged on both servers
 * (and that was synced in the same mode) cannot have changed: every
 * append, expunge or flag change raises HIGHESTMODSEQ (RFC 7162 3.1.1)
 * and an append raises UIDNEXT; a recreated mailbox gets a new
 * UIDVALIDITY (RFC 3501 2.3.1.1).  The engine then skips the listing.
 * Anything else -- a value changed, NOMODSEQ, no entry, a missing,
 * truncated or damaged file -- means a full comparison, so correctness
 * never depends on the state being right; the state only saves work.
 *
 * File format (text, one account per file, written atomically):
 *   cutover-sync-state 1
 *   HEX(name1) HEX(name2) MODE uv1 next1 hms1 exists1 uv2 next2 hms2 exists2
 *   ...
 *   end N FNV1A64-HEX        (count and checksum of the lines above)
 * Names are wire names, hex-encoded (they may hold spaces).
 */
#ifndef CUTOVER_IMAPSYNC_SYNC_STATE_H
#define CUTOVER_IMAPSYNC_SYNC_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/status.h"

/** One server's mailbox counters (SELECT with CONDSTORE). */
typedef struct sync_state_side {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq; /* 0: unknown (NOMODSEQ): never skipped */
	uint32_t exists;
} sync_state_side;

typedef struct sync_state_folder {
	char *name1, *name2; /* wire names, owned by the state */
	char mode[16];       /* sync mode the pair was synced in, e.g. "d2f" */
	sync_state_side s1, s2;
} sync_state_folder;

typedef struct sync_state {
	sync_state_folder *f;
	size_t n, cap;
} sync_state;

/**
 * Parses a state file's bytes (pure).  Any damage (bad header, field,
 * count or checksum) is an error: the caller then starts from an empty
 * state.
 * @param state_r a new state, free with sync_state_free().
 * @return 0, or -1 with *st (CUT_FINAL, naming the line).
 */
int sync_state_parse(const char *data, size_t len, sync_state **state_r,
		     cut_status *st);

/**
 * Reads `path`.  A missing file gives an empty state (return 0); a damaged
 * one gives an empty state and returns 1 with the reason in *st (the
 * caller warns and does full comparisons).
 * @return 0 or 1 with *state_r set, -1 only when out of memory.
 */
int sync_state_load(const char *path, sync_state **state_r, cut_status *st);

/** Writes the state to `path` (mode 600, temp file + rename).
 *  @return 0, or -1 with *st naming the file. */
int sync_state_save(const sync_state *s, const char *path, cut_status *st);

/**
 * Writes `len` bytes to `path` atomically: a temporary file in the same
 * directory (mode 600), renamed over `path`, so a reader sees the old or
 * the new content, never a part.  `what` names the content in the error
 * ("sync state").
 * @return 0, or -1 with *st naming the file.
 */
int sync_state_write_atomic(const char *path, const void *data, size_t len,
			    const char *what, cut_status *st);

/**
 * Appends the content of `path` (at most `max` bytes) to *b.
 * @return 0; 1 when the file does not exist; -1 with *st naming the file
 * when it cannot be read, is larger than `max` or memory runs out.
 */
int sync_state_read_file(const char *path, size_t max, cut_buf *b, cut_status *st);

/** The entry of a folder pair, or NULL; valid until the state changes. */
const sync_state_folder *sync_state_find(const sync_state *s, const char *name1,
					 const char *name2);

/** Adds or replaces the entry of (name1, name2); copies the strings. */
int sync_state_put(sync_state *s, const char *name1, const char *name2,
		   const char *mode, const sync_state_side *s1,
		   const sync_state_side *s2);

/** Removes the entry of (name1, name2) if present. */
void sync_state_drop(sync_state *s, const char *name1, const char *name2);

/** True when both sides of `e` equal s1/s2, in mode `mode`, with known
 *  HIGHESTMODSEQs: the pair is unchanged since it was last in sync. */
int sync_state_unchanged(const sync_state_folder *e, const char *mode,
			 const sync_state_side *s1, const sync_state_side *s2);

/**
 * The account's state file under `dir`: DIR/USER1@HOST1--USER2@HOST2.state
 * with every byte outside [A-Za-z0-9._@-] written as %XX.
 * @return a malloc'ed path, or NULL when out of memory.
 */
char *sync_state_path(const char *dir, const char *user1, const char *host1,
		      const char *user2, const char *host2);

/** Frees and NULLs; NULL accepted. */
void sync_state_free(sync_state **s);

#endif
