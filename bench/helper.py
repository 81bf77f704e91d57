#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/helper.py: the small measuring tools bench/run.sh needs that no
Debian package provides.

  helper.py hold-server PORT [BYTES]  accept and hold TCP connections on 127.0.0.1;
                                      a connection that has sent BYTES gets BYTES back
  helper.py hold-client HOST PORT N [BYTES]
                                      open N connections; then on each in turn send
                                      one byte, or with BYTES send BYTES and read
                                      BYTES back (hold-server's answer); print
                                      "connected N" and keep them open until stdin
                                      closes. With HOLD_PARTIAL=1, a connection
                                      refused ends the opening and those made are
                                      held: "connected K of N: WHY"
  helper.py ready-time BINARY ARGS... start BINARY ("{fd}" in ARGS becomes the
                                      ready pipe), print the milliseconds until it
                                      wrote "1", then stop it
  helper.py cpu-seconds PID           utime + stime in seconds of PID and of its
                                      descendants named slirp4netns-tcp (the
                                      "measured processes")
  helper.py rss-kb PID                resident set size in KiB, summed the same way
  helper.py fd-count PID              open descriptors, summed the same way
  helper.py processes PID             the measured processes' names
  helper.py machine-cpu               the machine's busy CPU seconds since boot
                                      (/proc/stat: user, nice, system, irq,
                                      softirq; not idle, iowait or steal)
  helper.py iperf-bytes FILE          bytes received and bits/s from iperf3 -J
  helper.py iperf-loss FILE           a UDP run's lost percent from iperf3 -J
  helper.py sockperf-percentiles      p50 and p99 in us from sockperf ping-pong's
                                      output on stdin
  helper.py sockstat-kb [--settle]    the machine's TCP memory (/proc/net/sockstat
                                      "TCP: ... mem", pages) in KiB: the least of
                                      5 readings over 0.4 s (with --settle, once
                                      it has stopped falling for 1 s, 5 s at most)
  helper.py socket-mem-kb PID         the kernel memory charged to the measured
                                      processes' TCP sockets (SO_MEMINFO: receive
                                      queue, send queue and forward allocation) in KiB
  helper.py api-latency SOCKET PID    list_hostfwd on the API SOCKET every 20 ms
                                      while PID lives; print the median and
                                      maximum milliseconds, the number of
                                      requests and of failed ones
"""
import ctypes
import json
import os
import selectors
import statistics
import signal
import socket
import struct
import subprocess
import sys
import time


def hold_server(port, answer_after=0):
    zeros = memoryview(bytes(65536))
    got, to_send = {}, {}
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
                got[conn] = 0
                continue
            conn = key.fileobj
            try:
                if conn in to_send:
                    to_send[conn] -= conn.send(zeros[:min(to_send[conn], len(zeros))])
                    if to_send[conn] == 0:
                        del to_send[conn]
                        sel.modify(conn, selectors.EVENT_READ)
                    continue
                data = conn.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionError:
                data = b""
            if not data:
                sel.unregister(conn)
                conn.close()
                del got[conn]
                to_send.pop(conn, None)
                continue
            got[conn] += len(data)
            # Answer once, when the connection has sent answer_after bytes.
            if answer_after and got[conn] >= answer_after and got[conn] - len(data) < answer_after:
                to_send[conn] = answer_after
                sel.modify(conn, selectors.EVENT_WRITE)


def hold_client(host, port, count, move=0):
    conns = []
    partial = ""
    allow_partial = os.environ.get("HOLD_PARTIAL") == "1"
    # Opened one after another: a daemon that serves each socket on every
    # wakeup (libslirp) takes longer for each new one.
    limit = 60 + count // 50
    deadline = time.monotonic() + limit
    while len(conns) < count:
        if time.monotonic() > deadline:
            if conns and allow_partial:
                partial = f" of {count}: no more within {limit} s"
                break
            print(f"only {len(conns)} of {count} connections within {limit} s", file=sys.stderr)
            sys.exit(1)
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except OSError as e:
            print(f"socket {len(conns) + 1}: {e}", file=sys.stderr)
            sys.exit(1)
        s.settimeout(10)
        try:
            s.connect((host, port))
        except OSError as e:
            s.close()
            if conns and allow_partial:
                partial = f" of {count}: connection {len(conns) + 1} failed: {e}"
                break
            print(f"connection {len(conns) + 1} failed: {e}", file=sys.stderr)
            sys.exit(1)
        conns.append(s)
    if move:
        # Each connection in turn moves its bytes both ways, so every one of
        # them has had full buffers once before they all go idle.
        payload = bytes(move)
        for s in conns:
            s.settimeout(60)
            s.sendall(payload)
            left = move
            while left > 0:
                chunk = s.recv(min(left, 65536))
                if not chunk:
                    print("connection closed before the answer", file=sys.stderr)
                    sys.exit(1)
                left -= len(chunk)
    else:
        # One byte on each proves every connection is established end to end.
        for s in conns:
            s.sendall(b"x")
    print(f"connected {len(conns)}{partial}", flush=True)
    sys.stdin.read()


# A candidate's cost is its daemon's plus that of the children that work for
# it while traffic flows: ours with kernel-to-kernel delivery keeps one in its
# private namespace. The forward helper (slirp4netns-fwd) only opens sockets
# and is left out, as it was before that child existed.
MEASURED_CHILDREN = ("slirp4netns-tcp",)


def comm(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def descendants(pid):
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            continue
        for child in children:
            found.append(child)
            found.extend(descendants(child))
    return found


def measured(pid):
    pids = [pid]
    for child in descendants(pid):
        try:
            if comm(child) in MEASURED_CHILDREN:
                pids.append(child)
        except OSError:
            pass  # gone meanwhile
    return pids


def cpu_seconds(pid):
    ticks = 0
    for p in measured(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            if p == pid:
                raise
            continue
        # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        ticks += int(fields[11]) + int(fields[12])
    print(f"{ticks / os.sysconf('SC_CLK_TCK'):.3f}")


def rss_kb(pid):
    total = 0
    for p in measured(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            if p == pid:
                sys.exit(1)
    print(total)


def fd_count(pid):
    total = 0
    for p in measured(pid):
        try:
            total += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            if p == pid:
                raise
    print(total)


def processes(pid):
    print(" ".join(comm(p) for p in measured(pid)))


def machine_cpu():
    with open("/proc/stat") as f:
        fields = f.readline().split()
    assert fields[0] == "cpu"
    # user nice system idle iowait irq softirq steal (guest time is inside user)
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
    busy = user + nice + system + irq + softirq
    print(f"{busy / os.sysconf('SC_CLK_TCK'):.3f}")


def tcp_mem_pages():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                fields = line.split()
                return int(fields[fields.index("mem") + 1])
    raise RuntimeError("no TCP line in /proc/net/sockstat")


def sockstat_kb(settle=False):
    # A baseline waits (up to 5 s) until the counter has stopped falling for
    # a second: the previous steps' sockets give their memory back in the
    # background, and would count as a shrinking of the next figure.
    if settle:
        last, steady, deadline = tcp_mem_pages(), 0, time.monotonic() + 5
        while steady < 4 and time.monotonic() < deadline:
            time.sleep(0.25)
            now = tcp_mem_pages()
            steady = steady + 1 if now >= last else 0
            last = now
    # The counter is the machine's (on Linux 6.x "mem" is not kept per
    # network namespace); other work on the machine only adds to it, so the
    # least of a few readings is the closest to our own share.
    readings = []
    for i in range(5):
        if i:
            time.sleep(0.1)
        readings.append(tcp_mem_pages())
    print(min(readings) * os.sysconf("SC_PAGE_SIZE") // 1024)


SYS_PIDFD_GETFD = 438  # the same number on every architecture
SO_MEMINFO = 55
SK_MEMINFO_RMEM_ALLOC, SK_MEMINFO_FWD_ALLOC, SK_MEMINFO_WMEM_QUEUED = 0, 4, 5


def socket_mem_kb(pid):
    # Each of the measured processes' sockets is copied into this process
    # (pidfd_getfd, which root may do to any process) and asked for its
    # memory; this reaches the sockets of namespaces no path leads to (the
    # kernel TCP path's private one).
    libc = ctypes.CDLL(None, use_errno=True)
    total = 0
    for p in measured(pid):
        try:
            pidfd = os.pidfd_open(p)
            names = os.listdir(f"/proc/{p}/fd")
        except OSError:
            continue
        for name in names:
            try:
                if not os.readlink(f"/proc/{p}/fd/{name}").startswith("socket:"):
                    continue
            except OSError:
                continue  # closed meanwhile
            fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
            if fd < 0:
                continue
            s = socket.socket(fileno=fd)
            try:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL) != socket.IPPROTO_TCP:
                    continue
                info = s.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 9 * 4)
                values = struct.unpack("9I", info)
                total += values[SK_MEMINFO_RMEM_ALLOC] + values[SK_MEMINFO_FWD_ALLOC] + \
                    values[SK_MEMINFO_WMEM_QUEUED]
            except OSError:
                pass
            finally:
                s.close()  # only the copy: the daemon's socket stays as it was
        os.close(pidfd)
    print(total // 1024)


def api_latency(path, pid):
    times, failed = [], 0
    while os.path.exists(f"/proc/{pid}"):
        start = time.monotonic()
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(path)
            s.sendall(b'{"execute":"list_hostfwd"}')
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
            s.close()
            if b'"return"' not in reply:
                failed += 1
        except OSError:
            failed += 1
        times.append((time.monotonic() - start) * 1000)
        time.sleep(0.02)
    if not times:
        print("no request made: the process was already gone", file=sys.stderr)
        sys.exit(1)
    print(f"{statistics.median(times):.2f} {max(times):.2f} {len(times)} {failed}")


def iperf_bytes(path):
    with open(path) as f:
        result = json.load(f)
    if "error" in result:
        print(result["error"], file=sys.stderr)
        sys.exit(1)
    received = result["end"]["sum_received"]
    print(f"{received['bytes']} {received['bits_per_second']:.0f}")


def iperf_loss(path):
    with open(path) as f:
        print(f"{json.load(f)['end']['sum']['lost_percent']:.2f}")


def sockperf_percentiles():
    found = {}
    for line in sys.stdin:
        for pct in ("50.000", "99.000"):
            if f"percentile {pct} =" in line:
                found[pct] = line.split("=")[-1].strip()
    if len(found) < 2:
        print("sockperf gave no percentiles", file=sys.stderr)
        sys.exit(1)
    print(found["50.000"], found["99.000"])


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "hold-server":
        hold_server(int(args[0]), int(args[1]) if len(args) > 1 else 0)
    elif cmd == "hold-client":
        hold_client(args[0], int(args[1]), int(args[2]), int(args[3]) if len(args) > 3 else 0)
    elif cmd == "ready-time":
        # "{fd}" in the arguments is replaced by the ready pipe's number.
        ready_time(args)
    elif cmd == "cpu-seconds":
        cpu_seconds(int(args[0]))
    elif cmd == "rss-kb":
        rss_kb(int(args[0]))
    elif cmd == "fd-count":
        fd_count(int(args[0]))
    elif cmd == "processes":
        processes(int(args[0]))
    elif cmd == "machine-cpu":
        machine_cpu()
    elif cmd == "iperf-bytes":
        iperf_bytes(args[0])
    elif cmd == "iperf-loss":
        iperf_loss(args[0])
    elif cmd == "sockperf-percentiles":
        sockperf_percentiles()
    elif cmd == "sockstat-kb":
        sockstat_kb(args[:1] == ["--settle"])
    elif cmd == "socket-mem-kb":
        socket_mem_kb(int(args[0]))
    elif cmd == "api-latency":
        api_latency(args[0], int(args[1]))
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
