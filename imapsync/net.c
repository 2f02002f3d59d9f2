/*
 * net.c: TCP and TLS transport (see net.h).  The only file that calls
 * OpenSSL's SSL_* functions.
 */
#include "imapsync/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/hostport.h"
#include "common/str.h"
#include "common/timeutil.h"

struct net_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char *host;
	char *tls_name;
	char *ca_file;
	int insecure;
	uint16_t port;
	double connect_timeout;
	double io_timeout;
	/* what the last TLS operation needs before it can progress */
	unsigned ssl_wants;
	/* the last read found only part of a record in OpenSSL's read-ahead
	 * buffer: wait for the socket, not for SSL_has_pending() */
	int ssl_partial;
	char peer[CUT_HOST_MAX + 16];
	char tls_desc[128];
};

static int net_errno(net_conn *c, cut_status *st, const char *what, int err)
{
	return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER, "%s: %s: %s",
			      c->peer, what, strerror(err));
}

/* The first queued OpenSSL error as text (queue cleared). */
static void net_ssl_errtext(char *buf, size_t n)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		cut_strlcpy(buf, "unknown TLS error", n);
	else
		ERR_error_string_n(e, buf, n);
	ERR_clear_error();
}

static void net_set_peer(net_conn *c, const char *addr_host)
{
	if (strchr(addr_host, ':') != NULL)
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", addr_host, c->port);
	else
		snprintf(c->peer, sizeof(c->peer), "%s:%u", addr_host, c->port);
}

static int net_poll_fd(int fd, short events, double timeout, short *revents_r)
{
	struct pollfd pfd;
	double deadline = cut_monotonic() + timeout;
	int r;

	for (;;) {
		double left = deadline - cut_monotonic();

		if (left < 0)
			left = 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)(left * 1000 + 0.5));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		*revents_r = r == 0 ? 0 : pfd.revents;
		return 0;
	}
}

static int net_tcp_connect(net_conn *c, cut_status *st)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	int r, ret = -1, last_err = 0;
	double deadline = cut_monotonic() + c->connect_timeout;
	const char *last_what = "connect";

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	if (cut_is_ip_literal(c->host))
		hints.ai_flags |= AI_NUMERICHOST;
	snprintf(port, sizeof(port), "%u", c->port);
	r = getaddrinfo(c->host, port, &hints, &res);
	if (r != 0) {
		cut_status_set(st, r == EAI_AGAIN ? CUT_TEMP : CUT_FINAL,
			       CUT_SCOPE_SERVER, "%s: cannot resolve %s: %s",
			       c->peer, c->host, gai_strerror(r));
		goto done;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd, one = 1, err = 0;
		socklen_t elen = sizeof(err);
		short rev = 0;
		double left = deadline - cut_monotonic();

		if (left <= 0)
			break;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			last_err = errno;
			last_what = "socket";
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			last_err = errno;
			last_what = "connect";
			close(fd);
			continue;
		}
		if (net_poll_fd(fd, POLLOUT, left, &rev) < 0 || rev == 0) {
			last_err = rev == 0 ? ETIMEDOUT : errno;
			last_what = "connect";
			close(fd);
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
			last_err = err ? err : errno;
			last_what = "connect";
			close(fd);
			continue;
		}
		c->fd = fd;
		ret = 0;
		goto done;
	}
	if (last_err == 0)
		last_err = ETIMEDOUT;
	if (last_err == ETIMEDOUT)
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
			       "%s: connect timed out after %.0fs", c->peer,
			       c->connect_timeout);
	else
		net_errno(c, st, last_what, last_err);
done:
	if (res != NULL)
		freeaddrinfo(res);
	return ret;
}

/* Waits for the socket as a pending TLS handshake/shutdown needs. */
static int net_ssl_wait(net_conn *c, int ssl_err, double deadline, cut_status *st)
{
	short rev = 0, ev = ssl_err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	double left = deadline - cut_monotonic();

	if (left <= 0 || net_poll_fd(c->fd, ev, left, &rev) < 0 || rev == 0)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
				      "%s: TLS handshake timed out after %.0fs",
				      c->peer, c->connect_timeout);
	return 0;
}

static int net_tls_handshake(net_conn *c, cut_status *st)
{
	const char *name = c->tls_name ? c->tls_name : c->host;
	double deadline = cut_monotonic() + c->connect_timeout;
	int ret = -1;

	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL,
			       "%s: cannot create a TLS context", c->peer);
		goto done;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	/* the caller's output buffer grows and moves between retries, and a
	 * partial write is reported as such (net_writev_some) */
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* One read() fills a large buffer instead of two per TLS record
	 * (header, then body): half the system calls on a streamed body.
	 * net_wait() then asks SSL_has_pending(), which sees those bytes. */
	SSL_CTX_set_read_ahead(c->ctx, 1);
	if (!c->insecure) {
		if (c->ca_file != NULL) {
			if (SSL_CTX_load_verify_locations(c->ctx, c->ca_file, NULL) != 1) {
				char why[256];

				net_ssl_errtext(why, sizeof(why));
				cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
					       "%s: cannot load CA file %s: %s",
					       c->peer, c->ca_file, why);
				goto done;
			}
		} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				       "%s: cannot load the system CA store", c->peer);
			goto done;
		}
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	}
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL,
			       "%s: cannot create a TLS session", c->peer);
		goto done;
	}
	/* RFC 6066 3: no SNI for IP literals */
	if (!cut_is_ip_literal(name))
		SSL_set_tlsext_host_name(c->ssl, name);
	if (!c->insecure) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);

		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (cut_is_ip_literal(name)) {
			if (X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1)
				goto badname;
		} else if (SSL_set1_host(c->ssl, name) != 1) {
			goto badname;
		}
	}
	for (;;) {
		int r = SSL_connect(c->ssl), e;

		if (r == 1)
			break;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (net_ssl_wait(c, e, deadline, st) < 0)
				goto done;
			continue;
		}
		if (!c->insecure && SSL_get_verify_result(c->ssl) != X509_V_OK) {
			long v = SSL_get_verify_result(c->ssl);
			const char *hint = "check --ca-file";

			if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
			    v == X509_V_ERR_IP_ADDRESS_MISMATCH)
				hint = "check the TLS name (--tls-name) matches the "
				       "certificate";
			else if (v == X509_V_ERR_CERT_HAS_EXPIRED ||
				 v == X509_V_ERR_CERT_NOT_YET_VALID)
				hint = "check the server's certificate dates and the "
				       "local clock";
			ERR_clear_error();
			cut_status_set(st, CUT_FINAL, CUT_SCOPE_SERVER,
				       "%s: TLS certificate verification failed for "
				       "TLS name %s: %s: %s",
				       c->peer, name, X509_verify_cert_error_string(v),
				       hint);
			goto done;
		}
		{
			char why[256];

			if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
				cut_strlcpy(why, errno ? strerror(errno)
						       : "connection closed by the server",
					    sizeof(why));
			else
				net_ssl_errtext(why, sizeof(why));
			cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
				       "%s: TLS handshake failed (TLS name %s): %s",
				       c->peer, name, why);
		}
		goto done;
	}
	snprintf(c->tls_desc, sizeof(c->tls_desc), "%s %s", SSL_get_version(c->ssl),
		 SSL_get_cipher_name(c->ssl));
	ret = 0;
	goto done;
badname:
	cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
		       "%s: cannot use \"%s\" as a TLS name to verify", c->peer, name);
done:
	return ret;
}

int net_connect(const net_opts *o, net_conn **conn_r, cut_status *st)
{
	net_conn *c = NULL;
	int ret = -1;

	*conn_r = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto nomem;
	c->fd = -1;
	c->host = strdup(o->host);
	c->tls_name = o->tls_name ? strdup(o->tls_name) : NULL;
	c->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
	if (c->host == NULL || (o->tls_name && !c->tls_name) ||
	    (o->ca_file && !c->ca_file))
		goto nomem;
	/* A write to a connection the server closed must be an error, not
	 * a SIGPIPE that kills the process: ignore it unless the program
	 * installed its own handler. */
	{
		struct sigaction sa;

		if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
			signal(SIGPIPE, SIG_IGN);
	}
	c->port = o->port;
	c->insecure = o->insecure;
	c->connect_timeout = o->connect_timeout > 0 ? o->connect_timeout : 30;
	c->io_timeout = o->io_timeout > 0 ? o->io_timeout : 120;
	net_set_peer(c, c->host);
	if (net_tcp_connect(c, st) < 0)
		goto done;
	if (o->tls == NET_TLS_IMPLICIT && net_tls_handshake(c, st) < 0)
		goto done;
	*conn_r = c;
	c = NULL;
	ret = 0;
	goto done;
nomem:
	cut_status_set(st, CUT_TEMP, CUT_SCOPE_LOCAL, "out of memory");
done:
	net_close(&c);
	return ret;
}

int net_start_tls(net_conn *c, cut_status *st)
{
	if (c->ssl != NULL)
		return cut_status_set(st, CUT_FINAL, CUT_SCOPE_LOCAL,
				      "%s: TLS is already active", c->peer);
	return net_tls_handshake(c, st);
}

int net_read_some(net_conn *c, void *buf, size_t n, size_t *got_r, cut_status *st)
{
	*got_r = 0;
	if (c->ssl != NULL) {
		size_t got = 0;
		int e;

		c->ssl_wants &= ~NET_READABLE;
		c->ssl_partial = 0;
		if (SSL_read_ex(c->ssl, buf, n, &got) == 1) {
			*got_r = got;
			return 0;
		}
		e = SSL_get_error(c->ssl, 0);
		if (e == SSL_ERROR_WANT_READ) {
			c->ssl_partial = 1;
			return 0;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			c->ssl_wants |= NET_READABLE;
			return 0;
		}
		if (e == SSL_ERROR_ZERO_RETURN ||
		    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
			ERR_clear_error();
			return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
					      "%s: connection closed by the server",
					      c->peer);
		}
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			return net_errno(c, st, "read", errno);
		{
			char why[256];

			net_ssl_errtext(why, sizeof(why));
			return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
					      "%s: TLS read failed: %s", c->peer, why);
		}
	}
	for (;;) {
		ssize_t r = read(c->fd, buf, n);

		if (r > 0) {
			*got_r = (size_t)r;
			return 0;
		}
		if (r == 0)
			return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
					      "%s: connection closed by the server",
					      c->peer);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return net_errno(c, st, "read", errno);
	}
}

int net_writev_some(net_conn *c, const struct iovec *iov, int iovcnt,
		    size_t *put_r, cut_status *st)
{
	*put_r = 0;
	if (c->ssl != NULL) {
		int i;

		c->ssl_wants &= ~NET_WRITABLE;
		/* TLS has no writev: one SSL_write per buffer, stopping at the
		 * first one that cannot complete now.  The callers coalesce
		 * small pieces into one buffer first. */
		for (i = 0; i < iovcnt; i++) {
			size_t put = 0;
			int e;

			if (iov[i].iov_len == 0)
				continue;
			if (SSL_write_ex(c->ssl, iov[i].iov_base, iov[i].iov_len, &put) == 1) {
				*put_r += put;
				if (put < iov[i].iov_len)
					return 0;
				continue;
			}
			e = SSL_get_error(c->ssl, 0);
			if (e == SSL_ERROR_WANT_WRITE)
				return 0;
			if (e == SSL_ERROR_WANT_READ) {
				c->ssl_wants |= NET_WRITABLE;
				return 0;
			}
			if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
				return net_errno(c, st, "write", errno ? errno : EPIPE);
			{
				char why[256];

				net_ssl_errtext(why, sizeof(why));
				return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
						      "%s: TLS write failed: %s",
						      c->peer, why);
			}
		}
		return 0;
	}
	for (;;) {
		ssize_t r = writev(c->fd, iov, iovcnt);

		if (r >= 0) {
			*put_r = (size_t)r;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return net_errno(c, st, "write", errno);
	}
}

int net_wait(net_conn *c, unsigned events, double timeout, unsigned *ready_r,
	     cut_status *st)
{
	short ev = 0, rev = 0;

	*ready_r = 0;
	if (timeout < 0)
		timeout = c->io_timeout;
	/* bytes waiting inside OpenSSL count as readable: decrypted ones, or
	 * read ahead from the socket unless they were found to be only part
	 * of a record (then only the socket can make progress) */
	if ((events & NET_READABLE) && c->ssl != NULL &&
	    (SSL_pending(c->ssl) > 0 || (!c->ssl_partial && SSL_has_pending(c->ssl)))) {
		*ready_r = NET_READABLE;
		return 0;
	}
	if (events & NET_READABLE)
		ev |= (c->ssl_wants & NET_READABLE) ? POLLOUT : POLLIN;
	if (events & NET_WRITABLE)
		ev |= (c->ssl_wants & NET_WRITABLE) ? POLLIN : POLLOUT;
	if (net_poll_fd(c->fd, ev, timeout, &rev) < 0)
		return net_errno(c, st, "poll", errno);
	if (rev == 0)
		return cut_status_set(st, CUT_TEMP, CUT_SCOPE_SERVER,
				      "%s: no answer from the server for %.0fs "
				      "(timed out)",
				      c->peer, timeout);
	if (rev & (POLLERR | POLLHUP | POLLNVAL)) {
		/* let the next read/write report the precise error */
		*ready_r = events;
		return 0;
	}
	if (events & NET_READABLE) {
		short want = (c->ssl_wants & NET_READABLE) ? POLLOUT : POLLIN;

		if (rev & want)
			*ready_r |= NET_READABLE;
	}
	if (events & NET_WRITABLE) {
		short want = (c->ssl_wants & NET_WRITABLE) ? POLLIN : POLLOUT;

		if (rev & want)
			*ready_r |= NET_WRITABLE;
	}
	return 0;
}

int net_is_tls(const net_conn *c)
{
	return c != NULL && c->ssl != NULL;
}

const char *net_peer(const net_conn *c)
{
	return c->peer;
}

const char *net_tls_desc(const net_conn *c)
{
	return c->tls_desc;
}

void net_close(net_conn **cp)
{
	net_conn *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	if (c->ssl != NULL) {
		/* best effort close_notify, never waiting */
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c->host);
	free(c->tls_name);
	free(c->ca_file);
	free(c);
	*cp = NULL;
}
