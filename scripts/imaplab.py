"""imaplab.py: small IMAP helpers shared by gen_corpus.py and
mailbox_compare.py (test tooling; not used by cutover itself).

Connects with imaplib over IMAPS (or plain) to the lab, encodes mailbox
names in modified UTF-7 (RFC 3501 5.1.3) and reads LIST/NAMESPACE.
"""
import base64
import imaplib
import re
import ssl


def connect(host, port, user, password, ca=None, tls="imaps"):
    if tls == "imaps":
        ctx = ssl.create_default_context(cafile=ca)
        # The lab's certificate names imap.lab.test; we connect by address.
        ctx.check_hostname = False
        c = imaplib.IMAP4_SSL(host, port, ssl_context=ctx)
    else:
        c = imaplib.IMAP4(host, port)
    c.login(user, password)
    return c


def utf7_encode(s):
    """UTF-8 str -> modified UTF-7 (RFC 3501 5.1.3)."""
    out, buf = [], []

    def flush():
        if buf:
            b = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()

    for ch in s:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def utf7_decode(s):
    def dec(m):
        if m.group(1) == "":
            return "&"
        b = m.group(1).replace(",", "/")
        b += "=" * (-len(b) % 4)
        return base64.b64decode(b).decode("utf-16-be")
    return re.sub(r"&([^-]*)-", dec, s)


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def namespace(c):
    """(prefix, delimiter) of the first personal namespace."""
    typ, data = c.namespace()
    m = re.match(rb'\(\("([^"]*)" (?:"(.)"|NIL)\)', data[0])
    if not m:
        return "", "/"
    return m.group(1).decode(), (m.group(2) or b"/").decode()


_LIST_RE = re.compile(rb'\((?P<attrs>[^)]*)\) (?:"(?P<d>(?:\\.|[^"])*)"|NIL) (?P<name>.*)$')


def list_folders(c, special=True):
    """[(wire_name, attrs set)] of every folder."""
    if special:
        typ, data = c._simple_command("LIST", '""', '"*"', "RETURN", "(SPECIAL-USE SUBSCRIBED)")
        typ, data = c._untagged_response(typ, data, "LIST")
    else:
        typ, data = c.list()
    out = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):  # literal name
            head, lit = item
            m = _LIST_RE.match(head.rstrip() + b' ""')
            name = lit.decode()
        else:
            m = _LIST_RE.match(item)
            name = m.group("name").decode()
            if name.startswith('"'):
                name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        attrs = set(a.lower() for a in m.group("attrs").decode().split())
        out.append((name, attrs))
    return out


def ensure_folder(c, wire):
    if wire.upper() == "INBOX":
        return
    typ, _ = c.create(quote(wire))
    c.subscribe(quote(wire))


def select(c, wire, readonly=True):
    typ, data = c.select(quote(wire), readonly=readonly)
    if typ != "OK":
        raise RuntimeError("SELECT %s: %s" % (wire, data))
    return int(data[0])


_FETCH_RE = re.compile(rb"UID (\d+)|FLAGS \(([^)]*)\)|INTERNALDATE \"([^\"]+)\"|RFC822\.SIZE (\d+)")


def fetch_all(c, body=True):
    """[{uid, flags, internaldate, size, body}] of the selected folder."""
    typ, data = c.uid("SEARCH", None, "ALL")
    uids = data[0].split()
    if not uids:
        return []
    items = "(UID FLAGS INTERNALDATE RFC822.SIZE%s)" % (" BODY.PEEK[]" if body else "")
    typ, data = c.uid("FETCH", "1:*", items)
    msgs = []
    for item in data:
        if item is None or item == b")":
            continue
        head = item[0] if isinstance(item, tuple) else item
        m = {"body": item[1] if isinstance(item, tuple) else None}
        text = head + (b"" if not isinstance(item, tuple) else b"")
        for g in _FETCH_RE.finditer(text):
            if g.group(1):
                m["uid"] = int(g.group(1))
            elif g.group(2) is not None:
                m["flags"] = g.group(2).decode()
            elif g.group(3):
                m["internaldate"] = g.group(3).decode()
            elif g.group(4):
                m["size"] = int(g.group(4))
        if "uid" in m:
            msgs.append(m)
    return msgs
