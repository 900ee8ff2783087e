#!/usr/bin/env python3
"""An OTLP/HTTP receiver on loopback for benchmarks: accepts every export (traces, metrics, logs) and counts the bytes.
   python3 bench/otlp-sink.py 4318      (Ctrl-C prints what arrived)"""
import collections, http.server, sys

received = collections.Counter()

class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get('Content-Length', 0))
        self.rfile.read(length)
        received[self.path] += length
        self.send_response(200)
        self.send_header('Content-Type', 'application/x-protobuf')
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1]) if len(sys.argv) > 1 else 4318), Sink)
try:
    server.serve_forever()
except KeyboardInterrupt:
    print(dict(received))
