// SPDX-License-Identifier: GPL-2.0-or-later
// wire.hpp owns reading and writing big-endian header fields and finding a
// frame's TCP header, for all the code that looks into or makes frames (the
// packet path's steps, the kernel TCP path, the DNS forwarder's frames).
#pragma once

#include <cstddef>
#include <cstdint>

inline uint16_t load16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

inline uint32_t load32(const uint8_t* p) {
    return static_cast<uint32_t>(load16(p)) << 16 | load16(p + 2);
}

inline void store16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

constexpr size_t kEthHeader = 14;
constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoIcmp6 = 58;
constexpr uint16_t kTcpChecksumOffset = 16;  // within the TCP header

// The TCP header's flag bits (byte 13).
constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpRst = 0x04;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpUrg = 0x20;

// Where the TCP header of a plain (unfragmented, no extension header) IPv4 or
// IPv6 TCP packet starts; 0 if the frame is anything else.
struct TcpView {
    size_t ip = 0;   // offset of the IP header
    size_t tcp = 0;  // offset of the TCP header, 0 if not TCP
    size_t tcp_len = 0;
    size_t tcp_header = 0;
    bool v6 = false;
};

inline TcpView find_tcp(const uint8_t* frame, size_t len) {
    TcpView v;
    if (len < kEthHeader + 40) return v;
    uint16_t type = load16(frame + 12);
    v.ip = kEthHeader;
    const uint8_t* ip = frame + kEthHeader;
    size_t ip_total;
    if (type == kEthIpv4) {
        size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
        if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != kProtoTcp) return v;
        if ((load16(ip + 6) & 0x3fff) != 0) return v;  // a fragment
        ip_total = load16(ip + 2);
        if (ip_total < ihl || kEthHeader + ip_total > len) return v;
        v.tcp = kEthHeader + ihl;
        v.tcp_len = ip_total - ihl;
    } else if (type == kEthIpv6) {
        if ((ip[0] >> 4) != 6 || ip[6] != kProtoTcp) return v;
        ip_total = 40 + static_cast<size_t>(load16(ip + 4));
        if (kEthHeader + ip_total > len) return v;
        v.tcp = kEthHeader + 40;
        v.tcp_len = ip_total - 40;
        v.v6 = true;
    } else {
        return v;
    }
    if (v.tcp_len < 20) {
        v.tcp = 0;
        return v;
    }
    v.tcp_header = static_cast<size_t>(frame[v.tcp + 12] >> 4) * 4;
    if (v.tcp_header < 20 || v.tcp_header > v.tcp_len) v.tcp = 0;
    return v;
}
