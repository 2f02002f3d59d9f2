/*
 * imap_client_test.c: the IMAP client against the lab's real Dovecots
 * (run by imap_client_test.sh with the LAB_* environment of lab.sh).
 *
 * Covers: IMAPS and STARTTLS with verification of the TLS name while
 * connecting by IP, a wrong CA and a wrong TLS name (final errors naming
 * host:port, TLS name and reason), a wrong password (final, user named),
 * STARTTLS refused by a TLS-less server, trace redaction, a mailbox round
 * trip (bytes, flags, keywords, INTERNALDATE, non-ASCII name), a 20 MB
 * message streamed host1 -> host2 with bounded memory, and 1,000 pipelined
 * APPENDs with the number of waits for the server printed.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "imapsync/imap_client.h"
#include "imapsync/utf7.h"

static int failures;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                        \
			fprintf(stderr, "\n");                               \
			failures++;                                          \
		}                                                            \
	} while (0)

#define MUST(cond, ...)                                                      \
	do {                                                                 \
		int must_ok_ = (cond);                                       \
		CHECK(must_ok_, __VA_ARGS__);                                \
		if (!must_ok_)                                               \
			exit(1);                                             \
	} while (0)

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "missing %s in the environment (run via imap_client_test.sh)\n",
			name);
		exit(2);
	}
	return v;
}

static uint16_t env_port(const char *name)
{
	return (uint16_t)strtoul(env(name), NULL, 10);
}

static char user_a[32], pass_a[48], user_b[32], pass_b[48];

static imap_client_opts opts(const char *label, const char *host, uint16_t port,
			     imap_tls tls, const char *ca)
{
	imap_client_opts o;

	memset(&o, 0, sizeof(o));
	o.label = label;
	o.host = host;
	o.port = port;
	o.tls = tls;
	o.tls_name = env("LAB_TLS_NAME");
	o.ca_file = ca;
	o.connect_timeout = 10;
	o.io_timeout = 60;
	return o;
}

static long vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

/* ---- TLS and login ---- */

static void test_tls_and_login(void)
{
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;
	char peer[64];

	/* IMAPS by IP, verifying imap.lab.test */
	o = opts("host1", env("LAB_HOST1"), env_port("LAB_IMAPS_PORT"), IMAP_TLS_IMPLICIT,
		 env("LAB_CA"));
	cut_status_clear(&st);
	CHECK(imap_client_connect_login(&o, user_a, pass_a, &c, &st) == 0, "IMAPS: %s", st.msg);
	if (c) {
		CHECK(imap_client_has_cap(c, "IMAP4rev1"), "caps");
		CHECK(imap_noop(c, &st) == 0, "%s", st.msg);
		imap_client_logout(c, &st);
		imap_client_free(&c);
	}
	/* STARTTLS, explicit LOGIN method */
	o = opts("host1", env("LAB_HOST1"), env_port("LAB_IMAP_PORT"), IMAP_TLS_STARTTLS,
		 env("LAB_CA"));
	CHECK(imap_client_connect(&o, &c, &st) == 0, "STARTTLS: %s", st.msg);
	if (c) {
		CHECK(imap_client_login(c, user_a, NULL, pass_a, IMAP_AUTH_LOGIN, &st) == 0,
		      "LOGIN after STARTTLS: %s", st.msg);
		imap_client_free(&c);
	}

	/* a CA that did not sign the server's certificate */
	o = opts("host1", env("LAB_HOST1"), env_port("LAB_IMAPS_PORT"), IMAP_TLS_IMPLICIT,
		 env("LAB_OTHER_CA"));
	cut_status_clear(&st);
	CHECK(imap_client_connect(&o, &c, &st) < 0, "wrong CA accepted");
	snprintf(peer, sizeof(peer), "%s:%s", env("LAB_HOST1"), env("LAB_IMAPS_PORT"));
	printf("wrong CA: %s\n", st.msg);
	CHECK(st.kind == CUT_FINAL, "wrong CA: kind %s", cut_kind_name(st.kind));
	CHECK(strstr(st.msg, peer) && strstr(st.msg, "imap.lab.test") &&
		      strstr(st.msg, "certificate") && strstr(st.msg, "check --ca-file"),
	      "wrong CA message: %s", st.msg);
	imap_client_free(&c);

	/* a TLS name the certificate does not carry */
	o = opts("host1", env("LAB_HOST1"), env_port("LAB_IMAPS_PORT"), IMAP_TLS_IMPLICIT,
		 env("LAB_CA"));
	o.tls_name = "not-this.lab.test";
	CHECK(imap_client_connect(&o, &c, &st) < 0, "wrong TLS name accepted");
	printf("wrong TLS name: %s\n", st.msg);
	CHECK(st.kind == CUT_FINAL && strstr(st.msg, "not-this.lab.test") &&
		      strstr(st.msg, "mismatch"),
	      "wrong name message: %s", st.msg);
	imap_client_free(&c);

	/* insecure only when asked: the wrong CA then connects */
	o = opts("host1", env("LAB_HOST1"), env_port("LAB_IMAPS_PORT"), IMAP_TLS_IMPLICIT,
		 env("LAB_OTHER_CA"));
	o.insecure = 1;
	CHECK(imap_client_connect(&o, &c, &st) == 0, "insecure: %s", st.msg);
	imap_client_free(&c);

	/* wrong password: final, the user named */
	o = opts("host1", env("LAB_HOST1"), env_port("LAB_IMAPS_PORT"), IMAP_TLS_IMPLICIT,
		 env("LAB_CA"));
	CHECK(imap_client_connect_login(&o, user_a, "wrong-password", &c, &st) < 0,
	      "wrong password accepted");
	printf("wrong password: %s\n", st.msg);
	CHECK(st.kind == CUT_FINAL && st.scope == CUT_SCOPE_ACCOUNT, "kind %s scope %s",
	      cut_kind_name(st.kind), cut_scope_name(st.scope));
	CHECK(strstr(st.msg, user_a) != NULL && strstr(st.msg, "wrong-password") == NULL,
	      "message: %s", st.msg);
	CHECK(c == NULL, "client left");

	/* STARTTLS asked of a server without it: an error, no downgrade */
	o = opts("notls", env("LAB_NOTLS_HOST"), env_port("LAB_NOTLS_PORT"), IMAP_TLS_STARTTLS,
		 env("LAB_CA"));
	CHECK(imap_client_connect_login(&o, user_a, pass_a, &c, &st) < 0,
	      "STARTTLS downgrade accepted");
	printf("no STARTTLS: %s\n", st.msg);
	CHECK(st.kind == CUT_FINAL && strstr(st.msg, "STARTTLS") && strstr(st.msg, "does not offer"),
	      "message: %s", st.msg);
	/* and plain text works only when chosen explicitly */
	o.tls = IMAP_TLS_NONE;
	CHECK(imap_client_connect_login(&o, user_a, pass_a, &c, &st) == 0, "plain: %s", st.msg);
	imap_client_free(&c);

	/* connection refused: temporary */
	o = opts("host1", env("LAB_HOST1"), env_port("LAB_DEAD_PORT"), IMAP_TLS_IMPLICIT,
		 env("LAB_CA"));
	CHECK(imap_client_connect(&o, &c, &st) < 0 && st.kind == CUT_TEMP, "dead port: %s",
	      st.msg);
}

/* Trace: passwords masked.  stderr is redirected to a file meanwhile. */
static void test_trace_redaction(void)
{
	char path[] = "/tmp/imap-trace-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;
	cut_buf log = CUT_BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f;
	int m;

	MUST(fd >= 0 && saved >= 0, "tmp file");
	cut_log_set_level(CUT_LOG_TRACE);
	dup2(fd, 2);
	for (m = 0; m < 2; m++) {
		o = opts("host1", env("LAB_HOST1"), env_port("LAB_IMAPS_PORT"),
			 IMAP_TLS_IMPLICIT, env("LAB_CA"));
		if (imap_client_connect(&o, &c, &st) == 0) {
			imap_client_login(c, user_a, NULL, pass_a,
					  m ? IMAP_AUTH_LOGIN : IMAP_AUTH_PLAIN, &st);
			imap_client_logout(c, &st);
		}
		imap_client_free(&c);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	cut_log_set_level(getenv("IMAP_TEST_TRACE") ? CUT_LOG_TRACE : CUT_LOG_INFO);
	f = fdopen(fd, "r");
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		cut_buf_append(&log, chunk, n);
	cut_buf_append(&log, "", 0);
	fclose(f);
	unlink(path);
	CHECK(strstr(log.data, "AUTHENTICATE PLAIN ***") != NULL, "trace:\n%s", log.data);
	CHECK(strstr(log.data, "LOGIN \"") != NULL && strstr(log.data, "\" ***") != NULL,
	      "trace:\n%s", log.data);
	CHECK(strstr(log.data, pass_a) == NULL, "password in trace:\n%s", log.data);
	CHECK(strstr(log.data, "S: * OK") != NULL, "server lines traced");
	cut_buf_free(&log);
}

/* ---- round trip ---- */

typedef struct got_msg {
	uint32_t uid;
	char flags[200];
	char date[64];
	int64_t epoch;
	uint64_t size;
	cut_buf body;
} got_msg;

typedef struct fetch_ctx {
	got_msg msgs[8];
	int n;
	cut_buf *cur;
} fetch_ctx;

static int fx_begin(void *ctx, uint32_t seq, uint32_t uid, uint64_t size, cut_status *st)
{
	fetch_ctx *f = ctx;

	f->cur = &f->msgs[f->n].body;
	return 0;
}

static int fx_data(void *ctx, const void *p, size_t n, cut_status *st)
{
	fetch_ctx *f = ctx;

	return cut_buf_append(f->cur, p, n);
}

static int fx_end(void *ctx, cut_status *st)
{
	return 0;
}

static int fx_msg(void *ctx, const imap_fetch_msg *m, cut_status *st)
{
	fetch_ctx *f = ctx;
	got_msg *g = &f->msgs[f->n];

	if (f->n >= 7 || !m->body_done)
		return 0;
	g->uid = m->uid;
	snprintf(g->flags, sizeof(g->flags), "%s", m->flags ? m->flags : "");
	snprintf(g->date, sizeof(g->date), "%s", m->internaldate ? m->internaldate : "");
	g->size = m->size;
	g->epoch = m->internaldate_epoch;
	f->n++;
	return 0;
}

typedef struct vanished_ctx {
	char set[64];
	int n_msgs;
} vanished_ctx;

static int vanished_cb(void *ctx, const char *set, cut_status *st)
{
	vanished_ctx *v = ctx;

	snprintf(v->set, sizeof(v->set), "%s", set);
	return 0;
}

static int vanished_msg(void *ctx, const imap_fetch_msg *m, cut_status *st)
{
	((vanished_ctx *)ctx)->n_msgs++;
	return 0;
}

static void status_done(void *ctx, const imap_resp *tagged, const cut_status *st)
{
	(void)tagged;
	cut_status_copy(ctx, st);
}

static void test_round_trip(void)
{
	static const char *bodies[3] = {
		"From: a@lab.test\r\nSubject: one\r\nMessage-ID: <rt1@lab.test>\r\n\r\nbody one\r\n",
		("From: b@lab.test\r\nSubject: =?UTF-8?Q?d=C3=A9j=C3=A0?=\r\n\r\n\xc3\xa9t\xc3\xa9 8-bit\r\n"
		 "a line with trailing spaces   \r\n.\r\n"),
		"",
	};
	static const char *flags[3] = {"\\Seen $Forwarded", "\\Flagged \\Answered $label1", ""};
	static const char *dates[3] = {"17-Jul-2025 02:44:25 +0200", "01-Jan-2026 00:00:00 +0000",
				       "29-Feb-2024 23:59:59 -0500"};
	static const int64_t epochs[3] = {1752713065, 1767225600, 1709269199};
	char big3[5000];
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;
	char name_utf8[64], *name = NULL;
	imap_mailbox *list = NULL;
	size_t nlist = 0, i;
	imap_select_info si;
	uint32_t *uids = NULL;
	size_t nuids = 0;
	fetch_ctx fx;
	imap_body_sink sink = {fx_begin, fx_data, fx_end, NULL};
	imap_fetch_req fr;
	int found = 0;

	/* a body with a NUL-free binary-ish mix and a line longer than 998 */
	memset(big3, 'z', sizeof(big3));
	memcpy(big3, "Subject: long\r\n\r\n", 17);
	memcpy(big3 + sizeof(big3) - 3, "\r\n", 3);
	bodies[2] = big3;

	o = opts("host2", env("LAB_HOST2"), env_port("LAB_IMAPS_PORT"), IMAP_TLS_IMPLICIT,
		 env("LAB_CA"));
	MUST(imap_client_connect_login(&o, user_b, pass_b, &c, &st) == 0, "%s", st.msg);
	CHECK(imap_enable(c, "CONDSTORE QRESYNC", &st) == 0, "ENABLE: %s", st.msg);
	CHECK(imap_client_enabled(c, "QRESYNC"), "QRESYNC not enabled");
	snprintf(name_utf8, sizeof(name_utf8), "T\xc3\xa9st & co %d", (int)getpid());
	MUST(imap_utf7_encode(name_utf8, strlen(name_utf8), &name, &st) == 0, "%s", st.msg);
	MUST(imap_create(c, name, 1, &st) == 0, "CREATE %s: %s", name, st.msg);
	MUST(imap_create(c, name, 1, &st) == 0, "CREATE again (exist_ok): %s", st.msg);
	CHECK(imap_create(c, name, 0, &st) < 0, "CREATE existing without exist_ok");
	MUST(imap_list(c, "", "*", 0, &list, &nlist, &st) == 0, "%s", st.msg);
	for (i = 0; i < nlist; i++) {
		if (strcmp(list[i].name, name_utf8) == 0 && strcmp(list[i].raw, name) == 0)
			found = 1;
		if (strcmp(list[i].raw, "Sent") == 0)
			CHECK(list[i].attrs & IMAP_MBX_SENT, "Sent lacks \\Sent: %s",
			      list[i].attr_text);
	}
	CHECK(found, "created mailbox %s not listed", name_utf8);
	CHECK(nlist > 0 && list[0].delim == '/', "delimiter");
	imap_mailboxes_free(&list, nlist);

	for (i = 0; i < 3; i++) {
		imap_append_req ar;
		imap_append_result res;

		memset(&ar, 0, sizeof(ar));
		ar.mailbox = name;
		ar.flags = flags[i];
		ar.internaldate = dates[i];
		ar.size = strlen(bodies[i]);
		ar.data = bodies[i];
		CHECK(imap_append(c, &ar, &res, &st) == 0, "APPEND: %s", st.msg);
		CHECK(res.uid == i + 1 && res.uidvalidity != 0, "APPENDUID %u", res.uid);
	}
	MUST(imap_select(c, name, 0, 1, &si, &st) == 0, "%s", st.msg);
	CHECK(si.exists == 3 && si.uidnext == 4 && si.uidvalidity != 0, "select: %u %u %u",
	      si.exists, si.uidnext, si.uidvalidity);
	CHECK(si.highestmodseq > 0, "HIGHESTMODSEQ");
	CHECK(si.permanentflags_sent && strstr(si.permanentflags, "\\*") != NULL,
	      "permanentflags %s", si.permanentflags);
	CHECK(strstr(si.flags, "\\Seen") != NULL && strstr(si.flags, "$label1") != NULL,
	      "FLAGS %s", si.flags);
	{
		/* STATUS of the selected mailbox: the same counters as SELECT */
		imap_select_info ss;
		cut_status sst;

		cut_status_clear(&sst);
		MUST(imap_status_async(c, name, &ss, status_done, &sst, &st) == 0, "%s",
		     st.msg);
		MUST(imap_client_run(c, &st) == 0 && !cut_status_failed(&sst), "STATUS: %s %s",
		     st.msg, sst.msg);
		CHECK(ss.exists == si.exists && ss.uidnext == si.uidnext &&
			      ss.uidvalidity == si.uidvalidity &&
			      ss.highestmodseq == si.highestmodseq && !ss.nomodseq,
		      "STATUS %u %u %u %llu vs SELECT %u %u %u %llu", ss.exists, ss.uidnext,
		      ss.uidvalidity, (unsigned long long)ss.highestmodseq, si.exists,
		      si.uidnext, si.uidvalidity, (unsigned long long)si.highestmodseq);
	}
	MUST(imap_uid_search(c, "ALL", &uids, &nuids, &st) == 0, "%s", st.msg);
	CHECK(nuids == 3 && uids[0] == 1 && uids[2] == 3, "search %zu", nuids);
	free(uids);

	memset(&fx, 0, sizeof(fx));
	sink.ctx = &fx;
	memset(&fr, 0, sizeof(fr));
	fr.uid_set = "1:*";
	fr.items = IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_SIZE |
		   IMAP_FETCH_MODSEQ | IMAP_FETCH_BODY;
	fr.on_msg = fx_msg;
	fr.ctx = &fx;
	fr.sink = &sink;
	MUST(imap_uid_fetch(c, &fr, &st) == 0, "%s", st.msg);
	CHECK(fx.n == 3, "fetched %d", fx.n);
	for (i = 0; i < (size_t)fx.n && i < 3; i++) {
		got_msg *g = &fx.msgs[i];

		CHECK(g->uid == i + 1, "uid");
		CHECK(g->body.len == strlen(bodies[i]) &&
			      memcmp(g->body.data, bodies[i], g->body.len) == 0,
		      "message %zu bytes differ (%zu vs %zu)", i, g->body.len, strlen(bodies[i]));
		CHECK(g->size == strlen(bodies[i]), "RFC822.SIZE");
		/* the same instant (Dovecot keeps it as a file time, in UTC) */
		CHECK(g->epoch == epochs[i], "INTERNALDATE %s vs %s", g->date, dates[i]);
		{
			/* same set of flags (server order may differ) */
			const char *p = flags[i];
			char w[64];
			int k;

			while (sscanf(p, "%63s%n", w, &k) == 1) {
				CHECK(strstr(g->flags, w) != NULL, "flag %s missing in %s", w,
				      g->flags);
				p += k;
			}
		}
		cut_buf_free(&g->body);
	}
	/* STORE + UID EXPUNGE; with QRESYNC enabled the server reports the
	 * expunge as "* VANISHED 2" (RFC 7162 3.2.10) */
	CHECK(imap_uid_store(c, "2", "+FLAGS", "\\Deleted", &st) == 0, "%s", st.msg);
	CHECK(imap_uid_expunge(c, "2", &st) == 0, "%s", st.msg);
	CHECK(imap_client_get_stats(c)->vanished == 1 &&
		      imap_client_get_stats(c)->vanished_uids == 1,
	      "live VANISHED: %llu responses, %llu UIDs",
	      (unsigned long long)imap_client_get_stats(c)->vanished,
	      (unsigned long long)imap_client_get_stats(c)->vanished_uids);
	MUST(imap_uid_search(c, "ALL", &uids, &nuids, &st) == 0, "%s", st.msg);
	CHECK(nuids == 2 && uids[0] == 1 && uids[1] == 3, "after expunge %zu", nuids);
	free(uids);
	/* what changed since the SELECT: UID 2 vanished, 1 and 3 unchanged */
	{
		vanished_ctx vc;

		memset(&vc, 0, sizeof(vc));
		memset(&fr, 0, sizeof(fr));
		fr.uid_set = "1:*";
		fr.items = IMAP_FETCH_FLAGS;
		fr.changedsince = si.highestmodseq;
		fr.vanished = 1;
		fr.on_vanished = vanished_cb;
		fr.on_msg = vanished_msg;
		fr.ctx = &vc;
		CHECK(imap_uid_fetch(c, &fr, &st) == 0, "FETCH CHANGEDSINCE VANISHED: %s",
		      st.msg);
		CHECK(strcmp(vc.set, "2") == 0 && vc.n_msgs == 0,
		      "VANISHED (EARLIER) \"%s\", %d changed messages", vc.set, vc.n_msgs);
	}
	/* a command failure is reported, the connection stays usable */
	CHECK(imap_select(c, "does-not-exist", 0, 0, &si, &st) < 0 &&
		      st.kind == CUT_FINAL && strstr(st.msg, "does-not-exist"),
	      "select missing: %s", st.msg);
	CHECK(imap_noop(c, &st) == 0, "after NO: %s", st.msg);
	imap_cmd(c, "UNSELECT", &st);
	{
		char del[200];

		snprintf(del, sizeof(del), "DELETE \"%s\"", name);
		CHECK(imap_cmd(c, del, &st) == 0, "%s", st.msg);
	}
	free(name);
	imap_client_logout(c, &st);
	imap_client_free(&c);
}

/* ---- 20 MB streamed host1 -> host2 ---- */

#define BIG_SIZE (20u * 1024 * 1024)

typedef struct gen_ctx {
	uint64_t pos, size;
} gen_ctx;

/* Deterministic message bytes: headers then 76-char lines. */
static char gen_byte(uint64_t i)
{
	static const char hdr[] = "Subject: big\r\nMessage-ID: <big@lab.test>\r\n\r\n";

	if (i < sizeof(hdr) - 1)
		return hdr[i];
	i -= sizeof(hdr) - 1;
	if (i % 78 == 76)
		return '\r';
	if (i % 78 == 77)
		return '\n';
	return (char)('A' + (i * 7 + i / 78) % 26);
}

static int gen_read(void *ctx, void *buf, size_t n, size_t *got_r, cut_status *st)
{
	gen_ctx *g = ctx;
	char *b = buf;
	size_t i;

	if (n > g->size - g->pos)
		n = (size_t)(g->size - g->pos);
	for (i = 0; i < n; i++)
		b[i] = gen_byte(g->pos + i);
	g->pos += n;
	*got_r = n;
	return 0;
}

typedef struct pipe_ctx {
	imap_client *dst;
	const char *mailbox;
	uint64_t got;
	int mismatch, began;
	cut_status append_st;
	int append_done;
	uint32_t uid;
} pipe_ctx;

static void pipe_done(void *ctx, const imap_append_result *r, const cut_status *st)
{
	pipe_ctx *p = ctx;

	cut_status_copy(&p->append_st, st);
	p->uid = r->uid;
	p->append_done = 1;
}

static int pipe_begin(void *ctx, uint32_t seq, uint32_t uid, uint64_t size, cut_status *st)
{
	pipe_ctx *p = ctx;
	imap_append_req ar;

	memset(&ar, 0, sizeof(ar));
	ar.mailbox = p->mailbox;
	ar.flags = "\\Seen";
	ar.internaldate = "02-Mar-2026 10:00:00 +0100";
	ar.size = size;
	p->began = 1;
	return imap_append_stream_begin(p->dst, &ar, pipe_done, p, st);
}

static int pipe_data(void *ctx, const void *d, size_t n, cut_status *st)
{
	pipe_ctx *p = ctx;
	const char *b = d;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != gen_byte(p->got + i))
			p->mismatch = 1;
	p->got += n;
	return imap_append_stream_write(p->dst, d, n, st);
}

static int pipe_end(void *ctx, cut_status *st)
{
	pipe_ctx *p = ctx;

	return imap_append_stream_end(p->dst, st);
}

typedef struct check_ctx {
	uint64_t got;
	int mismatch;
} check_ctx;

static int chk_begin(void *ctx, uint32_t seq, uint32_t uid, uint64_t size, cut_status *st)
{
	return 0;
}

static int chk_data(void *ctx, const void *d, size_t n, cut_status *st)
{
	check_ctx *k = ctx;
	const char *b = d;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != gen_byte(k->got + i))
			k->mismatch = 1;
	k->got += n;
	return 0;
}

static int chk_end(void *ctx, cut_status *st)
{
	return 0;
}

static void test_big_message(void)
{
	imap_client_opts o1, o2;
	imap_client *h1 = NULL, *h2 = NULL;
	cut_status st;
	imap_append_req ar;
	gen_ctx g = {0, BIG_SIZE};
	imap_select_info si;
	pipe_ctx pc;
	imap_body_sink ps = {pipe_begin, pipe_data, pipe_end, NULL};
	check_ctx kc = {0, 0};
	imap_body_sink ks = {chk_begin, chk_data, chk_end, NULL};
	imap_fetch_req fr;
	char box[64];
	long hwm0, hwm1;

	snprintf(box, sizeof(box), "big-%d", (int)getpid());
	o1 = opts("host1", env("LAB_HOST1"), env_port("LAB_IMAPS_PORT"), IMAP_TLS_IMPLICIT,
		  env("LAB_CA"));
	o2 = opts("host2", env("LAB_HOST2"), env_port("LAB_IMAPS_PORT"), IMAP_TLS_IMPLICIT,
		  env("LAB_CA"));
	MUST(imap_client_connect_login(&o1, user_b, pass_b, &h1, &st) == 0, "%s", st.msg);
	MUST(imap_client_connect_login(&o2, user_b, pass_b, &h2, &st) == 0, "%s", st.msg);
	hwm0 = vm_hwm_kb();
	{
		char b1[80];

		snprintf(b1, sizeof(b1), "INBOX.%s", box);
		MUST(imap_create(h1, b1, 1, &st) == 0, "%s", st.msg);
		memset(&ar, 0, sizeof(ar));
		ar.mailbox = b1;
		ar.size = BIG_SIZE;
		ar.read = gen_read;
		ar.read_ctx = &g;
		MUST(imap_append(h1, &ar, NULL, &st) == 0, "20 MB APPEND: %s", st.msg);
		MUST(imap_select(h1, b1, 1, 0, &si, &st) == 0, "%s", st.msg);
		CHECK(si.exists == 1, "exists %u", si.exists);
	}
	MUST(imap_create(h2, box, 1, &st) == 0, "%s", st.msg);
	memset(&pc, 0, sizeof(pc));
	pc.dst = h2;
	pc.mailbox = box;
	ps.ctx = &pc;
	memset(&fr, 0, sizeof(fr));
	fr.uid_set = "1:*";
	fr.items = IMAP_FETCH_BODY;
	fr.sink = &ps;
	MUST(imap_uid_fetch(h1, &fr, &st) == 0, "fetch+stream: %s", st.msg);
	MUST(imap_client_run(h2, &st) == 0, "%s", st.msg);
	CHECK(pc.began && pc.got == BIG_SIZE && !pc.mismatch, "streamed %llu bytes, mismatch %d",
	      (unsigned long long)pc.got, pc.mismatch);
	CHECK(pc.append_done && pc.append_st.kind == CUT_OK && pc.uid == 1, "append: %s",
	      pc.append_st.msg);
	/* read it back from host2 */
	MUST(imap_select(h2, box, 1, 0, &si, &st) == 0, "%s", st.msg);
	ks.ctx = &kc;
	fr.sink = &ks;
	MUST(imap_uid_fetch(h2, &fr, &st) == 0, "%s", st.msg);
	CHECK(kc.got == BIG_SIZE && !kc.mismatch, "host2 copy: %llu bytes, mismatch %d",
	      (unsigned long long)kc.got, kc.mismatch);
	hwm1 = vm_hwm_kb();
	printf("20 MB message: APPEND to host1, streamed host1 -> host2, read back; "
	       "peak RSS grew by %ld KiB (message %u KiB)\n",
	       hwm1 - hwm0, BIG_SIZE / 1024);
	CHECK(hwm1 - hwm0 < (long)(BIG_SIZE / 1024 / 4), "peak RSS grew by %ld KiB",
	      hwm1 - hwm0);
	imap_cmd(h1, "UNSELECT", &st);
	imap_cmd(h2, "UNSELECT", &st);
	{
		char del[100];

		snprintf(del, sizeof(del), "DELETE INBOX.%s", box);
		imap_cmd(h1, del, &st);
		snprintf(del, sizeof(del), "DELETE %s", box);
		imap_cmd(h2, del, &st);
	}
	imap_client_free(&h1);
	imap_client_free(&h2);
}

/* ---- pipelining ---- */

typedef struct many_ctx {
	int ok, failed;
	uint32_t last_uid;
} many_ctx;

static void many_done(void *ctx, const imap_append_result *r, const cut_status *st)
{
	many_ctx *m = ctx;

	if (st->kind == CUT_OK && r->uid == m->last_uid + 1)
		m->ok++;
	else
		m->failed++;
	m->last_uid = r->uid;
}

static void test_pipelined_appends(void)
{
	imap_client_opts o;
	imap_client *c = NULL;
	cut_status st;
	static char bodies[1000][128];
	many_ctx m = {0, 0, 0};
	char box[64];
	uint64_t waits0, cmds0;
	imap_select_info si;
	int i;
	double t0;

	o = opts("host2", env("LAB_HOST2"), env_port("LAB_IMAPS_PORT"), IMAP_TLS_IMPLICIT,
		 env("LAB_CA"));
	MUST(imap_client_connect_login(&o, user_b, pass_b, &c, &st) == 0, "%s", st.msg);
	snprintf(box, sizeof(box), "many-%d", (int)getpid());
	MUST(imap_create(c, box, 1, &st) == 0, "%s", st.msg);
	waits0 = imap_client_get_stats(c)->read_waits;
	cmds0 = imap_client_get_stats(c)->commands;
	t0 = (double)clock();
	for (i = 0; i < 1000; i++) {
		imap_append_req ar;

		snprintf(bodies[i], sizeof(bodies[i]),
			 "Message-ID: <many-%d@lab.test>\r\nSubject: %d\r\n\r\nbody %d\r\n", i, i, i);
		memset(&ar, 0, sizeof(ar));
		ar.mailbox = box;
		ar.flags = i % 2 ? "\\Seen" : NULL;
		ar.size = strlen(bodies[i]);
		ar.data = bodies[i];
		MUST(imap_append_async(c, &ar, many_done, &m, &st) == 0, "%s", st.msg);
	}
	MUST(imap_client_run(c, &st) == 0, "%s", st.msg);
	printf("1000 pipelined APPENDs: %d ok, %d failed, %llu commands, %llu waits for "
	       "server input (round trips), LITERAL+ %s, cpu %.2fs\n",
	       m.ok, m.failed,
	       (unsigned long long)(imap_client_get_stats(c)->commands - cmds0),
	       (unsigned long long)(imap_client_get_stats(c)->read_waits - waits0),
	       imap_client_has_cap(c, "LITERAL+") ? "yes" : "no",
	       ((double)clock() - t0) / CLOCKS_PER_SEC);
	CHECK(m.ok == 1000 && m.failed == 0, "ok %d failed %d", m.ok, m.failed);
	CHECK(imap_client_get_stats(c)->read_waits - waits0 < 100, "too many round trips");
	MUST(imap_select(c, box, 1, 0, &si, &st) == 0, "%s", st.msg);
	CHECK(si.exists == 1000, "exists %u", si.exists);
	imap_cmd(c, "UNSELECT", &st);
	{
		char del[100];

		snprintf(del, sizeof(del), "DELETE %s", box);
		imap_cmd(c, del, &st);
	}
	imap_client_free(&c);
}

int main(void)
{
	int n = (int)strtol(env("LAB_ACCOUNTS"), NULL, 10);

	/* accounts the other integration tests leave alone: the last one
	 * (logins only) and the third from last (mailboxes it creates and
	 * deletes); sync_test.sh uses user24 of the default 25 */
	MUST(n >= 3, "LAB_ACCOUNTS=%d: need at least 3", n);
	snprintf(user_a, sizeof(user_a), "user%02d", n);
	snprintf(pass_a, sizeof(pass_a), "pass-user%02d", n);
	snprintf(user_b, sizeof(user_b), "user%02d", n - 2);
	snprintf(pass_b, sizeof(pass_b), "pass-user%02d", n - 2);

	if (getenv("IMAP_TEST_TRACE") != NULL)
		cut_log_set_level(CUT_LOG_TRACE);
	test_tls_and_login();
	/* first, so that the peak RSS it measures is its own */
	test_big_message();
	test_trace_redaction();
	test_round_trip();
	test_pipelined_appends();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("imap_client_test: all checks passed\n");
	return 0;
}
