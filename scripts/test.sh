#!/usr/bin/env bash
# test.sh - the one test command: install dependencies, build with
# AddressSanitizer + UndefinedBehaviorSanitizer, run every ctest label
# (unit, integ, and fuzz when fuzz targets exist) and print a summary.
#
# Usage: scripts/test.sh [ctest args...]
# Environment:
#   BUILD_DIR       build directory (default: build-test in the repo root)
#   JOBS            build parallelism (default: nproc)
#   CTEST_JOBS      ctest parallelism (default: 2; integ tests serialize
#                   themselves on the shared lab with RESOURCE_LOCK)
#   CUTOVER_FUZZ_RUN=0  skip the separate clang/libFuzzer build
#   SKIP_DEPS=1     do not run scripts/install-deps.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-test}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
CTEST_JOBS=${CTEST_JOBS:-2}

log() {
	echo "== test.sh: $*"
}

cd "$ROOT"

if [ "${SKIP_DEPS:-0}" != 1 ]; then
	log "dependencies"
	bash "$ROOT/scripts/install-deps.sh"
fi

log "configure $BUILD_DIR (sanitizers on)"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCUTOVER_SANITIZE=ON -DCUTOVER_TESTS=ON >/dev/null
log "build"
cmake --build "$BUILD_DIR" -j "$JOBS"

# ASan's leak checker needs ptrace-like access that some containers lack;
# keep it on and make failures loud.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

results=()
overall=0

# run_ctest NAME DIR ARGS...: run ctest, remember a one-line result.
run_ctest() {
	local name=$1 dir=$2 rc=0 out
	shift 2
	log "ctest $name"
	out=$(mktemp)
	(cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$out" || rc=$?
	# ctest's own summary line: "100% tests passed, 0 tests failed out of 12".
	results+=("$name: $(grep -E 'tests passed|No tests were found' "$out" | tail -1 || echo "rc=$rc")")
	rm -f "$out"
	[ "$rc" -eq 0 ] || overall=1
}

run_ctest "all labels (sanitized build)" "$BUILD_DIR" -j "$CTEST_JOBS" "$@"

# Fuzz targets need clang's libFuzzer: a separate build when they exist.
if [ "${CUTOVER_FUZZ_RUN:-1}" = 1 ] && command -v clang >/dev/null &&
	grep -q 'CUTOVER_FUZZ' "$ROOT/CMakeLists.txt" && [ -d "$ROOT/tests/fuzz" ]; then
	FUZZ_DIR=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
	log "configure $FUZZ_DIR (clang, libFuzzer)"
	if CC=clang cmake -S "$ROOT" -B "$FUZZ_DIR" -DCUTOVER_FUZZ=ON -DCUTOVER_SANITIZE=ON \
		-DCUTOVER_TESTS=ON >/dev/null && cmake --build "$FUZZ_DIR" -j "$JOBS"; then
		if (cd "$FUZZ_DIR" && ctest -N -L fuzz | grep 'Total Tests: [1-9]' >/dev/null); then
			run_ctest "fuzz (clang build)" "$FUZZ_DIR" -L fuzz -j "$CTEST_JOBS"
		else
			results+=("fuzz: no fuzz tests registered")
		fi
	else
		results+=("fuzz: clang build FAILED")
		overall=1
	fi
fi

echo
log "summary"
for r in "${results[@]}"; do
	echo "   $r"
done
if [ "$overall" -eq 0 ]; then
	echo "test.sh: ALL TESTS PASSED"
else
	echo "test.sh: TESTS FAILED"
fi
exit "$overall"
