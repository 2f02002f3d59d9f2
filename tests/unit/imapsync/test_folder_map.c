/* test_folder_map.c: separators, prefixes, INBOX, special-use, collisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "imapsync/folder_map.h"

static const folder_pair *find_pair(const folder_map *m, const char *name1)
{
	for (size_t i = 0; i < m->n_pairs; i++)
		if (strcmp(m->pairs[i].name1, name1) == 0)
			return &m->pairs[i];
	return NULL;
}

static void test_translate(void **state)
{
	folder_side courier = {NULL, 0, "INBOX.", '.'};
	folder_side slash = {NULL, 0, "", '/'};
	folder_side dot = {NULL, 0, "", '.'};
	char *n = NULL;

	(void)state;
	assert_int_equal(folder_map_translate(&courier, &slash, "INBOX.Sent", &n), 0);
	assert_string_equal(n, "Sent");
	free(n);
	assert_int_equal(folder_map_translate(&courier, &slash, "INBOX.a.b c", &n), 0);
	assert_string_equal(n, "a/b c");
	free(n);
	assert_int_equal(folder_map_translate(&slash, &courier, "a/b c", &n), 0);
	assert_string_equal(n, "INBOX.a.b c");
	free(n);
	assert_int_equal(folder_map_translate(&courier, &slash, "inbox", &n), 0);
	assert_string_equal(n, "INBOX");
	free(n);
	/* a host2 separator inside a host1 component becomes '_' */
	assert_int_equal(folder_map_translate(&slash, &dot, "v1.2/x", &n), 0);
	assert_string_equal(n, "v1_2.x");
	free(n);
	/* under INBOX without prefix: stays under INBOX */
	assert_int_equal(folder_map_translate(&slash, &courier, "INBOX/sub", &n), 0);
	assert_string_equal(n, "INBOX.sub");
	free(n);
	/* non-ASCII (modified UTF-7) passes through unchanged */
	assert_int_equal(folder_map_translate(&slash, &dot, "Caf&AOk-/R&AOk-sum&AOk-", &n), 0);
	assert_string_equal(n, "Caf&AOk-.R&AOk-sum&AOk-");
	free(n);
}

static void test_special_use(void **state)
{
	const folder_info f1[] = {
		{"INBOX", FOLDER_ATTR_SUBSCRIBED},
		{"Sent Items", FOLDER_ATTR_SENT | FOLDER_ATTR_SUBSCRIBED},
		{"Deleted Items", FOLDER_ATTR_TRASH},
		{"Projects", FOLDER_ATTR_NOSELECT},
		{"Projects/Big one", FOLDER_ATTR_SUBSCRIBED},
		{"Gone", FOLDER_ATTR_NONEXISTENT},
	};
	const folder_info f2[] = {
		{"INBOX", FOLDER_ATTR_SUBSCRIBED},
		{"Sent", FOLDER_ATTR_SENT},
		{"Trash", FOLDER_ATTR_TRASH | FOLDER_ATTR_SUBSCRIBED},
		{"Old", 0},
		{"Old.Sub", 0},
	};
	folder_side h1 = {f1, 6, "", '/'};
	folder_side h2 = {f2, 5, "", '.'};
	folder_map *m = NULL;
	const folder_pair *p;

	(void)state;
	assert_int_equal(folder_map_build(&h1, &h2, NULL, 0, &m, NULL), 0);
	assert_int_equal(m->n_pairs, 4);
	p = find_pair(m, "Sent Items");
	assert_non_null(p);
	assert_string_equal(p->name2, "Sent");
	assert_int_equal(p->create, 0);
	assert_int_equal(p->subscribe, 1);
	p = find_pair(m, "Deleted Items");
	assert_string_equal(p->name2, "Trash");
	assert_int_equal(p->subscribe, 0);
	p = find_pair(m, "Projects/Big one");
	assert_string_equal(p->name2, "Projects.Big one");
	assert_int_equal(p->create, 1);
	assert_null(find_pair(m, "Projects"));
	assert_null(find_pair(m, "Gone"));
	p = find_pair(m, "INBOX");
	assert_int_equal(p->create, 0);
	assert_int_equal(p->subscribe, 0);
	/* host2-only, deepest first, INBOX never */
	assert_int_equal(m->n_host2_only, 2);
	assert_string_equal(m->host2_only[0], "Old.Sub");
	assert_string_equal(m->host2_only[1], "Old");
	folder_map_free(&m);
	assert_null(m);
}

static void test_special_use_taken(void **state)
{
	/* host1 has both a plain "Sent" and a \Sent "Sent Items": the special
	 * mapping must not merge them. */
	const folder_info f1[] = {
		{"INBOX", 0}, {"Sent", 0}, {"Sent Items", FOLDER_ATTR_SENT},
	};
	const folder_info f2[] = {
		{"INBOX", 0}, {"Sent", FOLDER_ATTR_SENT},
	};
	folder_side h1 = {f1, 3, "", '/'};
	folder_side h2 = {f2, 2, "", '/'};
	folder_map *m = NULL;

	(void)state;
	assert_int_equal(folder_map_build(&h1, &h2, NULL, 0, &m, NULL), 0);
	assert_string_equal(find_pair(m, "Sent")->name2, "Sent");
	assert_string_equal(find_pair(m, "Sent Items")->name2, "Sent Items");
	assert_int_equal(find_pair(m, "Sent Items")->create, 1);
	folder_map_free(&m);
}

static void test_well_known_names(void **state)
{
	/* neither side announces SPECIAL-USE: names decide */
	const folder_info f1[] = {{"INBOX", 0}, {"INBOX.Sent Messages", 0},
				  {"INBOX.Spam", 0}};
	const folder_info f2[] = {{"INBOX", 0}, {"Sent", 0}, {"Junk", 0}};
	folder_side h1 = {f1, 3, "INBOX.", '.'};
	folder_side h2 = {f2, 3, "", '/'};
	folder_map *m = NULL;

	(void)state;
	assert_int_equal(folder_map_build(&h1, &h2, NULL, 0, &m, NULL), 0);
	assert_string_equal(find_pair(m, "INBOX.Sent Messages")->name2, "Sent");
	assert_string_equal(find_pair(m, "INBOX.Spam")->name2, "Junk");
	assert_int_equal(m->n_host2_only, 0);
	folder_map_free(&m);
}

static void test_collision_and_only(void **state)
{
	const folder_info f1[] = {{"INBOX", 0}, {"a.b", 0}, {"a_b", 0}};
	const folder_info f2[] = {{"INBOX", 0}};
	folder_side h1 = {f1, 3, "", '/'};
	folder_side h2 = {f2, 1, "", '.'};
	folder_map *m = NULL;
	cut_status st;
	const char *only[] = {"a.b"};
	const char *bad[] = {"nope"};

	(void)state;
	assert_int_equal(folder_map_build(&h1, &h2, NULL, 0, &m, &st), -1);
	assert_null(m);
	assert_non_null(strstr(st.msg, "a_b"));
	/* even when --folder selects only one of them */
	assert_int_equal(folder_map_build(&h1, &h2, only, 1, &m, &st), -1);
	h1.n = 2;
	assert_int_equal(folder_map_build(&h1, &h2, only, 1, &m, &st), 0);
	assert_int_equal(m->n_pairs, 1);
	assert_string_equal(m->pairs[0].name1, "a.b");
	assert_string_equal(m->pairs[0].name2, "a_b");
	folder_map_free(&m);
	assert_int_equal(folder_map_build(&h1, &h2, bad, 1, &m, &st), -1);
	assert_non_null(strstr(st.msg, "nope"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_translate),
		cmocka_unit_test(test_special_use),
		cmocka_unit_test(test_special_use_taken),
		cmocka_unit_test(test_well_known_names),
		cmocka_unit_test(test_collision_and_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
