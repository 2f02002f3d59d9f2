/*
 * watch.h: readiness of a plan's zone, combining the plan, the journal,
 * what the servers serve (dns/propagation.h) and the arithmetic
 * (dns/readiness.h).  This is the API `ttl status`, `ttl wait` and the
 * orchestration use.
 *
 * Two questions:
 *  - lowering: "the low TTL is served by every authoritative address since
 *    T, so no cache can hold the RRsets with their original TTL after
 *    T + original TTL + margin" (ready for the MX change);
 *  - change: "the new data (MX new, IMAP A/AAAA new/parking/old) is served
 *    by every authoritative address since T, and caches may hold the old
 *    data until T + old TTL (or the negative TTL) + margin".
 *
 * Journal facts (JSON):
 *  - read: "ttl_lowered" and "ttl_original", written by `ttl lower`
 *    (cutover/dnsops.h): the serial after the update ("serial") and the
 *    largest original TTL ("max_original_ttl", else "ttl_original"
 *    "max_ttl" or its "rrsets"' TTLs).
 *  - written: "ttl_low_visible" = {"time", "serial", "ttl", "original_ttl",
 *    "counted_from"}: the first time the low TTL was seen on every address;
 *    later calls reuse it.  "ttl_high_seen" = {"ttl"}: the largest TTL ever
 *    seen served for the watched RRsets (the original TTL when the TTL was
 *    lowered by hand).
 *
 * Ownership: watch_* results are released with watch_result_free().
 */
#ifndef CUTOVER_CUTOVER_WATCH_H
#define CUTOVER_CUTOVER_WATCH_H

#include "common/status.h"
#include "cutover/journal.h"
#include "cutover/plan.h"
#include "dns/propagation.h"
#include "dns/readiness.h"

/** The TTL assumed for the original RRsets when nothing tells it. */
#define WATCH_ASSUMED_TTL 86400

typedef enum watch_target {
	WATCH_LOWERED = 0, /* the TTL lowering (ttl status / ttl wait) */
	WATCH_MX_NEW,      /* [mx] new served everywhere */
	WATCH_MX_OLD,      /* [mx] old (rollback) */
	WATCH_IMAP_NEW,    /* [imap] new as the IMAP name's A/AAAA */
	WATCH_IMAP_OLD,
	WATCH_IMAP_PARKING,
} watch_target;

typedef struct watch_result {
	watch_target target;
	double now;
	dns_prop_report *report;
	dns_ready_addr_verdict *addr_verdict; /* per authoritative server */
	dns_ready_verdict verdict;
	dns_ready_want want;
	/* where the numbers came from */
	int lowering_journaled;   /* a "ttl_lowered" fact exists */
	uint32_t old_ttl;         /* what caches may hold, seconds */
	const char *old_ttl_from; /* "journal (ttl lower)", "observed", ... */
	int was_negative;         /* negative caching counted */
	uint32_t neg_ttl;
	const char *since_from;   /* "journal", "first seen now" */
	double *hold_until;       /* per server (resolvers; 0 = no hold) */
} watch_result;

/**
 * Observes the zone once and judges target at time now (epoch seconds).
 * Journals the first sighting (and, for WATCH_LOWERED, the TTL seen).
 * @return 0 and *res_r, or -1 with *st (servers not discoverable, journal
 * failure).
 */
int watch_check(const plan *p, journal *j, watch_target target, double now,
		watch_result **res_r, cut_status *st);

/** Releases a result; NULL accepted; *rp set to NULL. */
void watch_result_free(watch_result **rp);

/** "lowered TTL", "new MX", ... */
const char *watch_target_name(watch_target t);

/**
 * For the orchestration (runplan_ops.wait_visible): polls until target is
 * visible on every authoritative address or timeout seconds passed (0 =
 * no limit), with backoff 1 s .. 30 s.  Returns when it became visible and
 * the lifetime of the old data in caches (old TTL or negative TTL).
 * @return 0, or -1 with *st (CUT_TEMP "not visible after ..." on timeout,
 * naming the lagging servers; CUT_CANCELLED when interrupted).
 */
int watch_wait_visible(const plan *p, journal *j, watch_target target,
		       double timeout, double *visible_at_r, double *old_ttl_r,
		       cut_status *st);

/** One line per lagging authoritative address into buf ("; "-separated). */
void watch_lagging_text(const watch_result *r, char *buf, size_t n);

#endif
