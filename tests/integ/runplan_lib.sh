# runplan_lib.sh - helpers shared by the `cutover run` integration tests
# (run_test.sh, run_lucky_test.sh, run_crash_test.sh); source it after
# lib.sh and lab_up.
#
# Owns: the test plan and accounts CSV, the "original TTL" set with
# nsupdate, the independent views of the result (dig on the primary,
# sqlite3 on the state database, mailbox_compare.py over IMAP), the
# webhook receiver and the background mail delivery to host1.
# shellcheck shell=bash

RUN_S=$CUTOVER_SOURCE_DIR/scripts
RUN_CSV_USERS=()

cut() { "$CUTOVER_BIN" "$@"; }
user() { printf 'user%02d' "$1"; }
h1args() { echo --host "$LAB_HOST1" --port "$LAB_IMAPS_PORT" --user "$1" --password "pass-$1" --ca "$LAB_CA"; }
h2args() { echo --host "$LAB_HOST2" --port "$LAB_IMAPS_PORT" --user "$1" --password "pass-$1" --ca "$LAB_CA"; }

# run_accounts FILE USER...: the accounts CSV (IMAPS on both sides, by
# address: the lucky scenario needs addresses, the classical one accepts
# them).
run_accounts() {
	local f=$1 u
	shift
	RUN_CSV_USERS=("$@")
	: >"$f"
	chmod 600 "$f"
	for u in "$@"; do
		echo "$LAB_HOST1:$LAB_IMAPS_PORT;$u;pass-$u;$LAB_HOST2:$LAB_IMAPS_PORT;$u;pass-$u;" >>"$f"
	done
}

# run_fill USER SEED COUNT: a small generated corpus on host1.
run_fill() {
	# shellcheck disable=SC2046
	"$PYTHON" "$RUN_S/gen_corpus.py" fill $(h1args "$1") --seed "$2" --count "$3" --big 0 --dups 1 >/dev/null ||
		fail "gen_corpus fill $1"
}

# run_plan FILE STATE CSV [EXTRA-INI-TEXT]: a plan for the lab's lab.test.
# with TTLs of seconds (low_ttl 3, margin 2s). EXTRA is appended verbatim
# (further sections: [imap], [hooks]); RUN_SCENARIO, RUN_MODE and
# RUN_MAXAGE adjust the defaults.
run_plan() {
	cat >"$1" <<EOF
[migration]
scenario = ${RUN_SCENARIO:-classical}
margin = 2s
state = $2

[dns]
zone = lab.test
port = $LAB_DNS_PORT
server = $LAB_PRIMARY4
tsig_key = $LAB_TSIG_KEY
low_ttl = ${RUN_LOW_TTL:-3}
mode = ${RUN_MODE:-rfc2136}
resolvers = $LAB_RESOLVER

[mx]
old = 10 mx1.old.lab.test., 20 mx2.old.lab.test.
new = 10 mx1.new.lab.test.

[sync]
accounts = $3
jobs = 2
ca_file = $LAB_CA
${RUN_MAXAGE:+maxage = $RUN_MAXAGE}
${4:-}
EOF
}

# run_set_rrset NAME TYPE TTL RDATA...: replace an RRset on the primary
# (the "original" data and TTL a test starts from).
run_set_rrset() {
	local name=$1 type=$2 ttl=$3 rd
	shift 3
	{
		echo "update delete $name $type"
		for rd in "$@"; do echo "update add $name $ttl $type $rd"; done
	} | dns_update "$LAB_PRIMARY4" "$LAB_TSIG_KEY" lab.test || fail "nsupdate $name $type"
}

# run_settle_resolver: the records just set are what the zone has served
# "for days": the secondary has them, and unbound forgets what it cached of
# the lab's start-up records (TTL 3600, possibly fetched from the secondary
# before it caught up), which a real resolver would have dropped long ago.
_run_same_serial() {
	[ "$(dns_serial "$LAB_SECONDARY")" = "$(dns_serial "$LAB_PRIMARY4")" ]
}
run_settle_resolver() {
	wait_for 30 _run_same_serial || fail "the secondary did not catch up"
	# shellcheck disable=SC2086 # LAB_UNBOUND_CONTROL is a command prefix
	$LAB_UNBOUND_CONTROL flush_zone lab.test >/dev/null || fail "unbound flush_zone"
}

# run_mx SERVER: the MX RRset served, "PREF NAME" comma-separated, sorted.
run_mx() {
	dns_get "${1:-$LAB_PRIMARY4}" lab.test MX | paste -sd, -
}

# run_db STATE SQL: one query on the state database.
run_db() {
	sqlite3 "$1/cutover.db" "$2"
}

# run_step_time STATE STEP PHASE: epoch time of the last entry.
run_step_time() {
	run_db "$1" "SELECT time FROM entries WHERE step='$2' AND phase='$3' ORDER BY id DESC LIMIT 1"
}

# run_fact STATE KEY FIELD: a number from a JSON fact.
run_fact() {
	run_db "$1" "SELECT json_extract(value, '\$.$3') FROM facts WHERE key='$2'"
}

# run_count HOST USER FOLDER SUBJECT: messages of FOLDER with SUBJECT.
run_count() {
	local args
	if [ "$1" = 1 ]; then args=$(h1args "$2"); else args=$(h2args "$2"); fi
	# shellcheck disable=SC2086
	"$PYTHON" "$RUN_S/mailbox_compare.py" count $args --folder "$3" --subject "$4"
}

# run_snapshot HOST USER: canonical JSON of one account, without the
# RFC 3501 \Marked/\Unmarked hints (they change when mail merely arrives).
run_snapshot() {
	local args
	if [ "$1" = 1 ]; then args=$(h1args "$2"); else args=$(h2args "$2"); fi
	# shellcheck disable=SC2086
	"$PYTHON" "$RUN_S/mailbox_compare.py" snapshot $args |
		jq -S 'map_values(.attrs -= ["\\marked", "\\unmarked"])'
}

# run_compare USER [--allow-extra]: every host1 folder on host2.
run_compare() {
	"$PYTHON" "$RUN_S/mailbox_compare.py" compare \
		--host1 "$LAB_HOST1" --port1 "$LAB_IMAPS_PORT" --user1 "$1" --password1 "pass-$1" \
		--host2 "$LAB_HOST2" --port2 "$LAB_IMAPS_PORT" --user2 "$1" --password2 "pass-$1" \
		--ca "$LAB_CA" "${@:2}"
}

# run_webhook OUTFILE: starts the receiver, sets RUN_WEBHOOK_URL.
run_webhook() {
	local pf=$1.port
	rm -f "$pf"
	"$PYTHON" "$CUTOVER_SOURCE_DIR/tests/integ/webhook_receiver.py" "$1" --port-file "$pf" &
	RUN_WEBHOOK_PID=$!
	on_exit "kill $RUN_WEBHOOK_PID 2>/dev/null"
	wait_for 5 test -s "$pf" || fail "webhook receiver did not start"
	RUN_WEBHOOK_URL="http://127.0.0.1:$(cat "$pf")/cutover"
}

# run_deliver_until USER PREFIX STATE LOG: the MX-window mail. Appends
# "PREFIX-NN." to host1 USER's INBOX every second from when the primary
# serves the new MX until one second before the mx_visible deadline is
# reached (mail arriving later is the next day's postsync's business, not
# this run's). Writes the subjects delivered to LOG. Run it in the
# background.
run_deliver_until() {
	local u=$1 prefix=$2 state=$3 log=$4 n=0 deadline now subj
	: >"$log"
	wait_for 60 run_mx_is_new || return 1
	while :; do
		deadline=$(run_fact "$state" mx_visible deadline 2>/dev/null || true)
		now=$(date +%s.%N)
		if [ -n "$deadline" ] && awk -v n="$now" -v d="$deadline" 'BEGIN{exit !(n > d - 1.5)}'; then
			break
		fi
		n=$((n + 1))
		subj=$(printf '%s-%02d.' "$prefix" "$n")
		imap_append "$LAB_HOST1" "$u" INBOX "$subj" && echo "$subj" >>"$log"
		sleep 1
	done
}

run_mx_is_new() {
	[ "$(run_mx)" = "10 mx1.new.lab.test." ]
}

# run_at SECONDS: an RFC 3339 time SECONDS from now.
run_at() {
	date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ
}

# run_add A B: A + B (floats, microseconds kept).
run_add() {
	awk -v a="$1" -v b="$2" 'BEGIN{printf "%.6f", a + b}'
}

# run_ge A B WHAT: A >= B (floats).
run_ge() {
	awk -v a="$1" -v b="$2" 'BEGIN{exit !(a >= b)}' || fail "$3: $1 < $2"
}
