// SPDX-License-Identifier: GPL-2.0-or-later
// dns_wire.cpp: frames and messages of the DNS forwarder (see dns_wire.hpp).
#include "dns_wire.hpp"

#include <cstring>

#include "checksum.hpp"
#include "wire.hpp"

namespace {

constexpr size_t kUdpHeader = 8;

// The end of the question section (one question), or 0 when it does not fit.
size_t question_end(const uint8_t* m, size_t len) {
    size_t i = kDnsHeader;
    // Queries carry no compression pointers; an answer's question neither.
    for (int labels = 0; labels < 128; labels++) {
        if (i >= len) return 0;
        uint8_t n = m[i];
        if (n == 0) return i + 1 + 4 <= len ? i + 1 + 4 : 0;
        if (n > 63) return 0;
        i += 1 + n;
    }
    return 0;
}

}  // namespace

bool parse_dns_query_frame(const uint8_t* f, size_t len, const DnsAddresses& a,
                           DnsQueryFrame* out) {
    if (len < kEthHeader + 20 + kUdpHeader) return false;
    const uint8_t* ip = f + kEthHeader;
    uint16_t type = load16(f + 12);
    size_t udp, ip_end;
    DnsQueryFrame q;
    if (type == kEthIpv4) {
        size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
        if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != kProtoUdp) return false;
        if ((load16(ip + 6) & 0x3fff) != 0) return false;  // a fragment
        if (std::memcmp(ip + 16, &a.dns4, 4) != 0) return false;
        ip_end = kEthHeader + load16(ip + 2);
        udp = kEthHeader + ihl;
        q.family = AF_INET;
        std::memcpy(q.guest.data(), ip + 12, 4);
        std::memcpy(q.server.data(), ip + 16, 4);
    } else if (type == kEthIpv6) {
        if (!a.ipv6 || (ip[0] >> 4) != 6 || ip[6] != kProtoUdp) return false;
        if (len < kEthHeader + 40 + kUdpHeader) return false;
        if (std::memcmp(ip + 24, &a.dns6, 16) != 0) return false;
        ip_end = kEthHeader + 40 + load16(ip + 4);
        udp = kEthHeader + 40;
        q.family = AF_INET6;
        std::memcpy(q.guest.data(), ip + 8, 16);
        std::memcpy(q.server.data(), ip + 24, 16);
    } else {
        return false;
    }
    if (ip_end > len || udp + kUdpHeader > ip_end) return false;
    const uint8_t* u = f + udp;
    if (load16(u + 2) != kDnsPort) return false;
    size_t udp_len = load16(u + 4);
    if (udp_len < kUdpHeader || udp + udp_len > ip_end) return false;
    std::memcpy(q.guest_mac.data(), f + 6, 6);
    q.guest_port = load16(u);
    q.message = u + kUdpHeader;
    q.message_len = udp_len - kUdpHeader;
    *out = q;
    return true;
}

bool is_forwardable_query(const uint8_t* m, size_t len) {
    return len >= kDnsHeader && !(m[2] & 0x80) && load16(m + 4) == 1;
}

size_t dns_reply_overhead(int family) {
    return (family == AF_INET ? 20 : 40) + kUdpHeader;
}

std::vector<uint8_t> build_dns_reply_frame(const DnsQueryFrame& q,
                                           const std::array<uint8_t, 6>& from_mac,
                                           const uint8_t* message, size_t len) {
    size_t ip_len = dns_reply_overhead(q.family) + len;
    std::vector<uint8_t> f(kEthHeader + ip_len, 0);
    std::memcpy(f.data(), q.guest_mac.data(), 6);
    std::memcpy(f.data() + 6, from_mac.data(), 6);
    uint64_t pseudo;
    size_t udp = write_ip_header(f.data(), q.family, kProtoUdp, q.server.data(), q.guest.data(),
                                 kUdpHeader + len, &pseudo);
    uint8_t* u = f.data() + udp;
    uint16_t udp_len = static_cast<uint16_t>(kUdpHeader + len);
    store16(u, kDnsPort);
    store16(u + 2, q.guest_port);
    store16(u + 4, udp_len);
    std::memcpy(u + kUdpHeader, message, len);
    uint16_t sum = transport_checksum(pseudo, kProtoUdp, u, udp_len);
    store16(u + 6, sum == 0 ? 0xffff : sum);  // 0 would mean "no checksum"
    return f;
}

std::vector<uint8_t> dns_question_only(const uint8_t* m, size_t len, uint8_t rcode,
                                       bool truncated) {
    if (len < kDnsHeader) return {};
    size_t end = load16(m + 4) == 1 ? question_end(m, len) : 0;
    std::vector<uint8_t> out(m, m + (end ? end : kDnsHeader));
    out[2] = static_cast<uint8_t>(0x80 | (m[2] & 0x79) | (truncated ? 0x02 : 0));  // QR, opcode, RD
    out[3] = static_cast<uint8_t>(0x80 | (rcode & 0x0f));                          // RA
    store16(out.data() + 4, end ? 1 : 0);
    store16(out.data() + 6, 0);
    store16(out.data() + 8, 0);
    store16(out.data() + 10, 0);
    return out;
}
