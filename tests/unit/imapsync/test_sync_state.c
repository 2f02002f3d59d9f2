/* test_sync_state.c: the engine's CONDSTORE state file (sync_state.h):
 * round trip, every kind of damage refused, the "unchanged" rule, paths. */
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

#include "imapsync/sync_state.h"

static const sync_state_side A = {1700000001u, 31, 68, 10};
static const sync_state_side B = {1700000002u, 31, 19, 10};

/* A state with two pairs saved in a fresh directory; *dir_r is removed
 * by cleanup_dir(). */
static char *save_two(char dir_r[64])
{
	sync_state *s = calloc(1, sizeof(*s));
	cut_status st;
	char *path;

	assert_non_null(s);
	snprintf(dir_r, 64, "/tmp/test_sync_state.XXXXXX");
	assert_non_null(mkdtemp(dir_r));
	assert_int_equal(sync_state_put(s, "INBOX", "INBOX", "sdf", &A, &B), 0);
	assert_int_equal(sync_state_put(s, "INBOX.Big one", "Big one", "sdf", &B, &A), 0);
	path = sync_state_path(dir_r, "user 1", "h1:993", "u2", "h2:993");
	assert_non_null(path);
	assert_int_equal(sync_state_save(s, path, &st), 0);
	sync_state_free(&s);
	assert_null(s);
	return path;
}

static void cleanup_dir(const char *dir, char *path)
{
	unlink(path);
	free(path);
	rmdir(dir);
}

static char *slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 65536);

	assert_non_null(f);
	assert_non_null(buf);
	*len_r = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

static void assert_side_equal(const sync_state_side *x, const sync_state_side *y)
{
	assert_int_equal(x->uidvalidity, y->uidvalidity);
	assert_int_equal(x->uidnext, y->uidnext);
	assert_int_equal(x->highestmodseq, y->highestmodseq);
	assert_int_equal(x->exists, y->exists);
}

static void test_round_trip(void **state)
{
	char dir[64];
	char *path = save_two(dir);
	sync_state *s = NULL;
	const sync_state_folder *e;
	struct stat sb;
	cut_status st;

	(void)state;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sync_state_load(path, &s, &st), 0);
	assert_int_equal(s->n, 2);
	e = sync_state_find(s, "INBOX.Big one", "Big one");
	assert_non_null(e);
	assert_string_equal(e->mode, "sdf");
	assert_side_equal(&e->s1, &B);
	assert_side_equal(&e->s2, &A);
	assert_null(sync_state_find(s, "INBOX.Big one", "INBOX"));
	sync_state_drop(s, "INBOX", "INBOX");
	assert_null(sync_state_find(s, "INBOX", "INBOX"));
	assert_int_equal(s->n, 1);
	sync_state_free(&s);
	cleanup_dir(dir, path);
}

static void test_missing_file_is_empty(void **state)
{
	sync_state *s = NULL;
	cut_status st;

	(void)state;
	assert_int_equal(sync_state_load("/nonexistent-dir/x.state", &s, &st), 0);
	assert_non_null(s);
	assert_int_equal(s->n, 0);
	sync_state_free(&s);
}

/* Any damage: parse fails, load gives an empty state and returns 1. */
static void test_damage(void **state)
{
	char dir[64];
	char *path = save_two(dir);
	size_t len, n_cases = 0;
	char *good = slurp(path, &len);
	char *bad = calloc(1, len + 64);
	sync_state *s = NULL;
	cut_status st;

	(void)state;
	assert_non_null(bad);
	assert_int_equal(sync_state_parse(good, len, &s, &st), 0);
	sync_state_free(&s);
	/* every truncation */
	for (size_t k = 0; k < len; k++, n_cases++) {
		assert_int_equal(sync_state_parse(good, k, &s, &st), -1);
		assert_null(s);
	}
	/* every single changed byte: a digit, a name, the checksum */
	for (size_t k = 0; k < len; k++, n_cases++) {
		memcpy(bad, good, len);
		if (bad[k] == '\n')
			continue;
		bad[k] = bad[k] == '1' ? '2' : '1';
		assert_int_equal(sync_state_parse(bad, len, &s, &st), -1);
		assert_null(s);
	}
	/* bytes after the end line */
	memcpy(bad, good, len);
	memcpy(bad + len, "x\n", 2);
	assert_int_equal(sync_state_parse(bad, len + 2, &s, &st), -1);
	/* load of a damaged file: empty state, return 1, the file named */
	{
		FILE *f = fopen(path, "ab");

		assert_non_null(f);
		fputs("garbage\n", f);
		fclose(f);
	}
	assert_int_equal(sync_state_load(path, &s, &st), 1);
	assert_non_null(s);
	assert_int_equal(s->n, 0);
	assert_non_null(strstr(st.msg, path));
	sync_state_free(&s);
	assert_true(n_cases > 100);
	free(good);
	free(bad);
	cleanup_dir(dir, path);
}

static void test_unchanged(void **state)
{
	sync_state *s = calloc(1, sizeof(*s));
	const sync_state_folder *e;
	sync_state_side a = A, b = B, z;

	(void)state;
	assert_non_null(s);
	assert_int_equal(sync_state_put(s, "INBOX", "INBOX", "sdf", &A, &B), 0);
	e = sync_state_find(s, "INBOX", "INBOX");
	assert_true(sync_state_unchanged(e, "sdf", &a, &b));
	assert_false(sync_state_unchanged(NULL, "sdf", &a, &b));
	assert_false(sync_state_unchanged(e, "sf", &a, &b)); /* another mode */
	/* any one counter of either side changed */
	for (int side = 0; side < 2; side++)
		for (int field = 0; field < 4; field++) {
			z = side == 0 ? a : b;
			switch (field) {
			case 0: z.uidvalidity++; break;
			case 1: z.uidnext++; break;
			case 2: z.highestmodseq++; break;
			default: z.exists--; break;
			}
			assert_false(side == 0 ? sync_state_unchanged(e, "sdf", &z, &b)
					       : sync_state_unchanged(e, "sdf", &a, &z));
		}
	/* NOMODSEQ (0) is never "unchanged", even when recorded as 0 */
	a.highestmodseq = 0;
	assert_int_equal(sync_state_put(s, "INBOX", "INBOX", "sdf", &a, &B), 0);
	e = sync_state_find(s, "INBOX", "INBOX");
	assert_false(sync_state_unchanged(e, "sdf", &a, &b));
	sync_state_free(&s);
}

static void test_path(void **state)
{
	char *p;

	(void)state;
	p = sync_state_path("/s", "a b/../c", "h:993", "u@x", "::1:993");
	assert_non_null(p);
	assert_string_equal(p, "/s/a%20b%2F..%2Fc@h%3A993--u@x@%3A%3A1%3A993.state");
	free(p);
	/* a leading dot cannot make a hidden file or "..": escaped */
	p = sync_state_path("/s", "..", "h", "u", "h");
	assert_non_null(p);
	assert_string_equal(p, "/s/%2E.@h--u@h.state");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_missing_file_is_empty),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_unchanged),
		cmocka_unit_test(test_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
