/*
 * update.h: RFC 2136 dynamic updates, signed with TSIG (RFC 8945), sent
 * over TCP to the zone's primary, and direct reads (RD=0) of RRsets and
 * the SOA from that primary.
 *
 * Building is pure (dns_update_new ... dns_update_to_wire); sending and
 * reading talk to one server over TCP with poll() timeouts.  ldns builds
 * and parses messages; signing is ours (dns/tsig.h).  No ldns_resolver is
 * used: a resolver that timed out once marks its server dead for good,
 * and it drops replies whose TSIG does not verify (BADKEY, BADSIG would
 * never be seen).
 *
 * Ownership: dns_update_new() returns a builder released with
 * dns_update_free(); the RRsets passed to it are copied.  Replies and
 * RRsets returned are owned by the caller.
 */
#ifndef CUTOVER_DNS_UPDATE_H
#define CUTOVER_DNS_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/hostport.h"
#include "common/status.h"
#include "dns/query.h"
#include "dns/rrset.h"
#include "dns/tsig_key.h"

/* RFC 2136 2.2: the UPDATE RCODEs (the RFC 1035 ones are in dns/query.h) */
enum {
	DNS_RCODE_YXDOMAIN = 6,
	DNS_RCODE_YXRRSET = 7,
	DNS_RCODE_NXRRSET = 8,
	DNS_RCODE_NOTZONE = 10,
};

typedef struct dns_update dns_update;

/** A builder for an UPDATE of zone (absolute). NULL on bad name / ENOMEM. */
dns_update *dns_update_new(const char *zone);
void dns_update_free(dns_update **up);

/**
 * Prerequisite on the RRset as read: RFC 2136 2.4.2 "RRset exists (value
 * dependent)" listing every record, or 2.4.3 "RRset does not exist" when
 * expected->n == 0.  @return 0, or -1 (bad RDATA, out of memory).
 */
int dns_update_require_rrset(dns_update *u, const dns_rrset *expected);

/** Prerequisite RFC 2136 2.4.1 "RRset exists (value independent)". */
int dns_update_require_exists(dns_update *u, const char *owner,
			      uint16_t type);

/**
 * Replaces the RRset: RFC 2136 2.5.2 "delete an RRset", then 2.5.1 "add
 * to an RRset" for each record of target with target->ttl.  target->n == 0
 * only deletes.
 */
int dns_update_replace_rrset(dns_update *u, const dns_rrset *target);

/** True when nothing would be sent but prerequisites (a key check). */
int dns_update_is_empty(const dns_update *u);

/**
 * The unsigned message in wire format, with the given id, RD clear.
 * *wire_r is malloc'ed (caller frees).  @return 0 or -1.
 */
int dns_update_to_wire(const dns_update *u, uint16_t id, uint8_t **wire_r,
		       size_t *len_r, cut_status *st);

/**
 * Appends the UPDATE in presentation form for --dry-run: the zone, then
 * the prerequisites, deletions and additions, one record per line.
 */
int dns_update_format(const dns_update *u, cut_buf *out);

/** Where updates and reads go. */
typedef struct dns_update_server {
	cut_hostport addr; /* host (name or literal) and port */
	double timeout;    /* per attempt, seconds (default 5 when 0) */
	unsigned attempts; /* bounded retries on timeouts (default 3 when 0) */
} dns_update_server;

/** What the server answered to an UPDATE. */
typedef struct dns_update_reply {
	int rcode;             /* DNS_RCODE_* (extended bits not used) */
	int tsig_present;      /* the reply carries a TSIG RR */
	int signed_ok;         /* TSIG present, our key, MAC verified */
	uint16_t tsig_error;   /* RFC 8945 TSIG error (BADKEY...), 0 if none */
	double clock_offset;   /* BADTIME: server time - our signing time */
	int time_skewed;       /* signed_ok, but the reply's Time Signed is
				* outside the fudge of our clock (RFC 8945
				* 5.4.3): not trusted */
	double reply_time_offset; /* time_skewed: reply's Time Signed - our
				   * clock when it arrived, seconds */
	unsigned time_allowed; /* time_skewed: the fudge applied, seconds */
	unsigned attempts;     /* attempts made */
} dns_update_reply;

/**
 * Signs (time from cut_now()) and sends u to server, waits for the reply,
 * verifies its TSIG.  Timeouts and lost connections are retried up to
 * server->attempts times, each with a new id and signature (safe: the
 * prerequisites make a replay fail rather than apply twice).
 * A reply that is not a well-formed DNS message answering an UPDATE
 * (QR set, opcode UPDATE), or that never comes within the attempts, is a
 * failure naming server:port; replies with another message id are
 * ignored (RFC 1035 4.1.1, RFC 7766 7).
 * A reply is trusted only when its MAC verifies (chained to the request
 * MAC, RFC 8945 4.3.1) and its Time Signed is within the fudge of our
 * clock when it arrives (RFC 8945 5.4.3).
 * @return 0 when the server said NOERROR with a trusted signature;
 *         -1 otherwise, with *reply_r filled as far as known (rcode -1
 *         when no usable reply came) and *st a sentence from
 *         dns_update_explain().
 */
int dns_update_send(const dns_update_server *server, const dns_update *u,
		    const tsig_key *key, dns_update_reply *reply_r,
		    cut_status *st);

/**
 * True when the reply can be believed: signed with our key, MAC verified,
 * Time Signed within the fudge (RFC 8945 5.4).  Pure.
 */
int dns_update_reply_trusted(const dns_update_reply *r);

/**
 * The sentence for an UPDATE outcome, naming server, zone and key, and
 * the kind of failure (CUT_OK for NOERROR).  Pure.
 * @param server  "host:port" as the user wrote it.
 */
cut_kind dns_update_explain(const dns_update_reply *r, const char *server,
			    const char *zone, const char *key_name,
			    char *buf, size_t n);

/** "NOERROR", "NXRRSET", ... or "RCODE%d" into a static buffer. */
const char *dns_update_rcode_name(int rcode);

/**
 * Reads an RRset from server with a direct query (RD=0, TCP): TTL exactly
 * as served.  NXDOMAIN/NODATA give an empty RRset.  A CNAME at the name
 * is an error (an MX or address name must not be an alias: RFC 2181
 * 10.1).  *rrset_r is caller-owned.  @return 0 or -1.
 */
int dns_update_read_rrset(const dns_update_server *server, const char *owner,
			  uint16_t type, dns_rrset **rrset_r, cut_status *st);

/**
 * Reads the zone's SOA from server (RD=0, TCP) and checks the answer is
 * authoritative (AA).  mname_r may be NULL; otherwise malloc'ed.
 */
int dns_update_read_soa(const dns_update_server *server, const char *zone,
			uint32_t *serial_r, char **mname_r, cut_status *st);

/**
 * Reads the addresses (A and AAAA) of name from server, as text, appended
 * to *addrs (an RRset of type A holding both families is not used: two
 * lists).  Used to tell a secondary from the primary.
 */
int dns_update_read_addrs(const dns_update_server *server, const char *name,
			  dns_rrset **a_r, dns_rrset **aaaa_r, cut_status *st);

#endif
