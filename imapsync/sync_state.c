/*
 * sync_state.c: the per-account CONDSTORE state file of the sync engine.
 * See sync_state.h for what it holds and why a damaged one is harmless.
 */
#include "imapsync/sync_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/hex.h"
#include "common/str.h"

#define SYNC_STATE_MAGIC "cutover-sync-state 1"
/* A state file larger than this is not ours (a few hundred folders take
 * a few KiB). */
#define SYNC_STATE_MAX (16u * 1024 * 1024)

static uint64_t sync_state_fnv(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

void sync_state_free(sync_state **sp)
{
	sync_state *s;

	if (sp == NULL || *sp == NULL)
		return;
	s = *sp;
	for (size_t i = 0; i < s->n; i++) {
		free(s->f[i].name1);
		free(s->f[i].name2);
	}
	free(s->f);
	free(s);
	*sp = NULL;
}

static sync_state_folder *sync_state_lookup(const sync_state *s, const char *name1,
					    const char *name2)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->f[i].name1, name1) == 0 && strcmp(s->f[i].name2, name2) == 0)
			return &s->f[i];
	return NULL;
}

const sync_state_folder *sync_state_find(const sync_state *s, const char *name1,
					 const char *name2)
{
	return s != NULL ? sync_state_lookup(s, name1, name2) : NULL;
}

int sync_state_put(sync_state *s, const char *name1, const char *name2,
		   const char *mode, const sync_state_side *s1,
		   const sync_state_side *s2)
{
	sync_state_folder *e = sync_state_lookup(s, name1, name2);

	if (e == NULL) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 16;
			sync_state_folder *nf = realloc(s->f, cap * sizeof(*nf));

			if (nf == NULL)
				return -1;
			s->f = nf;
			s->cap = cap;
		}
		e = &s->f[s->n];
		memset(e, 0, sizeof(*e));
		e->name1 = strdup(name1);
		e->name2 = strdup(name2);
		if (e->name1 == NULL || e->name2 == NULL) {
			free(e->name1);
			free(e->name2);
			return -1;
		}
		s->n++;
	}
	cut_strlcpy(e->mode, mode, sizeof(e->mode));
	e->s1 = *s1;
	e->s2 = *s2;
	return 0;
}

void sync_state_drop(sync_state *s, const char *name1, const char *name2)
{
	sync_state_folder *e;

	if (s == NULL || (e = sync_state_lookup(s, name1, name2)) == NULL)
		return;
	free(e->name1);
	free(e->name2);
	*e = s->f[--s->n];
}

static int side_eq(const sync_state_side *a, const sync_state_side *b)
{
	return a->uidvalidity == b->uidvalidity && a->uidnext == b->uidnext &&
	       a->highestmodseq == b->highestmodseq && a->exists == b->exists;
}

int sync_state_unchanged(const sync_state_folder *e, const char *mode,
			 const sync_state_side *s1, const sync_state_side *s2)
{
	/* RFC 7162 3.1.1: without a HIGHESTMODSEQ a flag change is invisible */
	if (e == NULL || s1->highestmodseq == 0 || s2->highestmodseq == 0 ||
	    s1->uidvalidity == 0 || s2->uidvalidity == 0)
		return 0;
	return strcmp(e->mode, mode) == 0 && side_eq(&e->s1, s1) && side_eq(&e->s2, s2);
}

/* ---- text form ---- */

static int state_render(const sync_state *s, cut_buf *b)
{
	uint64_t h;

	if (cut_buf_printf(b, "%s\n", SYNC_STATE_MAGIC) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		const sync_state_folder *e = &s->f[i];

		if (cut_hex_word_put(b, e->name1) < 0 || cut_buf_puts(b, " ") < 0 ||
		    cut_hex_word_put(b, e->name2) < 0 ||
		    cut_buf_printf(b, " %s %u %u %llu %u %u %u %llu %u\n",
				   e->mode[0] ? e->mode : "-", e->s1.uidvalidity,
				   e->s1.uidnext, (unsigned long long)e->s1.highestmodseq,
				   e->s1.exists, e->s2.uidvalidity, e->s2.uidnext,
				   (unsigned long long)e->s2.highestmodseq,
				   e->s2.exists) < 0)
			return -1;
	}
	h = sync_state_fnv(b->data, b->len);
	return cut_buf_printf(b, "end %zu %016llx\n", s->n, (unsigned long long)h);
}

/* Splits line [p, e) into up to max words; returns the count. */
static size_t split_words(const char *p, const char *e, const char **w, size_t *wl,
			  size_t max)
{
	size_t n = 0;

	while (p < e) {
		const char *q;

		while (p < e && *p == ' ')
			p++;
		if (p == e)
			break;
		q = p;
		while (q < e && *q != ' ')
			q++;
		if (n == max)
			return max + 1;
		w[n] = p;
		wl[n] = (size_t)(q - p);
		n++;
		p = q;
	}
	return n;
}

int sync_state_parse(const char *data, size_t len, sync_state **state_r,
		     cut_status *st)
{
	sync_state *s = calloc(1, sizeof(*s));
	const char *p = data, *end = data + len;
	size_t lineno = 0;
	int ended = 0;

	*state_r = NULL;
	if (s == NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *w[12];
		size_t wl[12], nw;
		uint64_t v[8];
		char *n1 = NULL, *n2 = NULL;
		sync_state_side s1, s2;
		char mode[16];

		lineno++;
		if (nl == NULL)
			goto bad; /* truncated */
		if (ended)
			goto bad; /* bytes after the end line */
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL)
			goto bad;
		if (lineno == 1) {
			if ((size_t)(nl - p) != strlen(SYNC_STATE_MAGIC) ||
			    memcmp(p, SYNC_STATE_MAGIC, (size_t)(nl - p)) != 0)
				goto bad;
			p = nl + 1;
			continue;
		}
		nw = split_words(p, nl, w, wl, 11);
		if (nw == 3 && wl[0] == 3 && memcmp(w[0], "end", 3) == 0) {
			uint64_t cnt, h = 0;

			if (cut_parse_u64_n(w[1], wl[1], SIZE_MAX, &cnt) < 0 || cnt != s->n ||
			    wl[2] != 16)
				goto bad;
			for (size_t i = 0; i < 16; i++) {
				int d = cut_hex_val(w[2][i]);

				if (d < 0)
					goto bad;
				h = h * 16 + (uint64_t)d;
			}
			if (h != sync_state_fnv(data, (size_t)(p - data)))
				goto bad;
			ended = 1;
			p = nl + 1;
			continue;
		}
		if (nw != 11 || wl[2] >= sizeof(mode))
			goto bad;
		for (size_t i = 0; i < 8; i++) {
			uint64_t max = (i == 2 || i == 6) ? UINT64_MAX : UINT32_MAX;

			if (cut_parse_u64_n(w[3 + i], wl[3 + i], max, &v[i]) < 0)
				goto bad;
		}
		memcpy(mode, w[2], wl[2]);
		mode[wl[2]] = '\0';
		if (strcmp(mode, "-") == 0)
			mode[0] = '\0';
		s1 = (sync_state_side){(uint32_t)v[0], (uint32_t)v[1], v[2], (uint32_t)v[3]};
		s2 = (sync_state_side){(uint32_t)v[4], (uint32_t)v[5], v[6], (uint32_t)v[7]};
		n1 = cut_hex_word_get(w[0], wl[0]);
		n2 = cut_hex_word_get(w[1], wl[1]);
		if (n1 == NULL || n2 == NULL || sync_state_put(s, n1, n2, mode, &s1, &s2) < 0) {
			free(n1);
			free(n2);
			goto bad;
		}
		free(n1);
		free(n2);
		p = nl + 1;
	}
	if (!ended)
		goto bad;
	*state_r = s;
	return 0;
bad:
	sync_state_free(&s);
	return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			      "line %zu: damaged or truncated state", lineno);
}

int sync_state_read_file(const char *path, size_t max, cut_buf *b, cut_status *st)
{
	char chunk[65536];
	FILE *f;
	int ret = -1;

	f = fopen(path, "rb");
	if (f == NULL) {
		/* errno read once: the calls below may change it */
		if (errno == ENOENT)
			return 1;
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "%s: %s", path,
				      strerror(errno));
	}
	{
		struct stat sb;

		/* one allocation for the whole file (a UID cache is megabytes) */
		if (fstat(fileno(f), &sb) == 0 && sb.st_size > 0 &&
		    (uint64_t)sb.st_size <= max)
			(void)cut_buf_reserve(b, (size_t)sb.st_size + 1);
	}
	for (;;) {
		size_t n = fread(chunk, 1, sizeof(chunk), f);

		if (n == 0)
			break;
		if (b->len + n > max || cut_buf_append(b, chunk, n) < 0) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s: too large or out of memory", path);
			goto done;
		}
	}
	if (ferror(f)) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "%s: read error", path);
		goto done;
	}
	ret = 0;
done:
	fclose(f);
	return ret;
}

int sync_state_load(const char *path, sync_state **state_r, cut_status *st)
{
	cut_buf b = CUT_BUF_INIT;
	int ret;

	*state_r = NULL;
	ret = sync_state_read_file(path, SYNC_STATE_MAX, &b, st);
	if (ret == 0) {
		if (sync_state_parse(b.data != NULL ? b.data : "", b.len, state_r,
				     st) == 0)
			goto done;
		cut_status_prefix(st, "%s: ", path);
	}
	/* missing (1) or damaged (-1): an empty state */
	ret = ret == 1 ? 0 : 1;
	*state_r = calloc(1, sizeof(**state_r));
	if (*state_r == NULL)
		ret = cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
done:
	cut_buf_free(&b);
	return ret;
}

int sync_state_write_atomic(const char *path, const void *data, size_t len,
			    const char *what, cut_status *st)
{
	char *tmp = NULL;
	int fd = -1, ret = -1;
	size_t off = 0;

	/* A unique temporary name: two threads of one presync may save the
	 * same account (a CSV line given twice). */
	if ((tmp = cut_strdup_printf("%s.tmp.XXXXXX", path)) == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		free(tmp);
		tmp = NULL;
		goto io_fail;
	}
	while (off < len) {
		ssize_t w = write(fd, (const char *)data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto io_fail;
		off += (size_t)w;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto io_fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto io_fail;
	ret = 0;
	goto done;
io_fail:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
		       "%s: cannot write the %s: %s: check the state "
		       "directory exists and is writable",
		       path, what, strerror(errno));
	if (tmp != NULL)
		unlink(tmp);
done:
	if (fd >= 0)
		close(fd);
	free(tmp);
	return ret;
}

int sync_state_save(const sync_state *s, const char *path, cut_status *st)
{
	cut_buf b = CUT_BUF_INIT;
	int ret;

	if (state_render(s, &b) < 0) {
		cut_buf_free(&b);
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
	}
	ret = sync_state_write_atomic(path, b.data, b.len, "sync state", st);
	cut_buf_free(&b);
	return ret;
}

static int path_put(cut_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
			 c == '-';

		if ((ok && !(c == '.' && b->len > 0 && b->data[b->len - 1] == '/')
			     ? cut_buf_append(b, s, 1)
			     : cut_buf_printf(b, "%%%02X", c)) < 0)
			return -1;
	}
	return 0;
}

char *sync_state_path(const char *dir, const char *user1, const char *host1,
		      const char *user2, const char *host2)
{
	cut_buf b = CUT_BUF_INIT;

	if (cut_buf_printf(&b, "%s/", dir) < 0 || path_put(&b, user1) < 0 ||
	    cut_buf_puts(&b, "@") < 0 || path_put(&b, host1) < 0 ||
	    cut_buf_puts(&b, "--") < 0 || path_put(&b, user2) < 0 ||
	    cut_buf_puts(&b, "@") < 0 || path_put(&b, host2) < 0 ||
	    cut_buf_puts(&b, ".state") < 0) {
		cut_buf_free(&b);
		return NULL;
	}
	return cut_buf_steal(&b);
}
