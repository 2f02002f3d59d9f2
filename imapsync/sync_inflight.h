/*
 * sync_inflight.h: the record of APPENDs that a server may still commit
 * after the process that sent them died.
 *
 * An IMAP server keeps executing a command whose last byte it received,
 * even when the client is gone (kill -9 between the APPEND's last byte
 * and its tagged OK).  A rerun that lists host2 before that commit would
 * copy those messages a second time.  So, before the last line of each
 * APPEND command goes out, the engine appends to this record, durably
 * (fdatasync), which host2 folder and which message identities the
 * command carries; once every APPEND of a folder was answered it writes
 * that the folder is closed.  A rerun that finds a folder still open
 * knows copies may be in flight (sync.c: waits, lists again, and removes
 * its own extra copies).
 *
 * File DIR/USER1@HOST1--USER2@HOST2.inflight (sync_state_path() with
 * another suffix), append-only text, one line per event:
 *   B EPOCH_MS HEX(name2) IDHEX [IDHEX...]   a batch is about to be sent
 *   E HEX(name2)                             the folder is closed
 * Replaying the lines gives, per host2 folder, the identities of the
 * batches not closed since and the time of the latest one.  A torn last
 * line (no newline: the process died while writing it) is ignored: its
 * command was never sent.  The file is removed when nothing is open.
 * One file per account; not shared between threads.
 */
#ifndef CUTOVER_IMAPSYNC_SYNC_INFLIGHT_H
#define CUTOVER_IMAPSYNC_SYNC_INFLIGHT_H

#include <stddef.h>

#include "common/status.h"
#include "imapsync/identity.h"

/** One host2 folder with batches not closed. */
typedef struct sync_inflight_folder {
	char *name2;   /* wire name */
	double sent;   /* epoch seconds of its latest batch */
	identity *ids; /* sorted (identity_cmp), duplicates kept */
	size_t n, cap;
} sync_inflight_folder;

typedef struct sync_inflight {
	sync_inflight_folder *f; /* folders an earlier run left open */
	size_t n, cap;
	char **open;   /* folders this run began and has not closed */
	size_t n_open;
	char *path;    /* NULL: parsed only, nothing written */
	int fd;        /* append descriptor, -1 until the first write */
} sync_inflight;

/**
 * Replays a record's bytes (pure).  Malformed lines are skipped and
 * counted in *bad_r (a torn last line is not counted).
 * @param r_r a new record without a file, free with sync_inflight_free().
 * @return 0, or -1 with *st (out of memory).
 */
int sync_inflight_parse(const char *data, size_t len, sync_inflight **r_r,
			size_t *bad_r, cut_status *st);

/**
 * Reads `path` (a missing file is an empty record) and keeps the path
 * for the writes of this run.  Malformed lines are warned about.
 * @return 0, or -1 with *st (unreadable file, out of memory).
 */
int sync_inflight_open(const char *path, sync_inflight **r_r, cut_status *st);

/** The open entry an earlier run left for `name2`, or NULL. */
const sync_inflight_folder *sync_inflight_find(const sync_inflight *r,
					       const char *name2);

/** True when `id` is among the entry's identities (f may be NULL). */
int sync_inflight_has(const sync_inflight_folder *f, const identity *id);

/**
 * Records, durably (written and fdatasync'ed when this returns), that a
 * batch with `ids` is about to be sent to host2 folder `name2` at `now`.
 * Does not change what sync_inflight_find() returns.  No-op without a
 * path.  @return 0, or -1 with *st naming the file.
 */
int sync_inflight_begin(sync_inflight *r, const char *name2, double now,
			const identity *const *ids, size_t n, cut_status *st);

/**
 * Closes `name2`: every APPEND this run sent there was answered and the
 * earlier run's entry, if any, was dealt with.  Written without fsync (a
 * lost close only makes the next run check again).  The entry is
 * dropped from memory.
 */
void sync_inflight_end(sync_inflight *r, const char *name2);

/**
 * Frees the record and NULLs the pointer (NULL accepted).  The file is
 * removed when no folder is open any more (earlier entries all closed,
 * this run's batches all closed).
 */
void sync_inflight_free(sync_inflight **r);

#endif
