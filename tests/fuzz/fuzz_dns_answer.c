/*
 * fuzz_dns_answer.c: DNS reply handling (dns_answer_parse and
 * dns_prop_rr_from_answer) on arbitrary bytes.  The first byte selects the
 * question type and whether AA is required; the rest is the reply.
 */
#include <stddef.h>
#include <stdint.h>

#include "dns/propagation.h"
#include "dns/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {DNS_TYPE_MX, DNS_TYPE_SOA, DNS_TYPE_A,
					 DNS_TYPE_AAAA, DNS_TYPE_NS,
					 DNS_TYPE_CNAME};
	dns_answer a;
	dns_prop_rr rr;
	uint16_t qtype;

	if (size < 1)
		return 0;
	qtype = types[(data[0] & 0x7f) % (sizeof(types) / sizeof(types[0]))];
	if (dns_answer_parse(data + 1, size - 1, "lab.test.", qtype, &a,
			     NULL) == 0) {
		if (dns_prop_rr_from_answer(&a, data[0] & 0x80, &rr) == 0)
			dns_prop_rr_clear(&rr);
		dns_answer_clear(&a);
	}
	return 0;
}
