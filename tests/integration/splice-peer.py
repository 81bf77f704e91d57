#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Both ends of the splice port-forwarding tests (tests/integration/splice-*.sh).
kernel-tcp-many.sh runs the servers on the host side and the checks in the
guest instead.

  splice-peer.py serve DIR            servers in the guest (ports below); events
                                      the host cannot see are written to DIR
  splice-peer.py CHECK HOST PORT...   one client-side check; exit 0 = passed
                                      (udp-two-guest-addresses takes a second port)

Guest ports (each also on IPv6 when the family exists):
  7001 sink: reads to EOF, answers "<bytes> <sha256>", closes      (half-close up)
  7002 talker: sends "hello", shuts down writing, then reads to EOF
       and records what arrived after its FIN in DIR/after-fin     (half-close down)
  7003 resetter: reads a line, closes with a reset                  (RST down)
  7004 watcher: reads until error/EOF, records "reset" or "eof"
       in DIR/watcher                                               (RST up)
  7005 slow sink: waits 2 s before reading, then as 7001            (backpressure up)
  7006 source: sends N bytes (N from the first line) then closes    (backpressure down)
  7007 echo: echoes each chunk until EOF                            (many connections)
  7008/udp echo: answers each datagram with "echo:" + datagram
"""
import asyncio
import hashlib
import os
import socket
import struct
import sys
import time


def digest(data):
    return "%d %s" % (len(data), hashlib.sha256(data).hexdigest())


def pattern(n):
    block = bytes(range(256)) * 4096  # 1 MiB
    out = bytearray()
    while len(out) < n:
        out += block[: n - len(out)]
    return bytes(out)


# ---- guest side ----

async def read_all(reader):
    chunks = []
    while True:
        chunk = await reader.read(1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def serve(directory):
    async def sink(reader, writer, delay=0):
        if delay:
            await asyncio.sleep(delay)
        data = await read_all(reader)
        writer.write(digest(data).encode())
        await writer.drain()
        writer.close()

    async def talker(reader, writer):
        writer.write(b"hello")
        await writer.drain()
        writer.write_eof()
        data = await read_all(reader)
        with open(os.path.join(directory, "after-fin"), "wb") as f:
            f.write(data)
        writer.close()

    async def resetter(reader, writer):
        await reader.readline()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def watcher(reader, writer):
        outcome = "eof"
        try:
            await read_all(reader)
        except ConnectionResetError:
            outcome = "reset"
        with open(os.path.join(directory, "watcher"), "w") as f:
            f.write(outcome)
        writer.close()

    async def source(reader, writer):
        n = int((await reader.readline()).decode())
        writer.write(pattern(n))
        await writer.drain()
        writer.close()

    async def echo(reader, writer):
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    handlers = {
        7001: sink,
        7002: talker,
        7003: resetter,
        7004: watcher,
        7005: lambda r, w: sink(r, w, 2),
        7006: source,
        7007: echo,
    }

    async def main():
        servers = []
        for port, handler in handlers.items():
            servers.append(await asyncio.start_server(handler, "0.0.0.0", port, backlog=1024))
            try:
                servers.append(await asyncio.start_server(handler, "::", port, backlog=1024,
                                                          family=socket.AF_INET6))
            except OSError:
                pass
        class UdpEcho(asyncio.DatagramProtocol):
            def connection_made(self, transport):
                self.transport = transport

            def datagram_received(self, data, peer):
                self.transport.sendto(b"echo:" + data, peer)

        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(UdpEcho, local_addr=("0.0.0.0", 7008))
        try:
            # "::" would otherwise also claim the IPv4 port bound just above.
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s6.bind(("::", 7008))
            await loop.create_datagram_endpoint(UdpEcho, sock=s6)
        except OSError:
            pass
        open(os.path.join(directory, "ready"), "w").close()
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


# ---- host side ----

def connect(host, port, timeout=10):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def recv_all(s):
    chunks = []
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def fail(msg):
    print("check failed: " + msg, file=sys.stderr)
    sys.exit(1)


def check_half_close_up(host, port):
    data = pattern(3 << 20)
    s = connect(host, port)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)  # the sink answers only after our FIN arrives
    answer = recv_all(s).decode()
    if answer != digest(data):
        fail("sink answered %r, expected %r" % (answer, digest(data)))


def check_half_close_down(host, port):
    s = connect(host, port)
    got = recv_all(s)  # ends only when the guest's FIN is passed on
    if got != b"hello":
        fail("talker sent %r" % got)
    s.sendall(b"still-open-after-your-fin")
    s.close()


def check_reset_down(host, port):
    s = connect(host, port)
    s.sendall(b"reset me\n")
    try:
        data = recv_all(s)
    except ConnectionResetError:
        return
    fail("expected a reset, got a clean EOF after %r" % data)


def check_reset_up(host, port):
    s = connect(host, port)
    s.sendall(b"some bytes")
    time.sleep(0.3)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def check_slow_guest_reader(host, port):
    data = pattern(24 << 20)
    s = connect(host, port, timeout=30)
    s.sendall(data)  # the guest does not read for 2 s: the forwarder must hold back
    s.shutdown(socket.SHUT_WR)
    answer = recv_all(s).decode()
    if answer != digest(data):
        fail("slow sink answered %r" % answer)


def check_slow_host_reader(host, port):
    n = 24 << 20
    s = connect(host, port, timeout=30)
    s.sendall(b"%d\n" % n)
    time.sleep(2)  # we do not read: the guest's writes must be held back
    got = recv_all(s)
    if digest(got) != digest(pattern(n)):
        fail("source data arrived as %s" % digest(got))


def check_sequential(host, port, count):
    for i in range(int(count)):
        s = connect(host, port)
        msg = b"ping %d" % i
        s.sendall(msg)
        s.shutdown(socket.SHUT_WR)
        got = recv_all(s)
        s.close()
        if got != msg:
            fail("connection %d echoed %r" % (i, got))


def check_concurrent(host, port, count):
    socks = [connect(host, port, timeout=30) for _ in range(int(count))]
    for i, s in enumerate(socks):
        s.sendall(b"hello %d" % i)
    for i, s in enumerate(socks):
        want = b"hello %d" % i
        got = b""
        while len(got) < len(want):
            chunk = s.recv(100)
            if not chunk:
                break
            got += chunk
        if got != want:
            fail("concurrent connection %d echoed %r" % (i, got))
    for s in socks:
        s.close()


def check_refused(host, port):
    try:
        s = connect(host, port, timeout=3)
    except (ConnectionRefusedError, ConnectionResetError):
        return
    try:
        s.sendall(b"x")
        if s.recv(10) == b"":
            return
    except (ConnectionResetError, BrokenPipeError):
        return
    fail("a connection to %s:%s was accepted and served" % (host, port))


def check_udp(host, port, count=20):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(1)
    answered = 0
    for i in range(int(count)):
        msg = b"datagram %d" % i
        s.sendto(msg, (host, int(port)))
        try:
            got = s.recv(65536)
        except socket.timeout:
            continue
        if got != b"echo:" + msg:
            fail("UDP answer %r to %r" % (got, msg))
        answered += 1
    if answered < int(count) - 2:
        fail("only %d of %s datagrams answered" % (answered, count))
    # A large datagram survives whole.
    big = pattern(60000)
    s.sendto(big, (host, int(port)))
    try:
        if s.recv(65536) != b"echo:" + big:
            fail("large datagram came back damaged")
    except socket.timeout:
        fail("large datagram was not answered")


def check_udp_two_guest_addresses(host, port, other_port):
    """A flow to one guest address keeps its answers while a flow to
    another (other_port's forward) opens: the first is asked again after."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    first = socket.socket(family, socket.SOCK_DGRAM)
    second = socket.socket(family, socket.SOCK_DGRAM)
    for s, p, msg in ((first, port, b"first"), (second, int(other_port), b"second"),
                      (first, port, b"first again")):
        s.settimeout(5)
        s.sendto(msg, (host, p))
        try:
            got = s.recv(65536)
        except socket.timeout:
            fail("%r to port %d was not answered" % (msg, p))
        if got != b"echo:" + msg:
            fail("UDP answer %r to %r" % (got, msg))


CHECKS = {
    "half-close-up": check_half_close_up,
    "half-close-down": check_half_close_down,
    "reset-down": check_reset_down,
    "reset-up": check_reset_up,
    "slow-guest-reader": check_slow_guest_reader,
    "slow-host-reader": check_slow_host_reader,
    "sequential": check_sequential,
    "concurrent": check_concurrent,
    "refused": check_refused,
    "udp": check_udp,
    "udp-two-guest-addresses": check_udp_two_guest_addresses,
}

if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        CHECKS[sys.argv[1]](sys.argv[2], int(sys.argv[3]), *sys.argv[4:])
