#!/usr/bin/env bash
# propagation_test.sh - `cutover ttl status` and `ttl wait` against real
# servers: BIND primary (IPv4 and IPv6) and secondary, Knot, unbound.
#
#  - all servers up to date: `ttl wait` returns no sooner than
#    first sighting + old TTL (8 s) + margin (2 s), and soon after it;
#  - secondary held at the old serial: not ready, the secondary named;
#    released: ready;
#  - secondary paused: "unreachable", not ready;
#  - the primary's IPv6 address is checked alongside IPv4;
#  - unbound holding the old RRset: its remaining TTL shown, counting down;
#  - the Knot zone checked the same way.
#
# It changes TTLs and holds/pauses the secondary, so it always runs its own
# lab (LAB_NET, default 127.0.94), never the shared fixture's.
# Env: CUTOVER_BIN.

TEST_NAME=propagation_test
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] && [ -x "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
export LAB_NET=${PROP_TEST_NET:-$TEST_NET_PREFIX.94}
export LAB_ACCOUNTS=1
LAB_PRIVATE=1 lab_up

tmp=$(test_tmpdir)
printf '%s;user01;x;%s;user01;x;\n' "$LAB_HOST1" "$LAB_HOST2" >"$tmp/accounts.csv"
chmod 600 "$tmp/accounts.csv"

# write_plan FILE ZONE SERVER: a manual-mode plan watching ZONE's MX.
write_plan() {
	cat >"$1" <<EOF
[migration]
scenario = classical
margin = 2s
state = $1.state
[dns]
zone = $2
port = $LAB_DNS_PORT
server = $3
mode = manual
low_ttl = 5
resolvers = $LAB_RESOLVER
[mx]
old = 10 mx1.old.$2
new = 10 mx1.new.$2
[sync]
accounts = $tmp/accounts.csv
EOF
}

# set_mx_ttl SERVER KEY ZONE TTL: the MX RRset re-added with TTL.
set_mx_ttl() {
	local rr
	rr=$(dig +norec +short -p "$LAB_DNS_PORT" "@$1" "$3" MX | sort)
	{
		echo "update delete $3 MX"
		while read -r pref host; do
			[ -n "$pref" ] && echo "update add $3 $4 MX $pref $host"
		done <<<"$rr"
	} | dns_update "$1" "$2" "$3"
}

# secondary_mx_ttl_is TTL: polled by wait_for (a "$(...)" argument would be
# evaluated once, before the first try).
secondary_mx_ttl_is() {
	[ "$(mx_ttl "$LAB_SECONDARY" lab.test.)" = "$1" ]
}

mx_ttl() {
	dig +norec +noall +answer -p "$LAB_DNS_PORT" "@$1" "$2" MX | awk '{print $2}' | sort -n | tail -1
}

plan=$tmp/lab.plan
write_plan "$plan" lab.test. "$LAB_PRIMARY4"

# unbound holds the 86400 s original copy: shown counting down.
j1=$("$CUTOVER_BIN" --json ttl status "$plan" 2>/dev/null || true)
sleep 2
j2=$("$CUTOVER_BIN" --json ttl status "$plan" 2>/dev/null || true)
r1=$(jq '.resolvers[0].rrsets[0].ttl' <<<"$j1")
r2=$(jq '.resolvers[0].rrsets[0].ttl' <<<"$j2")
note "unbound remaining TTL: $r1 then $r2"
[ "$r1" -gt 8 ] && [ "$r2" -lt "$r1" ] || fail "unbound TTL not counting down: $r1 -> $r2"
jq -e '.resolvers[0].old_copy_until > 0' <<<"$j2" >/dev/null || fail "resolver hold not reported"
out=$("$CUTOVER_BIN" ttl status "$plan" 2>&1 || true)
assert_contains "$out" "holds an old copy for"
# Let unbound forget it so the arithmetic alone decides below.
$LAB_UNBOUND_CONTROL flush_zone lab.test >/dev/null

# The "original" TTL: 8 s everywhere, seen by cutover before lowering.
set_mx_ttl "$LAB_PRIMARY4" "$LAB_TSIG_KEY" lab.test. 8
wait_for 10 secondary_mx_ttl_is 8 || fail "secondary did not get TTL 8"
out=$("$CUTOVER_BIN" ttl status "$plan" 2>&1) && rc=0 || rc=$?
assert_eq 3 "$rc" "ttl status before lowering"
assert_contains "$out" "ns1.lab.test. $LAB_NET.1:$LAB_DNS_PORT"
assert_contains "$out" "ns1.lab.test. [::1]:$LAB_DNS_PORT" "IPv6 address of the primary"
assert_contains "$out" "ns2.lab.test. $LAB_NET.2:$LAB_DNS_PORT"
assert_contains "$out" "TTL not lowered"

# Lower to 3 s; ttl wait: ready at first sighting + 8 + 2.
rm -rf "$plan.state"
"$CUTOVER_BIN" ttl status "$plan" >/dev/null 2>&1 || true # records TTL 8 seen
set_mx_ttl "$LAB_PRIMARY4" "$LAB_TSIG_KEY" lab.test. 3
wait_for 10 secondary_mx_ttl_is 3 || fail "secondary did not get TTL 3"
t0=$(date +%s.%N)
out=$("$CUTOVER_BIN" ttl wait "$plan" --timeout 60 2>&1) && rc=0 || rc=$?
t1=$(date +%s.%N)
assert_eq 0 "$rc" "ttl wait exit ($out)"
el=$(echo "$t1 - $t0" | bc)
note "ttl wait took $el s (deadline 10 s after the first sighting)"
[ "$(echo "$el >= 9.9" | bc)" = 1 ] || fail "ttl wait returned too early: $el s"
[ "$(echo "$el <= 14" | bc)" = 1 ] || fail "ttl wait returned too late: $el s"
assert_contains "$out" "original TTL 8 s"
assert_contains "$out" "verdict: ready"
out=$("$CUTOVER_BIN" ttl status "$plan" 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "ttl status after the deadline"
assert_contains "$out" "(journal)"

# Secondary held at the old serial: not ready, the secondary named.
rm -rf "$plan.state"
set_mx_ttl "$LAB_PRIMARY4" "$LAB_TSIG_KEY" lab.test. 8
wait_for 10 secondary_mx_ttl_is 8 || fail "secondary did not get TTL 8"
bash "$LAB_SH" secondary-hold "$LAB_DIR" >/dev/null
set_mx_ttl "$LAB_PRIMARY4" "$LAB_TSIG_KEY" lab.test. 3
sleep 1
out=$("$CUTOVER_BIN" ttl status "$plan" 2>&1) && rc=0 || rc=$?
assert_eq 3 "$rc" "ttl status with the secondary held"
assert_contains "$out" "not ready: 1 address(es) not up to date: ns2.lab.test. $LAB_NET.2:$LAB_DNS_PORT"
assert_contains "$out" "(primary "
assert_rc 3 "$CUTOVER_BIN" ttl wait "$plan" --timeout 3
bash "$LAB_SH" secondary-release "$LAB_DIR" >/dev/null
wait_for 10 secondary_mx_ttl_is 3 || fail "secondary did not catch up"
out=$("$CUTOVER_BIN" ttl wait "$plan" --timeout 30 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "ttl wait after release ($out)"

# Secondary paused: unreachable, never up to date.
bash "$LAB_SH" secondary-pause "$LAB_DIR" >/dev/null
on_exit "bash '$LAB_SH' secondary-release '$LAB_DIR' >/dev/null 2>&1"
out=$("$CUTOVER_BIN" ttl status "$plan" 2>&1) && rc=0 || rc=$?
assert_eq 3 "$rc" "ttl status with the secondary paused"
assert_contains "$out" "ns2.lab.test. $LAB_NET.2:$LAB_DNS_PORT: unreachable"
jq -e '.authoritative[] | select(.address == "'"$LAB_NET"'.2") | .reachable == false' \
	< <("$CUTOVER_BIN" --json ttl status "$plan" 2>/dev/null || true) >/dev/null ||
	fail "JSON does not say unreachable"
bash "$LAB_SH" secondary-release "$LAB_DIR" >/dev/null

# Knot, checked the same way (its own key and zone).
kplan=$tmp/knot.plan
write_plan "$kplan" knot.test. "$LAB_KNOT"
set_mx_ttl "$LAB_KNOT" "$LAB_KNOT_KEY" knot.test. 6
"$CUTOVER_BIN" ttl status "$kplan" >/dev/null 2>&1 || true
set_mx_ttl "$LAB_KNOT" "$LAB_KNOT_KEY" knot.test. 2
out=$("$CUTOVER_BIN" ttl status "$kplan" 2>&1) && rc=0 || rc=$?
assert_eq 3 "$rc" "knot: waiting for caches"
assert_contains "$out" "ns.knot.test. $LAB_KNOT:$LAB_DNS_PORT"
assert_contains "$out" "up to date  AA"
assert_contains "$out" "caches may hold the original TTL"
out=$("$CUTOVER_BIN" ttl wait "$kplan" --timeout 30 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "knot: ttl wait ($out)"
