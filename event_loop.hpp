// event_loop.hpp owns the single-threaded poll() loop everything runs in:
// fixed watchers (tap, exit-fd, signals, API sockets), one-shot timers, and
// one "cycle source" whose descriptors are rebuilt every cycle (libslirp's
// sockets). Nothing in the program blocks outside this loop's poll().
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <vector>

class EventLoop {
   public:
    using IoHandler = std::function<void(short revents)>;
    using TimerHandler = std::function<void()>;
    using TimerId = uint64_t;

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
    void watch(int fd, short events, IoHandler handler);
    void set_events(int fd, short events);
    void unwatch(int fd);

    TimerId add_timer(int64_t deadline_ms, TimerHandler handler);
    void cancel_timer(TimerId id);

    void set_cycle_source(CycleSource* source) { source_ = source; }

    // Runs until stop(); returns the status given to stop().
    int run();
    void stop(int status);
    bool stopping() const { return stopping_; }

    static int64_t now_ms();

   private:
    struct Watch {
        int fd;
        short events;
        IoHandler handler;
    };
    struct Timer {
        TimerId id;
        int64_t deadline_ms;
        TimerHandler handler;
    };

    int timeout_until_next_timer(int source_timeout) const;
    void run_due_timers();
    void dispatch_watches(size_t count);

    std::vector<Watch> watches_;
    std::vector<Timer> timers_;
    std::vector<pollfd> fds_;
    CycleSource* source_ = nullptr;
    TimerId next_timer_id_ = 1;
    bool stopping_ = false;
    int status_ = 0;
};
