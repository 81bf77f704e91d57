// SPDX-License-Identifier: GPL-2.0-or-later
// splice_forward.cpp: splice-mode port forwards (see splice_forward.hpp).
#include "splice_forward.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "error.hpp"
#include "transparent_socket.hpp"

namespace {

constexpr int kAcceptsPerWakeup = 64;
// Retries of a connect() that found no source address (see kDefaultAddrWaitMs).
constexpr int64_t kAddrRetryMs = 50;

}  // namespace

SpliceForwarder::SpliceForwarder(EventLoop& loop, SocketOpener& opener, int64_t udp_idle_ms,
                                 int64_t addr_wait_ms)
    : loop_(loop),
      opener_(opener),
      addr_wait_ms_(addr_wait_ms),
      relay_(loop),
      udp_(loop, opener, udp_idle_ms, [this](const sockaddr_storage& client, int family) {
          return source_for(client, family);
      }) {}

SpliceForwarder::~SpliceForwarder() {
    for (auto& [handle, l] : listeners_) loop_.unwatch(l.fd.get());
    for (auto& [id, c] : connecting_) {
        loop_.unwatch(c->host.get());
        if (c->guest) loop_.unwatch(c->guest.get());
        if (c->retry_timer) loop_.cancel_timer(c->retry_timer);
    }
}

bool SpliceForwarder::add(const SpliceRule& rule, Handle* added, std::string* err) {
    int family = rule.host.ss_family;
    if ((family != AF_INET && family != AF_INET6) ||
        (rule.guest.ss_family != AF_INET && rule.guest.ss_family != AF_INET6) ||
        (rule.type != SOCK_STREAM && rule.type != SOCK_DGRAM))
        return fail(err, "splice forwarding needs an IPv4 or IPv6 TCP or UDP address");
    UniqueFd fd(socket(family, rule.type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fail(err, errno_text("socket"));
    int one = 1;
    if (rule.type == SOCK_STREAM) setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // "::" must not also claim the IPv4 port: an IPv4 rule may want it.
    if (family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&rule.host), rule.host_len) < 0)
        return fail(err, errno_text("cannot bind the host port"));
    if (rule.type == SOCK_STREAM && listen(fd.get(), SOMAXCONN) < 0)
        return fail(err, errno_text("listen"));
    Handle handle = next_handle_++;
    if (rule.type == SOCK_DGRAM) {
        if (!udp_.add_port(handle, std::move(fd), rule.guest, rule.guest_len, err)) return false;
    } else {
        if (!loop_.watch(
                fd.get(), POLLIN, [this, handle](short) { accept_tcp(handle); }, err))
            return false;
        listeners_.emplace(handle, Listener{std::move(fd), rule.guest, rule.guest_len});
    }
    *added = handle;
    return true;
}

bool SpliceForwarder::remove(Handle handle) {
    auto it = listeners_.find(handle);
    if (it == listeners_.end()) return udp_.remove_port(handle);
    loop_.unwatch(it->second.fd.get());
    listeners_.erase(it);
    return true;
}

void SpliceForwarder::show_clients(in_addr gateway, const in6_addr& gateway6) {
    shows_clients_ = true;
    gateway_ = gateway;
    gateway6_ = gateway6;
}

SourceAddress SpliceForwarder::source_for(const sockaddr_storage& client, int guest_family) const {
    if (!shows_clients_) return SourceAddress{};
    return source_as_guest_sees(client, guest_family, gateway_, gateway6_);
}

uint16_t SpliceForwarder::bound_port(Handle handle) const {
    auto it = listeners_.find(handle);
    return it == listeners_.end() ? udp_.bound_port(handle) : bound_port_of(it->second.fd.get());
}

void SpliceForwarder::accept_tcp(Handle handle) {
    for (int i = 0; i < kAcceptsPerWakeup; i++) {
        auto it = listeners_.find(handle);
        if (it == listeners_.end()) return;
        sockaddr_storage client{};
        socklen_t client_len = sizeof client;
        UniqueFd host(accept4(it->second.fd.get(), reinterpret_cast<sockaddr*>(&client),
                              &client_len, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!host) return;  // EAGAIN, or out of descriptors: the backlog keeps the rest
        auto conn = std::make_unique<Connecting>();
        conn->host = std::move(host);
        conn->to = it->second.guest;
        conn->to_len = it->second.guest_len;
        conn->from = source_for(client, it->second.guest.ss_family);
        conn->give_up_ms = loop_.clock_ms() + addr_wait_ms_;
        uint64_t id = next_id_++;
        int host_fd = conn->host.get();
        connecting_.emplace(id, std::move(conn));
        // Until the namespace side is connected, only its completion matters;
        // the host side is watched for errors alone.
        if (!loop_.watch(
                host_fd, 0, [this, id](short revents) { connecting_event(id, true, revents); },
                nullptr)) {
            give_up(id, host_fd);
            continue;
        }
        connect_guest(id);
    }
}

void SpliceForwarder::connect_guest(uint64_t id) {
    auto it = connecting_.find(id);
    if (it == connecting_.end()) return;
    Connecting& c = *it->second;
    c.retry_timer = 0;
    opener_.open_socket(SOCK_STREAM, c.to, c.to_len, c.from,
                        [this, id](UniqueFd guest, const Failure& failure) {
                            guest_opened(id, std::move(guest), failure.error_number);
                        });
}

// The namespace side's socket, or why there is none. The client may have
// left meanwhile: then the socket just closes.
void SpliceForwarder::guest_opened(uint64_t id, UniqueFd guest, int error_number) {
    auto it = connecting_.find(id);
    if (it == connecting_.end()) return;
    Connecting& c = *it->second;
    if (!guest) {
        // No source address yet (a tentative IPv6 address, or every local
        // port in use): passing, so the client waits, a bounded time, on a
        // timer rather than in the loop. Anything else refuses it now.
        int64_t now = loop_.clock_ms();
        if (error_number == EADDRNOTAVAIL && now < c.give_up_ms) {
            int64_t next = std::min(now + kAddrRetryMs, c.give_up_ms);
            c.retry_timer = loop_.add_timer(next, [this, id] { connect_guest(id); });
            return;
        }
        give_up(id, c.host.get());
        return;
    }
    c.guest = std::move(guest);
    if (!loop_.watch(
            c.guest.get(), POLLOUT,
            [this, id](short revents) { connecting_event(id, false, revents); }, nullptr))
        give_up(id, c.host.get());
}

// The namespace side's connect has ended, or the client has left first.
void SpliceForwarder::connecting_event(uint64_t id, bool on_host, short revents) {
    auto it = connecting_.find(id);
    if (it == connecting_.end()) return;
    Connecting& c = *it->second;
    if (on_host) {
        // The host client gave up before the namespace side answered.
        if (revents & (POLLERR | POLLHUP)) give_up(id, c.guest.get());
        return;
    }
    if (socket_error(c.guest.get()) != 0) {
        give_up(id, c.host.get());  // refused or unreachable inside: refuse the client
        return;
    }
    loop_.unwatch(c.host.get());
    loop_.unwatch(c.guest.get());
    relay_.join(std::move(c.host), std::move(c.guest));
    connecting_.erase(it);
}

void SpliceForwarder::give_up(uint64_t id, int reset_fd) {
    auto it = connecting_.find(id);
    if (it == connecting_.end()) return;
    Connecting& c = *it->second;
    loop_.unwatch(c.host.get());
    if (c.guest) loop_.unwatch(c.guest.get());
    if (c.retry_timer) loop_.cancel_timer(c.retry_timer);
    if (reset_fd >= 0) set_reset_on_close(reset_fd);
    connecting_.erase(it);
}
