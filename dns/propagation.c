/*
 * propagation.c: discover every authoritative address of a zone and ask
 * each of them, and each watched resolver, what it serves (propagation.h).
 */
#include "dns/propagation.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/str.h"

#define PROP_MAX_SERVERS 64

const char *dns_prop_state_name(dns_prop_state s)
{
	switch (s) {
	case DNS_PROP_DATA:
		return "data";
	case DNS_PROP_NODATA:
		return "nodata";
	case DNS_PROP_NXDOMAIN:
		return "nxdomain";
	case DNS_PROP_FAILED:
		return "failed";
	}
	return "?";
}

void dns_prop_rr_clear(dns_prop_rr *rr)
{
	size_t i;

	if (rr == NULL)
		return;
	for (i = 0; i < rr->n_rdata; i++)
		free(rr->rdata[i]);
	free(rr->rdata);
	memset(rr, 0, sizeof(*rr));
}

int dns_prop_rr_from_answer(const dns_answer *a, int want_aa, dns_prop_rr *rr)
{
	char rb[16];
	size_t i;

	memset(rr, 0, sizeof(*rr));
	rr->rcode = a->rcode;
	rr->aa = a->aa;
	rr->has_cname = a->has_cname;
	cut_strlcpy(rr->cname, a->cname, sizeof(rr->cname));
	if (a->rcode != DNS_RCODE_NOERROR && a->rcode != DNS_RCODE_NXDOMAIN) {
		rr->state = DNS_PROP_FAILED;
		snprintf(rr->why, sizeof(rr->why), "answered %s",
			 dns_rcode_name(a->rcode, rb, sizeof(rb)));
		return 0;
	}
	if (want_aa && !a->aa) {
		/* An authoritative server that does not set AA does not
		 * serve the zone: a lame delegation (RFC 1034 4.3.1). */
		rr->state = DNS_PROP_FAILED;
		snprintf(rr->why, sizeof(rr->why),
			 "answered %s without AA: not authoritative (lame "
			 "delegation?)",
			 dns_rcode_name(a->rcode, rb, sizeof(rb)));
		return 0;
	}
	if (a->has_soa) {
		/* RFC 2308 5: negative answers are cached for
		 * min(SOA TTL, SOA MINIMUM). */
		rr->has_neg_ttl = 1;
		rr->neg_ttl = a->soa_ttl < a->soa_minimum ? a->soa_ttl
							  : a->soa_minimum;
	}
	if (a->rcode == DNS_RCODE_NXDOMAIN) {
		rr->state = DNS_PROP_NXDOMAIN;
		return 0;
	}
	if (a->n_rdata == 0) {
		rr->state = DNS_PROP_NODATA;
		return 0;
	}
	rr->state = DNS_PROP_DATA;
	rr->ttl = a->ttl;
	rr->rdata = calloc(a->n_rdata, sizeof(*rr->rdata));
	if (rr->rdata == NULL)
		return -1;
	for (i = 0; i < a->n_rdata; i++) {
		rr->rdata[i] = strdup(a->rdata[i]);
		if (rr->rdata[i] == NULL) {
			dns_prop_rr_clear(rr);
			return -1;
		}
		rr->n_rdata++;
	}
	return 0;
}

void dns_prop_report_free(dns_prop_report **rp)
{
	dns_prop_report *r;
	size_t i, k;

	if (rp == NULL || *rp == NULL)
		return;
	r = *rp;
	for (i = 0; i < r->n_servers; i++) {
		for (k = 0; r->servers[i].rr != NULL && k < r->n_watch; k++)
			dns_prop_rr_clear(&r->servers[i].rr[k]);
		free(r->servers[i].rr);
	}
	free(r->servers);
	for (i = 0; i < r->n_notes; i++)
		free(r->notes[i]);
	free(r->notes);
	free(r->watch);
	free(r);
	*rp = NULL;
}

static void note(dns_prop_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(dns_prop_report *r, const char *fmt, ...)
{
	char line[512];
	char **p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cut_warn("%s", line);
	p = realloc(r->notes, (r->n_notes + 1) * sizeof(*p));
	if (p == NULL)
		return;
	r->notes = p;
	p[r->n_notes] = strdup(line);
	if (p[r->n_notes] != NULL)
		r->n_notes++;
}

static void set_q(dns_query *q, const char *addr, uint16_t port,
		  const char *name, uint16_t type, int rd)
{
	memset(q, 0, sizeof(*q));
	cut_strlcpy(q->addr, addr, sizeof(q->addr));
	q->port = port;
	cut_strlcpy(q->qname, name, sizeof(q->qname));
	q->qtype = type;
	q->rd = rd;
}

/* Where a query goes: an address, or "" for the system's resolvers. */
typedef struct prop_target {
	char addr[DNS_ADDR_MAX];
	uint16_t port;
	int rd;
	char label[DNS_NAME_MAX + 16];
} prop_target;

/* An address found for a server name. */
typedef struct prop_addr {
	char name[DNS_NAME_MAX];
	char addr[DNS_ADDR_MAX];
	uint16_t port;
} prop_addr;

/*
 * The A and AAAA addresses of names[] (with ports[]), asked at src; names
 * that src cannot resolve are asked again at the system's resolvers.
 * Appends to out (capacity PROP_MAX_SERVERS).  IP literals pass through.
 */
static int resolve_names(char (*names)[DNS_NAME_MAX], const uint16_t *ports,
			 size_t n, const prop_target *src, double timeout,
			 prop_addr *out, size_t *n_out, dns_prop_report *r,
			 cut_status *st)
{
	dns_query *q = NULL;
	size_t i, t, round;
	int *found = NULL;
	int status = -1;

	q = calloc(2 * n + 1, sizeof(*q));
	found = calloc(n + 1, sizeof(*found));
	if (q == NULL || found == NULL) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (cut_is_ip_literal(names[i]) && *n_out < PROP_MAX_SERVERS) {
			prop_addr *a = &out[(*n_out)++];

			a->name[0] = '\0';
			cut_strlcpy(a->addr, names[i], sizeof(a->addr));
			a->port = ports[i];
			found[i] = 1;
		}
	}
	for (round = 0; round < 2; round++) {
		const char *addr = round == 0 ? src->addr : "";
		uint16_t port = round == 0 ? src->port : 53;
		int rd = round == 0 ? src->rd : 1;
		size_t nq = 0;

		if (round == 1 && src->addr[0] == '\0')
			break; /* already asked the system */
		for (i = 0; i < n; i++) {
			if (found[i])
				continue;
			set_q(&q[nq++], addr, port, names[i], DNS_TYPE_A, rd);
			set_q(&q[nq++], addr, port, names[i], DNS_TYPE_AAAA, rd);
		}
		if (nq == 0)
			break;
		if (dns_query_run(q, nq, timeout, st) < 0)
			goto done;
		for (t = 0; t < nq; t++) {
			dns_answer a;
			size_t k;

			if (q[t].outcome != DNS_QUERY_REPLY ||
			    dns_answer_parse(q[t].wire, q[t].wire_len,
					     q[t].qname, q[t].qtype, &a,
					     NULL) < 0)
				continue;
			for (i = 0; i < n; i++)
				if (strcmp(names[i], q[t].qname) == 0)
					break;
			for (k = 0; i < n && k < a.n_rdata &&
				    *n_out < PROP_MAX_SERVERS;
			     k++) {
				prop_addr *o = &out[(*n_out)++];

				cut_strlcpy(o->name, names[i], sizeof(o->name));
				cut_strlcpy(o->addr, a.rdata[k], sizeof(o->addr));
				o->port = ports[i];
				found[i] = 1;
			}
			dns_answer_clear(&a);
		}
		dns_query_clear(q, nq);
	}
	for (i = 0; i < n; i++)
		if (!found[i])
			note(r, "%s: no A or AAAA address found (asked %s)",
			     names[i], src->label);
	status = 0;
done:
	if (q != NULL)
		dns_query_clear(q, 2 * n + 1);
	free(q);
	free(found);
	return status;
}

/* A target from a host:port that may be a name (resolved by the system). */
static int target_from(const cut_hostport *hp, int rd, double timeout,
		       prop_target *t, dns_prop_report *r, cut_status *st)
{
	char name[1][DNS_NAME_MAX];
	uint16_t port = hp->port;
	prop_addr a[PROP_MAX_SERVERS];
	size_t n = 0;
	prop_target sys = {"", 53, 1, "the system's resolvers"};

	memset(t, 0, sizeof(*t));
	t->rd = rd;
	t->port = hp->port;
	cut_hostport_format(hp, t->label, sizeof(t->label));
	if (cut_is_ip_literal(hp->host)) {
		cut_strlcpy(t->addr, hp->host, sizeof(t->addr));
		return 0;
	}
	cut_strlcpy(name[0], hp->host, sizeof(name[0]));
	if (resolve_names(name, &port, 1, &sys, timeout, a, &n, r, st) < 0)
		return -1;
	if (n == 0)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
				      "%s: no address found for the name",
				      hp->host);
	cut_strlcpy(t->addr, a[0].addr, sizeof(t->addr));
	return 0;
}

/* The NS names and SOA of the zone, asked at src. */
static int discover_ns(const dns_prop_config *cfg, const prop_target *src,
		       double timeout, char (**names_r)[DNS_NAME_MAX],
		       size_t *n_r, dns_prop_report *r, cut_status *st)
{
	dns_query q[2];
	dns_answer ns, soa;
	char rb[16];
	size_t i;
	int status = -1;

	memset(&ns, 0, sizeof(ns));
	memset(&soa, 0, sizeof(soa));
	set_q(&q[0], src->addr, src->port, cfg->zone, DNS_TYPE_NS, src->rd);
	set_q(&q[1], src->addr, src->port, cfg->zone, DNS_TYPE_SOA, src->rd);
	if (dns_query_run(q, 2, timeout, st) < 0)
		goto done;
	if (q[0].outcome != DNS_QUERY_REPLY) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
			       "%s: cannot discover the NS set of %s: %s",
			       src->label, cfg->zone, q[0].why);
		goto done;
	}
	if (dns_answer_parse(q[0].wire, q[0].wire_len, cfg->zone, DNS_TYPE_NS,
			     &ns, st) < 0) {
		cut_status_prefix(st, "%s: NS %s: ", src->label, cfg->zone);
		goto done;
	}
	if (ns.rcode != DNS_RCODE_NOERROR || ns.n_rdata == 0) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
			       "%s: no NS records for %s (%s%s): set [dns] "
			       "nameservers or check the zone name",
			       src->label, cfg->zone,
			       dns_rcode_name(ns.rcode, rb, sizeof(rb)),
			       !src->rd && !ns.aa ? ", not authoritative" : "");
		goto done;
	}
	*names_r = calloc(ns.n_rdata, sizeof(**names_r));
	if (*names_r == NULL) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	for (i = 0; i < ns.n_rdata; i++)
		cut_strlcpy((*names_r)[i], ns.rdata[i], DNS_NAME_MAX);
	*n_r = ns.n_rdata;
	if (q[1].outcome == DNS_QUERY_REPLY &&
	    dns_answer_parse(q[1].wire, q[1].wire_len, cfg->zone, DNS_TYPE_SOA,
			     &soa, NULL) == 0 &&
	    soa.has_soa && soa.n_rdata > 0) {
		cut_strlcpy(r->mname, soa.soa_mname, sizeof(r->mname));
		if (!src->rd && soa.aa) {
			r->has_primary_serial = 1;
			r->primary_serial = soa.soa_serial;
		}
	}
	status = 0;
done:
	dns_answer_clear(&ns);
	dns_answer_clear(&soa);
	dns_query_clear(q, 2);
	return status;
}

/* Fills srv from the SOA reply and the watched RRsets' replies. */
static int fill_server(dns_prop_server *srv, const dns_query *q,
		       const dns_prop_rrset *watch, size_t n_watch,
		       const char *zone)
{
	dns_answer a;
	char rb[16];
	size_t k;

	srv->reachable = 1;
	for (k = 0; k <= n_watch; k++) {
		const dns_query *qq = &q[k];

		if (qq->outcome != DNS_QUERY_REPLY) {
			srv->reachable = 0;
			snprintf(srv->why, sizeof(srv->why), "unreachable: %s",
				 qq->why);
			break;
		}
	}
	if (!srv->reachable) {
		for (k = 0; k < n_watch; k++) {
			srv->rr[k].state = DNS_PROP_FAILED;
			cut_strlcpy(srv->rr[k].why, srv->why,
				    sizeof(srv->rr[k].why));
		}
		return 0;
	}
	if (!srv->is_resolver) {
		if (dns_answer_parse(q[0].wire, q[0].wire_len, zone,
				     DNS_TYPE_SOA, &a, NULL) < 0) {
			snprintf(srv->why, sizeof(srv->why),
				 "malformed reply to SOA %s", zone);
			srv->rcode = DNS_RCODE_SERVFAIL;
		} else {
			srv->rcode = a.rcode;
			srv->aa = a.aa;
			if (a.rcode == DNS_RCODE_NOERROR && a.has_soa &&
			    a.n_rdata > 0) {
				srv->has_serial = 1;
				srv->serial = a.soa_serial;
				srv->soa_ttl = a.soa_ttl;
				srv->soa_minimum = a.soa_minimum;
			}
			if (a.rcode != DNS_RCODE_NOERROR)
				snprintf(srv->why, sizeof(srv->why),
					 "answered %s to SOA %s",
					 dns_rcode_name(a.rcode, rb, sizeof(rb)),
					 zone);
			else if (!a.aa)
				snprintf(srv->why, sizeof(srv->why),
					 "answers without AA: not "
					 "authoritative for %s (lame "
					 "delegation?)",
					 zone);
			dns_answer_clear(&a);
		}
	}
	for (k = 0; k < n_watch; k++) {
		const dns_query *qq = &q[1 + k];

		if (dns_answer_parse(qq->wire, qq->wire_len, watch[k].name,
				     watch[k].type, &a, NULL) < 0) {
			srv->rr[k].state = DNS_PROP_FAILED;
			cut_strlcpy(srv->rr[k].why, "malformed reply",
				    sizeof(srv->rr[k].why));
			continue;
		}
		if (dns_prop_rr_from_answer(&a, !srv->is_resolver,
					    &srv->rr[k]) < 0) {
			dns_answer_clear(&a);
			return -1;
		}
		dns_answer_clear(&a);
	}
	return 0;
}

int dns_prop_observe(const dns_prop_config *cfg, dns_prop_report **report_r,
		     cut_status *st)
{
	dns_prop_report *r = NULL;
	prop_target src;
	prop_addr *addrs = NULL;
	size_t n_addrs = 0, i, k, nq = 0, per;
	char(*names)[DNS_NAME_MAX] = NULL;
	uint16_t *ports = NULL;
	size_t n_names = 0;
	dns_query *q = NULL;
	double timeout = cfg->timeout > 0 ? cfg->timeout : 3;
	int status = -1;

	r = calloc(1, sizeof(*r));
	addrs = calloc(PROP_MAX_SERVERS, sizeof(*addrs));
	if (r == NULL || addrs == NULL)
		goto oom;
	r->watch = calloc(cfg->n_watch + 1, sizeof(*r->watch));
	if (r->watch == NULL)
		goto oom;
	memcpy(r->watch, cfg->watch, cfg->n_watch * sizeof(*r->watch));
	r->n_watch = cfg->n_watch;

	/* Where to ask for the NS set and the addresses. */
	if (cfg->discovery != NULL) {
		if (target_from(cfg->discovery, 0, timeout, &src, r, st) < 0)
			goto done;
	} else if (cfg->n_resolvers > 0) {
		if (target_from(&cfg->resolvers[0], 1, timeout, &src, r, st) <
		    0)
			goto done;
	} else {
		memset(&src, 0, sizeof(src));
		src.port = 53;
		src.rd = 1;
		cut_strlcpy(src.label, "the system's resolvers",
			    sizeof(src.label));
	}

	if (cfg->n_nameservers > 0) {
		n_names = cfg->n_nameservers;
		names = calloc(n_names, sizeof(*names));
		ports = calloc(n_names, sizeof(*ports));
		if (names == NULL || ports == NULL)
			goto oom;
		for (i = 0; i < n_names; i++) {
			cut_strlcpy(names[i], cfg->nameservers[i].host,
				    sizeof(names[i]));
			ports[i] = cfg->nameservers[i].port;
		}
	} else {
		if (discover_ns(cfg, &src, timeout, &names, &n_names, r, st) <
		    0)
			goto done;
		ports = calloc(n_names, sizeof(*ports));
		if (ports == NULL)
			goto oom;
		for (i = 0; i < n_names; i++)
			ports[i] = cfg->port;
	}
	if (resolve_names(names, ports, n_names, &src, timeout, addrs, &n_addrs,
			  r, st) < 0)
		goto done;

	/* Every authoritative address, then every resolver. */
	r->servers = calloc(n_addrs + cfg->n_resolvers + 1,
			    sizeof(*r->servers));
	if (r->servers == NULL)
		goto oom;
	for (i = 0; i < n_addrs; i++) {
		dns_prop_server *s = &r->servers[r->n_servers++];
		cut_hostport hp;

		cut_strlcpy(s->ns_name, addrs[i].name, sizeof(s->ns_name));
		cut_strlcpy(s->addr, addrs[i].addr, sizeof(s->addr));
		s->port = addrs[i].port;
		cut_strlcpy(hp.host, s->addr, sizeof(hp.host));
		hp.port = s->port;
		hp.has_port = 1;
		cut_hostport_format(&hp, s->label, sizeof(s->label));
		if (s->ns_name[0] != '\0') {
			char tmp[sizeof(s->label)];

			snprintf(tmp, sizeof(tmp), "%s %s", s->ns_name,
				 s->label);
			cut_strlcpy(s->label, tmp, sizeof(s->label));
		}
	}
	r->n_auth = r->n_servers;
	for (i = 0; i < cfg->n_resolvers; i++) {
		dns_prop_server *s = &r->servers[r->n_servers];
		prop_target t;

		if (target_from(&cfg->resolvers[i], 1, timeout, &t, r, st) < 0) {
			note(r, "resolver %s: %s", cfg->resolvers[i].host,
			     st != NULL ? st->msg : "no address");
			continue;
		}
		s->is_resolver = 1;
		cut_strlcpy(s->addr, t.addr, sizeof(s->addr));
		s->port = t.port;
		cut_strlcpy(s->label, t.label, sizeof(s->label));
		r->n_servers++;
	}
	cut_status_clear(st);

	/* Ask everything at once. */
	per = 1 + cfg->n_watch;
	q = calloc(r->n_servers * per + 1, sizeof(*q));
	if (q == NULL)
		goto oom;
	for (i = 0; i < r->n_servers; i++) {
		dns_prop_server *s = &r->servers[i];
		int rd = s->is_resolver;

		s->rr = calloc(cfg->n_watch + 1, sizeof(*s->rr));
		if (s->rr == NULL)
			goto oom;
		set_q(&q[nq++], s->addr, s->port, cfg->zone, DNS_TYPE_SOA, rd);
		for (k = 0; k < cfg->n_watch; k++)
			set_q(&q[nq++], s->addr, s->port, cfg->watch[k].name,
			      cfg->watch[k].type, rd);
	}
	if (dns_query_run(q, nq, timeout, st) < 0)
		goto done;
	for (i = 0; i < r->n_servers; i++) {
		dns_prop_server *s = &r->servers[i];

		if (fill_server(s, &q[i * per], cfg->watch, cfg->n_watch,
				cfg->zone) < 0)
			goto oom;
		/* The primary's serial, when the discovery did not give it. */
		if (!r->has_primary_serial && !s->is_resolver &&
		    s->has_serial && r->mname[0] != '\0' &&
		    cut_str_ieq(s->ns_name, r->mname)) {
			r->has_primary_serial = 1;
			r->primary_serial = s->serial;
		}
	}
	*report_r = r;
	r = NULL;
	status = 0;
	goto done;
oom:
	cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
done:
	if (q != NULL)
		dns_query_clear(q, nq);
	free(q);
	free(names);
	free(ports);
	free(addrs);
	dns_prop_report_free(&r);
	return status;
}
