/*
 * sync.h: the sync engine: one account, host1 -> host2.
 *
 * sync_account() connects to both servers, maps the folders
 * (folder_map.h), and for each folder pair lists both sides (one pipelined
 * UID FETCH of UID FLAGS INTERNALDATE RFC822.SIZE and the identity header
 * fields), computes the diff (sync_plan.h), and executes it:
 *   - copies: host1 bodies are fetched with pipelined UID FETCH BODY.PEEK[]
 *     and each, once complete, is APPENDed on host2 (pipelined, LITERAL+
 *     when offered) with host1's flags (not \Recent) and INTERNALDATE;
 *     each body is streamed from host1's input into host2's APPEND as
 *     it arrives (MULTIAPPEND, RFC 3502, batches of up to 500 messages /
 *     16 MiB in one command), so host1 reads overlap host2 writes and
 *     memory stays bounded whatever the message sizes;
 *   - flag updates: one UID STORE FLAGS.SILENT per distinct flag set;
 *   - delete2: UID STORE +FLAGS.SILENT (\Deleted) then UID EXPUNGE of
 *     exactly those UIDs (RFC 4315); without UIDPLUS an EXPUNGE only
 *     when UID SEARCH DELETED, asked before marking and again just before
 *     the EXPUNGE, shows no other \Deleted message, else refused (and
 *     the flags set taken back);
 *   - delete1 (postsync): after the copies, host2 is listed again and
 *     only the selected host1 messages found there by identity are marked
 *     \Deleted and expunged on host1 the same way ([APPENDUID] is not
 *     needed).
 *   - keywords host2 cannot keep (PERMANENTFLAGS without \* and without
 *     them) are neither sent in APPEND and UID STORE nor compared
 *     (sync_plan_flags_keepable(), sync_plan_opts.permanentflags2); one
 *     warning per folder names them.  System flags are always sent.
 * Replaying after a crash is harmless: the diff is recomputed from both
 * servers, so a copy that landed is not repeated and a host1 message is
 * only deleted once its copy is seen on host2.  APPENDs the server
 * commits after the process died are dealt with by the in-flight record
 * (sync_opts.inflight_dir).
 *
 * Threads: sync_account() keeps all its state in the call; many accounts
 * may be synced in parallel threads.  The progress callback is called
 * from the calling thread.
 *
 * State (sync_opts.state_dir, sync_state.h): with both servers offering
 * CONDSTORE (RFC 7162), folders unchanged on both sides since their last
 * successful sync are skipped without listing; anything doubtful means a
 * full comparison.
 */
#ifndef CUTOVER_IMAPSYNC_SYNC_H
#define CUTOVER_IMAPSYNC_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "imapsync/imap_client.h"
#include "imapsync/sync_plan.h"

/** One side of the account.  Strings belong to the caller and must live
 *  until sync_account() returns. */
typedef struct sync_endpoint {
	const char *host;     /* name or address to connect to */
	uint16_t port;        /* 0 = the default for tls */
	imap_tls tls;
	const char *tls_name; /* certificate name; NULL = host (lucky scenario:
				 connect by address, verify the name) */
	const char *ca_file;  /* NULL = system store */
	int insecure;
	const char *user;
	const char *password;
} sync_endpoint;

/** Counters, per folder and for the account. */
typedef struct sync_counts {
	uint64_t copied;
	uint64_t copied_bytes;
	uint64_t flags_updated;
	uint64_t deleted1;
	uint64_t deleted2;
	uint64_t in_sync; /* already on host2 with the right flags */
	uint64_t failed;  /* messages that could not be brought in sync */
} sync_counts;

/** A planned or performed action, recorded with sync_opts.record_actions. */
typedef struct sync_action_rec {
	sync_action_kind kind;
	uint32_t uid1; /* 0 when none */
	uint32_t uid2; /* 0 when none (or not yet known) */
	uint64_t size;
	char *flags;   /* host1 flags (copy, flags) */
} sync_action_rec;

typedef struct sync_folder_result {
	char *name1, *name2; /* wire names */
	char *display1;      /* UTF-8 for people */
	int created;         /* created on host2 (or would be, dry run) */
	int subscribed;      /* subscribed on host2 (or would be) */
	int deleted;         /* host2-only folder deleted (--delete2-folders) */
	int unchanged;       /* skipped: unchanged on both servers since the
				last run (sync_opts.state_dir, CONDSTORE) */
	sync_counts c;
	sync_action_rec *acts; /* with record_actions */
	size_t n_acts;
	char *error; /* NULL when the folder is fine */
} sync_folder_result;

/** The outcome of sync_account(); free with sync_result_free(). */
typedef struct sync_result {
	sync_counts total;
	sync_folder_result *folders;
	size_t n_folders;
	int login_ok; /* both logins succeeded */
	char *host1_desc, *host2_desc; /* "host1 127.0.0.11:993 (TLSv1.3 ...)" */
	double start, end; /* epoch seconds */
	cut_status status; /* the first account-level failure, CUT_OK if none */
} sync_result;

/** Live counters for the progress callback. */
typedef struct sync_progress {
	const char *folder; /* display name of the current folder */
	size_t folder_index, n_folders;
	sync_counts total;  /* so far */
} sync_progress;

typedef void (*sync_progress_fn)(void *ctx, const sync_progress *p);

typedef struct sync_opts {
	int delete2;         /* exact sync */
	int delete2_folders; /* delete host2-only folders (not with --folder) */
	int delete1;         /* postsync: requires maxage > 0 or folders */
	double maxage;       /* seconds; 0 = no age limit */
	double now;          /* epoch for maxage; 0 = cut_now() */
	const char *const *folders; /* host1 names (wire or UTF-8), or NULL */
	size_t n_folders;
	int dry_run;         /* EXAMINE only, nothing changed */
	int justlogin;       /* connect and log in, nothing else */
	int record_actions;  /* fill sync_folder_result.acts */
	int no_flag_updates; /* leave host2 flags alone */
	/* Cancellation: checked between messages; when it returns non-zero the
	 * run stops at a safe point with CUT_CANCELLED.  NULL = never. */
	int (*cancelled)(void *ctx);
	void *cancel_ctx;
	sync_progress_fn progress; /* may be NULL */
	void *progress_ctx;
	double io_timeout;   /* seconds, 0 = client default */
	/* Directory of the per-account CONDSTORE state (sync_state.h), or
	 * NULL: every folder is listed and compared in full.  With it, a
	 * folder pair whose UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and EXISTS
	 * are unchanged on both servers since it was last in sync (same
	 * mode) is skipped.  Not used by dry runs and postsyncs (delete1). */
	const char *state_dir;
	/* Directory of the record of APPENDs in flight (sync_inflight.h), or
	 * NULL.  Before the last line of each APPEND goes out its messages
	 * are recorded there; a run that finds an earlier run's APPENDs to a
	 * folder unanswered and their messages missing on host2 gives host2
	 * SYNC_INFLIGHT_SETTLE (5) seconds from that run's last APPEND before
	 * listing it again, and after its own copies expunges those of its own
	 * copies that host2 then holds more often than host1 (UIDPLUS).  A
	 * postsync (delete1) does the latter check in any case.  Not used by
	 * dry runs. */
	const char *inflight_dir;
} sync_opts;

/**
 * Syncs one account.
 * @param res_r always receives a result (even on failure) owned by the
 *        caller: per-folder counters and errors, sync_result_free().
 * @return 0 when every selected message is in sync (or, dry run, the plan
 *         was computed everywhere), -1 otherwise with *st: the first
 *         account-level error, or a summary "N messages failed".  Usage
 *         errors (delete1 without maxage/folders, delete1 with delete2) are
 *         CUT_FINAL with scope CUT_SCOPE_LOCAL and nothing is contacted.
 */
int sync_account(const sync_endpoint *h1, const sync_endpoint *h2,
		 const sync_opts *o, sync_result **res_r, cut_status *st);

/** Frees the result and NULLs the pointer; NULL is accepted. */
void sync_result_free(sync_result **res);

#endif
