#!/usr/bin/env bash
# lab.sh - a local lab of real DNS and IMAP servers on loopback for cutover.
#
# Owns: the BIND primary/secondary for lab.test., the Knot primary for
# knot.test., the unbound resolver with stub zones for both, and three
# Dovecot instances (host1, host2, a TLS-less "notls" host). Everything
# lives under one directory; nothing in /etc is read or written, except
# that a system user "vmail" is created once if missing (Dovecot refuses
# to store mail as root). See docs/lab.md for the layout and pitfalls.
#
# Usage: lab.sh SUBCOMMAND DIR
#   start | stop | restart | env | status
#   secondary-pause | secondary-hold | secondary-release
#   primary-stop | primary-start
#   stop-host2 | start-host2 | restart-host2
# DIR is deliberately rebound in subshells that inspect another lab.
# shellcheck disable=SC2030,SC2031
set -euo pipefail

PROG=lab.sh

die() {
	echo "$PROG: $*" >&2
	exit 1
}

# LAB_TRACE=1 prints how long each start phase took.
trace() {
	[ "${LAB_TRACE:-0}" = 1 ] || return 0
	echo "$PROG: +$((($(date +%s%N) - t0) / 1000000)) ms $*" >&2
}

usage() {
	cat >&2 <<'EOF'
usage: lab.sh SUBCOMMAND DIR
  start | stop | restart | env | status
  secondary-pause | secondary-hold | secondary-release
  primary-stop | primary-start
  stop-host2 | start-host2 | restart-host2
EOF
	exit 2
}

# ---------------------------------------------------------------------------
# Small helpers

# Prefer the system interpreter: a version-manager shim on PATH can cost
# a second per call, and the lab calls python in polling loops.
if [ -x /usr/bin/python3 ]; then
	PYTHON=${LAB_PYTHON:-/usr/bin/python3}
else
	PYTHON=${LAB_PYTHON:-python3}
fi

have_python() {
	command -v "$PYTHON" >/dev/null 2>&1 || die "python3 is required (scripts/install-deps.sh)"
}

# pid_alive PID: true if PID is a live, non-zombie process.
pid_alive() {
	local pid=$1 state
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
	state=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ "$state" != Z ]
}

# pid_is_ours PID CONF: PID is alive and was started with config file CONF.
pid_is_ours() {
	local pid=$1 conf=$2
	pid_alive "$pid" || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -xF -- "$conf" >/dev/null
}

read_pidfile() {
	local f=$1 pid=""
	if [ -r "$f" ]; then
		read -r pid <"$f" 2>/dev/null || true
	fi
	case $pid in
	'' | *[!0-9]*) return 1 ;;
	esac
	echo "$pid"
}

# Free ports: random candidates outside the kernel's ephemeral range so an
# outgoing connection cannot grab them between probing and binding. A port
# counts as free only if TCP and UDP, IPv4 and IPv6 wildcard binds succeed,
# which also means no specific loopback address uses it.
free_ports() {
	have_python
	"$PYTHON" - "$@" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
avoid = set(int(x) for x in sys.argv[2:])
held, ports = [], []
tries = 0
while len(ports) < n:
    tries += 1
    if tries > 5000:
        sys.exit("no free ports found")
    p = random.randrange(20000, 32000)
    if p in ports or p in avoid:
        continue
    socks = []
    try:
        for fam, typ, addr in ((socket.AF_INET, socket.SOCK_STREAM, "0.0.0.0"),
                               (socket.AF_INET, socket.SOCK_DGRAM, "0.0.0.0"),
                               (socket.AF_INET6, socket.SOCK_STREAM, "::"),
                               (socket.AF_INET6, socket.SOCK_DGRAM, "::")):
            s = socket.socket(fam, typ)
            socks.append(s)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, p))
    except OSError:
        for s in socks:
            s.close()
        continue
    held += socks
    ports.append(p)
print(" ".join(map(str, ports)))
EOF
}

# ---------------------------------------------------------------------------
# State: DIR/state.sh holds internal settings (ports, addresses, run dir),
# DIR/lab.env the public assignments printed by "env".

load_state() {
	DIR=$1
	[ -d "$DIR" ] || die "$DIR: no such directory"
	DIR=$(cd "$DIR" && pwd)
	[ -r "$DIR/state.sh" ] || die "$DIR: no lab here (state.sh missing): run lab.sh start $DIR"
	# shellcheck source=/dev/null
	. "$DIR/state.sh"
}

set_layout() {
	NET=${LAB_NET:-127.${CUTOVER_TEST_NET:-0}.0}
	[[ $NET =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "LAB_NET=$NET: expected 127.X.Y"
	A_PRIMARY=$NET.1
	A_SECONDARY=$NET.2
	A_KNOT=$NET.3
	A_RESOLVER=$NET.4
	A_HOST1=$NET.11
	A_HOST2=$NET.12
	A_NOTLS=$NET.13
	ACCOUNTS=${LAB_ACCOUNTS:-25}
	if ! [[ $ACCOUNTS =~ ^[0-9]+$ ]] || [ "$ACCOUNTS" -lt 1 ] || [ "$ACCOUNTS" -gt 999 ]; then
		die "LAB_ACCOUNTS=$ACCOUNTS: expected 1..999"
	fi
}

write_state() {
	{
		printf '%s=%q\n' NET "$NET" A_PRIMARY "$A_PRIMARY" A_SECONDARY "$A_SECONDARY" \
			A_KNOT "$A_KNOT" A_RESOLVER "$A_RESOLVER" A_HOST1 "$A_HOST1" \
			A_HOST2 "$A_HOST2" A_NOTLS "$A_NOTLS" ACCOUNTS "$ACCOUNTS" \
			RUN "$RUN" RUN_IS_TMP "$RUN_IS_TMP" \
			P_DNS "$P_DNS" P_RNDC1 "$P_RNDC1" P_RNDC2 "$P_RNDC2" P_UBCTL "$P_UBCTL" \
			P_DEAD "$P_DEAD" P_IMAP "$P_IMAP" P_IMAPS "$P_IMAPS"
	} >"$DIR/state.sh"
}

# Config path and pid file of each daemon, by name.
conf_of() {
	case $1 in
	bind1) echo "$DIR/bind1/named.conf" ;;
	bind2) echo "$DIR/bind2/named.conf" ;;
	knot) echo "$DIR/knot/knot.conf" ;;
	unbound) echo "$DIR/unbound/unbound.conf" ;;
	host1 | host2 | notls) echo "$DIR/$1/dovecot.conf" ;;
	esac
}

pidfile_of() {
	case $1 in
	bind1 | bind2) echo "$RUN/$1/named.pid" ;;
	knot) echo "$RUN/knot/knot.pid" ;;
	unbound) echo "$RUN/unbound/unbound.pid" ;;
	host1 | host2 | notls) echo "$RUN/$1/master.pid" ;;
	esac
}

DAEMONS="bind1 bind2 knot unbound host1 host2 notls"

# daemon_pid NAME: print the pid if the daemon is running from our config.
daemon_pid() {
	local pid
	pid=$(read_pidfile "$(pidfile_of "$1")") || return 1
	pid_is_ours "$pid" "$(conf_of "$1")" || return 1
	echo "$pid"
}

log_of() {
	case $1 in
	bind1 | bind2) echo "$DIR/$1/named.log" ;;
	knot) echo "$DIR/knot/knot.log" ;;
	unbound) echo "$DIR/unbound/unbound.log" ;;
	host1 | host2 | notls) echo "$DIR/$1/dovecot.log" ;;
	esac
}

# ---------------------------------------------------------------------------
# Loopback addresses

addr_present() {
	local out
	# Not "ip | grep -q": under pipefail an early grep exit fails the pipe.
	out=$(ip -o -4 addr show dev lo)
	[[ $out == *" inet $1/"* ]]
}

# Several labs (a developer's, the ctest fixture) may share addresses. A
# registry outside DIR counts which labs use each address; the address is
# removed when the last lab using it stops, and only if a lab added it.
REG=${LAB_REGISTRY:-/run/cutover-lab}

lab_addresses() {
	echo "$A_PRIMARY" "$A_SECONDARY" "$A_KNOT" "$A_RESOLVER" "$A_HOST1" "$A_HOST2" "$A_NOTLS"
}

claim_key() {
	echo "$DIR" | md5sum | cut -c1-16
}

# lab_dir_alive D: some daemon of the lab in D is running.
lab_dir_alive() {
	(
		DIR=$1
		[ -r "$DIR/state.sh" ] || exit 1
		# shellcheck source=/dev/null
		. "$DIR/state.sh"
		any_alive
	)
}

add_addresses() {
	local a key
	key=$(claim_key)
	mkdir -p "$REG/addr"
	: >>"$DIR/added-addresses"
	exec 9>"$REG/lock"
	flock 9
	for a in $(lab_addresses); do
		mkdir -p "$REG/addr/$a"
		echo "$DIR" >"$REG/addr/$a/claim.$key"
		addr_present "$a" && continue
		if ! ip addr add "$a/32" dev lo; then
			flock -u 9
			die "ip addr add $a/32 dev lo failed (need root / CAP_NET_ADMIN)"
		fi
		: >"$REG/addr/$a/added"
		echo "$a" >>"$DIR/added-addresses"
	done
	flock -u 9
	exec 9>&-
}

remove_addresses() {
	local a key c d
	key=$(claim_key)
	[ -d "$REG/addr" ] || return 0
	exec 9>"$REG/lock"
	flock 9
	for a in $(lab_addresses); do
		[ -d "$REG/addr/$a" ] || continue
		rm -f "$REG/addr/$a/claim.$key"
		for c in "$REG/addr/$a"/claim.*; do
			[ -e "$c" ] || continue
			read -r d <"$c" || d=""
			# A claim from a lab that is no longer running is stale.
			lab_dir_alive "$d" || rm -f "$c"
		done
		if compgen -G "$REG/addr/$a/claim.*" >/dev/null; then
			continue
		fi
		if [ -e "$REG/addr/$a/added" ] && addr_present "$a"; then
			ip addr del "$a/32" dev lo || echo "$PROG: warning: could not remove $a from lo" >&2
		fi
		rm -rf "${REG:?}/addr/$a"
	done
	flock -u 9
	exec 9>&-
	rm -f "$DIR/added-addresses"
}

# reserve_ports: pick this lab's ports, avoiding those recorded by other labs
# that still exist (their daemons may not have bound them yet), and record
# ours; release_ports forgets them.
reserve_ports() {
	local f d taken=() ports p
	mkdir -p "$REG/ports"
	exec 9>"$REG/lock"
	flock 9
	for f in "$REG"/ports/*; do
		[ -e "$f" ] || continue
		{
			read -r d
			read -r ports
		} <"$f" || true
		if [ -r "$d/state.sh" ] && [ "$d" != "$DIR" ]; then
			for p in $ports; do taken+=("$p"); done
		else
			rm -f "$f"
		fi
	done
	if ! ports=$(free_ports 7 "${taken[@]}"); then
		flock -u 9
		die "could not find free ports"
	fi
	printf '%s\n%s\n' "$DIR" "$ports" >"$REG/ports/$(claim_key)"
	flock -u 9
	exec 9>&-
	read -r P_DNS P_RNDC1 P_RNDC2 P_UBCTL P_DEAD P_IMAP P_IMAPS <<<"$ports"
}

release_ports() {
	rm -f "$REG/ports/$(claim_key)"
}

# ---------------------------------------------------------------------------
# Keys and certificates

make_keys() {
	local k
	mkdir -p "$DIR/keys"
	chmod 700 "$DIR/keys"
	tsig-keygen -a hmac-sha256 cutover-key >"$DIR/keys/cutover-key.key"
	tsig-keygen -a hmac-sha256 other-key >"$DIR/keys/other-key.key"
	tsig-keygen -a hmac-sha512 sha512-key >"$DIR/keys/sha512-key.key"
	tsig-keygen -a hmac-sha256 knot-key >"$DIR/keys/knot-key.key"
	tsig-keygen -a hmac-sha256 unknown-key >"$DIR/keys/unknown.key"
	# Right name, wrong secret: a fresh secret under the name cutover-key.
	tsig-keygen -a hmac-sha256 cutover-key >"$DIR/keys/wrong-secret.key"
	tsig-keygen -a hmac-sha256 rndc-key >"$DIR/keys/rndc.key"
	# knsupdate/kdig (Knot 3.2) read only the -y form "alg:name:secret".
	echo "hmac-sha256:knot-key:$(key_secret "$DIR/keys/knot-key.key")" >"$DIR/keys/knot-key.knot"
	for k in "$DIR"/keys/*; do
		chmod 600 "$k"
	done
}

# key_secret FILE: the base64 secret of a BIND-format key file.
key_secret() {
	sed -n 's/^[[:space:]]*secret "\(.*\)";.*$/\1/p' "$1"
}

make_tls() {
	local t=$DIR/tls h ip
	mkdir -p "$t"
	chmod 700 "$t"
	(
		cd "$t"
		openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-keyout ca.key -out ca.pem -days 30 -subj "/CN=cutover lab CA" 2>/dev/null
		openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
			-keyout other-ca.key -out other-ca.pem -days 30 -subj "/CN=cutover unrelated CA" 2>/dev/null
		for h in host1 host2; do
			if [ "$h" = host1 ]; then ip=$A_HOST1; else ip=$A_HOST2; fi
			printf '%s\n' "subjectAltName=DNS:imap.lab.test,DNS:$h.lab.test,IP:$ip" \
				"basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
				"extendedKeyUsage=serverAuth" >"$h.ext"
			openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
				-keyout "$h.key" -out "$h.csr" -subj "/CN=$h.lab.test" 2>/dev/null
			openssl x509 -req -in "$h.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
				-days 30 -extfile "$h.ext" -out "$h.pem" 2>/dev/null
			rm -f "$h.csr" "$h.ext"
		done
		chmod 600 ./*.key
		chmod 644 ./*.pem
	)
	# The CA certificates must be readable by tests running as any user.
	chmod 755 "$t"
}

# ---------------------------------------------------------------------------
# DNS configuration

write_lab_zone() {
	cat >"$1" <<EOF
\$ORIGIN lab.test.
\$TTL 300
@           SOA   ns1.lab.test. hostmaster.lab.test. 1 300 60 1209600 60
            NS    ns1.lab.test.
            NS    ns2.lab.test.
@     86400 MX    10 mx1.old.lab.test.
@     86400 MX    20 mx2.old.lab.test.
@           TXT   "v=spf1 mx -all"
ns1         A     $A_PRIMARY
ns1         AAAA  ::1
ns2         A     $A_SECONDARY
host1       A     $A_HOST1
host2       A     $A_HOST2
mx1.old     A     $A_HOST1
mx2.old     A     $A_HOST1
mx1.new     A     $A_HOST2
mx2.new     A     $A_HOST2
imap   3600 A     $A_HOST1
imap   3600 AAAA  ::ffff:$A_HOST1
mail   3600 CNAME imap.lab.test.
_imap._tcp  SRV   0 1 $P_IMAP imap.lab.test.
_imaps._tcp SRV   0 1 $P_IMAPS imap.lab.test.
EOF
}

write_knot_zone() {
	cat >"$1" <<EOF
\$ORIGIN knot.test.
\$TTL 300
@           SOA   ns.knot.test. hostmaster.knot.test. 1 300 60 1209600 60
            NS    ns.knot.test.
@     86400 MX    10 mx1.old.knot.test.
ns          A     $A_KNOT
mx1.old     A     $A_HOST1
mx1.new     A     $A_HOST2
imap   3600 A     $A_HOST1
imap   3600 AAAA  ::ffff:$A_HOST1
EOF
}

# named_common NAME ADDR4 RNDCPORT: options shared by both BIND instances.
named_common() {
	local name=$1 rndc_port=$3
	cat <<EOF
include "$DIR/keys/cutover-key.key";
include "$DIR/keys/other-key.key";
include "$DIR/keys/sha512-key.key";
include "$DIR/keys/rndc.key";

controls {
	inet $2 port $rndc_port allow { 127.0.0.0/8; } keys { "rndc-key"; };
};

logging {
	channel main {
		file "$DIR/$name/named.log";
		severity info;
		print-time yes;
		print-category yes;
		print-severity yes;
	};
	category default { main; };
	category lame-servers { null; };
};
EOF
}

named_options() {
	local name=$1
	cat <<EOF
	directory "$DIR/$name";
	pid-file "$RUN/$name/named.pid";
	lock-file "$RUN/$name/named.lock";
	session-keyfile "$RUN/$name/session.key";
	managed-keys-directory "$DIR/$name";
	// Without this named reads /etc/bind/bind.keys even with validation off.
	bindkeys-file "$DIR/$name/bind.keys";
	dump-file "$DIR/$name/cache_dump.db";
	statistics-file "$DIR/$name/named.stats";
	recursion no;
	dnssec-validation no;
	automatic-interface-scan no;
	minimal-responses no;
	max-cache-size 8m;
EOF
}

write_bind1_conf() {
	local c=$DIR/bind1/named.conf
	{
		named_common bind1 "$A_PRIMARY" "$P_RNDC1"
		cat <<EOF

options {
$(named_options bind1)
	listen-on port $P_DNS { $A_PRIMARY; };
	listen-on-v6 port $P_DNS { ::1; };
	notify-source $A_PRIMARY;
	allow-transfer { 127.0.0.0/8; ::1; };
	allow-query { any; };
};

zone "lab.test" {
	type primary;
	file "lab.test.zone";
	// RFC 2136 updates only with cutover-key or sha512-key; other-key is
	// known to the server but has no update rights (REFUSED).
	update-policy {
		grant cutover-key zonesub ANY;
		grant sha512-key zonesub ANY;
	};
	ixfr-from-differences yes;
	// A non-53 port cannot come from NS records: notify explicitly.
	notify explicit;
	also-notify { $A_SECONDARY port $P_DNS; };
	// The default 5 s notify-delay would hold back the NOTIFY of a second
	// update in a row; tests expect the secondary within ~1 s.
	notify-delay 0;
};
EOF
	} >"$c"
}

# write_bind2_conf MODE: MODE "normal" transfers from the primary, "hold"
# points the zone at a port nothing listens on so the secondary keeps
# serving its copy at the old serial while refreshes fail.
write_bind2_conf() {
	local c=$DIR/bind2/named.conf port=$P_DNS
	[ "$1" = hold ] && port=$P_DEAD
	{
		named_common bind2 "$A_SECONDARY" "$P_RNDC2"
		cat <<EOF

options {
$(named_options bind2)
	listen-on port $P_DNS { $A_SECONDARY; };
	listen-on-v6 { none; };
	transfer-source $A_SECONDARY;
	notify-source $A_SECONDARY;
	allow-transfer { 127.0.0.0/8; ::1; };
	notify no;
};

zone "lab.test" {
	type secondary;
	file "lab.test.zone";
	masterfile-format text;
	primaries { $A_PRIMARY port $port; };
	allow-notify { $A_PRIMARY; };
};
EOF
	} >"$c"
}

write_rndc_conf() {
	local name=$1 addr=$2 port=$3
	{
		cat "$DIR/keys/rndc.key"
		cat <<EOF
options {
	default-key "rndc-key";
	default-server $addr;
	default-port $port;
};
EOF
	} >"$DIR/$name/rndc.conf"
	chmod 600 "$DIR/$name/rndc.conf"
}

write_knot_conf() {
	cat >"$DIR/knot/knot.conf" <<EOF
# Knot DNS primary for knot.test. (lab)
server:
    rundir: "$RUN/knot"
    pidfile: "$RUN/knot/knot.pid"
    user: root:root
    listen: $A_KNOT@$P_DNS

log:
  - target: "$DIR/knot/knot.log"
    any: info

database:
    storage: "$DIR/knot"

control:
    listen: "$RUN/knot/knot.sock"

key:
  - id: knot-key
    algorithm: hmac-sha256
    secret: $(key_secret "$DIR/keys/knot-key.key")

acl:
  - id: update
    key: knot-key
    action: update

template:
  - id: default
    storage: "$DIR/knot"
    # Keep updates in the journal and write them back to the zone file.
    zonefile-sync: 0
    zonefile-load: difference-no-serial
    journal-content: all
    semantic-checks: on

zone:
  - domain: knot.test
    file: "knot.test.zone"
    acl: update
EOF
}

write_unbound_conf() {
	cat >"$DIR/unbound/root.hints" <<EOF
; No real root servers: anything outside the stub zones stays on loopback.
.                 3600000 NS a.root.lab.invalid.
a.root.lab.invalid. 3600000 A $A_PRIMARY
EOF
	cat >"$DIR/unbound/unbound.conf" <<EOF
# unbound caching resolver with stub zones for the lab zones only.
server:
    username: ""
    chroot: ""
    directory: "$DIR/unbound"
    pidfile: "$RUN/unbound/unbound.pid"
    logfile: "$DIR/unbound/unbound.log"
    use-syslog: no
    verbosity: 1
    log-queries: no
    interface: $A_RESOLVER@$P_DNS
    port: $P_DNS
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    outgoing-interface: $A_RESOLVER
    outgoing-port-avoid: $P_DNS
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    root-hints: "$DIR/unbound/root.hints"
    # Only the lab zones resolve; every other name is refused locally.
    local-zone: "." refuse
    local-zone: "test." nodefault
    local-zone: "lab.test." transparent
    local-zone: "knot.test." transparent
    domain-insecure: "lab.test."
    domain-insecure: "knot.test."
    cache-min-ttl: 0
    serve-expired: no
    prefetch: no
    num-threads: 1

remote-control:
    control-enable: yes
    control-interface: $A_PRIMARY
    control-port: $P_UBCTL
    control-use-cert: no

stub-zone:
    name: "lab.test."
    stub-addr: $A_PRIMARY@$P_DNS
    stub-addr: $A_SECONDARY@$P_DNS
    stub-prime: no

stub-zone:
    name: "knot.test."
    stub-addr: $A_KNOT@$P_DNS
    stub-prime: no
EOF
}

# ---------------------------------------------------------------------------
# Dovecot configuration

ensure_vmail_user() {
	if ! getent passwd vmail >/dev/null; then
		groupadd --system vmail 2>/dev/null || true
		useradd --system --gid vmail --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin vmail ||
			getent passwd vmail >/dev/null || die "could not create system user vmail"
	fi
}

write_users() {
	local f=$1
	seq -f 'user%02g' 1 "$ACCOUNTS" | sed 's/.*/&:{PLAIN}pass-&::::::/' >"$f"
	chown root:dovecot "$f"
	chmod 640 "$f"
}

# write_dovecot_conf NAME ADDR
write_dovecot_conf() {
	local name=$1 addr=$2 d=$DIR/$1 ssl=yes imaps=$P_IMAPS ns greeting
	mkdir -p "$d/mail" "$RUN/$name"
	chown vmail:vmail "$d/mail"
	write_users "$d/users"
	case $name in
	host1)
		greeting="cutover lab host1 ready."
		ns=$(
			cat <<'EOF'
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = .
  prefix = INBOX.
  mailbox "Sent Items" {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox "Deleted Items" {
    special_use = \Trash
    auto = subscribe
  }
  mailbox "Junk E-mail" {
    special_use = \Junk
    auto = subscribe
  }
  mailbox Archives {
    special_use = \Archive
    auto = subscribe
  }
}
EOF
		)
		;;
	host2 | notls)
		greeting="cutover lab $name ready."
		ns=$(
			cat <<'EOF'
mail_location = maildir:~/Maildir:LAYOUT=fs
namespace inbox {
  inbox = yes
  separator = /
  prefix =
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \Archive
    auto = subscribe
  }
}
EOF
		)
		;;
	esac
	if [ "$name" = notls ]; then
		ssl=no
		imaps=0
	fi
	{
		cat <<EOF
# Dovecot $name for the cutover lab: self-contained, nothing from /etc/dovecot.
instance_name = cutover-lab-$name-$P_IMAP
base_dir = $RUN/$name
state_dir = $DIR/$name/state
log_path = $DIR/$name/dovecot.log
info_log_path = $DIR/$name/dovecot.log
debug_log_path = $DIR/$name/dovecot.log
protocols = imap
listen = $addr
login_greeting = $greeting
default_internal_user = dovecot
default_login_user = dovenull
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_uid = vmail
mail_gid = vmail
first_valid_uid = 1
mail_home = $DIR/$name/mail/%n
mail_fsync = never
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $DIR/$name/users
}
userdb {
  driver = passwd-file
  args = username_format=%n $DIR/$name/users
}
$ns
protocol imap {
  mail_max_userip_connections = 1000
}
service imap-login {
  inet_listener imap {
    address = $addr
    port = $P_IMAP
  }
  inet_listener imaps {
    address = $addr
    port = $imaps
    ssl = yes
  }
}
ssl = $ssl
EOF
		if [ "$ssl" = yes ]; then
			cat <<EOF
ssl_cert = <$DIR/tls/$name.pem
ssl_key = <$DIR/tls/$name.key
ssl_min_protocol = TLSv1.2
EOF
		fi
	} >"$d/dovecot.conf"
}

# ---------------------------------------------------------------------------
# Starting, waiting, stopping

start_daemon() {
	local name=$1 conf log
	conf=$(conf_of "$name")
	log=$DIR/$name/stdout.log
	mkdir -p "$RUN/$name"
	case $name in
	bind1 | bind2) named -c "$conf" </dev/null >>"$log" 2>&1 ;;
	knot) knotd -c "$conf" -d </dev/null >>"$log" 2>&1 ;;
	unbound) unbound -c "$conf" </dev/null >>"$log" 2>&1 ;;
	host1 | host2 | notls) dovecot -c "$conf" </dev/null >>"$log" 2>&1 ;;
	esac
}

# wait_pid NAME: wait until the daemon's pid file names a live process.
wait_pid() {
	local deadline=$(($(date +%s) + ${LAB_WAIT:-30}))
	until daemon_pid "$1" >/dev/null; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# dns_ready ADDR ZONE: an authoritative answer for ZONE's SOA.
dns_ready() {
	dig +norec +time=1 +tries=1 -p "$P_DNS" "@$1" "$2" SOA 2>/dev/null |
		grep 'status: NOERROR' >/dev/null || return 1
}

resolver_ready() {
	dig +time=1 +tries=1 -p "$P_DNS" "@$A_RESOLVER" lab.test SOA 2>/dev/null |
		grep 'status: NOERROR' >/dev/null || return 1
}

# imap_ready: greeting on every IMAP listener; TLS listeners verified
# against the lab CA for imap.lab.test.
imap_ready() {
	"$PYTHON" - "$DIR/tls/ca.pem" "$P_IMAP" "$P_IMAPS" "$@" <<'EOF' 2>/dev/null
import socket, ssl, sys
ca, pimap, pimaps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for spec in sys.argv[4:]:
    name, addr = spec.split("=")
    with socket.create_connection((addr, pimap), timeout=2) as s:
        if not s.recv(512).startswith(b"* OK"):
            sys.exit(1)
    if name == "notls":
        continue
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection((addr, pimaps), timeout=2) as s:
        with ctx.wrap_socket(s, server_hostname="imap.lab.test") as t:
            if not t.recv(512).startswith(b"* OK"):
                sys.exit(1)
EOF
}

# wait_until DESCRIPTION CMD...: poll CMD for up to LAB_WAIT (30) seconds;
# generous because a loaded CI machine can take long to start daemons.
wait_until() {
	local what=$1 deadline=$(($(date +%s) + ${LAB_WAIT:-30}))
	shift
	until "$@"; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "$PROG: timed out waiting for $what" >&2
			return 1
		fi
		sleep 0.1
	done
}

# show_logs [NAME...]: tail the logs of the named daemons (default: all).
show_logs() {
	local n f names=("$@")
	[ ${#names[@]} -gt 0 ] || read -ra names <<<"$DAEMONS"
	for n in "${names[@]}"; do
		for f in "$(log_of "$n")" "$DIR/$n/stdout.log"; do
			[ -s "$f" ] || continue
			echo "---- $f (last 15 lines)" >&2
			tail -n 15 "$f" >&2
		done
	done
}

# stop_daemons NAME...: TERM (and CONT, in case one is paused) the pids from
# their pid files that really are ours, all at once; KILL after 5 s.
stop_daemons() {
	local n pid i pids=() left
	for n in "$@"; do
		pid=$(daemon_pid "$n") || continue
		pids+=("$pid")
		kill -TERM "$pid" 2>/dev/null || true
		kill -CONT "$pid" 2>/dev/null || true
	done
	[ ${#pids[@]} -gt 0 ] || return 0
	for i in $(seq 1 140); do
		left=()
		for pid in "${pids[@]}"; do
			pid_alive "$pid" && left+=("$pid")
		done
		[ ${#left[@]} -gt 0 ] || return 0
		if [ "$i" -eq 100 ]; then
			echo "$PROG: pids ${left[*]} ignored SIGTERM, sending SIGKILL" >&2
			kill -KILL "${left[@]}" 2>/dev/null || true
		fi
		sleep 0.05
	done
	echo "$PROG: pids ${left[*]} still alive" >&2
	return 1
}

write_env() {
	local n pid
	{
		printf '%s=%q\n' \
			LAB_DIR "$DIR" \
			LAB_NET "$NET" \
			LAB_DNS_PORT "$P_DNS" \
			LAB_ZONE lab.test. \
			LAB_KNOT_ZONE knot.test. \
			LAB_PRIMARY4 "$A_PRIMARY" \
			LAB_PRIMARY6 ::1 \
			LAB_SECONDARY "$A_SECONDARY" \
			LAB_KNOT "$A_KNOT" \
			LAB_RESOLVER "$A_RESOLVER" \
			LAB_RESOLVER_PORT "$P_DNS" \
			LAB_UNBOUND_CONTROL "unbound-control -c $DIR/unbound/unbound.conf" \
			LAB_RNDC1 "rndc -c $DIR/bind1/rndc.conf" \
			LAB_RNDC2 "rndc -c $DIR/bind2/rndc.conf" \
			LAB_KNOTC "knotc -c $DIR/knot/knot.conf" \
			LAB_TSIG_KEY "$DIR/keys/cutover-key.key" \
			LAB_TSIG_KEY_NAME cutover-key \
			LAB_KNOT_KEY "$DIR/keys/knot-key.key" \
			LAB_KNOT_KEY_KNOTFMT "$DIR/keys/knot-key.knot" \
			LAB_OTHER_KEY "$DIR/keys/other-key.key" \
			LAB_SHA512_KEY "$DIR/keys/sha512-key.key" \
			LAB_WRONG_SECRET_KEY "$DIR/keys/wrong-secret.key" \
			LAB_UNKNOWN_KEY "$DIR/keys/unknown.key" \
			LAB_CA "$DIR/tls/ca.pem" \
			LAB_OTHER_CA "$DIR/tls/other-ca.pem" \
			LAB_TLS_NAME imap.lab.test \
			LAB_HOST1 "$A_HOST1" \
			LAB_HOST2 "$A_HOST2" \
			LAB_IMAP_PORT "$P_IMAP" \
			LAB_IMAPS_PORT "$P_IMAPS" \
			LAB_HOST1_SEP . \
			LAB_HOST1_PREFIX INBOX. \
			LAB_HOST2_SEP / \
			LAB_HOST2_PREFIX "" \
			LAB_DOVECOT1_CONF "$DIR/host1/dovecot.conf" \
			LAB_DOVECOT2_CONF "$DIR/host2/dovecot.conf" \
			LAB_DOVEADM1 "doveadm -c $DIR/host1/dovecot.conf" \
			LAB_DOVEADM2 "doveadm -c $DIR/host2/dovecot.conf" \
			LAB_NOTLS_HOST "$A_NOTLS" \
			LAB_NOTLS_PORT "$P_IMAP" \
			LAB_DOVEADM_NOTLS "doveadm -c $DIR/notls/dovecot.conf" \
			LAB_ACCOUNTS "$ACCOUNTS" \
			LAB_DEAD_PORT "$P_DEAD"
		for n in $DAEMONS; do
			pid=$(daemon_pid "$n") || pid=""
			printf '%s=%q\n' "LAB_PID_$(echo "$n" | tr '[:lower:]' '[:upper:]')" "$pid"
		done
	} >"$DIR/lab.env.tmp"
	mv "$DIR/lab.env.tmp" "$DIR/lab.env"
}

any_alive() {
	local n
	for n in $DAEMONS; do
		daemon_pid "$n" >/dev/null && return 0
	done
	return 1
}

# Dovecot's auth and mail processes run as dovecot/vmail: every ancestor of
# DIR must be searchable by others (mktemp -d makes 0700 directories).
check_traversable() {
	local p=$1 mode
	while [ "$p" != / ]; do
		p=$(dirname "$p")
		mode=$(stat -c %A "$p")
		[ "${mode:9:1}" = x ] || [ "${mode:9:1}" = t ] ||
			die "$p is not searchable by other users (mode $mode); Dovecot runs as dovecot/vmail: chmod o+x $p or choose another DIR"
	done
}

# ---------------------------------------------------------------------------
# Subcommands

cmd_start() {
	local d=$1 ports n t0
	t0=$(date +%s%N)
	mkdir -p "$d"
	DIR=$(cd "$d" && pwd)
	check_traversable "$DIR"
	if [ -r "$DIR/state.sh" ]; then
		# shellcheck source=/dev/null
		(. "$DIR/state.sh" && any_alive) &&
			die "a lab is already running in $DIR: run lab.sh stop $DIR first"
		# A stale lab: clean up what it may have left behind.
		(load_state "$DIR" && remove_addresses && { [ "$RUN_IS_TMP" != 1 ] || rm -rf "$RUN"; })
	fi
	find "$DIR" -mindepth 1 -delete
	chmod 755 "$DIR"
	set_layout
	for n in named knotd unbound dovecot doveadm dig tsig-keygen openssl ip; do
		command -v "$n" >/dev/null || die "$n not found: run scripts/install-deps.sh"
	done
	have_python
	ensure_vmail_user

	# Unix socket paths are limited to 108 bytes; keep run dirs short.
	if [ ${#DIR} -le 40 ]; then
		RUN=$DIR/run
		RUN_IS_TMP=0
		mkdir -p "$RUN"
	else
		RUN=$(mktemp -d /tmp/cutover-lab.XXXXXX)
		RUN_IS_TMP=1
		ln -s "$RUN" "$DIR/run"
	fi
	chmod 755 "$RUN"

	reserve_ports
	write_state

	add_addresses
	trace addresses
	make_keys &
	make_tls &
	wait %1 || die "TSIG key generation failed"
	wait %2 || die "certificate generation failed"
	trace keys+tls

	mkdir -p "$DIR/bind1" "$DIR/bind2" "$DIR/knot" "$DIR/unbound" "$DIR/host1" "$DIR/host2" "$DIR/notls"
	write_lab_zone "$DIR/bind1/lab.test.zone"
	write_knot_zone "$DIR/knot/knot.test.zone"
	write_bind1_conf
	write_bind2_conf normal
	: >"$DIR/bind1/bind.keys"
	: >"$DIR/bind2/bind.keys"
	write_rndc_conf bind1 "$A_PRIMARY" "$P_RNDC1"
	write_rndc_conf bind2 "$A_SECONDARY" "$P_RNDC2"
	write_knot_conf
	write_unbound_conf
	for n in host1 host2 notls; do
		case $n in
		host1) write_dovecot_conf host1 "$A_HOST1" ;;
		host2) write_dovecot_conf host2 "$A_HOST2" ;;
		notls) write_dovecot_conf notls "$A_NOTLS" ;;
		esac
	done
	echo normal >"$DIR/secondary.state"
	trace configs

	local failed=""
	# Each daemon forks into the background itself; start them together.
	for n in $DAEMONS; do
		start_daemon "$n" || : >"$DIR/$n/start-failed" &
	done
	wait
	for n in $DAEMONS; do
		[ ! -e "$DIR/$n/start-failed" ] || failed="$failed $n"
	done
	trace daemons forked
	if [ -z "$failed" ]; then
		for n in $DAEMONS; do
			wait_pid "$n" || failed="$failed $n"
		done
	fi
	trace pid files
	if [ -z "$failed" ]; then
		wait_until "BIND primary on $A_PRIMARY" dns_ready "$A_PRIMARY" lab.test || failed="$failed bind1"
		wait_until "BIND primary on ::1" dns_ready ::1 lab.test || failed="$failed bind1"
		wait_until "BIND secondary on $A_SECONDARY" dns_ready "$A_SECONDARY" lab.test || failed="$failed bind2"
		wait_until "Knot on $A_KNOT" dns_ready "$A_KNOT" knot.test || failed="$failed knot"
		wait_until "unbound on $A_RESOLVER" resolver_ready || failed="$failed unbound"
	trace dns ready
		wait_until "Dovecot" imap_ready "host1=$A_HOST1" "host2=$A_HOST2" "notls=$A_NOTLS" ||
			failed="$failed dovecot"
	fi
	if [ -n "$failed" ]; then
		echo "$PROG: lab did not come up (failed:$failed)" >&2
		local names=()
		read -ra names <<<"${failed//dovecot/host1 host2 notls}"
		mapfile -t names < <(printf '%s\n' "${names[@]}" | sort -u)
		show_logs "${names[@]}"
		cmd_stop_loaded
		exit 1
	fi
	write_env
	printf '%s: lab up in %s (DNS port %s, IMAP %s, IMAPS %s) after %d ms\n' "$PROG" "$DIR" \
		"$P_DNS" "$P_IMAP" "$P_IMAPS" $((($(date +%s%N) - t0) / 1000000))
}

cmd_stop_loaded() {
	local rc=0
	# shellcheck disable=SC2086 # word list
	stop_daemons $DAEMONS || rc=1
	remove_addresses
	release_ports
	if [ "${RUN_IS_TMP:-0}" = 1 ] && [ -d "$RUN" ]; then
		rm -rf "$RUN"
		rm -f "$DIR/run"
	fi
	return "$rc"
}

cmd_stop() {
	load_state "$1"
	cmd_stop_loaded
	rm -f "$DIR/lab.env"
}

cmd_status() {
	local n pid rc=0
	load_state "$1"
	for n in $DAEMONS; do
		if pid=$(daemon_pid "$n"); then
			echo "$n running pid $pid"
		else
			echo "$n not running"
			rc=1
		fi
	done
	echo "secondary $(cat "$DIR/secondary.state" 2>/dev/null || echo unknown)"
	return "$rc"
}

rndc2() {
	rndc -c "$DIR/bind2/rndc.conf" "$@"
}

cmd_secondary_pause() {
	local pid
	load_state "$1"
	pid=$(daemon_pid bind2) || die "BIND secondary is not running"
	kill -STOP "$pid"
	echo paused >"$DIR/secondary.state"
}

cmd_secondary_hold() {
	local pid
	load_state "$1"
	pid=$(daemon_pid bind2) || die "BIND secondary is not running"
	kill -CONT "$pid"
	write_bind2_conf hold
	rndc2 reconfig >/dev/null || die "rndc reconfig of the secondary failed"
	echo held >"$DIR/secondary.state"
}

cmd_secondary_release() {
	local pid
	load_state "$1"
	pid=$(daemon_pid bind2) || die "BIND secondary is not running"
	kill -CONT "$pid"
	write_bind2_conf normal
	rndc2 reconfig >/dev/null || die "rndc reconfig of the secondary failed"
	rndc2 refresh lab.test >/dev/null || die "rndc refresh lab.test on the secondary failed"
	echo normal >"$DIR/secondary.state"
}

cmd_restart_one() {
	local name=$1 what=$2
	case $what in
	stop) stop_daemons "$name" ;;
	start)
		daemon_pid "$name" >/dev/null && die "$name is already running"
		start_daemon "$name"
		wait_pid "$name" || {
			show_logs "$name"
			die "$name did not start"
		}
		case $name in
		bind1) wait_until "BIND primary" dns_ready "$A_PRIMARY" lab.test ;;
		host2) wait_until "Dovecot host2" imap_ready "host2=$A_HOST2" ;;
		esac
		;;
	esac
	write_env
}

main() {
	[ $# -eq 2 ] || usage
	local cmd=$1 d=$2
	case $cmd in
	start) cmd_start "$d" ;;
	stop) cmd_stop "$d" ;;
	restart)
		if [ -r "$d/state.sh" ]; then cmd_stop "$d"; fi
		cmd_start "$d"
		;;
	env)
		load_state "$d"
		[ -r "$DIR/lab.env" ] || die "$DIR: lab is not running"
		cat "$DIR/lab.env"
		;;
	status) cmd_status "$d" ;;
	secondary-pause) cmd_secondary_pause "$d" ;;
	secondary-hold) cmd_secondary_hold "$d" ;;
	secondary-release) cmd_secondary_release "$d" ;;
	primary-stop) load_state "$d" && cmd_restart_one bind1 stop ;;
	primary-start) load_state "$d" && cmd_restart_one bind1 start ;;
	stop-host2) load_state "$d" && cmd_restart_one host2 stop ;;
	start-host2) load_state "$d" && cmd_restart_one host2 start ;;
	restart-host2)
		load_state "$d"
		cmd_restart_one host2 stop
		cmd_restart_one host2 start
		;;
	*) usage ;;
	esac
}

main "$@"
