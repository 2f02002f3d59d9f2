/*
 * test_util.h: helpers shared by the plan and accounts tests: a scratch
 * directory with copies of test data (git keeps no file modes, so the
 * secret files get their mode 600 here), and expected-error text with the
 * file name filled in.
 */
#ifndef CUTOVER_TEST_UTIL_H
#define CUTOVER_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Copies src to dst with the given mode; aborts the test run on failure. */
static inline void tu_copy(const char *src, const char *dst, mode_t mode)
{
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	char buf[8192];
	size_t n;

	if (in == NULL || out == NULL) {
		fprintf(stderr, "cannot copy %s to %s\n", src, dst);
		abort();
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	chmod(dst, mode);
}

static inline void tu_write(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* A fresh directory under /tmp; the caller frees the string. */
static inline char *tu_mkdtemp(void)
{
	char *d = strdup("/tmp/cutover-test-XXXXXX");

	if (d == NULL || mkdtemp(d) == NULL)
		abort();
	return d;
}

/* Removes the files of a scratch directory (one level) and the directory. */
static inline void tu_rmdir(char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(dir);
}

/*
 * Expected error text: every line of `lines` starts with "@:" which is
 * replaced by `file:`.  The caller frees the result.
 */
static inline char *tu_expect(const char *file, const char *lines)
{
	size_t nlines = 1, cap;
	char *out, *o;

	for (const char *p = lines; *p != '\0'; p++)
		nlines += *p == '\n';
	cap = strlen(lines) + nlines * strlen(file) + 1;
	out = o = malloc(cap);
	if (out == NULL)
		abort();

	for (const char *p = lines; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (p[0] == '@') {
			o += snprintf(o, cap - (size_t)(o - out), "%s", file);
			p++;
			n--;
		}
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	return out;
}

#endif
