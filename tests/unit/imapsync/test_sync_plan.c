/* test_sync_plan.c: multiset diff, flags, delete2, delete1 selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "imapsync/sync_plan.h"

static sync_msg msg(int idn, uint32_t uid, const char *flags)
{
	sync_msg m;

	memset(&m, 0, sizeof(m));
	m.id.d[0] = (uint8_t)idn;
	m.uid = uid;
	m.size = 100u * (unsigned)idn;
	m.flags = flags;
	return m;
}

static size_t count(const sync_plan *p, sync_action_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_acts; i++)
		n += p->acts[i].kind == k;
	return n;
}

static void test_flags_canon(void **state)
{
	char *c = NULL;

	(void)state;
	assert_int_equal(sync_plan_flags_canon("\\seen \\Recent $Label1 \\ANSWERED foo $label1",
					       &c),
			 0);
	assert_string_equal(c, "$Label1 \\Answered \\Seen foo");
	free(c);
	assert_int_equal(sync_plan_flags_canon("(\\Recent)", &c), 0);
	assert_string_equal(c, "");
	free(c);
	assert_int_equal(sync_plan_flags_canon(NULL, &c), 0);
	assert_string_equal(c, "");
	free(c);
}

static void test_exact_sync(void **state)
{
	/* host1: A A B C(seen); host2: A C() D D  */
	sync_msg m1[] = {msg(1, 10, ""), msg(1, 11, ""), msg(2, 12, "\\Seen"),
			 msg(3, 13, "\\Seen")};
	sync_msg m2[] = {msg(1, 5, ""), msg(3, 6, ""), msg(4, 7, ""), msg(4, 8, "")};
	sync_plan_opts o = {.delete2 = 0, .update_flags = 1};
	sync_plan *p = NULL;

	(void)state;
	assert_int_equal(sync_plan_compute(m1, 4, m2, 4, &o, &p, NULL), 0);
	assert_int_equal(p->n_copy, 2); /* second A, B */
	assert_int_equal(p->copy_bytes, 100 + 200);
	assert_int_equal(p->n_flags, 1);
	assert_int_equal(p->n_delete2, 0);
	assert_int_equal(p->n_in_sync, 1);
	/* order: copies by host1 uid, then flags */
	assert_int_equal(p->acts[0].kind, SYNC_ACT_COPY);
	assert_int_equal(m1[p->acts[0].i1].uid, 11);
	assert_int_equal(m1[p->acts[1].i1].uid, 12);
	assert_int_equal(p->acts[2].kind, SYNC_ACT_FLAGS);
	assert_int_equal(m2[p->acts[2].i2].uid, 6);
	assert_int_equal(p->acts[0].delete1_after_copy, 0);
	sync_plan_free(&p);

	o.delete2 = 1;
	assert_int_equal(sync_plan_compute(m1, 4, m2, 4, &o, &p, NULL), 0);
	assert_int_equal(p->n_delete2, 2);
	assert_int_equal(count(p, SYNC_ACT_DELETE2), 2);
	assert_int_equal(m2[p->acts[3].i2].uid, 7);
	assert_int_equal(m2[p->acts[4].i2].uid, 8);
	sync_plan_free(&p);
	assert_null(p);
}

static void test_multiset_extra_copy(void **state)
{
	/* host1 has one A, host2 has three: two extras go with delete2, and the
	 * one kept is the one whose flags already match. */
	sync_msg m1[] = {msg(1, 1, "\\Flagged")};
	sync_msg m2[] = {msg(1, 1, ""), msg(1, 2, "\\Flagged"), msg(1, 3, "")};
	sync_plan_opts o = {.delete2 = 1, .update_flags = 1};
	sync_plan *p = NULL;

	(void)state;
	assert_int_equal(sync_plan_compute(m1, 1, m2, 3, &o, &p, NULL), 0);
	assert_int_equal(p->n_copy, 0);
	assert_int_equal(p->n_flags, 0);
	assert_int_equal(p->n_in_sync, 1);
	assert_int_equal(p->n_delete2, 2);
	assert_int_equal(m2[p->acts[0].i2].uid, 1);
	assert_int_equal(m2[p->acts[1].i2].uid, 3);
	sync_plan_free(&p);
}

static void test_in_sync_and_empty(void **state)
{
	sync_msg m1[] = {msg(1, 1, "\\Seen"), msg(2, 2, "")};
	sync_msg m2[] = {msg(2, 9, ""), msg(1, 8, "\\Seen")};
	sync_plan_opts o = {.delete2 = 1, .update_flags = 1};
	sync_plan *p = NULL;

	(void)state;
	assert_int_equal(sync_plan_compute(m1, 2, m2, 2, &o, &p, NULL), 0);
	assert_int_equal(p->n_acts, 0);
	assert_int_equal(p->n_in_sync, 2);
	sync_plan_free(&p);
	assert_int_equal(sync_plan_compute(NULL, 0, NULL, 0, &o, &p, NULL), 0);
	assert_int_equal(p->n_acts, 0);
	sync_plan_free(&p);
}

static void test_delete1(void **state)
{
	/* host1 INBOX: old A (not selected, already on host2), new A (selected,
	 * a duplicate delivery), new B (selected, copied by an interrupted run),
	 * new C (selected, not on host2).  host2: A, B, and E (user's own). */
	sync_msg m1[] = {msg(1, 1, ""), msg(1, 50, ""), msg(2, 51, ""),
			 msg(3, 52, "\\Seen")};
	sync_msg m2[] = {msg(1, 7, "\\Seen"), msg(2, 8, "\\Flagged"), msg(5, 9, "")};
	sync_plan_opts o = {.delete1 = 1, .update_flags = 1};
	sync_plan *p = NULL;
	cut_status st;

	(void)state;
	m1[1].selected = m1[2].selected = m1[3].selected = 1;
	assert_int_equal(sync_plan_compute(m1, 4, m2, 3, &o, &p, NULL), 0);
	/* new A and C are copied (then deleted on host1 once confirmed) */
	assert_int_equal(p->n_copy, 2);
	assert_int_equal(p->acts[0].kind, SYNC_ACT_COPY);
	assert_int_equal(m1[p->acts[0].i1].uid, 50);
	assert_int_equal(p->acts[0].delete1_after_copy, 1);
	assert_int_equal(m1[p->acts[1].i1].uid, 52);
	/* B is already there: delete on host1 only */
	assert_int_equal(p->n_delete1, 1);
	assert_int_equal(p->acts[2].kind, SYNC_ACT_DELETE1);
	assert_int_equal(m1[p->acts[2].i1].uid, 51);
	assert_int_equal(m2[p->acts[2].i2].uid, 8);
	/* nothing on host2 is touched: no flags, no delete2 */
	assert_int_equal(p->n_flags, 0);
	assert_int_equal(p->n_delete2, 0);
	assert_int_equal(p->n_acts, 3);
	sync_plan_free(&p);

	o.delete2 = 1;
	assert_int_equal(sync_plan_compute(m1, 4, m2, 3, &o, &p, &st), -1);
	assert_null(p);
	assert_non_null(strstr(st.msg, "refused"));
}

static void test_flags_batched(void **state)
{
	sync_msg m1[] = {msg(1, 1, "\\Seen"), msg(2, 2, "\\Answered"), msg(3, 3, "\\Seen"),
			 msg(4, 4, "\\Answered")};
	sync_msg m2[] = {msg(1, 1, ""), msg(2, 2, ""), msg(3, 3, ""), msg(4, 4, "")};
	sync_plan_opts o = {.update_flags = 1};
	sync_plan *p = NULL;

	(void)state;
	assert_int_equal(sync_plan_compute(m1, 4, m2, 4, &o, &p, NULL), 0);
	assert_int_equal(p->n_flags, 4);
	/* grouped by target flag set */
	assert_string_equal(m1[p->acts[0].i1].flags, "\\Answered");
	assert_string_equal(m1[p->acts[1].i1].flags, "\\Answered");
	assert_string_equal(m1[p->acts[2].i1].flags, "\\Seen");
	assert_string_equal(m1[p->acts[3].i1].flags, "\\Seen");
	sync_plan_free(&p);
	o.update_flags = 0;
	assert_int_equal(sync_plan_compute(m1, 4, m2, 4, &o, &p, NULL), 0);
	assert_int_equal(p->n_acts, 0);
	sync_plan_free(&p);
}

static void test_permanentflags(void **state)
{
	/* host2 keeps no keywords (PERMANENTFLAGS without \*): a keyword it
	 * cannot store makes no flag update, whatever the run */
	sync_msg m1[] = {msg(1, 10, "$Label1 \\Seen"), msg(2, 11, "$Label1 \\Flagged"),
			 msg(3, 12, "$Other")};
	sync_msg m2[] = {msg(1, 5, "\\Seen"), msg(2, 6, "")};
	sync_msg d1[] = {msg(1, 10, "\\Draft")}, d2[] = {msg(1, 5, "")};
	sync_plan_opts o = {.delete2 = 1, .update_flags = 1,
			    .permanentflags2 = "\\Answered \\Flagged \\Deleted \\Seen \\Draft"};
	sync_plan *p = NULL;
	cut_status st;

	(void)state;
	assert_int_equal(sync_plan_compute(m1, 3, m2, 2, &o, &p, &st), 0);
	assert_int_equal(p->n_in_sync, 1);
	assert_int_equal(p->n_flags, 1); /* \Flagged is kept, so it is set */
	assert_int_equal(p->n_copy, 1);
	assert_int_equal(p->n_delete2, 0);
	sync_plan_free(&p);
	/* an empty list: no keyword either */
	o.permanentflags2 = "";
	assert_int_equal(sync_plan_compute(m1, 3, m2, 2, &o, &p, &st), 0);
	assert_int_equal(p->n_in_sync, 1);
	assert_int_equal(p->n_flags, 1);
	sync_plan_free(&p);
	/* "\*": every keyword is kept, so they are set */
	o.permanentflags2 = "\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*";
	assert_int_equal(sync_plan_compute(m1, 3, m2, 2, &o, &p, &st), 0);
	assert_int_equal(p->n_flags, 2);
	sync_plan_free(&p);
	/* not sent (RFC 3501 7.1: all flags can be changed permanently) */
	o.permanentflags2 = NULL;
	assert_int_equal(sync_plan_compute(m1, 3, m2, 2, &o, &p, &st), 0);
	assert_int_equal(p->n_flags, 2);
	sync_plan_free(&p);
	/* a listed keyword is compared (case-insensitively) */
	o.permanentflags2 = "\\Seen \\Flagged $label1";
	assert_int_equal(sync_plan_compute(m1, 3, m2, 2, &o, &p, &st), 0);
	assert_int_equal(p->n_flags, 2);
	sync_plan_free(&p);
	/* system flags are always compared, listed or not */
	o.permanentflags2 = "$label1";
	assert_int_equal(sync_plan_compute(d1, 1, d2, 1, &o, &p, &st), 0);
	assert_int_equal(p->n_flags, 1);
	sync_plan_free(&p);
}

static void keepable(const char *flags, const char *perm, const char *kept,
		     const char *dropped)
{
	char *k = NULL, *d = NULL;

	assert_int_equal(sync_plan_flags_keepable(flags, perm, &k, &d), 0);
	assert_string_equal(k, kept);
	assert_string_equal(d, dropped);
	free(k);
	free(d);
}

static void test_flags_keepable(void **state)
{
	const char *all = "$label1 \\Answered \\Deleted \\Draft \\Flagged \\Seen custom";

	(void)state;
	/* no keywords: the system flags go, the keywords stay behind */
	keepable(all, "\\Answered \\Flagged \\Deleted \\Seen \\Draft",
		 "\\Answered \\Deleted \\Draft \\Flagged \\Seen", "$label1 custom");
	/* an empty list: still every system flag */
	keepable(all, "", "\\Answered \\Deleted \\Draft \\Flagged \\Seen", "$label1 custom");
	/* a listed keyword is kept, case-insensitively, in host1's spelling */
	keepable("$Label1 \\Seen custom", "\\Seen $LABEL1", "$Label1 \\Seen", "custom");
	/* "\*" anywhere, or no PERMANENTFLAGS at all: everything */
	keepable(all, "\\Seen \\* $label1", all, "");
	keepable(all, NULL, all, "");
	/* nothing to send */
	keepable("", "\\Seen", "", "");
	keepable(NULL, "\\Seen", "", "");
	keepable("custom", "\\Seen", "", "custom");
	/* a keyword that only starts like a listed one is not listed */
	keepable("$label10 $label1", "$label1", "$label1", "$label10");
}

static void test_flags_union(void **state)
{
	char *set = NULL, *before;

	(void)state;
	assert_int_equal(sync_plan_flags_union(&set, ""), 0);
	assert_string_equal(set, "");
	assert_int_equal(sync_plan_flags_union(&set, "custom"), 0);
	assert_int_equal(sync_plan_flags_union(&set, "$label1 custom"), 0);
	assert_string_equal(set, "$label1 custom");
	/* nothing new: the same string, not reallocated */
	before = set;
	assert_int_equal(sync_plan_flags_union(&set, "CUSTOM"), 0);
	assert_ptr_equal(set, before);
	assert_int_equal(sync_plan_flags_union(&set, "$Junk"), 0);
	assert_string_equal(set, "$Junk $label1 custom");
	free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags_canon),
		cmocka_unit_test(test_exact_sync),
		cmocka_unit_test(test_multiset_extra_copy),
		cmocka_unit_test(test_in_sync_and_empty),
		cmocka_unit_test(test_delete1),
		cmocka_unit_test(test_flags_batched),
		cmocka_unit_test(test_permanentflags),
		cmocka_unit_test(test_flags_keepable),
		cmocka_unit_test(test_flags_union),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
