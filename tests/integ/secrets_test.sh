#!/usr/bin/env bash
# secrets_test.sh: where IMAP passwords and TSIG secrets must never show up,
# checked on the real lab servers:
#  - command lines: `cutover sync` has no password option (exit 2); hooks
#    run by cutover get no secret in their command line or environment,
#    and cutover's own command line holds none (/proc/PID/cmdline);
#  - output: -vv protocol traces, text and --json output of sync, presync,
#    postsync, check (live), status, ttl and dns commands;
#  - the state database (sqlite3 .dump) and every file in the state dir;
#  - the notify webhook's JSON bodies;
#  - secret files readable by group or others are refused with the chmod
#    that fixes them (CSV, TSIG key, --passfile);
#  - certificates are verified by default: wrong CA, no CA, wrong name
#    fail; --insecure is the only way around.
source "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
lab_up
T=$(test_tmpdir)
BIN=$CUTOVER_BIN
TSIG_SECRET=$(sed -n 's/.*secret "\(.*\)".*/\1/p' "$LAB_TSIG_KEY")
[ -n "$TSIG_SECRET" ] || fail "no secret in $LAB_TSIG_KEY"
N=$LAB_ACCOUNTS
UA=$(printf 'user%02d' $((N - 2)))
UB=$(printf 'user%02d' $((N - 3)))
PW_A=pass-$UA
PW_B=pass-$UB

# no_secret WHAT FILE...: none of the secrets in FILEs (binary-safe).
no_secret() {
	local what=$1
	shift
	for s in "$PW_A" "$PW_B" "$TSIG_SECRET"; do
		if grep -a -q -F -- "$s" "$@"; then
			fail "$what contains a secret ($s): $(grep -a -l -F -- "$s" "$@")"
		fi
	done
	# Also base64(\0user\0password) as in AUTHENTICATE PLAIN.
	for u in "$UA" "$UB"; do
		local b64
		b64=$(printf '\0%s\0pass-%s' "$u" "$u" | base64 -w0)
		if grep -a -q -F -- "$b64" "$@"; then
			fail "$what contains the SASL PLAIN string of $u"
		fi
	done
}

imap_append "$LAB_HOST1" "$UA" INBOX "secrets test A"
imap_append "$LAB_HOST1" "$UB" INBOX "secrets test B"

# ---------------------------------------------------------------------------
note "cutover sync: no password option, pass files checked"
rc=0
"$BIN" sync --host1 "$LAB_HOST1" --user1 "$UA" --password1 "$PW_A" \
	--host2 "$LAB_HOST2" --user2 "$UA" >"$T/o" 2>"$T/e" || rc=$?
assert_eq 2 "$rc" "sync --password1"
rc=0
"$BIN" sync --host1 "$LAB_HOST1" --user1 "$UA" --password1="$PW_A" \
	--host2 "$LAB_HOST2" --user2 "$UA" >"$T/o" 2>"$T/e" || rc=$?
assert_eq 2 "$rc" "sync --password1=..."
no_secret "the usage error for --password1=..." "$T/o" "$T/e"
rc=0
"$BIN" sync --host1 "$LAB_HOST1" --user1 "$UA" --host2 "$LAB_HOST2" --user2 "$UA" \
	"$PW_A" >"$T/o" 2>"$T/e" || rc=$?
assert_eq 2 "$rc" "sync with a stray password argument"
printf '%s\n' "$PW_A" >"$T/pass1"
chmod 644 "$T/pass1"
rc=0
CUTOVER_PASSWORD2=$PW_A "$BIN" sync --host1 "$LAB_HOST1" --user1 "$UA" --passfile1 "$T/pass1" \
	--host2 "$LAB_HOST2" --user2 "$UA" >"$T/o" 2>"$T/e" || rc=$?
assert_eq 2 "$rc" "sync --passfile1 with mode 644"
assert_contains "$(cat "$T/e")" "chmod 600 $T/pass1"
no_secret "the refusal message" "$T/o" "$T/e"
chmod 600 "$T/pass1"

note "sync -vv: protocol traces, text and JSON output; own command line"
for tls in imaps starttls; do
	rc=0
	CUTOVER_PASSWORD2=$PW_A "$BIN" -vv sync --tls1 "$tls" --tls2 "$tls" --ca-file "$LAB_CA" \
		--tls-name1 "$LAB_TLS_NAME" --tls-name2 "$LAB_TLS_NAME" \
		--host1 "$LAB_HOST1:$([ "$tls" = imaps ] && echo "$LAB_IMAPS_PORT" || echo "$LAB_IMAP_PORT")" \
		--user1 "$UA" --passfile1 "$T/pass1" \
		--host2 "$LAB_HOST2:$([ "$tls" = imaps ] && echo "$LAB_IMAPS_PORT" || echo "$LAB_IMAP_PORT")" \
		--user2 "$UA" >"$T/sync-$tls.out" 2>"$T/sync-$tls.err" &
	pid=$!
	# While it runs: its command line and environment seen from outside.
	for _ in 1 2 3 4 5; do
		# (the process may end between any two reads)
		{ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null >>"$T/cmdlines" || true
		sleep 0.05
	done
	wait "$pid" || rc=$?
	assert_eq 0 "$rc" "sync -vv over $tls ($(tail -3 "$T/sync-$tls.err"))"
	assert_contains "$(cat "$T/sync-$tls.err")" "trace: host1 C: A0001" "-vv trace"
	no_secret "sync -vv over $tls" "$T/sync-$tls.out" "$T/sync-$tls.err"
done
no_secret "cutover sync's command line" "$T/cmdlines"
CUTOVER_PASSWORD1=$PW_A CUTOVER_PASSWORD2=$PW_A "$BIN" --json sync --tls1 plain --tls2 plain \
	--host1 "$LAB_HOST1:$LAB_IMAP_PORT" --user1 "$UA" \
	--host2 "$LAB_HOST2:$LAB_IMAP_PORT" --user2 "$UA" >"$T/sync.json" 2>"$T/sync.json.err" ||
	fail "sync --json failed: $(cat "$T/sync.json.err")"
no_secret "sync --json" "$T/sync.json" "$T/sync.json.err"
# A wrong password: the failure message names the user, not the password.
CUTOVER_PASSWORD1=wrong-$PW_A CUTOVER_PASSWORD2=$PW_A "$BIN" -vv --json sync --tls1 plain --tls2 plain \
	--host1 "$LAB_HOST1:$LAB_IMAP_PORT" --user1 "$UA" \
	--host2 "$LAB_HOST2:$LAB_IMAP_PORT" --user2 "$UA" >"$T/bad.json" 2>"$T/bad.err" && fail "a wrong password was accepted"
assert_contains "$(cat "$T/bad.json" "$T/bad.err")" "$UA"
no_secret "sync with a wrong password" "$T/bad.json" "$T/bad.err"
if grep -a -q -F "wrong-$PW_A" "$T/bad.json" "$T/bad.err"; then fail "the wrong password was printed"; fi

# ---------------------------------------------------------------------------
note "plan commands with -vv and --json: presync, postsync, check, status, dns, ttl"
hook_rec=$T/hook-record
cat >"$T/hook.sh" <<'EOF'
#!/bin/sh
# Records what a hook sees: its command line, its environment, and its
# parent's (cutover's) command line.
{
	echo "== hook $CUTOVER_HOOK"
	tr '\0' ' ' </proc/$$/cmdline; echo
	env
	tr '\0' ' ' </proc/$PPID/cmdline; echo
	p=$(awk '/^PPid/ {print $2}' /proc/$PPID/status)
	tr '\0' ' ' </proc/$p/cmdline; echo
} >>"$HOOK_RECORD"
EOF
chmod 755 "$T/hook.sh"
cat >"$T/accounts.csv" <<EOF
$LAB_HOST1:$LAB_IMAPS_PORT;$UA;$PW_A;$LAB_HOST2:$LAB_IMAPS_PORT;$UA;$PW_A;
$LAB_HOST1:$LAB_IMAPS_PORT;$UB;$PW_B;$LAB_HOST2:$LAB_IMAPS_PORT;$UB;$PW_B;
EOF
chmod 600 "$T/accounts.csv"
cp "$LAB_TSIG_KEY" "$T/tsig.key"
chmod 600 "$T/tsig.key"
# A loopback webhook that stores every body it gets.
WEBHOOK_PORT=$(free_port)
"$PYTHON" - "$WEBHOOK_PORT" "$T/webhook" <<'EOF' &
import http.server, sys
port, out = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(self.path.encode() + b" " + body + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
web_pid=$!
on_exit "kill $web_pid 2>/dev/null"
cat >"$T/plan" <<EOF
[migration]
scenario = classical
state = $T/state

[dns]
zone = lab.test
server = $LAB_PRIMARY4:$LAB_DNS_PORT
tsig_key = $T/tsig.key
low_ttl = 120

[mx]
old = 10 mx1.old.lab.test., 20 mx2.old.lab.test.
new = 10 mx1.new.lab.test., 20 mx2.new.lab.test.

[sync]
accounts = $T/accounts.csv
jobs = 2
tls1 = imaps
tls2 = imaps
ca_file = $LAB_CA
maxage = 1d

[hooks]
cut_access = $T/hook.sh cut
restore_access = $T/hook.sh restore
notify = http://127.0.0.1:$WEBHOOK_PORT/hook
EOF
export HOOK_RECORD=$hook_rec
i=0
run_cmd() { # run_cmd ARGS...: -vv text run and --json run, outputs kept
	i=$((i + 1))
	"$BIN" -vv "$@" >"$T/cmd$i.out" 2>"$T/cmd$i.err" || true
	"$BIN" --json "$@" >"$T/cmd$i.json" 2>"$T/cmd$i.jerr" || true
	no_secret "cutover $*" "$T/cmd$i.out" "$T/cmd$i.err" "$T/cmd$i.json" "$T/cmd$i.jerr"
}
run_cmd check "$T/plan"
assert_contains "$(cat "$T/cmd1.out" "$T/cmd1.err")" "$UA" "check -vv names the accounts it logged in"
run_cmd presync "$T/plan"
assert_eq 1 "$(doveadm_count "$LAB_DOVEADM2" "$UB" INBOX | awk '{print ($1 >= 1)}')" "presync copied $UB's INBOX"
run_cmd dns show "$T/plan"
run_cmd --dry-run ttl lower "$T/plan"
run_cmd ttl status "$T/plan"
run_cmd status "$T/plan"
run_cmd estimate "$T/plan"
# The key travels in each signed UPDATE: these send one (lower, restore).
"$BIN" -vv ttl lower "$T/plan" >"$T/lower.out" 2>"$T/lower.err" || fail "ttl lower: $(tail -3 "$T/lower.err")"
"$BIN" -vv ttl restore "$T/plan" >"$T/restore.out" 2>"$T/restore.err" || fail "ttl restore: $(tail -3 "$T/restore.err")"
no_secret "ttl lower/restore -vv" "$T"/lower.* "$T"/restore.*
# A rollback before the MX change runs restore_access: the hook records
# what it and its parents can see.
"$BIN" -vv rollback "$T/plan" >"$T/rollback.out" 2>"$T/rollback.err" || true
[ -s "$hook_rec" ] || fail "restore_access hook did not run: $(tail -5 "$T/rollback.err")"
assert_contains "$(cat "$hook_rec")" "== hook restore_access"
no_secret "what a hook sees (cmdline, environment, parents)" "$hook_rec"
no_secret "rollback -vv" "$T/rollback.out" "$T/rollback.err"
if [ -s "$T/webhook" ]; then
	no_secret "notify webhook bodies" "$T/webhook"
else
	note "no webhook call was made by these commands"
fi

note "the state database and state directory"
db=$(find "$T/state" -name '*.db' | head -1)
[ -n "$db" ] || fail "no state database in $T/state"
sqlite3 "$db" .dump >"$T/dump.sql"
grep -q -i "insert" "$T/dump.sql" || fail "the state database is empty"
no_secret "the state database" "$T/dump.sql"
mapfile -t state_files < <(find "$T/state" -type f)
no_secret "files of the state directory" "${state_files[@]}"

# ---------------------------------------------------------------------------
note "secret files with group or world permissions are refused"
for f in accounts.csv tsig.key; do
	for mode in 640 604 660; do
		chmod "$mode" "$T/$f"
		rc=0
		"$BIN" check --offline "$T/plan" >"$T/o" 2>"$T/e" || rc=$?
		assert_eq 2 "$rc" "check with $f mode $mode"
		assert_contains "$(cat "$T/e")" "chmod 600 $T/$f"
		rc=0
		"$BIN" presync "$T/plan" >"$T/o" 2>"$T/e" || rc=$?
		assert_eq 2 "$rc" "presync with $f mode $mode"
		no_secret "refusal of $f" "$T/o" "$T/e"
	done
	chmod 600 "$T/$f"
done

# ---------------------------------------------------------------------------
note "certificates are verified by default"
sync_tls() { # sync_tls EXTRA-ARGS...: sync host1->host2 over IMAPS
	CUTOVER_PASSWORD1=$PW_A CUTOVER_PASSWORD2=$PW_A "$BIN" -q sync --timeout 10 \
		--host1 "$LAB_HOST1:$LAB_IMAPS_PORT" --user1 "$UA" \
		--host2 "$LAB_HOST2:$LAB_IMAPS_PORT" --user2 "$UA" "$@" >"$T/o" 2>"$T/e"
}
rc=0; sync_tls || rc=$?
assert_eq 1 "$rc" "IMAPS without --ca-file (the system store does not know the lab CA)"
assert_contains "$(cat "$T/e")" "certificate"
rc=0; sync_tls --ca-file "$LAB_OTHER_CA" --tls-name1 "$LAB_TLS_NAME" --tls-name2 "$LAB_TLS_NAME" || rc=$?
assert_eq 1 "$rc" "IMAPS with an unrelated CA"
rc=0; sync_tls --ca-file "$LAB_CA" --tls-name1 wrong.lab.test --tls-name2 "$LAB_TLS_NAME" || rc=$?
assert_eq 1 "$rc" "IMAPS with a name not in the certificate"
assert_contains "$(cat "$T/e")" "wrong.lab.test"
rc=0; sync_tls --ca-file "$LAB_CA" --tls-name1 "$LAB_TLS_NAME" --tls-name2 "$LAB_TLS_NAME" || rc=$?
assert_eq 0 "$rc" "IMAPS with the lab CA and name ($(tail -2 "$T/e"))"
rc=0; sync_tls --insecure || rc=$?
assert_eq 0 "$rc" "IMAPS with --insecure ($(tail -2 "$T/e"))"
# STARTTLS is verified the same way.
rc=0
CUTOVER_PASSWORD1=$PW_A CUTOVER_PASSWORD2=$PW_A "$BIN" -q sync --timeout 10 --tls1 starttls --tls2 starttls \
	--ca-file "$LAB_OTHER_CA" --host1 "$LAB_HOST1:$LAB_IMAP_PORT" --user1 "$UA" \
	--host2 "$LAB_HOST2:$LAB_IMAP_PORT" --user2 "$UA" >"$T/o" 2>"$T/e" || rc=$?
assert_eq 1 "$rc" "STARTTLS with an unrelated CA"
# A plan: presync against the wrong CA fails every account, final (no retry).
sed -i "s|^ca_file = .*|ca_file = $LAB_OTHER_CA|" "$T/plan"
rc=0
"$BIN" presync "$T/plan" >"$T/o" 2>"$T/e" || rc=$?
assert_eq 1 "$rc" "presync with the wrong CA"
assert_contains "$(cat "$T/o" "$T/e")" "certificate"
