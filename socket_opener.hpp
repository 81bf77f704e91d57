// SPDX-License-Identifier: GPL-2.0-or-later
// socket_opener.hpp owns the interface through which forwarded connections
// and flows get their far-end sockets, inside the target namespace. The
// helper (netns_helper.hpp) implements it; the splice forwarder and its UDP
// flows only see this, so they can be driven in one namespace (the tests).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <string>

#include "error.hpp"
#include "socket_address.hpp"
#include "unique_fd.hpp"

class SocketOpener {
   public:
    // The socket (non-blocking, close-on-exec), or, when there is none, the
    // failure (error.hpp) with the errno behind it: callers tell a passing
    // condition (EADDRNOTAVAIL while an IPv6 address is still tentative)
    // from a final one.
    using Opened = std::function<void(UniqueFd fd, const Failure& failure)>;

    virtual ~SocketOpener() = default;
    // type is SOCK_STREAM (connect() started, maybe still in progress) or
    // SOCK_DGRAM (connected; a transparent one only bound to `from`, so it
    // takes the guest's answers from whichever of its addresses they come:
    // send to it with `to` named). `to` is an AF_INET or AF_INET6 address. done
    // is called exactly once: maybe before this returns, maybe later from
    // the event loop; never after the opener is destroyed. A transparent
    // UDP socket's replies are diverted to it until release_udp_flow() names
    // it (by its getsockname() address).
    virtual void open_socket(int type, const sockaddr_storage& to, socklen_t len,
                             const SourceAddress& from, Opened done) = 0;
    virtual void release_udp_flow(const sockaddr_storage& local, uint16_t guest_port) = 0;
};
