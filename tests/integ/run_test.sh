#!/usr/bin/env bash
# run_test.sh - `cutover run` end to end, classical scenario, against the
# lab's real BIND/unbound/Dovecot servers with TTLs of seconds:
#  - a failing [hooks] cut_access aborts (exit 1) with nothing changed:
#    MX as before on the primary, host2 untouched; rollback then runs
#    [hooks] restore_access and leaves DNS as it was;
#  - the full run: mail put in host1's INBOX before the cut, by the
#    cut_access hook (between the cut and the MX change) and every second
#    during the TTL wait ends on host2 exactly once and is gone from host1's
#    INBOX; older host1 mail is untouched; a message a user puts on host2
#    after the MX change survives; the MX ends as planned on the primary and
#    the secondary;
#  - the wait: the secondary is held at the old serial while the MX
#    changes and released 4 s later: the new MX counts as visible only from
#    the release, and the postsync starts no earlier than the journaled
#    deadline (visible + old TTL 3 s + margin 2 s) and within 10 s of it;
#  - the webhook receives every transition;
#  - rollback after the MX change is refused (exit 4); status says done;
#  - manual mode: the test changes the MX with nsupdate while `run` waits;
#    cutover notices and times the wait from that change.
# Runs its own lab on LAB_NET (default 127.0.56): it changes the MX and
# holds the secondary.
# ctest: own-lab timeout=600

TEST_NAME=run_test
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

CUTOVER_BIN=${CUTOVER_BIN:-$CUTOVER_SOURCE_DIR/build/bin/cutover}
[ -x "$CUTOVER_BIN" ] || skip "no cutover binary at $CUTOVER_BIN (set CUTOVER_BIN)"
for t in sqlite3 dig nsupdate; do
	command -v $t >/dev/null || skip "$t is required"
done

export LAB_NET=${RUN_TEST_NET:-$TEST_NET_PREFIX.56}
export LAB_ACCOUNTS=3
export LAB_PRIVATE=1
lab_up
# shellcheck source=tests/integ/runplan_lib.sh
. "$CUTOVER_SOURCE_DIR/tests/integ/runplan_lib.sh"

tmp=$(test_tmpdir)
state=$tmp/state
plan=$tmp/classical.plan
OLD_MX="10 mx1.old.lab.test.,20 mx2.old.lab.test."
NEW_MX="10 mx1.new.lab.test."

run_accounts "$tmp/accounts.csv" user01 user02 user03
for i in 1 2 3; do run_fill "$(user $i)" "$i" 6; done
run_webhook "$tmp/webhook.jsonl"

# The hooks: cut_access logs, fails while cut.fail exists, else "delivers"
# one message to host1 (mail arriving between the cut and the MX change).
cat >"$tmp/cut.sh" <<EOF
#!/bin/sh
echo "\$CUTOVER_HOOK \$(date +%s.%N)" >>"$tmp/hooks.log"
[ -e "$tmp/cut.fail" ] && exit 3
exec "$PYTHON" "$RUN_S/gen_corpus.py" append $(h1args user01) --folder INBOX --count 1 --tag cutmsg >/dev/null
EOF
printf '#!/bin/sh\necho "$CUTOVER_HOOK $(date +%%s.%%N)" >>"%s/hooks.log"\n' "$tmp" >"$tmp/restore.sh"
chmod 755 "$tmp/cut.sh" "$tmp/restore.sh"
run_plan "$plan" "$state" "$tmp/accounts.csv" "[hooks]
cut_access = $tmp/cut.sh
restore_access = $tmp/restore.sh
notify = $RUN_WEBHOOK_URL"

# ---------------------------------------------------------------------------
note "days before: the original MX TTL (8 s), ttl lower to 3 s, ttl wait, presyncs"
run_set_rrset lab.test MX 8 "10 mx1.old.lab.test." "20 mx2.old.lab.test."
run_settle_resolver
cut check "$plan" >"$tmp/check.out" 2>&1 || fail "check: $(cat "$tmp/check.out")"
cut ttl lower "$plan" >/dev/null 2>&1 || fail "ttl lower"
assert_eq 3 "$(dig +norec +noall +answer -p "$LAB_DNS_PORT" "@$LAB_PRIMARY4" lab.test MX | awk '{print $2}' | sort -u)" "MX TTL after ttl lower"
cut ttl wait "$plan" --timeout 60 >"$tmp/ttlwait.out" 2>&1 || fail "ttl wait: $(cat "$tmp/ttlwait.out")"
cut presync "$plan" >/dev/null 2>&1 || fail "presync 1"
cut presync "$plan" >/dev/null 2>&1 || fail "presync 2"
for u in user01 user02 user03; do
	run_compare "$u" >/dev/null || fail "$u not in sync after the presyncs"
done

# ---------------------------------------------------------------------------
note "a failing cut_access hook: exit 1, nothing changed"
touch "$tmp/cut.fail"
run_snapshot 2 user01 >"$tmp/h2.before"
rc=0
cut run --at "$(run_at 1)" "$plan" >"$tmp/fail.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "run with a failing cut_access"
assert_contains "$(cat "$tmp/fail.out")" "nothing was changed" "run output"
assert_eq "$OLD_MX" "$(run_mx)" "MX after the failed cut"
run_snapshot 2 user01 >"$tmp/h2.after"
cmp -s "$tmp/h2.before" "$tmp/h2.after" || fail "host2 changed by a run that failed at cut_access"
assert_eq "" "$(run_step_time "$state" last_sync intent)" "last_sync started"
grep -q '"event": "failed".*"to": "cut_access"' "$tmp/webhook.jsonl" ||
	fail "no 'failed' notification: $(cat "$tmp/webhook.jsonl")"

note "rollback before the MX change: restore_access runs, DNS stays at old"
rc=0
cut rollback "$plan" >"$tmp/rb.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "rollback before the MX change"
grep -q '^restore_access ' "$tmp/hooks.log" || fail "restore_access did not run"
assert_eq "$OLD_MX" "$(run_mx)" "MX after rollback"
rm -f "$tmp/cut.fail" "$tmp/webhook.jsonl"

# ---------------------------------------------------------------------------
note "the migration hour: mail before the cut, secondary held, delivery during the wait"
run_snapshot 1 user01 >"$tmp/h1u1.before"
run_snapshot 1 user02 >"$tmp/h1u2.before"
run_snapshot 1 user03 >"$tmp/h1u3.before"
"$PYTHON" "$RUN_S/gen_corpus.py" append $(h1args user01) --folder INBOX --count 2 --tag premsg >/dev/null
bash "$LAB_SH" secondary-hold "$LAB_DIR" >/dev/null

# Background: when the primary serves the new MX, a user stores a message
# on host2, then the secondary is released 4 s later.
(
	wait_for 60 run_mx_is_new || exit 1
	imap_append "$LAB_HOST2" user03 INBOX userput-on-host2
	sleep 4
	date +%s.%N >"$tmp/release.time"
	bash "$LAB_SH" secondary-release "$LAB_DIR" >/dev/null
) &
bg_release=$!
run_deliver_until user02 waitmsg "$state" "$tmp/delivered.log" &
bg_deliver=$!
on_exit "kill $bg_release $bg_deliver 2>/dev/null; bash '$LAB_SH' secondary-release '$LAB_DIR' >/dev/null 2>&1"

rc=0
cut run --at "$(run_at 2)" "$plan" >"$tmp/run.out" 2>&1 || rc=$?
wait $bg_release || fail "background release failed"
wait $bg_deliver || fail "background delivery failed"
[ "$rc" -eq 0 ] || fail "run exited $rc: $(cat "$tmp/run.out")"

note "DNS as planned"
assert_eq "$NEW_MX" "$(run_mx)" "MX on the primary"
assert_eq "$NEW_MX" "$(run_mx "$LAB_SECONDARY")" "MX on the secondary"

note "timing: visible from the release, postsync at the deadline"
release=$(cat "$tmp/release.time")
visible=$(run_fact "$state" mx_visible visible_at)
deadline=$(run_fact "$state" mx_visible deadline)
old_ttl=$(run_fact "$state" mx_visible old_ttl)
post=$(run_step_time "$state" postsync intent)
note "release $release visible_at $visible old_ttl $old_ttl deadline $deadline postsync $post"
assert_eq 3 "${old_ttl%.*}" "old TTL the MX was served with"
run_ge "$visible" "$release" "new MX visible everywhere before the secondary was released"
run_ge "$deadline" "$(run_add "$visible" 5)" "deadline = visible + 3 s + 2 s"
run_ge "$post" "$deadline" "postsync started before the deadline"
# Bound, not a benchmark: the postsync follows the deadline by the time one
# propagation check and the countdown tick take, seconds even on a loaded
# 2-core machine; a fixed sleep or a missed wake-up would exceed it.
run_ge "$(run_add "$deadline" 10)" "$post" "postsync started more than 10 s after the deadline"
mxc=$(run_step_time "$state" mx_change intent)
lock=$(run_db "$state" "SELECT time FROM facts WHERE key='users_on_host2'")
run_ge "$lock" "$mxc" "delete2 lockout before the MX change intent"
run_ge "$(run_step_time "$state" dns_mx done)" "$lock" "delete2 lockout after the MX change was sent"
# Users may now work on host2: an exact presync would delete their mail.
rc=0
cut presync "$plan" >"$tmp/locked.out" 2>&1 || rc=$?
assert_eq 4 "$rc" "presync after the run's MX change ($(tail -2 "$tmp/locked.out"))"
assert_contains "$(cat "$tmp/locked.out")" "--no-delete2" "the refusal"

note "every message on host2 exactly once, gone from host1's INBOX"
ndeliv=$(wc -l <"$tmp/delivered.log")
[ "$ndeliv" -ge 2 ] || fail "only $ndeliv messages delivered during the wait"
check_moved() { # USER SUBJECT
	assert_eq 1 "$(run_count 2 "$1" INBOX "$2")" "$1 host2 INBOX '$2'"
	assert_eq 0 "$(run_count 1 "$1" INBOX "$2")" "$1 host1 INBOX '$2'"
}
assert_eq 2 "$(run_count 2 user01 INBOX premsg)" "host2 pre-cut messages"
assert_eq 0 "$(run_count 1 user01 INBOX premsg)" "host1 pre-cut messages"
check_moved user01 cutmsg
while read -r s; do check_moved user02 "$s"; done <"$tmp/delivered.log"
assert_eq 1 "$(run_count 2 user03 INBOX userput-on-host2)" "the user's host2 message"
for u in user01 user02 user03; do
	run_snapshot 1 "$u" >"$tmp/h1.after"
	cmp -s "$tmp/h1u${u#user0}.before" "$tmp/h1.after" ||
		fail "$u: host1 changed beyond the moved messages: $(diff "$tmp/h1u${u#user0}.before" "$tmp/h1.after" | head -20)"
	run_compare "$u" --allow-extra >"$tmp/cmp.out" || fail "$u: $(cat "$tmp/cmp.out")"
done
grep -q '^cut_access ' "$tmp/hooks.log" || fail "cut_access did not run"

note "webhook: every transition"
for to in cut_access last_sync mx_change mx_wait postsync; do
	grep -q "\"event\": \"transition\".*\"to\": \"$to\"" "$tmp/webhook.jsonl" ||
		fail "no transition to $to: $(cat "$tmp/webhook.jsonl")"
done
grep -q '"event": "done"' "$tmp/webhook.jsonl" || fail "no done notification"
jq -e -s 'all(.[]; .plan != null and .zone == "lab.test." and (.time | test("Z$")))' "$tmp/webhook.jsonl" >/dev/null ||
	fail "notification fields: $(cat "$tmp/webhook.jsonl")"

note "after the MX change: rollback refused (4), status done, run again is a no-op"
rc=0
cut rollback "$plan" >"$tmp/rb2.out" 2>&1 || rc=$?
assert_eq 4 "$rc" "rollback after the MX change"
assert_eq "$NEW_MX" "$(run_mx)" "MX after the refused rollback"
st=$(cut status "$plan" 2>&1) || fail "status: $st"
assert_contains "$st" "phase: done" "status"
cut --json status "$plan" | jq -e . >/dev/null || fail "status --json is not JSON"
out=$(cut run "$plan" 2>&1) || fail "run after done: $out"
assert_contains "$out" "already done" "run after done"

# ---------------------------------------------------------------------------
note "manual mode: the MX is changed by hand while run waits"
# The admin lowers the TTL by hand (4 s -> 3 s) after one `ttl status` saw
# the original TTL (docs/propagation.md).
run_set_rrset lab.test MX 4 "10 mx1.old.lab.test." "20 mx2.old.lab.test."
RUN_MODE=manual run_plan "$tmp/manual.plan" "$tmp/state-manual" "$tmp/accounts.csv"
cut ttl status "$tmp/manual.plan" >/dev/null 2>&1 || true
run_set_rrset lab.test MX 3 "10 mx1.old.lab.test." "20 mx2.old.lab.test."
cut ttl wait "$tmp/manual.plan" --timeout 60 >"$tmp/mwait.out" 2>&1 || fail "manual ttl wait: $(cat "$tmp/mwait.out")"
cut run --at "$(run_at 1)" "$tmp/manual.plan" >"$tmp/manual.out" 2>&1 &
mpid=$!
on_exit "kill $mpid 2>/dev/null"
wait_for 60 grep -qs "mode = manual: change" "$tmp/manual.out" || fail "run did not ask for the manual change: $(cat "$tmp/manual.out")"
sleep 2
changed=$(date +%s.%N)
run_set_rrset lab.test MX 3 "10 mx1.new.lab.test."
rc=0
wait $mpid || rc=$?
[ "$rc" -eq 0 ] || fail "manual run exited $rc: $(cat "$tmp/manual.out")"
visible=$(run_fact "$tmp/state-manual" mx_visible visible_at)
deadline=$(run_fact "$tmp/state-manual" mx_visible deadline)
post=$(run_step_time "$tmp/state-manual" postsync intent)
note "changed $changed visible_at $visible deadline $deadline postsync $post"
run_ge "$visible" "$changed" "visible before the manual change"
run_ge "$(run_add "$changed" 3)" "$visible" "manual change noticed late"
run_ge "$post" "$deadline" "manual: postsync before the deadline"
assert_eq "$NEW_MX" "$(run_mx)" "MX after the manual run"
