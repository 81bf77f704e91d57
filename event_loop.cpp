// SPDX-License-Identifier: GPL-2.0-or-later
// event_loop.cpp: the epoll-and-poll loop (see event_loop.hpp). Everything here runs
// on every wakeup: [[gnu::hot]] places it in .text.hot with the packet path,
// so an idle daemon keeps few code pages resident (see memory_return.hpp).
#include "event_loop.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "error.hpp"

[[gnu::hot]] int64_t EventLoop::monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

EventLoop::EventLoop(Clock clock) : clock_(clock), epoll_(epoll_create1(EPOLL_CLOEXEC)) {
    epoll_entry_ = {epoll_.get(), POLLIN, 0};
}

[[gnu::hot]] bool EventLoop::epoll_update(int op, int fd, short events, uint32_t generation) {
    epoll_event ev{};
    ev.events = static_cast<unsigned short>(events);  // POLL* and EPOLL* bits agree
    ev.data.u64 = uint64_t{generation} << 32 | static_cast<uint32_t>(fd);
    return epoll_ctl(epoll_.get(), op, fd, &ev) == 0;
}

[[gnu::hot]] bool EventLoop::watch(int fd, short events, IoHandler handler, std::string* err) {
    if (fd < 0) return fail(err, "cannot watch descriptor " + std::to_string(fd));
    if (static_cast<size_t>(fd) >= watches_.size()) watches_.resize(static_cast<size_t>(fd) + 1);
    Watch& w = watches_[static_cast<size_t>(fd)];
    uint32_t generation = ++generation_;
    // A descriptor closed while watched left epoll by itself: add it anew.
    bool ok =
        (w.active && !w.always_ready && epoll_update(EPOLL_CTL_MOD, fd, events, generation)) ||
        epoll_update(EPOLL_CTL_ADD, fd, events, generation);
    bool always_ready = !ok && errno == EPERM;
    if (!ok && !always_ready) {
        std::string why = errno_text("epoll_ctl");
        unwatch(fd);
        return fail(err, "cannot watch descriptor " + std::to_string(fd) + ": " + why);
    }
    if (always_ready && !w.always_ready) always_ready_.push_back(fd);
    w.active = true;
    w.always_ready = always_ready;
    w.events = events;
    w.generation = generation;
    w.handler = std::move(handler);
    return true;
}

[[gnu::hot]] void EventLoop::set_events(int fd, short events) {
    if (fd < 0 || static_cast<size_t>(fd) >= watches_.size()) return;
    Watch& w = watches_[static_cast<size_t>(fd)];
    if (!w.active || w.events == events) return;
    w.events = events;
    if (!w.always_ready) epoll_update(EPOLL_CTL_MOD, fd, events, w.generation);
}

[[gnu::hot]] void EventLoop::unwatch(int fd) {
    if (fd < 0 || static_cast<size_t>(fd) >= watches_.size()) return;
    Watch& w = watches_[static_cast<size_t>(fd)];
    if (!w.active) return;
    if (w.always_ready)
        std::erase(always_ready_, fd);
    else
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    // A handler running now holds its own copy; events of this cycle that
    // are still to be dispatched are dropped (the watch is inactive).
    w = Watch{};
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

[[gnu::hot]] void EventLoop::dispatch_watches() {
    // The wait itself fetched them when it was an epoll_wait (see wait_once).
    int n = fetched_ >= 0 ? fetched_ : epoll_wait(epoll_.get(), ready_, kReadyPerCycle, 0);
    fetched_ = -1;
    for (int i = 0; i < n && !stopping_; i++) {
        auto fd = static_cast<uint32_t>(ready_[i].data.u64);
        auto generation = static_cast<uint32_t>(ready_[i].data.u64 >> 32);
        // The watch may have been removed or replaced by an earlier handler.
        if (fd >= watches_.size()) continue;
        const Watch& w = watches_[fd];
        if (!w.active || w.generation != generation) continue;
        IoHandler handler = w.handler;  // copy: the handler may unwatch itself
        handler(static_cast<short>(ready_[i].events));
    }
}

void EventLoop::dispatch_always_ready() {
    std::vector<int> ready = always_ready_;  // handlers may unwatch
    for (int fd : ready) {
        if (stopping_) return;
        const Watch& w = watches_[static_cast<size_t>(fd)];
        if (!w.active || !w.always_ready) continue;
        short revents = w.events & (POLLIN | POLLOUT);
        if (revents == 0) continue;
        IoHandler handler = w.handler;
        handler(revents);
    }
}

// One wait: poll() on the epoll fd and the cycle source's descriptors; or,
// when the source lists none (libslirp has no sockets open, as while the
// kernel TCP path carries the guest's TCP), epoll_wait() alone, which also
// fetches the ready events: one system call per wake-up instead of two.
[[gnu::hot]] int EventLoop::wait_once(int timeout_ms) {
    if (fds_.size() > 1) return poll(fds_.data(), fds_.size(), timeout_ms);
    int n = epoll_wait(epoll_.get(), ready_, kReadyPerCycle, timeout_ms);
    fetched_ = n > 0 ? n : -1;
    fds_[0].revents = n > 0 ? POLLIN : 0;
    return n;
}

[[gnu::hot]] int EventLoop::wait_for_events(int timeout_ms) {
    if (busy_poll_us_ > 0 && timeout_ms != 0 && busy_poll_hint_.expects_prompt_events()) {
        // A budget of real CPU time, not a deadline: on the monotonic clock
        // even when the loop's clock is a harness's (which may stand still).
        int64_t until = monotonic_ns() + int64_t{busy_poll_us_} * 1000;
        do {
            int n = wait_once(0);
            if (n != 0) return n;
        } while (monotonic_ns() < until);
    }
    return wait_once(timeout_ms);
}

[[gnu::hot]] void EventLoop::cycle(bool may_wait) {
    fds_.clear();
    // Copied from a member, not built from a constant: an idle daemon's
    // first cycle after start-up would fault a .rodata page back in for it.
    fds_.push_back(epoll_entry_);
    int source_timeout = source_ ? source_->fill(fds_) : -1;
    busy_poll_hint_.cycle_begins();
    if (!always_ready_.empty()) may_wait = false;
    int n = wait_for_events(may_wait ? timeout_until_next_timer(source_timeout) : 0);
    bool failed = n < 0 && errno != EINTR;
    if (n < 0)
        for (auto& p : fds_) p.revents = 0;
    if (fds_[0].revents & POLLIN) dispatch_watches();
    if (!always_ready_.empty()) dispatch_always_ready();
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
