# lib.sh - shared helpers for the shell integration tests (source it).
#
# Owns: getting a lab (reusing the ctest fixture's lab when
# CUTOVER_LAB_DIR points at a running one, else starting a private one that
# is stopped on exit), assertions, free ports, cleanup traps, and small
# IMAP/DNS helpers that look at the servers independently of cutover.
#
# Variables a test may read after lab_up: everything from "lab.sh env"
# (LAB_*), plus CUTOVER_SOURCE_DIR, LAB_SH and CUTOVER_BIN (may be empty).
# shellcheck shell=bash

set -euo pipefail

CUTOVER_SOURCE_DIR=${CUTOVER_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LAB_SH=$CUTOVER_SOURCE_DIR/scripts/lab.sh
CUTOVER_BIN=${CUTOVER_BIN:-}
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
# Labs live on 127.$CUTOVER_TEST_NET.X (default 127.0.X): two test runs on
# one machine (a CI run and a developer's) set different values.
CUTOVER_TEST_NET=${CUTOVER_TEST_NET:-0}
[[ $CUTOVER_TEST_NET =~ ^[0-9]{1,3}$ ]] && [ "$CUTOVER_TEST_NET" -le 255 ] ||
	{ echo "CUTOVER_TEST_NET=$CUTOVER_TEST_NET: expected 0..255" >&2; exit 2; }
TEST_NET_PREFIX=127.$CUTOVER_TEST_NET
# The system interpreter: a version-manager shim on PATH is slow to start.
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi

# ---------------------------------------------------------------------------
# Cleanup: functions registered with on_exit run in reverse order on exit.

_ON_EXIT=()

on_exit() {
	_ON_EXIT+=("$*")
}

_run_on_exit() {
	local rc=$? i
	set +e
	for ((i = ${#_ON_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${_ON_EXIT[i]}"
	done
	if [ "$rc" -eq 0 ]; then
		echo "PASS: $TEST_NAME"
	elif [ "$rc" -eq 77 ]; then
		: # skip() said why
	else
		echo "FAIL: $TEST_NAME (exit $rc)" >&2
	fi
	exit "$rc"
}
trap _run_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A scratch directory removed on exit (kept when KEEP_TMP=1). Created when
# lib.sh is sourced, in the test's own shell: tests call it as
# "tmp=$(test_tmpdir)", a subshell whose on_exit registration would be lost.
TEST_TMP=$(mktemp -d "/tmp/cutover-$TEST_NAME.XXXXXX")
# Lab daemons run as other users and must reach files below it.
chmod 755 "$TEST_TMP"
if [ "${KEEP_TMP:-0}" != 1 ]; then
	on_exit "rm -rf '$TEST_TMP'"
fi

test_tmpdir() {
	echo "$TEST_TMP"
}

# ---------------------------------------------------------------------------
# Assertions

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

# skip REASON: exit 77 (ctest SKIP_RETURN_CODE) after the cleanups.
skip() {
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

note() {
	echo "-- [$(date +%T.%3N)] $*"
}

assert_eq() {
	local expected=$1 actual=$2 what=${3:-value}
	[ "$expected" = "$actual" ] || fail "$what: expected '$expected', got '$actual'"
}

assert_ne() {
	local unexpected=$1 actual=$2 what=${3:-value}
	[ "$unexpected" != "$actual" ] || fail "$what: did not expect '$actual'"
}

assert_contains() {
	local haystack=$1 needle=$2 what=${3:-output}
	[[ $haystack == *"$needle"* ]] || fail "$what does not contain '$needle': $haystack"
}

assert_not_contains() {
	local haystack=$1 needle=$2 what=${3:-output}
	[[ $haystack != *"$needle"* ]] || fail "$what contains '$needle': $haystack"
}

# assert_rc EXPECTED CMD...: run CMD and check its exit status.
assert_rc() {
	local expected=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" -eq "$expected" ] || fail "'$*' exited $rc, expected $expected"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while ! "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# ---------------------------------------------------------------------------
# Ports and processes

# free_port: a TCP+UDP port free on all loopback addresses right now.
free_port() {
	"$PYTHON" - <<'EOF'
import random, socket
while True:
    p = random.randrange(20000, 32000)
    try:
        for fam, typ, a in ((socket.AF_INET, socket.SOCK_STREAM, "0.0.0.0"),
                            (socket.AF_INET, socket.SOCK_DGRAM, "0.0.0.0")):
            with socket.socket(fam, typ) as s:
                s.bind((a, p))
    except OSError:
        continue
    print(p)
    break
EOF
}

pid_alive() {
	local state
	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$state" != Z ]
}

# descendants PID...: the given pids and all their live descendants.
descendants() {
	local todo=("$@") p c
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		[ -n "$p" ] || continue
		echo "$p"
		for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do
			todo+=("$c")
		done
	done
}

# ---------------------------------------------------------------------------
# The lab

# lab_running DIR: a lab in DIR answers "status" with every daemon up.
lab_running() {
	[ -n "${1:-}" ] && [ -r "$1/lab.env" ] && bash "$LAB_SH" status "$1" >/dev/null 2>&1
}

# lab_up: make LAB_* point at a running lab. Reuses CUTOVER_LAB_DIR (the
# ctest fixture) when it is running, else starts a private lab in a temp
# dir, stopped on exit. LAB_PRIVATE=1 forces a private lab.
lab_up() {
	local dir
	if [ "${LAB_PRIVATE:-0}" != 1 ] && lab_running "${CUTOVER_LAB_DIR:-}"; then
		dir=$CUTOVER_LAB_DIR
		note "using the shared lab in $dir"
	else
		dir=$(mktemp -d "/tmp/cutover-lab-$TEST_NAME.XXXXXX")
		on_exit "lab_down '$dir'"
		bash "$LAB_SH" start "$dir" || fail "lab.sh start $dir failed"
		export LAB_OWNED_DIR=$dir
	fi
	lab_source "$dir"
}

# sync_account_env USER: the setup the sync tests share, for USER on both
# lab servers (after lab_up): T (the test's temp dir), S (scripts/),
# $T/pass (USER's password, mode 600), H (`cutover sync` options for both
# sides over IMAPS), C1 and C2 (scripts/mailbox_compare.py options for
# host1 and host2), CMP (both), and the functions compare ARGS (host2
# against host1), count 1|2 FOLDER SUBJECT, reset 1|2 and json_total.
sync_account_env() {
	U=$1
	T=$(test_tmpdir)
	S=$CUTOVER_SOURCE_DIR/scripts
	printf '%s\n' "pass-$U" >"$T/pass"
	chmod 600 "$T/pass"
	H=(--host1 "$LAB_HOST1:$LAB_IMAPS_PORT" --user1 "$U" --passfile1 "$T/pass"
		--host2 "$LAB_HOST2:$LAB_IMAPS_PORT" --user2 "$U" --passfile2 "$T/pass"
		--ca-file "$LAB_CA" --tls-name1 "$LAB_TLS_NAME" --tls-name2 "$LAB_TLS_NAME")
	C1=(--host "$LAB_HOST1" --port "$LAB_IMAPS_PORT" --user "$U" --password "pass-$U"
		--ca "$LAB_CA")
	C2=(--host "$LAB_HOST2" --port "$LAB_IMAPS_PORT" --user "$U" --password "pass-$U"
		--ca "$LAB_CA")
	CMP=(--host1 "$LAB_HOST1" --port1 "$LAB_IMAPS_PORT" --user1 "$U" --password1 "pass-$U"
		--host2 "$LAB_HOST2" --port2 "$LAB_IMAPS_PORT" --user2 "$U" --password2 "pass-$U"
		--ca "$LAB_CA")
}
compare() { "$PYTHON" "$S/mailbox_compare.py" compare "${CMP[@]}" "$@"; }
# reset 1|2: empty $U's account on that server (every folder but INBOX
# deleted, INBOX expunged).  A "*" pattern does not reach the lab's
# prefixed namespace: each folder goes by name.
reset() {
	local da=$LAB_DOVEADM1
	[ "$1" = 2 ] && da=$LAB_DOVEADM2
	$da mailbox list -u "$U" | sort -r | while IFS= read -r m; do
		$da expunge -u "$U" mailbox "$m" all >/dev/null 2>&1 || true
		[ "$m" = INBOX ] || $da mailbox delete -u "$U" -s "$m" >/dev/null 2>&1 || true
	done
	[ "$($da search -u "$U" mailbox INBOX ALL | wc -l)" -eq 0 ] || fail "reset of host$1 failed"
}
# json_total FIELD: the total's FIELD of a `cutover sync --json` document on stdin
json_total() { "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)['total']['$1'])"; }
count() { # count 1|2 FOLDER SUBJECT
	local c=("${C1[@]}")
	[ "$1" = 2 ] && c=("${C2[@]}")
	"$PYTHON" "$S/mailbox_compare.py" count "${c[@]}" --folder "$2" --subject "$3"
}

lab_source() {
	local env
	env=$(bash "$LAB_SH" env "$1") || fail "lab.sh env $1 failed"
	eval "$env"
}

lab_down() {
	bash "$LAB_SH" stop "$1" || echo "warning: lab.sh stop $1 failed" >&2
	if [ "${KEEP_TMP:-0}" != 1 ]; then
		rm -rf "$1"
	fi
}

# ---------------------------------------------------------------------------
# DNS helpers (dig against the lab; +norec for authoritative servers)

# dns_get SERVER NAME TYPE: the answer RDATA, one per line, sorted.
dns_get() {
	local rec=+norec
	[ "$1" = "$LAB_RESOLVER" ] && rec=+rec
	dig "$rec" +short +time=1 +tries=2 -p "$LAB_DNS_PORT" "@$1" "$2" "$3" | sort
}

# dns_serial SERVER [ZONE]
dns_serial() {
	dig +norec +short +time=1 +tries=1 -p "$LAB_DNS_PORT" "@$1" "${2:-lab.test}" SOA |
		awk '{print $3}'
}

# dns_update SERVER KEYFILE ZONE < nsupdate-commands: RFC 2136 via nsupdate.
dns_update() {
	{
		echo "server $1 $LAB_DNS_PORT"
		echo "zone $3"
		cat
		echo "send"
	} | nsupdate -t 3 -k "$2"
}

# ---------------------------------------------------------------------------
# IMAP helpers (python3 imaplib; TLS verified against the lab CA)

# imap_py HOST USER -- PYTHON: run PYTHON with "m" logged in to HOST
# over IMAPS (certificate checked for imap.lab.test).
imap_py() {
	local host=$1 user=$2
	shift 3
	"$PYTHON" - "$host" "$LAB_IMAPS_PORT" "$LAB_CA" "$user" "pass-$user" <<EOF
import imaplib, socket, ssl, sys
host, port, ca, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
class C(imaplib.IMAP4_SSL):
    # Connect to the IP but verify the certificate for imap.lab.test.
    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout or 10)
        return self.ssl_context.wrap_socket(sock, server_hostname="imap.lab.test")
m = C(host, port, ssl_context=ctx, timeout=10)
m.login(user, password)
$*
m.logout()
EOF
}

# imap_append HOST USER MAILBOX SUBJECT [FLAGS]: append a small message.
imap_append() {
	local host=$1 user=$2 mbox=$3 subject=$4 flags=${5:-}
	imap_py "$host" "$user" -- "
import time
msg = ('From: lab@lab.test\r\nTo: $user@lab.test\r\nSubject: $subject\r\n'
       'Message-ID: <' + str(time.time_ns()) + '.$user@lab.test>\r\n\r\nbody of $subject\r\n').encode()
typ, data = m.append('\"$mbox\"', '($flags)' if '$flags' else None, None, msg)
assert typ == 'OK', data
"
}

# doveadm_count DOVEADM USER MAILBOX: number of messages via doveadm.
doveadm_count() {
	local doveadm=$1
	# shellcheck disable=SC2086 # DOVEADM is a command prefix
	$doveadm -f flow mailbox status -u "$2" messages "$3" | sed -n 's/.*messages=\([0-9]*\).*/\1/p'
}

# doveadm_save DOVEADM USER MAILBOX < MESSAGE: deliver a message directly
# into the store, bypassing IMAP (e.g. to seed host1 quickly).
doveadm_save() {
	local doveadm=$1
	# shellcheck disable=SC2086 # DOVEADM is a command prefix
	$doveadm save -u "$2" -m "$3"
}

# ---------------------------------------------------------------------------
# Valgrind (scripts/valgrind.sh): with CUTOVER_VALGRIND=1 every run of
# $CUTOVER_BIN goes through valgrind (memcheck, definite leaks are errors,
# exit 97 on an error, not 99: the crash hooks use that).  Reports go to
# CUTOVER_VALGRIND_LOG/vg.PID.log, not to stderr, so the tests' output
# checks still hold; valgrind.sh reads them.
if [ "${CUTOVER_VALGRIND:-0}" = 1 ] && [ -n "$CUTOVER_BIN" ]; then
	_vg_log=${CUTOVER_VALGRIND_LOG:-/tmp/cutover-valgrind}
	mkdir -p "$_vg_log"
	_vg_wrap=$(mktemp -d "/tmp/cutover-vg-$TEST_NAME.XXXXXX")
	chmod 755 "$_vg_wrap"
	cat >"$_vg_wrap/cutover" <<VGEOF
#!/bin/sh
exec valgrind -q --error-exitcode=97 --leak-check=full --show-leak-kinds=definite \
	--errors-for-leak-kinds=definite \
	--track-fds=no --log-file='$_vg_log/vg.%p.log' '$CUTOVER_BIN' "\$@"
VGEOF
	chmod 755 "$_vg_wrap/cutover"
	on_exit "rm -rf '$_vg_wrap'"
	CUTOVER_BIN=$_vg_wrap/cutover
fi
