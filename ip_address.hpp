// SPDX-License-Identifier: GPL-2.0-or-later
// ip_address.hpp owns what several rooms ask of an IPv4 or IPv6 address
// whichever way they hold it (a bare address, a socket address): whether it
// is the host's loopback, 127.0.0.0/8 or ::1.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

inline bool is_loopback(in_addr a) {
    return (ntohl(a.s_addr) >> 24) == IN_LOOPBACKNET;
}

inline bool is_loopback(const in6_addr& a) {
    return IN6_IS_ADDR_LOOPBACK(&a);
}

// An AF_INET or AF_INET6 socket address; no other family is loopback.
inline bool is_loopback(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET)
        return is_loopback(reinterpret_cast<const sockaddr_in&>(a).sin_addr);
    if (a.ss_family == AF_INET6)
        return is_loopback(reinterpret_cast<const sockaddr_in6&>(a).sin6_addr);
    return false;
}
