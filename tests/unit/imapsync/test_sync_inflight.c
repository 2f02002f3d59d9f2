/*
 * test_sync_inflight.c: the record of APPENDs in flight: replaying its
 * lines (batches, closes, torn and damaged lines) and a write/read round
 * trip through a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "imapsync/sync_inflight.h"

static identity id_of(unsigned char b)
{
	identity id;

	memset(id.d, b, sizeof(id.d));
	return id;
}

#define HEX_AA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_BB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_replay(void **state)
{
	/* "INBOX" = 494e424f58, "Sent" = 53656e74 */
	const char *rec = "B 1000 494e424f58 " HEX_BB "\n"
			  "B 2500 494e424f58 " HEX_AA "\n"
			  "B 3000 53656e74 " HEX_AA "\n"
			  "E 53656e74\n"
			  "garbage\n"
			  "B 9000 494e424f58 " HEX_BB; /* torn: never sent */
	sync_inflight *r = NULL;
	const sync_inflight_folder *f;
	identity a = id_of(0xaa), b = id_of(0xbb), c = id_of(0xcc);
	size_t bad = 0;
	cut_status st;

	(void)state;
	assert_int_equal(sync_inflight_parse(rec, strlen(rec), &r, &bad, &st), 0);
	assert_int_equal(bad, 1);
	assert_null(sync_inflight_find(r, "Sent"));
	f = sync_inflight_find(r, "INBOX");
	assert_non_null(f);
	assert_int_equal(f->n, 2);
	assert_true(f->sent > 2.49 && f->sent < 2.51);
	assert_true(sync_inflight_has(f, &a));
	assert_true(sync_inflight_has(f, &b));
	assert_false(sync_inflight_has(f, &c));
	assert_false(sync_inflight_has(NULL, &a));
	sync_inflight_free(&r);
	assert_null(r);
}

static void test_file_round_trip(void **state)
{
	char dir[] = "/tmp/test_sync_inflight.XXXXXX";
	char path[256];
	sync_inflight *r = NULL;
	identity a = id_of(0xaa), b = id_of(0xbb);
	const identity *ids[] = {&a, &b};
	cut_status st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/u@h--u@h.inflight", dir);
	/* a run sends a batch to "a b" and dies: the record stays */
	assert_int_equal(sync_inflight_open(path, &r, &st), 0);
	assert_int_equal(sync_inflight_begin(r, "a b", 1234.5, ids, 2, &st), 0);
	sync_inflight_free(&r);
	assert_int_equal(access(path, F_OK), 0);
	/* the rerun finds it, closes the folder: the file goes */
	assert_int_equal(sync_inflight_open(path, &r, &st), 0);
	assert_non_null(sync_inflight_find(r, "a b"));
	assert_true(sync_inflight_find(r, "a b")->sent > 1234.4);
	assert_true(sync_inflight_has(sync_inflight_find(r, "a b"), &b));
	sync_inflight_end(r, "a b");
	assert_null(sync_inflight_find(r, "a b"));
	sync_inflight_free(&r);
	assert_int_not_equal(access(path, F_OK), 0);
	/* a missing file is an empty record */
	assert_int_equal(sync_inflight_open(path, &r, &st), 0);
	assert_int_equal(r->n, 0);
	sync_inflight_free(&r);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_file_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
