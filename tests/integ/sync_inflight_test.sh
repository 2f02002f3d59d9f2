#!/usr/bin/env bash
# sync_inflight_test.sh: cutover dies right after the last byte of an
# APPEND went out and before host2's answer (CUTOVER_CRASH_AFTER_APPENDS=1,
# a CUTOVER_DEBUG_HOOKS build); host2 commits that APPEND after the
# process is gone.  A rerun started at once must copy nothing twice and
# lose nothing:
#
#  1. `cutover sync --delete1 --state-dir` (postsync) straight against
#     the lab's Dovecots;
#  2. the same with host2 behind imap_filter_proxy.py --slow-append-end 2
#     (host2 commits an APPEND 2 s after its last byte: a rerun listing
#     host2 at once would not see the messages yet and copy them again);
#  3. `cutover sync --delete2 --state-dir` (an exact sync, as a presync),
#     slow host2;
#  4. `cutover presync PLAN`, slow host2;
#  5. `cutover postsync PLAN`, slow host2.
# Asserted: the first run died in the hook, the rerun exits 0, each new
# message (counted by its subject tag) is on host2 exactly once (and, for a postsync, gone from
# host1), every folder pair holds the same multiset (mailbox_compare.py,
# through IMAP, independently of cutover).
source "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] && [ -x "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
"$CUTOVER_BIN" sync --help 2>&1 | grep -- --state-dir >/dev/null || skip "no --state-dir"
lab_up
sync_account_env "${SYNC_INFLIGHT_USER:-user21}"
PROXY=$CUTOVER_SOURCE_DIR/tests/integ/imap_filter_proxy.py
PROXY_PID=
stop_proxy() {
	[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
	PROXY_PID=
}
on_exit stop_proxy
rm -f "$T/slow.port"
"$PYTHON" "$PROXY" --upstream "$LAB_HOST2:$LAB_IMAP_PORT" --portfile "$T/slow.port" \
	--slow-append-end 2 &
PROXY_PID=$!
wait_for 5 test -s "$T/slow.port" || fail "proxy did not start"
SLOW=$(cat "$T/slow.port")

sync_to() { # sync_to direct|slow ARGS...: cutover sync of U
	local a=(--host1 "$LAB_HOST1:$LAB_IMAPS_PORT" --tls-name1 "$LAB_TLS_NAME")
	if [ "$1" = slow ]; then
		a+=(--host2 "127.0.0.1:$SLOW" --tls2 plain)
	else
		a+=(--host2 "$LAB_HOST2:$LAB_IMAPS_PORT" --tls-name2 "$LAB_TLS_NAME")
	fi
	shift
	"$CUTOVER_BIN" sync "${a[@]}" --user1 "$U" --passfile1 "$T/pass" --user2 "$U" \
		--passfile2 "$T/pass" --ca-file "$LAB_CA" --state-dir "$T/sd" "$@"
}

# crash_then_rerun NAME TAG CMD...: the first run dies after its first
# APPEND command went out; the rerun starts at once.
crash_then_rerun() {
	local name=$1 tag=$2 rc=0
	shift 2
	CUTOVER_CRASH_AFTER_APPENDS=1 "$@" >"$T/$name.1.out" 2>&1 || rc=$?
	assert_eq 99 "$rc" "$name: first run's exit (the hook) ($(tail -3 "$T/$name.1.out"))"
	assert_contains "$(cat "$T/$name.1.out")" "exiting after APPEND command 1 was sent"
	rc=0
	"$@" >"$T/$name.2.out" 2>&1 || rc=$?
	assert_eq 0 "$rc" "$name: rerun ($(tail -5 "$T/$name.2.out"))"
	note "$name: $(count 2 INBOX "$tag") $tag on host2 after the rerun"
}

mkdir -p "$T/sd"
note "reset $U, fill host1 and sync it to host2"
reset 1
reset 2
"$PYTHON" "$S/gen_corpus.py" fill "${C1[@]}" --seed 21 --count 30 --big 0 --dups 2 >/dev/null
sync_to direct --delete2 >"$T/s0.out" 2>&1 || { cat "$T/s0.out"; fail "initial sync failed"; }
compare || fail "host2 differs after the initial sync"

# ---------------------------------------------------------------------------
note "1. postsync (cutover sync --delete1), direct"
"$PYTHON" "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 3 --tag LATE1 --seed 31 >/dev/null
crash_then_rerun p1 LATE1 sync_to direct --delete1 --maxage 10m --folder INBOX
assert_eq 3 "$(count 2 INBOX LATE1)" "LATE1 on host2"
assert_eq 0 "$(count 1 INBOX LATE1)" "LATE1 left on host1"

note "2. postsync (cutover sync --delete1), host2 commits 2 s late"
"$PYTHON" "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 3 --tag LATE2 --seed 32 >/dev/null
crash_then_rerun p2 LATE2 sync_to slow --delete1 --maxage 10m --folder INBOX
assert_contains "$(cat "$T/p2.2.out")" "of an interrupted run's APPEND are not on host2 yet"
assert_eq 3 "$(count 2 INBOX LATE2)" "LATE2 on host2"
assert_eq 0 "$(count 1 INBOX LATE2)" "LATE2 left on host1"
ls "$T/sd"/*.inflight >/dev/null 2>&1 && fail "in-flight record left after the rerun: $(ls "$T/sd")"

note "3. exact sync (cutover sync --delete2), host2 commits 2 s late"
"$PYTHON" "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 4 --tag NEW3 --seed 33 >/dev/null
crash_then_rerun x3 NEW3 sync_to slow --delete2
assert_contains "$(cat "$T/x3.2.out")" "of an interrupted run's APPEND are not on host2 yet"
assert_eq 4 "$(count 2 INBOX NEW3)" "NEW3 on host2"
compare || fail "host2 differs from host1 after the rerun of the exact sync"

# ---------------------------------------------------------------------------
# The campaign commands, host2 behind the slow relay.
cat >"$T/plan" <<EOF
[migration]
scenario = classical
state = $T/state
margin = 1s

[dns]
zone = lab.test
server = $LAB_PRIMARY4:$LAB_DNS_PORT
port = $LAB_DNS_PORT
tsig_key = $LAB_TSIG_KEY
low_ttl = 60

[mx]
old = 10 mx1.old.lab.test., 20 mx2.old.lab.test.
new = 10 mx1.new.lab.test., 20 mx2.new.lab.test.

[sync]
accounts = $T/accounts.csv
jobs = 1
tls1 = imaps
tls2 = plain
ca_file = $LAB_CA
maxage = 1h
EOF
echo "$LAB_HOST1:$LAB_IMAPS_PORT;$U;pass-$U;127.0.0.1:$SLOW;$U;pass-$U;" >"$T/accounts.csv"
chmod 600 "$T/accounts.csv"

note "4. cutover presync PLAN, host2 commits 2 s late"
"$PYTHON" "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 4 --tag NEW4 --seed 34 >/dev/null
crash_then_rerun r4 NEW4 "$CUTOVER_BIN" presync "$T/plan"
assert_eq 4 "$(count 2 INBOX NEW4)" "NEW4 on host2"
compare || fail "host2 differs from host1 after the rerun of the presync"
ls "$T/state/sync"/*.inflight >/dev/null 2>&1 && fail "in-flight record left after the presync rerun"

note "5. cutover postsync PLAN, host2 commits 2 s late"
"$PYTHON" "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 3 --tag LATE5 --seed 35 >/dev/null
crash_then_rerun r5 LATE5 "$CUTOVER_BIN" postsync "$T/plan"
assert_contains "$(cat "$T/r5.2.out")" "of an interrupted run's APPEND are not on host2 yet"
assert_eq 3 "$(count 2 INBOX LATE5)" "LATE5 on host2"
assert_eq 0 "$(count 1 INBOX LATE5)" "LATE5 left on host1"
note "no message lost, none duplicated in every case"
