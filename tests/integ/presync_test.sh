#!/usr/bin/env bash
# presync_test.sh - `cutover presync` and `cutover estimate` against the
# lab's two Dovecots:
#  - 20 accounts with generated corpora, jobs = 4: all in sync afterwards
#    (checked with scripts/mailbox_compare.py, not with cutover), a host2
#    extra deleted (exact sync); a second presync copies nothing and its
#    history row says so; a third one, with the engine's CONDSTORE state
#    (STATE/sync), skips unchanged folders and still copies a new host1
#    message and deletes a new host2 extra;
#  - progress: a live line with \r on a pseudo-terminal, one log line per
#    account otherwise; --dry-run changes nothing and records nothing;
#  - failures: a wrong password (final, not retried) and an account whose
#    host2 goes away mid-sync (temporary, retried, then reported); the
#    others finish, exit 1, the summary names CSV line, user and reason; a
#    rerun after fixing both converges;
#  - the delete2 lockout: after --mark-users-on-host2 presync refuses
#    (exit 4) and a message a user put on host2 survives --no-delete2;
#  - estimate: a figure within the recorded runs' range, a warning when
#    the window is shorter, exit 3 without history.
#
# Runs its own lab on LAB_NET (default 127.0.3, PRESYNC_TEST_NET overrides)
# with 22 accounts whose mailboxes it fills, so that it cannot disturb the
# tests on the shared lab.  "host2 stopped midway" is a TCP relay in front
# of host2 for one account that dies after some bytes, so that the other
# accounts, which share the real host2, keep working (lab.sh stop-host2
# would fail them all).
#
# ctest: own-lab timeout=900

TEST_NAME=presync_test
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

CUTOVER_BIN=${CUTOVER_BIN:-$CUTOVER_SOURCE_DIR/build/bin/cutover}
[ -x "$CUTOVER_BIN" ] || skip "no cutover binary at $CUTOVER_BIN (set CUTOVER_BIN)"
command -v sqlite3 >/dev/null || skip "sqlite3 is required"
command -v script >/dev/null || skip "script(1) is required for the terminal check"

export LAB_NET=${PRESYNC_TEST_NET:-$TEST_NET_PREFIX.3}
export LAB_ACCOUNTS=22
export LAB_PRIVATE=1
lab_up

tmp=$(test_tmpdir)
S=$CUTOVER_SOURCE_DIR/scripts
N=20
cut() { "$CUTOVER_BIN" "$@"; }

pw() { echo "pass-$1"; }
h1args() { echo --host "$LAB_HOST1" --port "$LAB_IMAPS_PORT" --user "$1" --password "$(pw "$1")" --ca "$LAB_CA"; }
h2args() { echo --host "$LAB_HOST2" --port "$LAB_IMAPS_PORT" --user "$1" --password "$(pw "$1")" --ca "$LAB_CA"; }
compare() {
	python3 "$S/mailbox_compare.py" compare \
		--host1 "$LAB_HOST1" --port1 "$LAB_IMAPS_PORT" --user1 "$1" --password1 "$(pw "$1")" \
		--host2 "$LAB_HOST2" --port2 "$LAB_IMAPS_PORT" --user2 "$1" --password2 "$(pw "$1")" \
		--ca "$LAB_CA" "${@:2}"
}
user() { printf 'user%02d' "$1"; }

# ---------------------------------------------------------------------------
note "corpora for $N accounts (+ user21, user22)"
for i in $(seq 1 $N); do
	# shellcheck disable=SC2046
	python3 "$S/gen_corpus.py" fill $(h1args "$(user "$i")") --seed "$i" --count 8 --big 0 --dups 1 >/dev/null ||
		fail "gen_corpus fill $(user "$i")"
done
# shellcheck disable=SC2046
python3 "$S/gen_corpus.py" fill $(h1args user21) --seed 21 --count 8 --big 0 --dups 1 >/dev/null
# shellcheck disable=SC2046
python3 "$S/gen_corpus.py" fill $(h1args user22) --seed 22 --count 40 --big 0 --dups 1 >/dev/null
# A host2 message host1 does not have: the exact sync must delete it.
# shellcheck disable=SC2046
python3 "$S/gen_corpus.py" extra $(h2args user01) --folder INBOX >/dev/null

write_csv() { # write_csv FILE N [extra lines...]
	local f=$1 n=$2 i u
	shift 2
	: >"$f"
	chmod 600 "$f"
	for i in $(seq 1 "$n"); do
		u=$(user "$i")
		echo "$LAB_HOST1:$LAB_IMAPS_PORT;$u;$(pw "$u");$LAB_HOST2:$LAB_IMAPS_PORT;$u;$(pw "$u");" >>"$f"
	done
	for l in "$@"; do echo "$l" >>"$f"; done
}

write_plan() { # write_plan FILE CSV STATE [window]
	cat >"$1" <<EOF
[migration]
scenario = classical
state = $3
${4:+window = $4}

[dns]
zone = lab.test
server = $LAB_PRIMARY4:$LAB_DNS_PORT
tsig_key = $LAB_TSIG_KEY

[mx]
old = 10 mx1.old.lab.test., 20 mx2.old.lab.test.
new = 10 mx1.new.lab.test.

[sync]
accounts = $2
jobs = 4
tls1 = imaps
tls2 = imaps
ca_file = $LAB_CA
EOF
}

state=$tmp/state
db=$state/cutover.db
write_csv "$tmp/accounts.csv" $N
write_plan "$tmp/plan.ini" "$tmp/accounts.csv" "$state" 1h

# ---------------------------------------------------------------------------
note "dry run: nothing changed, nothing recorded"
# shellcheck disable=SC2046
python3 "$S/mailbox_compare.py" snapshot $(h2args user01) >"$tmp/before.json"
rc=0
cut --dry-run presync "$tmp/plan.ini" >"$tmp/dry.out" 2>"$tmp/dry.err" || rc=$?
assert_eq 0 "$rc" "dry-run exit"
assert_contains "$(cat "$tmp/dry.err")" "would copy" "dry-run log"
# shellcheck disable=SC2046
python3 "$S/mailbox_compare.py" snapshot $(h2args user01) >"$tmp/after.json"
cmp -s "$tmp/before.json" "$tmp/after.json" || fail "--dry-run changed host2"
assert_eq 0 "$(sqlite3 "$db" 'SELECT count(*) FROM runs' 2>/dev/null || echo 0)" "runs after dry-run"

# ---------------------------------------------------------------------------
note "first presync, plain log mode: $N accounts, jobs 4"
rc=0
cut presync "$tmp/plan.ini" >"$tmp/p1.out" 2>"$tmp/p1.err" || rc=$?
cat "$tmp/p1.out"
[ "$rc" -eq 0 ] || { cat "$tmp/p1.err"; fail "first presync exited $rc"; }
assert_eq "$N" "$(grep -c 'CSV line [0-9]*, user[0-9]*: [0-9]* copied' "$tmp/p1.err")" "one log line per account"
if grep -q $'\r' "$tmp/p1.err"; then fail "carriage return in plain log mode"; fi
for i in $(seq 1 $N); do
	compare "$(user "$i")" >"$tmp/cmp.out" 2>&1 || { cat "$tmp/cmp.out"; fail "$(user "$i") not in sync"; }
done
assert_eq "1" "$(sqlite3 "$db" "SELECT count(*) FROM runs WHERE kind='presync' AND status='ok'")" "runs"
assert_eq "$N|$N|1" "$(sqlite3 "$db" "SELECT count(*), sum(status='ok'), sum(deleted2) FROM run_accounts")" "history of run 1"
[ "$(sqlite3 "$db" 'SELECT sum(copied) FROM run_accounts')" -gt 0 ] || fail "run 1 copied nothing"
if sqlite3 "$db" .dump | grep 'pass-user' >/dev/null; then fail "a password is in the state database"; fi

# ---------------------------------------------------------------------------
note "second presync on a terminal: copies nothing, live progress line"
script -qec "'$CUTOVER_BIN' presync '$tmp/plan.ini'" /dev/null >"$tmp/p2.tty" 2>&1 || fail "second presync failed: $(cat "$tmp/p2.tty")"
grep -q $'\r' "$tmp/p2.tty" || fail "no live line (\\r) on a terminal"
assert_contains "$(cat "$tmp/p2.tty")" "$N/$N accounts" "live line"
assert_contains "$(cat "$tmp/p2.tty")" "ETA" "live line"
last=$(sqlite3 "$db" 'SELECT max(id) FROM runs')
assert_eq "$N|0|0|ok" "$(sqlite3 "$db" "SELECT count(*), sum(copied), sum(deleted2), (SELECT status FROM runs WHERE id=$last) FROM run_accounts WHERE run_id=$last")" "history of run 2"
[ "$(sqlite3 "$db" "SELECT sum(in_sync) FROM run_accounts WHERE run_id=$last")" -gt 0 ] || fail "run 2: in_sync is 0"

# ---------------------------------------------------------------------------
note "CONDSTORE state: unchanged folders are skipped, changes on either side still found"
assert_eq "$N" "$(find "$state/sync" -name '*.state' | wc -l)" "state files in $state/sync"
imap_append "$LAB_HOST1" user02 INBOX "arrived after presync 2"
# shellcheck disable=SC2046
python3 "$S/gen_corpus.py" extra $(h2args user03) --folder INBOX >/dev/null
rc=0
cut -vv presync "$tmp/plan.ini" >"$tmp/ps.out" 2>"$tmp/ps.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$tmp/ps.err"; fail "presync with state exited $rc"; }
skipped=$(grep -c 'unchanged on both servers since the last run' "$tmp/ps.err" || true)
[ "$skipped" -gt 0 ] || fail "no folder skipped by a presync with an unchanged state"
last=$(sqlite3 "$db" 'SELECT max(id) FROM runs')
assert_eq "1|1" "$(sqlite3 "$db" "SELECT sum(copied), sum(deleted2) FROM run_accounts WHERE run_id=$last")" "copies and host2 deletions with the state"
for u in user02 user03; do
	compare "$u" >"$tmp/cmp.out" 2>&1 || { cat "$tmp/cmp.out"; fail "$u not in sync after the presync with state"; }
done

# ---------------------------------------------------------------------------
note "failures: wrong password (line 21), host2 going away mid-sync (line 22)"
relay_port=$(free_port)
# A relay to host2 for user22 only; it stops (closes everything and no
# longer listens) after relaying $2 bytes towards host2.
start_relay() {
	python3 - "$LAB_HOST2" "$relay_port" "$LAB_IMAPS_PORT" "$1" <<'EOF' &
import socket, sys, threading, os
host, lport, rport, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, lport)); ls.listen(16)
sent = [0]; lock = threading.Lock()
def pump(a, b, count):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
            if count:
                with lock:
                    sent[0] += len(d)
                    if limit and sent[0] > limit:
                        os._exit(0)  # host2 "stopped": every connection dies
    except OSError:
        pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
while True:
    c, _ = ls.accept()
    u = socket.create_connection((host, rport))
    threading.Thread(target=pump, args=(c, u, True), daemon=True).start()
    threading.Thread(target=pump, args=(u, c, False), daemon=True).start()
EOF
	relay_pid=$!
	on_exit "kill $relay_pid 2>/dev/null"
	relay_up() { python3 -c "import socket,sys; socket.create_connection(('$LAB_HOST2', $relay_port), 1)" 2>/dev/null; }
	wait_for 5 relay_up || fail "relay did not start"
}
start_relay 150000
write_csv "$tmp/accounts.csv" $N \
	"$LAB_HOST1:$LAB_IMAPS_PORT;user21;wrong-password;$LAB_HOST2:$LAB_IMAPS_PORT;user21;$(pw user21);" \
	"$LAB_HOST1:$LAB_IMAPS_PORT;user22;$(pw user22);$LAB_HOST2:$relay_port;user22;$(pw user22);"
rc=0
cut presync "$tmp/plan.ini" >"$tmp/p3.out" 2>"$tmp/p3.err" || rc=$?
cat "$tmp/p3.out"
assert_eq 1 "$rc" "presync with two broken accounts"
out=$(cat "$tmp/p3.out")
assert_contains "$out" "$N in sync, 2 failed"
assert_contains "$out" "CSV line 21, user21:"
assert_contains "$(grep 'CSV line 21' "$tmp/p3.out")" "uthenticat" "line 21 reason"
assert_contains "$(grep 'CSV line 22' "$tmp/p3.out")" "$relay_port" "line 22 reason names host2"
grep -q 'CSV line 22, user22: attempt 1 failed (temporary)' "$tmp/p3.err" || fail "line 22 not retried: $(cat "$tmp/p3.err")"
if grep -q 'CSV line 21, user21: attempt 1 failed' "$tmp/p3.err"; then fail "a wrong password was retried"; fi
last=$(sqlite3 "$db" 'SELECT max(id) FROM runs')
assert_eq "$((N + 2))|$N|failed" "$(sqlite3 "$db" "SELECT count(*), sum(status='ok'), (SELECT status FROM runs WHERE id=$last) FROM run_accounts WHERE run_id=$last")" "history of run 3"
[ "$(sqlite3 "$db" "SELECT count(*) FROM run_accounts WHERE run_id=$last AND status='failed' AND csv_line IN (21,22) AND error != ''")" = 2 ] ||
	fail "run 3: failures not recorded with their reasons"

note "fixed: right password, host2 back: the rerun converges"
kill "$relay_pid" 2>/dev/null || true
wait "$relay_pid" 2>/dev/null || true
start_relay 0
write_csv "$tmp/accounts.csv" $N \
	"$LAB_HOST1:$LAB_IMAPS_PORT;user21;$(pw user21);$LAB_HOST2:$LAB_IMAPS_PORT;user21;$(pw user21);" \
	"$LAB_HOST1:$LAB_IMAPS_PORT;user22;$(pw user22);$LAB_HOST2:$relay_port;user22;$(pw user22);"
rc=0
cut presync "$tmp/plan.ini" >"$tmp/p4.out" 2>"$tmp/p4.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$tmp/p4.out" "$tmp/p4.err"; fail "rerun exited $rc"; }
compare user21 >/dev/null || fail "user21 not in sync after the rerun"
compare user22 >/dev/null || fail "user22 not in sync after the rerun"

# ---------------------------------------------------------------------------
note "--json: one document with every account"
cut --json --dry-run presync "$tmp/plan.ini" >"$tmp/p.json" 2>/dev/null || fail "--json --dry-run failed"
assert_eq "$((N + 2)) $((N + 2))" "$(python3 -c "import json,sys; d=json.load(open('$tmp/p.json')); print(len(d['accounts']), sum(a['status']=='ok' for a in d['accounts']))")" "JSON accounts"

# ---------------------------------------------------------------------------
note "delete2 lockout"
assert_rc 0 cut presync "$tmp/plan.ini" --mark-users-on-host2
rc=0
cut presync "$tmp/plan.ini" >"$tmp/p5.out" 2>"$tmp/p5.err" || rc=$?
assert_eq 4 "$rc" "presync after --mark-users-on-host2"
assert_contains "$(cat "$tmp/p5.err")" "--no-delete2" "refusal"
assert_contains "$(cat "$tmp/p5.err")" "mark-users-on-host2" "refusal says why"
imap_append "$LAB_HOST2" user01 INBOX "written-on-host2"
rc=0
cut presync "$tmp/plan.ini" --no-delete2 >"$tmp/p6.out" 2>"$tmp/p6.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$tmp/p6.out" "$tmp/p6.err"; fail "--no-delete2 exited $rc"; }
# shellcheck disable=SC2046
assert_eq 1 "$(python3 "$S/mailbox_compare.py" count $(h2args user01) --folder INBOX --subject written-on-host2)" \
	"the user's host2 message after --no-delete2"
compare user01 --allow-extra >/dev/null || fail "user01 not in sync (copy only)"

# ---------------------------------------------------------------------------
note "estimate from the recorded presyncs"
out=$(cut --json estimate "$tmp/plan.ini") || fail "estimate failed"
python3 - "$out" <<'EOF' || fail "estimate outside the recorded range: $out"
import json, sys
d = json.loads(sys.argv[1])
r = d["recent_durations"]
assert d["runs_used"] == len(r) and len(r) >= 3, d
assert min(r) <= d["predicted"] <= max(r), d
assert d["min"] == min(r) and d["max"] == max(r), d
EOF

# A history of exactly three presyncs of 10, 15 and 20 minutes.
mkdir -p "$tmp/state3"
write_plan "$tmp/plan3.ini" "$tmp/accounts.csv" "$tmp/state3" 12m
rc=0
cut estimate "$tmp/plan3.ini" >/dev/null 2>"$tmp/e0.err" || rc=$?
assert_eq 3 "$rc" "estimate without history"
assert_contains "$(cat "$tmp/e0.err")" "no completed presync run"
sqlite3 "$tmp/state3/cutover.db" "INSERT INTO runs(kind,start,end,status) VALUES
 ('presync',1000,1600,'ok'),('presync',5000,5900,'ok'),('presync',9000,10200,'ok')"
rc=0
out=$(cut estimate "$tmp/plan3.ini") || rc=$?
assert_eq 0 "$rc" "estimate exit when it does not fit"
assert_contains "$out" "about 15m00s"
assert_contains "$out" "range 10m00s..20m00s"
assert_contains "$out" "warning: does not fit"
write_plan "$tmp/plan3.ini" "$tmp/accounts.csv" "$tmp/state3" 1h
out=$(cut estimate "$tmp/plan3.ini") || fail "estimate failed"
assert_contains "$out" "fits in the 1h00m00s window"
assert_not_contains "$out" "warning"
