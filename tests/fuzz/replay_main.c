/*
 * replay_main.c: runs a fuzz target's LLVMFuzzerTestOneInput on every file
 * of the directories (or files) named on the command line, without
 * libFuzzer.  Linked with each fuzz_*.c in the ordinary build (gcc, with or
 * without sanitizers, under valgrind), so the seed corpora and the inputs
 * of every crash found by fuzzing (tests/fuzz/corpus/NAME/crash-*) are
 * replayed by every test run, not only by the clang fuzz build.
 *
 * Exit 0 when every input ran (a crash aborts the process: the sanitizers
 * or the target's own abort() report it), 1 when a path cannot be read or
 * no input was found at all.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads PATH whole into a malloc'd buffer of exactly its size (so a read
 * past the end is caught), runs the target on it.  Returns 0, or -1 after
 * printing why. */
static int replay_file(const char *path)
{
	FILE *f = NULL;
	uint8_t *data = NULL;
	struct stat sb;
	size_t size;
	int status = -1;

	f = fopen(path, "rb");
	if (f == NULL || fstat(fileno(f), &sb) < 0) {
		fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
		goto done;
	}
	size = (size_t)sb.st_size;
	/* malloc(0) may return NULL: keep one byte, pass size 0. */
	data = malloc(size > 0 ? size : 1);
	if (data == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		goto done;
	}
	if (size > 0 && fread(data, 1, size, f) != size) {
		fprintf(stderr, "%s: short read\n", path);
		goto done;
	}
	printf("replay %s (%zu bytes)\n", path, size);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, size);
	status = 0;
done:
	free(data);
	if (f != NULL)
		fclose(f);
	return status;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of DIR in name order; *n_r counts them. */
static int replay_dir(const char *dir, size_t *n_r)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int status = 0;

	if (d == NULL) {
		fprintf(stderr, "%s: cannot open: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *path;
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
			status = -1;
			break;
		}
		if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 16) *
							   sizeof(*names));
			if (nn == NULL) {
				free(path);
				status = -1;
				break;
			}
			names = nn;
			cap = cap ? cap * 2 : 16;
		}
		names[n++] = path;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		if (status == 0 && replay_file(names[i]) < 0)
			status = -1;
		free(names[i]);
	}
	free(names);
	*n_r += n;
	return status;
}

int main(int argc, char **argv)
{
	size_t n = 0;
	int i, status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		struct stat sb;

		if (stat(argv[i], &sb) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			status = 1;
		} else if (S_ISDIR(sb.st_mode)) {
			if (replay_dir(argv[i], &n) < 0)
				status = 1;
		} else if (replay_file(argv[i]) < 0) {
			status = 1;
		} else {
			n++;
		}
	}
	if (n == 0) {
		fprintf(stderr, "no input found\n");
		status = 1;
	}
	printf("%zu inputs replayed\n", n);
	return status;
}
