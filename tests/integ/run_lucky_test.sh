#!/usr/bin/env bash
# run_lucky_test.sh - `cutover run` end to end, lucky scenario (users keep
# the IMAP name imap.lab.test.), against the lab with TTLs of seconds:
#  - ttl lower lowers the MX and the IMAP name's A/AAAA;
#  - a run whose last sync fails (one account's password is wrong) stops
#    after parking the IMAP name (exit 1); rollback then puts the IMAP name
#    back at host1 (A and AAAA as before) and runs [hooks] restore_access;
#  - with the account fixed, the full run: the IMAP name goes to parking,
#    the last sync, the MX change, the wait, the postsync, and only then
#    the IMAP name moves to host2; mail put in host1's INBOX before the cut,
#    by the cut_access hook and every second during the TTL wait ends on
#    host2 exactly once and is gone from host1's INBOX; a message a user
#    puts on host2 after the MX change survives; the postsync starts at the
#    journaled deadline; MX, A and AAAA end as planned on the primary and
#    the secondary; the webhook receives every transition;
#  - rollback afterwards is refused (exit 4).
# Runs its own lab on LAB_NET (default 127.0.57).
# ctest: own-lab timeout=600

TEST_NAME=run_lucky_test
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

CUTOVER_BIN=${CUTOVER_BIN:-$CUTOVER_SOURCE_DIR/build/bin/cutover}
[ -x "$CUTOVER_BIN" ] || skip "no cutover binary at $CUTOVER_BIN (set CUTOVER_BIN)"
for t in sqlite3 dig nsupdate jq; do
	command -v $t >/dev/null || skip "$t is required"
done

export LAB_NET=${RUN_LUCKY_TEST_NET:-$TEST_NET_PREFIX.57}
export LAB_ACCOUNTS=3
export LAB_PRIVATE=1
lab_up
# shellcheck source=tests/integ/runplan_lib.sh
. "$CUTOVER_SOURCE_DIR/tests/integ/runplan_lib.sh"

tmp=$(test_tmpdir)
state=$tmp/state
plan=$tmp/lucky.plan
OLD_MX="10 mx1.old.lab.test.,20 mx2.old.lab.test."
NEW_MX="10 mx1.new.lab.test."
PARK=$LAB_NET.13
imap_a() { dns_get "${1:-$LAB_PRIMARY4}" imap.lab.test A | paste -sd, -; }
imap_aaaa() { dns_get "${1:-$LAB_PRIMARY4}" imap.lab.test AAAA | paste -sd, -; }

run_accounts "$tmp/accounts.csv" user01 user02
cp "$tmp/accounts.csv" "$tmp/accounts.good"
for i in 1 2; do run_fill "$(user $i)" "$i" 5; done
run_webhook "$tmp/webhook.jsonl"

cat >"$tmp/cut.sh" <<EOF
#!/bin/sh
echo "\$CUTOVER_HOOK \$(date +%s.%N)" >>"$tmp/hooks.log"
exec "$PYTHON" "$RUN_S/gen_corpus.py" append $(h1args user01) --folder INBOX --count 1 --tag cutmsg >/dev/null
EOF
printf '#!/bin/sh\necho "$CUTOVER_HOOK $(date +%%s.%%N)" >>"%s/hooks.log"\n' "$tmp" >"$tmp/restore.sh"
chmod 755 "$tmp/cut.sh" "$tmp/restore.sh"
RUN_SCENARIO=lucky run_plan "$plan" "$state" "$tmp/accounts.csv" "[imap]
name = imap.lab.test.
old = $LAB_HOST1, ::ffff:$LAB_HOST1
new = $LAB_HOST2, ::ffff:$LAB_HOST2
parking = $PARK

[hooks]
cut_access = $tmp/cut.sh
restore_access = $tmp/restore.sh
notify = $RUN_WEBHOOK_URL"

# ---------------------------------------------------------------------------
note "days before: original TTLs of 8 s, ttl lower (MX and IMAP name), ttl wait, presync"
run_set_rrset lab.test MX 8 "10 mx1.old.lab.test." "20 mx2.old.lab.test."
run_set_rrset imap.lab.test A 8 "$LAB_HOST1"
run_set_rrset imap.lab.test AAAA 8 "::ffff:$LAB_HOST1"
run_settle_resolver
A_OLD=$(imap_a)
AAAA_OLD=$(imap_aaaa)
cut check "$plan" >"$tmp/check.out" 2>&1 || fail "check: $(cat "$tmp/check.out")"
cut ttl lower "$plan" >/dev/null 2>&1 || fail "ttl lower"
assert_eq 3 "$(dig +norec +noall +answer -p "$LAB_DNS_PORT" "@$LAB_PRIMARY4" imap.lab.test A | awk '{print $2}')" "IMAP A TTL after ttl lower"
cut ttl wait "$plan" --timeout 60 >"$tmp/ttlwait.out" 2>&1 || fail "ttl wait: $(cat "$tmp/ttlwait.out")"
cut presync "$plan" >/dev/null 2>&1 || fail "presync"

# ---------------------------------------------------------------------------
note "a last sync that fails: the run stops after parking; rollback restores the IMAP name"
sed -i 's/;user02;pass-user02;/;user02;wrong-password;/' "$tmp/accounts.csv"
rc=0
cut run --at "$(run_at 1)" "$plan" >"$tmp/fail.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "run with a failing account"
assert_contains "$(cat "$tmp/fail.out")" "step last_sync failed" "run output"
assert_eq "$PARK" "$(imap_a)" "IMAP A while parked"
assert_eq "" "$(imap_aaaa)" "IMAP AAAA while parked"
assert_eq "$OLD_MX" "$(run_mx)" "MX after the failed last sync"
rc=0
cut rollback "$plan" >"$tmp/rb.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "rollback before the MX change: $(cat "$tmp/rb.out")"
assert_eq "$A_OLD" "$(imap_a)" "IMAP A after rollback"
assert_eq "$AAAA_OLD" "$(imap_aaaa)" "IMAP AAAA after rollback"
assert_eq "$OLD_MX" "$(run_mx)" "MX after rollback"
grep -q '^restore_access ' "$tmp/hooks.log" || fail "restore_access did not run"
cp "$tmp/accounts.good" "$tmp/accounts.csv"
# The rolled-back run's cut_access message stays on host1 like any mail.
: >"$tmp/webhook.jsonl"

# ---------------------------------------------------------------------------
note "the migration hour"
run_snapshot 1 user02 >"$tmp/h1u2.before"
"$PYTHON" "$RUN_S/gen_corpus.py" append $(h1args user01) --folder INBOX --count 2 --tag premsg >/dev/null
(
	wait_for 120 run_mx_is_new || exit 1
	imap_append "$LAB_HOST2" user01 INBOX userput-on-host2
) &
bg_user=$!
run_deliver_until user02 waitmsg "$state" "$tmp/delivered.log" &
bg_deliver=$!
on_exit "kill $bg_user $bg_deliver 2>/dev/null"
rc=0
cut run --at "$(run_at 2)" "$plan" >"$tmp/run.out" 2>&1 || rc=$?
wait $bg_user || fail "background host2 append failed"
wait $bg_deliver || fail "background delivery failed"
[ "$rc" -eq 0 ] || fail "run exited $rc: $(cat "$tmp/run.out")"

note "DNS as planned on the primary and the secondary"
mx_is() { [ "$(run_mx "$1")" = "$NEW_MX" ]; } # polled by wait_for
for srv in "$LAB_PRIMARY4" "$LAB_SECONDARY"; do
	wait_for 5 mx_is "$srv" || fail "MX on $srv: $(run_mx "$srv")"
	assert_eq "$LAB_HOST2" "$(imap_a "$srv")" "IMAP A on $srv"
	assert_eq "::ffff:$LAB_HOST2" "$(imap_aaaa "$srv")" "IMAP AAAA on $srv"
done

note "order and timing from the journal"
t() { run_step_time "$state" "$1" "$2"; }
run_ge "$(t last_sync intent)" "$(t imap_park_wait done)" "last sync before the parking wait ended"
run_ge "$(t imap_move intent)" "$(t postsync done)" "IMAP name moved before the postsync ended"
deadline=$(run_fact "$state" mx_visible deadline)
post=$(t postsync intent)
note "mx deadline $deadline postsync $post"
run_ge "$post" "$deadline" "postsync started before the deadline"
run_ge "$(run_add "$deadline" 10)" "$post" "postsync started more than 10 s after the deadline (see run_test.sh)"
park_dl=$(run_fact "$state" imap_park_visible deadline)
run_ge "$(t last_sync intent)" "$park_dl" "last sync started before no cache could hold host1's address"

note "every message on host2 exactly once, gone from host1's INBOX"
check_moved() { # USER SUBJECT [N]
	assert_eq "${3:-1}" "$(run_count 2 "$1" INBOX "$2")" "$1 host2 INBOX '$2'"
	assert_eq 0 "$(run_count 1 "$1" INBOX "$2")" "$1 host1 INBOX '$2'"
}
check_moved user01 premsg 2
# Two cut_access messages: one from the rolled-back run, one from this one.
check_moved user01 cutmsg 2
[ "$(wc -l <"$tmp/delivered.log")" -ge 2 ] || fail "too few messages delivered during the wait"
while read -r s; do check_moved user02 "$s"; done <"$tmp/delivered.log"
assert_eq 1 "$(run_count 2 user01 INBOX userput-on-host2)" "the user's host2 message"
run_snapshot 1 user02 >"$tmp/h1u2.after"
cmp -s "$tmp/h1u2.before" "$tmp/h1u2.after" || fail "user02: host1 changed beyond the moved messages"
for u in user01 user02; do
	run_compare "$u" --allow-extra >"$tmp/cmp.out" || fail "$u: $(cat "$tmp/cmp.out")"
done

note "webhook, rollback refused, status"
for to in cut_access imap_park imap_park_wait last_sync mx_change mx_wait postsync imap_move imap_wait; do
	grep -q "\"event\": \"transition\".*\"to\": \"$to\"" "$tmp/webhook.jsonl" ||
		fail "no transition to $to: $(cat "$tmp/webhook.jsonl")"
done
grep -q '"event": "done"' "$tmp/webhook.jsonl" || fail "no done notification"
rc=0
cut rollback "$plan" >/dev/null 2>&1 || rc=$?
assert_eq 4 "$rc" "rollback after the MX change"
assert_eq "$LAB_HOST2" "$(imap_a)" "IMAP A after the refused rollback"
assert_contains "$(cut status "$plan" 2>&1)" "phase: done" "status"
