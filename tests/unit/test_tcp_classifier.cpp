// SPDX-License-Identifier: GPL-2.0-or-later
// test_tcp_classifier.cpp: the kernel TCP path's frame decisions
// (tcp_classifier.hpp): parsing, which SYNs it serves, the host-side
// destination, port rewrites with checksums, the refusing RST, the flow table.
#include <arpa/inet.h>

#include <cstring>
#include <vector>

#include "checksum.hpp"
#include "network.hpp"
#include "options.hpp"
#include "tcp_classifier.hpp"
#include "wire.hpp"

#include "cmocka.hpp"

namespace {

using Frame = std::vector<uint8_t>;

void put16(Frame& f, size_t at, uint16_t v) {
    store16(f.data() + at, v);
}
uint16_t get16(const Frame& f, size_t at) {
    return load16(f.data() + at);
}

// Reference: the TCP checksum over pseudo-header and segment is valid when
// the folded sum of everything, checksum field included, is 0xffff.
bool tcp_checksum_valid(const Frame& f, size_t tcp, int family) {
    uint64_t sum = 0;
    size_t seg = f.size() - tcp;
    if (family == AF_INET)
        sum = checksum_sum(f.data() + 14 + 12, 8);
    else
        sum = checksum_sum(f.data() + 14 + 8, 32);
    uint8_t tail[4] = {0, 6, static_cast<uint8_t>(seg >> 8), static_cast<uint8_t>(seg)};
    sum = checksum_sum(tail, 4, sum);
    sum = checksum_sum(f.data() + tcp, seg, sum);
    return checksum_fold(sum) == 0xffff;
}

void fill_tcp_checksum(Frame& f, size_t tcp, int family) {
    put16(f, tcp + 16, 0);
    uint64_t sum =
        family == AF_INET ? checksum_sum(f.data() + 26, 8) : checksum_sum(f.data() + 22, 32);
    size_t seg = f.size() - tcp;
    uint8_t tail[4] = {0, 6, static_cast<uint8_t>(seg >> 8), static_cast<uint8_t>(seg)};
    sum = checksum_sum(f.data() + tcp, seg, checksum_sum(tail, 4, sum));
    put16(f, tcp + 16, static_cast<uint16_t>(~checksum_fold(sum)));
}

const uint8_t kGuestMac[6] = {0x02, 0, 0, 0, 0, 0x64};
const uint8_t kGatewayMac[6] = {0x52, 0x55, 10, 0, 2, 2};

Frame ipv4_tcp(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t flags,
               size_t payload = 0) {
    Frame f(14 + 20 + 20 + payload, 0);
    std::memcpy(f.data(), kGatewayMac, 6);
    std::memcpy(f.data() + 6, kGuestMac, 6);
    put16(f, 12, 0x0800);
    f[14] = 0x45;
    put16(f, 16, static_cast<uint16_t>(40 + payload));
    f[22] = 64;
    f[23] = 6;
    inet_pton(AF_INET, src, f.data() + 26);
    inet_pton(AF_INET, dst, f.data() + 30);
    set_ipv4_checksum(f.data() + 14, 20);
    put16(f, 34, sport);
    put16(f, 36, dport);
    put16(f, 38, 0x1234);
    put16(f, 40, 0x5678);
    f[46] = 5 << 4;
    f[47] = flags;
    put16(f, 48, 64240);
    for (size_t i = 0; i < payload; i++) f[54 + i] = static_cast<uint8_t>(i * 7);
    fill_tcp_checksum(f, 34, AF_INET);
    return f;
}

Frame ipv6_tcp(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t flags) {
    Frame f(14 + 40 + 20, 0);
    std::memcpy(f.data(), kGatewayMac, 6);
    std::memcpy(f.data() + 6, kGuestMac, 6);
    put16(f, 12, 0x86dd);
    f[14] = 0x60;
    put16(f, 18, 20);
    f[20] = 6;
    f[21] = 64;
    inet_pton(AF_INET6, src, f.data() + 22);
    inet_pton(AF_INET6, dst, f.data() + 38);
    put16(f, 54, sport);
    put16(f, 56, dport);
    f[66] = 5 << 4;
    f[67] = flags;
    fill_tcp_checksum(f, 54, AF_INET6);
    return f;
}

// The default network (10.0.2.0/24, fd00::/64) with IPv6 on.
KernelPathScope scope() {
    Options o;
    o.enable_ipv6 = true;
    return kernel_path_scope(o);
}

bool serves(const Frame& f, const KernelPathScope& s = scope()) {
    TcpFrame t;
    return parse_tcp_frame(f.data(), f.size(), &t) && t.syn_only() && kernel_serves(s, t);
}

void test_parse(void**) {
    Frame f = ipv4_tcp("10.0.2.100", "192.0.2.1", 40000, 80, kTcpSyn);
    TcpFrame t;
    assert_true(parse_tcp_frame(f.data(), f.size(), &t));
    assert_int_equal(t.family, AF_INET);
    assert_int_equal(t.tcp, 34);
    assert_int_equal(t.sport, 40000);
    assert_int_equal(t.dport, 80);
    assert_int_equal(t.seq, 0x12345678);
    assert_true(t.syn_only());
    assert_int_equal(t.payload, 0);
    // The payload is what the IP length says, not what pads the frame.
    Frame data = ipv4_tcp("10.0.2.100", "192.0.2.1", 40000, 80, kTcpAck, 64);
    assert_true(parse_tcp_frame(data.data(), data.size(), &t));
    assert_int_equal(t.payload, 64);
    Frame padded = ipv4_tcp("10.0.2.100", "192.0.2.1", 40000, 80, kTcpAck);
    padded.resize(60);  // an Ethernet minimum
    assert_true(parse_tcp_frame(padded.data(), padded.size(), &t));
    assert_int_equal(t.payload, 0);
    Frame g = ipv6_tcp("fd00::100", "2001:db8::1", 40000, 443, kTcpSyn | kTcpAck);
    assert_true(parse_tcp_frame(g.data(), g.size(), &t));
    assert_int_equal(t.family, AF_INET6);
    assert_int_equal(t.tcp, 54);
    assert_int_equal(t.payload, 0);
    assert_false(t.syn_only());
    // Truncated, a fragment, UDP, ARP: not TCP segments the path could take.
    assert_false(parse_tcp_frame(f.data(), 50, &t));
    Frame frag = f;
    put16(frag, 20, 0x2000);  // more fragments
    assert_false(parse_tcp_frame(frag.data(), frag.size(), &t));
    Frame udp = f;
    udp[23] = 17;
    assert_false(parse_tcp_frame(udp.data(), udp.size(), &t));
    Frame arp = f;
    put16(arp, 12, 0x0806);
    assert_false(parse_tcp_frame(arp.data(), arp.size(), &t));
    Frame short_offset = f;
    short_offset[46] = 4 << 4;
    assert_false(parse_tcp_frame(short_offset.data(), short_offset.size(), &t));
}

void test_serves(void**) {
    assert_true(serves(ipv4_tcp("10.0.2.100", "192.0.2.1", 1, 80, kTcpSyn)));
    assert_true(serves(ipv4_tcp("10.0.2.100", "10.0.2.2", 1, 80, kTcpSyn)));    // the host
    assert_false(serves(ipv4_tcp("10.0.2.100", "10.0.2.3", 1, 53, kTcpSyn)));   // DNS
    assert_false(serves(ipv4_tcp("10.0.2.100", "10.0.2.5", 1, 80, kTcpSyn)));   // in-network
    assert_false(serves(ipv4_tcp("10.0.3.100", "192.0.2.1", 1, 80, kTcpSyn)));  // foreign source
    assert_false(serves(ipv4_tcp("10.0.2.100", "127.0.0.1", 1, 80, kTcpSyn)));
    assert_false(serves(ipv4_tcp("10.0.2.100", "224.0.0.1", 1, 80, kTcpSyn)));
    assert_false(serves(ipv4_tcp("10.0.2.100", "255.255.255.255", 1, 80, kTcpSyn)));
    assert_false(serves(ipv4_tcp("10.0.2.100", "0.1.2.3", 1, 80, kTcpSyn)));
    assert_false(serves(ipv4_tcp("10.0.2.100", "192.0.2.1", 1, 80, kTcpSyn | kTcpAck)));
    KernelPathScope no_loopback = scope();
    no_loopback.host_loopback = false;
    assert_false(serves(ipv4_tcp("10.0.2.100", "10.0.2.2", 1, 80, kTcpSyn), no_loopback));
    assert_true(serves(ipv4_tcp("10.0.2.100", "192.0.2.1", 1, 80, kTcpSyn), no_loopback));

    assert_true(serves(ipv6_tcp("fd00::100", "2001:db8::1", 1, 80, kTcpSyn)));
    assert_true(serves(ipv6_tcp("fd00::100", "fd00::2", 1, 80, kTcpSyn)));
    assert_false(serves(ipv6_tcp("fd00::100", "fd00::3", 1, 53, kTcpSyn)));
    assert_false(serves(ipv6_tcp("fd00::100", "fd00::7", 1, 80, kTcpSyn)));
    assert_false(serves(ipv6_tcp("fe80::1", "2001:db8::1", 1, 80, kTcpSyn)));
    assert_false(serves(ipv6_tcp("fd00::100", "fe80::1", 1, 80, kTcpSyn)));
    assert_false(serves(ipv6_tcp("fd00::100", "ff02::1", 1, 80, kTcpSyn)));
    assert_false(serves(ipv6_tcp("fd00::100", "::1", 1, 80, kTcpSyn)));
    KernelPathScope v4_only = scope();
    v4_only.ipv6 = false;
    assert_false(serves(ipv6_tcp("fd00::100", "2001:db8::1", 1, 80, kTcpSyn), v4_only));
}

void test_host_destination(void**) {
    TcpFrame t;
    sockaddr_storage to;
    socklen_t len;
    Frame f = ipv4_tcp("10.0.2.100", "10.0.2.2", 1, 8080, kTcpSyn);
    parse_tcp_frame(f.data(), f.size(), &t);
    host_destination(scope(), t, &to, &len);
    auto& sin = reinterpret_cast<sockaddr_in&>(to);
    assert_int_equal(len, sizeof(sockaddr_in));
    assert_int_equal(sin.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    assert_int_equal(ntohs(sin.sin_port), 8080);
    f = ipv4_tcp("10.0.2.100", "192.0.2.9", 1, 80, kTcpSyn);
    parse_tcp_frame(f.data(), f.size(), &t);
    host_destination(scope(), t, &to, &len);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin.sin_addr, text, sizeof text);
    assert_string_equal(text, "192.0.2.9");
    Frame g = ipv6_tcp("fd00::100", "fd00::2", 1, 22, kTcpSyn);
    parse_tcp_frame(g.data(), g.size(), &t);
    host_destination(scope(), t, &to, &len);
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(to);
    assert_int_equal(len, sizeof(sockaddr_in6));
    assert_true(IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr));
    assert_int_equal(ntohs(sin6.sin6_port), 22);
}

// With --cidr's IPv6 prefix, the scope the daemon builds from it: fd00::
// means nothing then, neither as the guest's source nor as the gateway.
void test_custom_prefix(void**) {
    Network6 n6;
    assert_true(parse_cidr6("fd5b:e9ce:dffb:cafe::/64", &n6, nullptr));
    KernelPathScope s = scope();
    s.prefix6 = n6.prefix;
    s.gateway6 = n6.gateway;
    s.dns6 = n6.dns;
    const char* guest = "fd5b:e9ce:dffb:cafe:5054:ff:fe12:3456";
    assert_true(serves(ipv6_tcp(guest, "2001:db8::1", 1, 80, kTcpSyn), s));
    assert_true(serves(ipv6_tcp(guest, "fd5b:e9ce:dffb:cafe::2", 1, 80, kTcpSyn), s));
    assert_false(serves(ipv6_tcp(guest, "fd5b:e9ce:dffb:cafe::3", 1, 53, kTcpSyn), s));
    assert_false(serves(ipv6_tcp(guest, "fd5b:e9ce:dffb:cafe::7", 1, 80, kTcpSyn), s));
    assert_false(serves(ipv6_tcp("fd00::100", "2001:db8::1", 1, 80, kTcpSyn), s));
    // fd00::2 is an outside address now, reached as itself.
    assert_true(serves(ipv6_tcp(guest, "fd00::2", 1, 80, kTcpSyn), s));
    TcpFrame t;
    sockaddr_storage to;
    socklen_t len;
    Frame g = ipv6_tcp(guest, "fd5b:e9ce:dffb:cafe::2", 1, 22, kTcpSyn);
    parse_tcp_frame(g.data(), g.size(), &t);
    host_destination(s, t, &to, &len);
    assert_true(IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<sockaddr_in6&>(to).sin6_addr));
    g = ipv6_tcp(guest, "fd00::2", 1, 22, kTcpSyn);
    parse_tcp_frame(g.data(), g.size(), &t);
    host_destination(s, t, &to, &len);
    assert_false(IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<sockaddr_in6&>(to).sin6_addr));
}

void test_set_port(void**) {
    for (size_t payload : {0, 1, 100}) {
        Frame f = ipv4_tcp("10.0.2.100", "192.0.2.1", 40000, 443, kTcpAck, payload);
        TcpFrame t;
        parse_tcp_frame(f.data(), f.size(), &t);
        set_tcp_port(f.data(), t, false, kKernelListenPort, true);
        assert_int_equal(get16(f, 36), kKernelListenPort);
        assert_true(tcp_checksum_valid(f, 34, AF_INET));
        set_tcp_port(f.data(), t, true, 65535, true);
        assert_int_equal(get16(f, 34), 65535);
        assert_true(tcp_checksum_valid(f, 34, AF_INET));
    }
    Frame g = ipv6_tcp("fd00::100", "2001:db8::1", 0, 0xffff, kTcpAck);
    TcpFrame t;
    parse_tcp_frame(g.data(), g.size(), &t);
    set_tcp_port(g.data(), t, false, 0, true);
    assert_true(tcp_checksum_valid(g, 54, AF_INET6));
    // A partial checksum covers no port: it stays as it was.
    uint16_t before = get16(g, 70);
    set_tcp_port(g.data(), t, true, 1234, false);
    assert_int_equal(get16(g, 70), before);
}

void test_reset(void**) {
    Frame syn = ipv4_tcp("10.0.2.100", "192.0.2.1", 40000, 80, kTcpSyn);
    TcpFrame t;
    parse_tcp_frame(syn.data(), syn.size(), &t);
    Frame out(kResetFrameSize);
    size_t n = build_reset(syn.data(), t, out.data());
    out.resize(n);
    assert_int_equal(n, 54);
    assert_memory_equal(out.data(), kGuestMac, 6);
    assert_memory_equal(out.data() + 6, kGatewayMac, 6);
    TcpFrame r;
    assert_true(parse_tcp_frame(out.data(), out.size(), &r));
    assert_int_equal(r.sport, 80);
    assert_int_equal(r.dport, 40000);
    assert_int_equal(r.flags, kTcpRst | kTcpAck);
    assert_memory_equal(r.src.data(), t.dst.data(), 4);
    assert_memory_equal(r.dst.data(), t.src.data(), 4);
    assert_int_equal(get16(out, 42) << 16 | get16(out, 44), 0x12345679);  // ack = seq + 1
    assert_int_equal(checksum_fold(checksum_sum(out.data() + 14, 20)), 0xffff);
    assert_true(tcp_checksum_valid(out, 34, AF_INET));

    Frame syn6 = ipv6_tcp("fd00::100", "2001:db8::1", 40000, 80, kTcpSyn);
    parse_tcp_frame(syn6.data(), syn6.size(), &t);
    out.assign(kResetFrameSize, 0);
    n = build_reset(syn6.data(), t, out.data());
    out.resize(n);
    assert_int_equal(n, kResetFrameSize);
    assert_true(parse_tcp_frame(out.data(), out.size(), &r));
    assert_int_equal(r.family, AF_INET6);
    assert_true(tcp_checksum_valid(out, 54, AF_INET6));
}

bool icmp_checksum_valid(const Frame& f, size_t icmp, int family) {
    uint64_t sum = 0;
    size_t len = f.size() - icmp;
    if (family == AF_INET6) {
        sum = checksum_sum(f.data() + 14 + 8, 32);
        uint8_t tail[4] = {0, 58, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
        sum = checksum_sum(tail, 4, sum);
    }
    return checksum_fold(checksum_sum(f.data() + icmp, len, sum)) == 0xffff;
}

void test_unreachable(void**) {
    Frame syn = ipv4_tcp("10.0.2.100", "192.0.2.1", 40000, 80, kTcpSyn);
    TcpFrame t;
    assert_true(parse_tcp_frame(syn.data(), syn.size(), &t));
    in_addr gateway;
    inet_pton(AF_INET, "10.0.2.2", &gateway);
    Frame out(kUnreachableFrameSize);
    size_t n = build_unreachable(syn.data(), t, reinterpret_cast<uint8_t*>(&gateway), out.data());
    out.resize(n);
    assert_int_equal(n, 14 + 20 + 8 + 20 + 8);
    assert_memory_equal(out.data(), kGuestMac, 6);
    assert_int_equal(out[14 + 9], 1);                           // ICMP
    assert_memory_equal(out.data() + 26, &gateway, 4);          // from the gateway
    assert_memory_equal(out.data() + 30, syn.data() + 26, 4);   // to the guest
    assert_int_equal(out[34], 3);                               // unreachable
    assert_int_equal(out[35], 0);                               // network
    assert_memory_equal(out.data() + 42, syn.data() + 14, 28);  // the SYN, quoted
    assert_int_equal(checksum_fold(checksum_sum(out.data() + 14, 20)), 0xffff);
    assert_true(icmp_checksum_valid(out, 34, AF_INET));

    Frame syn6 = ipv6_tcp("fd00::100", "2001:db8::1", 40000, 80, kTcpSyn);
    assert_true(parse_tcp_frame(syn6.data(), syn6.size(), &t));
    in6_addr gateway6;
    inet_pton(AF_INET6, "fd00::2", &gateway6);
    out.assign(kUnreachableFrameSize, 0);
    n = build_unreachable(syn6.data(), t, gateway6.s6_addr, out.data());
    out.resize(n);
    assert_int_equal(n, 14 + 40 + 8 + 40 + 8);
    assert_int_equal(out[14 + 6], 58);  // ICMPv6
    assert_int_equal(out[54], 1);       // unreachable
    assert_int_equal(out[55], 0);       // no route
    assert_memory_equal(out.data() + 62, syn6.data() + 14, 48);
    assert_true(icmp_checksum_valid(out, 54, AF_INET6));
}

// A neighbour advertisement from fd00::2 naming libslirp's MAC for it.
Frame neighbour_advertisement() {
    Frame f(14 + 40 + 32, 0);
    put16(f, 12, 0x86dd);
    f[14] = 0x60;
    put16(f, 18, 32);
    f[20] = 58;
    f[21] = 255;
    inet_pton(AF_INET6, "fd00::2", f.data() + 22);
    inet_pton(AF_INET6, "fd00::100", f.data() + 38);
    f[54] = 136;
    f[58] = 0x60;  // solicited, override
    inet_pton(AF_INET6, "fd00::2", f.data() + 62);
    f[78] = 2;  // target link-layer address
    f[79] = 1;
    const uint8_t slirp_mac[6] = {0x52, 0x56, 0, 0, 0, 2};
    std::memcpy(f.data() + 80, slirp_mac, 6);
    return f;
}

void test_ndp_one_mac(void**) {
    std::array<uint8_t, 6> mac{0x52, 0x55, 10, 0, 2, 2};
    Frame na = neighbour_advertisement();
    assert_true(is_ndp(na.data(), na.size()));
    assert_true(rewrite_ndp_mac(na.data(), na.size(), mac));
    assert_memory_equal(na.data() + 80, mac.data(), 6);
    assert_true(icmp_checksum_valid(na, 54, AF_INET6));
    Frame syn6 = ipv6_tcp("fd00::2", "fd00::100", 80, 40000, kTcpSyn);
    Frame copy = syn6;
    assert_false(rewrite_ndp_mac(syn6.data(), syn6.size(), mac));
    assert_true(syn6 == copy);
    Frame echo = neighbour_advertisement();
    echo[54] = 129;  // an echo reply: not NDP
    assert_false(is_ndp(echo.data(), echo.size()));
}

void test_keys_match_both_ways(void**) {
    Frame out = ipv4_tcp("10.0.2.100", "192.0.2.1", 40000, 80, kTcpSyn);
    Frame back = ipv4_tcp("192.0.2.1", "10.0.2.100", 80, 40000, kTcpSyn | kTcpAck);
    TcpFrame a, b;
    parse_tcp_frame(out.data(), out.size(), &a);
    parse_tcp_frame(back.data(), back.size(), &b);
    assert_true(key_from_guest(a) == key_to_guest(b));
    // Bridged, the private kernel answers from its listener's port: the
    // flow is found whatever the remote port.
    Frame bridged = ipv4_tcp("192.0.2.1", "10.0.2.100", kKernelListenPort, 40000, kTcpAck);
    parse_tcp_frame(bridged.data(), bridged.size(), &b);
    assert_false(key_from_guest(a) == key_to_guest(b));
    FlowTable table(4);
    assert_non_null(table.add(key_from_guest(a), 80, kGuestMac, 0));
    FlowKey found;
    assert_non_null(table.find_any_port(key_to_guest(b), &found));
    assert_true(found == key_from_guest(a));
    assert_null(table.find(key_to_guest(b)));
    Frame elsewhere = ipv4_tcp("192.0.2.1", "10.0.2.100", kKernelListenPort, 40001, kTcpAck);
    parse_tcp_frame(elsewhere.data(), elsewhere.size(), &b);
    assert_null(table.find_any_port(key_to_guest(b)));
    Frame other = ipv4_tcp("10.0.2.100", "192.0.2.1", 40001, 80, kTcpSyn);
    parse_tcp_frame(other.data(), other.size(), &b);
    assert_false(key_from_guest(a) == key_from_guest(b));
}

void test_flow_table(void**) {
    FlowTable table(2);
    FlowKey k1, k2, k3;
    k1.guest_port = 1;
    k2.guest_port = 2;
    k3.guest_port = 3;
    FlowTable::Flow* f1 = table.add(k1, 80, kGuestMac, 0);
    assert_non_null(f1);
    assert_memory_equal(f1->guest_mac.data(), kGuestMac, 6);
    assert_null(table.add(k1, 80, kGuestMac, 0));  // taken
    assert_non_null(table.add(k2, 81, kGuestMac, 0));
    assert_null(table.add(k3, 82, kGuestMac, 0));  // full: bounded
    assert_int_equal(table.size(), 2);
    assert_int_equal(table.find(k2)->remote_port, 81);
    uint64_t id1 = table.find(k1)->id;
    assert_non_null(table.find_id(id1));
    assert_true(table.erase_id(id1));
    assert_null(table.find(k1));
    assert_non_null(table.add(k3, 82, kGuestMac, 0));

    // FINs both ways start the linger; a reset ends the flow at once.
    FlowTable::Flow* f = table.find(k3);
    assert_false(table.note_flags(k3, *f, kTcpFin | kTcpAck, true, 100));
    assert_true(f->state != FlowTable::State::Closing);
    assert_false(table.note_flags(k3, *f, kTcpFin | kTcpAck, false, 200));
    assert_true(f->state == FlowTable::State::Closing);
    std::vector<uint64_t> expired;
    table.expire(200 + FlowTable::kLingerMs - 1, [&](uint64_t id) { expired.push_back(id); });
    assert_true(expired.empty());
    table.expire(200 + FlowTable::kLingerMs, [&](uint64_t id) { expired.push_back(id); });
    assert_int_equal(expired.size(), 1);
    assert_null(table.find(k3));
    assert_true(table.note_flags(k2, *table.find(k2), kTcpRst, false, 300));
}

FlowKey port_key(uint16_t port) {
    FlowKey k;
    k.guest_port = port;
    return k;
}

// Closes the flow under k with FINs both ways at now.
void close_flow(FlowTable& table, const FlowKey& k, int64_t now) {
    table.note_flags(k, *table.find(k), kTcpFin | kTcpAck, true, now);
    table.note_flags(k, *table.find(k), kTcpFin | kTcpAck, false, now);
}

void test_full_table_evicts_closing(void**) {
    FlowTable table(3);
    FlowKey k1 = port_key(1), k2 = port_key(2), k3 = port_key(3), k4 = port_key(4);
    table.add(k1, 80, kGuestMac, 0);
    table.add(k2, 80, kGuestMac, 0);
    table.add(k3, 80, kGuestMac, 0);
    uint64_t evicted = 99;
    // Full of open flows: nothing may go.
    assert_null(table.add(k4, 80, kGuestMac, 10, &evicted));
    assert_int_equal(evicted, 0);
    // The flow that began closing first goes, whatever the table's order.
    close_flow(table, k3, 20);
    close_flow(table, k1, 30);
    uint64_t id3 = table.find(k3)->id;
    assert_non_null(table.add(k4, 80, kGuestMac, 40, &evicted));
    assert_int_equal(evicted, id3);
    assert_null(table.find(k3));
    assert_non_null(table.find(k1));
    assert_int_equal(table.size(), 3);
    // A taken key evicts nothing even when full.
    assert_null(table.add(k4, 80, kGuestMac, 50, &evicted));
    assert_int_equal(evicted, 0);
    // A closing flow that has gone meanwhile (reset, reused port) is skipped.
    uint64_t id1 = table.find(k1)->id;
    table.erase(k1);
    table.add(k1, 80, kGuestMac, 60);  // the same key, a new connection
    assert_null(table.add(k3, 80, kGuestMac, 70, &evicted));
    assert_int_equal(evicted, 0);
    assert_true(table.find(k1)->id != id1);
    // Connections opening and closing faster than the linger never lock
    // the table, and an open flow is never the one to go.
    close_flow(table, k2, 80);
    close_flow(table, k4, 80);
    for (uint16_t port = 10; port < 1000; port++) {
        FlowKey k = port_key(port);
        assert_non_null(table.add(k, 80, kGuestMac, port, &evicted));
        close_flow(table, k, port);
    }
    assert_int_equal(table.size(), 3);
    assert_true(table.find(k1)->state == FlowTable::State::Open ||
                table.find(k1)->state == FlowTable::State::Connecting);
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_serves),
        cmocka_unit_test(test_host_destination),
        cmocka_unit_test(test_custom_prefix),
        cmocka_unit_test(test_set_port),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_ndp_one_mac),
        cmocka_unit_test(test_keys_match_both_ways),
        cmocka_unit_test(test_flow_table),
        cmocka_unit_test(test_full_table_evicts_closing),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
