/* hex.c: hex words of the state files (see hex.h). */
#include "common/hex.h"

#include <stdlib.h>
#include <string.h>

const char cut_hex_digits[] = "0123456789abcdef";

const signed char cut_hex_plus1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13,
	['d'] = 14, ['e'] = 15, ['f'] = 16,
};

int cut_hex_word_put(cut_buf *b, const char *s)
{
	if (*s == '\0')
		return cut_buf_puts(b, "-");
	for (; *s != '\0'; s++) {
		char two[2] = {cut_hex_digits[(unsigned char)*s >> 4],
			       cut_hex_digits[(unsigned char)*s & 15]};

		if (cut_buf_append(b, two, 2) < 0)
			return -1;
	}
	return 0;
}

char *cut_hex_word_get(const char *w, size_t n)
{
	char *out;

	if (n == 1 && w[0] == '-')
		return strdup("");
	if (n == 0 || n % 2 != 0)
		return NULL;
	out = malloc(n / 2 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i += 2) {
		int a = cut_hex_val(w[i]), b = cut_hex_val(w[i + 1]);

		if (a < 0 || b < 0 || (a == 0 && b == 0)) {
			free(out);
			return NULL;
		}
		out[i / 2] = (char)(a * 16 + b);
	}
	out[n / 2] = '\0';
	return out;
}

int cut_hex_word_is(const char *w, size_t n, const char *s)
{
	size_t sl = strlen(s);

	if (sl == 0)
		return n == 1 && w[0] == '-';
	if (n != 2 * sl)
		return 0;
	for (size_t i = 0; i < sl; i++)
		if (w[2 * i] != cut_hex_digits[(unsigned char)s[i] >> 4] ||
		    w[2 * i + 1] != cut_hex_digits[(unsigned char)s[i] & 15])
			return 0;
	return 1;
}
