#!/usr/bin/env bash
# sync_test.sh: `cutover sync` against the lab's two Dovecots.
#
# host1 (prefix "INBOX.", separator ".") is filled by scripts/gen_corpus.py;
# host2 (no prefix, separator "/") starts empty.  Every outcome is checked
# by scripts/mailbox_compare.py, which reads both servers itself.
# Covers: exact sync, second sync copies nothing, host1 changes and a host2
# extra converge (only with --delete2), --dry-run changes nothing, kill -9
# during a copy and during a postsync, postsync by arrival time (a 2001
# Date header arriving now moves; older INBOX mail and other folders stay),
# option safety (exit 2 and 4).
# Env: SYNC_USER (default user24), CUTOVER_BIN.
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] && [ -x "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
lab_up
sync_account_env "${SYNC_USER:-user24}"
H1=("${H[@]}")

sync() { "$CUTOVER_BIN" sync "${H1[@]}" "$@"; }
snap1() { python3 "$S/mailbox_compare.py" snapshot "${C1[@]}"; }
snap2() { python3 "$S/mailbox_compare.py" snapshot "${C2[@]}"; }

# reset N: empty the account on hostN (every folder but INBOX deleted).
# sync_killed_during ARGS...: start a sync, kill -9 it once host2 shows
# progress (or host1 lost a message, postsync), then return.
sync_killed_during() {
	local probe=$1
	shift
	sync "$@" >"$T/killed.out" 2>&1 &
	local pid=$!
	wait_for 60 bash -c "$probe" || true
	# it may end between the check and the kill
	if pid_alive "$pid" && kill -9 "$pid" 2>/dev/null; then
		note "killed the sync (pid $pid) mid-run"
	else
		note "warning: the sync finished before it could be killed"
	fi
	wait "$pid" 2>/dev/null || true
	# The server still completes the APPENDs that were already sent before
	# the kill; a rerun that lists host2 before that could copy them again
	# (docs/sync.md, "Crash safety").  Wait for the old session to end.
	wait_for 60 bash -c "! $LAB_DOVEADM2 who 2>/dev/null | grep -w '$U' >/dev/null" ||
		fail "the killed session of $U on host2 did not end"
}

note "reset $U on both servers, fill host1"
reset 1
reset 2
python3 "$S/gen_corpus.py" fill "${C1[@]}" --seed 42 --count 150 --big 1

note "options: --delete1 with --delete2 refused (4), --delete1 alone usage (2)"
assert_rc 4 sync --delete1 --delete2 --maxage 1h
assert_rc 2 sync --delete1
assert_rc 2 sync --bogus

note "--justlogin"
out=$(sync --justlogin)
assert_contains "$out" "login ok"
rc=0
out=$("$CUTOVER_BIN" sync "${H1[@]}" --tls-name2 wrong.lab.test --justlogin 2>&1) || rc=$?
assert_eq 1 "$rc" "exit status with a certificate name mismatch"
assert_not_contains "$out" "login ok"
assert_contains "$out" "host2"
# both sides are opened at once; a failure is still named by its side,
# host1's first when both fail
rc=0
out=$("$CUTOVER_BIN" sync "${H1[@]}" --tls-name1 wrong.lab.test --justlogin 2>&1) || rc=$?
assert_eq 1 "$rc" "exit status with host1's certificate name mismatch"
assert_contains "$out" "host1"
assert_not_contains "$out" "host2 $LAB_HOST2"
rc=0
out=$("$CUTOVER_BIN" sync "${H1[@]}" --tls-name1 wrong.lab.test --tls-name2 wrong.lab.test \
	--justlogin 2>&1) || rc=$?
assert_eq 1 "$rc" "exit status with both certificate names wrong"
assert_contains "$out" "host1"

note "--dry-run on an empty host2 changes nothing on either server"
snap1 >"$T/h1.before"
snap2 >"$T/h2.before"
out=$("$CUTOVER_BIN" --dry-run sync "${H1[@]}" --delete2)
assert_contains "$out" "copy host1 uid"
snap1 >"$T/h1.after"
snap2 >"$T/h2.after"
cmp -s "$T/h1.before" "$T/h1.after" || fail "--dry-run changed host1"
cmp -s "$T/h2.before" "$T/h2.after" || fail "--dry-run changed host2"

note "kill -9 during the first copy, then run again"
sync_killed_during "[ \$($LAB_DOVEADM2 search -u $U ALL 2>/dev/null | wc -l) -gt 20 ]" --delete2
sync --delete2 >"$T/sync1.out" || { cat "$T/sync1.out"; fail "sync after kill failed"; }
compare || fail "host2 differs from host1 after a killed and resumed sync"

note "a second sync copies nothing"
n=$(sync --delete2 --json | json_total copied)
assert_eq 0 "$n" "copied by the second sync"

note "host1 changes and a host2 extra: without --delete2 the extra stays"
python3 "$S/gen_corpus.py" mutate "${C1[@]}" --seed 42
python3 "$S/gen_corpus.py" extra "${C2[@]}" --folder "Archive/2024"
sync >/dev/null || fail "sync without --delete2 failed"
compare --allow-extra || fail "host1 changes not synced"
if compare >/dev/null; then fail "the host2 extra vanished without --delete2"; fi

note "--dry-run with pending changes changes nothing"
snap2 >"$T/h2.before"
"$CUTOVER_BIN" --dry-run --json sync "${H1[@]}" --delete2 >"$T/dry.json"
n=$(json_total deleted2 <"$T/dry.json")
# 4 messages deleted on host1 by mutate + the host2 extra
assert_eq 5 "$n" "deletions on host2 planned by --dry-run"
snap2 >"$T/h2.after"
cmp -s "$T/h2.before" "$T/h2.after" || fail "--dry-run changed host2"

note "with --delete2 the extra goes"
sync --delete2 --json >"$T/d2.json" || fail "sync --delete2 failed"
assert_eq 5 "$(json_total deleted2 <"$T/d2.json")" "deleted on host2"
compare || fail "not converged with --delete2"

note "host2-only folders stay unless --delete2-folders"
$LAB_DOVEADM2 mailbox create -u "$U" "Only on host2" || fail "doveadm mailbox create"
sync --delete2 >/dev/null || fail "sync --delete2 failed"
$LAB_DOVEADM2 mailbox list -u "$U" | grep -x >/dev/null "Only on host2" || fail "host2-only folder deleted without --delete2-folders"
sync --delete2 --delete2-folders >/dev/null || fail "sync --delete2-folders failed"
if $LAB_DOVEADM2 mailbox list -u "$U" | grep -x >/dev/null "Only on host2"; then
	fail "host2-only folder kept with --delete2-folders"
fi
$LAB_DOVEADM2 mailbox list -u "$U" | grep -x >/dev/null INBOX || fail "INBOX gone"
compare || fail "--delete2-folders touched a synced folder"

note "postsync: new arrivals on host1 INBOX move, the rest stays"
snap1 >"$T/h1.pre"
python3 "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 3 --tag POSTNEW --seed 5
python3 "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 1 --tag POST2001 --seed 6 \
	--date-header "Mon, 01 Jan 2001 10:00:00 +0000"
# arrived 3 hours ago: outside --maxage 1h, must stay on host1
python3 "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 1 --tag POSTOLD --seed 7 --age 10800
snap2 >"$T/h2.pre"
sync --delete1 --maxage 1h --folder INBOX --json >"$T/post.json" || { cat "$T/post.json"; fail "postsync failed"; }
assert_eq 4 "$(json_total deleted1 <"$T/post.json")" "deleted on host1"
assert_eq 0 "$(count 1 INBOX POSTNEW)" "POSTNEW left on host1"
assert_eq 0 "$(count 1 INBOX POST2001)" "POST2001 left on host1"
assert_eq 1 "$(count 1 INBOX POSTOLD)" "POSTOLD on host1"
assert_eq 3 "$(count 2 INBOX POSTNEW)" "POSTNEW on host2"
assert_eq 1 "$(count 2 INBOX POST2001)" "POST2001 on host2"
assert_eq 0 "$(count 2 INBOX POSTOLD)" "POSTOLD on host2"
snap1 | python3 -c "
import json,sys
pre=json.load(open('$T/h1.pre')); now=json.load(sys.stdin)
now['INBOX']['messages']=[m for m in now['INBOX']['messages'] if 'POSTOLD' not in m['subject']]
sys.exit(0 if pre==now else 1)" || fail "postsync touched other host1 messages"

note "postsync never deletes on host2: a user's message there stays"
python3 "$S/gen_corpus.py" append "${C2[@]}" --folder INBOX --count 1 --tag USERONH2 --seed 9
sync --delete1 --maxage 1h --folder INBOX >/dev/null || fail "second postsync failed"
assert_eq 1 "$(count 2 INBOX USERONH2)" "host2 user message"
assert_eq 3 "$(count 2 INBOX POSTNEW)" "POSTNEW on host2 after a second postsync"

note "kill -9 during a postsync (copied, not yet deleted on host1), then run again"
python3 "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 120 --size 60000 --tag POSTKILL --seed 11
sync_killed_during "[ \$($LAB_DOVEADM2 search -u $U mailbox INBOX subject POSTKILL 2>/dev/null | wc -l) -gt 0 ]" \
	--delete1 --maxage 1h --folder INBOX
note "after the kill: host1 $(count 1 INBOX POSTKILL), host2 $(count 2 INBOX POSTKILL) POSTKILL messages"
sync --delete1 --maxage 1h --folder INBOX >/dev/null || fail "postsync after kill failed"
assert_eq 0 "$(count 1 INBOX POSTKILL)" "POSTKILL left on host1"
assert_eq 120 "$(count 2 INBOX POSTKILL)" "POSTKILL on host2 (no loss, no duplicate)"

note "resume of a postsync that copied but died before deleting on host1"
# The same 5 messages on both servers: exactly the state such a crash leaves.
for c in C1 C2; do
	eval "args=(\"\${$c[@]}\")"
	python3 "$S/gen_corpus.py" append "${args[@]}" --folder INBOX --count 5 --tag HALFDONE --seed 13 \
		--date-header "Tue, 02 Jan 2024 10:00:00 +0000" >/dev/null
done
sync --delete1 --maxage 1h --folder INBOX --json >"$T/half.json" || fail "postsync (resume) failed"
assert_eq 0 "$(json_total copied <"$T/half.json")" "copied by the resumed postsync"
assert_eq 5 "$(json_total deleted1 <"$T/half.json")" "deleted on host1 by the resumed postsync"
assert_eq 0 "$(count 1 INBOX HALFDONE)" "HALFDONE left on host1"
assert_eq 5 "$(count 2 INBOX HALFDONE)" "HALFDONE on host2 (no duplicate)"
