/* test_readiness.c: the readiness arithmetic with fixed times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dns/readiness.h"

#define T0 1800000000.0 /* a fixed "now" */

static dns_ready_addr answered(uint32_t serial, uint32_t ttl, int matches)
{
	dns_ready_addr a = {DNS_READY_ANSWERED, 1, serial, ttl, matches};
	return a;
}

static dns_ready_params lowered_params(const dns_ready_addr *a, size_t n)
{
	dns_ready_params p = {0};

	p.addrs = a;
	p.n_addrs = n;
	p.want.goal = DNS_READY_GOAL_LOWERED;
	p.want.low_ttl = 300;
	p.want.has_min_serial = 1;
	p.want.min_serial = 5;
	p.old.existed = 1;
	p.old.ttl = 86400;
	p.margin = 60;
	return p;
}

static void test_serial_arithmetic(void **state)
{
	(void)state;
	assert_true(dns_ready_serial_ge(5, 5));
	assert_true(dns_ready_serial_ge(6, 5));
	assert_false(dns_ready_serial_ge(4, 5));
	/* RFC 1982 3.1: wrap-around, 1 is after 4294967295 */
	assert_true(dns_ready_serial_ge(1, UINT32_MAX));
	assert_false(dns_ready_serial_ge(UINT32_MAX, 1));
	/* 2^31 apart is undefined: never "after" */
	assert_false(dns_ready_serial_ge(UINT32_C(0x80000000), 0));
	assert_false(dns_ready_serial_ge(0, UINT32_C(0x80000000)));
	/* date-style serials */
	assert_true(dns_ready_serial_ge(2026120101, 2026113002));
}

static void test_negative_ttl(void **state)
{
	dns_ready_old old = {0};

	(void)state;
	/* RFC 2308 5: min(SOA MINIMUM, SOA TTL) */
	assert_int_equal(dns_ready_negative_ttl(300, 60), 60);
	assert_int_equal(dns_ready_negative_ttl(30, 3600), 30);
	old.existed = 0;
	old.was_negative = 1;
	old.neg_ttl = 60;
	assert_int_equal(dns_ready_old_lifetime(&old), 60);
	old.existed = 1;
	old.ttl = 3600;
	assert_int_equal(dns_ready_old_lifetime(&old), 3600);
	old.ttl = 10;
	assert_int_equal(dns_ready_old_lifetime(&old), 60);
	assert_int_equal(dns_ready_old_lifetime(NULL), 0);
}

static void test_addr_check(void **state)
{
	dns_ready_want w = {DNS_READY_GOAL_LOWERED, 300, 1, 5};
	dns_ready_addr a = answered(5, 300, 0);

	(void)state;
	assert_int_equal(dns_ready_addr_check(&a, &w), DNS_READY_UP_TO_DATE);
	a.max_ttl = 301;
	assert_int_equal(dns_ready_addr_check(&a, &w), DNS_READY_LAG_TTL_HIGH);
	a = answered(4, 300, 0);
	assert_int_equal(dns_ready_addr_check(&a, &w), DNS_READY_LAG_OLD_SERIAL);
	a.has_serial = 0;
	assert_int_equal(dns_ready_addr_check(&a, &w), DNS_READY_LAG_NO_SERIAL);
	a = answered(5, 300, 0);
	a.answer = DNS_READY_UNREACHABLE;
	assert_int_equal(dns_ready_addr_check(&a, &w), DNS_READY_LAG_UNREACHABLE);
	a.answer = DNS_READY_REFUSED;
	assert_int_equal(dns_ready_addr_check(&a, &w), DNS_READY_LAG_REFUSED);
	a.answer = DNS_READY_NOT_AUTH;
	assert_int_equal(dns_ready_addr_check(&a, &w), DNS_READY_LAG_NOT_AUTH);
	/* no serial journaled (manual mode): any serial will do */
	w.has_min_serial = 0;
	a = answered(1, 60, 0);
	assert_int_equal(dns_ready_addr_check(&a, &w), DNS_READY_UP_TO_DATE);
	/* change goal: the data decides */
	w.goal = DNS_READY_GOAL_CHANGED;
	assert_int_equal(dns_ready_addr_check(&a, &w), DNS_READY_LAG_OLD_DATA);
	a.data_matches = 1;
	assert_int_equal(dns_ready_addr_check(&a, &w), DNS_READY_UP_TO_DATE);
	assert_string_equal(dns_ready_addr_verdict_name(DNS_READY_LAG_UNREACHABLE),
			    "unreachable");
}

/* First sighting: since = now, deadline = now + old TTL + margin. */
static void test_lowered_first_seen(void **state)
{
	dns_ready_addr a[3] = {answered(5, 300, 0), answered(6, 300, 0),
			       answered(5, 120, 0)};
	dns_ready_params p = lowered_params(a, 3);
	dns_ready_verdict v;

	(void)state;
	assert_int_equal(dns_ready_evaluate(&p, T0, &v), 0);
	assert_true(v.visible);
	assert_true(v.first_seen);
	assert_true(v.has_since);
	assert_true(v.since == T0);
	assert_false(v.ready);
	assert_int_equal(v.reason, DNS_READY_WAITING);
	assert_true(v.ready_at == T0 + 86400 + 60);
}

/* Journaled sighting reused: exactly ready at since + TTL + margin. */
static void test_lowered_deadline_exact(void **state)
{
	dns_ready_addr a[2] = {answered(5, 300, 0), answered(5, 300, 0)};
	dns_ready_params p = lowered_params(a, 2);
	dns_ready_verdict v;

	(void)state;
	p.has_since = 1;
	p.since = T0;
	p.old.ttl = 8;
	p.margin = 2;
	assert_int_equal(dns_ready_evaluate(&p, T0 + 9.999, &v), 0);
	assert_false(v.ready);
	assert_false(v.first_seen);
	assert_true(v.ready_at == T0 + 10);
	assert_int_equal(dns_ready_evaluate(&p, T0 + 10, &v), 0);
	assert_true(v.ready);
	assert_int_equal(v.reason, DNS_READY_OK);
	assert_int_equal(dns_ready_evaluate(&p, T0 + 1e6, &v), 0);
	assert_true(v.ready);
}

/* A secondary at the old serial: never ready, however late. */
static void test_stale_secondary(void **state)
{
	dns_ready_addr a[2] = {answered(5, 300, 0), answered(4, 86400, 0)};
	dns_ready_params p = lowered_params(a, 2);
	dns_ready_verdict v;

	(void)state;
	assert_int_equal(dns_ready_evaluate(&p, T0, &v), 0);
	assert_false(v.visible);
	assert_false(v.has_since);
	assert_false(v.has_ready_at);
	assert_false(v.first_seen);
	assert_int_equal(v.n_lagging, 1);
	assert_int_equal(v.reason, DNS_READY_LAGGING);
	/* had been seen visible before, then one address became unreachable */
	a[1] = answered(5, 300, 0);
	a[1].answer = DNS_READY_UNREACHABLE;
	p.has_since = 1;
	p.since = T0 - 1e6;
	assert_int_equal(dns_ready_evaluate(&p, T0, &v), 0);
	assert_false(v.ready);
	assert_int_equal(v.reason, DNS_READY_LAGGING);
	assert_true(v.has_ready_at);
	assert_true(v.ready_at == T0 - 1e6 + 86400 + 60);
}

/* Manual mode: no serial journaled, counted from the first sighting. */
static void test_manual_mode(void **state)
{
	dns_ready_addr a[2] = {answered(42, 300, 0), answered(41, 300, 0)};
	dns_ready_params p = lowered_params(a, 2);
	dns_ready_verdict v;

	(void)state;
	p.want.has_min_serial = 0;
	p.old.ttl = 3600;
	p.margin = 0;
	assert_int_equal(dns_ready_evaluate(&p, T0, &v), 0);
	assert_true(v.visible);
	assert_true(v.first_seen);
	assert_true(v.ready_at == T0 + 3600);
	/* the next call reuses the journaled sighting */
	p.has_since = 1;
	p.since = T0;
	assert_int_equal(dns_ready_evaluate(&p, T0 + 3599, &v), 0);
	assert_false(v.ready);
	assert_false(v.first_seen);
	assert_int_equal(dns_ready_evaluate(&p, T0 + 3600, &v), 0);
	assert_true(v.ready);
}

/* New name (IMAP AAAA did not exist): the negative TTL counts. */
static void test_change_negative_caching(void **state)
{
	dns_ready_addr a[2] = {answered(7, 300, 1), answered(7, 300, 1)};
	dns_ready_params p = lowered_params(a, 2);
	dns_ready_verdict v;

	(void)state;
	p.want.goal = DNS_READY_GOAL_CHANGED;
	p.want.min_serial = 7;
	p.old.existed = 1;
	p.old.ttl = 300;
	p.old.was_negative = 1;
	p.old.neg_ttl = dns_ready_negative_ttl(3600, 900);
	p.margin = 60;
	assert_int_equal(dns_ready_evaluate(&p, T0, &v), 0);
	assert_true(v.first_seen);
	assert_true(v.ready_at == T0 + 900 + 60);
	/* with only a negative answer before */
	p.old.existed = 0;
	p.old.neg_ttl = dns_ready_negative_ttl(30, 900);
	assert_int_equal(dns_ready_evaluate(&p, T0, &v), 0);
	assert_true(v.ready_at == T0 + 30 + 60);
	/* one address still serves the old MX */
	a[1].data_matches = 0;
	assert_int_equal(dns_ready_evaluate(&p, T0, &v), 0);
	assert_false(v.visible);
	assert_int_equal(v.reason, DNS_READY_LAGGING);
}

/* A watched resolver holding an old copy longer than the arithmetic. */
static void test_resolver_hold(void **state)
{
	dns_ready_addr a[1] = {answered(5, 300, 0)};
	dns_ready_params p = lowered_params(a, 1);
	dns_ready_verdict v;
	double hold[2] = {T0 + 10, T0 + 200000};

	(void)state;
	p.hold_until = hold;
	p.n_hold = 1;
	assert_int_equal(dns_ready_evaluate(&p, T0, &v), 0);
	assert_true(v.ready_at == T0 + 86400 + 60);
	p.n_hold = 2;
	assert_int_equal(dns_ready_evaluate(&p, T0, &v), 0);
	assert_true(v.ready_at == T0 + 200000);
}

static void test_no_servers(void **state)
{
	dns_ready_params p = lowered_params(NULL, 0);
	dns_ready_verdict v;

	(void)state;
	assert_int_equal(dns_ready_evaluate(&p, T0, &v), 0);
	assert_false(v.ready);
	assert_false(v.visible);
	assert_int_equal(v.reason, DNS_READY_NO_SERVERS);
	assert_int_equal(dns_ready_evaluate(NULL, T0, &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial_arithmetic),
		cmocka_unit_test(test_negative_ttl),
		cmocka_unit_test(test_addr_check),
		cmocka_unit_test(test_lowered_first_seen),
		cmocka_unit_test(test_lowered_deadline_exact),
		cmocka_unit_test(test_stale_secondary),
		cmocka_unit_test(test_manual_mode),
		cmocka_unit_test(test_change_negative_caching),
		cmocka_unit_test(test_resolver_hold),
		cmocka_unit_test(test_no_servers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
