// SPDX-License-Identifier: GPL-2.0-or-later
// vnet.cpp: frame surgery for a segmenting tap (see vnet.hpp). Per-frame
// code: [[gnu::hot]] keeps it in .text.hot next to the event loop.
#include "vnet.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "checksum.hpp"
#include "wire.hpp"

namespace {

[[gnu::hot]] uint64_t pseudo_header_sum(const uint8_t* frame, const TcpView& v) {
    const uint8_t* ip = frame + v.ip;
    uint64_t sum = v.v6 ? checksum_sum(ip + 8, 32) : checksum_sum(ip + 12, 8);
    return sum + kProtoTcp + v.tcp_len;
}

}  // namespace

[[gnu::hot]] bool vnet_complete_checksum(uint8_t* frame, size_t len, uint16_t csum_start,
                                         uint16_t csum_offset) {
    size_t field = static_cast<size_t>(csum_start) + csum_offset;
    if (field + 2 > len) return false;
    uint16_t check =
        static_cast<uint16_t>(~checksum_fold(checksum_sum(frame + csum_start, len - csum_start)));
    // UDP (checksum at offset 6) sends a computed zero as all ones.
    if (check == 0 && csum_offset == 6) check = 0xffff;
    store16(frame + field, check);
    return true;
}

[[gnu::hot]] bool vnet_raise_syn_mss(uint8_t* frame, const TcpView& v, unsigned mtu) {
    if (v.tcp == 0) return false;
    uint8_t* tcp = frame + v.tcp;
    if (!(tcp[13] & kTcpSyn)) return false;
    unsigned expected = mtu - (v.v6 ? 60 : 40);
    for (size_t i = 20; i + 1 < v.tcp_header;) {
        uint8_t kind = tcp[i];
        if (kind == 0) break;
        if (kind == 1) {
            i++;
            continue;
        }
        uint8_t opt_len = tcp[i + 1];
        if (opt_len < 2 || i + opt_len > v.tcp_header) break;
        if (kind == 2 && opt_len == 4) {
            uint16_t old_mss = load16(tcp + i + 2);
            if (old_mss != expected) return false;
            uint16_t new_mss = static_cast<uint16_t>(kVnetSlirpMtu - 40);
            store16(tcp + i + 2, new_mss);
            store16(tcp + 16, checksum_update(load16(tcp + 16), old_mss, new_mss));
            return true;
        }
        i += opt_len;
    }
    return false;
}

[[gnu::hot]] VnetOutput vnet_classify_output(const uint8_t* frame, size_t len, unsigned mtu) {
    VnetOutput out;
    bool fits = mtu == 0 || len <= kEthHeader + mtu;
    TcpView v = find_tcp(frame, len);
    if (v.tcp == 0) {
        if (!fits && len >= kEthHeader + 20 && load16(frame + 12) == kEthIpv4)
            out.kind = VnetOutput::Fragment;
        return out;
    }
    size_t ip_header = v.tcp - v.ip;
    size_t headers = ip_header + v.tcp_header;
    if (!fits && headers >= mtu) return out;
    out.header.flags = kVnetNeedsCsum;
    out.header.csum_start = static_cast<uint16_t>(v.tcp);
    out.header.csum_offset = kTcpChecksumOffset;
    out.check_offset = v.tcp + 16;
    out.partial_check = checksum_fold(pseudo_header_sum(frame, v));
    if (fits) {
        out.kind = VnetOutput::Partial;
        return out;
    }
    out.kind = VnetOutput::Segmented;
    out.header.gso_type = v.v6 ? kVnetGsoTcpv6 : kVnetGsoTcpv4;
    out.header.hdr_len = static_cast<uint16_t>(v.tcp + v.tcp_header);
    out.header.gso_size = static_cast<uint16_t>(mtu - headers);
    return out;
}

[[gnu::hot]] bool vnet_fragment_ipv4(const uint8_t* frame, size_t len, unsigned mtu,
                                     const std::function<void(const uint8_t*, size_t)>& emit) {
    if (len < kEthHeader + 20 || load16(frame + 12) != kEthIpv4) return false;
    const uint8_t* ip = frame + kEthHeader;
    size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
    size_t total = load16(ip + 2);
    if (ihl < 20 || total < ihl || kEthHeader + total > len || mtu < ihl + 8) return false;
    uint16_t frag = load16(ip + 6);
    if (frag & 0x4000) return false;  // DF
    bool more_after = frag & 0x2000;
    size_t base_offset = static_cast<size_t>(frag & 0x1fff) * 8;
    size_t chunk = (mtu - ihl) & ~size_t{7};
    size_t payload = total - ihl;
    std::vector<uint8_t> piece(kEthHeader + ihl + chunk);
    for (size_t done = 0; done < payload; done += chunk) {
        size_t n = payload - done < chunk ? payload - done : chunk;
        bool last = done + n == payload;
        std::memcpy(piece.data(), frame, kEthHeader + ihl);
        std::memcpy(piece.data() + kEthHeader + ihl, ip + ihl + done, n);
        uint8_t* h = piece.data() + kEthHeader;
        store16(h + 2, static_cast<uint16_t>(ihl + n));
        uint16_t flags = (!last || more_after) ? 0x2000 : 0;
        store16(h + 6, static_cast<uint16_t>(flags | ((base_offset + done) / 8)));
        set_ipv4_checksum(h, ihl);
        emit(piece.data(), kEthHeader + ihl + n);
    }
    return true;
}

[[gnu::hot]] bool vnet_segment_udp(const uint8_t* frame, size_t len, uint16_t gso_size,
                                   const std::function<void(uint8_t*, size_t)>& emit) {
    if (gso_size == 0 || len < kEthHeader + 28) return false;
    const uint8_t* ip = frame + kEthHeader;
    uint16_t type = load16(frame + 12);
    size_t udp, ip_end;
    if (type == kEthIpv4) {
        size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
        if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != kProtoUdp || (load16(ip + 6) & 0x3fff))
            return false;
        udp = kEthHeader + ihl;
        ip_end = kEthHeader + load16(ip + 2);
    } else if (type == kEthIpv6) {
        if (len < kEthHeader + 48 || (ip[0] >> 4) != 6 || ip[6] != kProtoUdp) return false;
        udp = kEthHeader + 40;
        ip_end = udp + load16(ip + 4);
    } else {
        return false;
    }
    if (ip_end > len || udp + 8 > ip_end) return false;
    // The UDP length covers the whole frame's payload, as the guest's
    // kernel wrote it before cutting.
    size_t udp_len = load16(frame + udp + 4);
    if (udp_len < 8 || udp + udp_len > ip_end) return false;
    const bool v6 = type == kEthIpv6;
    const uint64_t pseudo = v6 ? checksum_sum(ip + 8, 32) : checksum_sum(ip + 12, 8);
    const size_t headers = udp + 8;
    const size_t payload = udp_len - 8;
    const uint16_t id = v6 ? 0 : load16(ip + 4);
    std::vector<uint8_t> piece(headers + std::min<size_t>(gso_size, payload));
    // An empty datagram is still one.
    const size_t count = payload == 0 ? 1 : (payload + gso_size - 1) / gso_size;
    for (size_t i = 0; i < count; i++) {
        size_t done = i * gso_size;
        size_t n = std::min<size_t>(gso_size, payload - done);
        std::memcpy(piece.data(), frame, headers);
        std::memcpy(piece.data() + headers, frame + headers + done, n);
        uint8_t* h = piece.data() + kEthHeader;
        uint8_t* uh = piece.data() + udp;
        size_t seg_udp = 8 + n;
        if (v6) {
            store16(h + 4, static_cast<uint16_t>(seg_udp));
        } else {
            store16(h + 2, static_cast<uint16_t>(udp - kEthHeader + seg_udp));
            store16(h + 4, static_cast<uint16_t>(id + i));
            set_ipv4_checksum(h, udp - kEthHeader);
        }
        store16(uh + 4, static_cast<uint16_t>(seg_udp));
        store16(uh + 6, 0);
        uint8_t tail[4] = {0, kProtoUdp, static_cast<uint8_t>(seg_udp >> 8),
                           static_cast<uint8_t>(seg_udp)};
        uint16_t check = static_cast<uint16_t>(
            ~checksum_fold(checksum_sum(uh, seg_udp, checksum_sum(tail, 4, pseudo))));
        store16(uh + 6, check == 0 ? 0xffff : check);
        emit(piece.data(), headers + n);
    }
    return true;
}
