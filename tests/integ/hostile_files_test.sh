#!/usr/bin/env bash
# hostile_files_test.sh: damaged plan, accounts CSV and TSIG key files
# (binary garbage, overlong lines, UTF-16, Latin-1, NUL bytes, CRLF, CR
# only, truncated, empty, huge, control characters) never crash cutover:
# `cutover check --offline` exits 2 with a FILE:LINE message naming the
# damaged file, in bounded time and memory, never echoes a control byte
# or a password, and a damaged key also stops a `--dry-run` DNS command
# before any server is contacted.
#
# The variants are generated from tests/data/hostile/good.{plan,csv,key}
# by tests/data/hostile/gen_hostile.py (deterministic).  No lab needed:
# the plan's DNS server is 127.0.0.1:9 (discard; nothing is sent because
# every run stops at the plan).
# ctest: own-lab
source "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] || CUTOVER_BIN=$CUTOVER_SOURCE_DIR/build/bin/cutover
[ -x "$CUTOVER_BIN" ] || skip "no cutover binary (set CUTOVER_BIN)"
DATA=$CUTOVER_SOURCE_DIR/tests/data/hostile
T=$(test_tmpdir)
cp "$DATA"/good.plan "$DATA"/good.csv "$DATA"/good.key "$T"/
chmod 600 "$T"/good.*
for kind in plan csv key; do
	"$PYTHON" "$DATA/gen_hostile.py" "$T/good.$kind" "$T/$kind" >"$T/$kind.list"
done

# Damage that leaves a valid file: these may be accepted (exit 0).
benign() {
	case $1 in
	crlf.* | no-final-newline.* | huge-comments.csv | latin1-comment.key | cr-only.key) return 0 ;;
	esac
	return 1
}

# run_check NAME PLAN DAMAGED: check --offline; asserts exit, message, RSS.
checked=0
run_check() {
	local name=$1 plan=$2 damaged=$3 rc=0 first rss
	/usr/bin/time -f '%M' -o "$T/rss" timeout 30 \
		"$CUTOVER_BIN" check --offline "$plan" >"$T/out" 2>"$T/err" || rc=$?
	rss=$(tail -1 "$T/rss")
	[ "$rc" -ne 124 ] || fail "$name: check did not finish in 30 s"
	# Sanitizer builds abort with a report; a plain crash is >= 128.
	if grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' "$T/err"; then
		fail "$name: sanitizer report: $(head -5 "$T/err")"
	fi
	if benign "$name"; then
		[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || fail "$name: exit $rc: $(head -3 "$T/err")"
	else
		[ "$rc" -eq 2 ] || fail "$name: exit $rc, expected 2: $(head -3 "$T/err")"
		first=$(head -1 "$T/err")
		# FILE:LINE for line problems; FILE: for whole-file ones (too large).
		[[ $first == *"$damaged:"* ]] || fail "$name: message does not name $damaged: $first"
		if [[ $first != *"too large"* ]]; then
			[[ $first =~ $damaged:[0-9]+: ]] || fail "$name: no $damaged:LINE in: $first"
		fi
	fi
	if LC_ALL=C grep -q -P '[\x00-\x08\x0b-\x1f\x7f]' "$T/err" "$T/out"; then
		fail "$name: a control byte was echoed: $(head -c 300 "$T/err" | cat -v)"
	fi
	if grep -q -E 'pass-user0|aG9zdGlsZS1maWxl' "$T/err" "$T/out"; then
		fail "$name: a secret was printed"
	fi
	# A 20 MB input must not be read into an unbounded structure: the
	# limits are 1 MiB per plan and 4 KiB per CSV line (sanitized builds
	# carry ~30 MB of shadow memory on top of the binary).
	[ "${rss:-0}" -lt 150000 ] || fail "$name: max RSS ${rss} kB"
	checked=$((checked + 1))
}

note "damaged plans"
while read -r f; do
	cp "$T/good.csv" "$T/good.key" "$T/plan/"
	run_check "$f" "$T/plan/$f" "$T/plan/$f"
done <"$T/plan.list"

note "damaged accounts CSVs"
while read -r f; do
	sed "s|^accounts = .*|accounts = $T/csv/$f|" "$T/good.plan" >"$T/csv.plan"
	chmod 600 "$T/csv/$f"
	run_check "$f" "$T/csv.plan" "$T/csv/$f"
done <"$T/csv.list"

note "damaged TSIG key files"
while read -r f; do
	sed "s|^tsig_key = .*|tsig_key = $T/key/$f|; s|^accounts = .*|accounts = $T/good.csv|" \
		"$T/good.plan" >"$T/key.plan"
	run_check "$f" "$T/key.plan" "$T/key/$f"
done <"$T/key.list"

# A damaged key must stop a dry run of a DNS change as well (exit 2),
# before any query: the server 127.0.0.1:9 would refuse the connection.
note "dry run with a damaged key"
sed "s|^tsig_key = .*|tsig_key = $T/key/binary.key|; s|^accounts = .*|accounts = $T/good.csv|" \
	"$T/good.plan" >"$T/key.plan"
rc=0
"$CUTOVER_BIN" --dry-run ttl lower "$T/key.plan" >"$T/out" 2>"$T/err" || rc=$?
assert_eq 2 "$rc" "ttl lower --dry-run with a binary key: exit"
assert_contains "$(cat "$T/err")" "$T/key/binary.key:1:"
assert_not_contains "$(cat "$T/err")" "cannot connect"

# The good files are accepted (the test could not fail otherwise).
rc=0
"$CUTOVER_BIN" check --offline "$T/good.plan" >"$T/out" 2>"$T/err" || rc=$?
assert_eq 0 "$rc" "check of the undamaged plan ($(cat "$T/err"))"

# The same secret-file rule for every damaged variant's source: group or
# world permissions are refused with the fix in the message.
chmod 640 "$T/good.csv"
rc=0
"$CUTOVER_BIN" check --offline "$T/good.plan" >"$T/out" 2>"$T/err" || rc=$?
assert_eq 2 "$rc" "check with a group-readable CSV"
assert_contains "$(cat "$T/err")" "chmod 600 $T/good.csv"
note "$checked damaged files checked"
