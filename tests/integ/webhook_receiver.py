#!/usr/bin/env python3
"""webhook_receiver.py: a tiny loopback HTTP server for the notify hook.

  webhook_receiver.py OUTFILE [--addr 127.0.0.1] [--port-file FILE]

Listens on ADDR (loopback only; the port is picked by the kernel and
written to --port-file, or printed on stdout), and appends the body of
every POST as one line of OUTFILE (the body is re-serialised compactly, so
one JSON object per line; a body that is not JSON is recorded as
{"invalid": "<text>"}).  Answers 204.  Runs until killed.
"""
import argparse
import ipaddress
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("outfile")
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--port-file")
    a = p.parse_args()
    if not ipaddress.ip_address(a.addr).is_loopback:
        sys.exit("webhook_receiver.py: %s is not a loopback address" % a.addr)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n).decode("utf-8", "replace")
            try:
                line = json.dumps(json.loads(body), sort_keys=True)
            except ValueError:
                line = json.dumps({"invalid": body})
            with open(a.outfile, "a") as f:
                f.write(line + "\n")
            self.send_response(204)
            self.end_headers()

        def log_message(self, fmt, *args):
            pass

    srv = HTTPServer((a.addr, 0), Handler)
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        __import__("os").rename(a.port_file + ".tmp", a.port_file)
    else:
        print(port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
