/* fsutil.c: the state directory (see fsutil.h). */
#include "common/fsutil.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cut_dir_ensure(const char *dir, cut_status *st)
{
	struct stat sb;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: cannot create the state directory: %s",
				      dir, strerror(errno));
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: the state directory is not a directory",
				      dir);
	if (access(dir, W_OK | X_OK) < 0)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: the state directory is not writable: %s",
				      dir, strerror(errno));
	return 0;
}
