/* utf7.c: modified UTF-7 mailbox names, RFC 3501 5.1.3 (see utf7.h). */
#include "imapsync/utf7.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/str.h"

static const char utf7_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int utf7_b64_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == ',')
		return 63;
	return -1;
}

static int utf7_put_utf8(cut_buf *out, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return cut_buf_append(out, b, n);
}

int imap_utf7_decode(const char *in, size_t len, char **out_r, cut_status *st)
{
	cut_buf out = CUT_BUF_INIT;
	const char *why = NULL;
	size_t i = 0;
	int prev_shift_end = 0; /* the previous byte closed a shift: "-" */
	int ret = -1;

	*out_r = NULL;
	while (i < len) {
		unsigned char ch = (unsigned char)in[i];

		if (ch < 0x20 || ch > 0x7e) {
			why = "8-bit or control character";
			goto done;
		}
		if (ch != '&') {
			if (cut_buf_append(&out, &ch, 1) < 0)
				goto nomem;
			i++;
			prev_shift_end = 0;
			continue;
		}
		i++;
		if (i < len && in[i] == '-') {
			if (cut_buf_append(&out, "&", 1) < 0)
				goto nomem;
			i++;
			prev_shift_end = 0;
			continue;
		}
		if (prev_shift_end) {
			/* "&AAA-&BBB-" must have been one shift sequence */
			why = "two adjacent encoded runs";
			goto done;
		}
		{
			uint32_t bits = 0, high = 0;
			int nbits = 0, units = 0;

			while (i < len && in[i] != '-') {
				int v = utf7_b64_val((unsigned char)in[i]);

				if (v < 0) {
					why = "bad character in encoded run";
					goto done;
				}
				bits = (bits << 6) | (uint32_t)v;
				nbits += 6;
				i++;
				if (nbits >= 16) {
					uint32_t u = (bits >> (nbits - 16)) & 0xffff;

					nbits -= 16;
					bits &= (1u << nbits) - 1;
					units++;
					if (high != 0) {
						if (u < 0xdc00 || u > 0xdfff) {
							why = "lone surrogate";
							goto done;
						}
						if (utf7_put_utf8(&out,
								  0x10000 + ((high - 0xd800) << 10) +
									  (u - 0xdc00)) < 0)
							goto nomem;
						high = 0;
					} else if (u >= 0xd800 && u <= 0xdbff) {
						high = u;
					} else if (u >= 0xdc00 && u <= 0xdfff) {
						why = "lone surrogate";
						goto done;
					} else if (u >= 0x20 && u <= 0x7e) {
						/* RFC 3501 5.1.3: printable ASCII
						 * must represent itself */
						why = "encoded printable ASCII";
						goto done;
					} else if (utf7_put_utf8(&out, u) < 0) {
						goto nomem;
					}
				}
			}
			if (i >= len) {
				why = "unterminated encoded run (missing -)";
				goto done;
			}
			i++; /* '-' */
			if (units == 0 || nbits >= 6 || bits != 0 || high != 0) {
				why = "bad encoded run";
				goto done;
			}
			prev_shift_end = 1;
		}
	}
	if (cut_buf_append(&out, "", 0) < 0)
		goto nomem;
	*out_r = cut_buf_steal(&out);
	ret = 0;
	goto done;
nomem:
	why = NULL;
	cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
done:
	if (ret < 0 && why != NULL)
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
			       "mailbox name \"%.*s\" is not valid modified "
			       "UTF-7 (RFC 3501 5.1.3): %s",
			       (int)(len > 200 ? 200 : len), in, why);
	cut_buf_free(&out);
	return ret;
}

/* Decodes one UTF-8 sequence (input already validated). */
static uint32_t utf7_next_cp(const unsigned char *s, size_t *i)
{
	uint32_t cp = s[*i];

	if (cp < 0x80) {
		*i += 1;
	} else if (cp < 0xe0) {
		cp = ((cp & 0x1f) << 6) | (s[*i + 1] & 0x3f);
		*i += 2;
	} else if (cp < 0xf0) {
		cp = ((cp & 0x0f) << 12) | ((uint32_t)(s[*i + 1] & 0x3f) << 6) |
		     (s[*i + 2] & 0x3f);
		*i += 3;
	} else {
		cp = ((cp & 0x07) << 18) | ((uint32_t)(s[*i + 1] & 0x3f) << 12) |
		     ((uint32_t)(s[*i + 2] & 0x3f) << 6) | (s[*i + 3] & 0x3f);
		*i += 4;
	}
	return cp;
}

int imap_utf7_encode(const char *in, size_t len, char **out_r, cut_status *st)
{
	const unsigned char *s = (const unsigned char *)in;
	cut_buf out = CUT_BUF_INIT;
	size_t i = 0;
	int ret = -1;

	*out_r = NULL;
	if (!cut_utf8_valid(in, len) || memchr(in, '\0', len) != NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_FOLDER,
			       "mailbox name \"%.*s\" is not valid UTF-8",
			       (int)(len > 200 ? 200 : len), in);
		goto done;
	}
	while (i < len) {
		if (s[i] >= 0x20 && s[i] <= 0x7e) {
			if (cut_buf_append(&out, s[i] == '&' ? "&-" : (const char *)&s[i],
					   s[i] == '&' ? 2 : 1) < 0)
				goto nomem;
			i++;
			continue;
		}
		{
			uint32_t bits = 0;
			int nbits = 0;

			if (cut_buf_append(&out, "&", 1) < 0)
				goto nomem;
			while (i < len && !(s[i] >= 0x20 && s[i] <= 0x7e)) {
				uint32_t cp = utf7_next_cp(s, &i);
				uint32_t units[2];
				int nu = 1, k;

				if (cp >= 0x10000) {
					cp -= 0x10000;
					units[0] = 0xd800 + (cp >> 10);
					units[1] = 0xdc00 + (cp & 0x3ff);
					nu = 2;
				} else {
					units[0] = cp;
				}
				for (k = 0; k < nu; k++) {
					bits = (bits << 16) | units[k];
					nbits += 16;
					while (nbits >= 6) {
						char c = utf7_b64[(bits >> (nbits - 6)) & 0x3f];

						nbits -= 6;
						if (cut_buf_append(&out, &c, 1) < 0)
							goto nomem;
					}
					bits &= (1u << nbits) - 1;
				}
			}
			if (nbits > 0) {
				char c = utf7_b64[(bits << (6 - nbits)) & 0x3f];

				if (cut_buf_append(&out, &c, 1) < 0)
					goto nomem;
			}
			if (cut_buf_append(&out, "-", 1) < 0)
				goto nomem;
		}
	}
	if (cut_buf_append(&out, "", 0) < 0)
		goto nomem;
	*out_r = cut_buf_steal(&out);
	ret = 0;
	goto done;
nomem:
	cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
done:
	cut_buf_free(&out);
	return ret;
}
