#!/usr/bin/env bash
# dns_update_test.sh - `cutover ttl lower|restore` and `cutover dns
# show|mx|imap` against the lab's real servers (BIND primary and
# secondary, Knot): TTL changes that keep the data, guarded updates that
# lose a race instead of overwriting a concurrent edit, one clear message
# per TSIG/permission failure with nothing changed, idempotent changes,
# --dry-run sending nothing.
#
# Works on names of its own (dnsupd-PID.lab.test., ...) so that it can
# share the lab with other tests.

TEST_NAME=dns_update_test
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] && [ -x "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
lab_up
T=$(test_tmpdir)
id=dnsupd-$$
MX=$id.lab.test.
IMAP=imap-$id.lab.test.
KMX=$id.knot.test.
P4=$LAB_PRIMARY4

cleanup_names() {
	dns_update "$P4" "$LAB_TSIG_KEY" lab.test. <<EOF >/dev/null 2>&1 || true
update delete $MX
update delete $IMAP
EOF
	dns_update "$LAB_KNOT" "$LAB_KNOT_KEY" knot.test. <<EOF >/dev/null 2>&1 || true
update delete $KMX
EOF
}
on_exit cleanup_names

reset_lab_names() {
	dns_update "$P4" "$LAB_TSIG_KEY" lab.test. <<EOF || fail "nsupdate (setup) failed"
update delete $MX MX
update add $MX 86400 MX 10 mx1.old.lab.test.
update add $MX 86400 MX 20 mx2.old.lab.test.
update delete $IMAP A
update delete $IMAP AAAA
update add $IMAP 3600 A $LAB_HOST1
update add $IMAP 3600 AAAA ::ffff:$LAB_HOST1
EOF
}

# write_plan FILE ZONE SERVER KEY MXNAME [lucky]
write_plan() {
	local scenario=classical imap=""
	if [ "${6:-}" = lucky ]; then
		scenario=lucky
		imap="[imap]
name = $IMAP
old = $LAB_HOST1, ::ffff:$LAB_HOST1
new = $LAB_HOST2, ::ffff:$LAB_HOST2, 2001:db8::12
parking = 127.0.0.99"
	fi
	cat >"$1" <<EOF
[migration]
scenario = $scenario
at = 2030-01-01T00:00:00Z
state = $T/state-$(basename "$1" .plan)
[dns]
zone = $2
server = $3
port = $LAB_DNS_PORT
tsig_key = $4
low_ttl = 300
[mx]
name = $5
old = 10 mx1.old.$2, 20 mx2.old.$2
new = 10 mx1.new.$2, 20 mx2.new.$2
$imap
[sync]
accounts = accounts.csv
EOF
}

: >"$T/accounts.csv"
chmod 600 "$T/accounts.csv"
reset_lab_names
write_plan "$T/lab.plan" lab.test. "$P4" "$LAB_TSIG_KEY" "$MX" lucky

ttl_of() { dig +norec +noall +answer -p "$LAB_DNS_PORT" "@$1" "$2" "$3" | awk '{print $2}' | sort -u; }

# --- dns show ---------------------------------------------------------------
out=$("$CUTOVER_BIN" dns show "$T/lab.plan") || fail "dns show failed: $out"
assert_contains "$out" "$MX 86400 IN MX 10 mx1.old.lab.test."
assert_contains "$out" "$IMAP 3600 IN AAAA ::ffff:$LAB_HOST1"
out=$("$CUTOVER_BIN" --json dns show "$T/lab.plan")
assert_contains "$out" "\"serial\": $(dns_serial "$P4")"

# --- --dry-run sends nothing -----------------------------------------------
s0=$(dns_serial "$P4")
out=$("$CUTOVER_BIN" --dry-run ttl lower "$T/lab.plan") || fail "dry run failed"
assert_contains "$out" "require record:          $MX MX 10 mx1.old.lab.test."
assert_contains "$out" "delete rrset:            $MX MX"
assert_contains "$out" "add:                     $MX 300 MX 10 mx1.old.lab.test."
assert_eq "$s0" "$(dns_serial "$P4")" "serial after --dry-run"
assert_eq 86400 "$(ttl_of "$P4" "$MX" MX)" "MX TTL after --dry-run"

# --- ttl lower / restore on BIND --------------------------------------------
note "ttl lower on BIND"
out=$("$CUTOVER_BIN" ttl lower "$T/lab.plan") || fail "ttl lower failed: $out"
assert_eq 300 "$(ttl_of "$P4" "$MX" MX)" "MX TTL"
assert_eq 300 "$(ttl_of "$P4" "$IMAP" A)" "A TTL"
assert_eq 300 "$(ttl_of "$P4" "$IMAP" AAAA)" "AAAA TTL"
assert_eq "10 mx1.old.lab.test.
20 mx2.old.lab.test." "$(dns_get "$P4" "$MX" MX)" "MX data"
s1=$(dns_serial "$P4")
[ "$s1" -gt "$s0" ] || fail "serial not bumped ($s0 -> $s1)"
out=$("$CUTOVER_BIN" ttl lower "$T/lab.plan") || fail "second ttl lower failed"
assert_contains "$out" "already"
assert_eq "$s1" "$(dns_serial "$P4")" "serial after a second ttl lower"
note "ttl restore on BIND"
out=$("$CUTOVER_BIN" ttl restore "$T/lab.plan") || fail "ttl restore failed: $out"
assert_eq 86400 "$(ttl_of "$P4" "$MX" MX)" "restored MX TTL"
assert_eq 3600 "$(ttl_of "$P4" "$IMAP" A)" "restored A TTL"
assert_eq "10 mx1.old.lab.test.
20 mx2.old.lab.test." "$(dns_get "$P4" "$MX" MX)" "MX data after restore"

# --- ttl lower / restore on Knot --------------------------------------------
note "ttl lower on Knot"
dns_update "$LAB_KNOT" "$LAB_KNOT_KEY" knot.test. <<EOF || fail "nsupdate knot setup failed"
update delete $KMX MX
update add $KMX 86400 MX 10 mx1.old.knot.test.
update add $KMX 86400 MX 20 mx2.old.knot.test.
EOF
write_plan "$T/knot.plan" knot.test. "$LAB_KNOT" "$LAB_KNOT_KEY" "$KMX"
k0=$(dns_serial "$LAB_KNOT" knot.test)
out=$("$CUTOVER_BIN" ttl lower "$T/knot.plan") || fail "knot ttl lower failed: $out"
assert_eq 300 "$(ttl_of "$LAB_KNOT" "$KMX" MX)" "Knot MX TTL"
assert_eq "10 mx1.old.knot.test.
20 mx2.old.knot.test." "$(dns_get "$LAB_KNOT" "$KMX" MX)" "Knot MX data"
k1=$(dns_serial "$LAB_KNOT" knot.test)
[ "$k1" -gt "$k0" ] || fail "Knot serial not bumped ($k0 -> $k1)"
"$CUTOVER_BIN" ttl restore "$T/knot.plan" >/dev/null || fail "knot restore failed"
assert_eq 86400 "$(ttl_of "$LAB_KNOT" "$KMX" MX)" "Knot restored MX TTL"

# --- a concurrent edit between read and write: refused, the edit survives ---
# (the gate holds the UPDATE until the edit is made: no timing involved;
# dns_guard_test.sh checks the same on Knot and the journal)
note "concurrent edit"
mkdir "$T/gate"
CUTOVER_TEST_UPDATE_GATE=$T/gate "$CUTOVER_BIN" dns mx "$T/lab.plan" new \
	>"$T/race.out" 2>&1 &
pid=$!
wait_for 30 test -e "$T/gate/read" || fail "dns mx never read the records"
dns_update "$P4" "$LAB_TSIG_KEY" lab.test. <<EOF || fail "nsupdate (race) failed"
update delete $MX MX
update add $MX 86400 MX 30 mx.elsewhere.example.
EOF
touch "$T/gate/go"
rc=0
wait "$pid" || rc=$?
assert_eq 1 "$rc" "exit status after a concurrent edit"
out=$(cat "$T/race.out")
assert_contains "$out" "prerequisite failed"
assert_contains "$out" "30 mx.elsewhere.example."
assert_eq "30 mx.elsewhere.example." "$(dns_get "$P4" "$MX" MX)" "the concurrent edit"

# --- MX neither old nor new: refused, all three shown ------------------------
s0=$(dns_serial "$P4")
rc=0
out=$("$CUTOVER_BIN" dns mx "$T/lab.plan" new 2>&1) || rc=$?
assert_eq 4 "$rc" "exit status when the MX is neither old nor new"
assert_contains "$out" "expected ([mx] old)"
assert_contains "$out" "expected ([mx] new)"
assert_contains "$out" "$MX 86400 IN MX 30 mx.elsewhere.example."
assert_eq "$s0" "$(dns_serial "$P4")" "serial after a refusal"

# --- dns mx new twice ------------------------------------------------------
reset_lab_names
"$CUTOVER_BIN" dns mx "$T/lab.plan" new >/dev/null || fail "dns mx new failed"
assert_eq "10 mx1.new.lab.test.
20 mx2.new.lab.test." "$(dns_get "$P4" "$MX" MX)" "MX after dns mx new"
assert_eq 86400 "$(ttl_of "$P4" "$MX" MX)" "MX TTL kept"
s1=$(dns_serial "$P4")
out=$("$CUTOVER_BIN" dns mx "$T/lab.plan" new) || fail "second dns mx new failed"
assert_contains "$out" "already"
assert_eq "$s1" "$(dns_serial "$P4")" "serial after a second dns mx new"

# --- dns imap parking, then new (IPv6 included) ------------------------------
"$CUTOVER_BIN" dns imap "$T/lab.plan" parking >/dev/null || fail "dns imap parking failed"
assert_eq "127.0.0.99" "$(dns_get "$P4" "$IMAP" A)" "A after parking"
assert_eq "" "$(dns_get "$P4" "$IMAP" AAAA)" "AAAA after parking (deleted)"
"$CUTOVER_BIN" dns imap "$T/lab.plan" new >/dev/null || fail "dns imap new failed"
assert_eq "$LAB_HOST2" "$(dns_get "$P4" "$IMAP" A)" "A after new"
assert_eq "2001:db8::12
::ffff:$LAB_HOST2" "$(dns_get "$P4" "$IMAP" AAAA)" "AAAA after new"

# --- failures: one clear message each, nothing changed -----------------------
reset_lab_names
# expect_failure NAME SERVER KEY MESSAGE [ENV=VALUE...]
expect_failure() {
	local what=$1 server=$2 key=$3 msg=$4 rc=0 s0 out
	shift 4
	write_plan "$T/$what.plan" lab.test. "$server" "$key" "$MX"
	s0=$(dns_serial "$P4")
	out=$(env "$@" "$CUTOVER_BIN" dns mx "$T/$what.plan" new 2>&1) || rc=$?
	assert_eq 1 "$rc" "$what: exit status"
	assert_contains "$out" "$msg" "$what: message"
	assert_eq "$s0" "$(dns_serial "$P4")" "$what: serial"
	assert_eq "10 mx1.old.lab.test.
20 mx2.old.lab.test." "$(dns_get "$P4" "$MX" MX)" "$what: MX"
}
expect_failure unknown-key "$P4" "$LAB_UNKNOWN_KEY" "(BADKEY"
expect_failure wrong-secret "$P4" "$LAB_WRONG_SECRET_KEY" "(BADSIG"
expect_failure no-rights "$P4" "$LAB_OTHER_KEY" "is not allowed to update zone lab.test. on $P4:"
# the secondary must have the reset records, or the MX check refuses first
same_serial() { [ "$(dns_serial "$LAB_SECONDARY")" = "$(dns_serial "$P4")" ]; }
wait_for 20 same_serial || fail "the secondary did not catch up"
expect_failure secondary "$LAB_SECONDARY" "$LAB_TSIG_KEY" "is not the primary of zone lab.test."
expect_failure clock "$P4" "$LAB_TSIG_KEY" "clock is 10m0" \
	CUTOVER_TEST_CLOCK_OFFSET=-600

note "all DNS update checks passed"
