// SPDX-License-Identifier: GPL-2.0-or-later
// socket_address.hpp owns the small facts about a socket address that the
// forwarding rooms share (the splice forwarder, its UDP flows, the helper
// and the transparent bind): its port, in host byte order (the one order
// these helpers speak; a caller that fills a sockaddr converts), the port a
// socket is bound to, and the source address a namespace socket is to be
// bound to.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

#include "ip_address.hpp"  // is_loopback, which these rooms use with it

// Where a transparent socket comes from: the client's address as the guest
// is to see it (see transparent_routing.hpp). len 0: an ordinary socket,
// from whatever address the namespace picks.
struct SourceAddress {
    sockaddr_storage addr{};
    socklen_t len = 0;
};

// 0 for a family without ports.
inline uint16_t port_host_order(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
    if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
    return 0;
}

// The port a socket is bound to; 0 when that cannot be read.
inline uint16_t bound_port_of(int fd) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) return 0;
    return port_host_order(a);
}
