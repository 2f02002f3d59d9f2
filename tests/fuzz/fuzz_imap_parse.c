/*
 * fuzz_imap_parse.c: the IMAP response parser (imapsync/imap_parse.h) and
 * the modified UTF-7 decoder on arbitrary server bytes.  The input is fed
 * in two pieces split at a point taken from the first byte (the framing is
 * resumable on any split), with small limits so that the buffered and the
 * streamed literal paths and the length limits are all reached.  Checked:
 * every item of every response can be walked, a streamed literal delivers
 * exactly the announced number of bytes, and the parser stays failed after
 * an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapsync/imap_parse.h"
#include "imapsync/utf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_walk(const imap_item *it, unsigned depth)
{
	size_t n = 0;

	if (depth > 1000)
		abort(); /* the parser must bound nesting itself */
	for (; it != NULL; it = it->next) {
		n++;
		if (it->type == IMAP_ITEM_LIST)
			n += fuzz_walk(it->child, depth + 1);
		else if (it->str != NULL && strlen(it->str) > it->len)
			abort();
		if (it->type == IMAP_ITEM_ATOM || it->type == IMAP_ITEM_STRING) {
			char *u8 = NULL;
			cut_status st;

			if (imap_utf7_decode(it->str, it->len, &u8, &st) == 0 &&
			    u8 == NULL)
				abort();
			free(u8);
		}
	}
	return n;
}

/* Feeds one piece; returns -1 once the parser has failed. */
static int fuzz_feed(imap_parser *p, const uint8_t *in, size_t len,
		     uint64_t *streamed, uint64_t *announced, int *in_literal)
{
	cut_status st;

	while (len > 0) {
		imap_event ev;
		size_t used = 0;

		if (imap_parse_next(p, in, len, &used, &ev, &st) < 0)
			return -1;
		if (used > len)
			abort();
		in += used;
		len -= used;
		switch (ev.kind) {
		case IMAP_EV_NONE:
			if (len != 0)
				abort();
			break;
		case IMAP_EV_RESPONSE:
			if (ev.resp == NULL || ev.resp->raw == NULL)
				abort();
			fuzz_walk(ev.resp->args, 0);
			fuzz_walk(ev.resp->code.args, 0);
			{
				/* VANISHED decoding: a set it accepts is
				 * walkable to its end with ordered ranges */
				const char *set, *q;
				uint32_t lo, hi;
				int earlier, k;

				if (imap_resp_vanished(ev.resp, &earlier, &set) == 0) {
					q = set;
					while ((k = imap_seqset_next(&q, &lo, &hi)) == 1)
						if (lo > hi || lo == 0)
							abort();
					if (k != 0 || *q != '\0')
						abort();
				}
			}
			break;
		case IMAP_EV_LITERAL_BEGIN: {
			uint32_t seq, uid;
			char section[64];

			if (*in_literal)
				abort();
			*in_literal = 1;
			*announced = ev.size;
			*streamed = 0;
			(void)imap_parse_fetch_prefix(ev.prefix, ev.prefix_len, &seq,
						      &uid, section, sizeof(section));
			break;
		}
		case IMAP_EV_LITERAL_DATA:
			if (!*in_literal)
				abort();
			*streamed += ev.len;
			break;
		case IMAP_EV_LITERAL_END:
			if (!*in_literal || *streamed != *announced)
				abort();
			*in_literal = 0;
			break;
		}
		if (used == 0 && ev.kind == IMAP_EV_NONE)
			break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	imap_parse_limits lim = {.line_max = 4096,
				 .literal_buffer_max = 64,
				 .literal_stream_max = 1u << 20};
	imap_parser *p = NULL;
	uint64_t streamed = 0, announced = 0;
	int in_literal = 0;
	size_t split;
	cut_status st;

	if (size == 0)
		return 0;
	split = data[0] % size;
	data++;
	size--;
	if (split > size)
		split = size;
	if (imap_parser_new(&lim, &p, &st) < 0)
		abort();
	if (fuzz_feed(p, data, split, &streamed, &announced, &in_literal) == 0)
		(void)fuzz_feed(p, data + split, size - split, &streamed, &announced,
				&in_literal);
	else {
		imap_event ev;
		size_t used;

		/* sticky failure: no event from a failed parser */
		if (imap_parse_next(p, "* OK\r\n", 6, &used, &ev, &st) == 0)
			abort();
	}
	imap_parser_free(&p);
	return 0;
}
