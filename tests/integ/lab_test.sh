#!/usr/bin/env bash
# lab_test.sh - the lab itself: every server answers, TSIG updates work and
# propagate (BIND primary -> secondary -> unbound, Knot -> unbound), both
# Dovecots accept logins over IMAPS and STARTTLS with the lab CA, the
# secondary's pause/hold/release behave, and "stop" leaves nothing behind.
#
# Runs its own lab (never the ctest fixture's) on LAB_NET (default
# 127.0.1) so it can run while the shared fixture lab on 127.0.0.x is up.

TEST_NAME=lab_test
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

export LAB_NET=${LAB_TEST_NET:-$TEST_NET_PREFIX.1}
export LAB_ACCOUNTS=5

lab_dir=$(test_tmpdir)/lab
# Stop on any exit; harmless if the test already stopped it.
on_exit "bash '$LAB_SH' stop '$lab_dir' >/dev/null 2>&1 || true"

t0=$(date +%s%N)
bash "$LAB_SH" start "$lab_dir" || fail "lab.sh start failed"
ms=$((($(date +%s%N) - t0) / 1000000))
note "lab started in $ms ms"
[ "$ms" -lt 60000 ] || fail "lab start took $ms ms"
lab_source "$lab_dir"
assert_eq "$LAB_NET.1" "$LAB_PRIMARY4" LAB_PRIMARY4
assert_eq 5 "$LAB_ACCOUNTS" LAB_ACCOUNTS

# "start" on a running lab must refuse rather than clobber it.
assert_rc 1 bash "$LAB_SH" start "$lab_dir"

# ---------------------------------------------------------------------------
note "zone data on every server"
assert_eq "10 mx1.old.lab.test.
20 mx2.old.lab.test." "$(dns_get "$LAB_PRIMARY4" lab.test MX)" "MX on primary"
assert_eq "$(dns_get "$LAB_PRIMARY4" lab.test MX)" "$(dns_get "$LAB_PRIMARY6" lab.test MX)" "MX on ::1"
assert_eq "$(dns_get "$LAB_PRIMARY4" lab.test MX)" "$(dns_get "$LAB_SECONDARY" lab.test MX)" "MX on secondary"
assert_eq "$(dns_get "$LAB_PRIMARY4" lab.test MX)" "$(dns_get "$LAB_RESOLVER" lab.test MX)" "MX via unbound"
mx_ttl=$(dig +norec +noall +answer -p "$LAB_DNS_PORT" "@$LAB_PRIMARY4" lab.test MX | awk 'NR==1{print $2}')
assert_eq 86400 "$mx_ttl" "MX TTL"
assert_eq "$LAB_HOST1" "$(dns_get "$LAB_PRIMARY4" imap.lab.test A)" "imap A"
assert_eq "::ffff:$LAB_HOST1" "$(dns_get "$LAB_PRIMARY4" imap.lab.test AAAA)" "imap AAAA"
assert_eq "$LAB_KNOT" "$(dns_get "$LAB_KNOT" ns.knot.test A)" "ns.knot.test on Knot"
assert_eq "10 mx1.old.knot.test." "$(dns_get "$LAB_RESOLVER" knot.test MX)" "knot.test MX via unbound"
# Nothing outside the lab zones is resolved (no traffic off loopback).
out=$(dig +time=2 +tries=1 -p "$LAB_DNS_PORT" "@$LAB_RESOLVER" example.com A)
assert_contains "$out" "status: REFUSED" "unbound answer for example.com"

# ---------------------------------------------------------------------------
note "RFC 2136 updates with TSIG"
serial0=$(dns_serial "$LAB_PRIMARY4")
dns_update "$LAB_PRIMARY4" "$LAB_TSIG_KEY" lab.test <<<"update add t1.lab.test. 30 A 192.0.2.1" ||
	fail "nsupdate with cutover-key failed"
assert_eq 192.0.2.1 "$(dns_get "$LAB_PRIMARY4" t1.lab.test A)" "t1 on primary"
assert_eq $((serial0 + 1)) "$(dns_serial "$LAB_PRIMARY4")" "serial after update"
# shellcheck disable=SC2317 # called through wait_for
sec_has_t1() { [ "$(dns_get "$LAB_SECONDARY" t1.lab.test A)" = 192.0.2.1 ]; }
wait_for 10 sec_has_t1 || fail "secondary did not get t1 within 10 s (NOTIFY/IXFR)"
assert_eq 192.0.2.1 "$(dns_get "$LAB_RESOLVER" t1.lab.test A)" "t1 via unbound"

for k in "$LAB_OTHER_KEY" "$LAB_WRONG_SECRET_KEY" "$LAB_UNKNOWN_KEY"; do
	if dns_update "$LAB_PRIMARY4" "$k" lab.test <<<"update add t2.lab.test. 30 A 192.0.2.2" 2>/dev/null; then
		fail "update signed with $(basename "$k") was accepted"
	fi
done
assert_eq "" "$(dns_get "$LAB_PRIMARY4" t2.lab.test A)" "t2 after rejected updates"
dns_update "$LAB_PRIMARY4" "$LAB_SHA512_KEY" lab.test <<<"update add t3.lab.test. 30 A 192.0.2.3" ||
	fail "nsupdate with sha512-key failed"
assert_eq 192.0.2.3 "$(dns_get "$LAB_PRIMARY4" t3.lab.test A)" "t3 on primary"

printf 'server %s %s\nzone knot.test.\nupdate add k1.knot.test. 30 A 192.0.2.4\nsend\n' \
	"$LAB_KNOT" "$LAB_DNS_PORT" | knsupdate -t 3 -k "$LAB_KNOT_KEY_KNOTFMT" ||
	fail "knsupdate on Knot failed"
assert_eq 192.0.2.4 "$(dns_get "$LAB_KNOT" k1.knot.test A)" "k1 on Knot"
assert_eq 192.0.2.4 "$(dns_get "$LAB_RESOLVER" k1.knot.test A)" "k1 via unbound"
# nsupdate with the BIND-format key file works against Knot too.
dns_update "$LAB_KNOT" "$LAB_KNOT_KEY" knot.test <<<"update add k2.knot.test. 30 A 192.0.2.5" ||
	fail "nsupdate on Knot failed"
assert_eq 192.0.2.5 "$(dns_get "$LAB_KNOT" k2.knot.test A)" "k2 on Knot"

# unbound-control works (tests flush the cache with it).
# shellcheck disable=SC2086 # command prefix
$LAB_UNBOUND_CONTROL flush_zone lab.test >/dev/null || fail "unbound-control flush_zone failed"

# ---------------------------------------------------------------------------
note "IMAP on host1, host2 and the TLS-less host"
"$PYTHON" - "$LAB_CA" "$LAB_OTHER_CA" "$LAB_HOST1" "$LAB_HOST2" "$LAB_IMAP_PORT" "$LAB_IMAPS_PORT" \
	"$LAB_NOTLS_HOST" "$LAB_NOTLS_PORT" <<'EOF' || fail "IMAP checks failed"
import imaplib, socket, ssl, sys
ca, other_ca, h1, h2, pimap, pimaps, nh, np_ = sys.argv[1:9]
pimap, pimaps, np_ = int(pimap), int(pimaps), int(np_)
ctx = ssl.create_default_context(cafile=ca)

class IMAPS(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout):
        s = socket.create_connection((self.host, self.port), timeout or 10)
        return self.ssl_context.wrap_socket(s, server_hostname="imap.lab.test")

def check(m, host, user, sep, sent):
    m.login(user, "pass-" + user)
    typ, caps = m.capability()
    caps = caps[0].decode().upper().split()
    for c in ("IMAP4REV1", "LITERAL+", "UIDPLUS", "CONDSTORE", "QRESYNC", "SPECIAL-USE"):
        assert c in caps, (host, c, caps)
    typ, lst = m.list()
    lines = [l.decode() for l in lst]
    assert any('"%s"' % sep in l for l in lines), (host, lines)
    assert any("\\Sent" in l and sent in l for l in lines), (host, lines)
    m.logout()

for host, sep, sent in ((h1, ".", '"INBOX.Sent Items"'), (h2, "/", "Sent")):
    check(IMAPS(host, pimaps, ssl_context=ctx, timeout=10), host, "user01", sep, sent)
    m = imaplib.IMAP4(host, pimap, timeout=10)
    assert "STARTTLS" in m.capabilities, (host, m.capabilities)
    # imaplib's starttls() checks the name we connected to (an IP):
    # upgrade by hand to verify the certificate for imap.lab.test.
    typ, dat = m._simple_command("STARTTLS")
    assert typ == "OK", (host, dat)
    m.sock = ctx.wrap_socket(m.sock, server_hostname="imap.lab.test")
    m.file = m.sock.makefile("rb")
    m._get_capabilities()
    check(m, host, "user02", sep, sent)
    # A client trusting only the other CA must reject the certificate.
    try:
        IMAPS(host, pimaps, ssl_context=ssl.create_default_context(cafile=other_ca), timeout=10)
        sys.exit("certificate of %s accepted with the wrong CA" % host)
    except ssl.SSLCertVerificationError:
        pass
    # And a wrong name must be rejected too.
    try:
        s = socket.create_connection((host, pimaps), 10)
        ctx.wrap_socket(s, server_hostname="imap.example.org")
        sys.exit("certificate of %s accepted for imap.example.org" % host)
    except ssl.SSLCertVerificationError:
        pass

m = imaplib.IMAP4(nh, np_, timeout=10)
assert "STARTTLS" not in m.capabilities, m.capabilities
m.login("user03", "pass-user03")
m.logout()
EOF

imap_append "$LAB_HOST2" user04 INBOX "lab test message" '\Seen' || fail "APPEND on host2 failed"
assert_eq 1 "$(doveadm_count "$LAB_DOVEADM2" user04 INBOX)" "messages in host2 user04 INBOX (doveadm)"
assert_eq 0 "$(doveadm_count "$LAB_DOVEADM1" user04 INBOX)" "messages in host1 user04 INBOX (doveadm)"
# shellcheck disable=SC2086
users=$($LAB_DOVEADM1 user '*' | wc -l)
assert_eq 5 "$users" "accounts on host1"

# ---------------------------------------------------------------------------
note "secondary pause / hold / release"
# shellcheck disable=SC2317 # called through wait_for
sec_catches_up() { [ "$(dns_serial "$LAB_SECONDARY")" = "$(dns_serial "$LAB_PRIMARY4")" ]; }
wait_for 10 sec_catches_up || fail "secondary not in sync before the pause test"

bash "$LAB_SH" secondary-pause "$lab_dir"
if dig +norec +time=1 +tries=1 -p "$LAB_DNS_PORT" "@$LAB_SECONDARY" lab.test SOA >/dev/null; then
	fail "paused secondary answered"
fi
dns_update "$LAB_PRIMARY4" "$LAB_TSIG_KEY" lab.test <<<"update add p1.lab.test. 30 A 192.0.2.6"
bash "$LAB_SH" secondary-release "$lab_dir"
wait_for 10 sec_catches_up || fail "secondary did not catch up within 10 s after pause+release"
assert_eq 192.0.2.6 "$(dns_get "$LAB_SECONDARY" p1.lab.test A)" "p1 on the secondary"

bash "$LAB_SH" secondary-hold "$lab_dir"
held=$(dns_serial "$LAB_SECONDARY")
dns_update "$LAB_PRIMARY4" "$LAB_TSIG_KEY" lab.test <<<"update add h1.lab.test. 30 A 192.0.2.7"
assert_ne "$held" "$(dns_serial "$LAB_PRIMARY4")" "primary serial after update"
sleep 2
assert_eq "$held" "$(dns_serial "$LAB_SECONDARY")" "held secondary serial"
assert_eq "" "$(dns_get "$LAB_SECONDARY" h1.lab.test A)" "h1 on the held secondary"
bash "$LAB_SH" secondary-release "$lab_dir"
wait_for 10 sec_catches_up || fail "secondary did not catch up within 10 s after hold+release"
assert_eq 192.0.2.7 "$(dns_get "$LAB_SECONDARY" h1.lab.test A)" "h1 on the released secondary"

# ---------------------------------------------------------------------------
note "primary stop/start keeps dynamic updates; host2 restart"
bash "$LAB_SH" primary-stop "$lab_dir"
if dig +norec +time=1 +tries=1 -p "$LAB_DNS_PORT" "@$LAB_PRIMARY4" lab.test SOA >/dev/null; then
	fail "stopped primary answered"
fi
bash "$LAB_SH" primary-start "$lab_dir"
assert_eq 192.0.2.7 "$(dns_get "$LAB_PRIMARY4" h1.lab.test A)" "h1 after primary restart"

old_pid=$LAB_PID_HOST2
bash "$LAB_SH" restart-host2 "$lab_dir"
lab_source "$lab_dir"
assert_ne "$old_pid" "$LAB_PID_HOST2" "host2 pid after restart"
pid_alive "$old_pid" && fail "old host2 master $old_pid still alive"
assert_eq 1 "$(doveadm_count "$LAB_DOVEADM2" user04 INBOX)" "host2 mail after restart"
imap_append "$LAB_HOST2" user04 INBOX "after restart" || fail "APPEND after host2 restart failed"

# ---------------------------------------------------------------------------
note "stop leaves nothing running"
pids=$(descendants "$LAB_PID_BIND1" "$LAB_PID_BIND2" "$LAB_PID_KNOT" "$LAB_PID_UNBOUND" \
	"$LAB_PID_HOST1" "$LAB_PID_HOST2" "$LAB_PID_NOTLS")
[ "$(echo "$pids" | wc -l)" -gt 7 ] || fail "expected Dovecot child processes, got: $pids"
added=$(cat "$lab_dir/added-addresses")
bash "$LAB_SH" stop "$lab_dir" || fail "lab.sh stop failed"
for p in $pids; do
	pid_alive "$p" && fail "process $p ($(tr '\0' ' ' <"/proc/$p/cmdline")) survived lab.sh stop"
done
lo=$(ip -o -4 addr show dev lo)
for a in $added; do
	# Another lab started on the same LAB_NET meanwhile keeps its claim.
	[ -d "${LAB_REGISTRY:-/run/cutover-lab}/addr/$a" ] && continue
	assert_not_contains "$lo" " inet $a/" "lo addresses after stop"
done
[ ! -e "$lab_dir/lab.env" ] || fail "lab.env still present after stop"

note "a second start/stop cycle in the same directory"
bash "$LAB_SH" start "$lab_dir" || fail "second lab.sh start failed"
lab_source "$lab_dir"
assert_eq "10 mx1.old.lab.test.
20 mx2.old.lab.test." "$(dns_get "$LAB_SECONDARY" lab.test MX)" "MX on secondary (second run)"
assert_eq "" "$(dns_get "$LAB_PRIMARY4" t1.lab.test A)" "fresh zone on second start"
pids=$(descendants "$LAB_PID_BIND1" "$LAB_PID_BIND2" "$LAB_PID_KNOT" "$LAB_PID_UNBOUND" \
	"$LAB_PID_HOST1" "$LAB_PID_HOST2" "$LAB_PID_NOTLS")
bash "$LAB_SH" stop "$lab_dir" || fail "second lab.sh stop failed"
for p in $pids; do
	pid_alive "$p" && fail "process $p survived the second stop"
done
exit 0
