#!/usr/bin/env bash
# run_crash_test.sh - `cutover run` dies at every journal write in turn and
# `cutover run` again finishes with the end state of an uninterrupted run.
#
# The debug hook CUTOVER_CRASH_AFTER_WRITES=N (cutover/journal.c, builds
# with CUTOVER_DEBUG_HOOKS) makes the process _exit(99) right after its Nth
# durable journal write: the same as a kill -9 at that point, without a
# race. For N = 1, 2, ... until a run completes without crashing:
#   - a fresh copy of a prepared state directory (TTL lowered and waited
#     for, presync done) and the MX back at [mx] old;
#   - one new message in host1's INBOX (to be moved by the cutover);
#   - `run` with the hook: exit 99; then `run` again: exit 0;
#   - the end state: MX = [mx] new on the primary, the journal done, the
#     new message on host2 exactly once and gone from host1, host2's INBOX
#     grown by exactly that one message (nothing copied twice), every other
#     folder equal on both sides (mailbox_compare.py), nothing deleted on
#     host2, the postsync no earlier than the MX deadline.
# Finally every step of the scenario must have been interrupted at least
# once. Tiny corpora, TTLs of 1 s and a margin of 0 keep each round at a
# few seconds.
#
# The journal writes include the sync history (one row per account), so
# some crashes happen inside the last sync or the postsync while the other
# account's job is still copying; the replay then waits for the servers to
# finish the dead process's commands (runplan.c, RUNPLAN_RESUME_SETTLE)
# and must copy nothing twice.
#
# The rounds run in parallel lanes, each with its own lab: classical in
# one, lucky (more steps, more waits) in two, lane i of L taking the writes
# N with N % L == i. CRASH_SCENARIOS="classical lucky" selects scenarios,
# CRASH_FROM/CRASH_TO a range of N (debugging). The labs use
# $TEST_NET_PREFIX.58 to .60 (RUN_CRASH_TEST_NET sets the first).
# ctest: own-lab timeout=900

TEST_NAME=run_crash_test
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

CUTOVER_BIN=${CUTOVER_BIN:-$CUTOVER_SOURCE_DIR/build/bin/cutover}
[ -x "$CUTOVER_BIN" ] || skip "no cutover binary at $CUTOVER_BIN (set CUTOVER_BIN)"
for t in sqlite3 dig nsupdate jq; do
	command -v $t >/dev/null || skip "$t is required"
done

# The parent starts one worker per lane (this script again, with
# CRASH_WORKER="SCENARIO LANE LANES NET"), waits for all and checks that
# together they interrupted every step.
if [ -z "${CRASH_WORKER:-}" ]; then
	test_tmpdir >/dev/null # not in $(...): its cleanup must be registered here
	tmp=$TEST_TMP
	base=${RUN_CRASH_TEST_NET:-$TEST_NET_PREFIX.58}
	net3=${base##*.}
	lanes=()
	for sc in ${CRASH_SCENARIOS:-classical lucky}; do
		case $sc in
		classical) lanes+=("classical 0 1") ;;
		lucky) lanes+=("lucky 0 2" "lucky 1 2") ;;
		*) fail "unknown scenario $sc" ;;
		esac
	done
	pids=()
	for i in "${!lanes[@]}"; do
		CRASH_WORKER="${lanes[i]} ${base%.*}.$((net3 + i))" CRASH_OUT=$tmp/lane$i \
			bash "$0" >"$tmp/lane$i.log" 2>&1 &
		pids+=($!)
		on_exit "kill ${pids[i]} 2>/dev/null"
	done
	bad=0
	for i in "${!lanes[@]}"; do
		rc=0
		wait "${pids[i]}" || rc=$?
		sed "s/^/[${lanes[i]% * *}.${i}] /" "$tmp/lane$i.log"
		[ "$rc" -eq 0 ] || { [ "$rc" -eq 77 ] && exit 77; bad=1; }
	done
	[ "$bad" = 0 ] || fail "a lane failed (see above)"
	for sc in ${CRASH_SCENARIOS:-classical lucky}; do
		[ -n "${CRASH_FROM:-}${CRASH_TO:-}" ] && break
		for s in $(cat "$tmp"/lane*.steps."$sc" | head -1); do
			grep -qx -- "$s" "$tmp"/lane*.interrupted."$sc" ||
				fail "$sc: no crash happened during step $s (interrupted: $(sort -u "$tmp"/lane*.interrupted."$sc" | paste -sd' ' -))"
		done
		note "$sc: $(cat "$tmp"/lane*.rounds."$sc" | awk '{n+=$1} END{print n}') crash points, each resumed to the same end state"
	done
	exit 0
fi
read -r CRASH_SCENARIO CRASH_LANE CRASH_LANES LAB_NET <<<"$CRASH_WORKER"
export LAB_NET
export LAB_ACCOUNTS=2
export LAB_PRIVATE=1
lab_up
# shellcheck source=tests/integ/runplan_lib.sh
. "$CUTOVER_SOURCE_DIR/tests/integ/runplan_lib.sh"

test_tmpdir >/dev/null # not in $(...): its cleanup must be registered here
tmp=$TEST_TMP
NEW_MX="10 mx1.new.lab.test."
PARK=$LAB_NET.13
export RUN_LOW_TTL=1

run_accounts "$tmp/accounts.csv" user01 user02
run_fill user01 1 3
run_fill user02 2 3

# Fast local views through doveadm (the IMAP checker runs once per round).
# shellcheck disable=SC2086 # LAB_DOVEADMn are command prefixes
dv() { if [ "$1" = 1 ]; then $LAB_DOVEADM1 "${@:2}"; else $LAB_DOVEADM2 "${@:2}"; fi; }
inbox_total() { # HOST USER: all messages of INBOX
	dv "$1" -f flow mailbox status -u "$2" messages INBOX | sed -n 's/.*messages=\([0-9]*\).*/\1/p'
}
subject_count() { # HOST USER SUBJECT: INBOX messages with SUBJECT
	dv "$1" search -u "$2" mailbox INBOX subject "$3" | wc -l
}

reset_dns() { # SCENARIO: the records a cutover starts from (TTL 1 s)
	run_set_rrset lab.test MX 1 "10 mx1.old.lab.test." "20 mx2.old.lab.test."
	if [ "$1" = lucky ]; then
		run_set_rrset imap.lab.test A 1 "$LAB_HOST1"
		run_set_rrset imap.lab.test AAAA 1 "::ffff:$LAB_HOST1"
	fi
}

crash_scenario() {
	local sc=$1 plan=$tmp/$1.plan tmpl=$tmp/$1.template extra="" n=0 rc st rounds=0
	local steps s stepsql
	if [ "$sc" = lucky ]; then
		steps="cut_access imap_park imap_park_wait last_sync mx_change mx_wait postsync imap_move imap_wait"
	else
		steps="cut_access last_sync mx_change mx_wait postsync"
	fi
	stepsql=$(for s in $steps; do printf "'%s'," "$s"; done)
	stepsql=${stepsql%,}

	note "$sc: prepare the template state (TTL lowered and waited for, presync)"
	if [ "$sc" = lucky ]; then
		extra="[imap]
name = imap.lab.test.
old = $LAB_HOST1, ::ffff:$LAB_HOST1
new = $LAB_HOST2, ::ffff:$LAB_HOST2
parking = $PARK"
	fi
	RUN_SCENARIO=$sc run_plan "$plan" "$tmp/$sc.state" "$tmp/accounts.csv" "$extra"
	sed -i 's/^margin = .*/margin = 0s/' "$plan"
	run_set_rrset lab.test MX 2 "10 mx1.old.lab.test." "20 mx2.old.lab.test."
	if [ "$sc" = lucky ]; then
		run_set_rrset imap.lab.test A 2 "$LAB_HOST1"
		run_set_rrset imap.lab.test AAAA 2 "::ffff:$LAB_HOST1"
	fi
	run_settle_resolver
	rm -rf "$tmpl" "$tmp/$sc.state"
	cut ttl lower "$plan" >"$tmp/ttllower.out" 2>&1 || fail "$sc: ttl lower: $(tail -5 "$tmp/ttllower.out")"
	cut ttl wait "$plan" --timeout 30 >"$tmp/ttlwait.out" 2>&1 || fail "$sc: ttl wait: $(tail -5 "$tmp/ttlwait.out")"
	cut presync "$plan" >/dev/null 2>&1 || fail "$sc: presync"
	# Each round starts from a copy of this state, under the same path.
	cp -a "$tmp/$sc.state" "$tmpl"

	n=$((CRASH_LANE > 0 ? CRASH_LANE : CRASH_LANES))
	[ -z "${CRASH_FROM:-}" ] || n=$CRASH_FROM
	echo "$steps" >"$CRASH_OUT.steps.$sc"
	: >"$CRASH_OUT.interrupted.$sc"
	while :; do
		[ "$n" -le 120 ] || fail "$sc: still crashing after 120 writes"
		reset_dns "$sc"
		rm -rf "$tmp/$sc.state"
		cp -a "$tmpl" "$tmp/$sc.state"
		local subj
		subj=$(printf '%s-crash-%02d.' "$sc" "$n")
		# "Delivered" straight into host1's store (doveadm save: faster
		# than an IMAP login, and the same for the cutover).
		printf 'From: lab@lab.test\r\nTo: user01@lab.test\r\nSubject: %s\r\nMessage-ID: <%s.%s@lab.test>\r\n\r\nbody of %s\r\n' \
			"$subj" "$(date +%s%N)" "$n" "$subj" | doveadm_save "$LAB_DOVEADM1" user01 INBOX
		local h2before h2u2before
		h2before=$(inbox_total 2 user01)
		h2u2before=$(inbox_total 2 user02)

		rc=0
		CUTOVER_CRASH_AFTER_WRITES=$n cut run --at "$(run_at 0)" "$plan" >"$tmp/crash.out" 2>&1 || rc=$?
		if [ "$rc" -eq 0 ]; then
			[ "$rounds" -gt 0 ] || skip "cutover was built without CUTOVER_DEBUG_HOOKS (no crash hook)"
			note "$sc: write $n: the run completed without crashing"
		else
			[ "$rc" -eq 99 ] || fail "$sc: write $n: run exited $rc, expected 99: $(tail -5 "$tmp/crash.out")"
			# The step whose intent is the last state machine entry was
			# interrupted midway.
			st=$(run_db "$tmp/$sc.state" "SELECT step || '/' || phase FROM entries WHERE step IN ($stepsql) ORDER BY id DESC LIMIT 1")
			case $st in */intent) echo "${st%%/*}" >>"$CRASH_OUT.interrupted.$sc" ;; esac
			rounds=$((rounds + 1))
			rc=0
			cut run --at "$(run_at 0)" "$plan" >"$tmp/resume.out" 2>&1 || rc=$?
			[ "$rc" -eq 0 ] || fail "$sc: resume after write $n ($st) exited $rc: $(tail -20 "$tmp/resume.out")"
			note "$sc: crash after write $n (last entry $st), resumed"
		fi

		# The end state of an uninterrupted run.
		assert_eq "$NEW_MX" "$(run_mx)" "$sc/$n: MX"
		if [ "$sc" = lucky ]; then
			assert_eq "$LAB_HOST2" "$(dns_get "$LAB_PRIMARY4" imap.lab.test A)" "$sc/$n: IMAP A"
			assert_eq "::ffff:$LAB_HOST2" "$(dns_get "$LAB_PRIMARY4" imap.lab.test AAAA)" "$sc/$n: IMAP AAAA"
		fi
		assert_eq done/done "$(run_db "$tmp/$sc.state" "SELECT step || '/' || phase FROM entries ORDER BY id DESC LIMIT 1")" "$sc/$n: last journal entry"
		assert_eq 1 "$(subject_count 2 user01 "$subj")" "$sc/$n: '$subj' on host2"
		assert_eq 0 "$(subject_count 1 user01 "$subj")" "$sc/$n: '$subj' on host1"
		assert_eq $((h2before + 1)) "$(inbox_total 2 user01)" "$sc/$n: host2 INBOX of user01 (copied twice or deleted?)"
		assert_eq "$h2u2before" "$(inbox_total 2 user02)" "$sc/$n: host2 INBOX of user02"
		run_compare user01 --allow-extra >"$tmp/cmp.out" || fail "$sc/$n: user01: $(cat "$tmp/cmp.out")"
		run_ge "$(run_step_time "$tmp/$sc.state" postsync intent)" \
			"$(run_fact "$tmp/$sc.state" mx_visible deadline)" "$sc/$n: postsync before the MX deadline"
		# Back to host1 == host2 for the next round (its last sync is
		# exact and would delete this message from host2 anyway).
		dv 2 expunge -u user01 mailbox INBOX subject "$subj"
		# The round where the hook never fired was the last one.
		grep -q "test hook: exiting" "$tmp/crash.out" || break
		n=$((n + CRASH_LANES))
		[ "$n" -le "${CRASH_TO:-1000}" ] || break
	done

	run_compare user02 >"$tmp/cmp.out" || fail "$sc: user02: $(cat "$tmp/cmp.out")"
	echo "$rounds" >"$CRASH_OUT.rounds.$sc"
	note "$sc: lane $CRASH_LANE/$CRASH_LANES: $rounds crash points resumed"
}

crash_scenario "$CRASH_SCENARIO"
