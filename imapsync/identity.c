/*
 * identity.c: message identity (normalised Message-ID or header digest,
 * plus size).  See identity.h for the rules.
 */
#include "imapsync/identity.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/buf.h"

/* Values longer than this are truncated before hashing: deterministic on
 * both servers, and the size keeps the digest discriminating. */
#define IDENTITY_VALUE_MAX 4096

static int is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Start of the line after position i (or len). */
static size_t line_end(const char *h, size_t len, size_t i)
{
	while (i < len && h[i] != '\n')
		i++;
	return i < len ? i + 1 : len;
}

long identity_header_value(const char *hdr, size_t hdr_len, const char *name,
			   char *out, size_t out_n)
{
	size_t nlen = strlen(name);
	size_t i = 0;

	if (out_n == 0)
		return -1;
	while (i < hdr_len) {
		size_t next = line_end(hdr, hdr_len, i);
		size_t j, o = 0;
		int space = 0;

		/* RFC 5322 2.2: field-name ":" field-body; continuation lines
		 * (2.2.3 folding) start with WSP and belong to the previous field. */
		if (next - i <= nlen || hdr[i + nlen] != ':' ||
		    strncasecmp(hdr + i, name, nlen) != 0) {
			i = next;
			continue;
		}
		j = i + nlen + 1;
		for (;;) {
			for (; j < next; j++) {
				char c = hdr[j];

				if (is_wsp(c)) {
					space = o > 0;
					continue;
				}
				if (space && o + 1 < out_n)
					out[o++] = ' ';
				space = 0;
				if (o + 1 < out_n)
					out[o++] = c;
			}
			if (next < hdr_len && (hdr[next] == ' ' || hdr[next] == '\t')) {
				j = next;
				next = line_end(hdr, hdr_len, next);
				space = o > 0;
				continue;
			}
			break;
		}
		out[o] = '\0';
		return (long)o;
	}
	out[0] = '\0';
	return -1;
}

size_t identity_normalise_message_id(const char *value, size_t len, char *out,
				     size_t out_n)
{
	const char *lt = memchr(value, '<', len);
	const char *start = value, *end = value + len;
	size_t o = 0, at = (size_t)-1;

	if (out_n == 0)
		return 0;
	if (lt != NULL) {
		const char *gt = memchr(lt, '>', (size_t)(end - lt));

		start = lt;
		end = gt != NULL ? gt + 1 : end;
	}
	for (const char *p = start; p < end; p++) {
		if (is_wsp(*p))
			continue;
		if (o + 1 >= out_n)
			break;
		if (*p == '@')
			at = o;
		out[o++] = *p;
	}
	out[o] = '\0';
	/* RFC 5321 2.4: the domain part is case-insensitive, the local part
	 * is not; lower-case only right of the last '@'. */
	if (at != (size_t)-1)
		for (size_t k = at + 1; k < o; k++)
			out[k] = lower(out[k]);
	if (o == 2 && out[0] == '<' && out[1] == '>')
		o = 0;
	if (o == 0)
		out[0] = '\0';
	return o;
}

static const char *const identity_fallback_fields[] = {
	"Date", "From", "To", "Cc", "Subject", "In-Reply-To", NULL,
};

int identity_compute(const char *hdr, size_t hdr_len, uint64_t size,
		     identity *id_r, identity_source *source_r, char *mid_r,
		     size_t mid_n, cut_status *st)
{
	cut_buf canon = CUT_BUF_INIT;
	char value[IDENTITY_VALUE_MAX];
	char mid[IDENTITY_VALUE_MAX];
	size_t mid_len = 0;
	long vlen;
	unsigned int dlen = 0;
	int ret = -1;

	vlen = identity_header_value(hdr, hdr_len, "Message-ID", value,
				     sizeof(value));
	if (vlen > 0)
		mid_len = identity_normalise_message_id(value, (size_t)vlen, mid,
							sizeof(mid));
	if (mid_len > 0) {
		if (cut_buf_printf(&canon, "mid\n%s\n%llu", mid,
				   (unsigned long long)size) < 0)
			goto oom;
		if (source_r != NULL)
			*source_r = IDENTITY_FROM_MESSAGE_ID;
	} else {
		mid[0] = '\0';
		if (cut_buf_puts(&canon, "hdr\n") < 0)
			goto oom;
		for (size_t k = 0; identity_fallback_fields[k] != NULL; k++) {
			vlen = identity_header_value(hdr, hdr_len,
						     identity_fallback_fields[k],
						     value, sizeof(value));
			/* An absent field and an empty one hash differently. */
			if (cut_buf_printf(&canon, "%s%s\n",
					   vlen < 0 ? "-" : "+",
					   vlen < 0 ? "" : value) < 0)
				goto oom;
		}
		if (cut_buf_printf(&canon, "%llu", (unsigned long long)size) < 0)
			goto oom;
		if (source_r != NULL)
			*source_r = IDENTITY_FROM_HEADERS;
	}
	if (EVP_Digest(canon.data, canon.len, id_r->d, &dlen, EVP_sha256(),
		       NULL) != 1 ||
	    dlen != IDENTITY_LEN) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_MESSAGE,
			       "SHA-256 digest failed (OpenSSL)");
		goto done;
	}
	if (mid_r != NULL && mid_n > 0) {
		size_t n = strlen(mid) < mid_n - 1 ? strlen(mid) : mid_n - 1;

		memcpy(mid_r, mid, n);
		mid_r[n] = '\0';
	}
	ret = 0;
	goto done;
oom:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_MESSAGE,
		       "out of memory computing a message identity");
done:
	cut_buf_free(&canon);
	return ret;
}

int identity_cmp(const identity *a, const identity *b)
{
	return memcmp(a->d, b->d, IDENTITY_LEN);
}

void identity_format(const identity *id, char out[IDENTITY_HEX_LEN])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < IDENTITY_LEN; i++) {
		out[2 * i] = hex[id->d[i] >> 4];
		out[2 * i + 1] = hex[id->d[i] & 15];
	}
	out[2 * IDENTITY_LEN] = '\0';
}
