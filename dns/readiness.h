/*
 * readiness.h: when may the next step of a cutover go ahead, as pure
 * arithmetic over what the servers answered.
 *
 * Nothing here reads the clock, the network or the journal: every time is
 * passed in (epoch seconds), so the rules are unit-tested with fixed times.
 * The caller (cutover/watch.c) observes the servers (dns/propagation.h),
 * reads and writes the journal, and feeds the numbers in.
 *
 * The rules:
 *  - A change (a lowered TTL, new MX data, new A/AAAA data) is visible at T
 *    when every authoritative address answers with AA, a serial >= the
 *    serial journaled after the update (RFC 1982 serial arithmetic) and the
 *    wanted TTL or data.  T is the first time that was observed; the caller
 *    journals it and passes it back on later calls.
 *  - A cache may hold the data served before the change until
 *    T + (TTL the old data was served with) + margin.  When the name did not
 *    exist before, a cache may hold the negative answer for the negative
 *    TTL: min(SOA MINIMUM, SOA TTL), RFC 2308 section 5.
 *  - A watched resolver still holding an old copy for r more seconds holds
 *    the verdict back until now + r as well.
 *  - An unreachable, refusing or non-authoritative address is never
 *    "up to date": the verdict stays not ready and names it.
 */
#ifndef CUTOVER_DNS_READINESS_H
#define CUTOVER_DNS_READINESS_H

#include <stddef.h>
#include <stdint.h>

/** How one authoritative address answered, as seen by the caller. */
typedef enum dns_ready_answer {
	DNS_READY_ANSWERED = 0, /* a reply with AA and NOERROR/NXDOMAIN */
	DNS_READY_UNREACHABLE,  /* no reply before the timeout */
	DNS_READY_REFUSED,      /* REFUSED, SERVFAIL, NOTAUTH, ... */
	DNS_READY_NOT_AUTH,     /* a reply without AA: lame delegation */
} dns_ready_answer;

/** Per-address outcome of the visibility check. */
typedef enum dns_ready_addr_verdict {
	DNS_READY_UP_TO_DATE = 0,
	DNS_READY_LAG_UNREACHABLE,
	DNS_READY_LAG_REFUSED,
	DNS_READY_LAG_NOT_AUTH,
	DNS_READY_LAG_NO_SERIAL,  /* answered but without a SOA serial */
	DNS_READY_LAG_OLD_SERIAL, /* serial older than the update's */
	DNS_READY_LAG_TTL_HIGH,   /* still serves a TTL above the low TTL */
	DNS_READY_LAG_OLD_DATA,   /* still serves other data than the target */
} dns_ready_addr_verdict;

/** What one authoritative address served (filled by the caller). */
typedef struct dns_ready_addr {
	dns_ready_answer answer;
	int has_serial;
	uint32_t serial;
	uint32_t max_ttl; /* largest TTL among the watched RRsets it served */
	int data_matches; /* it serves the target data (change goal) */
} dns_ready_addr;

typedef enum dns_ready_goal {
	DNS_READY_GOAL_LOWERED = 0, /* every watched RRset at TTL <= low_ttl */
	DNS_READY_GOAL_CHANGED,     /* every watched RRset with the new data */
} dns_ready_goal;

/** What counts as visible. */
typedef struct dns_ready_want {
	dns_ready_goal goal;
	uint32_t low_ttl;     /* LOWERED: the TTL asked for */
	int has_min_serial;   /* 0: any serial (nothing journaled) */
	uint32_t min_serial;  /* the serial journaled after the update */
} dns_ready_want;

/**
 * Judges one address against want.  Pure.
 * @return DNS_READY_UP_TO_DATE or the reason it lags.
 */
dns_ready_addr_verdict dns_ready_addr_check(const dns_ready_addr *a,
					    const dns_ready_want *want);

/** "up to date", "unreachable", "stale serial"...: static string. */
const char *dns_ready_addr_verdict_name(dns_ready_addr_verdict v);

/**
 * RFC 1982 section 3.2: true when serial s1 is equal to or after s2
 * (sequence space arithmetic, SERIAL_BITS = 32).  An undefined comparison
 * (exactly 2^31 apart) counts as "not after".
 */
int dns_ready_serial_ge(uint32_t s1, uint32_t s2);

/**
 * RFC 2308 section 5: the TTL of a negative answer is the minimum of the
 * SOA record's own TTL and its MINIMUM field.
 */
uint32_t dns_ready_negative_ttl(uint32_t soa_ttl, uint32_t soa_minimum);

/** The data a cache may hold from before the change. */
typedef struct dns_ready_old {
	int existed;        /* the old RRset existed (positive answers cached) */
	uint32_t ttl;       /* the TTL it was served with */
	int was_negative;   /* some watched name/type did not exist before */
	uint32_t neg_ttl;   /* its negative TTL (dns_ready_negative_ttl) */
} dns_ready_old;

/**
 * How long a cache may keep what it got before the change: the largest of
 * the old positive TTL and, for names that did not exist, the negative TTL.
 */
uint32_t dns_ready_old_lifetime(const dns_ready_old *old);

/** Inputs of the verdict. */
typedef struct dns_ready_params {
	const dns_ready_addr *addrs; /* every authoritative address */
	size_t n_addrs;
	dns_ready_want want;
	int has_since;      /* the change was already seen visible (journaled) */
	double since;       /* ...at this time */
	dns_ready_old old;  /* what caches may hold */
	double margin;      /* seconds added to every deadline */
	const double *hold_until; /* watched resolvers: old copy expires at */
	size_t n_hold;
} dns_ready_params;

typedef enum dns_ready_reason {
	DNS_READY_OK = 0,
	DNS_READY_NO_SERVERS,  /* nothing to check: never ready */
	DNS_READY_LAGGING,     /* some address is not up to date */
	DNS_READY_WAITING,     /* visible everywhere; caches may hold old data */
} dns_ready_reason;

typedef struct dns_ready_verdict {
	int ready;
	dns_ready_reason reason;
	int visible;      /* visible on every address now */
	double since;     /* when it became visible (valid when has_since) */
	int has_since;
	int first_seen;   /* visible now for the first time: journal `since` */
	double ready_at;  /* valid when has_ready_at */
	int has_ready_at; /* known once visible (or journaled visible) */
	size_t n_lagging; /* addresses that are not up to date */
} dns_ready_verdict;

/**
 * The verdict at time now.  Pure: the same inputs give the same answer.
 * When visible everywhere for the first time, since = now and first_seen is
 * set so that the caller journals it.  When an address lags but the change
 * had been seen visible before, ready_at still says the earliest moment
 * (the lag must be fixed as well).
 * @return 0 (always; -1 only for NULL arguments).
 */
int dns_ready_evaluate(const dns_ready_params *p, double now,
		       dns_ready_verdict *v_r);

/** "ready", "no servers", "lagging", "waiting for caches". */
const char *dns_ready_reason_name(dns_ready_reason r);

#endif
