#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# urgent-data-fence.py PORT URGENT_POINTER: a TCP client made of hand-built
# frames on the guest's tap0, for tests/integration/urgent-data-fence.sh.
# From an address the guest's kernel does not own (10.0.2.123, so the kernel
# drops libslirp's replies instead of resetting them), it opens a connection
# to 10.0.2.2:PORT and sends one segment: ACK|PSH|URG, the given urgent
# pointer, and the 10 bytes "GUESTDATA!". Prints "sent" once that went out.
import socket, struct, sys, time

import frames

PORT, URGENT = int(sys.argv[1]), int(sys.argv[2])
ME, GATEWAY = bytes([10, 0, 2, 123]), bytes([10, 0, 2, 2])
SPORT, ISN = 40123, 1000
PAYLOAD = b"GUESTDATA!"

sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
sock.bind(("tap0", 0))
sock.settimeout(0.5)
mac = sock.getsockname()[4]


def tcp_frame(dst_mac, seq, ack, flags, urgent=0, payload=b""):
    segment = frames.tcp(ME, GATEWAY, SPORT, PORT, seq, ack, flags, 65535, urgent, payload)
    return frames.eth(dst_mac, mac, frames.ETH_IPV4,
                      frames.ipv4(6, ME, GATEWAY, segment, ident=1, frag=0x4000))


def received(seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            yield sock.recv(65535)
        except socket.timeout:
            continue


# The gateway's MAC; the request also puts ours into libslirp's ARP table.
gateway_mac = None
for attempt in range(20):
    sock.send(frames.arp_request(mac, ME, GATEWAY))
    for f in received(0.5):
        if f[12:14] == b"\x08\x06" and f[14 + 7] == 2 and f[14 + 14:14 + 18] == GATEWAY:
            gateway_mac = f[6:12]
            break
    if gateway_mac:
        break
if not gateway_mac:
    sys.exit("no ARP reply from the gateway")

# SYN until the SYN-ACK (libslirp answers once its connect() to the host
# peer completed).
server_isn = None
for attempt in range(20):
    sock.send(tcp_frame(gateway_mac, ISN, 0, 0x02))
    for f in received(0.5):
        if f[12:14] != b"\x08\x00" or f[14 + 9] != 6 or f[14 + 16:14 + 20] != ME:
            continue
        tcp = f[14 + (f[14] & 15) * 4:]
        sport, dport, seq, ack, _, flags = struct.unpack("!HHIIBB", tcp[:14])
        if sport == PORT and dport == SPORT and flags & 0x12 == 0x12 and ack == ISN + 1:
            server_isn = seq
            break
    if server_isn is not None:
        break
if server_isn is None:
    sys.exit("no SYN-ACK from 10.0.2.2:%d" % PORT)

ack = (server_isn + 1) & 0xFFFFFFFF
sock.send(tcp_frame(gateway_mac, ISN + 1, ack, 0x10))
sock.send(tcp_frame(gateway_mac, ISN + 1, ack, 0x10 | 0x08 | 0x20, URGENT, PAYLOAD))
print("sent", flush=True)
# Stay a while so libslirp's replies still find our ARP entry, then reset.
time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 3)
sock.send(tcp_frame(gateway_mac, ISN + 1 + len(PAYLOAD), 0, 0x04))
