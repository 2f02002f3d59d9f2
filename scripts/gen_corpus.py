#!/usr/bin/env python3
"""gen_corpus.py: fills an IMAP account reproducibly from a seed (test
corpus for the sync engine), and makes the later changes the tests need.

  gen_corpus.py fill    --seed N [--count 150] [--big 1] ...
      nested folders, names with spaces and non-ASCII, flags and keywords,
      INTERNALDATEs over two years, sizes 1 KB .. 10 MB (--big messages of
      10 MB), ~10 % without Message-ID, exact duplicates in one folder and
      across folders.
  gen_corpus.py append  --folder F --count N [--date-header "..."] [--tag T]
      appends N new messages "now" (INTERNALDATE = now).
  gen_corpus.py mutate  --seed N
      changes flags of some messages, deletes some, adds a few (host1 side).
  gen_corpus.py extra   --folder F
      appends one message that host1 does not have (host2 side).

Connection: --host --port --user --password [--ca FILE] [--tls imaps|plain].
Folder names are given in UTF-8 with "/" as hierarchy; they are written
with the server's personal-namespace prefix and separator.
"""
import argparse
import email.utils
import imaplib
import random
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
import imaplab  # noqa: E402

FOLDERS = [
    "INBOX",
    "Archive/2024",
    "Archive/2025",
    "Projects/Big one",
    "Projects/Zürich/Q1",
    "Café Résumé",
    "Sent Items",
]
FLAGS = ["\\Seen", "\\Answered", "\\Flagged", "\\Draft", "$Label1", "Work", "$Forwarded"]
WORDS = ("alpha beta gamma delta migration mailbox server cutover message folder "
         "quota backup weekend report budget meeting").split()


def wire_name(folder, prefix, delim):
    if folder.upper() == "INBOX":
        return "INBOX"
    return imaplab.utf7_encode(prefix + folder.replace("/", delim))


def make_message(rng, n, size, with_mid=True, date_header=None, tag="c"):
    date = date_header or email.utils.formatdate(
        time.time() - rng.uniform(0, 2 * 365 * 86400), localtime=False)
    hdr = [
        "From: Sender %d <sender%d@example.org>" % (n % 7, n % 7),
        "To: user <user@lab.test>",
        "Subject: %s %s %d" % (tag, rng.choice(WORDS), n),
        "Date: %s" % date,
    ]
    if n % 5 == 0:
        hdr.append("Cc: other@example.net")
    if with_mid:
        hdr.append("Message-ID: <%s.%d.%d@Example.ORG>" % (tag, n, rng.randrange(10**9)))
    # A folded header, to exercise unfolding.
    hdr.append("X-Long: %s\r\n\t%s" % (rng.choice(WORDS), rng.choice(WORDS)))
    hdr += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    head = "\r\n".join(hdr) + "\r\n\r\n"
    lines = []
    total = len(head)
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(10))[:76] + "\r\n"
        lines.append(line)
        total += len(line)
    return (head + "".join(lines)).encode()


def append(c, wire, msg, flags, idate):
    typ, data = c.append(imaplab.quote(wire), "(%s)" % " ".join(flags) if flags else None,
                         imaplib.Time2Internaldate(idate), msg)
    if typ != "OK":
        raise RuntimeError("APPEND %s: %s" % (wire, data))


def cmd_fill(c, a):
    rng = random.Random(a.seed)
    prefix, delim = imaplab.namespace(c)
    wires = [wire_name(f, prefix, delim) for f in FOLDERS]
    for w in wires:
        imaplab.ensure_folder(c, w)
    now = time.time()
    kept = []
    for n in range(a.count):
        if n < a.big:
            size = 10 * 1024 * 1024
        else:
            size = int(1024 * (2 ** rng.uniform(0, 7)))  # 1 KB .. 128 KB
        msg = make_message(rng, n, size, with_mid=rng.random() > 0.1, tag="s%d" % a.seed)
        flags = [f for f in FLAGS if rng.random() < 0.25]
        idate = now - rng.uniform(3 * 86400, 2 * 365 * 86400)
        w = rng.choice(wires)
        append(c, w, msg, flags, idate)
        kept.append((w, msg, flags, idate))
    # Duplicates: the same bytes twice in one folder, and in another folder.
    for k in range(min(a.dups, len(kept))):
        w, msg, flags, idate = kept[a.big + k]
        append(c, w, msg, flags, idate)
        if k % 2 == 0:
            append(c, wires[(wires.index(w) + 1) % len(wires)], msg, flags, idate)
    print("filled %s: %d messages + duplicates in %d folders" % (a.user, a.count, len(wires)))


def cmd_append(c, a):
    rng = random.Random(a.seed)
    prefix, delim = imaplab.namespace(c)
    w = wire_name(a.folder, prefix, delim)
    imaplab.ensure_folder(c, w)
    for n in range(a.count):
        msg = make_message(rng, 100000 + n, a.size, date_header=a.date_header, tag=a.tag)
        append(c, w, msg, [], time.time() - a.age)
    print("appended %d to %s" % (a.count, w))


def cmd_mutate(c, a):
    """Flag changes, deletions and additions on a few folders."""
    rng = random.Random(a.seed + 1)
    prefix, delim = imaplab.namespace(c)
    changed = deleted = 0
    for f in FOLDERS[:4]:
        w = wire_name(f, prefix, delim)
        imaplab.select(c, w, readonly=False)
        typ, data = c.uid("SEARCH", None, "ALL")
        uids = data[0].split()
        for u in uids[:3]:
            c.uid("STORE", u, "FLAGS", "(\\Flagged $Label1)")
            changed += 1
        if len(uids) > 4:
            c.uid("STORE", uids[-1], "+FLAGS", "(\\Deleted)")
            c.expunge()
            deleted += 1
        append(c, w, make_message(rng, 200000 + changed, 3000, tag="m"), ["\\Seen"],
               time.time() - 86400 * 10)
    print("mutated: %d flag changes, %d deletions, %d additions" % (changed, deleted, 4))


def cmd_extra(c, a):
    rng = random.Random(a.seed + 2)
    prefix, delim = imaplab.namespace(c)
    w = wire_name(a.folder, prefix, delim)
    append(c, w, make_message(rng, 300000, 1500, tag="extra"), [], time.time() - 86400)
    print("extra message in %s" % w)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("action", choices=["fill", "append", "mutate", "extra"])
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--ca")
    p.add_argument("--tls", default="imaps")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", type=int, default=150)
    p.add_argument("--big", type=int, default=1, help="number of 10 MB messages")
    p.add_argument("--dups", type=int, default=6)
    p.add_argument("--folder", default="INBOX")
    p.add_argument("--date-header", default=None)
    p.add_argument("--tag", default="new")
    p.add_argument("--size", type=int, default=2048, help="append: message size")
    p.add_argument("--age", type=float, default=0, help="INTERNALDATE = now - AGE seconds")
    a = p.parse_args()
    c = imaplab.connect(a.host, a.port, a.user, a.password, a.ca, a.tls)
    try:
        {"fill": cmd_fill, "append": cmd_append, "mutate": cmd_mutate, "extra": cmd_extra}[a.action](c, a)
    finally:
        c.logout()


if __name__ == "__main__":
    main()
