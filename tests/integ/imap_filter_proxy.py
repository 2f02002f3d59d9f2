#!/usr/bin/env python3
"""imap_filter_proxy.py: a plain-TCP IMAP relay on loopback in front of a
real server (the lab's Dovecot) that makes it look like a server Dovecot
cannot be configured to be, without touching its mail.

Usage: imap_filter_proxy.py --upstream HOST:PORT [--addr 127.0.0.1]
           [--portfile FILE] [--hide CAP]... [--no-appenduid]
           [--no-uid-expunge] [--no-keywords] [--strict-keywords LIST]
           [--refuse-append] [--on-deleted-store CMD]
           [--slow-append-end SECS]

  --hide CAP           remove CAP from every CAPABILITY list the server
                       sends (untagged CAPABILITY and [CAPABILITY ...] codes)
  --no-appenduid       remove [APPENDUID ...] response codes
  --no-uid-expunge     answer "UID EXPUNGE" with BAD itself, never passing
                       it on (a server without UIDPLUS, RFC 4315)
  --no-keywords        a server that keeps no keywords: PERMANENTFLAGS lose
                       "\\*" and every keyword, and keywords in APPEND and
                       STORE flag lists are dropped before the server sees
                       them (RFC 3501 7.1: unsupported flags are ignored)
  --strict-keywords LIST
                       a server with a fixed set of keywords that refuses
                       others: PERMANENTFLAGS lose "\\*" and every keyword
                       but those of LIST (comma-separated, may be empty),
                       and an APPEND or STORE whose flag lists carry any
                       other keyword is answered NO [CANNOT] by the relay
                       itself (an APPEND with LITERAL+ is read whole
                       first; after a synchronising literal the rest of
                       the command is relayed unchecked).  An empty
                       PERMANENTFLAGS (EXAMINE) is left as it is
  --refuse-append      answer every APPEND with NO [OVERQUOTA] itself (its
                       message data is read and dropped): a full mailbox
  --on-deleted-store CMD
                       before passing on the first STORE that adds \\Deleted,
                       run the shell command CMD (another client marking
                       messages \\Deleted at that moment)
  --slow-append-end SECS
                       hold the last line of every APPEND command (the
                       CRLF after its last literal) for SECS seconds before
                       passing it on, and keep the server connection until
                       the server closes it when the client goes away
                       meanwhile: a server that commits an APPEND SECS
                       seconds after the client sent its last byte, even
                       when the client died in between

Literals are followed in both directions ({n} and {n+}, RFC 7888), so
message contents are never rewritten.  It writes the port it listens on to
--portfile and relays every connection (one thread pair each) until
killed.  Loopback addresses only.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import threading
import time

LITERAL_RE = re.compile(rb"~?\{(\d+)\+?\}\r\n$")
CAPCODE_RE = re.compile(rb"\[CAPABILITY ([^\]]*)\]", re.I)
APPENDUID_RE = re.compile(rb" ?\[APPENDUID [^\]]*\]", re.I)
PERMFLAGS_RE = re.compile(rb"\[PERMANENTFLAGS \(([^)]*)\)\]", re.I)
FLAGLIST_RE = re.compile(rb"\(([^()]*)\)")
QUOTED_RE = re.compile(rb'"(?:[^"\\]|\\.)*"')


class Sink:
    def sendall(self, data):
        pass


class Reader:
    """Line/literal reader over a socket."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                return None
            self.buf += d
        i = self.buf.index(b"\r\n") + 2
        ln, self.buf = self.buf[:i], self.buf[i:]
        return ln

    def relay_bytes(self, n, out):
        while n > 0:
            if not self.buf:
                d = self.s.recv(min(65536, n))
                if not d:
                    raise EOFError
                self.buf = d
            k = min(n, len(self.buf))
            out.sendall(self.buf[:k])
            self.buf = self.buf[k:]
            n -= k

    def read_bytes(self, n):
        out = Collect()
        self.relay_bytes(n, out)
        return b"".join(out.parts)


class Collect:
    def __init__(self):
        self.parts = []

    def sendall(self, data):
        self.parts.append(data)


def drop_caps(words, hide):
    return b" ".join(w for w in words.split(b" ") if w.upper() not in hide)


def server_text(seg, a):
    """Rewrites the text part of a server line (never literal data)."""
    hide = {h.upper().encode() for h in a.hide}
    if hide:
        seg = CAPCODE_RE.sub(lambda m: b"[CAPABILITY " + drop_caps(m.group(1), hide) + b"]", seg)
        if re.match(rb"\* CAPABILITY ", seg, re.I):
            seg = b"* CAPABILITY " + drop_caps(seg[len(b"* CAPABILITY "):-2], hide) + b"\r\n"
    if a.no_appenduid:
        seg = APPENDUID_RE.sub(b"", seg)
    if a.no_keywords:
        seg = PERMFLAGS_RE.sub(
            lambda m: b"[PERMANENTFLAGS (" + b" ".join(
                f for f in m.group(1).split() if f.startswith(b"\\") and f != b"\\*") + b")]",
            seg)
    if a.strict_keywords is not None:
        seg = PERMFLAGS_RE.sub(lambda m: strict_permflags(m, a), seg)
    return seg


def strict_permflags(m, a):
    words = m.group(1).split()
    if not words:
        return m.group(0)
    kept = [f for f in words if f.startswith(b"\\") and f != b"\\*"]
    return b"[PERMANENTFLAGS (" + b" ".join(kept + a.strict_keywords) + b")]"


def foreign_keywords(seg, a):
    """Keywords in the flag lists of a command line outside the allowed set."""
    allowed = {k.lower() for k in a.strict_keywords}
    seg = QUOTED_RE.sub(b'""', seg)  # mailbox names, dates
    return [f for m in FLAGLIST_RE.finditer(seg) for f in m.group(1).split()
            if not f.startswith(b"\\") and f.lower() not in allowed]


def client_text(seg, a, state):
    """Rewrites the text part of a client command line."""
    if a.no_keywords and (state.get("append") or re.match(rb"\S+ (UID )?STORE ", seg, re.I)):
        seg = FLAGLIST_RE.sub(
            lambda m: b"(" + b" ".join(f for f in m.group(1).split() if f.startswith(b"\\")) + b")",
            seg)
    return seg


def pump_server(up, down, a):
    r = Reader(up)
    try:
        while True:
            ln = r.line()
            if ln is None:
                break
            down.sendall(server_text(ln, a))
            m = LITERAL_RE.search(ln)
            while m:
                r.relay_bytes(int(m.group(1)), down)
                ln = r.line()
                if ln is None:
                    return
                down.sendall(server_text(ln, a))
                m = LITERAL_RE.search(ln)
    except (EOFError, OSError):
        pass
    finally:
        for s in (down, up):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def pump_client(down, up, a, hook_done):
    r = Reader(down)
    try:
        while True:
            ln = r.line()
            if ln is None:
                break
            words = ln.split(b" ", 3)
            cmd = b" ".join(words[1:3]).upper() if len(words) > 2 else b""
            if a.no_uid_expunge and cmd.startswith(b"UID EXPUNGE"):
                down.sendall(words[0] + b" BAD Unknown command UID EXPUNGE\r\n")
                continue
            is_append = len(words) > 1 and words[1].upper() == b"APPEND"
            if a.strict_keywords is not None and (
                    is_append or re.match(rb"\S+ (UID )?STORE ", ln, re.I)):
                bad = foreign_keywords(ln, a)
                parts = []
                m = LITERAL_RE.search(ln)
                while m and ln.endswith(b"+}\r\n"):
                    parts += [ln, r.read_bytes(int(m.group(1)))]
                    ln = r.line()
                    if ln is None:
                        return
                    bad += foreign_keywords(ln, a)
                    m = LITERAL_RE.search(ln)
                if bad:
                    # before a synchronising literal: instead of "+"
                    down.sendall(words[0] + b" NO [CANNOT] Keyword not allowed in this "
                                 b"mailbox: " + bad[0] + b"\r\n")
                    continue
                up.sendall(b"".join(parts))
            if a.refuse_append and is_append:
                m = LITERAL_RE.search(ln)
                while m:
                    if not ln.endswith(b"+}\r\n"):
                        break  # synchronising: answered instead of "+"
                    r.relay_bytes(int(m.group(1)), Sink())
                    ln = r.line()
                    if ln is None:
                        return
                    m = LITERAL_RE.search(ln)
                down.sendall(words[0] + b" NO [OVERQUOTA] Quota exceeded (mailbox for user is full)\r\n")
                continue
            if (a.on_deleted_store and not hook_done[0] and b"STORE" in cmd and
                    b"+FLAGS" in ln.upper() and b"\\DELETED" in ln.upper()):
                hook_done[0] = True
                subprocess.run(a.on_deleted_store, shell=True, check=False)
            state = {"append": is_append}
            up.sendall(client_text(ln, a, state))
            m = LITERAL_RE.search(ln)
            while m:
                r.relay_bytes(int(m.group(1)), up)
                ln = r.line()
                if ln is None:
                    return
                m = LITERAL_RE.search(ln)
                if state["append"] and not m and a.slow_append_end:
                    time.sleep(a.slow_append_end)
                up.sendall(client_text(ln, a, state))
    except (EOFError, OSError):
        pass
    finally:
        if a.slow_append_end:
            # the server finishes what it got; pump_server closes the rest
            try:
                up.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        else:
            for s in (up, down):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--portfile")
    ap.add_argument("--hide", action="append", default=[])
    ap.add_argument("--no-appenduid", action="store_true")
    ap.add_argument("--no-uid-expunge", action="store_true")
    ap.add_argument("--no-keywords", action="store_true")
    ap.add_argument("--strict-keywords", type=lambda v: [k.encode() for k in v.split(",") if k])
    ap.add_argument("--refuse-append", action="store_true")
    ap.add_argument("--on-deleted-store")
    ap.add_argument("--slow-append-end", type=float, default=0)
    a = ap.parse_args()
    uh, up_port = a.upstream.rsplit(":", 1)
    for h in (a.addr, uh):
        if not (h.startswith("127.") or h == "::1"):
            sys.exit("imap_filter_proxy: loopback addresses only")
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.addr, 0))
    srv.listen(16)
    if a.portfile:
        tmp = a.portfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.getsockname()[1])
        os.rename(tmp, a.portfile)
    hook_done = [False]
    while True:
        down, _ = srv.accept()
        try:
            up = socket.create_connection((uh, int(up_port)))
        except OSError:
            down.close()
            continue
        threading.Thread(target=pump_server, args=(up, down, a), daemon=True).start()
        threading.Thread(target=pump_client, args=(down, up, a, hook_done), daemon=True).start()


if __name__ == "__main__":
    main()
