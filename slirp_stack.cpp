// SPDX-License-Identifier: GPL-2.0-or-later
// slirp_stack.cpp: the libslirp glue (see slirp_stack.hpp). The per-cycle
// and per-frame parts are [[gnu::hot]], next to the event loop.
#include "slirp_stack.hpp"

#include <fcntl.h>

#include "error.hpp"
#include "network.hpp"
#include "outbound.hpp"

bool build_slirp_settings(const Options& o, SlirpSettings* out, std::string* err) {
    if (!resolve_outbound(o.outbound_addr, o.outbound_addr6, &out->outbound, err)) return false;
    const Network6& net6 = o.network6;
    SlirpConfig& c = out->config;
    c.version = SLIRP_CONFIG_VERSION_MAX;
    c.restricted = 0;
    c.in_enabled = true;
    c.vnetwork = o.network.address;
    c.vnetmask = o.network.netmask;
    c.vhost = o.network.gateway;
    c.in6_enabled = o.enable_ipv6;
    c.vprefix_addr6 = net6.prefix;
    c.vprefix_len = static_cast<uint8_t>(net6.prefix_len);
    c.vhost6 = net6.gateway;
    c.vdhcp_start = o.network.dhcp_start;
    c.vnameserver = o.network.dns;
    c.vnameserver6 = net6.dns;
    c.if_mtu = o.mtu;
    c.if_mru = o.mtu;
    c.disable_host_loopback = o.disable_host_loopback;
    c.enable_emu = false;
    c.outbound_addr = out->outbound.v4 ? &*out->outbound.v4 : nullptr;
    c.outbound_addr6 = out->outbound.v6 ? &*out->outbound.v6 : nullptr;
    c.disable_dns = o.disable_dns;
    return true;
}

const SlirpCb SlirpStack::kCallbacks = {
    .send_packet = &SlirpStack::send_packet,
    .guest_error = &SlirpStack::guest_error,
    .clock_get_ns = &SlirpStack::clock_get_ns,
    .timer_new = nullptr,
    .timer_free = &SlirpStack::timer_free,
    .timer_mod = &SlirpStack::timer_mod,
    .register_poll_fd = &SlirpStack::register_poll_fd,
    .unregister_poll_fd = [](int, void*) {},
    .notify = [](void*) {},
    .init_completed = nullptr,
    .timer_new_opaque = &SlirpStack::timer_new_opaque,
};

SlirpStack::~SlirpStack() {
    if (slirp_) slirp_cleanup(slirp_);  // frees its timers through timer_free
    for (const auto& t : timers_)
        if (t->armed) loop_.cancel_timer(t->armed);
}

bool SlirpStack::start(const SlirpConfig& config, std::string* err) {
    slirp_ = slirp_new(&config, &kCallbacks, this);
    return slirp_ != nullptr || fail(err, "libslirp refused the configuration (slirp_new failed)");
}

[[gnu::hot]] int SlirpStack::fill(std::vector<pollfd>& fds) {
    fds_ = &fds;
    uint32_t timeout = UINT32_MAX;
    slirp_pollfds_fill(slirp_, &timeout, &SlirpStack::add_poll, this);
    return timeout == UINT32_MAX ? -1 : static_cast<int>(timeout);
}

[[gnu::hot]] void SlirpStack::dispatch(const std::vector<pollfd>& fds, bool poll_failed) {
    fds_ = const_cast<std::vector<pollfd>*>(&fds);
    slirp_pollfds_poll(slirp_, poll_failed ? 1 : 0, &SlirpStack::get_revents, this);
}

[[gnu::hot]] ssize_t SlirpStack::send_packet(const void* buf, size_t len, void* opaque) {
    // A full device queue only costs a retransmission: libslirp is told the
    // frame went, as its API asks.
    self(opaque).output_.send_to_guest(static_cast<const uint8_t*>(buf), len);
    return static_cast<ssize_t>(len);
}

void SlirpStack::guest_error(const char* msg, void*) {
    log_error(std::string("guest error: ") + msg);
}

[[gnu::hot]] int64_t SlirpStack::clock_get_ns(void* opaque) {
    return self(opaque).loop_.clock_ns();
}

void* SlirpStack::timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
    SlirpStack& s = self(opaque);
    s.timers_.push_back(std::make_unique<Timer>(Timer{&s, id, cb_opaque}));
    return s.timers_.back().get();
}

void SlirpStack::timer_free(void* timer, void* opaque) {
    SlirpStack& s = self(opaque);
    auto* t = static_cast<Timer*>(timer);
    if (t->armed) s.loop_.cancel_timer(t->armed);
    std::erase_if(s.timers_, [t](const auto& owned) { return owned.get() == t; });
}

// expire_ms is on libslirp's clock, clock_get_ns, which is the loop's.
[[gnu::hot]] void SlirpStack::timer_mod(void* timer, int64_t expire_ms, void*) {
    auto* t = static_cast<Timer*>(timer);
    EventLoop& loop = t->stack->loop_;
    if (t->armed) loop.cancel_timer(t->armed);
    t->armed = loop.add_timer(expire_ms, [t] {
        t->armed = 0;
        slirp_handle_timer(t->stack->slirp_, t->id, t->cb_opaque);
    });
}

// libslirp 4.7.0 leaves its UDP sockets blocking (fixed in 4.9.5): once a
// socket's send buffer is full, as behind a slow link, sendto() would stop
// the whole loop until the host drained it. libslirp announces every socket
// it makes here, before its first send; a non-blocking one drops that
// datagram instead (libslirp answers the guest with an ICMP error).
void SlirpStack::register_poll_fd(int fd, void* opaque) {
    if (!self(opaque).fence_blocking_sends_) return;
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && !(flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

[[gnu::hot]] int SlirpStack::add_poll(int fd, int events, void* opaque) {
    short mask = 0;
    if (events & SLIRP_POLL_IN) mask |= POLLIN;
    if (events & SLIRP_POLL_OUT) mask |= POLLOUT;
    if (events & SLIRP_POLL_PRI) mask |= POLLPRI;
    if (events & SLIRP_POLL_ERR) mask |= POLLERR;
    if (events & SLIRP_POLL_HUP) mask |= POLLHUP;
    auto& fds = *self(opaque).fds_;
    fds.push_back({fd, mask, 0});
    return static_cast<int>(fds.size() - 1);
}

[[gnu::hot]] int SlirpStack::get_revents(int idx, void* opaque) {
    const auto& fds = *self(opaque).fds_;
    if (idx < 0 || static_cast<size_t>(idx) >= fds.size()) return 0;
    short r = fds[static_cast<size_t>(idx)].revents;
    int events = 0;
    if (r & POLLIN) events |= SLIRP_POLL_IN;
    if (r & POLLOUT) events |= SLIRP_POLL_OUT;
    if (r & POLLPRI) events |= SLIRP_POLL_PRI;
    if (r & POLLERR) events |= SLIRP_POLL_ERR;
    if (r & POLLHUP) events |= SLIRP_POLL_HUP;
    if (events) self(opaque).loop_.busy_poll_hint().slirp_socket_event();
    return events;
}

void SlirpStack::end_abandoned_half_closes(int64_t now_ms) {
    if (!fence_fin_wait2_ || !slirp_) return;
    std::vector<int> fds;
    uint32_t timeout = UINT32_MAX;
    slirp_pollfds_fill(
        slirp_, &timeout,
        [](int fd, int, void* opaque) {
            auto& list = *static_cast<std::vector<int>*>(opaque);
            list.push_back(fd);
            return static_cast<int>(list.size() - 1);
        },
        &fds);
    fin_wait2_fence_.sweep(fds, now_ms);
}
