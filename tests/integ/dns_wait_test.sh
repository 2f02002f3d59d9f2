#!/usr/bin/env bash
# ctest: own-lab timeout=600
# dns_wait_test.sh - `cutover dns wait PLAN mx|imap old|new|parking` and
# the change-visibility checks behind it (watch_wait_visible, what the
# orchestration waits for after a DNS change), against the lab's BIND
# primary (IPv4 and IPv6) and secondary and Knot. The changes are made
# with nsupdate, independently of cutover:
#
#  - new MX visible everywhere: exit 0, the time it became visible and
#    until when caches may hold the old MX (visible + old TTL + margin),
#    in text and --json, with where the old TTL comes from; later calls
#    report the journaled first sighting, not their own time; a new serial
#    (the zone edited, even elsewhere) starts the count again, and so does
#    a change undone and redone without a check in between;
#  - the TTL a lagging server served the old data with is journaled and
#    still counted after it caught up;
#  - secondary held at the old serial: exit 3 after --timeout, the
#    secondary named with "old data", in text and --json; released:
#    visible;
#  - the old MX back (rollback target) and the old MX gone;
#  - an MX changed without lowering first: the TTL it is still served
#    with counts, not [dns] low_ttl;
#  - IMAP name moved to parking (AAAA deleted), then to new; an AAAA
#    that did not exist before counts with the negative TTL (SOA minimum);
#  - the Knot zone, the same way;
#  - usage errors exit 2.
#
# It holds the secondary, so it always runs its own lab (LAB_NET, default
# 127.N.95, N = CUTOVER_TEST_NET).
# Env: CUTOVER_BIN.

TEST_NAME=dns_wait_test
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] && [ -x "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
export LAB_NET=${DNS_WAIT_TEST_NET:-$TEST_NET_PREFIX.95}
export LAB_ACCOUNTS=1
LAB_PRIVATE=1 lab_up
on_exit "bash '$LAB_SH' secondary-release '$LAB_DIR' >/dev/null 2>&1"

T=$(test_tmpdir)
: >"$T/accounts.csv"
chmod 600 "$T/accounts.csv"
P4=$LAB_PRIMARY4
PARK=$LAB_NET.99

# write_plan FILE ZONE SERVER IMAP-OLD IMAP-NEW
write_plan() {
	cat >"$1" <<EOF
[migration]
scenario = lucky
margin = 2s
state = $1.state
[dns]
zone = $2
server = $3
port = $LAB_DNS_PORT
mode = manual
low_ttl = 3
[mx]
old = 10 mx1.old.$2, 20 mx2.old.$2
new = 10 mx1.new.$2, 20 mx2.new.$2
[imap]
name = imap.$2
old = $4
new = $5
parking = $PARK
[sync]
accounts = $T/accounts.csv
EOF
}

# set_mx SERVER KEY ZONE TTL old|new: the MX RRset replaced by nsupdate.
set_mx() {
	dns_update "$1" "$2" "$3" <<EOF || fail "nsupdate MX $5 on $1 failed"
update delete $3 MX
update add $3 $4 MX 10 mx1.$5.$3
update add $3 $4 MX 20 mx2.$5.$3
EOF
}

# set_imap TTL ADDR...: the A/AAAA of imap.lab.test. replaced.
set_imap() {
	local ttl=$1 a
	shift
	{
		echo "update delete imap.lab.test. A"
		echo "update delete imap.lab.test. AAAA"
		for a in "$@"; do
			case $a in
			*:*) echo "update add imap.lab.test. $ttl AAAA $a" ;;
			*) echo "update add imap.lab.test. $ttl A $a" ;;
			esac
		done
	} | dns_update "$P4" "$LAB_TSIG_KEY" lab.test. || fail "nsupdate imap failed"
}

synced() { [ "$(dns_serial "$LAB_SECONDARY")" = "$(dns_serial "$P4")" ]; }
cw() { "$CUTOVER_BIN" "$@"; }
now() { date +%s.%N; }
# le A B: A <= B (fractional seconds)
le() { [ "$(echo "$1 <= $2" | bc)" = 1 ]; }

plan=$T/lab.plan
write_plan "$plan" lab.test. "$P4" "$LAB_HOST1, ::ffff:$LAB_HOST1" \
	"$LAB_HOST2, ::ffff:$LAB_HOST2"

# --- usage ------------------------------------------------------------------
assert_rc 2 cw dns wait "$plan" mx parking
assert_rc 2 cw dns wait "$plan" imap
assert_rc 2 cw dns wait "$plan" mx new --timeout soon

# --- the new MX becomes visible ---------------------------------------------
note "new MX, every server up to date"
set_mx "$P4" "$LAB_TSIG_KEY" lab.test. 3 old
wait_for 10 synced || fail "the secondary did not catch up"
rc=0
out=$(cw dns wait "$plan" mx new --timeout 3 2>&1) || rc=$?
assert_eq 3 "$rc" "dns wait mx new before the change ($out)"
assert_contains "$out" "new MX not visible on every authoritative address after 3s"
assert_contains "$out" "ns1.lab.test. $LAB_NET.1:$LAB_DNS_PORT: old data"
assert_contains "$out" "ns1.lab.test. [::1]:$LAB_DNS_PORT: old data"
assert_contains "$out" "ns2.lab.test. $LAB_NET.2:$LAB_DNS_PORT: old data"

t_change=$(now)
set_mx "$P4" "$LAB_TSIG_KEY" lab.test. 3 new
wait_for 10 synced || fail "the secondary did not catch up"
out=$(cw dns wait "$plan" mx new --timeout 20 2>&1) || fail "dns wait mx new: $out"
t_first=$(now)
assert_contains "$out" "new MX: visible on every authoritative address since "
assert_contains "$out" "(first seen by this check, journaled)"
assert_contains "$out" "(old TTL 3 s + margin 2 s;"
assert_contains "$out" "old TTL from: [dns] low_ttl"
j=$(cw --json dns wait "$plan" mx new --timeout 20 2>/dev/null) ||
	fail "dns wait --json mx new: $j"
t_after=$(now)
assert_eq '"new MX" true 3 2' "$(jq -r '[(.target|tojson), .visible, .old_ttl, .margin] | join(" ")' <<<"$j")" "JSON target/visible/old_ttl/margin"
vis=$(jq '.visible_since' <<<"$j")
le "$t_change" "$vis" || fail "visible since $vis, before the change at $t_change"
le "$vis" "$t_after" || fail "visible since $vis, after the check ended at $t_after"
# the second call reports the first call's sighting, journaled
le "$vis" "$t_first" || fail "second dns wait: visible since $vis, after the first call ended at $t_first"
assert_eq '"first seen by an earlier check, journaled" true "[dns] low_ttl"' \
	"$(jq -r '[(.visible_since_from|tojson), .journaled, (.old_ttl_from|tojson)] | join(" ")' <<<"$j")" "JSON sources"
assert_eq 5 "$(jq '.caches_drained_at - .visible_since | round' <<<"$j")" "caches drained = visible + old TTL 3 + margin 2"
assert_contains "$(jq -r .caches_drained_at_text <<<"$j")" "Z"
fact_mx_new() {
	sqlite3 "$plan.state/cutover.db" "select value from facts where key = 'change_visible_mx_new'"
}
assert_eq "$(dns_serial "$P4") 10 mx1.new.lab.test.,20 mx2.new.lab.test." \
	"$(fact_mx_new | jq -r '"\(.serial) \(.rrsets[0].rdata | join(","))"')" "journaled sighting"
assert_eq true "$(fact_mx_new | jq --argjson v "$vis" '.time == $v')" "journaled time"
# The zone edited elsewhere (a new serial): the MX may have changed and
# changed back meanwhile, so the count starts again, never earlier.
t_edit=$(now)
dns_update "$P4" "$LAB_TSIG_KEY" lab.test. <<<'update add unrelated.lab.test. 60 TXT "serial bump"' ||
	fail "nsupdate TXT failed"
wait_for 10 synced || fail "the secondary did not catch up"
j=$(cw --json dns wait "$plan" mx new --timeout 20 2>/dev/null) || fail "dns wait after the edit: $j"
vis2=$(jq '.visible_since' <<<"$j")
le "$t_edit" "$vis2" || fail "after a new serial: visible since $vis2, before the edit at $t_edit"
assert_eq '"first seen by this check, journaled"' "$(jq '.visible_since_from' <<<"$j")" "source after a new serial"
# what the servers serve, independently
assert_eq "10 mx1.new.lab.test.
20 mx2.new.lab.test." "$(dns_get "$LAB_SECONDARY" lab.test MX)" "MX on the secondary"

# --- a held secondary: exit 3 naming it; released: visible after it ------
note "old MX back with the secondary held"
bash "$LAB_SH" secondary-hold "$LAB_DIR" >/dev/null
set_mx "$P4" "$LAB_TSIG_KEY" lab.test. 3 old
rc=0
out=$(cw dns wait "$plan" mx old --timeout 4 2>&1) || rc=$?
assert_eq 3 "$rc" "dns wait mx old with the secondary held ($out)"
assert_contains "$out" "old MX not visible on every authoritative address after 4s: ns2.lab.test. $LAB_NET.2:$LAB_DNS_PORT: old data"
assert_not_contains "$out" "ns1.lab.test. $LAB_NET.1:$LAB_DNS_PORT: old data"
rc=0
j=$(cw --json dns wait "$plan" mx old --timeout 2 2>/dev/null) || rc=$?
assert_eq 3 "$rc" "dns wait --json with the secondary held"
assert_eq false "$(jq .visible <<<"$j")" "JSON visible while held"
assert_contains "$(jq -r .error <<<"$j")" "ns2.lab.test. $LAB_NET.2:$LAB_DNS_PORT: old data"
# the new MX is gone from the primary but not everywhere: not visible either
assert_rc 3 cw dns wait "$plan" mx new --timeout 1
bash "$LAB_SH" secondary-release "$LAB_DIR" >/dev/null
j=$(cw --json dns wait "$plan" mx old --timeout 30 2>/dev/null) ||
	fail "dns wait mx old after the release: $j"
assert_eq true "$(jq .visible <<<"$j")" "JSON visible after the release"
assert_eq "10 mx1.old.lab.test.
20 mx2.old.lab.test." "$(dns_get "$LAB_SECONDARY" lab.test MX)" "MX on the secondary after the release"

# --- an MX changed without lowering: its TTL counts -------------------------
# (The new MX was journaled as visible above; it went away and comes back
# here with no check in between: the new serial starts the count again.)
note "MX changed without lowering the TTL first"
set_mx "$P4" "$LAB_TSIG_KEY" lab.test. 40 old
t_flip=$(now)
set_mx "$P4" "$LAB_TSIG_KEY" lab.test. 40 new
wait_for 10 synced || fail "the secondary did not catch up"
j=$(cw --json dns wait "$plan" mx new --timeout 20 2>/dev/null) || fail "dns wait: $j"
assert_eq 40 "$(jq .old_ttl <<<"$j")" "old TTL of an MX that was never lowered"
assert_eq '"TTL served with the new data (kept from the old data)"' "$(jq .old_ttl_from <<<"$j")" "old TTL source"
le "$t_flip" "$(jq .visible_since <<<"$j")" || fail "MX new again: visible since before it came back at $t_flip"

# A lagging server's TTL for the old data is kept after it catches up:
# the secondary held while the MX goes from old (TTL 40) to new (TTL 3).
note "old data's TTL on a lagging secondary, journaled"
set_mx "$P4" "$LAB_TSIG_KEY" lab.test. 40 old
wait_for 10 synced || fail "the secondary did not catch up"
bash "$LAB_SH" secondary-hold "$LAB_DIR" >/dev/null
set_mx "$P4" "$LAB_TSIG_KEY" lab.test. 3 new
rc=0
out=$(cw dns wait "$plan" mx new --timeout 2 2>&1) || rc=$?
assert_eq 3 "$rc" "dns wait with the secondary held ($out)"
assert_contains "$out" "ns2.lab.test. $LAB_NET.2:$LAB_DNS_PORT: old data"
bash "$LAB_SH" secondary-release "$LAB_DIR" >/dev/null
wait_for 10 synced || fail "the secondary did not catch up"
out=$(cw dns wait "$plan" mx new --timeout 20 2>&1) || fail "dns wait after the release: $out"
assert_contains "$out" "(old TTL 40 s + margin 2 s;"
assert_contains "$out" "old TTL from: served by a lagging server"
j=$(cw --json dns wait "$plan" mx new --timeout 20 2>/dev/null) || fail "dns wait after the release: $j"
assert_eq '40 "served by a lagging server" true' "$(jq -r '[.old_ttl, (.old_ttl_from|tojson), .journaled] | join(" ")' <<<"$j")" "lagging TTL on a later call"
set_mx "$P4" "$LAB_TSIG_KEY" lab.test. 3 old

# --- the IMAP name: parking, then new -------------------------------------
note "IMAP name to parking, then to new"
set_imap 3 "$LAB_HOST1" "::ffff:$LAB_HOST1"
wait_for 10 synced || fail "the secondary did not catch up"
out=$(cw dns wait "$plan" imap old --timeout 10 2>&1) || fail "dns wait imap old: $out"
assert_rc 3 cw dns wait "$plan" imap parking --timeout 1
set_imap 3 "$PARK"
wait_for 10 synced || fail "the secondary did not catch up"
out=$(cw dns wait "$plan" imap parking --timeout 20 2>&1) || fail "dns wait imap parking: $out"
assert_contains "$out" "parking IMAP address: visible on every authoritative address"
assert_eq "" "$(dns_get "$LAB_SECONDARY" imap.lab.test AAAA)" "AAAA at parking"
rc=0
out=$(cw dns wait "$plan" imap new --timeout 2 2>&1) || rc=$?
assert_eq 3 "$rc" "dns wait imap new while parked"
assert_contains "$out" "ns2.lab.test. $LAB_NET.2:$LAB_DNS_PORT: old data"
set_imap 3 "$LAB_HOST2" "::ffff:$LAB_HOST2"
wait_for 10 synced || fail "the secondary did not catch up"
j=$(cw --json dns wait "$plan" imap new --timeout 20 2>/dev/null) || fail "dns wait imap new: $j"
assert_eq '"new IMAP address" true 3' "$(jq -r '[(.target|tojson), .visible, .old_ttl] | join(" ")' <<<"$j")" "JSON imap new"

# An AAAA that [imap] old did not have: a cache may hold "no AAAA" for the
# negative TTL, min(SOA TTL 300, MINIMUM 60) (RFC 2308 5).
note "IMAP AAAA that did not exist before: negative caching"
nplan=$T/neg.plan
write_plan "$nplan" lab.test. "$P4" "$LAB_HOST1" "$LAB_HOST2, 2001:db8::12"
set_imap 3 "$LAB_HOST2" 2001:db8::12
wait_for 10 synced || fail "the secondary did not catch up"
j=$(cw --json dns wait "$nplan" imap new --timeout 20 2>/dev/null) || fail "dns wait imap new (negative): $j"
assert_eq 60 "$(jq .old_ttl <<<"$j")" "old TTL counts the negative TTL"
assert_contains "$(jq -r .old_ttl_from <<<"$j")" "negative TTL" "source of the negative TTL"
assert_eq 62 "$(jq '.caches_drained_at - .visible_since | round' <<<"$j")" "negative TTL + margin"

# --- Knot --------------------------------------------------------------------
note "Knot zone"
kplan=$T/knot.plan
write_plan "$kplan" knot.test. "$LAB_KNOT" "$LAB_HOST1" "$LAB_HOST2"
set_mx "$LAB_KNOT" "$LAB_KNOT_KEY" knot.test. 2 old
assert_rc 3 cw dns wait "$kplan" mx new --timeout 1
set_mx "$LAB_KNOT" "$LAB_KNOT_KEY" knot.test. 2 new
out=$(cw dns wait "$kplan" mx new --timeout 10 2>&1) || fail "knot: dns wait mx new: $out"
assert_contains "$out" "new MX: visible on every authoritative address since "
assert_contains "$out" "(old TTL 3 s + margin 2 s;"
set_mx "$LAB_KNOT" "$LAB_KNOT_KEY" knot.test. 2 old
out=$(cw dns wait "$kplan" mx old --timeout 10 2>&1) || fail "knot: dns wait mx old: $out"

note "all dns wait checks passed"
