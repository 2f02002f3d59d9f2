/*
 * net.h: the byte transport under the IMAP client: TCP (IPv4/IPv6) with
 * connect and I/O timeouts, plain or TLS (OpenSSL).  This is the only file
 * pair in the project that calls OpenSSL's SSL_* functions; the protocol
 * code above sees bytes, readiness and cut_status only.
 *
 * The socket is non-blocking; waiting is done with poll() in net_wait().
 * Reads and writes never block: they return how much they moved (possibly
 * 0) so that the caller can interleave writing a long pipeline with
 * reading the responses it causes (no deadlock when both TCP windows fill).
 *
 * TLS: certificates are verified by default against the system store or
 * `ca_file`, with SNI and host name verification against `tls_name`, which
 * may differ from the address connected to (connect to 192.0.2.11, verify
 * `imap.example.com`).  `insecure` disables verification and is only set
 * when the user asked for it explicitly.
 *
 * Errors: connection refused/reset/closed and timeouts are CUT_TEMP with
 * scope CUT_SCOPE_SERVER; a certificate that does not verify is CUT_FINAL
 * and the message names host:port, the TLS name and OpenSSL's verify
 * reason with a hint ("check --ca-file").
 */
#ifndef CUTOVER_IMAPSYNC_NET_H
#define CUTOVER_IMAPSYNC_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/status.h"

typedef enum net_tls_mode {
	NET_TLS_NONE = 0,  /* plain TCP (STARTTLS may be started later) */
	NET_TLS_IMPLICIT,  /* TLS from the first byte (IMAPS, port 993) */
} net_tls_mode;

typedef struct net_opts {
	const char *host;      /* name or IP literal to connect to (required) */
	uint16_t port;         /* required, no default here */
	net_tls_mode tls;      /* NET_TLS_IMPLICIT: handshake in net_connect */
	/* Name sent as SNI and verified against the certificate; NULL = host.
	 * When the effective name is an IP literal, the certificate's IP SAN
	 * is verified and no SNI is sent (RFC 6066 3). */
	const char *tls_name;
	const char *ca_file;   /* PEM bundle; NULL = system default store */
	int insecure;          /* 1 = do not verify the certificate at all */
	double connect_timeout; /* seconds for TCP connect + TLS handshake; 0 = 30 */
	double io_timeout;      /* seconds without progress in net_wait; 0 = 120 */
} net_opts;

/** An open connection.  Opaque; freed with net_close(). */
typedef struct net_conn net_conn;

/* Readiness bits for net_wait(). */
#define NET_READABLE 1u
#define NET_WRITABLE 2u

/**
 * Resolves o->host, connects (trying every address until one answers,
 * within connect_timeout), sets TCP_NODELAY and, for NET_TLS_IMPLICIT,
 * does the TLS handshake and verification.
 *
 * The strings in *o are copied; *o need not outlive the call.
 * @param conn_r receives the connection, owned by the caller (net_close).
 * @return 0, or -1 with *st filled (CUT_TEMP for network trouble, CUT_FINAL
 *         for a certificate that does not verify or a bad CA file).
 */
int net_connect(const net_opts *o, net_conn **conn_r, cut_status *st);

/**
 * Starts TLS on a plain connection (after the IMAP STARTTLS command was
 * accepted), with the same verification rules as NET_TLS_IMPLICIT.
 * Must be called with nothing unread in the caller's buffers (RFC 3501
 * 6.2.1; otherwise a man in the middle could inject plaintext responses).
 * @return 0, or -1 with *st (verification failure is CUT_FINAL).
 */
int net_start_tls(net_conn *c, cut_status *st);

/**
 * Reads what is available, up to n bytes, without blocking.
 * @param got_r bytes read; 0 means "nothing available now, call net_wait".
 * @return 0, or -1 when the peer closed the connection or it failed
 *         (CUT_TEMP, scope server, message names host:port).
 */
int net_read_some(net_conn *c, void *buf, size_t n, size_t *got_r,
		  cut_status *st);

/**
 * Writes what the kernel accepts of the iovecs now, without blocking.
 * With TLS, data is written as TLS records of at most 16 KiB each.
 * @param put_r bytes accepted (0 = try again after net_wait).
 * @return 0, or -1 (CUT_TEMP) on a broken connection.
 */
int net_writev_some(net_conn *c, const struct iovec *iov, int iovcnt,
		    size_t *put_r, cut_status *st);

/**
 * Waits until one of `events` (NET_READABLE | NET_WRITABLE) is possible,
 * taking TLS's own needs into account (a TLS read may need the socket to
 * be writable and the other way round; bytes already decrypted count as
 * readable).
 * @param timeout seconds; < 0 uses the connection's io_timeout.
 * @param ready_r the subset of events that are ready.
 * @return 0, or -1 with CUT_TEMP "timed out after Ns" naming host:port.
 */
int net_wait(net_conn *c, unsigned events, double timeout, unsigned *ready_r,
	     cut_status *st);

/** True when TLS is active on the connection. */
int net_is_tls(const net_conn *c);

/** "host:port" ("[v6]:port"), valid as long as the connection. */
const char *net_peer(const net_conn *c);

/** The TLS protocol and cipher ("TLSv1.3 TLS_AES_256_GCM_SHA384") or "". */
const char *net_tls_desc(const net_conn *c);

/** Closes (TLS close_notify best effort) and frees; NULLs *cp. */
void net_close(net_conn **cp);

#endif
