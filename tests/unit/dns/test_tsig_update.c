/*
 * test_tsig_update.c: the TSIG key-file parser, TSIG signing, the RFC 2136
 * UPDATE builder (compared as wire bytes), the reply check (MAC chained to
 * the request MAC, Time Signed within the fudge) and the rcode -> sentence
 * table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/buf.h"
#include "dns/rrset.h"
#include "dns/tsig.h"
#include "dns/tsig_key.h"
#include "dns/update.h"

static char *slurp(const char *name, size_t *len_r)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/tsig/%s", TEST_DATA_DIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len_r = (size_t)n;
	return buf;
}

/* Parses a data file; returns the key or NULL with the message in st. */
static tsig_key *parse_file(const char *name, cut_status *st)
{
	size_t len;
	char *text = slurp(name, &len);
	tsig_key *k = NULL;

	cut_status_clear(st);
	if (tsig_key_parse(text, len, name, &k, st) < 0)
		k = NULL;
	free(text);
	return k;
}

static void test_key_good(void **state)
{
	cut_status st;
	tsig_key *k;

	(void)state;
	k = parse_file("good.key", &st);
	assert_non_null(k);
	assert_string_equal(k->name, "cutover-key.");
	assert_int_equal(k->alg, TSIG_KEY_HMAC_SHA256);
	assert_int_equal(k->secret_len, 32);
	assert_int_equal(k->secret[0], 0x5e);
	tsig_key_free(&k);
	assert_null(k);

	k = parse_file("comments.key", &st);
	assert_non_null(k);
	assert_string_equal(k->name, "sha512-key.");
	assert_int_equal(k->alg, TSIG_KEY_HMAC_SHA512);
	assert_int_equal(k->secret_len, 22);
	assert_memory_equal(k->secret, "foobarbazquxquuxfoobar", 22);
	tsig_key_free(&k);
}

static void expect_error(const char *file, const char *msg)
{
	cut_status st;
	tsig_key *k = parse_file(file, &st);

	assert_null(k);
	if (strstr(st.msg, msg) == NULL)
		fail_msg("%s: got \"%s\", expected \"%s\"", file, st.msg, msg);
}

static void test_key_errors(void **state)
{
	(void)state;
	expect_error("badalg.key", "badalg.key:2: unsupported TSIG algorithm \"hmac-sha3\"");
	expect_error("nosemi.key", "nosemi.key:3: expected `;` after the value");
	expect_error("badb64.key", "badb64.key:4: the secret is not valid base64");
	expect_error("twokeys.key", "twokeys.key:2: a second key");
	expect_error("unterminated.key", "unterminated.key:2: unterminated /* comment");
	expect_error("nosecret.key", "nosecret.key:1: key \"k.\" has no secret");
}

static void test_key_inline(void **state)
{
	cut_status st;
	tsig_key *k = NULL;
	static const char *bad[] = {
		"",
		"key",
		"key \"k\"",
		"key \"k\" {",
		"key \"k\" { algorithm hmac-sha256; secret \"Zm9v\"; }",
		"key \"a..b\" { algorithm hmac-sha256; secret \"Zm9v\"; };",
		"key \"k\" { algorithm hmac-sha256; secret \"Zm9v\"; color red; };",
		"options { };",
		"key \"k\" { algorithm hmac-sha256; secret \"Zm9v",
		"key \"k\" { algorithm hmac-sha256; secret \"\"; };",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tsig_key_parse(bad[i], strlen(bad[i]), "t", &k, &st), -1);
		assert_null(k);
		assert_true(strncmp(st.msg, "t:", 2) == 0);
	}
	/* hmac-sha384 works here (cutover signs itself, not with ldns) */
	assert_int_equal(tsig_key_parse("key k {algorithm hmac-sha384;secret Zm9v;};",
					43, "t", &k, &st), 0);
	assert_int_equal(k->alg, TSIG_KEY_HMAC_SHA384);
	assert_string_equal(tsig_key_alg_dname(k->alg), "hmac-sha384.");
	tsig_key_free(&k);
}

static void test_key_load_permissions(void **state)
{
	char path[] = "/tmp/cutover-test-key-XXXXXX";
	size_t len;
	char *text = slurp("good.key", &len);
	cut_status st;
	tsig_key *k = NULL;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	chmod(path, 0644);
	assert_int_equal(tsig_key_load(path, &k, &st), -1);
	assert_non_null(strstr(st.msg, "chmod 600"));
	chmod(path, 0600);
	assert_int_equal(tsig_key_load(path, &k, &st), 0);
	assert_string_equal(k->name, "cutover-key.");
	tsig_key_free(&k);
	unlink(path);
	free(text);
}

/* RFC 2136 3.x: the UPDATE for "a.ex. A": prerequisite "RRset does not
 * exist" (2.4.3), delete RRset (2.5.2), add one record (2.5.1). */
static void test_update_wire_absent(void **state)
{
	static const uint8_t expected[] = {
		0x12, 0x34, 0x28, 0x00, /* id, opcode UPDATE, RD clear */
		0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00,
		/* zone: ex. SOA IN */
		0x02, 'e', 'x', 0x00, 0x00, 0x06, 0x00, 0x01,
		/* prerequisite: a.ex. A class NONE TTL 0 RDLENGTH 0 */
		0x01, 'a', 0xc0, 0x0c, 0x00, 0x01, 0x00, 0xfe,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* delete RRset: a.ex. A class ANY TTL 0 RDLENGTH 0 */
		0xc0, 0x14, 0x00, 0x01, 0x00, 0xff,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		/* add: a.ex. A IN 300 192.0.2.1 */
		0xc0, 0x14, 0x00, 0x01, 0x00, 0x01,
		0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 192, 0, 2, 1,
	};
	dns_update *u = dns_update_new("ex.");
	dns_rrset *cur = dns_rrset_new("a.ex", DNS_TYPE_A);
	dns_rrset *target = dns_rrset_new("A.EX.", DNS_TYPE_A);
	uint8_t *wire = NULL;
	size_t len;
	cut_status st;

	(void)state;
	assert_non_null(u);
	target->ttl = 300;
	assert_int_equal(dns_rrset_add(target, "192.0.2.1"), 0);
	assert_int_equal(dns_update_require_rrset(u, cur), 0);
	assert_int_equal(dns_update_replace_rrset(u, target), 0);
	assert_int_equal(dns_update_to_wire(u, 0x1234, &wire, &len, &st), 0);
	assert_int_equal(len, sizeof(expected));
	assert_memory_equal(wire, expected, len);
	free(wire);
	dns_rrset_free(&cur);
	dns_rrset_free(&target);
	dns_update_free(&u);
}

/* RFC 2136 2.4.2: RRset exists (value dependent), TTL 0, class IN; then
 * the RRset replaced with a new TTL (how a TTL is changed portably). */
static void test_update_wire_ttl(void **state)
{
	static const uint8_t expected[] = {
		0xab, 0xcd, 0x28, 0x00,
		0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00,
		0x02, 'e', 'x', 0x00, 0x00, 0x06, 0x00, 0x01,
		/* prerequisite: ex. MX IN TTL 0 "10 m.ex." */
		0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x06, 0x00, 0x0a, 0x01, 'm', 0xc0, 0x0c,
		/* delete RRset ex. MX */
		0xc0, 0x0c, 0x00, 0x0f, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00,
		/* add ex. 300 MX 10 m.ex. */
		0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c,
		0x00, 0x04, 0x00, 0x0a, 0xc0, 0x22,
	};
	dns_update *u = dns_update_new("ex");
	dns_rrset *cur = dns_rrset_new("ex.", DNS_TYPE_MX);
	dns_rrset *target;
	uint8_t *wire = NULL;
	size_t len;
	cut_status st;
	cut_buf text = CUT_BUF_INIT;

	(void)state;
	cur->ttl = 86400;
	assert_int_equal(dns_rrset_add_mx(cur, 10, "M.ex"), 0);
	target = dns_rrset_dup(cur);
	target->ttl = 300;
	assert_string_equal(cur->rdata[0], "10 m.ex.");
	assert_true(dns_rrset_same_data(cur, target));
	assert_false(dns_rrset_equal(cur, target));
	assert_int_equal(dns_update_require_rrset(u, cur), 0);
	assert_int_equal(dns_update_replace_rrset(u, target), 0);
	assert_int_equal(dns_update_to_wire(u, 0xabcd, &wire, &len, &st), 0);
	if (len != sizeof(expected) || memcmp(wire, expected, len) != 0) {
		for (size_t i = 0; i < len; i++)
			fprintf(stderr, "%02x%s", wire[i], i % 16 == 15 ? "\n" : " ");
		fprintf(stderr, "\n");
	}
	assert_int_equal(len, sizeof(expected));
	assert_memory_equal(wire, expected, len);
	assert_int_equal(dns_update_format(u, &text), 0);
	assert_non_null(strstr(text.data, "require record:          ex. MX 10 m.ex."));
	assert_non_null(strstr(text.data, "delete rrset:            ex. MX"));
	assert_non_null(strstr(text.data, "add:                     ex. 300 MX 10 m.ex."));
	cut_buf_free(&text);
	free(wire);
	dns_rrset_free(&cur);
	dns_rrset_free(&target);
	dns_update_free(&u);
}

/* RFC 8945 4.2: the TSIG RR appended, ARCOUNT + 1, and the reply check
 * reports a MAC that does not verify instead of failing. */
static void test_tsig_sign(void **state)
{
	cut_status st;
	tsig_key *k = parse_file("good.key", &st);
	dns_update *u = dns_update_new("ex.");
	uint8_t *wire = NULL, *signed_msg = NULL, mac[DNS_TSIG_MAC_MAX];
	size_t len, slen, mlen, off;
	uint16_t type;
	dns_tsig_result r;

	(void)state;
	assert_non_null(k);
	assert_int_equal(dns_update_require_exists(u, "ex.", DNS_TYPE_SOA), 0);
	assert_int_equal(dns_update_to_wire(u, 7, &wire, &len, &st), 0);
	assert_int_equal(dns_tsig_sign(k, wire, len, 1700000000, 300, &signed_msg,
				       &slen, mac, &mlen, &st), 0);
	assert_int_equal(mlen, 32);
	assert_int_equal(signed_msg[11], 1); /* ARCOUNT */
	assert_memory_equal(signed_msg + 12, wire + 12, len - 12);
	assert_int_equal(dns_tsig_find_last_rr(signed_msg, slen, &off, &type), 0);
	assert_int_equal(off, len);
	assert_int_equal(type, 250);
	/* the request itself is not a valid reply (no request MAC prefix) */
	assert_int_equal(dns_tsig_verify(k, signed_msg, slen, mac, mlen, &r, &st), 0);
	assert_true(r.present);
	assert_true(r.key_matches);
	assert_false(r.verified);
	assert_int_equal(r.time_signed, 1700000000);
	/* an unsigned message */
	assert_int_equal(dns_tsig_verify(k, wire, len, mac, mlen, &r, &st), 0);
	assert_false(r.present);
	/* truncated */
	assert_int_equal(dns_tsig_verify(k, signed_msg, slen - 3, mac, mlen, &r, &st), 0);
	assert_false(r.present);
	free(wire);
	free(signed_msg);
	dns_update_free(&u);
	tsig_key_free(&k);
}

/* ---- a signed reply, built here independently of dns/tsig.c ---- */

static size_t put_name(uint8_t *out, const char *name)
{
	size_t n = 0;

	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t l = dot != NULL ? (size_t)(dot - name) : strlen(name);

		out[n++] = (uint8_t)l;
		memcpy(out + n, name, l);
		n += l;
		name += l;
		if (*name == '.')
			name++;
	}
	out[n++] = 0;
	return n;
}

static size_t put_u16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t put_u48(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 5; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
	return 6;
}

/*
 * The UPDATE reply to request (header with QR and rcode, zone section)
 * signed with k as a server does (RFC 8945 4.3.1): HMAC over the request
 * MAC (length-prefixed), the reply, and the TSIG variables (4.3.3) with
 * time_signed and fudge.  Returns the malloc'ed message.
 */
static uint8_t *signed_reply(const tsig_key *k, const uint8_t *request,
			     size_t req_len, int rcode, const uint8_t *req_mac,
			     size_t req_mac_len, uint64_t time_signed,
			     unsigned fudge, size_t *len_r)
{
	static const EVP_MD *(*const md[])(void) = {
		[TSIG_KEY_HMAC_SHA256] = EVP_sha256,
	};
	uint8_t body[512], vars[512], data[2048], mac[EVP_MAX_MD_SIZE];
	uint8_t *out;
	size_t bn, vn, n = 0, zone_end = 12;
	unsigned int ml = 0;

	assert_int_equal(k->alg, TSIG_KEY_HMAC_SHA256);
	/* the zone section: one name and type/class */
	while (request[zone_end] != 0)
		zone_end += 1 + request[zone_end];
	zone_end += 1 + 4;
	assert_true(zone_end <= req_len);
	memcpy(body, request, 2);         /* the request's id */
	body[2] = 0x80 | (5 << 3);        /* QR, opcode UPDATE */
	body[3] = (uint8_t)rcode;
	memset(body + 4, 0, 8);
	body[5] = 1;                      /* ZOCOUNT */
	memcpy(body + 12, request + 12, zone_end - 12);
	bn = zone_end;
	/* RFC 8945 4.3.3: the variables */
	vn = put_name(vars, k->name);
	vn += put_u16(vars + vn, 255);   /* class ANY */
	memset(vars + vn, 0, 4);          /* TTL */
	vn += 4;
	vn += put_name(vars + vn, tsig_key_alg_dname(k->alg));
	vn += put_u48(vars + vn, time_signed);
	vn += put_u16(vars + vn, fudge);
	vn += put_u16(vars + vn, 0);     /* error */
	vn += put_u16(vars + vn, 0);     /* other len */
	n = put_u16(data, (unsigned)req_mac_len);
	memcpy(data + n, req_mac, req_mac_len);
	n += req_mac_len;
	memcpy(data + n, body, bn);
	n += bn;
	memcpy(data + n, vars, vn);
	n += vn;
	assert_non_null(HMAC(md[k->alg](), k->secret, (int)k->secret_len, data,
			     n, mac, &ml));
	/* the TSIG RR appended, ARCOUNT 1 */
	out = malloc(bn + 512);
	assert_non_null(out);
	memcpy(out, body, bn);
	out[11] = 1;
	n = bn;
	n += put_name(out + n, k->name);
	n += put_u16(out + n, 250);
	n += put_u16(out + n, 255);
	memset(out + n, 0, 4);
	n += 4;
	{
		size_t rdlen_at = n, rd;

		n += 2;
		rd = n;
		n += put_name(out + n, tsig_key_alg_dname(k->alg));
		n += put_u48(out + n, time_signed);
		n += put_u16(out + n, fudge);
		n += put_u16(out + n, ml);
		memcpy(out + n, mac, ml);
		n += ml;
		memcpy(out + n, body, 2); /* original id */
		n += 2;
		n += put_u16(out + n, 0);
		n += put_u16(out + n, 0);
		put_u16(out + rdlen_at, (unsigned)(n - rd));
	}
	*len_r = n;
	return out;
}

/* RFC 8945 5.2.3: within the fudge, both sides, the boundary included;
 * the reply's fudge applies but never more than ours. */
static void test_tsig_time_check(void **state)
{
	dns_tsig_result r;
	int64_t off = 0;
	unsigned allowed = 0;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.present = 1;
	r.time_signed = 1700000000;
	r.fudge = 300;
	assert_true(dns_tsig_time_ok(&r, 1700000000, &off, &allowed));
	assert_int_equal(off, 0);
	assert_int_equal(allowed, 300);
	assert_true(dns_tsig_time_ok(&r, 1700000300, &off, NULL));
	assert_int_equal(off, -300);
	assert_true(dns_tsig_time_ok(&r, 1699999700, &off, NULL));
	assert_int_equal(off, 300);
	/* our clock is 301 s ahead of the reply: signed in the past */
	assert_false(dns_tsig_time_ok(&r, 1700000301, &off, NULL));
	assert_int_equal(off, -301);
	/* the reply is signed 10 minutes in our future */
	assert_false(dns_tsig_time_ok(&r, 1699999400, &off, NULL));
	assert_int_equal(off, 600);
	/* a smaller fudge from the signer is honoured */
	r.fudge = 60;
	assert_false(dns_tsig_time_ok(&r, 1700000061, &off, &allowed));
	assert_int_equal(allowed, 60);
	assert_true(dns_tsig_time_ok(&r, 1700000060, NULL, NULL));
	/* a huge one is not: DNS_TSIG_FUDGE at most */
	r.fudge = 65535;
	assert_false(dns_tsig_time_ok(&r, 1700000301, &off, &allowed));
	assert_int_equal(allowed, DNS_TSIG_FUDGE);
}

/* A reply signed correctly, chained to our request MAC: verified, and its
 * time judged separately; the same reply chained to another request MAC
 * does not verify. */
static void test_tsig_reply_time(void **state)
{
	cut_status st;
	tsig_key *k = parse_file("good.key", &st);
	dns_update *u = dns_update_new("ex.");
	uint8_t *wire = NULL, *req = NULL, *rep = NULL, mac[DNS_TSIG_MAC_MAX];
	uint8_t other[DNS_TSIG_MAC_MAX];
	size_t len, rlen, mlen, plen;
	const uint64_t t = 1700000000;
	dns_tsig_result r;
	int64_t off = 0;

	(void)state;
	assert_non_null(k);
	assert_int_equal(dns_update_require_exists(u, "ex.", DNS_TYPE_SOA), 0);
	assert_int_equal(dns_update_to_wire(u, 4242, &wire, &len, &st), 0);
	assert_int_equal(dns_tsig_sign(k, wire, len, t, 300, &req, &rlen, mac,
				       &mlen, &st), 0);

	/* in time: trusted */
	rep = signed_reply(k, req, rlen, 0, mac, mlen, t + 2, 300, &plen);
	assert_int_equal(dns_tsig_verify(k, rep, plen, mac, mlen, &r, &st), 0);
	assert_true(r.present);
	assert_true(r.key_matches);
	assert_true(r.verified);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.fudge, 300);
	assert_int_equal(r.time_signed, t + 2);
	assert_true(dns_tsig_time_ok(&r, t + 3, &off, NULL));
	free(rep);

	/* signed 10 minutes ahead of our clock: the MAC verifies, the time
	 * does not */
	rep = signed_reply(k, req, rlen, 0, mac, mlen, t + 600, 300, &plen);
	assert_int_equal(dns_tsig_verify(k, rep, plen, mac, mlen, &r, &st), 0);
	assert_true(r.verified);
	assert_false(dns_tsig_time_ok(&r, t + 1, &off, NULL));
	assert_int_equal(off, 599);
	/* chained to another request: not verified */
	memcpy(other, mac, mlen);
	other[0] ^= 1;
	assert_int_equal(dns_tsig_verify(k, rep, plen, other, mlen, &r, &st), 0);
	assert_false(r.verified);
	free(rep);

	/* signed an hour ago (a reply played back) */
	rep = signed_reply(k, req, rlen, 0, mac, mlen, t - 3600, 300, &plen);
	assert_int_equal(dns_tsig_verify(k, rep, plen, mac, mlen, &r, &st), 0);
	assert_true(r.verified);
	assert_false(dns_tsig_time_ok(&r, t, &off, NULL));
	assert_int_equal(off, -3600);
	free(rep);

	free(wire);
	free(req);
	dns_update_free(&u);
	tsig_key_free(&k);
}

static void expect_explain(int rcode, uint16_t tsig_error, double offset,
			   cut_kind kind, const char *needle)
{
	dns_update_reply r;
	char buf[1024];

	memset(&r, 0, sizeof(r));
	r.rcode = rcode;
	r.tsig_error = tsig_error;
	r.clock_offset = offset;
	r.tsig_present = 1;
	r.signed_ok = 1;
	assert_int_equal(dns_update_explain(&r, "192.0.2.1:53", "ex.", "k.", buf,
					    sizeof(buf)),
			 kind);
	if (strstr(buf, needle) == NULL)
		fail_msg("got \"%s\", expected \"%s\"", buf, needle);
	assert_non_null(strstr(buf, "192.0.2.1:53"));
}

static void test_explain(void **state)
{
	(void)state;
	expect_explain(DNS_RCODE_NOERROR, 0, 0, CUT_OK, "accepted");
	expect_explain(DNS_RCODE_NOTAUTH, DNS_TSIG_BADKEY, 0, CUT_FINAL,
		       "rejected TSIG key \"k.\" for zone ex. (BADKEY");
	expect_explain(DNS_RCODE_NOTAUTH, DNS_TSIG_BADSIG, 0, CUT_FINAL,
		       "(BADSIG: the server knows the key name but the secret differs)");
	expect_explain(DNS_RCODE_NOTAUTH, DNS_TSIG_BADTIME, 600, CUT_FINAL,
		       "the server's clock is 10m00s ahead of ours");
	expect_explain(DNS_RCODE_NOTAUTH, DNS_TSIG_BADTIME, -90, CUT_FINAL,
		       "the server's clock is 1m30s behind ours");
	expect_explain(DNS_RCODE_REFUSED, 0, 0, CUT_FINAL,
		       "refused the UPDATE of zone ex. with key \"k.\" (REFUSED)");
	expect_explain(DNS_RCODE_NXRRSET, 0, 0, CUT_FINAL,
		       "prerequisite failed for zone ex. (NXRRSET) on the "
		       "UPDATE signed with key \"k.\"");
	expect_explain(DNS_RCODE_YXRRSET, 0, 0, CUT_FINAL, "(YXRRSET)");
	expect_explain(DNS_RCODE_NOTZONE, 0, 0, CUT_FINAL, "outside zone ex.");
	expect_explain(DNS_RCODE_NOTAUTH, 0, 0, CUT_FINAL, "not authoritative");
	expect_explain(DNS_RCODE_SERVFAIL, 0, 0, CUT_TEMP, "(SERVFAIL)");
	expect_explain(DNS_RCODE_NOTIMP, 0, 0, CUT_FINAL, "(NOTIMP)");
	expect_explain(12, 0, 0, CUT_FINAL, "RCODE12");
	{
		dns_update_reply r;
		char buf[512];

		/* an unsigned NOERROR reply to a signed request */
		memset(&r, 0, sizeof(r));
		assert_int_equal(dns_update_explain(&r, "s", "ex.", "k.", buf, sizeof(buf)),
				 CUT_FINAL);
		assert_non_null(strstr(buf, "without a TSIG signature"));
		/* a signed reply whose MAC does not verify */
		r.tsig_present = 1;
		assert_int_equal(dns_update_explain(&r, "s", "ex.", "k.", buf, sizeof(buf)),
				 CUT_FINAL);
		assert_non_null(strstr(buf, "does not verify"));
		assert_false(dns_update_reply_trusted(&r));
		/* RFC 8945 5.4.3: verified, but signed outside the fudge */
		memset(&r, 0, sizeof(r));
		r.tsig_present = 1;
		r.signed_ok = 1;
		assert_true(dns_update_reply_trusted(&r));
		r.time_skewed = 1;
		r.reply_time_offset = 600;
		r.time_allowed = 300;
		assert_false(dns_update_reply_trusted(&r));
		assert_int_equal(dns_update_explain(&r, "s", "ex.", "k.", buf, sizeof(buf)),
				 CUT_FINAL);
		if (strstr(buf, "with a reply signed by key \"k.\" whose time "
				"is 10m00s ahead of our clock (offset +10m00s, "
				"allowed 300 s") == NULL ||
		    strstr(buf, "not trusted; nothing is counted as done") == NULL)
			fail_msg("got \"%s\"", buf);
		r.reply_time_offset = -3600;
		r.rcode = DNS_RCODE_NXRRSET;
		dns_update_explain(&r, "s", "ex.", "k.", buf, sizeof(buf));
		if (strstr(buf, "(NXRRSET) with a reply signed by key \"k.\" "
				"whose time is 1h00m00s behind our clock "
				"(offset -1h00m00s") == NULL)
			fail_msg("got \"%s\"", buf);
	}
}

static void test_rrset(void **state)
{
	dns_rrset *a = dns_rrset_new("Imap.Example", DNS_TYPE_AAAA);
	dns_rrset *b = dns_rrset_new("imap.example.", DNS_TYPE_AAAA);
	cut_buf out = CUT_BUF_INIT;

	(void)state;
	assert_string_equal(a->owner, "imap.example.");
	assert_int_equal(dns_rrset_add(a, "2001:DB8:0:0::1"), 0);
	assert_int_equal(dns_rrset_add(a, "::ffff:127.0.0.11"), 0);
	assert_int_equal(dns_rrset_add(a, "2001:db8::1"), 0); /* duplicate */
	assert_int_equal(a->n, 2);
	assert_string_equal(a->rdata[0], "2001:db8::1");
	assert_int_equal(dns_rrset_add(a, "192.0.2.1"), -1);
	assert_int_equal(dns_rrset_add(b, "::ffff:127.0.0.11"), 0);
	assert_false(dns_rrset_same_data(a, b));
	assert_int_equal(dns_rrset_add(b, "2001:db8::1"), 0);
	assert_true(dns_rrset_same_data(a, b));
	a->ttl = 300;
	assert_int_equal(dns_rrset_format(a, "", &out), 0);
	assert_string_equal(out.data, "imap.example. 300 IN AAAA 2001:db8::1\n"
				      "imap.example. 300 IN AAAA ::ffff:127.0.0.11\n");
	cut_buf_free(&out);
	assert_int_equal(dns_rrset_addr_family("192.0.2.1"), 4);
	assert_int_equal(dns_rrset_addr_family("::1"), 6);
	assert_int_equal(dns_rrset_addr_family("host"), 0);
	dns_rrset_free(&a);
	dns_rrset_free(&b);
	a = dns_rrset_new("ex.", DNS_TYPE_MX);
	assert_int_equal(dns_rrset_add(a, "10"), -1);
	assert_int_equal(dns_rrset_add(a, "70000 mx."), -1);
	assert_int_equal(dns_rrset_add(a, "10  MX1.Ex"), 0);
	assert_string_equal(a->rdata[0], "10 mx1.ex.");
	dns_rrset_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_good),
		cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_key_inline),
		cmocka_unit_test(test_key_load_permissions),
		cmocka_unit_test(test_update_wire_absent),
		cmocka_unit_test(test_update_wire_ttl),
		cmocka_unit_test(test_tsig_sign),
		cmocka_unit_test(test_tsig_time_check),
		cmocka_unit_test(test_tsig_reply_time),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_rrset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
