/* tsig_key.c: BIND key-file parser (see tsig_key.h). */
#include "dns/tsig_key.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/secret.h"
#include "common/str.h"

#define TSIG_KEY_FILE_MAX (64 * 1024)
#define TSIG_KEY_TOKEN_MAX 1024

static const struct {
	const char *name;
	const char *dname;
} tsig_key_algs[] = {
	[TSIG_KEY_HMAC_MD5] = {"hmac-md5", "hmac-md5.sig-alg.reg.int."},
	[TSIG_KEY_HMAC_SHA1] = {"hmac-sha1", "hmac-sha1."},
	[TSIG_KEY_HMAC_SHA224] = {"hmac-sha224", "hmac-sha224."},
	[TSIG_KEY_HMAC_SHA256] = {"hmac-sha256", "hmac-sha256."},
	[TSIG_KEY_HMAC_SHA384] = {"hmac-sha384", "hmac-sha384."},
	[TSIG_KEY_HMAC_SHA512] = {"hmac-sha512", "hmac-sha512."},
};

int tsig_key_alg_parse(const char *s, tsig_key_alg *alg_r)
{
	size_t i, n = strlen(s);

	if (n > 0 && s[n - 1] == '.')
		n--;
	for (i = 0; i < sizeof(tsig_key_algs) / sizeof(tsig_key_algs[0]); i++) {
		const char *a = tsig_key_algs[i].name;
		const char *d = tsig_key_algs[i].dname;

		if ((strlen(a) == n && strncasecmp(s, a, n) == 0) ||
		    (strlen(d) == n + 1 && strncasecmp(s, d, n) == 0)) {
			*alg_r = (tsig_key_alg)i;
			return 0;
		}
	}
	return -1;
}

const char *tsig_key_alg_dname(tsig_key_alg alg)
{
	return tsig_key_algs[alg].dname;
}

const char *tsig_key_alg_name(tsig_key_alg alg)
{
	return tsig_key_algs[alg].name;
}

/* ---- tokenizer ---- */

typedef enum tok_type {
	TOK_EOF = 0,
	TOK_WORD,   /* bare word */
	TOK_STRING, /* "quoted" */
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_SEMI,
	TOK_ERROR,
} tok_type;

typedef struct lexer {
	const char *p, *end;
	unsigned line;
	const char *file;
	cut_status *st;
	char text[TSIG_KEY_TOKEN_MAX];
	unsigned tok_line;
} lexer;

static int lex_error(lexer *lx, unsigned line, const char *what)
{
	cut_status_set(lx->st, CUT_FINAL, CUT_SCOPE_LOCAL, "%s:%u: %s",
		       lx->file, line, what);
	return TOK_ERROR;
}

/* Skips white space and comments; returns -1 on an unterminated comment. */
static int lex_skip(lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '\n') {
			lx->line++;
			lx->p++;
		} else if (isspace((unsigned char)c)) {
			lx->p++;
		} else if (c == '#' ||
			   (c == '/' && lx->p + 1 < lx->end && lx->p[1] == '/')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (c == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
			unsigned start = lx->line;

			lx->p += 2;
			for (;;) {
				if (lx->p + 1 >= lx->end) {
					lex_error(lx, start, "unterminated /* comment");
					return -1;
				}
				if (lx->p[0] == '*' && lx->p[1] == '/') {
					lx->p += 2;
					break;
				}
				if (*lx->p == '\n')
					lx->line++;
				lx->p++;
			}
		} else {
			break;
		}
	}
	return 0;
}

/* BIND key files are ASCII (names, algorithm names, base64): any other
 * byte means the file is not one (binary, UTF-16, Latin-1), and it must
 * not be echoed into a message where it could drive a terminal. */
static int lex_bad_byte(lexer *lx, char c)
{
	unsigned char u = (unsigned char)c;
	char what[96];

	if (u >= 0x20 && u < 0x7f)
		return 0;
	snprintf(what, sizeof(what),
		 "byte 0x%02x: not a text key file (expected ASCII as "
		 "written by tsig-keygen)",
		 u);
	return lex_error(lx, lx->line, what);
}

static tok_type lex_next(lexer *lx)
{
	size_t n = 0;
	char c;

	lx->text[0] = '\0';
	if (lex_skip(lx) < 0)
		return TOK_ERROR;
	lx->tok_line = lx->line;
	if (lx->p >= lx->end)
		return TOK_EOF;
	c = *lx->p;
	if (c == '\0')
		return lex_error(lx, lx->line, "NUL byte in key file");
	if (c == '{' || c == '}' || c == ';') {
		lx->p++;
		lx->text[0] = c;
		lx->text[1] = '\0';
		return c == '{' ? TOK_LBRACE : c == '}' ? TOK_RBRACE : TOK_SEMI;
	}
	if (c == '"') {
		lx->p++;
		while (lx->p < lx->end && *lx->p != '"') {
			if (*lx->p == '\n' || *lx->p == '\0')
				return lex_error(lx, lx->tok_line,
						 "unterminated quoted string");
			if (*lx->p == '\\' && lx->p + 1 < lx->end)
				lx->p++;
			if (lex_bad_byte(lx, *lx->p))
				return TOK_ERROR;
			if (n + 1 >= sizeof(lx->text))
				return lex_error(lx, lx->tok_line,
						 "quoted string too long");
			lx->text[n++] = *lx->p++;
		}
		if (lx->p >= lx->end)
			return lex_error(lx, lx->tok_line,
					 "unterminated quoted string");
		lx->p++;
		lx->text[n] = '\0';
		return TOK_STRING;
	}
	while (lx->p < lx->end) {
		c = *lx->p;
		if (isspace((unsigned char)c) || c == '{' || c == '}' ||
		    c == ';' || c == '"' || c == '#' || c == '\0' ||
		    (c == '/' && lx->p + 1 < lx->end &&
		     (lx->p[1] == '/' || lx->p[1] == '*')))
			break;
		if (lex_bad_byte(lx, c))
			return TOK_ERROR;
		if (n + 1 >= sizeof(lx->text))
			return lex_error(lx, lx->tok_line, "word too long");
		lx->text[n++] = c;
		lx->p++;
	}
	lx->text[n] = '\0';
	return TOK_WORD;
}

/* RFC 4648 4 base64, white space ignored (BIND allows it inside secret). */
static int b64_decode(const char *s, unsigned char *out, size_t cap,
		      size_t *len_r)
{
	unsigned acc = 0;
	int bits = 0, pad = 0;
	size_t n = 0;

	for (; *s != '\0'; s++) {
		int v;
		char c = *s;

		if (isspace((unsigned char)c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0)
			return -1;
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (pad > 2 || bits >= 6 || acc != 0)
		return -1;
	*len_r = n;
	return 0;
}

/* A key name: a domain name in presentation format, made absolute and
 * lower case.  Only LDH-ish characters are accepted. */
static char *key_name_normalize(const char *s)
{
	size_t i, n = strlen(s);
	char *out;

	if (n == 0 || n > 253 || strcmp(s, ".") == 0 || s[0] == '.' ||
	    strstr(s, "..") != NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
			return NULL;
	}
	out = malloc(n + 2);
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	if (out[n - 1] != '.')
		out[n++] = '.';
	out[n] = '\0';
	return out;
}

#define EXPECT(lx, t, want, what)                                         \
	do {                                                              \
		if ((t) == TOK_ERROR)                                     \
			goto done;                                        \
		if ((t) != (want)) {                                      \
			cut_status_set((lx)->st, CUT_FINAL, CUT_SCOPE_LOCAL, \
				       "%s:%u: expected %s%s", (lx)->file,   \
				       (lx)->tok_line, what,                 \
				       (t) == TOK_EOF ? ", found end of file" \
						      : "");                 \
			goto done;                                        \
		}                                                         \
	} while (0)

int tsig_key_parse(const char *text, size_t len, const char *file,
		   tsig_key **key_r, cut_status *st)
{
	lexer lx;
	tsig_key *key = NULL;
	tok_type t;
	int ret = -1, have_alg = 0, have_secret = 0;
	unsigned key_line = 0;
	char *secret_text = NULL;

	*key_r = NULL;
	memset(&lx, 0, sizeof(lx));
	lx.p = text;
	lx.end = text + len;
	lx.line = 1;
	lx.file = file;
	lx.st = st;

	for (;;) {
		t = lex_next(&lx);
		if (t == TOK_ERROR)
			goto done;
		if (t == TOK_EOF)
			break;
		if (t != TOK_WORD || !cut_str_ieq(lx.text, "key")) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s:%u: expected `key \"NAME\" { ... };`, "
				       "found \"%.40s\"",
				       file, lx.tok_line, lx.text);
			goto done;
		}
		if (key != NULL) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s:%u: a second key; the file must hold "
				       "exactly one (the first is at line %u)",
				       file, lx.tok_line, key_line);
			goto done;
		}
		key_line = lx.tok_line;
		key = calloc(1, sizeof(*key));
		if (key == NULL)
			goto nomem;
		t = lex_next(&lx);
		if (t == TOK_ERROR)
			goto done;
		if (t != TOK_WORD && t != TOK_STRING) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s:%u: expected the key name after `key`",
				       file, lx.tok_line);
			goto done;
		}
		key->name = key_name_normalize(lx.text);
		if (key->name == NULL) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s:%u: \"%.80s\" is not a valid key name "
				       "(a domain name such as cutover-key)",
				       file, lx.tok_line, lx.text);
			goto done;
		}
		t = lex_next(&lx);
		EXPECT(&lx, t, TOK_LBRACE, "`{` after the key name");
		for (;;) {
			unsigned line;

			t = lex_next(&lx);
			if (t == TOK_ERROR)
				goto done;
			if (t == TOK_RBRACE)
				break;
			if (t != TOK_WORD) {
				cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
					       "%s:%u: expected `algorithm`, "
					       "`secret` or `}`%s",
					       file, lx.tok_line,
					       t == TOK_EOF ? ", found end of file" : "");
				goto done;
			}
			line = lx.tok_line;
			if (cut_str_ieq(lx.text, "algorithm")) {
				t = lex_next(&lx);
				if (t == TOK_ERROR)
					goto done;
				if (t != TOK_WORD && t != TOK_STRING) {
					cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
						       "%s:%u: expected an algorithm "
						       "name after `algorithm`",
						       file, line);
					goto done;
				}
				if (tsig_key_alg_parse(lx.text, &key->alg) < 0) {
					cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
						       "%s:%u: unsupported TSIG "
						       "algorithm \"%.40s\" (use "
						       "hmac-sha256 or hmac-sha512)",
						       file, lx.tok_line, lx.text);
					goto done;
				}
				have_alg = 1;
			} else if (cut_str_ieq(lx.text, "secret")) {
				t = lex_next(&lx);
				if (t == TOK_ERROR)
					goto done;
				if (t != TOK_STRING && t != TOK_WORD) {
					cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
						       "%s:%u: expected the base64 "
						       "secret after `secret`",
						       file, line);
					goto done;
				}
				cut_secret_free(&secret_text);
				secret_text = strdup(lx.text);
				explicit_bzero(lx.text, sizeof(lx.text));
				if (secret_text == NULL)
					goto nomem;
				free(key->secret);
				key->secret = malloc(TSIG_KEY_SECRET_MAX);
				if (key->secret == NULL)
					goto nomem;
				if (b64_decode(secret_text, key->secret,
					       TSIG_KEY_SECRET_MAX,
					       &key->secret_len) < 0 ||
				    key->secret_len == 0) {
					cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
						       "%s:%u: the secret is not "
						       "valid base64",
						       file, lx.tok_line);
					goto done;
				}
				have_secret = 1;
			} else {
				cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
					       "%s:%u: unknown key option "
					       "\"%.40s\" (expected `algorithm` "
					       "or `secret`)",
					       file, line, lx.text);
				goto done;
			}
			t = lex_next(&lx);
			EXPECT(&lx, t, TOK_SEMI, "`;` after the value");
		}
		t = lex_next(&lx);
		EXPECT(&lx, t, TOK_SEMI, "`;` after `}`");
		if (!have_alg || !have_secret) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s:%u: key \"%s\" has no %s", file,
				       key_line, key->name,
				       !have_alg ? "algorithm" : "secret");
			goto done;
		}
	}
	if (key == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s:%u: no `key` statement in the file", file,
			       lx.line);
		goto done;
	}
	key->file = strdup(file);
	if (key->file == NULL)
		goto nomem;
	*key_r = key;
	key = NULL;
	ret = 0;
	goto done;
nomem:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "%s: out of memory",
		       file);
done:
	explicit_bzero(lx.text, sizeof(lx.text));
	cut_secret_free(&secret_text);
	tsig_key_free(&key);
	return ret;
}

int tsig_key_load(const char *path, tsig_key **key_r, cut_status *st)
{
	FILE *f = NULL;
	cut_buf b = CUT_BUF_INIT;
	char chunk[4096];
	size_t n;
	int ret = -1;

	*key_r = NULL;
	b.limit = TSIG_KEY_FILE_MAX;
	if (cut_secret_file_check(path, st) < 0)
		goto done;
	f = fopen(path, "r");
	if (f == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: cannot open: %s", path, strerror(errno));
		goto done;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (cut_buf_append(&b, chunk, n) < 0) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s: too large for a key file", path);
			goto done;
		}
	}
	if (ferror(f)) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: read error", path);
		goto done;
	}
	ret = tsig_key_parse(b.data != NULL ? b.data : "", b.len, path, key_r,
			     st);
done:
	explicit_bzero(chunk, sizeof(chunk));
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	cut_buf_free(&b);
	if (f != NULL)
		fclose(f);
	return ret;
}

void tsig_key_free(tsig_key **kp)
{
	tsig_key *k;

	if (kp == NULL || *kp == NULL)
		return;
	k = *kp;
	if (k->secret != NULL) {
		explicit_bzero(k->secret, TSIG_KEY_SECRET_MAX);
		free(k->secret);
	}
	free(k->name);
	free(k->file);
	free(k);
	*kp = NULL;
}
