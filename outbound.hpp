// SPDX-License-Identifier: GPL-2.0-or-later
// outbound.hpp owns --outbound-addr and --outbound-addr6: each takes an
// address literal or an interface name, resolved here to a socket address,
// which libslirp and both kernel paths bind their host sockets to.
#pragma once

#include <netinet/in.h>

#include <optional>
#include <string>

// Where the guest's connections and flows leave the host from; unset, the
// kernel picks, as for any other socket.
struct OutboundAddresses {
    std::optional<sockaddr_in> v4;
    std::optional<sockaddr_in6> v6;

    // Binds fd, a socket of `family`, to that family's address when one is
    // set; false, with errno, when bind() fails.
    bool bind_socket(int fd, int family) const;
};

// Resolves --outbound-addr (text4) and --outbound-addr6 (text6), either of
// which may be empty.
bool resolve_outbound(const std::string& text4, const std::string& text6, OutboundAddresses* out,
                      std::string* err);
