#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""libslirp-2026-advisories.py: the guest's side of libslirp-2026-advisories.sh.

  dhcpv6 N        an Information-Request with an N-byte client id asking for
                  DNS servers and a boot URL, over the guest's own IPv6; prints
                  "reply BYTES echoed|other" or "no reply"
  dhcpv6-raw N    the same request written raw onto tap0 (whatever the tap's
                  MTU, which the guest may raise); prints nothing
  tftp            a read request with a blksize option to 10.0.2.2; prints
                  "error CODE MESSAGE", "other OPCODE" or "no reply"
  ncsi TYPE       an NC-SI command of TYPE with no payload; prints
                  "reply TYPE PAYLOAD-LENGTH" or "no reply"
  urgent-listen   accepts one connection on port 8080 and reads it to the
                  end, urgent bytes inline; prints "BYTES exact|other"
  urgent-send PORT  (on the host) connects to 127.0.0.1:PORT and sends
                  URGENT_STREAM, the last byte of each piece as urgent data
"""
import select
import socket
import struct
import sys
import time

import frames

DHCPV6_ALL = "ff02::1:2"


def information_request(n):
    client_id = bytes((i * 7 + 1) & 0xFF for i in range(n))
    # Option request: 23 (DNS servers) and 59 (boot file URL).
    return bytes([11, 1, 2, 3]) + struct.pack("!HH", 1, n) + client_id + struct.pack("!HHHH", 6, 4, 23, 59)


def dhcpv6(n):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", 546))
    s.settimeout(1)
    msg = information_request(n)
    scope = socket.if_nametoindex("tap0")
    # The tap's link-local address is tentative for a moment after start.
    for _ in range(15):
        try:
            s.sendto(msg, (DHCPV6_ALL, 547, 0, scope))
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            continue
        except OSError:  # no usable source address yet
            time.sleep(1)
            continue
        print("reply", len(data), "echoed" if msg[4:8 + n] in data else "other")
        return
    print("no reply")


def dhcpv6_raw(n):
    src = bytes.fromhex("fe80" + "00" * 13 + "01")
    dst = socket.inet_pton(socket.AF_INET6, DHCPV6_ALL)
    msg = information_request(n)
    udp = struct.pack("!HHHH", 546, 547, 8 + len(msg), 0) + msg
    c = frames.checksum(src + dst + struct.pack("!IxxxB", len(udp), 17) + udp)
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(("tap0", 0))
    s.send(frames.eth(bytes.fromhex("333300010002"), s.getsockname()[4], frames.ETH_IPV6,
                      frames.ipv6(17, src, dst, udp)))


def tftp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"\0\1boot\0octet\0blksize\0" + b"1428\0", ("10.0.2.2", 69))
    try:
        data, _ = s.recvfrom(65535)
    except socket.timeout:
        print("no reply")
        return
    opcode = struct.unpack("!H", data[:2])[0]
    if opcode == 5:
        print("error", struct.unpack("!H", data[2:4])[0], data[4:].rstrip(b"\0").decode())
    else:
        print("other", opcode)


# Twenty pieces of 100 to 2000 bytes.
URGENT_STREAM = [bytes([65 + i]) * (100 * (i + 1)) for i in range(20)]


def urgent_listen():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 8080))
    s.listen(1)
    s.settimeout(30)
    conn, _ = s.accept()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
    conn.settimeout(10)
    got = b""
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    print(len(got), "exact" if got == b"".join(URGENT_STREAM) else "other")


def urgent_send(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    for piece in URGENT_STREAM:
        s.sendall(piece[:-1])
        s.send(piece[-1:], socket.MSG_OOB)
        time.sleep(0.02)  # each urgent byte its own segment
    s.close()


def ncsi(kind):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88F8))
    s.bind(("tap0", 0))
    header = bytes([0, 1, 0, 9, kind, 0]) + struct.pack("!H", 0) + b"\0" * 8
    s.send(frames.eth(b"\xff" * 6, s.getsockname()[4], 0x88F8, header))
    ready, _, _ = select.select([s], [], [], 5)
    if not ready:
        print("no reply")
        return
    reply = s.recv(65535)[14:]
    print("reply %#x" % reply[4], struct.unpack("!H", reply[6:8])[0] & 0xFFF)


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "dhcpv6":
        dhcpv6(int(sys.argv[2]))
    elif what == "dhcpv6-raw":
        dhcpv6_raw(int(sys.argv[2]))
    elif what == "tftp":
        tftp()
    elif what == "ncsi":
        ncsi(int(sys.argv[2], 0))
    elif what == "urgent-listen":
        urgent_listen()
    elif what == "urgent-send":
        urgent_send(int(sys.argv[2]))
    else:
        sys.exit("unknown probe " + what)
