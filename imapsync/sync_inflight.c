/*
 * sync_inflight.c: the append-only record of APPENDs that may be in
 * flight (see sync_inflight.h).
 */
#include "imapsync/sync_inflight.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"

/* Upper bound of one record line: 500 identities of a batch and a name. */
#define INFLIGHT_LINE_MAX (1024u * 1024)

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes n hex digits into out (n/2 bytes); -1 on a bad digit. */
static int hex_decode(const char *s, size_t n, unsigned char *out)
{
	if (n % 2 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int a = hexval((unsigned char)s[i]), b = hexval((unsigned char)s[i + 1]);

		if (a < 0 || b < 0)
			return -1;
		out[i / 2] = (unsigned char)(a * 16 + b);
	}
	return 0;
}

static int hex_put(cut_buf *b, const void *p, size_t n)
{
	const unsigned char *u = p;

	for (size_t i = 0; i < n; i++)
		if (cut_buf_printf(b, "%02x", u[i]) < 0)
			return -1;
	return 0;
}

static size_t inflight_index(const sync_inflight *r, const char *name2)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->f[i].name2, name2) == 0)
			return i;
	return (size_t)-1;
}

static void inflight_drop(sync_inflight *r, size_t i)
{
	free(r->f[i].name2);
	free(r->f[i].ids);
	r->f[i] = r->f[--r->n];
}

/* The entry of name2, created empty when missing; NULL when out of memory. */
static sync_inflight_folder *inflight_entry(sync_inflight *r, const char *name2)
{
	size_t i = inflight_index(r, name2);

	if (i != (size_t)-1)
		return &r->f[i];
	if (r->n == r->cap) {
		size_t ncap = r->cap ? 2 * r->cap : 4;
		sync_inflight_folder *nf = realloc(r->f, ncap * sizeof(*nf));

		if (nf == NULL)
			return NULL;
		r->f = nf;
		r->cap = ncap;
	}
	memset(&r->f[r->n], 0, sizeof(r->f[r->n]));
	r->f[r->n].name2 = strdup(name2);
	if (r->f[r->n].name2 == NULL)
		return NULL;
	return &r->f[r->n++];
}

static int id_cmp(const void *a, const void *b)
{
	return identity_cmp(a, b);
}

/* One line without its newline; 0 done, 1 malformed, -1 out of memory. */
static int inflight_line(sync_inflight *r, const char *s, size_t len)
{
	const char *end = s + len, *w;
	char name[1024];
	size_t nl;

	if (len < 3 || (s[0] != 'B' && s[0] != 'E') || s[1] != ' ')
		return 1;
	if (s[0] == 'B') {
		char *stop;
		double ms = strtod(s + 2, &stop);
		sync_inflight_folder *f;

		if (stop == s + 2 || stop >= end || *stop != ' ' || !(ms >= 0))
			return 1;
		w = stop + 1;
		nl = 0;
		while (w + nl < end && w[nl] != ' ')
			nl++;
		if (nl == 0 || nl / 2 >= sizeof(name) ||
		    hex_decode(w, nl, (unsigned char *)name) < 0)
			return 1;
		name[nl / 2] = '\0';
		if (strlen(name) != nl / 2)
			return 1;
		f = inflight_entry(r, name);
		if (f == NULL)
			return -1;
		if (ms / 1000.0 > f->sent)
			f->sent = ms / 1000.0;
		for (w += nl; w < end;) {
			identity id;

			if (*w++ != ' ' || end - w < 2 * IDENTITY_LEN ||
			    hex_decode(w, 2 * IDENTITY_LEN, id.d) < 0)
				return 1;
			w += 2 * IDENTITY_LEN;
			if (f->n == f->cap) {
				size_t ncap = f->cap ? 2 * f->cap : 16;
				identity *ni = realloc(f->ids, ncap * sizeof(*ni));

				if (ni == NULL)
					return -1;
				f->ids = ni;
				f->cap = ncap;
			}
			f->ids[f->n++] = id;
		}
		return 0;
	}
	nl = len - 2;
	if (nl == 0 || nl / 2 >= sizeof(name) ||
	    hex_decode(s + 2, nl, (unsigned char *)name) < 0)
		return 1;
	name[nl / 2] = '\0';
	if (inflight_index(r, name) != (size_t)-1)
		inflight_drop(r, inflight_index(r, name));
	return 0;
}

int sync_inflight_parse(const char *data, size_t len, sync_inflight **r_r,
			size_t *bad_r, cut_status *st)
{
	sync_inflight *r = calloc(1, sizeof(*r));
	size_t pos = 0;

	*r_r = NULL;
	*bad_r = 0;
	if (r == NULL)
		goto oom;
	r->fd = -1;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		int k;

		if (nl == NULL)
			break; /* torn last line: its command was never sent */
		k = inflight_line(r, data + pos, (size_t)(nl - (data + pos)));
		if (k < 0)
			goto oom;
		*bad_r += (size_t)k;
		pos = (size_t)(nl - data) + 1;
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->f[i].n > 1)
			qsort(r->f[i].ids, r->f[i].n, sizeof(*r->f[i].ids), id_cmp);
	*r_r = r;
	return 0;
oom:
	sync_inflight_free(&r);
	return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			      "out of memory reading the in-flight copy record");
}

int sync_inflight_open(const char *path, sync_inflight **r_r, cut_status *st)
{
	cut_buf b = CUT_BUF_INIT;
	char chunk[65536];
	size_t bad = 0;
	int fd, ret = -1;

	*r_r = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: cannot read the in-flight copy record: %s",
				      path, strerror(errno));
	while (fd >= 0) {
		ssize_t got = read(fd, chunk, sizeof(chunk));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s: cannot read the in-flight copy record: %s",
				       path, strerror(errno));
			goto done;
		}
		if (got == 0)
			break;
		if (cut_buf_append(&b, chunk, (size_t)got) < 0) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
			goto done;
		}
	}
	if (sync_inflight_parse(b.data != NULL ? b.data : "", b.len, r_r, &bad, st) < 0)
		goto done;
	if (bad > 0)
		cut_warn("%s: %zu damaged line(s) skipped", path, bad);
	(*r_r)->path = strdup(path);
	if ((*r_r)->path == NULL) {
		sync_inflight_free(r_r);
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	cut_buf_free(&b);
	return ret;
}

const sync_inflight_folder *sync_inflight_find(const sync_inflight *r,
					       const char *name2)
{
	size_t i;

	if (r == NULL)
		return NULL;
	i = inflight_index(r, name2);
	return i == (size_t)-1 ? NULL : &r->f[i];
}

int sync_inflight_has(const sync_inflight_folder *f, const identity *id)
{
	return f != NULL && f->n > 0 &&
	       bsearch(id, f->ids, f->n, sizeof(*f->ids), id_cmp) != NULL;
}

static int inflight_write(sync_inflight *r, const cut_buf *b, int durable,
			  cut_status *st)
{
	size_t off = 0;

	if (r->fd < 0) {
		r->fd = open(r->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (r->fd < 0)
			goto fail;
	}
	while (off < b->len) {
		ssize_t w = write(r->fd, b->data + off, b->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (durable && fdatasync(r->fd) < 0)
		goto fail;
	return 0;
fail:
	return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			      "%s: cannot write the in-flight copy record: %s: "
			      "check the state directory is writable",
			      r->path, strerror(errno));
}

int sync_inflight_begin(sync_inflight *r, const char *name2, double now,
			const identity *const *ids, size_t n, cut_status *st)
{
	cut_buf b = CUT_BUF_INIT;
	int known = 0, ret = -1;

	if (r == NULL || r->path == NULL)
		return 0;
	for (size_t i = 0; i < r->n_open; i++)
		known |= strcmp(r->open[i], name2) == 0;
	if (!known) {
		char **no = realloc(r->open, (r->n_open + 1) * sizeof(*no));

		if (no == NULL)
			goto oom;
		r->open = no;
		if ((r->open[r->n_open] = strdup(name2)) == NULL)
			goto oom;
		r->n_open++;
	}
	if (cut_buf_printf(&b, "B %.0f ", now * 1000.0) < 0 ||
	    hex_put(&b, name2, strlen(name2)) < 0)
		goto oom;
	for (size_t i = 0; i < n; i++)
		if (cut_buf_puts(&b, " ") < 0 || hex_put(&b, ids[i]->d, IDENTITY_LEN) < 0)
			goto oom;
	if (cut_buf_puts(&b, "\n") < 0)
		goto oom;
	ret = inflight_write(r, &b, 1, st);
	goto done;
oom:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
done:
	cut_buf_free(&b);
	return ret;
}

void sync_inflight_end(sync_inflight *r, const char *name2)
{
	size_t i;
	int known = 0;

	if (r == NULL)
		return;
	for (size_t k = 0; k < r->n_open; k++)
		if (strcmp(r->open[k], name2) == 0) {
			free(r->open[k]);
			r->open[k] = r->open[--r->n_open];
			known = 1;
			break;
		}
	i = inflight_index(r, name2);
	if (i != (size_t)-1)
		inflight_drop(r, i);
	else if (!known)
		return; /* nothing was open here */
	if (r->path != NULL) {
		cut_buf b = CUT_BUF_INIT;
		cut_status st;

		if (cut_buf_puts(&b, "E ") < 0 || hex_put(&b, name2, strlen(name2)) < 0 ||
		    cut_buf_puts(&b, "\n") < 0 || inflight_write(r, &b, 0, &st) < 0)
			cut_debug("in-flight copy record: %s not closed", name2);
		cut_buf_free(&b);
	}
}

void sync_inflight_free(sync_inflight **rp)
{
	sync_inflight *r;

	if (rp == NULL || *rp == NULL)
		return;
	r = *rp;
	if (r->fd >= 0)
		close(r->fd);
	/* Nothing open any more: the record has nothing to say. */
	if (r->path != NULL && r->n == 0 && r->n_open == 0 && unlink(r->path) < 0 &&
	    errno != ENOENT)
		cut_debug("%s: %s", r->path, strerror(errno));
	for (size_t i = 0; i < r->n; i++) {
		free(r->f[i].name2);
		free(r->f[i].ids);
	}
	for (size_t i = 0; i < r->n_open; i++)
		free(r->open[i]);
	free(r->open);
	free(r->f);
	free(r->path);
	free(r);
	*rp = NULL;
}
