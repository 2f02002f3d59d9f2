/*
 * imap_client.h: the IMAP4rev1 client (RFC 3501) used by the sync engine.
 *
 * It speaks the protocol over a net_conn (imapsync/net.h) and parses with
 * imapsync/imap_parse.h; it never calls OpenSSL itself.
 *
 * Model: one connection, commands tagged A0001, A0002...  Commands are
 * queued with the *_async functions and run pipelined inside a bounded
 * window (window_cmds commands / window_bytes bytes outstanding), so that
 * a run of APPENDs or STOREs costs no round trip per message.
 * imap_client_run() drives the connection until every queued command has
 * completed; completion callbacks are called from inside it, in the order
 * the tagged responses arrive.  The blocking functions (imap_select(),
 * imap_list(), ...) queue one command and run until it completes; other
 * queued commands progress meanwhile.
 *
 * Callbacks may queue further commands on the same client; they must not
 * free the client.  The client is not thread-safe: one thread per client
 * (two clients, e.g. host1 and host2, may be driven by one thread).
 *
 * Mailbox names are passed and returned as they are on the wire (modified
 * UTF-7, RFC 3501 5.1.3, unless UTF8=ACCEPT was enabled); imap_mailbox
 * also carries the decoded UTF-8 name; imapsync/utf7.h converts.
 *
 * Errors (cut_status): the message names the server (label and host:port),
 * the user once logged in and the command.  CUT_TEMP: connection lost,
 * timeout, BYE, NO [UNAVAILABLE]/[INUSE]/[LIMIT], throttling texts such as
 * "Request is throttled. Suggested Backoff Time: N milliseconds" (then
 * retry_after_ms = N).  CUT_FINAL: authentication failed, [OVERQUOTA],
 * certificate verification, other NO/BAD.  Once the connection is lost,
 * every pending command completes with that error and later calls fail
 * with it (the client is "broken"; free it and connect again).
 *
 * Trace: at CUT_LOG_TRACE every line sent and received is logged as
 * "host1 C: A0001 LOGIN user ***" / "host1 S: ..."; passwords and
 * AUTHENTICATE payloads are masked, literals show "{n bytes}" only.
 */
#ifndef CUTOVER_IMAPSYNC_IMAP_CLIENT_H
#define CUTOVER_IMAPSYNC_IMAP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "imapsync/imap_parse.h"

typedef enum imap_tls {
	IMAP_TLS_IMPLICIT = 0, /* IMAPS, default port 993 */
	IMAP_TLS_STARTTLS,     /* port 143, STARTTLS required (never downgraded) */
	IMAP_TLS_NONE,         /* plain text, port 143 (explicit choice only) */
} imap_tls;

typedef enum imap_auth {
	IMAP_AUTH_AUTO = 0, /* AUTHENTICATE PLAIN when offered, else LOGIN */
	IMAP_AUTH_LOGIN,    /* LOGIN command (RFC 3501 6.2.3) */
	IMAP_AUTH_PLAIN,    /* AUTHENTICATE PLAIN (RFC 4616), SASL-IR if offered */
} imap_auth;

/** Observer of untagged responses not consumed by a command. */
typedef void (*imap_untagged_fn)(void *ctx, const imap_resp *r);

typedef struct imap_client_opts {
	const char *label;     /* "host1" in logs and errors; NULL = "imap" */
	const char *host;      /* name or IP literal to connect to */
	uint16_t port;         /* 0 = 993 (implicit TLS) or 143 */
	imap_tls tls;
	const char *tls_name;  /* name verified in the certificate; NULL = host */
	const char *ca_file;   /* NULL = system store */
	int insecure;          /* 1 = no certificate verification (explicit) */
	double connect_timeout; /* seconds, 0 = 30 */
	double io_timeout;      /* seconds without progress, 0 = 120 */
	unsigned window_cmds;  /* commands in flight, 0 = 64 */
	size_t window_bytes;   /* bytes sent but not yet answered, 0 = 4 MiB */
	imap_parse_limits limits; /* zeros = parser defaults */
	imap_untagged_fn on_untagged; /* may be NULL */
	void *untagged_ctx;
} imap_client_opts;

typedef struct imap_client imap_client;

/** Counters, for progress, tests and tuning. */
typedef struct imap_client_stats {
	uint64_t commands;    /* tagged commands sent */
	uint64_t bytes_in, bytes_out;
	uint64_t read_waits;  /* times the client blocked waiting for the server */
	uint64_t exists;      /* last "* n EXISTS" of the selected mailbox */
	uint64_t expunges;    /* "* n EXPUNGE" seen */
	uint64_t vanished;    /* "* VANISHED" responses seen */
	uint64_t vanished_uids; /* UIDs they reported */
	uint64_t flag_updates; /* unsolicited "* n FETCH (FLAGS ...)" seen */
} imap_client_stats;

/* ---- connection ---- */

/**
 * Connects, reads the greeting, does STARTTLS when asked (an error when the
 * server does not offer it), and learns the capabilities.
 * The strings in *o are copied.
 * @param c_r the client, owned by the caller (imap_client_free()).
 * @return 0, or -1 with *st.
 */
int imap_client_connect(const imap_client_opts *o, imap_client **c_r,
			cut_status *st);

/**
 * Authenticates.  `authuser` (may be NULL) is an admin account that
 * authenticates on behalf of `user` (AUTHENTICATE PLAIN authorization
 * identity, RFC 4616 2).  The password is never logged.
 * @return 0, or -1 with *st (CUT_FINAL for rejected credentials, naming
 *         the user and server).
 */
int imap_client_login(imap_client *c, const char *user, const char *authuser,
		      const char *password, imap_auth method, cut_status *st);

/** imap_client_connect() + imap_client_login(); on failure *c_r is NULL. */
int imap_client_connect_login(const imap_client_opts *o, const char *user,
			      const char *password, imap_client **c_r,
			      cut_status *st);

/** Sends LOGOUT and waits for the answer (errors ignored); then free. */
int imap_client_logout(imap_client *c, cut_status *st);

/** Closes the connection and frees; NULL accepted; NULLs *cp.  Pending
 *  commands are completed with CUT_CANCELLED. */
void imap_client_free(imap_client **cp);

/** True when the server advertised `cap` (case-insensitive, e.g.
 *  "UIDPLUS", "AUTH=PLAIN", "LITERAL+"). */
int imap_client_has_cap(const imap_client *c, const char *cap);
/** True when ENABLE accepted `cap` ("CONDSTORE", "QRESYNC", "UTF8=ACCEPT"). */
int imap_client_enabled(const imap_client *c, const char *cap);
/** "host1 127.0.0.11:993", valid as long as the client. */
const char *imap_client_name(const imap_client *c);
const imap_client_stats *imap_client_get_stats(const imap_client *c);
/** True when the connection failed; later calls fail with that status. */
int imap_client_broken(const imap_client *c);

/* ---- driving queued commands ---- */

/**
 * Runs until every queued command has completed (callbacks called).
 * @return 0, or -1 when the connection failed while commands were pending
 *         (their callbacks have then been called with the error).  A
 *         connection closed after the last answer is 0 (the client is
 *         broken for later calls).  A command's NO/BAD is reported to its
 *         callback, not here.  Fails at once while a streamed APPEND is
 *         open (imap_append_stream_end() first).
 */
int imap_client_run(imap_client *c, cut_status *st);

/** Number of commands queued or in flight. */
size_t imap_client_pending(const imap_client *c);

/**
 * Completion of a generic command: `tagged` is the tagged response (NULL
 * when the connection failed), `st` its classification (CUT_OK for OK).
 * Both are valid only during the call.
 */
typedef void (*imap_done_fn)(void *ctx, const imap_resp *tagged,
			     const cut_status *st);

/* ---- simple commands (blocking) ---- */

/** CAPABILITY (also refreshed automatically from [CAPABILITY] codes). */
int imap_capability(imap_client *c, cut_status *st);
int imap_noop(imap_client *c, cut_status *st);

/**
 * ENABLE (RFC 5161) of those capabilities in the space-separated list
 * `caps` that the server offers (e.g. "CONDSTORE QRESYNC UTF8=ACCEPT");
 * none offered is success without a command.
 */
int imap_enable(imap_client *c, const char *caps, cut_status *st);

/** NAMESPACE (RFC 2342): the first personal namespace. */
typedef struct imap_namespace {
	char *prefix; /* e.g. "" or "INBOX."; malloc'ed */
	char delim;   /* 0 when NIL */
} imap_namespace;
/** Fills *ns_r (free with imap_namespace_free); without the NAMESPACE
 *  capability returns prefix "" and the delimiter of LIST "" "". */
int imap_get_namespace(imap_client *c, imap_namespace *ns_r, cut_status *st);
void imap_namespace_free(imap_namespace *ns);

/* Mailbox attributes from LIST (RFC 3501 7.2.2, RFC 6154 SPECIAL-USE). */
#define IMAP_MBX_NOSELECT (1u << 0)
#define IMAP_MBX_NOINFERIORS (1u << 1)
#define IMAP_MBX_HASCHILDREN (1u << 2)
#define IMAP_MBX_HASNOCHILDREN (1u << 3)
#define IMAP_MBX_MARKED (1u << 4)
#define IMAP_MBX_UNMARKED (1u << 5)
#define IMAP_MBX_SUBSCRIBED (1u << 6)
#define IMAP_MBX_NONEXISTENT (1u << 7)
#define IMAP_MBX_ALL (1u << 8)
#define IMAP_MBX_ARCHIVE (1u << 9)
#define IMAP_MBX_DRAFTS (1u << 10)
#define IMAP_MBX_FLAGGED (1u << 11)
#define IMAP_MBX_JUNK (1u << 12)
#define IMAP_MBX_SENT (1u << 13)
#define IMAP_MBX_TRASH (1u << 14)
#define IMAP_MBX_IMPORTANT (1u << 15)
#define IMAP_MBX_REMOTE (1u << 16)

typedef struct imap_mailbox {
	char *raw;        /* name on the wire (mUTF-7 or UTF-8), malloc'ed */
	size_t raw_len;
	char *name;       /* decoded UTF-8; a copy of raw when not decodable */
	int name_ok;      /* 1 when raw decoded cleanly */
	char delim;       /* hierarchy delimiter, 0 when NIL */
	unsigned attrs;   /* IMAP_MBX_* */
	char *attr_text;  /* the attributes as sent, "\HasNoChildren \Sent" */
} imap_mailbox;

/**
 * LIST (or LSUB when lsub) `ref` `pattern`, with RETURN (SPECIAL-USE) when
 * the server offers SPECIAL-USE and lsub is 0.  `pattern` is sent as is
 * ("*" for all).
 * @param list_r malloc'ed array of *n_r entries; free with
 *        imap_mailboxes_free().
 */
int imap_list(imap_client *c, const char *ref, const char *pattern, int lsub,
	      imap_mailbox **list_r, size_t *n_r, cut_status *st);
void imap_mailboxes_free(imap_mailbox **list, size_t n);

/** What SELECT/EXAMINE reported (RFC 3501 6.3.1, RFC 7162 3.1.2). */
typedef struct imap_select_info {
	uint32_t uidvalidity;
	uint32_t uidnext;        /* 0 when the server did not say */
	uint32_t exists;
	uint64_t highestmodseq;  /* 0 when none */
	int nomodseq;            /* [NOMODSEQ] */
	int read_only;           /* [READ-ONLY] */
	/* [PERMANENTFLAGS (...)] (RFC 3501 7.1) was sent and fitted in
	 * permanentflags; a list too long for it counts as not sent */
	int permanentflags_sent;
	char permanentflags[4096]; /* as sent, without parentheses */
	/* untagged FLAGS (RFC 3501 7.2.6), without parentheses; "" when not
	 * sent or too long for the buffer */
	char flags[4096];
} imap_select_info;

/**
 * SELECT (or EXAMINE when readonly) `mailbox` (wire name), with
 * (CONDSTORE) when `condstore` and the server offers it.
 */
int imap_select(imap_client *c, const char *mailbox, int readonly,
		int condstore, imap_select_info *info_r, cut_status *st);

/**
 * Queues imap_select(): the command is written at once, so the server
 * works on it while the caller waits on another connection.  *info_r
 * (memset now) must live until `done` ran (imap_client_run()); it is
 * complete only when done's status is OK.
 */
int imap_select_async(imap_client *c, const char *mailbox, int readonly,
		      int condstore, imap_select_info *info_r, imap_done_fn done,
		      void *done_ctx, cut_status *st);

/**
 * Queues `STATUS mailbox (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)`
 * (HIGHESTMODSEQ with CONDSTORE, RFC 7162 3.1.2.1) and fills *info_r's
 * exists, uidnext, uidvalidity, highestmodseq and nomodseq from the
 * answer; the rest stays zero.  Values the server did not send stay
 * zero too.  Cheaper than SELECT on the selected mailbox (Dovecot does
 * not reopen it).  *info_r must live until `done` ran.
 */
int imap_status_async(imap_client *c, const char *mailbox, imap_select_info *info_r,
		      imap_done_fn done, void *done_ctx, cut_status *st);

/** CREATE; an existing mailbox ([ALREADYEXISTS]) is success when
 *  `exist_ok`. */
int imap_create(imap_client *c, const char *mailbox, int exist_ok,
		cut_status *st);
int imap_subscribe(imap_client *c, const char *mailbox, cut_status *st);

/**
 * UID SEARCH `criteria` (sent verbatim, e.g. "ALL", "UID 100:*",
 * "SINCE 1-Jan-2026"); uses ESEARCH's RETURN (ALL) when offered.
 * @param uids_r malloc'ed ascending array of *n_r UIDs (NULL when 0).
 */
int imap_uid_search(imap_client *c, const char *criteria, uint32_t **uids_r,
		    size_t *n_r, cut_status *st);

/* ---- FETCH ---- */

/* imap_fetch_req.items */
#define IMAP_FETCH_FLAGS (1u << 0)
#define IMAP_FETCH_INTERNALDATE (1u << 1)
#define IMAP_FETCH_SIZE (1u << 2)     /* RFC822.SIZE */
#define IMAP_FETCH_MODSEQ (1u << 3)   /* needs CONDSTORE */
#define IMAP_FETCH_HEADER (1u << 4)   /* BODY.PEEK[HEADER.FIELDS (...)] */
#define IMAP_FETCH_BODY (1u << 5)     /* BODY.PEEK[] through the sink */

/** One message of a FETCH answer.  Valid only during the callback. */
typedef struct imap_fetch_msg {
	uint32_t seq;
	uint32_t uid;            /* 0 when the response had no UID */
	const char *flags;       /* "\Seen $Label1", NULL when not fetched */
	const imap_item *flag_list; /* the same as parsed items, or NULL */
	const char *internaldate; /* "17-Jul-1996 02:44:25 -0700" or NULL */
	int64_t internaldate_epoch; /* parsed, valid when internaldate */
	uint64_t size;           /* RFC822.SIZE, when fetched */
	int has_size;
	uint64_t modseq;         /* MODSEQ, 0 when not fetched */
	const char *header;      /* BODY[HEADER.FIELDS ...] bytes, or NULL */
	size_t header_len;
	int body_done;           /* the body went through the sink */
	uint64_t body_size;
	const imap_resp *resp;   /* the whole response */
} imap_fetch_msg;

/** Per-message callback; return -1 (with *st) to fail the command. */
typedef int (*imap_fetch_fn)(void *ctx, const imap_fetch_msg *m,
			     cut_status *st);

/**
 * UIDs reported expunged by "* VANISHED (EARLIER) set" in answer to a
 * FETCH with the VANISHED modifier (RFC 7162 3.2.6).  `uid_set` is a
 * well-formed sequence-set (walk it with imap_seqset_next()), valid only
 * during the call.  Return -1 (with *st) to fail the command.
 */
typedef int (*imap_vanished_fn)(void *ctx, const char *uid_set,
				cut_status *st);

/**
 * Receives BODY[] contents as they arrive, without holding them whole.
 * For each message: begin (size known from the literal header), data
 * zero or more times (pointers valid only during the call), end.  `uid`
 * is 0 at begin when the server sends UID after the body (Dovecot sends
 * it first); the fetch callback that follows end always has it.
 * Any function returning -1 fails the command with its *st (the rest of
 * the literal is still read and discarded so the connection stays usable).
 */
typedef struct imap_body_sink {
	int (*begin)(void *ctx, uint32_t seq, uint32_t uid, uint64_t size,
		     cut_status *st);
	int (*data)(void *ctx, const void *p, size_t n, cut_status *st);
	int (*end)(void *ctx, cut_status *st);
	void *ctx;
} imap_body_sink;

typedef struct imap_fetch_req {
	const char *uid_set;        /* "1:*", "4,7:9" */
	unsigned items;             /* IMAP_FETCH_*; UID is always fetched */
	const char *header_fields;  /* "MESSAGE-ID DATE" for IMAP_FETCH_HEADER */
	uint64_t changedsince;      /* CONDSTORE CHANGEDSINCE, 0 = none */
	/* With changedsince and QRESYNC enabled: the VANISHED modifier
	 * (RFC 7162 3.2.6), expunged UIDs of the set go to on_vanished. */
	int vanished;
	imap_vanished_fn on_vanished; /* may be NULL */
	imap_fetch_fn on_msg;       /* may be NULL */
	void *ctx;
	const imap_body_sink *sink; /* required with IMAP_FETCH_BODY; copied */
} imap_fetch_req;

/**
 * Queues UID FETCH.  Strings in *req are copied at queue time; the sink's
 * ctx and `ctx` must live until `done` is called.  Several may be in
 * flight: each FETCH response goes to the command whose UID set holds
 * its UID, whatever order the server answers in; a response with only
 * UID/FLAGS/MODSEQ (a flag change by another session) goes to a command
 * only when it asked for no more than that, else it is unsolicited
 * (stats.flag_updates, on_untagged).
 */
int imap_uid_fetch_async(imap_client *c, const imap_fetch_req *req,
			 imap_done_fn done, void *done_ctx, cut_status *st);
/** Blocking UID FETCH. */
int imap_uid_fetch(imap_client *c, const imap_fetch_req *req, cut_status *st);

/* ---- APPEND ---- */

/** Pulls the next bytes of a message to append: fill up to n bytes into
 *  buf, *got_r = bytes given (0 only at the end). */
typedef int (*imap_read_fn)(void *ctx, void *buf, size_t n, size_t *got_r,
			    cut_status *st);

typedef struct imap_append_result {
	uint32_t uidvalidity; /* from [APPENDUID], 0 when not sent */
	uint32_t uid;
	/* the uid-set of [APPENDUID] as sent (RFC 4315 3; with MULTIAPPEND
	 * one UID per message, ascending in the order of the messages), NULL
	 * when not sent; valid only during the done callback */
	const char *uid_set;
} imap_append_result;

typedef void (*imap_append_done_fn)(void *ctx, const imap_append_result *r,
				    const cut_status *st);

typedef struct imap_append_req {
	const char *mailbox;      /* wire name */
	const char *flags;        /* "\Seen $Label1" (no parentheses) or NULL;
				     \Recent is dropped (RFC 3501 6.3.11) */
	const char *internaldate; /* "17-Jul-1996 02:44:25 -0700" or NULL */
	uint64_t size;            /* exact message size in bytes */
	const void *data;         /* the whole message, or NULL to use read */
	imap_read_fn read;
	void *read_ctx;
} imap_append_req;

/**
 * Queues APPEND (RFC 3501 6.3.11).  With LITERAL+ (RFC 7888) the literal
 * follows without waiting; otherwise the client waits for the "+"
 * continuation before sending it (later commands wait behind it).
 * `req->data` or the reader's context must stay valid until `done`; the
 * strings are copied.  If `read` delivers fewer or more than `size` bytes
 * the connection is failed (it can no longer be framed).
 */
int imap_append_async(imap_client *c, const imap_append_req *req,
		      imap_append_done_fn done, void *ctx, cut_status *st);
/** Blocking APPEND; *res_r may be NULL. */
int imap_append(imap_client *c, const imap_append_req *req,
		imap_append_result *res_r, cut_status *st);

/**
 * Push-mode APPEND, for streaming a body fetched from another connection
 * straight into this one: begin sends the command line (and waits for the
 * continuation without LITERAL+), write sends the next bytes (blocking,
 * bounded buffering), end finishes the literal and queues the completion
 * (`done` is called later, from imap_client_run() or any blocking call).
 * req->data and req->read are ignored.  No other command may be queued on
 * this client between begin and end.
 */
int imap_append_stream_begin(imap_client *c, const imap_append_req *req,
			     imap_append_done_fn done, void *ctx,
			     cut_status *st);
int imap_append_stream_write(imap_client *c, const void *p, size_t n,
			     cut_status *st);
int imap_append_stream_end(imap_client *c, cut_status *st);

/**
 * Blocks until every byte queued for the server that needs no answer
 * first has been written to the socket (a command waiting for a "+"
 * continuation stops there): after imap_append_stream_end(), the
 * command's last byte has left this process.
 * @return 0, or -1 with *st (connection failed or timed out).
 */
int imap_client_flush(imap_client *c, cut_status *st);

/** True when imap_append_stream_add() may be used (RFC 3502 MULTIAPPEND). */
int imap_append_stream_can_add(const imap_client *c);

/**
 * MULTIAPPEND (RFC 3502): once the current message's bytes are all
 * written, starts the next message inside the same APPEND command (same
 * mailbox; req->mailbox is ignored).  The server appends all the messages
 * of the command or none; `done` (from begin) is called once for the
 * whole command.  Memory stays bounded: only the output buffer holds data.
 */
int imap_append_stream_add(imap_client *c, const imap_append_req *req,
			   cut_status *st);

/**
 * Abandons an unfinished streamed APPEND (its source failed mid-message):
 * a literal cannot be taken back, so the connection is closed (the client
 * is broken afterwards) and the server appends none of the command's
 * messages.  No-op (0) without a streamed APPEND; else -1 with *st
 * (st may be NULL).
 */
int imap_append_stream_abort(imap_client *c, cut_status *st);

/* ---- STORE / EXPUNGE ---- */

/**
 * Queues UID STORE `uid_set` `op` (`flags`): op is "+FLAGS", "-FLAGS" or
 * "FLAGS", with ".SILENT" appended when silent.  flags without
 * parentheses, may be "" for FLAGS ().
 */
int imap_uid_store_async(imap_client *c, const char *uid_set, const char *op,
			 int silent, const char *flags, imap_done_fn done,
			 void *ctx, cut_status *st);
int imap_uid_store(imap_client *c, const char *uid_set, const char *op,
		   const char *flags, cut_status *st);

/** UID EXPUNGE (RFC 4315); an error without UIDPLUS. */
int imap_uid_expunge(imap_client *c, const char *uid_set, cut_status *st);
/** EXPUNGE of everything \Deleted in the selected mailbox. */
int imap_expunge(imap_client *c, cut_status *st);

/**
 * Queues an arbitrary command; `args` is sent after the command name
 * verbatim (the caller quotes).  For commands this header lacks.
 */
int imap_cmd_async(imap_client *c, const char *args, imap_done_fn done,
		   void *ctx, cut_status *st);
/** Blocking imap_cmd_async(). Untagged responses go to on_untagged. */
int imap_cmd(imap_client *c, const char *args, cut_status *st);

/* ---- helpers ---- */

/**
 * Appends `s` to `out` as an IMAP quoted string (RFC 3501 4.3), with \ and
 * " escaped.  Bytes that a quoted string cannot carry (NUL, CR, LF,
 * 8-bit) make it fail: the caller then sends a literal (LOGIN does).
 * @return 0, or -1 (nothing appended).
 */
struct cut_buf;
int imap_quote(struct cut_buf *out, const char *s, size_t len);

#endif
