/*
 * query.c: parallel direct queries (c-ares, one channel per address) and
 * the pure answer parser (ldns).  c-ares and ldns codes stop here: callers
 * see outcomes, sentences and cut_status.
 */
#include "dns/query.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <ldns/ldns.h>

#include "common/buf.h"
#include "common/str.h"
#include "common/timeutil.h"

/* ---- answers (pure) ---- */

const char *dns_rcode_name(int rcode, char *buf, size_t n)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
		"NOTZONE",
	};

	if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, n, "RCODE%d", rcode);
	return buf;
}

const char *dns_type_name(uint16_t type, char *buf, size_t n)
{
	switch (type) {
	case DNS_TYPE_A:
		return "A";
	case DNS_TYPE_NS:
		return "NS";
	case DNS_TYPE_CNAME:
		return "CNAME";
	case DNS_TYPE_SOA:
		return "SOA";
	case DNS_TYPE_MX:
		return "MX";
	case DNS_TYPE_AAAA:
		return "AAAA";
	}
	snprintf(buf, n, "TYPE%u", (unsigned)type);
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dns_rdata_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

void dns_answer_clear(dns_answer *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n_rdata; i++)
		free(a->rdata[i]);
	free(a->rdata);
	memset(a, 0, sizeof(*a));
}

/* The rdata of rr in presentation form, fields separated by one space. */
static char *rdata_text(const ldns_rr *rr)
{
	cut_buf b = CUT_BUF_INIT;
	size_t i;
	char *s;

	b.limit = 4096;
	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		s = ldns_rdf2str(ldns_rr_rdf(rr, i));
		if (s == NULL || (i > 0 && cut_buf_puts(&b, " ") < 0) ||
		    cut_buf_puts(&b, s) < 0) {
			free(s);
			cut_buf_free(&b);
			return NULL;
		}
		free(s);
	}
	if (cut_buf_puts(&b, "") < 0) {
		cut_buf_free(&b);
		return NULL;
	}
	return cut_buf_steal(&b);
}

/* Presentation text of a domain name rdf, lower case, into buf. */
static int dname_text(const ldns_rdf *rdf, char *buf, size_t n)
{
	char *s = ldns_rdf2str(rdf);
	size_t i;

	if (s == NULL)
		return -1;
	cut_strlcpy(buf, s, n);
	free(s);
	for (i = 0; buf[i] != '\0'; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
	return 0;
}

static uint32_t rdf_u32(const ldns_rdf *rdf)
{
	if (rdf == NULL || ldns_rdf_size(rdf) != 4)
		return 0;
	return ldns_rdf2native_int32(rdf);
}

/* RFC 1035 3.3.13: SOA fields MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM. */
static int take_soa(dns_answer *a, const ldns_rr *rr)
{
	if (ldns_rr_rd_count(rr) != 7)
		return -1;
	a->has_soa = 1;
	a->soa_ttl = ldns_rr_ttl(rr);
	a->soa_serial = rdf_u32(ldns_rr_rdf(rr, 2));
	a->soa_minimum = rdf_u32(ldns_rr_rdf(rr, 6));
	if (dname_text(ldns_rr_owner(rr), a->soa_owner, sizeof(a->soa_owner)) <
		    0 ||
	    dname_text(ldns_rr_rdf(rr, 0), a->soa_mname, sizeof(a->soa_mname)) <
		    0)
		return -1;
	return 0;
}

int dns_answer_parse(const unsigned char *wire, size_t len, const char *qname,
		     uint16_t qtype, dns_answer *ans_r, cut_status *st)
{
	ldns_pkt *pkt = NULL;
	ldns_rdf *want = NULL;
	ldns_rr_list *sec;
	dns_answer a;
	size_t i;
	int status = -1;
	int lower_names = qtype == DNS_TYPE_MX || qtype == DNS_TYPE_NS ||
			  qtype == DNS_TYPE_CNAME;

	memset(&a, 0, sizeof(a));
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
			       "malformed DNS reply (%zu bytes)", len);
		goto done;
	}
	if (ldns_str2rdf_dname(&want, qname) != LDNS_STATUS_OK) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_NONE,
			       "\"%s\" is not a valid domain name", qname);
		goto done;
	}
	ldns_dname2canonical(want);
	/* RFC 1035 4.1.2: the reply repeats the question. */
	sec = ldns_pkt_question(pkt);
	if (!ldns_pkt_qr(pkt) || sec == NULL ||
	    ldns_rr_list_rr_count(sec) != 1 ||
	    ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(sec, 0)), want) !=
		    0 ||
	    (uint16_t)ldns_rr_get_type(ldns_rr_list_rr(sec, 0)) != qtype) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
			       "DNS reply does not answer the question asked");
		goto done;
	}
	a.rcode = (int)ldns_pkt_get_rcode(pkt);
	a.aa = ldns_pkt_aa(pkt);
	a.tc = ldns_pkt_tc(pkt);
	a.ra = ldns_pkt_ra(pkt);

	sec = ldns_pkt_answer(pkt);
	for (i = 0; sec != NULL && i < ldns_rr_list_rr_count(sec); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(sec, i);
		uint16_t type = (uint16_t)ldns_rr_get_type(rr);
		char *text;

		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_dname_compare(ldns_rr_owner(rr), want) != 0)
			continue;
		if (type == DNS_TYPE_CNAME && qtype != DNS_TYPE_CNAME &&
		    ldns_rr_rd_count(rr) == 1) {
			a.has_cname = 1;
			if (dname_text(ldns_rr_rdf(rr, 0), a.cname,
				       sizeof(a.cname)) < 0)
				goto oom;
			continue;
		}
		if (type != qtype)
			continue;
		if (type == DNS_TYPE_SOA && take_soa(&a, rr) < 0) {
			cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
				       "malformed SOA record in DNS reply");
			goto done;
		}
		if (a.n_rdata == DNS_ANSWER_MAX_RR) {
			cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
				       "DNS reply holds more than %d records "
				       "for %s",
				       DNS_ANSWER_MAX_RR, qname);
			goto done;
		}
		if (a.rdata == NULL) {
			a.rdata = calloc(DNS_ANSWER_MAX_RR, sizeof(*a.rdata));
			if (a.rdata == NULL)
				goto oom;
		}
		text = rdata_text(rr);
		if (text == NULL)
			goto oom;
		if (lower_names) {
			size_t k;

			for (k = 0; text[k] != '\0'; k++)
				text[k] = (char)tolower((unsigned char)text[k]);
		}
		a.rdata[a.n_rdata++] = text;
		if (a.n_rdata == 1 || ldns_rr_ttl(rr) > a.ttl)
			a.ttl = ldns_rr_ttl(rr);
		if (a.n_rdata == 1 || ldns_rr_ttl(rr) < a.ttl_min)
			a.ttl_min = ldns_rr_ttl(rr);
	}
	if (a.n_rdata > 1)
		qsort(a.rdata, a.n_rdata, sizeof(*a.rdata), cmp_str);

	/* RFC 2308 3: a negative answer carries the zone's SOA in the
	 * authority section; its TTL and MINIMUM bound negative caching. */
	sec = ldns_pkt_authority(pkt);
	for (i = 0; !a.has_soa && sec != NULL && i < ldns_rr_list_rr_count(sec);
	     i++) {
		const ldns_rr *rr = ldns_rr_list_rr(sec, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
		    take_soa(&a, rr) < 0) {
			cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
				       "malformed SOA record in DNS reply");
			goto done;
		}
	}
	*ans_r = a;
	memset(&a, 0, sizeof(a));
	status = 0;
	goto done;
oom:
	cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL,
		       "out of memory parsing a DNS reply");
done:
	dns_answer_clear(&a);
	ldns_rdf_deep_free(want);
	ldns_pkt_free(pkt);
	return status;
}

/* ---- parallel queries (c-ares) ---- */

typedef struct query_slot {
	dns_query *q;
	double start;
} query_slot;

static void on_reply(void *arg, int status, int timeouts, unsigned char *abuf,
		     int alen)
{
	query_slot *slot = arg;
	dns_query *q = slot->q;

	(void)timeouts;
	q->rtt = cut_monotonic() - slot->start;
	if (status == ARES_SUCCESS && abuf != NULL && alen > 0) {
		q->wire = malloc((size_t)alen);
		if (q->wire == NULL) {
			q->outcome = DNS_QUERY_ERROR;
			cut_strlcpy(q->why, "out of memory", sizeof(q->why));
			return;
		}
		memcpy(q->wire, abuf, (size_t)alen);
		q->wire_len = (size_t)alen;
		q->outcome = DNS_QUERY_REPLY;
		return;
	}
	switch (status) {
	case ARES_ETIMEOUT:
		q->outcome = DNS_QUERY_UNREACHABLE;
		snprintf(q->why, sizeof(q->why), "no reply within %.1fs",
			 q->rtt);
		break;
	case ARES_ECONNREFUSED:
		q->outcome = DNS_QUERY_UNREACHABLE;
		cut_strlcpy(q->why, "connection refused", sizeof(q->why));
		break;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		q->outcome = DNS_QUERY_UNREACHABLE;
		cut_strlcpy(q->why, "no reply before the deadline",
			    sizeof(q->why));
		break;
	case ARES_ENOMEM:
		q->outcome = DNS_QUERY_ERROR;
		cut_strlcpy(q->why, "out of memory", sizeof(q->why));
		break;
	default:
		q->outcome = DNS_QUERY_UNREACHABLE;
		snprintf(q->why, sizeof(q->why), "query failed: %s",
			 ares_strerror(status));
		break;
	}
}

/* A channel that sends to exactly one address. */
static int channel_open(const char *addr, uint16_t port, double timeout,
			ares_channel *ch_r, char *why, size_t why_len)
{
	struct ares_options opts;
	struct ares_addr_port_node server;
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	int rc;

	memset(&opts, 0, sizeof(opts));
	memset(&server, 0, sizeof(server));
	/* NOCHECKRESP: REFUSED/SERVFAIL come back as packets, not as a
	 * reason to try another server.  The question is built by us. */
	opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH |
		     ARES_FLAG_NOALIASES;
	opts.timeout = (int)(timeout * 1000 / 2);
	if (opts.timeout < 100)
		opts.timeout = 100;
	opts.tries = 2;
#ifdef ARES_OPT_QUERY_CACHE
	/* Newer c-ares caches answers: we must see what the server serves. */
	opts.qcache_max_ttl = 0;
	mask |= ARES_OPT_QUERY_CACHE;
#endif
	if (addr[0] == '\0') {
		server.family = 0; /* the system's resolvers (resolv.conf) */
	} else if (inet_pton(AF_INET, addr, &server.addr.addr4) == 1) {
		server.family = AF_INET;
	} else if (inet_pton(AF_INET6, addr, &server.addr.addr6) == 1) {
		server.family = AF_INET6;
	} else {
		snprintf(why, why_len, "%s is not an IP address", addr);
		return -1;
	}
	server.udp_port = port;
	server.tcp_port = port;
	rc = ares_init_options(ch_r, &opts, mask);
	if (rc != ARES_SUCCESS) {
		snprintf(why, why_len, "DNS library: %s", ares_strerror(rc));
		return -1;
	}
	if (server.family == 0)
		return 0;
	rc = ares_set_servers_ports(*ch_r, &server);
	if (rc != ARES_SUCCESS) {
		snprintf(why, why_len, "DNS library: %s", ares_strerror(rc));
		ares_destroy(*ch_r);
		*ch_r = NULL;
		return -1;
	}
	return 0;
}

/* The wire form of the question (ldns), malloc'ed into *wire_r. */
static int build_query(const dns_query *q, uint8_t **wire_r, size_t *len_r)
{
	ldns_rdf *name = NULL;
	ldns_pkt *pkt = NULL;
	int status = -1;

	if (ldns_str2rdf_dname(&name, q->qname) != LDNS_STATUS_OK)
		goto done;
	/* RD only for resolvers: authoritative answers must not recurse. */
	pkt = ldns_pkt_query_new(name, (ldns_rr_type)q->qtype,
				 LDNS_RR_CLASS_IN, q->rd ? LDNS_RD : 0);
	name = NULL; /* owned by pkt now */
	if (pkt == NULL)
		goto done;
	if (ldns_pkt2wire(wire_r, pkt, len_r) != LDNS_STATUS_OK)
		goto done;
	status = 0;
done:
	ldns_rdf_deep_free(name);
	ldns_pkt_free(pkt);
	return status;
}

int dns_query_run(dns_query *q, size_t n, double timeout, cut_status *st)
{
	ares_channel *ch = NULL;
	size_t *ch_of = NULL; /* query index -> channel index */
	query_slot *slots = NULL;
	struct pollfd *pfds = NULL;
	size_t *pfd_ch = NULL; /* pfds[i] belongs to ch[pfd_ch[i]] */
	size_t n_ch = 0, i, k;
	double deadline;
	int status = -1;

	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "the c-ares DNS library failed to initialise");
		return -1;
	}
	if (n == 0) {
		status = 0;
		goto done;
	}
	ch = calloc(n, sizeof(*ch));
	ch_of = calloc(n, sizeof(*ch_of));
	slots = calloc(n, sizeof(*slots));
	if (ch == NULL || ch_of == NULL || slots == NULL) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		uint8_t *wire = NULL;
		size_t len = 0;

		free(q[i].wire);
		q[i].wire = NULL;
		q[i].wire_len = 0;
		q[i].why[0] = '\0';
		q[i].outcome = DNS_QUERY_PENDING;
		q[i].rtt = 0;
		/* One channel per address:port, shared by its questions. */
		for (k = 0; k < i; k++)
			if (q[k].port == q[i].port &&
			    strcmp(q[k].addr, q[i].addr) == 0)
				break;
		if (k < i) {
			ch_of[i] = ch_of[k];
			if (ch[ch_of[i]] == NULL) {
				q[i].outcome = q[k].outcome;
				cut_strlcpy(q[i].why, q[k].why, sizeof(q[i].why));
				continue;
			}
		} else {
			ch_of[i] = n_ch++;
			if (channel_open(q[i].addr, q[i].port, timeout,
					 &ch[ch_of[i]], q[i].why,
					 sizeof(q[i].why)) < 0) {
				q[i].outcome = DNS_QUERY_ERROR;
				continue;
			}
		}
		if (build_query(&q[i], &wire, &len) < 0) {
			q[i].outcome = DNS_QUERY_ERROR;
			snprintf(q[i].why, sizeof(q[i].why),
				 "cannot build a query for \"%s\"", q[i].qname);
			continue;
		}
		slots[i].q = &q[i];
		slots[i].start = cut_monotonic();
		ares_send(ch[ch_of[i]], wire, (int)len, on_reply, &slots[i]);
		free(wire);
	}

	/* One event loop over every channel, on poll(): descriptors above
	 * FD_SETSIZE (a process with many files open) are fine. */
	pfds = calloc(n_ch * ARES_GETSOCK_MAXNUM + 1, sizeof(*pfds));
	pfd_ch = calloc(n_ch * ARES_GETSOCK_MAXNUM + 1, sizeof(*pfd_ch));
	if (pfds == NULL || pfd_ch == NULL) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	deadline = cut_monotonic() + timeout + 0.5;
	for (;;) {
		struct timeval tv = {0, 200000};
		int busy = 0, r;
		size_t np = 0;

		for (k = 0; k < n_ch; k++) {
			ares_socket_t socks[ARES_GETSOCK_MAXNUM];
			int bits, b;

			if (ch[k] == NULL)
				continue;
			bits = ares_getsock(ch[k], socks, ARES_GETSOCK_MAXNUM);
			for (b = 0; b < ARES_GETSOCK_MAXNUM; b++) {
				short ev = 0;

				/* ARES_GETSOCK_READABLE/WRITABLE, without
				 * the signed shift of the c-ares macros */
				if ((unsigned)bits & (1u << b))
					ev |= POLLIN;
				if ((unsigned)bits &
				    (1u << (b + ARES_GETSOCK_MAXNUM)))
					ev |= POLLOUT;
				if (ev == 0)
					continue;
				pfds[np].fd = socks[b];
				pfds[np].events = ev;
				pfd_ch[np] = k;
				np++;
			}
			ares_timeout(ch[k], &tv, &tv);
		}
		for (i = 0; i < n; i++)
			if (q[i].outcome == DNS_QUERY_PENDING)
				busy = 1;
		if (!busy)
			break;
		if (cut_monotonic() > deadline) {
			for (k = 0; k < n_ch; k++)
				if (ch[k] != NULL)
					ares_cancel(ch[k]);
			break;
		}
		r = poll(pfds, np, (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000) + 1);
		if (r < 0 && errno != EINTR) {
			cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL,
				       "poll: %s", strerror(errno));
			goto done;
		}
		/* Ready descriptors to the channel that owns them, then
		 * timeouts everywhere. */
		for (i = 0; r > 0 && i < np; i++) {
			ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

			if (pfds[i].revents & (POLLIN | POLLERR | POLLHUP))
				rfd = pfds[i].fd;
			if (pfds[i].revents & (POLLOUT | POLLERR | POLLHUP))
				wfd = pfds[i].fd;
			if (rfd != ARES_SOCKET_BAD || wfd != ARES_SOCKET_BAD)
				ares_process_fd(ch[pfd_ch[i]], rfd, wfd);
		}
		for (k = 0; k < n_ch; k++)
			if (ch[k] != NULL)
				ares_process_fd(ch[k], ARES_SOCKET_BAD,
						ARES_SOCKET_BAD);
	}
	status = 0;
done:
	for (k = 0; ch != NULL && k < n_ch; k++)
		if (ch[k] != NULL)
			ares_destroy(ch[k]); /* pending callbacks: EDESTRUCTION */
	for (i = 0; i < n; i++)
		if (q[i].outcome == DNS_QUERY_PENDING) {
			q[i].outcome = DNS_QUERY_UNREACHABLE;
			cut_strlcpy(q[i].why, "no reply", sizeof(q[i].why));
		}
	free(ch);
	free(ch_of);
	free(slots);
	free(pfds);
	free(pfd_ch);
	ares_library_cleanup();
	return status;
}

void dns_query_clear(dns_query *q, size_t n)
{
	size_t i;

	for (i = 0; q != NULL && i < n; i++) {
		free(q[i].wire);
		q[i].wire = NULL;
		q[i].wire_len = 0;
		q[i].outcome = DNS_QUERY_PENDING;
	}
}
