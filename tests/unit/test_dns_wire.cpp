// SPDX-License-Identifier: GPL-2.0-or-later
// test_dns_wire.cpp: the DNS forwarder's frames and messages (dns_wire.hpp):
// which guest frames are queries to the DNS address, the reply frame's
// addresses, ports and checksums for both families, and the SERVFAIL and
// truncated answers made from a message's header and question.
#include <arpa/inet.h>

#include <cstring>
#include <iterator>
#include <vector>

#include "checksum.hpp"
#include "dns_wire.hpp"
#include "wire.hpp"

#include "cmocka.hpp"

namespace {

using Bytes = std::vector<uint8_t>;

const uint8_t kGuestMac[6] = {0x02, 0, 0, 0, 0, 0x42};
const uint8_t kGatewayMac[6] = {0x52, 0x55, 10, 0, 2, 2};

DnsAddresses addresses() {
    DnsAddresses a;
    inet_pton(AF_INET, "10.0.2.3", &a.dns4);
    a.ipv6 = true;
    inet_pton(AF_INET6, "fd00::3", &a.dns6);
    return a;
}

// A query for "a.test" A, id 0x1234, RD.
Bytes query_message() {
    Bytes m = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1};  // one additional (OPT)
    const uint8_t question[] = {1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
    const uint8_t opt[] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
    m.insert(m.end(), std::begin(question), std::end(question));
    m.insert(m.end(), std::begin(opt), std::end(opt));
    return m;
}

Bytes udp_frame(bool v6, const char* to, uint16_t dport, const Bytes& message) {
    size_t ip = v6 ? 40 : 20;
    Bytes f(14 + ip + 8 + message.size(), 0);
    std::memcpy(f.data(), kGatewayMac, 6);
    std::memcpy(f.data() + 6, kGuestMac, 6);
    store16(f.data() + 12, v6 ? kEthIpv6 : kEthIpv4);
    uint8_t* h = f.data() + 14;
    if (v6) {
        h[0] = 0x60;
        store16(h + 4, static_cast<uint16_t>(8 + message.size()));
        h[6] = 17;
        h[7] = 64;
        inet_pton(AF_INET6, "fd00::100", h + 8);
        inet_pton(AF_INET6, to, h + 24);
    } else {
        h[0] = 0x45;
        store16(h + 2, static_cast<uint16_t>(ip + 8 + message.size()));
        h[8] = 64;
        h[9] = 17;
        inet_pton(AF_INET, "10.0.2.100", h + 12);
        inet_pton(AF_INET, to, h + 16);
    }
    uint8_t* u = h + ip;
    store16(u, 40000);
    store16(u + 2, dport);
    store16(u + 4, static_cast<uint16_t>(8 + message.size()));
    std::memcpy(u + 8, message.data(), message.size());
    return f;
}

void takes_queries_to_the_dns_address_only(void**) {
    Bytes m = query_message();
    DnsQueryFrame q;
    Bytes f = udp_frame(false, "10.0.2.3", 53, m);
    assert_true(parse_dns_query_frame(f.data(), f.size(), addresses(), &q));
    assert_int_equal(q.family, AF_INET);
    assert_int_equal(q.guest_port, 40000);
    assert_int_equal(q.message_len, m.size());
    assert_memory_equal(q.message, m.data(), m.size());
    assert_memory_equal(q.guest_mac.data(), kGuestMac, 6);
    f = udp_frame(true, "fd00::3", 53, m);
    assert_true(parse_dns_query_frame(f.data(), f.size(), addresses(), &q));
    assert_int_equal(q.family, AF_INET6);

    f = udp_frame(false, "10.0.2.2", 53, m);  // the gateway
    assert_false(parse_dns_query_frame(f.data(), f.size(), addresses(), &q));
    f = udp_frame(false, "10.0.2.3", 5353, m);  // another port
    assert_false(parse_dns_query_frame(f.data(), f.size(), addresses(), &q));
    DnsAddresses v4_only = addresses();
    v4_only.ipv6 = false;
    f = udp_frame(true, "fd00::3", 53, m);
    assert_false(parse_dns_query_frame(f.data(), f.size(), v4_only, &q));
    f = udp_frame(false, "10.0.2.3", 53, m);
    f[14 + 6] = 0x20;  // more fragments
    assert_false(parse_dns_query_frame(f.data(), f.size(), addresses(), &q));
    f = udp_frame(false, "10.0.2.3", 53, m);
    f[14 + 9] = 6;  // TCP
    assert_false(parse_dns_query_frame(f.data(), f.size(), addresses(), &q));
    f = udp_frame(false, "10.0.2.3", 53, m);
    store16(f.data() + 14 + 20 + 4, 0xffff);  // a UDP length past the datagram
    assert_false(parse_dns_query_frame(f.data(), f.size(), addresses(), &q));
    for (size_t cut = 0; cut < f.size(); cut++) {
        Bytes shorter(f.begin(), f.begin() + static_cast<long>(cut));
        assert_false(parse_dns_query_frame(shorter.data(), shorter.size(), addresses(), &q));
    }
}

void forwards_only_queries_with_one_question(void**) {
    Bytes m = query_message();
    assert_true(is_forwardable_query(m.data(), m.size()));
    assert_false(is_forwardable_query(m.data(), 11));
    Bytes answer = m;
    answer[2] |= 0x80;
    assert_false(is_forwardable_query(answer.data(), answer.size()));
    Bytes two = m;
    two[5] = 2;
    assert_false(is_forwardable_query(two.data(), two.size()));
}

uint16_t fold_udp(const uint8_t* pseudo, size_t pseudo_len, const uint8_t* udp, size_t len) {
    uint8_t tail[4] = {0, 17, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    return checksum_fold(
        checksum_sum(udp, len, checksum_sum(tail, 4, checksum_sum(pseudo, pseudo_len))));
}

void builds_the_reply_frame(void**) {
    Bytes m = query_message();
    std::array<uint8_t, 6> from;
    std::memcpy(from.data(), kGatewayMac, 6);
    for (bool v6 : {false, true}) {
        Bytes f = udp_frame(v6, v6 ? "fd00::3" : "10.0.2.3", 53, m);
        DnsQueryFrame q;
        assert_true(parse_dns_query_frame(f.data(), f.size(), addresses(), &q));
        Bytes answer = {0xab, 0xcd, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 7};
        Bytes r = build_dns_reply_frame(q, from, answer.data(), answer.size());
        size_t ip = v6 ? 40 : 20;
        assert_int_equal(r.size(), 14 + ip + 8 + answer.size());
        assert_int_equal(dns_reply_overhead(q.family), ip + 8);
        assert_memory_equal(r.data(), kGuestMac, 6);
        assert_memory_equal(r.data() + 6, kGatewayMac, 6);
        const uint8_t* h = r.data() + 14;
        const uint8_t* u = h + ip;
        if (v6) {
            assert_memory_equal(h + 8, f.data() + 14 + 24, 16);  // from fd00::3
            assert_memory_equal(h + 24, f.data() + 14 + 8, 16);  // to the guest
            assert_int_equal(load16(h + 4), 8 + answer.size());
            assert_int_equal(fold_udp(h + 8, 32, u, 8 + answer.size()), 0xffff);
        } else {
            assert_memory_equal(h + 12, f.data() + 14 + 16, 4);
            assert_memory_equal(h + 16, f.data() + 14 + 12, 4);
            assert_int_equal(load16(h + 2), ip + 8 + answer.size());
            assert_int_equal(checksum_fold(checksum_sum(h, 20)), 0xffff);
            assert_int_equal(fold_udp(h + 12, 8, u, 8 + answer.size()), 0xffff);
        }
        assert_int_equal(load16(u), 53);
        assert_int_equal(load16(u + 2), 40000);
        assert_memory_equal(u + 8, answer.data(), answer.size());
    }
}

void makes_servfail_and_truncated_answers(void**) {
    Bytes m = query_message();
    Bytes s = dns_question_only(m.data(), m.size(), kDnsServfail, false);
    assert_int_equal(s.size(), 12 + 12);  // header, question; the OPT record gone
    assert_int_equal(load16(s.data()), 0x1234);
    assert_int_equal(s[2], 0x81);  // QR, RD
    assert_int_equal(s[3], 0x82);  // RA, SERVFAIL
    assert_int_equal(load16(s.data() + 4), 1);
    for (size_t i = 6; i < 12; i++) assert_int_equal(s[i], 0);
    assert_memory_equal(s.data() + 12, m.data() + 12, 12);

    Bytes t = dns_question_only(m.data(), m.size(), 0, true);
    assert_int_equal(t[2], 0x83);  // QR, TC, RD
    assert_int_equal(t[3], 0x80);

    // No usable question: the header alone, with no question.
    Bytes bad = m;
    bad[12] = 0xc0;  // a compression pointer where a label belongs
    s = dns_question_only(bad.data(), bad.size(), kDnsServfail, false);
    assert_int_equal(s.size(), 12);
    assert_int_equal(load16(s.data() + 4), 0);
    assert_true(dns_question_only(m.data(), 11, kDnsServfail, false).empty());
    s = dns_question_only(m.data(), 12 + 5, kDnsServfail, false);  // a question cut short
    assert_int_equal(s.size(), 12);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(takes_queries_to_the_dns_address_only),
        cmocka_unit_test(forwards_only_queries_with_one_question),
        cmocka_unit_test(builds_the_reply_frame),
        cmocka_unit_test(makes_servfail_and_truncated_answers),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
