#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""api-client.py: a small client for the API socket, used by tests/integration/api-*.sh.

  api-client.py SOCK JSON            send JSON, half-close, print the reply
  api-client.py --no-shutdown SOCK JSON
                                     send JSON and keep the write side open: the
                                     server must answer on a complete value alone
  api-client.py --hex SOCK HEX       send raw bytes given in hex, half-close
  api-client.py --repeat SOCK N TEXT send TEXT repeated N times, half-close
  api-client.py --chunks SOCK A B..  send A, pause 0.2 s, send B, ... (no half-close)
  api-client.py --time SOCK JSON     print the reply, then the milliseconds it took
  api-client.py --podman SOCK JSON   as podman 5 does it: JSON and a newline,
                                     half-close, then one read of up to 2048 bytes
  api-client.py concurrent SOCK N    N clients at once, each list_hostfwd; prints
                                     how many got a valid reply
  api-client.py silent SOCK N SECS   holds N connections that never send, for SECS
                                     seconds; prints how many the server closed
Exit status 0 when a reply arrived (any reply), 1 otherwise.
"""
import json
import socket
import sys
import threading
import time

TIMEOUT = 10


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(path)
    return s


def read_all(s):
    chunks = []
    while True:
        data = s.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def exchange(path, payload, half_close=True):
    s = connect(path)
    try:
        try:
            s.sendall(payload)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:
            # The server may answer (too large) before taking everything.
            print("send: %s" % e, file=sys.stderr)
        return read_all(s)
    finally:
        s.close()


def concurrent(path, n):
    # Connect all first, then send: every connection is open at the same time.
    socks = [connect(path) for _ in range(n)]
    ok = [0]
    lock = threading.Lock()

    def run(s):
        try:
            s.sendall(b'{"execute":"list_hostfwd"}')
            s.shutdown(socket.SHUT_WR)
            reply = json.loads(read_all(s))
            if "entries" in reply.get("return", {}):
                with lock:
                    ok[0] += 1
        except (OSError, ValueError):
            pass
        finally:
            s.close()

    threads = [threading.Thread(target=run, args=(s,)) for s in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(ok[0])
    return 0


def silent(path, n, seconds):
    socks = [connect(path) for _ in range(n)]
    print("connected", flush=True)
    deadline = time.monotonic() + seconds
    closed = set()
    while time.monotonic() < deadline and len(closed) < n:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    closed.add(i)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(i)
        time.sleep(0.05)
    print(len(closed))
    for s in socks:
        s.close()
    return 0


def main(argv):
    if argv[0] == "concurrent":
        return concurrent(argv[1], int(argv[2]))
    if argv[0] == "silent":
        return silent(argv[1], int(argv[2]), float(argv[3]))
    mode = argv[0] if argv[0].startswith("--") else ""
    args = argv[1:] if mode else argv
    path = args[0]
    start = time.monotonic()
    if mode == "--hex":
        reply = exchange(path, bytes.fromhex(args[1]))
    elif mode == "--repeat":
        reply = exchange(path, args[2].encode() * int(args[1]))
    elif mode == "--podman":
        s = connect(path)
        s.sendall(args[1].encode() + b"\n")
        s.shutdown(socket.SHUT_WR)
        reply = s.recv(2048)
        s.close()
    elif mode == "--chunks":
        s = connect(path)
        for i, chunk in enumerate(args[1:]):
            if i:
                time.sleep(0.2)
            s.sendall(chunk.encode())
        reply = read_all(s)
        s.close()
    else:
        reply = exchange(path, args[1].encode(), half_close=(mode != "--no-shutdown"))
    took = (time.monotonic() - start) * 1000
    sys.stdout.write(reply.decode(errors="replace") + "\n")
    if mode == "--time":
        print("%.1f" % took)
    return 0 if reply else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
