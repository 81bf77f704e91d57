// SPDX-License-Identifier: GPL-2.0-or-later
// slirp_stack.hpp owns the libslirp glue: the SlirpConfig built from the
// options, one Slirp instance with its callbacks (one const table), its
// timers (on the EventLoop's timer list) and its sockets (the loop's cycle
// source: libslirp lists them anew before every poll()). Frames libslirp
// sends go to a GuestOutput; frames from the guest come in through input().
// The packet path (packet_path.hpp) is the only user of input and output.
#pragma once

#include <libslirp.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "fin_wait2_fence.hpp"
#include "guest_output.hpp"
#include "options.hpp"
#include "outbound.hpp"
#include "sanitizers.hpp"

// What libslirp is configured with; owns the storage its pointers refer to,
// so it stays where it was built.
struct SlirpSettings {
    SlirpConfig config{};
    OutboundAddresses outbound;

    SlirpSettings() = default;
    SlirpSettings(const SlirpSettings&) = delete;
    SlirpSettings& operator=(const SlirpSettings&) = delete;
};

// Fills *settings from the options (network, IPv6, MTU, DNS, loopback,
// outbound addresses).
bool build_slirp_settings(const Options& options, SlirpSettings* settings, std::string* err);

class SlirpStack : public EventLoop::CycleSource {
   public:
    SlirpStack(EventLoop& loop, GuestOutput& output) : loop_(loop), output_(output) {}
    ~SlirpStack() override;
    SlirpStack(const SlirpStack&) = delete;
    SlirpStack& operator=(const SlirpStack&) = delete;

    bool start(const SlirpConfig& config, std::string* err);
    Slirp* slirp() const { return slirp_; }

    // One whole frame from the guest.
    void input(const uint8_t* frame, size_t len) {
        slirp_input(slirp_, frame, static_cast<int>(len));
    }

    // Ends host sockets the guest closed and the peer never did
    // (fin_wait2_fence.hpp). Called from a loop timer, between one cycle's
    // poll and the next fill, so listing libslirp's descriptors here
    // disturbs no cycle.
    void end_abandoned_half_closes(int64_t now_ms);

    int fill(std::vector<pollfd>& fds) override;
    void dispatch(const std::vector<pollfd>& fds, bool poll_failed) override;

   private:
    struct Timer {
        SlirpStack* stack;
        SlirpTimerId id;
        void* cb_opaque;
        EventLoop::TimerId armed = 0;
    };
    static const SlirpCb kCallbacks;
    static SlirpStack& self(void* opaque) { return *static_cast<SlirpStack*>(opaque); }
    static ssize_t send_packet(const void* buf, size_t len, void* opaque);
    static void guest_error(const char* msg, void* opaque);
    static int64_t clock_get_ns(void* opaque);
    static void* timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque);
    static void timer_free(void* timer, void* opaque);
    static void timer_mod(void* timer, int64_t expire_ms, void* opaque);
    static int add_poll(int fd, int events, void* opaque);
    static int get_revents(int idx, void* opaque);
    static void register_poll_fd(int fd, void* opaque);

    EventLoop& loop_;
    GuestOutput& output_;
    Slirp* slirp_ = nullptr;
    std::vector<std::unique_ptr<Timer>> timers_;
    std::vector<pollfd>* fds_ = nullptr;
    FinWait2Fence fin_wait2_fence_;
    bool fence_fin_wait2_ = !fence_switched_off_for_test("fin-wait2");
    bool fence_blocking_sends_ = !fence_switched_off_for_test("blocking-send");
};
