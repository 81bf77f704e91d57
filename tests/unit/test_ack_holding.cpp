// SPDX-License-Identifier: GPL-2.0-or-later
// test_ack_holding.cpp: holding back libslirp's pure ACKs during a batch
// (ack_holding.hpp): which frames are pure ACKs and which ACK makes another
// redundant, a later ACK of a flow replaces the held one, a duplicate ACK is
// not swallowed, flows are kept apart up to the cap, and anything but a pure
// ACK is never held.
#include <cstdint>
#include <cstring>
#include <vector>

#include "ack_holding.hpp"

#include "cmocka.hpp"

namespace {

using Frame = std::vector<uint8_t>;

void put16(Frame& f, size_t at, uint16_t v) {
    f[at] = static_cast<uint8_t>(v >> 8);
    f[at + 1] = static_cast<uint8_t>(v);
}

// Ethernet + IPv4 + TCP (20 bytes), 10.0.2.2:sport -> 10.0.2.100:80.
Frame segment(uint16_t sport, uint32_t ack, uint16_t window, uint8_t flags = 0x10,
              size_t payload = 0) {
    Frame f(14 + 20 + 20 + payload, 0);
    put16(f, 12, 0x0800);
    uint8_t* ip = f.data() + 14;
    ip[0] = 0x45;
    put16(f, 14 + 2, static_cast<uint16_t>(40 + payload));
    ip[8] = 64;
    ip[9] = 6;
    const uint8_t addresses[] = {10, 0, 2, 2, 10, 0, 2, 100};
    std::memcpy(ip + 12, addresses, sizeof addresses);
    size_t tcp = 14 + 20;
    put16(f, tcp, sport);
    put16(f, tcp + 2, 80);
    put16(f, tcp + 8, static_cast<uint16_t>(ack >> 16));
    put16(f, tcp + 10, static_cast<uint16_t>(ack));
    f[tcp + 12] = 5 << 4;
    f[tcp + 13] = flags;
    put16(f, tcp + 14, window);
    return f;
}

uint32_t ack_of(const Frame& f) {
    size_t tcp = 14 + 20;
    return static_cast<uint32_t>(f[tcp + 8] << 24 | f[tcp + 9] << 16 | f[tcp + 10] << 8 |
                                 f[tcp + 11]);
}

struct Sent {
    std::vector<Frame> frames;
    auto emit() {
        return [this](const uint8_t* p, size_t n) { frames.emplace_back(p, p + n); };
    }
};

void recognises_pure_acks(void**) {
    Frame ack = segment(40000, 0x10000, 5000);
    PureAck a;
    assert_true(pure_ack(ack.data(), ack.size(), &a));
    assert_int_equal(a.ack, 0x10000);
    assert_int_equal(a.window, 5000);

    PureAck x;
    Frame data = segment(40000, 0x10000, 5000, 0x10, 10);  // carries payload
    assert_false(pure_ack(data.data(), data.size(), &x));
    Frame fin = segment(40000, 0x10000, 5000, 0x11);
    assert_false(pure_ack(fin.data(), fin.size(), &x));
    Frame push = segment(40000, 0x10000, 5000, 0x18);
    assert_false(pure_ack(push.data(), push.size(), &x));
    Frame udp = segment(40000, 0x10000, 5000);
    udp[14 + 9] = 17;
    assert_false(pure_ack(udp.data(), udp.size(), &x));

    // Later ACKs of the same flow supersede; duplicates and other flows do not.
    Frame later = segment(40000, 0x10000 + 1460, 5000);
    PureAck b;
    assert_true(pure_ack(later.data(), later.size(), &b));
    assert_true(ack_supersedes(a, b));
    assert_false(ack_supersedes(b, a));
    assert_false(ack_supersedes(a, a));  // a duplicate ACK
    Frame window = segment(40000, 0x10000, 9000);
    PureAck w;
    assert_true(pure_ack(window.data(), window.size(), &w));
    assert_true(ack_supersedes(a, w));
    Frame other = segment(40001, 0x10000 + 1460, 5000);  // another source port
    PureAck o;
    assert_true(pure_ack(other.data(), other.size(), &o));
    assert_false(ack_supersedes(a, o));
    // Sequence space wraps.
    Frame wrapped = segment(40000, 0xffffff00, 5000);
    PureAck before;
    assert_true(pure_ack(wrapped.data(), wrapped.size(), &before));
    assert_true(ack_supersedes(before, a));
}

void only_pure_acks_are_held(void**) {
    AckHolder holder;
    Sent sent;
    Frame data = segment(1000, 1, 100, 0x18, 10);
    Frame syn_ack = segment(1000, 1, 100, 0x12);
    assert_false(holder.hold(data.data(), data.size(), sent.emit()));
    assert_false(holder.hold(syn_ack.data(), syn_ack.size(), sent.emit()));
    assert_int_equal(holder.held(), 0);
    assert_true(sent.frames.empty());
}

void a_later_ack_replaces_the_held_one(void**) {
    AckHolder holder;
    Sent sent;
    Frame first = segment(1000, 100, 500);
    Frame later = segment(1000, 200, 500);
    Frame window_update = segment(1000, 200, 900);
    assert_true(holder.hold(first.data(), first.size(), sent.emit()));
    assert_true(holder.hold(later.data(), later.size(), sent.emit()));
    assert_true(holder.hold(window_update.data(), window_update.size(), sent.emit()));
    assert_int_equal(holder.held(), 1);
    assert_true(sent.frames.empty());
    holder.flush(sent.emit());
    assert_int_equal(sent.frames.size(), 1);
    assert_true(sent.frames[0] == window_update);
    assert_int_equal(holder.held(), 0);
}

void a_duplicate_ack_is_not_swallowed(void**) {
    AckHolder holder;
    Sent sent;
    Frame ack = segment(1000, 100, 500);
    assert_true(holder.hold(ack.data(), ack.size(), sent.emit()));
    assert_true(holder.hold(ack.data(), ack.size(), sent.emit()));
    assert_int_equal(sent.frames.size(), 1);  // the first went out at once
    holder.flush(sent.emit());
    assert_int_equal(sent.frames.size(), 2);
    assert_int_equal(ack_of(sent.frames[0]), 100);
    assert_int_equal(ack_of(sent.frames[1]), 100);
}

void flows_are_kept_apart_up_to_the_cap(void**) {
    AckHolder holder;
    Sent sent;
    for (uint16_t port = 1; port <= AckHolder::kMaxHeld; port++) {
        Frame ack = segment(port, port, 500);
        assert_true(holder.hold(ack.data(), ack.size(), sent.emit()));
    }
    Frame one_more = segment(999, 1, 500);
    assert_false(holder.hold(one_more.data(), one_more.size(), sent.emit()));
    assert_int_equal(holder.held(), AckHolder::kMaxHeld);
    holder.flush(sent.emit());
    assert_int_equal(sent.frames.size(), AckHolder::kMaxHeld);
    for (size_t i = 0; i < sent.frames.size(); i++) assert_int_equal(ack_of(sent.frames[i]), i + 1);
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(recognises_pure_acks),
        cmocka_unit_test(only_pure_acks_are_held),
        cmocka_unit_test(a_later_ack_replaces_the_held_one),
        cmocka_unit_test(a_duplicate_ack_is_not_swallowed),
        cmocka_unit_test(flows_are_kept_apart_up_to_the_cap),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
