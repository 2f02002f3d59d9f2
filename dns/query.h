/*
 * query.h: direct DNS queries to named server addresses, all in parallel
 * (c-ares), and the pure parser of their answers (ldns).
 *
 * Every query goes to exactly one address: propagation checks must hear
 * each authoritative address on its own, so each address gets its own
 * c-ares channel (a channel's server list means failover, not "ask all").
 * REFUSED, SERVFAIL and friends come back as packets
 * (ARES_FLAG_NOCHECKRESP) so that a lame server is reported as such.
 * RD is set per query: 0 for authoritative servers, 1 for resolvers
 * (a recursive resolver such as unbound refuses queries without RD).
 * The c-ares query cache, when the library has one, is disabled: a cached
 * answer would hide what the server serves now.
 *
 * Ownership: dns_query_run() fills each dns_query's wire buffer (malloc'ed)
 * which dns_query_clear() releases.  dns_answer_parse() fills a dns_answer
 * whose strings dns_answer_clear() releases.
 */
#ifndef CUTOVER_DNS_QUERY_H
#define CUTOVER_DNS_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define DNS_NAME_MAX 256
#define DNS_ADDR_MAX 64

/* RR types and RCODEs used here (RFC 1035 3.2.2, RFC 3596, RFC 1035 4.1.1). */
enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_MX = 15,
	DNS_TYPE_AAAA = 28,
};
enum {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_NOTAUTH = 9,
};

typedef enum dns_query_outcome {
	DNS_QUERY_PENDING = 0,
	DNS_QUERY_REPLY,       /* wire holds the reply, whatever its RCODE */
	DNS_QUERY_UNREACHABLE, /* timeout, connection refused, network down */
	DNS_QUERY_ERROR,       /* a local failure (bad address, no memory) */
} dns_query_outcome;

/** One question to one address.  Fill the inputs; run fills the rest. */
typedef struct dns_query {
	/* in */
	char addr[DNS_ADDR_MAX];   /* IPv4 or IPv6 literal; "" = the system's
				    * resolvers (resolv.conf), port ignored */
	uint16_t port;
	char qname[DNS_NAME_MAX];  /* absolute or not; "." appended if missing */
	uint16_t qtype;
	int rd;                    /* recursion desired */
	/* out */
	dns_query_outcome outcome;
	unsigned char *wire;       /* the reply (DNS_QUERY_REPLY), malloc'ed */
	size_t wire_len;
	double rtt;                /* seconds from send to outcome */
	char why[160];             /* UNREACHABLE/ERROR: what happened */
} dns_query;

/**
 * Sends every query and waits for every outcome, in parallel, at most
 * about `timeout` seconds overall (each query is tried twice within it).
 * A query that fails is marked in its outcome; that is not an error of the
 * call.  @return 0, or -1 when nothing could be sent (c-ares failed to
 * initialise), with *st.
 */
int dns_query_run(dns_query *q, size_t n, double timeout, cut_status *st);

/** Releases the reply buffers of n queries (outputs reset). */
void dns_query_clear(dns_query *q, size_t n);

/** An answer, reduced to what propagation checks need. */
typedef struct dns_answer {
	int rcode;
	int aa, tc, ra;
	/* The RRset at (qname, qtype) from the answer section. */
	char **rdata;    /* presentation rdata, sorted; names in lower case */
	size_t n_rdata;
	uint32_t ttl;     /* the largest TTL among its RRs */
	uint32_t ttl_min; /* the smallest (differs only if the RRset is broken) */
	/* qname is an alias (CNAME in the answer section). */
	int has_cname;
	char cname[DNS_NAME_MAX];
	/* The zone's SOA: from the answer (qtype SOA) or the authority
	 * section (negative answers, RFC 2308 3). */
	int has_soa;
	uint32_t soa_serial, soa_ttl, soa_minimum;
	char soa_owner[DNS_NAME_MAX];
	char soa_mname[DNS_NAME_MAX];
} dns_answer;

#define DNS_ANSWER_MAX_RR 64

/**
 * Parses a reply to (qname, qtype).  Pure: bytes in, struct out.  A reply
 * that is malformed, answers another question or holds more than
 * DNS_ANSWER_MAX_RR matching records is refused.
 * @return 0 and *ans_r (release with dns_answer_clear()), or -1 with *st.
 */
int dns_answer_parse(const unsigned char *wire, size_t len, const char *qname,
		     uint16_t qtype, dns_answer *ans_r, cut_status *st);

/** Releases what *a holds and zeroes it. */
void dns_answer_clear(dns_answer *a);

/** "NOERROR", "REFUSED"...; "RCODE17" for others (buffer of 16 bytes). */
const char *dns_rcode_name(int rcode, char *buf, size_t n);

/** "MX", "A", "AAAA", "SOA", "NS", "CNAME", else "TYPE123" into buf. */
const char *dns_type_name(uint16_t type, char *buf, size_t n);

/** Two rdata sets (sorted, as in dns_answer) hold the same records. */
int dns_rdata_equal(char *const *a, size_t na, char *const *b, size_t nb);

#endif
