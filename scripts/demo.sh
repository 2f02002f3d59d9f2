#!/usr/bin/env bash
# demo.sh - show the lab working: install dependencies, build cutover,
# start the lab in a temporary directory, query the MX through the BIND
# primary, the secondary and unbound, log in to both Dovecots over TLS
# verified against the lab CA, run "cutover --version", stop the lab.
#
# Usage: scripts/demo.sh [--scenario classical|lucky] [--keep]
#   --scenario  accepted for the future orchestrated demo; the lab part
#               below is the same for both scenarios for now.
#   --keep      leave the lab running and print how to use and stop it.
# Environment: BUILD_DIR (default build-demo), SKIP_DEPS=1, SKIP_BUILD=1.
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
		sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "demo.sh: unknown argument $1" >&2
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

step() {
	printf '\n\033[1m== %s\033[0m\n' "$*"
}

if [ "${SKIP_DEPS:-0}" != 1 ]; then
	step "dependencies"
	bash "$ROOT/scripts/install-deps.sh"
fi

CUTOVER=""
if [ "${SKIP_BUILD:-0}" != 1 ]; then
	step "build ($BUILD_DIR)"
	if cmake -S "$ROOT" -B "$BUILD_DIR" -DCUTOVER_TESTS=OFF >/dev/null &&
		cmake --build "$BUILD_DIR" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null; then
		[ -x "$BUILD_DIR/bin/cutover" ] && CUTOVER=$BUILD_DIR/bin/cutover
	else
		echo "demo.sh: build failed; showing the lab without cutover" >&2
	fi
fi

LAB=$(mktemp -d /tmp/cutover-demo.XXXXXX)
chmod 755 "$LAB"
cleanup() {
	if [ "$KEEP" = 1 ]; then
		echo
		echo "The lab is still running in $LAB:"
		echo "  eval \"\$(scripts/lab.sh env $LAB)\"    # LAB_* variables"
		echo "  scripts/lab.sh stop $LAB && rm -rf $LAB"
		return
	fi
	bash "$ROOT/scripts/lab.sh" stop "$LAB" >/dev/null 2>&1 || true
	rm -rf "$LAB"
}
trap cleanup EXIT

step "scenario: $SCENARIO (the orchestrated cutover is not wired into the demo yet)"

step "start the lab in $LAB"
bash "$ROOT/scripts/lab.sh" start "$LAB"
eval "$(bash "$ROOT/scripts/lab.sh" env "$LAB")"

step "MX of lab.test. (TTL 86400) from every server"
for srv in "primary $LAB_PRIMARY4 +norec" "primary $LAB_PRIMARY6 +norec" \
	"secondary $LAB_SECONDARY +norec" "unbound $LAB_RESOLVER +rec"; do
	read -r name addr rec <<<"$srv"
	printf '%-10s %-12s ' "$name" "$addr"
	dig "$rec" +noall +answer -p "$LAB_DNS_PORT" "@$addr" lab.test MX |
		awk '{print $2 " " $5 " " $6}' | sort -k2n | paste -sd ',' | sed 's/,/, /g'
done
printf '%-10s %-12s ' knot "$LAB_KNOT"
dig +norec +noall +answer -p "$LAB_DNS_PORT" "@$LAB_KNOT" knot.test MX | awk '{print $2 " " $5 " " $6}'

step "RFC 2136 update with TSIG key cutover-key, seen on the secondary"
printf 'server %s %s\nzone lab.test\nupdate add demo.lab.test. 60 TXT "hello from the demo"\nsend\n' \
	"$LAB_PRIMARY4" "$LAB_DNS_PORT" | nsupdate -k "$LAB_TSIG_KEY"
for _ in $(seq 1 20); do
	out=$(dig +norec +short -p "$LAB_DNS_PORT" "@$LAB_SECONDARY" demo.lab.test TXT)
	[ -n "$out" ] && break
	sleep 0.1
done
echo "secondary: demo.lab.test TXT ${out:-<missing>}"

step "IMAP logins (IMAPS, certificate checked for imap.lab.test against the lab CA)"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
"$PY" - "$LAB_CA" "$LAB_IMAPS_PORT" "$LAB_HOST1" "$LAB_HOST2" <<'EOF'
import imaplib, socket, ssl, sys
ca, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(cafile=ca)
class IMAPS(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout):
        s = socket.create_connection((self.host, self.port), timeout or 10)
        return self.ssl_context.wrap_socket(s, server_hostname="imap.lab.test")
for name, host in (("host1", sys.argv[3]), ("host2", sys.argv[4])):
    m = IMAPS(host, port, ssl_context=ctx, timeout=10)
    m.login("user01", "pass-user01")
    folders = [l.decode() for l in m.list()[1]]
    print("%s (%s): logged in as user01 over %s; folders:" % (name, host, m.sock.version()))
    for f in folders:
        print("    " + f)
    m.logout()
EOF

step "cutover"
if [ -n "$CUTOVER" ]; then
	"$CUTOVER" --version
else
	echo "(cutover binary not built)"
fi

step "stop the lab"
if [ "$KEEP" != 1 ]; then
	bash "$ROOT/scripts/lab.sh" stop "$LAB"
	echo "lab stopped; nothing left running"
fi
