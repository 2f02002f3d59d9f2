/*
 * test_dnsops.c: the pure decisions of cutover/dnsops.c: the UPDATE built
 * from the RRsets as read and the targets (prerequisites listing exactly
 * what was read, so a concurrent edit fails the update), the `ttl lower`
 * targets (never raised, absent left alone), which of old/new/parking is
 * served (or none: refuse), and the diagnosis of a REFUSED reply
 * (secondary vs key without rights).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cutover/dnsops.h"
#include "dns/rrset.h"
#include "dns/update.h"

static dns_rrset *rrset(const char *owner, uint16_t type, uint32_t ttl,
			const char *rd1, const char *rd2)
{
	dns_rrset *s = dns_rrset_new(owner, type);

	assert_non_null(s);
	s->ttl = ttl;
	if (rd1 != NULL)
		assert_int_equal(dns_rrset_add(s, rd1), 0);
	if (rd2 != NULL)
		assert_int_equal(dns_rrset_add(s, rd2), 0);
	return s;
}

/* The presentation form of what dnsops_update_build() produced. */
static char *build_text(const char *zone, dns_rrset **cur, dns_rrset **target,
			size_t n, size_t *changes_r)
{
	dns_update *u = NULL;
	cut_buf text = CUT_BUF_INIT;
	cut_status st;
	char *s;

	cut_status_clear(&st);
	assert_int_equal(dnsops_update_build(zone, cur, target, n, &u,
					     changes_r, &st),
			 0);
	assert_non_null(u);
	assert_int_equal(dns_update_format(u, &text), 0);
	s = strdup(text.data != NULL ? text.data : "");
	cut_buf_free(&text);
	dns_update_free(&u);
	return s;
}

/* An MX change and a new AAAA in one UPDATE; an unchanged RRset and a
 * NULL target contribute nothing. */
static void test_update_build(void **state)
{
	dns_rrset *cur[4], *target[4];
	size_t changes = 99, i;
	char *text;

	(void)state;
	cur[0] = rrset("ex.", DNS_TYPE_MX, 86400, "10 mx1.old.ex.",
		       "20 mx2.old.ex.");
	target[0] = rrset("ex.", DNS_TYPE_MX, 86400, "10 mx1.new.ex.", NULL);
	cur[1] = rrset("imap.ex.", DNS_TYPE_AAAA, 0, NULL, NULL);
	target[1] = rrset("imap.ex.", DNS_TYPE_AAAA, 300, "2001:db8::12", NULL);
	cur[2] = rrset("imap.ex.", DNS_TYPE_A, 300, "192.0.2.12", NULL);
	target[2] = dns_rrset_dup(cur[2]);
	cur[3] = rrset("ex.", DNS_TYPE_SOA, 300, NULL, NULL);
	target[3] = NULL;
	text = build_text("ex.", cur, target, 4, &changes);
	assert_int_equal(changes, 2);
	assert_string_equal(text,
			    "UPDATE zone ex. IN\n"
			    "  require record:          ex. MX 10 mx1.old.ex.\n"
			    "  require record:          ex. MX 20 mx2.old.ex.\n"
			    "  require absent:          imap.ex. AAAA\n"
			    "  delete rrset:            ex. MX\n"
			    "  add:                     ex. 86400 MX 10 mx1.new.ex.\n"
			    "  delete rrset:            imap.ex. AAAA\n"
			    "  add:                     imap.ex. 300 AAAA 2001:db8::12\n");
	free(text);

	/* a TTL-only change is a change (delete + add is the portable way) */
	target[2]->ttl = 60;
	text = build_text("ex.", cur + 2, target + 2, 1, &changes);
	assert_int_equal(changes, 1);
	assert_non_null(strstr(text, "require record:          imap.ex. A 192.0.2.12"));
	assert_non_null(strstr(text, "add:                     imap.ex. 60 A 192.0.2.12"));
	free(text);

	/* nothing differs: nothing to send */
	target[2]->ttl = 300;
	text = build_text("ex.", cur + 2, target + 2, 2, &changes);
	assert_int_equal(changes, 0);
	free(text);
	for (i = 0; i < 4; i++) {
		dns_rrset_free(&cur[i]);
		dns_rrset_free(&target[i]);
	}
}

static void test_update_build_errors(void **state)
{
	dns_rrset *cur = rrset("ex.", DNS_TYPE_MX, 300, "10 m.ex.", NULL);
	dns_rrset *target = rrset("ex.", DNS_TYPE_MX, 300, "20 m.ex.", NULL);
	dns_update *u = (dns_update *)&u;
	size_t changes = 5;
	cut_status st;

	(void)state;
	cut_status_clear(&st);
	assert_int_equal(dnsops_update_build("bad..zone", &cur, &target, 1, &u,
					     &changes, &st),
			 -1);
	assert_null(u);
	assert_int_equal(changes, 0);
	assert_non_null(strstr(st.msg, "\"bad..zone\" is not a domain name"));
	dns_rrset_free(&cur);
	dns_rrset_free(&target);
}

static void test_ttl_lower_targets(void **state)
{
	dns_rrset *cur[3], *target[3];
	size_t i;

	(void)state;
	cur[0] = rrset("ex.", DNS_TYPE_MX, 86400, "10 m.ex.", "20 n.ex.");
	cur[1] = rrset("imap.ex.", DNS_TYPE_A, 60, "192.0.2.1", NULL);
	cur[2] = rrset("imap.ex.", DNS_TYPE_AAAA, 0, NULL, NULL);
	assert_int_equal(dnsops_ttl_lower_targets(cur, 3, 300, target), 0);
	/* lowered, data unchanged */
	assert_int_equal(target[0]->ttl, 300);
	assert_true(dns_rrset_same_data(target[0], cur[0]));
	/* already below low_ttl: never raised */
	assert_int_equal(target[1]->ttl, 60);
	assert_true(dns_rrset_equal(target[1], cur[1]));
	/* absent: left alone */
	assert_null(target[2]);
	for (i = 0; i < 3; i++) {
		dns_rrset_free(&cur[i]);
		dns_rrset_free(&target[i]);
	}
}

static void test_served_match(void **state)
{
	dns_rrset *old = rrset("ex.", DNS_TYPE_MX, 300, "10 mx1.old.ex.",
			       "20 mx2.old.ex.");
	dns_rrset *new = rrset("ex.", DNS_TYPE_MX, 300, "10 mx1.new.ex.", NULL);
	dns_rrset *mx[2] = {old, new};
	dns_rrset *served = rrset("ex.", DNS_TYPE_MX, 86400, "20 MX2.old.ex",
				  "10 mx1.old.ex.");
	dns_rrset *v4old = rrset("i.ex.", DNS_TYPE_A, 0, "192.0.2.11", NULL);
	dns_rrset *v6old = rrset("i.ex.", DNS_TYPE_AAAA, 0, "2001:db8::11", NULL);
	dns_rrset *v4new = rrset("i.ex.", DNS_TYPE_A, 0, "192.0.2.12", NULL);
	dns_rrset *v6new = rrset("i.ex.", DNS_TYPE_AAAA, 0, "2001:db8::12", NULL);
	dns_rrset *v4park = rrset("i.ex.", DNS_TYPE_A, 0, "192.0.2.99", NULL);
	dns_rrset *none6 = rrset("i.ex.", DNS_TYPE_AAAA, 0, NULL, NULL);
	dns_rrset *none4 = rrset("i.ex.", DNS_TYPE_A, 0, NULL, NULL);
	dns_rrset *addr[2];

	(void)state;
	/* order and case do not matter, the TTL is ignored */
	assert_int_equal(dnsops_served_match(&served, 1, mx, 2), 0);
	assert_int_equal(dnsops_served_match(&new, 1, mx, 2), 1);
	/* one record more than [mx] new: neither */
	assert_int_equal(dns_rrset_add(served, "10 mx1.new.ex."), 0);
	assert_int_equal(dnsops_served_match(&served, 1, mx, 2), -1);

	{
		dns_rrset *cands[6] = {v4old, v6old, v4new, v6new, v4park,
				       none6};

		addr[0] = v4new;
		addr[1] = v6new;
		assert_int_equal(dnsops_served_match(addr, 2, cands, 3), 1);
		addr[0] = v4park;
		addr[1] = none6;
		assert_int_equal(dnsops_served_match(addr, 2, cands, 3), 2);
		/* the A is new but the AAAA still old: none of the three */
		addr[0] = v4new;
		addr[1] = v6old;
		assert_int_equal(dnsops_served_match(addr, 2, cands, 3), -1);
		/* an empty list (first RRset NULL) never matches "no address" */
		cands[4] = NULL;
		addr[0] = none4;
		addr[1] = none6;
		assert_int_equal(dnsops_served_match(addr, 2, cands, 3), -1);
	}
	dns_rrset_free(&old);
	dns_rrset_free(&new);
	dns_rrset_free(&served);
	dns_rrset_free(&v4old);
	dns_rrset_free(&v6old);
	dns_rrset_free(&v4new);
	dns_rrset_free(&v6new);
	dns_rrset_free(&v4park);
	dns_rrset_free(&none6);
	dns_rrset_free(&none4);
}

/* REFUSED: the server shares an address with the SOA MNAME -> the
 * primary refused the key; no shared address -> a secondary. */
static void test_refusal_explain(void **state)
{
	const char srv[2][DNS_ADDR_MAX] = {"192.0.2.2", "2001:db8::2"};
	const char primary[2][DNS_ADDR_MAX] = {"192.0.2.1", "2001:db8::2"};
	const char other[1][DNS_ADDR_MAX] = {"192.0.2.1"};
	char buf[512];

	(void)state;
	buf[0] = '\0';
	assert_int_equal(dnsops_refusal_explain("ns.ex:53", srv, 2, "ns1.ex.",
						primary, 2, "ex.", "k.", buf,
						sizeof(buf)),
			 DNSOPS_REFUSAL_KEY);
	assert_string_equal(buf,
			    "the key \"k.\" is not allowed to update zone ex. on "
			    "ns.ex:53 (REFUSED by the primary ns1.ex.): check "
			    "allow-update / update-policy (BIND) or the acl "
			    "(Knot) for this key");
	assert_int_equal(dnsops_refusal_explain("192.0.2.2:53", srv, 1,
						"ns1.ex.", other, 1, "ex.",
						"k.", buf, sizeof(buf)),
			 DNSOPS_REFUSAL_NOT_PRIMARY);
	assert_string_equal(buf,
			    "192.0.2.2:53 is not the primary of zone ex. (the "
			    "SOA names ns1.ex. as primary, at 192.0.2.1; "
			    "REFUSED): send updates to ns1.ex. ([dns] server)");
	/* nothing known: the generic REFUSED sentence stays */
	buf[0] = '\0';
	assert_int_equal(dnsops_refusal_explain("s:53", srv, 1, NULL, other, 1,
						"ex.", "k.", buf, sizeof(buf)),
			 DNSOPS_REFUSAL_UNKNOWN);
	assert_int_equal(dnsops_refusal_explain("s:53", srv, 0, "ns1.ex.",
						other, 1, "ex.", "k.", buf,
						sizeof(buf)),
			 DNSOPS_REFUSAL_UNKNOWN);
	assert_int_equal(dnsops_refusal_explain("s:53", srv, 1, "ns1.ex.",
						other, 0, "ex.", "k.", buf,
						sizeof(buf)),
			 DNSOPS_REFUSAL_UNKNOWN);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update_build),
		cmocka_unit_test(test_update_build_errors),
		cmocka_unit_test(test_ttl_lower_targets),
		cmocka_unit_test(test_served_match),
		cmocka_unit_test(test_refusal_explain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
