// SPDX-License-Identifier: GPL-2.0-or-later
// ipv4_reassembly.hpp owns putting IPv4 fragments from the guest back
// together before libslirp sees them.
//
// libslirp 4.7.0 (Debian 12) corrupts memory and crashes when the first
// fragment of a datagram to arrive is its last one; a single such frame from
// an unprivileged guest would kill the daemon (found by fuzz_frames). So
// libslirp is never shown a fragment: whole datagrams are rebuilt here, with
// the limits a kernel applies (no overlaps, no datagram over 65535 bytes, a
// bounded number pending, a timeout), and handed on as one unfragmented frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "wire.hpp"

// True for an Ethernet frame carrying an IPv4 fragment (MF set or a non-zero
// offset): such frames go to Ipv4Reassembly::absorb, never to libslirp.
// Inline: every frame from the guest is asked.
inline bool is_ipv4_fragment(const uint8_t* frame, size_t length) {
    if (length < 14 + 20 || load16(frame + 12) != 0x0800) return false;
    return (load16(frame + 14 + 6) & 0x3fff) != 0;
}

class Ipv4Reassembly {
   public:
    // Linux's default ipfrag_time.
    static constexpr int64_t kTimeoutMs = 30000;
    // Datagrams in progress at once; the oldest gives way to a new one.
    // Bounds the memory a guest can pin to about 1 MiB.
    static constexpr size_t kMaxPending = 16;

    // Hands `deliver(frame, length)` what libslirp may see of a frame from
    // the guest: the frame itself when it is no fragment, the whole datagram
    // when it completed one, otherwise nothing. `now_ms()` is asked only for
    // fragments, keeping the clock off the path of every other frame. What
    // is delivered may be changed in place (the fences after this do).
    template <typename Now, typename Deliver>
    void pass(uint8_t* frame, size_t length, Now&& now_ms, Deliver&& deliver) {
        if (!is_ipv4_fragment(frame, length)) {
            deliver(frame, length);
            return;
        }
        std::span<uint8_t> whole = absorb(frame, length, now_ms());
        if (!whole.empty()) deliver(whole.data(), whole.size());
    }

    // Takes one fragment frame. Returns the whole datagram as an unfragmented
    // Ethernet frame once its last missing piece arrived (valid until the
    // next call), or an empty span while it is incomplete or was discarded.
    std::span<uint8_t> absorb(const uint8_t* frame, size_t length, int64_t now_ms);

    // Drops datagrams whose time is up; absorb does this too.
    void discard_expired(int64_t now_ms);

    size_t pending() const { return pending_.size(); }
    uint64_t datagrams_completed() const { return completed_count_; }
    uint64_t datagrams_discarded() const { return discarded_count_; }

   private:
    static constexpr size_t kMaxPayload = 65535 - 20;
    static constexpr size_t kBlocks = (kMaxPayload + 7) / 8;

    struct Datagram {
        uint32_t source = 0;
        uint32_t destination = 0;
        uint16_t id = 0;
        uint8_t protocol = 0;
        int64_t deadline_ms = 0;
        std::vector<uint8_t> headers;  // Ethernet + IP header of the offset-0 fragment
        std::vector<uint8_t> payload;
        std::vector<bool> received;  // per 8-byte block
        size_t blocks_received = 0;
        long total = -1;  // payload length, known once the last fragment came
    };

    Datagram& datagram_for(const uint8_t* ip, int64_t now_ms);
    void discard(Datagram& datagram);
    std::span<uint8_t> complete(Datagram& datagram);

    std::vector<Datagram> pending_;
    std::vector<uint8_t> whole_;
    uint64_t completed_count_ = 0;
    uint64_t discarded_count_ = 0;
};
