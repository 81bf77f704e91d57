// SPDX-License-Identifier: GPL-2.0-or-later
// test_ipv4_reassembly.cpp: putting the guest's IPv4 fragments back together
// (ipv4_reassembly.hpp): any arrival order, the rebuilt header, and every
// refusal (overlaps, a second last piece, odd sizes, past 65535 bytes,
// timeouts, the cap on datagrams in progress).
#include <cstdint>
#include <cstring>
#include <vector>

#include "checksum.hpp"
#include "ipv4_reassembly.hpp"

#include "cmocka.hpp"

namespace {

using Bytes = std::vector<uint8_t>;

// A UDP-like payload 10.0.2.100 -> 10.0.2.2 whose bytes are their own index.
Bytes payload_of(size_t size) {
    Bytes p(size);
    for (size_t i = 0; i < size; i++) p[i] = static_cast<uint8_t>(i * 7 + 3);
    return p;
}

// One fragment frame carrying payload[offset, offset + length).
Bytes fragment(const Bytes& payload, size_t offset, size_t length, bool more, uint16_t id = 7,
               size_t options = 0) {
    size_t header = 20 + options;
    Bytes f(14 + header, 0);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t* ip = f.data() + 14;
    ip[0] = static_cast<uint8_t>(0x40 | header / 4);
    size_t total = header + length;
    ip[2] = static_cast<uint8_t>(total >> 8);
    ip[3] = static_cast<uint8_t>(total);
    ip[4] = static_cast<uint8_t>(id >> 8);
    ip[5] = static_cast<uint8_t>(id);
    uint16_t flags = static_cast<uint16_t>((more ? 0x2000 : 0) | offset / 8);
    ip[6] = static_cast<uint8_t>(flags >> 8);
    ip[7] = static_cast<uint8_t>(flags);
    ip[8] = 64;
    ip[9] = 17;
    const uint8_t addresses[8] = {10, 0, 2, 100, 10, 0, 2, 2};
    std::memcpy(ip + 12, addresses, 8);
    for (size_t i = 0; i < length; i++)
        f.push_back(offset + i < payload.size() ? payload[offset + i] : 0);
    return f;
}

Bytes absorb(Ipv4Reassembly& r, const Bytes& frame, int64_t now = 1000) {
    auto whole = r.absorb(frame.data(), frame.size(), now);
    return Bytes(whole.begin(), whole.end());
}

void check_whole(const Bytes& whole, const Bytes& payload, size_t header = 20) {
    assert_int_equal(whole.size(), 14 + header + payload.size());
    const uint8_t* ip = whole.data() + 14;
    assert_int_equal(ip[2] << 8 | ip[3], header + payload.size());
    assert_int_equal(ip[6] << 8 | ip[7], 0);                            // no MF, offset 0
    assert_int_equal(checksum_fold(checksum_sum(ip, header)), 0xffff);  // a valid header checksum
    assert_memory_equal(ip + header, payload.data(), payload.size());
}

void tells_fragments_from_whole_datagrams(void**) {
    Bytes p = payload_of(32);
    Bytes first = fragment(p, 0, 16, true), last = fragment(p, 16, 16, false);
    Bytes whole = fragment(p, 0, 32, false);
    assert_true(is_ipv4_fragment(first.data(), first.size()));
    assert_true(is_ipv4_fragment(last.data(), last.size()));
    assert_false(is_ipv4_fragment(whole.data(), whole.size()));
    whole[13] = 0xdd;  // IPv6 with the same bytes is never an IPv4 fragment
    assert_false(is_ipv4_fragment(whole.data(), whole.size()));
    assert_false(is_ipv4_fragment(first.data(), 30));  // too short to tell
}

void rebuilds_in_any_order(void**) {
    Bytes p = payload_of(3000);
    const size_t orders[][3] = {{0, 1, 2}, {2, 1, 0}, {2, 0, 1}, {1, 2, 0}};
    for (const auto& order : orders) {
        Ipv4Reassembly r;
        Bytes pieces[3] = {fragment(p, 0, 1480, true), fragment(p, 1480, 1480, true),
                           fragment(p, 2960, 40, false)};
        assert_true(absorb(r, pieces[order[0]]).empty());
        assert_true(absorb(r, pieces[order[1]]).empty());
        check_whole(absorb(r, pieces[order[2]]), p);
        assert_int_equal(r.pending(), 0);
        assert_int_equal(r.datagrams_completed(), 1);
    }
}

void keeps_the_first_fragments_options_and_drops_padding(void**) {
    Bytes p = payload_of(20);
    Ipv4Reassembly r;
    Bytes first = fragment(p, 0, 16, true, 7, 8);
    first[14 + 20] = 0x94;  // router alert, as a recognisable option byte
    Bytes last = fragment(p, 16, 4, false);
    last.resize(last.size() + 22, 0xee);  // Ethernet padding to 60 bytes and more
    assert_true(absorb(r, last).empty());
    Bytes whole = absorb(r, first);
    check_whole(whole, p, 28);
    assert_int_equal(whole[14 + 20], 0x94);
}

void takes_each_pieces_payload_after_its_own_header(void**) {
    // libslirp before 4.9.4 leaked bytes when the pieces of one datagram had
    // headers of different lengths. Here each piece's payload starts after
    // its own header: only the first piece's options survive, and the
    // payload holds nothing but the datagram's bytes, in either order.
    Bytes p = payload_of(64);
    const size_t options[][3] = {{0, 40, 4}, {40, 0, 12}, {8, 8, 0}};
    for (const auto& o : options) {
        Bytes pieces[3] = {fragment(p, 0, 24, true, 7, o[0]), fragment(p, 24, 24, true, 7, o[1]),
                           fragment(p, 48, 16, false, 7, o[2])};
        for (size_t i = 1; i < 3; i++)  // option bytes no payload byte equals
            std::memset(pieces[i].data() + 14 + 20, 0x01, o[i]);
        Ipv4Reassembly forward, backward;
        assert_true(absorb(forward, pieces[0]).empty());
        assert_true(absorb(forward, pieces[1]).empty());
        check_whole(absorb(forward, pieces[2]), p, 20 + o[0]);
        assert_true(absorb(backward, pieces[2]).empty());
        assert_true(absorb(backward, pieces[1]).empty());
        check_whole(absorb(backward, pieces[0]), p, 20 + o[0]);
    }
}

void keeps_datagrams_apart(void**) {
    Bytes a = payload_of(24), b = payload_of(24);
    b[0] = 0xaa;
    Ipv4Reassembly r;
    assert_true(absorb(r, fragment(a, 0, 16, true, 1)).empty());
    assert_true(absorb(r, fragment(b, 0, 16, true, 2)).empty());
    assert_int_equal(r.pending(), 2);
    check_whole(absorb(r, fragment(b, 16, 8, false, 2)), b);
    check_whole(absorb(r, fragment(a, 16, 8, false, 1)), a);
}

void refuses_overlaps(void**) {
    Bytes p = payload_of(48);
    Ipv4Reassembly r;
    assert_true(absorb(r, fragment(p, 0, 24, true)).empty());
    assert_true(absorb(r, fragment(p, 16, 32, false)).empty());  // 16..24 again
    assert_int_equal(r.pending(), 0);
    // The rest of that datagram starts a new one that never completes.
    assert_true(absorb(r, fragment(p, 24, 24, false)).empty());
    assert_int_equal(r.pending(), 1);
    assert_int_equal(r.datagrams_completed(), 0);
}

void refuses_pieces_past_the_end(void**) {
    Bytes p = payload_of(48);
    Ipv4Reassembly r;
    assert_true(absorb(r, fragment(p, 16, 8, false)).empty());
    assert_true(absorb(r, fragment(p, 32, 16, false)).empty());  // a second last piece
    assert_int_equal(r.pending(), 0);
    assert_true(absorb(r, fragment(p, 16, 8, false)).empty());
    assert_true(absorb(r, fragment(p, 32, 16, true)).empty());  // beyond the end
    assert_int_equal(r.pending(), 0);
    assert_true(absorb(r, fragment(p, 32, 16, true)).empty());
    assert_true(absorb(r, fragment(p, 8, 8, false)).empty());  // a last piece before data
    assert_int_equal(r.pending(), 0);
    assert_int_equal(r.datagrams_discarded(), 3);
}

void refuses_malformed_fragments(void**) {
    Bytes p = payload_of(64);
    Ipv4Reassembly r;
    assert_true(absorb(r, fragment(p, 0, 12, true)).empty());  // not a multiple of 8
    assert_true(absorb(r, fragment(p, 0, 0, true)).empty());   // empty, more to come
    Bytes truncated = fragment(p, 0, 16, true);
    truncated.pop_back();
    assert_true(absorb(r, truncated).empty());
    Bytes bad_header = fragment(p, 0, 16, true);
    bad_header[14] = 0x44;  // IHL 16 bytes
    assert_true(absorb(r, bad_header).empty());
    // The ping-of-death shape: a piece ending past 65535 bytes of datagram.
    assert_true(absorb(r, fragment(p, 65512, 24, false)).empty());
    assert_int_equal(r.pending(), 0);
    assert_int_equal(r.datagrams_discarded(), 5);
    // Up to the limit exactly is fine: 20 + 65515 bytes.
    Bytes big = payload_of(65515);
    for (size_t off = 0; off < 65512; off += 1480)
        assert_true(
            absorb(r, fragment(big, off, off + 1480 < 65512 ? 1480 : 65512 - off, true)).empty());
    check_whole(absorb(r, fragment(big, 65512, 3, false)), big);
}

void refuses_options_that_make_it_too_long(void**) {
    Bytes p = payload_of(65515);
    Ipv4Reassembly r;
    assert_true(absorb(r, fragment(p, 65512, 3, false)).empty());
    for (size_t off = 1480; off < 65512; off += 1480)
        assert_true(
            absorb(r, fragment(p, off, off + 1480 < 65512 ? 1480 : 65512 - off, true)).empty());
    // 24 bytes of header on the first piece: 24 + 65515 > 65535.
    assert_true(absorb(r, fragment(p, 0, 1480, true, 7, 4)).empty());
    assert_int_equal(r.pending(), 0);
    assert_int_equal(r.datagrams_completed(), 0);
}

void forgets_after_the_timeout(void**) {
    Bytes p = payload_of(32);
    Ipv4Reassembly r;
    assert_true(absorb(r, fragment(p, 0, 16, true), 1000).empty());
    r.discard_expired(1000 + Ipv4Reassembly::kTimeoutMs - 1);
    assert_int_equal(r.pending(), 1);
    r.discard_expired(1000 + Ipv4Reassembly::kTimeoutMs);
    assert_int_equal(r.pending(), 0);
    // The late rest is a datagram of its own, incomplete.
    assert_true(absorb(r, fragment(p, 16, 16, false), 1000 + Ipv4Reassembly::kTimeoutMs).empty());
    assert_int_equal(r.pending(), 1);
}

void caps_datagrams_in_progress(void**) {
    Bytes p = payload_of(32);
    Ipv4Reassembly r;
    for (uint16_t id = 0; id < Ipv4Reassembly::kMaxPending + 1; id++)
        assert_true(absorb(r, fragment(p, 0, 16, true, id), 1000 + id).empty());
    assert_int_equal(r.pending(), Ipv4Reassembly::kMaxPending);
    // The oldest (id 0) gave way; the newest completes.
    assert_true(absorb(r, fragment(p, 16, 16, false, 0), 2000).empty());
    check_whole(absorb(r, fragment(p, 16, 16, false, Ipv4Reassembly::kMaxPending), 2000), p);
}

void passes_only_what_libslirp_may_see(void**) {
    Bytes p = payload_of(32);
    Ipv4Reassembly r;
    std::vector<Bytes> delivered;
    int clock_reads = 0;
    auto now = [&] {
        clock_reads++;
        return int64_t{1000};
    };
    auto deliver = [&](const uint8_t* f, size_t n) { delivered.emplace_back(f, f + n); };
    Bytes plain = fragment(p, 0, 32, false);
    r.pass(plain.data(), plain.size(), now, deliver);
    assert_int_equal(clock_reads, 0);  // no clock for whole datagrams
    Bytes last = fragment(p, 16, 16, false), first = fragment(p, 0, 16, true);
    r.pass(last.data(), last.size(), now, deliver);  // the shape libslirp 4.7.0 crashes on
    assert_int_equal(delivered.size(), 1);
    r.pass(first.data(), first.size(), now, deliver);
    assert_int_equal(delivered.size(), 2);
    assert_true(delivered[0] == plain);
    check_whole(delivered[1], p);
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tells_fragments_from_whole_datagrams),
        cmocka_unit_test(rebuilds_in_any_order),
        cmocka_unit_test(keeps_the_first_fragments_options_and_drops_padding),
        cmocka_unit_test(takes_each_pieces_payload_after_its_own_header),
        cmocka_unit_test(keeps_datagrams_apart),
        cmocka_unit_test(refuses_overlaps),
        cmocka_unit_test(refuses_pieces_past_the_end),
        cmocka_unit_test(refuses_malformed_fragments),
        cmocka_unit_test(refuses_options_that_make_it_too_long),
        cmocka_unit_test(forgets_after_the_timeout),
        cmocka_unit_test(caps_datagrams_in_progress),
        cmocka_unit_test(passes_only_what_libslirp_may_see),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
