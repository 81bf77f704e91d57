#!/usr/bin/env python3
# urgent-data-fence.py PORT URGENT_POINTER: a TCP client made of hand-built
# frames on the guest's tap0, for tests/integration/urgent-data-fence.sh.
# From an address the guest's kernel does not own (10.0.2.123, so the kernel
# drops libslirp's replies instead of resetting them), it opens a connection
# to 10.0.2.2:PORT and sends one segment: ACK|PSH|URG, the given urgent
# pointer, and the 10 bytes "GUESTDATA!". Prints "sent" once that went out.
import socket, struct, sys, time

PORT, URGENT = int(sys.argv[1]), int(sys.argv[2])
ME, GATEWAY = bytes([10, 0, 2, 123]), bytes([10, 0, 2, 2])
SPORT, ISN = 40123, 1000
PAYLOAD = b"GUESTDATA!"

sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
sock.bind(("tap0", 0))
sock.settimeout(0.5)
mac = sock.getsockname()[4]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_frame(dst_mac, seq, ack, flags, urgent=0, payload=b""):
    header = struct.pack("!HHIIBBHHH", SPORT, PORT, seq, ack, 5 << 4, flags, 65535, 0, urgent)
    pseudo = ME + GATEWAY + struct.pack("!BBH", 0, 6, len(header) + len(payload))
    c = checksum(pseudo + header + payload)
    header = header[:16] + struct.pack("!H", c) + header[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(header) + len(payload), 1, 0x4000, 64, 6,
                     0, ME, GATEWAY)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + mac + b"\x08\x00" + ip + header + payload


def arp_request():
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, ME, b"\0" * 6, GATEWAY)
    return b"\xff" * 6 + mac + b"\x08\x06" + arp


def frames(seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            yield sock.recv(65535)
        except socket.timeout:
            continue


# The gateway's MAC; the request also puts ours into libslirp's ARP table.
gateway_mac = None
for attempt in range(20):
    sock.send(arp_request())
    for f in frames(0.5):
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
    for f in frames(0.5):
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
