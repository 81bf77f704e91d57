# SPDX-License-Identifier: GPL-2.0-or-later
"""frames.py: hand-built Ethernet, IPv4, IPv6 and TCP frames, for the tests,
the fuzz seeds and the bench that write raw frames onto a guest's tap.

Addresses are bytes (or lists of byte values); every function returns the
bytes of the header it names followed by the payload. Checksums are filled
in unless a caller builds the header itself.
"""
import struct

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


def checksum(data):
    """The Internet checksum (RFC 1071): one's complement of the one's
    complement sum of the 16-bit words, an odd last byte padded with zero."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(dst, src, ethertype, payload):
    return bytes(dst) + bytes(src) + struct.pack("!H", ethertype) + payload


def ipv4(proto, src, dst, payload, ident=1, frag=0, ttl=64, total=None):
    """An IPv4 header without options; frag holds the flags (0x4000 DF,
    0x2000 MF) and the offset in 8-byte units. total overrides the length
    field (to build a lying header)."""
    length = 20 + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, ident, frag, ttl, proto, 0, bytes(src),
                      bytes(dst))
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + payload


def ipv6(next_header, src, dst, payload, hop_limit=64):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), next_header, hop_limit, bytes(src),
                       bytes(dst)) + payload


def tcp(src, dst, sport, dport, seq, ack, flags, window=65535, urgent=0, payload=b""):
    """A TCP segment without options, its checksum over the IPv4 or IPv6
    (16-byte addresses) pseudo-header."""
    src, dst = bytes(src), bytes(dst)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, window, 0, urgent)
    length = len(hdr) + len(payload)
    if len(src) == 16:
        pseudo = src + dst + struct.pack("!IxxxB", length, 6)
    else:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, length)
    c = checksum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def arp_request(mac, ip, target_ip):
    """A broadcast ARP who-has TARGET_IP from MAC/IP."""
    arp = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 1, bytes(mac), bytes(ip), b"\0" * 6,
                      bytes(target_ip))
    return eth(b"\xff" * 6, mac, ETH_ARP, arp)
