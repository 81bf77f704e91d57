#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# udp-peer.py: both ends of the UDP tests (kernel-udp*.sh).
#
#   serve ADDRESS PORT      a server: bulk transfers, "who" queries and
#                           ICMP errors' targets (see below); IPv4 or IPv6
#   upload HOST PORT N [SIZE]
#                           N datagrams of SIZE (1200) bytes to the server,
#                           then the missing ones again until it has them
#                           all; prints "ok" when its SHA-256 over them
#                           matches ours
#   download HOST PORT N    the same the other way
#   who HOST1 PORT1 HOST2 PORT2
#                           from one socket, asks both servers which address
#                           and port they saw; prints "same PORT" or
#                           "different A B", then "third HOST PORT" for each
#                           datagram that arrived from the servers' third
#                           sockets (never contacted by us)
#   seen HOST PORT          the address the server saw us send from
#   refused HOST PORT [recverr]
#                           a connected socket sends one datagram where no
#                           one listens: "refused" on ECONNREFUSED, else
#                           what happened ("timeout", "answered", or the
#                           error's name, such as ENETUNREACH)
#   flood HOST PORT N [PORTS]
#                           N datagrams to N distinct destination ports of
#                           HOST from one socket, or, with PORTS, from PORTS
#                           sockets in turn (each closed after its send)
#   gso-send HOST PORT SECONDS [SEGMENT [WRITES]]
#                           for SECONDS, writes of as many SEGMENT-byte
#                           (1400) datagrams as fit 64 KB, each one send
#                           with UDP_SEGMENT (the kernel, or a device
#                           offering USO, cuts them); each datagram is "Q",
#                           an 8-byte sequence number, then zeros; prints
#                           "sent DATAGRAMS BYTES". With WRITES, exactly
#                           that many writes, 2 ms apart (paced: none need
#                           be lost), whatever SECONDS says
#   gso-answer ADDRESS PORT SECONDS [SEGMENT]
#                           the same from a socket bound to ADDRESS:PORT, to
#                           whoever sends it a datagram first (a guest behind
#                           the NAT)
#   sink ADDRESS PORT SECONDS [check] [HOST HPORT]
#                           counts such datagrams (UDP_GRO on, so coalesced
#                           ones count one by one) until SECONDS after the
#                           first or 1 s of silence; prints "received
#                           DATAGRAMS BYTES bad N" (N: malformed datagrams;
#                           with check, also repeated sequence numbers and
#                           datagrams whose rest is not zeros); with HOST
#                           HPORT, says hello there from its socket until
#                           the first comes (to a gso-answer)
#
# Bulk datagrams: "D", a 4-byte sequence number, SIZE - 5 bytes derived from
# it.
import errno
import hashlib
import socket
import struct
import sys
import time

SIZE = 1200


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def body(seq):
    seed = hashlib.sha256(struct.pack("!I", seq)).digest()
    return (seed * (SIZE // len(seed) + 1))[: SIZE - 5]


def datagram(seq):
    return b"D" + struct.pack("!I", seq) + body(seq)


def digest(n):
    h = hashlib.sha256()
    for seq in range(n):
        h.update(body(seq))
    return h.hexdigest()


def burst(s, to, seqs):
    for i, seq in enumerate(seqs):
        while True:
            try:
                s.sendto(datagram(seq), to)
                break
            except BlockingIOError:
                time.sleep(0.001)
        if i % 64 == 63:
            time.sleep(0.002)  # paced: a burst of thousands would overflow buffers


def serve(address, port):
    s = socket.socket(family(address), socket.SOCK_DGRAM)
    if ":" in address:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((address, port))
    third = socket.socket(family(address), socket.SOCK_DGRAM)
    third.bind((address, 0))
    uploads = {}  # peer -> {seq: data}
    while True:
        data, peer = s.recvfrom(65536)
        kind = data[:1]
        if kind == b"D":
            seq = struct.unpack("!I", data[1:5])[0]
            uploads.setdefault(peer, {})[seq] = data[5:]
        elif kind == b"F":  # upload finished? N
            n = struct.unpack("!I", data[1:5])[0]
            got = uploads.get(peer, {})
            missing = [i for i in range(n) if i not in got][:256]
            if missing:
                s.sendto(b"M" + b"".join(struct.pack("!I", i) for i in missing), peer)
            else:
                h = hashlib.sha256()
                for i in range(n):
                    h.update(got[i])
                s.sendto(b"S" + h.hexdigest().encode(), peer)
                uploads.pop(peer, None)
        elif kind == b"G":  # download N, or these sequence numbers
            n = struct.unpack("!I", data[1:5])[0]
            seqs = [struct.unpack("!I", data[i : i + 4])[0] for i in range(5, len(data), 4)]
            burst(s, peer, seqs or range(n))
            s.sendto(b"S" + digest(n).encode(), peer)
        elif kind == b"W":
            s.sendto(b"I %s %d" % (peer[0].encode(), peer[1]), peer)
            third.sendto(b"T", peer)


def ask(s, to, message, want, tries=20, others=None):
    for _ in range(tries):
        s.sendto(message, to)
        deadline = time.time() + 1
        while time.time() < deadline:
            try:
                data, peer = s.recvfrom(65536)
            except socket.timeout:
                break
            if data[:1] in want:
                return data, peer
            if others is not None:
                others.append((data, peer))
    raise SystemExit("no answer from %s" % (to,))


def upload(host, port, n):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(1)
    to = (host, port)
    seqs = list(range(n))
    for _ in range(50):
        burst(s, to, seqs)
        data, _ = ask(s, to, b"F" + struct.pack("!I", n), (b"M", b"S"))
        if data[:1] == b"S":
            print("ok" if data[1:].decode() == digest(n) else "checksum mismatch")
            return
        seqs = [struct.unpack("!I", data[i : i + 4])[0] for i in range(1, len(data), 4)]
    print("gave up")


def download(host, port, n):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.settimeout(1)
    to = (host, port)
    got = {}
    request = b"G" + struct.pack("!I", n)
    for _ in range(50):
        s.sendto(request, to)
        want = None
        while True:
            try:
                data, _ = s.recvfrom(65536)
            except socket.timeout:
                break
            if data[:1] == b"D":
                got[struct.unpack("!I", data[1:5])[0]] = data[5:]
            elif data[:1] == b"S":
                want = data[1:].decode()
                break
        missing = [i for i in range(n) if i not in got]
        if not missing and want:
            h = hashlib.sha256()
            for i in range(n):
                h.update(got[i])
            print("ok" if h.hexdigest() == want == digest(n) else "checksum mismatch")
            return
        request = b"G" + struct.pack("!I", n) + b"".join(struct.pack("!I", i) for i in missing[:256])
    print("gave up")


def who(host1, port1, host2, port2):
    s = socket.socket(family(host1), socket.SOCK_DGRAM)
    s.settimeout(1)
    others = []
    a, _ = ask(s, (host1, port1), b"W", (b"I",), others=others)
    b, _ = ask(s, (host2, port2), b"W", (b"I",), others=others)
    pa, pb = a.split()[2], b.split()[2]
    print("same %s" % pa.decode() if pa == pb else "different %s %s" % (pa.decode(), pb.decode()))
    s.settimeout(2)
    try:
        while True:
            others.append(s.recvfrom(65536))
    except socket.timeout:
        pass
    for data, peer in others:
        if data == b"T":
            print("third %s %d" % (peer[0], peer[1]))


def seen(host, port):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(1)
    a, _ = ask(s, (host, port), b"W", (b"I",))
    print(a.split()[1].decode())


def refused(host, port, recverr=False):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    if recverr:  # soft errors (network unreachable) are reported only then
        if ":" in host:
            s.setsockopt(socket.IPPROTO_IPV6, 25, 1)  # IPV6_RECVERR
        else:
            s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
    s.settimeout(3)
    s.connect((host, port))
    s.send(b"anyone?")
    try:
        s.recv(2048)
        print("answered")
    except ConnectionRefusedError:
        print("refused")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))


def flood(host, port, n, ports=0):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    for i in range(n):
        if ports:
            s.close()
            s = socket.socket(family(host), socket.SOCK_DGRAM)
        try:
            s.sendto(b"x", (host, port + i % 50000))
        except OSError:
            pass
        if i % 256 == 255:
            time.sleep(0.001)
    print("sent")


SOL_UDP, UDP_SEGMENT, UDP_GRO = 17, 103, 104
SO_RCVBUFFORCE = 33


def gso_send(host, port, seconds, segment=1400, writes=None, s=None):
    if s is None:
        s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.setsockopt(SOL_UDP, UDP_SEGMENT, segment)
    count = min(64, 65000 // segment)
    buf = bytearray(count * segment)
    sent = seq = 0
    end = time.monotonic() + seconds
    while writes is not None or time.monotonic() < end:
        if writes is not None:
            if seq == writes * count:
                break
            if seq:
                time.sleep(0.002)
        for i in range(count):
            buf[i * segment : i * segment + 9] = b"Q" + struct.pack("!Q", seq + i)
        try:
            s.sendto(buf, (host, port))
        except (BlockingIOError, OSError) as e:  # ENOBUFS: a full queue below us
            if isinstance(e, BlockingIOError) or e.errno == errno.ENOBUFS:
                time.sleep(0.0005)
                continue
            raise
        seq += count
        sent += len(buf)
    print("sent %d %d" % (seq, sent))


def gso_answer(address, port, seconds, segment=1400):
    s = socket.socket(family(address), socket.SOCK_DGRAM)
    s.bind((address, port))
    s.settimeout(60)
    _, peer = s.recvfrom(65536)
    s.settimeout(None)
    gso_send(peer[0], peer[1], seconds, segment, s=s)


def sink(address, port, seconds, check=False, hello=None):
    s = socket.socket(family(address), socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
    except PermissionError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.setsockopt(SOL_UDP, UDP_GRO, 1)
    s.bind((address, port))
    s.settimeout(seconds + 30)  # the first datagram
    datagrams = received = bad = 0
    seen = set()
    end = None
    buf = bytearray(65536)
    space = socket.CMSG_SPACE(4)
    if hello:
        s.settimeout(0.2)
        deadline = time.monotonic() + seconds + 30
    while end is None or time.monotonic() < end:
        if hello and end is None:
            s.sendto(b"hello", hello)
        try:
            n, ancdata, _, _ = s.recvmsg_into([buf], space)
        except socket.timeout:
            if hello and end is None and time.monotonic() < deadline:
                continue
            break
        if end is None:
            end = time.monotonic() + seconds
            s.settimeout(1)
        size = n
        for level, kind, data in ancdata:
            if level == SOL_UDP and kind == UDP_GRO:
                size = struct.unpack("i", data[:4])[0]
        for off in range(0, n, size):
            datagrams += 1
            if buf[off] != ord("Q"):
                bad += 1
            elif check:
                seq = struct.unpack_from("!Q", buf, off + 1)[0]
                rest = buf[off + 9 : min(off + size, n)]
                if seq in seen or rest.count(0) != len(rest):
                    bad += 1
                seen.add(seq)
        received += n
    print("received %d %d bad %d" % (datagrams, received, bad))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve(args[0], int(args[1]))
    elif cmd == "upload":
        global SIZE
        SIZE = int(args[3]) if len(args) > 3 else SIZE
        upload(args[0], int(args[1]), int(args[2]))
    elif cmd == "download":
        download(args[0], int(args[1]), int(args[2]))
    elif cmd == "who":
        who(args[0], int(args[1]), args[2], int(args[3]))
    elif cmd == "seen":
        seen(args[0], int(args[1]))
    elif cmd == "refused":
        refused(args[0], int(args[1]), len(args) > 2 and args[2] == "recverr")
    elif cmd == "gso-send":
        gso_send(
            args[0],
            int(args[1]),
            float(args[2]),
            int(args[3]) if len(args) > 3 else 1400,
            int(args[4]) if len(args) > 4 else None,
        )
    elif cmd == "gso-answer":
        gso_answer(args[0], int(args[1]), float(args[2]), int(args[3]) if len(args) > 3 else 1400)
    elif cmd == "sink":
        check = args[3:4] == ["check"]
        rest = args[4:] if check else args[3:]
        hello = (rest[0], int(rest[1])) if len(rest) > 1 else None
        sink(args[0], int(args[1]), float(args[2]), check, hello)
    elif cmd == "flood":
        flood(args[0], int(args[1]), int(args[2]), int(args[3]) if len(args) > 3 else 0)


main()
