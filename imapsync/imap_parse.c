/*
 * imap_parse.c: pure IMAP response parser (see imap_parse.h).
 *
 * Stage 1 (framing) is a byte state machine: it appends lines to `text`
 * and, when a line ends with a literal marker, either copies the literal
 * into `text` (small) or hands it out as LITERAL_* events (large).  Stage 2
 * parses the complete `text` with a recursive-descent parser into items
 * allocated from a chunked arena (no pointer ever moves during a parse).
 */
#include "imapsync/imap_parse.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/str.h"

#define PARSE_DEFAULT_LINE_MAX (1024u * 1024u)
#define PARSE_DEFAULT_LITERAL_BUFFER_MAX (64u * 1024u)
#define PARSE_DEFAULT_STREAM_MAX (4ull * 1024u * 1024u * 1024u)
#define PARSE_ITEMS_PER_BLOCK 256
#define PARSE_MAX_DEPTH 64

typedef enum parse_state {
	PS_LINE = 0,      /* collecting a line up to LF */
	PS_LITERAL_BUF,   /* copying a small literal into text */
	PS_LITERAL_STREAM, /* handing a large literal out as events */
	PS_LITERAL_END,   /* LITERAL_END event still to be returned */
	PS_FAILED,
} parse_state;

typedef struct parse_literal {
	size_t pos;    /* offset in text just after the marker's LF */
	uint64_t size;
	int streamed;
} parse_literal;

typedef struct item_block {
	struct item_block *next;
	size_t used;
	imap_item items[PARSE_ITEMS_PER_BLOCK];
} item_block;

struct imap_parser {
	imap_parse_limits lim;
	parse_state state;
	cut_status err; /* sticky error */
	cut_buf text;   /* current response */
	size_t line_start;
	uint64_t lit_left;
	parse_literal *lits;
	size_t nlits, lits_cap;
	int resp_done; /* text holds a finished response: reset on next call */
	/* stage 2 */
	item_block *blocks, *cur_block;
	char *strs;
	size_t strs_cap, strs_len;
	imap_resp resp;
};

/* ---- arena ---- */

static imap_item *parse_item_new(imap_parser *p)
{
	item_block *b = p->cur_block;
	imap_item *it;

	if (b != NULL && b->used == PARSE_ITEMS_PER_BLOCK) {
		if (b->next == NULL) {
			b->next = calloc(1, sizeof(*b->next));
			if (b->next == NULL)
				return NULL;
		}
		b = b->next;
		b->used = 0;
		p->cur_block = b;
	}
	if (b == NULL) {
		if (p->blocks == NULL) {
			p->blocks = calloc(1, sizeof(*p->blocks));
			if (p->blocks == NULL)
				return NULL;
		}
		b = p->cur_block = p->blocks;
		b->used = 0;
	}
	it = &b->items[b->used++];
	memset(it, 0, sizeof(*it));
	it->str = "";
	return it;
}

/* Copies n bytes into the string arena (pre-sized by the caller). */
static char *parse_str(imap_parser *p, const char *s, size_t n)
{
	char *d = p->strs + p->strs_len;

	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	p->strs_len += n + 1;
	return d;
}

/* ---- stage 2: parse a complete response from memory ---- */

typedef struct cursor {
	imap_parser *p;
	const char *s;
	size_t pos, len;
	size_t lit; /* next literal table index */
	const char *why;
} cursor;

static int cur_eol(const cursor *c)
{
	return c->pos >= c->len || c->s[c->pos] == '\r' || c->s[c->pos] == '\n';
}

static int cur_peek(const cursor *c)
{
	return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

static void cur_skip_sp(cursor *c)
{
	while (c->pos < c->len && c->s[c->pos] == ' ')
		c->pos++;
}

/* RFC 3501 9: atom-specials are ( ) { SP CTL list-wildcards quoted-specials
 * resp-specials; we are lenient with % * ] { inside atoms (flags like \*,
 * mailbox patterns, "BODY[...]" sections) and stop at ] only inside a
 * response code. */
static int atom_stop(int ch, int in_code)
{
	return ch < 0 || ch == ' ' || ch == '(' || ch == ')' || ch == '"' ||
	       ch == '\r' || ch == '\n' || (in_code && ch == ']');
}

static int parse_items(cursor *c, imap_item **first_r, int in_list,
		       int in_code, int depth);

static int parse_literal_item(cursor *c, imap_item *it)
{
	const char *s = c->s;
	uint64_t n = 0;
	int digits = 0;
	parse_literal *l;

	if (s[c->pos] == '~') {
		it->flags |= IMAP_ITEM_F_LITERAL8;
		c->pos++;
	}
	if (cur_peek(c) != '{')
		return c->why = "bad literal", -1;
	c->pos++;
	while (c->pos < c->len && isdigit((unsigned char)s[c->pos])) {
		if (n > UINT64_MAX / 10 - 10)
			return c->why = "literal size overflow", -1;
		n = n * 10 + (uint64_t)(s[c->pos] - '0');
		c->pos++;
		digits++;
	}
	if (digits == 0)
		return c->why = "bad literal size", -1;
	if (cur_peek(c) == '+')
		c->pos++;
	if (cur_peek(c) != '}')
		return c->why = "bad literal marker", -1;
	c->pos++;
	if (cur_peek(c) == '\r')
		c->pos++;
	if (cur_peek(c) != '\n')
		return c->why = "literal marker not at end of line", -1;
	c->pos++;
	if (c->lit >= c->p->nlits || c->p->lits[c->lit].pos != c->pos ||
	    c->p->lits[c->lit].size != n)
		return c->why = "literal table mismatch", -1;
	l = &c->p->lits[c->lit++];
	it->flags |= IMAP_ITEM_F_LITERAL;
	if (l->streamed) {
		it->type = IMAP_ITEM_STREAMED;
		it->size = n;
		return 0;
	}
	if (n > c->len - c->pos)
		return c->why = "truncated literal", -1;
	it->type = IMAP_ITEM_STRING;
	it->str = parse_str(c->p, s + c->pos, (size_t)n);
	it->len = (size_t)n;
	c->pos += (size_t)n;
	return 0;
}

static int parse_quoted(cursor *c, imap_item *it)
{
	char *d = c->p->strs + c->p->strs_len;
	size_t n = 0;

	c->pos++; /* opening quote */
	for (;;) {
		int ch = cur_peek(c);

		if (ch < 0 || ch == '\r' || ch == '\n')
			return c->why = "unterminated quoted string", -1;
		c->pos++;
		if (ch == '"')
			break;
		if (ch == '\\') {
			/* RFC 3501 9: quoted-specials are escaped; be lenient
			 * with other escaped characters. */
			ch = cur_peek(c);
			if (ch < 0 || ch == '\r' || ch == '\n')
				return c->why = "unterminated quoted string", -1;
			c->pos++;
		}
		d[n++] = (char)ch;
	}
	d[n] = '\0';
	c->p->strs_len += n + 1;
	it->type = IMAP_ITEM_STRING;
	it->str = d;
	it->len = n;
	return 0;
}

static int parse_atom(cursor *c, imap_item *it, int in_code)
{
	size_t start = c->pos;
	int bracket = 0;

	for (;;) {
		int ch = cur_peek(c);

		if (bracket > 0) {
			if (ch < 0 || ch == '\r' || ch == '\n')
				return c->why = "unterminated [ in atom", -1;
			if (ch == '[')
				bracket++;
			else if (ch == ']')
				bracket--;
			c->pos++;
			continue;
		}
		if (atom_stop(ch, in_code))
			break;
		if (ch == '[')
			bracket++;
		c->pos++;
	}
	if (c->pos == start)
		return c->why = "unexpected character", -1;
	it->str = parse_str(c->p, c->s + start, c->pos - start);
	it->len = c->pos - start;
	if (it->len == 3 && strcasecmp(it->str, "NIL") == 0)
		it->type = IMAP_ITEM_NIL;
	else
		it->type = IMAP_ITEM_ATOM;
	return 0;
}

/* Parses space-separated items until end of line, ')' (in_list) or ']'
 * (in_code). */
static int parse_items(cursor *c, imap_item **first_r, int in_list,
		       int in_code, int depth)
{
	imap_item *first = NULL, *last = NULL, *it;

	if (depth > PARSE_MAX_DEPTH)
		return c->why = "lists nested too deeply", -1;
	for (;;) {
		int ch;

		cur_skip_sp(c);
		ch = cur_peek(c);
		if (in_list && ch == ')') {
			c->pos++;
			break;
		}
		if (in_code && ch == ']')
			break;
		if (cur_eol(c)) {
			if (in_list)
				return c->why = "unterminated list", -1;
			break;
		}
		it = parse_item_new(c->p);
		if (it == NULL)
			return c->why = "out of memory", -1;
		if (ch == '(') {
			imap_item *child = NULL;

			c->pos++;
			if (parse_items(c, &child, 1, 0, depth + 1) < 0)
				return -1;
			it->type = IMAP_ITEM_LIST;
			it->child = child;
		} else if (ch == '"') {
			if (parse_quoted(c, it) < 0)
				return -1;
		} else if (ch == '{' ||
			   (ch == '~' && c->pos + 1 < c->len &&
			    c->s[c->pos + 1] == '{')) {
			if (parse_literal_item(c, it) < 0)
				return -1;
		} else if (ch == ')') {
			return c->why = "unbalanced )", -1;
		} else {
			if (parse_atom(c, it, in_code) < 0)
				return -1;
		}
		if (last != NULL)
			last->next = it;
		else
			first = it;
		last = it;
	}
	*first_r = first;
	return 0;
}

static const struct {
	const char *name;
	imap_code_kind kind;
} parse_codes[] = {
	{"ALERT", IMAP_CODE_ALERT},
	{"APPENDUID", IMAP_CODE_APPENDUID},
	{"COPYUID", IMAP_CODE_COPYUID},
	{"UIDVALIDITY", IMAP_CODE_UIDVALIDITY},
	{"UIDNEXT", IMAP_CODE_UIDNEXT},
	{"UNSEEN", IMAP_CODE_UNSEEN},
	{"HIGHESTMODSEQ", IMAP_CODE_HIGHESTMODSEQ},
	{"NOMODSEQ", IMAP_CODE_NOMODSEQ},
	{"PERMANENTFLAGS", IMAP_CODE_PERMANENTFLAGS},
	{"CAPABILITY", IMAP_CODE_CAPABILITY},
	{"READ-WRITE", IMAP_CODE_READ_WRITE},
	{"READ-ONLY", IMAP_CODE_READ_ONLY},
	{"TRYCREATE", IMAP_CODE_TRYCREATE},
	{"UNAVAILABLE", IMAP_CODE_UNAVAILABLE},
	{"AUTHENTICATIONFAILED", IMAP_CODE_AUTHENTICATIONFAILED},
	{"AUTHORIZATIONFAILED", IMAP_CODE_AUTHORIZATIONFAILED},
	{"EXPIRED", IMAP_CODE_EXPIRED},
	{"PRIVACYREQUIRED", IMAP_CODE_PRIVACYREQUIRED},
	{"CONTACTADMIN", IMAP_CODE_CONTACTADMIN},
	{"NOPERM", IMAP_CODE_NOPERM},
	{"INUSE", IMAP_CODE_INUSE},
	{"EXPUNGEISSUED", IMAP_CODE_EXPUNGEISSUED},
	{"CORRUPTION", IMAP_CODE_CORRUPTION},
	{"SERVERBUG", IMAP_CODE_SERVERBUG},
	{"CLIENTBUG", IMAP_CODE_CLIENTBUG},
	{"CANNOT", IMAP_CODE_CANNOT},
	{"LIMIT", IMAP_CODE_LIMIT},
	{"OVERQUOTA", IMAP_CODE_OVERQUOTA},
	{"ALREADYEXISTS", IMAP_CODE_ALREADYEXISTS},
	{"NONEXISTENT", IMAP_CODE_NONEXISTENT},
	{"CLOSED", IMAP_CODE_CLOSED},
	{"BADCHARSET", IMAP_CODE_BADCHARSET},
	{"PARSE", IMAP_CODE_PARSE},
	{"UIDNOTSTICKY", IMAP_CODE_UIDNOTSTICKY},
	{"MODIFIED", IMAP_CODE_MODIFIED},
};

/* RFC 3501 7.1 resp-text-code, after the '['.  On a malformed code the
 * cursor is restored and the caller treats everything as text. */
static int parse_code(cursor *c, imap_code *code)
{
	size_t i;
	imap_item name, *args = NULL;

	memset(&name, 0, sizeof(name));
	if (parse_atom(c, &name, 1) < 0)
		return -1;
	if (cur_peek(c) == ' ') {
		if (parse_items(c, &args, 0, 1, 0) < 0)
			return -1;
	}
	if (cur_peek(c) != ']')
		return c->why = "unterminated response code", -1;
	c->pos++;
	code->name = name.str;
	code->args = args;
	code->kind = IMAP_CODE_OTHER;
	for (i = 0; i < sizeof(parse_codes) / sizeof(parse_codes[0]); i++) {
		if (strcasecmp(parse_codes[i].name, name.str) == 0) {
			code->kind = parse_codes[i].kind;
			break;
		}
	}
	switch (code->kind) {
	case IMAP_CODE_UIDVALIDITY:
	case IMAP_CODE_UIDNEXT:
	case IMAP_CODE_UNSEEN:
	case IMAP_CODE_HIGHESTMODSEQ:
		if (imap_item_u64(args, UINT64_MAX, &code->num1) < 0)
			code->kind = IMAP_CODE_OTHER;
		break;
	case IMAP_CODE_APPENDUID:
		/* RFC 4315 3: APPENDUID uidvalidity uid-set (MULTIAPPEND);
		 * num2 is the first uid. */
		if (imap_item_u64(args, UINT32_MAX, &code->num1) < 0 ||
		    args->next == NULL || args->next->type != IMAP_ITEM_ATOM) {
			code->kind = IMAP_CODE_OTHER;
			break;
		}
		{
			char tmp[24];
			size_t k = 0;
			const char *u = args->next->str;

			while (k < sizeof(tmp) - 1 && isdigit((unsigned char)u[k])) {
				tmp[k] = u[k];
				k++;
			}
			tmp[k] = '\0';
			if (cut_parse_u64(tmp, UINT32_MAX, &code->num2) < 0)
				code->kind = IMAP_CODE_OTHER;
		}
		break;
	case IMAP_CODE_COPYUID:
		if (imap_item_u64(args, UINT32_MAX, &code->num1) < 0)
			code->kind = IMAP_CODE_OTHER;
		break;
	default:
		break;
	}
	return 0;
}

static void parse_upper(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

static imap_status parse_status_word(const char *s)
{
	if (strcasecmp(s, "OK") == 0)
		return IMAP_ST_OK;
	if (strcasecmp(s, "NO") == 0)
		return IMAP_ST_NO;
	if (strcasecmp(s, "BAD") == 0)
		return IMAP_ST_BAD;
	if (strcasecmp(s, "PREAUTH") == 0)
		return IMAP_ST_PREAUTH;
	if (strcasecmp(s, "BYE") == 0)
		return IMAP_ST_BYE;
	return IMAP_ST_NONE;
}

/* RFC 3501 7.1 resp-text: ["[" resp-text-code "]" SP] text */
static int parse_resp_text(cursor *c, imap_resp *r)
{
	size_t end;

	cur_skip_sp(c);
	if (cur_peek(c) == '[') {
		size_t save = c->pos, save_strs = c->p->strs_len;

		c->pos++;
		if (parse_code(c, &r->code) < 0) {
			/* not a well-formed code: keep it as text */
			c->pos = save;
			c->p->strs_len = save_strs;
			memset(&r->code, 0, sizeof(r->code));
			r->code.name = "";
		}
		cur_skip_sp(c);
	}
	end = c->pos;
	while (end < c->len && c->s[end] != '\r' && c->s[end] != '\n')
		end++;
	r->text = parse_str(c->p, c->s + c->pos, end - c->pos);
	c->pos = end;
	return 0;
}

/* Builds r->raw: the text with literal contents replaced by nothing (the
 * "{n}" markers stay), without the final CRLF. */
static void parse_build_raw(imap_parser *p, imap_resp *r)
{
	const char *s = p->text.data;
	char *d = p->strs + p->strs_len;
	size_t pos = 0, n = 0, i;

	for (i = 0; i <= p->nlits; i++) {
		size_t upto = i < p->nlits ? p->lits[i].pos : p->text.len;

		while (upto > pos && i < p->nlits &&
		       (s[upto - 1] == '\n' || s[upto - 1] == '\r'))
			upto--;
		memcpy(d + n, s + pos, upto - pos);
		n += upto - pos;
		if (i < p->nlits) {
			pos = p->lits[i].pos +
			      (p->lits[i].streamed ? 0 : (size_t)p->lits[i].size);
		}
	}
	while (n > 0 && (d[n - 1] == '\n' || d[n - 1] == '\r'))
		n--;
	d[n] = '\0';
	p->strs_len += n + 1;
	r->raw = d;
	r->raw_len = n;
}

static int parse_response(imap_parser *p, cut_status *st)
{
	cursor c;
	imap_resp *r = &p->resp;
	imap_item word;
	size_t need = 3 * p->text.len + 64;

	if (need > p->strs_cap) {
		char *n = realloc(p->strs, need);

		if (n == NULL)
			return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL,
					      "out of memory parsing a response");
		p->strs = n;
		p->strs_cap = need;
	}
	p->strs_len = 0;
	p->cur_block = NULL;
	memset(r, 0, sizeof(*r));
	r->tag = r->name = r->text = "";
	r->code.name = "";
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.s = p->text.data;
	c.len = p->text.len;
	parse_build_raw(p, r);

	if (cur_peek(&c) == '+') {
		/* RFC 3501 7.5 continue-req; some servers omit the SP */
		c.pos++;
		r->kind = IMAP_RESP_CONTINUE;
		if (parse_resp_text(&c, r) < 0)
			goto bad;
		goto end;
	}
	memset(&word, 0, sizeof(word));
	if (cur_peek(&c) == '*') {
		c.pos++;
		r->kind = IMAP_RESP_UNTAGGED;
		if (cur_peek(&c) != ' ') {
			c.why = "missing space after *";
			goto bad;
		}
	} else {
		r->kind = IMAP_RESP_TAGGED;
		if (parse_atom(&c, &word, 0) < 0 || word.type != IMAP_ITEM_ATOM)
			goto bad;
		r->tag = word.str;
		if (cur_peek(&c) != ' ') {
			c.why = "missing space after tag";
			goto bad;
		}
	}
	cur_skip_sp(&c);
	memset(&word, 0, sizeof(word));
	if (parse_atom(&c, &word, 0) < 0)
		goto bad;
	if (r->kind == IMAP_RESP_UNTAGGED && isdigit((unsigned char)word.str[0])) {
		/* RFC 3501 7.3/7.4: "* n EXISTS", "* n FETCH (...)" */
		if (cut_parse_u64(word.str, UINT64_MAX, &r->number) < 0) {
			c.why = "bad message number";
			goto bad;
		}
		r->has_number = 1;
		cur_skip_sp(&c);
		memset(&word, 0, sizeof(word));
		if (parse_atom(&c, &word, 0) < 0)
			goto bad;
	}
	parse_upper((char *)word.str);
	r->name = word.str;
	r->status = parse_status_word(word.str);
	if (r->kind == IMAP_RESP_TAGGED &&
	    (r->status == IMAP_ST_NONE || r->status == IMAP_ST_PREAUTH)) {
		c.why = "tagged response without OK/NO/BAD";
		goto bad;
	}
	if (r->status != IMAP_ST_NONE && !r->has_number) {
		if (parse_resp_text(&c, r) < 0)
			goto bad;
	} else {
		imap_item *args = NULL;

		r->status = IMAP_ST_NONE;
		if (parse_items(&c, &args, 0, 0, 0) < 0)
			goto bad;
		r->args = args;
	}
end:
	if (cur_peek(&c) == '\r')
		c.pos++;
	if (cur_peek(&c) == '\n')
		c.pos++;
	if (c.pos != c.len) {
		c.why = "unexpected data at end of response";
		goto bad;
	}
	return 0;
bad:
	return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
			      "unparsable response from the server (%s at "
			      "offset %zu): %.80s",
			      c.why ? c.why : "syntax error", c.pos, r->raw);
}

/* ---- stage 1: framing ---- */

int imap_parser_new(const imap_parse_limits *limits, imap_parser **p_r,
		    cut_status *st)
{
	imap_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL,
				      "out of memory");
	if (limits != NULL)
		p->lim = *limits;
	if (p->lim.line_max == 0)
		p->lim.line_max = PARSE_DEFAULT_LINE_MAX;
	if (p->lim.literal_buffer_max == 0)
		p->lim.literal_buffer_max = PARSE_DEFAULT_LITERAL_BUFFER_MAX;
	if (p->lim.literal_stream_max == 0)
		p->lim.literal_stream_max = PARSE_DEFAULT_STREAM_MAX;
	*p_r = p;
	return 0;
}

void imap_parser_free(imap_parser **pp)
{
	imap_parser *p;
	item_block *b, *n;

	if (pp == NULL || *pp == NULL)
		return;
	p = *pp;
	for (b = p->blocks; b != NULL; b = n) {
		n = b->next;
		free(b);
	}
	cut_buf_free(&p->text);
	free(p->lits);
	free(p->strs);
	free(p);
	*pp = NULL;
}

static void parse_start_response(imap_parser *p)
{
	cut_buf_reset(&p->text);
	p->line_start = 0;
	p->nlits = 0;
	p->resp_done = 0;
	p->state = PS_LINE;
}

void imap_parser_reset(imap_parser *p)
{
	parse_start_response(p);
	cut_status_clear(&p->err);
}

static int parse_fail(imap_parser *p, cut_status *st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int parse_fail(imap_parser *p, cut_status *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cut_status_vset(&p->err, CUT_TEMP, CUT_SCOPE_SERVER, fmt, ap);
	va_end(ap);
	p->state = PS_FAILED;
	cut_status_copy(st, &p->err);
	return -1;
}

static int parse_add_text(imap_parser *p, const void *d, size_t n,
			  cut_status *st)
{
	if (n > p->lim.line_max - p->text.len || p->text.len > p->lim.line_max)
		return parse_fail(p, st,
				  "response from the server longer than %zu "
				  "bytes (line or literals)",
				  p->lim.line_max);
	if (cut_buf_append(&p->text, d, n) < 0)
		return parse_fail(p, st, "out of memory reading a response");
	return 0;
}

/* Does the line text[line_start..len) (ending in LF) end with a literal
 * marker "{n}", "{n+}" or "~{n}" (RFC 3501 4.3, RFC 7888, RFC 3516)?
 * Returns 1 with the size and the marker's offset. */
static int parse_line_literal(const imap_parser *p, uint64_t *size_r,
			      size_t *marker_r)
{
	const char *s = p->text.data;
	size_t e = p->text.len, b;
	uint64_t n = 0, mul = 1;

	if (e > p->line_start && s[e - 1] == '\n')
		e--;
	if (e > p->line_start && s[e - 1] == '\r')
		e--;
	if (e <= p->line_start || s[e - 1] != '}')
		return 0;
	e--;
	if (e > p->line_start && s[e - 1] == '+')
		e--;
	b = e;
	while (b > p->line_start && isdigit((unsigned char)s[b - 1])) {
		if (e - b >= 19)
			return 0;
		n += (uint64_t)(s[b - 1] - '0') * mul;
		mul *= 10;
		b--;
	}
	if (b == e || b == p->line_start || s[b - 1] != '{')
		return 0;
	b--;
	if (b > p->line_start && s[b - 1] == '~')
		b--;
	*size_r = n;
	*marker_r = b;
	return 1;
}

static int parse_add_lit(imap_parser *p, uint64_t size, int streamed)
{
	if (p->nlits == p->lits_cap) {
		size_t cap = p->lits_cap ? p->lits_cap * 2 : 8;
		parse_literal *n = realloc(p->lits, cap * sizeof(*n));

		if (n == NULL)
			return -1;
		p->lits = n;
		p->lits_cap = cap;
	}
	p->lits[p->nlits].pos = p->text.len;
	p->lits[p->nlits].size = size;
	p->lits[p->nlits].streamed = streamed;
	p->nlits++;
	return 0;
}

int imap_parse_next(imap_parser *p, const void *in, size_t len,
		    size_t *used_r, imap_event *ev_r, cut_status *st)
{
	const char *data = in;
	size_t used = 0;

	memset(ev_r, 0, sizeof(*ev_r));
	*used_r = 0;
	if (p->state == PS_FAILED) {
		cut_status_copy(st, &p->err);
		return -1;
	}
	if (p->resp_done)
		parse_start_response(p);
	for (;;) {
		switch (p->state) {
		case PS_LITERAL_END:
			p->state = PS_LINE;
			p->line_start = p->text.len;
			ev_r->kind = IMAP_EV_LITERAL_END;
			*used_r = used;
			return 0;
		case PS_LITERAL_STREAM: {
			size_t n = len - used;

			if (n == 0)
				goto need_more;
			if (n > p->lit_left)
				n = (size_t)p->lit_left;
			p->lit_left -= n;
			if (p->lit_left == 0)
				p->state = PS_LITERAL_END;
			ev_r->kind = IMAP_EV_LITERAL_DATA;
			ev_r->data = data + used;
			ev_r->len = n;
			*used_r = used + n;
			return 0;
		}
		case PS_LITERAL_BUF: {
			size_t n = len - used;

			if (n == 0)
				goto need_more;
			if (n > p->lit_left)
				n = (size_t)p->lit_left;
			if (parse_add_text(p, data + used, n, st) < 0)
				return -1;
			used += n;
			p->lit_left -= n;
			if (p->lit_left == 0) {
				p->state = PS_LINE;
				p->line_start = p->text.len;
			}
			break;
		}
		case PS_LINE: {
			const char *lf;
			size_t n;
			uint64_t size;
			size_t marker;

			if (used == len)
				goto need_more;
			lf = memchr(data + used, '\n', len - used);
			n = lf ? (size_t)(lf - (data + used)) + 1 : len - used;
			if (parse_add_text(p, data + used, n, st) < 0)
				return -1;
			used += n;
			if (lf == NULL)
				goto need_more;
			if (!parse_line_literal(p, &size, &marker)) {
				/* the response is complete */
				if (parse_response(p, st) < 0) {
					cut_status_copy(&p->err, st);
					p->state = PS_FAILED;
					return -1;
				}
				p->resp_done = 1;
				ev_r->kind = IMAP_EV_RESPONSE;
				ev_r->resp = &p->resp;
				*used_r = used;
				return 0;
			}
			if (size <= p->lim.literal_buffer_max &&
			    size <= p->lim.line_max - p->text.len) {
				if (parse_add_lit(p, size, 0) < 0)
					return parse_fail(p, st, "out of memory");
				p->lit_left = size;
				p->state = size ? PS_LITERAL_BUF : PS_LINE;
				p->line_start = p->text.len;
				break;
			}
			if (size > p->lim.literal_stream_max)
				return parse_fail(
					p, st,
					"literal of %llu bytes from the server "
					"exceeds the limit of %llu bytes",
					(unsigned long long)size,
					(unsigned long long)p->lim.literal_stream_max);
			if (parse_add_lit(p, size, 1) < 0)
				return parse_fail(p, st, "out of memory");
			p->lit_left = size;
			p->state = PS_LITERAL_STREAM;
			ev_r->kind = IMAP_EV_LITERAL_BEGIN;
			ev_r->size = size;
			ev_r->prefix = p->text.data;
			ev_r->prefix_len = marker;
			*used_r = used;
			return 0;
		}
		case PS_FAILED:
			cut_status_copy(st, &p->err);
			return -1;
		}
	}
need_more:
	ev_r->kind = IMAP_EV_NONE;
	*used_r = used;
	return 0;
}

/* ---- helpers ---- */

int imap_parse_fetch_prefix(const char *prefix, size_t len, uint32_t *seq_r,
			    uint32_t *uid_r, char *section, size_t section_size)
{
	size_t i = 0, start;
	uint64_t v = 0;
	char word[64];

	*seq_r = 0;
	*uid_r = 0;
	if (section_size > 0)
		section[0] = '\0';
	if (len < 2 || prefix[0] != '*' || prefix[1] != ' ')
		return -1;
	i = 2;
	while (i < len && isdigit((unsigned char)prefix[i])) {
		v = v * 10 + (uint64_t)(prefix[i] - '0');
		if (v > UINT32_MAX)
			return -1;
		i++;
	}
	if (i == 2 || i + 8 > len || strncasecmp(prefix + i, " FETCH (", 8) != 0)
		return -1;
	*seq_r = (uint32_t)v;
	i += 8;
	/* Walk "NAME value" pairs at depth 1: only atoms and nested lists
	 * (flags) appear before a body literal in practice; quoted strings
	 * are skipped too. */
	while (i < len) {
		while (i < len && prefix[i] == ' ')
			i++;
		start = i;
		{
			int br = 0;

			while (i < len && (br > 0 || (prefix[i] != ' ' &&
						     prefix[i] != '(' &&
						     prefix[i] != ')'))) {
				if (prefix[i] == '[')
					br++;
				else if (prefix[i] == ']')
					br--;
				i++;
			}
		}
		if (i == start)
			return -1;
		if (i - start >= sizeof(word))
			return -1;
		memcpy(word, prefix + start, i - start);
		word[i - start] = '\0';
		if (i >= len) {
			/* the attribute the literal belongs to */
			cut_strlcpy(section, word, section_size);
			return 0;
		}
		while (i < len && prefix[i] == ' ')
			i++;
		if (i >= len) {
			cut_strlcpy(section, word, section_size);
			return 0;
		}
		/* skip the value */
		if (prefix[i] == '(') {
			int depth = 0, q = 0;

			for (; i < len; i++) {
				if (q) {
					if (prefix[i] == '\\')
						i++;
					else if (prefix[i] == '"')
						q = 0;
				} else if (prefix[i] == '"') {
					q = 1;
				} else if (prefix[i] == '(') {
					depth++;
				} else if (prefix[i] == ')' && --depth == 0) {
					i++;
					break;
				}
			}
		} else if (prefix[i] == '"') {
			for (i++; i < len && prefix[i] != '"'; i++)
				if (prefix[i] == '\\')
					i++;
			i++;
		} else {
			size_t vs = i;
			uint64_t u = 0;
			int ok = 1;

			while (i < len && prefix[i] != ' ' && prefix[i] != ')') {
				if (!isdigit((unsigned char)prefix[i]))
					ok = 0;
				else if (u <= UINT32_MAX)
					u = u * 10 + (uint64_t)(prefix[i] - '0');
				i++;
			}
			if (strcasecmp(word, "UID") == 0 && ok && i > vs &&
			    u <= UINT32_MAX)
				*uid_r = (uint32_t)u;
		}
	}
	return 0;
}

const imap_item *imap_item_nth(const imap_item *it, size_t n)
{
	while (it != NULL && n-- > 0)
		it = it->next;
	return it;
}

int imap_item_is(const imap_item *it, const char *s)
{
	return it != NULL &&
	       (it->type == IMAP_ITEM_ATOM || it->type == IMAP_ITEM_STRING) &&
	       strcasecmp(it->str, s) == 0;
}

int imap_item_u64(const imap_item *it, uint64_t max, uint64_t *val_r)
{
	if (it == NULL || it->type != IMAP_ITEM_ATOM)
		return -1;
	return cut_parse_u64(it->str, max, val_r);
}

const imap_item *imap_item_fetch_attr(const imap_item *list, const char *name)
{
	const imap_item *it;

	if (list == NULL || list->type != IMAP_ITEM_LIST)
		return NULL;
	for (it = list->child; it != NULL && it->next != NULL;
	     it = it->next->next) {
		if (it->type == IMAP_ITEM_ATOM && strcasecmp(it->str, name) == 0)
			return it->next;
	}
	return NULL;
}

/* RFC 3501 9: seq-number = nz-number / "*" */
static int seqset_number(const char **p, uint32_t *v_r)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s == '*') {
		*v_r = UINT32_MAX;
		*p = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -1;
		s++;
	}
	*v_r = (uint32_t)v;
	*p = s;
	return 0;
}

int imap_seqset_next(const char **p, uint32_t *lo_r, uint32_t *hi_r)
{
	const char *s = *p;
	uint32_t a, b;

	if (*s == '\0')
		return 0;
	if (seqset_number(&s, &a) < 0)
		return -1;
	b = a;
	if (*s == ':') {
		s++;
		if (seqset_number(&s, &b) < 0)
			return -1;
	}
	if (*s == ',') {
		s++;
		if (*s == '\0')
			return -1;
	} else if (*s != '\0') {
		return -1;
	}
	/* RFC 3501 9: "2:4" and "4:2" are the same range */
	*lo_r = a < b ? a : b;
	*hi_r = a < b ? b : a;
	*p = s;
	return 1;
}

int imap_resp_vanished(const imap_resp *r, int *earlier_r, const char **set_r)
{
	const imap_item *it;

	if (r == NULL || r->kind != IMAP_RESP_UNTAGGED || r->status != IMAP_ST_NONE ||
	    strcmp(r->name, "VANISHED") != 0)
		return -1;
	it = r->args;
	*earlier_r = 0;
	/* RFC 7162 3.2.10: "* VANISHED (EARLIER) 300:310,405" */
	if (it != NULL && it->type == IMAP_ITEM_LIST) {
		if (it->child == NULL || !imap_item_is(it->child, "EARLIER") ||
		    it->child->next != NULL)
			return -1;
		*earlier_r = 1;
		it = it->next;
	}
	if (it == NULL || it->type != IMAP_ITEM_ATOM || it->next != NULL)
		return -1;
	{
		const char *q = it->str;
		uint32_t lo, hi;
		int k, n = 0;

		while ((k = imap_seqset_next(&q, &lo, &hi)) == 1)
			n++;
		if (k < 0 || n == 0)
			return -1;
	}
	*set_r = it->str;
	return 0;
}

const char *imap_status_name(imap_status s)
{
	switch (s) {
	case IMAP_ST_OK:
		return "OK";
	case IMAP_ST_NO:
		return "NO";
	case IMAP_ST_BAD:
		return "BAD";
	case IMAP_ST_PREAUTH:
		return "PREAUTH";
	case IMAP_ST_BYE:
		return "BYE";
	default:
		return "";
	}
}
