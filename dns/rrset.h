/*
 * rrset.h: an RRset as a plain value: owner, type, TTL and the RDATA of
 * each record in presentation format ("10 mx1.example.", "192.0.2.1").
 * Values are normalised (names lower case and absolute, addresses in
 * inet_ntop form) so that sets compare with dns_rrset_same_data().
 * An RRset with n == 0 means "absent".
 *
 * Ownership: dns_rrset_new() returns an RRset released with
 * dns_rrset_free(); every string inside belongs to it.
 */
#ifndef CUTOVER_DNS_RRSET_H
#define CUTOVER_DNS_RRSET_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "dns/query.h" /* DNS_TYPE_* */

typedef struct dns_rrset {
	char *owner; /* absolute, lower case */
	uint16_t type;
	uint32_t ttl; /* meaningful when n > 0 */
	char **rdata;
	size_t n;
} dns_rrset;

/** A new empty (absent) RRset; NULL on out of memory. */
dns_rrset *dns_rrset_new(const char *owner, uint16_t type);
/** A deep copy; NULL on out of memory. */
dns_rrset *dns_rrset_dup(const dns_rrset *s);
void dns_rrset_free(dns_rrset **sp);

/**
 * Adds one record's RDATA (presentation format), normalised for the type:
 * A/AAAA through inet_pton/inet_ntop, MX "PREF NAME" with NAME made
 * absolute and lower case; other types lower-cased as is.  Duplicates
 * are ignored (RFC 2181 5: an RRset has no duplicate RRs).
 * @return 0, or -1 when malformed or out of memory.
 */
int dns_rrset_add(dns_rrset *s, const char *rdata);
/** Adds "PREF HOST" for an MX. */
int dns_rrset_add_mx(dns_rrset *s, uint16_t pref, const char *host);

/** Same records, ignoring order and TTL (set equality). */
int dns_rrset_same_data(const dns_rrset *a, const dns_rrset *b);
/** Same records and same TTL (both absent counts as equal). */
int dns_rrset_equal(const dns_rrset *a, const dns_rrset *b);

/** "MX", "A", "AAAA", "SOA" or "TYPEnnn" (static or in buf). */
const char *dns_rrset_type_name(uint16_t type);
/** Type by mnemonic; @return 0 or -1. */
int dns_rrset_type_parse(const char *s, uint16_t *type_r);

/**
 * Appends the RRset in zone-file form, one line per record:
 * "lab.test. 86400 IN MX 10 mx1.old.lab.test.", or
 * "lab.test. IN MX (absent)" when n == 0.  @return 0 or -1.
 */
int dns_rrset_format(const dns_rrset *s, const char *indent, cut_buf *out);
/** One line: "10 mx1.example., 20 mx2.example." or "(absent)". */
int dns_rrset_format_data(const dns_rrset *s, cut_buf *out);

/** True when s is a valid IPv4 (4) or IPv6 (6) literal; 0 otherwise. */
int dns_rrset_addr_family(const char *s);

#endif
