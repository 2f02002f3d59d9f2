/* dnsops.c: DNS changes of the cutover, journaled and guarded (see dnsops.h). */
#include "cutover/dnsops.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cutover/cli.h"
#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "dns/query.h"
#include "dns/rrset.h"
#include "dns/tsig_key.h"
#include "dns/update.h"

#define DNSOPS_MAX_SETS 3

/* The RRsets one operation works on: current (as read) and target. */
typedef struct dnsops_set {
	dns_rrset *cur[DNSOPS_MAX_SETS];
	dns_rrset *target[DNSOPS_MAX_SETS]; /* NULL: leave alone */
	size_t n;
	uint32_t serial;
} dnsops_set;

static void dnsops_set_clear(dnsops_set *s)
{
	size_t i;

	for (i = 0; i < DNSOPS_MAX_SETS; i++) {
		dns_rrset_free(&s->cur[i]);
		dns_rrset_free(&s->target[i]);
	}
	s->n = 0;
}

static void out_printf(const dnsops_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void out_printf(const dnsops_opts *o, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (o == NULL || o->out == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cut_buf_puts(o->out, line);
}

static void out_rrset(const dnsops_opts *o, const dns_rrset *s,
		      const char *indent)
{
	if (o != NULL && o->out != NULL)
		dns_rrset_format(s, indent, o->out);
}

/* ---- JSON ---- */

static json_t *rrset_json(const dns_rrset *s)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < s->n; i++)
		json_array_append_new(a, json_string(s->rdata[i]));
	return json_pack("{s:s, s:s, s:I, s:o}", "owner", s->owner, "type",
			 dns_rrset_type_name(s->type), "ttl",
			 (json_int_t)(s->n > 0 ? s->ttl : 0), "rdata", a);
}

static json_t *rrsets_json(dns_rrset *const *sets, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		if (sets[i] != NULL)
			json_array_append_new(a, rrset_json(sets[i]));
	return a;
}

static dns_rrset *rrset_from_json(const json_t *o)
{
	const char *owner = json_string_value(json_object_get(o, "owner"));
	const char *type = json_string_value(json_object_get(o, "type"));
	const json_t *rd = json_object_get(o, "rdata"), *v;
	dns_rrset *s = NULL;
	uint16_t t;
	size_t i;

	if (owner == NULL || type == NULL || dns_rrset_type_parse(type, &t) < 0)
		return NULL;
	s = dns_rrset_new(owner, t);
	if (s == NULL)
		return NULL;
	s->ttl = (uint32_t)json_integer_value(json_object_get(o, "ttl"));
	json_array_foreach(rd, i, v)
	{
		if (json_string_value(v) == NULL ||
		    dns_rrset_add(s, json_string_value(v)) < 0) {
			dns_rrset_free(&s);
			return NULL;
		}
	}
	return s;
}

static json_t *stamp_json(const plan *p, uint32_t serial)
{
	double now = cut_now();
	char t[64];

	cut_time_format_rfc3339(now, t, sizeof(t));
	return json_pack("{s:f, s:s, s:s, s:I}", "time", now, "time_rfc3339", t,
			 "zone", p->zone, "serial", (json_int_t)serial);
}

static int fact_set(journal *j, const char *key, json_t *o, cut_status *st)
{
	char *text = json_dumps(o, JSON_COMPACT);
	int ret;

	if (text == NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "out of memory");
	ret = journal_fact_set(j, key, text, st);
	free(text);
	return ret;
}

static int record(journal *j, const char *step, const char *phase, json_t *o,
		  cut_status *st)
{
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	int ret = journal_record(j, step, phase, text, st);

	free(text);
	return ret;
}

/* ---- the primary ---- */

/* The SOA MNAME served by one name server, and (when that server has
 * them, e.g. an in-zone MNAME) its addresses.  *addr_r "" when not. */
static int mname_from(const cut_hostport *ns_hp, const char *zone,
		      char **mname_r, char *addr_r, size_t addr_len,
		      cut_status *st)
{
	dns_update_server ns;
	dns_rrset *a = NULL, *aaaa = NULL;
	uint32_t serial;
	cut_status ignore;

	memset(&ns, 0, sizeof(ns));
	ns.addr = *ns_hp;
	ns.timeout = 3;
	ns.attempts = 1;
	addr_r[0] = '\0';
	if (dns_update_read_soa(&ns, zone, &serial, mname_r, st) < 0)
		return -1;
	/* RFC 1034 4.3.2: a server answers for its zone's names without
	 * recursion; an out-of-zone MNAME is left to getaddrinfo(). */
	if (dns_update_read_addrs(&ns, *mname_r, &a, &aaaa, &ignore) == 0) {
		if (a->n > 0)
			cut_strlcpy(addr_r, a->rdata[0], addr_len);
		else if (aaaa->n > 0)
			cut_strlcpy(addr_r, aaaa->rdata[0], addr_len);
	}
	dns_rrset_free(&a);
	dns_rrset_free(&aaaa);
	return 0;
}

/* The SOA MNAME as the system's resolvers (RD=1) give it. */
static int mname_from_system(const char *zone, char **mname_r,
			     cut_status *st)
{
	dns_query q;
	dns_answer ans;
	int ret = -1;

	memset(&q, 0, sizeof(q));
	memset(&ans, 0, sizeof(ans));
	*mname_r = NULL;
	cut_strlcpy(q.qname, zone, sizeof(q.qname));
	q.qtype = DNS_TYPE_SOA;
	q.rd = 1;
	if (dns_query_run(&q, 1, 3, st) < 0)
		goto done;
	if (q.outcome != DNS_QUERY_REPLY) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
			       "the system's resolvers: no SOA for %s (%s)", zone,
			       q.why);
		goto done;
	}
	if (dns_answer_parse(q.wire, q.wire_len, zone, DNS_TYPE_SOA, &ans,
			     st) < 0)
		goto done;
	if (!ans.has_soa || ans.rcode != DNS_RCODE_NOERROR ||
	    strcasecmp(ans.soa_owner, zone) != 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
			       "the system's resolvers: no SOA for %s: is it "
			       "the apex of a zone?",
			       zone);
		goto done;
	}
	*mname_r = strdup(ans.soa_mname);
	ret = *mname_r != NULL ? 0 : -1;
done:
	dns_answer_clear(&ans);
	dns_query_clear(&q, 1);
	return ret;
}

/*
 * Where updates go (RFC 2136 4: to the primary master named by the SOA
 * MNAME): [dns] server; else the MNAME served by the first [dns]
 * nameservers entry that answers, at the address that server gives for
 * it; else (no entry) the MNAME the system's resolvers give, resolved by
 * getaddrinfo().
 */
static int primary(const plan *p, dns_update_server *srv, cut_status *st)
{
	char *mname = NULL;
	char addr[DNS_ADDR_MAX], hp[CUT_HOST_MAX + 8];
	cut_buf tried = CUT_BUF_INIT;
	size_t i;
	int ret = -1;

	memset(srv, 0, sizeof(*srv));
	if (p->has_server) {
		srv->addr = p->server;
		return 0;
	}
	addr[0] = '\0';
	for (i = 0; i < p->n_nameservers && mname == NULL; i++) {
		cut_status e;

		cut_status_clear(&e);
		if (mname_from(&p->nameservers[i], p->zone, &mname, addr,
			       sizeof(addr), &e) < 0) {
			free(mname);
			mname = NULL;
			cut_warn("reading the SOA MNAME of %s: %s", p->zone,
				 e.msg);
			cut_buf_printf(&tried, "%s%s", tried.len ? "; " : "",
				       e.msg);
		}
	}
	if (mname == NULL && p->n_nameservers == 0) {
		cut_status e;

		cut_status_clear(&e);
		if (mname_from_system(p->zone, &mname, &e) < 0)
			cut_buf_printf(&tried, "%s", e.msg);
	}
	if (mname == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
			       "%s: [dns] server is not set and the primary of "
			       "%s (SOA MNAME) could not be found: %s: set [dns] "
			       "server",
			       p->path, p->zone,
			       tried.data != NULL ? tried.data : "no answer");
		goto done;
	}
	cut_strlcpy(srv->addr.host, addr[0] != '\0' ? addr : mname,
		    sizeof(srv->addr.host));
	srv->addr.port = p->port;
	cut_hostport_format(&srv->addr, hp, sizeof(hp));
	cut_info("updates for %s go to the primary %s (SOA MNAME) at %s",
		 p->zone, mname, hp);
	ret = 0;
done:
	free(mname);
	cut_buf_free(&tried);
	return ret;
}

/* The addresses of host (a literal or a name for getaddrinfo()), as
 * inet_ntop text, into addrs[n]; returns how many. */
static size_t host_addrs(const char *host, char addrs[][DNS_ADDR_MAX],
			 size_t n)
{
	struct addrinfo hints, *res = NULL, *ai;
	size_t k = 0, i;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && k < n; ai = ai->ai_next) {
		char t[DNS_ADDR_MAX];
		const void *bin = ai->ai_family == AF_INET
			? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		if (inet_ntop(ai->ai_family, bin, t, sizeof(t)) == NULL)
			continue;
		for (i = 0; i < k && strcmp(addrs[i], t) != 0; i++)
			;
		if (i == k)
			cut_strlcpy(addrs[k++], t, DNS_ADDR_MAX);
	}
	freeaddrinfo(res);
	return k;
}

dnsops_refusal dnsops_refusal_explain(const char *server,
				      char const (*server_addrs)[DNS_ADDR_MAX],
				      size_t n_server, const char *mname,
				      char const (*mname_addrs)[DNS_ADDR_MAX],
				      size_t n_mname, const char *zone,
				      const char *key_name, char *buf, size_t n)
{
	size_t i, k;

	if (mname == NULL || mname[0] == '\0' || n_server == 0 || n_mname == 0)
		return DNSOPS_REFUSAL_UNKNOWN;
	for (i = 0; i < n_server; i++)
		for (k = 0; k < n_mname; k++)
			if (strcmp(server_addrs[i], mname_addrs[k]) == 0) {
				snprintf(buf, n,
					 "the key \"%s\" is not allowed to "
					 "update zone %s on %s (REFUSED by the "
					 "primary %s): check allow-update / "
					 "update-policy (BIND) or the acl "
					 "(Knot) for this key",
					 key_name, zone, server, mname);
				return DNSOPS_REFUSAL_KEY;
			}
	/* RFC 2136 6.1: the SOA MNAME names the primary; a secondary may
	 * refuse updates instead of forwarding them */
	snprintf(buf, n,
		 "%s is not the primary of zone %s (the SOA names %s as "
		 "primary, at %s; REFUSED): send updates to %s ([dns] "
		 "server)",
		 server, zone, mname, mname_addrs[0], mname);
	return DNSOPS_REFUSAL_NOT_PRIMARY;
}

/* After REFUSED: reads the SOA MNAME from the server and rewrites *st
 * to say which of the two usual causes it is, when that can be told. */
static void explain_refusal(const plan *p, const dns_update_server *srv,
			    const char *key_name, cut_status *st)
{
	char saddrs[8][DNS_ADDR_MAX], maddrs[8][DNS_ADDR_MAX];
	char server[CUT_HOST_MAX + 8], sentence[CUT_STATUS_MSG_MAX];
	char *mname = NULL;
	size_t ns, nm = 0, i;
	dns_update_server q = *srv;
	dns_rrset *a = NULL, *aaaa = NULL;
	cut_status e;
	uint32_t serial;

	cut_status_clear(&e);
	cut_hostport_format(&srv->addr, server, sizeof(server));
	ns = host_addrs(srv->addr.host, saddrs, 8);
	q.attempts = 1;
	if (dns_update_read_soa(&q, p->zone, &serial, &mname, &e) < 0)
		goto done;
	if (dns_update_read_addrs(&q, mname, &a, &aaaa, &e) == 0) {
		for (i = 0; i < a->n && nm < 8; i++)
			nm += host_addrs(a->rdata[i], maddrs + nm, 8 - nm);
		for (i = 0; i < aaaa->n && nm < 8; i++)
			nm += host_addrs(aaaa->rdata[i], maddrs + nm, 8 - nm);
	}
	if (nm == 0)
		nm = host_addrs(mname, maddrs, 8);
	if (dnsops_refusal_explain(server, (char const (*)[DNS_ADDR_MAX])saddrs,
				   ns, mname,
				   (char const (*)[DNS_ADDR_MAX])maddrs, nm,
				   p->zone, key_name, sentence,
				   sizeof(sentence)) != DNSOPS_REFUSAL_UNKNOWN)
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER, "%s", sentence);
done:
	free(mname);
	dns_rrset_free(&a);
	dns_rrset_free(&aaaa);
}

/* dns_update_send(), with REFUSED explained (explain_refusal). */
static int send_update(const plan *p, const dns_update_server *srv,
		       const dns_update *u, const tsig_key *key,
		       dns_update_reply *reply_r, cut_status *st)
{
	if (dns_update_send(srv, u, key, reply_r, st) == 0)
		return 0;
	if (reply_r->rcode == DNS_RCODE_REFUSED &&
	    dns_update_reply_trusted(reply_r))
		explain_refusal(p, srv, key->name, st);
	return -1;
}

static int load_key(const plan *p, tsig_key **key_r, cut_status *st)
{
	*key_r = NULL;
	if (p->mode == PLAN_DNS_MANUAL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: [dns] mode = manual: cutover does not "
				      "send updates; make the change yourself "
				      "and use `cutover ttl status`",
				      p->path);
	if (p->tsig_key == NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: [dns] tsig_key is not set", p->path);
	return tsig_key_load(p->tsig_key, key_r, st);
}

/*
 * Test hooks between the read and the UPDATE (the concurrent-edit tests):
 * CUTOVER_TEST_PAUSE_BEFORE_UPDATE=SECONDS sleeps; with
 * CUTOVER_TEST_UPDATE_GATE=DIR, DIR/read is created once the RRsets were
 * read and the UPDATE waits until DIR/go exists (at most 60 s), so a test
 * can edit the zone exactly in between without racing a timer.
 */
static void debug_pause(void)
{
#ifdef CUTOVER_DEBUG_HOOKS
	const char *s = getenv("CUTOVER_TEST_PAUSE_BEFORE_UPDATE");
	const char *gate = getenv("CUTOVER_TEST_UPDATE_GATE");
	double secs;

	if (s != NULL && cut_duration_parse(s, &secs) == 0 && secs > 0) {
		cut_info("test hook: pausing %.1f s before the UPDATE", secs);
		cut_sleep(secs);
	}
	if (gate != NULL && gate[0] != '\0') {
		char path[4096];
		double until = cut_monotonic() + 60;
		FILE *f;

		snprintf(path, sizeof(path), "%s/read", gate);
		if ((f = fopen(path, "w")) != NULL)
			fclose(f);
		snprintf(path, sizeof(path), "%s/go", gate);
		cut_info("test hook: waiting for %s before the UPDATE", path);
		while (access(path, F_OK) != 0 && cut_monotonic() < until)
			cut_sleep(0.05);
	}
#endif
}

/* Reads the SOA serial and the RRsets named in `names` into s->cur. */
static int read_sets(const dns_update_server *srv, const plan *p,
		     dnsops_set *s, cut_status *st)
{
	size_t i;

	if (dns_update_read_soa(srv, p->zone, &s->serial, NULL, st) < 0)
		return -1;
	for (i = 0; i < s->n; i++) {
		dns_rrset *r = NULL;

		if (dns_update_read_rrset(srv, s->cur[i]->owner,
					  s->cur[i]->type, &r, st) < 0)
			return -1;
		dns_rrset_free(&s->cur[i]);
		s->cur[i] = r;
	}
	return 0;
}

static int watch(dnsops_set *s, const char *owner, uint16_t type)
{
	if (s->n >= DNSOPS_MAX_SETS)
		return -1;
	s->cur[s->n] = dns_rrset_new(owner, type);
	if (s->cur[s->n] == NULL)
		return -1;
	s->n++;
	return 0;
}

/* The RRsets a `ttl` command watches: MX; lucky: the IMAP A and AAAA. */
static int watch_ttl_sets(const plan *p, dnsops_set *s, cut_status *st)
{
	if (watch(s, p->mx_name, DNS_TYPE_MX) < 0 ||
	    (p->scenario == PLAN_SCENARIO_LUCKY && p->imap_name != NULL &&
	     (watch(s, p->imap_name, DNS_TYPE_A) < 0 ||
	      watch(s, p->imap_name, DNS_TYPE_AAAA) < 0)))
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: invalid record name", p->path);
	return 0;
}

int dnsops_update_build(const char *zone, dns_rrset *const *cur,
			dns_rrset *const *target, size_t n, dns_update **u_r,
			size_t *changes_r, cut_status *st)
{
	dns_update *u;
	size_t i;

	*u_r = NULL;
	*changes_r = 0;
	u = dns_update_new(zone);
	if (u == NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "[dns] zone \"%s\" is not a domain name",
				      zone);
	for (i = 0; i < n; i++) {
		if (target[i] == NULL || dns_rrset_equal(cur[i], target[i]))
			continue;
		(*changes_r)++;
		/* RFC 2136 2.4.2 / 2.4.3: the RRset exactly as read, so a
		 * concurrent edit makes the server answer NXRRSET; then
		 * 2.5.2 delete RRset and 2.5.1 add the target records */
		if (dns_update_require_rrset(u, cur[i]) < 0 ||
		    dns_update_replace_rrset(u, target[i]) < 0) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "cannot build the UPDATE for %s %s",
				       target[i]->owner,
				       dns_rrset_type_name(target[i]->type));
			dns_update_free(&u);
			*changes_r = 0;
			return -1;
		}
	}
	*u_r = u;
	return 0;
}

int dnsops_ttl_lower_targets(dns_rrset *const *cur, size_t n,
			     uint32_t low_ttl, dns_rrset **target_r)
{
	size_t i;

	for (i = 0; i < n; i++) {
		target_r[i] = NULL;
		if (cur[i]->n == 0)
			continue; /* absent: nothing to lower */
		target_r[i] = dns_rrset_dup(cur[i]);
		if (target_r[i] == NULL) {
			while (i-- > 0)
				dns_rrset_free(&target_r[i]);
			return -1;
		}
		if (target_r[i]->ttl > low_ttl)
			target_r[i]->ttl = low_ttl; /* never raised */
	}
	return 0;
}

int dnsops_served_match(dns_rrset *const *served, size_t n_sets,
			dns_rrset *const *cands, size_t n_cands)
{
	size_t c, k;

	for (c = 0; c < n_cands; c++) {
		int same = cands[c * n_sets] != NULL;

		for (k = 0; same && k < n_sets; k++)
			same = cands[c * n_sets + k] != NULL &&
			       dns_rrset_same_data(served[k],
						   cands[c * n_sets + k]);
		if (same)
			return (int)c;
	}
	return -1;
}

/*
 * Steps 2-6 of dnsops.h for the targets in s.  *done_j receives the
 * read-back details ({serial, rrsets}) when something was applied.
 */
static int apply(const plan *p, journal *j, const char *step,
		 const dns_update_server *srv, dnsops_set *s,
		 json_t *intent_extra, const dnsops_opts *o,
		 dnsops_result *res_r, json_t **done_r, cut_status *st)
{
	dns_update *u = NULL;
	tsig_key *key = NULL;
	dns_update_reply reply;
	dnsops_set back;
	json_t *intent = NULL, *done_j = NULL;
	cut_buf text = CUT_BUF_INIT;
	char server[CUT_HOST_MAX + 8];
	size_t i, changes = 0;
	int ret = -1, intent_written = 0;

	memset(&back, 0, sizeof(back));
	*res_r = DNSOPS_FAILED;
	if (done_r != NULL)
		*done_r = NULL;
	cut_hostport_format(&srv->addr, server, sizeof(server));
	if (dnsops_update_build(p->zone, s->cur, s->target, s->n, &u, &changes,
				st) < 0) {
		cut_status_prefix(st, "%s: ", p->path);
		goto done;
	}
	if (changes == 0) {
		*res_r = DNSOPS_ALREADY;
		ret = 0;
		goto done;
	}
	if (o->dry_run) {
		dns_update_format(u, &text);
		out_printf(o, "dry run: would send to %s:\n%s", server,
			   text.data != NULL ? text.data : "");
		*res_r = DNSOPS_DRY_RUN;
		ret = 0;
		goto done;
	}
	if (load_key(p, &key, st) < 0)
		goto done;
	intent = json_pack("{s:s, s:s, s:o, s:o}", "zone", p->zone, "server",
			   server, "before", rrsets_json(s->cur, s->n), "target",
			   rrsets_json(s->target, s->n));
	if (intent_extra != NULL)
		json_object_update(intent, intent_extra);
	if (record(j, step, "intent", intent, st) < 0)
		goto done;
	intent_written = 1;
	debug_pause();
	if (send_update(p, srv, u, key, &reply, st) < 0) {
		cut_status saved;

		cut_status_copy(&saved, st);
		if ((reply.rcode == DNS_RCODE_NXRRSET ||
		     reply.rcode == DNS_RCODE_YXRRSET) &&
		    dns_update_reply_trusted(&reply)) {
			/* RFC 2136 3.2.5: show what changed under us */
			cut_buf diff = CUT_BUF_INIT;
			int applied = 1;

			back.n = s->n;
			for (i = 0; i < s->n; i++)
				back.cur[i] = dns_rrset_dup(s->cur[i]);
			if (read_sets(srv, p, &back, st) < 0) {
				cut_status_copy(st, &saved);
				goto done;
			}
			for (i = 0; i < s->n; i++)
				if (s->target[i] != NULL &&
				    !dns_rrset_equal(back.cur[i], s->target[i]))
					applied = 0;
			if (applied && reply.attempts > 1) {
				/* an earlier attempt that timed out was
				 * applied after all */
				cut_info("%s: an earlier attempt was applied", server);
				goto readback;
			}
			for (i = 0; i < s->n; i++) {
				if (s->target[i] == NULL ||
				    dns_rrset_equal(back.cur[i], s->cur[i]))
					continue;
				cut_buf_puts(&diff, "expected (as read before "
						    "the update):\n");
				dns_rrset_format(s->cur[i], "  ", &diff);
				cut_buf_puts(&diff, "found now:\n");
				dns_rrset_format(back.cur[i], "  ", &diff);
			}
			/* The message carries expected and found, so that
			 * --json, the journal and the run show them too;
			 * what does not fit goes to the output instead. */
			if (diff.data != NULL &&
			    strlen(saved.msg) + 1 + diff.len < CUT_STATUS_MSG_MAX) {
				cut_status_set(st, saved.kind, saved.scope,
					       "%s\n%.*s", saved.msg,
					       (int)(diff.len - 1), diff.data);
			} else if (diff.data != NULL) {
				if (o != NULL && o->out != NULL)
					cut_buf_puts(o->out, diff.data);
				cut_status_set(st, saved.kind, saved.scope,
					       "%s (expected and found shown "
					       "above)",
					       saved.msg);
			} else {
				cut_status_copy(st, &saved);
			}
			cut_buf_free(&diff);
			goto failed;
		}
		cut_status_copy(st, &saved);
		goto failed;
	}
	back.n = s->n;
	for (i = 0; i < s->n; i++)
		back.cur[i] = dns_rrset_dup(s->cur[i]);
	if (read_sets(srv, p, &back, st) < 0) {
		cut_status_prefix(st, "the UPDATE was accepted but reading it "
				      "back failed: ");
		goto failed;
	}
readback:
	for (i = 0; i < s->n; i++) {
		if (s->target[i] != NULL &&
		    !dns_rrset_equal(back.cur[i], s->target[i])) {
			cut_buf a = CUT_BUF_INIT, b = CUT_BUF_INIT;

			dns_rrset_format(s->target[i], "  ", &a);
			dns_rrset_format(back.cur[i], "  ", &b);
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
				       "%s accepted the UPDATE of zone %s but "
				       "serves something else: expected\n%s"
				       "found\n%s",
				       server, p->zone, a.data ? a.data : "",
				       b.data ? b.data : "");
			cut_buf_free(&a);
			cut_buf_free(&b);
			goto failed;
		}
	}
	done_j = stamp_json(p, back.serial);
	json_object_set_new(done_j, "rrsets", rrsets_json(back.cur, back.n));
	json_object_set_new(done_j, "previous_serial",
			    json_integer((json_int_t)s->serial));
	if (record(j, step, "done", done_j, st) < 0)
		goto done;
	out_printf(o, "%s: serial %u -> %u\n", server, (unsigned)s->serial,
		   (unsigned)back.serial);
	for (i = 0; i < s->n; i++) {
		dns_rrset_free(&s->cur[i]);
		s->cur[i] = back.cur[i];
		back.cur[i] = NULL;
	}
	s->serial = back.serial;
	if (done_r != NULL) {
		*done_r = done_j;
		done_j = NULL;
	}
	*res_r = DNSOPS_CHANGED;
	ret = 0;
	goto done;
failed:
	if (intent_written) {
		json_t *f = json_pack("{s:s}", "error", st != NULL ? st->msg : "");

		record(j, step, "failed", f, NULL);
		json_decref(f);
	}
done:
	dnsops_set_clear(&back);
	json_decref(intent);
	json_decref(done_j);
	cut_buf_free(&text);
	tsig_key_free(&key);
	dns_update_free(&u);
	return ret;
}

static void report_result(const dnsops_opts *o, const char *what,
			  dnsops_result res, const dnsops_set *s)
{
	size_t i;

	switch (res) {
	case DNSOPS_ALREADY:
		out_printf(o, "%s: already done, nothing sent\n", what);
		break;
	case DNSOPS_CHANGED:
		out_printf(o, "%s: done\n", what);
		break;
	default:
		return;
	}
	for (i = 0; i < s->n; i++)
		out_rrset(o, s->cur[i], "  ");
	if (o->json != NULL) {
		json_object_set_new(o->json, "result",
				    json_string(res == DNSOPS_ALREADY ? "already"
									: "done"));
		json_object_set_new(o->json, "serial",
				    json_integer((json_int_t)s->serial));
		json_object_set_new(o->json, "rrsets",
				    rrsets_json(s->cur, s->n));
	}
}

/* ---- ttl lower / restore ---- */

static json_t *find_rrset_json(const json_t *arr, const char *owner,
			       const char *type)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		const char *o = json_string_value(json_object_get(v, "owner"));
		const char *t = json_string_value(json_object_get(v, "type"));

		if (o != NULL && t != NULL && strcmp(o, owner) == 0 &&
		    strcmp(t, type) == 0)
			return v;
	}
	return NULL;
}

int dnsops_ttl_lower(const plan *p, journal *j, const dnsops_opts *o,
		     dnsops_result *res_r, cut_status *st)
{
	dns_update_server srv;
	dnsops_set s;
	char *old_text = NULL;
	json_t *old = NULL, *orig = NULL, *orig_sets, *done_j = NULL;
	uint32_t max_ttl = 0;
	size_t i;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	*res_r = DNSOPS_FAILED;
	if (primary(p, &srv, st) < 0 || watch_ttl_sets(p, &s, st) < 0 ||
	    read_sets(&srv, p, &s, st) < 0)
		goto done;
	if (dnsops_ttl_lower_targets(s.cur, s.n, p->low_ttl, s.target) < 0)
		goto nomem;
	if (!o->dry_run) {
		/* The originals: those read now, except where the TTL is
		 * already low and an earlier `ttl lower` recorded them. */
		if (journal_fact_get(j, "ttl_original", &old_text, NULL, st) < 0)
			goto done;
		if (old_text != NULL)
			old = json_loads(old_text, 0, NULL);
		orig = stamp_json(p, s.serial);
		orig_sets = json_array();
		json_object_set_new(orig, "rrsets", orig_sets);
		for (i = 0; i < s.n; i++) {
			json_t *prev = NULL;

			if (s.cur[i]->n == 0)
				continue;
			if (s.cur[i]->ttl <= p->low_ttl && old != NULL)
				prev = find_rrset_json(json_object_get(old, "rrsets"),
						       s.cur[i]->owner,
						       dns_rrset_type_name(s.cur[i]->type));
			if (prev != NULL)
				json_array_append(orig_sets, prev);
			else
				json_array_append_new(orig_sets, rrset_json(s.cur[i]));
		}
		json_array_foreach(orig_sets, i, done_j)
		{
			uint32_t t = (uint32_t)json_integer_value(json_object_get(done_j, "ttl"));
			if (t > max_ttl)
				max_ttl = t;
		}
		done_j = NULL;
		json_object_set_new(orig, "max_ttl", json_integer(max_ttl));
		if (old == NULL || !json_equal(json_object_get(old, "rrsets"), orig_sets)) {
			if (fact_set(j, "ttl_original", orig, st) < 0)
				goto done;
		}
	}
	if (apply(p, j, "ttl_lower", &srv, &s, NULL, o, res_r, &done_j, st) < 0)
		goto done;
	if (*res_r == DNSOPS_CHANGED) {
		json_object_set_new(done_j, "low_ttl", json_integer(p->low_ttl));
		json_object_set_new(done_j, "max_original_ttl", json_integer(max_ttl));
		if (fact_set(j, "ttl_lowered", done_j, st) < 0)
			goto done;
	} else if (*res_r == DNSOPS_ALREADY && !o->dry_run) {
		/* first run found it low already: still give the watcher a
		 * starting point */
		free(old_text);
		old_text = NULL;
		if (journal_fact_get(j, "ttl_lowered", &old_text, NULL, st) < 0)
			goto done;
		if (old_text == NULL) {
			done_j = stamp_json(p, s.serial);
			json_object_set_new(done_j, "rrsets", rrsets_json(s.cur, s.n));
			json_object_set_new(done_j, "low_ttl", json_integer(p->low_ttl));
			json_object_set_new(done_j, "max_original_ttl", json_integer(max_ttl));
			if (fact_set(j, "ttl_lowered", done_j, st) < 0)
				goto done;
		}
	}
	report_result(o, "ttl lower", *res_r, &s);
	ret = 0;
	goto done;
nomem:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
done:
	free(old_text);
	json_decref(old);
	json_decref(orig);
	json_decref(done_j);
	dnsops_set_clear(&s);
	return ret;
}

int dnsops_ttl_restore(const plan *p, journal *j, const dnsops_opts *o,
		       dnsops_result *res_r, cut_status *st)
{
	dns_update_server srv;
	dnsops_set s;
	char *text = NULL;
	json_t *orig = NULL, *done_j = NULL;
	size_t i;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	*res_r = DNSOPS_FAILED;
	if (j == NULL || journal_fact_get(j, "ttl_original", &text, NULL, st) < 0)
		goto done;
	if (text == NULL || (orig = json_loads(text, 0, NULL)) == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "nothing to restore: no original TTLs in the "
			       "journal of %s (`cutover ttl lower` was never "
			       "run for this plan)",
			       p->path);
		goto done;
	}
	if (primary(p, &srv, st) < 0 || watch_ttl_sets(p, &s, st) < 0 ||
	    read_sets(&srv, p, &s, st) < 0)
		goto done;
	for (i = 0; i < s.n; i++) {
		const json_t *rs = json_object_get(orig, "rrsets");
		json_t *prev;
		dns_rrset *was;

		if (s.cur[i]->n == 0)
			continue;
		prev = find_rrset_json(rs, s.cur[i]->owner,
				       dns_rrset_type_name(s.cur[i]->type));
		/* an address RRset created since: the other family's TTL */
		if (prev == NULL && s.cur[i]->type == DNS_TYPE_A)
			prev = find_rrset_json(rs, s.cur[i]->owner, "AAAA");
		if (prev == NULL && s.cur[i]->type == DNS_TYPE_AAAA)
			prev = find_rrset_json(rs, s.cur[i]->owner, "A");
		if (prev == NULL || (was = rrset_from_json(prev)) == NULL) {
			out_printf(o, "%s %s: no original TTL journaled, left as is\n",
				   s.cur[i]->owner,
				   dns_rrset_type_name(s.cur[i]->type));
			continue;
		}
		s.target[i] = dns_rrset_dup(s.cur[i]);
		if (s.target[i] == NULL) {
			dns_rrset_free(&was);
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
			goto done;
		}
		s.target[i]->ttl = was->ttl;
		dns_rrset_free(&was);
	}
	if (apply(p, j, "ttl_restore", &srv, &s, NULL, o, res_r, &done_j, st) < 0)
		goto done;
	if (*res_r == DNSOPS_CHANGED) {
		if (fact_set(j, "ttl_restored", done_j, st) < 0 ||
		    journal_fact_del(j, "ttl_lowered", st) < 0)
			goto done;
	}
	report_result(o, "ttl restore", *res_r, &s);
	ret = 0;
done:
	free(text);
	json_decref(orig);
	json_decref(done_j);
	dnsops_set_clear(&s);
	return ret;
}

/* ---- dns mx / dns imap ---- */

static dns_rrset *mx_rrset(const char *owner, const plan_mx *mx, size_t n)
{
	dns_rrset *s = dns_rrset_new(owner, DNS_TYPE_MX);
	size_t i;

	for (i = 0; s != NULL && i < n; i++)
		if (dns_rrset_add_mx(s, mx[i].pref, mx[i].host) < 0)
			dns_rrset_free(&s);
	return s;
}

static void refuse(const dnsops_opts *o, dns_rrset *const *expected,
		   const char *const *labels, size_t n_expected,
		   dns_rrset *const *found, size_t n_found)
{
	size_t i;

	for (i = 0; i < n_expected; i++) {
		out_printf(o, "expected (%s):\n", labels[i]);
		out_rrset(o, expected[i], "  ");
	}
	out_printf(o, "found:\n");
	for (i = 0; i < n_found; i++)
		out_rrset(o, found[i], "  ");
}

int dnsops_set_mx(const plan *p, journal *j, const char *which,
		  const dnsops_opts *o, dnsops_result *res_r, cut_status *st)
{
	dns_update_server srv;
	dnsops_set s;
	dns_rrset *old = NULL, *new = NULL, *want;
	json_t *extra = NULL, *done_j = NULL;
	char what[64];
	int ret = -1;

	memset(&s, 0, sizeof(s));
	*res_r = DNSOPS_FAILED;
	if (strcmp(which, "old") != 0 && strcmp(which, "new") != 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "expected old or new, not \"%s\"", which);
		goto done;
	}
	old = mx_rrset(p->mx_name, p->mx_old, p->n_mx_old);
	new = mx_rrset(p->mx_name, p->mx_new, p->n_mx_new);
	if (old == NULL || new == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: [mx] old/new are not valid MX records",
			       p->path);
		goto done;
	}
	want = strcmp(which, "new") == 0 ? new : old;
	if (primary(p, &srv, st) < 0 || watch(&s, p->mx_name, DNS_TYPE_MX) < 0 ||
	    read_sets(&srv, p, &s, st) < 0)
		goto done;
	if (dnsops_served_match(s.cur, 1, (dns_rrset *[2]){old, new}, 2) < 0) {
		dns_rrset *exp[2] = {old, new};
		const char *labels[2] = {"[mx] old", "[mx] new"};

		refuse(o, exp, labels, 2, s.cur, 1);
		*res_r = DNSOPS_REFUSED;
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
			       "refusing to change the MX of %s: the primary "
			       "serves neither [mx] old nor [mx] new (someone "
			       "else changed it?): fix the plan or the zone first",
			       p->mx_name);
		goto done;
	}
	s.target[0] = dns_rrset_dup(want);
	if (s.target[0] == NULL)
		goto done;
	/* keep the TTL served (low after `ttl lower`) */
	s.target[0]->ttl = s.cur[0]->n > 0 ? s.cur[0]->ttl : p->low_ttl;
	extra = json_pack("{s:s}", "which", which);
	if (apply(p, j, "dns_mx", &srv, &s, extra, o, res_r, &done_j, st) < 0)
		goto done;
	if (*res_r == DNSOPS_CHANGED) {
		json_object_set_new(done_j, "which", json_string(which));
		if (fact_set(j, "dns_mx", done_j, st) < 0)
			goto done;
	}
	snprintf(what, sizeof(what), "MX %s", which);
	report_result(o, what, *res_r, &s);
	ret = 0;
done:
	json_decref(extra);
	json_decref(done_j);
	dns_rrset_free(&old);
	dns_rrset_free(&new);
	dnsops_set_clear(&s);
	return ret;
}

/* Splits an address list into A and AAAA RRsets. */
static int addr_rrsets(const char *owner, const plan_addrs *a, dns_rrset **v4_r,
		       dns_rrset **v6_r)
{
	size_t i;

	*v4_r = dns_rrset_new(owner, DNS_TYPE_A);
	*v6_r = dns_rrset_new(owner, DNS_TYPE_AAAA);
	if (*v4_r == NULL || *v6_r == NULL)
		goto fail;
	for (i = 0; i < a->n; i++) {
		int fam = dns_rrset_addr_family(a->addr[i]);

		if (fam == 0 ||
		    dns_rrset_add(fam == 4 ? *v4_r : *v6_r, a->addr[i]) < 0)
			goto fail;
	}
	return 0;
fail:
	dns_rrset_free(v4_r);
	dns_rrset_free(v6_r);
	return -1;
}

int dnsops_set_imap(const plan *p, journal *j, const char *which,
		    const dnsops_opts *o, dnsops_result *res_r,
		    cut_status *st)
{
	static const char *names[3] = {"old", "new", "parking"};
	dns_update_server srv;
	dnsops_set s;
	dns_rrset *v4[3] = {NULL, NULL, NULL}, *v6[3] = {NULL, NULL, NULL};
	dns_rrset *cands[6];
	const plan_addrs *lists[3];
	json_t *extra = NULL, *done_j = NULL;
	uint32_t ttl;
	int w = -1, ret = -1;
	char what[64];
	size_t i;

	memset(&s, 0, sizeof(s));
	*res_r = DNSOPS_FAILED;
	if (p->imap_name == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: [imap] name is not set (the IMAP name moves "
			       "only in the lucky scenario)",
			       p->path);
		goto done;
	}
	lists[0] = &p->imap_old;
	lists[1] = &p->imap_new;
	lists[2] = &p->imap_parking;
	for (i = 0; i < 3; i++) {
		if (strcmp(which, names[i]) == 0)
			w = (int)i;
		if (addr_rrsets(p->imap_name, lists[i], &v4[i], &v6[i]) < 0) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s: [imap] %s holds an invalid address",
				       p->path, names[i]);
			goto done;
		}
	}
	if (w < 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "expected old, new or parking, not \"%s\"", which);
		goto done;
	}
	if (lists[w]->n == 0) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: [imap] %s is empty: refusing to delete every "
			       "address of %s",
			       p->path, which, p->imap_name);
		goto done;
	}
	if (primary(p, &srv, st) < 0 || watch(&s, p->imap_name, DNS_TYPE_A) < 0 ||
	    watch(&s, p->imap_name, DNS_TYPE_AAAA) < 0 ||
	    read_sets(&srv, p, &s, st) < 0)
		goto done;
	for (i = 0; i < 3; i++) {
		/* an empty list never matches (it would mean "no address") */
		cands[2 * i] = lists[i]->n > 0 ? v4[i] : NULL;
		cands[2 * i + 1] = v6[i];
	}
	if (dnsops_served_match(s.cur, 2, cands, 3) < 0) {
		dns_rrset *exp[6] = {v4[0], v6[0], v4[1], v6[1], v4[2], v6[2]};
		const char *labels[6] = {"[imap] old", "[imap] old",
					 "[imap] new", "[imap] new",
					 "[imap] parking", "[imap] parking"};

		refuse(o, exp, labels, 6, s.cur, 2);
		*res_r = DNSOPS_REFUSED;
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
			       "refusing to change the addresses of %s: the "
			       "primary serves none of [imap] old, new, parking "
			       "(someone else changed them?)",
			       p->imap_name);
		goto done;
	}
	ttl = s.cur[0]->n > 0 ? s.cur[0]->ttl
	      : s.cur[1]->n > 0 ? s.cur[1]->ttl
				: p->low_ttl;
	s.target[0] = dns_rrset_dup(v4[w]);
	s.target[1] = dns_rrset_dup(v6[w]);
	if (s.target[0] == NULL || s.target[1] == NULL)
		goto done;
	s.target[0]->ttl = s.target[1]->ttl = ttl;
	extra = json_pack("{s:s}", "which", which);
	if (apply(p, j, "dns_imap", &srv, &s, extra, o, res_r, &done_j, st) < 0)
		goto done;
	if (*res_r == DNSOPS_CHANGED) {
		json_object_set_new(done_j, "which", json_string(which));
		if (fact_set(j, "dns_imap", done_j, st) < 0)
			goto done;
	}
	snprintf(what, sizeof(what), "IMAP %s", which);
	report_result(o, what, *res_r, &s);
	ret = 0;
done:
	json_decref(extra);
	json_decref(done_j);
	for (i = 0; i < 3; i++) {
		dns_rrset_free(&v4[i]);
		dns_rrset_free(&v6[i]);
	}
	dnsops_set_clear(&s);
	return ret;
}

/* ---- show / check ---- */

int dnsops_show(const plan *p, const dnsops_opts *o, cut_status *st)
{
	dns_update_server srv;
	dnsops_set s;
	char server[CUT_HOST_MAX + 8];
	char *mname = NULL;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	if (primary(p, &srv, st) < 0 || watch_ttl_sets(p, &s, st) < 0 ||
	    read_sets(&srv, p, &s, st) < 0 ||
	    dns_update_read_soa(&srv, p->zone, &s.serial, &mname, st) < 0)
		goto done;
	cut_hostport_format(&srv.addr, server, sizeof(server));
	out_printf(o, "zone %s on %s: SOA serial %u, MNAME %s\n", p->zone,
		   server, (unsigned)s.serial, mname);
	for (size_t i = 0; i < s.n; i++)
		out_rrset(o, s.cur[i], "  ");
	if (o->json != NULL) {
		json_object_set_new(o->json, "zone", json_string(p->zone));
		json_object_set_new(o->json, "server", json_string(server));
		json_object_set_new(o->json, "serial",
				    json_integer((json_int_t)s.serial));
		json_object_set_new(o->json, "mname", json_string(mname));
		json_object_set_new(o->json, "rrsets", rrsets_json(s.cur, s.n));
	}
	ret = 0;
done:
	free(mname);
	dnsops_set_clear(&s);
	return ret;
}

int dnsops_check(const plan *p, cut_buf *report, cut_status *st)
{
	dnsops_opts o = {0, report, NULL};
	dns_update_server srv;
	dns_update *u = NULL;
	dns_update_reply reply;
	tsig_key *key = NULL;
	dns_rrset *old = NULL, *new = NULL;
	dnsops_set s;
	char server[CUT_HOST_MAX + 8];
	int matched, ret = -1;

	memset(&s, 0, sizeof(s));
	if (primary(p, &srv, st) < 0)
		goto failed;
	cut_hostport_format(&srv.addr, server, sizeof(server));
	if (watch(&s, p->mx_name, DNS_TYPE_MX) < 0 || read_sets(&srv, p, &s, st) < 0)
		goto failed;
	out_printf(&o, "ok: %s answers for zone %s (serial %u)\n", server,
		   p->zone, (unsigned)s.serial);
	if (p->mode == PLAN_DNS_RFC2136) {
		if (load_key(p, &key, st) < 0)
			goto failed;
		/* RFC 2136 2.4.1: "SOA exists at the apex" and no update:
		 * proves the key is accepted, changes nothing */
		u = dns_update_new(p->zone);
		if (u == NULL || dns_update_require_exists(u, p->zone, DNS_TYPE_SOA) < 0) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "cannot build the key check UPDATE");
			goto failed;
		}
		if (send_update(p, &srv, u, key, &reply, st) < 0)
			goto failed;
		out_printf(&o, "ok: %s accepts TSIG key \"%s\" for zone %s\n",
			   server, key->name, p->zone);
	}
	old = mx_rrset(p->mx_name, p->mx_old, p->n_mx_old);
	new = mx_rrset(p->mx_name, p->mx_new, p->n_mx_new);
	if (old == NULL || new == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "%s: [mx] old/new are not valid MX records", p->path);
		goto failed;
	}
	matched = dnsops_served_match(s.cur, 1, (dns_rrset *[2]){old, new}, 2);
	if (matched == 0) {
		out_printf(&o, "ok: the MX of %s is [mx] old\n", p->mx_name);
	} else if (matched == 1) {
		out_printf(&o, "ok: the MX of %s is already [mx] new\n", p->mx_name);
	} else {
		cut_buf found = CUT_BUF_INIT;

		dns_rrset_format_data(s.cur[0], &found);
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
			       "%s serves MX %s for %s: neither [mx] old nor "
			       "[mx] new",
			       server, found.data ? found.data : "", p->mx_name);
		cut_buf_free(&found);
		goto failed;
	}
	if (p->scenario == PLAN_SCENARIO_LUCKY && p->imap_name != NULL) {
		dnsops_set a;
		const plan_addrs *lists[3] = {&p->imap_old, &p->imap_new,
					      &p->imap_parking};
		static const char *names[3] = {"old", "new", "parking"};
		dns_rrset *v4[3] = {NULL, NULL, NULL}, *v6[3] = {NULL, NULL, NULL};
		dns_rrset *cands[6];
		int i;

		memset(&a, 0, sizeof(a));
		if (watch(&a, p->imap_name, DNS_TYPE_A) < 0 ||
		    watch(&a, p->imap_name, DNS_TYPE_AAAA) < 0 ||
		    read_sets(&srv, p, &a, st) < 0) {
			dnsops_set_clear(&a);
			goto failed;
		}
		for (i = 0; i < 3; i++) {
			if (addr_rrsets(p->imap_name, lists[i], &v4[i], &v6[i]) < 0)
				v4[i] = v6[i] = NULL;
			cands[2 * i] = lists[i]->n > 0 ? v4[i] : NULL;
			cands[2 * i + 1] = v6[i];
		}
		matched = dnsops_served_match(a.cur, 2, cands, 3);
		for (i = 0; i < 3; i++) {
			dns_rrset_free(&v4[i]);
			dns_rrset_free(&v6[i]);
		}
		dnsops_set_clear(&a);
		if (matched < 0) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
				       "%s: the addresses of %s are none of "
				       "[imap] old, new, parking",
				       server, p->imap_name);
			goto failed;
		}
		out_printf(&o, "ok: the addresses of %s are [imap] %s\n",
			   p->imap_name, names[matched]);
	}
	ret = 0;
	goto done;
failed:
	out_printf(&o, "FAILED: %s\n", st != NULL ? st->msg : "DNS check");
done:
	dns_rrset_free(&old);
	dns_rrset_free(&new);
	dns_update_free(&u);
	tsig_key_free(&key);
	dnsops_set_clear(&s);
	return ret;
}

int dnsops_exit_code(int ret, dnsops_result res)
{
	if (res == DNSOPS_REFUSED)
		return CUT_EXIT_REFUSED;
	return ret == 0 ? CUT_EXIT_OK : CUT_EXIT_FAILED;
}

int dnsops_cli_run(const cli_globals *g, const char *what,
		   const char *plan_path, const char *which, dnsops_cli_op *op,
		   int need_journal)
{
	cut_buf errors = CUT_BUF_INIT, out = CUT_BUF_INIT;
	dnsops_opts o;
	dnsops_result res = DNSOPS_FAILED;
	plan *p = NULL;
	journal *j = NULL;
	json_t *json = NULL;
	cut_status st;
	int ret = -1, rc = CUT_EXIT_FAILED;

	cut_status_clear(&st);
	if (plan_load(plan_path, &p, &errors) < 0) {
		fputs(errors.data != NULL ? errors.data : "", stderr);
		rc = CUT_EXIT_USAGE;
		goto done;
	}
	json = json_object();
	o.dry_run = g->dry_run;
	o.out = &out;
	o.json = json;
	if (op != NULL && (!g->dry_run || need_journal)) {
		if (journal_open(p->state_dir, &j, &st) < 0)
			goto report;
		if (!g->dry_run && (ret = journal_lock(j, &st)) < 0) {
			if (ret == JOURNAL_LOCK_HELD)
				res = DNSOPS_REFUSED;
			ret = -1;
			goto report;
		}
	}
	if (op == NULL) {
		ret = dnsops_show(p, &o, &st);
		res = ret == 0 ? DNSOPS_ALREADY : DNSOPS_FAILED;
	} else {
		ret = op(p, j, which, &o, &res, &st);
	}
report:
	rc = dnsops_exit_code(ret, res);
	if (g->json) {
		json_object_set_new(json, "command", json_string(what));
		if (ret < 0) {
			json_object_set_new(json, "result",
					    json_string(res == DNSOPS_REFUSED ? "refused"
									      : "failed"));
			json_object_set_new(json, "error", json_string(st.msg));
		} else if (res == DNSOPS_DRY_RUN) {
			json_object_set_new(json, "result", json_string("dry-run"));
			json_object_set_new(json, "update",
					    json_string(out.data != NULL ? out.data : ""));
		}
		json_dumpf(json, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		if (out.data != NULL && !(g->quiet && ret == 0))
			fputs(out.data, ret == 0 ? stdout : stderr);
	}
	if (ret < 0)
		fprintf(stderr, "cutover: %s: %s\n", what, st.msg);
done:
	json_decref(json);
	journal_close(&j);
	plan_free(&p);
	cut_buf_free(&errors);
	cut_buf_free(&out);
	return rc;
}
