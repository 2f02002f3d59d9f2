/*
 * sync_uidcache.c: the per folder pair cache of message identities,
 * sizes and INTERNALDATEs by UID.  See sync_uidcache.h for the format and
 * why a damaged one is harmless.
 */
#include "imapsync/sync_uidcache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/hex.h"
#include "common/str.h"
#include "imapsync/sync_state.h"

#define SYNC_UIDCACHE_MAGIC "cutover-uid-cache 2"
/* Version 1 (FNV-1a checksum) is read as no cache: listed in full once. */
#define SYNC_UIDCACHE_MAGIC_V1 "cutover-uid-cache 1"
/* Far above any folder's file (about 120 bytes a message). */
#define SYNC_UIDCACHE_MAX (256u * 1024 * 1024)

static uint64_t uidcache_fnv(const char *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

#define FNV_INIT 14695981039346656037ull

/*
 * The checksum of the file's lines: eight bytes at a time (a byte-wise
 * FNV-1a over 5 MB took longer than parsing them).  It detects damage
 * (truncation, stray bytes, edits), nothing more: a cache is trusted
 * only as far as the servers' answers confirm it (sync.c).  Words are
 * read in the host's byte order, so a file moved to a machine of the
 * other order reads as damaged: listed in full once.
 */
static uint64_t uidcache_sum(const char *p, size_t n)
{
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h = 0x243f6a8885a308d3ull ^ n, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * k;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * k;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

void sync_uidcache_reset(sync_uidcache_side *s, uint32_t uidvalidity)
{
	free(s->e);
	memset(s, 0, sizeof(*s));
	s->uidvalidity = uidvalidity;
}

void sync_uidcache_free(sync_uidcache **cp)
{
	sync_uidcache *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	free(c->name1);
	free(c->name2);
	free(c->s[0].e);
	free(c->s[1].e);
	free(c);
	*cp = NULL;
}

sync_uidcache *sync_uidcache_new(const char *name1, const char *name2)
{
	sync_uidcache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->name1 = strdup(name1);
	c->name2 = strdup(name2);
	if (c->name1 == NULL || c->name2 == NULL)
		sync_uidcache_free(&c);
	return c;
}

static int date_ok(const char *d, size_t n)
{
	if (n == 0 || n > SYNC_UIDCACHE_DATE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (d[i] < 0x20 || d[i] > 0x7e)
			return 0;
	return 1;
}

int sync_uidcache_add(sync_uidcache_side *s, uint32_t uid, uint64_t size,
		      int64_t epoch, const identity *id, const char *idate)
{
	sync_uidcache_entry *e;
	size_t dl = idate != NULL ? strlen(idate) : 0;

	if (uid == 0 || !date_ok(idate, dl))
		return -1;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		sync_uidcache_entry *ne = realloc(s->e, cap * sizeof(*ne));

		if (ne == NULL)
			return -1;
		s->e = ne;
		s->cap = cap;
	}
	e = &s->e[s->n++];
	memset(e, 0, sizeof(*e));
	e->uid = uid;
	e->size = size;
	e->epoch = epoch;
	e->id = *id;
	memcpy(e->idate, idate, dl);
	e->idate[dl] = '\0';
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	uint32_t x = ((const sync_uidcache_entry *)a)->uid;
	uint32_t y = ((const sync_uidcache_entry *)b)->uid;

	return x < y ? -1 : x > y;
}

int sync_uidcache_sort(sync_uidcache_side *s)
{
	if (s->n > 1)
		qsort(s->e, s->n, sizeof(*s->e), entry_cmp);
	for (size_t i = 1; i < s->n; i++)
		if (s->e[i].uid == s->e[i - 1].uid)
			return -1;
	return 0;
}

const sync_uidcache_entry *sync_uidcache_find(const sync_uidcache_side *s,
					      uint32_t uid)
{
	sync_uidcache_entry key;

	if (s == NULL || s->n == 0)
		return NULL;
	key.uid = uid;
	return bsearch(&key, s->e, s->n, sizeof(*s->e), entry_cmp);
}

/* ---- text form ---- */

/* Decimal digits of v at p; returns the end.  (printf costs more than
 * everything else of a 40,000-line render together.) */
static char *put_u64(char *p, uint64_t v)
{
	char t[20];
	int n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = t[--n];
	return p;
}

/* "k uid size epoch idhex idate\n": at most this many bytes */
#define ENTRY_LINE_MAX (2 + 11 + 21 + 21 + 2 * IDENTITY_LEN + 1 + SYNC_UIDCACHE_DATE_MAX + 1)

static int render(const sync_uidcache *c, cut_buf *b)
{
	uint64_t h;
	size_t n = c->s[0].n + c->s[1].n;
	char *p;

	if (cut_buf_printf(b, "%s\nnames ", SYNC_UIDCACHE_MAGIC) < 0 ||
	    cut_hex_word_put(b, c->name1) < 0 || cut_buf_puts(b, " ") < 0 ||
	    cut_hex_word_put(b, c->name2) < 0 ||
	    cut_buf_printf(b, "\nuidvalidity %u %u\n", c->s[0].uidvalidity,
			   c->s[1].uidvalidity) < 0)
		return -1;
	if (n > (SIZE_MAX - b->len - 1) / ENTRY_LINE_MAX ||
	    cut_buf_reserve(b, n * ENTRY_LINE_MAX) < 0)
		return -1;
	p = b->data + b->len;
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < c->s[k].n; i++) {
			const sync_uidcache_entry *e = &c->s[k].e[i];
			size_t dl = strnlen(e->idate, SYNC_UIDCACHE_DATE_MAX);

			*p++ = (char)('1' + k);
			*p++ = ' ';
			p = put_u64(p, e->uid);
			*p++ = ' ';
			p = put_u64(p, e->size);
			*p++ = ' ';
			if (e->epoch < 0)
				*p++ = '-';
			p = put_u64(p, e->epoch < 0 ? 0 - (uint64_t)e->epoch
						   : (uint64_t)e->epoch);
			*p++ = ' ';
			for (size_t j = 0; j < IDENTITY_LEN; j++) {
				*p++ = cut_hex_digits[e->id.d[j] >> 4];
				*p++ = cut_hex_digits[e->id.d[j] & 15];
			}
			*p++ = ' ';
			memcpy(p, e->idate, dl);
			p += dl;
			*p++ = '\n';
		}
	b->len = (size_t)(p - b->data);
	b->data[b->len] = '\0';
	h = uidcache_sum(b->data, b->len);
	return cut_buf_printf(b, "end %zu %016llx\n", n, (unsigned long long)h);
}

/* Splits [p, e) at single spaces into up to max words (the last one takes
 * the rest of the line when max is reached); returns the count. */
static size_t split_words(const char *p, const char *e, const char **w, size_t *wl,
			  size_t max)
{
	size_t n = 0;

	while (p < e && n < max) {
		const char *q = p;

		if (n + 1 < max)
			while (q < e && *q != ' ')
				q++;
		else
			q = e;
		w[n] = p;
		wl[n] = (size_t)(q - p);
		n++;
		p = q < e ? q + 1 : q;
	}
	return n;
}

/* The number at *pp up to the next space (or end), at most max; moves
 * *pp past the space. */
static int field_u64(const char **pp, const char *end, uint64_t max, uint64_t *v)
{
	const char *p = *pp, *q = memchr(p, ' ', (size_t)(end - p));

	if (q == NULL)
		q = end;
	if (cut_parse_u64_n(p, (size_t)(q - p), max, v) < 0)
		return -1;
	*pp = q < end ? q + 1 : q;
	return 0;
}

/* One "k uid size epoch idhex idate" line [p, e): appended to side k,
 * whose UIDs must ascend strictly. */
static int parse_entry(sync_uidcache *c, const char *p, const char *e)
{
	sync_uidcache_side *s;
	uint64_t uid, size, ep;
	int64_t epoch;
	identity id;
	char date[SYNC_UIDCACHE_DATE_MAX + 1];
	size_t dl;
	int neg;

	if (e - p < 2 || (p[0] != '1' && p[0] != '2') || p[1] != ' ')
		return -1;
	s = &c->s[p[0] - '1'];
	p += 2;
	if (field_u64(&p, e, UINT32_MAX, &uid) < 0 || uid == 0 ||
	    field_u64(&p, e, UINT64_MAX, &size) < 0)
		return -1;
	neg = p < e && *p == '-';
	p += neg;
	if (field_u64(&p, e, (uint64_t)INT64_MAX, &ep) < 0 || (neg && ep == 0))
		return -1;
	epoch = neg ? -(int64_t)ep : (int64_t)ep;
	if (e - p < 2 * IDENTITY_LEN + 1 || p[2 * IDENTITY_LEN] != ' ')
		return -1;
	for (size_t i = 0; i < IDENTITY_LEN; i++) {
		int hi = cut_hex_val(p[2 * i]), lo = cut_hex_val(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		id.d[i] = (uint8_t)(hi * 16 + lo);
	}
	p += 2 * IDENTITY_LEN + 1;
	dl = (size_t)(e - p);
	if (!date_ok(p, dl))
		return -1;
	if (s->uidvalidity == 0 || (s->n > 0 && s->e[s->n - 1].uid >= uid))
		return -1; /* UIDs strictly ascending per side */
	memcpy(date, p, dl);
	date[dl] = '\0';
	return sync_uidcache_add(s, (uint32_t)uid, size, epoch, &id, date);
}

int sync_uidcache_parse(const char *data, size_t len, const char *name1,
			const char *name2, sync_uidcache **cache_r,
			cut_status *st)
{
	sync_uidcache *c = sync_uidcache_new(name1, name2);
	const char *p = data, *end = data + len;
	size_t lineno = 0;
	int ended = 0;

	*cache_r = NULL;
	if (c == NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *w[6];
		size_t wl[6], nw;

		lineno++;
		if (nl == NULL || ended || memchr(p, '\0', (size_t)(nl - p)) != NULL)
			goto bad; /* truncated, bytes after the end, NUL */
		if (lineno == 1) {
			if ((size_t)(nl - p) == strlen(SYNC_UIDCACHE_MAGIC_V1) &&
			    memcmp(p, SYNC_UIDCACHE_MAGIC_V1, (size_t)(nl - p)) == 0) {
				*cache_r = c; /* an older version's file: empty */
				return 0;
			}
			if ((size_t)(nl - p) != strlen(SYNC_UIDCACHE_MAGIC) ||
			    memcmp(p, SYNC_UIDCACHE_MAGIC, (size_t)(nl - p)) != 0)
				goto bad;
		} else if (lineno == 2) {
			/* another pair's file (hash collision) counts as damage */
			nw = split_words(p, nl, w, wl, 4);
			if (nw != 3 || wl[0] != 5 || memcmp(w[0], "names", 5) != 0 ||
			    !cut_hex_word_is(w[1], wl[1], name1) ||
			    !cut_hex_word_is(w[2], wl[2], name2))
				goto bad;
		} else if (lineno == 3) {
			uint64_t v1, v2;

			nw = split_words(p, nl, w, wl, 4);
			if (nw != 3 || wl[0] != 11 || memcmp(w[0], "uidvalidity", 11) != 0 ||
			    cut_parse_u64_n(w[1], wl[1], UINT32_MAX, &v1) < 0 ||
			    cut_parse_u64_n(w[2], wl[2], UINT32_MAX, &v2) < 0)
				goto bad;
			c->s[0].uidvalidity = (uint32_t)v1;
			c->s[1].uidvalidity = (uint32_t)v2;
		} else if ((size_t)(nl - p) > 4 && memcmp(p, "end ", 4) == 0) {
			uint64_t cnt, h = 0;

			nw = split_words(p, nl, w, wl, 4);
			if (nw != 3 || cut_parse_u64_n(w[1], wl[1], SIZE_MAX, &cnt) < 0 ||
			    cnt != c->s[0].n + c->s[1].n || wl[2] != 16)
				goto bad;
			for (size_t i = 0; i < 16; i++) {
				int d = cut_hex_val(w[2][i]);

				if (d < 0)
					goto bad;
				h = h * 16 + (uint64_t)d;
			}
			if (h != uidcache_sum(data, (size_t)(p - data)))
				goto bad;
			ended = 1;
		} else if (parse_entry(c, p, nl) < 0) {
			goto bad;
		}
		p = nl + 1;
	}
	if (!ended)
		goto bad;
	*cache_r = c;
	return 0;
bad:
	sync_uidcache_free(&c);
	return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			      "line %zu: damaged, truncated or foreign UID cache",
			      lineno);
}

int sync_uidcache_load(const char *path, const char *name1, const char *name2,
		       sync_uidcache **cache_r, cut_status *st)
{
	cut_buf b = CUT_BUF_INIT;
	int ret;

	*cache_r = NULL;
	ret = sync_state_read_file(path, SYNC_UIDCACHE_MAX, &b, st);
	if (ret == 0) {
		if (sync_uidcache_parse(b.data != NULL ? b.data : "", b.len, name1,
					name2, cache_r, st) == 0)
			goto done;
		cut_status_prefix(st, "%s: ", path);
	}
	/* missing (1) or damaged (-1): an empty cache */
	ret = ret == 1 ? 0 : 1;
	*cache_r = sync_uidcache_new(name1, name2);
	if (*cache_r == NULL)
		ret = cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
done:
	cut_buf_free(&b);
	return ret;
}

int sync_uidcache_save(const sync_uidcache *c, const char *path, cut_status *st)
{
	cut_buf b = CUT_BUF_INIT;
	const char *slash = strrchr(path, '/');
	int ret = -1;

	if (slash != NULL && slash > path) {
		char *dir = cut_strdup_printf("%.*s", (int)(slash - path), path);

		if (dir == NULL) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
			goto done;
		}
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s: cannot create the UID cache directory: %s: "
				       "check the state directory is writable",
				       dir, strerror(errno));
			free(dir);
			goto done;
		}
		free(dir);
	}
	if (render(c, &b) < 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	ret = sync_state_write_atomic(path, b.data, b.len, "UID cache", st);
done:
	cut_buf_free(&b);
	return ret;
}

char *sync_uidcache_path(const char *state_path, const char *name1,
			 const char *name2)
{
	size_t n = strlen(state_path);
	uint64_t h;

	if (n < 6 || strcmp(state_path + n - 6, ".state") != 0)
		return NULL;
	h = uidcache_fnv(name1, strlen(name1) + 1, FNV_INIT);
	h = uidcache_fnv(name2, strlen(name2), h);
	return cut_strdup_printf("%.*s.uids/%016llx", (int)(n - 6), state_path,
				 (unsigned long long)h);
}
