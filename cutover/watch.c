/*
 * watch.c: plan + journal + propagation + readiness arithmetic (watch.h).
 */
#include "cutover/watch.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "cutover/countdown.h"
#include "dns/rrset.h"

#define WATCH_FACT_LOWERED "ttl_lowered"
#define WATCH_FACT_ORIGINAL "ttl_original"
#define WATCH_FACT_LOW_VISIBLE "ttl_low_visible"
#define WATCH_FACT_HIGH_SEEN "ttl_high_seen"

/* Where the old data's TTL of a change came from (watch_result.old_ttl_from). */
static const char FROM_LOW_TTL[] = "[dns] low_ttl";
static const char FROM_NEW_DATA[] =
	"TTL served with the new data (kept from the old data)";
static const char FROM_LAGGING[] = "served by a lagging server";
static const char FROM_JOURNAL[] = "journaled by an earlier check";

const char *watch_change_fact(watch_target t)
{
	switch (t) {
	case WATCH_LOWERED:
		return NULL;
	case WATCH_MX_NEW:
		return "change_visible_mx_new";
	case WATCH_MX_OLD:
		return "change_visible_mx_old";
	case WATCH_IMAP_NEW:
		return "change_visible_imap_new";
	case WATCH_IMAP_OLD:
		return "change_visible_imap_old";
	case WATCH_IMAP_PARKING:
		return "change_visible_imap_parking";
	}
	return NULL;
}

/* A journaled source of an old TTL as one of the static strings above. */
static const char *from_static(const char *s)
{
	static const char *const known[] = {FROM_LOW_TTL, FROM_NEW_DATA,
					    FROM_LAGGING};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	return FROM_JOURNAL;
}

const char *watch_target_name(watch_target t)
{
	switch (t) {
	case WATCH_LOWERED:
		return "lowered TTL";
	case WATCH_MX_NEW:
		return "new MX";
	case WATCH_MX_OLD:
		return "old MX";
	case WATCH_IMAP_NEW:
		return "new IMAP address";
	case WATCH_IMAP_OLD:
		return "old IMAP address";
	case WATCH_IMAP_PARKING:
		return "parking IMAP address";
	}
	return "?";
}

void watch_result_free(watch_result **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	dns_prop_report_free(&(*rp)->report);
	free((*rp)->addr_verdict);
	free((*rp)->hold_until);
	free(*rp);
	*rp = NULL;
}

/* The watched RRsets: MX; lucky scenario (or IMAP targets): A and AAAA. */
static size_t watch_rrsets(const plan *p, watch_target t, dns_prop_rrset *w)
{
	size_t n = 0;
	int mx = t == WATCH_LOWERED || t == WATCH_MX_NEW || t == WATCH_MX_OLD;
	int imap = (t == WATCH_LOWERED && p->scenario == PLAN_SCENARIO_LUCKY) ||
		   t == WATCH_IMAP_NEW || t == WATCH_IMAP_OLD ||
		   t == WATCH_IMAP_PARKING;

	if (mx && p->mx_name != NULL) {
		cut_strlcpy(w[n].name, p->mx_name, sizeof(w[n].name));
		w[n++].type = DNS_TYPE_MX;
	}
	if (imap && p->imap_name != NULL) {
		cut_strlcpy(w[n].name, p->imap_name, sizeof(w[n].name));
		w[n++].type = DNS_TYPE_A;
		cut_strlcpy(w[n].name, p->imap_name, sizeof(w[n].name));
		w[n++].type = DNS_TYPE_AAAA;
	}
	return n;
}

/* Sorted target rdata for one watched RRset of a change target. */
typedef struct watch_want_rr {
	char *rd[64];
	size_t n;
} watch_want_rr;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void want_rr_clear(watch_want_rr *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->rd[i]);
	w->n = 0;
}

static int want_rr_fill(const plan *p, watch_target t, uint16_t type,
			watch_want_rr *w)
{
	const plan_mx *mx = NULL;
	const plan_addrs *ad = NULL;
	size_t n = 0, i, k;

	w->n = 0;
	if (t == WATCH_MX_NEW) {
		mx = p->mx_new;
		n = p->n_mx_new;
	} else if (t == WATCH_MX_OLD) {
		mx = p->mx_old;
		n = p->n_mx_old;
	} else if (t == WATCH_IMAP_NEW) {
		ad = &p->imap_new;
	} else if (t == WATCH_IMAP_OLD) {
		ad = &p->imap_old;
	} else if (t == WATCH_IMAP_PARKING) {
		ad = &p->imap_parking;
	}
	for (i = 0; mx != NULL && i < n && w->n < 64; i++) {
		char *s = cut_strdup_printf("%u %s", (unsigned)mx[i].pref,
					    mx[i].host);

		if (s == NULL)
			return -1;
		for (k = 0; s[k] != '\0'; k++)
			s[k] = (char)tolower((unsigned char)s[k]);
		w->rd[w->n++] = s;
	}
	for (i = 0; ad != NULL && i < ad->n && w->n < 64; i++) {
		unsigned char bin[16];
		char txt[INET6_ADDRSTRLEN];
		int fam = type == DNS_TYPE_A ? AF_INET : AF_INET6;

		/* the same text as the served A/AAAA (inet_ntop form) */
		if (inet_pton(fam, ad->addr[i], bin) != 1 ||
		    inet_ntop(fam, bin, txt, sizeof(txt)) == NULL)
			continue;
		if ((w->rd[w->n] = strdup(txt)) == NULL)
			return -1;
		w->n++;
	}
	qsort(w->rd, w->n, sizeof(w->rd[0]), cmp_str);
	return 0;
}

/* Reads a JSON fact; *o_r NULL when absent. */
static int fact_get(journal *j, const char *key, json_t **o_r, cut_status *st)
{
	char *text = NULL;

	*o_r = NULL;
	if (journal_fact_get(j, key, &text, NULL, st) < 0)
		return -1;
	if (text != NULL)
		*o_r = json_loads(text, 0, NULL);
	free(text);
	return 0;
}

static int fact_set(journal *j, const char *key, json_t *o, cut_status *st)
{
	char *text;
	int ret;

	if (o == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL,
				      "out of memory");
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL,
				      "out of memory");
	ret = journal_fact_set(j, key, text, st);
	free(text);
	return ret;
}

static double num(const json_t *o, const char *k, int *has_r)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_number(v))
		return 0;
	if (has_r != NULL)
		*has_r = 1;
	return json_number_value(v);
}

/*
 * From the facts of `ttl lower` (cutover/dnsops.h): the serial after the
 * update ("ttl_lowered".serial) and the largest original TTL
 * ("ttl_lowered".max_original_ttl, else "ttl_original".max_ttl, else the
 * largest TTL among "ttl_original".rrsets).  The rrsets of "ttl_lowered"
 * hold the lowered TTLs and are not used for this.
 */
static void read_lowered(const json_t *lowered, const json_t *original,
			 int *has_serial, uint32_t *serial, int *has_ttl,
			 uint32_t *ttl)
{
	const json_t *e;
	size_t i;
	double v;
	int h = 0;

	v = num(lowered, "serial", &h);
	if (h) {
		*has_serial = 1;
		*serial = (uint32_t)v;
	}
	h = 0;
	v = num(lowered, "max_original_ttl", &h);
	if (!h)
		v = num(original, "max_ttl", &h);
	if (h) {
		*has_ttl = 1;
		*ttl = (uint32_t)v;
		return;
	}
	json_array_foreach(json_object_get(original, "rrsets"), i, e)
	{
		h = 0;
		v = num(e, "ttl", &h);
		if (h && (!*has_ttl || v > *ttl)) {
			*ttl = (uint32_t)v;
			*has_ttl = 1;
		}
	}
}

/* The largest TTL any authoritative address served, and the primary's serial. */
static void report_numbers(const dns_prop_report *r, uint32_t *max_ttl_r,
			   uint32_t *serial_r, int *has_serial_r)
{
	size_t i, k;

	*max_ttl_r = 0;
	*has_serial_r = r->has_primary_serial;
	*serial_r = r->primary_serial;
	for (i = 0; i < r->n_auth; i++) {
		const dns_prop_server *s = &r->servers[i];

		for (k = 0; k < r->n_watch; k++)
			if (s->rr[k].state == DNS_PROP_DATA &&
			    s->rr[k].ttl > *max_ttl_r)
				*max_ttl_r = s->rr[k].ttl;
		if (!*has_serial_r && s->has_serial) {
			*has_serial_r = 1;
			*serial_r = s->serial;
		}
	}
}

/* The target data of a change, as journaled: [{owner, type, rdata}]. */
static json_t *want_json(const dns_prop_rrset *w, const watch_want_rr *want,
			 size_t n_w)
{
	json_t *a = json_array();
	size_t k, i;

	for (k = 0; a != NULL && k < n_w; k++) {
		json_t *rd = json_array();

		for (i = 0; rd != NULL && i < want[k].n; i++)
			json_array_append_new(rd, json_string(want[k].rd[i]));
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:o*}", "owner", w[k].name,
				     "type", dns_rrset_type_name(w[k].type),
				     "rdata", rd));
	}
	return a;
}

/* The fact is about the same target data. */
static int same_data(const json_t *fact, const dns_prop_rrset *w,
		     const watch_want_rr *want, size_t n_w)
{
	json_t *now = want_json(w, want, n_w);
	int same = now != NULL && json_equal(now, json_object_get(fact, "rrsets"));

	json_decref(now);
	return same;
}

/* A journaled sighting still stands for this target data and serial. */
static int sighting_stands(const json_t *fact, const dns_prop_rrset *w,
			   const watch_want_rr *want, size_t n_w,
			   int has_serial, uint32_t serial)
{
	int h = 0;
	double fs = num(fact, "serial", &h);

	/* The same serial is the same zone content; any other serial may
	 * hide a change and its undoing (watch.h). */
	if (!h || !has_serial || (uint32_t)fs != serial ||
	    !json_is_number(json_object_get(fact, "time")))
		return 0;
	return same_data(fact, w, want, n_w);
}

int watch_change_sighting(journal *j, watch_target target,
			  watch_sighting *s_r, cut_status *st)
{
	json_t *f = NULL;
	int ht = 0, hs = 0;

	memset(s_r, 0, sizeof(*s_r));
	if (watch_change_fact(target) == NULL)
		return 0;
	if (fact_get(j, watch_change_fact(target), &f, st) < 0)
		return -1;
	s_r->time = num(f, "time", &ht);
	s_r->serial = (uint32_t)num(f, "serial", &hs);
	s_r->old_ttl = (uint32_t)num(f, "old_ttl", NULL);
	s_r->neg_ttl = (uint32_t)num(f, "negative_ttl", NULL);
	s_r->old_ttl_from = from_static(
		json_string_value(json_object_get(f, "old_ttl_from")));
	json_decref(f);
	return ht && hs;
}

int watch_check(const plan *p, journal *j, watch_target target, double now,
		watch_result **res_r, cut_status *st)
{
	watch_result *res = NULL;
	dns_prop_rrset w[3];
	dns_prop_config cfg;
	dns_ready_addr *ra = NULL;
	dns_ready_params rp;
	watch_want_rr want[3];
	json_t *lowered = NULL, *original = NULL, *visible = NULL;
	json_t *high = NULL;
	uint32_t orig_ttl = 0, min_serial = 0, max_ttl, serial;
	uint32_t journaled_ttl = 0;
	int has_orig = 0, has_min_serial = 0, has_serial, stands = 0;
	size_t i, k, n_w;
	int status = -1;

	memset(want, 0, sizeof(want));
	memset(&cfg, 0, sizeof(cfg));
	memset(&rp, 0, sizeof(rp));
	res = calloc(1, sizeof(*res));
	if (res == NULL)
		goto oom;
	res->target = target;
	res->now = now;
	n_w = watch_rrsets(p, target, w);
	if (n_w == 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: nothing to watch for the %s (no [mx] or "
			       "[imap] name)",
			       p->path, watch_target_name(target));
		goto done;
	}

	cfg.zone = p->zone;
	cfg.port = p->port;
	cfg.nameservers = p->nameservers;
	cfg.n_nameservers = p->n_nameservers;
	cfg.resolvers = p->resolvers;
	cfg.n_resolvers = p->n_resolvers;
	cfg.discovery = p->has_server ? &p->server : NULL;
	cfg.watch = w;
	cfg.n_watch = n_w;
	cfg.timeout = 3;
	if (dns_prop_observe(&cfg, &res->report, st) < 0)
		goto done;

	/* What the journal knows. */
	if (fact_get(j, WATCH_FACT_LOWERED, &lowered, st) < 0 ||
	    fact_get(j, WATCH_FACT_ORIGINAL, &original, st) < 0 ||
	    fact_get(j, WATCH_FACT_HIGH_SEEN, &high, st) < 0)
		goto done;
	if (lowered != NULL) {
		res->lowering_journaled = 1;
		read_lowered(lowered, original, &has_min_serial, &min_serial,
			     &has_orig, &orig_ttl);
	}
	report_numbers(res->report, &max_ttl, &serial, &has_serial);

	rp.want.goal = target == WATCH_LOWERED ? DNS_READY_GOAL_LOWERED
					       : DNS_READY_GOAL_CHANGED;
	rp.want.low_ttl = p->low_ttl;
	if (target == WATCH_LOWERED) {
		rp.want.has_min_serial = has_min_serial;
		rp.want.min_serial = min_serial;
	}
	rp.margin = p->margin;
	for (k = 0; k < n_w; k++)
		if (target != WATCH_LOWERED &&
		    want_rr_fill(p, target, w[k].type, &want[k]) < 0)
			goto oom;

	/* Per authoritative address. */
	ra = calloc(res->report->n_auth + 1, sizeof(*ra));
	res->addr_verdict =
		calloc(res->report->n_auth + 1, sizeof(*res->addr_verdict));
	res->hold_until = calloc(res->report->n_servers + 1,
				 sizeof(*res->hold_until));
	if (ra == NULL || res->addr_verdict == NULL || res->hold_until == NULL)
		goto oom;
	for (i = 0; i < res->report->n_auth; i++) {
		const dns_prop_server *s = &res->report->servers[i];
		dns_ready_addr *a = &ra[i];

		a->answer = DNS_READY_ANSWERED;
		a->data_matches = 1;
		if (!s->reachable)
			a->answer = DNS_READY_UNREACHABLE;
		else if (s->rcode != DNS_RCODE_NOERROR)
			a->answer = DNS_READY_REFUSED;
		else if (!s->aa)
			a->answer = DNS_READY_NOT_AUTH;
		a->has_serial = s->has_serial;
		a->serial = s->serial;
		for (k = 0; k < n_w; k++) {
			const dns_prop_rr *rr = &s->rr[k];

			if (a->answer == DNS_READY_ANSWERED &&
			    rr->state == DNS_PROP_FAILED)
				a->answer = rr->aa || rr->rcode != 0
						    ? DNS_READY_REFUSED
						    : DNS_READY_NOT_AUTH;
			if (rr->state == DNS_PROP_DATA && rr->ttl > a->max_ttl)
				a->max_ttl = rr->ttl;
			if (target != WATCH_LOWERED &&
			    !dns_rdata_equal(rr->rdata, rr->n_rdata, want[k].rd,
					     want[k].n))
				a->data_matches = 0;
		}
		res->addr_verdict[i] = dns_ready_addr_check(a, &rp.want);
	}
	rp.addrs = ra;
	rp.n_addrs = res->report->n_auth;

	/* What caches may hold. */
	rp.old.existed = 1;
	if (target == WATCH_LOWERED) {
		double t;
		int h = 0;

		if (has_orig) {
			res->old_ttl = orig_ttl;
			res->old_ttl_from = "journal (ttl lower)";
		} else if (high != NULL && (t = num(high, "ttl", &h), h) &&
			   t > p->low_ttl) {
			res->old_ttl = (uint32_t)t;
			res->old_ttl_from = "largest TTL cutover saw served";
		} else if (max_ttl > p->low_ttl) {
			res->old_ttl = max_ttl;
			res->old_ttl_from = "largest TTL served now";
		} else {
			res->old_ttl = WATCH_ASSUMED_TTL;
			res->old_ttl_from =
				"assumed (the original TTL is unknown)";
		}
		rp.old.ttl = res->old_ttl;
		/* Remember the largest TTL seen, for manual lowering. */
		if (max_ttl > p->low_ttl &&
		    (high == NULL || num(high, "ttl", NULL) < max_ttl) &&
		    fact_set(j, WATCH_FACT_HIGH_SEEN,
			     json_pack("{s:i, s:f}", "ttl", (json_int_t)max_ttl,
				       "time", now),
			     st) < 0)
			goto done;
		/* The journaled sighting, if it is about this lowering. */
		if (fact_get(j, WATCH_FACT_LOW_VISIBLE, &visible, st) < 0)
			goto done;
		if (visible != NULL) {
			int hs = 0, ht = 0;
			double vs = num(visible, "serial", &hs);
			double vt = num(visible, "time", &ht);

			if (ht && (!has_min_serial ||
				   (hs && dns_ready_serial_ge((uint32_t)vs,
							      min_serial)))) {
				rp.has_since = 1;
				rp.since = vt;
			}
		}
	} else {
		/* The old data's TTL: at least [dns] low_ttl (the lowering
		 * comes first); more when the lagging addresses still serve
		 * the old data with more, or when the new data is served with
		 * more -- a change keeps the TTL the old data had (dnsops.h),
		 * so an MX changed without lowering first may sit in caches
		 * for its full original TTL. */
		rp.old.ttl = p->low_ttl;
		res->old_ttl_from = FROM_LOW_TTL;
		for (i = 0; i < res->report->n_auth; i++) {
			if (ra[i].max_ttl <= rp.old.ttl)
				continue;
			rp.old.ttl = ra[i].max_ttl;
			res->old_ttl_from = ra[i].data_matches ? FROM_NEW_DATA
							       : FROM_LAGGING;
		}
		/* The journaled first sighting of this data, if the zone has
		 * not changed since (watch.h); its old TTL counts too. */
		res->has_serial = has_serial;
		res->serial = serial;
		if (fact_get(j, watch_change_fact(target), &visible, st) < 0)
			goto done;
		stands = visible != NULL && sighting_stands(visible, w, want,
							    n_w, has_serial,
							    serial);
		/* Not seen everywhere yet: the fact without "time" keeps the
		 * largest TTL lagging servers served the old data with, so
		 * that the sighting counts it after they caught up. */
		if (stands || (visible != NULL &&
			       !json_is_number(json_object_get(visible, "time")) &&
			       same_data(visible, w, want, n_w)))
			journaled_ttl = (uint32_t)num(visible, "old_ttl", NULL);
		if (journaled_ttl > rp.old.ttl) {
			rp.old.ttl = journaled_ttl;
			res->old_ttl_from = from_static(json_string_value(
				json_object_get(visible, "old_ttl_from")));
		}
		if (stands) {
			rp.has_since = 1;
			rp.since = num(visible, "time", NULL);
		}
		/* RFC 2308 5: a name/type that had no data before may sit in
		 * caches as a negative answer for min(SOA TTL, MINIMUM). */
		for (k = 0; k < n_w; k++) {
			watch_want_rr old;
			watch_target ot = target == WATCH_MX_NEW ? WATCH_MX_OLD
					  : target == WATCH_MX_OLD
						  ? WATCH_MX_NEW
						  : WATCH_IMAP_OLD;

			memset(&old, 0, sizeof(old));
			if (want_rr_fill(p, ot, w[k].type, &old) < 0)
				goto oom;
			if (old.n == 0 && want[k].n > 0) {
				for (i = 0; i < res->report->n_auth; i++) {
					const dns_prop_server *s =
						&res->report->servers[i];

					if (s->has_serial) {
						uint32_t nt = dns_ready_negative_ttl(
							s->soa_ttl,
							s->soa_minimum);
						rp.old.was_negative = 1;
						if (nt > rp.old.neg_ttl)
							rp.old.neg_ttl = nt;
					}
				}
			}
			want_rr_clear(&old);
		}
		res->old_ttl = rp.old.ttl;
		res->was_negative = rp.old.was_negative;
		res->neg_ttl = rp.old.neg_ttl;
	}

	/* Watched resolvers still holding an old copy. */
	for (i = res->report->n_auth; i < res->report->n_servers; i++) {
		const dns_prop_server *s = &res->report->servers[i];

		for (k = 0; k < n_w; k++) {
			const dns_prop_rr *rr = &s->rr[k];
			int old;

			if (rr->state != DNS_PROP_DATA)
				continue;
			old = target == WATCH_LOWERED
				      ? rr->ttl > p->low_ttl
				      : !dns_rdata_equal(rr->rdata, rr->n_rdata,
							 want[k].rd, want[k].n);
			if (old && now + rr->ttl > res->hold_until[i])
				res->hold_until[i] = now + rr->ttl;
		}
	}
	{
		double *holds = calloc(res->report->n_servers + 1,
				       sizeof(*holds));
		size_t nh = 0;

		if (holds == NULL)
			goto oom;
		for (i = 0; i < res->report->n_servers; i++)
			if (res->hold_until[i] > 0)
				holds[nh++] = res->hold_until[i];
		rp.hold_until = holds;
		rp.n_hold = nh;
		dns_ready_evaluate(&rp, now, &res->verdict);
		free(holds);
	}
	res->want = rp.want;
	res->since_from = rp.has_since ? "journal" : "first seen now";

	/* Lagging servers serve the old data with a larger TTL than known:
	 * remember it for the sighting (a fact without "time"). */
	if (target != WATCH_LOWERED && !stands && !res->verdict.visible &&
	    res->old_ttl_from == FROM_LAGGING && res->old_ttl > journaled_ttl &&
	    fact_set(j, watch_change_fact(target),
		     json_pack("{s:s, s:o, s:i, s:s}", "target",
			       watch_target_name(target), "rrsets",
			       want_json(w, want, n_w), "old_ttl",
			       (json_int_t)res->old_ttl, "old_ttl_from",
			       res->old_ttl_from),
		     st) < 0)
		goto done;
	/* A change seen everywhere for the first time: journal it, tied to
	 * the serial and the data. */
	if (target != WATCH_LOWERED && has_serial && res->verdict.first_seen) {
		char when[40];

		cut_time_format_rfc3339(res->verdict.since, when, sizeof(when));
		if (fact_set(j, watch_change_fact(target),
			     json_pack("{s:s, s:f, s:s, s:i, s:o, s:i, s:s, "
				       "s:i}",
				       "target", watch_target_name(target),
				       "time", res->verdict.since,
				       "time_rfc3339", when, "serial",
				       (json_int_t)serial, "rrsets",
				       want_json(w, want, n_w), "old_ttl",
				       (json_int_t)res->old_ttl, "old_ttl_from",
				       res->old_ttl_from, "negative_ttl",
				       (json_int_t)(res->was_negative
							    ? res->neg_ttl
							    : 0)),
			     st) < 0)
			goto done;
	}
	if (target == WATCH_LOWERED && res->verdict.first_seen) {
		if (fact_set(j, WATCH_FACT_LOW_VISIBLE,
			     json_pack("{s:f, s:i, s:i, s:i, s:s}", "time", now,
				       "serial",
				       (json_int_t)(has_min_serial ? min_serial
								   : serial),
				       "ttl", (json_int_t)max_ttl,
				       "original_ttl", (json_int_t)res->old_ttl,
				       "counted_from",
				       res->lowering_journaled
					       ? "lowering journaled by ttl lower"
					       : "first sighting (no lowering "
						 "journaled)"),
			     st) < 0)
			goto done;
	}
	*res_r = res;
	res = NULL;
	status = 0;
	goto done;
oom:
	cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
done:
	for (k = 0; k < 3; k++)
		want_rr_clear(&want[k]);
	json_decref(lowered);
	json_decref(original);
	json_decref(visible);
	json_decref(high);
	free(ra);
	watch_result_free(&res);
	return status;
}

void watch_lagging_text(const watch_result *r, char *buf, size_t n)
{
	cut_buf b = CUT_BUF_INIT;
	size_t i;

	b.limit = n > 0 ? n - 1 : 0;
	buf[0] = '\0';
	for (i = 0; r->report != NULL && i < r->report->n_auth; i++) {
		const dns_prop_server *s = &r->report->servers[i];

		if (r->addr_verdict[i] == DNS_READY_UP_TO_DATE)
			continue;
		if (cut_buf_printf(&b, "%s%s: %s", b.len ? "; " : "", s->label,
				   dns_ready_addr_verdict_name(
					   r->addr_verdict[i])) < 0)
			break;
		if (r->addr_verdict[i] == DNS_READY_LAG_OLD_SERIAL &&
		    cut_buf_printf(&b, " %u < %u", s->serial,
				   r->want.min_serial) < 0)
			break;
		if (s->why[0] != '\0' &&
		    cut_buf_printf(&b, " (%s)", s->why) < 0)
			break;
	}
	if (b.data != NULL)
		cut_strlcpy(buf, b.data, n);
	cut_buf_free(&b);
}

/* Watched resolvers that serve the previous data past the time any copy
 * the authoritative servers handed out can live (ends): they serve it
 * stale (RFC 8767 serve-stale, unbound serve-expired) or stretch TTLs
 * (a minimum cache TTL).  Appends "LABEL serves it with TTL N s" per such
 * resolver to buf; *hold_end_r grows to the latest time a copy a watched
 * resolver handed out may live.  Returns how many there are. */
static size_t watch_stale_resolvers(const watch_result *r, double ends,
				    double *hold_end_r, char *buf, size_t n)
{
	cut_buf b = CUT_BUF_INIT;
	size_t i, n_stale = 0;

	b.limit = n > 0 ? n - 1 : 0;
	buf[0] = '\0';
	for (i = r->report->n_auth; i < r->report->n_servers; i++) {
		double h = r->hold_until[i];

		if (h <= 0)
			continue;
		if (h > *hold_end_r)
			*hold_end_r = h;
		if (h <= ends)
			continue;
		n_stale++;
		cut_buf_printf(&b, "%sresolver %s serves it with TTL %.0f s",
			       b.len ? "; " : "", r->report->servers[i].label,
			       h - r->now);
	}
	if (b.data != NULL)
		cut_strlcpy(buf, b.data, n);
	cut_buf_free(&b);
	return n_stale;
}

int watch_wait_visible(const plan *p, journal *j, watch_target target,
		       double timeout, double *visible_at_r, double *old_ttl_r,
		       cut_status *st)
{
	double start = cut_monotonic(), delay = 1;
	double first_visible = 0, hold_end = 0;
	uint32_t old_seen = 0;
	char lag[1024];
	int stale = 0;

	lag[0] = '\0';
	for (;;) {
		watch_result *r = NULL;
		double now = cut_now(), left;

		if (watch_check(p, j, target, now, &r, st) < 0) {
			if (st == NULL || st->kind != CUT_TEMP)
				return -1;
			cut_warn("%s", st->msg);
		} else {
			if (r->old_ttl > old_seen)
				old_seen = r->old_ttl;
			if (r->verdict.visible) {
				double life = old_seen, ends;

				if (r->was_negative && r->neg_ttl > life)
					life = r->neg_ttl;
				if (first_visible == 0)
					first_visible = r->verdict.since;
				/* A copy fetched before the change lives until
				 * first_visible + life at most (1 s for the
				 * rounding of TTLs to seconds). */
				ends = first_visible + life + p->margin + 1;
				stale = watch_stale_resolvers(r, ends, &hold_end,
							      lag, sizeof(lag)) > 0;
				if (!stale) {
					*visible_at_r = first_visible;
					/* Copies the watched resolvers handed
					 * out, stale ones included, live until
					 * hold_end. */
					if (hold_end - first_visible > life)
						life = hold_end - first_visible;
					*old_ttl_r = life;
					watch_result_free(&r);
					return 0;
				}
				cut_warn("%s: every authoritative address serves "
					 "it, but a watched resolver still serves "
					 "the previous data past its TTL (stale "
					 "answers, RFC 8767?): %s; waiting until "
					 "it serves the new data",
					 watch_target_name(target), lag);
			} else {
				stale = 0;
				watch_lagging_text(r, lag, sizeof(lag));
				cut_info("%s not visible everywhere yet: %s",
					 watch_target_name(target), lag);
			}
			watch_result_free(&r);
		}
		left = timeout > 0 ? timeout - (cut_monotonic() - start) : delay;
		if (left <= 0) {
			if (stale)
				return cut_status_set(
					st, CUT_TEMP, CUT_SCOPE_SERVER,
					"%s served by every authoritative "
					"address, but after %.0fs a watched "
					"resolver still serves the previous data "
					"past its TTL: %s; check that resolver "
					"(serve-stale, cache-min-ttl) or flush it",
					watch_target_name(target), timeout, lag);
			return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
					      "%s not visible on every "
					      "authoritative address after "
					      "%.0fs%s%s",
					      watch_target_name(target), timeout,
					      lag[0] != '\0' ? ": " : "", lag);
		}
		if (countdown_sleep_until(cut_now() + (delay < left ? delay : left),
					  "the next propagation check", st) < 0)
			return -1;
		delay = delay * 2 > 30 ? 30 : delay * 2;
	}
}
