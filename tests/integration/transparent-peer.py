#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Both ends of the transparent-forward tests (tests/integration/transparent-*.sh).

  transparent-peer.py serve PORT [LOG]     in the guest: TCP and UDP on PORT, both
                                           families; each client's address is also
                                           appended to LOG ("tcp ADDR PORT")
  transparent-peer.py tcp HOST PORT BYTES  a client: sends BYTES random bytes and
  transparent-peer.py udp HOST PORT BYTES  prints the address the guest saw; exits 1
                                           unless the same bytes came back
  transparent-peer.py listen PORT FILE     a UDP listener: each datagram's payload and
                                           sender are appended to FILE
  options for the clients: --bind PORT (the client's own port); --hold FILE
  (TCP: after half the bytes, wait until FILE exists before the rest)

The guest server answers a TCP connection, once the client has half-closed,
with "ADDR\\n" followed by every byte it received; a UDP datagram with
"ADDR\\n" followed by the datagram. A datagram "send-to HOST PORT" instead
makes the server send "from the guest" from its own port to HOST:PORT (the
container's own traffic from a forwarded port), and answers "sent".
"""
import os
import socket
import sys
import threading
import time


def shown(addr):
    host = addr[0]
    return host[7:] if host.startswith("::ffff:") else host


def log_client(log, proto, addr):
    if log:
        with open(log, "a") as f:
            f.write("%s %s %d\n" % (proto, shown(addr), addr[1]))


def serve_tcp_client(conn, addr, log):
    log_client(log, "tcp", addr)
    data = bytearray()
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.sendall(shown(addr).encode() + b"\n" + bytes(data))
    conn.close()


def serve(port, log):
    tcp = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    tcp.bind(("::", port))
    tcp.listen(64)
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    udp.bind(("::", port))

    def udp_loop():
        while True:
            data, addr = udp.recvfrom(65536)
            if data.startswith(b"send-to "):
                _, host, port = data.decode().split()
                target = host if ":" in host else "::ffff:" + host
                udp.sendto(b"from the guest", (target, int(port)))
                udp.sendto(b"sent", addr)
                continue
            log_client(log, "udp", addr)
            udp.sendto(shown(addr).encode() + b"\n" + data, addr)

    threading.Thread(target=udp_loop, daemon=True).start()
    while True:
        conn, addr = tcp.accept()
        threading.Thread(target=serve_tcp_client, args=(conn, addr, log), daemon=True).start()


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listen(port, path):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        data, addr = s.recvfrom(65536)
        with open(path, "a") as f:
            f.write("%s from %s\n" % (data.decode(errors="replace"), shown(addr)))


def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.05)


def client(proto, host, port, size, bind_port, hold):
    payload = os.urandom(size)
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family_of(host), kind)
    if bind_port:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::" if family_of(host) == socket.AF_INET6 else "0.0.0.0", bind_port))
    if proto == "tcp":
        s.settimeout(20)
        s.connect((host, port))
        if hold:
            s.sendall(payload[:size // 2])
            wait_for(hold)
            s.sendall(payload[size // 2:])
        else:
            s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        reply = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    else:
        s.settimeout(1)
        reply = b""
        for _ in range(10):  # UDP: retry a lost datagram
            s.sendto(payload, (host, port))
            try:
                reply = s.recv(65536)
                break
            except socket.timeout:
                pass
    line, _, data = bytes(reply).partition(b"\n")
    print(line.decode(errors="replace"))
    if data != payload:
        print("data mismatch: sent %d bytes, got %d back" % (len(payload), len(data)),
              file=sys.stderr)
        sys.exit(1)


def main():
    args = sys.argv[1:]
    options = {"--bind": "0", "--hold": ""}
    for name in options:
        if name in args:
            i = args.index(name)
            options[name] = args[i + 1]
            del args[i:i + 2]
    if args[0] == "serve":
        serve(int(args[1]), args[2] if len(args) > 2 else None)
    elif args[0] == "listen":
        listen(int(args[1]), args[2])
    else:
        client(args[0], args[1], int(args[2]), int(args[3]), int(options["--bind"]),
               options["--hold"])


main()
