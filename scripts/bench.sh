#!/usr/bin/env bash
# bench.sh: throughput of the sync engine (`cutover sync`) next to mbsync
# (isync) and Dovecot's dsync (`doveadm backup` through imapc), on the
# same pair of lab Dovecots, in one run.  See docs/performance.md.
#
#   scripts/bench.sh                 full corpora (3,000 mixed, 20,000 small,
#                                    8 x 20 MB) and the parallel run
#   BENCH_QUICK=1 scripts/bench.sh   small corpora, a sanity run
#
# For each corpus and each repetition the tools run in turn (cutover,
# mbsync, dsync; the order rotates each repetition): full copy into an
# emptied host2 account, no-op resync, delta resync (new messages and flag
# changes on host1).  Every run is verified before it counts (a failed
# check aborts the benchmark): scripts/mailbox_compare.py (host2 INBOX
# byte-equal to host1 INBOX with flags and INTERNALDATE) for cutover and
# dsync; for mbsync, which adds an X-TUID header line to every copy, the
# same multiset of (Message-ID, flags).  Medians are printed with messages/s, MB/s, peak
# RSS of the tool's process (GNU time %M) and the ratios to cutover.
#
# The "big" corpus (8 messages of 20 MB) measures peak RSS with large
# messages.  The parallel run (BENCH_PARALLEL=1, the default) times
# `cutover presync` of one account and of BENCH_PAR_ACCOUNTS (20) accounts
# with jobs = BENCH_PAR_JOBS (4), alternating, each account holding
# BENCH_PAR_MSGS (500) messages of 2-20 KB, every account verified; the
# table gives the ratio (20 accounts / one account).
#
# Env: BENCH_REPS (3), BENCH_QUICK, BENCH_CORPORA ("mixed small big"),
#      BENCH_TOOLS ("cutover mbsync dsync"), CUTOVER_BIN (build/bin/cutover),
#      BENCH_LAB_DIR (reuse a running lab, which needs LAB_ACCOUNTS >= 22 +
#      BENCH_PAR_ACCOUNTS for the parallel run; default: start one in a temp
#      dir on LAB_NET, default 127.0.45, and stop it at the end),
#      BENCH_OUT (directory for logs and results; default a temp dir),
#      BENCH_CUTOVER_ARGS (extra options for cutover sync).
# Needs: root (corpora are written straight into host1's Maildir and
# host2's account is emptied on disk), isync, dovecot-core, time, python3.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
REPS=${BENCH_REPS:-3}
QUICK=${BENCH_QUICK:-0}
CORPORA=${BENCH_CORPORA:-mixed small big}
PARALLEL=${BENCH_PARALLEL:-1}
PAR_N=${BENCH_PAR_ACCOUNTS:-20}
PAR_JOBS=${BENCH_PAR_JOBS:-4}
PAR_MSGS=${BENCH_PAR_MSGS:-500}
[ "$QUICK" = 1 ] && PAR_MSGS=${BENCH_PAR_MSGS:-100}
TOOLS=${BENCH_TOOLS:-cutover mbsync dsync}
CUTOVER_BIN=${CUTOVER_BIN:-$SRC/build/bin/cutover}
TIME=/usr/bin/time

die() {
	echo "bench: $*" >&2
	exit 1
}

[ -x "$CUTOVER_BIN" ] || die "$CUTOVER_BIN missing: build first (cmake --build build)"
[ -x "$TIME" ] || die "/usr/bin/time missing: scripts/install-deps.sh installs it (package time)"
command -v mbsync >/dev/null || die "mbsync missing (package isync)"
command -v doveadm >/dev/null || die "doveadm missing (package dovecot-core)"
[ "$(id -u)" = 0 ] || die "run as root: corpora are written into the lab's Maildirs"

OUT=${BENCH_OUT:-$(mktemp -d /tmp/cutover-bench.XXXXXX)}
mkdir -p "$OUT"
OWN_LAB=0
if [ -n "${BENCH_LAB_DIR:-}" ]; then
	LAB=$BENCH_LAB_DIR
	"$SRC/scripts/lab.sh" status "$LAB" >/dev/null || die "no running lab in $LAB"
else
	LAB=$OUT/lab
	# accounts user01..user22 for the corpora, then the parallel ones
	LAB_ACCOUNTS=$((22 + PAR_N)) LAB_NET=${LAB_NET:-127.0.45} \
		"$SRC/scripts/lab.sh" start "$LAB" >"$OUT/lab.log" 2>&1 ||
		die "lab start failed, see $OUT/lab.log"
	OWN_LAB=1
fi
cleanup() {
	if [ "$OWN_LAB" = 1 ]; then
		"$SRC/scripts/lab.sh" stop "$LAB" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT
eval "$("$SRC/scripts/lab.sh" env "$LAB")"
# LAB_DOVEADM* are command prefixes, meant to be split.
read -r -a DA1 <<<"$LAB_DOVEADM1"
read -r -a DA2 <<<"$LAB_DOVEADM2"
PORT=$LAB_IMAPS_PORT
# mbsync checks host names only, not IP SANs: trust the two server
# certificates themselves (isync accepts a certificate listed verbatim).
cat "$LAB/tls/host1.pem" "$LAB/tls/host2.pem" >"$OUT/servers.pem"

# ---- corpora ----

# gen HOME COUNT MIN MAX NBIG BIGMIN BIGMAX SEED: Maildir messages with
# Message-IDs, a few flags, INTERNALDATE (mtime) one minute apart.
gen() {
	python3 - "$@" <<'EOF'
import os, random, sys, time
home = sys.argv[1]
count, lo, hi, nbig, biglo, bighi, seed = map(int, sys.argv[2:9])
rng = random.Random(seed)
words = ("alpha beta gamma delta migration mailbox server cutover message "
         "folder quota backup weekend report budget meeting").split()
pool = []
for _ in range(4096):
    s = ""
    while len(s) < 74:
        s += rng.choice(words) + " "
    pool.append((s[:74] + "\r\n").encode())
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(home, "Maildir", d), exist_ok=True)
sizes = [rng.randint(lo, hi) for _ in range(count)]
for k in rng.sample(range(count), nbig):
    sizes[k] = rng.randint(biglo, bighi)
total = 0
for i, size in enumerate(sizes):
    t = 1700000000 + i * 60
    hdr = ("From: Sender %d <sender%d@example.org>\r\nTo: user <user@lab.test>\r\n"
           "Subject: bench %d %s\r\nDate: %s\r\n"
           "Message-ID: <bench-%d-%d@example.org>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n") % (
        i % 7, i % 7, i, rng.choice(words),
        time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t)), seed, i)
    b = bytearray(hdr.encode())
    j = rng.randrange(4096)
    while len(b) < size:
        b += pool[j % 4096]
        j += 7
    del b[size - 2:]
    while b.endswith(b"\r") or b.endswith(b"\n"):
        b[-1:] = b"x"  # no bare CR/LF before the final CRLF
    b += b"\r\n"
    flags = ("F" if rng.random() < 0.1 else "") + ("S" if rng.random() < 0.7 else "")
    p = os.path.join(home, "Maildir", "cur",
                     "%d.M%dP1.bench,S=%d:2,%s" % (t, i, len(b), flags))
    with open(p, "wb") as f:
        f.write(b)
    os.utime(p, (t, t))
    total += len(b)
print(count, total)
EOF
}

# corpus NAME -> sets C_USER C_MSGS C_BYTES, fills host1 once
corpus() {
	local n lo hi nbig blo bhi
	case $1 in
	mixed) # 3,000 messages, ~69 MB: mostly 2-20 KB, some MBs
		C_USER=user20
		n=3000 lo=2048 hi=20480 nbig=15 blo=1000000 bhi=4000000
		[ "$QUICK" = 1 ] && n=300 nbig=2
		;;
	small) # 20,000 messages of 1-10 KB
		C_USER=user21
		n=20000 lo=1024 hi=10240 nbig=0 blo=0 bhi=0
		[ "$QUICK" = 1 ] && n=2000
		;;
	big) # 8 messages of 20 MB: peak RSS with large messages
		C_USER=user22
		n=8 lo=20000000 hi=21000000 nbig=0 blo=0 bhi=0
		[ "$QUICK" = 1 ] && n=3
		;;
	*) die "unknown corpus $1" ;;
	esac
	wait_idle 1 "$C_USER"
	rm -rf "$LAB/host1/mail/$C_USER"
	read -r C_MSGS C_BYTES < <(gen "$LAB/host1/mail/$C_USER" "$n" "$lo" "$hi" "$nbig" "$blo" "$bhi" 7)
	chown -R vmail:vmail "$LAB/host1/mail/$C_USER"
	# index host1 once, outside the timings
	"${DA1[@]}" mailbox status -u "$C_USER" messages INBOX >/dev/null
	"${DA1[@]}" fetch -u "$C_USER" 'uid flags date.received size.physical hdr.message-id' mailbox INBOX all >/dev/null
}

# wait_idle HOST USER: no IMAP session of USER left on hostN (a finished
# client's server process may still be completing its last commands).
wait_idle() {
	local da=("${DA1[@]}") i
	[ "$1" = 2 ] && da=("${DA2[@]}")
	for i in $(seq 1 100); do
		"${da[@]}" who 2>/dev/null | grep -w "$2" >/dev/null || return 0
		sleep 0.1
	done
	die "host$1 session of $2 does not end"
}

empty_host2() {
	wait_idle 2 "$C_USER"
	rm -rf "$LAB/host2/mail/$C_USER" "$OUT/state-$1" "$OUT/mbstate-$1"
	mkdir -p "$OUT/mbstate-$1" "$OUT/state-$1"
}

DELTA_N=0
# delta: 5 new messages and \Flagged on 10 older ones, on host1.
delta() {
	local i uid
	DELTA_N=$((DELTA_N + 1))
	for i in 1 2 3 4 5; do
		printf 'From: d@example.org\r\nSubject: delta %s %s\r\nMessage-ID: <delta-%s-%s@example.org>\r\n\r\nnew mail\r\n' \
			"$DELTA_N" "$i" "$DELTA_N" "$i" | "${DA1[@]}" save -u "$C_USER" -m INBOX
	done
	uid=$((DELTA_N * 10 + 1))
	"${DA1[@]}" flags add -u "$C_USER" '\Flagged' mailbox INBOX uid "$uid:$((uid + 9))"
	C_MSGS=$((C_MSGS + 5))
}

# verify_loose LABEL: same multiset of (Message-ID, flags) in both INBOXes.
# For mbsync, whose copies carry an added X-TUID header line.
verify_loose() {
	"${DA1[@]}" -f tab fetch -u "$C_USER" 'hdr.message-id flags' mailbox INBOX all | sort >"$OUT/v1"
	"${DA2[@]}" -f tab fetch -u "$C_USER" 'hdr.message-id flags' mailbox INBOX all | sort >"$OUT/v2"
	cmp -s "$OUT/v1" "$OUT/v2" || {
		diff "$OUT/v1" "$OUT/v2" | head -5 >&2
		die "$1: host2 differs from host1 (Message-IDs and flags)"
	}
}

# verify LABEL: byte-exact copies with flags and INTERNALDATE.
verify() {
	python3 "$SRC/scripts/mailbox_compare.py" compare --folder INBOX \
		--host1 "$LAB_HOST1" --port1 "$PORT" --user1 "$C_USER" --password1 "pass-$C_USER" \
		--host2 "$LAB_HOST2" --port2 "$PORT" --user2 "$C_USER" --password2 "pass-$C_USER" \
		--ca "$LAB_CA" >"$OUT/verify.log" 2>&1 ||
		{
			tail -5 "$OUT/verify.log" >&2
			die "$1: host2 differs from host1 (see $OUT/verify.log)"
		}
}

mbsyncrc() { # mbsyncrc TOOLDIR
	local side host
	: >"$OUT/mbsyncrc"
	for side in 1 2; do
		host=$LAB_HOST1
		[ $side = 2 ] && host=$LAB_HOST2
		cat >>"$OUT/mbsyncrc" <<EOF
IMAPAccount h$side
Host $host
Port $PORT
User $C_USER
Pass pass-$C_USER
SSLType IMAPS
CertificateFile $OUT/servers.pem
PipelineDepth 64

IMAPStore h$side
Account h$side

EOF
	done
	# host1 is Far, host2 Near: Sync Pull copies host1 -> host2.
	cat >>"$OUT/mbsyncrc" <<EOF
Channel bench
Far :h1:
Near :h2:
Patterns INBOX
Sync Pull
Create Near
Expunge Near
CopyArrivalDate yes
SyncState $1/
EOF
}

# run_tool TOOL KIND REP: one timed run; appends "corpus tool kind secs rss"
run_tool() {
	local tool=$1 kind=$2 tag="$CORPUS $1 $2 $3" log="$OUT/run.log"
	local -a cmd
	case $tool in
	cutover)
		printf 'pass-%s\n' "$C_USER" >"$OUT/pass"
		chmod 600 "$OUT/pass"
		# shellcheck disable=SC2206
		cmd=("$CUTOVER_BIN" -q sync --delete2
			--host1 "$LAB_HOST1:$PORT" --user1 "$C_USER" --passfile1 "$OUT/pass"
			--host2 "$LAB_HOST2:$PORT" --user2 "$C_USER" --passfile2 "$OUT/pass"
			--ca-file "$LAB_CA" --tls-name1 "$LAB_TLS_NAME" --tls-name2 "$LAB_TLS_NAME"
			${BENCH_CUTOVER_ARGS:-})
		if "$CUTOVER_BIN" sync --help 2>&1 | grep -- --state-dir >/dev/null; then
			cmd+=(--state-dir "$OUT/state-cutover")
		fi
		;;
	mbsync)
		mbsyncrc "$OUT/mbstate-mbsync"
		cmd=(mbsync -q -c "$OUT/mbsyncrc" -a)
		;;
	dsync)
		cmd=("${DA2[@]}" -o "imapc_host=$LAB_HOST1" -o "imapc_port=$PORT"
			-o "imapc_user=$C_USER" -o "imapc_password=pass-$C_USER"
			-o imapc_ssl=imaps -o "ssl_client_ca_file=$LAB_CA"
			-o mail_prefetch_count=20 -o imapc_features=rfc822.size
			backup -R -u "$C_USER" imapc:)
		;;
	esac
	echo "== $tag" >>"$log"
	"$TIME" -f '%e %M' -o "$OUT/time" "${cmd[@]}" >>"$log" 2>&1 ||
		die "$tag: $tool failed (exit status in $log)"
	read -r secs rss <"$OUT/time"
	if [ "$tool" = mbsync ]; then verify_loose "$tag"; else verify "$tag"; fi
	wait_idle 1 "$C_USER"
	wait_idle 2 "$C_USER"
	echo "$CORPUS $tool $kind $secs $rss $C_MSGS $C_BYTES" >>"$OUT/results"
	printf '%-6s %-8s %-6s rep %s: %6.2f s  %7d KiB\n' "$CORPUS" "$tool" "$kind" "$3" "$secs" "$rss"
}

: >"$OUT/results"
echo "bench: results in $OUT (lab $LAB, $REPS repetitions, quick=$QUICK)"
for CORPUS in $CORPORA; do
	corpus "$CORPUS"
	echo "corpus $CORPUS: $C_MSGS messages, $C_BYTES bytes"
	read -r -a order <<<"$TOOLS"
	for rep in $(seq 1 "$REPS"); do
		for tool in "${order[@]}"; do
			empty_host2 "$tool"
			run_tool "$tool" full "$rep"
			run_tool "$tool" noop "$rep"
			delta
			run_tool "$tool" delta "$rep"
		done
		# rotate so no tool always runs first
		order=("${order[@]:1}" "${order[0]}")
	done
done

# ---- parallel accounts: cutover presync, 1 account vs PAR_N, jobs = PAR_JOBS ----

par_user() { printf 'user%02d' $((22 + $1)); }

# par_plan NAME COUNT: plan + CSV for the first COUNT parallel accounts
par_plan() {
	local d=$OUT/par-$1 i u
	mkdir -p "$d"
	: >"$d/accounts.csv"
	chmod 600 "$d/accounts.csv"
	for i in $(seq 1 "$2"); do
		u=$(par_user "$i")
		echo "$LAB_HOST1:$PORT;$u;pass-$u;$LAB_HOST2:$PORT;$u;pass-$u;" >>"$d/accounts.csv"
	done
	cat >"$d/plan.ini" <<EOF2
[migration]
scenario = classical
state = $d/state

[dns]
zone = lab.test
server = $LAB_PRIMARY4:$LAB_DNS_PORT
tsig_key = $LAB_TSIG_KEY

[mx]
old = 10 mx1.old.lab.test., 20 mx2.old.lab.test.
new = 10 mx1.new.lab.test.

[sync]
accounts = $d/accounts.csv
jobs = $PAR_JOBS
tls1 = imaps
tls2 = imaps
ca_file = $LAB_CA
EOF2
}

# par_run NAME COUNT REP: full copy of COUNT accounts into emptied host2s
par_run() {
	local name=$1 n=$2 d=$OUT/par-$1 i u secs rss log="$OUT/run.log"
	for i in $(seq 1 "$n"); do
		u=$(par_user "$i")
		wait_idle 2 "$u"
		rm -rf "$LAB/host2/mail/$u"
	done
	rm -rf "$d/state"
	echo "== parallel $name $3" >>"$log"
	"$TIME" -f '%e %M' -o "$OUT/time" "$CUTOVER_BIN" -q presync "$d/plan.ini" >>"$log" 2>&1 ||
		die "parallel $name: cutover presync failed (see $log)"
	read -r secs rss <"$OUT/time"
	for i in $(seq 1 "$n"); do
		C_USER=$(par_user "$i")
		verify "parallel $name $C_USER"
		wait_idle 1 "$C_USER"
		wait_idle 2 "$C_USER"
	done
	echo "parallel cutover $name $secs $rss $((n * PAR_MSGS)) $((n * PAR_BYTES))" >>"$OUT/results"
	printf '%-8s %-8s %-6s rep %s: %6.2f s  %7d KiB\n' parallel cutover "$name" "$3" "$secs" "$rss"
}

if [ "$PARALLEL" = 1 ]; then
	[ "${LAB_ACCOUNTS:-0}" -ge $((22 + PAR_N)) ] ||
		die "the lab has ${LAB_ACCOUNTS:-?} accounts, the parallel run needs $((22 + PAR_N)) (LAB_ACCOUNTS)"
	PAR_BYTES=0
	for i in $(seq 1 "$PAR_N"); do
		u=$(par_user "$i")
		wait_idle 1 "$u"
		rm -rf "$LAB/host1/mail/$u"
		read -r _ b < <(gen "$LAB/host1/mail/$u" "$PAR_MSGS" 2048 20480 0 0 0 "$((100 + i))")
		chown -R vmail:vmail "$LAB/host1/mail/$u"
		"${DA1[@]}" fetch -u "$u" 'uid flags date.received size.physical hdr.message-id' mailbox INBOX all >/dev/null
		[ "$i" = 1 ] && PAR_BYTES=$b # accounts are about the same size
	done
	echo "parallel: $PAR_N accounts of $PAR_MSGS messages, jobs = $PAR_JOBS"
	par_plan one 1
	par_plan all "$PAR_N"
	for rep in $(seq 1 "$REPS"); do
		if [ $((rep % 2)) = 1 ]; then
			par_run one 1 "$rep"
			par_run all "$PAR_N" "$rep"
		else
			par_run all "$PAR_N" "$rep"
			par_run one 1 "$rep"
		fi
	done
fi

python3 - "$OUT/results" "$TOOLS" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
tools = sys.argv[2].split()
res = {}
for corpus, tool, kind, secs, rss, msgs, nbytes in rows:
    res.setdefault((corpus, kind, tool), []).append((float(secs), int(rss), int(msgs), int(nbytes)))
print()
print("| corpus | work | tool | median s | msg/s | MB/s | peak RSS MiB | vs cutover |")
print("|---|---|---|---:|---:|---:|---:|---:|")
for corpus in dict.fromkeys(r[0] for r in rows):
    for kind in ("full", "noop", "delta"):
        base = res.get((corpus, kind, "cutover"))
        bmed = statistics.median(x[0] for x in base) if base else None
        for tool in tools:
            v = res.get((corpus, kind, tool))
            if not v:
                continue
            med = statistics.median(x[0] for x in v)
            msgs, nbytes = v[0][2], v[0][3]
            rss = max(x[1] for x in v) / 1024
            rate = ("%.0f" if msgs / med >= 10 else "%.1f") % (msgs / med) \
                if kind == "full" and med > 0 else "-"
            mbs = "%.1f" % (nbytes / 1e6 / med) if kind == "full" and med > 0 else "-"
            ratio = "%.2fx" % (med / bmed) if bmed else "-"
            print("| %s | %s | %s | %.2f | %s | %s | %.1f | %s |" % (
                corpus, kind, tool, med, rate, mbs, rss, ratio))
print()
print("vs cutover = the tool's median time / cutover's (above 1: cutover is faster)")
one = res.get(("parallel", "one", "cutover"))
allr = res.get(("parallel", "all", "cutover"))
if one and allr:
    m1 = statistics.median(x[0] for x in one)
    ma = statistics.median(x[0] for x in allr)
    n = allr[0][2] // one[0][2]
    print()
    print("| parallel (cutover presync) | accounts | median s | msg/s | MB/s | peak RSS MiB | vs one account |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, v, med, k in (("one account", one, m1, 1), ("%d accounts" % n, allr, ma, n)):
        print("| %s | %d | %.2f | %.0f | %.1f | %.1f | %.2fx |" % (
            label, k, med, v[0][2] / med, v[0][3] / 1e6 / med,
            max(x[1] for x in v) / 1024, med / m1))
EOF
