#!/usr/bin/env bash
# load_test.sh: 200 accounts x 200 messages (LOAD_ACCOUNTS x LOAD_MESSAGES),
# `cutover presync` with jobs = 8, then new mail on host1 and `cutover
# postsync`: nothing lost, nothing duplicated, peak RSS reported and
# bounded.
#
# The corpus is written straight into host1's Maildirs (as vmail, with
# mtimes two days back, which Dovecot takes as INTERNALDATE); the new mail
# for the postsync has mtime "now".  The check reads the Maildirs of both
# servers directly (not through cutover, not through IMAP) and compares the
# Message-ID multisets per account and folder.
#
# Runs its own lab on LOAD_TEST_NET (default 127.0.66) with LOAD_ACCOUNTS
# accounts.  It takes a few minutes, hence its own ctest label `load`.
# ctest: own-lab timeout=1800 label=load
source "$(dirname "$0")/lib.sh"

[ -n "$CUTOVER_BIN" ] || skip "CUTOVER_BIN not set"
ACCOUNTS=${LOAD_ACCOUNTS:-200}
MESSAGES=${LOAD_MESSAGES:-200}
NEW=${LOAD_NEW:-3}
JOBS=${LOAD_JOBS:-8}
RSS_MAX=${LOAD_RSS_MAX:-400000} # kB
export LAB_NET=${LOAD_TEST_NET:-$TEST_NET_PREFIX.66}
export LAB_ACCOUNTS=$ACCOUNTS
LAB_PRIVATE=1 lab_up
T=$(test_tmpdir)

note "corpus: $ACCOUNTS accounts x $MESSAGES messages into host1's Maildirs"
# INBOX gets 3/4, "Projects" 1/4 (host1 INBOX.Projects -> host2 Projects).
"$PYTHON" - "$LAB_DIR/host1/mail" "$ACCOUNTS" "$MESSAGES" <<'EOF'
import os, random, sys, time
from concurrent.futures import ProcessPoolExecutor
root, naccounts, nmsg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
old = time.time() - 2 * 86400
def fill(i):
    user = "user%02d" % i
    rnd = random.Random(i)
    md = os.path.join(root, user, "Maildir")
    for sub in ("", ".Projects"):
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md + "/" + sub if sub else md, d), exist_ok=True)
    for k in range(nmsg):
        folder = md if k % 4 else os.path.join(md, ".Projects")
        body = ("line %d of a load test message for %s\r\n" % (k, user)) * rnd.randrange(5, 150)
        msg = ("From: load@lab.test\r\nTo: %s@lab.test\r\nSubject: load %d\r\n"
               "Message-ID: <load-%d-%d@lab.test>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
               "\r\n%s" % (user, k, i, k, body)).encode()
        flags = ":2,S" if k % 3 else ":2,"
        name = "%d.M%dP%d.load,S=%d%s" % (int(old) + k, k, i, len(msg), flags)
        p = os.path.join(folder, "cur", name)
        with open(p, "wb") as f:
            f.write(msg)
        os.utime(p, (old + k, old + k))
    with open(os.path.join(md, "subscriptions"), "w") as f:
        f.write("V\t2\n\nProjects\n")
    return user
with ProcessPoolExecutor(8) as ex:
    list(ex.map(fill, range(1, naccounts + 1)))
EOF
chown -R vmail:vmail "$LAB_DIR/host1/mail"

: >"$T/accounts.csv"
for i in $(seq 1 "$ACCOUNTS"); do
	u=$(printf 'user%02d' "$i")
	echo "$LAB_HOST1:$LAB_IMAP_PORT;$u;pass-$u;$LAB_HOST2:$LAB_IMAP_PORT;$u;pass-$u;" >>"$T/accounts.csv"
done
chmod 600 "$T/accounts.csv"
cat >"$T/plan" <<EOF
[migration]
scenario = classical
state = $T/state

[dns]
zone = lab.test
server = $LAB_PRIMARY4:$LAB_DNS_PORT
tsig_key = $LAB_TSIG_KEY

[mx]
old = 10 mx1.old.lab.test., 20 mx2.old.lab.test.
new = 10 mx1.new.lab.test.

[sync]
accounts = $T/accounts.csv
jobs = $JOBS
tls1 = plain
tls2 = plain
maxage = 1h
EOF

# check WHICH: compare Message-ID multisets of both servers' Maildirs.
#   presync:  host2 == host1 for every account and folder
#   postsync: host2 == corpus + new mail; host1 == corpus (new mail moved)
check() {
	"$PYTHON" - "$LAB_DIR" "$ACCOUNTS" "$MESSAGES" "$NEW" "$1" <<'EOF'
import collections, os, re, sys
lab, n, nmsg, new, which = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
mid = re.compile(rb"^Message-ID:\s*(<[^>]*>)", re.I | re.M)
def ids(d):
    c = collections.Counter()
    for sub in ("cur", "new"):
        p = os.path.join(d, sub)
        if not os.path.isdir(p):
            continue
        for f in os.listdir(p):
            with open(os.path.join(p, f), "rb") as fh:
                m = mid.search(fh.read(4096))
            c[m.group(1) if m else b"?"] += 1
    return c
bad = 0
for i in range(1, n + 1):
    u = "user%02d" % i
    h1 = os.path.join(lab, "host1/mail", u, "Maildir")
    h2 = os.path.join(lab, "host2/mail", u, "Maildir")
    want_inbox = collections.Counter(b"<load-%d-%d@lab.test>" % (i, k) for k in range(nmsg) if k % 4)
    want_proj = collections.Counter(b"<load-%d-%d@lab.test>" % (i, k) for k in range(nmsg) if not k % 4)
    newc = collections.Counter(b"<new-%d-%d@lab.test>" % (i, k) for k in range(new))
    got = {"host1 INBOX": ids(h1), "host1 Projects": ids(h1 + "/.Projects"),
           "host2 INBOX": ids(h2), "host2 Projects": ids(h2 + "/Projects")}
    if which == "presync":
        want = {"host1 INBOX": want_inbox, "host1 Projects": want_proj,
                "host2 INBOX": want_inbox, "host2 Projects": want_proj}
    else:
        want = {"host1 INBOX": want_inbox, "host1 Projects": want_proj,
                "host2 INBOX": want_inbox + newc, "host2 Projects": want_proj}
    for k in want:
        if got[k] != want[k]:
            bad += 1
            missing = want[k] - got[k]
            extra = got[k] - want[k]
            print("%s %s: %d missing %s, %d extra %s" % (u, k, sum(missing.values()),
                  list(missing)[:3], sum(extra.values()), list(extra)[:3]))
print("checked %d accounts: %d mismatches" % (n, bad))
sys.exit(1 if bad else 0)
EOF
}

note "presync: $ACCOUNTS accounts, jobs = $JOBS"
start=$(date +%s)
rc=0
/usr/bin/time -v -o "$T/time1" "$CUTOVER_BIN" presync "$T/plan" >"$T/p1.out" 2>"$T/p1.err" || rc=$?
t1=$(($(date +%s) - start))
rss1=$(awk -F': ' '/Maximum resident/ {print $2}' "$T/time1")
note "presync: exit $rc in ${t1}s, peak RSS ${rss1} kB: $(head -1 "$T/p1.out")"
[ "$rc" -eq 0 ] || fail "presync exited $rc: $(tail -5 "$T/p1.out" "$T/p1.err")"
check presync || fail "host2 differs from host1 after the presync"
[ "$rss1" -lt "$RSS_MAX" ] || fail "presync peak RSS ${rss1} kB >= ${RSS_MAX} kB"

note "new mail on host1 ($NEW per account), then postsync"
"$PYTHON" - "$LAB_DIR/host1/mail" "$ACCOUNTS" "$NEW" <<'EOF'
import os, sys, time
root, n, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(1, n + 1):
    d = os.path.join(root, "user%02d" % i, "Maildir", "new")
    for k in range(new):
        msg = ("From: late@lab.test\r\nSubject: late %d\r\nMessage-ID: <new-%d-%d@lab.test>\r\n"
               "\r\narrived after the MX change\r\n" % (k, i, k)).encode()
        with open(os.path.join(d, "%d.N%dP%d.load,S=%d" % (time.time(), k, i, len(msg))), "wb") as f:
            f.write(msg)
EOF
chown -R vmail:vmail "$LAB_DIR/host1/mail"
start=$(date +%s)
rc=0
/usr/bin/time -v -o "$T/time2" "$CUTOVER_BIN" postsync "$T/plan" >"$T/p2.out" 2>"$T/p2.err" || rc=$?
t2=$(($(date +%s) - start))
rss2=$(awk -F': ' '/Maximum resident/ {print $2}' "$T/time2")
note "postsync: exit $rc in ${t2}s, peak RSS ${rss2} kB: $(head -1 "$T/p2.out")"
[ "$rc" -eq 0 ] || fail "postsync exited $rc: $(tail -5 "$T/p2.out" "$T/p2.err")"
check postsync || fail "postsync lost or duplicated messages"
[ "$rss2" -lt "$RSS_MAX" ] || fail "postsync peak RSS ${rss2} kB >= ${RSS_MAX} kB"

note "a second presync copies nothing (the run is idempotent)"
rc=0
"$CUTOVER_BIN" presync "$T/plan" --no-delete2 >"$T/p3.out" 2>"$T/p3.err" || rc=$?
assert_eq 0 "$rc" "second presync ($(tail -3 "$T/p3.out"))"
assert_contains "$(head -1 "$T/p3.out")" " 0 messages copied"
echo "LOAD RESULT: $ACCOUNTS accounts x $MESSAGES messages, jobs $JOBS: presync ${t1}s peak RSS ${rss1} kB; postsync ${t2}s peak RSS ${rss2} kB"
