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
 *  - written and read for the change targets: "change_visible_mx_new",
 *    "change_visible_mx_old", "change_visible_imap_new",
 *    "change_visible_imap_old", "change_visible_imap_parking" = {"target",
 *    "time", "time_rfc3339", "serial", "rrsets" [{"owner", "type",
 *    "rdata"}], "old_ttl", "old_ttl_from", "negative_ttl"}: the first time
 *    that target's
 *    data was seen on every authoritative address, with the primary's
 *    serial then.  Later checks report that time as long as the primary
 *    still serves that serial and the plan still asks for that data: a new
 *    serial means the records may have changed and changed back, so the
 *    count starts again (never earlier than the truth).  These are not the
 *    orchestration's "mx_visible" / "imap_park_visible" (cutover/runplan.c),
 *    which `cutover run` keeps for its own resume.
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
	uint32_t serial;          /* change targets: the primary's serial the
				   * sighting is tied to (has_serial) */
	int has_serial;
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
 * Watched resolvers ([dns] resolvers) count too: one that still serves the
 * previous data with a TTL ending later than visible + lifetime + margin
 * serves it past any TTL the authoritative servers gave (stale answers,
 * RFC 8767, or a minimum cache TTL); the wait goes on, warning and naming
 * it, until it serves the new data.  The returned lifetime also covers the
 * copies the watched resolvers handed out during the wait.
 * @return 0, or -1 with *st (CUT_TEMP "not visible after ..." on timeout,
 * naming the lagging servers or the stale resolvers; CUT_CANCELLED when
 * interrupted).
 */
int watch_wait_visible(const plan *p, journal *j, watch_target target,
		       double timeout, double *visible_at_r, double *old_ttl_r,
		       cut_status *st);

/** The journal fact of a change target ("change_visible_mx_new"...), or
 * NULL for WATCH_LOWERED.  Static string. */
const char *watch_change_fact(watch_target t);

/** A journaled first sighting of a change target (see above). */
typedef struct watch_sighting {
	double time;          /* first seen on every authoritative address */
	uint32_t serial;      /* the primary's serial then */
	uint32_t old_ttl;     /* the old data's TTL counted then */
	const char *old_ttl_from; /* where it came from; static string */
	uint32_t neg_ttl;     /* RFC 2308 5 negative TTL counted, 0 if none */
} watch_sighting;

/**
 * Reads the journaled first sighting of target.  @return 1 and *s_r, 0
 * when there is none (or target is WATCH_LOWERED), -1 with *st.
 */
int watch_change_sighting(journal *j, watch_target target,
			  watch_sighting *s_r, cut_status *st);

/** One line per lagging authoritative address into buf ("; "-separated). */
void watch_lagging_text(const watch_result *r, char *buf, size_t n);

#endif
