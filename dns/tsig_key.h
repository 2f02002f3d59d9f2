/*
 * tsig_key.h: TSIG keys read from a BIND key file, the format written by
 * `tsig-keygen` and `ddns-confgen`:
 *
 *     key "cutover-key" {
 *             algorithm hmac-sha256;
 *             secret "base64...";
 *     };
 *
 * Comments `#`, `//` and C-style are accepted anywhere between tokens.  The
 * file must hold exactly one key.  Errors name FILE:LINE.
 *
 * Ownership: tsig_key_parse() and tsig_key_load() return a key released
 * with tsig_key_free(), which wipes the secret.  The secret never appears
 * in a message.
 */
#ifndef CUTOVER_DNS_TSIG_KEY_H
#define CUTOVER_DNS_TSIG_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

/** The HMAC algorithms of RFC 8945 section 6 that cutover signs with. */
typedef enum tsig_key_alg {
	TSIG_KEY_HMAC_MD5 = 0,
	TSIG_KEY_HMAC_SHA1,
	TSIG_KEY_HMAC_SHA224,
	TSIG_KEY_HMAC_SHA256,
	TSIG_KEY_HMAC_SHA384,
	TSIG_KEY_HMAC_SHA512,
} tsig_key_alg;

#define TSIG_KEY_SECRET_MAX 512

typedef struct tsig_key {
	char *name;         /* absolute, lower case: "cutover-key." */
	tsig_key_alg alg;
	unsigned char *secret; /* decoded */
	size_t secret_len;
	char *file; /* where it was read from, for messages */
} tsig_key;

/**
 * Parses the text of a key file.  Pure: no I/O.
 * @param file  the name used in FILE:LINE messages.
 * @return 0 and *key_r, or -1 with "FILE:LINE: ..." in *st (CUT_FINAL,
 *         scope local).
 */
int tsig_key_parse(const char *text, size_t len, const char *file,
		   tsig_key **key_r, cut_status *st);

/**
 * Reads and parses the key file at path after checking its permissions
 * (cut_secret_file_check: no group/other access).
 */
int tsig_key_load(const char *path, tsig_key **key_r, cut_status *st);

/** Wipes and frees; NULL accepted; *kp set to NULL. */
void tsig_key_free(tsig_key **kp);

/** Algorithm by BIND name ("hmac-sha256", case-insensitive, trailing dot
 *  accepted).  @return 0, or -1 when unknown. */
int tsig_key_alg_parse(const char *s, tsig_key_alg *alg_r);

/** The algorithm's domain name as sent on the wire (RFC 8945 6):
 *  "hmac-sha256.", "hmac-md5.sig-alg.reg.int.".  Static string. */
const char *tsig_key_alg_dname(tsig_key_alg alg);

/** Short name for messages: "hmac-sha256".  Static string. */
const char *tsig_key_alg_name(tsig_key_alg alg);

#endif
