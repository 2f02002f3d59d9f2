#!/usr/bin/env bash
# install-deps.sh - install every Debian 12 package needed to build, test
# and demo cutover. Idempotent: a fast no-op when everything is present;
# "apt-get update" runs only if something is missing.
set -euo pipefail

PACKAGES=(
	# build
	build-essential cmake pkg-config
	clang libclang-rt-14-dev # libFuzzer targets
	libldns-dev libc-ares-dev libssl-dev libcurl4-openssl-dev
	libcmocka-dev libsqlite3-dev libinih-dev libjansson-dev
	# lab servers and their clients (scripts/lab.sh)
	bind9 bind9-dnsutils knot knot-dnsutils unbound
	dovecot-core dovecot-imapd isync
	iproute2 openssl ldnsutils python3
	# test tooling
	valgrind sqlite3 jq procps util-linux bsdutils # script(1) for pty tests
)

# One dpkg-query for all; "install ok installed" is the only usable state.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
	grep -qxF "$p install ok installed" <<<"$installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root (or install them with sudo apt-get install)" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# policy-rc.d keeps the packages' own daemons (named, knot, unbound,
# dovecot) from being started by their postinst scripts; the lab runs its
# own instances on loopback.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi
rc=0
apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
if [ "$created_policy" = 1 ]; then
	rm -f "$policy"
fi
exit "$rc"
