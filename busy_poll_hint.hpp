// SPDX-License-Identifier: GPL-2.0-or-later
// busy_poll_hint.hpp owns the hint behind --busy-poll: whether the loop's
// next wait should spin a little before it sleeps (see
// EventLoop::set_busy_poll), because an answer is likely within the spin.
// Every path reports here what it moved; the loop asks before each wait.
// Spinning pays only for request/response traffic: while the guest or a
// host peer sends bulk data, it would hold the CPU the sender wants (the
// scheduler wakes it where our writes ran: netns->host fell from 7 to
// 1.3 Gbit/s), so pieces larger than kLargestPromptMessage count as bulk.
#pragma once

#include <cstddef>
#include <cstdint>

class BusyPollHint {
   public:
    // Traffic moved in pieces up to this size is request/response.
    static constexpr size_t kLargestPromptMessage = 1024;

    // The packet path: a batch of frames from the guest begins, and each
    // frame of it. libslirp's answers come a cycle or two later, so a cycle
    // that carried guest frames (or libslirp socket events) is worth a spin
    // unless the guest's last batch held a large frame.
    void guest_batch_begins() { bulk_from_guest_ = false; }
    void guest_frame(size_t len) {
        slirp_active_now_ = true;
        if (len > kLargestPromptMessage) bulk_from_guest_ = true;
    }
    // libslirp reported an event on one of its sockets.
    void slirp_socket_event() { slirp_active_now_ = true; }
    // The relay moved `bytes` in one event (either direction).
    void relayed(uint64_t bytes) {
        if (bytes > 0 && bytes <= kLargestPromptMessage) exchange_now_ = true;
    }
    // The kernel TCP path passed a frame to the guest; `answer`: it carried
    // a payload or a SYN. A bare ACK does not count: while the guest sends
    // bulk data every frame back is one.
    void kernel_frame_to_guest(size_t len, bool answer) {
        if (answer && len <= kLargestPromptMessage) exchange_now_ = true;
    }

    // The kernel UDP path passed a reply of len bytes to the guest.
    void kernel_udp_reply(size_t len) {
        if (len <= kLargestPromptMessage) exchange_now_ = true;
    }

    // The loop, before each wait: what this cycle reported becomes "the
    // cycle before", which the spin decision reads. The kernel TCP path's
    // answers arrive one cycle after the guest's frame, where libslirp's
    // activity alone has already lapsed.
    void cycle_begins() {
        slirp_active_before_ = slirp_active_now_;
        slirp_active_now_ = false;
        exchange_before_ = exchange_now_;
        exchange_now_ = false;
    }
    bool expects_prompt_events() const {
        return exchange_before_ || (slirp_active_before_ && !bulk_from_guest_);
    }

   private:
    bool exchange_now_ = false, exchange_before_ = false;
    bool slirp_active_now_ = false, slirp_active_before_ = false;
    bool bulk_from_guest_ = false;  // in the guest's last batch
};
