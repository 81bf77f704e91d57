// SPDX-License-Identifier: GPL-2.0-or-later
// ack_holding.hpp owns holding back the pure ACKs libslirp sends to the guest
// while one batch of frames from the guest is processed (see VnetAck in
// vnet.hpp for why): a later ACK of the same flow replaces a held one, and
// the batch's end, or any other frame, sends what is held. Frames keep their
// order: a frame that is not held goes out only after the held ones.
// Header-only: it runs once per frame libslirp sends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "vnet.hpp"

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
        VnetAck ack;
        if (len > kMaxAckSize || !vnet_pure_ack(frame, len, &ack)) return false;
        for (size_t i = 0; i < count_; i++) {
            Held& h = held_[i];
            if (std::memcmp(h.ack.flow, ack.flow, sizeof ack.flow) != 0) continue;
            if (!vnet_ack_supersedes(h.ack, ack)) emit(h.frame, h.len);
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
        VnetAck ack;
        uint8_t frame[kMaxAckSize];
        size_t len;
    };
    static void store(Held& h, const VnetAck& ack, const uint8_t* frame, size_t len) {
        h.ack = ack;
        std::memcpy(h.frame, frame, len);
        h.len = len;
    }

    Held held_[kMaxHeld];
    size_t count_ = 0;
};
