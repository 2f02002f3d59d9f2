/* update.c: RFC 2136 UPDATE build/sign/send and direct reads (see update.h). */
#include "dns/update.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <openssl/rand.h>

#include "common/log.h"
#include "common/str.h"
#include "common/timeutil.h"
#include "dns/tsig.h"

#define DNS_MSG_MAX 65535

struct dns_update {
	char *zone;
	ldns_rr_list *prereq;
	ldns_rr_list *update;
};

/* ---- builder ---- */

dns_update *dns_update_new(const char *zone)
{
	dns_update *u = calloc(1, sizeof(*u));
	ldns_rdf *probe = NULL;

	if (u == NULL)
		return NULL;
	if (ldns_str2rdf_dname(&probe, zone) != LDNS_STATUS_OK)
		goto fail;
	ldns_rdf_deep_free(probe);
	u->zone = cut_strdup_printf("%s%s", zone,
				    zone[0] != '\0' && zone[strlen(zone) - 1] == '.' ? "" : ".");
	u->prereq = ldns_rr_list_new();
	u->update = ldns_rr_list_new();
	if (u->zone == NULL || u->prereq == NULL || u->update == NULL)
		goto fail;
	return u;
fail:
	dns_update_free(&u);
	return NULL;
}

void dns_update_free(dns_update **up)
{
	dns_update *u;

	if (up == NULL || *up == NULL)
		return;
	u = *up;
	free(u->zone);
	ldns_rr_list_deep_free(u->prereq);
	ldns_rr_list_deep_free(u->update);
	free(u);
	*up = NULL;
}

/* A record with no RDATA (RDLENGTH 0), as RFC 2136 uses for class ANY and
 * NONE prerequisites and deletions. */
static ldns_rr *empty_rr(const char *owner, uint16_t type, ldns_rr_class cls)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *name = NULL;

	if (rr == NULL)
		return NULL;
	if (ldns_str2rdf_dname(&name, owner) != LDNS_STATUS_OK) {
		ldns_rr_free(rr);
		return NULL;
	}
	ldns_rr_set_owner(rr, name);
	ldns_rr_set_type(rr, (ldns_rr_type)type);
	ldns_rr_set_class(rr, cls);
	ldns_rr_set_ttl(rr, 0);
	ldns_rr_set_question(rr, false);
	return rr;
}

static ldns_rr *full_rr(const char *owner, uint16_t type, uint32_t ttl,
			const char *rdata)
{
	ldns_rr *rr = NULL;
	char *text = cut_strdup_printf("%s %u IN %s %s", owner, (unsigned)ttl,
				       dns_rrset_type_name(type), rdata);

	if (text == NULL)
		return NULL;
	if (ldns_rr_new_frm_str(&rr, text, ttl, NULL, NULL) != LDNS_STATUS_OK)
		rr = NULL;
	free(text);
	return rr;
}

int dns_update_require_rrset(dns_update *u, const dns_rrset *expected)
{
	size_t i;
	ldns_rr *rr;

	if (expected->n == 0) {
		/* RFC 2136 2.4.3: RRset does not exist: class NONE, TTL 0,
		 * RDLENGTH 0 */
		rr = empty_rr(expected->owner, expected->type,
			      LDNS_RR_CLASS_NONE);
		if (rr == NULL || !ldns_rr_list_push_rr(u->prereq, rr)) {
			ldns_rr_free(rr);
			return -1;
		}
		return 0;
	}
	/* RFC 2136 2.4.2: RRset exists (value dependent): every RR of the
	 * RRset, class = zone class, TTL 0 */
	for (i = 0; i < expected->n; i++) {
		rr = full_rr(expected->owner, expected->type, 0,
			     expected->rdata[i]);
		if (rr == NULL)
			return -1;
		ldns_rr_set_ttl(rr, 0);
		if (!ldns_rr_list_push_rr(u->prereq, rr)) {
			ldns_rr_free(rr);
			return -1;
		}
	}
	return 0;
}

int dns_update_require_exists(dns_update *u, const char *owner, uint16_t type)
{
	/* RFC 2136 2.4.1: class ANY, TTL 0, RDLENGTH 0 */
	ldns_rr *rr = empty_rr(owner, type, LDNS_RR_CLASS_ANY);

	if (rr == NULL || !ldns_rr_list_push_rr(u->prereq, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

int dns_update_replace_rrset(dns_update *u, const dns_rrset *target)
{
	size_t i;
	/* RFC 2136 2.5.2: delete an RRset: class ANY, TTL 0, RDLENGTH 0 */
	ldns_rr *rr = empty_rr(target->owner, target->type, LDNS_RR_CLASS_ANY);

	if (rr == NULL || !ldns_rr_list_push_rr(u->update, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	/* RFC 2136 2.5.1: add to an RRset; the delete above comes first in
	 * the section, and RFC 2136 3.4.2 processes updates in order, so the
	 * RRset ends up exactly target, TTL included. */
	for (i = 0; i < target->n; i++) {
		rr = full_rr(target->owner, target->type, target->ttl,
			     target->rdata[i]);
		if (rr == NULL || !ldns_rr_list_push_rr(u->update, rr)) {
			ldns_rr_free(rr);
			return -1;
		}
	}
	return 0;
}

int dns_update_is_empty(const dns_update *u)
{
	return ldns_rr_list_rr_count(u->update) == 0;
}

int dns_update_to_wire(const dns_update *u, uint16_t id, uint8_t **wire_r,
		       size_t *len_r, cut_status *st)
{
	ldns_rdf *zone = NULL;
	ldns_pkt *pkt = NULL;
	int ret = -1;

	*wire_r = NULL;
	if (ldns_str2rdf_dname(&zone, u->zone) != LDNS_STATUS_OK) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "zone \"%s\" is not a domain name", u->zone);
		goto done;
	}
	/* takes ownership of zone, copies the lists */
	pkt = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, u->prereq, u->update,
				  NULL);
	if (pkt == NULL) {
		ldns_rdf_deep_free(zone);
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "cannot build the UPDATE for %s", u->zone);
		goto done;
	}
	/* ldns 1.8.3 leaves RD set and id 0 on update packets */
	ldns_pkt_set_rd(pkt, false);
	ldns_pkt_set_id(pkt, id);
	if (ldns_pkt2wire(wire_r, pkt, len_r) != LDNS_STATUS_OK) {
		*wire_r = NULL;
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "cannot encode the UPDATE for %s", u->zone);
		goto done;
	}
	ret = 0;
done:
	ldns_pkt_free(pkt);
	return ret;
}

static int format_rr(const ldns_rr *rr, const char *what, cut_buf *out)
{
	char *owner = ldns_rdf2str(ldns_rr_owner(rr));
	char *type = ldns_rr_type2str(ldns_rr_get_type(rr));
	size_t i;
	int ret = -1;

	if (owner == NULL || type == NULL)
		goto done;
	if (cut_buf_printf(out, "  %-24s %s", what, owner) < 0)
		goto done;
	if (ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
	    strncmp(what, "add", 3) == 0) {
		if (cut_buf_printf(out, " %u", (unsigned)ldns_rr_ttl(rr)) < 0)
			goto done;
	}
	if (cut_buf_printf(out, " %s", type) < 0)
		goto done;
	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));

		if (s == NULL || cut_buf_printf(out, " %s", s) < 0) {
			free(s);
			goto done;
		}
		free(s);
	}
	ret = cut_buf_puts(out, "\n");
done:
	free(owner);
	free(type);
	return ret;
}

int dns_update_format(const dns_update *u, cut_buf *out)
{
	size_t i;

	if (cut_buf_printf(out, "UPDATE zone %s IN\n", u->zone) < 0)
		return -1;
	for (i = 0; i < ldns_rr_list_rr_count(u->prereq); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(u->prereq, i);
		const char *what =
			ldns_rr_get_class(rr) == LDNS_RR_CLASS_NONE ? "require absent:"
			: ldns_rr_get_class(rr) == LDNS_RR_CLASS_ANY ? "require exists:"
								     : "require record:";

		if (format_rr(rr, what, out) < 0)
			return -1;
	}
	for (i = 0; i < ldns_rr_list_rr_count(u->update); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(u->update, i);
		const char *what = ldns_rr_get_class(rr) == LDNS_RR_CLASS_ANY
					   ? "delete rrset:"
					   : "add:";

		if (format_rr(rr, what, out) < 0)
			return -1;
	}
	return 0;
}

/* ---- transport: one request, one reply over TCP (RFC 1035 4.2.2,
 * RFC 7766) ---- */

static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		double left = deadline - cut_monotonic();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

static int tcp_connect(const cut_hostport *hp, double deadline, char *peer,
		       size_t peer_len, cut_status *st)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	char hpbuf[CUT_HOST_MAX + 8];
	int fd = -1, rc, err = 0;

	cut_hostport_format(hp, hpbuf, sizeof(hpbuf));
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)hp->port);
	rc = getaddrinfo(hp->host, port, &hints, &res);
	if (rc != 0) {
		cut_status_set(st, rc == EAI_AGAIN ? CUT_TEMP : CUT_FINAL,
			       CUT_SCOPE_SERVER, "%s: cannot resolve: %s",
			       hpbuf, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		socklen_t len = sizeof(err);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
						   SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			if (wait_fd(fd, POLLOUT, deadline) > 0 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
			    err == 0)
				break;
			if (err == 0)
				err = ETIMEDOUT;
		} else {
			err = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
			       "%s: cannot connect over TCP: %s", hpbuf,
			       strerror(err != 0 ? err : ECONNREFUSED));
		return -1;
	}
	cut_strlcpy(peer, hpbuf, peer_len);
	return fd;
}

static int io_all(int fd, uint8_t *p, size_t n, int writing, double deadline,
		  const char *peer, cut_status *st)
{
	while (n > 0) {
		ssize_t r;

		if (wait_fd(fd, writing ? POLLOUT : POLLIN, deadline) <= 0)
			return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
					      "%s: no reply (timed out)", peer);
		r = writing ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
					      "%s: %s", peer, strerror(errno));
		if (r == 0)
			return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
					      "%s: connection closed before "
					      "the reply",
					      peer);
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Sends msg and reads one reply whose id matches.  *reply_r malloc'ed. */
static int tcp_exchange(const dns_update_server *server, const uint8_t *msg,
			size_t len, uint8_t **reply_r, size_t *reply_len_r,
			cut_status *st)
{
	double timeout = server->timeout > 0 ? server->timeout : 5;
	double deadline = cut_monotonic() + timeout;
	char peer[CUT_HOST_MAX + 8];
	uint8_t hdr[2], *out = NULL, *reply = NULL;
	size_t rlen;
	unsigned ignored = 0;
	int fd, ret = -1;

	*reply_r = NULL;
	fd = tcp_connect(&server->addr, deadline, peer, sizeof(peer), st);
	if (fd < 0)
		goto done;
	out = malloc(len + 2);
	if (out == NULL)
		goto done;
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memcpy(out + 2, msg, len);
	if (io_all(fd, out, len + 2, 1, deadline, peer, st) < 0)
		goto done;
	for (;;) {
		if (io_all(fd, hdr, 2, 0, deadline, peer, st) < 0 ||
		    (rlen = (size_t)((hdr[0] << 8) | hdr[1]),
		     free(reply), reply = malloc(rlen > 0 ? rlen : 1)) == NULL ||
		    io_all(fd, reply, rlen, 0, deadline, peer, st) < 0) {
			if (ignored > 0 && st != NULL) {
				size_t used = strlen(st->msg);

				snprintf(st->msg + used, sizeof(st->msg) - used,
					 " (%u message%s with another id "
					 "ignored)",
					 ignored, ignored == 1 ? "" : "s");
			}
			goto done;
		}
		/* RFC 1035 4.1.1: the reply copies the id of the request */
		if (rlen >= 12 && reply[0] == msg[0] && reply[1] == msg[1])
			break;
		ignored++;
		cut_debug("%s: ignoring a %zu-byte message with another id",
			  peer, rlen);
	}
	*reply_r = reply;
	*reply_len_r = rlen;
	reply = NULL;
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	free(out);
	free(reply);
	return ret;
}

static uint16_t random_id(void)
{
	uint8_t b[2] = {0, 0};

	if (RAND_bytes(b, 2) != 1)
		return (uint16_t)(cut_monotonic() * 1e6);
	return (uint16_t)((b[0] << 8) | b[1]);
}

/* A DNS message (ldns parses it) that is a reply (QR, RFC 1035 4.1.1)
 * with opcode UPDATE (RFC 2136 3.8). */
static int update_reply_wellformed(const uint8_t *reply, size_t len)
{
	ldns_pkt *pkt = NULL;
	int ok;

	if (len < 12 || (reply[2] & 0x80) == 0 || ((reply[2] >> 3) & 0x0F) != 5)
		return 0;
	ok = ldns_wire2pkt(&pkt, reply, len) == LDNS_STATUS_OK;
	ldns_pkt_free(pkt);
	return ok;
}

/* ---- rcode and TSIG outcome -> sentence ---- */

const char *dns_update_rcode_name(int rcode)
{
	static __thread char buf[16];

	switch (rcode) {
	case DNS_RCODE_NOERROR: return "NOERROR";
	case DNS_RCODE_FORMERR: return "FORMERR";
	case DNS_RCODE_SERVFAIL: return "SERVFAIL";
	case DNS_RCODE_NXDOMAIN: return "NXDOMAIN";
	case DNS_RCODE_NOTIMP: return "NOTIMP";
	case DNS_RCODE_REFUSED: return "REFUSED";
	case DNS_RCODE_YXDOMAIN: return "YXDOMAIN";
	case DNS_RCODE_YXRRSET: return "YXRRSET";
	case DNS_RCODE_NXRRSET: return "NXRRSET";
	case DNS_RCODE_NOTAUTH: return "NOTAUTH";
	case DNS_RCODE_NOTZONE: return "NOTZONE";
	}
	snprintf(buf, sizeof(buf), "RCODE%d", rcode);
	return buf;
}

int dns_update_reply_trusted(const dns_update_reply *r)
{
	return r->tsig_present && r->signed_ok && !r->time_skewed;
}

cut_kind dns_update_explain(const dns_update_reply *r, const char *server,
			    const char *zone, const char *key_name, char *buf,
			    size_t n)
{
	char off[32];

	/* RFC 8945 5.2, 5.3: the TSIG error says why a signed request was
	 * rejected; it comes with rcode NOTAUTH */
	switch (r->tsig_error) {
	case DNS_TSIG_NOERROR:
		break;
	case DNS_TSIG_BADKEY:
		snprintf(buf, n,
			 "%s rejected TSIG key \"%s\" for zone %s (BADKEY: the "
			 "server does not know this key name or algorithm): "
			 "check the key name and algorithm match the server's",
			 server, key_name, zone);
		return CUT_FINAL;
	case DNS_TSIG_BADSIG:
		snprintf(buf, n,
			 "%s rejected the signature of TSIG key \"%s\" for zone "
			 "%s (BADSIG: the server knows the key name but the "
			 "secret differs): check the secret matches the server's",
			 server, key_name, zone);
		return CUT_FINAL;
	case DNS_TSIG_BADTIME:
		cut_duration_format(r->clock_offset < 0 ? -r->clock_offset
							: r->clock_offset,
				    off, sizeof(off));
		if (r->clock_offset < 0) {
			snprintf(buf, n,
				 "%s rejected TSIG key \"%s\" for zone %s because "
				 "of the time (BADTIME): the server's clock is %s "
				 "behind ours (offset -%s, allowed %d s): "
				 "synchronise the clocks (NTP)",
				 server, key_name, zone, off, off, DNS_TSIG_FUDGE);
		} else {
			snprintf(buf, n,
				 "%s rejected TSIG key \"%s\" for zone %s because "
				 "of the time (BADTIME): the server's clock is %s "
				 "ahead of ours (offset +%s, allowed %d s): "
				 "synchronise the clocks (NTP)",
				 server, key_name, zone, off, off, DNS_TSIG_FUDGE);
		}
		return CUT_FINAL;
	default:
		snprintf(buf, n,
			 "%s rejected TSIG key \"%s\" for zone %s (TSIG error %u)",
			 server, key_name, zone, (unsigned)r->tsig_error);
		return CUT_FINAL;
	}
	if (r->tsig_present && !r->signed_ok) {
		/* RFC 8945 5.3: a reply to a signed request is signed with
		 * the same key; one whose MAC does not verify may be forged */
		snprintf(buf, n,
			 "%s answered the UPDATE of zone %s (%s) with a TSIG "
			 "signature that does not verify with key \"%s\": the "
			 "reply may be forged or corrupted and is not trusted; "
			 "nothing is counted as done (check the records with "
			 "`cutover dns show`; re-running is safe)",
			 server, zone, dns_update_rcode_name(r->rcode), key_name);
		return CUT_FINAL;
	}
	if (r->tsig_present && r->signed_ok && r->time_skewed) {
		/* RFC 8945 5.4.3: a reply signed outside the fudge of our
		 * clock may be an old reply played back */
		double a = r->reply_time_offset < 0 ? -r->reply_time_offset
						    : r->reply_time_offset;

		cut_duration_format(a, off, sizeof(off));
		snprintf(buf, n,
			 "%s answered the UPDATE of zone %s (%s) with a reply "
			 "signed by key \"%s\" whose time is %s %s our clock "
			 "(offset %s%s, allowed %u s, RFC 8945 5.4.3): the "
			 "reply may be an old one played back and is not "
			 "trusted; nothing is counted as done (synchronise the "
			 "clocks (NTP); check the records with `cutover dns "
			 "show`; re-running is safe)",
			 server, zone, dns_update_rcode_name(r->rcode), key_name,
			 off, r->reply_time_offset < 0 ? "behind" : "ahead of",
			 r->reply_time_offset < 0 ? "-" : "+", off,
			 r->time_allowed);
		return CUT_FINAL;
	}
	if (!r->tsig_present && r->rcode == DNS_RCODE_NOERROR) {
		snprintf(buf, n,
			 "%s answered the UPDATE of zone %s without a TSIG "
			 "signature although it was signed with key \"%s\" "
			 "(RFC 8945 5.3): the reply cannot be trusted; nothing "
			 "is counted as done (check the records with `cutover "
			 "dns show`; re-running is safe)",
			 server, zone, key_name);
		return CUT_FINAL;
	}
	switch (r->rcode) {
	case DNS_RCODE_NOERROR:
		snprintf(buf, n, "%s accepted the UPDATE of zone %s (key \"%s\")",
			 server, zone, key_name);
		return CUT_OK;
	case DNS_RCODE_REFUSED:
		snprintf(buf, n,
			 "%s refused the UPDATE of zone %s with key \"%s\" "
			 "(REFUSED): the key is not allowed to update this zone "
			 "(BIND update-policy/allow-update, Knot acl), or %s is "
			 "not the zone's primary: check [dns] server and the "
			 "server's policy",
			 server, zone, key_name, server);
		return CUT_FINAL;
	case DNS_RCODE_NOTAUTH:
		snprintf(buf, n,
			 "%s is not authoritative for zone %s (NOTAUTH): check "
			 "[dns] zone and [dns] server",
			 server, zone);
		return CUT_FINAL;
	case DNS_RCODE_NOTZONE:
		snprintf(buf, n,
			 "%s: a record of the UPDATE is outside zone %s "
			 "(NOTZONE): check [mx] name and [imap] name are inside "
			 "the zone",
			 server, zone);
		return CUT_FINAL;
	case DNS_RCODE_NXRRSET:
	case DNS_RCODE_YXRRSET:
	case DNS_RCODE_NXDOMAIN:
	case DNS_RCODE_YXDOMAIN:
		/* RFC 2136 3.2.5: the server checked the prerequisites and
		 * applied nothing */
		snprintf(buf, n,
			 "%s: prerequisite failed for zone %s (%s) on the UPDATE "
			 "signed with key \"%s\": the records changed since "
			 "they were read (someone else edited them); nothing "
			 "was changed",
			 server, zone, dns_update_rcode_name(r->rcode),
			 key_name);
		return CUT_FINAL;
	case DNS_RCODE_SERVFAIL:
		snprintf(buf, n,
			 "%s failed to apply the UPDATE of zone %s (SERVFAIL): "
			 "see the server's log (zone not loaded, journal not "
			 "writable...)",
			 server, zone);
		return CUT_TEMP;
	case DNS_RCODE_NOTIMP:
		snprintf(buf, n,
			 "%s does not support dynamic updates (NOTIMP) for zone "
			 "%s: use [dns] mode = manual or enable updates",
			 server, zone);
		return CUT_FINAL;
	case DNS_RCODE_FORMERR:
		snprintf(buf, n,
			 "%s could not parse the UPDATE of zone %s (FORMERR)",
			 server, zone);
		return CUT_FINAL;
	default:
		snprintf(buf, n, "%s answered the UPDATE of zone %s with %s",
			 server, zone, dns_update_rcode_name(r->rcode));
		return CUT_FINAL;
	}
}

int dns_update_send(const dns_update_server *server, const dns_update *u,
		    const tsig_key *key, dns_update_reply *reply_r,
		    cut_status *st)
{
	unsigned attempts = server->attempts > 0 ? server->attempts : 3;
	uint8_t mac[DNS_TSIG_MAC_MAX];
	uint8_t *wire = NULL, *signed_msg = NULL, *reply = NULL;
	size_t len, slen, rlen, mlen;
	char peer[CUT_HOST_MAX + 8], sentence[CUT_STATUS_MSG_MAX];
	dns_tsig_result tr;
	cut_kind kind;
	double signed_at = 0;
	int ret = -1;

	memset(reply_r, 0, sizeof(*reply_r));
	cut_hostport_format(&server->addr, peer, sizeof(peer));
	while (reply_r->attempts < attempts) {
		reply_r->attempts++;
		free(wire);
		free(signed_msg);
		free(reply);
		wire = signed_msg = reply = NULL;
		if (dns_update_to_wire(u, random_id(), &wire, &len, st) < 0)
			goto done;
		/* cut_now() carries the test clock offset (BADTIME tests) */
		signed_at = (double)(uint64_t)cut_now();
		if (dns_tsig_sign(key, wire, len, (uint64_t)signed_at,
				  DNS_TSIG_FUDGE, &signed_msg, &slen, mac,
				  &mlen, st) < 0)
			goto done;
		if (tcp_exchange(server, signed_msg, slen, &reply, &rlen, st) < 0) {
			if (st != NULL && st->kind == CUT_TEMP &&
			    reply_r->attempts < attempts) {
				cut_warn("%s (attempt %u of %u, retrying)",
					 st->msg, reply_r->attempts, attempts);
				continue;
			}
			cut_status_prefix(st, "UPDATE of zone %s, attempt %u of "
					      "%u: ",
					  u->zone, reply_r->attempts, attempts);
			goto done;
		}
		break;
	}
	reply_r->rcode = -1;
	if (!update_reply_wellformed(reply, rlen)) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
			       "%s sent a malformed reply (%zu bytes) to the "
			       "UPDATE of zone %s: whether it was applied is "
			       "unknown; nothing is counted as done (re-running "
			       "is safe: the prerequisites stop a second change)",
			       peer, rlen, u->zone);
		goto done;
	}
	reply_r->rcode = reply[3] & 0x0F;
	if (dns_tsig_verify(key, reply, rlen, mac, mlen, &tr, st) < 0) {
		cut_status_prefix(st, "%s: ", peer);
		goto done;
	}
	reply_r->tsig_error = tr.error;
	reply_r->tsig_present = tr.present;
	reply_r->signed_ok = tr.present && tr.key_matches && tr.verified;
	if (tr.error == DNS_TSIG_BADTIME)
		reply_r->clock_offset = (double)tr.server_time - signed_at;
	if (reply_r->signed_ok) {
		int64_t skew = 0;

		/* RFC 8945 5.4.3: the MAC verified; now the time, against
		 * our clock as the reply arrives (cut_now() carries the
		 * test clock offset like the signing time) */
		if (!dns_tsig_time_ok(&tr, (uint64_t)cut_now(), &skew,
				      &reply_r->time_allowed)) {
			reply_r->time_skewed = 1;
			reply_r->reply_time_offset = (double)skew;
		}
	}
	kind = dns_update_explain(reply_r, peer, u->zone, key->name, sentence,
				  sizeof(sentence));
	if (kind != CUT_OK && !tr.present &&
	    reply_r->rcode != DNS_RCODE_NOERROR) {
		size_t used = strlen(sentence);

		snprintf(sentence + used, sizeof(sentence) - used,
			 " (the reply was not signed)");
	}
	if (kind != CUT_OK) {
		cut_status_set(st, kind, CUT_SCOPE_SERVER, "%s", sentence);
		goto done;
	}
	cut_debug("%s", sentence);
	ret = 0;
done:
	free(wire);
	free(signed_msg);
	free(reply);
	return ret;
}

/* ---- direct reads ---- */

/* One query (RD=0) over TCP; *pkt_r caller-owned. */
static int query(const dns_update_server *server, const char *name,
		 uint16_t type, ldns_pkt **pkt_r, cut_status *st)
{
	unsigned attempts = server->attempts > 0 ? server->attempts : 3;
	ldns_rdf *qname = NULL;
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL, *reply = NULL;
	size_t len, rlen;
	unsigned i;
	int ret = -1;

	*pkt_r = NULL;
	if (ldns_str2rdf_dname(&qname, name) != LDNS_STATUS_OK) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "\"%s\" is not a domain name", name);
		goto done;
	}
	/* takes ownership of qname; flags 0: RD clear (a direct question
	 * to the authoritative server) */
	q = ldns_pkt_query_new(qname, (ldns_rr_type)type, LDNS_RR_CLASS_IN, 0);
	if (q == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL, "out of memory");
		goto done;
	}
	for (i = 0; i < attempts; i++) {
		free(wire);
		free(reply);
		wire = reply = NULL;
		ldns_pkt_set_id(q, random_id());
		if (ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK) {
			wire = NULL;
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "cannot encode a query for %s", name);
			goto done;
		}
		if (tcp_exchange(server, wire, len, &reply, &rlen, st) == 0)
			break;
		if (st == NULL || st->kind != CUT_TEMP || i + 1 == attempts)
			goto done;
		cut_debug("%s (retrying)", st->msg);
	}
	if (ldns_wire2pkt(pkt_r, reply, rlen) != LDNS_STATUS_OK) {
		char peer[CUT_HOST_MAX + 8];

		*pkt_r = NULL;
		cut_hostport_format(&server->addr, peer, sizeof(peer));
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
			       "%s: malformed reply to the query %s %s", peer,
			       name, dns_rrset_type_name(type));
		goto done;
	}
	ret = 0;
done:
	ldns_pkt_free(q);
	free(wire);
	free(reply);
	return ret;
}

static int check_answer(const dns_update_server *server, ldns_pkt *pkt,
			const char *name, uint16_t type, cut_status *st)
{
	char peer[CUT_HOST_MAX + 8];
	int rcode = ldns_pkt_get_rcode(pkt);

	cut_hostport_format(&server->addr, peer, sizeof(peer));
	if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN)
		return cut_status_set(st,
				      rcode == DNS_RCODE_SERVFAIL ? CUT_TEMP
								  : CUT_FINAL,
				      CUT_SCOPE_SERVER,
				      "%s answered %s to %s %s: is it "
				      "authoritative for the zone?",
				      peer, dns_update_rcode_name(rcode), name,
				      dns_rrset_type_name(type));
	if (!ldns_pkt_aa(pkt))
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
				      "%s is not authoritative for %s (no AA "
				      "flag): check [dns] server",
				      peer, name);
	return 0;
}

static char *rr_rdata_str(const ldns_rr *rr)
{
	cut_buf b = CUT_BUF_INIT;
	size_t i;

	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));

		if (s == NULL || cut_buf_printf(&b, "%s%s", i > 0 ? " " : "", s) < 0) {
			free(s);
			cut_buf_free(&b);
			return NULL;
		}
		free(s);
	}
	if (b.data == NULL)
		return strdup("");
	return cut_buf_steal(&b);
}

int dns_update_read_rrset(const dns_update_server *server, const char *owner,
			  uint16_t type, dns_rrset **rrset_r, cut_status *st)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *ans;
	dns_rrset *s = NULL;
	char peer[CUT_HOST_MAX + 8];
	size_t i;
	int ret = -1;

	*rrset_r = NULL;
	cut_hostport_format(&server->addr, peer, sizeof(peer));
	s = dns_rrset_new(owner, type);
	if (s == NULL) {
		cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
			       "\"%s\" is not a domain name", owner);
		goto done;
	}
	if (query(server, owner, type, &pkt, st) < 0 ||
	    check_answer(server, pkt, owner, type, st) < 0)
		goto done;
	ans = ldns_pkt_answer(pkt);
	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);
		char *data;

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
				       "%s: %s is an alias (CNAME); cutover "
				       "changes the records at the canonical "
				       "name: set that name in the plan",
				       peer, owner);
			goto done;
		}
		if ((uint16_t)ldns_rr_get_type(rr) != type)
			continue;
		data = rr_rdata_str(rr);
		if (data == NULL || dns_rrset_add(s, data) < 0) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
				       "%s: cannot read the %s record \"%s\" "
				       "of %s",
				       peer, dns_rrset_type_name(type),
				       data != NULL ? data : "?", owner);
			free(data);
			goto done;
		}
		free(data);
		/* RFC 2181 5.2: all TTLs of an RRset are equal; keep the
		 * lowest if a server disagrees */
		if (s->n == 1 || ldns_rr_ttl(rr) < s->ttl)
			s->ttl = ldns_rr_ttl(rr);
	}
	*rrset_r = s;
	s = NULL;
	ret = 0;
done:
	dns_rrset_free(&s);
	ldns_pkt_free(pkt);
	return ret;
}

int dns_update_read_soa(const dns_update_server *server, const char *zone,
			uint32_t *serial_r, char **mname_r, cut_status *st)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *ans;
	char peer[CUT_HOST_MAX + 8];
	size_t i;
	int ret = -1;

	if (mname_r != NULL)
		*mname_r = NULL;
	cut_hostport_format(&server->addr, peer, sizeof(peer));
	if (query(server, zone, DNS_TYPE_SOA, &pkt, st) < 0 ||
	    check_answer(server, pkt, zone, DNS_TYPE_SOA, st) < 0)
		goto done;
	ans = ldns_pkt_answer(pkt);
	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_rd_count(rr) < 3)
			continue;
		/* RFC 1035 3.3.13: MNAME RNAME SERIAL ... */
		*serial_r = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
		if (mname_r != NULL) {
			*mname_r = ldns_rdf2str(ldns_rr_rdf(rr, 0));
			if (*mname_r == NULL)
				break;
		}
		ret = 0;
		goto done;
	}
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
		       "%s: no SOA for %s in the answer: is %s the apex of a "
		       "zone served there? check [dns] zone",
		       peer, zone, zone);
done:
	ldns_pkt_free(pkt);
	return ret;
}

int dns_update_read_addrs(const dns_update_server *server, const char *name,
			  dns_rrset **a_r, dns_rrset **aaaa_r, cut_status *st)
{
	*a_r = NULL;
	*aaaa_r = NULL;
	if (dns_update_read_rrset(server, name, DNS_TYPE_A, a_r, st) < 0)
		return -1;
	if (dns_update_read_rrset(server, name, DNS_TYPE_AAAA, aaaa_r, st) < 0) {
		dns_rrset_free(a_r);
		return -1;
	}
	return 0;
}
