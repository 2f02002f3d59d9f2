#!/usr/bin/env bash
# valgrind.sh - valgrind memcheck over the unit tests and a representative
# set of integration tests, against a build without sanitizers (valgrind and
# ASan do not mix).  Exit 1 on any memcheck error (invalid read or write,
# use of uninitialised memory, bad free, fd misuse reported as an error) or
# definite leak, or when a test fails under valgrind.
#
# Usage: scripts/valgrind.sh [CTEST_REGEX]
#   CTEST_REGEX  integration tests to run; default, and why these:
#     sync_test          the IMAP client and sync engine over TLS (copy,
#                        flags, folders, --delete1), the bulk of the code
#     dns_update_test    TSIG-signed RFC 2136 updates, ldns, prerequisites
#     run_test           the whole classical `cutover run`: journal, state
#                        machine, c-ares propagation checks, postsync
#     faults_test        the error paths: host2 killed mid-presync, postsync
#                        dying before its deletes, primary down, lagging
#                        secondary, unbound serving stale data, read-only
#                        and full state directory (where leaks hide)
#     hostile_files_test damaged plan, CSV and key files (parser errors)
#     secrets_test       passwords and TSIG secrets kept out of sight
#   Left out: load_test (200x200 messages, hours under valgrind),
#   presync_test and run_lucky_test (same code paths as run_test and
#   faults_test, 3-4 times longer), propagation_test and dns_wait_test
#   (they assert how long a wait lasts, which valgrind's start-up of
#   about a second per cutover process distorts), hostile_imap_test (its
#   stall cases count on timeouts of a few seconds), run_crash_test (one
#   cutover process per journal write: hours), dns_fake_test and
#   sync_inflight_test (timing: a silent peer's timeout, a slowed
#   commit).  All of them run under ASan+UBSan in scripts/test.sh.  `scripts/valgrind.sh .` runs every
#   integration test; give the whole set an idle machine and a few hours.
# Environment:
#   BUILD_DIR    build directory (default: build-valgrind in the repo root)
#   JOBS         build parallelism (default: nproc)
#   VG_UNIT=0    skip the unit tests
#   VG_INTEG=0   skip the integration tests
#   CUTOVER_TEST_NET  passed on to the labs (see docs/lab.md)
#
# How: the unit test programs (ctest label unit) run directly under
# valgrind; cli_check gets a valgrind-wrapped cutover.  For the integration
# tests, tests/integ/lib.sh sees CUTOVER_VALGRIND=1 and replaces CUTOVER_BIN
# by a wrapper running valgrind with the same options.  Every process writes
# its report to LOGDIR/vg.PID.log (LOGDIR = BUILD_DIR/valgrind-logs); with
# -q and --show-leak-kinds=definite a clean process leaves an empty log, so
# any non-empty log is a finding and is printed at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-valgrind}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
REGEX=${1:-'^(sync_test|dns_update_test|run_test|faults_test|hostile_files_test|secrets_test)$'}
# The options lib.sh's wrapper uses too (keep them in step).
VG_OPTS=(-q --error-exitcode=97 --leak-check=full --show-leak-kinds=definite
	--errors-for-leak-kinds=definite --track-fds=no)

log() {
	echo "== valgrind.sh: $*"
}

command -v valgrind >/dev/null || {
	echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
	exit 2
}

log "configure $BUILD_DIR (no sanitizers, debug info)"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCUTOVER_SANITIZE=OFF -DCUTOVER_TESTS=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
grep -q '^CUTOVER_SANITIZE:BOOL=OFF' "$BUILD_DIR/CMakeCache.txt" || {
	echo "valgrind.sh: $BUILD_DIR is a sanitizer build; use another BUILD_DIR" >&2
	exit 2
}
cmake --build "$BUILD_DIR" -j "$JOBS"

LOGDIR=$BUILD_DIR/valgrind-logs
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
chmod 755 "$LOGDIR"
failed=()

# ---------------------------------------------------------------------------
# Unit tests: each program of label unit, in its ctest working directory.
if [ "${VG_UNIT:-1}" = 1 ]; then
	log "unit tests"
	wrap=$(mktemp -d /tmp/cutover-vg-unit.XXXXXX)
	trap 'rm -rf "$wrap"' EXIT
	cat >"$wrap/cutover" <<EOF
#!/bin/sh
exec valgrind ${VG_OPTS[*]} --log-file='$LOGDIR/vg.%p.log' '$BUILD_DIR/bin/cutover' "\$@"
EOF
	chmod 755 "$wrap/cutover"
	while IFS=$'\t' read -r name wd cmd; do
		# shellcheck disable=SC2206 # the command line as ctest has it
		argv=($cmd)
		if [[ ${argv[0]} == "$BUILD_DIR/bin/"* ]]; then
			argv=(valgrind "${VG_OPTS[@]}" "--log-file=$LOGDIR/vg.$name.%p.log" "${argv[@]}")
		else
			# A script given the cutover binary: give it the wrapper.
			for i in "${!argv[@]}"; do
				[ "${argv[i]}" != "$BUILD_DIR/bin/cutover" ] || argv[i]=$wrap/cutover
			done
		fi
		rc=0
		(cd "${wd:-$BUILD_DIR}" && timeout 900 "${argv[@]}") >"$LOGDIR/$name.out" 2>&1 || rc=$?
		echo "   $name: exit $rc"
		[ "$rc" -eq 0 ] || failed+=("unit $name (exit $rc, output in $LOGDIR/$name.out)")
	done < <(cd "$BUILD_DIR" && ctest --show-only=json-v1 -L unit |
		jq -r '.tests[] | [.name,
			((.properties // [])[] | select(.name == "WORKING_DIRECTORY") | .value) // "",
			(.command | join(" "))] | @tsv')
fi

# ---------------------------------------------------------------------------
# Integration tests: every cutover process under valgrind through lib.sh.
if [ "${VG_INTEG:-1}" = 1 ]; then
	export CUTOVER_VALGRIND=1 CUTOVER_VALGRIND_LOG=$LOGDIR
	log "integration tests: ctest -R '$REGEX'"
	rc=0
	(cd "$BUILD_DIR" && ctest --output-on-failure -L integ -R "$REGEX|^lab_start$|^lab_stop$") || rc=$?
	[ "$rc" -eq 0 ] || failed+=("integration tests (ctest exit $rc)")
	n_integ=$(find "$LOGDIR" -name 'vg.[0-9]*.log' | wc -l)
	log "$n_integ cutover processes of the integration tests ran under valgrind"
	[ "$n_integ" -gt 0 ] ||
		failed+=("no cutover process ran under valgrind: is CUTOVER_BIN reaching the tests?")
fi

# ---------------------------------------------------------------------------
runs=$(find "$LOGDIR" -name 'vg.*.log' | wc -l)
mapfile -t reports < <(find "$LOGDIR" -name 'vg.*.log' -size +0 | sort)
echo
log "$runs processes under valgrind, ${#reports[@]} with a report"
for f in "${reports[@]}"; do
	echo "--- $f"
	head -60 "$f"
done
[ "${#reports[@]}" -eq 0 ] || failed+=("memcheck findings in ${#reports[@]} processes (logs in $LOGDIR)")
if [ "${#failed[@]}" -gt 0 ]; then
	for f in "${failed[@]}"; do
		echo "valgrind.sh: FAILED: $f"
	done
	exit 1
fi
echo "valgrind.sh: clean"
