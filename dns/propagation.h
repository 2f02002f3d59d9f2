/*
 * propagation.h: what every authoritative address of a zone and every
 * watched resolver serves right now.
 *
 * dns_prop_observe() discovers the zone's NS set (or takes the override
 * list), finds each name server's A and AAAA addresses, then asks every
 * address directly and in parallel (dns/query.h): the zone's SOA (serial,
 * AA bit, RCODE) and each watched RRset (data and TTL served), with RD=0.
 * Each resolver is asked the watched RRsets with RD=1: the data it serves
 * and the remaining TTL of its cached copy.  An address that does not
 * answer is reported unreachable, never skipped.
 *
 * Nothing here judges readiness (dns/readiness.h does) or reads the clock
 * beyond measuring timeouts.
 *
 * Ownership: the report returned by dns_prop_observe() belongs to the
 * caller, released with dns_prop_report_free(); every string and array in
 * it belongs to the report.
 */
#ifndef CUTOVER_DNS_PROPAGATION_H
#define CUTOVER_DNS_PROPAGATION_H

#include <stddef.h>
#include <stdint.h>

#include "common/hostport.h"
#include "common/status.h"
#include "dns/query.h"

/** One watched RRset. */
typedef struct dns_prop_rrset {
	char name[DNS_NAME_MAX]; /* absolute, lower case */
	uint16_t type;
} dns_prop_rrset;

typedef struct dns_prop_config {
	const char *zone;                /* absolute, "lab.test." */
	uint16_t port;                   /* default DNS port (53) */
	const cut_hostport *nameservers; /* override of the NS set, or NULL */
	size_t n_nameservers;
	const cut_hostport *resolvers; /* caching resolvers to watch */
	size_t n_resolvers;
	/* Where to ask for the NS set and the servers' addresses: an
	 * authoritative server (the [dns] server), or NULL to ask the first
	 * watched resolver, or the system's resolvers when there is none. */
	const cut_hostport *discovery;
	const dns_prop_rrset *watch;
	size_t n_watch;
	double timeout; /* per round of queries, seconds (default 3) */
} dns_prop_config;

typedef enum dns_prop_state {
	DNS_PROP_DATA = 0, /* the RRset exists: rdata and ttl valid */
	DNS_PROP_NODATA,   /* the name exists, not this type (RFC 2308 2.2) */
	DNS_PROP_NXDOMAIN, /* the name does not exist (RFC 2308 2.1) */
	DNS_PROP_FAILED,   /* no usable answer: see why */
} dns_prop_state;

/** One watched RRset as one server served it. */
typedef struct dns_prop_rr {
	dns_prop_state state;
	int rcode;
	int aa;
	char **rdata; /* sorted presentation rdata */
	size_t n_rdata;
	uint32_t ttl;     /* DATA: the TTL served (resolvers: what remains) */
	uint32_t neg_ttl; /* NODATA/NXDOMAIN: RFC 2308 5 negative TTL, if SOA */
	int has_neg_ttl;
	int has_cname;
	char cname[DNS_NAME_MAX];
	char why[160];
} dns_prop_rr;

/** One address of one authoritative server, or one resolver. */
typedef struct dns_prop_server {
	int is_resolver;
	char ns_name[DNS_NAME_MAX]; /* NS name; "" when given as an address */
	char addr[DNS_ADDR_MAX];
	uint16_t port;
	char label[DNS_NAME_MAX + DNS_ADDR_MAX + 16]; /* "ns2.lab.test. 127.0.0.2:53" */
	int reachable;   /* answered every question */
	int rcode;       /* RCODE of the SOA question (authoritative) */
	int aa;          /* AA bit of the SOA answer */
	int has_serial;  /* authoritative and served the zone's SOA */
	uint32_t serial;
	uint32_t soa_ttl, soa_minimum;
	dns_prop_rr *rr; /* n_watch entries, in the order of config->watch */
	char why[192];   /* unreachable: what happened */
} dns_prop_server;

typedef struct dns_prop_report {
	dns_prop_rrset *watch;
	size_t n_watch;
	dns_prop_server *servers; /* authoritative addresses first */
	size_t n_servers;
	size_t n_auth; /* servers[0 .. n_auth-1] are authoritative */
	char mname[DNS_NAME_MAX]; /* the SOA MNAME (primary), "" if unknown */
	int has_primary_serial;
	uint32_t primary_serial; /* served by the primary (or the discovery server) */
	/* Problems met while discovering the servers, one sentence each
	 * ("ns3.example.: no A or AAAA address"). */
	char **notes;
	size_t n_notes;
} dns_prop_report;

/**
 * Observes the zone as described above.  A server that fails is reported
 * in the report, not as an error.
 * @return 0 and *report_r, or -1 with *st when the NS set cannot be
 * discovered at all (the discovery server unreachable, no NS records).
 */
int dns_prop_observe(const dns_prop_config *cfg, dns_prop_report **report_r,
		     cut_status *st);

/** Releases a report; NULL accepted; *rp set to NULL. */
void dns_prop_report_free(dns_prop_report **rp);

/**
 * Fills an observation of one RRset from a parsed answer.  Pure, shared by
 * dns_prop_observe() and the fuzz target.  @return 0 or -1 (no memory).
 */
int dns_prop_rr_from_answer(const dns_answer *a, int want_aa, dns_prop_rr *rr);

/** Releases what *rr holds and zeroes it. */
void dns_prop_rr_clear(dns_prop_rr *rr);

/** "data", "nodata", "nxdomain", "failed". */
const char *dns_prop_state_name(dns_prop_state s);

#endif
