// SPDX-License-Identifier: GPL-2.0-or-later
// ack_holding.hpp owns holding back the pure ACKs libslirp sends to the guest
// while one batch of frames from the guest is processed, and telling them
// apart: a later ACK of the same flow replaces a held one, and the batch's
// end, or any other frame, sends what is held. Frames keep their order: a
// frame that is not held goes out only after the held ones. Header-only: it
// runs once per frame libslirp sends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wire.hpp"

// A pure ACK libslirp sends to the guest (TCP, flags exactly ACK, no
// payload). libslirp acknowledges every segment it takes in; within one
// batch of frames from the guest only the last ACK of a flow matters, and
// each one written costs a synchronous pass through the guest's TCP stack
// (measured at MTU 65520: one tap write per 64 KB read, 60 % of our syscall
// time), so the daemon holds ACKs back until the batch ends.
struct PureAck {
    uint8_t flow[37] = {};  // IP version, addresses, ports
    uint32_t ack = 0;
    uint16_t window = 0;
};

[[gnu::hot]] inline bool pure_ack(const uint8_t* frame, size_t len, PureAck* out) {
    TcpView v = find_tcp(frame, len);
    if (v.tcp == 0 || v.tcp_len != v.tcp_header) return false;
    const uint8_t* tcp = frame + v.tcp;
    if (tcp[13] != kTcpAck) return false;
    *out = PureAck{};
    size_t addresses = v.v6 ? 32 : 8;
    out->flow[0] = v.v6 ? 6 : 4;
    std::memcpy(out->flow + 1, frame + v.ip + (v.v6 ? 8 : 12), addresses);
    std::memcpy(out->flow + 1 + addresses, tcp, 4);
    out->ack = load32(tcp + 8);
    out->window = load16(tcp + 14);
    return true;
}

// Whether `later` makes `earlier` redundant: the same flow, and the
// acknowledgement advanced, or only the window changed. A repeated ACK
// (a duplicate, which asks for a fast retransmission) never does.
[[gnu::hot]] inline bool ack_supersedes(const PureAck& earlier, const PureAck& later) {
    if (std::memcmp(earlier.flow, later.flow, sizeof earlier.flow) != 0) return false;
    auto advance = static_cast<int32_t>(later.ack - earlier.ack);
    return advance > 0 || (advance == 0 && later.window != earlier.window);
}

class AckHolder {
   public:
    // A few flows, one ACK each.
    static constexpr size_t kMaxHeld = 8;
    // Ethernet + the largest IPv6 header without extensions + TCP with options.
    static constexpr size_t kMaxAckSize = 14 + 40 + 60;

    // Offers a frame; true when it is held. emit(frame, len) sends a held
    // ACK that cannot simply be replaced (a duplicate ACK, which asks for a
    // fast retransmission). False: the frame must go now, after flush().
    template <typename Emit>
    [[gnu::hot]] bool hold(const uint8_t* frame, size_t len, Emit&& emit) {
        PureAck ack;
        if (len > kMaxAckSize || !pure_ack(frame, len, &ack)) return false;
        for (size_t i = 0; i < count_; i++) {
            Held& h = held_[i];
            if (std::memcmp(h.ack.flow, ack.flow, sizeof ack.flow) != 0) continue;
            if (!ack_supersedes(h.ack, ack)) emit(h.frame, h.len);
            store(h, ack, frame, len);
            return true;
        }
        if (count_ == kMaxHeld) return false;
        store(held_[count_++], ack, frame, len);
        return true;
    }

    // Sends every held ACK, in the order they were first held.
    template <typename Emit>
    [[gnu::hot]] void flush(Emit&& emit) {
        size_t count = count_;
        count_ = 0;
        for (size_t i = 0; i < count; i++) emit(held_[i].frame, held_[i].len);
    }

    size_t held() const { return count_; }

   private:
    struct Held {
        PureAck ack;
        uint8_t frame[kMaxAckSize];
        size_t len;
    };
    static void store(Held& h, const PureAck& ack, const uint8_t* frame, size_t len) {
        h.ack = ack;
        std::memcpy(h.frame, frame, len);
        h.len = len;
    }

    Held held_[kMaxHeld];
    size_t count_ = 0;
};
