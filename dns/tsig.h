/*
 * tsig.h: TSIG signing and verification of DNS messages (RFC 8945), done
 * here with OpenSSL's HMAC instead of ldns, for three reasons: the signing
 * time must come from cut_now() (tests provoke BADTIME with a clock
 * offset), the TSIG error and the server's time must be readable from
 * replies that fail verification (BADKEY, BADSIG, BADTIME), and ldns 1.8.3
 * mishandles hmac-sha384.
 *
 * Pure functions: wire bytes in, wire bytes or a result out; no sockets,
 * no clock (the caller passes the time).
 *
 * Ownership: dns_tsig_sign() returns a malloc'ed message (caller frees).
 */
#ifndef CUTOVER_DNS_TSIG_H
#define CUTOVER_DNS_TSIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "dns/tsig_key.h"

#define DNS_TSIG_MAC_MAX 64 /* SHA-512 */
#define DNS_TSIG_FUDGE 300  /* RFC 8945 10: 300 seconds recommended */

/* RFC 8945 3: TSIG error codes (extended RCODEs) */
enum {
	DNS_TSIG_NOERROR = 0,
	DNS_TSIG_BADSIG = 16,
	DNS_TSIG_BADKEY = 17,
	DNS_TSIG_BADTIME = 18,
	DNS_TSIG_BADTRUNC = 22,
};

/**
 * Signs msg (a complete DNS message without TSIG): appends the TSIG RR
 * (RFC 8945 4.2, 4.3.3) and increments ARCOUNT.
 * @param time_signed  seconds since the epoch (48 bits used).
 * @param signed_r     malloc'ed signed message (caller frees).
 * @param mac_r        receives the request MAC (DNS_TSIG_MAC_MAX bytes),
 *                     needed to verify the reply.
 * @return 0, or -1 (malformed message, HMAC failure) with *st.
 */
int dns_tsig_sign(const tsig_key *key, const uint8_t *msg, size_t len,
		  uint64_t time_signed, uint16_t fudge, uint8_t **signed_r,
		  size_t *signed_len_r, uint8_t *mac_r, size_t *mac_len_r,
		  cut_status *st);

/** What the TSIG RR of a reply says. */
typedef struct dns_tsig_result {
	int present;          /* the reply carries a TSIG RR */
	int key_matches;      /* its key name and algorithm are ours */
	int verified;         /* its MAC is valid for our key and request */
	uint16_t error;       /* TSIG error field (RFC 8945 4.2) */
	uint64_t time_signed; /* as written by the server */
	uint16_t fudge;       /* as written by the server */
	uint64_t server_time; /* BADTIME: Other Data (RFC 8945 5.2.3), else time_signed */
} dns_tsig_result;

/**
 * Examines the TSIG RR of a reply to a request signed with key whose MAC
 * was req_mac (RFC 8945 4.3.1, 5.3).  Never fails on a bad signature: the
 * result says so.
 * @return 0, or -1 when reply is not a well-formed DNS message.
 */
int dns_tsig_verify(const tsig_key *key, const uint8_t *reply, size_t len,
		    const uint8_t *req_mac, size_t req_mac_len,
		    dns_tsig_result *res_r, cut_status *st);

/**
 * RFC 8945 5.2.3, 5.4.3: the time check of a signed reply.  A reply whose
 * Time Signed is further from now than its Fudge (and never more than
 * DNS_TSIG_FUDGE) is not to be trusted even when its MAC verifies: it may
 * be an old reply played back.  Pure: the caller passes its clock.
 * @param res       a result of dns_tsig_verify() with present set.
 * @param now       our clock, seconds since the epoch.
 * @param offset_r  receives time_signed - now (may be NULL).
 * @param allowed_r receives the fudge applied, seconds (may be NULL).
 * @return 1 when within the fudge, 0 when not.
 */
int dns_tsig_time_ok(const dns_tsig_result *res, uint64_t now,
		     int64_t *offset_r, unsigned *allowed_r);

/**
 * Walks a DNS message and returns the offset of its last RR when that RR
 * is in the additional section (RFC 8945 4.2: TSIG must be last), and its
 * type in *type_r.  @return 0, or -1 when malformed or there is none.
 */
int dns_tsig_find_last_rr(const uint8_t *msg, size_t len, size_t *off_r,
			  uint16_t *type_r);

#endif
