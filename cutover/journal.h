/*
 * journal.h: the state database (SQLite, in the plan's state directory).
 *
 * It holds three things:
 *  - the journal of steps: every step writes its intent before acting and
 *    its outcome after ("intent", "done", "failed"), so that a crashed run
 *    resumes where it stopped and every step can be replayed safely;
 *  - facts: named JSON values that later commands need (the RRsets as
 *    they were before `ttl lower`, the serial after an update, the first
 *    time the low TTL was seen everywhere, "users on host2"...);
 *  - the sync history: one row per presync/last sync/postsync run and one
 *    per account in it, for `cutover estimate` and `cutover status`.
 *
 * Writes are durable when the call returns (synchronous=FULL).  Nothing
 * secret is ever stored: callers pass JSON without passwords or TSIG
 * secrets.
 *
 * Debug builds: with CUTOVER_CRASH_AFTER_WRITES=N in the environment the
 * process exits with status 99 right after its Nth durable write
 * (journal_record, journal_fact_set and the sync history's
 * journal_run_begin/_account/_end), for the crash-at-every-step tests.  The
 * history writes put crash points inside the last sync and the postsync:
 * after one account finished, while other accounts' jobs are in flight.
 *
 * Thread safety: one journal handle may be shared by threads; calls are
 * serialised inside.
 */
#ifndef CUTOVER_CUTOVER_JOURNAL_H
#define CUTOVER_CUTOVER_JOURNAL_H

#include <stdint.h>

#include "common/status.h"

typedef struct journal journal;

/*
 * Well-known facts.  JOURNAL_FACT_USERS_ON_HOST2 is set when the MX change
 * is about to be sent (or by `presync --mark-users-on-host2`): from then on
 * nothing may be deleted on host2, and presync refuses its delete2 mode.
 * Value: {"reason": "...", "time": epoch}.
 */
#define JOURNAL_FACT_USERS_ON_HOST2 "users_on_host2"

/**
 * Opens (creating if needed, mode 0700) state_dir and its database
 * state_dir/cutover.db.  @return 0 and *j_r, or -1 (e.g. read-only or
 * full disk, named in *st).
 */
int journal_open(const char *state_dir, journal **j_r, cut_status *st);

/** Closes the journal (and releases the run lock if held); NULL accepted. */
void journal_close(journal **jp);

/**
 * Takes the exclusive run lock (flock on state_dir/lock) so two runs on one
 * plan cannot interleave.  @return 0; JOURNAL_LOCK_HELD when another
 * process holds it (its PID named in *st when known): the commands refuse
 * with exit 4; -1 when the lock file cannot be opened.
 */
#define JOURNAL_LOCK_HELD (-2)
int journal_lock(journal *j, cut_status *st);

/**
 * Appends a journal entry for step (e.g. "mx_change") with phase
 * "intent", "done" or "failed" and an optional JSON detail (NULL = none).
 */
int journal_record(journal *j, const char *step, const char *phase,
		   const char *detail_json, cut_status *st);

/**
 * The latest entry for step.  When there is none, returns 0 with
 * *phase_r = NULL.  *phase_r and *detail_r are malloc'ed (caller frees);
 * detail_r and time_r may be NULL.
 */
int journal_last(journal *j, const char *step, char **phase_r,
		 char **detail_r, double *time_r, cut_status *st);

/** Iterates over all entries in order; cb returns non-zero to stop. */
typedef int journal_entry_cb(void *ctx, int64_t id, double time,
			     const char *step, const char *phase,
			     const char *detail_json);
int journal_foreach(journal *j, journal_entry_cb *cb, void *ctx,
		    cut_status *st);

/** Sets (replaces) fact key to a JSON value, stamped with the current time. */
int journal_fact_set(journal *j, const char *key, const char *json,
		     cut_status *st);

/**
 * Reads fact key.  Absent: returns 0 with *json_r = NULL.  *json_r is
 * malloc'ed (caller frees); time_r may be NULL.
 */
int journal_fact_get(journal *j, const char *key, char **json_r,
		     double *time_r, cut_status *st);

/** Deletes fact key (absent is fine). */
int journal_fact_del(journal *j, const char *key, cut_status *st);

/* ---- sync history ---- */

/** One account's result within a run (no secrets). */
typedef struct journal_account_result {
	unsigned csv_line;
	const char *user1;
	const char *user2;
	double start, end; /* epoch seconds */
	uint64_t copied, copied_bytes, in_sync, flags_updated;
	uint64_t deleted1, deleted2, failed;
	const char *status; /* "ok", "failed" */
	const char *error;  /* NULL when ok */
} journal_account_result;

/** Starts a run of kind "presync", "lastsync" or "postsync"; *run_id_r. */
int journal_run_begin(journal *j, const char *kind, int64_t *run_id_r,
		      cut_status *st);
int journal_run_account(journal *j, int64_t run_id,
			const journal_account_result *r, cut_status *st);
/** Ends the run with its overall status ("ok", "failed"). */
int journal_run_end(journal *j, int64_t run_id, const char *status,
		    cut_status *st);

/**
 * Durations (end - start, seconds) of the last `max` completed runs of
 * kind, newest first.  *durations_r malloc'ed (caller frees).
 */
int journal_run_durations(journal *j, const char *kind, unsigned max,
			  double **durations_r, unsigned *n_r, cut_status *st);

/**
 * The raw SQLite handle, for modules that keep their own tables in the
 * state database (e.g. the sync engine's folder state).  Owned by the
 * journal; valid until journal_close().
 */
struct sqlite3 *journal_db(journal *j);

#endif
