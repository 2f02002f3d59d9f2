#!/usr/bin/env bash
# faults_test.sh: faults on the real lab servers, each with its outcome
# asserted -- a clear error, no message lost, none duplicated, the DNS
# journal honest, and a rerun that completes:
#
#  1. host2's Dovecot killed (kill -9 of its master and sessions) in the middle of a
#     presync of several accounts; started again, the rerun converges.
#     (presync_test.sh covers one account's connection cut by a relay.)
#  2. the postsync dies between its confirmed copies and its host1
#     deletions (CUTOVER_TEST_EXIT_BEFORE_DELETE1, a CUTOVER_DEBUG_HOOKS
#     build): host1 keeps the messages, the rerun deletes them on host1
#     and copies nothing twice.
#  3. the DNS primary down when the MX change is due: exit 1 naming it,
#     nothing journaled as done; primary back, the rerun completes.
#     The primary dying after the intent was journaled (paused just before
#     the UPDATE): intent without outcome; the rerun completes.
#  4. a secondary lagging (held at the old serial) longer than
#     `ttl wait --timeout 3`: exit 3 naming it.
#     (propagation_test.sh covers paused secondaries and unbound's
#     remaining TTL counting down.)
#  5. unbound serving stale data: the watched resolver ([dns] resolvers)
#     cut off from the authoritative servers with serve-expired on keeps
#     answering the old MX past its TTL after the MX change: `dns wait`
#     (the wait `cutover run` does after the change) says so, naming the
#     resolver, and times out with exit 3 instead of declaring the caches
#     drained; resolver reconnected, the rerun completes.
#  6. a read-only state directory (bind mount, ro) and a full one (tmpfs
#     filled up): a clear error, the DNS untouched, and after the space is
#     back the rerun completes.  Needs root (mount); skipped otherwise.
# ctest: timeout=900
source "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
lab_up
T=$(test_tmpdir)
BIN=$CUTOVER_BIN
COMPARE=$CUTOVER_SOURCE_DIR/scripts/mailbox_compare.py
GEN=$CUTOVER_SOURCE_DIR/scripts/gen_corpus.py
N=$LAB_ACCOUNTS
# Four accounts from the end of the lab's range.
USERS=()
for k in 4 5 6 7; do USERS+=("$(printf 'user%02d' $((N - k)))"); done

write_plan() { # write_plan FILE STATE_DIR
	cat >"$1" <<EOF
[migration]
scenario = classical
state = $2
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
jobs = 4
tls1 = imaps
tls2 = imaps
ca_file = $LAB_CA
maxage = 1h
EOF
}
: >"$T/accounts.csv"
for u in "${USERS[@]}"; do
	echo "$LAB_HOST1:$LAB_IMAPS_PORT;$u;pass-$u;$LAB_HOST2:$LAB_IMAPS_PORT;$u;pass-$u;" >>"$T/accounts.csv"
done
chmod 600 "$T/accounts.csv"
write_plan "$T/plan" "$T/state"
DB=$T/state/cutover.db

# compare U [MODE]: host1 vs host2 through IMAP (independent of cutover).
compare() {
	"$PYTHON" "$COMPARE" compare --ca "$LAB_CA" \
		--host1 "$LAB_HOST1" --port1 "$LAB_IMAPS_PORT" --user1 "$1" --password1 "pass-$1" \
		--host2 "$LAB_HOST2" --port2 "$LAB_IMAPS_PORT" --user2 "$1" --password2 "pass-$1" \
		"${@:2}"
}
"$PYTHON" "$COMPARE" --help >/dev/null 2>&1 || skip "scripts/mailbox_compare.py not usable"

# Empty the accounts on both sides and fill host1.
for u in "${USERS[@]}"; do
	# shellcheck disable=SC2086 # command prefixes
	$LAB_DOVEADM1 expunge -u "$u" mailbox '*' all >/dev/null 2>&1 || true
	# shellcheck disable=SC2086
	$LAB_DOVEADM2 expunge -u "$u" mailbox '*' all >/dev/null 2>&1 || true
done
note "corpus: ${#USERS[@]} accounts"
for u in "${USERS[@]}"; do
	"$PYTHON" "$GEN" fill --seed "$((10#${u#user}))" --count 300 --big 1 --host "$LAB_HOST1" \
		--port "$LAB_IMAPS_PORT" --user "$u" --password "pass-$u" --ca "$LAB_CA" &
done
wait

# ---------------------------------------------------------------------------
note "1. host2's Dovecot killed in the middle of a presync"
on_exit "bash '$LAB_SH' start-host2 '$LAB_DIR' >/dev/null 2>&1 || true"
"$BIN" presync "$T/plan" >"$T/p1.out" 2>"$T/p1.err" &
ppid_=$!
# Looked at on disk (doveadm is too slow to catch the copy in the act).
host2_has_some() {
	local c
	c=$(find "$LAB_DIR/host2/mail/${USERS[0]}" -type f \( -path '*/cur/*' -o -path '*/new/*' \) 2>/dev/null | wc -l)
	[ "$c" -ge 3 ]
}
wait_for 60 host2_has_some || fail "presync copied nothing in 60 s: $(tail -3 "$T/p1.err")"
# kill -9 host2's master and every process it started (imap sessions
# included: a plain stop lets running sessions finish their work).
mapfile -t h2pids < <(descendants "$LAB_PID_HOST2")
kill -9 "${h2pids[@]}" 2>/dev/null || true
note "host2 killed (${#h2pids[@]} processes) while the presync runs"
rc=0
wait "$ppid_" || rc=$?
assert_eq 1 "$rc" "presync with host2 gone ($(tail -3 "$T/p1.out"))"
assert_contains "$(cat "$T/p1.out")" "FAILED: CSV line"
assert_contains "$(cat "$T/p1.out" "$T/p1.err")" "$LAB_HOST2"
bash "$LAB_SH" start-host2 "$LAB_DIR" >/dev/null
lab_source "$LAB_DIR"
rc=0
"$BIN" presync "$T/plan" >"$T/p2.out" 2>"$T/p2.err" || rc=$?
assert_eq 0 "$rc" "presync after host2 is back ($(tail -3 "$T/p2.out"))"
for u in "${USERS[@]}"; do
	compare "$u" >"$T/cmp.out" 2>&1 || fail "$u differs after the resumed presync: $(tail -5 "$T/cmp.out")"
done
note "every account identical (no loss, no duplicate) after the rerun"

# ---------------------------------------------------------------------------
note "2. postsync dies between its copies and its host1 deletions"
U=${USERS[1]}
for k in 1 2 3; do imap_append "$LAB_HOST1" "$U" INBOX "late arrival $k"; done
h1_before=$(doveadm_count "$LAB_DOVEADM1" "$U" INBOX)
h2_before=$(doveadm_count "$LAB_DOVEADM2" "$U" INBOX)
postsync_one() {
	CUTOVER_PASSWORD1=pass-$U CUTOVER_PASSWORD2=pass-$U "$BIN" sync --delete1 --maxage 10m \
		--folder INBOX --ca-file "$LAB_CA" --tls-name1 "$LAB_TLS_NAME" --tls-name2 "$LAB_TLS_NAME" \
		--host1 "$LAB_HOST1:$LAB_IMAPS_PORT" --user1 "$U" \
		--host2 "$LAB_HOST2:$LAB_IMAPS_PORT" --user2 "$U" "$@"
}
rc=0
CUTOVER_TEST_EXIT_BEFORE_DELETE1=1 postsync_one >"$T/ps1.out" 2>"$T/ps1.err" || rc=$?
if [ "$rc" -ne 99 ]; then
	grep -q "test hook" "$T/ps1.err" ||
		skip "no CUTOVER_DEBUG_HOOKS in this build (exit $rc)"
fi
assert_eq 99 "$rc" "postsync killed by the hook"
assert_eq "$h1_before" "$(doveadm_count "$LAB_DOVEADM1" "$U" INBOX)" "host1 INBOX after the crash (nothing deleted)"
assert_eq $((h2_before + 3)) "$(doveadm_count "$LAB_DOVEADM2" "$U" INBOX)" "host2 INBOX after the crash (copies made)"
rc=0
postsync_one >"$T/ps2.out" 2>"$T/ps2.err" || rc=$?
assert_eq 0 "$rc" "postsync rerun ($(tail -3 "$T/ps2.err"))"
assert_contains "$(cat "$T/ps2.out")" "copied 0"
assert_contains "$(cat "$T/ps2.out")" "deleted on host1 3"
assert_eq $((h1_before - 3)) "$(doveadm_count "$LAB_DOVEADM1" "$U" INBOX)" "host1 INBOX after the rerun"
assert_eq $((h2_before + 3)) "$(doveadm_count "$LAB_DOVEADM2" "$U" INBOX)" "host2 INBOX after the rerun (no duplicate)"
# shellcheck disable=SC2016
subjects=$(imap_py "$LAB_HOST2" "$U" -- '
m.select("INBOX")
typ, d = m.search(None, "SUBJECT", "\"late arrival\"")
print(len(d[0].split()))')
assert_eq 3 "$subjects" "late arrivals on host2, each once"

# ---------------------------------------------------------------------------
note "3. the DNS primary down when the MX change is due"
mx_primary() { dns_get "$LAB_PRIMARY4" lab.test MX | tr '\n' ' '; }
# (a function: wait_for must run the query each time, not test its result once)
primary_up() { test -n "$(dns_serial "$LAB_PRIMARY4")"; }
mx_old="10 mx1.old.lab.test. 20 mx2.old.lab.test. "
mx_new="10 mx1.new.lab.test. 20 mx2.new.lab.test. "
assert_eq "$mx_old" "$(mx_primary)" "MX before"
on_exit "bash '$LAB_SH' primary-start '$LAB_DIR' >/dev/null 2>&1; '$BIN' dns mx '$T/plan' old >/dev/null 2>&1"
bash "$LAB_SH" primary-stop "$LAB_DIR" >/dev/null
rc=0
start=$(date +%s)
"$BIN" dns mx "$T/plan" new >"$T/mx1.out" 2>"$T/mx1.err" || rc=$?
assert_eq 1 "$rc" "dns mx new with the primary down"
assert_contains "$(cat "$T/mx1.err")" "$LAB_PRIMARY4:$LAB_DNS_PORT"
[ $(($(date +%s) - start)) -lt 30 ] || fail "dns mx took more than 30 s to give up"
done_rows=$(sqlite3 "$DB" "SELECT count(*) FROM entries WHERE step='dns_mx' AND phase='done'")
assert_eq 0 "$done_rows" "dns_mx journaled as done with the primary down"
bash "$LAB_SH" primary-start "$LAB_DIR" >/dev/null
lab_source "$LAB_DIR"
wait_for 10 primary_up || fail "primary did not come back"
rc=0
"$BIN" dns mx "$T/plan" new >"$T/mx2.out" 2>"$T/mx2.err" || rc=$?
assert_eq 0 "$rc" "dns mx new after primary-start ($(cat "$T/mx2.err"))"
assert_eq "$mx_new" "$(mx_primary)" "MX after the rerun"
assert_eq 1 "$(sqlite3 "$DB" "SELECT count(*) FROM entries WHERE step='dns_mx' AND phase='done'")" "dns_mx done rows"

note "3b. the primary dies after the intent is journaled, before the UPDATE"
intents_before=$(sqlite3 "$DB" "SELECT count(*) FROM entries WHERE step='dns_mx' AND phase='intent'")
CUTOVER_TEST_PAUSE_BEFORE_UPDATE=3s "$BIN" dns mx "$T/plan" old >"$T/mx3.out" 2>"$T/mx3.err" &
mpid=$!
paused() { grep -q "pausing" "$T/mx3.err"; }
if wait_for 10 paused; then
	bash "$LAB_SH" primary-stop "$LAB_DIR" >/dev/null
	rc=0
	wait "$mpid" || rc=$?
	assert_eq 1 "$rc" "dns mx old with the primary gone after the intent"
	intents=$(sqlite3 "$DB" "SELECT count(*) FROM entries WHERE step='dns_mx' AND phase='intent'")
	assert_eq $((intents_before + 1)) "$intents" "intent journaled before the UPDATE"
	bash "$LAB_SH" primary-start "$LAB_DIR" >/dev/null
	lab_source "$LAB_DIR"
	wait_for 10 primary_up || fail "primary did not come back"
	assert_eq "$mx_new" "$(mx_primary)" "MX unchanged by the interrupted update"
else
	wait "$mpid" || true
	note "no CUTOVER_TEST_PAUSE_BEFORE_UPDATE hook in this build: 3b skipped"
fi
rc=0
"$BIN" dns mx "$T/plan" old >"$T/mx4.out" 2>"$T/mx4.err" || rc=$?
assert_eq 0 "$rc" "dns mx old rerun ($(cat "$T/mx4.err"))"
assert_eq "$mx_old" "$(mx_primary)" "MX back to old"

# ---------------------------------------------------------------------------
note "4. a secondary lagging longer than ttl wait --timeout"
on_exit "bash '$LAB_SH' secondary-release '$LAB_DIR' >/dev/null 2>&1"
bash "$LAB_SH" secondary-hold "$LAB_DIR" >/dev/null
on_exit "'$BIN' ttl restore '$T/plan' >/dev/null 2>&1"
"$BIN" ttl lower "$T/plan" >"$T/tl.out" 2>"$T/tl.err" || fail "ttl lower: $(cat "$T/tl.err")"
rc=0
start=$(date +%s)
"$BIN" ttl wait "$T/plan" --timeout 3 >"$T/tw.out" 2>"$T/tw.err" || rc=$?
el=$(($(date +%s) - start))
assert_eq 3 "$rc" "ttl wait with a held secondary"
assert_contains "$(cat "$T/tw.out" "$T/tw.err")" "$LAB_SECONDARY:$LAB_DNS_PORT"
[ "$el" -le 10 ] || fail "ttl wait --timeout 3 took ${el}s"
bash "$LAB_SH" secondary-release "$LAB_DIR" >/dev/null
"$BIN" ttl restore "$T/plan" >"$T/tr.out" 2>"$T/tr.err" || fail "ttl restore: $(cat "$T/tr.err")"
assert_eq 86400 "$(dig +norec +noall +answer -p "$LAB_DNS_PORT" "@$LAB_PRIMARY4" lab.test MX | awk '{print $2}' | sort -u)" "MX TTL restored"

# ---------------------------------------------------------------------------
note "5. unbound serving stale data after the MX change"
# A plan that watches unbound, with a 2 s lowered TTL so its copy expires.
write_plan "$T/plan-res" "$T/state-res"
sed -i -e 's/^low_ttl = 60$/low_ttl = 2/' -e "/^\[dns\]$/a resolvers = $LAB_RESOLVER" "$T/plan-res"
UC=$LAB_UNBOUND_CONTROL
# unbound_reconnect: the lab's stub zone again, and what the message tells
# the admin to do: flush it (its pending queries to the dead address, which
# its infrastructure cache also remembers as lame, and the stale MX).
unbound_reconnect() {
	# shellcheck disable=SC2086 # command prefix
	$UC stub_remove lab.test. >/dev/null
	# shellcheck disable=SC2086
	$UC stub_add lab.test. "$LAB_PRIMARY4@$LAB_DNS_PORT" "$LAB_SECONDARY@$LAB_DNS_PORT" >/dev/null
	# shellcheck disable=SC2086
	$UC flush_requestlist >/dev/null
	# shellcheck disable=SC2086
	$UC flush_infra all >/dev/null
	# shellcheck disable=SC2086
	$UC flush_zone lab.test >/dev/null
}
on_exit "$UC set_option serve-expired: no >/dev/null 2>&1; $UC flush_zone lab.test >/dev/null 2>&1"
on_exit "'$BIN' ttl restore '$T/plan-res' >/dev/null 2>&1; '$BIN' dns mx '$T/plan-res' old >/dev/null 2>&1"
"$BIN" ttl lower "$T/plan-res" >"$T/st0.out" 2>"$T/st0.err" || fail "ttl lower (2 s): $(cat "$T/st0.err")"
mx_ttls() { dig +norec +noall +answer -p "$LAB_DNS_PORT" "@$1" lab.test MX | awk '{print $2}' | sort -u | paste -sd, -; }
secondary_low() { test "$(mx_ttls "$LAB_SECONDARY")" = 2; }
wait_for 30 secondary_low ||
	fail "secondary did not get the 2 s TTL: primary serial $(dns_serial "$LAB_PRIMARY4") TTL $(mx_ttls "$LAB_PRIMARY4"), secondary serial $(dns_serial "$LAB_SECONDARY") TTL $(mx_ttls "$LAB_SECONDARY") ($(cat "$T/st0.out"))"
# shellcheck disable=SC2086
$UC set_option serve-expired: yes >/dev/null
# shellcheck disable=SC2086
$UC flush_zone lab.test >/dev/null
via_unbound() { dig +noall +answer -p "$LAB_DNS_PORT" "@$LAB_RESOLVER" lab.test MX; }
assert_contains "$(via_unbound)" "mx1.old.lab.test." "unbound caches the old MX"
# Cut off: the stub zone points at a port nothing listens on.
on_exit "unbound_reconnect"
# shellcheck disable=SC2086
$UC stub_remove lab.test. >/dev/null
# shellcheck disable=SC2086
$UC stub_add lab.test. "$LAB_PRIMARY4@$LAB_DEAD_PORT" >/dev/null
# Expired: unbound now answers from its stale copy with its reply TTL (30 s).
unbound_stale() { via_unbound | awk '$2 > 2 && /mx1.old/ {f = 1} END {exit !f}'; }
wait_for 15 unbound_stale || fail "unbound does not serve the expired MX: $(via_unbound)"
rc=0
"$BIN" dns mx "$T/plan-res" new >"$T/st1.out" 2>"$T/st1.err" || rc=$?
assert_eq 0 "$rc" "dns mx new ($(cat "$T/st1.err"))"
assert_eq "$mx_new" "$(mx_primary)" "MX on the primary after the change"
rc=0
"$BIN" dns wait "$T/plan-res" mx new --timeout 4 >"$T/st2.out" 2>"$T/st2.err" || rc=$?
assert_eq 3 "$rc" "dns wait with unbound serving the old MX stale ($(cat "$T/st2.out" "$T/st2.err"))"
assert_contains "$(cat "$T/st2.err")" "resolver $LAB_RESOLVER:$LAB_DNS_PORT"
assert_contains "$(cat "$T/st2.err")" "past its TTL"
assert_contains "$(cat "$T/st2.err")" "flush it"
assert_not_contains "$(cat "$T/st2.out")" "caches may hold the previous data until"
unbound_stale || fail "unbound stopped serving stale data during the wait: $(via_unbound)"
# Reconnected and flushed; the rerun completes.
unbound_reconnect
rc=0
"$BIN" --json dns wait "$T/plan-res" mx new --timeout 60 >"$T/st3.out" 2>"$T/st3.err" || rc=$?
assert_eq 0 "$rc" "dns wait after unbound is reconnected ($(cat "$T/st3.err"))"
jq -e '.visible == true and .old_ttl >= 2' "$T/st3.out" >/dev/null ||
	fail "dns wait JSON after the rerun: $(cat "$T/st3.out")"
assert_contains "$(via_unbound)" "mx1.new.lab.test." "unbound after the rerun"
"$BIN" dns mx "$T/plan-res" old >/dev/null 2>&1 || fail "dns mx old after the stale-resolver case"
"$BIN" ttl restore "$T/plan-res" >/dev/null 2>&1 || fail "ttl restore after the stale-resolver case"
# shellcheck disable=SC2086
$UC set_option serve-expired: no >/dev/null
assert_eq "$mx_old" "$(mx_primary)" "MX old again"

# ---------------------------------------------------------------------------
note "6. read-only and full state directories"
if [ "$(id -u)" -ne 0 ] || ! command -v mount >/dev/null; then
	note "not root: read-only / disk-full cases skipped"
	exit 0
fi
mkdir -p "$T/ro" "$T/rodata/state"
chmod 700 "$T/rodata/state"
mount --bind "$T/rodata" "$T/ro" || skip "cannot bind-mount (no CAP_SYS_ADMIN)"
on_exit "umount '$T/ro' 2>/dev/null"
mount -o remount,bind,ro "$T/ro"
write_plan "$T/plan-ro" "$T/ro/state"
rc=0
"$BIN" dns mx "$T/plan-ro" new >"$T/ro.out" 2>"$T/ro.err" || rc=$?
assert_eq 1 "$rc" "dns mx with a read-only state directory"
assert_contains "$(cat "$T/ro.err")" "$T/ro/state"
assert_contains "$(cat "$T/ro.err")" "not writable"
assert_eq "$mx_old" "$(mx_primary)" "MX untouched with a read-only state directory"
rc=0
"$BIN" presync "$T/plan-ro" >"$T/ro2.out" 2>"$T/ro2.err" || rc=$?
assert_eq 1 "$rc" "presync with a read-only state directory"
umount "$T/ro"

mkdir -p "$T/full"
# Room for the journal and the presync's per-folder UID caches of four
# accounts once the filler is gone (about 600 KB); the filler takes it all.
mount -t tmpfs -o size=4m,mode=0755 tmpfs "$T/full" || skip "cannot mount a tmpfs"
on_exit "umount '$T/full' 2>/dev/null"
write_plan "$T/plan-full" "$T/full/state"
# A journal that exists, then the disk fills up.
"$BIN" dns mx "$T/plan-full" old >/dev/null 2>&1 || fail "dns mx old (no change) on the tmpfs"
dd if=/dev/zero of="$T/full/filler" bs=1k 2>/dev/null || true
rc=0
"$BIN" dns mx "$T/plan-full" new >"$T/full.out" 2>"$T/full.err" || rc=$?
assert_eq 1 "$rc" "dns mx with a full state directory"
assert_contains "$(cat "$T/full.err")" "$T/full/state"
assert_eq "$mx_old" "$(mx_primary)" "MX untouched when the intent cannot be journaled"
# A presync with a full disk: messages may be copied, the history cannot
# be written; it must say so and the rerun must converge.
U=${USERS[2]}
for k in 1 2; do imap_append "$LAB_HOST1" "$U" INBOX "full disk $k"; done
rc=0
"$BIN" presync "$T/plan-full" >"$T/full2.out" 2>"$T/full2.err" || rc=$?
assert_ne 0 "$rc" "presync with a full state directory"
rm -f "$T/full/filler"
rc=0
"$BIN" dns mx "$T/plan-full" new >"$T/full3.out" 2>"$T/full3.err" || rc=$?
assert_eq 0 "$rc" "dns mx after space is back ($(cat "$T/full3.err"))"
assert_eq "$mx_new" "$(mx_primary)" "MX after the rerun"
"$BIN" dns mx "$T/plan-full" old >/dev/null 2>&1 || fail "dns mx old"
rc=0
"$BIN" presync "$T/plan-full" >"$T/full4.out" 2>"$T/full4.err" || rc=$?
assert_eq 0 "$rc" "presync after space is back ($(tail -3 "$T/full4.out"))"
for u in "${USERS[@]}"; do
	compare "$u" >"$T/cmp.out" 2>&1 || fail "$u differs after the full-disk presync and rerun: $(tail -5 "$T/cmp.out")"
done
assert_eq "$mx_old" "$(mx_primary)" "MX old at the end"
