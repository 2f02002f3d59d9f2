#!/bin/sh
# cli_test.sh CUTOVER SOURCE_DIR: the command-line contract of `cutover`
# and `cutover check`: exit codes, FILE:LINE errors, the example plans.
# No servers needed.
set -u
BIN=$1
SRC=$2
T=$(mktemp -d /tmp/cutover-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# expect_rc WANT CMD...: runs CMD, output in $T/out and $T/err
expect_rc() {
	want=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want: $(cat "$T/err")"
}

# Only the static checks (--offline): the example plans name servers that
# are not ours (192.0.2.0/24, example.org), and no traffic may leave
# loopback.

expect_rc 0 "$BIN" --help
grep -q "check \[--offline\] PLAN" "$T/out" || fail "--help does not list check"
expect_rc 0 "$BIN" check --help
grep -q "usage: cutover check \[--offline\] PLAN" "$T/out" || fail "check --help has no usage line"
expect_rc 2 "$BIN" no-such-command
grep -q "unknown command" "$T/err" || fail "unknown command not explained"
expect_rc 2 "$BIN" check
expect_rc 2 "$BIN" check a.plan b.plan
expect_rc 2 "$BIN" check --bogus

# a bad plan: exit 2, every problem as PLAN:LINE
expect_rc 2 "$BIN" check "$SRC/tests/data/plan/values.plan"
grep -qx "$SRC/tests/data/plan/values.plan:2: scenario: \`luck\` is not one of classical, lucky" "$T/err" ||
	fail "bad plan: no PLAN:LINE message: $(head -3 "$T/err")"
[ "$(grep -c "values.plan:[0-9]*: " "$T/err")" -eq 28 ] || fail "bad plan: not all 28 problems reported"
expect_rc 2 "$BIN" check "$T/none.plan"
grep -q "none.plan:0: cannot read the plan" "$T/err" || fail "missing plan not explained"
expect_rc 2 "$BIN" --json check "$SRC/tests/data/plan/values.plan"
grep -q '"ok": false' "$T/out" || fail "--json bad plan: no ok: false"

# the example plans, with the files they name (secrets mode 600)
cp "$SRC"/docs/examples/classical.plan "$SRC"/docs/examples/lucky.plan \
	"$SRC"/docs/examples/accounts.csv "$T/"
printf 'key "example-key" {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0c2VjcmV0c2VjcmV0";\n};\n' >"$T/example.org.key"
: >"$T/ca.pem"
chmod 600 "$T/accounts.csv" "$T/example.org.key"
for p in classical lucky; do
	expect_rc 0 "$BIN" check --offline "$T/$p.plan"
	grep -q "scenario  $p" "$T/out" || fail "$p: no summary: $(cat "$T/out")"
	grep -q "accounts  3 " "$T/out" || fail "$p: accounts not counted"
	grep -q "state     $T/$p.state" "$T/out" || fail "$p: default state dir"
	expect_rc 0 "$BIN" --json check --offline "$T/$p.plan"
	grep -q '"ok": true' "$T/out" || fail "$p --json: no ok: true"
	if command -v python3 >/dev/null; then
		python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["sync"]["accounts_count"] == 3' <"$T/out" ||
			fail "$p --json: not the expected JSON"
	fi
done

# secrets readable by others: refused with the fix
chmod 644 "$T/accounts.csv"
expect_rc 2 "$BIN" check --offline "$T/lucky.plan"
grep -q "lucky.plan:[0-9]*: accounts: $T/accounts.csv: holds secrets .*run \`chmod 600 $T/accounts.csv\`" "$T/err" ||
	fail "secret mode not refused: $(cat "$T/err")"

# the accounts CSV is read too: its problems are CSV:LINE
chmod 600 "$T/accounts.csv"
echo "host1;alice;x;host2;alice" >>"$T/accounts.csv"
expect_rc 2 "$BIN" check --offline "$T/classical.plan"
grep -q "^$T/accounts.csv:8: expected host1;user1;password1;host2;user2;password2; (found 5 fields)" "$T/err" ||
	fail "bad CSV not reported: $(cat "$T/err")"

[ "$fails" -eq 0 ] || exit 1
echo "cli_test: all passed"
