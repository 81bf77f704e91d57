// SPDX-License-Identifier: GPL-2.0-or-later
// tcp_classifier.cpp: frame decisions of the kernel TCP path (see tcp_classifier.hpp).
#include "tcp_classifier.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "checksum.hpp"
#include "options.hpp"
#include "wire.hpp"

namespace {

bool in_network(const uint8_t* a, in_addr network, in_addr netmask) {
    uint32_t addr;
    std::memcpy(&addr, a, 4);
    return (addr & netmask.s_addr) == network.s_addr;
}

bool equals(const uint8_t* a, const void* b, size_t n) {
    return std::memcmp(a, b, n) == 0;
}

bool ipv4_remote(const uint8_t* a) {
    if (a[0] == 0 || a[0] == 127 || a[0] >= 224) return false;  // this, loopback, multicast
    return true;
}

bool ipv6_remote(const uint8_t* a) {
    static const uint8_t zero[16] = {};
    if (a[0] == 0xff) return false;                                       // multicast
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return false;              // link-local
    if (equals(a, zero, 15) && (a[15] == 0 || a[15] == 1)) return false;  // :: and ::1
    return true;
}

void store32(uint8_t* p, uint32_t v) {
    store16(p, static_cast<uint16_t>(v >> 16));
    store16(p + 2, static_cast<uint16_t>(v));
}

}  // namespace

bool parse_tcp_frame(const uint8_t* f, const TcpView& v, TcpFrame* out) {
    if (!v.tcp) return false;
    TcpFrame t;
    t.family = v.v6 ? AF_INET6 : AF_INET;
    t.ip = v.ip;
    t.tcp = v.tcp;
    t.payload = v.tcp_len - v.tcp_header;
    const uint8_t* ip = f + v.ip;
    if (v.v6) {
        std::memcpy(t.src.data(), ip + 8, 16);
        std::memcpy(t.dst.data(), ip + 24, 16);
    } else {
        std::memcpy(t.src.data(), ip + 12, 4);
        std::memcpy(t.dst.data(), ip + 16, 4);
    }
    const uint8_t* tcp = f + v.tcp;
    t.sport = load16(tcp);
    t.dport = load16(tcp + 2);
    t.seq = load32(tcp + 4);
    t.flags = tcp[13];
    *out = t;
    return true;
}

bool kernel_serves(const KernelPathScope& s, const TcpFrame& t) {
    const uint8_t* src = t.src.data();
    const uint8_t* dst = t.dst.data();
    if (t.family == AF_INET) {
        if (!in_network(src, s.network, s.netmask)) return false;
        if (in_network(dst, s.network, s.netmask))
            return s.host_loopback && equals(dst, &s.gateway, 4);
        uint32_t broadcast = 0xffffffff;
        return ipv4_remote(dst) && !equals(dst, &broadcast, 4);
    }
    if (t.family != AF_INET6 || !s.ipv6) return false;
    if (!equals(src, &s.prefix6, 8)) return false;
    if (equals(dst, &s.prefix6, 8)) return s.host_loopback && equals(dst, &s.gateway6, 16);
    return ipv6_remote(dst);
}

void host_destination(const KernelPathScope& s, const TcpFrame& t, sockaddr_storage* out,
                      socklen_t* len) {
    *out = {};
    if (t.family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(out);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(t.dport);
        std::memcpy(&sin->sin_addr, t.dst.data(), 4);
        if (equals(t.dst.data(), &s.gateway, 4)) sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *sin;
        return;
    }
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(t.dport);
    std::memcpy(&sin6->sin6_addr, t.dst.data(), 16);
    if (equals(t.dst.data(), &s.gateway6, 16)) sin6->sin6_addr = in6addr_loopback;
    *len = sizeof *sin6;
}

void set_tcp_port(uint8_t* frame, const TcpFrame& t, bool source, uint16_t port,
                  bool full_checksum) {
    uint8_t* field = frame + t.tcp + (source ? 0 : 2);
    uint16_t old_port = load16(field);
    store16(field, port);
    uint8_t* check = frame + t.tcp + 16;
    if (full_checksum) store16(check, checksum_update(load16(check), old_port, port));
}

size_t build_reset(const uint8_t* syn, const TcpFrame& t, uint8_t* out) {
    std::memset(out, 0, kResetFrameSize);
    std::memcpy(out, syn + 6, 6);  // to the guest's MAC
    std::memcpy(out + 6, syn, 6);  // from the MAC it sent to
    uint64_t pseudo;
    size_t tcp = write_ip_header(out, t.family, kProtoTcp, t.dst.data(), t.src.data(), 20, &pseudo);
    uint8_t* th = out + tcp;
    store16(th, t.dport);
    store16(th + 2, t.sport);
    store32(th + 4, 0);
    store32(th + 8, t.seq + 1);
    th[12] = 5 << 4;
    th[13] = kTcpRst | kTcpAck;
    store16(th + 16, transport_checksum(pseudo, kProtoTcp, th, 20));
    return tcp + 20;
}

size_t build_unreachable(const uint8_t* syn, const TcpFrame& t, const uint8_t* gateway,
                         uint8_t* out) {
    size_t quoted = std::min<size_t>(t.tcp - t.ip, 60) + 8;
    std::memset(out, 0, kUnreachableFrameSize);
    std::memcpy(out, syn + 6, 6);  // to the guest's MAC
    std::memcpy(out + 6, syn, 6);  // from the MAC it sent to
    bool v4 = t.family == AF_INET;
    uint8_t proto = v4 ? kProtoIcmp : kProtoIcmp6;
    uint64_t pseudo;
    size_t icmp = write_ip_header(out, t.family, proto, gateway, t.src.data(), 8 + quoted, &pseudo);
    uint8_t* h = out + icmp;
    h[0] = v4 ? 3 : 1;  // destination unreachable
    h[1] = 0;           // network unreachable; ICMPv6: no route
    std::memcpy(h + 8, syn + t.ip, quoted);
    uint16_t sum = v4 ? static_cast<uint16_t>(~checksum_fold(checksum_sum(h, 8 + quoted)))
                      : transport_checksum(pseudo, proto, h, 8 + quoted);
    store16(h + 2, sum);
    return icmp + 8 + quoted;
}

namespace {
constexpr size_t kEthernet = 14, kIpv6Header = 40;
// Where the options of an NDP message begin, after the ICMPv6 header and
// the message's fixed part; 0: not a message with link-layer options.
size_t ndp_options(uint8_t type) {
    switch (type) {
        case 134:
            return 16;  // router advertisement
        case 135:       // neighbour solicitation
        case 136:
            return 24;  // neighbour advertisement
        default:
            return 0;
    }
}
}  // namespace

bool is_ndp(const uint8_t* f, size_t len) {
    return len >= kEthernet + kIpv6Header + 8 && f[12] == 0x86 && f[13] == 0xdd &&
           f[kEthernet + 6] == kProtoIcmp6 && ndp_options(f[kEthernet + kIpv6Header]) != 0;
}

bool rewrite_ndp_mac(uint8_t* f, size_t len, const std::array<uint8_t, 6>& mac) {
    if (!is_ndp(f, len)) return false;
    uint8_t* ip = f + kEthernet;
    size_t icmp_len = (size_t{ip[4]} << 8) | ip[5];
    if (kEthernet + kIpv6Header + icmp_len > len) return false;
    uint8_t* icmp = ip + kIpv6Header;
    bool changed = false;
    for (size_t at = ndp_options(icmp[0]); at + 8 <= icmp_len;) {
        size_t option_len = size_t{icmp[at + 1]} * 8;
        if (option_len == 0) break;  // malformed: the guest's kernel drops it anyway
        // Source (1) and target (2) link-layer address, Ethernet-sized.
        if ((icmp[at] == 1 || icmp[at] == 2) && option_len == 8) {
            std::memcpy(icmp + at + 2, mac.data(), 6);
            changed = true;
        }
        at += option_len;
    }
    if (!changed) return true;
    store16(icmp + 2, 0);
    uint64_t pseudo = checksum_sum(ip + 8, 32);
    store16(icmp + 2, transport_checksum(pseudo, kProtoIcmp6, icmp, icmp_len));
    return true;
}

FlowKey key_from_guest(const TcpFrame& t) {
    FlowKey k;
    k.family = static_cast<uint8_t>(t.family);
    k.guest = t.src;
    k.remote = t.dst;
    k.guest_port = t.sport;
    k.remote_port = t.dport;
    return k;
}

FlowKey key_to_guest(const TcpFrame& t) {
    FlowKey k;
    k.family = static_cast<uint8_t>(t.family);
    k.guest = t.dst;
    k.remote = t.src;
    k.guest_port = t.dport;
    k.remote_port = t.sport;
    return k;
}

FlowTable::Flow* FlowTable::add(const FlowKey& key, uint16_t remote_port, const uint8_t* mac,
                                int64_t now_ms, uint64_t* evicted) {
    if (evicted) *evicted = 0;
    if (flows_.count(key)) return nullptr;
    if (flows_.size() >= capacity_ && !evict_oldest_closing(evicted)) return nullptr;
    Flow& f = flows_[key];
    f.id = next_id_++;
    f.remote_port = remote_port;
    std::memcpy(f.guest_mac.data(), mac, 6);
    f.last_ms = now_ms;
    return &f;
}

FlowTable::Flow* FlowTable::find(const FlowKey& key) {
    auto it = flows_.find(key);
    return it == flows_.end() ? nullptr : &it->second;
}

FlowTable::Flow* FlowTable::find_any_port(const FlowKey& key, FlowKey* found) {
    FlowKey first = key;
    first.remote_port = 0;
    auto it = flows_.lower_bound(first);
    if (it == flows_.end()) return nullptr;
    FlowKey k = it->first;
    k.remote_port = 0;
    if (k != first) return nullptr;
    if (found) *found = it->first;
    return &it->second;
}

const FlowTable::Flow* FlowTable::find_id(uint64_t id) const {
    for (const auto& [key, flow] : flows_)
        if (flow.id == id) return &flow;
    return nullptr;
}

bool FlowTable::erase(const FlowKey& key) {
    return flows_.erase(key) > 0;
}

bool FlowTable::erase_id(uint64_t id) {
    for (auto it = flows_.begin(); it != flows_.end(); ++it) {
        if (it->second.id != id) continue;
        flows_.erase(it);
        return true;
    }
    return false;
}

bool FlowTable::note_flags(const FlowKey& key, Flow& f, uint8_t flags, bool from_guest,
                           int64_t now_ms) {
    f.last_ms = now_ms;
    if (flags & kTcpRst) return true;
    if (flags & kTcpFin) (from_guest ? f.fin_from_guest : f.fin_to_guest) = true;
    if (f.fin_from_guest && f.fin_to_guest && f.state != State::Closing) {
        f.state = State::Closing;
        f.close_ms = now_ms + kLingerMs;
        // Each flow is queued once, so live entries never outnumber the
        // table: dropping the gone ones past twice that keeps the queue
        // bounded at a constant cost per entry.
        if (closing_.size() >= 2 * capacity_)
            std::erase_if(closing_, [this](const Closed& c) { return !still_closing(c); });
        closing_.push_back({f.id, key});
    }
    return false;
}

bool FlowTable::still_closing(const Closed& c) {
    auto it = flows_.find(c.key);
    return it != flows_.end() && it->second.id == c.id && it->second.state == State::Closing;
}

bool FlowTable::evict_oldest_closing(uint64_t* evicted) {
    while (!closing_.empty()) {
        Closed c = closing_.front();
        closing_.pop_front();
        if (!still_closing(c)) continue;
        flows_.erase(c.key);
        if (evicted) *evicted = c.id;
        return true;
    }
    return false;
}

KernelPathScope kernel_path_scope(const Options& o) {
    const Network& n = o.network;
    const Network6& n6 = o.network6;
    return {n.address,  n.netmask,     n.gateway,
            n.dns,      o.enable_ipv6, n6.prefix,
            n6.gateway, n6.dns,        !o.disable_host_loopback};
}
