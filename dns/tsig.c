/* tsig.c: TSIG (RFC 8945) signing and verification (see tsig.h). */
#include "dns/tsig.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define DNS_HDR 12
#define DNS_TYPE_TSIG 250
#define DNS_CLASS_ANY 255
#define DNS_NAME_WIRE_MAX 255

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint64_t get48(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 6; i++)
		v = (v << 8) | p[i];
	return v;
}

static void put48(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 5; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/*
 * Reads the name at off into out as canonical wire (lower case, no
 * compression), following pointers (RFC 1035 4.1.4) with a loop guard.
 * *next_r is the offset after the name in the message.  @return the wire
 * length, or -1 when malformed.
 */
static int read_name(const uint8_t *msg, size_t len, size_t off,
		     uint8_t *out, size_t *next_r)
{
	size_t n = 0, pos = off;
	int jumps = 0, jumped = 0;

	for (;;) {
		uint8_t l;

		if (pos >= len)
			return -1;
		l = msg[pos];
		if ((l & 0xC0) == 0xC0) {
			if (pos + 1 >= len || ++jumps > 64)
				return -1;
			if (!jumped)
				*next_r = pos + 2;
			jumped = 1;
			pos = (size_t)(((l & 0x3F) << 8) | msg[pos + 1]);
			continue;
		}
		if ((l & 0xC0) != 0)
			return -1;
		if (pos + 1 + l > len || n + 1 + l > DNS_NAME_WIRE_MAX)
			return -1;
		if (out != NULL) {
			size_t i;

			out[n] = l;
			for (i = 0; i < l; i++)
				out[n + 1 + i] = (uint8_t)tolower(msg[pos + 1 + i]);
		}
		n += 1 + (size_t)l;
		pos += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	if (!jumped)
		*next_r = pos;
	return (int)n;
}

/* "a.b." -> canonical wire.  @return length or -1. */
static int name_to_wire(const char *s, uint8_t *out)
{
	size_t n = 0;

	while (*s != '\0') {
		const char *dot = strchr(s, '.');
		size_t l = dot != NULL ? (size_t)(dot - s) : strlen(s);
		size_t i;

		if (l == 0 || l > 63 || n + 1 + l + 1 > DNS_NAME_WIRE_MAX)
			return -1;
		out[n++] = (uint8_t)l;
		for (i = 0; i < l; i++)
			out[n++] = (uint8_t)tolower((unsigned char)s[i]);
		s += l;
		if (*s == '.')
			s++;
	}
	out[n++] = 0;
	return (int)n;
}

static const EVP_MD *alg_md(tsig_key_alg alg)
{
	switch (alg) {
	case TSIG_KEY_HMAC_MD5:
		return EVP_md5();
	case TSIG_KEY_HMAC_SHA1:
		return EVP_sha1();
	case TSIG_KEY_HMAC_SHA224:
		return EVP_sha224();
	case TSIG_KEY_HMAC_SHA256:
		return EVP_sha256();
	case TSIG_KEY_HMAC_SHA384:
		return EVP_sha384();
	case TSIG_KEY_HMAC_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

int dns_tsig_find_last_rr(const uint8_t *msg, size_t len, size_t *off_r,
			  uint16_t *type_r)
{
	size_t pos = DNS_HDR, next = 0, last = 0;
	unsigned qd, rr, i;

	if (len < DNS_HDR)
		return -1;
	qd = get16(msg + 4);
	rr = (unsigned)get16(msg + 6) + get16(msg + 8) + get16(msg + 10);
	if (get16(msg + 10) == 0)
		return -1;
	for (i = 0; i < qd; i++) {
		if (read_name(msg, len, pos, NULL, &next) < 0 || next + 4 > len)
			return -1;
		pos = next + 4;
	}
	for (i = 0; i < rr; i++) {
		last = pos;
		if (read_name(msg, len, pos, NULL, &next) < 0 || next + 10 > len)
			return -1;
		pos = next + 10 + get16(msg + next + 8);
		if (pos > len)
			return -1;
	}
	if (pos != len)
		return -1;
	if (read_name(msg, len, last, NULL, &next) < 0)
		return -1;
	*off_r = last;
	*type_r = get16(msg + next);
	return 0;
}

/* HMAC over the concatenation of up to three parts. */
static int hmac3(const tsig_key *key, const uint8_t *a, size_t an,
		 const uint8_t *b, size_t bn, const uint8_t *c, size_t cn,
		 uint8_t *mac_r, size_t *mac_len_r)
{
	uint8_t *data = NULL;
	unsigned int ml = 0;
	int ret = -1;

	data = malloc(an + bn + cn + 1);
	if (data == NULL)
		goto done;
	if (an > 0)
		memcpy(data, a, an);
	if (bn > 0)
		memcpy(data + an, b, bn);
	if (cn > 0)
		memcpy(data + an + bn, c, cn);
	if (HMAC(alg_md(key->alg), key->secret, (int)key->secret_len, data,
		 an + bn + cn, mac_r, &ml) == NULL)
		goto done;
	*mac_len_r = ml;
	ret = 0;
done:
	free(data);
	return ret;
}

/* RFC 8945 4.3.3: the TSIG variables, in canonical form. */
static size_t tsig_vars(uint8_t *out, const uint8_t *kname, size_t kn,
			const uint8_t *aname, size_t an, uint64_t time_signed,
			uint16_t fudge, uint16_t error, const uint8_t *other,
			uint16_t other_len)
{
	size_t n = 0;

	memcpy(out, kname, kn);
	n += kn;
	put16(out + n, DNS_CLASS_ANY);
	n += 2;
	memset(out + n, 0, 4); /* TTL 0 */
	n += 4;
	memcpy(out + n, aname, an);
	n += an;
	put48(out + n, time_signed);
	n += 6;
	put16(out + n, fudge);
	n += 2;
	put16(out + n, error);
	n += 2;
	put16(out + n, other_len);
	n += 2;
	if (other_len > 0)
		memcpy(out + n, other, other_len);
	return n + other_len;
}

int dns_tsig_sign(const tsig_key *key, const uint8_t *msg, size_t len,
		  uint64_t time_signed, uint16_t fudge, uint8_t **signed_r,
		  size_t *signed_len_r, uint8_t *mac_r, size_t *mac_len_r,
		  cut_status *st)
{
	uint8_t kname[DNS_NAME_WIRE_MAX], aname[DNS_NAME_WIRE_MAX];
	uint8_t vars[2 * DNS_NAME_WIRE_MAX + 32];
	uint8_t mac[EVP_MAX_MD_SIZE];
	uint8_t *out = NULL, *p;
	size_t vn, ml = 0, rdlen;
	int kn, an, ret = -1;

	*signed_r = NULL;
	if (len < DNS_HDR || get16(msg + 10) == 0xFFFF) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "cannot sign: not a DNS message");
		goto done;
	}
	kn = name_to_wire(key->name, kname);
	an = name_to_wire(tsig_key_alg_dname(key->alg), aname);
	if (kn < 0 || an < 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: key name \"%s\" cannot be encoded",
			       key->file, key->name);
		goto done;
	}
	/* RFC 8945 4.3.3: digest = message || TSIG variables */
	vn = tsig_vars(vars, kname, (size_t)kn, aname, (size_t)an, time_signed,
		       fudge, 0, NULL, 0);
	if (hmac3(key, msg, len, vars, vn, NULL, 0, mac, &ml) < 0 ||
	    ml > DNS_TSIG_MAC_MAX) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: HMAC computation failed (%s)", key->file,
			       tsig_key_alg_name(key->alg));
		goto done;
	}
	/* RFC 8945 4.2: the TSIG RR, owner = key name, class ANY, TTL 0 */
	rdlen = (size_t)an + 6 + 2 + 2 + ml + 2 + 2 + 2;
	out = malloc(len + (size_t)kn + 10 + rdlen);
	if (out == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	memcpy(out, msg, len);
	put16(out + 10, (uint16_t)(get16(msg + 10) + 1));
	p = out + len;
	memcpy(p, kname, (size_t)kn);
	p += kn;
	put16(p, DNS_TYPE_TSIG);
	put16(p + 2, DNS_CLASS_ANY);
	memset(p + 4, 0, 4);
	put16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, aname, (size_t)an);
	p += an;
	put48(p, time_signed);
	put16(p + 6, fudge);
	put16(p + 8, (uint16_t)ml);
	p += 10;
	memcpy(p, mac, ml);
	p += ml;
	memcpy(p, msg, 2); /* Original ID */
	put16(p + 2, 0);   /* Error */
	put16(p + 4, 0);   /* Other Len */
	p += 6;
	*signed_r = out;
	*signed_len_r = (size_t)(p - out);
	memcpy(mac_r, mac, ml);
	*mac_len_r = ml;
	out = NULL;
	ret = 0;
done:
	free(out);
	return ret;
}

int dns_tsig_verify(const tsig_key *key, const uint8_t *reply, size_t len,
		    const uint8_t *req_mac, size_t req_mac_len,
		    dns_tsig_result *res_r, cut_status *st)
{
	uint8_t kname[DNS_NAME_WIRE_MAX], aname[DNS_NAME_WIRE_MAX];
	uint8_t our_alg[DNS_NAME_WIRE_MAX], our_key[DNS_NAME_WIRE_MAX];
	uint8_t vars[2 * DNS_NAME_WIRE_MAX + 32 + 65535];
	uint8_t prefix[2 + DNS_TSIG_MAC_MAX];
	uint8_t mac[EVP_MAX_MD_SIZE];
	uint8_t *head = NULL;
	size_t off, next, rd, rdlen, ml, vn, want_ml = 0;
	uint16_t type, fudge, error, other_len, orig_id;
	const uint8_t *rmac, *other;
	int kn, an, okn, oan, ret = -1;

	memset(res_r, 0, sizeof(*res_r));
	if (len < DNS_HDR) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
			       "reply shorter than a DNS header");
		goto done;
	}
	if (get16(reply + 10) == 0 ||
	    dns_tsig_find_last_rr(reply, len, &off, &type) < 0 ||
	    type != DNS_TYPE_TSIG) {
		ret = 0; /* unsigned reply */
		goto done;
	}
	res_r->present = 1;
	kn = read_name(reply, len, off, kname, &next);
	if (kn < 0 || next + 10 > len)
		goto malformed;
	rd = next + 10;
	rdlen = get16(reply + next + 8);
	if (rd + rdlen != len)
		goto malformed;
	an = read_name(reply, len, rd, aname, &next);
	if (an < 0 || next + 10 > len)
		goto malformed;
	res_r->time_signed = get48(reply + next);
	fudge = get16(reply + next + 6);
	res_r->fudge = fudge;
	ml = get16(reply + next + 8);
	next += 10;
	if (next + ml + 6 > len)
		goto malformed;
	rmac = reply + next;
	next += ml;
	orig_id = get16(reply + next);
	error = get16(reply + next + 2);
	other_len = get16(reply + next + 4);
	next += 6;
	if (next + other_len != len)
		goto malformed;
	other = reply + next;
	res_r->error = error;
	res_r->server_time = res_r->time_signed;
	if (error == DNS_TSIG_BADTIME && other_len == 6)
		res_r->server_time = get48(other);

	okn = name_to_wire(key->name, our_key);
	oan = name_to_wire(tsig_key_alg_dname(key->alg), our_alg);
	res_r->key_matches = okn == kn && memcmp(our_key, kname, (size_t)kn) == 0 &&
			     oan == an && memcmp(our_alg, aname, (size_t)an) == 0;
	(void)orig_id;
	if (!res_r->key_matches || ml == 0 || req_mac_len > DNS_TSIG_MAC_MAX) {
		ret = 0;
		goto done;
	}
	/* RFC 8945 4.3.1: request MAC || reply without TSIG (ARCOUNT - 1,
	 * original ID) || TSIG variables */
	put16(prefix, (uint16_t)req_mac_len);
	memcpy(prefix + 2, req_mac, req_mac_len);
	head = malloc(off);
	if (head == NULL)
		goto malformed;
	memcpy(head, reply, off);
	put16(head + 10, (uint16_t)(get16(reply + 10) - 1));
	memcpy(head, rmac + ml, 2);
	vn = tsig_vars(vars, kname, (size_t)kn, aname, (size_t)an,
		       res_r->time_signed, fudge, error, other, other_len);
	/* The variables follow the message: hash them as one buffer. */
	{
		uint8_t *all = malloc(off + vn);

		if (all == NULL)
			goto malformed;
		memcpy(all, head, off);
		memcpy(all + off, vars, vn);
		if (hmac3(key, prefix, 2 + req_mac_len, all, off + vn, NULL, 0,
			  mac, &want_ml) < 0) {
			free(all);
			goto malformed;
		}
		free(all);
	}
	/* RFC 8945 5.2.2.1: only full-length MACs are accepted here */
	res_r->verified = ml == want_ml && CRYPTO_memcmp(mac, rmac, ml) == 0;
	ret = 0;
	goto done;
malformed:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
		       "reply has a malformed TSIG record");
	ret = -1;
done:
	free(head);
	return ret;
}

int dns_tsig_time_ok(const dns_tsig_result *res, uint64_t now,
		     int64_t *offset_r, unsigned *allowed_r)
{
	/* RFC 8945 5.2.3: the Fudge the signer wrote, but we never allow
	 * more than our own */
	uint64_t fudge = res->fudge < DNS_TSIG_FUDGE ? res->fudge
						     : DNS_TSIG_FUDGE;
	uint64_t dist = res->time_signed > now ? res->time_signed - now
					       : now - res->time_signed;

	if (offset_r != NULL)
		*offset_r = res->time_signed >= now
				    ? (int64_t)(res->time_signed - now)
				    : -(int64_t)(now - res->time_signed);
	if (allowed_r != NULL)
		*allowed_r = (unsigned)fudge;
	return dist <= fudge;
}
