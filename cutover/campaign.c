/*
 * campaign.c: the worker pool that runs every account through the sync
 * engine, with retries, progress and history (see campaign.h), and the
 * binding of that pool to the engine (imapsync/sync.h).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "cutover/campaign.h"
#include "imapsync/sync.h"

/* A server's suggested backoff is honoured, but not beyond this. */
#define CAMPAIGN_RETRY_AFTER_MAX 600.0
/* The live line is redrawn at most this often (seconds). */
#define CAMPAIGN_DRAW_INTERVAL 0.25

const char *campaign_mode_name(campaign_mode mode)
{
	switch (mode) {
	case CAMPAIGN_PRESYNC:
		return "presync";
	case CAMPAIGN_PRESYNC_NO_DELETE2:
		return "presync-no-delete2";
	case CAMPAIGN_LASTSYNC:
		return "lastsync";
	case CAMPAIGN_POSTSYNC:
		return "postsync";
	}
	return "unknown";
}

const char *campaign_mode_kind(campaign_mode mode)
{
	switch (mode) {
	case CAMPAIGN_PRESYNC:
	case CAMPAIGN_PRESYNC_NO_DELETE2:
		return "presync";
	case CAMPAIGN_LASTSYNC:
		return "lastsync";
	case CAMPAIGN_POSTSYNC:
		return "postsync";
	}
	return "unknown";
}

int campaign_mode_deletes2(campaign_mode mode)
{
	return mode == CAMPAIGN_PRESYNC || mode == CAMPAIGN_LASTSYNC;
}

/* "imap.example.com." -> "imap.example.com" */
static void campaign_strip_dot(char *dst, const char *src, size_t n)
{
	size_t len;

	cut_strlcpy(dst, src, n);
	len = strlen(dst);
	if (len > 1 && dst[len - 1] == '.')
		dst[len - 1] = '\0';
}

void campaign_endpoints(const plan *p, const account *a,
			campaign_endpoint *e1_r, campaign_endpoint *e2_r)
{
	memset(e1_r, 0, sizeof(*e1_r));
	memset(e2_r, 0, sizeof(*e2_r));
	cut_strlcpy(e1_r->host, a->host1.host, sizeof(e1_r->host));
	cut_strlcpy(e1_r->tls_name, a->host1.host, sizeof(e1_r->tls_name));
	e1_r->port = a->host1.port;
	cut_strlcpy(e2_r->host, a->host2.host, sizeof(e2_r->host));
	cut_strlcpy(e2_r->tls_name, a->host2.host, sizeof(e2_r->tls_name));
	e2_r->port = a->host2.port;
	if (p == NULL) {
		e1_r->tls = e2_r->tls = PLAN_TLS_IMAPS;
		return;
	}
	e1_r->tls = p->tls1;
	e2_r->tls = p->tls2;
	if (p->scenario != PLAN_SCENARIO_LUCKY || p->imap_name == NULL)
		return;
	/* Lucky scenario: the IMAP name will move from host1 to host2, so the
	 * syncs must not depend on where it points now: connect by address,
	 * verify the certificate against the name users know. */
	if (p->imap_old.n > 0)
		cut_strlcpy(e1_r->host, p->imap_old.addr[0], sizeof(e1_r->host));
	if (p->imap_new.n > 0)
		cut_strlcpy(e2_r->host, p->imap_new.addr[0], sizeof(e2_r->host));
	campaign_strip_dot(e1_r->tls_name, p->imap_name, sizeof(e1_r->tls_name));
	campaign_strip_dot(e2_r->tls_name, p->imap_name, sizeof(e2_r->tls_name));
}

void campaign_opts_init(campaign_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->jobs = 4;
	o->max_retries = 3;
	o->backoff_initial = 2;
	o->backoff_max = 60;
}

/* ---- the pool ---- */

typedef struct campaign campaign;

/* Per-account progress target, reached from campaign_progress(). */
typedef struct campaign_slot {
	campaign *c;
	campaign_counts current; /* the running attempt, as last reported */
} campaign_slot;

struct campaign {
	const campaign_opts *o;
	const account *accs;
	campaign_result *res;
	campaign_slot *slots;
	pthread_mutex_t mu; /* everything below, and res->acc[] totals */
	size_t next;        /* next account to start */
	size_t done;        /* accounts finished */
	size_t failed;      /* accounts finished with a failure */
	uint64_t copied, copied_bytes; /* all attempts, live */
	double t0;          /* monotonic start */
	double last_draw;
	int history_failed; /* a journal write failed (logged once) */
};

static void campaign_counts_add(campaign_counts *dst, const campaign_counts *c)
{
	dst->copied += c->copied;
	dst->copied_bytes += c->copied_bytes;
	dst->in_sync += c->in_sync;
	dst->flags_updated += c->flags_updated;
	dst->deleted1 += c->deleted1;
	dst->deleted2 += c->deleted2;
	dst->failed += c->failed;
}

static void campaign_bytes_format(uint64_t b, char *buf, size_t n)
{
	if (b < 1024)
		snprintf(buf, n, "%llu B", (unsigned long long)b);
	else if (b < 1024 * 1024)
		snprintf(buf, n, "%.1f KiB", (double)b / 1024);
	else if (b < 1024ull * 1024 * 1024)
		snprintf(buf, n, "%.1f MiB", (double)b / (1024.0 * 1024));
	else
		snprintf(buf, n, "%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
}

/* The live line; called with c->mu held. */
static void campaign_draw(campaign *c, int force)
{
	char line[256], bytes[32], rate[32], eta[32];
	double now = cut_monotonic(), elapsed = now - c->t0;
	size_t total = c->res->n;

	if (c->o->progress != CAMPAIGN_PROGRESS_LIVE)
		return;
	if (!force && now - c->last_draw < CAMPAIGN_DRAW_INTERVAL)
		return;
	c->last_draw = now;
	campaign_bytes_format(c->copied_bytes, bytes, sizeof(bytes));
	campaign_bytes_format(elapsed > 0.5 ? (uint64_t)((double)c->copied_bytes /
							 elapsed)
					    : 0,
			      rate, sizeof(rate));
	/* ETA from the accounts finished so far: crude but monotone enough
	 * for a person watching; unknown before the first account ends. */
	if (c->done > 0 && c->done < total) {
		cut_duration_format(elapsed * (double)(total - c->done) /
					    (double)c->done,
				    eta, sizeof(eta));
	} else if (c->done == total) {
		cut_strlcpy(eta, "0s", sizeof(eta));
	} else {
		cut_strlcpy(eta, "?", sizeof(eta));
	}
	snprintf(line, sizeof(line),
		 "%s: %zu/%zu accounts, %llu messages, %s copied, %s/s, ETA %s",
		 campaign_mode_name(c->o->mode), c->done, total,
		 (unsigned long long)c->copied, bytes, rate, eta);
	if (c->failed > 0) {
		size_t len = strlen(line);
		snprintf(line + len, sizeof(line) - len, ", %zu failed", c->failed);
	}
	cut_log_progress(line);
}

void campaign_progress(const campaign_job *job, const campaign_counts *sofar)
{
	campaign_slot *s = job->slot;
	campaign *c;

	if (s == NULL)
		return;
	c = s->c;
	pthread_mutex_lock(&c->mu);
	if (sofar->copied >= s->current.copied)
		c->copied += sofar->copied - s->current.copied;
	if (sofar->copied_bytes >= s->current.copied_bytes)
		c->copied_bytes += sofar->copied_bytes - s->current.copied_bytes;
	s->current = *sofar;
	campaign_draw(c, 0);
	pthread_mutex_unlock(&c->mu);
}

static int campaign_real_sleep(void *ctx, double secs)
{
	double end = cut_monotonic() + secs;

	(void)ctx;
	while (!cut_cancelled()) {
		double left = end - cut_monotonic();
		if (left <= 0)
			return 0;
		cut_sleep(left < 0.2 ? left : 0.2);
	}
	return -1;
}

/* The delay before retry number `retry` (1 = first retry). */
static double campaign_backoff(const campaign_opts *o, unsigned retry,
			       unsigned retry_after_ms)
{
	double d = o->backoff_initial > 0 ? o->backoff_initial : 2;
	double cap = o->backoff_max > 0 ? o->backoff_max : 60;
	double server = retry_after_ms / 1000.0;

	for (unsigned i = 1; i < retry && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* The server knows its throttling: never retry sooner than it
	 * asked, even past our own cap (within reason). */
	if (server > d)
		d = server < CAMPAIGN_RETRY_AFTER_MAX ? server
						      : CAMPAIGN_RETRY_AFTER_MAX;
	return d;
}

static void campaign_record(campaign *c, const campaign_account_result *r)
{
	journal_account_result jr;
	cut_status st;

	if (c->o->journal == NULL || c->res->run_id == 0)
		return;
	memset(&jr, 0, sizeof(jr));
	jr.csv_line = r->csv_line;
	jr.user1 = r->user1;
	jr.user2 = r->user2;
	jr.start = r->start;
	jr.end = r->end;
	jr.copied = r->counts.copied;
	jr.copied_bytes = r->counts.copied_bytes;
	jr.in_sync = r->counts.in_sync;
	jr.flags_updated = r->counts.flags_updated;
	jr.deleted1 = r->counts.deleted1;
	jr.deleted2 = r->counts.deleted2;
	jr.failed = r->counts.failed;
	jr.status = r->status.kind == CUT_OK ? "ok" : "failed";
	jr.error = r->status.kind == CUT_OK ? NULL : r->status.msg;
	if (journal_run_account(c->o->journal, c->res->run_id, &jr, &st) < 0) {
		pthread_mutex_lock(&c->mu);
		if (!c->history_failed)
			cut_error("the history of this run could not be "
				  "recorded: %s",
				  st.msg);
		c->history_failed = 1;
		pthread_mutex_unlock(&c->mu);
	}
}

static void campaign_log_account(campaign *c, const campaign_account_result *r)
{
	char bytes[32], dur[32];

	if (c->o->progress == CAMPAIGN_PROGRESS_NONE)
		return;
	if (r->status.kind != CUT_OK) {
		cut_error("CSV line %u, %s: failed after %u attempt%s: %s",
			  r->csv_line, r->user1, r->attempts,
			  r->attempts == 1 ? "" : "s", r->status.msg);
		return;
	}
	if (c->o->progress != CAMPAIGN_PROGRESS_LOG)
		return;
	campaign_bytes_format(r->counts.copied_bytes, bytes, sizeof(bytes));
	cut_duration_format(r->end - r->start, dur, sizeof(dur));
	cut_info("CSV line %u, %s: %s%llu copied (%s), %llu in sync, "
		 "%llu flags updated, %llu deleted on host2, %llu deleted on "
		 "host1, in %s",
		 r->csv_line, r->user1, c->o->dry_run ? "dry run: would be " : "",
		 (unsigned long long)r->counts.copied, bytes,
		 (unsigned long long)r->counts.in_sync,
		 (unsigned long long)r->counts.flags_updated,
		 (unsigned long long)r->counts.deleted2,
		 (unsigned long long)r->counts.deleted1, dur);
}

/* One account, with its retries. */
static void campaign_one(campaign *c, size_t i)
{
	const campaign_opts *o = c->o;
	campaign_account_result *r = &c->res->acc[i];
	campaign_slot *slot = &c->slots[i];
	campaign_job job;
	unsigned max_retries = o->max_retries;

	memset(&job, 0, sizeof(job));
	job.plan = o->plan;
	job.acc = &c->accs[i];
	job.mode = o->mode;
	job.since = o->since;
	job.dry_run = o->dry_run;
	job.slot = slot;
	campaign_endpoints(o->plan, job.acc, &job.ep1, &job.ep2);
	r->start = cut_now();
	for (unsigned attempt = 1;; attempt++) {
		campaign_counts got;
		cut_status ast;
		int rc;

		memset(&got, 0, sizeof(got));
		cut_status_clear(&ast);
		job.attempt = attempt;
		r->attempts = attempt;
		rc = o->run(o->run_ctx, &job, &got, &ast);

		/* What this attempt did stays done even when it failed. */
		pthread_mutex_lock(&c->mu);
		if (got.copied > slot->current.copied)
			c->copied += got.copied - slot->current.copied;
		if (got.copied_bytes > slot->current.copied_bytes)
			c->copied_bytes +=
				got.copied_bytes - slot->current.copied_bytes;
		memset(&slot->current, 0, sizeof(slot->current));
		pthread_mutex_unlock(&c->mu);
		r->counts.copied += got.copied;
		r->counts.copied_bytes += got.copied_bytes;
		r->counts.flags_updated += got.flags_updated;
		r->counts.deleted1 += got.deleted1;
		r->counts.deleted2 += got.deleted2;
		/* The last attempt's view of the account. */
		r->counts.in_sync = got.in_sync;
		r->counts.failed = got.failed;

		if (rc == 0) {
			cut_status_clear(&r->status);
			break;
		}
		if (ast.kind == CUT_OK)
			cut_status_set(&ast, CUT_FINAL, CUT_SCOPE_ACCOUNT,
				       "the sync failed without a reason");
		cut_status_copy(&r->status, &ast);
		if (ast.kind != CUT_TEMP || attempt > max_retries)
			break;
		if (cut_cancelled()) {
			cut_status_prefix(&r->status, "cancelled while retrying: ");
			r->status.kind = CUT_CANCELLED;
			break;
		}
		{
			double delay =
				campaign_backoff(o, attempt, ast.retry_after_ms);
			char d[32];
			cut_duration_format(delay, d, sizeof(d));
			cut_warn("CSV line %u, %s: attempt %u failed (temporary): "
				 "%s; retrying in %s",
				 r->csv_line, r->user1, attempt, ast.msg, d);
			if ((o->sleep != NULL ? o->sleep(o->sleep_ctx, delay)
					      : campaign_real_sleep(NULL, delay)) <
			    0) {
				cut_status_prefix(&r->status,
						  "cancelled while waiting to "
						  "retry: ");
				r->status.kind = CUT_CANCELLED;
				break;
			}
		}
	}
	r->end = cut_now();
	campaign_record(c, r);
	pthread_mutex_lock(&c->mu);
	c->done++;
	if (r->status.kind != CUT_OK)
		c->failed++;
	campaign_draw(c, 1);
	pthread_mutex_unlock(&c->mu);
	campaign_log_account(c, r);
}

static void *campaign_worker(void *arg)
{
	campaign *c = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&c->mu);
		if (c->next >= c->res->n || cut_cancelled()) {
			pthread_mutex_unlock(&c->mu);
			break;
		}
		i = c->next++;
		pthread_mutex_unlock(&c->mu);
		campaign_one(c, i);
	}
	return NULL;
}

int campaign_run(const campaign_opts *o, const account *accs, size_t n,
		 campaign_result **res_r, cut_status *st)
{
	campaign c;
	campaign_result *res = NULL;
	pthread_t *threads = NULL;
	size_t n_threads = 0, started = 0;
	int ret = -1, mu_init = 0;
	unsigned jobs = o->jobs > 0 ? o->jobs : 1;

	*res_r = NULL;
	memset(&c, 0, sizeof(c));
	res = calloc(1, sizeof(*res));
	if (res == NULL)
		goto nomem;
	*res_r = res;
	res->mode = o->mode;
	res->dry_run = o->dry_run;
	res->n = n;
	res->start = cut_now();
	if (n > 0) {
		res->acc = calloc(n, sizeof(*res->acc));
		c.slots = calloc(n, sizeof(*c.slots));
		if (res->acc == NULL || c.slots == NULL)
			goto nomem;
	}
	for (size_t i = 0; i < n; i++) {
		res->acc[i].csv_line = accs[i].line;
		res->acc[i].user1 = accs[i].user1;
		res->acc[i].user2 = accs[i].user2;
		c.slots[i].c = &c;
	}
	c.o = o;
	c.accs = accs;
	c.res = res;
	c.t0 = cut_monotonic();
	if (pthread_mutex_init(&c.mu, NULL) != 0)
		goto nomem;
	mu_init = 1;

	/* Safety net under the commands' own check: never an exact sync once
	 * users may work on host2 (their new mail would be deleted). */
	if (o->journal != NULL && campaign_mode_deletes2(o->mode)) {
		char *fact = NULL;
		double when = 0;
		if (journal_fact_get(o->journal, JOURNAL_FACT_USERS_ON_HOST2,
				     &fact, &when, st) < 0)
			goto done;
		if (fact != NULL) {
			char t[40];
			free(fact);
			cut_time_format_rfc3339(when, t, sizeof(t));
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "refused: a %s deletes on host2, and users "
				       "may work on host2 since %s; only a "
				       "copy-only sync may run now",
				       campaign_mode_name(o->mode), t);
			goto done;
		}
	}
	if (o->journal != NULL && !o->dry_run &&
	    journal_run_begin(o->journal, campaign_mode_kind(o->mode),
			      &res->run_id, st) < 0) {
		cut_status_prefix(st, "cannot record the %s run: ",
				  campaign_mode_name(o->mode));
		goto done;
	}

	n_threads = jobs < n ? jobs : n;
	if (n_threads > 0) {
		threads = calloc(n_threads, sizeof(*threads));
		if (threads == NULL)
			goto nomem;
	}
	for (size_t t = 0; t < n_threads; t++) {
		if (pthread_create(&threads[t], NULL, campaign_worker, &c) != 0)
			break;
		started++;
	}
	if (started == 0 && n > 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "cannot start the sync threads");
		goto done;
	}
	for (size_t t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	if (o->progress == CAMPAIGN_PROGRESS_LIVE)
		cut_log_progress(NULL);

	res->end = cut_now();
	for (size_t i = 0; i < n; i++) {
		campaign_account_result *r = &res->acc[i];
		if (r->attempts == 0) {
			res->n_skipped++;
			cut_status_set(&r->status, CUT_CANCELLED,
				       CUT_SCOPE_ACCOUNT,
				       "not started: the run was cancelled");
			continue;
		}
		campaign_counts_add(&res->total, &r->counts);
		if (r->status.kind == CUT_OK)
			res->n_ok++;
		else
			res->n_failed++;
		if (r->status.kind == CUT_CANCELLED)
			res->cancelled = 1;
	}
	if (res->n_skipped > 0 || cut_cancelled())
		res->cancelled = 1;
	/* A cancelled run is not a complete run: no end, so that estimate
	 * does not take its duration for a presync's. */
	if (res->run_id != 0 && !res->cancelled &&
	    journal_run_end(o->journal, res->run_id,
			    res->n_failed == 0 ? "ok" : "failed", st) < 0) {
		cut_status_prefix(st, "cannot record the end of the %s run: ",
				  campaign_mode_name(o->mode));
		goto done;
	}
	ret = 0;
	goto done;
nomem:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
done:
	free(threads);
	free(c.slots);
	if (mu_init)
		pthread_mutex_destroy(&c.mu);
	return ret;
}

void campaign_result_free(campaign_result **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	free((*rp)->acc);
	free(*rp);
	*rp = NULL;
}

int campaign_result_format(const campaign_result *r, cut_buf *out)
{
	char bytes[32], dur[32];

	campaign_bytes_format(r->total.copied_bytes, bytes, sizeof(bytes));
	cut_duration_format(r->end - r->start, dur, sizeof(dur));
	if (cut_buf_printf(out,
			   "%s%s: %zu account%s, %zu %s, %zu failed%s; "
			   "%llu messages %scopied (%s), %llu already in sync, "
			   "%llu flags updated, %llu deleted on host2, %llu "
			   "deleted on host1; %s\n",
			   campaign_mode_name(r->mode),
			   r->dry_run ? " (dry run, nothing changed)" : "", r->n,
			   r->n == 1 ? "" : "s", r->n_ok,
			   r->dry_run ? "examined" : "in sync", r->n_failed,
			   r->n_skipped > 0 ? ", some not started (cancelled)"
					    : "",
			   (unsigned long long)r->total.copied,
			   r->dry_run ? "to be " : "", bytes,
			   (unsigned long long)r->total.in_sync,
			   (unsigned long long)r->total.flags_updated,
			   (unsigned long long)r->total.deleted2,
			   (unsigned long long)r->total.deleted1, dur) < 0)
		return -1;
	for (size_t i = 0; i < r->n; i++) {
		const campaign_account_result *a = &r->acc[i];
		if (a->status.kind == CUT_OK)
			continue;
		if (cut_buf_printf(out, "  %s: CSV line %u, %s: %s\n",
				   a->attempts == 0 ? "not started" : "FAILED",
				   a->csv_line, a->user1, a->status.msg) < 0)
			return -1;
	}
	return 0;
}

static json_t *campaign_counts_json(const campaign_counts *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "copied",
			 (json_int_t)c->copied, "copied_bytes",
			 (json_int_t)c->copied_bytes, "in_sync",
			 (json_int_t)c->in_sync, "flags_updated",
			 (json_int_t)c->flags_updated, "deleted1",
			 (json_int_t)c->deleted1, "deleted2",
			 (json_int_t)c->deleted2, "failed",
			 (json_int_t)c->failed);
}

static json_t *campaign_time_json(double t)
{
	char buf[40];

	if (t <= 0)
		return json_null();
	cut_time_format_rfc3339(t, buf, sizeof(buf));
	return json_string(buf);
}

json_t *campaign_result_json(const campaign_result *r)
{
	json_t *doc = NULL, *arr = NULL;

	arr = json_array();
	if (arr == NULL)
		goto fail;
	for (size_t i = 0; i < r->n; i++) {
		const campaign_account_result *a = &r->acc[i];
		json_t *o = json_pack(
			"{s:I, s:s, s:s?, s:s, s:o, s:o, s:f, s:I, s:o, s:s*, "
			"s:s*}",
			"csv_line", (json_int_t)a->csv_line, "user1", a->user1,
			"user2", a->user2, "status",
			a->status.kind == CUT_OK	   ? "ok"
			: a->attempts == 0		   ? "not started"
							   : "failed",
			"start", campaign_time_json(a->start), "end",
			campaign_time_json(a->end), "duration",
			a->attempts > 0 ? a->end - a->start : 0.0, "attempts",
			(json_int_t)a->attempts, "counts",
			campaign_counts_json(&a->counts), "error_kind",
			a->status.kind == CUT_OK ? NULL
						 : cut_kind_name(a->status.kind),
			"error", a->status.kind == CUT_OK ? NULL : a->status.msg);
		if (o == NULL || json_array_append_new(arr, o) < 0)
			goto fail;
	}
	doc = json_pack("{s:s, s:s, s:b, s:I, s:o, s:o, s:f, s:I, s:I, s:I, "
			"s:I, s:b, s:o, s:o}",
			"mode", campaign_mode_name(r->mode), "kind",
			campaign_mode_kind(r->mode), "dry_run", r->dry_run,
			"run_id", (json_int_t)r->run_id, "start",
			campaign_time_json(r->start), "end",
			campaign_time_json(r->end), "duration",
			r->end > 0 ? r->end - r->start : 0.0, "total_accounts",
			(json_int_t)r->n, "ok", (json_int_t)r->n_ok, "failed",
			(json_int_t)r->n_failed, "not_started",
			(json_int_t)r->n_skipped, "cancelled", r->cancelled,
			"totals", campaign_counts_json(&r->total),
			"accounts", arr);
	return doc;
fail:
	json_decref(arr);
	return NULL;
}

/* ---- the engine ---- */

static imap_tls campaign_imap_tls(plan_tls t)
{
	switch (t) {
	case PLAN_TLS_IMAPS:
		return IMAP_TLS_IMPLICIT;
	case PLAN_TLS_STARTTLS:
		return IMAP_TLS_STARTTLS;
	case PLAN_TLS_PLAIN:
		return IMAP_TLS_NONE;
	}
	return IMAP_TLS_IMPLICIT;
}

static int campaign_engine_cancelled(void *ctx)
{
	(void)ctx;
	return cut_cancelled();
}

static void campaign_engine_progress(void *ctx, const sync_progress *p)
{
	const campaign_job *job = ctx;
	campaign_counts c;

	memset(&c, 0, sizeof(c));
	c.copied = p->total.copied;
	c.copied_bytes = p->total.copied_bytes;
	c.in_sync = p->total.in_sync;
	campaign_progress(job, &c);
}

/*
 * The directory of the engine's per-account CONDSTORE state
 * (imapsync/sync_state.h) for the exact syncs and the copy-only presync:
 * STATE_DIR/sync, created on first use.  NULL (every folder compared in
 * full) for dry runs, the postsync, or when it cannot be created.  The
 * state only lets a resync skip folders unchanged on both servers since
 * they were last found in sync; a missing or damaged state, another mode
 * or a changed UIDVALIDITY means a full comparison.  Free with free().
 */
static char *campaign_sync_state_dir(const campaign_job *job)
{
	char *dir;

	if (job->plan == NULL || job->plan->state_dir == NULL || job->dry_run ||
	    job->mode == CAMPAIGN_POSTSYNC)
		return NULL;
	dir = cut_strdup_printf("%s/sync", job->plan->state_dir);
	if (dir == NULL)
		return NULL;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		cut_warn("%s: %s: every folder is compared in full", dir,
			 strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

/* Shared by the sync runner and the login check. */
static int campaign_engine_call(const campaign_job *job, int justlogin,
				campaign_counts *counts_r, cut_status *st)
{
	const plan *p = job->plan;
	const account *a = job->acc;
	sync_endpoint h1, h2;
	sync_opts so;
	sync_result *res = NULL;
	const char *inbox[] = {"INBOX"};
	char *state_dir = NULL, *inflight_dir = NULL;
	int ret;

	memset(&h1, 0, sizeof(h1));
	memset(&h2, 0, sizeof(h2));
	memset(&so, 0, sizeof(so));
	h1.host = job->ep1.host;
	h1.port = job->ep1.port;
	h1.tls = campaign_imap_tls(job->ep1.tls);
	h1.tls_name = job->ep1.tls_name;
	h1.ca_file = p != NULL ? p->ca_file : NULL;
	h1.user = a->user1;
	h1.password = a->pass1;
	h2.host = job->ep2.host;
	h2.port = job->ep2.port;
	h2.tls = campaign_imap_tls(job->ep2.tls);
	h2.tls_name = job->ep2.tls_name;
	h2.ca_file = h1.ca_file;
	h2.user = a->user2;
	h2.password = a->pass2;

	so.justlogin = justlogin;
	so.dry_run = job->dry_run;
	so.cancelled = campaign_engine_cancelled;
	so.progress = campaign_engine_progress;
	so.progress_ctx = (void *)job;
	switch (job->mode) {
	case CAMPAIGN_PRESYNC:
	case CAMPAIGN_LASTSYNC:
		so.delete2 = 1;
		break;
	case CAMPAIGN_PRESYNC_NO_DELETE2:
		break;
	case CAMPAIGN_POSTSYNC:
		/* RFC 3501 6.3.1: INBOX is case-insensitive and always exists;
		 * only mail that arrived since the window start, and nothing
		 * ever deleted on host2 (users work there now). */
		so.delete1 = 1;
		so.folders = inbox;
		so.n_folders = 1;
		so.now = cut_now();
		so.maxage = so.now - job->since;
		if (so.maxage <= 0)
			so.maxage = 1;
		so.no_flag_updates = 1;
		break;
	}
	if (!justlogin)
		state_dir = campaign_sync_state_dir(job);
	so.state_dir = state_dir;
	/* The APPENDs in flight are recorded in every mode (the postsync too):
	 * a rerun after a crash must not copy twice what host2 committed
	 * after the process died. */
	if (!justlogin && !job->dry_run && p != NULL && p->state_dir != NULL) {
		inflight_dir = cut_strdup_printf("%s/sync", p->state_dir);
		if (inflight_dir != NULL && mkdir(inflight_dir, 0700) < 0 &&
		    errno != EEXIST) {
			cut_warn("%s: %s: APPENDs in flight are not recorded",
				 inflight_dir, strerror(errno));
			free(inflight_dir);
			inflight_dir = NULL;
		}
	}
	so.inflight_dir = inflight_dir;
	ret = sync_account(&h1, &h2, &so, &res, st);
	free(state_dir);
	free(inflight_dir);
	if (res != NULL) {
		counts_r->copied = res->total.copied;
		counts_r->copied_bytes = res->total.copied_bytes;
		counts_r->in_sync = res->total.in_sync;
		counts_r->flags_updated = res->total.flags_updated;
		counts_r->deleted1 = res->total.deleted1;
		counts_r->deleted2 = res->total.deleted2;
		counts_r->failed = res->total.failed;
		if (job->dry_run && !justlogin && cut_log_enabled(CUT_LOG_INFO)) {
			for (size_t f = 0; f < res->n_folders; f++) {
				const sync_folder_result *fr = &res->folders[f];
				if (fr->c.copied == 0 && fr->c.deleted2 == 0 &&
				    fr->c.deleted1 == 0 &&
				    fr->c.flags_updated == 0 && !fr->created)
					continue;
				cut_info("dry run: CSV line %u, %s, folder "
					 "\"%s\": %swould copy %llu (%llu "
					 "bytes), update flags of %llu, delete "
					 "%llu on host2, %llu on host1",
					 a->line, a->user1,
					 fr->display1 != NULL ? fr->display1
							      : fr->name1,
					 fr->created ? "would create it, " : "",
					 (unsigned long long)fr->c.copied,
					 (unsigned long long)fr->c.copied_bytes,
					 (unsigned long long)fr->c.flags_updated,
					 (unsigned long long)fr->c.deleted2,
					 (unsigned long long)fr->c.deleted1);
			}
		}
	}
	sync_result_free(&res);
	return ret;
}

int campaign_engine_runner(void *ctx, const campaign_job *job,
			   campaign_counts *counts_r, cut_status *st)
{
	(void)ctx;
	return campaign_engine_call(job, 0, counts_r, st);
}

static int campaign_login_runner(void *ctx, const campaign_job *job,
				 campaign_counts *counts_r, cut_status *st)
{
	(void)ctx;
	return campaign_engine_call(job, 1, counts_r, st);
}

int campaign_run_plan(const plan *p, const account *accs, size_t n,
		      journal *j, campaign_mode mode, double since,
		      int dry_run, int json, campaign_result **res_r,
		      cut_status *st)
{
	campaign_opts o;

	campaign_opts_init(&o);
	o.mode = mode;
	o.since = since;
	o.jobs = p->jobs > 0 ? p->jobs : 4;
	o.dry_run = dry_run;
	o.run = campaign_engine_runner;
	o.run_ctx = (void *)p;
	o.journal = dry_run ? NULL : j;
	o.plan = p;
	if (json)
		o.progress = CAMPAIGN_PROGRESS_NONE;
	else if (isatty(STDERR_FILENO) && cut_log_enabled(CUT_LOG_INFO))
		o.progress = CAMPAIGN_PROGRESS_LIVE;
	else
		o.progress = CAMPAIGN_PROGRESS_LOG;
	return campaign_run(&o, accs, n, res_r, st);
}

int campaign_check_logins(const plan *p, const account *accs, size_t n,
			  cut_buf *report)
{
	campaign_opts o;
	campaign_result *res = NULL;
	cut_status st;
	int ret = -1;

	campaign_opts_init(&o);
	o.jobs = p->jobs > 0 ? p->jobs : 4;
	o.run = campaign_login_runner;
	o.plan = p;
	o.max_retries = 1;
	o.progress = CAMPAIGN_PROGRESS_NONE;
	if (campaign_run(&o, accs, n, &res, &st) < 0) {
		cut_buf_printf(report, "login check: %s\n", st.msg);
		goto done;
	}
	for (size_t i = 0; i < res->n; i++) {
		const campaign_account_result *a = &res->acc[i];
		if (a->status.kind != CUT_OK)
			cut_buf_printf(report, "CSV line %u (%s): %s\n",
				       a->csv_line, a->user1, a->status.msg);
	}
	cut_buf_printf(report,
		       "logins: %zu of %zu account%s log in on both sides\n",
		       res->n_ok, res->n, res->n == 1 ? "" : "s");
	ret = res->n_ok == res->n ? 0 : -1;
done:
	campaign_result_free(&res);
	return ret;
}
