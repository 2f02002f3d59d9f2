#!/usr/bin/env python3
"""mailbox_compare.py: the independent checker of the sync engine.

Reads both servers with imaplib (no code shared with cutover) and checks
that each host1 folder's counterpart on host2 holds the same MULTISET of
(SHA-256 of the whole message, RFC822.SIZE, flags without \\Recent,
INTERNALDATE as epoch seconds).

  mailbox_compare.py compare H1ARGS H2ARGS [--folder NAME]... [--allow-extra]
      exit 0 when equal; prints every difference and exits 1 otherwise.
      --allow-extra: host2 may hold messages host1 lacks (sync without
      --delete2); they are listed but do not fail the check.
  mailbox_compare.py snapshot HARGS
      prints a canonical JSON dump of one server (folders, subscriptions,
      UIDs, flags, dates, digests) to compare before/after a --dry-run.
  mailbox_compare.py count HARGS --folder NAME --subject TEXT
      prints how many messages of the folder have TEXT in their Subject.

H1ARGS: --host1 --port1 --user1 --password1; H2ARGS likewise with 2;
HARGS: --host --port --user --password.  --ca FILE for all.

Folder correspondence, derived independently: INBOX -> INBOX; a host1
special-use folder (RFC 6154) -> host2's folder with the same attribute;
otherwise host1's namespace prefix removed, separators translated, host2's
prefix added.
"""
import argparse
import collections
import email.utils
import hashlib
import json
import re
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
import imaplab  # noqa: E402

SPECIAL = ("\\sent", "\\drafts", "\\trash", "\\junk", "\\archive")


def canon_flags(s):
    fl = sorted(set(f.lower() for f in (s or "").split() if f.lower() != "\\recent"))
    return " ".join(fl)


def epoch(idate):
    return int(email.utils.mktime_tz(imaplib_parse(idate)))


def imaplib_parse(idate):
    # "17-Jul-1996 02:44:25 -0700"
    m = re.match(r"\s*(\d+)-(\w+)-(\d+) (\d+):(\d+):(\d+) ([+-]\d{4})", idate)
    mon = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
           "dec"].index(m.group(2).lower()) + 1
    tz = int(m.group(7))
    off = (abs(tz) // 100 * 3600 + abs(tz) % 100 * 60) * (1 if tz >= 0 else -1)
    return (int(m.group(3)), mon, int(m.group(1)), int(m.group(4)), int(m.group(5)),
            int(m.group(6)), 0, 1, -1, off)


def folder_state(c, wire):
    imaplab.select(c, wire, readonly=True)
    out = []
    for m in imaplab.fetch_all(c, body=True):
        out.append({
            "uid": m["uid"],
            "sha256": hashlib.sha256(m["body"] or b"").hexdigest(),
            "size": m["size"],
            "flags": canon_flags(m.get("flags")),
            "internaldate": epoch(m["internaldate"]),
            "subject": subject_of(m["body"] or b""),
        })
    return out


def subject_of(body):
    head = body.split(b"\r\n\r\n", 1)[0]
    m = re.search(rb"^Subject: ?(.*)$", head, re.M | re.I)
    return m.group(1).decode(errors="replace").strip() if m else ""


def selectable(attrs):
    return "\\noselect" not in attrs and "\\nonexistent" not in attrs


def mapping(c1, c2):
    p1, d1 = imaplab.namespace(c1)
    p2, d2 = imaplab.namespace(c2)
    l1 = imaplab.list_folders(c1)
    l2 = imaplab.list_folders(c2)
    spec2 = {}
    for name, attrs in l2:
        for s in SPECIAL:
            if s in attrs and s not in spec2:
                spec2[s] = name
    names2 = set(n for n, _ in l2)
    out = []
    for name, attrs in l1:
        if not selectable(attrs):
            continue
        if name.upper() == "INBOX":
            out.append((name, "INBOX"))
            continue
        target = None
        for s in SPECIAL:
            if s in attrs and s in spec2:
                target = spec2[s]
        if target is None:
            rest = name[len(p1):] if p1 and name.startswith(p1) else name
            target = p2 + "".join(d2 if ch == d1 else ("_" if ch == d2 else ch) for ch in rest)
        out.append((name, target))
    return out, names2


def key(m):
    return (m["sha256"], m["size"], m["flags"], m["internaldate"])


def cmd_compare(a):
    c1 = imaplab.connect(a.host1, a.port1, a.user1, a.password1, a.ca)
    c2 = imaplab.connect(a.host2, a.port2, a.user2, a.password2, a.ca)
    pairs, names2 = mapping(c1, c2)
    if a.folder:
        want = set(imaplab.utf7_encode(f) for f in a.folder) | set(a.folder)
        pairs = [p for p in pairs if p[0] in want or imaplab.utf7_decode(p[0]) in want]
        if not pairs:
            print("no such host1 folder: %s" % a.folder)
            return 1
    bad = 0
    total = 0
    for n1, n2 in pairs:
        s1 = folder_state(c1, n1)
        total += len(s1)
        if n2 not in names2:
            if s1:
                print("%s -> %s: missing on host2 (%d messages on host1)" % (n1, n2, len(s1)))
                bad += 1
            continue
        s2 = folder_state(c2, n2)
        m1 = collections.Counter(key(m) for m in s1)
        m2 = collections.Counter(key(m) for m in s2)
        missing = m1 - m2
        extra = m2 - m1
        for k, n in missing.items():
            print("%s -> %s: host2 lacks %d x size %d flags (%s) date %d sha %s" %
                  (imaplab.utf7_decode(n1), n2, n, k[1], k[2], k[3], k[0][:12]))
            bad += 1
        for k, n in extra.items():
            print("%s -> %s: host2 has %d extra x size %d flags (%s) date %d sha %s%s" %
                  (imaplab.utf7_decode(n1), n2, n, k[1], k[2], k[3], k[0][:12],
                   " (allowed)" if a.allow_extra else ""))
            bad += 0 if a.allow_extra else 1
    c1.logout()
    c2.logout()
    print("compared %d folders, %d host1 messages: %s" %
          (len(pairs), total, "EQUAL" if bad == 0 else "%d DIFFERENCES" % bad))
    return 0 if bad == 0 else 1


def cmd_snapshot(a):
    c = imaplab.connect(a.host, a.port, a.user, a.password, a.ca)
    snap = {}
    for name, attrs in sorted(imaplab.list_folders(c)):
        entry = {"attrs": sorted(attrs)}
        if selectable(attrs):
            entry["messages"] = folder_state(c, name)
        snap[name] = entry
    c.logout()
    json.dump(snap, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


def cmd_count(a):
    c = imaplab.connect(a.host, a.port, a.user, a.password, a.ca)
    prefix, delim = imaplab.namespace(c)
    f = a.folder[0]
    wire = "INBOX" if f.upper() == "INBOX" else imaplab.utf7_encode(prefix + f.replace("/", delim))
    n = sum(1 for m in folder_state(c, wire) if a.subject in m["subject"])
    c.logout()
    print(n)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("action", choices=["compare", "snapshot", "count"])
    for suffix in ("1", "2", ""):
        p.add_argument("--host" + suffix)
        p.add_argument("--port" + suffix, type=int)
        p.add_argument("--user" + suffix)
        p.add_argument("--password" + suffix)
    p.add_argument("--ca")
    p.add_argument("--folder", action="append")
    p.add_argument("--allow-extra", action="store_true")
    p.add_argument("--subject", default="")
    a = p.parse_args()
    return {"compare": cmd_compare, "snapshot": cmd_snapshot, "count": cmd_count}[a.action](a)


if __name__ == "__main__":
    sys.exit(main())
