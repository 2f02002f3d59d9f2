/*
 * runplan.h: the cutover state machine.
 *
 * The cutover is a fixed sequence of steps that depends on the scenario:
 *
 *   classical: cut_access, last_sync, mx_change, mx_wait, postsync, done
 *   lucky:     cut_access, [imap_park, imap_park_wait,] last_sync,
 *              mx_change, mx_wait, postsync, imap_move, imap_wait, done
 *
 * (imap_park* only when [imap] parking is set.)  runplan_steps() decides
 * the sequence (pure); runplan_execute() performs it through a table of
 * operations, writing each step's intent to the journal before it acts and
 * its outcome after.  A step whose last journal entry is "done" is skipped
 * on resume; any other step is replayed, which is safe because every
 * operation is idempotent (DNS updates find the change already made, syncs
 * copy nothing twice, waits recompute their deadline from what they
 * journaled).  Every transition is logged as `old -> new` and sent to the
 * notify operation.
 *
 * The operations are injected so the sequencing, journaling and resume
 * logic is tested with a fake clock and fake operations; cmd_run.c binds
 * them to the DNS, propagation and sync modules.
 */
#ifndef CUTOVER_CUTOVER_RUNPLAN_H
#define CUTOVER_CUTOVER_RUNPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "cutover/journal.h"
#include "cutover/plan.h"

typedef enum runplan_step {
	RUN_STEP_START = 0, /* nothing done yet */
	RUN_STEP_CUT_ACCESS,
	RUN_STEP_IMAP_PARK,
	RUN_STEP_IMAP_PARK_WAIT,
	RUN_STEP_LAST_SYNC,
	RUN_STEP_MX_CHANGE,
	RUN_STEP_MX_WAIT,
	RUN_STEP_POSTSYNC,
	RUN_STEP_IMAP_MOVE,
	RUN_STEP_IMAP_WAIT,
	RUN_STEP_DONE,
	RUN_STEP_COUNT
} runplan_step;

/** The journal name of a step ("cut_access", "mx_wait", ...). Static. */
const char *runplan_step_name(runplan_step step);
/** A sentence for people ("change the MX to [mx] new"). Static. */
const char *runplan_step_title(runplan_step step);
/** Parses a journal name back; RUN_STEP_COUNT when unknown. */
runplan_step runplan_step_parse(const char *name);

/**
 * The steps for this plan, in order, ending with RUN_STEP_DONE.
 * @return the number of steps written to steps (at most RUN_STEP_COUNT).
 */
size_t runplan_steps(const plan *p, runplan_step *steps);

/**
 * The start of the postsync window (epoch seconds): with [sync] maxage,
 * now - maxage; otherwise the seed plan's "last day" by arrival time,
 * widened to reach back `margin` before the last sync began when the
 * cutover took longer than a day.  last_sync_start <= 0 means unknown.
 */
double runplan_postsync_since(double now, double last_sync_start,
			      int has_maxage, double maxage, double margin);

/** What a wait step waits for. */
typedef enum runplan_change {
	RUN_CHANGE_MX = 0,      /* [mx] new */
	RUN_CHANGE_IMAP,        /* the IMAP name at [imap] new */
	RUN_CHANGE_IMAP_PARKING /* the IMAP name at [imap] parking */
} runplan_change;

/** Counters of one sync pass over every account. */
typedef struct runplan_sync_summary {
	unsigned accounts, failed_accounts;
	uint64_t copied, copied_bytes, deleted1, deleted2;
} runplan_sync_summary;

typedef enum runplan_sync_kind {
	RUN_SYNC_LAST = 0, /* exactly like a presync (delete2) */
	RUN_SYNC_POST,     /* INBOX, arrival window, delete1, never delete2 */
} runplan_sync_kind;

/**
 * The operations the state machine drives.  Each returns 0 or -1 with *st.
 * All must be idempotent: they may be called again after a crash.
 */
typedef struct runplan_ops {
	void *ctx;
	/** Wall clock (epoch seconds). */
	double (*now)(void *ctx);
	/** Sleeps until deadline showing a countdown for `what`; -1 if cancelled. */
	int (*sleep_until)(void *ctx, double deadline, const char *what,
			   cut_status *st);
	/** Runs [hooks] cut_access (nothing when unset). */
	int (*cut_access)(void *ctx, cut_status *st);
	/** Points the IMAP name at "parking", "new" or "old". */
	int (*dns_imap)(void *ctx, const char *which, cut_status *st);
	/** Changes the MX RRset to "new" (or "old"); manual mode waits for it. */
	int (*dns_mx)(void *ctx, const char *which, cut_status *st);
	/**
	 * Waits until the change is visible on every authoritative address;
	 * returns the time it became visible everywhere and the TTL the old
	 * data was served with (plus negative caching where it applies).
	 */
	int (*wait_visible)(void *ctx, runplan_change what, double *visible_at_r,
			    double *old_ttl_r, cut_status *st);
	/** One sync pass over every account. since: postsync window start. */
	int (*sync_all)(void *ctx, runplan_sync_kind kind, double since,
			runplan_sync_summary *sum_r, cut_status *st);
	/** A transition happened (JSON object); failures are the callee's. */
	void (*notify)(void *ctx, const char *event_json);
} runplan_ops;

/**
 * Seconds a replayed last sync or postsync waits before it starts when an
 * earlier attempt died inside it (the step's last entry is its intent) or
 * failed: the time the servers get to finish that attempt's commands, so
 * the replay's listing sees the messages those commands stored.
 */
#define RUNPLAN_RESUME_SETTLE 3.0

/**
 * Runs (or resumes) the cutover from the journal's state to the end.
 * The caller holds the journal lock and has already waited for the
 * migration hour.
 * @return 0 when done; -1 with *st when a step failed (the journal says
 * which; running again resumes there).
 */
int runplan_execute(const plan *p, journal *j, const runplan_ops *ops,
		    cut_status *st);

/**
 * The first step that is not done according to the journal
 * (RUN_STEP_START when nothing ran, RUN_STEP_DONE when finished).
 */
int runplan_current(const plan *p, journal *j, runplan_step *step_r,
		    cut_status *st);

/**
 * After a rollback (before the MX change): journals "rollback" so that
 * every step counts as not done again, and forgets the facts of the
 * aborted run (last sync start, visibility times).  The delete2 lockout
 * is kept if it was set.
 */
int runplan_reset(journal *j, cut_status *st);

/** One line of the --dry-run timeline. */
typedef struct runplan_timeline_entry {
	runplan_step step;
	double start;     /* predicted start (epoch seconds) */
	double end;       /* predicted end; for waits the computed deadline */
	const char *note; /* static text, e.g. "estimate from presyncs" */
} runplan_timeline_entry;

/**
 * The predicted timeline (pure): the steps for this plan from `at`, with
 * the last sync lasting `lastsync_secs` (the estimate), the postsync
 * `postsync_secs`, changes visible everywhere `propagation_secs` after
 * they are sent, and caches draining after the TTLs the old data is
 * served with (mx_ttl, imap_ttl) plus the plan's margin.
 * @return the number of entries written (at most RUN_STEP_COUNT).
 */
size_t runplan_timeline(const plan *p, double at, double lastsync_secs,
			double postsync_secs, double propagation_secs,
			double mx_ttl, double imap_ttl,
			runplan_timeline_entry *entries);

#endif
