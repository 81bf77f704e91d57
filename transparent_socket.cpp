// SPDX-License-Identifier: GPL-2.0-or-later
// transparent_socket.cpp: the client's address as the guest sees it, and the
// transparent bind (see transparent_socket.hpp).
#include "transparent_socket.hpp"

#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "ip_address.hpp"
#include "transparent_routing.hpp"

SourceAddress source_as_guest_sees(const sockaddr_storage& client, int guest_family,
                                   in_addr gateway, const in6_addr& gateway6) {
    SourceAddress out;
    if (client.ss_family == guest_family && !is_loopback(client)) {
        out.addr = client;
        out.len = guest_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
        if (guest_family == AF_INET6) reinterpret_cast<sockaddr_in6&>(out.addr).sin6_scope_id = 0;
        return out;
    }
    if (guest_family == AF_INET) {
        auto& sin = reinterpret_cast<sockaddr_in&>(out.addr);
        sin.sin_family = AF_INET;
        sin.sin_addr = gateway;
        sin.sin_port = htons(port_host_order(client));
        out.len = sizeof sin;
    } else {
        auto& sin6 = reinterpret_cast<sockaddr_in6&>(out.addr);
        sin6.sin6_family = AF_INET6;
        sin6.sin6_addr = gateway6;
        sin6.sin6_port = htons(port_host_order(client));
        out.len = sizeof sin6;
    }
    return out;
}

bool bind_transparent(int fd, const SourceAddress& from, Failure* err) {
    int one = 1;
    bool v4 = from.addr.ss_family == AF_INET;
    if (setsockopt(fd, v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TRANSPARENT : IPV6_TRANSPARENT, &one,
                   sizeof one) < 0)
        return fail_errno(err, v4 ? "IP_TRANSPARENT" : "IPV6_TRANSPARENT");
    uint32_t mark = kTransparentMark;
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0)
        return fail_errno(err, "SO_MARK");
    const auto* addr = reinterpret_cast<const sockaddr*>(&from.addr);
    if (bind(fd, addr, from.len) == 0) return true;
    if (errno != EADDRINUSE) return fail_errno(err, "cannot bind to the client's address");
    sockaddr_storage any_port = from.addr;
    if (v4)
        reinterpret_cast<sockaddr_in&>(any_port).sin_port = 0;
    else
        reinterpret_cast<sockaddr_in6&>(any_port).sin6_port = 0;
    if (bind(fd, reinterpret_cast<const sockaddr*>(&any_port), from.len) == 0) return true;
    return fail_errno(err, "cannot bind to the client's address");
}
