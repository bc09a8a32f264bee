#!/usr/bin/env python3
"""bench/lag-probe.py — how long the server's loop keeps an unrelated request waiting.

One keep-alive connection sends `GET /ping` every 5 ms (never more than one in flight) for
SECONDS and measures each answer's latency: a loop thread blocked on a commit (fsync) delays
every answer by as long as it blocks, so the p99 of this probe is the loop's stall, as a client
sees it. Prints `PROBE <n> <p50 ms> <p99 ms> <max ms>`.

Usage: lag-probe.py HOST PORT SECONDS
"""
import socket
import sys
import time

host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection((host, port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
req = f"GET /ping HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
lat = []
end = time.monotonic() + secs
buf = b""
while time.monotonic() < end:
    t0 = time.monotonic()
    s.sendall(req)
    while True:
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if sep:
            n = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":")[1])
            if len(rest) >= n:
                buf = rest[n:]
                break
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("lag-probe: the server closed the connection")
        buf += chunk
    lat.append((time.monotonic() - t0) * 1000)
    pause = 0.005 - (time.monotonic() - t0)
    if pause > 0:
        time.sleep(pause)
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"PROBE {len(lat)} {pick(0.5):.3f} {pick(0.99):.3f} {lat[-1]:.3f}")
