// event_loop.cpp: the poll() loop (see event_loop.hpp). Everything here runs
// on every wakeup: [[gnu::hot]] places it in .text.hot with the packet path,
// so an idle daemon keeps few code pages resident (see memory_return.hpp).
#include "event_loop.hpp"

#include <cerrno>
#include <ctime>

[[gnu::hot]] int64_t EventLoop::now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

[[gnu::hot]] int64_t EventLoop::now_ms() {
    return now_ns() / 1000000;
}

[[gnu::hot]] void EventLoop::watch(int fd, short events, IoHandler handler) {
    for (auto& w : watches_) {
        if (w.fd == fd) {
            w.events = events;
            w.handler = std::move(handler);
            return;
        }
    }
    watches_.push_back({fd, events, std::move(handler)});
}

[[gnu::hot]] void EventLoop::set_events(int fd, short events) {
    for (auto& w : watches_)
        if (w.fd == fd) w.events = events;
}

[[gnu::hot]] void EventLoop::unwatch(int fd) {
    // Removal only marks the slot: a dispatch in progress may still be
    // walking the vector. Marked slots are swept at the top of the next cycle.
    for (auto& w : watches_)
        if (w.fd == fd) w.fd = -1;
}

[[gnu::hot]] EventLoop::TimerId EventLoop::add_timer(int64_t deadline_ms, TimerHandler handler) {
    TimerId id = next_timer_id_++;
    timers_.push_back({id, deadline_ms, std::move(handler)});
    return id;
}

[[gnu::hot]] void EventLoop::cancel_timer(TimerId id) {
    for (auto& t : timers_)
        if (t.id == id) t.id = 0;
}

[[gnu::hot]] void EventLoop::stop(int status) {
    if (stopping_) return;
    stopping_ = true;
    status_ = status;
}

[[gnu::hot]] int EventLoop::timeout_until_next_timer(int source_timeout) const {
    int timeout = source_timeout;
    int64_t now = clock_ms();
    for (const auto& t : timers_) {
        if (t.id == 0) continue;
        int64_t wait = t.deadline_ms > now ? t.deadline_ms - now : 0;
        if (timeout < 0 || wait < timeout) timeout = static_cast<int>(wait);
    }
    return timeout;
}

[[gnu::hot]] void EventLoop::run_due_timers() {
    int64_t now = clock_ms();
    // Index loop: handlers may add timers (which may reallocate the vector).
    for (size_t i = 0; i < timers_.size(); i++) {
        if (timers_[i].id == 0 || timers_[i].deadline_ms > now) continue;
        TimerHandler handler = std::move(timers_[i].handler);
        timers_[i].id = 0;
        handler();
    }
    std::erase_if(timers_, [](const Timer& t) { return t.id == 0; });
}

[[gnu::hot]] void EventLoop::dispatch_watches(size_t count) {
    for (size_t i = 0; i < count && !stopping_; i++) {
        short revents = fds_[i].revents;
        if (revents == 0) continue;
        // The watch may have been removed or replaced by an earlier handler.
        if (i >= watches_.size() || watches_[i].fd != fds_[i].fd) continue;
        IoHandler handler = watches_[i].handler;  // copy: the handler may unwatch itself
        handler(revents);
    }
}

[[gnu::hot]] int EventLoop::wait_for_events(int timeout_ms) {
    if (busy_poll_us_ > 0 && timeout_ms != 0 && source_ && source_->expects_prompt_events()) {
        timespec start{};
        clock_gettime(CLOCK_MONOTONIC, &start);
        timespec now = start;
        do {
            int n = poll(fds_.data(), fds_.size(), 0);
            if (n != 0) return n;
            clock_gettime(CLOCK_MONOTONIC, &now);
        } while ((now.tv_sec - start.tv_sec) * 1000000 + (now.tv_nsec - start.tv_nsec) / 1000 <
                 busy_poll_us_);
    }
    return poll(fds_.data(), fds_.size(), timeout_ms);
}

[[gnu::hot]] void EventLoop::cycle(bool may_wait) {
    std::erase_if(watches_, [](const Watch& w) { return w.fd < 0; });
    fds_.clear();
    for (const auto& w : watches_) fds_.push_back({w.fd, w.events, 0});
    size_t fixed = fds_.size();
    int source_timeout = source_ ? source_->fill(fds_) : -1;
    int n = wait_for_events(may_wait ? timeout_until_next_timer(source_timeout) : 0);
    bool failed = n < 0 && errno != EINTR;
    if (n < 0)
        for (auto& p : fds_) p.revents = 0;
    dispatch_watches(fixed);
    if (source_ && !stopping_) source_->dispatch(fds_, failed);
    if (!stopping_) run_due_timers();
}

[[gnu::hot]] int EventLoop::run() {
    while (!stopping_) cycle(true);
    return status_;
}

void EventLoop::run_once() {
    cycle(false);
}
