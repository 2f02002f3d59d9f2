/*
 * fuzz_tsig_key.c: the BIND key-file parser (tsig_key_parse) and the TSIG
 * reply check (dns_tsig_verify) on arbitrary bytes.  The first byte
 * selects which; the rest is the key file or the reply.
 */
#include <stddef.h>
#include <stdint.h>

#include "dns/tsig.h"
#include "dns/tsig_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char text[] =
		"key \"k\" { algorithm hmac-sha256; secret \"Zm9vYmFy\"; };";
	static const uint8_t mac[32] = {0};
	tsig_key *k = NULL;
	dns_tsig_result r;

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		if (tsig_key_parse((const char *)data + 1, size - 1, "fuzz", &k,
				   NULL) == 0)
			tsig_key_free(&k);
		return 0;
	}
	if (tsig_key_parse(text, sizeof(text) - 1, "fuzz", &k, NULL) == 0) {
		dns_tsig_verify(k, data + 1, size - 1, mac, sizeof(mac), &r, NULL);
		tsig_key_free(&k);
	}
	return 0;
}
