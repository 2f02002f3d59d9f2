/* hostport.c: host[:port] parsing (see hostport.h). */
#include "common/hostport.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/str.h"

int cut_ip_family(const char *s)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, s, buf) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return 6;
	return 0;
}

int cut_is_ip_literal(const char *s)
{
	return cut_ip_family(s) != 0;
}

static int hostname_valid(const char *h)
{
	size_t len = strlen(h);

	if (len == 0 || len > 253 + 1)
		return 0;
	for (const char *p = h; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!(isalnum(c) || c == '-' || c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

int cut_hostport_parse(const char *s, uint16_t default_port, cut_hostport *hp,
		       const char **why_r)
{
	const char *colon, *portstr = NULL;
	size_t hlen;
	uint64_t port;

	memset(hp, 0, sizeof(*hp));
	*why_r = NULL;
	if (s == NULL || *s == '\0') {
		*why_r = "empty host";
		return -1;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL) {
			*why_r = "missing ']' after IPv6 address";
			return -1;
		}
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= sizeof(hp->host)) {
			*why_r = "bad IPv6 address";
			return -1;
		}
		memcpy(hp->host, s + 1, hlen);
		hp->host[hlen] = '\0';
		if (cut_ip_family(hp->host) != 6) {
			*why_r = "not an IPv6 address inside [ ]";
			return -1;
		}
		if (close[1] == ':')
			portstr = close + 2;
		else if (close[1] != '\0') {
			*why_r = "unexpected text after ']'";
			return -1;
		}
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/* Several colons: a bare IPv6 address. */
			if (cut_ip_family(s) != 6) {
				*why_r = "not a valid IPv6 address (write [addr]:port for a port)";
				return -1;
			}
			cut_strlcpy(hp->host, s, sizeof(hp->host));
		} else {
			hlen = colon ? (size_t)(colon - s) : strlen(s);
			if (hlen == 0 || hlen >= sizeof(hp->host)) {
				*why_r = "bad host name";
				return -1;
			}
			memcpy(hp->host, s, hlen);
			hp->host[hlen] = '\0';
			if (colon != NULL)
				portstr = colon + 1;
			if (!hostname_valid(hp->host)) {
				*why_r = "invalid character in host name";
				return -1;
			}
		}
	}
	if (portstr != NULL) {
		if (cut_parse_u64(portstr, 65535, &port) < 0 || port == 0) {
			*why_r = "port must be a number from 1 to 65535";
			return -1;
		}
		hp->port = (uint16_t)port;
		hp->has_port = 1;
	} else {
		hp->port = default_port;
	}
	return 0;
}

void cut_hostport_format(const cut_hostport *hp, char *buf, size_t n)
{
	if (strchr(hp->host, ':') != NULL)
		snprintf(buf, n, "[%s]:%u", hp->host, hp->port);
	else
		snprintf(buf, n, "%s:%u", hp->host, hp->port);
}
