#!/usr/bin/env bash
# sync_compat_test.sh: `cutover sync` against the lab's Dovecots made to
# look like servers Dovecot cannot be configured to be, through
# imap_filter_proxy.py (plain TCP relays on loopback; the mail is the real
# Dovecot's, every outcome is read from the servers themselves):
#  - host2 without UIDPLUS and APPENDUID: the exact sync copies, and
#    deletes exactly the host2 extras with EXPUNGE;
#  - another client marks a message \Deleted just before that EXPUNGE: the
#    deletion is refused, nothing else is expunged, our \Deleted flags are
#    taken back; the next run converges;
#  - postsync with host1 without UIDPLUS and host2 without APPENDUID: the
#    new arrivals move (found on host2 by identity after the copy);
#  - postsync whose copies host2 refuses (over quota): nothing is deleted on
#    host1;
#  - host2 without LITERAL+: streamed APPENDs (MULTIAPPEND) wait for each
#    continuation, nothing hangs, host2 ends equal to host1;
#  - host2 that keeps no keywords (PERMANENTFLAGS without \*): the sync
#    succeeds and a second one neither copies nor updates flags;
#  - host2 with a fixed keyword set that refuses APPENDs and STOREs with
#    other keywords: those are not sent (one warning names them), system
#    flags arrive, the next run does nothing; a dry run names them as
#    ones that may be dropped.
# Env: SYNC_COMPAT_USER (default user12), CUTOVER_BIN.
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] && [ -x "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
lab_up
sync_account_env "${SYNC_COMPAT_USER:-user12}"
PROXY=$CUTOVER_SOURCE_DIR/tests/integ/imap_filter_proxy.py
deleted_flagged() { # deleted_flagged DOVEADM SUBJECT: messages \Deleted with it
	# shellcheck disable=SC2086 # command prefix
	$1 search -u "$U" mailbox INBOX deleted subject "$2" | wc -l
}

PIDS=()
stop_proxies() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	PIDS=()
}
on_exit stop_proxies
# proxy NAME UPSTREAM_HOST OPTIONS...: starts a relay, sets PORT_<NAME>.
proxy() {
	local name=$1 up=$2
	shift 2
	rm -f "$T/$name.port"
	"$PYTHON" "$PROXY" --upstream "$up:$LAB_IMAP_PORT" --portfile "$T/$name.port" "$@" &
	PIDS+=($!)
	wait_for 5 test -s "$T/$name.port" || fail "proxy $name did not start"
	printf -v "PORT_$name" '%s' "$(cat "$T/$name.port")"
}

# sync1 H1PORT H2PORT ARGS...: host1 / host2 through the given relays
# ("-" = the server itself over IMAPS).
sync_via() {
	local p1=$1 p2=$2 a=()
	shift 2
	if [ "$p1" = - ]; then
		a+=(--host1 "$LAB_HOST1:$LAB_IMAPS_PORT" --tls-name1 "$LAB_TLS_NAME")
	else
		a+=(--host1 "127.0.0.1:$p1" --tls1 plain)
	fi
	if [ "$p2" = - ]; then
		a+=(--host2 "$LAB_HOST2:$LAB_IMAPS_PORT" --tls-name2 "$LAB_TLS_NAME")
	else
		a+=(--host2 "127.0.0.1:$p2" --tls2 plain)
	fi
	"$CUTOVER_BIN" sync "${a[@]}" --user1 "$U" --passfile1 "$T/pass" --user2 "$U" \
		--passfile2 "$T/pass" --ca-file "$LAB_CA" "$@"
}

note "reset $U on both servers, fill host1 (flags and keywords)"
reset 1
reset 2
"$PYTHON" "$S/gen_corpus.py" fill "${C1[@]}" --seed 12 --count 40 --big 0 --dups 2 >/dev/null
"$PYTHON" "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 1 --tag KEEPME --seed 3 --age 86400 >/dev/null

note "host2 without UIDPLUS and APPENDUID: exact sync"
proxy noplus2 "$LAB_HOST2" --hide UIDPLUS --no-appenduid --no-uid-expunge
sync_via - "$PORT_noplus2" --delete2 >"$T/s1.out" 2>&1 || { cat "$T/s1.out"; fail "sync to host2 without UIDPLUS failed"; }
compare || fail "host2 differs from host1 after a sync without UIDPLUS/APPENDUID"

note "a host2 extra goes with EXPUNGE, and only it"
"$PYTHON" "$S/gen_corpus.py" append "${C2[@]}" --folder INBOX --count 1 --tag EXTRA2 --seed 4 >/dev/null
sync_via - "$PORT_noplus2" --delete2 --json >"$T/d2.json" 2>"$T/d2.err" || { cat "$T/d2.err"; fail "sync --delete2 without UIDPLUS failed"; }
assert_eq 1 "$(json_total deleted2 <"$T/d2.json")" "deleted on host2"
assert_eq 0 "$(count 2 INBOX EXTRA2)" "EXTRA2 on host2"
compare || fail "not converged after the delete without UIDPLUS"

note "another client marks a message \\Deleted just before our EXPUNGE: refused"
"$PYTHON" "$S/gen_corpus.py" append "${C2[@]}" --folder INBOX --count 1 --tag EXTRA3 --seed 5 >/dev/null
proxy race2 "$LAB_HOST2" --hide UIDPLUS --no-uid-expunge \
	--on-deleted-store "$LAB_DOVEADM2 flags add -u $U '\\Deleted' mailbox INBOX subject KEEPME"
rc=0
sync_via - "$PORT_race2" --delete2 >"$T/race.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "exit status when the EXPUNGE would remove a foreign \\Deleted message"
assert_contains "$(cat "$T/race.out")" "marked meanwhile by another client"
assert_eq 1 "$(count 2 INBOX KEEPME)" "the other client's \\Deleted message (not expunged)"
assert_eq 1 "$(count 2 INBOX EXTRA3)" "EXTRA3 (deletion refused)"
assert_eq 0 "$(deleted_flagged "$LAB_DOVEADM2" EXTRA3)" "EXTRA3 still marked \\Deleted"
assert_eq 1 "$(deleted_flagged "$LAB_DOVEADM2" KEEPME)" "KEEPME \\Deleted by the other client"
note "the next run (flag put back by the exact sync) converges"
sync_via - "$PORT_noplus2" --delete2 >"$T/s3.out" 2>&1 || { cat "$T/s3.out"; fail "sync after the refusal failed"; }
assert_eq 0 "$(count 2 INBOX EXTRA3)" "EXTRA3 after the rerun"
assert_eq 1 "$(count 2 INBOX KEEPME)" "KEEPME after the rerun"
compare || fail "not converged after the refused deletion"

note "postsync: host1 without UIDPLUS, host2 without APPENDUID"
proxy noplus1 "$LAB_HOST1" --hide UIDPLUS --no-uid-expunge
"$PYTHON" "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 3 --tag POSTNEW --seed 6 >/dev/null
sync_via "$PORT_noplus1" "$PORT_noplus2" --delete1 --maxage 1h --folder INBOX --json >"$T/p1.json" 2>"$T/p1.err" ||
	{ cat "$T/p1.err"; fail "postsync without UIDPLUS failed"; }
assert_eq 3 "$(json_total deleted1 <"$T/p1.json")" "deleted on host1"
assert_eq 0 "$(count 1 INBOX POSTNEW)" "POSTNEW on host1"
assert_eq 3 "$(count 2 INBOX POSTNEW)" "POSTNEW on host2"
assert_eq 1 "$(count 1 INBOX KEEPME)" "older INBOX mail on host1"

note "postsync whose copies host2 refuses (over quota): nothing leaves host1"
proxy full2 "$LAB_HOST2" --refuse-append
"$PYTHON" "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 2 --tag POSTQUOTA --seed 7 >/dev/null
rc=0
sync_via - "$PORT_full2" --delete1 --maxage 1h --folder INBOX >"$T/q.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "postsync exit with host2 refusing the copies"
assert_contains "$(cat "$T/q.out")" "OVERQUOTA"
assert_eq 2 "$(count 1 INBOX POSTQUOTA)" "POSTQUOTA on host1"
assert_eq 0 "$(count 2 INBOX POSTQUOTA)" "POSTQUOTA on host2"
note "with room again the same postsync moves them"
sync_via - - --delete1 --maxage 1h --folder INBOX >"$T/q2.out" 2>&1 || { cat "$T/q2.out"; fail "postsync after quota failed"; }
assert_eq 0 "$(count 1 INBOX POSTQUOTA)" "POSTQUOTA on host1 after the rerun"
assert_eq 2 "$(count 2 INBOX POSTQUOTA)" "POSTQUOTA on host2 after the rerun"

note "host2 without LITERAL+: streamed MULTIAPPENDs wait for each continuation"
reset 2
"$PYTHON" "$S/gen_corpus.py" append "${C1[@]}" --folder INBOX --count 4 --size 300000 --tag BIGSYNC --seed 8 --age 7200 >/dev/null
proxy nolit2 "$LAB_HOST2" --hide LITERAL+ --hide LITERAL-
rc=0
timeout 300 "$CUTOVER_BIN" -vv sync --host1 "$LAB_HOST1:$LAB_IMAPS_PORT" --tls-name1 "$LAB_TLS_NAME" \
	--host2 "127.0.0.1:$PORT_nolit2" --tls2 plain --user1 "$U" --passfile1 "$T/pass" \
	--user2 "$U" --passfile2 "$T/pass" --ca-file "$LAB_CA" --delete2 >"$T/nolit.out" 2>&1 || rc=$?
[ "$rc" -ne 124 ] || fail "sync to a host2 without LITERAL+ hung"
assert_eq 0 "$rc" "sync to a host2 without LITERAL+ ($(grep -a error: "$T/nolit.out" | tail -3))"
grep -a -q 'host2 C: A[0-9]* APPEND .* {[0-9]*} <' "$T/nolit.out" ||
	fail "no synchronising APPEND literal in the trace"
assert_not_contains "$(grep -a 'host2 C: ' "$T/nolit.out")" "+}" "host2 commands (LITERAL+ used)"
compare || fail "host2 differs from host1 after a sync without LITERAL+"

note "host2 keeps no keywords: the sync succeeds and does not repeat itself"
reset 2
proxy nokw2 "$LAB_HOST2" --no-keywords
sync_via - "$PORT_nokw2" --delete2 --json >"$T/k1.json" 2>"$T/k1.err" || { cat "$T/k1.err"; fail "sync to a keyword-less host2 failed"; }
assert_contains "$(cat "$T/k1.err")" "PERMANENTFLAGS"
[ "$(json_total copied <"$T/k1.json")" -gt 0 ] || fail "nothing copied"
sync_via - "$PORT_nokw2" --delete2 --json >"$T/k2.json" 2>"$T/k2.err" || { cat "$T/k2.err"; fail "second sync to a keyword-less host2 failed"; }
assert_eq 0 "$(json_total copied <"$T/k2.json")" "copied by the second sync"
assert_eq 0 "$(json_total flags_updated <"$T/k2.json")" "flags updated by the second sync"
assert_eq 0 "$(json_total deleted2 <"$T/k2.json")" "deleted by the second sync"

note "host2 refuses keywords outside its PERMANENTFLAGS (no \\*): they are not sent"
# A server with a fixed keyword set ($Forwarded) that answers NO to an
# APPEND or STORE carrying any other keyword: sending $label1 or custom
# would fail the folder on every run.
reset 2
"$PYTHON" "$S/gen_corpus.py" append "${C1[@]}" --folder Keywords --count 3 --tag KWSTRICT --seed 9 --age 3600 >/dev/null
KW1=INBOX.Keywords
$LAB_DOVEADM1 flags add -u "$U" '\Seen \Flagged $label1 custom $Forwarded' mailbox "$KW1" uid 1
$LAB_DOVEADM1 flags add -u "$U" '\Answered \Draft custom' mailbox "$KW1" uid 2
kwflags() { # kwflags DOVEADM MAILBOX: each message's flags, by subject
	# shellcheck disable=SC2086 # command prefix
	$1 -f tab fetch -u "$U" 'hdr.subject flags' mailbox "$2" all | tail -n +2 |
		"$PYTHON" -c '
import sys
for line in sys.stdin:
    subj, _, flags = line.rstrip("\n").partition("\t")
    fl = sorted(f.lower() for f in flags.split() if f != "\\Recent")
    print(subj.strip(), " ".join(fl))' | sort
}
kwsystem() { # the same without keywords
	kwflags "$@" | sed -E 's/ [^ \\][^ ]*//g'
}
proxy strictkw2 "$LAB_HOST2" --strict-keywords '$Forwarded'
sync_via - "$PORT_strictkw2" --delete2 --folder "$KW1" --json >"$T/sk1.json" 2>"$T/sk1.err" ||
	{ cat "$T/sk1.err"; fail "sync to a host2 refusing keywords failed"; }
assert_eq 3 "$(json_total copied <"$T/sk1.json")" "copied to the host2 refusing keywords"
assert_contains "$(cat "$T/sk1.err")" "cannot keep the keywords \$label1 custom ("
assert_eq 1 "$(grep -a -c 'cannot keep' "$T/sk1.err")" "warnings naming the keywords"
assert_eq "$(kwsystem "$LAB_DOVEADM1" "$KW1")" "$(kwsystem "$LAB_DOVEADM2" Keywords)" "system flags on host2"
assert_contains "$(kwflags "$LAB_DOVEADM2" Keywords)" "\$forwarded \\flagged \\seen" "host2 flags"
assert_not_contains "$(kwflags "$LAB_DOVEADM2" Keywords)" "label1" "host2 flags"
assert_not_contains "$(kwflags "$LAB_DOVEADM2" Keywords)" "custom" "host2 flags"
assert_contains "$(kwflags "$LAB_DOVEADM1" "$KW1")" "\$label1" "host1 flags"
note "the second run copies and stores nothing"
sync_via - "$PORT_strictkw2" --delete2 --folder "$KW1" --json >"$T/sk2.json" 2>"$T/sk2.err" ||
	{ cat "$T/sk2.err"; fail "second sync to a host2 refusing keywords failed"; }
assert_eq 0 "$(json_total copied <"$T/sk2.json")" "copied by the second sync"
assert_eq 0 "$(json_total flags_updated <"$T/sk2.json")" "flags updated by the second sync"
assert_eq 0 "$(json_total deleted2 <"$T/sk2.json")" "deleted by the second sync"
assert_eq 3 "$(json_total in_sync <"$T/sk2.json")" "in sync after the second sync"
note "a flag change on host1 is stored without the refused keywords"
$LAB_DOVEADM1 flags add -u "$U" '\Flagged $label1' mailbox "$KW1" uid 3
sync_via - "$PORT_strictkw2" --delete2 --folder "$KW1" --json >"$T/sk3.json" 2>"$T/sk3.err" ||
	{ cat "$T/sk3.err"; fail "flag update to a host2 refusing keywords failed"; }
assert_eq 1 "$(json_total flags_updated <"$T/sk3.json")" "flags updated"
assert_eq "$(kwsystem "$LAB_DOVEADM1" "$KW1")" "$(kwsystem "$LAB_DOVEADM2" Keywords)" "system flags on host2 after the update"
note "dry run: EXAMINE says nothing about keywords; those not in host2's FLAGS may be dropped"
sync_via - "$PORT_strictkw2" --delete2 --folder "$KW1" --dry-run --json >"$T/sk4.json" 2>"$T/sk4.err" ||
	{ cat "$T/sk4.err"; fail "dry run to a host2 refusing keywords failed"; }
assert_contains "$(cat "$T/sk4.err")" "may be dropped"
assert_contains "$(grep -a 'may be dropped' "$T/sk4.err")" "\$label1 custom ("
