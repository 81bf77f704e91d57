#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tiny DNS ends for the DNS forwarder's tests (no real resolver involved).

serve MODE ADDRESS IP LOG  a nameserver on ADDRESS port 53, UDP and TCP;
                           every query it gets is one line in LOG
                           ("udp NAME" or "tcp NAME"). MODE:
  answer    every A query is answered with IP (other types: no records)
  silent    nothing is ever answered (a black hole)
  refuse    REFUSED          servfail  SERVFAIL
  truncate  over UDP an empty answer with TC set, over TCP the answer
ask SERVER NAME [udp|tcp] [TIMEOUT]  in the guest: one A query; prints the
                           address, or "rcode N" (with " tc" when
                           truncated), or "timeout"
flood SERVER COUNT         in the guest: COUNT queries over UDP, at most
                           256 unanswered at a time (a reply or 1 s of
                           silence frees a slot); prints "sent N answered M"
tcp-many SERVER COUNT      in the guest: COUNT TCP connections open at
                           once, a query on each; prints "answered N"
burst SERVER COUNT         in the guest: COUNT queries over UDP at once,
                           waiting for nothing; prints "sent COUNT"
"""
import random
import socket
import struct
import sys
import threading
import time


def question_end(msg):
    i = 12
    while msg[i]:
        i += 1 + msg[i]
    return i + 5


def qname(msg):
    labels, i = [], 12
    while msg[i]:
        labels.append(msg[i + 1:i + 1 + msg[i]].decode(errors="replace"))
        i += 1 + msg[i]
    return ".".join(labels)


def reply(msg, mode, ip, over):
    end = question_end(msg)
    qtype = struct.unpack("!H", msg[end - 4:end - 2])[0]
    flags = 0x8180 | (struct.unpack("!H", msg[2:4])[0] & 0x0100)
    rcode = {"refuse": 5, "servfail": 2}.get(mode, 0)
    body = b""
    if mode == "truncate" and over == "udp":
        flags |= 0x0200
    elif rcode == 0 and qtype == 1:
        body = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(ip)
    head = msg[:2] + struct.pack("!HHHHH", flags | rcode, 1, 1 if body else 0, 0, 0)
    return head + msg[12:end] + body


def serve(mode, address, ip, log):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    lock = threading.Lock()
    out = None

    def note(over, msg):
        with lock:
            out.write("%s %s\n" % (over, qname(msg)))
            out.flush()

    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.bind((address, 53))
    tcp = socket.socket(family, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((address, 53))
    tcp.listen(64)

    def serve_tcp():
        while True:
            conn, _ = tcp.accept()
            threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()

    def serve_conn(conn):
        with conn:
            f = conn.makefile("rb")
            while True:
                head = f.read(2)
                if len(head) < 2:
                    return
                msg = f.read(struct.unpack("!H", head)[0])
                note("tcp", msg)
                if mode == "silent":
                    continue
                r = reply(msg, mode, ip, "tcp")
                conn.sendall(struct.pack("!H", len(r)) + r)

    out = open(log, "w")  # listening: the test may go on
    threading.Thread(target=serve_tcp, daemon=True).start()
    while True:
        msg, peer = udp.recvfrom(4096)
        note("udp", msg)
        if mode != "silent":
            udp.sendto(reply(msg, mode, ip, "udp"), peer)


def query(name, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def describe(r):
    flags = struct.unpack("!H", r[2:4])[0]
    if flags & 0xF:
        return "rcode %d%s" % (flags & 0xF, " tc" if flags & 0x0200 else "")
    if struct.unpack("!H", r[6:8])[0] == 0:
        return "rcode 0 tc" if flags & 0x0200 else "no records"
    return socket.inet_ntoa(r[-4:])


def ask(server, name, over="udp", timeout="5"):
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    qid = random.randrange(65536)
    q = query(name, qid)
    try:
        if over == "tcp":
            s = socket.create_connection((server, 53), timeout=float(timeout))
            s.sendall(struct.pack("!H", len(q)) + q)
            f = s.makefile("rb")
            r = f.read(struct.unpack("!H", f.read(2))[0])
        else:
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.settimeout(float(timeout))
            s.sendto(q, (server, 53))
            r = s.recv(65535)
    except (socket.timeout, struct.error):
        print("timeout")
        return
    if struct.unpack("!H", r[:2])[0] != qid:
        print("wrong id")
        return
    print(describe(r))


def flood(server, count):
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.connect((server, 53))
    s.setblocking(False)
    count, sent, answered, outstanding = int(count), 0, 0, {}
    while sent < count or outstanding:
        now = time.monotonic()
        for qid in [q for q, t in outstanding.items() if now - t > 1]:
            del outstanding[qid]
        while sent < count and len(outstanding) < 256:
            qid = sent % 65536
            if qid in outstanding:
                break
            try:
                s.send(query("n%d.flood.test" % sent, qid))
            except BlockingIOError:
                break
            outstanding[qid] = now
            sent += 1
        try:
            while True:
                r = s.recv(65535)
                if outstanding.pop(struct.unpack("!H", r[:2])[0], None) is not None:
                    answered += 1
        except BlockingIOError:
            time.sleep(0.001)
        except ConnectionRefusedError:
            pass
    print("sent %d answered %d" % (sent, answered))


def tcp_many(server, count):
    conns = []
    for i in range(int(count)):
        s = socket.create_connection((server, 53), timeout=20)
        q = query("t%d.many.test" % i, i)
        s.sendall(struct.pack("!H", len(q)) + q)
        conns.append(s)
    answered = 0
    for s in conns:
        f = s.makefile("rb")
        try:
            head = f.read(2)
            if len(head) == 2 and describe(f.read(struct.unpack("!H", head)[0])).count(".") == 3:
                answered += 1
        except socket.timeout:
            pass
    print("answered %d" % answered)


def burst(server, count):
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.connect((server, 53))
    for i in range(int(count)):
        s.send(query("b%d.burst.test" % i, i % 65536))
    print("sent %s" % count)


if __name__ == "__main__":
    {"serve": serve, "ask": ask, "flood": flood, "burst": burst,
     "tcp-many": tcp_many}[sys.argv[1]](*sys.argv[2:])
