#!/usr/bin/env bash
# dns_guard_test.sh - the guard of every DNS change, on both update
# implementations of the lab (BIND primary, Knot): a record edited with
# nsupdate between cutover's read and its UPDATE makes the server refuse
# the UPDATE on its prerequisite, cutover says so and shows what it
# expected and what it found, the edit survives, nothing else is written
# (serial), and the journal says intent + failed with no fact recorded.
# The edit is placed exactly between read and write with the test hook
# CUTOVER_TEST_UPDATE_GATE (no timing involved).  Also on Knot, which
# differs from BIND in how it treats updates: dns mx twice (second is a
# no-op), dns imap parking then new with IPv6, a two-RRset change refused
# as a whole when one RRset was edited, --dry-run sending nothing, and
# BADKEY / BADSIG each with its own message and nothing changed.  On BIND
# also: an hmac-sha512 key with the primary found through the SOA MNAME
# (no [dns] server), and `cutover check` proving the key with an UPDATE
# that changes nothing (BIND, Knot, and a wrong secret).
#
# Works on names of its own (guard-PID.lab.test., ...) so that it can
# share the lab with other tests.

TEST_NAME=dns_guard_test
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] && [ -x "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
lab_up
T=$(test_tmpdir)
id=guard-$$
P4=$LAB_PRIMARY4

cleanup_names() {
	dns_update "$P4" "$LAB_TSIG_KEY" lab.test. <<EOF >/dev/null 2>&1 || true
update delete $id.lab.test.
EOF
	dns_update "$LAB_KNOT" "$LAB_KNOT_KEY" knot.test. <<EOF >/dev/null 2>&1 || true
update delete $id.knot.test.
update delete imap-$id.knot.test.
EOF
}
on_exit cleanup_names

# one real account, so that `cutover check` gets to its IMAP logins too
echo "$LAB_HOST1:$LAB_IMAPS_PORT;user01;pass-user01;$LAB_HOST2:$LAB_IMAPS_PORT;user01;pass-user01;" >"$T/accounts.csv"
chmod 600 "$T/accounts.csv"

# write_plan FILE ZONE SERVER KEY: MX at $id.ZONE, IMAP name imap-$id.ZONE.
# SERVER "-": no [dns] server; the primary is found through the SOA MNAME
# served by the secondary ([dns] nameservers).
write_plan() {
	local where="server = $3"
	[ "$3" = - ] && where="nameservers = $LAB_SECONDARY"
	cat >"$1" <<EOF
[migration]
scenario = lucky
at = 2030-01-01T00:00:00Z
state = $1.state
[dns]
zone = $2
$where
port = $LAB_DNS_PORT
tsig_key = $4
low_ttl = 300
[mx]
name = $id.$2
old = 10 mx1.old.$2, 20 mx2.old.$2
new = 10 mx1.new.$2, 20 mx2.new.$2
[imap]
name = imap-$id.$2
old = $LAB_HOST1
new = $LAB_HOST2, 2001:db8::12
parking = 127.0.0.99
[sync]
accounts = $T/accounts.csv
ca_file = $LAB_CA
EOF
}

# reset SERVER KEY ZONE: MX old (TTL 86400), IMAP old (A only, TTL 3600).
reset() {
	dns_update "$1" "$2" "$3" <<EOF || fail "nsupdate (reset on $1) failed"
update delete $id.$3 MX
update add $id.$3 86400 MX 10 mx1.old.$3
update add $id.$3 86400 MX 20 mx2.old.$3
update delete imap-$id.$3 A
update delete imap-$id.$3 AAAA
update add imap-$id.$3 3600 A $LAB_HOST1
EOF
}

# phases PLAN STEP: the journal's phases of STEP, in order.
phases() {
	sqlite3 "$1.state/cutover.db" \
		"select phase from entries where step = '$2' order by id" | tr '\n' ' '
}
fact() {
	sqlite3 "$1.state/cutover.db" "select value from facts where key = '$2'"
}

# key_name KEYFILE: the key's name as cutover writes it (absolute).
key_name() {
	sed -n 's/^key "\([^"]*\)".*/\1./p' "$1" | sed 's/\.\.$/./'
}

# race SERVER KEY ZONE PLAN CMD... : runs cutover CMD with the gate, and
# once it has read the records, applies the nsupdate commands on stdin;
# then lets it send.  Sets RACE_RC, RACE_OUT, RACE_SERIAL (after the edit).
race() {
	local server=$1 key=$2 zone=$3 gate pid edit
	shift 3
	edit=$(cat)
	gate=$(mktemp -d "$T/gate.XXXXXX")
	CUTOVER_TEST_UPDATE_GATE=$gate "$CUTOVER_BIN" "$@" >"$gate/out" 2>&1 &
	pid=$!
	wait_for 30 test -e "$gate/read" || { kill "$pid"; fail "cutover $* never read the records"; }
	dns_update "$server" "$key" "$zone" <<<"$edit" || { kill "$pid"; fail "nsupdate (the concurrent edit) failed"; }
	RACE_SERIAL=$(dns_serial "$server" "$zone")
	touch "$gate/go"
	RACE_RC=0
	wait "$pid" || RACE_RC=$?
	RACE_OUT=$(cat "$gate/out")
}

# check_race SERVER KEY ZONE: the concurrent MX edit on one server.
check_race() {
	local server=$1 key=$2 zone=$3 plan=$T/race-$3plan
	note "$zone on $server: MX edited between read and UPDATE"
	write_plan "$plan" "$zone" "$server" "$key"
	reset "$server" "$key" "$zone"
	race "$server" "$key" "$zone" dns mx "$plan" new <<EOF
update delete $id.$zone MX
update add $id.$zone 86400 MX 30 mx.elsewhere.example.
EOF
	assert_eq 1 "$RACE_RC" "$zone: exit status after a concurrent edit ($RACE_OUT)"
	assert_contains "$RACE_OUT" "prerequisite failed for zone $zone (NXRRSET) on the UPDATE signed with key \"$(key_name "$key")\""
	assert_contains "$RACE_OUT" "nothing was changed"
	assert_contains "$RACE_OUT" "expected (as read before the update):"
	assert_contains "$RACE_OUT" "  $id.$zone 86400 IN MX 10 mx1.old.$zone"
	assert_contains "$RACE_OUT" "  $id.$zone 86400 IN MX 20 mx2.old.$zone"
	assert_contains "$RACE_OUT" "found now:
  $id.$zone 86400 IN MX 30 mx.elsewhere.example."
	# the edit survives and nothing was written after it
	assert_eq "30 mx.elsewhere.example." "$(dns_get "$server" "$id.$zone" MX)" "$zone: the concurrent edit"
	assert_eq "$RACE_SERIAL" "$(dns_serial "$server" "$zone")" "$zone: serial after the refused UPDATE"
	assert_eq "intent failed " "$(phases "$plan" dns_mx)" "$zone: journal"
	assert_eq "" "$(fact "$plan" dns_mx)" "$zone: no dns_mx fact"
	# the message itself carries expected and found: the journal has them
	failed=$(sqlite3 "$plan.state/cutover.db" \
		"select detail from entries where step = 'dns_mx' and phase = 'failed'")
	assert_contains "$failed" "expected (as read before the update):" "$zone: journaled failure"
	assert_contains "$failed" "found now:" "$zone: journaled failure"
	assert_contains "$failed" "MX 30 mx.elsewhere.example." "$zone: journaled failure"
	# run again: the MX is now neither old nor new: refused (4), untouched
	rc=0
	out=$("$CUTOVER_BIN" dns mx "$plan" new 2>&1) || rc=$?
	assert_eq 4 "$rc" "$zone: dns mx after the edit ($out)"
	assert_eq "$RACE_SERIAL" "$(dns_serial "$server" "$zone")" "$zone: serial after the refusal"
}

check_race "$P4" "$LAB_TSIG_KEY" lab.test.
check_race "$LAB_KNOT" "$LAB_KNOT_KEY" knot.test.

# --- BIND: an hmac-sha512 key; the primary found through the SOA MNAME ------
note "BIND: hmac-sha512 key, no [dns] server (SOA MNAME via the secondary)"
reset "$P4" "$LAB_TSIG_KEY" lab.test.
same_serial() { [ "$(dns_serial "$LAB_SECONDARY")" = "$(dns_serial "$P4")" ]; }
wait_for 20 same_serial || fail "the secondary did not catch up"
write_plan "$T/mname.plan" lab.test. - "$LAB_SHA512_KEY"
s0=$(dns_serial "$P4")
out=$("$CUTOVER_BIN" dns mx "$T/mname.plan" new 2>&1) || fail "dns mx with sha512 via MNAME: $out"
assert_contains "$out" "go to the primary ns1.lab.test. (SOA MNAME) at $P4:$LAB_DNS_PORT"
assert_contains "$out" "serial $s0 -> "
assert_eq "10 mx1.new.lab.test.
20 mx2.new.lab.test." "$(dns_get "$P4" "$id.lab.test" MX)" "MX after an update signed with hmac-sha512"
assert_eq "intent done " "$(phases "$T/mname.plan" dns_mx)" "journal of the sha512 update"

# --- cutover check: the key accepted by an UPDATE that changes nothing -------
# check_dns PLAN SERVER ZONE: `cutover check`'s DNS lines; serial unchanged.
check_dns() {
	local s0 rc=0
	s0=$(dns_serial "$2" "$3")
	CHECK_OUT=$("$CUTOVER_BIN" check "$1" 2>&1) || rc=$?
	CHECK_RC=$rc
	assert_eq "$s0" "$(dns_serial "$2" "$3")" "serial after cutover check"
}
note "cutover check: key accepted on BIND and on Knot, BADSIG reported"
check_dns "$T/mname.plan" "$P4" lab.test
assert_contains "$CHECK_OUT" "accepts TSIG key \"sha512-key.\" for zone lab.test."
assert_contains "$CHECK_OUT" "ok: the MX of $id.lab.test. is already [mx] new"
write_plan "$T/check-knot.plan" knot.test. "$LAB_KNOT" "$LAB_KNOT_KEY"
reset "$LAB_KNOT" "$LAB_KNOT_KEY" knot.test.
check_dns "$T/check-knot.plan" "$LAB_KNOT" knot.test
assert_contains "$CHECK_OUT" "accepts TSIG key \"knot-key.\" for zone knot.test."
assert_contains "$CHECK_OUT" "ok: the MX of $id.knot.test. is [mx] old"
write_plan "$T/check-bad.plan" lab.test. "$P4" "$LAB_WRONG_SECRET_KEY"
check_dns "$T/check-bad.plan" "$P4" lab.test
assert_eq 1 "$CHECK_RC" "cutover check with a wrong secret ($CHECK_OUT)"
assert_contains "$CHECK_OUT" "(BADSIG"

# --- Knot: the other changes ----------------------------------------------
K=$LAB_KNOT
KK=$LAB_KNOT_KEY
kplan=$T/knot.plan
write_plan "$kplan" knot.test. "$K" "$KK"
reset "$K" "$KK" knot.test.
ks() { dns_serial "$K" knot.test; }

note "Knot: --dry-run sends nothing"
s0=$(ks)
out=$("$CUTOVER_BIN" --dry-run dns imap "$kplan" new) || fail "knot dry run: $out"
assert_contains "$out" "require record:          imap-$id.knot.test. A $LAB_HOST1"
assert_contains "$out" "require absent:          imap-$id.knot.test. AAAA"
assert_contains "$out" "add:                     imap-$id.knot.test. 3600 AAAA 2001:db8::12"
assert_eq "$s0" "$(ks)" "Knot serial after --dry-run"

note "Knot: dns mx new twice"
out=$("$CUTOVER_BIN" dns mx "$kplan" new) || fail "knot dns mx new: $out"
assert_eq "10 mx1.new.knot.test.
20 mx2.new.knot.test." "$(dns_get "$K" "$id.knot.test" MX)" "Knot MX after dns mx new"
assert_eq 86400 "$(dig +norec +noall +answer -p "$LAB_DNS_PORT" "@$K" "$id.knot.test" MX | awk '{print $2}' | sort -u)" "Knot MX TTL kept"
s1=$(ks)
[ "$s1" -gt "$s0" ] || fail "Knot serial not bumped ($s0 -> $s1)"
assert_contains "$out" "serial $s0 -> $s1"
assert_eq "$s1" "$(jq .serial <<<"$(fact "$kplan" dns_mx)")" "Knot: journaled serial"
out=$("$CUTOVER_BIN" dns mx "$kplan" new) || fail "knot second dns mx new: $out"
assert_contains "$out" "already done, nothing sent"
assert_eq "$s1" "$(ks)" "Knot serial after a second dns mx new"

note "Knot: dns imap parking, then new (an AAAA added)"
"$CUTOVER_BIN" dns imap "$kplan" parking >/dev/null || fail "knot dns imap parking"
assert_eq "127.0.0.99" "$(dns_get "$K" "imap-$id.knot.test" A)" "Knot A at parking"
"$CUTOVER_BIN" dns imap "$kplan" new >/dev/null || fail "knot dns imap new"
assert_eq "$LAB_HOST2" "$(dns_get "$K" "imap-$id.knot.test" A)" "Knot A at new"
assert_eq "2001:db8::12" "$(dns_get "$K" "imap-$id.knot.test" AAAA)" "Knot AAAA at new"

# Two RRsets in one UPDATE: the AAAA edited, the A not; the whole UPDATE
# is refused, the A stays as it was.
note "Knot: dns imap old with the AAAA edited meanwhile"
race "$K" "$KK" knot.test. dns imap "$kplan" old <<EOF
update add imap-$id.knot.test. 3600 AAAA 2001:db8::77
EOF
assert_eq 1 "$RACE_RC" "Knot: dns imap after a concurrent AAAA edit ($RACE_OUT)"
assert_contains "$RACE_OUT" "(NXRRSET)"
assert_contains "$RACE_OUT" "found now:"
assert_contains "$RACE_OUT" "  imap-$id.knot.test. 3600 IN AAAA 2001:db8::12"
assert_contains "$RACE_OUT" "  imap-$id.knot.test. 3600 IN AAAA 2001:db8::77"
assert_eq "$LAB_HOST2" "$(dns_get "$K" "imap-$id.knot.test" A)" "Knot A after the refused UPDATE"
assert_eq "$RACE_SERIAL" "$(ks)" "Knot serial after the refused UPDATE"

note "Knot: unknown key and wrong secret"
reset "$K" "$KK" knot.test.
secret=$(sed -n 's/.*secret "\(.*\)".*/\1/p' "$KK")
cat >"$T/knot-wrong.key" <<EOF
key "knot-key" {
	algorithm hmac-sha256;
	secret "$(printf 'not-%s' "$secret" | base64 -w0)";
};
EOF
chmod 600 "$T/knot-wrong.key"
# knot_failure NAME KEY MESSAGE
knot_failure() {
	local plan=$T/knot-$1.plan rc=0 out s0
	write_plan "$plan" knot.test. "$K" "$2"
	s0=$(ks)
	out=$("$CUTOVER_BIN" dns mx "$plan" new 2>&1) || rc=$?
	assert_eq 1 "$rc" "Knot $1: exit status ($out)"
	assert_contains "$out" "$3" "Knot $1: message"
	assert_eq "$s0" "$(ks)" "Knot $1: serial"
	assert_eq "10 mx1.old.knot.test.
20 mx2.old.knot.test." "$(dns_get "$K" "$id.knot.test" MX)" "Knot $1: MX"
	assert_eq "intent failed " "$(phases "$plan" dns_mx)" "Knot $1: journal"
}
knot_failure unknown "$LAB_UNKNOWN_KEY" "(BADKEY"
knot_failure wrong-secret "$T/knot-wrong.key" "(BADSIG"

note "all DNS guard checks passed"
