#!/usr/bin/env bash
# ctest: own-lab timeout=300
# dns_fake_test.sh - what a real DNS server cannot be made to do, played
# by tests/integ/fake_dns_server.py on loopback: replies to a signed
# UPDATE that are forged (bad TSIG MAC), unsigned, garbage, truncated, cut
# short, with another message id, SERVFAIL, NOTZONE, REFUSED, lost (the
# update applied but never answered: the bounded retry must end as done
# thanks to the prerequisite), or never sent (a clear timeout naming
# server:port within a bounded time), or correctly signed but with a Time
# Signed 10 minutes ahead or an hour behind our clock (RFC 8945 5.4.3: not
# trusted, the offset named; 2 minutes off is within the fudge and
# accepted).  Nothing may be journaled as done unless the reply verified.
# On the propagation side, REFUSED, non-AA (lame) and garbage answers from
# "authoritative" addresses are reported as such and keep the verdict at
# not ready.
#
# Needs no lab: every peer is a fake, on 127.N.53.1 (N = CUTOVER_TEST_NET;
# all of 127/8 is routed to lo, so the address needs no setup).

TEST_NAME=dns_fake_test
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] && [ -x "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
T=$(test_tmpdir)
FAKE=$CUTOVER_SOURCE_DIR/tests/integ/fake_dns_server.py
ADDR=${DNS_FAKE_TEST_ADDR:-$TEST_NET_PREFIX.53.1}
# CUTOVER_VALGRIND=1 makes lib.sh point CUTOVER_BIN at a valgrind wrapper.
CUT=("$CUTOVER_BIN")

cat >"$T/fake.key" <<'EOF'
key "fake-key" {
	algorithm hmac-sha256;
	secret "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=";
};
EOF
chmod 600 "$T/fake.key"
: >"$T/accounts.csv"
chmod 600 "$T/accounts.csv"

# fake_start VAR ARGS...: start a fake peer on a free port; VAR=port.
FAKE_PIDS=()
# Extra arguments for the peer check_failed starts, and its plan's name.
FAKE_EXTRA=()
CHECK_LABEL=
fake_start() {
	local _var=$1 _port _ready
	shift
	_port=$(free_port)
	_ready=$T/ready-$_port
	"$PYTHON" "$FAKE" --addr "$ADDR" --port "$_port" --key "$T/fake.key" \
		--ready-file "$_ready" --log "$T/fake-$_port.log" "$@" &
	FAKE_PIDS+=($!)
	on_exit "kill $! 2>/dev/null"
	wait_for 10 test -s "$_ready" || fail "fake DNS server on port $_port did not start"
	printf -v "$_var" %s "$_port"
}

# write_plan FILE PORT [NAMESERVERS]
write_plan() {
	cat >"$1" <<EOF
[migration]
scenario = classical
at = 2030-01-01T00:00:00Z
state = $T/state-$(basename "$1" .plan)
[dns]
zone = fake.test.
server = $ADDR
port = $2
tsig_key = fake.key
low_ttl = 300
${3:+nameservers = $3}
[mx]
name = fake.test.
old = 10 mx1.old.fake.test., 20 mx2.old.fake.test.
new = 10 mx1.new.fake.test., 20 mx2.new.fake.test.
[sync]
accounts = accounts.csv
EOF
}

# phases PLAN: the journal's step|phase lines of dns_mx.
phases() {
	sqlite3 "$T/state-$(basename "$1" .plan)/cutover.db" \
		"select phase from entries where step = 'dns_mx' order by id" |
		tr '\n' ' '
}

fact() {
	sqlite3 "$T/state-$(basename "$1" .plan)/cutover.db" \
		"select value from facts where key = '$2'"
}

mx_served() {
	dig +norec +short +time=2 +tries=1 -p "$1" "@$ADDR" fake.test. MX | sort | tr '\n' ' '
}

OLD_MX="10 mx1.old.fake.test. 20 mx2.old.fake.test. "
NEW_MX="10 mx1.new.fake.test. 20 mx2.new.fake.test. "

# --- the fake itself is a sane server: a good UPDATE is applied ----------
note "good peer: dns mx new applies and is read back"
fake_start P
write_plan "$T/good.plan" "$P"
out=$("${CUT[@]}" dns mx "$T/good.plan" new 2>&1) || fail "dns mx on the good fake failed: $out"
assert_contains "$out" "serial 1 -> 2"
assert_eq "$NEW_MX" "$(mx_served "$P")" "MX on the good fake"
assert_eq "intent done " "$(phases "$T/good.plan")" "journal on the good fake"

# --- replies that must not be trusted or cannot be read -------------------
# check_failed MODE EXPECTED-TEXT...: dns mx new fails with exit 1, says
# each text, journals intent + failed and no dns_mx fact.
check_failed() {
	local mode=$1 port out rc=0 t0 t1 label=${CHECK_LABEL:-$1}
	shift
	note "update mode $mode ${FAKE_EXTRA[*]}"
	fake_start port --update-mode "$mode" "${FAKE_EXTRA[@]}"
	write_plan "$T/$label.plan" "$port"
	t0=$(date +%s)
	out=$("${CUT[@]}" dns mx "$T/$label.plan" new 2>&1) || rc=$?
	t1=$(date +%s)
	assert_eq 1 "$rc" "exit code for $label ($out)"
	for text in "$@"; do
		assert_contains "$out" "$text" "$label: output"
	done
	assert_eq "intent failed " "$(phases "$T/$label.plan")" "$label: journal"
	assert_eq "" "$(fact "$T/$label.plan" dns_mx)" "$label: dns_mx fact"
	[ $((t1 - t0)) -le 25 ] || fail "$label: took $((t1 - t0)) s"
	LAST_PORT=$port
	LAST_OUT=$out
}

check_failed badsig "$ADDR:" "signature that does not verify" "forged"
assert_eq "$OLD_MX" "$(mx_served "$LAST_PORT")" "badsig: MX"
check_failed unsigned "without a TSIG signature" "cannot be trusted"
check_failed garbage "$ADDR:" "with another id ignored" "attempt 3 of 3"
check_failed truncated "$ADDR:" "connection closed before the reply" "attempt 3 of 3"
check_failed short "sent a malformed reply (12 bytes)" "nothing is counted as done"
check_failed wrongid "with another id ignored"
check_failed servfail "(SERVFAIL)" "see the server's log"
check_failed notzone "(NOTZONE)" "outside zone fake.test."
check_failed refused "is not allowed to update zone fake.test."
assert_not_contains "$LAST_OUT" "not signed" "refused: signed reply"

# --- a correctly signed reply whose time is outside the fudge -------------
# RFC 8945 5.4.3: the MAC verifies but Time Signed is 10 minutes ahead of
# our clock (or an hour behind: an old reply played back): not trusted,
# the offset named, nothing counted as done.  The peer did apply the
# change: re-running finds it served and counts it then.
FAKE_EXTRA=(--reply-time-offset 600)
CHECK_LABEL=time-ahead check_failed good "$ADDR:" \
	"with a reply signed by key \"fake-key.\" whose time is 10m00s ahead of our clock (offset +10m00s, allowed 300 s" \
	"not trusted; nothing is counted as done" "synchronise the clocks"
assert_eq "$NEW_MX" "$(mx_served "$LAST_PORT")" "time-ahead: the peer applied the UPDATE"
out=$("${CUT[@]}" dns mx "$T/time-ahead.plan" new 2>&1) || fail "time-ahead: re-run failed: $out"
assert_contains "$out" "already"
FAKE_EXTRA=(--reply-time-offset -3600)
CHECK_LABEL=time-behind check_failed good \
	"whose time is 1h00m00s behind our clock (offset -1h00m00s, allowed 300 s" \
	"not trusted"
# Within the fudge (2 minutes): trusted and done, so the two above failed
# on the time alone.
note "reply signed 2 minutes ahead: within the fudge"
fake_start P --reply-time-offset 120
write_plan "$T/time-within.plan" "$P"
out=$("${CUT[@]}" dns mx "$T/time-within.plan" new 2>&1) || fail "time-within failed: $out"
assert_eq "$NEW_MX" "$(mx_served "$P")" "MX after time-within"
assert_eq "intent done " "$(phases "$T/time-within.plan")" "time-within: journal"
FAKE_EXTRA=()

# --- a reply with another id before the real one: ignored ------------------
note "update mode wrongid-then-good"
fake_start P --update-mode wrongid-then-good
write_plan "$T/wrongid-then-good.plan" "$P"
out=$("${CUT[@]}" dns mx "$T/wrongid-then-good.plan" new 2>&1) ||
	fail "wrongid-then-good failed: $out"
assert_eq "$NEW_MX" "$(mx_served "$P")" "MX after wrongid-then-good"
assert_eq "intent done " "$(phases "$T/wrongid-then-good.plan")" "wrongid-then-good: journal"

# --- a lost reply: the retry meets the prerequisite, the re-read finds the
# target, done exactly once ------------------------------------------------
note "update mode lost-first"
fake_start P --update-mode lost-first
write_plan "$T/lost-first.plan" "$P"
out=$("${CUT[@]}" -v dns mx "$T/lost-first.plan" new 2>&1) ||
	fail "lost-first failed: $out"
assert_contains "$out" "attempt 1 of 3, retrying"
assert_contains "$out" "an earlier attempt was applied"
assert_eq "$NEW_MX" "$(mx_served "$P")" "MX after lost-first"
assert_eq "intent done " "$(phases "$T/lost-first.plan")" "lost-first: journal"
[ "$(grep -c 'update applied' "$T/fake-$P.log")" -eq 1 ] ||
	fail "lost-first: the fake applied $(grep -c 'update applied' "$T/fake-$P.log") updates"
assert_contains "$(fact "$T/lost-first.plan" dns_mx)" '"which":"new"'

# --- a server that never answers: bounded, names server:port --------------
note "update mode silent (3 attempts of 5 s)"
check_failed silent "no reply (timed out)" "attempt 3 of 3"
assert_contains "$LAST_OUT" "$ADDR:$LAST_PORT"

note "nobody listening"
NOPORT=$(free_port)
write_plan "$T/none.plan" "$NOPORT"
rc=0
out=$("${CUT[@]}" dns mx "$T/none.plan" new 2>&1) || rc=$?
assert_eq 1 "$rc" "exit code with nobody listening"
assert_contains "$out" "$ADDR:$NOPORT"

# --- propagation: refused, lame and garbage "authoritative" addresses -----
note "ttl status with refused, lame and garbage name servers"
fake_start PG --mx-ttl 300
fake_start PR --query-mode refused
fake_start PL --query-mode lame --mx-ttl 300
fake_start PJ --query-mode garbage
write_plan "$T/prop.plan" "$PG" \
	"$ADDR:$PG, $ADDR:$PR, $ADDR:$PL, $ADDR:$PJ"
rc=0
out=$("${CUT[@]}" ttl status "$T/prop.plan" 2>&1) || rc=$?
assert_eq 3 "$rc" "ttl status exit code ($out)"
assert_contains "$out" "$ADDR:$PR"
assert_contains "$out" "answered REFUSED"
assert_contains "$out" "not authoritative (lame)"
assert_contains "$out" "$ADDR:$PJ"
assert_contains "$out" "verdict: not ready"
line=$(grep -F "$ADDR:$PG " <<<"$out" | head -1)
assert_contains "$line" "up to date" "the good server's line"
json=$("${CUT[@]}" --json ttl status "$T/prop.plan") || true
verdicts=$("$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
print(d["ready"], " ".join("%d=%s" % (a["port"], a["verdict"]) for a in d["authoritative"]))
' <<<"$json")
assert_eq "False $PG=up to date $PR=refused $PL=not authoritative (lame) $PJ=unreachable" \
	"$verdicts" "JSON verdicts"

# The same with more than FD_SETSIZE (1024) descriptors open: the event
# loop must not depend on select().
many_fds_status() {
	local i
	ulimit -n 4096 || return 99
	# every descriptor from 3 up: the sockets get numbers above 1100
	for ((i = 3; i < 1110; i++)); do
		eval "exec $i</dev/null"
	done
	"${CUT[@]}" ttl status "$T/prop.plan"
}
rc=0
out=$(many_fds_status 2>&1) || rc=$?
if [ "$rc" -eq 99 ]; then
	note "cannot raise the descriptor limit: skipping the many-fds check"
else
	assert_eq 3 "$rc" "ttl status with 1100 descriptors open ($out)"
	line=$(grep -F "$ADDR:$PG " <<<"$out" | head -1)
	assert_contains "$line" "up to date" "the good server's line (many fds)"
	assert_contains "$out" "answered REFUSED"
fi

# Only the good one: ready counts from now (the control that the above can fail).
write_plan "$T/prop1.plan" "$PG" "$ADDR:$PG"
out=$("${CUT[@]}" ttl status "$T/prop1.plan" 2>&1) || true
assert_not_contains "$out" "refused"
assert_contains "$out" "up to date"

for pid in "${FAKE_PIDS[@]}"; do
	kill -0 "$pid" 2>/dev/null || fail "fake server $pid died"
done
