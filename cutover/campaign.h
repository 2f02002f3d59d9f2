/*
 * campaign.h: every account of the plan's CSV through the sync engine,
 * `jobs` accounts at a time, in threads.
 *
 * Used by `cutover presync` (exact sync, or copy only once users work on
 * host2), by `cutover run` for the last sync (exactly like a presync) and
 * for the postsync (INBOX only, messages that arrived since T, delete1,
 * never delete2), and by `cutover check` (every account logs in on both
 * sides).
 *
 * What it owns:
 *  - the worker pool: min(jobs, accounts) threads take the next account
 *    from a shared index; one account failing never stops the others;
 *  - retries: a CUT_TEMP failure (connection lost, throttling) is retried
 *    up to max_retries times with exponential backoff (backoff_initial,
 *    doubled each time, capped at backoff_max), waiting at least the
 *    server's retry_after_ms when it suggested one; CUT_FINAL failures
 *    (wrong password, certificate) are not retried; a cancellation
 *    (SIGINT/SIGTERM) stops taking new accounts and is not retried;
 *  - progress: accounts done/total, messages and bytes copied, rate and
 *    ETA as a live line on a terminal, otherwise one log line per
 *    finished account;
 *  - history: journal_run_begin() before the first account, one
 *    journal_run_account() per finished account (as soon as it finishes,
 *    so a crash keeps what was done), journal_run_end() at the end.  A
 *    cancelled run gets no end: it is not a complete run, and `estimate`
 *    ignores it.  Passwords are never written.
 *
 * The engine is reached through a runner function (campaign_runner_fn), so
 * the pool, the retries and the aggregation are unit-tested with a fake
 * runner; campaign_engine_runner() is the real one (imapsync/sync.h).
 *
 * Thread safety: campaign_run() must not be called concurrently with
 * itself on one journal (the journal lock prevents it across processes).
 * The runner is called from the worker threads, concurrently for
 * different accounts.
 */
#ifndef CUTOVER_CUTOVER_CAMPAIGN_H
#define CUTOVER_CUTOVER_CAMPAIGN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/hostport.h"
#include "common/status.h"
#include "cutover/journal.h"
#include "cutover/plan.h"

typedef enum campaign_mode {
	CAMPAIGN_PRESYNC = 0,        /* exact sync: copy, flags, delete2 */
	CAMPAIGN_PRESYNC_NO_DELETE2, /* copy and flags only, nothing deleted */
	CAMPAIGN_LASTSYNC,           /* exact sync, exactly like a presync */
	CAMPAIGN_POSTSYNC,           /* INBOX, arrived since T, delete1 only */
} campaign_mode;

/** "presync", "presync-no-delete2", "lastsync", "postsync". Static. */
const char *campaign_mode_name(campaign_mode mode);
/** The history kind in the journal: "presync" (both presync modes),
 *  "lastsync", "postsync".  Static. */
const char *campaign_mode_kind(campaign_mode mode);
/** True when the mode deletes on host2 (refused once users work there). */
int campaign_mode_deletes2(campaign_mode mode);

/** Counters of one account (or the sum over accounts). */
typedef struct campaign_counts {
	uint64_t copied;        /* messages appended to host2 */
	uint64_t copied_bytes;  /* their size */
	uint64_t in_sync;       /* already on host2 with the right flags */
	uint64_t flags_updated; /* host2 messages whose flags were set */
	uint64_t deleted1;      /* deleted on host1 (postsync) */
	uint64_t deleted2;      /* deleted on host2 (exact sync) */
	uint64_t failed;        /* messages or folders that failed */
} campaign_counts;

/** Where one side of an account is reached. */
typedef struct campaign_endpoint {
	char host[CUT_HOST_MAX];     /* name or address connected to */
	uint16_t port;
	char tls_name[CUT_HOST_MAX]; /* name the certificate is verified against */
	plan_tls tls;
} campaign_endpoint;

/**
 * Where an account's two sides are reached (pure).  Classical scenario:
 * the CSV's host and port, certificate verified against the CSV host.
 * Lucky scenario (users keep the IMAP name, which moves to host2 after
 * the postsync): host1 is the first address of [imap] old and host2 the
 * first of [imap] new, the CSV's ports kept, both certificates verified
 * against [imap] name (without its trailing dot), whatever host the CSV
 * names.  TLS modes from [sync] tls1/tls2.
 */
void campaign_endpoints(const plan *p, const account *a,
			campaign_endpoint *e1_r, campaign_endpoint *e2_r);

/** What a runner is asked to do for one account. */
typedef struct campaign_job {
	const plan *plan; /* may be NULL in tests */
	const account *acc;
	campaign_endpoint ep1, ep2;
	campaign_mode mode;
	double since;     /* CAMPAIGN_POSTSYNC: window start (epoch seconds) */
	int dry_run;      /* decide only, change nothing */
	unsigned attempt; /* 1 for the first try */
	void *slot;       /* campaign-internal: progress target */
} campaign_job;

/**
 * Progress from inside a runner: the counts of the CURRENT attempt so far
 * (cumulative, not deltas).  Cheap; may be called for every message.
 */
void campaign_progress(const campaign_job *job, const campaign_counts *sofar);

/**
 * Syncs one account.  Fills *counts_r with what this attempt did (also
 * when it fails: what was copied before the failure counts) and returns
 * 0, or -1 with *st (CUT_TEMP to be retried, CUT_FINAL not to be,
 * CUT_CANCELLED on a signal).  Called concurrently from several threads.
 */
typedef int campaign_runner_fn(void *ctx, const campaign_job *job,
			       campaign_counts *counts_r, cut_status *st);

/** Injectable sleep for the backoff: returns -1 when cancelled. */
typedef int campaign_sleep_fn(void *ctx, double secs);

typedef enum campaign_progress_style {
	CAMPAIGN_PROGRESS_NONE = 0, /* silent (JSON output, tests) */
	CAMPAIGN_PROGRESS_LOG,      /* one log line per finished account */
	CAMPAIGN_PROGRESS_LIVE,     /* live line on a terminal + failures logged */
} campaign_progress_style;

typedef struct campaign_opts {
	campaign_mode mode;
	double since; /* CAMPAIGN_POSTSYNC */
	unsigned jobs; /* parallel accounts; 0 = 1 */
	int dry_run;
	unsigned max_retries;   /* retries of a CUT_TEMP failure; default 3 */
	double backoff_initial; /* seconds; 0 = 2 */
	double backoff_max;     /* seconds; 0 = 60 */
	campaign_runner_fn *run;
	void *run_ctx;
	campaign_sleep_fn *sleep; /* NULL: real sleep, interrupted by a signal */
	void *sleep_ctx;
	journal *journal; /* NULL: no history recorded (dry-run, check) */
	const plan *plan; /* for the endpoints; NULL: the CSV hosts as given */
	campaign_progress_style progress;
} campaign_opts;

/** Sets the defaults above (jobs 4, 3 retries, 2 s .. 60 s). */
void campaign_opts_init(campaign_opts *o);

/** One account's outcome. */
typedef struct campaign_account_result {
	unsigned csv_line;
	const char *user1, *user2; /* borrowed from the accounts array */
	double start, end;         /* epoch seconds; 0 when never started */
	campaign_counts counts;    /* summed over attempts (in_sync: last one) */
	unsigned attempts;         /* 0: never started (cancelled before) */
	cut_status status;         /* CUT_OK when in sync */
} campaign_account_result;

typedef struct campaign_result {
	campaign_mode mode;
	int dry_run;
	int64_t run_id; /* journal run id, 0 when not recorded */
	double start, end;
	size_t n;                     /* accounts */
	campaign_account_result *acc; /* n entries, in CSV order */
	campaign_counts total;
	size_t n_ok, n_failed, n_skipped; /* skipped: never started (cancel) */
	int cancelled;
} campaign_result;

/**
 * Runs every account through o->run.  The accounts array must outlive
 * the result (the result borrows user names from it).
 * @return 0 when the campaign ran (even if accounts failed: look at
 *         n_failed / n_skipped), -1 with *st when it could not run at all
 *         (out of memory, threads, the journal refused the run).  *res_r
 *         is set in both cases when allocated; free with
 *         campaign_result_free().
 */
int campaign_run(const campaign_opts *o, const account *accs, size_t n,
		 campaign_result **res_r, cut_status *st);

/** Frees a result; NULL accepted; *rp set to NULL. */
void campaign_result_free(campaign_result **rp);

/**
 * Appends the human summary: the totals and one line per failed or
 * skipped account ("CSV line 7, user07: reason").
 * @return 0, -1 out of memory.
 */
int campaign_result_format(const campaign_result *r, cut_buf *out);

/**
 * The result as a JSON object (mode, dry_run, run_id, times, totals and
 * an "accounts" array with every account's result).  New reference; NULL
 * on out of memory.
 */
json_t *campaign_result_json(const campaign_result *r);

/**
 * The real runner: the sync engine (imapsync/sync.h) with the plan's TLS
 * modes and CA file.  ctx must be the plan (const plan *).
 */
campaign_runner_fn campaign_engine_runner;

/**
 * Convenience for the commands: a campaign over the accounts with the
 * real engine, the plan's jobs, progress chosen from the terminal
 * (live line when stderr is a terminal and json is 0; none when json).
 * @param j  journal for the history; NULL when dry_run.
 */
int campaign_run_plan(const plan *p, const account *accs, size_t n,
		      journal *j, campaign_mode mode, double since,
		      int dry_run, int json, campaign_result **res_r,
		      cut_status *st);

/**
 * `cutover check`: every account logs in on both sides (in parallel,
 * [sync] jobs at a time, through the engine's login check), nothing else.
 * Appends one line per failure to report: "CSV line 7 (user07): host1
 * 127.0.0.11:143: authentication failed ...", and a summary line.
 * @return 0 when every account logged in on both sides, -1 otherwise
 *         (the report says which).
 */
int campaign_check_logins(const plan *p, const account *accs, size_t n,
			  cut_buf *report);

#endif
