#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# seeds.py: writes the hand-made seed inputs of each fuzz target into
# corpus/<target>/seed-*. Run it after changing an input format; the corpus
# files are committed, and crash reproducers sit beside them as crash-*.
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import frames as wire  # noqa: E402 (the shared frame builders)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# --- options: NUL-separated argv after the program name ---
argvs = {
    "pid": ["-c", "-e", "3", "-r", "4", "--mtu=65520", "1234", "tap0"],
    "podman": ["--disable-host-loopback", "--mtu=65520", "--enable-sandbox", "--enable-seccomp",
               "--enable-ipv6", "-c", "-e", "3", "-r", "4", "--api-socket", "/run/a.sock",
               "--netns-type=path", "/run/netns/x", "tap0"],
    "bess": ["--target-type=bess", "/tmp/bess.sock"],
    "tapfd": ["--netns-type=tapfd", "7"],
    "cidr": ["--cidr=10.5.0.0/24", "--macaddress=02:11:22:33:44:55", "-c", "1", "tap1"],
    "k3s-ipv6": ["--mtu", "65520", "-r", "3", "--disable-host-loopback", "--cidr",
                 "fd5b:e9ce:dffb:cafe::/64", "--enable-ipv6", "1", "tap0"],
    "cidr-both": ["-6", "--cidr=2001:db8:1::/64", "--cidr=10.9.0.0/16", "1", "tap0"],
    "outbound": ["--outbound-addr=127.0.0.1", "--outbound-addr6=::1", "--disable-dns", "1"],
    "userns": ["--userns-path=/proc/1/ns/user", "--netns-type=path", "/proc/1/ns/net"],
    "cluster": ["-c6m", "1500", "1"],
    "help": ["--help"],
    "version": ["-v"],
    "bad": ["--mtu", "--", "-x"],
}
for name, argv in argvs.items():
    write("options", name, b"\0".join(a.encode() for a in argv))

# --- api: chunk byte, then requests separated by 00 FF ---
requests = [
    b'{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "0.0.0.0", '
    b'"host_port": 8080, "guest_addr": "10.0.2.100", "guest_port": 80}}',
    b'{"execute": "add_hostfwd", "arguments": {"proto": "udp", "host_port": 5353, "guest_port": 53}}',
    b'{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "::1", '
    b'"host_port": 8080, "guest_addr": "fd00::100", "guest_port": 80}}',
    b'{"execute": "list_hostfwd"}',
    b'{"execute": "remove_hostfwd", "arguments": {"id": 1}}',
    b'{"execute": "get_stats"}',
    b'{"execute": "nope"}',
    b'[1, 2, "}"]',
    b'"\\u0000"',
    b'  {"execute": "list_hostfwd"',
    b'12',
    b'{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_port": 70000, "guest_port": -1}}',
]
write("api", "session", bytes([6]) + b"\0\xff".join(requests))
write("api", "one-byte-reads", bytes([0]) + requests[0] + b"\0\xff" + requests[3])
write("api", "too-large", bytes([255]) + b'{"execute": "list_hostfwd", "x": "' + b"a" * 5000 + b'"}')
write("api", "partial-eof", bytes([3]) + b'{"execute": "add_hostf')

# --- frames: flags byte, then (u16 length, bytes) per frame ---
GUEST_MAC = bytes.fromhex("020000000001")
SLIRP_MAC = bytes.fromhex("525500000202")
BCAST = b"\xff" * 6


def ipv4(proto, src, dst, payload, total=None, frag=0):
    return wire.ipv4(proto, src, dst, payload, ident=1, frag=frag, total=total)


def eth(dst, ethertype, payload):
    return wire.eth(dst, GUEST_MAC, ethertype, payload)


GUEST = [10, 0, 2, 100]
GW = [10, 0, 2, 2]
DNS = [10, 0, 2, 3]

arp = wire.arp_request(GUEST_MAC, GUEST, GW)
dhcp_payload = (bytes([1, 1, 6, 0]) + b"\x12\x34\x56\x78" + b"\0" * 20 + GUEST_MAC + b"\0" * 202 +
                b"\x63\x82\x53\x63" + bytes([53, 1, 1, 255]))
dhcp = eth(BCAST, 0x0800, ipv4(17, [0, 0, 0, 0], [255, 255, 255, 255],
                               struct.pack("!HHHH", 68, 67, 8 + len(dhcp_payload), 0) + dhcp_payload))
icmp_body = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"ping"
icmp_body = icmp_body[:2] + struct.pack("!H", wire.checksum(icmp_body)) + icmp_body[4:]
icmp = eth(SLIRP_MAC, 0x0800, ipv4(1, GUEST, GW, icmp_body))
syn = eth(SLIRP_MAC, 0x0800, ipv4(6, GUEST, GW, struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 0x50,
                                                              0x02, 65535, 0, 0)))
query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
dns = eth(SLIRP_MAC, 0x0800, ipv4(17, GUEST, DNS, struct.pack("!HHHH", 5353, 53, 8 + len(query), 0)
                                   + query))
giant = eth(SLIRP_MAC, 0x0800, ipv4(17, GUEST, GW, b"\0" * 8, total=65535))
fragment = eth(SLIRP_MAC, 0x0800, ipv4(17, GUEST, GW, b"\0" * 64, frag=0x2000 | 100))
# A UDP datagram to the gateway in two fragments, to be sent last one first:
# the order that crashes libslirp 4.7.0, and which the daemon reassembles.
udp_whole = struct.pack("!HHHH", 40000, 9, 48, 0) + b"F" * 40
fragments_last_first = [eth(SLIRP_MAC, 0x0800, ipv4(17, GUEST, GW, udp_whole[24:], frag=3)),
                        eth(SLIRP_MAC, 0x0800, ipv4(17, GUEST, GW, udp_whole[:24], frag=0x2000))]
rs = eth(bytes.fromhex("333300000002"), 0x86DD,
         struct.pack("!IHBB16s16s", 0x60000000, 8, 58, 255, bytes.fromhex("fe80" + "00" * 12 + "0001"),
                     bytes.fromhex("ff02" + "00" * 13 + "02")) + bytes([133, 0, 0, 0, 0, 0, 0, 0]))


def frames(flags, *fs):
    return bytes([flags]) + b"".join(struct.pack("!H", len(f)) + f for f in fs)


write("frames", "arp", frames(0, arp))
write("frames", "dhcp", frames(0, dhcp))
write("frames", "icmp", frames(0, arp, icmp))
write("frames", "tcp-syn", frames(0, arp, syn))
write("frames", "dns", frames(0, dns))
write("frames", "giant-ip-length", frames(0, giant))
write("frames", "fragment", frames(0, fragment, fragment))
write("frames", "fragments-last-first", frames(0, arp, *fragments_last_first))
write("frames", "ipv6-rs", frames(1, rs))
write("frames", "truncated", frames(0, arp[:20], icmp[:30], syn[:40], rs[:16], b"\x08\x00"))
write("frames", "declared-longer", bytes([0]) + b"\xff\xff" + syn)

# --- dns_wire: a selector byte (even: a frame, odd: resolv.conf text) ---
dns6 = eth(SLIRP_MAC, 0x86DD, struct.pack("!IHBB16s16s", 0x60000000, 8 + len(query), 17, 64,
                                          bytes.fromhex("fd00" + "00" * 13 + "64"),
                                          bytes.fromhex("fd00" + "00" * 13 + "03"))
           + struct.pack("!HHHH", 5353, 53, 8 + len(query), 0) + query)
write("dns_wire", "query4", bytes([0]) + dns)
write("dns_wire", "query6", bytes([0]) + dns6)
write("dns_wire", "query-cut", bytes([0]) + dns[:-3])
write("dns_wire", "resolv-conf", bytes([1]) + b"# x\nnameserver 192.0.2.1\nnameserver 2001:db8::1\n"
      b"options timeout:3 attempts:9 rotate\nnameserver fe80::1%eth0\n")

# --- urgent_data_fence: one Ethernet frame ---
def tcp(src, dst, flags, urgent, payload, v6=False):
    if v6:
        src, dst = bytes.fromhex("fd00" + "00" * 13 + "64"), bytes.fromhex("fd00" + "00" * 13 + "02")
    segment = wire.tcp(src, dst, 40000, 8000, 1, 1, flags, 65535, urgent, payload)
    if v6:
        return eth(SLIRP_MAC, 0x86DD, wire.ipv6(6, src, dst, segment))
    return eth(SLIRP_MAC, 0x0800, ipv4(6, src, dst, segment))


write("urgent_data_fence", "urg-past-data", tcp(GUEST, GW, 0x38, 1000, b"GUESTDATA!"))
write("urgent_data_fence", "urg-ipv6", tcp(GUEST, GW, 0x30, 0xFFFF, b"x" * 33, v6=True))
write("urgent_data_fence", "pointer-without-flag", tcp(GUEST, GW, 0x10, 500, b"abcd"))
write("urgent_data_fence", "plain-ack", tcp(GUEST, GW, 0x10, 0, b""))
write("urgent_data_fence", "syn", syn)
write("urgent_data_fence", "udp", dns)

# --- ipv4_reassembly: (clock step, u16 length, frame) per frame ---
def steps(*fs):
    return b"".join(struct.pack("!BH", step, len(f)) + f for step, f in fs)


udp_big = struct.pack("!HHHH", 40000, 9, 8 + 64, 0) + bytes(range(64))
pieces = [eth(SLIRP_MAC, 0x0800, ipv4(17, GUEST, GW, udp_big[o:o + 24], frag=(0x2000 if o + 24 < 72 else 0) | o // 8))
          for o in (0, 24, 48)]
write("ipv4_reassembly", "in-order", steps((0, pieces[0]), (1, pieces[1]), (1, pieces[2])))
write("ipv4_reassembly", "last-first", steps((0, pieces[2]), (0, pieces[0]), (0, pieces[1])))
write("ipv4_reassembly", "overlap", steps((0, pieces[0]), (0, pieces[0]), (0, pieces[1])))
write("ipv4_reassembly", "timeout", steps((0, pieces[0]), (255, pieces[1]), (255, pieces[2])))
write("ipv4_reassembly", "too-large", steps((0, pieces[0]),
                                            (0, eth(SLIRP_MAC, 0x0800, ipv4(17, GUEST, GW, b"\0" * 24,
                                                                            frag=65512 // 8)))))
write("ipv4_reassembly", "not-fragments", steps((0, syn), (0, arp), (0, rs)))
write("frames", "urgent-pointer", frames(0, arp, syn, tcp(GUEST, GW, 0x38, 1000, b"GUESTDATA!")))

# --- libslirp's 2026 advisories (doc/libslirp-audit.md): the paths they name ---
def ipv4_options(proto, src, dst, payload, options, frag):
    """An IPv4 header carrying OPTIONS (a multiple of 4 bytes)."""
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), 9, frag, 64, proto, 0,
                      bytes(src), bytes(dst)) + options
    return hdr[:10] + struct.pack("!H", wire.checksum(hdr)) + hdr[12:] + payload


LINK_LOCAL = bytes.fromhex("fe80" + "00" * 13 + "01")
DHCPV6_ALL = bytes.fromhex("ff02" + "00" * 11 + "010002")
GUEST6, GW6 = bytes.fromhex("fd00" + "00" * 13 + "64"), bytes.fromhex("fd00" + "00" * 13 + "02")


def udp6(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = wire.checksum(src + dst + struct.pack("!IxxxB", len(udp), 17) + udp)
    return udp[:6] + struct.pack("!H", c) + udp[8:]


# CVE-2026-95508: the largest Information-Request (a 256-byte client id, DNS
# and boot URL wanted) at the smallest IPv6 MTU the daemon accepts (flags 3).
info_request = (bytes([11, 1, 2, 3]) + struct.pack("!HH", 1, 256) + bytes(range(256)) +
                struct.pack("!HHHH", 6, 4, 23, 59))
dhcpv6 = eth(bytes.fromhex("333300010002"), 0x86DD,
             wire.ipv6(17, LINK_LOCAL, DHCPV6_ALL, udp6(LINK_LOCAL, DHCPV6_ALL, 546, 547, info_request)))
write("frames", "dhcpv6-largest-client-id", frames(3, dhcpv6, dhcpv6[:-100]))
# CVE-2026-95508's TFTP half: read requests with blksize and tsize options,
# over IPv4 and IPv6 (flags 1); no TFTP root is configured.
rrq = b"\0\1boot\0octet\0blksize\0" + b"1428\0tsize\0" + b"0\0"
tftp4 = eth(SLIRP_MAC, 0x0800, ipv4(17, GUEST, GW, struct.pack("!HHHH", 1069, 69, 8 + len(rrq), 0) + rrq))
tftp6 = eth(SLIRP_MAC, 0x86DD, wire.ipv6(17, GUEST6, GW6, udp6(GUEST6, GW6, 1069, 69, rrq)))
write("frames", "tftp-blksize", frames(1, arp, tftp4, tftp6, tftp4[:-3]))
# The 4.9.5 NC-SI OEM fix: OEM commands bare, with a manufacturer id, cut
# short; and the other command types 4.7.0 answers.
def ncsi(kind, payload=b""):
    return wire.eth(BCAST, GUEST_MAC, 0x88F8, bytes([0, 1, 0, 9, kind, 0]) +
                    struct.pack("!H", len(payload)) + b"\0" * 8 + payload)


oem = ncsi(0x50, struct.pack("!I", 0x8119) + bytes([0, 0, 0x1B, 0, 0x33, 0, 0, 0]))
write("frames", "ncsi-commands", frames(0, ncsi(0x50), oem, oem[:32], ncsi(0x0A), ncsi(0x15), ncsi(0x16),
                                        ncsi(0x17), ncsi(0x18), ncsi(0x7F)))
# 4.9.4's fragment leak: pieces of one datagram whose headers differ in length.
udp_frag = struct.pack("!HHHH", 40000, 9, 8 + 40, 0) + b"H" * 40
write("frames", "fragments-header-lengths", frames(
    0, arp, eth(SLIRP_MAC, 0x0800, ipv4_options(17, GUEST, GW, udp_frag[:24], b"\x94\x04\0\0" * 5, 0x2000)),
    eth(SLIRP_MAC, 0x0800, ipv4_options(17, GUEST, GW, udp_frag[24:], b"", 3))))
write("ipv4_reassembly", "header-lengths", steps(
    (0, eth(SLIRP_MAC, 0x0800, ipv4_options(17, GUEST, GW, udp_frag[24:], b"\x01" * 40, 3))),
    (0, eth(SLIRP_MAC, 0x0800, ipv4_options(17, GUEST, GW, udp_frag[:24], b"\x94\x04\0\0", 0x2000)))))
# 4.9.4's IPv6 trimming fix: IPv6 UDP and a TCP SYN with bytes past the
# announced payload length (flags 1).
udp_trailing = eth(SLIRP_MAC, 0x86DD, wire.ipv6(17, GUEST6, GW6, udp6(GUEST6, GW6, 40000, 9, b"abcd"))) + b"T" * 64
syn_trailing = eth(SLIRP_MAC, 0x86DD, wire.ipv6(6, GUEST6, GW6, wire.tcp(GUEST6, GW6, 40001, 22, 1, 0, 0x02))) + b"T" * 64
write("frames", "ipv6-trailing-bytes", frames(1, rs, udp_trailing, syn_trailing))

# --- tcp_classifier: the frames format; a kernel-path flow from SYN to FIN ---
def flow_segment(src, dst, sport, dport, flags, seq=1, ack=0, payload=b""):
    segment = wire.tcp(src, dst, sport, dport, seq, ack, flags, 64240, 0, payload)
    return eth(SLIRP_MAC, 0x0800, ipv4(6, src, dst, segment))


OUT = [192, 0, 2, 1]
flow = [flow_segment(GUEST, OUT, 40000, 80, 0x02), flow_segment(OUT, GUEST, 1, 40000, 0x12, 9, 2),
        flow_segment(GUEST, OUT, 40000, 80, 0x10, 2, 10), flow_segment(GUEST, OUT, 40000, 80, 0x18, 2, 10, b"GET /"),
        flow_segment(GUEST, OUT, 40000, 80, 0x11, 7, 10), flow_segment(OUT, GUEST, 1, 40000, 0x11, 10, 8)]
write("tcp_classifier", "flow", frames(0, *flow))
write("tcp_classifier", "gateway-reset", frames(8, flow_segment(GUEST, GW, 40001, 22, 0x02),
                                                 flow_segment(GW, GUEST, 1, 40001, 0x14)))
write("tcp_classifier", "syns", frames(0, *[flow_segment(GUEST, [203, 0, 113, i], 1000 + i, i, 0x02)
                                            for i in range(1, 40)]))
write("tcp_classifier", "ipv6-syn", frames(1, eth(SLIRP_MAC, 0x86DD, struct.pack(
    "!IHBB16s16s", 0x60000000, 20, 6, 64, bytes.fromhex("fd00" + "00" * 13 + "64"),
    bytes.fromhex("20010db8" + "00" * 11 + "01")) + struct.pack("!HHIIBBHHH", 40000, 443, 1, 0,
                                                                0x50, 0x02, 64240, 0, 0))))
write("tcp_classifier", "truncated", frames(0, syn[:40], flow[0][:53], fragment))
