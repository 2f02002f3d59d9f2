/*
 * readiness.c: the readiness arithmetic (see readiness.h).  Pure: no clock,
 * no I/O, no globals.
 */
#include "dns/readiness.h"

#include <stddef.h>

int dns_ready_serial_ge(uint32_t s1, uint32_t s2)
{
	uint32_t d = s1 - s2; /* modulo 2^32 */

	/* RFC 1982 3.2: s1 > s2 when 0 < (s1 - s2) mod 2^32 < 2^31. */
	return d == 0 || d < UINT32_C(0x80000000);
}

uint32_t dns_ready_negative_ttl(uint32_t soa_ttl, uint32_t soa_minimum)
{
	/* RFC 2308 5: the negative TTL is min(SOA MINIMUM, SOA TTL). */
	return soa_ttl < soa_minimum ? soa_ttl : soa_minimum;
}

uint32_t dns_ready_old_lifetime(const dns_ready_old *old)
{
	uint32_t t = 0;

	if (old == NULL)
		return 0;
	if (old->existed)
		t = old->ttl;
	if (old->was_negative && old->neg_ttl > t)
		t = old->neg_ttl;
	return t;
}

dns_ready_addr_verdict dns_ready_addr_check(const dns_ready_addr *a,
					    const dns_ready_want *want)
{
	switch (a->answer) {
	case DNS_READY_UNREACHABLE:
		return DNS_READY_LAG_UNREACHABLE;
	case DNS_READY_REFUSED:
		return DNS_READY_LAG_REFUSED;
	case DNS_READY_NOT_AUTH:
		return DNS_READY_LAG_NOT_AUTH;
	case DNS_READY_ANSWERED:
		break;
	}
	if (want->has_min_serial) {
		if (!a->has_serial)
			return DNS_READY_LAG_NO_SERIAL;
		if (!dns_ready_serial_ge(a->serial, want->min_serial))
			return DNS_READY_LAG_OLD_SERIAL;
	}
	if (want->goal == DNS_READY_GOAL_LOWERED) {
		if (a->max_ttl > want->low_ttl)
			return DNS_READY_LAG_TTL_HIGH;
	} else if (!a->data_matches) {
		return DNS_READY_LAG_OLD_DATA;
	}
	return DNS_READY_UP_TO_DATE;
}

const char *dns_ready_addr_verdict_name(dns_ready_addr_verdict v)
{
	switch (v) {
	case DNS_READY_UP_TO_DATE:
		return "up to date";
	case DNS_READY_LAG_UNREACHABLE:
		return "unreachable";
	case DNS_READY_LAG_REFUSED:
		return "refused";
	case DNS_READY_LAG_NOT_AUTH:
		return "not authoritative (lame)";
	case DNS_READY_LAG_NO_SERIAL:
		return "no SOA serial";
	case DNS_READY_LAG_OLD_SERIAL:
		return "stale serial";
	case DNS_READY_LAG_TTL_HIGH:
		return "TTL not lowered";
	case DNS_READY_LAG_OLD_DATA:
		return "old data";
	}
	return "?";
}

const char *dns_ready_reason_name(dns_ready_reason r)
{
	switch (r) {
	case DNS_READY_OK:
		return "ready";
	case DNS_READY_NO_SERVERS:
		return "no servers";
	case DNS_READY_LAGGING:
		return "lagging";
	case DNS_READY_WAITING:
		return "waiting for caches";
	}
	return "?";
}

int dns_ready_evaluate(const dns_ready_params *p, double now,
		       dns_ready_verdict *v_r)
{
	dns_ready_verdict v = {0};
	size_t i;

	if (p == NULL || v_r == NULL)
		return -1;
	for (i = 0; i < p->n_addrs; i++)
		if (dns_ready_addr_check(&p->addrs[i], &p->want) !=
		    DNS_READY_UP_TO_DATE)
			v.n_lagging++;
	v.visible = p->n_addrs > 0 && v.n_lagging == 0;

	if (p->has_since) {
		v.has_since = 1;
		v.since = p->since;
	} else if (v.visible) {
		v.has_since = 1;
		v.since = now;
		v.first_seen = 1;
	}
	if (v.has_since) {
		size_t k;

		v.has_ready_at = 1;
		v.ready_at = v.since + (double)dns_ready_old_lifetime(&p->old) +
			     p->margin;
		/* A watched resolver still holding an old copy. */
		for (k = 0; k < p->n_hold; k++)
			if (p->hold_until[k] > v.ready_at)
				v.ready_at = p->hold_until[k];
	}

	if (p->n_addrs == 0)
		v.reason = DNS_READY_NO_SERVERS;
	else if (!v.visible)
		v.reason = DNS_READY_LAGGING;
	else if (now < v.ready_at)
		v.reason = DNS_READY_WAITING;
	else
		v.reason = DNS_READY_OK;
	v.ready = v.reason == DNS_READY_OK;
	*v_r = v;
	return 0;
}
