/* rrset.c: RRset values and comparisons (see rrset.h). */
#include "dns/rrset.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"

static char *name_normalize(const char *s)
{
	size_t i, n = strlen(s);
	char *out;

	if (n == 0)
		return NULL;
	out = malloc(n + 2);
	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	if (n == 1 && out[0] == '.') {
		out[1] = '\0';
		return out;
	}
	if (out[n - 1] != '.')
		out[n++] = '.';
	out[n] = '\0';
	return out;
}

dns_rrset *dns_rrset_new(const char *owner, uint16_t type)
{
	dns_rrset *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->owner = name_normalize(owner);
	if (s->owner == NULL) {
		free(s);
		return NULL;
	}
	s->type = type;
	return s;
}

dns_rrset *dns_rrset_dup(const dns_rrset *s)
{
	dns_rrset *d = dns_rrset_new(s->owner, s->type);
	size_t i;

	if (d == NULL)
		return NULL;
	d->ttl = s->ttl;
	for (i = 0; i < s->n; i++) {
		if (dns_rrset_add(d, s->rdata[i]) < 0) {
			dns_rrset_free(&d);
			return NULL;
		}
	}
	return d;
}

void dns_rrset_free(dns_rrset **sp)
{
	dns_rrset *s;
	size_t i;

	if (sp == NULL || *sp == NULL)
		return;
	s = *sp;
	for (i = 0; i < s->n; i++)
		free(s->rdata[i]);
	free(s->rdata);
	free(s->owner);
	free(s);
	*sp = NULL;
}

int dns_rrset_addr_family(const char *s)
{
	unsigned char b[16];

	if (inet_pton(AF_INET, s, b) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, b) == 1)
		return 6;
	return 0;
}

static char *rdata_normalize(uint16_t type, const char *rdata)
{
	unsigned char b[16];
	char txt[INET6_ADDRSTRLEN];
	char *host = NULL, *out = NULL, *end;
	const char *p;
	unsigned long pref;

	switch (type) {
	case DNS_TYPE_A:
		if (inet_pton(AF_INET, rdata, b) != 1 ||
		    inet_ntop(AF_INET, b, txt, sizeof(txt)) == NULL)
			return NULL;
		return strdup(txt);
	case DNS_TYPE_AAAA:
		if (inet_pton(AF_INET6, rdata, b) != 1 ||
		    inet_ntop(AF_INET6, b, txt, sizeof(txt)) == NULL)
			return NULL;
		return strdup(txt);
	case DNS_TYPE_MX:
		/* RFC 1035 3.3.9: PREFERENCE EXCHANGE */
		if (!isdigit((unsigned char)rdata[0]))
			return NULL;
		pref = strtoul(rdata, &end, 10);
		if (pref > 65535 || !isspace((unsigned char)*end))
			return NULL;
		for (p = end; isspace((unsigned char)*p); p++)
			;
		if (*p == '\0' || strpbrk(p, " \t\r\n") != NULL)
			return NULL;
		host = name_normalize(p);
		if (host == NULL)
			return NULL;
		out = cut_strdup_printf("%lu %s", pref, host);
		free(host);
		return out;
	default:
		out = strdup(rdata);
		if (out != NULL) {
			for (end = out; *end != '\0'; end++)
				*end = (char)tolower((unsigned char)*end);
		}
		return out;
	}
}

int dns_rrset_add(dns_rrset *s, const char *rdata)
{
	char *r = rdata_normalize(s->type, rdata);
	char **grown;
	size_t i;

	if (r == NULL)
		return -1;
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->rdata[i], r) == 0) {
			free(r);
			return 0;
		}
	}
	grown = realloc(s->rdata, (s->n + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(r);
		return -1;
	}
	s->rdata = grown;
	s->rdata[s->n++] = r;
	return 0;
}

int dns_rrset_add_mx(dns_rrset *s, uint16_t pref, const char *host)
{
	char *r = cut_strdup_printf("%u %s", (unsigned)pref, host);
	int ret;

	if (r == NULL)
		return -1;
	ret = dns_rrset_add(s, r);
	free(r);
	return ret;
}

static int contains(const dns_rrset *s, const char *r)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->rdata[i], r) == 0)
			return 1;
	return 0;
}

int dns_rrset_same_data(const dns_rrset *a, const dns_rrset *b)
{
	size_t i;

	if (a->type != b->type || a->n != b->n ||
	    strcmp(a->owner, b->owner) != 0)
		return 0;
	for (i = 0; i < a->n; i++)
		if (!contains(b, a->rdata[i]))
			return 0;
	return 1;
}

int dns_rrset_equal(const dns_rrset *a, const dns_rrset *b)
{
	if (!dns_rrset_same_data(a, b))
		return 0;
	return a->n == 0 || a->ttl == b->ttl;
}

static const struct {
	uint16_t type;
	const char *name;
} rrset_types[] = {
	{DNS_TYPE_A, "A"},
	{DNS_TYPE_SOA, "SOA"},
	{DNS_TYPE_MX, "MX"},
	{DNS_TYPE_AAAA, "AAAA"},
};

const char *dns_rrset_type_name(uint16_t type)
{
	size_t i;

	for (i = 0; i < sizeof(rrset_types) / sizeof(rrset_types[0]); i++)
		if (rrset_types[i].type == type)
			return rrset_types[i].name;
	return "TYPE?";
}

int dns_rrset_type_parse(const char *s, uint16_t *type_r)
{
	size_t i;

	for (i = 0; i < sizeof(rrset_types) / sizeof(rrset_types[0]); i++) {
		if (cut_str_ieq(rrset_types[i].name, s)) {
			*type_r = rrset_types[i].type;
			return 0;
		}
	}
	return -1;
}

int dns_rrset_format(const dns_rrset *s, const char *indent, cut_buf *out)
{
	size_t i;

	if (s->n == 0)
		return cut_buf_printf(out, "%s%s IN %s (absent)\n", indent,
				      s->owner, dns_rrset_type_name(s->type));
	for (i = 0; i < s->n; i++) {
		if (cut_buf_printf(out, "%s%s %u IN %s %s\n", indent, s->owner,
				   (unsigned)s->ttl,
				   dns_rrset_type_name(s->type),
				   s->rdata[i]) < 0)
			return -1;
	}
	return 0;
}

int dns_rrset_format_data(const dns_rrset *s, cut_buf *out)
{
	size_t i;

	if (s->n == 0)
		return cut_buf_puts(out, "(absent)");
	for (i = 0; i < s->n; i++) {
		if (cut_buf_printf(out, "%s%s", i > 0 ? ", " : "",
				   s->rdata[i]) < 0)
			return -1;
	}
	return 0;
}
