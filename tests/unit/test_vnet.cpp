// SPDX-License-Identifier: GPL-2.0-or-later
// test_vnet.cpp: the frame surgery for a segmenting tap (vnet.hpp):
// checksums, SYN MSS raising, output classification, IPv4 fragmentation,
// cutting UDP GSO frames.
#include <cstring>
#include <vector>

#include "checksum.hpp"
#include "vnet.hpp"

#include "cmocka.hpp"

namespace {

using Frame = std::vector<uint8_t>;

void put16(Frame& f, size_t at, uint16_t v) {
    f[at] = static_cast<uint8_t>(v >> 8);
    f[at + 1] = static_cast<uint8_t>(v);
}
uint16_t get16(const Frame& f, size_t at) {
    return static_cast<uint16_t>(f[at] << 8 | f[at + 1]);
}

// Reference checksum: plain 16-bit big-endian words.
uint16_t reference_sum(const uint8_t* p, size_t len, uint32_t seed = 0) {
    uint32_t sum = seed;
    for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// An Ethernet + IPv4 + TCP frame with payload bytes; TCP header of 20 bytes
// plus `options`; full, correct checksums.
Frame ipv4_tcp(size_t payload, const Frame& options = {}, uint8_t flags = 0x10) {
    size_t tcp_header = 20 + options.size();
    Frame f(14 + 20 + tcp_header + payload);
    put16(f, 12, 0x0800);
    f[14] = 0x45;
    put16(f, 16, static_cast<uint16_t>(20 + tcp_header + payload));
    f[22] = 64;
    f[23] = 6;
    uint8_t src[] = {10, 0, 2, 100}, dst[] = {10, 0, 2, 2};
    std::memcpy(&f[26], src, 4);
    std::memcpy(&f[30], dst, 4);
    put16(f, 24, static_cast<uint16_t>(~reference_sum(&f[14], 20)));
    size_t t = 34;
    put16(f, t, 40000);
    put16(f, t + 2, 5201);
    f[t + 12] = static_cast<uint8_t>((tcp_header / 4) << 4);
    f[t + 13] = flags;
    if (!options.empty()) std::memcpy(&f[t + 20], options.data(), options.size());
    for (size_t i = 0; i < payload; i++) f[t + tcp_header + i] = static_cast<uint8_t>(i * 7 + 3);
    uint32_t pseudo = reference_sum(&f[26], 8) + 6 + static_cast<uint32_t>(tcp_header + payload);
    put16(f, t + 16, static_cast<uint16_t>(~reference_sum(&f[t], tcp_header + payload, pseudo)));
    return f;
}

bool tcp_checksum_ok(const Frame& f) {
    size_t tcp_len = get16(f, 16) - 20;
    uint32_t pseudo = reference_sum(&f[26], 8) + 6 + static_cast<uint32_t>(tcp_len);
    return reference_sum(&f[34], tcp_len, pseudo) == 0xffff;
}

void sum_matches_reference(void**) {
    Frame data(1001);
    for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 31 + 17);
    for (size_t len : {0, 1, 2, 3, 4, 5, 63, 64, 1000, 1001})
        assert_int_equal(checksum_fold(checksum_sum(data.data(), len)),
                         reference_sum(data.data(), len));
}

void completes_partial_checksum(void**) {
    Frame f = ipv4_tcp(3000);
    assert_true(tcp_checksum_ok(f));
    // What the kernel leaves: the pseudo-header sum, not complemented.
    uint32_t pseudo = reference_sum(&f[26], 8) + 6 + 20 + 3000;
    put16(f, 50, reference_sum(nullptr, 0, pseudo));
    assert_false(tcp_checksum_ok(f));
    assert_true(vnet_complete_checksum(f.data(), f.size(), 34, 16));
    assert_true(tcp_checksum_ok(f));
    assert_false(vnet_complete_checksum(f.data(), 40, 34, 16));
}

void raises_default_syn_mss_only(void**) {
    Frame opts = {2, 4, 0x05, 0xb4};  // MSS 1460, the default at MTU 1500
    Frame f = ipv4_tcp(0, opts, 0x02);
    assert_true(vnet_raise_syn_mss(f.data(), find_tcp(f.data(), f.size()), 1500));
    assert_int_equal(get16(f, 54 + 2), kVnetSlirpMtu - 40);
    assert_true(tcp_checksum_ok(f));

    Frame clamped = ipv4_tcp(0, {2, 4, 0x05, 0x00}, 0x02);  // MSS 1280: left alone
    assert_false(
        vnet_raise_syn_mss(clamped.data(), find_tcp(clamped.data(), clamped.size()), 1500));
    assert_int_equal(get16(clamped, 56), 1280);

    Frame not_syn = ipv4_tcp(0, opts, 0x10);
    assert_false(
        vnet_raise_syn_mss(not_syn.data(), find_tcp(not_syn.data(), not_syn.size()), 1500));
    assert_int_equal(get16(not_syn, 56), 1460);
}

void classifies_output(void**) {
    // A TCP frame that fits goes with a partial checksum, segmenting tap or not.
    Frame small = ipv4_tcp(1460);
    for (unsigned mtu : {1500u, 0u}) {
        Frame f = small;
        VnetOutput fit = vnet_classify_output(f.data(), f.size(), mtu);
        assert_int_equal(fit.kind, VnetOutput::Partial);
        assert_int_equal(fit.header.flags, kVnetNeedsCsum);
        assert_int_equal(fit.header.gso_type, kVnetGsoNone);
        assert_int_equal(fit.header.csum_start, 34);
        assert_int_equal(fit.header.csum_offset, 16);
        assert_int_equal(fit.check_offset, 50);
        put16(f, 50, fit.partial_check);
        assert_false(tcp_checksum_ok(f));
        assert_true(vnet_complete_checksum(f.data(), f.size(), 34, 16));
        assert_true(tcp_checksum_ok(f));
    }
    // Without a segmenting tap, nothing is segmented or fragmented.
    Frame huge = ipv4_tcp(60000);
    assert_int_equal(vnet_classify_output(huge.data(), huge.size(), 0).kind, VnetOutput::Partial);
    Frame other = ipv4_tcp(3000);
    other[23] = 17;
    assert_int_equal(vnet_classify_output(other.data(), other.size(), 0).kind, VnetOutput::Plain);
    assert_int_equal(vnet_classify_output(other.data(), 1000, 1500).kind, VnetOutput::Plain);

    Frame big = ipv4_tcp(20000);
    VnetOutput out = vnet_classify_output(big.data(), big.size(), 1500);
    assert_int_equal(out.kind, VnetOutput::Segmented);
    assert_int_equal(out.header.gso_type, kVnetGsoTcpv4);
    assert_int_equal(out.header.gso_size, 1460);
    assert_int_equal(out.header.csum_start, 34);
    assert_int_equal(out.header.csum_offset, 16);
    assert_int_equal(out.header.hdr_len, 54);
    assert_int_equal(out.check_offset, 50);
    // The partial value completed over the segment gives the full checksum.
    put16(big, 50, out.partial_check);
    assert_true(vnet_complete_checksum(big.data(), big.size(), 34, 16));
    assert_true(tcp_checksum_ok(big));

    Frame udp = ipv4_tcp(3000);
    udp[23] = 17;
    assert_int_equal(vnet_classify_output(udp.data(), udp.size(), 1500).kind, VnetOutput::Fragment);
}

void fragments_ipv4(void**) {
    Frame f = ipv4_tcp(4000);
    f[23] = 17;  // any non-TCP protocol; the payload is just bytes here
    std::vector<Frame> pieces;
    assert_true(vnet_fragment_ipv4(f.data(), f.size(), 1500, [&](const uint8_t* p, size_t n) {
        pieces.emplace_back(p, p + n);
    }));
    assert_int_equal(pieces.size(), 3);
    Frame joined;
    for (size_t i = 0; i < pieces.size(); i++) {
        const Frame& p = pieces[i];
        assert_true(p.size() - 14 <= 1500);
        assert_int_equal(reference_sum(&p[14], 20), 0xffff);  // header checksum
        assert_int_equal(get16(p, 16), p.size() - 14);
        uint16_t frag = get16(p, 20);
        assert_int_equal((frag & 0x1fff) * 8, joined.size());
        assert_int_equal((frag & 0x2000) != 0, i + 1 < pieces.size());
        joined.insert(joined.end(), p.begin() + 34, p.end());
    }
    assert_true(joined == Frame(f.begin() + 34, f.end()));

    put16(f, 20, 0x4000);  // DF: nothing emitted
    int emitted = 0;
    assert_false(
        vnet_fragment_ipv4(f.data(), f.size(), 1500, [&](const uint8_t*, size_t) { emitted++; }));
    assert_int_equal(emitted, 0);
}

// A UDP GSO frame as a tap taking USO hands it over: one IP header and one
// UDP header for the whole payload, lengths covering it all, the checksum
// field holding whatever (here the partial form's stand-in).
Frame udp_gso_frame(bool v6, size_t payload) {
    size_t ip_len = v6 ? 40 : 20;
    Frame f(14 + ip_len + 8 + payload);
    put16(f, 12, v6 ? 0x86dd : 0x0800);
    if (v6) {
        f[14] = 0x60;
        put16(f, 18, static_cast<uint16_t>(8 + payload));
        f[20] = 17;
        f[21] = 64;
        f[22] = 0xfd;  // fd00::100 -> 2001:db8::fe
        f[37] = 100;
        f[38] = 0x20;
        f[39] = 0x01;
        f[40] = 0x0d;
        f[41] = 0xb8;
        f[53] = 0xfe;
    } else {
        f[14] = 0x45;
        put16(f, 16, static_cast<uint16_t>(20 + 8 + payload));
        put16(f, 18, 0xfffe);  // the id wraps on the way
        put16(f, 20, 0x4000);  // DF
        f[22] = 64;
        f[23] = 17;
        uint8_t src[] = {10, 0, 2, 100}, dst[] = {192, 0, 2, 254};
        std::memcpy(&f[26], src, 4);
        std::memcpy(&f[30], dst, 4);
        put16(f, 24, static_cast<uint16_t>(~reference_sum(&f[14], 20)));
    }
    size_t u = 14 + ip_len;
    put16(f, u, 40000);
    put16(f, u + 2, 7100);
    put16(f, u + 4, static_cast<uint16_t>(8 + payload));
    put16(f, u + 6, 0x1234);
    for (size_t i = 0; i < payload; i++) f[u + 8 + i] = static_cast<uint8_t>(i * 13 + 5);
    return f;
}

void segments_udp(void**) {
    for (bool v6 : {false, true}) {
        const size_t ip_len = v6 ? 40 : 20, u = 14 + ip_len;
        Frame f = udp_gso_frame(v6, 5000);
        std::vector<Frame> segs;
        assert_true(vnet_segment_udp(f.data(), f.size(), 1400,
                                     [&](uint8_t* p, size_t n) { segs.emplace_back(p, p + n); }));
        assert_int_equal(segs.size(), 4);  // 1400 x 3 + 800
        Frame joined;
        for (size_t i = 0; i < segs.size(); i++) {
            const Frame& s = segs[i];
            size_t n = i < 3 ? 1400 : 800;
            assert_int_equal(s.size(), u + 8 + n);
            assert_memory_equal(s.data(), f.data(), 14);  // Ethernet header
            if (v6) {
                assert_int_equal(get16(s, 18), 8 + n);
                assert_memory_equal(&s[20], &f[20], 34);  // next header, hops, addresses
            } else {
                assert_int_equal(get16(s, 16), 20 + 8 + n);
                assert_int_equal(get16(s, 18), static_cast<uint16_t>(0xfffe + i));
                assert_int_equal(get16(s, 20), 0x4000);
                assert_int_equal(reference_sum(&s[14], 20), 0xffff);
            }
            assert_int_equal(get16(s, u), 40000);
            assert_int_equal(get16(s, u + 2), 7100);
            assert_int_equal(get16(s, u + 4), 8 + n);
            uint32_t pseudo = reference_sum(v6 ? &s[22] : &s[26], v6 ? 32 : 8) + 17 +
                              static_cast<uint32_t>(8 + n);
            assert_int_equal(reference_sum(&s[u], 8 + n, pseudo), 0xffff);
            joined.insert(joined.end(), s.begin() + static_cast<long>(u + 8), s.end());
        }
        assert_true(joined == Frame(f.begin() + static_cast<long>(u + 8), f.end()));

        // Payload that the segment size divides: no short last datagram.
        Frame even = udp_gso_frame(v6, 2800);
        size_t count = 0;
        assert_true(vnet_segment_udp(even.data(), even.size(), 1400, [&](uint8_t*, size_t n) {
            assert_int_equal(n, u + 8 + 1400);
            count++;
        }));
        assert_int_equal(count, 2);
    }
}

void refuses_what_is_no_udp_gso_frame(void**) {
    int emitted = 0;
    auto emit = [&](uint8_t*, size_t) { emitted++; };
    Frame f = udp_gso_frame(false, 3000);
    assert_false(vnet_segment_udp(f.data(), f.size(), 0, emit));  // no segment size
    Frame shorter(f.begin(), f.end() - 1);  // the IP length runs past the frame
    assert_false(vnet_segment_udp(shorter.data(), shorter.size(), 1400, emit));
    Frame long_udp = f;
    put16(long_udp, 38, 3009);  // the UDP length runs past the IP packet
    assert_false(vnet_segment_udp(long_udp.data(), long_udp.size(), 1400, emit));
    Frame fragment = f;
    put16(fragment, 20, 0x2000);
    assert_false(vnet_segment_udp(fragment.data(), fragment.size(), 1400, emit));
    Frame tcp = ipv4_tcp(3000);
    assert_false(vnet_segment_udp(tcp.data(), tcp.size(), 1400, emit));
    Frame v6 = udp_gso_frame(true, 3000);
    v6[20] = 0;  // a hop-by-hop header first
    assert_false(vnet_segment_udp(v6.data(), v6.size(), 1400, emit));
    assert_int_equal(emitted, 0);
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(sum_matches_reference),
        cmocka_unit_test(completes_partial_checksum),
        cmocka_unit_test(raises_default_syn_mss_only),
        cmocka_unit_test(classifies_output),
        cmocka_unit_test(fragments_ipv4),
        cmocka_unit_test(segments_udp),
        cmocka_unit_test(refuses_what_is_no_udp_gso_frame),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
