// SPDX-License-Identifier: GPL-2.0-or-later
// test_urgent_data_fence.cpp: clearing TCP urgent data from guest segments
// (urgent_data_fence.hpp): URG and the urgent pointer go, checksums stay
// right (or stay wrong), nothing else in any frame changes.
#include <cstring>
#include <vector>

#include "checksum.hpp"
#include "urgent_data_fence.hpp"
#include "vnet.hpp"
#include "wire.hpp"

#include "cmocka.hpp"

namespace {

using Frame = std::vector<uint8_t>;

constexpr uint8_t kAck = 0x10, kPsh = 0x08, kUrg = 0x20;

// The one's-complement sum of the TCP pseudo-header and segment, folded:
// 0xffff when the checksum in the segment is right.
uint16_t tcp_sum(const Frame& f, bool v6, size_t tcp) {
    size_t length = f.size() - tcp;
    uint64_t sum = v6 ? checksum_sum(&f[14 + 8], 32) : checksum_sum(&f[14 + 12], 8);
    sum += 6 + length;
    return checksum_fold(checksum_sum(&f[tcp], length, sum));
}

// Ethernet, IPv4 (with `ip_options` bytes of options) or IPv6, and a TCP
// segment with the given flags, urgent pointer and payload; checksum right.
Frame segment(bool v6, uint8_t flags, uint16_t urgent, size_t payload, size_t ip_options = 0) {
    size_t ip = v6 ? 40 : 20 + ip_options;
    Frame f(14 + ip + 20 + payload);
    store16(&f[12], v6 ? 0x86dd : 0x0800);
    if (v6) {
        f[14] = 0x60;
        store16(&f[14 + 4], static_cast<uint16_t>(20 + payload));
        f[14 + 6] = 6;
        f[14 + 7] = 64;
        f[14 + 8] = 0xfd;
        f[14 + 24] = 0xfd;
        f[14 + 23] = 100;
        f[14 + 39] = 2;
    } else {
        f[14] = static_cast<uint8_t>(0x40 | ip / 4);
        store16(&f[14 + 2], static_cast<uint16_t>(ip + 20 + payload));
        f[14 + 8] = 64;
        f[14 + 9] = 6;
        const uint8_t addresses[] = {10, 0, 2, 100, 10, 0, 2, 2};
        std::memcpy(&f[14 + 12], addresses, 8);
        for (size_t i = 20; i < ip; i++) f[14 + i] = 1;  // NOP options
        set_ipv4_checksum(&f[14], ip);
    }
    size_t tcp = 14 + ip;
    store16(&f[tcp], 40000);
    store16(&f[tcp + 2], 8000);
    f[tcp + 7] = 1;  // sequence number
    f[tcp + 12] = 5 << 4;
    f[tcp + 13] = flags;
    store16(&f[tcp + 14], 64240);
    store16(&f[tcp + 18], urgent);
    for (size_t i = 0; i < payload; i++) f[tcp + 20 + i] = static_cast<uint8_t>('A' + i % 26);
    store16(&f[tcp + 16], static_cast<uint16_t>(~tcp_sum(f, v6, tcp)));
    return f;
}

void check_cleared(const Frame& before, const Frame& after, bool v6, size_t tcp) {
    assert_int_equal(after.size(), before.size());
    assert_int_equal(after[tcp + 13], before[tcp + 13] & ~kUrg);
    assert_int_equal(load16(&after[tcp + 18]), 0);
    assert_int_equal(tcp_sum(after, v6, tcp), 0xffff);
    // Nothing else moved: ports, sequence, window, payload, IP header.
    for (size_t i = 0; i < after.size(); i++) {
        if (i == tcp + 13 || i == tcp + 16 || i == tcp + 17 || i == tcp + 18 || i == tcp + 19)
            continue;
        assert_int_equal(after[i], before[i]);
    }
}

void clears_urgent_data_ipv4(void**) {
    Frame before = segment(false, kAck | kPsh | kUrg, 1000, 10);
    assert_int_equal(tcp_sum(before, false, 34), 0xffff);
    Frame f = before;
    assert_true(urgent_data_fence(f.data(), find_tcp(f.data(), f.size())));
    check_cleared(before, f, false, 34);
    assert_int_equal(f[34 + 13], kAck | kPsh);
}

void clears_urgent_data_ipv6(void**) {
    Frame before = segment(true, kAck | kUrg, 0xffff, 33);
    Frame f = before;
    assert_true(urgent_data_fence(f.data(), find_tcp(f.data(), f.size())));
    check_cleared(before, f, true, 54);
}

void clears_ipv4_with_options(void**) {
    Frame before = segment(false, kAck | kUrg, 7, 1, 8);
    Frame f = before;
    assert_true(urgent_data_fence(f.data(), find_tcp(f.data(), f.size())));
    check_cleared(before, f, false, 14 + 28);
}

// An urgent pointer without URG means nothing to a correct stack; it is
// cleared all the same so no reading of it can matter.
void clears_pointer_without_flag(void**) {
    Frame before = segment(false, kAck, 500, 4);
    Frame f = before;
    assert_true(urgent_data_fence(f.data(), find_tcp(f.data(), f.size())));
    check_cleared(before, f, false, 34);
}

void leaves_ordinary_segments_alone(void**) {
    for (bool v6 : {false, true}) {
        Frame before = segment(v6, kAck | kPsh, 0, 100);
        Frame f = before;
        assert_false(urgent_data_fence(f.data(), find_tcp(f.data(), f.size())));
        assert_true(f == before);
    }
}

// A segment with a wrong checksum is still wrong afterwards: libslirp drops
// it as it would have.
void wrong_checksum_stays_wrong(void**) {
    Frame f = segment(false, kAck | kUrg, 1000, 10);
    f[34 + 20] ^= 0x40;  // corrupt the payload
    assert_int_not_equal(tcp_sum(f, false, 34), 0xffff);
    assert_true(urgent_data_fence(f.data(), find_tcp(f.data(), f.size())));
    assert_int_not_equal(tcp_sum(f, false, 34), 0xffff);
}

// From a virtio-net tap the checksum comes partial; completed first (as the
// daemon does before the fences), the fenced segment is right.
void after_completed_partial_checksum(void**) {
    Frame f = segment(false, kAck | kUrg, 1000, 1400);
    uint64_t pseudo = checksum_sum(&f[26], 8) + 6 + (f.size() - 34);
    store16(&f[34 + 16], checksum_fold(pseudo));
    assert_true(vnet_complete_checksum(f.data(), f.size(), 34, 16));
    assert_true(urgent_data_fence(f.data(), find_tcp(f.data(), f.size())));
    assert_int_equal(tcp_sum(f, false, 34), 0xffff);
    assert_int_equal(load16(&f[34 + 18]), 0);
}

void ignores_what_is_not_a_whole_tcp_segment(void**) {
    Frame udp = segment(false, kAck | kUrg, 1000, 10);
    udp[14 + 9] = 17;
    Frame fragment = segment(false, kAck | kUrg, 1000, 10);
    store16(&fragment[14 + 6], 0x2000);  // MF
    Frame truncated = segment(false, kAck | kUrg, 1000, 10);
    truncated.resize(14 + 20 + 19);
    Frame short_ip = segment(false, kAck | kUrg, 1000, 10);
    store16(&short_ip[14 + 2], 20 + 19);  // the IP length ends inside the TCP header
    Frame extension = segment(true, kAck | kUrg, 1000, 10);
    extension[14 + 6] = 0;  // a hop-by-hop header first: libslirp drops it
    for (Frame* f : {&udp, &fragment, &truncated, &short_ip, &extension}) {
        Frame before = *f;
        assert_false(urgent_data_fence(f->data(), find_tcp(f->data(), f->size())));
        assert_true(*f == before);
    }
    assert_false(urgent_data_fence(nullptr, find_tcp(nullptr, 0)));
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(clears_urgent_data_ipv4),
        cmocka_unit_test(clears_urgent_data_ipv6),
        cmocka_unit_test(clears_ipv4_with_options),
        cmocka_unit_test(clears_pointer_without_flag),
        cmocka_unit_test(leaves_ordinary_segments_alone),
        cmocka_unit_test(wrong_checksum_stays_wrong),
        cmocka_unit_test(after_completed_partial_checksum),
        cmocka_unit_test(ignores_what_is_not_a_whole_tcp_segment),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
