/* test_sync_uidcache.c: the engine's per folder pair UID cache
 * (sync_uidcache.h): round trip through the file, every kind of damage
 * refused, a file of another pair refused, lookups, paths. */
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

#include "imapsync/sync_uidcache.h"

#define DATE1 "17-Jul-1996 02:44:25 -0700"
#define DATE2 " 1-Jan-2026 00:00:00 +0000"

static identity id_of(uint8_t seed)
{
	identity id;

	for (size_t i = 0; i < IDENTITY_LEN; i++)
		id.d[i] = (uint8_t)(seed * 31 + i);
	return id;
}

/* host1: UIDs 3, 9, 10 (added out of order); host2: UID 1 */
static sync_uidcache *sample(void)
{
	sync_uidcache *c = sync_uidcache_new("INBOX.Big one", "Big one");
	identity a = id_of(1), b = id_of(2), d = id_of(3);

	assert_non_null(c);
	c->s[0].uidvalidity = 1700000001u;
	c->s[1].uidvalidity = 42;
	assert_int_equal(sync_uidcache_add(&c->s[0], 9, 4096, 837567865, &a, DATE1), 0);
	assert_int_equal(sync_uidcache_add(&c->s[0], 3, 0, -5, &b, DATE2), 0);
	assert_int_equal(sync_uidcache_add(&c->s[0], 10, UINT64_MAX, 1, &d, DATE1), 0);
	assert_int_equal(sync_uidcache_add(&c->s[1], 1, 7, 8, &a, DATE1), 0);
	assert_int_equal(sync_uidcache_sort(&c->s[0]), 0);
	assert_int_equal(sync_uidcache_sort(&c->s[1]), 0);
	return c;
}

static char *save_sample(char dir[64])
{
	sync_uidcache *c = sample();
	char *state, *path;
	cut_status st;

	snprintf(dir, 64, "/tmp/test_sync_uidcache.XXXXXX");
	assert_non_null(mkdtemp(dir));
	state = malloc(128);
	assert_non_null(state);
	snprintf(state, 128, "%s/u1@h1--u2@h2.state", dir);
	path = sync_uidcache_path(state, c->name1, c->name2);
	free(state);
	assert_non_null(path);
	/* the .uids directory does not exist yet: save makes it */
	assert_int_equal(sync_uidcache_save(c, path, &st), 0);
	sync_uidcache_free(&c);
	assert_null(c);
	return path;
}

static void cleanup(const char *dir, char *path)
{
	char *sub = strdup(path);

	assert_non_null(sub);
	unlink(path);
	*strrchr(sub, '/') = '\0';
	rmdir(sub);
	rmdir(dir);
	free(sub);
	free(path);
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

static void test_round_trip(void **state)
{
	char dir[64];
	char *path = save_sample(dir);
	sync_uidcache *c = NULL, *want = sample();
	const sync_uidcache_entry *e;
	struct stat sb;
	cut_status st;

	(void)state;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sync_uidcache_load(path, "INBOX.Big one", "Big one", &c, &st), 0);
	assert_non_null(c);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(c->s[k].uidvalidity, want->s[k].uidvalidity);
		assert_int_equal(c->s[k].n, want->s[k].n);
		for (size_t i = 0; i < c->s[k].n; i++) {
			const sync_uidcache_entry *x = &c->s[k].e[i], *y = &want->s[k].e[i];

			assert_int_equal(x->uid, y->uid);
			assert_true(x->size == y->size);
			assert_true(x->epoch == y->epoch);
			assert_memory_equal(x->id.d, y->id.d, IDENTITY_LEN);
			assert_string_equal(x->idate, y->idate);
		}
	}
	/* sorted by UID, found by UID */
	assert_int_equal(c->s[0].e[0].uid, 3);
	e = sync_uidcache_find(&c->s[0], 10);
	assert_non_null(e);
	assert_true(e->size == UINT64_MAX);
	assert_null(sync_uidcache_find(&c->s[0], 4));
	assert_null(sync_uidcache_find(&c->s[1], 3));
	assert_string_equal(sync_uidcache_find(&c->s[0], 3)->idate, DATE2);
	sync_uidcache_free(&c);
	sync_uidcache_free(&want);
	cleanup(dir, path);
}

static void test_missing_and_foreign(void **state)
{
	char dir[64];
	char *path = save_sample(dir);
	sync_uidcache *c = NULL;
	cut_status st;

	(void)state;
	/* another pair's names in the file: not used */
	cut_status_clear(&st);
	assert_int_equal(sync_uidcache_load(path, "INBOX", "Big one", &c, &st), 1);
	assert_non_null(c);
	assert_int_equal(c->s[0].n + c->s[1].n, 0);
	assert_int_equal(c->s[0].uidvalidity, 0);
	assert_non_null(strstr(st.msg, path));
	sync_uidcache_free(&c);
	unlink(path);
	cut_status_clear(&st);
	assert_int_equal(sync_uidcache_load(path, "INBOX.Big one", "Big one", &c, &st), 0);
	assert_int_equal(c->s[0].n + c->s[1].n, 0);
	assert_false(cut_status_failed(&st));
	sync_uidcache_free(&c);
	cleanup(dir, path);
}

/* Replaces the first occurrence of `from` in buf (len bytes) by `to`. */
static size_t edit(char *buf, size_t len, const char *from, const char *to)
{
	char *p = strstr(buf, from);
	size_t fl = strlen(from), tl = strlen(to);

	assert_non_null(p);
	memmove(p + tl, p + fl, len - (size_t)(p - buf) - fl + 1);
	memcpy(p, to, tl);
	return len - fl + tl;
}

static void test_damage(void **state)
{
	char dir[64];
	char *path = save_sample(dir);
	size_t len;
	char *good = slurp(path, &len);
	/* each damage must be refused; `here`: on the damaged line itself, not
	 * only by the checksum on the end line */
	static const struct {
		const char *from, *to;
		int here;
	} dmg[] = {
		{"cutover-uid-cache 2", "cutover-uid-cache 3", 1},
		{"uidvalidity 1700000001", "uidvalidity 1700000002", 0}, /* checksum */
		{"\n1 3 ", "\n1 4 ", 0},              /* checksum */
		{"\n1 9 ", "\n1 2 ", 1},              /* UIDs not ascending */
		{"\n1 3 0 -5 ", "\n1 3 0 x ", 1},     /* bad epoch */
		{"\n2 1 ", "\n3 1 ", 1},              /* no such side */
		{"\n1 3 ", "\n1 0 ", 1},              /* UID 0 */
		{"end 4 ", "end 5 ", 1},              /* count */
		{DATE2, "", 1},                       /* no date */
		{"names ", "names  ", 1},             /* extra space */
		{"\n1 3 0 -5 ", "\n1 3 0 -0 ", 1},   /* negative zero */
		{"\n1 3 0 -5 ", "\n1 3 0 --5 ", 1},  /* two signs */
		{"\n1 3 0 -5 ", "\n1 3 +0 -5 ", 1},  /* signed size */
		{"\n1 3 ", "\n1 4294967296 ", 1},    /* UID above 32 bits */
		{"\n1 3 0 ", "\n1 3 18446744073709551616 ", 1}, /* size overflow */
		{"\n1 3 0 -5 ", "\n1 3 0 -5  ", 1},  /* empty field */
		{"  1-Jan-2026", "0  1-Jan-2026", 1}, /* identity one digit longer */
		{"\n1 3 0 -5 ", "\n1 3 0 -5 A", 1},  /* uppercase hex */
	};
	sync_uidcache *c = NULL;
	cut_status st;

	(void)state;
	assert_int_equal(sync_uidcache_parse(good, len, "INBOX.Big one", "Big one", &c,
					     &st), 0);
	sync_uidcache_free(&c);
	for (size_t k = 0; k < sizeof(dmg) / sizeof(dmg[0]); k++) {
		char *b = calloc(1, len + 64);
		size_t n;

		assert_non_null(b);
		memcpy(b, good, len);
		n = edit(b, len, dmg[k].from, dmg[k].to);
		cut_status_clear(&st);
		assert_int_equal(sync_uidcache_parse(b, n, "INBOX.Big one", "Big one", &c,
						     &st), -1);
		assert_null(c);
		assert_non_null(strstr(st.msg, "damaged"));
		if (dmg[k].here) {
			const char *at = strstr(good, dmg[k].from) + (dmg[k].from[0] == '\n');
			size_t line = 1;
			char want[32];

			for (const char *q = good; q < at; q++)
				line += *q == '\n';
			snprintf(want, sizeof(want), "line %zu:", line);
			if (strstr(st.msg, want) == NULL)
				fail_msg("damage %zu: \"%s\", not at %s", k, st.msg, want);
		}
		free(b);
	}
	/* truncated anywhere, or bytes after the end line */
	for (size_t cut = 0; cut < len; cut++) {
		cut_status_clear(&st);
		assert_int_equal(sync_uidcache_parse(good, cut, "INBOX.Big one", "Big one",
						     &c, &st), -1);
		assert_null(c);
	}
	{
		char *b = calloc(1, len + 16);

		assert_non_null(b);
		memcpy(b, good, len);
		memcpy(b + len, "1 99 1 1 x\n", 11);
		assert_int_equal(sync_uidcache_parse(b, len + 11, "INBOX.Big one",
						     "Big one", &c, &st), -1);
		free(b);
	}
	/* a damaged file on disk gives an empty cache and 1 */
	{
		FILE *f = fopen(path, "ab");

		assert_non_null(f);
		fputs("garbage\n", f);
		fclose(f);
		cut_status_clear(&st);
		assert_int_equal(sync_uidcache_load(path, "INBOX.Big one", "Big one", &c,
						    &st), 1);
		assert_non_null(c);
		assert_int_equal(c->s[0].n + c->s[1].n, 0);
		sync_uidcache_free(&c);
	}
	free(good);
	cleanup(dir, path);
}

/* A file of the first version (FNV-1a checksum) reads as an empty
 * cache, without a warning: the folder is listed in full once. */
static void test_old_version(void **state)
{
	static const char v1[] = "cutover-uid-cache 1\nnames 494e424f58 494e424f58\n"
				 "uidvalidity 7 8\nend 0 0000000000000000\n";
	sync_uidcache *c = NULL;
	cut_status st;

	(void)state;
	cut_status_clear(&st);
	assert_int_equal(sync_uidcache_parse(v1, sizeof(v1) - 1, "INBOX", "INBOX", &c, &st),
			 0);
	assert_non_null(c);
	assert_int_equal(c->s[0].uidvalidity, 0);
	assert_int_equal(c->s[0].n + c->s[1].n, 0);
	assert_false(cut_status_failed(&st));
	sync_uidcache_free(&c);
}

static void test_add_refuses(void **state)
{
	sync_uidcache_side s;
	identity id = id_of(9);
	char longdate[SYNC_UIDCACHE_DATE_MAX + 2];

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(longdate, 'x', sizeof(longdate) - 1);
	longdate[sizeof(longdate) - 1] = '\0';
	assert_int_equal(sync_uidcache_add(&s, 0, 1, 1, &id, DATE1), -1);
	assert_int_equal(sync_uidcache_add(&s, 1, 1, 1, &id, ""), -1);
	assert_int_equal(sync_uidcache_add(&s, 1, 1, 1, &id, "a\nb"), -1);
	assert_int_equal(sync_uidcache_add(&s, 1, 1, 1, &id, longdate), -1);
	assert_int_equal(s.n, 0);
	assert_int_equal(sync_uidcache_add(&s, 5, 1, 1, &id, DATE1), 0);
	assert_int_equal(sync_uidcache_add(&s, 5, 2, 1, &id, DATE1), 0);
	/* a UID twice makes the side useless */
	assert_int_equal(sync_uidcache_sort(&s), -1);
	sync_uidcache_reset(&s, 7);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.uidvalidity, 7);
	assert_null(sync_uidcache_find(&s, 5));
	sync_uidcache_reset(&s, 0);
}

static void test_path(void **state)
{
	char *a = sync_uidcache_path("/s/u@h:993--v@k:993.state", "INBOX", "INBOX");
	char *b = sync_uidcache_path("/s/u@h:993--v@k:993.state", "INBOX.a", "a");
	/* the two names are not simply concatenated */
	char *c = sync_uidcache_path("/s/u@h:993--v@k:993.state", "INBOX.", "aa");

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(strncmp(a, "/s/u@h:993--v@k:993.uids/", 25), 0);
	assert_int_equal(strlen(a), 25 + 16);
	assert_string_not_equal(a, b);
	assert_string_not_equal(b, c);
	assert_null(sync_uidcache_path("/s/x.inflight", "INBOX", "INBOX"));
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_missing_and_foreign),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_old_version),
		cmocka_unit_test(test_add_refuses),
		cmocka_unit_test(test_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
