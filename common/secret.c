/* secret.c: secret files (see secret.h). */
#include "common/secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/str.h"

int cut_secret_file_check(const char *path, cut_status *st)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: cannot read: %s", path,
				      strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: not a regular file", path);
	if ((sb.st_mode & 077) != 0)
		return cut_status_set(
			st, CUT_FINAL, CUT_SCOPE_LOCAL,
			"%s: holds secrets but is readable by group or others "
			"(mode %04o): run `chmod 600 %s`",
			path, (unsigned)(sb.st_mode & 07777), path);
	return 0;
}

int cut_secret_read_first_line(const char *path, char **secret_r,
			       cut_status *st)
{
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = -1;

	*secret_r = NULL;
	if (cut_secret_file_check(path, st) < 0)
		goto done;
	f = fopen(path, "r");
	if (f == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: cannot open: %s", path, strerror(errno));
		goto done;
	}
	n = getline(&line, &cap, f);
	if (n < 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s:1: empty password file", path);
		goto done;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s:1: empty password", path);
		goto done;
	}
	*secret_r = line;
	line = NULL;
	ret = 0;
done:
	if (line != NULL) {
		explicit_bzero(line, cap);
		free(line);
	}
	if (f != NULL)
		fclose(f);
	return ret;
}
