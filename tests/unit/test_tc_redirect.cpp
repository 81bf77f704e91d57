// SPDX-License-Identifier: GPL-2.0-or-later
// test_tc_redirect.cpp: the u32 filters of kernel-to-kernel delivery
// (tc_redirect.hpp), run over frames the way the kernel's u32 classifier
// runs them: the first filter, by priority, whose keys all match decides
// whether a frame goes to the veth or on to the tap.
#include <arpa/inet.h>
#include <linux/if_ether.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "tc_redirect.hpp"
#include "wire.hpp"

#include "cmocka.hpp"

namespace {

using Frame = std::vector<uint8_t>;
enum class Verdict { None, Pass, Redirect };

RedirectScope scope(bool host_loopback = true) {
    RedirectScope s;
    inet_pton(AF_INET, "10.0.2.0", &s.network);
    inet_pton(AF_INET, "255.255.255.0", &s.netmask);
    inet_pton(AF_INET, "10.0.2.2", &s.gateway);
    s.host_loopback = host_loopback;
    s.ipv6 = true;
    inet_pton(AF_INET6, "fd00::", &s.prefix6);
    inet_pton(AF_INET6, "fd00::2", &s.gateway6);
    return s;
}

// The frame from its network header on, as u32 sees it.
bool matches(const RedirectFilter& f, uint16_t protocol, const Frame& ip) {
    if (f.protocol != protocol) return false;
    for (const U32Key& k : f.keys) {
        if (k.offset < 0 || static_cast<size_t>(k.offset) + 4 > ip.size()) return false;
        uint32_t word = uint32_t{ip[k.offset]} << 24 | uint32_t{ip[k.offset + 1]} << 16 |
                        uint32_t{ip[k.offset + 2]} << 8 | ip[k.offset + 3];
        if ((word & k.mask) != (k.value & k.mask)) return false;
    }
    return true;
}

Verdict classify(std::vector<RedirectFilter> filters, uint16_t protocol, const Frame& ip) {
    std::stable_sort(filters.begin(), filters.end(),
                     [](const auto& a, const auto& b) { return a.priority < b.priority; });
    for (const RedirectFilter& f : filters)
        if (matches(f, protocol, ip)) return f.redirect ? Verdict::Redirect : Verdict::Pass;
    return Verdict::None;
}

Frame ipv4(const char* src, const char* dst, uint8_t proto, uint16_t sport, uint16_t dport,
           uint8_t flags) {
    Frame f(40, 0);
    f[0] = 0x45;
    f[9] = proto;
    inet_pton(AF_INET, src, f.data() + 12);
    inet_pton(AF_INET, dst, f.data() + 16);
    store16(f.data() + 20, sport);
    store16(f.data() + 22, dport);
    f[33] = flags;
    return f;
}

Frame ipv6(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t flags) {
    Frame f(60, 0);
    f[0] = 0x60;
    f[6] = kProtoTcp;
    inet_pton(AF_INET6, src, f.data() + 8);
    inet_pton(AF_INET6, dst, f.data() + 24);
    store16(f.data() + 40, sport);
    store16(f.data() + 42, dport);
    f[53] = flags;
    return f;
}

Verdict v4(const RedirectScope& s, const Frame& f) {
    return classify(guest_egress_filters(s), ETH_P_IP, f);
}
Verdict v6(const RedirectScope& s, const Frame& f) {
    return classify(guest_egress_filters(s), ETH_P_IPV6, f);
}

void test_ipv4_decisions(void**) {
    RedirectScope s = scope();
    const char* guest = "10.0.2.100";
    // SYNs stay with the daemon; the rest of a flow goes kernel to kernel.
    assert_true(v4(s, ipv4(guest, "192.0.2.9", 6, 40000, 80, kTcpSyn)) == Verdict::Pass);
    assert_true(v4(s, ipv4(guest, "192.0.2.9", 6, 40000, 80, kTcpAck)) == Verdict::Redirect);
    assert_true(v4(s, ipv4(guest, "192.0.2.9", 6, 40000, 80, kTcpSyn | kTcpAck)) ==
                Verdict::Redirect);
    assert_true(v4(s, ipv4(guest, "10.0.2.2", 6, 40000, 80, kTcpAck | kTcpFin)) ==
                Verdict::Redirect);
    // The DNS address has a MAC of its own: its streams pass the daemon.
    assert_true(v4(s, ipv4(guest, "10.0.2.3", 6, 40000, 53, kTcpAck)) == Verdict::Pass);
    assert_true(v4(s, ipv4(guest, "10.0.2.3", 6, 40000, 80, kTcpAck)) == Verdict::Pass);
    assert_true(v4(s, ipv4(guest, "10.0.2.7", 6, 40000, 80, kTcpAck)) == Verdict::Pass);
    // Not TCP, not from the guest's network: untouched.
    assert_true(v4(s, ipv4(guest, "192.0.2.9", 17, 40000, 53, 0)) == Verdict::None);
    assert_true(v4(s, ipv4("172.17.0.2", "192.0.2.9", 6, 40000, 80, kTcpAck)) == Verdict::None);
    Frame options = ipv4(guest, "192.0.2.9", 6, 40000, 80, kTcpAck);
    options[0] = 0x46;  // IPv4 options: the TCP header is not at 20
    assert_true(v4(s, options) == Verdict::None);
    Frame fragment = ipv4(guest, "192.0.2.9", 6, 40000, 80, kTcpAck);
    fragment[6] = 0x20;  // more fragments
    assert_true(v4(s, fragment) == Verdict::None);
    fragment[6] = 0x40;  // don't fragment only: whole
    assert_true(v4(s, fragment) == Verdict::Redirect);
}

void test_scope_switches(void**) {
    const char* guest = "10.0.2.100";
    RedirectScope s = scope(false);
    assert_true(v4(s, ipv4(guest, "10.0.2.2", 6, 40000, 80, kTcpAck)) == Verdict::Pass);
    assert_true(v4(s, ipv4(guest, "192.0.2.9", 6, 40000, 80, kTcpAck)) == Verdict::Redirect);
    s.ipv6 = false;
    assert_true(v6(s, ipv6("fd00::100", "2001:db8::9", 40000, 80, kTcpAck)) == Verdict::None);
}

void test_ipv6_decisions(void**) {
    RedirectScope s = scope();
    assert_true(v6(s, ipv6("fd00::100", "2001:db8::9", 40000, 80, kTcpSyn)) == Verdict::Pass);
    assert_true(v6(s, ipv6("fd00::100", "2001:db8::9", 40000, 80, kTcpAck)) == Verdict::Redirect);
    assert_true(v6(s, ipv6("fd00::100", "fd00::2", 40000, 80, kTcpAck)) == Verdict::Redirect);
    assert_true(v6(s, ipv6("fd00::100", "fd00::3", 40000, 53, kTcpAck)) == Verdict::Pass);
    assert_true(v6(s, ipv6("fd00::100", "fd00::3", 40000, 80, kTcpAck)) == Verdict::Pass);
    assert_true(v6(s, ipv6("fd00::100", "fd00::55", 40000, 80, kTcpAck)) == Verdict::Pass);
    // A tentative guest connects from its link-local address: libslirp's.
    assert_true(v6(s, ipv6("fe80::1", "2001:db8::9", 40000, 80, kTcpAck)) == Verdict::None);
}

void test_exclusions(void**) {
    RedirectScope s = scope();
    std::vector<RedirectFilter> filters = guest_egress_filters(s);
    for (const RedirectFilter& f : exclusion_filters(s, 3, 8080)) filters.push_back(f);
    Frame from_forwarded = ipv4("10.0.2.100", "192.0.2.9", 6, 8080, 40000, kTcpAck);
    Frame other = ipv4("10.0.2.100", "192.0.2.9", 6, 8081, 40000, kTcpAck);
    assert_true(classify(filters, ETH_P_IP, from_forwarded) == Verdict::Pass);
    assert_true(classify(filters, ETH_P_IP, other) == Verdict::Redirect);
    Frame from_forwarded6 = ipv6("fd00::100", "2001:db8::9", 8080, 40000, kTcpAck);
    assert_true(classify(filters, ETH_P_IPV6, from_forwarded6) == Verdict::Pass);
    // Every priority used is one removal knows.
    std::vector<uint16_t> known = redirect_priorities();
    for (const RedirectFilter& f : filters)
        assert_true(std::find(known.begin(), known.end(), f.priority) != known.end());
    for (int slot = 0; slot < kExclusionSlots; slot++)
        for (const RedirectFilter& f : exclusion_filters(s, slot, 1))
            assert_true(std::find(known.begin(), known.end(), f.priority) != known.end());
}

// The UDP filters alone (they sit apart from TCP's, on another protocol).
Frame udp4(const char* src, uint16_t total_length) {
    Frame f = ipv4(src, "192.0.2.9", kProtoUdp, 40000, 443, 0);
    store16(f.data() + 2, total_length);
    return f;
}
Frame udp6(const char* src, uint16_t payload_length) {
    Frame f = ipv6(src, "2001:db8::9", 40000, 443, 0);
    f[6] = kProtoUdp;
    store16(f.data() + 4, payload_length);
    return f;
}

void test_udp_filters(void**) {
    RedirectScope s = scope();
    std::vector<RedirectFilter> udp = guest_udp_filters(s);
    // From the guest's addresses, under 2 KiB: by tc to the ring; larger
    // (a GSO frame, a datagram above 2 KiB) and anything else: the tap.
    assert_true(classify(udp, ETH_P_IP, udp4("10.0.2.100", 1428)) == Verdict::Redirect);
    assert_true(classify(udp, ETH_P_IP, udp4("10.0.2.100", 2047)) == Verdict::Redirect);
    assert_true(classify(udp, ETH_P_IP, udp4("10.0.2.100", 2048)) == Verdict::None);
    assert_true(classify(udp, ETH_P_IP, udp4("10.0.2.100", 65000)) == Verdict::None);
    assert_true(classify(udp, ETH_P_IP, udp4("172.17.0.2", 100)) == Verdict::None);
    assert_true(classify(udp, ETH_P_IP, udp4("0.0.0.0", 300)) == Verdict::None);  // DHCP
    assert_true(classify(udp, ETH_P_IP, ipv4("10.0.2.100", "192.0.2.9", 6, 1, 2, kTcpAck)) ==
                Verdict::None);
    assert_true(classify(udp, ETH_P_IPV6, udp6("fd00::100", 1408)) == Verdict::Redirect);
    assert_true(classify(udp, ETH_P_IPV6, udp6("fd00::100", 2048)) == Verdict::None);
    assert_true(classify(udp, ETH_P_IPV6, udp6("fe80::1", 100)) == Verdict::None);
    // TCP's filters leave UDP alone, so the two sets never meet.
    assert_true(v4(s, udp4("10.0.2.100", 1428)) == Verdict::None);
    std::vector<uint16_t> known = redirect_priorities();
    for (const RedirectFilter& f : udp)
        assert_true(std::find(known.begin(), known.end(), f.priority) != known.end());
    s.ipv6 = false;
    assert_int_equal(guest_udp_filters(s).size(), 1);
}

void test_veth_name(void**) {
    assert_string_equal(udp_veth_name("tap0").c_str(), "s4u-tap0");
    assert_true(udp_veth_name("container-eth0") != redirect_veth_name("container-eth0"));
    assert_int_equal(udp_veth_name("container-eth0").size(), 15);
    assert_string_equal(redirect_veth_name("tap0").c_str(), "s4n-tap0");
    assert_string_equal(redirect_veth_name("container-e").c_str(), "s4n-container-e");
    std::string a = redirect_veth_name("container-eth0"), b = redirect_veth_name("container-eth1");
    assert_string_equal(a.c_str(), "s4n-contai-aeb6");
    assert_int_equal(b.size(), 15);
    assert_true(a != b);
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_decisions), cmocka_unit_test(test_scope_switches),
        cmocka_unit_test(test_ipv6_decisions), cmocka_unit_test(test_exclusions),
        cmocka_unit_test(test_udp_filters),    cmocka_unit_test(test_veth_name),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
