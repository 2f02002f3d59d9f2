/*
 * hostport.h: `host[:port]` parsing shared by the plan, the accounts CSV
 * and the command line.  Accepted forms: `name`, `name:port`, `1.2.3.4`,
 * `1.2.3.4:port`, `[2001:db8::1]:port`, `[2001:db8::1]`, and a bare IPv6
 * address `2001:db8::1` (no port possible then).
 */
#ifndef CUTOVER_COMMON_HOSTPORT_H
#define CUTOVER_COMMON_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>

#define CUT_HOST_MAX 256

typedef struct cut_hostport {
	char host[CUT_HOST_MAX]; /* without brackets */
	uint16_t port;           /* the default when none was given */
	int has_port;            /* a port was written explicitly */
} cut_hostport;

/**
 * Parses s into *hp, using default_port when s has none.
 * @return 0, or -1 with a short reason in *why_r (static string).
 */
int cut_hostport_parse(const char *s, uint16_t default_port, cut_hostport *hp,
		       const char **why_r);

/** True when s is an IPv4 or IPv6 address literal (no brackets). */
int cut_is_ip_literal(const char *s);
/** 4 for IPv4, 6 for IPv6, 0 for neither. */
int cut_ip_family(const char *s);

/** Formats as `host:port` or `[v6]:port`. */
void cut_hostport_format(const cut_hostport *hp, char *buf, size_t n);

#endif
