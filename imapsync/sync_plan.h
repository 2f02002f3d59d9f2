/*
 * sync_plan.h: the message diff of one folder pair (pure "decide").
 *
 * Given host1's and host2's message lists of a folder pair, computes the
 * actions that make host2 match host1.  A folder is a MULTISET of
 * identities (identity.h): two identical messages on host1 need two on
 * host2; a third on host2 is an extra (deleted with delete2).
 *
 * Pairing: within one identity, host1 messages are taken unselected first
 * (delete1 mode, so that an old copy already on host2 pairs with the old
 * host1 message and a new identical arrival is still copied), then by UID;
 * each is paired with a host2 message with the same flags if there is one,
 * else with the first unpaired one.
 *
 * Modes:
 *  - exact sync (presync, last sync): unpaired host1 -> COPY; paired with
 *    other flags -> FLAGS (when update_flags); unpaired host2 -> DELETE2
 *    when delete2 is set, else left alone.
 *  - delete1 (postsync): only host1 messages with `selected` set are acted
 *    on.  Unpaired selected -> COPY with delete1_after_copy (the executor
 *    deletes on host1 only once the copy is confirmed); paired selected ->
 *    DELETE1 (already on host2).  Nothing is ever deleted on host2 and
 *    host2 flags are not touched (users work there).  delete1 with delete2
 *    is refused.
 *
 * Actions come out in this order: COPY by host1 UID ascending (arrival
 * order), FLAGS grouped by identical target flag set (one UID STORE per
 * group), DELETE2 by host2 UID, DELETE1 by host1 UID.
 */
#ifndef CUTOVER_IMAPSYNC_SYNC_PLAN_H
#define CUTOVER_IMAPSYNC_SYNC_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "imapsync/identity.h"

#define SYNC_PLAN_NONE ((size_t)-1)

/** One message as listed by FETCH.  Strings belong to the caller. */
typedef struct sync_msg {
	identity id;
	uint32_t uid;
	uint64_t size;        /* RFC822.SIZE */
	int64_t internaldate; /* epoch seconds (RFC 3501 2.3.3) */
	const char *flags;    /* canonical form, see sync_plan_flags_canon() */
	int selected;         /* host1, delete1 mode: in the arrival window */
} sync_msg;

typedef enum sync_action_kind {
	SYNC_ACT_COPY = 0, /* APPEND host1 message i1 to host2 */
	SYNC_ACT_FLAGS,    /* set host2 message i2's flags to host1 i1's */
	SYNC_ACT_DELETE2,  /* delete host2 message i2 */
	SYNC_ACT_DELETE1,  /* delete host1 message i1 (present on host2 as i2) */
} sync_action_kind;

typedef struct sync_action {
	sync_action_kind kind;
	size_t i1; /* index into host1's list, SYNC_PLAN_NONE when none */
	size_t i2; /* index into host2's list, SYNC_PLAN_NONE when none */
	int delete1_after_copy; /* COPY in delete1 mode */
} sync_action;

typedef struct sync_plan_opts {
	int delete2;      /* exact sync: delete host2 extras */
	int delete1;      /* postsync mode */
	int update_flags; /* exact sync: bring host2 flags in line */
	/* host2's PERMANENTFLAGS of the folder (RFC 3501 7.1), as sent
	 * without parentheses.  NULL (not sent, or not known: EXAMINE) or a
	 * list with "\*" means every flag and keyword is kept.  Otherwise
	 * the keywords host2 does not list cannot be stored there (a server
	 * ignores them, RFC 3501 6.4.6, or refuses the command): they are
	 * left out when flags are compared, so that a sync does not try to
	 * set them again on every run.  The system flags are always
	 * compared.  "" (an empty list) keeps no keyword.  The engine sends
	 * host1's flags through sync_plan_flags_keepable() with the same
	 * list, so what is compared is what is sent. */
	const char *permanentflags2;
} sync_plan_opts;

/** The actions; free with sync_plan_free(). */
typedef struct sync_plan {
	sync_action *acts;
	size_t n_acts;
	size_t n_copy, n_flags, n_delete2, n_delete1;
	size_t n_in_sync;    /* host1 messages (selected ones in delete1 mode)
			      * already on host2 with the right flags */
	uint64_t copy_bytes; /* sum of sizes to copy */
} sync_plan;

/**
 * Computes the plan.  The lists are not modified; indexes in the actions
 * refer to them.  @return 0, or -1 with *st (usage error: delete1 with
 * delete2; out of memory).
 */
int sync_plan_compute(const sync_msg *m1, size_t n1, const sync_msg *m2,
		      size_t n2, const sync_plan_opts *opts,
		      sync_plan **plan_r, cut_status *st);

/** Frees the plan and NULLs the pointer; NULL is accepted. */
void sync_plan_free(sync_plan **plan);

/**
 * Canonical form of a flag list (the inside of a FLAGS (...) response,
 * RFC 3501 7.4.2): \Recent dropped (it cannot be stored, RFC 3501 2.3.2),
 * system flags in their RFC spelling, duplicates removed, sorted
 * case-insensitively, single spaces.  Flags and keywords are compared
 * case-insensitively (RFC 9051 2.3.2).  *canon_r malloc'ed.
 * @return 0 or -1 (out of memory).
 */
int sync_plan_flags_canon(const char *flags, char **canon_r);

/**
 * Splits a canonical flag list into what host2 can keep and what it
 * cannot, by host2's PERMANENTFLAGS (RFC 3501 7.1): the system flags
 * (\Seen \Answered \Flagged \Deleted \Draft) always, keywords only when
 * `permanentflags` lists them (case-insensitively) or holds "\*".
 * `permanentflags` as in sync_plan_opts.permanentflags2 (NULL: all kept).
 * A server that is sent a keyword it cannot keep may ignore it or answer
 * NO to the whole APPEND or STORE; the kept list is what to send.
 * @param flags      canonical list (sync_plan_flags_canon()); \Recent is
 *                   never in it
 * @param kept_r     the flags host2 keeps, canonical, malloc'ed
 * @param dropped_r  the keywords left out, canonical, malloc'ed ("" none)
 * @return 0, or -1 (out of memory; both NULL).
 */
int sync_plan_flags_keepable(const char *flags, const char *permanentflags,
			     char **kept_r, char **dropped_r);

/**
 * Adds the flags of the canonical list `more` to the canonical set *set
 * (NULL: empty), which stays canonical (sorted, no duplicates); *set is
 * reallocated only when something is added.  Used to name, once per
 * folder, the keywords host2 cannot keep.
 * @return 0, or -1 (out of memory; *set unchanged).
 */
int sync_plan_flags_union(char **set, const char *more);

/** Name of an action kind: "copy", "flags", "delete2", "delete1". */
const char *sync_plan_action_name(sync_action_kind kind);

#endif
