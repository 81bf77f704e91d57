#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""TCP ends for the kernel-path tests, one process per side.

server PORT [ADDRESS]  on the host side; each connection starts with one
                       command line from the client:
  upload N [SLOW]      read until EOF (the client half-closed), reply with
                       the SHA-256 of what came, close; with SLOW, the first
                       SLOW bytes are read 64 KiB every 50 ms
  download N SEED      send N bytes, half-close, read the client's SHA-256
                       of them; log "download ok" or "download bad"
  reset                answer "ready", wait for the client's reset; log
                       "reset" to stdout
  reset-me             close at once with a reset
  hold                 keep the connection open until the client closes
  echo                 send back all that comes, until EOF; then close
client HOST PORT MODE [N [SLOW]]  in the guest: the other half of each
                       command (upload, download, reset, reset-me; SLOW as
                       above, on the guest's side for a download); prints one
                       result line
gated HOST PORT N GATE  in the guest: N bytes to the host's echo and back,
                       prints "halfway", waits until the file GATE exists,
                       then N bytes more each way and a half-close; prints
                       "ok" when what came back is what went, in order
hold HOST PORT N       in the guest: opens N "hold" connections, prints
                       "holding N" and keeps them until killed
connect HOST PORT SECONDS  in the guest: prints "connected" or the errno
                       name the connect ended with ("timeout" if none)
same-port HOST PORTS N COUNT  in the guest: COUNT downloads of N bytes in a
                       row from one source port, to each of the
                       comma-separated PORTS in turn; the host closes first,
                       so the guest keeps no TIME_WAIT and reuses its port at
                       once; prints "ok COUNT" or what went wrong
keepalive PID IDLE INTERVAL COUNT  on the host side: sets the TCP keepalive
                       of every connection process PID accepted in its
                       private namespace (local port 1) to IDLE, INTERVAL,
                       COUNT seconds and probes; prints how many, and the
                       settings they had: "N: ON,IDLE,INTERVAL,COUNT ..."
options HOST PORT      in the guest: connects and prints the TCP options the
                       handshake agreed on (of "sack", "timestamps",
                       "wscale"), or "none"
early HOST PORT DEV MAC  in the guest, started before the daemon: prints
                       "waiting", waits for DEV, makes MAC HOST's neighbour
                       (no ARP to wait for), then connects as soon as a
                       route allows, so that the SYN waits in the tap for
                       the daemon; prints the options as above and
                       "syn-retransmits=N" (the guest's TCPSynRetrans)
"""
import ctypes
import errno
import hashlib
import os
import random
import socket
import subprocess
import struct
import sys
import threading
import time

CHUNK = 1 << 20
SLOW_PIECE = 64 << 10
SLOW_PAUSE = 0.05


def data(n, seed):
    # Deterministic bytes, fast enough for gigabytes: one pseudo-random 1 MiB
    # block made once, each chunk of it led by its own index, so a lost,
    # repeated or reordered chunk (or segment within one) changes the hash.
    block = random.Random(seed).randbytes(CHUNK)
    for i, offset in enumerate(range(0, n, CHUNK)):
        chunk = i.to_bytes(8, "big") + block[8:]
        yield chunk if n - offset >= CHUNK else chunk[: n - offset]


def read_line(c):
    line = b""
    while not line.endswith(b"\n"):
        b = c.recv(1)
        if not b:
            break
        line += b
    return line.decode().strip()


def drain_hash(c, slow=0):
    # SHA-256 of everything until EOF; the first slow bytes are read a small
    # piece at a time with pauses, so the sender outruns the reader.
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    got = 0
    while True:
        slowly = got < slow
        n = c.recv_into(buf, SLOW_PIECE if slowly else CHUNK)
        if not n:
            return h.hexdigest()
        h.update(view[:n])
        got += n
        if slowly:
            time.sleep(SLOW_PAUSE)


def serve_one(c):
    try:
        words = read_line(c).split()
        if not words:
            return
        if words[0] == "upload":
            slow = int(words[2]) if len(words) > 2 else 0
            c.sendall((drain_hash(c, slow) + "\n").encode())
        elif words[0] == "download":
            n, seed = int(words[1]), int(words[2])
            h = hashlib.sha256()
            for chunk in data(n, seed):
                h.update(chunk)
                c.sendall(chunk)
            c.shutdown(socket.SHUT_WR)
            theirs = read_line(c)  # sent after our FIN reached the client
            print("download ok" if theirs == h.hexdigest() else "download bad", flush=True)
        elif words[0] == "reset":
            c.sendall(b"ready\n")  # the command arrived: the reset cannot overtake it
            try:
                while c.recv(65536):
                    pass
                print("eof", flush=True)
            except ConnectionResetError:
                print("reset", flush=True)
        elif words[0] == "reset-me":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif words[0] == "hold":
            while c.recv(65536):
                pass
        elif words[0] == "echo":
            buf = bytearray(CHUNK)
            while True:
                n = c.recv_into(buf)
                if not n:
                    break
                c.sendall(memoryview(buf)[:n])
    except OSError:
        pass
    finally:
        c.close()


def server(port, address="127.0.0.1"):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(family)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, port))
    s.listen(1024)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_one, args=(c,), daemon=True).start()


def connect(host, port, timeout=30):
    return socket.create_connection((host, port), timeout=timeout)


def client(host, port, mode, n=0, slow=0):
    c = connect(host, port)
    if mode == "upload":
        c.sendall(b"upload %d %d\n" % (n, slow))
        h = hashlib.sha256()
        for chunk in data(n, 7):
            h.update(chunk)
            c.sendall(chunk)
        c.shutdown(socket.SHUT_WR)  # the host side must still answer
        print("ok" if read_line(c) == h.hexdigest() else "bad")
    elif mode == "download":
        c.sendall(b"download %d 9\n" % n)
        c.sendall((drain_hash(c, slow) + "\n").encode())  # after the host's FIN
        print("sent")
    elif mode == "reset":
        c.sendall(b"reset\n")
        read_line(c)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        print("sent")
    elif mode == "reset-me":
        c.sendall(b"reset-me\n")
        try:
            got = c.recv(65536)
            print("eof" if not got else "data")
        except ConnectionResetError:
            print("reset")


def gated(host, port, n, gate):
    # The sender runs beside the reader: the echo's buffers and ours would
    # fill and stop both sides if one waited for the other.
    c = connect(host, port)
    c.sendall(b"echo\n")
    sent = hashlib.sha256()
    came = hashlib.sha256()

    def send(seed):
        for chunk in data(n, seed):
            sent.update(chunk)
            c.sendall(chunk)

    def expect(count):
        got = 0
        while got < count:
            piece = c.recv(min(CHUNK, count - got))
            if not piece:
                return "eof after %d of %d bytes" % (got, count)
            came.update(piece)
            got += len(piece)
        return None

    for half, seed in enumerate((3, 5)):
        if half:
            print("halfway", flush=True)
            while not os.path.exists(gate):
                time.sleep(0.05)
        sender = threading.Thread(target=send, args=(seed,))
        sender.start()
        problem = expect(n)
        sender.join()
        if problem:
            print(problem)
            return
    c.shutdown(socket.SHUT_WR)
    if c.recv(1):
        print("data after the echo")
    elif sent.hexdigest() != came.hexdigest():
        print("bad")
    else:
        print("ok")


def hold(host, port, n):
    held = []
    for _ in range(n):
        c = connect(host, port)
        c.sendall(b"hold\n")
        held.append(c)
    print("holding %d" % n, flush=True)
    while True:
        time.sleep(3600)


def same_port(host, ports, n, count):
    want = hashlib.sha256(b"".join(data(n, 9))).hexdigest()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    source = 0
    for i in range(count):
        port = ports[i % len(ports)]
        for _ in range(500):
            c = socket.socket(family)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            c.settimeout(30)
            c.bind(("", source))
            source = c.getsockname()[1]
            try:
                c.connect((host, port))
                break
            except OSError as e:
                # The last connection's socket may still wait for its final ACK.
                c.close()
                if e.errno != errno.EADDRNOTAVAIL:
                    print("connection %d from port %d: %s" % (i, source, os.strerror(e.errno)))
                    return
                time.sleep(0.01)
        c.sendall(b"download %d 9\n" % n)
        got = drain_hash(c)
        c.sendall((got + "\n").encode())
        c.close()
        if got != want:
            print("connection %d from port %d to %d: wrong data" % (i, source, port))
            return
    print("ok %d" % count)


def try_connect(host, port, seconds):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family)
    s.settimeout(seconds)
    try:
        s.connect((host, port))
        # The guest's kernel may report the socket writable with no error
        # while the ICMP unreachable for its SYN is still being posted: only
        # a peer makes it connected; otherwise the error comes a moment later.
        for _ in range(100):
            try:
                s.getpeername()
                print("connected")
                return
            except OSError as e:
                if e.errno != errno.ENOTCONN:
                    raise
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                print(os.strerror(err))
                return
            time.sleep(0.01)
        print("connected without a peer")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print(os.strerror(e.errno) if e.errno else str(e))


def keepalive(pid, idle, interval, count):
    # pidfd_getfd(2) copies a descriptor out of the daemon: the copy is the
    # same socket, so what is set on it holds for the daemon's.
    syscall = ctypes.CDLL(None, use_errno=True).syscall
    pidfd = os.pidfd_open(pid)
    found = []
    for name in os.listdir("/proc/%d/fd" % pid):
        fd = syscall(438, pidfd, int(name), 0)  # pidfd_getfd
        if fd < 0:
            continue
        try:
            s = socket.socket(fileno=fd)
        except OSError:
            os.close(fd)  # not a socket
            continue
        try:
            inet = s.family in (socket.AF_INET, socket.AF_INET6)
            if not inet or s.type != socket.SOCK_STREAM:
                continue
            # Accepted in the private namespace: its peer is the guest
            # (the host sockets' peer is the server, a listener has none).
            if not s.getpeername()[0].startswith(("10.0.2.", "fd00:")):
                continue
            tcp = socket.IPPROTO_TCP
            found.append("%d,%d,%d,%d" % (
                s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                s.getsockopt(tcp, socket.TCP_KEEPIDLE),
                s.getsockopt(tcp, socket.TCP_KEEPINTVL),
                s.getsockopt(tcp, socket.TCP_KEEPCNT)))
            s.setsockopt(tcp, socket.TCP_KEEPINTVL, interval)
            s.setsockopt(tcp, socket.TCP_KEEPCNT, count)
            s.setsockopt(tcp, socket.TCP_KEEPIDLE, idle)  # re-arms the timer
        except OSError:
            pass
        finally:
            s.close()
    print("%d: %s" % (len(found), " ".join(sorted(set(found)))))


def agreed_options(c):
    # struct tcp_info: tcpi_options is its sixth byte (TCPI_OPT_* bits).
    bits = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[5]
    names = [n for bit, n in ((2, "sack"), (1, "timestamps"), (4, "wscale")) if bits & bit]
    return " ".join(names) or "none"


def options(host, port):
    c = connect(host, port, 10)
    print(agreed_options(c))
    c.close()


def syn_retransmits():
    with open("/proc/net/netstat") as f:
        head, values = [line.split() for line in f if line.startswith("TcpExt:")][:2]
    return int(values[head.index("TCPSynRetrans")])


def early(host, port, dev, mac):
    print("waiting", flush=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.if_nametoindex(dev)  # this namespace's (unlike /sys, mounted elsewhere)
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"{dev} never appeared")
            time.sleep(0.0002)
    subprocess.run(["ip", "neigh", "replace", host, "lladdr", mac, "dev", dev, "nud", "permanent"],
                   check=True)
    while True:
        s = socket.socket()
        s.settimeout(10)
        try:
            s.connect((host, port))
            break
        except OSError as e:
            if e.errno not in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
                raise
        s.close()
        if time.monotonic() > deadline:
            sys.exit(f"no route to {host} on {dev}")
        time.sleep(0.0002)
    print(agreed_options(s), f"syn-retransmits={syn_retransmits()}")
    s.close()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "server":
        server(int(sys.argv[2]), *sys.argv[3:4])
    elif cmd == "client":
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4], *(int(a) for a in sys.argv[5:7]))
    elif cmd == "gated":
        gated(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif cmd == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "connect":
        try_connect(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "same-port":
        ports = [int(p) for p in sys.argv[3].split(",")]
        same_port(sys.argv[2], ports, int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "keepalive":
        keepalive(*(int(a) for a in sys.argv[2:6]))
    elif cmd == "options":
        options(sys.argv[2], int(sys.argv[3]))
    elif cmd == "early":
        early(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
