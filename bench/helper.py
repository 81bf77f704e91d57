#!/usr/bin/python3
"""bench/helper.py: the small measuring tools bench/run.sh needs that no
Debian package provides.

  helper.py hold-server PORT          accept and hold TCP connections on 127.0.0.1
  helper.py hold-client HOST PORT N   open N connections, print "connected N",
                                      keep them open until stdin closes
  helper.py ready-time BINARY ARGS... start BINARY ("{fd}" in ARGS becomes the
                                      ready pipe), print the milliseconds until it
                                      wrote "1", then stop it
  helper.py cpu-seconds PID           utime + stime of PID in seconds
  helper.py rss-kb PID                resident set size of PID in KiB
  helper.py iperf-bytes FILE          bytes received and bits/s from iperf3 -J
"""
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time


def hold_server(port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(4096)
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is listener:
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ)
            else:
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionError:
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()


def hold_client(host, port, count):
    conns = []
    deadline = time.monotonic() + 60
    while len(conns) < count:
        if time.monotonic() > deadline:
            print(f"only {len(conns)} of {count} connections within 60 s", file=sys.stderr)
            sys.exit(1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect((host, port))
        except OSError as e:
            print(f"connection {len(conns) + 1} failed: {e}", file=sys.stderr)
            s.close()
            sys.exit(1)
        conns.append(s)
    # One byte on each proves every connection is established end to end.
    for s in conns:
        s.sendall(b"x")
    print(f"connected {len(conns)}", flush=True)
    sys.stdin.read()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    ticks = int(fields[11]) + int(fields[12])
    print(f"{ticks / os.sysconf('SC_CLK_TCK'):.3f}")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                print(line.split()[1])
                return
    sys.exit(1)


def iperf_bytes(path):
    with open(path) as f:
        result = json.load(f)
    if "error" in result:
        print(result["error"], file=sys.stderr)
        sys.exit(1)
    received = result["end"]["sum_received"]
    print(f"{received['bytes']} {received['bits_per_second']:.0f}")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "hold-server":
        hold_server(int(args[0]))
    elif cmd == "hold-client":
        hold_client(args[0], int(args[1]), int(args[2]))
    elif cmd == "ready-time":
        # "{fd}" in the arguments is replaced by the ready pipe's number.
        ready_time(args)
    elif cmd == "cpu-seconds":
        cpu_seconds(int(args[0]))
    elif cmd == "rss-kb":
        rss_kb(int(args[0]))
    elif cmd == "iperf-bytes":
        iperf_bytes(args[0])
    else:
        print(f"unknown command {cmd}", file=sys.stderr)
        sys.exit(2)


def ready_time(argv):
    # The pipe number is only known after os.pipe(): substitute it here.
    r, w = os.pipe()
    argv = [a.replace("{fd}", str(w)) for a in argv]
    start = time.monotonic()
    proc = subprocess.Popen(argv, pass_fds=[w], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(w)
    data = b""
    while b"1" not in data:
        chunk = os.read(r, 16)
        if not chunk:
            break
        data += chunk
    elapsed = (time.monotonic() - start) * 1000
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if b"1" not in data:
        print(f"never became ready: {err.decode(errors='replace').strip()[-300:]}", file=sys.stderr)
        sys.exit(1)
    print(f"{elapsed:.2f}")


if __name__ == "__main__":
    main()
