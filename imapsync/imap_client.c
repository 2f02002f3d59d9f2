/*
 * imap_client.c: the pipelined IMAP client (see imap_client.h).
 *
 * A command is a short list of segments: text, optionally followed by a
 * literal (data in memory, a reader, or pushed by the caller).  The writer
 * serialises queued commands into one output buffer (coalescing small
 * commands into few TLS records / syscalls) while the window allows; the
 * reader feeds a 64 KiB input buffer to the pure parser and dispatches its
 * events: tagged responses complete commands, untagged ones go to the
 * command that asked for them or to the observer.  Both sides progress in
 * the same poll loop so that neither TCP direction can deadlock.
 */
#include "imapsync/imap_client.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "common/hostport.h"
#include "common/log.h"
#include "common/str.h"
#include "imapsync/net.h"
#include "imapsync/utf7.h"

#define CLIENT_RBUF_SIZE (64u * 1024u)
#define CLIENT_OUT_HIGH (64u * 1024u)
#define CLIENT_MAX_SEGS 3

typedef enum cmd_kind {
	CMD_GENERIC = 0,
	CMD_CAPABILITY,
	CMD_LOGIN,
	CMD_STARTTLS,
	CMD_NAMESPACE,
	CMD_LIST,
	CMD_SELECT,
	CMD_STATUS,
	CMD_SEARCH,
	CMD_FETCH,
	CMD_APPEND,
	CMD_ENABLE,
	CMD_LOGOUT,
} cmd_kind;

typedef enum lit_src {
	LIT_NONE = 0,
	LIT_MEM,  /* data pointer (owned by the caller or by `owned`) */
	LIT_READ, /* pulled through read() */
	LIT_PUSH, /* pushed by imap_append_stream_write() */
} lit_src;

typedef struct cmd_seg {
	cut_buf text;     /* ends with "{n}\r\n" / "{n+}\r\n" when a literal follows */
	lit_src src;
	int sync;         /* wait for "+" before the literal (RFC 3501 7.5) */
	uint64_t size;
	const char *data; /* LIT_MEM */
	imap_read_fn read;
	void *read_ctx;
	size_t mask_from; /* trace: text from here on is secret (0 = none) */
} cmd_seg;

typedef struct client_cmd {
	struct client_cmd *next;
	cmd_kind kind;
	char tag[16];
	char what[160]; /* "APPEND to \"INBOX\"" for errors */
	cmd_seg seg[CLIENT_MAX_SEGS];
	int nseg;
	char *owned; /* memory freed with the command (e.g. AUTH payload) */
	uint64_t bytes; /* total size, for the byte window */
	/* writer progress */
	int wseg;      /* segment being written */
	size_t wtext;  /* bytes of seg[wseg].text written to out */
	uint64_t wlit; /* literal bytes written */
	int sent;      /* fully written */
	int done;
	cut_status err; /* first failure seen while the command ran */
	/* completion */
	imap_done_fn done_fn;
	imap_append_done_fn append_fn;
	void *ctx;
	cut_status *wait_st; /* blocking callers: where to put the result */
	int *wait_flag;
	imap_append_result *wait_append;
	/* per-kind state */
	imap_fetch_req fetch;
	imap_body_sink sink;
	int in_body; /* a streamed body is being delivered */
	uint32_t *fset; /* UID FETCH: the requested set as lo,hi pairs */
	size_t nfset;   /* pairs; 0 = set not understood: any UID */
	imap_select_info *sel;
	imap_mailbox **list;
	size_t *nlist, list_cap;
	uint32_t **uids;
	size_t *nuids, uids_cap;
	imap_namespace *ns;
} client_cmd;

struct imap_client {
	char *label;
	char *user;
	char name[CUT_HOST_MAX + 64];
	imap_client_opts o;
	char *host, *tls_name, *ca_file;
	net_conn *net;
	imap_parser *parser;
	int greeted, preauth;
	cut_buf caps;    /* " IMAP4REV1 LITERAL+ ... " upper case */
	cut_buf enabled; /* " CONDSTORE ... " */
	int bye;
	int logout_sent; /* the end is expected: not a failure */
	char bye_text[200];
	int broken;
	cut_status broken_st;
	unsigned tagno;
	client_cmd *queue, *queue_tail; /* all commands, in order */
	client_cmd *writer;             /* first command not fully written */
	size_t inflight;              /* written (partly or fully), not done */
	uint64_t inflight_bytes;
	int wait_cont; /* the writer waits for a "+" */
	int stop_input; /* STARTTLS accepted: parse nothing more in plaintext */
	client_cmd *push;  /* push-mode APPEND between begin and end */
	client_cmd *lit_cmd; /* the FETCH whose streamed body is arriving */
	cut_buf out;
	size_t out_off;
	char *rbuf;
	size_t rpos, rlen;
	cut_buf scratch; /* flags text for fetch callbacks */
	imap_client_stats stats;
};

/* ---- failure ---- */

static void cmd_free(client_cmd *cmd)
{
	int i;

	if (cmd == NULL)
		return;
	for (i = 0; i < CLIENT_MAX_SEGS; i++)
		cut_buf_free(&cmd->seg[i].text);
	if (cmd->owned != NULL)
		cut_secret_free(&cmd->owned);
	free(cmd->fset);
	free((char *)cmd->fetch.uid_set);
	free((char *)cmd->fetch.header_fields);
	free(cmd);
}

static void cmd_complete(imap_client *c, client_cmd *cmd, const imap_resp *tagged,
			 const cut_status *st);

/* Marks the connection failed: every pending command completes with st. */
static int client_fail(imap_client *c, const cut_status *st)
{
	client_cmd *cmd;

	if (!c->broken) {
		c->broken = 1;
		cut_status_copy(&c->broken_st, st);
		if (c->broken_st.kind == CUT_OK)
			c->broken_st.kind = CUT_TEMP;
		net_close(&c->net);
		if (c->logout_sent)
			cut_debug("%s: connection closed after LOGOUT", c->name);
		else
			cut_debug("%s: connection failed: %s", c->name, c->broken_st.msg);
	}
	while ((cmd = c->queue) != NULL) {
		c->queue = cmd->next;
		if (c->queue == NULL)
			c->queue_tail = NULL;
		cmd_complete(c, cmd, NULL, &c->broken_st);
		cmd_free(cmd);
	}
	c->writer = NULL;
	c->lit_cmd = NULL;
	c->inflight = 0;
	c->inflight_bytes = 0;
	c->push = NULL;
	return -1;
}

static int client_check_broken(imap_client *c, cut_status *st)
{
	if (c->broken) {
		cut_status_copy(st, &c->broken_st);
		return -1;
	}
	return 0;
}

/* Before a new command or a run: the connection must be usable and no
 * streamed APPEND open (its literal occupies the connection: anything
 * queued behind it would wait forever). */
static int client_check(imap_client *c, cut_status *st)
{
	if (client_check_broken(c, st) < 0)
		return -1;
	if (c->push != NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: internal error: a command while a streamed "
				      "APPEND is unfinished (imap_append_stream_end() "
				      "first)",
				      c->name);
	return 0;
}

/* The next space-separated word of *sp (length returned, 0 at the end). */
static size_t client_word(const char **sp, const char **w_r)
{
	const char *p = *sp;
	size_t n = 0;

	while (*p == ' ')
		p++;
	*w_r = p;
	while (p[n] != '\0' && p[n] != ' ')
		n++;
	*sp = p + n;
	return n;
}

/* ---- capabilities ---- */

static int caps_has(const cut_buf *b, const char *cap)
{
	char key[128];
	size_t i, n = strlen(cap);

	if (b->data == NULL || n + 3 > sizeof(key))
		return 0;
	key[0] = ' ';
	for (i = 0; i < n; i++)
		key[i + 1] = (char)toupper((unsigned char)cap[i]);
	key[n + 1] = ' ';
	key[n + 2] = '\0';
	return strstr(b->data, key) != NULL;
}

static void caps_set(cut_buf *b, const imap_item *it, int append)
{
	if (!append)
		cut_buf_reset(b);
	if (b->len == 0)
		cut_buf_puts(b, " ");
	for (; it != NULL; it = it->next) {
		char *s;

		if (it->type != IMAP_ITEM_ATOM)
			continue;
		if (cut_buf_printf(b, "%s ", it->str) < 0)
			return;
		for (s = b->data + b->len - it->len - 1; *s; s++)
			*s = (char)toupper((unsigned char)*s);
	}
}

int imap_client_has_cap(const imap_client *c, const char *cap)
{
	return caps_has(&c->caps, cap);
}

int imap_client_enabled(const imap_client *c, const char *cap)
{
	return caps_has(&c->enabled, cap);
}

const char *imap_client_name(const imap_client *c)
{
	return c->name;
}

const imap_client_stats *imap_client_get_stats(const imap_client *c)
{
	return &c->stats;
}

int imap_client_broken(const imap_client *c)
{
	return c->broken;
}

size_t imap_client_pending(const imap_client *c)
{
	size_t n = 0;
	const client_cmd *cmd;

	for (cmd = c->queue; cmd != NULL; cmd = cmd->next)
		n++;
	return n;
}

/* ---- error classification ---- */

/* Office 365: "Request is throttled. Suggested Backoff Time: 2391
 * milliseconds" (in NO or BYE texts). */
static unsigned client_throttle_ms(const char *text)
{
	const char *p = strcasestr(text, "Suggested Backoff Time:");
	unsigned long v = 0;

	if (p == NULL)
		return strcasestr(text, "throttl") != NULL ? 1000 : 0;
	p += strlen("Suggested Backoff Time:");
	while (*p == ' ')
		p++;
	while (isdigit((unsigned char)*p) && v < 3600000) {
		v = v * 10 + (unsigned long)(*p - '0');
		p++;
	}
	return v ? (unsigned)v : 1000;
}

/* Classifies a tagged NO/BAD (RFC 5530 codes) into *st. */
static void client_classify(imap_client *c, client_cmd *cmd, const imap_resp *r,
			    cut_status *st)
{
	cut_kind kind = CUT_FINAL;
	cut_scope scope = CUT_SCOPE_SERVER;
	unsigned retry = 0;
	const char *hint = "";

	switch (cmd->kind) {
	case CMD_LOGIN:
		scope = CUT_SCOPE_ACCOUNT;
		hint = ": check the user name and password";
		break;
	case CMD_SELECT:
	case CMD_STATUS:
	case CMD_LIST:
		scope = CUT_SCOPE_FOLDER;
		break;
	case CMD_APPEND:
	case CMD_FETCH:
		scope = CUT_SCOPE_MESSAGE;
		break;
	default:
		scope = CUT_SCOPE_SERVER;
		break;
	}
	switch (r->code.kind) {
	case IMAP_CODE_UNAVAILABLE:
	case IMAP_CODE_INUSE:
	case IMAP_CODE_LIMIT:
	case IMAP_CODE_SERVERBUG:
		kind = CUT_TEMP;
		hint = "";
		break;
	case IMAP_CODE_AUTHENTICATIONFAILED:
	case IMAP_CODE_AUTHORIZATIONFAILED:
	case IMAP_CODE_EXPIRED:
	case IMAP_CODE_CONTACTADMIN:
	case IMAP_CODE_PRIVACYREQUIRED:
		scope = CUT_SCOPE_ACCOUNT;
		break;
	case IMAP_CODE_OVERQUOTA:
		scope = CUT_SCOPE_ACCOUNT;
		hint = ": the mailbox on this server is over quota, raise the quota";
		break;
	case IMAP_CODE_TRYCREATE:
	case IMAP_CODE_NONEXISTENT:
		scope = CUT_SCOPE_FOLDER;
		break;
	default:
		break;
	}
	retry = client_throttle_ms(r->text);
	if (retry != 0) {
		kind = CUT_TEMP;
		hint = "";
	}
	{
		/* "Authentication failed." + ": check ..." reads badly */
		int tlen = (int)strlen(r->text);

		if (hint[0] != '\0' && tlen > 0 && r->text[tlen - 1] == '.')
			tlen--;
		cut_status_set(st, kind, scope, "%s%s%s: %s failed: %s %s%s%s%.*s%s",
			       c->name, c->user ? " user " : "", c->user ? c->user : "",
			       cmd->what, imap_status_name(r->status),
			       r->code.kind != IMAP_CODE_NONE ? "[" : "",
			       r->code.kind != IMAP_CODE_NONE ? r->code.name : "",
			       r->code.kind != IMAP_CODE_NONE ? "] " : "", tlen, r->text,
			       hint);
	}
	st->retry_after_ms = retry;
}

/* ---- completion ---- */

static void cmd_complete(imap_client *c, client_cmd *cmd, const imap_resp *tagged,
			 const cut_status *st_in)
{
	cut_status st;
	imap_append_result ar;

	cut_status_copy(&st, st_in);
	if (st.kind == CUT_OK && cmd->err.kind != CUT_OK)
		cut_status_copy(&st, &cmd->err);
	memset(&ar, 0, sizeof(ar));
	if (tagged != NULL && tagged->code.kind == IMAP_CODE_APPENDUID) {
		ar.uidvalidity = (uint32_t)tagged->code.num1;
		ar.uid = (uint32_t)tagged->code.num2;
		if (tagged->code.args != NULL && tagged->code.args->next != NULL)
			ar.uid_set = tagged->code.args->next->str;
	}
	if (tagged != NULL && tagged->code.kind == IMAP_CODE_CAPABILITY)
		caps_set(&c->caps, tagged->code.args, 0);
	if (tagged != NULL && cmd->sel != NULL && st.kind == CUT_OK &&
	    tagged->code.kind == IMAP_CODE_READ_ONLY)
		cmd->sel->read_only = 1;
	if (cmd->in_body && cmd->sink.end != NULL) {
		cut_status tmp;

		cmd->in_body = 0;
		cmd->sink.end(cmd->sink.ctx, &tmp);
	}
	if (cmd->wait_st != NULL)
		cut_status_copy(cmd->wait_st, &st);
	if (cmd->wait_append != NULL)
		*cmd->wait_append = ar;
	if (cmd->wait_flag != NULL)
		*cmd->wait_flag = 1;
	if (cmd->done_fn != NULL)
		cmd->done_fn(cmd->ctx, tagged, &st);
	if (cmd->append_fn != NULL)
		cmd->append_fn(cmd->ctx, &ar, &st);
	cmd->done = 1;
}

/* ---- trace ---- */

static void client_trace_cmd(imap_client *c, const client_cmd *cmd, int seg)
{
	const cmd_seg *s = &cmd->seg[seg];
	size_t n = s->text.len;

	if (!cut_log_enabled(CUT_LOG_TRACE))
		return;
	while (n > 0 && (s->text.data[n - 1] == '\n' || s->text.data[n - 1] == '\r'))
		n--;
	/* secrets (LOGIN password, AUTHENTICATE payload) are masked; literal
	 * contents are never shown, only their size */
	if (s->mask_from > 0 && s->mask_from <= n)
		cut_trace("%s C: %.*s***", c->label, (int)s->mask_from, s->text.data);
	else if (s->src != LIT_NONE && cmd->kind == CMD_LOGIN)
		cut_trace("%s C: %.*s <secret>", c->label, (int)n, s->text.data);
	else if (s->src != LIT_NONE)
		cut_trace("%s C: %.*s <%llu bytes>", c->label, (int)n, s->text.data,
			  (unsigned long long)s->size);
	else
		cut_trace("%s C: %.*s", c->label, (int)n, s->text.data);
}

/* ---- writer ---- */

/* Output is consumed with an offset; the dead part is dropped when it is
 * large (amortised, never a shift per write). */
static void client_out_compact(imap_client *c)
{
	if (c->out_off > 0 && c->out_off == c->out.len) {
		cut_buf_reset(&c->out);
		c->out_off = 0;
	} else if (c->out_off >= CLIENT_OUT_HIGH / 2 && c->out_off * 2 >= c->out.len) {
		cut_buf_consume(&c->out, c->out_off);
		c->out_off = 0;
	}
}

static int client_out_append(imap_client *c, const void *p, size_t n)
{
	client_out_compact(c);
	return cut_buf_append(&c->out, p, n);
}

/* Moves queued command bytes into the output buffer while the window
 * and the buffer allow. */
static int client_fill(imap_client *c, cut_status *st)
{
	unsigned wcmds = c->o.window_cmds ? c->o.window_cmds : 64;
	size_t wbytes = c->o.window_bytes ? c->o.window_bytes : 4u * 1024 * 1024;

	while (c->writer != NULL && !c->wait_cont &&
	       c->out.len - c->out_off < CLIENT_OUT_HIGH) {
		client_cmd *cmd = c->writer;
		cmd_seg *s;

		if (cmd->wseg == 0 && cmd->wtext == 0 && cmd->wlit == 0) {
			/* starting a new command: window check (one always
			 * goes so that a huge command cannot stall) */
			if (c->inflight > 0 &&
			    (c->inflight >= wcmds || c->inflight_bytes + cmd->bytes > wbytes))
				break;
			c->inflight++;
			c->inflight_bytes += cmd->bytes;
			c->stats.commands++;
		}
		s = &cmd->seg[cmd->wseg];
		if (cmd->wtext < s->text.len) {
			if (client_out_append(c, s->text.data + cmd->wtext,
					      s->text.len - cmd->wtext) < 0)
				goto nomem;
			cmd->wtext = s->text.len;
			client_trace_cmd(c, cmd, cmd->wseg);
			if (s->src != LIT_NONE && s->sync) {
				c->wait_cont = 1;
				break;
			}
		}
		if (s->src == LIT_MEM && cmd->wlit < s->size) {
			size_t n = (size_t)(s->size - cmd->wlit);

			if (n > CLIENT_OUT_HIGH)
				n = CLIENT_OUT_HIGH;
			if (client_out_append(c, s->data + cmd->wlit, n) < 0)
				goto nomem;
			cmd->wlit += n;
			if (cmd->wlit < s->size)
				continue;
		} else if (s->src == LIT_READ && cmd->wlit < s->size) {
			size_t n = (size_t)(s->size - cmd->wlit), got = 0;

			if (n > CLIENT_OUT_HIGH)
				n = CLIENT_OUT_HIGH;
			client_out_compact(c);
			if (cut_buf_reserve(&c->out, n) < 0)
				goto nomem;
			if (s->read(s->read_ctx, c->out.data + c->out.len, n, &got, st) < 0) {
				cut_status_prefix(st, "%s: %s: reading the message: ",
						  c->name, cmd->what);
				return -1;
			}
			if (got == 0 || got > n)
				return cut_status_set(st, CUT_FINAL, CUT_SCOPE_MESSAGE,
						      "%s: %s: the message source gave %llu "
						      "bytes instead of the announced %llu",
						      c->name, cmd->what,
						      (unsigned long long)(cmd->wlit + got),
						      (unsigned long long)s->size);
			c->out.len += got;
			c->out.data[c->out.len] = '\0';
			cmd->wlit += got;
			if (cmd->wlit < s->size)
				continue;
		} else if (s->src == LIT_PUSH &&
			   (cmd->wlit < s->size || c->push == cmd)) {
			/* imap_append_stream_write() feeds it; until
			 * imap_append_stream_end() the caller may still add a
			 * message (MULTIAPPEND), so the command's final CRLF
			 * must not go out yet, even when this literal is
			 * complete and the output buffer is drained because
			 * the server's input woke us up */
			break;
		}
		/* segment complete */
		if (cmd->wseg + 1 < cmd->nseg) {
			cmd->wseg++;
			cmd->wtext = 0;
			cmd->wlit = 0;
			continue;
		}
		cmd->sent = 1;
		c->writer = cmd->next;
	}
	return 0;
nomem:
	return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
}

static int client_flush_some(imap_client *c, cut_status *st)
{
	struct iovec iov;
	size_t put = 0;

	if (c->out.len == c->out_off)
		return 0;
	iov.iov_base = c->out.data + c->out_off;
	iov.iov_len = c->out.len - c->out_off;
	if (net_writev_some(c->net, &iov, 1, &put, st) < 0) {
		cut_status_prefix(st, "%s ", c->label);
		return -1;
	}
	c->out_off += put;
	c->stats.bytes_out += put;
	if (c->out_off == c->out.len) {
		cut_buf_reset(&c->out);
		c->out_off = 0;
	}
	return 0;
}

/*
 * Puts queued commands on the wire now, as far as the window and the
 * socket take them without waiting, so that a FETCH queued on one client
 * is being answered while the caller runs another client (the sync
 * engine lists host1 and host2 at once).  An error is left for the next
 * run to find (a failed write fails again there), so no callback is
 * called from inside the queueing function.
 */
static void client_kick(imap_client *c)
{
	cut_status ignored;

	if (c->broken || !c->greeted || c->wait_cont || c->push != NULL)
		return;
	if (client_fill(c, &ignored) == 0)
		(void)client_flush_some(c, &ignored);
}

/* ---- reader / dispatch ---- */

static client_cmd *client_find_kind(imap_client *c, cmd_kind kind)
{
	client_cmd *cmd;

	for (cmd = c->queue; cmd != NULL && cmd != c->writer; cmd = cmd->next)
		if (cmd->kind == kind)
			return cmd;
	/* the writer's command may be partly written (waiting on "+") */
	if (c->writer != NULL && c->writer->kind == kind &&
	    (c->writer->wtext > 0 || c->writer->wseg > 0))
		return c->writer;
	return NULL;
}

/* True when the UID FETCH `cmd` asked for `uid` (0: unknown, accepted). */
static int fetch_wants_uid(const client_cmd *cmd, uint32_t uid)
{
	size_t lo = 0, hi = cmd->nfset;

	if (uid == 0 || cmd->nfset == 0)
		return 1;
	/* pairs sorted by lower bound, not overlapping */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uid < cmd->fset[2 * mid])
			hi = mid;
		else if (uid > cmd->fset[2 * mid + 1])
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* A FETCH response carrying nothing but UID, FLAGS and MODSEQ: a flag
 * change (RFC 3501 7.4.2, RFC 7162 3.2.4), possibly caused by another
 * session, that the server may send at any time. */
static int fetch_is_flag_update(const imap_item *list)
{
	const imap_item *it;

	for (it = list->child; it != NULL; it = it->next ? it->next->next : NULL)
		if (it->type != IMAP_ITEM_ATOM ||
		    !(imap_item_is(it, "UID") || imap_item_is(it, "FLAGS") ||
		      imap_item_is(it, "MODSEQ")))
			return 0;
	return 1;
}

/*
 * Which in-flight UID FETCH a FETCH response answers.  Servers may run
 * pipelined UID FETCH commands concurrently and interleave their answers
 * (RFC 3501 5.5; Dovecot does), and may send flag changes at any time, so
 * the first FETCH in the queue is not necessarily the owner: the owner is
 * the first command whose UID set holds the response's UID and, unless it
 * asked for flags only, the response is more than a flag update.
 * `list` is NULL for the start of a streamed body (it always belongs to a
 * command that asked for BODY[]).  NULL: unsolicited.
 */
static client_cmd *client_fetch_owner(imap_client *c, uint32_t uid,
				      const imap_item *list)
{
	client_cmd *cmd;
	int flag_update = list != NULL && fetch_is_flag_update(list);

	for (cmd = c->queue; cmd != NULL; cmd = cmd->next) {
		if (cmd == c->writer && cmd->wtext == 0 && cmd->wseg == 0)
			break; /* not sent yet: later ones neither */
		if (cmd->kind != CMD_FETCH || !fetch_wants_uid(cmd, uid))
			continue;
		if (list == NULL && !(cmd->fetch.items & IMAP_FETCH_BODY))
			continue;
		if (flag_update &&
		    (cmd->fetch.items & ~(unsigned)(IMAP_FETCH_FLAGS | IMAP_FETCH_MODSEQ)))
			continue;
		return cmd;
	}
	return NULL;
}

static int fset_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Parses the UID set of a FETCH into sorted, merged lo,hi pairs; a set
 * it cannot read leaves nfset 0 (every UID accepted). */
static void fetch_set_parse(client_cmd *cmd, const char *set)
{
	const char *p = set;
	uint32_t lo, hi;
	size_t n = 0, cap = 0, i, k;
	uint32_t *v = NULL;
	int r;

	while ((r = imap_seqset_next(&p, &lo, &hi)) == 1) {
		/* "*" is the highest UID in the mailbox, which may be lower
		 * than the other end ("100:*" with UIDs up to 90 is 90):
		 * a range with "*" may hold any UID */
		if (hi == UINT32_MAX)
			lo = 1;
		if (n == cap) {
			uint32_t *nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * 2 * sizeof(*v));
			if (nv == NULL) {
				free(v);
				return;
			}
			v = nv;
		}
		v[2 * n] = lo;
		v[2 * n + 1] = hi;
		n++;
	}
	if (r < 0 || n == 0) {
		free(v);
		return;
	}
	qsort(v, n, 2 * sizeof(*v), fset_cmp);
	for (i = 0, k = 0; i < n; i++) {
		if (k > 0 && (uint64_t)v[2 * i] <= (uint64_t)v[2 * (k - 1) + 1] + 1) {
			if (v[2 * i + 1] > v[2 * (k - 1) + 1])
				v[2 * (k - 1) + 1] = v[2 * i + 1];
			continue;
		}
		v[2 * k] = v[2 * i];
		v[2 * k + 1] = v[2 * i + 1];
		k++;
	}
	cmd->fset = v;
	cmd->nfset = k;
}

/* RFC 3501 9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d"). */
static int client_parse_date(const char *s, int64_t *epoch_r)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;
	char mon[4], sign;
	int d, y, hh, mm, ss, zone;
	const char *m;

	memset(&tm, 0, sizeof(tm));
	while (*s == ' ')
		s++;
	if (sscanf(s, "%d-%3s-%d %d:%d:%d %c%4d", &d, mon, &y, &hh, &mm, &ss, &sign,
		   &zone) != 8 ||
	    (sign != '+' && sign != '-'))
		return -1;
	m = strstr(months, mon);
	if (m == NULL || (m - months) % 3 != 0)
		return -1;
	tm.tm_mday = d;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year = y - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	*epoch_r = (int64_t)timegm(&tm) -
		   (sign == '-' ? -1 : 1) * ((zone / 100) * 3600 + (zone % 100) * 60);
	return 0;
}

static void client_fetch_msg(imap_client *c, const imap_resp *r)
{
	imap_fetch_msg m;
	const imap_item *list = r->args, *it;
	client_cmd *cmd;
	uint64_t v;

	memset(&m, 0, sizeof(m));
	m.seq = (uint32_t)r->number;
	m.resp = r;
	if (list == NULL || list->type != IMAP_ITEM_LIST) {
		c->lit_cmd = NULL;
		return;
	}
	if (imap_item_u64(imap_item_fetch_attr(list, "UID"), UINT32_MAX, &v) == 0)
		m.uid = (uint32_t)v;
	/* a response whose body was streamed belongs to the command that
	 * received the body */
	cmd = c->lit_cmd != NULL ? c->lit_cmd : client_fetch_owner(c, m.uid, list);
	c->lit_cmd = NULL;
	it = imap_item_fetch_attr(list, "FLAGS");
	if (it != NULL && it->type == IMAP_ITEM_LIST) {
		const imap_item *f;

		cut_buf_reset(&c->scratch);
		cut_buf_puts(&c->scratch, "");
		for (f = it->child; f != NULL; f = f->next)
			if ((c->scratch.len > 0 && cut_buf_append(&c->scratch, " ", 1) < 0) ||
			    cut_buf_append(&c->scratch, f->str, f->len) < 0)
				break;
		/* out of memory: no flags rather than some of them */
		m.flags = f == NULL ? c->scratch.data : NULL;
		m.flag_list = f == NULL ? it->child : NULL;
	}
	it = imap_item_fetch_attr(list, "INTERNALDATE");
	if (it != NULL && it->type == IMAP_ITEM_STRING) {
		m.internaldate = it->str;
		if (client_parse_date(it->str, &m.internaldate_epoch) < 0)
			m.internaldate_epoch = 0;
	}
	if (imap_item_u64(imap_item_fetch_attr(list, "RFC822.SIZE"), UINT64_MAX, &v) == 0) {
		m.size = v;
		m.has_size = 1;
	}
	it = imap_item_fetch_attr(list, "MODSEQ");
	if (it != NULL && it->type == IMAP_ITEM_LIST &&
	    imap_item_u64(it->child, UINT64_MAX, &v) == 0)
		m.modseq = v;
	for (it = list->child; it != NULL && it->next != NULL; it = it->next->next) {
		const imap_item *val = it->next;

		if (it->type != IMAP_ITEM_ATOM)
			continue;
		if (strncasecmp(it->str, "BODY[HEADER", 11) == 0 &&
		    val->type == IMAP_ITEM_STRING) {
			m.header = val->str;
			m.header_len = val->len;
		} else if ((strcasecmp(it->str, "BODY[]") == 0 ||
			    strcasecmp(it->str, "RFC822") == 0) &&
			   cmd != NULL) {
			if (val->type == IMAP_ITEM_STREAMED) {
				m.body_done = 1;
				m.body_size = val->size;
			} else if (val->type == IMAP_ITEM_STRING &&
				   cmd->sink.begin != NULL &&
				   cmd->err.kind == CUT_OK) {
				/* a small body came buffered: same sink calls */
				if (cmd->sink.begin(cmd->sink.ctx, m.seq, m.uid, val->len,
						    &cmd->err) < 0 ||
				    (val->len > 0 &&
				     cmd->sink.data(cmd->sink.ctx, val->str, val->len,
						    &cmd->err) < 0) ||
				    cmd->sink.end(cmd->sink.ctx, &cmd->err) < 0) {
					if (cmd->err.kind == CUT_OK)
						cmd->err.kind = CUT_FINAL;
				}
				m.body_done = 1;
				m.body_size = val->len;
			}
		}
	}
	if (cmd == NULL) {
		c->stats.flag_updates++;
		if (c->o.on_untagged)
			c->o.on_untagged(c->o.untagged_ctx, r);
		return;
	}
	if (cmd->fetch.on_msg != NULL && cmd->err.kind == CUT_OK) {
		if (cmd->fetch.on_msg(cmd->fetch.ctx, &m, &cmd->err) < 0 &&
		    cmd->err.kind == CUT_OK)
			cmd->err.kind = CUT_FINAL;
	}
}

static int client_add_uid(client_cmd *cmd, uint64_t v)
{
	if (*cmd->nuids == cmd->uids_cap) {
		size_t cap = cmd->uids_cap ? cmd->uids_cap * 2 : 256;
		uint32_t *n = realloc(*cmd->uids, cap * sizeof(*n));

		if (n == NULL)
			return -1;
		*cmd->uids = n;
		cmd->uids_cap = cap;
	}
	(*cmd->uids)[(*cmd->nuids)++] = (uint32_t)v;
	return 0;
}

/* "1:3,7" (RFC 4731 ESEARCH ALL) */
static int client_add_uid_set(client_cmd *cmd, const char *s)
{
	while (*s) {
		char *end;
		unsigned long long a = strtoull(s, &end, 10), b = a, i;

		if (end == s)
			return -1;
		s = end;
		if (*s == ':') {
			b = strtoull(s + 1, &end, 10);
			if (end == s + 1)
				return -1;
			s = end;
		}
		if (a > b) {
			unsigned long long t = a;
			a = b;
			b = t;
		}
		if (b > UINT32_MAX || b - a > 100000000ull)
			return -1;
		for (i = a; i <= b; i++)
			if (client_add_uid(cmd, i) < 0)
				return -1;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return 0;
}

static unsigned client_mbx_attr(const char *a)
{
	static const struct {
		const char *name;
		unsigned bit;
	} t[] = {
		{"\\Noselect", IMAP_MBX_NOSELECT}, {"\\NoInferiors", IMAP_MBX_NOINFERIORS},
		{"\\HasChildren", IMAP_MBX_HASCHILDREN},
		{"\\HasNoChildren", IMAP_MBX_HASNOCHILDREN}, {"\\Marked", IMAP_MBX_MARKED},
		{"\\Unmarked", IMAP_MBX_UNMARKED}, {"\\Subscribed", IMAP_MBX_SUBSCRIBED},
		{"\\NonExistent", IMAP_MBX_NONEXISTENT | IMAP_MBX_NOSELECT},
		{"\\All", IMAP_MBX_ALL}, {"\\Archive", IMAP_MBX_ARCHIVE},
		{"\\Drafts", IMAP_MBX_DRAFTS}, {"\\Flagged", IMAP_MBX_FLAGGED},
		{"\\Junk", IMAP_MBX_JUNK}, {"\\Sent", IMAP_MBX_SENT},
		{"\\Trash", IMAP_MBX_TRASH}, {"\\Important", IMAP_MBX_IMPORTANT},
		{"\\Remote", IMAP_MBX_REMOTE},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(t[i].name, a) == 0)
			return t[i].bit;
	return 0;
}

static void client_list_entry(imap_client *c, client_cmd *cmd, const imap_resp *r)
{
	const imap_item *attrs = r->args, *delim, *name, *a;
	imap_mailbox *mb;
	cut_buf at = CUT_BUF_INIT;
	cut_status st;

	delim = imap_item_nth(attrs, 1);
	name = imap_item_nth(attrs, 2);
	if (attrs == NULL || attrs->type != IMAP_ITEM_LIST || delim == NULL ||
	    name == NULL || (name->type != IMAP_ITEM_ATOM && name->type != IMAP_ITEM_STRING))
		return;
	if (*cmd->nlist == cmd->list_cap) {
		size_t cap = cmd->list_cap ? cmd->list_cap * 2 : 32;
		imap_mailbox *n = realloc(*cmd->list, cap * sizeof(*n));

		if (n == NULL) {
			cut_status_set(&cmd->err, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
			return;
		}
		*cmd->list = n;
		cmd->list_cap = cap;
	}
	mb = &(*cmd->list)[*cmd->nlist];
	memset(mb, 0, sizeof(*mb));
	for (a = attrs->child; a != NULL; a = a->next) {
		mb->attrs |= client_mbx_attr(a->str);
		cut_buf_printf(&at, "%s%s", at.len ? " " : "", a->str);
	}
	cut_buf_append(&at, "", 0);
	mb->attr_text = cut_buf_steal(&at);
	mb->delim = delim->type == IMAP_ITEM_STRING && delim->len > 0 ? delim->str[0] : 0;
	mb->raw = malloc(name->len + 1);
	if (mb->raw == NULL || mb->attr_text == NULL) {
		free(mb->raw);
		free(mb->attr_text);
		cut_status_set(&cmd->err, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
		return;
	}
	memcpy(mb->raw, name->str, name->len + 1);
	mb->raw_len = name->len;
	if (imap_client_enabled(c, "UTF8=ACCEPT")) {
		mb->name = strdup(mb->raw);
		mb->name_ok = cut_utf8_valid(mb->raw, mb->raw_len);
	} else if (imap_utf7_decode(mb->raw, mb->raw_len, &mb->name, &st) == 0) {
		mb->name_ok = 1;
	} else {
		mb->name = strdup(mb->raw);
		cut_warn("%s: %s", c->name, st.msg);
	}
	(*cmd->nlist)++;
}

/*
 * "* VANISHED [(EARLIER)] uid-set" (RFC 7162 3.2.10).  A live VANISHED
 * replaces EXPUNGE responses once QRESYNC is enabled and lowers EXISTS;
 * VANISHED (EARLIER) answers a FETCH with the VANISHED modifier and goes
 * to that command.  @return 1 when a command consumed it.
 */
static int client_vanished(imap_client *c, const imap_resp *r)
{
	const char *set, *p;
	uint32_t lo, hi;
	uint64_t n = 0;
	int earlier;
	client_cmd *cmd;

	if (imap_resp_vanished(r, &earlier, &set) < 0) {
		cut_warn("%s: ignoring a malformed VANISHED response: %.100s", c->name,
			 r->raw);
		return 0;
	}
	for (p = set; imap_seqset_next(&p, &lo, &hi) == 1;)
		n += (uint64_t)hi - lo + 1;
	c->stats.vanished++;
	c->stats.vanished_uids += n;
	if (!earlier) {
		c->stats.expunges += n;
		c->stats.exists = c->stats.exists > n ? c->stats.exists - n : 0;
		return 0;
	}
	for (cmd = c->queue; cmd != NULL && cmd != c->writer; cmd = cmd->next) {
		if (cmd->kind != CMD_FETCH || !cmd->fetch.vanished)
			continue;
		if (cmd->fetch.on_vanished != NULL && cmd->err.kind == CUT_OK &&
		    cmd->fetch.on_vanished(cmd->fetch.ctx, set, &cmd->err) < 0 &&
		    cmd->err.kind == CUT_OK)
			cmd->err.kind = CUT_FINAL;
		return 1;
	}
	return 0;
}

/* A parenthesised flag list (FLAGS, PERMANENTFLAGS) into dst as
 * space-separated words.  @return 0, or -1 when it is not a list or does
 * not fit (dst then holds "" or a part). */
static int client_flag_list(const imap_item *list, char *dst, size_t n)
{
	size_t len = 0;

	dst[0] = '\0';
	if (list == NULL || list->type != IMAP_ITEM_LIST)
		return -1;
	for (const imap_item *f = list->child; f != NULL; f = f->next) {
		size_t k = f->str != NULL ? strlen(f->str) : 0;

		if (len + (len > 0) + k + 1 > n) {
			dst[0] = '\0';
			return -1;
		}
		if (len > 0)
			dst[len++] = ' ';
		memcpy(dst + len, f->str != NULL ? f->str : "", k);
		len += k;
		dst[len] = '\0';
	}
	return 0;
}

/* "* STATUS mailbox (MESSAGES n UIDNEXT n ...)" (RFC 3501 7.2.4) for the
 * mailbox cmd asked about (cmd->owned); -1 for another mailbox's. */
static int client_status_data(client_cmd *cmd, const imap_resp *r)
{
	const imap_item *mb = r->args, *it;
	imap_select_info *s = cmd->sel;

	if (mb == NULL || (mb->type != IMAP_ITEM_ATOM && mb->type != IMAP_ITEM_STRING) ||
	    mb->len != strlen(cmd->owned) || memcmp(mb->str, cmd->owned, mb->len) != 0 ||
	    mb->next == NULL || mb->next->type != IMAP_ITEM_LIST)
		return -1;
	for (it = mb->next->child; it != NULL && it->next != NULL; it = it->next->next) {
		uint64_t v;

		if (imap_item_u64(it->next, UINT64_MAX, &v) < 0)
			continue;
		if (imap_item_is(it, "MESSAGES") && v <= UINT32_MAX)
			s->exists = (uint32_t)v;
		else if (imap_item_is(it, "UIDNEXT") && v <= UINT32_MAX)
			s->uidnext = (uint32_t)v;
		else if (imap_item_is(it, "UIDVALIDITY") && v <= UINT32_MAX)
			s->uidvalidity = (uint32_t)v;
		else if (imap_item_is(it, "HIGHESTMODSEQ"))
			/* RFC 7162 3.1.2.1: 0 when mod-sequences are not kept */
			s->highestmodseq = v, s->nomodseq = v == 0;
	}
	return 0;
}

static void client_untagged(imap_client *c, const imap_resp *r)
{
	client_cmd *cmd;
	int consumed = 0;

	if (r->status == IMAP_ST_BYE) {
		c->bye = 1;
		snprintf(c->bye_text, sizeof(c->bye_text), "%s", r->text);
	}
	if (r->code.kind == IMAP_CODE_CAPABILITY)
		caps_set(&c->caps, r->code.args, 0);
	if (r->code.kind == IMAP_CODE_ALERT)
		cut_warn("%s: server alert: %s", c->name, r->text);
	if (!c->greeted) {
		c->greeted = 1;
		c->preauth = r->status == IMAP_ST_PREAUTH;
		return;
	}
	if (strcmp(r->name, "CAPABILITY") == 0) {
		caps_set(&c->caps, r->args, 0);
		consumed = 1;
	} else if (strcmp(r->name, "ENABLED") == 0) {
		caps_set(&c->enabled, r->args, 1);
		consumed = 1;
	} else if (strcmp(r->name, "EXISTS") == 0) {
		c->stats.exists = r->number;
		if ((cmd = client_find_kind(c, CMD_SELECT)) != NULL) {
			cmd->sel->exists = (uint32_t)r->number;
			consumed = 1;
		}
	} else if (strcmp(r->name, "EXPUNGE") == 0) {
		c->stats.expunges++;
		if (c->stats.exists > 0)
			c->stats.exists--;
	} else if (strcmp(r->name, "VANISHED") == 0) {
		consumed = client_vanished(c, r);
	} else if (strcmp(r->name, "FETCH") == 0) {
		client_fetch_msg(c, r);
		return;
	} else if ((strcmp(r->name, "LIST") == 0 || strcmp(r->name, "LSUB") == 0) &&
		   (cmd = client_find_kind(c, CMD_LIST)) != NULL) {
		client_list_entry(c, cmd, r);
		consumed = 1;
	} else if ((strcmp(r->name, "SEARCH") == 0 || strcmp(r->name, "ESEARCH") == 0) &&
		   (cmd = client_find_kind(c, CMD_SEARCH)) != NULL) {
		const imap_item *it = r->args;
		uint64_t v;

		if (strcmp(r->name, "SEARCH") == 0) {
			for (; it != NULL; it = it->next)
				if (imap_item_u64(it, UINT32_MAX, &v) == 0 &&
				    client_add_uid(cmd, v) < 0)
					cut_status_set(&cmd->err, CUT_TEMP,
						       CUT_SCOPE_LOCAL, "out of memory");
		} else {
			for (; it != NULL; it = it->next)
				if (imap_item_is(it, "ALL") && it->next != NULL &&
				    client_add_uid_set(cmd, it->next->str) < 0)
					cut_status_set(&cmd->err, CUT_FINAL, CUT_SCOPE_SERVER,
						       "%s: bad ESEARCH result", c->name);
		}
		consumed = 1;
	} else if (strcmp(r->name, "STATUS") == 0 &&
		   (cmd = client_find_kind(c, CMD_STATUS)) != NULL &&
		   client_status_data(cmd, r) == 0) {
		consumed = 1;
	} else if (strcmp(r->name, "NAMESPACE") == 0 &&
		   (cmd = client_find_kind(c, CMD_NAMESPACE)) != NULL) {
		const imap_item *pers = r->args;

		if (pers != NULL && pers->type == IMAP_ITEM_LIST && pers->child != NULL &&
		    pers->child->type == IMAP_ITEM_LIST) {
			const imap_item *pfx = pers->child->child;
			const imap_item *d = imap_item_nth(pfx, 1);

			free(cmd->ns->prefix);
			cmd->ns->prefix = strdup(pfx ? pfx->str : "");
			cmd->ns->delim = d && d->type == IMAP_ITEM_STRING && d->len ? d->str[0] : 0;
		}
		consumed = 1;
	} else if (strcmp(r->name, "FLAGS") == 0 &&
		   (cmd = client_find_kind(c, CMD_SELECT)) != NULL) {
		if (client_flag_list(r->args, cmd->sel->flags, sizeof(cmd->sel->flags)) < 0)
			cmd->sel->flags[0] = '\0';
		consumed = 1;
	} else if (r->status == IMAP_ST_OK && (cmd = client_find_kind(c, CMD_SELECT)) != NULL) {
		imap_select_info *s = cmd->sel;

		switch (r->code.kind) {
		case IMAP_CODE_UIDVALIDITY:
			s->uidvalidity = (uint32_t)r->code.num1;
			break;
		case IMAP_CODE_UIDNEXT:
			s->uidnext = (uint32_t)r->code.num1;
			break;
		case IMAP_CODE_HIGHESTMODSEQ:
			s->highestmodseq = r->code.num1;
			break;
		case IMAP_CODE_NOMODSEQ:
			s->nomodseq = 1;
			break;
		case IMAP_CODE_PERMANENTFLAGS:
			s->permanentflags_sent =
				client_flag_list(r->code.args, s->permanentflags,
						 sizeof(s->permanentflags)) == 0;
			break;
		default:
			break;
		}
		consumed = 1;
	}
	if (!consumed && c->o.on_untagged != NULL)
		c->o.on_untagged(c->o.untagged_ctx, r);
}

static void client_tagged(imap_client *c, const imap_resp *r, cut_status *st)
{
	client_cmd *cmd, *prev = NULL;
	cut_status cst;

	for (cmd = c->queue; cmd != NULL; prev = cmd, cmd = cmd->next)
		if (strcmp(cmd->tag, r->tag) == 0)
			break;
	if (cmd == NULL || (!cmd->sent && cmd != c->writer)) {
		cut_warn("%s: ignoring a response for an unknown tag: %.100s", c->name, r->raw);
		return;
	}
	if (cmd->kind == CMD_STARTTLS && r->status == IMAP_ST_OK)
		c->stop_input = 1;
	if (cmd == c->writer) {
		/* rejected before its literal was sent (RFC 3501 7.5: a
		 * tagged NO instead of "+"): the rest is never sent */
		c->writer = cmd->next;
		c->wait_cont = 0;
	}
	if (r->status == IMAP_ST_OK)
		cut_status_clear(&cst);
	else
		client_classify(c, cmd, r, &cst);
	if (prev)
		prev->next = cmd->next;
	else
		c->queue = cmd->next;
	if (c->queue_tail == cmd)
		c->queue_tail = prev;
	c->inflight--;
	c->inflight_bytes -= cmd->bytes;
	if (c->lit_cmd == cmd)
		c->lit_cmd = NULL;
	cmd_complete(c, cmd, r, &cst);
	cmd_free(cmd);
	(void)st;
}

static int client_literal_event(imap_client *c, const imap_event *ev, cut_status *st)
{
	client_cmd *cmd = c->lit_cmd;

	if (ev->kind == IMAP_EV_LITERAL_BEGIN) {
		uint32_t seq, uid;
		char section[64];

		cut_trace("%s S: %.*s{%llu} <%llu bytes>", c->label, (int)ev->prefix_len,
			  ev->prefix, (unsigned long long)ev->size,
			  (unsigned long long)ev->size);
		cmd = NULL;
		if (imap_parse_fetch_prefix(ev->prefix, ev->prefix_len, &seq, &uid, section,
					    sizeof(section)) == 0 &&
		    (strcasecmp(section, "BODY[]") == 0 || strcasecmp(section, "RFC822") == 0))
			cmd = client_fetch_owner(c, uid, NULL);
		if (cmd == NULL || cmd->sink.begin == NULL) {
			cut_warn("%s: discarding an unexpected literal of %llu bytes",
				 c->name, (unsigned long long)ev->size);
			return 0;
		}
		if (cmd->err.kind == CUT_OK &&
		    cmd->sink.begin(cmd->sink.ctx, seq, uid, ev->size, &cmd->err) < 0 &&
		    cmd->err.kind == CUT_OK)
			cmd->err.kind = CUT_FINAL;
		cmd->in_body = 1;
		c->lit_cmd = cmd;
		return 0;
	}
	if (cmd == NULL || !cmd->in_body)
		return 0;
	if (ev->kind == IMAP_EV_LITERAL_DATA) {
		if (cmd->err.kind == CUT_OK &&
		    cmd->sink.data(cmd->sink.ctx, ev->data, ev->len, &cmd->err) < 0 &&
		    cmd->err.kind == CUT_OK)
			cmd->err.kind = CUT_FINAL;
	} else {
		cmd->in_body = 0;
		if (cmd->err.kind == CUT_OK && cmd->sink.end(cmd->sink.ctx, &cmd->err) < 0 &&
		    cmd->err.kind == CUT_OK)
			cmd->err.kind = CUT_FINAL;
	}
	(void)st;
	return 0;
}

/* Parses and dispatches what is in rbuf.  After an accepted STARTTLS it
 * stops (c->stop_input) and leaves the rest unread: anything there came in
 * plaintext before the handshake and is refused by the caller. */
static int client_process_input(imap_client *c, cut_status *st)
{
	for (;;) {
		imap_event ev;
		size_t used;

		if (imap_parse_next(c->parser, c->rbuf + c->rpos, c->rlen - c->rpos, &used,
				    &ev, st) < 0) {
			cut_status_prefix(st, "%s: ", c->name);
			return -1;
		}
		c->rpos += used;
		switch (ev.kind) {
		case IMAP_EV_NONE:
			c->rpos = c->rlen = 0;
			return 0;
		case IMAP_EV_RESPONSE:
			if (cut_log_enabled(CUT_LOG_TRACE))
				cut_trace("%s S: %.*s", c->label,
					  (int)(ev.resp->raw_len > 2000 ? 2000 : ev.resp->raw_len),
					  ev.resp->raw);
			if (ev.resp->kind == IMAP_RESP_CONTINUE) {
				if (c->wait_cont && c->writer != NULL) {
					cmd_seg *s = &c->writer->seg[c->writer->wseg];

					s->sync = 0; /* go on with the literal */
					c->wait_cont = 0;
				} else {
					cut_debug("%s: unexpected continuation request", c->name);
				}
			} else if (ev.resp->kind == IMAP_RESP_TAGGED) {
				client_tagged(c, ev.resp, st);
				if (c->stop_input)
					return 0; /* STARTTLS: read no further */
			} else {
				client_untagged(c, ev.resp);
			}
			break;
		default:
			if (client_literal_event(c, &ev, st) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

/* One round of I/O.  want_read: something is expected from the server. */
static int client_io(imap_client *c, cut_status *st)
{
	unsigned want = 0, ready = 0;
	size_t got = 0;
	int expect_input;

	if (client_fill(c, st) < 0)
		return -1;
	if (client_flush_some(c, st) < 0)
		return -1;
	/* read what is already there, without waiting */
	for (;;) {
		if (net_read_some(c->net, c->rbuf, CLIENT_RBUF_SIZE, &got, st) < 0) {
			cut_status_prefix(st, "%s ", c->label);
			return -1;
		}
		if (got == 0)
			break;
		c->stats.bytes_in += got;
		c->rpos = 0;
		c->rlen = got;
		if (client_process_input(c, st) < 0)
			return -1;
		if (c->stop_input)
			return 0;
		if (client_fill(c, st) < 0 || client_flush_some(c, st) < 0)
			return -1;
	}
	expect_input = !c->greeted || c->inflight > 0 || c->wait_cont;
	/* a streamed APPEND whose literal can take data now: return to the
	 * caller instead of waiting for server input */
	if (c->push != NULL && c->writer == c->push && !c->wait_cont &&
	    c->push->wseg == 0 && c->push->wtext == c->push->seg[0].text.len &&
	    c->out.len - c->out_off < CLIENT_OUT_HIGH)
		return 0;
	if (expect_input)
		want |= NET_READABLE;
	if (c->out.len > c->out_off)
		want |= NET_WRITABLE;
	if (want == 0)
		return 1; /* nothing to wait for */
	if (!(want & NET_WRITABLE))
		c->stats.read_waits++;
	if (net_wait(c->net, want, -1, &ready, st) < 0) {
		/* net messages start with host:port: "host1 127.0.0.11:993: ..." */
		cut_status_prefix(st, "%s ", c->label);
		return -1;
	}
	return 0;
}

/* Runs until *flag is set (or all done when flag is NULL). */
static int client_run_until(imap_client *c, const int *flag, cut_status *st)
{
	cut_status err;
	int done_before_break = 0;

	while (!c->broken && (flag ? !*flag : c->queue != NULL || !c->greeted)) {
		int r = client_io(c, &err);

		if (r == 1 && (flag == NULL || !*flag) && c->queue == NULL && c->greeted)
			break;
		if (r == 1 && flag != NULL && !*flag && c->writer == NULL) {
			cut_status_set(&err, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s: internal error: waiting for a command "
				       "that is not queued",
				       c->name);
			client_fail(c, &err);
		}
		if (r < 0) {
			if (c->bye && strstr(err.msg, "closed") != NULL) {
				unsigned retry = client_throttle_ms(c->bye_text);

				cut_status_set(&err, CUT_TEMP, CUT_SCOPE_SERVER,
					       "%s%s%s: the server closed the connection: BYE %s",
					       c->name, c->user ? " user " : "",
					       c->user ? c->user : "", c->bye_text);
				err.retry_after_ms = retry;
			}
			done_before_break = c->queue == NULL && c->greeted;
			client_fail(c, &err);
		}
	}
	if (c->broken) {
		if (flag != NULL && *flag)
			return 0; /* completed (with its own status) before */
		/* every queued command had completed when the connection
		 * went (a server closing after its last answer): the run
		 * did its job; later calls report the broken connection */
		if (flag == NULL && done_before_break)
			return 0;
		cut_status_copy(st, &c->broken_st);
		return -1;
	}
	return 0;
}

int imap_client_run(imap_client *c, cut_status *st)
{
	if (client_check(c, st) < 0)
		return -1;
	return client_run_until(c, NULL, st);
}

/* ---- building commands ---- */

static client_cmd *cmd_new(imap_client *c, cmd_kind kind, const char *what)
{
	client_cmd *cmd = calloc(1, sizeof(*cmd));

	if (cmd == NULL)
		return NULL;
	cmd->kind = kind;
	snprintf(cmd->tag, sizeof(cmd->tag), "A%04u", ++c->tagno);
	cut_strlcpy(cmd->what, what, sizeof(cmd->what));
	cmd->nseg = 1;
	cut_buf_printf(&cmd->seg[0].text, "%s ", cmd->tag);
	return cmd;
}

static void cmd_enqueue(imap_client *c, client_cmd *cmd)
{
	int i;

	for (i = 0; i < cmd->nseg; i++)
		cmd->bytes += cmd->seg[i].text.len + cmd->seg[i].size;
	if (c->queue_tail)
		c->queue_tail->next = cmd;
	else
		c->queue = cmd;
	c->queue_tail = cmd;
	if (c->writer == NULL)
		c->writer = cmd;
}

int imap_quote(cut_buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == 0 || ch == '\r' || ch == '\n' || ch >= 0x80)
			return -1;
	}
	if (cut_buf_reserve(out, len * 2 + 2) < 0)
		return -1;
	cut_buf_append(out, "\"", 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			cut_buf_append(out, "\\", 1);
		cut_buf_append(out, &s[i], 1);
	}
	cut_buf_append(out, "\"", 1);
	return 0;
}

/* Appends a string argument: quoted when possible, else a literal that
 * opens a new segment (LITERAL+ when offered).  The string must live as
 * long as the command (callers pass cmd-owned or long-lived memory). */
static int cmd_add_string(imap_client *c, client_cmd *cmd, const char *s, size_t len)
{
	cmd_seg *seg = &cmd->seg[cmd->nseg - 1];

	if (imap_quote(&seg->text, s, len) == 0)
		return 0;
	/* RFC 6855 3: after ENABLE UTF8=ACCEPT quoted strings carry UTF-8 */
	if (imap_client_enabled(c, "UTF8=ACCEPT") && cut_utf8_valid(s, len) &&
	    memchr(s, '\0', len) == NULL && memchr(s, '\r', len) == NULL &&
	    memchr(s, '\n', len) == NULL) {
		size_t i;

		cut_buf_append(&seg->text, "\"", 1);
		for (i = 0; i < len; i++) {
			if (s[i] == '"' || s[i] == '\\')
				cut_buf_append(&seg->text, "\\", 1);
			cut_buf_append(&seg->text, &s[i], 1);
		}
		return cut_buf_append(&seg->text, "\"", 1);
	}
	if (cmd->nseg == CLIENT_MAX_SEGS)
		return -1;
	/* RFC 7888: {n+} needs no round trip */
	if (imap_client_has_cap(c, "LITERAL+") ||
	    (imap_client_has_cap(c, "LITERAL-") && len <= 4096)) {
		cut_buf_printf(&seg->text, "{%zu+}\r\n", len);
	} else {
		cut_buf_printf(&seg->text, "{%zu}\r\n", len);
		seg->sync = 1;
	}
	seg->src = LIT_MEM;
	seg->data = s;
	seg->size = len;
	cmd->nseg++;
	return 0;
}

static int cmd_finish(client_cmd *cmd)
{
	return cut_buf_puts(&cmd->seg[cmd->nseg - 1].text, "\r\n");
}

/* Queues, runs until this command is done, returns its status. */
static int client_exec(imap_client *c, client_cmd *cmd, cut_status *st)
{
	int flag = 0;
	cut_status cst;

	cut_status_clear(&cst);
	cmd->wait_flag = &flag;
	cmd->wait_st = &cst;
	cmd_finish(cmd);
	cmd_enqueue(c, cmd);
	if (client_run_until(c, &flag, st) < 0 && !flag)
		return -1;
	if (cst.kind != CUT_OK) {
		cut_status_copy(st, &cst);
		return -1;
	}
	return 0;
}

static int client_simple(imap_client *c, cmd_kind kind, const char *what,
			 const char *text, cut_status *st)
{
	client_cmd *cmd;

	if (client_check(c, st) < 0)
		return -1;
	cmd = cmd_new(c, kind, what);
	if (cmd == NULL || cut_buf_puts(&cmd->seg[0].text, text) < 0) {
		cmd_free(cmd);
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	}
	return client_exec(c, cmd, st);
}

/* ---- connection ---- */

static int client_starttls(imap_client *c, cut_status *st)
{
	client_cmd *cmd;
	int flag = 0;
	cut_status cst;

	/* RFC 3501 6.2.1: never downgrade silently */
	if (!imap_client_has_cap(c, "STARTTLS"))
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
				      "%s: STARTTLS was asked for but the server does not "
				      "offer it: refusing to continue without TLS (use "
				      "IMAPS or check the server's TLS setup)",
				      c->name);
	cmd = cmd_new(c, CMD_STARTTLS, "STARTTLS");
	if (cmd == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	cut_buf_puts(&cmd->seg[0].text, "STARTTLS");
	cmd->wait_flag = &flag;
	cmd->wait_st = &cst;
	cut_status_clear(&cst);
	cmd_finish(cmd);
	cmd_enqueue(c, cmd);
	if (client_run_until(c, &flag, st) < 0)
		return -1;
	if (cst.kind != CUT_OK) {
		cut_status_copy(st, &cst);
		return -1;
	}
	/* anything received after the OK was sent in plaintext by someone
	 * (RFC 3501 6.2.1 / CVE-2011-0411 class): refuse */
	c->stop_input = 0;
	if (c->rpos < c->rlen)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
				      "%s: data received after the STARTTLS answer, before "
				      "TLS started: refusing (possible injection)",
				      c->name);
	if (net_start_tls(c->net, st) < 0) {
		cut_status_prefix(st, "%s ", c->label);
		return -1;
	}
	imap_parser_reset(c->parser);
	/* RFC 3501 6.2.1: capabilities must be asked again after TLS */
	cut_buf_reset(&c->caps);
	return imap_capability(c, st);
}

int imap_client_connect(const imap_client_opts *o, imap_client **c_r, cut_status *st)
{
	imap_client *c = NULL;
	net_opts no;
	int ret = -1;

	*c_r = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto nomem;
	c->o = *o;
	c->label = strdup(o->label ? o->label : "imap");
	c->host = o->host ? strdup(o->host) : NULL;
	c->tls_name = o->tls_name ? strdup(o->tls_name) : NULL;
	c->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
	c->rbuf = malloc(CLIENT_RBUF_SIZE);
	if (c->label == NULL || c->host == NULL || c->rbuf == NULL)
		goto nomem;
	c->o.label = c->label;
	c->o.host = c->host;
	c->o.tls_name = c->tls_name;
	c->o.ca_file = c->ca_file;
	if (c->o.port == 0)
		c->o.port = o->tls == IMAP_TLS_IMPLICIT ? 993 : 143;
	if (imap_parser_new(&o->limits, &c->parser, st) < 0)
		goto done;
	memset(&no, 0, sizeof(no));
	no.host = c->host;
	no.port = c->o.port;
	no.tls = o->tls == IMAP_TLS_IMPLICIT ? NET_TLS_IMPLICIT : NET_TLS_NONE;
	no.tls_name = c->tls_name;
	no.ca_file = c->ca_file;
	no.insecure = o->insecure;
	no.connect_timeout = o->connect_timeout;
	no.io_timeout = o->io_timeout;
	if (net_connect(&no, &c->net, st) < 0) {
		cut_status_prefix(st, "%s ", c->label);
		goto done;
	}
	snprintf(c->name, sizeof(c->name), "%s %s", c->label, net_peer(c->net));
	if (client_run_until(c, NULL, st) < 0)
		goto done;
	if (c->bye) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
			       "%s: the server refused the connection: BYE %s", c->name,
			       c->bye_text);
		st->retry_after_ms = client_throttle_ms(c->bye_text);
		goto done;
	}
	if (o->tls == IMAP_TLS_STARTTLS) {
		if (c->caps.len == 0 && imap_capability(c, st) < 0)
			goto done;
		if (client_starttls(c, st) < 0)
			goto done;
	} else if (c->caps.len == 0 && imap_capability(c, st) < 0) {
		goto done;
	}
	if (net_is_tls(c->net))
		cut_debug("%s: connected, %s", c->name, net_tls_desc(c->net));
	*c_r = c;
	c = NULL;
	ret = 0;
	goto done;
nomem:
	cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
done:
	imap_client_free(&c);
	return ret;
}

static void client_b64(cut_buf *out, const unsigned char *p, size_t n)
{
	static const char t[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		char q[4] = {t[p[i] >> 2], t[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
			     t[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)], t[p[i + 2] & 63]};
		cut_buf_append(out, q, 4);
	}
	if (n - i == 1) {
		char q[4] = {t[p[i] >> 2], t[(p[i] & 3) << 4], '=', '='};
		cut_buf_append(out, q, 4);
	} else if (n - i == 2) {
		char q[4] = {t[p[i] >> 2], t[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
			     t[(p[i + 1] & 15) << 2], '='};
		cut_buf_append(out, q, 4);
	}
}

int imap_client_login(imap_client *c, const char *user, const char *authuser,
		      const char *password, imap_auth method, cut_status *st)
{
	client_cmd *cmd = NULL;
	char what[160];
	int ret = -1;

	if (client_check(c, st) < 0)
		return -1;
	if (method == IMAP_AUTH_AUTO)
		method = (imap_client_has_cap(c, "AUTH=PLAIN") || authuser != NULL)
				 ? IMAP_AUTH_PLAIN
				 : IMAP_AUTH_LOGIN;
	if (method == IMAP_AUTH_LOGIN && imap_client_has_cap(c, "LOGINDISABLED"))
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
				      "%s: the server refuses LOGIN here (LOGINDISABLED): "
				      "use TLS (IMAPS or STARTTLS)",
				      c->name);
	if (authuser != NULL)
		snprintf(what, sizeof(what), "login as %s (authenticating as %s)", user,
			 authuser);
	else
		snprintf(what, sizeof(what), "login as %s", user);
	cmd = cmd_new(c, CMD_LOGIN, what);
	if (cmd == NULL)
		goto nomem;
	if (method == IMAP_AUTH_PLAIN) {
		/* RFC 4616 2: authzid NUL authcid NUL passwd */
		cut_buf raw = CUT_BUF_INIT, b64 = CUT_BUF_INIT;
		const char *authzid = authuser ? user : "";
		const char *authcid = authuser ? authuser : user;

		cut_buf_append(&raw, authzid, strlen(authzid));
		cut_buf_append(&raw, "", 1);
		cut_buf_append(&raw, authcid, strlen(authcid));
		cut_buf_append(&raw, "", 1);
		cut_buf_append(&raw, password, strlen(password));
		client_b64(&b64, (const unsigned char *)raw.data, raw.len);
		if (raw.data)
			cut_secret_free(&raw.data);
		cut_buf_append(&b64, "", 0);
		cmd->owned = cut_buf_steal(&b64);
		if (cmd->owned == NULL)
			goto nomem;
		if (imap_client_has_cap(c, "SASL-IR")) {
			/* RFC 4959: initial response on the command line */
			cut_buf_puts(&cmd->seg[0].text, "AUTHENTICATE PLAIN ");
			cmd->seg[0].mask_from = cmd->seg[0].text.len;
			cut_buf_puts(&cmd->seg[0].text, cmd->owned);
		} else {
			/* wait for "+", then send the payload as a line */
			cmd_seg *s = &cmd->seg[0];

			cut_buf_puts(&s->text, "AUTHENTICATE PLAIN\r\n");
			s->src = LIT_MEM;
			s->sync = 1;
			s->data = cmd->owned;
			s->size = strlen(cmd->owned);
			cmd->nseg = 2;
		}
	} else {
		cut_buf_puts(&cmd->seg[0].text, "LOGIN ");
		if (cmd_add_string(c, cmd, user, strlen(user)) < 0)
			goto badarg;
		cut_buf_puts(&cmd->seg[cmd->nseg - 1].text, " ");
		cmd->seg[cmd->nseg - 1].mask_from = cmd->seg[cmd->nseg - 1].text.len;
		if (cmd_add_string(c, cmd, password, strlen(password)) < 0)
			goto badarg;
	}
	ret = client_exec(c, cmd, st);
	cmd = NULL;
	if (ret < 0)
		return -1;
	free(c->user);
	c->user = strdup(user);
	/* RFC 3501 6.2.3: capabilities may change after login */
	if (c->caps.len == 0 || !imap_client_has_cap(c, "IMAP4REV1"))
		return imap_capability(c, st);
	return 0;
badarg:
	cmd_free(cmd);
	return cut_status_set(st, CUT_FINAL, CUT_SCOPE_ACCOUNT,
			      "%s: user name or password cannot be sent with LOGIN "
			      "(NUL, CR or LF)",
			      c->name);
nomem:
	cmd_free(cmd);
	return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
}

int imap_client_connect_login(const imap_client_opts *o, const char *user,
			      const char *password, imap_client **c_r, cut_status *st)
{
	imap_client *c = NULL;

	*c_r = NULL;
	if (imap_client_connect(o, &c, st) < 0)
		return -1;
	if (!c->preauth && imap_client_login(c, user, NULL, password, IMAP_AUTH_AUTO, st) < 0) {
		imap_client_free(&c);
		return -1;
	}
	cut_debug("%s: logged in as %s", c->name, c->preauth ? "(pre-authenticated)" : user);
	*c_r = c;
	return 0;
}

int imap_client_logout(imap_client *c, cut_status *st)
{
	cut_status tmp;

	if (c == NULL || c->broken)
		return 0;
	c->logout_sent = 1;
	client_simple(c, CMD_LOGOUT, "LOGOUT", "LOGOUT", &tmp);
	return 0;
}

void imap_client_free(imap_client **cp)
{
	imap_client *c;
	cut_status st;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	if (c->queue != NULL) {
		cut_status_set(&st, CUT_CANCELLED, CUT_SCOPE_SERVER, "%s: client closed",
			       c->name[0] ? c->name : c->label ? c->label : "imap");
		c->broken = 0;
		client_fail(c, &st);
	}
	net_close(&c->net);
	imap_parser_free(&c->parser);
	cut_buf_free(&c->caps);
	cut_buf_free(&c->enabled);
	cut_buf_free(&c->out);
	cut_buf_free(&c->scratch);
	free(c->rbuf);
	free(c->label);
	free(c->user);
	free(c->host);
	free(c->tls_name);
	free(c->ca_file);
	free(c);
	*cp = NULL;
}

/* ---- commands ---- */

int imap_capability(imap_client *c, cut_status *st)
{
	return client_simple(c, CMD_CAPABILITY, "CAPABILITY", "CAPABILITY", st);
}

int imap_noop(imap_client *c, cut_status *st)
{
	return client_simple(c, CMD_GENERIC, "NOOP", "NOOP", st);
}

int imap_enable(imap_client *c, const char *caps, cut_status *st)
{
	cut_buf b = CUT_BUF_INIT;
	const char *p = caps, *w;
	size_t n;
	int ret = 0;

	cut_buf_puts(&b, "ENABLE");
	while ((n = client_word(&p, &w)) > 0) {
		char cap[64];

		if (n >= sizeof(cap))
			continue;
		memcpy(cap, w, n);
		cap[n] = '\0';
		if (imap_client_has_cap(c, cap) ||
		    (strcasecmp(cap, "UTF8=ACCEPT") == 0 && imap_client_has_cap(c, "UTF8=ONLY")))
			cut_buf_printf(&b, " %s", cap);
	}
	if (b.data == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	if (b.len > strlen("ENABLE") && imap_client_has_cap(c, "ENABLE"))
		ret = client_simple(c, CMD_ENABLE, "ENABLE", b.data, st);
	cut_buf_free(&b);
	return ret;
}

int imap_get_namespace(imap_client *c, imap_namespace *ns_r, cut_status *st)
{
	client_cmd *cmd;

	memset(ns_r, 0, sizeof(*ns_r));
	if (client_check(c, st) < 0)
		return -1;
	if (!imap_client_has_cap(c, "NAMESPACE")) {
		imap_mailbox *l = NULL;
		size_t n = 0;

		ns_r->prefix = strdup("");
		if (imap_list(c, "", "", 0, &l, &n, st) < 0)
			return -1;
		if (n > 0)
			ns_r->delim = l[0].delim;
		imap_mailboxes_free(&l, n);
		return 0;
	}
	cmd = cmd_new(c, CMD_NAMESPACE, "NAMESPACE");
	if (cmd == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	cut_buf_puts(&cmd->seg[0].text, "NAMESPACE");
	cmd->ns = ns_r;
	if (client_exec(c, cmd, st) < 0) {
		imap_namespace_free(ns_r);
		return -1;
	}
	if (ns_r->prefix == NULL)
		ns_r->prefix = strdup("");
	return 0;
}

void imap_namespace_free(imap_namespace *ns)
{
	if (ns == NULL)
		return;
	free(ns->prefix);
	ns->prefix = NULL;
}

int imap_list(imap_client *c, const char *ref, const char *pattern, int lsub,
	      imap_mailbox **list_r, size_t *n_r, cut_status *st)
{
	client_cmd *cmd;
	cut_buf *t;

	*list_r = NULL;
	*n_r = 0;
	if (client_check(c, st) < 0)
		return -1;
	cmd = cmd_new(c, CMD_LIST, lsub ? "LSUB" : "LIST");
	if (cmd == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	t = &cmd->seg[0].text;
	cut_buf_puts(t, lsub ? "LSUB " : "LIST ");
	if (imap_quote(t, ref, strlen(ref)) < 0 ||
	    (cut_buf_puts(t, " "), imap_quote(t, pattern, strlen(pattern))) < 0) {
		cmd_free(cmd);
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: LIST pattern cannot be quoted", c->name);
	}
	/* RFC 6154 2: RETURN (SPECIAL-USE) with LIST-EXTENDED */
	if (!lsub && pattern[0] != '\0' && imap_client_has_cap(c, "SPECIAL-USE") &&
	    imap_client_has_cap(c, "LIST-EXTENDED"))
		cut_buf_puts(t, " RETURN (SPECIAL-USE)");
	cmd->list = list_r;
	cmd->nlist = n_r;
	if (client_exec(c, cmd, st) < 0) {
		imap_mailboxes_free(list_r, *n_r);
		*n_r = 0;
		return -1;
	}
	return 0;
}

void imap_mailboxes_free(imap_mailbox **list, size_t n)
{
	size_t i;

	if (list == NULL || *list == NULL)
		return;
	for (i = 0; i < n; i++) {
		free((*list)[i].raw);
		free((*list)[i].name);
		free((*list)[i].attr_text);
	}
	free(*list);
	*list = NULL;
}

static int cmd_add_mailbox(imap_client *c, client_cmd *cmd, const char *mailbox)
{
	/* mailbox names are quoted; 8-bit (UTF8=ACCEPT) goes as a literal */
	return cmd_add_string(c, cmd, mailbox, strlen(mailbox));
}

/* The SELECT or EXAMINE command for imap_select() and imap_select_async(),
 * not yet finished or queued; NULL with *st on failure. */
/* Queues a built command whose completion goes to done(done_ctx), and
 * writes it at once: the server works on it while the caller waits. */
static int cmd_submit(imap_client *c, client_cmd *cmd, imap_done_fn done, void *done_ctx)
{
	cmd->done_fn = done;
	cmd->ctx = done_ctx;
	cmd_finish(cmd);
	cmd_enqueue(c, cmd);
	client_kick(c);
	return 0;
}

static client_cmd *select_cmd(imap_client *c, const char *mailbox, int readonly,
			      int condstore, imap_select_info *info_r,
			      cut_status *st)
{
	client_cmd *cmd;
	char what[160];

	memset(info_r, 0, sizeof(*info_r));
	if (client_check(c, st) < 0)
		return NULL;
	snprintf(what, sizeof(what), "%s \"%.120s\"", readonly ? "EXAMINE" : "SELECT",
		 mailbox);
	cmd = cmd_new(c, CMD_SELECT, what);
	if (cmd == NULL) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
		return NULL;
	}
	cut_buf_puts(&cmd->seg[0].text, readonly ? "EXAMINE " : "SELECT ");
	if (cmd_add_mailbox(c, cmd, mailbox) < 0) {
		cmd_free(cmd);
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
			       "%s: bad mailbox name \"%s\"", c->name, mailbox);
		return NULL;
	}
	/* RFC 7162 3.1.8: SELECT ... (CONDSTORE) */
	if (condstore && imap_client_has_cap(c, "CONDSTORE") &&
	    !imap_client_enabled(c, "CONDSTORE") && !imap_client_enabled(c, "QRESYNC"))
		cut_buf_puts(&cmd->seg[cmd->nseg - 1].text, " (CONDSTORE)");
	cmd->sel = info_r;
	c->stats.exists = 0;
	return cmd;
}

int imap_select(imap_client *c, const char *mailbox, int readonly, int condstore,
		imap_select_info *info_r, cut_status *st)
{
	client_cmd *cmd = select_cmd(c, mailbox, readonly, condstore, info_r, st);

	if (cmd == NULL)
		return -1;
	return client_exec(c, cmd, st);
}

int imap_select_async(imap_client *c, const char *mailbox, int readonly,
		      int condstore, imap_select_info *info_r, imap_done_fn done,
		      void *done_ctx, cut_status *st)
{
	client_cmd *cmd = select_cmd(c, mailbox, readonly, condstore, info_r, st);

	if (cmd == NULL)
		return -1;
	return cmd_submit(c, cmd, done, done_ctx);
}

int imap_status_async(imap_client *c, const char *mailbox, imap_select_info *info_r,
		      imap_done_fn done, void *done_ctx, cut_status *st)
{
	client_cmd *cmd;
	char what[160];

	memset(info_r, 0, sizeof(*info_r));
	if (client_check(c, st) < 0)
		return -1;
	snprintf(what, sizeof(what), "STATUS \"%.120s\"", mailbox);
	cmd = cmd_new(c, CMD_STATUS, what);
	if (cmd == NULL || (cmd->owned = strdup(mailbox)) == NULL) {
		cmd_free(cmd);
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	}
	cut_buf_puts(&cmd->seg[0].text, "STATUS ");
	if (cmd_add_mailbox(c, cmd, mailbox) < 0) {
		cmd_free(cmd);
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
				      "%s: bad mailbox name \"%s\"", c->name, mailbox);
	}
	cut_buf_printf(&cmd->seg[cmd->nseg - 1].text, " (MESSAGES UIDNEXT UIDVALIDITY%s)",
		       imap_client_has_cap(c, "CONDSTORE") ? " HIGHESTMODSEQ" : "");
	cmd->sel = info_r;
	return cmd_submit(c, cmd, done, done_ctx);
}

static int client_mailbox_cmd(imap_client *c, const char *verb, const char *mailbox,
			      cut_status *st)
{
	client_cmd *cmd;
	char what[160];

	if (client_check(c, st) < 0)
		return -1;
	snprintf(what, sizeof(what), "%s \"%.120s\"", verb, mailbox);
	cmd = cmd_new(c, CMD_GENERIC, what);
	if (cmd == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	cut_buf_printf(&cmd->seg[0].text, "%s ", verb);
	if (cmd_add_mailbox(c, cmd, mailbox) < 0) {
		cmd_free(cmd);
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
				      "%s: bad mailbox name \"%s\"", c->name, mailbox);
	}
	return client_exec(c, cmd, st);
}

int imap_create(imap_client *c, const char *mailbox, int exist_ok, cut_status *st)
{
	cut_status tmp;

	cut_status_clear(&tmp);
	if (client_mailbox_cmd(c, "CREATE", mailbox, &tmp) == 0)
		return 0;
	/* RFC 5530 [ALREADYEXISTS]; older servers only say it in the text */
	if (exist_ok && !c->broken &&
	    (strstr(tmp.msg, "[ALREADYEXISTS]") != NULL ||
	     strcasestr(tmp.msg, "already exists") != NULL))
		return 0;
	cut_status_copy(st, &tmp);
	return -1;
}

int imap_subscribe(imap_client *c, const char *mailbox, cut_status *st)
{
	return client_mailbox_cmd(c, "SUBSCRIBE", mailbox, st);
}

static int cmpu32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int imap_uid_search(imap_client *c, const char *criteria, uint32_t **uids_r,
		    size_t *n_r, cut_status *st)
{
	client_cmd *cmd;

	*uids_r = NULL;
	*n_r = 0;
	if (client_check(c, st) < 0)
		return -1;
	cmd = cmd_new(c, CMD_SEARCH, "UID SEARCH");
	if (cmd == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	/* RFC 4731: RETURN (ALL) gives compact sets instead of every UID */
	cut_buf_printf(&cmd->seg[0].text, "UID SEARCH %s%s",
		       imap_client_has_cap(c, "ESEARCH") ? "RETURN (ALL) " : "", criteria);
	cmd->uids = uids_r;
	cmd->nuids = n_r;
	if (client_exec(c, cmd, st) < 0) {
		free(*uids_r);
		*uids_r = NULL;
		*n_r = 0;
		return -1;
	}
	if (*n_r > 1)
		qsort(*uids_r, *n_r, sizeof(**uids_r), cmpu32);
	return 0;
}

int imap_uid_fetch_async(imap_client *c, const imap_fetch_req *req, imap_done_fn done,
			 void *done_ctx, cut_status *st)
{
	client_cmd *cmd;
	cut_buf *t;

	if (client_check(c, st) < 0)
		return -1;
	cmd = cmd_new(c, CMD_FETCH, "UID FETCH");
	if (cmd == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	snprintf(cmd->what, sizeof(cmd->what), "UID FETCH %.100s", req->uid_set);
	cmd->fetch = *req;
	cmd->fetch.uid_set = strdup(req->uid_set);
	cmd->fetch.header_fields = req->header_fields ? strdup(req->header_fields) : NULL;
	fetch_set_parse(cmd, req->uid_set);
	if (req->sink != NULL)
		cmd->sink = *req->sink;
	cmd->fetch.sink = NULL;
	t = &cmd->seg[0].text;
	cut_buf_printf(t, "UID FETCH %s (UID", req->uid_set);
	if (req->items & IMAP_FETCH_FLAGS)
		cut_buf_puts(t, " FLAGS");
	if (req->items & IMAP_FETCH_INTERNALDATE)
		cut_buf_puts(t, " INTERNALDATE");
	if (req->items & IMAP_FETCH_SIZE)
		cut_buf_puts(t, " RFC822.SIZE");
	if (req->items & IMAP_FETCH_MODSEQ)
		cut_buf_puts(t, " MODSEQ");
	if (req->items & IMAP_FETCH_HEADER)
		cut_buf_printf(t, " BODY.PEEK[HEADER.FIELDS (%s)]",
			       req->header_fields ? req->header_fields : "MESSAGE-ID");
	if (req->items & IMAP_FETCH_BODY)
		cut_buf_puts(t, " BODY.PEEK[]");
	cut_buf_puts(t, ")");
	/* RFC 7162 3.1.4.1; VANISHED needs QRESYNC enabled (3.2.6) */
	if (req->changedsince)
		cut_buf_printf(t, " (CHANGEDSINCE %llu%s)", (unsigned long long)req->changedsince,
			       req->vanished && imap_client_enabled(c, "QRESYNC") ? " VANISHED"
										 : "");
	return cmd_submit(c, cmd, done, done_ctx);
}

static void client_wait_done(void *ctx, const imap_resp *tagged, const cut_status *st)
{
	cut_status_copy(ctx, st);
}

int imap_uid_fetch(imap_client *c, const imap_fetch_req *req, cut_status *st)
{
	cut_status cst;
	client_cmd *cmd;
	int flag = 0;

	cut_status_clear(&cst);
	if (imap_uid_fetch_async(c, req, client_wait_done, &cst, st) < 0)
		return -1;
	cmd = c->queue_tail;
	cmd->wait_flag = &flag;
	if (client_run_until(c, &flag, st) < 0 && !flag)
		return -1;
	if (cst.kind != CUT_OK) {
		cut_status_copy(st, &cst);
		return -1;
	}
	return 0;
}

/* Builds "APPEND mailbox (flags) "date" {n+}\r\n". */
static client_cmd *client_append_cmd(imap_client *c, const imap_append_req *req,
				   cut_status *st)
{
	client_cmd *cmd;
	cut_buf *t;
	cmd_seg *s;

	/* (imap_append_stream_add() builds its text here with push set) */
	if (client_check_broken(c, st) < 0)
		return NULL;
	cmd = cmd_new(c, CMD_APPEND, "APPEND");
	if (cmd == NULL) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
		return NULL;
	}
	snprintf(cmd->what, sizeof(cmd->what), "APPEND to \"%.100s\" (%llu bytes)",
		 req->mailbox, (unsigned long long)req->size);
	t = &cmd->seg[0].text;
	cut_buf_puts(t, "APPEND ");
	if (cmd_add_mailbox(c, cmd, req->mailbox) < 0 || cmd->nseg > 1) {
		/* keep the body literal the only one: 8-bit names need
		 * UTF8=ACCEPT and quoting */
		cmd_free(cmd);
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
			       "%s: mailbox name \"%s\" cannot be quoted", c->name,
			       req->mailbox);
		return NULL;
	}
	if (req->flags != NULL) {
		/* RFC 3501 6.3.11: \Recent cannot be set */
		const char *p = req->flags, *w;
		size_t n;
		int first = 1;

		cut_buf_puts(t, " (");
		while ((n = client_word(&p, &w)) > 0) {
			if (n == 7 && strncasecmp(w, "\\Recent", 7) == 0)
				continue;
			cut_buf_printf(t, "%s%.*s", first ? "" : " ", (int)n, w);
			first = 0;
		}
		cut_buf_puts(t, ")");
	}
	if (req->internaldate != NULL) {
		cut_buf_puts(t, " ");
		if (imap_quote(t, req->internaldate, strlen(req->internaldate)) < 0) {
			cmd_free(cmd);
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_MESSAGE, "%s: bad INTERNALDATE",
				       c->name);
			return NULL;
		}
	}
	s = &cmd->seg[0];
	/* RFC 7888: LITERAL+ (any size) or LITERAL- (up to 4096) avoid the
	 * round trip of a synchronising literal */
	if (imap_client_has_cap(c, "LITERAL+") ||
	    (imap_client_has_cap(c, "LITERAL-") && req->size <= 4096)) {
		cut_buf_printf(t, " {%llu+}\r\n", (unsigned long long)req->size);
	} else {
		cut_buf_printf(t, " {%llu}\r\n", (unsigned long long)req->size);
		s->sync = 1;
	}
	s->size = req->size;
	s->src = req->data != NULL ? LIT_MEM : LIT_READ;
	s->data = req->data;
	s->read = req->read;
	s->read_ctx = req->read_ctx;
	cmd->nseg = 2; /* seg[1]: the final CRLF */
	return cmd;
}

int imap_append_async(imap_client *c, const imap_append_req *req,
		      imap_append_done_fn done, void *ctx, cut_status *st)
{
	client_cmd *cmd;

	if (req->data == NULL && req->read == NULL && req->size > 0)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: APPEND without message data", c->name);
	if (c->push != NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: APPEND queued during a streamed APPEND",
				      c->name);
	cmd = client_append_cmd(c, req, st);
	if (cmd == NULL)
		return -1;
	cmd->append_fn = done;
	cmd->ctx = ctx;
	cmd_finish(cmd);
	cmd_enqueue(c, cmd);
	return 0;
}

typedef struct append_wait {
	cut_status st;
	imap_append_result res;
} append_wait;

static void client_append_wait_done(void *ctx, const imap_append_result *r,
				    const cut_status *st)
{
	append_wait *w = ctx;

	cut_status_copy(&w->st, st);
	w->res = *r;
}

int imap_append(imap_client *c, const imap_append_req *req, imap_append_result *res_r,
		cut_status *st)
{
	append_wait w;
	int flag = 0;

	memset(&w, 0, sizeof(w));
	if (imap_append_async(c, req, client_append_wait_done, &w, st) < 0)
		return -1;
	c->queue_tail->wait_flag = &flag;
	if (client_run_until(c, &flag, st) < 0 && !flag)
		return -1;
	if (res_r != NULL)
		*res_r = w.res;
	if (w.st.kind != CUT_OK) {
		cut_status_copy(st, &w.st);
		return -1;
	}
	return 0;
}

/* Runs the client until the push command's current literal can take
 * data: its text is written and, for a synchronising literal, the "+"
 * came (RFC 3501 7.5). */
static int client_push_ready(imap_client *c, client_cmd *cmd, cut_status *st)
{
	while (!c->broken && !cmd->done &&
	       !(c->writer == cmd && cmd->wseg == 0 && cmd->wtext == cmd->seg[0].text.len &&
		 !c->wait_cont)) {
		cut_status err;

		if (client_io(c, &err) < 0)
			client_fail(c, &err);
	}
	if (c->broken || cmd->done) {
		c->push = NULL;
		if (c->broken)
			return client_check_broken(c, st);
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_MESSAGE,
				      "%s: APPEND refused before the message was sent",
				      c->name);
	}
	return 0;
}

int imap_append_stream_begin(imap_client *c, const imap_append_req *req,
			     imap_append_done_fn done, void *ctx, cut_status *st)
{
	client_cmd *cmd;

	if (c->push != NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: streamed APPEND already in progress", c->name);
	cmd = client_append_cmd(c, req, st);
	if (cmd == NULL)
		return -1;
	cmd->seg[0].src = LIT_PUSH;
	cmd->append_fn = done;
	cmd->ctx = ctx;
	cmd_finish(cmd);
	cmd_enqueue(c, cmd);
	c->push = cmd;
	/* run until the writer reaches our literal (and "+" came) */
	return client_push_ready(c, cmd, st);
}

int imap_append_stream_can_add(const imap_client *c)
{
	return imap_client_has_cap(c, "MULTIAPPEND");
}

int imap_append_stream_add(imap_client *c, const imap_append_req *req, cut_status *st)
{
	client_cmd *cmd = c->push, *tmp = NULL;
	cmd_seg *s;
	const char *t;
	size_t tlen;

	if (client_check_broken(c, st) < 0)
		return -1;
	if (cmd == NULL || cmd->wlit != cmd->seg[0].size)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: streamed APPEND: next message before the "
				      "current one is complete",
				      c->name);
	if (!imap_append_stream_can_add(c))
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: no MULTIAPPEND", c->name);
	/* RFC 3502 6.3.11: append-data = SP [flag-list SP] [date-time SP]
	 * literal, repeated inside one APPEND command.  The text is built
	 * like a single APPEND's and everything up to the mailbox dropped. */
	tmp = client_append_cmd(c, req, st);
	if (tmp == NULL)
		return -1;
	t = tmp->seg[0].text.data;
	tlen = tmp->seg[0].text.len;
	/* skip "Axxxx APPEND <mailbox>": the mailbox ends where the
	 * per-message part starts, which is the first " (", " \"" or " {"
	 * after the mailbox; the mailbox is quoted or an atom without them */
	{
		size_t mlen = strlen(tmp->tag) + strlen(" APPEND ");
		const char *m = t + mlen;

		if (*m == '"') {
			m++;
			while (*m != '\0' && *m != '"')
				m += (*m == '\\' && m[1] != '\0') ? 2 : 1;
			if (*m == '"')
				m++;
		} else {
			while (*m != '\0' && *m != ' ')
				m++;
		}
		tlen -= (size_t)(m - t);
		t = m;
	}
	s = &cmd->seg[0];
	if (client_out_append(c, t, tlen) < 0) {
		cmd_free(tmp);
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	}
	cmd->bytes += tlen + req->size;
	c->inflight_bytes += tlen + req->size;
	s->size = req->size;
	cmd->wlit = 0;
	if (tmp->seg[0].sync) {
		s->sync = 1;
		c->wait_cont = 1;
	}
	snprintf(cmd->what, sizeof(cmd->what), "%s", tmp->what);
	/* t points into tmp's text: trace before freeing it */
	if (cut_log_enabled(CUT_LOG_TRACE))
		cut_trace("%s C: %.*s", c->label, (int)(tlen > 2 ? tlen - 2 : tlen), t);
	cmd_free(tmp);
	return client_push_ready(c, cmd, st);
}

int imap_append_stream_write(imap_client *c, const void *p, size_t n, cut_status *st)
{
	client_cmd *cmd = c->push;

	if (client_check_broken(c, st) < 0)
		return -1;
	if (cmd == NULL || cmd->wlit + n > cmd->seg[0].size)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: streamed APPEND: more data than announced",
				      c->name);
	if (client_out_append(c, p, n) < 0)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	cmd->wlit += n;
	/* bounded buffering: flush down below the high mark */
	while (!c->broken && c->out.len - c->out_off >= CLIENT_OUT_HIGH) {
		cut_status err;

		if (client_io(c, &err) < 0)
			client_fail(c, &err);
	}
	return client_check_broken(c, st);
}

int imap_append_stream_end(imap_client *c, cut_status *st)
{
	client_cmd *cmd = c->push;

	if (client_check_broken(c, st) < 0)
		return -1;
	if (cmd == NULL || cmd->wlit != cmd->seg[0].size) {
		cut_status e;

		cut_status_set(&e, CUT_FINAL, CUT_SCOPE_MESSAGE,
			       "%s: streamed APPEND got %llu of %llu bytes", c->name,
			       cmd ? (unsigned long long)cmd->wlit : 0ull,
			       cmd ? (unsigned long long)cmd->seg[0].size : 0ull);
		/* the literal cannot be completed: the connection is lost */
		client_fail(c, &e);
		cut_status_copy(st, &e);
		return -1;
	}
	c->push = NULL;
	if (client_fill(c, st) < 0 || client_flush_some(c, st) < 0)
		return -1;
	return 0;
}

int imap_client_flush(imap_client *c, cut_status *st)
{
	for (;;) {
		unsigned ready = 0;

		if (client_check_broken(c, st) < 0 || client_fill(c, st) < 0 ||
		    client_flush_some(c, st) < 0)
			return -1;
		if (c->out.len == c->out_off)
			return 0;
		if (net_wait(c->net, NET_WRITABLE, -1, &ready, st) < 0) {
			cut_status_prefix(st, "%s ", c->label);
			return -1;
		}
	}
}

int imap_append_stream_abort(imap_client *c, cut_status *st)
{
	cut_status e;

	if (c->push == NULL)
		return 0;
	/* A literal cannot be taken back: only closing the connection ends
	 * the command, and the server then appends none of its messages
	 * (RFC 3502 6.3.11: all or none). */
	cut_status_set(&e, CUT_TEMP, CUT_SCOPE_SERVER,
		       "%s: streamed APPEND abandoned (the message source failed)",
		       c->name);
	client_fail(c, &e);
	if (st != NULL)
		cut_status_copy(st, &e);
	return -1;
}

int imap_uid_store_async(imap_client *c, const char *uid_set, const char *op, int silent,
			 const char *flags, imap_done_fn done, void *ctx, cut_status *st)
{
	client_cmd *cmd;

	if (client_check(c, st) < 0)
		return -1;
	cmd = cmd_new(c, CMD_GENERIC, "UID STORE");
	if (cmd == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	snprintf(cmd->what, sizeof(cmd->what), "UID STORE %.60s %s (%.60s)", uid_set, op,
		 flags ? flags : "");
	cut_buf_printf(&cmd->seg[0].text, "UID STORE %s %s%s (%s)", uid_set, op,
		       silent ? ".SILENT" : "", flags ? flags : "");
	cmd->done_fn = done;
	cmd->ctx = ctx;
	cmd_finish(cmd);
	cmd_enqueue(c, cmd);
	return 0;
}

int imap_uid_store(imap_client *c, const char *uid_set, const char *op, const char *flags,
		   cut_status *st)
{
	cut_status cst;
	int flag = 0;

	cut_status_clear(&cst);
	if (imap_uid_store_async(c, uid_set, op, 1, flags, client_wait_done, &cst, st) < 0)
		return -1;
	c->queue_tail->wait_flag = &flag;
	if (client_run_until(c, &flag, st) < 0 && !flag)
		return -1;
	if (cst.kind != CUT_OK) {
		cut_status_copy(st, &cst);
		return -1;
	}
	return 0;
}

int imap_uid_expunge(imap_client *c, const char *uid_set, cut_status *st)
{
	char text[600];

	if (!imap_client_has_cap(c, "UIDPLUS"))
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
				      "%s: the server lacks UIDPLUS: UID EXPUNGE is not "
				      "possible",
				      c->name);
	snprintf(text, sizeof(text), "UID EXPUNGE %s", uid_set);
	return client_simple(c, CMD_GENERIC, "UID EXPUNGE", text, st);
}

int imap_expunge(imap_client *c, cut_status *st)
{
	return client_simple(c, CMD_GENERIC, "EXPUNGE", "EXPUNGE", st);
}

int imap_cmd_async(imap_client *c, const char *args, imap_done_fn done, void *ctx,
		   cut_status *st)
{
	client_cmd *cmd;

	if (client_check(c, st) < 0)
		return -1;
	cmd = cmd_new(c, CMD_GENERIC, args);
	if (cmd == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
	cut_buf_puts(&cmd->seg[0].text, args);
	cmd->done_fn = done;
	cmd->ctx = ctx;
	cmd_finish(cmd);
	cmd_enqueue(c, cmd);
	return 0;
}

int imap_cmd(imap_client *c, const char *args, cut_status *st)
{
	return client_simple(c, CMD_GENERIC, args, args, st);
}
