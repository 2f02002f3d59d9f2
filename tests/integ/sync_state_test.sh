#!/usr/bin/env bash
# sync_state_test.sh: `cutover sync --state-dir` (CONDSTORE state,
# imapsync/sync_state.h) against the lab's two Dovecots.  A resync after
# (a) no change copies nothing and skips every folder, (b) a flag change on
# host1 is propagated, (c) a new host1 message is copied, (d) a host2-only
# extra message is deleted with --delete2 although host1 did not change,
# (e) a damaged or deleted state file falls back to a full comparison;
# (f) a run in another mode (without --delete2) does not reuse the state;
# (g) a delta (new messages, flag changes, a message deleted on host1) is
# listed through the UID cache (imapsync/sync_uidcache.h: UID FLAGS, the
# headers of the new UIDs only) and converges; (h) a folder deleted and
# recreated on host2 (new UIDVALIDITY) holding as many other messages
# under the cached UIDs is listed in full and converges; (i) a damaged
# UID cache is listed in full and converges; (j) a state directory that
# cannot be created is refused before anything is copied, and a missing
# one is created (mode 700) by the first run.
# Every outcome is checked by scripts/mailbox_compare.py.
# Env: SYNC_STATE_USER (default user18), CUTOVER_BIN.
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] && [ -x "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
lab_up
sync_account_env "${SYNC_STATE_USER:-user18}"
SD=$T/state # created by the first run

# ssync ARGS: sync with state, -vv log in $T/log, JSON on stdout
ssync() { "$CUTOVER_BIN" -vv --json sync "${H[@]}" --state-dir "$SD" "$@" 2>"$T/log"; }
skipped() { grep -c 'unchanged on both servers since the last run' "$T/log" || true; }

note "reset $U, fill host1, first sync with --state-dir"
reset 1
reset 2
python3 "$S/gen_corpus.py" fill "${C1[@]}" --seed 7 --count 60 --big 0
ssync --delete2 >"$T/out.json" || { cat "$T/log"; fail "first sync failed"; }
compare || fail "host2 differs after the first sync"
[ "$(stat -c %a "$SD")" = 700 ] || fail "state directory not created with mode 700"
[ -n "$(ls "$SD")" ] || fail "no state file written in $SD"
nfolders=$(python3 -c "import json,sys; print(len(json.load(sys.stdin)['folders']))" <"$T/out.json")

note "(a) no change: nothing copied, every folder skipped"
n=$(ssync --delete2 | json_total copied)
assert_eq 0 "$n" "copied by a no-op resync"
assert_eq "$nfolders" "$(skipped)" "folders skipped"
if grep -q 'UID FETCH' "$T/log"; then fail "a no-op resync listed a folder"; fi

note "(b) a flag change on host1 is propagated"
# UIDs go on where a previous run of this test left them
uid1=$($LAB_DOVEADM1 search -u "$U" mailbox INBOX all | awk 'NR == 1 {print $2}')
[ -n "$uid1" ] || fail "host1 INBOX is empty"
$LAB_DOVEADM1 flags add -u "$U" '\Flagged $StateTest' mailbox INBOX uid "$uid1"
n=$(ssync --delete2 | json_total flags_updated)
assert_eq 1 "$n" "flag updates"
assert_eq $((nfolders - 1)) "$(skipped)" "folders skipped (INBOX compared)"
compare || fail "flag change not propagated"

note "(c) a new message on host1 is copied"
imap_append "$LAB_HOST1" "$U" "INBOX.Archive.2024" "state test new"
n=$(ssync --delete2 | json_total copied)
assert_eq 1 "$n" "copied"
compare || fail "new host1 message not copied"

note "(d) a host2-only extra is deleted although host1 did not change"
imap_append "$LAB_HOST2" "$U" "Archive/2024" "state test extra"
n=$(ssync --delete2 | json_total deleted2)
assert_eq 1 "$n" "deleted on host2"
compare || fail "the host2 extra stayed"

note "(e) a damaged or deleted state file: full comparison, still correct"
f=$(ls "$SD"/*.state)
printf 'garbage\n' >>"$f"
imap_append "$LAB_HOST2" "$U" "Archive/2024" "state test extra 2"
n=$(ssync --delete2 | json_total deleted2)
assert_eq 1 "$n" "deleted on host2 with a damaged state"
assert_eq 0 "$(skipped)" "folders skipped with a damaged state"
grep -q 'compared in full' "$T/log" || fail "no warning about the damaged state"
compare || fail "differs after a run with a damaged state"
# a truncated file (a crash while writing is prevented by rename, but a
# full disk or a copy can cut it)
head -c 40 "$f" >"$f.cut" && mv "$f.cut" "$f"
n=$(ssync --delete2 | json_total copied)
assert_eq 0 "$n" "copied with a truncated state"
assert_eq 0 "$(skipped)" "folders skipped with a truncated state"
rm -f "$SD"/*.state
$LAB_DOVEADM1 flags remove -u "$U" '\Flagged' mailbox INBOX uid "$uid1"
n=$(ssync --delete2 | json_total flags_updated)
assert_eq 1 "$n" "flag updates without a state file"
compare || fail "differs after a run without a state file"

note "(f) a run without --delete2 does not reuse the --delete2 state"
ssync --delete2 >/dev/null || fail "sync failed"
ssync >/dev/null || fail "sync without --delete2 failed"
assert_eq 0 "$(skipped)" "folders skipped in another mode"

# hdr_fetches: full listing commands (with headers) over every UID, in $T/log
hdr_fetches() { grep -c 'UID FETCH 1:\* (.*HEADER.FIELDS' "$T/log" || true; }

note "(g) a delta is listed through the UID cache and converges"
ssync --delete2 >/dev/null || fail "sync failed"
ls "$SD"/*.uids/* >/dev/null 2>&1 || fail "no UID cache written under $SD"
for u in $($LAB_DOVEADM1 search -u "$U" mailbox INBOX all | awk 'NR == 2 || NR == 3 {print $2}'); do
	$LAB_DOVEADM1 flags add -u "$U" '\Answered $Delta' mailbox INBOX uid "$u"
done
del=$($LAB_DOVEADM1 search -u "$U" mailbox INBOX all | awk 'NR == 4 {print $2}')
$LAB_DOVEADM1 expunge -u "$U" mailbox INBOX uid "$del"
imap_append "$LAB_HOST1" "$U" INBOX "delta new 1"
imap_append "$LAB_HOST1" "$U" INBOX "delta new 2" '\Seen'
ssync --delete2 >"$T/out.json" || { cat "$T/log"; fail "delta sync failed"; }
assert_eq 2 "$(json_total copied <"$T/out.json")" "copied by the delta"
assert_eq 2 "$(json_total flags_updated <"$T/out.json")" "flag updates by the delta"
assert_eq 1 "$(json_total deleted2 <"$T/out.json")" "deleted on host2 by the delta"
grep -q 'host1 INBOX: .* messages from the UID cache' "$T/log" ||
	fail "host1 INBOX not listed through the UID cache"
grep -q 'host2 INBOX: .* messages from the UID cache' "$T/log" ||
	fail "host2 INBOX not listed through the UID cache"
assert_eq 0 "$(hdr_fetches)" "listings with headers of every UID in the delta"
compare || fail "differs after the delta"
n=$(ssync --delete2 | json_total copied)
assert_eq 0 "$n" "copied after the delta"
assert_eq "$nfolders" "$(skipped)" "folders skipped after the delta"

note "(h) a folder recreated on host2 (new UIDVALIDITY): listed in full"
n2=$($LAB_DOVEADM2 search -u "$U" mailbox Archive/2024 all | wc -l)
[ "$n2" -gt 0 ] || fail "host2 Archive/2024 is empty"
$LAB_DOVEADM2 mailbox delete -u "$U" Archive/2024
$LAB_DOVEADM2 mailbox create -u "$U" Archive/2024
# as many other messages, under the UIDs the cache holds for the old folder
for i in $(seq "$n2"); do imap_append "$LAB_HOST2" "$U" Archive/2024 "recreated $i"; done
ssync --delete2 >"$T/out.json" || { cat "$T/log"; fail "sync after the recreation failed"; }
grep -q 'host2 Archive/2024: UID cache not used: UIDVALIDITY' "$T/log" ||
	fail "the UIDVALIDITY change was not noticed"
[ "$(hdr_fetches)" -ge 1 ] || fail "the recreated folder was not listed in full"
assert_eq "$n2" "$(json_total deleted2 <"$T/out.json")" "the recreated folder's messages deleted"
assert_eq "$n2" "$(json_total copied <"$T/out.json")" "host1's messages copied again"
compare || fail "differs after the UIDVALIDITY change"

note "(i) a damaged UID cache: listed in full, still correct"
for f in "$SD"/*.uids/*; do printf 'garbage\n' >>"$f"; done
$LAB_DOVEADM1 flags remove -u "$U" '$Delta' mailbox INBOX all
ssync --delete2 >"$T/out.json" || { cat "$T/log"; fail "sync with a damaged cache failed"; }
assert_eq 2 "$(json_total flags_updated <"$T/out.json")" "flag updates with a damaged cache"
grep -q 'damaged, truncated or foreign UID cache' "$T/log" ||
	fail "no warning about the damaged UID cache"
if grep -q 'messages from the UID cache' "$T/log"; then
	fail "a damaged UID cache was used"
fi
[ "$(hdr_fetches)" -ge 2 ] || fail "INBOX not listed in full on both sides"
compare || fail "differs after a run with a damaged UID cache"

note "(j) a state directory that cannot be created: refused, nothing copied"
imap_append "$LAB_HOST1" "$U" INBOX "state test bad dir"
: >"$T/plainfile"
rc=0
"$CUTOVER_BIN" sync "${H[@]}" --delete2 --state-dir "$T/plainfile/state" \
	>"$T/out" 2>"$T/err" || rc=$?
assert_eq 1 "$rc" "exit status with an unusable state directory"
grep -q "plainfile/state: cannot create the state directory: Not a directory" "$T/err" ||
	{ cat "$T/err"; fail "no clear error about the state directory"; }
if compare >/dev/null 2>&1; then fail "a message was copied with an unusable state directory"; fi
ssync --delete2 >"$T/out.json" || { cat "$T/log"; fail "sync after the refused run failed"; }
assert_eq 1 "$(json_total copied <"$T/out.json")" "copied after the refused run"
compare || fail "differs after the refused run"
note "ok"
