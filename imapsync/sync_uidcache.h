/*
 * sync_uidcache.h: what the sync engine remembers about each message of a
 * folder pair between runs: per side and UID its identity, RFC822.SIZE
 * and INTERNALDATE, so that a changed folder can be listed with
 * `UID FETCH 1:* (UID FLAGS)` and the full items (headers) fetched only
 * for UIDs not remembered.
 *
 * Why it may be trusted at all: a UID is never reused for another message
 * within one UIDVALIDITY (RFC 3501 2.3.1.1), and a message's bytes never
 * change, so what a server answered for (UIDVALIDITY, UID) stays true.
 * A side whose UIDVALIDITY differs from the one recorded is not used.
 * Every entry comes from a FETCH answer of that server, never from what
 * the engine sent.  The engine uses the cache only when the result adds
 * up (see sync.c): a missing, damaged or inconsistent cache means the
 * full listing, so correctness never depends on it.
 *
 * One file per folder pair, under DIR/ACCOUNT.uids/ next to the state
 * file (sync_state.h), named by a hash of the two wire names; written
 * atomically (temp file + rename, mode 600).  Text:
 *   cutover-uid-cache 2               (a version 1 file reads as empty)
 *   names HEX(name1) HEX(name2)
 *   uidvalidity UV1 UV2            (0: nothing known for that side)
 *   SIDE UID SIZE EPOCH IDHEX DATE (SIDE 1 or 2, UIDs ascending per side,
 *                                   DATE the INTERNALDATE as sent)
 *   ...
 *   end N SUM-HEX                  (entry count and 64-bit checksum of
 *                                   the lines above, uidcache_sum())
 */
#ifndef CUTOVER_IMAPSYNC_SYNC_UIDCACHE_H
#define CUTOVER_IMAPSYNC_SYNC_UIDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "imapsync/identity.h"

/* Longest INTERNALDATE kept ("17-Jul-1996 02:44:25 -0700" is 26). */
#define SYNC_UIDCACHE_DATE_MAX 40

typedef struct sync_uidcache_entry {
	uint32_t uid;
	uint64_t size;      /* RFC822.SIZE */
	int64_t epoch;      /* INTERNALDATE in epoch seconds */
	identity id;
	char idate[SYNC_UIDCACHE_DATE_MAX + 1]; /* INTERNALDATE as sent */
} sync_uidcache_entry;

typedef struct sync_uidcache_side {
	uint32_t uidvalidity; /* 0: nothing known */
	sync_uidcache_entry *e; /* ascending UIDs once sorted */
	size_t n, cap;
} sync_uidcache_side;

typedef struct sync_uidcache {
	char *name1, *name2; /* wire names, owned */
	sync_uidcache_side s[2]; /* host1, host2 */
} sync_uidcache;

/**
 * A new empty cache for the pair (both UIDVALIDITYs 0).
 * @return NULL when out of memory; free with sync_uidcache_free().
 */
sync_uidcache *sync_uidcache_new(const char *name1, const char *name2);

/**
 * Adds an entry to a side (any order; call sync_uidcache_sort() before
 * lookups or saving).  `idate` longer than SYNC_UIDCACHE_DATE_MAX, empty,
 * or holding a byte outside printable ASCII is refused (-1), as is uid 0.
 * @return 0, or -1 (refused or out of memory).
 */
int sync_uidcache_add(sync_uidcache_side *s, uint32_t uid, uint64_t size,
		      int64_t epoch, const identity *id, const char *idate);

/**
 * Sorts a side by UID.  @return 0, or -1 when a UID is there twice (the
 * side is then useless: the caller empties it).
 */
int sync_uidcache_sort(sync_uidcache_side *s);

/** Empties a side and sets its UIDVALIDITY. */
void sync_uidcache_reset(sync_uidcache_side *s, uint32_t uidvalidity);

/** The entry of `uid` in a sorted side, or NULL.  Valid until the side
 *  changes. */
const sync_uidcache_entry *sync_uidcache_find(const sync_uidcache_side *s,
					      uint32_t uid);

/**
 * Parses a cache file's bytes (pure).  Any damage -- bad header, names
 * other than name1/name2, a malformed line, UIDs not strictly ascending,
 * a wrong count or checksum, bytes after the end line -- is an error.
 * @param cache_r a new cache, free with sync_uidcache_free().
 * @return 0, or -1 with *st (CUT_FINAL, naming the line).
 */
int sync_uidcache_parse(const char *data, size_t len, const char *name1,
			const char *name2, sync_uidcache **cache_r,
			cut_status *st);

/**
 * Reads the pair's file `path`.  A missing file gives an empty cache
 * (return 0); a damaged or foreign one an empty cache and 1 with the
 * reason in *st.
 * @return 0 or 1 with *cache_r set, -1 only when out of memory.
 */
int sync_uidcache_load(const char *path, const char *name1, const char *name2,
		       sync_uidcache **cache_r, cut_status *st);

/**
 * Writes the cache (both sides sorted) to `path`: the directory is
 * created (mode 700) when missing, the file is written to a temporary
 * name (mode 600) and renamed over `path`.
 * @return 0, or -1 with *st naming the file.
 */
int sync_uidcache_save(const sync_uidcache *c, const char *path,
		       cut_status *st);

/**
 * The pair's file: DIR/HASH.uids where DIR is the account's state file
 * `state_path` with ".state" replaced by ".uids" and HASH the FNV-1a 64
 * of "name1\0name2" in hex (names are checked on load).
 * @return a malloc'ed path, or NULL when out of memory or when
 * `state_path` does not end in ".state".
 */
char *sync_uidcache_path(const char *state_path, const char *name1,
			 const char *name2);

/** Frees and NULLs; NULL accepted. */
void sync_uidcache_free(sync_uidcache **c);

#endif
