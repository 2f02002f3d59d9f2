/*
 * plan.h: the plan file (INI) and the accounts CSV, parsed and validated
 * completely before anything runs.
 *
 * Every problem is reported as `PLAN:LINE: message`, all of them at once,
 * one per line, into the caller's error buffer.  docs/plan.md documents
 * every key.
 *
 * Ownership: plan_load() returns a plan that the caller releases with
 * plan_free(); every string and array inside it belongs to the plan.
 * accounts_load() returns an array released with accounts_free(); the
 * passwords inside are wiped on free.
 */
#ifndef CUTOVER_CUTOVER_PLAN_H
#define CUTOVER_CUTOVER_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/hostport.h"

typedef enum plan_scenario {
	PLAN_SCENARIO_CLASSICAL = 0,
	PLAN_SCENARIO_LUCKY,
} plan_scenario;

typedef enum plan_dns_mode {
	PLAN_DNS_RFC2136 = 0, /* cutover sends the updates */
	PLAN_DNS_MANUAL,      /* someone else edits DNS; cutover watches */
} plan_dns_mode;

typedef enum plan_tls {
	PLAN_TLS_IMAPS = 0, /* implicit TLS, port 993 */
	PLAN_TLS_STARTTLS,  /* port 143, STARTTLS required */
	PLAN_TLS_PLAIN,     /* port 143, no TLS (lab use only) */
} plan_tls;

typedef enum plan_on_failure {
	PLAN_ON_FAILURE_STOP = 0, /* last sync failures stop the run (resumable) */
	PLAN_ON_FAILURE_CONTINUE,
} plan_on_failure;

/** One MX record: preference and an absolute exchange name ("mx1.example."). */
typedef struct plan_mx {
	uint16_t pref;
	char host[CUT_HOST_MAX];
} plan_mx;

/** An address list ([imap] old/new/parking): IPv4 and IPv6 literals. */
typedef struct plan_addrs {
	char **addr;
	size_t n;
	unsigned line; /* where it was set, 0 if not */
} plan_addrs;

typedef struct plan {
	char *path; /* as given */
	char *dir;  /* directory holding the plan; relative paths resolve here */

	/* [migration] */
	plan_scenario scenario;
	double at; /* epoch seconds of the migration hour */
	int has_at;
	char *state_dir; /* absolute; default: "<plan dir>/<plan name>.state" */
	double margin;   /* default 60 s */
	double window;   /* planned maintenance window */
	int has_window;

	/* [dns] */
	char *zone; /* absolute, lower case, with the trailing dot */
	cut_hostport server; /* where updates go */
	int has_server;      /* 0: use the SOA MNAME */
	uint16_t port;       /* default port of all DNS traffic (53) */
	char *tsig_key;      /* path, resolved; NULL in manual mode if unset */
	uint32_t low_ttl;    /* default 300 */
	plan_dns_mode mode;
	cut_hostport *nameservers; /* override of the NS set; n_nameservers 0 = NS */
	size_t n_nameservers;
	cut_hostport *resolvers; /* caching resolvers to watch */
	size_t n_resolvers;

	/* [mx] */
	char *mx_name; /* absolute; default the zone apex */
	plan_mx *mx_old;
	size_t n_mx_old;
	plan_mx *mx_new;
	size_t n_mx_new;

	/* [imap] (lucky scenario) */
	char *imap_name; /* absolute */
	plan_addrs imap_old, imap_new, imap_parking;

	/* [sync] */
	char *accounts; /* CSV path, resolved */
	unsigned jobs;  /* default 4 */
	plan_tls tls1, tls2;
	char *ca_file; /* NULL: system store */
	double maxage; /* postsync window */
	int has_maxage;
	plan_on_failure on_failure;

	/* [hooks] */
	char *cut_access;
	char *restore_access;
	char *notify; /* URL */
} plan;

/**
 * Reads and validates the plan at path.  Relative paths inside it resolve
 * against the plan's directory.  Checks secret files' permissions.
 * @param errors receives one "PLAN:LINE: message\n" per problem.
 * @return 0 and *plan_r, or -1 with at least one line in errors.
 */
int plan_load(const char *path, plan **plan_r, cut_buf *errors);

/**
 * The pure part of plan_load(): parses and validates the plan text in
 * data[0..len) without touching the file system (no permission checks, no
 * realpath).  Relative paths resolve against dir.  `path` only names the
 * plan in messages and in plan->path.  Used by plan_load() and the fuzzer.
 * @return 0 and *plan_r (release with plan_free()), or -1 with errors.
 */
int plan_parse(const char *path, const char *dir, const void *data, size_t len,
	       plan **plan_r, cut_buf *errors);

/** Releases a plan; NULL accepted; *pp set to NULL. */
void plan_free(plan **pp);

/*
 * Text-file helpers shared by the plan and the accounts CSV readers.
 */

/** Longest plan line, limited by the INI parser's line buffer. */
#define PLAN_LINE_MAX 199
/** Longest accounts CSV line. */
#define ACCOUNTS_LINE_MAX 4096
/** Reading stops after this many problems (a binary file is not a plan). */
#define PLAN_ERRORS_MAX 50

/**
 * Reads a whole file of at most max bytes.  *data_r is malloc'ed and
 * NUL-terminated (the file may contain NUL bytes too: use *len_r); the
 * caller frees it, after explicit_bzero() when it may hold secrets.
 * @return 0, or -1 with a sentence in *why_r (static or errno text).
 */
int plan_read_file(const char *path, size_t max, char **data_r, size_t *len_r,
		   const char **why_r);

/**
 * What is wrong with one line of a text file (without its line ending):
 * a NUL byte, invalid UTF-8, more than max bytes, a control character
 * other than TAB or CR.  @return NULL when the
 * line is fine, else a static sentence.
 */
const char *plan_line_problem(const char *p, size_t n, size_t max);

/** Default IMAP port for a TLS mode (993 or 143). */
uint16_t plan_tls_default_port(plan_tls tls);
/** "imaps", "starttls", "plain"; parse returns -1 on an unknown word. */
const char *plan_tls_name(plan_tls tls);
int plan_tls_parse(const char *s, plan_tls *tls_r);

/** Formats an MX set as presentation text: "10 mx1.example., 20 mx2.example." */
void plan_mx_format(const plan_mx *mx, size_t n, char *buf, size_t len);

/* ---- accounts CSV (imapsync batch format) ---- */

typedef struct account {
	unsigned line; /* line in the CSV */
	cut_hostport host1;
	char *user1;
	char *pass1;
	cut_hostport host2;
	char *user2;
	char *pass2;
	char *extra; /* optional 7th column, NULL if absent */
} account;

/**
 * Reads `host1;user1;password1;host2;user2;password2;[extra;]` lines;
 * `#` comments and blank lines skipped.  Ports default to port1/port2.
 * Passwords never appear in error messages.
 * @return 0 and the array, or -1 with "CSV:LINE: message\n" lines in errors.
 */
int accounts_load(const char *path, uint16_t port1, uint16_t port2,
		  account **acc_r, size_t *n_r, cut_buf *errors);

/**
 * The pure part of accounts_load(): parses data[0..len); `path` only names
 * the file in messages.  Same results as accounts_load().
 */
int accounts_parse(const char *path, const void *data, size_t len,
		   uint16_t port1, uint16_t port2, account **acc_r, size_t *n_r,
		   cut_buf *errors);

/** Wipes the passwords and frees the array; *accp set to NULL. */
void accounts_free(account **accp, size_t n);

#endif
