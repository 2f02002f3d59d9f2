#!/usr/bin/env bash
# demo.sh - a whole cutover, start to finish, against a local lab of real
# servers (BIND 9 primary + secondary, unbound, two Dovecots on loopback),
# with TTLs of seconds instead of hours so it fits in about two minutes.
#
# Usage: scripts/demo.sh [--scenario classical|lucky] [--keep]
#   --scenario classical  users get a new IMAP host name; only the MX moves
#                         (default)
#   --scenario lucky      users keep imap.lab.test: syncs go to the servers'
#                         addresses, the name is parked during the cut and
#                         moves to host2 after the postsync
#   --keep                leave the lab running and print how to use and
#                         stop it
# Environment: BUILD_DIR (default build-demo), SKIP_DEPS=1, SKIP_BUILD=1,
# CUTOVER (a cutover binary to use instead of building), LAB_NET (the
# lab's loopback /24; default 127.$CUTOVER_TEST_NET.0, or 127.0.0 when
# CUTOVER_TEST_NET is unset, as in scripts/lab.sh).
#
# What it shows: install the dependencies, build, start the lab, fill three
# host1 mailboxes, then the migration plan: check, ttl lower, ttl wait,
# two presyncs, estimate, the timeline (--dry-run), the run itself at a
# migration hour a few seconds ahead while new mail keeps arriving on host1
# during the TTL window, status, and an independent check that every
# message ended on host2 exactly once.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-demo}
SCENARIO=classical
KEEP=0

while [ $# -gt 0 ]; do
	case $1 in
	--scenario)
		[ $# -ge 2 ] || {
			echo "demo.sh: --scenario needs classical or lucky" >&2
			exit 2
		}
		SCENARIO=$2
		shift 2
		;;
	--scenario=*)
		SCENARIO=${1#--scenario=}
		shift
		;;
	--keep)
		KEEP=1
		shift
		;;
	-h | --help)
		sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "demo.sh: unknown argument $1 (see --help)" >&2
		exit 2
		;;
	esac
done
case $SCENARIO in
classical | lucky) ;;
*)
	echo "demo.sh: unknown scenario '$SCENARIO' (classical or lucky)" >&2
	exit 2
	;;
esac

T0=$(date +%s)
step() {
	printf '\n\033[1m== [%3ss] %s\033[0m\n' "$(($(date +%s) - T0))" "$*"
}
say() {
	printf '   %s\n' "$*"
}
die() {
	printf '\033[31mdemo.sh: %s\033[0m\n' "$*" >&2
	exit 1
}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# ---------------------------------------------------------------------------
if [ "${SKIP_DEPS:-0}" != 1 ]; then
	step "dependencies (scripts/install-deps.sh)"
	bash "$ROOT/scripts/install-deps.sh"
fi

if [ -n "${CUTOVER:-}" ]; then
	[ -x "$CUTOVER" ] || die "CUTOVER=$CUTOVER is not executable"
elif [ "${SKIP_BUILD:-0}" != 1 ]; then
	step "build cutover ($BUILD_DIR, release, no tests)"
	cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCUTOVER_TESTS=OFF \
		-DCUTOVER_SANITIZE=OFF >/dev/null || die "cmake configure failed"
	cmake --build "$BUILD_DIR" -j "$(nproc 2>/dev/null || echo 2)" --target cutover >/dev/null ||
		die "build failed (run: cmake --build $BUILD_DIR)"
	CUTOVER=$BUILD_DIR/bin/cutover
else
	CUTOVER=$BUILD_DIR/bin/cutover
fi
[ -x "$CUTOVER" ] || die "no cutover binary at $CUTOVER"

LAB=$(mktemp -d /tmp/cutover-demo.XXXXXX)
chmod 755 "$LAB" # the lab's daemons run as other users
BG=()
cleanup() {
	local p
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ "$KEEP" = 1 ]; then
		echo
		echo "The lab is still running in $LAB (plan: $LAB/demo.plan):"
		echo "  eval \"\$(scripts/lab.sh env $LAB)\"    # LAB_* variables"
		echo "  $CUTOVER status $LAB/demo.plan"
		echo "  scripts/lab.sh stop $LAB && rm -rf $LAB"
		return
	fi
	bash "$ROOT/scripts/lab.sh" stop "$LAB" >/dev/null 2>&1 || true
	rm -rf "$LAB"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
step "start the lab in $LAB"
LAB_ACCOUNTS=3 bash "$ROOT/scripts/lab.sh" start "$LAB"
eval "$(bash "$ROOT/scripts/lab.sh" env "$LAB")"
USERS=(user01 user02 user03)
cutover() {
	printf '\033[36m$ cutover %s\033[0m\n' "$*"
	"$CUTOVER" "$@"
}
h1args() { echo --host "$LAB_HOST1" --port "$LAB_IMAPS_PORT" --user "$1" --password "pass-$1" --ca "$LAB_CA"; }
dig_short() { dig +norec +short -p "$LAB_DNS_PORT" "@${3:-$LAB_PRIMARY4}" "$1" "$2" | sort | paste -sd, - | sed 's/,/, /g'; }
nsupd() { # nsupdate commands on stdin, signed with the lab's TSIG key
	{
		echo "server $LAB_PRIMARY4 $LAB_DNS_PORT"
		echo "zone lab.test"
		cat
		echo "send"
	} | nsupdate -t 3 -k "$LAB_TSIG_KEY"
}
# shellcheck disable=SC2086 # LAB_DOVEADMn are command prefixes
subject_count() { # 1|2 USER SUBJECT: INBOX messages with SUBJECT
	if [ "$1" = 1 ]; then
		$LAB_DOVEADM1 search -u "$2" mailbox INBOX subject "$3" | wc -l
	else
		$LAB_DOVEADM2 search -u "$2" mailbox INBOX subject "$3" | wc -l
	fi
}
deliver() { # USER SUBJECT: "deliver" one message to host1's INBOX (APPEND)
	"$PY" - "$LAB_HOST1" "$LAB_IMAPS_PORT" "$LAB_CA" "$1" "$2" <<'EOF'
import imaplib, socket, ssl, sys, time
host, port, ca, user, subject = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
class C(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout):
        s = socket.create_connection((self.host, self.port), timeout or 10)
        return self.ssl_context.wrap_socket(s, server_hostname="imap.lab.test")
m = C(host, port, ssl_context=ssl.create_default_context(cafile=ca), timeout=10)
m.login(user, "pass-" + user)
msg = ("From: someone@example.org\r\nTo: %s@lab.test\r\nSubject: %s\r\n"
       "Message-ID: <%d.%s@example.org>\r\n\r\nsent during the cutover\r\n"
       % (user, subject, time.time_ns(), user)).encode()
typ, data = m.append("INBOX", None, None, msg)
assert typ == "OK", data
m.logout()
EOF
}

step "fill host1 ($LAB_HOST1): three mailboxes with folders, flags, dates (gen_corpus.py)"
for i in 1 2 3; do
	u=${USERS[i - 1]}
	# shellcheck disable=SC2046
	"$PY" "$ROOT/scripts/gen_corpus.py" fill $(h1args "$u") --seed "$i" --count 12 --big 0 --dups 1 >/dev/null
	say "$u: $("$PY" "$ROOT/scripts/mailbox_compare.py" snapshot $(h1args "$u") |
		"$PY" -c 'import json,sys; d=json.load(sys.stdin); print("%d folders, %d messages" % (len(d), sum(len(v.get("messages", [])) for v in d.values())))')"
done

step "the plan ($SCENARIO scenario) and the accounts CSV"
CSV=$LAB/accounts.csv
: >"$CSV"
chmod 600 "$CSV" # it holds passwords: cutover refuses it otherwise
for u in "${USERS[@]}"; do
	echo "$LAB_HOST1:$LAB_IMAPS_PORT;$u;pass-$u;$LAB_HOST2:$LAB_IMAPS_PORT;$u;pass-$u;" >>"$CSV"
done
IMAP_SECTION=""
if [ "$SCENARIO" = lucky ]; then
	IMAP_SECTION="
[imap]
name = imap.lab.test.
old = $LAB_HOST1, ::ffff:$LAB_HOST1
new = $LAB_HOST2, ::ffff:$LAB_HOST2
parking = $LAB_NOTLS_HOST"
fi
cat >"$LAB/demo.plan" <<EOF
# A cutover of lab.test. with TTLs of seconds (a real one uses
# low_ttl = 300 and a margin of a minute or more).
[migration]
scenario = $SCENARIO
margin = 2s
state = $LAB/state

[dns]
zone = lab.test
port = $LAB_DNS_PORT
server = $LAB_PRIMARY4
tsig_key = $LAB_TSIG_KEY
low_ttl = 3
resolvers = $LAB_RESOLVER

[mx]
old = 10 mx1.old.lab.test., 20 mx2.old.lab.test.
new = 10 mx1.new.lab.test.
$IMAP_SECTION

[sync]
accounts = $CSV
jobs = 3
ca_file = $LAB_CA
EOF
sed 's/^/   | /' "$LAB/demo.plan"
PLAN=$LAB/demo.plan

step "the zone today: the lab serves the MX with TTL 86400; play a shorter 'original' TTL (8 s)"
say "(so that the demo does not wait a day for caches to forget the old TTL)"
nsupd <<EOF
update delete lab.test MX
update add lab.test 8 MX 10 mx1.old.lab.test.
update add lab.test 8 MX 20 mx2.old.lab.test.
EOF
if [ "$SCENARIO" = lucky ]; then
	nsupd <<EOF
update delete imap.lab.test A
update delete imap.lab.test AAAA
update add imap.lab.test 8 A $LAB_HOST1
update add imap.lab.test 8 AAAA ::ffff:$LAB_HOST1
EOF
	say "imap.lab.test A/AAAA: $(dig_short imap.lab.test A), $(dig_short imap.lab.test AAAA) (TTL 8)"
fi
say "lab.test MX: $(dig_short lab.test MX) (TTL 8)"
# The lab pretends these records have been served for days: the secondary
# has them and the resolver holds nothing of the lab's start-up records
# (TTL 3600), or ttl wait would rightly wait an hour for them.
serial() { dig +norec +short -p "$LAB_DNS_PORT" "@$1" lab.test SOA | awk '{print $3}'; }
for _ in $(seq 100); do
	[ "$(serial "$LAB_SECONDARY")" = "$(serial "$LAB_PRIMARY4")" ] && break
	sleep 0.2
done
# shellcheck disable=SC2086 # LAB_UNBOUND_CONTROL is a command prefix
$LAB_UNBOUND_CONTROL flush_zone lab.test >/dev/null

step "0. check the plan: syntax, secret file modes, DNS primary and key, every login"
cutover check "$PLAN"

step "1. days before: lower the TTLs, then wait until no cache holds the old TTL"
cutover ttl lower "$PLAN"
cutover ttl wait "$PLAN" --timeout 60

step "2. presync (daily until the migration hour), then the estimate of the last sync"
cutover presync "$PLAN"
say "(new mail keeps arriving between presyncs)"
deliver user01 "demo: arrived between presyncs"
cutover presync "$PLAN"
cutover estimate "$PLAN"

AT=$(date -u -d "@$(($(date +%s) + 6))" +%Y-%m-%dT%H:%M:%SZ)
step "3. the migration hour ($AT): first the timeline, then the run"
cutover --dry-run run --at "$AT" "$PLAN"

# New mail keeps arriving on host1 during the cutover: one message before
# the migration hour, then one per second from the MX change until shortly
# before the postsync (mail arriving later is the next postsync's job,
# docs/orchestration.md).
deliver user02 "demo: arrived before the cut"
DELIVERED=$LAB/delivered.txt
: >"$DELIVERED"
(
	set +e
	n=0
	until [ "$(dig_short lab.test MX)" = "10 mx1.new.lab.test." ]; do sleep 0.2; done
	while :; do
		dl=$(sqlite3 "$LAB/state/cutover.db" \
			"SELECT json_extract(value, '\$.deadline') FROM facts WHERE key='mx_visible'" 2>/dev/null)
		if [ -n "$dl" ] && awk -v d="$dl" -v n="$(date +%s.%N)" 'BEGIN{exit !(n > d - 1.5)}'; then
			break
		fi
		n=$((n + 1))
		u=${USERS[n % 3]}
		s=$(printf 'demo: arrived in the TTL window #%02d' "$n")
		deliver "$u" "$s" && echo "$u $s" >>"$DELIVERED" &&
			printf '\033[33m   >> delivered to host1: %s (%s)\033[0m\n' "$s" "$u"
		sleep 1
	done
) &
BG+=($!)
cutover run --at "$AT" "$PLAN"
wait "${BG[@]}" 2>/dev/null || true
BG=()

step "status"
cutover status "$PLAN"

step "DNS now"
say "MX on the primary:   $(dig_short lab.test MX)"
say "MX on the secondary: $(dig_short lab.test MX "$LAB_SECONDARY")"
if [ "$SCENARIO" = lucky ]; then
	say "imap.lab.test A:     $(dig_short imap.lab.test A) (host2 is $LAB_HOST2)"
	say "imap.lab.test AAAA:  $(dig_short imap.lab.test AAAA)"
fi

step "independent check (mailbox_compare.py over IMAP, doveadm): nothing lost, nothing twice"
bad=0
for u in "${USERS[@]}"; do
	if out=$("$PY" "$ROOT/scripts/mailbox_compare.py" compare \
		--host1 "$LAB_HOST1" --port1 "$LAB_IMAPS_PORT" --user1 "$u" --password1 "pass-$u" \
		--host2 "$LAB_HOST2" --port2 "$LAB_IMAPS_PORT" --user2 "$u" --password2 "pass-$u" \
		--ca "$LAB_CA" --allow-extra); then
		say "$u: every host1 message is on host2: $(tail -1 <<<"$out")"
	else
		echo "$out"
		bad=1
	fi
done
check_moved() { # USER SUBJECT
	local on2 on1
	on2=$(subject_count 2 "$1" "$2")
	on1=$(subject_count 1 "$1" "$2")
	if [ "$on2" = 1 ] && [ "$on1" = 0 ]; then
		say "ok   '$2' ($1): on host2 once, gone from host1's INBOX"
	else
		say "FAIL '$2' ($1): $on2 on host2, $on1 on host1"
		bad=1
	fi
}
check_moved user01 "demo: arrived between presyncs"
check_moved user02 "demo: arrived before the cut"
[ -s "$DELIVERED" ] || {
	say "FAIL: no mail was delivered during the TTL window"
	bad=1
}
while read -r u s; do check_moved "$u" "$s"; done <"$DELIVERED"
[ "$bad" = 0 ] || die "the check found differences (see above)"

MOVED="changed the MX"
[ "$SCENARIO" = lucky ] && MOVED="changed the MX and moved imap.lab.test to host2"
step "done in $(($(date +%s) - T0))s"
cat <<EOF
   The $SCENARIO cutover moved every mailbox and every message that arrived
   during the cutover, $MOVED, and waited exactly as long as caches could
   hold the old records.
   Next, in real life: \`cutover postsync PLAN\` daily for a week (SMTP
   senders retry), then \`cutover ttl restore PLAN\`. See docs/guide.md and
   docs/orchestration.md.
EOF
