/*
 * sync_plan.c: multiset diff of one folder pair -> actions (pure).
 * See sync_plan.h.
 */
#include "imapsync/sync_plan.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/str.h"

/* ---- flags ---- */

static const char *const sync_plan_system_flags[] = {
	"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", NULL,
};

static int flag_cmp(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

int sync_plan_flags_canon(const char *flags, char **canon_r)
{
	char *copy = strdup(flags != NULL ? flags : "");
	char **v = NULL;
	size_t n = 0, cap = 0;
	cut_buf out = CUT_BUF_INIT;
	char *p;
	int ret = -1;

	*canon_r = NULL;
	if (copy == NULL)
		goto done;
	for (p = copy; *p != '\0';) {
		char *w;

		while (*p == ' ' || *p == '(' || *p == ')')
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p != '\0' && *p != ' ' && *p != '(' && *p != ')')
			p++;
		if (*p != '\0')
			*p++ = '\0';
		if (cut_str_ieq(w, "\\Recent"))
			continue;
		for (size_t k = 0; sync_plan_system_flags[k] != NULL; k++)
			if (cut_str_ieq(w, sync_plan_system_flags[k])) {
				/* same length: rewrite in place */
				memcpy(w, sync_plan_system_flags[k], strlen(w));
				break;
			}
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			char **nv = realloc(v, ncap * sizeof(*v));

			if (nv == NULL)
				goto done;
			v = nv;
			cap = ncap;
		}
		v[n++] = w;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), flag_cmp);
	for (size_t k = 0; k < n; k++) {
		if (k > 0 && strcasecmp(v[k], v[k - 1]) == 0)
			continue;
		if ((out.len > 0 && cut_buf_puts(&out, " ") < 0) ||
		    cut_buf_puts(&out, v[k]) < 0)
			goto done;
	}
	if (out.data == NULL && cut_buf_puts(&out, "") < 0)
		goto done;
	*canon_r = cut_buf_steal(&out);
	ret = 0;
done:
	cut_buf_free(&out);
	free(v);
	free(copy);
	return ret;
}

static int flags_equal(const char *a, const char *b)
{
	return strcasecmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* The next space-separated word of *p (length, 0 at the end). */
static size_t flags_word(const char **p, const char **w_r)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ')
		s++;
	*w_r = s;
	while (s[n] != '\0' && s[n] != ' ')
		n++;
	*p = s + n;
	return n;
}

/* RFC 3501 7.1: "\*" in PERMANENTFLAGS: any keyword can be created.
 * NULL: PERMANENTFLAGS not sent, all flags can be changed permanently. */
static int perm_keeps_all(const char *perm)
{
	const char *p = perm, *w;
	size_t n;

	if (perm == NULL)
		return 1;
	while ((n = flags_word(&p, &w)) > 0)
		if (n == 2 && w[0] == '\\' && w[1] == '*')
			return 1;
	return 0;
}

/* Whether the word list holds flag (case-insensitively). */
static int flags_has(const char *list, const char *flag, size_t len)
{
	const char *p = list, *w;
	size_t n;

	while ((n = flags_word(&p, &w)) > 0)
		if (n == len && strncasecmp(w, flag, len) == 0)
			return 1;
	return 0;
}

static int is_system_flag(const char *flag, size_t len)
{
	for (size_t k = 0; sync_plan_system_flags[k] != NULL; k++)
		if (strlen(sync_plan_system_flags[k]) == len &&
		    strncasecmp(sync_plan_system_flags[k], flag, len) == 0)
			return 1;
	return 0;
}

/* Whether host2 keeps `flag`: the system flags always (they are what
 * every IMAP store has, RFC 3501 2.3.2), a keyword when perm lists it
 * (perm NULL: everything, the caller has checked perm_keeps_all()). */
static int perm_keeps(const char *perm, const char *flag, size_t len)
{
	return perm == NULL || is_system_flag(flag, len) || flags_has(perm, flag, len);
}

int sync_plan_flags_keepable(const char *flags, const char *permanentflags,
			     char **kept_r, char **dropped_r)
{
	const char *perm = perm_keeps_all(permanentflags) ? NULL : permanentflags;
	const char *p = flags != NULL ? flags : "", *w;
	cut_buf kept = CUT_BUF_INIT, dropped = CUT_BUF_INIT;
	size_t n;
	int ret = -1;

	*kept_r = NULL;
	*dropped_r = NULL;
	while ((n = flags_word(&p, &w)) > 0) {
		cut_buf *b = perm_keeps(perm, w, n) ? &kept : &dropped;

		if ((b->len > 0 && cut_buf_puts(b, " ") < 0) ||
		    cut_buf_append(b, w, n) < 0)
			goto done;
	}
	if ((kept.data == NULL && cut_buf_puts(&kept, "") < 0) ||
	    (dropped.data == NULL && cut_buf_puts(&dropped, "") < 0))
		goto done;
	*kept_r = cut_buf_steal(&kept);
	*dropped_r = cut_buf_steal(&dropped);
	ret = 0;
done:
	cut_buf_free(&kept);
	cut_buf_free(&dropped);
	return ret;
}

int sync_plan_flags_union(char **set, const char *more)
{
	const char *p = more != NULL ? more : "", *w;
	cut_buf joined = CUT_BUF_INIT;
	char *canon = NULL;
	size_t n;
	int missing = *set == NULL;

	while (!missing && (n = flags_word(&p, &w)) > 0)
		missing = !flags_has(*set, w, n);
	if (!missing)
		return 0;
	if (cut_buf_puts(&joined, *set != NULL ? *set : "") < 0 ||
	    cut_buf_puts(&joined, " ") < 0 ||
	    cut_buf_puts(&joined, more != NULL ? more : "") < 0 ||
	    sync_plan_flags_canon(joined.data, &canon) < 0) {
		cut_buf_free(&joined);
		return -1;
	}
	cut_buf_free(&joined);
	free(*set);
	*set = canon;
	return 0;
}

/* The next word of *p that host2 keeps (perm as for flags_match). */
static size_t flags_next_kept(const char **p, const char *perm, const char **w_r)
{
	size_t n;

	while ((n = flags_word(p, w_r)) > 0)
		if (perm_keeps(perm, *w_r, n))
			return n;
	return 0;
}

/* Canonical flag lists equal, counting only what host2 keeps (perm NULL:
 * everything).  Canonical lists are sorted, so filtering keeps order. */
static int flags_match(const char *a, const char *b, const char *perm)
{
	const char *pa = a != NULL ? a : "", *pb = b != NULL ? b : "";

	if (perm == NULL)
		return flags_equal(a, b);
	for (;;) {
		const char *wa, *wb;
		size_t na = flags_next_kept(&pa, perm, &wa);
		size_t nb = flags_next_kept(&pb, perm, &wb);

		if (na == 0 || nb == 0)
			return na == nb;
		if (na != nb || strncasecmp(wa, wb, na) != 0)
			return 0;
	}
}

/* ---- plan ---- */


/* qsort_r comparators over index arrays. */
static int cmp_host1(const void *a, const void *b, void *arg)
{
	const sync_msg *m = arg;
	const sync_msg *x = &m[*(const size_t *)a], *y = &m[*(const size_t *)b];
	int c = identity_cmp(&x->id, &y->id);

	if (c != 0)
		return c;
	if (x->selected != y->selected)
		return x->selected ? 1 : -1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int cmp_host2(const void *a, const void *b, void *arg)
{
	const sync_msg *m = arg;
	const sync_msg *x = &m[*(const size_t *)a], *y = &m[*(const size_t *)b];
	int c = identity_cmp(&x->id, &y->id);

	if (c != 0)
		return c;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

typedef struct act_sort {
	const sync_msg *m1, *m2;
} act_sort;

static uint32_t act_uid(const act_sort *s, const sync_action *a)
{
	if (a->kind == SYNC_ACT_DELETE2)
		return s->m2[a->i2].uid;
	return s->m1[a->i1].uid;
}

static int cmp_action(const void *a, const void *b, void *arg)
{
	const act_sort *s = arg;
	const sync_action *x = a, *y = b;
	uint32_t ux, uy;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->kind == SYNC_ACT_FLAGS) {
		int c = strcasecmp(s->m1[x->i1].flags ? s->m1[x->i1].flags : "",
				   s->m1[y->i1].flags ? s->m1[y->i1].flags : "");

		if (c != 0)
			return c;
		ux = s->m2[x->i2].uid;
		uy = s->m2[y->i2].uid;
		return ux < uy ? -1 : ux > uy;
	}
	ux = act_uid(s, x);
	uy = act_uid(s, y);
	return ux < uy ? -1 : ux > uy;
}

static int plan_add(sync_plan *p, size_t *cap, sync_action_kind kind, size_t i1,
		    size_t i2, int after_copy)
{
	if (p->n_acts == *cap) {
		size_t ncap = *cap ? 2 * *cap : 64;
		sync_action *na = realloc(p->acts, ncap * sizeof(*na));

		if (na == NULL)
			return -1;
		p->acts = na;
		*cap = ncap;
	}
	p->acts[p->n_acts++] = (sync_action){kind, i1, i2, after_copy};
	return 0;
}

int sync_plan_compute(const sync_msg *m1, size_t n1, const sync_msg *m2,
		      size_t n2, const sync_plan_opts *opts,
		      sync_plan **plan_r, cut_status *st)
{
	sync_plan *p = NULL;
	size_t *o1 = NULL, *o2 = NULL;
	size_t *pair1 = NULL; /* host1 index -> host2 index or NONE */
	unsigned char *used2 = NULL;
	size_t cap = 0, a = 0, b = 0;
	act_sort as = {m1, m2};
	const char *perm = perm_keeps_all(opts->permanentflags2) ? NULL
								: opts->permanentflags2;
	int ret = -1;

	*plan_r = NULL;
	if (opts->delete1 && opts->delete2) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_ACCOUNT,
			       "--delete1 and --delete2 together are refused: the "
			       "postsync never deletes on host2");
		goto done;
	}
	p = calloc(1, sizeof(*p));
	o1 = malloc((n1 + 1) * sizeof(*o1));
	o2 = malloc((n2 + 1) * sizeof(*o2));
	pair1 = malloc((n1 + 1) * sizeof(*pair1));
	used2 = calloc(n2 + 1, 1);
	if (p == NULL || o1 == NULL || o2 == NULL || pair1 == NULL || used2 == NULL)
		goto oom;
	for (size_t i = 0; i < n1; i++) {
		o1[i] = i;
		pair1[i] = SYNC_PLAN_NONE;
	}
	for (size_t i = 0; i < n2; i++)
		o2[i] = i;
	qsort_r(o1, n1, sizeof(*o1), cmp_host1, (void *)m1);
	qsort_r(o2, n2, sizeof(*o2), cmp_host2, (void *)m2);

	/* Merge walk over identity groups. */
	while (a < n1 || b < n2) {
		const identity *id;
		size_t ea = a, eb = b;
		int c;

		if (a >= n1)
			c = 1;
		else if (b >= n2)
			c = -1;
		else
			c = identity_cmp(&m1[o1[a]].id, &m2[o2[b]].id);
		id = c <= 0 ? &m1[o1[a]].id : &m2[o2[b]].id;
		while (ea < n1 && identity_cmp(&m1[o1[ea]].id, id) == 0)
			ea++;
		while (eb < n2 && identity_cmp(&m2[o2[eb]].id, id) == 0)
			eb++;
		/* Pair with equal flags first, then in order. */
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = a; i < ea; i++) {
				if (pair1[o1[i]] != SYNC_PLAN_NONE)
					continue;
				for (size_t j = b; j < eb; j++) {
					if (used2[o2[j]])
						continue;
					if (pass == 0 &&
					    !flags_match(m1[o1[i]].flags, m2[o2[j]].flags,
							 perm))
						continue;
					pair1[o1[i]] = o2[j];
					used2[o2[j]] = 1;
					break;
				}
			}
		a = ea;
		b = eb;
	}

	for (size_t i = 0; i < n1; i++) {
		size_t j = pair1[i];

		if (opts->delete1 && !m1[i].selected)
			continue;
		if (j == SYNC_PLAN_NONE) {
			if (plan_add(p, &cap, SYNC_ACT_COPY, i, SYNC_PLAN_NONE,
				     opts->delete1) < 0)
				goto oom;
			p->n_copy++;
			p->copy_bytes += m1[i].size;
			continue;
		}
		if (opts->delete1) {
			if (plan_add(p, &cap, SYNC_ACT_DELETE1, i, j, 0) < 0)
				goto oom;
			p->n_delete1++;
			p->n_in_sync++;
		} else if (opts->update_flags && !flags_match(m1[i].flags, m2[j].flags, perm)) {
			if (plan_add(p, &cap, SYNC_ACT_FLAGS, i, j, 0) < 0)
				goto oom;
			p->n_flags++;
		} else {
			p->n_in_sync++;
		}
	}
	if (opts->delete2 && !opts->delete1)
		for (size_t j = 0; j < n2; j++) {
			if (used2[j])
				continue;
			if (plan_add(p, &cap, SYNC_ACT_DELETE2, SYNC_PLAN_NONE, j, 0) < 0)
				goto oom;
			p->n_delete2++;
		}
	if (p->n_acts > 1)
		qsort_r(p->acts, p->n_acts, sizeof(*p->acts), cmp_action, &as);
	*plan_r = p;
	p = NULL;
	ret = 0;
	goto done;
oom:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
		       "out of memory computing the folder diff");
done:
	sync_plan_free(&p);
	free(o1);
	free(o2);
	free(pair1);
	free(used2);
	return ret;
}

void sync_plan_free(sync_plan **pp)
{
	if (pp == NULL || *pp == NULL)
		return;
	free((*pp)->acts);
	free(*pp);
	*pp = NULL;
}

const char *sync_plan_action_name(sync_action_kind kind)
{
	switch (kind) {
	case SYNC_ACT_COPY:
		return "copy";
	case SYNC_ACT_FLAGS:
		return "flags";
	case SYNC_ACT_DELETE2:
		return "delete2";
	case SYNC_ACT_DELETE1:
		return "delete1";
	}
	return "?";
}
