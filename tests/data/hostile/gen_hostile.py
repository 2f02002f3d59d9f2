#!/usr/bin/env python3
"""gen_hostile.py GOOD_FILE OUTDIR: write damaged variants of GOOD_FILE.

Each variant is OUTDIR/<kind>.<ext> (ext taken from GOOD_FILE).  The kinds
cover what a file edited by hand, copied between systems or cut short by a
full disk looks like: binary garbage, an overlong line, UTF-16 and Latin-1
text, NUL bytes, CRLF line ends, a cut-off last line, an empty file, a huge
file, a lone byte-order mark, a missing final newline and a stray CR.
Deterministic (fixed seed) so that a failure can be reproduced.
"""
import os
import random
import sys

good_path, out = sys.argv[1], sys.argv[2]
ext = os.path.splitext(good_path)[1]
good = open(good_path, "rb").read()
text = good.decode("utf-8")
rnd = random.Random(4242)
lines = good.split(b"\n")
mid = len(lines) // 2

variants = {
    "binary": bytes(rnd.randrange(256) for _ in range(8192)),
    "binary-after-good": good + bytes(rnd.randrange(256) for _ in range(4096)),
    "overlong-line": b"\n".join(lines[:mid] + [b"x" * (1 << 20)] + lines[mid:]),
    "overlong-value": b"\n".join(lines[:mid] + [lines[mid] + b"y" * 70000] + lines[mid + 1:]),
    "utf16-bom": text.encode("utf-16"),
    "utf16le-nobom": text.encode("utf-16-le"),
    "latin1-comment": b"# caf\xe9\n" + good,
    "latin1-in-value": b"\n".join(lines[:mid] + [lines[mid] + b"\xe9\xfc"] + lines[mid + 1:]),
    "nul-bytes": b"\n".join(lines[:mid] + [lines[mid][:3] + b"\0\0" + lines[mid][3:]] + lines[mid + 1:]),
    "nul-only": b"\0" * 4096,
    "crlf": good.replace(b"\n", b"\r\n"),
    "cr-only": good.replace(b"\n", b"\r"),
    "truncated": good[: len(good) * 2 // 3],
    "truncated-mid-utf8": good[: len(good) // 2] + "é".encode()[:1],
    "empty": b"",
    "bom-only": b"\xef\xbb\xbf",
    "only-newlines": b"\n" * 100000,
    "no-final-newline": good.rstrip(b"\n"),
    "huge": good + (b"\xff\xfe garbage line \x01\x02\n" * 400000),
    "huge-comments": good + (b"# " + b"c" * 200 + b"\n") * 100000,
    "long-token": b"[" + b"s" * 100000 + b"]\n",
    "control-chars": good.replace(b"=", b"=\x1b[31m\x07", 1).replace(b";", b";\x1b[2J", 1),
}
os.makedirs(out, exist_ok=True)
for name, data in variants.items():
    with open(os.path.join(out, name + ext), "wb") as f:
        f.write(data)
    os.chmod(os.path.join(out, name + ext), 0o600)
print("\n".join(sorted(n + ext for n in variants)))
