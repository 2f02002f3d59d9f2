/*
 * test_imap_parse.c: the pure IMAP response parser and modified UTF-7.
 *
 * Each response stream is rendered to a canonical text (render()) and the
 * rendering must be the same whatever the split of the input (whole, byte
 * by byte, every two-part split, odd chunk sizes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "imapsync/imap_parse.h"
#include "imapsync/utf7.h"

/* ---- rendering ---- */

static void render_items(cut_buf *out, const imap_item *it)
{
	for (; it != NULL; it = it->next) {
		switch (it->type) {
		case IMAP_ITEM_ATOM:
			cut_buf_printf(out, "A:%s", it->str);
			break;
		case IMAP_ITEM_STRING:
			cut_buf_printf(out, "S%s%zu:", (it->flags & IMAP_ITEM_F_LITERAL) ? "L" : "",
				       it->len);
			cut_buf_append(out, it->str, it->len);
			break;
		case IMAP_ITEM_NIL:
			cut_buf_puts(out, "NIL");
			break;
		case IMAP_ITEM_LIST:
			cut_buf_puts(out, "(");
			render_items(out, it->child);
			cut_buf_puts(out, ")");
			break;
		case IMAP_ITEM_STREAMED:
			cut_buf_printf(out, "STREAMED:%llu", (unsigned long long)it->size);
			break;
		}
		if (it->next != NULL)
			cut_buf_puts(out, " ");
	}
}

static void render_resp(cut_buf *out, const imap_resp *r)
{
	static const char *kinds[] = {"?", "untagged", "tagged", "continue"};

	cut_buf_printf(out, "[%s tag=%s st=%s", kinds[r->kind], r->tag,
		       imap_status_name(r->status));
	if (r->has_number)
		cut_buf_printf(out, " n=%llu", (unsigned long long)r->number);
	cut_buf_printf(out, " name=%s", r->name);
	if (r->code.kind != IMAP_CODE_NONE) {
		cut_buf_printf(out, " code=%s:%llu:%llu:", r->code.name,
			       (unsigned long long)r->code.num1,
			       (unsigned long long)r->code.num2);
		render_items(out, r->code.args);
	}
	if (r->args != NULL) {
		cut_buf_puts(out, " args=");
		render_items(out, r->args);
	}
	cut_buf_printf(out, " text=%s]\n", r->text);
}

typedef struct render_state {
	cut_buf out;
	uint64_t lit_len;
	uint32_t lit_sum;
	int failed;
	char err[CUT_STATUS_MSG_MAX];
} render_state;

static void render_feed(imap_parser *p, render_state *rs, const char *in,
			size_t len)
{
	size_t off = 0;

	while (!rs->failed) {
		imap_event ev;
		size_t used;
		cut_status st;

		cut_status_clear(&st);
		if (imap_parse_next(p, in + off, len - off, &used, &ev, &st) < 0) {
			rs->failed = 1;
			snprintf(rs->err, sizeof(rs->err), "%s", st.msg);
			cut_buf_printf(&rs->out, "ERROR %s\n", st.msg);
			return;
		}
		assert_true(used <= len - off);
		off += used;
		switch (ev.kind) {
		case IMAP_EV_NONE:
			assert_int_equal(off, len);
			return;
		case IMAP_EV_RESPONSE:
			render_resp(&rs->out, ev.resp);
			break;
		case IMAP_EV_LITERAL_BEGIN:
			cut_buf_printf(&rs->out, "BEGIN %llu prefix=", (unsigned long long)ev.size);
			cut_buf_append(&rs->out, ev.prefix, ev.prefix_len);
			cut_buf_puts(&rs->out, "|\n");
			rs->lit_len = 0;
			rs->lit_sum = 0;
			break;
		case IMAP_EV_LITERAL_DATA: {
			const unsigned char *d = ev.data;
			size_t i;

			assert_true(ev.len > 0);
			for (i = 0; i < ev.len; i++)
				rs->lit_sum = rs->lit_sum * 31 + d[i];
			rs->lit_len += ev.len;
			break;
		}
		case IMAP_EV_LITERAL_END:
			cut_buf_printf(&rs->out, "END %llu sum=%08x\n",
				       (unsigned long long)rs->lit_len, rs->lit_sum);
			break;
		}
	}
}

/* Renders `in` fed in chunks of `chunk` bytes (0 = whole), or split in
 * two at `split` when chunk == (size_t)-1. */
static char *render(const imap_parse_limits *lim, const char *in, size_t len,
		    size_t chunk, size_t split)
{
	imap_parser *p = NULL;
	render_state rs;
	cut_status st;

	memset(&rs, 0, sizeof(rs));
	assert_int_equal(imap_parser_new(lim, &p, &st), 0);
	if (chunk == (size_t)-1) {
		render_feed(p, &rs, in, split);
		render_feed(p, &rs, in + split, len - split);
	} else if (chunk == 0) {
		render_feed(p, &rs, in, len);
	} else {
		size_t off;

		for (off = 0; off < len; off += chunk) {
			size_t n = len - off < chunk ? len - off : chunk;
			/* a private copy, so that a pointer kept into a
			 * previous chunk would be caught by ASan */
			char *copy = malloc(n);

			memcpy(copy, in + off, n);
			render_feed(p, &rs, copy, n);
			free(copy);
		}
	}
	imap_parser_free(&p);
	assert_null(p);
	cut_buf_append(&rs.out, "", 0);
	return cut_buf_steal(&rs.out);
}

/* Asserts the same rendering for every split; returns it. */
static char *render_all_splits(const imap_parse_limits *lim, const char *in,
			       size_t len)
{
	char *whole = render(lim, in, len, 0, 0);
	size_t i;
	static const size_t chunks[] = {1, 2, 3, 7, 64, 4096};

	for (i = 0; i <= len; i++) {
		char *r = render(lim, in, len, (size_t)-1, i);

		if (strcmp(r, whole) != 0)
			fail_msg("split at %zu differs:\n%s\nvs whole:\n%s", i, r, whole);
		free(r);
	}
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		char *r = render(lim, in, len, chunks[i], 0);

		if (strcmp(r, whole) != 0)
			fail_msg("chunk %zu differs:\n%s\nvs whole:\n%s", chunks[i], r, whole);
		free(r);
	}
	return whole;
}

static void expect(const imap_parse_limits *lim, const char *in, const char *want)
{
	char *got = render_all_splits(lim, in, strlen(in));

	if (strcmp(got, want) != 0)
		fail_msg("input:\n%s\ngot:\n%s\nwant:\n%s", in, got, want);
	free(got);
}

/* ---- tests ---- */

static void test_basic_responses(void **state)
{
	expect(NULL, "* 3 EXISTS\r\n", "[untagged tag= st= n=3 name=EXISTS text=]\n");
	expect(NULL, "A1 OK [UIDNEXT 4] done\r\n",
	       "[tagged tag=A1 st=OK name=OK code=UIDNEXT:4:0:A:4 text=done]\n");
	expect(NULL, "+ go ahead\r\n", "[continue tag= st= name= text=go ahead]\n");
	expect(NULL, "+\r\n", "[continue tag= st= name= text=]\n");
	expect(NULL, "* ok hello\r\n", "[untagged tag= st=OK name=OK text=hello]\n");
	expect(NULL, "A2 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n",
	       "[tagged tag=A2 st=NO name=NO code=OVERQUOTA:0:0: "
	       "text=Quota exceeded (mailbox for user is full)]\n");
	expect(NULL, "A3 OK [APPENDUID 38505 3955] APPEND completed\r\n",
	       "[tagged tag=A3 st=OK name=OK code=APPENDUID:38505:3955:A:38505 A:3955 "
	       "text=APPEND completed]\n");
	expect(NULL, "A4 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
	       "[tagged tag=A4 st=OK name=OK code=COPYUID:38505:0:A:38505 A:304,319:320 "
	       "A:3956:3958 text=Done]\n");
}

static void test_codes(void **state)
{
	char *r;
	imap_parser *p = NULL;
	cut_status st;
	imap_event ev;
	size_t used;
	const char *end;
	const char *s = "* OK [PERMANENTFLAGS (\\Answered \\Seen \\*)] Limited\r\n"
			"* NO [UNAVAILABLE] Try later\r\n"
			"A1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
			"* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"
			"* OK [NOMODSEQ] No modseqs\r\n"
			"* OK [READ-WRITE] rw\r\n"
			"* OK [ALERT] System shutdown in 10 minutes\r\n"
			"A2 NO [TRYCREATE] no such mailbox\r\n"
			"* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] hi\r\n"
			"* OK [WEIRD stuff (a b) \"q\"] x\r\n"
			"* OK [broken code text\r\n"
			"* BYE Server shutting down\r\n";

	r = render_all_splits(NULL, s, strlen(s));
	free(r);
	assert_int_equal(imap_parser_new(NULL, &p, &st), 0);

	/* The length left is end - s: with gcc 12.2 at -O1 and above,
	 * strlen(s) of the pointer advancing through the literal returned
	 * wrong lengths (the test failed in non-sanitized builds). */
	end = s + strlen(s);
	assert_int_equal(imap_parse_next(p, s, (size_t)(end - s), &used, &ev, &st), 0);
	assert_int_equal(ev.kind, IMAP_EV_RESPONSE);
	assert_int_equal(ev.resp->code.kind, IMAP_CODE_PERMANENTFLAGS);
	assert_int_equal(ev.resp->code.args->type, IMAP_ITEM_LIST);
	assert_string_equal(imap_item_nth(ev.resp->code.args->child, 2)->str, "\\*");
	s += used;
#define NEXT()                                                                   \
	do {                                                                         \
		assert_int_equal(imap_parse_next(p, s, (size_t)(end - s), &used, &ev, &st), 0); \
		assert_int_equal(ev.kind, IMAP_EV_RESPONSE);                           \
		s += used;                                                             \
	} while (0)
	NEXT();
	assert_int_equal(ev.resp->code.kind, IMAP_CODE_UNAVAILABLE);
	assert_int_equal(ev.resp->status, IMAP_ST_NO);
	NEXT();
	assert_int_equal(ev.resp->code.kind, IMAP_CODE_AUTHENTICATIONFAILED);
	assert_string_equal(ev.resp->tag, "A1");
	NEXT();
	assert_int_equal(ev.resp->code.kind, IMAP_CODE_HIGHESTMODSEQ);
	assert_true(ev.resp->code.num1 == 715194045007ull);
	NEXT();
	assert_int_equal(ev.resp->code.kind, IMAP_CODE_NOMODSEQ);
	NEXT();
	assert_int_equal(ev.resp->code.kind, IMAP_CODE_READ_WRITE);
	NEXT();
	assert_int_equal(ev.resp->code.kind, IMAP_CODE_ALERT);
	assert_string_equal(ev.resp->text, "System shutdown in 10 minutes");
	NEXT();
	assert_int_equal(ev.resp->code.kind, IMAP_CODE_TRYCREATE);
	NEXT();
	assert_int_equal(ev.resp->code.kind, IMAP_CODE_CAPABILITY);
	assert_string_equal(imap_item_nth(ev.resp->code.args, 2)->str, "AUTH=PLAIN");
	NEXT();
	assert_int_equal(ev.resp->code.kind, IMAP_CODE_OTHER);
	assert_string_equal(ev.resp->code.name, "WEIRD");
	assert_string_equal(imap_item_nth(ev.resp->code.args, 2)->str, "q");
	NEXT();
	/* a malformed code is kept as text */
	assert_int_equal(ev.resp->code.kind, IMAP_CODE_NONE);
	assert_string_equal(ev.resp->text, "[broken code text");
	NEXT();
	assert_int_equal(ev.resp->status, IMAP_ST_BYE);
	assert_string_equal(ev.resp->text, "Server shutting down");
	assert_true(s == end);
	assert_int_equal(imap_parse_next(p, s, 0, &used, &ev, &st), 0);
	assert_int_equal(ev.kind, IMAP_EV_NONE);
#undef NEXT
	imap_parser_free(&p);
}

static void test_strings_and_lists(void **state)
{
	expect(NULL, "* LIST (\\HasNoChildren \\Sent) \"/\" \"a \\\"q\\\" \\\\ b\"\r\n",
	       "[untagged tag= st= name=LIST args=(A:\\HasNoChildren A:\\Sent) S1:/ "
	       "S9:a \"q\" \\ b text=]\n");
	expect(NULL, "* LIST () NIL {0}\r\n\r\n",
	       "[untagged tag= st= name=LIST args=() NIL SL0: text=]\n");
	expect(NULL, "* LIST () \".\" {4+}\r\na\r\nb\r\n",
	       "[untagged tag= st= name=LIST args=() S1:. SL4:a\r\nb text=]\n");
}

static void test_literal8_and_nul(void **state)
{
	const char in[] = "* 1 FETCH (BINARY[] ~{3}\r\na\0b UID 9)\r\n";
	char *r = render_all_splits(NULL, in, sizeof(in) - 1);
	const char want[] = "[untagged tag= st= n=1 name=FETCH args=(A:BINARY[] SL3:a\0b "
			    "A:UID A:9) text=]\n";

	assert_int_equal(strlen(r), strlen("[untagged tag= st= n=1 name=FETCH args=(A:BINARY[] SL3:a"));
	assert_memory_equal(r, want, strlen(r));
	free(r);
}

static void test_nested_bodystructure(void **state)
{
	expect(NULL,
	       "* 12 FETCH (UID 7 BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" "
	       "\"UTF-8\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL)(\"TEXT\" \"HTML\" "
	       "(\"CHARSET\" \"UTF-8\") NIL NIL \"QUOTED-PRINTABLE\" 2323 48 NIL NIL "
	       "NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"d3438gr7324\") NIL NIL))\r\n",
	       "[untagged tag= st= n=12 name=FETCH args=(A:UID A:7 A:BODYSTRUCTURE "
	       "((S4:TEXT S5:PLAIN (S7:CHARSET S5:UTF-8) NIL NIL S4:7BIT A:1152 A:23 "
	       "NIL NIL NIL) (S4:TEXT S4:HTML (S7:CHARSET S5:UTF-8) NIL NIL "
	       "S16:QUOTED-PRINTABLE A:2323 A:48 NIL NIL NIL) S11:ALTERNATIVE "
	       "(S8:BOUNDARY S11:d3438gr7324) NIL NIL)) text=]\n");
	/* section specs with spaces and parentheses stay one atom */
	expect(NULL,
	       "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (MESSAGE-ID DATE)] {4}\r\nab\r\n "
	       "BODY[]<0> NIL)\r\n",
	       "[untagged tag= st= n=1 name=FETCH args=(A:UID A:1 "
	       "A:BODY[HEADER.FIELDS (MESSAGE-ID DATE)] SL4:ab\r\n A:BODY[]<0> NIL) "
	       "text=]\n");
}

static void test_streamed_literal_and_unsolicited(void **state)
{
	imap_parse_limits lim = {0, 16, 0};
	/* an unsolicited EXPUNGE and a flag change in the middle of a FETCH */
	const char *in = "* 1 FETCH (UID 5 FLAGS (\\Seen) BODY[] {20}\r\n"
			 "0123456789abcdefghij)\r\n"
			 "* 4 EXPUNGE\r\n"
			 "* 3 FETCH (FLAGS (\\Deleted))\r\n"
			 "* 2 FETCH (UID 6 BODY[] {5}\r\nhello)\r\n"
			 "A5 OK done\r\n";
	char *r = render_all_splits(&lim, in, strlen(in));
	uint32_t seq, uid;
	char section[32];
	const char *pre = "* 1 FETCH (UID 5 FLAGS (\\Seen) BODY[] ";

	assert_non_null(strstr(r, "BEGIN 20 prefix=* 1 FETCH (UID 5 FLAGS (\\Seen) BODY[] |\n"
				  "END 20 sum="));
	assert_non_null(strstr(r, "args=(A:UID A:5 A:FLAGS (A:\\Seen) A:BODY[] STREAMED:20)"));
	assert_non_null(strstr(r, "[untagged tag= st= n=4 name=EXPUNGE text=]\n"
				  "[untagged tag= st= n=3 name=FETCH args=(A:FLAGS (A:\\Deleted)) text=]\n"
				  "[untagged tag= st= n=2 name=FETCH args=(A:UID A:6 A:BODY[] SL5:hello) text=]\n"
				  "[tagged tag=A5 st=OK name=OK text=done]\n"));
	free(r);

	assert_int_equal(imap_parse_fetch_prefix(pre, strlen(pre), &seq, &uid, section,
						 sizeof(section)),
			 0);
	assert_int_equal(seq, 1);
	assert_int_equal(uid, 5);
	assert_string_equal(section, "BODY[]");
	pre = "* 77 FETCH (FLAGS (\\Seen \"x\") BODY[] ";
	assert_int_equal(imap_parse_fetch_prefix(pre, strlen(pre), &seq, &uid, section,
						 sizeof(section)),
			 0);
	assert_int_equal(seq, 77);
	assert_int_equal(uid, 0);
	pre = "* 3 LIST () \"/\" ";
	assert_int_equal(imap_parse_fetch_prefix(pre, strlen(pre), &seq, &uid, section,
						 sizeof(section)),
			 -1);
}

static void test_bye_and_errors(void **state)
{
	imap_parse_limits lim = {64, 16, 100};
	char line[200];

	expect(NULL, "* BYE Autologout; idle for too long\r\n",
	       "[untagged tag= st=BYE name=BYE text=Autologout; idle for too long]\n");
	/* overlong line: an error, not an allocation */
	memset(line, 'a', sizeof(line));
	memcpy(line, "* OK ", 5);
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	expect(&lim, line,
	       "ERROR response from the server longer than 64 bytes (line or literals)\n");
	/* oversized literal */
	expect(&lim, "* 1 FETCH (BODY[] {101}\r\n",
	       "ERROR literal of 101 bytes from the server exceeds the limit of 100 bytes\n");
	/* literals count against the line limit when buffered */
	expect(&lim, "* 1 FETCH (BODY[] {60}\r\n",
	       "BEGIN 60 prefix=* 1 FETCH (BODY[] |\n");
	/* garbage */
	expect(NULL, "\x01\x02garbage\r\n",
	       "ERROR unparsable response from the server (missing space after tag at "
	       "offset 9): \x01\x02garbage\n");
	expect(NULL, "* 1 FETCH (UID 1\r\n",
	       "ERROR unparsable response from the server (unterminated list at offset "
	       "16): * 1 FETCH (UID 1\n");
	expect(NULL, "A1 FOO bar\r\n",
	       "ERROR unparsable response from the server (tagged response without "
	       "OK/NO/BAD at offset 6): A1 FOO bar\n");
	expect(NULL, "* LIST ) x\r\n",
	       "ERROR unparsable response from the server (unbalanced ) at offset 7): "
	       "* LIST ) x\n");
	expect(NULL, "\r\n",
	       "ERROR unparsable response from the server (unexpected character at "
	       "offset 0): \n");
	expect(NULL, "* 1 FETCH (X \"abc\r\n",
	       "ERROR unparsable response from the server (unterminated quoted string "
	       "at offset 17): * 1 FETCH (X \"abc\n");
}

static void test_sticky_error(void **state)
{
	imap_parser *p = NULL;
	cut_status st;
	imap_event ev;
	size_t used;

	assert_int_equal(imap_parser_new(NULL, &p, &st), 0);
	assert_int_equal(imap_parse_next(p, "\r\n", 2, &used, &ev, &st), -1);
	assert_int_equal(st.kind, CUT_TEMP);
	assert_int_equal(st.scope, CUT_SCOPE_SERVER);
	assert_int_equal(imap_parse_next(p, "* OK\r\n", 6, &used, &ev, &st), -1);
	imap_parser_reset(p);
	assert_int_equal(imap_parse_next(p, "* OK\r\n", 6, &used, &ev, &st), 0);
	assert_int_equal(ev.kind, IMAP_EV_RESPONSE);
	assert_string_equal(ev.resp->raw, "* OK");
	imap_parser_free(&p);
}

static char *read_file(const char *name, size_t *len_r)
{
	char path[512];
	FILE *f;
	char *d;
	long n;

	snprintf(path, sizeof(path), "%s/imap/%s", TEST_DATA_DIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	d = malloc((size_t)n + 1);
	assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
	d[n] = '\0';
	fclose(f);
	*len_r = (size_t)n;
	return d;
}

static void test_dovecot_transcript(void **state)
{
	size_t len, i, small;
	char *in = read_file("dovecot-session.txt", &len);
	char *whole = render(NULL, in, len, 0, 0);
	static const size_t chunks[] = {1, 2, 5, 13, 1000, 16384, 65536};
	const char *big;

	/* every response parsed, no error */
	assert_null(strstr(whole, "ERROR"));
	assert_non_null(strstr(whole, "[untagged tag= st= name=NAMESPACE args=((S0: S1:/)) NIL NIL text=]\n"));
	assert_non_null(strstr(whole, "args=(A:\\HasNoChildren A:\\Trash) S1:/ SL9:Corbeille"));
	assert_non_null(strstr(whole, "S26:Archives & old/&AOk-t&AOk-"));
	assert_non_null(strstr(whole, "name=ESEARCH args=(A:TAG S5:A0006) A:UID A:ALL A:1:2"));
	assert_non_null(strstr(whole, "code=APPENDUID:1700000000:3:"));
	assert_non_null(strstr(whole, "name=VANISHED args=A:3"));
	assert_non_null(strstr(whole, "S26: 1-Jan-2026 00:00:00 +0000"));
	/* the 100 KiB body is streamed, the small one buffered */
	big = strstr(whole, "BEGIN 146000 prefix=* 2 FETCH (UID 2 BODY[] |\nEND 146000 sum=");
	assert_non_null(big);
	assert_non_null(strstr(whole, "args=(A:UID A:2 A:BODY[] STREAMED:146000)"));
	assert_non_null(strstr(whole, "args=(A:UID A:1 A:BODY[] SL96:Return-Path"));
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		char *r = render(NULL, in, len, chunks[i], 0);

		assert_string_equal(r, whole);
		free(r);
	}
	/* every two-part split of the part before the big body */
	small = (size_t)(strstr(in, "* 2 FETCH (UID 2 BODY[]") - in);
	free(whole);
	whole = render(NULL, in, small, 0, 0);
	for (i = 0; i <= small; i++) {
		char *r = render(NULL, in, small, (size_t)-1, i);

		assert_string_equal(r, whole);
		free(r);
	}
	free(whole);
	free(in);
}

/* Bytes recorded from the lab's Dovecot 2.3 (host2) by a scripted session:
 * LOGIN, CAPABILITY, NAMESPACE, ENABLE, CREATE, two APPENDs, LIST RETURN
 * (SPECIAL-USE), SELECT (CONDSTORE), ESEARCH, FETCH of metadata and header
 * literals, FETCH BODY[] (70 bytes and 93,645 bytes), BODYSTRUCTURE,
 * STORE, UID EXPUNGE, a NO, LOGOUT with BYE. */
static void test_dovecot_lab_capture(void **state)
{
	size_t len, i, small;
	char *in = read_file("dovecot-lab-capture.bin", &len);
	char *whole = render(NULL, in, len, 0, 0);
	static const size_t chunks[] = {1, 3, 16, 4096, 16384};

	assert_null(strstr(whole, "ERROR"));
	assert_non_null(strstr(whole, "name=NAMESPACE args=((S0: S1:/)) NIL NIL"));
	assert_non_null(strstr(whole, "name=ENABLED args=A:CONDSTORE"));
	assert_non_null(strstr(whole, "code=APPENDUID:1795898521:2:"));
	assert_non_null(strstr(whole, "name=LIST args=(A:\\Sent) S1:/ A:Sent"));
	assert_non_null(strstr(whole, "name=LIST args=() S1:/ A:cap-&AOk-t&AOk-"));
	assert_non_null(strstr(whole, "code=HIGHESTMODSEQ:4:0:A:4"));
	assert_non_null(strstr(whole, "name=ESEARCH args=(A:TAG S5:A0010) A:UID A:ALL A:1:2"));
	assert_non_null(strstr(whole, "A:MODSEQ (A:4) A:BODY[HEADER.FIELDS (MESSAGE-ID)] SL31:"));
	assert_non_null(strstr(whole, "args=(A:UID A:1 A:BODY[] SL70:From: a@lab.test"));
	assert_non_null(strstr(whole, "BEGIN 93645 prefix=* 2 FETCH (UID 2 BODY[] |\nEND 93645 sum="));
	assert_non_null(strstr(whole, "args=(A:UID A:2 A:BODY[] STREAMED:93645)"));
	assert_non_null(strstr(whole, "A:BODYSTRUCTURE (S4:text S5:plain (S7:charset S8:us-ascii) NIL NIL"));
	assert_non_null(strstr(whole, "[tagged tag=A0016 st=NO name=NO text=Mailbox doesn't exist"));
	assert_non_null(strstr(whole, "[untagged tag= st=BYE name=BYE text=Logging out]"));
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		char *r = render(NULL, in, len, chunks[i], 0);

		assert_string_equal(r, whole);
		free(r);
	}
	/* every two-part split up to the end of the first FETCH answer */
	small = (size_t)(strstr(in, "A0011 OK") - in);
	free(whole);
	whole = render(NULL, in, small, 0, 0);
	for (i = 0; i <= small; i++) {
		char *r = render(NULL, in, small, (size_t)-1, i);

		assert_string_equal(r, whole);
		free(r);
	}
	free(whole);
	free(in);
}

/* ---- modified UTF-7 ---- */

static void utf7_round(const char *utf8, const char *mutf7)
{
	char *e = NULL, *d = NULL;
	cut_status st;

	assert_int_equal(imap_utf7_encode(utf8, strlen(utf8), &e, &st), 0);
	assert_string_equal(e, mutf7);
	assert_int_equal(imap_utf7_decode(mutf7, strlen(mutf7), &d, &st), 0);
	assert_string_equal(d, utf8);
	free(e);
	free(d);
}

static void utf7_bad(const char *mutf7, const char *why)
{
	char *d = NULL;
	cut_status st;

	cut_status_clear(&st);
	assert_int_equal(imap_utf7_decode(mutf7, strlen(mutf7), &d, &st), -1);
	assert_null(d);
	assert_int_equal(st.kind, CUT_FINAL);
	if (strstr(st.msg, why) == NULL)
		fail_msg("%s: got \"%s\", want \"%s\"", mutf7, st.msg, why);
}

static void test_utf7(void **state)
{
	char *e = NULL;
	cut_status st;

	utf7_round("INBOX", "INBOX");
	utf7_round("Archives & old", "Archives &- old");
	utf7_round("&", "&-");
	utf7_round("été", "&AOk-t&AOk-");
	/* RFC 3501 5.1.3 example */
	utf7_round("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	utf7_round("Éléments envoyés", "&AMk-l&AOk-ments envoy&AOk-s");
	utf7_round("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-");
	utf7_round("😀 emoji", "&2D3eAA- emoji");
	utf7_round("a\tb", "a&AAk-b");
	utf7_round("", "");

	utf7_bad("caf\xc3\xa9", "8-bit or control character");
	utf7_bad("&AOk", "unterminated encoded run");
	utf7_bad("&AOk-&AOk-", "two adjacent encoded runs");
	utf7_bad("&AGE-", "encoded printable ASCII");
	utf7_bad("&2D3-", "bad encoded run");
	utf7_bad("&3gA-", "lone surrogate");
	utf7_bad("&AO!-", "bad character in encoded run");
	utf7_bad("&AOl-", "bad encoded run"); /* non-zero padding bits */
	utf7_bad("&-&", "unterminated encoded run");
	assert_int_equal(imap_utf7_encode("\xff", 1, &e, &st), -1);
	assert_null(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_responses),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_strings_and_lists),
		cmocka_unit_test(test_literal8_and_nul),
		cmocka_unit_test(test_nested_bodystructure),
		cmocka_unit_test(test_streamed_literal_and_unsolicited),
		cmocka_unit_test(test_bye_and_errors),
		cmocka_unit_test(test_sticky_error),
		cmocka_unit_test(test_dovecot_transcript),
		cmocka_unit_test(test_dovecot_lab_capture),
		cmocka_unit_test(test_utf7),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
