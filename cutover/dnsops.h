/*
 * dnsops.h: the DNS steps of a cutover, shared by `cutover ttl`,
 * `cutover dns`, `cutover check` and the orchestration (`cutover run`).
 *
 * Each change follows the same path (decide, then act):
 *   1. read the SOA and the RRsets concerned from the primary (RD=0, TCP);
 *   2. decide the target RRsets; if they are already served: "already";
 *   3. --dry-run: print the UPDATE (dns_update_format) and stop;
 *   4. journal the intent with the RRsets as read;
 *   5. send one UPDATE: per RRset, the RRset as read as prerequisite
 *      (RFC 2136 2.4.2, or 2.4.3 when absent), "delete RRset" (2.5.2) and
 *      the target records (2.5.1) -- a concurrent edit makes it fail;
 *   6. on NOERROR read the RRsets and SOA back from the primary, and only
 *      when they are the target journal "done" with the new serial.
 *
 * Where updates go: [dns] server; without it, the MNAME of the SOA
 * served by the first of [dns] nameservers (see docs/dns.md).
 *
 * Journal (cutover/journal.h), steps and phases intent/done/failed:
 *   "ttl_lower", "ttl_restore", "dns_mx", "dns_imap".
 * Facts (JSON), written only after the change was read back:
 *   "ttl_original": the RRsets before the first `ttl lower`, kept when a
 *       later `ttl lower` finds the TTL already low:
 *       {"time": 1767225600.5, "time_rfc3339": "2026-01-01T00:00:00Z",
 *        "zone": "lab.test.", "serial": 41, "max_ttl": 86400,
 *        "rrsets": [{"owner": "lab.test.", "type": "MX", "ttl": 86400,
 *                    "rdata": ["10 mx1.old.lab.test."]}, ...]}
 *       (written before the UPDATE is sent, as part of the intent)
 *   "ttl_lowered": after `ttl lower` read back:
 *       {"time": ..., "time_rfc3339": ..., "zone": ..., "serial": 42,
 *        "low_ttl": 300, "max_original_ttl": 86400, "rrsets": [...]}
 *       the time is when the primary first served the low TTL; a cache
 *       may hold the old TTL until time + max_original_ttl.  Deleted by
 *       `ttl restore`.
 *   "ttl_restored", "dns_mx", "dns_imap": {"time", "time_rfc3339",
 *       "zone", "serial", "rrsets", and for dns_mx/dns_imap "which"}.
 * An RRset in JSON: {"owner", "type", "ttl", "rdata": [presentation]};
 * "rdata": [] means absent.
 *
 * Ownership: out buffers and JSON objects belong to the caller; nothing
 * returned needs freeing except where said.
 */
#ifndef CUTOVER_CUTOVER_DNSOPS_H
#define CUTOVER_CUTOVER_DNSOPS_H

#include <jansson.h>

#include "common/buf.h"
#include "common/status.h"
#include "cutover/cli.h"
#include "cutover/journal.h"
#include "cutover/plan.h"
#include "dns/query.h"
#include "dns/rrset.h"
#include "dns/update.h"

typedef enum dnsops_result {
	DNSOPS_CHANGED = 0, /* the UPDATE was applied and read back */
	DNSOPS_ALREADY,     /* the target was already served: nothing sent */
	DNSOPS_DRY_RUN,     /* printed, nothing sent */
	DNSOPS_REFUSED,     /* refused for safety (data neither old nor new) */
	DNSOPS_FAILED,
} dnsops_result;

typedef struct dnsops_opts {
	int dry_run;
	cut_buf *out; /* human-readable report lines; NULL = none */
	json_t *json; /* an object to fill with details; NULL = none */
} dnsops_opts;

/**
 * `ttl lower`: the watched RRsets (MX at [mx] name; lucky scenario also
 * [imap] name A and AAAA) get TTL [dns] low_ttl (never raised), data
 * unchanged.  j may be NULL only with dry_run.
 * @return 0 with *res_r CHANGED/ALREADY/DRY_RUN, or -1 with *res_r and *st.
 */
int dnsops_ttl_lower(const plan *p, journal *j, const dnsops_opts *o,
		     dnsops_result *res_r, cut_status *st);

/** `ttl restore`: TTLs back to the "ttl_original" fact, data as it is now. */
int dnsops_ttl_restore(const plan *p, journal *j, const dnsops_opts *o,
		       dnsops_result *res_r, cut_status *st);

/**
 * `dns mx`: the MX RRset becomes [mx] old or new (which = "old"|"new"),
 * keeping its current TTL.  Refused (DNSOPS_REFUSED) when the served MX
 * is neither old nor new.
 */
int dnsops_set_mx(const plan *p, journal *j, const char *which,
		  const dnsops_opts *o, dnsops_result *res_r, cut_status *st);

/**
 * `dns imap`: the [imap] name's A/AAAA become [imap] old, new or parking,
 * split by family; an empty family deletes that RRset.  Refused when
 * what is served is none of the three.
 */
int dnsops_set_imap(const plan *p, journal *j, const char *which,
		    const dnsops_opts *o, dnsops_result *res_r,
		    cut_status *st);

/** `dns show`: the SOA and watched RRsets as the primary serves them. */
int dnsops_show(const plan *p, const dnsops_opts *o, cut_status *st);

/**
 * For `cutover check`: the primary answers authoritatively for the zone;
 * (rfc2136 mode) the TSIG key is accepted: an UPDATE whose only content
 * is the prerequisite "zone apex SOA exists" (RFC 2136 2.4.1), which
 * changes nothing; the served MX is [mx] old or new; lucky scenario: the
 * IMAP addresses are old, new or parking.  One line per check goes to
 * report ("ok: ..." / "FAILED: ...").
 * @return 0 when all passed, -1 with the first failure in *st.
 */
int dnsops_check(const plan *p, cut_buf *report, cut_status *st);

/** Exit code for an outcome (cli.h): 0, 4 refused, 1 otherwise. */
int dnsops_exit_code(int ret, dnsops_result res);

/** Which of the two usual causes of REFUSED to an UPDATE it is. */
typedef enum dnsops_refusal {
	DNSOPS_REFUSAL_UNKNOWN = 0, /* cannot tell (MNAME or addresses unknown) */
	DNSOPS_REFUSAL_NOT_PRIMARY, /* the server is not the SOA MNAME */
	DNSOPS_REFUSAL_KEY,         /* it is the primary: the key may not update */
} dnsops_refusal;

/**
 * Tells why server (as "host:port") refused an UPDATE of zone by key
 * key_name, from the addresses the update went to and those of the SOA
 * MNAME (inet_ntop text): one shared address means the primary refused
 * the key, none means the server is not the primary (a secondary).  Pure.
 * Writes the user's sentence into buf unless UNKNOWN.
 */
dnsops_refusal dnsops_refusal_explain(const char *server,
				      char const (*server_addrs)[DNS_ADDR_MAX],
				      size_t n_server, const char *mname,
				      char const (*mname_addrs)[DNS_ADDR_MAX],
				      size_t n_mname, const char *zone,
				      const char *key_name, char *buf,
				      size_t n);

/* ---- the pure decisions, shared by the operations above ---- */

/**
 * Builds the UPDATE of zone that turns cur[i] into target[i] for every i
 * where target[i] is not NULL and differs (data or TTL): per RRset the
 * prerequisite "RRset exists (value dependent)" listing cur[i] exactly
 * (RFC 2136 2.4.2; 2.4.3 "RRset does not exist" when cur[i] is empty),
 * "delete RRset" (2.5.2) and the records of target[i] (2.5.1).  Pure.
 * @param u_r        the builder (caller frees with dns_update_free()),
 *                   also when *changes_r is 0.
 * @param changes_r  how many RRsets change.
 * @return 0, or -1 with *st (bad zone name, bad RDATA, out of memory).
 */
int dnsops_update_build(const char *zone, dns_rrset *const *cur,
			dns_rrset *const *target, size_t n, dns_update **u_r,
			size_t *changes_r, cut_status *st);

/**
 * The `ttl lower` targets: target_r[i] is a copy of cur[i] with its TTL
 * lowered to low_ttl, never raised; NULL where cur[i] is absent (empty).
 * Caller frees the copies.  @return 0, or -1 (out of memory, nothing
 * allocated).
 */
int dnsops_ttl_lower_targets(dns_rrset *const *cur, size_t n,
			     uint32_t low_ttl, dns_rrset **target_r);

/**
 * Which candidate the served RRsets hold, data only (TTL ignored).
 * served has n_sets RRsets (e.g. A and AAAA); candidate c is
 * cands[c * n_sets .. c * n_sets + n_sets - 1]; a candidate whose first
 * RRset is NULL is skipped (an empty address list never matches).  Pure.
 * @return the first matching candidate's index, or -1 (refuse: someone
 * else changed the records).
 */
int dnsops_served_match(dns_rrset *const *served, size_t n_sets,
			dns_rrset *const *cands, size_t n_cands);

/* ---- command-line glue shared by cmd_ttl.c and cmd_dns.c ---- */

/** An operation run by dnsops_cli_run(); which = the extra argument. */
typedef int dnsops_cli_op(const plan *p, journal *j, const char *which,
			  const dnsops_opts *o, dnsops_result *res_r,
			  cut_status *st);

/**
 * Loads plan_path, opens and locks the journal (not for a dry run unless
 * need_journal), runs op, prints the report (text or --json) and returns
 * the exit code.  op NULL means `dns show`.
 */
int dnsops_cli_run(const cli_globals *g, const char *what,
		   const char *plan_path, const char *which, dnsops_cli_op *op,
		   int need_journal);

#endif
