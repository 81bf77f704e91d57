// SPDX-License-Identifier: GPL-2.0-or-later
// event_loop.hpp owns the single-threaded loop everything runs in: our own
// descriptors (tap, exit-fd, signals, API and splice sockets, the helper's
// channel) in an epoll set, indexed by fd, so that watching, changing and
// dispatching cost O(1) each however many connections there are; one-shot
// timers; and one "cycle source" whose descriptors are listed anew every
// cycle (libslirp's sockets, which only speak poll()). One poll() waits on
// the epoll fd and the cycle source's set together, or epoll_wait() alone
// when that set is empty. Nothing in the program blocks outside that wait.
#pragma once

#include <poll.h>
#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "busy_poll_hint.hpp"
#include "unique_fd.hpp"

class EventLoop {
   public:
    using IoHandler = std::function<void(short revents)>;
    using TimerHandler = std::function<void()>;
    using TimerId = uint64_t;
    // Nanoseconds on some monotonic clock.
    using Clock = int64_t (*)();

    // Timers are due by `clock`: the monotonic clock, unless a test harness
    // (the frame fuzzer) runs the loop on a clock of its own.
    explicit EventLoop(Clock clock = &EventLoop::monotonic_ns);
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // A source that lists its descriptors anew before every poll().
    class CycleSource {
       public:
        virtual ~CycleSource() = default;
        // Appends pollfds; returns how long (ms) the loop may sleep, -1 = forever.
        virtual int fill(std::vector<pollfd>& fds) = 0;
        // Called after poll() with every pollfd of the cycle (indices as appended).
        virtual void dispatch(const std::vector<pollfd>& fds, bool poll_failed) = 0;
    };

    // Replaces any earlier watch on fd. Handlers may watch/unwatch freely.
    // events are poll() bits; POLLERR and POLLHUP are always reported. A
    // descriptor epoll cannot watch (a regular file) is always ready, as
    // poll() has it. When epoll refuses it otherwise (no memory, the
    // per-user watch limit), fd is not watched at all, not even by an
    // earlier watch, and the caller decides what that descriptor's owner
    // can do without it.
    [[nodiscard]] bool watch(int fd, short events, IoHandler handler, std::string* err);
    void set_events(int fd, short events);
    void unwatch(int fd);

    TimerId add_timer(int64_t deadline_ms, TimerHandler handler);
    void cancel_timer(TimerId id);

    void set_cycle_source(CycleSource* source) { source_ = source; }

    // Before sleeping in poll(), keep polling without a timeout for up to
    // `microseconds` while the hint expects prompt events. A reply
    // that arrives in that window is handled without the wake-up of a
    // sleeping process, which on a VM costs as much as the rest of the
    // round trip (sockperf p50 through 10.0.2.2: 39 -> 21 us). 0 disables.
    void set_busy_poll(unsigned microseconds) { busy_poll_us_ = microseconds; }
    // Where every path reports the traffic it moved (busy_poll_hint.hpp).
    BusyPollHint& busy_poll_hint() { return busy_poll_hint_; }

    // Runs until stop(); returns the status given to stop().
    int run();
    // One cycle that does not wait: what is ready now is handled, and the
    // timers due by the loop's clock run (for test harnesses).
    void run_once();
    void stop(int status);
    bool stopping() const { return stopping_; }

    // The loop's clock, the one every timer deadline and timestamp is on.
    int64_t clock_ns() const { return clock_(); }
    int64_t clock_ms() const { return clock_() / 1000000; }

   private:
    static int64_t monotonic_ns();

    struct Watch {
        bool active = false;
        bool always_ready = false;  // not pollable by epoll: see watch()
        short events = 0;
        uint32_t generation = 0;  // tells a replaced watch's stale events apart
        IoHandler handler;
    };
    struct Timer {
        TimerId id;
        int64_t deadline_ms;
        TimerHandler handler;
    };

    void cycle(bool may_wait);
    int timeout_until_next_timer(int source_timeout) const;
    void run_due_timers();
    void dispatch_watches();
    void dispatch_always_ready();
    bool epoll_update(int op, int fd, short events, uint32_t generation);
    int wait_for_events(int timeout_ms);
    int wait_once(int timeout_ms);

    Clock clock_;
    UniqueFd epoll_;
    pollfd epoll_entry_{};        // the epoll fd's entry in every cycle's poll set
    std::vector<Watch> watches_;  // indexed by fd
    std::vector<int> always_ready_;
    uint32_t generation_ = 0;
    std::vector<Timer> timers_;
    std::vector<pollfd> fds_;
    static constexpr int kReadyPerCycle = 256;  // more wait for the next cycle
    epoll_event ready_[kReadyPerCycle];
    int fetched_ = -1;  // events in ready_ fetched by the wait, -1 = none
    CycleSource* source_ = nullptr;
    unsigned busy_poll_us_ = 0;
    BusyPollHint busy_poll_hint_;
    TimerId next_timer_id_ = 1;
    bool stopping_ = false;
    int status_ = 0;
};
