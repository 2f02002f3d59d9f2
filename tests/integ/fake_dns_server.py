#!/usr/bin/env python3
"""fake_dns_server.py - a scripted DNS peer for what a real server cannot
produce: forged or unsigned replies to a signed UPDATE, garbage, truncated
messages, wrong ids, chosen RCODEs, lost replies, silence, REFUSED and
non-AA (lame) answers.

Pure standard library (no dnspython): the wire format is built by hand
(RFC 1035 4.1), TSIG by RFC 8945 4.3 with hmac.  Loopback only.

It serves one small zone (default fake.test.) from memory:

    @        300 SOA  ns1.@ hostmaster.@ SERIAL 300 60 1209600 60
    @        300 NS   ns1.@
    ns1      300 A    <listen address>
    @    MX_TTL MX    10 mx1.old.@  /  20 mx2.old.@
    imap    3600 A    127.0.0.11

Queries (UDP and TCP) are answered from it with AA, except in the query
modes below.  UPDATEs (TCP) are applied to it (RFC 2136 2.4.2 / 2.4.3
prerequisites checked, 2.5.1 add and 2.5.2 delete-RRset handled; anything
else is ignored) and answered according to the update mode.

Usage:
  fake_dns_server.py --addr 127.N.X.Y --port P --key KEYFILE \
      [--update-mode MODE] [--query-mode MODE] [--zone Z] [--mx-ttl N] \
      [--reply-time-offset SECONDS] [--ready-file F] [--log F]

--reply-time-offset signs every reply correctly (the MAC verifies) but
with Time Signed = now + SECONDS, like a server whose clock is off or a
reply played back later (RFC 8945 5.4.3).

Update modes (what a signed UPDATE gets):
  good          applied, NOERROR signed with the key
  badsig        not applied, NOERROR with a TSIG whose MAC is wrong
  unsigned      not applied, NOERROR without TSIG
  garbage       random bytes with a valid length prefix, then close
  truncated     a 2-byte length announcing more than is sent, then close
  short         a complete frame holding a 12-byte header that announces
                an answer it does not contain (a cut message)
  wrongid       a signed NOERROR with another message id, then close
  wrongid-then-good  a reply with another id, then the real one
  servfail | notzone | refused   not applied, that RCODE, signed
  lost-first    the first UPDATE is applied but never answered (the
                connection stays open); later ones as "good"
  silent        never answers an UPDATE

Query modes (every query, UDP and TCP):
  good          answers from the zone with AA
  refused       REFUSED
  lame          the data, but without the AA bit
  garbage       random bytes
"""

import argparse
import base64
import hashlib
import hmac
import os
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import time

TYPES = {"A": 1, "NS": 2, "SOA": 6, "MX": 15, "AAAA": 28}
T_TSIG = 250
C_IN, C_NONE, C_ANY = 1, 254, 255
ALGS = {
    "hmac-md5": ("hmac-md5.sig-alg.reg.int.", hashlib.md5),
    "hmac-sha1": ("hmac-sha1.", hashlib.sha1),
    "hmac-sha224": ("hmac-sha224.", hashlib.sha224),
    "hmac-sha256": ("hmac-sha256.", hashlib.sha256),
    "hmac-sha384": ("hmac-sha384.", hashlib.sha384),
    "hmac-sha512": ("hmac-sha512.", hashlib.sha512),
}

LOG = None


def log(msg):
    if LOG is not None:
        LOG.write("%.3f %s\n" % (time.time(), msg))
        LOG.flush()


# ---- wire helpers (RFC 1035 4.1) ----

def name_wire(name):
    name = name.rstrip(".")
    out = b""
    if name:
        for label in name.split("."):
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(msg, off):
    """Returns (lower-case name with trailing dot, offset after it)."""
    labels, end, hops = [], None, 0
    while True:
        if off >= len(msg):
            raise ValueError("name past the end")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg) or hops > 32:
                raise ValueError("bad pointer")
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            hops += 1
            continue
        if n == 0:
            off += 1
            break
        labels.append(msg[off + 1:off + 1 + n].decode("latin-1").lower())
        off += 1 + n
    return ".".join(labels) + ".", (end if end is not None else off)


def read_rr(msg, off):
    name, off = read_name(msg, off)
    rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
    off += 10
    rdata = msg[off:off + rdlen]
    if len(rdata) != rdlen:
        raise ValueError("rdata past the end")
    return (name, rtype, rclass, ttl, rdata, off - 10), off + rdlen


def rr_wire(name, rtype, ttl, rdata, rclass=C_IN):
    return name_wire(name) + struct.pack("!HHIH", rtype, rclass, ttl,
                                         len(rdata)) + rdata


def rdata_canon(msg, rtype, rdata_off, rdata):
    """RDATA with names expanded (MX, NS) so that compressed and
    uncompressed forms compare equal."""
    if rtype == TYPES["MX"]:
        host, _ = read_name(msg, rdata_off + 2)
        return rdata[:2] + name_wire(host)
    if rtype == TYPES["NS"]:
        host, _ = read_name(msg, rdata_off)
        return name_wire(host)
    return rdata


# ---- TSIG (RFC 8945) ----

class Key:
    def __init__(self, path):
        text = open(path).read()
        m = re.search(r'key\s+"?([^"\s{]+)"?\s*{', text)
        a = re.search(r"algorithm\s+([\w-]+)\s*;", text)
        s = re.search(r'secret\s+"([^"]+)"', text)
        if not (m and a and s):
            raise SystemExit("%s: not a BIND key file" % path)
        self.name = m.group(1).rstrip(".").lower() + "."
        self.alg_name, self.hash = ALGS[a.group(1).lower()]
        self.secret = base64.b64decode(s.group(1))

    def mac(self, data):
        return hmac.new(self.secret, data, self.hash).digest()


def tsig_vars(key, time_signed, fudge, error, other):
    return (name_wire(key.name) + struct.pack("!HI", C_ANY, 0) +
            name_wire(key.alg_name) + struct.pack("!HIH", time_signed >> 32,
                                                  time_signed & 0xFFFFFFFF,
                                                  fudge) +
            struct.pack("!HH", error, len(other)) + other)


def find_tsig(msg):
    """(offset of the TSIG RR, request MAC, original id) or None."""
    qd, an, ns, ar = struct.unpack("!HHHH", msg[4:12])
    off = 12
    for _ in range(qd):
        _, off = read_name(msg, off)
        off += 4
    last = None
    for i in range(an + ns + ar):
        rr, nxt = read_rr(msg, off)
        last = (off, rr)
        off = nxt
    if ar == 0 or last is None or last[1][1] != T_TSIG:
        return None
    rr = last[1]
    rd = rr[4]
    _, p = read_name(rd, 0)
    mac_len = struct.unpack("!H", rd[p + 8:p + 10])[0]
    mac = rd[p + 10:p + 10 + mac_len]
    orig_id = struct.unpack("!H", rd[p + 10 + mac_len:p + 12 + mac_len])[0]
    return last[0], mac, orig_id


REPLY_TIME_OFFSET = 0


def sign_reply(key, reply, req_mac, corrupt=False):
    """Appends a TSIG RR to reply (a message without one), RFC 8945 4.3.3
    for responses: request MAC, the message, the TSIG variables.  Time
    Signed is our clock plus --reply-time-offset."""
    now = int(time.time()) + REPLY_TIME_OFFSET
    fudge = 300
    data = (struct.pack("!H", len(req_mac)) + req_mac + reply +
            tsig_vars(key, now, fudge, 0, b""))
    mac = key.mac(data)
    if corrupt:
        mac = bytes([mac[0] ^ 0x5A]) + mac[1:]
    orig_id = struct.unpack("!H", reply[:2])[0]
    rdata = (name_wire(key.alg_name) +
             struct.pack("!HIH", now >> 32, now & 0xFFFFFFFF, fudge) +
             struct.pack("!H", len(mac)) + mac +
             struct.pack("!HHH", orig_id, 0, 0))
    ar = struct.unpack("!H", reply[10:12])[0]
    return (reply[:10] + struct.pack("!H", ar + 1) + reply[12:] +
            rr_wire(key.name, T_TSIG, 0, rdata, C_ANY))


# ---- the zone ----

class Zone:
    def __init__(self, origin, addr, mx_ttl):
        self.origin = origin.rstrip(".").lower() + "."
        self.serial = 1
        self.lock = threading.Lock()
        o = self.origin
        self.data = {}  # (name, type) -> [ttl, [rdata, ...]]
        self.put(o, "NS", 300, [name_wire("ns1." + o)])
        self.put("ns1." + o, "A", 300, [socket.inet_aton(addr)])
        self.put(o, "MX", mx_ttl, [struct.pack("!H", 10) + name_wire("mx1.old." + o),
                                   struct.pack("!H", 20) + name_wire("mx2.old." + o)])
        self.put("imap." + o, "A", 3600, [socket.inet_aton("127.0.0.11")])

    def put(self, name, tname, ttl, rdatas):
        self.data[(name, TYPES[tname])] = [ttl, list(rdatas)]

    def soa_rdata(self):
        o = self.origin
        return (name_wire("ns1." + o) + name_wire("hostmaster." + o) +
                struct.pack("!IIIII", self.serial, 300, 60, 1209600, 60))

    def in_zone(self, name):
        return name == self.origin or name.endswith("." + self.origin)

    def names(self):
        return {n for (n, _) in self.data} | {self.origin}


def header(qid, flags, qd, an, ns, ar):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def answer_query(zone, msg, mode):
    qid, flags = struct.unpack("!HH", msg[:4])
    qname, off = read_name(msg, 12)
    qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
    question = msg[12:off + 4]
    rd = flags & 0x0100
    if mode == "garbage":
        return os.urandom(random.randint(1, 40))
    if mode == "refused":
        return header(qid, 0x8000 | rd | 5, 1, 0, 0, 0) + question
    aa = 0 if mode == "lame" else 0x0400
    with zone.lock:
        if not zone.in_zone(qname):
            return header(qid, 0x8000 | rd | 5, 1, 0, 0, 0) + question
        answers, auth = [], []
        if qtype == TYPES["SOA"] and qname == zone.origin:
            answers.append(rr_wire(qname, qtype, 300, zone.soa_rdata()))
        else:
            ent = zone.data.get((qname, qtype))
            if ent:
                answers = [rr_wire(qname, qtype, ent[0], r) for r in ent[1]]
        rcode = 0
        if not answers:
            if qname not in zone.names():
                rcode = 3
            auth.append(rr_wire(zone.origin, TYPES["SOA"], 60, zone.soa_rdata()))
    return (header(qid, 0x8000 | aa | rd | rcode, 1, len(answers), len(auth), 0)
            + question + b"".join(answers) + b"".join(auth))


def apply_update(zone, msg):
    """RFC 2136 3.2 prerequisites and 3.4 updates; returns an RCODE."""
    zo, up, ar_off = parse_update(msg)
    with zone.lock:
        # RFC 2136 3.2: collect the value-dependent prerequisites per RRset
        want = {}
        for (name, rtype, rclass, ttl, rdata, roff) in zo["prereq"]:
            if rclass == C_NONE:  # 2.4.3 RRset does not exist
                if (name, rtype) in zone.data:
                    return 7  # YXRRSET
            elif rclass == C_ANY:  # 2.4.1 RRset exists
                if rtype == TYPES["SOA"] and name == zone.origin:
                    continue
                if (name, rtype) not in zone.data:
                    return 8  # NXRRSET
            else:  # 2.4.2 value dependent
                want.setdefault((name, rtype), set()).add(
                    rdata_canon(msg, rtype, roff + 10, rdata))
        for k, rdatas in want.items():
            ent = zone.data.get(k)
            if not ent or set(ent[1]) != rdatas:
                return 8  # NXRRSET
        for (name, rtype, rclass, ttl, rdata, roff) in up:
            if not zone.in_zone(name):
                return 10  # NOTZONE
            if rclass == C_ANY and not rdata:  # 2.5.2 delete an RRset
                zone.data.pop((name, rtype), None)
            elif rclass == C_IN:  # 2.5.1 add to an RRset
                canon = rdata_canon(msg, rtype, roff + 10, rdata)
                ent = zone.data.setdefault((name, rtype), [ttl, []])
                ent[0] = ttl
                if canon not in ent[1]:
                    ent[1].append(canon)
        zone.serial += 1
        log("update applied, serial %d" % zone.serial)
    return 0


def parse_update(msg):
    zc, pc, uc, ac = struct.unpack("!HHHH", msg[4:12])
    off = 12
    for _ in range(zc):
        _, off = read_name(msg, off)
        off += 4
    res = {"prereq": []}
    for _ in range(pc):
        rr, off = read_rr(msg, off)
        res["prereq"].append(rr)
    ups = []
    for _ in range(uc):
        rr, off = read_rr(msg, off)
        ups.append(rr)
    return res, ups, off


class Peer:
    """Shared state of one listener."""

    def __init__(self, args):
        self.args = args
        self.key = Key(args.key) if args.key else None
        self.zone = Zone(args.zone, args.addr, args.mx_ttl)
        self.updates = 0
        self.lock = threading.Lock()


def update_reply(peer, msg, rcode):
    qid = struct.unpack("!H", msg[:2])[0]
    zone_section_end = 12
    _, zone_section_end = read_name(msg, 12)
    zsec = msg[12:zone_section_end + 4]
    # RFC 2136 3.8: the reply carries the zone section; opcode UPDATE (5)
    return header(qid, 0x8000 | (5 << 11) | rcode, 1, 0, 0, 0) + zsec


def handle_update(peer, msg, send, hold):
    mode = peer.args.update_mode
    with peer.lock:
        peer.updates += 1
        n = peer.updates
    log("UPDATE #%d (mode %s)" % (n, mode))
    t = find_tsig(msg)
    req_mac = t[1] if t else b""
    key = peer.key
    if mode == "silent":
        hold()
        return
    if mode == "lost-first" and n == 1:
        apply_update(peer.zone, msg)
        hold()
        return
    if mode == "garbage":
        junk = os.urandom(64)
        send(struct.pack("!H", len(junk)) + junk)
        return
    if mode == "truncated":
        send(struct.pack("!H", 200) + msg[:20])
        return
    if mode == "short":
        # A header that announces one answer record, and nothing else
        qid = msg[:2]
        send(struct.pack("!H", 12) + qid + struct.pack("!HHHHH", 0xA800, 0, 1, 0, 0))
        return
    if mode in ("servfail", "notzone", "refused"):
        rc = {"servfail": 2, "notzone": 10, "refused": 5}[mode]
        send(frame(sign_reply(key, update_reply(peer, msg, rc), req_mac)))
        return
    if mode == "badsig" or mode == "unsigned":
        r = update_reply(peer, msg, 0)
        if mode == "badsig":
            r = sign_reply(key, r, req_mac, corrupt=True)
        send(frame(r))
        return
    if mode in ("wrongid", "wrongid-then-good"):
        r = update_reply(peer, msg, 0)
        bad = struct.pack("!H", (struct.unpack("!H", r[:2])[0] + 1) & 0xFFFF) + r[2:]
        send(frame(sign_reply(key, bad, req_mac)))
        if mode == "wrongid":
            return
    rc = apply_update(peer.zone, msg)
    send(frame(sign_reply(key, update_reply(peer, msg, rc), req_mac)))


def frame(msg):
    return struct.pack("!H", len(msg)) + msg


def make_handlers(peer):
    class TCP(socketserver.BaseRequestHandler):
        def handle(self):
            sock = self.request
            sock.settimeout(60)
            stop = threading.Event()

            def hold():
                # keep the connection open, answer nothing, until the
                # client gives up
                try:
                    while sock.recv(4096):
                        pass
                except OSError:
                    pass
                stop.set()

            while not stop.is_set():
                hdr = recv_all(sock, 2)
                if hdr is None:
                    return
                msg = recv_all(sock, struct.unpack("!H", hdr)[0])
                if msg is None:
                    return
                try:
                    opcode = (msg[2] >> 3) & 0x0F
                    if opcode == 5:
                        handle_update(peer, msg, sock.sendall, hold)
                        if peer.args.update_mode in ("garbage", "truncated",
                                                     "short", "wrongid"):
                            return
                    else:
                        sock.sendall(frame(answer_query(peer.zone, msg,
                                                        peer.args.query_mode)))
                except (ValueError, struct.error, IndexError) as e:
                    log("malformed request: %s" % e)
                    return
                except OSError:
                    return

    class UDP(socketserver.BaseRequestHandler):
        def handle(self):
            msg, sock = self.request
            try:
                sock.sendto(answer_query(peer.zone, msg, peer.args.query_mode),
                            self.client_address)
            except (ValueError, struct.error, IndexError) as e:
                log("malformed UDP request: %s" % e)

    return TCP, UDP


def recv_all(sock, n):
    buf = b""
    while len(buf) < n:
        try:
            b = sock.recv(n - len(buf))
        except OSError:
            return None
        if not b:
            return None
        buf += b
    return buf


class TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class UDPServer(socketserver.ThreadingUDPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    global LOG, REPLY_TIME_OFFSET
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key")
    ap.add_argument("--zone", default="fake.test.")
    ap.add_argument("--mx-ttl", type=int, default=86400)
    ap.add_argument("--update-mode", default="good")
    ap.add_argument("--query-mode", default="good")
    ap.add_argument("--reply-time-offset", type=int, default=0)
    ap.add_argument("--ready-file")
    ap.add_argument("--log")
    args = ap.parse_args()
    if not args.addr.startswith("127."):
        raise SystemExit("loopback addresses only")
    if args.log:
        LOG = open(args.log, "a")
    REPLY_TIME_OFFSET = args.reply_time_offset
    peer = Peer(args)
    tcp_h, udp_h = make_handlers(peer)
    tcp = TCPServer((args.addr, args.port), tcp_h)
    udp = UDPServer((args.addr, args.port), udp_h)
    for s in (tcp, udp):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    log("listening on %s:%d (update %s, query %s)" %
        (args.addr, args.port, args.update_mode, args.query_mode))
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("%d\n" % os.getpid())
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
