// SPDX-License-Identifier: GPL-2.0-or-later
// transparent_socket.hpp owns the two ends of a transparent forward's
// source address: which address the guest is to see for a client (the
// daemon's side), and binding a namespace socket to it (the helper's side).
// The routing that brings the guest's answers back is transparent_routing.hpp.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "error.hpp"
#include "socket_address.hpp"

// The address the guest sees for `client`, as slirp mode shows it: the
// client's own address and port, or the gateway's address (keeping the port)
// for a loopback client and for one of the other family than the guest's
// address. Nothing else is translated: a remote client is itself.
SourceAddress source_as_guest_sees(const sockaddr_storage& client, int guest_family,
                                   in_addr gateway, const in6_addr& gateway6);

// Makes `fd` (a fresh socket of from's family) transparent and marked, and
// binds it to `from`. The port falls back to an ephemeral one when taken:
// a client that reaches two forwards to one guest port from the same port
// keeps its address, not its port, on the second.
bool bind_transparent(int fd, const SourceAddress& from, Failure* err);
