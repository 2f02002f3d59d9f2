/*
 * plan.c: the plan file (INI), read and validated completely before
 * anything runs (see plan.h and docs/plan.md).
 *
 * Reading happens in two passes.  The first pass feeds the lines to inih
 * through our own reader, which numbers the lines, rejects what is not text
 * (NUL bytes, invalid UTF-8, lines longer than inih's buffer) and checks the
 * syntax of every line itself: Debian's inih is built without
 * INI_HANDLER_LINENO and reports only the first syntax error, while we want
 * every problem with its PLAN:LINE.  The handler stores each known key's
 * raw text and line.  The second pass converts and checks the values and
 * the rules between keys.  Problems are collected, sorted by line and
 * written as "PLAN:LINE: message" lines.
 */
#include "cutover/plan.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret.h"
#include "common/status.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "dns/tsig_key.h"

/* Plans are small; anything bigger is not a plan. */
#define PLAN_FILE_MAX (1024 * 1024)

#define PLAN_LOW_TTL_MAX 86400
#define PLAN_JOBS_MAX 64

/* ---- the key table ---- */

enum plan_section_id {
	S_MIGRATION,
	S_DNS,
	S_MX,
	S_IMAP,
	S_SYNC,
	S_HOOKS,
	S_COUNT,
	S_NONE = -1,
};

static const char *const section_names[S_COUNT] = {
	"migration", "dns", "mx", "imap", "sync", "hooks",
};

enum plan_key_id {
	K_SCENARIO,
	K_AT,
	K_STATE,
	K_MARGIN,
	K_WINDOW,
	K_ZONE,
	K_PORT, /* before server, nameservers, resolvers: their default port */
	K_SERVER,
	K_TSIG_KEY,
	K_LOW_TTL,
	K_MODE,
	K_NAMESERVERS,
	K_RESOLVERS,
	K_MX_NAME,
	K_MX_OLD,
	K_MX_NEW,
	K_IMAP_NAME,
	K_IMAP_OLD,
	K_IMAP_NEW,
	K_IMAP_PARKING,
	K_ACCOUNTS,
	K_JOBS,
	K_TLS1,
	K_TLS2,
	K_CA_FILE,
	K_MAXAGE,
	K_ON_FAILURE,
	K_CUT_ACCESS,
	K_RESTORE_ACCESS,
	K_NOTIFY,
	K_COUNT,
};

static const struct plan_key_def {
	enum plan_section_id section;
	const char *name;
} key_defs[K_COUNT] = {
	[K_SCENARIO] = {S_MIGRATION, "scenario"},
	[K_AT] = {S_MIGRATION, "at"},
	[K_STATE] = {S_MIGRATION, "state"},
	[K_MARGIN] = {S_MIGRATION, "margin"},
	[K_WINDOW] = {S_MIGRATION, "window"},
	[K_ZONE] = {S_DNS, "zone"},
	[K_PORT] = {S_DNS, "port"},
	[K_SERVER] = {S_DNS, "server"},
	[K_TSIG_KEY] = {S_DNS, "tsig_key"},
	[K_LOW_TTL] = {S_DNS, "low_ttl"},
	[K_MODE] = {S_DNS, "mode"},
	[K_NAMESERVERS] = {S_DNS, "nameservers"},
	[K_RESOLVERS] = {S_DNS, "resolvers"},
	[K_MX_NAME] = {S_MX, "name"},
	[K_MX_OLD] = {S_MX, "old"},
	[K_MX_NEW] = {S_MX, "new"},
	[K_IMAP_NAME] = {S_IMAP, "name"},
	[K_IMAP_OLD] = {S_IMAP, "old"},
	[K_IMAP_NEW] = {S_IMAP, "new"},
	[K_IMAP_PARKING] = {S_IMAP, "parking"},
	[K_ACCOUNTS] = {S_SYNC, "accounts"},
	[K_JOBS] = {S_SYNC, "jobs"},
	[K_TLS1] = {S_SYNC, "tls1"},
	[K_TLS2] = {S_SYNC, "tls2"},
	[K_CA_FILE] = {S_SYNC, "ca_file"},
	[K_MAXAGE] = {S_SYNC, "maxage"},
	[K_ON_FAILURE] = {S_SYNC, "on_failure"},
	[K_CUT_ACCESS] = {S_HOOKS, "cut_access"},
	[K_RESTORE_ACCESS] = {S_HOOKS, "restore_access"},
	[K_NOTIFY] = {S_HOOKS, "notify"},
};

/* ---- the parse context ---- */

typedef struct plan_err {
	unsigned line;
	unsigned seq; /* keeps the order of problems on the same line */
	char *msg;
} plan_err;

typedef struct plan_ctx {
	const char *path;
	/* input */
	const char *data;
	size_t len, pos;
	unsigned lineno;
	/* the section the reader is in; S_NONE before the first or when unknown */
	int section;
	int section_unknown;
	unsigned section_line[S_COUNT]; /* 0: absent */
	/* raw values from the first pass, NULL when unset */
	char *raw[K_COUNT];
	unsigned key_line[K_COUNT];
	/* problems */
	plan_err *errs;
	size_t n_errs, cap_errs;
	int overflow;
	int oom;
	/*
	 * A line was not understood (not text, bad syntax, unknown section):
	 * the keys on it are unknown, so "missing key" would be noise.
	 */
	int lines_rejected;
} plan_ctx;

static void ctx_err(plan_ctx *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ctx_err(plan_ctx *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char msg[600];

	if (c->n_errs >= PLAN_ERRORS_MAX) {
		c->overflow = 1;
		return;
	}
	if (c->n_errs == c->cap_errs) {
		size_t ncap = c->cap_errs ? c->cap_errs * 2 : 16;
		plan_err *n = realloc(c->errs, ncap * sizeof(*n));
		if (n == NULL) {
			c->oom = 1;
			return;
		}
		c->errs = n;
		c->cap_errs = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->errs[c->n_errs].msg = strdup(msg);
	if (c->errs[c->n_errs].msg == NULL) {
		c->oom = 1;
		return;
	}
	c->errs[c->n_errs].line = line;
	c->errs[c->n_errs].seq = (unsigned)c->n_errs;
	c->n_errs++;
}

static int err_cmp(const void *a, const void *b)
{
	const plan_err *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the sorted problems into errors as "PLAN:LINE: message\n". */
static void ctx_flush_errors(plan_ctx *c, cut_buf *errors)
{
	qsort(c->errs, c->n_errs, sizeof(*c->errs), err_cmp);
	for (size_t i = 0; i < c->n_errs; i++)
		cut_buf_printf(errors, "%s:%u: %s\n", c->path, c->errs[i].line,
			       c->errs[i].msg);
	if (c->overflow)
		cut_buf_printf(errors,
			       "%s:%u: too many problems, stopped after %d\n",
			       c->path, c->lineno, PLAN_ERRORS_MAX);
	if (c->oom)
		cut_buf_printf(errors, "%s:0: out of memory\n", c->path);
}

static void ctx_deinit(plan_ctx *c)
{
	for (size_t i = 0; i < c->n_errs; i++)
		free(c->errs[i].msg);
	free(c->errs);
	for (int k = 0; k < K_COUNT; k++)
		free(c->raw[k]);
}

/* ---- "did you mean" ---- */

/*
 * Edit distance of two short words, counting a swap of two neighbours as
 * one edit (optimal string alignment: "dsn" is one edit from "dns").
 * Words longer than 32 characters are never close.
 */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[33][33];

	if (la > 32 || lb > 32)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			size_t sub = d[i - 1][j - 1] + (ca != cb);
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			size_t m = sub < del ? sub : del;
			m = m < ins ? m : ins;
			if (i > 1 && j > 1 &&
			    ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb &&
			    d[i - 2][j - 2] + 1 < m)
				m = d[i - 2][j - 2] + 1;
			d[i][j] = m;
		}
	return d[la][lb];
}

/* Close enough to be a typo: at most 2 edits, and less than half the word. */
static int is_typo_of(const char *typed, const char *known)
{
	size_t d = edit_distance(typed, known);

	return d <= 2 && d * 2 < strlen(known);
}

/* ---- the first pass: lines, syntax, raw key values ---- */

static int section_lookup(const char *name)
{
	for (int s = 0; s < S_COUNT; s++)
		if (strcmp(section_names[s], name) == 0)
			return s;
	return S_NONE;
}

static int is_key_char(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '-' || ch == '.';
}

/* True when p (after a section header or a value) is blank or a comment. */
static int only_comment_left(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '\0' || *p == ';' || *p == '#';
}

/*
 * Checks the syntax of one line (leading blanks removed, NUL-terminated)
 * and tracks the current section.  @return 1 when inih may see the line,
 * 0 when it must see a blank line instead.
 */
static int check_line_syntax(plan_ctx *c, char *line)
{
	const char *p;

	if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
		return 1;
	if (line[0] == '[') {
		char name[64];
		const char *close = strchr(line, ']');
		size_t n;
		int s;

		if (close == NULL || !only_comment_left(close + 1)) {
			ctx_err(c, c->lineno,
				"syntax error: a section header is `[name]`");
			c->section = S_NONE;
			c->section_unknown = 1;
			return 0;
		}
		n = (size_t)(close - line - 1);
		if (n == 0 || n >= sizeof(name)) {
			ctx_err(c, c->lineno, "syntax error: bad section name");
			c->section = S_NONE;
			c->section_unknown = 1;
			return 0;
		}
		memcpy(name, line + 1, n);
		name[n] = '\0';
		cut_str_trim(name);
		s = section_lookup(name);
		if (s == S_NONE) {
			const char *hint = NULL;
			for (int i = 0; i < S_COUNT && hint == NULL; i++)
				if (is_typo_of(name, section_names[i]))
					hint = section_names[i];
			if (hint != NULL)
				ctx_err(c, c->lineno,
					"unknown section [%s]: did you mean [%s]?",
					name, hint);
			else
				ctx_err(c, c->lineno,
					"unknown section [%s]: the sections are "
					"[migration], [dns], [mx], [imap], "
					"[sync] and [hooks]",
					name);
			c->section = S_NONE;
			c->section_unknown = 1;
			return 0;
		}
		if (c->section_line[s] != 0) {
			ctx_err(c, c->lineno,
				"section [%s] appears again (first at line %u): "
				"keep one [%s] section",
				name, c->section_line[s], name);
		} else {
			c->section_line[s] = c->lineno;
		}
		c->section = s;
		c->section_unknown = 0;
		return 1;
	}
	/* key = value: the key is a word, and '=' (not ':') separates */
	for (p = line; is_key_char((unsigned char)*p); p++)
		;
	if (p == line) {
		ctx_err(c, c->lineno,
			"syntax error: expected `key = value`, `[section]` or "
			"a `#` comment");
		return 0;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=') {
		ctx_err(c, c->lineno,
			"syntax error: expected `key = value`, `[section]` or "
			"a `#` comment");
		return 0;
	}
	return 1;
}

/*
 * The inih reader: hands over one line at a time, numbered in c->lineno.
 * Leading blanks are removed so that inih never sees a continuation line
 * (INI_ALLOW_MULTILINE): an indented key is just a key.
 */
static char *plan_reader(char *str, int num, void *stream)
{
	plan_ctx *c = stream;
	const char *line, *eol, *why;
	size_t n, max;

	if (c->pos >= c->len || c->overflow)
		return NULL;
	line = c->data + c->pos;
	eol = memchr(line, '\n', c->len - c->pos);
	n = eol ? (size_t)(eol - line) : c->len - c->pos;
	c->pos += n + (eol != NULL);
	c->lineno++;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (c->lineno == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
		line += 3; /* UTF-8 byte order mark */
		n -= 3;
	}
	while (n > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	max = num > 1 ? (size_t)num - 1 : 0;
	if (max > PLAN_LINE_MAX)
		max = PLAN_LINE_MAX;
	str[0] = '\0';
	why = plan_line_problem(line, n, max);
	if (why != NULL) {
		if (n > max)
			ctx_err(c, c->lineno, "%s (more than %zu bytes)", why,
				max);
		else
			ctx_err(c, c->lineno, "%s", why);
		c->lines_rejected = 1;
		return str;
	}
	memcpy(str, line, n);
	str[n] = '\0';
	if (!check_line_syntax(c, str)) {
		str[0] = '\0';
		c->lines_rejected = 1;
	}
	return str;
}

static int plan_handler(void *user, const char *section, const char *name,
			const char *value)
{
	plan_ctx *c = user;
	int known_elsewhere = -1;
	const char *hint = NULL;
	size_t vlen;

	(void)section; /* c->section is the same, already looked up */
	if (c->section_unknown)
		return 1; /* reported once at the header */
	if (c->section == S_NONE) {
		ctx_err(c, c->lineno,
			"key `%s` outside any section: put it under its "
			"[section]",
			name);
		return 1;
	}
	for (int k = 0; k < K_COUNT; k++) {
		if (strcmp(key_defs[k].name, name) != 0) {
			if ((int)key_defs[k].section == c->section &&
			    hint == NULL && is_typo_of(name, key_defs[k].name))
				hint = key_defs[k].name;
			continue;
		}
		if ((int)key_defs[k].section != c->section) {
			known_elsewhere = (int)key_defs[k].section;
			continue;
		}
		if (c->raw[k] != NULL) {
			ctx_err(c, c->lineno,
				"duplicate key `%s` (first set at line %u)",
				name, c->key_line[k]);
			return 1;
		}
		/* Values may be quoted: "10 mx1.example., 20 mx2.example." */
		vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"')
			c->raw[k] = strndup(value + 1, vlen - 2);
		else
			c->raw[k] = strdup(value);
		if (c->raw[k] == NULL)
			c->oom = 1;
		c->key_line[k] = c->lineno;
		return 1;
	}
	if (hint != NULL)
		ctx_err(c, c->lineno,
			"unknown key `%s` in [%s]: did you mean `%s`?", name,
			section_names[c->section], hint);
	else if (known_elsewhere >= 0)
		ctx_err(c, c->lineno,
			"unknown key `%s` in [%s]: it belongs in [%s]", name,
			section_names[c->section],
			section_names[known_elsewhere]);
	else
		ctx_err(c, c->lineno, "unknown key `%s` in [%s]", name,
			section_names[c->section]);
	return 1;
}

/* ---- value converters: each reports its own problem ---- */

/*
 * Normalises a domain name into out: lower case, absolute (trailing dot).
 * Names are always taken as fully qualified, with or without the dot.
 * @return NULL, or why the name is bad (static).
 */
static const char *dname_normalize(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in), label = 0;

	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0)
		return "the root is not a name you can use here";
	if (n > 253 || n + 2 > outlen)
		return "longer than 253 characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		if (ch == '.') {
			if (label == 0)
				return "empty label (two dots in a row?)";
			if (in[i - 1] == '-')
				return "a label ends with '-' (RFC 952)";
			label = 0;
		} else if (ch == '-' && label == 0) {
			return "a label starts with '-' (RFC 952)";
		} else if (isalnum(ch) || ch == '-' || ch == '_') {
			/* RFC 1035 2.3.4: labels are 63 octets or less */
			if (++label > 63)
				return "a label is longer than 63 characters";
		} else {
			return "invalid character (letters, digits, '-', '_' "
			       "and '.' only)";
		}
		out[i] = (char)tolower(ch);
	}
	if (in[n - 1] == '-')
		return "a label ends with '-' (RFC 952)";
	out[n] = '.';
	out[n + 1] = '\0';
	return NULL;
}

static int dname_in_zone(const char *name, const char *zone)
{
	size_t ln = strlen(name), lz = strlen(zone);

	if (strcmp(zone, ".") == 0)
		return 1;
	if (ln == lz)
		return strcmp(name, zone) == 0;
	return ln > lz && strcmp(name + ln - lz, zone) == 0 &&
	       name[ln - lz - 1] == '.';
}

/*
 * Splits a comma-separated list in place.  Empty items are reported and
 * left out.  @return 0, 1 when an item was empty, -1 out of memory.
 */
static int split_list(plan_ctx *c, int k, char *s, char ***items_r,
		      size_t *n_r)
{
	char **items = NULL;
	size_t n = 0, cap = 0;
	char *p = s;
	int ok = 1;

	for (;;) {
		char *comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		cut_str_trim(p);
		if (*p == '\0') {
			ctx_err(c, c->key_line[k],
				"%s: empty item in the list (two commas?)",
				key_defs[k].name);
			ok = 0;
		} else {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 4;
				char **ni = realloc(items, ncap * sizeof(*ni));
				if (ni == NULL) {
					c->oom = 1;
					free(items);
					return -1;
				}
				items = ni;
				cap = ncap;
			}
			items[n++] = p;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*items_r = items;
	*n_r = n;
	return ok ? 0 : 1;
}

static void conv_duration(plan_ctx *c, int k, double *val_r, int *has_r)
{
	double v;

	if (c->raw[k] == NULL)
		return;
	if (cut_duration_parse(c->raw[k], &v) < 0) {
		ctx_err(c, c->key_line[k],
			"%s: `%s` is not a duration (examples: 300, 90s, 5m, "
			"2h, 1d)",
			key_defs[k].name, c->raw[k]);
		return;
	}
	*val_r = v;
	if (has_r != NULL)
		*has_r = 1;
}

static int conv_enum(plan_ctx *c, int k, const char *const *words,
		     const char *choices, int *val_r)
{
	if (c->raw[k] == NULL)
		return 0;
	for (int i = 0; words[i] != NULL; i++)
		if (strcmp(c->raw[k], words[i]) == 0) {
			*val_r = i;
			return 0;
		}
	ctx_err(c, c->key_line[k], "%s: `%s` is not one of %s",
		key_defs[k].name, c->raw[k], choices);
	return -1;
}

static char *resolve_path(plan_ctx *c, const char *dir, const char *value)
{
	char *r;

	size_t dl = dir != NULL ? strlen(dir) : 0;

	if (value[0] == '/' || dl == 0)
		r = strdup(value);
	else /* no "//" when the plan sits in "/" */
		r = cut_strdup_printf("%s%s%s", dir,
				      dir[dl - 1] == '/' ? "" : "/", value);
	if (r == NULL)
		c->oom = 1;
	return r;
}

static void conv_path(plan_ctx *c, int k, const char *dir, char **val_r)
{
	if (c->raw[k] != NULL)
		*val_r = resolve_path(c, dir, c->raw[k]);
}

static void conv_hostports(plan_ctx *c, int k, uint16_t port,
			   cut_hostport **hp_r, size_t *n_r)
{
	char **items = NULL;
	size_t n = 0;
	cut_hostport *hp;

	if (c->raw[k] == NULL)
		return;
	if (split_list(c, k, c->raw[k], &items, &n) < 0 || n == 0) {
		free(items);
		return;
	}
	hp = calloc(n, sizeof(*hp));
	if (hp == NULL) {
		c->oom = 1;
		free(items);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;
		if (cut_hostport_parse(items[i], port, &hp[i], &why) < 0)
			ctx_err(c, c->key_line[k],
				"%s: `%s` is not host[:port]: %s",
				key_defs[k].name, items[i], why);
	}
	*hp_r = hp;
	*n_r = n;
	free(items);
}

static void conv_addrs(plan_ctx *c, int k, plan_addrs *a)
{
	char **items = NULL;
	size_t n = 0;

	a->line = c->key_line[k];
	if (c->raw[k] == NULL)
		return;
	if (split_list(c, k, c->raw[k], &items, &n) < 0 || n == 0) {
		free(items);
		return;
	}
	a->addr = calloc(n, sizeof(*a->addr));
	if (a->addr == NULL) {
		c->oom = 1;
		free(items);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (cut_ip_family(items[i]) == 0) {
			ctx_err(c, c->key_line[k],
				"%s: `%s` is not an IPv4 or IPv6 address",
				key_defs[k].name, items[i]);
			continue;
		}
		for (size_t j = 0; j < a->n; j++)
			if (strcmp(a->addr[j], items[i]) == 0) {
				ctx_err(c, c->key_line[k],
					"%s: `%s` is listed twice",
					key_defs[k].name, items[i]);
				break;
			}
		a->addr[a->n] = strdup(items[i]);
		if (a->addr[a->n] == NULL)
			c->oom = 1;
		else
			a->n++;
	}
	free(items);
}

/* Parses one "PREFERENCE NAME" entry into *mx.  @return 0 or -1 (reported). */
static int parse_mx_entry(plan_ctx *c, int k, const char *item, plan_mx *mx)
{
	char *tok[3] = {NULL, NULL, NULL}, *copy = NULL, *q, *bare = NULL;
	const char *kn = key_defs[k].name, *why;
	uint64_t p;
	int fields = 0, ret = -1;
	size_t bl;

	copy = strdup(item);
	if (copy == NULL) {
		c->oom = 1;
		goto done;
	}
	/* RFC 1035 3.3.9: MX RDATA is PREFERENCE EXCHANGE */
	for (q = copy; *q != '\0' && fields < 3;) {
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '\0')
			break;
		tok[fields++] = q;
		while (*q != '\0' && *q != ' ' && *q != '\t')
			q++;
		if (*q != '\0')
			*q++ = '\0';
	}
	if (fields == 3) {
		ctx_err(c, c->key_line[k],
			"%s: `%s` is not `PREFERENCE NAME` (a comma separates "
			"entries)",
			kn, item);
		goto done;
	}
	if (fields < 2) {
		if (cut_parse_u64(tok[0], UINT64_MAX, &p) == 0)
			ctx_err(c, c->key_line[k],
				"%s: `%s` has no exchange name: write `%s "
				"mx.example.`",
				kn, item, tok[0]);
		else
			ctx_err(c, c->key_line[k],
				"%s: `%s` has no preference: write `10 %s`", kn,
				item, item);
		goto done;
	}
	if (cut_parse_u64(tok[0], 65535, &p) < 0) {
		ctx_err(c, c->key_line[k],
			"%s: `%s`: the preference must be a number from 0 to "
			"65535",
			kn, item);
		goto done;
	}
	bare = strdup(tok[1]);
	if (bare == NULL) {
		c->oom = 1;
		goto done;
	}
	bl = strlen(bare);
	if (bl > 0 && bare[bl - 1] == '.')
		bare[bl - 1] = '\0';
	if (cut_is_ip_literal(bare)) {
		ctx_err(c, c->key_line[k],
			"%s: `%s`: an MX names a host, not an address (RFC "
			"1035 3.3.9)",
			kn, item);
		goto done;
	}
	why = dname_normalize(tok[1], mx->host, sizeof(mx->host));
	if (why != NULL) {
		ctx_err(c, c->key_line[k], "%s: `%s`: bad exchange name: %s",
			kn, item, why);
		goto done;
	}
	mx->pref = (uint16_t)p;
	ret = 0;
done:
	free(copy);
	free(bare);
	return ret;
}

static void conv_mx(plan_ctx *c, int k, plan_mx **mx_r, size_t *n_r)
{
	char **items = NULL;
	size_t n = 0, ok = 0;
	plan_mx *mx;

	if (c->raw[k] == NULL)
		return;
	if (split_list(c, k, c->raw[k], &items, &n) < 0 || n == 0) {
		free(items);
		return;
	}
	mx = calloc(n, sizeof(*mx));
	if (mx == NULL) {
		c->oom = 1;
		free(items);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_mx_entry(c, k, items[i], &mx[ok]) < 0)
			continue;
		for (size_t j = 0; j < ok; j++)
			if (strcmp(mx[j].host, mx[ok].host) == 0) {
				ctx_err(c, c->key_line[k],
					"%s: `%s` is listed twice",
					key_defs[k].name, mx[ok].host);
				break;
			}
		ok++;
	}
	*mx_r = mx;
	*n_r = ok;
	free(items);
}

/* Same set of MX records, in any order. */
static int mx_same_set(const plan_mx *a, size_t na, const plan_mx *b,
		       size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		int found = 0;
		for (size_t j = 0; j < nb && !found; j++)
			found = a[i].pref == b[j].pref &&
				strcmp(a[i].host, b[j].host) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

static int addrs_same_set(const plan_addrs *a, const plan_addrs *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		int found = 0;
		for (size_t j = 0; j < b->n && !found; j++)
			found = strcmp(a->addr[i], b->addr[j]) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

/* A required key: reported at its section header, or line 0 if absent. */
static void require(plan_ctx *c, int k, const char *why)
{
	int s = (int)key_defs[k].section;

	if (c->raw[k] != NULL || c->lines_rejected)
		return;
	if (c->section_line[s] == 0)
		ctx_err(c, 0, "missing section [%s] with `%s = ...`%s",
			section_names[s], key_defs[k].name, why);
	else
		ctx_err(c, c->section_line[s],
			"missing required key `%s` in [%s]%s",
			key_defs[k].name, section_names[s], why);
}

/* ---- the second pass ---- */

static const char *const scenario_words[] = {"classical", "lucky", NULL};
static const char *const mode_words[] = {"rfc2136", "manual", NULL};
static const char *const tls_words[] = {"imaps", "starttls", "plain", NULL};
static const char *const on_failure_words[] = {"stop", "continue", NULL};

static void validate(plan_ctx *c, plan *p)
{
	int v, scenario_ok, mode_ok;
	uint64_t u;

	/* No key may be empty: an empty value is a half-edited line. */
	for (int k = 0; k < K_COUNT; k++)
		if (c->raw[k] != NULL && c->raw[k][0] == '\0') {
			ctx_err(c, c->key_line[k],
				"%s: empty value: give a value or remove the "
				"line",
				key_defs[k].name);
			free(c->raw[k]);
			c->raw[k] = NULL;
			c->key_line[k] = 0;
		}

	/* [migration] */
	scenario_ok = conv_enum(c, K_SCENARIO, scenario_words,
				"classical, lucky", &v) == 0;
	if (scenario_ok && c->raw[K_SCENARIO] != NULL)
		p->scenario = (plan_scenario)v;
	if (c->raw[K_AT] != NULL) {
		if (cut_time_parse_rfc3339(c->raw[K_AT], &p->at) < 0)
			ctx_err(c, c->key_line[K_AT],
				"at: `%s` is not an RFC 3339 time (example: "
				"2026-12-01T22:00:00+01:00)",
				c->raw[K_AT]);
		else
			p->has_at = 1;
	}
	if (c->raw[K_STATE] != NULL) {
		conv_path(c, K_STATE, p->dir, &p->state_dir);
	} else {
		/* "<plan dir>/<plan name without .plan>.state" */
		const char *base = strrchr(p->path, '/');
		size_t bl;
		base = base ? base + 1 : p->path;
		bl = strlen(base);
		if (bl > 5 && strcmp(base + bl - 5, ".plan") == 0)
			bl -= 5;
		char *name = cut_strdup_printf("%.*s.state", (int)bl, base);
		if (name == NULL)
			c->oom = 1;
		else
			p->state_dir = resolve_path(c, p->dir, name);
		free(name);
	}
	conv_duration(c, K_MARGIN, &p->margin, NULL);
	conv_duration(c, K_WINDOW, &p->window, &p->has_window);

	/* [dns] */
	require(c, K_ZONE, "");
	if (c->raw[K_ZONE] != NULL) {
		char z[CUT_HOST_MAX];
		const char *why = dname_normalize(c->raw[K_ZONE], z, sizeof(z));
		if (why != NULL)
			ctx_err(c, c->key_line[K_ZONE],
				"zone: `%s` is not a domain name: %s",
				c->raw[K_ZONE], why);
		else if ((p->zone = strdup(z)) == NULL)
			c->oom = 1;
	}
	if (c->raw[K_PORT] != NULL) {
		if (cut_parse_u64(c->raw[K_PORT], 65535, &u) < 0 || u == 0)
			ctx_err(c, c->key_line[K_PORT],
				"port: `%s` is not a port number from 1 to "
				"65535",
				c->raw[K_PORT]);
		else
			p->port = (uint16_t)u;
	}
	if (c->raw[K_SERVER] != NULL) {
		const char *why = NULL;
		if (cut_hostport_parse(c->raw[K_SERVER], p->port, &p->server,
				       &why) < 0)
			ctx_err(c, c->key_line[K_SERVER],
				"server: `%s` is not host[:port]: %s",
				c->raw[K_SERVER], why);
		else
			p->has_server = 1;
	}
	conv_path(c, K_TSIG_KEY, p->dir, &p->tsig_key);
	if (c->raw[K_LOW_TTL] != NULL) {
		double t;
		if (cut_duration_parse(c->raw[K_LOW_TTL], &t) < 0)
			ctx_err(c, c->key_line[K_LOW_TTL],
				"low_ttl: `%s` is not a duration (examples: "
				"300, 90s, 5m, 2h, 1d)",
				c->raw[K_LOW_TTL]);
		else if (t < 1 || t > PLAN_LOW_TTL_MAX || t != (double)(long)t)
			/* RFC 2181 8: a TTL counts whole seconds */
			ctx_err(c, c->key_line[K_LOW_TTL],
				"low_ttl: `%s` must be whole seconds from 1 "
				"to 86400 (1d)",
				c->raw[K_LOW_TTL]);
		else
			p->low_ttl = (uint32_t)t;
	}
	mode_ok = conv_enum(c, K_MODE, mode_words, "rfc2136, manual", &v) == 0;
	if (mode_ok && c->raw[K_MODE] != NULL)
		p->mode = (plan_dns_mode)v;
	conv_hostports(c, K_NAMESERVERS, p->port, &p->nameservers,
		       &p->n_nameservers);
	conv_hostports(c, K_RESOLVERS, p->port, &p->resolvers,
		       &p->n_resolvers);
	if (!mode_ok) {
		/* the bad mode is reported; do not guess what it needs */
	} else if (p->mode == PLAN_DNS_RFC2136 && c->raw[K_MODE] != NULL) {
		require(c, K_TSIG_KEY,
			": mode = rfc2136 signs its updates with a TSIG key "
			"(or set mode = manual)");
	} else if (p->mode == PLAN_DNS_RFC2136 &&
		   c->section_line[S_DNS] != 0) {
		require(c, K_TSIG_KEY,
			": the default mode = rfc2136 signs its updates with "
			"a TSIG key (or set mode = manual)");
	}

	/* [mx] */
	if (c->section_line[S_MX] == 0) {
		if (!c->lines_rejected)
			ctx_err(c, 0,
			"missing section [mx] with `old = ...` and `new = ...` "
			"(the MX sets before and after)");
	} else {
		require(c, K_MX_OLD, "");
		require(c, K_MX_NEW, "");
	}
	if (c->raw[K_MX_NAME] != NULL) {
		char nm[CUT_HOST_MAX];
		const char *why =
			dname_normalize(c->raw[K_MX_NAME], nm, sizeof(nm));
		if (why != NULL)
			ctx_err(c, c->key_line[K_MX_NAME],
				"name: `%s` is not a domain name: %s",
				c->raw[K_MX_NAME], why);
		else if (p->zone != NULL && !dname_in_zone(nm, p->zone))
			ctx_err(c, c->key_line[K_MX_NAME],
				"name: `%s` is not inside the zone `%s`: "
				"cutover changes names of [dns] zone only",
				nm, p->zone);
		else if ((p->mx_name = strdup(nm)) == NULL)
			c->oom = 1;
	} else if (p->zone != NULL) {
		if ((p->mx_name = strdup(p->zone)) == NULL)
			c->oom = 1;
	}
	conv_mx(c, K_MX_OLD, &p->mx_old, &p->n_mx_old);
	conv_mx(c, K_MX_NEW, &p->mx_new, &p->n_mx_new);
	if (p->n_mx_old > 0 && p->n_mx_new > 0 &&
	    mx_same_set(p->mx_old, p->n_mx_old, p->mx_new, p->n_mx_new))
		ctx_err(c, c->key_line[K_MX_NEW],
			"new: the same MX set as old: nothing would change");

	/* [imap] */
	if (c->raw[K_IMAP_NAME] != NULL) {
		char nm[CUT_HOST_MAX];
		const char *why =
			dname_normalize(c->raw[K_IMAP_NAME], nm, sizeof(nm));
		if (why != NULL)
			ctx_err(c, c->key_line[K_IMAP_NAME],
				"name: `%s` is not a domain name: %s",
				c->raw[K_IMAP_NAME], why);
		else if (p->zone != NULL && !dname_in_zone(nm, p->zone))
			ctx_err(c, c->key_line[K_IMAP_NAME],
				"name: `%s` is not inside the zone `%s`: "
				"cutover changes names of [dns] zone only",
				nm, p->zone);
		else if ((p->imap_name = strdup(nm)) == NULL)
			c->oom = 1;
	}
	conv_addrs(c, K_IMAP_OLD, &p->imap_old);
	conv_addrs(c, K_IMAP_NEW, &p->imap_new);
	conv_addrs(c, K_IMAP_PARKING, &p->imap_parking);
	if (p->imap_old.n > 0 && p->imap_new.n > 0 &&
	    addrs_same_set(&p->imap_old, &p->imap_new))
		ctx_err(c, c->key_line[K_IMAP_NEW],
			"new: the same addresses as old: nothing would change");
	if (!scenario_ok) {
		/* the bad scenario is reported; do not guess what it needs */
	} else if (p->scenario == PLAN_SCENARIO_LUCKY) {
		if (c->section_line[S_IMAP] == 0 && !c->lines_rejected)
			ctx_err(c, c->key_line[K_SCENARIO],
				"scenario = lucky needs an [imap] section "
				"with name, old and new");
		else if (c->section_line[S_IMAP] != 0) {
			static const char lucky[] = " (scenario = lucky)";
			require(c, K_IMAP_NAME, lucky);
			require(c, K_IMAP_OLD, lucky);
			require(c, K_IMAP_NEW, lucky);
		}
	} else if (c->section_line[S_IMAP] != 0) {
		ctx_err(c, c->section_line[S_IMAP],
			"[imap] is used only with scenario = lucky: set "
			"scenario = lucky in [migration] or remove [imap]");
	}

	/* [sync] */
	require(c, K_ACCOUNTS, "");
	conv_path(c, K_ACCOUNTS, p->dir, &p->accounts);
	if (c->raw[K_JOBS] != NULL) {
		if (cut_parse_u64(c->raw[K_JOBS], PLAN_JOBS_MAX, &u) < 0 ||
		    u == 0)
			ctx_err(c, c->key_line[K_JOBS],
				"jobs: `%s` is not a number from 1 to 64",
				c->raw[K_JOBS]);
		else
			p->jobs = (unsigned)u;
	}
	if (conv_enum(c, K_TLS1, tls_words, "imaps, starttls, plain", &v) ==
		    0 &&
	    c->raw[K_TLS1] != NULL)
		p->tls1 = (plan_tls)v;
	if (conv_enum(c, K_TLS2, tls_words, "imaps, starttls, plain", &v) ==
		    0 &&
	    c->raw[K_TLS2] != NULL)
		p->tls2 = (plan_tls)v;
	conv_path(c, K_CA_FILE, p->dir, &p->ca_file);
	conv_duration(c, K_MAXAGE, &p->maxage, &p->has_maxage);
	if (conv_enum(c, K_ON_FAILURE, on_failure_words, "stop, continue",
		      &v) == 0 &&
	    c->raw[K_ON_FAILURE] != NULL)
		p->on_failure = (plan_on_failure)v;

	/* [hooks] */
	if (c->raw[K_CUT_ACCESS] != NULL &&
	    (p->cut_access = strdup(c->raw[K_CUT_ACCESS])) == NULL)
		c->oom = 1;
	if (c->raw[K_RESTORE_ACCESS] != NULL &&
	    (p->restore_access = strdup(c->raw[K_RESTORE_ACCESS])) == NULL)
		c->oom = 1;
	if (c->raw[K_NOTIFY] != NULL) {
		const char *u8 = c->raw[K_NOTIFY], *host;
		if (strncmp(u8, "https://", 8) == 0)
			host = u8 + 8;
		else if (strncmp(u8, "http://", 7) == 0)
			host = u8 + 7;
		else
			host = NULL;
		if (host == NULL || *host == '\0' || *host == '/' ||
		    strpbrk(u8, " \t") != NULL)
			ctx_err(c, c->key_line[K_NOTIFY],
				"notify: `%s` is not an http:// or https:// "
				"URL",
				u8);
		else if ((p->notify = strdup(u8)) == NULL)
			c->oom = 1;
	}
	if (p->cut_access != NULL && p->restore_access == NULL)
		ctx_err(c, c->key_line[K_CUT_ACCESS],
			"cut_access is set but restore_access is not: a "
			"rollback could not give users their access back");
}

/* File-system checks that plan_parse() leaves out (plan_load() only). */
static void check_files(plan_ctx *c, const plan *p)
{
	cut_status st;

	if (p->tsig_key != NULL) {
		tsig_key *key = NULL;

		/* Parsed here too, so that a damaged key file is a plan error
		 * (exit 2, FILE:LINE) before any server is contacted. */
		if (cut_secret_file_check(p->tsig_key, &st) < 0 ||
		    tsig_key_load(p->tsig_key, &key, &st) < 0)
			ctx_err(c, c->key_line[K_TSIG_KEY], "tsig_key: %s", st.msg);
		tsig_key_free(&key);
	}
	if (p->accounts != NULL &&
	    cut_secret_file_check(p->accounts, &st) < 0)
		ctx_err(c, c->key_line[K_ACCOUNTS], "accounts: %s", st.msg);
	if (p->ca_file != NULL && access(p->ca_file, R_OK) < 0)
		ctx_err(c, c->key_line[K_CA_FILE], "ca_file: %s: cannot read: %s",
			p->ca_file, strerror(errno));
}

static plan *plan_new(const char *path, const char *dir)
{
	plan *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->path = strdup(path);
	p->dir = strdup(dir != NULL ? dir : "");
	if (p->path == NULL || p->dir == NULL) {
		plan_free(&p);
		return NULL;
	}
	p->scenario = PLAN_SCENARIO_CLASSICAL;
	p->margin = 60;
	p->port = 53;
	p->low_ttl = 300;
	p->mode = PLAN_DNS_RFC2136;
	p->jobs = 4;
	p->tls1 = PLAN_TLS_IMAPS;
	p->tls2 = PLAN_TLS_IMAPS;
	p->on_failure = PLAN_ON_FAILURE_STOP;
	return p;
}

static int plan_parse_full(const char *path, const char *dir, const void *data,
			   size_t len, int with_files, plan **plan_r,
			   cut_buf *errors)
{
	plan_ctx c;
	plan *p = NULL;
	int rc, ret = -1;

	memset(&c, 0, sizeof(c));
	*plan_r = NULL;
	c.path = path;
	c.data = data;
	c.len = len;
	c.section = S_NONE;
	p = plan_new(path, dir);
	if (p == NULL) {
		c.oom = 1;
		goto done;
	}
	rc = ini_parse_stream(plan_reader, &c, plan_handler, &c);
	if (rc > 0)
		ctx_err(&c, (unsigned)rc, "syntax error"); /* not expected */
	else if (rc < 0)
		c.oom = 1;
	if (c.overflow || c.oom)
		goto done;
	validate(&c, p);
	/* Files are checked once the text is right: until then the paths
	 * themselves may be what is wrong. */
	if (with_files && c.n_errs == 0)
		check_files(&c, p);
	if (c.n_errs == 0 && !c.overflow && !c.oom) {
		*plan_r = p;
		p = NULL;
		ret = 0;
	}
done:
	if (ret < 0)
		ctx_flush_errors(&c, errors);
	ctx_deinit(&c);
	plan_free(&p);
	return ret;
}

int plan_parse(const char *path, const char *dir, const void *data, size_t len,
	       plan **plan_r, cut_buf *errors)
{
	return plan_parse_full(path, dir, data, len, 0, plan_r, errors);
}

int plan_load(const char *path, plan **plan_r, cut_buf *errors)
{
	char *data = NULL, *copy = NULL, *dir = NULL, *slash;
	const char *why = NULL;
	size_t len = 0;
	int ret = -1;

	*plan_r = NULL;
	if (plan_read_file(path, PLAN_FILE_MAX, &data, &len, &why) < 0) {
		cut_buf_printf(errors, "%s:0: cannot read the plan: %s\n", path,
			       why);
		goto done;
	}
	/* The plan's directory, absolute: the state directory is. */
	copy = strdup(path);
	if (copy == NULL)
		goto oom;
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	dir = realpath(slash != NULL ? copy : ".", NULL);
	if (dir == NULL) {
		cut_buf_printf(errors, "%s:0: cannot resolve its directory: %s\n",
			       path, strerror(errno));
		goto done;
	}
	ret = plan_parse_full(path, dir, data, len, 1, plan_r, errors);
	goto done;
oom:
	cut_buf_printf(errors, "%s:0: out of memory\n", path);
done:
	free(data);
	free(copy);
	free(dir);
	return ret;
}

static void addrs_free(plan_addrs *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->addr[i]);
	free(a->addr);
	a->addr = NULL;
	a->n = 0;
}

void plan_free(plan **pp)
{
	plan *p;

	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	free(p->path);
	free(p->dir);
	free(p->state_dir);
	free(p->zone);
	free(p->tsig_key);
	free(p->nameservers);
	free(p->resolvers);
	free(p->mx_name);
	free(p->mx_old);
	free(p->mx_new);
	free(p->imap_name);
	addrs_free(&p->imap_old);
	addrs_free(&p->imap_new);
	addrs_free(&p->imap_parking);
	free(p->accounts);
	free(p->ca_file);
	free(p->cut_access);
	free(p->restore_access);
	free(p->notify);
	free(p);
	*pp = NULL;
}

uint16_t plan_tls_default_port(plan_tls tls)
{
	return tls == PLAN_TLS_IMAPS ? 993 : 143;
}

const char *plan_tls_name(plan_tls tls)
{
	if ((unsigned)tls < sizeof(tls_words) / sizeof(tls_words[0]) - 1)
		return tls_words[tls];
	return "?";
}

int plan_tls_parse(const char *s, plan_tls *tls_r)
{
	for (int i = 0; tls_words[i] != NULL; i++)
		if (strcmp(s, tls_words[i]) == 0) {
			*tls_r = (plan_tls)i;
			return 0;
		}
	return -1;
}

void plan_mx_format(const plan_mx *mx, size_t n, char *buf, size_t len)
{
	size_t used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%u %s",
				 i > 0 ? ", " : "", mx[i].pref, mx[i].host);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* ---- text-file helpers ---- */

int plan_read_file(const char *path, size_t max, char **data_r, size_t *len_r,
		   const char **why_r)
{
	FILE *f = NULL;
	char *data = NULL;
	size_t len = 0, cap = 0;
	struct stat sb;
	int ret = -1;

	*data_r = NULL;
	*len_r = 0;
	f = fopen(path, "rb");
	if (f == NULL) {
		*why_r = strerror(errno);
		goto done;
	}
	if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
		*why_r = "it is a directory";
		goto done;
	}
	for (;;) {
		size_t got;
		if (len + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nd = malloc(ncap);
			if (nd == NULL) {
				*why_r = "out of memory";
				goto done;
			}
			if (data != NULL) {
				memcpy(nd, data, len);
				/* the old copy may hold passwords */
				explicit_bzero(data, cap);
				free(data);
			}
			data = nd;
			cap = ncap;
		}
		got = fread(data + len, 1, cap - len - 1, f);
		len += got;
		if (len > max) {
			*why_r = "the file is too large";
			goto done;
		}
		if (got == 0) {
			if (ferror(f)) {
				*why_r = strerror(errno);
				goto done;
			}
			break;
		}
	}
	if (data == NULL) {
		data = malloc(1);
		if (data == NULL) {
			*why_r = "out of memory";
			goto done;
		}
		cap = 1;
	}
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	data = NULL;
	ret = 0;
done:
	if (data != NULL) {
		explicit_bzero(data, cap);
		free(data);
	}
	if (f != NULL)
		fclose(f);
	return ret;
}

const char *plan_line_problem(const char *p, size_t n, size_t max)
{
	if (memchr(p, '\0', n) != NULL)
		return "NUL byte: this is not a text file";
	if (!cut_utf8_valid(p, n))
		return "invalid UTF-8";
	if (n > max)
		return "line too long";
	/* Escape sequences would be echoed into messages and drive the
	 * terminal; TAB and the CR of a CRLF line end are fine. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			return "control character (such as ESC): this is not "
			       "plain text";
	}
	return NULL;
}
