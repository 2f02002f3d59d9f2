#!/usr/bin/env bash
# imap_client_test.sh: runs the C program imap_client_test (built from
# tests/integ/imap_client_test.c next to the cutover binary) against the
# lab's Dovecots: TLS verification, login errors, STARTTLS refusal, trace
# redaction, a mailbox round trip, 1,000 pipelined APPENDs and a 20 MB
# message streamed host1 -> host2 with bounded memory.
# Env: IMAP_CLIENT_TEST_BIN (default: next to CUTOVER_BIN).
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

BIN=${IMAP_CLIENT_TEST_BIN:-}
if [ -z "$BIN" ] && [ -n "$CUTOVER_BIN" ]; then
	BIN=$(dirname "$CUTOVER_BIN")/imap_client_test
fi
[ -n "$BIN" ] && [ -x "$BIN" ] || skip "imap_client_test not built"
lab_up
export LAB_HOST1 LAB_HOST2 LAB_IMAP_PORT LAB_IMAPS_PORT LAB_CA LAB_OTHER_CA \
	LAB_TLS_NAME LAB_NOTLS_HOST LAB_NOTLS_PORT LAB_ACCOUNTS LAB_DEAD_PORT
note "running $BIN"
"$BIN" || fail "imap_client_test failed"
