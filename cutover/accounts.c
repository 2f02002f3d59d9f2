/*
 * accounts.c: the accounts CSV in imapsync's batch format (see plan.h and
 * docs/plan.md):
 *
 *   host1;user1;password1;host2;user2;password2;[extra;]
 *
 * one mailbox per line, `#` comments and blank lines skipped, CRLF
 * accepted.  Passwords are kept verbatim (no trimming: a space may be part
 * of one), never appear in a message, and are wiped when freed; so is
 * every buffer that held them.
 *
 * Problems are reported as "CSV:LINE: message" lines: first the problems of
 * single lines in line order, then the duplicates.
 */
#include "cutover/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/secret.h"
#include "common/status.h"
#include "common/str.h"

/* 64 MiB: far beyond any real list of mailboxes. */
#define ACCOUNTS_FILE_MAX (64u * 1024 * 1024)
#define ACCOUNTS_FIELDS_MAX 7

typedef struct accounts_ctx {
	const char *path;
	cut_buf *errors;
	unsigned n_errs;
	int overflow;
} accounts_ctx;

static void acc_err(accounts_ctx *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void acc_err(accounts_ctx *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char msg[600];

	if (c->n_errs >= PLAN_ERRORS_MAX) {
		if (!c->overflow)
			cut_buf_printf(c->errors,
				       "%s:%u: too many problems, stopped "
				       "after %d\n",
				       c->path, line, PLAN_ERRORS_MAX);
		c->overflow = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cut_buf_printf(c->errors, "%s:%u: %s\n", c->path, line, msg);
	c->n_errs++;
}

static void account_clear(account *a)
{
	free(a->user1);
	cut_secret_free(&a->pass1);
	free(a->user2);
	cut_secret_free(&a->pass2);
	free(a->extra);
	memset(a, 0, sizeof(*a));
}

/* Host and user columns: surrounding blanks are not part of them. */
static int field_host(accounts_ctx *c, unsigned line, const char *col,
		      char *s, uint16_t port, cut_hostport *hp)
{
	const char *why = NULL;

	cut_str_trim(s);
	if (*s == '\0') {
		acc_err(c, line, "%s is empty", col);
		return -1;
	}
	if (cut_hostport_parse(s, port, hp, &why) < 0) {
		acc_err(c, line, "%s `%s` is not host[:port]: %s", col, s, why);
		return -1;
	}
	return 0;
}

/* Parses one non-comment line (NUL-terminated, no line ending) into *a. */
static int parse_line(accounts_ctx *c, unsigned line, char *s, uint16_t port1,
		      uint16_t port2, account *a)
{
	char *f[ACCOUNTS_FIELDS_MAX + 1];
	size_t nf = 0, len = strlen(s);
	char *p = s;
	int bad = 0;

	/* The trailing ';' of imapsync's format is optional here. */
	if (len > 0 && s[len - 1] == ';')
		s[len - 1] = '\0';
	for (;;) {
		char *semi = strchr(p, ';');
		if (nf <= ACCOUNTS_FIELDS_MAX)
			f[nf] = p;
		nf++;
		if (semi == NULL)
			break;
		*semi = '\0';
		p = semi + 1;
	}
	if (nf < 6) {
		acc_err(c, line,
			"expected host1;user1;password1;host2;user2;password2; "
			"(found %zu field%s)",
			nf, nf == 1 ? "" : "s");
		return -1;
	}
	if (nf > ACCOUNTS_FIELDS_MAX) {
		acc_err(c, line,
			"too many fields (%zu, at most 7): a password cannot "
			"contain `;`",
			nf);
		return -1;
	}
	memset(a, 0, sizeof(*a));
	a->line = line;
	bad |= field_host(c, line, "host1", f[0], port1, &a->host1);
	bad |= field_host(c, line, "host2", f[3], port2, &a->host2);
	cut_str_trim(f[1]);
	cut_str_trim(f[4]);
	if (*f[1] == '\0') {
		acc_err(c, line, "user1 is empty");
		bad = -1;
	} else if (*f[2] == '\0') {
		acc_err(c, line, "password1 of user1 `%s` is empty", f[1]);
		bad = -1;
	}
	if (*f[4] == '\0') {
		acc_err(c, line, "user2 is empty");
		bad = -1;
	} else if (*f[5] == '\0') {
		acc_err(c, line, "password2 of user2 `%s` is empty", f[4]);
		bad = -1;
	}
	if (bad)
		return -1;
	a->user1 = strdup(f[1]);
	a->pass1 = strdup(f[2]);
	a->user2 = strdup(f[4]);
	a->pass2 = strdup(f[5]);
	if (nf == 7) {
		cut_str_trim(f[6]);
		if (*f[6] != '\0')
			a->extra = strdup(f[6]);
	}
	if (a->user1 == NULL || a->pass1 == NULL || a->user2 == NULL ||
	    a->pass2 == NULL || (nf == 7 && *f[6] != '\0' && a->extra == NULL)) {
		account_clear(a);
		acc_err(c, line, "out of memory");
		return -1;
	}
	return 0;
}

/* Sorting for the duplicate check: which side (1 or 2) is compared. */
typedef struct acc_ref {
	const account *a;
	int side;
} acc_ref;

static const cut_hostport *ref_host(const acc_ref *r)
{
	return r->side == 1 ? &r->a->host1 : &r->a->host2;
}

static const char *ref_user(const acc_ref *r)
{
	return r->side == 1 ? r->a->user1 : r->a->user2;
}

/* Same mailbox: host names compare without case (RFC 4343), users exactly. */
static int ref_key_cmp(const acc_ref *r, const acc_ref *s)
{
	const cut_hostport *h1 = ref_host(r), *h2 = ref_host(s);
	int d;

	if ((d = strcasecmp(h1->host, h2->host)) != 0)
		return d;
	if (h1->port != h2->port)
		return h1->port < h2->port ? -1 : 1;
	return strcmp(ref_user(r), ref_user(s));
}

static int ref_cmp(const void *x, const void *y)
{
	const acc_ref *r = x, *s = y;
	int d = ref_key_cmp(r, s);

	if (d != 0)
		return d;
	return r->a->line < s->a->line ? -1 : r->a->line > s->a->line;
}

/* One duplicate found: reported at `line`, naming the first occurrence. */
typedef struct acc_dup {
	unsigned line, first;
	int side;
	const account *a;
} acc_dup;

static int dup_cmp(const void *x, const void *y)
{
	const acc_dup *d = x, *e = y;

	if (d->line != e->line)
		return d->line < e->line ? -1 : 1;
	return d->side - e->side;
}

/*
 * Finds the accounts listed twice on one side, appending to *dups.  The
 * same source mailbox twice would be synced by two jobs at once; the same
 * target twice would have two exact syncs (--delete2) deleting each
 * other's messages.  @return 0 or -1 (out of memory).
 */
static int find_duplicates(const account *acc, size_t n, int side,
			   acc_dup *dups, size_t *n_dups)
{
	acc_ref *refs;
	size_t first = 0;

	if (n < 2)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (refs == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		refs[i].a = &acc[i];
		refs[i].side = side;
	}
	qsort(refs, n, sizeof(*refs), ref_cmp);
	for (size_t i = 1; i < n; i++) {
		if (ref_key_cmp(&refs[first], &refs[i]) != 0) {
			first = i;
			continue;
		}
		dups[*n_dups].line = refs[i].a->line;
		dups[*n_dups].first = refs[first].a->line;
		dups[*n_dups].side = side;
		dups[*n_dups].a = refs[i].a;
		(*n_dups)++;
	}
	free(refs);
	return 0;
}

/* Reports both kinds of duplicates, in line order. */
static void check_duplicates(accounts_ctx *c, const account *acc, size_t n)
{
	acc_dup *dups = calloc(2 * n + 1, sizeof(*dups));
	size_t n_dups = 0;
	char hp[CUT_HOST_MAX + 16];

	if (dups == NULL || find_duplicates(acc, n, 1, dups, &n_dups) < 0 ||
	    find_duplicates(acc, n, 2, dups, &n_dups) < 0) {
		acc_err(c, 0, "out of memory");
		free(dups);
		return;
	}
	qsort(dups, n_dups, sizeof(*dups), dup_cmp);
	for (size_t i = 0; i < n_dups; i++) {
		const account *a = dups[i].a;
		if (dups[i].side == 1) {
			cut_hostport_format(&a->host1, hp, sizeof(hp));
			acc_err(c, dups[i].line,
				"user1 `%s` on host1 %s is already listed at "
				"line %u: the same mailbox would be synced "
				"twice at once",
				a->user1, hp, dups[i].first);
		} else {
			cut_hostport_format(&a->host2, hp, sizeof(hp));
			acc_err(c, dups[i].line,
				"user2 `%s` on host2 %s is already the target "
				"of line %u: two exact syncs into one mailbox "
				"would delete each other's messages",
				a->user2, hp, dups[i].first);
		}
	}
	free(dups);
}

int accounts_parse(const char *path, const void *data, size_t len,
		   uint16_t port1, uint16_t port2, account **acc_r, size_t *n_r,
		   cut_buf *errors)
{
	accounts_ctx c = {path, errors, 0, 0};
	account *acc = NULL;
	size_t n = 0, cap = 0, pos = 0;
	char *line = NULL;
	unsigned lineno = 0;
	int ret = -1;

	*acc_r = NULL;
	*n_r = 0;
	line = malloc(ACCOUNTS_LINE_MAX + 1);
	if (line == NULL) {
		acc_err(&c, 0, "out of memory");
		goto done;
	}
	while (pos < len && !c.overflow) {
		const char *p = (const char *)data + pos, *eol, *why;
		size_t ln;

		eol = memchr(p, '\n', len - pos);
		ln = eol ? (size_t)(eol - p) : len - pos;
		pos += ln + (eol != NULL);
		lineno++;
		if (ln > 0 && p[ln - 1] == '\r')
			ln--;
		if (lineno == 1 && ln >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
			p += 3; /* UTF-8 byte order mark (spreadsheet export) */
			ln -= 3;
		}
		why = plan_line_problem(p, ln, ACCOUNTS_LINE_MAX);
		if (why != NULL) {
			if (ln > ACCOUNTS_LINE_MAX)
				acc_err(&c, lineno, "%s (more than %d bytes)",
					why, ACCOUNTS_LINE_MAX);
			else
				acc_err(&c, lineno, "%s", why);
			continue;
		}
		memcpy(line, p, ln);
		line[ln] = '\0';
		{
			const char *q = line;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '\0' || *q == '#')
				continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			account *na = realloc(acc, ncap * sizeof(*na));
			if (na == NULL) {
				acc_err(&c, lineno, "out of memory");
				break;
			}
			acc = na;
			cap = ncap;
		}
		if (parse_line(&c, lineno, line, port1, port2, &acc[n]) == 0)
			n++;
		explicit_bzero(line, ln + 1);
	}
	if (c.n_errs == 0 && !c.overflow) {
		check_duplicates(&c, acc, n);
	}
	if (c.n_errs == 0 && !c.overflow && n == 0)
		acc_err(&c, 0, "no accounts: every line is blank or a comment");
	if (c.n_errs == 0 && !c.overflow) {
		*acc_r = acc;
		*n_r = n;
		acc = NULL;
		n = 0;
		ret = 0;
	}
done:
	if (line != NULL) {
		explicit_bzero(line, ACCOUNTS_LINE_MAX + 1);
		free(line);
	}
	accounts_free(&acc, n);
	return ret;
}

int accounts_load(const char *path, uint16_t port1, uint16_t port2,
		  account **acc_r, size_t *n_r, cut_buf *errors)
{
	cut_status st;
	char *data = NULL;
	const char *why = NULL;
	size_t len = 0;
	int ret = -1;

	*acc_r = NULL;
	*n_r = 0;
	if (cut_secret_file_check(path, &st) < 0) {
		/* the message starts with the path already */
		size_t pl = strlen(path);
		const char *msg = st.msg;
		if (strncmp(msg, path, pl) == 0 && msg[pl] == ':')
			msg += pl + 1 + (msg[pl + 1] == ' ');
		cut_buf_printf(errors, "%s:0: %s\n", path, msg);
		goto done;
	}
	if (plan_read_file(path, ACCOUNTS_FILE_MAX, &data, &len, &why) < 0) {
		cut_buf_printf(errors, "%s:0: cannot read the accounts: %s\n",
			       path, why);
		goto done;
	}
	ret = accounts_parse(path, data, len, port1, port2, acc_r, n_r, errors);
done:
	if (data != NULL) {
		explicit_bzero(data, len);
		free(data);
	}
	return ret;
}

void accounts_free(account **accp, size_t n)
{
	if (accp == NULL || *accp == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		account_clear(&(*accp)[i]);
	free(*accp);
	*accp = NULL;
}
