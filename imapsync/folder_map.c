/*
 * folder_map.c: host1 folder names -> host2 folder names (pure).
 * The rules are in folder_map.h.
 */
#include "imapsync/folder_map.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/str.h"

static int is_inbox(const char *name)
{
	return cut_str_ieq(name, "INBOX");
}

/* RFC 6154 has no names; these are the ones clients create (Outlook,
 * Thunderbird, Apple Mail, Roundcube, localised Outlook in German/French). */
static const struct {
	const char *name;
	unsigned kind;
} folder_well_known[] = {
	{"Sent", FOLDER_ATTR_SENT},
	{"Sent Items", FOLDER_ATTR_SENT},
	{"Sent Messages", FOLDER_ATTR_SENT},
	{"Sent Mail", FOLDER_ATTR_SENT},
	{"Gesendete Objekte", FOLDER_ATTR_SENT},
	{"Drafts", FOLDER_ATTR_DRAFTS},
	{"Entw&APw-rfe", FOLDER_ATTR_DRAFTS},
	{"Trash", FOLDER_ATTR_TRASH},
	{"Deleted Items", FOLDER_ATTR_TRASH},
	{"Deleted Messages", FOLDER_ATTR_TRASH},
	{"Junk", FOLDER_ATTR_JUNK},
	{"Junk E-mail", FOLDER_ATTR_JUNK},
	{"Junk Email", FOLDER_ATTR_JUNK},
	{"Spam", FOLDER_ATTR_JUNK},
	{"Archive", FOLDER_ATTR_ARCHIVE},
	{"Archives", FOLDER_ATTR_ARCHIVE},
};

static int side_has_special_use(const folder_side *side)
{
	for (size_t i = 0; i < side->n; i++)
		if (side->folders[i].attrs & FOLDER_ATTR_SPECIAL_MASK)
			return 1;
	return 0;
}

/* The name below the personal prefix (and below INBOX for servers that
 * put everything there), or NULL when that is not a top-level name. */
static const char *top_level_name(const folder_side *side, const char *name)
{
	size_t plen = strlen(side->prefix);

	if (plen > 0 && strncmp(name, side->prefix, plen) == 0)
		name += plen;
	if (side->delim != 0 && strchr(name, side->delim) != NULL)
		return NULL;
	return name;
}

unsigned folder_map_special(const folder_side *side, const folder_info *f)
{
	const char *top;

	if (side_has_special_use(side))
		return f->attrs & FOLDER_ATTR_SPECIAL_MASK;
	top = top_level_name(side, f->name);
	if (top == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(folder_well_known) / sizeof(folder_well_known[0]); i++)
		if (cut_str_ieq(top, folder_well_known[i].name))
			return folder_well_known[i].kind;
	return 0;
}

int folder_map_translate(const folder_side *h1, const folder_side *h2,
			 const char *name1, char **name2_r)
{
	cut_buf out = CUT_BUF_INIT;
	const char *rest = name1;
	size_t plen = strlen(h1->prefix);
	int under_inbox = 0;

	*name2_r = NULL;
	if (is_inbox(name1)) {
		*name2_r = strdup("INBOX");
		return *name2_r != NULL ? 0 : -1;
	}
	if (plen > 0 && strncmp(name1, h1->prefix, plen) == 0)
		rest = name1 + plen;
	else if (h1->delim != 0 && strncasecmp(name1, "INBOX", 5) == 0 &&
		 name1[5] == h1->delim) {
		/* INBOX/x with an empty prefix: stays under INBOX. */
		under_inbox = 1;
		rest = name1 + 6;
	}
	if (cut_buf_puts(&out, under_inbox ? "INBOX" : h2->prefix) < 0)
		goto fail;
	if (under_inbox && h2->delim != 0 && cut_buf_append(&out, &h2->delim, 1) < 0)
		goto fail;
	for (const char *p = rest; *p != '\0'; p++) {
		char c = *p;

		if (h1->delim != 0 && c == h1->delim)
			c = h2->delim != 0 ? h2->delim : '_';
		else if (h2->delim != 0 && c == h2->delim)
			c = '_';
		if (cut_buf_append(&out, &c, 1) < 0)
			goto fail;
	}
	if (out.data == NULL && cut_buf_puts(&out, "") < 0)
		goto fail;
	*name2_r = cut_buf_steal(&out);
	return 0;
fail:
	cut_buf_free(&out);
	return -1;
}

static const folder_info *side_find(const folder_side *side, const char *name)
{
	for (size_t i = 0; i < side->n; i++) {
		const folder_info *f = &side->folders[i];

		if (f->attrs & FOLDER_ATTR_NONEXISTENT)
			continue;
		if (strcmp(f->name, name) == 0 ||
		    (is_inbox(name) && is_inbox(f->name)))
			return f;
	}
	return NULL;
}

static int selectable(const folder_info *f)
{
	return !(f->attrs & (FOLDER_ATTR_NOSELECT | FOLDER_ATTR_NONEXISTENT));
}

/* True when `name` is a strict hierarchy ancestor of `child` on side 2. */
static int is_ancestor(const char *name, const char *child, char delim)
{
	size_t n = strlen(name);

	return delim != 0 && strncmp(child, name, n) == 0 && child[n] == delim;
}

static int host2_only_cmp(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	if (la != lb)
		return la > lb ? -1 : 1;
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int folder_map_build(const folder_side *h1, const folder_side *h2,
		     const char *const *only, size_t n_only,
		     folder_map **map_r, cut_status *st)
{
	folder_map *m = NULL;
	int ret = -1;

	*map_r = NULL;
	for (size_t k = 0; k < n_only; k++) {
		const folder_info *f = side_find(h1, only[k]);

		if (f == NULL || !selectable(f)) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_ACCOUNT,
				       "--folder \"%s\": host1 has no such selectable "
				       "folder (names are matched as LIST shows them)",
				       only[k]);
			goto done;
		}
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto oom;
	m->pairs = calloc(h1->n + 1, sizeof(*m->pairs));
	m->host2_only = calloc(h2->n + 1, sizeof(*m->host2_only));
	if (m->pairs == NULL || m->host2_only == NULL)
		goto oom;

	/* Rules 1 and 2. */
	for (size_t i = 0; i < h1->n; i++) {
		const folder_info *f = &h1->folders[i];
		folder_pair *p;

		if (!selectable(f))
			continue;
		p = &m->pairs[m->n_pairs];
		p->name1 = strdup(f->name);
		if (p->name1 == NULL)
			goto oom;
		m->n_pairs++;
		if (folder_map_translate(h1, h2, f->name, &p->name2) < 0)
			goto oom;
		p->special = folder_map_special(h1, f);
	}

	/* Rule 3: special-use onto host2's folder of the same kind. */
	for (size_t i = 0; i < m->n_pairs; i++) {
		folder_pair *p = &m->pairs[i];
		const folder_info *target = NULL;
		int taken = 0;
		char *dup;

		if (p->special == 0)
			continue;
		for (size_t j = 0; j < h2->n && target == NULL; j++)
			if ((folder_map_special(h2, &h2->folders[j]) & p->special) &&
			    selectable(&h2->folders[j]))
				target = &h2->folders[j];
		if (target == NULL || strcmp(target->name, p->name2) == 0)
			continue;
		for (size_t j = 0; j < m->n_pairs && !taken; j++)
			taken = j != i && strcmp(m->pairs[j].name2, target->name) == 0;
		if (taken)
			continue;
		dup = strdup(target->name);
		if (dup == NULL)
			goto oom;
		free(p->name2);
		p->name2 = dup;
	}

	/* Rule 4, and what to create / subscribe. */
	for (size_t i = 0; i < m->n_pairs; i++) {
		folder_pair *p = &m->pairs[i];
		const folder_info *f1 = side_find(h1, p->name1);
		const folder_info *f2 = side_find(h2, p->name2);

		for (size_t j = 0; j < i; j++)
			if (strcmp(m->pairs[j].name2, p->name2) == 0) {
				cut_status_set(st, CUT_FINAL, CUT_SCOPE_ACCOUNT,
					       "host1 folders \"%s\" and \"%s\" would both "
					       "sync into host2 folder \"%s\": rename one "
					       "on host1",
					       m->pairs[j].name1, p->name1, p->name2);
				goto done;
			}
		p->create = f2 == NULL || !selectable(f2);
		p->subscribe = f1 != NULL && (f1->attrs & FOLDER_ATTR_SUBSCRIBED) &&
			       (f2 == NULL || !(f2->attrs & FOLDER_ATTR_SUBSCRIBED));
	}

	/* host2 folders nobody maps to. */
	for (size_t j = 0; j < h2->n; j++) {
		const char *name = h2->folders[j].name;
		int used = is_inbox(name) ||
			   (h2->folders[j].attrs & FOLDER_ATTR_NONEXISTENT);

		for (size_t i = 0; i < m->n_pairs && !used; i++)
			used = strcmp(m->pairs[i].name2, name) == 0 ||
			       is_ancestor(name, m->pairs[i].name2, h2->delim);
		/* The namespace root itself ("INBOX." server's "INBOX"). */
		if (!used && h2->prefix[0] != '\0') {
			size_t n = strlen(name);

			used = strncmp(h2->prefix, name, n) == 0 &&
			       (h2->prefix[n] == '\0' ||
				(h2->prefix[n] == h2->delim && h2->prefix[n + 1] == '\0'));
		}
		if (used)
			continue;
		m->host2_only[m->n_host2_only] = strdup(name);
		if (m->host2_only[m->n_host2_only] == NULL)
			goto oom;
		m->n_host2_only++;
	}
	qsort(m->host2_only, m->n_host2_only, sizeof(*m->host2_only),
	      host2_only_cmp);

	/* --folder: the whole map was built and checked above (a collision
	 * with an unselected folder is still an error); keep only those. */
	if (n_only > 0) {
		size_t kept = 0;

		for (size_t i = 0; i < m->n_pairs; i++) {
			int wanted = 0;

			for (size_t k = 0; k < n_only && !wanted; k++)
				wanted = strcmp(only[k], m->pairs[i].name1) == 0 ||
					 (is_inbox(only[k]) &&
					  is_inbox(m->pairs[i].name1));
			if (wanted) {
				m->pairs[kept++] = m->pairs[i];
			} else {
				free(m->pairs[i].name1);
				free(m->pairs[i].name2);
			}
		}
		m->n_pairs = kept;
	}

	*map_r = m;
	m = NULL;
	ret = 0;
	goto done;
oom:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_ACCOUNT,
		       "out of memory mapping folders");
done:
	folder_map_free(&m);
	return ret;
}

void folder_map_free(folder_map **mp)
{
	folder_map *m;

	if (mp == NULL || *mp == NULL)
		return;
	m = *mp;
	for (size_t i = 0; i < m->n_pairs; i++) {
		free(m->pairs[i].name1);
		free(m->pairs[i].name2);
	}
	for (size_t i = 0; i < m->n_host2_only; i++)
		free(m->host2_only[i]);
	free(m->pairs);
	free(m->host2_only);
	free(m);
	*mp = NULL;
}
