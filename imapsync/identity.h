/*
 * identity.h: what makes two messages "the same message" for the sync.
 *
 * A message's identity is a SHA-256 digest over either
 *   - its normalised Message-ID (RFC 5322 3.6.4) and its RFC822.SIZE, or,
 *     when it has no usable Message-ID,
 *   - a fixed set of header fields (IDENTITY_HEADER_FIELDS, unfolded, white
 *     space collapsed) and its RFC822.SIZE.
 * The size is part of the identity in both cases: two different messages
 * that reuse one Message-ID (broken mailers, a bounce quoting the original)
 * must not be taken for each other, least of all by the postsync, which
 * deletes on host1 what it finds on host2.
 *
 * Normalisation of a Message-ID: unfold (RFC 5322 2.2.3), take the first
 * `<...>` token (comments and text around it are ignored), drop white space
 * inside it, lower-case the domain part (right of the last `@`; domains are
 * case-insensitive, RFC 5321 2.4) and keep the local part as is (it is
 * case-sensitive, RFC 5321 2.4).  A value without angle brackets is used
 * trimmed, as some mailers write it that way.  An empty value counts as
 * missing.
 *
 * Pure functions: no allocation that outlives a call, no globals;
 * thread-safe.
 */
#ifndef CUTOVER_IMAPSYNC_IDENTITY_H
#define CUTOVER_IMAPSYNC_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

#define IDENTITY_LEN 32
/** Hex form plus NUL. */
#define IDENTITY_HEX_LEN (2 * IDENTITY_LEN + 1)

/**
 * The header fields to FETCH for the identity, ready to be put into
 * `BODY.PEEK[HEADER.FIELDS (...)]` (RFC 3501 6.4.5).
 */
#define IDENTITY_HEADER_FIELDS \
	"MESSAGE-ID DATE FROM TO CC SUBJECT IN-REPLY-TO"

typedef struct identity {
	uint8_t d[IDENTITY_LEN];
} identity;

/** Which rule produced the identity. */
typedef enum identity_source {
	IDENTITY_FROM_MESSAGE_ID = 0,
	IDENTITY_FROM_HEADERS,
} identity_source;

/**
 * Computes the identity of a message from its header block (the bytes
 * returned for BODY[HEADER.FIELDS (IDENTITY_HEADER_FIELDS)], or the whole
 * header; CRLF or LF line ends) and its RFC822.SIZE.
 * @param source_r   may be NULL
 * @param mid_r      may be NULL; else receives the normalised Message-ID
 *                   (truncated to mid_n - 1 bytes; "" when there is none)
 * @return 0, or -1 when the digest could not be computed (*st says why).
 */
int identity_compute(const char *hdr, size_t hdr_len, uint64_t size,
		     identity *id_r, identity_source *source_r, char *mid_r,
		     size_t mid_n, cut_status *st);

/**
 * Normalises a Message-ID field value (already unfolded or not) into out.
 * @return the length written (0 when the value holds no Message-ID).
 */
size_t identity_normalise_message_id(const char *value, size_t len, char *out,
				     size_t out_n);

/**
 * Finds header field `name` (case-insensitive) in a header block and
 * returns its value unfolded with white space runs collapsed to one space
 * and trimmed.  The first occurrence wins.
 * @return the length written to out, or -1 when the field is absent.
 */
long identity_header_value(const char *hdr, size_t hdr_len, const char *name,
			   char *out, size_t out_n);

/** Total order on identities (memcmp). */
int identity_cmp(const identity *a, const identity *b);

/** Lower-case hex of the digest into out (IDENTITY_HEX_LEN bytes). */
void identity_format(const identity *id, char out[IDENTITY_HEX_LEN]);

#endif
