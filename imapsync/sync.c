/*
 * sync.c: the sync engine executor: connects, lists, decides with
 * folder_map/sync_plan, acts through the IMAP client.  See sync.h.
 */
#include "imapsync/sync.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "imapsync/folder_map.h"
#include "imapsync/identity.h"
#include "imapsync/sync_inflight.h"
#include "imapsync/sync_state.h"
#include "imapsync/sync_uidcache.h"
#include "imapsync/utf7.h"

/* A UID set longer than this is split over several commands (Dovecot's
 * default imap_max_line_length is 64 KiB; stay well below). */
#define SYNC_UIDSET_MAX 8000

/* Seconds a rerun gives host2 to commit the APPENDs an interrupted run
 * had sent (sync_inflight.h), counted from that run's last one. */
#define SYNC_INFLIGHT_SETTLE 5.0

/* One side's message list of a folder. */
typedef struct sync_list {
	sync_msg *m;
	char **flags; /* owned canonical flags, m[i].flags points here */
	char **idate; /* owned INTERNALDATE as sent, for APPEND */
	size_t n, cap;
	const char *server; /* "host1 127.0.0.11:993", for errors */
	/* the last flags as sent and their canonical form: most messages of
	 * a folder share a handful of flag sets */
	char *memo_raw, *memo_canon;
} sync_list;

typedef struct sync_run {
	const sync_opts *o;
	sync_result *res;
	imap_client *c1, *c2;
	size_t folder_index, n_folders;
	const char *folder_display;
	uint64_t copies_ended;
	sync_state *state; /* NULL: no state, full comparisons */
	const char *state_path; /* its file, with state */
	int condstore;     /* both servers offer CONDSTORE */
	char mode[16];     /* sync mode, part of each state entry */
	sync_inflight *inflight; /* NULL: no record of APPENDs in flight */
} sync_run;

typedef struct sync_folder {
	sync_run *r;
	const folder_pair *p;
	sync_folder_result *fr;
	sync_list *l1;
	uint64_t copy_failed;
	uint32_t *own;       /* host2 UIDs of this run's copies ([APPENDUID]) */
	size_t n_own, cap_own;
	uint32_t own_uidvalidity;
	int unanswered;      /* an APPEND went out without a tagged answer */
} sync_folder;

typedef struct copy_batch copy_batch;
typedef struct copy_job copy_job;

struct copy_job {
	sync_folder *f;
	size_t i1;
	int began;    /* its APPEND data started on host2 */
	int ended;    /* all its bytes were sent to host2 */
	int appended; /* host2 confirmed the APPEND */
	copy_batch *batch; /* the APPEND command carrying it */
	copy_job *bnext;   /* next message of the same command */
};

/*
 * One streamed APPEND command on host2: with MULTIAPPEND (RFC 3502) up to
 * SYNC_BATCH_MSGS messages / SYNC_BATCH_BYTES bytes, else one message.
 * The server stores all of its messages or none, and commits them in one
 * transaction (one index update and fsync instead of one per message).
 */
struct copy_batch {
	struct copy_ctx *cc;
	copy_batch *next;
	size_t n;
	uint64_t bytes;
	int done;
	int closed; /* its last line was handed to the client */
	copy_job *first, *last; /* its messages, in order */
};

#define SYNC_BATCH_MSGS 500
#define SYNC_BATCH_BYTES (16u * 1024 * 1024)

/* ---- small helpers ---- */

static int sync_cancelled(const sync_run *r)
{
	return r->o->cancelled != NULL && r->o->cancelled(r->o->cancel_ctx);
}

static void sync_progress_emit(sync_run *r)
{
	sync_progress p;

	if (r->o->progress == NULL)
		return;
	p.folder = r->folder_display != NULL ? r->folder_display : "";
	p.folder_index = r->folder_index;
	p.n_folders = r->n_folders;
	p.total = r->res->total;
	for (size_t i = 0; i < r->res->n_folders; i++) {
		const sync_counts *c = &r->res->folders[i].c;

		p.total.copied += c->copied;
		p.total.copied_bytes += c->copied_bytes;
		p.total.flags_updated += c->flags_updated;
		p.total.deleted1 += c->deleted1;
		p.total.deleted2 += c->deleted2;
		p.total.in_sync += c->in_sync;
		p.total.failed += c->failed;
	}
	r->o->progress(r->o->progress_ctx, &p);
}

static void sync_folder_error(sync_folder_result *fr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sync_folder_error(sync_folder_result *fr, const char *fmt, ...)
{
	cut_buf b = CUT_BUF_INIT;
	char line[CUT_STATUS_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Keep the first few errors of a folder, one per line. */
	if (fr->error != NULL && strlen(fr->error) > 4 * CUT_STATUS_MSG_MAX)
		return;
	if (fr->error != NULL)
		cut_buf_printf(&b, "%s\n", fr->error);
	if (cut_buf_puts(&b, line) < 0) {
		cut_buf_free(&b);
		return;
	}
	free(fr->error);
	fr->error = cut_buf_steal(&b);
	cut_warn("%s: %s", fr->display1 != NULL ? fr->display1 : "?", line);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Appends the next chunk of sorted unique uids, as an RFC 3501 9
 * sequence-set ("1:3,7"), to out (reset first).  *pos advances.
 */
static int uidset_next(const uint32_t *uids, size_t n, size_t *pos,
		       cut_buf *out)
{
	cut_buf_reset(out);
	while (*pos < n && out->len < SYNC_UIDSET_MAX) {
		size_t a = *pos, b = a;

		while (b + 1 < n && uids[b + 1] == uids[b] + 1)
			b++;
		if (cut_buf_printf(out, out->len ? ",%u" : "%u", uids[a]) < 0)
			return -1;
		if (b > a && cut_buf_printf(out, ":%u", uids[b]) < 0)
			return -1;
		*pos = b + 1;
	}
	return 0;
}

static void sync_list_free(sync_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->flags[i]);
		free(l->idate[i]);
	}
	free(l->m);
	free(l->flags);
	free(l->idate);
	free(l->memo_raw);
	free(l->memo_canon);
	memset(l, 0, sizeof(*l));
}

/* Appends one message to a listing; flags as sent (canonicalised here),
 * idate the INTERNALDATE as sent. */
static int list_add(sync_list *l, uint32_t uid, const char *flags,
		    const char *idate, int64_t epoch, uint64_t size,
		    const identity *id, cut_status *st)
{
	sync_msg *m;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 256;
		sync_msg *nm = realloc(l->m, ncap * sizeof(*nm));
		char **nf, **nd;

		if (nm == NULL)
			goto oom;
		l->m = nm;
		nf = realloc(l->flags, ncap * sizeof(*nf));
		if (nf == NULL)
			goto oom;
		l->flags = nf;
		nd = realloc(l->idate, ncap * sizeof(*nd));
		if (nd == NULL)
			goto oom;
		l->idate = nd;
		l->cap = ncap;
	}
	m = &l->m[l->n];
	memset(m, 0, sizeof(*m));
	l->flags[l->n] = NULL;
	l->idate[l->n] = NULL;
	if (flags == NULL)
		flags = "";
	if (l->memo_raw == NULL || strcmp(flags, l->memo_raw) != 0) {
		char *raw = strdup(flags), *canon = NULL;

		if (raw == NULL || sync_plan_flags_canon(flags, &canon) < 0) {
			free(raw);
			goto oom;
		}
		free(l->memo_raw);
		free(l->memo_canon);
		l->memo_raw = raw;
		l->memo_canon = canon;
	}
	l->flags[l->n] = strdup(l->memo_canon);
	if (l->flags[l->n] == NULL)
		goto oom;
	l->idate[l->n] = strdup(idate);
	if (l->idate[l->n] == NULL) {
		free(l->flags[l->n]);
		goto oom;
	}
	m->id = *id;
	m->uid = uid;
	m->size = size;
	m->internaldate = epoch;
	m->flags = l->flags[l->n];
	l->n++;
	return 0;
oom:
	return cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
			      "out of memory listing messages");
}

static int list_on_msg(void *ctx, const imap_fetch_msg *fm, cut_status *st)
{
	sync_list *l = ctx;
	identity id;

	if (fm->uid == 0 || fm->internaldate == NULL || !fm->has_size)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_FOLDER,
				      "%s: FETCH response for message %u lacks UID, "
				      "INTERNALDATE or RFC822.SIZE",
				      l->server != NULL ? l->server : "server", fm->seq);
	if (identity_compute(fm->header != NULL ? fm->header : "",
			     fm->header != NULL ? fm->header_len : 0, fm->size,
			     &id, NULL, NULL, 0, st) < 0)
		return -1;
	return list_add(l, fm->uid, fm->flags, fm->internaldate,
			fm->internaldate_epoch, fm->size, &id, st);
}

static void list_fetch_done(void *ctx, const imap_resp *tagged,
			    const cut_status *st)
{
	cut_status *out = ctx;

	(void)tagged;
	/* several commands may share out: the first failure stays */
	if (!cut_status_failed(out))
		cut_status_copy(out, st);
}

/*
 * Lists both selected folders at once (both FETCHes are in flight before
 * either answer is read).  exists == 0 skips a side.
 */
static int sync_list_both(sync_run *r, uint32_t exists1, sync_list *l1,
			  uint32_t exists2, sync_list *l2, cut_status *st)
{
	imap_fetch_req req;
	cut_status s1, s2;
	int ret = 0;

	cut_status_clear(&s1);
	cut_status_clear(&s2);
	memset(&req, 0, sizeof(req));
	req.uid_set = "1:*";
	req.items = IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_SIZE |
		    IMAP_FETCH_HEADER;
	req.header_fields = IDENTITY_HEADER_FIELDS;
	req.on_msg = list_on_msg;
	if (exists1 > 0) {
		l1->server = imap_client_name(r->c1);
		req.ctx = l1;
		ret = imap_uid_fetch_async(r->c1, &req, list_fetch_done, &s1, st);
	}
	if (ret == 0 && l2 != NULL && exists2 > 0) {
		l2->server = imap_client_name(r->c2);
		req.ctx = l2;
		ret = imap_uid_fetch_async(r->c2, &req, list_fetch_done, &s2, st);
	}
	/* Both run dry whatever happened: queued commands point at s1/s2. */
	if (imap_client_run(r->c1, ret < 0 ? NULL : st) < 0)
		ret = -1;
	if (l2 != NULL && imap_client_run(r->c2, ret < 0 ? NULL : st) < 0)
		ret = -1;
	if (ret < 0)
		return -1;
	if (cut_status_failed(&s1)) {
		cut_status_copy(st, &s1);
		return -1;
	}
	if (cut_status_failed(&s2)) {
		cut_status_copy(st, &s2);
		return -1;
	}
	return 0;
}

/* ---- listing through the UID cache (sync_uidcache.h) ---- */

/* One side of a changed folder listed as UID FLAGS first. */
typedef struct cached_side {
	sync_list *l;
	const sync_uidcache_side *cache;
	uint32_t *missing; /* UIDs the cache does not know */
	size_t n_missing, cap_missing;
	size_t answered;   /* FETCH responses to the UID FLAGS listing */
} cached_side;

static int cached_on_msg(void *ctx, const imap_fetch_msg *fm, cut_status *st)
{
	cached_side *cs = ctx;
	const sync_uidcache_entry *e;

	if (fm->uid == 0 || fm->flags == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_FOLDER,
				      "%s: FETCH response for message %u lacks UID "
				      "or FLAGS",
				      cs->l->server != NULL ? cs->l->server : "server",
				      fm->seq);
	cs->answered++;
	e = sync_uidcache_find(cs->cache, fm->uid);
	if (e != NULL)
		return list_add(cs->l, e->uid, fm->flags, e->idate, e->epoch, e->size,
				&e->id, st);
	if (cs->n_missing == cs->cap_missing) {
		size_t ncap = cs->cap_missing ? 2 * cs->cap_missing : 64;
		uint32_t *nm = realloc(cs->missing, ncap * sizeof(*nm));

		if (nm == NULL)
			return cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
					      "out of memory listing messages");
		cs->missing = nm;
		cs->cap_missing = ncap;
	}
	cs->missing[cs->n_missing++] = fm->uid;
	return 0;
}

/* Whether a side's cache may stand for what the server would answer: the
 * same UIDVALIDITY (RFC 3501 2.3.1.1) and no UID the server cannot have
 * given yet (at or above its UIDNEXT). */
static int uidcache_usable(const sync_uidcache_side *s, const imap_select_info *i,
			   const char *server, const char *name)
{
	if (s->uidvalidity == 0 || s->n == 0)
		return 0;
	if (s->uidvalidity != i->uidvalidity) {
		cut_debug("%s %s: UID cache not used: UIDVALIDITY %u, cached for %u",
			  server, name, i->uidvalidity, s->uidvalidity);
		return 0;
	}
	if (i->uidnext == 0 || s->e[s->n - 1].uid >= i->uidnext) {
		cut_debug("%s %s: UID cache not used: it holds UID %u, UIDNEXT is %u",
			  server, name, s->e[s->n - 1].uid, i->uidnext);
		return 0;
	}
	return 1;
}

/* Queues UID FETCHes of req's items for uids (sorted, unique; NULL: 1:*),
 * one command per SYNC_UIDSET_MAX characters of set. */
static int list_queue(imap_client *c, imap_fetch_req *req, const uint32_t *uids,
		      size_t n, cut_status *done_st, cut_status *st)
{
	cut_buf set = CUT_BUF_INIT;
	size_t pos = 0;
	int ret = 0;

	if (uids == NULL) {
		req->uid_set = "1:*";
		return imap_uid_fetch_async(c, req, list_fetch_done, done_st, st);
	}
	while (ret == 0 && pos < n) {
		if (uidset_next(uids, n, &pos, &set) < 0) {
			ret = cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
					     "out of memory listing messages");
			break;
		}
		req->uid_set = set.data;
		ret = imap_uid_fetch_async(c, req, list_fetch_done, done_st, st);
	}
	cut_buf_free(&set);
	return ret;
}

/* Runs both clients dry and returns the first failure. */
static int list_run(sync_run *r, int ret, cut_status *s1, cut_status *s2,
		    cut_status *st)
{
	if (imap_client_run(r->c1, ret < 0 ? NULL : st) < 0)
		ret = -1;
	if (imap_client_run(r->c2, ret < 0 ? NULL : st) < 0)
		ret = -1;
	if (ret < 0)
		return -1;
	if (cut_status_failed(s1)) {
		cut_status_copy(st, s1);
		return -1;
	}
	if (cut_status_failed(s2)) {
		cut_status_copy(st, s2);
		return -1;
	}
	return 0;
}

static int sync_msg_uid_cmp(const void *a, const void *b, void *arg)
{
	const sync_list *l = arg;
	uint32_t x = l->m[*(const size_t *)a].uid, y = l->m[*(const size_t *)b].uid;

	return x < y ? -1 : x > y;
}

/* Sorts a listing by UID.  @return 0, 1 when a UID is there twice, -1
 * when out of memory. */
static int sync_list_sort(sync_list *l)
{
	size_t *ix = malloc((l->n + 1) * sizeof(*ix));
	sync_msg *m = malloc((l->n + 1) * sizeof(*m));
	char **fl = malloc((l->n + 1) * sizeof(*fl));
	char **id = malloc((l->n + 1) * sizeof(*id));
	int ret = -1;

	if (ix == NULL || m == NULL || fl == NULL || id == NULL)
		goto done;
	for (size_t i = 0; i < l->n; i++)
		ix[i] = i;
	qsort_r(ix, l->n, sizeof(*ix), sync_msg_uid_cmp, l);
	for (size_t i = 0; i < l->n; i++) {
		m[i] = l->m[ix[i]];
		fl[i] = l->flags[ix[i]];
		id[i] = l->idate[ix[i]];
	}
	memcpy(l->m, m, l->n * sizeof(*m));
	memcpy(l->flags, fl, l->n * sizeof(*fl));
	memcpy(l->idate, id, l->n * sizeof(*id));
	ret = 0;
	for (size_t i = 1; i < l->n; i++)
		if (l->m[i].uid == l->m[i - 1].uid)
			ret = 1;
done:
	free(ix);
	free(m);
	free(fl);
	free(id);
	return ret;
}

/*
 * Lists a changed folder pair like sync_list_both(), using the UID cache
 * where it applies: a side whose cache is usable is listed with
 * `UID FETCH 1:* (UID FLAGS)` (Dovecot answers from its index, without
 * opening message files), identity, size and INTERNALDATE coming from
 * the cache, and the full items fetched only for the UIDs the cache does
 * not know.  The result must add up -- as many answers as SELECT's
 * EXISTS, one full answer for each UID asked, no UID twice -- or that
 * side is listed again in full: a concurrent change or a wrong cache
 * costs time, never a message.  l2 NULL: host2 is not listed.
 */
static int sync_list_cached(sync_run *r, const folder_pair *p,
			    const sync_uidcache *cache,
			    const imap_select_info *i1, sync_list *l1,
			    const imap_select_info *i2, sync_list *l2,
			    cut_status *st)
{
	const imap_select_info *info[2] = {i1, i2};
	sync_list *l[2] = {l1, l2};
	imap_client *c[2] = {r->c1, r->c2};
	const char *name[2] = {p->name1, p->name2};
	cached_side cs[2];
	int use[2], full[2] = {0, 0}, again[2] = {0, 0};
	imap_fetch_req flags_req, full_req;
	cut_status ds[2];
	int ret = 0;

	memset(cs, 0, sizeof(cs));
	for (int k = 0; k < 2; k++) {
		use[k] = l[k] != NULL && info[k]->exists > 0 &&
			 uidcache_usable(&cache->s[k], info[k], k ? "host2" : "host1",
					 name[k]);
		if (l[k] != NULL)
			l[k]->server = imap_client_name(c[k]);
		cs[k].l = l[k];
		cs[k].cache = &cache->s[k];
	}
	if (!use[0] && !use[1])
		return sync_list_both(r, i1->exists, l1, i2->exists, l2, st);

	memset(&flags_req, 0, sizeof(flags_req));
	flags_req.items = IMAP_FETCH_FLAGS;
	flags_req.on_msg = cached_on_msg;
	memset(&full_req, 0, sizeof(full_req));
	full_req.items = IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
			 IMAP_FETCH_SIZE | IMAP_FETCH_HEADER;
	full_req.header_fields = IDENTITY_HEADER_FIELDS;
	full_req.on_msg = list_on_msg;

	/* 1: UID FLAGS where the cache is usable, the full listing elsewhere */
	cut_status_clear(&ds[0]);
	cut_status_clear(&ds[1]);
	for (int k = 0; k < 2 && ret == 0; k++) {
		if (l[k] == NULL || info[k]->exists == 0)
			continue;
		if (use[k]) {
			flags_req.ctx = &cs[k];
			ret = list_queue(c[k], &flags_req, NULL, 0, &ds[k], st);
		} else {
			full_req.ctx = l[k];
			ret = list_queue(c[k], &full_req, NULL, 0, &ds[k], st);
		}
	}
	if (list_run(r, ret, &ds[0], &ds[1], st) < 0)
		goto fail;

	/* 2: the full items of the UIDs the cache does not know */
	cut_status_clear(&ds[0]);
	cut_status_clear(&ds[1]);
	for (int k = 0; k < 2 && ret == 0; k++) {
		if (!use[k])
			continue;
		if (cs[k].answered != info[k]->exists) {
			cut_debug("%s %s: UID cache not used: %zu messages listed, SELECT "
				  "said %u",
				  k ? "host2" : "host1", name[k], cs[k].answered,
				  info[k]->exists);
			full[k] = 1;
			continue;
		}
		cut_debug("%s %s: %zu of %zu messages from the UID cache, %zu listed "
			  "in full",
			  k ? "host2" : "host1", name[k], l[k]->n, cs[k].answered,
			  cs[k].n_missing);
		if (cs[k].n_missing == 0)
			continue;
		qsort(cs[k].missing, cs[k].n_missing, sizeof(uint32_t), u32_cmp);
		full_req.ctx = l[k];
		ret = list_queue(c[k], &full_req, cs[k].missing, cs[k].n_missing,
				 &ds[k], st);
	}
	if (list_run(r, ret, &ds[0], &ds[1], st) < 0)
		goto fail;
	for (int k = 0; k < 2; k++) {
		int sorted;

		if (!use[k] || full[k])
			continue;
		sorted = sync_list_sort(l[k]);
		if (sorted < 0) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
				       "out of memory listing messages");
			goto fail;
		}
		if (sorted > 0 || l[k]->n != cs[k].answered) {
			cut_debug("%s %s: UID cache not used: %zu messages from the cache "
				  "and the full listing, %zu listed",
				  k ? "host2" : "host1", name[k], l[k]->n, cs[k].answered);
			full[k] = 1;
		}
	}

	/* 3: a side that did not add up, listed again in full */
	for (int k = 0; k < 2; k++)
		if (full[k]) {
			sync_list_free(l[k]);
			again[k] = 1;
		}
	if ((again[0] || again[1]) &&
	    sync_list_both(r, again[0] ? i1->exists : 0, again[0] ? l1 : NULL,
			   again[1] ? i2->exists : 0, again[1] ? l2 : NULL, st) < 0)
		goto fail;
	free(cs[0].missing);
	free(cs[1].missing);
	return 0;
fail:
	free(cs[0].missing);
	free(cs[1].missing);
	return -1;
}

/*
 * Replaces the pair's cache with what the servers answered in this run:
 * host1's listing, host2's listing and the listing of host2's messages
 * from its UIDNEXT at the start of the folder on (this run's copies),
 * l2new, and saves it.  Failures only cost the next run time.
 */
static void sync_uidcache_store(sync_uidcache *cache, const char *path,
				const imap_select_info *i1, const sync_list *l1,
				const imap_select_info *i2, const sync_list *l2,
				const sync_list *l2new)
{
	const sync_list *ls[3] = {l1, l2, l2new};
	cut_status st;

	sync_uidcache_reset(&cache->s[0], i1->uidvalidity);
	sync_uidcache_reset(&cache->s[1], i2->uidvalidity);
	for (int k = 0; k < 3; k++) {
		sync_uidcache_side *s = &cache->s[k ? 1 : 0];

		for (size_t i = 0; i < ls[k]->n; i++) {
			const sync_msg *m = &ls[k]->m[i];

			if (k == 2 && m->uid < i2->uidnext)
				continue; /* n:* answers the highest UID below n too */
			if (sync_uidcache_add(s, m->uid, m->size, m->internaldate, &m->id,
					      ls[k]->idate[i]) < 0) {
				sync_uidcache_reset(s, 0);
				break;
			}
		}
	}
	for (int k = 0; k < 2; k++)
		if (sync_uidcache_sort(&cache->s[k]) < 0)
			sync_uidcache_reset(&cache->s[k], 0);
	if (sync_uidcache_save(cache, path, &st) < 0)
		cut_warn("%s: the next run lists this folder in full", st.msg);
}

/* ---- copy: host1 bodies streamed into host2 APPENDs ---- */

/*
 * The copies of one folder share one sink, whichever of the pipelined
 * FETCH commands asked for a body (the client hands each response to the
 * command whose UID set holds it): a body is matched to its job by the
 * UID of its FETCH response.  Bodies
 * go straight from host1's input into host2's output (bounded buffers,
 * no whole body in memory); a server that sends the UID after the body
 * (Dovecot sends it first) gets the body buffered until the UID is known.
 */
typedef struct copy_ctx {
	sync_folder *f;
	copy_job *jobs; /* ascending host1 UID */
	size_t n;
	copy_batch *batches; /* all, freed at the end */
	copy_batch *open;    /* the streamed APPEND being written */
	copy_job *cur;       /* the job whose body is being received */
	uint64_t cur_size, cur_written;
	int buffering;       /* body of a not yet known UID goes into buf */
	cut_buf buf;
	cut_status fetch_st; /* the first failed FETCH */
} copy_ctx;

/* Keeps the UIDs host2 gave this run's copies (RFC 4315 3 APPENDUID). */
static int copy_own_uids(sync_folder *f, const imap_append_result *res)
{
	const char *p = res->uid_set;
	uint32_t lo, hi;

	if (f->n_own > 0 && f->own_uidvalidity != res->uidvalidity)
		return 0; /* another UIDVALIDITY: none of them can be trusted */
	f->own_uidvalidity = res->uidvalidity;
	while (imap_seqset_next(&p, &lo, &hi) == 1)
		for (uint64_t u = lo; u <= hi; u++) {
			if (f->n_own == f->cap_own) {
				size_t ncap = f->cap_own ? 2 * f->cap_own : 64;
				uint32_t *no;

				if (hi - lo > 1000000)
					return -1; /* not a set this run's batches can get */
				no = realloc(f->own, ncap * sizeof(*no));
				if (no == NULL)
					return -1;
				f->own = no;
				f->cap_own = ncap;
			}
			f->own[f->n_own++] = (uint32_t)u;
		}
	return 0;
}

static void copy_batch_done(void *ctx, const imap_append_result *res,
			    const cut_status *st)
{
	copy_batch *b = ctx;
	copy_ctx *cc = b->cc;
	sync_folder *f = cc->f;

	b->done = 1;
	if (!cut_status_failed(st) && res != NULL && res->uid_set != NULL &&
	    copy_own_uids(f, res) < 0)
		cut_debug("out of memory keeping [APPENDUID]");
	for (size_t k = 0; k < cc->n; k++) {
		copy_job *j = &cc->jobs[k];
		const sync_msg *m = &f->l1->m[j->i1];

		if (j->batch != b)
			continue;
		if (cut_status_failed(st) || !j->ended) {
			f->copy_failed++;
			sync_folder_error(f->fr, "host1 UID %u (%llu bytes) not copied: %s",
					  m->uid, (unsigned long long)m->size,
					  cut_status_failed(st) ? st->msg
								: "incomplete body");
			continue;
		}
		j->appended = 1;
		f->fr->c.copied++;
		f->fr->c.copied_bytes += m->size;
	}
}

static int copy_job_cmp(const void *key, const void *elem)
{
	uint32_t uid = *(const uint32_t *)key;
	const copy_job *j = elem;
	uint32_t ju = j->f->l1->m[j->i1].uid;

	return uid < ju ? -1 : uid > ju;
}

#ifdef CUTOVER_DEBUG_HOOKS
/* Test hook (tests/integ/sync_inflight_test.sh): CUTOVER_CRASH_AFTER_APPENDS=N
 * makes the process exit right after the last byte of its Nth APPEND
 * command (of all accounts) left it, before host2's answer: the server
 * may commit the messages after the client is gone. */
static void sync_test_crash_after_append(imap_client *c2)
{
	static unsigned long count;
	const char *e = getenv("CUTOVER_CRASH_AFTER_APPENDS");
	char *end;
	unsigned long n;
	cut_status st;

	if (e == NULL || *e == '\0')
		return;
	n = strtoul(e, &end, 10);
	if (*end != '\0' || n == 0 ||
	    __atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST) != n)
		return;
	if (imap_client_flush(c2, &st) < 0)
		cut_warn("test hook: %s", st.msg);
	cut_warn("test hook: exiting after APPEND command %lu was sent", n);
	_exit(99);
}
#endif

/*
 * Ends the open APPEND command once its last message is complete.  The
 * command's messages are recorded as in flight first (sync_inflight.h):
 * from its last line on, host2 may commit them whatever happens to us.
 */
static int copy_batch_close(copy_ctx *cc, cut_status *st)
{
	copy_batch *b = cc->open;
	sync_folder *f = cc->f;
	const identity **ids = NULL;
	size_t n = 0;
	int ret;

	if (b == NULL)
		return 0;
	cc->open = NULL;
	if (f->r->inflight != NULL) {
		ids = calloc(b->n + 1, sizeof(*ids));
		if (ids == NULL)
			return cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
					      "out of memory");
		for (copy_job *j = b->first; j != NULL; j = j->bnext)
			ids[n++] = &f->l1->m[j->i1].id;
		ret = sync_inflight_begin(f->r->inflight, f->p->name2, cut_now(), ids,
					  n, st);
		free(ids);
		if (ret < 0) {
			/* not recorded: the command must not be completed */
			imap_append_stream_abort(f->r->c2, NULL);
			return -1;
		}
	}
	b->closed = 1;
	ret = imap_append_stream_end(f->r->c2, st);
#ifdef CUTOVER_DEBUG_HOOKS
	if (ret == 0)
		sync_test_crash_after_append(f->r->c2);
#endif
	return ret;
}

/* Starts job j's message (size bytes) on host2: in the open MULTIAPPEND
 * command when it has room, else in a new APPEND command. */
static int copy_start(copy_ctx *cc, copy_job *j, uint64_t size, cut_status *st)
{
	sync_folder *f = cc->f;
	imap_client *c2 = f->r->c2;
	const sync_msg *m = &f->l1->m[j->i1];
	imap_append_req req;
	copy_batch *b = cc->open;

	if (b != NULL && (!imap_append_stream_can_add(c2) || b->n >= SYNC_BATCH_MSGS ||
			  b->bytes + size > SYNC_BATCH_BYTES) &&
	    copy_batch_close(cc, st) < 0)
		return -1;
	memset(&req, 0, sizeof(req));
	req.mailbox = f->p->name2;
	req.flags = m->flags[0] != '\0' ? m->flags : NULL;
	req.internaldate = f->l1->idate[j->i1];
	req.size = size;
	j->began = 1;
	cc->cur = j;
	cc->cur_size = size;
	cc->cur_written = 0;
	if (cc->open != NULL) {
		j->batch = cc->open;
		cc->open->last->bnext = j;
		cc->open->last = j;
		cc->open->n++;
		cc->open->bytes += size;
		return imap_append_stream_add(c2, &req, st);
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER, "out of memory");
	b->cc = cc;
	b->next = cc->batches;
	b->n = 1;
	b->bytes = size;
	cc->batches = b;
	j->batch = b;
	b->first = b->last = j;
	if (imap_append_stream_begin(c2, &req, copy_batch_done, b, st) < 0)
		return -1; /* refused: copy_batch_done has counted j */
	cc->open = b;
	return 0;
}

static int copy_write(copy_ctx *cc, const void *p, size_t n, cut_status *st)
{
	if (cc->cur == NULL)
		return 0;
	cc->cur_written += n;
	return imap_append_stream_write(cc->f->r->c2, p, n, st);
}

/* The current body is complete: mark its job sent. */
static void copy_finish(copy_ctx *cc)
{
	sync_run *r = cc->f->r;

	if (cc->cur == NULL || cc->cur_written != cc->cur_size)
		return; /* incomplete: the open command is abandoned later */
	cc->cur->ended = 1;
	cc->cur = NULL;
	if (r->o->progress != NULL && (++r->copies_ended % 50) == 0)
		sync_progress_emit(r);
}

static int copy_begin(void *ctx, uint32_t seq, uint32_t uid, uint64_t size,
		      cut_status *st)
{
	copy_ctx *cc = ctx;
	copy_job *j;

	(void)seq;
	if (sync_cancelled(cc->f->r))
		return cut_status_set(st, CUT_CANCELLED, CUT_SCOPE_ACCOUNT,
				      "cancelled");
	cc->cur = NULL;
	if (uid == 0) {
		cut_buf_reset(&cc->buf);
		cc->buffering = 1;
		if (size > 0 && cut_buf_reserve(&cc->buf, (size_t)size) < 0)
			return cut_status_set(st, CUT_TEMP, CUT_SCOPE_MESSAGE,
					      "out of memory for a message of %llu bytes",
					      (unsigned long long)size);
		return 0;
	}
	cc->buffering = 0;
	j = bsearch(&uid, cc->jobs, cc->n, sizeof(*cc->jobs), copy_job_cmp);
	if (j == NULL || j->began)
		return 0; /* not asked for (or twice): discarded */
	return copy_start(cc, j, size, st);
}

static int copy_data(void *ctx, const void *p, size_t n, cut_status *st)
{
	copy_ctx *cc = ctx;

	if (cc->buffering) {
		if (cut_buf_append(&cc->buf, p, n) < 0)
			return cut_status_set(st, CUT_TEMP, CUT_SCOPE_MESSAGE,
					      "out of memory reading a message body");
		return 0;
	}
	return copy_write(cc, p, n, st);
}

static int copy_end(void *ctx, cut_status *st)
{
	copy_ctx *cc = ctx;

	(void)st;
	if (!cc->buffering)
		copy_finish(cc);
	return 0;
}

/* The FETCH response is complete (it always has the UID): a buffered body
 * of a server that sent the UID late is sent now. */
static int copy_on_msg(void *ctx, const imap_fetch_msg *fm, cut_status *st)
{
	copy_ctx *cc = ctx;
	copy_job *j;

	if (!fm->body_done || !cc->buffering)
		return 0;
	cc->buffering = 0;
	j = bsearch(&fm->uid, cc->jobs, cc->n, sizeof(*cc->jobs), copy_job_cmp);
	if (j == NULL || j->began) {
		cut_buf_reset(&cc->buf);
		return 0;
	}
	if (copy_start(cc, j, cc->buf.len, st) < 0 ||
	    (cc->buf.len > 0 && copy_write(cc, cc->buf.data, cc->buf.len, st) < 0))
		return -1;
	copy_finish(cc);
	cut_buf_free(&cc->buf);
	return 0;
}

static void copy_fetch_done(void *ctx, const imap_resp *tagged,
			    const cut_status *st)
{
	copy_ctx *cc = ctx;

	(void)tagged;
	if (cut_status_failed(st) && !cut_status_failed(&cc->fetch_st))
		cut_status_copy(&cc->fetch_st, st);
}

static int sync_copy(sync_folder *f, const sync_plan *plan, copy_job **jobs_r,
		     size_t *n_jobs_r, cut_status *st)
{
	sync_run *r = f->r;
	copy_ctx cc;
	imap_body_sink sink = {copy_begin, copy_data, copy_end, NULL};
	uint32_t *uids = NULL;
	cut_buf set = CUT_BUF_INIT;
	size_t pos = 0;
	int ret = -1;

	memset(&cc, 0, sizeof(cc));
	cc.f = f;
	*jobs_r = NULL;
	*n_jobs_r = 0;
	if (plan->n_copy == 0)
		return 0;
	cc.jobs = calloc(plan->n_copy, sizeof(*cc.jobs));
	uids = calloc(plan->n_copy, sizeof(*uids));
	if (cc.jobs == NULL || uids == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER, "out of memory");
		goto done;
	}
	/* COPY actions come in ascending host1 UID order (sync_plan.h). */
	for (size_t k = 0; k < plan->n_acts; k++) {
		if (plan->acts[k].kind != SYNC_ACT_COPY)
			continue;
		cc.jobs[cc.n].f = f;
		cc.jobs[cc.n].i1 = plan->acts[k].i1;
		uids[cc.n] = f->l1->m[plan->acts[k].i1].uid;
		cc.n++;
	}
	sink.ctx = &cc;
	ret = 0;
	while (pos < cc.n && ret == 0) {
		imap_fetch_req req;

		if (uidset_next(uids, cc.n, &pos, &set) < 0) {
			ret = cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
					     "out of memory");
			break;
		}
		memset(&req, 0, sizeof(req));
		req.uid_set = set.data;
		req.items = IMAP_FETCH_BODY;
		req.on_msg = copy_on_msg;
		req.ctx = &cc;
		req.sink = &sink;
		ret = imap_uid_fetch_async(r->c1, &req, copy_fetch_done, &cc, st);
	}
	/* host1's reads feed host2's APPENDs; then collect host2's answers.
	 * Both always run dry here: queued commands point at cc. */
	if (imap_client_run(r->c1, ret < 0 ? NULL : st) < 0)
		ret = -1;
	if (cc.open != NULL) {
		if (cc.cur != NULL) {
			/* a body stopped midway (host1 failed or cancelled):
			 * closing host2's connection makes it append none of
			 * the command's messages */
			imap_append_stream_abort(r->c2, NULL);
			cc.open = NULL;
		} else if (copy_batch_close(&cc, ret < 0 ? NULL : st) < 0) {
			ret = -1;
		}
	}
	if (imap_client_run(r->c2, ret < 0 ? NULL : st) < 0)
		ret = -1;
done:
	for (size_t k = 0; k < cc.n; k++) {
		const sync_msg *m = &f->l1->m[cc.jobs[k].i1];

		if (cc.jobs[k].batch != NULL)
			continue; /* counted by copy_batch_done */
		f->copy_failed++;
		if (cut_status_failed(&cc.fetch_st))
			sync_folder_error(f->fr, "host1 UID %u not copied: %s", m->uid,
					  cc.fetch_st.msg);
		else
			sync_folder_error(f->fr,
					  "host1 UID %u vanished from host1 during the sync",
					  m->uid);
	}
	/* Every APPEND that went out was answered: nothing is in flight. */
	f->unanswered = 0;
	while (cc.batches != NULL) {
		copy_batch *b = cc.batches;

		if (!b->done && b->closed)
			f->unanswered = 1;
		cc.batches = b->next;
		free(b);
	}
	cut_buf_free(&cc.buf);
	cut_buf_free(&set);
	free(uids);
	/* jobs[] is freed by the caller once both clients have run dry. */
	*jobs_r = cc.jobs;
	*n_jobs_r = cc.n;
	return ret;
}

/* ---- flags ---- */

typedef struct store_group {
	sync_folder *f;
	size_t n;
	const char *flags;
	int ok;
} store_group;

static void store_done(void *ctx, const imap_resp *tagged, const cut_status *st)
{
	store_group *g = ctx;

	(void)tagged;
	if (cut_status_failed(st)) {
		g->f->fr->c.failed += g->n;
		sync_folder_error(g->f->fr, "setting flags (%s) on %zu host2 messages: %s",
				  g->flags, g->n, st->msg);
		return;
	}
	g->f->fr->c.flags_updated += g->n;
}

static int sync_flags(sync_folder *f, const sync_plan *plan, const sync_list *l2,
		      cut_status *st)
{
	store_group *groups = NULL;
	uint32_t *uids = NULL;
	size_t ng = 0;
	cut_buf set = CUT_BUF_INIT;
	int ret = -1;

	if (plan->n_flags == 0)
		return 0;
	groups = calloc(plan->n_flags, sizeof(*groups));
	uids = calloc(plan->n_flags, sizeof(*uids));
	if (groups == NULL || uids == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER, "out of memory");
		goto done;
	}
	/* Actions come grouped by target flag set (sync_plan.h). */
	for (size_t k = 0; k < plan->n_acts;) {
		const char *flags;
		size_t nu = 0, pos = 0;

		if (plan->acts[k].kind != SYNC_ACT_FLAGS) {
			k++;
			continue;
		}
		flags = f->l1->m[plan->acts[k].i1].flags;
		while (k < plan->n_acts && plan->acts[k].kind == SYNC_ACT_FLAGS &&
		       strcasecmp(f->l1->m[plan->acts[k].i1].flags, flags) == 0)
			uids[nu++] = l2->m[plan->acts[k++].i2].uid;
		qsort(uids, nu, sizeof(*uids), u32_cmp);
		while (pos < nu) {
			size_t start = pos;

			if (uidset_next(uids, nu, &pos, &set) < 0)
				goto oom;
			groups[ng] = (store_group){f, pos - start, flags, 0};
			/* RFC 3501 6.4.6: FLAGS replaces the whole set. */
			if (imap_uid_store_async(f->r->c2, set.data, "FLAGS", 1, flags,
						 store_done, &groups[ng], st) < 0)
				goto done;
			ng++;
		}
	}
	if (imap_client_run(f->r->c2, st) < 0)
		goto done;
	ret = 0;
	goto done;
oom:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER, "out of memory");
done:
	cut_buf_free(&set);
	free(groups);
	free(uids);
	return ret;
}

/* ---- deletions ---- */

/* How many \Deleted messages of the selected folder are not in the
 * sorted `uids`; with was_r, also the subset of `uids` already \Deleted
 * (malloc'ed, sorted, *n_was_r entries). */
static int sync_foreign_deleted(imap_client *c, const uint32_t *uids, size_t n,
				size_t *foreign_r, uint32_t **was_r, size_t *n_was_r,
				cut_status *st)
{
	uint32_t *now = NULL;
	size_t n_now = 0;

	*foreign_r = 0;
	if (imap_uid_search(c, "DELETED", &now, &n_now, st) < 0)
		return -1;
	for (size_t i = 0; i < n_now; i++) {
		if (bsearch(&now[i], uids, n, sizeof(*uids), u32_cmp) == NULL)
			(*foreign_r)++;
		else if (was_r != NULL)
			now[(*n_was_r)++] = now[i]; /* compacts in place */
	}
	if (was_r != NULL)
		*was_r = now;
	else
		free(now);
	return 0;
}

/*
 * Marks exactly `uids` \Deleted and expunges exactly them: UID EXPUNGE
 * (RFC 4315 2.1) when the server has UIDPLUS.  Without it EXPUNGE removes
 * every \Deleted message, so the server is asked which messages are
 * \Deleted (UID SEARCH DELETED) before marking ours and again right
 * before the EXPUNGE (another client may mark one meanwhile): anything
 * but ours refuses, with the \Deleted flags set here taken back and
 * nothing expunged.
 */
static int sync_delete_uids(imap_client *c, const char *side, uint32_t *uids,
			    size_t n, cut_status *st)
{
	cut_buf set = CUT_BUF_INIT;
	size_t pos = 0, foreign = 0, n_was = 0;
	uint32_t *was = NULL;
	int uidplus = imap_client_has_cap(c, "UIDPLUS");
	int marked = 0, ret = -1;

	qsort(uids, n, sizeof(*uids), u32_cmp);
	if (!uidplus) {
		if (sync_foreign_deleted(c, uids, n, &foreign, &was, &n_was, st) < 0)
			goto done;
		if (foreign > 0)
			goto refuse;
	}
	while (pos < n) {
		if (uidset_next(uids, n, &pos, &set) < 0)
			goto oom;
		marked = 1;
		if (imap_uid_store(c, set.data, "+FLAGS", "\\Deleted", st) < 0)
			goto done;
		if (uidplus && imap_uid_expunge(c, set.data, st) < 0)
			goto done;
	}
	if (!uidplus) {
		if (sync_foreign_deleted(c, uids, n, &foreign, NULL, NULL, st) < 0)
			goto done;
		if (foreign > 0)
			goto refuse;
		if (imap_expunge(c, st) < 0)
			goto done;
	}
	ret = 0;
	goto done;
refuse:
	if (marked) {
		/* take back the flags set here (not those that were there) */
		cut_status ust;
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (n_was == 0 ||
			    bsearch(&uids[i], was, n_was, sizeof(*was), u32_cmp) == NULL)
				uids[k++] = uids[i];
		pos = 0;
		while (pos < k && uidset_next(uids, k, &pos, &set) == 0 &&
		       imap_uid_store(c, set.data, "-FLAGS", "\\Deleted", &ust) == 0)
			;
	}
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
		       "%s lacks UIDPLUS and %zu other message(s) are marked "
		       "\\Deleted%s: an EXPUNGE would remove them too, so %zu "
		       "deletion(s) were not done",
		       side, foreign, marked ? " (marked meanwhile by another client)" : "",
		       n);
	goto done;
oom:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER, "out of memory");
done:
	free(was);
	cut_buf_free(&set);
	return ret;
}

static int sync_delete_kind(sync_folder *f, const sync_plan *plan,
			    sync_action_kind kind, const sync_list *l,
			    cut_status *st)
{
	uint32_t *uids = NULL;
	size_t n = 0;
	int ret;

	for (size_t k = 0; k < plan->n_acts; k++)
		n += plan->acts[k].kind == kind;
	if (n == 0)
		return 0;
	uids = calloc(n, sizeof(*uids));
	if (uids == NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER, "out of memory");
	n = 0;
	for (size_t k = 0; k < plan->n_acts; k++)
		if (plan->acts[k].kind == kind)
			uids[n++] = kind == SYNC_ACT_DELETE2
					    ? l->m[plan->acts[k].i2].uid
					    : l->m[plan->acts[k].i1].uid;
	ret = sync_delete_uids(kind == SYNC_ACT_DELETE2 ? f->r->c2 : f->r->c1,
			       kind == SYNC_ACT_DELETE2 ? "host2" : "host1", uids, n,
			       st);
	if (ret == 0) {
		if (kind == SYNC_ACT_DELETE2)
			f->fr->c.deleted2 += n;
		else
			f->fr->c.deleted1 += n;
	} else {
		f->fr->c.failed += n;
	}
	free(uids);
	return ret;
}

/* ---- APPENDs an interrupted run left in flight (sync_inflight.h) ---- */

/*
 * An earlier run died with APPENDs to this folder unanswered, and some of
 * their messages are not on host2 (the plan copies them): the server may
 * still be committing them.  Waits until SYNC_INFLIGHT_SETTLE seconds
 * after that run's last APPEND went out.
 * @return 1 when it waited (host2 must be listed again), 0 when there was
 *         nothing to wait for, -1 with *st when cancelled.
 */
static int sync_inflight_settle(sync_run *r, const sync_folder_result *fr,
				const sync_inflight_folder *pf,
				const sync_plan *plan, const sync_list *l1,
				cut_status *st)
{
	size_t missing = 0;
	double now = cut_now(), until;

	for (size_t k = 0; k < plan->n_acts; k++)
		if (plan->acts[k].kind == SYNC_ACT_COPY &&
		    sync_inflight_has(pf, &l1->m[plan->acts[k].i1].id))
			missing++;
	until = pf->sent + SYNC_INFLIGHT_SETTLE;
	if (until > now + SYNC_INFLIGHT_SETTLE)
		until = now + SYNC_INFLIGHT_SETTLE; /* the clock went back */
	if (missing == 0 || until <= now)
		return 0;
	cut_info("%s: %zu message(s) of an interrupted run's APPEND are not on "
		 "host2 yet: giving host2 %.1f s to commit them before listing "
		 "it again", fr->display1, missing, until - now);
	while (now < until) {
		if (sync_cancelled(r))
			return cut_status_set(st, CUT_CANCELLED, CUT_SCOPE_ACCOUNT,
					      "cancelled");
		cut_sleep(until - now < 0.2 ? until - now : 0.2);
		now = cut_now();
	}
	return 1;
}

/* Removes the entries of l marked in drop[] (their strings freed). */
static void sync_list_drop(sync_list *l, const unsigned char *drop)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (drop[i]) {
			free(l->flags[i]);
			free(l->idate[i]);
			continue;
		}
		l->m[k] = l->m[i];
		l->flags[k] = l->flags[i];
		l->idate[k] = l->idate[i];
		k++;
	}
	l->n = k;
}

static int cmp_idx_id_uid_desc(const void *a, const void *b, void *arg)
{
	const sync_msg *m = arg;
	const sync_msg *x = &m[*(const size_t *)a], *y = &m[*(const size_t *)b];
	int c = identity_cmp(&x->id, &y->id);

	if (c != 0)
		return c;
	return x->uid > y->uid ? -1 : x->uid < y->uid;
}

static int cmp_identity(const void *a, const void *b)
{
	return identity_cmp(a, b);
}

/*
 * After this run's copies into a folder (l2a: host2 listed again): an
 * identity host2 now holds more often than host1, where some of the
 * copies are this run's own ([APPENDUID]), was appended twice -- by an
 * interrupted run whose APPEND host2 committed after this run had
 * listed it, and by this run.  This run's own copies of it are expunged
 * by UID (UIDPLUS), newest first and only down to host1's count, so
 * host2 never holds fewer copies than host1 and nothing else on host2
 * is touched.  The expunged entries leave l2a.
 * @return 0 (also when nothing was to do, or no UIDPLUS), -1 with *st.
 */
static int sync_drop_own_extra(sync_folder *f, const sync_list *l1,
			       sync_list *l2a, uint32_t uidvalidity2,
			       cut_status *st)
{
	size_t *idx = NULL;
	identity *ids1 = NULL;
	unsigned char *drop = NULL;
	uint32_t *uids = NULL;
	size_t n_drop = 0, a = 0, b = 0;
	uint64_t bytes = 0;
	int ret = -1;

	if (f->n_own == 0 || l2a->n == 0 || f->own_uidvalidity != uidvalidity2 ||
	    !imap_client_has_cap(f->r->c2, "UIDPLUS"))
		return 0;
	qsort(f->own, f->n_own, sizeof(*f->own), u32_cmp);
	idx = malloc(l2a->n * sizeof(*idx));
	ids1 = malloc((l1->n + 1) * sizeof(*ids1));
	drop = calloc(l2a->n, 1);
	uids = malloc(l2a->n * sizeof(*uids));
	if (idx == NULL || ids1 == NULL || drop == NULL || uids == NULL)
		goto oom;
	for (size_t i = 0; i < l2a->n; i++)
		idx[i] = i;
	for (size_t i = 0; i < l1->n; i++)
		ids1[i] = l1->m[i].id;
	qsort_r(idx, l2a->n, sizeof(*idx), cmp_idx_id_uid_desc, l2a->m);
	if (l1->n > 1)
		qsort(ids1, l1->n, sizeof(*ids1), cmp_identity);
	while (a < l2a->n) {
		const identity *id = &l2a->m[idx[a]].id;
		size_t e = a, c1 = 0, extra;

		while (e < l2a->n && identity_cmp(&l2a->m[idx[e]].id, id) == 0)
			e++;
		while (b < l1->n && identity_cmp(&ids1[b], id) < 0)
			b++;
		while (b + c1 < l1->n && identity_cmp(&ids1[b + c1], id) == 0)
			c1++;
		extra = e - a > c1 ? e - a - c1 : 0;
		for (size_t k = a; k < e && extra > 0; k++) {
			const sync_msg *m = &l2a->m[idx[k]];

			if (bsearch(&m->uid, f->own, f->n_own, sizeof(*f->own),
				    u32_cmp) == NULL)
				continue;
			drop[idx[k]] = 1;
			uids[n_drop++] = m->uid;
			bytes += m->size;
			extra--;
		}
		a = e;
	}
	if (n_drop > 0) {
		cut_warn("%s: host2 %s: %zu message(s) were appended twice, by an "
			 "interrupted run (committed after this run listed host2) and "
			 "by this run: expunging this run's copies",
			 f->fr->display1, f->p->name2, n_drop);
		if (sync_delete_uids(f->r->c2, "host2", uids, n_drop, st) < 0)
			goto done;
		sync_list_drop(l2a, drop);
		f->fr->c.copied -= n_drop <= f->fr->c.copied ? n_drop : f->fr->c.copied;
		f->fr->c.copied_bytes -= bytes <= f->fr->c.copied_bytes
						 ? bytes
						 : f->fr->c.copied_bytes;
	}
	ret = 0;
	goto done;
oom:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER, "out of memory");
done:
	free(idx);
	free(ids1);
	free(drop);
	free(uids);
	return ret;
}

/* ---- one folder ---- */

static int record_actions(sync_folder_result *fr, const sync_plan *plan,
			  const sync_list *l1, const sync_list *l2)
{
	fr->acts = calloc(plan->n_acts + 1, sizeof(*fr->acts));
	if (fr->acts == NULL)
		return -1;
	for (size_t k = 0; k < plan->n_acts; k++) {
		const sync_action *a = &plan->acts[k];
		sync_action_rec *rec = &fr->acts[fr->n_acts++];

		rec->kind = a->kind;
		if (a->i1 != SYNC_PLAN_NONE) {
			rec->uid1 = l1->m[a->i1].uid;
			rec->size = l1->m[a->i1].size;
			rec->flags = strdup(l1->m[a->i1].flags);
			if (rec->flags == NULL)
				return -1;
		}
		if (a->i2 != SYNC_PLAN_NONE) {
			rec->uid2 = l2->m[a->i2].uid;
			if (a->i1 == SYNC_PLAN_NONE)
				rec->size = l2->m[a->i2].size;
		}
	}
	return 0;
}

static sync_state_side state_side(const imap_select_info *i)
{
	sync_state_side s;

	s.uidvalidity = i->uidvalidity;
	s.uidnext = i->uidnext;
	s.highestmodseq = i->nomodseq ? 0 : i->highestmodseq;
	s.exists = i->exists;
	return s;
}

/*
 * The pair is in sync: remember host1's counters as they were before the
 * listing (a change since then shows next time) and host2's as they are
 * after this run's own changes (from the STATUS the caller queued, so
 * that host2 answers it while the UID cache is written; this runs it dry
 * first).  STATUS of the selected folder costs Dovecot next to nothing,
 * where a second SELECT reopens the folder (a Maildir scan of every file
 * of a changed folder, about 80 ms for 20,000 messages).  Nothing is
 * recorded when the counts do not add up (host1's listing is not what
 * SELECT announced, or host2 holds another number of messages than this
 * run left there), when STATUS gave no UIDVALIDITY or another one than
 * the folder this run listed, or no HIGHESTMODSEQ: someone else changed
 * a server meanwhile (or the server does not say), and the next run
 * compares the pair in full.
 */
static void sync_state_record(sync_run *r, const folder_pair *p,
			      const imap_select_info *i1, size_t listed1,
			      uint32_t uidvalidity2, const imap_select_info *i2,
			      const cut_status *sel_st, size_t expect2)
{
	sync_state_side a, b;
	cut_status st;

	/* host2's SELECT, queued by the caller, answered first: it points
	 * at *i2 and *sel_st */
	cut_status_clear(&st);
	if (imap_client_run(r->c2, &st) < 0 || cut_status_failed(sel_st)) {
		cut_debug("%s: not recorded in the state: %s", p->name2,
			  cut_status_failed(sel_st) ? sel_st->msg : st.msg);
		return;
	}
	if (i2->uidvalidity == 0 || i2->uidvalidity != uidvalidity2 ||
	    (i2->highestmodseq == 0 && !i2->nomodseq)) {
		cut_debug("%s: not recorded in the state: STATUS gave UIDVALIDITY %u "
			  "(listed: %u), HIGHESTMODSEQ %llu",
			  p->name2, i2->uidvalidity, uidvalidity2,
			  (unsigned long long)i2->highestmodseq);
		return;
	}
	if (i1->exists != listed1) {
		cut_debug("%s: not recorded in the state: host1 listed %zu messages, "
			  "SELECT said %u", p->name2, listed1, i1->exists);
		return;
	}
	if (i2->exists != expect2) {
		cut_debug("%s: not recorded in the state: host2 holds %u messages, "
			  "%zu expected", p->name2, i2->exists, expect2);
		return;
	}
	a = state_side(i1);
	b = state_side(i2);
	if (sync_state_put(r->state, p->name1, p->name2, r->mode, &a, &b) < 0)
		cut_debug("%s: not recorded in the state: out of memory", p->name2);
}

/* host2's PERMANENTFLAGS as sync_plan_opts.permanentflags2 wants it:
 * NULL when not sent, or when the folder was only EXAMINEd (read-only,
 * RFC 3501 6.3.2: the list then says nothing about a real run). */
static const char *host2_permanentflags(int host2_exists, const imap_select_info *i2)
{
	if (!host2_exists || i2->read_only || !i2->permanentflags_sent)
		return NULL;
	return i2->permanentflags;
}

/*
 * Keywords host2 cannot keep.  A real run sends (APPEND, UID STORE) and
 * compares only the flags host2's PERMANENTFLAGS allows
 * (sync_plan_flags_keepable()): host1's list is rewritten in place, and
 * one warning names the keywords left behind.  A dry run only EXAMINEs
 * host2, whose PERMANENTFLAGS is then empty: nothing is rewritten, and
 * unless host2 announced "\*" the keywords host2's FLAGS does not list
 * (all of them for a folder still to be created) are named as ones that
 * may be dropped.  @return 0, or -1 with *st (out of memory).
 */
static int sync_keepable_flags(sync_run *r, const folder_pair *p,
			       const sync_folder_result *fr, sync_list *l1,
			       int host2_exists, const imap_select_info *i2,
			       cut_status *st)
{
	const char *perm = host2_permanentflags(host2_exists, i2);
	char *set = NULL, *kept = NULL, *dropped = NULL;
	size_t n_msgs = 0;
	int ret = -1;

	if (r->o->dry_run) {
		/* the keywords the folder already has, or all with "\*" (a
		 * keyword is an atom and cannot contain '\' or '*') */
		perm = host2_exists ? i2->flags : "";
		if (host2_exists && i2->permanentflags_sent &&
		    strstr(i2->permanentflags, "\\*") != NULL)
			perm = NULL;
	}
	if (perm == NULL) {
		ret = 0;
		goto done;
	}
	for (size_t i = 0; i < l1->n; i++) {
		if (r->o->delete1 && !l1->m[i].selected)
			continue;
		if (sync_plan_flags_keepable(l1->m[i].flags, perm, &kept, &dropped) < 0)
			goto oom;
		if (dropped[0] != '\0') {
			n_msgs++;
			if (sync_plan_flags_union(&set, dropped) < 0)
				goto oom;
			if (!r->o->dry_run) {
				free(l1->flags[i]);
				l1->flags[i] = kept;
				l1->m[i].flags = kept;
				kept = NULL;
			}
		}
		free(kept);
		free(dropped);
		kept = dropped = NULL;
	}
	if (n_msgs > 0 && !r->o->dry_run)
		cut_warn("%s: host2 %s cannot keep the keywords %s (its PERMANENTFLAGS "
			 "(%s) has no \\*): they are not sent and stay on host1 only, on "
			 "%zu message(s)",
			 fr->display1, p->name2, set, perm, n_msgs);
	else if (n_msgs > 0)
		cut_warn("%s: dry run: host2 %s %s, so the keywords %s (on %zu "
			 "message(s)) may be dropped if host2 cannot create keywords; a "
			 "real run knows from SELECT",
			 fr->display1, p->name2,
			 host2_exists ? "does not list them in the folder's FLAGS"
				      : "folder does not exist yet",
			 set, n_msgs);
	ret = 0;
	goto done;
oom:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER, "out of memory");
done:
	free(set);
	free(kept);
	free(dropped);
	return ret;
}

static int sync_one_folder(sync_run *r, const folder_pair *p,
			   sync_folder_result *fr, cut_status *st)
{
	const sync_opts *o = r->o;
	imap_select_info i1, i2;
	sync_list l1 = {0}, l2 = {0}, l2b = {0}, l2new = {0};
	sync_uidcache *cache = NULL;
	char *cache_path = NULL;
	sync_plan *plan = NULL, *plan2 = NULL;
	sync_plan_opts po;
	sync_folder f = {r, p, fr, &l1, 0, NULL, 0, 0, 0, 0};
	const sync_inflight_folder *pf =
		o->dry_run ? NULL : sync_inflight_find(r->inflight, p->name2);
	copy_job *jobs = NULL;
	size_t n_jobs = 0;
	int host2_exists = !p->create;
	imap_select_info i2r; /* host2 after this run, for the state */
	cut_status rst;
	int record;
	int ret = -1;

	memset(&i1, 0, sizeof(i1));
	memset(&i2, 0, sizeof(i2));
	if (p->create) {
		if (!o->dry_run && imap_create(r->c2, p->name2, 1, st) < 0)
			goto folder_fail;
		host2_exists = !o->dry_run;
		fr->created = 1;
	}
	if (p->subscribe && !o->delete1) {
		if (!o->dry_run && imap_subscribe(r->c2, p->name2, st) < 0)
			goto folder_fail;
		fr->subscribed = 1;
	}
	/* host1 is only ever written by the postsync (delete1).  Both at once:
	 * each server opens its folder (a Maildir scan of every file for a
	 * large one) while the other does. */
	{
		cut_status s1;
		int sret;

		cut_status_clear(&s1);
		if (imap_select_async(r->c1, p->name1, !(o->delete1 && !o->dry_run),
				      r->condstore, &i1, list_fetch_done, &s1, st) < 0)
			goto folder_fail;
		sret = host2_exists ? imap_select(r->c2, p->name2, o->dry_run,
						  r->condstore, &i2, st)
				    : 0;
		/* host1 runs dry whatever happened: its command points at s1 */
		if (imap_client_run(r->c1, sret < 0 ? NULL : st) < 0)
			sret = -1;
		if (sret < 0)
			goto folder_fail;
		if (cut_status_failed(&s1)) {
			cut_status_copy(st, &s1);
			goto folder_fail;
		}
	}
	if (r->state != NULL) {
		sync_state_side a = state_side(&i1), b = state_side(&i2);

		/* An exact sync leaves as many messages on host2 as on host1:
		 * counts that differ are suspect whatever the state says. */
		if (host2_exists && !p->create && pf == NULL &&
		    (!o->delete2 || a.exists == b.exists) &&
		    sync_state_unchanged(sync_state_find(r->state, p->name1, p->name2),
					 r->mode, &a, &b)) {
			cut_debug("%s -> %s: unchanged on both servers since the last "
				  "run (UIDNEXT, HIGHESTMODSEQ, EXISTS): skipped",
				  fr->display1, p->name2);
			fr->unchanged = 1;
			fr->c.in_sync = i1.exists;
			ret = 0;
			goto done;
		}
		/* Until this pair is in sync again it has no entry: a crash
		 * leaves it compared in full next time. */
		sync_state_drop(r->state, p->name1, p->name2);
		if (host2_exists) {
			cut_status cst;

			cut_status_clear(&cst);
			cache_path = sync_uidcache_path(r->state_path, p->name1, p->name2);
			if (cache_path == NULL ||
			    sync_uidcache_load(cache_path, p->name1, p->name2, &cache,
					       &cst) < 0) {
				cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER, "out of memory");
				goto folder_fail;
			}
			if (cut_status_failed(&cst))
				cut_warn("%s: the folder is listed in full", cst.msg);
		}
	}
	if (cache != NULL
		    ? sync_list_cached(r, p, cache, &i1, &l1, &i2, &l2, st) < 0
		    : sync_list_both(r, i1.exists, &l1, i2.exists,
				     host2_exists ? &l2 : NULL, st) < 0)
		goto folder_fail;

	if (o->delete1) {
		double now = o->now > 0 ? o->now : cut_now();

		/* By arrival (INTERNALDATE, RFC 3501 2.3.3), to the second; the
		 * Date header plays no part. */
		for (size_t i = 0; i < l1.n; i++)
			l1.m[i].selected = o->maxage <= 0 ||
					   (double)l1.m[i].internaldate >= now - o->maxage;
	}
	memset(&po, 0, sizeof(po));
	po.delete2 = o->delete2;
	po.delete1 = o->delete1;
	po.update_flags = !o->no_flag_updates;
	/* what host2 can store (EXAMINE reports PERMANENTFLAGS ()) */
	po.permanentflags2 = host2_permanentflags(host2_exists, &i2);
	if (sync_keepable_flags(r, p, fr, &l1, host2_exists, &i2, st) < 0)
		goto folder_fail;
	if (sync_plan_compute(l1.m, l1.n, l2.m, l2.n, &po, &plan, st) < 0)
		goto folder_fail;
	if (pf != NULL && host2_exists) {
		int waited = sync_inflight_settle(r, fr, pf, plan, &l1, st);

		if (waited < 0)
			goto folder_fail;
		if (waited > 0) {
			sync_plan_free(&plan);
			sync_list_free(&l2);
			if (imap_select(r->c2, p->name2, 0, r->condstore, &i2, st) < 0 ||
			    sync_list_both(r, 0, NULL, i2.exists, &l2, st) < 0)
				goto folder_fail;
			po.permanentflags2 = host2_permanentflags(1, &i2);
			if (sync_plan_compute(l1.m, l1.n, l2.m, l2.n, &po, &plan, st) < 0)
				goto folder_fail;
		}
	}
	cut_debug("%s -> %s: host1 %zu, host2 %zu messages: copy %zu (%llu bytes), "
		  "flags %zu, delete2 %zu, delete1 %zu, in sync %zu",
		  fr->display1, p->name2, l1.n, l2.n, plan->n_copy,
		  (unsigned long long)plan->copy_bytes, plan->n_flags,
		  plan->n_delete2, plan->n_delete1, plan->n_in_sync);
	if (o->record_actions && record_actions(fr, plan, &l1, &l2) < 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER, "out of memory");
		goto folder_fail;
	}
	if (o->dry_run) {
		/* Counters say what would be done. */
		fr->c.copied = plan->n_copy;
		fr->c.copied_bytes = plan->copy_bytes;
		fr->c.flags_updated = plan->n_flags;
		fr->c.deleted2 = plan->n_delete2;
		fr->c.deleted1 = plan->n_delete1 + (o->delete1 ? plan->n_copy : 0);
		fr->c.in_sync = plan->n_in_sync;
		ret = 0;
		goto done;
	}

	if (sync_copy(&f, plan, &jobs, &n_jobs, st) < 0)
		goto folder_fail;
	if (sync_cancelled(r)) {
		cut_status_set(st, CUT_CANCELLED, CUT_SCOPE_ACCOUNT, "cancelled");
		goto folder_fail;
	}
	if (!o->delete1) {
		/* after an interrupted run: its late APPENDs against ours */
		if (pf != NULL && f.n_own > 0) {
			imap_select_info i2c;

			memset(&i2c, 0, sizeof(i2c));
			if (imap_select(r->c2, p->name2, 0, 0, &i2c, st) < 0 ||
			    sync_list_both(r, 0, NULL, i2c.exists, &l2b, st) < 0 ||
			    sync_drop_own_extra(&f, &l1, &l2b, i2c.uidvalidity, st) < 0)
				goto folder_fail;
		}
		fr->c.failed += f.copy_failed;
		f.copy_failed = 0;
		fr->c.in_sync += plan->n_in_sync;
		if (sync_flags(&f, plan, &l2, st) < 0)
			goto folder_fail;
		if (o->delete2 &&
		    sync_delete_kind(&f, plan, SYNC_ACT_DELETE2, &l2, st) < 0)
			sync_folder_error(fr, "%s", st->msg);
	} else {
		const sync_plan *confirmed = plan;
		const sync_list *l2c = &l2;

		/* RFC 4315 APPENDUID alone is not trusted for a deletion: host2 is
		 * listed again and only messages found there by identity go. */
		if (plan->n_copy > 0) {
			if (imap_select(r->c2, p->name2, 0, 0, &i2, st) < 0 ||
			    sync_list_both(r, 0, NULL, i2.exists, &l2b, st) < 0 ||
			    sync_drop_own_extra(&f, &l1, &l2b, i2.uidvalidity, st) < 0 ||
			    sync_plan_compute(l1.m, l1.n, l2b.m, l2b.n, &po, &plan2,
					      st) < 0)
				goto folder_fail;
			confirmed = plan2;
			l2c = &l2b;
		}
		(void)l2c;
		/* Selected messages still missing on host2 stay on host1. */
		fr->c.failed += confirmed->n_copy;
		fr->c.in_sync += plan->n_in_sync;
#ifdef CUTOVER_DEBUG_HOOKS
		/* Test hook (tests/integ/faults_test.sh): die after the copies
		 * are confirmed on host2 and before host1 is touched. */
		if (getenv("CUTOVER_TEST_EXIT_BEFORE_DELETE1") != NULL &&
		    confirmed->n_delete1 > 0) {
			cut_warn("test hook: exiting before %zu host1 deletions",
				 confirmed->n_delete1);
			_exit(99);
		}
#endif
		if (sync_delete_kind(&f, confirmed, SYNC_ACT_DELETE1, &l1, st) < 0)
			sync_folder_error(fr, "%s", st->msg);
	}
	record = r->state != NULL && fr->error == NULL && fr->c.failed == 0;
	memset(&i2r, 0, sizeof(i2r));
	cut_status_clear(&rst);
	if (cache != NULL) {
		/* host2's copies, as host2 answers for them, for the next run */
		if (fr->c.copied > 0 && i2.uidnext > 0) {
			char set[24];
			imap_fetch_req req;
			cut_status lst;

			snprintf(set, sizeof(set), "%u:*", i2.uidnext);
			memset(&req, 0, sizeof(req));
			req.uid_set = set;
			req.items = IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
				    IMAP_FETCH_SIZE | IMAP_FETCH_HEADER;
			req.header_fields = IDENTITY_HEADER_FIELDS;
			req.on_msg = list_on_msg;
			req.ctx = &l2new;
			l2new.server = imap_client_name(r->c2);
			cut_status_clear(&lst);
			if (imap_uid_fetch(r->c2, &req, &lst) < 0) {
				cut_debug("%s: this run's copies not in the UID cache: %s",
					  p->name2, lst.msg);
				sync_list_free(&l2new);
			}
		}
		/* host2's counters after this run, for the state (below),
		 * answered while the cache file is written */
		if (record)
			record = imap_status_async(r->c2, p->name2, &i2r, list_fetch_done,
						   &rst, &rst) == 0;
		sync_uidcache_store(cache, cache_path, &i1, &l1, &i2, &l2, &l2new);
	} else if (record) {
		record = imap_status_async(r->c2, p->name2, &i2r, list_fetch_done,
					   &rst, &rst) == 0;
	}
	if (record)
		sync_state_record(r, p, &i1, l1.n, i2.uidvalidity, &i2r, &rst,
				  o->delete2 ? l1.n : l2.n + (size_t)fr->c.copied);
	else if (cut_status_failed(&rst))
		cut_debug("%s: not recorded in the state: %s", p->name2, rst.msg);
	/* Every APPEND sent here was answered, and what an interrupted run
	 * left in flight was waited for and checked. */
	if (!f.unanswered)
		sync_inflight_end(r->inflight, p->name2);
	ret = 0;
	goto done;
folder_fail:
	/* copies that failed before the folder did are failures too */
	fr->c.failed += f.copy_failed;
	sync_folder_error(fr, "%s", st->msg);
done:
	free(jobs);
	free(f.own);
	sync_plan_free(&plan);
	sync_plan_free(&plan2);
	sync_list_free(&l1);
	sync_list_free(&l2);
	sync_list_free(&l2b);
	sync_list_free(&l2new);
	sync_uidcache_free(&cache);
	free(cache_path);
	return ret;
}

/* ---- account ---- */

static unsigned sync_folder_attrs(unsigned mbx)
{
	unsigned a = 0;

	a |= (mbx & IMAP_MBX_NOSELECT) ? FOLDER_ATTR_NOSELECT : 0;
	a |= (mbx & IMAP_MBX_NONEXISTENT) ? FOLDER_ATTR_NONEXISTENT : 0;
	a |= (mbx & IMAP_MBX_SUBSCRIBED) ? FOLDER_ATTR_SUBSCRIBED : 0;
	a |= (mbx & IMAP_MBX_SENT) ? FOLDER_ATTR_SENT : 0;
	a |= (mbx & IMAP_MBX_DRAFTS) ? FOLDER_ATTR_DRAFTS : 0;
	a |= (mbx & IMAP_MBX_TRASH) ? FOLDER_ATTR_TRASH : 0;
	a |= (mbx & IMAP_MBX_JUNK) ? FOLDER_ATTR_JUNK : 0;
	a |= (mbx & IMAP_MBX_ARCHIVE) ? FOLDER_ATTR_ARCHIVE : 0;
	return a;
}

/* One server's folders: LIST, LSUB for subscriptions, NAMESPACE. */
typedef struct sync_side {
	imap_mailbox *list;
	size_t n;
	folder_info *info;
	imap_namespace ns;
	folder_side side;
} sync_side;

static void sync_side_free(sync_side *s)
{
	imap_mailboxes_free(&s->list, s->n);
	free(s->info);
	imap_namespace_free(&s->ns);
	memset(s, 0, sizeof(*s));
}

static int sync_side_load(imap_client *c, sync_side *s, cut_status *st)
{
	imap_mailbox *lsub = NULL;
	size_t n_lsub = 0;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	if (imap_get_namespace(c, &s->ns, st) < 0)
		goto done;
	if (imap_list(c, "", "*", 0, &s->list, &s->n, st) < 0)
		goto done;
	if (imap_list(c, "", "*", 1, &lsub, &n_lsub, st) < 0)
		goto done;
	s->info = calloc(s->n + 1, sizeof(*s->info));
	if (s->info == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_ACCOUNT, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < s->n; i++) {
		s->info[i].name = s->list[i].raw;
		s->info[i].attrs = sync_folder_attrs(s->list[i].attrs);
		for (size_t k = 0; k < n_lsub; k++)
			if (strcmp(lsub[k].raw, s->list[i].raw) == 0)
				s->info[i].attrs |= FOLDER_ATTR_SUBSCRIBED;
		if (s->ns.delim == 0 && s->list[i].delim != 0)
			s->ns.delim = s->list[i].delim;
	}
	s->side.folders = s->info;
	s->side.n = s->n;
	s->side.prefix = s->ns.prefix != NULL ? s->ns.prefix : "";
	s->side.delim = s->ns.delim;
	ret = 0;
done:
	imap_mailboxes_free(&lsub, n_lsub);
	return ret;
}

static const char *sync_display(const sync_side *s, const char *raw)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->list[i].raw, raw) == 0)
			return s->list[i].name;
	return raw;
}

static int sync_connect(const sync_endpoint *e, const char *label,
			const sync_opts *o, imap_client **c_r, cut_status *st)
{
	imap_client_opts co;

	memset(&co, 0, sizeof(co));
	co.label = label;
	co.host = e->host;
	co.port = e->port;
	co.tls = e->tls;
	co.tls_name = e->tls_name;
	co.ca_file = e->ca_file;
	co.insecure = e->insecure;
	co.io_timeout = o->io_timeout;
	return imap_client_connect_login(&co, e->user, e->password, c_r, st);
}

static char *sync_client_desc(imap_client *c)
{
	return cut_strdup_printf("%s", imap_client_name(c));
}

/* One side's opening: connect, TLS, login, then NAMESPACE, LIST and LSUB
 * unless only the login is checked. */
typedef struct open_job {
	const sync_endpoint *e;
	const char *label;
	const sync_opts *o;
	imap_client *c;
	sync_side *side;
	int connected, ret;
	cut_status st;
} open_job;

static void *open_side(void *arg)
{
	open_job *j = arg;

	j->ret = sync_connect(j->e, j->label, j->o, &j->c, &j->st);
	j->connected = j->ret == 0;
	if (j->ret == 0 && !j->o->justlogin)
		j->ret = sync_side_load(j->c, j->side, &j->st);
	return NULL;
}

/*
 * Opens host1 and host2 at the same time (host2 in a thread of its own):
 * each side's TCP and TLS handshakes, login and folder lists wait on its
 * server only, so the two waits overlap instead of adding up.  Failures
 * are reported host1 first, connections before folder lists, as when
 * the sides were opened one after the other; whatever connected is in
 * r->c1/c2 for the caller to close.
 */
static int sync_open_both(const sync_endpoint *h1, const sync_endpoint *h2,
			  const sync_opts *o, sync_run *r, sync_side *s1,
			  sync_side *s2, cut_status *st)
{
	open_job j1 = {h1, "host1", o, NULL, s1, 0, -1, {0}};
	open_job j2 = {h2, "host2", o, NULL, s2, 0, -1, {0}};
	pthread_t t;
	int threaded;

	cut_status_clear(&j1.st);
	cut_status_clear(&j2.st);
	threaded = pthread_create(&t, NULL, open_side, &j2) == 0;
	open_side(&j1);
	if (threaded)
		pthread_join(t, NULL);
	else if (j1.connected)
		open_side(&j2);
	r->c1 = j1.c;
	r->c2 = j2.c;
	if (!j1.connected || !j2.connected) {
		cut_status_copy(st, !j1.connected ? &j1.st : &j2.st);
		return -1;
	}
	r->res->login_ok = 1;
	r->res->host1_desc = sync_client_desc(r->c1);
	r->res->host2_desc = sync_client_desc(r->c2);
	if (j1.ret < 0 || j2.ret < 0) {
		cut_status_copy(st, j1.ret < 0 ? &j1.st : &j2.st);
		return -1;
	}
	return 0;
}

int sync_account(const sync_endpoint *h1, const sync_endpoint *h2,
		 const sync_opts *o, sync_result **res_r, cut_status *st)
{
	sync_run r;
	sync_result *res = NULL;
	sync_side s1, s2;
	folder_map *map = NULL;
	char *state_path = NULL;
	const char **only = NULL;
	cut_status fst;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	*res_r = NULL;
	res = calloc(1, sizeof(*res));
	if (res == NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
	*res_r = res;
	res->start = cut_now();
	r.o = o;
	r.res = res;
	if (o->delete1 && o->delete2) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "--delete1 with --delete2 is refused: the postsync "
			       "never deletes on host2, where users already work");
		goto done;
	}
	if (o->delete1 && o->maxage <= 0 && o->n_folders == 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "--delete1 needs --maxage and/or --folder: it moves "
			       "only recent arrivals or named folders");
		goto done;
	}
	/* A state directory that cannot hold the in-flight record would stop
	 * every copy midway: refused before anything is sent. */
	if (!o->justlogin && !o->dry_run &&
	    ((o->state_dir != NULL && !o->delete1 &&
	      cut_dir_ensure(o->state_dir, st) < 0) ||
	     (o->inflight_dir != NULL && cut_dir_ensure(o->inflight_dir, st) < 0)))
		goto done;
	if (sync_open_both(h1, h2, o, &r, &s1, &s2, st) < 0)
		goto done;
	if (o->justlogin) {
		ret = 0;
		goto done;
	}
	if (o->state_dir != NULL && !o->dry_run && !o->delete1) {
		char *hp1 = cut_strdup_printf("%s:%u", h1->host, (unsigned)h1->port);
		char *hp2 = cut_strdup_printf("%s:%u", h2->host, (unsigned)h2->port);

		state_path = hp1 && hp2 ? sync_state_path(o->state_dir, h1->user, hp1,
							   h2->user, hp2)
					: NULL;
		free(hp1);
		free(hp2);
		if (state_path == NULL) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
			goto done;
		}
		r.state_path = state_path;
		cut_status_clear(&fst);
		switch (sync_state_load(state_path, &r.state, &fst)) {
		case 1:
			cut_warn("%s: every folder is compared in full", fst.msg);
			break;
		case -1:
			cut_status_copy(st, &fst);
			goto done;
		default:
			break;
		}
		/* RFC 7162 3.1: HIGHESTMODSEQ needs CONDSTORE on both sides */
		r.condstore = imap_client_has_cap(r.c1, "CONDSTORE") &&
			      imap_client_has_cap(r.c2, "CONDSTORE");
		snprintf(r.mode, sizeof(r.mode), "s%s%s", o->delete2 ? "d" : "",
			 o->no_flag_updates ? "n" : "f");
		if (!r.condstore)
			cut_debug("no CONDSTORE on both servers: the state is not used");
	}

	if (o->inflight_dir != NULL && !o->dry_run) {
		char *hp1 = cut_strdup_printf("%s:%u", h1->host, (unsigned)h1->port);
		char *hp2 = cut_strdup_printf("%s:%u", h2->host, (unsigned)h2->port);
		char *path = hp1 && hp2 ? sync_state_path(o->inflight_dir, h1->user, hp1,
							   h2->user, hp2)
					: NULL;
		char *ipath = path != NULL ? cut_strdup_printf("%.*s.inflight",
							       (int)(strlen(path) - 6), path)
					   : NULL;

		free(hp1);
		free(hp2);
		free(path);
		if (ipath == NULL) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
			goto done;
		}
		cut_status_clear(&fst);
		if (sync_inflight_open(ipath, &r.inflight, &fst) < 0) {
			free(ipath);
			cut_status_copy(st, &fst);
			goto done;
		}
		free(ipath);
	}

	/* --folder names may be given in UTF-8; LIST shows the wire form. */
	if (o->n_folders > 0) {
		only = calloc(o->n_folders, sizeof(*only));
		if (only == NULL) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
			goto done;
		}
		for (size_t k = 0; k < o->n_folders; k++) {
			only[k] = o->folders[k];
			for (size_t i = 0; i < s1.n; i++)
				if (strcmp(s1.list[i].raw, o->folders[k]) == 0 ||
				    strcmp(s1.list[i].name, o->folders[k]) == 0) {
					only[k] = s1.list[i].raw;
					break;
				}
		}
	}
	if (folder_map_build(&s1.side, &s2.side, only, o->n_folders, &map, st) < 0)
		goto done;
	res->folders = calloc(map->n_pairs + map->n_host2_only + 1,
			      sizeof(*res->folders));
	if (res->folders == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	r.n_folders = map->n_pairs;
	for (size_t i = 0; i < map->n_pairs; i++) {
		const folder_pair *p = &map->pairs[i];
		sync_folder_result *fr = &res->folders[res->n_folders++];

		fr->name1 = strdup(p->name1);
		fr->name2 = strdup(p->name2);
		fr->display1 = strdup(sync_display(&s1, p->name1));
		if (fr->name1 == NULL || fr->name2 == NULL || fr->display1 == NULL) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
			goto done;
		}
		r.folder_index = i;
		r.folder_display = fr->display1;
		if (sync_cancelled(&r)) {
			cut_status_set(st, CUT_CANCELLED, CUT_SCOPE_ACCOUNT,
				       "cancelled before folder \"%s\"", fr->display1);
			goto done;
		}
		cut_status_clear(&fst);
		if (sync_one_folder(&r, p, fr, &fst) < 0 &&
		    (imap_client_broken(r.c1) || imap_client_broken(r.c2) ||
		     fst.kind == CUT_CANCELLED)) {
			/* The connection is gone: the rest of the account waits for
			 * the next run, which resumes from both servers' state. */
			cut_status_copy(st, &fst);
			goto done;
		}
		sync_progress_emit(&r);
	}
	if (o->delete2_folders && !o->delete1 && o->n_folders == 0)
		for (size_t j = 0; j < map->n_host2_only; j++) {
			sync_folder_result *fr = &res->folders[res->n_folders++];
			cut_buf cmd = CUT_BUF_INIT;
			const char *name = map->host2_only[j];

			fr->name2 = strdup(name);
			fr->display1 = strdup(sync_display(&s2, name));
			fr->deleted = 1;
			if (o->dry_run)
				continue;
			/* RFC 3501 6.3.4 DELETE; a name that cannot be quoted
			 * (8-bit in UTF8=ACCEPT mode) is left alone. */
			if (cut_buf_puts(&cmd, "DELETE ") < 0 ||
			    imap_quote(&cmd, name, strlen(name)) < 0 ||
			    imap_cmd(r.c2, cmd.data, &fst) < 0) {
				fr->deleted = 0;
				sync_folder_error(fr, "host2 folder \"%s\" not deleted: %s",
						  name, fst.msg);
			}
			cut_buf_free(&cmd);
		}
	ret = 0;
done:
	for (size_t i = 0; i < res->n_folders; i++) {
		const sync_counts *c = &res->folders[i].c;

		res->total.copied += c->copied;
		res->total.copied_bytes += c->copied_bytes;
		res->total.flags_updated += c->flags_updated;
		res->total.deleted1 += c->deleted1;
		res->total.deleted2 += c->deleted2;
		res->total.in_sync += c->in_sync;
		res->total.failed += c->failed;
	}
	if (ret == 0) {
		size_t bad = 0;

		for (size_t i = 0; i < res->n_folders; i++)
			bad += res->folders[i].error != NULL;
		if (bad > 0 || res->total.failed > 0) {
			cut_status_set(st, CUT_TEMP, CUT_SCOPE_ACCOUNT,
				       "%llu message(s) failed, %zu folder(s) with "
				       "errors: run the sync again; see the errors above",
				       (unsigned long long)res->total.failed, bad);
			ret = -1;
		}
	}
	if (ret < 0)
		cut_status_copy(&res->status, st);
	if (r.state != NULL && r.condstore) {
		cut_status_clear(&fst);
		if (sync_state_save(r.state, state_path, &fst) < 0)
			cut_warn("%s", fst.msg);
	}
	sync_state_free(&r.state);
	sync_inflight_free(&r.inflight);
	free(state_path);
	if (r.c1 != NULL && !imap_client_broken(r.c1))
		imap_client_logout(r.c1, NULL);
	if (r.c2 != NULL && !imap_client_broken(r.c2))
		imap_client_logout(r.c2, NULL);
	imap_client_free(&r.c1);
	imap_client_free(&r.c2);
	folder_map_free(&map);
	free(only);
	sync_side_free(&s1);
	sync_side_free(&s2);
	res->end = cut_now();
	return ret;
}

void sync_result_free(sync_result **rp)
{
	sync_result *r;

	if (rp == NULL || *rp == NULL)
		return;
	r = *rp;
	for (size_t i = 0; i < r->n_folders; i++) {
		sync_folder_result *fr = &r->folders[i];

		free(fr->name1);
		free(fr->name2);
		free(fr->display1);
		free(fr->error);
		for (size_t k = 0; k < fr->n_acts; k++)
			free(fr->acts[k].flags);
		free(fr->acts);
	}
	free(r->folders);
	free(r->host1_desc);
	free(r->host2_desc);
	free(r);
	*rp = NULL;
}
