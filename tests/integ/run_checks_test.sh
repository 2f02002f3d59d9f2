#!/usr/bin/env bash
# run_checks_test.sh - what `cutover run` does around the state machine,
# against the lab's real servers (TTLs of 1 s):
#  - refusal: the MX served with a 40 s TTL until just now, so a migration
#    hour 2 s ahead is refused (exit 3) with the earliest possible time
#    (when the low TTL became visible everywhere + 40 s), and nothing is
#    changed (MX, journal);
#  - warnings: no presync history; an estimate longer than the window;
#  - --dry-run: the timeline of every step with its computed end, text and
#    --json, and nothing changed;
#  - the countdown to the migration hour, and no step before it;
#  - status --json after the run: phase, every step with its times, the
#    MX deadline, the per-account results of the last sync and postsync;
#  - postsync is repeatable: two stragglers delivered on different "days"
#    each end on host2 exactly once, a postsync with nothing new changes
#    nothing;
#  - rollback after the MX change: refused (exit 4), then --force puts the
#    MX back;
#  - another process holding the plan's lock: presync, postsync, run,
#    rollback and the DNS commands refuse (exit 4) and name it;
#  - a webhook that cannot be reached: one warning per notification, and
#    the cutover completes.
# Runs its own lab on LAB_NET (default $TEST_NET_PREFIX.62).
# ctest: own-lab timeout=300

TEST_NAME=run_checks_test
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

CUTOVER_BIN=${CUTOVER_BIN:-$CUTOVER_SOURCE_DIR/build/bin/cutover}
[ -x "$CUTOVER_BIN" ] || skip "no cutover binary at $CUTOVER_BIN (set CUTOVER_BIN)"
for t in sqlite3 dig nsupdate jq; do
	command -v $t >/dev/null || skip "$t is required"
done

export LAB_NET=${RUN_CHECKS_TEST_NET:-$TEST_NET_PREFIX.62}
export LAB_ACCOUNTS=2
export LAB_PRIVATE=1
lab_up
# shellcheck source=tests/integ/runplan_lib.sh
. "$CUTOVER_SOURCE_DIR/tests/integ/runplan_lib.sh"

test_tmpdir >/dev/null # not in $(...): its cleanup must be registered here
tmp=$TEST_TMP
plan=$tmp/checks.plan
state=$tmp/state
OLD_MX="10 mx1.old.lab.test.,20 mx2.old.lab.test."
NEW_MX="10 mx1.new.lab.test."
STEPS='["cut_access","last_sync","mx_change","mx_wait","postsync","done"]'
export RUN_LOW_TTL=1

run_accounts "$tmp/accounts.csv" user01 user02
run_fill user01 1 3
run_fill user02 2 3
# The webhook points at a port nobody listens on: every notification
# fails, and the cutover goes on.
run_plan "$plan" "$state" "$tmp/accounts.csv" "[hooks]
notify = http://$LAB_HOST1:$LAB_DEAD_PORT/cutover"
sed -i 's/^margin = .*/margin = 0s/' "$plan"
epoch() { date -u -d "$1" +%s; }
steps_journaled() { # STATE: journal entries of state machine steps
	run_db "$1" "SELECT count(*) FROM entries WHERE step IN ('cut_access','last_sync','mx_change','mx_wait','postsync','done')" 2>/dev/null || echo 0
}
# shellcheck disable=SC2086 # LAB_DOVEADMn are command prefixes
inbox_subject() { # 1|2 USER SUBJECT: INBOX messages with SUBJECT
	if [ "$1" = 1 ]; then
		$LAB_DOVEADM1 search -u "$2" mailbox INBOX subject "$3" | wc -l
	else
		$LAB_DOVEADM2 search -u "$2" mailbox INBOX subject "$3" | wc -l
	fi
}

# ---------------------------------------------------------------------------
note "exit 4: another process holds the plan's lock"
mkdir -p "$state"
# held by this shell on its own open file (flock(2), as cutover does)
exec {lockfd}>"$state/lock"
flock -n "$lockfd" || fail "the test could not take the lock"
for c in "presync $plan" "postsync $plan" "run --at $(run_at 3600) $plan" \
	"rollback $plan" "dns mx $plan new" "ttl lower $plan"; do
	rc=0
	# shellcheck disable=SC2086 # c is a command line
	out=$(cut $c 2>&1) || rc=$?
	assert_eq 4 "$rc" "$c with the lock held"
	assert_contains "$out" "another cutover process works on this plan" "$c"
done
flock -u "$lockfd"
exec {lockfd}>&-
[ "$(steps_journaled "$state")" = 0 ] || fail "a step was journaled while the lock was held"

# ---------------------------------------------------------------------------
note "exit 3: the old TTL (40 s) has not run out by the migration hour"
run_plan "$tmp/slow.plan" "$tmp/slow-state" "$tmp/accounts.csv"
sed -i 's/^margin = .*/margin = 0s/' "$tmp/slow.plan"
run_set_rrset lab.test MX 40 "10 mx1.old.lab.test." "20 mx2.old.lab.test."
run_settle_resolver
t0=$(date +%s)
cut ttl lower "$tmp/slow.plan" >"$tmp/slow-lower.out" 2>&1 || fail "ttl lower: $(cat "$tmp/slow-lower.out")"
secondary_current() { [ "$(dns_serial "$LAB_SECONDARY")" = "$(dns_serial "$LAB_PRIMARY4")" ]; }
wait_for 30 secondary_current || fail "the secondary did not get the low TTL"
rc=0
out=$(cut run --at "$(run_at 2)" "$tmp/slow.plan" 2>&1) || rc=$?
t1=$(date +%s)
assert_eq 3 "$rc" "run before the old TTL ran out"
assert_contains "$out" "earliest possible migration hour is" "refusal"
earliest=$(sed -n 's/.*earliest possible migration hour is \([^ ]*\) .*/\1/p' <<<"$out")
[ -n "$earliest" ] || fail "no earliest time in: $out"
e=$(epoch "$earliest")
# The low TTL became visible between t0 and t1; caches may keep the 40 s
# data 40 s longer (margin 0).
if [ "$e" -lt $((t0 + 40)) ] || [ "$e" -gt $((t1 + 41)) ]; then
	fail "earliest $earliest ($e) not within [$((t0 + 40)), $((t1 + 41))]"
fi
assert_eq "$OLD_MX" "$(run_mx)" "MX after the refusal"
assert_eq 0 "$(steps_journaled "$tmp/slow-state")" "steps journaled by a refused run"

# The main plan starts from the MX at TTL 1 (already low).
run_set_rrset lab.test MX 1 "10 mx1.old.lab.test." "20 mx2.old.lab.test."
cut ttl lower "$plan" >"$tmp/lower.out" 2>&1 || fail "ttl lower: $(cat "$tmp/lower.out")"
cut ttl wait "$plan" --timeout 60 >"$tmp/wait.out" 2>&1 || fail "ttl wait: $(cat "$tmp/wait.out")"

# ---------------------------------------------------------------------------
note "warnings and the --dry-run timeline"
at=$(run_at 120)
rc=0
cut --dry-run run --at "$at" "$plan" >"$tmp/dry.out" 2>"$tmp/dry.err" || rc=$?
assert_eq 0 "$rc" "dry run: $(cat "$tmp/dry.err")"
assert_contains "$(cat "$tmp/dry.err")" "no presync history" "dry run warnings"
for s in cut_access last_sync mx_change mx_wait postsync "done"; do
	grep -q " $s " "$tmp/dry.out" || fail "timeline without $s: $(cat "$tmp/dry.out")"
done
cut --json --dry-run run --at "$at" "$plan" >"$tmp/dry.json" 2>/dev/null || fail "--json dry run"
assert_eq "$STEPS" "$(jq -c '[.timeline[].step]' "$tmp/dry.json")" "timeline steps"
assert_eq "$(epoch "$at")" "$(jq '.timeline[0].start | floor' "$tmp/dry.json")" "timeline start"
# mx_wait ends at least the old MX TTL (1 s) after it starts; the steps
# follow each other.
jq -e '.timeline as $t | ($t[] | select(.step == "mx_wait") | .end - .start >= 1)
	and all(range(1; $t | length); $t[.].start == $t[. - 1].end)' "$tmp/dry.json" >/dev/null ||
	fail "timeline: $(cat "$tmp/dry.json")"
assert_eq "$OLD_MX" "$(run_mx)" "MX after the dry run"
assert_eq 0 "$(steps_journaled "$state")" "steps journaled by the dry run"

cut presync "$plan" >/dev/null 2>&1 || fail "presync"
# A window shorter than any presync: the estimate exceeds it.
sed -i 's/^margin = 0s/margin = 0s\nwindow = 0.001s/' "$plan"
cut --dry-run run --at "$at" "$plan" >/dev/null 2>"$tmp/dry2.err" || fail "dry run 2: $(cat "$tmp/dry2.err")"
assert_not_contains "$(cat "$tmp/dry2.err")" "no presync history" "warnings after a presync"
assert_contains "$(cat "$tmp/dry2.err")" "([migration] window)" "estimate warning"
sed -i '/^window = /d' "$plan"

# ---------------------------------------------------------------------------
note "the run: countdown to the migration hour, then the cutover"
imap_append "$LAB_HOST1" user01 INBOX "checks-before-the-cut"
at=$(run_at 3)
rc=0
cut run --at "$at" "$plan" >"$tmp/run.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "run exited $rc: $(cat "$tmp/run.out")"
assert_contains "$(cat "$tmp/run.out")" "waiting for the migration hour" "run output"
[ "$(grep -c "notify http://$LAB_HOST1:$LAB_DEAD_PORT/cutover: .*(the cutover goes on)" "$tmp/run.out")" -ge 6 ] ||
	fail "failing webhook: expected a warning per transition: $(grep notify "$tmp/run.out")"
run_ge "$(run_step_time "$state" cut_access intent)" "$(epoch "$at")" "cut_access before the migration hour"
assert_eq "$NEW_MX" "$(run_mx)" "MX after the run"
assert_eq 1 "$(inbox_subject 2 user01 checks-before-the-cut)" "moved message on host2"
assert_eq 0 "$(inbox_subject 1 user01 checks-before-the-cut)" "moved message on host1"

note "status --json"
cut --json status "$plan" >"$tmp/status.json" 2>"$tmp/status.err" || fail "status --json: $(cat "$tmp/status.err")"
jq -e '.phase == "done"' "$tmp/status.json" >/dev/null || fail "status phase: $(cat "$tmp/status.json")"
assert_eq "$STEPS" "$(jq -c '[.steps[].step]' "$tmp/status.json")" "status steps"
jq -e '(.steps | map(select(.step != "done")) | all(.state == "done" and .started != null))
	and .steps[-1].state == "done"' "$tmp/status.json" >/dev/null ||
	fail "status steps: $(jq -c .steps "$tmp/status.json")"
for kind in lastsync postsync; do
	assert_eq '["user01","user02"]' \
		"$(jq -c --arg k $kind '[.runs[$k].accounts[] | select(.status == "ok") | .user1] | sort' "$tmp/status.json")" \
		"status $kind accounts"
done
deadline=$(run_fact "$state" mx_visible deadline)
assert_eq "${deadline%.*}" "$(jq '.facts.mx_visible.deadline | floor' "$tmp/status.json")" "status MX deadline"
jq -e '.runs.lastsync.accounts[] | select(.user1 == "user01") | .copied == 1' "$tmp/status.json" >/dev/null ||
	fail "status: user01's last sync copied: $(jq -c .runs.lastsync "$tmp/status.json")"

# ---------------------------------------------------------------------------
note "postsync is repeatable"
h2=$($LAB_DOVEADM2 -f flow mailbox status -u user01 messages INBOX | sed 's/.*messages=//')
imap_append "$LAB_HOST1" user01 INBOX "checks-straggler-1"
cut postsync "$plan" >"$tmp/post1.out" 2>&1 || fail "postsync 1: $(cat "$tmp/post1.out")"
cut postsync "$plan" >"$tmp/post2.out" 2>&1 || fail "postsync 2 (nothing new): $(cat "$tmp/post2.out")"
imap_append "$LAB_HOST1" user01 INBOX "checks-straggler-2"
cut postsync "$plan" >"$tmp/post3.out" 2>&1 || fail "postsync 3: $(cat "$tmp/post3.out")"
for s in checks-straggler-1 checks-straggler-2; do
	assert_eq 1 "$(inbox_subject 2 user01 "$s")" "$s on host2"
	assert_eq 0 "$(inbox_subject 1 user01 "$s")" "$s on host1"
done
assert_eq $((h2 + 2)) "$($LAB_DOVEADM2 -f flow mailbox status -u user01 messages INBOX | sed 's/.*messages=//')" \
	"host2 INBOX after three postsyncs"
assert_eq 4 "$(run_db "$state" "SELECT count(*) FROM runs WHERE kind='postsync' AND status='ok'")" \
	"postsync runs recorded (the run's and the three commands')"

# ---------------------------------------------------------------------------
note "rollback after the MX change: refused, then --force"
rc=0
cut rollback "$plan" >"$tmp/rb.out" 2>&1 || rc=$?
assert_eq 4 "$rc" "rollback after the MX change"
assert_contains "$(cat "$tmp/rb.out")" "--force" "refusal"
assert_eq "$NEW_MX" "$(run_mx)" "MX after the refused rollback"
rc=0
cut rollback --force "$plan" >"$tmp/rbf.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "rollback --force: $(cat "$tmp/rbf.out")"
assert_eq "$OLD_MX" "$(run_mx)" "MX after rollback --force"
