#!/usr/bin/env python3
"""fake_imap_server.py: a scripted hostile IMAP server on loopback.

Usage: fake_imap_server.py --scenario NAME [--addr 127.0.0.1] [--port 0]
                           [--portfile FILE] [--once]
                           [--tls-cert PEM --tls-key KEY]

Plain TCP (cutover connects with `--tls1 plain`), or implicit TLS with
--tls-cert/--tls-key (`--tls1 imaps`): then TLS records are made in memory
(ssl.SSLObject), so that a scenario can send part of one.  It plays a small
but believable IMAP4rev1 server (one INBOX with one message) and turns
hostile at the point the scenario names.  It writes the port it listens on
to --portfile (atomically) and serves one connection at a time until
killed (--once: a single connection).  Nothing here listens beyond the
given loopback address.

Scenarios (where the damage happens):
  garbage-greeting    binary bytes instead of "* OK"
  no-greeting         accepts the connection and never says anything
  overlong-greeting   "* OK AAAA..." without an end: 64 MiB, then stalls
  bye-greeting        "* BYE" as the greeting, then closes
  bye-after-login     "* BYE" in answer to the first command after login
  overlong-list       one LIST line of 16 MiB
  deep-nesting        a LIST response with 200000 nested parentheses
  huge-literal-list   LIST answer announces {999999999999}
  neg-literal         LIST answer announces {-1}
  nonnum-literal      LIST answer announces {abc}
  huge-literal-fetch  the listing FETCH announces a {4294967295} header and
                      sends 32 MiB of it, then stalls
  huge-literal-body   the message body FETCH announces {999999999999}
  stall-mid-literal   the body FETCH sends 10 of 1000 announced bytes, then
                      stalls
  half-record         (with TLS) the body FETCH answer goes out as one TLS
                      record of which only the first half is sent, then
                      stalls: the client must wait for the socket, not spin
                      on the bytes it holds
  close-mid-literal   same, then closes the connection
  bye-mid-fetch       "* BYE" in the middle of the listing FETCH
  flood-untagged      endless "* OK" lines instead of a tagged NAMESPACE
                      answer (memory must not grow with them)
  wrong-tag           tagged answers with tags that were never sent
  flag-update-mid-fetch
                      not hostile, legal and surprising: a flag change by
                      "another session" (* 1 FETCH (FLAGS (...) UID 1))
                      before the answers of the listing and of the body
                      FETCH; the sync must succeed (exit 0)
  good                no damage (control: the sync succeeds)
"""
import argparse
import base64
import os
import re
import signal
import socket
import ssl
import sys
import time

MSG = (b"From: fake@lab.test\r\nTo: user@lab.test\r\nSubject: hostile test\r\n"
       b"Message-ID: <fake-1@lab.test>\r\nDate: Sat, 28 Nov 2026 20:00:00 +0000\r\n"
       b"\r\nbody\r\n")
HDR = (b"Message-ID: <fake-1@lab.test>\r\nDate: Sat, 28 Nov 2026 20:00:00 +0000\r\n"
       b"From: fake@lab.test\r\nTo: user@lab.test\r\nSubject: hostile test\r\n\r\n")
CAPS = b"IMAP4rev1 LITERAL+ UIDPLUS NAMESPACE SPECIAL-USE AUTH=PLAIN"


def stall():
    while True:
        time.sleep(3600)


class TlsConn:
    """A server-side TLS connection whose records are made in memory."""

    def __init__(self, sock, ctx):
        self.sock = sock
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=True)
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
        self._flush()

    def _flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError
        self.inc.write(d)

    def sendall(self, data):
        self.obj.write(data)
        self._flush()

    def send_half_record(self, data):
        self.obj.write(data)
        rec = self.out.read()
        self.sock.sendall(rec[: len(rec) // 2])

    def recv(self, n):
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
            except ssl.SSLZeroReturnError:
                return b""

    def close(self):
        self.sock.close()


class Session:
    def __init__(self, conn, scenario):
        self.c = conn
        self.s = scenario
        self.buf = b""

    def send(self, data):
        self.c.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.c.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        # A client literal ({n} or {n+}) at the end of the line: read it too
        # (APPEND is not expected here, but stay in sync if it comes).
        m = re.search(rb"\{(\d+)\+?\}$", ln)
        if m:
            n = int(m.group(1))
            if not ln.endswith(b"+}"):
                self.send(b"+ go ahead\r\n")
            while len(self.buf) < n:
                d = self.c.recv(65536)
                if not d:
                    raise EOFError
                self.buf += d
            ln += self.buf[:n]
            self.buf = self.buf[n:]
            ln += self.line()
        return ln

    def run(self):
        s = self.s
        if s == "garbage-greeting":
            self.send(bytes(range(256)) * 4 + b"\r\n")
            stall()
        if s == "no-greeting":
            stall()
        if s == "overlong-greeting":
            self.send(b"* OK ")
            chunk = b"A" * 65536
            for _ in range(1024):
                self.send(chunk)
            stall()
        if s == "bye-greeting":
            self.send(b"* BYE too busy, go away\r\n")
            return
        self.send(b"* OK [CAPABILITY " + CAPS + b"] fake hostile server ready\r\n")
        logged_in = False
        while True:
            ln = self.line()
            parts = ln.split(b" ", 2)
            tag = parts[0]
            cmd = parts[1].upper() if len(parts) > 1 else b""
            rest = parts[2] if len(parts) > 2 else b""
            ok = tag + b" OK done\r\n"
            if s == "wrong-tag" and logged_in:
                self.send(b"Z9999 OK not yours\r\n")
                stall()
            if cmd == b"CAPABILITY":
                self.send(b"* CAPABILITY " + CAPS + b"\r\n" + ok)
            elif cmd == b"AUTHENTICATE":
                arg = rest.split(b" ", 1)
                if len(arg) == 1:
                    self.send(b"+ \r\n")
                    self.line()
                logged_in = True
                self.send(tag + b" OK [CAPABILITY " + CAPS + b"] Logged in\r\n")
            elif cmd == b"LOGIN":
                logged_in = True
                self.send(tag + b" OK [CAPABILITY " + CAPS + b"] Logged in\r\n")
            elif s == "bye-after-login" and logged_in:
                self.send(b"* BYE shutting down\r\n")
                return
            elif cmd == b"NAMESPACE":
                if s == "flood-untagged":
                    line = b"* OK still thinking " + b"x" * 100 + b"\r\n"
                    block = line * 1000
                    while True:
                        self.send(block)
                self.send(b'* NAMESPACE (("" "/")) NIL NIL\r\n' + ok)
            elif cmd == b"LIST":
                if s == "overlong-list":
                    self.send(b'* LIST () "/" "' + b"L" * (16 << 20) + b'"\r\n')
                    stall()
                if s == "deep-nesting":
                    self.send(b"* LIST " + b"(" * 200000 + b")" * 200000 + b' "/" INBOX\r\n')
                    self.send(ok)
                    continue
                if s == "huge-literal-list":
                    self.send(b'* LIST () "/" {999999999999}\r\nINBOX')
                    stall()
                if s == "neg-literal":
                    self.send(b'* LIST () "/" {-1}\r\nINBOX\r\n' + ok)
                    continue
                if s == "nonnum-literal":
                    self.send(b'* LIST () "/" {abc}\r\nINBOX\r\n' + ok)
                    continue
                self.send(b'* LIST (\\HasNoChildren) "/" INBOX\r\n' + ok)
            elif cmd == b"LSUB":
                self.send(ok)
            elif cmd in (b"SELECT", b"EXAMINE"):
                self.send(b"* FLAGS (\\Seen \\Deleted)\r\n* 1 EXISTS\r\n* 0 RECENT\r\n"
                          b"* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 2] ok\r\n"
                          + tag + b" OK [READ-ONLY] done\r\n")
            elif cmd == b"UID" and rest.upper().startswith(b"FETCH"):
                body = b"BODY.PEEK[]" in rest.upper() or b"BODY.PEEK[] " in rest.upper()
                header = b"HEADER.FIELDS" in rest.upper()
                pre = (b'* 1 FETCH (UID 1 FLAGS (\\Seen) INTERNALDATE "28-Nov-2026 20:00:00 +0000" '
                       b"RFC822.SIZE %d " % len(MSG))
                if s == "flag-update-mid-fetch" and (header or body):
                    # RFC 3501 7.4.2: the server may send flag changes at
                    # any time; this one is not an answer to the command
                    self.send(b"* 1 FETCH (FLAGS (\\Seen \\Flagged) UID 1)\r\n")
                if header:
                    if s == "bye-mid-fetch":
                        self.send(pre[:30] + b"\r\n* BYE bye in the middle\r\n")
                        return
                    if s == "huge-literal-fetch":
                        self.send(pre + b"BODY[HEADER.FIELDS (MESSAGE-ID)] {4294967295}\r\n")
                        chunk = b"H" * 65536
                        for _ in range(512):
                            self.send(chunk)
                        stall()
                    self.send(pre + b"BODY[HEADER.FIELDS (MESSAGE-ID DATE FROM TO CC SUBJECT IN-REPLY-TO)] {%d}\r\n" % len(HDR)
                              + HDR + b")\r\n" + ok)
                elif body:
                    if s == "huge-literal-body":
                        self.send(b"* 1 FETCH (UID 1 BODY[] {999999999999}\r\n" + MSG)
                        stall()
                    if s == "half-record" and isinstance(self.c, TlsConn):
                        self.c.send_half_record(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % len(MSG)
                                                + MSG + b")\r\n" + ok)
                        stall()
                    if s in ("stall-mid-literal", "close-mid-literal"):
                        self.send(b"* 1 FETCH (UID 1 BODY[] {1000}\r\n" + b"0123456789")
                        if s == "close-mid-literal":
                            return
                        stall()
                    self.send(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % len(MSG) + MSG + b")\r\n" + ok)
                else:
                    self.send(ok)
            elif cmd == b"LOGOUT":
                self.send(b"* BYE bye\r\n" + ok)
                return
            else:
                self.send(ok)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--portfile")
    ap.add_argument("--once", action="store_true")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    ctx = None
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
    if not a.addr.startswith("127.") and a.addr != "::1":
        sys.exit("fake_imap_server: loopback addresses only")
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.addr, a.port))
    srv.listen(8)
    if a.portfile:
        tmp = a.portfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.getsockname()[1])
        os.rename(tmp, a.portfile)
    while True:
        conn, _ = srv.accept()
        # Each connection in a child: a stalled one must not block the next.
        pid = os.fork()
        if pid == 0:
            srv.close()
            # A stalled session ends by itself even if nobody kills it.
            signal.alarm(120)
            try:
                if ctx is not None:
                    conn = TlsConn(conn, ctx)
                Session(conn, a.scenario).run()
            except (EOFError, BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass
            finally:
                try:
                    conn.close()
                except OSError:
                    pass
            os._exit(0)
        conn.close()
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        if a.once:
            break


if __name__ == "__main__":
    main()
