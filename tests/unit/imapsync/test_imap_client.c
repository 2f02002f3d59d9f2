/*
 * test_imap_client.c: client behaviours that a real Dovecot does not
 * produce on demand, against a scripted fake server on 127.0.0.1 (a thread
 * in this process): BYE in the middle of a FETCH, throttling and quota
 * answers, synchronising literals without LITERAL+ (and a NO instead of
 * the continuation), STARTTLS refused and plaintext injected after the
 * STARTTLS answer, a MULTIAPPEND streamed to a slow reader that keeps
 * talking, pipelined FETCHes answered interleaved with a flag change from
 * another session in between, QRESYNC VANISHED, UTF8=ACCEPT names.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "imapsync/imap_client.h"

typedef struct fake {
	int lfd, fd;
	uint16_t port;
	void (*script)(struct fake *f);
	pthread_t th;
	char tag[32];
	char line[4096];
	char errors[1024];
} fake;

static void fake_err(fake *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fake_err(fake *f, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(f->errors);

	va_start(ap, fmt);
	vsnprintf(f->errors + n, sizeof(f->errors) - n, fmt, ap);
	va_end(ap);
}

static void fake_send(fake *f, const char *s)
{
	char out[4096];
	size_t o = 0;

	/* "%T" is replaced by the tag of the last command read */
	for (; *s && o < sizeof(out) - 40; s++) {
		if (s[0] == '%' && s[1] == 'T') {
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", f->tag);
			s++;
		} else {
			out[o++] = *s;
		}
	}
	if (write(f->fd, out, o) != (ssize_t)o)
		fake_err(f, "write failed; ");
}

/* Reads one line; checks that the command (after the tag) starts with
 * `want`. */
static int fake_expect(fake *f, const char *want)
{
	size_t n = 0;
	char *sp;

	for (;;) {
		char ch;

		if (read(f->fd, &ch, 1) != 1) {
			fake_err(f, "EOF waiting for %s; ", want);
			return -1;
		}
		if (ch == '\n')
			break;
		if (ch != '\r' && n < sizeof(f->line) - 1)
			f->line[n++] = ch;
	}
	f->line[n] = '\0';
	sp = strchr(f->line, ' ');
	if (sp == NULL) {
		fake_err(f, "no tag in \"%s\"; ", f->line);
		return -1;
	}
	snprintf(f->tag, sizeof(f->tag), "%.*s", (int)(sp - f->line), f->line);
	if (strncmp(sp + 1, want, strlen(want)) != 0) {
		fake_err(f, "got \"%s\", want \"%s\"; ", sp + 1, want);
		return -1;
	}
	return 0;
}

static int fake_read_bytes(fake *f, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(f->fd, buf + got, n - got);

		if (r <= 0) {
			fake_err(f, "EOF in literal; ");
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

static void *fake_main(void *arg)
{
	fake *f = arg;

	f->fd = accept(f->lfd, NULL, NULL);
	if (f->fd >= 0) {
		f->script(f);
		close(f->fd);
	}
	return NULL;
}

/* Listens on 127.0.0.1 (or ::1 when v6; returns -1 if IPv6 is off). */
static int fake_start_af(fake *f, void (*script)(fake *), int v6)
{
	struct sockaddr_in a;
	struct sockaddr_in6 a6;
	socklen_t alen;

	memset(f, 0, sizeof(*f));
	f->script = script;
	f->lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (f->lfd < 0 && v6)
		return -1;
	assert_true(f->lfd >= 0);
	if (v6) {
		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		a6.sin6_addr = in6addr_loopback;
		if (bind(f->lfd, (struct sockaddr *)&a6, sizeof(a6)) < 0) {
			close(f->lfd);
			return -1;
		}
		alen = sizeof(a6);
		assert_int_equal(listen(f->lfd, 1), 0);
		assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a6, &alen), 0);
		f->port = ntohs(a6.sin6_port);
	} else {
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
		alen = sizeof(a);
		assert_int_equal(listen(f->lfd, 1), 0);
		assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &alen), 0);
		f->port = ntohs(a.sin_port);
	}
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
	return 0;
}

static void fake_start(fake *f, void (*script)(fake *))
{
	fake_start_af(f, script, 0);
}

static void fake_finish(fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	if (f->errors[0] != '\0')
		fail_msg("fake server: %s", f->errors);
}

static imap_client_opts fake_opts(const fake *f, imap_tls tls)
{
	imap_client_opts o;

	memset(&o, 0, sizeof(o));
	o.label = "fake";
	o.host = "127.0.0.1";
	o.port = f->port;
	o.tls = tls;
	o.connect_timeout = 5;
	o.io_timeout = 5;
	return o;
}

/* ---- BYE in the middle of a FETCH ---- */

static void script_bye(fake *f)
{
	fake_send(f, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR LITERAL+] fake ready\r\n");
	if (fake_expect(f, "AUTHENTICATE PLAIN ") < 0)
		return;
	fake_send(f, "%T OK Logged in\r\n");
	if (fake_expect(f, "UID FETCH 1:* (UID FLAGS)") < 0)
		return;
	fake_send(f, "* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n"
		     "* 2 EXPUNGE\r\n"
		     "* BYE Server shutting down\r\n");
}

static int count_msg(void *ctx, const imap_fetch_msg *m, cut_status *st)
{
	int *n = ctx;

	if (m->uid == 1 && m->flags != NULL && strcmp(m->flags, "\\Seen") == 0)
		(*n)++;
	return 0;
}

static void test_bye_mid_fetch(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;
	imap_fetch_req fr;
	int n = 0;

	fake_start(&f, script_bye);
	o = fake_opts(&f, IMAP_TLS_NONE);
	assert_int_equal(imap_client_connect_login(&o, "alice", "secret", &c, &st), 0);
	memset(&fr, 0, sizeof(fr));
	fr.uid_set = "1:*";
	fr.items = IMAP_FETCH_FLAGS;
	fr.on_msg = count_msg;
	fr.ctx = &n;
	assert_int_equal(imap_uid_fetch(c, &fr, &st), -1);
	assert_int_equal(st.kind, CUT_TEMP);
	assert_non_null(strstr(st.msg, "BYE Server shutting down"));
	assert_non_null(strstr(st.msg, "user alice"));
	assert_int_equal(n, 1);
	assert_int_equal(imap_client_get_stats(c)->expunges, 1);
	assert_true(imap_client_broken(c));
	/* later calls fail at once with the same error */
	assert_int_equal(imap_noop(c, &st), -1);
	assert_non_null(strstr(st.msg, "BYE"));
	imap_client_free(&c);
	fake_finish(&f);
}

/* ---- throttling, quota; the connection stays usable ---- */

static void script_throttle(fake *f)
{
	fake_send(f, "* OK [CAPABILITY IMAP4rev1 LITERAL+] fake ready\r\n");
	if (fake_expect(f, "LOGIN \"bob\" \"pw\\\"x\"") < 0)
		return;
	fake_send(f, "%T OK Logged in\r\n");
	if (fake_expect(f, "SELECT \"INBOX\"") < 0)
		return;
	fake_send(f, "%T NO [UNAVAILABLE] Request is throttled. Suggested Backoff Time: "
		     "2391 milliseconds\r\n");
	if (fake_expect(f, "APPEND \"INBOX\" {3+}") < 0)
		return;
	{
		char b[5];

		fake_read_bytes(f, b, 5); /* "abc" CRLF */
	}
	fake_send(f, "%T NO [OVERQUOTA] Quota exceeded\r\n");
	if (fake_expect(f, "NOOP") < 0)
		return;
	fake_send(f, "* 7 EXISTS\r\n%T OK done\r\n");
}

static void test_throttle_and_quota(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;
	imap_select_info si;
	imap_append_req ar;

	fake_start(&f, script_throttle);
	o = fake_opts(&f, IMAP_TLS_NONE);
	assert_int_equal(imap_client_connect(&o, &c, &st), 0);
	assert_int_equal(imap_client_login(c, "bob", NULL, "pw\"x", IMAP_AUTH_AUTO, &st), 0);
	assert_int_equal(imap_select(c, "INBOX", 0, 0, &si, &st), -1);
	assert_int_equal(st.kind, CUT_TEMP);
	assert_int_equal(st.retry_after_ms, 2391);
	assert_non_null(strstr(st.msg, "SELECT \"INBOX\""));
	memset(&ar, 0, sizeof(ar));
	ar.mailbox = "INBOX";
	ar.data = "abc";
	ar.size = 3;
	assert_int_equal(imap_append(c, &ar, NULL, &st), -1);
	assert_int_equal(st.kind, CUT_FINAL);
	assert_int_equal(st.scope, CUT_SCOPE_ACCOUNT);
	assert_non_null(strstr(st.msg, "[OVERQUOTA]"));
	assert_non_null(strstr(st.msg, "user bob"));
	assert_int_equal(imap_noop(c, &st), 0);
	assert_int_equal(imap_client_get_stats(c)->exists, 7);
	imap_client_free(&c);
	fake_finish(&f);
}

/* ---- synchronising literals (no LITERAL+) ---- */

static void script_sync_literals(fake *f)
{
	char b[64];

	fake_send(f, "* OK [CAPABILITY IMAP4rev1] fake ready\r\n");
	/* an 8-bit password cannot be quoted: literal, wait for "+" */
	if (fake_expect(f, "LOGIN \"carol\" {9}") < 0)
		return;
	fake_send(f, "+ go ahead\r\n");
	if (fake_read_bytes(f, b, 11) < 0 || memcmp(b, "p\xc3\xa4ssword\r\n", 11) != 0) {
		fake_err(f, "bad literal password; ");
		return;
	}
	fake_send(f, "%T OK Logged in\r\n");
	if (fake_expect(f, "APPEND \"INBOX\" (\\Seen) \"01-Jan-2026 00:00:00 +0000\" {5}") < 0)
		return;
	fake_send(f, "+ Ready for literal data\r\n");
	if (fake_read_bytes(f, b, 7) < 0 || memcmp(b, "hello\r\n", 7) != 0) {
		fake_err(f, "bad APPEND literal; ");
		return;
	}
	fake_send(f, "%T OK [APPENDUID 7 9] Append completed\r\n");
	/* refused before the literal: nothing more must follow it */
	if (fake_expect(f, "APPEND \"Nope\" {5}") < 0)
		return;
	fake_send(f, "%T NO [TRYCREATE] Mailbox doesn't exist: Nope\r\n");
	if (fake_expect(f, "NOOP") < 0)
		return;
	fake_send(f, "%T OK done\r\n");
}

static void test_sync_literals(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;
	imap_append_req ar;
	imap_append_result res;

	fake_start(&f, script_sync_literals);
	o = fake_opts(&f, IMAP_TLS_NONE);
	assert_int_equal(imap_client_connect_login(&o, "carol", "p\xc3\xa4ssword", &c, &st), 0);
	memset(&ar, 0, sizeof(ar));
	ar.mailbox = "INBOX";
	ar.flags = "\\Seen \\Recent";
	ar.internaldate = "01-Jan-2026 00:00:00 +0000";
	ar.data = "hello";
	ar.size = 5;
	assert_int_equal(imap_append(c, &ar, &res, &st), 0);
	assert_int_equal(res.uidvalidity, 7);
	assert_int_equal(res.uid, 9);
	memset(&ar, 0, sizeof(ar));
	ar.mailbox = "Nope";
	ar.data = "hello";
	ar.size = 5;
	assert_int_equal(imap_append(c, &ar, &res, &st), -1);
	assert_int_equal(st.kind, CUT_FINAL);
	assert_int_equal(st.scope, CUT_SCOPE_FOLDER);
	assert_non_null(strstr(st.msg, "[TRYCREATE]"));
	assert_int_equal(imap_noop(c, &st), 0);
	imap_client_free(&c);
	fake_finish(&f);
}

/* ---- STARTTLS ---- */

static void script_no_starttls(fake *f)
{
	fake_send(f, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no TLS here\r\n");
	/* the client must hang up without sending credentials */
	{
		char b[16];

		if (read(f->fd, b, sizeof(b)) > 0)
			fake_err(f, "client sent something; ");
	}
}

static void script_injection(fake *f)
{
	fake_send(f, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n");
	if (fake_expect(f, "STARTTLS") < 0)
		return;
	fake_send(f, "%T OK Begin TLS negotiation now\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n");
	{
		char b[16];

		while (read(f->fd, b, sizeof(b)) > 0)
			;
	}
}

static void test_starttls(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;

	fake_start(&f, script_no_starttls);
	o = fake_opts(&f, IMAP_TLS_STARTTLS);
	assert_int_equal(imap_client_connect_login(&o, "dave", "pw", &c, &st), -1);
	assert_null(c);
	assert_int_equal(st.kind, CUT_FINAL);
	assert_non_null(strstr(st.msg, "does not offer it"));
	fake_finish(&f);

	fake_start(&f, script_injection);
	o = fake_opts(&f, IMAP_TLS_STARTTLS);
	assert_int_equal(imap_client_connect(&o, &c, &st), -1);
	assert_int_equal(st.kind, CUT_FINAL);
	assert_non_null(strstr(st.msg, "data received after the STARTTLS answer"));
	fake_finish(&f);
}

/* ---- IPv6 ---- */

static void script_v6(fake *f)
{
	fake_send(f, "* PREAUTH [CAPABILITY IMAP4rev1] pre-authenticated\r\n");
	if (fake_expect(f, "NOOP") < 0)
		return;
	fake_send(f, "%T OK done\r\n");
}

static void test_ipv6(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;

	if (fake_start_af(&f, script_v6, 1) < 0)
		skip();
	o = fake_opts(&f, IMAP_TLS_NONE);
	o.host = "::1";
	/* PREAUTH: no login needed */
	assert_int_equal(imap_client_connect_login(&o, "eve", "pw", &c, &st), 0);
	assert_non_null(strstr(imap_client_name(c), "[::1]:"));
	assert_int_equal(imap_noop(c, &st), 0);
	imap_client_free(&c);
	fake_finish(&f);
}

/* ---- MULTIAPPEND streamed through a slow reader: framing ---- */

#define MA_SIZE1 (8u * 1024u * 1024u)
#define MA_SIZE2 (3u * 1024u * 1024u)

/* Reads one line up to CRLF into f->line (no tag handling). */
static int fake_raw_line(fake *f)
{
	size_t n = 0;

	for (;;) {
		char ch;

		if (read(f->fd, &ch, 1) != 1) {
			fake_err(f, "EOF in a line; ");
			return -1;
		}
		if (ch == '\n')
			break;
		if (ch != '\r' && n < sizeof(f->line) - 1)
			f->line[n++] = ch;
	}
	f->line[n] = '\0';
	return 0;
}

/* Reads n literal bytes, each equal to `expect`, in small pieces; with
 * `tick`, an untagged line is sent after each piece (a server reporting
 * while the client is still writing). */
static int fake_skip_bytes(fake *f, size_t n, char expect, int tick)
{
	char b[16384];

	while (n > 0) {
		size_t k = n < sizeof(b) ? n : sizeof(b);

		if (fake_read_bytes(f, b, k) < 0)
			return -1;
		for (size_t i = 0; i < k; i++)
			if (b[i] != expect) {
				fake_err(f, "literal byte %c, want %c; ", b[i], expect);
				return -1;
			}
		n -= k;
		if (tick)
			fake_send(f, "* OK still receiving\r\n");
	}
	return 0;
}

static void script_multiappend(fake *f)
{
	char want[128];

	fake_send(f, "* OK [CAPABILITY IMAP4rev1 LITERAL+ MULTIAPPEND] fake ready\r\n");
	if (fake_expect(f, "LOGIN") < 0)
		return;
	fake_send(f, "%T OK Logged in\r\n");
	/* let the client's writes back up: its output buffer fills */
	usleep(300 * 1000);
	snprintf(want, sizeof(want), "APPEND \"INBOX\" (\\Seen) {%u+}", MA_SIZE1);
	if (fake_expect(f, want) < 0 || fake_skip_bytes(f, MA_SIZE1, 'a', 1) < 0)
		return;
	/* RFC 3502: the next message follows on the same command line */
	if (fake_raw_line(f) < 0)
		return;
	snprintf(want, sizeof(want), " (\\Flagged) {%u+}", MA_SIZE2);
	if (strcmp(f->line, want) != 0) {
		fake_err(f, "after the first literal: \"%s\", want \"%s\"; ", f->line, want);
		return;
	}
	if (fake_skip_bytes(f, MA_SIZE2, 'b', 1) < 0 || fake_raw_line(f) < 0)
		return;
	if (f->line[0] != '\0') {
		fake_err(f, "command not ended after the last literal: \"%s\"; ", f->line);
		return;
	}
	fake_send(f, "%T OK [APPENDUID 1 1:2] Append completed\r\n");
	if (fake_expect(f, "NOOP") < 0)
		return;
	fake_send(f, "%T OK done\r\n");
}

static void append_done_cb(void *ctx, const imap_append_result *r, const cut_status *st)
{
	cut_status *out = ctx;

	cut_status_copy(out, st);
	if (st->kind == CUT_OK && r->uidvalidity != 1)
		cut_status_set(out, CUT_FINAL, CUT_SCOPE_LOCAL, "no APPENDUID");
}

static void stream_body(imap_client *c, size_t size, char ch)
{
	static char chunk[64 * 1024];
	cut_status st;

	memset(chunk, ch, sizeof(chunk));
	while (size > 0) {
		size_t n = size < sizeof(chunk) ? size : sizeof(chunk);

		assert_int_equal(imap_append_stream_write(c, chunk, n, &st), 0);
		size -= n;
	}
}

static void test_multiappend_stream(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st, done_st;
	imap_append_req ar;
	int small = 4096;

	fake_start(&f, script_multiappend);
	/* a small receive buffer on the server: the client's writes block */
	setsockopt(f.lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	o = fake_opts(&f, IMAP_TLS_NONE);
	assert_int_equal(imap_client_connect_login(&o, "frank", "pw", &c, &st), 0);
	assert_true(imap_append_stream_can_add(c));
	cut_status_set(&done_st, CUT_FINAL, CUT_SCOPE_LOCAL, "not called");
	memset(&ar, 0, sizeof(ar));
	ar.mailbox = "INBOX";
	ar.flags = "\\Seen";
	ar.size = MA_SIZE1;
	assert_int_equal(imap_append_stream_begin(c, &ar, append_done_cb, &done_st, &st), 0);
	stream_body(c, MA_SIZE1, 'a');
	ar.flags = "\\Flagged";
	ar.size = MA_SIZE2;
	assert_int_equal(imap_append_stream_add(c, &ar, &st), 0);
	stream_body(c, MA_SIZE2, 'b');
	assert_int_equal(imap_append_stream_end(c, &st), 0);
	assert_int_equal(imap_client_run(c, &st), 0);
	assert_int_equal(done_st.kind, CUT_OK);
	assert_int_equal(imap_noop(c, &st), 0);
	imap_client_free(&c);
	fake_finish(&f);
}

/* ---- pipelined FETCHes answered interleaved, flag changes, VANISHED ---- */

#define BIG_BODY 70000 /* above the parser's 64 KiB: streamed to the sink */

static void fake_send_big_body(fake *f, unsigned seq, unsigned uid, char ch)
{
	static char body[BIG_BODY];
	char head[128];

	memset(body, ch, sizeof(body));
	snprintf(head, sizeof(head), "* %u FETCH (UID %u BODY[] {%u}\r\n", seq, uid,
		 BIG_BODY);
	fake_send(f, head);
	if (write(f->fd, body, sizeof(body)) != (ssize_t)sizeof(body))
		fake_err(f, "write failed; ");
	fake_send(f, ")\r\n");
}

static void script_routing(fake *f)
{
	char t1[32], t2[32], t3[32], t4[32];

	fake_send(f, "* OK [CAPABILITY IMAP4rev1 LITERAL+ ENABLE QRESYNC CONDSTORE] ready\r\n");
	if (fake_expect(f, "LOGIN") < 0)
		return;
	fake_send(f, "%T OK Logged in\r\n");
	if (fake_expect(f, "ENABLE QRESYNC") < 0)
		return;
	fake_send(f, "* ENABLED QRESYNC\r\n%T OK Enabled\r\n");
	/* two listings in flight; answers interleaved, as a server running
	 * both at once may send them */
	if (fake_expect(f, "UID FETCH 1:2 (UID FLAGS INTERNALDATE RFC822.SIZE)") < 0)
		return;
	snprintf(t1, sizeof(t1), "%s", f->tag);
	if (fake_expect(f, "UID FETCH 5,6 (UID FLAGS INTERNALDATE RFC822.SIZE)") < 0)
		return;
	snprintf(t2, sizeof(t2), "%s", f->tag);
	fake_send(f, "* 3 FETCH (UID 5 FLAGS () INTERNALDATE \"01-Jan-2026 00:00:00 +0000\" "
		     "RFC822.SIZE 50)\r\n"
		     "* 1 FETCH (UID 1 FLAGS (\\Seen) INTERNALDATE \"01-Jan-2026 00:00:00 "
		     "+0000\" RFC822.SIZE 10)\r\n"
		     /* another session flags message 2: not a listing entry */
		     "* 2 FETCH (FLAGS (\\Flagged) UID 2)\r\n"
		     "* 2 FETCH (UID 2 FLAGS (\\Flagged) INTERNALDATE \"01-Jan-2026 "
		     "00:00:00 +0000\" RFC822.SIZE 20)\r\n");
	fake_send(f, t1);
	fake_send(f, " OK Fetch completed\r\n* 4 FETCH (UID 6 FLAGS () INTERNALDATE "
		     "\"01-Jan-2026 00:00:00 +0000\" RFC822.SIZE 60)\r\n");
	fake_send(f, t2);
	fake_send(f, " OK Fetch completed\r\n");
	/* two body FETCHes in flight, the second answered first */
	if (fake_expect(f, "UID FETCH 1 (UID BODY.PEEK[])") < 0)
		return;
	snprintf(t3, sizeof(t3), "%s", f->tag);
	if (fake_expect(f, "UID FETCH 6 (UID BODY.PEEK[])") < 0)
		return;
	snprintf(t4, sizeof(t4), "%s", f->tag);
	fake_send_big_body(f, 4, 6, 'y');
	fake_send_big_body(f, 1, 1, 'x');
	fake_send(f, t4);
	fake_send(f, " OK Fetch completed\r\n");
	fake_send(f, t3);
	fake_send(f, " OK Fetch completed\r\n");
	/* QRESYNC: what vanished since modseq 10 */
	if (fake_expect(f, "UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 10 VANISHED)") < 0)
		return;
	fake_send(f, "* VANISHED (EARLIER) 3:4,7\r\n"
		     "* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (12))\r\n%T OK Fetch completed\r\n");
	if (fake_expect(f, "NOOP") < 0)
		return;
	fake_send(f, "* VANISHED 1\r\n* VANISHED (EARLIER) bogus\r\n%T OK done\r\n");
}

typedef struct route_ctx {
	char seen[64]; /* "uid:flags;" in arrival order */
	int bad;
	uint64_t bytes;
	char ch;
	uint32_t uid_at_begin;
	char vanished[64];
} route_ctx;

static int route_msg(void *ctx, const imap_fetch_msg *m, cut_status *st)
{
	route_ctx *r = ctx;
	size_t n = strlen(r->seen);

	if (m->internaldate == NULL && !m->body_done && m->modseq == 0)
		r->bad++; /* a flag update delivered as a listing entry */
	snprintf(r->seen + n, sizeof(r->seen) - n, "%u:%s;", m->uid,
		 m->flags ? m->flags : "-");
	return 0;
}

static int route_begin(void *ctx, uint32_t seq, uint32_t uid, uint64_t size, cut_status *st)
{
	route_ctx *r = ctx;

	r->uid_at_begin = uid;
	return 0;
}

static int route_data(void *ctx, const void *p, size_t n, cut_status *st)
{
	route_ctx *r = ctx;
	const char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != r->ch)
			r->bad++;
	r->bytes += n;
	return 0;
}

static int route_end(void *ctx, cut_status *st)
{
	return 0;
}

static int route_vanished(void *ctx, const char *set, cut_status *st)
{
	route_ctx *r = ctx;

	snprintf(r->vanished, sizeof(r->vanished), "%s", set);
	return 0;
}

static void test_fetch_routing(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st, s1, s2;
	imap_fetch_req fr;
	route_ctx a, b;
	imap_body_sink sa = {route_begin, route_data, route_end, &a};
	imap_body_sink sb = {route_begin, route_data, route_end, &b};

	fake_start(&f, script_routing);
	o = fake_opts(&f, IMAP_TLS_NONE);
	assert_int_equal(imap_client_connect_login(&o, "gina", "pw", &c, &st), 0);
	assert_int_equal(imap_enable(c, "QRESYNC", &st), 0);
	assert_true(imap_client_enabled(c, "QRESYNC"));

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&fr, 0, sizeof(fr));
	fr.items = IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_SIZE;
	fr.on_msg = route_msg;
	fr.uid_set = "1:2";
	fr.ctx = &a;
	assert_int_equal(imap_uid_fetch_async(c, &fr, NULL, NULL, &st), 0);
	fr.uid_set = "5,6";
	fr.ctx = &b;
	assert_int_equal(imap_uid_fetch_async(c, &fr, NULL, NULL, &st), 0);
	assert_int_equal(imap_client_run(c, &st), 0);
	assert_string_equal(a.seen, "1:\\Seen;2:\\Flagged;");
	assert_string_equal(b.seen, "5:;6:;");
	assert_int_equal(a.bad + b.bad, 0);
	assert_int_equal(imap_client_get_stats(c)->flag_updates, 1);

	/* bodies: each goes to the sink of the command that asked for it */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.ch = 'x';
	b.ch = 'y';
	memset(&fr, 0, sizeof(fr));
	fr.items = IMAP_FETCH_BODY;
	fr.on_msg = route_msg;
	fr.uid_set = "1";
	fr.ctx = &a;
	fr.sink = &sa;
	cut_status_clear(&s1);
	cut_status_clear(&s2);
	assert_int_equal(imap_uid_fetch_async(c, &fr, NULL, NULL, &st), 0);
	fr.uid_set = "6";
	fr.ctx = &b;
	fr.sink = &sb;
	assert_int_equal(imap_uid_fetch_async(c, &fr, NULL, NULL, &st), 0);
	assert_int_equal(imap_client_run(c, &st), 0);
	assert_int_equal(a.bytes, BIG_BODY);
	assert_int_equal(b.bytes, BIG_BODY);
	assert_int_equal(a.uid_at_begin, 1);
	assert_int_equal(b.uid_at_begin, 6);
	assert_string_equal(a.seen, "1:-;");
	assert_string_equal(b.seen, "6:-;");
	assert_int_equal(a.bad + b.bad, 0);

	/* QRESYNC VANISHED (EARLIER) goes to the FETCH that asked */
	memset(&a, 0, sizeof(a));
	memset(&fr, 0, sizeof(fr));
	fr.items = IMAP_FETCH_FLAGS;
	fr.uid_set = "1:*";
	fr.changedsince = 10;
	fr.vanished = 1;
	fr.on_vanished = route_vanished;
	fr.on_msg = route_msg;
	fr.ctx = &a;
	assert_int_equal(imap_uid_fetch(c, &fr, &st), 0);
	assert_string_equal(a.vanished, "3:4,7");
	assert_string_equal(a.seen, "1:\\Seen;");
	assert_int_equal(imap_client_get_stats(c)->vanished_uids, 3);
	/* a live VANISHED counts as expunges; a malformed one is ignored */
	assert_int_equal(imap_noop(c, &st), 0);
	assert_int_equal(imap_client_get_stats(c)->vanished, 2);
	assert_int_equal(imap_client_get_stats(c)->vanished_uids, 4);
	assert_int_equal(imap_client_get_stats(c)->expunges, 1);
	imap_client_free(&c);
	fake_finish(&f);
}

/* ---- SELECT/EXAMINE: FLAGS and PERMANENTFLAGS (RFC 3501 7.1, 7.2.6) ---- */

static void script_select_flags(fake *f)
{
	fake_send(f, "* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n");
	if (fake_expect(f, "LOGIN") < 0)
		return;
	fake_send(f, "%T OK Logged in\r\n");
	if (fake_expect(f, "SELECT \"INBOX\"") < 0)
		return;
	fake_send(f, "* FLAGS (\\Answered \\Seen $label1 custom)\r\n"
		     "* OK [PERMANENTFLAGS (\\Seen $label1)] Limited\r\n"
		     "* 2 EXISTS\r\n%T OK [READ-WRITE] done\r\n");
	if (fake_expect(f, "EXAMINE \"INBOX\"") < 0)
		return;
	fake_send(f, "* FLAGS (\\Seen)\r\n* OK [PERMANENTFLAGS ()] Read-only\r\n"
		     "%T OK [READ-ONLY] done\r\n");
	if (fake_expect(f, "SELECT \"Plain\"") < 0)
		return;
	fake_send(f, "* 0 EXISTS\r\n%T OK [READ-WRITE] done\r\n");
	if (fake_expect(f, "SELECT \"Many\"") < 0)
		return;
	{
		/* 600 keywords: longer than imap_select_info can hold */
		size_t cap = 600 * 7 + 64, n;
		char *big = malloc(cap);

		if (big == NULL)
			return;
		n = (size_t)snprintf(big, cap, "* OK [PERMANENTFLAGS (\\Seen");
		for (int i = 0; i < 600; i++)
			n += (size_t)snprintf(big + n, cap - n, " kw%04d", i);
		n += (size_t)snprintf(big + n, cap - n, ")] x\r\n");
		if (write(f->fd, big, n) != (ssize_t)n)
			fake_err(f, "write failed; ");
		free(big);
	}
	fake_send(f, "%T OK [READ-WRITE] done\r\n");
}

static void test_select_flags(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;
	imap_select_info si;

	(void)state;
	fake_start(&f, script_select_flags);
	o = fake_opts(&f, IMAP_TLS_NONE);
	assert_int_equal(imap_client_connect_login(&o, "kim", "pw", &c, &st), 0);
	assert_int_equal(imap_select(c, "INBOX", 0, 0, &si, &st), 0);
	assert_int_equal(si.exists, 2);
	assert_false(si.read_only);
	assert_true(si.permanentflags_sent);
	assert_string_equal(si.permanentflags, "\\Seen $label1");
	assert_string_equal(si.flags, "\\Answered \\Seen $label1 custom");
	/* an empty list is sent, not absent */
	assert_int_equal(imap_select(c, "INBOX", 1, 0, &si, &st), 0);
	assert_true(si.read_only);
	assert_true(si.permanentflags_sent);
	assert_string_equal(si.permanentflags, "");
	assert_string_equal(si.flags, "\\Seen");
	assert_int_equal(imap_select(c, "Plain", 0, 0, &si, &st), 0);
	assert_false(si.permanentflags_sent);
	assert_string_equal(si.flags, "");
	/* too long to keep whole: counts as not sent, never as a part */
	assert_int_equal(imap_select(c, "Many", 0, 0, &si, &st), 0);
	assert_false(si.permanentflags_sent);
	assert_string_equal(si.permanentflags, "");
	imap_client_free(&c);
	fake_finish(&f);
}

/* ---- STATUS (RFC 3501 6.3.10, RFC 7162 3.1.2.1) ---- */

static void script_status(fake *f)
{
	fake_send(f, "* OK [CAPABILITY IMAP4rev1 LITERAL+ CONDSTORE] ready\r\n");
	if (fake_expect(f, "LOGIN") < 0)
		return;
	fake_send(f, "%T OK Logged in\r\n");
	/* the one asked for (name as a literal), then another mailbox's
	 * data, which must not overwrite it */
	if (fake_expect(f, "STATUS \"Big one\" (MESSAGES UIDNEXT UIDVALIDITY "
			   "HIGHESTMODSEQ)") < 0)
		return;
	fake_send(f, "* STATUS {7}\r\nBig one (MESSAGES 20045 UIDNEXT 20046 "
		     "UIDVALIDITY 1796169536 HIGHESTMODSEQ 72 X-FOO 1)\r\n"
		     "* STATUS Other (MESSAGES 9 UIDNEXT 99 UIDVALIDITY 999)\r\n"
		     "%T OK Status completed\r\n");
	/* HIGHESTMODSEQ 0: no mod-sequences kept; values missing stay 0 */
	if (fake_expect(f, "STATUS \"INBOX\"") < 0)
		return;
	fake_send(f, "* STATUS INBOX (MESSAGES 3 HIGHESTMODSEQ 0 UIDNEXT x)\r\n"
		     "%T OK Status completed\r\n");
	if (fake_expect(f, "STATUS \"Gone\"") < 0)
		return;
	fake_send(f, "%T NO [NONEXISTENT] Mailbox doesn't exist\r\n");
}

static void status_done(void *ctx, const imap_resp *tagged, const cut_status *st)
{
	(void)tagged;
	cut_status_copy(ctx, st);
}

static void test_status(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st, ds;
	imap_select_info si;

	(void)state;
	fake_start(&f, script_status);
	o = fake_opts(&f, IMAP_TLS_NONE);
	assert_int_equal(imap_client_connect_login(&o, "kim", "pw", &c, &st), 0);
	cut_status_clear(&ds);
	assert_int_equal(imap_status_async(c, "Big one", &si, status_done, &ds, &st), 0);
	assert_int_equal(imap_client_run(c, &st), 0);
	assert_false(cut_status_failed(&ds));
	assert_int_equal(si.exists, 20045);
	assert_int_equal(si.uidnext, 20046);
	assert_int_equal(si.uidvalidity, 1796169536u);
	assert_true(si.highestmodseq == 72);
	assert_false(si.nomodseq);
	assert_int_equal(imap_status_async(c, "INBOX", &si, status_done, &ds, &st), 0);
	assert_int_equal(imap_client_run(c, &st), 0);
	assert_false(cut_status_failed(&ds));
	assert_int_equal(si.exists, 3);
	assert_int_equal(si.uidnext, 0);
	assert_int_equal(si.uidvalidity, 0);
	assert_true(si.nomodseq);
	assert_int_equal(imap_status_async(c, "Gone", &si, status_done, &ds, &st), 0);
	assert_int_equal(imap_client_run(c, &st), 0);
	assert_true(cut_status_failed(&ds));
	assert_non_null(strstr(ds.msg, "NONEXISTENT"));
	imap_client_free(&c);
	fake_finish(&f);
}

/* ---- UTF8=ACCEPT (RFC 6855): names in UTF-8 on the wire ---- */

static void script_utf8(fake *f)
{
	char b[16];

	fake_send(f, "* OK [CAPABILITY IMAP4rev1 LITERAL+ ENABLE UTF8=ACCEPT] ready\r\n");
	if (fake_expect(f, "LOGIN") < 0)
		return;
	fake_send(f, "%T OK Logged in\r\n");
	/* before ENABLE: an 8-bit name cannot be quoted, it goes as a literal */
	if (fake_expect(f, "SELECT {7+}") < 0)
		return;
	if (fake_read_bytes(f, b, 9) < 0 || memcmp(b, "Z\xc3\xbcrich\r\n", 9) != 0) {
		fake_err(f, "bad literal mailbox name; ");
		return;
	}
	fake_send(f, "%T NO [NONEXISTENT] Unknown mailbox\r\n");
	if (fake_expect(f, "ENABLE UTF8=ACCEPT") < 0)
		return;
	fake_send(f, "* ENABLED UTF8=ACCEPT\r\n%T OK Enabled\r\n");
	if (fake_expect(f, "LIST \"\" \"*\"") < 0)
		return;
	fake_send(f, "* LIST (\\HasNoChildren) \"/\" \"Z\xc3\xbcrich\"\r\n"
		     "* LIST (\\HasNoChildren) \"/\" {8}\r\nR\xc3\xa9sum\xc3\xa9\r\n"
		     "* LIST (\\HasNoChildren) \"/\" \"bad\xff\"\r\n"
		     "* LIST (\\HasNoChildren) \"/\" \"Q&AOQ-\"\r\n"
		     "%T OK List completed\r\n");
	/* after ENABLE: quoted UTF-8 (RFC 6855 3), no literal, no mUTF-7 */
	if (fake_expect(f, "SELECT \"Z\xc3\xbcrich\"") < 0)
		return;
	fake_send(f, "* 0 EXISTS\r\n* OK [UIDVALIDITY 3] x\r\n%T OK [READ-WRITE] done\r\n");
	if (fake_expect(f, "APPEND \"Z\xc3\xbcrich\" (\\Seen) {5+}") < 0)
		return;
	if (fake_read_bytes(f, b, 7) < 0 || memcmp(b, "hello\r\n", 7) != 0) {
		fake_err(f, "bad APPEND body; ");
		return;
	}
	fake_send(f, "%T OK [APPENDUID 3 1] done\r\n");
}

static void test_utf8_accept(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;
	imap_select_info si;
	imap_mailbox *l = NULL;
	size_t n = 0;
	imap_append_req ar;
	imap_append_result res;

	fake_start(&f, script_utf8);
	o = fake_opts(&f, IMAP_TLS_NONE);
	assert_int_equal(imap_client_connect_login(&o, "hans", "pw", &c, &st), 0);
	assert_int_equal(imap_select(c, "Z\xc3\xbcrich", 0, 0, &si, &st), -1);
	assert_int_equal(st.scope, CUT_SCOPE_FOLDER);
	assert_int_equal(imap_enable(c, "UTF8=ACCEPT", &st), 0);
	assert_true(imap_client_enabled(c, "UTF8=ACCEPT"));
	assert_int_equal(imap_list(c, "", "*", 0, &l, &n, &st), 0);
	assert_int_equal(n, 4);
	assert_string_equal(l[0].raw, "Z\xc3\xbcrich");
	assert_string_equal(l[0].name, "Z\xc3\xbcrich");
	assert_true(l[0].name_ok);
	assert_string_equal(l[1].name, "R\xc3\xa9sum\xc3\xa9");
	assert_true(l[1].name_ok);
	/* not UTF-8: kept as sent, flagged */
	assert_false(l[2].name_ok);
	/* in UTF-8 mode "&" is a plain character, no mUTF-7 decoding */
	assert_string_equal(l[3].name, "Q&AOQ-");
	imap_mailboxes_free(&l, n);
	assert_int_equal(imap_select(c, "Z\xc3\xbcrich", 0, 0, &si, &st), 0);
	assert_int_equal(si.uidvalidity, 3);
	memset(&ar, 0, sizeof(ar));
	ar.mailbox = "Z\xc3\xbcrich";
	ar.flags = "\\Seen";
	ar.data = "hello";
	ar.size = 5;
	assert_int_equal(imap_append(c, &ar, &res, &st), 0);
	assert_int_equal(res.uid, 1);
	imap_client_free(&c);
	fake_finish(&f);
}

/* ---- MULTIAPPEND with synchronising literals (no LITERAL+) ---- */

static void script_multiappend_sync(fake *f)
{
	char b[16];

	fake_send(f, "* OK [CAPABILITY IMAP4rev1 MULTIAPPEND] fake ready\r\n");
	if (fake_expect(f, "LOGIN") < 0)
		return;
	fake_send(f, "%T OK Logged in\r\n");
	if (fake_expect(f, "APPEND \"INBOX\" {5}") < 0)
		return;
	fake_send(f, "+ Ready for literal data\r\n");
	if (fake_read_bytes(f, b, 5) < 0 || memcmp(b, "hello", 5) != 0 || fake_raw_line(f) < 0)
		return;
	if (strcmp(f->line, " (\\Seen) {3}") != 0) {
		fake_err(f, "second message: \"%s\"; ", f->line);
		return;
	}
	fake_send(f, "+ Ready for literal data\r\n");
	if (fake_read_bytes(f, b, 3) < 0 || memcmp(b, "abc", 3) != 0 || fake_raw_line(f) < 0)
		return;
	if (f->line[0] != '\0') {
		fake_err(f, "command not ended: \"%s\"; ", f->line);
		return;
	}
	fake_send(f, "%T OK [APPENDUID 1 1:2] Append completed\r\n");
}

static void test_multiappend_sync_literals(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st, done_st;
	imap_append_req ar;

	fake_start(&f, script_multiappend_sync);
	o = fake_opts(&f, IMAP_TLS_NONE);
	assert_int_equal(imap_client_connect_login(&o, "ida", "pw", &c, &st), 0);
	cut_status_set(&done_st, CUT_FINAL, CUT_SCOPE_LOCAL, "not called");
	memset(&ar, 0, sizeof(ar));
	ar.mailbox = "INBOX";
	ar.size = 5;
	assert_int_equal(imap_append_stream_begin(c, &ar, append_done_cb, &done_st, &st), 0);
	assert_int_equal(imap_append_stream_write(c, "hello", 5, &st), 0);
	/* nothing else while the APPEND is open: an error, not a hang */
	assert_int_equal(imap_noop(c, &st), -1);
	assert_int_equal(imap_client_run(c, &st), -1);
	ar.flags = "\\Seen";
	ar.size = 3;
	assert_int_equal(imap_append_stream_add(c, &ar, &st), 0);
	assert_int_equal(imap_append_stream_write(c, "abc", 3, &st), 0);
	assert_int_equal(imap_append_stream_end(c, &st), 0);
	if (imap_client_run(c, &st) != 0)
		fail_msg("run: %s", st.msg);
	assert_int_equal(done_st.kind, CUT_OK);
	imap_client_free(&c);
	fake_finish(&f);
}

/* ---- "n:*" holds the highest UID even when it is below n ---- */

static void script_star(fake *f)
{
	fake_send(f, "* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n");
	if (fake_expect(f, "LOGIN") < 0)
		return;
	fake_send(f, "%T OK Logged in\r\n");
	/* RFC 3501 9: "*" is the largest UID in use (90 here) */
	if (fake_expect(f, "UID FETCH 100:* (UID FLAGS)") < 0)
		return;
	fake_send(f, "* 5 FETCH (UID 90 FLAGS (\\Seen))\r\n%T OK Fetch completed\r\n");
	if (fake_expect(f, "UID FETCH 3,7 (UID FLAGS)") < 0)
		return;
	/* 5 was not asked for: a flag change, not an answer */
	fake_send(f, "* 2 FETCH (UID 5 FLAGS ())\r\n* 1 FETCH (UID 3 FLAGS ())\r\n"
		     "%T OK Fetch completed\r\n");
}

static void test_fetch_star(void **state)
{
	fake f;
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;
	imap_fetch_req fr;
	route_ctx a;

	fake_start(&f, script_star);
	o = fake_opts(&f, IMAP_TLS_NONE);
	assert_int_equal(imap_client_connect_login(&o, "jan", "pw", &c, &st), 0);
	memset(&a, 0, sizeof(a));
	memset(&fr, 0, sizeof(fr));
	fr.items = IMAP_FETCH_FLAGS;
	fr.on_msg = route_msg;
	fr.ctx = &a;
	fr.uid_set = "100:*";
	assert_int_equal(imap_uid_fetch(c, &fr, &st), 0);
	assert_string_equal(a.seen, "90:\\Seen;");
	memset(&a, 0, sizeof(a));
	fr.uid_set = "3,7";
	assert_int_equal(imap_uid_fetch(c, &fr, &st), 0);
	assert_string_equal(a.seen, "3:;");
	assert_int_equal(imap_client_get_stats(c)->flag_updates, 1);
	imap_client_free(&c);
	fake_finish(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bye_mid_fetch),
		cmocka_unit_test(test_throttle_and_quota),
		cmocka_unit_test(test_sync_literals),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_multiappend_stream),
		cmocka_unit_test(test_multiappend_sync_literals),
		cmocka_unit_test(test_fetch_routing),
		cmocka_unit_test(test_fetch_star),
		cmocka_unit_test(test_utf8_accept),
		cmocka_unit_test(test_select_flags),
		cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
