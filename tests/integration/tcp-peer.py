#!/usr/bin/env python3
"""TCP ends for the kernel-path tests, one process per side.

server PORT [ADDRESS]  on the host side; each connection starts with one
                       command line from the client:
  upload N             read until EOF (the client half-closed), reply with
                       the SHA-256 of what came, close
  download N SEED      send N bytes, half-close, read the client's SHA-256
                       of them; log "download ok" or "download bad"
  reset                answer "ready", wait for the client's reset; log
                       "reset" to stdout
  reset-me             close at once with a reset
  hold                 keep the connection open until the client closes
client HOST PORT MODE [N]  in the guest: the other half of each command;
                       prints one result line
connect HOST PORT SECONDS  in the guest: prints "connected" or the errno
                       name the connect ended with ("timeout" if none)
"""
import hashlib
import os
import socket
import struct
import sys
import threading


def data(n, seed):
    # Deterministic bytes without a big buffer: SHA-256 in counter mode.
    block = 1 << 16
    for i in range(0, n, block):
        chunk = b"".join(
            hashlib.sha256(b"%d:%d:%d" % (seed, i, j)).digest() for j in range(block // 32)
        )
        yield chunk[: min(block, n - i)]


def read_line(c):
    line = b""
    while not line.endswith(b"\n"):
        b = c.recv(1)
        if not b:
            break
        line += b
    return line.decode().strip()


def drain_hash(c):
    h = hashlib.sha256()
    while True:
        b = c.recv(1 << 20)
        if not b:
            return h.hexdigest()
        h.update(b)


def serve_one(c):
    try:
        words = read_line(c).split()
        if not words:
            return
        if words[0] == "upload":
            c.sendall((drain_hash(c) + "\n").encode())
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


def client(host, port, mode, n=0):
    c = connect(host, port)
    if mode == "upload":
        c.sendall(b"upload %d\n" % n)
        h = hashlib.sha256()
        for chunk in data(n, 7):
            h.update(chunk)
            c.sendall(chunk)
        c.shutdown(socket.SHUT_WR)  # the host side must still answer
        print("ok" if read_line(c) == h.hexdigest() else "bad")
    elif mode == "download":
        c.sendall(b"download %d 9\n" % n)
        c.sendall((drain_hash(c) + "\n").encode())  # after the host's FIN
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


def try_connect(host, port, seconds):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family)
    s.settimeout(seconds)
    try:
        s.connect((host, port))
        print("connected")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print(os.strerror(e.errno) if e.errno else str(e))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "server":
        server(int(sys.argv[2]), *sys.argv[3:4])
    elif cmd == "client":
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    elif cmd == "connect":
        try_connect(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
